"""ToF-SIMS depth profiles: normalisation, depth scale, interfaces and the fragment table.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.coating import synthetic_profile
>>> p = synthetic_profile(coating_thickness=5.0, sputter_rate=0.05, width=1.0, seed=1)
>>> it = ns.sims.interface(p, "AlO2-")
>>> round(it.depth, 1)
5.0
"""

from __future__ import annotations

from ncmsurf.sims._fragments import (
    FRAGMENTS,
    ISOTOPES,
    CloseMassWarning,
    check_fragments,
    close_pairs,
    fragment_mass,
    fragment_table,
    is_ratio,
    isotope_mass,
    normalize_name,
    parse_formula,
    ratio_terms,
    split_group,
)
from ncmsurf.sims._profile import Interface, integrate, interface, normalize, time_to_depth, with_sputter_rate

__all__ = [
    "FRAGMENTS",
    "ISOTOPES",
    "CloseMassWarning",
    "Interface",
    "check_fragments",
    "close_pairs",
    "fragment_mass",
    "fragment_table",
    "integrate",
    "interface",
    "is_ratio",
    "isotope_mass",
    "normalize",
    "normalize_name",
    "parse_formula",
    "ratio_terms",
    "split_group",
    "time_to_depth",
    "with_sputter_rate",
]
