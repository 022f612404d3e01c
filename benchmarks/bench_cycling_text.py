"""Cycling text benchmark: read + summary of 1,000,000-row cycler text files against ``pandas.read_csv``.

Run with::

    python benchmarks/bench_cycling_text.py [--rows 1000000] [--repeats 5] [--formats generic maccor-text ...]
                                            [--out benchmarks/results/cycling_text.md]

One seeded synthetic record (``ncmsurf.datasets.cycling.synthetic_record``, 1,000 cycles of 1,000
records: 1,000,050 rows) is written in every cycling text layout ncmsurf reads: a generic three-column
CSV (``Test Time (s),Current (A),Voltage (V)``), Maccor text (tab) and CSV exports, Arbin CSV and MITS
Pro CSV, EC-Lab .mpt, Neware flat CSV (text ``Step Type``, clock ``Total Time``), Novonix, BaSyTec and
BDF CSV (the Neware "regular" export, three interleaved tables, is not timed here). For each file,
``ns.read_cycling`` (sniffed, the strict table core) + ``ns.cycling.summary`` is timed against
``pandas.read_csv`` of the same file
alone (the floor a user compares with; header lines skipped, default C parser), interleaved in one
process after one warm-up call each; the table gives medians, the ratios and the file size.
"""

from __future__ import annotations

import argparse
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
import pandas as pd

import ncmsurf as ns
from ncmsurf.cycling import summary, to_bdf
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.biologic_cycling import write_mpt
from ncmsurf.io.cyclers import write_arbin_csv


def _timed(func: Callable[[], Any]) -> float:
    t0 = time.perf_counter()
    func()
    return time.perf_counter() - t0


def _clock(t: np.ndarray, days: bool) -> np.ndarray:
    """Clock-style times: ``hh:mm:ss.ff`` or Maccor's ``Nd hh:mm:ss.ff``."""
    cs = np.round(t * 100).astype(np.int64)
    d, rem = np.divmod(cs, 8_640_000)
    h, rem = np.divmod(rem, 360_000)
    m, rem = np.divmod(rem, 6000)
    s, f = np.divmod(rem, 100)
    hh = (h if days else h + 24 * d).astype(str)
    body = np.char.add(np.char.add(np.char.add(np.char.add(np.char.zfill(hh, 2), ":"), np.char.zfill(m.astype(str), 2)),
                                   ":"), np.char.add(np.char.add(np.char.zfill(s.astype(str), 2), "."),
                                                     np.char.zfill(f.astype(str), 2)))
    return np.char.add(np.char.add(d.astype(str), "d "), body) if days else body


def _state(rec: ns.CyclingData, charge: str, discharge: str, rest: str) -> np.ndarray:
    return np.where(rec.current > 0, charge, np.where(rec.current < 0, discharge, rest))


def _steps(rec: ns.CyclingData) -> np.ndarray:
    st = np.sign(rec.current).astype(np.int64)
    return np.concatenate(([1], 1 + np.cumsum(st[1:] != st[:-1])))


