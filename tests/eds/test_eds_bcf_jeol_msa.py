"""Bruker .bcf hypermaps (real file and files in the documented layout), JEOL .map, EMSA '##' keywords."""

from __future__ import annotations

import importlib.util
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from bcf_maker import write_bcf
from conftest import shared_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, ReadError

REAL = ("eds", "Hitachi_TM3030Plus.bcf")


@pytest.fixture(scope="module")
def real_hypermap() -> ns.eds.Hypermap:
    return ns.eds.read_hypermap(shared_file(*REAL))


def test_real_bcf_reference_values(real_hypermap: ns.eds.Hypermap) -> None:
    # reference: rosettasciio on this file (../shared/data/README.md): SEM 240 x 320, sum 4,872,181,184;
    # EDX 240 x 320 x 2048, sum 171,804
    hm = real_hypermap
    assert hm.shape == (240, 320, 2048)
    assert int(hm.counts.sum()) == 171804
    sem = hm.images["SEM"]
    assert sem.shape == (240, 320) and int(sem.sum(dtype=np.int64)) == 4872181184
    e = hm.energy
    assert e[0] == pytest.approx(-474.6) and e[1] - e[0] == pytest.approx(10.0)
    assert hm.pixel_size is None and hm.meta["pixel_size_source"] == "none"  # the file has no DX calibration
    assert hm.meta["beam_kV"] == 15.0
    np.testing.assert_array_equal(hm.sum_spectrum().counts, hm.counts.sum(axis=(0, 1)))


def test_real_bcf_element_maps_integrate_the_line_windows(real_hypermap: ns.eds.Hypermap) -> None:
    m = ns.read_eds(shared_file(*REAL))
    assert m.elements == ["Cu", "Al"]  # the file's map elements
    hm = real_hypermap
    for el in m.elements:
        lo, hi = m.meta["windows_eV"][el]
        sel = (hm.energy >= lo) & (hm.energy <= hi)
        np.testing.assert_array_equal(m[el], hm.counts[:, :, sel].sum(axis=2))
    lo, hi = m.meta["windows_eV"]["Al"]
    assert lo < 1486.7 < hi and hi - lo == pytest.approx(2 * ns.eds.detector_fwhm(1486.56), rel=1e-3)
    assert m.meta["images"]["SEM"].shape == (240, 320)
    other = hm.element_maps(["O", "C", "Cu"], lines={"Cu": "La"})
    assert other.meta["lines"] == {"O": "Ka", "C": "Ka", "Cu": "La"}


@pytest.mark.skipif(importlib.util.find_spec("rsciio") is None, reason="rosettasciio (optional peer) not installed")
def test_real_bcf_cube_equals_rosettasciio(real_hypermap: ns.eds.Hypermap) -> None:
    from rsciio.bruker import file_reader

    ref = file_reader(str(shared_file(*REAL)))
    cube = [o for o in ref if o["data"].ndim == 3][0]["data"]
    np.testing.assert_array_equal(real_hypermap.counts, cube)


CUBE = np.random.default_rng(3).poisson(0.4, (6, 9, 400)).astype(np.uint16)
CUBE[2, 4, 150:170] += 37
CUBE[1, 1, 5] = 300
CUBE[4, 0, 42] = 70000 % 65536


@pytest.mark.parametrize("flags", ["0", "1", "2", "mixed"])
@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("chunk", [512, 4096])
def test_bcf_packings_and_containers_round_trip(tmp_path: Path, flags: str, compress: bool, chunk: int) -> None:
    f = write_bcf(tmp_path / "t.bcf", CUBE, flags=flags, compress=compress, chunk=chunk, dx_um=0.05)
    hm = ns.eds.read_hypermap(f)
    np.testing.assert_array_equal(hm.counts, CUBE)
    assert hm.pixel_size == pytest.approx(50.0)
    m = ns.read_eds(f)
    assert m.elements == ["Al", "Ni"] and m.pixel_size == pytest.approx(50.0)


