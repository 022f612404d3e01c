"""Array validation helpers shared by the models (private)."""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import pint

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.units import array_magnitude, magnitude

__all__ = [
    "adopt_arrays",
    "as_1d",
    "check_finite",
    "check_same_length",
    "deep_equal",
    "first_index",
    "frozen_view",
    "meta_copy",
    "optional_positive",
]


def first_index(mask: np.ndarray) -> int:
    """Index of the first True in a boolean array (flat)."""
    return int(np.flatnonzero(mask)[0])


_ADOPT: contextvars.ContextVar[bool] = contextvars.ContextVar("ncmsurf_adopt_arrays", default=False)


@contextlib.contextmanager
def adopt_arrays() -> Iterator[None]:
    """Models built inside this block take arrays that own their memory without copying them.

    For readers that have just created the arrays and drop them afterwards
    (a million-row record then exists once, not twice). The arrays are made
    read-only; the caller must not keep writing to them.

    Examples
    --------
    >>> a = np.arange(3.0)
    >>> with adopt_arrays():
    ...     v = frozen_view(a)
    >>> v is a, a.flags.writeable
    (True, False)
    """
    token = _ADOPT.set(True)
    try:
        yield
    finally:
        _ADOPT.reset(token)


def frozen_view(a: np.ndarray) -> np.ndarray:
    """Return a read-only private copy, so later changes to the caller's array cannot reach the model.

    Inside :func:`adopt_arrays`, an array that owns its memory is made read-only and kept as it is.
    """
    if _ADOPT.get() and isinstance(a, np.ndarray) and a.flags.owndata and a.flags.c_contiguous:
        a.flags.writeable = False
        return a
    v = np.array(a, copy=True)
    v.flags.writeable = False
    return v


def as_1d(value: Any, field: str, unit: str | None = None, *, dtype: Any = np.float64,
          min_size: int = 1) -> np.ndarray:
    """Convert to a 1-D array of ``dtype``, raising ValidationError naming ``field``."""
    if unit is not None:
        value = array_magnitude(value, unit, name=field)
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{field}: cannot be converted to an array ({exc})") from exc
    if arr.ndim != 1:
        raise ValidationError(f"{field}: expected a 1-D array, got shape {arr.shape}")
    if arr.size < min_size:
        raise ValidationError(f"{field}: expected at least {min_size} value(s), got {arr.size} (empty)"
                              if arr.size == 0 else
                              f"{field}: expected at least {min_size} values, got {arr.size}")
    if np.issubdtype(np.dtype(dtype), np.integer):
        if arr.dtype.kind == "f":
            if not np.all(np.isfinite(arr)):
                i = first_index(~np.isfinite(arr))
                raise ValidationError(f"{field}: non-finite value {arr[i]} at index {i}")
            if not np.all(arr == np.round(arr)):
                i = first_index(arr != np.round(arr))
                raise ValidationError(f"{field}: non-integer value {arr[i]} at index {i}")
        elif arr.dtype.kind not in "iub":
            raise ValidationError(f"{field}: expected integers, got dtype {arr.dtype}")
    elif arr.dtype.kind not in "biufc":
        try:
            arr = arr.astype(dtype)
        except (TypeError, ValueError) as exc:
            raise ValidationError(f"{field}: expected numbers, got dtype {arr.dtype}") from exc
    if np.dtype(dtype).kind != "c" and arr.dtype.kind == "c":
        raise ValidationError(f"{field}: expected real numbers, got complex values")
    return np.asarray(arr, dtype=dtype)


def check_finite(arr: np.ndarray, field: str) -> None:
    """Raise ValidationError at the first NaN or infinite value."""
    ok = np.isfinite(arr)
    if not ok.all():
        i = first_index(~ok.ravel())
        idx = np.unravel_index(i, arr.shape) if arr.ndim > 1 else i
        raise ValidationError(f"{field}: non-finite value {arr.ravel()[i]} at index {idx}")


def check_same_length(ref: np.ndarray, ref_field: str, arr: np.ndarray, field: str) -> None:
    """Raise ValidationError when two arrays differ in length."""
    if arr.shape[0] != ref.shape[0]:
        raise ValidationError(
            f"{field}: length {arr.shape[0]} does not match {ref_field} length {ref.shape[0]}"
            f" (first unmatched index {min(arr.shape[0], ref.shape[0])})"
        )


def optional_positive(value: Any, unit: str, field: str) -> float | None:
    """None or a finite, strictly positive scalar in ``unit``."""
    if value is None:
        return None
    x = magnitude(value, unit, name=field)
    if not math.isfinite(x) or x <= 0:
        raise ValidationError(f"{field}: must be finite and > 0 {unit}, got {x}")
    return x


def meta_copy(meta: Mapping[str, Any] | None, field: str = "meta") -> dict[str, Any]:
    """Deep-copied plain dict with string keys."""
    if meta is None:
        return {}
    if not isinstance(meta, Mapping):
        raise ValidationError(f"{field}: expected a mapping, got {type(meta).__name__}")
    out = copy.deepcopy(dict(meta))
    for k in out:
        if not isinstance(k, str):
            raise ValidationError(f"{field}: keys must be strings, got {k!r}")
    return out


def deep_equal(a: Any, b: Any) -> bool:
    """Exact equality for nested metadata (arrays compared by dtype and values; NaN, NaT equal themselves)."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if not (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)):
            return False
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind in "Mm":
            return bool(np.array_equal(a.view(np.int64), b.view(np.int64)))
        if a.dtype.kind == "O":
            return all(deep_equal(x, y) for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
        return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, np.generic) or isinstance(b, np.generic):
        return type(a) is type(b) and deep_equal(np.asarray(a), np.asarray(b))
    if isinstance(a, complex) and isinstance(b, complex) and type(a) is type(b):
        return deep_equal(a.real, b.real) and deep_equal(a.imag, b.imag)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(deep_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(deep_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, pint.Quantity) or isinstance(b, pint.Quantity):
        if not (isinstance(a, pint.Quantity) and isinstance(b, pint.Quantity)):
            return False
        return str(a.units) == str(b.units) and deep_equal(np.asarray(a.magnitude), np.asarray(b.magnitude))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if type(a) is not type(b):
        return False
    return bool(a == b)
