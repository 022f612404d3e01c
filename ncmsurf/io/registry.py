"""Reader registry: entry points, content sniffing and dispatch.

Readers are objects with ``name``, ``kind`` (``"xps"``, ``"eis"``,
``"cycling"``, ``"sims"``, ``"eds"``), ``extensions``, ``sniff(path, head)``
returning a confidence in [0, 1], and ``read(path, **options)`` returning a
list of models. They are found through the ``ncmsurf.readers`` entry-point
group; each entry point names a reader or a sequence of readers, so a lab
package can add its own format without touching ncmsurf::

    [project.entry-points."ncmsurf.readers"]
    mylab = "mylab.readers:READERS"

Examples
--------
>>> names = [r.name for r in readers(kind="eis")]
>>> "eis-text" in names
True
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ncmsurf.core.errors import NcmsurfError, NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import Measurement

__all__ = [
    "KINDS",
    "Reader",
    "ReaderWarning",
    "SimpleReader",
    "read",
    "read_cycling",
    "read_eds",
    "read_eis",
    "read_sims",
    "read_tem",
    "read_xps",
    "readers",
    "register_reader",
]

KINDS = ("xps", "eis", "cycling", "sims", "eds", "tem")
HEAD_BYTES = 65536
ENTRY_POINT_GROUP = "ncmsurf.readers"


class ReaderWarning(NcmsurfWarning):
    """A reader plugin could not be loaded, or a file needed a repair."""


@runtime_checkable
class Reader(Protocol):
    """What a reader provides."""

    name: str
    kind: str
    extensions: tuple[str, ...]

    def sniff(self, path: Path, head: bytes) -> float:
        """Confidence in [0, 1] that ``path`` (whose first bytes are ``head``) is this format."""
        ...

    def read(self, path: Path, **options: Any) -> list[Measurement]:
        """Read the file into models (raise ReadError on bad content)."""
        ...


@dataclass(frozen=True)
class SimpleReader:
    """A reader built from two functions.

    Parameters
    ----------
    name : str
        Unique reader name, e.g. ``"vamas"``.
    kind : str
        Model kind it returns.
    extensions : tuple of str
        Lower-case suffixes including the dot (a hint only).
    sniff_func : callable
        ``(path, head) -> float``.
    read_func : callable
        ``(path, **options) -> list[Measurement]``.
    description : str
        One line for ``ncmsurf info`` and the docs.
    """

    name: str
    kind: str
    extensions: tuple[str, ...]
    sniff_func: Any = field(repr=False)
    read_func: Any = field(repr=False)
    description: str = ""

    def sniff(self, path: Path, head: bytes) -> float:
        """Delegate to ``sniff_func``."""
        return float(self.sniff_func(path, head))

    def read(self, path: Path, **options: Any) -> list[Measurement]:
        """Delegate to ``read_func``."""
        out = self.read_func(path, **options)
        return list(out) if isinstance(out, (list, tuple)) else [out]


_EXTRA: list[Reader] = []
_CACHE: list[Reader] | None = None


def register_reader(reader: Reader) -> None:
    """Register a reader at run time (entry points are the usual way).

    Raises
    ------
    ValidationError
        If it lacks the reader attributes or has an unknown kind.
    """
    global _CACHE
    if not isinstance(reader, Reader):
        raise ValidationError(f"register_reader: {reader!r} does not provide name/kind/extensions/sniff/read")
    if reader.kind not in KINDS:
        raise ValidationError(f"register_reader: kind must be one of {KINDS}, got {reader.kind!r}")
    _EXTRA.append(reader)
    _CACHE = None


def _load_entry_points() -> list[Reader]:
    found: list[Reader] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break ncmsurf
            warnings.warn(f"reader plugin {ep.name!r} ({ep.value}) could not be loaded: {exc}", ReaderWarning,
                          stacklevel=3)
            continue
        items = obj if isinstance(obj, Sequence) and not isinstance(obj, str) else [obj]
        for r in items:
            if isinstance(r, Reader) and r.kind in KINDS:
                found.append(r)
            else:
                warnings.warn(f"reader plugin {ep.name!r} gave an invalid reader {r!r}", ReaderWarning, stacklevel=3)
    return found


def readers(*, kind: str | None = None) -> list[Reader]:
    """All registered readers, optionally of one model kind.

    Examples
    --------
    >>> sorted({r.kind for r in readers()}) == sorted(KINDS)
    True
    """
    global _CACHE
    if _CACHE is None:
        _CACHE = _load_entry_points()
    allr = list(_CACHE) + list(_EXTRA)
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"kind must be one of {KINDS}, got {kind!r}")
    return [r for r in allr if kind is None or r.kind == kind]


def _head(path: Path) -> bytes:
    if not path.exists():
        raise ReadError(path, None, "no such file")
    if path.is_dir():
        raise ReadError(path, None, "is a directory, not a file")
    try:
        with open(path, "rb") as fh:
            return fh.read(HEAD_BYTES)
    except OSError as exc:
        raise ReadError(path, None, f"cannot open: {exc.strerror or exc}") from exc


def choose_reader(path: str | os.PathLike[str], *, kind: str | None = None, fmt: str | None = None) -> Reader:
    """Pick the reader for ``path`` by content (and suffix as a tie-breaker).

    Raises
    ------
    ReadError
        If the file is empty or no reader recognises it.
    """
    p = Path(path)
    head = _head(p)
    if not head.strip():
        raise ReadError(p, 1 if head else None, "file is empty")
    cands = readers(kind=kind)
    if fmt is not None:
        named = [r for r in cands if r.name == fmt]
        if not named:
            raise ReadError(p, None, f"no reader named {fmt!r}; available: {sorted(r.name for r in cands)}")
        return named[0]
    best: tuple[float, int, Reader] | None = None
    for i, r in enumerate(cands):
        try:
            score = float(r.sniff(p, head))
        except Exception:  # a sniffer must never break dispatch
            score = 0.0
        if score > 0 and (best is None or score > best[0]):
            best = (score, i, r)
    if best is None:
        what = f"{kind} " if kind else ""
        fmts = ", ".join(sorted({r.name for r in cands}))
        binary = b"\x00" in head[:4096]
        raise ReadError(p, None, ("binary file " if binary else "")
                        + f"not recognised as any supported {what}format ({fmts})")
    return best[2]


def read(path: str | os.PathLike[str], *, kind: str | None = None, format: str | None = None,
         **options: Any) -> list[Measurement]:
    """Read any supported file into a list of models.

    Parameters
    ----------
    path : str or path-like
        The file.
    kind : {"xps", "eis", "cycling", "sims", "eds"}, optional
        Restrict to readers of one model kind.
    format : str, optional
        Force a reader by name instead of sniffing.
    **options
        Passed to the reader (e.g. ``mass=``, ``area=``, ``sample=``).

    Returns
    -------
    list of models

    Raises
    ------
    ReadError
        With the path, line and reason when the file is empty, unknown,
        truncated or malformed.
    """
    p = Path(path)
    reader = choose_reader(p, kind=kind, fmt=format)
    try:
        out = reader.read(p, **options)
    except NcmsurfError:
        raise
    except (UnicodeDecodeError, IndexError, KeyError, ValueError, TypeError, OverflowError, EOFError) as exc:
        raise ReadError(p, None, f"{reader.name} reader failed: {type(exc).__name__}: {exc}") from exc
    except OSError as exc:
        raise ReadError(p, None, f"{reader.name} reader failed: {exc}") from exc
    if not out:
        raise ReadError(p, None, f"{reader.name}: no data found in file")
    return out


def _one(models: list[Measurement], path: str | os.PathLike[str], what: str) -> Measurement:
    if len(models) != 1:
        raise ReadError(path, None, f"expected one {what} in the file, found {len(models)}; use ncmsurf.read")
    return models[0]


def read_xps(path: str | os.PathLike[str], **options: Any) -> list[Any]:
    """Read an XPS file (VAMAS, SPECS .xy, two-column text exports) into spectra."""
    return read(path, kind="xps", **options)


def read_eis(path: str | os.PathLike[str], **options: Any) -> list[Any]:
    """Read an impedance file into spectra (``area=`` in cm² to attach the electrode area)."""
    return read(path, kind="eis", **options)


def read_cycling(path: str | os.PathLike[str], *, mass: Any = None, **options: Any) -> Any:
    """Read a cycler record into one :class:`~ncmsurf.core.models.CyclingData` (``mass`` in g)."""
    if mass is not None:
        options["mass"] = mass
    return _one(read(path, kind="cycling", **options), path, "cycling record")


def read_sims(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read a ToF-SIMS depth profile."""
    return _one(read(path, kind="sims", **options), path, "depth profile")


def read_eds(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read EDS element maps."""
    return _one(read(path, kind="eds", **options), path, "element map set")


def read_tem(path: str | os.PathLike[str], **options: Any) -> Any:
    """Read one TEM image (.dm3, .dm4, .emd, calibrated TIFF) into a :class:`~ncmsurf.core.tem.TEMImage`."""
    return _one(read(path, kind="tem", **options), path, "TEM image")
