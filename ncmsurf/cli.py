"""The ``ncmsurf`` command line.

``ncmsurf report [FOLDER] [-o OUT]``
    Analyse a study folder (a ``study.toml`` manifest) and write the HTML
    report; without FOLDER, the bundled synthetic demo study is generated in
    the user cache folder and reported.
``ncmsurf figures [FOLDER] [-o OUT] [--samples ...] [--format pdf,svg,png]``
    The supplementary-figure set (S1–S10) of a study, each figure as PDF,
    SVG and PNG (300 dpi); without FOLDER, the demo study's.
``ncmsurf info FILE``
    The reader chosen for a file, the models found and their key metadata.
``ncmsurf fit {xps,eis,cycling} FILE ... [--json]``
    Fit files with the defaults (or ``--model`` / ``--circuit``, ``--area``,
    ``--mass``, ``--convention``, ``--charge-ref``, ``--capacitive-only``)
    and print readable tables with each fit's verdict and its reasons, or
    one JSON document with ``--json``.

Exit code 0 on success (``fit``: every fit good or suspect); 1 when a fit
failed; on bad input, 2 with a one-line reason on stderr.

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
def _load_study(folder_arg: str | None, keep_going: bool, quiet: bool) -> Any:
    import ncmsurf as ns

    if folder_arg is None:
        folder = ns.datasets.demo_study()
        print(f"demo study (synthetic) written to {folder}")
    else:
        folder = Path(folder_arg)
        if not folder.exists():
            raise _Fail(f"{folder}: no such folder")
    study = ns.Study.from_folder(folder, errors="record" if keep_going else "raise")
    study.analyze(progress=not quiet)
    return study


def _samples_arg(text: str | None) -> list[str] | None:
    if text is None:
        return None
    from ncmsurf.core.sample import Sample

    out = []
    for part in (x.strip() for x in text.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            out.append(Sample.parse(part).label)
        except ValueError as exc:
            raise _Fail(f"--samples: {part!r} is not a sample label ({exc})") from exc
    return out


def _cmd_report(args: argparse.Namespace) -> int:
    from ncmsurf.report import build_report

    study = _load_study(args.folder, args.keep_going, args.quiet)
    out = Path(args.output)
    if out.suffix.lower() not in (".html", ".htm"):
        out = out / "report.html"
    rep = build_report(study, out, dpi=args.dpi)
    ds = study.metrics()
    names = [m for m in ds.data_vars if not (str(m).endswith("_stderr") or str(m).endswith("_quality"))]
    n_val = sum(int(math.isfinite(float(x))) for m in names for x in ds[m].values)
    n_all = sum(ds[m].size for m in names)
    print(f"analyses covered: {', '.join(rep.covered) if rep.covered else 'none'}")
    print(f"metrics: {n_val} of {n_all} values for {len(study.samples)} samples "
          "(missing values and their reasons are listed in the report)")
    bad = [v for v in rep.verdicts if v[2] != "good"]
    print(f"fits not good: {len(bad)}" + (" (" + ", ".join(f"{a} {b}: {c}" for a, b, c, _ in bad[:5])
                                          + (", ..." if len(bad) > 5 else "") + ")" if bad else ""))
    print(f"figures: {', '.join(rep.figures) if rep.figures else 'none'}")
    for name, why in rep.skipped.items():
        print(f"figure not made: {name}: {why}")
    if rep.metrics_csv is not None:
        print(f"metrics table: {rep.metrics_csv.resolve()}")
    print(f"report: {rep.path.resolve()}")
    return 0


# ----------------------------------------------------------------- figures
def _cmd_figures(args: argparse.Namespace) -> int:
    from ncmsurf.figures import supplementary

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    samples = _samples_arg(args.samples)
    study = _load_study(args.folder, args.keep_going, args.quiet)
    res = supplementary(study, args.output, samples=samples, formats=formats, dpi=args.dpi,
                        style=args.style, figures=args.only.split(",") if args.only else None)
    for key, files in res.files.items():
        print(f"{key}: {', '.join(p.name for p in files)}")
        for n in res.notes.get(key, []):
            print(f"  note: {n}")
    for key, why in res.skipped.items():
        print(f"{key}: not made: {why}")
    print(f"figures: {len(res.files)} of {len(res.files) + len(res.skipped)} written to {Path(args.output).resolve()}")
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
def _num(x: Any) -> float | None:
    """A float for JSON (NaN and inf become null)."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _verdict_record(result: Any) -> dict[str, Any]:
    from ncmsurf.core.results import FitResult
    from ncmsurf.figures import verdict

    if isinstance(result, FitResult) and not (result.success is False and result.quality.level != "failed"):
        q = result.quality
        return {"level": q.level, "reasons": [{"code": r.code, "message": r.message} for r in q.reasons]}
    v = verdict(result)
    code = "not_converged" if v.level == "failed" else "warning"
    return {"level": v.level, "reasons": [{"code": code, "message": m} for m in v.reasons]}


