"""The package's single pint unit registry and quantity helpers.

Units are stripped at the boundary of every numerical routine by
:func:`magnitude` and put back on results by :func:`quantity`.

Examples
--------
>>> from ncmsurf.core.units import ureg, magnitude
>>> magnitude(2 * ureg.hour, "s")
7200.0
>>> magnitude(3.0, "min")
3.0
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pint

from ncmsurf.core.errors import ValidationError

__all__ = ["Quantity", "array_magnitude", "magnitude", "quantity", "ureg"]

ureg: pint.UnitRegistry[float] = pint.UnitRegistry()
"""The one unit registry of ncmsurf; quantities from other registries are converted."""
Quantity = ureg.Quantity


def _as_registry_quantity(value: Any) -> Any:
    if getattr(value, "_REGISTRY", None) is ureg:
        return value
    # A quantity from another registry: rebuild it here from its text form.
    return ureg.Quantity(value.magnitude, str(value.units))


def magnitude(value: Any, unit: str, *, name: str = "value") -> float:
    """Return a scalar in ``unit``, converting a pint quantity if given.

    Parameters
    ----------
    value : float or pint.Quantity
        A plain number is taken to be in ``unit`` already.
    unit : str
        Target unit, e.g. ``"eV"``, ``"g"``, ``"cm**2"``.
    name : str
        Name used in the error message.

    Returns
    -------
    float

    Raises
    ------
    ValidationError
        If the quantity has the wrong dimensionality or is not a number.

    Examples
    --------
    >>> magnitude(ureg.Quantity(15.0, "mg"), "g")
    0.015
    """
    if isinstance(value, pint.Quantity):
        q = _as_registry_quantity(value)
        try:
            return float(q.to(unit).magnitude)
        except pint.DimensionalityError as exc:
            raise ValidationError(f"{name}: cannot convert {value} to {unit}") from exc
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: expected a number or a quantity in {unit}, got {value!r}") from exc


def array_magnitude(value: Any, unit: str, *, name: str = "value") -> np.ndarray:
    """Return an array in ``unit`` from an array-like or a pint quantity array.

    Examples
    --------
    >>> array_magnitude(ureg.Quantity([1.0, 2.0], "kHz"), "Hz").tolist()
    [1000.0, 2000.0]
    """
    if isinstance(value, pint.Quantity):
        q = _as_registry_quantity(value)
        try:
            return np.asarray(q.to(unit).magnitude)
        except pint.DimensionalityError as exc:
            raise ValidationError(f"{name}: cannot convert {value.units} to {unit}") from exc
    return np.asarray(value)


def quantity(value: Any, unit: str) -> Any:
    """Attach ``unit`` to a number or array.

    Examples
    --------
    >>> quantity(1.5, "nm")
    <Quantity(1.5, 'nanometer')>
    """
    return ureg.Quantity(value, unit)
