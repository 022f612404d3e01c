"""Saving figures, checking their layout, and the supplementary-figure set of a study."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import base_label, figure_notes

__all__ = ["SI_FIGURES", "SIFigure", "SupplementarySet", "check_layout", "save", "supplementary"]

FORMATS = ("pdf", "svg", "png")


def save(fig: Any, stem: str | os.PathLike[str], formats: Sequence[str] | str = FORMATS, dpi: int = 300) -> list[Path]:
    """Write a figure as PDF, SVG and PNG (or the formats given).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    stem : str or path-like
        Path without suffix (``out/S4_nyquist`` → ``out/S4_nyquist.pdf`` ...);
        the folder is created.
    formats : sequence of str or str
        Any of ``"pdf"``, ``"svg"``, ``"png"``, ``"eps"``, ``"tiff"``
        (a comma-separated string works too).
    dpi : int
        Resolution of raster formats (at least 300 for print; stored in the PNG).

    Returns
    -------
    list of pathlib.Path

    Examples
    --------
    >>> import tempfile, pathlib, numpy as np, ncmsurf as ns
    >>> fig = ns.figures.tem((np.zeros((8, 8)), 1.0), measure=False)
    >>> [p.suffix for p in save(fig, pathlib.Path(tempfile.mkdtemp()) / "x")]
    ['.pdf', '.svg', '.png']
    """
    fmts = [f.strip().lower().lstrip(".") for f in (formats.split(",") if isinstance(formats, str) else formats)]
    bad = [f for f in fmts if f not in ("pdf", "svg", "png", "eps", "tiff", "tif", "jpg", "jpeg")]
    if bad or not fmts:
        raise ValidationError(f"formats: unknown figure format(s) {bad or fmts}; use pdf, svg, png, eps or tiff")
    if dpi < 72:
        raise ValidationError(f"dpi: at least 72, got {dpi}")
    base = Path(stem)
    base.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for f in fmts:
        p = base.with_name(base.name + "." + f)
        meta = {"Creator": "ncmsurf"} if f in ("pdf", "svg", "png") else None
        fig.savefig(p, format=f, dpi=dpi, metadata=meta)
        out.append(p)
    return out


def _text_artists(fig: Any) -> list[tuple[str, Any]]:
    """Every visible, non-empty text of a figure with a name for messages."""
    from matplotlib.legend import Legend
    from matplotlib.text import Text

    out: list[tuple[str, Any]] = []
    seen: set[int] = set()
    for ax_i, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        named = [(f"axes {ax_i} xlabel", ax.xaxis.label), (f"axes {ax_i} ylabel", ax.yaxis.label),
                 (f"axes {ax_i} title", ax.title), (f"axes {ax_i} left title", ax._left_title),
                 (f"axes {ax_i} right title", ax._right_title)]
        for axis, nm in ((ax.xaxis, "x"), (ax.yaxis, "y")):
            lo, hi = sorted(axis.get_view_interval())
            tol = 1e-9 * max(abs(lo), abs(hi), 1.0)
            for k, (loc, t) in enumerate(zip(axis.get_majorticklocs(), axis.get_majorticklabels())):
                if lo - tol <= loc <= hi + tol:  # ticks outside the view are not drawn
                    named.append((f"axes {ax_i} {nm}tick {k} {t.get_text()!r}", t))
            named.append((f"axes {ax_i} {nm} offset text", axis.get_offset_text()))
        for t in ax.texts:
            named.append((f"axes {ax_i} text {t.get_text()[:30]!r}", t))
        for ch in ax.get_children():
            if isinstance(ch, Legend) and ch.get_visible():
                named.append((f"axes {ax_i} legend", ch))
        for nm, t in named:
            if id(t) in seen:
                continue
            seen.add(id(t))
            out.append((nm, t))
    for nm, attr in (("suptitle", "_suptitle"), ("supxlabel", "_supxlabel"), ("supylabel", "_supylabel")):
        t = getattr(fig, attr, None)
        if t is not None and id(t) not in seen:
            seen.add(id(t))
            out.append((nm, t))
    for t in fig.texts:
        if id(t) not in seen:
            seen.add(id(t))
            out.append((f"figure text {t.get_text()[:30]!r}", t))
    for lg in fig.legends:
        out.append(("figure legend", lg))
    keep = []
    for nm, t in out:
        if not t.get_visible():
            continue
        if isinstance(t, Text) and not t.get_text().strip():
            continue
        keep.append((nm, t))
    return keep


def check_layout(fig: Any, *, tolerance: float = 0.5) -> list[str]:
    """Texts of a figure that overlap an axis label (or each other) or run past its edge, from matplotlib's boxes.

    Every axis label, title, tick label, legend, panel text and figure text
    is laid out as it will be saved; a pair whose boxes intersect by more
    than ``tolerance`` pixels on both axes is reported when one of the two
    is an axis label, a title or a legend (two texts inside one panel may
    share space with the data by design, but not with the labels). Tick
    labels of one axis are also checked against each other.

    Returns
    -------
    list of str
        ``"<a> overlaps <b>"`` for each overlapping pair and ``"<a> is cut at
        the figure's edge"``; empty when clean.

    Examples
    --------
    >>> import numpy as np, ncmsurf as ns
    >>> check_layout(ns.figures.tem((np.zeros((8, 8)), 1.0), measure=False))
    []
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if fig.canvas is None or not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    boxes = []
    for nm, t in _text_artists(fig):
        try:
            bb = t.get_window_extent(renderer)
        except (RuntimeError, ValueError):
            continue
        if bb.width <= 0 or bb.height <= 0:
            continue
        boxes.append((nm, bb))

    def strong(name: str) -> bool:
        return any(k in name for k in ("xlabel", "ylabel", "title", "legend", "supxlabel", "supylabel",
                                       "suptitle", "offset text"))

    def same_axis_ticks(a: str, b: str) -> bool:
        pa, pb = a.split(" "), b.split(" ")
        return len(pa) > 2 and len(pb) > 2 and pa[:3] == pb[:3] and pa[2].endswith("tick")

    problems = []
    width, height = fig.canvas.get_width_height()
    for nm, bb in boxes:  # a text that runs past the figure's edge is cut in every saved file
        if bb.x0 < -tolerance or bb.y0 < -tolerance or bb.x1 > width + tolerance or bb.y1 > height + tolerance:
            problems.append(f"{nm} is cut at the figure's edge")
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            (na, a), (nb, b) = boxes[i], boxes[j]
            if not (strong(na) or strong(nb) or same_axis_ticks(na, nb)):
                continue
            dx = min(a.x1, b.x1) - max(a.x0, b.x0)
            dy = min(a.y1, b.y1) - max(a.y0, b.y0)
            if dx > tolerance and dy > tolerance:
                problems.append(f"{na} overlaps {nb}")
    return problems


