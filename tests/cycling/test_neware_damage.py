"""A damaged Neware .nda is refused naming the byte offset, never read to a shorter or shifted record (issue 13)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError

REC = 56  # BTS 9.1 record length of TestFile.nda
FIRST = 1024


def _raw() -> bytes:
    return shared_file("cycling", "TestFile.nda").read_bytes()


def _read(tmp_path: Path, data: bytes) -> ns.CyclingData:
    p = tmp_path / "damaged.nda"
    p.write_bytes(data)
    return ns.read(p, format="neware-nda")[0]


def test_the_whole_file_reads(tmp_path: Path) -> None:
    rec = _read(tmp_path, _raw())
    assert len(rec) == 6670
    np.testing.assert_array_equal(rec.columns["record_index"], np.arange(1, 6671))


@pytest.mark.parametrize("k", [0, 1, 17, 300, 6668])
def test_cut_files_are_refused(tmp_path: Path, k: int) -> None:
    raw = _raw()
    for cut in (FIRST + k * REC, FIRST + k * REC + 23):
        with pytest.raises(ReadError, match="byte offset|ends"):
            _read(tmp_path, raw[:cut])


def test_inserted_and_deleted_bytes_are_refused(tmp_path: Path) -> None:
    raw = _raw()
    pos = FIRST + 2000 * REC + 5
    with pytest.raises(ReadError, match=r"byte offset \d+"):
        _read(tmp_path, raw[:pos] + b"\n" + raw[pos:])
    with pytest.raises(ReadError, match=r"byte offset \d+"):
        _read(tmp_path, raw[:pos] + raw[pos + 2:])


def test_a_damaged_record_number_is_refused(tmp_path: Path) -> None:
    raw = bytearray(_raw())
    off = FIRST + 3000 * REC + 8
    struct.pack_into("<I", raw, off, struct.unpack_from("<I", raw, off)[0] + 1)
    with pytest.raises(ReadError, match=f"record 3001 \\(byte offset {FIRST + 3000 * REC}\\)"):
        _read(tmp_path, bytes(raw))


def test_a_damaged_tag_is_refused(tmp_path: Path) -> None:
    raw = bytearray(_raw())
    raw[FIRST + 100 * REC] ^= 0x10
    with pytest.raises(ReadError, match=f"byte offset {FIRST + 100 * REC}: record slot 101"):
        _read(tmp_path, bytes(raw))


def test_an_unknown_step_type_is_refused(tmp_path: Path) -> None:
    raw = bytearray(_raw())
    raw[FIRST + 50 * REC + 3] = 99
    with pytest.raises(ReadError, match="step type 99"):
        _read(tmp_path, bytes(raw))


@pytest.mark.parametrize("k", [10, 190, 700, 2500, 6000])
def test_a_damaged_step_number_is_refused(tmp_path: Path, k: int) -> None:
    """One flipped bit of a record's step number would split a step and shift every later step count."""
    raw = _raw()
    for bit in range(8):
        b = bytearray(raw)
        b[FIRST + k * REC + 2] ^= 1 << bit
        with pytest.raises(ReadError, match="step number"):
            _read(tmp_path, bytes(b))


def _nda29(n: int, *, tail: bytes = b"") -> bytes:
    head = bytearray(b"NEWARE" + b"\x00" * 8 + bytes([29]) + b"\x00" * 1000)
    body = bytearray(b"\x00\x00\x00\x00")
    for i in range(n):
        r = bytearray(86)
        r[0:2] = b"\x55\x00"
        struct.pack_into("<IIHB", r, 2, i + 1, 0, 1, 4)
        struct.pack_into("<Qii", r, 14, 1000 * i, 35000, 0)
        struct.pack_into("<HBBBBB", r, 70, 2024, 5, 6, 8, 0, 0)
        struct.pack_into("<i", r, 78, 10)
        body += r
    return bytes(head + body + tail)


def test_version_29_layout_checks(tmp_path: Path) -> None:
    assert len(_read(tmp_path, _nda29(6, tail=b"\x00" * 86))) == 6  # empty slots at the end are padding
    good = _nda29(6)
    with pytest.raises(ReadError, match="ends inside a record"):
        _read(tmp_path, good[:-10])
    bad = bytearray(good)
    bad[1019 + 2 * 86] = 0x44  # the third record's tag
    with pytest.raises(ReadError, match="record slot 3"):
        _read(tmp_path, bytes(bad))


def _nda_bts90(n: int) -> bytes:
    """A BTS 9.0 .nda (88-byte records after a 1024-byte header, NewareNDA's documented layout)."""
    head = bytearray(b"NEWARE" + b"\x00" * 8 + bytes([130]) + b"\x00" * 1009)
    body = bytearray()
    for i in range(n):
        r = bytearray(88)
        r[0:6] = b"\x00\x00\x00\x00\x55\x00"
        r[9], r[10] = 1, 4  # step 1, rest
        struct.pack_into("<I", r, 16, i + 1)
        struct.pack_into("<Q", r, 28, 1_000_000 * i)  # µs
        struct.pack_into("<ff", r, 36, 3.5 + 0.01 * i, 0.0)
        struct.pack_into("<Q", r, 68, 1_700_000_000_000_000 + 1_000_000 * i)
        body += r
    return bytes(head + body + b"\x81" + b"\x00" * 87)


def test_bts_90_layout(tmp_path: Path) -> None:
    rec = _read(tmp_path, _nda_bts90(5))
    assert rec.meta["bts"] == "9.0" and len(rec) == 5
    np.testing.assert_allclose(rec.voltage, 3.5 + 0.01 * np.arange(5), rtol=1e-6)
    np.testing.assert_allclose(rec.time, np.arange(5.0))
    raw = bytearray(_nda_bts90(5))
    raw[1024 + 2 * 88 + 4] = 0x56  # the third record's head
    with pytest.raises(ReadError, match="record slot 3"):
        _read(tmp_path, bytes(raw))
