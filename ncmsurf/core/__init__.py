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
from ncmsurf.core.results import (
    FitResult,
    FitStatus,
    Quality,
    Reason,
    citations,
    register_citation,
    register_reason_code,
    result_types,
)
from ncmsurf.core.sample import Sample, group_by_method, methods, register_method
from ncmsurf.core.tem import TEMImage
from ncmsurf.core.units import Quantity, array_magnitude, format_unit, magnitude, quantity, ureg

__all__ = [
    "CyclingData",
    "DepthProfile",
    "ElementMap",
    "FitError",
    "FitResult",
    "FitStatus",
    "ImpedanceSpectrum",
    "Measurement",
    "NcmsurfError",
    "NcmsurfWarning",
    "Quality",
    "Quantity",
    "Reason",
    "ReadError",
    "Sample",
    "TEMImage",
    "ValidationError",
    "XPSSpectrum",
    "array_magnitude",
    "citations",
    "format_unit",
    "group_by_method",
    "magnitude",
    "methods",
    "quantity",
    "register_citation",
    "register_method",
    "register_reason_code",
    "result_types",
    "ureg",
]
