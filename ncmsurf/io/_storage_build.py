"""Objects from decoded groups: containers, registered classes, and the check that they store back (private)."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from ncmsurf.core.errors import NcmsurfError, ReadError
from ncmsurf.io._storage_json import _Decoder, _hashable, _same_dataset
from ncmsurf.io._storage_registry import _CONTAINERS, _class_for

_BUILD_ERRORS: tuple[type[BaseException], ...] = (KeyError, ValueError, TypeError, IndexError, OverflowError,
                                                  ZeroDivisionError, AttributeError, RecursionError)
"""What a class's ``from_dataset`` raises on a dataset it cannot describe."""
_CHECK_ERRORS: tuple[type[BaseException], ...] = (NcmsurfError, *_BUILD_ERRORS)


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
                      child_names: list[str], *, exact: bool = True) -> Any:
    """Build ``cls`` from a decoded group; with ``exact``, also check that it stores back to the same group.

    ``exact=False`` is for format-1 result layouts, which the result classes upgrade on reading.
    """
    def fail(reason: str) -> ReadError:
        return ReadError(path, None, f"group {group!r}: {reason}")

    what = f"a valid {cls.__name__} ({tag})"
    try:
        obj: Any
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
    built: Any = obj
    if not exact:
        return built
    # the object must store back to exactly this group: nothing ignored, defaulted or changed
    try:
        again = built.to_dataset()
        kids = built._storage_children() if callable(getattr(built, "_storage_children", None)) else {}
    except _CHECK_ERRORS as exc:
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


