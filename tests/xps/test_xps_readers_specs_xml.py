"""SPECS SpecsLab2 / Prodigy XML: no file is shared; the files are written here from the documented
XMLSerializer2 schema (``write_specs_xml_example``), with known peaks, detector shifts and damage."""

from __future__ import annotations

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io._xps_meta import ExcitationEnergyWarning
from ncmsurf.io.registry import choose_reader
from ncmsurf.io.specs_xml import read_specs_xml, write_specs_xml_example


def test_channels_are_aligned_and_summed(tmp_path):
    p = write_specs_xml_example(tmp_path / "c1s.xml", shifts=(-0.01, 0.0, 0.01), head=2, tail=2)
    assert choose_reader(p).name == "specs-xml"
    (s,) = ns.read_xps(p)
    j = np.arange(21)
    truth = 3 * np.round(100 + 1000 * np.exp(-0.5 * ((j - 10) / 2.0) ** 2))
    np.testing.assert_array_equal(s.intensity, truth)  # the peak stays sharp: every channel on the nominal grid
    np.testing.assert_allclose(s.binding_energy, 1486.6 - (1196.6 + 0.1 * j), atol=1e-9)
    assert s.region == "C 1s" and s.meta["group"] == "P-NCM" and s.meta["channel_offsets_steps"] == [-2, 0, 2]
    assert s.meta["excitation_energy_source"] == "file" and s.meta["pass_energy"] == 20.0


def test_scans_are_summed_and_kept(tmp_path):
    (s,) = read_specs_xml(write_specs_xml_example(tmp_path / "a.xml", scans=3))
    assert s.meta["scans"] == 3 and len(s.meta["scan_counts"]) == 3
    np.testing.assert_array_equal(s.intensity, 3 * s.meta["scan_counts"][0])


def test_matches_pynxtools_without_shifts(tmp_path):
    pytest.importorskip("pynxtools_xps")
    from pynxtools_xps.parsers.specs.xml.parser import SPECSXMLParser

    raw = np.arange(25 * 3, dtype=float).reshape(25, 3) + 7
    p = write_specs_xml_example(tmp_path / "z.xml", counts=raw, shifts=(0.0, 0.0, 0.0), head=2, tail=2)
    parser = SPECSXMLParser()
    parser._parse(p)
    ref = np.asarray(next(iter(parser._data.values())).data).reshape(-1)
    (s,) = read_specs_xml(p)
    np.testing.assert_allclose(s.intensity, ref)


def test_missing_photon_energy_warns(tmp_path):
    with pytest.warns(ExcitationEnergyWarning):
        (s,) = read_specs_xml(write_specs_xml_example(tmp_path / "n.xml", excitation_energy=None))
    assert s.meta["excitation_energy_source"] == "default"


@pytest.mark.parametrize(("old", "new", "match"), [
    ('<ulong name="values_per_curve">21</ulong>', '<ulong name="values_per_curve">22</ulong>', "counts, expected"),
    ('<double name="scan_delta">0.1</double>', '<double name="scan_delta">0.l</double>', "expected a number"),
    ("FixedAnalyzerTransmission", "Snapshot", "scan mode"),
    ('<ulong name="mcd_head">1</ulong>', '<ulong name="mcd_head">0</ulong>', "do not cover|counts, expected"),
    ("</any>", "", "malformed XML"),
])
def test_damaged_files_name_the_line(tmp_path, old, new, match):
    p = write_specs_xml_example(tmp_path / "d.xml")
    text = p.read_text()
    assert old in text
    p.write_text(text.replace(old, new, 1))
    with pytest.raises(ReadError, match=match) as info:
        read_specs_xml(p)
    assert "line" in str(info.value)
