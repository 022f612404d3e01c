"""Impedance instrument exports: Gamry, ZPlot/ZView, Autolab, Parstat, VersaStudio, CH Instruments, PowerSuite.

Every reader returns ``list[ImpedanceSpectrum]`` with the instrument's
frequencies and complex impedance (Z′ + jZ″, ohm) in file order, and the
header in ``meta``. With ``area=`` (cm² or a Quantity) the spectra are
returned area-normalised in ohm·cm² (``normalize=False`` keeps ohm and only
records the area). Malformed content raises :class:`ReadError` naming the
line; a data block with fewer rows than its header declares is read but
flagged with :class:`EISReadWarning` and ``meta["declared_points"]``.

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
from ncmsurf.io._table import decode_text, looks_binary
from ncmsurf.io.registry import SimpleReader

__all__ = [
    "READERS",
    "EISReadWarning",
    "read_autolab",
    "read_chi",
    "read_gamry",
    "read_parstat",
    "read_powersuite",
    "read_versastudio",
    "read_zplot",
    "write_dta",
]


class EISReadWarning(NcmsurfWarning):
    """An impedance file was readable but not as its header promised (e.g. fewer points)."""


_NUM = re.compile(r"^[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")


# ----------------------------------------------------------------- helpers
def _lines(path: Path) -> list[str]:
    text = decode_text(path)
    # mixed CR / CRLF line ends (PowerSuite): treat CR as a line end, drop the empty lines CRCR makes later
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _head_text(head: bytes) -> str:
    if looks_binary(head):
        return ""
    try:
        return head.decode("utf-8-sig", errors="replace")
    except Exception:  # pragma: no cover
        return ""


def _field_float(path: Path, lineno: int, tok: str, what: str, decimal_comma: bool = False) -> float:
    t = tok.strip().strip('"')
    if decimal_comma:
        t = t.replace(",", ".")
    if not _NUM.match(t):
        raise ReadError(path, lineno, f"{what}: {tok.strip()!r} is not a number")
    return float(t)


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
    """Numeric values of ``columns`` from ``lines[start:stop]`` (0-based indices).

    Returns the (rows, len(columns)) array and the 1-based line numbers.
    Raises ReadError for a short (truncated) row or a non-numeric field.
    """
    need = (max(columns) + 1) if min_fields is None else min_fields
    rows: list[list[float]] = []
    nums: list[int] = []
    for i in range(start, min(stop, len(lines))):
        ln = lines[i]
        if not ln.strip():
            if skip_blank:
                continue
            break
        toks = split(ln)
        if len(toks) < need:
            raise ReadError(path, i + 1, f"truncated data row: expected at least {need} fields, found {len(toks)}")
        rows.append([_field_float(path, i + 1, toks[c], names[k], decimal_comma) for k, c in enumerate(columns)])
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
    order = np.argsort(f, kind="stable")
    dup = np.flatnonzero(np.diff(f[order]) == 0)
    if dup.size:
        k = int(max(order[dup[0]], order[dup[0] + 1]))
        first = int(min(order[dup[0]], order[dup[0] + 1]))
        raise ReadError(path, int(lines[k]), f"duplicate frequency {f[k]} Hz (also on line {int(lines[first])})")
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


def _require(path: Path, cond: bool, line: int | None, reason: str) -> None:
    if not cond:
        raise ReadError(path, line, reason)


# ------------------------------------------------------------------- Gamry
def _sniff_gamry(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if not t.startswith("EXPLAIN"):
        return 0.0
    if "ZCURVE" in t or re.search(r"^TAG\s+(EISPOT|EISGALV|EIS)", t, re.M):
        return 0.95
    return 0.3


def read_gamry(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
               **_: Any) -> list[ImpedanceSpectrum]:
    """Gamry Framework .DTA (EISPOT/EISGALV): the ZCURVE table; aborted runs end at EXPERIMENTABORTED."""
    path = Path(path)
    lines = _lines(path)
    _require(path, bool(lines) and lines[0].startswith("EXPLAIN"), 1, "not a Gamry .DTA file (no EXPLAIN line)")
    meta: dict[str, Any] = {"format": "gamry-dta", "instrument": "Gamry"}
    start = end = None
    for i, ln in enumerate(lines):
        toks = ln.split("\t")
        if start is None and toks[0] in ("TAG", "TITLE", "DATE", "TIME", "PSTAT", "VDC", "VAC", "IDC", "IAC",
                                         "AREA", "FREQINIT", "FREQFINAL", "PTSPERDEC") and len(toks) >= 3:
            meta[toks[0].lower()] = toks[2].strip()
        if toks[0] == "ZCURVE":
            start = i
        elif start is not None and toks[0] == "EXPERIMENTABORTED":
            end = i
            meta["aborted"] = True
            break
        elif start is not None and i > start + 2 and ln and not ln.startswith("\t") and toks[0].isupper():
            end = i  # the next table or keyword
            break
    _require(path, start is not None, None, "no ZCURVE table (not an impedance measurement)")
    assert start is not None
    _require(path, start + 2 < len(lines), start + 1, "ZCURVE table header is incomplete (file truncated)")
    header = [h.strip() for h in lines[start + 1].split("\t")]
    for col in ("Freq", "Zreal", "Zimag"):
        _require(path, col in header, start + 2, f"column {col!r} not found in the ZCURVE header {header[1:]}")
    ci = [header.index("Freq"), header.index("Zreal"), header.index("Zimag")]
    dec = "," in lines[start + 3] if start + 3 < len(lines) else False
    vals, nums = parse_rows(path, lines, start + 3, len(lines) if end is None else end,
                            lambda s: s.split("\t"), ci, ["Freq", "Zreal", "Zimag"], decimal_comma=dec)
    meta["columns"] = header[1:]
    meta.setdefault("aborted", False)
    return [make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample, area=area,
                         normalize=normalize)]


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


def _zplot_split(s: str) -> list[str]:
    return re.split(r"\t|,\s*", s.strip())


def read_zplot(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
               **_: Any) -> list[ImpedanceSpectrum]:
    """Scribner ZPlot/ZView .z: "ZPLOT2 ASCII" (data after "End Comments") and "ZPlotW Data File" exports."""
    path = Path(path)
    lines = _lines(path)
    meta: dict[str, Any] = {"format": "zplot", "instrument": "Scribner ZPlot"}
    declared = None
    start = None
    if lines and lines[0].startswith("ZPLOT2 ASCII"):
        for i, ln in enumerate(lines):
            m = re.match(r"\s*([^:]+?):\s*(.*)$", ln)
            if m and start is None and i > 0:
                meta[m.group(1).strip()] = m.group(2).strip()
                if m.group(1).strip() == "Data Points" and m.group(2).strip().isdigit():
                    declared = int(m.group(2).strip())
            if ln.strip() == "End Comments":
                start = i + 1
                break
        _require(path, start is not None, None, "no 'End Comments' line before the data")
    else:
        for i, ln in enumerate(lines[:200]):
            if re.search(r"Freq\(Hz\)", ln):
                start = i + 1
                if i >= 1 and lines[i - 1].strip().isdigit():
                    declared = int(lines[i - 1].strip())
                break
            if i > 0 and ln.strip():
                meta.setdefault("header", []).append(ln.strip().strip('"'))
        _require(path, start is not None, None, "no 'Freq(Hz)' column header line")
    assert start is not None
    vals, nums = parse_rows(path, lines, start, len(lines), _zplot_split, [0, 4, 5], ["Freq", "Z'", "Z''"],
                            min_fields=6)
    return [make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample, area=area,
                         normalize=normalize, declared=declared)]


# ------------------------------------------------------------------ Autolab
def _sniff_autolab(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if re.match(r'^\ufeff?"?Z60W Data File', t):
        return 0.9
    first = t.splitlines()[0] if t else ""
    if re.search(r"Frequency \(Hz\)", first) and re.search(r"Z' \(", first) and re.search(r"-Z'' \(", first):
        return 0.85  # NOVA ASCII export
    return 0.0


def read_autolab(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
                 **_: Any) -> list[ImpedanceSpectrum]:
    """Metrohm Autolab exports: FRA "Z60W Data File" (comma-separated) and NOVA ASCII tables.

    A NOVA table with a ``-Z''`` column is negated to Z″; several
    frequency sweeps in one NOVA file are split where the frequency rises again.
    """
    path = Path(path)
    lines = _lines(path)
    _require(path, bool(lines), None, "empty file")
    first = lines[0].lstrip("\ufeff")
    if "Z60W Data File" in first:
        meta: dict[str, Any] = {"format": "autolab-z60w", "instrument": "Autolab"}
        start = declared = None
        for i, ln in enumerate(lines[:200]):
            if "Freq" in ln:
                start = i + 1
                if i >= 1 and lines[i - 1].strip().isdigit():
                    declared = int(lines[i - 1].strip())
                break
        _require(path, start is not None, None, "no 'Freq' column header line")
        assert start is not None
        vals, nums = parse_rows(path, lines, start, len(lines), lambda s: s.split(","), [0, 4, 5],
                                ["Freq", "Z'", "Z''"], min_fields=6)
        return [make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample, area=area,
                             normalize=normalize, declared=declared)]
    delim = ";" if first.count(";") >= 2 else ("\t" if first.count("\t") >= 2 else ",")
    header = [h.strip() for h in first.split(delim)]
    idx_f = next((i for i, h in enumerate(header) if h.startswith("Frequency")), None)
    idx_r = next((i for i, h in enumerate(header) if h.startswith("Z' (")), None)
    idx_i = next((i for i, h in enumerate(header) if h.startswith("-Z'' (") or h.startswith("Z'' (")), None)
    _require(path, None not in (idx_f, idx_r, idx_i), 1, f"Frequency / Z' / Z'' columns not found in {header}")
    assert idx_f is not None and idx_r is not None and idx_i is not None
    vals, nums = parse_rows(path, lines, 1, len(lines), lambda s: s.split(delim), [idx_f, idx_r, idx_i],
                            ["Frequency", "Z'", "Z''"], decimal_comma=(delim == ";"))
    sign = -1.0 if header[idx_i].startswith("-") else 1.0
    cuts = [0] + [i + 1 for i in range(vals.shape[0] - 1) if vals[i + 1, 0] > vals[i, 0] and
                  (i == 0 or vals[i, 0] < vals[i - 1, 0])] + [vals.shape[0]]
    cuts = sorted(set(cuts))
    out = []
    for k in range(len(cuts) - 1):
        a, b = cuts[k], cuts[k + 1]
        meta = {"format": "autolab-nova", "instrument": "Autolab", "columns": header, "sweep": k + 1}
        out.append(make_spectra(path, vals[a:b, 0], vals[a:b, 1] + 1j * sign * vals[a:b, 2], nums[a:b], meta,
                                sample=sample, area=area, normalize=normalize))
    return out


# ------------------------------------------------------------------ Parstat
def _sniff_parstat(path: Path, head: bytes) -> float:
    t = _head_text(head)
    first = t.splitlines()[0] if t else ""
    if "Frequency (Hz)" in first and "Zre (ohms)" in first and "Zim (ohms)" in first:
        return 0.9
    return 0.0


def read_parstat(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
                 **_: Any) -> list[ImpedanceSpectrum]:
    """PARSTAT text export (Potential, Current, ..., Frequency, Zre, Zim).

    Rows with Frequency = 0 (DC segments) are counted in ``meta["dc_rows"]``
    and are not part of the spectrum.
    """
    path = Path(path)
    lines = _lines(path)
    header = [h.strip() for h in lines[0].split("\t")]
    _require(path, "Frequency (Hz)" in header and "Zre (ohms)" in header and "Zim (ohms)" in header, 1,
             f"Frequency (Hz) / Zre (ohms) / Zim (ohms) columns not found in {header}")
    cols = [header.index("Frequency (Hz)"), header.index("Zre (ohms)"), header.index("Zim (ohms)")]
    extra = [i for i, h in enumerate(header) if h and i not in cols]
    allc = cols + extra
    vals, nums = parse_rows(path, lines, 1, len(lines), lambda s: s.split("\t"), allc,
                            [header[i] for i in allc], min_fields=max(allc) + 1)
    eis = vals[:, 0] != 0
    meta: dict[str, Any] = {"format": "parstat", "instrument": "PARSTAT", "dc_rows": int((~eis).sum()),
                            "extra_columns": {header[i]: vals[eis, 3 + k] for k, i in enumerate(extra)}}
    return [make_spectra(path, vals[eis, 0], vals[eis, 1] + 1j * vals[eis, 2], nums[eis], meta, sample=sample,
                         area=area, normalize=normalize)]


# -------------------------------------------------------------- VersaStudio
def _sniff_versastudio(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if "<Segment1>" in t and "Definition=Segment #" in t:
        return 0.95
    if t.lstrip().startswith("<Application>") or "VersaStudio" in t[:2000]:
        return 0.5
    return 0.0


def read_versastudio(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
                     **_: Any) -> list[ImpedanceSpectrum]:
    """VersaStudio .par: every ``<SegmentN>`` whose Definition has Frequency(Hz), Z Real, Z Imag."""
    path = Path(path)
    lines = _lines(path)
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
            cols = [header.index("Frequency(Hz)"), header.index("Z Real"), header.index("Z Imag")]
            vals, nums = parse_rows(path, lines, dline + 1, end, lambda s: s.split(","), cols,
                                    ["Frequency(Hz)", "Z Real", "Z Imag"])
            meta = {"format": "versastudio-par", "instrument": "VersaSTAT", "segment": seg}
            out.append(make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample,
                                    area=area, normalize=normalize))
        else:
            skipped.append(seg)
        i = end + 1
    _require(path, bool(out), None, "no <SegmentN> with Frequency(Hz), Z Real and Z Imag columns")
    return [s.with_meta(skipped_segments=skipped) for s in out] if skipped else out


# ------------------------------------------------------------ CH Instruments
def _sniff_chi(path: Path, head: bytes) -> float:
    t = _head_text(head)
    if "A.C. Impedance" in t[:500] and re.search(r"^Freq/Hz", t, re.M):
        return 0.95
    return 0.0


def read_chi(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
             **_: Any) -> list[ImpedanceSpectrum]:
    """CH Instruments (CHI6xx/7xx) "A.C. Impedance" text export."""
    path = Path(path)
    lines = _lines(path)
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
    header = [h.strip() for h in lines[start].split(",")]
    _require(path, len(header) >= 3, start + 1, f"expected Freq, Z', Z'' columns, found {header}")
    vals, nums = parse_rows(path, lines, start + 1, len(lines), lambda s: s.split(","), [0, 1, 2],
                            header[:3], min_fields=len(header))
    return [make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample, area=area,
                         normalize=normalize)]


# ---------------------------------------------------------------- PowerSuite
def _sniff_powersuite(path: Path, head: bytes) -> float:
    t = _head_text(head)
    first = t.replace("\r", "\n").split("\n")[0] if t else ""
    toks = [x.strip() for x in first.split("\t")]
    if toks[:3] == ["Frequency", "Zre", "Zimg"]:
        return 0.85
    return 0.0


def read_powersuite(path: str | Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
                    **_: Any) -> list[ImpedanceSpectrum]:
    """PowerSuite (Princeton Applied Research) three-column text: Frequency, Zre, Zimg."""
    path = Path(path)
    lines = _lines(path)
    toks = [x.strip() for x in lines[0].split("\t")]
    _require(path, toks[:3] == ["Frequency", "Zre", "Zimg"], 1, f"expected Frequency, Zre, Zimg header, found {toks}")
    # line numbers count a lone CR as a line end (the files mix CR and CRLF)
    vals, nums = parse_rows(path, lines, 1, len(lines), lambda s: s.split("\t"), [0, 1, 2],
                            ["Frequency", "Zre", "Zimg"])
    meta = {"format": "powersuite", "instrument": "PowerSuite"}
    return [make_spectra(path, vals[:, 0], vals[:, 1] + 1j * vals[:, 2], nums, meta, sample=sample, area=area,
                         normalize=normalize)]


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
