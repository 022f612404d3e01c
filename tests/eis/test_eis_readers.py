"""EIS instrument readers against impedance.py's readFile and the data README."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.io.biologic_eis import read_mpr, read_mpt, write_mpt
from ncmsurf.io.eis_instruments import EISReadWarning, read_gamry, write_dta

# file → (impedance.py instrument name, expected reader format, declares more points than it holds)
INSTRUMENT_FILES = {
    "exampleDataGamry.DTA": ("gamry", "gamry-dta", False),
    "exampleDataGamryABORT.DTA": ("gamry", "gamry-dta", False),
    "Circuit1_EIS_1.z": ("zplot", "zplot", False),
    "Circuit1_EIS_2.z": ("zplot", "zplot", False),
    "Circuit2_EIS_1.z": ("zplot", "zplot", False),
    "Circuit2_EIS_2.z": ("zplot", "zplot", False),
    "Circuit3_EIS_1.z": ("zplot", "zplot", False),
    "Circuit3_EIS_2.z": ("zplot", "zplot", False),
    "exampleDataZPlot.z": ("zplot", "zplot", True),
    "exampleDataZPlot_noComments.z": ("zplot", "zplot", True),
    "exampleDataAutolab.txt": ("autolab", "autolab-z60w", False),
    "exampleDataParstat.txt": ("parstat", "parstat", False),
    "exampleDataVersaStudio.par": ("versastudio", "versastudio-par", False),
    "exampleDataCHInstruments.txt": ("chinstruments", "chi", False),
    "exampleDataPowersuite.txt": ("powersuite", "powersuite", False),
    "exampleDataBioLogic.mpt": ("biologic", "biologic-mpt", False),
}

# first and last (f, Z) quoted in shared/data/README.md
README_POINTS = {
    "exampleDataZPlot.z": (21, 300000, 147.77 - 11.335j, 3000, 613.68 - 137.13j),
    "exampleDataZPlot_noComments.z": (31, 300000, 642.62 - 85.821j, 300, 1305.3 - 195.01j),
    "exampleDataAutolab.txt": (41, 10000, 0.01378586 + 0.00719195j, 0.1, 0.03456978 - 0.00390293j),
    "exampleDataBioLogic.mpt": (43, 1000.3201, 65.470886 - 0.38998979j, 0.01689554, 110.97003 - 2.3458567j),
    "exampleDataCHInstruments.txt": (73, 99610, 98.91 - 2.748j, 0.1, 5685 - 15860j),
    "exampleDataGamry.DTA": (72, 200015.6, 825.8584 - 1367.239j, 0.0158898, 17007.49 - 6635.557j),
    "exampleDataGamryABORT.DTA": (72, 200015.6, 825.8584 - 1367.239j, 0.0158898, 17007.49 - 6635.557j),
    "exampleDataParstat.txt": (31, 10000, -0.00049816 + 0.01751435j, 10, 0.02709465 - 0.00399791j),
    "exampleDataPowersuite.txt": (30, 0.1, 423929.46 - 49014.063j, 2e6, -470.54113 - 1397.7358j),
    "exampleDataVersaStudio.par": (61, 100000, 55.31571 + 4.575431j, 0.02154435, 1516.313 - 122.8279j),
}


def _read(path: Path, expect_warning: bool) -> list[ImpedanceSpectrum]:
    if expect_warning:
        with pytest.warns(EISReadWarning, match="header declares"):
            return ns.read_eis(path)
    return ns.read_eis(path)


@pytest.mark.parametrize("name", sorted(INSTRUMENT_FILES))
def test_reader_matches_impedance_py(name: str) -> None:
    from impedance.preprocessing import readFile

    path = shared_file("eis", name)
    instrument, fmt, short = INSTRUMENT_FILES[name]
    spectra = _read(path, short)
    assert len(spectra) == 1
    s = spectra[0]
    assert s.meta["format"] == fmt
    f_ref, z_ref = readFile(str(path), instrument=instrument)
    # exact: both parse the same decimal strings with float()
    np.testing.assert_array_equal(s.frequency, f_ref)
    np.testing.assert_array_equal(s.impedance, z_ref)


@pytest.mark.parametrize("name", sorted(README_POINTS))
def test_reader_first_last_points_from_readme(name: str) -> None:
    n, f0, z0, f1, z1 = README_POINTS[name]
    s = _read(shared_file("eis", name), INSTRUMENT_FILES[name][2])[0]
    assert s.frequency.size == n
    # values as printed in the README (7-8 significant digits)
    np.testing.assert_allclose([s.frequency[0], s.frequency[-1]], [f0, f1], rtol=1e-6)
    np.testing.assert_allclose([s.impedance[0], s.impedance[-1]], [z0, z1], rtol=1e-6)


def test_instrument_readers_outscore_generic_text() -> None:
    from ncmsurf.io.registry import readers

    by_name = {r.name: r for r in readers(kind="eis")}
    for name in INSTRUMENT_FILES:
        path = shared_file("eis", name)
        head = path.read_bytes()[:65536]
        scores = {r.name: r.sniff(path, head) for r in by_name.values()}
        best = max(scores, key=lambda k: scores[k])
        assert scores[best] >= 0.8, (name, scores)
        assert scores[best] > scores["eis-text"], (name, scores)


def test_gamry_abort_flag_and_same_data() -> None:
    a = ns.read_eis(shared_file("eis", "exampleDataGamry.DTA"))[0]
    b = ns.read_eis(shared_file("eis", "exampleDataGamryABORT.DTA"))[0]
    assert a.meta["aborted"] is False and b.meta["aborted"] is True
    np.testing.assert_array_equal(a.impedance, b.impedance)


def test_biologic_missing_freq_column_is_a_clear_error() -> None:
    path = shared_file("eis", "exampleDataBioLogic_MissingFreq.mpt")
    with pytest.raises(ReadError, match=r'line 61: "freq/Hz" not found in column headers') as info:
        ns.read_eis(path)
    assert info.value.line == 61


def test_area_normalisation(tmp_path: Path) -> None:
    path = shared_file("eis", "exampleDataBioLogic.mpt")
    raw = ns.read_eis(path)[0]
    norm = ns.read_eis(path, area=0.5)[0]
    assert norm.units == "ohm * cm ** 2" and norm.area == 0.5
    np.testing.assert_allclose(norm.impedance, raw.impedance * 0.5, rtol=1e-15)
    q = ns.read_eis(path, area=50 * ns.ureg.mm**2)[0]  # 0.5 cm²
    np.testing.assert_allclose(q.impedance, norm.impedance, rtol=1e-12)
    kept = ns.read_eis(path, area=0.5, normalize=False)[0]
    assert kept.units == "ohm" and kept.area == 0.5


def test_write_mpt_round_trip_and_impedance_py_reads_it(tmp_path: Path) -> None:
    from impedance.preprocessing import readBioLogic

    from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

    a = synthetic_spectrum("ncm", NCM_TRUTH, seed=1)
    b = synthetic_spectrum("ncm", {**NCM_TRUTH, "R2": 90.0}, seed=2)
    p = write_mpt([a, b], tmp_path / "two.mpt")
    back = ns.read_eis(p)
    assert [s.meta["format"] for s in back] == ["biologic-mpt"] * 2
    assert [s.meta["cycle"] for s in back] == [1, 2]
    for orig, got in zip((a, b), back, strict=True):
        # written with 11 significant digits
        np.testing.assert_allclose(got.frequency, orig.frequency, rtol=1e-10)
        np.testing.assert_allclose(got.impedance, orig.impedance, rtol=1e-10)
    f, z = readBioLogic(str(p))
    assert f.size == a.frequency.size + b.frequency.size
    np.testing.assert_allclose(z[: a.frequency.size], a.impedance, rtol=1e-10)


def test_mpt_without_cycle_column_is_never_split_on_a_frequency_jump(tmp_path: Path) -> None:
    from ncmsurf.datasets.eis import synthetic_spectrum

    s = synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": 5.0, "C1": 1e-3}, noise=0.0)
    p = write_mpt([s, s], tmp_path / "loops.mpt")
    text = p.read_bytes().decode("latin-1").replace("\tcycle number", "")
    lines = [ln.rsplit("\t", 1)[0] if i > 11 else ln for i, ln in enumerate(text.split("\r\n"))]
    p.write_bytes("\r\n".join(lines).encode("latin-1"))
    # two sweeps with no cycle column of EC-Lab's own: the repeated frequencies are an error, not a split
    with pytest.raises(ReadError, match="duplicate frequency .* split only on the file's own cycle/loop markers"):
        read_mpt(p)


def test_mpr_through_galvani() -> None:
    pytest.importorskip("galvani")
    spectra = read_mpr(shared_file("cycling", "biol.mpr"))
    # README: four PEIS of 64 points (100 kHz-50 mHz) and a final one of 54 points (10 kHz-50 mHz)
    assert [s.frequency.size for s in spectra] == [64, 64, 64, 64, 54]
    np.testing.assert_allclose(spectra[0].frequency.max(), 1e5, rtol=1e-3)
    np.testing.assert_allclose(spectra[-1].frequency.min(), 0.05, rtol=1e-3)


def test_write_dta_round_trip(tmp_path: Path) -> None:
    from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

    s = synthetic_spectrum("ncm", NCM_TRUTH, seed=4)
    back = ns.read_eis(write_dta(s, tmp_path / "x.DTA"))[0]
    np.testing.assert_array_equal(back.frequency, s.frequency)  # repr() round-trips floats exactly
    np.testing.assert_array_equal(back.impedance, s.impedance)
    assert read_gamry(tmp_path / "x.DTA")[0].meta["format"] == "gamry-dta"


# ---------------------------------------------------------------- bad input
def _copy_lines(src: Path, dst: Path, edit) -> Path:  # type: ignore[no-untyped-def]
    raw = src.read_bytes().decode("latin-1")
    dst.write_bytes(edit(raw).encode("latin-1"))
    return dst


def test_truncated_data_block_is_an_error(tmp_path: Path) -> None:
    src = shared_file("eis", "Circuit1_EIS_1.z")
    # cut the file in the middle of the last data row
    p = _copy_lines(src, tmp_path / "cut.z", lambda t: t.rstrip()[:-40])
    with pytest.raises(ReadError, match="truncated data row") as info:
        ns.read_eis(p)
    assert info.value.line == 171  # the last line of the file (data rows 124-171)


def test_truncated_gamry_header_is_an_error(tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataGamry.DTA")
    p = _copy_lines(src, tmp_path / "cut.DTA", lambda t: t[: t.index("ZCURVE") + 20])
    with pytest.raises(ReadError, match="ZCURVE"):
        ns.read_eis(p)


def test_duplicated_frequency_is_an_error(tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataCHInstruments.txt")

    def dup(t: str) -> str:
        lines = t.split("\n")
        lines[20] = lines[19]  # two consecutive rows with the same frequency
        return "\n".join(lines)

    p = _copy_lines(src, tmp_path / "dup.txt", dup)
    with pytest.raises(ReadError, match="duplicate frequency") as info:
        ns.read_eis(p)
    assert info.value.line == 21


def test_non_numeric_field_names_line_and_column(tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataBioLogic.mpt")

    def bad(t: str) -> str:
        lines = t.split("\n")
        lines[70] = lines[70].replace("E+00", "E+0x", 1)
        return "\n".join(lines)

    p = _copy_lines(src, tmp_path / "bad.mpt", bad)
    with pytest.raises(ReadError, match=r"line 71: .* is not a number"):
        ns.read_eis(p)


def test_missing_frequencies_and_single_point(tmp_path: Path) -> None:
    p = tmp_path / "empty.z"
    src = shared_file("eis", "Circuit1_EIS_1.z").read_text(encoding="latin-1")
    p.write_text(src[: src.index("End Comments") + len("End Comments") + 1], encoding="latin-1")
    with pytest.raises(ReadError, match="no impedance data rows"):
        ns.read_eis(p)
    one = tmp_path / "one.z"
    lines = src.split("\n")
    end = next(i for i, ln in enumerate(lines) if ln.startswith("End Comments"))
    one.write_text("\n".join(lines[: end + 2]) + "\n", encoding="latin-1")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EISReadWarning)
        spec = ns.read_eis(one)[0]
    assert spec.frequency.size == 1
    with pytest.raises(ns.FitError, match="at least 3 frequencies"):
        ns.eis.fit(spec)


def test_mpr_through_read_eis_without_galvani(monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_file("cycling", "biol.mpr")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ns.NcmsurfWarning)  # other plugins may warn while loading
        spectra = ns.read_eis(path)
    assert len(spectra) == 5 and spectra[0].meta["format"] == "biologic-mpr"
    import sys

    monkeypatch.setitem(sys.modules, "galvani", None)  # the .mpr parser is ncmsurf's own
    again = read_mpr(path)
    np.testing.assert_array_equal(again[0].impedance, spectra[0].impedance)


def test_autolab_nova_export_two_sweeps(tmp_path: Path) -> None:
    from ncmsurf.datasets.eis import synthetic_spectrum

    s = synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": 5.0, "C1": 1e-3}, noise=0.0)
    rows = ["Index;Frequency (Hz);Z' (Ω);-Z'' (Ω);Z (Ω);-Phase (°);Time (s)"]
    for _sweep in range(2):
        for i, (f, z) in enumerate(zip(s.frequency, s.impedance, strict=True)):
            rows.append(f"{i + 1};{f:.6g};{z.real:.8g};{-z.imag:.8g};{abs(z):.8g};0;{i}".replace(".", ","))
    p = tmp_path / "nova.txt"
    p.write_text("\n".join(rows) + "\n", encoding="utf-8")
    back = ns.read_eis(p)
    assert [b.meta["format"] for b in back] == ["autolab-nova"] * 2
    # -Z'' negated back to Z''; decimal commas; 8 significant digits written
    np.testing.assert_allclose(back[1].impedance, s.impedance, rtol=1e-7)


def test_mpt_with_decimal_commas(tmp_path: Path) -> None:
    from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

    s = synthetic_spectrum("ncm", NCM_TRUTH, seed=3)
    p = write_mpt(s, tmp_path / "fr.mpt")
    lines = p.read_bytes().decode("latin-1").split("\r\n")
    lines = lines[:11] + [ln.replace(".", ",") for ln in lines[11:]]
    p.write_bytes("\r\n".join(lines).encode("latin-1"))
    back = ns.read_eis(p)[0]
    np.testing.assert_allclose(back.impedance, s.impedance, rtol=1e-10)
