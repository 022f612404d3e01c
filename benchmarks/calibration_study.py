"""Calibration of the study layer: coverage of every metric's stated 95 % interval on seeded demo studies.

For each seed the synthetic demo study (P, A(1,3,5), F(1,3,5), fresh and after 100 cycles;
``ncmsurf.datasets.demo_study``) is written, read and analysed, and every metric value with a stated
standard error is compared with the generator's truth (``[truth]`` of the manifest, under the metric's
name). A value covers its truth when |value - truth| <= 1.96 stderr + 5e-7 (the truths are rounded to
six decimals). Failed values are not counted (they state no interval); suspect ones are.

    python benchmarks/calibration_study.py --seeds 20 [--start 100] [--out benchmarks/results/study_calibration.json]

The Al/Ni truth is the quantification (Scofield cross-sections, IMFP exponent 0.75) of the generator's
areas: Al 2p as written, Ni 2p main lines plus the preset's satellites in their fixed ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

import ncmsurf as ns
from ncmsurf.datasets import demo_study
from ncmsurf.datasets.demo import ATTENUATION_NM

TOL = 5e-7


def al_ni_truth(d: float, ni2: float, excitation: float = 1486.6) -> float:
    """Al/Ni atomic ratio of the generator's areas by the quantification al_ni_ratio uses."""
    from ncmsurf.xps import preset_model, quantify

    ni = {c.name: c for c in preset_model("Ni 2p")}
    al = {c.name: c for c in preset_model("Al 2p")}
    shares = {"Ni2+": ni2, "Ni3+": 1.0 - ni2}
    ni_main = 2.0e5 * math.exp(-d / ATTENUATION_NM)
    sat = sum(float(c.ratio) * shares[str(c.parent)] for c in ni.values() if getattr(c, "parent", None))
    ni_total = ni_main * (1.0 + sat)
    ni_be = sum(shares[n] * float(ni[n].center) for n in shares)
    al_total = 3.0e4 * (1.0 - math.exp(-d / ATTENUATION_NM))
    q = quantify({"Al 2p": (al_total, 0.0), "Ni 2p": (ni_total, 0.0)}, rsf="scofield-alka",
                 kinetic_energy={"Al 2p": excitation - float(al["Al2O3"].center), "Ni 2p": excitation - ni_be},
                 imfp_exponent=0.75)
    return float(q.ratio("Al 2p", "Ni 2p")[0])


def study_truths(study: ns.Study) -> dict[str, dict[str, float]]:
    out = {label: dict(t) for label, t in study.manifest_extra["truth"].items()}
    for label, t in out.items():
        if ns.Sample.parse(label).coated:
            t["al_ni_ratio"] = al_ni_truth(float(t["thickness_nm"]), float(t["ni2_fraction"]))
    return out


def run(seeds: list[int], regions: list[str] | None) -> dict[str, Any]:
    hits: dict[str, list[bool]] = {}
    z: dict[str, list[float]] = {}
    t0 = time.perf_counter()
    for seed in seeds:
        folder = demo_study(Path(tempfile.mkdtemp()) / "demo", seed=seed, kinds=["xps", "eis", "cycling", "sims",
                                                                                 "eds", "tem"])
        st = ns.Study.from_folder(folder)
        if regions:
            st.analysis_options["xps_regions"] = regions
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            st.analyze(progress=False)
        ds = st.metrics()
        truth = study_truths(st)
        for m in ds.attrs["metric_order"]:
            for i, lab in enumerate(ds["sample"].values):
                t = truth.get(str(lab), {}).get(m)
                v, e = float(ds[m].values[i]), float(ds[f"{m}_stderr"].values[i])
                q = str(ds[f"{m}_quality"].values[i])
                if t is None or not math.isfinite(v) or not math.isfinite(e) or q == "failed":
                    continue
                hits.setdefault(m, []).append(abs(v - t) <= 1.959964 * e + TOL)
                z.setdefault(m, []).append((v - t) / e if e > 0 else (0.0 if abs(v - t) <= TOL else math.inf))
        print(f"seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    out = {"seeds": seeds, "rule": "|value - truth| <= 1.96 stderr + 5e-7; failed values not counted",
           "metrics": {}}
    for m, h in hits.items():
        zz = np.array(z[m], float)
        out["metrics"][m] = {"n": len(h), "coverage": float(np.mean(h)),
                             "z_mean": float(np.mean(zz[np.isfinite(zz)])) if np.isfinite(zz).any() else None,
                             "z_std": float(np.std(zz[np.isfinite(zz)])) if np.isfinite(zz).any() else None}
    out["seconds"] = time.perf_counter() - t0
    return out


def markdown(res: dict[str, Any]) -> str:
    """The coverage table as Markdown (for docs/guide/study.md and docs/benchmarks.md)."""
    lines = ["| metric | values | 95 % coverage | z mean | z sd |", "|---|---:|---:|---:|---:|"]
    for m, r in res["metrics"].items():
        zm = "" if r["z_mean"] is None else f"{r['z_mean']:.2f}"
        zs = "" if r["z_std"] is None else f"{r['z_std']:.2f}"
        lines.append(f"| `{m}` | {r['n']} | {100 * r['coverage']:.1f} % | {zm} | {zs} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--regions", default="Ni 2p,O 1s,C 1s,F 1s,Al 2p",
                    help="XPS regions to fit (comma-separated; the metrics need these)")
    ap.add_argument("--out", default="")
    ap.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    a = ap.parse_args()
    res = run(list(range(a.start, a.start + a.seeds)), [r.strip() for r in a.regions.split(",") if r.strip()])
    print(f"{'metric':24s} {'n':>5s} {'coverage':>9s} {'z mean':>7s} {'z sd':>6s}")
    for m, r in res["metrics"].items():
        zm = "" if r["z_mean"] is None else f"{r['z_mean']:7.2f}"
        zs = "" if r["z_std"] is None else f"{r['z_std']:6.2f}"
        flag = "" if 0.90 <= r["coverage"] <= 0.98 else "  <-- outside 90-98 %"
        print(f"{m:24s} {r['n']:5d} {100 * r['coverage']:8.1f}% {zm} {zs}{flag}")
    if a.markdown:
        print(markdown(res))
    if a.out:
        Path(a.out).write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
