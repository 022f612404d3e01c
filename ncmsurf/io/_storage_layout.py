"""What a group holds: variables, real attributes and the JSON layout, and its checksum (private to storage)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.io._storage_json import _ARRAY_KINDS, _DTYPE_RE, _Encoder, _key_repr

MAX_NAME = 256
_MAX_NAME = MAX_NAME
TYPE = "ncmsurf_type"
LAYOUT = "ncmsurf_layout"
CHECKSUM = "ncmsurf_checksum"
FORMAT = "ncmsurf_format"
VERSION = "ncmsurf_version"
_CHECKSUM = CHECKSUM
_RESERVED = frozenset({
    TYPE, LAYOUT, CHECKSUM, FORMAT, VERSION, "coordinates",
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


def _plain_name(key: Any) -> bool:
    """Whether ``key`` can be a real attribute name (not reserved, not hidden, valid in HDF5)."""
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


def _encode_attrs(attrs: Mapping[Any, Any], where: str, enc: _Encoder) -> tuple[list[Any], dict[str, Any]]:
    """Attribute spec for the layout (order, kinds, nested values) and the real attributes to write."""
    spec: list[Any] = []
    real: dict[str, Any] = {}
    for key, value in attrs.items():
        plain = _plain_value(value) if _plain_name(key) else None
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
        spec, real = _encode_attrs(var.attrs, f"{vwhere} attrs", enc)
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
    aspec, real = _encode_attrs(ds.attrs, f"{where} attrs", enc)
    g.attrs.update(real)
    return {"variables": layout_vars, "attrs": aspec}


def _text_fits(count: int, itemsize: int, stored: int) -> bool:
    """Whether a text array padded to ``itemsize`` stays within a fixed multiple of the bytes it is stored in."""
    return count * itemsize <= 8 * (stored + 16 * count) + 65536



# ================================================================ checksums
_X87 = np.finfo(np.longdouble).nmant == 63 and np.dtype(np.longdouble).itemsize in (12, 16)


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
    if a.dtype.kind in "fc" and _X87 and (a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1)) in (12, 16):
        # x87 extended precision: 10 bytes of value, the rest padding that need not survive a copy
        part = a.dtype.itemsize // (2 if a.dtype.kind == "c" else 1)
        raw = np.require(a, dtype=le, requirements="C").reshape(-1).view(np.uint8).reshape(-1, part)[:, :10]
        return b"n" + le.str.encode() + b";" + head + raw.tobytes()
    return b"n" + le.str.encode() + b";" + head + np.require(a, dtype=le, requirements="C").tobytes()


def _digest(path: str, attrs: Mapping[str, Any], variables: Sequence[tuple[str, Any, Mapping[str, Any]]]) -> str:
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


