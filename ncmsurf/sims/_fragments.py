"""Secondary-ion names, isotope masses and the fragment table (private).

Fragment names are read in the notations instruments and people write them:

- plain formulas with a trailing charge: ``"AlO2-"``, ``"NiF3^-"``, ``"C2HO-"``;
- a leading mass number for an isotope: ``"6Li+"``, ``"60NiO2-"``, ``"58Ni-"``;
- IONTOF SurfaceLab labels: ``_n`` subscripts and ``^A`` isotope marks anywhere
  (``"Ag_3+"``, ``"^119Sn+"``, ``"^13CC_25H_21N_2+"``, ``"Sn^118SnI_5-"``),
  peak groups summed into one column (``"^118SnI_3-SnI_3-"``,
  ``"^206PbI_3-, ^207PbI_3-PbI_3-"``) and ratio columns (``"Sn+ / ( Pb+ )"``);
- multiply charged ions with a caret: ``"Fe^2+"``.

:func:`normalize_name` turns any of them into one canonical spelling (counts as
plain digits, a leading isotope as plain digits, an inner isotope as ``^A``,
group members joined by ``", "``), and :func:`parse_formula` into element
(or isotope) counts and the charge. Masses are exact: each element at its most
abundant isotope, each marked isotope at its own mass, from the AME2020 table
shipped in ``_data/isotopes.json`` (with its reference).

Examples
--------
>>> normalize_name("^13CC_25H_21N_2+")
'13CC25H21N2+'
>>> parse_formula("60NiO2-")
({'60Ni': 1, 'O': 2}, -1)
>>> round(fragment_mass("60NiO2-", warn=False), 4)
91.9212
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable
from importlib import resources

import pandas as pd

from ncmsurf.core.errors import NcmsurfWarning, ValidationError

__all__ = ["FRAGMENTS", "ISOTOPES", "ISOTOPE_MASS", "CloseMassWarning", "check_fragments", "close_pairs",
           "fragment_mass", "fragment_table", "is_ratio", "isotope_mass", "normalize_name", "parse_formula",
           "ratio_terms", "split_group"]

ELECTRON_MASS = 0.000548579909065
"""Electron mass, u (CODATA 2018)."""


def _load_isotopes() -> tuple[dict[str, tuple[tuple[int, float, float], ...]], str]:
    raw = resources.files("ncmsurf.sims._data").joinpath("isotopes.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    table = {str(el): tuple((int(a), float(m), float(x)) for a, m, x in rows) for el, rows in doc["isotopes"].items()}
    return table, str(doc["reference"])


ISOTOPES, ISOTOPE_REFERENCE = _load_isotopes()
"""Element symbol → ((mass number, mass in u, natural abundance), ...) for the naturally occurring isotopes."""

ISOTOPE_MASS: dict[str, float] = {el: max(rows, key=lambda r: r[2])[1] for el, rows in ISOTOPES.items()}
"""Mass of the most abundant isotope of each element, u (AME2020)."""

FRAGMENTS: dict[str, tuple[str, str]] = {
    # name: (role, what it traces)
    "Li-": ("bulk", "lithium"),
    "LiF2-": ("surface", "LiF in the CEI / fluoride coating"),
    "F-": ("surface", "fluorides"),
    "O-": ("bulk", "oxygen"),
    "OH-": ("surface", "hydroxides, adsorbed water"),
    "NiO-": ("bulk", "NCM lattice"),
    "NiO2-": ("bulk", "NCM lattice"),
    "MnO2-": ("bulk", "NCM lattice"),
    "CoO2-": ("bulk", "NCM lattice"),
    "NiF3-": ("surface", "transition-metal fluorides (F(n) coating, CEI)"),
    "MnF3-": ("surface", "transition-metal fluorides"),
    "CoF2-": ("surface", "transition-metal fluorides"),
    "Co-": ("bulk", "cobalt"),
    "POF2-": ("surface", "LiPF6 decomposition (LixPOyFz)"),
    "PO2-": ("surface", "phosphates"),
    "PO3-": ("surface", "phosphates"),
    "PF6-": ("surface", "LiPF6 salt"),
    "C2HO-": ("surface", "organic CEI species"),
    "C2F-": ("surface", "PVDF binder, fluorinated organics"),
    "CO3-": ("surface", "carbonates"),
    "C2H-": ("surface", "hydrocarbons"),
    "AlO-": ("coating", "Al2O3 coating"),
    "AlO2-": ("coating", "Al2O3 / LiAlO2 coating"),
    "AlF4-": ("coating", "AlF3 coating"),
    "LiAlO2-": ("coating", "LiAlO2 coating"),
}
"""Fragments commonly followed in cathode depth profiles: name → (role, what it traces)."""

# one element token: optional isotope (^A, or bare A at the very start), symbol, optional count (_n or n)
_TOKEN = re.compile(r"(?:\^(\d+)|(?<![A-Za-z0-9_])(\d+))?([A-Z][a-z]?)(?:_?(\d+))?")
_CHARGE = re.compile(r"(\^(\d*))?([+-])$")
# a group member ends at a charge sign that is followed by the next member
_MEMBER_SPLIT = re.compile(r"(?<=[+-])(?=[\^A-Z0-9])")


class CloseMassWarning(NcmsurfWarning):
    """Two fragments lie so close in mass that a low-resolution profile may mix them."""


def isotope_mass(symbol: str, mass_number: int | None = None) -> float:
    """Atomic mass of an isotope (default: the most abundant one), u.

    Examples
    --------
    >>> isotope_mass("Ni", 60)
    59.9307851
    >>> isotope_mass("Ni") == isotope_mass("Ni", 58)
    True
    """
    rows = ISOTOPES.get(symbol)
    if rows is None:
        raise ValidationError(f"unknown element {symbol!r}")
    if mass_number is None:
        return ISOTOPE_MASS[symbol]
    for a, m, _x in rows:
        if a == mass_number:
            return m
    known = ", ".join(str(a) for a, _m, _x in rows)
    raise ValidationError(f"{mass_number}{symbol} is not a naturally occurring isotope (known: {known})")


def _top_level_ratio(label: str) -> tuple[str, str] | None:
    """(numerator, denominator) of a ``"A / ( B )"`` label at parenthesis depth 0, else None."""
    s = label.strip()
    depth = 0
    for i, ch in enumerate(s):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "/" and depth == 0:
            num, den = s[:i].strip(), s[i + 1:].strip()
            if den.startswith("(") and den.endswith(")"):
                den = den[1:-1].strip()
            if num and den:
                return num, den
            return None
    return None


def is_ratio(label: str) -> bool:
    """True for a ratio column label such as ``"Sn+ / ( Pb+ )"``.

    Examples
    --------
    >>> is_ratio("Sn+ / ( Pb+ )"), is_ratio("Sn+")
    (True, False)
    """
    return _top_level_ratio(label) is not None


def ratio_terms(label: str) -> tuple[str, str]:
    """Canonical numerator and denominator of a ratio label.

    Examples
    --------
    >>> ratio_terms("Cs_3I_2+ / ( ^13CH_5N_2+ )")
    ('Cs3I2+', '13CH5N2+')
    """
    parts = _top_level_ratio(label)
    if parts is None:
        raise ValidationError(f"{label!r} is not a ratio label 'A / ( B )'")
    return normalize_name(parts[0]), normalize_name(parts[1])


def split_group(label: str) -> list[str]:
    """The canonical members of a (possibly summed) peak label.

    Examples
    --------
    >>> split_group("^206PbI_3-, ^207PbI_3-PbI_3-")
    ['206PbI3-', '207PbI3-', 'PbI3-']
    >>> split_group("NiO2-")
    ['NiO2-']
    """
    out: list[str] = []
    for part in label.split(","):
        part = part.strip()
        if not part:
            continue
        for member in _MEMBER_SPLIT.split(part):
            if member:
                out.append(_normalize_one(member))
    return out


def _tokens(body: str) -> list[tuple[int | None, str, int]] | None:
    """(mass number or None, symbol, count) for each element of a formula body, or None."""
    out: list[tuple[int | None, str, int]] = []
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if m is None or m.end() == pos:
            return None
        iso_caret, iso_lead, sym, cnt = m.groups()
        if iso_lead is not None and pos != 0:
            return None
        if sym not in ISOTOPES and len(sym) == 2 and sym[0] in ISOTOPES:
            return None  # e.g. "Cx": no such element
        mass_number = int(iso_caret or iso_lead) if (iso_caret or iso_lead) else None
        out.append((mass_number, sym, int(cnt) if cnt else 1))
        pos = m.end()
    return out or None


def _split_charge(label: str) -> tuple[str, int] | None:
    m = _CHARGE.search(label)
    if m is None:
        return None
    mult = int(m.group(2)) if m.group(1) and m.group(2) else 1
    return label[: m.start()], (1 if m.group(3) == "+" else -1) * mult


def _normalize_one(label: str) -> str:
    s = label.strip()
    parsed = _split_charge(s)
    if parsed is None:
        return s
    body, charge = parsed
    toks = _tokens(body)
    if toks is None:
        return s
    text = ""
    for i, (a, sym, n) in enumerate(toks):
        if a is not None:
            text += f"{a}" if i == 0 else f"^{a}"
        text += sym + (str(n) if n != 1 else "")
    sign = "+" if charge > 0 else "-"
    return text + (sign if abs(charge) == 1 else f"^{abs(charge)}{sign}")


def normalize_name(label: str) -> str:
    """The canonical spelling of a fragment, peak-group or ratio label (other text is returned stripped).

    Examples
    --------
    >>> normalize_name("Ag_3+"), normalize_name("^119Sn+"), normalize_name("NiF3^-")
    ('Ag3+', '119Sn+', 'NiF3-')
    >>> normalize_name("^118SnI_3-SnI_3-")
    '118SnI3-, SnI3-'
    >>> normalize_name("Sn+ / ( Pb+ )")
    'Sn+ / ( Pb+ )'
    >>> normalize_name("total")
    'total'
    """
    s = " ".join(str(label).split())
    ratio = _top_level_ratio(s)
    if ratio is not None:
        num, den = ratio
        return f"{normalize_name(num)} / ( {normalize_name(den)} )"
    members = split_group(s)
    if not members:
        return s
    return ", ".join(members)


def parse_formula(name: str) -> tuple[dict[str, int], int]:
    """Element (or isotope) counts and charge of one fragment.

    Keys are element symbols (most abundant isotope) or ``"<A><symbol>"`` for
    a marked isotope (``"60Ni"``).

    Raises
    ------
    ValidationError
        For a ratio, a group of several peaks, an unknown element or isotope,
        or text that is not a formula with a charge.

    Examples
    --------
    >>> parse_formula("C2HO-")
    ({'C': 2, 'H': 1, 'O': 1}, -1)
    >>> parse_formula("^13CC_25H_21N_2+")
    ({'13C': 1, 'C': 25, 'H': 21, 'N': 2}, 1)
    """
    s = str(name).strip()
    if _top_level_ratio(s) is not None:
        raise ValidationError(f"fragment {name!r}: a ratio of two signals, not one formula")
    members = split_group(s) if s else []
    if len(members) > 1:
        raise ValidationError(f"fragment {name!r}: a sum of {len(members)} peaks ({', '.join(members)}), "
                              "not one formula")
    parsed = _split_charge(s)
    if parsed is None:
        raise ValidationError(f"fragment {name!r}: expected a formula with a trailing charge sign, e.g. 'AlO2-'")
    body, charge = parsed
    toks = _tokens(body)
    if toks is None:
        bad = next((t for t in re.findall(r"[A-Z][a-z]?", body) if t not in ISOTOPES), None)
        if bad is not None:
            raise ValidationError(f"fragment {name!r}: unknown element {bad!r}")
        raise ValidationError(f"fragment {name!r}: cannot parse the formula {body!r}")
    counts: dict[str, int] = {}
    for a, sym, n in toks:
        if sym not in ISOTOPES:
            raise ValidationError(f"fragment {name!r}: unknown element {sym!r}")
        key = sym
        if a is not None:
            isotope_mass(sym, a)  # raises for an isotope that does not occur naturally
            key = f"{a}{sym}"
        counts[key] = counts.get(key, 0) + n
    return counts, charge


def _key_mass(key: str) -> float:
    m = re.fullmatch(r"(\d+)([A-Z][a-z]?)", key)
    if m:
        return isotope_mass(m.group(2), int(m.group(1)))
    return ISOTOPE_MASS[key]


def fragment_mass(name: str, *, tolerance: float = 0.05, warn: bool = True) -> float:
    """Exact mass of a fragment ion, u.

    Each element at its most abundant isotope, each marked isotope (``60Ni``,
    ``^13C``) at its own mass (AME2020), minus one electron mass per positive
    charge (plus one per negative charge). Warns (:class:`CloseMassWarning`)
    when another fragment of the table lies within ``tolerance`` u.

    Examples
    --------
    >>> round(fragment_mass("NiF3-"), 4)
    114.9311
    >>> round(fragment_mass("6Li+", warn=False), 4)
    6.0146
    """
    counts, charge = parse_formula(name)
    m = math.fsum(_key_mass(k) * n for k, n in counts.items()) - charge * ELECTRON_MASS
    if warn:
        _warn_close([name], tolerance)
    return float(m)


def close_pairs(names: Iterable[str] | None = None, *, tolerance: float = 0.05) -> list[tuple[str, str, float]]:
    """Pairs of fragments (from ``names`` and the table) closer than ``tolerance`` u.

    Names that are not single formulas (ratios, peak groups, ``"total"``) are skipped.

    Returns
    -------
    list of (name, neighbour, Δm in u)
        Δm is 0 for two names of the same composition (``"NiF3-"``, ``"NiF3^-"``).

    Examples
    --------
    >>> [(a, b) for a, b, _ in close_pairs(["AlO-", "AlO2-"])]
    [('AlO-', 'C2F-'), ('AlO2-', 'Co-')]
    """
    given = list(names) if names is not None else None
    pool_all = list(dict.fromkeys(list(FRAGMENTS) + list(given or [])))
    masses: dict[str, float] = {}
    charges: dict[str, int] = {}
    for n in pool_all:
        try:
            counts, charge = parse_formula(n)
        except ValidationError:
            continue
        masses[n] = math.fsum(_key_mass(k) * c for k, c in counts.items()) - charge * ELECTRON_MASS
        charges[n] = charge
    pool = [n for n in pool_all if n in masses]
    targets = [n for n in given if n in masses] if given is not None else pool
    out: list[tuple[str, str, float]] = []
    seen: set[frozenset[str]] = set()
    for a in targets:
        for b in pool:
            if a == b or frozenset((a, b)) in seen:
                continue
            if (charges[a] > 0) != (charges[b] > 0):
                continue
            dm = abs(masses[a] - masses[b])
            if dm < tolerance:
                seen.add(frozenset((a, b)))
                out.append((a, b, dm))
    return out


def _warn_close(names: Iterable[str], tolerance: float) -> None:
    for a, b, dm in close_pairs(list(names), tolerance=tolerance):
        ma = fragment_mass(a, warn=False)
        mb = fragment_mass(b, warn=False)
        if dm == 0.0:
            msg = (f"{a} and {b} have the same composition ({ma:.4f} u): no mass resolution separates them; "
                   "they are one signal")
        else:
            msg = (f"{a} ({ma:.4f} u) and {b} ({mb:.4f} u) differ by {dm:.4f} u: "
                   f"a mass resolution m/Δm above {ma / dm:.0f} is needed to separate them")
        warnings.warn(msg, CloseMassWarning, stacklevel=3)


def check_fragments(names: Iterable[str] | object, *, tolerance: float = 0.05) -> None:
    """Warn for every fragment in ``names`` (or a DepthProfile) that has a close-mass neighbour.

    Names that are not single formulas are skipped.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     check_fragments(["AlO2-"])
    >>> "Co-" in str(w[0].message)
    True
    """
    frags: Iterable[str] = getattr(names, "fragments", names)  # type: ignore[arg-type]
    _warn_close(list(frags), tolerance)


def fragment_table(*, tolerance: float = 0.05) -> pd.DataFrame:
    """The fragment table: formula, charge, exact mass, role and close-mass neighbours.

    Examples
    --------
    >>> t = fragment_table()
    >>> t.loc["AlO-", "close_to"]
    'C2F-'
    """
    pairs = close_pairs(None, tolerance=tolerance)
    rows = []
    for name, (role, traces) in FRAGMENTS.items():
        counts, charge = parse_formula(name)
        near = sorted({b if a == name else a for a, b, _ in pairs if name in (a, b)})
        rows.append({"fragment": name, "formula": "".join(f"{el}{k if k > 1 else ''}" for el, k in counts.items()),
                     "charge": charge, "mass": fragment_mass(name, warn=False), "role": role, "traces": traces,
                     "close_to": ", ".join(near)})
    return pd.DataFrame(rows).set_index("fragment")
