"""Cycling text tables without a vendor layout, and the Novonix and BaSyTec exports.

All three are read through the strict table core.

Generic exports
---------------
A plain CSV/TSV written by a cycler or a script is recognised by common header
names, with or without units in brackets, parentheses or after ``/``:
time (``Test Time (s)``, ``Test_Time``, ``Total Time``, ``Seconds``, ``Time``,
...), voltage (``Voltage (V)``, ``Volts``, ``Ewe``, ``Potential``, ...),
current (``Current (A)``, ``Amps``, ``I``, ...), and optionally cycle, step and
capacity (``Ah``, ``Capacity (Ah)``, ...). Names that are their own unit
(``Seconds``, ``Amps``, ``Volts``, ``Ah``) carry it; otherwise s, V and A are
assumed and ``meta["units_assumed"]`` says so. When two columns fit a role
equally well the reader refuses and lists them; ``columns=`` chooses.

Novonix
-------
UHPC CSV exports: a ``[Summary]`` ... ``[End Summary]`` block, then ``[Data]``
and the column header ``Date and Time, Cycle Number, Step Type, Run Time (h),
Step Time (h), Current (A), Potential (V), Capacity (Ah), ...``. Built from the
documented layout (no Novonix file is among the shared examples).

BaSyTec
-------
Battery Test System text results: ``~``-prefixed header lines, the last of them
the column header (``~Time[h]``, ``DataSet``, ``Date``, ``t-Step[h]``, ``Line``,
``Command``, ``U[V]``, ``I[A]``, ``Ah[Ah]``, ``Cyc-Count``, ...), tab-separated.
Built from the documented layout (no BaSyTec file is among the shared examples).
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import (
    check_time,
    extra_columns,
    make_record,
    match_roles,
    normalise,
    scaled,
    seconds,
    unit_of,
)
from ncmsurf.io._table import TextFile, find_table, looks_binary, split_fields, table_at
from ncmsurf.io.registry import SimpleReader

__all__ = ["BASYTEC", "GENERIC_CYCLING", "NOVONIX", "READERS", "CurrentSignWarning", "read_basytec",
           "read_generic_cycling", "read_novonix"]


def _head_text(head: bytes) -> str:
    if looks_binary(head[:4096]):
        return ""
    return head.decode("utf-8-sig", errors="replace")


# -------------------------------------------------------------------------------- generic
class CurrentSignWarning(NcmsurfWarning):
    """A generic export's current is never negative although a column labels discharge records."""


_DISCHARGE_LABEL = re.compile(r"dchg|dis-?charge|d_chg|^d$", re.IGNORECASE)


def _unsigned_hint(table: Any, current: np.ndarray) -> str:
    """A note when the current never goes negative but a text column names discharge records."""
    if current.size == 0 or (current < 0).any():
        return ""
    for name in table.text_columns():
        uniq = {c.strip() for c in table.text(name)[:200_000]}
        hits = sorted(u for u in uniq if _DISCHARGE_LABEL.search(u))
        if hits:
            return (f"the current is never negative but column {name!r} labels records {hits[:3]}: the file may "
                    "store unsigned currents (a vendor reader signs them from the step type)")
    return ""


def _header_roles(line: str) -> bool:
    from ncmsurf.io._cycler_text import ROLES

    for delim in (",", "\t", ";"):
        fields = {normalise(f) for f in line.split(delim)}
        if len(fields) < 3:
            continue
        if all(any(f in tier for tier in ROLES[role] for f in fields) for role in ("time", "voltage", "current")):
            return True
    return False


def _sniff_generic(path: Path, head: bytes) -> float:
    text = _head_text(head)
    if not text:
        return 0.0
    for ln in text.splitlines()[:40]:
        if _header_roles(ln):
            return 0.6
    return 0.0


