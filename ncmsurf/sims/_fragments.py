"""Secondary-ion fragment table with exact monoisotopic masses (private)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable

import pandas as pd

from ncmsurf.core.errors import NcmsurfWarning, ValidationError

__all__ = ["FRAGMENTS", "CloseMassWarning", "check_fragments", "close_pairs", "fragment_mass", "fragment_table",
           "parse_formula"]

ELECTRON_MASS = 0.000548579909065
"""Electron mass, u (CODATA 2018)."""

# Mass of the most abundant isotope of each element, u (AME2016 / IUPAC isotope masses).
ISOTOPE_MASS: dict[str, float] = {
    "H": 1.00782503223,
    "Li": 7.0160034366,
    "B": 11.00930536,
    "C": 12.0,
    "N": 14.00307400443,
    "O": 15.99491461957,
    "F": 18.99840316273,
    "Na": 22.9897692820,
    "Mg": 23.985041697,
    "Al": 26.98153853,
    "Si": 27.97692653465,
    "P": 30.97376199842,
    "S": 31.9720711744,
    "Cl": 34.968852682,
    "Ti": 47.94794198,
    "Mn": 54.93804391,
    "Fe": 55.93493633,
    "Co": 58.93319429,
    "Ni": 57.93534241,
    "Zr": 89.9046977,
    "Nb": 92.9063730,
    "W": 183.95093092,
}

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

_TOKEN = re.compile(r"([A-Z][a-z]?)(\d*)")
_NAME = re.compile(r"^(?:\d+)?([A-Za-z0-9]+)\^?([+-])$")


class CloseMassWarning(NcmsurfWarning):
    """Two fragments lie so close in mass that a low-resolution profile may mix them."""


def parse_formula(name: str) -> tuple[dict[str, int], int]:
    """Split a fragment name such as ``"AlO2-"`` into element counts and charge.

    Examples
    --------
    >>> parse_formula("C2HO-")
    ({'C': 2, 'H': 1, 'O': 1}, -1)
    """
    m = _NAME.match(name.strip())
    if not m:
        raise ValidationError(f"fragment {name!r}: expected a formula with a trailing charge sign, e.g. 'AlO2-'")
    body, sign = m.group(1), m.group(2)
    counts: dict[str, int] = {}
    pos = 0
    for tok in _TOKEN.finditer(body):
        if tok.start() != pos:
            break
        el, num = tok.group(1), tok.group(2)
        if el not in ISOTOPE_MASS:
            raise ValidationError(f"fragment {name!r}: unknown element {el!r}")
        counts[el] = counts.get(el, 0) + (int(num) if num else 1)
        pos = tok.end()
    if pos != len(body) or not counts:
        raise ValidationError(f"fragment {name!r}: cannot parse the formula {body!r}")
    return counts, (-1 if sign == "-" else 1)


def fragment_mass(name: str, *, tolerance: float = 0.05, warn: bool = True) -> float:
    """Exact monoisotopic mass of a singly charged fragment, u.

    Sum of the most abundant isotope masses, plus one electron for an anion,
    minus one for a cation. Warns (:class:`CloseMassWarning`) when another
    fragment of the table lies within ``tolerance`` u.

    Examples
    --------
    >>> round(fragment_mass("NiF3-"), 4)
    114.9311
    """
    counts, charge = parse_formula(name)
    m = sum(ISOTOPE_MASS[el] * k for el, k in counts.items()) - charge * ELECTRON_MASS
    if warn:
        _warn_close([name], tolerance)
    return float(m)


def close_pairs(names: Iterable[str] | None = None, *, tolerance: float = 0.05) -> list[tuple[str, str, float]]:
    """Pairs of fragments (from ``names`` and the table) closer than ``tolerance`` u.

    Returns
    -------
    list of (name, neighbour, Δm in u)

    Examples
    --------
    >>> [(a, b) for a, b, _ in close_pairs(["AlO-", "AlO2-"])]
    [('AlO-', 'C2F-'), ('AlO2-', 'Co-')]
    """
    pool = list(dict.fromkeys(list(FRAGMENTS) + list(names or [])))
    masses = {n: fragment_mass(n, warn=False) for n in pool}
    targets = list(names) if names is not None else pool
    out: list[tuple[str, str, float]] = []
    seen: set[frozenset[str]] = set()
    for a in targets:
        for b in pool:
            if a == b or frozenset((a, b)) in seen:
                continue
            if parse_formula(a)[1] != parse_formula(b)[1]:
                continue
            dm = abs(masses[a] - masses[b])
            if dm < tolerance:
                seen.add(frozenset((a, b)))
                out.append((a, b, dm))
    return out


def _warn_close(names: Iterable[str], tolerance: float) -> None:
    for a, b, dm in close_pairs(list(names), tolerance=tolerance):
        ma = fragment_mass(a, warn=False)
        warnings.warn(f"{a} ({ma:.4f} u) and {b} ({fragment_mass(b, warn=False):.4f} u) differ by {dm:.4f} u: "
                      f"a mass resolution m/Δm above {ma / dm:.0f} is needed to separate them",
                      CloseMassWarning, stacklevel=3)


def check_fragments(names: Iterable[str] | object, *, tolerance: float = 0.05) -> None:
    """Warn for every fragment in ``names`` (or a DepthProfile) that has a close-mass neighbour.

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
    valid = []
    for n in frags:
        try:
            parse_formula(n)
        except ValidationError:
            continue
        valid.append(n)
    _warn_close(valid, tolerance)


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
