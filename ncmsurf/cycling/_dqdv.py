"""Differential capacity dQ/dV and NCM phase-transition peak tracking (private)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy.interpolate import make_smoothing_spline
from scipy.signal import savgol_filter

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.cycling._segment import CC, Segmentation, segment

__all__ = ["NCM_WINDOWS", "dqdv", "track_peaks"]

NCM_WINDOWS: dict[str, tuple[float, float]] = {
    "H1-M": (3.55, 3.85),
    "M-H2": (3.90, 4.08),
    "H2-H3": (4.08, 4.30),
}
"""Voltage windows (V vs Li/Li+) of the Ni-rich NCM phase transitions on charge."""


def _half_records(data: CyclingData, seg: Segmentation, cycle: int, direction: str) -> np.ndarray:
    want = 1 if direction == "charge" else -1
    idx = np.flatnonzero((seg.half_direction == want) & (seg.half_cycle == cycle))
    if idx.size == 0:
        have = sorted(set(seg.half_cycle[seg.half_direction == want].tolist()))
        raise ValidationError(f"cycle: no {direction} half-cycle in cycle {cycle} (cycles with one: "
                              f"{have[:5]}{'...' if len(have) > 5 else ''})")
    h = int(idx[0])
    a, b = int(seg.half_start[h]), int(seg.half_stop[h])
    rec = np.arange(a, b + 1)
    return np.asarray(rec[seg.control[a:b + 1] == CC])


def _q_v(data: CyclingData, seg: Segmentation, cycle: int, direction: str,
         trim: float) -> tuple[np.ndarray, np.ndarray, float]:
    rec = _half_records(data, seg, cycle, direction)
    if rec.size < 8:
        raise ValidationError(f"cycle {cycle}: only {rec.size} CC {direction} records; dQ/dV needs at least 8")
    t = data.time[rec]
    i = np.abs(data.current[rec])
    v = data.voltage[rec]
    dq = 0.5 * (i[1:] + i[:-1]) * np.diff(t) / 3.6  # mAh
    q = np.concatenate(([0.0], np.cumsum(dq)))
    scale = 1.0 / data.mass if data.mass else 1.0
    q = q * scale
    qtot = float(q[-1])
    if not qtot > 0:
        raise ValidationError(f"cycle {cycle}: no charge passed in the {direction} half-cycle")
    # cut-off artefacts: drop the first and last `trim` of the capacity (IR step, cut-off hook)
    keep = (q >= trim * qtot) & (q <= (1 - trim) * qtot)
    q, v = q[keep], v[keep]
    # strictly increasing Q
    uq, first = np.unique(q, return_index=True)
    return uq, v[first], qtot


def dqdv(data: CyclingData, *, cycle: int, direction: str = "charge", method: str = "spline",
         convention: str | int = "cathode", step: float = 0.002, trim: float = 0.01,
         smoothing: float | None = None, window: int = 11) -> xr.DataArray:
    """Differential capacity dQ/dV of one half-cycle (CC part only).

    Rests and the CV tail are removed, the first and last ``trim`` of the
    capacity (IR step and cut-off hook) are cut, then:

    - ``method="spline"``: a smoothing spline V(Q) (penalty chosen by
      generalised cross-validation unless ``smoothing`` is given) is
      differentiated and inverted, dQ/dV = 1 / (dV/dQ);
    - ``method="binning"``: Q is interpolated on a uniform voltage grid of
      ``step`` V, differentiated, and smoothed with a Savitzky–Golay filter
      (``window`` points, order 2).

    Parameters
    ----------
    data : CyclingData
    cycle : int
        Cycle number as found by :func:`segment`.
    direction : {"charge", "discharge"}
    method : {"spline", "binning"}
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
    step : float
        Voltage grid spacing of the result, V.
    trim : float
        Fraction of the half-cycle capacity cut at each end.
    smoothing : float, optional
        Spline penalty ``lam`` (see :func:`scipy.interpolate.make_smoothing_spline`).
    window : int
        Savitzky–Golay window (odd) for ``"binning"``.

    Returns
    -------
    xarray.DataArray
        Over ``voltage`` (increasing), name ``"dqdv"``, units mAh/g/V with a
        mass (else mAh/V); positive where the voltage rises with the passed
        charge (a cathode's charge), negative where it falls (a cathode's
        discharge, an anode's lithiation).

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> rec = synthetic_record(n_cycles=2, points_per_cycle=600, noise=0.0, c_rate=0.1)
    >>> d = dqdv(rec, cycle=1)
    >>> v_max = float(d.voltage[int(d.values.argmax())])  # the sharp H2->H3 peak
    >>> 4.15 < v_max < 4.25
    True
    """
    if direction not in ("charge", "discharge"):
        raise ValidationError(f"direction: expected 'charge' or 'discharge', got {direction!r}")
    if method not in ("spline", "binning"):
        raise ValidationError(f"method: expected 'spline' or 'binning', got {method!r}")
    if not step > 0:
        raise ValidationError(f"step: must be > 0 V, got {step}")
    if not 0 <= trim < 0.5:
        raise ValidationError(f"trim: must be in [0, 0.5), got {trim}")
    seg = segment(data, convention=convention)
    return _dqdv_seg(data, seg, int(cycle), direction, method, step, trim, smoothing, window)


def _dqdv_seg(data: CyclingData, seg: Segmentation, cycle: int, direction: str, method: str, step: float,
              trim: float, smoothing: float | None, window: int) -> xr.DataArray:
    q, v, qtot = _q_v(data, seg, cycle, direction, trim)
    # the voltage rises on a cathode's charge but falls on an anode's lithiation: take its trend from the data
    tail = max(1, v.size // 10)
    sgn = 1.0 if float(np.median(v[-tail:])) >= float(np.median(v[:tail])) else -1.0
    vs = v * sgn  # increasing along the half-cycle
    if method == "spline":
        nmax = 1500
        if q.size > nmax:  # bin-average to keep GCV fast
            edges = np.linspace(q[0], q[-1], nmax + 1)
            k = np.clip(np.searchsorted(edges, q, side="right") - 1, 0, nmax - 1)
            cnt = np.bincount(k, minlength=nmax)
            good = cnt > 0
            qb = (np.bincount(k, weights=q, minlength=nmax)[good] / cnt[good])
            vb = (np.bincount(k, weights=vs, minlength=nmax)[good] / cnt[good])
        else:
            qb, vb = q, vs
        if qb.size < 8:
            raise ValidationError(f"cycle {cycle}: too few distinct points for a spline")
        spl = make_smoothing_spline(qb, vb, lam=smoothing)
        qg = np.linspace(qb[0], qb[-1], 4000)
        vg = spl(qg)
        dv = spl.derivative()(qg)
        ok = dv > 0
        vg, dqdv_g = vg[ok], 1.0 / dv[ok]
        # keep the monotone part and interpolate on the voltage grid
        mono = np.concatenate(([True], np.diff(vg) > 0))
        vg, dqdv_g = vg[mono], dqdv_g[mono]
        if vg.size < 4:
            raise ValidationError(f"cycle {cycle}: the smoothed V(Q) is not monotonic")
        grid = np.arange(np.ceil(vg[0] / step) * step, vg[-1], step)
        out = np.interp(grid, vg, dqdv_g)
    else:
        vm = np.maximum.accumulate(vs)
        grid = np.arange(np.ceil(vm[0] / step) * step, vm[-1], step)
        if grid.size < max(window, 5):
            raise ValidationError(f"cycle {cycle}: voltage range {vm[-1] - vm[0]:.3g} V too small for step {step}")
        ug, first = np.unique(vm, return_index=True)
        qg = np.interp(grid, ug, q[first])
        out = np.gradient(qg, grid)
        w = window if window % 2 == 1 else window + 1
        if out.size >= w:
            out = savgol_filter(out, w, 2)
    volt = grid * sgn
    vals = out * sgn
    order = np.argsort(volt)
    units = "mAh/g/V" if data.mass else "mAh/V"
    return xr.DataArray(
        vals[order], dims=("voltage",), coords={"voltage": ("voltage", volt[order], {"units": "V"})},
        name="dqdv",
        attrs={"units": units, "cycle": cycle, "direction": direction, "method": method, "voltage_trend": sgn,
               "convention": seg.convention, "half_cycle_capacity": qtot, "trim": trim},
    )


def _peak(v: np.ndarray, y: np.ndarray, lo: float, hi: float) -> tuple[float, float, float]:
    m = (v >= lo) & (v <= hi)
    if m.sum() < 3:
        return float("nan"), float("nan"), float("nan")
    vv, yy = v[m], y[m]
    j = int(np.argmax(yy))
    pos, height = float(vv[j]), float(yy[j])
    if 0 < j < yy.size - 1:  # parabolic refinement
        y0, y1, y2 = yy[j - 1], yy[j], yy[j + 1]
        den = y0 - 2 * y1 + y2
        if den < 0:
            d = 0.5 * (y0 - y2) / den
            h = vv[j + 1] - vv[j]
            pos = float(vv[j] + d * h)
            height = float(y1 - 0.25 * (y0 - y2) * d)
    elif j in (0, yy.size - 1):
        # maximum on the window edge: no peak inside the window
        return float("nan"), float("nan"), float(np.trapezoid(yy, vv))
    area = float(np.trapezoid(yy, vv))
    return pos, height, area


def track_peaks(data: CyclingData, *, cycles: Sequence[int] | None = None, direction: str = "charge",
                method: str = "spline", windows: Mapping[str, tuple[float, float]] | None = None,
                convention: str | int = "cathode", **kw: Any) -> xr.Dataset:
    """Track the NCM phase-transition peaks of dQ/dV over cycles.

    Parameters
    ----------
    data : CyclingData
    cycles : sequence of int, optional
        Cycles to analyse (default: every cycle with the half-cycle).
    direction : {"charge", "discharge"}
    method : {"spline", "binning"}
    windows : mapping, optional
        Peak name → (low, high) voltage window; default :data:`NCM_WINDOWS`
        (H1→M, M→H2, H2→H3 on charge; the discharge peaks lie a few tens of
        mV lower, pass shifted windows if needed).
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
    **kw
        Passed to :func:`dqdv` (``step``, ``trim``, ``smoothing``, ``window``).

    Returns
    -------
    xarray.Dataset
        Over (``cycle``, ``peak``): ``position`` (V), ``height`` (absolute dQ/dV
        at the maximum), ``area`` (capacity passed within the window). A
        peak whose maximum sits on a window edge has NaN position/height.

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> rec = synthetic_record(n_cycles=3, points_per_cycle=600, noise=0.0, c_rate=0.1)
    >>> tp = track_peaks(rec)
    >>> tp.position.sel(peak="H2-H3").values.round(1).tolist()
    [4.2, 4.2, 4.2]
    """
    wins = dict(NCM_WINDOWS if windows is None else windows)
    for name, (lo, hi) in wins.items():
        if not lo < hi:
            raise ValidationError(f"windows[{name!r}]: low must be < high, got {(lo, hi)}")
    seg = segment(data, convention=convention)
    want = 1 if direction == "charge" else -1
    have = sorted(set(seg.half_cycle[seg.half_direction == want].tolist()))
    cyc = have if cycles is None else [int(c) for c in cycles]
    step = float(kw.get("step", 0.002))
    trim = float(kw.get("trim", 0.01))
    pos = np.full((len(cyc), len(wins)), np.nan)
    hei = np.full_like(pos, np.nan)
    area = np.full_like(pos, np.nan)
    for a, c in enumerate(cyc):
        d = _dqdv_seg(data, seg, c, direction, method, step, trim, kw.get("smoothing"), int(kw.get("window", 11)))
        v = d["voltage"].values
        y = np.abs(d.values)
        for b, (lo, hi) in enumerate(wins.values()):
            pos[a, b], hei[a, b], area[a, b] = _peak(v, y, lo, hi)
    units = "mAh/g/V" if data.mass else "mAh/V"
    return xr.Dataset(
        {
            "position": (("cycle", "peak"), pos, {"units": "V"}),
            "height": (("cycle", "peak"), hei, {"units": units}),
            "area": (("cycle", "peak"), area, {"units": "mAh/g" if data.mass else "mAh"}),
        },
        coords={"cycle": np.asarray(cyc, dtype=np.int64), "peak": list(wins),
                "window_low": ("peak", [w[0] for w in wins.values()]),
                "window_high": ("peak", [w[1] for w in wins.values()])},
        attrs={"direction": direction, "method": method, "convention": seg.convention},
    )
