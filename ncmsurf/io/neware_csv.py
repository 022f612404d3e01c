"""Neware BTS text exports: the flat record CSV and the "regular" hierarchical export.

Both are read through the strict table core. The hierarchical export holds
three tables in one file, each row type recognisable by its leading empty
fields: cycle rows (``Cycle Index, Chg. Cap.(Ah), DChg. Cap.(Ah), ...``),
step rows (one leading empty field: ``Step Index, Step Number, Step Type,
...``) and record rows (two: ``DataPoint, Time, Total Time, Current(A),
Voltage(V), Capacity(Ah), ...``), in file order, each record belonging to the
step and cycle rows above it. The first cycle row may carry its first step
row on the same line (Neware writes it so); it is split at the cycle table's
width. Each table is handed to the table core as its own block, with the file's
line numbers kept, so any bad row is reported on its line in the file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncmsurf.core.errors import NcmsurfWarning, ReadError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import (
    check_above_header,
    check_time,
    clock_seconds,
    extra_columns,
    make_record,
    scaled,
    table_clock_seconds,
    table_labels,
    unit_of,
)
from ncmsurf.io._table import Table, TextFile, looks_binary, split_fields, table_at
from ncmsurf.io.maccor import sign_from_state
from ncmsurf.io.registry import SimpleReader
from ncmsurf.io.vamas import _near_miss

__all__ = ["NEWARE_CSV", "NEWARE_REGULAR", "READERS", "NewareTableWarning", "read_neware_csv",
           "read_neware_regular"]


class NewareTableWarning(NcmsurfWarning):
    """The cycle or step table of a Neware export disagrees with its record rows."""


def _head_lines(head: bytes, n: int = 20) -> list[str]:
    if looks_binary(head[:4096]):
        return []
    return head.decode("latin-1", errors="replace").splitlines()[:n]


# ------------------------------------------------------------------------------ flat record CSV
def _neware_header(lines: Sequence[str]) -> tuple[int, str] | None:
    for k, ln in enumerate(lines[:20]):
        for delim in (",", "\t", ";"):
            toks = [t.strip().strip('"').lower() for t in ln.split(delim)]
            if len(toks) < 4 or not toks[0]:
                continue
            has_type = any(t in ("step type", "status", "step_type") for t in toks)
            has_cur = any(t.startswith("current") for t in toks)
            has_v = any(t.startswith("voltage") for t in toks)
            has_time = any(("total time" in t) or t.startswith("total_time") or t == "time" or
                           t.startswith("time(") for t in toks)
            if has_type and has_cur and has_v and has_time:
                return k, delim
    return None


def _sniff_neware(path: Path, head: bytes) -> float:
    return 0.85 if _neware_header(_head_lines(head, 20)) is not None else 0.0


def _lookup(names: Sequence[str], *cands: str, prefix: bool = False) -> str | None:
    low = {n.lower(): n for n in names}
    for c in cands:
        if c in low:
            return low[c]
    if prefix:
        for c in cands:
            for lk, n in low.items():
                if lk.startswith(c):
                    return n
    return None


def _time_column(path: Path, table: Table, name: str) -> np.ndarray:
    if table.kinds[name] == "number":
        return scaled(path, table.column(name), unit_of(table, name), "s", name, "s")
    return table_clock_seconds(path, table, name)


def read_neware_csv(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                    **_: Any) -> CyclingData:
    """Read a Neware BTS flat CSV/TSV record export.

    Needs a step-type column ("Step Type"/"Status"), current, voltage and a
    total-time column ("Total Time" as seconds, "hh:mm:ss" or "d-hh:mm:ss",
    else a "Date" column). Unsigned currents get their sign from the step type
    ("DChg" = discharge), decided from the whole record (the rule and counts in
    ``meta["current_sign"]``). Further numeric columns are kept complete or
    dropped with a warning naming the column and its first bad line.

    Raises
    ------
    ReadError
        Missing columns, a row with a wrong field count, a non-number in a
        required column, time going backwards (each with its line).
    """
    p = Path(path)
    tf = TextFile.open(p)
    head = tf.first_lines(22)
    found = _neware_header(head)
    if found is None:
        raise ReadError(p, None, "no Neware column header (step type, current, voltage, time) in the first 20 lines")
    k, delim = found
    check_above_header(p, head, k, delim, len(head[k].split(delim)))
    table = table_at(tf, header=k, start=k + 1, delimiter=delim)
    if table.nrows == 0:
        raise ReadError(p, k + 1, "no data rows after the column header")
    names = table.names
    tname = _lookup(names, "total time", "total_time", "test time", "total time(s)", prefix=True)
    if tname is not None:
        t = _time_column(p, table, tname)
    else:
        dname = _lookup(names, "date", "realtime", "system time", prefix=True)
        if dname is None:
            raise ReadError(p, k + 1, f"no total-time or date column in header {names}")
        stamps = pd.to_datetime(pd.Series(table.text(dname)), errors="coerce")
        if stamps.isna().any():
            j = int(np.flatnonzero(stamps.isna().to_numpy())[0])
            raise ReadError(p, int(table.line_numbers[j]), f"column {dname!r}: {table.text(dname)[j]!r} is not a date")
        t = (stamps - stamps.iloc[0]).dt.total_seconds().to_numpy(dtype=float)
    check_time(p, t, table.line_numbers)
    iname = _lookup(names, "current", prefix=True)
    vname = _lookup(names, "voltage", prefix=True)
    sname = _lookup(names, "step type", "status", "step_type")
    assert iname is not None and vname is not None and sname is not None
    cur = scaled(p, table.column(iname), unit_of(table, iname), "A", iname, "A")
    volt = scaled(p, table.column(vname), unit_of(table, vname), "V", vname, "V")
    uniq, inv = table_labels(table, sname)
    dis_u = np.array([("dchg" in u.lower() or "discharge" in u.lower() or "d_chg" in u.lower()) for u in uniq], bool)
    cur, sign_note = sign_from_state(cur, dis_u[inv], what="current (step type DChg = discharge)")
    stype = uniq
    cname = _lookup(names, "cycle index", "cycle id", "cycle", "cycle_index")
    stname = _lookup(names, "step index", "step id", "step", "step_index")
    for found_name, cands in ((cname, ("cycle index", "cycle_index", "cycle id")),
                              (stname, ("step index", "step_index", "step id"))):
        if found_name is not None:
            continue
        for n in names:  # a damaged cycle or step header would leave the record without its counter
            hit = _near_miss(n, cands, fold=True)
            if hit is not None:
                raise ReadError(p, k + 1, f"column {n!r} is not a known Neware column but close to {hit!r}: "
                                          "the header is damaged")
    cyc = table.integers(cname) if cname else None
    stp = table.integers(stname) if stname else None
    used = [x for x in (tname, iname, vname, sname, cname, stname) if x]
    extra, units = extra_columns(table, used)
    meta: dict[str, Any] = {"source_file": str(p), "format": "neware-csv", "rows_read": int(table.nrows),
                            "current_sign": sign_note, "instrument_columns": list(table.header_names),
                            "header": list(head[:k]), "step_types": sorted(set(stype)),
                            "text_columns": table.text_columns(), "table": table.layout()}
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


NEWARE_CSV = SimpleReader("neware-csv", "cycling", (".csv", ".txt", ".tsv"), _sniff_neware,
                          lambda path, **kw: [read_neware_csv(path, **kw)],
                          "Neware BTS record export (step type, current, voltage, total time)")


# ---------------------------------------------------------------------------- regular export
def _regular_headers(lines: Sequence[str]) -> bool:
    if len(lines) < 3:
        return False
    a, b, c = (split_fields(ln, ",") for ln in lines[:3])
    return (bool(a) and a[0].strip() == "Cycle Index" and len(b) > 2 and b[0] == "" and b[1].strip() == "Step Index"
            and len(c) > 3 and c[0] == c[1] == "" and c[2].strip() in ("DataPoint", "Record Index", "Record ID"))


def _sniff_regular(path: Path, head: bytes) -> float:
    return 0.97 if _regular_headers(_head_lines(head, 3)) else 0.0


def _block(path: Path, lines: list[str], header: str, rows: list[tuple[int, str]], terminated: bool = True) -> Table:
    """A table of ``rows`` (file line index, text) under ``header``, its line numbers those of the file.

    A block whose last row is the file's last line keeps the file's own ending (``terminated``), so that
    the table core checks a last row without a line end for a cut.
    """
    if not rows:
        raise ReadError(path, None, f"no rows for the table under {header[:60]!r}")
    last = rows[-1][0] == len(lines) - 1 and not terminated
    text = "\n".join([header] + [r for _, r in rows]) + ("" if last else "\n")
    numbers = np.array([i + 1 for i, _ in rows], dtype=np.int64)
    try:
        table = table_at(TextFile(path, text.encode("utf-8")), header=0, start=1, delimiter=",")
    except ReadError as exc:
        line = int(numbers[exc.line - 2]) if exc.line is not None and 2 <= exc.line < numbers.size + 2 else None
        raise ReadError(path, line, exc.reason) from None
    table.line_numbers = numbers
    table.first_line = int(numbers[0])
    return table


def read_neware_regular(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                        **_: Any) -> CyclingData:
    """Read a Neware "regular" hierarchical export (cycle, step and record rows in one CSV).

    The record rows make the record: ``Total Time`` (hh:mm:ss) is the test time,
    ``Current(A)`` (signed, charge > 0), ``Voltage(V)``; each record takes the
    cycle and step of the rows above it. The cycle and step tables are kept in
    ``meta["cycle_table"]`` and ``meta["step_table"]`` (lists per column, units in
    the names) and cross-checked: each step's capacity against the largest
    record capacity of the step, and each cycle's charge and discharge capacity
    against the sum of its charge and discharge steps; a disagreement beyond the
    printed precision is a :class:`NewareTableWarning` and is listed in
    ``meta["table_checks"]``. The record ``Capacity(Ah)`` (restarting at each
    step) is named as the instrument's counter.

    Raises
    ------
    ReadError
        Not this layout, a row of any table with a wrong field count or a bad
        cell in a required column, records before the first step row (each with
        its line in the file).
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.lines
    if not _regular_headers(lines):
        raise ReadError(p, 1, "not a Neware regular export (lines 1-3 must hold the cycle, step and record headers)")
    ncyc = len(split_fields(lines[0], ","))
    cyc_rows: list[tuple[int, str]] = []
    step_rows: list[tuple[int, str]] = []
    rec_rows: list[tuple[int, str]] = []
    rec_step: list[int] = []
    rec_cycle: list[int] = []
    for i in range(3, len(lines)):
        ln = lines[i]
        if not ln.strip():
            continue
        if ln.startswith(",,"):
            if not step_rows:
                raise ReadError(p, i + 1, "a record row before any step row")
            rec_rows.append((i, ln[2:]))
            rec_step.append(len(step_rows) - 1)
            rec_cycle.append(len(cyc_rows) - 1)
        elif ln.startswith(","):
            if not cyc_rows:
                raise ReadError(p, i + 1, "a step row before any cycle row")
            step_rows.append((i, ln[1:]))
        else:
            fields = ln.split(",")
            cyc_rows.append((i, ",".join(fields[:ncyc])))
            if len(fields) > ncyc:  # the first step row written on the cycle row's line
                step_rows.append((i, ",".join(fields[ncyc:])))
    def strip(h: str, k: int) -> str:  # the header without its empty leading fields
        return ",".join(split_fields(h, ",")[k:])

    cycles = _block(p, lines, lines[0], cyc_rows, tf.terminated)
    steps = _block(p, lines, strip(lines[1], 1), step_rows, tf.terminated)
    recs = _block(p, lines, strip(lines[2], 2), rec_rows, tf.terminated)
    names = recs.names
    tname = _lookup(names, "total time")
    iname = _lookup(names, "current(a)", "current(ma)", "current", prefix=True)
    vname = _lookup(names, "voltage(v)", "voltage", prefix=True)
    if tname is None or iname is None or vname is None:
        raise ReadError(p, 3, f"the record header lacks Total Time, Current or Voltage: {names}")
    t = _time_column(p, recs, tname)
    check_time(p, t, recs.line_numbers)
    cur = scaled(p, recs.column(iname), unit_of(recs, iname), "A", iname, "A")
    volt = scaled(p, recs.column(vname), unit_of(recs, vname), "V", vname, "V")
    step_no = steps.integers("Step Number") if "Step Number" in steps.names else np.arange(1, steps.nrows + 1)
    cyc_no = cycles.integers("Cycle Index")
    rs = np.asarray(rec_step, np.int64)
    rc = np.asarray(rec_cycle, np.int64)
    used = [x for x in (tname, iname, vname) if x]
    extra, units = extra_columns(recs, used)
    for key, src in (("step_time", "Time"),):
        if src in recs.names and recs.kinds[src] != "number":
            extra[key] = clock_seconds(p, recs.text(src), src, recs.line_numbers)
            units[key] = "s"
    if "Step Index" in steps.names:
        extra["step_index"] = steps.integers("Step Index")[rs]
        units["step_index"] = "1"
    stype = steps.text("Step Type") if "Step Type" in steps.names else [""] * steps.nrows
    meta: dict[str, Any] = {
        "source_file": str(p), "format": "neware-regular", "rows_read": int(recs.nrows),
        "instrument_columns": list(recs.header_names), "text_columns": recs.text_columns(),
        "step_types": sorted(set(stype)),
        "cycle_table": _as_lists(cycles), "step_table": _as_lists(steps),
        "record_breaks": [],
    }
    if recs.dropped:
        meta["dropped_columns"] = dict(recs.dropped)
    cap_key = next((k for k in ("capacity",) if k in extra), None)
    if cap_key is not None:
        meta["instrument_capacity"] = {"counters": [{"column": cap_key, "units": units[cap_key], "kind": "resetting"}],
                                       "source": "Neware record Capacity(Ah) (restarting at each step)"}
        meta["table_checks"] = _cross_check(p, extra[cap_key], units[cap_key], rs, rc, steps, cycles, stype)
    return make_record(p, t, volt, cur, cycle=cyc_no[rc], step=step_no[rs], mass=mass, sample=sample, meta=meta,
                       columns=extra, units=units)


