"""Lossless NetCDF storage of models, fit results, studies and lists of them.

Objects are stored as NetCDF-4 (HDF5) groups written with h5netcdf:

* any object with ``to_dataset()`` and a ``from_dataset(ds)`` classmethod is
  storable; its class path is kept in the group's attributes;
* composite objects add ``_storage_children() -> dict[str, object]`` and a
  ``_from_storage(ds, children)`` classmethod; their children go in subgroups;
* lists and tuples of storable objects, plain ``xarray`` objects and
  dictionaries of storable objects are storable too.

Complex variables are split into real and imaginary parts, attributes of any
nesting (dicts, lists, tuples, arrays, quantities, samples, None, bool) are
kept as tagged JSON, and each variable's dtype is restored exactly.

Examples
--------
>>> import tempfile, os, numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> z = ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], meta={"cell": {"id": 3}})
>>> path = save(z, os.path.join(tempfile.mkdtemp(), "z.nc"))
>>> load(path) == z
True
"""

from __future__ import annotations

import base64
import datetime as _dt
import importlib
import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pint
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import ureg

__all__ = ["decode_attrs", "encode_attrs", "load", "save"]

_CLASS = "ncmsurf_class"
_ATTRS = "ncmsurf_attrs"
_DTYPE = "ncmsurf_dtype"
_COMPLEX = "ncmsurf_complex"
_FORMAT = "ncmsurf_format"
_FORMAT_VERSION = 1


# --------------------------------------------------------------------- JSON
def _to_json(obj: Any) -> Any:
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, int) and not isinstance(obj, bool):
        return obj
    if isinstance(obj, float):
        if math.isfinite(obj):
            return obj
        return {"__float__": repr(obj)}
    if isinstance(obj, complex):
        return {"__complex__": [_to_json(obj.real), _to_json(obj.imag)]}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in "OUS":
            return {"__ndarray__": [_to_json(x) for x in obj.ravel().tolist()], "dtype": obj.dtype.str,
                    "shape": list(obj.shape)}
        return {"__ndarray_b64__": base64.b64encode(np.ascontiguousarray(obj).tobytes()).decode("ascii"),
                "dtype": obj.dtype.str, "shape": list(obj.shape)}
    if isinstance(obj, np.generic):
        return {"__npscalar__": _to_json(obj.item() if obj.dtype.kind != "c" else complex(obj)),
                "dtype": obj.dtype.str}
    if isinstance(obj, pint.Quantity):
        return {"__quantity__": _to_json(obj.magnitude), "units": str(obj.units)}
    if isinstance(obj, Sample):
        return {"__sample__": obj.label}
    if isinstance(obj, _dt.datetime):
        return {"__datetime__": obj.isoformat()}
    if isinstance(obj, _dt.date):
        return {"__date__": obj.isoformat()}
    if isinstance(obj, Path):
        return {"__path__": str(obj)}
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(x) for x in obj]}
    if isinstance(obj, list):
        return [_to_json(x) for x in obj]
    if isinstance(obj, Mapping):
        keys = list(obj)
        if all(isinstance(k, str) for k in keys) and not any(k.startswith("__") and k.endswith("__") for k in keys):
            return {k: _to_json(obj[k]) for k in keys}
        return {"__dict__": [[_to_json(k), _to_json(v)] for k, v in obj.items()]}
    raise ValidationError(f"metadata value of type {type(obj).__name__} cannot be stored: {obj!r}")


