"""Arbin result files: .res (a Microsoft Access database).

Why access-parser
-----------------
An Arbin .res is a Jet 4 / ACE database whose ``Channel_Normal_Table`` holds
the records. Two maintained readers exist: the mdbtools command-line tools
(C, fast) and the pure-Python ``access-parser`` package (Apache-2.0, optional
extra ``io``). mdbtools' ``mdb-export`` prints doubles with 16 and singles with
7 significant digits, so its values are not the file's (on
``20160805_test001_45_cc_01.res`` 2,521 of 10,261 test times and 155 voltages
differ in their last bits); access-parser decodes the stored binary values
exactly, so it is used. Its cost, about 6,000 records per second, is the price
of exact values; the reader says so in its docstring rather than round numbers.

Tables used: ``Channel_Normal_Table`` (records), ``Global_Table`` (test name,
start, schedule, mass), ``Channel_Statistic_Table`` (kept in ``meta``).
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core._validate import adopt_arrays
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import check_time, key_of, make_record, scaled
from ncmsurf.io._table import split_name_unit
from ncmsurf.io.registry import SimpleReader

__all__ = ["ARBIN_RES", "ARBIN_XLSX", "READERS", "read_arbin_res", "read_arbin_xlsx"]

_JET = (b"Standard Jet DB", b"Standard ACE DB")


def _sniff_res(path: Path, head: bytes) -> float:
    if head[4:19] not in _JET:
        return 0.0
    return 0.95 if path.suffix.lower() == ".res" else 0.6


def _ole(days: float) -> str:
    if not np.isfinite(days) or not 1.0 < days < 100_000.0:
        return ""
    return (_dt.datetime(1899, 12, 30) + _dt.timedelta(days=float(days))).isoformat()


def read_arbin_res(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, test_id: int | None = None,
                   **_: Any) -> CyclingData:
    """Read an Arbin .res result file (records of ``Channel_Normal_Table``).

    Time ``Test_Time`` (s), ``Current`` (A, > 0 on charge), ``Voltage`` (V),
    ``Cycle_Index`` and ``Step_Index`` are read exactly as stored; ``Step_Time``,
    ``Charge_Capacity``/``Discharge_Capacity`` (Ah, restarting at each cycle, named
    as the instrument's counters in ``meta["instrument_capacity"]``), energies (Wh),
    ``dV/dt``, ``Internal_Resistance`` and the rest are kept in ``columns``.
    ``Global_Table`` fields (test name, start, schedule, Arbin's mass field) go
    to ``meta``; the mass is not applied unless given.

    Parameters
    ----------
    path : path-like
    mass : float or pint.Quantity, optional
        Active mass, g.
    sample : Sample or str, optional
    test_id : int, optional
        Which test to read when the file holds several.

    Raises
    ------
    ReadError
        Not an Access database, no ``Channel_Normal_Table``, several tests and no
        ``test_id``, missing or non-finite values, records out of order
        (records are numbered from 1 in place of lines).
    """
    p = Path(path)
    try:
        from access_parser import AccessParser
    except ImportError as exc:
        raise ReadError(p, None, "reading Arbin .res needs the optional 'access-parser' package "
                                 "(pip install 'ncmsurf[io]')") from exc
    try:
        head = p.read_bytes()[:32]
    except OSError as exc:
        raise ReadError(p, None, f"cannot read the file: {exc}") from exc
    if head[4:19] not in _JET:
        raise ReadError(p, None, "not a Microsoft Access database (no 'Standard Jet DB' / 'Standard ACE DB' magic)")
    try:
        db = AccessParser(str(p))
        if "Channel_Normal_Table" not in db.catalog:
            raise ReadError(p, None, f"no Channel_Normal_Table (tables: {sorted(db.catalog)[:12]})")
        tab = db.parse_table("Channel_Normal_Table")
        glob = db.parse_table("Global_Table") if "Global_Table" in db.catalog else {}
        stat = db.parse_table("Channel_Statistic_Table") if "Channel_Statistic_Table" in db.catalog else {}
    except ReadError:
        raise
    except Exception as exc:  # access-parser raises construct/struct/index errors on damaged pages
        raise ReadError(p, None, f"the Access database cannot be parsed: {type(exc).__name__}: {exc}") from exc
    need = ("Test_ID", "Data_Point", "Test_Time", "Current", "Voltage")
    missing = [c for c in need if c not in tab]
    if missing:
        raise ReadError(p, None, f"Channel_Normal_Table lacks {missing}")
    n = len(tab["Data_Point"])
    if n == 0:
        raise ReadError(p, None, "Channel_Normal_Table holds no records")
    lengths = {k: len(v) for k, v in tab.items()}
    if len(set(lengths.values())) != 1:
        raise ReadError(p, None, f"Channel_Normal_Table columns have different lengths: {lengths}")

    def num(name: str, dtype: Any = float) -> np.ndarray:
        vals = tab[name]
        if any(v is None or isinstance(v, (str, bytes)) for v in vals):
            j = next(i for i, v in enumerate(vals) if v is None or isinstance(v, (str, bytes)))
            raise ReadError(p, None, f"record {j + 1}: {name} is missing or not a number ({vals[j]!r})")
        return np.asarray(vals, dtype=dtype)

    tests = num("Test_ID", np.int64)
    ids = np.unique(tests)
    if test_id is None and ids.size > 1:
        raise ReadError(p, None, f"the file holds tests {ids.tolist()}; choose one with test_id=")
    chosen = int(ids[0]) if test_id is None else int(test_id)
    keep = tests == chosen
    if not keep.any():
        raise ReadError(p, None, f"test_id {test_id} not in the file (tests {ids.tolist()})")
    dp = num("Data_Point", np.int64)[keep]
    order_note = "as stored"
    if np.any(np.diff(dp) <= 0):
        if np.unique(dp).size != dp.size:
            j = int(np.flatnonzero(np.diff(np.sort(dp)) == 0)[0])
            raise ReadError(p, None, f"Data_Point {np.sort(dp)[j]} appears twice")
        order_note = "sorted by Data_Point (stored out of order)"
    order = np.argsort(dp, kind="stable")
    # Arbin numbers every record of a test 1, 2, 3, ...: a gap is a record a damaged page lost
    gaps = np.flatnonzero(np.diff(dp[order]) != 1)
    if gaps.size:
        j = int(gaps[0])
        a, b = int(dp[order][j]), int(dp[order][j + 1])
        raise ReadError(p, None, f"Data_Point jumps from {a} to {b} in test {chosen}: {b - a - 1} record(s) are "
                                 "missing (a damaged database page?)")
    cols: dict[str, np.ndarray] = {}
    for name in tab:
        if name in ("Test_ID",):
            continue
        vals = tab[name]
        if vals and all(isinstance(v, bool) or isinstance(v, (int, float, np.number)) for v in vals[:1000]):
            cols[name] = num(name)[keep][order]
    for name in ("Test_Time", "Current", "Voltage"):
        fin = np.isfinite(cols[name])
        if not fin.all():
            j = int(np.flatnonzero(~fin)[0])
            raise ReadError(p, None, f"record {j + 1}: {name} is not finite ({cols[name][j]})")
    t = cols.pop("Test_Time")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        j = int(back[0]) + 1
        raise ReadError(p, None, f"record {j + 1}: Test_Time decreases ({t[j]} s after {t[j - 1]} s)")
    cur = cols.pop("Current")
    volt = cols.pop("Voltage")
    cyc = cols.pop("Cycle_Index").astype(np.int64) if "Cycle_Index" in cols else None
    stp = cols.pop("Step_Index").astype(np.int64) if "Step_Index" in cols else None
    units_of = {"Step_Time": "s", "DateTime": "d", "Charge_Capacity": "Ah", "Discharge_Capacity": "Ah",
                "Charge_Energy": "Wh", "Discharge_Energy": "Wh", "dV/dt": "V/s", "Internal_Resistance": "ohm",
                "AC_Impedance": "ohm", "ACI_Phase_Angle": "deg"}
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, arr in cols.items():
        key = name.lower().replace("/", "_")
        extra[key] = arr.astype(np.int64) if name in ("Data_Point", "Is_FC_Data") else arr
        units[key] = units_of.get(name, "1")
    g = {k: (v[0] if len(v) else None) for k, v in glob.items()} if glob else {}
    meta: dict[str, Any] = {
        "source_file": str(p), "format": "arbin-res", "rows_read": int(t.size), "test_id": chosen,
        "record_order": order_note, "line_numbers_are": "record indices",
        "instrument_columns": list(tab), "reader": "access-parser",
        "start_time": _ole(float(start)) if isinstance((start := g.get("Start_DateTime")), float) else "",
    }
    for key in ("Test_Name", "Schedule_File_Name", "Creator", "Comments", "Software_Version", "Serial_Number",
                "Channel_Index", "MASS", "Specific_Capacity", "Capacity"):
        if key in g and g[key] not in (None, ""):
            meta[f"arbin_{key.lower()}"] = g[key] if isinstance(g[key], (str, int, float)) else str(g[key])
    if stat:
        meta["channel_statistics"] = {k: list(v) for k, v in stat.items() if k != "Test_ID"}
    if "charge_capacity" in extra and "discharge_capacity" in extra:
        meta["instrument_capacity"] = {"counters": [
            {"column": "charge_capacity", "units": "Ah", "kind": "resetting", "direction": "charge"},
            {"column": "discharge_capacity", "units": "Ah", "kind": "resetting", "direction": "discharge"}],
            "source": "Arbin Charge_Capacity / Discharge_Capacity (restarting at each cycle)"}
    try:
        with adopt_arrays():
            return CyclingData(t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta,
                               columns=extra, column_units=units)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc


ARBIN_RES = SimpleReader("arbin-res", "cycling", (".res",), _sniff_res,
                         lambda path, **kw: [read_arbin_res(path, **kw)],
                         "Arbin .res result file (Microsoft Access database; optional access-parser package)")

def _sniff_xlsx(path: Path, head: bytes) -> float:
    if not head.startswith(b"PK\x03\x04") or b"xl/" not in head[:4096]:
        return 0.0
    return 0.8 if path.suffix.lower() in (".xlsx", ".xlsm") else 0.4


def _listed_sheets(p: Path) -> int:
    """How many sheets ``xl/workbook.xml`` lists (openpyxl leaves out, without a word, one whose part is gone)."""
    import re
    import zipfile

    try:
        with zipfile.ZipFile(p) as z:
            book = z.read("xl/workbook.xml").decode("utf-8", "replace")
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ReadError(p, None, f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from exc
    return len(re.findall(r"<(?:\w+:)?sheet\b", book))


def read_arbin_xlsx(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                    **_: Any) -> CyclingData:
    """Read an Arbin MITS Pro Excel export (``.xlsx``): the channel sheets, in order.

    The data sheets are those whose first row names ``Test Time (s)``/``Test_Time(s)``,
    ``Current (A)``/``Current(A)`` and ``Voltage (V)``/``Voltage(V)`` (MITS Pro splits a
    long record over several such sheets, which are joined; every sheet must have the
    same header). Cells are read as stored (numbers stay numbers); ``Cycle Index`` and
    ``Step Index`` become cycle and step; the capacity columns are named as the
    instrument's counters. Read with the optional ``openpyxl`` package.

    Raises
    ------
    ReadError
        No data sheet, sheets with different headers, an empty or non-numeric cell in a
        numeric column (naming the sheet and its row), time going backwards.
    """
    p = Path(path)
    try:
        import openpyxl
    except ImportError as exc:
        raise ReadError(p, None, "reading .xlsx needs the optional 'openpyxl' package (pip install 'ncmsurf[io]')") \
            from exc
    from ncmsurf.io.cyclers import _ARBIN_REQUIRED, _arbin_base, _arbin_names

    try:
        wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors on damaged workbooks
        raise ReadError(p, None, f"not a readable .xlsx workbook: {type(exc).__name__}: {exc}") from exc
    listed = _listed_sheets(p)
    if listed != len(wb.sheetnames):
        raise ReadError(p, None, f"the workbook lists {listed} sheets but {len(wb.sheetnames)} can be opened "
                                 f"({wb.sheetnames}): a sheet's part is missing or damaged")
    header: list[str] | None = None
    columns: list[list[Any]] = []
    where: list[tuple[str, int]] = []
    sheets: list[str] = []
    skipped: list[str] = []
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            first = next(rows, None)
            if first is None:
                continue
            names = [str(c).strip() if c is not None else "" for c in first]
            while names and not names[-1]:
                names.pop()
            if _arbin_names("\t".join(names)) is None:
                # a channel sheet whose header is not recognised is damage, never a sheet to leave out
                known = set(header or ())
                if ws.title.lower().startswith("channel") or (known and len(known & set(names)) * 2 >= len(known)):
                    raise ReadError(p, 1, f"sheet {ws.title!r} looks like a data sheet but its first row does not "
                                          "name Test Time, Current and Voltage (a damaged header?)")
                skipped.append(ws.title)
                continue
            if header is None:
                header = names
                columns = [[] for _ in names]
            elif names != header:
                raise ReadError(p, 1, f"sheet {ws.title!r} has a different header from the first data sheet")
            sheets.append(ws.title)
            for r, row in enumerate(rows, start=2):
                vals = list(row[:len(header)]) + [None] * max(0, len(header) - len(row))
                if all(v is None for v in vals):
                    continue
                for j, v in enumerate(vals):
                    columns[j].append(v)
                where.append((ws.title, r))
    except ReadError:
        raise
    except Exception as exc:  # read-only workbooks parse their XML lazily: damage shows up while iterating
        raise ReadError(p, None, f"the workbook cannot be read: {type(exc).__name__}: {exc}") from exc
    finally:
        wb.close()
    if header is None:
        raise ReadError(p, None, "no sheet whose first row names Test Time, Current and Voltage")
    if not where:
        raise ReadError(p, 2, f"no data rows in the data sheet(s) {sheets}")
    n = len(where)
    numeric: dict[str, np.ndarray] = {}
    text_cols: list[str] = []
    for name, vals in zip(header, columns):
        kinds = {type(v) for v in vals}
        if kinds <= {int, float}:
            numeric[name] = np.asarray(vals, dtype=float)
        elif any(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals[:50]) and \
                _arbin_base(name) in _ARBIN_REQUIRED + ("Cycle_Index", "Step_Index"):
            j = next(k for k, v in enumerate(vals) if not isinstance(v, (int, float)) or isinstance(v, bool))
            sheet, row = where[j]
            raise ReadError(p, row, f"sheet {sheet!r}, column {name!r}: {vals[j]!r} is not a number")
        else:
            text_cols.append(name)
    base = {_arbin_base(k): k for k in numeric}
    for req in _ARBIN_REQUIRED:
        if req not in base:
            raise ReadError(p, 1, f"column {req!r} is missing or not numeric")
    def col(role: str, target: str) -> np.ndarray:
        name = base[role]
        return scaled(p, numeric.pop(name), split_name_unit(name)[1], target, name, target)

    t = col("Test_Time", "s")
    check_time(p, t, np.array([r for _, r in where]))
    cur = col("Current", "A")
    volt = col("Voltage", "V")
    cyc = numeric.pop(base["Cycle_Index"]).astype(np.int64) if "Cycle_Index" in base else None
    stp = numeric.pop(base["Step_Index"]).astype(np.int64) if "Step_Index" in base else None
    extra = {key_of(k): v for k, v in numeric.items()}
    units = {key_of(k): (split_name_unit(k)[1] or "1") for k in numeric}
    meta: dict[str, Any] = {"source_file": str(p), "format": "arbin-xlsx", "rows_read": n, "sheets": sheets,
                            "other_sheets": skipped,
                            "text_columns": text_cols, "instrument_columns": header,
                            "line_numbers_are": "rows of the sheets"}
    if units.get("charge_capacity") in ("Ah", "mAh") and units.get("discharge_capacity") in ("Ah", "mAh"):
        meta["instrument_capacity"] = {"counters": [
            {"column": "charge_capacity", "units": units["charge_capacity"], "kind": "resetting",
             "direction": "charge"},
            {"column": "discharge_capacity", "units": units["discharge_capacity"], "kind": "resetting",
             "direction": "discharge"}], "source": "Arbin Charge Capacity / Discharge Capacity"}
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


ARBIN_XLSX = SimpleReader("arbin-xlsx", "cycling", (".xlsx",), _sniff_xlsx,
                          lambda path, **kw: [read_arbin_xlsx(path, **kw)],
                          "Arbin MITS Pro Excel export (channel sheets; optional openpyxl package)")

READERS = [ARBIN_RES, ARBIN_XLSX]
"""Readers registered under the ``arbin`` entry point."""
