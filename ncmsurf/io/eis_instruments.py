"""Impedance instrument exports: Gamry, ZPlot/ZView, Autolab, Parstat, VersaStudio, CH Instruments, PowerSuite.

Every reader returns ``list[ImpedanceSpectrum]`` with the instrument's
frequencies and complex impedance (Z′ + jZ″, ohm) in file order, and the
header in ``meta``. Columns are chosen by the names in the file's own column
header (never by position), and every data row goes through the strict table
core (:mod:`ncmsurf.io._table`): its field count is checked against the
header, the decimal mark is decided once per file, a row cut short, a cell
that is not a number, a NUL tail or trailing text is a
:class:`~ncmsurf.core.errors.ReadError` naming the line.

With ``area=`` (cm² or a Quantity) the spectra are returned area-normalised
in ohm·cm² (``normalize=False`` keeps ohm and only records the area). A data
block with fewer rows than its header declares is read but flagged with
:class:`EISReadWarning` and ``meta["declared_points"]``. A file holding
several sweeps is split only on the file's own markers (Gamry tables, NOVA's
``Index`` restarting at 1, VersaStudio segments), never on a frequency jump.

Gamry files with drift correction (``DRIFTCOR`` on, ``ZrealDrCor`` and
``ZimagDrCor`` columns) give two spectra: the drift-corrected one first
(``meta["drift_corrected"] = True``), then the uncorrected one.

Examples
--------
>>> import tempfile, pathlib, numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> spec = ImpedanceSpectrum([1e3, 10.0, 0.1], [5 - 1j, 8 - 3j, 12 - 2j])
>>> p = write_dta(spec, pathlib.Path(tempfile.mkdtemp()) / "cell.DTA")
>>> back = read_gamry(p)[0]
>>> np.allclose(back.impedance, spec.impedance), back.meta["format"]
(True, 'gamry-dta')
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.io._table import Table, TextFile, looks_binary, split_fields, split_lines, table_at
from ncmsurf.io.registry import SimpleReader
from ncmsurf.io.text import eis_columns, name_unit

__all__ = [
    "READERS",
    "EISReadWarning",
    "make_spectra",
    "parse_rows",
    "read_autolab",
    "read_chi",
    "read_gamry",
    "read_parstat",
    "read_powersuite",
    "read_versastudio",
    "read_zplot",
    "table_spectrum",
    "write_dta",
]


class EISReadWarning(NcmsurfWarning):
    """An impedance file was readable but not as its header promised (e.g. fewer points)."""


# ----------------------------------------------------------------- helpers
def _head_text(head: bytes) -> str:
    if looks_binary(head):
        return ""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace")


def parse_rows(
    path: Path,
    lines: Sequence[str],
    start: int,
    stop: int,
    split: Callable[[str], list[str]],
    columns: Sequence[int],
    names: Sequence[str],
    *,
    min_fields: int | None = None,
    decimal_comma: bool = False,
    skip_blank: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values of ``columns`` from ``lines[start:stop]`` (0-based indices); the older interface.

    Every non-blank row must have exactly as many fields as the first one
    (at least ``min_fields``); returns the (rows, len(columns)) array and the
    1-based line numbers. New code uses :func:`ncmsurf.io._table.table_at`.

    Raises
    ------
    ReadError
        For a short or long row, a non-numeric field or a decimal mark
        other than the file's.
    """
    rx = re.compile(r"[-+]?(?:[0-9]+(?:,[0-9]*)?|,[0-9]+)(?:[eE][-+]?[0-9]+)?" if decimal_comma
                    else r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
    need = (max(columns) + 1) if min_fields is None else min_fields
    width: int | None = None
    rows: list[list[float]] = []
    nums: list[int] = []
    for i in range(start, min(stop, len(lines))):
        ln = lines[i]
        if not ln.strip():
            if skip_blank:
                continue
            break
        toks = split(ln)
        if width is None:
            width = len(toks)
        if len(toks) < need or len(toks) != width:
            what = "truncated data row: " if len(toks) < max(need, width) else ""
            raise ReadError(path, i + 1, f"{what}expected {max(need, width)} columns, found {len(toks)}")
        vals = []
        for k, c in enumerate(columns):
            t = toks[c].strip().strip('"')
            if not rx.fullmatch(t):
                raise ReadError(path, i + 1, f"{names[k]}: {toks[c].strip()!r} is not a number")
            vals.append(float(t.replace(",", ".")))
        rows.append(vals)
        nums.append(i + 1)
    return np.array(rows, dtype=float).reshape(-1, len(columns)), np.array(nums, dtype=np.int64)


def make_spectra(
    path: Path,
    f: np.ndarray,
    z: np.ndarray,
    lines: np.ndarray,
    meta: dict[str, Any],
    *,
    sample: Any = None,
    area: Any = None,
    normalize: bool = True,
    declared: int | None = None,
) -> ImpedanceSpectrum:
    """Build one spectrum, turning validation problems into ReadErrors with the file line."""
    if f.size == 0:
        raise ReadError(path, None, "no impedance data rows found")
    bad = np.flatnonzero(~(f > 0))
    if bad.size:
        raise ReadError(path, int(lines[bad[0]]), f"frequency must be > 0 Hz, got {f[bad[0]]}")
    bad = np.flatnonzero(~np.isfinite(z))
    if bad.size:
        raise ReadError(path, int(lines[bad[0]]), f"impedance is not finite: {z[bad[0]]}")
    order = np.argsort(f, kind="stable")
    dup = np.flatnonzero(np.diff(f[order]) == 0)
    if dup.size:
        k = int(max(order[dup[0]], order[dup[0] + 1]))
        first = int(min(order[dup[0]], order[dup[0] + 1]))
        raise ReadError(path, int(lines[k]), f"duplicate frequency {f[k]} Hz (also on line {int(lines[first])}); "
                                             "sweeps are split only on the file's own cycle/loop markers")
    if declared is not None and declared != f.size:
        meta["declared_points"] = int(declared)
        warnings.warn(f"{path}: header declares {declared} points, {f.size} data rows found "
                      f"(sweep stopped early?); read the {f.size} rows present", EISReadWarning, stacklevel=4)
    meta.setdefault("source_file", str(path))
    meta["first_line"] = int(lines[0])
    try:
        spec = ImpedanceSpectrum(f, z, sample=sample, area=area, meta=meta)
    except ValidationError as exc:
        raise ReadError(path, int(lines[0]), str(exc)) from exc
    if area is not None and normalize:
        spec = spec.area_normalized()
    return spec


def _columns(path: Path, table: Table, f_name: str | None = None, re_name: str | None = None,
             im_name: str | None = None) -> tuple[int, int, int, bool]:
    """Frequency, Z′, Z″ columns of a table: the given names, else found from the header names."""
    names = table.names
    if f_name is not None and re_name is not None and im_name is not None:
        for n in (f_name, re_name, im_name):
            if n not in names:
                raise ReadError(path, table.header_line, f"column {n!r} not found in the header {names}")
        return names.index(f_name), names.index(re_name), names.index(im_name), False
    got = eis_columns(table.header_names)
    if got is None:
        raise ReadError(path, table.header_line, f"frequency, Z' and Z'' columns not found (or not unique) in the "
                                                 f"header {names}")
    return got


_OHM = ("ohm", "Ohm", "ohms", "Ohms", "Ω", "ohm.", "Ohm.")


def table_spectrum(path: Path, table: Table, meta: dict[str, Any], *, sample: Any = None, area: Any = None,
                   normalize: bool = True, declared: int | None = None, rows: np.ndarray | None = None,
                   f_name: str | None = None, re_name: str | None = None, im_name: str | None = None,
                   negate_im: bool | None = None) -> ImpedanceSpectrum:
    """One spectrum from a checked table: columns by header name, units from the names, ``-Z''`` negated."""
    i_f, i_re, i_im, neg = _columns(path, table, f_name, re_name, im_name)
    if negate_im is not None:
        neg = negate_im
    f = table.column(i_f)
    zr = table.column(i_re)
    zi = table.column(i_im)
    lines = table.line_numbers
    if rows is not None:
        f, zr, zi, lines = f[rows], zr[rows], zi[rows], lines[rows]

    def unit(i: int, allowed: tuple[str, ...]) -> None:
        u = table.units[i] if table.units_line is not None else (
            name_unit(table.header_names[i])[1] if table.header_line is not None else None)
        if u is not None and u.strip() not in allowed:
            raise ReadError(path, table.units_line or table.header_line,
                            f"column {table.names[i]!r}: unit {u!r}, where this format writes {allowed[0]}")

    # instruments write fixed units: any other unit is a damaged header, never a conversion
    unit(i_f, ("Hz",))
    unit(i_re, _OHM)
    unit(i_im, _OHM)
    if neg:
        zi = -zi
    meta.setdefault("columns", list(table.header_names))
    meta["impedance_columns"] = [table.names[i_f], table.names[i_re], table.names[i_im]]
    if neg:
        meta["imaginary_sign"] = f"column {table.names[i_im]!r} holds -Z'' (negated)"
    meta["table"] = table.layout()
    return make_spectra(path, f, zr + 1j * zi, lines, meta, sample=sample, area=area, normalize=normalize,
                        declared=declared)


def _require(path: Path, cond: bool, line: int | None, reason: str) -> None:
    if not cond:
        raise ReadError(path, line, reason)


# ------------------------------------------------------------------- Gamry
_GAMRY_KEY = re.compile(r"^[A-Z][A-Z0-9_]*\t[A-Z][A-Z0-9_]*(\t|$)")


def _gamry_keyword(line: str) -> bool:
    """A Gamry keyword line (``KEY<TAB>TYPE...``) or the abort flag: the end of a table."""
    return line.startswith("EXPERIMENTABORTED") or _GAMRY_KEY.match(line) is not None


def _sniff_gamry(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if not t.startswith("EXPLAIN"):
        return 0.0
    if "ZCURVE" in t or re.search(r"^TAG\s+(EISPOT|EISGALV|EIS)", t, re.M):
        return 0.95
    return 0.3


def read_gamry(path: str | Path, *, sample: Any = None, area: Any = None,
               normalize: bool = True) -> list[ImpedanceSpectrum]:
    """Gamry Framework .DTA (EISPOT/EISGALV): the ZCURVE table, drift-corrected and raw spectra when both.

    The table ends at the next keyword line (``KEY<TAB>TYPE``) or at
    ``EXPERIMENTABORTED`` (aborted runs, ``meta["aborted"]``); every line
    before it must be a complete row. With drift correction the
    drift-corrected spectrum (``ZrealDrCor``/``ZimagDrCor``) comes first,
    labelled ``meta["drift_corrected"] = True``, then the uncorrected one.
    """
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    _require(path, bool(lines) and lines[0].startswith("EXPLAIN"), 1, "not a Gamry .DTA file (no EXPLAIN line)")
    meta: dict[str, Any] = {"format": "gamry-dta", "instrument": "Gamry"}
    start = None
    for i, ln in enumerate(lines):
        toks = ln.split("\t")
        if toks[0] in ("TAG", "TITLE", "DATE", "TIME", "PSTAT", "VDC", "VAC", "IDC", "IAC", "AREA", "FREQINIT",
                       "FREQFINAL", "PTSPERDEC", "DRIFTCOR") and len(toks) >= 3:
            meta.setdefault(toks[0].lower(), toks[2].strip())
        if toks[0] == "ZCURVE" and len(toks) >= 2 and toks[1].strip() == "TABLE":
            start = i
            break
    _require(path, start is not None, None, "no ZCURVE table (not an impedance measurement)")
    assert start is not None
    _require(path, start + 3 <= len(lines), start + 1, "ZCURVE table header is incomplete (file truncated)")
    declared = None
    ztoks = lines[start].split("\t")
    if len(ztoks) >= 3 and ztoks[2].strip().isdigit():
        declared = int(ztoks[2].strip())
    header = split_fields(lines[start + 1], "\t")
    for col in ("Freq", "Zreal", "Zimag"):
        _require(path, col in header, start + 2, f"column {col!r} not found in the ZCURVE header {header[1:]}")
    end = next((j for j in range(start + 3, len(lines)) if _gamry_keyword(lines[j])), None)
    aborted = end is not None and lines[end].startswith("EXPERIMENTABORTED")
    meta["aborted"] = aborted
    if start + 3 >= len(lines) or (end is not None and end == start + 3):
        raise ReadError(path, start + 3, "no impedance data rows found")
    table = table_at(tf, header=start + 1, units=start + 2, start=start + 3, stop=end, delimiter="\t",
                     unterminated="error")
    drift = "ZrealDrCor" in table.names and "ZimagDrCor" in table.names
    out = []
    if drift:
        m = dict(meta, drift_corrected=True, spectrum="drift-corrected")
        out.append(table_spectrum(path, table, m, sample=sample, area=area, normalize=normalize, declared=declared,
                                  f_name="Freq", re_name="ZrealDrCor", im_name="ZimagDrCor"))
    m = dict(meta, drift_corrected=False)
    if drift:
        m["spectrum"] = "uncorrected"
    out.append(table_spectrum(path, table, m, sample=sample, area=area, normalize=normalize, declared=declared,
                              f_name="Freq", re_name="Zreal", im_name="Zimag"))
    return out


def write_dta(spectrum: ImpedanceSpectrum, path: str | Path) -> Path:
    """Write a minimal Gamry EISPOT .DTA file (ZCURVE table) that :func:`read_gamry` reads back.

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
        Impedance in ohm (area-specific spectra are refused).
    path : str or Path

    Returns
    -------
    Path
    """
    if spectrum.units != "ohm":
        raise ValidationError(f"write_dta: impedance must be in ohm, got {spectrum.units}")
    path = Path(path)
    f, z = spectrum.frequency, spectrum.impedance
    out = ["EXPLAIN", "TAG\tEISPOT", "TITLE\tLABEL\tPotentiostatic EIS\tTest &Identifier",
           f"AREA\tQUANT\t{spectrum.area if spectrum.area is not None else 1.0:.5E}\t&Area (cm^2)",
           "ZCURVE\tTABLE",
           "\tPt\tTime\tFreq\tZreal\tZimag\tZsig\tZmod\tZphz\tIdc\tVdc\tIERange",
           "\t#\ts\tHz\tohm\tohm\tV\tohm\t°\tA\tV\t#"]
    for i, (fi, zi) in enumerate(zip(f, z, strict=True)):
        out.append(f"\t{i}\t{i}\t{float(fi)!r}\t{float(zi.real)!r}\t{float(zi.imag)!r}\t1\t{float(abs(zi))!r}"
                   f"\t{float(np.degrees(np.angle(zi)))!r}"
                   "\t0\t0\t0")
    path.write_text("\r\n".join(out) + "\r\n", encoding="latin-1")
    return path


# ----------------------------------------------------------- ZPlot / ZView
def _sniff_zplot(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if t.startswith("ZPLOT2 ASCII"):
        return 0.95
    if re.match(r'^\ufeff?"?ZPlotW? Data File', t):
        return 0.9
    return 0.0


def _quoted_names(line: str) -> list[str]:
    """Column names of a ZPlot/Z60W header: one quoted string, names separated by tabs or runs of spaces."""
    s = line.strip().strip("'").strip('"').strip()
    return [t.strip() for t in re.split(r"\t| {2,}", s) if t.strip()]


def _rows_delimiter(line: str) -> str:
    return "\t" if "\t" in line else ","


def read_zplot(path: str | Path, *, sample: Any = None, area: Any = None,
               normalize: bool = True) -> list[ImpedanceSpectrum]:
    """Scribner ZPlot/ZView .z: "ZPLOT2 ASCII" (data after "End Comments") and "ZPlotW Data File" exports.

    The columns are taken by their names in the column header (``Freq(Hz)``,
    ``Z'(a)``, ``Z''(b)``); a block with fewer rows than ``Data Points``
    declares is read with an :class:`EISReadWarning`.
    """
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    meta: dict[str, Any] = {"format": "zplot", "instrument": "Scribner ZPlot"}
    declared = None
    start = None
    hdr = None
    if lines and lines[0].startswith("ZPLOT2 ASCII"):
        for i, ln in enumerate(lines):
            if ln.strip() == "End Comments":
                start = i + 1
                break
            m = re.match(r"\s*([^:]+?):\s*(.*)$", ln)
            if m and i > 0:
                meta[m.group(1).strip()] = m.group(2).strip()
                if m.group(1).strip() == "Data Points" and m.group(2).strip().isdigit():
                    declared = int(m.group(2).strip())
        _require(path, start is not None, None, "no 'End Comments' line before the data")
        assert start is not None
        hdr = start - 2
        _require(path, hdr >= 1 and "Freq" in lines[hdr], hdr + 1,
                 "no column header (Freq(Hz) ... Z'(a) Z''(b)) above 'End Comments'")
    else:
        for i, ln in enumerate(lines[:200]):
            if re.search(r"Freq ?\(Hz\)", ln):
                start = i + 1
                hdr = i
                _require(path, i >= 1 and lines[i - 1].strip().isdigit(), i,
                         "no point count on the line before the column header (lines moved or damaged?)")
                declared = int(lines[i - 1].strip())
                break
            if i > 0 and ln.strip():
                meta.setdefault("header", []).append(ln.strip().strip('"'))
        _require(path, start is not None, None, "no 'Freq(Hz)' column header line")
    assert start is not None and hdr is not None
    names = _quoted_names(lines[hdr])
    if start >= len(lines) or not any(ln.strip() for ln in lines[start:]):
        raise ReadError(path, start + 1 if start < len(lines) else None, "no impedance data rows found")
    first = next(i for i in range(start, len(lines)) if lines[i].strip())
    table = table_at(tf, header=hdr, start=start, delimiter=_rows_delimiter(lines[first]), names=names,
                     unterminated="error")
    return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize, declared=declared)]


# ------------------------------------------------------------------ Autolab
def _sniff_autolab(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if re.match(r'^\ufeff?"?Z60W Data File', t):
        return 0.9
    first = split_lines(t)[0] if t else ""
    if re.search(r"Frequency \(Hz\)", first) and re.search(r"Z' \(", first) and re.search(r"-Z'' \(", first):
        return 0.85  # NOVA ASCII export
    return 0.0


def read_autolab(path: str | Path, *, sample: Any = None, area: Any = None,
                 normalize: bool = True) -> list[ImpedanceSpectrum]:
    """Metrohm Autolab exports: FRA "Z60W Data File" (comma-separated) and NOVA ASCII tables.

    A NOVA table with a ``-Z''`` column is negated to Z″. Several frequency
    sweeps in one NOVA file are split where its own ``Index`` column starts
    again at its first value; without such a column a file is one spectrum.
    """
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    _require(path, bool(lines), None, "empty file")
    first = lines[0].lstrip("\ufeff")
    if "Z60W Data File" in first:
        meta: dict[str, Any] = {"format": "autolab-z60w", "instrument": "Autolab"}
        start = declared = None
        for i, ln in enumerate(lines[:200]):
            if "Freq" in ln:
                start = i + 1
                _require(path, i >= 1 and lines[i - 1].strip().isdigit(), i,
                         "no point count on the line before the column header (lines moved or damaged?)")
                declared = int(lines[i - 1].strip())
                break
        _require(path, start is not None, None, "no 'Freq' column header line")
        assert start is not None
        table = table_at(tf, header=start - 1, start=start, delimiter=",", names=_quoted_names(lines[start - 1]),
                         unterminated="error")
        return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize, declared=declared)]
    delim = ";" if first.count(";") >= 2 else ("\t" if first.count("\t") >= 2 else ",")
    table = table_at(tf, header=0, start=1, delimiter=delim, unterminated="error")
    _require(path, table.header_line == 1, 1, "no column header")
    idx_name = next((n for n in table.names if n.lower() == "index"), None)
    out = []
    if idx_name is None:
        meta = {"format": "autolab-nova", "instrument": "Autolab", "sweep": 1}
        return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize)]
    index = table.column(idx_name)
    starts = [0] + [i for i in range(1, index.size) if index[i] == index[0] and index[i] < index[i - 1]]
    bounds = [*starts, index.size]
    for k in range(len(bounds) - 1):
        meta = {"format": "autolab-nova", "instrument": "Autolab", "sweep": k + 1,
                "split": "where the file's Index column starts again"}
        rows = np.arange(bounds[k], bounds[k + 1])
        out.append(table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize, rows=rows))
    return out


