r"""Plain delimited-text readers for every model, on the strict table core (:mod:`ncmsurf.io._table`).

Column roles are recognised from header names (``"Binding Energy (eV)"``,
``"B.E."``, ``"freq/Hz"``, ``"Z' (Ohm)"``, ``"-Z''"``, ``"Z'(a)"``,
``"test_time_s"``, ``"I/mA"``, ``"NiF3-"``, ...), units are taken from the
headers (or a unit line under them) and converted, and a leading ``-`` in a
name (``-Im(Z)``, ``-Z''``) negates the column. The header is found by content
and position, so a damaged first data row is an error, never a header; every
row's field count and every cell are checked (see :mod:`ncmsurf.io._table`).

A file with a header must name the columns a reader needs; only a file
without any header and with exactly the columns of the model is read by
position (XPS: energy, intensity; EIS: f, Z′, Z″), and then
``meta["columns_by_position"]`` says so; a header-less table with more columns
(an instrument export whose column names the generic reader cannot see) is
refused. Where two columns
could play one role (two Z′ columns, both a K.E. and a B.E. axis with no
choice) the reader says which it took in ``meta`` or refuses with the
candidates; ``columns=`` names them explicitly. Further numeric columns are
kept (``meta["extra_columns"]`` or the cycling ``columns``); an incomplete
one is dropped with a :class:`~ncmsurf.io._table.TableWarning`.

Examples
--------
>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "z.csv"
>>> _ = p.write_text("freq/kHz,Re(Z)/Ohm,-Im(Z)/mOhm\n1,10,1000\n0.001,20,5000\n")
>>> spec = EIS_TEXT.read(p)[0]
>>> spec.frequency.tolist(), spec.impedance.tolist()
([1000.0, 1.0], [(10-1j), (20-5j)])
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, XPSSpectrum
from ncmsurf.io._table import (
    Table,
    TextFile,
    _numeric_share,
    find_column,
    find_table,
    looks_binary,
    split_fields,
    split_lines,
    split_name_unit,
)
from ncmsurf.io.registry import SimpleReader

__all__ = ["CYCLING_TEXT", "EDS_TEXT", "EIS_TEXT", "READERS", "SIMS_TEXT", "XPS_TEXT", "TextReadWarning",
           "convert_column", "eis_columns", "header_kind", "name_unit"]

_TEXT_EXT = (".csv", ".txt", ".tsv", ".dat", ".xy", ".asc")


class TextReadWarning(NcmsurfWarning):
    """A text table was read on an assumption the file does not state (e.g. which energy axis)."""


_PREFIX = {"": 1.0, "G": 1e9, "M": 1e6, "k": 1e3, "m": 1e-3, "u": 1e-6, "n": 1e-9}
#: The units a column header may state, per target unit (prefixes as listed): a plausible set only, so a
#: damaged unit in a header is an error rather than a silent factor.
_UNITS: dict[str, dict[str, float]] = {
    "Hz": {p + "Hz": f for p, f in _PREFIX.items() if p in ("", "k", "M", "m", "G")},
    "ohm": {p + "ohm": f for p, f in _PREFIX.items() if p in ("", "k", "M", "m", "G", "u")},
    "s": {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "min": 60.0, "h": 3600.0, "hr": 3600.0},
    "V": {p + "V": f for p, f in _PREFIX.items() if p in ("", "m", "u")},
    "A": {p + "A": f for p, f in _PREFIX.items() if p in ("", "m", "u", "n")},
    "eV": {"eV": 1.0, "keV": 1e3},
}


def convert_column(path: Path, values: np.ndarray, unit: str | None, target: str, name: str) -> np.ndarray:
    """Convert a column from its header unit to ``target`` (no unit: taken as ``target``).

    Only the plausible units of the quantity are accepted (``Hz``, ``kHz``,
    ``MHz``, ``mHz``; ``ohm``/``Ω`` with k, M, m, G, µ; ``s``, ``ms``,
    ``min``, ``h``; ``V``, ``mV``; ``A``, ``mA``, ``µA``, ``nA``; ``eV``), so a
    damaged unit is an error, never a silent factor.

    Raises
    ------
    ReadError
        For a unit that is not among them.

    Examples
    --------
    >>> import numpy as np
    >>> convert_column(Path("x"), np.array([1.0, 2.0]), "kΩ", "ohm", "Z'").tolist()
    [1000.0, 2000.0]
    >>> convert_column(Path("x"), np.array([1.0]), "MA", "A", "I")
    Traceback (most recent call last):
    ...
    ncmsurf.core.errors.ReadError: x: column 'I': unit 'MA' is not one of the units of A (...)
    """
    if unit is None:
        return values
    u = unit.strip().replace("Ω", "ohm").replace("µ", "u").replace("μ", "u")
    u = re.sub(r"(?i)ohms?$", "ohm", u)
    table = _UNITS.get(target)
    if table is None:  # pragma: no cover - every caller uses one of the targets above
        raise ReadError(path, None, f"column {name!r}: no units known for {target}")
    factor = table.get(u)
    if factor is None:
        raise ReadError(path, None, f"column {name!r}: unit {unit!r} is not one of the units of {target} "
                                    f"({', '.join(table)})")
    return values * factor if factor != 1.0 else values


# ------------------------------------------------------------------ header roles (used by sniffers too)
def name_unit(name: str) -> tuple[str, str | None, bool]:
    """(name, unit, negated) of a header field; ZPlot's ``Z'(a)``/``Z''(b)`` suffixes are not units.

    Examples
    --------
    >>> name_unit("-Z'' (kOhm)"), name_unit("Z''(b)")
    (("z''", 'kOhm', True), ("z''", None, False))
    """
    return _norm(name)


def _norm(name: str) -> tuple[str, str | None, bool]:
    """(lower-case role name, unit, negated) of a header field; ZPlot's ``(a)``/``(b)`` suffixes are not units."""
    n = name.strip().strip('"').strip()
    m = re.match(r"^(.*?)\s*\(([ab])\)\s*$", n)
    if m:
        base, unit = m.group(1), None
    else:
        base, unit = split_name_unit(n)
    base = base.strip()
    neg = base.startswith("-")
    if neg:
        base = base[1:].strip()
    return re.sub(r"\s+", " ", base.lower()), unit, neg


