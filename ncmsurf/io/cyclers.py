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
from ncmsurf.io._table import TextFile, looks_binary, read_bytes, split_name_unit, table_at
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


def _arbin_names(line: str) -> list[str] | None:
    for delim in (",", "\t", ";"):
        toks = [t.strip().strip('"') for t in line.split(delim)]
        base = [_arbin_base(t) for t in toks]
        if all(r in base for r in _ARBIN_REQUIRED) and ("Data_Point" in base or "Cycle_Index" in base):
            return toks
    return None


def _sniff_arbin(path: Path, head: bytes) -> float:
    for ln in _head_lines(head, 5):
        if _arbin_names(ln) is not None:
            return 0.9
    return 0.0


def read_arbin_csv(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                   extra_columns: bool | Sequence[str] = True, **_: Any) -> CyclingData:
    """Read an Arbin CSV export (SQL export ``Test_Time(s)`` or MITS Pro ``Test Time (s)`` column names).

    Columns ``Test_Time(s)``, ``Current(A)``, ``Voltage(V)`` are required;
    ``Cycle_Index`` and ``Step_Index`` are kept as cycle and step, other
    numeric columns in ``columns`` (text columns such as ``Date_Time`` are
    listed in ``meta["text_columns"]``); the charge and discharge capacity
    columns are named as the instrument's counters.

    Large clean files take a multi-threaded pyarrow parse (block by block from
    16 MB, never held whole); any irregular file (a cut, short or long row, a
    non-number, a blank line, quotes, lone CR line ends) is read by the strict
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
        faster on large files), or the named header columns. Every row is
        read and checked either way.

    Raises
    ------
    ReadError
        Missing columns, a malformed or cut row, time going backwards.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise ReadError(p, None, f"cannot read the file: {exc}") from exc
    scan = _scan_arbin(p) if size >= _STREAM_BYTES else None
    raw = b""
    if scan is None:
        raw = read_bytes(p)
        scan = _scan_arbin_bytes(raw)
    head, header, first_row_text, last_row_text, nrows, quoted, lone_cr = scan
    if looks_binary(head):
        raise ReadError(p, None, "binary content where an Arbin CSV export was expected")
    names = _arbin_names(header)
    if names is None:
        raise ReadError(p, 1, f"not an Arbin CSV header (needs Test_Time, Current, Voltage): {header[:120]!r}")
    delim = next(d for d in (",", "\t", ";") if header.count(d) == len(names) - 1)
    if nrows == 0:
        raise ReadError(p, 1, "no data rows after the header")
    first_row = first_row_text.split(delim)
    last_fields = last_row_text.count(delim) + 1
    numeric_cols = []
    text_cols = []
    for j, n in enumerate(names):
        tok = first_row[j].strip().strip('"') if j < len(first_row) else ""
        try:
            float(tok)
            numeric_cols.append(n)
        except ValueError:
            text_cols.append(n)
    if last_fields < len(names) and not lone_cr:
        raise ReadError(p, nrows + 1, f"last row has {last_fields} of {len(names)} fields (file cut mid-row?)")
    core = {n for n in numeric_cols if _arbin_base(n) in _ARBIN_REQUIRED + ("Cycle_Index", "Step_Index")}
    if extra_columns is False:
        numeric_cols = [n for n in numeric_cols if n in core]
    elif extra_columns is not True:
        wanted = set(extra_columns)
        unknown = wanted - set(names)
        if unknown:
            raise ReadError(p, 1, f"extra_columns: {sorted(unknown)} not in the header {names}")
        numeric_cols = [n for n in numeric_cols if n in core or n in wanted]
    cols: dict[str, np.ndarray] | None = None
    dropped: dict[str, int] = {}
    if not quoted and not lone_cr:
        if not raw:
            # large clean file: parse it block by block into the final arrays (the file is never held whole)
            cols = _stream_arrow(p, delim, names, numeric_cols, nrows)
        else:
            cols = _parse_arrow(raw, delim, names, numeric_cols, nrows)
    if cols is None:
        if not raw:
            raw = read_bytes(p)
        cols, numeric_cols, text_cols, nrows, dropped = _parse_arbin_table(p, raw, delim, names, core,
                                                                           extra_columns)
    del raw
    lines = np.arange(2, nrows + 2, dtype=np.int64)
    for n in numeric_cols:
        fin = np.isfinite(cols[n])
        if not fin.all():
            r = int(np.flatnonzero(~fin)[0])
            raise ReadError(p, int(lines[r]), f"column {n!r}: missing or non-finite value "
                                              "(row cut short or blank line?)")
    base = {_arbin_base(n): n for n in numeric_cols}
    for req in _ARBIN_REQUIRED:
        if req not in base:
            raise ReadError(p, 2, f"column {req!r} is not numeric in the first row")
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
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for n in [c for c in numeric_cols if c in cols]:
        nm, unit = split_name_unit(n)
        key = re.sub(r"\W+", "_", nm).strip("_").lower()
        extra[key] = cols.pop(n)
        units[key] = unit or "1"
    meta = {"source_file": str(p), "format": "arbin-csv", "rows_read": int(nrows), "text_columns": text_cols,
            "instrument_columns": names}
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


#: Files at least this large are scanned and parsed block by block (never held whole in memory).
_STREAM_BYTES = 16 << 20
#: Block size of the scan and of pyarrow's streaming parse (larger blocks hold more memory, parse no faster).
_BLOCK = 1 << 20

#: (first bytes, header line, first data row, last data row, data rows, quoted data fields)
#: (first bytes, header line, first data row, last data row, data rows, quoted data fields, lone CR line ends)
_Scan = tuple[bytes, str, str, str, int, bool, bool]


def _content_end(buf: bytes) -> int:
    """Index just past the last byte that is not a blank or a line end (trailing blank lines are not rows)."""
    end = len(buf)
    while end > 0 and buf[end - 1] in b"\r\n \t":  # no rstrip: that would copy a large file's bytes
        end -= 1
    return end


def _scan_arbin_bytes(raw: bytes) -> _Scan:
    """Header, first and last data rows, row count and quoting of a file held in memory."""
    lone_cr = raw.count(b"\r") != raw.count(b"\r\n")
    if lone_cr:  # CR-only line ends somewhere: the strict table core splits such a file; count nothing here
        cut = min((k for k in (raw.find(b"\r"), raw.find(b"\n")) if k >= 0), default=len(raw))
        header = raw[:cut].decode("utf-8-sig", errors="replace")
        return raw[:4096], header, "", "", 1, False, True
    nl = raw.find(b"\n")
    header = raw[: nl if nl >= 0 else len(raw)].decode("utf-8-sig", errors="replace").rstrip("\r")
    end = _content_end(raw)
    if nl < 0 or end <= nl + 1:
        return raw[:4096], header, "", "", 0, False, False
    nrows = raw.count(b"\n", nl + 1, end) + 1
    first_end = raw.find(b"\n", nl + 1, end)
    first = raw[nl + 1: first_end if first_end >= 0 else end].decode("latin-1").rstrip("\r")
    last = raw[raw.rfind(b"\n", nl, end) + 1:end].decode("latin-1")
    return raw[:4096], header, first, last, nrows, raw.find(b'"', nl + 1, end) >= 0, False


def _scan_arbin(p: Path) -> _Scan | None:
    """The same as :func:`_scan_arbin_bytes`, reading the file in blocks; ``None`` if its shape is unusual."""
    try:
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
            nl = head.find(b"\n")
            first_end = head.find(b"\n", nl + 1) if nl >= 0 else -1
            if first_end < 0:
                return None  # a header or first row longer than 64 kB: let the in-memory path judge it
            header = head[:nl].decode("utf-8-sig", errors="replace").rstrip("\r")
            first = head[nl + 1:first_end].decode("latin-1").rstrip("\r")
            fh.seek(0)
            total = 0
            quoted = False
            cr = crlf = 0
            prev_cr = False
            offset = nl + 1  # quotes in the header do not count
            while chunk := fh.read(_BLOCK):
                total += chunk.count(b"\n")
                cr += chunk.count(b"\r")
                crlf += chunk.count(b"\r\n") + (1 if prev_cr and chunk[:1] == b"\n" else 0)
                prev_cr = chunk[-1:] == b"\r"
                quoted = quoted or chunk.find(b'"', max(offset, 0)) >= 0
                offset -= len(chunk)
            if cr != crlf:
                return None  # lone CR line ends: the in-memory path hands the file to the table core
            size = fh.tell()
            fh.seek(max(0, size - (1 << 16)))
            tail = fh.read()
    except OSError:
        return None
    end = _content_end(tail)
    last_nl = tail.rfind(b"\n", 0, end)
    if end == 0 or last_nl < 0 or size - len(tail) + last_nl < nl:
        return None  # trailing blanks or a last row longer than 64 kB, or a single data row
    trailing = tail.count(b"\n", end)
    return head[:4096], header, first, tail[last_nl + 1:end].decode("latin-1"), total - trailing, quoted, False


def _stream_arrow(p: Path, delim: str, names: list[str], numeric: list[str],
                  nrows: int) -> dict[str, np.ndarray] | None:
    """Parse ``numeric`` columns block by block with pyarrow straight into their final arrays.

    ``None`` (the checked in-memory path then runs and names the bad line) when pyarrow is
    missing or anything about the rows is wrong: a cut or extra row, a non-number, a blank line.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    out = {n: np.empty(nrows) for n in numeric}
    k = 0
    try:
        reader = pacsv.open_csv(
            str(p),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=_BLOCK),
            parse_options=pacsv.ParseOptions(delimiter=delim, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=numeric,
                                                 column_types=dict.fromkeys(numeric, pa.float64())),
        )
        for batch in reader:
            m = batch.num_rows
            if k + m > nrows:
                return None
            for n in numeric:
                col = batch.column(n)
                if col.null_count:
                    return None
                out[n][k:k + m] = col.to_numpy(zero_copy_only=False)
            k += m
    except (pa.ArrowException, ValueError, OSError):
        return None
    finally:
        pa.default_memory_pool().release_unused()  # hand the parse buffers back now, not at exit
    return out if k == nrows else None


