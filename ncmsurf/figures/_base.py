"""What every figure shares: styles, the palette, sample selection, unit and rate labels, verdict marks.

matplotlib is imported only inside the functions (the ``plot`` extra).
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.results import FitResult, Quality
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import format_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from ncmsurf.study import Study

__all__ = ["OKABE_ITO", "ROUTE_COLORS", "STYLES", "StyleArg", "Verdict", "axis_label", "figure_notes", "rate_label",
           "sample_color", "select_samples", "state_label", "verdict"]

#: Okabe & Ito's colour-blind-safe palette (Color Universal Design).
OKABE_ITO: dict[str, str] = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}

#: Route colours, the same in every figure: pristine black, A blue, F vermillion; other routes next.
ROUTE_COLORS: dict[str, str] = {"P": OKABE_ITO["black"], "A": OKABE_ITO["blue"], "F": OKABE_ITO["vermillion"]}
_EXTRA_ROUTE = [OKABE_ITO["bluish green"], OKABE_ITO["reddish purple"], OKABE_ITO["orange"], OKABE_ITO["sky blue"]]

#: Publication styles (matplotlib rcParams); ``style=`` also takes a dict or a matplotlib style name.
STYLES: dict[str, dict[str, Any]] = {
    "paper": {
        "font.size": 8.0, "axes.titlesize": 8.0, "axes.labelsize": 8.0, "xtick.labelsize": 7.0,
        "ytick.labelsize": 7.0, "legend.fontsize": 6.5, "legend.frameon": False, "lines.linewidth": 1.0,
        "lines.markersize": 3.0, "axes.linewidth": 0.7, "xtick.direction": "in", "ytick.direction": "in",
        "xtick.top": True, "ytick.right": True, "xtick.major.width": 0.7, "ytick.major.width": 0.7,
        "savefig.dpi": 300, "figure.dpi": 100, "pdf.fonttype": 42, "svg.fonttype": "none",
        "axes.spines.top": True, "axes.spines.right": True, "mathtext.default": "regular",
    },
    "presentation": {
        "font.size": 12.0, "axes.titlesize": 12.0, "axes.labelsize": 12.0, "xtick.labelsize": 10.0,
        "ytick.labelsize": 10.0, "legend.fontsize": 9.0, "legend.frameon": False, "lines.linewidth": 1.6,
        "lines.markersize": 4.5, "axes.linewidth": 1.0, "savefig.dpi": 300, "pdf.fonttype": 42,
        "svg.fonttype": "none", "mathtext.default": "regular",
    },
    "default": {"savefig.dpi": 300},
}

#: Width of one figure unit per style, inches (a journal column is 3.35 in; slides are wider).
_PANEL = {"paper": (2.4, 1.9), "presentation": (4.0, 3.0), "default": (3.6, 2.8)}


# ------------------------------------------------------------------------ matplotlib
def _mpl() -> Any:
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise NcmsurfError("figures need matplotlib: pip install 'ncmsurf[plot]'") from exc
    return matplotlib


StyleArg = str | Mapping[str, Any] | None
"""A figure style: a name in :data:`STYLES`, a matplotlib style name, or an rcParams dict."""


@contextlib.contextmanager
def style_context(style: StyleArg) -> Iterator[tuple[float, float]]:
    """Apply a style while a figure is built; yields the panel size (in) of that style."""
    mpl = _mpl()
    if style is None:
        style = "paper"
    if isinstance(style, Mapping):
        with mpl.rc_context(dict(STYLES["paper"]) | dict(style)):
            yield _PANEL["paper"]
        return
    if style in STYLES:
        with mpl.rc_context(STYLES[style]):
            yield _PANEL[style]
        return
    import matplotlib.style as mstyle

    if style not in mstyle.available and not str(style).endswith(".mplstyle"):
        raise ValidationError(f"style: {style!r} is neither one of {sorted(STYLES)} nor a matplotlib style")
    with mstyle.context(style), mpl.rc_context({"savefig.dpi": 300}):
        yield _PANEL["default"]


def new_figure(nrows: int, ncols: int, size: tuple[float, float], *, width: float | None = None,
               height: float | None = None, **kw: Any) -> tuple[Figure, np.ndarray]:
    """A Figure not attached to pyplot, with constrained layout, and its axes as a 2-D array."""
    _mpl()
    from matplotlib.figure import Figure

    w = width if width is not None else size[0] * ncols
    h = height if height is not None else size[1] * nrows
    fig = Figure(figsize=(w, h), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    fig.ncmsurf_notes = []  # type: ignore[attr-defined]
    return fig, axes


def figure_notes(fig: Any) -> list[str]:
    """The notes a figure function left on its figure (samples dropped and why, verdicts).

    Examples
    --------
    >>> figure_notes(object())
    []
    """
    return list(getattr(fig, "ncmsurf_notes", []))


def note(fig: Any, text: str) -> None:
    """Record a note on the figure (shown by :func:`finish`)."""
    notes = getattr(fig, "ncmsurf_notes", None)
    if notes is not None and text not in notes:
        notes.append(text)


def finish(fig: Any, *, show_notes: bool = True) -> Any:
    """Write the figure's notes under it (small, grey); returns the figure."""
    notes = figure_notes(fig)
    if show_notes and notes:
        width = max(40, int(fig.get_size_inches()[0] * 20))  # characters of x-small text across the figure
        text = "\n".join(_wrap(n, width) for n in notes[:6])
        if len(notes) > 6:
            text += f"\n(+{len(notes) - 6} more notes)"
        fig.supxlabel(text, fontsize="x-small", color="0.35", ha="left", x=0.01)
    return fig


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