_EIS_F = [r"^freq(uency)?(\.| |$|\(|/)", r"^freq", r"^frequency", r"^f$"]
_EIS_RE = [r"^re\(z\)$", r"^z'$", r"^z ?re(al)?$", r"^z_re(al)?$", r"^re ?z$", r"^real$", r"^re$", r"^r$",
           r"^z ?real$"]
_EIS_IM = [r"^im\(z\)$", r"^z''$", r'^z"$', r"^z ?im(ag)?(inary)?$", r"^z_im(ag)?$", r"^im ?z$", r"^imag(inary)?$",
           r"^im$", r"^x$"]
_XPS_BE = [r"^binding( energy)?$", r"^b\.? ?e\.?$", r"^be$", r"^binding"]
_XPS_KE = [r"^kinetic( energy)?$", r"^k\.? ?e\.?$", r"^ke$", r"^kinetic"]
_XPS_E = [r"^energy$", r"^e$", r"^ev$", r"^energy"]
_XPS_I = [r"^counts?$", r"^cps$", r"^counts?/s$", r"^c/s$", r"^intensity", r"^intens", r"^signal", r"^y$",
          r"count"]
_TIME = [r"^test_?time", r"^time", r"^t$", r"total.?time", r"elapsed", r"^seconds$"]
_VOLT = [r"^voltage", r"^volts?$", r"^ewe$", r"^<ewe>$", r"^ecell$", r"^e$", r"^v$", r"potential", r"volt"]
_CURR = [r"^current", r"^amps?$", r"^i$", r"^<i>$", r"curr"]
_CYC = [r"^cycle", r"^cyc", r"cycle.?index", r"cycle.?number"]
_STEP = [r"^step_?index", r"^step$", r"^ns$", r"step"]
_ECHEM = re.compile(r"^(freq|frequency|f|time|t|test_?time|ewe|<ewe>|i|<i>|current|voltage|volts?|amps?|"
                    r"re\(z\)|im\(z\)|z'|z''|zre|zim|cycle number|ns|ox/red|control|q charge/discharge|"
                    r"\(q-qo\)|half cycle|mode|ox/red|ox|error|counter inc\.)$")


