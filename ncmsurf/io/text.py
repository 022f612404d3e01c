r"""Plain delimited-text readers for every model.

Column roles are recognised from header names (``"Binding Energy (eV)"``,
``"freq/Hz"``, ``"Z' (Ohm)"``, ``"-Z''"``, ``"test_time_s"``, ``"I/mA"``,
``"NiF3-"``, ...) and units are taken from the headers and converted. Files
without a header are read by position (XPS: energy, intensity; EIS: f, Z′, Z″).
Columns that play no role are kept (``meta["extra_columns"]`` or the cycling
``columns``), so nothing is dropped.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "z.csv"
>>> _ = p.write_text("freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n1,20,5\n")
>>> spec = EIS_TEXT.read(p)[0]
>>> spec.impedance.tolist()
[(10-1j), (20-5j)]
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError
from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, XPSSpectrum
from ncmsurf.core.units import ureg
from ncmsurf.io._table import find_column, looks_binary, parse_table, split_name_unit
from ncmsurf.io.registry import SimpleReader

__all__ = ["CYCLING_TEXT", "EDS_TEXT", "EIS_TEXT", "READERS", "SIMS_TEXT", "XPS_TEXT", "convert_column"]

_TEXT_EXT = (".csv", ".txt", ".tsv", ".dat", ".xy", ".asc")


def convert_column(path: Path, values: np.ndarray, unit: str | None, target: str, name: str) -> np.ndarray:
    """Convert a column from its header unit to ``target`` (no unit: taken as ``target``).

    Raises
    ------
    ReadError
        For a unit that is unknown or has the wrong dimension.
    """
    if unit is None:
        return values
    u = unit.replace("Ohm", "ohm").replace("Ω", "ohm").replace("µ", "u").replace("ohms", "ohm")
    if u.lower() in ("ohm", "ohms"):
        u = "ohm"
    try:
        factor = float(ureg.Quantity(1.0, u).to(target).magnitude)
    except Exception as exc:
        raise ReadError(path, None, f"column {name!r}: unit {unit!r} cannot be converted to {target}") from exc
    return values * factor if factor != 1.0 else values


def _head_text(head: bytes) -> str:
    try:
        return head.decode("utf-8-sig", errors="replace")
    except Exception:  # pragma: no cover
        return ""


def _header_tokens(head: bytes) -> str:
    txt = _head_text(head)
    lines = [ln for ln in txt.splitlines()[:60] if ln.strip()]
    return "\n".join(lines).lower()


def _first_numeric_width(head: bytes) -> int:
    txt = _head_text(head)
    for ln in txt.splitlines()[:200]:
        toks = re.split(r"[\t,;]|\s+", ln.strip())
        toks = [t for t in toks if t]
        if toks and all(re.match(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$", t) for t in toks):
            return len(toks)
    return 0


def _text_ok(path: Path, head: bytes) -> bool:
    return not looks_binary(head)


# ------------------------------------------------------------------- XPS
def _sniff_xps(path: Path, head: bytes) -> float:
    if not _text_ok(path, head):
        return 0.0
    h = _header_tokens(head)
    if re.search(r"binding|kinetic|\bbe\b|\bke\b|energy", h) and re.search(r"count|cps|intens|signal", h):
        return 0.4
    if _first_numeric_width(head) == 2:
        return 0.15 + (0.05 if path.suffix.lower() in (".xy", ".txt") else 0)
    return 0.0


def _read_xps(path: Path, *, region: str | None = None, sample: Any = None, excitation_energy: float | None = None,
              energy: str | None = None, **_: Any) -> list[XPSSpectrum]:
    hv_source = "default" if excitation_energy is None else "user"
    excitation_energy = 1486.6 if excitation_energy is None else excitation_energy
    table = parse_table(path, min_columns=2)
    names = table.names
    ie = find_column(names, [r"binding", r"^be$", r"kinetic", r"^ke$", r"energy", r"^e$"])
    ii = find_column(names, [r"^counts?$", r"^cps$", r"intens", r"count", r"signal", r"^y$"])
    if ie is None:
        ie = 0
    if ii is None or ii == ie:
        ii = 1 if ie == 0 else 0
    ename, eunit = split_name_unit(names[ie])
    e = convert_column(path, table.columns[names[ie]], eunit, "eV", names[ie])
    kinetic = energy == "kinetic" or (energy is None and re.search(r"kinetic|^ke$", ename, re.I) is not None)
    iname, iunit = split_name_unit(names[ii])
    units = "counts/s" if re.search(r"cps|/s", names[ii], re.I) else "counts"
    extra = {n: table.columns[n] for k, n in enumerate(names) if k not in (ie, ii)}
    meta: dict[str, Any] = {"source_file": str(path), "format": "text", "header": table.header_lines[-20:],
                            "excitation_energy_source": hv_source}
    if extra:
        meta["extra_columns"] = extra
    be = excitation_energy - e if kinetic else e
    try:
        spec = XPSSpectrum(be, table.columns[names[ii]], region=region, sample=sample, meta=meta,
                           excitation_energy=excitation_energy, units=units)
    except ValueError as exc:
        raise ReadError(path, table.first_line, str(exc)) from exc
    return [spec]


XPS_TEXT = SimpleReader("xps-text", "xps", _TEXT_EXT, _sniff_xps, _read_xps,
                        "two-column energy/intensity text or CSV (header names optional)")


# ------------------------------------------------------------------- EIS
def _sniff_eis(path: Path, head: bytes) -> float:
    if not _text_ok(path, head):
        return 0.0
    h = _header_tokens(head)
    if re.search(r"freq", h) and re.search(r"z'|zre|re\(z\)|z_?real|real|zreal|z\s*re", h):
        return 0.35
    w = _first_numeric_width(head)
    if w == 3:
        return 0.2
    return 0.0


def _read_eis(path: Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
              **_: Any) -> list[ImpedanceSpectrum]:
    """Read f, Z', Z''; with ``area`` (cm²) the result is in ohm·cm² unless ``normalize=False``."""
    table = parse_table(path, min_columns=3)
    names = table.names
    i_f = find_column(names, [r"^freq", r"frequency", r"^f$", r"hz"])
    i_re = find_column(names, [r"^re\(z\)", r"^z'$", r"^zre", r"^z_?real", r"^real", r"re\b", r"zr"])
    i_im = find_column(names, [r"^-?im\(z\)", r"^-?z''$", r"^-?z\"$", r"^-?zim", r"^-?z_?imag", r"^-?imag", r"im\b",
                               r"zi"])
    if i_f is None or i_re is None or i_im is None:
        i_f, i_re, i_im = 0, 1, 2
    f = convert_column(path, table.columns[names[i_f]], split_name_unit(names[i_f])[1], "Hz", names[i_f])
    zr = convert_column(path, table.columns[names[i_re]], split_name_unit(names[i_re])[1], "ohm", names[i_re])
    zi = convert_column(path, table.columns[names[i_im]], split_name_unit(names[i_im])[1], "ohm", names[i_im])
    if split_name_unit(names[i_im])[0].strip().startswith("-"):
        zi = -zi
    bad = np.flatnonzero(f <= 0)
    if bad.size:
        raise ReadError(path, int(table.line_numbers[bad[0]]), f"frequency must be > 0 Hz, got {f[bad[0]]}")
    order = np.argsort(f, kind="stable")
    dup = np.flatnonzero(np.diff(f[order]) == 0)
    if dup.size:
        k = int(max(order[dup[0]], order[dup[0] + 1]))
        raise ReadError(path, int(table.line_numbers[k]), f"duplicate frequency {f[k]} Hz")
    extra = {n: table.columns[n] for k, n in enumerate(names) if k not in (i_f, i_re, i_im)}
    meta: dict[str, Any] = {"source_file": str(path), "format": "text"}
    if extra:
        meta["extra_columns"] = extra
    spec = ImpedanceSpectrum(f, zr + 1j * zi, sample=sample, area=area, meta=meta)
    return [spec.area_normalized() if normalize and spec.area is not None else spec]


