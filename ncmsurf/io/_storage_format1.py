"""Reading files of storage format 1 (before checksums; class paths instead of tags) (private).

Format 1 named classes by module path; the paths ncmsurf wrote are mapped to
registry tags by an exact table (:data:`ncmsurf.io._storage_registry._LEGACY_CLASSES`),
never imported.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError
from ncmsurf.io._storage_build import _build_registered
from ncmsurf.io._storage_json import _MAX_DEPTH, _Decoder
from ncmsurf.io._storage_registry import _LEGACY_CLASSES, _class_for

_H5_ERRORS: tuple[type[BaseException], ...] = (OSError, KeyError, ValueError, RuntimeError, TypeError,
                                               IndexError, OverflowError, UnicodeError)

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
    # models and studies kept their format-1 layout: they must store back exactly; result classes upgrade the
    # layouts written before the result core, so for them the class's own checks decide
    exact = tag.split(":", 1)[0] in ("model", "study")
    return _build_registered(path, group, tag, cls, ds, children, child_names, exact=exact)


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