def _from_json(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_from_json(x) for x in obj]
    if not isinstance(obj, dict):
        return obj
    if "__float__" in obj:
        return float(obj["__float__"])
    if "__complex__" in obj:
        re_, im = obj["__complex__"]
        return complex(_from_json(re_), _from_json(im))
    if "__ndarray_b64__" in obj:
        raw = base64.b64decode(obj["__ndarray_b64__"])
        return np.frombuffer(raw, dtype=np.dtype(obj["dtype"])).reshape(obj["shape"]).copy()
    if "__ndarray__" in obj:
        return np.array([_from_json(x) for x in obj["__ndarray__"]], dtype=np.dtype(obj["dtype"])).reshape(obj["shape"])
    if "__npscalar__" in obj:
        return np.dtype(obj["dtype"]).type(_from_json(obj["__npscalar__"]))
    if "__quantity__" in obj:
        return ureg.Quantity(_from_json(obj["__quantity__"]), obj["units"])
    if "__sample__" in obj:
        return Sample.parse(obj["__sample__"])
    if "__datetime__" in obj:
        return _dt.datetime.fromisoformat(obj["__datetime__"])
    if "__date__" in obj:
        return _dt.date.fromisoformat(obj["__date__"])
    if "__path__" in obj:
        return Path(obj["__path__"])
    if "__tuple__" in obj:
        return tuple(_from_json(x) for x in obj["__tuple__"])
    if "__dict__" in obj:
        return {_hashable(_from_json(k)): _from_json(v) for k, v in obj["__dict__"]}
    return {k: _from_json(v) for k, v in obj.items()}


def _hashable(x: Any) -> Any:
    return tuple(_hashable(i) for i in x) if isinstance(x, list) else x


def encode_attrs(attrs: Mapping[str, Any]) -> str:
    """Encode an attribute dict of any nesting as tagged JSON.

    Examples
    --------
    >>> decode_attrs(encode_attrs({"a": (1, None), "b": {"c": float("nan")}}))["a"]
    (1, None)
    """
    return json.dumps(_to_json(dict(attrs)), allow_nan=False)


def decode_attrs(text: str) -> dict[str, Any]:
    """Inverse of :func:`encode_attrs`."""
    out = _from_json(json.loads(text))
    assert isinstance(out, dict)
    return out


# ------------------------------------------------------------------ datasets
def _encode_dataset(ds: xr.Dataset) -> xr.Dataset:
    out_vars: dict[str, xr.Variable] = {}
    coord_names: set[str] = set()
    for name, var in list(ds.variables.items()):
        name = str(name)
        values = np.asarray(var.values)
        attrs = {_ATTRS: encode_attrs(var.attrs), _DTYPE: values.dtype.str}
        if values.dtype.kind == "c":
            for part, arr in (("real", values.real), ("imag", values.imag)):
                key = f"{name}__{part}"
                out_vars[key] = xr.Variable(var.dims, np.ascontiguousarray(arr), attrs | {_COMPLEX: part})
            continue
        if values.dtype.kind == "b":
            values = values.astype(np.int8)
        elif values.dtype.kind == "U":
            values = values.astype(object)
        elif values.dtype.kind == "M" or values.dtype.kind == "m":
            values = values.view(np.int64)
        elif values.dtype.kind == "O":
            raise ValidationError(f"variable {name!r}: object arrays cannot be stored")
        out_vars[name] = xr.Variable(var.dims, values, attrs)
        if name in ds.coords:
            coord_names.add(name)
    data_vars = {k: v for k, v in out_vars.items() if k not in coord_names}
    coords = {k: v for k, v in out_vars.items() if k in coord_names}
    enc = xr.Dataset(data_vars, coords=coords)
    enc.attrs = {_ATTRS: encode_attrs(ds.attrs), "ncmsurf_order": json.dumps([str(k) for k in ds.variables]),
                 "ncmsurf_coords": json.dumps([str(k) for k in ds.coords])}
    return enc


def _decode_dataset(enc: xr.Dataset) -> xr.Dataset:
    variables: dict[str, xr.Variable] = {}
    complex_parts: dict[str, dict[str, xr.Variable]] = {}
    for name, var in enc.variables.items():
        attrs = dict(var.attrs)
        part = attrs.get(_COMPLEX)
        if part is not None:
            base = str(name)[: -len(part) - 2]
            complex_parts.setdefault(base, {})[str(part)] = var
            continue
        variables[str(name)] = _restore_var(var, np.asarray(var.values))
    for base, parts in complex_parts.items():
        v = parts["real"]
        values = np.asarray(v.values) + 1j * np.asarray(parts["imag"].values)
        variables[base] = _restore_var(v, values)
    order = json.loads(enc.attrs.get("ncmsurf_order", "[]")) or list(variables)
    coord_names = set(json.loads(enc.attrs.get("ncmsurf_coords", "[]")))
    ordered = [k for k in order if k in variables] + [k for k in variables if k not in order]
    ds = xr.Dataset(
        {k: variables[k] for k in ordered if k not in coord_names},
        coords={k: variables[k] for k in ordered if k in coord_names},
    )
    ds.attrs = decode_attrs(enc.attrs[_ATTRS]) if _ATTRS in enc.attrs else dict(enc.attrs)
    return ds


