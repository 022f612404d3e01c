"""Neware .nda/.ndax: ncmsurf's own parser against the README references and NewareNDA's output."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.cycling import summary
from ncmsurf.io.neware import read_neware_nda, time_semantics

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


def test_nda_whose_time_is_the_test_time() -> None:
    rec = ns.read_cycling(shared_file("cycling", "TestFile.nda"))
    # README (NewareNDA): 6670 rows, t 0.01 -> 72,373.26 s, V 1.7206-4.2001, I -3.00096...+1.20077 A, 3 cycles
    assert rec.meta["rows_read"] == len(rec) == 6670
    assert "test time" in rec.meta["time_source"]
    assert rec.time[0] == pytest.approx(0.01, abs=1e-6) and rec.time[-1] == pytest.approx(72373.26, abs=0.01)
    assert rec.voltage.min() == pytest.approx(1.7206, abs=1e-4) and rec.voltage.max() == pytest.approx(4.2001, abs=1e-4)
    assert rec.current.min() == pytest.approx(-3.00096, abs=1e-5)
    assert rec.current.max() == pytest.approx(1.20077, abs=1e-5)
    assert rec.cycle is not None and set(np.unique(rec.cycle).tolist()) == {1, 2, 3}
    s = summary(rec)  # a counter mismatch would warn (and fail here)
    # README: instrument counters charge 11,626.1 mAh, discharge 9,596.8 mAh in all (0.5 % asked)
    assert float(s.charge_capacity.sum()) == pytest.approx(11626.1, rel=5e-3)
    assert float(s.discharge_capacity.sum()) == pytest.approx(9596.8, rel=5e-3)
    assert float(s.instrument_charge_capacity.sum()) == pytest.approx(11626.1, rel=1e-4)
    assert float(s.instrument_discharge_capacity.sum()) == pytest.approx(9596.8, rel=1e-4)


def test_ndax_step_time_and_newarenda_arrays() -> None:
    p = shared_file("cycling", "BTS85-36-6-5-110-20240424.ndax")
    rec = read_neware_nda(p)
    assert "step time" in rec.meta["time_source"] and rec.meta["parser"] == "ncmsurf"
    assert rec.meta["rows_read"] == len(rec) == 699677
    newarenda = pytest.importorskip("NewareNDA")
    df = newarenda.read(str(p), software_cycle_number=False)
    # identical at NewareNDA's own precision (it returns float32)
    pairs = [(rec.voltage, "Voltage"), (rec.current * 1e3, "Current(mA)"), (rec.columns["record_time"], "Time"),
             (rec.columns["charge_capacity"], "Charge_Capacity(mAh)"),
             (rec.columns["discharge_capacity"], "Discharge_Capacity(mAh)"),
             (rec.columns["charge_energy"], "Charge_Energy(mWh)"),
             (rec.columns["discharge_energy"], "Discharge_Energy(mWh)")]
    for ours, name in pairs:
        np.testing.assert_array_equal(ours.astype(np.float32), df[name].to_numpy(), err_msg=name)
    np.testing.assert_array_equal(rec.cycle, df["Cycle"].to_numpy())
    np.testing.assert_array_equal(rec.step, df["Step"].to_numpy())
    np.testing.assert_array_equal(rec.columns["record_index"], df["Index"].to_numpy())


def test_time_semantics_rule() -> None:
    assert time_semantics(np.array([0.0, 1, 2, 3]), np.array([1, 1, 2, 2])) == "test"
    assert time_semantics(np.array([0.0, 1, 0.5, 3]), np.array([1, 1, 2, 2])) == "step"
    with pytest.raises(ValueError, match="inside a step"):
        time_semantics(np.array([0.0, 2, 1, 3]), np.array([1, 1, 1, 2]))


def _nda29(records: list[tuple[int, int, int, int, int, float, float]]) -> bytes:
    """A version-29 .nda built from the documented layout (no shared file of this version)."""
    head = bytearray(b"NEWARE" + b"\x00" * 8 + bytes([29]) + b"\x00" * 1000)
    body = bytearray(b"\x00\x00\x00\x00")
    for index, cycle, step, status, t_ms, volt, cur_ma in records:
        r = bytearray(86)
        r[0:2] = b"\x55\x00"
        struct.pack_into("<IIHB", r, 2, index, cycle, step, status)
        struct.pack_into("<Qii", r, 14, t_ms, round(volt * 10000), round(cur_ma / 1e-3))
        struct.pack_into("<HBBBBB", r, 70, 2024, 5, 6, 8, 0, 0)
        struct.pack_into("<i", r, 78, 10)  # range 10 -> current factor 1e-3 mA
        body += r
    return bytes(head + body + b"\x00" * 86)


def test_nda_version_29_from_the_documented_layout(tmp_path: Path) -> None:
    rows = [(1, 0, 1, 4, 0, 3.5, 0.0), (2, 0, 2, 1, 1000, 3.6, 1.0), (3, 0, 2, 1, 2000, 3.7, 1.0),
            (4, 0, 3, 2, 0, 3.6, -1.0), (5, 0, 3, 2, 1000, 3.5, -1.0)]
    p = tmp_path / "v29.nda"
    p.write_bytes(_nda29(rows))
    rec = ns.read_cycling(p)
    assert rec.meta["nda_version"] == 29 and len(rec) == 5
    np.testing.assert_allclose(rec.time, [0, 1, 2, 2, 3])  # step time summed into test time
    np.testing.assert_allclose(rec.current, [0, 1e-3, 1e-3, -1e-3, -1e-3])
    np.testing.assert_allclose(rec.voltage, [3.5, 3.6, 3.7, 3.6, 3.5])


@pytest.mark.parametrize("name", ["TestFile.nda", "BTS85-36-6-5-110-20240424.ndax"])
def test_damaged_neware_files(name: str, tmp_path: Path) -> None:
    raw = shared_file("cycling", name).read_bytes()
    rng = np.random.default_rng(3)
    for k in range(15):
        data = bytearray(raw[: int(len(raw) * rng.uniform(0.05, 1.0))] if k % 2 else raw)
        if k % 3 == 0:
            for _ in range(8):
                data[int(rng.integers(0, len(data)))] = int(rng.integers(0, 256))
        q = tmp_path / name
        q.write_bytes(bytes(data))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ns.NcmsurfWarning)
            try:
                rec = ns.read_cycling(q)
            except ReadError:
                continue
        assert rec.meta["rows_read"] == len(rec)
