"""Bit flips of saved files: ``ns.load`` gives the exact original or a ReadError, never other data.

The suite runs a bounded number of flips per object type (about a minute in
all). The full run (1,000 flips per type, also on files without the header,
where the per-group checksums and the HDF5 library face the damage) runs
outside the suite::

    python tests/io/test_storage_fuzz.py --flips 1000
    python tests/io/test_storage_fuzz.py --flips 1000 --headerless

Each load is timed and its peak Python memory (tracemalloc, which also sees
NumPy's buffers) is compared with the file's size; the headerless run loads
in a child process so that a hang inside the HDF5 library would be seen as
one, not stall the run.
"""

from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ncmsurf as ns

HEADER = 512
TIME_LIMIT = 5.0
MEMORY_FACTOR = 10.0


# ------------------------------------------------------------------ objects
def storage_objects() -> dict[str, Any]:
    """One small object of every model kind (from the package's generators) and an analysed study."""
    from ncmsurf.datasets import coating, cycling, eis, xps

    truth = ns.datasets.demo_truth()["samples"]
    params = {"R0": 3.0, "R1": 12.0, "CPE1_0": 2e-5, "CPE1_1": 0.85, "R2": 50.0, "W1": 6.0, "CPE2_0": 1.5e-3,
              "CPE2_1": 0.85}
    circuit = "R0-p(R1,CPE1)-p(R2-W1,CPE2)"
    objs: dict[str, Any] = {
        "xps": xps.synthetic_spectrum("Ni 2p", seed=1, sample="A(3)-NCM").with_meta(synthetic=True,
                                                                                   when=np.datetime64("2024-05-01")),
        "eis": eis.synthetic_spectrum(circuit, params, frequency=np.logspace(5, -2, 36), seed=2, area=1.131,
                                      sample="P-NCM"),
        "cycling": cycling.synthetic_record(n_cycles=4, points_per_cycle=40, seed=3, sample="F(3)-NCM@100"),
        "sims": coating.synthetic_profile(coating_thickness=1.5, sputter_rate=0.01, width=0.2, seed=4,
                                          sample="A(3)-NCM", n_points=80, depth_range=6.0),
        "eds": coating.synthetic_map(coverage=0.8, cv=0.1, shape=(24, 24), pixel_size=50.0, seed=5, sample="A(3)-NCM"),
    }
    st = ns.Study(name="storage fuzz")
    st.manifest_extra = {"truth": {k: truth[k] for k in ("P-NCM", "A(3)-NCM")}}
    for label, seed in (("P-NCM", 10), ("A(3)-NCM", 20)):
        t = truth[label]
        st.add(xps.synthetic_spectrum("Ni 2p", fractions={"Ni2+": t["ni2_fraction"], "Ni3+": 1 - t["ni2_fraction"]},
                                      seed=seed, sample=label), label)
        st.add(eis.synthetic_spectrum(circuit, params, frequency=np.logspace(5, -2, 36), seed=seed + 1, area=1.131,
                                      sample=label), label)
        st.add(coating.synthetic_profile(coating_thickness=max(t["thickness_nm"], 0.5), sputter_rate=0.01,
                                         width=0.2, seed=seed + 2, sample=label, n_points=80, depth_range=6.0), label)
        st.add(coating.synthetic_map(coverage=max(t["coverage"], 0.05), cv=0.1, shape=(24, 24), pixel_size=50.0,
                                     seed=seed + 3, sample=label), label)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        st.analyze(progress=False)
    objs["study"] = st
    return objs


def checksums(path: Path) -> dict[str, str]:
    """Every group's content checksum: equal checksums mean equal types, values, dtypes and metadata."""
    import h5py

    out: dict[str, str] = {}
    with h5py.File(path, "r") as f:
        out["/"] = str(f.attrs["ncmsurf_checksum"])
        f.visititems(lambda name, obj: out.__setitem__(name, str(obj.attrs["ncmsurf_checksum"]))
                     if isinstance(obj, h5py.Group) else None)
    return out


def same(a: Any, b: Any) -> bool:
    """Whether ``a`` is exactly ``b``: the same type, and stored, the same content in every group.

    (``==`` alone is not enough: a result holding NaN is not ``==`` to an exact copy of itself.)
    """
    if type(a) is not type(b):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        return checksums(ns.save(a, Path(tmp) / "a.nc")) == checksums(ns.save(b, Path(tmp) / "b.nc"))


