"""Helpers the cycler text readers share, on top of the strict table core (private).

The table core (:mod:`ncmsurf.io._table`) cuts a file into checked rows and
columns; this module turns its columns into a cycling record: unit factors,
clock-style times, header roles by common names (with an error that lists the
candidates when a header is ambiguous), optional columns read completely or
dropped with a warning (the core's :meth:`~ncmsurf.io._table.Table.optional`),
and the record itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core._validate import adopt_arrays, optional_positive
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._table import Table, _row_like, split_fields, split_name_unit

__all__ = ["ROLES", "UNIT_FACTORS", "check_above_header", "check_time", "clock_seconds", "extra_columns", "key_of",
           "labels", "make_record", "match_roles", "normalise", "scaled", "table_clock_seconds", "table_labels"]

#: (unit, target) -> factor.
UNIT_FACTORS: dict[tuple[str, str], float] = {
    ("s", "s"): 1.0, ("sec", "s"): 1.0, ("ms", "s"): 1e-3, ("min", "s"): 60.0, ("h", "s"): 3600.0, ("hr", "s"): 3600.0,
    ("d", "s"): 86400.0,
    ("a", "A"): 1.0, ("ma", "A"): 1e-3, ("ua", "A"): 1e-6, ("µa", "A"): 1e-6, ("μa", "A"): 1e-6, ("na", "A"): 1e-9,
    ("v", "V"): 1.0, ("mv", "V"): 1e-3,
    ("ah", "Ah"): 1.0, ("mah", "Ah"): 1e-3, ("uah", "Ah"): 1e-6, ("µah", "Ah"): 1e-6, ("as", "Ah"): 1 / 3600,
    ("c", "Ah"): 1 / 3600, ("a.h", "Ah"): 1.0, ("ma.h", "Ah"): 1e-3, ("amp-hr", "Ah"): 1.0,
    ("wh", "Wh"): 1.0, ("mwh", "Wh"): 1e-3, ("w.h", "Wh"): 1.0, ("watt-hr", "Wh"): 1.0,
}

#: Names that are their own unit ("Amps", "Volts", "Seconds", "Ah").
_IMPLIED_UNIT = {"amps": "A", "amp": "A", "volts": "V", "seconds": "s", "sec": "s", "ah": "Ah", "mah": "mAh",
                 "amp hr": "Ah", "watt hr": "Wh", "wh": "Wh", "mwh": "mWh"}


def normalise(name: str) -> str:
    """A header name without its unit, lower case, punctuation as single spaces.

    Examples
    --------
    >>> normalise("Test_Time(s)"), normalise("Current [mA]"), normalise("Amp-hr"), normalise("<I>/mA")
    ('test time', 'current', 'amp hr', '<i>')
    """
    base, _ = split_name_unit(name)
    base = base.strip().lower()
    if base in ("<i>", "<ewe>", "<i>/ma"):
        return base
    return re.sub(r"[^0-9a-zµμ<>#]+", " ", base).strip()


def unit_of(table: Table, name: str) -> str | None:
    """The unit of a column: from its header (brackets, parentheses, ``/``) or implied by the name.

    Raises
    ------
    ReadError
        When the header holds a bracket but no readable unit (``Current(mA6``): a damaged unit
        is never replaced by an assumed one.
    """
    u = table.unit(name)
    if u:
        return u.strip()
    header = table.header_names[table.index(name)] if table.index(name) < len(table.header_names) else name
    if any(ch in header for ch in "()[]"):
        raise ReadError(table.path, table.header_line, f"column {header!r}: the unit in its header cannot be read")
    return _IMPLIED_UNIT.get(normalise(name))


def scaled(path: Path, values: np.ndarray, unit: str | None, target: str, name: str,
           default: str | None = None) -> np.ndarray:
    """``values`` converted from ``unit`` to ``target`` (``default`` assumed when the header has none)."""
    u = (unit or default or target).strip()
    f = UNIT_FACTORS.get((u.lower().replace("°", ""), target))
    if f is None and u == target:
        f = 1.0
    if f is None:
        raise ReadError(path, None, f"column {name!r}: unit {u!r} cannot be converted to {target}")
    return values if f == 1.0 else values * f


_CLOCK = re.compile(r"^\s*(?:(\d+)\s*d\s*|(\d+)-)?(\d+):(\d{1,2}):(\d{1,2}(?:[.,]\d*)?)\s*$")


def clock_seconds(path: Path, cells: Sequence[str], name: str, lines: np.ndarray) -> np.ndarray:
    """Seconds from clock-style cells: ``hh:mm:ss(.f)``, ``d-hh:mm:ss``, Maccor's ``Nd hh:mm:ss``.

    Raises
    ------
    ReadError
        With the line of the first cell that is no such time.

    Examples
    --------
    >>> clock_seconds(Path("x"), ["  0d 00:00:5", "1d 02:00:00.5", "3-00:00:01", "25:00:00"], "t",
    ...               np.arange(4)).tolist()
    [5.0, 93600.5, 259201.0, 90000.0]
    """
    out = np.empty(len(cells))
    for k, c in enumerate(cells):
        m = _CLOCK.match(c)
        if m is None:
            raise ReadError(path, int(lines[k]), f"column {name!r}: {c!r} is not a time (hh:mm:ss)")
        days = int(m.group(1) or m.group(2) or 0)
        out[k] = days * 86400 + int(m.group(3)) * 3600 + int(m.group(4)) * 60 + float(m.group(5).replace(",", "."))
    return out


#: :data:`_CLOCK` for pyarrow's RE2 (ASCII ``\d`` and ``\s``: a cell it does not take goes to the Python parse).
_CLOCK_RE2 = (r"^\s*(?:(?P<d1>\d+)\s*d\s*|(?P<d2>\d+)-)?(?P<h>\d+):(?P<m>\d{1,2}):"
              r"(?P<s>\d{1,2}(?:[.,]\d*)?)\s*$")
#: The same without the days (no ``d`` or ``-`` in any cell), and with ``Nd`` days in every cell.
_CLOCK_PLAIN = r"^\s*(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:[.,]\d*)?)\s*$"
_CLOCK_DAYS = r"^\s*(?P<d>\d+)\s*d\s*(?P<h>\d+):(?P<m>\d{1,2}):(?P<s>\d{1,2}(?:[.,]\d*)?)\s*$"


def _clock_seconds_arrow(cells: Any) -> np.ndarray | None:
    """:func:`clock_seconds` of a pyarrow string array, vectorised; None when any cell needs the Python parse.

    Every cell must match (else the Python parse runs and names the bad line); the numbers are
    the same as Python's: whole days, hours and minutes summed as integers, then the seconds
    (correctly rounded decimal parse on both sides) added as a float.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        n = len(cells)
        n_d = pc.sum(pc.match_substring(cells, "d")).as_py() or 0
        n_dash = pc.sum(pc.match_substring(cells, "-")).as_py() or 0
        # one form for the whole column takes a simpler (several times faster) pattern, with the same groups
        if n_d == 0 and n_dash == 0:
            pattern = _CLOCK_PLAIN
        elif n_d == n and n_dash == 0:
            pattern = _CLOCK_DAYS
        else:
            pattern = _CLOCK_RE2
        parts = pc.extract_regex(cells, pattern)
        if parts.null_count:
            return None
        names = [f.name for f in parts.type]
        field = {nm: pc.struct_field(parts, [k]) for k, nm in enumerate(names)}
        if "d1" in field:
            d1, d2 = field["d1"], field["d2"]
            days = pc.if_else(pc.equal(d1, ""), pc.if_else(pc.equal(d2, ""), "0", d2), d1)
            dd = pc.cast(days, pa.int64()).to_numpy(zero_copy_only=False)
        elif "d" in field:
            dd = pc.cast(field["d"], pa.int64()).to_numpy(zero_copy_only=False)
        else:
            dd = np.zeros(n, np.int64)
        ints = [pc.cast(field[k], pa.int64()).to_numpy(zero_copy_only=False) for k in ("h", "m")]
        sec = pc.cast(pc.replace_substring(field["s"], ",", "."), pa.float64())
        s = sec.to_numpy(zero_copy_only=False)
    except (pa.ArrowException, ValueError):
        return None
    if max(int(dd.max(initial=0)), int(ints[0].max(initial=0)), int(ints[1].max(initial=0))) >= 1 << 40:
        return None  # (Python's integers do not overflow)
    whole = dd * 86400 + ints[0] * 3600 + ints[1] * 60
    return np.asarray(whole.astype(np.float64) + s, dtype=np.float64)


def seconds(path: Path, table: Table, name: str, *, default: str = "s") -> np.ndarray:
    """A time column in seconds: numbers (with the header's unit) or clock-style text."""
    if table.kinds[name] == "number":
        return scaled(path, table.column(name), unit_of(table, name), "s", name, default)
    return table_clock_seconds(path, table, name)


def table_clock_seconds(path: Path, table: Table, name: str) -> np.ndarray:
    """:func:`clock_seconds` of a text column (vectorised on the table core's fast path, same numbers)."""
    arr = table.text_array(name)
    if arr is not None:
        got = _clock_seconds_arrow(arr)
        if got is not None:
            return got
    return clock_seconds(path, table.text(name), name, table.line_numbers)


def check_time(path: Path, t: np.ndarray, lines: np.ndarray) -> None:
    """ReadError naming the line where the time decreases."""
    bad = np.flatnonzero(np.diff(t) < 0)
    if bad.size:
        j = int(bad[0]) + 1
        raise ReadError(path, int(lines[j]), f"time decreases ({t[j]} s after {t[j - 1]} s); "
                                             "records must be in time order")


def key_of(name: str, *, lower: bool = True) -> str:
    """A column key for ``CyclingData.columns`` ("Charge_Capacity(Ah)" -> "charge_capacity")."""
    key = re.sub(r"\W+", "_", split_name_unit(name)[0]).strip("_") or "col"
    return key.lower() if lower else key


def extra_columns(table: Table, used: Sequence[str], *, units: Mapping[str, str] | None = None,
                  only: Sequence[str] | None = None, lower: bool = True
                  ) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every further numeric column, complete, keyed by :func:`key_of`; incomplete ones dropped with a warning.

    The table core drops a column with a bad cell and warns naming the column and
    the first bad line (``Table.dropped`` lists them for ``meta``).
    """
    skip = [n for n in used if n in table.names]
    if only is not None:
        skip += [n for n in table.names if n not in only and n not in skip]
    # keys from every candidate column (kept or dropped), so that a dropped column never renames another
    keys: dict[str, str] = {}
    for n in table.names:
        if n in skip or table.kinds[n] != "number":
            continue
        key = key_of(n, lower=lower)
        while key in keys.values() or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        keys[n] = key
    got = table.optional(exclude=skip)
    extra: dict[str, np.ndarray] = {}
    out_units: dict[str, str] = {}
    for n, arr in got.items():
        key = keys[n]
        extra[key] = arr
        out_units[key] = (units or {}).get(n) or table.unit(n) or _IMPLIED_UNIT.get(normalise(n)) or "1"
    return extra, out_units


#: Role -> tiers of normalised header names; within a tier two matches are ambiguous.
ROLES: dict[str, tuple[tuple[str, ...], ...]] = {
    "time": (("test time", "total time", "run time", "elapsed time", "test sec", "testtime", "test time s",
              "test_time"), ("time", "seconds", "t", "time s", "sec")),
    "voltage": (("voltage", "volts", "cell voltage", "potential", "ewe", "ecell", "<ewe>", "battery voltage"),
                ("u", "v", "e", "volt")),
    "current": (("current", "amps", "cell current", "<i>", "battery current"), ("i", "amp")),
    "cycle": (("cycle", "cycle index", "cycle number", "cycle count", "cycle no", "cyc", "cyc#", "cycle id"),),
    "step": (("step", "step index", "step number", "step count", "step no", "ns", "step id"),),
    "capacity": (("capacity", "ah", "amp hr", "mah", "cap"),),
}


def match_roles(path: Path, table: Table, roles: Sequence[str], *, optional: Sequence[str] = (),
                columns: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The header column of each role, from ``columns`` or by common names.

    Raises
    ------
    ReadError
        When a required role has no column (naming the header), or when two columns
        match a role equally well (listing the candidates: pass ``columns=`` to choose).
    """
    given = dict(columns or {})
    out: dict[str, str | None] = {}
    taken: set[str] = set()
    norm = {n: normalise(n) for n in table.names}
    for role in [*roles, *optional]:
        if role in given:
            if given[role] not in table.names:
                raise ReadError(path, table.header_line, f"column {given[role]!r} (for {role}) not in the header "
                                                         f"{table.names}")
            out[role] = given[role]
            taken.add(given[role])
            continue
        found: str | None = None
        for tier in ROLES.get(role, ()):
            hits = [n for n in table.names if norm[n] in tier and n not in taken]
            if len(hits) > 1:
                raise ReadError(path, table.header_line,
                                f"the header is ambiguous: {len(hits)} columns could be the {role}: "
                                f"{', '.join(repr(h) for h in hits)}; choose with columns={{'{role}': ...}}")
            if hits:
                found = hits[0]
                break
        if found is None and role in roles:
            raise ReadError(path, table.header_line, f"no {role} column in the header {table.names}; "
                                                     f"pass columns={{'{role}': '<header name>'}}")
        out[role] = found
        if found is not None:
            taken.add(found)
    return out


def check_above_header(path: Path, lines: Sequence[str], header: int, delimiter: str, ncols: int) -> None:
    """A line above the column header (0-based ``header``) that reads as a data row is an error.

    Vendor exports put free-text metadata above the column header; a row of numbers there means rows out
    of place (a data row moved above the header) or a damaged header, and reading on would silently
    leave that row out of the record.
    """
    for i in range(min(header, len(lines))):
        f = split_fields(lines[i], delimiter)
        if len(f) >= max(3, ncols // 2) and _row_like(f):
            raise ReadError(path, i + 1, f"a row of numbers above the column header (line {header + 1}): rows out "
                                         "of place or a damaged header?")


def table_labels(table: Table, name: str) -> tuple[list[str], np.ndarray]:
    """The distinct stripped labels of a text column of ``table`` and each row's index into them.

    The same as ``labels(table.text(name))``; on the table core's fast path only the distinct cells
    become Python strings.
    """
    cells, codes = table.labels(name)
    return [c.strip() for c in cells], codes


def labels(cells: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """The distinct stripped labels of a text column and each cell's index into them (fast on long columns)."""
    import pandas as pd

    codes, uniq = pd.factorize(pd.Series(cells, dtype=object), sort=False)
    stripped = [str(u).strip() for u in uniq]
    return stripped, np.asarray(codes, dtype=np.int64)


def make_record(path: Path, t: np.ndarray, voltage: np.ndarray, current: np.ndarray, *,
                cycle: np.ndarray | None, step: np.ndarray | None, mass: Any, sample: Any, meta: dict[str, Any],
                columns: dict[str, np.ndarray], units: dict[str, str]) -> CyclingData:
    """The record, adopting the arrays just made; problems of the data become ReadErrors.

    A bad ``mass`` (the caller's argument, not the file's) stays a ValidationError.
    """
    optional_positive(mass, "g", "mass")
    try:
        with adopt_arrays():
            return CyclingData(t, voltage, current, cycle=cycle, step=step, mass=mass, sample=sample, meta=meta,
                               columns=columns, column_units=units)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc
