"""Errors raised by ncmsurf.

Every error the package raises on purpose derives from :class:`NcmsurfError`;
the concrete kinds also derive from :class:`ValueError` so that generic
``except ValueError`` handlers keep working.

Examples
--------
>>> from ncmsurf.core.errors import ReadError
>>> err = ReadError("cell.csv", 12, "expected 3 columns, found 2")
>>> str(err)
'cell.csv, line 12: expected 3 columns, found 2'
>>> err.line
12
"""

from __future__ import annotations

import os

__all__ = ["FitError", "NcmsurfError", "NcmsurfWarning", "ReadError", "ValidationError"]


class NcmsurfError(Exception):
    """Base class of every error raised by ncmsurf."""


class NcmsurfWarning(UserWarning):
    """Base class of ncmsurf's warnings (unsafe reference, parameter at bound, ...)."""


class ValidationError(NcmsurfError, ValueError):
    """A value given to ncmsurf is not acceptable (names the field and index)."""


class FitError(NcmsurfError, ValueError):
    """A fit cannot be set up or run (wrong model, wrong region, bad data)."""


class ReadError(NcmsurfError, ValueError):
    """A file cannot be read.

    Parameters
    ----------
    path : str or os.PathLike
        The file that failed.
    line : int or None
        1-based line number where the problem was found (``None`` when the
        problem concerns the whole file or a binary file).
    reason : str
        What was wrong.
    """

    def __init__(self, path: str | os.PathLike[str], line: int | None, reason: str) -> None:
        self.path = os.fspath(path)
        self.line = line
        self.reason = reason
        where = self.path if line is None else f"{self.path}, line {line}"
        super().__init__(f"{where}: {reason}")

    def __reduce__(self) -> tuple[type[ReadError], tuple[str, int | None, str]]:
        return (type(self), (self.path, self.line, self.reason))
