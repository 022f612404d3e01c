r"""Scienta SES exports: the ``.txt`` region file and the Igor binary wave ``.ibw``.

**SES .txt**: ``[Info]``, then per region ``[Region n]`` (``Dimension 1
name=Binding Energy [eV]``, ``Dimension 1 size``, ``Dimension 1 scale`` and,
for several slices, ``Dimension 2 ...``), ``[Info n]`` (``Excitation
Energy``, ``Lens Mode``, ``Pass Energy``, ``Energy Scale``, ``Number of
Sweeps``, ``Low/High Energy`` ...) and ``[Data n]`` rows of the energy and one
intensity per slice. The energy column is checked against the stated scale
and size; the photon energy is the file's (synchrotron files state 520, 700
eV ...), and when the ``Low``/``High Energy`` window (kinetic) disagrees with
the binding-energy axis for that photon energy, a warning says so.

**Igor .ibw** (versions 2 and 5, written by SES): the header checksum, the
data type and the sizes are checked; dimension 0 is the energy axis
(``sfA``/``sfB``), a second dimension gives one spectrum per slice; the wave
note holds the same ``key=value`` lines as the ``[Info]`` section. The layout
follows WaveMetrics' Technical Note PTN003 (own parser: no Igor package is
needed).

Examples
--------
>>> import os, tempfile
>>> text = "\n".join(["[Info]", "Number of Regions=0001", "", "[Region 1]", "Region Name=C1s",
...                   "Dimension 1 name=Binding Energy [eV]", "Dimension 1 size=3", "Dimension 1 scale=286 285 284",
...                   "[Info 1]", "Region Name=C1s", "Lens Mode=Transmission", "Pass Energy=50",
...                   "Excitation Energy=700", "Energy Scale=Binding", "[Data 1]",
...                   " 286  10", " 285  30", " 284  12", ""])
>>> path = os.path.join(tempfile.mkdtemp(), "c1s.txt")
>>> _ = open(path, "w").write(text)
>>> s = read_scienta_txt(path)[0]
>>> s.region, s.excitation_energy, s.meta["lens_mode"], s.meta["pass_energy"], s.meta["excitation_energy_source"]
('C 1s', 700.0, 'Transmission', 50.0, 'file')
"""

from __future__ import annotations

import os
import re
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.io._xps_meta import XPSReadWarning, split_lines
from ncmsurf.io._xps_meta import excitation_energy as _hv
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_scienta_ibw", "read_scienta_txt"]

_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_CORE = re.compile(r"^([A-Z][a-z]?)\s*(\d[spdf])(?:\s*(\d/\d))?")
_SECTION = re.compile(r"^\[(.+)\]$")
_NUMERIC_KEYS = {"pass energy": "pass_energy", "number of sweeps": "sweeps", "excitation energy": "excitation_energy",
                 "center energy": "center_energy", "low energy": "low_energy", "high energy": "high_energy",
                 "energy step": "energy_step", "step time": "step_time", "number of slices": "slices"}
_TEXT_KEYS = {"lens mode": "lens_mode", "energy scale": "energy_scale", "acquisition mode": "acquisition_mode",
              "energy unit": "energy_unit", "region name": "region_name", "sample": "sample_identifier",
              "spectrum name": "spectrum_name", "instrument": "instrument", "date": "date", "time": "time",
              "user": "user", "comments": "comments", "location": "location", "detectormode": "detector_mode"}


def _region(name: str) -> str | None:
    m = _CORE.match(name.strip())
    return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}" if m else None


