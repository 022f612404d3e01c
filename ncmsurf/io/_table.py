r"""The strict text-table core every text reader uses (private to :mod:`ncmsurf.io`).

A reader either returns exactly what the file holds or raises
:class:`~ncmsurf.core.errors.ReadError` naming the file, the line and what was
wrong. This module is the one place where text tables are cut into rows and
cells, so that every text reader gets the same rules:

* **Bounded reads.** :func:`read_bytes` refuses FIFOs, devices and other
  non-regular files (no hang, no unbounded read) and files larger than the
  configurable limit (:func:`set_max_read_bytes`, :func:`read_limit`, the
  ``NCMSURF_MAX_READ_BYTES`` environment variable; default
  :data:`DEFAULT_MAX_BYTES`).
* **Text.** :class:`TextFile` decodes UTF-8 (with or without BOM), UTF-16
  with a BOM, else cp1252 (Latin-1 for the five bytes cp1252 leaves
  undefined), rejects NUL bytes anywhere (a NUL-padded tail is a damaged
  file) with their line, and splits lines on CR, LF and CRLF only: U+0085
  (cp1252 "…" decoded as Latin-1), form feeds and the other characters
  :meth:`str.splitlines` treats as breaks stay inside their line.
* **Header by content and position.** :func:`find_table` finds the data
  block as the first run of rows whose field count is the data's and whose
  cells are mostly numbers, and takes the line just above it as the header
  only if it has exactly that many fields (or is a unit line under such a
  header, or a ``#`` comment naming the columns). A data row with one bad
  cell is still a data row (and an error), never the header; a damaged line
  above the data (wrong field count, a number where names belong) is an
  error, never silently skipped.
* **Every row checked.** Each non-blank line of the body must have exactly
  the header's field count (a short or long row is a ``ReadError`` naming
  the line and showing its fields); a line that is not a row (a second
  table, trailing garbage) is an error.
* **Decimal mark per file.** ``"."`` or ``","`` is decided once for the
  whole file from its cells (a comma-delimited file always has ``"."``); a
  cell written with the other mark is a bad cell, never re-read.
* **The end of the file.** When the last line has no line end, its numbers
  are checked against the format of the same column in the rows above
  (exponent present, exponent digits, no fewer mantissa digits), so a
  number cut inside its exponent (``-3.43e-0`` for ``-3.43e-03``) is an
  error.
* **Optional columns.** :meth:`Table.column` returns a column that must be
  complete (``ReadError`` on the first bad cell); :meth:`Table.optional`
  returns every further numeric column that is complete and drops the
  others with a :class:`TableWarning` naming the column and its first bad
  line.
* **A fast path.** Large clean files (``fast_rows`` data rows and more) are
  parsed with pyarrow's multi-threaded CSV reader straight into float
  arrays; whenever pyarrow objects to anything (a bad cell, a wrong field
  count, a blank line, a quote) the checked path runs and names the line.
  Both paths accept exactly the same files and give identical arrays.

Numbers are strict decimal literals (``[-+]digits[.digits][e[-+]digits]``,
ASCII digits only); ``nan``/``inf`` are refused unless a caller allows them
(:meth:`Table.column` with ``allow_nonfinite=True``).

The API (stable: extend, do not rename):

* :func:`read_bytes`, :func:`check_regular_file`, :func:`max_read_bytes`,
  :func:`set_max_read_bytes`, :func:`read_limit` — bounded reading.
* :class:`TextFile` (``TextFile.open(path)``; ``.lines``, ``.text``,
  ``.encoding``, ``.terminated``) and :func:`split_lines`.
* :func:`find_table` (header found by content) and :func:`table_at` (header
  and body at known lines, for instrument formats), both returning a
  :class:`Table`.
* :class:`Table`: ``names``, ``units``, ``kinds``, ``line_numbers``,
  ``nrows``, ``header_line``, ``first_line``, ``header_lines``,
  ``delimiter``, ``decimal``, ``column()``, ``integers()``, ``text()``,
  ``optional()``, ``layout()``.
* Helpers: :func:`split_fields`, :func:`is_number`, :func:`split_name_unit`,
  :func:`find_column`, :func:`looks_binary`, :func:`decode_text`; the older
  :func:`parse_table` (every numeric column required) is kept.

Examples
--------
A header found by content; ``-Z''`` and units stay with their columns:

>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "z.csv"
>>> _ = p.write_text("sample: A\nfreq/kHz,Z'/Ohm,-Z''/Ohm\n1,10,1\n0.1,12,3\n0.01,15,5\n")
>>> t = find_table(p)
>>> t.names, t.header_line, t.first_line, t.units[0]
(['freq/kHz', "Z'/Ohm", "-Z''/Ohm"], 2, 3, 'kHz')
>>> t.column("freq/kHz").tolist(), t.line_numbers.tolist()
([1.0, 0.1, 0.01], [3, 4, 5])

A bad cell in the first data row is an error on that line, not a header:

>>> _ = p.write_text("freq,Zre,Zim\n1000,1O,-1\n100,11,-2\n10,12,-3\n")
>>> find_table(p).column("Zre")
Traceback (most recent call last):
...
ncmsurf.core.errors.ReadError: ...z.csv, line 2: column 'Zre': '1O' is not a number

A row with a missing field names the line and its fields:

>>> _ = p.write_text("freq,Zre,Zim\n1000,10,-1\n100,11\n10,12,-3\n")
>>> find_table(p)
Traceback (most recent call last):
...
ncmsurf.core.errors.ReadError: ...z.csv, line 3: truncated data row: expected 3 columns, found 2: ['100', '11'] ...

Decimal commas are decided per file:

>>> _ = p.write_text("E (eV)\tI\n870,5\t10\n870,4\t12\n870,3\t15\n")
>>> t = find_table(p)
>>> t.decimal, t.column(0).tolist()
(',', [870.5, 870.4, 870.3])

An incomplete optional column is dropped with a warning naming it:

>>> import warnings
>>> _ = p.write_text("t,V,T\n0,3.0,25\n1,3.1,x\n2,3.2,26\n")
>>> t = find_table(p)
>>> with warnings.catch_warnings(record=True) as w:
...     warnings.simplefilter("always")
...     extra = t.optional(exclude=["t", "V"])
>>> extra, str(w[0].message).split(": ", 1)[1]
({}, "column 'T' dropped: line 3: 'x' is not a number")
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
import re
import stat
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError

__all__ = [
    "DEFAULT_MAX_BYTES",
    "Table",
    "TableWarning",
    "TextFile",
    "check_regular_file",
    "decode_text",
    "find_column",
    "find_table",
    "is_number",
    "looks_binary",
    "max_read_bytes",
    "parse_table",
    "read_bytes",
    "read_limit",
    "set_max_read_bytes",
    "split_fields",
    "split_lines",
    "split_name_unit",
    "table_at",
]


class TableWarning(NcmsurfWarning):
    """A text table was read, but part of it was left out (an incomplete optional column)."""


# ===================================================================== bounded reading
#: Default largest file (bytes) a reader loads into memory: 512 MiB.
DEFAULT_MAX_BYTES = 512 << 20

_LIMIT: contextvars.ContextVar[int | None] = contextvars.ContextVar("ncmsurf_max_read_bytes", default=None)
_GLOBAL_LIMIT: list[int | None] = [None]


def max_read_bytes() -> int:
    """The size limit in force (bytes): :func:`read_limit`, else :func:`set_max_read_bytes`, else the environment.

    The environment variable ``NCMSURF_MAX_READ_BYTES`` sets the default
    for a process; :data:`DEFAULT_MAX_BYTES` applies otherwise.

    Examples
    --------
    >>> with read_limit(1000):
    ...     max_read_bytes()
    1000
    """
    v = _LIMIT.get()
    if v is not None:
        return v
    if _GLOBAL_LIMIT[0] is not None:
        return _GLOBAL_LIMIT[0]
    env = os.environ.get("NCMSURF_MAX_READ_BYTES")
    if env:
        with contextlib.suppress(ValueError):
            return max(int(float(env)), 0)
    return DEFAULT_MAX_BYTES


def set_max_read_bytes(limit: int | None) -> None:
    """Set the process-wide size limit of what readers load into memory (``None``: back to the default).

    Examples
    --------
    >>> set_max_read_bytes(10 << 20); max_read_bytes()
    10485760
    >>> set_max_read_bytes(None)
    """
    if limit is not None and (not isinstance(limit, int) or limit < 0):
        raise ValueError(f"max_read_bytes must be a non-negative int or None, got {limit!r}")
    _GLOBAL_LIMIT[0] = limit


@contextlib.contextmanager
def read_limit(limit: int | None) -> Iterator[None]:
    r"""Within the block, readers load at most ``limit`` bytes (``None``: no change).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "big.txt"
    >>> _ = p.write_bytes(b"1,2\n" * 100)
    >>> with read_limit(100):
    ...     read_bytes(p)
    Traceback (most recent call last):
    ...
    ncmsurf.core.errors.ReadError: ...big.txt: file is 400 bytes, more than the 100-byte read limit ...
    """
    if limit is None:
        yield
        return
    if not isinstance(limit, int) or limit < 0:
        raise ValueError(f"read limit must be a non-negative int, got {limit!r}")
    token = _LIMIT.set(limit)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def check_regular_file(path: str | os.PathLike[str], *, allow_special: bool = False) -> os.stat_result:
    """``os.stat`` of ``path``, refusing what is not a regular file (directories, FIFOs, devices, sockets).

    A FIFO would block ``open`` until a writer appears and a device such as
    ``/dev/zero`` never ends, so both are refused unless ``allow_special``.

    Raises
    ------
    ReadError
        Missing file, a directory, or a non-regular file.
    """
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise ReadError(p, None, "no such file") from None
    except OSError as exc:
        raise ReadError(p, None, f"cannot open: {exc.strerror or exc}") from exc
    if stat.S_ISDIR(st.st_mode):
        raise ReadError(p, None, "is a directory, not a file")
    if not stat.S_ISREG(st.st_mode) and not allow_special:
        what = ("a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode) else
                "a character device" if stat.S_ISCHR(st.st_mode) else
                "a block device" if stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        raise ReadError(p, None, f"is {what}, not a regular file; refused (pass allow_special=True to read "
                                 "at most the read limit from it)")
    return st


def read_bytes(path: str | os.PathLike[str], *, max_bytes: int | None = None, allow_special: bool = False) -> bytes:
    """The bytes of a regular file, at most ``max_bytes`` (default :func:`max_read_bytes`).

    Raises
    ------
    ReadError
        For a non-regular file (unless ``allow_special``), a file larger
        than the limit, or an OS error.
    """
    p = Path(path)
    limit = max_read_bytes() if max_bytes is None else max_bytes
    st = check_regular_file(p, allow_special=allow_special)
    if stat.S_ISREG(st.st_mode) and st.st_size > limit:
        raise ReadError(p, None, f"file is {st.st_size} bytes, more than the {limit}-byte read limit "
                                 "(raise it with ncmsurf.io.set_max_read_bytes or max_bytes=)")
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) * (not stat.S_ISREG(st.st_mode))
        fd = os.open(p, flags)
        with os.fdopen(fd, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as exc:
        raise ReadError(p, None, f"cannot read: {exc.strerror or exc}") from exc
    if len(data) > limit:
        raise ReadError(p, None, f"more than the {limit}-byte read limit (the file grew or never ends)")
    return data


# ========================================================================= text files
def looks_binary(head: bytes) -> bool:
    r"""True when the first bytes contain NULs or mostly non-text bytes (a UTF-16 BOM is text).

    Examples
    --------
    >>> looks_binary(b"1,2\n3,4\n"), looks_binary(b"\x00\x01\x02"), looks_binary("ab".encode("utf-16"))
    (False, True, False)
    """
    sample = head[:4096]
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if b"\x00" in sample:
        return True
    text_chars = bytes(range(32, 127)) + b"\r\n\t\f\b"
    nontext = sum(1 for b in sample if b not in text_chars and b < 128)
    return nontext / len(sample) > 0.1


def _decode(raw: bytes) -> tuple[str, str, int]:
    """(text, encoding, BOM length)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw[3:].decode("utf-8"), "utf-8-sig", 3
        except UnicodeDecodeError:
            pass
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16", 2
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("utf-8"), "utf-8", 0
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252", 0
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1", 0


