"""Strict readers: every defect of issue 13 (and the impedance formats of issue 18) as a regression test.

Each damaged input is a one-byte or one-cell change of a shared real file (../shared/data); where no
shared sample exists (Maccor FRA, Ivium, PalmSens, SPECS .xy with decimal commas) the file is written
from the format's documented structure.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.io import registry
from ncmsurf.io.eis_instruments import EISReadWarning
from ncmsurf.io.ivium import read_ivium, write_idf
from ncmsurf.io.palmsens import read_pssession, write_pssession


def _mutated(tmp_path: Path, src: Path, edit, name: str | None = None) -> Path:  # type: ignore[no-untyped-def]
    raw = src.read_bytes()
    out = edit(raw)
    p = tmp_path / (name or src.name)
    p.write_bytes(out)
    return p


def _line_edit(lineno: int, func):  # type: ignore[no-untyped-def]
    """Edit one 1-based line of a file's bytes, keeping its line end."""

    def edit(raw: bytes) -> bytes:
        lines = raw.split(b"\n")
        lines[lineno - 1] = func(lines[lineno - 1])
        return b"\n".join(lines)

    return edit


# ----------------------------------------------------- header detection (bad first rows)
@pytest.mark.parametrize("row", [1, 2])
def test_bad_cell_in_first_data_rows_of_lineshape_export_is_an_error(shared_data: Path, tmp_path: Path,
                                                                      row: int) -> None:
    src = shared_file("xps", "FeO_analyzed_lineshapes_cols.txt")
    line = 8 + row  # header on line 8; the B.E. axis is the 10th field

    def be_cell(ln: bytes) -> bytes:
        f = ln.split(b"\t")
        f[9] = f[9].replace(b"e+00", b"e+0x", 1)
        return b"\t".join(f)

    p = _mutated(tmp_path, src, _line_edit(line, be_cell))
    with pytest.raises(ReadError) as info:
        ns.read(p, format="xps-text")
    assert info.value.line == line and "B.E." in info.value.reason
    # a bad cell in the K.E. column (kept as an extra column) drops that column, with a warning
    p = _mutated(tmp_path, src, _line_edit(line, lambda ln: ln.replace(b"e+00", b"e+0x", 1)))
    with pytest.warns(ns.NcmsurfWarning, match=f"column 'K.E.' dropped: line {line}"):
        s = ns.read(p, format="xps-text")[0]
    assert "K.E." not in s.meta["extra_columns"] and s.binding_energy.size == 1121


def test_lineshape_export_takes_binding_energy_column(shared_data: Path) -> None:
    # README: 1121 rows; B.E. 750.00 -> 694.00 eV; CPS = Counts / 2 s
    s = ns.read(shared_file("xps", "FeO_analyzed_lineshapes_cols.txt"), format="xps-text")[0]
    assert s.binding_energy.size == 1121
    assert s.binding_energy[0] == 750.0 and s.binding_energy[-1] == pytest.approx(694.0)
    assert s.units == "counts/s" and s.meta["energy_axis"] == "binding" and s.meta["energy_column"] == "B.E."
    np.testing.assert_allclose(s.intensity, s.meta["extra_columns"]["Counts"] / 2, rtol=1e-6)


@pytest.mark.parametrize("row", [1, 2])
def test_bad_cell_in_first_rows_of_cycling_csv(shared_data: Path, tmp_path: Path, row: int) -> None:
    src = shared_file("cycling", "rate_cc_raw.csv")
    p = _mutated(tmp_path, src, _line_edit(row + 1, lambda ln: ln.replace(b".", b"x", 1)))
    with pytest.raises(ReadError) as info:
        ns.read_cycling(p, format="cycling-text")
    assert info.value.line == row + 1


