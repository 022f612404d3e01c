"""ncmsurf: surface study of coated Ni-rich NCM cathodes.

Readers for XPS, impedance, cycling, ToF-SIMS and EDS files; XPS core-level
fitting and quantification; equivalent-circuit fitting, Kramers–Kronig and
DRT; capacity, rate capability and fade; coating thickness; and a study layer
that compares pristine P-NCM with A(n)- and F(n)-coated cathodes.

Examples
--------
>>> import ncmsurf as ns
>>> ns.Sample.parse("A(3)-NCM@100").label
'A(3)-NCM@100'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ncmsurf.core.errors import FitError, NcmsurfError, NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, XPSSpectrum
from ncmsurf.core.results import FitResult, Quality, citations
from ncmsurf.core.sample import Sample, methods, register_method
from ncmsurf.core.tem import TEMImage
from ncmsurf.core.units import ureg
from ncmsurf.io.netcdf import load, save
from ncmsurf.io.registry import read, read_cycling, read_eds, read_eis, read_sims, read_tem, read_xps

if TYPE_CHECKING:
    from ncmsurf import cycling, datasets, eds, eis, figures, sims, tem, thickness, xps
    from ncmsurf.study import Study

__version__ = "0.1.0"

__all__ = [
    "CyclingData",
    "DepthProfile",
    "ElementMap",
    "FitError",
    "FitResult",
    "ImpedanceSpectrum",
    "NcmsurfError",
    "Quality",
    "NcmsurfWarning",
    "ReadError",
    "Sample",
    "Study",
    "TEMImage",
    "ValidationError",
    "XPSSpectrum",
    "__version__",
    "citations",
    "cycling",
    "datasets",
    "eds",
    "eis",
    "figures",
    "load",
    "methods",
    "read",
    "read_cycling",
    "read_eds",
    "read_eis",
    "read_sims",
    "read_tem",
    "read_xps",
    "register_method",
    "save",
    "sims",
    "study",
    "tem",
    "thickness",
    "ureg",
    "xps",
]

_SUBMODULES = {"xps", "eis", "cycling", "sims", "eds", "tem", "thickness", "datasets", "figures", "study"}


def __getattr__(name: str) -> Any:
    """Import the analysis subpackages and ``Study`` on first use."""
    if name in _SUBMODULES:
        return importlib.import_module(f"ncmsurf.{name}")
    if name == "Study":
        return importlib.import_module("ncmsurf.study").Study
    raise AttributeError(f"module 'ncmsurf' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
