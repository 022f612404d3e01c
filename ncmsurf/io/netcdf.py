"""Lossless, checked NetCDF storage of models, fit results, studies and lists of them.

``save`` writes NetCDF-4 (HDF5) files that plain ``xarray.open_dataset(path,
engine="h5netcdf", group=...)`` reads as ordinary datasets, and that
:func:`load` reads back exactly or refuses with a :class:`ReadError`.

What is stored
    Every class in the storage registry (:func:`storable_types`): the models
    of :data:`ncmsurf.core.models.MODEL_TYPES`, :class:`ncmsurf.Study`, every
    fit result class, and classes that plug-ins add with
    :func:`register_storable`; ``xarray`` Datasets and DataArrays; lists,
    tuples and string-keyed dicts of storable objects. A registered class
    provides ``to_dataset()`` and a ``from_dataset(ds)`` classmethod;
    composite classes add ``_storage_children() -> dict[str, object]`` and a
    ``_from_storage(ds, children)`` classmethod, their children going to
    subgroups. Metadata may hold ``None``, ``bool``, ``int``, ``float``
    (NaN and inf too), ``complex``, ``str``, lists, tuples, dicts, NumPy
    arrays and scalars of any numeric, bool, ``datetime64``, ``timedelta64``
    or string dtype (``longdouble`` included), ``pint`` quantities,
    :class:`~ncmsurf.Sample`, ``datetime``/``date``/``time``/``timedelta``
    and ``pathlib.Path``; anything else is refused by ``save`` with a
    :class:`ValidationError` naming the key path.

Layout (format 2)
    One HDF5 group per object. Attributes whose value is a plain string or
    number (``units``, ``long_name``, ``ncmsurf_sample``, ...) are real
    NetCDF attributes, CF style, on the group or on the variable; only nested
    values (dicts, lists, arrays, quantities, ...) go to the group's JSON
    ``ncmsurf_layout`` attribute, which also records dtypes, dimensions,
    coordinates, attribute order and children. Complex variables are split
    into ``<name>__real`` and ``<name>__imag`` (both carry the units),
    booleans are stored as int8, datetimes as int64, strings as UTF-8 text.

Integrity
    * A 512-byte header in the HDF5 user block holds the SHA-256 and the size
      of the rest of the file; ``load`` checks it before the HDF5 library
      parses anything, so a damaged file is refused without being
      interpreted.
    * Each group carries ``ncmsurf_checksum``, the SHA-256 of its path, its
      attributes and its variables' bytes, checked on load; a mismatch is a
      ReadError naming the file and the group. (This also covers files copied
      by tools that drop the user block, e.g. ``h5repack``.)
    * Before anything is allocated, every dataset's and attribute's declared
      size, and every array encoded in JSON, is checked against the file's
      size.
    * Type tags are looked up in the registry only: nothing named in the file
      is imported or looked up as an attribute.
    * After building an object, ``load`` checks that it stores back to exactly
      the group it was built from (so a group that a type does not fully
      describe, e.g. a relabelled one, is refused rather than half-read).

Files of format 1 (no header, no checksums, class paths instead of tags)
still load, with the same size and type checks.

Examples
--------
>>> import tempfile, os, numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> z = ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], meta={"cell": {"id": 3}})
>>> path = save(z, os.path.join(tempfile.mkdtemp(), "z.nc"))
>>> load(path) == z
True
>>> import xarray as xr
>>> xr.open_dataset(path, engine="h5netcdf")["impedance__real"].attrs["units"]
'ohm'
"""

from __future__ import annotations

import base64
import binascii
import copy
import datetime as _dt
import hashlib
import json
import math
import os
import re
import stat
import struct
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import numpy as np
import pint
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import ureg

__all__ = ["decode_attrs", "encode_attrs", "load", "register_storable", "save", "storable_types"]

_FORMAT_VERSION = 2
_MAGIC = b"NCMSURF-NETCDF\n"
_HEADER_SIZE = 512
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MAX_DEPTH = 64
"""Deepest nesting of metadata (and of groups) that ``save`` writes and ``load`` reads."""
_MAX_NAME = 256

_TYPE = "ncmsurf_type"
_LAYOUT = "ncmsurf_layout"
_CHECKSUM = "ncmsurf_checksum"
_FORMAT = "ncmsurf_format"
_VERSION = "ncmsurf_version"
_RESERVED = frozenset({
    _TYPE, _LAYOUT, _CHECKSUM, _FORMAT, _VERSION, "coordinates",
    # format 1 names
    "ncmsurf_class", "ncmsurf_attrs", "ncmsurf_dtype", "ncmsurf_complex", "ncmsurf_order", "ncmsurf_coords",
    "ncmsurf_children", "ncmsurf_len", "ncmsurf_keys", "ncmsurf_dataarray_name",
    # HDF5 dimension scales and CF decoding
    "DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "scale_factor", "add_offset", "missing_value",
    "calendar", "valid_range", "valid_min", "valid_max", "flag_values", "flag_masks", "compress",
})
"""Attribute names never written as plain attributes (they go to the JSON layout instead)."""
_HIDDEN = frozenset({"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME"})
"""HDF5/NetCDF bookkeeping attributes (and every name starting with ``_``): not part of a checksum."""

_H5_ERRORS: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, RuntimeError, TypeError,
                                               IndexError, OverflowError, UnicodeError)
"""What h5py raises on a file it cannot parse."""
_BUILD_ERRORS: tuple[type[BaseException], ...] = (KeyError, ValueError, TypeError, IndexError, OverflowError,
                                                  ZeroDivisionError, AttributeError, RecursionError)
"""What a class's ``from_dataset`` raises on a dataset it cannot describe."""


# =================================================================== registry
_PLUGINS: dict[str, type] = {}


def _xps_types() -> dict[str, type]:
    from ncmsurf.xps import XPSFit

    return {"xps:fit": XPSFit}


def _eis_types() -> dict[str, type]:
    from ncmsurf.eis import CircuitFit, DRTResult, KKResult

    return {"eis:circuit_fit": CircuitFit, "eis:kk": KKResult, "eis:drt": DRTResult}


def _cycling_types() -> dict[str, type]:
    from ncmsurf.cycling import FadeFit

    return {"cycling:fade_fit": FadeFit}


def _sims_types() -> dict[str, type]:
    from ncmsurf.sims import Interface

    return {"sims:interface": Interface}


def _eds_types() -> dict[str, type]:
    from ncmsurf.eds import Coverage, EDSSpectrum, ShellWidth, Uniformity

    return {"eds:spectrum": EDSSpectrum, "eds:coverage": Coverage, "eds:uniformity": Uniformity,
            "eds:shell_width": ShellWidth}