EIS_TEXT = SimpleReader("eis-text", "eis", _TEXT_EXT, _sniff_eis, _read_eis,
                        "frequency, Z', Z'' delimited text or CSV (header optional; '-Z''' is negated)")


# --------------------------------------------------------------- cycling
_TIME = [r"^test_?time", r"^time", r"^t$", r"total.?time", r"elapsed"]
_VOLT = [r"^voltage", r"^volts?$", r"^ewe$", r"^ecell$", r"^e$", r"^v$", r"potential", r"volt"]
_CURR = [r"^current", r"^amps?$", r"^i$", r"^<i>$", r"curr"]
_CYC = [r"^cycle", r"^cyc", r"cycle.?index", r"cycle.?number"]
_STEP = [r"^step_?index", r"^step$", r"^ns$", r"step"]


def _sniff_cycling(path: Path, head: bytes) -> float:
    if not _text_ok(path, head):
        return 0.0
    txt = _head_text(head)
    for ln in txt.splitlines()[:60]:
        low = ln.lower()
        if re.search(r"time", low) and re.search(r"volt|ewe|potential", low) and re.search(r"curr|amp|\bi\b", low):
            return 0.35
    # any headed table of >= 3 numeric columns: a user may map the columns by hand
    return 0.05 if _first_numeric_width(head) >= 3 else 0.0


