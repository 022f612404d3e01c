"""Battery Data Format (BDF) CSV files as a registered cycling reader.

The format itself (columns, units, writer and reader) is in
:mod:`ncmsurf.cycling` (``to_bdf``, ``read_bdf``); this module registers the
reader so that ``ns.read_cycling("cell.bdf.csv")`` finds it by content.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ncmsurf.io._table import looks_binary
from ncmsurf.io.registry import SimpleReader

__all__ = ["BDF_CSV", "READERS"]


def _sniff_bdf(path: Path, head: bytes) -> float:
    if looks_binary(head[:4096]):
        return 0.0
    from ncmsurf.cycling import _bdf

    first = head.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")
    for delim in (",", "\t", ";"):
        fields = first.split(delim)
        if len(fields) >= 3 and _bdf.bdf_header_ok(fields):
            return 0.97 if all(_bdf.lookup(f) is not None for f in fields) else 0.5
    return 0.0


def _read(path: Path, **kw: Any) -> list[Any]:
    from ncmsurf.cycling import read_bdf

    return [read_bdf(path, **kw)]


BDF_CSV = SimpleReader("bdf-csv", "cycling", (".bdf", ".csv"), _sniff_bdf, _read,
                       "Battery Data Format CSV (Test Time / s, Voltage / V, Current / A, ...)")

READERS = [BDF_CSV]
"""Readers registered under the ``bdf`` entry point."""
