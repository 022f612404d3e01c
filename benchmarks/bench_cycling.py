"""Cycling benchmark: read + per-cycle summary of a 1,000,000-row Arbin CSV, ncmsurf vs cellpy.

Run with the benchmark environment (ncmsurf, cellpy, galvani installed)::

    python benchmarks/bench_cycling.py [--rows 1000000] [--repeats 3] [--out benchmarks/results/cycling.md]

Both libraries read the same file (written by
``ncmsurf.io.cyclers.write_arbin_csv`` from a seeded synthetic record, 8
significant digits as an instrument writes them; cellpy reads it with its
``arbin_sql_csv`` loader) and build their per-cycle summary. Runs are
interleaved in one process; the table gives medians and the ratio, plus the
peak traced memory of one extra run of each (tracemalloc). As a floor, the
raw .mpr parse of galvani is timed against ``ncmsurf.read_cycling`` of the
same .mpr when ../shared/data is present.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _memory import peak_mb, peak_rss_mb

import ncmsurf as ns
from ncmsurf.cycling import summary
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.cyclers import read_arbin_csv, write_arbin_csv

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cycling"


def _timed(func: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = func()
    return time.perf_counter() - t0, out


def task_ncmsurf(path: str, mass: float, extra: bool) -> Any:
    """Read + summary by ncmsurf (module level, for :func:`peak_rss_mb`)."""
    return summary(read_arbin_csv(path, mass=mass, extra_columns=extra))


def task_cellpy(path: str, mass: float) -> Any:
    """Read + summary by cellpy (module level, for :func:`peak_rss_mb`)."""
    import cellpy
    from cellpy import prms

    prms.Reader.sep = ","
    return cellpy.get(path, instrument="arbin_sql_csv", mass=mass * 1000, auto_summary=True).data.summary


def task_read_cycling(path: str) -> Any:
    return ns.read_cycling(path)


def task_galvani(path: str) -> Any:
    from galvani import BioLogic

    return BioLogic.MPRfile(path).data


def _peak(func: Callable[[], Any]) -> float:
    return peak_mb(func)[0]


def _ours_only(rows: int, repeats: int) -> None:
    import pandas

    rec = synthetic_record(n_cycles=max(2, rows // 1000), points_per_cycle=1000, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf_bench_"))
    try:
        path = write_arbin_csv(rec, tmp / "synthetic_arbin.csv", digits=8)
        for label, extra in (("all columns kept", True), ("extra_columns=False", False)):
            wall, cpu = [], []
            for _ in range(repeats):
                p0 = time.process_time()
                wall.append(_timed(lambda e=extra: task_ncmsurf(str(path), 0.01, e))[0])
                cpu.append(time.process_time() - p0)
            peak = _peak(lambda e=extra: task_ncmsurf(str(path), 0.01, e))
            rss = peak_rss_mb("bench_cycling:task_ncmsurf", str(path), 0.01, extra)
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            size = path.stat().st_size / 1e6
            print(f"| ncmsurf only ({label}), pandas {pandas.__version__}, numpy {np.__version__} | {len(rec):,} | "
                  f"wall {statistics.median(wall):.3f} s | CPU {statistics.median(cpu):.3f} s | peak {peak:.0f} MB "
                  f"(tracemalloc), RSS {rss:.0f} MB = {rss / size:.2f}x the {size:.0f} MB file | load {load:.1f} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown results here")
    ap.add_argument("--no-peer", action="store_true", help="time ncmsurf only (any environment)")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    if args.no_peer:
        _ours_only(args.rows, args.repeats)
        return

    import cellpy

    per_cycle = 1000
    n_cycles = max(2, args.rows // per_cycle)
    rec = synthetic_record(n_cycles=n_cycles, points_per_cycle=per_cycle, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf_bench_"))
    try:
        path = write_arbin_csv(rec, tmp / "synthetic_arbin.csv", digits=8)
        size_mb = path.stat().st_size / 1e6
        mass_g = rec.mass or 0.01

        def ours() -> Any:
            return task_ncmsurf(str(path), mass_g, True)

        def ours_lean() -> Any:
            return task_ncmsurf(str(path), mass_g, False)

        def theirs() -> Any:
            return task_cellpy(str(path), mass_g)

        t_ours: list[float] = []
        t_lean: list[float] = []
        t_theirs: list[float] = []
        c_ours: list[float] = []
        c_lean: list[float] = []
        c_theirs: list[float] = []
        s_ours = s_theirs = None
        # one untimed warm-up call each (imports, thread pools, page cache), as timeit does
        ours(), ours_lean(), theirs()
        for _ in range(args.repeats):
            p0 = time.process_time()
            dt, s_ours = _timed(ours)
            t_ours.append(dt)
            p1 = time.process_time()
            t_lean.append(_timed(ours_lean)[0])
            p2 = time.process_time()
            dt, s_theirs = _timed(theirs)
            t_theirs.append(dt)
            p3 = time.process_time()
            c_ours.append(p1 - p0)
            c_lean.append(p2 - p1)
            c_theirs.append(p3 - p2)
        m_ours, m_lean, m_theirs = _peak(ours), _peak(ours_lean), _peak(theirs)
        r_ours = peak_rss_mb("bench_cycling:task_ncmsurf", str(path), mass_g, True)
        r_lean = peak_rss_mb("bench_cycling:task_ncmsurf", str(path), mass_g, False)
        r_theirs = peak_rss_mb("bench_cycling:task_cellpy", str(path), mass_g)
        assert s_ours is not None and s_theirs is not None
        # sanity: same discharge capacities (cellpy: mAh/g in "discharge_capacity_gravimetric")
        q_ours = s_ours.discharge_capacity.values
        col = next((c for c in s_theirs.columns if "discharge_capacity" in c and "gravimetric" in c), None)
        agree = float("nan")
        if col is not None:
            q_theirs = np.asarray(s_theirs[col], dtype=float)
            k = min(q_ours.size, q_theirs.size)
            agree = float(np.nanmax(np.abs(q_ours[:k] / q_theirs[:k] - 1)))

        med = statistics.median
        peer = "cellpy " + cellpy.__version__
        rows = [("read + summary, Arbin CSV (all columns kept)", len(rec), size_mb, med(t_ours), med(t_theirs),
                 m_ours, m_theirs, r_ours, r_theirs, peer),
                ("same, CPU time (process_time)", len(rec), size_mb, med(c_ours), med(c_theirs), m_ours, m_theirs,
                 r_ours, r_theirs, peer),
                ("read + summary, `extra_columns=False`", len(rec), size_mb, med(t_lean), med(t_theirs), m_lean,
                 m_theirs, r_lean, r_theirs, peer),
                ("same, CPU time (process_time)", len(rec), size_mb, med(c_lean), med(c_theirs), m_lean, m_theirs,
                 r_lean, r_theirs, peer)]

        mpr = SHARED / "biol.mpr"
        if mpr.exists():
            tg: list[float] = []
            tn: list[float] = []
            for _ in range(max(5, args.repeats)):
                tn.append(_timed(lambda: task_read_cycling(str(mpr)))[0])
                tg.append(_timed(lambda: task_galvani(str(mpr)))[0])

            rows.append(("read .mpr (galvani raw parse = floor)", 23561, mpr.stat().st_size / 1e6,
                         statistics.median(tn), statistics.median(tg), _peak(lambda: task_read_cycling(str(mpr))),
                         _peak(lambda: task_galvani(str(mpr))),
                         peak_rss_mb("bench_cycling:task_read_cycling", str(mpr)),
                         peak_rss_mb("bench_cycling:task_galvani", str(mpr)),
                         "galvani " + importlib.metadata.version("galvani")))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    import pandas

    head = ("| task | rows | file MB | ncmsurf s (median) | peer s (median) | peer / ncmsurf | "
            "ncmsurf peak MB (tracemalloc) | peer peak MB (tracemalloc) | ncmsurf peak RSS MB | peer peak RSS MB "
            "| peer |")
    lines = [head, "|" + "---|" * 11]
    for task, n, mb, a, b, ma, mb2, ra, rb, peer in rows:
        lines.append(f"| {task} | {n:,} | {mb:.1f} | {a:.3f} | {b:.3f} | {b / a:.1f}x | {ma:.0f} | {mb2:.0f} "
                     f"| {ra:.0f} ({ra / mb:.2f}x file) | {rb:.0f} ({rb / mb:.2f}x file) | {peer} |")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    env = (f"Machine: {os.cpu_count()} CPU cores (load average {load:.1f} at the end of the run), "
           f"{platform.machine()}, Python {platform.python_version()}, "
           f"numpy {np.__version__}, pandas {pandas.__version__} (cellpy's environment), ncmsurf {ns.__version__}; "
           f"{args.repeats} interleaved repeats after one warm-up call each, medians; "
           "peak = tracemalloc peak of one extra run (Python and numpy allocations only); peak RSS = resident "
           "memory added by one first call in a fresh interpreter, high-water mark reset after the imports "
           "(every allocation, pyarrow's and pandas' included). "
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
