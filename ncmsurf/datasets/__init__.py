"""Synthetic data: the demo study and the generators the tests and notebooks share.

All data made here are synthetic and labelled as such (``meta["synthetic"]``
and the demo manifest's ``[generator]`` table).

* :func:`demo_study` writes the bundled demo study (instrument formats and a
  ``study.toml``); :func:`demo_truth` gives its generating parameters.
* ``ncmsurf.datasets.xps``, ``.eis``, ``.cycling``, ``.coating``, ``.tem`` hold the
  per-measurement generators (imported on first use); ``.tem`` also the TEM file writers;
  ``.gitt`` the GITT and HPPC pulse trains of a diffusing particle.

Examples
--------
>>> import ncmsurf as ns
>>> ns.datasets.demo_truth()["generator"]["synthetic"]
True
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["coating", "cycling", "demo_study", "demo_truth", "eis", "gitt", "tem", "xps"]

_SUBMODULES = {"xps", "eis", "cycling", "coating", "tem", "gitt"}


def __getattr__(name: str) -> Any:
    """Import the generators on first use."""
    if name in ("demo_study", "demo_truth"):
        return getattr(importlib.import_module("ncmsurf.datasets.demo"), name)
    if name in _SUBMODULES:
        return importlib.import_module(f"ncmsurf.datasets.{name}")
    raise AttributeError(f"module 'ncmsurf.datasets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
