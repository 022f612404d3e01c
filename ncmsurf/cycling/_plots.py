"""Plots of cycling records and pulse results (private; matplotlib is imported only when called).

* :func:`plot_profile`: voltage against capacity per cycle (``CyclingData.plot(kind="profile")``).
* :func:`plot_gitt`: D per pulse of a :class:`~ncmsurf.cycling.GITTResult`.
* :func:`plot_dcir`: pulse resistances of a :class:`~ncmsurf.cycling.DCIRResult`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from ncmsurf.core._plot import get_axes
from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.units import format_unit
from ncmsurf.cycling._segment import segment

__all__ = ["plot_dcir", "plot_gitt", "plot_profile", "profile_curves"]

_DIRECTIONS = ("both", "charge", "discharge")
_QUALITY_MARKERS = {"good": "o", "suspect": "^", "failed": "x"}


def profile_curves(data: CyclingData, *, cycles: Any = None, direction: str = "both",
                   convention: str | int = "cathode", specific: bool | None = None,
                   rest_current: Any = None) -> tuple[list[tuple[int, int, np.ndarray, np.ndarray]], str]:
    """The voltage–capacity curves of a record's half-cycles, as data.

    Parameters
    ----------
    data : CyclingData
    cycles : int or iterable of int, optional
        Cycles (as numbered by :func:`ncmsurf.cycling.segment`, the same numbers as
        :func:`ncmsurf.cycling.summary`) to keep; default all.
    direction : {"both", "charge", "discharge"}
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
        Which current sign is the charge.
    specific : bool, optional
        Capacity per gram of active mass (mAh/g); default: when the record has a
        mass. ``True`` without a mass raises.
    rest_current : float, optional
        Rest threshold, A (see :func:`ncmsurf.cycling.segment`).

    Returns
    -------
    (curves, unit)
        ``curves``: (cycle, direction +1/-1, capacity, voltage) per half-cycle, the
        capacity passed since the half-cycle's start (rests inside a half-cycle are
        left out); ``unit``: ``"mAh/g"`` or ``"mAh"``.

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> curves, unit = profile_curves(synthetic_record(n_cycles=3, noise=0.0), cycles=[2])
    >>> [(c, d) for c, d, _, _ in curves], unit, round(float(curves[1][2][-1]), 1)
    ([(2, 1), (2, -1)], 'mAh/g', 195.9)
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    if direction not in _DIRECTIONS:
        raise ValidationError(f"direction: expected one of {_DIRECTIONS}, got {direction!r}")
    mass = data.mass
    if specific is None:
        specific = mass is not None
    if specific and mass is None:
        raise ValidationError("specific: the record has no mass; capacity per gram needs it")
    seg = segment(data, convention=convention, rest_current=rest_current)
    available = sorted({int(c) for c in seg.half_cycle})
    if cycles is None:
        wanted = set(available)
    else:
        items = [cycles] if isinstance(cycles, (int, np.integer)) else list(cycles)
        wanted = set()
        for c in items:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)):
                raise ValidationError(f"cycles: expected cycle numbers (int), got {c!r}")
            wanted.add(int(c))
        missing = sorted(wanted - set(available))
        if missing:
            shown: list[Any] = list(available) if len(available) <= 12 else [*available[:6], "...", *available[-3:]]
            raise ValidationError(f"cycles: {missing} not in the record (cycles: {shown})")
    scale = 1.0 / 3.6 / (mass if specific and mass else 1.0)  # A s -> mAh (per g)
    unit = "mAh/g" if specific else "mAh"
    v = data.voltage
    dq = seg.interval_charge
    out: list[tuple[int, int, np.ndarray, np.ndarray]] = []
    for h in range(seg.n_half_cycles):
        cyc = int(seg.half_cycle[h])
        dirn = int(seg.half_direction[h])
        if cyc not in wanted or (direction == "charge" and dirn < 0) or (direction == "discharge" and dirn > 0):
            continue
        a, b = int(seg.half_start[h]), int(seg.half_stop[h])
        idx = np.arange(a, b + 1)
        on = seg.state[idx] != 0
        q = np.concatenate(([0.0], np.cumsum(dq[a:b] * dirn))) * scale
        out.append((cyc, dirn, q[on], v[idx][on]))
    return out, unit


