"""The strict text-table core (ncmsurf.io._table): headers, field counts, decimals, line ends, file ends, fast path."""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

from ncmsurf.core.errors import ReadError
from ncmsurf.io import _table as T
from ncmsurf.io._table import TableWarning, TextFile, find_table, read_bytes, read_limit, split_lines, table_at


def write(tmp_path: Path, text: str | bytes, name: str = "t.txt") -> Path:
    p = tmp_path / name
    p.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return p


def cols(t: T.Table) -> dict[str, list[float]]:
    return {n: t.column(n).tolist() for n in t.names if t.kinds[n] == "number"}


# --------------------------------------------------------------------------- header
def test_header_by_position_with_metadata_above(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "Sample: A\nDate: today\nfreq/Hz,Z'/Ohm,-Z''/Ohm\n1,2,3\n4,5,6\n7,8,9\n"))
    assert t.header_line == 3 and t.first_line == 4 and t.header_lines == ["Sample: A", "Date: today"]
    assert t.names == ["freq/Hz", "Z'/Ohm", "-Z''/Ohm"] and t.units == ["Hz", "Ohm", "Ohm"]


@pytest.mark.parametrize("row", [1, 2])
def test_bad_cell_in_first_rows_is_an_error_not_a_header(tmp_path: Path, row: int) -> None:
    lines = ["freq (kHz),Zre (kOhm),-Zim (kOhm)", "10,1.5,0.5", "1,2.5,1.5", "0.1,3.5,2.5", "0.01,4.5,3.5"]
    lines[row] = lines[row].replace("5", "x", 1)
    t = find_table(write(tmp_path, "\n".join(lines) + "\n"))
    assert t.header_line == 1 and t.first_line == 2 and t.nrows == 4  # units and sign stay with their columns
    with pytest.raises(ReadError) as info:
        t.column(1)
    assert info.value.line == row + 1 and f"'{row}.x' is not a number" in info.value.reason


def test_whole_first_row_garbled_two_columns(tmp_path: Path) -> None:
    # a row with one number and one bad cell of two is still a data row
    t = find_table(write(tmp_path, "Kinetic Energy (eV)\tCounts\n600\tl0\n601\t12\n602\t30\n"))
    assert t.header_line == 1
    with pytest.raises(ReadError, match="line 2"):
        t.column("Counts")


@pytest.mark.parametrize("damaged", ["freq,Zre,Zim1000,10,-1", "freq,Z\nre,Zim", "freq,Zre", "1000,10"])
def test_damaged_line_above_data_is_an_error(tmp_path: Path, damaged: str) -> None:
    with pytest.raises(ReadError) as info:
        find_table(write(tmp_path, f"{damaged}\n100,11,-2\n10,12,-3\n1,13,-4\n"))
    assert info.value.line is not None


def test_unit_line_under_header(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "Freq\tZre\tZim\nHz\tkOhm\tkOhm\n1\t2\t3\n4\t5\t6\n"))
    assert t.names == ["Freq", "Zre", "Zim"] and t.units == ["Hz", "kOhm", "kOhm"] and t.units_line == 2


def test_comment_header_and_headerless(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "#E\tI\n1\t2\n3\t4\n"))
    assert t.names == ["E", "I"]
    t = find_table(write(tmp_path, "1,2,3\n4,5,6\n"))
    assert t.header_line is None and t.names == ["col0", "col1", "col2"]


def test_whitespace_header_with_spaces_in_names(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "Binding Energy (eV)   Counts\n 870.0   10\n 869.9   12\n"))
    assert t.names == ["Binding Energy (eV)", "Counts"] and t.delimiter is None
    with pytest.raises(ReadError, match="neither a header"):
        find_table(write(tmp_path, "Binding Energy Counts\n870.0 10\n869.9 12\n"))


def test_empty_column_kept_out_and_duplicate_names(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "K.E.\tCounts\t\tB.E.\tCounts\n1\t2\t\t3\t4\n5\t6\t\t7\t8\n"))
    assert t.names == ["K.E.", "Counts", "col2", "B.E.", "Counts.1"]
    assert t.kinds["col2"] == "empty" and cols(t)["Counts.1"] == [4.0, 8.0]


# ----------------------------------------------------------------------- rows
@pytest.mark.parametrize(("row", "found"), [("100,11", 2), ("100,11,-2,7", 4)])
def test_row_field_count_checked(tmp_path: Path, row: str, found: int) -> None:
    with pytest.raises(ReadError) as info:
        find_table(write(tmp_path, f"f,a,b\n1000,10,-1\n{row}\n10,12,-3\n1,1,1\n"))
    assert info.value.line == 3 and f"expected 3 columns, found {found}" in info.value.reason