def _pm(v: float | None, e: float | None, unit: str = "") -> str:
    """``1.234e5 ± 2.1e3`` in readable digits (engineering-like, 4 significant)."""
    if v is None:
        return "nan"
    txt = _short_num(v)
    if e is not None and e > 0:
        txt += f" ± {_short_num(e, 2)}"
    return f"{txt} {unit}".rstrip()


def _short_num(v: float, digits: int = 4) -> str:
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e5:
        mag = int(math.floor(math.log10(abs(v))))
        if mag >= digits - 1:  # no exponent: round to `digits` significant figures as an integer
            return f"{round(v, -(mag - digits + 1)):.0f}"
        return f"{v:.{digits}g}"
    exp = int(math.floor(math.log10(abs(v))))
    mant = v / 10 ** exp
    sup = str(exp).translate(str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻"))
    return f"{mant:.{max(digits - 1, 1)}f}×10{sup}"


def _block_label(spec: Any, index: int) -> str:
    region = spec.region or ("survey" if _is_survey(spec) else f"block {index + 1}")
    angle = spec.meta.get("emission_angle")
    if angle is not None and _num(angle) is not None:
        region += f" at {float(angle):g}°"
    return region


def _is_survey(spec: Any) -> bool:
    be = spec.binding_energy
    return bool(be.max() - be.min() > 300.0)


def _fit_xps(paths: Sequence[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    import ncmsurf as ns

    presets = set(ns.xps.presets())
    records: list[dict[str, Any]] = []
    for p in paths:
        specs = list(ns.read_xps(p))
        if args.model is not None:
            chosen = [sp for sp in specs if sp.region == args.model] or (specs if len(specs) == 1 else [])
            if not chosen:
                blocks = [_block_label(s, i) for i, s in enumerate(specs)]
                raise _Fail(f"{p}: no {args.model!r} block (blocks: {blocks})")
        else:
            chosen = specs
        if args.charge_ref is not None and args.charge_ref.lower() != "none":
            to = _charge_target(args.charge_ref)
            if any(sp.region == "C 1s" for sp in specs):
                shifted = ns.xps.charge_correct(specs, reference="C 1s", to=to)
                by_id = {id(a): b for a, b in zip(specs, shifted)}
                chosen = [by_id.get(id(sp), sp) for sp in chosen]
            else:
                print(f"{p}: no C 1s block: not charge corrected", file=sys.stderr)
        for i, spec in enumerate(chosen):
            label = _block_label(spec, specs.index(spec) if spec in specs else i)
            region = args.model or spec.region
            rec: dict[str, Any] = {"file": str(p), "block": label, "region": spec.region,
                                   "emission_angle": _num(spec.meta.get("emission_angle")),
                                   "charge_shift": _num(spec.meta.get("charge_shift", 0.0))}
            if region not in presets:
                rec |= {"model": None, "verdict": {"level": "skipped", "reasons": [
                    {"code": "no_preset", "message": "no preset for this block (use --model with one of "
                                                     f"{sorted(presets)})"}]}, "components": []}
                records.append(rec)
                continue
            fit = ns.xps.fit(spec, region, background=args.background)
            units = str(spec.units)
            total = sum(float(a) for a, _ in fit.areas.values()) or math.nan
            comps = []
            for name, (a, e) in fit.areas.items():
                c = fit.params.get(f"{name}.center", (math.nan, math.nan))
                w = fit.params.get(f"{name}.fwhm", (math.nan, math.nan))
                off = fit.params.get(f"{name}.offset")
                comps.append({"name": name, "center": _num(c[0]), "center_stderr": _num(c[1]),
                              "offset": _num(off[0]) if off else None, "fwhm": _num(w[0]), "fwhm_stderr": _num(w[1]),
                              "area": _num(a), "area_stderr": _num(e), "area_percent": _num(100 * float(a) / total)})
            rec |= {"model": region, "background": args.background, "intensity_units": units,
                    "area_units": f"{units}*eV", "redchi": _num(fit.redchi), "verdict": _verdict_record(fit),
                    "components": comps, "derived": {}}
            if region == "Ni 2p" and fit.success:
                v, e = fit.fraction("Ni2+", among=["Ni2+", "Ni3+"])
                rec["derived"]["ni2_fraction"] = {"value": _num(v), "stderr": _num(e)}
            records.append(rec)
    return records


def _charge_target(text: str) -> float:
    try:
        return float(text)
    except ValueError as exc:
        raise _Fail(f"--charge-ref: expected the C 1s position in eV (e.g. 284.8) or 'none', got {text!r}") from exc


def _print_xps(rec: dict[str, Any]) -> None:
    v = rec["verdict"]
    print(f"\n{rec['file']} - {rec['block']}" + (f" fitted with preset {rec['model']!r}" if rec.get("model") else "")
          + f": {v['level']}")
    for r in v["reasons"]:
        print(f"  {v['level']}: {r['message']}")
    if not rec["components"]:
        return
    unit = rec["area_units"].replace("counts/s", "CPS").replace("*", "·")
    rows = []
    for c in rec["components"]:
        pos = (_pm(c["center"], c["center_stderr"]) if c["center"] is not None
               else f"+{c['offset']:.3g} (offset)" if c["offset"] is not None else "")
        rows.append([c["name"], pos, _pm(c["fwhm"], c["fwhm_stderr"]), _pm(c["area"], c["area_stderr"]),
                     f"{c['area_percent']:.1f}" if c["area_percent"] is not None else "nan"])
    print(_table(rows, ["component", "centre (eV)", "FWHM (eV)", f"area ({unit})", "% of area"]))
    print(f"reduced chi-square: {_cell(rec['redchi']) if rec['redchi'] is not None else 'nan'}"
          + (f"; charge shift {rec['charge_shift']:+.3f} eV" if rec.get("charge_shift") else ""))
    if "ni2_fraction" in rec.get("derived", {}):
        d = rec["derived"]["ni2_fraction"]
        print(f"Ni2+ / (Ni2+ + Ni3+) = {_pm(d['value'], d['stderr'])}")


def _eis_unit(name: str, area: bool) -> str:
    from ncmsurf.figures import unit_text

    ohm = "ohm*cm**2" if area else "ohm"
    if name.startswith("CPE") and name.endswith("_1"):
        return ""
    if name.startswith("CPE") and name.endswith("_0"):
        return "F·s^(α−1)" + ("/cm²" if area else "")
    if name.startswith("C"):
        return unit_text("F/cm**2" if area else "F")
    if name.startswith("L"):
        return unit_text("H*cm**2" if area else "H")
    if name.startswith("W") or name.startswith("Wo") or name.startswith("Ws"):
        return unit_text(ohm + "*s**-0.5") if not name.endswith("_1") else "s"
    return unit_text(ohm)


def _fit_eis(paths: Sequence[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    import ncmsurf as ns

    records = []
    circuit = args.circuit or args.model
    for p in paths:
        for k, spec in enumerate(ns.read_eis(p)):
            if args.area is not None:
                if args.area <= 0:
                    raise _Fail(f"--area: a positive electrode area in cm² is needed, got {args.area}")
                spec = spec.replace(area=args.area)
            kw: dict[str, Any] = {"capacitive_only": True} if args.capacitive_only else {}
            fit = ns.eis.fit(spec, circuit, **kw) if circuit else ns.eis.fit(spec, **kw)
            area = spec.area is not None
            scale = float(spec.area) if area else 1.0
            phys: dict[str, str] = {str(k): str(v) for k, v in dict(fit.physical_names).items()}
            params = []
            for name, value in fit.params.items():
                e = fit.stderr.get(name, math.nan)
                resistive = name.startswith("R") or (name.startswith("W") and not name.endswith("_1"))
                capacitive = name.startswith("C") and not name.endswith("_1")
                mult = scale if area and resistive else (1.0 / scale if area and capacitive else 1.0)
                params.append({"name": name, "physical_name": phys.get(name), "value": _num(float(value) * mult),
                               "stderr": _num(float(e) * mult), "unit": _eis_unit(name, area)})
            records.append({"file": str(p), "block": f"spectrum {k + 1}", "n_points": int(len(spec.frequency)),
                            "circuit": str(getattr(fit, "circuit", circuit or "default")),
                            "area_cm2": _num(spec.area) if area else None,
                            "capacitive_only": bool(args.capacitive_only), "chi2": _num(getattr(fit, "chi2", None)),
                            "aic": _num(getattr(fit, "aic", None)), "verdict": _verdict_record(fit),
                            "parameters": params})
    return records


def _print_eis(rec: dict[str, Any]) -> None:
    v = rec["verdict"]
    print(f"\n{rec['file']} - {rec['block']}: {rec['n_points']} points, circuit {rec['circuit']}"
          + (f", area {rec['area_cm2']:g} cm²" if rec["area_cm2"] else "") + f": {v['level']}")
    for r in v["reasons"]:
        print(f"  {v['level']}: {r['message']}")
    rows = [[x["name"], x["physical_name"] or "", _pm(x["value"], x["stderr"]), x["unit"]] for x in rec["parameters"]]
    print(_table(rows, ["parameter", "name", "value ± stderr", "unit"]))
    if rec["chi2"] is not None:
        print(f"chi-square: {_cell(rec['chi2'])}, AIC: {_cell(rec['aic']) if rec['aic'] is not None else 'nan'}")


def _fit_cycling(paths: Sequence[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    import numpy as np

    import ncmsurf as ns
    from ncmsurf.figures import rate_label
    from ncmsurf.figures._cycling import _long_run

    records = []
    for p in paths:
        if args.mass is not None and args.mass <= 0:
            raise _Fail(f"--mass: a positive active mass in g is needed, got {args.mass}")
        data = ns.read_cycling(p, mass=args.mass)
        conv: str | int = args.convention
        s = ns.cycling.summary(data, convention=conv)
        q = np.asarray(s["discharge_capacity"].values, dtype=float)
        unit = str(s["discharge_capacity"].attrs.get("units", s.attrs.get("capacity_units", "")))
        ce_unit = str(s["coulombic_efficiency"].attrs.get("units", ""))
        complete = np.asarray(s["complete"].values, dtype=bool) if "complete" in s else np.ones(q.size, bool)
        first = int(np.flatnonzero(complete)[0]) if complete.any() else 0
        quantities = [
            {"name": "first complete cycle", "value": _num(int(s["cycle"].values[first])) if q.size else None,
             "unit": ""},
            {"name": "first discharge capacity", "value": _num(q[first]) if q.size else None, "unit": unit},
            {"name": "first coulombic efficiency",
             "value": _num(s["coulombic_efficiency"].values[first]) if q.size else None, "unit": ce_unit},
        ]
        rate_steps = []
        notes = []
        try:
            rate = ns.cycling.rate_capability(data, convention=conv)
            for i in range(int(rate.sizes.get("rate_step", 0))):
                c = float(rate["c_rate"].values[i])
                rate_steps.append({"c_rate": rate_label(c), "c_rate_measured": _num(c),
                                   "first_cycle": int(rate["first_cycle"].values[i]),
                                   "last_cycle": int(rate["last_cycle"].values[i]),
                                   "capacity": _num(rate["capacity_mean"].values[i]),
                                   "capacity_std": _num(rate["capacity_std"].values[i]), "unit": unit})
        except (ns.NcmsurfError, ValueError) as exc:
            notes.append(f"rate capability not available: {' '.join(str(exc).split())[:160]}")
        fade_rec: dict[str, Any] | None = None
        verdict = {"level": "good", "reasons": []}
        rates = np.asarray(s["c_rate"].values, dtype=float) if "c_rate" in s else np.ones(q.size)
        i0, i1 = _long_run(rates)
        run = q[i0:i1]
        if run.size >= 10:
            fade = ns.cycling.fit_fade(np.arange(1, run.size + 1), run, model=args.model or "auto")
            ct = fade.cycles_to(0.8)
            verdict = _verdict_record(fade)
            fade_rec = {"model": str(fade.model), "first_cycle": int(s["cycle"].values[i0]),
                        "last_cycle": int(s["cycle"].values[i1 - 1]),
                        "c_rate": rate_label(float(np.nanmedian(rates[i0:i1]))) if np.isfinite(rates[i0:i1]).any()
                        else None,
                        "cycles_to_80": None if ct is None else {"value": _num(ct[0]), "low": _num(ct[1]),
                                                                 "high": _num(ct[2])}}
        else:
            notes.append(f"no fade fit: the longest run at one C-rate has {run.size} cycles (10 needed)")
        records.append({"file": str(p), "n_records": int(len(data)), "n_cycles": int(q.size),
                        "mass_g": _num(data.mass) if data.mass is not None else None, "convention": str(conv),
                        "capacity_unit": unit, "quantities": quantities, "rate_steps": rate_steps, "fade": fade_rec,
                        "verdict": verdict, "notes": notes})
    return records


def _print_cycling(rec: dict[str, Any]) -> None:
    from ncmsurf.figures import unit_text

    print(f"\n{rec['file']}: {rec['n_records']} records, {rec['n_cycles']} cycles"
          + ("" if rec["mass_g"] else " (no active mass: capacities in mAh; use --mass)"))
    rows = [[x["name"], _cell(x["value"]) if x["value"] is not None else "nan", unit_text(x["unit"])]
            for x in rec["quantities"]]
    for r in rec["rate_steps"]:
        rows.append([f"capacity at {r['c_rate']} (cycles {r['first_cycle']}-{r['last_cycle']})",
                     _pm(r["capacity"], r["capacity_std"]), unit_text(r["unit"])])
    f = rec["fade"]
    if f is not None:
        rows.append([f"fade model (cycles {f['first_cycle']}-{f['last_cycle']}, {f['c_rate']})", f["model"], ""])
        ct = f["cycles_to_80"]
        rows.append(["cycles to 80 % (95 % interval)",
                     "n/a" if ct is None or ct["value"] is None else
                     f"{ct['value']:.1f} ({_cell(ct['low'])}-{_cell(ct['high'])})", "cycles"])
    print(_table(rows, ["quantity", "value", "unit"]))
    v = rec["verdict"]
    print(f"fade fit: {v['level']}" if f is not None else "fade fit: none")
    for r in v["reasons"]:
        print(f"  {v['level']}: {r['message']}")
    for n in rec["notes"]:
        print(f"note: {n}")


def _cmd_fit(args: argparse.Namespace) -> int:
    import json

    from ncmsurf import __version__

    fitters = {"xps": (_fit_xps, _print_xps), "eis": (_fit_eis, _print_eis), "cycling": (_fit_cycling, _print_cycling)}
    fit, show = fitters[args.kind]
    records = fit(args.files, args)
    failed = any(r["verdict"]["level"] == "failed" for r in records)
    code = 1 if failed else 0
    if args.json:
        print(json.dumps({"ncmsurf": __version__, "kind": args.kind, "exit_code": code, "results": records},
                         ensure_ascii=False, allow_nan=False, indent=1))
    else:
        for r in records:
            show(r)
        levels = [r["verdict"]["level"] for r in records]
        print("\nverdicts: " + ", ".join(f"{levels.count(x)} {x}" for x in ("good", "suspect", "failed", "skipped")
                                         if levels.count(x)))
    return code


# -------------------------------------------------------------------- main
def _parser() -> argparse.ArgumentParser:
    from ncmsurf import __version__

    p = argparse.ArgumentParser(prog="ncmsurf", description="Surface study of coated Ni-rich NCM cathodes.")
    p.add_argument("--version", action="version", version=f"ncmsurf {__version__}")
    sub = p.add_subparsers(dest="command", metavar="{report,figures,info,fit}")
    r = sub.add_parser("report", help="analyse a study folder (default: the synthetic demo) and write the HTML report")
    r.add_argument("folder", nargs="?", help="study folder with a study.toml (default: the bundled demo study)")
    r.add_argument("-o", "--output", default="ncmsurf-report/report.html",
                   help="report file or folder (default: ./ncmsurf-report/report.html)")
    r.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    r.add_argument("--keep-going", action="store_true",
                   help="report unreadable files as missing values instead of stopping")
    r.add_argument("--dpi", type=int, default=300, help="PNG resolution of the figures (default 300)")
    g = sub.add_parser("figures", help="write the supplementary-figure set (S1-S10) of a study as PDF, SVG, PNG")
    g.add_argument("folder", nargs="?", help="study folder with a study.toml (default: the bundled demo study)")
    g.add_argument("-o", "--output", default="ncmsurf-figures", help="output folder (default: ./ncmsurf-figures)")
    g.add_argument("--samples", default=None,
                   help="comma-separated sample labels to show, e.g. 'P-NCM,A(3)-NCM,F(3)-NCM' (default: each "
                        "figure's usual choice)")
    g.add_argument("--format", default="pdf,svg,png", help="comma-separated formats (default: pdf,svg,png)")
    g.add_argument("--dpi", type=int, default=300, help="PNG resolution (default 300)")
    g.add_argument("--style", default="paper", help="paper (default), presentation, default or a matplotlib style")
    g.add_argument("--only", default=None, help="comma-separated figures to make, e.g. S4,S10")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    g.add_argument("--keep-going", action="store_true", help="unreadable files become missing values")
    i = sub.add_parser("info", help="which reader a file needs, the models in it and their metadata")
    i.add_argument("file")
    i.add_argument("--kind", choices=["xps", "eis", "cycling", "sims", "eds"], default=None)
    i.add_argument("--format", default=None, help="force a reader by name (see the list in the docs)")
    f = sub.add_parser("fit", help="fit files and print tables (or --json); exit 1 when a fit failed")
    f.add_argument("kind", choices=["xps", "eis", "cycling"])
    f.add_argument("files", nargs="+")
    f.add_argument("--model", default=None, help="XPS preset, fade model, or circuit")
    f.add_argument("--circuit", default=None,
                   help="equivalent circuit (impedance.py syntax, a preset, or 'auto' to select by AIC)")
    f.add_argument("--area", type=float, default=None, help="electrode area in cm² (EIS: values in Ω·cm²)")
    f.add_argument("--mass", type=float, default=None, help="active mass in g (cycling: capacities in mAh/g)")
    f.add_argument("--convention", default="cathode", choices=["cathode", "anode", "full-cell"],
                   help="electrode convention of the current sign (cycling; default cathode)")
    f.add_argument("--charge-ref", default=None, metavar="EV",
                   help="XPS: shift every block so that the file's C 1s sits at EV (e.g. 284.8); 'none' to skip")
    f.add_argument("--background", default="shirley", choices=["shirley", "active-shirley", "tougaard", "linear"],
                   help="XPS background (default shirley)")
    f.add_argument("--capacitive-only", action="store_true",
                   help="EIS: fit only the capacitive points (−Z″ > 0), leaving out inductive ones")
    f.add_argument("--json", action="store_true", help="machine-readable output (one JSON document on stdout)")
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
    handlers = {"report": _cmd_report, "figures": _cmd_figures, "info": _cmd_info, "fit": _cmd_fit}
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
