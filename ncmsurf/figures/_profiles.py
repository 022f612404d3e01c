"""ToF-SIMS depth profiles and the metrics against n."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import DepthProfile
from ncmsurf.core.sample import Sample
from ncmsurf.figures._base import (
    OKABE_ITO,
    ROUTE_COLORS,
    StyleArg,
    axis_label,
    finish,
    is_study,
    new_figure,
    note,
    parse_states,
    select_samples,
    state_label,
    state_linestyle,
    style_context,
)

__all__ = ["metrics_vs_n", "sims_profiles"]

_FRAGMENT_COLORS = [OKABE_ITO["vermillion"], OKABE_ITO["orange"], OKABE_ITO["reddish purple"],
                    OKABE_ITO["blue"], OKABE_ITO["sky blue"], OKABE_ITO["bluish green"], "#000000", "#999999"]


def _collect_profiles(source: Any, samples: Any, states: Any) -> list[tuple[Sample, DepthProfile]]:
    out: list[tuple[Sample, DepthProfile]] = []
    if is_study(source):
        for s in source.samples:
            profs = [m for m in source.measurements(s, "sims") if isinstance(m, DepthProfile)]
            if profs:
                out.append((s, profs[0]))
    else:
        objs = list(source.items()) if isinstance(source, Mapping) else [(None, x) for x in
                                                                          (source if isinstance(source, (list, tuple))
                                                                           else [source])]
        for k, (key, p) in enumerate(objs):
            if not isinstance(p, DepthProfile):
                raise ValidationError(f"sims_profiles: item {k} is not a DepthProfile")
            s = Sample.parse(str(key)) if key is not None else (p.sample or Sample("P", cycles=k))
            out.append((s, p))
    chosen = select_samples([s for s, _ in out], samples, states)
    return [(s, p) for s, p in out if s in chosen]


def sims_profiles(source: Any, samples: Any = None, states: Any = "cycled", *,
                  fragments: Sequence[str] | None = None, x: str = "auto", sputter_rate: float | None = None,
                  normalize: bool = False, style: StyleArg = "paper") -> Any:
    """ToF-SIMS depth profiles: several fragments on a log intensity axis, one panel per sample.

    Parameters
    ----------
    source : Study or DepthProfile or list
        A study, a profile, a list of profiles or ``{label: profile}``.
    samples : list of str, optional
        Which samples (default: all with a profile in the chosen state).
    states : optional
        Cycle state(s) (default ``"cycled"``: the latest state there is; the
        fresh profiles where no sample was cycled).
    fragments : list of str, optional
        Fragments to draw (default: every fragment of the first profile).
    x : {"auto", "depth", "time"}
        Depth (nm) when a sputter rate is known (from the profile or
        ``sputter_rate``), else sputter time (s).
    sputter_rate : float, optional
        nm/s, for profiles that carry none (a study's ``sputter_rate``
        analysis option is used by default).
    normalize : bool
        Divide each fragment by its maximum.
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        A sample whose profile lacks a fragment is drawn without it, with a note.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.coating import synthetic_profile
    >>> p = synthetic_profile(coating_thickness=2.0, sputter_rate=0.01, width=0.3, sample="A(3)-NCM")
    >>> fig = ns.figures.sims_profiles(p)
    >>> fig.axes[0].get_xlabel(), fig.axes[0].get_yscale()
    ('Depth (nm)', 'log')
    """
    with style_context(style) as _size:
        if is_study(source):
            all_states = sorted({s.cycles for s in source.samples if source.measurements(s, "sims")})
            if states == "cycled" and not any(c > 0 for c in all_states):
                states = None
            if sputter_rate is None:
                opt = source.analysis_options.get("sputter_rate")
                sputter_rate = float(opt) if opt is not None else None
        items = _collect_profiles(source, samples, states)
        if not items and states == "cycled":
            items = _collect_profiles(source, samples, None)
        if not items:
            raise ValidationError("sims_profiles: no depth profiles for the chosen samples and states")
        frags = list(fragments) if fragments is not None else list(items[0][1].fragments)
        fig, axes = new_figure(1, len(items), _size, sharey=not normalize and False)
        handles: dict[str, Any] = {}
        for ax, (s, p) in zip(axes[0], items):
            if p.depth is not None and x in ("auto", "depth"):
                xv, xlabel = np.asarray(p.depth, dtype=float), "Depth (nm)"
            elif sputter_rate is not None and x in ("auto", "depth"):
                xv, xlabel = np.asarray(p.sputter_time, dtype=float) * float(sputter_rate), "Depth (nm)"
            else:
                if x == "depth":
                    note(fig, f"{s.label}: no sputter rate; drawn against sputter time")
                xv, xlabel = np.asarray(p.sputter_time, dtype=float), "Sputter time (s)"
            for k, fr in enumerate(frags):
                if fr not in p.fragments:
                    note(fig, f"{s.label}: no {fr} in its profile")
                    continue
                y = np.asarray(p[fr], dtype=float)
                if normalize:
                    y = y / max(float(np.nanmax(y)), 1e-300)
                y = np.where(y > 0, y, np.nan)
                (h,) = ax.plot(xv, y, lw=0.9, color=_FRAGMENT_COLORS[k % len(_FRAGMENT_COLORS)], label=fr)
                handles.setdefault(fr, h)
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_xlim(left=0)
            ax.set_title(f"{s.label.split('@')[0]}, {state_label(s.cycles)}", fontsize="small")
        units = str(items[0][1].data.attrs.get("units", "counts")) if hasattr(items[0][1], "data") else "counts"
        axes[0, 0].set_ylabel("Normalised intensity" if normalize else axis_label("Intensity", units))
        if handles:
            fig.legend(list(handles.values()), list(handles), loc="outside right upper", fontsize="x-small",
                       handlelength=1.2)
        return finish(fig)


# ---------------------------------------------------------------------- metrics vs n
_DEFAULT_METRICS = ("ni2_fraction", "lif_share", "carbonate_share", "al_ni_ratio", "thickness_xps", "thickness_sims",
                    "r_sei", "r_ct", "c_sei", "first_capacity", "rate_5c_01c", "retention_100", "cycles_to_80",
                    "coverage")
_TITLES = {"ni2_fraction": "Ni²⁺ share", "lif_share": "LiF share of F 1s", "carbonate_share": "Carbonate share",
           "al_ni_ratio": "Al/Ni", "thickness_xps": "Thickness (XPS)", "thickness_sims": "Thickness (SIMS)",
           "r_sei": "R_SEI", "r_ct": "R_ct", "r_s": "R_s", "c_sei": "C_SEI", "first_capacity": "First capacity",
           "first_ce": "First CE", "rate_5c_01c": "5C / 0.1C", "retention_100": "Retention, 100 cycles",
           "cycles_to_80": "Cycles to 80 %", "coverage": "EDS coverage", "coverage_cv": "Coverage CV"}
_MARKERS = {"A": "o", "F": "s"}


def metric_title(name: str) -> str:
    """A readable title for a metric name (the name itself when there is none)."""
    return _TITLES.get(name, name.replace("_", " "))


def metrics_vs_n(study: Any, metrics: Sequence[str] | None = None, samples: Any = None, states: Any = None, *,
                 ncols: int = 4, style: StyleArg = "paper") -> Any:
    """Each metric against the deposition parameter n for each route, fresh and cycled.

    Parameters
    ----------
    study : Study
        Its :meth:`~ncmsurf.Study.metrics` table (values, stderrs, units and,
        where present, the ``<metric>_quality`` verdicts).
    metrics : list of str, optional
        Metrics to draw (default: those of a usual study that have values).
    samples, states : optional
        Which samples and cycle states (see :func:`ncmsurf.figures.xps_panels`).
    ncols : int
        Panels per row.
    style : str or dict, optional
        See :func:`ncmsurf.figures.xps_panels`.

    Returns
    -------
    matplotlib.figure.Figure
        Coated samples as markers with ±1 stderr bars (fresh solid, cycled
        dashed), the pristine value as a horizontal line; suspect values as
        open markers, failed values left out, each with a note.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> st = ns.Study().add(ns.ImpedanceSpectrum([1e4, 1e2, 1.0, 0.01], [10 - 1j, 20 - 8j, 40 - 5j, 45 - 9j]),
    ...                     "A(3)-NCM")
    >>> fig = ns.figures.metrics_vs_n(st, ["r_s"])
    >>> fig.axes[0].get_xlabel()
    'n (min)'
    """
    with style_context(style) as _size:
        ds = study.metrics()
        names = [m for m in (metrics if metrics is not None else _DEFAULT_METRICS) if m in ds.data_vars]
        chosen = select_samples(study.samples, samples, states)
        labels = [str(x) for x in ds["sample"].values]
        idx = [labels.index(s.label) for s in chosen if s.label in labels]
        names = [m for m in names if np.isfinite(np.asarray(ds[m].values, dtype=float)[idx]).any()]
        if metrics is not None:
            missing = [m for m in metrics if m not in names]
            if missing and not names:
                raise ValidationError(f"metrics_vs_n: no values of {missing} for the chosen samples")
        if not names:
            raise ValidationError("metrics_vs_n: no metric has a value for the chosen samples")
        ncols = max(1, min(ncols, len(names)))
        nrows = math.ceil(len(names) / ncols)
        fig, axes = new_figure(nrows, ncols, _size)
        for ax in axes.ravel()[len(names):]:
            ax.set_visible(False)
        if metrics is not None:
            for m in metrics:
                if m not in names:
                    note(fig, f"{m}: no value for the chosen samples; not drawn")
        state_list = parse_states(None, sorted({s.cycles for s in chosen}))
        units_attr = ds.attrs.get("units", {}) if isinstance(ds.attrs.get("units"), Mapping) else {}
        for ax, m in zip(axes.ravel(), names):
            vals = np.asarray(ds[m].values, dtype=float)
            errs = (np.asarray(ds[f"{m}_stderr"].values, dtype=float) if f"{m}_stderr" in ds
                    else np.full(vals.size, np.nan))
            qual = [str(q) for q in ds[f"{m}_quality"].values] if f"{m}_quality" in ds else [""] * vals.size
            unit = str(units_attr.get(m, ds[m].attrs.get("units", "")))
            for c in state_list:
                ls = state_linestyle(c, state_list)
                routes = sorted({s.method for s in chosen if s.coated and s.cycles == c})
                for route in routes:
                    pts = sorted((s for s in chosen if s.method == route and s.cycles == c), key=lambda s: s.n_minutes)
                    xs, ys, es, open_ = [], [], [], []
                    for s in pts:
                        i = labels.index(s.label)
                        if qual[i] == "failed":
                            note(fig, f"{m} of {s.label}: failed fit, not drawn")
                            continue
                        if not math.isfinite(vals[i]):
                            continue
                        xs.append(s.n_minutes)
                        ys.append(vals[i])
                        es.append(errs[i] if math.isfinite(errs[i]) else 0.0)
                        open_.append(qual[i] == "suspect")
                        if qual[i] == "suspect":
                            note(fig, f"{m} of {s.label}: suspect fit (open marker)")
                    if not xs:
                        continue
                    col = ROUTE_COLORS.get(route, OKABE_ITO["bluish green"])
                    ax.errorbar(xs, ys, yerr=es, ls=ls, color=col, lw=0.9, capsize=1.5, marker="none",
                                label=f"{route}, {state_label(c)}")
                    for xx, yy, op in zip(xs, ys, open_):
                        ax.plot(xx, yy, _MARKERS.get(route, "D"), color=col, mfc="white" if op else col, ms=3.5)
                ref = [s for s in chosen if not s.coated and s.cycles == c and s.label in labels]
                for s in ref:
                    i = labels.index(s.label)
                    if math.isfinite(vals[i]) and qual[i] != "failed":
                        ax.axhline(vals[i], color="0.35", lw=0.8, ls=ls, label=f"P, {state_label(c)}")
            ax.set_title(metric_title(m))
            ax.set_xlabel("n (min)")
            ax.set_ylabel(axis_label(metric_title(m).split(" (")[0], unit) if unit not in ("", "1") else "")
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        handles, labs = [], []
        for ax in axes.ravel()[:len(names)]:
            for h, lab in zip(*ax.get_legend_handles_labels()):
                if lab not in labs:
                    handles.append(h)
                    labs.append(lab)
        if handles:
            fig.legend(handles, labs, loc="outside lower center", ncols=min(4, len(labs)), fontsize="x-small")
        return finish(fig)