def _as_lists(table: Table) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for n in table.names:
        if table.kinds[n] == "number" and table.is_complete(n):
            out[n] = table.column(n).tolist()
        else:
            out[n] = table.text(n)
    out["line"] = table.line_numbers.tolist()
    return out


def _cross_check(path: Path, cap: np.ndarray, unit: str, rs: np.ndarray, rc: np.ndarray, steps: Table,
                 cycles: Table, stype: Sequence[str]) -> dict[str, Any]:
    """Step capacity vs its records' largest capacity; cycle charge/discharge vs the sum of its steps."""
    f = {"Ah": 1.0, "mAh": 1e-3}.get(unit, 1.0)
    nstep = steps.nrows
    rec_max = np.zeros(nstep)
    np.maximum.at(rec_max, rs, np.abs(cap) * f)
    problems: list[str] = []
    step_cap_name = next((n for n in steps.names if n.lower().startswith("capacity")), None)
    if step_cap_name is not None and steps.kinds[step_cap_name] == "number":
        scap = np.abs(steps.column(step_cap_name)) * {"ah": 1.0, "mah": 1e-3}.get(
            (steps.unit(step_cap_name) or "Ah").lower(), 1.0)
        tol = 1e-5 + 1e-4 * scap  # the tables print 5 decimals
        bad = np.flatnonzero(np.abs(scap - rec_max) > tol)
        for j in bad[:5]:
            problems.append(f"step row on line {int(steps.line_numbers[j])}: capacity {scap[j]:.5f} Ah, its records "
                            f"reach {rec_max[j]:.5f} Ah")
        # cycles: sum of charge steps and of discharge steps
        step_cycle = np.zeros(nstep, np.int64)
        step_cycle[rs] = rc
        chg = np.array(["chg" in s.lower() and "dchg" not in s.lower() for s in stype])
        dchg = np.array(["dchg" in s.lower() for s in stype])
        for col, mask in (("Chg. Cap.(Ah)", chg), ("DChg. Cap.(Ah)", dchg)):
            if col not in cycles.names or cycles.kinds[col] != "number":
                continue
            ctab = cycles.column(col)
            sums = np.zeros(cycles.nrows)
            np.add.at(sums, step_cycle[mask], scap[mask])
            badc = np.flatnonzero(np.abs(sums - ctab) > 1e-5 + 1e-4 * np.abs(ctab))
            for j in badc[:5]:
                problems.append(f"cycle row on line {int(cycles.line_numbers[j])}: {col} {ctab[j]:.5f}, its steps "
                                f"sum to {sums[j]:.5f}")
    if problems:
        warnings.warn(f"{path}: the export's tables disagree with its records: " + "; ".join(problems),
                      NewareTableWarning, stacklevel=3)
    return {"steps_checked": int(nstep), "cycles_checked": int(cycles.nrows), "problems": problems}


NEWARE_REGULAR = SimpleReader("neware-regular", "cycling", (".csv",), _sniff_regular,
                              lambda path, **kw: [read_neware_regular(path, **kw)],
                              "Neware regular hierarchical export (cycle, step and record rows in one CSV)")

READERS = [NEWARE_CSV, NEWARE_REGULAR]
"""Readers registered under the ``neware_csv`` entry point."""
