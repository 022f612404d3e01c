"""EIS speed: ncmsurf against impedance.py, side by side in one process, interleaved, medians.

Run from the repository root::

    /work/venv/bin/python benchmarks/bench_eis.py            # full run (1,000 and 10,000 spectra)
    /work/venv/bin/python benchmarks/bench_eis.py --quick    # fewer repeats, 200 / 1,000 spectra

Parts:

1. Same circuit, same data, same start, same objective (unweighted complex least
   squares): ``ns.eis.fit(..., initial_guess=g, weighting="unity")`` against
   impedance.py's ``CustomCircuit(circuit, initial_guess=g).fit(f, Z)``; both
   chi-squares (sum |Z - Z_fit|^2) are printed.
   Then the same again with ``solver="impedance.py"`` (impedance.py's algorithm,
   step for step, on ncmsurf's compiled circuit): time and the largest relative
   difference between the two parameter vectors.
2. ``R0-p(R1,CPE1)-p(R2-Wo1,CPE2)`` on exampleData.csv with no initial guess.
3. ``fit_many`` on seeded synthetic "ncm" spectra (71 points, 0.5 % noise),
   serial and on a 2-worker dask LocalCluster.

The data file comes from ../shared/data/eis (impedance.py's exampleData.csv); when it is
absent, parts 1-2 use a synthetic spectrum and say so.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _memory import peak_mb

import ncmsurf as ns
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "eis" / "exampleData.csv"

CASES = [
    ("R0-p(R1,C1)-p(R2-Wo1,C2)", [0.01, 0.01, 100, 0.01, 0.05, 100, 1]),  # README guess
    ("R0-p(R1-Wo1,C1)", [0.01, 0.005, 0.01, 200, 0.1]),  # README guess (Randles)
    ("R0-p(R1,CPE1)-p(R2-Wo1,CPE2)", [0.01, 0.01, 3, 0.8, 0.01, 0.05, 100, 0.2, 0.9]),
    ("R0-p(R1,CPE1)-p(R2-W1,CPE2)", [0.01, 0.01, 3, 0.8, 0.01, 0.003, 0.2, 0.9]),
]


def _spectrum() -> tuple[ImpedanceSpectrum, str]:
    if DATA.exists():
        s = ns.read_eis(DATA)[0]
        keep = s.impedance.imag < 0
        return ImpedanceSpectrum(s.frequency[keep], s.impedance[keep]), "exampleData.csv (57 points with Z'' < 0)"
    truth = {"R0": 0.0165, "R1": 0.0087, "C1": 3.3, "R2": 0.0054, "Wo1_0": 0.063, "Wo1_1": 233.0, "C2": 0.22}
    return synthetic_spectrum(CASES[0][0], truth, noise=0.005), "synthetic (shared data absent)"


def _time(fn, repeats: int) -> tuple[float, object]:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def part1(repeats: int) -> list[str]:
    from impedance.models.circuits import CustomCircuit

    spec, label = _spectrum()
    f, z = spec.frequency, spec.impedance
    rows = [f"Data: {label}", "",
            "| circuit | ncmsurf (ms) | impedance.py (ms) | speed-up | chi2 ncmsurf | chi2 impedance.py | "
            "(chi2 ncmsurf − chi2 impedance.py) / chi2 impedance.py |",
            "|---|---|---|---|---|---|---|"]
    for circuit, guess in CASES:
        ta, tb = [], []
        fa = fb = None
        for _ in range(repeats):  # interleaved
            dt, fa = _time(lambda c=circuit, g=guess: ns.eis.fit(spec, c, initial_guess=g, weighting="unity"), 1)
            ta.append(dt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dt, fb = _time(lambda c=circuit, g=guess: CustomCircuit(c, initial_guess=g).fit(f, z), 1)
            tb.append(dt)
        chi_a = float(np.sum(np.abs(fa.predict(f) - z) ** 2))  # type: ignore[union-attr]
        chi_b = float(np.sum(np.abs(fb.predict(f) - z) ** 2))  # type: ignore[union-attr]
        ma, mb = statistics.median(ta), statistics.median(tb)
        rows.append(f"| `{circuit}` | {1e3 * ma:.1f} | {1e3 * mb:.1f} | {mb / ma:.1f}x | {chi_a:.6e} | {chi_b:.6e} | "
                    f"{(chi_a - chi_b) / chi_b:+.1e} |")
    return rows


def part1b(repeats: int) -> list[str]:
    from impedance.models.circuits import CustomCircuit

    spec, _ = _spectrum()
    f, z = spec.frequency, spec.impedance
    rows = ["| circuit | ncmsurf solver=\"impedance.py\" (ms) | impedance.py (ms) | speed-up | "
            "max relative parameter difference |", "|---|---|---|---|---|"]
    for circuit, guess in CASES:
        ta, tb = [], []
        fa = fb = None
        for _ in range(repeats):  # interleaved
            dt, fa = _time(lambda c=circuit, g=guess: ns.eis.fit(spec, c, initial_guess=g, weighting="unity",
                                                                  solver="impedance.py"), 1)
            ta.append(dt)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                dt, fb = _time(lambda c=circuit, g=guess: CustomCircuit(c, initial_guess=g).fit(f, z), 1)
            tb.append(dt)
        names = ns.eis.compile_circuit(circuit).param_names
        pa = np.array([fa.params[n] for n in names])  # type: ignore[union-attr]
        pb = np.asarray(fb.parameters_)  # type: ignore[union-attr]
        ma, mb = statistics.median(ta), statistics.median(tb)
        rows.append(f"| `{circuit}` | {1e3 * ma:.1f} | {1e3 * mb:.1f} | {mb / ma:.1f}x | "
                    f"{float(np.max(np.abs(pa / pb - 1))):.1e} |")
    return rows


def part2(repeats: int) -> list[str]:
    rows = ["| data | points | time (ms, median) | success | relative residual | starts |", "|---|---|---|---|---|---|"]
    if DATA.exists():
        full = ns.read_eis(DATA)[0]
        for label, kw in (("exampleData.csv, all points", {}),
                          ("exampleData.csv, capacitive_only=True", {"capacitive_only": True})):
            ts = []
            fit = None
            for _ in range(repeats):
                dt, fit = _time(lambda kw=kw: ns.eis.fit(full, "R0-p(R1,CPE1)-p(R2-Wo1,CPE2)", **kw), 1)
                ts.append(dt)
            assert fit is not None
            rows.append(f"| {label} | {fit.n_points} | {1e3 * statistics.median(ts):.1f} | "  # type: ignore[attr-defined]
                        f"{fit.success} | {fit.relative_residual:.4f} | {fit.n_starts} |")  # type: ignore[attr-defined]
    else:
        rows.append("| (shared data absent) | | | | | |")
    return rows


def _many(n: int) -> list[ImpedanceSpectrum]:
    rng = np.random.default_rng(42)
    out = []
    for i in range(n):
        p = {k: v * float(np.exp(rng.normal(0, 0.15))) if not k.endswith("_1") else v for k, v in NCM_TRUTH.items()}
        out.append(synthetic_spectrum("ncm", p, noise=0.005, seed=i))
    return out


def part3(sizes: list[int]) -> list[str]:
    from distributed import Client, LocalCluster

    rows = ["| spectra | serial (s) | dask, 2 workers (s) | all converged, verdicts equal | "
            "max abs difference serial vs parallel | "
            "serial peak memory above the input (list / (cell, cycle, frequency) DataArray) |",
            "|---|---|---|---|---|---|"]
    for n in sizes:
        specs = _many(n)
        t0 = time.perf_counter()
        serial = ns.eis.fit_many(specs, "ncm")
        ts = time.perf_counter() - t0
        t0 = time.perf_counter()
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as client:
            par = ns.eis.fit_many(specs, "ncm", parallel=True, client=client)
        tp = time.perf_counter() - t0
        diff = max(float(np.nanmax(np.abs(par[v].values.astype(float) - serial[v].values.astype(float))))
                   for v in serial.data_vars if serial[v].dtype.kind != "U")
        same_verdicts = all(par[v].values.tolist() == serial[v].values.tolist()
                            for v in serial.data_vars if serial[v].dtype.kind == "U")
        ok = bool(serial["success"].all()) and same_verdicts
        if "quality" in serial:
            levels = {q: int((serial["quality"].values == q).sum()) for q in ("good", "suspect", "failed")}
            print(f"  {n} spectra: verdicts {levels}", file=sys.stderr)
        mem = ""
        if n <= 1000:  # tracemalloc slows the fits; once is enough
            import xarray as xr

            in_list = sum(s.frequency.nbytes + s.impedance.nbytes for s in specs) / 1e6
            da = xr.DataArray(np.array([s.impedance for s in specs]).reshape(n // 50, 50, -1),
                              dims=("cell", "cycle", "frequency"), coords={"frequency": specs[0].frequency})
            p_list, _ = peak_mb(lambda s=specs: ns.eis.fit_many(s, "ncm"))
            p_da, _ = peak_mb(lambda d=da: ns.eis.fit_many(d, "ncm"))
            mem = (f"{p_list:.2f} MB over {in_list:.2f} MB ({p_list / in_list:.2f}x) / "
                   f"{p_da:.2f} MB over {da.nbytes / 1e6:.2f} MB ({p_da / (da.nbytes / 1e6):.2f}x)")
        rows.append(f"| {n} | {ts:.1f} | {tp:.1f} (incl. cluster start) | {ok} | {diff:.1e} | {mem} |")
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--sizes", type=int, nargs="*", default=None)
    args = ap.parse_args()
    repeats = 3 if args.quick else 7
    sizes = args.sizes if args.sizes is not None else ([200, 1000] if args.quick else [1000, 10000])
    import impedance
    import scipy

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, scipy {scipy.__version__}, ncmsurf {ns.__version__}, "
          f"impedance.py {getattr(impedance, '__version__', '?')}")
    print("\n## 1. Same circuit and start as impedance.py (medians of", repeats, "interleaved runs)\n")
    print("\n".join(part1(repeats)))
    print("\n### 1b. The same algorithm as impedance.py: ns.eis.fit(..., solver=\"impedance.py\")\n")
    print("\n".join(part1b(repeats)))
    print("\n## 2. R0-p(R1,CPE1)-p(R2-Wo1,CPE2), no initial guess\n")
    print("\n".join(part2(repeats)))
    print("\n## 3. fit_many, 'ncm' preset, synthetic 71-point spectra\n")
    print("\n".join(part3(sizes)))


if __name__ == "__main__":
    main()