def _restore_var(var: xr.Variable, values: np.ndarray) -> xr.Variable:
    attrs = dict(var.attrs)
    dtype = np.dtype(attrs.pop(_DTYPE, values.dtype.str))
    attrs.pop(_COMPLEX, None)
    meta = decode_attrs(attrs.pop(_ATTRS)) if _ATTRS in attrs else attrs
    if dtype.kind in "Mm":
        values = np.asarray(values, dtype=np.int64).view(dtype)
    elif dtype.kind == "U":
        values = np.asarray([str(x) for x in values.ravel()], dtype=dtype).reshape(values.shape)
    else:
        values = values.astype(dtype, copy=False)
    return xr.Variable(var.dims, values, meta)


# --------------------------------------------------------------- object tree
def _class_path(obj: Any) -> str:
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def _import_class(path: str, file: str) -> Any:
    module, _, qual = path.partition(":")
    if not (module == "ncmsurf" or module.startswith("ncmsurf.") or module in ("xarray.core.dataarray",
                                                                                 "xarray.core.dataset")):
        raise ReadError(file, None, f"refusing to load class {path!r} from outside ncmsurf")
    try:
        obj: Any = importlib.import_module(module)
        for part in qual.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise ReadError(file, None, f"stored class {path!r} is not available in this ncmsurf") from exc
    return obj


def _flatten(obj: Any, group: str, out: list[tuple[str, xr.Dataset]]) -> None:
    children: Mapping[str, Any] = {}
    extra: dict[str, Any]
    if isinstance(obj, xr.DataArray):
        name = obj.name if obj.name is not None else "__xarray_dataarray__"
        ds = obj.to_dataset(name=name)
        ds.attrs = dict(obj.attrs)
        cls = "xarray:DataArray"
        extra = {"ncmsurf_dataarray_name": "" if obj.name is None else str(obj.name)}
    elif isinstance(obj, xr.Dataset):
        ds, cls, extra = obj, "xarray:Dataset", {}
    elif hasattr(obj, "to_dataset") and hasattr(type(obj), "from_dataset"):
        ds, cls, extra = obj.to_dataset(), _class_path(obj), {}
        if hasattr(obj, "_storage_children"):
            children = obj._storage_children()
    elif isinstance(obj, (list, tuple)):
        ds, cls, extra = xr.Dataset(), "builtins:" + type(obj).__name__, {"ncmsurf_len": len(obj)}
        children = {f"item{i:05d}": x for i, x in enumerate(obj)}
    elif isinstance(obj, dict):
        keys = list(obj)
        if not all(isinstance(k, str) for k in keys):
            raise ValidationError("save: dictionary keys must be strings")
        ds, cls, extra = xr.Dataset(), "builtins:dict", {"ncmsurf_keys": json.dumps(keys)}
        children = {f"item{i:05d}": obj[k] for i, k in enumerate(keys)}
    else:
        raise ValidationError(f"save: objects of type {type(obj).__name__} cannot be stored")
    enc = _encode_dataset(ds)
    enc.attrs[_CLASS] = cls
    enc.attrs["ncmsurf_children"] = json.dumps(list(children))
    for k, v in extra.items():
        enc.attrs[k] = v
    out.append((group, enc))
    for key, child in children.items():
        if "/" in key or not key:
            raise ValidationError(f"save: child name {key!r} is not a valid group name")
        _flatten(child, f"{group.rstrip('/')}/{key}", out)