# ----------------------------------------------------------------------- selection
def _cycle_state(x: Any, present: Sequence[int]) -> list[int]:
    if isinstance(x, str):
        key = x.strip().lower()
        if key in ("fresh", "as made", "pristine", "0"):
            return [0]
        if key in ("cycled", "after cycling"):
            return [c for c in present if c > 0][-1:] or []
        if key == "all":
            return list(present)
        try:
            return [int(key)]
        except ValueError as exc:
            raise ValidationError(f"states: {x!r} is not a cycle state ('fresh', 'cycled', 'all' or a number)") \
                from exc
    return [int(x)]


def parse_states(states: Any, present: Sequence[int]) -> list[int]:
    """Cycle states from ``None`` (all present), ``"fresh"``, ``"cycled"``, an int or a list of those.

    Examples
    --------
    >>> parse_states(None, [0, 100]), parse_states("cycled", [0, 100]), parse_states([0, "cycled"], [0, 100])
    ([0, 100], [100], [0, 100])
    """
    present = sorted(set(int(c) for c in present))
    if states is None:
        return present
    items = [states] if isinstance(states, (str, int)) else list(states)
    out: list[int] = []
    for x in items:
        for c in _cycle_state(x, present):
            if c not in out:
                out.append(c)
    return out


def _as_sample(x: Sample | str) -> Sample:
    return x if isinstance(x, Sample) else Sample.parse(str(x))


def select_samples(available: Iterable[Sample], samples: Sequence[Sample | str] | str | None,
                   states: Any = None) -> list[Sample]:
    """The samples to show, in study order.

    ``samples`` names samples by label; a label without a cycle state
    (``"A(3)-NCM"``) stands for that sample in every chosen state.

    Examples
    --------
    >>> avail = [Sample.parse(x) for x in ("P-NCM", "A(3)-NCM", "A(3)-NCM@100", "F(3)-NCM@100")]
    >>> [s.label for s in select_samples(avail, ["A(3)-NCM"], None)]
    ['A(3)-NCM', 'A(3)-NCM@100']
    >>> [s.label for s in select_samples(avail, None, "cycled")]
    ['A(3)-NCM@100', 'F(3)-NCM@100']
    """
    avail = sorted(set(available))
    chosen_states = parse_states(states, [s.cycles for s in avail])
    if samples is None:
        return [s for s in avail if s.cycles in chosen_states]
    wanted = [samples] if isinstance(samples, (str, Sample)) else list(samples)
    out: list[Sample] = []
    for w in wanted:
        text = str(w)
        explicit = isinstance(w, Sample) or "@" in text or "cycle" in text
        s = _as_sample(w)
        if explicit:
            hits = [x for x in avail if x == s]
        else:
            hits = [x for x in avail if x.method == s.method and x.n == s.n and x.cathode == s.cathode
                    and x.cycles in chosen_states]
        for h in hits:
            if h not in out:
                out.append(h)
    return sorted(out)


def base_label(s: Sample) -> str:
    """The label without the cycle state (``"A(3)-NCM@100"`` → ``"A(3)-NCM"``)."""
    return Sample(s.method, s.n, s.cathode, 0).label