# --------------------------------------------------------------------- the SI set
@dataclass(frozen=True)
class SIFigure:
    """One figure of the supplementary set.

    Attributes
    ----------
    key : str
        File stem, e.g. ``"S4_nyquist"``.
    caption : str
    make : callable
        ``make(study, samples, style)`` → Figure.
    kinds : tuple of str
        Measurement kinds it needs.
    """

    key: str
    caption: str
    make: Callable[..., Any]
    kinds: tuple[str, ...]


def _pick(study: Any, kind: str, prefer: Sequence[str], samples: Sequence[str] | None) -> list[str]:
    """Sample labels (without state) for a figure: the user's choice, else the preferred ones present, else all."""
    with_kind = {s for s in study.samples if study.measurements(s, kind)}
    if kind == "tem" and isinstance(study.manifest_extra.get("images"), list):
        with_kind |= {Sample.parse(str(e["sample"])) for e in study.manifest_extra["images"]
                      if isinstance(e, dict) and "sample" in e}
    have: list[str] = []
    for s in sorted(with_kind):
        if base_label(s) not in have:
            have.append(base_label(s))
    if samples is not None:
        wanted = [base_label(Sample.parse(str(x))) for x in samples]
        return [x for x in have if x in wanted]
    chosen = [x for x in have if any(x.startswith(p) for p in prefer)]
    return chosen or have


def _routes_at(study: Any, kind: str, which: str, samples: Sequence[str] | None) -> list[str]:
    """The coated samples of each route at its smallest (``"low"``) or largest n, for the S5/S6 figures."""
    labels = _pick(study, kind, (), samples)
    parsed = [Sample.parse(x) for x in labels]
    out = []
    for route in sorted({s.method for s in parsed if s.coated}):
        ns_ = sorted({s.n_minutes for s in parsed if s.method == route and s.coated})
        if not ns_:
            continue
        target = ns_[0] if which == "low" else ns_[-1]
        out += [s.label for s in parsed if s.method == route and s.n_minutes == target]
    return out or labels


def _make_eds(st: Any, smp: Any, style: Any) -> Any:
    import ncmsurf.figures as nf

    return nf.eds_maps(st, _pick(st, "eds", ("A(3)", "F(3)"), smp), "fresh", style=style)


def _make_xps(regions: Sequence[str], states: Any) -> Callable[..., Any]:
    def make(st: Any, smp: Any, style: Any) -> Any:
        import ncmsurf.figures as nf

        return nf.xps_panels(st, list(regions), _pick(st, "xps", ("P-", "A(3)", "F(3)"), smp), states, style=style)

    return make


def _make_nyquist(st: Any, smp: Any, style: Any) -> Any:
    import ncmsurf.figures as nf

    return nf.nyquist(st, _pick(st, "eis", (), smp), style=style)


def _make_rate(which: str) -> Callable[..., Any]:
    def make(st: Any, smp: Any, style: Any) -> Any:
        import ncmsurf.figures as nf

        return nf.rate_eis_cycling(st, _routes_at(st, "cycling", which, smp), style=style)

    return make


def _make_tem(st: Any, smp: Any, style: Any) -> Any:
    import ncmsurf.figures as nf

    return nf.tem(st, _pick(st, "tem", ("A(3)", "F(3)"), smp), style=style)


