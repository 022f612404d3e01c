"""Rate-capability ladder detection (private)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.cycling._summary import summary

__all__ = ["NOMINAL_C_RATES", "SNAP_TOLERANCE", "c_rate_label", "nominal_c_rate", "rate_capability", "snap_c_rate"]

NOMINAL_C_RATES = (0.02, 0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
"""The usual C-rates (C/50 ... 20C) a measured rate is snapped to."""

SNAP_TOLERANCE = 0.10
"""Relative distance within which a measured C-rate is snapped to a usual one."""


def snap_c_rate(rate: float) -> float:
    """The one C-rate snapping rule of ncmsurf.

    A measured C-rate is snapped to the nearest usual rate of :data:`NOMINAL_C_RATES`
    (nearest on a log scale) when it lies within :data:`SNAP_TOLERANCE` (10 %) of it;
    otherwise it is kept, rounded to 2 significant digits (3 from 10C up). C/3 is
    returned as 0.33. Non-finite or non-positive rates give NaN. The label of a rate
    is :func:`c_rate_label`.

    The tolerance covers a reference capacity that differs from the nominal one by a
    few per cent; it is narrow enough that distinct protocol rates stay apart
    (4.4C stays 4.4C, it is 12 % from 5C).

    Examples
    --------
    >>> snap_c_rate(0.104), snap_c_rate(1 / 3), snap_c_rate(4.4), snap_c_rate(4.7), snap_c_rate(0.7)
    (0.1, 0.33, 4.4, 5.0, 0.7)
    """
    r = float(rate)
    if not np.isfinite(r) or r <= 0:
        return float("nan")
    best = min(NOMINAL_C_RATES, key=lambda c: abs(np.log(r / c)))
    if abs(r / best - 1) <= SNAP_TOLERANCE:
        return round(best, 2)
    return float(f"{r:.3g}") if r >= 10 else float(f"{r:.2g}")


def c_rate_label(rate: float) -> str:
    """Label of a C-rate after :func:`snap_c_rate`, e.g. ``"0.33C"``, ``"4.4C"``, ``"5C"``.

    Examples
    --------
    >>> c_rate_label(1 / 3), c_rate_label(4.4), c_rate_label(4.95), c_rate_label(0.1), c_rate_label(0.065)
    ('0.33C', '4.4C', '5C', '0.1C', '0.065C')
    """
    r = snap_c_rate(rate)
    if not np.isfinite(r):
        return "nan"
    return f"{r:g}C"


def nominal_c_rate(rate: float) -> float:
    """The usual C-rate of a measured one: the same rule as :func:`snap_c_rate` (kept for its name).

    Examples
    --------
    >>> nominal_c_rate(0.104), nominal_c_rate(0.33), nominal_c_rate(0.7)
    (0.1, 0.33, 0.7)
    """
    return snap_c_rate(rate)


def rate_capability(data: CyclingData | xr.Dataset, *, reference_capacity: Any = None,
                    convention: str | int = "cathode", tolerance: float = 0.15,
                    capacity: str = "discharge_capacity") -> xr.Dataset:
    """Detect the rate steps of a record from the current alone and summarise each.

    Consecutive complete cycles whose CC discharge C-rate stays within
    ``tolerance`` (relative) of the step's first cycle form one step. A
    step at the first step's rate that follows a faster step is flagged as
    the recovery step.

    Parameters
    ----------
    data : CyclingData or xarray.Dataset
        A record, or the output of :func:`summary`.
    reference_capacity : float or pint.Quantity, optional
        Capacity defining 1C (see :func:`summary`); ignored for a summary.
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
        Passed to :func:`summary`.
    tolerance : float
        Relative change of C-rate that starts a new step.
    capacity : str
        Summary variable used (default the discharge capacity).

    Returns
    -------
    xarray.Dataset
        Over ``rate_step``: ``c_rate`` (mean measured), ``nominal_c_rate``,
        ``first_cycle``, ``last_cycle``, ``n_cycles``, ``capacity_mean``,
        ``capacity_std`` (sample std, 0 for one cycle), ``retention`` (vs
        the first step), ``recovery`` (bool).

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> rec = synthetic_record(n_cycles=9, rate_ladder=[(0.1, 3), (1, 3), (0.1, 3)], noise=0.0)
    >>> r = rate_capability(rec)
    >>> r.nominal_c_rate.values.tolist(), r.n_cycles.values.tolist(), r.recovery.values.tolist()
    ([0.1, 1.0, 0.1], [3, 3, 3], [False, False, True])
    """
    if isinstance(data, xr.Dataset):
        s = data
    elif isinstance(data, CyclingData):
        s = summary(data, convention=convention, reference_capacity=reference_capacity)
    else:
        raise ValidationError(f"data: expected CyclingData or a summary Dataset, got {type(data).__name__}")
    if capacity not in s:
        raise ValidationError(f"capacity: {capacity!r} is not a summary variable")
    if not 0 < tolerance < 1:
        raise ValidationError(f"tolerance: must be in (0, 1), got {tolerance}")
    flag = "resolved" if "resolved" in s else "complete"
    ok = s[flag].values.astype(bool) & np.isfinite(s["c_rate"].values)
    cyc = s["cycle"].values[ok]
    rate = s["c_rate"].values[ok]
    cap = s[capacity].values[ok]
    if cyc.size == 0:
        raise ValidationError("data: no complete cycle with a measurable C-rate")
    groups: list[list[int]] = [[0]]
    for k in range(1, cyc.size):
        ref = rate[groups[-1][0]]
        if abs(rate[k] / ref - 1.0) <= tolerance:
            groups[-1].append(k)
        else:
            groups.append([k])
    nstep = len(groups)
    c_mean = np.array([float(np.mean(rate[g])) for g in groups])
    q_mean = np.array([float(np.mean(cap[g])) for g in groups])
    q_std = np.array([float(np.std(cap[g], ddof=1)) if len(g) > 1 else 0.0 for g in groups])
    first = np.array([int(cyc[g[0]]) for g in groups], dtype=np.int64)
    last = np.array([int(cyc[g[-1]]) for g in groups], dtype=np.int64)
    count = np.array([len(g) for g in groups], dtype=np.int64)
    recovery = np.zeros(nstep, bool)
    for k in range(1, nstep):
        same_as_first = abs(c_mean[k] / c_mean[0] - 1.0) <= tolerance
        faster_before = bool(np.any(c_mean[1:k] > c_mean[0] * (1 + tolerance)))
        recovery[k] = same_as_first and faster_before
    units = str(s[capacity].attrs.get("units", ""))
    return xr.Dataset(
        {
            "c_rate": ("rate_step", c_mean, {"units": "1/h", "long_name": "mean measured C-rate"}),
            "nominal_c_rate": ("rate_step", np.array([snap_c_rate(c) for c in c_mean]),
                               {"units": "1/h", "long_name": "mean C-rate snapped by ncmsurf.cycling.snap_c_rate"}),
            "c_rate_label": ("rate_step", np.array([c_rate_label(c) for c in c_mean], dtype=str)),
            "first_cycle": ("rate_step", first),
            "last_cycle": ("rate_step", last),
            "n_cycles": ("rate_step", count),
            "capacity_mean": ("rate_step", q_mean, {"units": units}),
            "capacity_std": ("rate_step", q_std, {"units": units}),
            "retention": ("rate_step", q_mean / q_mean[0], {"units": "1", "long_name": "vs the first step"}),
            "recovery": ("rate_step", recovery),
        },
        coords={"rate_step": np.arange(1, nstep + 1, dtype=np.int64)},
        attrs={"capacity": capacity, "tolerance": tolerance, "convention": str(s.attrs.get("convention", "")),
               "reference_capacity": s.attrs.get("reference_capacity", float("nan"))},
    )
