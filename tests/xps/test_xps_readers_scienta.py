"""Scienta SES .txt (shared real file) and .ibw (Igor binary waves built here from the PTN003 layout; checked
against igor2 when it is installed).

Reference values: ../shared/data/README.md, "Readers' edge cases" (pynxtools-xps ScientaTXTParser on Ag_0001.txt).
"""

from __future__ import annotations

import numpy as np
import pytest
from _xps_builders import ibw_bytes, write
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io._xps_meta import ExcitationEnergyWarning, XPSReadWarning
from ncmsurf.io.registry import choose_reader
from ncmsurf.io.scienta import read_scienta_ibw, read_scienta_txt

NOTE = "\r".join(["Region Name=Ag3d", "Lens Mode=Transmission", "Pass Energy=50", "Number of Sweeps=2",
                  "Excitation Energy=700", "Energy Scale=Kinetic", "Acquisition Mode=Swept", "Energy Unit=Kinetic",
                  "Low Energy=318", "High Energy=336", "Energy Step=0.05"]) + "\r"


def test_txt_reference_values_and_photon_energy_from_file():
    p = shared_file("xps", "Ag_0001.txt")
    assert choose_reader(p).name == "scienta-txt"
    (s,) = ns.read_xps(p)
    assert s.region == "Ag 3d" and s.binding_energy.size == 361
    assert s.binding_energy[0] == pytest.approx(382, abs=0.011)
    assert s.binding_energy[-1] == pytest.approx(364, abs=0.011)
    assert s.intensity.max() == pytest.approx(49.123, rel=1e-5)
    assert s.binding_energy[s.intensity.argmax()] == pytest.approx(369.9, abs=0.011)
    assert s.intensity.sum() == pytest.approx(7076.81, rel=1e-5)
    assert s.excitation_energy == 520.0 and s.meta["excitation_energy_source"] == "file"
    assert s.meta["lens_mode"] == "Transmission" and s.meta["pass_energy"] == 50.0 and s.meta["sweeps"] == 2
    np.testing.assert_allclose(s.kinetic_energy[[0, -1]], [138.0, 156.0], atol=1e-9)


def test_txt_matches_pynxtools():
    pytest.importorskip("pynxtools_xps")
    from pynxtools_xps.parsers.scienta.txt_parser import ScientaTXTParser

    p = shared_file("xps", "Ag_0001.txt")
    parser = ScientaTXTParser()
    parser._parse(p)
    ref = next(iter(parser._data.values())).data
    (s,) = read_scienta_txt(p)
    np.testing.assert_allclose(s.intensity, np.asarray(ref).reshape(-1), rtol=1e-9)


def _txt(tmp_path, lines):
    p = tmp_path / "ses.txt"
    p.write_text("\r\n".join(lines) + "\r\n")
    return p


BASE = ["[Info]", "Number of Regions=0001", "", "[Region 1]", "Region Name=C1s",
        "Dimension 1 name=Kinetic Energy [eV]", "Dimension 1 size=3", "Dimension 1 scale=410 411 412",
        "Dimension 2 name=Angle [deg]", "Dimension 2 size=2", "Dimension 2 scale=-1 1",
        "[Info 1]", "Region Name=C1s", "Excitation Energy=700", "Energy Scale=Kinetic", "Pass Energy=20",
        "Lens Mode=Angular", "[Data 1]", " 410 1 2", " 411 3 4", " 412 5 6"]


def test_txt_slices_kinetic_axis(tmp_path):
    out = read_scienta_txt(_txt(tmp_path, BASE))
    assert len(out) == 2 and out[1].intensity.tolist() == [2.0, 4.0, 6.0] and out[1].meta["slice_value"] == 1.0
    np.testing.assert_allclose(out[0].binding_energy, [290.0, 289.0, 288.0])


