"""Cycler text readers on the strict table core: one-byte and one-cell changes of the shared real files.

Each fix of the silent changes the differential fuzz found (issue 13) has a regression here: an
incomplete optional column is dropped with a warning naming it and its first bad line (and in
``meta``), never renaming another column; line ends of any kind (CR, LF, CRLF, mixed) give the same
record; a cut is an error or a warning. The pyarrow fast path gives exactly the checked path's record
on every shared file it takes (text columns and clock times included).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io import _table
from ncmsurf.io._table import TableWarning


def _read(path: Path, fmt: str) -> tuple[ns.CyclingData, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (rec,) = ns.read(path, format=fmt)
    return rec, [str(w.message) for w in caught if issubclass(w.category, TableWarning)]


def _same(a: ns.CyclingData, b: ns.CyclingData) -> bool:
    """The same record, read from files at different paths."""
    arrays = all(np.array_equal(getattr(a, k), getattr(b, k)) for k in ("time", "voltage", "current")) and all(
        (getattr(a, k) is None) == (getattr(b, k) is None) and (getattr(a, k) is None or np.array_equal(
            getattr(a, k), getattr(b, k))) for k in ("cycle", "step"))
    cols = a.columns.keys() == b.columns.keys() and all(np.array_equal(v, b.columns[k]) for k, v in a.columns.items())
    meta = {k: v for k, v in a.meta.items() if k != "source_file"} == {
        k: v for k, v in b.meta.items() if k != "source_file"}
    return arrays and cols and meta


def _lines(raw: bytes) -> list[bytes]:
    return raw.split(b"\n")


def _set_cell(raw: bytes, line: int, field: int, value: bytes, delim: bytes) -> bytes:
    """``raw`` with field ``field`` (0-based) of file line ``line`` (1-based) replaced."""
    lines = _lines(raw)
    f = lines[line - 1].split(delim)
    f[field] = value
    lines[line - 1] = delim.join(f)
    return b"\n".join(lines)


# ------------------------------------------------------------------------- optional columns
def test_maccor_bad_optional_cell_drops_the_column_with_a_warning(tmp_path: Path) -> None:
    src = shared_file("cycling", "maccor_001.txt")
    ref, _ = _read(src, "maccor-text")
    assert ref.meta["rows_read"] == 6704
    raw = src.read_bytes()
    line = 5 + 3000  # a data row (the header is line 4)
    watt = _lines(raw)[3].split(b"\t").index(b"Watt-hr")
    p = tmp_path / "maccor_001.txt"
    p.write_bytes(_set_cell(raw, line, watt, b"0.0x012", b"\t"))
    got, msgs = _read(p, "maccor-text")
    assert any("'Watt-hr' dropped: line 3005" in m for m in msgs), msgs
    assert got.meta["dropped_columns"] == {"Watt-hr": 3005}
    assert set(got.columns) == set(ref.columns) - {"watt_hr"}  # no other column renamed
    for k, v in got.columns.items():
        np.testing.assert_array_equal(v, ref.columns[k])
    np.testing.assert_array_equal(got.current, ref.current)
    assert got.meta["rows_read"] == 6704


def test_mpt_bad_optional_cell_keeps_the_other_column_names(tmp_path: Path) -> None:
    src = shared_file("cycling", "gcpl.issue_149.mpt")
    ref, _ = _read(src, "biologic-mpt-cycling")
    assert ref.meta["rows_read"] == 132
    raw = src.read_bytes()
    header = _lines(raw)[80].rstrip(b"\r").split(b"\t")
    k = header.index(b"control/V/mA")  # "control": the later control/V and control/mA keys must not move up
    p = tmp_path / "gcpl.mpt"
    p.write_bytes(_set_cell(raw, 90, k, b"0,0x", b"\t"))
    got, msgs = _read(p, "biologic-mpt-cycling")
    assert any("'control/V/mA' dropped: line 90" in m for m in msgs), msgs
    assert got.meta["dropped_columns"] == {"control/V/mA": 90}
    dropped = set(ref.columns) - set(got.columns)
    assert len(dropped) == 1
    for key, v in got.columns.items():
        np.testing.assert_array_equal(v, ref.columns[key], err_msg=key)
    # the generic text reader of the same file: the same rule
    ref2, _ = _read(src, "cycling-text")
    got2, msgs2 = _read(p, "cycling-text")
    assert msgs2 and len(set(ref2.columns) - set(got2.columns)) == 1
    for key, v in got2.columns.items():
        np.testing.assert_array_equal(v, ref2.columns[key], err_msg=key)


# ---------------------------------------------------------------------------- Arbin line ends
def _arbin_from_rate_cc(tmp_path: Path) -> Path:
    """The shared rate_cc_raw.csv (Arbin data exported by cellpy) under Arbin's own column names."""
    raw = shared_file("cycling", "rate_cc_raw.csv").read_bytes()
    head, _, body = raw.partition(b"\n")
    names = (b"Data_Point,Test_Time(s),Step_Time(s),Cycle_Index,Step_Index,Current(A),Voltage(V),"
             b"Charge_Capacity(Ah),Discharge_Capacity(Ah)")
    assert len(head.split(b",")) == len(names.split(b","))
    p = tmp_path / "arbin.csv"
    p.write_bytes(names + b"\n" + body)
    return p


