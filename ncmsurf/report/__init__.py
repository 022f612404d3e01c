"""The HTML report of a study: one self-contained file plus its figures as PNG.

The report holds the metrics table (value ± standard error, with the reason
for every missing value), the comparison of the routes at equal ``n``, the
generating parameters when the study is the synthetic demo, and the figures
(metrics against ``n`` for each route, Nyquist plots with fitted curves, XPS
fits with components, rate ladders, retention curves, dQ/dV, depth profiles).
Figures are embedded as base64 PNG and also written beside the HTML file, with
the metrics table as CSV.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError

if TYPE_CHECKING:
    from ncmsurf.study import Study

__all__ = ["Report", "build_report", "write_report"]


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
    """

    path: Path
    metrics_csv: Path | None = None
    figures: dict[str, Path] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    covered: list[str] = field(default_factory=list)


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5em auto;max-width:1200px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0}th,td{border:1px solid #ddd;padding:2px 6px;
text-align:right;white-space:nowrap}th{background:#f3f3f3}td.l,th.l{text-align:left}td.na{color:#999}
.scroll{overflow-x:auto}figure{margin:1em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.85em;color:#555}.note{background:#fff8e0;border:1px solid #eed;padding:.5em;font-size:.9em}
.small{font-size:.8em;color:#555}
"""


def _fmt(v: float, e: float) -> str:
    if not math.isfinite(v):
        return "NaN"
    digits = 4
    if math.isfinite(e) and e > 0:
        return f"{v:.{digits}g} ± {e:.2g}"
    return f"{v:.{digits}g}"


def _metrics_table(ds: Any) -> str:
    metrics = [str(k) for k in ds.data_vars if not str(k).endswith("_stderr")]
    reasons = ds.attrs.get("reasons", {})
    head = "".join(f"<th title='{html.escape(str(ds[m].attrs.get('description', '')))}'>{html.escape(m)}"
                   f"<br><span class='small'>{html.escape(str(ds[m].attrs.get('units', '')))}</span></th>"
                   for m in metrics)
    rows = []
    for i, label in enumerate(ds["sample"].values):
        cells = []
        for m in metrics:
            v = float(ds[m].values[i])
            e = float(ds[f"{m}_stderr"].values[i])
            if math.isfinite(v):
                cells.append(f"<td>{html.escape(_fmt(v, e))}</td>")
            else:
                why = reasons.get(m, {}).get(str(label), "")
                cells.append(f"<td class='na' title='{html.escape(why)}'>NaN</td>")
        rows.append(f"<tr><th class='l'>{html.escape(str(label))}</th>{''.join(cells)}</tr>")
    return (f"<div class='scroll'><table><tr><th class='l'>sample</th>{head}</tr>{''.join(rows)}</table></div>"
            "<p class='small'>value ± standard error; hover a NaN for its reason (all reasons are listed below).</p>")


def _reasons_table(ds: Any) -> str:
    reasons = ds.attrs.get("reasons", {})
    grouped: dict[tuple[str, str], list[str]] = {}
    for m, per in reasons.items():
        for label, why in per.items():
            grouped.setdefault((label, why), []).append(m)
    if not grouped:
        return "<p>Every metric has a value for every sample.</p>"
    rows = "".join(f"<tr><td class='l'>{html.escape(label)}</td><td class='l'>{html.escape(', '.join(ms))}</td>"
                   f"<td class='l'>{html.escape(why)}</td></tr>" for (label, why), ms in sorted(grouped.items()))
    return (f"<div class='scroll'><table><tr><th class='l'>sample</th><th class='l'>metrics</th>"
            f"<th class='l'>reason</th></tr>{rows}</table></div>")


def _compare_table(study: Study, metric: str) -> str:
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


def _png(fig: Any, dpi: int) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def build_report(study: Study, path: str | os.PathLike[str], *, title: str | None = None, dpi: int = 100,
                 figures: list[str] | None = None) -> Report:
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
        Resolution of the PNG figures.
    figures : list of str, optional
        Subset of the figure names (default: all that the data support).

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
    from ncmsurf.report._figures import FIGURES

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figdir = out.with_name(out.stem + "_figures")
    figdir.mkdir(exist_ok=True)
    ds = study.metrics()
    rep = Report(out)
    rep.metrics_csv = out.with_name(out.stem + "_metrics.csv")
    ds.to_dataframe().to_csv(rep.metrics_csv)
    from ncmsurf.study._steps import METRICS

    kinds = []
    for m in ds.data_vars:
        m = str(m)
        if m.endswith("_stderr") or not np.isfinite(ds[m].values).any():
            continue
        kind = METRICS[m].kind if m in METRICS else ("cycling" if m.startswith("capacity_") else "other")
        if kind not in kinds:
            kinds.append(kind)
    rep.covered = kinds
    parts: list[str] = []
    for name, (caption, func) in FIGURES.items():
        if figures is not None and name not in figures:
            continue
        try:
            fig = func(study)
        except Exception as exc:  # a figure the data cannot support is listed, not fatal
            rep.skipped[name] = f"{type(exc).__name__}: {exc}"[:200]
            continue
        data = _png(fig, dpi)
        png = figdir / f"{name}.png"
        png.write_bytes(data)
        fig.savefig(figdir / f"{name}.svg", format="svg")  # vector copy for papers and slides
        rep.figures[name] = png
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f"<figure id='fig-{name}'><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
                     f"<figcaption>{html.escape(caption)} (also <code>{html.escape(figdir.name)}/{name}.png</code> "
                     f"and <code>.svg</code>)"
                     "</figcaption></figure>")
    title = title or study.name or "ncmsurf study"
    cmp_rows = "".join(_compare_table(study, m) for m in ("ni2_fraction", "r_ct", "r_sei", "retention_100",
                                                           "thickness_xps", "thickness_sims") if m in ds)
    cmp_html = ("<div class='scroll'><table><tr><th class='l'>metric</th><th class='l'>pair</th><th>n (min)</th>"
                f"<th>cycles</th><th>difference ± stderr</th><th>z</th></tr>{cmp_rows}</table></div>"
                if cmp_rows else "<p>No two routes share an n with values.</p>")
    skipped = "".join(f"<li>{html.escape(k)}: {html.escape(v)}</li>" for k, v in rep.skipped.items())
    notes = "".join(f"<li>{html.escape(k)}: {html.escape('; '.join(v))}</li>" for k, v in study.notes.items())
    from ncmsurf import __version__

    synthetic = bool(study.manifest_extra.get("generator", {}).get("synthetic", False)) if isinstance(
        study.manifest_extra.get("generator"), dict) else False
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{html.escape(title)}</h1>
<p class="small">ncmsurf {html.escape(__version__)} · {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC ·
{len(study.samples)} samples · {len(study)} measurements · analyses with values: {html.escape(', '.join(kinds))}</p>
{"<p class='note'><b>Synthetic demo data.</b> Not measurements.</p>" if synthetic else ""}
<h2>Metrics</h2>
{_metrics_table(ds)}
<h2>Routes compared at equal n</h2>
{cmp_html}
{_rate_table(study, ds)}
{_truth_table(study, ds)}
<h2>Figures</h2>
{''.join(parts)}
{f"<h2>Figures not made</h2><ul>{skipped}</ul>" if skipped else ""}
<h2>Missing values and their reasons</h2>
{_reasons_table(ds)}
{f"<h2>Notes</h2><ul>{notes}</ul>" if notes else ""}
</body></html>
"""
    out.write_text(doc, encoding="utf-8")
    return rep


def write_report(study: Study, path: str | os.PathLike[str], **kw: Any) -> Path:
    """Write the HTML report of ``study`` to ``path`` and return the path (see :func:`build_report`)."""
    return build_report(study, path, **kw).path
