"""Coating thickness from XPS intensities, ToF-SIMS, EDS and deposition time.

Every length is in nm and every angle in degrees from the surface normal,
unless a pint Quantity says otherwise.

The planar overlayer formulas below assume a flat, laterally uniform film.
On powders (NCM secondary particles) the emission angle varies over the
surface, so the result is an apparent, orientation-averaged thickness; the
functions say so in ``.note`` when ``powder=True``.

The package: ``_results`` (:class:`Thickness`, :class:`ArxpsResult`,
:class:`DepositionRate`, all :class:`ncmsurf.FitResult` subclasses), ``_xps``
(IMFP, attenuation, ratio, ARXPS), ``_capacitance``, ``_deposition`` and
``_crosscheck``. A :class:`Thickness` behaves as its value in nm
(``from_ratio(...) * 2`` works); its error is ``.value_stderr``.

Examples
--------
>>> import ncmsurf as ns
>>> lam = ns.thickness.imfp_tpp2m(1382, density=2.19, molar_mass=60.08, valence_electrons=16, band_gap=9.0)
>>> round(lam, 2)
3.89
>>> d = ns.thickness.from_ratio(0.5, 1.0, bulk_ratio=0.72, attenuation_length=2.8)
>>> round(float(d), 3)
1.477
"""

from __future__ import annotations

from ncmsurf.thickness._capacitance import EPSILON_0, from_capacitance
from ncmsurf.thickness._common import POWDER_NOTE
from ncmsurf.thickness._crosscheck import Z_THRESHOLD, DisagreementWarning, cross_check
from ncmsurf.thickness._deposition import deposition_rate, deposition_rates
from ncmsurf.thickness._results import ArxpsResult, DepositionRate, Thickness
from ncmsurf.thickness._xps import (
    effective_attenuation_length,
    from_arxps,
    from_attenuation,
    from_ratio,
    imfp_tpp2m,
    overlayer_ratio,
)

__all__ = [
    "EPSILON_0",
    "POWDER_NOTE",
    "Z_THRESHOLD",
    "ArxpsResult",
    "DepositionRate",
    "DisagreementWarning",
    "Thickness",
    "cross_check",
    "deposition_rate",
    "deposition_rates",
    "effective_attenuation_length",
    "from_arxps",
    "from_attenuation",
    "from_capacitance",
    "from_ratio",
    "imfp_tpp2m",
    "overlayer_ratio",
]