def _role(names: Sequence[str], patterns: Sequence[str], *, exclude: Sequence[int] = ()) -> list[int]:
    """Columns matching the first pattern that matches any column (best pattern first)."""
    cleaned = [_norm(n)[0] for n in names]
    for pat in patterns:
        rx = re.compile(pat, re.IGNORECASE)
        hits = [i for i, n in enumerate(cleaned) if i not in exclude and rx.search(n)]
        if hits:
            return hits
    return []


def eis_columns(names: Sequence[str]) -> tuple[int, int, int, bool] | None:
    """Indices of the frequency, Z′ and Z″ columns named in a header, and whether Z″ is negated (``-Z''``).

    ``None`` when one of them is missing or ambiguous (two candidates).

    Examples
    --------
    >>> eis_columns(["Freq(Hz)", "Ampl", "Bias", "Time(Sec)", "Z'(a)", "Z''(b)", "GD"])
    (0, 4, 5, False)
    >>> eis_columns(["Frequency (Hz)", "Z' (Ω)", "-Z'' (Ω)", "Z (Ω)"])
    (0, 1, 2, True)
    """
    f = _role(names, _EIS_F)
    if len(f) != 1:
        return None
    re_ = _role(names, _EIS_RE, exclude=f)
    if len(re_) != 1:
        return None
    im = _role(names, _EIS_IM, exclude=f + re_)
    if len(im) != 1:
        return None
    return f[0], re_[0], im[0], _norm(names[im[0]])[2]


def header_kind(names: Sequence[str]) -> str | None:
    """Which model a header describes: ``"eis"``, ``"cycling"``, ``"xps"``, or None (used by the sniffers).

    Examples
    --------
    >>> header_kind(["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"]), header_kind(["time/s", "Ewe/V", "I/mA"])
    ('eis', 'cycling')
    >>> header_kind(["Binding Energy (eV)", "Counts"]), header_kind(["mode", "ox/red", "Energy charge/W.h"])
    ('xps', 'cycling')
    """
    if not names:
        return None
    if _role(names, _EIS_F[:3]) and _role(names, _EIS_RE) and _role(names, _EIS_IM):
        return "eis"
    t = _role(names, _TIME)
    v = _role(names, _VOLT)
    c = _role(names, _CURR)
    echem = sum(1 for n in names if _ECHEM.match(_norm(n)[0]) or _ECHEM.match(n.strip().lower()))
    if (t and v and c) or echem >= 2:
        return "cycling"
    if (_role(names, _XPS_BE) or _role(names, _XPS_KE) or _role(names, _XPS_E)) and _role(names, _XPS_I):
        return "xps"
    return None


def _head_text(head: bytes) -> str:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace")
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError:
        return head.decode("cp1252", errors="replace")


def _sniff_table(path: Path, head: bytes) -> tuple[str | None, int, bool] | None:
    """(header kind, columns, has header) of the table in the first bytes, or None; tolerant of damage.

    A header line is recognised by its names (:func:`header_kind`); a table without one only when the
    file starts with rows of numbers.
    """
    if looks_binary(head):
        return None
    text = _head_text(head)
    if len(head) >= 65536 and "\n" in text:
        text = text[: text.rfind("\n")]
    lines = [ln for ln in split_lines(text)[:300] if ln.strip(" \t")]
    for ln in lines[:200]:
        for d in ("\t", ";", ","):
            if d in ln:
                f = split_fields(ln.lstrip("#"), d)
                if len(f) >= 2 and (kind := header_kind(f)) is not None:
                    return kind, len(f), True
        f = [t for t in re.split(r"\t| {2,}", ln.lstrip("#").strip()) if t]
        if len(f) >= 2 and (kind := header_kind(f)) is not None:
            return kind, len(f), True
    delims: tuple[str | None, ...] = ("\t", ";", ",", None)
    for dl in delims:
        fields = [split_fields(ln, dl) for ln in lines[:200]]
        ok = [bool((ns := _numeric_share(f))[0]) and ns[0] == ns[1] for f in fields]
        for k in range(len(fields)):
            run = fields[k:k + 3]
            if run and all(ok[k:k + 3]) and len({len(f) for f in run}) == 1:
                return None, len(fields[k]), k > 0
    return None


