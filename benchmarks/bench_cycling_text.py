"""Cycling text benchmark: read + summary of a 1,000,000-row generic three-column CSV against pandas.read_csv.

Run with::

    python benchmarks/bench_cycling_text.py [--rows 1000000] [--repeats 5]

The file (``Test Time (s),Current (A),Voltage (V)``, 8 significant digits) is written from a
seeded synthetic record. ``ns.read_cycling`` + ``ns.cycling.summary`` is timed against
``pandas.read_csv`` of the same file alone (the floor a user compares with), interleaved in one
process after one warm-up call each; medians and the ratio. The other cycling text readers are
timed on files of the same record in their own layouts (Maccor text, Neware CSV, EC-Lab .mpt,
BDF), each read + summary.
"""

from __future__ import annotations

import argparse
import shutil
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
from ncmsurf.cycling import summary, to_bdf
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.biologic_cycling import write_mpt


def _timed(func: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def _maccor(rec: ns.CyclingData, path: Path) -> Path:
    state = np.where(rec.current > 0, "C", np.where(rec.current < 0, "D", "R"))
    df = pd.DataFrame({"Rec#": np.arange(1, len(rec) + 1), "Cyc#": 0, "Step": rec.step if rec.step is not None else 1,
                       "Test (Sec)": rec.time, "Step (Sec)": 0.0, "Amp-hr": 0.0, "Watt-hr": 0.0,
                       "Amps": np.abs(rec.current), "Volts": rec.voltage, "State": state})
    with open(path, "w") as fh:
        fh.write("Today's Date 01/01/2024  Date of Test:\t01/01/2024\n")
        df.to_csv(fh, sep="\t", index=False, float_format="%.8g", lineterminator="\n")
    return path


def _neware(rec: ns.CyclingData, path: Path) -> Path:
    kind = np.where(rec.current > 0, "CC Chg", np.where(rec.current < 0, "CC DChg", "Rest"))
    pd.DataFrame({"Record ID": np.arange(1, len(rec) + 1), "Step Type": kind, "Total Time": rec.time,
                  "Current(A)": rec.current, "Voltage(V)": rec.voltage}).to_csv(
        path, index=False, float_format="%.8g", lineterminator="\n")
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--others", action="store_true", help="also time the vendor text readers")
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rec = synthetic_record(n_cycles=max(2, args.rows // 1000), points_per_cycle=1000, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf_bench_"))
    try:
        path = tmp / "generic.csv"
        pd.DataFrame({"Test Time (s)": rec.time, "Current (A)": rec.current, "Voltage (V)": rec.voltage}).to_csv(
            path, index=False, float_format="%.8g", lineterminator="\n")

        def ours() -> Any:
            return summary(ns.read_cycling(path))

        def read_only() -> Any:
            return ns.read_cycling(path)

        def theirs() -> Any:
            return pd.read_csv(path)

        ours(), theirs()
        t_ours, t_read, t_pd = [], [], []
        for _ in range(args.repeats):
            t_ours.append(_timed(ours))
            t_read.append(_timed(read_only))
            t_pd.append(_timed(theirs))
        med = statistics.median
        size = path.stat().st_size / 1e6
        print("| task | rows | file MB | ncmsurf s (median) | pandas.read_csv s (median) | ratio |")
        print("|---|---|---|---|---|---|")
        print(f"| generic CSV: read + summary | {len(rec):,} | {size:.1f} | {med(t_ours):.3f} | {med(t_pd):.3f} | "
              f"{med(t_ours) / med(t_pd):.2f}x |")
        print(f"| generic CSV: read only | {len(rec):,} | {size:.1f} | {med(t_read):.3f} | {med(t_pd):.3f} | "
              f"{med(t_read) / med(t_pd):.2f}x |")
        if args.others:
            files = {"Maccor text": _maccor(rec, tmp / "m.txt"), "Neware CSV": _neware(rec, tmp / "n.csv"),
                     "EC-Lab .mpt": write_mpt(rec, tmp / "g.mpt"), "BDF CSV": to_bdf(rec, tmp / "c.bdf.csv")}
            for label, f in files.items():
                def task(f: Path = f) -> Any:
                    return summary(ns.read_cycling(f))

                def floor(f: Path = f, label: str = label) -> Any:
                    if label == "Maccor text":
                        return pd.read_csv(f, sep="\t", skiprows=1)
                    if f.suffix == ".mpt":
                        return pd.read_csv(f, sep="\t", skiprows=5)
                    return pd.read_csv(f)

                task()
                a = [_timed(task) for _ in range(max(1, args.repeats // 2))]
                b = [_timed(floor) for _ in range(max(1, args.repeats // 2))]
                print(f"| {label}: read + summary | {len(rec):,} | {f.stat().st_size / 1e6:.1f} | {med(a):.3f} | "
                      f"{med(b):.3f} | {med(a) / med(b):.2f}x |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
