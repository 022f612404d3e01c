"""Neware BTS binary records: .nda and .ndax, parsed by ncmsurf itself.

Why an own parser
-----------------
NewareNDA (BSD-3, optional) reads these files record by record in Python;
on a 700,000-record .ndax that takes about 9-11 s. The layouts it documents
(and that its tests pin) are fixed-size little-endian records, so this module
reads them as numpy structured arrays in one pass. Where a file's version is
not one of the layouts below, NewareNDA is used when installed (and the
reader says so in ``meta["parser"]``), else the file is refused naming the
version.

Layouts read
------------
- .nda version 29 (BTS 7.x): 86-byte records tagged ``0x55 0x00``.
- .nda version 130 (BTS 9.0): 88-byte records whose first 6 bytes repeat the
  first record's; (BTS 9.1): records tagged ``0x55`` of the length found
  from the first two.
- .ndax (BTS 8.x, a zip): ``data.ndc`` (voltage, current), with
  ``data_runInfo.ndc`` (test time, logging interval, capacities, energies,
  clock) and ``data_step.ndc`` (cycle, step number, step type), ndc versions
  11, 14, 16 and 17 in 4096-byte pages; ``data.ndc`` of version 5 (records
  tagged ``0x55``, all fields in one file). Records of ``data.ndc`` without a
  ``runInfo`` record get their time, capacities and energies interpolated
  from the last logged record and its logging interval, as NewareNDA does;
  ``meta["interpolated_records"]`` counts them.

Damage
------
A .nda is read only when it is whole: every record slot from the first
record to the end (BTS 9.1: to the footer, which must be there) is a record
of the layout, records are numbered n, n + 1, ... in file order, step types
are Neware's codes and no step number splits a step (see
``_check_steps``); otherwise the ``ReadError`` names the record and its byte
offset. A .ndax is a zip, whose CRCs show damage.

Time
----
Neware's record time is the step time in some files and the test time in
others. :func:`time_semantics` decides from the whole record: when the time
never decreases it is the test time; when it falls back only at step starts
(and never inside a step) it is the step time, and the test time is the
running sum of step-time increments, each step starting where the previous
one ended. Anything else is refused. The decision is in
``meta["time_source"]``.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core._validate import adopt_arrays
from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.io.registry import SimpleReader

__all__ = ["NEWARE_NDA", "READERS", "STATUS", "parse_nda", "parse_ndax", "read_neware_nda", "time_semantics"]

#: Neware step-type codes.
STATUS: dict[int, str] = {
    1: "CC_Chg", 2: "CC_DChg", 3: "CV_Chg", 4: "Rest", 5: "Cycle", 7: "CCCV_Chg", 8: "CP_DChg", 9: "CP_Chg",
    10: "CR_DChg", 13: "Pause", 16: "Pulse", 17: "SIM", 19: "CV_DChg", 20: "CCCV_DChg", 21: "Control", 22: "OCV",
    26: "CPCV_DChg", 27: "CPCV_Chg",
}

#: Current range setting -> factor of the integer current and capacities (.nda 29, ndc 5).
_RANGE: dict[int, float] = {
    -100000000: 10, -200000: 1e-2, -100000: 1e-2, -60000: 1e-2, -50000: 1e-2, -40000: 1e-2, -30000: 1e-2,
    -20000: 1e-2, -12000: 1e-2, -10000: 1e-2, -6000: 1e-2, -5000: 1e-2, -3000: 1e-2, -2000: 1e-2, -1000: 1e-2,
    -500: 1e-3, -100: 1e-3, -50: 1e-4, -25: 1e-4, -20: 1e-4, -10: 1e-4, -5: 1e-5, -2: 1e-5, -1: 1e-5, 0: 0.0,
    1: 1e-4, 2: 1e-4, 5: 1e-4, 10: 1e-3, 20: 1e-3, 25: 1e-3, 50: 1e-3, 100: 1e-2, 200: 1e-2, 250: 1e-2,
    500: 1e-2, 1000: 1e-1, 6000: 1e-1, 10000: 1e-1, 12000: 1e-1, 20000: 1e-1, 30000: 1e-1, 40000: 1e-1,
    50000: 1e-1, 60000: 1e-1, 100000: 1e-1, 200000: 1e-1,
}

_PAGE = 4096

#: The record fields every layout yields (capacities in mAh, energies in mWh, current in mA).
_FIELDS = ("index", "cycle", "step_index", "status", "time", "voltage", "current_ma", "charge_capacity",
           "discharge_capacity", "charge_energy", "discharge_energy", "unix_time")


def _range_factor(path: Path, rng: np.ndarray) -> np.ndarray:
    keys = np.unique(rng)
    unknown = [int(k) for k in keys if int(k) not in _RANGE]
    if unknown:
        raise ReadError(path, None, f"current range setting(s) {unknown[:5]} unknown; the current cannot be scaled")
    lut = {int(k): _RANGE[int(k)] for k in keys}
    out = np.empty(rng.size)
    for k, f in lut.items():
        out[rng == k] = f
    return out


def _counted_steps(step_index: np.ndarray) -> np.ndarray:
    """1, 2, 3, ... increasing at every change of the step number (the steps in file order)."""
    change = np.ones(step_index.size, bool)
    change[1:] = step_index[1:] != step_index[:-1]
    return np.cumsum(change).astype(np.int64)


def _consecutive(path: Path, index: np.ndarray, offsets: np.ndarray, what: str) -> None:
    """Refuse records not numbered n, n + 1, n + 2, ... in file order, naming the record and its byte offset.

    A record lost, repeated, moved or damaged breaks the sequence.
    """
    if index.size == 0:
        return
    expect = index[0] + np.arange(index.size, dtype=np.int64)
    bad = np.flatnonzero(index.astype(np.int64) != expect)
    if bad.size:
        j = int(bad[0])
        raise ReadError(path, None, f"{what} record {j + 1} (byte offset {int(offsets[j])}) is numbered "
                                    f"{int(index[j])}, expected {int(expect[j])}: the record sequence is damaged")


def _known_status(path: Path, status: np.ndarray, offsets: np.ndarray) -> None:
    """Refuse a record whose step type is not one of Neware's codes."""
    bad = np.flatnonzero(~np.isin(status, np.array(sorted(STATUS))))
    if bad.size:
        j = int(bad[0])
        raise ReadError(path, None, f"record {j + 1} (byte offset {int(offsets[j])}) has step type "
                                    f"{int(status[j])}, not a Neware step type: the record is damaged")


