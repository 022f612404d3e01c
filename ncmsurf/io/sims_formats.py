"""ToF-SIMS depth-profile readers: IONTOF SurfaceLab text/CSV exports.

The SurfaceLab profile export is a delimited text file (tab, comma or
semicolon) with optional ``#`` comment and ``key: value`` header lines, then

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
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import DepthProfile
from ncmsurf.core.units import ureg
from ncmsurf.io._table import decode_text, looks_binary
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "SURFACELAB", "write_surfacelab_txt"]

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
    if _find_layout(lines) is not None:
        return 0.9
    return 0.0


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
    lines = text.splitlines()
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
