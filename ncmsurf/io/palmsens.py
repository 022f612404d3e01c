r"""PalmSens .pssession impedance files (PSTrace / PalmSens SDK sessions).

Structure (from the format's public descriptions; no sample file is shared
with the project, so the tests use files written by :func:`write_pssession`
to that structure): UTF-16 text (with a byte-order mark) holding one JSON
document, possibly followed by a control character. The document has
``Measurements``, a list; each has a ``Title``, an optional ``TimeStamp`` and a
``DataSet`` whose ``Type`` names EIS for an impedance measurement, with
``Values``: data arrays, each with a ``Unit`` whose ``Type`` names the
quantity (``...Hertz`` for the frequency, ``...ZRe``, ``...ZIm``) and
``DataValues``, a list of ``{"V": value}``.

PalmSens stores −Z″ in the ``ZIm`` array (positive for a capacitive
impedance), as the readers tested on real sessions take it; the spectrum
holds Z″ = −ZIm and ``meta["imaginary_sign"]`` says so. Measurements that are
not impedance are skipped and listed in ``meta["skipped_measurements"]``.

Every array must be complete: frequency, Z′ and −Z″ of one length, every
value a finite JSON number (a ``null``, a string, a missing ``V`` is a
:class:`~ncmsurf.core.errors.ReadError` naming the measurement, the array and
the index); two arrays of the same quantity, text after the JSON document
other than control characters, or JSON that does not parse (the error gives
its line) are refused. ``line`` in the errors is the line of the decoded
JSON text.

Examples
--------
>>> import pathlib, tempfile
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> s = ImpedanceSpectrum([1e4, 1e2, 1.0], [10 - 1j, 12 - 4j, 20 - 6j])
>>> p = write_pssession([s], pathlib.Path(tempfile.mkdtemp()) / "cell.pssession")
>>> back = read_pssession(p)[0]
>>> back.impedance.tolist(), back.meta["format"]
([(10-1j), (12-4j), (20-6j)], 'palmsens-pssession')
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.io._table import read_bytes
from ncmsurf.io.eis_instruments import make_spectra
from ncmsurf.io.registry import SimpleReader

__all__ = ["PALMSENS", "READERS", "read_pssession", "write_pssession"]


def _decode(p: Path, raw: bytes) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    elif len(raw) >= 4 and raw[1] == 0 and raw[3] == 0:
        enc = "utf-16-le"
    else:
        enc = "utf-8-sig"
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as exc:
        raise ReadError(p, None, f"not valid {enc} text at byte {exc.start}: {exc.reason}") from None


def _sniff(path: Path, head: bytes) -> float:
    try:
        text = head[: 4096 - (4096 % 2)].decode("utf-16", errors="ignore") if head.startswith(
            (b"\xff\xfe", b"\xfe\xff")) else head[:4096].decode("utf-8", errors="ignore")
    except UnicodeDecodeError:  # pragma: no cover - errors="ignore"
        return 0.0
    t = text.lstrip("\ufeff \r\n\t")
    if not t.startswith("{"):
        return 0.0
    if '"Measurements"' in text or '"MethodForMeasurement"' in text:
        return 0.9
    return 0.4 if path.suffix.lower() == ".pssession" else 0.0


def _line(text: str, pos: int) -> int:
    return text.count("\n", 0, pos) + 1


def _values(p: Path, arr: dict[str, Any], where: str) -> np.ndarray:
    vals = arr.get("DataValues")
    if not isinstance(vals, list) or not vals:
        raise ReadError(p, None, f"{where}: no DataValues list")
    out = np.empty(len(vals))
    for k, v in enumerate(vals):
        x = v.get("V") if isinstance(v, dict) else None
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(float(x)):
            raise ReadError(p, None, f"{where}: value {k} is {v!r}, not a finite number")
        out[k] = float(x)
    return out


def read_pssession(path: str | Path, *, sample: Any = None, area: Any = None,
                   normalize: bool = True) -> list[ImpedanceSpectrum]:
    """Read every impedance measurement of a PalmSens .pssession file.

    Parameters
    ----------
    path : str or Path
    sample : Sample or str, optional
    area : float or Quantity, optional
        Electrode area (cm²): the spectra are returned in ohm·cm².
    normalize : bool
        With ``area``, multiply the impedance by it (default) or only record it.

    Returns
    -------
    list of ImpedanceSpectrum
        One per EIS measurement, ``meta["title"]`` its ``Title``.

    Raises
    ------
    ReadError
        Not JSON, no impedance measurement, incomplete or inconsistent arrays.
    """
    p = Path(path)
    text = _decode(p, read_bytes(p))
    start = text.find("{")
    if start < 0 or text[:start].strip("\ufeff \r\n\t"):
        raise ReadError(p, 1, "not a .pssession file (no JSON document at the start)")
    dec = json.JSONDecoder()
    try:
        doc, end = dec.raw_decode(text, start)
    except json.JSONDecodeError as exc:
        raise ReadError(p, exc.lineno, f"the JSON does not parse: {exc.msg} (column {exc.colno})") from None
    rest = text[end:]
    bad = next((i for i, c in enumerate(rest) if not (c.isspace() or unicodedata.category(c) == "Cc"
                                                       or c == "\ufeff")), None)
    if bad is not None:
        raise ReadError(p, _line(text, end + bad), f"text after the JSON document: {rest[bad:bad + 30]!r}")
    if not isinstance(doc, dict) or not isinstance(doc.get("Measurements"), list):
        raise ReadError(p, None, "no 'Measurements' list in the session")
    out: list[ImpedanceSpectrum] = []
    skipped: list[str] = []
    for mi, m in enumerate(doc["Measurements"]):
        title = str(m.get("Title", f"measurement {mi + 1}")) if isinstance(m, dict) else f"measurement {mi + 1}"
        ds = m.get("DataSet") if isinstance(m, dict) else None
        if not isinstance(ds, dict) or not isinstance(ds.get("Values"), list):
            raise ReadError(p, None, f"measurement {mi + 1} ({title!r}): no DataSet with Values")
        dtype = str(ds.get("Type", ""))
        if "EIS" not in dtype and "Impedance" not in dtype and "Impedance" not in title:
            skipped.append(title)
            continue
        found: dict[str, np.ndarray] = {}
        for ai, arr in enumerate(ds["Values"]):
            if not isinstance(arr, dict):
                raise ReadError(p, None, f"measurement {mi + 1}: data array {ai} is not an object")
            unit = arr.get("Unit")
            utype = str(unit.get("Type", "")) if isinstance(unit, dict) else ""
            role = ("f" if utype.endswith("Hertz") else "re" if utype.endswith("ZRe") else
                    "im" if utype.endswith("ZIm") else None)
            if role is None:
                continue
            if role in found:
                raise ReadError(p, None, f"measurement {mi + 1} ({title!r}): two {utype} arrays")
            found[role] = _values(p, arr, f"measurement {mi + 1} ({title!r}), array {ai} ({utype})")
        missing = [r for r in ("f", "re", "im") if r not in found]
        if missing:
            raise ReadError(p, None, f"measurement {mi + 1} ({title!r}): no "
                                     f"{', '.join({'f': 'Hertz', 're': 'ZRe', 'im': 'ZIm'}[r] for r in missing)} "
                                     "array")
        n = {len(v) for v in found.values()}
        if len(n) != 1:
            raise ReadError(p, None, f"measurement {mi + 1} ({title!r}): arrays of different lengths "
                                     f"{ {k: len(v) for k, v in found.items()} }")
        meta: dict[str, Any] = {"format": "palmsens-pssession", "instrument": "PalmSens", "title": title,
                                "measurement": mi + 1,
                                "imaginary_sign": "Z'' = -ZIm (PalmSens stores -Z'')"}
        if isinstance(m, dict) and "TimeStamp" in m:
            meta["timestamp"] = m["TimeStamp"]
        rows = np.arange(1, found["f"].size + 1)  # the index in the arrays stands in for a line
        out.append(make_spectra(p, found["f"], found["re"] - 1j * found["im"], rows, meta, sample=sample, area=area,
                                normalize=normalize))
    if not out:
        raise ReadError(p, None, f"no impedance measurement in the session (found {skipped})")
    return [s.with_meta(skipped_measurements=skipped) for s in out] if skipped else out


def write_pssession(spectra: ImpedanceSpectrum | Sequence[ImpedanceSpectrum], path: str | Path) -> Path:
    """Write spectra as a minimal .pssession in the structure described above (for tests and exchange).

    Returns
    -------
    Path
    """
    specs = [spectra] if isinstance(spectra, ImpedanceSpectrum) else list(spectra)
    if not specs:
        raise ValidationError("write_pssession: no spectra")
    meas = []
    for k, s in enumerate(specs):
        if s.units != "ohm":
            raise ValidationError(f"write_pssession: spectra[{k}] is in {s.units}; sessions hold ohm")

        def arr(unit: str, sym: str, values: np.ndarray) -> dict[str, Any]:
            return {"Type": "PalmSens.Data.DataArray", "Unit": {"Type": f"PalmSens.Units.{unit}", "S": sym},
                    "DataValues": [{"V": float(v)} for v in values]}

        meas.append({"Title": "Impedance Spectroscopy", "TimeStamp": 630000000000000000 + k,
                     "DataSet": {"Type": "PalmSens.Data.DataSetEIS",
                                 "Values": [arr("Hertz", "Hz", s.frequency), arr("ZRe", "Ω", s.impedance.real),
                                            arr("ZIm", "Ω", -s.impedance.imag)]}})
    doc = {"Type": "PalmSens.DataFiles.SessionFile", "MethodForMeasurement": "METHOD_ID=eis",
           "Measurements": meas}
    p = Path(path)
    p.write_bytes((json.dumps(doc) + "\x00").encode("utf-16"))
    return p


PALMSENS = SimpleReader("palmsens-pssession", "eis", (".pssession",), _sniff, read_pssession,
                        "PalmSens .pssession impedance measurements (UTF-16 JSON)")
READERS = [PALMSENS]
"""Readers registered under the ``palmsens`` entry point."""