def test_trailing_garbage_and_second_table(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="line 5: not a data row"):
        find_table(write(tmp_path, "a\tb\n1\t2\n3\t4\n5\t6\nend of data\n"))
    # a second table below the first: never only one of them
    with pytest.raises(ReadError, match="line 2: a row of numbers above the data block"):
        find_table(write(tmp_path, "a\tb\n1\t2\n3\t4\n\nBlock 2\nc\td\n1\t2\n"))


def test_trailing_delimiter_and_blank_lines(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "a\tb\t\n1\t2\t\n\n3\t4\t\n\n"))
    assert cols(t) == {"a": [1.0, 3.0], "b": [2.0, 4.0]} and t.line_numbers.tolist() == [2, 4]


def test_missing_value_is_an_empty_cell_error(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "a,b,c\n1,,3\n4,5,6\n7,8,9\n"))
    with pytest.raises(ReadError, match="line 2: column 'b': empty cell"):
        t.column("b")


@pytest.mark.parametrize("tok", ["nan", "inf", "-Infinity", "1e999"])
def test_nonfinite(tmp_path: Path, tok: str) -> None:
    t = find_table(write(tmp_path, f"a,b\n1,2\n2,{tok}\n3,4\n"))
    with pytest.raises(ReadError, match="line 3"):
        t.column("b")
    assert not np.isfinite(t.column("b", allow_nonfinite=True)[1])


@pytest.mark.parametrize("tok", ["1_0", "\u0661", "0x10", "1e", "1.5.2", "+-1", " 1 2"])
def test_strict_number_literals(tmp_path: Path, tok: str) -> None:
    t = find_table(write(tmp_path, f"a\tb\n1\t2\n2\t{tok}\n3\t4\n"))
    with pytest.raises(ReadError, match="line 3"):
        t.column("b")


# -------------------------------------------------------------------- decimals
def test_decimal_comma_per_file(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "a;b\n1,5;2,25\n3;4,75\n"))
    assert t.decimal == "," and cols(t) == {"a": [1.5, 3.0], "b": [2.25, 4.75]}
    t = find_table(write(tmp_path, "a\tb\n1,5\t2,5\n3,5\t4.5\n5,5\t6,5\n"))
    with pytest.raises(ReadError, match="line 3: column 'b': '4.5' uses a decimal point in a file with decimal commas"):
        t.column("b")
    t = find_table(write(tmp_path, "a\tb\n1.5\t2.5\n3.5\t4,5\n5.5\t6.5\n"))
    with pytest.raises(ReadError, match="decimal comma in a file with decimal points"):
        t.column("b")


def test_comma_delimited_file_never_has_decimal_commas(tmp_path: Path) -> None:
    # one decimal comma in a CSV is an extra field, never a re-read value
    with pytest.raises(ReadError, match="expected 3 columns, found 4"):
        find_table(write(tmp_path, "f,a,b\n238298.5,1,2\n2382,98.5,1,2\n10,1,2\n1,1,1\n"))


# ------------------------------------------------------------------ line ends
def test_line_breaks_only_cr_lf() -> None:
    assert split_lines("a\x85b\x0cc\u2028d\x1ce\r\nf\rg\nh") == ["a\x85b\x0cc\u2028d\x1ce", "f", "g", "h"]


def test_cp1252_ellipsis_and_form_feed_in_header(tmp_path: Path) -> None:
    p = write(tmp_path, b"Sample \x85 run\x0c 2\nE (eV)\tCounts\n1\t2\n3\t4\n5\t6\n")
    t = find_table(p)
    assert t.header_line == 2 and t.header_lines == ["Sample \u2026 run\x0c 2"] and t.nrows == 3


def test_mixed_line_ends(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, b"a,b\r\n1,2\r3,4\n5,6\r\n7,8\r\r\n9,10\n"))
    assert cols(t)["a"] == [1.0, 3.0, 5.0, 7.0, 9.0] and t.line_numbers.tolist() == [2, 3, 4, 5, 7]


# ---------------------------------------------------------------- file ends
def test_nul_tail_rejected_with_line(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="line 4: NUL byte"):
        find_table(write(tmp_path, b"a\tb\n1\t2\n3\t4\n" + b"\x00" * 5000))


