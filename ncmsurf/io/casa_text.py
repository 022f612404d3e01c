r"""CasaXPS tab-separated text exports ("Save Tab ASCII"): one or many blocks, with or without fit curves.

Each block is::

    Cycle 0:FeO:Fe2p                                        title: cycle, sample, region
    <TAB>Characteristic Energy eV<TAB>1.486610e+003<TAB>Acquisition Time s<TAB>2.0
    Name<TAB><TAB>Fe 2p<TAB>...                              component table (may be empty)
    Position / FWHM / Area / Lineshape rows
    K.E.<TAB>Counts<TAB>[components]<TAB>Background<TAB>Envelope<TAB><TAB>B.E.<TAB>CPS<TAB>... column header
    rows of numbers, one field per header column

The energy axis is chosen from the column header: the ``B.E.`` column when
there is one (checked against ``K.E.`` + ``B.E.`` = characteristic energy),
else ``K.E.`` converted with the characteristic energy. ``intensity`` is the
``CPS`` column when there is one (``units="counts/s"``), else ``Counts``;
``meta["intensity_column"]`` says which, and ``meta["counts"]`` /
``meta["cps"]`` keep both. Component curves, background and envelope are kept
in ``meta["component_curves"]`` (and ``..._cps``), ``meta["background"]``,
``meta["envelope"]``; the component table in ``meta["components"]``.

Every data row must have exactly the header's number of fields and the empty
separator column must stay empty; anything else is a
:class:`~ncmsurf.core.errors.ReadError` naming the line.

Examples
--------
>>> import os, tempfile
>>> rows = ["Cycle 0:P-NCM:Ni2p", "\tCharacteristic Energy eV\t1.486600e+003\tAcquisition Time s\t1.0",
...         "Name\t\t", "Position\t\t", "FWHM\t\t", "Area\t\t", "Lineshape\t\t", "K.E.\tCounts\t\tB.E.\tCPS",
...         "616.6\t100\t\t870.0\t100", "616.7\t120\t\t869.9\t120", "616.8\t90\t\t869.8\t90"]
>>> path = os.path.join(tempfile.mkdtemp(), "ni.txt")
>>> _ = open(path, "w").write("\r\n".join(rows) + "\r\n")
>>> s = read_casa_text(path)[0]
>>> s.region, str(s.sample), s.binding_energy.tolist(), s.meta["intensity_column"]
('Ni 2p', 'P-NCM', [870.0, 869.9, 869.8], 'CPS')
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfError, ReadError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.io._xps_meta import XPSReadWarning, excitation_energy, split_lines
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_casa_text"]

_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_NUM_COMMA = re.compile(r"^[-+]?(?:\d+,?\d*|,\d+)(?:[eE][-+]?\d+)?$")
_CORE = re.compile(r"^([A-Z][a-z]?)\s*(\d[spdf])(?:\s*(\d/\d))?$")
_TABLE_ROWS = ("Name", "Position", "FWHM", "Area", "Lineshape")


def _sniff(path: Path, head: bytes) -> float:
    if b"\x00" in head[:4096]:
        return 0.0
    lines = split_lines(head[:8192].decode("latin-1"))
    for i in range(min(len(lines) - 1, 40)):
        if lines[i + 1].startswith("\tCharacteristic Energy") and "\t" not in lines[i]:
            if any(re.match(r"^(K\.E\.|B\.E\.)\t", s) for s in lines[i + 2:i + 12]):
                return 0.9
    return 0.0


def _region(name: str) -> str | None:
    m = _CORE.match(name.strip())
    if not m:
        return None
    return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}"


def _num(p: Path, no: int, tok: str, comma: bool, what: str) -> float:
    t = tok.strip()
    if comma:
        if not _NUM_COMMA.match(t):
            raise ReadError(p, no, f"{what}: expected a number with a decimal comma, got {t[:30]!r}")
        t = t.replace(",", ".")
    elif not _NUM.match(t):
        raise ReadError(p, no, f"{what}: expected a number, got {t[:30]!r}")
    v = float(t)
    if not np.isfinite(v):
        raise ReadError(p, no, f"{what} is not finite ({tok[:30]!r})")
    return v


def _is_title(lines: list[str], i: int) -> bool:
    return i + 1 < len(lines) and "\t" not in lines[i] and lines[i].strip() != "" \
        and lines[i + 1].startswith("\tCharacteristic Energy")


def _block(p: Path, lines: list[str], i: int, comma: bool | None, sample: Any,
           user_hv: Any) -> tuple[XPSSpectrum, int, bool]:
    title_no = i + 1
    title = lines[i].strip()
    parts = title.split(":")
    meta: dict[str, Any] = {"format": "casaxps-text", "source_file": str(p), "title": title, "title_line": title_no}
    m = re.match(r"^Cycle\s+(\d+)$", parts[0].strip())
    if m:
        meta["cycle"] = int(m.group(1))
    region_name = parts[-1].strip() if len(parts) > 1 else title
    meta["region_name"] = region_name
    if len(parts) >= 3:
        meta["sample_identifier"] = ":".join(parts[1:-1]).strip()
    # characteristic energy line: TAB-separated label/value pairs
    info = lines[i + 1].split("\t")[1:]
    if len(info) % 2:
        raise ReadError(p, i + 2, f"expected label/value pairs after the title, got {len(info)} fields")
    pairs: dict[str, str] = {info[k].strip(): info[k + 1].strip() for k in range(0, len(info), 2)}
    if comma is None:
        v0 = next(iter(pairs.values()), "")
        comma = bool(_NUM_COMMA.match(v0)) and not _NUM.match(v0)
    hv_stated = None
    for lab, val in pairs.items():
        key = re.sub(r"\W+", "_", lab.lower()).strip("_")
        meta[key] = _num(p, i + 2, val, comma, lab)
        if lab.lower().startswith("characteristic energy"):
            hv_stated = meta[key]
    if "acquisition_time_s" in meta:
        meta["acquisition_time"] = meta.pop("acquisition_time_s")
    j = i + 2
    table: dict[str, list[str]] = {}
    for name in _TABLE_ROWS:
        if j >= len(lines) or not lines[j].startswith(name + "\t"):
            raise ReadError(p, j + 1, f"expected the {name!r} row of the component table, got {lines[j][:40]!r}"
                            if j < len(lines) else f"file ends before the {name!r} row")
        table[name] = lines[j].split("\t")[1:]
        j += 1
    if j >= len(lines):
        raise ReadError(p, j + 1, "file ends before the column header")
    header_no = j + 1
    header = lines[j].split("\t")
    if header and header[-1] == "" and lines[j].endswith("\t"):
        header = header[:-1]
    j += 1
    names = [h.strip() for h in header]
    if "K.E." not in names and "B.E." not in names:
        raise ReadError(p, header_no, f"column header names neither K.E. nor B.E.: {names[:6]}")
    rows: list[list[float]] = []
    blanks = [k for k, n in enumerate(names) if n == ""]
    first_data = j + 1
    while j < len(lines) and lines[j].strip() and not _is_title(lines, j):
        fields = lines[j].split("\t")
        if len(fields) == len(names) + 1 and fields[-1] == "":
            fields = fields[:-1]
        if len(fields) != len(names):
            raise ReadError(p, j + 1, f"{len(fields)} fields, the column header (line {header_no}) has "
                            f"{len(names)}")
        row = []
        for k, tok in enumerate(fields):
            if k in blanks:
                if tok.strip():
                    raise ReadError(p, j + 1, f"field {k + 1} should be empty (separator column), got {tok[:20]!r}")
                row.append(np.nan)
            else:
                row.append(_num(p, j + 1, tok, comma, names[k]))
        rows.append(row)
        j += 1
    if not rows:
        raise ReadError(p, first_data, f"block {title!r} has no data rows")
    arr = np.asarray(rows, dtype=float)
    col: dict[str, int] = {}
    for k, n in enumerate(names):
        col.setdefault(n, k)
    hv, meta["excitation_energy_source"] = excitation_energy(p, hv_stated, user_hv,
                                                             where=f" (block at line {title_no})")
    if "B.E." in col:
        be = arr[:, col["B.E."]]
        meta["energy_column"] = "B.E."
        if "K.E." in col:
            dev = np.abs(arr[:, col["K.E."]] + be - hv)
            if dev.max() > 0.011:
                k = int(dev.argmax())
                warnings.warn(f"{p.name}: block at line {title_no}: K.E. + B.E. differs from the characteristic "
                              f"energy {hv} eV by {dev[k]:.3g} eV (line {first_data + k}); the B.E. column is used",
                              XPSReadWarning, stacklevel=3)
                meta["ke_be_mismatch"] = float(dev.max())
    else:
        be = hv - arr[:, col["K.E."]]
        meta["energy_column"] = "K.E."
    # counts / CPS and the curves
    kcps = col.get("CPS")
    kcnt = col.get("Counts")
    if kcps is None and kcnt is None:
        raise ReadError(p, header_no, f"column header names neither Counts nor CPS: {names[:8]}")
    comp_names = [t.strip() for t in table["Name"] if t.strip()]
    ncomp = len(comp_names)
    meta["components"] = [{"name": comp_names[c],
                           **{row.lower(): (table[row][1 + c].strip() if len(table[row]) > 1 + c else "")
                              for row in _TABLE_ROWS[1:]}} for c in range(ncomp)]
    for cdef in meta["components"]:
        for key in ("position", "fwhm", "area"):
            val = cdef[key]
            if val:
                cdef[key] = _num(p, i + 3, val, comma, f"component {key}")
    for base, kk, suffix in (("counts", kcnt, ""), ("cps", kcps, "_cps")):
        if kk is None:
            continue
        meta[base] = arr[:, kk].copy()
        curves = [arr[:, kk + 1 + c].copy() for c in range(ncomp) if kk + 1 + c < len(names)]
        if ncomp:
            meta["component_curves" + suffix] = curves
        for extra in ("Background", "Envelope"):
            want = extra + (" CPS" if suffix else "")
            ke = kk + 1 + ncomp + (0 if extra == "Background" else 1)
            if ke < len(names) and names[ke] == want:
                meta[extra.lower() + suffix] = arr[:, ke].copy()
    meta["columns"] = names
    if kcps is not None:
        y, units, meta["intensity_column"] = arr[:, kcps], "counts/s", "CPS"
    else:
        assert kcnt is not None
        y, units, meta["intensity_column"] = arr[:, kcnt], "counts", "Counts"
    smp: Any = sample
    if smp is None and meta.get("sample_identifier"):
        try:
            smp = Sample.parse(meta["sample_identifier"])
        except (NcmsurfError, ValueError):
            smp = None
    try:
        spec = XPSSpectrum(be, y, region=_region(region_name), sample=smp, meta=meta, excitation_energy=hv,
                           units=units)
    except ValidationError as exc:
        raise ReadError(p, first_data, f"block {title!r}: {exc}") from exc
    return spec, j, comma


def read_casa_text(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
                   **_: Any) -> list[XPSSpectrum]:
    """Read every block of a CasaXPS tab-separated text export.

    Parameters
    ----------
    path : str or path-like
    sample : Sample or str, optional
        Attach this sample instead of parsing the block titles.
    excitation_energy : float, optional
        Override the characteristic energy of the file (eV).

    Returns
    -------
    list of XPSSpectrum
        One per block, in file order.

    Raises
    ------
    ReadError
        With the line of the first malformed title, table row or data row.
    """
    p = Path(path)
    raw = p.read_bytes()
    if b"\x00" in raw:
        off = raw.index(b"\x00")
        raise ReadError(p, raw[:off].count(b"\n") + 1, f"NUL byte at offset {off} in a text export")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    lines = split_lines(text)
    if lines and not text.endswith(("\n", "\r")):
        raise ReadError(p, len(lines), "the last line has no line end (CasaXPS ends every line): the file is cut")
    out: list[XPSSpectrum] = []
    i = 0
    comma: bool | None = None
    while i < len(lines):
        if not lines[i].strip(" \t"):
            i += 1
            continue
        if not _is_title(lines, i):
            raise ReadError(p, i + 1, f"expected a block title ('Cycle n:sample:region' followed by the "
                            f"Characteristic Energy line), got {lines[i][:60]!r}")
        spec, i, comma = _block(p, lines, i, comma, sample, excitation_energy)
        out.append(spec)
    if not out:
        raise ReadError(p, None, "no CasaXPS blocks found")
    return out


READERS = [
    SimpleReader("casaxps-text", "xps", (".txt", ".tsv", ".dat", ".csv"), _sniff, read_casa_text,
                 "CasaXPS tab-separated text export (K.E./B.E., Counts/CPS, components, background, envelope)"),
]
