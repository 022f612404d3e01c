"""Helpers shared by the XPS readers (private): excitation-energy provenance, line splitting, NUL checks.

Every XPS reader records where the photon energy came from in
``meta["excitation_energy_source"]``: ``"file"`` when the file states it,
``"user"`` when the caller passed ``excitation_energy=``, ``"default"`` (Al Kα,
1486.6 eV, with an :class:`ExcitationEnergyWarning`) otherwise.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError
from ncmsurf.core.models import AL_KALPHA

__all__ = ["ExcitationEnergyWarning", "XPSReadWarning", "excitation_energy", "split_lines", "to_float"]

_BREAK = re.compile(r"\r\n|\r|\n")
_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")


class XPSReadWarning(NcmsurfWarning):
    """An XPS file was read, but something in it is ambiguous (stated in ``meta`` too)."""


class ExcitationEnergyWarning(XPSReadWarning):
    """The file does not state the excitation energy; the Al Kα default was used."""


def excitation_energy(path: Path, stated: float | None, user: Any = None, *, where: str = "") -> tuple[float, str]:
    """The photon energy to use and its source (``"file"``, ``"user"`` or ``"default"``).

    A stated value that is not finite and positive (e.g. the VAMAS 1e37
    "unknown") counts as not stated. A user value overrides the file.

    Examples
    --------
    >>> from pathlib import Path
    >>> excitation_energy(Path("x.txt"), 520.0)
    (520.0, 'file')
    """
    if user is not None:
        hv = float(user)
        if not np.isfinite(hv) or hv <= 0:
            raise ReadError(path, None, f"excitation_energy={user!r} must be finite and > 0 eV")
        return hv, "user"
    if stated is not None and np.isfinite(stated) and 0 < stated < 1e6:
        return float(stated), "file"
    warnings.warn(f"{path.name}: the file does not state the excitation energy{where}; using the Al Kα default "
                  f"{AL_KALPHA} eV (meta['excitation_energy_source'] = 'default'); pass excitation_energy= "
                  "if another source was used", ExcitationEnergyWarning, stacklevel=3)
    return AL_KALPHA, "default"


def split_lines(text: str) -> list[str]:
    r"""Split on CR LF, CR or LF only (never on form feeds, U+0085 or other Unicode breaks).

    Examples
    --------
    >>> split_lines("a\r\nb\x0cc\x85d\n")
    ['a', 'b\x0cc\x85d']
    """
    lines = _BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def to_float(path: Path, line: int | None, text: str, what: str) -> float:
    """Parse one finite number or raise a :class:`ReadError` naming the line and the field."""
    s = text.strip()
    if not _NUM.match(s):
        raise ReadError(path, line, f"expected a number for {what}, got {s[:40]!r}")
    v = float(s)
    if not np.isfinite(v):
        raise ReadError(path, line, f"{what} is not finite ({s[:40]!r})")
    return v
