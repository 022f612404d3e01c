"""Arbin CSV exports (and the cycler readers' former home: Maccor, Neware names are re-exported here).

Every reader returns one :class:`~ncmsurf.core.models.CyclingData` with the
current in A, positive on charge (Maccor's unsigned ``Amps`` get their sign
from the ``State`` column, Neware's from the step type when unsigned), the
instrument's cycle and step numbers kept, further numeric columns kept in
``columns``, and ``meta["rows_read"]`` equal to the number of data rows of
the file. Any malformed row (wrong field count, a non-number, a row cut
short, time going backwards) raises :class:`~ncmsurf.core.errors.ReadError`
with its line.

Maccor exports are read by :mod:`ncmsurf.io.maccor`, Neware CSV by
:mod:`ncmsurf.io.neware_csv` and Neware .nda/.ndax by :mod:`ncmsurf.io.neware`;
their names are re-exported here so existing imports keep working.

Examples
--------
>>> import tempfile, pathlib
>>> from ncmsurf.datasets.cycling import synthetic_record
>>> rec = synthetic_record(n_cycles=2, noise=0.0)
>>> with tempfile.TemporaryDirectory() as tmp:
...     p = write_arbin_csv(rec, pathlib.Path(tmp) / "cell.csv")
...     back = read_arbin_csv(p, mass=0.01)
>>> len(back) == len(rec), bool(abs(back.current - rec.current).max() < 1e-12)
(True, True)
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncmsurf.core._validate import adopt_arrays
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import check_above_header
from ncmsurf.io._table import (
    FAST_ROWS,
    TextFile,
    _decide_kinds,
    _unique,
    check_regular_file,
    looks_binary,
    split_fields,
    split_name_unit,
    table_at,
)
from ncmsurf.io.maccor import MACCOR_TEXT, read_maccor
from ncmsurf.io.neware import NEWARE_NDA, read_neware_nda
from ncmsurf.io.neware_csv import NEWARE_CSV, read_neware_csv
from ncmsurf.io.registry import SimpleReader

__all__ = [
    "ARBIN_CSV",
    "MACCOR_TEXT",
    "NEWARE_CSV",
    "NEWARE_NDA",
    "READERS",
    "read_arbin_csv",
    "read_maccor",
    "read_neware_csv",
    "read_neware_nda",
    "write_arbin_csv",
]


# ------------------------------------------------------------------ helpers
def _decode(path: Path, raw: bytes) -> str:
    if looks_binary(raw[:4096]):
        raise ReadError(path, None, "binary content where a text export was expected")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _head_lines(head: bytes, n: int = 40) -> list[str]:
    if looks_binary(head[:4096]):
        return []
    return head.decode("latin-1", errors="replace").splitlines()[:n]


_DHMS = re.compile(r"^\s*(?:(\d+)\s*d\s*)?(?:(\d+)-)?(\d+):(\d+):(\d+(?:[.,]\d*)?)\s*$")


def _to_seconds(path: Path, values: pd.Series, name: str, lines: np.ndarray) -> np.ndarray:
    """Seconds from numbers, "hh:mm:ss(.f)", "d-hh:mm:ss" or Maccor's "Nd hh:mm:ss"."""
    num = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    if np.all(np.isfinite(num)):
        return num
    s = values.astype(str)
    parts = s.str.extract(_DHMS)
    ok = parts[2].notna().to_numpy()
    good_num = np.isfinite(num)
    bad = ~(ok | good_num)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ReadError(path, int(lines[j]), f"column {name!r}: {s.iloc[j]!r} is not a time")
    days = pd.to_numeric(parts[0].fillna(parts[1]), errors="coerce").fillna(0).to_numpy(dtype=float)
    hms = (pd.to_numeric(parts[2], errors="coerce").to_numpy(dtype=float) * 3600
           + pd.to_numeric(parts[3], errors="coerce").to_numpy(dtype=float) * 60
           + pd.to_numeric(parts[4].str.replace(",", "."), errors="coerce").to_numpy(dtype=float))
    out = np.where(ok, days * 86400 + hms, num)
    return np.asarray(out, dtype=float)


