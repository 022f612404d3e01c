"""Arbin .res (Microsoft Access): exact records against the README reference (cellpy's parsed raw frame)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.cycling import summary

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")
pytest.importorskip("access_parser")


def test_res_reference_values() -> None:
    p = shared_file("cycling", "20160805_test001_45_cc_01.res")
    assert ns.io.registry.choose_reader(p).name == "arbin-res"
    rec = ns.read_cycling(p)
    # README: 10,261 rows, t 300.01 -> 859,077.24 s, V 0.04989-3.11671, I +-3.06e-4 A; 18 cycles
    assert rec.meta["rows_read"] == len(rec) == 10261
    assert rec.time[0] == pytest.approx(300.01, abs=0.005) and rec.time[-1] == pytest.approx(859077.24, abs=0.005)
    assert rec.voltage.min() == pytest.approx(0.04989, abs=1e-5)
    assert rec.voltage.max() == pytest.approx(3.11671, abs=1e-5)
    assert np.abs(rec.current).max() == pytest.approx(3.06e-4, rel=0.01)
    assert rec.cycle is not None and np.unique(rec.cycle).size == 18
    # README: cycle 1 charge 1.62541 mAh (Arbin's Charge_Capacity, the delithiation of this anode half cell)
    assert rec.columns["charge_capacity"][rec.cycle == 1].max() * 1e3 == pytest.approx(1.62541, abs=1e-5)
    s = summary(rec, convention="anode")  # lithiation first; a counter mismatch above 1 % would fail here
    assert float(s.discharge_capacity.sel(cycle=1)) == pytest.approx(1.62541, rel=5e-3)
    assert float(s.instrument_discharge_capacity.sel(cycle=1)) == pytest.approx(1.62541, rel=1e-5)
    assert rec.meta["arbin_test_name"] == "20160805_sic006_45_cc_01-01-003"
    assert rec.meta["start_time"].startswith("2016-08-05")


def test_res_damaged(tmp_path: Path) -> None:
    raw = shared_file("cycling", "20160805_test001_45_cc_01.res").read_bytes()
    q = tmp_path / "x.res"
    q.write_bytes(raw[:4] + b"Not a Jet DB!!!" + raw[19:])
    with pytest.raises(ReadError, match="Access database"):
        ns.read_cycling(q, format="arbin-res")
    rng = np.random.default_rng(0)
    for k in range(4):
        data = bytearray(raw[: int(len(raw) * rng.uniform(0.1, 0.9))] if k % 2 else raw)
        for _ in range(20 if k % 2 == 0 else 0):
            data[int(rng.integers(4096, len(data)))] = int(rng.integers(0, 256))
        q.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                rec = ns.read_cycling(q)
            except ReadError:
                continue
        assert rec.meta["rows_read"] == len(rec)
