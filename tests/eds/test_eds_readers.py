"""EDS map readers (npz, npy, TIFF, CSV matrix, zip) and EMSA spectra."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.datasets.coating import synthetic_map
from ncmsurf.eds import EDSSpectrum, read_msa, write_msa
from ncmsurf.io.eds_formats import write_npz
from ncmsurf.io.registry import choose_reader


def test_npz_round_trip_exact(tmp_path: Path) -> None:
    m = synthetic_map(coverage=0.5, cv=0.1, shape=(32, 48), seed=1, sample="A(3)-NCM@100")
    f = write_npz(m, tmp_path / "maps.npz")
    back = ns.read_eds(f)
    assert back.elements == m.elements and back.shape == (32, 48)
    for e in m.elements:
        np.testing.assert_array_equal(back[e], m[e])
    assert back.pixel_size == m.pixel_size and back.sample == m.sample
    assert choose_reader(f, kind="eds").name == "eds-npz"


def test_npy_map_and_stack(tmp_path: Path) -> None:
    a = np.arange(12.0).reshape(3, 4)
    np.save(tmp_path / "grain_Al_Ka.npy", a)
    m = ns.read_eds(tmp_path / "grain_Al_Ka.npy", pixel_size=10)
    assert m.elements == ["Al"] and m.pixel_size == 10.0  # element from the file name
    np.save(tmp_path / "stack.npy", np.stack([a, 2 * a]))
    s = ns.read_eds(tmp_path / "stack.npy", elements=["Al", "Ni"])
    np.testing.assert_array_equal(s["Ni"], 2 * a)
    with pytest.raises(ReadError, match="2 names for a stack of 2|3 names"):
        ns.read_eds(tmp_path / "stack.npy", elements=["Al", "Ni", "Co"])
    np.save(tmp_path / "bad.npy", np.zeros(5))
    with pytest.raises(ReadError, match="2-D map or a 3-D stack"):
        ns.read_eds(tmp_path / "bad.npy")


def test_tiff_stack_with_element_description(tmp_path: Path) -> None:
    tifffile = pytest.importorskip("tifffile")
    rng = np.random.default_rng(0)
    stack = rng.integers(0, 100, size=(3, 16, 20)).astype(np.uint16)
    f = tmp_path / "maps.tif"
    tifffile.imwrite(f, stack, photometric="minisblack", metadata={"elements": ["Al", "Ni", "Mn"], "pixel_size": 12.5})
    m = ns.read_eds(f)
    assert m.elements == ["Al", "Ni", "Mn"] and m.pixel_size == 12.5
    np.testing.assert_array_equal(m["Mn"], stack[2])
    single = tmp_path / "Co.tiff"
    tifffile.imwrite(single, stack[0])
    assert ns.read_eds(single).elements == ["Co"]


def test_csv_matrix_and_zip(tmp_path: Path) -> None:
    a = np.arange(20.0).reshape(4, 5)
    txt = "# element: Al\n# pixel size (nm): 20\n" + "\n".join(",".join(str(v) for v in row) for row in a) + "\n"
    f = tmp_path / "map.csv"
    f.write_text(txt)
    m = ns.read_eds(f)
    assert m.elements == ["Al"] and m.pixel_size == 20.0
    np.testing.assert_array_equal(m["Al"], a)
    z = tmp_path / "maps.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("sample_Al.csv", "\n".join(",".join(str(v) for v in row) for row in a))
        zf.writestr("sample_Ni.csv", "\n".join(",".join(str(v) for v in row) for row in 2 * a))
    zm = ns.read_eds(z)
    assert zm.elements == ["Al", "Ni"]
    np.testing.assert_array_equal(zm["Ni"], 2 * a)


def test_maps_of_different_shapes_in_zip(tmp_path: Path) -> None:
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("Al.csv", "1,2,3\n4,5,6\n")
        zf.writestr("Ni.csv", "1,2\n3,4\n")
    with pytest.raises(ReadError, match="different shapes"):
        ns.read_eds(z)


def test_csv_matrix_bad_rows_give_line(tmp_path: Path) -> None:
    f = tmp_path / "Al.csv"
    f.write_text("# element: Al\n1,2,3\n4,5\n7,8,9\n")
    with pytest.raises(ReadError) as exc:
        ns.read_eds(f, format="eds-csv-matrix")
    assert exc.value.line == 3


def test_msa_round_trip_and_redirect(tmp_path: Path) -> None:
    e = np.arange(0, 2000, 10.0)
    c = np.exp(-((e - 1486) / 60) ** 2) * 1e3 + 5
    s = EDSSpectrum(e, c, meta={"BEAMKV": "15.0"})
    f = write_msa(s, tmp_path / "s.msa")
    back = read_msa(f)
    np.testing.assert_array_equal(back.energy, e)
    np.testing.assert_array_equal(back.counts, c)
    assert back.meta["BEAMKV"] == "15.0"
    with pytest.raises(ReadError, match="read_msa"):
        ns.read_eds(f)
    assert ns.load(ns.save(back, tmp_path / "s.nc")) == back


def test_msa_y_datatype_and_errors(tmp_path: Path) -> None:
    head = ("#FORMAT : EMSA/MAS Spectral Data File\n#VERSION : 1.0\n#TITLE : t\n#DATE : \n#TIME : \n#OWNER : \n"
            "#NPOINTS : 4\n#NCOLUMNS : 2\n#XUNITS : keV\n#YUNITS : counts\n#DATATYPE : Y\n#XPERCHAN : 0.01\n"
            "#OFFSET : -0.02\n#SPECTRUM : Spectral Data Starts Here\n")
    f = tmp_path / "y.msa"
    f.write_text(head + "1, 2,\n3, 4,\n#ENDOFDATA : \n")
    s = read_msa(f)
    np.testing.assert_allclose(s.energy, [-20.0, -10.0, 0.0, 10.0])  # keV -> eV
    np.testing.assert_array_equal(s.counts, [1, 2, 3, 4])
    f.write_text(head + "1, 2,\n3,\n#ENDOFDATA : \n")
    with pytest.raises(ReadError, match="NPOINTS says 4"):
        read_msa(f)
    f.write_text(head + "1, 2,\n3, x,\n#ENDOFDATA : \n")
    with pytest.raises(ReadError, match="non-numeric") as exc:
        read_msa(f)
    assert exc.value.line == 16
    f.write_text(head.replace("#XPERCHAN : 0.01\n", "") + "1,2,3,4\n#ENDOFDATA : \n")
    with pytest.raises(ReadError, match="XPERCHAN"):
        read_msa(f)
    f.write_text(head + "1, 2,\n")
    with pytest.raises(ReadError, match="truncated"):
        read_msa(f)


def test_writer_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        write_npz("not a map", tmp_path / "x.npz")  # type: ignore[arg-type]