def _text_table(path: Path, min_columns: int) -> Table:
    return find_table(TextFile.open(path), min_columns=min_columns)


def _pick(path: Path, table: Table, role: str, patterns: Sequence[str], columns: Mapping[str, str] | None,
          *, exclude: Sequence[int] = ()) -> int:
    """The column for a required ``role`` (see :func:`_pick_opt`)."""
    k = _pick_opt(path, table, role, patterns, columns, exclude=exclude, required=True)
    assert k is not None
    return k


def _pick_opt(path: Path, table: Table, role: str, patterns: Sequence[str], columns: Mapping[str, str] | None,
              *, exclude: Sequence[int] = (), required: bool = False) -> int | None:
    """The column for ``role``: the one ``columns`` names, else the single best match of ``patterns``."""
    names = table.names
    if columns and role in columns:
        want = str(columns[role])
        if want not in names:
            raise ReadError(path, table.header_line, f"column {want!r} (for {role}) not in the header {names}")
        return names.index(want)
    hits = [i for i in _role(table.header_names if table.header_line is not None else names, patterns,
                             exclude=exclude) if table.kinds[names[i]] != "empty"]
    if len(hits) > 1:
        raise ReadError(path, table.header_line, f"several columns could be the {role}: "
                                                 f"{[names[i] for i in hits]}; pass columns={{'{role}': ...}}")
    if not hits:
        if required:
            raise ReadError(path, table.header_line, f"no {role} column in the header {names}; "
                                                     f"pass columns={{'{role}': '<header name>'}}")
        return None
    return hits[0]


def _unit(table: Table, i: int) -> tuple[str | None, bool]:
    """Unit and negation of column ``i`` (a ``(a)``/``(b)`` suffix is not a unit)."""
    base, unit, neg = _norm(table.header_names[i]) if table.header_line is not None else ("", None, False)
    del base
    u = table.units[i] if table.units_line is not None else unit
    return (str(u) if u is not None else None), neg


def _reject_other_kind(path: Path, table: Table, mine: str) -> None:
    kind = header_kind(table.header_names) if table.header_line is not None else None
    if kind is not None and kind != mine:
        raise ReadError(path, table.header_line, f"the header {table.names[:8]} describes a {kind} table, not {mine}")


# ------------------------------------------------------------------- XPS
def _sniff_xps(path: Path, head: bytes) -> float:
    got = _sniff_table(path, head)
    if got is None:
        return 0.0
    kind, ncols, has_header = got
    if kind == "xps":
        return 0.4
    if not has_header and ncols == 2:
        return 0.15 + (0.05 if path.suffix.lower() in (".xy", ".txt") else 0)
    return 0.0