def split_lines(text: str) -> list[str]:
    r"""Split on CR, LF and CRLF only (not on U+0085, form feeds, U+2028, ...); no empty last item.

    Examples
    --------
    >>> split_lines("a\r\nb\rc\nd\x85e\x0cf\n")
    ['a', 'b', 'c', 'd\x85e\x0cf']
    >>> split_lines("x\r\r\ny")  # CR then CRLF: one blank line between
    ['x', '', 'y']
    """
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


_EOL = re.compile(r"\r\n|\r|\n")
_EOL_B = re.compile(rb"\r\n|\r|\n")


class TextFile:
    r"""A text file in memory: bytes, decoded text and lines (split on CR/LF/CRLF only).

    Parameters
    ----------
    path : path-like
        Used in error messages (and for reading in :meth:`open`).
    raw : bytes
        The file's bytes.
    nul : {"reject", "allow"}
        NUL bytes anywhere are a :class:`ReadError` naming their line (the
        default), or kept (formats that pad labels with NULs).

    Examples
    --------
    >>> tf = TextFile("x.txt", b"a\tb\r\n1\t2\r\n3\t4")
    >>> tf.lines, tf.encoding, tf.terminated
    (['a\tb', '1\t2', '3\t4'], 'utf-8', False)
    >>> TextFile("x.txt", b"1,2\n3,4\n\x00\x00")
    Traceback (most recent call last):
    ...
    ncmsurf.core.errors.ReadError: x.txt, line 3: NUL byte in a text file (padded or damaged file)
    """

    def __init__(self, path: str | os.PathLike[str], raw: bytes, *, nul: str = "reject") -> None:
        self.path = Path(path)
        self.raw = raw
        if looks_binary(raw[:4096]) and nul == "reject":
            if b"\x00" in raw[:4096]:
                self._nul_error(raw.find(b"\x00"))
            raise ReadError(self.path, None, "binary content where a text file was expected")
        # an ASCII file (the common case, and every large export) is looked at through slices of its
        # bytes: the whole text is only decoded when all of its lines are needed
        self._ascii = raw.isascii()
        if self._ascii:
            self.encoding, self.bom = "utf-8", 0
            if nul == "reject" and (k := raw.find(b"\x00")) >= 0:
                self._nul_error(k)
            self.terminated = raw.endswith((b"\n", b"\r"))
            return
        text, self.encoding, self.bom = _decode(raw)
        self.__dict__["text"] = text
        if nul == "reject":
            k = text.find("\x00")
            if k >= 0:
                self._nul_error_text(k)
        self.terminated = text.endswith(("\n", "\r"))

    @cached_property
    def text(self) -> str:
        """The decoded text."""
        return self.raw.decode("ascii")

    @classmethod
    def open(cls, path: str | os.PathLike[str], *, nul: str = "reject", max_bytes: int | None = None) -> TextFile:
        """Read ``path`` with :func:`read_bytes` (bounded, regular files only) and decode it."""
        return cls(path, read_bytes(path, max_bytes=max_bytes), nul=nul)

    def _nul_error(self, byte_pos: int) -> None:
        line = self.raw.count(b"\n", 0, byte_pos) + self.raw.count(b"\r", 0, byte_pos) \
            - self.raw.count(b"\r\n", 0, byte_pos) + 1
        raise ReadError(self.path, line, "NUL byte in a text file (padded or damaged file)")

    def _nul_error_text(self, k: int) -> None:
        t = self.text
        line = t.count("\n", 0, k) + t.count("\r", 0, k) - t.count("\r\n", 0, k) + 1
        raise ReadError(self.path, line, "NUL byte in a text file (padded or damaged file)")

    def __len__(self) -> int:
        """Characters of the text (bytes for an ASCII file)."""
        return len(self.raw) if self._ascii else len(self.text)

    def _slice(self, a: int | None, b: int | None) -> str:
        return self.raw[a:b].decode("ascii") if self._ascii else self.text[a:b]

    @cached_property
    def lines(self) -> list[str]:
        """All lines (0-based list; file line ``i + 1`` is ``lines[i]``)."""
        return split_lines(self.text)

    def head_lines(self, max_chars: int = 1 << 20) -> tuple[list[str], bool]:
        """The lines of the first ``max_chars`` characters (whole lines only) and whether that is the whole file."""
        if len(self) <= max_chars or "lines" in self.__dict__:
            return self.lines, True
        memo = self.__dict__.setdefault("_head_memo", {})
        if max_chars in memo:
            return list(memo[max_chars]), False
        cut = self._slice(None, max_chars)
        lines = split_lines(cut)
        if lines and not cut.endswith(("\n", "\r")):
            lines.pop()
        if lines and cut.endswith("\r"):  # a CR at the cut may be the first half of a CRLF: leave that line out
            lines.pop()
        memo[max_chars] = lines
        return list(lines), False

    def first_lines(self, n: int) -> list[str]:
        """At least the first ``n`` lines (all of them in a shorter file) without splitting a large file whole.

        For readers that look for their header in the first lines: the table core can then read a large
        body through its fast path.
        """
        head, complete = self.head_lines()
        if complete or len(head) >= n:
            return head
        return self.lines

    def tail_lines(self, max_chars: int = 1 << 16, *, n_lines: int = 0) -> list[str]:
        """The whole lines of the last ``max_chars`` characters (the first, partial one left out).

        With ``n_lines`` the window grows until it holds at least that many lines (or the whole file).
        """
        while True:
            if len(self) <= max_chars:
                return list(self.lines)
            lines = split_lines(self._slice(-max_chars, None))[1:]
            if len(lines) >= n_lines:
                return lines
            max_chars *= 4

    def line_count(self) -> int:
        """Number of lines (as :attr:`lines` counts them) without splitting the text."""
        if self._ascii:
            r = self.raw
            n = r.count(b"\n") + r.count(b"\r") - r.count(b"\r\n")
            return n if self.terminated or not r else n + 1
        t = self.text
        n = t.count("\n") + t.count("\r") - t.count("\r\n")
        return n if self.terminated or not t else n + 1

    def char_offset(self, line_index: int) -> int:
        """Character offset where line ``line_index`` (0-based) starts."""
        if line_index <= 0:
            return 0
        ends = (m.end() for m in _EOL_B.finditer(self.raw)) if self._ascii else \
            (m.end() for m in _EOL.finditer(self.text))
        for k, e in enumerate(ends, start=1):
            if k == line_index:
                return e
        return len(self)

    def byte_offset(self, line_index: int) -> int | None:
        """Byte offset where line ``line_index`` starts (``None`` for UTF-16, which the fast path does not take)."""
        if self.encoding == "utf-16":
            return None
        c = self.char_offset(line_index)
        if self._ascii or self.encoding in ("cp1252", "latin-1"):
            return c
        prefix = self.text[:c]
        return self.bom + (len(prefix.encode("utf-8")) if not prefix.isascii() else len(prefix))


