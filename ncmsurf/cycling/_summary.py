"""Per-cycle summary (private): capacities, CE, energies, mean voltages, C-rate."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfWarning, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.units import magnitude
from ncmsurf.cycling._segment import CC, interval_mean, owner_bins, segment

__all__ = ["COMPLETE_SHARE", "CapacityCheckWarning", "instrument_half_capacity", "summary"]

#: A cycle is complete when its charge and its discharge are each at least this share of the median
#: charge (discharge) capacity of the record's cycles.
COMPLETE_SHARE = 0.5
#: Relative difference between integrated and instrument capacity above which summary warns.
COUNTER_TOLERANCE = 0.01


class CapacityCheckWarning(NcmsurfWarning):
    """The integrated capacity of a cycle differs from the instrument's own counter by more than 1 %."""


_TO_MAH = {"mAh": 1.0, "mA.h": 1.0, "Ah": 1000.0, "A.h": 1000.0, "uAh": 1e-3, "C": 1000.0 / 3600.0,
           "mC": 1.0 / 3600.0, "As": 1000.0 / 3600.0}


def instrument_half_capacity(data: CyclingData, half: np.ndarray, half_direction: np.ndarray,
                             gaps: np.ndarray, charge_sign: int = 1) -> tuple[np.ndarray, list[str]]:
    """Capacity of each half-cycle from the instrument's own counters (mAh), NaN where there is none.

    The counters are named in ``data.meta["instrument_capacity"]["counters"]``, each a mapping with
    ``column`` (a key of ``data.columns``), ``units`` (mAh, Ah, C, ...), ``kind`` and ``direction``:

    - ``kind="net"``: a running net charge (EC-Lab's (Q-Qo)); a half-cycle's capacity is the
      absolute change of the counter over the intervals it owns.
    - ``kind="resetting"``: an unsigned counter that grows and restarts from zero (at each step or
      cycle: Maccor ``Amp-hr``, Arbin and Neware charge/discharge capacity); a fall to less than half
      its previous value is a restart and the increment is then its new value (a slighter fall counts
      as a negative increment).

    ``direction`` (``"charge"``, ``"discharge"`` or ``"both"``, default both) says which half-cycles the
    counter measures, in the record's own sign (positive current = charge; ``half_direction`` is in
    the convention's sign, ``charge_sign`` converts). Intervals across gaps are left out, as in the
    integration.

    Returns
    -------
    (ndarray, list of str)
        Capacity per half-cycle in mAh, and the columns used.
    """
    info = data.meta.get("instrument_capacity")
    nh = int(half_direction.size)
    out = np.full(nh, np.nan)
    used: list[str] = []
    if not isinstance(info, dict) or nh == 0:
        return out, used
    bins = owner_bins(half, nh)
    bins[gaps] = nh
    total = np.zeros(nh)
    seen = np.zeros(nh, bool)
    for c in info.get("counters", []):
        col = data.columns.get(str(c.get("column", "")))
        factor = _TO_MAH.get(str(c.get("units", "")))
        if col is None or factor is None:
            continue
        x = np.asarray(col, dtype=float)
        if not np.isfinite(x).all():
            continue
        resetting = c.get("kind") == "resetting"
        if resetting and x.size and x.min() < 0:
            x = np.abs(x)
        d = np.diff(x)  # the one full-length temporary (long records: keep the peak memory low)
        if resetting:
            # a restart is a fall to less than half the previous value; a slight fall (the counter's own
            # rounding or a correction) is an increment below zero, not a restart
            fall = np.flatnonzero(d < 0)
            fall = fall[x[fall + 1] < 0.5 * x[fall]]
            d[fall] = x[fall + 1]
        per = np.bincount(bins, weights=d, minlength=nh + 1)[:nh] * factor
        del d
        direction = str(c.get("direction", "both"))
        mask = np.ones(nh, bool)
        if direction == "charge":
            mask = half_direction * charge_sign > 0
        elif direction == "discharge":
            mask = half_direction * charge_sign < 0
        total[mask] += np.abs(per[mask]) if c.get("kind") == "net" else per[mask]
        seen |= mask
        used.append(str(c.get("column")))
    out[seen] = total[seen]
    return out, used