def save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """Store a model, fit result, study, xarray object or a list/dict of them.

    Parameters
    ----------
    obj : object
        Anything ncmsurf produces (see module docstring).
    path : str or path-like
        Target file (``.nc`` by convention); overwritten if present.

    Returns
    -------
    pathlib.Path
        The path written, so that ``ns.load(ns.save(x, p)) == x``.

    Raises
    ------
    ValidationError
        If the object (or a metadata value in it) cannot be stored.
    """
    from ncmsurf import __version__

    p = Path(path)
    groups: list[tuple[str, xr.Dataset]] = []
    _flatten(obj, "/", groups)
    tmp = p.with_name(p.name + ".tmp")
    try:
        encodings: dict[str, dict[str, dict[str, Any]]] = {}
        for group, enc in groups:
            if group == "/":
                enc.attrs[_FORMAT] = _FORMAT_VERSION
                enc.attrs["ncmsurf_version"] = __version__
            encodings[group] = {str(k): {"_FillValue": None} for k in enc.variables
                                if np.asarray(enc[k].values).dtype.kind in "fc"}
        try:
            # one file session for every group (fast for studies with hundreds of children)
            tree = xr.DataTree.from_dict({g: enc for g, enc in groups})
            tree.to_netcdf(tmp, engine="h5netcdf", encoding=encodings)
        except ValueError:
            # groups whose coordinates do not align as a tree: write them one by one
            for i, (group, enc) in enumerate(groups):
                enc.to_netcdf(tmp, mode="w" if i == 0 else "a", group=None if group == "/" else group,
                              engine="h5netcdf", encoding=encodings[group])
        os.replace(tmp, p)
    finally:
        if tmp.exists():
            tmp.unlink()
    return p


def _open_groups(path: Path) -> dict[str, xr.Dataset]:
    try:
        groups = xr.open_groups(path, engine="h5netcdf", decode_cf=False, mask_and_scale=False, decode_times=False)
    except (OSError, ValueError, KeyError) as exc:
        raise ReadError(path, None, f"cannot read the file's groups: {exc}") from exc
    try:
        return {g: ds.load() for g, ds in groups.items()}
    finally:
        for ds in groups.values():
            ds.close()


def _build(path: Path, group: str, groups: dict[str, xr.Dataset]) -> Any:
    enc = groups.get(group)
    if enc is None:
        raise ReadError(path, None, f"group {group!r} is missing from the file")
    cls_path = enc.attrs.get(_CLASS)
    if not isinstance(cls_path, str):
        raise ReadError(path, None, f"group {group!r} is not an ncmsurf object (no {_CLASS} attribute)")
    ds = _decode_dataset(enc)
    child_names = json.loads(enc.attrs.get("ncmsurf_children", "[]"))
    children = {k: _build(path, f"{group.rstrip('/')}/{k}", groups) for k in child_names}
    if cls_path == "xarray:Dataset":
        return ds
    if cls_path == "xarray:DataArray":
        name = enc.attrs.get("ncmsurf_dataarray_name", "")
        key = name if name else "__xarray_dataarray__"
        da = ds[key]
        da.attrs = dict(ds.attrs)
        return da.rename(name if name else None)
    if cls_path in ("builtins:list", "builtins:tuple"):
        items = [children[k] for k in child_names]
        return items if cls_path == "builtins:list" else tuple(items)
    if cls_path == "builtins:dict":
        keys = json.loads(enc.attrs["ncmsurf_keys"])
        return {k: children[c] for k, c in zip(keys, child_names)}
    cls = _import_class(cls_path, str(path))
    try:
        if children or hasattr(cls, "_from_storage"):
            return cls._from_storage(ds, children)
        return cls.from_dataset(ds)
    except NcmsurfError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise ReadError(path, None, f"group {group!r} does not hold a valid {cls_path}: {exc}") from exc


def load(path: str | os.PathLike[str]) -> Any:
    """Load an object written by :func:`save`.

    Raises
    ------
    ReadError
        If the file is missing, not NetCDF, or not written by ncmsurf.
    """
    p = Path(path)
    if not p.is_file():
        raise ReadError(p, None, "no such file")
    with open(p, "rb") as fh:
        head = fh.read(8)
    if head[:8] != b"\x89HDF\r\n\x1a\n":
        raise ReadError(p, None, "not a NetCDF-4/HDF5 file written by ncmsurf.save")
    return _build(p, "/", _open_groups(p))