# ------------------------------------------------------------------ Parstat
def _sniff_parstat(path: Path, head: bytes) -> float:
    t = _head_text(head)
    first = split_lines(t)[0] if t else ""
    if "Frequency (Hz)" in first and "Zre (ohms)" in first and "Zim (ohms)" in first:
        return 0.9
    return 0.0


def read_parstat(path: str | Path, *, sample: Any = None, area: Any = None,
                 normalize: bool = True) -> list[ImpedanceSpectrum]:
    """PARSTAT text export (Potential, Current, ..., Frequency, Zre, Zim).

    Rows with Frequency = 0 (DC segments) are counted in ``meta["dc_rows"]``
    and are not part of the spectrum; every other column is kept in
    ``meta["extra_columns"]`` for the spectrum's rows.
    """
    path = Path(path)
    tf = TextFile.open(path)
    table = table_at(tf, header=0, start=1, delimiter="\t", unterminated="error")
    for col in ("Frequency (Hz)", "Zre (ohms)", "Zim (ohms)"):
        _require(path, col in table.names, 1, f"column {col!r} not found in the header {table.names}")
    f = table.column("Frequency (Hz)")
    zr, zi = table.column("Zre (ohms)"), table.column("Zim (ohms)")
    eis = np.flatnonzero(f != 0)
    # the DC rows (frequency 0, no impedance) come first, the sweep after them in one block
    dc_z = np.flatnonzero((f == 0) & ((zr != 0) | (zi != 0)))
    if dc_z.size:
        j = int(dc_z[0])
        raise ReadError(path, int(table.line_numbers[j]), "a row with frequency 0 and an impedance: "
                                                          "neither a DC row nor a point of the sweep")
    if eis.size and eis[-1] - eis[0] + 1 != eis.size:
        j = int(eis[np.flatnonzero(np.diff(eis) != 1)[0]])
        raise ReadError(path, int(table.line_numbers[j]), "a row with a frequency among the DC rows (frequency 0): "
                                                          "the sweep is not one block of rows")
    bad = eis[(zr[eis] == 0) & (zi[eis] == 0)]
    if bad.size:
        raise ReadError(path, int(table.line_numbers[bad[0]]), "a sweep row with an impedance of exactly 0")
    used = ["Frequency (Hz)", "Zre (ohms)", "Zim (ohms)"]
    extra = {n: v[eis] for n, v in table.optional(exclude=used).items()}
    meta: dict[str, Any] = {"format": "parstat", "instrument": "PARSTAT", "dc_rows": int(f.size - eis.size),
                            "extra_columns": extra}
    return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize, rows=eis,
                           f_name="Frequency (Hz)", re_name="Zre (ohms)", im_name="Zim (ohms)")]


