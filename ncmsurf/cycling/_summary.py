"""Per-cycle summary (private): capacities, CE, energies, mean voltages, C-rate."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.units import magnitude
from ncmsurf.cycling._segment import CC, owner_bins, segment

__all__ = ["summary"]


def _cc_current(current: np.ndarray, control: np.ndarray, half: np.ndarray, nhalf: int) -> np.ndarray:
    """Mean absolute current of the CC records of each half-cycle, A (NaN without CC records)."""
    h = np.where((control == CC) & (half >= 0), half, nhalf)  # other records go to the extra bin
    tot = np.bincount(h, weights=np.abs(current), minlength=nhalf + 1)[:nhalf]
    cnt = np.bincount(h, minlength=nhalf + 1)[:nhalf]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cnt > 0, tot / np.maximum(cnt, 1), np.nan)  # type: ignore[no-any-return]


def summary(data: CyclingData, *, convention: str | int = "cathode", reference_capacity: Any = None,
            rest_current: Any = None, min_records: int = 10) -> xr.Dataset:
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
        ``cv_charge_capacity`` (charge passed in CV), ``complete`` (both
        halves present), ``resolved`` (both halves sampled by at least
        ``min_records`` records), ``start_time``, ``end_time`` (s), ``n_records``.
        Attributes record the convention, mass, units and reference
        capacity.

    Raises
    ------
    ValidationError
        If the mass is not positive, or the record has no current sign
        change.

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
    de = cur[1:] * v[1:]
    de += cur[:-1] * v[:-1]
    de *= 0.5
    de *= np.diff(t)
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
    rc = np.searchsorted(cycles, seg.cycle)
    n_rec = np.bincount(rc, minlength=ncyc)
    first_rec = np.searchsorted(rc, np.arange(ncyc), side="left")
    last_rec = np.searchsorted(rc, np.arange(ncyc), side="right") - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        vc = ec / qc
        vd = ed / qd
        ce = 100.0 * qd / qc
    complete = np.isfinite(qc) & np.isfinite(qd)
    resolved = complete & (np.nan_to_num(nc) >= min_records) & (np.nan_to_num(nd) >= min_records)
    scale = 1.0
    cap_units, en_units = "mAh", "mWh"
    if mass is not None:
        scale = 1.0 / mass
        cap_units, en_units = "mAh/g", "Wh/kg"
    qc_s, qd_s, ec_s, ed_s, cv_s = qc * scale, qd * scale, ec * scale, ed * scale, cvq * scale
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
            "complete": ("cycle", complete, {"long_name": "charge and discharge present"}),
            "resolved": ("cycle", resolved, {"long_name": f"both halves have >= {min_records} records"}),
            "start_time": var(t[first_rec], "s", "first record of the cycle"),
            "end_time": var(t[last_rec], "s", "last record of the cycle"),
            "n_records": ("cycle", n_rec.astype(np.int64), {"units": "1"}),
        },
        coords={"cycle": ("cycle", cycles.astype(np.int64))},
        attrs=attrs,
    )
    return ds
