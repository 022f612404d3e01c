"""Tagged JSON for nested metadata, and strict comparison of decoded values (private to storage).

The encoder refuses, naming the key path, any value it cannot give back
exactly; the decoder refuses malformed values and checks every declared
array size against a budget before allocating.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import json
import math
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pint
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import ureg

__all__ = ["decode_attrs", "encode_attrs"]

MAX_DEPTH = 64
"""Deepest nesting of metadata (and of groups) that ``save`` writes and ``load`` reads."""
_MAX_DEPTH = MAX_DEPTH

_DTYPE_RE = re.compile(r"^[<>|=]?(b1|[iu][1248]|f(2|4|8|10|12|16)|c(8|16|20|24|32)|[Mm]8(\[[0-9]*[a-zA-Z]+\])?"
                       r"|[US][0-9]{1,12}|O)$")
_ARRAY_KINDS = "biufcMmSU"


def _key_repr(key: Any) -> str:
    return f"[{key!r}]"


class _Encoder:
    """Tagged-JSON encoder; ``where`` names the value in errors (``meta['cell'][0]``)."""

    def encode(self, obj: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise ValidationError(f"{where}: nested deeper than {_MAX_DEPTH} levels (or contains itself); "
                                  "it cannot be stored")
        t = type(obj)
        if obj is None or t is bool or t is str:
            return obj
        if t is int:
            if obj.bit_length() > 13000:
                raise ValidationError(f"{where}: integers of more than about 3900 digits cannot be stored")
            return obj
        if t is float:
            return obj if math.isfinite(obj) else {"__float__": repr(obj)}
        if t is complex:
            return {"__complex__": [self.encode(obj.real, where), self.encode(obj.imag, where)]}
        if t is np.ndarray:
            return self._array(obj, where, depth)
        if isinstance(obj, np.generic):
            dt = obj.dtype
            if dt.kind not in _ARRAY_KINDS or not _DTYPE_RE.match(dt.str):
                raise ValidationError(f"{where}: NumPy scalar of dtype {dt} cannot be stored")
            raw = np.asarray(obj).tobytes()
            return {"__npscalar_b64__": base64.b64encode(raw).decode("ascii"), "dtype": dt.str}
        if isinstance(obj, pint.Quantity):
            mag = obj.magnitude
            if not (type(mag) in (int, float) or type(mag) is np.ndarray or isinstance(mag, np.generic)):
                raise ValidationError(f"{where}: quantity with a magnitude of type {type(mag).__name__} "
                                      "cannot be stored")
            return {"__quantity__": self.encode(mag, where, depth + 1), "units": str(obj.units)}
        if t is Sample:
            return {"__sample__": obj.label}
        if t is _dt.datetime:
            if obj.tzinfo is not None and type(obj.tzinfo) is not _dt.timezone:
                raise ValidationError(f"{where}: datetime with time zone {obj.tzinfo!r} cannot be stored exactly "
                                      "(use a fixed offset, datetime.timezone)")
            return {"__datetime__": obj.isoformat(), "fold": obj.fold}
        if t is _dt.date:
            return {"__date__": obj.isoformat()}
        if t is _dt.time:
            if obj.tzinfo is not None and type(obj.tzinfo) is not _dt.timezone:
                raise ValidationError(f"{where}: time with time zone {obj.tzinfo!r} cannot be stored exactly")
            return {"__time__": obj.isoformat(), "fold": obj.fold}
        if t is _dt.timedelta:
            return {"__timedelta__": [obj.days, obj.seconds, obj.microseconds]}
        if t is type(Path()):
            return {"__path__": str(obj)}
        if t is tuple:
            return {"__tuple__": [self.encode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(obj)]}
        if t is list:
            return [self.encode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(obj)]
        if t is dict:
            keys = list(obj)
            if all(type(k) is str for k in keys) and not any(k.startswith("__") and k.endswith("__") for k in keys):
                return {k: self.encode(obj[k], where + _key_repr(k), depth + 1) for k in keys}
            return {"__dict__": [[self.encode(k, f"{where} key {k!r}", depth + 1),
                                  self.encode(v, where + _key_repr(k), depth + 1)] for k, v in obj.items()]}
        raise ValidationError(f"{where}: a value of type {t.__module__}.{t.__qualname__} cannot be stored "
                              f"({_short_repr(obj)}); store numbers, text, lists, dicts, arrays, quantities, "
                              "samples, dates or paths")

    def _array(self, a: np.ndarray, where: str, depth: int) -> Any:
        dt = a.dtype
        if dt.kind == "O":
            flat = a.ravel(order="C").tolist() if a.size else []
            return {"__ndarray__": [self.encode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(flat)],
                    "dtype": "|O", "shape": list(a.shape)}
        if dt.kind not in _ARRAY_KINDS or not _DTYPE_RE.match(dt.str):
            raise ValidationError(f"{where}: arrays of dtype {dt} cannot be stored")
        raw = np.ascontiguousarray(a).tobytes()
        return {"__ndarray_b64__": base64.b64encode(raw).decode("ascii"), "dtype": dt.str, "shape": list(a.shape)}


def _short_repr(obj: Any) -> str:
    try:
        text = repr(obj)
    except Exception as exc:  # a broken __repr__ must not hide the real message
        text = f"<unrepresentable: {type(exc).__name__}>"
    return text if len(text) <= 80 else text[:77] + "..."


class _Decoder:
    """Tagged-JSON decoder that refuses malformed values and bounds what it allocates."""

    def __init__(self, path: Path, budget: int, legacy: bool = False) -> None:
        self.path = path
        self.budget = budget
        self.legacy = legacy

    def fail(self, where: str, reason: str) -> ReadError:
        return ReadError(self.path, None, f"{where}: {reason}")

    def take(self, nbytes: int, where: str) -> None:
        if nbytes > self.budget:
            raise self.fail(where, f"declares {nbytes} bytes of data, more than the file can hold")
        self.budget -= nbytes

    def loads(self, text: Any, where: str) -> Any:
        if not isinstance(text, str):
            raise self.fail(where, f"expected JSON text, found {type(text).__name__}")

        def no_constants(name: str) -> Any:
            raise ValueError(f"bare {name} is not written by ncmsurf")

        try:
            return json.loads(text, parse_constant=no_constants)
        except (ValueError, RecursionError) as exc:
            raise self.fail(where, f"not valid JSON: {exc}") from None

    def decode(self, obj: Any, where: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(where, f"nested deeper than {_MAX_DEPTH} levels")
        if obj is None or isinstance(obj, (bool, int, float, str)):
            if isinstance(obj, float) and not math.isfinite(obj):
                raise self.fail(where, "a non-finite number written as a bare JSON number")
            return obj
        if isinstance(obj, list):
            return [self.decode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(obj)]
        if not isinstance(obj, dict):
            raise self.fail(where, f"unexpected JSON value {type(obj).__name__}")
        tags = [k for k in obj if k.startswith("__") and k.endswith("__")]
        if not tags:
            return {k: self.decode(v, where + _key_repr(k), depth + 1) for k, v in obj.items()}
        if len(tags) != 1:
            raise self.fail(where, f"ambiguous tagged value with keys {sorted(obj)[:5]}")
        tag = tags[0]
        handler = _DECODERS.get(tag)
        if handler is None:
            raise self.fail(where, f"unknown tagged value {tag!r}")
        expected, fn = handler
        if not set(expected) <= set(obj) or set(obj) - {tag, *expected} - _OPTIONAL_KEYS.get(tag, set()):
            raise self.fail(where, f"malformed {tag} value (keys {sorted(obj)[:6]})")
        try:
            return fn(self, obj, where, depth)
        except NcmsurfError:
            raise
        except (ValueError, TypeError, OverflowError, KeyError, IndexError, pint.PintError) as exc:
            raise self.fail(where, f"malformed {tag} value: {exc}") from None

    # --- tagged values -------------------------------------------------------
    def _dtype(self, text: Any, where: str) -> np.dtype[Any]:
        if not isinstance(text, str) or not _DTYPE_RE.match(text):
            raise self.fail(where, f"dtype {text!r} is not one ncmsurf writes")
        try:
            return np.dtype(text)
        except TypeError as exc:
            raise self.fail(where, f"bad dtype {text!r}: {exc}") from None

    def _shape(self, shape: Any, where: str) -> tuple[int, ...]:
        if not isinstance(shape, list) or len(shape) > 32 or not all(
                type(n) is int and 0 <= n <= 2**62 for n in shape):
            raise self.fail(where, f"bad array shape {shape!r}")
        return tuple(shape)

    def float_(self, obj: dict[str, Any], where: str, depth: int) -> float:
        text = obj["__float__"]
        if text not in ("nan", "inf", "-inf"):
            raise self.fail(where, f"bad non-finite float {text!r}")
        return float(text)

    def complex_(self, obj: dict[str, Any], where: str, depth: int) -> complex:
        parts = obj["__complex__"]
        if not isinstance(parts, list) or len(parts) != 2:
            raise self.fail(where, "a complex number needs [real, imag]")
        re_, im = (self.decode(x, where, depth + 1) for x in parts)
        if type(re_) not in (int, float) or type(im) not in (int, float):
            raise self.fail(where, "complex parts must be numbers")
        return complex(re_, im)

    def b64array(self, obj: dict[str, Any], where: str, depth: int) -> np.ndarray:
        dt = self._dtype(obj["dtype"], where)
        if dt.kind == "O":
            raise self.fail(where, "object arrays are not stored as bytes")
        shape = self._shape(obj["shape"], where)
        text = obj["__ndarray_b64__"]
        count = math.prod(shape)
        nbytes = count * dt.itemsize
        if not isinstance(text, str) or len(text) != 4 * ((nbytes + 2) // 3):
            raise self.fail(where, f"array of shape {shape} and dtype {dt} does not match its {len(text)} "
                                   "characters of data")
        self.take(nbytes, where)
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise self.fail(where, f"bad base64 data: {exc}") from None
        return np.frombuffer(raw, dtype=dt).reshape(shape).copy()

    def listarray(self, obj: dict[str, Any], where: str, depth: int) -> np.ndarray:
        dt = self._dtype(obj["dtype"], where)
        shape = self._shape(obj["shape"], where)
        items = obj["__ndarray__"]
        if not isinstance(items, list) or len(items) != math.prod(shape):
            raise self.fail(where, f"array of shape {shape} does not match its list of values")
        if dt.kind != "O" and not (self.legacy and dt.kind in "USbiufc"):
            raise self.fail(where, f"dtype {dt} is not stored as a list")
        self.take(len(items) * max(dt.itemsize, 8), where)
        values = [self.decode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(items)]
        if dt.kind == "O":
            out = np.empty(len(values), dtype=object)
            for i, v in enumerate(values):
                out[i] = v
            return out.reshape(shape)
        return np.array(values, dtype=dt).reshape(shape)

    def npscalar_b64(self, obj: dict[str, Any], where: str, depth: int) -> Any:
        dt = self._dtype(obj["dtype"], where)
        if dt.kind == "O":
            raise self.fail(where, "object dtype is not a NumPy scalar")
        text = obj["__npscalar_b64__"]
        if not isinstance(text, str) or len(text) != 4 * ((dt.itemsize + 2) // 3):
            raise self.fail(where, f"NumPy scalar of dtype {dt} does not match its data")
        self.take(dt.itemsize, where)
        try:
            raw = base64.b64decode(text, validate=True)
        except binascii.Error as exc:
            raise self.fail(where, f"bad base64 data: {exc}") from None
        return np.frombuffer(raw, dtype=dt)[0]

    def npscalar_legacy(self, obj: dict[str, Any], where: str, depth: int) -> Any:
        dt = self._dtype(obj["dtype"], where)
        if dt.kind not in "biufc" or dt.itemsize > 16:
            raise self.fail(where, f"format-1 NumPy scalar of dtype {dt} is not supported")
        value = self.decode(obj["__npscalar__"], where, depth + 1)
        if type(value) not in (bool, int, float, complex):
            raise self.fail(where, "a NumPy scalar needs a number")
        return dt.type(value)

    def quantity(self, obj: dict[str, Any], where: str, depth: int) -> Any:
        units = obj["units"]
        if not isinstance(units, str) or len(units) > 200:
            raise self.fail(where, f"bad units {units!r}")
        mag = self.decode(obj["__quantity__"], where, depth + 1)
        if not (type(mag) in (int, float) or type(mag) is np.ndarray or isinstance(mag, np.generic)):
            raise self.fail(where, "a quantity needs a number or an array")
        try:
            return ureg.Quantity(mag, units)
        except (pint.PintError, AttributeError, ValueError, TypeError, SyntaxError) as exc:
            raise self.fail(where, f"units {units!r} are not known: {exc}") from None

    def sample(self, obj: dict[str, Any], where: str, depth: int) -> Sample:
        label = obj["__sample__"]
        if not isinstance(label, str) or len(label) > 200:
            raise self.fail(where, f"bad sample label {label!r}")
        try:
            return Sample.parse(label)
        except ValidationError as exc:
            raise self.fail(where, f"bad sample label: {exc}") from None

    def datetime_(self, obj: dict[str, Any], where: str, depth: int) -> _dt.datetime:
        out = _dt.datetime.fromisoformat(self._text(obj["__datetime__"], where))
        return out.replace(fold=self._fold(obj, where))

    def date_(self, obj: dict[str, Any], where: str, depth: int) -> _dt.date:
        return _dt.date.fromisoformat(self._text(obj["__date__"], where))

    def time_(self, obj: dict[str, Any], where: str, depth: int) -> _dt.time:
        out = _dt.time.fromisoformat(self._text(obj["__time__"], where))
        return out.replace(fold=self._fold(obj, where))

    def timedelta_(self, obj: dict[str, Any], where: str, depth: int) -> _dt.timedelta:
        parts = obj["__timedelta__"]
        if not isinstance(parts, list) or len(parts) != 3 or not all(type(x) is int for x in parts):
            raise self.fail(where, "a timedelta needs [days, seconds, microseconds]")
        return _dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2])

    def path_(self, obj: dict[str, Any], where: str, depth: int) -> Path:
        return Path(self._text(obj["__path__"], where))

    def tuple_(self, obj: dict[str, Any], where: str, depth: int) -> tuple[Any, ...]:
        items = obj["__tuple__"]
        if not isinstance(items, list):
            raise self.fail(where, "a tuple needs a list of items")
        return tuple(self.decode(x, f"{where}[{i}]", depth + 1) for i, x in enumerate(items))

    def dict_(self, obj: dict[str, Any], where: str, depth: int) -> dict[Any, Any]:
        pairs = obj["__dict__"]
        if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise self.fail(where, "a dict needs a list of [key, value] pairs")
        out: dict[Any, Any] = {}
        for k, v in pairs:
            key = _hashable(self.decode(k, f"{where} key", depth + 1))
            try:
                out[key] = self.decode(v, where + _key_repr(key), depth + 1)
            except TypeError:
                raise self.fail(where, f"unhashable key {key!r}") from None
        if len(out) != len(pairs):
            raise self.fail(where, "repeated key in a dict")
        return out

    def _text(self, x: Any, where: str) -> str:
        if not isinstance(x, str) or len(x) > 100:
            raise self.fail(where, f"expected a short text, found {x!r}")
        return x

    def _fold(self, obj: dict[str, Any], where: str) -> int:
        fold = obj.get("fold", 0)
        if fold not in (0, 1) or type(fold) is not int:
            raise self.fail(where, f"bad fold {fold!r}")
        return int(fold)


_OPTIONAL_KEYS: dict[str, set[str]] = {"__datetime__": {"fold"}, "__time__": {"fold"}}
_DECODERS: dict[str, tuple[tuple[str, ...], Callable[[_Decoder, dict[str, Any], str, int], Any]]] = {
    "__float__": ((), _Decoder.float_),
    "__complex__": ((), _Decoder.complex_),
    "__ndarray_b64__": (("dtype", "shape"), _Decoder.b64array),
    "__ndarray__": (("dtype", "shape"), _Decoder.listarray),
    "__npscalar_b64__": (("dtype",), _Decoder.npscalar_b64),
    "__npscalar__": (("dtype",), _Decoder.npscalar_legacy),
    "__quantity__": (("units",), _Decoder.quantity),
    "__sample__": ((), _Decoder.sample),
    "__datetime__": ((), _Decoder.datetime_),
    "__date__": ((), _Decoder.date_),
    "__time__": ((), _Decoder.time_),
    "__timedelta__": ((), _Decoder.timedelta_),
    "__path__": ((), _Decoder.path_),
    "__tuple__": ((), _Decoder.tuple_),
    "__dict__": ((), _Decoder.dict_),
}


def _hashable(x: Any) -> Any:
    return tuple(_hashable(i) for i in x) if isinstance(x, list) else x


def encode_attrs(attrs: Mapping[str, Any]) -> str:
    """Encode an attribute dict of any nesting as tagged JSON.

    Raises
    ------
    ValidationError
        Naming the key path of a value that cannot be stored.

    Examples
    --------
    >>> decode_attrs(encode_attrs({"a": (1, None), "b": {"c": float("nan")}}))["a"]
    (1, None)
    """
    return json.dumps(_Encoder().encode(dict(attrs), "attrs"), allow_nan=False)


def decode_attrs(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_attrs`.

    Raises
    ------
    ReadError
        If the text is not tagged JSON written by :func:`encode_attrs`.
    """
    dec = _Decoder(Path("<attrs>"), max(len(text), 1024) * 2)
    out = dec.decode(dec.loads(text, "attrs"), "attrs")
    if not isinstance(out, dict):
        raise ReadError("<attrs>", None, "encoded attributes are not a dict")
    return out