def _numeric(path: Path, values: pd.Series, name: str, lines: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "fiu":
        arr = values.to_numpy(dtype=float)
    else:
        arr = pd.to_numeric(values.astype(str).str.strip().str.replace(",", ".", regex=False),
                            errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(arr)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        shown = values.iloc[j]
        what = "missing (row cut short?)" if pd.isna(shown) else f"{shown!r} is not a finite number"
        raise ReadError(path, int(lines[j]), f"column {name!r}: {what}")
    return arr


def _check_time(path: Path, t: np.ndarray, lines: np.ndarray) -> None:
    bad = np.flatnonzero(np.diff(t) < 0)
    if bad.size:
        j = int(bad[0]) + 1
        raise ReadError(path, int(lines[j]), f"time decreases ({t[j]} s after {t[j - 1]} s); "
                                             "records must be in time order")


def _integers(path: Path, arr: np.ndarray, name: str, lines: np.ndarray) -> np.ndarray:
    bad = arr != np.round(arr)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ReadError(path, int(lines[j]), f"column {name!r} holds a non-integer {arr[j]}")
    return arr.astype(np.int64)


def _split_body(path: Path, text: str, header_idx: int, delim: str) -> tuple[list[str], np.ndarray, int]:
    """Data lines after the header (trailing blank lines ignored), their 1-based numbers, field count."""
    lines = text.splitlines()
    header = lines[header_idx].rstrip(delim + " \r")
    nfields = header.count(delim) + 1
    body = lines[header_idx + 1:]
    while body and not body[-1].strip():
        body.pop()
    numbers = np.arange(header_idx + 2, header_idx + 2 + len(body), dtype=np.int64)
    if not body:
        raise ReadError(path, header_idx + 1, "no data rows after the column header")
    for k, ln in enumerate(body):
        if not ln.strip():
            raise ReadError(path, int(numbers[k]), "blank line inside the data block")
    counts = np.fromiter((ln.rstrip(delim + " \r").count(delim) + 1 for ln in body), dtype=np.int64,
                         count=len(body))
    # rows may carry trailing empty fields, never fewer fields than the columns they fill
    short = counts < nfields
    if short.any():
        # some exports leave trailing empty columns out on every row; only a row shorter than the others is cut
        ref = int(np.median(counts))
        bad = counts < ref
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            raise ReadError(path, int(numbers[j]),
                            f"row has {counts[j]} fields, the other rows {ref} (row cut short?)")
    if not text.endswith(("\n", "\r")) and counts[-1] > 1 and counts[-1] < max(int(np.median(counts)), 1):
        raise ReadError(path, int(numbers[-1]), "last row is cut short")
    return body, numbers, nfields


def _frame(path: Path, body: list[str], names: list[str], delim: str, numbers: np.ndarray) -> pd.DataFrame:
    ncol = len(names)
    try:
        df = pd.read_csv(io.StringIO("\n".join(body)), sep=delim, header=None, names=range(ncol), dtype=str,
                         engine="c", skip_blank_lines=False, keep_default_na=False, na_values=[""],
                         index_col=False)
    except pd.errors.ParserError as exc:
        m = re.search(r"line (\d+)", str(exc))
        line = int(numbers[int(m.group(1)) - 1]) if m and int(m.group(1)) - 1 < numbers.size else None
        raise ReadError(path, line, f"wrong number of fields: {exc}") from exc
    if len(df) != len(body):
        raise ReadError(path, None, f"parsed {len(df)} rows but the file holds {len(body)} data rows")
    df.columns = names
    return df


def _extra_columns(df: pd.DataFrame, used: set[str]) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for n in df.columns:
        if n in used or not str(n).strip():
            continue
        col = df[n]
        if col.dtype.kind in "fiu":
            arr = col.to_numpy(dtype=float)
        else:
            arr = pd.to_numeric(col.astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
        if arr.size == 0 or not np.all(np.isfinite(arr)):
            continue
        nm, unit = split_name_unit(str(n))
        key = re.sub(r"\W+", "_", nm).strip("_").lower() or "col"
        while key in extra or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        extra[key] = arr
        units[key] = unit or "1"
    return extra, units


def _unit_factor(path: Path, unit: str | None, target: str, name: str) -> float:
    if unit is None:
        return 1.0
    table = {("A", "A"): 1.0, ("mA", "A"): 1e-3, ("uA", "A"): 1e-6, ("µA", "A"): 1e-6, ("V", "V"): 1.0,
             ("mV", "V"): 1e-3, ("s", "s"): 1.0, ("min", "s"): 60.0, ("h", "s"): 3600.0, ("ms", "s"): 1e-3}
    f = table.get((unit.strip(), target))
    if f is None:
        raise ReadError(path, None, f"column {name!r}: unit {unit!r} cannot be converted to {target}")
    return f



# -------------------------------------------------------------------- Arbin
_ARBIN_REQUIRED = ("Test_Time", "Current", "Voltage")


def _arbin_base(name: str) -> str:
    """Arbin column name without its unit, spaces as underscores ("Test Time (s)" -> "Test_Time")."""
    return "_".join(split_name_unit(name)[0].split())


def _arbin_header(line: str) -> tuple[list[str], str] | None:
    """The column names of an Arbin header line and its delimiter, or None."""
    for delim in (",", "\t", ";"):
        toks = [t.strip().strip('"') for t in line.split(delim)]
        base = [_arbin_base(t) for t in toks]
        if all(r in base for r in _ARBIN_REQUIRED) and ("Data_Point" in base or "Cycle_Index" in base):
            return toks, delim
    return None


def _arbin_names(line: str) -> list[str] | None:
    got = _arbin_header(line)
    return None if got is None else got[0]


def _sniff_arbin(path: Path, head: bytes) -> float:
    for ln in _head_lines(head, 5):
        if _arbin_names(ln) is not None:
            return 0.9
    return 0.0


#: Data rows from which the table core's pyarrow fast path is tried (tests set it out of reach).
_FAST_ROWS = FAST_ROWS

#: (names, delimiter, numeric columns read, numeric column names in order, text columns, rows, dropped, header)
_Parsed = tuple[list[str], str, dict[str, np.ndarray], list[str], list[str], int, dict[str, int], list[str]]


def read_arbin_csv(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                   extra_columns: bool | Sequence[str] = True, **_: Any) -> CyclingData:
    """Read an Arbin CSV export (SQL export ``Test_Time(s)`` or MITS Pro ``Test Time (s)`` column names).

    Columns ``Test_Time(s)``, ``Current(A)``, ``Voltage(V)`` are required;
    ``Cycle_Index`` and ``Step_Index`` are kept as cycle and step, other
    numeric columns in ``columns`` (text columns such as ``Date_Time`` are
    listed in ``meta["text_columns"]``); the charge and discharge capacity
    columns are named as the instrument's counters. The header is one of the
    first five lines (lines above it are kept in ``meta["header"]``).

    Read through the strict table core: every row's field count checked,
    line ends normalised (CR, LF, CRLF, mixed), a last row without a line end
    checked for a cut, optional columns read completely or dropped with a
    warning naming the column and its first bad line (``meta["dropped_columns"]``).
    Large files take the core's multi-threaded pyarrow parse. Files of 16 MB and
    more that are clean (comma-delimited, header on line 1, every line ended,
    pyarrow parses every cell) are parsed block by block straight into the
    final arrays, with the core's rules for the column kinds and numbers, so
    that they are never held whole in memory; anything irregular goes to the
    table core, which names the bad line. Both give the same record.

    Parameters
    ----------
    path : path-like
    mass : float or pint.Quantity, optional
        Active mass, g.
    sample : Sample or str, optional
    extra_columns : bool or sequence of str
        Keep every further numeric column (default), none (``False``: only
        time, current, voltage, cycle and step are converted, about a third
        faster on large files), or the named header columns (each required
        complete). Every row is read and checked either way.

    Raises
    ------
    ReadError
        Missing columns, a malformed or cut row, a bad cell in a required
        column, time going backwards (each with its line).
    """
    p = Path(path)
    size = check_regular_file(p).st_size
    got = _read_streamed(p, extra_columns) if size >= _STREAM_BYTES else None
    if got is None:
        got = _read_checked(p, extra_columns)
    names, _delim, cols, numeric_cols, text_cols, nrows, dropped, header = got
    first = len(header) + 2  # 1-based line of the first data row
    lines = np.arange(first, first + nrows, dtype=np.int64)
    base = {_arbin_base(n): n for n in numeric_cols}
    for req in _ARBIN_REQUIRED:
        if req not in base:
            raise ReadError(p, first, f"column {req!r} is missing or not numeric")
    tn, i_n, vn = base["Test_Time"], base["Current"], base["Voltage"]

    def scaled(name: str, unit: str) -> np.ndarray:
        f = _unit_factor(p, split_name_unit(name)[1], unit, name)
        arr = cols.pop(name)
        return arr if f == 1.0 else arr * f

    t = scaled(tn, "s")
    _check_time(p, t, lines)
    cur = scaled(i_n, "A")
    volt = scaled(vn, "V")
    cyc = stp = None
    if "Cycle_Index" in base:
        cyc = _integers(p, cols.pop(base["Cycle_Index"]), "Cycle_Index", lines)
    if "Step_Index" in base:
        stp = _integers(p, cols.pop(base["Step_Index"]), "Step_Index", lines)
    # keys from every numeric column (kept or dropped), so that a dropped column never renames another
    keys: dict[str, str] = {}
    for n in names:
        if n in (tn, i_n, vn, base.get("Cycle_Index"), base.get("Step_Index")) or n in text_cols:
            continue
        key = re.sub(r"\W+", "_", split_name_unit(n)[0]).strip("_").lower() or "col"
        while key in keys.values() or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        keys[n] = key
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for n in [c for c in numeric_cols if c in cols]:
        key = keys[n]
        extra[key] = cols.pop(n)
        units[key] = split_name_unit(n)[1] or "1"
    meta: dict[str, Any] = {"source_file": str(p), "format": "arbin-csv", "rows_read": int(nrows),
                            "text_columns": text_cols, "instrument_columns": names}
    if header:
        meta["header"] = header
    if dropped:
        meta["dropped_columns"] = dropped
    if units.get("charge_capacity") in ("Ah", "mAh") and units.get("discharge_capacity") in ("Ah", "mAh"):
        meta["instrument_capacity"] = {"counters": [
            {"column": "charge_capacity", "units": units["charge_capacity"], "kind": "resetting",
             "direction": "charge"},
            {"column": "discharge_capacity", "units": units["discharge_capacity"], "kind": "resetting",
             "direction": "discharge"}], "source": "Arbin Charge_Capacity / Discharge_Capacity"}
    try:
        with adopt_arrays():  # the arrays were made here and are dropped: the record holds them once
            return CyclingData(t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta,
                               columns=extra, column_units=units)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc


def _wanted(p: Path, names: Sequence[str], numeric: list[str], extra_columns: bool | Sequence[str]
            ) -> tuple[list[str], list[str] | None]:
    """(the required numeric columns, the optional ones asked for by name or None for all/none)."""
    need = [n for n in numeric if _arbin_base(n) in _ARBIN_REQUIRED + ("Cycle_Index", "Step_Index")]
    if extra_columns is True or extra_columns is False:
        return need, None
    wanted = list(extra_columns)
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        raise ReadError(p, 1, f"extra_columns: {unknown} not in the header {list(names)}")
    return need, [n for n in numeric if n in wanted and n not in need]


def _read_checked(p: Path, extra_columns: bool | Sequence[str]) -> _Parsed:
    """The strict table core (its own fast path for large clean files); every problem names its line."""
    tf = TextFile.open(p)
    head = tf.first_lines(7)
    k = next((i for i, ln in enumerate(head[:5]) if _arbin_header(ln) is not None), None)
    if k is None:
        shown = head[0][:120] if head else ""
        raise ReadError(p, 1, f"not an Arbin CSV header (needs Test_Time, Current, Voltage): {shown!r}")
    got = _arbin_header(head[k])
    assert got is not None
    delim = got[1]
    check_above_header(p, head, k, delim, len(got[0]))
    table = table_at(tf, header=k, start=k + 1, delimiter=delim, blank="error", fast_rows=_FAST_ROWS)
    if table.nrows == 0:
        raise ReadError(p, k + 1, "no data rows after the header")
    if int(table.line_numbers[0]) != k + 2 or int(table.line_numbers[-1]) != k + 1 + table.nrows:
        raise ReadError(p, k + 2, "blank line inside the data block")  # pragma: no cover - blank="error"
    names = list(table.names)
    numeric = [n for n in names if table.kinds[n] == "number"]
    text = [n for n in names if table.kinds[n] != "number"]
    need, asked = _wanted(p, names, numeric, extra_columns)
    cols = {n: table.column(n) for n in need}
    if extra_columns is True:
        cols.update(table.optional(exclude=need))
    elif asked is not None:
        for n in asked:
            cols[n] = table.column(n)
    order = [n for n in numeric if n in cols]
    return names, delim, cols, order, text, table.nrows, dict(table.dropped), [ln.rstrip() for ln in head[:k]]


#: Files at least this large are scanned and parsed block by block (never held whole in memory).
_STREAM_BYTES = 16 << 20
#: Block size of the scan and of pyarrow's streaming parse (larger blocks hold more memory, parse no faster).
_BLOCK = 1 << 20


def _read_streamed(p: Path, extra_columns: bool | Sequence[str]) -> _Parsed | None:
    """A large clean file parsed block by block; ``None`` (the table core then reads it) when anything is unusual.

    The column kinds and the numbers follow the table core's rules exactly: kinds from the first and
    last 50 rows (:func:`~ncmsurf.io._table` ``_decide_kinds``), numbers by pyarrow with quoting and
    null values off, every value finite. A file that does not end with a line end, holds a lone CR,
    a blank line, a short or long row or a cell pyarrow does not parse is left to the core.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
            total = cr = crlf = 0
            prev_cr = False
            fh.seek(0)
            while chunk := fh.read(_BLOCK):
                total += chunk.count(b"\n")
                cr += chunk.count(b"\r")
                crlf += chunk.count(b"\r\n") + (1 if prev_cr and chunk[:1] == b"\n" else 0)
                prev_cr = chunk[-1:] == b"\r"
            size = fh.tell()
            fh.seek(max(0, size - (1 << 16)))
            tail = fh.read()
    except OSError:
        return None
    if cr != crlf or not tail.endswith(b"\n") or tail.endswith((b"\n\n", b"\r\n\r\n")) or b"\x00" in head:
        return None
    if not head.isascii() and not head.startswith(b"\xef\xbb\xbf"):
        return None  # another encoding: the core decodes it
    hl = head.split(b"\n")
    if len(hl) < 53 or tail.count(b"\n") < 52:
        return None
    header_line = hl[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    got = _arbin_header(header_line)
    if got is None or got[1] != ",":
        return None
    names = _unique(split_fields(header_line, ","))
    width = len(names)
    first_rows = [ln.decode("latin-1").rstrip("\r") for ln in hl[1:51]]
    last_rows = [ln.decode("latin-1").rstrip("\r") for ln in tail.split(b"\n")[-51:-1]]
    sample = [split_fields(ln, ",") for ln in first_rows + last_rows]
    if any(len(r) != width for r in sample) or any(not ln.strip(" \t") for ln in first_rows + last_rows):
        return None
    kinds = dict(zip(names, _decide_kinds(sample, width), strict=True))
    if any(k == "empty" for k in kinds.values()):
        return None  # the core decides what an empty column is
    numeric_all = [n for n in names if kinds[n] == "number"]
    text = [n for n in names if kinds[n] != "number"]
    need, asked = _wanted(p, names, numeric_all, extra_columns)
    numeric = numeric_all if extra_columns is True else need + (asked or [])
    nrows = total - 1
    out = {n: np.empty(nrows) for n in numeric}
    k = 0
    cols = [f"c{j}" for j in range(width)]
    by_col = {cols[names.index(n)]: n for n in numeric}
    try:
        reader = pacsv.open_csv(
            str(p),
            read_options=pacsv.ReadOptions(column_names=cols, skip_rows=1, block_size=_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=",", quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=list(by_col),
                                                 column_types=dict.fromkeys(by_col, pa.float64()),
                                                 null_values=[], strings_can_be_null=False),
        )
        for batch in reader:
            m = batch.num_rows
            if k + m > nrows:
                return None
            for c, n in by_col.items():
                col = batch.column(c)
                if col.null_count:
                    return None
                out[n][k:k + m] = col.to_numpy(zero_copy_only=False)
            k += m
    except (pa.ArrowException, ValueError, OSError):
        return None
    finally:
        pa.default_memory_pool().release_unused()  # hand the parse buffers back now, not at exit
    if k != nrows or nrows == 0 or not all(np.isfinite(a).all() for a in out.values()):
        return None
    order = [n for n in numeric_all if n in out]
    return names, ",", out, order, text, nrows, {}, []


ARBIN_CSV = SimpleReader("arbin-csv", "cycling", (".csv", ".txt"), _sniff_arbin,
                         lambda path, **kw: [read_arbin_csv(path, **kw)],
                         "Arbin CSV export (Data_Point, Test_Time(s), Cycle_Index, Step_Index, Current(A), Voltage(V))")


def write_arbin_csv(data: CyclingData, path: str | os.PathLike[str], *, convention: str | int = "cathode",
                    start: str = "2024-01-01 00:00:00", digits: int = 17) -> Path:
    """Write a record as an Arbin-style CSV export that :func:`read_arbin_csv` reads back exactly.

    Cycle and step numbers are the record's own when present, else those
    found by :func:`ncmsurf.cycling.segment`. Charge/discharge capacity and
    energy columns restart at each cycle, as Arbin writes them. Values are
    written with ``digits`` significant digits (17, the default, makes the
    round trip exact; instruments typically write 7-10).

    Parameters
    ----------
    data : CyclingData
    path : path-like
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
        Used only when cycle numbers have to be derived.
    start : str
        Start date-time written in the ``Date_Time`` column.
    digits : int
        Significant digits of the numbers.

    Returns
    -------
    pathlib.Path
    """
    from ncmsurf.cycling._segment import segment  # local: io must not need the backend at import

    p = Path(path)
    t = data.time
    cur = data.current
    v = data.voltage
    if data.cycle is not None and data.step is not None:
        cyc, stp = data.cycle, data.step
    else:
        seg = segment(data, convention=convention)
        cyc = data.cycle if data.cycle is not None else np.maximum(seg.cycle, 1)
        stp = data.step if data.step is not None else seg.step
    dt = np.diff(t, prepend=t[0])
    dq = np.concatenate(([0.0], 0.5 * (cur[1:] + cur[:-1]) * np.diff(t))) / 3600.0
    de = np.concatenate(([0.0], 0.5 * (cur[1:] * v[1:] + cur[:-1] * v[:-1]) * np.diff(t))) / 3600.0
    newc = np.concatenate(([True], cyc[1:] != cyc[:-1]))
    grp = np.cumsum(newc) - 1

    def per_cycle_cumsum(x: np.ndarray) -> np.ndarray:
        cs = np.cumsum(x)
        starts = np.flatnonzero(newc)
        offset = (cs[starts] - x[starts])[grp]
        return cs - offset  # type: ignore[no-any-return]

    chg = per_cycle_cumsum(np.where(dq > 0, dq, 0.0))
    dis = per_cycle_cumsum(np.where(dq < 0, -dq, 0.0))
    echg = per_cycle_cumsum(np.where(de > 0, de, 0.0))
    edis = per_cycle_cumsum(np.where(de < 0, -de, 0.0))
    news = np.concatenate(([True], stp[1:] != stp[:-1]))
    sstart = np.maximum.accumulate(np.where(news, np.arange(t.size), 0))
    step_time = t - t[sstart]
    del dt
    stamps = (pd.Timestamp(start) + pd.to_timedelta(t, unit="s")).strftime("%m/%d/%Y %H:%M:%S.%f")
    df = pd.DataFrame({
        "Data_Point": np.arange(1, t.size + 1), "Date_Time": stamps, "Test_Time(s)": t,
        "Step_Time(s)": step_time, "Cycle_Index": cyc, "Step_Index": stp, "Current(A)": cur, "Voltage(V)": v,
        "Charge_Capacity(Ah)": chg, "Discharge_Capacity(Ah)": dis, "Charge_Energy(Wh)": echg,
        "Discharge_Energy(Wh)": edis,
    })
    df.to_csv(p, index=False, float_format=f"%.{int(digits)}g", lineterminator="\n")
    return p


READERS = [ARBIN_CSV]
"""Readers registered under the ``cyclers`` entry point."""
