r"""Vendor XPS text exports: SPECS SpecsLab/Prodigy ``.xy``.

A ``.xy`` file has ``#``-comment headers (``# Region:``, ``# Excitation
Energy:``, ``# Pass Energy:``, ``# Number of Scans:``, ``# Energy Axis:``,
``# ColumnLabels:`` ...) before each curve, followed by whitespace-separated
rows (energy, intensity, and optionally more columns such as the
transmission). Each curve becomes one spectrum. The energy axis is kinetic
when the header says so (``Energy Axis: Kinetic Energy`` or a column label
``Kinetic Energy``), binding energy otherwise.

Examples
--------
>>> import os, tempfile
>>> text = "\n".join(["# Created by:        SpecsLab Prodigy", "# Region:            Ni2p",
...                    "# Excitation Energy: 1486.61", "# Pass Energy:       20", "# ColumnLabels: energy counts",
...                    "  870.0  10", "  869.9  12", "  869.8  15", ""])
>>> path = os.path.join(tempfile.mkdtemp(), "ni.xy")
>>> _ = open(path, "w").write(text)
>>> s = read_specs_xy(path)[0]
>>> s.region, s.binding_energy.tolist(), s.meta["pass_energy"]
('Ni 2p', [870.0, 869.9, 869.8], 20.0)
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import AL_KALPHA, XPSSpectrum
from ncmsurf.io._table import TextFile, looks_binary, split_fields, table_at
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_specs_xy"]

_KEY = re.compile(r"^#\s*([^:]+?)\s*:\s*(.*?)\s*$")
_CORE = re.compile(r"^\s*([A-Z][a-z]?)\s*(\d[spdf])")
_NUMKEYS = {"excitation energy": "excitation_energy", "pass energy": "pass_energy", "dwell time": "dwell_time",
            "number of scans": "scans", "eff. workfunction": "work_function", "values/curve": "values_per_curve",
            "curves/scan": "curves_per_scan", "bias voltage": "bias_voltage", "detector voltage": "detector_voltage",
            "kinetic energy": "kinetic_energy_setting", "binding energy": "binding_energy_setting"}


def _sniff(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    text = head[:4096].decode("latin-1", "replace")
    if "SpecsLab" in text or "Prodigy" in text:
        return 0.95
    if re.search(r"^#\s*Region:", text, re.M) and re.search(r"^#\s*(Excitation Energy|Values/Curve):", text, re.M):
        return 0.9
    return 0.0


def _region(name: str) -> str | None:
    m = _CORE.match(name)
    return f"{m.group(1)} {m.group(2)}" if m else None


def read_specs_xy(path: str | os.PathLike[str], *, sample: Any = None) -> list[XPSSpectrum]:
    """Read every curve of a SPECS ``.xy`` export.

    Returns
    -------
    list of XPSSpectrum
        ``meta`` holds the header keys (``region_name``, ``pass_energy``,
        ``dwell_time``, ``scans``, ``analysis_method``, ``cycle``, ``curve``,
        ...).

    Raises
    ------
    ReadError
        With the line number on a malformed row or a curve without data.

    Notes
    -----
    Rows are read by the strict table core (:mod:`ncmsurf.io._table`): every
    row of a curve has the same number of fields, and the decimal mark (point
    or comma) is decided once for the whole file, so ``870,5  1234,5`` is
    energy 870.5 and intensity 1234.5, and a cell written with the other mark
    is an error.
    """
    p = Path(path)
    tf = TextFile.open(p)
    lines = tf.lines
    header: dict[str, Any] = {}
    # curves: the runs of data lines between comment lines (blank lines inside a run are skipped)
    curves: list[tuple[int, int, dict[str, Any]]] = []
    cur_start: int | None = None
    cur_header: dict[str, Any] = {}
    last_data = -1
    for i, raw in enumerate(lines):
        s = raw.strip(" \t")
        if not s:
            continue
        if s.startswith("#"):
            if cur_start is not None:
                curves.append((cur_start, last_data + 1, cur_header))
                cur_start = None
            m = _KEY.match(s)
            if not m:
                continue
            key, val = m.group(1).strip(), m.group(2)
            low = key.lower()
            if low == "region":
                header = {k: v for k, v in header.items() if k in ("created_by", "group")}
                header["region_name"] = val
            elif low == "cycle":
                mm = re.match(r"(\d+)(?:\s*,\s*Curve\s*:\s*(\d+))?", val)
                if mm:
                    header["cycle"] = int(mm.group(1))
                    if mm.group(2) is not None:
                        header["curve"] = int(mm.group(2))
            elif low == "columnlabels":
                header["column_labels"] = val.split()
            elif low in _NUMKEYS:
                try:
                    num = float(val.split()[0].replace(",", "."))
                except (ValueError, IndexError):
                    raise ReadError(p, i + 1, f"expected a number for {key!r}, got {val!r}") from None
                if not np.isfinite(num):
                    raise ReadError(p, i + 1, f"expected a finite number for {key!r}, got {val!r}")
                header[_NUMKEYS[low]] = int(num) if _NUMKEYS[low] in ("scans", "values_per_curve",
                                                                    "curves_per_scan") else num
            else:
                header[low.replace(" ", "_").replace(".", "").replace("/", "_")] = val
            continue
        if cur_start is None:
            cur_start = i
            cur_header = dict(header)
        last_data = i
    if cur_start is not None:
        curves.append((cur_start, last_data + 1, cur_header))
    if not curves:
        raise ReadError(p, None, "no data rows found in the SPECS .xy file")
    # one decimal mark for the whole file (a ".xy" written with decimal commas keeps them in every curve)
    sample_rows = [split_fields(lines[i], None) for a, b, _h in curves for i in range(a, b)
                   if lines[i].strip(" \t")][:400]
    dots = sum(1 for r in sample_rows for t in r if "." in t)
    commas = sum(1 for r in sample_rows for t in r if "," in t)
    decimal = "," if commas > dots else "."
    out: list[XPSSpectrum] = []
    for a, b, meta0 in curves:
        table = table_at(tf, header=None, start=a, stop=b, delimiter=None, decimal=decimal)
        meta = dict(meta0)
        if len(table.names) < 2:
            raise ReadError(p, a + 1, f"expected at least 2 columns (energy, intensity), found {len(table.names)}")
        announced = meta.get("values_per_curve")
        if announced is not None and int(announced) != table.nrows:
            raise ReadError(p, b, f"curve starting at line {a + 1} has {table.nrows} rows but the "
                            f"header announces Values/Curve: {announced} (truncated file?)")
        meta["excitation_energy_source"] = "file" if "excitation_energy" in meta else "default"
        hv = float(meta.get("excitation_energy", AL_KALPHA))
        labels = [str(x) for x in meta.get("column_labels", [])]
        axis = str(meta.get("energy_axis", "")).lower()
        kinetic = "kinetic" in axis or (bool(labels) and "kinetic" in labels[0].lower())
        x = table.column(0)
        y = table.column(1)
        be = hv - x if kinetic else x
        t = None
        if len(table.names) > 2 and labels and any("transmission" in lab.lower() for lab in labels[2:]):
            k = 2 + [i for i, lab in enumerate(labels[2:]) if "transmission" in lab.lower()][0]
            if k >= len(table.names):
                raise ReadError(p, a + 1, f"ColumnLabels name a transmission column {k + 1}, the rows hold "
                                          f"{len(table.names)}")
            t = table.column(k)
        units = "counts/s" if labels[1:2] and "/s" in labels[1] else "counts"
        meta["decimal"] = decimal
        name = str(meta.get("region_name", ""))
        try:
            out.append(XPSSpectrum(be, y, region=_region(name), sample=sample, meta=meta,
                                   excitation_energy=hv, transmission=t, units=units))
        except ValidationError as exc:
            raise ReadError(p, a + 1, f"curve ending at line {b}: {exc}") from exc
    return out


READERS = [
    SimpleReader("specs-xy", "xps", (".xy",), _sniff, read_specs_xy, "SPECS SpecsLab/Prodigy .xy export"),
]