def test_bcf_errors_name_the_offset(tmp_path: Path) -> None:
    good = write_bcf(tmp_path / "g.bcf", CUBE).read_bytes()
    f = tmp_path / "bad.bcf"
    f.write_bytes(good[: len(good) - 3000])
    with pytest.raises(ReadError, match="offset"):
        ns.read_eds(f)
    f.write_bytes(b"AAMVHFSS" + b"\x00" * 600)
    with pytest.raises(ReadError, match="chunk size"):
        ns.read_eds(f)


BCF_VALID = write_bcf(Path(tempfile.mkdtemp()) / "v.bcf", CUBE[:3, :4, :64].copy(), flags="mixed").read_bytes()
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_ncmsurf_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"fuzz{suffix}"
        f.write_bytes(data)
        try:
            m = ns.read_eds(f)
        except NcmsurfError:
            return
        assert isinstance(m, ns.ElementMap)


@FUZZ
@given(frac=st.floats(0.0, 1.0))
def test_fuzz_truncated_bcf(frac: float) -> None:
    _only_ncmsurf_errors(BCF_VALID[: int(len(BCF_VALID) * frac)], ".bcf")


@FUZZ
@given(flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=6))
def test_fuzz_bit_flipped_bcf(flips: list[tuple[float, int]]) -> None:
    data = bytearray(BCF_VALID)
    for pos, bit in flips:
        data[int(pos * len(data))] ^= 1 << bit
    _only_ncmsurf_errors(bytes(data), ".bcf")


# ------------------------------------------------------------------ JEOL .map (built from the documented layout)
def _item(name: str, vtype: int, value: bytes) -> bytes:
    nm = name.encode() + b"\x00"
    return b"\x01" + struct.pack("<i", len(nm)) + nm + struct.pack("<ii", vtype, len(value)) + value + b"\xff"


def _group(name: str, children: bytes) -> bytes:
    nm = name.encode() + b"\x00"
    return b"\x01" + struct.pack("<i", len(nm)) + nm + struct.pack("<ii", 0, 0) + children + b"\xff"


def write_jeol_map(path: Path, img: np.ndarray, *, title: str = "Al K", scan_size: float = 125.0,
                   mag: float = 5000.0, accv: float = 15.0) -> Path:
    h, w = img.shape
    tree = _group("Image", _item("Title", 12, title.encode() + b"\x00")
                  + _item("Size", 3, struct.pack("<ii", w, h))
                  + _item("Bits", 2, img.astype("<u2").tobytes())
                  + _item("Created", 5, struct.pack("<d", 45000.5)))
    tree += _group("Instrument", _item("ScanSize", 5, struct.pack("<d", scan_size))
                   + _item("Mag", 3, struct.pack("<i", int(mag))) + _item("AccV", 5, struct.pack("<d", accv)))
    tree += b"\xff"
    data_pos = 48
    head = struct.pack("<I", 52) + b"EDS MAP".ljust(32, b"\x00") + struct.pack("<III", 48, 0, data_pos)
    path.write_bytes(head + b"\x00" * (data_pos + 12 - len(head)) + tree)
    return path


def test_jeol_map_reads_the_element_map_and_its_pixel_size(tmp_path: Path) -> None:
    img = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10)
    f = write_jeol_map(tmp_path / "Area1_Al.map", img, title="Al K", scan_size=125.0, mag=5000.0)
    m = ns.read_eds(f)
    assert m.elements == ["Al"]
    np.testing.assert_array_equal(m["Al"], img)
    # field of view 125 / 5000 * 1000 µm = 25 µm over 10 pixels: 2.5 µm = 2500 nm per pixel
    assert m.pixel_size == pytest.approx(2500.0)
    assert m.meta["beam_kV"] == 15.0 and m.meta["format"] == "jeol-map"


