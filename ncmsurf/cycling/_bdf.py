"""Battery Data Format (BDF) CSV: write a record, read one back (private).

The Battery Data Format of the Battery Data Alliance fixes a table schema for
cycler time series: one cell per file, a header row of the quantities'
preferred labels (``Test Time / s``, ``Voltage / V``, ``Current / A``, ...),
fixed units, every row with the header's column count. Files end in
``.bdf`` or carry ``.bdf`` before another extension (``x.bdf.csv``).
:data:`BDF_COLUMNS` lists the quantities with their machine-readable names;
a reader accepts either spelling.

Examples
--------
>>> import tempfile, pathlib
>>> from ncmsurf.datasets.cycling import synthetic_record
>>> rec = synthetic_record(n_cycles=2, noise=0.0)
>>> p = to_bdf(rec, pathlib.Path(tempfile.mkdtemp()) / "cell.bdf.csv")
>>> back = read_bdf(p)
>>> bool((back.current == rec.current).all()), back.meta["format"]
(True, 'bdf-csv')
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData

__all__ = ["BDF_COLUMNS", "BdfColumn", "bdf_header_ok", "read_bdf", "to_bdf"]


class BdfColumn(NamedTuple):
    """One BDF quantity: preferred label, machine-readable name, unit, requirement level."""

    label: str
    name: str
    unit: str
    level: str


#: The BDF quantities (required, recommended, optional), as the specification lists them.
BDF_COLUMNS: tuple[BdfColumn, ...] = (
    BdfColumn("Test Time / s", "test_time_second", "s", "required"),
    BdfColumn("Voltage / V", "voltage_volt", "V", "required"),
    BdfColumn("Current / A", "current_ampere", "A", "required"),
    BdfColumn("Unix Time / s", "unix_time_second", "s", "recommended"),
    BdfColumn("Cycle Count / 1", "cycle_count", "1", "recommended"),
    BdfColumn("Step Count / 1", "step_count", "1", "recommended"),
    BdfColumn("Ambient Temperature / degC", "ambient_temperature_celsius", "degC", "recommended"),
    BdfColumn("Step Index / 1", "step_index", "1", "optional"),
    BdfColumn("Charging Capacity / Ah", "charging_capacity_ah", "Ah", "optional"),
    BdfColumn("Discharging Capacity / Ah", "discharging_capacity_ah", "Ah", "optional"),
    BdfColumn("Step Capacity / Ah", "step_capacity_ah", "Ah", "optional"),
    BdfColumn("Net Capacity / Ah", "net_capacity_ah", "Ah", "optional"),
    BdfColumn("Cumulative Capacity / Ah", "cumulative_capacity_ah", "Ah", "optional"),
    BdfColumn("Charging Energy / Wh", "charging_energy_wh", "Wh", "optional"),
    BdfColumn("Discharging Energy / Wh", "discharging_energy_wh", "Wh", "optional"),
    BdfColumn("Step Energy / Wh", "step_energy_wh", "Wh", "optional"),
    BdfColumn("Net Energy / Wh", "net_energy_wh", "Wh", "optional"),
    BdfColumn("Cumulative Energy / Wh", "cumulative_energy_wh", "Wh", "optional"),
    BdfColumn("Power / W", "power_watt", "W", "optional"),
    BdfColumn("Internal Resistance / Ohm", "internal_resistance_ohm", "ohm", "optional"),
    BdfColumn("Ambient Pressure / Pa", "ambient_pressure_pa", "Pa", "optional"),
    BdfColumn("Applied Pressure / Pa", "applied_pressure_pa", "Pa", "optional"),
    BdfColumn("Surface Temperature T1 / degC", "temperature_t1_celsius", "degC", "optional"),
    BdfColumn("Surface Temperature T2 / degC", "temperature_t2_celsius", "degC", "optional"),
    BdfColumn("Surface Temperature T3 / degC", "temperature_t3_celsius", "degC", "optional"),
    BdfColumn("Surface Temperature T4 / degC", "temperature_t4_celsius", "degC", "optional"),
    BdfColumn("Surface Temperature T5 / degC", "temperature_t5_celsius", "degC", "optional"),
)

_BY_KEY: dict[str, BdfColumn] = {}
for _c in BDF_COLUMNS:
    _BY_KEY[_c.label.lower()] = _c
    _BY_KEY[_c.name.lower()] = _c


def lookup(header: str) -> BdfColumn | None:
    """The BDF quantity a header field names (preferred label or machine-readable name), else ``None``."""
    return _BY_KEY.get(" ".join(header.strip().strip('"').split()).lower())


def bdf_header_ok(fields: list[str]) -> bool:
    """True when a header row names the three required BDF quantities.

    Examples
    --------
    >>> bdf_header_ok(["Test Time / s", "Current / A", "Voltage / V"])
    True
    >>> bdf_header_ok(["test_time_second", "voltage_volt"])
    False
    """
    found = {c.name for c in (lookup(f) for f in fields) if c is not None}
    return {"test_time_second", "voltage_volt", "current_ampere"} <= found


def _start_time(data: CyclingData) -> float | None:
    for key in ("start_time", "start_date"):
        text = str(data.meta.get(key, "")).strip()
        if not text:
            continue
        try:
            when = _dt.datetime.fromisoformat(text)
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        return when.timestamp()
    return None


def _per_cycle_cumsum(x: np.ndarray, new: np.ndarray) -> np.ndarray:
    cs = np.cumsum(x)
    grp = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    return cs - (cs[starts] - x[starts])[grp]  # type: ignore[no-any-return]


def to_bdf(data: CyclingData, path: str | os.PathLike[str], *, capacities: bool = True) -> Path:
    """Write a record as a Battery Data Format CSV file.

    Columns (preferred labels, fixed units): ``Test Time / s``, ``Voltage / V``,
    ``Current / A`` (the record's own sign, positive = charge), ``Unix Time / s``
    (when the record knows its start), ``Cycle Count / 1`` (the instrument's
    cycle numbers, else those of :func:`ncmsurf.cycling.segment`),
    ``Step Count / 1`` (a running count of steps, increasing by one at each
    change of the instrument's step number), ``Step Index / 1`` (the
    instrument's own step number) and, with ``capacities``, ``Charging
    Capacity / Ah``, ``Discharging Capacity / Ah``, ``Charging Energy / Wh``,
    ``Discharging Energy / Wh`` integrated per cycle (trapezoidal, restarting
    at each cycle). Numbers are written with 17 significant digits, so
    :func:`read_bdf` gives back time, voltage, current, cycle and step exactly.

    Parameters
    ----------
    data : CyclingData
    path : path-like
        Use a name ending in ``.bdf`` or ``.bdf.csv``.
    capacities : bool
        Add the integrated capacity and energy columns.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    p = Path(path)
    t, v, cur = data.time, data.voltage, data.current
    cols: list[tuple[str, np.ndarray, str]] = [("Test Time / s", t, "g"), ("Voltage / V", v, "g"),
                                                ("Current / A", cur, "g")]
    t0 = _start_time(data)
    if t0 is not None:
        cols.append(("Unix Time / s", t0 + t, "g"))
    cyc = data.cycle
    if cyc is None:
        from ncmsurf.cycling._segment import segment

        cyc = segment(data).cycle
    cols.append(("Cycle Count / 1", np.asarray(cyc, np.int64), "d"))
    if data.step is not None:
        stp = np.asarray(data.step, np.int64)
        change = np.concatenate(([True], stp[1:] != stp[:-1]))
        cols.append(("Step Count / 1", np.cumsum(change).astype(np.int64), "d"))
        cols.append(("Step Index / 1", stp, "d"))
    if capacities:
        dt = np.diff(t)
        dq = np.concatenate(([0.0], 0.5 * (cur[1:] + cur[:-1]) * dt)) / 3600.0
        pw = cur * v
        de = np.concatenate(([0.0], 0.5 * (pw[1:] + pw[:-1]) * dt)) / 3600.0
        cy = np.asarray(cyc)
        new = np.concatenate(([True], cy[1:] != cy[:-1]))
        cols += [("Charging Capacity / Ah", _per_cycle_cumsum(np.where(dq > 0, dq, 0.0), new), "g"),
                 ("Discharging Capacity / Ah", _per_cycle_cumsum(np.where(dq < 0, -dq, 0.0), new), "g"),
                 ("Charging Energy / Wh", _per_cycle_cumsum(np.where(de > 0, de, 0.0), new), "g"),
                 ("Discharging Energy / Wh", _per_cycle_cumsum(np.where(de < 0, -de, 0.0), new), "g")]
    header = ",".join(c[0] for c in cols)
    fmt = ",".join("%d" if kind == "d" else "%.17g" for _, _, kind in cols)
    table = np.empty((t.size, len(cols)), dtype=object)
    for j, (_, arr, _kind) in enumerate(cols):
        table[:, j] = arr
    with open(p, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(header + "\n")
        np.savetxt(fh, table, fmt=fmt, delimiter=",")
    return p


def read_bdf(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read a Battery Data Format CSV file (preferred labels or machine-readable names).

    ``Cycle Count`` becomes the cycle, ``Step Index`` (else ``Step Count``) the step;
    every other BDF quantity is kept in ``columns`` under its machine-readable
    name with its unit. A header field that is no BDF quantity is an error (the
    format fixes its columns and units).

    Raises
    ------
    ReadError
        A header without the required quantities, an unknown column, a row with
        the wrong number of fields, a non-number (with its line).
    """
    from ncmsurf.io._table import find_table

    p = Path(path)
    # a last row without a line end is checked for a cut, and a TableWarning says when it cannot be told whole
    table = find_table(p, min_columns=3, unterminated="check")
    if table.header_line is None:
        raise ReadError(p, 1, "no BDF header row (Test Time / s, Voltage / V, Current / A)")
    names = list(table.names)
    quantities = [lookup(n) for n in names]
    unknown = [n for n, q in zip(names, quantities) if q is None]
    if unknown:
        raise ReadError(p, table.header_line, f"header field(s) {unknown} are not Battery Data Format quantities")
    if not bdf_header_ok(names):
        raise ReadError(p, table.header_line, "the header lacks a required BDF quantity "
                                              "(Test Time / s, Voltage / V, Current / A)")
    by: dict[str, np.ndarray] = {}
    for n, q in zip(names, quantities):
        assert q is not None
        if q.name in by:
            raise ReadError(p, table.header_line, f"BDF quantity {q.label!r} appears twice")
        by[q.name] = table.column(n)
    lines = table.line_numbers

    def ints(key: str) -> np.ndarray | None:
        if key not in by:
            return None
        arr = by.pop(key)
        bad = np.flatnonzero(arr != np.round(arr))
        if bad.size:
            raise ReadError(p, int(lines[bad[0]]), f"{key}: {arr[bad[0]]} is not an integer")
        return arr.astype(np.int64)

    t = by.pop("test_time_second")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        j = int(back[0]) + 1
        raise ReadError(p, int(lines[j]), f"time decreases ({t[j]} s after {t[j - 1]} s)")
    v = by.pop("voltage_volt")
    cur = by.pop("current_ampere")
    cyc = ints("cycle_count")
    step_index = ints("step_index")
    step_count = ints("step_count")
    stp = step_index if step_index is not None else step_count
    extra = dict(by)
    units = {k: _BY_KEY[k].unit for k in extra}
    if step_index is not None and step_count is not None:
        extra["step_count"] = step_count
        units["step_count"] = "1"
    meta = {"source_file": str(p), "format": "bdf-csv", "rows_read": int(table.nrows),
            "instrument_columns": names}
    if "charging_capacity_ah" in extra and "discharging_capacity_ah" in extra:
        meta["instrument_capacity"] = {"counters": [
            {"column": "charging_capacity_ah", "units": "Ah", "kind": "resetting", "direction": "charge"},
            {"column": "discharging_capacity_ah", "units": "Ah", "kind": "resetting", "direction": "discharge"}],
            "source": "BDF Charging/Discharging Capacity / Ah"}
    from ncmsurf.core._validate import adopt_arrays

    try:
        with adopt_arrays():  # the arrays were made here and are dropped: the record holds them once
            return CyclingData(t, v, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                               column_units=units)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc
