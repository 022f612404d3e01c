"""BioLogic EC-Lab cycling records: .mpt text (GCPL, CV, ...) and binary .mpr (own parser).

The current is converted to A with the EC-Lab sign (positive = oxidation of
the working electrode = charge of a cathode). Rows of impedance techniques
recorded in the same file (PEIS/GEIS, with ``freq/Hz`` > 0) are kept and
counted in ``meta["impedance_rows"]``; their current is the mean current.
Instrument columns ``cycle number``/``half cycle`` and ``Ns`` are kept as
cycle and step. A PEIS-only .mpt scores low here so the impedance reader
takes it.

Examples
--------
>>> import tempfile, pathlib
>>> from ncmsurf.datasets.cycling import synthetic_record
>>> rec = synthetic_record(n_cycles=1, noise=0.0)
>>> with tempfile.TemporaryDirectory() as tmp:
...     p = write_mpt(rec, pathlib.Path(tmp) / "gcpl.mpt")
...     back = read_mpt(p)
>>> len(back) == len(rec), back.meta["technique"]
(True, 'Galvanostatic Cycling with Potential Limitation')
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._cycler_text import check_time, make_record
from ncmsurf.io._mpr import MAGIC, TECHNIQUES, MprFile, parse_mpr
from ncmsurf.io._table import TextFile, split_fields, table_at
from ncmsurf.io.registry import SimpleReader

__all__ = ["BIOLOGIC_MPR", "BIOLOGIC_MPT", "READERS", "read_mpr", "read_mpt", "write_mpt"]

_CYCLING_TECH = re.compile(r"galvanostatic|gcpl|cyclic voltammetry|chronopotentiometry|chronoamperometry|"
                           r"constant current|\bcccv\b|modulo bat|potentiostatic", re.IGNORECASE)
_EIS_TECH = re.compile(r"impedance spectroscopy|\bpeis\b|\bgeis\b", re.IGNORECASE)

_TIME = ("time/s",)
_VOLT = ("Ewe/V", "Ecell/V", "<Ewe>/V", "<Ewe/V>", "Ewe-Ece/V")
_CURR = ("I/mA", "<I>/mA", "control/mA", "I/A", "<I>/A")


def _sniff_mpt(path: Path, head: bytes) -> float:
    if not head.startswith(b"EC-Lab ASCII FILE"):
        return 0.0
    text = head.decode("latin-1", errors="replace")
    header_cols = ""
    m = re.search(r"Nb header lines\s*:\s*(\d+)", text)
    if m:
        lines = text.splitlines()
        k = int(m.group(1)) - 1
        if k < len(lines):
            header_cols = lines[k]
    cyc = bool(_CYCLING_TECH.search(text))
    eis = bool(_EIS_TECH.search(text)) or "freq/Hz" in header_cols
    has_i = any(c in header_cols.split("\t") for c in _CURR)
    if cyc and not eis:
        return 0.95
    if cyc and eis:
        return 0.6
    if eis:
        return 0.05
    return 0.5 if has_i else 0.2


def _pick(names: list[str], options: tuple[str, ...]) -> str | None:
    for o in options:
        if o in names:
            return o
    return None


def read_mpt(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read an EC-Lab .mpt text export (any technique with time/s, Ewe/V and a current column).

    Read through the strict table core: the column header is the line that
    ``Nb header lines`` names, every row's field count is checked, the decimal
    mark (French-locale exports write commas) is decided once for the file, and
    every further numeric column (``(Q-Qo)/mA.h``, ``Q charge/discharge/mA.h``,
    ``half cycle``, ...) is kept complete or dropped with a warning naming it and
    its first bad line. A header naming more columns than the rows hold is read
    with the rows' columns, the surplus names in ``meta["table"]``. ``<I>/mA``
    (EC-Lab's mean current since the previous record) is integrated as such
    (``meta["current_kind"]``); ``(Q-Qo)`` is named as the instrument's counter.

    Raises
    ------
    ReadError
        Missing "Nb header lines", missing columns, a malformed or cut row,
        time going backwards (each with its line).
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.first_lines(3)
    if not lines or not lines[0].startswith("EC-Lab ASCII FILE"):
        raise ReadError(p, 1, "not an EC-Lab ASCII file (first line must be 'EC-Lab ASCII FILE')")
    m = re.match(r"Nb header lines\s*:\s*(\d+)", lines[1] if len(lines) > 1 else "")
    if m is None:
        raise ReadError(p, 2, "no 'Nb header lines : N' line")
    nhead = int(m.group(1))
    lines = tf.first_lines(nhead + 1)
    if nhead < 2 or nhead > len(lines):
        raise ReadError(p, 2, f"'Nb header lines' says {nhead} but the file has {len(lines)} lines")
    header = split_fields(lines[nhead - 1], "\t")
    numberish = [c for c in header if c and re.fullmatch(r"[-+]?[\d.,]+(?:[eE][-+]?\d+)?", c.strip())]
    if numberish:
        raise ReadError(p, nhead, f"the column header (line {nhead} by 'Nb header lines') holds numbers "
                                  f"{numberish[:3]}: a damaged header or a data row joined to it")
    if not any(c in header for c in _TIME):
        raise ReadError(p, nhead, f"line {nhead} (the column header by 'Nb header lines') lacks 'time/s': "
                                  f"{header[:8]}")
    table = table_at(tf, header=nhead - 1, start=nhead, delimiter="\t", surplus_names="allow")
    if table.nrows == 0:
        raise ReadError(p, nhead, "no data rows after the column header")
    names = table.names
    tn = _pick(names, _TIME)
    vn = _pick(names, _VOLT)
    iname = _pick(names, _CURR)
    missing = [r for r, n in (("time/s", tn), ("Ewe/V", vn), ("I/mA", iname)) if n is None]
    if missing:
        raise ReadError(p, nhead, f"no {', '.join(missing)} column among {names[:20]}")
    assert tn is not None and vn is not None and iname is not None
    t = table.column(tn)
    check_time(p, t, table.line_numbers)
    volt = table.column(vn)
    cur = table.column(iname) * (1e-3 if iname.endswith("/mA") else 1.0)
    used = [tn, vn, iname]
    cyc = stp = None
    if "cycle number" not in names:
        near = difflib.get_close_matches("cycle number", names, n=1, cutoff=0.7) or [
            n for n in names if "cycle" in n and "number" in n][:1]
        if near:  # a damaged label would silently turn the instrument's cycles into an extra column
            raise ReadError(p, nhead, f"column {near[0]!r} in the header looks like a damaged 'cycle number'")
    if "cycle number" in names:
        cyc = table.integers("cycle number")
        used.append("cycle number")
    if "Ns" in names:
        stp = table.integers("Ns")
        used.append("Ns")
    # keys from every candidate column (kept or not), so that a dropped column never renames another
    keyed: dict[str, tuple[str, str]] = {}
    taken: set[str] = set()
    for name in table.names:
        if name in used or table.kinds[name] != "number":
            continue
        key, unit = _key(name)
        if key in taken:
            key = f"{key}_{re.sub(r'[^0-9a-zA-Z]+', '_', unit).strip('_').lower()}"
        while key in taken or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        taken.add(key)
        keyed[name] = (key, unit)
    raw_extra = table.optional(exclude=used)
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, arr in raw_extra.items():
        key, unit = keyed[name]
        extra[key] = arr
        units[key] = unit
    tech = ""
    for ln in lines[:nhead - 1]:
        if _CYCLING_TECH.search(ln) or _EIS_TECH.search(ln):
            tech = ln.strip()
            break
    meta: dict[str, Any] = {"source_file": str(p), "format": "biologic-mpt", "rows_read": int(table.nrows),
                            "header": [ln.rstrip() for ln in lines[:nhead - 1]], "technique": tech,
                            "current_column": iname, "table": table.layout(),
                            "current_kind": "interval-mean" if iname.startswith("<I>") else "instantaneous"}
    if table.dropped:
        meta["dropped_columns"] = dict(table.dropped)
    if "freq" in extra:
        meta["impedance_rows"] = int(np.sum(extra["freq"] > 0))
    if "q_qo" in extra and units.get("q_qo") == "mAh":
        meta["instrument_capacity"] = {"counters": [{"column": "q_qo", "units": "mAh", "kind": "net"}],
                                       "source": "EC-Lab (Q-Qo)/mA.h"}
    return make_record(p, t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                       units=units)


def _sniff_mpr(path: Path, head: bytes) -> float:
    if not head.startswith(MAGIC):
        return 0.0
    # a data module of a technique with galvanostatic/potentiostatic records; impedance-only files score
    # lower so that the EIS reader takes them
    k = head.find(b"VMP Set")
    tid = _technique_id(head, k)
    if tid is not None and TECHNIQUES.get(tid, ("", ""))[0] in ("PEIS", "GEIS"):
        return 0.1
    return 0.7


def _technique_id(head: bytes, k: int) -> int | None:
    """Technique id (first byte of the settings data) from the file head, if the header is complete."""
    if k < 0:
        return None
    h = k
    if head[h + 35:h + 39] == b"\xff\xff\xff\xff":
        at = h + 59
    else:
        at = h + 51
    return head[at] if at < len(head) else None


def _key(name: str) -> tuple[str, str]:
    """Column key and unit from an EC-Lab column name ("(Q-Qo)/mA.h" -> "q_qo", "mAh")."""
    nm, unit = name, "1"
    if name == "ox/red":
        return "ox_red", "1"
    special = next((s for s in ("Q charge/discharge", "control/V/mA") if name.startswith(s + "/")
                    or name == s), None)
    m = re.match(r"^(.*?)/([^/]*)$", name)
    if special == "control/V/mA":
        nm, unit = "control", "V/mA"
    elif special is not None:
        nm, unit = special, name.rsplit("/", 1)[1]
    elif m and m.group(1):
        nm, unit = m.group(1), m.group(2)
    key = re.sub(r"[^0-9a-zA-Z]+", "_", nm).strip("_").lower() or "col"
    unit = {"mA.h": "mAh", "W.h": "Wh", "Ohm": "ohm", "µF": "uF", "°C": "degC", "µF-2": "uF**-2"}.get(unit, unit)
    return key, unit


#: Current columns in order of preference (EC-Lab names) and their factor to A.
_MPR_CURRENT = (("I/mA", 1e-3), ("<I>/mA", 1e-3))
_MPR_VOLTAGE = ("Ewe/V", "<Ewe>/V", "Ecell/V", "Ewe-Ece/V")


def _derived_current(mpr: MprFile) -> tuple[np.ndarray, str]:
    """Current (A) of a file that stores no current column: from dq/dt, the control value where dq cannot tell.

    EC-Lab's ``dq`` is the charge passed since the previous record, so dq/dt is the mean current of that
    interval, the quantity EC-Lab itself exports as ``<I>/mA``. Records in rest (mode 3) carry no current;
    where the interval is empty (dt = 0) the control value is used for galvanostatic records (mode 1,
    ``control/V/mA`` holds the set current in mA).
    """
    cols = mpr.columns
    dq_name = next((n for n in ("dq/mA.h", "dQ/mA.h") if n in cols), None)
    mode = cols.get("mode")
    if dq_name is None and (mpr.technique == "OCV" or (mode is not None and mode.size and np.all(mode == 3))):
        return np.zeros(mpr.n_records), "none stored: open-circuit records (no current flows), current set to 0"
    if dq_name is None:
        raise ReadError(mpr.path, None, f"no current column (I/mA, <I>/mA) and no dq column to derive it from "
                                        f"among {sorted(cols)[:20]}")
    t = cols["time/s"]
    dq = np.asarray(cols[dq_name], dtype=float)
    dt = np.diff(t, prepend=t[0])
    with np.errstate(divide="ignore", invalid="ignore"):
        cur = np.where(dt > 0, dq * 3.6 / np.where(dt > 0, dt, 1.0), np.nan)  # mA.h / s * 3600 / 1000 -> A
    ctrl = cols.get("control/V/mA", cols.get("control/mA"))
    how = f"derived: {dq_name} / dt of each record (EC-Lab's <I>)"
    if mode is not None:
        cur[mode == 3] = 0.0
        if ctrl is not None:
            cc = (mode == 1) & ~np.isfinite(cur)
            cur[cc] = np.asarray(ctrl, dtype=float)[cc] * 1e-3
            if cc.any():
                how += f"; {int(cc.sum())} galvanostatic record(s) with dt = 0 take the control value"
    bad = ~np.isfinite(cur)
    cur[bad & (dq == 0)] = 0.0
    bad = ~np.isfinite(cur)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ReadError(mpr.path, None, f"record {j + 1}: current cannot be derived (dq = {dq[j]} mA.h in "
                                        f"dt = {dt[j]} s)")
    return cur, how


def _mpr_record(mpr: MprFile, mass: Any, sample: Any) -> CyclingData:
    p = mpr.path
    cols = mpr.columns
    if mpr.n_records == 0:
        raise ReadError(p, None, "no data records in the .mpr")
    if "time/s" not in cols:
        raise ReadError(p, None, f"no time/s column among {sorted(cols)[:20]}")
    t = np.asarray(cols["time/s"], dtype=float)
    vn = next((n for n in _MPR_VOLTAGE if n in cols), None)
    if vn is None:
        raise ReadError(p, None, f"no working-electrode voltage column ({', '.join(_MPR_VOLTAGE)})")
    volt = np.asarray(cols[vn], dtype=float)
    used = {"time/s", vn}
    cn = next((n for n, _ in _MPR_CURRENT if n in cols), None)
    if cn is not None:
        cur = np.asarray(cols[cn], dtype=float) * 1e-3
        how = f"stored: {cn}"
        used.add(cn)
    else:
        cur, how = _derived_current(mpr)
    for arr, nm in ((t, "time/s"), (volt, vn), (cur, "current")):
        fin = np.isfinite(arr)
        if not fin.all():
            j = int(np.flatnonzero(~fin)[0])
            raise ReadError(p, None, f"record {j + 1}: {nm} is not finite ({arr[j]})")
    back = np.flatnonzero(np.diff(t) < 0)
    if back.size:
        j = int(back[0]) + 1
        raise ReadError(p, None, f"record {j + 1}: time decreases ({t[j]} s after {t[j - 1]} s)")
    cyc = stp = None
    if "cycle number" in cols:
        cyc = np.asarray(cols["cycle number"]).astype(np.int64)
        used.add("cycle number")
    if "Ns" in cols:
        stp = np.asarray(cols["Ns"]).astype(np.int64)
        used.add("Ns")
    extra: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, arr in cols.items():
        if name in used:
            continue
        key, unit = _key(name)
        if key in extra:
            key = f"{key}_{re.sub(r'[^0-9a-zA-Z]+', '_', unit).strip('_').lower()}"
        while key in extra or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        extra[key] = np.asarray(arr)
        units[key] = unit
    if mpr.loops.size:
        loop = np.zeros(t.size, np.int64)
        for k, start in enumerate(mpr.loops[1:], start=1):
            loop[int(start):] = k
        extra["loop"] = loop
        units["loop"] = "1"
    breaks = _record_breaks(mpr)
    meta: dict[str, Any] = {
        "source_file": str(p), "format": "biologic-mpr", "rows_read": int(mpr.n_records),
        "technique": mpr.technique, "technique_id": mpr.technique_id, "ec_lab_version": mpr.ec_lab_version,
        "start_time": mpr.start.isoformat() if mpr.start is not None else "",
        "data_module_version": int(mpr.data_version), "column_ids": list(mpr.column_ids),
        "current_column": cn or "", "current_source": how, "voltage_column": vn,
        "current_kind": "instantaneous" if cn == "I/mA" else "interval-mean",
        "line_numbers_are": "record indices", "record_breaks": breaks,
        "instrument_columns": list(cols),
    }
    if mpr.unknown_columns:
        meta["unknown_columns"] = list(mpr.unknown_columns)
    if "freq" in extra:
        meta["impedance_rows"] = int(np.sum(extra["freq"] > 0))
    if "q_qo" in extra:
        meta["instrument_capacity"] = {"counters": [{"column": "q_qo", "units": "mAh", "kind": "net"}],
                                       "source": "EC-Lab (Q-Qo)/mA.h"}
    try:
        return CyclingData(t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                           column_units=units)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc


def _record_breaks(mpr: MprFile) -> list[int]:
    """Records where the recording restarts: each loop start after the first (another technique may run between)."""
    return sorted({int(x) for x in mpr.loops if 0 < int(x) < mpr.n_records})


def read_mpr(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read an EC-Lab binary .mpr of any technique with a working-electrode voltage (GCPL, MB, CA, CP, OCV, ...).

    The parser is ncmsurf's own (:mod:`ncmsurf.io._mpr`): galvani 0.5 lacks the column ids of
    EC-Lab 11.50 and newer and yadg pins ``pandas < 3``, and both are GPL; the layout is implemented
    from the format's public descriptions and tested against galvani's output where galvani reads a file.

    The current is EC-Lab's ``I/mA`` or ``<I>/mA`` in A. Techniques that store no current (GCPL stores
    the control value and ``dq``) get it derived as ``dq / dt`` of each record (exactly EC-Lab's
    exported ``<I>``), 0 in rest records and the control value where an interval is empty; the choice
    is stated in ``meta["current_source"]``. EC-Lab's ``(Q-Qo)``, ``half cycle``, ``Q charge/discharge``
    and every other stored column are kept in ``columns`` (``q_qo`` in mAh, ...), the loop of each
    record in ``columns["loop"]``, the loop starts in ``meta["record_breaks"]`` (integration does not
    bridge them), and ``(Q-Qo)`` is named as the instrument's capacity counter in
    ``meta["instrument_capacity"]``. ``cycle number`` and ``Ns`` become cycle and step.

    Raises
    ------
    ReadError
        Not an .mpr, a cut or inconsistent module, unknown column ids whose size cannot be told,
        no voltage column, no current and no dq, a non-finite value, time going backwards
        (records are numbered from 1 in place of lines).
    """
    p = Path(path)
    return _mpr_record(parse_mpr(p), mass, sample)