# ------------------------------------------------------------------- flips
def flip_bit(data: bytes, bit: int) -> bytes:
    b = bytearray(data)
    b[bit // 8] ^= 1 << (bit % 8)
    return bytes(b)


def _load(path: Path) -> tuple[str, str, Any]:
    try:
        back = ns.load(path)
    except ns.ReadError as exc:
        return "error", str(exc), None
    except Exception as exc:  # the property under test: anything else is a finding, recorded with its type
        return "other", f"{type(exc).__name__}: {exc}", None
    return "loaded", "", back


def load_once(path: Path, original: Any) -> dict[str, Any]:
    """Load ``path`` and say what came back, how long it took and the peak memory.

    The time is the CPU time of a plain load (the machine is shared, so wall time says little); the
    memory is the peak that tracemalloc sees during a second, traced load.
    """
    size = path.stat().st_size
    t0, c0 = time.perf_counter(), time.process_time()
    outcome, detail, back = _load(path)
    seconds, wall = time.process_time() - c0, time.perf_counter() - t0
    tracemalloc.start()
    try:
        again = _load(path)[0]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    if again != outcome:
        outcome, detail = "other", f"a second load gave {again}, the first {outcome}"
    if outcome == "loaded":
        outcome, detail = ("exact", "") if same(back, original) else ("silent", repr(back)[:200])
    return {"outcome": outcome, "detail": detail, "seconds": seconds, "wall": wall, "peak": peak, "size": size}


def run_flips(name: str, original: Any, n: int, *, seed: int, headerless: bool, folder: Path) -> list[dict[str, Any]]:
    base = folder / f"{name}.nc"
    ns.save(original, base)
    data = base.read_bytes()
    if headerless:
        data = data[HEADER:]
    rng = np.random.default_rng(seed)
    bits = rng.choice(len(data) * 8, size=min(n, len(data) * 8), replace=False)
    out = []
    target = folder / f"{name}-flipped.nc"
    for bit in bits:
        target.write_bytes(flip_bit(data, int(bit)))
        rec = load_once(target, original)
        rec["bit"] = int(bit)
        out.append(rec)
    return out


def summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    counts = collections.Counter(r["outcome"] for r in records)
    return {"inputs": len(records), **{k: counts.get(k, 0) for k in ("error", "exact", "silent", "other")},
            "max_seconds": round(max(r["seconds"] for r in records), 4),
            "max_memory_ratio": round(max(r["peak"] / r["size"] for r in records), 2)}


# -------------------------------------------------------------------- suite
@pytest.fixture(scope="module")
def objects() -> dict[str, Any]:
    return storage_objects()


@pytest.mark.parametrize("name", ["xps", "eis", "cycling", "sims", "eds", "study"])
def test_bit_flips_give_read_error_or_the_original(objects: dict[str, Any], name: str, tmp_path: Path) -> None:
    original = objects[name]
    base = tmp_path / "base.nc"
    ns.save(original, base)
    clean = load_once(base, original)
    assert clean["outcome"] == "exact"
    records = run_flips(name, original, 300, seed=len(name), headerless=False, folder=tmp_path)
    s = summary(records)
    assert s["silent"] == 0 and s["other"] == 0, [r for r in records if r["outcome"] in ("silent", "other")][:3]
    assert s["error"] + s["exact"] == s["inputs"]
    assert s["max_seconds"] < TIME_LIMIT
    assert s["max_memory_ratio"] < MEMORY_FACTOR, s
    # the clean load itself stays within the bounds too
    assert clean["seconds"] < TIME_LIMIT and clean["peak"] < MEMORY_FACTOR * clean["size"], clean


@pytest.mark.parametrize(("name", "flips"), [("xps", 60), ("eis", 60), ("cycling", 30), ("study", 10)])
def test_bit_flips_without_header_are_caught_by_group_checksums(objects: dict[str, Any], name: str, flips: int,
                                                                tmp_path: Path) -> None:
    # a copy without the user block (as h5repack writes it) still has its per-group checksums
    records = run_flips(name, objects[name], flips, seed=7 + len(name), headerless=True, folder=tmp_path)
    s = summary(records)
    assert s["silent"] == 0, [r for r in records if r["outcome"] == "silent"][:3]
    assert s["other"] == 0, [r for r in records if r["outcome"] == "other"][:3]


# ------------------------------------------------------------- full run
_CURRENT: dict[str, Any] = {}


def _child(args: tuple[str, bytes, str]) -> dict[str, Any]:
    name, data, folder = args
    p = Path(folder) / f"{name}-{os.getpid()}.nc"
    p.write_bytes(data)
    try:
        return load_once(p, _CURRENT[name])
    finally:
        p.unlink()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--flips", type=int, default=1000)
    ap.add_argument("--headerless", action="store_true", help="flip files without the 512-byte header")
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds before a load counts as a hang")
    args = ap.parse_args(argv)
    objs = storage_objects()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ctx = mp.get_context("fork")
        for i, (name, original) in enumerate(objs.items()):
            base = folder / f"{name}.nc"
            ns.save(original, base)
            data = base.read_bytes()[HEADER if args.headerless else 0:]
            rng = np.random.default_rng(args.seed + i)
            bits = rng.choice(len(data) * 8, size=min(args.flips, len(data) * 8), replace=False)
            records: list[dict[str, Any]] = []
            hangs = 0
            _CURRENT[name] = original  # inherited by the forked workers
            pool = ctx.Pool(1, maxtasksperchild=200)
            try:
                for bit in bits:
                    job = pool.apply_async(_child, ((name, flip_bit(data, int(bit)), tmp),))
                    try:
                        rec = job.get(timeout=args.timeout)
                    except mp.TimeoutError:
                        hangs += 1
                        pool.terminate()
                        pool = ctx.Pool(1, maxtasksperchild=200)
                        continue
                    rec["bit"] = int(bit)
                    records.append(rec)
            finally:
                pool.terminate()
            s = summary(records) | {"hangs": hangs, "file_bytes": len(data)}
            bad = [r for r in records if r["outcome"] in ("silent", "other")]
            s["examples"] = [{k: r[k] for k in ("bit", "outcome", "detail")} for r in bad[:5]]
            results[name] = s
            print(name, json.dumps(s), flush=True)
    total = {k: sum(r[k] for r in results.values()) for k in ("inputs", "error", "exact", "silent", "other", "hangs")}
    print("total", json.dumps(total))
    return 0 if total["silent"] == total["other"] == total["hangs"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