def state_label(cycles: int) -> str:
    """``"fresh"`` or ``"after 100 cycles"``.

    Examples
    --------
    >>> state_label(0), state_label(100)
    ('fresh', 'after 100 cycles')
    """
    return "fresh" if cycles == 0 else f"after {cycles} cycles"


# --------------------------------------------------------------------------- colours
def sample_color(sample: Sample, samples: Iterable[Sample] = ()) -> Any:
    """The colour of a sample: its route's colour, lighter for smaller n among ``samples``.

    The same sample gets the same colour in every figure of a study.

    Examples
    --------
    >>> sample_color(Sample.parse("P-NCM"))
    '#000000'
    """
    base = ROUTE_COLORS.get(sample.method)
    if base is None:
        codes = sorted({s.method for s in samples} | {sample.method})
        others = [c for c in codes if c not in ROUTE_COLORS]
        base = _EXTRA_ROUTE[others.index(sample.method) % len(_EXTRA_ROUTE)]
    if sample.n is None:
        return base
    ns_ = sorted({s.n_minutes for s in samples if s.method == sample.method and s.n is not None}
                 | {sample.n_minutes})
    if len(ns_) == 1:
        return base
    k = ns_.index(sample.n_minutes)
    from matplotlib.colors import to_rgb

    rgb = np.array(to_rgb(base))
    mix = 0.55 * (1.0 - k / (len(ns_) - 1))  # the largest n in the full colour, the smallest lighter
    return tuple(float(c) for c in rgb + (1.0 - rgb) * mix)


STATE_LINESTYLES = {0: "-", 1: "--", 2: ":", 3: "-."}


def state_linestyle(cycles: int, states: Sequence[int]) -> str:
    """Fresh solid, the first cycled state dashed, then dotted."""
    order = sorted(set(states))
    return STATE_LINESTYLES.get(order.index(cycles) if cycles in order else 2, ":")


# ---------------------------------------------------------------------------- labels
def unit_text(unit: str) -> str:
    """A unit for an axis label: ``Ω·cm²``, ``mAh g⁻¹``, ``µF cm⁻²``.

    Examples
    --------
    >>> unit_text("ohm*cm**2"), unit_text("mAh/g"), unit_text("uF/cm**2"), unit_text("1")
    ('Ω·cm²', 'mAh g⁻¹', 'µF cm⁻²', '')
    """
    return format_unit(str(unit), style="si")


def axis_label(quantity: str, unit: str | None) -> str:
    """``"Capacity (mAh g⁻¹)"``; no parentheses for a dimensionless quantity.

    Examples
    --------
    >>> axis_label("Capacity", "mAh/g"), axis_label("Ni²⁺ share", "1")
    ('Capacity (mAh g⁻¹)', 'Ni²⁺ share')
    """
    u = unit_text(unit) if unit else ""
    return f"{quantity} ({u})" if u else quantity


def rate_label(c_rate: float) -> str:
    """A C-rate as people write it: ``0.0974998`` → ``"0.1C"``, ``4.87499`` → ``"5C"``, 1/3 → ``"C/3"``.

    Uses the package's C-rate rule (:func:`ncmsurf.cycling.nominal_c_rate`).

    Examples
    --------
    >>> rate_label(0.0974998), rate_label(4.87499), rate_label(0.333), rate_label(0.7)
    ('0.1C', '5C', 'C/3', '0.7C')
    """
    if not math.isfinite(c_rate) or c_rate <= 0:
        return "?C"
    from ncmsurf.cycling import nominal_c_rate

    r = float(nominal_c_rate(float(c_rate)))
    if abs(3.0 * r - 1.0) < 0.02:
        return "C/3"
    return f"{r:.3g}C"


def integer_ticks(axis: Any) -> None:
    """Integer tick positions only (cycle numbers)."""
    from matplotlib.ticker import MaxNLocator

    axis.set_major_locator(MaxNLocator(integer=True, nbins="auto", min_n_ticks=3))