# ========================================================= strict comparison
def _same_value(a: Any, b: Any, depth: int = 0) -> bool:
    """Equality of decoded values that also requires the same types (and NaN equal to NaN)."""
    if depth > _MAX_DEPTH + 2:
        return False
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    if isinstance(a, complex):
        return _same_value(a.real, b.real) and _same_value(a.imag, b.imag)
    if isinstance(a, np.ndarray):
        if a.dtype != b.dtype or a.shape != b.shape:
            return False
        if a.dtype.kind == "O":
            return all(_same_value(x, y, depth + 1) for x, y in zip(a.ravel().tolist(), b.ravel().tolist()))
        return a.tobytes() == b.tobytes() or bool(
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, np.generic):
        return a.dtype == b.dtype and (np.asarray(a).tobytes() == np.asarray(b).tobytes()
                                       or bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_value(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, dict):
        return len(a) == len(b) and all(k in b and _same_value(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, pint.Quantity):
        return str(a.units) == str(b.units) and _same_value(a.magnitude, b.magnitude, depth + 1)
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


def _same_dataset(a: xr.Dataset, b: xr.Dataset) -> str | None:
    """None when ``a`` and ``b`` hold the same variables, values, dtypes and attributes; else what differs."""
    if list(a.data_vars) != list(b.data_vars):
        return f"data variables {list(b.data_vars)[:8]} instead of {list(a.data_vars)[:8]}"
    if set(a.coords) != set(b.coords):
        return f"coordinates {sorted(map(str, b.coords))[:8]} instead of {sorted(map(str, a.coords))[:8]}"
    for name, va in a.variables.items():
        vb = b.variables[name]
        if va.dims != vb.dims or va.dtype != vb.dtype or va.shape != vb.shape:
            return f"variable {name!r} has dims {vb.dims}, dtype {vb.dtype} instead of {va.dims}, {va.dtype}"
        if not _same_value(np.asarray(va.values), np.asarray(vb.values)):
            return f"variable {name!r} has other values"
        if not _same_value(dict(va.attrs), dict(vb.attrs)):
            return f"variable {name!r} has other attributes"
    if not _same_value(dict(a.attrs), dict(b.attrs)):
        keys = [k for k in set(a.attrs) | set(b.attrs)
                if k not in a.attrs or k not in b.attrs or not _same_value(a.attrs[k], b.attrs[k])]
        return f"attributes {sorted(map(str, keys))[:8]} differ"
    return None


