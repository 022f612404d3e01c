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

This module holds ``save``, ``load`` and the format-2 reader (about 500
lines, kept together because they share the header and group rules); the
tagged-JSON codec, the group layout and checksums, the type registry, the
object assembly and the format-1 reader are the private ``_storage_*``
modules beside it.

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

import hashlib
import json
import math
import os
import re
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import h5netcdf
import h5py
import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.io._storage_build import _assemble
from ncmsurf.io._storage_format1 import _legacy_build
from ncmsurf.io._storage_json import (
    _DTYPE_RE,
    _MAX_DEPTH,
    _Decoder,
    _Encoder,
    _hashable,
    _key_repr,
    decode_attrs,
    encode_attrs,
)
from ncmsurf.io._storage_layout import (
    CHECKSUM as _CHECKSUM,
)
from ncmsurf.io._storage_layout import (
    FORMAT as _FORMAT,
)
from ncmsurf.io._storage_layout import (
    LAYOUT as _LAYOUT,
)
from ncmsurf.io._storage_layout import (
    TYPE as _TYPE,
)
from ncmsurf.io._storage_layout import (
    VERSION as _VERSION,
)
from ncmsurf.io._storage_layout import (
    _check_name,
    _digest,
    _encode_dataset,
    _Group,
    _text_fits,
)
from ncmsurf.io._storage_registry import _tag_of, register_storable, storable_types

__all__ = ["decode_attrs", "encode_attrs", "load", "register_storable", "save", "storable_types"]

_FORMAT_VERSION = 2
_MAGIC = b"NCMSURF-NETCDF\n"
_HEADER_SIZE = 512
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_H5_ERRORS: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, RuntimeError, TypeError,
                                               IndexError, OverflowError, UnicodeError)
"""What h5py raises on a file it cannot parse."""


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
    # a name of this process and thread: concurrent saves to one path do not write into each other's file
    tmp = p.with_name(f"{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
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
        if not isinstance(children_names, list) or len(set(map(str, children_names))) != len(children_names) \
                or not all(isinstance(c, str) and c and "/" not in c and c not in (".", "..") for c in children_names):
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

