"""BioLogic EC-Lab cycling records: .mpt text (GCPL, CV, ...) natively, .mpr via ``galvani``.

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

import io
import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io._table import looks_binary, split_name_unit
from ncmsurf.io.cyclers import _check_time, _extra_columns, _integers, _numeric, _split_body
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


def _build(path: Path, df: pd.DataFrame, numbers: np.ndarray, mass: Any, sample: Any,
           meta: dict[str, Any]) -> CyclingData:
    names = [str(c) for c in df.columns]
    tn = _pick(names, _TIME)
    vn = _pick(names, _VOLT)
    iname = _pick(names, _CURR)
    missing = [r for r, n in (("time/s", tn), ("Ewe/V", vn), ("I/mA", iname)) if n is None]
    if missing:
        raise ReadError(path, None, f"no {', '.join(missing)} column among {names[:20]}")
    assert tn is not None and vn is not None and iname is not None
    t = _numeric(path, df[tn], tn, numbers)
    _check_time(path, t, numbers)
    volt = _numeric(path, df[vn], vn, numbers)
    cur = _numeric(path, df[iname], iname, numbers)
    unit = split_name_unit(iname)[1]
    cur = cur * (1e-3 if unit == "mA" else 1.0)
    used = {tn, vn, iname}
    cyc = stp = None
    cn = _pick(names, ("cycle number",))
    if cn is not None:
        cyc = _integers(path, _numeric(path, df[cn], cn, numbers), cn, numbers)
        used.add(cn)
    if "Ns" in names:
        stp = _integers(path, _numeric(path, df["Ns"], "Ns", numbers), "Ns", numbers)
        used.add("Ns")
    extra, units = _extra_columns(df, used)
    if "freq/Hz" in names:
        f = pd.to_numeric(df["freq/Hz"], errors="coerce").to_numpy(dtype=float)
        meta["impedance_rows"] = int(np.sum(np.nan_to_num(f) > 0))
    meta["current_column"] = iname
    try:
        return CyclingData(t, volt, cur, cycle=cyc, step=stp, mass=mass, sample=sample, meta=meta, columns=extra,
                           column_units=units)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc


def read_mpt(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read an EC-Lab .mpt text export (any technique with time/s, Ewe/V, I/mA columns).

    Decimal commas (French locale exports) are accepted. The header text is
    kept in ``meta["header"]`` and the technique name in ``meta["technique"]``.

    Raises
    ------
    ReadError
        Missing "Nb header lines", missing columns, a malformed or cut row.
    """
    p = Path(path)
    raw = p.read_bytes()
    if looks_binary(raw[:4096]):
        raise ReadError(p, None, "binary content where an EC-Lab .mpt text file was expected")
    text = raw.decode("latin-1")
    if not text.startswith("EC-Lab ASCII FILE"):
        raise ReadError(p, 1, "not an EC-Lab ASCII file (first line must be 'EC-Lab ASCII FILE')")
    m = re.search(r"Nb header lines\s*:\s*(\d+)", text[:4096])
    if m is None:
        raise ReadError(p, 2, "no 'Nb header lines : N' line")
    nhead = int(m.group(1))
    lines = text.splitlines()
    if nhead < 1 or nhead > len(lines):
        raise ReadError(p, 2, f"'Nb header lines' says {nhead} but the file has {len(lines)} lines")
    k = nhead - 1
    names = [c.strip() for c in lines[k].rstrip("\t\r ").split("\t")]
    if not any(c in names for c in _TIME):
        raise ReadError(p, nhead, f"line {nhead} (the column header by 'Nb header lines') lacks 'time/s': "
                                  f"{names[:8]}")
    body, numbers, _nf = _split_body(p, text, k, "\t")
    try:
        df = pd.read_csv(io.StringIO("\n".join(ln.rstrip("\t\r") for ln in body)), sep="\t", header=None,
                         names=names, dtype=str, engine="c", keep_default_na=False, na_values=[""],
                         index_col=False)
    except pd.errors.ParserError as exc:
        mm = re.search(r"line (\d+)", str(exc))
        line = int(numbers[int(mm.group(1)) - 1]) if mm else None
        raise ReadError(p, line, f"wrong number of fields: {exc}") from exc
    if len(df) != len(body):
        raise ReadError(p, None, f"parsed {len(df)} rows but the file holds {len(body)} data rows")
    tech = ""
    for ln in lines[:k]:
        if _CYCLING_TECH.search(ln) or _EIS_TECH.search(ln):
            tech = ln.strip()
            break
    meta = {"source_file": str(p), "format": "biologic-mpt", "rows_read": int(len(df)),
            "header": [ln.rstrip() for ln in lines[:k]], "technique": tech}
    return _build(p, df, numbers, mass, sample, meta)


def _sniff_mpr(path: Path, head: bytes) -> float:
    if not head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return 0.0
    # galvanostatic data modules hold "I/mA" and "Ewe/V"; impedance-only files are left to the EIS reader
    return 0.7


def read_mpr(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None, **_: Any) -> CyclingData:
    """Read an EC-Lab binary .mpr through the optional ``galvani`` package.

    Raises
    ------
    ReadError
        When ``galvani`` is not installed or cannot parse the file.
    """
    p = Path(path)
    try:
        from galvani import BioLogic
    except ImportError as exc:
        raise ReadError(p, None, "reading .mpr needs the optional 'galvani' package (pip install galvani)") from exc
    try:
        mpr = BioLogic.MPRfile(str(p))
    except Exception as exc:  # galvani raises many types on corrupt input
        raise ReadError(p, None, f"galvani could not parse the .mpr: {type(exc).__name__}: {exc}") from exc
    data = mpr.data
    if data is None or len(data) == 0:
        raise ReadError(p, None, "no data rows in the .mpr")
    df = pd.DataFrame({n: np.asarray(data[n]) for n in data.dtype.names if np.asarray(data[n]).ndim == 1})
    numbers = np.arange(1, len(df) + 1, dtype=np.int64)
    meta = {"source_file": str(p), "format": "biologic-mpr", "rows_read": int(len(df)),
            "start_date": str(getattr(mpr, "startdate", "")), "line_numbers_are": "record indices"}
    return _build(p, df, numbers, mass, sample, meta)


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
                            "BioLogic EC-Lab binary .mpr (optional galvani package)")

READERS = [BIOLOGIC_MPT, BIOLOGIC_MPR]
"""Readers registered under the ``biologic_cycling`` entry point."""