def decode_text(path: str | os.PathLike[str], data: bytes | None = None) -> str:
    """Decode a text file (UTF-8 with or without BOM, UTF-16 with a BOM, else cp1252/Latin-1).

    The read is bounded (:func:`read_bytes`). NUL bytes after the first 4 kB
    are kept (some formats pad labels with them); :class:`TextFile` rejects them.

    Raises
    ------
    ReadError
        For binary content, a non-regular file or a file over the read limit.
    """
    p = Path(path)
    raw = read_bytes(p) if data is None else data
    if looks_binary(raw[:4096]):
        raise ReadError(p, None, "binary content where a text file was expected")
    return _decode(raw)[0]


# ============================================================================ tokens
_NUM_DOT = r"[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUM_COMMA = r"[-+]?(?:[0-9]+(?:,[0-9]*)?|,[0-9]+)(?:[eE][-+]?[0-9]+)?"
_NUM_ANY = re.compile(r"[-+]?(?:[0-9]+(?:[.,][0-9]*)?|[.,][0-9]+)(?:[eE][-+]?[0-9]+)?")
_NONFINITE = re.compile(r"[-+]?(?:nan|inf|infinity)", re.IGNORECASE)
_RX = {".": re.compile(_NUM_DOT), ",": re.compile(_NUM_COMMA)}
_COLUMN_RX = {d: re.compile(f"(?:{p}\n)*{p}") for d, p in ((".", _NUM_DOT), (",", _NUM_COMMA))}
_WS = re.compile(r"[ \t]+")
_WS2 = re.compile(r"\t| {2,}")
_SHAPE = re.compile(r"[-+]?([0-9]*)[.,]?([0-9]*)(?:[eE]([-+]?)([0-9]+))?$")


def is_number(token: str, decimal: str | None = None) -> bool:
    """Whether ``token`` is a strict decimal literal (``decimal`` None: either mark).

    Examples
    --------
    >>> [is_number(t) for t in ("1.5e-3", "-,5", "1e", "1_0", "١", "nan", "")]
    [True, True, False, False, False, False, False]
    >>> is_number("1,5", "."), is_number("1,5", ",")
    (False, True)
    """
    rx = _NUM_ANY if decimal is None else _RX[decimal]
    return rx.fullmatch(token) is not None


def _unquote(tok: str) -> str:
    if len(tok) >= 2 and tok[0] == '"' and tok[-1] == '"':
        return tok[1:-1].strip(" \t")
    return tok


def split_fields(line: str, delimiter: str | None, *, trailing: bool = True) -> list[str]:
    r"""The fields of one line: split on ``delimiter`` (``None``: runs of spaces/tabs), spaces and tabs stripped.

    With ``trailing`` one delimiter at the end of the line is not a field
    (exports that end every line with a tab). A field in double quotes
    loses them. Form feeds and other control characters stay in the field.

    Examples
    --------
    >>> split_fields(" 1.5\t2\t", "\t"), split_fields('"a", 3', ","), split_fields(" 1  2 ", None)
    (['1.5', '2'], ['a', '3'], ['1', '2'])
    """
    if delimiter is None:
        s = line.strip(" \t")
        return [_unquote(t) for t in _WS.split(s)] if s else []
    if trailing and delimiter != " ":
        r = line.rstrip(" \r" if delimiter == "\t" else " \t\r")
        if r.endswith(delimiter):
            line = r[: -len(delimiter)]
    strip = " " if delimiter == "\t" else " \t"
    return [_unquote(t.strip(strip)) for t in line.split(delimiter)]


def _cell_class(tok: str) -> int:
    """0 empty, 1 number (either mark), 2 non-finite literal, 3 text."""
    if not tok:
        return 0
    if _NUM_ANY.fullmatch(tok):
        return 1
    if _NONFINITE.fullmatch(tok):
        return 2
    return 3


def _numeric_share(fields: Sequence[str]) -> tuple[int, int]:
    """(numbers, non-empty fields)."""
    n = ne = 0
    for t in fields:
        if t:
            ne += 1
            if _NUM_ANY.fullmatch(t) or _NONFINITE.fullmatch(t):
                n += 1
    return n, ne


def split_name_unit(text: str) -> tuple[str, str | None]:
    """Split a header field into a name and a unit.

    Examples
    --------
    >>> split_name_unit("Voltage (V)"), split_name_unit("I/mA"), split_name_unit("current_A")
    (('Voltage', 'V'), ('I', 'mA'), ('current', 'A'))
    >>> split_name_unit("Binding Energy [eV]"), split_name_unit("-Z'' (kOhm)")
    (('Binding Energy', 'eV'), ("-Z''", 'kOhm'))
    """
    t = text.strip().strip('"').strip()
    m = re.match(r"^(.*?)\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$", t)
    if m and m.group(1):
        return m.group(1).strip(), m.group(2).strip()
    m = re.match(r"^(.*?)\s*/\s*([A-Za-zµΩ°%][\w.*µΩ°%/^-]*)$", t)
    if m and m.group(1):
        return m.group(1).strip(), m.group(2).strip()
    m = re.match(
        r"^(.*?)[_ ](s|h|min|V|mV|A|mA|uA|µA|Ah|mAh|Wh|mWh|Hz|kHz|MHz|mHz|ohm|Ohm|Ohms|kOhm|mOhm|eV|nm|g|mg|C|"
        r"degC|K)$", t
    )
    if m and m.group(1):
        return m.group(1).strip(), m.group(2)
    return t, None


def find_column(names: Sequence[str], patterns: Sequence[str]) -> int | None:
    """Index of the first column whose name (unit stripped) matches one of the regex ``patterns``.

    Examples
    --------
    >>> find_column(["Time (s)", "Ewe/V"], [r"^e(we)?$", r"volt"])
    1
    """
    cleaned = [split_name_unit(n)[0].lower() for n in names]
    for pat in patterns:
        rx = re.compile(pat, re.IGNORECASE)
        for i, n in enumerate(cleaned):
            if rx.search(n):
                return i
    return None


_UNITS = {
    "hz", "khz", "mhz", "ghz", "s", "ms", "us", "µs", "min", "h", "d", "v", "mv", "uv", "µv", "kv", "a", "ma", "ua",
    "µa", "na", "pa", "ohm", "ohms", "Ω", "kohm", "kΩ", "mohm", "mΩ", "gohm", "ev", "kev", "mev", "deg", "°", "rad",
    "%", "ah", "mah", "uah", "µah", "wh", "mwh", "w", "mw", "c", "mc", "degc", "°c", "k", "f", "mf", "uf", "µf", "nf",
    "pf", "g", "mg", "ug", "µg", "kg", "cm", "mm", "um", "µm", "nm", "cm2", "cm^2", "cm²", "cps", "counts",
    "counts/s", "1/s", "#", "-", "a.u.", "au", "ohm.cm", "ohm*cm2", "ohm.cm2", "s/cm", "ms/cm", "m-0", "mol",
}


def _looks_like_units(fields: Sequence[str]) -> bool:
    toks = [t.strip("[]()").lower() for t in fields if t]
    return bool(toks) and all(t in _UNITS for t in toks)


