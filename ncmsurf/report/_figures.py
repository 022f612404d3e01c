"""Figures of the study report (matplotlib, imported only here and only when called)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ncmsurf.core.sample import Sample

if TYPE_CHECKING:
    from ncmsurf.study import Study

__all__ = ["FIGURES", "new_figure"]

_LINESTYLE = {0: "-", 100: "--"}
_MARKERS = "osD^v<>ph*"


def new_figure(ncols: int = 1, nrows: int = 1, *, width: float = 5.0, height: float = 3.6) -> tuple[Any, Any]:
    """A figure not attached to pyplot (no global state, any backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def _colors(samples: Sequence[Sample]) -> dict[str, Any]:
    from matplotlib import colormaps

    out: dict[str, Any] = {}
    cmaps = {"P": "Greys", "A": "Blues", "F": "Oranges"}
    by: dict[str, list[Sample]] = {}
    for s in samples:
        by.setdefault(s.method, []).append(s)
    for method, group in by.items():
        ns_ = sorted({s.n_minutes if s.n is not None else 0.0 for s in group})
        cmap = colormaps[cmaps.get(method, "Greens")]
        for s in group:
            k = ns_.index(s.n_minutes if s.n is not None else 0.0)
            out[s.label] = "black" if method == "P" else cmap(0.45 + 0.5 * (k + 1) / (len(ns_) + 1))
    return out


def _style(s: Sample) -> str:
    return _LINESTYLE.get(s.cycles, ":")


# ------------------------------------------------------------------- figures
def metrics_vs_n(study: Study) -> Any:
    """Each metric against n for each route (fresh solid, cycled dashed; pristine as a band)."""
    ds = study.metrics()
    wanted = [m for m in ("ni2_fraction", "lif_share", "carbonate_share", "al_ni_ratio", "r_sei", "r_ct",
                          "first_capacity", "rate_5c_01c", "retention_100", "cycles_to_80", "thickness_xps",
                          "thickness_sims", "coverage") if m in ds and np.isfinite(ds[m].values).any()]
    if not wanted:
        raise ValueError("no metric has a value")
    ncols = min(4, len(wanted))
    nrows = math.ceil(len(wanted) / ncols)
    fig, axes = new_figure(ncols, nrows, width=3.6, height=2.9)
    for ax in axes.ravel()[len(wanted):]:
        ax.set_visible(False)
    for ax, m in zip(axes.ravel(), wanted):
        cmp = study.compare(m)
        colors = {"A": "tab:blue", "F": "tab:orange"}
        for i, meth in enumerate(cmp["method"].values):
            for c in cmp["cycles"].values:
                y = cmp["value"].sel({"method": meth, "cycles": c}).values
                e = cmp["stderr"].sel({"method": meth, "cycles": c}).values
                if not np.isfinite(y).any():
                    continue
                ax.errorbar(cmp["n"].values, y, yerr=np.where(np.isfinite(e), e, 0.0), marker=_MARKERS[i % 10],
                            ls=_LINESTYLE.get(int(c), ":"), color=colors.get(str(meth), f"C{i + 2}"), capsize=2,
                            label=f"{meth}, {int(c)} cyc")
        for c in cmp["cycles"].values:
            r = float(cmp["reference"].sel(cycles=c))
            if math.isfinite(r):
                ax.axhline(r, color="0.3", lw=1, ls=_LINESTYLE.get(int(c), ":"), label=f"P, {int(c)} cyc")
        unit = ds[m].attrs.get("units", "")
        ax.set_title(m, fontsize="medium")
        ax.set_xlabel("n (min)")
        ax.set_ylabel(unit if unit not in ("", "1") else "fraction / ratio")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    if handles:
        fig.legend(handles, labels, loc="outside lower center", ncols=min(6, len(labels)), fontsize="small")
    return fig


def _eis_by_state(study: Study) -> list[tuple[int, list[tuple[Sample, Any, Any, float]]]]:
    """Spectra per cycle state: (cycles, [(sample, spectrum, fit or None, area scale)]), one per label."""
    specs: list[tuple[Sample, Any]] = [(e.sample, e.measurement) for e in study.entries
                                      if e.kind == "eis" and e.measurement is not None]
    if not specs:
        raise ValueError("no impedance spectra")
    out = []
    for c in sorted({s.cycles for s, _ in specs}):
        seen: set[str] = set()
        rows = []
        for s, spec in specs:
            if s.cycles != c or s.label in seen:
                continue
            seen.add(s.label)
            scale = spec.area if (spec.area is not None and "cm" not in str(spec.units)) else 1.0
            fit = study.result(s, "eis", "eis_fit")
            rows.append((s, spec, fit if fit is not None and hasattr(fit, "predict") else None, float(scale)))
        out.append((c, rows))
    return out


def _eis_unit(states: list[tuple[int, list[tuple[Sample, Any, Any, float]]]]) -> str:
    return "Ω·cm²" if any(sp.area is not None or "cm" in str(sp.units)
                          for _, rows in states for _, sp, _, _ in rows) else "Ω"


def _state_title(c: int) -> str:
    return "fresh" if c == 0 else f"after {c} cycles"


def _fit_curve(spec: Any, fit: Any, scale: float) -> tuple[np.ndarray, np.ndarray]:
    f = np.logspace(np.log10(spec.frequency.max()), np.log10(spec.frequency.min()), 300)
    return f, np.asarray(fit.predict(f)) * scale


def nyquist(study: Study) -> Any:
    """Nyquist plots with the fitted circuit curves, one panel per cycle state."""
    states = _eis_by_state(study)
    unit = _eis_unit(states)
    fig, axes = new_figure(len(states), 1, width=5.2, height=4.2)
    colors = _colors(study.samples)
    for ax, (c, rows) in zip(axes[0], states):
        for s, spec, fit, scale in rows:
            z = spec.impedance * scale
            ax.plot(z.real, -z.imag, "o", ms=2.5, color=colors[s.label], label=s.label)
            if fit is not None:
                _, zf = _fit_curve(spec, fit, scale)
                ax.plot(zf.real, -zf.imag, "-", lw=1, color=colors[s.label])
        ax.set_xlabel(f"Z′ ({unit})")
        ax.set_ylabel(f"−Z″ ({unit})")
        ax.set_title(f"{_state_title(c)}: data (points), fit (lines)")
        ax.set_aspect("equal", adjustable="datalim")
        ax.legend(fontsize="x-small", ncols=2)
    return fig


def bode(study: Study) -> Any:
    """Bode plots (|Z| and phase against frequency) with the fitted curves, one column per cycle state."""
    states = _eis_by_state(study)
    unit = _eis_unit(states)
    fig, axes = new_figure(len(states), 2, width=5.2, height=3.0)
    colors = _colors(study.samples)
    for j, (c, rows) in enumerate(states):
        top, bottom = axes[0][j], axes[1][j]
        for s, spec, fit, scale in rows:
            z = spec.impedance * scale
            top.loglog(spec.frequency, np.abs(z), "o", ms=2.5, color=colors[s.label], label=s.label)
            bottom.semilogx(spec.frequency, -np.degrees(np.angle(z)), "o", ms=2.5, color=colors[s.label])
            if fit is not None:
                f, zf = _fit_curve(spec, fit, scale)
                top.loglog(f, np.abs(zf), "-", lw=1, color=colors[s.label])
                bottom.semilogx(f, -np.degrees(np.angle(zf)), "-", lw=1, color=colors[s.label])
        top.set_ylabel(f"|Z| ({unit})")
        top.set_title(f"{_state_title(c)}: data (points), fit (lines)")
        top.legend(fontsize="x-small", ncols=2)
        bottom.set_xlabel("Frequency (Hz)")
        bottom.set_ylabel("−phase (°)")
    return fig


def _plot_xps_fit(ax: Any, spec: Any, fit: Any) -> None:
    be = np.asarray(spec.binding_energy)
    ax.plot(be, spec.intensity, ".", ms=2, color="0.4", label="data")
    bg = getattr(fit, "background", None)
    bg = np.asarray(bg) if bg is not None else np.zeros_like(be)
    comps = dict(getattr(fit, "components", {}) or {})
    x = np.asarray(getattr(fit, "binding_energy", be)) if np.size(bg) != be.size else be
    for i, (name, y) in enumerate(comps.items()):
        y = np.asarray(y)
        if y.shape != bg.shape:
            continue
        ax.fill_between(x, bg, bg + y, alpha=0.35, color=f"C{i}", label=name)
    best = getattr(fit, "best_fit", None)
    if best is not None and np.size(best) == np.size(x):
        ax.plot(x, best, "-", lw=1, color="k", label="fit")
    if np.size(bg) == np.size(x):
        ax.plot(x, bg, "--", lw=0.8, color="0.5", label="background")
    ax.set_xlim(be.max(), be.min())
    ax.set_xlabel("Binding energy (eV)")
    ax.set_yticks([])


def xps_fits(study: Study, region: str = "Ni 2p") -> Any:
    """The core-level fits of one region for every sample, components shaded."""
    items = []
    for s in study.samples:
        fit = study.result(s, "xps", f"xps_fit:{region}")
        spec = next((m for m in study.measurements(s, "xps") if getattr(m, "region", None) == region), None)
        if fit is not None and spec is not None:
            items.append((s, spec, fit))
    if not items:
        raise ValueError(f"no {region} fits")
    ncols = min(4, len(items))
    nrows = math.ceil(len(items) / ncols)
    fig, axes = new_figure(ncols, nrows, width=3.4, height=2.6)
    for ax in axes.ravel()[len(items):]:
        ax.set_visible(False)
    for ax, (s, spec, fit) in zip(axes.ravel(), items):
        _plot_xps_fit(ax, spec, fit)
        ax.set_title(f"{s.label} {region}", fontsize="small")
    h, lab = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(h, lab, loc="outside lower center", ncols=min(8, len(lab)), fontsize="x-small")
    return fig


def _summaries(study: Study) -> list[tuple[Sample, Any]]:
    out = []
    for s in study.samples:
        summ = study.result(s, "cycling", "cycling_summary")
        if summ is not None:
            out.append((s, summ))
    if not out:
        raise ValueError("no cycling summaries")
    return out


def rate_ladder(study: Study) -> Any:
    """Discharge capacity against cycle through the rate steps, one line per sample."""
    items = _summaries(study)
    fig, axes = new_figure(1, 1, width=7.0, height=4.0)
    ax = axes[0, 0]
    colors = _colors(study.samples)
    n_show = 0
    for s, summ in items:
        rates = np.asarray(summ["c_rate"].values, dtype=float) if "c_rate" in summ else None
        q = np.asarray(summ["discharge_capacity"].values, dtype=float)
        cyc = np.asarray(summ["cycle"].values) if "cycle" in summ.coords else np.arange(1, q.size + 1)
        if rates is not None:
            from ncmsurf.study._steps import _longest_run

            i0, _ = _longest_run(rates)
            stop = i0 if i0 > 0 else min(q.size, 25)
        else:
            stop = min(q.size, 25)
        n_show = max(n_show, stop)
        ax.plot(cyc[:stop], q[:stop], "o-", ms=3, color=colors[s.label], label=s.label)
        if rates is not None and s == items[0][0]:
            for k in range(stop):
                if k == 0 or round(rates[k], 2) != round(rates[k - 1], 2):
                    ax.annotate(f"{rates[k]:g}C", (cyc[k], q[k]), textcoords="offset points", xytext=(0, 8),
                                fontsize="x-small")
    ax.set_xlabel("Cycle")
    ax.set_ylabel(f"Discharge capacity ({items[0][1]['discharge_capacity'].attrs.get('units', 'mAh/g')})")
    ax.set_title("Rate capability")
    ax.legend(fontsize="x-small", ncols=2)
    return fig


def retention(study: Study) -> Any:
    """Normalised discharge capacity over the long-term run, with the fitted fade."""
    from ncmsurf.study._steps import _longest_run

    items = _summaries(study)
    fig, axes = new_figure(1, 1, width=7.0, height=4.0)
    ax = axes[0, 0]
    colors = _colors(study.samples)
    for s, summ in items:
        q = np.asarray(summ["discharge_capacity"].values, dtype=float)
        rates = np.asarray(summ["c_rate"].values, dtype=float) if "c_rate" in summ else np.ones(q.size)
        i0, i1 = _longest_run(rates)
        run = q[i0:i1]
        if run.size < 2:
            continue
        k = np.arange(1, run.size + 1)
        ax.plot(k, run / run[0], ".", ms=2.5, color=colors[s.label], label=s.label)
        fade = study.result(s, "cycling", "cycling_fade")
        if fade is not None and hasattr(fade, "predict"):
            try:
                pred = np.asarray(fade.predict(k), dtype=float)
                ax.plot(k, pred / pred[0], "-", lw=1, color=colors[s.label])
            except Exception:  # the fitted curve is decoration only
                pass
    ax.axhline(0.8, color="0.5", lw=0.8, ls=":")
    ax.set_xlabel("Cycle of the long-term run")
    ax.set_ylabel("Capacity retention")
    ax.set_title("Retention (points) and fitted fade (lines)")
    ax.legend(fontsize="x-small", ncols=2)
    return fig


def dqdv(study: Study) -> Any:
    """dQ/dV of the first cycle's charge for every cycled cell."""
    import ncmsurf.cycling as cyc

    recs: list[tuple[Sample, Any]] = [(e.sample, e.measurement) for e in study.entries
                                      if e.kind == "cycling" and e.measurement is not None]
    if not recs:
        raise ValueError("no cycling records")
    fig, axes = new_figure(1, 1, width=7.0, height=4.0)
    ax = axes[0, 0]
    colors = _colors(study.samples)
    for s, data in recs:
        first = int(np.min(data.cycle)) if data.cycle is not None else 1
        da = cyc.dqdv(data, cycle=first)
        v = np.asarray(da[da.dims[0]].values, dtype=float)
        ax.plot(v, np.asarray(da.values, dtype=float), "-", lw=1, color=colors[s.label], label=s.label)
    ax.set_xlabel("Voltage (V)")
    ax.set_ylabel("dQ/dV")
    ax.set_title("dQ/dV, first charge")
    ax.legend(fontsize="x-small", ncols=2)
    return fig


def depth_profiles(study: Study) -> Any:
    """ToF-SIMS depth profiles of the coated samples, coating fragment normalised."""
    profs: list[tuple[Sample, Any]] = [(e.sample, e.measurement) for e in study.entries
                                      if e.kind == "sims" and e.measurement is not None]
    if not profs:
        raise ValueError("no depth profiles")
    frag = study.analysis_options.get("sims_fragment")
    fig, axes = new_figure(1, 1, width=7.0, height=4.0)
    ax = axes[0, 0]
    colors = _colors(study.samples)
    for s, p in profs:
        name = frag if frag in p.fragments else next((f for f in p.fragments if f.startswith("Al")), p.fragments[0])
        rate = study.analysis_options.get("sputter_rate")
        x = p.depth if p.depth is not None else (p.sputter_time * float(rate) if rate else p.sputter_time)
        y = np.asarray(p[name], dtype=float)
        ax.plot(x, y / max(float(np.max(y)), 1e-12), "-", lw=1, color=colors[s.label], label=f"{s.label} {name}")
    ax.set_xlabel("Depth (nm)" if (profs[0][1].depth is not None or study.analysis_options.get("sputter_rate"))
                  else "Sputter time (s)")
    ax.set_ylabel("Normalised intensity")
    ax.set_xlim(left=0)
    ax.set_title("ToF-SIMS: coating fragment against depth")
    ax.legend(fontsize="x-small", ncols=2)
    return fig


#: name -> (title, function)
FIGURES: dict[str, tuple[str, Any]] = {
    "metrics_vs_n": ("Metrics against n for each route", metrics_vs_n),
    "nyquist": ("Impedance: Nyquist plots with fitted circuits", nyquist),
    "bode": ("Impedance: Bode plots (|Z| and phase) with fitted circuits", bode),
    "xps_ni2p": ("XPS: Ni 2p fits with components", lambda st: xps_fits(st, "Ni 2p")),
    "xps_f1s": ("XPS: F 1s fits with components", lambda st: xps_fits(st, "F 1s")),
    "rate_ladder": ("Cycling: rate ladders", rate_ladder),
    "retention": ("Cycling: retention curves", retention),
    "dqdv": ("Cycling: dQ/dV", dqdv),
    "depth_profiles": ("ToF-SIMS depth profiles", depth_profiles),
}
