r"""VAMAS (ISO 14976) surface-analysis files: reader and writer.

Supports experiment modes NORM, MAP, MAPDP, SDP (and the others of the
standard for the header), REGULAR and IRREGULAR scans, leading blank lines,
the block metadata (technique, source, analyser, pass energy, work function,
angles, dwell, scans, additional numerical parameters, experimental
variables such as the emission angle), the block comment (with CasaXPS
annotations, see :func:`ncmsurf.xps.casa_regions`) and a transmission
corresponding variable (kept as ``XPSSpectrum.transmission``). Kinetic-energy
abscissae are converted to binding energy with the block's source energy;
binding-energy abscissae (PHI MultiPak ``.npl`` exports) are kept as they are.

PHI MultiPak pads text labels (the transition, e.g. ``1s`` and a NUL) with NUL
bytes; such trailing NULs on a *text* field are accepted and the padded lines
are listed in ``meta["file"]["nul_padded_lines"]``. A NUL anywhere else (in a
number, inside a label, on its own line, or after ``end of experiment``) is a
:class:`~ncmsurf.core.errors.ReadError` naming the line, as is any content
after the terminator. Lines break only at CR LF, CR or LF.

Examples
--------
>>> import os, tempfile, numpy as np
>>> from ncmsurf.core.models import XPSSpectrum
>>> s = XPSSpectrum(np.linspace(870, 850, 201), np.arange(201.0) + 10, region="Ni 2p", sample="P-NCM")
>>> path = write_vamas([s], os.path.join(tempfile.mkdtemp(), "ni.vms"))
>>> back = read_vamas(path)[0]
>>> back.region, str(back.sample), bool(np.allclose(back.binding_energy, s.binding_energy))
('Ni 2p', 'P-NCM', True)
"""

from __future__ import annotations

import datetime as _dt
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.io._xps_meta import excitation_energy, split_lines
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_vamas", "write_vamas"]

_MAGIC = "VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4"
_EXP_MODES = ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "NORM", "SDP", "SDPSV", "SEM", "NOEXP")
_SCAN_MODES = ("REGULAR", "IRREGULAR", "MAPPING")
_SPUTTER_TECH = ("FABMS", "FABMS energy spec", "ISS", "SIMS", "SIMS energy spec", "SNMS", "SNMS energy spec")


#: Variable labels that instruments write and that decide how a column is read (axis kind, transmission).
_KNOWN_LABELS = ("Kinetic Energy", "Binding Energy", "Intensity", "Transmission", "Counts", "Energy", "Time",
                 "Etch Time", "Depth", "Angle")
