"""CyclingData.plot(kind="profile"): voltage against capacity per cycle, on synthetic truth and a real record."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.cycling._plots import profile_curves
from ncmsurf.datasets.cycling import synthetic_record

pytest.importorskip("matplotlib")


def _fresh_axes():  # type: ignore[no-untyped-def]
    from matplotlib.figure import Figure

    return Figure().subplots()


def test_profile_curves_match_the_generators_capacities() -> None:
    rec = synthetic_record(n_cycles=4, noise=0.0, voltage_noise=0.0)
    curves, unit = profile_curves(rec)
    assert unit == "mAh/g"
    assert [(c, d) for c, d, _, _ in curves] == [(c, d) for c in (1, 2, 3, 4) for d in (1, -1)]
    truth = rec.meta["truth"]
    for cyc, dirn, q, v in curves:
        expected = truth["charge_capacity" if dirn > 0 else "discharge_capacity"][cyc - 1]
        assert q[-1] == pytest.approx(expected, rel=2e-3)
        assert q[0] == 0.0 and np.all(np.diff(q) >= 0)
        # the charge climbs to the upper cut-off, the discharge falls
        assert (v[-1] > v[0]) if dirn > 0 else (v[-1] < v[0])
    # the capacity axis agrees with the per-cycle summary
    s = ns.cycling.summary(rec)
    np.testing.assert_allclose([q[-1] for c, d, q, _ in curves if d < 0], s.discharge_capacity.values, rtol=1e-9)


def test_profile_plot_lines_colours_styles_and_labels() -> None:
    rec = synthetic_record(n_cycles=5, noise=0.0)
    ax = rec.plot(kind="profile", cycles=[1, 3, 5], ax=_fresh_axes())
    assert ax.get_xlabel() == "Capacity (mAh/g)" and ax.get_ylabel() == "Voltage (V)"
    lines = ax.get_lines()
    assert len(lines) == 6
    styles = [ln.get_linestyle() for ln in lines]
    assert styles == ["-", "--"] * 3  # charge solid, discharge dashed
    colours = [ln.get_color() for ln in lines]
    assert colours[0] == colours[1] and colours[2] == colours[3] and colours[0] != colours[2] != colours[4]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["cycle 1", "cycle 3", "cycle 5"]
    # one cycle as an int, one direction
    ax1 = rec.plot(kind="profile", cycles=2, direction="discharge", ax=_fresh_axes())
    assert len(ax1.get_lines()) == 1 and ax1.get_lines()[0].get_linestyle() == "--"


def test_profile_units_without_mass_and_errors() -> None:
    rec = synthetic_record(n_cycles=2, noise=0.0)
    bare = rec.replace(mass=None)
    ax = bare.plot(kind="profile", ax=_fresh_axes())
    assert ax.get_xlabel() == "Capacity (mAh)"
    q_mass = profile_curves(rec)[0][1][2][-1]
    q_bare = profile_curves(bare)[0][1][2][-1]
    assert q_bare == pytest.approx(q_mass * rec.mass)
    assert rec.plot(kind="profile", specific=False, ax=_fresh_axes()).get_xlabel() == "Capacity (mAh)"
    with pytest.raises(ValidationError, match="no mass"):
        bare.plot(kind="profile", specific=True)
    with pytest.raises(ValidationError, match=r"\[7\] not in the record"):
        rec.plot(kind="profile", cycles=[7])
    with pytest.raises(ValidationError, match="direction"):
        rec.plot(kind="profile", direction="up")


def test_many_cycles_get_a_colour_bar_and_the_default_plot_is_unchanged() -> None:
    rec = synthetic_record(n_cycles=12, noise=0.0)
    ax = rec.plot(kind="profile", ax=_fresh_axes())
    assert len(ax.get_lines()) == 24 and ax.get_legend() is None
    assert len(ax.figure.axes) == 2  # the colour bar
    t_ax = rec.plot(ax=_fresh_axes())
    assert t_ax.get_xlabel() == "Time (h)"


@pytest.mark.shared_data
def test_profile_of_the_real_rate_test_anode_convention() -> None:
    # graphite half cell: lithiation (negative current) is the charge; cellpy's summary: cycle 1 lithiation
    # 370.49 mAh/g, delithiation 350.16 mAh/g (15.4071 mg)
    rec = ns.read_cycling(shared_file("cycling", "rate_cc_raw.csv"), mass=ns.ureg.Quantity(15.4071, "mg"))
    curves, unit = profile_curves(rec, cycles=[1], convention="anode")
    assert unit == "mAh/g" and [d for _, d, _, _ in curves] == [1, -1]
    assert curves[0][2][-1] == pytest.approx(370.49, rel=0.003)
    assert curves[1][2][-1] == pytest.approx(350.16, rel=0.003)
    assert curves[0][3][-1] < 0.05  # lithiated to about 20 mV
    ax = rec.plot(kind="profile", cycles=[1, 12, 15], convention="anode", ax=_fresh_axes())
    assert len(ax.get_lines()) == 6
