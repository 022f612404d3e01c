"""XPS panels: regions × samples, fresh and cycled stacked, fitted components filled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import (
    OKABE_ITO,
    StyleArg,
    base_label,
    finish,
    is_study,
    mark_verdict,
    new_figure,
    note,
    parse_states,
    select_samples,
    state_label,
    style_context,
    verdict,
)

__all__ = ["xps_panels"]

#: fill colours of components, in order (colour-blind-safe, distinct from the route colours' use on lines)
_COMPONENT_COLORS = [OKABE_ITO["sky blue"], OKABE_ITO["orange"], OKABE_ITO["bluish green"],
                     OKABE_ITO["reddish purple"], OKABE_ITO["yellow"], "#999999", OKABE_ITO["blue"],
                     OKABE_ITO["vermillion"]]


def _collect(source: Any, regions: Sequence[str] | None, samples: Any, states: Any) \
        -> tuple[list[str], list[Sample], dict[tuple[str, Sample], tuple[Any, Any]]]:
    """(regions, samples, {(region, sample): (spectrum or None, fit or None)})."""
    items: dict[tuple[str, Sample], tuple[Any, Any]] = {}
    if is_study(source):
        for s in source.samples:
            for spec in source.measurements(s, "xps"):
                if not isinstance(spec, XPSSpectrum) or spec.region is None:
                    continue
                key = (spec.region, s)
                if key in items:
                    continue
                items[key] = (spec, source.result(s, "xps", f"xps_fit:{spec.region}"))
    else:
        entries: list[tuple[Any, Any]] = (list(source.items()) if isinstance(source, Mapping)
                                          else [(None, x) for x in source])
        for key, obj in entries:
            spec, fit = (obj if isinstance(obj, tuple) else (obj, None))
            if fit is None and not isinstance(spec, XPSSpectrum):  # a fit alone
                spec, fit = None, spec
            region = (getattr(spec, "region", None) if spec is not None else None) or getattr(fit, "region", None)
            smp = (getattr(spec, "sample", None) if spec is not None else None) or getattr(fit, "sample", None)
            if isinstance(key, tuple) and len(key) == 2:
                region, smp = key[0], key[1]
            elif isinstance(key, str):
                smp = key
            if region is None:
                raise ValidationError("xps_panels: a spectrum or fit without a region; pass {(region, sample): ...}")
            s = smp if isinstance(smp, Sample) else Sample.parse(str(smp)) if smp is not None else Sample("P")
            items[(str(region), s)] = (spec, fit)
    present_regions = sorted({r for r, _ in items}, key=_region_order)
    chosen_regions = list(regions) if regions is not None else present_regions
    avail = sorted({s for _, s in items})
    chosen = select_samples(avail, samples, states)
    return chosen_regions, chosen, items


_ORDER = ["Li 1s", "O 1s", "C 1s", "F 1s", "Al 2p", "Ni 2p", "Co 2p", "Mn 2p"]


def _region_order(r: str) -> tuple[int, str]:
    return (_ORDER.index(r) if r in _ORDER else len(_ORDER), r)


def _fit_curves(spec: Any, fit: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None,
                                               dict[str, np.ndarray]]:
    """(x, data, background, best fit, components) on the fit's energy axis."""
    if fit is None:
        x = np.asarray(spec.binding_energy, dtype=float)
        y = np.asarray(spec.intensity, dtype=float)
        return x, y, np.full_like(y, np.nan), None, {}
    x = np.asarray(fit.binding_energy, dtype=float)
    y = np.asarray(fit.data, dtype=float)
    bg = np.asarray(fit.background, dtype=float)
    best = np.asarray(fit.best_fit, dtype=float)
    comps = {k: np.asarray(v, dtype=float) for k, v in dict(fit.components).items()
             if np.shape(v) == x.shape}
    return x, y, bg, best, comps


def _intensity_units(spec: Any, fit: Any) -> str:
    units = str(getattr(spec, "units", "") or "") if spec is not None else ""
    if not units and fit is not None:
        units = str(getattr(fit, "units", {}).get("data", "") if isinstance(getattr(fit, "units", None), dict)
                    else "")
    return units or "counts"


