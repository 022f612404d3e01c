"""Cycling benchmark: read + per-cycle summary of a 1,000,000-row Arbin CSV, ncmsurf vs cellpy.

Run with the benchmark environment (ncmsurf, cellpy, galvani installed)::

    python benchmarks/bench_cycling.py [--rows 1000000] [--repeats 3] [--out benchmarks/results/cycling.md]

Both libraries read the same file (written by
``ncmsurf.io.cyclers.write_arbin_csv`` from a seeded synthetic record, 10
significant digits as an instrument writes them; cellpy reads it with its
``arbin_sql_csv`` loader) and build their per-cycle summary. Runs are
interleaved in one process; the table gives medians and the ratio, plus the
peak traced memory of one extra run of each (tracemalloc). As a floor, the
raw .mpr parse of galvani is timed against ``ncmsurf.read_cycling`` of the
same .mpr when ../shared/data is present.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import tempfile
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import ncmsurf as ns
from ncmsurf.cycling import summary
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.cyclers import read_arbin_csv, write_arbin_csv

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cycling"


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def _peak(func: Callable[[], Any]) -> float:
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown results here")
    args = ap.parse_args()

    import cellpy
    from cellpy import prms

    prms.Reader.sep = ","
    warnings.simplefilter("ignore")

    per_cycle = 1000
    n_cycles = max(2, args.rows // per_cycle)
    rec = synthetic_record(n_cycles=n_cycles, points_per_cycle=per_cycle, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf_bench_"))
    try:
        path = write_arbin_csv(rec, tmp / "synthetic_arbin.csv", digits=10)
        size_mb = path.stat().st_size / 1e6
        mass_g = rec.mass or 0.01

        def ours() -> Any:
            return summary(read_arbin_csv(path, mass=mass_g))

        def theirs() -> Any:
            c = cellpy.get(str(path), instrument="arbin_sql_csv", mass=mass_g * 1000, auto_summary=True)
            return c.data.summary

        t_ours: list[float] = []
        t_theirs: list[float] = []
        s_ours = s_theirs = None
        for _ in range(args.repeats):
            dt, s_ours = _timed(ours)
            t_ours.append(dt)
            dt, s_theirs = _timed(theirs)
            t_theirs.append(dt)
        m_ours, m_theirs = _peak(ours), _peak(theirs)
        assert s_ours is not None and s_theirs is not None
        # sanity: same discharge capacities (cellpy: mAh/g in "discharge_capacity_gravimetric")
        q_ours = s_ours.discharge_capacity.values
        col = next((c for c in s_theirs.columns if "discharge_capacity" in c and "gravimetric" in c), None)
        agree = float("nan")
        if col is not None:
            q_theirs = np.asarray(s_theirs[col], dtype=float)
            k = min(q_ours.size, q_theirs.size)
            agree = float(np.nanmax(np.abs(q_ours[:k] / q_theirs[:k] - 1)))

        rows = [("read + summary, Arbin CSV", len(rec), size_mb, statistics.median(t_ours),
                 statistics.median(t_theirs), m_ours, m_theirs, "cellpy " + cellpy.__version__)]

        mpr = SHARED / "biol.mpr"
        if mpr.exists():
            from galvani import BioLogic

            tg: list[float] = []
            tn: list[float] = []
            for _ in range(max(5, args.repeats)):
                tn.append(_timed(lambda: ns.read_cycling(mpr))[0])
                tg.append(_timed(lambda: BioLogic.MPRfile(str(mpr)).data)[0])
            import galvani

            rows.append(("read .mpr (galvani raw parse = floor)", 23561, mpr.stat().st_size / 1e6,
                         statistics.median(tn), statistics.median(tg), _peak(lambda: ns.read_cycling(mpr)),
                         _peak(lambda: BioLogic.MPRfile(str(mpr)).data),
                         "galvani " + getattr(galvani, "__version__", "?")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import pandas

    head = ("| task | rows | file MB | ncmsurf s (median) | peer s (median) | peer / ncmsurf | "
            "ncmsurf peak MB | peer peak MB | peer |")
    lines = [head, "|" + "---|" * 9]
    for task, n, mb, a, b, ma, mb2, peer in rows:
        lines.append(f"| {task} | {n:,} | {mb:.1f} | {a:.3f} | {b:.3f} | {b / a:.1f}x | {ma:.0f} | {mb2:.0f} "
                     f"| {peer} |")
    env = (f"Machine: {os.cpu_count()} CPU cores, {platform.machine()}, Python {platform.python_version()}, "
           f"numpy {np.__version__}, pandas {pandas.__version__} (cellpy's environment), ncmsurf {ns.__version__}; "
           f"{args.repeats} interleaved repeats, medians; peak = tracemalloc peak of one extra run. "
           f"Max relative difference of the per-cycle discharge capacities ncmsurf vs cellpy: {agree:.2e}.")
    table = "\n".join(lines)
    print(table)
    print()
    print(env)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(
            "# Cycling benchmark\n\n"
            "Read + per-cycle summary of the same synthetic Arbin CSV export by ncmsurf "
            "(`read_arbin_csv` + `ncmsurf.cycling.summary`) and by cellpy (`cellpy.get(..., "
            "instrument=\"arbin_sql_csv\", auto_summary=True)`), interleaved in one process.\n\n"
            + table + "\n\n" + env + "\n\n"
            "Rerun: `/work/venv-bench/bin/python benchmarks/bench_cycling.py --out benchmarks/results/cycling.md` "
            "(add `--rows` / `--repeats` to change the size).\n"
        )


if __name__ == "__main__":
    main()
