"""File readers (one module per format), the reader registry and NetCDF storage."""

from __future__ import annotations

from ncmsurf.io._table import max_read_bytes, read_limit, set_max_read_bytes
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
    reader_options,
    readers,
    register_reader,
    sniff_scores,
)

__all__ = [
    "KINDS",
    "Reader",
    "SimpleReader",
    "choose_reader",
    "load",
    "max_read_bytes",
    "read",
    "read_cycling",
    "read_eds",
    "read_eis",
    "read_sims",
    "read_limit",
    "read_tem",
    "read_xps",
    "reader_options",
    "readers",
    "register_reader",
    "register_storable",
    "save",
    "set_max_read_bytes",
    "sniff_scores",
    "storable_types",
]