# ============================================================================= tables
@dataclass(eq=False)
class Table:
    """A checked text table: names, cells by column, and the file line of every row.

    Made by :func:`find_table` or :func:`table_at`. Numeric columns are
    only handed out complete: :meth:`column` raises on a bad cell,
    :meth:`optional` drops an incomplete column with a warning.

    Attributes
    ----------
    path : Path
    names : list of str
        Unique column names (a repeated name gets ``.1``, ``.2``; an empty
        or missing one ``col<k>``).
    header_names : list of str
        The header's own fields (``""`` where empty; positional names when
        there is no header).
    units : list of str or None
        Unit of each column from its name (``"Freq (Hz)"``, ``"I/mA"``) or
        from a unit line under the header.
    kinds : dict
        Name → ``"number"``, ``"text"`` or ``"empty"`` (decided from the
        first and last 50 rows, the same on both parse paths).
    header_line, units_line : int or None
        1-based lines of the names and of a unit line.
    header_lines : list of str
        Lines above the header (metadata).
    first_line : int
        1-based line of the first data row.
    line_numbers : numpy.ndarray
        1-based file line of every data row.
    delimiter : str or None
        ``None`` for runs of spaces/tabs.
    decimal : str
        ``"."`` or ``","`` (one per file).
    terminated : bool
        Whether the table's last row ends with a line end.
    fast : bool
        Parsed by the pyarrow fast path.
    surplus_names : list of str
        Header names beyond the rows' fields (only with
        ``surplus_names="allow"`` in :func:`table_at`).
    """

    path: Path
    names: list[str]
    header_names: list[str]
    units: list[str | None]
    kinds: dict[str, str]
    header_line: int | None
    units_line: int | None
    header_lines: list[str]
    first_line: int
    line_numbers: np.ndarray
    delimiter: str | None
    decimal: str
    terminated: bool
    fast: bool = False
    surplus_names: list[str] = field(default_factory=list)
    _values: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    _bad: dict[str, tuple[int, str]] = field(default_factory=dict, repr=False)
    _tokens: dict[str, list[str]] = field(default_factory=dict, repr=False)
    _text_loader: Callable[[str], list[str]] | None = field(default=None, repr=False)
    _label_loader: Callable[[str], tuple[list[str], np.ndarray] | None] | None = field(default=None, repr=False)
    _strings_loader: Callable[[str], Any] | None = field(default=None, repr=False)
    dropped: dict[str, int] = field(default_factory=dict)
    last_row_unverified: bool = False
    _given: set[str] = field(default_factory=set, repr=False)

    # ------------------------------------------------------------------ access
    @property
    def nrows(self) -> int:
        """Number of data rows."""
        return int(self.line_numbers.size)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key in self.names

    def name(self, key: str | int) -> str:
        """The column name for a name or a 0-based index.

        Raises
        ------
        ReadError
            For an unknown name or index (lists the names).
        """
        if isinstance(key, (int, np.integer)):
            if not 0 <= int(key) < len(self.names):
                raise ReadError(self.path, self.header_line, f"no column {int(key)} (the table has {len(self.names)})")
            return self.names[int(key)]
        if key not in self.names:
            raise ReadError(self.path, self.header_line, f"no column {key!r} in the header {self.names}")
        return key

    def index(self, key: str | int) -> int:
        """0-based index of a column."""
        return self.names.index(self.name(key))

    def unit(self, key: str | int) -> str | None:
        """Unit of a column (from its name or a unit line), or None."""
        return self.units[self.index(key)]

    def _line(self, row: int) -> int:
        return int(self.line_numbers[row]) if 0 <= row < self.line_numbers.size else self.first_line

    def _bad_reason(self, name: str, row: int, tok: str) -> str:
        if not tok:
            return f"column {name!r}: empty cell (missing value or row cut short)"
        if _NONFINITE.fullmatch(tok):
            return f"column {name!r}: non-finite value {tok!r}"
        if self.decimal == "," and _RX["."].fullmatch(tok) and "." in tok:
            return f"column {name!r}: {tok!r} uses a decimal point in a file with decimal commas"
        if self.decimal == "." and _RX[","].fullmatch(tok) and "," in tok:
            return f"column {name!r}: {tok!r} uses a decimal comma in a file with decimal points"
        return f"column {name!r}: {tok!r} is not a number"

    def column(self, key: str | int, *, allow_nonfinite: bool = False) -> np.ndarray:
        """A complete numeric column (float64; the caller owns it: a second call returns a copy).

        Parameters
        ----------
        key : str or int
            Column name or 0-based index.
        allow_nonfinite : bool
            Accept ``nan``/``inf`` literals (as NaN/±inf).

        Raises
        ------
        ReadError
            Naming the line and the cell of the first bad value, or for a
            text/empty column.
        """
        name = self.name(key)
        kind = self.kinds[name]
        if kind == "empty":
            raise ReadError(self.path, self.first_line, f"column {name!r} is empty")
        if name in self._values and name not in self._bad:
            arr = self._values[name]
            if name in self._given:
                return arr.copy()
            self._given.add(name)  # the first caller gets the array itself (no copy of a large column)
            return arr
        toks = self._tokens.get(name)
        if toks is None and self._text_loader is not None:
            toks = self._text_loader(name)
        if toks is None:  # pragma: no cover - every column has values or tokens
            raise ReadError(self.path, None, f"column {name!r} unavailable")
        vals, bad = _convert(toks, self.decimal, allow_nonfinite=allow_nonfinite)
        if bad is not None:
            row, tok = bad
            raise ReadError(self.path, self._line(row), self._bad_reason(name, row, tok))
        return vals

    def integers(self, key: str | int) -> np.ndarray:
        """A complete column of whole numbers as int64.

        Raises
        ------
        ReadError
            For a bad cell or a value that is not a whole number (with its line).
        """
        v = self.column(key)
        frac = v != np.round(v)
        if frac.any():
            j = int(np.flatnonzero(frac)[0])
            raise ReadError(self.path, self._line(j), f"column {self.name(key)!r} holds a non-integer {float(v[j])!r}")
        return v.astype(np.int64)

    def text(self, key: str | int) -> list[str]:
        """The cells of a column as strings (any kind)."""
        name = self.name(key)
        toks = self._tokens.get(name)
        if toks is None and self._text_loader is not None:
            toks = self._text_loader(name)
            self._tokens[name] = toks
        if toks is None:  # pragma: no cover
            raise ReadError(self.path, None, f"column {name!r} unavailable")
        return list(toks)

    def labels(self, key: str | int) -> tuple[list[str], np.ndarray]:
        r"""The distinct cells of a column (first appearance order) and each row's index into them.

        The same as factorising :meth:`text`, without making a string per row on the fast path.

        Examples
        --------
        >>> import pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
        >>> _ = p.write_text("t,state\n0,R\n1,C\n2,C\n3,D\n")
        >>> cells, codes = find_table(p).labels("state")
        >>> cells, codes.tolist()
        (['R', 'C', 'D'], [0, 1, 1, 2])
        """
        name = self.name(key)
        if name not in self._tokens and self._label_loader is not None:
            got = self._label_loader(name)
            if got is not None:
                return got
        cells: list[str] = []
        where: dict[str, int] = {}
        toks = self.text(name)
        codes = np.empty(len(toks), dtype=np.int64)
        for k, c in enumerate(toks):
            m = where.get(c)
            if m is None:
                m = where[c] = len(cells)
                cells.append(c)
            codes[k] = m
        return cells, codes

    def text_array(self, key: str | int) -> Any:
        """The cells of a column as a pyarrow string array (stripped as :meth:`text`), or None.

        Only on the fast path (a large clean file); ``None`` otherwise, and callers then use
        :meth:`text`. Vectorised parsers of text cells (clock times) start from it.
        """
        name = self.name(key)
        if name in self._tokens or self._strings_loader is None:
            return None
        return self._strings_loader(name)

    def is_complete(self, key: str | int) -> bool:
        """Whether a numeric column has a number in every row."""
        name = self.name(key)
        if self.kinds[name] != "number":
            return False
        if name in self._values:
            return name not in self._bad
        try:
            self.column(name)
        except ReadError:
            return False
        return True

    def optional(self, exclude: Sequence[str | int] = (), *, warn: bool = True,
                 allow_nonfinite: bool = False) -> dict[str, np.ndarray]:
        """Every further numeric column that is complete; incomplete ones are dropped with a :class:`TableWarning`.

        Parameters
        ----------
        exclude : sequence of str or int
            Columns the caller reads itself (roles), left out here.
        warn : bool
            Warn about dropped columns (they are always listed in
            :attr:`dropped`, name → first bad line, and in :meth:`layout`).
        allow_nonfinite : bool
            Accept ``nan``/``inf`` literals.
        """
        skip = {self.name(k) for k in exclude}
        out: dict[str, np.ndarray] = {}
        for n in self.names:
            if n in skip or self.kinds[n] != "number":
                continue
            try:
                out[n] = self.column(n, allow_nonfinite=allow_nonfinite)
            except ReadError as exc:
                self.dropped[n] = exc.line if exc.line is not None else self.first_line
                if warn:
                    warnings.warn(f"{self.path}: column {n!r} dropped: line {exc.line}: "
                                  f"{exc.reason.split(': ', 1)[1]}", TableWarning, stacklevel=2)
        return out

    def text_columns(self) -> list[str]:
        """Names of the columns holding text."""
        return [n for n in self.names if self.kinds[n] == "text"]

    def layout(self) -> dict[str, Any]:
        """How the table was read, for a model's ``meta``: delimiter, decimal mark, header and data lines, ..."""
        out: dict[str, Any] = {
            "delimiter": {None: "whitespace", "\t": "tab"}.get(self.delimiter, self.delimiter),
            "decimal": self.decimal, "header_line": self.header_line, "first_line": self.first_line,
            "rows": self.nrows,
        }
        if self.units_line is not None:
            out["units_line"] = self.units_line
        if self.dropped:
            out["dropped_columns"] = dict(self.dropped)
        if self.surplus_names:
            out["surplus_header_names"] = list(self.surplus_names)
        return out

    @property
    def columns(self) -> dict[str, np.ndarray]:
        """Every numeric column, each complete (``ReadError`` on the first bad cell) — the older interface."""
        return {n: self.column(n) for n in self.names if self.kinds[n] == "number"}


_ALPHABET = {".": b"0123456789.eE+-", ",": b"0123456789,eE+-"}