def read_generic_cycling(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                         columns: Mapping[str, str] | None = None, current_sign: str = "check",
                         **_: Any) -> CyclingData:
    """Read a plain cycling CSV/TSV by its header names (see the module notes).

    Parameters
    ----------
    path : path-like
    mass : float or pint.Quantity, optional
        Active mass, g.
    sample : Sample or str, optional
    columns : mapping, optional
        Role (``time``, ``voltage``, ``current``, ``cycle``, ``step``, ``capacity``)
        → header name, for headers the names do not settle.
    current_sign : {"check", "as-stored"}
        ``"check"`` (default) refuses a file whose current is never negative while a
        text column labels discharge records (an unsigned-current export whose vendor
        header was not recognised: reading it as stored would count every discharge as
        a charge); ``"as-stored"`` reads it anyway, with a :class:`CurrentSignWarning`.

    Raises
    ------
    ReadError
        No time, voltage or current column; an ambiguous header (the candidates
        listed); a row with a wrong field count, a bad cell in a required column,
        time going backwards (each with its line).
    """
    p = Path(path)
    table = find_table(p, min_columns=3)
    if table.header_line is None:
        raise ReadError(p, table.first_line, "no header line above the data: pass columns= is not possible "
                                             "without names; add a header row")
    roles = match_roles(p, table, ("time", "voltage", "current"), optional=("cycle", "step", "capacity"),
                        columns=columns)
    tn, vn, i_n = roles["time"], roles["voltage"], roles["current"]
    assert tn is not None and vn is not None and i_n is not None
    assumed = [f"{n!r} in {u}" for n, u in ((tn, "s"), (vn, "V"), (i_n, "A")) if unit_of(table, n) is None]
    t = seconds(p, table, tn)
    check_time(p, t, table.line_numbers)
    volt = scaled(p, table.column(vn), unit_of(table, vn), "V", vn, "V")
    cur = scaled(p, table.column(i_n), unit_of(table, i_n), "A", i_n, "A")
    note = _unsigned_hint(table, cur)
    cn, sn = roles.get("cycle"), roles.get("step")
    cyc = table.integers(cn) if cn else None
    stp = table.integers(sn) if sn else None
    used = [n for n in roles.values() if n and n != roles.get("capacity")]
    extra, units = extra_columns(table, used, lower=False)  # header spelling kept, as the plain text reader did
    meta: dict[str, Any] = {"source_file": str(p), "format": "cycling-csv", "rows_read": int(table.nrows),
                            "roles": {k: v for k, v in roles.items() if v}, "instrument_columns": list(table.names),
                            "text_columns": table.text_columns(), "table": table.layout()}
    if assumed:
        meta["units_assumed"] = assumed
    if note:
        if current_sign != "as-stored":
            raise ReadError(p, table.header_line, f"{note}; pass current_sign='as-stored' to read it so")
        meta["current_sign"] = note
        warnings.warn(f"{p}: {note}", CurrentSignWarning, stacklevel=3)
    low = {k.lower(): k for k in extra}
    chg, dis = low.get("charge_capacity"), low.get("discharge_capacity")
    if chg and dis and units.get(chg) in ("Ah", "mAh") and units.get(dis) in ("Ah", "mAh"):
        # the usual cycler columns (Arbin, cellpy, BEEP exports): restarting at each cycle or step
        meta["instrument_capacity"] = {"counters": [
            {"column": chg, "units": units[chg], "kind": "resetting", "direction": "charge"},
            {"column": dis, "units": units[dis], "kind": "resetting", "direction": "discharge"}],
            "source": f"columns {chg!r} / {dis!r}"}
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


GENERIC_CYCLING = SimpleReader("cycling-csv", "cycling", (".csv", ".tsv", ".txt", ".dat"), _sniff_generic,
                               lambda path, **kw: [read_generic_cycling(path, **kw)],
                               "plain cycling CSV/TSV recognised by its header names (time, voltage, current)")


# -------------------------------------------------------------------------------- Novonix
def _novonix_data_line(lines: list[str]) -> int | None:
    for k, ln in enumerate(lines[:400]):
        if ln.strip() == "[Data]":
            return k
    return None


def _sniff_novonix(path: Path, head: bytes) -> float:
    text = _head_text(head)
    if not text.lstrip().startswith("[Summary]"):
        return 0.0
    return 0.95 if "[Data]" in text and "Potential (V)" in text else 0.5