@pytest.mark.parametrize(("cut", "ok"), [("-3.43e-0", False), ("-3.43e", False), ("-3.43", False),
                                          ("-3.43e-03", True)])
def test_last_line_cut_inside_number(tmp_path: Path, cut: str, ok: bool) -> None:
    p = write(tmp_path, f"a\tb\n1\t-1.25e-03\n2\t-2.50e-03\n3\t{cut}")
    if ok:
        assert find_table(p).column("b")[-1] == -3.43e-3
    else:
        with pytest.raises(ReadError, match="line 4: last line has no line end"):
            find_table(p)


def test_last_line_without_line_end_and_varying_digits_is_flagged(tmp_path: Path) -> None:
    p = write(tmp_path, "a\tb\n1\t0.25\n2\t0.5\n3\t0.125")
    with pytest.warns(TableWarning, match="line 4, the last row, has no line end"):
        t = find_table(p)
    assert t.last_row_unverified
    with pytest.raises(ReadError, match="line 4: the file ends inside a data row"):
        find_table(p, unterminated="error")
    assert find_table(p, unterminated="trust").column("b")[-1] == 0.125
    # fixed decimals show the row whole: no warning
    assert find_table(write(tmp_path, "a\tb\n1\t0.250\n2\t0.500\n3\t0.125")).column("b")[-1] == 0.125
    with pytest.raises(ReadError, match="shorter than the numbers above"):
        find_table(write(tmp_path, "a\tb\n1\t0.250\n2\t0.500\n3\t0.12"))


def test_file_ending_in_blanks_without_line_end(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="line 4: the file ends with a line of blanks"):
        find_table(write(tmp_path, "a\tb\n1\t2\n3\t4\n\t"))


def test_last_line_with_line_end_is_complete(tmp_path: Path) -> None:
    assert find_table(write(tmp_path, "a\tb\n1\t-1.25e-03\n2\t-3.43\n")).column("b")[-1] == -3.43


# ----------------------------------------------------------------- optional
def test_optional_columns_complete_or_dropped_with_warning(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "t,V,T,Q\n0,3.0,25,1\n1,3.1,x,2\n2,3.2,26,3\n"))
    with pytest.warns(TableWarning, match=r"column 'T' dropped: line 3: 'x' is not a number"):
        extra = t.optional(exclude=["t", "V"])
    assert list(extra) == ["Q"] and t.dropped == {"T": 3} and t.layout()["dropped_columns"] == {"T": 3}


def test_text_columns(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "t,State,V\n0,C,3.0\n1,C,3.1\n2,D,3.2\n"))
    assert t.kinds["State"] == "text" and t.text("State") == ["C", "C", "D"] and t.text_columns() == ["State"]
    with pytest.raises(ReadError, match="'C' is not a number"):
        t.column("State")
    assert t.optional(exclude=["t"]) .keys() == {"V"}


def test_integers(tmp_path: Path) -> None:
    t = find_table(write(tmp_path, "c,v\n1,2\n1.5,3\n2,4\n"))
    with pytest.raises(ReadError, match="line 3: column 'c' holds a non-integer 1.5"):
        t.integers("c")


# ---------------------------------------------------------------- table_at
def test_table_at_known_lines_with_end_marker(tmp_path: Path) -> None:
    text = "HDR\tx\nZCURVE\tTABLE\n\tPt\tFreq\n\t#\tHz\n\t0\t100\n\t1\t10\nNEXT\tTABLE\n\t9\t9\n"
    t = table_at(write(tmp_path, text), header=2, units=3, start=4, delimiter="\t",
                 end=lambda ln: ln.startswith("NEXT"))
    assert t.names == ["col0", "Pt", "Freq"] and t.units[2] == "Hz" and cols(t)["Freq"] == [100.0, 10.0]


def test_table_at_surplus_header_names(tmp_path: Path) -> None:
    p = write(tmp_path, "a\tb\tc\td\n1\t2\n3\t4\n")
    with pytest.raises(ReadError, match="line 2: truncated data row: expected 4 columns, found 2"):
        table_at(p, header=0, start=1, delimiter="\t")
    t = table_at(p, header=0, start=1, delimiter="\t", surplus_names="allow")
    assert t.names == ["a", "b"] and t.surplus_names == ["c", "d"]


