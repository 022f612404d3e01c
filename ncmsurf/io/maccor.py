"""Maccor exports: the tab-separated text export (``.txt``, ``.NNN`` channel files) and CSV exports.

Both are read through the strict table core (every row's field count checked,
decimal mark per file, optional columns read completely or dropped with a
warning naming the column and the first bad line).

Header vocabularies recognised (first field ``Rec#`` or ``Rec``):

- MIMS text export: ``Rec#, Cyc#, Step, TestTime`` ("Nd hh:mm:ss") or
  ``Test (Sec)``, ``StepTime``/``Step (Sec)``, ``Amp-hr``, ``Watt-hr``,
  ``Amps``, ``Volts``, ``State`` (C/D/R/O), ``ES``, ``DPt Time``, ...
- CSV export: ``Rec, Cycle P, Cycle C, Step, TestTime, StepTime, Cap. [Ah],
  Ener. [Wh], Current [A], Voltage [V], Md, ES, DPt Time``.

The sign convention is decided from the whole record
(:func:`ncmsurf.io._cycler_text` / ``sign_from_state``): ``Amps`` are unsigned
in some exports and signed in others, and one negative rest reading must not
decide it. ``Amp-hr`` (restarting at each step) is named as the instrument's
capacity counter.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import (
    check_above_header,
    check_time,
    extra_columns,
    make_record,
    scaled,
    seconds,
    table_labels,
    unit_of,
)
from ncmsurf.io._table import TextFile, looks_binary, table_at
from ncmsurf.io.registry import SimpleReader

__all__ = ["MACCOR_TEXT", "READERS", "read_maccor", "sign_from_state"]

_TIME = ("TestTime", "Test (Sec)", "Test Time", "Test Time (s)", "Test Time (sec)")
_CURRENT = ("Amps", "Current [A]", "Current", "Current (A)", "Current [mA]", "Current (mA)")
_VOLT = ("Volts", "Voltage [V]", "Voltage", "Voltage (V)")
_STATE = ("State", "Md", "MD")
_CYCLE = ("Cyc#", "Cycle C", "Cycle", "Cycle P")


def sign_from_state(current: np.ndarray, discharge: np.ndarray, *, what: str = "current") -> tuple[np.ndarray, str]:
    """Signed current (discharge < 0) from the whole record, robust to single outliers.

    The rule: among the records the instrument labels as discharge and whose current
    is not zero, the majority sign decides. If most are negative the file is signed and
    the values are kept as read; otherwise the file stores unsigned currents and every
    discharge record gets ``-|I|`` (charge and rest records are kept). A single negative
    reading elsewhere (a rest record's noise) cannot flip the convention. The returned
    note states the rule and the counts (for ``meta["current_sign"]``).

    Examples
    --------
    >>> i = np.array([0.0, -1e-4, 1.0, 1.0, 0.5, 0.5])
    >>> d = np.array([False, False, False, False, True, True])
    >>> cur, note = sign_from_state(i, d)
    >>> cur.tolist(), note.split(";")[0]
    ([0.0, -0.0001, 1.0, 1.0, -0.5, -0.5], 'unsigned current: 0 of 2 discharge records with a current < 0')
    """
    nz = discharge & (current != 0)
    n_dis = int(nz.sum())
    n_neg = int((current[nz] < 0).sum())
    if n_dis and 2 * n_neg > n_dis:
        note = f"signed {what}: {n_neg} of {n_dis} discharge records with a current < 0; values kept as read"
        if n_neg < n_dis:
            note += f" ({n_dis - n_neg} discharge record(s) with a positive current kept as read)"
        return current, note
    out = np.where(discharge, -np.abs(current), current)
    note = (f"unsigned {what}: {n_neg} of {n_dis} discharge records with a current < 0; sign taken from the "
            "instrument's state (discharge records made negative)")
    others = ~discharge & (current < 0)
    if others.any():
        note += f"; {int(others.sum())} negative reading(s) outside discharge records kept as read"
    return out, note


def _header(lines: Sequence[str]) -> tuple[int, str] | None:
    for k, ln in enumerate(lines[:60]):
        for delim in ("\t", ","):
            toks = [t.strip().strip('"') for t in ln.split(delim)]
            if len(toks) < 4 or toks[0] not in ("Rec#", "Rec"):
                continue
            if "Step" in toks and any(t in toks for t in _CURRENT) and any(t in toks for t in _VOLT):
                return k, delim
    return None


def _head_lines(head: bytes, n: int = 60) -> list[str]:
    if looks_binary(head[:4096]):
        return []
    return head.decode("latin-1", errors="replace").splitlines()[:n]


def _sniff_maccor(path: Path, head: bytes) -> float:
    found = _header(_head_lines(head))
    if found is None:
        return 0.0
    toks = [t.strip() for t in _head_lines(head)[found[0]].split(found[1])]
    return 0.95 if any(t in toks for t in _STATE) else 0.8


def _pick(names: Sequence[str], options: Sequence[str]) -> str | None:
    return next((o for o in options if o in names), None)


def read_maccor(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read a Maccor text (tab) or CSV export.

    Handles the ``TestTime`` ("Nd hh:mm:ss") and ``Test (Sec)`` time columns,
    unsigned ``Amps`` with a ``State``/``Md`` column (C = charge, D = discharge) and
    signed ``Amps``, decided from the whole record (see :func:`sign_from_state`; the
    rule and counts in ``meta["current_sign"]``). Header lines before the column
    header are kept in ``meta["header"]``; every further numeric column is kept
    complete in ``columns`` or dropped with a warning naming it and its first bad
    line (listed in ``meta["dropped_columns"]``); text columns are named in
    ``meta["text_columns"]``.

    Parameters
    ----------
    path : path-like
    mass : float or pint.Quantity, optional
        Active mass, g.
    sample : Sample or str, optional

    Returns
    -------
    CyclingData

    Raises
    ------
    ReadError
        No Maccor column header, a row with a wrong field count, a non-number in a
        required column, a row cut short, time going backwards (each with its line).
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.first_lines(62)
    found = _header(lines)
    if found is None:
        raise ReadError(p, None, "no Maccor column header (a line starting with 'Rec#' or 'Rec') in the first 60 "
                                 "lines")
    k, delim = found
    check_above_header(p, lines, k, delim, len(lines[k].split(delim)))
    table = table_at(tf, header=k, start=k + 1, delimiter=delim)
    if table.nrows == 0:
        raise ReadError(p, k + 1, "no data rows after the column header")
    names = table.names
    tname = _pick(names, _TIME) or next((n for n in names if n.lower().startswith("test")), None)
    iname = _pick(names, _CURRENT)
    vname = _pick(names, _VOLT)
    if tname is None or iname is None or vname is None:
        raise ReadError(p, k + 1, f"no test-time, current or voltage column in the header {names[:14]}")
    t = seconds(p, table, tname)
    lines_no = table.line_numbers
    check_time(p, t, lines_no)
    cur = scaled(p, table.column(iname), unit_of(table, iname) or "A", "A", iname)
    volt = scaled(p, table.column(vname), unit_of(table, vname) or "V", "V", vname)
    sname = _pick(names, _STATE)
    if sname is not None:
        uniq, inv = table_labels(table, sname)
        is_d = np.array([u.upper() == "D" for u in uniq], bool)
        cur, sign_note = sign_from_state(cur, is_d[inv], what=f"{iname} ({sname} D = discharge)")
        counts = np.bincount(inv, minlength=len(uniq))
        state_counts: dict[str, int] = {}
        for u, c in zip(uniq, counts):
            state_counts[u] = state_counts.get(u, 0) + int(c)
    else:
        sign_note = f"signed {iname} (no state column; values kept as read)"
        state_counts = {}
    cname = _pick(names, _CYCLE)
    cyc = table.integers(cname) if cname is not None else None
    stp = table.integers("Step") if "Step" in names else None
    used = [x for x in (tname, iname, vname, sname, cname, "Step") if x]
    units = {"Amp-hr": "Ah", "Watt-hr": "Wh", "Step (Sec)": "s", "Cap. [Ah]": "Ah", "Ener. [Wh]": "Wh"}
    extra, ext_units = extra_columns(table, used, units=units)
    meta: dict[str, Any] = {
        "source_file": str(p), "format": "maccor-text" if delim == "\t" else "maccor-csv",
        "rows_read": int(table.nrows), "header": [ln.rstrip() for ln in lines[:k]], "current_sign": sign_note,
        "instrument_columns": list(table.header_names), "text_columns": table.text_columns(),
        "table": table.layout(),
    }
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    if state_counts:
        meta["state_counts"] = state_counts
    cap = next((key for key, src in (("amp_hr", "Amp-hr"), ("cap", "Cap. [Ah]")) if key in extra and src in names),
               None)
    if cap is not None:
        meta["instrument_capacity"] = {"counters": [{"column": cap, "units": ext_units[cap], "kind": "resetting"}],
                                       "source": "Maccor Amp-hr (restarting at each step)"}
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=ext_units)


MACCOR_TEXT = SimpleReader("maccor-text", "cycling", (".txt", ".csv"),
                           _sniff_maccor, lambda path, **kw: [read_maccor(path, **kw)],
                           "Maccor text (tab) or CSV export, also with .NNN channel suffixes (Rec#, Cyc#, Step, "
                           "TestTime or Test (Sec), Amps, Volts, State)")

READERS = [MACCOR_TEXT]
"""Readers registered under the ``maccor`` entry point."""