def _convert(tokens: Sequence[str], decimal: str, *, allow_nonfinite: bool = False
             ) -> tuple[np.ndarray, tuple[int, str] | None]:
    """Float array of ``tokens`` and the first bad (row, token), strictly."""
    n = len(tokens)
    if n and all(tokens):
        # within the alphabet [0-9 . e E + -] float() accepts exactly the strict literals
        try:
            joined = "".join(tokens).encode("ascii")
        except UnicodeEncodeError:
            joined = b"?"
        if not joined.translate(None, _ALPHABET[decimal]):
            src: Sequence[str] = tokens if decimal == "." else [t.replace(",", ".") for t in tokens]
            try:
                vals = np.fromiter(map(float, src), dtype=np.float64, count=n)
            except ValueError:
                vals = None
            if vals is not None:
                fin = np.isfinite(vals)
                if fin.all() or allow_nonfinite:
                    return vals, None
                j = int(np.flatnonzero(~fin)[0])
                return vals, (j, tokens[j])
    rx = _RX[decimal]
    out = np.empty(n, dtype=np.float64)
    for j, t in enumerate(tokens):
        if rx.fullmatch(t):
            v = float(t if decimal == "." else t.replace(",", "."))
            if not math.isfinite(v) and not allow_nonfinite:
                return out, (j, t)
            out[j] = v
        elif allow_nonfinite and _NONFINITE.fullmatch(t):
            out[j] = float(t)
        else:
            return out, (j, t)
    return out, None


def _split_block(lines: Sequence[str], delimiter: str | None) -> list[list[str]]:
    """:func:`split_fields` of many lines, with plain ``str.split`` where that gives the same fields."""
    if delimiter is not None and delimiter != " " and lines:
        blk = "\n".join(lines)
        plain = " " not in blk and '"' not in blk and (delimiter == "\t" or "\t" not in blk) \
            and not blk.endswith(delimiter) and (delimiter + "\n") not in blk
        if plain:
            return [ln.split(delimiter) for ln in lines]
    return [split_fields(ln, delimiter) for ln in lines]


# ------------------------------------------------------------------ shared helpers
def _unique(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    seen: Counter[str] = Counter()
    for k, n in enumerate(names):
        base = n if n else f"col{k}"
        c = seen[base]
        seen[base] += 1
        cand = base if c == 0 else f"{base}.{c}"
        while cand in out:
            c += 1
            cand = f"{base}.{c}"
        out.append(cand)
    return out


def _decide_decimal(rows: Sequence[Sequence[str]], delimiter: str | None) -> str:
    if delimiter == ",":
        return "."
    dots = commas = 0
    for r in rows:
        for t in r:
            if _NUM_ANY.fullmatch(t):
                if "." in t:
                    dots += 1
                elif "," in t:
                    commas += 1
    return "," if commas > dots else "."


def _decide_kinds(rows: Sequence[Sequence[str]], ncols: int) -> list[str]:
    kinds = []
    for j in range(ncols):
        num = txt = 0
        for r in rows:
            c = _cell_class(r[j]) if j < len(r) else 0
            if c in (1, 2):
                num += 1
            elif c == 3:
                txt += 1
        kinds.append("empty" if num == 0 and txt == 0 else "number" if num >= txt else "text")
    return kinds


def _sample(rows: Sequence[Any], k: int = 50) -> list[Any]:
    return list(rows[:k]) + list(rows[k:][-k:]) if len(rows) > k else list(rows)


def _shape(tok: str) -> tuple[int, bool, int, bool, int] | None:
    """(mantissa digits, has exponent, exponent digits, has a decimal mark, fraction digits) of a number."""
    m = _SHAPE.match(tok)
    if not m:
        return None
    point = "." in tok or "," in tok
    return (len(m.group(1)) + len(m.group(2)), m.group(4) is not None, len(m.group(4) or ""), point,
            len(m.group(2)))


_NUM_PREFIX = re.compile(r"[-+]?[0-9]*[.,]?[0-9]*(?:[eE][-+]?)?")


def _check_last_row(path: Path, last: Sequence[str], previous: Sequence[Sequence[str]], kinds: Sequence[str],
                    line: int, names: Sequence[str]) -> bool:
    """The last row has no line end: each number must look like the same column's numbers above.

    A number cut short loses digits: of its exponent, of its fraction, its decimal mark. Raises for a
    number that is shorter than the column's format; returns whether some column's format was constant
    enough to tell (``False``: nothing in the file can show the row complete).
    """
    verified = False
    for j, tok in enumerate(last):
        if j >= len(kinds) or kinds[j] != "number":
            continue
        if not _NUM_ANY.fullmatch(tok):
            if tok and _NUM_PREFIX.fullmatch(tok):
                raise ReadError(path, line, f"last line has no line end and column {names[j]!r} holds {tok!r}, "
                                            "an incomplete number (file cut short?)")
            continue
        shapes = [s for r in previous if j < len(r) and (s := _shape(r[j])) is not None]
        me = _shape(tok)
        if not shapes or me is None:
            continue
        exps = {s[1] for s in shapes}
        edig = {s[2] for s in shapes}
        points = {s[3] for s in shapes}
        fdig = {s[4] for s in shapes}
        cut = (len(exps) == 1 and me[1] != next(iter(exps))) \
            or (len(edig) == 1 and me[1] and me[2] != next(iter(edig))) \
            or me[0] < min(s[0] for s in shapes) \
            or (points == {True} and not me[3]) \
            or (not me[1] and me[4] < min(s[4] for s in shapes))
        if cut:
            raise ReadError(path, line, f"last line has no line end and column {names[j]!r} holds {tok!r}, "
                                        "shorter than the numbers above it (file cut short?)")
        # a cut always shortens the last number: a column printed with a fixed exponent or fixed decimals
        # shows that the row is whole
        if (len(exps) == 1 and True in exps and len(edig) == 1) or (len(fdig) == 1 and points == {True}):
            verified = True
    return verified


def _row_error(path: Path, line: int, nf: int, ncols: int, header_line: int | None, fields: Sequence[str]) -> None:
    where = f" (header: line {header_line})" if header_line is not None else ""
    shown = list(fields) if len(fields) <= 12 else [*fields[:12], "..."]
    if not _numeric_share(fields)[0]:
        raise ReadError(path, line, f"not a data row (a second table or trailing text?): {shown}; "
                                    f"expected {ncols} columns{where}")
    what = "truncated data row: " if nf < ncols else ""
    raise ReadError(path, line, f"{what}expected {ncols} columns, found {nf}: {shown}{where}")


# ----------------------------------------------------------------- fast path
#: Tables with at least this many data rows try the pyarrow path first.
FAST_ROWS = 2000


def _fast_parse_range(tf: TextFile, b0: int, end: int, nrows: int | None, ncols: int, delimiter: str, decimal: str,
                      kinds: Sequence[str], names: Sequence[str], trailing: bool
                      ) -> tuple[dict[str, np.ndarray] | None, int]:
    """Numeric columns of the rows in bytes ``b0:end`` and their number with pyarrow.

    ``(None, 0)`` when pyarrow objects to anything (the checked path then decides and names the line),
    or when ``nrows`` is given and differs.
    """
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None, 0
    if tf.encoding == "utf-16":
        return None, 0
    width = ncols + (1 if trailing else 0)
    cols = [f"c{j}" for j in range(width)]
    numeric = [cols[j] for j in range(ncols) if kinds[j] == "number"]
    empty = [cols[j] for j in range(ncols) if kinds[j] == "empty"]
    types: dict[str, Any] = dict.fromkeys(numeric, pa.float64())
    types.update(dict.fromkeys(empty, pa.string()))
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(tf.raw)[b0:end]),
            read_options=pacsv.ReadOptions(column_names=cols, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=numeric + empty, column_types=types,
                                                 decimal_point=decimal, null_values=[], strings_can_be_null=False,
                                                 quoted_strings_can_be_null=False),
        )
    except (pa.ArrowException, ValueError, OSError):
        return None, 0
    finally:
        pa.default_memory_pool().release_unused()
    if nrows is not None and table.num_rows != nrows:
        return None, 0
    nrows = table.num_rows
    out: dict[str, np.ndarray] = {}
    for c in empty:
        col = table.column(c)
        if col.null_count or (nrows and pc.max(pc.utf8_length(col)).as_py() not in (0, None)):
            return None, 0
    for c in numeric:
        col = table.column(c)
        if col.null_count:
            return None, 0
        # one copy into an array that owns its memory (the record adopts it without a second copy)
        arr = np.empty(nrows, dtype=np.float64)
        k = 0
        for chunk in col.chunks:
            m = len(chunk)
            arr[k:k + m] = chunk.to_numpy(zero_copy_only=False)
            k += m
        if not np.isfinite(arr).all():
            return None, 0
        out[names[int(c[1:])]] = arr
    return out, nrows


def _arrow_text_range(tf: TextFile, b0: int, end: int, delimiter: str, width: int, j: int) -> list[str] | None:
    col = _arrow_text_column(tf, b0, end, delimiter, width, j, None, block_size=1 << 22)
    if col is None:
        return None
    strip = " " if delimiter == "\t" else " \t"
    return [_unquote(s.strip(strip)) for s in col.to_pylist()]