def write_mpt(data: CyclingData, path: str | os.PathLike[str], *, technique: str =
              "Galvanostatic Cycling with Potential Limitation") -> Path:
    """Write a record as a minimal EC-Lab .mpt (GCPL) text file that :func:`read_mpt` reads back.

    Columns: ``mode``, ``Ns``, ``time/s``, ``Ewe/V``, ``I/mA``, ``cycle number``
    (the record's own or 0), with 17 significant digits.

    Returns
    -------
    pathlib.Path
    """
    p = Path(path)
    n = len(data)
    cyc = data.cycle if data.cycle is not None else np.zeros(n, np.int64)
    stp = data.step if data.step is not None else np.zeros(n, np.int64)
    mode = np.where(data.current == 0, 3, 1)
    cols = ["mode", "Ns", "time/s", "Ewe/V", "I/mA", "cycle number"]
    header = ["EC-Lab ASCII FILE", "Nb header lines : 6", "", technique, "", "\t".join(cols)]
    df = pd.DataFrame({"mode": mode, "Ns": stp, "time/s": data.time, "Ewe/V": data.voltage,
                       "I/mA": data.current * 1e3, "cycle number": cyc})
    body = df.to_csv(sep="\t", header=False, index=False, float_format="%.17g", lineterminator="\n")
    p.write_text("\n".join(header) + "\n" + body, encoding="latin-1")
    return p


BIOLOGIC_MPT = SimpleReader("biologic-mpt-cycling", "cycling", (".mpt",), _sniff_mpt,
                            lambda path, **kw: [read_mpt(path, **kw)],
                            "BioLogic EC-Lab .mpt text export of a cycling technique (GCPL, CV, ...)")
BIOLOGIC_MPR = SimpleReader("biologic-mpr-cycling", "cycling", (".mpr",), _sniff_mpr,
                            lambda path, **kw: [read_mpr(path, **kw)],
                            "BioLogic EC-Lab binary .mpr of a cycling technique (GCPL, MB, CA, CP, OCV; EC-Lab 10-11)")

READERS = [BIOLOGIC_MPT, BIOLOGIC_MPR]
"""Readers registered under the ``biologic_cycling`` entry point."""
