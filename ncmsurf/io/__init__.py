"""File readers (one module per format), the reader registry and NetCDF storage."""

from __future__ import annotations

from ncmsurf.io.netcdf import load, register_storable, save, storable_types
from ncmsurf.io.registry import (
    KINDS,
    Reader,
    SimpleReader,
    choose_reader,
    read,
    read_cycling,
    read_eds,
    read_eis,
    read_sims,
    read_tem,
    read_xps,
    readers,
    register_reader,
)

__all__ = [
    "KINDS",
    "Reader",
    "SimpleReader",
    "choose_reader",
    "load",
    "read",
    "read_cycling",
    "read_eds",
    "read_eis",
    "read_sims",
    "read_tem",
    "read_xps",
    "readers",
    "register_reader",
    "register_storable",
    "save",
    "storable_types",
]
