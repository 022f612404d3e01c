"""Typed core: units, sample identity, measurement models, errors, results.

Imports no analysis backend.
"""

from __future__ import annotations

from ncmsurf.core.errors import FitError, NcmsurfError, NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import (
    CyclingData,
    DepthProfile,
    ElementMap,
    ImpedanceSpectrum,
    Measurement,
    XPSSpectrum,
)
from ncmsurf.core.results import FitStatus, citations, register_citation
from ncmsurf.core.sample import Sample, group_by_method, methods, register_method
from ncmsurf.core.tem import TEMImage
from ncmsurf.core.units import Quantity, array_magnitude, magnitude, quantity, ureg

__all__ = [
    "CyclingData",
    "DepthProfile",
    "ElementMap",
    "FitError",
    "FitStatus",
    "ImpedanceSpectrum",
    "Measurement",
    "NcmsurfError",
    "NcmsurfWarning",
    "Quantity",
    "ReadError",
    "Sample",
    "TEMImage",
    "ValidationError",
    "XPSSpectrum",
    "array_magnitude",
    "citations",
    "group_by_method",
    "magnitude",
    "methods",
    "quantity",
    "register_citation",
    "register_method",
    "ureg",
]
