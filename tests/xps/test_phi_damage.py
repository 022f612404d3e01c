"""PHI MultiPak files whose data blocks moved or whose source line was damaged are refused, not misread."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

import ncmsurf as ns


def _write(path: Path, *, source: str = "Al 1486.6 mono", insert_at: int | None = None) -> Path:
    hdr = ["SOFH", "FileType: SPECTRUM", f"XraySource: {source}", "NoSpectralReg: 1",
           "SpectralRegDef: 1 1 O1s 8 5 -0.5000 532.0000 530.0000 532.0 530.0 0.1 23.5 FAT",
           "NoSpatialArea: 1", "EOFH", ""]
    entry = [0] * 24
    entry[8], entry[9], entry[22], entry[23] = 5, 1, 20, 100
    body = struct.pack("<I", 1) + struct.pack("<24I", *entry) + struct.pack("<5f", 100, 200, 300, 200, 100)
    if insert_at is not None:  # two bytes slipped into the data block: the floats are read out of step
        k = 100 + insert_at
        body = body[:k] + b"\x00\x01" + body[k:-2]
    path.write_bytes("\r\n".join(hdr).encode() + body)
    return path


def test_the_intact_file_reads(tmp_path: Path) -> None:
    s = ns.read_xps(_write(tmp_path / "a.spe"))[0]
    assert s.intensity.tolist() == [100.0, 200.0, 300.0, 200.0, 100.0]
    assert s.excitation_energy == 1486.6


@pytest.mark.parametrize("at", [0, 3, 9])
def test_data_read_out_of_step_is_refused(tmp_path: Path, at: int) -> None:
    with pytest.raises(ns.ReadError, match="subnormal|not finite"):
        ns.read_xps(_write(tmp_path / "b.spe", insert_at=at))


def test_two_photon_energies_in_the_source_line_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ns.ReadError, match="2 photon energies"):
        ns.read_xps(_write(tmp_path / "c.spe", source="Al 1486 1486.6 mono"))
