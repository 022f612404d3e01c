"""Gaps in the record, the instrument's capacity counters, complete/partial cycles, one C-rate rule."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.models import CyclingData
from ncmsurf.cycling import (
    CapacityCheckWarning,
    c_rate_label,
    gap_intervals,
    rate_capability,
    snap_c_rate,
    summary,
)
from ncmsurf.datasets.cycling import synthetic_record

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


def _loops(hole: float) -> CyclingData:
    """Three loops of rest / +1 mA charge / -1 mA discharge, 1 s records, a hole after each loop."""
    t, i = [], []
    t0 = 0.0
    for _ in range(3):
        for level in (0.0, 1e-3, -1e-3):
            for k in range(10):
                t.append(t0 + k)
                i.append(level)
            t0 += 10
        t0 += hole
    tt = np.array(t)
    ii = np.array(i)
    return CyclingData(tt, np.full(tt.size, 3.7), ii)


def test_integration_never_bridges_a_gap() -> None:
    rec = _loops(170.0)
    s = summary(rec)
    assert s.attrs["gaps_left_out"] == 2
    # each discharge: its 9 intervals of 1 s at 1 mA; the intervals across the holes carry nothing
    expected = np.array([9.0, 9.0, 9.0]) * 1e-3 / 3.6
    np.testing.assert_allclose(s.discharge_capacity, expected, rtol=1e-12)
    # without the holes the step edge into the next rest adds its trapezoid (half an interval)
    s0 = summary(_loops(0.0))
    np.testing.assert_allclose(s0.discharge_capacity, np.array([9.5, 9.5, 9.0]) * 1e-3 / 3.6, rtol=1e-12)
    np.testing.assert_allclose(s0.charge_capacity, s.charge_capacity, rtol=1e-12)


def test_gap_rule() -> None:
    t = np.array([0.0, 1, 2, 3, 173, 174, 175])
    assert gap_intervals(t, np.array([-1.0, -1, -1, -1, 0, 0, 0])).tolist() == [0, 0, 0, 1, 0, 0]
    assert not gap_intervals(t, np.full(7, -1.0)).any()  # the step went on: bridged
    assert gap_intervals(np.arange(5.0), np.ones(5), breaks=[3]).tolist() == [0, 0, 1, 0]


def test_gcpl_mpt_with_holes_matches_ec_lab() -> None:
    rec = ns.read_cycling(shared_file("cycling", "gcpl.issue_149.mpt"))
    s = summary(rec)
    # README: EC-Lab's (Q-Qo) gives charge 0.000333418 mAh, discharge 0.000333390 mAh; integration across
    # the 170 s holes would give 7.35x the discharge
    assert float(s.charge_capacity.sum()) == pytest.approx(0.000333418, rel=0.01)
    assert float(s.discharge_capacity.sum()) == pytest.approx(0.000333390, rel=0.01)


def test_counter_mismatch_warns_with_both_numbers() -> None:
    rec = synthetic_record(n_cycles=3, noise=0.0, seed=2)
    s = summary(rec)
    # a resetting per-cycle counter 5 % above the truth in cycle 2's discharge
    seg = ns.cycling.segment(rec)
    dq = np.concatenate(([0.0], seg.interval_charge)) / 3.6  # mAh per interval
    cyc = seg.cycle
    chg = np.zeros(len(rec))
    dis = np.zeros(len(rec))
    for c in np.unique(cyc):
        m = cyc == c
        chg[m] = np.cumsum(np.where(dq[m] > 0, dq[m], 0.0))
        dis[m] = np.cumsum(np.where(dq[m] < 0, -dq[m], 0.0)) * (1.05 if c == 2 else 1.0)
    meta = dict(rec.meta)
    meta["instrument_capacity"] = {"counters": [
        {"column": "chg", "units": "mAh", "kind": "resetting", "direction": "charge"},
        {"column": "dis", "units": "mAh", "kind": "resetting", "direction": "discharge"}]}
    marked = rec.replace(meta=meta, columns={**rec.columns, "chg": chg, "dis": dis})
    with pytest.warns(CapacityCheckWarning, match=r"cycle 2 discharge: integrated .* mAh, instrument .* mAh"):
        s2 = summary(marked)
    np.testing.assert_allclose(s2.instrument_charge_capacity, s.charge_capacity, rtol=1e-9)
    np.testing.assert_allclose(s2.instrument_discharge_capacity[1], 1.05 * s.discharge_capacity[1], rtol=1e-9)


def test_complete_and_partial_cycles() -> None:
    rec = synthetic_record(n_cycles=4, noise=0.0)
    seg = ns.cycling.segment(rec)
    # keep the last 10 % of the first discharge only: a short first discharge, as in xTESLADIAG
    start = int(seg.half_stop[1] - 0.1 * (seg.half_stop[1] - seg.half_start[1]))
    cut = rec.replace(time=rec.time[start:], voltage=rec.voltage[start:], current=rec.current[start:])
    s = summary(cut)
    assert s.cycle.values.tolist() == [0, 1, 2, 3]
    assert s.complete.values.tolist() == [False, True, True, True]
    assert s.attrs["first_complete_cycle"] == 1 and "0.5" in s.attrs["complete_rule"]


def test_xtesladiag_first_complete_cycle() -> None:
    rec = ns.read_cycling(shared_file("cycling", "xTESLADIAG_000019_CH70.070"))
    s = summary(rec)
    # README: a 0.125 Ah discharge first, then 30 charge/discharge cycles of 2.70-3.03 Ah
    assert float(s.discharge_capacity[0]) == pytest.approx(125.0, rel=0.05)
    assert not bool(s.complete[0])
    first = s.attrs["first_complete_cycle"]
    assert float(s.discharge_capacity.sel(cycle=first)) == pytest.approx(3030.0, rel=0.02)


@pytest.mark.parametrize(("rate", "snapped", "label"), [
    (4.4, 4.4, "4.4C"), (1 / 3, 0.33, "0.33C"), (0.3265, 0.33, "0.33C"), (4.95, 5.0, "5C"), (0.104, 0.1, "0.1C"),
    (0.065, 0.065, "0.065C"), (1.98, 2.0, "2C"), (12.5, 12.5, "12.5C"), (0.0, float("nan"), "nan")])
def test_one_c_rate_rule(rate: float, snapped: float, label: str) -> None:
    assert snap_c_rate(rate) == pytest.approx(snapped, nan_ok=True)
    assert c_rate_label(rate) == label


def test_rate_capability_labels() -> None:
    rec = synthetic_record(n_cycles=6, rate_ladder=[(1 / 3, 3), (4.4, 3)], noise=0.0)
    r = rate_capability(rec, reference_capacity=200.0)
    assert r.c_rate_label.values.tolist() == ["0.33C", "4.4C"]
