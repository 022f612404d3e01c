r"""PHI MultiPak ``.spe`` spectra and ``.pro`` depth profiles (VersaProbe, Quantera).

Layout (from the files themselves and the Apache-2.0 pynxtools-xps PHI parser):

* a text header from ``SOFH`` to ``EOFH`` of ``Key: value`` lines;
  ``SpectralRegDef: <n> <on> <name> <Z> <points> <step> <start> <end> <from>
  <to> <dwell> <pass energy> <mode>`` defines each region on the
  binding-energy axis, ``XraySource: Al 1486.6 mono`` the source,
  ``NoSpatialArea`` the analysis areas; depth profiles (``FileType:
  DEPTHPRO``) add ``NoDPDataCyc`` (cycles), ``NoPreSputterCyc`` and one
  ``DepthCalDef`` line per sputter layer (``<n> <name> <first cycle> . .
  <ion> . <interval min> <cycles> ...``);
* then binary little-endian data: a ``uint32`` count of spectra, one
  directory entry of 24 ``uint32`` per spectrum (word 8: points, word 9:
  cycles, word 22: byte length, word 23: byte offset from the start of the
  binary part, words 11/13/17: three-letter unit tags such as ``c/s``), and
  the values (``float32``, or ``float64`` when the length says so), cycle
  after cycle for each region.

Every directory entry is checked against the header (points, cycles, that
the block lies inside the file and after the directory, that the value size
is 4 or 8 bytes); a ``.spe`` must end with its last block. Bytes after the
last block of a ``.pro`` (MultiPak's per-cycle tables, not decoded) are
counted in ``meta["undecoded_trailing_bytes"]``. Sputter times come from
the ``DepthCalDef`` layers (pre-sputter cycles at 0 min, then each layer's
interval once per cycle) and are in ``meta["sputter_time"]`` (s) with
``meta["sputter_time_source"]``; where the layers do not account for the
cycles they are NaN and a warning says so.

Each region × area × cycle becomes one :class:`XPSSpectrum`;
:func:`depth_profile_stack` turns the spectra of one region into the
``(cycle, binding_energy)`` stack that :func:`ncmsurf.xps.fit_stack` fits,
with ``sputter_time`` as a coordinate.

Examples
--------
>>> import os, struct, tempfile
>>> import numpy as np
>>> hdr = ["SOFH", "FileType: SPECTRUM", "XraySource: Al 1486.6 mono", "NoSpectralReg: 1",
...        "SpectralRegDef: 1 1 O1s 8 5 -0.5000 532.0000 530.0000 532.0 530.0 0.1 23.5 FAT",
...        "NoSpatialArea: 1", "EOFH", ""]
>>> entry = [0] * 24
>>> entry[8], entry[9], entry[22], entry[23] = 5, 1, 20, 100
>>> body = struct.pack("<I", 1) + struct.pack("<24I", *entry) + struct.pack("<5f", 1, 2, 3, 2, 1)
>>> path = os.path.join(tempfile.mkdtemp(), "o1s.spe")
>>> _ = open(path, "wb").write("\r\n".join(hdr).encode() + body)
>>> s = read_phi(path)[0]
>>> s.region, s.binding_energy.tolist(), s.intensity.tolist()
('O 1s', [532.0, 531.5, 531.0, 530.5, 530.0], [1.0, 2.0, 3.0, 2.0, 1.0])
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.io._xps_meta import XPSReadWarning, excitation_energy, split_lines
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "depth_profile_stack", "read_phi"]

_ENTRY_WORDS = 24
_REGION = re.compile(r"^([A-Z][a-z]?)(\d)([spdf])(\d)?$")
_HALF = {("p", "3"): "3/2", ("p", "1"): "1/2", ("d", "5"): "5/2", ("d", "3"): "3/2", ("f", "7"): "7/2",
         ("f", "5"): "5/2"}


def _sniff(path: Path, head: bytes) -> float:
    return 1.0 if head.startswith(b"SOFH") and b"EOFH" in head else 0.0


def phi_region(name: str) -> str | None:
    """Core-level name from a PHI region name (``"O1s"`` → ``"O 1s"``, ``"Fe2p3"`` → ``"Fe 2p3/2"``).

    Surveys (``"Su1s"``) and names that are not core levels give ``None``.

    Examples
    --------
    >>> phi_region("Ni2p"), phi_region("Fe2p3"), phi_region("Su1s")
    ('Ni 2p', 'Fe 2p3/2', None)
    """
    m = _REGION.match(name.strip())
    if not m or m.group(1) == "Su":
        return None
    el, n, orb, j = m.groups()
    if j is None:
        return f"{el} {n}{orb}"
    half = _HALF.get((orb, j))
    return f"{el} {n}{orb}{half}" if half else None


def _split(p: Path, raw: bytes) -> tuple[list[tuple[int, str]], bytes]:
    if not raw.startswith(b"SOFH"):
        raise ReadError(p, 1, "not a PHI MultiPak file (does not start with 'SOFH')")
    m = re.search(rb"(?:\r\n|\n|\r)EOFH(\r\n|\n|\r)", raw)
    if m is None:
        raise ReadError(p, None, "no 'EOFH' line ends the PHI header (truncated file?)")
    text = raw[:m.start()].decode("latin-1")
    lines = split_lines(text)
    if "\x00" in text:
        k = next(i for i, s in enumerate(lines) if "\x00" in s)
        raise ReadError(p, k + 1, "NUL byte in the PHI text header")
    return [(i + 1, s.strip()) for i, s in enumerate(lines) if s.strip()], raw[m.end():]


def _parse_header(p: Path, lines: list[tuple[int, str]]) -> tuple[dict[str, str], dict[str, list[tuple[int, str]]]]:
    single: dict[str, str] = {}
    multi: dict[str, list[tuple[int, str]]] = {}
    for no, s in lines[1:]:
        key, sep, val = s.partition(":")
        if not sep:
            raise ReadError(p, no, f"expected 'Key: value' in the PHI header, got {s[:60]!r}")
        key, val = key.strip(), val.strip()
        multi.setdefault(key, []).append((no, val))
        single.setdefault(key, val)
    return single, multi


def _int(p: Path, h: dict[str, str], multi: dict[str, list[tuple[int, str]]], key: str, default: int | None) -> int:
    if key not in h:
        if default is None:
            raise ReadError(p, None, f"PHI header has no {key!r} line")
        return default
    no, val = multi[key][0]
    tok = val.split()[0] if val.split() else ""
    if not re.fullmatch(r"\d+", tok):
        raise ReadError(p, no, f"{key}: expected a count, got {val[:40]!r}")
    return int(tok)


def _float_tok(p: Path, no: int, tok: str, what: str) -> float:
    if not re.fullmatch(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?", tok):
        raise ReadError(p, no, f"{what}: expected a number, got {tok[:30]!r}")
    return float(tok)


def _regions(p: Path, h: dict[str, str], multi: dict[str, list[tuple[int, str]]]) -> list[dict[str, Any]]:
    defs = multi.get("SpectralRegDef", [])
    n = _int(p, h, multi, "NoSpectralReg", len(defs))
    if len(defs) != n:
        raise ReadError(p, defs[-1][0] if defs else None,
                        f"NoSpectralReg says {n} regions, the header defines {len(defs)} (SpectralRegDef lines)")
    out = []
    for no, val in defs:
        f = val.split()
        if len(f) < 12:
            raise ReadError(p, no, f"SpectralRegDef: expected at least 12 fields, got {len(f)}")
        if not re.fullmatch(r"\d+", f[4]):
            raise ReadError(p, no, f"SpectralRegDef: number of points {f[4]!r} is not a count")
        npts = int(f[4])
        step = _float_tok(p, no, f[5], "SpectralRegDef step")
        start = _float_tok(p, no, f[6], "SpectralRegDef start")
        end = _float_tok(p, no, f[7], "SpectralRegDef end")
        if npts < 1 or step == 0:
            raise ReadError(p, no, f"SpectralRegDef: {npts} points with step {step} eV")
        if npts > 1 and abs(start + step * (npts - 1) - end) > max(1e-6, 1e-3 * abs(step)):
            raise ReadError(p, no, f"SpectralRegDef: {npts} points from {start} in steps of {step} eV end at "
                            f"{start + step * (npts - 1):g}, not at the stated {end:g} eV")
        out.append({"region_name": f[2], "region_index": f[0], "points": npts, "step": step, "start": start,
                    "end": end, "dwell_time": _float_tok(p, no, f[-3], "SpectralRegDef dwell"),
                    "pass_energy": _float_tok(p, no, f[-2], "SpectralRegDef pass energy"), "acquisition": f[-1],
                    "definition": val, "_line": no})
    return out


def _tag(word: int) -> str:
    b = int(word).to_bytes(4, "little").rstrip(b"\x00")
    return b.decode("latin-1") if b and all(32 <= c < 127 for c in b) else ""


def _sputter_times(p: Path, h: dict[str, str], multi: dict[str, list[tuple[int, str]]],
                   ncyc: int) -> tuple[np.ndarray, str, list[dict[str, Any]]]:
    """Sputter time (min) of every cycle from the DepthCalDef layers."""
    layers: list[dict[str, Any]] = []
    for no, val in multi.get("DepthCalDef", []):
        f = val.split()
        if len(f) < 9 or not re.fullmatch(r"\d+", f[2]) or not re.fullmatch(r"\d+", f[8]):
            raise ReadError(p, no, f"DepthCalDef: expected '<n> <name> <first cycle> . . <ion> . <interval> "
                            f"<cycles> ...', got {val[:60]!r}")
        layers.append({"name": f[1], "first_cycle": int(f[2]), "ion": f[5],
                       "interval_min": _float_tok(p, no, f[7], "DepthCalDef interval"), "cycles": int(f[8])})
    pre = _int(p, h, multi, "NoPreSputterCyc", 0)
    times = [0.0] * min(pre, ncyc)
    t = 0.0
    ok = bool(layers)
    for lay in layers:
        if lay["first_cycle"] != len(times):
            ok = False
        for _ in range(int(lay["cycles"])):
            t += float(lay["interval_min"])
            times.append(t)
    if not ok or len(times) != ncyc:
        why = ("no DepthCalDef layers" if not layers else
               f"the DepthCalDef layers account for {len(times)} cycles (first cycles "
               f"{[lay['first_cycle'] for lay in layers]}), the data hold {ncyc}")
        warnings.warn(f"{p.name}: sputter times unknown ({why}); meta['sputter_time'] is NaN, use meta['cycle']",
                      XPSReadWarning, stacklevel=4)
        return np.full(ncyc, np.nan), f"unknown: {why}", layers
    return np.asarray(times), "DepthCalDef", layers


def read_phi(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
             **_: Any) -> list[XPSSpectrum]:
    """Read a PHI MultiPak ``.spe`` or ``.pro`` file.

    Parameters
    ----------
    path : str or path-like
    sample : Sample or str, optional
    excitation_energy : float, optional
        Override the ``XraySource`` energy (eV).

    Returns
    -------
    list of XPSSpectrum
        One per region, analysis area and cycle (cycle-minor). ``meta`` holds
        ``region_name`` (PHI's, e.g. ``"Fe2p3"``), ``pass_energy``,
        ``dwell_time``, ``area``, ``cycle``, ``n_cycles``, ``file_type``,
        ``header`` (every header line as a dict, repeated keys as lists), and
        for depth profiles ``sputter_time`` (s), ``sputter_time_min``,
        ``sputter_time_source``, ``sputter_layers``.

    Raises
    ------
    ReadError
        With the header line or the binary offset of the first inconsistency.
    """
    p = Path(path)
    raw = p.read_bytes()
    lines, binary = _split(p, raw)
    h, multi = _parse_header(p, lines)
    bin_start = len(raw) - len(binary)
    regions = _regions(p, h, multi)
    n_areas = _int(p, h, multi, "NoSpatialArea", 1)
    if n_areas < 1:
        raise ReadError(p, multi["NoSpatialArea"][0][0], "NoSpatialArea is 0")
    file_type = h.get("FileType", "").strip().upper()
    profile = file_type == "DEPTHPRO"
    hv_stated = None
    if "XraySource" in h:
        energies = [float(t) for t in h["XraySource"].split()
                    if re.fullmatch(r"\d+(?:\.\d*)?", t) and 10 < float(t) < 1e5]
        if len(energies) > 1:
            raise ReadError(p, multi["XraySource"][0][0], f"XraySource {h['XraySource']!r} states "
                            f"{len(energies)} photon energies; which one is meant cannot be told")
        hv_stated = energies[0] if energies else None
    hv, hv_source = excitation_energy_of(p, hv_stated, excitation_energy)
    if len(binary) < 4:
        raise ReadError(p, None, f"offset {bin_start}: the binary part has {len(binary)} bytes, no directory")
    count = int(np.frombuffer(binary[:4], "<u4")[0])
    expected = len(regions) * n_areas
    if count != expected:
        raise ReadError(p, None, f"offset {bin_start}: the directory lists {count} spectra, the header defines "
                        f"{len(regions)} regions x {n_areas} areas = {expected}")
    dir_end = 4 + 4 * _ENTRY_WORDS * count
    if len(binary) < dir_end:
        raise ReadError(p, None, f"offset {bin_start + len(binary)}: file ends inside the directory "
                        f"({count} entries need {dir_end} bytes)")
    entries = np.frombuffer(binary[4:dir_end], "<u4").reshape(count, _ENTRY_WORDS)
    header_meta = {k: (v[0][1] if len(v) == 1 else [x[1] for x in v]) for k, v in multi.items()}
    pending: list[tuple[np.ndarray, np.ndarray, dict[str, Any], str, int]] = []
    last_end = dir_end
    ncyc_header = _int(p, h, multi, "NoDPDataCyc", 1) if profile else 1
    times: np.ndarray | None = None
    time_source = ""
    layers: list[dict[str, Any]] = []
    for k in range(count):
        reg = regions[k // n_areas]
        area = k % n_areas + 1
        e = entries[k]
        where = f"offset {bin_start + 4 + 4 * _ENTRY_WORDS * k}: directory entry {k + 1} ({reg['region_name']})"
        npts, ncyc, nbytes, off = int(e[8]), int(e[9]), int(e[22]), int(e[23])
        if npts != reg["points"]:
            raise ReadError(p, None, f"{where} has {npts} points, SpectralRegDef (line {reg['_line']}) "
                            f"{reg['points']}")
        if ncyc < 1 or (not profile and ncyc != 1):
            raise ReadError(p, None, f"{where} holds {ncyc} cycles" + ("" if profile else " in a single-spectrum "
                                                                          "file (FileType not DEPTHPRO)"))
        if nbytes not in (4 * npts * ncyc, 8 * npts * ncyc):
            raise ReadError(p, None, f"{where}: {nbytes} bytes for {npts} points x {ncyc} cycles is neither "
                            "float32 nor float64")
        if off < dir_end or off + nbytes > len(binary):
            raise ReadError(p, None, f"{where}: data block at bytes {off}..{off + nbytes} of the binary part "
                            f"lies outside it ({dir_end}..{len(binary)})")
        last_end = max(last_end, off + nbytes)
        dtype = "<f4" if nbytes == 4 * npts * ncyc else "<f8"
        vals = np.frombuffer(binary[off:off + nbytes], dtype).astype(float).reshape(ncyc, npts)
        bad = np.flatnonzero(~np.isfinite(vals.ravel()))
        if bad.size:
            j = int(bad[0])
            raise ReadError(p, None, f"offset {bin_start + off + j * np.dtype(dtype).itemsize}: value {j + 1} of "
                            f"{reg['region_name']} is not finite")
        # a subnormal number is never a measured intensity: it is what bytes read out of step give
        tiny = float(np.finfo(dtype).tiny)
        flat = np.abs(vals.ravel())
        bad = np.flatnonzero((flat > 0) & (flat < tiny))
        if bad.size:
            j = int(bad[0])
            raise ReadError(p, None, f"offset {bin_start + off + j * np.dtype(dtype).itemsize}: value {j + 1} of "
                            f"{reg['region_name']} is a subnormal number ({vals.ravel()[j]:.3g}): the data block "
                            "does not start where the directory says (bytes added or lost)")
        if profile and times is None:
            if ncyc != ncyc_header:
                warnings.warn(f"{p.name}: NoDPDataCyc says {ncyc_header} cycles, the data hold {ncyc}; the data "
                              "are read as they are", XPSReadWarning, stacklevel=2)
            times, time_source, layers = _sputter_times(p, h, multi, ncyc)
        be = reg["start"] + reg["step"] * np.arange(npts)
        tags = [_tag(e[i]) for i in (11, 13, 17)]
        units = "counts/s" if "c/s" in tags or tags == ["", "", ""] else "counts"
        for c in range(ncyc):
            meta: dict[str, Any] = {
                "format": "phi-multipak", "file_type": file_type or "SPECTRUM", "source_file": str(p),
                "region_name": reg["region_name"], "region_definition": reg["definition"],
                "pass_energy": reg["pass_energy"], "dwell_time": reg["dwell_time"],
                "acquisition_mode": reg["acquisition"], "area": area, "cycle": c, "n_cycles": ncyc,
                "value_type": "float32" if dtype == "<f4" else "float64", "unit_tags": tags,
                "excitation_energy_source": hv_source, "instrument_model": h.get("InstrumentModel", ""),
                "header": header_meta,
            }
            if "AnalyserWorkFcn" in h and h["AnalyserWorkFcn"].split():
                tok = h["AnalyserWorkFcn"].split()[0]
                if re.fullmatch(r"[-+]?\d+(?:\.\d*)?", tok):
                    meta["work_function"] = float(tok)
            if profile and times is not None:
                meta["sputter_time_min"] = float(times[c])
                meta["sputter_time"] = float(times[c]) * 60.0
                meta["sputter_time_source"] = time_source
                meta["sputter_layers"] = layers
            pending.append((be, vals[c], meta, units, reg["_line"]))
    extra = len(binary) - last_end
    if extra and not profile:
        raise ReadError(p, None, f"offset {bin_start + last_end}: {extra} bytes after the last data block "
                        "(trailing garbage or a truncated directory)")
    out: list[XPSSpectrum] = []
    for be, y, meta, units, line in pending:
        if profile:
            meta["undecoded_trailing_bytes"] = extra
        try:
            out.append(XPSSpectrum(be, y, region=phi_region(meta["region_name"]), sample=sample, meta=meta,
                                   excitation_energy=hv, units=units))
        except ValidationError as exc:
            raise ReadError(p, line, f"{meta['region_name']} cycle {meta['cycle']}: {exc}") from exc
    return out


def excitation_energy_of(p: Path, stated: float | None, user: Any) -> tuple[float, str]:
    """Photon energy and its source for a PHI file (see :func:`ncmsurf.io._xps_meta.excitation_energy`)."""
    return excitation_energy(p, stated, user, where=" (no XraySource line)")


def depth_profile_stack(spectra: Sequence[XPSSpectrum], region: str | None = None, *,
                        area: int = 1) -> xr.DataArray:
    """Stack the cycles of one region of a depth profile for :func:`ncmsurf.xps.fit_stack`.

    Parameters
    ----------
    spectra : sequence of XPSSpectrum
        As returned by :func:`read_phi` for a ``.pro`` file.
    region : str, optional
        Core level (``"O 1s"``) or PHI region name (``"O1s"``); may be
        omitted when the spectra hold one region only.
    area : int
        Analysis area (1-based).

    Returns
    -------
    xarray.DataArray
        ``(cycle, binding_energy)`` with coordinates ``cycle`` and
        ``sputter_time`` (s, NaN where unknown); ``attrs`` ``region``,
        ``units``, ``excitation_energy``.

    Raises
    ------
    ValidationError
        When the region is ambiguous, absent, or its cycles lie on different grids.
    """
    pick = [s for s in spectra if s.meta.get("area", 1) == area
            and (region is None or region in (s.region, s.meta.get("region_name")))]
    names = sorted({str(s.meta.get("region_name", s.region)) for s in pick})
    if not pick:
        raise ValidationError(f"depth_profile_stack: no spectra of region {region!r} in area {area}")
    if len(names) > 1:
        raise ValidationError(f"depth_profile_stack: several regions {names}; pass region=")
    pick.sort(key=lambda s: int(s.meta.get("cycle", 0)))
    be = pick[0].binding_energy
    for s in pick[1:]:
        if s.binding_energy.shape != be.shape or not np.array_equal(s.binding_energy, be):
            raise ValidationError(f"depth_profile_stack: cycle {s.meta.get('cycle')} lies on another energy grid")
    data = np.stack([s.intensity for s in pick])
    cyc = np.array([int(s.meta.get("cycle", i)) for i, s in enumerate(pick)])
    t = np.array([float(s.meta.get("sputter_time", np.nan)) for s in pick])
    attrs: dict[str, Any] = {"units": pick[0].data.attrs.get("units", "counts"),
                             "excitation_energy": pick[0].excitation_energy, "region_name": names[0]}
    if pick[0].region is not None:
        attrs["region"] = pick[0].region
    return xr.DataArray(data, dims=("cycle", "binding_energy"),
                        coords={"binding_energy": be, "cycle": cyc,
                                "sputter_time": ("cycle", t, {"units": "s"})},
                        name="intensity", attrs=attrs)


READERS = [
    SimpleReader("phi-multipak", "xps", (".spe", ".pro"), _sniff, read_phi,
                 "PHI MultiPak .spe spectra and .pro depth profiles (text header, binary data)"),
]