def _read_xps(path: Path, *, region: str | None = None, sample: Any = None, excitation_energy: float | None = None,
              energy: str | None = None, columns: Mapping[str, str] | None = None) -> list[XPSSpectrum]:
    """Energy and intensity columns (binding energy axis preferred; ``energy="kinetic"`` for a bare ``Energy``)."""
    hv_source = "default" if excitation_energy is None else "user"
    excitation_energy = 1486.6 if excitation_energy is None else excitation_energy
    if energy not in (None, "binding", "kinetic"):
        raise ReadError(path, None, f"energy must be 'binding' or 'kinetic', got {energy!r}")
    table = _text_table(path, 2)
    _reject_other_kind(path, table, "xps")
    names = table.names
    meta: dict[str, Any] = {"source_file": str(path), "format": "text", "header": table.header_lines[-20:],
                            "table": table.layout(), "excitation_energy_source": hv_source}
    by_position = table.header_line is None and not columns
    ie: int | None
    if by_position:
        numeric = [i for i, n in enumerate(names) if table.kinds[n] == "number"]
        if len(numeric) != 2:
            raise ReadError(path, table.first_line, f"no header naming the columns, and {len(numeric)} numeric "
                                                    "columns: only a two-column table (energy, intensity) is read "
                                                    "by position; pass columns={'energy': ..., 'intensity': ...}")
        ie, ii = numeric[0], numeric[1]
        axis = energy or "binding"
        meta["columns_by_position"] = True
        if energy is None:
            meta["energy_axis_note"] = "binding energy (no header: the convention for two-column XPS text)"
    else:
        ie = None
        axis = ""
        if columns and "energy" in columns:
            ie = _pick(path, table, "energy", [], columns)
            axis = energy or ("kinetic" if _role([table.header_names[ie]], _XPS_KE) else "binding")
        else:
            be = _role(table.header_names, _XPS_BE)
            ke = _role(table.header_names, _XPS_KE)
            if be:
                ie, axis = be[0], "binding"
                if len(be) > 1:
                    raise ReadError(path, table.header_line, f"several binding-energy columns "
                                                             f"{[names[i] for i in be]}; pass columns=")
                if ke:
                    meta["energy_axis_choice"] = f"binding-energy column {names[ie]!r} (the file also has the " \
                                                 f"kinetic-energy column {names[ke[0]]!r})"
            elif ke:
                ie, axis = ke[0], "kinetic"
                if len(ke) > 1:
                    raise ReadError(path, table.header_line, f"several kinetic-energy columns "
                                                             f"{[names[i] for i in ke]}; pass columns=")
            else:
                ge = _role(table.header_names, _XPS_E)
                if not ge:
                    raise ReadError(path, table.header_line, f"no energy column in the header {names}; "
                                                             "pass columns={'energy': ...}")
                if len(ge) > 1:
                    raise ReadError(path, table.header_line, f"several energy columns {[names[i] for i in ge]}; "
                                                             "pass columns={'energy': ...}")
                ie = ge[0]
                axis = energy or "binding"
                if energy is None:
                    meta["energy_axis_assumed"] = f"binding (the header says only {names[ie]!r})"
            if energy is not None and energy != axis and axis and meta.get("energy_axis_assumed") is None:
                raise ReadError(path, table.header_line, f"energy={energy!r} but the header names column "
                                                         f"{names[ie]!r} a {axis} energy")
        if ie is None:  # pragma: no cover - every branch above sets it or raises
            raise ReadError(path, table.header_line, "no energy column")
        if columns and "intensity" in columns:
            ii = _pick(path, table, "intensity", [], columns)
        else:
            cands = sorted({i for pat in _XPS_I for i in _role(table.header_names, [pat])
                            if table.kinds[names[i]] == "number"})
            after = [i for i in cands if i > ie]
            if after:
                ii = after[0]
            elif cands:
                ii = cands[0]
            else:
                numeric = [i for i, n in enumerate(names) if table.kinds[n] == "number" and i != ie]
                if len(numeric) != 1:
                    raise ReadError(path, table.header_line, f"no intensity column in the header {names}; "
                                                             "pass columns={'intensity': ...}")
                ii = numeric[0]
    if "energy_axis_assumed" in meta:
        import warnings

        warnings.warn(f"{path}: energy axis taken as {meta['energy_axis_assumed']}; pass energy='kinetic' if it "
                      "is a kinetic energy", TextReadWarning, stacklevel=3)
    eunit = _unit(table, ie)[0]
    e = convert_column(path, table.column(ie), eunit, "eV", names[ie])
    inten = table.column(ii)
    units = "counts/s" if re.search(r"cps|/s\b|c/s", table.header_names[ii] if not by_position else "", re.I) \
        else "counts"
    extra = table.optional(exclude=[ie, ii])
    if extra:
        meta["extra_columns"] = extra
    meta["energy_column"] = names[ie]
    meta["intensity_column"] = names[ii]
    meta["energy_axis"] = axis
    be_arr = excitation_energy - e if axis == "kinetic" else e
    try:
        spec = XPSSpectrum(be_arr, inten, region=region, sample=sample, meta=meta,
                           excitation_energy=excitation_energy, units=units)
    except ValidationError as exc:
        raise ReadError(path, table.first_line, str(exc)) from exc
    return [spec]


