"""ToF-SIMS depth-profile readers: IONTOF SurfaceLab text/CSV exports.

**SurfaceLab profile export** (what SurfaceLab 6/7 writes with "Export profile
data"): tab-separated text, CRLF or LF, whose header rows start with ``#``:

- free comment rows (``# Profile Smoothing is Disabled``), kept in ``meta["comments"]``;
- an ion row: one empty cell per leading column, then ``total`` and one label
  per peak (``Ag_3+``, ``^119Sn+``, a summed peak group such as
  ``^118SnI_3-SnI_3-``, or a ratio such as ``Sn+ / ( Pb+ )``);
- a mass row: the peak masses (u), ``N/A`` for the total, groups and ratios;
- a label row: ``#Data Point #``, ``Sputter Time (s)``, ``Dose (ions)``,
  ``Fluence (ions/cm^2)``, then ``Intensity`` for each peak column.

Data rows follow, one per sputter cycle. The reader returns one
:class:`~ncmsurf.core.models.DepthProfile`: the peaks as fragments under
their canonical names (:func:`ncmsurf.sims.normalize_name`: ``Ag3+``,
``119Sn+``; the file's labels in ``meta["labels"]``, the file's masses in
``meta["masses"]``), the data point number, dose (ions), fluence (ions/cm²)
and total ion count as coordinates (``profile.coords``), and the ratio
columns separately, as ratios, in ``meta["ratios"]`` (name → array, ``inf``
where the file has it) with their terms in ``meta["ratio_terms"]``. The
polarity (positive / negative secondary ions) comes from the ions' charges
(``meta["polarity"]``). A peak label that occurs twice (SurfaceLab allows it)
is kept twice, the second named ``<label>@<mass>``, with a warning. A file
whose x axis is given per peak (time/intensity column pairs) is read when
all those time columns agree.

**Simple layout** (and what :func:`write_surfacelab_txt` writes): a delimited
text file (tab, comma or semicolon) with optional ``#`` comment and
``key: value`` header lines, then

- a row of ion names (``LiF2-``, ``NiF3^-``, ``58Ni-``...), optionally after a
  label cell such as ``Name`` or an empty cell,
- a row of their masses (u), with the same layout,
- optionally a row of column labels (``Sputter time (s)``, ``Intensity``...),
- data rows: sputter time, then one intensity column per ion.

:func:`write_surfacelab_txt` writes this layout and the reader reads it back
exactly (sputter rate and sample included).

Examples
--------
>>> import tempfile, pathlib
>>> import ncmsurf as ns
>>> p = ns.DepthProfile([0.0, 1.5], {"AlO-": [10.0, 2.0], "NiO2-": [1.0, 9.0]}, sputter_rate=0.1)
>>> f = write_surfacelab_txt(p, pathlib.Path(tempfile.mkdtemp()) / "p.txt")
>>> back = SURFACELAB.read(f)[0]
>>> back == p.with_meta(**back.meta)
True
"""

from __future__ import annotations

import math
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import DepthProfile
from ncmsurf.core.units import ureg
from ncmsurf.io._table import TableWarning, decode_text, looks_binary, split_lines
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "SURFACELAB", "DuplicatePeakWarning", "write_surfacelab_txt"]

_ION = re.compile(r"^(?:\d+)?[A-Z][A-Za-z0-9]*\^?[-+]$")
_LABEL = re.compile(r"^(name|names|ion|ions|species|mass(es)?|mass \(u\)|m/z|masses \(u\)|)$", re.I)
_NUM = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [t.strip().strip('"') for t in line.rstrip("\r\n").split(delim)]


def _delimiter(line: str) -> str | None:
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None


def _ion_cells(toks: list[str]) -> tuple[int, list[str]] | None:
    """(offset, ion names) if the tokens form an ion-name row."""
    cells = [t.strip() for t in toks]
    while cells and cells[-1] == "":
        cells.pop()
    if len(cells) < 1:
        return None
    off = 0
    if cells and (not _ION.match(cells[0])):
        if not _LABEL.match(cells[0]):
            return None
        off = 1
    names = cells[off:]
    if not names or not all(_ION.match(n) for n in names):
        return None
    return off, names