def _info(p: Path, items: list[tuple[int, str, str]]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for no, key, val in items:
        low = key.strip().lower()
        if low in _NUMERIC_KEYS:
            if not _NUM.match(val.strip()):
                raise ReadError(p, no, f"{key}: expected a number, got {val[:40]!r}")
            v = float(val)
            meta[_NUMERIC_KEYS[low]] = int(v) if _NUMERIC_KEYS[low] in ("sweeps", "slices") and v == int(v) else v
        elif low in _TEXT_KEYS:
            meta[_TEXT_KEYS[low]] = val.strip()
        else:
            meta.setdefault("info", {})[key.strip()] = val.strip()
    return meta


def _energies(p: Path, meta: dict[str, Any], x: np.ndarray, axis_name: str, hv: float, line: int | None,
              where: str) -> np.ndarray:
    """Binding energies from the energy axis, its name and the Energy Scale key."""
    low = axis_name.lower()
    scale = str(meta.get("energy_scale", "")).lower()
    if "binding" in low or (not low and scale == "binding"):
        kind = "binding"
    elif "kinetic" in low or (not low and scale == "kinetic"):
        kind = "kinetic"
    else:
        kind = "kinetic"
        warnings.warn(f"{p.name}: {where}: neither the axis name ({axis_name!r}) nor 'Energy Scale' says whether "
                      "the energies are kinetic or binding; taken as kinetic (SES default)", XPSReadWarning,
                      stacklevel=4)
        meta["energy_scale_assumed"] = True
    if scale in ("binding", "kinetic") and low and scale not in low:
        warnings.warn(f"{p.name}: {where}: the axis is named {axis_name!r} but 'Energy Scale={meta['energy_scale']}'; "
                      "the axis name is followed", XPSReadWarning, stacklevel=4)
    meta["energy_axis"] = kind
    be = x if kind == "binding" else hv - x
    lo, hi = meta.get("low_energy"), meta.get("high_energy")
    if str(meta.get("energy_unit", "kinetic")).lower() == "kinetic" and lo is not None and hi is not None \
            and be.size > 1:
        step = abs(float(be[1] - be[0]))
        want = sorted((hv - float(hi), hv - float(lo)))
        got = sorted((float(be.min()), float(be.max())))
        if abs(want[0] - got[0]) > step + 0.011 or abs(want[1] - got[1]) > step + 0.011:
            warnings.warn(f"{p.name}: {where}: the kinetic window {lo}..{hi} eV at hv = {hv} eV gives BE "
                          f"{want[0]:g}..{want[1]:g} eV, the energy axis spans {got[0]:g}..{got[1]:g} eV "
                          "(wrong excitation energy?)", XPSReadWarning, stacklevel=4)
            meta["window_mismatch"] = True
    return be


def _build(p: Path, be: np.ndarray, y: np.ndarray, meta: dict[str, Any], hv: float, sample: Any,
           line: int | None) -> XPSSpectrum:
    try:
        return XPSSpectrum(be, y, region=_region(str(meta.get("region_name", ""))), sample=sample, meta=meta,
                           excitation_energy=hv, units="counts")
    except ValidationError as exc:
        raise ReadError(p, line, str(exc)) from exc


# ------------------------------------------------------------------ .txt
def _sniff_txt(path: Path, head: bytes) -> float:
    if b"\x00" in head[:4096]:
        return 0.0
    text = head[:4096].decode("latin-1")
    if text.lstrip("\ufeff\r\n ").startswith("[Info]") and re.search(r"^\[Region 1\]", text, re.M) \
            and "Dimension 1 name=" in text:
        return 0.9
    return 0.0


def read_scienta_txt(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
                     **_: Any) -> list[XPSSpectrum]:
    """Read a Scienta SES ``.txt`` export (every region, every slice).

    Returns
    -------
    list of XPSSpectrum
        ``meta`` holds ``lens_mode``, ``pass_energy``, ``sweeps``,
        ``acquisition_mode``, ``energy_scale``, ``region_name``, ``slice`` (and
        ``slice_value`` from ``Dimension 2 scale``) and
        ``excitation_energy_source``.

    Raises
    ------
    ReadError
        With the line of a malformed key, data row, or an axis that does not match its stated size or scale.
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
    sections: list[tuple[str, int, list[tuple[int, str]]]] = []
    for no, s in enumerate(lines, start=1):
        m = _SECTION.match(s.strip())
        if m:
            sections.append((m.group(1), no, []))
        elif sections:
            sections[-1][2].append((no, s))
        elif s.strip():
            raise ReadError(p, no, f"expected a [section] header, got {s[:40]!r}")
    if not sections or sections[0][0] != "Info":
        raise ReadError(p, 1, "not a Scienta SES text file (no [Info] section first)")
    by: dict[str, tuple[int, list[tuple[int, str]]]] = {}
    for name, no, body in sections:
        if name in by:
            raise ReadError(p, no, f"section [{name}] appears twice")
        by[name] = (no, body)

    def keyvals(name: str) -> list[tuple[int, str, str]]:
        out = []
        for no, s in by[name][1]:
            if not s.strip():
                continue
            key, sep, val = s.partition("=")
            if not sep:
                raise ReadError(p, no, f"[{name}]: expected key=value, got {s[:40]!r}")
            out.append((no, key, val))
        return out

    info0 = {k.strip().lower(): (no, v) for no, k, v in keyvals("Info")}
    nreg_no, nreg_s = info0.get("number of regions", (by["Info"][0], ""))
    if not re.fullmatch(r"\d+", nreg_s.strip()):
        raise ReadError(p, nreg_no, f"Number of Regions: expected a count, got {nreg_s[:20]!r}")
    nreg = int(nreg_s)
    out: list[XPSSpectrum] = []
    for r in range(1, nreg + 1):
        for need in (f"Region {r}", f"Info {r}", f"Data {r}"):
            if need not in by:
                raise ReadError(p, None, f"section [{need}] missing ({nreg} regions announced)")
        reg = {k.strip().lower(): (no, v.strip()) for no, k, v in keyvals(f"Region {r}")}
        meta = _info(p, keyvals(f"Info {r}"))
        meta.update({"format": "scienta-ses-txt", "source_file": str(p), "region_index": r,
                     "file_version": info0.get("version", (0, ""))[1].strip()})
        if "region name" in reg:
            meta.setdefault("region_name", reg["region name"][1])
        dims = []
        for d in (1, 2, 3):
            if f"dimension {d} name" not in reg:
                break
            size_no, size_s = reg.get(f"dimension {d} size", (by[f"Region {r}"][0], ""))
            if not re.fullmatch(r"\d+", size_s):
                raise ReadError(p, size_no, f"Dimension {d} size: expected a count, got {size_s[:20]!r}")
            sc_no, sc_s = reg.get(f"dimension {d} scale", (size_no, ""))
            toks = sc_s.split()
            if not all(_NUM.match(t) for t in toks):
                raise ReadError(p, sc_no, f"Dimension {d} scale holds a non-number")
            dims.append((reg[f"dimension {d} name"][1], int(size_s), np.array(toks, dtype=float), sc_no))
        if not dims:
            raise ReadError(p, by[f"Region {r}"][0], f"[Region {r}] has no 'Dimension 1 name'")
        if len(dims) > 2:
            raise ReadError(p, dims[2][3], f"[Region {r}]: {len(dims)}-dimensional data are not an XPS spectrum")
        nslices = dims[1][1] if len(dims) == 2 else 1
        data_no, body = by[f"Data {r}"]
        rows: list[list[float]] = []
        row_lines: list[int] = []
        for no, s in body:
            if not s.strip():
                continue
            toks = s.split()
            if len(toks) != 1 + nslices:
                raise ReadError(p, no, f"{len(toks)} fields, expected {1 + nslices} (energy + {nslices} slice(s))")
            if not all(_NUM.match(t) for t in toks):
                bad = next(t for t in toks if not _NUM.match(t))
                raise ReadError(p, no, f"expected numbers, got {bad[:30]!r}")
            rows.append([float(t) for t in toks])
            row_lines.append(no)
        name, size, scale, sc_no = dims[0]
        if len(rows) != size:
            raise ReadError(p, row_lines[-1] if row_lines else data_no,
                            f"[Data {r}] has {len(rows)} rows, Dimension 1 size is {size} (truncated file?)")
        arr = np.asarray(rows, dtype=float)
        if scale.size != size:
            raise ReadError(p, sc_no, f"Dimension 1 scale lists {scale.size} values, size is {size}")
        if not np.allclose(arr[:, 0], scale, rtol=0, atol=1e-6 * max(1.0, float(np.abs(scale).max()))):
            k = int(np.flatnonzero(~np.isclose(arr[:, 0], scale, rtol=0, atol=1e-6))[0])
            raise ReadError(p, row_lines[k], f"energy {arr[k, 0]} differs from Dimension 1 scale value {scale[k]}")
        hv, meta["excitation_energy_source"] = _hv(p, meta.get("excitation_energy"), excitation_energy,
                                                                 where=f" (region {r})")
        meta["excitation_energy"] = hv
        meta["axis_name"] = name
        be = _energies(p, meta, arr[:, 0], name, hv, sc_no, f"region {r}")
        for k in range(nslices):
            sm: dict[str, Any] = dict(meta)
            sm["slice"] = k
            if len(dims) == 2:
                sm["slice_axis"] = dims[1][0]
                if dims[1][2].size == nslices:
                    sm["slice_value"] = float(dims[1][2][k])
            out.append(_build(p, be, arr[:, 1 + k], sm, hv, sample, data_no))
    return out


# ------------------------------------------------------------------ .ibw
_IBW_TYPES = {2: "f4", 4: "f8", 8: "i1", 0x10: "i2", 0x20: "i4", 0x48: "u1", 0x50: "u2", 0x60: "u4"}


def _sniff_ibw(path: Path, head: bytes) -> float:
    if len(head) < 130:
        return 0.0
    for order in ("<", ">"):
        v = struct.unpack(order + "h", head[:2])[0]
        if v in (2, 5):
            score = 0.3 + (0.4 if path.suffix.lower() == ".ibw" else 0.0)
            if b"Excitation Energy" in head or b"Lens Mode" in head or b"Pass Energy" in head:
                score = 0.9
            return score
    return 0.0


def _checksum(raw: bytes, order: str, n: int) -> int:
    words = np.frombuffer(raw[:n - n % 2], dtype=order + "i2").astype(np.int64)
    return int(words.sum() % 65536)


def _ibw(p: Path, raw: bytes) -> tuple[np.ndarray, list[tuple[float, float]], list[str], str, str, dict[str, Any]]:
    if len(raw) < 16:
        raise ReadError(p, None, f"offset 0: {len(raw)} bytes, too short for an Igor binary wave")
    order = "<"
    version = struct.unpack("<h", raw[:2])[0]
    if version not in (1, 2, 3, 5):
        order = ">"
        version = struct.unpack(">h", raw[:2])[0]
    if version not in (2, 5):
        raise ReadError(p, None, f"offset 0: Igor binary wave version {version} is not supported (2 and 5 are)")
    info: dict[str, Any] = {"ibw_version": version, "byte_order": "little" if order == "<" else "big"}
    if version == 2:
        hdr_end = 16 + 110
        if len(raw) < hdr_end + 16:
            raise ReadError(p, None, f"offset {len(raw)}: file ends inside the version-2 headers")
        _, wfm_size, note_size, pict_size, _ck = struct.unpack(order + "hlllh", raw[:16])
        total = 16 + wfm_size + note_size + pict_size
        if _checksum(raw, order, 16 + 126) != 0 and _checksum(raw, order, hdr_end) != 0:
            raise ReadError(p, None, "offset 14: header checksum mismatch (corrupted file)")
        wtype = struct.unpack(order + "h", raw[16:18])[0]
        name = raw[22:42].split(b"\x00")[0].decode("latin-1")
        data_units = raw[50:54].split(b"\x00")[0].decode("latin-1")
        x_units = raw[54:58].split(b"\x00")[0].decode("latin-1")
        npnts = struct.unpack(order + "l", raw[58:62])[0]
        hs_a, hs_b = struct.unpack(order + "dd", raw[64:80])
        dims = [npnts]
        scales = [(hs_a, hs_b)]
        units = [x_units]
        data_off = hdr_end
        note_off = 16 + wfm_size
        formula_size = 0
    else:
        hdr_end = 64 + 320
        if len(raw) < hdr_end:
            raise ReadError(p, None, f"offset {len(raw)}: file ends inside the version-5 headers")
        f = struct.unpack(order + "hhlll", raw[:16])
        wfm_size, formula_size, note_size = f[2], f[3], f[4]
        # dataEUnitsSize, dimEUnitsSize[4], dimLabelsSize[4], sIndicesSize (optionsSize1/2 are reserved)
        rest = struct.unpack(order + "10l", raw[16:56])
        total = 64 + wfm_size + formula_size + note_size + sum(rest)
        if _checksum(raw, order, hdr_end) != 0:
            raise ReadError(p, None, "offset 2: header checksum mismatch (corrupted file)")
        npnts = struct.unpack(order + "l", raw[76:80])[0]
        wtype = struct.unpack(order + "h", raw[80:82])[0]
        name = raw[92:124].split(b"\x00")[0].decode("latin-1")
        ndim = list(struct.unpack(order + "4l", raw[132:148]))
        sf_a = struct.unpack(order + "4d", raw[148:180])
        sf_b = struct.unpack(order + "4d", raw[180:212])
        data_units = raw[212:216].split(b"\x00")[0].decode("latin-1")
        dim_units = [raw[216 + 4 * d:220 + 4 * d].split(b"\x00")[0].decode("latin-1") for d in range(4)]
        dims = [n for n in ndim if n > 0] if ndim[0] > 0 else []
        k = next((d for d, n in enumerate(ndim) if n == 0), 4)
        dims = ndim[:k]
        if not dims or int(np.prod(dims)) != npnts:
            raise ReadError(p, None, f"offset 132: dimensions {ndim} do not multiply to the {npnts} points")
        scales = [(sf_a[d], sf_b[d]) for d in range(len(dims))]
        units = dim_units[:len(dims)]
        data_off = hdr_end
        note_off = 64 + wfm_size + formula_size
    if wtype & 1:
        raise ReadError(p, None, "offset 80: complex waves are not spectra")
    if wtype not in _IBW_TYPES:
        raise ReadError(p, None, f"wave type {wtype:#x} is not numeric data (text wave?)")
    dt = np.dtype(order + _IBW_TYPES[wtype])
    if npnts < 1:
        raise ReadError(p, None, f"wave holds {npnts} points")
    nbytes = npnts * dt.itemsize
    if data_off + nbytes > len(raw):
        raise ReadError(p, None, f"offset {len(raw)}: file ends inside the wave data ({npnts} points of "
                        f"{dt.itemsize} bytes from offset {data_off})")
    if version == 5 and wfm_size != 320 + nbytes:
        raise ReadError(p, None, f"offset 4: wfmSize {wfm_size} does not match 320 + {nbytes} data bytes")
    if note_size < 0 or note_off < data_off + nbytes or note_off + note_size > len(raw):
        raise ReadError(p, None, f"offset {note_off}: the wave note ({note_size} bytes) lies outside the file")
    if total != len(raw):
        raise ReadError(p, None, f"offset {min(total, len(raw))}: the wave's sections (header, data, note...) "
                        f"end at byte {total} but the file has {len(raw)} bytes: bytes were added or lost")
    data = np.frombuffer(raw[data_off:data_off + nbytes], dt).astype(float)
    arr = data.reshape(tuple(reversed(dims))).T if len(dims) > 1 else data
    note = raw[note_off:note_off + note_size].decode("latin-1")
    info.update({"wave_name": name, "data_units": data_units})
    return arr, scales, units, note, name, info


def read_scienta_ibw(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
                     **_: Any) -> list[XPSSpectrum]:
    """Read a Scienta SES Igor binary wave (``.ibw``, version 2 or 5).

    Returns
    -------
    list of XPSSpectrum
        One per slice of the wave's second dimension (one for a 1-D wave),
        ``meta`` as for :func:`read_scienta_txt` plus ``wave_name``,
        ``ibw_version``, ``note``.

    Raises
    ------
    ReadError
        With the byte offset of a bad header, checksum, size or note.
    """
    p = Path(path)
    raw = p.read_bytes()
    arr, scales, units, note, name, info = _ibw(p, raw)
    if arr.ndim > 2:
        raise ReadError(p, None, f"offset 132: {arr.ndim}-dimensional wave is not an XPS spectrum set")
    bad = np.flatnonzero(~np.isfinite(arr.ravel()))
    if bad.size:
        raise ReadError(p, None, f"wave value {int(bad[0]) + 1} is not finite")
    items = []
    for k, s in enumerate(split_lines(note)):
        key, sep, val = s.partition("=")
        if sep:
            items.append((k + 1, key, val))
    meta = _info(p, items)
    meta.update(info)
    meta.update({"format": "scienta-ses-ibw", "source_file": str(p), "note": note, "energy_units": units[0]})
    meta.setdefault("region_name", name)
    hv, meta["excitation_energy_source"] = _hv(p, meta.get("excitation_energy"), excitation_energy,
                                                             where=" (wave note)")
    meta["excitation_energy"] = hv
    a, b = scales[0]
    if a == 0:
        raise ReadError(p, None, "offset 148: energy step (sfA) is 0")
    x = b + a * np.arange(arr.shape[0])
    axis = "binding energy" if str(meta.get("energy_scale", "")).lower() == "binding" else \
        ("kinetic energy" if str(meta.get("energy_scale", "")).lower() == "kinetic" else "")
    be = _energies(p, meta, x, axis, hv, None, "wave")
    cols = arr[:, None] if arr.ndim == 1 else arr
    out = []
    for k in range(cols.shape[1]):
        m = dict(meta)
        m["slice"] = k
        if arr.ndim == 2:
            m["slice_value"] = float(scales[1][1] + scales[1][0] * k)
            m["slice_units"] = units[1]
        out.append(_build(p, be, cols[:, k], m, hv, sample, None))
    return out


READERS = [
    SimpleReader("scienta-txt", "xps", (".txt",), _sniff_txt, read_scienta_txt,
                 "Scienta SES text export ([Info]/[Region n]/[Data n]; excitation energy from the file)"),
    SimpleReader("scienta-ibw", "xps", (".ibw",), _sniff_ibw, read_scienta_ibw,
                 "Scienta SES Igor binary wave (.ibw v2/v5; note with excitation energy, lens mode, pass energy)"),
]