# -------------------------------------------------------------- VersaStudio
def _sniff_versastudio(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if "<Segment1>" in t and "Definition=Segment #" in t:
        return 0.95
    if t.lstrip().startswith("<Application>") or "VersaStudio" in t[:2000]:
        return 0.5
    return 0.0


def read_versastudio(path: str | Path, *, sample: Any = None, area: Any = None,
                     normalize: bool = True) -> list[ImpedanceSpectrum]:
    """VersaStudio .par: every ``<SegmentN>`` whose Definition has Frequency(Hz), Z Real, Z Imag."""
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    out: list[ImpedanceSpectrum] = []
    skipped: list[int] = []
    i = 0
    while i < len(lines):
        m = re.match(r"\s*<Segment(\d+)>\s*$", lines[i])
        if not m:
            i += 1
            continue
        seg = int(m.group(1))
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == f"</Segment{seg}>"), None)
        _require(path, end is not None, i + 1, f"<Segment{seg}> is not closed (file truncated)")
        assert end is not None
        dline = next((j for j in range(i + 1, end) if lines[j].startswith("Definition=")), None)
        _require(path, dline is not None, i + 1, f"<Segment{seg}> has no Definition= line")
        assert dline is not None
        header = [h.strip() for h in lines[dline][len("Definition="):].split(",")]
        if "Frequency(Hz)" in header and "Z Real" in header and "Z Imag" in header:
            first = next((j for j in range(dline + 1, end) if lines[j].strip()), None)
            _require(path, first is not None, dline + 2, f"<Segment{seg}> has no data rows")
            assert first is not None
            width = len(split_fields(lines[first], ","))
            if len(header) == width + 1 and not header[-1].replace(".", "").isalpha():
                header = header[:width]  # some versions end the Definition line with a stray field
            table = table_at(tf, header=dline, start=dline + 1, stop=end, delimiter=",", names=header)
            meta = {"format": "versastudio-par", "instrument": "VersaSTAT", "segment": seg}
            out.append(table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize,
                                      f_name="Frequency(Hz)", re_name="Z Real", im_name="Z Imag"))
        else:
            skipped.append(seg)
        i = end + 1
        # after a segment only blank lines until the next <section>: a data row there was moved out of it
        j = i
        while j < len(lines) and not lines[j].lstrip().startswith("<"):
            if lines[j].strip():
                raise ReadError(path, j + 1, f"text after </Segment{seg}> outside any section: {lines[j][:40]!r}")
            j += 1
    return [s.with_meta(skipped_segments=skipped) for s in out] if skipped else out