def _write(fmt: str, rec: ns.CyclingData, tmp: Path) -> tuple[Path, dict[str, Any]]:
    """The file of ``fmt`` and the ``pandas.read_csv`` arguments that read it."""
    n = len(rec)
    step = _steps(rec)
    starts = (np.sign(rec.current[1:]) > 0) & (np.sign(rec.current[:-1]) <= 0)  # a charge begins a cycle
    cyc = np.cumsum(np.concatenate(([0], starts))) + 1
    ah = np.abs(np.concatenate(([0.0], np.cumsum(np.diff(rec.time) * rec.current[1:]) / 3600)))
    if fmt == "generic":
        p = tmp / "generic.csv"
        pd.DataFrame({"Test Time (s)": rec.time, "Current (A)": rec.current, "Voltage (V)": rec.voltage}).to_csv(
            p, index=False, float_format="%.8g", lineterminator="\n")
        return p, {}
    if fmt == "maccor-text":
        p = tmp / "maccor.txt"
        df = pd.DataFrame({"Rec#": np.arange(1, n + 1), "Cyc#": cyc, "Step": step,
                           "TestTime": _clock(rec.time, True), "StepTime": _clock(rec.time % 3600, True),
                           "Amp-hr": ah, "Watt-hr": ah * 3.7, "Amps": np.abs(rec.current), "Volts": rec.voltage,
                           "State": _state(rec, "C", "D", "R"), "ES": 0, "DPt Time": "12/11/2020 12:22:00"})
        with open(p, "w", encoding="ascii", newline="\n") as fh:
            fh.write("Today's Date\t12/11/2020\tDate of Test:\t12/11/2020\tFilename:\tcell_01\tProcedure:\tx.000\n")
            df.to_csv(fh, sep="\t", index=False, float_format="%.8g", lineterminator="\n")
        return p, {"sep": "\t", "skiprows": 1}
    if fmt == "maccor-csv":
        p = tmp / "maccor.csv"
        pd.DataFrame({"Rec": np.arange(1, n + 1), "Cycle P": cyc, "Cycle C": cyc, "Step": step,
                      "TestTime": rec.time, "StepTime": rec.time % 3600, "Cap. [Ah]": ah, "Ener. [Wh]": ah * 3.7,
                      "Current [A]": rec.current, "Voltage [V]": rec.voltage, "Md": _state(rec, "C", "D", "R"),
                      "ES": 0, "DPt Time": "2020-12-11 12:22:00"}).to_csv(
            p, index=False, float_format="%.8g", lineterminator="\n")
        return p, {}
    if fmt in ("arbin-csv", "mits-pro-csv"):
        p = write_arbin_csv(rec.replace(cycle=cyc, step=step), tmp / f"{fmt}.csv", digits=8)
        if fmt == "mits-pro-csv":
            text = p.read_text()
            head, _, body = text.partition("\n")
            head = ("Data Point,Date Time,Test Time (s),Step Time (s),Cycle Index,Step Index,Current (A),"
                    "Voltage (V),Charge Capacity (Ah),Discharge Capacity (Ah),Charge Energy (Wh),Discharge Energy (Wh)")
            p.write_text(head + "\n" + body)
        return p, {}
    if fmt == "biologic-mpt":
        return write_mpt(rec.replace(cycle=cyc, step=step), tmp / "gcpl.mpt"), {"sep": "\t", "skiprows": 5,
                                                                                "encoding": "latin-1"}
    if fmt == "neware-csv":
        p = tmp / "neware.csv"
        pd.DataFrame({"Record ID": np.arange(1, n + 1), "Cycle Index": cyc, "Step Index": step,
                      "Step Type": _state(rec, "CC Chg", "CC DChg", "Rest"), "Total Time": _clock(rec.time, False),
                      "Current(A)": np.abs(rec.current), "Voltage(V)": rec.voltage, "Capacity(Ah)": ah}).to_csv(
            p, index=False, float_format="%.8g", lineterminator="\n")
        return p, {}
    if fmt == "novonix":
        p = tmp / "novonix.csv"
        with open(p, "w", encoding="ascii", newline="\n") as fh:
            fh.write("[Summary]\nStarted: 2020-12-11 12:22:00\nChannel: 1\n[End Summary]\n[Data]\n")
            pd.DataFrame({"Date and Time": "2020-12-11 12:22:00", "Cycle Number": cyc,
                          "Step Type": np.where(rec.current > 0, 1, np.where(rec.current < 0, 2, 0)),
                          "Run Time (h)": rec.time / 3600, "Step Time (h)": (rec.time % 3600) / 3600,
                          "Current (A)": rec.current, "Potential (V)": rec.voltage, "Capacity (Ah)": ah}).to_csv(
                fh, index=False, float_format="%.10g", lineterminator="\n")
        return p, {"skiprows": 5}
    if fmt == "basytec":
        p = tmp / "basytec.txt"
        with open(p, "w", encoding="ascii", newline="\n") as fh:
            fh.write("~Resultfile from Battery Test System\n~Date of Test: 11.12.2020\n~\n")
            fh.write("~Time[h]\tDataSet\tDate\tt-Step[h]\tLine\tCommand\tU[V]\tI[A]\tAh[Ah]\tCyc-Count\n")
            pd.DataFrame({"t": rec.time / 3600, "ds": np.arange(1, n + 1), "date": "11.12.2020",
                          "ts": (rec.time % 3600) / 3600, "line": step,
                          "cmd": _state(rec, "Charge", "Discharge", "Pause"), "u": rec.voltage, "i": rec.current,
                          "ah": ah, "cyc": cyc}).to_csv(fh, sep="\t", index=False, header=False,
                                                       float_format="%.10g", lineterminator="\n")
        return p, {"sep": "\t", "skiprows": 3}
    if fmt == "bdf-csv":
        return to_bdf(rec, tmp / "cell.bdf.csv"), {}
    raise ValueError(fmt)


FORMATS = ("generic", "maccor-text", "maccor-csv", "arbin-csv", "mits-pro-csv", "biologic-mpt", "neware-csv",
           "novonix", "basytec", "bdf-csv")


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--formats", nargs="*", default=list(FORMATS))
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    rec = synthetic_record(n_cycles=max(2, args.rows // 1000), points_per_cycle=1000, seed=0)
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf_bench_"))
    med = statistics.median
    rows = []
    try:
        for fmt in args.formats:
            path, pd_kw = _write(fmt, rec, tmp)
            got = ns.read_cycling(path)
            reader = got.meta.get("format", "?")

            def ours(path: Path = path) -> Any:
                return summary(ns.read_cycling(path))

            def read_only(path: Path = path) -> Any:
                return ns.read_cycling(path)

            def theirs(path: Path = path, kw: dict[str, Any] = pd_kw) -> Any:
                return pd.read_csv(path, **kw)

            ours(), theirs()
            t_ours, t_read, t_pd = [], [], []
            for _ in range(args.repeats):
                t_ours.append(_timed(ours))
                t_pd.append(_timed(theirs))
                t_read.append(_timed(read_only))
            rows.append((fmt, reader, len(got), path.stat().st_size / 1e6, med(t_ours), med(t_read), med(t_pd)))
            print(f"{fmt}: {med(t_ours):.3f} s vs {med(t_pd):.3f} s ({med(t_ours) / med(t_pd):.2f}x)", flush=True)
            path.unlink()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    out = (f"Cycling text readers, {platform.machine()}, {os.cpu_count()} cores, load average {load:.1f}; "
           f"{args.repeats} interleaved runs, medians:\n\n"
           "| file | reader | rows | MB | read + summary s | read s | `pandas.read_csv` s | ratio (read + summary) "
           "| ratio (read) |\n|---|---|---|---|---|---|---|---|---|\n")
    for fmt, reader, n, mb, a, r, b in rows:
        out += (f"| {fmt} | `{reader}` | {n:,} | {mb:.1f} | {a:.3f} | {r:.3f} | {b:.3f} | {a / b:.2f}x "
                f"| {r / b:.2f}x |\n")
    print(out)
    if args.out:
        Path(args.out).write_text(out, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
