"""BioLogic EC-Lab impedance files: .mpt (ASCII) reader and writer, binary .mpr (own parser).

A .mpt file may hold several sweeps (PEIS/GEIS loops, or impedance steps in a
longer technique sequence); they are split only where EC-Lab's own ``cycle
number`` (or ``z cycle``) column changes, never on a frequency jump or two
swapped rows, and each spectrum keeps its cycle in ``meta["cycle"]``. Rows
with ``freq/Hz`` = 0 (non-impedance steps) are counted in
``meta["non_eis_rows"]``. The text is read by the strict table core
(:mod:`ncmsurf.io._table`): field counts, decimal commas per file, NUL tails
and cut last lines are checked.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> a = ImpedanceSpectrum([1e3, 10.0, 0.1], [5 - 1j, 8 - 3j, 12 - 2j])
>>> b = ImpedanceSpectrum([1e3, 10.0, 0.1], [6 - 1j, 9 - 3j, 14 - 2j])
>>> p = write_mpt([a, b], pathlib.Path(tempfile.mkdtemp()) / "peis.mpt")
>>> back = read_mpt(p)
>>> len(back), [s.meta["cycle"] for s in back], np.allclose(back[1].impedance, b.impedance)
(2, [1, 2], True)
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.io._table import Table, TextFile, looks_binary, split_fields, table_at
from ncmsurf.io.eis_instruments import EISReadWarning, make_spectra
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_mpr", "read_mpt", "write_mpt"]


def _sniff_mpt(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    t = head[:4000].decode("latin-1", errors="replace")
    if not t.startswith("EC-Lab ASCII FILE"):
        return 0.0
    if re.search(r"Impedance|PEIS|GEIS|freq/Hz", t):
        return 0.95
    return 0.3  # an EC-Lab file without impedance in the visible header (cycling)


_CYCLE_COLUMNS = ("cycle number", "z cycle")


def _check_surplus(path: Path, table: Table, header_line: int) -> str:
    """Rows hold fewer fields than the header names: accept only if |Z| and Phase(Z) agree with Re/Im."""
    names = table.names
    need = ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg")
    if not all(n in names for n in need):
        raise ReadError(path, header_line, f"the header names {len(names) + len(table.surplus_names)} columns but "
                                           f"the rows hold {len(names)}, and |Z|/Ohm and Phase(Z)/deg are not among "
                                           "them to show which columns the rows hold")
    zr, mzi = table.column("Re(Z)/Ohm"), table.column("-Im(Z)/Ohm")
    mod, ph = table.column("|Z|/Ohm"), table.column("Phase(Z)/deg")
    f = table.column("freq/Hz")
    eis = f > 0
    z = zr - 1j * mzi
    # EC-Lab writes 8 significant digits: allow a few units in the last of them
    ok_mod = np.abs(np.abs(z[eis]) - mod[eis]) <= 1e-6 * np.maximum(mod[eis], 1e-300) + 1e-12
    ok_ph = np.abs(np.degrees(np.angle(z[eis])) - ph[eis]) <= 1e-4 * np.maximum(np.abs(ph[eis]), 1.0)
    bad = np.flatnonzero(~(ok_mod & ok_ph))
    if bad.size:
        j = int(np.flatnonzero(eis)[bad[0]])
        raise ReadError(path, int(table.line_numbers[j]),
                        f"the header names {len(names) + len(table.surplus_names)} columns but the rows hold "
                        f"{len(names)}, and |Z|/Phase(Z) do not match Re(Z)/-Im(Z) in this row: the columns "
                        "cannot be told apart")
    return (f"the header names {len(names) + len(table.surplus_names)} columns, the rows hold {len(names)}: "
            f"read as the first {len(names)} names (|Z| and Phase(Z) agree with Re(Z) and -Im(Z) on every row); "
            f"not in the rows: {table.surplus_names}")


def read_mpt(path: str | Path, *, sample: Any = None, area: Any = None,
             normalize: bool = True) -> list[ImpedanceSpectrum]:
    """EC-Lab ASCII (.mpt) PEIS/GEIS export → one spectrum per cycle/loop.

    Spectra are split only where EC-Lab's own ``cycle number`` (or ``z
    cycle``) column changes, never on a frequency jump; without such a
    column the file is one spectrum. A header that names more columns than
    every row holds (EC-Lab 11.x exports with Ece columns) is read with the
    rows' columns when ``|Z|`` and ``Phase(Z)`` agree with ``Re(Z)`` and
    ``-Im(Z)`` on every row, with an :class:`EISReadWarning` and
    ``meta["surplus_header_names"]``; otherwise it is a :class:`ReadError`.

    Parameters
    ----------
    path : str or Path
    sample : Sample or str, optional
    area : float or Quantity, optional
        Electrode area (cm²): the spectra are returned in ohm·cm².
    normalize : bool
        With ``area``, multiply the impedance by it (default) or only record it.

    Raises
    ------
    ReadError
        Missing ``freq/Hz``, ``Re(Z)/Ohm`` or ``-Im(Z)/Ohm`` column, a
        truncated row, a non-numeric value, a NUL tail, duplicate frequencies
        in a sweep.
    """
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    if not lines or not lines[0].startswith("EC-Lab ASCII FILE"):
        raise ReadError(path, 1, "not an EC-Lab ASCII file (first line is not 'EC-Lab ASCII FILE')")
    m = re.match(r"Nb header lines\s*:\s*(\d+)", lines[1] if len(lines) > 1 else "")
    if not m:
        raise ReadError(path, 2, "no 'Nb header lines : N' line")
    nh = int(m.group(1))
    if nh < 3 or nh > len(lines):
        raise ReadError(path, 2, f"header declares {nh} lines but the file has {len(lines)}")
    meta: dict[str, Any] = {"format": "biologic-mpt", "instrument": "BioLogic EC-Lab"}
    tech = lines[3].strip() if len(lines) > 3 else ""
    if tech:
        meta["technique"] = tech
    for ln in lines[2:nh - 1]:
        mm = re.match(r"\s*(Acquisition started on|Device|Electrode surface area|Characteristic mass|Run on channel|"
                      r"Comments)\s*:\s*(.*)$", ln)
        if mm:
            meta[mm.group(1).strip()] = mm.group(2).strip()
    header = split_fields(lines[nh - 1], "\t")
    for col in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"):
        if col not in header:
            raise ReadError(path, nh, f'"{col}" not found in column headers')
    if nh >= len(lines) or not any(ln.strip() for ln in lines[nh:]):
        raise ReadError(path, nh + 1, "no data rows after the column header")
    table = table_at(tf, header=nh - 1, start=nh, delimiter="\t", surplus_names="allow")
    if table.surplus_names:
        note = _check_surplus(path, table, nh)
        meta["surplus_header_names"] = list(table.surplus_names)
        meta["columns_note"] = note
        warnings.warn(f"{path}: {note}", EISReadWarning, stacklevel=2)
    for col in ("freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"):
        if col not in table.names:
            raise ReadError(path, nh, f'"{col}" is named in the header but the rows do not hold it')
    f_all = table.column("freq/Hz")
    zr_all, mzi_all = table.column("Re(Z)/Ohm"), table.column("-Im(Z)/Ohm")
    cyc_name = next((c for c in _CYCLE_COLUMNS if c in table.names), None)
    cyc_all = table.column(cyc_name) if cyc_name else None
    if cyc_all is not None and not np.all(cyc_all == np.round(cyc_all)):
        j = int(np.flatnonzero(cyc_all != np.round(cyc_all))[0])
        raise ReadError(path, int(table.line_numbers[j]), f"{cyc_name!r} holds a non-integer {float(cyc_all[j])!r}")
    eis = f_all > 0
    if not eis.any():
        raise ReadError(path, nh + 1, "no rows with freq/Hz > 0 (no impedance data)")
    f, z = f_all[eis], zr_all[eis] - 1j * mzi_all[eis]
    nums = table.line_numbers[eis]
    cyc = cyc_all[eis] if cyc_all is not None else None
    meta["table"] = table.layout()
    if cyc_name:
        meta["split_by"] = cyc_name
    cuts = [0] + ([i + 1 for i in range(f.size - 1) if cyc[i + 1] != cyc[i]] if cyc is not None else []) + [f.size]
    if cyc is not None and len(cuts) > 2:
        # the cycle counter only grows, and each of its sweeps runs one way in frequency: a damaged counter
        # cell would otherwise move points between spectra or split one
        back = np.flatnonzero(np.diff(cyc) < 0)
        if back.size:
            j = int(back[0]) + 1
            raise ReadError(path, int(nums[j]), f"{cyc_name!r} goes back from {int(cyc[j - 1])} to {int(cyc[j])}")
        for a, b in zip(cuts[:-1], cuts[1:], strict=True):
            d = np.diff(f[a:b])
            if d.size and not (np.all(d < 0) or np.all(d > 0)):
                j = a + 1 + int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0])
                raise ReadError(path, int(nums[j]), f"the sweep of {cyc_name} {int(cyc[a])} does not run one way in "
                                                    "frequency: the cycle column and the frequencies disagree")
    out = []
    for k, (a, b) in enumerate(zip(cuts[:-1], cuts[1:], strict=True)):
        mt = dict(meta)
        mt["cycle"] = int(cyc[a]) if cyc is not None else 1
        mt["sweep"] = k + 1
        mt["non_eis_rows"] = int((~eis).sum())
        out.append(make_spectra(path, f[a:b], z[a:b], nums[a:b], mt, sample=sample, area=area, normalize=normalize))
    return out


def write_mpt(spectra: ImpedanceSpectrum | Sequence[ImpedanceSpectrum], path: str | Path) -> Path:
    """Write spectra as an EC-Lab ASCII PEIS file (one ``cycle number`` per spectrum).

    The columns are ``freq/Hz``, ``Re(Z)/Ohm``, ``-Im(Z)/Ohm``, ``|Z|/Ohm``,
    ``Phase(Z)/deg``, ``time/s`` and ``cycle number``, tab-separated with
    CRLF line ends in Latin-1, as EC-Lab writes them; :func:`read_mpt` and
    impedance.py's ``readBioLogic`` read the file back.

    Parameters
    ----------
    spectra : ImpedanceSpectrum or sequence of them
        Impedance in ohm. The cycle number is ``meta["cycle"]`` when present, else 1, 2, ...
    path : str or Path

    Returns
    -------
    Path
    """
    specs = [spectra] if isinstance(spectra, ImpedanceSpectrum) else list(spectra)
    if not specs:
        raise ValidationError("write_mpt: no spectra")
    for i, s in enumerate(specs):
        if not isinstance(s, ImpedanceSpectrum):
            raise ValidationError(f"write_mpt: spectra[{i}] is a {type(s).__name__}, not an ImpedanceSpectrum")
        if s.units != "ohm":
            raise ValidationError(f"write_mpt: spectra[{i}] is in {s.units}; EC-Lab files hold ohm")
    path = Path(path)
    now = _dt.datetime(2000, 1, 1).strftime("%m/%d/%Y %H:%M:%S")
    body_head = [
        "",
        "Potentio Electrochemical Impedance Spectroscopy",
        "",
        "Run on channel : 1",
        f"Acquisition started on : {now}",
        "Device : ncmsurf write_mpt",
        f"Electrode surface area : {specs[0].area if specs[0].area is not None else 0.001} cm²",
        "Characteristic mass : 0.001 g",
        "",
    ]
    cols = ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm", "|Z|/Ohm", "Phase(Z)/deg", "time/s", "cycle number"]
    nh = 2 + len(body_head) + 1
    out = ["EC-Lab ASCII FILE", f"Nb header lines : {nh}                          ", *body_head, "\t".join(cols) + "\t"]
    t = 0.0
    for k, s in enumerate(specs):
        cyc = s.meta.get("cycle", k + 1)
        for fi, zi in zip(s.frequency, s.impedance, strict=True):
            t += 1.0 / fi + 1.0
            out.append("\t".join([f"{fi:.10E}", f"{zi.real:.10E}", f"{-zi.imag:.10E}", f"{abs(zi):.10E}",
                                  f"{np.degrees(np.angle(zi)):.10E}", f"{t:.10E}", f"{float(cyc):.15E}"]))
    path.write_bytes(("\r\n".join(out) + "\r\n").encode("latin-1"))
    return path


# ---------------------------------------------------------------------- .mpr
def _split_points(f: np.ndarray, cyc: np.ndarray | None) -> list[tuple[int, int]]:
    """Sweep bounds for the .mpr records (cycle changes, and where the frequency rises again)."""
    n = f.size
    cuts = {0, n}
    if cyc is not None:
        cuts |= {i + 1 for i in range(n - 1) if cyc[i + 1] != cyc[i]}
    for i in range(1, n - 1):
        if f[i + 1] > f[i] and f[i] < f[i - 1]:
            cuts.add(i + 1)
    s = sorted(cuts)
    return [(a, b) for a, b in zip(s[:-1], s[1:], strict=True) if b > a]



def _sniff_mpr(path: Path, head: bytes) -> float:
    if not head.startswith(b"BIO-LOGIC MODULAR FILE"):
        return 0.0
    k = head.find(b"VMP Set")
    at = k + (59 if head[k + 35:k + 39] == b"\xff\xff\xff\xff" else 51) if k >= 0 else -1
    if 0 <= at < len(head) and head[at] in (0x1D, 0x1E):  # technique id of PEIS / GEIS
        return 0.95
    if re.search(rb"Impedance|PEIS|GEIS", head):
        return 0.6
    return 0.2


def read_mpr(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
             **_: Any) -> list[ImpedanceSpectrum]:
    """EC-Lab binary .mpr: the impedance records (freq/Hz > 0) of PEIS, GEIS or impedance steps in MB.

    Read with ncmsurf's own .mpr parser (:mod:`ncmsurf.io._mpr`; galvani 0.5 lacks the column ids of
    EC-Lab 11.50 and newer, yadg pins ``pandas < 3``, both are GPL). Z is ``Re(Z)/Ohm`` and
    ``-Im(Z)/Ohm`` where stored, else ``|Z|/Ohm`` and ``Phase(Z)/deg``. Spectra are split only on the
    file's own markers: a change of ``cycle number`` (or ``z cycle``), a loop start, or non-impedance
    records between impedance records; never on a frequency jump. Each spectrum keeps its cycle,
    loop, first record and EC-Lab's counter-electrode impedance columns (``Re(Zce)``, ...) in ``meta``.

    Parameters
    ----------
    path : str or Path
    sample : Sample or str, optional
    area : float or Quantity, optional
        Electrode area (cm²).
    normalize : bool
        With ``area``, multiply the impedance by it (default) or only record it.

    Raises
    ------
    ReadError
        Not an .mpr or a damaged one, no frequency column, no impedance records.
    """
    from ncmsurf.io._mpr import parse_mpr  # local: the text readers do not need the binary parser

    path = Path(path)
    mpr = parse_mpr(path)
    cols = mpr.columns
    if "freq/Hz" not in cols:
        raise ReadError(path, None, '"freq/Hz" not found in the .mpr columns (not an impedance record)')
    f = np.asarray(cols["freq/Hz"], float)
    if "Re(Z)/Ohm" in cols and "-Im(Z)/Ohm" in cols:
        z = np.asarray(cols["Re(Z)/Ohm"], float) - 1j * np.asarray(cols["-Im(Z)/Ohm"], float)
        zsrc = "Re(Z)/Ohm, -Im(Z)/Ohm"
    elif "|Z|/Ohm" in cols and "Phase(Z)/deg" in cols:  # MB impedance steps store modulus and phase only
        z = np.asarray(cols["|Z|/Ohm"], float) * np.exp(1j * np.radians(np.asarray(cols["Phase(Z)/deg"], float)))
        zsrc = "|Z|/Ohm, Phase(Z)/deg"
    else:
        raise ReadError(path, None, "neither Re(Z)/-Im(Z) nor |Z|/Phase(Z) columns in the .mpr file")
    eis = f > 0
    if not eis.any():
        raise ReadError(path, None, "no records with freq/Hz > 0 (no impedance data)")
    idx = np.flatnonzero(eis)
    cyc_name = next((c for c in ("cycle number", "z cycle") if c in cols), None)
    cyc = np.asarray(cols[cyc_name], float) if cyc_name else None
    loop = np.zeros(f.size, np.int64)
    for k, start in enumerate(mpr.loops[1:], start=1):
        loop[int(start):] = k
    cut = np.zeros(idx.size, bool)
    cut[0] = True
    cut[1:] = np.diff(idx) > 1  # non-impedance records in between
    cut[1:] |= loop[idx[1:]] != loop[idx[:-1]]
    if cyc is not None:
        cut[1:] |= cyc[idx[1:]] != cyc[idx[:-1]]
    starts = np.flatnonzero(cut)
    stops = np.concatenate((starts[1:], [idx.size]))
    for a, b in zip(starts, stops, strict=True):  # each sweep runs one way in frequency (as in .mpt files)
        d = np.diff(f[idx[a:b]])
        if d.size and not (np.all(d < 0) or np.all(d > 0)):
            j = int(idx[a + 1 + int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0])])
            raise ReadError(path, j + 1, f"record {j + 1}: the sweep does not run one way in frequency "
                                         "(damaged record, or the file's markers and frequencies disagree)")
    ce_cols = [c for c in ("Re(Zce)/Ohm", "-Im(Zce)/Ohm", "Re(Zwe-ce)/Ohm", "-Im(Zwe-ce)/Ohm") if c in cols]
    base: dict[str, Any] = {"format": "biologic-mpr", "instrument": "BioLogic EC-Lab", "technique": mpr.technique,
                            "ec_lab_version": mpr.ec_lab_version, "impedance_columns": zsrc,
                            "non_eis_records": int(f.size - idx.size), "line_numbers_are": "record indices",
                            "split_on": "cycle number / loop / non-impedance records"}
    out = []
    for k, (a, b) in enumerate(zip(starts, stops, strict=True)):
        rows = idx[a:b]
        meta = dict(base)
        meta.update({"sweep": k + 1, "cycle": int(cyc[rows[0]]) if cyc is not None else k + 1,
                     "loop": int(loop[rows[0]]), "record": int(rows[0]) + 1})
        for c in ce_cols:
            meta[c] = np.asarray(cols[c], float)[rows].tolist()
        out.append(make_spectra(path, f[rows], z[rows], rows + 1, meta, sample=sample, area=area,
                                normalize=normalize))
    return out


READERS = [
    SimpleReader("biologic-mpt-eis", "eis", (".mpt",), _sniff_mpt, read_mpt,
                 "BioLogic EC-Lab ASCII .mpt impedance (PEIS/GEIS), one spectrum per cycle"),
    SimpleReader("biologic-mpr-eis", "eis", (".mpr",), _sniff_mpr, read_mpr,
                 "BioLogic EC-Lab binary .mpr impedance records (PEIS, GEIS, MB; EC-Lab 10.x-11.x)"),
]
