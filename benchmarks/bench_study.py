"""Study scaling: read + analyze + metrics of manifests with 1,000 and 10,000 entries.

Each entry is a small EDS element map (Al, Ni; 16 x 16 pixels, NumPy ``.npz``) of its own sample, so the
per-entry engine work is small and constant and the figure shows how the study layer itself scales
(grouping the entries, the steps, the metrics table). Linear time means a constant time per entry.

    python benchmarks/bench_study.py [--sizes 1000 10000] [--repeat 3] [--baseline SRC --baseline-sizes 100 300]

``--baseline SRC`` also times another ncmsurf source tree (e.g. an older checkout, ``git archive``
extracted) on the same folders in a subprocess (the two versions cannot share one process), for the
before/after figure in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

TIMER = r"""
import json, sys, time, warnings
warnings.simplefilter("ignore")
import ncmsurf as ns
t0 = time.perf_counter(); st = ns.Study.from_folder(sys.argv[1]); t1 = time.perf_counter()
st.analyze(progress=False); ds = st.metrics(); t2 = time.perf_counter()
print(json.dumps({"read": t1 - t0, "analyze": t2 - t1, "samples": len(st.samples)}))
"""


def make_folder(n: int, root: Path) -> Path:
    from ncmsurf.core.models import ElementMap
    from ncmsurf.io.eds_formats import write_npz

    folder = root / f"study_{n}"
    (folder / "eds").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    lines = ["[study]", f'name = "bench {n}"', "", "[analysis]", 'eds_element = "Al"', ""]
    for k in range(n):
        label = f"{'AF'[k % 2]}({1 + k // 2})-NCM"
        al = rng.poisson(20.0, (16, 16)).astype(float)
        ni = rng.poisson(50.0, (16, 16)).astype(float)
        write_npz(ElementMap({"Al": al, "Ni": ni}, pixel_size=50.0), folder / "eds" / f"m{k:05d}.npz")
        lines += ["[[files]]", f'path = "eds/m{k:05d}.npz"', f'sample = "{label}"', 'kind = "eds"', ""]
    (folder / "study.toml").write_text("\n".join(lines))
    return folder


def time_here(folder: Path) -> dict[str, float]:
    import ncmsurf as ns

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        st = ns.Study.from_folder(folder)
        t1 = time.perf_counter()
        st.analyze(progress=False)
        st.metrics()
        t2 = time.perf_counter()
    return {"read": t1 - t0, "analyze": t2 - t1, "samples": len(st.samples)}


def time_other(src: str, folder: Path) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=src)
    out = subprocess.run([sys.executable, "-c", TIMER, str(folder)], capture_output=True, text=True, env=env,
                         check=True, cwd=tempfile.gettempdir())
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--baseline", default="")
    ap.add_argument("--baseline-sizes", type=int, nargs="+", default=[100, 300])
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="ncmsurf-bench-study-"))
    time_here(make_folder(20, root))  # warm-up: imports and first calls
    rows = []
    for n in sorted(set(a.sizes) | (set(a.baseline_sizes) if a.baseline else set())):
        folder = make_folder(n, root)
        here = [time_here(folder) for _ in range(a.repeat if n in a.sizes else 1)]
        med = {k: statistics.median(r[k] for r in here) for k in ("read", "analyze")}
        row = {"entries": n, "read_s": med["read"], "analyze_s": med["analyze"],
               "per_entry_ms": 1e3 * (med["read"] + med["analyze"]) / n}
        if a.baseline and n in a.baseline_sizes:
            other = time_other(a.baseline, folder)
            row["baseline_analyze_s"] = other["analyze"]
            row["baseline_read_s"] = other["read"]
        rows.append(row)
        print(json.dumps(row), flush=True)
    print(f"\n{'entries':>8s} {'read s':>8s} {'analyze s':>10s} {'ms/entry':>9s} {'baseline analyze s':>19s}")
    for r in rows:
        b = f"{r['baseline_analyze_s']:19.2f}" if "baseline_analyze_s" in r else ""
        print(f"{r['entries']:8d} {r['read_s']:8.2f} {r['analyze_s']:10.2f} {r['per_entry_ms']:9.2f} {b}")
    big = [r for r in rows if r["entries"] in a.sizes]
    if len(big) >= 2:
        print(f"per-entry time ratio {big[-1]['entries']} / {big[0]['entries']} entries: "
              f"{big[-1]['per_entry_ms'] / big[0]['per_entry_ms']:.2f} (1.00 = linear)")


if __name__ == "__main__":
    main()
