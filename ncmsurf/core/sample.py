"""Sample identity: pristine and coated cathodes, fresh or cycled.

A sample label names the coating route (``P`` pristine, ``A``, ``F`` or any
registered code), the deposition parameter ``n`` (default unit minutes), the
cathode and the number of cycles it has seen.

Examples
--------
>>> from ncmsurf.core.sample import Sample
>>> s = Sample.parse("A(3)-NCM after 100 cycles")
>>> s.method, s.n.magnitude, s.cathode, s.cycles
('A', 3.0, 'NCM', 100)
>>> str(s)
'A(3)-NCM@100'
>>> Sample.parse(str(s)) == s
True
>>> sorted(Sample.parse(t) for t in ["F(1)-NCM", "A(3)-NCM", "P-NCM", "A(1)-NCM"])
[Sample('P-NCM'), Sample('A(1)-NCM'), Sample('A(3)-NCM'), Sample('F(1)-NCM')]
"""

from __future__ import annotations

import functools
import math
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pint

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.units import magnitude, ureg

__all__ = ["Sample", "group_by_method", "methods", "register_method"]

_METHODS: dict[str, str] = {
    "P": "pristine (uncoated)",
    "A": "coating route A",
    "F": "facing-target sputtering",
}
_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def register_method(code: str, description: str) -> None:
    """Register a coating-route code so that labels using it parse.

    Parameters
    ----------
    code : str
        Short code used in labels, e.g. ``"S"`` for ``"S(2)-NCM"``.
    description : str
        Human-readable description.

    Raises
    ------
    ValidationError
        If the code is not alphanumeric or is already registered with a
        different description.

    Examples
    --------
    >>> register_method("S", "spray coating")
    >>> "S" in methods()
    True
    """
    if not isinstance(code, str) or not _CODE_RE.match(code):
        raise ValidationError(f"method code must be a letter followed by letters/digits, got {code!r}")
    old = _METHODS.get(code)
    if old is not None and old != description and code in ("P", "A", "F"):
        raise ValidationError(f"method code {code!r} is built in ({old!r}) and cannot be redefined")
    _METHODS[code] = str(description)


def methods() -> dict[str, str]:
    """Return the registered method codes and their descriptions, in order.

    Examples
    --------
    >>> list(methods())[:3]
    ['P', 'A', 'F']
    """
    return dict(_METHODS)


def _method_rank(code: str) -> int:
    keys = list(_METHODS)
    return keys.index(code) if code in keys else len(keys)


