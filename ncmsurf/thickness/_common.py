"""Shared pieces of the thickness methods: input checks, notes, citations."""

from __future__ import annotations

import math
from typing import Any

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.results import register_citation
from ncmsurf.core.units import magnitude

POWDER_NOTE = ("planar overlayer formula applied to a powder: the value is an apparent, orientation-averaged "
               "thickness (emission angles vary over the particle surface; for spheres it is typically "
               "an underestimate of the true shell thickness)")

register_citation("tpp2m", "S. Tanuma, C. J. Powell, D. R. Penn, Surf. Interface Anal. 21, 165 (1994)")
register_citation("jablonski2002", "A. Jablonski, C. J. Powell, Surf. Sci. Rep. 47, 33 (2002)")
register_citation("hill1976", "J. M. Hill, D. G. Royce, C. S. Fadley, L. F. Wagner, F. J. Grunthaner, "
                              "Chem. Phys. Lett. 44, 225 (1976)")
register_citation("cumpson1995", "P. J. Cumpson, Surf. Interface Anal. 23, 629 (1995)")
register_citation("strohmeier1990", "B. R. Strohmeier, Surf. Interface Anal. 15, 51 (1990)")
register_citation("hsu-mansfeld2001", "C. H. Hsu, F. Mansfeld, Corrosion 57, 747 (2001)")


def positive(value: Any, unit: str, name: str) -> float:
    """A finite value > 0 in ``unit``."""
    v = magnitude(value, unit, name=name)
    if not math.isfinite(v) or v <= 0:
        raise ValidationError(f"{name}: expected a finite positive value, got {v}")
    return v


def nonneg(value: Any, unit: str, name: str) -> float:
    """A finite value >= 0 in ``unit``."""
    v = magnitude(value, unit, name=name)
    if not math.isfinite(v) or v < 0:
        raise ValidationError(f"{name}: expected a finite value >= 0, got {v}")
    return v


def cos_angle(angle: Any) -> float:
    """Cos of an emission angle in [0, 90) degrees from the normal."""
    a = magnitude(angle, "degree", name="angle")
    if not math.isfinite(a) or not 0.0 <= a < 90.0:
        raise ValidationError(f"angle: expected an emission angle in [0, 90) degrees from the normal, got {a}")
    return math.cos(math.radians(a))


def opt_err(value: Any, unit: str, name: str) -> float:
    """An optional standard error (0 when not given)."""
    return 0.0 if value is None else nonneg(value, unit, name)


def notes(*parts: str) -> str:
    """Join the non-empty notes."""
    return "; ".join(p for p in parts if p)