def _read_cycling(path: Path, *, sample: Any = None, mass: Any = None,
                  columns: Mapping[str, str] | None = None, current_sign: float = 1.0, **_: Any) -> list[CyclingData]:
    """Generic cycling CSV; ``columns`` maps role (time, voltage, current, cycle, step) → header name."""
    table = parse_table(path, min_columns=3)
    names = table.names
    roles: dict[str, int | None] = {}
    mapping = dict(columns or {})
    for role, pats in (("time", _TIME), ("voltage", _VOLT), ("current", _CURR), ("cycle", _CYC), ("step", _STEP)):
        if role in mapping:
            if mapping[role] not in names:
                raise ReadError(path, table.header_line, f"column {mapping[role]!r} (for {role}) not in header {names}")
            roles[role] = names.index(mapping[role])
        else:
            roles[role] = find_column(names, pats)
    for role in ("time", "voltage", "current"):
        if roles[role] is None:
            raise ReadError(path, table.header_line, f"no {role} column found in header {names}; "
                                                     "pass columns={'" + role + "': '<header name>'}")
    used = {v for v in roles.values() if v is not None}

    def col(role: str, target: str) -> np.ndarray:
        k = roles[role]
        assert k is not None
        return convert_column(path, table.columns[names[k]], split_name_unit(names[k])[1], target, names[k])

    t = col("time", "s")
    bad = np.flatnonzero(np.diff(t) < 0)
    if bad.size:
        j = int(bad[0]) + 1
        raise ReadError(path, int(table.line_numbers[j]), f"time decreases ({t[j]} s after {t[j - 1]} s); "
                                                          "records must be in time order")
    extra: dict[str, np.ndarray] = {}
    extra_units: dict[str, str] = {}
    for k, n in enumerate(names):
        if k in used:
            continue
        nm, unit = split_name_unit(n)
        key = re.sub(r"\W+", "_", nm).strip("_") or f"col{k}"
        while key in extra or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        extra[key] = table.columns[n]
        extra_units[key] = unit or "1"
    ints = {}
    for role in ("cycle", "step"):
        kk = roles[role]
        if kk is not None:
            v = table.columns[names[kk]]
            if not np.all(v == np.round(v)):
                j = int(np.flatnonzero(v != np.round(v))[0])
                raise ReadError(path, int(table.line_numbers[j]), f"{role} column holds a non-integer {v[j]}")
            ints[role] = v.astype(np.int64)
    meta = {"source_file": str(path), "format": "text", "rows_read": table.nrows}
    data = CyclingData(t, col("voltage", "V"), current_sign * col("current", "A"), cycle=ints.get("cycle"),
                       step=ints.get("step"), mass=mass, sample=sample, meta=meta, columns=extra,
                       column_units=extra_units)
    return [data]


CYCLING_TEXT = SimpleReader("cycling-text", "cycling", _TEXT_EXT, _sniff_cycling, _read_cycling,
                            "delimited cycler export with time, voltage, current (+ cycle, step) columns")


# ------------------------------------------------------------------ SIMS
_FRAGMENT = re.compile(r"^[A-Z][A-Za-z0-9]*[-+]$")


