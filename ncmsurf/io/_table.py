"""Delimited-text table parsing with exact line numbers (private, shared by readers).

:func:`parse_table` finds the numeric block of a text file, its header line,
delimiter and decimal mark, and returns every column as a float array. Any
row with the wrong number of fields, a non-numeric field or a NaN/inf value
raises :class:`~ncmsurf.core.errors.ReadError` naming the file line.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ncmsurf.core.errors import ReadError

__all__ = [
    "Table",
    "decode_text",
    "find_column",
    "looks_binary",
    "parse_table",
    "split_name_unit",
]

_NUM = re.compile(r"^[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?$")
_NONFINITE = re.compile(r"^[-+]?(?:nan|inf|infinity)$", re.IGNORECASE)


def looks_binary(head: bytes) -> bool:
    """True when the first bytes contain NULs or mostly non-text bytes."""
    sample = head[:4096]
    if not sample:
        return False
    if b"\x00" in sample:
        return True
    text_chars = bytes(range(32, 127)) + b"\r\n\t\f\b"
    nontext = sum(1 for b in sample if b not in text_chars and b < 128)
    return nontext / len(sample) > 0.1


def decode_text(path: Path, data: bytes | None = None) -> str:
    """Decode a text file (UTF-8 with or without BOM, else Latin-1).

    Raises
    ------
    ReadError
        For binary content.
    """
    raw = path.read_bytes() if data is None else data
    if looks_binary(raw[:4096]):
        raise ReadError(path, None, "binary content where a text file was expected")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _is_number(tok: str) -> bool:
    return bool(_NUM.match(tok)) or bool(_NONFINITE.match(tok))


def _split(line: str, delim: str | None) -> list[str]:
    if delim is None:
        return line.split()
    return [t.strip() for t in line.rstrip(delim if delim != " " else None).split(delim)] if delim == "\t" \
        else [t.strip() for t in line.split(delim)]


def _numeric_fields(line: str, delim: str | None) -> int:
    toks = _split(line, delim)
    if toks and toks[-1] == "" and delim not in (None,):
        toks = toks[:-1]
    if not toks or not all(_is_number(t) for t in toks):
        return 0
    return len(toks)


@dataclass
class Table:
    """A parsed numeric table.

    Attributes
    ----------
    names : list of str
        Column names from the header (``col0``, ``col1``, ... when absent).
    columns : dict
        Name → float64 array.
    header_lines : list of str
        Lines before the data block (metadata), header line included.
    header_line : int or None
        1-based line number of the column-name line.
    first_line : int
        1-based line number of the first data row.
    line_numbers : numpy.ndarray
        1-based file line of every data row.
    delimiter : str or None
        ``None`` for runs of whitespace.
    """

    names: list[str]
    columns: dict[str, np.ndarray]
    header_lines: list[str] = field(default_factory=list)
    header_line: int | None = None
    first_line: int = 1
    line_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    delimiter: str | None = None

    @property
    def nrows(self) -> int:
        """Number of data rows."""
        return int(self.line_numbers.size)


def _detect_delimiter(lines: Sequence[str]) -> str | None:
    for delim in ("\t", ";", ","):
        counts = [_numeric_fields(ln, delim) for ln in lines]
        if counts and counts[0] >= 2 and len(set(counts)) == 1:
            return delim
    counts = [_numeric_fields(ln, None) for ln in lines]
    if counts and counts[0] >= 1 and len(set(counts)) == 1:
        return None
    for delim in ("\t", ";", ","):
        counts = [_numeric_fields(ln, delim) for ln in lines]
        if counts and counts[0] >= 2:
            return delim
    return None


def split_name_unit(text: str) -> tuple[str, str | None]:
    """Split a header field into a name and a unit.

    Examples
    --------
    >>> split_name_unit("Voltage (V)"), split_name_unit("I/mA"), split_name_unit("current_A")
    (('Voltage', 'V'), ('I', 'mA'), ('current', 'A'))
    >>> split_name_unit("Binding Energy [eV]")
    ('Binding Energy', 'eV')
    """
    t = text.strip().strip('"').strip()
    m = re.match(r"^(.*?)\s*[\(\[]\s*([^\)\]]+?)\s*[\)\]]\s*$", t)
    if m and m.group(1):
        return m.group(1).strip(), m.group(2).strip()
    m = re.match(r"^(.*?)\s*/\s*([A-Za-zµΩ%][\w.*µΩ%/^]*)$", t)
    if m and m.group(1):
        return m.group(1).strip(), m.group(2).strip()
    m = re.match(
        r"^(.*?)[_ ](s|h|min|V|mV|A|mA|uA|µA|Ah|mAh|Wh|mWh|Hz|kHz|ohm|Ohm|Ohms|eV|nm|g|mg|C|degC|K)$", t
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


def parse_table(
    path: Path,
    text: str | None = None,
    *,
    min_columns: int = 1,
    expected_columns: int | None = None,
    max_header_lines: int = 500,
) -> Table:
    """Parse the numeric block of a delimited text file.

    Parameters
    ----------
    path : Path
        Used for reading (when ``text`` is None) and in error messages.
    text : str, optional
        Already-decoded content.
    min_columns : int
        The data block must have at least this many columns.
    expected_columns : int, optional
        Exact number of columns required.
    max_header_lines : int
        Give up looking for data after this many non-numeric lines.

    Raises
    ------
    ReadError
        Empty file, no numeric block, wrong column count, non-numeric or
        non-finite value, each with the file line.
    """
    if text is None:
        text = decode_text(path)
    lines = text.splitlines()
    if not any(ln.strip() for ln in lines):
        raise ReadError(path, None, "file is empty")
    # locate the first row that starts a numeric block of >= 2 consistent rows
    start = None
    delim: str | None = None
    nonblank = [i for i, ln in enumerate(lines) if ln.strip()]
    fallback: tuple[int, str | None] | None = None
    for k, i in enumerate(nonblank):
        if k > max_header_lines:
            break
        probe = [lines[j] for j in nonblank[k:k + 3]]
        d = _detect_delimiter(probe[:1] if len(probe) == 1 else probe)
        n = _numeric_fields(lines[i], d)
        if n < max(min_columns, 1):
            continue
        if len(probe) == 1 or _numeric_fields(probe[1], d) > 0 or _numeric_fields(probe[1], None) > 0:
            start, delim = i, d
            break
        if fallback is None:
            fallback = (i, _detect_delimiter(probe[:1]))
    if start is None and fallback is not None:
        start, delim = fallback
    if start is None:
        raise ReadError(path, None, f"no numeric data block with at least {min_columns} column(s) found")
    ncols = _numeric_fields(lines[start], delim)
    if expected_columns is not None and ncols != expected_columns:
        raise ReadError(path, start + 1, f"expected {expected_columns} columns, found {ncols}")
    header_lines = lines[:start]
    names: list[str] = [f"col{j}" for j in range(ncols)]
    header_line = None
    for j in range(start - 1, -1, -1):
        if not lines[j].strip():
            continue
        toks = _split(lines[j], delim)
        if delim is not None and toks and toks[-1] == "" and len(toks) == ncols + 1:
            toks = toks[:-1]
        if len(toks) == ncols and not all(_is_number(t) for t in toks):
            names = [t.strip().strip('"') or f"col{k}" for k, t in enumerate(toks)]
            header_line = j + 1
        break
    # unique names
    seen: dict[str, int] = {}
    for k, nme in enumerate(names):
        if nme in seen:
            seen[nme] += 1
            names[k] = f"{nme}.{seen[nme]}"
        else:
            seen[nme] = 0
    body_idx = [i for i in range(start, len(lines)) if lines[i].strip()]
    body = [lines[i] for i in body_idx]
    line_numbers = np.asarray(body_idx, dtype=np.int64) + 1
    decimal = "."
    if delim in ("\t", ";", None) and "," in lines[start] and "." not in lines[start]:
        decimal = ","
    values = _fast_parse(path, body, line_numbers, delim, ncols, decimal)
    return Table(names=names, columns={n: values[:, k] for k, n in enumerate(names)}, header_lines=header_lines,
                 header_line=header_line, first_line=start + 1, line_numbers=line_numbers, delimiter=delim)


def _fast_parse(path: Path, body: list[str], line_numbers: np.ndarray, delim: str | None, ncols: int,
                decimal: str) -> np.ndarray:
    sep = r"\s+" if delim is None else delim
    try:
        df = pd.read_csv(io.StringIO("\n".join(body)), sep=sep, header=None, dtype=np.float64, decimal=decimal,
                         engine="c",
                         skip_blank_lines=False, na_filter=True, keep_default_na=False,
                         na_values=["nan", "NaN", "NAN", ""])
        arr = df.to_numpy(dtype=np.float64)
    except (ValueError, pd.errors.ParserError):
        arr = None
    if arr is not None and arr.shape == (len(body), ncols) and np.isfinite(arr).all():
        return arr
    if arr is not None and arr.shape[0] == len(body) and arr.shape[1] > ncols and delim is not None:
        # trailing delimiters produce empty columns: accept only if they are all empty
        extra = arr[:, ncols:]
        if np.isnan(extra).all() and np.isfinite(arr[:, :ncols]).all():
            return np.ascontiguousarray(arr[:, :ncols])
    _locate_bad_row(path, body, line_numbers, delim, ncols, decimal)
    raise ReadError(path, None, "numeric block could not be parsed")  # pragma: no cover - located above


def _locate_bad_row(path: Path, body: list[str], line_numbers: np.ndarray, delim: str | None, ncols: int,
                    decimal: str) -> None:
    for k, ln in enumerate(body):
        toks = _split(ln, delim)
        if delim is not None and toks and toks[-1] == "" and len(toks) > ncols:
            while len(toks) > ncols and toks[-1] == "":
                toks = toks[:-1]
        line = int(line_numbers[k])
        if len(toks) != ncols:
            what = "truncated row: " if len(toks) < ncols else ""
            raise ReadError(path, line, f"{what}expected {ncols} columns, found {len(toks)}")
        for j, t in enumerate(toks):
            t2 = t.replace(",", ".") if decimal == "," else t
            if not _NUM.match(t2):
                if _NONFINITE.match(t2):
                    raise ReadError(path, line, f"non-finite value {t!r} in column {j + 1}")
                raise ReadError(path, line, f"not a number: {t!r} in column {j + 1}")
            try:
                val = float(t2)
            except ValueError:
                raise ReadError(path, line, f"not a number: {t!r} in column {j + 1}") from None
            if not np.isfinite(val):
                raise ReadError(path, line, f"non-finite value {t!r} in column {j + 1}")
