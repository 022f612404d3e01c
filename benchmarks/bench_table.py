"""Table-core benchmark: the strict text-table core against ``pandas.read_csv`` on the same CSV.

    python benchmarks/bench_table.py [--rows 1000000] [--repeats 5] [--out benchmarks/results/table.md]

A seeded three-column CSV (``Test Time (s)``, ``Voltage (V)``, ``Current (A)``; full float precision)
is read into three float arrays by ``ncmsurf.io._table.find_table`` (header found by content, every
row's field count and every cell checked; pyarrow fast path) and by ``pandas.read_csv`` (no checks
beyond its parser's), interleaved in one process. The table gives the medians and their ratio, the
checked path alone (``fast_rows`` above the row count) and the time to name the bad line of the same
file with one bad cell in the middle (the fast path falls back to the checked path).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ncmsurf.core.errors import ReadError
from ncmsurf.io._table import TextFile, find_table


def _write(path: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    t = np.cumsum(rng.random(n))
    df = pd.DataFrame({"Test Time (s)": t, "Voltage (V)": 3 + rng.random(n), "Current (A)": rng.standard_normal(n)})
    df.to_csv(path, index=False)


def _ncmsurf(path: Path, fast_rows: int | None = None) -> list[np.ndarray]:
    kw = {} if fast_rows is None else {"fast_rows": fast_rows}
    t = find_table(TextFile.open(path), **kw)
    return [t.column(n) for n in t.names]


def _pandas(path: Path) -> list[np.ndarray]:
    df = pd.read_csv(path)
    return [df[c].to_numpy() for c in df.columns]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp())
    p = tmp / "t.csv"
    _write(p, args.rows)
    a, b = _ncmsurf(p), _pandas(p)
    same = all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    tn, tp = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        _ncmsurf(p)
        t1 = time.perf_counter()
        _pandas(p)
        t2 = time.perf_counter()
        tn.append(t1 - t0)
        tp.append(t2 - t1)
    t0 = time.perf_counter()
    _ncmsurf(p, fast_rows=10**12)
    checked = time.perf_counter() - t0
    lines = p.read_bytes().split(b"\n")
    k = len(lines) // 2
    lines[k] = lines[k].replace(b".", b"x", 1)
    bad = tmp / "bad.csv"
    bad.write_bytes(b"\n".join(lines))
    t0 = time.perf_counter()
    try:
        _ncmsurf(bad)
        named = "not found"
    except ReadError as exc:
        named = f"line {exc.line}"
    fallback = time.perf_counter() - t0
    mn, mp = statistics.median(tn), statistics.median(tp)
    out = (f"Table core, {args.rows:,} rows x 3 columns ({p.stat().st_size / 1e6:.0f} MB CSV), "
           f"{platform.processor() or platform.machine()}, {args.repeats} interleaved runs, medians:\n\n"
           "| task | ncmsurf `find_table` | `pandas.read_csv` | ratio |\n|---|---|---|---|\n"
           f"| read 3 float columns | {mn:.3f} s | {mp:.3f} s | {mn / mp:.2f} |\n\n"
           f"Identical arrays: {same}. Checked path alone: {checked:.2f} s. One bad cell in the middle: "
           f"{named} named in {fallback:.2f} s (fast path, then the checked path).\n")
    print(out)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
