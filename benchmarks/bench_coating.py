"""Coating benchmark: SurfaceLab profile reading and map statistics, ncmsurf vs the generic baselines.

Run with the benchmark environment::

    python benchmarks/bench_coating.py [--rows 20000] [--repeats 5] [--out benchmarks/results/coating.md]

There is no peer package for ToF-SIMS / EDS coating analysis in the
benchmark environment, so ncmsurf is timed against the generic tools a user
would otherwise call on the same data, interleaved in one process (medians):

- reading a SurfaceLab depth-profile export (``--rows`` × 12 ions, written by
  ``write_surfacelab_txt``) with ``ns.read_sims`` (validated, line-numbered
  errors) against ``pandas.read_csv`` of the same file (no validation);
- Pearson r of two 1024 × 1024 maps: ``ns.eds.correlation`` against
  ``numpy.corrcoef``;
- the interface of a 20 000-point profile (``ns.sims.interface``, crossing
  and erf) and coverage + uniformity of a 1024 × 1024 map (no baseline;
  absolute times).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import ncmsurf as ns
from ncmsurf.datasets.coating import synthetic_map, synthetic_profile
from ncmsurf.io.sims_formats import write_surfacelab_txt


def _median_times(funcs: dict[str, Callable[[], Any]], repeats: int) -> dict[str, float]:
    times: dict[str, list[float]] = {k: [] for k in funcs}
    for _ in range(repeats):
        for k, f in funcs.items():  # interleaved
            t0 = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown results here")
    args = ap.parse_args()
    warnings.simplefilter("ignore", ns.NcmsurfWarning)

    rng = np.random.default_rng(0)
    t = np.arange(args.rows, dtype=float) * 0.5
    names = ["Li-", "LiF2-", "F-", "O-", "NiO2-", "MnO2-", "CoO2-", "NiF3-", "POF2-", "AlO-", "AlO2-", "AlF4-"]
    prof = ns.DepthProfile(t, {n: rng.poisson(1000, t.size).astype(float) for n in names}, sputter_rate=0.05)
    rows = []
    with tempfile.TemporaryDirectory() as d:
        f = write_surfacelab_txt(prof, Path(d) / "profile.txt")
        size_mb = os.path.getsize(f) / 1e6
        med = _median_times({
            "ncmsurf": lambda: ns.read_sims(f),
            "pandas": lambda: pd.read_csv(f, sep="\t", skiprows=7, header=None),
        }, args.repeats)
        assert ns.read_sims(f) == prof.with_meta(**ns.read_sims(f).meta)
        rows.append((f"read SurfaceLab export ({args.rows} rows × {len(names)} ions, {size_mb:.1f} MB)",
                     "pandas.read_csv", med["ncmsurf"], med["pandas"]))

    a = rng.normal(size=(1024, 1024))
    b = a + rng.normal(size=a.shape)
    emap = ns.ElementMap({"Al": a, "Ni": b})
    med = _median_times({
        "ncmsurf": lambda: ns.eds.correlation(emap, "Al", "Ni"),
        "numpy": lambda: np.corrcoef(a.ravel(), b.ravel())[0, 1],
    }, args.repeats)
    rows.append(("Pearson r, two 1024 × 1024 maps", "numpy.corrcoef", med["ncmsurf"], med["numpy"]))

    long = synthetic_profile(coating_thickness=20.0, sputter_rate=0.05, width=3.0, noise=0.03, n_points=20000)
    big = synthetic_map(coverage=0.7, cv=0.15, shape=(1024, 1024), n_particles=400)
    med = _median_times({
        "crossing": lambda: ns.sims.interface(long, "AlO2-"),
        "erf": lambda: ns.sims.interface(long, "AlO2-", method="erf"),
        "coverage": lambda: (ns.eds.coverage(big, "Al"), ns.eds.uniformity(big, "Al")),
    }, args.repeats)
    rows.append(("interface, 20 000 points (crossing)", "—", med["crossing"], float("nan")))
    rows.append(("interface, 20 000 points (erf fit)", "—", med["erf"], float("nan")))
    rows.append(("coverage + uniformity, 1024 × 1024 map", "—", med["coverage"], float("nan")))

    head = (f"Machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}, "
            f"numpy {np.__version__}, pandas {pd.__version__}, ncmsurf {ns.__version__}; "
            f"median of {args.repeats} interleaved runs.")
    lines = [head, "", "| task | baseline | ncmsurf (s) | baseline (s) | ratio |", "|---|---|---|---|---|"]
    for task, peer, ours, theirs in rows:
        ratio = "—" if not np.isfinite(theirs) else f"{ours / theirs:.2f}"
        th = "—" if not np.isfinite(theirs) else f"{theirs:.4f}"
        lines.append(f"| {task} | {peer} | {ours:.4f} | {th} | {ratio} |")
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        doc = ("# Coating analysis benchmarks (ToF-SIMS, EDS)\n\n"
               "No peer package for coating analysis is in the benchmark environment; ncmsurf is timed against "
               "the generic tool a user would otherwise call on the same data (ncmsurf validates every value "
               "and reports the line of the first bad one; pandas does not).\n\n" + text +
               "\n\nRerun: `python benchmarks/bench_coating.py --out benchmarks/results/coating.md` "
               "(benchmark environment, `pip install -e \".[bench]\"`).\n")
        args.out.write_text(doc, encoding="utf-8")


if __name__ == "__main__":
    main()