def test_txt_without_photon_energy_warns(tmp_path):
    lines = [s for s in BASE if not s.startswith("Excitation")]
    with pytest.warns(ExcitationEnergyWarning):
        out = read_scienta_txt(_txt(tmp_path, lines))
    assert out[0].meta["excitation_energy_source"] == "default"


@pytest.mark.parametrize(("idx", "new", "match", "line"), [
    (19, " 411 3", "2 fields", 20), (19, " 411 3 x", "expected numbers", 20),
    (19, " 411.5 3 4", "Dimension 1 scale", 20), (6, "Dimension 1 size=4", "rows", 21),
    (13, "Excitation Energy=7OO", "Excitation Energy", 14),
])
def test_txt_bad_rows(tmp_path, idx, new, match, line):
    lines = list(BASE)
    lines[idx] = new
    with pytest.raises(ReadError, match=match) as info:
        read_scienta_txt(_txt(tmp_path, lines))
    assert f"line {line}" in str(info.value)


@pytest.mark.parametrize(("version", "order"), [(5, "<"), (5, ">"), (2, "<")])
def test_ibw_1d(tmp_path, version, order):
    y = np.linspace(10, 50, 361).astype(np.float32)
    p = write(tmp_path / "ag.ibw", ibw_bytes(y, start=318.0, step=0.05, note=NOTE, version=version, order=order))
    assert choose_reader(p).name == "scienta-ibw"
    (s,) = ns.read_xps(p)
    np.testing.assert_array_equal(s.intensity, y)
    np.testing.assert_allclose(s.binding_energy, 700 - (318.0 + 0.05 * np.arange(361)), atol=1e-9)
    assert s.excitation_energy == 700.0 and s.meta["excitation_energy_source"] == "file"
    assert s.meta["lens_mode"] == "Transmission" and s.meta["pass_energy"] == 50.0 and s.region == "Ag 3d"
    assert s.meta["ibw_version"] == version


def test_ibw_2d_slices_and_igor2_agrees(tmp_path):
    y = np.arange(361 * 3, dtype=np.float32).reshape(361, 3)
    p = write(tmp_path / "ag2.ibw", ibw_bytes(y, start=318.0, step=0.05, note=NOTE, slice_start=-5, slice_step=5))
    out = read_scienta_ibw(p)
    assert len(out) == 3 and [s.meta["slice_value"] for s in out] == [-5.0, 0.0, 5.0]
    np.testing.assert_array_equal(out[2].intensity, y[:, 2])
    igor2 = pytest.importorskip("igor2.binarywave")
    w = igor2.load(str(p))["wave"]
    np.testing.assert_array_equal(w["wData"], y)
    assert w["note"].decode("latin-1") == NOTE
    for version in (2, 5):
        p1 = write(tmp_path / f"v{version}.ibw", ibw_bytes(y[:, 0], start=318.0, step=0.05, note=NOTE,
                                                            version=version))
        w = igor2.load(str(p1))["wave"]
        np.testing.assert_array_equal(w["wData"], read_scienta_ibw(p1)[0].intensity)


def test_txt_window_disagreeing_with_photon_energy_warns(tmp_path):
    text = shared_file("xps", "Ag_0001.txt").read_bytes().replace(b"Excitation Energy=520", b"Excitation Energy=1486.6")
    p = write(tmp_path / "w.txt", text)
    with pytest.warns(XPSReadWarning, match="wrong excitation energy"):
        (s,) = read_scienta_txt(p)
    assert s.meta["window_mismatch"] is True


@pytest.mark.parametrize(("pos", "match"), [(30, "checksum"), (None, "ends inside")])
def test_ibw_corrupt(tmp_path, pos, match):
    data = bytearray(ibw_bytes(np.ones(50), start=318.0, step=0.05, note=NOTE))
    if pos is None:
        data = data[:400]
    else:
        data[pos] ^= 0x10
    with pytest.raises(ReadError, match=match) as info:
        read_scienta_ibw(write(tmp_path / "c.ibw", bytes(data)))
    assert "offset" in str(info.value)