# ----------------------------------------------------------------- fast path
def _big(tmp_path: Path, n: int = 30_000) -> tuple[Path, bytes]:
    rng = np.random.default_rng(0)
    rows = [f"{i * 0.5!r},{3 + rng.random()!r},{rng.standard_normal()!r},{i % 7}" for i in range(n)]
    raw = ("# exported\nTest Time (s),Voltage (V),Current (A),Cycle\n" + "\n".join(rows) + "\n").encode()
    return write(tmp_path, raw, "big.csv"), raw


def test_fast_path_equals_checked_path(tmp_path: Path) -> None:
    p, _ = _big(tmp_path)
    fast = find_table(p)
    slow = find_table(p, fast_rows=10**9)
    assert fast.fast and not slow.fast
    for n in fast.names:
        np.testing.assert_array_equal(fast.column(n), slow.column(n))
    np.testing.assert_array_equal(fast.line_numbers, slow.line_numbers)
    assert fast.line_numbers[0] == 3 and fast.nrows == 30_000


def test_fast_path_large_file_head_and_tail(tmp_path: Path) -> None:
    p, raw = _big(tmp_path, 120_000)  # larger than the head window: detection on head and tail only
    t = find_table(p)
    assert t.fast and t.nrows == 120_000 and t.line_numbers[-1] == 120_002
    ref = np.loadtxt(p, delimiter=",", skiprows=2)
    np.testing.assert_array_equal(t.column("Current (A)"), ref[:, 2])


@pytest.mark.parametrize("n", [30_000, 120_000])
@pytest.mark.parametrize("damage", ["cell", "short", "blank", "quote", "cr", "cut"])
def test_fast_path_falls_back_and_names_the_line(tmp_path: Path, n: int, damage: str) -> None:
    p, raw = _big(tmp_path, n)
    lines = raw.split(b"\n")
    k = n // 2 + 2  # a 0-based line index in the body
    if damage == "cell":
        lines[k] = lines[k].replace(b",", b",1.2.", 1)
    elif damage == "short":
        lines[k] = lines[k].rsplit(b",", 1)[0]
    elif damage == "blank":
        lines.insert(k, b"")
    elif damage == "quote":
        lines[k] = b'"' + lines[k].replace(b",", b'",', 1)
    elif damage == "cr":
        lines[k] = lines[k].replace(b",", b"\r,", 1)
    else:
        lines = lines[:-1]
        lines[-1] = lines[-1][:-4]
    p.write_bytes(b"\n".join(lines))
    if damage in ("blank", "quote"):
        t = find_table(p)  # fine for the checked path: same values as the clean file
        assert not t.fast and t.nrows == n
        return
    with pytest.raises(ReadError) as info:
        t = find_table(p)
        t.column(1)
        t.column(2)
    line = len(lines) if damage == "cut" else k + 1
    assert info.value.line == line, info.value


def test_fast_path_text_column(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{'CD'[i % 2]},{i * 0.1!r}" for i in range(5000))
    t = find_table(write(tmp_path, "t,State,V\n" + rows + "\n"))
    assert t.fast and t.text("State")[:3] == ["C", "D", "C"] and len(t.text("State")) == 5000


# ------------------------------------------------------------ bounded reads
def test_size_limit(tmp_path: Path) -> None:
    p = write(tmp_path, b"1,2\n" * 1000)
    with read_limit(100), pytest.raises(ReadError, match="4000 bytes, more than the 100-byte read limit"):
        read_bytes(p)
    T.set_max_read_bytes(10)
    try:
        with pytest.raises(ReadError, match="read limit"):
            TextFile.open(p)
    finally:
        T.set_max_read_bytes(None)
    assert len(read_bytes(p)) == 4000


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_refused_without_hanging(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    done: list[BaseException] = []

    def run() -> None:
        try:
            read_bytes(fifo)
        except ReadError as exc:
            done.append(exc)

    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(5)
    assert done and "FIFO" in str(done[0])


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
def test_device_refused_and_bounded_when_allowed() -> None:
    with pytest.raises(ReadError, match="character device"):
        read_bytes("/dev/zero")
    with pytest.raises(ReadError, match="more than the 1000-byte read limit"):
        read_bytes("/dev/zero", max_bytes=1000, allow_special=True)


# -------------------------------------------------------------- real files
def test_real_tab_file_with_empty_column(shared_data: Path) -> None:
    t = find_table(shared_file("xps", "FeO_analyzed_lineshapes_cols.txt"))
    assert t.header_line == 8 and t.nrows == 1121 and t.names[0] == "K.E." and t.names[9] == "B.E."
    assert t.kinds[t.names[8]] == "empty"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(t.optional()) == 16