def _arrow_text_column(tf: TextFile, b0: int, end: int, delimiter: str, width: int, j: int, nrows: int | None,
                       *, block_size: int = 1 << 20) -> Any:
    """Text column ``j`` of the byte range as one pyarrow string array (cells as written), or None.

    None when pyarrow is missing or objects, or (``nrows`` given) the row count differs from it.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:  # pragma: no cover
        return None
    cols = [f"c{k}" for k in range(width)]
    enc = "utf8" if tf.encoding.startswith("utf-8") else tf.encoding
    try:
        table = pacsv.read_csv(
            pa.py_buffer(memoryview(tf.raw)[b0:end]),
            read_options=pacsv.ReadOptions(column_names=cols, block_size=block_size, encoding=enc),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(include_columns=[cols[j]], column_types={cols[j]: pa.string()},
                                                 null_values=[], strings_can_be_null=False),
        )
        col = table.column(0)
        if (nrows is not None and table.num_rows != nrows) or col.null_count:
            return None
        return col.combine_chunks()
    except (pa.ArrowException, ValueError, OSError, LookupError):
        return None


def _arrow_strings_range(tf: TextFile, b0: int, end: int, delimiter: str, width: int, j: int, nrows: int
                         ) -> Any:
    """Text column ``j`` as a pyarrow string array, stripped as :func:`split_fields` strips; None if not so.

    None when pyarrow objects, the row count differs or a cell holds a double quote (unquoting is left
    to the checked path).
    """
    col = _arrow_text_column(tf, b0, end, delimiter, width, j, nrows)
    if col is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        if pc.any(pc.match_substring(col, '"')).as_py():
            return None
        return pc.utf8_trim(col, characters=" " if delimiter == "\t" else " \t")
    except (pa.ArrowException, ValueError):
        return None


def _arrow_labels_range(tf: TextFile, b0: int, end: int, delimiter: str, width: int, j: int, nrows: int
                        ) -> tuple[list[str], np.ndarray] | None:
    """(distinct cells, each row's index into them) of text column ``j`` with pyarrow, or None.

    The distinct raw cells (first appearance order) are stripped and unquoted as :func:`split_fields`
    does and equal results merged, so the outcome is the factorisation of the checked path's cells.
    """
    col = _arrow_text_column(tf, b0, end, delimiter, width, j, nrows)
    if col is None:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        enc_arr = pc.dictionary_encode(col)
    except (pa.ArrowException, ValueError):
        return None
    strip = " " if delimiter == "\t" else " \t"
    raw_uniq = enc_arr.dictionary.to_pylist()
    cells: list[str] = []
    where: dict[str, int] = {}
    remap = np.empty(len(raw_uniq), dtype=np.int64)
    for k, u in enumerate(raw_uniq):
        c = _unquote(u.strip(strip))
        m = where.get(c)
        if m is None:
            m = where[c] = len(cells)
            cells.append(c)
        remap[k] = m
    codes = remap[enc_arr.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)]
    return cells, codes


# ----------------------------------------------------------------- the body
#: Files with more characters than this are looked at through their head and tail first (fast path).
HEAD_CHARS = 1 << 20


def _content_end(raw: bytes) -> int:
    """Byte index just past the last row: trailing blank lines left out, trailing tabs of the last row kept."""
    end = len(raw)
    while end > 0 and raw[end - 1] in b"\r\n \t":
        end -= 1
    while end < len(raw) and raw[end] in b" \t":
        end += 1
    return end


def _finish_table(table: Table, *, nrows: int, kinds: Sequence[str], last_fields: Sequence[str],
                  prev: Sequence[Sequence[str]], last_line: int, unterminated: str = "check") -> None:
    """Check a last row without a line end (see :func:`find_table`'s ``unterminated``)."""
    if table.terminated or unterminated == "trust":
        return
    if unterminated == "error":
        raise ReadError(table.path, last_line, "the file ends inside a data row (no line end after the last row: "
                                               "file cut short?)")
    if len(last_fields) != len(table.names):
        return
    if nrows == 1 and any(k == "number" for k in kinds):
        raise ReadError(table.path, last_line, "the only data row has no line end: it cannot be told "
                                               "complete (file cut short?)")
    if not _check_last_row(table.path, last_fields, prev, kinds, last_line, table.names) \
            and unterminated != "lenient":
        warnings.warn(f"{table.path}: line {last_line}, the last row, has no line end and its numbers are printed "
                      "with varying digits, so a cut in its last number cannot be seen (file cut short?)",
                      TableWarning, stacklevel=4)
        table.last_row_unverified = True


def _big_fast(tf: TextFile, *, body_start: int, width: int, delimiter: str | None, names: list[str],
              make: Callable[..., tuple[Table, list[str]]],
              fast_rows: int, unterminated: str = "check", surplus_names: str = "error") -> Table | None:
    """The fast path for a large file without splitting all its lines; None when the checked path must run."""
    if delimiter is None or len(delimiter) != 1:
        return None
    head, complete = tf.head_lines()
    if complete or body_start >= len(head):
        return None
    rows_head = head[body_start:]
    # (with two columns or more pyarrow itself refuses a blank line: one field where the rows have more)
    if width < 2 and not all(ln.strip(" \t") for ln in rows_head):
        return None
    b0 = tf.byte_offset(body_start)
    if b0 is None:
        return None
    end = _content_end(tf.raw)
    tail = tf.tail_lines(n_lines=102)
    while tail and not tail[-1].strip(" \t"):
        tail.pop()
    trailing_newline = end < len(tf.raw) and (tf.raw.find(b"\n", end) >= 0 or tf.raw.find(b"\r", end) >= 0)
    if len(tail) < 102:
        return None
    sample_lines = rows_head[:50] + tail[-50:]
    srows = [split_fields(ln, delimiter) for ln in sample_lines]
    surplus: list[str] = []
    counts = {len(r) for r in srows}
    if surplus_names == "allow" and len(counts) == 1 and (m := next(iter(counts))) < width:
        surplus = list(names[m:])
        width = m
        names = list(names[:m])
    if any(len(r) != width for r in srows):
        return None
    trail_lines = rows_head[:20] + tail[-20:]
    trailing_all = all(ln.rstrip(" \r\t" if delimiter != "\t" else " \r").endswith(delimiter) for ln in trail_lines)
    table, kinds = make(srows, 0, trailing_newline, width, surplus)
    # pyarrow makes one row per line (CR, LF or CRLF; no quoting; an empty line is an error), so its row
    # count is the body's line count
    vals, nrows = _fast_parse_range(tf, b0, end, None, width, delimiter, table.decimal, kinds, names, trailing_all)
    if vals is None or nrows < max(fast_rows, 200):
        return None
    table.line_numbers = np.arange(body_start + 1, body_start + 1 + nrows, dtype=np.int64)
    table.first_line = body_start + 1
    last_fields = split_fields(tail[-1], delimiter)
    prev = [split_fields(ln, delimiter) for ln in tail[-101:-1]]
    _finish_table(table, nrows=nrows, kinds=kinds, last_fields=last_fields, prev=prev,
                  last_line=body_start + nrows, unterminated=unterminated)
    table._values = vals
    table.fast = True
    w = width + (1 if trailing_all else 0)

    def load(name: str) -> list[str]:
        j = names.index(name)
        got = _arrow_text_range(tf, b0, end, delimiter, w, j)
        if got is None:
            got = [split_fields(tf.lines[i], delimiter)[j] for i in range(body_start, body_start + nrows)]
        return got

    table._text_loader = load
    table._label_loader = lambda name: _arrow_labels_range(tf, b0, end, delimiter, w, names.index(name), nrows)
    table._strings_loader = lambda name: _arrow_strings_range(tf, b0, end, delimiter, w, names.index(name), nrows)
    return table


def _build(tf: TextFile, *, body_start: int, body_stop: int | None,
           end: Callable[[str], bool] | None, delimiter: str | None, names: Sequence[str],
           header_names: Sequence[str], units: Sequence[str | None], header_line: int | None,
           units_line: int | None, header_lines: list[str], decimal: str, fast_rows: int,
           surplus_names: str, blank: str, unterminated: str = "check") -> Table:
    """Check and parse the body rows ``body_start..`` (0-based) against ``len(names)`` fields."""
    path = tf.path
    ncols = len(names)

    def make(srows: list[list[str]], nrows: int, terminated: bool, width: int = ncols,
             surplus: Sequence[str] = ()) -> tuple[Table, list[str]]:
        dec = _decide_decimal(srows, delimiter) if decimal == "auto" else decimal
        kinds = _decide_kinds(srows, width)
        use_names = list(names[:width])
        table = Table(path=path, names=use_names, header_names=list(header_names[:width]),
                      units=list(units[:width]), kinds=dict(zip(use_names, kinds, strict=True)),
                      header_line=header_line, units_line=units_line, header_lines=header_lines,
                      first_line=body_start + 1, line_numbers=np.zeros(0, dtype=np.int64), delimiter=delimiter,
                      decimal=dec, terminated=terminated, surplus_names=list(surplus))
        return table, kinds

    if end is None and body_stop is None and "lines" not in tf.__dict__ and len(tf) > HEAD_CHARS:
        # (a file ending in blanks without a line end goes to the checked path, which names it)
        if tf.terminated or tf.raw[-1:] not in (b" ", b"\t"):
            got = _big_fast(tf, body_start=body_start, width=ncols, delimiter=delimiter, names=list(names),
                            make=make, fast_rows=fast_rows, unterminated=unterminated,
                            surplus_names=surplus_names)
            if got is not None:
                return got
    whole = tf.lines
    stop = len(whole) if body_stop is None else min(body_stop, len(whole))
    if stop == len(whole) and whole and not tf.terminated and whole[-1] and not whole[-1].strip(" \t") \
            and unterminated != "trust":
        raise ReadError(path, len(whole), "the file ends with a line of blanks without a line end (a row cut "
                                          "short?)")
    if end is not None:
        for i in range(body_start, stop):
            if end(whole[i]):
                stop = i
                break
    # the body's row lines (blank lines skipped, or ending the table)
    idx = [i for i, ln in enumerate(whole[body_start:stop], body_start) if ln.strip(" \t")]
    if blank != "skip" and idx and idx[-1] - idx[0] + 1 != len(idx):
        gap = next(k for k in range(1, len(idx)) if idx[k] != idx[k - 1] + 1)
        if blank == "end":
            idx = idx[:gap]
        else:
            raise ReadError(path, idx[gap - 1] + 2, "blank line inside the data block")
    if not idx:
        raise ReadError(path, body_start + 1 if body_start < len(whole) else None,
                        "no data rows" + (f" after the header (line {header_line})" if header_line else ""))
    trailing_all = delimiter not in (None, " ") and all(
        whole[i].rstrip(" \r\t" if delimiter != "\t" else " \r").endswith(delimiter) for i in _sample(idx, 20))
    srows = [split_fields(whole[i], delimiter) for i in _sample(idx)]
    width = ncols
    surplus: list[str] = []
    counts = {len(r) for r in srows}
    if surplus_names == "allow" and len(counts) == 1 and (m := next(iter(counts))) < ncols:
        width = m
        surplus = list(names[m:])
    for r, i in zip(srows, _sample(idx), strict=True):
        if len(r) != width:
            _row_error(path, i + 1, len(r), width, header_line, r)
    nrows = len(idx)
    last_i = idx[-1]
    terminated = not (last_i == len(whole) - 1 and not tf.terminated)
    table, kinds = make(srows, nrows, terminated, width, surplus)
    use_names = table.names
    dec = table.decimal
    table.line_numbers = np.asarray(idx, dtype=np.int64) + 1
    table.first_line = idx[0] + 1
    _finish_table(table, nrows=nrows, kinds=kinds, last_fields=split_fields(whole[last_i], delimiter),
                  prev=[split_fields(whole[i], delimiter) for i in idx[-101:-1]], last_line=last_i + 1,
                  unterminated=unterminated)
    # ---- fast path (the rows are contiguous lines)
    if nrows >= fast_rows and delimiter is not None and idx[-1] - idx[0] + 1 == nrows:
        b0, b1 = tf.byte_offset(idx[0]), tf.byte_offset(last_i + 1)
        if b0 is not None and b1 is not None:
            e = b1
            while e > b0 and tf.raw[e - 1] in b"\r\n":
                e -= 1
            vals, _n = _fast_parse_range(tf, b0, e, nrows, width, delimiter, dec, kinds, use_names, trailing_all)
            if vals is not None:
                table._values = vals
                table.fast = True
                w = width + (1 if trailing_all else 0)
                d: str = delimiter

                def load(name: str) -> list[str]:
                    j = use_names.index(name)
                    got = _arrow_text_range(tf, b0, e, d, w, j)
                    if got is None or len(got) != nrows:
                        got = [split_fields(whole[i], d)[j] for i in idx]
                    return got

                table._text_loader = load
                table._label_loader = lambda name: _arrow_labels_range(tf, b0, e, d, w, use_names.index(name),
                                                                       nrows)
                table._strings_loader = lambda name: _arrow_strings_range(tf, b0, e, d, w, use_names.index(name),
                                                                          nrows)
                return table
    # ---- checked path (block by block)
    numeric = [j for j, k in enumerate(kinds) if k == "number"]
    values = {use_names[j]: np.empty(nrows, dtype=np.float64) for j in numeric}
    bad: dict[str, tuple[int, str]] = {}
    tokens: dict[str, list[str]] = {use_names[j]: [] for j in range(width) if kinds[j] != "number"}
    block = 100_000
    with _no_gc():
        _parse_blocks(path, whole, idx, delimiter, width, kinds, use_names, dec, header_line, values, bad, tokens,
                      block)
    for j in range(width):
        nm = use_names[j]
        if kinds[j] == "empty" and any(tokens[nm]):
            table.kinds[nm] = "text"
    for nm in bad:
        del values[nm]
    if bad:
        with _no_gc():
            rows_all = _split_block([whole[i] for i in idx], delimiter)
        for nm in bad:
            j = use_names.index(nm)
            tokens[nm] = [r[j] for r in rows_all]
    table._values = values
    table._bad = bad
    table._tokens = tokens
    return table


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while millions of small lists are made (it would rescan them)."""
    import gc

    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _parse_blocks(path: Path, whole: Sequence[str], idx: Sequence[int], delimiter: str | None, width: int,
                  kinds: Sequence[str], use_names: Sequence[str], dec: str, header_line: int | None,
                  values: dict[str, np.ndarray], bad: dict[str, tuple[int, str]], tokens: dict[str, list[str]],
                  block: int) -> None:
    nrows = len(idx)
    for b in range(0, nrows, block):
        rows = _split_block([whole[i] for i in idx[b:b + block]], delimiter)
        if any(len(r) != width for r in rows):
            k = next(k for k, r in enumerate(rows) if len(r) != width)
            _row_error(path, idx[b + k] + 1, len(rows[k]), width, header_line, rows[k])
        cols = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
        for j in range(width):
            nm = use_names[j]
            if kinds[j] != "number":
                tokens[nm].extend(cols[j])
                continue
            if nm in bad:
                continue
            vals, first_bad = _convert(cols[j], dec)
            if first_bad is not None:
                bad[nm] = (b + first_bad[0], first_bad[1])
                continue
            values[nm][b:b + len(rows)] = vals


# ------------------------------------------------------------ header detection
def _data_like(fields: Sequence[str], ncols: int) -> bool:
    if len(fields) != ncols:
        return False
    n, ne = _numeric_share(fields)
    return n >= 1 and 2 * n >= ne


def _row_like(fields: Sequence[str]) -> bool:
    n, ne = _numeric_share(fields)
    return n >= 1 and 2 * n >= ne


def _choose_delimiter(lines: Sequence[str], idx: Sequence[int], min_columns: int
                      ) -> tuple[str | None, int] | None:
    """The delimiter and field count under which most of the last lines are rows (more columns win ties)."""
    tail = list(idx[-60:])
    best: tuple[int, int, int, int, str | None] | None = None
    for order, d in enumerate(("\t", ";", ",", None)):
        counts: Counter[int] = Counter()
        full: Counter[int] = Counter()
        for i in tail:
            f = split_fields(lines[i], d)
            n, ne = _numeric_share(f)
            if n >= 1 and 2 * n >= ne:
                counts[len(f)] += 1
                full[len(f)] += n == ne
        if not counts:
            continue
        ncols, score = max(counts.items(), key=lambda kv: (kv[1], kv[0]))
        if ncols < max(min_columns, 1):
            continue
        key = (full[ncols], ncols, -order, score, d)
        if best is None or key[:4] > best[:4]:
            best = key
    if best is None:
        return None
    return best[4], best[1]


def _nonblank(lines: Sequence[str], start: int, stop: int, head: int = 4000, tail: int = 60) -> list[int]:
    """Indices of the non-blank lines in ``start:stop``: all of them, or the first ``head`` and the last ``tail``.

    :func:`find_table` looks only at the first 4000 (the data block's start) and the last 60 (the
    delimiter) of them.
    """
    first: list[int] = []
    for i in range(start, stop):
        if lines[i].strip(" \t"):
            first.append(i)
            if len(first) == head:
                break
    else:
        return first
    last: list[int] = []
    for i in range(stop - 1, first[-1], -1):
        if lines[i].strip(" \t"):
            last.append(i)
            if len(last) == tail:
                break
    return first + last[::-1]


def find_table(
    source: str | os.PathLike[str] | TextFile,
    *,
    min_columns: int = 1,
    delimiter: str | None | object = "auto",
    decimal: str = "auto",
    start: int = 0,
    stop: int | None = None,
    units_line: bool = True,
    fast_rows: int = FAST_ROWS,
    unterminated: str = "check",
) -> Table:
    r"""Find and read the data table of a text file, the header decided by content and position.

    Parameters
    ----------
    source : path-like or TextFile
        A path is read with :meth:`TextFile.open` (bounded).
    min_columns : int
        The data rows must have at least this many fields.
    delimiter : {"auto", "\t", ";", ",", None}
        ``None`` for runs of spaces/tabs.
    decimal : {"auto", ".", ","}
        ``"auto"`` decides once for the whole file.
    start, stop : int
        0-based line range to look in (instrument readers cut a section).
    units_line : bool
        Recognise a line of units under the header.
    fast_rows : int
        Data rows from which the pyarrow fast path is tried.
    unterminated : {"check", "lenient", "error", "trust"}
        A last row without a line end: ``"check"`` its numbers against the
        format of their columns above (a shorter number is an error; when no
        column has a fixed format a :class:`TableWarning` says the row cannot
        be told complete), ``"lenient"`` the same without the warning,
        ``"error"`` for formats whose writers end every line, ``"trust"`` to
        accept it.

    Returns
    -------
    Table

    Raises
    ------
    ReadError
        No data block, a damaged line right above the data, a row with the
        wrong field count, a line that is not a row, a cut last line — each
        with its line. Bad cells are reported when their column is read
        (:meth:`Table.column`).
    """
    tf = source if isinstance(source, TextFile) else TextFile.open(source)
    path = tf.path
    if stop is None:
        lines, complete = tf.head_lines()
    else:
        lines, complete = tf.lines, True
    stop_i = len(lines) if stop is None else min(stop, len(lines))
    idx = _nonblank(lines, start, stop_i)
    if not idx:
        if not complete:
            lines, complete = tf.lines, True
            stop_i = len(lines)
            idx = _nonblank(lines, start, stop_i)
        if not idx:
            raise ReadError(path, None, "file is empty" if not tf.text.strip() else "no data lines")
    if delimiter == "auto":
        got = _choose_delimiter(lines, idx, min_columns)
        if got is None:
            raise ReadError(path, None, f"no numeric data block with at least {min_columns} column(s) found")
        delim, ncols = got
    else:
        delim = delimiter  # type: ignore[assignment]
        counts = Counter(len(split_fields(lines[i], delim)) for i in idx[-60:]
                         if _numeric_share(split_fields(lines[i], delim))[0])
        if not counts:
            raise ReadError(path, None, "no numeric data rows found")
        ncols = max(counts.items(), key=lambda kv: (kv[1], kv[0]))[0]
    fields: dict[int, list[str]] = {}

    def get(i: int) -> list[str]:
        f = fields.get(i)
        if f is None:
            f = fields[i] = split_fields(lines[i], delim)
        return f

    scan = idx[:4000]
    # looked at lazily, line by line from the top (a large file's data block starts within a few lines)
    like_memo: dict[int, bool] = {}
    row_memo: dict[int, bool] = {}

    def like(k: int) -> bool:
        v = like_memo.get(k)
        if v is None:
            v = like_memo[k] = _data_like(get(scan[k]), ncols)
        return v

    def rowish(k: int) -> bool:
        v = row_memo.get(k)
        if v is None:
            v = row_memo[k] = _row_like(get(scan[k]))
        return v

    s = next((k for k in range(len(scan)) if like(k) and all(rowish(j) for j in range(k + 1, min(k + 3, len(scan))))),
             None)
    if s is None:  # no run of rows: start at the first row-like line, the body check names what is wrong
        s = next((k for k in range(len(scan)) if like(k)), None)
    if s is None:
        raise ReadError(path, None, f"no block of data rows with {ncols} fields found")
    for k in range(s):  # rows of numbers above the data block: a damaged row or an earlier table
        f = get(scan[k])
        n, ne = _numeric_share(f)
        if len(f) == ncols and n == ne and n >= 1:
            raise ReadError(path, scan[k] + 1, f"a row of numbers above the data block that starts on line "
                                               f"{scan[s] + 1} (a damaged row or header, or a second table?)")
    first = idx[s]
    header_line = units_ln = None
    header_names = [f"col{j}" for j in range(ncols)]
    units: list[str | None] = [None] * ncols
    header_end = first
    if s > 0:
        li = idx[s - 1]
        lf = get(li)
        raw_l = lines[li].strip(" \t")
        if raw_l.startswith("#"):
            lf = split_fields(raw_l.lstrip("#").strip(" \t"), delim)
        if delim is None and len(lf) != ncols:
            alt = [t.strip() for t in _WS2.split(raw_l.lstrip("#").strip(" \t"))]
            if len(alt) == ncols:
                lf = alt
        n_num = _numeric_share(lf)[0]
        if len(lf) == ncols and not _data_like(lf, ncols):
            header_line, header_names, header_end = li + 1, list(lf), li
            if units_line and s > 1 and _looks_like_units(lf):
                l2 = idx[s - 2]
                f2 = get(l2)
                if len(f2) == ncols and not _row_like(f2) and not _looks_like_units(f2):
                    units_ln, header_line, header_names, header_end = li + 1, l2 + 1, list(f2), l2
                    units = [u.strip("[]()") or None for u in lf]
        elif raw_l.startswith("#") and n_num == 0:
            pass  # a comment above header-less data
        elif n_num == 0 and (delim is not None and delim not in raw_l or delim is None and len(lf) == 1):
            pass  # a metadata line (no delimiter, no number) above header-less data
        elif _row_like(lf):
            shown = lf if len(lf) <= 12 else [*lf[:12], "..."]
            what = "truncated data row: " if len(lf) < ncols else ""
            raise ReadError(path, li + 1, f"{what}expected {ncols} columns as in the rows below, found {len(lf)}: "
                                          f"{shown}")
        else:
            raise ReadError(path, li + 1, f"the line above the data is neither a header of {ncols} fields nor a "
                                          f"comment: {lf[:12]} (damaged header or row?)")
    names = _unique([h if h else "" for h in header_names])
    units = [u if u is not None else split_name_unit(h)[1] for u, h in zip(units, header_names, strict=True)]
    header_lines = lines[start:header_end]
    return _build(tf, body_start=first, body_stop=stop, end=None, delimiter=delim, names=names,
                  header_names=list(header_names), units=units, header_line=header_line, units_line=units_ln,
                  header_lines=header_lines, decimal=decimal, fast_rows=fast_rows, surplus_names="error",
                  blank="skip", unterminated=unterminated)


def table_at(
    source: str | os.PathLike[str] | TextFile,
    *,
    header: int | None,
    start: int,
    delimiter: str | None,
    stop: int | None = None,
    end: Callable[[str], bool] | None = None,
    names: Sequence[str] | None = None,
    units: int | Sequence[str | None] | None = None,
    decimal: str = "auto",
    blank: str = "skip",
    surplus_names: str = "error",
    fast_rows: int = FAST_ROWS,
    unterminated: str = "check",
) -> Table:
    """Read a table whose header and body lines are known (instrument formats).

    Parameters
    ----------
    source : path-like or TextFile
    header : int or None
        0-based line of the column names (``None``: ``names`` or positional).
    start : int
        0-based line of the first data row.
    delimiter : str or None
        ``None`` for runs of spaces/tabs.
    stop : int, optional
        0-based line where the table ends (exclusive); default: end of file.
    end : callable, optional
        ``end(line) -> bool``: the first body line for which it is true ends
        the table (a next section keyword); every line before it must be a row.
    names : sequence of str, optional
        Column names when there is no header line.
    units : int or sequence, optional
        0-based line of a unit line, or the units themselves.
    decimal : {"auto", ".", ","}
    blank : {"skip", "end", "error"}
        What a blank line inside the body means.
    surplus_names : {"error", "allow"}
        ``"allow"``: a header naming more columns than every row holds is
        read with the rows' columns (the surplus names are in
        ``Table.surplus_names``); the caller states it in ``meta``.
    fast_rows : int
    unterminated : {"check", "lenient", "error", "trust"}
        A last row without a line end (see :func:`find_table`).

    Raises
    ------
    ReadError
        As :func:`find_table`.
    """
    tf = source if isinstance(source, TextFile) else TextFile.open(source)
    # the lines up to the first data row are enough here (a large body stays unsplit for the fast path)
    need = max(start, header if header is not None else 0, units if isinstance(units, int) else 0) + 2
    lines = tf.first_lines(need)
    if header is not None:
        if header >= len(lines):
            raise ReadError(tf.path, None, f"no header line {header + 1} (the file has {len(lines)} lines)")
        header_names = split_fields(lines[header], delimiter)
        if delimiter == "\t" and lines[header].startswith("\t") is False and not header_names:
            header_names = []
    elif names is not None:
        header_names = list(names)
    else:
        first = next((i for i in range(start, len(lines)) if lines[i].strip(" \t")), None)
        if first is None and len(lines) < tf.line_count():
            lines = tf.lines
            first = next((i for i in range(start, len(lines)) if lines[i].strip(" \t")), None)
        n = len(split_fields(lines[first], delimiter)) if first is not None else 0
        header_names = [f"col{j}" for j in range(n)]
    if names is not None and header is not None:
        header_names = list(names)
    unit_list: list[str | None]
    units_ln = None
    if isinstance(units, int):
        units_ln = units + 1
        ul = split_fields(lines[units], delimiter) if units < len(lines) else []
        unit_list = [(ul[j].strip("[]()") or None) if j < len(ul) else None for j in range(len(header_names))]
    elif units is not None:
        unit_list = list(units)
    else:
        unit_list = [split_name_unit(h)[1] for h in header_names]
    uniq = _unique(header_names)
    hl = lines[:header] if header is not None else lines[:start]
    return _build(tf, body_start=start, body_stop=stop, end=end, delimiter=delimiter, names=uniq,
                  header_names=list(header_names), units=unit_list, header_line=header + 1 if header is not None
                  else None, units_line=units_ln, header_lines=list(hl), decimal=decimal, fast_rows=fast_rows,
                  surplus_names=surplus_names, blank=blank, unterminated=unterminated)


def parse_table(
    path: Path,
    text: str | None = None,
    *,
    min_columns: int = 1,
    expected_columns: int | None = None,
    max_header_lines: int = 500,
) -> Table:
    """Read a text file's table with :func:`find_table`, every numeric column required complete.

    The older interface: ``Table.columns`` holds every numeric column and
    a bad cell anywhere is a :class:`ReadError` here. A last row without a
    line end is checked against its columns' format but, as before, not
    warned about when nothing in the file can show it whole
    (``unterminated="lenient"``).

    Raises
    ------
    ReadError
        As :func:`find_table`, or for a bad cell, or a column count other
        than ``expected_columns``.
    """
    del max_header_lines
    tf = TextFile(path, text.encode("utf-8")) if text is not None else TextFile.open(path)
    table = find_table(tf, min_columns=min_columns, unterminated="lenient")
    if expected_columns is not None and len(table.names) != expected_columns:
        raise ReadError(path, table.first_line, f"expected {expected_columns} columns, found {len(table.names)}")
    _ = table.columns  # raise on the first bad cell
    return table