def _find_layout(lines: list[str]) -> tuple[int, str | None, int, list[str], list[float]] | None:
    """Locate the ion-name row followed by a mass row: (line index, delim, offset, names, masses)."""
    for i, ln in enumerate(lines[:400]):
        if not ln.strip() or ln.lstrip().startswith("#"):
            continue
        d = _delimiter(ln)
        got = _ion_cells(_split(ln, d))
        if got is None or i + 1 >= len(lines):
            continue
        off, names = got
        nxt = _split(lines[i + 1], d)
        while nxt and nxt[-1] == "":
            nxt.pop()
        if len(nxt) != off + len(names):
            continue
        if off and not (nxt[0] == "" or _LABEL.match(nxt[0]) or re.match(r"^mass", nxt[0], re.I)):
            continue
        cells = nxt[off:]
        if all(_NUM.match(c) for c in cells):
            return i, d, off, names, [float(c.replace(",", ".")) for c in cells]
    return None


class DuplicatePeakWarning(NcmsurfWarning):
    """A SurfaceLab export lists the same peak label twice; both columns are kept under distinct names."""


# ------------------------------------------------------------- SurfaceLab export
_TIME_LABEL = re.compile(r"^(?:sputter\s*)?time\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]$", re.I)
_DEPTH_LABEL = re.compile(r"^depth\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]$", re.I)
_INTENSITY_LABEL = re.compile(r"^(?:normali[sz]ed\s+)?(?:intensity|counts|signal)(?:\s*[\(\[][^\)\]]*[\)\]])?$",
                              re.I)
_COORD_LABELS: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"^data\s*point\s*#?$|^point\s*#?$|^scan\s*#?$", re.I), "data_point", "1"),
    (re.compile(r"^(?:primary\s+)?dose\s*(?:[\(\[]\s*ions\s*[\)\]])?$", re.I), "dose", "ions"),
    (re.compile(r"^fluence\s*(?:[\(\[]\s*ions\s*/\s*cm\^?2\s*[\)\]])?$", re.I), "fluence", "ions/cm^2"),
)


def _cells(line: str) -> list[str]:
    """Tab cells of a header or data row, one leading '#' removed, trailing empty cells dropped."""
    s = line[1:] if line.startswith("#") else line
    cells = [c.strip() for c in s.split("\t")]
    while cells and cells[-1] == "":
        cells.pop()
    return cells


def _is_label_row(cells: list[str]) -> bool:
    if len(cells) < 2:
        return False
    xs = [c for c in cells if _TIME_LABEL.match(c) or _DEPTH_LABEL.match(c)]
    return bool(xs) and any(_INTENSITY_LABEL.match(c) for c in cells)


def _find_export(lines: list[str]) -> int | None:
    """Index of the SurfaceLab label row ('#Data Point #, Sputter Time (s), ..., Intensity'), or None."""
    for i, ln in enumerate(lines[:400]):
        if not ln.startswith("#") or "\t" not in ln:
            if ln.strip() and not ln.startswith("#"):
                return None  # data before any label row: not this layout
            continue
        if i >= 1 and _is_label_row(_cells(ln)):
            return i
    return None