def test_arbin_line_ends_of_any_kind_give_the_same_record(tmp_path: Path) -> None:
    p = _arbin_from_rate_cc(tmp_path)
    ref, _ = _read(p, "arbin-csv")
    assert ref.meta["rows_read"] == 27450
    raw = p.read_bytes()
    lines = raw.split(b"\n")
    mixed = bytearray()
    for k, ln in enumerate(lines[:-1]):
        mixed += ln + (b"\n", b"\r\n", b"\r")[k % 3]
    variants = {"crlf": raw.replace(b"\n", b"\r\n"), "cr": raw.replace(b"\n", b"\r"), "mixed": bytes(mixed),
                "one cr": raw.replace(b"\n", b"\r", 61)}
    for name, data in variants.items():
        q = tmp_path / f"{name.replace(' ', '_')}.csv"
        q.write_bytes(data)
        got, msgs = _read(q, "arbin-csv")
        assert not msgs, name
        assert _same(got, ref), name
        assert got.meta["rows_read"] == 27450, name


def test_arbin_deleted_line_end_or_cut_is_an_error(tmp_path: Path) -> None:
    p = _arbin_from_rate_cc(tmp_path)
    raw = p.read_bytes()
    k = raw.index(b"\n", len(raw) // 2)
    joined = tmp_path / "joined.csv"
    joined.write_bytes(raw[:k] + raw[k + 1:])  # two rows run together
    with pytest.raises(ReadError) as err:
        ns.read(joined, format="arbin-csv")
    assert err.value.line == raw.count(b"\n", 0, k) + 1
    cut = tmp_path / "cut.csv"
    cut.write_bytes(raw[: raw.rindex(b",") + 3])  # inside the last row's last number
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            rec = ns.read(cut, format="arbin-csv")[0]
        except ReadError as exc:
            assert exc.line == 27451
        else:  # read: then it says the last row cannot be told whole
            assert any(issubclass(w.category, TableWarning) and "line 27451" in str(w.message) for w in caught)
            assert rec.meta["rows_read"] == 27450


# ------------------------------------------------------------------------------- BDF cut
def test_bdf_cut_inside_the_last_number_is_warned(tmp_path: Path) -> None:
    src = shared_file("cycling", "rate_cc_raw.csv")
    rec = ns.read(src, format="cycling-csv")[0]
    p = ns.cycling.to_bdf(rec, tmp_path / "cell.bdf.csv")
    raw = p.read_bytes()
    cut = tmp_path / "cut.bdf.csv"
    cut.write_bytes(raw[:-6])  # the last number loses digits and the line end
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = ns.read(cut, format="bdf-csv")[0]
        except ReadError:
            return
    assert any(issubclass(w.category, TableWarning) for w in caught), "a cut last row read without a word"
    assert len(got) == len(rec)


# ------------------------------------------------------------- fast path == checked path
@pytest.mark.parametrize(("name", "fmt", "rows"), [
    ("maccor_001.txt", "maccor-text", 6704),
    ("PreDiag_000412_00008Fshort.022", "maccor-text", 10344),
    ("xTESLADIAG_000019_CH70.070", "maccor-text", 11669),
    ("rate_cc_raw.csv", "cycling-csv", 27450),
])
def test_fast_path_equals_the_checked_path(name: str, fmt: str, rows: int, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_file("cycling", name)
    assert src.stat().st_size > _table.HEAD_CHARS  # large enough for the fast path
    real = _table._fast_parse_range
    took: list[bool] = []
    monkeypatch.setattr(_table, "_fast_parse_range", lambda *a, **k: took.append((r := real(*a, **k))[0] is not None)
                        or r)
    fast, _ = _read(src, fmt)
    assert took == [True]  # the fast path read it
    assert fast.meta["table"].get("rows") == rows == fast.meta["rows_read"]
    monkeypatch.setattr(_table, "_fast_parse_range", lambda *a, **k: (None, 0))
    checked, _ = _read(src, fmt)
    assert fast == checked  # values, dtypes, columns and metadata, exactly
    for k in ("time", "voltage", "current"):
        assert np.array_equal(getattr(fast, k), getattr(checked, k))


def test_fast_path_text_columns_and_clock_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = shared_file("cycling", "maccor_001.txt")
    p = tmp_path / "maccor.txt"
    body = src.read_bytes()
    p.write_bytes(body)
    tf = _table.TextFile.open(p)
    t = _table.table_at(tf, header=3, start=4, delimiter="\t")
    assert t.fast
    cells, codes = t.labels("State")
    slow = t.text("State")
    assert [cells[c] for c in codes] == slow
    assert t.text_array("TestTime") is not None
    from ncmsurf.io._cycler_text import clock_seconds, seconds

    np.testing.assert_array_equal(seconds(p, t, "TestTime"),
                                  clock_seconds(p, slow and t.text("TestTime"), "TestTime", t.line_numbers))


# ------------------------------------------------------------------- damaged labels, cut blocks
def test_mpt_damaged_cycle_number_label_is_an_error(tmp_path: Path) -> None:
    raw = shared_file("cycling", "gcpl.issue_149.mpt").read_bytes()
    assert raw.count(b"\tcycle number") == 1
    p = tmp_path / "gcpl.mpt"
    for label in (b"cyclcle number", b"cycle numble number", b"cycle numbe"):  # bytes duplicated or lost
        p.write_bytes(raw.replace(b"\tcycle number", b"\t" + label))
        with pytest.raises(ReadError, match="damaged 'cycle number'") as err:
            ns.read(p, format="biologic-mpt-cycling")
        assert err.value.line == 81


def test_neware_regular_cut_last_record_is_checked(tmp_path: Path) -> None:
    src = shared_file("cycling", "nw_regular_export_ife_example.csv")
    ref, _ = _read(src, "neware-regular")
    assert ref.meta["rows_read"] == 9295
    raw = src.read_bytes().rstrip(b"\r\n")
    p = tmp_path / "cut.csv"
    p.write_bytes(raw[:-1])  # the last record's last number loses a digit and the line end
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            got = ns.read(p, format="neware-regular")[0]
        except ReadError as exc:
            assert exc.line == raw.count(b"\n") + 1
            return
    assert any(issubclass(w.category, TableWarning) for w in caught), "a cut last row read without a word"
    assert got.meta["rows_read"] == 9295


@pytest.mark.parametrize(("name", "fmt"), [("PreDiag_000412_00008Fshort.022", "maccor-text"),
                                           ("maccor_001.txt", "maccor-text")])
def test_data_row_moved_above_the_header_is_an_error(name: str, fmt: str, tmp_path: Path) -> None:
    raw = shared_file("cycling", name).read_bytes()
    lines = raw.split(b"\n")
    k = next(i for i, ln in enumerate(lines) if ln.startswith(b"Rec#"))
    lines[k], lines[k + 1] = lines[k + 1], lines[k]  # the header and the first data row swapped
    p = tmp_path / name
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="above the column header") as err:
        ns.read(p, format=fmt)
    assert err.value.line == k + 1


def test_arbin_data_row_above_the_header_is_an_error(tmp_path: Path) -> None:
    p = _arbin_from_rate_cc(tmp_path)
    lines = p.read_bytes().split(b"\n")
    lines[0], lines[1] = lines[1], lines[0]
    p.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="above the column header") as err:
        ns.read(p, format="arbin-csv")
    assert err.value.line == 1