_LABEL_RE = re.compile(
    r"""^\s*
    (?P<method>[A-Za-z][A-Za-z0-9_]*?)
    (?:\(\s*(?P<n>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[A-Za-z_][A-Za-z0-9_*/]*)?\s*\))?
    \s*-\s*
    (?P<cathode>[A-Za-z][A-Za-z0-9._]*)
    \s*
    (?:
        @\s*(?P<at>\d+)
      | (?:after|,)\s*(?P<after>\d+)\s*cycles?
    )?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)


def _format_number(x: float) -> str:
    return f"{x:g}" if math.isfinite(x) else str(x)


@functools.total_ordering
@dataclass(frozen=True, eq=False, repr=False)
class Sample:
    """One cathode sample: route, deposition parameter, cathode and cycles.

    Parameters
    ----------
    method : str
        ``"P"`` for pristine, ``"A"``, ``"F"`` or a code added with
        :func:`register_method`.
    n : pint.Quantity or float or None
        Deposition parameter (a plain number is taken in minutes). ``None``
        for pristine samples.
    cathode : str
        Cathode name, e.g. ``"NCM"`` or ``"NCM811"``.
    cycles : int
        Number of cycles the sample has seen (0 = as made).

    Examples
    --------
    >>> Sample("F", 5, "NCM811").label
    'F(5)-NCM811'
    >>> Sample("P").coated
    False
    """

    method: str
    n: Any = None
    cathode: str = "NCM"
    cycles: int = 0
    label: str = field(init=False)
    coated: bool = field(init=False)

    def __post_init__(self) -> None:
        method = self.method
        if not isinstance(method, str) or method not in _METHODS:
            raise ValidationError(
                f"unknown method code {method!r}; registered codes: "
                + ", ".join(f"{k} ({v})" for k, v in _METHODS.items())
                + " (add one with ncmsurf.register_method)"
            )
        n = self.n
        if n is not None:
            if isinstance(n, pint.Quantity):
                mag = magnitude(n, str(n.units), name="n")
                unit = str(n.units)
                try:
                    ureg.Quantity(1.0, unit).to("min")
                except pint.DimensionalityError:
                    # a non-time deposition parameter (e.g. number of ALD cycles) is allowed
                    pass
            else:
                mag = magnitude(n, "min", name="n")
                unit = "minute"
            if not math.isfinite(mag) or mag < 0:
                raise ValidationError(f"n: deposition parameter must be finite and >= 0, got {mag}")
            n = ureg.Quantity(mag, unit)
            object.__setattr__(self, "n", n)
        if method == "P" and n is not None:
            raise ValidationError("n: a pristine sample (method 'P') has no deposition parameter")
        if not isinstance(self.cathode, str) or not re.match(r"^[A-Za-z][A-Za-z0-9._]*$", self.cathode):
            raise ValidationError(f"cathode: expected a name such as 'NCM811', got {self.cathode!r}")
        cycles = self.cycles
        try:
            if isinstance(cycles, bool):
                raise TypeError
            cycles = operator.index(cycles)
        except TypeError:
            if isinstance(cycles, float) and float(cycles).is_integer():
                cycles = int(cycles)
            else:
                raise ValidationError(f"cycles: expected a non-negative integer, got {cycles!r}") from None
        cycles = int(cycles)
        if cycles < 0:
            raise ValidationError(f"cycles: expected a non-negative integer, got {cycles}")
        object.__setattr__(self, "cycles", cycles)
        object.__setattr__(self, "coated", method != "P")
        object.__setattr__(self, "label", self._make_label())

    def _make_label(self) -> str:
        text = self.method
        if self.n is not None:
            mag = float(self.n.magnitude)
            unit = self.n.units
            if unit == ureg.minute:
                text += f"({_format_number(mag)})"
            else:
                text += f"({_format_number(mag)} {unit:~})"
        text += f"-{self.cathode}"
        if self.cycles:
            text += f"@{self.cycles}"
        return text

    @classmethod
    def parse(cls, text: str, *, cycles: int | None = None, n_unit: str = "min") -> Sample:
        """Parse a sample label.

        Parameters
        ----------
        text : str
            ``"P-NCM"``, ``"A(3)-NCM"``, ``"F(5)-NCM811"``, ``"F(1.5)-NCM"``,
            ``"A(3)-NCM after 100 cycles"``, ``"F(3)-NCM@100"``; a unit may be
            written inside the brackets (``"A(30 s)-NCM"``).
        cycles : int, optional
            Number of cycles; overrides nothing but must agree with the label
            if the label states one.
        n_unit : str
            Unit of a bare number in brackets (default minutes).

        Returns
        -------
        Sample

        Raises
        ------
        ValidationError
            If the text is not a sample label or names an unknown method.

        Examples
        --------
        >>> Sample.parse("F(3)-NCM@100").cycles
        100
        >>> Sample.parse("A(30 s)-NCM").n
        <Quantity(30.0, 'second')>
        """
        if isinstance(text, Sample):
            return text if cycles is None else cls(text.method, text.n, text.cathode, cycles)
        if not isinstance(text, str):
            raise ValidationError(f"sample label must be a string, got {type(text).__name__}")
        m = _LABEL_RE.match(text)
        if m is None:
            raise ValidationError(
                f"not a sample label: {text!r}; expected forms like 'P-NCM', 'A(3)-NCM', "
                "'F(1.5)-NCM811', 'A(3)-NCM after 100 cycles' or 'F(3)-NCM@100'"
            )
        method = m.group("method")
        if method not in _METHODS:
            upper = method.upper()
            if upper in _METHODS:
                method = upper
        n: Any = None
        if m.group("n") is not None:
            unit = m.group("unit") or n_unit
            try:
                n = ureg.Quantity(float(m.group("n")), unit)
            except (pint.UndefinedUnitError, ValueError, AttributeError) as exc:
                raise ValidationError(f"{text!r}: unknown unit {unit!r} for n") from exc
        found = m.group("at") or m.group("after")
        label_cycles = int(found) if found is not None else None
        if cycles is not None and label_cycles is not None and int(cycles) != label_cycles:
            raise ValidationError(f"{text!r} states {label_cycles} cycles but cycles={cycles} was given")
        c = cycles if cycles is not None else (label_cycles or 0)
        return cls(method, n, m.group("cathode"), c)

    def with_cycles(self, cycles: int) -> Sample:
        """Return the same sample after ``cycles`` cycles.

        Examples
        --------
        >>> Sample.parse("A(3)-NCM").with_cycles(100).label
        'A(3)-NCM@100'
        """
        return Sample(self.method, self.n, self.cathode, cycles)

    @property
    def n_minutes(self) -> float:
        """Deposition parameter as a float (minutes if time-like, NaN if none).

        Examples
        --------
        >>> Sample.parse("F(1.5)-NCM").n_minutes
        1.5
        """
        if self.n is None:
            return math.nan
        try:
            return float(self.n.to("min").magnitude)
        except pint.DimensionalityError:
            return float(self.n.magnitude)

    @functools.cached_property
    def _n_key(self) -> tuple[str, float]:
        # the pint conversion is the slow part of a comparison; the sample is immutable, so it is done once
        if self.n is None:
            return "", -1.0
        return str(self.n.dimensionality), self.n_minutes

    def _key(self) -> tuple[Any, ...]:
        unit, n = self._n_key
        return (_method_rank(self.method), self.method, unit, n, self.cathode, self.cycles)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __str__(self) -> str:
        return self.label

    def __repr__(self) -> str:
        return f"Sample({self.label!r})"


def group_by_method(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
    """Group samples by coating route, each group sorted.

    Examples
    --------
    >>> groups = group_by_method(Sample.parse(t) for t in ["F(1)-NCM", "A(3)-NCM", "A(1)-NCM"])
    >>> {k: [s.label for s in v] for k, v in groups.items()}
    {'A': ['A(1)-NCM', 'A(3)-NCM'], 'F': ['F(1)-NCM']}
    """
    out: dict[str, list[Sample]] = {}
    for s in sorted(samples):
        out.setdefault(s.method, []).append(s)
    return out
