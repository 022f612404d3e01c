r"""Ivium .idf / .ids impedance files (IviumSoft data files).

Structure (from the format's public descriptions; no sample file is shared
with the project, so the tests use files written by :func:`write_idf` to that
structure): a first line that starts with a binary preamble (NUL bytes, then
``Version=...``), then ``key=value`` lines (dotted keys such as
``Mconfig.xxx``, ``Title=``, ``Technique=``/``Method=``, ``starttime=``), and
for each measurement a ``primary_data`` line followed by the number of
columns (3), the number of rows N and N rows of three numbers: Z′ (ohm),
Z″ (ohm) and the frequency (Hz), whitespace-separated, decimal point or comma.
An ``.ids`` file may hold several such measurements, each with its
``Title=``.

Every data block is read by the strict table core (:mod:`ncmsurf.io._table`):
a row with a missing or extra field, a cell that is not a number, fewer rows
than the declared N or a further row of numbers after them is a
:class:`~ncmsurf.core.errors.ReadError` naming the line. NUL bytes are allowed
only in the first (preamble) line. A measurement whose technique is stated
and is not an impedance technique is refused; when no technique is stated the
third column must be a monotonic frequency sweep (> 0 Hz), and
``meta["technique_note"]`` says so.

Examples
--------
>>> import pathlib, tempfile
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> s = ImpedanceSpectrum([1e4, 1e2, 1.0], [10 - 1j, 12 - 4j, 20 - 6j])
>>> p = write_idf([s], pathlib.Path(tempfile.mkdtemp()) / "cell.idf")
>>> back = read_ivium(p)[0]
>>> back.impedance.tolist(), back.meta["format"]
([(10-1j), (12-4j), (20-6j)], 'ivium-idf')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.io._table import TextFile, split_fields, table_at
from ncmsurf.io.eis_instruments import make_spectra
from ncmsurf.io.registry import SimpleReader

__all__ = ["IVIUM", "READERS", "read_ivium", "write_idf"]

_PREAMBLE = b"\x00" * 16 + b"\xfb\x00\x00\x00\r\x00"
_KV = re.compile(r"^([^=]{1,200})=(.*)$")
_NOT_EIS = re.compile(r"voltammetr|chrono|\bcv\b|\blsv\b|potentiometr|amperometr|transient|cycl", re.IGNORECASE)
_EIS = re.compile(r"impedance|\beis\b|\bpeis\b|\bgeis\b|frequency scan|freqscan", re.IGNORECASE)


def _sniff(path: Path, head: bytes) -> float:
    first = head[:256]
    if b"Version=" not in first:
        return 0.0
    if head.startswith(b"\x00" * 8) or path.suffix.lower() in (".idf", ".ids"):
        return 0.9 if b"primary_data" in head else 0.5
    return 0.0


def _technique(meta: dict[str, str]) -> str | None:
    for k, v in meta.items():
        if k.lower().endswith(("technique", "method", "mode")) and v.strip():
            return v.strip()
    return None


def read_ivium(path: str | Path, *, sample: Any = None, area: Any = None,
               normalize: bool = True) -> list[ImpedanceSpectrum]:
    """Read every impedance measurement of an Ivium .idf/.ids file.

    Parameters
    ----------
    path : str or Path
    sample : Sample or str, optional
    area : float or Quantity, optional
        Electrode area (cm²): the spectra are returned in ohm·cm².
    normalize : bool
        With ``area``, multiply the impedance by it (default) or only record it.

    Returns
    -------
    list of ImpedanceSpectrum
        One per ``primary_data`` block, ``meta["title"]`` its ``Title=``.

    Raises
    ------
    ReadError
        No ``primary_data`` block, a wrong column count, a row count other
        than declared, a bad row or cell, a non-impedance technique.
    """
    p = Path(path)
    tf = TextFile.open(p, nul="allow")
    lines = tf.lines
    if not lines or b"Version=" not in tf.raw[:256]:
        raise ReadError(p, 1, "not an Ivium data file (no Version= in the first line)")
    # the binary preamble (it holds a CR, so it spans two of our lines) ends with the Version= line
    pre = next((i for i, ln in enumerate(lines[:4]) if "Version=" in ln), 0)
    for i, ln in enumerate(lines[pre + 1:], start=pre + 2):
        if "\x00" in ln:
            raise ReadError(p, i, "NUL byte after the file's preamble line (padded or damaged file)")
    blocks = [i for i, ln in enumerate(lines) if ln.strip() == "primary_data"]
    if not blocks:
        raise ReadError(p, None, "no primary_data block (no measurement data in the file)")
    out: list[ImpedanceSpectrum] = []
    prev_end = 0
    for b in blocks:
        keys: dict[str, str] = {}
        for ln in lines[prev_end:b]:
            m = _KV.match(ln.strip("\x00\r\n "))
            if m:
                keys[m.group(1).strip()] = m.group(2).strip()
        title = next((v for k, v in keys.items() if k == "Title" or k.endswith(".Title")), "")
        tech = _technique(keys)
        if tech is not None and _NOT_EIS.search(tech) and not _EIS.search(tech):
            raise ReadError(p, b + 1, f"not an impedance measurement (technique {tech!r})")
        if b + 2 >= len(lines):
            raise ReadError(p, b + 1, "primary_data block cut short (no column and row counts)")
        ncol, nrow = lines[b + 1].strip(), lines[b + 2].strip()
        if ncol != "3":
            raise ReadError(p, b + 2, f"primary_data: expected 3 columns (Z', Z'', f), the file says {ncol!r}")
        if not nrow.isdigit() or int(nrow) < 1:
            raise ReadError(p, b + 3, f"primary_data: the row count {nrow!r} is not a positive whole number")
        n = int(nrow)
        start, stop = b + 3, b + 3 + n
        if stop > len(lines):
            raise ReadError(p, len(lines), f"primary_data declares {n} rows, the file holds "
                                           f"{len(lines) - start} (file cut short)")
        if stop < len(lines):
            nxt = split_fields(lines[stop], None)
            if len(nxt) == 3 and all(re.fullmatch(r"[-+0-9.,eE]+", t) for t in nxt):
                raise ReadError(p, stop + 1, f"a row of numbers after the {n} rows primary_data declares")
        table = table_at(tf, header=None, start=start, stop=stop, delimiter=None, names=["Z'", "Z''", "f"],
                         blank="error")
        if table.nrows != n:
            raise ReadError(p, stop, f"primary_data declares {n} rows, {table.nrows} found")
        zr, zi, f = table.column(0), table.column(1), table.column(2)
        meta: dict[str, Any] = {"format": "ivium-idf", "instrument": "Ivium", "title": title,
                                "table": table.layout()}
        if tech is None:
            d = np.diff(f)
            if not (np.all(f > 0) and (np.all(d < 0) or np.all(d > 0))):
                raise ReadError(p, b + 1, "no technique stated and the third column is not a monotonic "
                                          "frequency sweep: not read as impedance")
            meta["technique_note"] = "no technique stated; columns read as Z', Z'', f (Ivium's impedance layout)"
        else:
            meta["technique"] = tech
        if "starttime" in keys:
            meta["start_time"] = keys["starttime"]
        out.append(make_spectra(p, f, zr + 1j * zi, table.line_numbers, meta, sample=sample, area=area,
                                normalize=normalize))
        prev_end = stop
    return out


def write_idf(spectra: ImpedanceSpectrum | Sequence[ImpedanceSpectrum], path: str | Path, *,
              title: str = "ncmsurf") -> Path:
    """Write spectra in the Ivium .idf/.ids layout described above (for tests and exchange).

    Parameters
    ----------
    spectra : ImpedanceSpectrum or sequence of them
        Impedance in ohm.
    path : str or Path
    title : str
        ``Title=`` of each measurement (numbered when there are several).

    Returns
    -------
    Path
    """
    specs = [spectra] if isinstance(spectra, ImpedanceSpectrum) else list(spectra)
    if not specs:
        raise ValidationError("write_idf: no spectra")
    body: list[str] = []
    for k, s in enumerate(specs):
        if s.units != "ohm":
            raise ValidationError(f"write_idf: spectra[{k}] is in {s.units}; Ivium files hold ohm")
        body += [f"Title={title if len(specs) == 1 else f'{title} {k + 1}'}", "Technique=Impedance",
                 "starttime=01/01/2000 00:00:00", "Mconfig.Mode=Impedance", "primary_data", "3",
                 str(s.frequency.size)]
        body += [f"{z.real:.6E} {z.imag:.6E} {f:.6E}" for f, z in zip(s.frequency, s.impedance, strict=True)]
    p = Path(path)
    p.write_bytes(_PREAMBLE + b"Version=11\r\n" + ("\r\n".join(body) + "\r\n").encode("latin-1"))
    return p


IVIUM = SimpleReader("ivium-idf", "eis", (".idf", ".ids"), _sniff, read_ivium,
                     "Ivium .idf/.ids impedance data (primary_data blocks: Z', Z'', f)")
READERS = [IVIUM]
"""Readers registered under the ``ivium`` entry point."""