# ------------------------------------------------------------ CH Instruments
def _sniff_chi(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if "A.C. Impedance" in t[:500] and re.search(r"^Freq/Hz", t, re.M):
        return 0.95
    return 0.0


def read_chi(path: str | Path, *, sample: Any = None, area: Any = None,
             normalize: bool = True) -> list[ImpedanceSpectrum]:
    """CH Instruments (CHI6xx/7xx) "A.C. Impedance" text export (columns by name: Freq/Hz, Z'/ohm, Z"/ohm)."""
    path = Path(path)
    tf = TextFile.open(path)
    lines = tf.lines
    meta: dict[str, Any] = {"format": "chi", "instrument": "CH Instruments"}
    start = None
    for i, ln in enumerate(lines):
        if ln.startswith("Freq/Hz"):
            start = i
            break
        m = re.match(r"\s*([^=:]+?)\s*[=:]\s*(.+)$", ln)
        if m:
            meta[m.group(1).strip()] = m.group(2).strip()
    _require(path, start is not None, None, "no 'Freq/Hz' column header line")
    assert start is not None
    table = table_at(tf, header=start, start=start + 1, delimiter=",", unterminated="error")
    return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize)]


# ---------------------------------------------------------------- PowerSuite
def _sniff_powersuite(path: Path, head: bytes) -> float:
    t = _head_text(head)
    first = split_lines(t)[0] if t else ""
    toks = [x.strip() for x in first.split("\t")]
    if toks[:3] == ["Frequency", "Zre", "Zimg"]:
        return 0.85
    return 0.0


