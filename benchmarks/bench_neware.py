"""Neware benchmark: reading a 699,677-record .ndax, ncmsurf against NewareNDA's own ``read``.

Run with the benchmark environment (ncmsurf and NewareNDA installed, ../shared/data present)::

    python benchmarks/bench_neware.py [--repeats 5]

Both read ``BTS85-36-6-5-110-20240424.ndax`` (Neware BTS 8.0, ndc version 14, 96 % of its
records interpolated from the run-info table) in one process, interleaved, after one
warm-up call each; the table gives medians and the ratio. The arrays are checked to be
identical at NewareNDA's own precision (it returns float32): voltage, current, record time,
capacities, energies, cycle, step and record index. ncmsurf's call builds the complete
``CyclingData`` (test time from the step time, validation), NewareNDA's a DataFrame.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np

from ncmsurf.io.neware import read_neware_nda

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "cycling"
FILE = SHARED / "BTS85-36-6-5-110-20240424.ndax"


def _identical(rec, df) -> list[str]:  # type: ignore[no-untyped-def]
    pairs = [(rec.voltage, "Voltage"), (rec.current * 1e3, "Current(mA)"), (rec.columns["record_time"], "Time"),
             (rec.columns["charge_capacity"], "Charge_Capacity(mAh)"),
             (rec.columns["discharge_capacity"], "Discharge_Capacity(mAh)"),
             (rec.columns["charge_energy"], "Charge_Energy(mWh)"),
             (rec.columns["discharge_energy"], "Discharge_Energy(mWh)")]
    bad = [name for ours, name in pairs if not np.array_equal(ours.astype(np.float32), df[name].to_numpy())]
    if not np.array_equal(rec.step, df["Step"].to_numpy()):
        bad.append("Step")
    if not np.array_equal(rec.columns["record_index"], df["Index"].to_numpy()):
        bad.append("Index")
    return bad


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    import NewareNDA

    path = str(FILE)
    read_neware_nda(path)
    NewareNDA.read(path)  # warm-up: imports, page cache
    ours: list[float] = []
    theirs: list[float] = []
    rec = df = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        rec = read_neware_nda(path)
        t1 = time.perf_counter()
        df = NewareNDA.read(path)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    assert rec is not None and df is not None
    bad = _identical(rec, df)
    cyc = NewareNDA.read(path, software_cycle_number=False)["Cycle"].to_numpy()
    if not np.array_equal(rec.cycle, cyc):
        bad.append("Cycle")
    mo, mt = statistics.median(ours), statistics.median(theirs)
    version = getattr(NewareNDA, "__version__", "")
    print(f"Python {platform.python_version()}, NewareNDA {version}")
    print("| task | records | ncmsurf s (median) | NewareNDA s (median) | NewareNDA / ncmsurf | arrays |")
    print("|---|---|---|---|---|---|")
    print(f"| read `{FILE.name}` | {len(rec):,} | {mo:.3f} | {mt:.3f} | {mt / mo:.1f}x | "
          f"{'identical' if not bad else 'DIFFER: ' + ', '.join(bad)} |")


if __name__ == "__main__":
    main()