#: Units of ISO 14976 (and a few that instruments write).
_KNOWN_UNITS = ("c/s", "d", "degree", "eV", "K", "micro C", "micro m", "m/s", "n", "nA", "nm", "ns", "s", "u", "V",
                "counts", "cps", "CPS", "a.u.")


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (short strings)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _near_miss(text: str, known: Sequence[str], *, fold: bool) -> str | None:
    """The known word ``text`` is a damaged copy of (a few characters away, not equal), else None."""
    t = text.strip()
    norm = t.lower() if fold else t
    if any(norm == (k.lower() if fold else k) for k in known):
        return None
    for k in known:
        kk = k.lower() if fold else k
        if kk in norm and fold:
            continue  # "Transmission function" holds the word whole
        if _distance(norm, kk) <= max(1, len(kk) // 4):
            return k
    return None


def _check_variable(path: Path, line: int, label: str, unit: str | None, what: str) -> None:
    """Refuse a variable label or unit that is a damaged copy of a known one.

    Such a copy would change how the column is read: kinetic as binding energy, transmission as an
    extra column, counts as counts/s.
    """
    hit = _near_miss(label, _KNOWN_LABELS, fold=True)
    if hit is not None:
        raise ReadError(path, line, f"{what} label {label!r} is not a known label but close to {hit!r}: "
                        "the label is damaged")
    if unit is not None:
        hit = _near_miss(unit, _KNOWN_UNITS, fold=False)
        if hit is not None:
            raise ReadError(path, line + 1, f"{what} units {unit!r} are not known units but close to {hit!r}: "
                            "the units are damaged")


class _Lines:
    """Line cursor with 1-based line numbers for error messages."""

    def __init__(self, path: Path, lines: list[str], start: int) -> None:
        self.path = path
        self.lines = lines
        self.i = start
        self.nul_padded: list[int] = []

    def raw(self, what: str) -> str:
        if self.i >= len(self.lines):
            raise ReadError(self.path, len(self.lines) + 1, f"file ends early: expected {what}")
        s = self.lines[self.i]
        self.i += 1
        return s.strip()

    def next(self, what: str) -> str:
        """A text field; trailing NUL padding (PHI MultiPak) is removed and recorded."""
        s = self.raw(what)
        if "\x00" in s:
            core = s.rstrip("\x00").strip()
            if "\x00" in core:
                raise ReadError(self.path, self.lineno, f"NUL byte inside {what} ({core[:40]!r})")
            self.nul_padded.append(self.lineno)
            s = core
        return s

    @property
    def lineno(self) -> int:
        return self.i  # 1-based number of the line just read

    def _number_text(self, what: str) -> str:
        s = self.raw(what)
        if "\x00" in s:
            raise ReadError(self.path, self.lineno, f"NUL byte in the number field {what}")
        return s

    def int(self, what: str, lo: int = 0, hi: int = 10**9) -> int:
        s = self._number_text(what)
        try:
            v = int(s)
        except ValueError:
            try:
                f = float(s)
            except ValueError:
                raise ReadError(self.path, self.lineno, f"expected an integer for {what}, got {s!r}") from None
            if not np.isfinite(f) or f != int(f):
                raise ReadError(self.path, self.lineno, f"expected an integer for {what}, got {s!r}") from None
            v = int(f)
        if not lo <= v <= hi:
            raise ReadError(self.path, self.lineno, f"{what} = {v} out of range [{lo}, {hi}]")
        return v

    def float(self, what: str) -> float:
        s = self._number_text(what)
        try:
            v = float(s)
        except ValueError:
            raise ReadError(self.path, self.lineno, f"expected a number for {what}, got {s!r}") from None
        if not np.isfinite(v):
            raise ReadError(self.path, self.lineno, f"{what} is not finite ({s!r})")
        return v

    def choice(self, what: str, options: Sequence[str]) -> str:
        s = self.next(what)
        if s not in options:
            raise ReadError(self.path, self.lineno, f"unknown {what} {s!r} (expected one of {', '.join(options)})")
        return s


def _sniff(path: Path, head: bytes) -> float:
    text = head.lstrip(b"\r\n\t \xef\xbb\xbf")
    return 1.0 if text.startswith(b"VAMAS Surface Chemical Analysis Standard") else 0.0


def _opt_float(v: float) -> float | None:
    return None if v >= 1e36 else v


def _read_header(c: _Lines) -> dict[str, Any]:
    h: dict[str, Any] = {}
    first = c.next("format identifier")
    if not first.startswith("VAMAS Surface Chemical Analysis Standard"):
        raise ReadError(c.path, c.lineno, f"not a VAMAS file (first line {first[:60]!r})")
    h["format"] = first
    h["institution"] = c.next("institution identifier")
    h["instrument_model"] = c.next("instrument model identifier")
    h["operator"] = c.next("operator identifier")
    h["experiment"] = c.next("experiment identifier")
    n = c.int("number of lines in comment", 0, 100000)
    h["comment"] = [c.next("comment line") for _ in range(n)]
    h["experiment_mode"] = c.choice("experiment mode", _EXP_MODES)
    h["scan_mode"] = c.choice("scan mode", _SCAN_MODES)
    mode = h["experiment_mode"]
    if mode in ("MAP", "MAPDP", "NORM", "SDP"):
        h["n_regions"] = c.int("number of spectral regions", 0, 10**7)
    if mode in ("MAP", "MAPDP"):
        h["n_analysis_positions"] = c.int("number of analysis positions", 0, 10**9)
        h["n_x"] = c.int("number of discrete x coordinates", 0, 10**9)
        h["n_y"] = c.int("number of discrete y coordinates", 0, 10**9)
    nv = c.int("number of experimental variables", 0, 1000)
    h["exp_variables"] = [(c.next("experimental variable label"), c.next("experimental variable unit"))
                          for _ in range(nv)]
    ninc = c.int("number of entries in parameter inclusion list", -40, 40)
    if ninc != 0:
        raise ReadError(c.path, c.lineno, "parameter inclusion/exclusion lists are not supported "
                        f"({ninc} entries); every block must carry all its parameters")
    n_manual = c.int("number of manually entered items", 0, 1000)
    for _ in range(n_manual):
        c.next("manually entered item")
    n_future_exp = c.int("number of future upgrade experiment entries", 0, 1000)
    h["n_future_block"] = c.int("number of future upgrade block entries", 0, 1000)
    for _ in range(n_future_exp):
        c.next("future upgrade experiment entry")
    h["n_blocks"] = c.int("number of blocks", 0, 10**7)
    return h


def _read_block(c: _Lines, h: dict[str, Any], index: int) -> tuple[dict[str, Any], np.ndarray, np.ndarray,
                                                                    list[str]]:
    mode = h["experiment_mode"]
    m: dict[str, Any] = {"block_index": index}
    start_line = c.lineno + 1
    m["block_identifier"] = c.next("block identifier")
    m["sample_identifier"] = c.next("sample identifier")
    date = [c.int(w, -10**6, 10**6) for w in ("year", "month", "day", "hours", "minutes", "seconds")]
    m["gmt_offset_hours"] = c.float("hours in advance of GMT")
    m["date"] = date
    try:
        if date[0] > 0 and date[1] > 0 and date[2] > 0:
            m["datetime"] = _dt.datetime(date[0], date[1], date[2], date[3], date[4], date[5]).isoformat()
    except ValueError:
        pass
    nc = c.int("number of lines in block comment", 0, 10**6)
    m["block_comment"] = [c.next("block comment line") for _ in range(nc)]
    tech = c.next("technique")
    m["technique"] = tech
    if mode in ("MAP", "MAPDP"):
        m["x_coordinate"] = c.float("x coordinate")
        m["y_coordinate"] = c.float("y coordinate")
    m["exp_variables"] = {lab: c.float(f"experimental variable {lab}") for lab, _ in h["exp_variables"]}
    m["source_label"] = c.next("analysis source label")
    if mode in ("MAPDP", "MAPSVDP", "SDP", "SDPSV") or tech in _SPUTTER_TECH:
        m["sputter_species"] = c.next("sputtering ion or atom species")
        m["sputter_charge"] = c.float("sputtering charge state")
    hv = c.float("analysis source characteristic energy")
    m["source_energy"] = hv
    m["source_strength"] = _opt_float(c.float("analysis source strength"))
    m["source_beam_width"] = (c.float("source beam width x"), c.float("source beam width y"))
    if mode in ("MAP", "MAPDP", "MAPSV", "MAPSVDP", "SEM"):
        m["field_of_view"] = (c.float("field of view x"), c.float("field of view y"))
    if mode in ("MAPSV", "MAPSVDP", "SEM"):
        m["linescan"] = [c.float("linescan coordinate") for _ in range(6)]
    m["source_polar_angle"] = c.float("analysis source polar angle of incidence")
    m["source_azimuth"] = c.float("analysis source azimuth")
    m["analyser_mode"] = c.next("analyser mode")
    m["pass_energy"] = c.float("analyser pass energy")
    if tech == "AES diff":
        m["differential_width"] = c.float("differential width")
    m["magnification"] = _opt_float(c.float("magnification of analyser transfer lens"))
    m["work_function"] = c.float("analyser work function or acceptance energy")
    m["target_bias"] = c.float("target bias")
    m["analysis_width"] = (c.float("analysis width x"), c.float("analysis width y"))
    m["analyser_polar_angle"] = c.float("analyser axis take-off polar angle")
    m["analyser_azimuth"] = c.float("analyser axis take-off azimuth")
    m["species"] = c.next("species label")
    m["transition"] = c.next("transition or charge state label")
    m["particle_charge"] = c.float("charge of detected particle")
    if h["scan_mode"] == "REGULAR":
        m["abscissa_label"] = c.next("abscissa label")
        lab_line = c.lineno
        m["abscissa_units"] = c.next("abscissa units")
        _check_variable(c.path, lab_line, m["abscissa_label"], m["abscissa_units"], "abscissa")
        x0 = c.float("abscissa start")
        dx = c.float("abscissa increment")
        if dx == 0:
            raise ReadError(c.path, c.lineno, "abscissa increment is 0")
        m["abscissa_start"], m["abscissa_increment"] = x0, dx
    ncv = c.int("number of corresponding variables", 1, 1000)
    cvars = []
    for _ in range(ncv):
        lab = c.next("corresponding variable label")
        lab_line = c.lineno
        unit = c.next("corresponding variable units")
        _check_variable(c.path, lab_line, lab, unit, "corresponding variable")
        cvars.append((lab, unit))
    m["corresponding_variables"] = [list(v) for v in cvars]
    m["signal_mode"] = c.next("signal mode")
    m["dwell_time"] = c.float("signal collection time")
    m["scans"] = c.int("number of scans to compile this block", 0, 10**9)
    m["signal_time_correction"] = c.float("signal time correction")
    if mode in ("MAPDP", "MAPSVDP", "SDP", "SDPSV"):
        m["sputter_source"] = [c.float("sputtering source parameter") for _ in range(6)] + [c.next("sputter mode")]
    m["sample_tilt"] = (c.float("sample normal polar angle of tilt"), c.float("sample normal tilt azimuth"))
    m["sample_rotation"] = c.float("sample rotation angle")
    nadd = c.int("number of additional numerical parameters", 0, 10**5)
    add = {}
    for _ in range(nadd):
        lab = c.next("additional parameter label")
        unit = c.next("additional parameter units")
        add[lab] = (c.float(f"additional parameter {lab}"), unit)
    m["additional_parameters"] = {k: [v, u] for k, (v, u) in add.items()}
    for _ in range(h["n_future_block"]):
        c.next("future upgrade block entry")
    n = c.int("number of ordinate values", 1, 10**9)
    if n % ncv:
        raise ReadError(c.path, c.lineno, f"{n} ordinate values is not a multiple of {ncv} corresponding variables")
    for k in range(ncv):
        c.float(f"minimum ordinate of variable {k + 1}")
        c.float(f"maximum ordinate of variable {k + 1}")
    first = c.i
    end = first + n
    if end > len(c.lines):
        raise ReadError(c.path, len(c.lines) + 1, f"block {index + 1} ({m['block_identifier']!r}) truncated: "
                        f"{n} values announced, {len(c.lines) - first} lines left")
    raw = c.lines[first:end]
    try:
        vals = np.array(raw, dtype=float)
    except ValueError:
        for j, s in enumerate(raw):
            try:
                float(s)
            except ValueError:
                raise ReadError(c.path, first + j + 1, f"expected an ordinate value, got {s.strip()!r}") from None
        raise
    bad = ~np.isfinite(vals)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ReadError(c.path, first + j + 1, f"ordinate value is not finite ({raw[j].strip()!r})")
    c.i = end
    table = vals.reshape(-1, ncv)
    m["_start_line"] = start_line
    return m, table, np.zeros(0), [lab for lab, _ in cvars]


def _find(labels: list[str], words: Sequence[str]) -> int | None:
    for i, lab in enumerate(labels):
        low = lab.lower()
        if any(w in low for w in words):
            return i
    return None


_CORE = re.compile(r"^([A-Z][a-z]?)\s*(\d[spdf](?:\s*\d/\d)?)$")


def _region(species: str, transition: str, block_id: str) -> str | None:
    """Core-level name from species + transition, else from the block identifier (``"O1s"``)."""
    for text in (f"{species} {transition}".strip(), species.strip(), block_id.strip()):
        mt = _CORE.match(text)
        if mt:
            return f"{mt.group(1)} {mt.group(2).replace(' ', '')}"
    return None


def _to_spectrum(path: Path, m: dict[str, Any], table: np.ndarray, labels: list[str],
                 scan_mode: str, sample_override: Any, user_hv: Any = None) -> XPSSpectrum:
    npts = table.shape[0]
    line = m.pop("_start_line")
    cols = list(range(table.shape[1]))
    if scan_mode == "REGULAR":
        x = m["abscissa_start"] + m["abscissa_increment"] * np.arange(npts)
        xlabel = m["abscissa_label"]
    else:
        x = table[:, 0]
        xlabel = labels[0]
        m["abscissa_label"] = xlabel
        m["abscissa_units"] = m["corresponding_variables"][0][1]
        cols = cols[1:]
        labels = labels[1:]
        if not cols:
            raise ReadError(path, line, f"IRREGULAR block {m['block_identifier']!r} has no ordinate besides "
                            "the abscissa")
    ti = _find(labels, ("transmission",))
    yi = 0 if ti != 0 else (1 if len(cols) > 1 else 0)
    y = table[:, cols[yi]]
    trans = table[:, cols[ti]] if ti is not None else None
    extra = {labels[k]: table[:, cols[k]].copy() for k in range(len(cols)) if k not in (yi, ti)}
    if extra:
        m["extra_columns"] = extra
    low = xlabel.lower()
    kinetic = "kinetic" in low or ("binding" not in low and m.get("technique", "XPS") in ("AES dir", "AES diff"))
    hv, m["excitation_energy_source"] = excitation_energy(path, m["source_energy"], user_hv,
                                                          where=f" (block {m['block_index'] + 1})")
    if "binding" in low:
        be = x
    else:
        be = hv - x
    region = _region(m["species"], m["transition"], m["block_identifier"])
    for lab, val in m["exp_variables"].items():
        if "angle" in lab.lower():
            m["emission_angle"] = val
    sample: Any = sample_override
    if sample is None:
        try:
            sample = Sample.parse(m["sample_identifier"])
        except (NcmsurfError, ValueError):
            sample = None
    m["kinetic_abscissa"] = bool(kinetic or "binding" not in low)
    yunit = m["corresponding_variables"][cols[yi]][1] if m["corresponding_variables"] else ""
    units = "counts/s" if "/s" in (labels[yi] if labels else "") or yunit.strip().lower() in ("c/s", "cps",
                                                                                              "counts/s") else "counts"
    try:
        return XPSSpectrum(be, y, region=region, sample=sample, meta=m, excitation_energy=hv, transmission=trans,
                           units=units)
    except ValidationError as exc:
        raise ReadError(path, line, f"block {m['block_index'] + 1} ({m['block_identifier']!r}): {exc}") from exc


def _decode(p: Path) -> str:
    """Bytes → text; NULs are kept for the field-level checks, other control bytes mean binary."""
    raw = p.read_bytes()
    head = raw[:4096]
    if head:
        allowed = set(range(32, 127)) | {9, 10, 13, 12, 0}
        nontext = sum(1 for b in head if b < 128 and b not in allowed)
        if nontext / len(head) > 0.1:
            raise ReadError(p, None, "binary content where a VAMAS text file was expected")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def read_vamas(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
               **_: Any) -> list[XPSSpectrum]:
    """Read every block of a VAMAS file into :class:`XPSSpectrum` objects.

    Parameters
    ----------
    path : str or path-like
    sample : Sample or str, optional
        Attach this sample instead of parsing each block's sample identifier.
    excitation_energy : float, optional
        Override the blocks' source energy (eV); by default it is taken from
        each block (``meta["excitation_energy_source"] == "file"``).

    Returns
    -------
    list of XPSSpectrum
        One per block, in file order; ``meta`` holds every block parameter
        (``block_identifier``, ``sample_identifier``, ``technique``,
        ``source_energy``, ``pass_energy``, ``work_function``,
        ``analyser_polar_angle``, ``dwell_time``, ``scans``,
        ``exp_variables`` (e.g. the emission angle of ARXPS maps),
        ``block_comment``, ``additional_parameters``, ...) and the file
        header under ``meta["file"]``.

    Raises
    ------
    ReadError
        With the line for truncated or malformed content.
    """
    p = Path(path)
    text = _decode(p)
    lines = split_lines(text)
    start = 0
    while start < len(lines) and not lines[start].strip():
        start += 1
    c = _Lines(p, lines, start)
    h = _read_header(c)
    header = {k: v for k, v in h.items() if k not in ("n_future_block",)}
    header["exp_variables"] = [list(v) for v in h["exp_variables"]]
    header["leading_blank_lines"] = start
    blocks = [_read_block(c, h, b) for b in range(h["n_blocks"])]
    header["nul_padded_lines"] = list(c.nul_padded)
    tail = [(k + 1, s) for k, s in enumerate(lines[c.i:], start=c.i) if s.strip(" \t")]
    if not tail:
        raise ReadError(p, len(lines) + 1, "missing 'end of experiment' terminator (file truncated?)")
    if tail[0][1].strip(" \t").lower() != "end of experiment":
        raise ReadError(p, tail[0][0], f"expected 'end of experiment' after {h['n_blocks']} blocks, got "
                        f"{tail[0][1].strip()[:60]!r}")
    if len(tail) > 1:
        what = "NUL bytes" if set(tail[1][1].strip(" \t")) <= {"\x00"} else repr(tail[1][1].strip()[:40])
        raise ReadError(p, tail[1][0], f"content after 'end of experiment': {what} (trailing garbage or "
                        "an appended file)")
    out: list[XPSSpectrum] = []
    for m, table, _unused, labels in blocks:
        m["file"] = header
        out.append(_to_spectrum(p, m, table, labels, h["scan_mode"], sample, excitation_energy))
    return out


def _fmt(v: float) -> str:
    return repr(float(v))


def write_vamas(spectra: Sequence[XPSSpectrum] | XPSSpectrum, path: str | os.PathLike[str], *,
                institution: str = "Not specified", instrument: str = "Not specified",
                operator: str = "Not specified", experiment: str = "ncmsurf") -> Path:
    """Write spectra to a VAMAS file (NORM, REGULAR, kinetic-energy abscissa as in the standard).

    Each block's identifier is the region followed by the sample label
    (``"Ni 2p A(3)-NCM"``; ``"spectrum"`` when the region is unknown), its
    species/transition fields carry the region and its sample identifier the
    sample label, so :func:`read_vamas` gives back the region and the
    :class:`~ncmsurf.core.sample.Sample`. The energy
    grid must be uniform (REGULAR scan); values are written with full
    double precision, so energies and intensities read back exactly (to
    floating-point rounding of start + i * step). A transmission column is
    written as a second corresponding variable.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    ValidationError
        If a spectrum's energies are not uniformly spaced.
    """
    items = [spectra] if isinstance(spectra, XPSSpectrum) else list(spectra)
    if not items:
        raise ValidationError("write_vamas: no spectra given")
    out = [_MAGIC, institution, instrument, operator, experiment, "1", "written by ncmsurf", "NORM", "REGULAR",
           str(len(items)), "0", "0", "0", "0", "0", str(len(items))]
    for k, s in enumerate(items):
        if not isinstance(s, XPSSpectrum):
            raise ValidationError(f"write_vamas: item {k} is {type(s).__name__}, not an XPSSpectrum")
        hv = s.excitation_energy
        ke = s.kinetic_energy
        step = float(ke[1] - ke[0]) if ke.size > 1 else 1.0
        if ke.size > 1 and not np.allclose(np.diff(ke), step, rtol=1e-9, atol=1e-9 * max(1.0, abs(step))):
            raise ValidationError(f"write_vamas: spectrum {k} energies are not uniformly spaced (REGULAR needed)")
        region = s.region or ""
        species, _, trans = region.partition(" ")
        meta = s.meta
        date = meta.get("date", [0, 0, 0, 0, 0, 0])
        comment = meta.get("block_comment", [])
        comment = comment.splitlines() if isinstance(comment, str) else [str(x) for x in comment]
        ncv = 1 if s.transmission is None else 2
        label = "" if s.sample is None else s.sample.label
        blk = [" ".join(t for t in (region or "spectrum", label) if t), label,
               *[str(int(v)) for v in list(date)[:6]], "0", str(len(comment)), *comment,
               "XPS", str(meta.get("source_label", "Al")), _fmt(hv), "1e+37", "1e+37", "1e+37",
               "1e+37", "1e+37", "FAT", _fmt(meta.get("pass_energy", 20.0)), "1e+37",
               _fmt(meta.get("work_function", 0.0)), "0", "1e+37", "1e+37",
               _fmt(meta.get("analyser_polar_angle", 0.0)), "0", species or "None", trans or "None", "-1",
               "Kinetic Energy", "eV", _fmt(ke[0]), _fmt(step), str(ncv), "Intensity", "d"]
        if ncv == 2:
            blk += ["Transmission", "d"]
        blk += ["pulse counting", _fmt(meta.get("dwell_time", 0.1)), str(int(meta.get("scans", 1))), "0",
                "0", "0", "0", "0", str(ke.size * ncv)]
        y = s.intensity
        blk += [_fmt(y.min()), _fmt(y.max())]
        if ncv == 2:
            t = s.transmission
            assert t is not None
            blk += [_fmt(t.min()), _fmt(t.max())]
            vals = np.column_stack([y, t]).ravel()
        else:
            vals = y
        blk += [_fmt(v) for v in vals]
        out += blk
    out.append("end of experiment")
    p = Path(path)
    p.write_text("\r\n".join(out) + "\r\n", encoding="utf-8", newline="")
    return p


READERS = [
    SimpleReader("vamas", "xps", (".vms", ".vamas", ".npl"), _sniff, read_vamas,
                 "VAMAS ISO 14976 (NORM/MAP, REGULAR/IRREGULAR, transmission, CasaXPS annotations)"),
]