XPS_TEXT = SimpleReader("xps-text", "xps", _TEXT_EXT, _sniff_xps, _read_xps,
                        "two-column energy/intensity text or CSV (header names optional)")


# ------------------------------------------------------------------- EIS
def _sniff_eis(path: Path, head: bytes) -> float:
    got = _sniff_table(path, head)
    if got is None:
        return 0.0
    kind, ncols, has_header = got
    if kind == "eis":
        return 0.35
    if not has_header and ncols == 3:
        return 0.2
    return 0.0


def _read_eis(path: Path, *, sample: Any = None, area: Any = None, normalize: bool = True,
              columns: Mapping[str, str] | None = None) -> list[ImpedanceSpectrum]:
    """Read f, Z', Z''; with ``area`` (cm²) the result is in ohm·cm² unless ``normalize=False``."""
    table = _text_table(path, 3)
    _reject_other_kind(path, table, "eis")
    names = table.names
    meta: dict[str, Any] = {"source_file": str(path), "format": "text", "table": table.layout()}
    if table.header_line is None and not columns:
        numeric = [i for i, n in enumerate(names) if table.kinds[n] == "number"]
        if len(numeric) != 3:
            raise ReadError(path, table.first_line, f"no header naming the columns, and {len(numeric)} numeric "
                                                    "columns: only a three-column table (f, Z', Z'') is read by "
                                                    "position; pass columns={'frequency': ..., 'real part': ..., "
                                                    "'imaginary part': ...}")
        i_f, i_re, i_im = numeric[:3]
        neg = False
        meta["columns_by_position"] = True
    else:
        i_f = _pick(path, table, "frequency", _EIS_F, columns)
        i_re = _pick(path, table, "real part", _EIS_RE, columns, exclude=[i_f])
        i_im = _pick(path, table, "imaginary part", _EIS_IM, columns, exclude=[i_f, i_re])
        neg = _unit(table, i_im)[1] if table.header_line is not None else False
        if _unit(table, i_re)[1]:
            raise ReadError(path, table.header_line, f"column {names[i_re]!r}: a negated real part is not expected")
    f = convert_column(path, table.column(i_f), _unit(table, i_f)[0], "Hz", names[i_f])
    zr = convert_column(path, table.column(i_re), _unit(table, i_re)[0], "ohm", names[i_re])
    zi = convert_column(path, table.column(i_im), _unit(table, i_im)[0], "ohm", names[i_im])
    if neg:
        zi = -zi
        meta["imaginary_sign"] = f"column {names[i_im]!r} holds -Z'' (negated)"
    bad = np.flatnonzero(~(f > 0))
    if bad.size:
        raise ReadError(path, int(table.line_numbers[bad[0]]), f"frequency must be > 0 Hz, got {f[bad[0]]}")
    order = np.argsort(f, kind="stable")
    dup = np.flatnonzero(np.diff(f[order]) == 0)
    if dup.size:
        k = int(max(order[dup[0]], order[dup[0] + 1]))
        raise ReadError(path, int(table.line_numbers[k]), f"duplicate frequency {f[k]} Hz")
    extra = table.optional(exclude=[i_f, i_re, i_im])
    if extra:
        meta["extra_columns"] = extra
    meta["columns"] = {"frequency": names[i_f], "real": names[i_re], "imaginary": names[i_im]}
    try:
        spec = ImpedanceSpectrum(f, zr + 1j * zi, sample=sample, area=area, meta=meta)
    except ValidationError as exc:
        raise ReadError(path, table.first_line, str(exc)) from exc
    return [spec.area_normalized() if normalize and spec.area is not None else spec]


EIS_TEXT = SimpleReader("eis-text", "eis", _TEXT_EXT, _sniff_eis, _read_eis,
                        "frequency, Z', Z'' delimited text or CSV by header names (Z'(a)/Z''(b) too; '-Z''' is "
                        "negated); a header-less file by position")


# --------------------------------------------------------------- cycling
def _sniff_cycling(path: Path, head: bytes) -> float:
    got = _sniff_table(path, head)
    if got is None:
        return 0.0
    kind, ncols, has_header = got
    if kind == "cycling":
        return 0.35
    # any table of >= 3 numeric columns: a user may map the columns by hand
    return 0.05 if ncols >= 3 and kind is None else 0.0


