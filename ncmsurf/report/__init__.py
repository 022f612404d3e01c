"""The HTML report of a study: one self-contained file, its figures beside it, the metrics as CSV.

The report holds the metrics table (value ± standard error, each suspect or
failed value marked, the reason for every missing value), the verdict of
every fit that is not good, the comparison of the routes at equal ``n``, the
generating parameters when the study is the synthetic demo, and the figures.
Every figure is one of :mod:`ncmsurf.figures` (the S1–S10 supplementary set,
the metrics against n, dQ/dV and Bode plots): embedded as PNG at 300 dpi and
written beside the HTML file as PNG and SVG, with the notes each figure made
(samples left out, verdict marks) in its caption. The markup is the template
``ncmsurf/report/templates/report.html`` shipped with the package.
matplotlib (the ``plot`` extra) is imported only when a report is written.

Examples
--------
>>> import ncmsurf as ns, tempfile, pathlib
>>> st = ns.Study(name="tiny").add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "P-NCM")
>>> rep = build_report(st, pathlib.Path(tempfile.mkdtemp()) / "r.html", figures=[])  # tables only
>>> rep.path.is_file(), "Missing values and their reasons" in rep.path.read_text()
(True, True)
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import math
import os
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError
from ncmsurf.core.results import FitResult
from ncmsurf.core.units import format_unit

if TYPE_CHECKING:
    from ncmsurf.study import Study

__all__ = ["REPORT_FIGURES", "Report", "build_report", "template", "write_report"]


@dataclass
class Report:
    """What :func:`build_report` wrote.

    Attributes
    ----------
    path : pathlib.Path
        The HTML file.
    metrics_csv : pathlib.Path or None
        The metrics table as CSV beside it (``<stem>_metrics.csv``: one row
        per sample, each metric and its ``_stderr``).
    figures : dict
        Figure name → PNG file written beside the report.
    skipped : dict
        Figure name → why it was not made (e.g. no data of that kind).
    covered : list of str
        Analysis kinds that gave at least one metric value.
    notes : dict
        Figure name → the notes the figure made (samples left out, verdicts).
    layout : dict
        Figure name → texts that overlap an axis label
        (:func:`ncmsurf.figures.check_layout`; empty lists when clean).
    verdicts : list of tuple
        ``(sample, result name, level, reasons)`` of every fit that is not good.
    """

    path: Path
    metrics_csv: Path | None = None
    figures: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    covered: list[str] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    layout: dict[str, list[str]] = field(default_factory=dict)
    verdicts: list[tuple[str, str, str, str]] = field(default_factory=list)


def template() -> string.Template:
    """The report's HTML template (package data), as a :class:`string.Template`.

    Examples
    --------
    >>> "$metrics_table" in template().template
    True
    """
    text = resources.files("ncmsurf.report").joinpath("templates", "report.html").read_text(encoding="utf-8")
    return string.Template(text)


def _fmt(v: float, e: float) -> str:
    if not math.isfinite(v):
        return "NaN"
    if math.isfinite(e) and e > 0:
        return f"{v:.4g} ± {e:.2g}"
    return f"{v:.4g}"


_MARK = {"suspect": "⚠", "failed": "✗"}


# ------------------------------------------------------------------- verdicts
_FALLBACK_SOURCES: dict[str, tuple[str, tuple[str, ...]]] = {
    # metric -> (kind, result names): used only when Study.metrics() carries no <metric>_quality column
    "ni2_fraction": ("xps", ("xps_fit:Ni 2p",)), "ni2p_area": ("xps", ("xps_fit:Ni 2p",)),
    "lif_share": ("xps", ("xps_fit:F 1s",)), "carbonate_share": ("xps", ("xps_fit:O 1s", "xps_fit:C 1s")),
    "al_ni_ratio": ("xps", ("xps_fit:Al 2p", "xps_fit:Ni 2p")), "thickness_xps": ("xps", ("xps_fit:Ni 2p",)),
    "r_s": ("eis", ("eis_fit",)), "r_sei": ("eis", ("eis_fit",)), "r_ct": ("eis", ("eis_fit",)),
    "c_sei": ("eis", ("eis_fit",)), "retention_100": ("cycling", ("cycling_fade",)),
    "cycles_to_80": ("cycling", ("cycling_fade",)), "thickness_sims": ("sims", ("sims_interface",)),
    "coverage": ("eds", ("eds_coverage",)), "coverage_cv": ("eds", ("eds_uniformity",)),
}


def _quality_table(study: Study, ds: Any) -> dict[str, dict[str, tuple[str, str]]]:
    """Metric → sample label → (level, reasons) for suspect and failed values."""
    from ncmsurf.figures import verdict

    out: dict[str, dict[str, tuple[str, str]]] = {}
    reasons = ds.attrs.get("reasons", {})
    labels = [str(x) for x in ds["sample"].values]
    for m in (str(k) for k in ds.data_vars):
        if m.endswith("_stderr") or m.endswith("_quality"):
            continue
        per: dict[str, tuple[str, str]] = {}
        if f"{m}_quality" in ds:
            for lab, q in zip(labels, ds[f"{m}_quality"].values):
                q = str(q)
                if q in ("suspect", "failed"):
                    why = reasons.get(f"{m}_quality", {}).get(lab, "") or reasons.get(m, {}).get(lab, "")
                    per[lab] = (q, str(why))
        elif m in _FALLBACK_SOURCES:
            kind, names = _FALLBACK_SOURCES[m]
            for lab in labels:
                worst = ("good", "")
                for name in names:
                    v = verdict(study.result(lab, kind, name))
                    if v.level == "failed" or (v.level == "suspect" and worst[0] == "good"):
                        worst = (v.level, f"{name}: {'; '.join(v.reasons)}")
                if worst[0] != "good":
                    per[lab] = worst
        if per:
            out[m] = per
    return out


def _verdicts(study: Study) -> list[tuple[str, str, str, str]]:
    from ncmsurf.figures import verdict

    rows = []
    for key, res in study.results().items():
        lab, _, name = key.split("|", 2)
        if not (isinstance(res, FitResult) or hasattr(res, "success")):
            continue
        v = verdict(res)
        if v.level in ("suspect", "failed"):
            rows.append((lab, name, v.level, "; ".join(v.reasons) or "no reason given"))
    return rows


def _verdict_table(rows: list[tuple[str, str, str, str]]) -> str:
    if not rows:
        return "<p>Every fit's verdict is good.</p>"
    body = "".join(f"<tr><td class='l'>{html.escape(lab)}</td><td class='l'>{html.escape(name)}</td>"
                   f"<td class='l {lvl}'><span class='mark {lvl}'>{_MARK[lvl]}</span> {lvl}</td>"
                   f"<td class='wrap'>{html.escape(why)}</td></tr>" for lab, name, lvl, why in rows)
    return ("<div class='scroll'><table><tr><th class='l'>sample</th><th class='l'>fit</th><th class='l'>verdict</th>"
            f"<th class='wrap'>reasons</th></tr>{body}</table></div>"
            "<p class='small'>Suspect fits are drawn dashed with hatched components and failed fits dotted, with "
            "their verdict written in the panel; their values are marked in the tables "
            f"(<span class='mark suspect'>{_MARK['suspect']}</span> suspect, "
            f"<span class='mark failed'>{_MARK['failed']}</span> failed).</p>")


# --------------------------------------------------------------------- tables
def _unit(ds: Any, m: str) -> str:
    units = ds.attrs.get("units")
    u = units.get(m) if isinstance(units, Mapping) and m in units else ds[m].attrs.get("units", "")
    return format_unit(str(u), style="si")


def _metrics_table(ds: Any, quality: dict[str, dict[str, tuple[str, str]]]) -> str:
    metrics = [str(k) for k in ds.data_vars if not (str(k).endswith("_stderr") or str(k).endswith("_quality"))]
    reasons = ds.attrs.get("reasons", {})
    head = "".join(f"<th title='{html.escape(str(ds[m].attrs.get('description', '')))}'>{html.escape(m)}"
                   f"<br><span class='small'>{html.escape(_unit(ds, m))}</span></th>" for m in metrics)
    rows = []
    for i, label in enumerate(ds["sample"].values):
        cells = []
        for m in metrics:
            v = float(ds[m].values[i])
            e = float(ds[f"{m}_stderr"].values[i]) if f"{m}_stderr" in ds else math.nan
            q = quality.get(m, {}).get(str(label))
            if math.isfinite(v):
                if q is not None:
                    lvl, why = q
                    cells.append(f"<td class='{lvl}' title='{lvl}: {html.escape(why)}'>{html.escape(_fmt(v, e))}"
                                 f"<span class='mark {lvl}'>{_MARK[lvl]}</span></td>")
                else:
                    cells.append(f"<td>{html.escape(_fmt(v, e))}</td>")
            else:
                why = reasons.get(m, {}).get(str(label), "")
                cells.append(f"<td class='na' title='{html.escape(why)}'>NaN</td>")
        rows.append(f"<tr><th class='l'>{html.escape(str(label))}</th>{''.join(cells)}</tr>")
    return (f"<div class='scroll'><table><tr><th class='l'>sample</th>{head}</tr>{''.join(rows)}</table></div>"
            "<p class='small'>value ± standard error; "
            f"<span class='mark suspect'>{_MARK['suspect']}</span> from a suspect fit, "
            f"<span class='mark failed'>{_MARK['failed']}</span> from a failed fit (hover for the reasons); "
            "hover a NaN for its reason (all reasons are listed below).</p>")


def _reasons_table(ds: Any) -> str:
    reasons = ds.attrs.get("reasons", {})
    grouped: dict[tuple[str, str], list[str]] = {}
    for m, per in reasons.items():
        for label, why in per.items():
            grouped.setdefault((label, why), []).append(m)
    if not grouped:
        return "<p>Every metric has a value for every sample.</p>"
    rows = "".join(f"<tr><td class='l'>{html.escape(label)}</td><td class='wrap'>{html.escape(', '.join(ms))}</td>"
                   f"<td class='wrap'>{html.escape(why)}</td></tr>" for (label, why), ms in sorted(grouped.items()))
    # no scroll box: the reason column wraps, so nothing is cut
    return (f"<table id='missing-table'><tr><th class='l'>sample</th><th class='wrap'>metrics</th>"
            f"<th class='wrap'>reason</th></tr>{rows}</table>")


def _compare_rows(study: Study, metric: str) -> str:
    cmp = study.compare(metric)
    if cmp.sizes.get("pair", 0) == 0:
        return ""
    rows = []
    for p in cmp["pair"].values:
        for c in cmp["cycles"].values:
            for n in cmp["n"].values:
                d = float(cmp["difference"].sel(pair=p, n=n, cycles=c))
                s = float(cmp["difference_stderr"].sel(pair=p, n=n, cycles=c))
                if not math.isfinite(d):
                    continue
                z = float(cmp["z"].sel(pair=p, n=n, cycles=c))
                rows.append(f"<tr><td class='l'>{html.escape(metric)}</td><td class='l'>{html.escape(str(p))}</td>"
                            f"<td>{n:g}</td><td>{int(c)}</td><td>{html.escape(_fmt(d, s))}</td>"
                            f"<td>{'' if not math.isfinite(z) else f'{z:.1f}'}</td></tr>")
    return "".join(rows)


def _rate_table(study: Study, ds: Any) -> str:
    rows = []
    for metric in (m for m in ("thickness_xps", "thickness_sims") if m in ds):
        cmp = study.compare(metric)
        for meth in cmp["method"].values:
            for c in cmp["cycles"].values:
                v = float(cmp["slope"].sel({"method": meth, "cycles": c}))
                e = float(cmp["slope_stderr"].sel({"method": meth, "cycles": c}))
                if math.isfinite(v):
                    rows.append(f"<tr><td class='l'>{html.escape(metric)}</td><td class='l'>{html.escape(str(meth))}"
                                f"</td><td>{int(c)}</td><td>{html.escape(_fmt(v, e))}</td></tr>")
    if not rows:
        return ""
    return ("<h2>Deposition rate of each route</h2><p class='small'>Weighted straight line of the thickness "
            "against n (slope in nm per minute of deposition).</p><div class='scroll'><table><tr>"
            "<th class='l'>thickness</th><th class='l'>route</th><th>cycles</th><th>rate (nm/min)</th></tr>"
            f"{''.join(rows)}</table></div>")


def _truth_table(study: Study, ds: Any) -> str:
    truth = study.manifest_extra.get("truth")
    if not isinstance(truth, dict):
        return ""
    keys = ["ni2_fraction", "r_ct", "r_sei", "retention_100", "thickness_nm"]
    head = "".join(f"<th>{k} true</th><th>{k} found</th>" for k in keys)
    labels = [str(x) for x in ds["sample"].values]
    rows = []
    for label, t in truth.items():
        if label not in labels:
            continue
        i = labels.index(label)
        cells = []
        for k in keys:
            tv = t.get(k) if isinstance(t, dict) else None
            metric = "thickness_sims" if k == "thickness_nm" else k
            found = ""
            if metric in ds:
                found = _fmt(float(ds[metric].values[i]), float(ds[f"{metric}_stderr"].values[i]))
            cells.append(f"<td>{'' if tv is None else f'{tv:.4g}'}</td><td>{html.escape(found)}</td>")
        rows.append(f"<tr><th class='l'>{html.escape(label)}</th>{''.join(cells)}</tr>")
    return ("<h2>Synthetic data: generating parameters and what the analysis found</h2>"
            "<p class='note'>This study is <b>synthetic</b>: its files were computed from the parameters in the "
            "manifest's [generator] and [truth] tables. The thickness column compares with the SIMS interface "
            "depth.</p>"
            f"<div class='scroll'><table><tr><th class='l'>sample</th>{head}</tr>{''.join(rows)}</table></div>")


# -------------------------------------------------------------------- figures
def _si_maker(key: str) -> Callable[[Study, str | dict[str, Any]], Any]:
    def make(study: Study, style: str | dict[str, Any]) -> Any:
        from ncmsurf.figures import SI_FIGURES

        spec = next(s for s in SI_FIGURES if s.key == key)
        return spec.make(study, None, style)

    return make


def _extra(name: str) -> Callable[[Study, str | dict[str, Any]], Any]:
    def make(study: Study, style: str | dict[str, Any]) -> Any:
        import ncmsurf.figures as nf

        return getattr(nf, name)(study, style=style)

    return make


def _report_figures() -> dict[str, tuple[str, Callable[[Study, str | dict[str, Any]], Any]]]:
    from ncmsurf.figures import SI_FIGURES

    out: dict[str, tuple[str, Callable[[Study, str | dict[str, Any]], Any]]] = {
        "metrics_vs_n": ("Metrics against n for each route (fresh solid, after cycling dashed; pristine as lines)",
                         _extra("metrics_vs_n")),
    }
    for spec in SI_FIGURES:
        out[spec.key] = (f"{spec.key.split('_')[0]}: {spec.caption}", _si_maker(spec.key))
    out["dqdv"] = ("dQ/dV of the first complete charge of each cell (H1→M, M→H2, H2→H3)", _extra("dqdv"))
    out["bode"] = ("Bode plots (|Z| and phase) with the fitted circuits", _extra("bode"))
    return out


#: name -> (caption, function(study, style) -> Figure): every figure of the report, all from ncmsurf.figures
REPORT_FIGURES: tuple[str, ...] = ("metrics_vs_n", "S1_eds_maps", "S2_xps_li1s_o1s", "S3_xps_tm2p", "S4_nyquist",
                                   "S5_rate_eis_cycling_low_n", "S6_rate_eis_cycling_high_n",
                                   "S7_xps_li1s_o1s_cycled", "S8_xps_tm2p_cycled", "S9_tem", "S10_sims_profiles",
                                   "dqdv", "bode")


def _png(fig: Any, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _figure_html(name: str, caption: str, data: bytes, fig: Any, dpi: int, figdir: str, notes: list[str],
                 layout: list[str]) -> str:
    w_in, h_in = fig.get_size_inches()
    b64 = base64.b64encode(data).decode("ascii")
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (f"<figure id='fig-{name}' data-layout-problems='{len(layout)}' data-notes='{len(notes)}'>"
            f"<img alt='{html.escape(caption)}' width='{int(round(w_in * 110))}' "
            f"height='{int(round(h_in * 110))}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)} (also <code>{html.escape(figdir)}/{name}.png</code>, "
            f"{dpi} dpi, and <code>.svg</code>){f'<ul>{items}</ul>' if items else ''}</figcaption></figure>")


def build_report(study: Study, path: str | os.PathLike[str], *, title: str | None = None, dpi: int = 300,
                 figures: Sequence[str] | None = None, style: str | dict[str, Any] = "paper") -> Report:
    """Write the report and tell what it holds.

    Parameters
    ----------
    study : Study
        Analysed or not (it is analysed quietly when needed).
    path : str or path-like
        HTML file to write; figures go to ``<stem>_figures/`` beside it.
    title : str, optional
        Page title (default: the study name).
    dpi : int
        Resolution of the PNG figures (default 300).
    figures : list of str, optional
        Subset of :data:`REPORT_FIGURES` (default: all that the data support).
    style : str or dict
        Figure style (see :func:`ncmsurf.figures.xps_panels`).

    Returns
    -------
    Report

    Raises
    ------
    NcmsurfError
        When matplotlib is missing (install the ``plot`` extra).
    """
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise NcmsurfError("the report needs matplotlib: pip install 'ncmsurf[plot]'") from exc
    from ncmsurf.figures import check_layout, figure_notes

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figdir = out.with_name(out.stem + "_figures")
    figdir.mkdir(exist_ok=True)
    ds = study.metrics()
    rep = Report(out)
    rep.metrics_csv = out.with_name(out.stem + "_metrics.csv")
    ds.to_dataframe().to_csv(rep.metrics_csv)
    rep.covered = _covered(study, ds)
    quality = _quality_table(study, ds)
    rep.verdicts = _verdicts(study)
    parts: list[str] = []
    makers = _report_figures()
    for name in REPORT_FIGURES:
        if figures is not None and name not in figures:
            continue
        caption, func = makers[name]
        try:
            fig = func(study, style)
        except (NcmsurfError, ValueError, KeyError) as exc:  # a figure the data cannot support is listed
            rep.skipped[name] = " ".join(str(exc).split())[:300] or type(exc).__name__
            continue
        data = _png(fig, dpi)
        png = figdir / f"{name}.png"
        png.write_bytes(data)
        fig.savefig(figdir / f"{name}.svg", format="svg")  # vector copy for papers and slides
        rep.figures[name] = png
        rep.notes[name] = figure_notes(fig)
        rep.layout[name] = check_layout(fig)
        parts.append(_figure_html(name, caption, data, fig, dpi, figdir.name, rep.notes[name], rep.layout[name]))
    cmp_rows = "".join(_compare_rows(study, m) for m in ("ni2_fraction", "r_ct", "r_sei", "retention_100",
                                                          "thickness_xps", "thickness_sims") if m in ds)
    cmp_html = ("<div class='scroll'><table><tr><th class='l'>metric</th><th class='l'>pair</th><th>n (min)</th>"
                f"<th>cycles</th><th>difference ± stderr</th><th>z</th></tr>{cmp_rows}</table></div>"
                if cmp_rows else "<p>No two routes share an n with values.</p>")
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in rep.skipped.items())
    notes = "".join(f"<li>{html.escape(k)}: {html.escape('; '.join(v))}</li>" for k, v in study.notes.items())
    from ncmsurf import __version__

    gen = study.manifest_extra.get("generator")
    synthetic = bool(gen.get("synthetic", False)) if isinstance(gen, dict) else False
    doc = template().substitute(
        title=html.escape(title or study.name or "ncmsurf study"),
        version=html.escape(__version__),
        date=f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M}",
        n_samples=len(study.samples),
        n_measurements=len(study),
        covered=html.escape(", ".join(rep.covered)),
        synthetic_note="<p class='note'><b>Synthetic demo data.</b> Not measurements.</p>" if synthetic else "",
        metrics_table=_metrics_table(ds, quality),
        verdict_table=_verdict_table(rep.verdicts),
        compare_table=cmp_html,
        rate_table=_rate_table(study, ds),
        truth_table=_truth_table(study, ds),
        figures="".join(parts),
        skipped=f"<h2>Figures not made</h2><ul>{skipped}</ul>" if skipped else "",
        reasons_table=_reasons_table(ds),
        notes=f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "",
    )
    out.write_text(doc, encoding="utf-8")
    return rep


def _covered(study: Study, ds: Any) -> list[str]:
    """Analysis kinds with at least one metric value (from the kinds of the study's results)."""
    kinds: list[str] = []
    for key in study.results():
        _, kind, _ = key.split("|", 2)
        if kind not in kinds:
            kinds.append(kind)
    with_values = []
    for kind in kinds:
        names = [m for m, (k, _) in _FALLBACK_SOURCES.items() if k == kind]
        if kind == "cycling":
            names += [str(m) for m in ds.data_vars if str(m).startswith("capacity_") or str(m).startswith("first_")]
        if any(m in ds and np.isfinite(np.asarray(ds[m].values, dtype=float)).any() for m in names) or not names:
            with_values.append(kind)
    return with_values


def write_report(study: Study, path: str | os.PathLike[str], **kw: Any) -> Path:
    """Write the HTML report of ``study`` to ``path`` and return the path (see :func:`build_report`)."""
    return build_report(study, path, **kw).path