def test_jeol_map_errors(tmp_path: Path) -> None:
    img = np.ones((4, 5), dtype=np.uint16)
    good = write_jeol_map(tmp_path / "g.map", img).read_bytes()
    f = tmp_path / "cut.map"
    f.write_bytes(good[: len(good) - 30])
    with pytest.raises(ReadError, match="offset"):
        ns.read_eds(f)


JEOL_VALID = write_jeol_map(Path(tempfile.mkdtemp()) / "v.map", np.arange(20, dtype=np.uint16).reshape(4, 5)) \
    .read_bytes()


@FUZZ
@given(frac=st.floats(0.0, 1.0), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)),
                                                max_size=4))
def test_fuzz_jeol_map(frac: float, flips: list[tuple[float, int]]) -> None:
    data = bytearray(JEOL_VALID)
    for pos, bit in flips:
        data[int(pos * len(data))] ^= 1 << bit
    _only_ncmsurf_errors(bytes(data[: max(1, int(len(data) * frac))]), ".map")


# ------------------------------------------------------------------ EMSA user keywords
MSA_USER = """#FORMAT      : EMSA/MAS Spectral Data File
#VERSION     : 1.0
#TITLE       : NCM811 point 3
#DATE        : 01-JAN-2025
#TIME        : 12:00
#OWNER       : lab
#NPOINTS     : 4
#NCOLUMNS    : 1
#XUNITS      : keV
#YUNITS      : counts
#DATATYPE    : Y
#XPERCHAN    : 0.01
#OFFSET      : -0.2
#BEAMKV   -kV: 20.0
##OXINSTPT   : 5
##OXINSTSTROB: 37.5
##MSA_USER (label) : free text: with a colon
#SPECTRUM    : Spectral Data Starts Here
10, 20, 30, 40
#ENDOFDATA   :
"""


def test_emsa_user_keywords_are_accepted_and_kept(tmp_path: Path) -> None:
    f = tmp_path / "s.msa"
    f.write_text(MSA_USER, encoding="latin-1")
    s = ns.eds.read_msa(f)
    assert s.counts.tolist() == [10.0, 20.0, 30.0, 40.0]
    np.testing.assert_allclose(s.energy, [-200.0, -190.0, -180.0, -170.0])
    assert s.meta["#OXINSTPT"] == "5" and s.meta["#OXINSTSTROB"] == "37.5"
    assert s.meta["#MSA_USER(LABEL)"] == "free text: with a colon"
    assert s.meta["BEAMKV"] == "20.0"
    bad = MSA_USER.replace("##OXINSTPT   : 5", "##: 5")
    f.write_text(bad, encoding="latin-1")
    with pytest.raises(ReadError, match="malformed keyword") as err:
        ns.eds.read_msa(f)
    assert err.value.line == 15


def test_line_table_and_windows() -> None:
    # X-ray Data Booklet (Table 1-2): Al Ka1 1486.70, Ka2 1486.27; Ni La1 851.5; O Ka 524.9; F Ka 676.8
    assert ns.eds.line_energy("Al", "Ka1") == (1486.70, "Ka1")
    assert ns.eds.line_energy("Al")[0] == pytest.approx((2 * 1486.70 + 1486.27) / 3)
    assert ns.eds.line_energy("Ni", "L") == (851.5, "La")
    for el in ["Li", "Be", "B", "C", "N", "O", "F", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "K", "Ca", "Ti", "V",
               "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn"]:
        assert ns.eds.line_energy(el, "Ka")[0] > 0
    for el in ["Mn", "Co", "Ni", "Cu", "Zn", "Ti", "Fe"]:
        assert ns.eds.line_energy(el, "La")[0] > 0
    with pytest.raises(ns.ValidationError, match="not tabulated"):
        ns.eds.line_energy("O", "La")
    with pytest.warns(ns.eds.LineOverlapWarning, match="overlap"):
        ns.eds.Hypermap(np.zeros((2, 2, 300), np.uint16), np.arange(300) * 10.0).element_maps(["Mn", "O"],
                                                                                            lines={"Mn": "La"})