def _thickness_types() -> dict[str, type]:
    from ncmsurf.thickness import ArxpsResult, DepositionRate, Thickness

    return {"thickness:thickness": Thickness, "thickness:arxps": ArxpsResult,
            "thickness:deposition_rate": DepositionRate}


def _study_types() -> dict[str, type]:
    from ncmsurf.study import Study

    return {"study:study": Study}


_BUILTIN: dict[str, tuple[str, Callable[[], dict[str, type]]]] = {
    # tag namespace -> (package that defines the classes, loader importing them)
    "xps": ("ncmsurf.xps", _xps_types),
    "eis": ("ncmsurf.eis", _eis_types),
    "cycling": ("ncmsurf.cycling", _cycling_types),
    "sims": ("ncmsurf.sims", _sims_types),
    "eds": ("ncmsurf.eds", _eds_types),
    "thickness": ("ncmsurf.thickness", _thickness_types),
    "study": ("ncmsurf.study", _study_types),
}
_CONTAINERS = ("builtin:list", "builtin:tuple", "builtin:dict", "xarray:dataset", "xarray:dataarray")
_RESERVED_NAMESPACES = frozenset({"model", "builtin", "xarray", *_BUILTIN})

_LEGACY_CLASSES: dict[str, str] = {
    # format-1 class paths -> tags (exact strings; format 1 named classes by module path)
    "ncmsurf.core.models:XPSSpectrum": "model:xps",
    "ncmsurf.core.models:ImpedanceSpectrum": "model:eis",
    "ncmsurf.core.models:CyclingData": "model:cycling",
    "ncmsurf.core.models:DepthProfile": "model:sims",
    "ncmsurf.core.models:ElementMap": "model:eds",
    "ncmsurf.study:Study": "study:study",
    "ncmsurf.xps._fit:XPSFit": "xps:fit",
    "ncmsurf.eis._fit:CircuitFit": "eis:circuit_fit",
    "ncmsurf.eis._kk:KKResult": "eis:kk",
    "ncmsurf.eis._drt:DRTResult": "eis:drt",
    "ncmsurf.cycling._fade:FadeFit": "cycling:fade_fit",
    "ncmsurf.sims._profile:Interface": "sims:interface",
    "ncmsurf.eds._spectrum:EDSSpectrum": "eds:spectrum",
    "ncmsurf.eds._maps:Coverage": "eds:coverage",
    "ncmsurf.eds._maps:Uniformity": "eds:uniformity",
    "ncmsurf.eds._maps:ShellWidth": "eds:shell_width",
    "ncmsurf.thickness:Thickness": "thickness:thickness",
    "ncmsurf.thickness:ArxpsResult": "thickness:arxps",
    "ncmsurf.thickness:DepositionRate": "thickness:deposition_rate",
    "xarray:Dataset": "xarray:dataset",
    "xarray:DataArray": "xarray:dataarray",
    "builtins:list": "builtin:list",
    "builtins:tuple": "builtin:tuple",
    "builtins:dict": "builtin:dict",
}

_TAG_RE = re.compile(r"^[a-z][a-z0-9_]*:[a-z0-9_.\-]+$")


def register_storable(cls: type, tag: str) -> type:
    """Make a plug-in class storable by ``ns.save`` under a stable tag.

    Parameters
    ----------
    cls : type
        A class with ``to_dataset()`` and a ``from_dataset(ds)`` classmethod
        (composite classes also ``_storage_children()`` and
        ``_from_storage(ds, children)``). Only objects of exactly this class
        are stored under ``tag`` (register subclasses separately).
    tag : str
        ``"namespace:name"`` in lower case, e.g. ``"mylab:profile"``; the
        namespaces ``model``, ``builtin``, ``xarray`` and those of ncmsurf's
        subpackages are reserved. Files name the tag, never the class, so the
        class may move between modules.

    Returns
    -------
    type
        ``cls``.

    Raises
    ------
    ValidationError
        For a malformed or reserved tag, a class without the storage methods,
        or a tag or class already registered differently.

    Examples
    --------
    >>> import xarray as xr
    >>> class Note:
    ...     def __init__(self, text): self.text = text
    ...     def to_dataset(self): return xr.Dataset(attrs={"text": self.text})
    ...     @classmethod
    ...     def from_dataset(cls, ds): return cls(ds.attrs["text"])
    >>> _ = register_storable(Note, "docs:note")
    >>> storable_types()["docs:note"] is Note
    True
    """
    if not isinstance(tag, str) or not _TAG_RE.match(tag):
        raise ValidationError(f"register_storable: tag must look like 'namespace:name' in lower case, got {tag!r}")
    if tag.split(":", 1)[0] in _RESERVED_NAMESPACES:
        raise ValidationError(f"register_storable: the namespace of {tag!r} is reserved for ncmsurf's own types")
    if not isinstance(cls, type) or not callable(getattr(cls, "to_dataset", None)) \
            or not callable(getattr(cls, "from_dataset", None)):
        raise ValidationError(f"register_storable: {cls!r} needs to_dataset() and a from_dataset(ds) classmethod")
    old = _PLUGINS.get(tag)
    if old is not None and old is not cls:
        raise ValidationError(f"register_storable: tag {tag!r} is already registered for {old.__qualname__}")
    for t, c in _PLUGINS.items():
        if c is cls and t != tag:
            raise ValidationError(f"register_storable: {cls.__qualname__} is already registered as {t!r}")
    _PLUGINS[tag] = cls
    return cls


def _model_types() -> dict[str, type]:
    from ncmsurf.core.models import MODEL_TYPES

    return {f"model:{kind}": cls for kind, cls in MODEL_TYPES.items()}


def _result_core_types() -> dict[str, type]:
    """Result classes that registered themselves with the result core (when it offers a registry)."""
    from ncmsurf.core import results

    finder = getattr(results, "result_types", None)
    if finder is None:
        return {}
    return {f"result:{tag}": cls for tag, cls in finder().items()}


def storable_types() -> dict[str, type]:
    """The storage registry: tag → class of every type ``save`` stores (containers aside).

    Importing the table imports ncmsurf's subpackages. Tags are stable: a
    file names the tag, and ``load`` finds the class only here.

    Examples
    --------
    >>> types = storable_types()
    >>> types["model:xps"].__name__, types["study:study"].__name__
    ('XPSSpectrum', 'Study')
    """
    out = _model_types()
    for _, loader in _BUILTIN.values():
        out.update(loader())
    out.update(_result_core_types())
    out.update(_PLUGINS)
    return out


def _tag_of(obj: Any) -> str | None:
    """The tag of ``obj``'s exact class, without importing packages the object does not come from."""
    cls = type(obj)
    for table in (_PLUGINS, _model_types(), _result_core_types()):
        for tag, c in table.items():
            if c is cls:
                return tag
    for package, loader in _BUILTIN.values():
        if package in sys.modules:
            for tag, c in loader().items():
                if c is cls:
                    return tag
    return None