# --------------------------------------------------------------------------- verdicts
@dataclass(frozen=True)
class Verdict:
    """A result's verdict as figures show it.

    Attributes
    ----------
    level : str
        ``"good"``, ``"suspect"``, ``"failed"`` (or ``"none"``: no result).
    reasons : list of str
        The reasons' messages.
    """

    level: str
    reasons: list[str] = field(default_factory=list)

    @property
    def good(self) -> bool:
        """Whether the result is drawn as a good one."""
        return self.level == "good"

    def text(self, limit: int = 90) -> str:
        """``"suspect: Ni3+.fwhm at its bound"`` (shortened to ``limit`` characters)."""
        if self.level in ("good", "none"):
            return ""
        why = "; ".join(self.reasons) or "no reason given"
        t = f"{self.level}: {why}"
        return t if len(t) <= limit else t[:limit - 1] + "…"

    def line_kw(self) -> dict[str, Any]:
        """Line style of a fitted curve: solid (good), dashed (suspect), dotted and faded (failed)."""
        if self.level == "suspect":
            return {"ls": (0, (4, 2)), "color": OKABE_ITO["orange"]}
        if self.level == "failed":
            return {"ls": ":", "color": "#B00000", "alpha": 0.8}
        return {"ls": "-"}

    def fill_kw(self) -> dict[str, Any]:
        """Fill of a fitted component: plain (good), hatched (suspect, failed)."""
        if self.level == "suspect":
            return {"hatch": "////", "alpha": 0.25}
        if self.level == "failed":
            return {"hatch": "xxxx", "alpha": 0.15}
        return {"alpha": 0.35}


def verdict(result: Any) -> Verdict:
    """The verdict of a result: its :class:`~ncmsurf.Quality`; a result without one is failed when ``success`` is False.

    Examples
    --------
    >>> verdict(None).level
    'none'
    """
    if result is None:
        return Verdict("none")
    q = result.quality if isinstance(result, FitResult) else getattr(result, "quality", None)
    ok = getattr(result, "success", True)
    if isinstance(q, Quality):
        reasons = [f"{r.message}" if r.message else r.code for r in q.reasons]
        if ok is False and q.level != "failed":  # a failed optimiser is a failed fit, whatever else was said
            msg = str(getattr(result, "message", "") or "the fit did not converge")
            return Verdict("failed", [msg, *reasons])
        return Verdict(q.level, reasons)
    if ok is False:
        msg = str(getattr(result, "message", "") or "the fit did not converge")
        return Verdict("failed", [msg])
    warns = [str(w) for w in (getattr(result, "warnings", None) or [])]
    return Verdict("suspect", warns) if warns else Verdict("good")


def mark_verdict(ax: Axes, v: Verdict, *, prefix: str = "", loc: str = "upper left", y: float | None = None,
                 short: bool = False) -> None:
    """Write a suspect/failed verdict in the panel, in a coloured box; good results get no mark.

    ``short``: one line with the first reason (all reasons go to the figure's notes).
    """
    if v.level in ("good", "none"):
        return
    color = OKABE_ITO["orange"] if v.level == "suspect" else "#B00000"
    if short:
        first = v.reasons[0] if v.reasons else "no reason given"
        more = f" (+{len(v.reasons) - 1})" if len(v.reasons) > 1 else ""
        body = f"{v.level}: {first}"
        body = (body if len(body) <= 30 else body[:29] + "…") + more
        text = (prefix + "\n" if prefix else "") + body
        x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
        ax.text(x, y if y is not None else 0.97, text, transform=ax.transAxes, ha=ha, va="top", fontsize=5.5,
                color=color, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": color, "lw": 0.5,
                                   "alpha": 0.85}, zorder=10)
        return
    text = (prefix + " " if prefix else "") + v.text(70)
    x, ha = (0.02, "left") if "left" in loc else (0.98, "right")
    yy = y if y is not None else (0.97 if "upper" in loc else 0.03)
    va = "top" if "upper" in loc else "bottom"
    ax.text(x, yy, _wrap(text, 38), transform=ax.transAxes, ha=ha, va=va, fontsize="x-small", color=color,
            bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": color, "lw": 0.6, "alpha": 0.9}, zorder=10)


# --------------------------------------------------------------------------- sources
def is_study(x: Any) -> bool:
    """Whether ``x`` is a :class:`ncmsurf.Study` (without importing the study layer eagerly)."""
    from ncmsurf.study import Study

    return isinstance(x, Study)


def study_samples(study: Study, kind: str | None = None) -> list[Sample]:
    """The samples of a study that have measurements of ``kind``."""
    return [s for s in study.samples if kind is None or study.measurements(s, kind)]


def as_list(x: Any) -> list[Any]:
    """A single object or a sequence as a list."""
    if x is None:
        return []
    if isinstance(x, (list, tuple)):
        return list(x)
    return [x]
