"""A damaged VAMAS variable label or unit is refused naming the line, never read as another column (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io.vamas import read_vamas, write_vamas


def _lines(name: str) -> list[str]:
    return shared_file("xps", name).read_text(encoding="latin-1").replace("\r\n", "\n").split("\n")


def _write(tmp_path: Path, lines: list[str]) -> Path:
    p = tmp_path / "damaged.vms"
    p.write_text("\n".join(lines), encoding="latin-1")
    return p


@pytest.mark.parametrize("damaged", ["Tsansmission", "Transmissiom", "Transmision", "Transmisssion"])
def test_a_damaged_transmission_label_is_refused(tmp_path: Path, damaged: str) -> None:
    lines = _lines("survey.vms")
    k = next(i for i, ln in enumerate(lines) if ln.strip() == "Transmission")
    lines[k] = lines[k].replace("Transmission", damaged)
    with pytest.raises(ReadError, match="close to 'Transmission'") as err:
        read_vamas(_write(tmp_path, lines))
    assert err.value.line == k + 1


def test_a_damaged_unit_or_abscissa_label_is_refused(tmp_path: Path) -> None:
    lines = _lines("Mutlipak_vms.npl")
    k = next(i for i, ln in enumerate(lines) if ln.strip() == "c/s")
    bad = list(lines)
    bad[k] = bad[k].replace("c/s", "c/r")
    with pytest.raises(ReadError, match="units 'c/r'") as err:
        read_vamas(_write(tmp_path, bad))
    assert err.value.line == k + 1
    k = next(i for i, ln in enumerate(lines) if ln.strip() == "Binding Energy")
    bad = list(lines)
    bad[k] = bad[k].replace("Binding Energy", "Binsing Energy")  # would be read as kinetic energy
    with pytest.raises(ReadError, match="close to 'Binding Energy'"):
        read_vamas(_write(tmp_path, bad))


def test_the_transmission_column_is_kept(tmp_path: Path) -> None:
    s = ns.XPSSpectrum(np.linspace(870, 850, 41), np.arange(41.0) + 10, transmission=np.linspace(1, 2, 41))
    back = read_vamas(write_vamas([s], tmp_path / "t.vms"))[0]
    np.testing.assert_array_equal(back.transmission, s.transmission)
    other = ns.XPSSpectrum(np.linspace(870, 850, 41), np.arange(41.0) + 10)
    assert read_vamas(write_vamas([other], tmp_path / "o.vms"))[0].transmission is None