def read_novonix(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read a Novonix UHPC CSV export (see the module notes).

    ``Run Time (h)`` is the test time, ``Current (A)`` signed (charge > 0),
    ``Potential (V)`` the voltage, ``Cycle Number`` the cycle, ``Step Type`` (the
    instrument's step code) the step; the summary block is kept in ``meta["summary"]``.

    Raises
    ------
    ReadError
        No ``[Data]`` section or its header, a row with a wrong field count, a bad cell
        in a required column, time going backwards (each with its line).
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.first_lines(402)
    k = _novonix_data_line(lines)
    if k is None or k + 1 >= len(lines):
        raise ReadError(p, None, "no '[Data]' section with a column header (not a Novonix export?)")
    table = table_at(tf, header=k + 1, start=k + 2, delimiter=",")
    if table.nrows == 0:
        raise ReadError(p, k + 2, "no data rows under the [Data] header")
    need = {"time": "Run Time (h)", "current": "Current (A)", "voltage": "Potential (V)"}
    for role, n in need.items():
        if n not in table.names:
            raise ReadError(p, k + 2, f"no {n!r} column ({role}) in the header {table.names}")
    t = seconds(p, table, "Run Time (h)")
    check_time(p, t, table.line_numbers)
    cur = table.column("Current (A)")
    volt = table.column("Potential (V)")
    cyc = table.integers("Cycle Number") if "Cycle Number" in table.names else None
    stp = table.integers("Step Type") if "Step Type" in table.names else None
    used = ["Run Time (h)", "Current (A)", "Potential (V)", "Cycle Number", "Step Type"]
    extra, units = extra_columns(table, used)
    info: dict[str, str] = {}
    for ln in lines[:k]:
        if ":" in ln and not ln.startswith("["):
            key, _sep, val = ln.partition(":")
            info[key.strip()] = val.strip()
    meta: dict[str, Any] = {"source_file": str(p), "format": "novonix-csv", "rows_read": int(table.nrows),
                            "summary": info, "instrument_columns": list(table.names),
                            "text_columns": table.text_columns(), "table": table.layout()}
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


NOVONIX = SimpleReader("novonix-csv", "cycling", (".csv",), _sniff_novonix,
                       lambda path, **kw: [read_novonix(path, **kw)],
                       "Novonix UHPC CSV export ([Summary], [Data]; Run Time (h), Current (A), Potential (V))")


# -------------------------------------------------------------------------------- BaSyTec
def _basytec_header(lines: list[str]) -> int | None:
    last = None
    for k, ln in enumerate(lines[:200]):
        if ln.startswith("~"):
            last = k
        elif ln.strip():
            break
    if last is None:
        return None
    names = [f.strip() for f in lines[last][1:].split("\t")]
    base = {normalise(n) for n in names}
    return last if {"time", "u", "i"} <= base else None


def _sniff_basytec(path: Path, head: bytes) -> float:
    text = _head_text(head)
    if not text.startswith("~"):
        return 0.0
    return 0.95 if _basytec_header(text.splitlines()) is not None else 0.3


def read_basytec(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read a BaSyTec text result file (see the module notes).

    ``~Time[h]`` is the test time, ``I[A]`` signed (charge > 0), ``U[V]`` the voltage,
    ``Cyc-Count`` the cycle and ``Line`` (the program line) the step; the ``~`` header
    lines are kept in ``meta["header"]``. ``Ah[Ah]`` is kept as a column.

    Raises
    ------
    ReadError
        No ``~`` column header with time, U and I; a row with a wrong field count, a bad
        cell in a required column, time going backwards (each with its line).
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.first_lines(202)
    k = _basytec_header(lines)
    if k is None:
        raise ReadError(p, 1, "no BaSyTec column header (a '~' line naming Time[h], U[V] and I[A])")
    names = split_fields(lines[k][1:], "\t")
    table = table_at(tf, header=k, start=k + 1, delimiter="\t", names=names)
    if table.nrows == 0:
        raise ReadError(p, k + 1, "no data rows under the column header")
    roles = {normalise(n): n for n in table.names}
    tn, vn, i_n = roles["time"], roles["u"], roles["i"]
    t = seconds(p, table, tn, default="h")
    check_time(p, t, table.line_numbers)
    volt = scaled(p, table.column(vn), unit_of(table, vn), "V", vn, "V")
    cur = scaled(p, table.column(i_n), unit_of(table, i_n), "A", i_n, "A")
    cn = roles.get("cyc count")
    sn = roles.get("line")
    cyc = table.integers(cn) if cn else None
    stp = table.integers(sn) if sn else None
    extra, units = extra_columns(table, [x for x in (tn, vn, i_n, cn, sn) if x])
    meta: dict[str, Any] = {"source_file": str(p), "format": "basytec", "rows_read": int(table.nrows),
                            "header": [ln.rstrip() for ln in lines[:k]], "instrument_columns": list(table.names),
                            "text_columns": table.text_columns(), "table": table.layout()}
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


BASYTEC = SimpleReader("basytec", "cycling", (".txt", ".csv", ".dat"), _sniff_basytec,
                       lambda path, **kw: [read_basytec(path, **kw)],
                       "BaSyTec text result file (~Time[h], U[V], I[A], Ah[Ah], Cyc-Count, Line)")

READERS = [GENERIC_CYCLING, NOVONIX, BASYTEC]
"""Readers registered under the ``cycling_text`` entry point."""

