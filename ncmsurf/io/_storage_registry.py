"""The storage registry: which classes ``ns.save`` stores, under which stable tags (private).

A file names a tag, never a class: ``load`` finds the class in this table
only, so nothing a file says is imported or looked up as an attribute.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

from ncmsurf.core.errors import ValidationError

__all__ = ["register_storable", "storable_types"]

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
"""Tags of the containers ``save`` handles itself."""
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
    "ncmsurf.core.tem:TEMImage": "model:tem",
    "ncmsurf.tem._thickness:CoatingThickness": "result:CoatingThickness",
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
    """``model:<kind>`` for the classes of ``MODEL_TYPES`` and every other model class of ncmsurf's core.

    A model class of ``ncmsurf.core`` that declares its own ``kind`` (e.g. ``TEMImage``, ``"tem"``) is
    storable without further registration; subclasses that inherit a kind are not.
    """
    from ncmsurf.core.models import MODEL_TYPES, Measurement

    out: dict[str, type] = {f"model:{kind}": cls for kind, cls in MODEL_TYPES.items()}
    stack = list(Measurement.__subclasses__())
    while stack:
        cls = stack.pop()
        stack.extend(cls.__subclasses__())
        kind = cls.__dict__.get("kind")
        if isinstance(kind, str) and kind and cls.__module__.startswith("ncmsurf.core.") \
                and f"model:{kind}" not in out:
            out[f"model:{kind}"] = cls
    return out


def _import_engines() -> None:
    """Import the packages whose result classes register themselves with the result core."""
    import ncmsurf.cycling
    import ncmsurf.eds
    import ncmsurf.eis
    import ncmsurf.sims
    import ncmsurf.study
    import ncmsurf.tem
    import ncmsurf.thickness
    import ncmsurf.xps  # noqa: F401


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
    _import_engines()
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
            _import_engines()
            found = _result_core_types().get(tag)
        return found
    return None