def xps_panels(source: Any, regions: Sequence[str] | None = None, samples: Any = None, states: Any = None, *,
               offset: float = 1.15, show_components: bool = True, legend: bool = True,
               style: StyleArg = "paper") -> Any:
    """Core-level fits: one row per region, one column per sample, cycle states stacked.

    Parameters
    ----------
    source : Study or mapping or sequence
        A :class:`ncmsurf.Study` (its spectra and ``xps_fit:<region>``
        results), or ``{(region, sample): (spectrum, fit)}``, or a list of
        spectra / fits / ``(spectrum, fit)`` pairs (region and sample from
        the objects).
    regions : list of str, optional
        Core levels to show, top to bottom (default: every region present).
    samples : list of str or Sample, optional
        Samples by label; a label without a cycle state stands for every
        chosen state (default: all).
    states : optional
        Cycle states to stack: ``"fresh"``, ``"cycled"``, a number, a list
        (default: all present). The first state is drawn at the bottom, each
        next one shifted up by ``offset`` × the largest trace height below it.
    offset : float
        Vertical spacing of stacked states, in units of the tallest trace.
    show_components : bool
        Fill the fitted components over the background.
    legend : bool
        A legend of the components under each row.
    style : str or dict, optional
        ``"paper"`` (default), ``"presentation"``, ``"default"``, a matplotlib
        style name or an rcParams dict.

    Returns
    -------
    matplotlib.figure.Figure
        Binding energy axes run from high to low; the intensity axis is in
        the spectrum's units. A suspect fit is drawn dashed with hatched
        components, a failed one dotted with cross-hatched components, each
        with its verdict and reasons written in the panel. A sample with no
        spectrum in any chosen region is left out with a note
        (:func:`ncmsurf.figures.figure_notes`).

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.xps import synthetic_spectrum
    >>> spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.3, "Ni3+": 0.7}, seed=1, sample="A(3)-NCM")
    >>> fig = ns.figures.xps_panels([(spec, ns.xps.fit(spec, "Ni 2p"))])
    >>> len(fig.axes)
    1
    """
    with style_context(style) as _size:
        chosen_regions, chosen, items = _collect(source, regions, samples, states)
        if not chosen_regions:
            raise ValidationError("xps_panels: no XPS spectra to show")
        columns: list[str] = []
        for s in chosen:
            if base_label(s) not in columns:
                columns.append(base_label(s))
        state_list = parse_states(states, sorted({s.cycles for s in chosen}))
        keep: list[str] = []
        dropped: list[str] = []
        for col in columns:
            if any((r, s) in items for r in chosen_regions for s in chosen if base_label(s) == col):
                keep.append(col)
            else:
                dropped.append(f"{col}: no spectrum in {', '.join(chosen_regions)}; not shown")
        if not keep:
            raise ValidationError(f"xps_panels: no spectra of {chosen_regions} for the chosen samples")
        fig, axes = new_figure(len(chosen_regions), len(keep), (_size[0], _size[1] * (0.75 + 0.35 * len(state_list))))
        for t in dropped:
            note(fig, t)
        for i, region in enumerate(chosen_regions):
            row_handles: dict[str, Any] = {}
            for j, col in enumerate(keep):
                ax = axes[i, j]
                base = 0.0
                y_top = 0.0
                n_marks = 0
                drew = False
                xr: list[float] = []
                for c in state_list:
                    found = next((x for x in chosen if base_label(x) == col and x.cycles == c), None)
                    pair = items.get((region, found)) if found is not None else None
                    if pair is None:
                        continue
                    spec, fit = pair
                    if spec is None and fit is None:
                        continue
                    x, y, bg, best, comps = _fit_curves(spec, fit)
                    v = verdict(fit)
                    floor = float(np.nanmin(y))
                    shift = base - floor
                    ax.plot(x, y + shift, ".", ms=1.6, color="0.25", label="data", zorder=3)
                    if best is not None:
                        if show_components:
                            for k, (name, comp) in enumerate(comps.items()):
                                h = ax.fill_between(x, bg + shift, bg + comp + shift, lw=0.4,
                                                    facecolor=_COMPONENT_COLORS[k % len(_COMPONENT_COLORS)],
                                                    edgecolor=_COMPONENT_COLORS[k % len(_COMPONENT_COLORS)],
                                                    **v.fill_kw())
                                row_handles.setdefault(name, h)
                        ax.plot(x, bg + shift, color="0.55", lw=0.7, ls=(0, (2, 1.5)), zorder=4)
                        kw = {"color": "k", "lw": 0.9} | v.line_kw()
                        ax.plot(x, best + shift, zorder=5, **kw)
                        row_handles.setdefault("envelope", ax.lines[-1])
                    else:
                        v_text = "no fit"
                        ax.text(float(np.nanmax(x)), float(np.nanmax(y + shift)), f" {v_text}", fontsize="x-small",
                                color="0.4", va="top", ha="left")
                    top = float(np.nanmax(y + shift))
                    if len(state_list) > 1:
                        hi = int(np.argmax(x))  # the high-BE end: background only, clear of the peaks
                        ax.annotate(state_label(c), (float(x[hi]), float(y[hi] + shift)), xytext=(3, 4),
                                    textcoords="offset points", ha="left", va="bottom", fontsize="x-small",
                                    color="0.3", bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.5},
                                    zorder=6)
                    if fit is not None and not v.good:
                        mark_verdict(ax, v, prefix=state_label(c) + ":", loc="upper left",
                                     y=0.97 - 0.13 * n_marks, short=True)
                        n_marks += 1
                        note(fig, f"{region} {found.label if found else col} ({state_label(c)}): {v.text(200)}")
                    span = top - base
                    y_top = max(y_top, top)
                    base = base + offset * span
                    xr += [float(np.nanmin(x)), float(np.nanmax(x))]
                    drew = True
                if drew:
                    ax.set_xlim(max(xr), min(xr))
                    # headroom above the traces for the verdict marks, so they cover no data
                    ax.set_ylim(bottom=None, top=y_top + (0.08 + 0.2 * n_marks) * max(y_top, 1e-12))
                else:
                    ax.text(0.5, 0.5, f"no {region} spectrum", transform=ax.transAxes, ha="center", va="center",
                            fontsize="small", color="0.4")
                    ax.set_xticks([])
                    ax.set_yticks([])
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useMathText=True)
                if i == 0:
                    ax.set_title(col)
                if i == len(chosen_regions) - 1 or not drew:
                    ax.set_xlabel("Binding energy (eV)")
                if j == 0:
                    spec0 = next((items[(region, x)][0] for x in chosen if (region, x) in items), None)
                    fit0 = next((items[(region, x)][1] for x in chosen if (region, x) in items), None)
                    ax.set_ylabel(f"{region}\nIntensity ({_intensity_units(spec0, fit0)})")
            if legend and row_handles:
                names = [n for n in row_handles if n != "envelope"]
                names += ["envelope"] if "envelope" in row_handles else []
                labels = ["fit" if n == "envelope" else n for n in names]
                axes[i, -1].legend([row_handles[n] for n in names], labels,
                                   loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                                   fontsize="x-small", handlelength=1.2)
        return finish(fig)

