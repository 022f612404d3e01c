"""The ``ncmsurf`` command line.

``ncmsurf report [FOLDER] [-o OUT]``
    Analyse a study folder (a ``study.toml`` manifest) and write the HTML
    report; without FOLDER, the bundled synthetic demo study is generated in
    the user cache folder and reported.
``ncmsurf info FILE``
    The reader chosen for a file, the models found and their key metadata.
``ncmsurf fit {xps,eis,cycling} FILE ...``
    Fit files with the defaults (or ``--model`` / ``--circuit``) and print
    readable tables.

Exit code 0 on success; on bad input, 2 with a one-line reason on stderr.

Examples
--------
>>> main(["--version"])  # doctest: +ELLIPSIS
ncmsurf ...
0
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["main"]


class _Fail(Exception):
    """A one-line user-facing error."""


def _table(rows: Sequence[Sequence[Any]], header: Sequence[str]) -> str:
    cells = [[str(h) for h in header]] + [[_cell(x) for x in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))
             for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(x: Any) -> str:
    if isinstance(x, float):
        if not math.isfinite(x):
            return "nan"
        return f"{x:.6g}"
    return str(x)


def _vs(v: float, s: float) -> tuple[str, str]:
    return _cell(float(v)), _cell(float(s)) if s is not None else "nan"


# ------------------------------------------------------------------ report
def _cmd_report(args: argparse.Namespace) -> int:
    import ncmsurf as ns
    from ncmsurf.report import build_report

    if args.folder is None:
        folder = ns.datasets.demo_study()
        print(f"demo study (synthetic) written to {folder}")
    else:
        folder = Path(args.folder)
        if not folder.exists():
            raise _Fail(f"{folder}: no such folder")
    study = ns.Study.from_folder(folder, errors="record" if args.keep_going else "raise")
    study.analyze(progress=not args.quiet)
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        out = out / "report.html"
    rep = build_report(study, out)
    ds = study.metrics()
    n_val = sum(int(math.isfinite(float(x))) for m in ds.data_vars if not str(m).endswith("_stderr")
                for x in ds[m].values)
    n_all = sum(ds[m].size for m in ds.data_vars if not str(m).endswith("_stderr"))
    print(f"analyses covered: {', '.join(rep.covered) if rep.covered else 'none'}")
    print(f"metrics: {n_val} of {n_all} values for {len(study.samples)} samples "
          "(missing values and their reasons are listed in the report)")
    print(f"figures: {', '.join(rep.figures) if rep.figures else 'none'}")
    for name, why in rep.skipped.items():
        print(f"figure not made: {name}: {why}")
    if rep.metrics_csv is not None:
        print(f"metrics table: {rep.metrics_csv.resolve()}")
    print(f"report: {rep.path.resolve()}")
    return 0


# -------------------------------------------------------------------- info
def _cmd_info(args: argparse.Namespace) -> int:
    from ncmsurf.io.registry import choose_reader, read, sniff_scores

    path = Path(args.file)
    if args.format is not None:
        reader = choose_reader(path, kind=args.kind, fmt=args.format)
        scores: list[tuple[float, Any]] = []
        why = "chosen by --format"
    else:
        scores = sniff_scores(path, kind=args.kind)
        if not scores:
            reader = choose_reader(path, kind=args.kind)  # raises the "not recognised" error
        reader = scores[0][1]
        runner_up = f"; next: {scores[1][1].name} {scores[1][0]:.2f}" if len(scores) > 1 else ""
        why = f"confidence {scores[0][0]:.2f} (content sniffing{runner_up})"
    models = read(path, kind=args.kind, format=reader.name)
    print(f"file:   {path}")
    print(f"reader: {reader.name} ({reader.kind}) - {getattr(reader, 'description', '')}")
    print(f"        {why}")
    if len(scores) > 1:
        others = ", ".join(f"{r.name} {sc:.2f}" for sc, r in scores[1:6])
        print(f"        other candidates: {others}")
    print(f"models: {len(models)}")
    rows = []
    for i, m in enumerate(models):
        meta = m.meta
        keys = [k for k in ("region", "technique", "format", "instrument", "date", "cycle", "spectrum")
                if k in meta]
        extra = ", ".join(f"{k}={str(meta[k])[:30]}" for k in keys)
        rows.append([i, type(m).__name__, repr(m)[1 + len(type(m).__name__):-1].strip()[:70], extra[:60]])
    print(_table(rows, ["#", "model", "content", "metadata"]))
    return 0


# --------------------------------------------------------------------- fit
def _fit_xps(paths: Sequence[str], model: str | None) -> None:
    import ncmsurf as ns

    presets = set(ns.xps.presets())
    for p in paths:
        specs = ns.read_xps(p)
        if model is not None:
            chosen = [sp for sp in specs if sp.region == model] or (specs if len(specs) == 1 else [])
            if not chosen:
                raise _Fail(f"{p}: no {model!r} block (blocks: {[sp.region for sp in specs]})")
            specs = chosen
        for spec in specs:
            region = model or spec.region
            if region not in presets:
                print(f"{p}: block {spec.region!r}: no preset (use --model with one of {sorted(presets)})")
                continue
            fit = ns.xps.fit(spec, region)
            print(f"\n{p} - {spec.region or ''} fitted with preset {region!r}: "
                  f"{'converged' if fit.success else 'FAILED: ' + str(fit.message)}")
            rows = []
            total = sum(float(v[0]) for v in fit.areas.values()) or 1.0
            for name, (a, s) in fit.areas.items():
                rows.append([name, *_vs(a, s), f"{100 * float(a) / total:.1f}"])
            print(_table(rows, ["component", "area", "stderr", "% of area"]))
            if region == "Ni 2p" and fit.success:
                v, e = fit.fraction("Ni2+", among=["Ni2+", "Ni3+"])
                print(f"Ni2+ / (Ni2+ + Ni3+) = {_cell(float(v))} +- {_cell(float(e))}")


def _fit_eis(paths: Sequence[str], circuit: str | None) -> None:
    import ncmsurf as ns

    for p in paths:
        for spec in ns.read_eis(p):
            fit = ns.eis.fit(spec, circuit) if circuit else ns.eis.fit(spec)
            print(f"\n{p}: {len(spec.frequency)} points, circuit {getattr(fit, 'circuit', circuit or 'default')}: "
                  f"{'converged' if fit.success else 'FAILED: ' + str(getattr(fit, 'message', ''))}")
            names = dict(getattr(fit, "names", {}) or {})
            rows = [[k, names.get(k, ""), *_vs(v, fit.stderr.get(k, math.nan))] for k, v in fit.params.items()]
            print(_table(rows, ["parameter", "name", "value", "stderr"]))
            for w in getattr(fit, "warnings", []) or []:
                print(f"warning: {w}")


def _fit_cycling(paths: Sequence[str], model: str | None, mass: float | None) -> None:
    import numpy as np

    import ncmsurf as ns
    from ncmsurf.study._steps import _longest_run

    for p in paths:
        data = ns.read_cycling(p, mass=mass)
        s = ns.cycling.summary(data)
        q = np.asarray(s["discharge_capacity"].values, dtype=float)
        unit = s["discharge_capacity"].attrs.get("units", "")
        print(f"\n{p}: {len(data)} records, {q.size} cycles")
        rows = [["first discharge capacity", _cell(float(q[0])) if q.size else "nan", unit],
                ["first coulombic efficiency", _cell(float(s["coulombic_efficiency"].values[0])) if q.size else "nan",
                 s["coulombic_efficiency"].attrs.get("units", "")]]
        try:
            rate = ns.cycling.rate_capability(data)
            for i in range(int(rate.sizes.get("rate_step", 0))):
                c = float(rate["nominal_c_rate"].values[i] if "nominal_c_rate" in rate else rate["c_rate"].values[i])
                rows.append([f"capacity at {c:g}C", _cell(float(rate["capacity_mean"].values[i])), unit])
        except Exception as exc:
            rows.append(["rate capability", f"not available ({type(exc).__name__}: {exc})"[:60], ""])
        rates = np.asarray(s["c_rate"].values, dtype=float) if "c_rate" in s else np.ones(q.size)
        i0, i1 = _longest_run(rates)
        run = q[i0:i1]
        if run.size >= 10:
            fade = ns.cycling.fit_fade(np.arange(1, run.size + 1), run, model=model or "auto")
            ct = fade.cycles_to(0.8)
            rows.append([f"fade model (cycles {i0 + 1}-{i1})", str(fade.model), ""])
            rows.append(["cycles to 80 % (95 % interval)",
                         "n/a" if ct is None else f"{ct[0]:.1f} ({ct[1]:.1f}-{ct[2]:.1f})", "cycles"])
        print(_table(rows, ["quantity", "value", "unit"]))


def _cmd_fit(args: argparse.Namespace) -> int:
    if args.kind == "xps":
        _fit_xps(args.files, args.model)
    elif args.kind == "eis":
        _fit_eis(args.files, args.circuit or args.model)
    else:
        _fit_cycling(args.files, args.model, args.mass)
    return 0


# -------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    from ncmsurf import __version__

    p = argparse.ArgumentParser(prog="ncmsurf", description="Surface study of coated Ni-rich NCM cathodes.")
    p.add_argument("--version", action="version", version=f"ncmsurf {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{report,info,fit}")
    r = sub.add_parser("report", help="analyse a study folder (default: the synthetic demo) and write the HTML report")
    r.add_argument("folder", nargs="?", help="study folder with a study.toml (default: the bundled demo study)")
    r.add_argument("-o", "--output", default="ncmsurf-report/report.html",
                   help="report file or folder (default: ./ncmsurf-report/report.html)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--keep-going", action="store_true",
                   help="report unreadable files as missing values instead of stopping")
    i = sub.add_parser("info", help="which reader a file needs, the models in it and their metadata")
    i.add_argument("file")
    i.add_argument("--kind", choices=["xps", "eis", "cycling", "sims", "eds"], default=None)
    i.add_argument("--format", default=None, help="force a reader by name (see the list in the docs)")
    f = sub.add_parser("fit", help="fit files with the default models and print tables")
    f.add_argument("kind", choices=["xps", "eis", "cycling"])
    f.add_argument("files", nargs="+")
    f.add_argument("--model", default=None, help="XPS preset, fade model, or circuit")
    f.add_argument("--circuit", default=None, help="equivalent circuit (impedance.py syntax or a preset)")
    f.add_argument("--mass", type=float, default=None, help="active mass in g (cycling)")
    return p


def _one_line(command: str, exc: BaseException, *, named: bool) -> str:
    """``ncmsurf CMD: error: [Kind: ]message`` on one line, at most 2,000 characters."""
    msg = " ".join(str(exc).split()) or type(exc).__name__
    if named and not msg.startswith(type(exc).__name__):
        msg = f"{type(exc).__name__}: {msg}"
    if len(msg) > 2000:
        msg = msg[:1997] + "..."
    return f"ncmsurf {command}: error: {msg}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 on bad input or a failed analysis (with a one-line
        reason on stderr).
    """
    from ncmsurf.core.errors import NcmsurfError

    parser = _parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exc:
        return int(exc.code) if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_help()
        return 0
    handlers = {"report": _cmd_report, "info": _cmd_info, "fit": _cmd_fit}
    try:
        return handlers[args.command](args)
    except (NcmsurfError, _Fail) as exc:
        print(_one_line(args.command, exc, named=isinstance(exc, NcmsurfError)), file=sys.stderr)
        return 2
    except (OSError, ValueError, KeyError, TypeError, RecursionError, MemoryError) as exc:
        # input the checks upstream did not catch (an option of the wrong type, a nesting too deep, ...):
        # still one line and exit 2, with the kind of error so that it can be reported
        print(_one_line(args.command, exc, named=True), file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print("ncmsurf: interrupted", file=sys.stderr)
        return 130
