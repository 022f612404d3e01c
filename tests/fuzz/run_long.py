"""Long differential fuzz run over every reader (outside CI): ``python tests/fuzz/run_long.py [N] [--seed S]``.

Prints the counts per reader as a Markdown table (the one in ``docs/reliability.md``) and writes every
silent change or crash to ``--out`` (default ``fuzz-findings/``) as the mutated file plus a line in
``findings.txt`` naming the reader, the seed file, the mutation and what differed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _differential as fz


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--readers", nargs="*", default=None)
    ap.add_argument("--out", default="fuzz-findings")
    ap.add_argument("--max-seed-bytes", type=int, default=fz.MAX_SEED_BYTES)
    args = ap.parse_args()
    t0 = time.monotonic()
    pool = fz.seeds(readers_only=args.readers, max_bytes=args.max_seed_bytes)
    print(f"seeds: {sum(len(v) for v in pool.values())} files for {len(pool)} readers "
          f"({time.monotonic() - t0:.0f} s)", file=sys.stderr)

    def progress(i: int) -> None:
        if (i + 1) % 1000 == 0:
            print(f"  {i + 1} inputs, {time.monotonic() - t0:.0f} s", file=sys.stderr)

    counts, findings = fz.run(args.n, rng_seed=args.seed, all_seeds=pool, progress=progress)
    print(fz.table(counts))
    out = Path(args.out)
    if findings:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "findings.txt", "w", encoding="utf-8") as fh:
            for k, f in enumerate(findings):
                name = f"{k:04d}_{f.reader}_{f.kind}{Path(f.seed).suffix}"
                (out / name).write_bytes(f.data)
                fh.write(f"{name}\t{f.reader}\t{f.seed}\t{f.kind}\t{f.outcome}\t{f.detail}\n")
        print(f"{len(findings)} findings written to {out}/", file=sys.stderr)
    print(f"total time {time.monotonic() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
