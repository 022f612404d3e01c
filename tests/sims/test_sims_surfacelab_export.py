"""IONTOF SurfaceLab profile exports (the real layout): reference values, variants, precise errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, ReadError
from ncmsurf.io.sims_formats import DuplicatePeakWarning

REAL = ("sims", "I241209m_A_MAPI_1f-1nA_pos-B4_NF.txt")


def _read_real() -> ns.DepthProfile:
    with pytest.warns(DuplicatePeakWarning, match="SnO"):
        return ns.read_sims(shared_file(*REAL))


def test_real_export_reference_values() -> None:
    # reference: the export's own rows (../shared/data/README.md, "Readers' edge cases")
    p = _read_real()
    assert p.sputter_time.size == 165
    assert p.sputter_time[0] == 0.0 and p.sputter_time[-1] == pytest.approx(240.522, abs=0)
    assert len(p.fragments) == 100
    total = p.coords["total_ions"]
    assert total[0] == 1226470.0
    assert total.sum() == pytest.approx(76406519.0, rel=1e-9)
    ag3 = p["Ag3+"]
    k = int(np.argmax(ag3))
    assert ag3[k] == pytest.approx(18.0131, rel=1e-6)
    assert p.sputter_time[k] == pytest.approx(101.195, rel=1e-9)
    assert p.meta["labels"]["Ag3+"] == "Ag_3+"
    assert p.meta["labels"]["119Sn+"] == "^119Sn+"
    assert p.meta["masses"]["119Sn+"] == pytest.approx(118.9011)
    assert p.meta["polarity"] == "positive"


def test_real_export_ratios_kept_separately_and_coordinates() -> None:
    p = _read_real()
    ratios = p.meta["ratios"]
    assert len(ratios) == 5
    assert "Sn+ / ( Pb+ )" in ratios and "Sn+ / ( Pb+ )" not in p.fragments
    assert p.meta["ratio_terms"]["Cs3I2+ / ( 13CH5N2+ )"] == ["Cs3I2+", "13CH5N2+"]
    # inf where the file has inf (division by a zero count), never replaced
    assert np.isinf(ratios["13CH5N2+ / ( Pb+ )"][-1])
    assert set(p.coords) == {"data_point", "dose", "fluence", "total_ions"}
    np.testing.assert_array_equal(p.coords["data_point"], np.arange(1, 166))
    assert p.coords["dose"][0] == pytest.approx(2.47442e06) and p.coords["fluence"][0] == pytest.approx(9.89761e10)
    assert p.data["dose"].attrs["units"] == "ions" and p.data["fluence"].attrs["units"] == "ions/cm^2"
    # the duplicated peak is kept twice, distinguishable by its mass
    assert "SnO+" in p.fragments and "SnO+@135.8979" in p.fragments
    assert p.meta["masses"]["SnO+"] == pytest.approx(135.9143)


def test_real_export_save_load_round_trip(tmp_path: Path) -> None:
    p = _read_real()
    back = ns.load(ns.save(p, tmp_path / "p.nc"))
    assert back == p


HEADER_NEG = (
    "# Profile Smoothing is Disabled\r\n"
    "#\t\t\t\ttotal\tO-\t^118SnI_3-SnI_3-\t^206PbI_3-, ^207PbI_3-PbI_3-\tC_2-\t^60NiO_2-\t"
    "CN- / ( O- )\t1 / ( C_2- / ( CN- ) )\tCN-\t\r\n"
    "#\t\t\t\tN/A\t15.9963\tN/A\tN/A\t24.0010\t91.9212\tN/A\tN/A\t26.0036\t\r\n"
    "#Data Point #\tSputter Time (s)\tDose (ions)\tFluence (ions/cm^2)" + "\tIntensity" * 9 + "\t\r\n"
)


def _neg_file(tmp_path: Path, rows: list[str], header: str = HEADER_NEG) -> Path:
    f = tmp_path / "neg-B1 - NF.txt"
    f.write_bytes((header + "".join(r + "\t\r\n" for r in rows)).encode("latin-1"))
    return f


ROWS_NEG = [
    "1\t1.6384\t2.68217e+06\t1.07286e+11\t182528\t5132.59\t2\t3.5\t149.682\t4\tinf\t0.5\t0",
    "2\t4.9152\t8.04651e+06\t3.21858e+11\t167692\t4176.09\t1\t2.5\t94.2707\t5\t0.01\t0.25\t41.0",
    "3\t8.192\t1.34108e+07\t5.3643e+11\t155650\t3616.01\t0\t1.5\t66.1333\t6\t0.02\tnan\t52.0",
]


def test_negative_polarity_groups_nested_ratio_later_start(tmp_path: Path) -> None:
    # the layout of SurfaceLab exports of negative-ion profiles of 2-D analyses: first point after t = 0,
    # summed peak groups with N/A masses, nested ratios, inf/nan in ratio columns
    p = ns.read_sims(_neg_file(tmp_path, ROWS_NEG))
    assert p.fragments == ["O-", "118SnI3-, SnI3-", "206PbI3-, 207PbI3-, PbI3-", "C2-", "60NiO2-", "CN-"]
    assert p.meta["polarity"] == "negative"
    assert p.meta["groups"]["118SnI3-, SnI3-"] == ["118SnI3-", "SnI3-"]
    assert np.isnan(p.meta["masses"]["118SnI3-, SnI3-"])
    np.testing.assert_array_equal(p.sputter_time, [1.6384, 4.9152, 8.192])
    r = p.meta["ratios"]
    assert list(r) == ["CN- / ( O- )", "1 / ( C2- / ( CN- ) )"]
    assert np.isinf(r["CN- / ( O- )"][0]) and np.isnan(r["1 / ( C2- / ( CN- ) )"][2])
    assert p.meta["ratio_terms"]["1 / ( C2- / ( CN- ) )"] == ["1", "C2- / ( CN- )"]
    # the isotope-marked fragment gets the 60Ni mass, matching the file's mass
    assert ns.sims.fragment_mass("60NiO2-", warn=False) == pytest.approx(p.meta["masses"]["60NiO2-"], abs=1e-4)
    np.testing.assert_array_equal(p.coords["total_ions"], [182528, 167692, 155650])


def test_time_intensity_pairs_on_one_axis(tmp_path: Path) -> None:
    text = ("#\tO-\t\tCN-\t\n#\t15.9949\t\t26.0036\t\n"
            "#Time (min)\tIntensity\tTime (min)\tIntensity\t\n0\t5\t0\t7\t\n1\t6\t1\t8\t\n")
    f = tmp_path / "pairs.txt"
    f.write_text(text)
    p = ns.read_sims(f)
    np.testing.assert_array_equal(p.sputter_time, [0, 60])
    np.testing.assert_array_equal(p["CN-"], [7, 8])
    f.write_text(text.replace("1\t6\t1\t8", "1\t6\t2\t8"))
    with pytest.raises(ReadError, match=r"line 5.*not on one time axis"):
        ns.read_sims(f)


@pytest.mark.parametrize(("bad_row", "line", "match"), [
    ("4\t9.0\t1e7\t1e11\t100\t1\t2\t3\t4\t5\t6\t7", 8, "expected 13 values"),
    ("4\t9.0\t1e7\t1e11\t100\t1\t2\tx3\t4\t5\t6\t7\t8", 8, "column 8: non-numeric value 'x3'"),
    ("4\t9.0\t1e7\t1e11\t100\tinf\t2\t3\t4\t5\t6\t7\t8", 8, r"column 6 \(O-\): non-finite"),
    ("4\t7.0\t1e7\t1e11\t100\t1\t2\t3\t4\t5\t6\t7\t8", 8, "sputter time decreases"),
    ("4.5\t9.0\t1e7\t1e11\t100\t1\t2\t3\t4\t5\t6\t7\t8", 8, "not an integer"),
    ("# a comment", 8, "comment line inside the data block"),
])
def test_bad_rows_are_named_by_line(tmp_path: Path, bad_row: str, line: int, match: str) -> None:
    f = _neg_file(tmp_path, [*ROWS_NEG, bad_row])
    with pytest.raises(ReadError, match=match) as err:
        ns.read_sims(f)
    assert err.value.line == line


def test_bad_headers(tmp_path: Path) -> None:
    extra = HEADER_NEG.replace("CN-\t\r\n#\t\t\t\tN/A", "CN-\tF-\t\r\n#\t\t\t\tN/A")
    with pytest.raises(ReadError, match="ion-name row has 14 cells") as err:
        ns.read_sims(_neg_file(tmp_path, ROWS_NEG, extra))
    assert err.value.line == 2
    unknown = HEADER_NEG.replace("Dose (ions)", "Mystery (a.u.)")
    with pytest.raises(ReadError, match="unknown column label 'Mystery") as err:
        ns.read_sims(_neg_file(tmp_path, ROWS_NEG, unknown))
    assert err.value.line == 4
    with pytest.raises(ReadError, match="no data rows"):
        ns.read_sims(_neg_file(tmp_path, []))


VALID = HEADER_NEG.encode() + "".join(r + "\t\r\n" for r in ROWS_NEG).encode()
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_ncmsurf_errors(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "fuzz.txt"
        f.write_bytes(data)
        try:
            p = ns.read_sims(f)
        except NcmsurfError:
            return
        assert np.all(np.isfinite(p.sputter_time))
        for name in p.fragments:
            assert np.all(np.isfinite(p[name]))


@FUZZ
@given(cut=st.integers(0, len(VALID)))
def test_fuzz_truncated_export(cut: int) -> None:
    _only_ncmsurf_errors(VALID[:cut])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 7)), min_size=1, max_size=8))
def test_fuzz_bit_flipped_export(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    _only_ncmsurf_errors(bytes(data))


def test_names_and_groups() -> None:
    assert ns.sims.normalize_name("Pb^206PbI_3-") == "Pb^206PbI3-"
    assert ns.sims.parse_formula("Pb^206PbI_3-") == ({"Pb": 1, "206Pb": 1, "I": 3}, -1)
    assert ns.sims.parse_formula("Fe^2+") == ({"Fe": 1}, 2)
    with pytest.raises(ns.ValidationError, match="sum of 2 peaks"):
        ns.sims.parse_formula("^118SnI_3-SnI_3-")
    with pytest.raises(ns.ValidationError, match="ratio"):
        ns.sims.fragment_mass("Sn+ / ( Pb+ )")
    with pytest.raises(ns.ValidationError, match="not a naturally occurring isotope"):
        ns.sims.fragment_mass("61Li+")
    with pytest.raises(ns.ValidationError, match="unknown element 'Xx'"):
        ns.sims.parse_formula("XxO-")


def test_no_zero_division_for_same_composition() -> None:
    # two spellings of one composition have Δm = 0; this used to divide by zero
    with pytest.warns(ns.sims.CloseMassWarning, match="same composition"):
        ns.sims.check_fragments(["NiF3-", "NiF3^-"])
    with pytest.warns(ns.sims.CloseMassWarning, match="same composition"):
        ns.sims.fragment_mass("CoO2^-")
    pairs = ns.sims.close_pairs(["CH3NH3+", "CH6N+", "total", "Sn+ / ( Pb+ )"])
    assert ("CH3NH3+", "CH6N+", 0.0) in pairs


def test_depth_profile_accepts_slash_names(tmp_path: Path) -> None:
    p = ns.DepthProfile([0, 1], {"Sn+ / ( Pb+ )": [0.5, 1.0], "Pb+": [2.0, 3.0]})
    assert p.fragments == ["Sn+ / ( Pb+ )", "Pb+"]
    assert ns.load(ns.save(p, tmp_path / "s.nc")) == p