def _read_cycling(path: Path, *, sample: Any = None, mass: Any = None,
                  columns: Mapping[str, str] | None = None, current_sign: float = 1.0) -> list[CyclingData]:
    """Generic cycling CSV; ``columns`` maps role (time, voltage, current, cycle, step) → header name."""
    table = _text_table(path, 3)
    names = table.names
    roles: dict[str, int | None] = {}
    used: list[int] = []
    for role, pats, req in (("time", _TIME, True), ("voltage", _VOLT, True), ("current", _CURR, True),
                            ("cycle", _CYC, False), ("step", _STEP, False)):
        if table.header_line is None and not (columns and role in columns):
            if req:
                raise ReadError(path, table.first_line, "a cycling table needs a header naming time, voltage and "
                                                        "current (or columns={...})")
            roles[role] = None
            continue
        k = _pick_opt(path, table, role, pats, columns, exclude=used, required=req)
        roles[role] = k
        if k is not None:
            used.append(k)

    def col(role: str, target: str) -> np.ndarray:
        k = roles[role]
        assert k is not None
        return convert_column(path, table.column(k), table.units[k], target, names[k])

    t = col("time", "s")
    bad = np.flatnonzero(np.diff(t) < 0)
    if bad.size:
        j = int(bad[0]) + 1
        raise ReadError(path, int(table.line_numbers[j]), f"time decreases ({t[j]} s after {t[j - 1]} s); "
                                                          "records must be in time order")
    extra: dict[str, np.ndarray] = {}
    extra_units: dict[str, str] = {}
    # keys from every candidate column (kept or dropped), so that a dropped column never renames another
    keys: dict[str, str] = {}
    for k, n in enumerate(names):
        if k in used or table.kinds[n] != "number":
            continue
        key = re.sub(r"\W+", "_", split_name_unit(n)[0]).strip("_") or f"col{k}"
        while key in keys.values() or key in ("time", "voltage", "current", "cycle", "step"):
            key += "_"
        keys[n] = key
    for n, arr in table.optional(exclude=used).items():
        key = keys[n]
        extra[key] = arr
        extra_units[key] = split_name_unit(n)[1] or "1"
    ints: dict[str, np.ndarray] = {}
    for role in ("cycle", "step"):
        kk = roles[role]
        if kk is not None:
            ints[role] = table.integers(kk)
    meta = {"source_file": str(path), "format": "text", "rows_read": table.nrows, "table": table.layout(),
            "columns": {r: names[k] for r, k in roles.items() if k is not None}}
    data = CyclingData(t, col("voltage", "V"), current_sign * col("current", "A"), cycle=ints.get("cycle"),
                       step=ints.get("step"), mass=mass, sample=sample, meta=meta, columns=extra,
                       column_units=extra_units)
    return [data]


CYCLING_TEXT = SimpleReader("cycling-text", "cycling", _TEXT_EXT, _sniff_cycling, _read_cycling,
                            "delimited cycler export with time, voltage, current (+ cycle, step) columns")


# ------------------------------------------------------------------ SIMS
_FRAGMENT = re.compile(r"^[A-Z][A-Za-z0-9]*[-+]$")