def _cc_current(current: np.ndarray, control: np.ndarray, half: np.ndarray, nhalf: int) -> np.ndarray:
    """Mean absolute current of the CC records of each half-cycle, A (NaN without CC records)."""
    h = np.where((control == CC) & (half >= 0), half, nhalf)  # other records go to the extra bin
    tot = np.bincount(h, weights=np.abs(current), minlength=nhalf + 1)[:nhalf]
    cnt = np.bincount(h, minlength=nhalf + 1)[:nhalf]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)  # type: ignore[no-any-return]


def _check_counters(data: CyclingData, half_cycle: np.ndarray, is_charge: np.ndarray, integrated: np.ndarray,
                    counter: np.ndarray, resolved: np.ndarray, tol: float) -> None:
    """Warn with both numbers for each resolved half-cycle whose integral and counter differ by > tol."""
    ok = resolved & np.isfinite(counter) & (counter > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(integrated - counter) / counter
    bad = np.flatnonzero(ok & (rel > tol))
    if bad.size == 0:
        return
    shown = "; ".join(
        f"cycle {int(half_cycle[k])} {'charge' if is_charge[k] else 'discharge'}: integrated "
        f"{integrated[k]:.6g} mAh, instrument {counter[k]:.6g} mAh" for k in bad[:5])
    more = f" (and {bad.size - 5} more)" if bad.size > 5 else ""
    src = data.meta.get("source_file", "the record")
    warnings.warn(f"{src}: {bad.size} half-cycle(s) differ from the instrument's capacity counter by more than "
                  f"{100 * tol:g} %: {shown}{more}", CapacityCheckWarning, stacklevel=3)


def summary(data: CyclingData, *, convention: str | int = "cathode", reference_capacity: Any = None,
            rest_current: Any = None, min_records: int = 10, complete_share: float = COMPLETE_SHARE,
            counter_tolerance: float = COUNTER_TOLERANCE) -> xr.Dataset:
    """Per-cycle summary of a cycling record.

    Capacities and energies are integrated from current and voltage (the
    trapezoidal rule over the records), so they do not depend on the
    instrument's capacity columns or cycle numbers.

    Parameters
    ----------
    data : CyclingData
        The record.
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
        Which current sign is the charge; a cycle is charge then discharge
        and CE = discharge / charge. Use ``"anode"`` for an anode half cell
        whose lithiation (negative current) comes first.
    reference_capacity : float or pint.Quantity, optional
        Capacity defining 1C (mAh/g when the mass is known, else mAh).
        Default: the median discharge capacity of the first three complete
        cycles.
    rest_current : float, optional
        Rest threshold in A (see :func:`segment`).
    min_records : int
        A cycle whose charge or discharge has fewer records than this is
        flagged ``resolved = False`` (e.g. thinned exports keeping one
        record per step, whose integrated capacities are meaningless).
    complete_share : float
        The rule for ``complete``: a cycle is complete when its charge and
        its discharge capacity are each at least this share of the median
        charge (discharge) capacity of the record's cycles (default 0.5);
        other cycles are partial (a short first discharge, a cycle cut by
        the end of the test). The rule is in ``attrs["complete_rule"]`` and
        the first complete cycle in ``attrs["first_complete_cycle"]``: take
        first capacity, first CE and retention references from it.
    counter_tolerance : float
        Where the record carries the instrument's own capacity counters
        (``meta["instrument_capacity"]``, see
        :func:`instrument_half_capacity`), a :class:`CapacityCheckWarning`
        with both numbers is issued for every resolved half-cycle whose
        integrated capacity differs from the counter by more than this
        (relative, default 1 %).

    Notes
    -----
    Integration never bridges a gap in the record (a time jump across
    which the current changes, or a restart named by the reader in
    ``meta["record_breaks"]``; see :func:`~ncmsurf.cycling.gap_intervals`).
    A record of one direction only (a formation charge) is summarised: its
    cycles have NaN for the missing half and are partial.

    Returns
    -------
    xarray.Dataset
        Over ``cycle``: ``charge_capacity``, ``discharge_capacity`` (mAh/g
        with a mass, else mAh), ``coulombic_efficiency`` (%),
        ``charge_energy``, ``discharge_energy`` (Wh/kg with a mass, else
        mWh), ``mean_charge_voltage``, ``mean_discharge_voltage``,
        ``polarization`` (absolute gap of the mean charge and discharge voltages, V),
        ``c_rate`` (CC discharge current over the reference capacity),
        ``charge_current``, ``discharge_current`` (CC level, A),
        ``cv_charge_capacity`` (charge passed in CV), ``has_charge``,
        ``has_discharge``, ``complete`` (both halves above the share of the
        median, see ``complete_share``), ``resolved`` (complete and both halves
        sampled by at least ``min_records`` records), ``instrument_charge_capacity``,
        ``instrument_discharge_capacity`` (from the instrument's counters, NaN
        without), ``start_time``, ``end_time`` (s), ``n_records``.
        Attributes record the convention, mass, units, reference capacity,
        the complete rule, the gaps left out and the counters used.

    Raises
    ------
    ValidationError
        If the mass is not positive, or no current flows.

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> rec = synthetic_record(n_cycles=3, fade={"model": "linear", "a": 1.0}, noise=0.0, c_rate=0.1)
    >>> s = summary(rec)
    >>> s.sizes["cycle"], bool(s.complete.all())
    (3, True)
    >>> [round(float(q), 1) for q in s.discharge_capacity]
    [199.0, 198.0, 197.0]
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    mass = data.mass
    if mass is not None and not mass > 0:
        raise ValidationError(f"mass: must be > 0 g, got {mass}")
    seg = segment(data, convention=convention, rest_current=rest_current)
    sign = seg.charge_sign
    t = data.time
    cur = data.current if sign == 1 else data.current * sign
    v = data.voltage
    dq = seg.interval_charge
    # trapezoidal energy per interval, built in place (a million-record file: few full-length temporaries)
    if interval_mean(data):
        de = v[1:] + v[:-1]
        de *= 0.5 * cur[1:]
    else:
        de = cur[1:] * v[1:]
        de += cur[:-1] * v[:-1]
        de *= 0.5
    de *= np.diff(t)
    de[seg.gaps] = 0.0
    nh = seg.n_half_cycles
    bins = owner_bins(seg.half, nh)  # rest intervals go to the extra bin nh
    hq = np.abs(np.bincount(bins, weights=dq, minlength=nh + 1)[:nh]) / 3.6  # mAh
    he = np.abs(np.bincount(bins, weights=de, minlength=nh + 1)[:nh]) / 3.6  # mWh
    del de
    bins[seg.control[1:] != 2] = nh
    hcv = np.abs(np.bincount(bins, weights=dq, minlength=nh + 1)[:nh]) / 3.6
    del bins
    icc = _cc_current(cur, seg.control, seg.half, nh)
    cycles = np.unique(seg.half_cycle)
    ncyc = cycles.size
    pos = np.searchsorted(cycles, seg.half_cycle)
    ch = seg.half_direction > 0

    def per_cycle(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        out = np.zeros(ncyc)
        np.add.at(out, pos[mask], values[mask])
        has = np.zeros(ncyc, bool)
        has[pos[mask]] = True
        out[~has] = np.nan
        return out

    qc, qd = per_cycle(hq, ch), per_cycle(hq, ~ch)
    ec, ed = per_cycle(he, ch), per_cycle(he, ~ch)
    cvq = per_cycle(hcv, ch)
    ic, idis = per_cycle(icc, ch), per_cycle(icc, ~ch)
    hn = (seg.half_stop - seg.half_start + 1).astype(float)
    nc, nd = per_cycle(hn, ch), per_cycle(hn, ~ch)
    # time span and record count per cycle
    # records per cycle: the per-record cycle numbers never decrease, so each cycle is one run
    first_rec = np.searchsorted(seg.cycle, cycles, side="left")
    last_rec = np.searchsorted(seg.cycle, cycles, side="right") - 1
    n_rec = last_rec - first_rec + 1
    with np.errstate(divide="ignore", invalid="ignore"):
        vc = ec / qc
        vd = ed / qd
        ce = 100.0 * qd / qc
    if not 0 <= complete_share < 1:
        raise ValidationError(f"complete_share: must be in [0, 1), got {complete_share}")
    has_c, has_d = np.isfinite(qc), np.isfinite(qd)
    med_c = float(np.median(qc[has_c])) if has_c.any() else float("nan")
    med_d = float(np.median(qd[has_d])) if has_d.any() else float("nan")
    complete = has_c & has_d & (np.nan_to_num(qc) >= complete_share * med_c) & (
        np.nan_to_num(qd) >= complete_share * med_d)
    resolved = complete & (np.nan_to_num(nc) >= min_records) & (np.nan_to_num(nd) >= min_records)
    # the instrument's own counters, per half-cycle, cross-checked against the integral
    ihq, counters = instrument_half_capacity(data, seg.half, seg.half_direction, seg.gaps, sign)
    iqc, iqd = per_cycle(ihq, ch), per_cycle(ihq, ~ch)
    if counters:
        _check_counters(data, seg.half_cycle, ch, hq, ihq, hn >= min_records, counter_tolerance)
    scale = 1.0
    cap_units, en_units = "mAh", "mWh"
    if mass is not None:
        scale = 1.0 / mass
        cap_units, en_units = "mAh/g", "Wh/kg"
    qc_s, qd_s, ec_s, ed_s, cv_s = qc * scale, qd * scale, ec * scale, ed * scale, cvq * scale
    iqc_s, iqd_s = iqc * scale, iqd * scale
    if reference_capacity is None:
        good = np.flatnonzero(complete)[:3]
        ref = float(np.median(qd_s[good])) if good.size else float("nan")
        ref_source = "median discharge capacity of the first complete cycles"
    else:
        ref = magnitude(reference_capacity, cap_units, name="reference_capacity")
        if not ref > 0:
            raise ValidationError(f"reference_capacity: must be > 0, got {ref}")
        ref_source = "given"
    ref_ah = ref / scale / 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        crate = np.where(np.isfinite(idis), idis, ic) / ref_ah
    attrs = {
        "convention": seg.convention, "charge_sign": int(sign), "mass": mass if mass is not None else "none",
        "capacity_units": cap_units, "energy_units": en_units, "reference_capacity": ref,
        "reference_capacity_source": ref_source, "rest_current": seg.rest_current,
        "ignored_spikes": seg.ignored,
        "complete_rule": f"charge and discharge each >= {complete_share:g} x the median charge (discharge) "
                         "capacity of the record's cycles",
        "first_complete_cycle": int(cycles[np.flatnonzero(complete)[0]]) if complete.any() else -1,
        "gaps_left_out": int(seg.gaps.sum()),
        "instrument_counters": ", ".join(counters) if counters else "none",
        "counter_tolerance": counter_tolerance,
        "coulombic_efficiency_units": "%",
    }

    def var(x: np.ndarray, units: str, desc: str) -> tuple[str, np.ndarray, dict[str, str]]:
        return ("cycle", x, {"units": units, "long_name": desc})

    ds = xr.Dataset(
        {
            "charge_capacity": var(qc_s, cap_units, "charge capacity"),
            "discharge_capacity": var(qd_s, cap_units, "discharge capacity"),
            "coulombic_efficiency": var(ce, "%", "discharge / charge"),
            "charge_energy": var(ec_s, en_units, "charge energy"),
            "discharge_energy": var(ed_s, en_units, "discharge energy"),
            "mean_charge_voltage": var(vc, "V", "charge energy / charge capacity"),
            "mean_discharge_voltage": var(vd, "V", "discharge energy / discharge capacity"),
            "polarization": var(np.abs(vc - vd), "V", "charge-discharge mean voltage gap"),
            "c_rate": var(crate, "1/h", "CC discharge current / reference capacity"),
            "charge_current": var(ic, "A", "CC charge current"),
            "discharge_current": var(idis, "A", "CC discharge current"),
            "cv_charge_capacity": var(cv_s, cap_units, "charge passed at constant voltage"),
            "has_charge": ("cycle", has_c, {"long_name": "a charge half-cycle is present"}),
            "has_discharge": ("cycle", has_d, {"long_name": "a discharge half-cycle is present"}),
            "complete": ("cycle", complete, {"long_name": attrs["complete_rule"]}),
            "resolved": ("cycle", resolved, {"long_name": f"complete, both halves have >= {min_records} records"}),
            "instrument_charge_capacity": var(iqc_s, cap_units, "charge capacity by the instrument's counter"),
            "instrument_discharge_capacity": var(iqd_s, cap_units, "discharge capacity by the instrument's counter"),
            "start_time": var(t[first_rec], "s", "first record of the cycle"),
            "end_time": var(t[last_rec], "s", "last record of the cycle"),
            "n_records": ("cycle", n_rec.astype(np.int64), {"units": "1"}),
        },
        coords={"cycle": ("cycle", cycles.astype(np.int64))},
        attrs=attrs,
    )
    return ds
