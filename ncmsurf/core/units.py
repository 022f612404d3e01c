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

import re
from typing import Any

import numpy as np
import pint

from ncmsurf.core.errors import ValidationError

__all__ = ["Quantity", "array_magnitude", "format_unit", "magnitude", "quantity", "ureg"]

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


_SYMBOLS = {
    "ohm": "Ω", "kohm": "kΩ", "Mohm": "MΩ", "mohm": "mΩ", "uohm": "µΩ",
    "uF": "µF", "microfarad": "µF", "um": "µm", "micrometer": "µm", "us": "µs", "uA": "µA", "uAh": "µAh",
    "degree": "°", "deg": "°", "degC": "°C", "percent": "%", "angstrom": "Å",
    "farad": "F", "second": "s", "gram": "g", "hertz": "Hz", "volt": "V", "ampere": "A", "nanometer": "nm",
    "electron_volt": "eV", "hour": "h", "milliampere_hour": "mAh", "centimeter": "cm",
}
_SUPERSCRIPT = str.maketrans("0123456789-.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻·")
_TOKEN = re.compile(r"\s*([*/])?\s*([A-Za-z_µΩ°%]+)\s*(?:\*\*\s*\(?\s*([-+]?\d+(?:\.\d+)?)\s*\)?)?\s*")


def format_unit(unit: str, *, style: str = "dot") -> str:
    """A unit written for people, in the order it was written: ``"ohm*cm**2"`` → ``"Ω·cm²"``.

    Parameters
    ----------
    unit : str
        A unit in pint syntax (products with ``*``, quotients with ``/``,
        powers with ``**``). ``""``, ``"1"`` and ``"dimensionless"`` give ``""``.
    style : {"dot", "exponent", "si"}
        ``"dot"``: ``Ω·cm²``, ``mAh/g``, ``µF/cm²``; ``"exponent"`` (journal
        style): ``Ω cm²``, ``mAh g⁻¹``, ``µF cm⁻²``; ``"si"`` (figure axes):
        products with a dot, negative powers as exponents, ``Ω·cm²``,
        ``mAh g⁻¹``, ``µF cm⁻²``.

    Returns
    -------
    str
        Falls back to pint's short pretty form for anything it cannot parse.

    Examples
    --------
    >>> format_unit("ohm*cm**2"), format_unit("mAh/g"), format_unit("uF/cm**2")
    ('Ω·cm²', 'mAh/g', 'µF/cm²')
    >>> format_unit("mAh/g", style="exponent"), format_unit("uF/cm**2", style="exponent")
    ('mAh g⁻¹', 'µF cm⁻²')
    >>> format_unit("ohm*cm**2", style="si"), format_unit("mAh/g", style="si")
    ('Ω·cm²', 'mAh g⁻¹')
    >>> format_unit("1"), format_unit("ohm*s**-0.5")
    ('', 'Ω·s⁻⁰·⁵')
    """
    if style not in ("dot", "exponent", "si"):
        raise ValidationError(f"style: must be 'dot', 'exponent' or 'si', got {style!r}")
    u = str(unit).strip()
    if u in ("", "1", "dimensionless"):
        return ""
    parts: list[tuple[str, float]] = []
    pos = 0
    first = True
    while pos < len(u):
        m = _TOKEN.match(u, pos)
        if m is None or m.end() == pos or (first and m.group(1)) or (not first and not m.group(1)):
            try:
                return f"{ureg.Unit(u):~P}"
            except Exception:
                return u
        op, name, power = m.group(1), m.group(2), m.group(3)
        p = float(power) if power is not None else 1.0
        parts.append((_SYMBOLS.get(name, name), -p if op == "/" else p))
        pos = m.end()
        first = False

    def sup(p: float) -> str:
        if p == 1:
            return ""
        txt = f"{p:g}"
        return txt.translate(_SUPERSCRIPT)

    if style == "exponent":
        return " ".join(f"{n}{sup(p)}" for n, p in parts)
    if style == "si":
        positive = "·".join(f"{n}{sup(p)}" for n, p in parts if p > 0)
        negative = " ".join(f"{n}{sup(p)}" for n, p in parts if p < 0)
        return " ".join(x for x in (positive, negative) if x)
    num = [f"{n}{sup(p)}" for n, p in parts if p > 0]
    den = [f"{n}{sup(-p)}" for n, p in parts if p < 0]
    if not num:
        return "·".join(f"{n}{sup(p)}" for n, p in parts)
    if len(den) == 1 and parts[-1][1] < 0 and all(p > 0 for _, p in parts[:-1]) and "." not in f"{-parts[-1][1]:g}":
        return "·".join(num) + "/" + den[0]
    return "·".join(f"{n}{sup(p)}" for n, p in parts)