def _sniff(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    try:
        txt = head.decode("utf-8-sig", errors="replace")
    except Exception:  # pragma: no cover
        return 0.0
    lines = txt.splitlines()
    if len(lines) > 2 and len(head) >= 65536:
        lines = lines[:-1]  # the last line may be cut
    if _find_export(lines) is not None:
        return 0.95
    if _find_layout(lines) is not None:
        return 0.9
    return 0.0


def _is_mass_cell(c: str) -> bool:
    return c == "" or c.upper() in ("N/A", "NA", "-") or bool(_NUM.match(c))


def _read_export(path: Path, lines: list[str], li: int, *, sample: Any, sputter_rate: Any) -> list[DepthProfile]:
    from ncmsurf.sims import is_ratio, normalize_name, ratio_terms, split_group

    labels = _cells(lines[li])
    ncol = len(labels)
    # the rows above the label row: [ion row, mass row] (the mass row may be missing)
    above = [k for k in range(li - 1, -1, -1) if lines[k].startswith("#") and "\t" in lines[k]][:2]
    mass_row: int | None = None
    ion_row: int | None = None
    if above:
        c0 = _cells(lines[above[0]])
        filled = [c for c in c0 if c]
        mass_like = sum(1 for c in filled if _is_mass_cell(c))
        if c0 and mass_like == len(filled) and any(_NUM.match(c) or c.upper() == "N/A" for c in c0):
            mass_row = above[0]
            ion_row = above[1] if len(above) > 1 else None
        elif filled and mass_like * 2 >= len(filled):
            bad = next(c for c in filled if not _is_mass_cell(c))
            raise ReadError(path, above[0] + 1, f"the mass row has a cell that is not a mass: {bad[:20]!r}")
        else:
            ion_row = above[0]
    if ion_row is None:
        raise ReadError(path, li + 1, "SurfaceLab export: no ion-name row above the column-label row")
    ions = _cells(lines[ion_row])
    masses_txt = _cells(lines[mass_row]) if mass_row is not None else []
    nfield = len(lines[li].split("\t"))
    for row, cells, what in ((ion_row, ions, "ion-name"), (mass_row, masses_txt, "mass")):
        if row is not None and (len(cells) > ncol or len(lines[row].split("\t")) != nfield):
            raise ReadError(path, row + 1, f"the {what} row has {len(cells)} cells "
                            f"({len(lines[row].split(chr(9)))} tab-separated fields) but the label row "
                            f"(line {li + 1}) has {ncol} ({nfield}): a column would be shifted")
    ions += [""] * (ncol - len(ions))
    masses_txt += [""] * (ncol - len(masses_txt))
    comments = [ln.lstrip("#").strip() for k, ln in enumerate(lines[:li]) if k not in (ion_row, mass_row)
                and ln.lstrip("#").strip()]

    # roles of the columns
    x_cols: list[int] = []
    depth_cols: list[int] = []
    time_unit = "s"
    depth_unit = "nm"
    coord_cols: dict[str, tuple[int, str]] = {}
    total_col: int | None = None
    ratio_cols: list[tuple[int, str]] = []
    frag_cols: list[tuple[int, str]] = []
    for c, (lab, ion) in enumerate(zip(labels, ions)):
        mt = _TIME_LABEL.match(lab)
        md = _DEPTH_LABEL.match(lab)
        if mt:
            x_cols.append(c)
            time_unit = mt.group(1)
            continue
        if md:
            depth_cols.append(c)
            depth_unit = md.group(1)
            continue
        if not ion:
            for pat, name, unit in _COORD_LABELS:
                if pat.match(lab):
                    if name in coord_cols:
                        raise ReadError(path, li + 1, f"column {c + 1}: a second {lab!r} column")
                    coord_cols[name] = (c, unit)
                    break
            else:
                if _INTENSITY_LABEL.match(lab):
                    raise ReadError(path, ion_row + 1, f"column {c + 1}: an intensity column without an ion name")
                raise ReadError(path, li + 1, f"column {c + 1}: unknown column label {lab!r}")
            continue
        if not _INTENSITY_LABEL.match(lab):
            raise ReadError(path, li + 1, f"column {c + 1} ({ion!r}): expected an intensity label, got {lab!r}")
        if ion.strip().lower() in ("total", "total ions", "sum"):
            if total_col is not None:
                raise ReadError(path, ion_row + 1, f"column {c + 1}: a second total-ion column")
            total_col = c
        elif is_ratio(ion):
            ratio_cols.append((c, ion))
        else:
            frag_cols.append((c, ion))
    if not x_cols:
        if depth_cols:
            raise ReadError(path, li + 1, "depth-calibrated export without a sputter-time column: "
                            "export the profile over sputter time")
        raise ReadError(path, li + 1, "no sputter-time column in the label row")
    if not frag_cols:
        raise ReadError(path, ion_row + 1, "no ion intensity columns")
    try:
        tfactor = float(ureg.Quantity(1.0, time_unit).to("s").magnitude)
    except Exception as exc:  # pint raises several kinds for unknown units
        raise ReadError(path, li + 1, f"sputter time unit {time_unit!r} is not a time") from exc

    # data block
    rows: list[list[str]] = []
    row_lines: list[int] = []
    for k in range(li + 1, len(lines)):
        ln = lines[k]
        if not ln.strip():
            continue
        if ln.startswith("#"):
            raise ReadError(path, k + 1, "comment line inside the data block")
        cells = [c.strip() for c in ln.split("\t")]
        while len(cells) > ncol and cells[-1] == "":
            cells.pop()
        if len(cells) != ncol:
            raise ReadError(path, k + 1, f"expected {ncol} columns (as the label row, line {li + 1}), "
                            f"found {len(cells)}")
        rows.append(cells)
        row_lines.append(k + 1)
    if not rows:
        raise ReadError(path, li + 2 if li + 1 < len(lines) else None, "no data rows after the header")
    try:
        arr = np.asarray(rows, dtype=float)
    except ValueError:
        arr = np.empty((len(rows), ncol))
        for r, cells in enumerate(rows):
            for c, tok in enumerate(cells):
                if tok == "":
                    nval = sum(1 for x in cells if x != "")
                    raise ReadError(path, row_lines[r], f"column {c + 1} is empty: expected {ncol} values "
                                    f"(as the label row, line {li + 1}), found {nval}") from None
                try:
                    arr[r, c] = float(tok)
                except ValueError as exc:
                    raise ReadError(path, row_lines[r], f"column {c + 1}: non-numeric value {tok[:20]!r}") from exc

    def finite(c: int, what: str) -> np.ndarray:
        col = arr[:, c]
        bad = np.flatnonzero(~np.isfinite(col))
        if bad.size:
            r = int(bad[0])
            raise ReadError(path, row_lines[r], f"column {c + 1} ({what}): non-finite value {rows[r][c]!r}")
        return col

    t = finite(x_cols[0], labels[x_cols[0]]) * tfactor
    for c in x_cols[1:]:
        other = finite(c, labels[c]) * tfactor
        if not np.array_equal(other, t):
            r = int(np.flatnonzero(other != t)[0])
            raise ReadError(path, row_lines[r], f"column {c + 1}: this peak's sputter time differs from column "
                            f"{x_cols[0] + 1} ({other[r]:g} vs {t[r]:g} s); the peaks are not on one time axis")
    dec = np.flatnonzero(np.diff(t) < 0)
    if dec.size:
        r = int(dec[0]) + 1
        raise ReadError(path, row_lines[r], f"sputter time decreases (t = {t[r]:g} s after {t[r - 1]:g} s)")

    coords: dict[str, np.ndarray] = {}
    units: dict[str, str] = {}
    for name, (c, unit) in coord_cols.items():
        coords[name] = finite(c, labels[c])
        units[name] = unit
    if "data_point" in coords and not np.all(coords["data_point"] == np.round(coords["data_point"])):
        r = int(np.flatnonzero(coords["data_point"] != np.round(coords["data_point"]))[0])
        raise ReadError(path, row_lines[r], f"data point number {rows[r][coord_cols['data_point'][0]]!r} "
                        "is not an integer")
    if "data_point" in coords and coords["data_point"].size > 1:
        step = np.diff(coords["data_point"])
        if not np.all(step == 1):
            r = int(np.flatnonzero(step != 1)[0]) + 1
            raise ReadError(path, row_lines[r], f"data point {rows[r][coord_cols['data_point'][0]]!r} follows "
                            f"{rows[r - 1][coord_cols['data_point'][0]]!r}: the data points are not consecutive "
                            "(a row is missing, repeated or out of order)")
    if total_col is not None:
        coords["total_ions"] = finite(total_col, "total")
        units["total_ions"] = "counts"
    for k, c in enumerate(depth_cols):
        key = "depth_calibrated" if k == 0 else f"depth_calibrated_{k}"
        coords[key] = finite(c, labels[c])
        units[key] = depth_unit

    def mass_of(c: int) -> float:
        txt = masses_txt[c]
        return float(txt) if _NUM.match(txt) else float("nan")

    intensities: dict[str, np.ndarray] = {}
    file_labels: dict[str, str] = {}
    masses: dict[str, float] = {}
    groups: dict[str, list[str]] = {}
    duplicates: list[str] = []
    first_col: dict[str, int] = {}
    for c, ion in frag_cols:
        name = normalize_name(ion)
        if name in intensities:
            alt = f"{name}@{masses_txt[c]}" if _NUM.match(masses_txt[c]) else f"{name}#2"
            n = 2
            while alt in intensities:
                n += 1
                alt = f"{name}#{n}"
            duplicates.append(alt)
            warnings.warn(f"{path}: peak {ion!r} is listed twice (columns {first_col[name] + 1} and {c + 1}, "
                          f"masses {masses_txt[first_col[name]]} and {masses_txt[c]} u); the second is kept as "
                          f"{alt!r}", DuplicatePeakWarning, stacklevel=4)
            name = alt
        intensities[name] = finite(c, ion)
        first_col.setdefault(name, c)
        file_labels[name] = ion
        masses[name] = mass_of(c)
        members = split_group(ion)
        if len(members) > 1:
            groups[name] = members
    ratios: dict[str, np.ndarray] = {}
    terms: dict[str, list[str]] = {}
    for c, ion in ratio_cols:
        name = normalize_name(ion)
        if name in ratios:
            name = f"{name}#{sum(1 for k in ratios if k.startswith(name)) + 1}"
        ratios[name] = arr[:, c].copy()
        num, den = ratio_terms(ion)
        terms[name] = [num, den]
        file_labels[name] = ion
    charges = set()
    for name in intensities:
        base = name.split("@")[0].split("#")[0]
        if base.endswith("+"):
            charges.add("positive")
        elif base.endswith("-"):
            charges.add("negative")
    polarity = charges.pop() if len(charges) == 1 else ("mixed" if charges else "unknown")
    meta: dict[str, Any] = {
        "source_file": str(path), "format": "surfacelab-export", "comments": comments, "polarity": polarity,
        "labels": file_labels, "masses": masses, "ratios": ratios, "ratio_terms": terms,
        "intensity_label": labels[frag_cols[0][0]], "time_unit": time_unit, "header_line": li + 1,
        "last_line": row_lines[-1],
    }
    if groups:
        meta["groups"] = groups
    if duplicates:
        meta["duplicate_labels"] = duplicates
    units_int = "counts"
    if re.match(r"normali[sz]ed", labels[frag_cols[0][0]], re.I):
        units_int = "ratio"
    try:
        prof = DepthProfile(t, intensities, sample=sample, sputter_rate=sputter_rate, meta=meta, units=units_int,
                            coords=coords, coord_units=units)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc
    return [prof]


def _header_meta(lines: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for ln in lines:
        s = ln.strip().lstrip("#").strip()
        if ":" in s:
            k, v = s.split(":", 1)
            k = k.strip()
            if k and len(k) < 60:
                meta[k] = v.strip().strip("\t,;")
    return meta


def _read(path: Path, *, sample: Any = None, sputter_rate: Any = None, **_: Any) -> list[DepthProfile]:
    text = decode_text(path)
    lines = split_lines(text)
    whole = text.endswith(("\n", "\r"))
    li = _find_export(lines)
    if li is not None:
        if not whole and lines:
            raise ReadError(path, len(lines), "the last line has no line end (SurfaceLab ends every line): "
                            "the file is cut")
        return _read_export(path, lines, li, sample=sample, sputter_rate=sputter_rate)
    layout = _find_layout(lines)
    if layout is None:
        raise ReadError(path, None, "no SurfaceLab ion-name row followed by a mass row found")
    i, delim, off, names, masses = layout
    nion = len(names)
    clean = [n.replace("^", "") for n in names]
    if len(set(clean)) != len(clean):
        dup = next(n for n in clean if clean.count(n) > 1)
        raise ReadError(path, i + 1, f"ion {dup!r} listed twice")
    head_meta = _header_meta(lines[:i])
    # optional label row(s) after the masses, then data
    j = i + 2
    time_unit = "s"
    while j < len(lines) and lines[j].strip() and not _NUM.match(_split(lines[j], delim)[0].strip()):
        toks = _split(lines[j], delim)
        numeric = [t for t in toks[1:] if _NUM.match(t.strip())]
        if numeric:  # a label row holds labels only: this is a data row with a damaged first cell
            raise ReadError(path, j + 1, f"column 1: non-numeric value {toks[0][:20]!r} in a data row")
        m = re.search(r"\(([^)]+)\)|\[([^\]]+)\]", toks[0])
        if m and re.search(r"time", toks[0], re.I):
            time_unit = (m.group(1) or m.group(2)).strip()
        j += 1
        if j - i > 6:
            raise ReadError(path, j, "expected data rows after the ion-name and mass rows")
    try:
        tfactor = float(ureg.Quantity(1.0, time_unit).to("s").magnitude)
    except Exception as exc:
        raise ReadError(path, j, f"sputter time unit {time_unit!r} is not a time") from exc
    ncol = 1 + nion
    fast = _fast_block(lines, j, delim, ncol)
    if fast is not None:
        arr, last = fast
    else:
        arr, last = _slow_block(path, lines, j, delim, ncol, nion)
    if not whole:
        warnings.warn(f"{path}: the last line (line {int(last) + 1}) has no line end; the file may be cut "
                      "and its last value incomplete", TableWarning, stacklevel=3)
    times = arr[:, 0] * tfactor
    dec = np.flatnonzero(np.diff(times) < 0)
    if dec.size:
        raise ReadError(path, None, f"sputter time decreases at data row {int(dec[0]) + 2} "
                        f"(t = {times[dec[0] + 1]:g} s after {times[dec[0]]:g} s)")
    if sputter_rate is None and "Sputter rate (nm/s)" in head_meta:
        try:
            sputter_rate = float(head_meta["Sputter rate (nm/s)"])
        except ValueError as exc:
            raise ReadError(path, None, f"sputter rate {head_meta['Sputter rate (nm/s)']!r} is not a number") from exc
    if sample is None and head_meta.get("Sample"):
        sample = head_meta["Sample"]
    meta = {"source_file": str(path), "format": "surfacelab", "masses": dict(zip(clean, masses)),
            "header": head_meta, "last_line": int(last) + 1}
    try:
        prof = DepthProfile(times, {n: arr[:, c + 1] for c, n in enumerate(clean)}, sample=sample,
                            sputter_rate=sputter_rate, meta=meta)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc
    return [prof]


def _fast_block(lines: list[str], j: int, delim: str | None, ncol: int) -> tuple[np.ndarray, int] | None:
    """Parse a clean numeric block in one call; None when anything needs the careful path."""
    body = [ln for ln in lines[j:] if ln.strip()]
    if not body or delim not in ("\t", ",", None):
        return None
    text = "\n".join(body)
    if "#" in text or (delim == "\t" and "," in text):
        return None
    flat = text.replace(delim, " ") if delim is not None else text
    if delim is not None and any(ln.count(delim) != ncol - 1 for ln in body):
        return None
    try:
        vals = np.array(flat.split(), dtype=float)
    except ValueError:
        return None
    if vals.size != len(body) * ncol or not np.all(np.isfinite(vals)):
        return None
    last = max(k for k in range(j, len(lines)) if lines[k].strip())
    return vals.reshape(len(body), ncol), last


def _slow_block(path: Path, lines: list[str], j: int, delim: str | None, ncol: int,
                nion: int) -> tuple[np.ndarray, int]:
    """Line-by-line parse with the exact line and reason of the first problem."""
    rows: list[list[float]] = []
    last = j
    decimal_comma = delim in ("\t", ";", None)
    for k in range(j, len(lines)):
        s = lines[k]
        if not s.strip():
            continue
        if s.lstrip().startswith("#"):
            raise ReadError(path, k + 1, "comment line inside the data block")
        toks = _split(s, delim)
        while toks and toks[-1] == "" and len(toks) > ncol:
            toks.pop()
        if len(toks) != ncol:
            raise ReadError(path, k + 1, f"expected {ncol} columns (sputter time + {nion} ions), found {len(toks)}")
        vals = []
        for c, tok in enumerate(toks):
            t = tok.strip()
            if decimal_comma and "," in t and "." not in t:
                t = t.replace(",", ".")
            try:
                v = float(t)
            except ValueError as exc:
                raise ReadError(path, k + 1, f"column {c + 1}: non-numeric value {tok[:20]!r}") from exc
            if not math.isfinite(v):
                raise ReadError(path, k + 1, f"column {c + 1}: non-finite value {tok!r}")
            vals.append(v)
        rows.append(vals)
        last = k
    if not rows:
        raise ReadError(path, j + 1 if j < len(lines) else None, "no data rows after the header")
    return np.asarray(rows, dtype=float), last


SURFACELAB = SimpleReader("surfacelab", "sims", (".txt", ".csv", ".tsv", ".dat"), _sniff, _read,
                          "IONTOF SurfaceLab depth-profile text/CSV export (ion names row, masses row, data)")

READERS = [SURFACELAB]
"""Readers registered under the ``sims`` entry point."""


def write_surfacelab_txt(profile: DepthProfile, path: str | os.PathLike[str], *, delimiter: str = "\t") -> Path:
    r"""Write a depth profile as a SurfaceLab-style text export that the reader reads back.

    Masses are the exact monoisotopic masses where the fragment formula is
    known (0 otherwise); values are written with full float precision.

    Parameters
    ----------
    profile : DepthProfile
    path : path-like
    delimiter : {"\t", ",", ";"}

    Returns
    -------
    Path
    """
    if not isinstance(profile, DepthProfile):
        raise ValidationError(f"write_surfacelab_txt: expected a DepthProfile, got {type(profile).__name__}")
    if delimiter not in ("\t", ",", ";"):
        raise ValidationError("delimiter: expected a tab, comma or semicolon")
    from ncmsurf.sims import fragment_mass

    names = profile.fragments
    for n in names:
        if not _ION.match(n):
            raise ValidationError(f"write_surfacelab_txt: fragment name {n!r} is not an ion name (e.g. 'AlO-')")
    masses = []
    for n in names:
        try:
            masses.append(fragment_mass(n, warn=False))
        except ValidationError:
            masses.append(0.0)
    d = delimiter
    out = ["# Profile export (SurfaceLab text layout)"]
    if profile.sample is not None:
        out.append(f"# Sample: {profile.sample}")
    if profile.sputter_rate is not None:
        out.append(f"# Sputter rate (nm/s): {profile.sputter_rate!r}")
    out.append(f"# Intensity units: {profile.data.attrs.get('units', 'counts')}")
    out.append(d.join(["Name", *names]))
    out.append(d.join(["Mass (u)", *(f"{m:.6f}" for m in masses)]))
    out.append(d.join(["Sputter time (s)", *(["Intensity"] * len(names))]))
    t = profile.sputter_time
    cols = [profile[n] for n in names]
    for k in range(t.size):
        out.append(d.join([repr(float(t[k])), *(repr(float(c[k])) for c in cols)]))
    p = Path(path)
    p.write_text("\n".join(out) + "\n", encoding="utf-8")
    return p