def _sniff_sims(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    txt = _head_text(head)
    for ln in split_lines(txt)[:60]:
        toks = [t.strip() for t in re.split(r"[\t,;]", ln) if t.strip()]
        frag = sum(1 for t in toks if _FRAGMENT.match(split_name_unit(t)[0]))
        if frag >= 1 and any(re.search(r"time|sputter|depth", t, re.I) for t in toks):
            return 0.35
    return 0.0


def _read_sims(path: Path, *, sample: Any = None, sputter_rate: Any = None) -> list[DepthProfile]:
    """A sputter-time column and one intensity column per fragment (every column complete)."""
    table = _text_table(path, 2)
    names = table.names
    if table.header_line is None:
        raise ReadError(path, table.first_line, "a depth profile needs a header naming the fragments")
    it = find_column(table.header_names, [r"sputter.?time", r"^time", r"^t$"])
    if it is None:
        raise ReadError(path, table.header_line, f"no sputter time column in header {names}")
    t = convert_column(path, table.column(it), table.units[it], "s", names[it])
    frags = {}
    for k, n in enumerate(names):
        if k == it or table.kinds[n] == "empty":
            continue
        frags[split_name_unit(n)[0]] = table.column(k)  # every fragment column must be complete
    meta = {"source_file": str(path), "format": "text", "table": table.layout()}
    try:
        return [DepthProfile(t, frags, sample=sample, sputter_rate=sputter_rate, meta=meta)]
    except ValidationError as exc:
        raise ReadError(path, table.first_line, str(exc)) from exc


SIMS_TEXT = SimpleReader("sims-text", "sims", _TEXT_EXT, _sniff_sims, _read_sims,
                         "sputter time column plus one intensity column per fragment (e.g. 'NiF3-')")


# ------------------------------------------------------------------- EDS
def _sniff_eds(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    txt = _head_text(head)
    for ln in split_lines(txt)[:20]:
        toks = [t.strip().lower() for t in re.split(r"[\t,;]", ln) if t.strip()]
        if len(toks) >= 3 and toks[0] in ("x", "col", "column") and toks[1] in ("y", "row"):
            return 0.35
        if len(toks) >= 3 and toks[0] in ("y", "row") and toks[1] in ("x", "col", "column"):
            return 0.35
    return 0.0


def _read_eds(path: Path, *, sample: Any = None, pixel_size: Any = None) -> list[ElementMap]:
    """Long-format maps: columns x, y and one count column per element, a row per pixel."""
    table = _text_table(path, 3)
    names = table.names
    if table.header_line is None:
        raise ReadError(path, table.first_line, "an element-map table needs a header (x, y, elements)")
    ix = find_column(table.header_names, [r"^x$", r"^col(umn)?$"])
    iy = find_column(table.header_names, [r"^y$", r"^row$"])
    if ix is None or iy is None:
        raise ReadError(path, table.header_line, f"no x/y pixel columns in header {names}")
    x = table.column(ix)
    y = table.column(iy)
    for arr, nm in ((x, "x"), (y, "y")):
        bad = np.flatnonzero((arr != np.round(arr)) | (arr < 0))
        if bad.size:
            raise ReadError(path, int(table.line_numbers[bad[0]]), f"{nm} must be a non-negative pixel index")
    xi = x.astype(np.int64)
    yi = y.astype(np.int64)
    ny, nx = int(yi.max()) + 1, int(xi.max()) + 1
    if ny * nx > 4 * max(x.size, 1):
        raise ReadError(path, None, f"pixel indices up to ({ny - 1}, {nx - 1}) for {x.size} rows: "
                                    "the map would be mostly missing")
    flat = yi * nx + xi
    counts = np.bincount(flat, minlength=ny * nx)
    if np.any(counts > 1):
        dup = np.flatnonzero(counts[flat] > 1)
        j = int(dup[1] if dup.size > 1 else dup[0])
        raise ReadError(path, int(table.line_numbers[j]), "pixel listed twice")
    if np.any(counts == 0):
        missing = int(np.flatnonzero(counts == 0)[0])
        raise ReadError(path, None, f"pixel (y={missing // nx}, x={missing % nx}) missing from the map")
    maps = {}
    for k, n in enumerate(names):
        if k in (ix, iy) or table.kinds[n] == "empty":
            continue
        grid = np.empty(ny * nx)
        grid[flat] = table.column(k)
        maps[split_name_unit(n)[0]] = grid.reshape(ny, nx)
    meta = {"source_file": str(path), "format": "text", "table": table.layout()}
    try:
        return [ElementMap(maps, pixel_size=pixel_size, sample=sample, meta=meta)]
    except ValidationError as exc:
        raise ReadError(path, table.first_line, str(exc)) from exc


EDS_TEXT = SimpleReader("eds-text", "eds", _TEXT_EXT, _sniff_eds, _read_eds,
                        "one row per pixel: x, y and a count column per element")

READERS = [XPS_TEXT, EIS_TEXT, CYCLING_TEXT, SIMS_TEXT, EDS_TEXT]
"""Readers registered under the ``text`` entry point."""