def plot_profile(data: CyclingData, ax: Any = None, *, cycles: Any = None, direction: str = "both",
                 convention: str | int = "cathode", specific: bool | None = None, cmap: str = "viridis",
                 rest_current: Any = None, legend: bool | None = None, **kw: Any) -> Any:
    """Voltage against capacity, one curve per half-cycle, coloured by cycle.

    Charge curves are solid, discharge curves dashed; the capacity axis is in mAh/g
    when the record has a mass (else mAh). With more than eight cycles a colour bar
    replaces the legend. Further keywords go to ``Axes.plot``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> from ncmsurf.datasets.cycling import synthetic_record
    >>> ax = plot_profile(synthetic_record(n_cycles=4, noise=0.0), cycles=[1, 4])
    >>> ax.get_xlabel(), len(ax.lines)
    ('Capacity (mAh/g)', 4)
    """
    curves, unit = profile_curves(data, cycles=cycles, direction=direction, convention=convention,
                                  specific=specific, rest_current=rest_current)
    ax = get_axes(ax)
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    cyc_list = sorted({c for c, _, _, _ in curves})
    cm = colormaps[cmap]
    norm = Normalize(vmin=min(cyc_list, default=0), vmax=max(max(cyc_list, default=1), min(cyc_list, default=0) + 1))
    many = len(cyc_list) > 8
    show_legend = (not many) if legend is None else legend
    labelled: set[int] = set()
    for cyc, dirn, q, volt in curves:
        colour = cm(norm(cyc)) if len(cyc_list) > 1 else cm(0.2)
        label = None
        if show_legend and cyc not in labelled:
            label = f"cycle {cyc}"
            labelled.add(cyc)
        ax.plot(q, volt, linestyle="-" if dirn > 0 else "--", color=colour, label=label, **kw)
    ax.set_xlabel(f"Capacity ({format_unit(unit)})")
    ax.set_ylabel(f"Voltage ({format_unit('V')})")
    if show_legend and labelled:
        ax.legend(fontsize="small", title="solid: charge, dashed: discharge", title_fontsize="small")
    elif many:
        from matplotlib.cm import ScalarMappable

        sm = ScalarMappable(norm=norm, cmap=cm)
        ax.figure.colorbar(sm, ax=ax, label="cycle")
    if data.sample is not None:
        ax.set_title(data.sample.label)
    return ax


def _column(result: Any, x: str) -> tuple[np.ndarray, str]:
    tb = result.table
    if x not in tb:
        cols = sorted(str(k) for k in tb.data_vars if tb[k].dims == ("pulse",))
        raise ValidationError(f"x: {x!r} is not a column of the result's table (columns: {cols})")
    unit = str(tb[x].attrs.get("units", ""))
    return np.asarray(tb[x].values, dtype=float), unit


def _label(name: str, unit: str) -> str:
    u = format_unit(unit)
    return f"{name.replace('_', ' ').capitalize()}" + (f" ({u})" if u else "")


def plot_gitt(result: Any, ax: Any = None, *, x: str = "capacity", **kw: Any) -> Any:
    """D per pulse on a log axis against a table column, with error bars, marked by each pulse's verdict.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_gitt
    >>> from ncmsurf.cycling import gitt
    >>> rec = synthetic_gitt(n_pulses=2, geometry="planar", radius=2000.0)
    >>> tr = rec.meta["truth"]
    >>> ax = gitt(rec, molar_volume=20.5, area=tr["area_cm2"], molar_mass=97.28, geometry="planar").plot()
    >>> ax.get_yscale(), ax.get_ylabel()
    ('log', 'D (cm²/s)')
    """
    ax = get_axes(ax)
    xs, xunit = _column(result, x)
    d = result.diffusivity
    se = result.diffusivity_stderr
    levels = [str(q) for q in result.table["quality"].values]
    _marked(ax, xs, d, se, levels, **kw)
    ax.set_yscale("log")
    ax.set_xlabel(_label(x, xunit))
    ax.set_ylabel(f"D ({format_unit('cm**2/s')})")
    return ax


def _marked(ax: Any, xs: np.ndarray, ys: np.ndarray, es: np.ndarray, levels: Iterable[str], **kw: Any) -> None:
    lv = np.asarray(list(levels))
    colour = kw.pop("color", None)
    base = None
    for level, marker in _QUALITY_MARKERS.items():
        m = (lv == level) & np.isfinite(ys)
        if not m.any():
            continue
        err = np.where(np.isfinite(es[m]), es[m], 0.0)
        cont = ax.errorbar(xs[m], ys[m], yerr=err, fmt=marker, linestyle="none", label=level,
                           color=colour if colour is not None else base, **kw)
        if base is None and colour is None:
            base = cont.lines[0].get_color()
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small", title="verdict", title_fontsize="small")


def plot_dcir(result: Any, ax: Any = None, *, delay: float | None = None, x: str = "capacity", **kw: Any) -> Any:
    """Pulse resistance (mΩ) against a table column; one series per delay (or only ``delay``) and direction.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_hppc
    >>> from ncmsurf.cycling import dcir
    >>> ax = dcir(synthetic_hppc(n_blocks=2)).plot(delay=10.0)
    >>> ax.get_ylabel()
    'R (mΩ)'
    """
    ax = get_axes(ax)
    xs, xunit = _column(result, x)
    delays = result.delays
    if delay is not None:
        hit = np.flatnonzero(np.isclose(delays, float(delay)))
        if hit.size == 0:
            raise ValidationError(f"delay: {delay} s is not one of the result's delays {delays.tolist()}")
        cols = [int(hit[0])]
    else:
        cols = list(range(delays.size))
    r = result.resistance * 1e3
    direction = np.asarray(result.table["direction"].values)
    for c in cols:
        for dirn, name, marker in ((1, "charge", "^"), (-1, "discharge", "v")):
            m = (direction == dirn) & np.isfinite(r[:, c])
            if m.any():
                ax.plot(xs[m], r[m, c], marker=marker, linestyle="none", label=f"{name}, {delays[c]:g} s", **kw)
    ax.set_xlabel(_label(x, xunit))
    ax.set_ylabel(f"R ({format_unit('mohm')})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return ax