def _make_sims(st: Any, smp: Any, style: Any) -> Any:
    import ncmsurf.figures as nf

    return nf.sims_profiles(st, _pick(st, "sims", ("P-", "A(3)", "F(3)"), smp), "cycled", style=style)


#: The supplementary set, S1-S10 (the figure types of a coating paper's SI).
SI_FIGURES: tuple[SIFigure, ...] = (
    SIFigure("S1_eds_maps", "EDS element maps (Ni, Co, Mn, Al) and overlay of the coated samples, as made",
             _make_eds, ("eds",)),
    SIFigure("S2_xps_li1s_o1s", "XPS Li 1s and O 1s, as made", _make_xps(("Li 1s", "O 1s"), "fresh"), ("xps",)),
    SIFigure("S3_xps_tm2p", "XPS Ni 2p, Co 2p and Mn 2p, as made", _make_xps(("Ni 2p", "Co 2p", "Mn 2p"), "fresh"),
             ("xps",)),
    SIFigure("S4_nyquist", "Nyquist plots with the fitted equivalent circuits, as made and after cycling",
             _make_nyquist, ("eis",)),
    SIFigure("S5_rate_eis_cycling_low_n", "Rate capability, impedance and cycling, smallest n of each route",
             _make_rate("low"), ("cycling",)),
    SIFigure("S6_rate_eis_cycling_high_n", "Rate capability, impedance and cycling, largest n of each route",
             _make_rate("high"), ("cycling",)),
    SIFigure("S7_xps_li1s_o1s_cycled", "XPS Li 1s and O 1s, as made (below) and after cycling (above)",
             _make_xps(("Li 1s", "O 1s"), None), ("xps",)),
    SIFigure("S8_xps_tm2p_cycled", "XPS Ni 2p, Co 2p and Mn 2p, as made (below) and after cycling (above)",
             _make_xps(("Ni 2p", "Co 2p", "Mn 2p"), None), ("xps",)),
    SIFigure("S9_tem", "TEM images of the coatings with the measured thickness", _make_tem, ("tem",)),
    SIFigure("S10_sims_profiles", "ToF-SIMS depth profiles after cycling", _make_sims, ("sims",)),
)


@dataclass
class SupplementarySet:
    """What :func:`supplementary` wrote.

    Attributes
    ----------
    files : dict
        Figure key → the files written (one per format).
    captions : dict
        Figure key → caption.
    notes : dict
        Figure key → the figure's notes (samples left out, verdict marks).
    skipped : dict
        Figure key → why it was not made (no data of that kind, ...).
    """

    files: dict[str, list[Path]] = field(default_factory=dict)
    captions: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)


def _has_kind(study: Any, kind: str) -> bool:
    if study.measurements(None, kind):
        return True
    images = study.manifest_extra.get("images")
    return kind == "tem" and isinstance(images, list) and any(
        isinstance(e, dict) and e.get("kind", "tem") == "tem" for e in images)


def supplementary(study: Any, out: str | os.PathLike[str], *, samples: Sequence[str] | None = None,
                  formats: Sequence[str] | str = FORMATS, dpi: int = 300, style: Any = "paper",
                  figures: Iterable[str] | None = None) -> SupplementarySet:
    """Write the supplementary-figure set (S1–S10) of a study.

    Parameters
    ----------
    study : Study
    out : str or path-like
        Folder (created); files are ``<out>/S1_eds_maps.pdf`` and so on.
    samples : list of str, optional
        Samples to show in every figure (labels without cycle state);
        default: each figure's usual choice (e.g. P, A(3), F(3) for XPS).
    formats : sequence of str
        Default PDF, SVG and PNG.
    dpi : int
        PNG resolution (default 300).
    style : str or dict
        See :func:`ncmsurf.figures.xps_panels`.
    figures : iterable of str, optional
        Keys (``"S4_nyquist"``) or numbers (``"S4"``) to make; default all.

    Returns
    -------
    SupplementarySet
        A figure whose data the study lacks is listed in ``skipped`` with
        the reason; the others are written.
    """
    import matplotlib  # noqa: F401  (a clear error below when missing)

    wanted = None if figures is None else {str(f) for f in figures}
    result = SupplementarySet()
    folder = Path(out)
    for spec in SI_FIGURES:
        if wanted is not None and spec.key not in wanted and spec.key.split("_")[0] not in wanted:
            continue
        result.captions[spec.key] = spec.caption
        if not any(_has_kind(study, k) for k in spec.kinds):
            result.skipped[spec.key] = f"the study has no {' or '.join(spec.kinds)} measurements"
            continue
        try:
            fig = spec.make(study, samples, style)
        except (NcmsurfError, ValueError) as exc:
            result.skipped[spec.key] = " ".join(str(exc).split())[:300]
            continue
        result.files[spec.key] = save(fig, folder / spec.key, formats, dpi)
        result.notes[spec.key] = figure_notes(fig)
    return result
