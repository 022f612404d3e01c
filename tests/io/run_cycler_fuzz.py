"""Differential fuzz of the cycler text readers on synthetic files of every layout (outside CI).

    python tests/io/run_cycler_fuzz.py [N] [--rows 300] [--seed S] [--out DIR]

``tests/fuzz/run_long.py`` fuzzes each reader on the shared real files its sniffing takes; several
cycler layouts have no shared file (Maccor CSV, Arbin MITS Pro CSV, Neware flat CSV, Novonix, BaSyTec,
BDF CSV). This script writes a small file of each layout from a seeded synthetic record (the writers of
``benchmarks/bench_cycling_text.py``, with measurement noise so that the numbers have varying digits),
makes them seeds of the same harness (``tests/fuzz/_differential.py``) and prints its counts per reader
(``N`` inputs per layout).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: layout (writer in bench_cycling_text) -> reader
LAYOUTS = {"generic": "cycling-csv", "maccor-text": "maccor-text", "maccor-csv": "maccor-text",
           "arbin-csv": "arbin-csv", "mits-pro-csv": "arbin-csv", "biologic-mpt": "biologic-mpt-cycling",
           "neware-csv": "neware-csv", "novonix": "novonix-csv", "basytec": "basytec", "bdf-csv": "bdf-csv"}


def main() -> int:
    sys.path[:0] = [str(ROOT / "tests" / "fuzz"), str(ROOT / "benchmarks")]
    import _differential as fz
    import bench_cycling_text as bench
    import numpy as np

    from ncmsurf.datasets.cycling import synthetic_record

    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=500)
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--seed", type=int, default=20241201)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf-cycler-fuzz-"))
    rec = synthetic_record(n_cycles=max(2, args.rows // 100), points_per_cycle=100, seed=5)
    counts: dict[str, Counter[str]] = {}
    findings = []
    rng_seed = args.seed
    for layout, reader in LAYOUTS.items():
        path, _ = bench._write(layout, rec, tmp)
        models, msgs = fz._read(reader, path)
        seed = fz.Seed(reader, path.name, path.read_bytes(), path.suffix, models, msgs)
        got, found = fz.run(args.n, rng_seed=rng_seed, all_seeds={reader: [seed]})
        counts[f"{reader} ({layout})"] = got[reader]
        findings += found
        rng_seed += 1
    print(fz.table(counts))
    if findings and args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "findings.txt", "w", encoding="utf-8") as fh:
            for k, f in enumerate(findings):
                name = f"{k:04d}_{f.reader}_{f.kind}{Path(f.seed).suffix}"
                (out / name).write_bytes(f.data)
                fh.write(f"{name}\t{f.reader}\t{f.seed}\t{f.kind}\t{f.outcome}\t{f.detail}\n")
    del np
    return 1 if findings else 0


if __name__ == "__main__":
    raise SystemExit(main())
