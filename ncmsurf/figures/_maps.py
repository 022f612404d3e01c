"""Images: EDS element maps with an overlay, TEM images with the measured coating; scale bars."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core._plot import ELEMENT_COLORS, draw_map, overlay_rgb, scale_bar
from ncmsurf.core._plot import element_color as _element_color
from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.models import ElementMap
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import (
    OKABE_ITO,
    StyleArg,
    finish,
    is_study,
    mark_verdict,
    new_figure,
    note,
    select_samples,
    style_context,
    verdict,
)

__all__ = ["ELEMENT_COLORS", "draw_element_map", "eds_maps", "scale_bar", "tem"]

def element_color(el: str, k: int, colors: Mapping[str, Any] | None) -> Any:
    """The colour of element ``el`` (given colours first, then the paper's)."""
    return _element_color(el, k, colors)


def draw_element_map(ax: Any, emap: ElementMap, element: str, *, color: Any = None) -> Any:
    """One element on black, in its colour, with a scale bar; returns the image artist."""
    return draw_map(ax, emap, element, color=color)


def _overlay(emap: ElementMap, elements: Sequence[str], colors: Mapping[str, Any] | None,
             order: Sequence[str]) -> np.ndarray:
    return overlay_rgb([np.asarray(emap[e], dtype=float) for e in elements],
                       [element_color(e, list(order).index(e) if e in order else 0, colors) for e in elements])


def _collect_maps(source: Any, samples: Any, states: Any) -> list[tuple[Sample, ElementMap]]:
    out: list[tuple[Sample, ElementMap]] = []
    if is_study(source):
        for s in source.samples:
            maps = [m for m in source.measurements(s, "eds") if isinstance(m, ElementMap)]
            if maps:
                out.append((s, maps[0]))
    else:
        objs = list(source.items()) if isinstance(source, Mapping) else [(None, x) for x in
                                                                          (source if isinstance(source, (list, tuple))
                                                                           else [source])]
        for k, (key, m) in enumerate(objs):
            if not isinstance(m, ElementMap):
                raise ValidationError(f"eds_maps: item {k} is not an ElementMap")
            s = Sample.parse(str(key)) if key is not None else (m.sample or Sample("P", cycles=k))
            out.append((s, m))
    chosen = select_samples([s for s, _ in out], samples, states)
    return [(s, m) for s, m in out if s in chosen]


def eds_maps(source: Any, samples: Any = None, states: Any = None, *, elements: Sequence[str] | None = None,
             colors: Mapping[str, Any] | None = None, overlay: bool | Sequence[str] = True,
             style: StyleArg = "paper") -> Any:
    """EDS element maps: one row per sample, one column per element, and an overlay.

    Parameters
    ----------
    source : Study or ElementMap or list
        A study, one map, a list of maps or ``{label: map}``.
    samples, states : optional
        Which samples (see :func:`ncmsurf.figures.xps_panels`).
    elements : list of str, optional
        Elements in column order (default: Ni, Co, Mn, Al, then the rest the
        maps share).
    colors : dict, optional
        Element → colour; default the paper's (Ni sky blue, Co green, Mn
        purple, Al red).
    overlay : bool or list of str
        A last column with the elements blended (hue: the intensity-weighted
        mean of their colours; brightness: the strongest). ``True``: Ni and
        Al where both are mapped (substrate and coating), else all elements;
        a list chooses them.
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        Each map on black in its element's colour (0.5–99.5 percentile
        stretch), with a scale bar in nm or µm from the pixel size. A sample
        whose map lacks an element shows "no <element> map" in that panel.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.coating import synthetic_map
    >>> fig = ns.figures.eds_maps(synthetic_map(coverage=0.8, cv=0.1, shape=(48, 48), sample="A(3)-NCM"))
    >>> len(fig.axes)
    5
    """
    with style_context(style) as _size:
        items = _collect_maps(source, samples, states)
        if not items:
            raise ValidationError("eds_maps: no element maps for the chosen samples")
        if elements is None:
            shared: list[str] = []
            for _, m in items:
                for el in m.elements:
                    if el not in shared:
                        shared.append(el)
            order = ["Ni", "Co", "Mn", "Al"]
            elements = [e for e in order if e in shared] + [e for e in shared if e not in order]
        elements = list(elements)
        ncols = len(elements) + (1 if overlay else 0)
        side = _size[1] * 0.85
        fig, axes = new_figure(len(items), ncols, (side, side))
        for i, (s, m) in enumerate(items):
            present = [e for e in elements if e in m.elements]
            for j, el in enumerate(elements):
                ax = axes[i, j]
                if el in m.elements:
                    draw_element_map(ax, m, el, color=element_color(el, j, colors))
                else:
                    ax.set_facecolor("black")
                    ax.text(0.5, 0.5, f"no {el} map", transform=ax.transAxes, color="0.8", ha="center", va="center",
                            fontsize="x-small")
                    ax.set_xticks([])
                    ax.set_yticks([])
                    note(fig, f"{s.label}: no {el} map")
                if j == 0:
                    ax.set_ylabel(s.label, fontsize="small")
            if overlay:
                ax = axes[i, -1]
                if isinstance(overlay, bool):
                    blend = ["Ni", "Al"] if {"Ni", "Al"} <= set(present) else present
                else:
                    blend = [e for e in overlay if e in m.elements]
                if blend:
                    ax.imshow(_overlay(m, blend, colors, elements), interpolation="nearest")
                    px = m.pixel_size
                    if px is not None and math.isfinite(float(px)):
                        scale_bar(ax, float(px), int(np.shape(m[blend[0]])[1]))
                    ax.text(0.04, 0.95, " + ".join(blend), transform=ax.transAxes, color="white", ha="left", va="top",
                            fontsize="x-small", bbox={"fc": "black", "ec": "none", "alpha": 0.5, "pad": 1.0})
                ax.set_xticks([])
                ax.set_yticks([])
        return finish(fig)


# ----------------------------------------------------------------------------- TEM
def _tem_image(obj: Any) -> tuple[np.ndarray, float]:
    """(image, pixel size in nm) from a TEMImage-like object or an ``(array, pixel_size)`` pair."""
    if isinstance(obj, tuple) and len(obj) == 2:
        arr, px = obj
        return np.asarray(arr, dtype=float), float(px) if px is not None else math.nan
    img = getattr(obj, "image", None)
    if img is None:
        raise ValidationError(f"tem: {type(obj).__name__} is neither a TEM image nor an (array, pixel_size) pair")
    px = getattr(obj, "pixel_size", None)
    return np.asarray(img, dtype=float), float(px) if px is not None else math.nan


def _measure(obj: Any) -> Any:
    """The coating thickness measured on a TEM image by :mod:`ncmsurf.tem`, where that engine is installed."""
    import importlib
    import importlib.util

    if importlib.util.find_spec("ncmsurf.tem") is None:
        return None
    tem_engine: Any = importlib.import_module("ncmsurf.tem")

    try:
        return tem_engine.coating_thickness(obj)
    except (NcmsurfError, ValueError):
        return None


def _collect_tem(source: Any, samples: Any, states: Any,
                 results: Mapping[str, Any] | Sequence[Any] | None) -> list[tuple[Sample, Any, Any]]:
    out: list[tuple[Sample, Any, Any]] = []
    if is_study(source):
        for s in source.samples:
            imgs = source.measurements(s, "tem")
            if imgs:
                out.append((s, imgs[0], source.result(s, "tem", "tem_thickness")))
        have = {s for s, _, _ in out}
        out += [x for x in _manifest_images(source) if x[0] not in have]
    else:
        objs = list(source.items()) if isinstance(source, Mapping) else [(None, x) for x in
                                                                          (source if isinstance(source, list)
                                                                           else [source])]
        for k, (key, obj) in enumerate(objs):
            smp = getattr(obj, "sample", None)
            s = Sample.parse(str(key)) if key is not None else (smp if isinstance(smp, Sample) else
                                                               Sample("P", cycles=k))
            res = None
            if isinstance(results, Mapping):
                res = results.get(s.label)
            elif results is not None:
                res = list(results)[k]
            out.append((s, obj, res))
    chosen = select_samples([s for s, _, _ in out], samples, states)
    return [x for x in out if x[0] in chosen]


def _manifest_images(study: Any) -> list[tuple[Sample, Any, Any]]:
    """TEM images listed in a study manifest's ``[[images]]`` table (read with :func:`ncmsurf.read_tem`)."""
    listed = study.manifest_extra.get("images")
    if not isinstance(listed, list) or study.folder is None:
        return []
    import ncmsurf as ns

    out: list[tuple[Sample, Any, Any]] = []
    for k, e in enumerate(listed):
        if not isinstance(e, Mapping) or e.get("kind", "tem") != "tem" or "path" not in e or "sample" not in e:
            raise ValidationError(f"images[{k}]: needs path, sample (and kind = \"tem\"), got {e!r}")
        img = ns.read_tem(Path(study.folder) / str(e["path"]))
        out.append((Sample.parse(str(e["sample"])), img, None))
    return sorted(out, key=lambda x: x[0])


def tem(source: Any, samples: Any = None, states: Any = None, *, results: Any = None, measure: bool = True,
        style: StyleArg = "paper") -> Any:
    """TEM images with a scale bar and the measured coating thickness drawn on.

    Parameters
    ----------
    source : Study or TEM image or list
        A study (``"tem"`` measurements and ``tem_thickness`` results, and
        the images its manifest lists under ``[[images]]``), a
        TEM image (``.image``, ``.pixel_size`` in nm), an ``(array,
        pixel_size)`` pair, or a list / ``{label: image}`` of those.
    samples, states : optional
        Which samples (see :func:`ncmsurf.figures.xps_panels`).
    results : dict or list, optional
        Coating-thickness results per image (label → result, or in order);
        each gives ``.points("inner")``, ``.points("outer")`` (nm),
        ``.thickness`` (mean, stderr) and ``.quality``.
    measure : bool
        Measure images that have no result with
        :func:`ncmsurf.tem.coating_thickness` when that engine is installed.
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per image: the core boundary (cyan) and the surface
        (orange) of every profile, the thickness "d = mean ± stderr nm" and
        its verdict mark when suspect or failed.

    Examples
    --------
    >>> import numpy as np, ncmsurf as ns
    >>> fig = ns.figures.tem((np.random.default_rng(0).normal(size=(64, 64)), 0.2), measure=False)
    >>> len(fig.axes)
    1
    """
    with style_context(style) as _size:
        items = _collect_tem(source, samples, states, results)
        if not items:
            raise ValidationError("tem: no TEM images for the chosen samples")
        side = _size[1] * 1.15
        fig, axes = new_figure(1, len(items), (side, side))
        for ax, (s, obj, res) in zip(axes[0], items):
            img, px = _tem_image(obj)
            if res is None and measure and not isinstance(obj, tuple):
                res = _measure(obj)
            scale = px if math.isfinite(px) else 1.0
            ny, nx = img.shape
            ax.imshow(img, cmap="gray", interpolation="nearest", extent=(0, nx * scale, ny * scale, 0))
            ax.set_xticks([])
            ax.set_yticks([])
            if math.isfinite(px):
                ax.set_xlim(0, nx * scale)
                scale_bar(ax, 1.0, int(round(nx * scale)), fraction=0.3)
            else:
                ax.set_xlabel("pixels (no pixel size)", fontsize="x-small")
                note(fig, f"{s.label}: the image has no pixel size; no scale bar or thickness in nm")
            title = s.label
            if res is not None:
                v = verdict(res)
                inner, outer = res.points("inner"), res.points("outer")
                used = np.asarray(getattr(res, "used", np.ones(len(inner), dtype=bool)), dtype=bool)
                for k in range(len(inner)):
                    if not (np.all(np.isfinite(inner[k])) and np.all(np.isfinite(outer[k]))):
                        continue
                    color = OKABE_ITO["orange"] if used[k] else "#B00000"
                    ax.plot([inner[k, 0], outer[k, 0]], [inner[k, 1], outer[k, 1]], color=color, lw=1.0)
                    ax.plot(*inner[k], "o", color=OKABE_ITO["sky blue"], ms=2)
                    ax.plot(*outer[k], "o", color=OKABE_ITO["orange"], ms=2)
                t, e = res.thickness
                title = (f"{s.label}: d = {t:.2f} ± {e:.2f} nm" if math.isfinite(t) and v.level != "failed"
                         else f"{s.label}: thickness not measured")
                mark_verdict(ax, v, loc="upper left")
                if not v.good:
                    note(fig, f"{s.label} coating thickness {v.text(200)}")
            ax.set_title(title, fontsize="small")
        return finish(fig)
