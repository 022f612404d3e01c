"""dQ/dV (spline and binning) and NCM peak tracking against the generator's open-circuit curve."""

from __future__ import annotations

import numpy as np
import pytest

from ncmsurf.core.errors import ValidationError
from ncmsurf.cycling import dqdv, segment, track_peaks
from ncmsurf.datasets.cycling import NCM_PEAKS, synthetic_record

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


@pytest.fixture(scope="module")
def slow_record():  # type: ignore[no-untyped-def]
    return synthetic_record(n_cycles=60, c_rate=0.1, noise=0.0, voltage_noise=0.0005, points_per_cycle=500,
                            seed=3)


@pytest.mark.parametrize("method", ["spline", "binning"])
def test_peak_positions_match_open_circuit_curve(slow_record, method: str) -> None:  # type: ignore[no-untyped-def]
    tp = track_peaks(slow_record, cycles=[2, 30], method=method)
    for name, (e, _, _) in NCM_PEAKS.items():
        for c in (2, 30):
            # generator truth: the charge branch is the OCV shifted by the overpotential 0.03 V x C-rate x growth
            eta = 0.03 * 0.1 * (1 + 0.004 * c)
            pos = float(tp.position.sel(cycle=c, peak=name))
            assert pos == pytest.approx(e + eta, abs=0.015), (name, c, pos)


def test_h2h3_area_shrinks_with_cycling(slow_record) -> None:  # type: ignore[no-untyped-def]
    tp = track_peaks(slow_record, cycles=[2, 20, 40, 60])
    area = tp.area.sel(peak="H2-H3").values
    # generator truth: the H2->H3 weight decays as exp(-0.003 n) and the capacity fades
    assert np.all(np.diff(area) < 0)
    assert tp.area.attrs["units"] == "mAh/g"


def test_dqdv_integrates_to_the_capacity(slow_record) -> None:  # type: ignore[no-untyped-def]
    for method in ("spline", "binning"):
        d = dqdv(slow_record, cycle=10, method=method)
        assert d.attrs["units"] == "mAh/g/V" and np.all(np.diff(d.voltage) > 0)
        q = float(np.trapezoid(d.values, d.voltage.values))
        # the CC charge with 1 % trimmed at each end: 98 % of the CC part of the charge capacity
        expected = 0.98 * d.attrs["half_cycle_capacity"]
        assert q == pytest.approx(expected, rel=0.03)


def test_discharge_branch_is_negative_and_cv_excluded(slow_record) -> None:  # type: ignore[no-untyped-def]
    d = dqdv(slow_record, cycle=5, direction="discharge", method="binning")
    assert float(d.min()) < 0 and float(d.max()) <= 1e-6
    c = dqdv(slow_record, cycle=5)
    seg = segment(slow_record)
    # the CV tail sits at 4.3 V: the CC-only curve ends below it
    assert float(c.voltage.max()) < 4.3
    assert (seg.control == 2).any()


def test_dqdv_errors(slow_record) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match="direction"):
        dqdv(slow_record, cycle=1, direction="up")
    with pytest.raises(ValidationError, match="method"):
        dqdv(slow_record, cycle=1, method="fft")
    with pytest.raises(ValidationError, match="no charge half-cycle in cycle 999"):
        dqdv(slow_record, cycle=999)
    with pytest.raises(ValidationError, match="low must be < high"):
        track_peaks(slow_record, windows={"x": (4.2, 4.1)})


def test_dqdv_anode_lithiation_on_real_rate_test() -> None:
    from conftest import shared_file

    import ncmsurf as ns

    rec = ns.read_cycling(shared_file("cycling", "rate_cc_raw.csv"), mass=0.0154071)
    d = dqdv(rec, cycle=2, convention="anode", method="binning", step=0.005)
    # lithiation of graphite: the voltage falls, so dQ/dV is negative; the staging peaks lie below 0.25 V
    assert d.attrs["voltage_trend"] == -1.0
    v_peak = float(d.voltage[int(np.argmin(d.values))])
    assert 0.05 < v_peak < 0.25


def _maxima(v: np.ndarray, y: np.ndarray, lo: float, hi: float) -> np.ndarray:
    i = np.flatnonzero((y[1:-1] > y[:-2]) & (y[1:-1] >= y[2:])) + 1
    return v[i][(v[i] > lo) & (v[i] < hi)]


@pytest.mark.slow
def test_one_maximum_per_peak_over_50_seeds() -> None:
    # generator truth: peaks at NCM_PEAKS (3.68, 4.00, 4.19 V) shifted by the charge overpotential
    # 0.03 V x 0.1C x (1 + 0.004 x cycle); C/10, 0.5 mV voltage noise, one record per 0.06 % of the charge
    eta = 0.03 * 0.1 * (1 + 0.004 * 2)
    for seed in range(50):
        rec = synthetic_record(n_cycles=2, c_rate=0.1, noise=0.0, voltage_noise=0.0005, points_per_cycle=2000,
                               seed=seed)
        d = dqdv(rec, cycle=2)
        v, y = d.voltage.values, d.values
        for name, (e, s, _) in NCM_PEAKS.items():
            m = _maxima(v, y, e - 2 * s, e + 2 * s)
            assert m.size == 1, (seed, name, m)
            assert abs(m[0] - (e + eta)) <= 0.010, (seed, name, m[0])