def _parse_arbin_table(p: Path, raw: bytes, delim: str, names: list[str], core: set[str],
                       extra_columns: bool | Sequence[str]
                       ) -> tuple[dict[str, np.ndarray], list[str], list[str], int, dict[str, int]]:
    """The checked parse through the strict table core: every problem is reported with its line.

    Returns the numeric columns read, their names, the text columns, the row count and the
    optional columns dropped for a bad cell (name -> first bad line; the core warns about each).
    """
    table = table_at(TextFile(p, raw), header=0, start=1, delimiter=delim, blank="error")
    if table.nrows == 0:
        raise ReadError(p, 1, "no data rows after the header")
    numeric = [n for n in table.names if table.kinds[n] == "number"]
    text = [n for n in table.names if table.kinds[n] != "number"]
    need = [n for n in numeric if _arbin_base(n) in _ARBIN_REQUIRED + ("Cycle_Index", "Step_Index")]
    cols = {n: table.column(n) for n in need}
    if extra_columns is True:
        cols.update(table.optional(exclude=need))
    elif extra_columns is not False:
        for n in extra_columns:
            if n in numeric and n not in cols:
                cols[n] = table.column(n)
    order = [n for n in numeric if n in cols]
    return cols, order, text, table.nrows, dict(table.dropped)


def _parse_arrow(raw: bytes, delim: str, names: list[str], numeric: list[str],
                 nrows: int) -> dict[str, np.ndarray] | None:
    """Multi-threaded parse with pyarrow when it is installed and the file is clean.

    Returns ``None`` (so the checked pandas path runs and locates the problem with its line) when
    pyarrow is missing, the file has quoted fields, or anything about the rows looks wrong.
    """
    if nrows < 50_000 or raw.find(b'"') >= 0:
        return None
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delim, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=numeric,
                                                 column_types=dict.fromkeys(numeric, pa.float64())),
        )
    except (pa.ArrowException, ValueError):
        return None
    if table.num_rows != nrows or any(table.column(n).null_count for n in numeric):
        return None
    out = {n: table.column(n).to_numpy() for n in numeric}
    return {n: a if a.flags.writeable else a.copy() for n, a in out.items()}


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
