"""The common shape of fit results and the citation registry.

Backends register the paper behind each method with :func:`register_citation`
and list the keys on their results, so a user can print what a number rests
on with :func:`citations`.

Examples
--------
>>> register_citation("shirley1972", "D. A. Shirley, Phys. Rev. B 5, 4709 (1972)")
>>> citations(["shirley1972"])
['D. A. Shirley, Phys. Rev. B 5, 4709 (1972)']
>>> bool(FitStatus(False, "did not converge"))
False
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["FitStatus", "citations", "register_citation"]

_CITATIONS: dict[str, str] = {}


def register_citation(key: str, text: str) -> None:
    """Register (or replace) a reference under ``key``."""
    _CITATIONS[key] = text


def citations(keys: Iterable[str] | None = None) -> list[str]:
    """The references for ``keys`` (all registered ones when None)."""
    if keys is None:
        return list(_CITATIONS.values())
    return [_CITATIONS.get(k, k) for k in keys]


@dataclass(frozen=True)
class FitStatus:
    """Success flag and message; falsy when the fit failed.

    Attributes
    ----------
    success : bool
    message : str
        Why it failed, or a short convergence note.
    """

    success: bool
    message: str = ""

    def __bool__(self) -> bool:
        return self.success
