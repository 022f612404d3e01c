"""Segmentation and per-cycle summary: synthetic truth, conventions, properties, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.units import ureg
from ncmsurf.cycling import segment, summary
from ncmsurf.datasets.cycling import synthetic_record

# peers' reader modules may not exist yet in a partial checkout; that is not what these tests check
pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


def test_summary_matches_generator_truth() -> None:
    rec = synthetic_record(n_cycles=20, seed=3)
    s = summary(rec)
    truth = rec.meta["truth"]
    assert s.sizes["cycle"] == 20
    assert s.cycle.values.tolist() == list(range(1, 21))
    # generator's known truth: CC discharge integrates exactly, the CV tail to ~1e-4 relative
    np.testing.assert_allclose(s.discharge_capacity, truth["discharge_capacity"], rtol=1e-9)
    np.testing.assert_allclose(s.charge_capacity, truth["charge_capacity"], rtol=2e-3)
    np.testing.assert_allclose(s.coulombic_efficiency[1:], 99.8, atol=0.25)
    assert s.discharge_capacity.attrs["units"] == "mAh/g"
    assert s.discharge_energy.attrs["units"] == "Wh/kg"
    assert bool(s.complete.all()) and bool(s.resolved.all())
    # energy / capacity = mean voltage; an NCM discharges around 3.7-3.9 V
    assert np.all((s.mean_discharge_voltage > 3.6) & (s.mean_discharge_voltage < 4.0))
    np.testing.assert_allclose(s.polarization, np.abs(s.mean_charge_voltage - s.mean_discharge_voltage), rtol=1e-12)
    assert np.all(s.cv_charge_capacity > 0)
    # default C-rate reference is the first cycles' capacity; generator ran 0.5C against 200 mAh/g
    np.testing.assert_allclose(s.c_rate, 0.5 * 200 / np.median(truth["discharge_capacity"][:3]), rtol=1e-9)


def test_summary_without_mass_in_mah_and_reference_quantity() -> None:
    rec = synthetic_record(n_cycles=3, noise=0.0, c_rate=0.1)
    s = summary(rec.replace(mass=None), reference_capacity=ureg.Quantity(2.0, "mAh"))
    assert s.discharge_capacity.attrs["units"] == "mAh"
    # 200 mAh/g x 0.01 g = 2 mAh at 0.1C: c_rate = 0.1 exactly
    np.testing.assert_allclose(s.c_rate, 0.1, rtol=1e-9)
    np.testing.assert_allclose(s.discharge_capacity[0], rec.meta["truth"]["discharge_capacity"][0] * 0.01, rtol=1e-9)


def test_cv_tail_is_labelled_and_rests_found() -> None:
    rec = synthetic_record(n_cycles=2, noise=0.0)
    seg = segment(rec)
    assert set(np.unique(seg.control).tolist()) == {0, 1, 2}
    cv = seg.control == 2
    # every CV record is a charge record at the 4.3 V limit (generator truth)
    assert np.all(seg.state[cv] == 1)
    np.testing.assert_allclose(rec.voltage[cv], 4.3, atol=0.003)
    assert seg.n_half_cycles == 4
    assert seg.step.max() >= 8  # rest, CC, CV, rest, CC discharge per cycle


def test_missing_first_charge_gives_cycle_zero() -> None:
    rec = synthetic_record(n_cycles=3, noise=0.0)
    seg = segment(rec)
    start = int(seg.half_start[1])  # first discharge
    cut = rec.replace(time=rec.time[start:], voltage=rec.voltage[start:], current=rec.current[start:])
    s = summary(cut)
    assert s.cycle.values.tolist() == [0, 1, 2]
    assert np.isnan(float(s.charge_capacity[0])) and not bool(s.complete[0])
    np.testing.assert_allclose(s.discharge_capacity[1:], rec.meta["truth"]["discharge_capacity"][1:], rtol=1e-9)


def test_anode_convention_flips_charge() -> None:
    rec = synthetic_record(n_cycles=3, noise=0.0)
    flipped = rec.replace(current=-rec.current)
    a = summary(rec)
    b = summary(flipped, convention="anode")
    np.testing.assert_allclose(a.discharge_capacity, b.discharge_capacity, rtol=1e-12)
    assert b.attrs["convention"] == "anode" and b.attrs["charge_sign"] == -1
    c = summary(flipped, convention=-1)
    np.testing.assert_allclose(c.discharge_capacity, a.discharge_capacity, rtol=1e-12)
    with pytest.raises(ValidationError, match="convention"):
        summary(rec, convention="cathodic")


def test_spike_is_not_a_cycle() -> None:
    rec = synthetic_record(n_cycles=3, noise=0.0)
    cur = rec.current.copy()
    seg = segment(rec)
    mid = int(seg.half_start[1] + seg.half_stop[1]) // 2
    cur[mid] = 5e-4  # a single-record reversed-current blip in the middle of the first discharge
    s = summary(rec.replace(current=cur))
    assert s.sizes["cycle"] == 3
    assert s.attrs["ignored_spikes"] >= 1


def test_bad_input_errors() -> None:
    t = np.arange(10.0)
    only_charge = CyclingData(t, np.full(10, 3.8), np.full(10, 1e-3))
    s = summary(only_charge)  # a formation charge: summarised, not refused
    assert s.sizes["cycle"] == 1 and np.isnan(float(s.discharge_capacity[0]))
    np.testing.assert_allclose(s.charge_capacity, 9e-3 / 3.6)
    assert not bool(s.complete[0]) and bool(s.has_charge[0]) and not bool(s.has_discharge[0])
    with pytest.raises(ValidationError, match="no current flows"):
        summary(CyclingData(t, np.full(10, 3.8), np.zeros(10)))
    with pytest.raises(ValidationError, match="time.*decreases"):
        CyclingData(t[::-1], np.full(10, 3.8), np.full(10, 1e-3))
    with pytest.raises(ValidationError, match="mass"):
        CyclingData(t, np.full(10, 3.8), np.full(10, 1e-3), mass=0.0)
    with pytest.raises(ValidationError, match="expected CyclingData"):
        summary(np.zeros(3))  # type: ignore[arg-type]


def test_rate_test_summary_matches_stored_table() -> None:
    path = shared_file("cycling", "rate_cc_raw.csv")
    rec = ns.read_cycling(path, mass=ureg.Quantity(15.4071, "mg"))
    assert rec.meta["rows_read"] == 27450  # README: 27450 rows
    s = summary(rec, convention="anode")  # lithiation (current < 0) first; CE = delithiation / lithiation
    # README "Rate test summary" (cellpy's stored summary from the Arbin capacity columns). Our capacities
    # are integrated from 30 s records, so they agree to 0.3 % (the 2C cycles are the worst).
    lith = [5.7081, 5.4594, 5.4504, 5.4359, 5.4272, 5.4267, 5.4252, 5.4247, 5.4232, 5.4320, 5.4247,
            5.3227, 5.3067, 5.2991, 4.6709, 4.6908, 4.6504, 5.4015, 5.4073, 5.4028]
    delith = [5.3950, 5.4106, 5.4139, 5.4088, 5.4095, 5.4105, 5.4108, 5.4113, 5.4214, 5.4196, 5.4169,
              5.3090, 5.2964, 5.2887, 4.6557, 4.6840, 4.6441, 5.3924, 5.3882, 5.3846]
    assert s.cycle.values.tolist() == list(range(1, 21))  # cycle 21 (one trailing record) is a spike, not a cycle
    mass_g = 0.0154071
    np.testing.assert_allclose(s.charge_capacity * mass_g, lith, rtol=3e-3)
    np.testing.assert_allclose(s.discharge_capacity * mass_g, delith, rtol=3e-3)
    # cycle 1 in mAh/g (README 370.49 / 350.16) and CE (94.51 %)
    np.testing.assert_allclose([s.charge_capacity[0], s.discharge_capacity[0]], [370.49, 350.16], rtol=1e-3)
    np.testing.assert_allclose(float(s.coulombic_efficiency[0]), 94.51, atol=0.1)
    # README protocol: CV hold at 20 mV after the CC lithiation; the instrument's step file also holds the
    # delithiation at its 1.5 V cut-off after the fast steps. Detected CV records sit at one of the two.
    seg = segment(rec, convention="anode")
    cv = seg.control == 2
    assert cv.sum() > 1000
    v = rec.voltage[cv]
    assert np.all((np.abs(v - 0.020) < 0.005) | (np.abs(v - 1.5) < 0.005))
    assert np.all(np.abs(rec.voltage[cv & (seg.state == 1)] - 0.020) < 0.005)


def _integral_check(rec: CyclingData) -> None:
    s = summary(rec)
    seg = segment(rec)
    # property: charge + discharge capacity equals the integral of |I| over the non-rest intervals
    t, i = rec.time, rec.current
    dq = 0.5 * (i[1:] + i[:-1]) * np.diff(t) / 3.6 / rec.mass
    owner = np.where(seg.half[1:] >= 0, seg.half[1:], seg.half[:-1])
    total = float(np.nansum(s.charge_capacity) + np.nansum(s.discharge_capacity))
    per_half = np.bincount(owner[owner >= 0], weights=dq[owner >= 0])
    np.testing.assert_allclose(total, np.abs(per_half).sum(), rtol=1e-10)
    # net charge of each half-cycle has the half's sign
    assert np.all(np.sign(per_half) == seg.half_direction)


def test_capacity_is_integral_of_current_property() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    @settings(max_examples=15, deadline=None)
    @given(st.integers(1, 6), st.integers(0, 10_000), st.floats(0.1, 3.0))
    def check(n: int, seed: int, rate: float) -> None:
        _integral_check(synthetic_record(n_cycles=n, seed=seed, c_rate=rate, points_per_cycle=60))

    check()


def test_summary_on_random_step_records_property() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    steps = st.lists(st.tuples(st.sampled_from([-2e-3, -1e-3, 0.0, 1e-3, 2e-3]), st.integers(2, 30)),
                     min_size=1, max_size=25)

    @settings(max_examples=60, deadline=None)
    @given(steps, st.sampled_from(["cathode", "anode"]))
    def check(spec: list[tuple[float, int]], convention: str) -> None:
        cur = np.concatenate([np.full(k, c) for c, k in spec])
        t = np.arange(cur.size, dtype=float) * 10.0
        v = 3.7 + 0.1 * np.tanh(np.cumsum(cur) * 10)
        rec = CyclingData(t, v, cur, mass=0.01)
        try:
            s = summary(rec, convention=convention)
        except ValidationError as exc:
            assert "sign" in str(exc) or "no current" in str(exc) or "2 points" in str(exc)
            return
        q = np.concatenate([s.charge_capacity.values, s.discharge_capacity.values])
        assert np.all(np.nan_to_num(q) >= 0)
        # every half-cycle kept after spike removal has a positive capacity in its own direction
        assert np.all(np.isfinite(s.discharge_capacity) | np.isfinite(s.charge_capacity))
        assert int(s.n_records.sum()) == len(rec)  # every record belongs to exactly one cycle

    check()
