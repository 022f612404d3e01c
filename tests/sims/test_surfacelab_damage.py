"""A damaged SurfaceLab profile is refused naming the line (or read with a warning), never read short (issue 13)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io._table import TableWarning
from ncmsurf.io.sims_formats import write_surfacelab_txt


def _export() -> bytes:
    return shared_file("sims", "I241209m_A_MAPI_1f-1nA_pos-B4_NF.txt").read_bytes()


def _write(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / "profile.txt"
    p.write_bytes(data)
    return p


def test_a_cut_export_is_refused(tmp_path: Path) -> None:
    raw = _export()
    lines = raw.split(b"\r\n")
    cut = len(raw) - len(lines[-2]) // 2 - 2  # inside the last data row
    with pytest.raises(ReadError, match="no line end"):
        ns.read_sims(_write(tmp_path, raw[:cut]))


def test_a_missing_export_row_is_refused(tmp_path: Path) -> None:
    lines = _export().split(b"\r\n")
    del lines[40]
    with pytest.raises(ReadError, match="not consecutive") as err:
        ns.read_sims(_write(tmp_path, b"\r\n".join(lines)))
    assert err.value.line == 41  # the row after the lost one


def test_a_shifted_mass_row_is_refused(tmp_path: Path) -> None:
    lines = _export().split(b"\r\n")
    lines[2] = lines[2].replace(b"\t", b"", 1)  # one cell fewer: the masses would move one column
    with pytest.raises(ReadError, match="mass row") as err:
        ns.read_sims(_write(tmp_path, b"\r\n".join(lines)))
    assert err.value.line == 3
    lines = _export().split(b"\r\n")
    lines[2] = lines[2].replace(b"320.7077", b"32x0.7077")
    with pytest.raises(ReadError, match="not a mass") as err:
        ns.read_sims(_write(tmp_path, b"\r\n".join(lines)))
    assert err.value.line == 3


def _simple(tmp_path: Path) -> tuple[ns.DepthProfile, bytes]:
    prof = ns.DepthProfile(np.arange(10.0), {"AlO-": 100.0 + np.arange(10.0), "NiF3-": 5.0 + np.arange(10.0)})
    return prof, write_surfacelab_txt(prof, tmp_path / "w.txt").read_bytes()


def test_a_damaged_first_data_row_is_not_a_label_row(tmp_path: Path) -> None:
    _prof, raw = _simple(tmp_path)
    bad = raw.replace(b"\n0.0\t", b"\nx\t", 1)
    with pytest.raises(ReadError, match="non-numeric value 'x'"):
        ns.read_sims(_write(tmp_path, bad))


def test_a_cut_simple_profile_warns(tmp_path: Path) -> None:
    prof, raw = _simple(tmp_path)
    with pytest.warns(TableWarning, match="no line end"):
        back = ns.read_sims(_write(tmp_path, raw[:-3]))
    np.testing.assert_array_equal(back.sputter_time[:-1], prof.sputter_time[:-1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ns.read_sims(_write(tmp_path, raw)).sputter_time) == 10