def _slot_error(path: Path, offset: int, what: str) -> ReadError:
    return ReadError(path, None, f"byte offset {offset}: {what}")


# ------------------------------------------------------------------------------------------- .nda
def _nda_29(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    rl = 86
    ident = b"\x00\x00\x00\x00\x55\x00"
    h = raw.find(ident)
    while h >= 0 and h + 4 + rl < len(raw) and (raw[h + 4 + rl] != 0x55 or raw[h + 4 + 12] == 0):
        h = raw.find(ident, h + 4)
    if h < 0:
        raise ReadError(path, None, "no data records in the .nda (version 29)")
    start = h + 4
    n = (len(raw) - start) // rl
    if (len(raw) - start) % rl:
        raise _slot_error(path, start + n * rl, f"the .nda ends inside a record ({(len(raw) - start) % rl} of "
                                                f"{rl} bytes): the file is cut or bytes were added or lost")
    dt = np.dtype([("tag", "<u2"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "<u2"), ("status", "u1"),
                   ("_b13", "u1"), ("time", "<u8"), ("voltage", "<i4"), ("current", "<i4"), ("_pad", "V8"),
                   ("cc", "<i8"), ("dc", "<i8"), ("ce", "<i8"), ("de", "<i8"), ("year", "<u2"), ("month", "u1"),
                   ("day", "u1"), ("hour", "u1"), ("minute", "u1"), ("second", "u1"), ("_b77", "u1"),
                   ("range", "<i4"), ("tail", "<u4")])
    assert dt.itemsize == rl
    rec = np.frombuffer(raw, dt, count=n, offset=start)
    zero = np.asarray(~np.frombuffer(raw, np.uint8, count=n * rl, offset=start).reshape(n, rl).any(axis=1), bool)
    while n and zero[n - 1]:  # empty (all-zero) slots at the end of the file
        n -= 1
    rec = rec[:n]
    offsets = start + rl * np.arange(n, dtype=np.int64)
    data = (rec["tag"] == 0x55) & (rec["tail"] == 0)
    aux = ((rec["tag"] & 0xFF) == 0x65) & (rec["tail"] == 0)  # auxiliary channel records (not read)
    other = np.flatnonzero(~(data | aux))
    if other.size:
        j = int(other[0])
        raise _slot_error(path, int(offsets[j]), f"record slot {j + 1} is neither a data record (0x55 0x00 ... "
                                                 "0x00000000) nor an auxiliary record: the record is damaged or "
                                                 "bytes were added or lost before it")
    rec, offsets = rec[data], offsets[data]
    _consecutive(path, rec["index"], offsets, ".nda")
    _known_status(path, rec["status"], offsets)
    f = _range_factor(path, rec["range"])
    stamps = _calendar(rec)
    return {"index": rec["index"].astype(np.int64), "cycle": rec["cycle"].astype(np.int64) + 1,
            "step_index": rec["step_index"].astype(np.int64), "status": rec["status"].astype(np.int64),
            "time": rec["time"] / 1000.0, "voltage": rec["voltage"] / 10000.0, "current_ma": rec["current"] * f,
            "charge_capacity": rec["cc"] * f / 3600.0, "discharge_capacity": rec["dc"] * f / 3600.0,
            "charge_energy": rec["ce"] * f / 3600.0, "discharge_energy": rec["de"] * f / 3600.0,
            "unix_time": stamps, "offset": offsets}


def _calendar(rec: np.ndarray) -> np.ndarray:
    """Unix time from calendar fields (local clock of the tester, taken as UTC), NaN where invalid."""
    out = np.full(rec.size, np.nan)
    if rec.size == 0:
        return out
    y, mo, d = rec["year"].astype(np.int64), rec["month"].astype(np.int64), rec["day"].astype(np.int64)
    ok = (y > 1970) & (mo >= 1) & (mo <= 12) & (d >= 1) & (d <= 31)
    if ok.any():
        days = (np.array([f"{a:04d}-{b:02d}-{c:02d}" for a, b, c in zip(y[ok], mo[ok], d[ok])],
                         dtype="datetime64[D]").astype(np.int64))
        out[ok] = days * 86400.0 + rec["hour"][ok] * 3600.0 + rec["minute"][ok] * 60.0 + rec["second"][ok]
    return out


def _nda_130(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    if len(raw) < 1100:
        raise ReadError(path, None, "the .nda ends before its first data record")
    if raw[1024] == 0x55:  # BTS 9.1: record length from the distance to the next record
        rl = raw.find(raw[1024:1026], 1026) - 1024
        if rl < 52:
            raise ReadError(path, None, "cannot find the record length of this .nda (BTS 9.1)")
        fields = [("tag", "u1"), ("_b1", "u1"), ("step_index", "u1"), ("status", "u1"), ("_b4", "V4"),
                  ("index", "<u4"), ("t_s", "<u4"), ("t_ns", "<u4"), ("current", "<f4"), ("voltage", "<f4"),
                  ("capacity", "<f4"), ("energy", "<f4"), ("cycle", "<u4"), ("_b40", "V4"), ("date", "<u4"),
                  ("date_ns", "<u4")]
        if rl >= 56:
            fields.append(("temperature", "<f4"))
        used = int(np.dtype(fields).itemsize)
        if rl > used:
            fields.append(("_rest", f"V{rl - used}"))
        dt = np.dtype(fields)
        n = (len(raw) - 1024) // rl
        rec = np.frombuffer(raw, dt, count=n, offset=1024)
        offsets = 1024 + rl * np.arange(n, dtype=np.int64)
        tab = np.frombuffer(raw, np.uint8, count=n * rl, offset=1024).reshape(n, rl)
        # every slot up to the footer (tag 0x81) is a record: tag 0x55 and the first record's fixed bytes
        fixed = np.r_[1, 4:8]
        ok = (tab[:, 0] == 0x55) & (tab[:, fixed] == tab[0, fixed]).all(axis=1)
        end_slot = int(np.argmin(ok)) if not ok.all() else n
        if end_slot == n:
            tail = len(raw) - 1024 - n * rl
            raise _slot_error(path, 1024 + n * rl, "the .nda (BTS 9.1) ends " + (
                f"inside a record ({tail} of {rl} bytes)" if tail else "after a whole record") +
                " without its footer: the file is cut")
        if tab[end_slot, 0] != 0x81:
            raise _slot_error(path, int(offsets[end_slot]), f"record slot {end_slot + 1} is neither a data record "
                                                        "(tag 0x55, "
                                                        f"fixed bytes {tab[0, fixed].tolist()}) nor the footer (tag "
                                                        f"0x81): the record is damaged or bytes were added or lost "
                                                        "before it")
        rec, offsets = rec[:end_slot], offsets[:end_slot]
        _consecutive(path, rec["index"], offsets, ".nda")
        _known_status(path, rec["status"], offsets)
        cap = rec["capacity"].astype(float)
        en = rec["energy"].astype(float)
        out = {"index": rec["index"].astype(np.int64), "cycle": rec["cycle"].astype(np.int64) + 1,
               "step_index": rec["step_index"].astype(np.int64), "status": rec["status"].astype(np.int64),
               "time": rec["t_s"] + 1e-9 * rec["t_ns"], "voltage": rec["voltage"].astype(float),
               "current_ma": rec["current"].astype(float),
               "charge_capacity": np.where(cap < 0, 0.0, cap) / 3600.0,
               "discharge_capacity": np.where(cap > 0, 0.0, np.abs(cap)) / 3600.0,
               "charge_energy": np.where(en < 0, 0.0, en) / 3600.0,
               "discharge_energy": np.where(en > 0, 0.0, np.abs(en)) / 3600.0,
               "unix_time": rec["date"] + 1e-9 * rec["date_ns"]}
        if "temperature" in (rec.dtype.names or ()):
            out["temperature"] = rec["temperature"].astype(float)
        out["offset"] = offsets
        return out
    rl = 88
    ident = raw[1024:1030]
    dt = np.dtype([("head", "V6"), ("_b6", "V3"), ("step_index", "u1"), ("status", "u1"), ("_b11", "V5"),
                   ("index", "<u4"), ("_b20", "V8"), ("time", "<u8"), ("voltage", "<f4"), ("current", "<f4"),
                   ("_b44", "V8"), ("cc", "<f4"), ("ce", "<f4"), ("dc", "<f4"), ("de", "<f4"), ("date", "<u8"),
                   ("_rest", "V12")])
    assert dt.itemsize == rl
    n = (len(raw) - 1024) // rl
    rec = np.frombuffer(raw, dt, count=n, offset=1024)
    tab = np.frombuffer(raw, np.uint8, count=n * rl, offset=1024).reshape(n, rl)
    offsets = 1024 + rl * np.arange(n, dtype=np.int64)
    stop = np.flatnonzero(tab[:, 0] == 0x81)
    last = int(stop[0]) if stop.size else n
    if not stop.size and (len(raw) - 1024) % rl:
        raise _slot_error(path, 1024 + n * rl, f"the .nda ends inside a record ({(len(raw) - 1024) % rl} of "
                                               f"{rl} bytes): the file is cut or bytes were added or lost")
    keep = np.zeros(n, bool)
    keep[:last] = (tab[:last, :6] == np.frombuffer(ident, np.uint8)).all(axis=1)
    aux = np.zeros(n, bool)
    aux[:last] = (tab[:last, :5] == np.frombuffer(b"\x00\x00\x00\x00\x65", np.uint8)).all(axis=1)
    other = np.flatnonzero(~(keep | aux)[:last])
    if other.size:
        j = int(other[0])
        raise _slot_error(path, int(offsets[j]), f"record slot {j + 1} is neither a data record (starting "
                                                 f"{ident.hex()}) nor an auxiliary record: the record is damaged "
                                                 "or bytes were added or lost before it")
    rec, offsets = rec[keep], offsets[keep]
    _consecutive(path, rec["index"], offsets, ".nda")
    _known_status(path, rec["status"], offsets)
    return {"index": rec["index"].astype(np.int64), "cycle": np.zeros(rec.size, np.int64),
            "step_index": rec["step_index"].astype(np.int64), "status": rec["status"].astype(np.int64),
            "time": rec["time"] / 1e6, "voltage": rec["voltage"].astype(float),
            "current_ma": rec["current"].astype(float), "charge_capacity": rec["cc"].astype(float) / 3600.0,
            "discharge_capacity": rec["dc"].astype(float) / 3600.0, "charge_energy": rec["ce"].astype(float) / 3600.0,
            "discharge_energy": rec["de"].astype(float) / 3600.0, "unix_time": rec["date"] / 1e6,
            "offset": offsets}


def parse_nda(path: str | Path, raw: bytes | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Records of a .nda file as arrays (see the module notes), and what was learnt about the file.

    Raises
    ------
    ReadError
        No Neware magic, a version this parser does not know, no records.
    """
    p = Path(path)
    raw = p.read_bytes() if raw is None else raw
    if not raw.startswith(b"NEWARE"):
        raise ReadError(p, None, "not a Neware .nda file (no 'NEWARE' magic)")
    if len(raw) < 16:
        raise ReadError(p, None, "the .nda ends inside its header")
    version = raw[14]
    info: dict[str, Any] = {"nda_version": int(version)}
    k = raw.find(b"BTSServer")
    if k >= 0:
        info["server_version"] = raw[k:k + 50].split(b"\x00")[0].decode("latin-1")
    if version == 29:
        cols = _nda_29(p, raw)
    elif version == 130:
        cols = _nda_130(p, raw)
        info["bts"] = "9.1" if raw[1024] == 0x55 else "9.0"
    else:
        raise _unsupported(p, f".nda version {version}")
    _check_steps(p, cols, cols.pop("offset"))
    return cols, info


def _check_steps(path: Path, cols: dict[str, np.ndarray], offsets: np.ndarray) -> None:
    """Refuse a record whose step number cannot be the file's.

    A damaged byte would split a step and shift every later step count. A record starts a step where
    its step number differs from the previous record's. At a real step start
    the instrument restarts its capacity counter and, when the record time is the step time, the time.
    Refused: a one-record step of the same step type as the step on both sides of it (a number changed
    inside a step); with the test time, a step start under current whose capacity counter continues the
    previous one (more than its own record interval can hold); with the step time, a step start whose time
    neither restarts nor follows a one-record step.
    """
    si, st, t = cols["step_index"], cols["status"], cols["time"]
    n = si.size
    if n < 3:
        return
    start = np.flatnonzero(si[1:] != si[:-1]) + 1
    if start.size == 0:
        return
    bounds = np.r_[0, start, n]
    length = np.diff(bounds)
    # one-record steps inside a step: same number and type before and after
    for j in np.flatnonzero(length == 1):
        k = int(bounds[j])
        if 0 < k < n - 1 and si[k - 1] == si[k + 1] and st[k - 1] == st[k] == st[k + 1]:
            raise ReadError(path, None, f"record {k + 1} (byte offset {int(offsets[k])}) has step number "
                                        f"{int(si[k])} between two records of step {int(si[k - 1])} of the same "
                                        "type: the step number is damaged")
    try:
        kind = time_semantics(t, si)
    except ValueError:
        return  # refused with its record by the reader
    cap = cols["charge_capacity"] + cols["discharge_capacity"]
    cur = np.abs(cols["current_ma"])
    if kind == "test":
        dt = t[start] - t[start - 1]
        limit = 1.5 * cur[start] * np.maximum(dt, 0.0) / 3600.0 + 1e-9 + 1e-6 * float(np.max(cap, initial=0.0))
        bad = start[(cur[start] > 0) & (cap[start] > limit)]
        what = "its capacity counter does not restart"
    else:
        prev_one = length[:-1][np.searchsorted(bounds, start) - 1] == 1
        bad = start[(t[start] > t[start - 1]) & ~prev_one]
        what = "its step time does not restart"
    if bad.size:
        k = int(bad[0])
        raise ReadError(path, None, f"record {k + 1} (byte offset {int(offsets[k])}) starts step number "
                                    f"{int(si[k])} but {what}: the step number is damaged")


class _Unsupported(ReadError):
    """A layout this parser does not read (NewareNDA may)."""


def _unsupported(path: Path, what: str) -> _Unsupported:
    return _Unsupported(path, None, f"{what} is not a layout ncmsurf's Neware parser reads")


# ------------------------------------------------------------------------------------------ .ndax
def _pages(path: Path, raw: bytes, lo: int, hi: int, dtype: np.dtype[Any]) -> np.ndarray:
    """Records of ``dtype`` packed in bytes [lo, 4096 - hi) of every 4096-byte page after the header page."""
    npages = (len(raw) - _PAGE) // _PAGE
    if npages <= 0:
        return np.zeros(0, dtype)
    per = (_PAGE - lo - hi) // dtype.itemsize
    pages = np.frombuffer(raw, np.uint8, count=npages * _PAGE, offset=_PAGE).reshape(npages, _PAGE)
    body = np.ascontiguousarray(pages[:, lo:lo + per * dtype.itemsize]).reshape(-1)
    return np.frombuffer(body.tobytes(), dtype)


_NDC_DATA = {  # version -> (voltage factor, current factor to mA)
    11: (1e-4, 1.0), 14: (1.0, 1000.0), 16: (1e-4, 1.0), 17: (1.0, 1000.0)}
_RUNINFO = {  # version -> (page tail bytes, trailing bytes per record, capacity factor to mAh)
    11: (16, 0, 1 / 3600), 14: (4, 8, 1000.0), 16: (64, 53, 1 / 3600), 17: (64, 53, 1000.0)}


def _ndc_header(raw: bytes) -> tuple[int, int]:
    return raw[0], raw[2]  # file type, version


def _ndc_data(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    ftype, ver = _ndc_header(raw)
    if ftype != 1:
        raise ReadError(path, None, f"data.ndc has file type {ftype}, expected 1")
    if ver == 5:
        return _ndc_5(path, raw)
    if ver not in _NDC_DATA:
        raise _unsupported(path, f"data.ndc version {ver}")
    fv, fi = _NDC_DATA[ver]
    rec = _pages(path, raw, 132, 4, np.dtype([("v", "<f4"), ("i", "<f4")]))
    index = np.arange(1, rec.size + 1, dtype=np.int64)
    v = rec["v"].astype(float)
    keep = v != 0  # unused slots of the last page (and, as NewareNDA does, any record at exactly 0 V)
    return {"index": index[keep], "voltage": v[keep] * fv if fv != 1.0 else v[keep],
            "current_ma": rec["i"].astype(float)[keep] * fi}


def _ndc_5(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    dt = np.dtype([("_b0", "V7"), ("tag", "u1"), ("index", "<u4"), ("cycle", "<u4"), ("step_index", "u1"),
                   ("status", "u1"), ("_b18", "V5"), ("time", "<u8"), ("voltage", "<i4"), ("current", "<i4"),
                   ("_b39", "V4"), ("cc", "<i8"), ("dc", "<i8"), ("ce", "<i8"), ("de", "<i8"), ("year", "<u2"),
                   ("month", "u1"), ("day", "u1"), ("hour", "u1"), ("minute", "u1"), ("second", "u1"),
                   ("range", "<i4"), ("_rest", "V1")])
    assert dt.itemsize == 87
    rec = _pages(path, raw, 125, 56, dt)
    rec = rec[rec["tag"] == 0x55]
    f = _range_factor(path, rec["range"])
    return {"index": rec["index"].astype(np.int64), "cycle": rec["cycle"].astype(np.int64) + 1,
            "step_index": rec["step_index"].astype(np.int64), "status": rec["status"].astype(np.int64),
            "time": rec["time"] / 1000.0, "voltage": rec["voltage"] / 10000.0, "current_ma": rec["current"] * f,
            "charge_capacity": rec["cc"] * f / 3600.0, "discharge_capacity": rec["dc"] * f / 3600.0,
            "charge_energy": rec["ce"] * f / 3600.0, "discharge_energy": rec["de"] * f / 3600.0,
            "unix_time": _calendar(rec)}


def _ndc_runinfo(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    ftype, ver = _ndc_header(raw)
    if ftype != 18 or ver not in _RUNINFO:
        raise _unsupported(path, f"data_runInfo.ndc type {ftype} version {ver}")
    tail, extra, fcap = _RUNINFO[ver]
    fields = [("time", "<i4"), ("_b4", "V1"), ("cc", "<f4"), ("dc", "<f4"), ("ce", "<f4"), ("de", "<f4"),
              ("_b21", "V8"), ("dt", "<i4"), ("stamp", "<i4"), ("step", "<i4"), ("index", "<i4"), ("ms", "<i2")]
    if extra:
        fields.append(("_rest", f"V{extra}"))
    rec = _pages(path, raw, 132, tail, np.dtype(fields))
    rec = rec[rec["index"] != 0]
    if ver != 16 and rec.size:  # the first of repeated records counts (as NewareNDA keeps it)
        _, first = np.unique(rec["index"], return_index=True)
        if first.size != rec.size:
            rec = rec[np.sort(first)]
    return {"index": rec["index"].astype(np.int64), "time": rec["time"] / 1000.0, "dt": rec["dt"] / 1000.0,
            "charge_capacity": rec["cc"].astype(float) * fcap, "discharge_capacity": rec["dc"].astype(float) * fcap,
            "charge_energy": rec["ce"].astype(float) * fcap, "discharge_energy": rec["de"].astype(float) * fcap,
            "unix_time": rec["stamp"] + rec["ms"] / 1000.0, "step": _counted_steps(rec["step"])}


def _ndc_step(path: Path, raw: bytes) -> dict[str, np.ndarray]:
    ftype, ver = _ndc_header(raw)
    if ftype != 7 or ver not in (11, 14, 16, 17):
        raise _unsupported(path, f"data_step.ndc type {ftype} version {ver}")
    if ver in (11, 14):
        rec = _pages(path, raw, 132, 5, np.dtype([("cycle", "<i4"), ("step_index", "<i4"), ("_b8", "V16"),
                                                   ("status", "i1"), ("_b25", "V12")]))
        rec = rec[rec["step_index"] != 0]
    else:
        rec = _pages(path, raw, 132, 64, np.dtype([("cycle", "<i4"), ("step_index", "<i4"), ("_b8", "V16"),
                                                    ("status", "i1"), ("_b25", "V8"), ("index", "<i4"),
                                                    ("_b37", "V63")]))
        rec = rec[rec["index"] != 0]
    return {"cycle": rec["cycle"].astype(np.int64) + 1, "step_index": rec["step_index"].astype(np.int64),
            "status": rec["status"].astype(np.int64)}


def parse_ndax(path: str | Path, raw: bytes | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Records of a .ndax file as arrays (see the module notes), and what was learnt about the file.

    Raises
    ------
    ReadError
        Not a zip with ``data.ndc``, a layout this parser does not know, inconsistent tables.
    """
    p = Path(path)
    raw = p.read_bytes() if raw is None else raw
    try:
        zf = zipfile.ZipFile(io.BytesIO(raw))
        names = zf.namelist()
        if "data.ndc" not in names:
            raise ReadError(p, None, f"no data.ndc in the .ndax (members: {names[:10]})")
        data_raw = zf.read("data.ndc")
        run_raw = zf.read("data_runInfo.ndc") if "data_runInfo.ndc" in names else None
        step_raw = zf.read("data_step.ndc") if "data_step.ndc" in names else None
        info: dict[str, Any] = {}
        for member in ("TestInfo.xml", "VersionInfo.xml"):
            if member in names:
                text = zf.read(member).decode("gb2312", errors="replace")
                for key in ("StartTime", "SvrVer", "CurrClientVer", "StepName", "ChlID", "DevID"):
                    m = re.search(rf'\b{key}="([^"]*)"', text)
                    if m:
                        info[key] = m.group(1)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, NotImplementedError) as exc:
        raise ReadError(p, None, f"not a readable .ndax (zip) file: {exc}") from exc
    if any(n for n in names if re.search(r"_\d+\.ndc$", n) and "AUX" in n.upper()):
        info["aux_channels_not_read"] = sorted(n for n in names if "AUX" in n.upper())
    if len(data_raw) < _PAGE + 8 and data_raw[2:3] != b"\x05":
        raise ReadError(p, None, "data.ndc holds no record page")
    ftype, ver = _ndc_header(data_raw)
    info["ndc_version"] = int(ver)
    data = _ndc_data(p, data_raw)
    if "time" in data:  # version 5: everything is in data.ndc
        data["step"] = _counted_steps(data["step_index"])
        return data, info
    if run_raw is None or step_raw is None:
        raise ReadError(p, None, f"data.ndc version {ver} needs data_runInfo.ndc and data_step.ndc")
    run = _ndc_runinfo(p, run_raw)
    steps = _ndc_step(p, step_raw)
    n = data["index"].size
    if n == 0:
        raise ReadError(p, None, "no records in data.ndc")
    # runInfo records name the data record they belong to (1-based record index)
    pos = np.searchsorted(data["index"], run["index"])
    ok = (pos < n) & (data["index"][np.minimum(pos, n - 1)] == run["index"])
    if not ok.all():
        j = int(np.flatnonzero(~ok)[0])
        raise ReadError(p, None, f"data_runInfo.ndc record {j + 1} names data record {run['index'][j]}, "
                                 "which data.ndc does not hold")
    pos = pos[ok]
    have = np.zeros(n, bool)
    have[pos] = True
    if not have[0]:
        raise ReadError(p, None, "the first record of data.ndc has no runInfo record (time unknown)")
    last = np.maximum.accumulate(np.where(have, np.arange(n), 0))  # the last logged record, per record
    slot = np.full(n, -1, np.int64)
    slot[pos] = np.arange(pos.size)
    src = slot[last]
    step = run["step"][src]
    if steps["cycle"].size < int(step.max()):
        raise ReadError(p, None, f"data_step.ndc holds {steps['cycle'].size} steps, the records reach step "
                                 f"{int(step.max())}")
    out = {"index": data["index"], "voltage": data["voltage"], "current_ma": data["current_ma"],
           "step": step, "cycle": steps["cycle"][step - 1], "step_index": steps["step_index"][step - 1],
           "status": steps["status"][step - 1]}
    missing = ~have
    info["interpolated_records"] = int(missing.sum())
    dt = run["dt"][src]
    if missing.any():
        import pandas as pd

        # as NewareNDA: from the last logged record, add its logging interval per record (group-wise
        # cumulative sums, in the same order, so the values agree to the last bit)
        group = np.concatenate(([0], np.cumsum(have)[:-1]))
        inc_t = pd.Series(dt).groupby(group).cumsum().to_numpy() * missing
        dq = dt * out["current_ma"] / 3600.0
        inc_q = pd.Series(dq).groupby(group).cumsum().to_numpy() * missing
        inc_e = pd.Series(dq * out["voltage"]).groupby(group).cumsum().to_numpy() * missing
    else:
        inc_t = inc_q = inc_e = np.zeros(n)
    out["time"] = run["time"][src] + inc_t
    out["unix_time"] = run["unix_time"][src] + inc_t
    out["charge_capacity"] = np.abs(run["charge_capacity"][src]) + np.abs(np.clip(inc_q, 0, None))
    out["discharge_capacity"] = np.abs(run["discharge_capacity"][src]) + np.abs(np.clip(inc_q, None, 0))
    out["charge_energy"] = np.abs(run["charge_energy"][src]) + np.abs(np.clip(inc_e, 0, None))
    out["discharge_energy"] = np.abs(run["discharge_energy"][src]) + np.abs(np.clip(inc_e, None, 0))
    out["logging_interval"] = dt
    return out, info


# ----------------------------------------------------------------------------------------- time
def time_semantics(time: np.ndarray, step: np.ndarray) -> str:
    """``"test"`` when the record time never decreases, ``"step"`` when it falls back only where a step starts.

    Raises
    ------
    ValueError
        When the time decreases inside a step (neither reading holds).

    Examples
    --------
    >>> time_semantics(np.array([0.0, 5, 10, 12]), np.array([1, 1, 2, 2]))
    'test'
    >>> time_semantics(np.array([0.0, 5, 0, 2]), np.array([1, 1, 2, 2]))
    'step'
    """
    drops = np.flatnonzero(np.diff(time) < 0) + 1
    if drops.size == 0:
        return "test"
    new_step = np.zeros(time.size, bool)
    new_step[0] = True
    new_step[1:] = step[1:] != step[:-1]
    inside = drops[~new_step[drops]]
    if inside.size:
        j = int(inside[0])
        raise ValueError(f"record {j + 1}: time falls from {time[j - 1]} s to {time[j]} s inside a step")
    return "step"


def _test_time(time: np.ndarray, step: np.ndarray) -> tuple[np.ndarray, str]:
    kind = time_semantics(time, step)
    if kind == "test":
        return time.copy(), "record time is the test time (it never decreases)"
    new = np.zeros(time.size, bool)
    new[0] = True
    new[1:] = step[1:] != step[:-1]
    inc = np.diff(time, prepend=0.0)
    inc[new] = time[new]  # a step starts where the previous one ended, plus its own first time
    return np.cumsum(inc), "record time is the step time (it restarts at step starts); test time = its running sum"


# --------------------------------------------------------------------------------------- reader
def _sniff_nda(path: Path, head: bytes) -> float:
    if head.startswith(b"NEWARE"):
        return 0.95
    if head.startswith(b"PK\x03\x04") and (b"data.ndc" in head or b"Step.xml" in head or b"TestInfo.xml" in head):
        return 0.95
    return 0.0


def _via_newarenda(p: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    try:
        import NewareNDA
    except ImportError as exc:
        raise ReadError(p, None, "this Neware layout is not one ncmsurf reads itself, and the optional "
                                 "'NewareNDA' package is not installed") from exc
    try:
        df = NewareNDA.read(str(p), software_cycle_number=False)
    except Exception as exc:  # the parser raises many types on corrupt input
        raise ReadError(p, None, f"NewareNDA could not parse the file: {type(exc).__name__}: {exc}") from exc
    if df is None or len(df) == 0:
        raise ReadError(p, None, "no records in the Neware file")
    code = {v: k for k, v in STATUS.items()}
    stamps = df["Timestamp"]
    cols = {"index": df["Index"].to_numpy(np.int64), "cycle": df["Cycle"].to_numpy(np.int64),
            "step": df["Step"].to_numpy(np.int64), "step_index": df["Step_Index"].to_numpy(np.int64),
            "status": np.array([code.get(str(s), 0) for s in df["Status"]], np.int64),
            "time": df["Time"].to_numpy(float), "voltage": df["Voltage"].to_numpy(float),
            "current_ma": df["Current(mA)"].to_numpy(float),
            "charge_capacity": df["Charge_Capacity(mAh)"].to_numpy(float),
            "discharge_capacity": df["Discharge_Capacity(mAh)"].to_numpy(float),
            "charge_energy": df["Charge_Energy(mWh)"].to_numpy(float),
            "discharge_energy": df["Discharge_Energy(mWh)"].to_numpy(float),
            "unix_time": stamps.astype("int64").to_numpy() / 1e6 if hasattr(stamps, "astype") else None}
    return {k: v for k, v in cols.items() if v is not None}, {"parser": "NewareNDA"}


def read_neware_nda(path: str | os.PathLike[str], *, mass: Any = None, sample: Any = None,
                    **_: Any) -> CyclingData:
    """Read a Neware .nda or .ndax file (ncmsurf's own parser; NewareNDA for other layouts).

    The current (mA, > 0 on charge) is converted to A; the test time is found from the record
    time whether the file stores the step time or the test time (:func:`time_semantics`, stated in
    ``meta["time_source"]``); cycle and step numbers are the instrument's; the instrument's charge and
    discharge capacity and energy counters (mAh, mWh, restarting at each step) are kept in ``columns``
    and named in ``meta["instrument_capacity"]``, so :func:`ncmsurf.cycling.summary` cross-checks
    its integral against them.

    Raises
    ------
    ReadError
        Not a Neware file, an unknown layout without NewareNDA, inconsistent tables, a non-finite value,
        time falling inside a step (records are numbered from 1 in place of lines).
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ReadError(p, None, f"cannot read the file: {exc}") from exc
    try:
        cols, info = parse_nda(p, raw) if raw.startswith(b"NEWARE") else parse_ndax(p, raw)
        info.setdefault("parser", "ncmsurf")
    except _Unsupported:
        cols, info = _via_newarenda(p)
    n = cols["time"].size
    if n == 0:
        raise ReadError(p, None, "no records in the Neware file")
    order_bad = np.flatnonzero(np.diff(cols["index"]) <= 0)
    if order_bad.size:  # NewareNDA sorts and drops repeats; a file in order needs neither
        keep = np.sort(np.unique(cols["index"], return_index=True)[1])
        cols = {k: v[keep] for k, v in cols.items()}
        cols = {k: v[np.argsort(cols["index"], kind="stable")] for k, v in cols.items()}
        info["reordered_records"] = int(n - cols["time"].size) or True
        n = cols["time"].size
    if "step" not in cols:
        cols["step"] = _counted_steps(cols["step_index"])
    for name in ("time", "voltage", "current_ma"):
        fin = np.isfinite(cols[name])
        if not fin.all():
            j = int(np.flatnonzero(~fin)[0])
            raise ReadError(p, None, f"record {j + 1}: {name} is not finite ({cols[name][j]})")
    try:
        t, how = _test_time(cols["time"], cols["step"])
    except ValueError as exc:
        raise ReadError(p, None, str(exc)) from exc
    cur = cols["current_ma"] * 1e-3
    names = {"charge_capacity": "mAh", "discharge_capacity": "mAh", "charge_energy": "mWh",
             "discharge_energy": "mWh", "temperature": "degC", "logging_interval": "s", "unix_time": "s"}
    extra = {k: cols[k] for k in names if k in cols}
    extra["record_time"] = cols["time"]
    extra["record_index"] = cols["index"]
    extra["status"] = cols["status"]
    extra["step_index"] = cols["step_index"]
    units = {k: names.get(k, "1") for k in extra}
    units["record_time"] = "s"
    start = ""
    if "unix_time" in cols and np.isfinite(cols["unix_time"][0]) and cols["unix_time"][0] > 0:
        start = _dt.datetime.fromtimestamp(float(cols["unix_time"][0]), _dt.timezone.utc).isoformat()
    codes, counts = np.unique(cols["status"], return_counts=True)
    meta = {"source_file": str(p), "format": "neware-nda", "rows_read": int(n), "time_source": how,
            "start_time": start or str(info.get("StartTime", "")), "line_numbers_are": "record indices",
            "status_counts": {STATUS.get(int(c), str(int(c))): int(k) for c, k in zip(codes, counts)},
            "instrument_capacity": {"counters": [
                {"column": "charge_capacity", "units": "mAh", "kind": "resetting", "direction": "charge"},
                {"column": "discharge_capacity", "units": "mAh", "kind": "resetting", "direction": "discharge"}],
                "source": "Neware charge/discharge capacity (restarting at each step)"},
            **{k: v for k, v in info.items() if isinstance(v, (str, int, float, list))}}
    try:
        with adopt_arrays():
            return CyclingData(t, cols["voltage"], cur, cycle=cols["cycle"], step=cols["step"], mass=mass,
                               sample=sample, meta=meta, columns=extra, column_units=units)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc


NEWARE_NDA = SimpleReader("neware-nda", "cycling", (".nda", ".ndax"), _sniff_nda,
                          lambda path, **kw: [read_neware_nda(path, **kw)],
                          "Neware .nda/.ndax binary record (ncmsurf's own parser; NewareNDA for other layouts)")

READERS = [NEWARE_NDA]
"""Readers registered under the ``neware`` entry point."""
