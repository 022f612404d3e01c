"""CasaXPS tab-separated text exports on the shared real files and on damaged copies.

Reference values: ../shared/data/README.md ("Readers' edge cases": pynxtools-xps VamasExportParser, CPS) and the
xps/ table (FeO_analyzed_lineshapes_cols.txt: KE 736.61-792.61 -> BE 750.00-694.00 at 1486.61 eV, Counts equal
to the .vms intensities, CPS = Counts / 2 s).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io.casa_text import read_casa_text
from ncmsurf.io.registry import choose_reader


def test_multi_block_export_reference_values():
    p = shared_file("xps", "vms_txt_export.txt")
    assert choose_reader(p).name == "casaxps-text"  # not the generic xps-text reader
    out = ns.read_xps(p)
    assert len(out) == 4 and [s.meta["sample_identifier"] for s in out] == ["Ni", "Ni", "NiO", "NiO"]
    sv, ni = out[0], out[1]
    assert sv.region is None and ni.region == "Ni 2p"
    assert sv.binding_energy.size == 1201
    assert sv.binding_energy[0] == pytest.approx(1200, abs=0.011)
    assert sv.binding_energy[-1] == pytest.approx(0, abs=0.011)
    assert sv.intensity[0] == pytest.approx(46994.5, rel=1e-5)
    assert sv.intensity.max() == pytest.approx(238697, rel=1e-5)
    assert sv.binding_energy[sv.intensity.argmax()] == pytest.approx(853.0, abs=0.011)
    assert ni.binding_energy.size == 501 and ni.binding_energy[0] == pytest.approx(890, abs=0.011)
    assert ni.binding_energy[-1] == pytest.approx(840, abs=0.011)
    assert ni.intensity[0] == pytest.approx(25648.3, rel=1e-5)
    assert ni.intensity.sum() == pytest.approx(13441213.28, rel=1e-5)
    assert ni.intensity.max() == pytest.approx(91499.33, rel=1e-5)
    assert ni.binding_energy[ni.intensity.argmax()] == pytest.approx(852.7, abs=0.011)
    for s in out:
        assert s.meta["intensity_column"] == "CPS" and s.data.attrs["units"] == "counts/s"
        assert s.excitation_energy == 1486.61 and s.meta["excitation_energy_source"] == "file"
        np.testing.assert_allclose(s.meta["counts"] / s.meta["acquisition_time"], s.intensity, rtol=1e-5)


def test_column_export_axis_from_header_and_curves():
    p = shared_file("xps", "FeO_analyzed_lineshapes_cols.txt")
    assert choose_reader(p).name == "casaxps-text"
    (s,) = ns.read_xps(p)
    assert s.binding_energy.size == 1121
    assert s.binding_energy[0] == pytest.approx(750.0, abs=0.011) and s.binding_energy[-1] == pytest.approx(694.0,
                                                                                                             abs=0.011)
    vms = ns.read_xps(shared_file("xps", "FeO_analyzed.vms"))[0]
    np.testing.assert_allclose(vms.binding_energy, s.binding_energy, atol=1e-6)
    np.testing.assert_array_equal(s.meta["counts"], vms.intensity)
    np.testing.assert_allclose(s.intensity, vms.intensity / 2.0, rtol=1e-5)
    assert [c["position"] for c in s.meta["components"]] == [709.05, 716.00, 722.13, 729.89]
    assert s.meta["components"][1]["lineshape"] == "SGL(30)"
    assert len(s.meta["component_curves"]) == 4 and len(s.meta["component_curves_cps"]) == 4
    assert s.meta["background"].shape == (1121,) and s.meta["envelope_cps"].shape == (1121,)


def test_kinetic_only_header_uses_characteristic_energy(tmp_path):
    rows = ["Cycle 1:S:C1s", "\tCharacteristic Energy eV\t1.253600e+003\tAcquisition Time s\t1.0",
            *[f"{n}\t\t" for n in ("Name", "Position", "FWHM", "Area", "Lineshape")], "K.E.\tCounts",
            "963.6\t5", "963.7\t6", "963.8\t7"]
    p = tmp_path / "ke.txt"
    p.write_text("\r\n".join(rows) + "\r\n")
    (s,) = read_casa_text(p)
    np.testing.assert_allclose(s.binding_energy, [290.0, 289.9, 289.8], atol=1e-9)
    assert s.meta["intensity_column"] == "Counts" and s.excitation_energy == 1253.6


@pytest.mark.parametrize(("line", "new", "match"), [
    (10, "2.876100e+002\t4.711840e+003\t\t1.199000e+003", "4 fields"),
    (10, "2.876100e+002\t4.711840e+003\t7\t1.199000e+003\t4.711840e+004", "should be empty"),
    (10, "2.876100e+002\t4.71184e+0x3\t\t1.199000e+003\t4.711840e+004", "expected a number"),
    (1212, "Nome\t\t", "Name"),
])
def test_damaged_rows_give_the_line(tmp_path, line, new, match):
    lines = shared_file("xps", "vms_txt_export.txt").read_text().split("\n")
    lines[line - 1] = new
    p = tmp_path / "bad.txt"
    p.write_text("\n".join(lines))
    with pytest.raises(ReadError, match=match) as info:
        read_casa_text(p)
    assert f"line {line}" in str(info.value)
