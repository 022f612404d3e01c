"""Binary files whose bytes moved are refused, never read to shifted pixels or points (issue 13)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.datasets.tem import write_tiff

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "xps"))
from _xps_builders import ibw_bytes


def _put(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_npy_with_a_byte_added_or_lost_is_refused(tmp_path: Path) -> None:
    good = tmp_path / "map_Ni.npy"
    np.save(good, np.arange(48.0).reshape(6, 8))
    raw = good.read_bytes()
    assert ns.read(good, format="eds-npy")[0]["Ni"].shape == (6, 8)
    k = raw.index(b"\n") + 1  # the first data byte
    for bad in (raw[:k] + b"\r" + raw[k:], raw[:k - 1] + b"\r\n" + raw[k:], raw[:-1]):
        with pytest.raises(ReadError, match="header states"):
            ns.read(_put(tmp_path, "map_Ni.npy", bad), format="eds-npy")


@pytest.mark.parametrize("reader", ["eds-tiff", "tem-tiff"])
def test_tiff_with_bytes_inserted_into_its_pixels_is_refused(tmp_path: Path, reader: str) -> None:
    img = ((np.arange(24 * 32).reshape(24, 32) * 13) % 251).astype(np.float32)
    raw = write_tiff(tmp_path / "a.tif", img, pixel_size=0.05).read_bytes()
    assert ns.read(_put(tmp_path, "a.tif", raw), format=reader)
    mid = len(raw) - 1000
    for bad in (raw[:mid] + raw[mid:mid + 3] + raw[mid:], raw[:mid] + b"\r" + raw[mid:], raw[:-5]):
        with pytest.raises(ReadError, match="bytes were added or lost|not a readable TIFF"):
            ns.read(_put(tmp_path, "a.tif", bad), format=reader)


def test_a_tiff_stack_with_unreferenced_tag_bytes_after_its_last_directory_reads(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    stack = np.arange(3 * 16 * 20, dtype=np.uint16).reshape(3, 16, 20)
    f = tmp_path / "maps.tif"
    tifffile.imwrite(f, stack, photometric="minisblack", metadata={"elements": ["Al", "Ni", "Mn"]})
    m = ns.read_eds(f)
    np.testing.assert_array_equal(m["Mn"], stack[2])


def test_ibw_with_bytes_added_or_lost_is_refused(tmp_path: Path) -> None:
    note = "Region Name=Ag3d\rExcitation Energy=700\rEnergy Scale=Kinetic\rPass Energy=50\rLens Mode=Transmission\r"
    raw = ibw_bytes(np.linspace(1, 9, 40), start=318.0, step=0.05, note=note)
    assert ns.read(_put(tmp_path, "ag.ibw", raw), format="scienta-ibw")[0].intensity.size == 40
    at = 64 + 320 + 17  # inside the wave data
    for bad in (raw[:at] + raw[at:at + 4] + raw[at:], raw[:at] + raw[at + 2:], raw + b"\x00"):
        with pytest.raises(ReadError, match="bytes were added or lost|outside the file|ends inside"):
            ns.read(_put(tmp_path, "ag.ibw", bad), format="scienta-ibw")


def _mpr_records() -> tuple[bytes, int, int, int]:
    """The shared PEIS .mpr, the offset of its data records, the record size and the frequency's offset in one."""
    from ncmsurf.io._mpr import parse_mpr

    p = shared_file("eis", "peis.issue_225.with_ece.mpr")
    raw = p.read_bytes()
    mpr = parse_mpr(p)
    f = np.asarray(mpr.columns["freq/Hz"], "<f4")
    start = raw.find(f[:1].tobytes())
    step = raw.find(f[1:2].tobytes(), start + 4) - start
    return raw, start, step, len(f)


def test_mpr_with_a_damaged_frequency_is_refused(tmp_path: Path) -> None:
    raw, start, step, n = _mpr_records()
    bad = bytearray(raw)
    bad[start + 10 * step:start + 10 * step + 4] = np.float32(-3.5).tobytes()
    with pytest.raises(ReadError, match="record 11: frequency"):
        ns.read(_put(tmp_path, "p.mpr", bytes(bad)), format="biologic-mpr-eis")
    bad[start + 10 * step:start + 10 * step + 4] = np.float32(2.5e22).tobytes()  # a jump: not one sweep
    with pytest.raises(ReadError, match="one way in frequency"):
        ns.read(_put(tmp_path, "p.mpr", bytes(bad)), format="biologic-mpr-eis")


def test_mpr_with_a_record_moved_back_in_time_is_refused(tmp_path: Path) -> None:
    from ncmsurf.io._mpr import parse_mpr

    p = shared_file("eis", "peis.issue_225.with_ece.mpr")
    raw = p.read_bytes()
    t = np.asarray(parse_mpr(p).columns["time/s"], "<f8")
    at = raw.find(t[12:13].tobytes())
    bad = raw[:at] + np.float64(t[3]).tobytes() + raw[at + 8:]
    with pytest.raises(ReadError, match="record 13: time goes back"):
        ns.read(_put(tmp_path, "p.mpr", bad), format="biologic-mpr-eis")


def _jeol_bytes(img: np.ndarray) -> bytes:
    import struct

    def item(name: str, vtype: int, value: bytes) -> bytes:
        nm = name.encode() + b"\x00"
        return b"\x01" + struct.pack("<i", len(nm)) + nm + struct.pack("<ii", vtype, len(value)) + value + b"\xff"

    def group(name: str, children: bytes) -> bytes:
        nm = name.encode() + b"\x00"
        return b"\x01" + struct.pack("<i", len(nm)) + nm + struct.pack("<ii", 0, 0) + children + b"\xff"

    h, w = img.shape
    tree = group("Image", item("Title", 12, b"Al K\x00") + item("Size", 3, struct.pack("<ii", w, h))
                 + item("Bits", 2, img.astype("<u2").tobytes()))
    tree += group("Instrument", item("ScanSize", 5, struct.pack("<d", 125.0)) + item("Mag", 3, struct.pack("<i", 5000)))
    tree += b"\xff"
    head = struct.pack("<I", 52) + b"EDS MAP".ljust(32, b"\x00") + struct.pack("<III", 48, 0, 48)
    return head + b"\x00" * (48 + 12 - len(head)) + tree


def test_jeol_map_with_a_byte_inserted_into_its_pixels_is_refused(tmp_path: Path) -> None:
    img = (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3) % 7
    raw = _jeol_bytes(img)
    np.testing.assert_array_equal(ns.read(_put(tmp_path, "a_Al.map", raw), format="eds-jeol-map")[0]["Al"], img)
    at = raw.index(img.astype("<u2").tobytes()) + 7
    with pytest.raises(ReadError, match="offset"):
        ns.read(_put(tmp_path, "a_Al.map", raw[:at] + b"\x00" + raw[at:]), format="eds-jeol-map")


def test_mpr_counters_that_go_back_are_refused(tmp_path: Path) -> None:
    from ncmsurf.io._mpr import _check_values

    p = tmp_path / "x.mpr"
    _check_values(p, {"half cycle": np.array([0, 0, 1, 1], np.uint32), "time/s": np.array([0.0, 1, 2, 3])})
    for cols, what in (({"half cycle": np.array([0, 1074735947, 0], np.uint32)}, "half cycle goes back"),
                       ({"z cycle": np.array([1, 2, 1], np.uint32)}, "z cycle goes back"),
                       ({"cycle number": np.array([0.0, 0.5])}, "not a whole number"),
                       ({"time/s": np.array([0.0, np.inf])}, "not finite")):
        with pytest.raises(ReadError, match=what):
            _check_values(p, cols)