def read_powersuite(path: str | Path, *, sample: Any = None, area: Any = None,
                    normalize: bool = True) -> list[ImpedanceSpectrum]:
    """PowerSuite (Princeton Applied Research) three-column text: Frequency, Zre, Zimg.

    The files end lines with CR CR LF; line numbers count a lone CR as a line end.
    """
    path = Path(path)
    tf = TextFile.open(path)
    table = table_at(tf, header=0, start=1, delimiter="\t", unterminated="error")
    _require(path, table.names[:3] == ["Frequency", "Zre", "Zimg"], 1,
             f"expected Frequency, Zre, Zimg header, found {table.names}")
    meta = {"format": "powersuite", "instrument": "PowerSuite"}
    return [table_spectrum(path, table, meta, sample=sample, area=area, normalize=normalize,
                           f_name="Frequency", re_name="Zre", im_name="Zimg")]


READERS = [
    SimpleReader("gamry-dta", "eis", (".dta",), _sniff_gamry, read_gamry, "Gamry Framework .DTA impedance (ZCURVE)"),
    SimpleReader("zplot", "eis", (".z",), _sniff_zplot, read_zplot, "Scribner ZPlot/ZView .z text"),
    SimpleReader("autolab", "eis", (".txt", ".csv"), _sniff_autolab, read_autolab,
                 "Autolab FRA 'Z60W Data File' and NOVA ASCII impedance tables"),
    SimpleReader("parstat", "eis", (".txt",), _sniff_parstat, read_parstat, "PARSTAT text export (Zre/Zim)"),
    SimpleReader("versastudio", "eis", (".par",), _sniff_versastudio, read_versastudio, "VersaStudio .par"),
    SimpleReader("chi", "eis", (".txt",), _sniff_chi, read_chi, "CH Instruments A.C. impedance text"),
    SimpleReader("powersuite", "eis", (".txt",), _sniff_powersuite, read_powersuite,
                 "PowerSuite Frequency/Zre/Zimg text"),
]