def test_unit_and_sign_kept_when_first_row_is_damaged(tmp_path: Path) -> None:
    # exampleData.csv rows under a header naming kHz, kOhm and -Z'': a bad first row is an error,
    # never the header (which would lose the units and the sign)
    src = shared_file("eis", "exampleData.csv")
    rows = src.read_bytes().split(b"\n")
    head = b"freq (kHz),Z' (kOhm),-Z'' (kOhm)"
    good = tmp_path / "k.csv"
    good.write_bytes(b"\n".join([head, *rows]))
    s = ns.read_eis(good)[0]
    raw = np.loadtxt(src, delimiter=",")
    np.testing.assert_array_equal(s.frequency, raw[:, 0] * 1000)
    np.testing.assert_allclose(s.impedance, (raw[:, 1] - 1j * raw[:, 2]) * 1000, rtol=1e-15)
    rows[0] = rows[0].replace(b"e", b"x", 1)
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\n".join([head, *rows]))
    with pytest.raises(ReadError) as info:
        ns.read_eis(bad)
    assert info.value.line == 2


# ------------------------------------------------------- extra or missing fields
def test_decimal_comma_in_chi_row_is_an_extra_field(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataCHInstruments.txt")
    p = _mutated(tmp_path, src, _line_edit(25, lambda ln: ln.replace(b".", b",", 1)))
    with pytest.raises(ReadError, match="expected 5 columns, found 6") as info:
        ns.read_eis(p)
    assert info.value.line == 25


@pytest.mark.parametrize(("name", "line", "delim"), [
    ("Circuit1_EIS_1.z", 130, b"\t"), ("exampleDataAutolab.txt", 15, b","), ("exampleDataParstat.txt", 790, b"\t"),
    ("exampleDataVersaStudio.par", 130, b","), ("exampleDataCHInstruments.txt", 30, b","),
    ("exampleDataZPlot_noComments.z", 14, b","), ("exampleDataGamry.DTA", 460, b"\t"),
    ("exampleDataBioLogic.mpt", 70, b"\t"), ("exampleDataPowersuite.txt", 11, b"\t"),
])
@pytest.mark.parametrize("change", ["drop", "add"])
def test_missing_or_extra_field_is_an_error(shared_data: Path, tmp_path: Path, name: str, line: int,
                                           delim: bytes, change: str) -> None:
    src = shared_file("eis", name)

    def edit(ln: bytes) -> bytes:
        k = ln.index(delim, 3)
        return ln[:k] + ln[k + 1:] if change == "drop" else ln[:k] + delim + b"7" + ln[k:]

    p = _mutated(tmp_path, src, _line_edit(line, edit))
    with pytest.raises(ReadError) as info:
        ns.read_eis(p)
    # PowerSuite ends lines with CR CR LF: every lone CR counts as a line end
    assert info.value.line == (2 * line - 1 if name == "exampleDataPowersuite.txt" else line)


# ----------------------------------------------------------------------- Gamry
def test_gamry_bit_flip_at_row_start_does_not_end_the_table(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataGamry.DTA")
    # line 459 is the 11th ZCURVE row; a bit flip turns its leading TAB into 'I'
    p = _mutated(tmp_path, src, _line_edit(459, lambda ln: b"I" + ln[1:]))
    with pytest.raises(ReadError) as info:
        ns.read_eis(p)
    assert info.value.line == 459


def test_gamry_tab_replaced_by_space(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataGamry.DTA")
    p = _mutated(tmp_path, src, _line_edit(470, lambda ln: ln.replace(b"\t", b" ", 3).replace(b" ", b"\t", 2)))
    with pytest.raises(ReadError, match="expected 12 columns, found 11") as info:
        ns.read_eis(p)
    assert info.value.line == 470


def test_gamry_cut_mid_row_is_an_error(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataGamry.DTA")
    raw = src.read_bytes().rstrip()
    p = tmp_path / "cut.DTA"
    p.write_bytes(raw[:-25])
    with pytest.raises(ReadError) as info:
        ns.read_eis(p)
    assert info.value.line == raw.count(b"\n") + 1


def test_gamry_drift_corrected_both_spectra(shared_data: Path) -> None:
    # README (pyimpspec): 2 spectra of 55 pts, 100,078.1 -> 0.1001603 Hz; drift corrected last Z
    # 163,521.3 - 207,613.7j ohm; uncorrected last 163,443.2 - 207,897.9j ohm
    a, b = ns.read_eis(shared_file("eis", "drift-corrected-data.dta"))
    assert a.meta["drift_corrected"] is True and b.meta["drift_corrected"] is False
    assert a.meta["spectrum"] == "drift-corrected" and b.meta["spectrum"] == "uncorrected"
    for s in (a, b):
        assert s.frequency.size == 55 and s.frequency[0] == 100078.1 and s.frequency[-1] == 0.1001603
    assert a.impedance[-1] == 163521.3 - 207613.7j and b.impedance[-1] == 163443.2 - 207897.9j


def test_gamry_cp1252_ellipsis_and_form_feed_in_header(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataGamry.DTA")
    ref = ns.read_eis(src)[0]
    for byte in (b"\x85", b"\x0c"):
        p = _mutated(tmp_path, src, _line_edit(3, lambda ln, b=byte: ln.replace(b"EIS", b"EIS" + b, 1)))
        got = ns.read_eis(p)[0]
        np.testing.assert_array_equal(got.frequency, ref.frequency)
        np.testing.assert_array_equal(got.impedance, ref.impedance)
        assert got.meta["first_line"] == ref.meta["first_line"]  # no line break was added


# ---------------------------------------------------------------- file ends
@pytest.mark.parametrize("name", ["exampleDataBioLogic.mpt", "exampleDataVersaStudio.par", "exampleDataGamry.DTA",
                                  "Circuit1_EIS_1.z", "exampleDataCHInstruments.txt"])
def test_nul_tail_is_an_error(shared_data: Path, tmp_path: Path, name: str) -> None:
    p = _mutated(tmp_path, shared_file("eis", name), lambda raw: raw + b"\x00" * 512)
    with pytest.raises(ReadError, match="NUL byte"):
        ns.read_eis(p)


def test_number_cut_in_its_exponent_is_an_error(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataBioLogic.mpt")  # ends "... 1.2110267E+000" without a line end
    p = _mutated(tmp_path, src, lambda raw: raw[:-1])
    with pytest.raises(ReadError, match="last line has no line end") as info:
        ns.read_eis(p)
    assert info.value.line == src.read_bytes().count(b"\n") + 1


# -------------------------------------------------------------- .mpt splits
def test_mpt_two_rows_swapped_is_one_spectrum(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataBioLogic.mpt")
    lines = src.read_bytes().split(b"\n")
    lines[70], lines[71] = lines[71], lines[70]
    p = tmp_path / "swap.mpt"
    p.write_bytes(b"\n".join(lines))
    got = ns.read_eis(p)
    ref = ns.read_eis(src)[0]
    assert len(got) == 1 and got[0].frequency.size == ref.frequency.size


def test_mpt_frequency_jump_is_not_a_split(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataBioLogic.mpt")
    p = _mutated(tmp_path, src, _line_edit(75, lambda ln: b"1.0000000E+008" + ln[ln.index(b"\t"):]))
    got = ns.read_eis(p)
    assert len(got) == 1 and got[0].frequency.size == 43 and got[0].frequency.max() == 1e8


def test_mpt_surplus_header_names_read_to_reference(shared_data: Path) -> None:
    # README: pyimpspec and yadg give 32 (f, Z): 199,998.14 Hz -> 1.0016 Hz; first Z 1.227384 - 0.111518j,
    # last 25.24165 - 13.08314j ohm, sum |Z| 413.9389
    with pytest.warns(EISReadWarning, match="the header names 63 columns, the rows hold 61"):
        spectra = ns.read_eis(shared_file("eis", "peis.issue_225.with_ece.mpt"))
    assert len(spectra) == 1
    s = spectra[0]
    assert s.frequency.size == 32
    np.testing.assert_allclose([s.frequency[0], s.frequency[-1]], [199998.14, 1.0016], rtol=2e-5)
    np.testing.assert_allclose([s.impedance[0], s.impedance[-1]], [1.227384 - 0.111518j, 25.24165 - 13.08314j],
                               rtol=2e-5)
    np.testing.assert_allclose(np.abs(s.impedance).sum(), 413.9389, rtol=2e-5)
    assert s.meta["surplus_header_names"]


def test_mpt_surplus_header_with_shifted_columns_is_refused(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "peis.issue_225.with_ece.mpt")
    # drop the |Z| cell of one row and add a cell at its end: the row count stays, the columns shift
    p = _mutated(tmp_path, src, _line_edit(80, lambda ln: b"\t".join(
        (lambda f: f[:3] + f[4:] + [b"0"])(ln.split(b"\t")))))
    with pytest.raises(ReadError, match="do not match") as info:
        ns.read_eis(p)
    assert info.value.line == 80


# ------------------------------------------------------------------- SPECS .xy
def test_specs_xy_decimal_commas(tmp_path: Path) -> None:
    text = "\n".join(["# Created by:        SpecsLab Prodigy, Version 4.54", "# Region:            Ni2p",
                      "# Excitation Energy: 1486,61", "# Values/Curve:      3", "# ColumnLabels: energy counts",
                      "  870,05  1234,5", "  869,95  1250,25", "  869,85  1301,0", ""])
    p = tmp_path / "ni.xy"
    p.write_text(text, encoding="utf-8")
    s = ns.read_xps(p)[0]
    assert s.binding_energy.tolist() == [870.05, 869.95, 869.85] and s.intensity.tolist() == [1234.5, 1250.25, 1301.0]
    p.write_text(text.replace("1250,25", "1250.25"), encoding="utf-8")
    with pytest.raises(ReadError, match="decimal point in a file with decimal commas"):
        ns.read_xps(p)


# ----------------------------------------------------------------- Maccor FRA
def _maccor_fra(tmp_path: Path, f: np.ndarray, z: np.ndarray) -> Path:
    """A Maccor FRA text export laid out as documented: preamble lines, then a tab table with ZPlot names."""
    head = ["Maccor EIS Data File", "Frequency Sweep: Circuit", "Method: EIS_test.fra", "File: cell01.041",
            "", "", "Start Date: Monday, March 01, 2021  Start Time: 10:15", "", "Channel 41  Cycle 1", ""]
    cols = "Freq(Hz)\tOmega(rad/s)\tAmpl\tZ'(a)\tZ''(b)\t|Z|\tPhase(deg)"
    rows = [f"{fi:.6E}\t{2 * np.pi * fi:.6E}\t{38.2:.4E}\t{zi.real:.6E}\t{zi.imag:.6E}\t{abs(zi):.6E}\t"
            f"{np.degrees(np.angle(zi)):.4E}" for fi, zi in zip(f, z, strict=True)]
    p = tmp_path / "cell01.EDA0001.041"
    p.write_text("\n".join([*head, cols, *rows]) + "\n", encoding="latin-1")
    return p


def test_maccor_fra_columns_by_header_names(tmp_path: Path) -> None:
    f = np.array([1e6, 1e4, 1e2, 1.0])
    z = np.array([0.773 - 0.849j, 0.9 - 0.5j, 1.2 - 0.3j, 2.0 - 0.8j])
    spec = ns.read_eis(_maccor_fra(tmp_path, f, z))[0]
    # the Omega and Ampl columns (6.28e6, 38.2) are never taken as Z' and Z''
    np.testing.assert_allclose(spec.frequency, f, rtol=1e-6)
    np.testing.assert_allclose(spec.impedance, z, rtol=1e-6)
    assert spec.meta["columns"] == {"frequency": "Freq(Hz)", "real": "Z'(a)", "imaginary": "Z''(b)"}


# -------------------------------------------------------------------- Ivium
def _spec() -> ns.ImpedanceSpectrum:
    from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum

    return synthetic_spectrum("ncm", NCM_TRUTH, seed=5)


def test_ivium_round_trip_and_damage(tmp_path: Path) -> None:
    s = _spec()
    p = write_idf([s, s], tmp_path / "two.ids")
    back = ns.read_eis(p)
    assert [b.meta["format"] for b in back] == ["ivium-idf"] * 2
    np.testing.assert_allclose(back[1].impedance, s.impedance, rtol=1e-6)
    np.testing.assert_allclose(back[0].frequency, s.frequency, rtol=1e-6)
    lines = p.read_bytes().split(b"\r\n")
    k = lines.index(b"primary_data") + 5
    for bad, what in ((lines[k].rsplit(b" ", 1)[0], "truncated data row"),
                      (lines[k] + b" 1.0", "expected 3 columns, found 4"),
                      (lines[k].replace(b"E", b"X", 1), "is not a number")):
        q = tmp_path / "bad.idf"
        q.write_bytes(b"\r\n".join([*lines[:k], bad, *lines[k + 1:]]))
        with pytest.raises(ReadError, match=what) as info:
            read_ivium(q)
        assert info.value.line == k + 1 - 1 or info.value.line is not None
    cut = tmp_path / "cut.idf"
    cut.write_bytes(b"\r\n".join(lines[: k + 3]))
    with pytest.raises(ReadError, match="declares"):
        read_ivium(cut)
    cv = tmp_path / "cv.idf"
    cv.write_bytes(p.read_bytes().replace(b"Technique=Impedance", b"Technique=CyclicVoltammetry"))
    with pytest.raises(ReadError, match="not an impedance measurement"):
        read_ivium(cv)


def test_ivium_decimal_commas(tmp_path: Path) -> None:
    s = _spec()
    p = write_idf(s, tmp_path / "c.idf")
    raw = p.read_bytes()
    k = raw.index(b"primary_data")
    p.write_bytes(raw[:k] + raw[k:].replace(b".", b","))
    np.testing.assert_allclose(read_ivium(p)[0].impedance, s.impedance, rtol=1e-6)


# ----------------------------------------------------------------- PalmSens
def test_pssession_round_trip_and_damage(tmp_path: Path) -> None:
    s = _spec()
    p = write_pssession([s], tmp_path / "a.pssession")
    assert p.read_bytes()[:2] == b"\xff\xfe"
    back = ns.read_eis(p)[0]
    assert back.meta["format"] == "palmsens-pssession"
    np.testing.assert_array_equal(back.frequency, s.frequency)
    np.testing.assert_array_equal(back.impedance, s.impedance)
    text = p.read_bytes().decode("utf-16")
    for old, new, what in (('{"V": ', '{"V": "x', "does not parse"), ('{"V": ', '{"W": ', "not a finite number"),
                           ('"PalmSens.Units.ZIm"', '"PalmSens.Units.ZRe"', "two PalmSens.Units.ZRe arrays")):
        q = tmp_path / "bad.pssession"
        q.write_bytes(text.replace(old, new, 1).encode("utf-16"))
        with pytest.raises(ReadError, match=what):
            read_pssession(q)
    q.write_bytes((text[:-1] + "garbage").encode("utf-16"))
    with pytest.raises(ReadError, match="text after the JSON"):
        read_pssession(q)
    q.write_bytes(text[: len(text) // 2].encode("utf-16"))
    with pytest.raises(ReadError, match="does not parse"):
        read_pssession(q)


# --------------------------------------------------------------------- sniffing
def test_headerless_eclab_cycling_export_is_not_read_as_xps(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("cycling", "gcpl.issue_149.mpt")
    lines = src.read_bytes().split(b"\n")
    p = tmp_path / "export.mpt"
    p.write_bytes(b"\n".join(lines[80:]))  # the column header and the rows only
    scores = registry.sniff_scores(p)
    assert scores[0][1].kind == "cycling"
    assert all(r.kind != "xps" for _s, r in scores)
    with pytest.raises(ReadError):
        ns.read(p, kind="xps")
    d = ns.read(p)[0]
    assert isinstance(d, ns.CyclingData) and len(d) == 132  # README: 132 rows


@pytest.mark.parametrize("sub", ["eis", "cycling"])
def test_no_impedance_or_cycling_text_goes_to_an_xps_reader(shared_data: Path, sub: str) -> None:
    for p in sorted((shared_data / sub).iterdir()):
        scores = registry.sniff_scores(p)
        if scores:
            assert scores[0][1].kind != "xps", (p.name, [(r.name, s) for s, r in scores])


# ----------------------------------------------------------------------- options
def test_unknown_options_are_refused_with_the_valid_ones(shared_data: Path) -> None:
    with pytest.raises(ValidationError, match=r"no option\(s\) \['mas'\]; valid options: \['mass', 'sample'\]"):
        ns.read(shared_file("cycling", "maccor_001.txt"), kind="cycling", mas=0.01)
    with pytest.raises(ValidationError, match="aera"):
        ns.read_eis(shared_file("eis", "exampleDataGamry.DTA"), aera=1.0)
    d = ns.read_cycling(shared_file("cycling", "rate_cc_raw.csv"), mass=0.0154071)
    assert d.mass == pytest.approx(0.0154071)


def test_reader_options_from_signatures() -> None:
    from ncmsurf.io.registry import SimpleReader, reader_options

    def plain(path: Path, *, sample: object = None, **_: object) -> list[object]:
        return []

    def fwd(path: Path, **kw: object) -> list[object]:
        return plain(path, **kw)

    assert reader_options(SimpleReader("a", "eis", (), lambda p, h: 0, plain)) == {"sample"}
    assert reader_options(SimpleReader("b", "eis", (), lambda p, h: 0, fwd)) == {"sample"}
    assert reader_options(SimpleReader("c", "eis", (), lambda p, h: 0, fwd, options=("x",))) == {"x"}
    assert reader_options(SimpleReader("d", "eis", (), lambda p, h: 0, lambda path, **kw: kw)) is None


# ------------------------------------------------------------------- bounded reads
def test_size_limit_per_call(shared_data: Path) -> None:
    p = shared_file("eis", "exampleDataGamry.DTA")
    with pytest.raises(ReadError, match="read limit"):
        ns.read(p, max_bytes=1000)
    assert len(ns.read(p, max_bytes=10**6)) == 1


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs")
def test_fifo_refused_by_read_and_info(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    errs: list[BaseException] = []
    th = threading.Thread(target=lambda: errs.append(pytest.raises(ReadError, ns.read, fifo).value), daemon=True)
    th.start()
    th.join(10)
    assert errs and "FIFO" in str(errs[0])
    out = subprocess.run([sys.executable, "-m", "ncmsurf", "info", str(fifo)], capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and "FIFO" in out.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_dev_zero_with_format_is_bounded() -> None:
    with pytest.raises(ReadError, match="character device"):
        ns.read("/dev/zero", format="eis-text")
    with pytest.raises(ReadError, match="read limit"):
        ns.read("/dev/zero", format="eis-text", allow_special=True, max_bytes=1 << 16)


def test_info_names_reader_and_confidence(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from ncmsurf.cli import main

    assert main(["info", str(shared_file("eis", "drift-corrected-data.dta"))]) == 0
    out = capsys.readouterr().out
    assert "reader: gamry-dta" in out and "confidence 0.95" in out and "drift-corrected" in out


def test_reader_warnings_are_ncmsurf_warnings() -> None:
    from ncmsurf.io._table import TableWarning
    from ncmsurf.io.text import TextReadWarning

    for w in (EISReadWarning, TableWarning, TextReadWarning, registry.ReaderWarning):
        assert issubclass(w, ns.NcmsurfWarning)


def test_sparse_file_over_the_limit_is_refused_without_reading(tmp_path: Path) -> None:
    p = tmp_path / "sparse.csv"
    with open(p, "wb") as fh:
        fh.write(b"freq,Zre,Zim\n1,2,3\n")
        fh.truncate(600 << 20)  # 600 MB of holes: no disk, no memory
    with pytest.raises(ReadError, match="more than the .*-byte read limit"):
        ns.read(p, format="eis-text")
    with pytest.raises(ReadError):  # sniffing looks at the first 64 kB only: the holes read as NUL bytes
        ns.read(p)


# ------------------------------------------------ found by the long differential fuzz run
def test_parstat_dc_row_with_a_frequency_is_an_error(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataParstat.txt")  # 781 DC rows (frequency 0), then the sweep
    p = _mutated(tmp_path, src, _line_edit(400, lambda ln: ln.replace(b"\t0\t0\t0\t", b"\t5\t0\t0\t", 1)))
    with pytest.raises(ReadError, match="among the DC rows") as info:
        ns.read_eis(p)
    assert info.value.line == 400


def test_versastudio_row_moved_out_of_its_segment(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataVersaStudio.par")
    lines = src.read_bytes().split(b"\n")
    k = next(i for i, ln in enumerate(lines) if ln.strip() == b"</Segment1>")
    lines[k - 1], lines[k] = lines[k], lines[k - 1]  # the last data row now follows </Segment1>
    p = tmp_path / "moved.par"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="outside any section") as info:
        ns.read_eis(p)
    assert info.value.line == k + 1


def test_z60w_header_swapped_with_first_row(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "exampleDataAutolab.txt")
    lines = src.read_bytes().split(b"\n")
    lines[10], lines[11] = lines[11], lines[10]
    p = tmp_path / "swap.txt"
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="no point count on the line before the column header"):
        ns.read_eis(p)


def test_mpt_damaged_cycle_cell_does_not_move_points(tmp_path: Path) -> None:
    from ncmsurf.io.biologic_eis import write_mpt

    a, b = _spec(), _spec()
    p = write_mpt([a, b], tmp_path / "loops.mpt")
    lines = p.read_bytes().split(b"\r\n")
    k = 12 + a.frequency.size - 1  # the last row of cycle 1
    lines[k] = lines[k].rsplit(b"\t", 1)[0] + b"\t2.000000000000000E+00"
    p.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ReadError, match="does not run one way in frequency"):
        ns.read_eis(p)
    lines[k] = lines[k].rsplit(b"\t", 1)[0] + b"\t7.000000000000000E+00"
    p.write_bytes(b"\r\n".join(lines))
    with pytest.raises(ReadError, match="goes back from 7 to 2"):
        ns.read_eis(p)


def test_cut_inside_a_varying_width_number_is_said(shared_data: Path, tmp_path: Path) -> None:
    src = shared_file("eis", "LIB_data_2.txt")  # numbers printed with varying digits, lines end with LF
    raw = src.read_bytes()
    p = tmp_path / "cut.txt"
    cut = raw.index(b"\n", len(raw) // 2)
    p.write_bytes(raw[:cut - 3])  # inside the last number: shorter than the column's numbers, an error
    with pytest.raises(ReadError, match="last line has no line end"):
        ns.read_eis(p)
    p.write_bytes(raw[:cut])  # just before the line end: the row may be whole, or cut; the reader says so
    with pytest.warns(ns.NcmsurfWarning, match="the last row, has no line end"):
        ns.read_eis(p)


@pytest.mark.parametrize("name", ["Circuit1_EIS_1.z", "exampleDataAutolab.txt", "exampleDataZPlot_noComments.z"])
def test_generic_reader_never_reads_an_instrument_table_by_position(shared_data: Path, name: str) -> None:
    # a damaged first line hands an instrument file to the generic reader: its 9 columns cannot be told apart
    with pytest.raises(ReadError, match="only a three-column table"):
        ns.read(shared_file("eis", name), format="eis-text")
