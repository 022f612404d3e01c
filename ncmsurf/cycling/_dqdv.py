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
         smoothing: float | None = None, window: int = 11, resolution: float = 0.02) -> xr.DataArray:
    """Differential capacity dQ/dV of one half-cycle (CC part only).

    Rests and the CV tail are removed, the first and last ``trim`` of the
    capacity (IR step and cut-off hook) are cut, then:

    - ``method="spline"`` (default): the capacity passed below each voltage,
      Q(V) (records sorted by voltage, so voltage noise cannot make it
      non-monotonic), on a 1 mV grid, is fitted by a cubic smoothing spline
      and differentiated. The smoothing is chosen from the noise: the
      voltage noise σ_V is estimated from second differences of the
      record, and the spline penalty is set so that its equivalent kernel
      bandwidth (B. W. Silverman, Ann. Stat. 12, 898 (1984): h = (λ·Δ)^¼ on a
      grid of step Δ) is ``h = max(3 mV, 2·(w²·σ_V/√ρ)^(2/7))``, with ρ the
      records per volt and ``w = resolution`` the narrowest feature to keep
      (20 mV, the H2→H3 peak of Ni-rich NCM). This is the width at which
      noise-driven maxima at a peak top become smaller than the peak's own
      curvature, so single peaks are not split (a generalised
      cross-validation spline of V(Q) splits them); ``smoothing`` sets λ
      directly;
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
    resolution : float
        Narrowest dQ/dV feature to keep with ``"spline"``, V (sets the
        smoothing together with the noise; see above).

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
    >>> h3 = d.sel(voltage=slice(4.1, 4.28))
    >>> v_max = float(h3.voltage[int(h3.values.argmax())])  # the sharp H2->H3 peak (generator: 4.19 V + 3 mV)
    >>> 4.17 < v_max < 4.21
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
    return _dqdv_seg(data, seg, int(cycle), direction, method, step, trim, smoothing, window, resolution)


def _spline_ecdf(q: np.ndarray, vs: np.ndarray, smoothing: float | None,
                 resolution: float) -> tuple[np.ndarray, np.ndarray, float]:
    """dQ/dV from a smoothing spline of Q(V) with its penalty chosen from the voltage noise."""
    d2 = vs[2:] - 2 * vs[1:-1] + vs[:-2]
    sig = float(np.median(np.abs(d2 - np.median(d2))) / 0.6745 / np.sqrt(6.0)) if d2.size else 0.0
    dq = np.diff(q, prepend=q[0])
    dq[0] = dq[1] if dq.size > 1 else 0.0
    o = np.argsort(vs, kind="stable")
    vsort = vs[o]
    qsort = np.cumsum(dq[o])
    vsort, ui = np.unique(vsort, return_index=True)
    qsort = qsort[ui]
    span = float(vsort[-1] - vsort[0])
    if vsort.size < 8 or not span > 0:
        raise ValidationError("dqdv: too few distinct voltages for a spline")
    rho = q.size / span
    h = max(0.003, 2.0 * (resolution**2 * max(sig, 1e-6) / np.sqrt(rho)) ** (2.0 / 7.0))
    b = 0.001
    grid = np.arange(np.ceil(vsort[0] / b) * b, vsort[-1], b)
    if grid.size < 8:
        raise ValidationError("dqdv: voltage range too small for a spline")
    qg = np.interp(grid, vsort, qsort)
    lam = h**4 / b if smoothing is None else float(smoothing)
    spl = make_smoothing_spline(grid, qg, lam=lam)
    return grid, spl.derivative()(grid), h


def _dqdv_seg(data: CyclingData, seg: Segmentation, cycle: int, direction: str, method: str, step: float,
              trim: float, smoothing: float | None, window: int, resolution: float = 0.02) -> xr.DataArray:
    q, v, qtot = _q_v(data, seg, cycle, direction, trim)
    # the voltage rises on a cathode's charge but falls on an anode's lithiation: take its trend from the data
    tail = max(1, v.size // 10)
    sgn = 1.0 if float(np.median(v[-tail:])) >= float(np.median(v[:tail])) else -1.0
    vs = v * sgn  # increasing along the half-cycle
    bandwidth = float("nan")
    if method == "spline":
        vg, dqdv_g, bandwidth = _spline_ecdf(q, vs, smoothing, resolution)
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
               "convention": seg.convention, "half_cycle_capacity": qtot, "trim": trim,
               "smoothing_bandwidth": bandwidth},
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
        d = _dqdv_seg(data, seg, c, direction, method, step, trim, kw.get("smoothing"), int(kw.get("window", 11)),
                      float(kw.get("resolution", 0.02)))
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
