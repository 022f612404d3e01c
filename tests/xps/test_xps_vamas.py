"""VAMAS reader/writer and SPECS .xy reader on the shared files and on made-up files.

Expected numbers come from ../shared/data/README.md (the xps/ table and the FeO fit table).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.io.vamas import read_vamas, write_vamas
from ncmsurf.io.xps_vendor import read_specs_xy

HV_KRATOS = 1486.69  # README: Al Kα (mono) 1486.69 eV for the Kratos files


def test_single_sample_blocks_and_block7():
    spectra = ns.read_xps(shared_file("xps", "single_sample.vms"))
    assert len(spectra) == 9
    starts = [286.69, 851.69, 1336.69, 943.69, 1076.69, 1186.69, 1311.69, 15.22, 1.22]  # README abscissa starts (KE)
    np.testing.assert_allclose([s.kinetic_energy[0] for s in spectra], starts, atol=1e-9)
    s = spectra[6]
    assert s.region == "S 2p" and s.binding_energy.size == 101
    assert s.binding_energy[0] == pytest.approx(175.0, abs=1e-9)
    assert s.binding_energy[-1] == pytest.approx(155.0, abs=1e-9)
    assert s.intensity[0] == 55111 and s.intensity[-1] == 64967  # README block 7 first/last counts
    assert s.meta["sample_identifier"] == "AK_control"
    assert s.meta["pass_energy"] == 40.0 and s.meta["scans"] == 4
    assert spectra[0].binding_energy.size == 1206 and spectra[0].region is None  # survey "wide"
    assert spectra[7].excitation_energy == pytest.approx(21.22)  # He I blocks
    assert [s.binding_energy.size for s in spectra[7:]] == [281, 921]


def test_arxps_map_mode_keeps_angles():
    spectra = ns.read_xps(shared_file("xps", "ARXPS.vms"))
    assert len(spectra) == 15
    angles = [s.meta["emission_angle"] for s in spectra]
    assert angles == [a for a in (0.0, 40.0, 55.0, 63.0, 70.0) for _ in range(3)]  # README: 5 angles x 3 regions
    assert [s.region for s in spectra[:3]] == ["O 1s", "C 1s", "Al 2p"]
    for s in spectra:
        assert s.binding_energy.size == 201
        assert s.meta["file"]["experiment_mode"] == "MAP"
        assert "x_coordinate" in s.meta and "field_of_view" in s.meta
    o1s = spectra[0]
    assert o1s.binding_energy.max() == pytest.approx(543.0) and o1s.binding_energy.min() == pytest.approx(523.0)
    np.testing.assert_allclose(o1s.binding_energy, HV_KRATOS - o1s.kinetic_energy, atol=1e-12)


def test_leading_blank_lines_and_regions():
    spectra = ns.read_xps(shared_file("xps", "0-150W.vms"))
    assert len(spectra) == 5
    assert spectra[0].meta["file"]["leading_blank_lines"] == 2
    assert [s.binding_energy.size for s in spectra] == [1206, 601, 251, 301, 251]
    ni = spectra[1]
    assert ni.region == "Ni 2p"
    assert (ni.binding_energy.min(), ni.binding_energy.max()) == pytest.approx((840.0, 900.0))
    assert ni.meta["pass_energy"] == 20.0 and ni.meta["scans"] == 1
    assert [s.meta["scans"] for s in spectra[2:]] == [5, 10, 10]


def test_survey_single_block():
    (s,) = ns.read_xps(shared_file("xps", "survey.vms"))
    assert s.binding_energy.size == 1206
    assert (s.binding_energy.min(), s.binding_energy.max()) == pytest.approx((-5.0, 1200.0))
    assert s.meta["sample_identifier"] == "Al_foil_grounded"


def test_feo_irregular_with_transmission_and_casa():
    (s,) = ns.read_xps(shared_file("xps", "FeO_analyzed.vms"))
    assert s.binding_energy.size == 1121 and s.region == "Fe 2p"
    assert s.kinetic_energy[0] == pytest.approx(736.61) and s.kinetic_energy[-1] == pytest.approx(792.61)
    assert s.excitation_energy == pytest.approx(1486.61)
    assert s.transmission is not None
    assert s.transmission[0] == pytest.approx(2.77354) and s.transmission[-1] == pytest.approx(2.67321)
    assert s.intensity.min() == pytest.approx(2725, abs=1) and s.intensity.max() == pytest.approx(24041, abs=1)
    # the Counts column of the line-shape export equals the .vms intensities exactly (README)
    cols = np.loadtxt(shared_file("xps", "FeO_analyzed_lineshapes_cols.txt"), skiprows=8, usecols=(0, 1))
    np.testing.assert_array_equal(cols[:, 1], s.intensity)
    np.testing.assert_allclose(cols[:, 0], s.kinetic_energy, atol=1e-9)
    regions = ns.xps.casa_regions(s)
    assert len(regions) == 1
    r = regions[0]
    assert r.name == "Fe 2p" and r.background == "U 3 Tougaard" and r.rsf == 16.42
    assert (r.start, r.end) == pytest.approx((749.09, 699.85), abs=0.005)  # README: BE 749.09-699.85
    assert r.parameters[3:6] == (335.44588, 551.0, 436.0)  # Tougaard B, C, D as stored
    # README "FeO fit" table
    expect = [("LF(0.54,10,80,100,6)", 63507.374, 3.8576238, 709.05), ("SGL(30)", 35837.064, 8.0, 716.00),
              ("LF(0.54,10,80,100,6)", 49042.126, 4.8730051, 722.13), ("SGL(30)", 17705.155, 7.8295407, 729.89)]
    assert len(r.components) == 4
    for comp, (shape, area, fwhm, pos) in zip(r.components, expect):
        assert comp.name == "Fe 2p" and comp.lineshape == shape and comp.rsf == 16.42
        assert comp.area == pytest.approx(area, rel=1e-12)
        assert comp.fwhm == pytest.approx(fwhm, rel=1e-12)
        assert comp.position == pytest.approx(pos, abs=0.005)


def test_casa_regions_empty_without_annotations():
    s = ns.read_xps(shared_file("xps", "survey.vms"))[0]
    assert ns.xps.casa_regions(s) == []


def _spectra():
    be = np.round(np.linspace(870.0, 850.0, 201), 10)
    y = 1000 + 500 * np.exp(-((be - 860) / 1.2) ** 2)
    a = ns.XPSSpectrum(be, y, region="Ni 2p", sample="A(3)-NCM@100", meta={"pass_energy": 20.0, "scans": 5})
    b = ns.XPSSpectrum(np.linspace(525, 540, 151), np.linspace(10, 20, 151), region="O 1s", sample="P-NCM",
                       transmission=np.linspace(2.0, 2.5, 151), excitation_energy=1486.69)
    c = ns.XPSSpectrum(np.linspace(0, 1200, 1201), np.arange(1201.0))
    return [a, b, c]


def test_write_read_roundtrip(tmp_path):
    spectra = _spectra()
    path = write_vamas(spectra, tmp_path / "out.vms")
    back = ns.read_xps(path)
    assert len(back) == 3
    for s, r in zip(spectra, back):
        assert r.region == s.region and r.sample == s.sample
        # written as KE start + i * step with repr precision: equal to floating-point rounding
        np.testing.assert_allclose(r.binding_energy, s.binding_energy, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(r.intensity, s.intensity)
        assert r.excitation_energy == s.excitation_energy
        if s.transmission is None:
            assert r.transmission is None
        else:
            np.testing.assert_array_equal(r.transmission, s.transmission)
    assert back[0].meta["pass_energy"] == 20.0 and back[0].meta["scans"] == 5
    assert str(back[0].sample) == "A(3)-NCM@100" or back[0].sample.cycles == 100


def test_writer_rejects_irregular(tmp_path):
    s = ns.XPSSpectrum([1.0, 2.0, 4.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValidationError, match="uniformly"):
        write_vamas([s], tmp_path / "x.vms")


def test_corrupt_files_give_line(tmp_path):
    path = write_vamas(_spectra()[:1], tmp_path / "ok.vms")
    lines = path.read_bytes().decode().split("\r\n")
    # a non-numeric ordinate
    i = len(lines) - 50
    bad = lines.copy()
    bad[i] = "12x4"
    p = tmp_path / "bad.vms"
    p.write_text("\r\n".join(bad))
    with pytest.raises(ReadError) as ei:
        ns.read_xps(p)
    assert ei.value.line == i + 1 and "12x4" in str(ei.value)
    # truncated in the data
    p.write_text("\r\n".join(lines[:-40]))
    with pytest.raises(ReadError, match="truncated"):
        ns.read_xps(p)
    # unknown experiment mode
    bad = lines.copy()
    k = bad.index("NORM")
    bad[k] = "WEIRD"
    p.write_text("\r\n".join(bad))
    with pytest.raises(ReadError) as ei:
        ns.read_xps(p)
    assert ei.value.line == k + 1 and "experiment mode" in str(ei.value)
    # missing terminator
    p.write_text("\r\n".join(lines[:-2]))
    with pytest.raises(ReadError, match="end of experiment"):
        read_vamas(p)


def test_specs_xy_reader(tmp_path):
    text = "\n".join([
        "# Created by:        SpecsLab Prodigy, Version 4.54",
        "# Region:            Fe2p", "# Analysis Method:   XPS", "# Excitation Energy: 1486.61",
        "# Pass Energy:       20", "# Number of Scans:   2", "# Energy Axis:       Kinetic Energy",
        "#", "# Cycle: 0, Curve: 0", "# ColumnLabels: energy counts/s transmission",
        " 736.61  12516.9  2.77354", " 736.66  12304.9  2.77345", " 736.71  12369  2.77335",
        "# Region:            O1s", "# Excitation Energy: 1486.61", "# ColumnLabels: energy counts",
        " 540.0 100", " 539.9 110", " 539.8 130", ""])
    p = tmp_path / "two.xy"
    p.write_text(text)
    a, b = ns.read_xps(p)
    assert a.region == "Fe 2p" and a.units == "counts/s"
    np.testing.assert_allclose(a.binding_energy, 1486.61 - np.array([736.61, 736.66, 736.71]))
    np.testing.assert_array_equal(a.transmission, [2.77354, 2.77345, 2.77335])
    assert a.meta["scans"] == 2 and a.meta["pass_energy"] == 20.0
    assert b.region == "O 1s" and b.binding_energy.tolist() == [540.0, 539.9, 539.8]
    p.write_text(text.replace(" 539.9 110", " 539.9 1x0"))
    with pytest.raises(ReadError) as ei:
        read_specs_xy(p)
    assert ei.value.line == 18


def test_written_block_identifier_has_region_and_sample(tmp_path):
    back = read_vamas(write_vamas(_spectra()[:2], tmp_path / "ids.vms"))
    assert back[0].meta["block_identifier"] == "Ni 2p A(3)-NCM@100" or back[0].meta["block_identifier"].startswith(
        "Ni 2p A(3)-NCM")
    assert back[1].meta["block_identifier"] == "O 1s P-NCM"
    assert back[0].meta["sample_identifier"] == str(_spectra()[0].sample)


def test_specs_xy_values_per_curve_checked(tmp_path):
    rows = [f" {870 - 0.1 * i:.1f}  {100 + i}" for i in range(10)]
    head = ["# Created by:        SpecsLab Prodigy", "# Region:            Ni2p", "# Values/Curve:      10",
            "# ColumnLabels: energy counts"]
    p = tmp_path / "v.xy"
    p.write_text("\n".join(head + rows) + "\n")
    assert read_specs_xy(p)[0].binding_energy.size == 10
    p.write_text("\n".join(head + rows[:7]) + "\n")
    with pytest.raises(ReadError, match="Values/Curve"):
        ns.read_xps(p)


# ---------------------------------------------------------------- PHI MultiPak .npl and NUL bytes (issues 13/14)
def test_multipak_npl_reads_as_text_with_reference_values():
    """README "Readers' edge cases": vamas 0.2.0 on Mutlipak_vms.npl."""
    out = ns.read_xps(shared_file("xps", "Mutlipak_vms.npl"))
    assert [s.region for s in out] == ["C 1s", "O 1s", "S 2p", "N 1s", "Mo 3d"]
    c = out[0]
    assert c.binding_energy.size == 601
    assert c.binding_energy[0] == pytest.approx(305, abs=0.011)
    assert c.binding_energy[-1] == pytest.approx(275, abs=0.011)
    assert (c.intensity[0], c.intensity[-1]) == pytest.approx((2047.5, 1372.5), rel=1e-5)
    assert c.intensity.sum() == pytest.approx(1253902.5, rel=1e-5)
    assert c.intensity.max() == pytest.approx(6265, rel=1e-5)
    assert c.binding_energy[c.intensity.argmax()] == pytest.approx(284.85, abs=0.011)
    assert c.excitation_energy == 1486.6 and c.meta["excitation_energy_source"] == "file"
    assert c.data.attrs["units"] == "counts/s" and c.meta["transition"] == "1s"
    assert len(c.meta["file"]["nul_padded_lines"]) == 5


def _npl_lines() -> list[bytes]:
    return shared_file("xps", "Mutlipak_vms.npl").read_bytes().split(b"\r\n")


@pytest.mark.parametrize(("mutate", "match"), [
    (lambda b: b + b"\x00" * 64, "content after 'end of experiment': NUL"),
    (lambda b: b + b"\r\n\x00\x00\x00\x00", "content after 'end of experiment': NUL"),
    (lambda b: b + b"junk\r\n", "content after 'end of experiment'"),
    (lambda b: b.replace(b"end of experiment", b"end of experiment\x00"), "expected 'end of experiment'"),
    (lambda b: b.replace(b"\r\n1s\x00\r\n", b"\r\n1\x00s\r\n", 1), "NUL byte inside"),
    (lambda b: b.replace(b"\r\n601\r\n", b"\r\n601\x00\r\n", 1), "NUL byte in the number"),
    (lambda b: b.replace(b"\r\n2047.500000\r\n", b"\r\n2047.5\x0000\r\n", 1), "ordinate value"),
])
def test_nul_bytes_outside_labels_are_errors_with_the_line(tmp_path, mutate, match):
    data = shared_file("xps", "Mutlipak_vms.npl").read_bytes()
    p = tmp_path / "bad.npl"
    p.write_bytes(mutate(data))
    with pytest.raises(ReadError, match=match) as info:
        read_vamas(p)
    assert "line" in str(info.value)


def test_vms_nul_tail_rejected(tmp_path):
    data = shared_file("xps", "survey.vms").read_bytes()
    p = tmp_path / "tail.vms"
    p.write_bytes(data + b"\x00" * 4096)
    with pytest.raises(ReadError, match="after 'end of experiment'"):
        ns.read_xps(p)


def test_vamas_line_breaks_only_at_cr_lf(tmp_path):
    data = shared_file("xps", "survey.vms").read_bytes().replace(b"Al_foil_grounded", b"Al\x0cfoil\x85x", 1)
    p = tmp_path / "ff.vms"
    p.write_bytes(data)
    (s,) = ns.read_xps(p)
    assert s.binding_energy.size == 1206 and "\x0c" in s.meta["sample_identifier"]
