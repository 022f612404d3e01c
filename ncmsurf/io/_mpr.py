"""BioLogic EC-Lab binary .mpr files: a parser of ncmsurf's own (private).

Why an own parser
-----------------
The maintained readers either lack the column ids of EC-Lab 11.50 and newer
(galvani 0.5 decodes only the low byte of each id in those files, so it
fails on ids such as 471, which it reports as 215) or pin ``pandas < 3``
(yadg). Both are GPL. This module is written from the public descriptions
of the layout (the structure notes in yadg's documentation, issue threads of
galvani and yadg, and comparisons of .mpr files with EC-Lab's own .mpt
exports of the same runs); galvani, where installed, is used by the tests
as a reference on the files it reads.

Layout
------
``BIO-LOGIC MODULAR FILE`` magic (52 bytes), then modules, each starting
with ``MODULE`` and a header:

=====================  ==========================================================
EC-Lab < 11.50         short name (10 B), long name (25 B), data length (u4),
                       version (u4), date (8 B ASCII)
EC-Lab >= 11.50        short name, long name, ``0xFFFFFFFF`` (u4), data length
                       (u4), 0 (u4), version (u4), date
=====================  ==========================================================

The ``VMP data`` module holds the number of records (u4), the number of
columns (u1; u2 in files of EC-Lab >= 11.50, whose data module has version
>= 10), the column ids (u2 little-endian each) and, from byte 0x195
(version 2), 0x196 (version 3) or 0x3EF (EC-Lab >= 11.50), the records as
packed little-endian structs in the order of the ids. Ids 1, 2, 3, 21, 31
and 65 share one flag byte (mode, ox/red, error, control changes, Ns
changes, counter increment). The record size is cross-checked against the
module length, so a column id of unknown size is never guessed silently:
when exactly one id is unknown its size follows from the module length and
it is kept as ``unknown_<id>`` with a warning; otherwise the file is refused
naming the ids.

``VMP Set`` holds the technique id (byte 0) and the cell characteristics;
``VMP LOG`` the acquisition start (OLE date at 0x249) and the EC-Lab
version string (at 0x3B7); ``VMP loop`` the record index where each loop
starts.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError

__all__ = ["COLUMNS", "FLAGS", "MprFile", "MprModule", "MprWarning", "TECHNIQUES", "parse_mpr"]

MAGIC = b"BIO-LOGIC MODULAR FILE"
_FILE_HEADER = 52


class MprWarning(NcmsurfWarning):
    """An .mpr file holds something that was kept but could not be named (an unknown column id)."""


#: Column id → (name as EC-Lab writes it in a .mpt header, numpy dtype).
COLUMNS: dict[int, tuple[str, str]] = {
    4: ("time/s", "<f8"),
    5: ("control/V/mA", "<f4"),
    6: ("Ewe/V", "<f4"),
    7: ("dq/mA.h", "<f8"),
    8: ("I/mA", "<f4"),
    9: ("Ece/V", "<f4"),
    11: ("<I>/mA", "<f8"),
    13: ("(Q-Qo)/mA.h", "<f8"),
    16: ("Analog IN 1/V", "<f4"),
    17: ("Analog IN 2/V", "<f4"),
    19: ("control/V", "<f4"),
    20: ("control/mA", "<f4"),
    23: ("dQ/mA.h", "<f8"),
    24: ("cycle number", "<f8"),
    26: ("Rapp/Ohm", "<f4"),
    27: ("Ewe-Ece/V", "<f4"),
    32: ("freq/Hz", "<f4"),
    33: ("|Ewe|/V", "<f4"),
    34: ("|I|/A", "<f4"),
    35: ("Phase(Z)/deg", "<f4"),
    36: ("|Z|/Ohm", "<f4"),
    37: ("Re(Z)/Ohm", "<f4"),
    38: ("-Im(Z)/Ohm", "<f4"),
    39: ("I Range", "<u2"),
    69: ("R/Ohm", "<f4"),
    70: ("P/W", "<f4"),
    74: ("|Energy|/W.h", "<f8"),
    75: ("Analog OUT/V", "<f4"),
    76: ("<I>/mA", "<f4"),
    77: ("<Ewe>/V", "<f4"),
    78: ("Cs-2/µF-2", "<f4"),
    96: ("|Ece|/V", "<f4"),
    98: ("Phase(Zce)/deg", "<f4"),
    99: ("|Zce|/Ohm", "<f4"),
    100: ("Re(Zce)/Ohm", "<f4"),
    101: ("-Im(Zce)/Ohm", "<f4"),
    110: ("Energy ce/W.h", "<f8"),
    112: ("Energy we/W.h", "<f8"),
    115: ("Energy ce charge/W.h", "<f8"),
    116: ("Energy ce discharge/W.h", "<f8"),
    123: ("Energy charge/W.h", "<f8"),
    124: ("Energy discharge/W.h", "<f8"),
    125: ("Capacitance charge/µF", "<f8"),
    126: ("Capacitance discharge/µF", "<f8"),
    131: ("Ns", "<u2"),
    163: ("|Estack|/V", "<f4"),
    168: ("Rcmp/Ohm", "<f4"),
    169: ("Cs/µF", "<f4"),
    172: ("Cp/µF", "<f4"),
    173: ("Cp-2/µF-2", "<f4"),
    174: ("<Ewe>/V", "<f4"),
    178: ("(Q-Qo)/C", "<f4"),
    179: ("dQ/C", "<f4"),
    211: ("Q charge/discharge/mA.h", "<f8"),
    212: ("half cycle", "<u4"),
    213: ("z cycle", "<u4"),
    217: ("THD Ewe/%", "<f4"),
    218: ("THD I/%", "<f4"),
    220: ("NSD Ewe/%", "<f4"),
    221: ("NSD I/%", "<f4"),
    223: ("NSR Ewe/%", "<f4"),
    224: ("NSR I/%", "<f4"),
    271: ("Phase(Z1)/deg", "<f4"),
    272: ("Phase(Z2)/deg", "<f4"),
    301: ("|Z1|/Ohm", "<f4"),
    302: ("|Z2|/Ohm", "<f4"),
    326: ("P/W", "<f4"),
    331: ("Re(Z1)/Ohm", "<f4"),
    332: ("Re(Z2)/Ohm", "<f4"),
    361: ("-Im(Z1)/Ohm", "<f4"),
    362: ("-Im(Z2)/Ohm", "<f4"),
    379: ("Energy we charge/W.h", "<f8"),
    380: ("Energy we discharge/W.h", "<f8"),
    391: ("<E1>/V", "<f4"),
    392: ("<E2>/V", "<f4"),
    422: ("Phase(Zstack)/deg", "<f4"),
    423: ("|Zstack|/Ohm", "<f4"),
    424: ("Re(Zstack)/Ohm", "<f4"),
    425: ("-Im(Zstack)/Ohm", "<f4"),
    426: ("<Estack>/V", "<f4"),
    430: ("Phase(Zwe-ce)/deg", "<f4"),
    431: ("|Zwe-ce|/Ohm", "<f4"),
    432: ("Re(Zwe-ce)/Ohm", "<f4"),
    433: ("-Im(Zwe-ce)/Ohm", "<f4"),
    434: ("(Q-Qo)/C", "<f4"),
    435: ("dQ/C", "<f4"),
    438: ("step time/s", "<f8"),
    441: ("<Ecv>/V", "<f4"),
    462: ("Temperature/°C", "<f4"),
    467: ("Q charge/discharge/mA.h", "<f8"),
    468: ("half cycle", "<u4"),
    469: ("z cycle", "<u4"),
    471: ("<Ece>/V", "<f4"),
    473: ("THD Ewe/%", "<f4"),
    474: ("THD I/%", "<f4"),
    475: ("THD Ece/%", "<f4"),
    476: ("NSD Ewe/%", "<f4"),
    477: ("NSD I/%", "<f4"),
    478: ("NSD Ece/%", "<f4"),
    479: ("NSR Ewe/%", "<f4"),
    480: ("NSR I/%", "<f4"),
    481: ("NSR Ece/%", "<f4"),
    486: ("|Ewe h2|/V", "<f4"),
    487: ("|Ewe h3|/V", "<f4"),
    488: ("|Ewe h4|/V", "<f4"),
    489: ("|Ewe h5|/V", "<f4"),
    490: ("|Ewe h6|/V", "<f4"),
    491: ("|Ewe h7|/V", "<f4"),
    492: ("|I h2|/A", "<f4"),
    493: ("|I h3|/A", "<f4"),
    494: ("|I h4|/A", "<f4"),
    495: ("|I h5|/A", "<f4"),
    496: ("|I h6|/A", "<f4"),
    497: ("|I h7|/A", "<f4"),
    498: ("Q charge/mA.h", "<f8"),
    499: ("Q discharge/mA.h", "<f8"),
    500: ("step time/s", "<f8"),
    501: ("Efficiency/%", "<f8"),
    502: ("Capacity/mA.h", "<f8"),
    505: ("Rdc/Ohm", "<f4"),
    509: ("Acir/Dcir Control", "<u1"),
}

#: Flag column id → (name, bit mask in the shared flag byte).
FLAGS: dict[int, tuple[str, int]] = {
    1: ("mode", 0b00000011),
    2: ("ox/red", 0b00000100),
    3: ("error", 0b00001000),
    21: ("control changes", 0b00010000),
    31: ("Ns changes", 0b00100000),
    65: ("counter inc.", 0b10000000),
}

#: Technique id (byte 0 of ``VMP Set``) → (short name, long name).
TECHNIQUES: dict[int, tuple[str, str]] = {
    0x04: ("GCPL", "Galvanostatic Cycling with Potential Limitation"),
    0x06: ("CV", "Cyclic Voltammetry"),
    0x0B: ("OCV", "Open Circuit Voltage"),
    0x16: ("MP", "Modular Pulse"),
    0x18: ("CA", "Chronoamperometry / Chronocoulometry"),
    0x19: ("CP", "Chronopotentiometry"),
    0x1C: ("WAIT", "Wait"),
    0x1D: ("PEIS", "Potentio Electrochemical Impedance Spectroscopy"),
    0x1E: ("GEIS", "Galvano Electrochemical Impedance Spectroscopy"),
    0x30: ("CV", "Cyclic Voltammetry"),
    0x32: ("ZIR", "IR compensation (PEIS)"),
    0x33: ("CVA", "Cyclic Voltammetry Advanced"),
    0x6C: ("LSV", "Linear Sweep Voltammetry"),
    0x75: ("coV", "Constant Voltage"),
    0x76: ("coC", "Constant Current"),
    0x77: ("GCPL", "Galvanostatic Cycling with Potential Limitation"),
    0x7F: ("MB", "Modulo Bat"),
}


@dataclass(frozen=True)
class MprModule:
    """One module of an .mpr file: names, version, date and where its data sits in the file."""

    short_name: str
    long_name: str
    version: int
    date: str
    start: int
    length: int
    new_header: bool


@dataclass(frozen=True)
class MprFile:
    """The parsed content of an .mpr file.

    Attributes
    ----------
    path : Path
    modules : list of MprModule
    columns : dict
        Column name (EC-Lab's .mpt header spelling) → array, one value per record.
        Flags are separate columns (``mode``, ``ox/red``, ...).
    column_ids : list of int
        The ids in file order.
    n_records : int
    data_version : int
        Version of the data module.
    technique : str
        Short technique name from the settings module (``""`` when unknown).
    technique_id : int or None
    ec_lab_version : str
        From the log module (``""`` without one).
    start : datetime.datetime or None
        Acquisition start from the log module.
    loops : numpy.ndarray
        Record index at which each loop starts (empty without a loop module).
    unknown_columns : list of str
    """

    path: Path
    modules: list[MprModule]
    columns: dict[str, np.ndarray]
    column_ids: list[int]
    n_records: int
    data_version: int
    technique: str = ""
    technique_id: int | None = None
    ec_lab_version: str = ""
    start: _dt.datetime | None = None
    loops: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    unknown_columns: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def module(self, short_name: str) -> MprModule | None:
        """The first module whose short name is ``short_name``."""
        return next((m for m in self.modules if m.short_name == short_name), None)


def _modules(path: Path, raw: bytes) -> list[MprModule]:
    if not raw.startswith(MAGIC):
        raise ReadError(path, None, "not an EC-Lab .mpr file (no 'BIO-LOGIC MODULAR FILE' magic)")
    mods: list[MprModule] = []
    pos = _FILE_HEADER
    while pos < len(raw):
        if raw[pos:pos + 6] != b"MODULE":
            if not raw[pos:].strip(b"\x00"):
                break  # zero padding after the last module
            raise ReadError(path, None, f"byte {pos}: expected a 'MODULE' marker, found {raw[pos:pos + 6]!r}")
        h = pos + 6
        if len(raw) < h + 51:
            raise ReadError(path, None, f"byte {pos}: module header cut short (file truncated)")
        short = raw[h:h + 10].decode("latin-1").strip(" \x00")
        long_ = raw[h + 10:h + 35].decode("latin-1").strip(" \x00")
        first = int.from_bytes(raw[h + 35:h + 39], "little")
        new = first == 0xFFFFFFFF
        if new:
            if len(raw) < h + 59:
                raise ReadError(path, None, f"byte {pos}: module header cut short (file truncated)")
            length = int.from_bytes(raw[h + 39:h + 43], "little")
            version = int.from_bytes(raw[h + 47:h + 51], "little")
            date = raw[h + 51:h + 59].decode("latin-1")
            start = h + 59
        else:
            length = first
            version = int.from_bytes(raw[h + 39:h + 43], "little")
            date = raw[h + 43:h + 51].decode("latin-1")
            start = h + 51
        if start + length > len(raw):
            raise ReadError(path, None, f"module {short!r} declares {length} bytes but the file ends "
                                        f"{len(raw) - start} bytes after its header (file truncated)")
        mods.append(MprModule(short, long_, version, date, start, length, new))
        pos = start + length
    if not mods:
        raise ReadError(path, None, "no modules after the .mpr file header")
    return mods


def _check_values(path: Path, cols: dict[str, np.ndarray]) -> None:
    """Refuse values EC-Lab cannot write (damaged records).

    A negative or non-finite frequency, a time that is not finite or goes back, a cycle number that is
    not a whole number or that goes back (EC-Lab's time and cycle counters only grow); a half cycle or z cycle
    counter that goes back.
    """
    f = cols.get("freq/Hz")
    if f is not None:
        bad = np.flatnonzero(~np.isfinite(f) | (f < 0))
        if bad.size:
            j = int(bad[0])
            raise ReadError(path, j + 1, f"record {j + 1}: frequency {float(f[j])!r} Hz is not a frequency "
                                         "(damaged record)")
    t = cols.get("time/s")
    if t is not None and t.size:
        tf = np.asarray(t, float)
        bad = np.flatnonzero(~np.isfinite(tf))
        if bad.size:
            j = int(bad[0])
            raise ReadError(path, j + 1, f"record {j + 1}: time {float(tf[j])!r} s is not finite (damaged record)")
        back = np.flatnonzero(np.diff(tf) < 0)
        if back.size:  # EC-Lab's experiment time only grows: records moved or damaged
            j = int(back[0]) + 1
            raise ReadError(path, j + 1, f"record {j + 1}: time goes back from {float(tf[j - 1])!r} s to "
                                         f"{float(tf[j])!r} s (damaged or moved record)")
    for name in ("half cycle", "z cycle"):  # EC-Lab's counters only grow
        k = cols.get(name)
        if k is not None and k.size:
            back = np.flatnonzero(np.diff(np.asarray(k, np.int64)) < 0)
            if back.size:
                j = int(back[0]) + 1
                raise ReadError(path, j + 1, f"record {j + 1}: {name} goes back from {int(k[j - 1])} to "
                                             f"{int(k[j])} (damaged record)")
    c = cols.get("cycle number")
    if c is not None and c.size:
        cf = np.asarray(c, float)
        bad = np.flatnonzero(~np.isfinite(cf) | (cf < 0) | (cf != np.round(cf)))
        if bad.size:
            j = int(bad[0])
            raise ReadError(path, j + 1, f"record {j + 1}: cycle number {float(cf[j])!r} is not a whole number "
                                         "(damaged record)")
        back = np.flatnonzero(np.diff(cf) < 0)
        if back.size:
            j = int(back[0]) + 1
            raise ReadError(path, j + 1, f"record {j + 1}: cycle number goes back from {int(cf[j - 1])} to "
                                         f"{int(cf[j])} (damaged record)")


def _ole_date(value: float) -> _dt.datetime | None:
    if not np.isfinite(value) or not 1.0 < value < 100_000.0:
        return None
    return _dt.datetime(1899, 12, 30) + _dt.timedelta(days=float(value))


def _pascal(buf: bytes, offset: int) -> str:
    if offset >= len(buf):
        return ""
    n = buf[offset]
    return buf[offset + 1:offset + 1 + n].decode("latin-1", errors="replace").strip("\x00 ")


def parse_mpr(path: str | Path, raw: bytes | None = None) -> MprFile:
    """Parse an .mpr file into named columns.

    Parameters
    ----------
    path : str or Path
    raw : bytes, optional
        The file content (read from ``path`` when omitted).

    Returns
    -------
    MprFile

    Raises
    ------
    ReadError
        No magic, a cut or inconsistent module, no data module, records that
        do not fill the data module, column ids of unknown size.
    """
    p = Path(path)
    if raw is None:
        try:
            raw = p.read_bytes()
        except OSError as exc:
            raise ReadError(p, None, f"cannot read the file: {exc}") from exc
    mods = _modules(p, raw)
    data = next((m for m in mods if m.short_name == "VMP data"), None)
    if data is None:
        raise ReadError(p, None, f"no 'VMP data' module (modules: {[m.short_name for m in mods]})")
    body = raw[data.start:data.start + data.length]
    if len(body) < 6:
        raise ReadError(p, None, "data module too short for its record count")
    n = int.from_bytes(body[0:4], "little")
    if data.new_header or data.version >= 10:
        ncol = int.from_bytes(body[4:6], "little")
        ids_at, rows_at = 6, 0x3EF
    else:
        ncol = body[4]
        ids_at = 5
        rows_at = {2: 0x195, 3: 0x196}.get(data.version, -1)
        if rows_at < 0:
            raise ReadError(p, None, f"data module version {data.version} is not one this reader knows (2, 3, 11)")
    if ncol == 0 or ids_at + 2 * ncol > min(rows_at, len(body)):
        raise ReadError(p, None, f"data module declares {ncol} columns, which do not fit its header")
    ids = [int(x) for x in np.frombuffer(body, "<u2", count=ncol, offset=ids_at)]
    if len(set(ids)) != len(ids):
        raise ReadError(p, None, f"data module lists a column id twice: {ids}")
    fields: list[tuple[str, str]] = []
    flag_ids: list[int] = []
    unknown: list[int] = []
    for cid in ids:
        if cid in FLAGS:
            flag_ids.append(cid)
            if not any(f[0] == "flags" for f in fields):
                fields.append(("flags", "u1"))
        elif cid in COLUMNS:
            fields.append((f"#{cid}", COLUMNS[cid][1]))
        else:
            unknown.append(cid)
            fields.append((f"#{cid}", "?"))
    known_size = sum(np.dtype(d).itemsize for _, d in fields if d != "?")
    avail = len(body) - rows_at
    if avail < 0:
        raise ReadError(p, None, "data module ends before its first record")
    if unknown:
        if len(unknown) > 1 or n == 0 or avail % n or avail // n - known_size not in (1, 2, 4, 8):
            raise ReadError(p, None, f"column ids {unknown} are not known to this reader and their sizes cannot "
                                     "be told from the module length")
        size = avail // n - known_size
        dt = {1: "u1", 2: "<u2", 4: "<f4", 8: "<f8"}[size]
        fields = [(f, dt if d == "?" else d) for f, d in fields]
    dtype = np.dtype(fields)
    need = n * dtype.itemsize
    if need > avail:
        got = avail // dtype.itemsize if dtype.itemsize else 0
        raise ReadError(p, None, f"data module holds {got} complete records of {dtype.itemsize} bytes, "
                                 f"its header says {n} (file truncated at record {got + 1})")
    if avail - need >= dtype.itemsize:
        raise ReadError(p, None, f"data module holds {avail // dtype.itemsize} records, its header says {n}")
    rec = np.frombuffer(body, dtype=dtype, count=n, offset=rows_at)
    cols: dict[str, np.ndarray] = {}
    unknown_names: list[str] = []
    for cid in ids:
        if cid in FLAGS:
            name, mask = FLAGS[cid]
            shift = (mask & -mask).bit_length() - 1
            cols[name] = ((rec["flags"] & mask) >> shift).astype(np.uint8)
            continue
        arr = np.array(rec[f"#{cid}"])  # own copy: the record buffer is released
        if cid in COLUMNS:
            name = COLUMNS[cid][0]
        else:
            name = f"unknown_{cid}"
            unknown_names.append(name)
        while name in cols:  # the same quantity stored twice (e.g. <Ewe> under two ids)
            name = f"{name} ({cid})"
        cols[name] = arr
    _check_values(p, cols)
    if unknown_names:
        warnings.warn(f"{p}: column id(s) {unknown} are unknown; kept as {unknown_names} "
                      f"({dtype.itemsize}-byte records checked against the module length)", MprWarning,
                      stacklevel=3)
    technique, tid, settings = "", None, {}
    s = next((m for m in mods if m.short_name == "VMP Set"), None)
    if s is not None and s.length > 0:
        sb = raw[s.start:s.start + s.length]
        tid = sb[0]
        technique = TECHNIQUES.get(tid, ("", ""))[0]
        if len(sb) > 0x260:
            mass = float(np.frombuffer(sb, "<f4", count=1, offset=0x107)[0])
            area = float(np.frombuffer(sb, "<f4", count=1, offset=0x211)[0])
            settings = {"comments": _pascal(sb, 0x07), "active_material_mass_mg": mass,
                        "electrode_material": _pascal(sb, 0x11E), "electrolyte": _pascal(sb, 0x1C0),
                        "electrode_area_cm2": area, "reference_electrode": _pascal(sb, 0x215)}
    version, start = "", None
    log = next((m for m in mods if m.short_name == "VMP LOG"), None)
    if log is not None and log.length > 0x3C0:
        lb = raw[log.start:log.start + log.length]
        start = _ole_date(float(np.frombuffer(lb, "<f8", count=1, offset=0x249)[0]))
        version = _pascal(lb, 0x3B7)
    loops = np.zeros(0, np.int64)
    lm = next((m for m in mods if m.short_name == "VMP loop"), None)
    if lm is not None and lm.length >= 4:
        lb = raw[lm.start:lm.start + lm.length]
        k = int.from_bytes(lb[0:4], "little")
        if 4 + 4 * k <= len(lb):
            loops = np.frombuffer(lb, "<u4", count=k, offset=4).astype(np.int64)
            loops = loops[loops < max(n, 1)]  # EC-Lab pads the list with the record count
    return MprFile(p, mods, cols, ids, n, data.version, technique, tid, version, start, loops, unknown_names,
                   settings)