def _sniff_sims(path: Path, head: bytes) -> float:
    if not _text_ok(path, head):
        return 0.0
    txt = _head_text(head)
    for ln in txt.splitlines()[:60]:
        toks = [t.strip() for t in re.split(r"[\t,;]", ln) if t.strip()]
        frag = sum(1 for t in toks if _FRAGMENT.match(split_name_unit(t)[0]))
        if frag >= 1 and any(re.search(r"time|sputter|depth", t, re.I) for t in toks):
            return 0.35
    return 0.0


def _read_sims(path: Path, *, sample: Any = None, sputter_rate: Any = None, **_: Any) -> list[DepthProfile]:
    table = parse_table(path, min_columns=2)
    names = table.names
    it = find_column(names, [r"sputter.?time", r"^time", r"^t$"])
    if it is None:
        raise ReadError(path, table.header_line, f"no sputter time column in header {names}")
    t = convert_column(path, table.columns[names[it]], split_name_unit(names[it])[1], "s", names[it])
    frags = {split_name_unit(n)[0]: table.columns[n] for k, n in enumerate(names) if k != it}
    return [DepthProfile(t, frags, sample=sample, sputter_rate=sputter_rate,
                         meta={"source_file": str(path), "format": "text"})]


SIMS_TEXT = SimpleReader("sims-text", "sims", _TEXT_EXT, _sniff_sims, _read_sims,
                         "sputter time column plus one intensity column per fragment (e.g. 'NiF3-')")


# ------------------------------------------------------------------- EDS
def _sniff_eds(path: Path, head: bytes) -> float:
    if not _text_ok(path, head):
        return 0.0
    txt = _head_text(head)
    for ln in txt.splitlines()[:20]:
        toks = [t.strip().lower() for t in re.split(r"[\t,;]", ln) if t.strip()]
        if len(toks) >= 3 and toks[0] in ("x", "col", "column") and toks[1] in ("y", "row"):
            return 0.35
        if len(toks) >= 3 and toks[0] in ("y", "row") and toks[1] in ("x", "col", "column"):
            return 0.35
    return 0.0


def _read_eds(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[ElementMap]:
    """Long-format maps: columns x, y and one count column per element, a row per pixel."""
    table = parse_table(path, min_columns=3)
    names = table.names
    ix = find_column(names, [r"^x$", r"^col(umn)?$"])
    iy = find_column(names, [r"^y$", r"^row$"])
    if ix is None or iy is None:
        raise ReadError(path, table.header_line, f"no x/y pixel columns in header {names}")
    x = table.columns[names[ix]]
    y = table.columns[names[iy]]
    for arr, nm in ((x, "x"), (y, "y")):
        bad = np.flatnonzero((arr != np.round(arr)) | (arr < 0))
        if bad.size:
            raise ReadError(path, int(table.line_numbers[bad[0]]), f"{nm} must be a non-negative pixel index")
    xi = x.astype(np.int64)
    yi = y.astype(np.int64)
    ny, nx = int(yi.max()) + 1, int(xi.max()) + 1
    flat = yi * nx + xi
    counts = np.bincount(flat, minlength=ny * nx)
    if np.any(counts > 1):
        j = int(np.flatnonzero(counts[flat] > 1)[1] if np.sum(counts[flat] > 1) > 1 else 0)
        raise ReadError(path, int(table.line_numbers[j]), "pixel listed twice")
    if np.any(counts == 0):
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ReadError(path, None, f"pixel (y={missing // nx}, x={missing % nx}) missing from the map")
    maps = {}
    for k, n in enumerate(names):
        if k in (ix, iy):
            continue
        grid = np.empty(ny * nx)
        grid[flat] = table.columns[n]
        maps[split_name_unit(n)[0]] = grid.reshape(ny, nx)
    return [ElementMap(maps, pixel_size=pixel_size, sample=sample, meta={"source_file": str(path), "format": "text"})]


EDS_TEXT = SimpleReader("eds-text", "eds", _TEXT_EXT, _sniff_eds, _read_eds,
                        "one row per pixel: x, y and a count column per element")

READERS = [XPS_TEXT, EIS_TEXT, CYCLING_TEXT, SIMS_TEXT, EDS_TEXT]
"""Readers registered under the ``text`` entry point."""