def _class_for(tag: str) -> type | None:
    if tag in _PLUGINS:
        return _PLUGINS[tag]
    namespace = tag.split(":", 1)[0]
    if namespace == "model":
        return _model_types().get(tag)
    if namespace in _BUILTIN:
        return _BUILTIN[namespace][1]().get(tag)
    if namespace == "result":
        found = _result_core_types().get(tag)
        if found is None:  # result classes register when their package is imported
            for _, loader in _BUILTIN.values():
                loader()
            found = _result_core_types().get(tag)
        return found
    return None


# ============================================================ tagged JSON codec
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


# ============================================================ group content
@dataclass
class _StoredVar:
    name: str
    dims: tuple[str, ...]
    data: np.ndarray
    attrs: dict[str, Any]


@dataclass
class _Group:
    path: str
    tag: str
    attrs: dict[str, Any] = field(default_factory=dict)
    variables: list[_StoredVar] = field(default_factory=list)
    dims: dict[str, int] = field(default_factory=dict)


def _plain_name(key: Any, *, variable: bool) -> bool:
    return (type(key) is str and 0 < len(key) <= _MAX_NAME and not key.startswith("_") and "/" not in key
            and "\x00" not in key and key not in _RESERVED and _utf8_ok(key))


def _utf8_ok(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def _plain_value(value: Any) -> tuple[str, Any] | None:
    """How ``value`` is written as a real attribute (kind, value handed to h5py), or None for JSON."""
    t = type(value)
    if t is str:
        return ("str", value) if _utf8_ok(value) else None
    if t is int:
        return ("int", np.int64(value)) if -(2**63) <= value < 2**63 else None
    if t is float:
        return "float", np.float64(value)
    if isinstance(value, np.generic) and value.dtype.isnative and value.dtype.str[1:] in (
            "i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"):
        return "np:" + value.dtype.str, value
    return None


def _encode_attrs(attrs: Mapping[Any, Any], where: str, enc: _Encoder,
                  *, variable: bool) -> tuple[list[Any], dict[str, Any]]:
    """Attribute spec for the layout (order, kinds, nested values) and the real attributes to write."""
    spec: list[Any] = []
    real: dict[str, Any] = {}
    for key, value in attrs.items():
        plain = _plain_value(value) if _plain_name(key, variable=variable) else None
        if plain is not None:
            kind, stored = plain
            spec.append([key, kind])
            real[key] = stored
        else:
            spec.append([enc.encode(key, f"{where} key {key!r}"), "json", enc.encode(value, where + _key_repr(key))])
    return spec, real


def _check_name(name: Any, what: str, where: str) -> str:
    if type(name) is not str or not name or len(name) > _MAX_NAME or "/" in name or name in (".", "..") \
            or not _utf8_ok(name):
        raise ValidationError(f"{where}: {what} name {name!r} cannot be stored (a non-empty text without '/')")
    return name


def _encode_dataset(ds: xr.Dataset, g: _Group, enc: _Encoder) -> dict[str, Any]:
    """Fill ``g`` with the variables of ``ds``; return the layout's variables and attributes."""
    where = f"group {g.path!r}"
    coords = {str(k) for k in ds.coords}
    layout_vars: list[dict[str, Any]] = []
    stored_names: set[str] = set()
    nondim_coords = [str(k) for k in ds.coords if (k not in ds.dims)]
    for raw_name, var in ds.variables.items():
        name = _check_name(raw_name, "variable", where)
        vwhere = f"{where} variable {name!r}"
        dims = tuple(_check_name(d, "dimension", vwhere) for d in var.dims)
        for d, n in zip(dims, var.shape):
            if g.dims.setdefault(d, int(n)) != n:
                raise ValidationError(f"{vwhere}: dimension {d!r} has length {n} here and {g.dims[d]} elsewhere")
        values = np.asarray(var.values)
        if values.dtype != var.dtype:
            raise ValidationError(f"{vwhere}: values of dtype {values.dtype} do not match the variable's {var.dtype}")
        dt = values.dtype
        if dt.kind not in _ARRAY_KINDS or not _DTYPE_RE.match(dt.str) or dt.kind == "O":
            raise ValidationError(f"{vwhere}: arrays of dtype {dt} cannot be stored "
                                  "(object, structured and other dtypes are not supported)")
        spec, real = _encode_attrs(var.attrs, f"{vwhere} attrs", enc, variable=True)
        if name not in coords and name not in ds.dims:
            mine = [c for c in nondim_coords if set(ds[c].dims) <= set(var.dims) and " " not in c]
            if mine:
                real["coordinates"] = " ".join(mine)  # CF: lets other tools see the coordinates
        parts: list[tuple[str, np.ndarray]]
        if dt.kind == "c":
            parts = [(f"{name}__real", np.require(values.real, requirements="C")),
                     (f"{name}__imag", np.require(values.imag, requirements="C"))]
        elif dt.kind == "b":
            parts = [(name, values.astype(np.int8))]
        elif dt.kind in "Mm":
            parts = [(name, values.view(np.int64))]
        elif dt.kind == "U":
            flat = values.ravel().tolist()
            for i, s in enumerate(flat):
                if not _utf8_ok(s):
                    raise ValidationError(f"{vwhere}: element {i} holds a NUL character or a lone surrogate; "
                                          "it cannot be stored as text")
            text = np.empty(len(flat), dtype=object)
            text[:] = [s.encode("utf-8") for s in flat]
            if not _text_fits(len(flat), dt.itemsize, sum(len(b) for b in text.tolist())):
                raise ValidationError(f"{vwhere}: {len(flat)} texts padded to {dt.itemsize // 4} characters "
                                      "take far more memory than their content; store them with a dtype no "
                                      "wider than the longest text")
            parts = [(name, text.reshape(values.shape))]
        else:
            parts = [(name, values)]
        for stored, data in parts:
            if stored in stored_names:
                raise ValidationError(f"{vwhere}: stored name {stored!r} clashes with another variable")
            stored_names.add(stored)
            g.variables.append(_StoredVar(stored, dims, data, dict(real)))
        layout_vars.append({"name": name, "dims": list(dims), "shape": list(values.shape), "dtype": dt.str,
                            "coord": name in coords, "stored": [p for p, _ in parts], "attrs": spec})
    for d in g.dims:
        if d in stored_names and not any(v.name == d and v.dims == (d,) for v in g.variables):
            raise ValidationError(f"{where}: dimension {d!r} clashes with a variable of that name")
    aspec, real = _encode_attrs(ds.attrs, f"{where} attrs", enc, variable=False)
    g.attrs.update(real)
    return {"variables": layout_vars, "attrs": aspec}


# ================================================================ checksums
def _canon(value: Any, *, attr: bool = False) -> bytes:
    """Canonical bytes of an attribute value or dataset as h5py writes and reads it.

    Numeric attributes are written as 1-element arrays (the NetCDF way), so
    ``attr=True`` treats a scalar and its 1-element array alike.
    """
    if isinstance(value, str):
        b = value.encode("utf-8", "surrogatepass")
        return b"s" + struct.pack("<Q", len(b)) + b
    if isinstance(value, bytes):
        return b"y" + struct.pack("<Q", len(value)) + value
    a = np.asarray(value)
    if attr and a.ndim == 0:
        a = a.reshape(1)
    head = struct.pack("<B", a.ndim) + b"".join(struct.pack("<Q", n) for n in a.shape)
    if a.dtype.kind == "O":
        parts = [b"o", head]
        for x in a.ravel().tolist():
            if isinstance(x, str):
                x = x.encode("utf-8", "surrogatepass")
            if not isinstance(x, bytes):
                raise TypeError(f"unexpected element of type {type(x).__name__}")
            parts.append(struct.pack("<Q", len(x)) + x)
        return b"".join(parts)
    if a.dtype.kind not in "biufcSU":
        raise TypeError(f"unexpected dtype {a.dtype}")
    le = a.dtype.newbyteorder("<")
    return b"n" + le.str.encode() + b";" + head + np.require(a, dtype=le, requirements="C").tobytes()


def _digest(path: str, attrs: Mapping[str, Any], variables: list[tuple[str, Any, Mapping[str, Any]]]) -> str:
    h = hashlib.sha256()
    h.update(b"ncmsurf-group-2\x00" + path.encode("utf-8") + b"\x00")
    for name in sorted(attrs):
        if name == _CHECKSUM or name.startswith("_") or name in _HIDDEN:
            continue
        h.update(_canon(name) + _canon(attrs[name], attr=True))
    for name, data, vattrs in variables:
        h.update(b"v" + _canon(name))
        h.update(_canon(data))
        for k in sorted(vattrs):
            if k.startswith("_") or k in _HIDDEN:
                continue
            h.update(_canon(k) + _canon(vattrs[k], attr=True))
    return "sha256:" + h.hexdigest()


# ===================================================================== save
def _flatten(obj: Any, path: str, out: list[_Group], enc: _Encoder, active: tuple[int, ...]) -> None:
    where = f"group {path!r}"
    if id(obj) in active:
        raise ValidationError(f"save: {where} contains itself; a cycle cannot be stored")
    if len(active) > _MAX_DEPTH:
        raise ValidationError(f"save: objects nested deeper than {_MAX_DEPTH} levels cannot be stored")
    children: Mapping[str, Any] = {}
    extra: dict[str, Any] = {}
    tag = _tag_of(obj)
    t = type(obj)
    if tag is not None:
        try:
            ds = obj.to_dataset()
        except NcmsurfError:
            raise
        if not isinstance(ds, xr.Dataset):
            raise ValidationError(f"save: {t.__qualname__}.to_dataset() returned {type(ds).__name__}, not a Dataset")
        if callable(getattr(obj, "_storage_children", None)):
            children = obj._storage_children()
    elif t is xr.DataArray:
        tag = "xarray:dataarray"
        var = obj.name if isinstance(obj.name, str) and obj.name else "__xarray_dataarray__"
        try:
            ds = obj.to_dataset(name=var, promote_attrs=False)
        except ValueError as exc:
            raise ValidationError(f"save: {where}: DataArray cannot be stored: {exc}") from exc
        extra = {"dataarray": var, "name": enc.encode(obj.name, f"{where} DataArray name")}
    elif t is xr.Dataset:
        tag, ds = "xarray:dataset", obj
    elif t in (list, tuple):
        tag, ds = f"builtin:{t.__name__}", xr.Dataset()
        children = {f"item{i:05d}": x for i, x in enumerate(obj)}
    elif t is dict:
        keys = list(obj)
        if not all(type(k) is str for k in keys):
            raise ValidationError(f"save: {where}: dictionary keys must be strings")
        tag, ds = "builtin:dict", xr.Dataset()
        extra = {"keys": keys}
        children = {f"item{i:05d}": obj[k] for i, k in enumerate(keys)}
    else:
        hint = (" (register its class with ncmsurf.io.netcdf.register_storable)"
                if callable(getattr(obj, "to_dataset", None)) else "")
        raise ValidationError(f"save: objects of type {t.__module__}.{t.__qualname__} cannot be stored{hint}")
    g = _Group(path, tag)
    layout = _encode_dataset(ds, g, enc)
    names = [_check_name(k, "child", where) for k in children]
    clash = set(names) & ({v.name for v in g.variables} | set(g.dims))
    if clash:
        raise ValidationError(f"save: {where}: child name(s) {sorted(clash)} clash with variables or dimensions")
    layout["children"] = names
    layout["extra"] = extra
    g.attrs[_TYPE] = tag
    g.attrs[_LAYOUT] = json.dumps(layout, allow_nan=False, separators=(",", ":"))
    if path == "/":
        from ncmsurf import __version__

        g.attrs[_FORMAT] = np.int64(_FORMAT_VERSION)
        g.attrs[_VERSION] = str(__version__)
    g.attrs[_CHECKSUM] = _digest(path, g.attrs, [(v.name, v.data, v.attrs) for v in g.variables])
    out.append(g)
    for key, child in children.items():
        _flatten(child, f"{path.rstrip('/')}/{key}", out, enc, (*active, id(obj)))


def _header(digest: str, size: int) -> bytes:
    text = _MAGIC + f"format {_FORMAT_VERSION}\nsha256 {digest}\nsize {size}\n".encode("ascii")
    return text.ljust(_HEADER_SIZE, b"\x00")


def _hash_file(fh: Any, start: int, length: int) -> str:
    fh.seek(start)
    h = hashlib.sha256()
    left = length
    chunk = min(1 << 20, max(length, 1))
    while left > 0:
        block = fh.read(min(chunk, left))
        if not block:
            break
        h.update(block)
        left -= len(block)
    return h.hexdigest()


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Store a model, fit result, study, xarray object or a list/dict of them.

    Parameters
    ----------
    obj : object
        Anything in :func:`storable_types`, an ``xarray`` object, or a list,
        tuple or string-keyed dict of those (see the module docstring).
    path : str or path-like
        Target file (``.nc`` by convention); replaced atomically if present.

    Returns
    -------
    pathlib.Path
        The path written, so that ``ns.load(ns.save(x, p)) == x``.

    Raises
    ------
    ValidationError
        If the object, or a value in its metadata, cannot be stored exactly;
        the message names the group and the key path.
    """
    p = Path(path)
    groups: list[_Group] = []
    _flatten(obj, "/", groups, _Encoder(), ())
    tmp = p.with_name(p.name + ".tmp")
    try:
        with h5netcdf.File(tmp, "w", userblock_size=_HEADER_SIZE) as f:
            handles: dict[str, Any] = {"/": f}
            for g in groups:
                if g.path == "/":
                    h = f
                else:
                    parent, _, name = g.path.rpartition("/")
                    h = handles[parent or "/"].create_group(name)
                    handles[g.path] = h
                if g.dims:
                    h.dimensions = dict(g.dims)
                for v in sorted(g.variables, key=lambda v: v.name not in g.dims):
                    dtype = h5py.string_dtype() if v.data.dtype.kind == "O" else v.data.dtype
                    var = h.create_variable(v.name, v.dims, dtype=dtype, data=v.data)
                    for k, val in v.attrs.items():
                        var.attrs[k] = val
                for k, val in g.attrs.items():
                    h.attrs[k] = val
        size = tmp.stat().st_size - _HEADER_SIZE
        with open(tmp, "r+b") as fh:
            digest = _hash_file(fh, _HEADER_SIZE, size)
            fh.seek(0)
            fh.write(_header(digest, size))
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


# ===================================================================== load
def _check_header(path: Path, head: bytes, fh: Any, size: int) -> None:
    lines = head.rstrip(b"\x00").split(b"\n")
    m = re.fullmatch(rb"NCMSURF-NETCDF\nformat (\d{1,3})\nsha256 ([0-9a-f]{64})\nsize (\d{1,19})\n",
                     head.rstrip(b"\x00"))
    if m is None or len(lines) != 5:
        raise ReadError(path, None, "the ncmsurf header of the file is damaged")
    version, digest, declared = int(m.group(1)), m.group(2).decode(), int(m.group(3))
    if version != _FORMAT_VERSION:
        raise ReadError(path, None, f"storage format {version} is not known to this ncmsurf "
                                    f"(it reads formats 1 and {_FORMAT_VERSION})")
    if _header(digest, declared) != head:
        raise ReadError(path, None, "the ncmsurf header of the file is damaged")
    if declared != size - _HEADER_SIZE:
        raise ReadError(path, None, f"the file has {size} bytes but was written with {declared + _HEADER_SIZE} "
                                    "(cut short or extended after it was written)")
    if _hash_file(fh, _HEADER_SIZE, declared) != digest:
        raise ReadError(path, None, "the file's content does not match the checksum ns.save wrote in its header "
                                    "(changed or damaged after it was written)")


def _declared_bytes(shape: tuple[int, ...] | None, dtype: np.dtype[Any]) -> int:
    if shape is None:  # an empty (null) dataspace
        return 0
    itemsize = 16 if h5py.check_vlen_dtype(dtype) is not None or dtype.kind == "O" else max(dtype.itemsize, 1)
    return math.prod(shape) * itemsize


_PHONY = b"This is a netCDF dimension but not a netCDF variable"


def _is_phony_dimension(obj: h5py.Dataset) -> bool:
    """A dimension without a coordinate variable: a dataset with a shape but no data, never read."""
    try:
        cls, name = obj.attrs.get("CLASS"), obj.attrs.get("NAME")
    except _H5_ERRORS:
        return False
    as_bytes = [x if isinstance(x, bytes) else str(x).encode() if x is not None else b"" for x in (cls, name)]
    return as_bytes[0] == b"DIMENSION_SCALE" and as_bytes[1].startswith(_PHONY)


def _text_fits(count: int, itemsize: int, stored: int) -> bool:
    """Whether a text array padded to ``itemsize`` stays within a fixed multiple of the bytes it is stored in."""
    return count * itemsize <= 8 * (stored + 16 * count) + 65536


def _prescan(path: Path, f: h5py.File, size: int) -> None:
    """Refuse declared sizes the file cannot hold, before anything is read."""
    total = 0
    objects = 0

    def check_attrs(name: str, obj: Any) -> None:
        in_attrs = 0
        for key in obj.attrs:
            aid = obj.attrs.get_id(key)
            in_attrs += _declared_bytes(aid.shape, aid.dtype)
            if in_attrs > size:
                raise ReadError(path, None, f"the attributes of {name!r} declare {in_attrs} bytes, more than the "
                                            f"file's {size}")

    def visit(name: str, obj: Any) -> None:
        nonlocal total, objects
        objects += 1
        if objects > size // 8:
            raise ReadError(path, None, "the file declares more objects than it can hold")
        check_attrs(name, obj)
        if isinstance(obj, h5py.Dataset) and not _is_phony_dimension(obj):
            n = _declared_bytes(obj.shape, obj.dtype)
            total += n
            if obj.compression is not None or total > size:
                raise ReadError(path, None, f"dataset {name!r} declares {n} bytes"
                                            + (" compressed" if obj.compression is not None else "")
                                            + f"; the file has {size} bytes in all")

    try:
        check_attrs("/", f)
        f.visititems(visit)
    except NcmsurfError:
        raise
    except _H5_ERRORS as exc:
        raise ReadError(path, None, f"the HDF5 structure cannot be read: {exc}") from None


class _Reader:
    """Builds objects from the groups of a format-2 file."""

    def __init__(self, path: Path, f: h5py.File, size: int) -> None:
        self.path = path
        self.f = f
        self.dec = _Decoder(path, 2 * size + 4096)
        self.left = size

    def fail(self, group: str, reason: str) -> ReadError:
        return ReadError(self.path, None, f"group {group!r}: {reason}")

    def build(self, group: str, depth: int = 0) -> Any:
        if depth > _MAX_DEPTH:
            raise self.fail(group, "groups nested too deep")
        try:
            h = self.f[group]
            if not isinstance(h, h5py.Group):
                raise self.fail(group, "is not a group")
            attrs = {str(k): h.attrs[k] for k in h.attrs}
        except NcmsurfError:
            raise
        except _H5_ERRORS as exc:
            raise self.fail(group, f"cannot be read: {exc}") from None
        tag = attrs.get(_TYPE)
        if not isinstance(tag, str):
            raise self.fail(group, f"is not an ncmsurf object (no {_TYPE} attribute)")
        layout = self.dec.loads(attrs.get(_LAYOUT), f"group {group!r} layout")
        variables, stored = self._read_variables(group, h, layout)
        digest = _digest(group, attrs, stored)
        if attrs.get(_CHECKSUM) != digest:
            raise self.fail(group, "content does not match its checksum (changed or damaged after ns.save "
                                   "wrote it)")
        ds = self._dataset(group, layout, attrs, variables)
        children_names = layout.get("children")
        if not isinstance(children_names, list) or not all(isinstance(c, str) and c for c in children_names):
            raise self.fail(group, "bad list of children")
        children = {c: self.build(f"{group.rstrip('/')}/{c}", depth + 1) for c in children_names}
        extra = layout.get("extra", {})
        if not isinstance(extra, dict):
            raise self.fail(group, "bad layout")
        return _assemble(self.path, group, tag, ds, children, children_names, extra, self.dec)

    def _read_variables(self, group: str, h: h5py.Group, layout: Any) -> tuple[
            list[tuple[dict[str, Any], list[np.ndarray], dict[str, Any]]], list[tuple[str, Any, dict[str, Any]]]]:
        if not isinstance(layout, dict) or not isinstance(layout.get("variables"), list):
            raise self.fail(group, "bad layout")
        out: list[tuple[dict[str, Any], list[np.ndarray], dict[str, Any]]] = []
        stored: list[tuple[str, Any, dict[str, Any]]] = []
        for spec in layout["variables"]:
            if not isinstance(spec, dict) or not isinstance(spec.get("stored"), list) \
                    or not spec["stored"] or len(spec["stored"]) > 2:
                raise self.fail(group, "bad variable layout")
            arrays = []
            real: dict[str, Any] = {}
            for name in spec["stored"]:
                if not isinstance(name, str):
                    raise self.fail(group, "bad variable layout")
                try:
                    dset = h[name]
                    if not isinstance(dset, h5py.Dataset):
                        raise self.fail(group, f"{name!r} is not a variable")
                    n = _declared_bytes(dset.shape, dset.dtype)
                    if dset.compression is not None or n > self.left:
                        raise self.fail(group, f"variable {name!r} declares more data than the file holds")
                    self.left -= n
                    data = np.asarray(dset[...])
                    real = {str(k): dset.attrs[k] for k in dset.attrs}
                except NcmsurfError:
                    raise
                except _H5_ERRORS as exc:
                    raise self.fail(group, f"variable {name!r} cannot be read: {exc}") from None
                arrays.append(data)
                stored.append((name, data, real))
            out.append((spec, arrays, real))
        return out, stored

    def _attrs(self, group: str, spec: Any, real: Mapping[str, Any], where: str) -> dict[Any, Any]:
        if not isinstance(spec, list):
            raise self.fail(group, f"bad attribute layout of {where}")
        out: dict[Any, Any] = {}
        for item in spec:
            if not isinstance(item, list) or len(item) not in (2, 3):
                raise self.fail(group, f"bad attribute layout of {where}")
            kind = item[1]
            if kind == "json" and len(item) == 3:
                key = _hashable(self.dec.decode(item[0], f"group {group!r} {where} key"))
                try:
                    out[key] = self.dec.decode(item[2], f"group {group!r} {where}{_key_repr(key)}")
                except TypeError:
                    raise self.fail(group, f"unhashable attribute key {key!r}") from None
                continue
            key = item[0]
            if len(item) != 2 or not isinstance(key, str) or key not in real:
                raise self.fail(group, f"attribute {key!r} of {where} is missing")
            out[key] = self._plain(group, real[key], kind, f"{where} attribute {key!r}")
        return out

    def _plain(self, group: str, value: Any, kind: Any, where: str) -> Any:
        if kind == "str":
            if isinstance(value, str):
                return value
        else:
            a = np.asarray(value)
            if a.shape in ((), (1,)) and a.dtype.kind in "iuf":
                x = a.reshape(-1)[0]
                if kind == "int" and a.dtype == np.int64:
                    return int(x)
                if kind == "float" and a.dtype == np.float64:
                    return float(x)
                if isinstance(kind, str) and kind.startswith("np:") and _DTYPE_RE.match(kind[3:]) \
                        and np.dtype(kind[3:]) == a.dtype:
                    return np.dtype(kind[3:]).type(x)
        raise self.fail(group, f"{where} holds {type(value).__name__} where {kind!r} was written")

    def _dataset(self, group: str, layout: dict[str, Any], attrs: Mapping[str, Any],
                 variables: list[tuple[dict[str, Any], list[np.ndarray], dict[str, Any]]]) -> xr.Dataset:
        data_vars: dict[str, xr.Variable] = {}
        coords: dict[str, xr.Variable] = {}
        for spec, arrays, real in variables:
            name, dims, shape = spec.get("name"), spec.get("dims"), spec.get("shape")
            if not isinstance(name, str) or not isinstance(dims, list) or not all(isinstance(d, str) for d in dims):
                raise self.fail(group, "bad variable layout")
            if name in data_vars or name in coords:
                raise self.fail(group, f"variable {name!r} appears twice")
            dt = self.dec._dtype(spec.get("dtype"), f"group {group!r} variable {name!r}")
            if not isinstance(shape, list) or len(dims) != len(shape) or tuple(shape) != arrays[0].shape \
                    or any(a.shape != arrays[0].shape for a in arrays):
                raise self.fail(group, f"variable {name!r} does not have the shape its layout states")
            values = self._restore(group, name, dt, arrays)
            var_attrs = self._attrs(group, spec.get("attrs"), real, f"variable {name!r}")
            try:
                var = xr.Variable(tuple(dims), values, var_attrs)
            except ValueError as exc:
                raise self.fail(group, f"variable {name!r}: {exc}") from None
            (coords if spec.get("coord") is True else data_vars)[name] = var
        try:
            ds = xr.Dataset(data_vars, coords=coords)
        except ValueError as exc:
            raise self.fail(group, f"variables do not form a dataset: {exc}") from None
        ds.attrs = self._attrs(group, layout.get("attrs"), attrs, "group")
        return ds

    def _restore(self, group: str, name: str, dt: np.dtype[Any], arrays: list[np.ndarray]) -> np.ndarray:
        def bad() -> ReadError:
            return self.fail(group, f"variable {name!r} is stored with dtype {arrays[0].dtype}, "
                                    f"not what dtype {dt} is written as")

        a = arrays[0]
        if dt.kind == "c":
            part = np.dtype(f"<f{dt.itemsize // 2}")
            if len(arrays) != 2 or any(x.dtype.kind != "f" or x.dtype.itemsize != part.itemsize for x in arrays):
                raise bad()
            out = np.empty(a.shape, dtype=dt)
            out.real = arrays[0]
            out.imag = arrays[1]
            return out
        if len(arrays) != 1:
            raise bad()
        if dt.kind == "b":
            if a.dtype != np.int8 or not np.isin(a, (0, 1)).all():
                raise bad()
            return a.astype(bool)
        if dt.kind in "Mm":
            if a.dtype.kind != "i" or a.dtype.itemsize != 8:
                raise bad()
            return np.require(a, dtype="<i8", requirements="C").view(dt.newbyteorder("<")).astype(dt)
        if dt.kind == "U":
            if a.dtype.kind != "O":
                raise bad()
            try:
                text = [x.decode("utf-8") if isinstance(x, bytes) else x for x in a.ravel().tolist()]
            except UnicodeDecodeError:
                raise bad() from None
            if not all(isinstance(x, str) and len(x) <= dt.itemsize // 4 for x in text):
                raise bad()
            stored = sum(len(x) for x in a.ravel().tolist() if isinstance(x, bytes))
            if not _text_fits(len(text), dt.itemsize, stored):
                raise self.fail(group, f"text variable {name!r} declares a padding its data cannot have")
            return np.array(text, dtype=dt).reshape(a.shape)
        if a.dtype.kind != dt.kind or a.dtype.itemsize != dt.itemsize:
            raise bad()
        return a.astype(dt, copy=False)


def _assemble(path: Path, group: str, tag: str, ds: xr.Dataset, children: Mapping[str, Any],
              child_names: list[str], extra: Mapping[str, Any], dec: _Decoder) -> Any:
    def fail(reason: str) -> ReadError:
        return ReadError(path, None, f"group {group!r}: {reason}")

    if tag in _CONTAINERS and tag != "xarray:dataarray" and tag != "xarray:dataset" and ds.variables:
        raise fail(f"a {tag} group holds variables")
    if tag == "xarray:dataset":
        if child_names:
            raise fail("a Dataset group has children")
        return ds
    if tag == "xarray:dataarray":
        var = extra.get("dataarray")
        if child_names or not isinstance(var, str) or var not in ds.data_vars or len(ds.data_vars) != 1 \
                or ds.attrs:
            raise fail("does not hold one DataArray")
        name = _hashable(dec.decode(extra.get("name"), f"group {group!r} DataArray name"))
        return ds[var].rename(name)
    if tag in ("builtin:list", "builtin:tuple"):
        if ds.attrs or extra or child_names != [f"item{i:05d}" for i in range(len(child_names))]:
            raise fail(f"is not a stored {tag[8:]}")
        items = [children[k] for k in child_names]
        return items if tag == "builtin:list" else tuple(items)
    if tag == "builtin:dict":
        keys = extra.get("keys")
        if ds.attrs or not isinstance(keys, list) or not all(isinstance(k, str) for k in keys) \
                or len(set(keys)) != len(keys) or child_names != [f"item{i:05d}" for i in range(len(keys))]:
            raise fail("is not a stored dict")
        return {k: children[c] for k, c in zip(keys, child_names)}
    if extra:
        raise fail("bad layout")
    cls = _class_for(tag)
    if cls is None:
        raise fail(f"type tag {tag!r} is not known to this ncmsurf (a plug-in may need importing first)")
    return _build_registered(path, group, tag, cls, ds, children, child_names)


def _build_registered(path: Path, group: str, tag: str, cls: type, ds: xr.Dataset, children: Mapping[str, Any],
                      child_names: list[str]) -> Any:
    def fail(reason: str) -> ReadError:
        return ReadError(path, None, f"group {group!r}: {reason}")

    what = f"a valid {cls.__qualname__} ({tag})"
    try:
        if children or callable(getattr(cls, "_from_storage", None)):
            obj = cls._from_storage(_private_copy(ds), dict(children))  # type: ignore[attr-defined]
        else:
            obj = cls.from_dataset(_private_copy(ds))  # type: ignore[attr-defined]
    except NcmsurfError as exc:
        raise fail(f"does not hold {what}: {exc}") from None
    except _BUILD_ERRORS as exc:
        raise fail(f"does not hold {what}: {type(exc).__name__}: {exc}") from None
    if type(obj) is not cls:
        raise fail(f"does not hold {what}")
    # the object must store back to exactly this group: nothing ignored, defaulted or changed
    try:
        again = obj.to_dataset()
        kids = obj._storage_children() if callable(getattr(obj, "_storage_children", None)) else {}
    except (NcmsurfError, *_BUILD_ERRORS) as exc:
        raise fail(f"does not hold {what}: {type(exc).__name__}: {exc}") from None
    differs = _same_dataset(ds, again) if isinstance(again, xr.Dataset) else "not a Dataset"
    if differs is None and list(kids) != child_names:
        differs = f"children {list(kids)[:8]} instead of {child_names[:8]}"
    if differs is None:
        for k in child_names:
            if kids[k] is not children[k] and not _same_object(kids[k], children[k]):
                differs = f"child {k!r} is not kept"
                break
    if differs is not None:
        raise fail(f"does not hold {what}: {differs}")
    return obj


def _private_copy(ds: xr.Dataset) -> xr.Dataset:
    """A copy whose attributes (not arrays, which are not written to) the class may change freely."""
    out = ds.copy(deep=False)
    out.attrs = copy.deepcopy(ds.attrs)
    for name in out.variables:
        out[name].attrs = copy.deepcopy(ds[name].attrs)
    return out


def _same_object(a: Any, b: Any) -> bool:
    if isinstance(a, xr.Dataset) and isinstance(b, xr.Dataset):
        return _same_dataset(a, b) is None
    if isinstance(a, xr.DataArray) or isinstance(b, xr.DataArray):
        return type(a) is type(b) and bool(a.identical(b))
    try:
        return bool(a == b)
    except (ValueError, TypeError):
        return False


# ------------------------------------------------------------- format 1
def _legacy_build(path: Path, size: int) -> Any:
    try:
        groups = xr.open_groups(path, engine="h5netcdf", decode_cf=False, mask_and_scale=False,
                                decode_times=False)
    except NcmsurfError:
        raise
    except _H5_ERRORS as exc:
        raise ReadError(path, None, f"cannot read the file's groups: {exc}") from None
    try:
        loaded = {g: ds.load() for g, ds in groups.items()}
    except _H5_ERRORS as exc:
        raise ReadError(path, None, f"cannot read the file's groups: {exc}") from None
    finally:
        for ds in groups.values():
            ds.close()
    dec = _Decoder(path, 2 * size + 4096, legacy=True)
    return _legacy_group(path, "/", loaded, dec, 0)


def _legacy_group(path: Path, group: str, groups: dict[str, xr.Dataset], dec: _Decoder, depth: int) -> Any:
    def fail(reason: str) -> ReadError:
        return ReadError(path, None, f"group {group!r}: {reason}")

    if depth > _MAX_DEPTH:
        raise fail("groups nested too deep")
    enc = groups.get(group)
    if enc is None:
        raise fail("is missing from the file")
    cls_path = enc.attrs.get("ncmsurf_class")
    if not isinstance(cls_path, str):
        raise fail("is not an ncmsurf object (no ncmsurf_class attribute)")
    tag = _LEGACY_CLASSES.get(cls_path)
    if tag is None:
        raise fail(f"stored class {cls_path!r} is not one ncmsurf stores")
    ds = _legacy_dataset(group, enc, dec)
    child_names = dec.loads(enc.attrs.get("ncmsurf_children", "[]"), f"group {group!r} children")
    if not isinstance(child_names, list) or not all(isinstance(c, str) and c and "/" not in c for c in child_names):
        raise fail("bad list of children")
    children = {k: _legacy_group(path, f"{group.rstrip('/')}/{k}", groups, dec, depth + 1) for k in child_names}
    if tag == "xarray:dataarray":
        name = enc.attrs.get("ncmsurf_dataarray_name", "")
        key = name if name else "__xarray_dataarray__"
        if not isinstance(key, str) or key not in ds.data_vars:
            raise fail("does not hold a DataArray")
        da = ds[key]
        da.attrs = dict(ds.attrs)
        return da.rename(name if name else None)
    if tag == "xarray:dataset":
        return ds
    if tag in ("builtin:list", "builtin:tuple"):
        items = [children[k] for k in child_names]
        return items if tag == "builtin:list" else tuple(items)
    if tag == "builtin:dict":
        keys = dec.loads(enc.attrs.get("ncmsurf_keys"), f"group {group!r} keys")
        if not isinstance(keys, list) or len(keys) != len(child_names) or not all(isinstance(k, str) for k in keys):
            raise fail("is not a stored dict")
        return {k: children[c] for k, c in zip(keys, child_names)}
    cls = _class_for(tag)
    if cls is None:
        raise fail(f"stored class {cls_path!r} is not available in this ncmsurf")
    return _build_registered(path, group, tag, cls, ds, children, child_names)


def _legacy_dataset(group: str, enc: xr.Dataset, dec: _Decoder) -> xr.Dataset:
    where = f"group {group!r}"
    variables: dict[str, xr.Variable] = {}
    complex_parts: dict[str, dict[str, xr.Variable]] = {}
    for name, var in enc.variables.items():
        part = var.attrs.get("ncmsurf_complex")
        if part is not None:
            if part not in ("real", "imag") or not str(name).endswith(f"__{part}"):
                raise dec.fail(where, f"bad complex part of {name!r}")
            complex_parts.setdefault(str(name)[: -len(part) - 2], {})[str(part)] = var
            continue
        variables[str(name)] = _legacy_var(where, str(name), var, np.asarray(var.values), dec)
    for base, parts in complex_parts.items():
        if set(parts) != {"real", "imag"} or parts["real"].shape != parts["imag"].shape:
            raise dec.fail(where, f"complex variable {base!r} lacks a part")
        values = np.asarray(parts["real"].values) + 1j * np.asarray(parts["imag"].values)
        variables[base] = _legacy_var(where, base, parts["real"], values, dec)
    order = dec.loads(enc.attrs.get("ncmsurf_order", "[]"), f"{where} order") or list(variables)
    coord_names = dec.loads(enc.attrs.get("ncmsurf_coords", "[]"), f"{where} coordinates")
    if not isinstance(order, list) or not isinstance(coord_names, list):
        raise dec.fail(where, "bad variable order")
    ordered = [k for k in order if k in variables] + [k for k in variables if k not in order]
    try:
        ds = xr.Dataset({k: variables[k] for k in ordered if k not in coord_names},
                        coords={k: variables[k] for k in ordered if k in coord_names})
    except ValueError as exc:
        raise dec.fail(where, f"variables do not form a dataset: {exc}") from None
    if "ncmsurf_attrs" in enc.attrs:
        attrs = dec.decode(dec.loads(enc.attrs["ncmsurf_attrs"], f"{where} attrs"), f"{where} attrs")
        if not isinstance(attrs, dict):
            raise dec.fail(where, "attributes are not a dict")
        ds.attrs = attrs
    return ds


def _legacy_var(where: str, name: str, var: xr.Variable, values: np.ndarray, dec: _Decoder) -> xr.Variable:
    attrs = dict(var.attrs)
    dtype = dec._dtype(attrs.pop("ncmsurf_dtype", values.dtype.str), f"{where} variable {name!r}")
    attrs.pop("ncmsurf_complex", None)
    if "ncmsurf_attrs" in attrs:
        meta = dec.decode(dec.loads(attrs.pop("ncmsurf_attrs"), f"{where} variable {name!r} attrs"),
                          f"{where} variable {name!r} attrs")
        if not isinstance(meta, dict):
            raise dec.fail(where, f"attributes of {name!r} are not a dict")
    else:
        meta = attrs
    try:
        if dtype.kind in "Mm":
            values = np.asarray(values, dtype=np.int64).view(dtype)
        elif dtype.kind == "U":
            dec.take(values.size * dtype.itemsize, f"{where} variable {name!r}")
            values = np.asarray([str(x) for x in values.ravel()], dtype=dtype).reshape(values.shape)
        elif dtype.kind == "O":
            raise dec.fail(where, f"variable {name!r} has object dtype")
        else:
            values = values.astype(dtype, copy=False)
        return xr.Variable(var.dims, values, meta)
    except (ValueError, TypeError) as exc:
        raise dec.fail(where, f"variable {name!r}: {exc}") from None


# ------------------------------------------------------------------- entry
def load(path: str | os.PathLike[str]) -> Any:
    """Load an object written by :func:`save`: exactly what was saved, or a ReadError.

    Raises
    ------
    ReadError
        If the file is missing or not a regular file, not written by
        ``ns.save``, damaged or changed after it was written (the header or
        a group's checksum does not match; the message names the group), or
        declares more data than it holds.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ReadError(p, None, "no such file") from None
    except OSError as exc:
        raise ReadError(p, None, f"cannot open the file: {exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ReadError(p, None, "not a regular file (devices, pipes and folders are not read)")
    size = st.st_size
    try:
        with open(p, "rb") as fh:
            head = fh.read(_HEADER_SIZE)
            has_header = head.startswith(_MAGIC)
            if has_header:
                _check_header(p, head, fh, size)
    except OSError as exc:
        raise ReadError(p, None, f"cannot read the file: {exc}") from None
    if not has_header and head[:8] != _HDF5_SIGNATURE:
        raise ReadError(p, None, "not a NetCDF-4/HDF5 file written by ncmsurf.save")
    try:
        f = h5py.File(p, "r")
    except _H5_ERRORS as exc:
        raise ReadError(p, None, f"not a readable NetCDF-4/HDF5 file: {exc}") from None
    try:
        _prescan(p, f, size)
        try:
            fmt = f.attrs.get(_FORMAT)
            is_legacy = "ncmsurf_class" in f.attrs
        except _H5_ERRORS as exc:
            raise ReadError(p, None, f"the root group cannot be read: {exc}") from None
        version = int(np.asarray(fmt).reshape(-1)[0]) if fmt is not None and np.asarray(fmt).size == 1 \
            and np.asarray(fmt).dtype.kind in "iu" else None
        if version == _FORMAT_VERSION and not is_legacy:
            return _Reader(p, f, size).build("/")
        if has_header:
            raise ReadError(p, None, "the root group is not of the format the header states")
    finally:
        f.close()
    if version == 1 and is_legacy:
        return _legacy_build(p, size)
    raise ReadError(p, None, "not a file written by ncmsurf.save (no known storage format)")
