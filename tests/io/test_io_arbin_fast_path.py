"""The multi-threaded Arbin CSV parse gives exactly the checked parse's result, and never hides a bad row."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io import cyclers

pytest.importorskip("pyarrow")


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = synthetic_record(n_cycles=120, points_per_cycle=500, seed=3)  # > 50,000 rows: the fast path applies
    return cyclers.write_arbin_csv(rec, tmp_path_factory.mktemp("arbin") / "big.csv")


def test_fast_equals_checked_parse(big_csv: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = cyclers.read_arbin_csv(big_csv, mass=0.01)
    assert len(fast) > 50_000
    monkeypatch.setattr(cyclers, "_FAST_ROWS", 10**12)  # the table core's checked path, cell by cell
    slow = cyclers.read_arbin_csv(big_csv, mass=0.01)
    assert fast == slow  # exact: values, dtypes, columns, metadata
    assert np.array_equal(fast.current, slow.current)


def test_fast_path_falls_back_on_a_cut_row(big_csv: Path, tmp_path: Path) -> None:
    lines = big_csv.read_bytes().split(b"\n")
    k = 40_000
    lines[k] = lines[k][: len(lines[k]) // 2]  # a row cut short in the middle of the file
    bad = tmp_path / "cut.csv"
    bad.write_bytes(b"\n".join(lines))
    with pytest.raises(ns.ReadError) as err:
        ns.read_cycling(bad)
    assert err.value.line == k + 1
