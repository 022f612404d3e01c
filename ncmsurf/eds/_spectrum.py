"""EDS spectra, X-ray line energies, spectrum images (hypermaps) and the EMSA/MAS text format (private).

Element maps are made from a spectrum image by summing, in every pixel, the
channels inside each element's line window: the line energy (Kα or Lα from
the shipped table, with its reference) ± ``width``/2 detector FWHMs, the FWHM
at that energy from the detector's resolution at Mn Kα (Fiori & Newbury).
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.models import ElementMap
from ncmsurf.core.results import register_citation
from ncmsurf.core.sample import Sample

__all__ = ["LINE_ENERGIES", "EDSSpectrum", "Hypermap", "LineOverlapWarning", "detector_fwhm", "line_energy",
           "line_window", "read_hypermap", "read_msa", "write_msa"]

register_citation("thompson2009", "A. C. Thompson et al., X-Ray Data Booklet, 3rd ed., Lawrence Berkeley National "
                                  "Laboratory (2009), Table 1-2 (after J. A. Bearden, Rev. Mod. Phys. 39, 78 (1967))")
register_citation("fiori1978", "C. E. Fiori, D. E. Newbury, Artifacts observed in energy-dispersive X-ray "
                               "spectrometry in the scanning electron microscope, Scanning Electron Microsc. 1, "
                               "401-422 (1978)")


def _load_lines() -> tuple[dict[str, dict[str, float]], str]:
    raw = resources.files("ncmsurf.eds._data").joinpath("xray_lines.json").read_text(encoding="utf-8")
    doc = json.loads(raw)
    return {str(el): {str(k): float(v) for k, v in d.items()} for el, d in doc["lines"].items()}, str(doc["reference"])


LINE_ENERGIES, LINE_REFERENCE = _load_lines()
"""Element → {line: energy in eV} (``Ka1``, ``Ka2``, ``Kb1``, ``La1``, ``Ma``), X-ray Data Booklet values."""

_LINE_ALIASES = {"K": "Ka", "KA": "Ka", "KA1": "Ka1", "KB": "Kb1", "KB1": "Kb1", "L": "La", "LA": "La", "LA1": "La1",
                 "M": "Ma", "MA": "Ma"}


class LineOverlapWarning(NcmsurfWarning):
    """The line windows of two elements overlap: their maps share counts."""


def line_energy(element: str, line: str = "auto", *, beam_kV: float | None = None) -> tuple[float, str]:
    """Energy (eV) and name of an element's X-ray line.

    ``"Ka"`` is the intensity-weighted Kα1/Kα2 doublet ((2 Kα1 + Kα2) / 3); ``"La"``
    is Lα1; ``"auto"`` takes Kα when the beam can excite it with an overvoltage
    of at least 1.5 (below 10 keV when the beam energy is unknown), else Lα.

    Examples
    --------
    >>> line_energy("Al")
    (1486.5566666666666, 'Ka')
    >>> line_energy("Ni", "La")
    (851.5, 'La')
    >>> line_energy("Ni", beam_kV=5.0)
    (851.5, 'La')
    """
    if element not in LINE_ENERGIES:
        raise ValidationError(f"no X-ray lines tabulated for {element!r} (known: {', '.join(LINE_ENERGIES)})")
    table = LINE_ENERGIES[element]
    name = _LINE_ALIASES.get(line.strip().upper(), line.strip()) if line != "auto" else "auto"
    ka = None
    if "Ka1" in table:
        ka = (2 * table["Ka1"] + table["Ka2"]) / 3 if "Ka2" in table else table["Ka1"]
    if name == "auto":
        limit = 10000.0 if beam_kV is None else beam_kV * 1000.0 / 1.5
        if ka is not None and ka <= limit:
            return ka, "Ka"
        if "La1" in table:
            return table["La1"], "La"
        if "Ma" in table:
            return table["Ma"], "Ma"
        if ka is not None:
            return ka, "Ka"
    if name == "Ka" and ka is not None:
        return ka, "Ka"
    key = {"La": "La1"}.get(name, name)
    if key in table:
        return table[key], name
    raise ValidationError(f"line {line!r} of {element} is not tabulated (known: {', '.join(table)})")


def detector_fwhm(energy: float, *, fwhm_mn: float = 130.0) -> float:
    """Detector FWHM (eV) at ``energy`` (eV) from its FWHM at Mn Kα (Fiori & Newbury).

    FWHM(E)² = FWHM(Mn Kα)² + 2.5 eV × (E − 5898.75 eV).

    Examples
    --------
    >>> round(detector_fwhm(1486.7), 1)
    76.6
    """
    v = fwhm_mn**2 + 2.5 * (energy - 5898.75)
    return math.sqrt(max(v, (0.3 * fwhm_mn) ** 2))


def line_window(element: str, line: str = "auto", *, width: float = 2.0, fwhm_mn: float = 130.0,
                beam_kV: float | None = None) -> tuple[float, float, str]:
    """(low, high) energy in eV of the integration window of an element's line, and the line used.

    Examples
    --------
    >>> lo, hi, ln = line_window("Ni", "Ka")
    >>> round(hi - lo, 1), ln
    (288.7, 'Ka')
    """
    e, name = line_energy(element, line, beam_kV=beam_kV)
    half = 0.5 * width * detector_fwhm(e, fwhm_mn=fwhm_mn)
    return e - half, e + half, name

_REQUIRED = ("FORMAT", "VERSION", "TITLE", "DATE", "TIME", "OWNER", "NPOINTS", "NCOLUMNS", "XUNITS", "YUNITS",
             "DATATYPE", "XPERCHAN", "OFFSET")
_UNIT_TO_EV = {"ev": 1.0, "kev": 1000.0}


class EDSSpectrum:
    """One EDS spectrum: counts over photon energy.

    Parameters
    ----------
    energy : array_like
        Photon energy, eV, strictly increasing.
    counts : array_like
        Same length, finite.
    sample : Sample or str, optional
    meta : dict, optional
        Header keywords (``"BEAMKV"``, ``"LIVETIME"``, ...).

    Examples
    --------
    >>> s = EDSSpectrum([0, 10, 20, 30], [1, 5, 5, 1])
    >>> s.window(5, 25)
    10.0
    """

    __slots__ = ("_data",)
    _data: xr.DataArray

    def __init__(self, energy: Any, counts: Any, *, sample: Sample | str | None = None,
                 meta: dict[str, Any] | None = None) -> None:
        e = np.asarray(energy, dtype=float)
        c = np.asarray(counts, dtype=float)
        if e.ndim != 1 or c.ndim != 1 or e.size != c.size or e.size == 0:
            raise ValidationError(f"energy/counts: expected 1-D arrays of one non-zero length, got {e.shape}, "
                                  f"{c.shape}")
        for arr, nm in ((e, "energy"), (c, "counts")):
            bad = np.flatnonzero(~np.isfinite(arr))
            if bad.size:
                raise ValidationError(f"{nm}: non-finite value at index {int(bad[0])}")
        if e.size > 1 and np.any(np.diff(e) <= 0):
            i = int(np.flatnonzero(np.diff(e) <= 0)[0]) + 1
            raise ValidationError(f"energy: must increase strictly; index {i}")
        s = Sample.parse(sample) if isinstance(sample, str) else sample
        attrs: dict[str, Any] = {"units": "counts", "meta": dict(meta or {})}
        if s is not None:
            attrs["sample"] = str(s)
        da = xr.DataArray(c.copy(), dims=("energy",), coords={"energy": ("energy", e.copy(), {"units": "eV"})},
                          attrs=attrs, name="counts")
        object.__setattr__(self, "_data", da)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("EDSSpectrum is immutable")

    @property
    def data(self) -> xr.DataArray:
        """The DataArray behind the spectrum (a copy)."""
        return self._data.copy(deep=True)

    @property
    def energy(self) -> np.ndarray:
        """Photon energy, eV."""
        return self._data["energy"].values.copy()  # type: ignore[no-any-return]

    @property
    def counts(self) -> np.ndarray:
        """Counts."""
        return self._data.values.copy()  # type: ignore[no-any-return]

    @property
    def meta(self) -> dict[str, Any]:
        """Header keywords (a copy)."""
        return dict(self._data.attrs["meta"])

    @property
    def sample(self) -> Sample | None:
        """The sample, or None."""
        s = self._data.attrs.get("sample")
        return None if s is None else Sample.parse(s)

    def window(self, lo: float, hi: float) -> float:
        """Counts summed over channels with lo <= energy <= hi (eV)."""
        e = self._data["energy"].values
        return float(self._data.values[(e >= lo) & (e <= hi)].sum())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EDSSpectrum) and bool(self._data.identical(other._data))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        e = self.energy
        return f"EDSSpectrum({e.size} channels, {e[0]:.0f}-{e[-1]:.0f} eV)"

    def to_dataset(self) -> xr.Dataset:
        """Storage form for :func:`ncmsurf.save`."""
        attrs = {k: v for k, v in self._data.attrs.items() if k != "meta"}
        attrs["meta_keys"] = list(self._data.attrs["meta"].keys())
        attrs["meta_values"] = [str(v) for v in self._data.attrs["meta"].values()]
        return xr.Dataset({"counts": ("energy", self._data.values)},
                          coords={"energy": ("energy", self._data["energy"].values, {"units": "eV"})}, attrs=attrs)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> EDSSpectrum:
        """Rebuild from :meth:`to_dataset` output."""
        keys = list(np.atleast_1d(ds.attrs.get("meta_keys", [])))
        vals = list(np.atleast_1d(ds.attrs.get("meta_values", [])))
        return cls(ds["energy"].values, ds["counts"].values, sample=ds.attrs.get("sample"),
                   meta={str(k): str(v) for k, v in zip(keys, vals)})


_KEY = re.compile(r"^(#{1,2})\s*([A-Za-z0-9_][A-Za-z0-9_ .()/\[\]]*?)\s*(?:-[A-Za-z%/]+)?\s*:\s?(.*)$")


def read_msa(path: str | os.PathLike[str], *, sample: Sample | str | None = None) -> EDSSpectrum:
    """Read an EMSA/MAS spectral data file (.msa, .emsa).

    Supports ``DATATYPE`` ``Y`` (values only; energies from ``OFFSET`` and
    ``XPERCHAN``) and ``XY`` (pairs), any ``NCOLUMNS``, eV or keV.

    Raises
    ------
    ReadError
        Missing required keyword, wrong point count, non-numeric data, each with the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.msa"
    >>> _ = write_msa(EDSSpectrum([0, 10, 20], [3, 4, 5]), p)
    >>> read_msa(p).counts.tolist()
    [3.0, 4.0, 5.0]
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ReadError(p, None, f"cannot open: {exc}") from exc
    text = raw.decode("latin-1")
    lines = text.splitlines()
    header: dict[str, str] = {}
    header_line: dict[str, int] = {}
    data_start = None
    end_line = None
    for i, ln in enumerate(lines):
        s = ln.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = _KEY.match(s)
            if not m:
                raise ReadError(p, i + 1, f"malformed keyword line {s[:40]!r}")
            # '##NAME' are user-defined keywords (allowed by the standard); kept as '#NAME'
            key = ("#" if m.group(1) == "##" else "") + m.group(2).strip().upper().replace(" ", "")
            if key == "SPECTRUM":
                data_start = i + 1
                continue
            if key == "ENDOFDATA":
                end_line = i
                break
            if data_start is not None:
                raise ReadError(p, i + 1, f"keyword {key} inside the data block")
            header[key] = m.group(3).strip()
            header_line[key] = i + 1
        elif data_start is None:
            raise ReadError(p, i + 1, "data before the '#SPECTRUM' keyword")
    if not header or "FORMAT" not in header or "EMSA" not in header["FORMAT"].upper():
        raise ReadError(p, 1, "not an EMSA/MAS file: '#FORMAT : EMSA/MAS Spectral Data File' missing")
    missing = [k for k in _REQUIRED if k not in header]
    if missing:
        raise ReadError(p, None, f"required EMSA keyword(s) missing: {', '.join(missing)}")
    if data_start is None:
        raise ReadError(p, None, "no '#SPECTRUM' keyword: the data block is missing")
    if end_line is None:
        raise ReadError(p, len(lines), "no '#ENDOFDATA' keyword: the file is truncated")

    def num(key: str, kind: type = float) -> Any:
        try:
            v = kind(float(header[key].split()[0].rstrip(",")))
        except (ValueError, IndexError) as exc:
            raise ReadError(p, header_line[key], f"{key}: expected a number, got {header[key]!r}") from exc
        if not np.isfinite(v):
            raise ReadError(p, header_line[key], f"{key}: expected a finite number, got {header[key]!r}")
        return v

    npts = num("NPOINTS", int)
    if npts <= 0:
        raise ReadError(p, header_line["NPOINTS"], f"NPOINTS must be positive, got {npts}")
    dtype = header["DATATYPE"].strip().upper()
    if dtype not in ("Y", "XY"):
        raise ReadError(p, header_line["DATATYPE"], f"DATATYPE must be Y or XY, got {dtype!r}")
    xunit = header["XUNITS"].strip().lower()
    scale = _UNIT_TO_EV.get(xunit)
    if scale is None:
        raise ReadError(p, header_line["XUNITS"], f"XUNITS must be eV or keV, got {header['XUNITS']!r}")
    vals: list[float] = []
    for i in range(data_start, end_line):
        s = lines[i].strip()
        if not s:
            continue
        for tok in re.split(r"[,\s]+", s):
            if not tok:
                continue
            try:
                v = float(tok)
            except ValueError as exc:
                raise ReadError(p, i + 1, f"non-numeric value {tok[:20]!r} in the data block") from exc
            if not np.isfinite(v):
                raise ReadError(p, i + 1, f"non-finite value {tok!r} in the data block")
            vals.append(v)
    per = 2 if dtype == "XY" else 1
    if len(vals) != npts * per:
        raise ReadError(p, end_line + 1, f"NPOINTS says {npts} points but the data block holds "
                        f"{len(vals) / per:g}")
    arr = np.asarray(vals)
    if dtype == "XY":
        e, c = arr[0::2] * scale, arr[1::2]
    else:
        e = (num("OFFSET") + num("XPERCHAN") * np.arange(npts)) * scale
        c = arr
    try:
        return EDSSpectrum(e, c, sample=sample, meta={**header, "source_file": str(p)})
    except ValidationError as exc:
        raise ReadError(p, data_start + 1, str(exc)) from exc


def write_msa(spectrum: EDSSpectrum, path: str | os.PathLike[str], *, title: str = "ncmsurf export") -> Path:
    """Write a spectrum as EMSA/MAS ``DATATYPE XY`` text that :func:`read_msa` reads back exactly."""
    if not isinstance(spectrum, EDSSpectrum):
        raise ValidationError(f"write_msa: expected an EDSSpectrum, got {type(spectrum).__name__}")
    p = Path(path)
    e, c = spectrum.energy, spectrum.counts
    step = float(np.median(np.diff(e))) if e.size > 1 else 1.0
    meta = {k: v for k, v in spectrum.meta.items() if k not in _REQUIRED and k != "source_file" and k.isalnum()}
    head = [("FORMAT", "EMSA/MAS Spectral Data File"), ("VERSION", "1.0"), ("TITLE", title), ("DATE", ""),
            ("TIME", ""), ("OWNER", ""), ("NPOINTS", str(e.size)), ("NCOLUMNS", "1"), ("XUNITS", "eV"),
            ("YUNITS", "counts"), ("DATATYPE", "XY"), ("XPERCHAN", repr(step)), ("OFFSET", repr(float(e[0])))]
    head += [(k, str(v).replace("\n", " ")) for k, v in meta.items()]
    out = [f"#{k:<12}: {v}" for k, v in head]
    out.append("#SPECTRUM    : Spectral Data Starts Here")
    out += [f"{x!r}, {y!r}" for x, y in zip(e.tolist(), c.tolist())]
    out.append("#ENDOFDATA   : ")
    p.write_text("\r\n".join(out) + "\r\n", encoding="latin-1")
    return p


class Hypermap:
    """An EDS spectrum image: counts over (row, column, channel), with the energy of each channel.

    Parameters
    ----------
    counts : array_like
        Non-negative counts, shape (rows, columns, channels).
    energy : array_like
        Energy of each channel, eV, strictly increasing.
    pixel_size : float, optional
        nm per pixel.
    images : mapping, optional
        Images recorded with the map (SEM, BSE...) on the same grid or their own.
    sample : Sample or str, optional
    meta : dict, optional

    Examples
    --------
    >>> import numpy as np
    >>> e = np.arange(2048) * 10.0
    >>> cube = np.zeros((2, 3, 2048), dtype=np.uint16)
    >>> cube[..., 149] = 5  # 1490 eV: Al Ka
    >>> hm = Hypermap(cube, e, pixel_size=20.0)
    >>> m = hm.element_maps(["Al", "Ni"])
    >>> m["Al"].tolist(), int(m["Ni"].sum())
    ([[5, 5, 5], [5, 5, 5]], 0)
    """

    __slots__ = ("_counts", "_energy", "_images", "_meta", "_pixel_size", "_sample")
    _counts: np.ndarray
    _energy: np.ndarray
    _images: dict[str, np.ndarray]
    _meta: dict[str, Any]
    _pixel_size: float | None
    _sample: Sample | None

    def __init__(self, counts: Any, energy: Any, *, pixel_size: float | None = None,
                 images: Mapping[str, Any] | None = None, sample: Sample | str | None = None,
                 meta: Mapping[str, Any] | None = None) -> None:
        c = np.asarray(counts)
        e = np.asarray(energy, dtype=float)
        if c.ndim != 3 or c.dtype.kind not in "iu":
            raise ValidationError(f"counts: expected a 3-D integer array (rows, columns, channels), got "
                                  f"{c.shape} {c.dtype}")
        if e.ndim != 1 or e.size != c.shape[2]:
            raise ValidationError(f"energy: expected {c.shape[2]} channel energies, got shape {e.shape}")
        if not np.all(np.isfinite(e)) or (e.size > 1 and np.any(np.diff(e) <= 0)):
            raise ValidationError("energy: must be finite and strictly increasing")
        if pixel_size is not None and not (math.isfinite(pixel_size) and pixel_size > 0):
            raise ValidationError(f"pixel_size: must be finite and > 0 nm, got {pixel_size}")
        c = c.view()
        c.flags.writeable = False
        object.__setattr__(self, "_counts", c)
        object.__setattr__(self, "_energy", e.copy())
        object.__setattr__(self, "_pixel_size", None if pixel_size is None else float(pixel_size))
        object.__setattr__(self, "_images", {str(k): np.array(v) for k, v in (images or {}).items()})
        object.__setattr__(self, "_sample", Sample.parse(sample) if isinstance(sample, str) else sample)
        object.__setattr__(self, "_meta", dict(meta or {}))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Hypermap is immutable")

    @property
    def counts(self) -> np.ndarray:
        """Counts, (rows, columns, channels), read-only."""
        return self._counts

    @property
    def energy(self) -> np.ndarray:
        """Channel energies, eV."""
        return self._energy.copy()

    @property
    def pixel_size(self) -> float | None:
        """Pixel size, nm, or None."""
        return self._pixel_size

    @property
    def images(self) -> dict[str, np.ndarray]:
        """The images recorded with the map (copies)."""
        return {k: v.copy() for k, v in self._images.items()}

    @property
    def meta(self) -> dict[str, Any]:
        """Metadata (a copy)."""
        return dict(self._meta)

    @property
    def sample(self) -> Sample | None:
        """The sample, or None."""
        return self._sample

    @property
    def shape(self) -> tuple[int, int, int]:
        """(rows, columns, channels)."""
        r, c, n = self._counts.shape
        return int(r), int(c), int(n)

    def __repr__(self) -> str:
        r, c, n = self.shape
        return f"<Hypermap {r}x{c} px, {n} channels, {int(self._counts.sum())} counts>"

    def sum_spectrum(self) -> EDSSpectrum:
        """The spectrum summed over all pixels."""
        return EDSSpectrum(self._energy, self._counts.sum(axis=(0, 1)), sample=self._sample,
                           meta={"source": "hypermap sum"})

    def window(self, lo: float, hi: float) -> np.ndarray:
        """Counts summed over the channels with lo <= energy <= hi (eV), per pixel."""
        sel = (self._energy >= lo) & (self._energy <= hi)
        if not sel.any():
            raise ValidationError(f"window {lo:g}-{hi:g} eV holds no channel (channels span "
                                  f"{self._energy[0]:g}-{self._energy[-1]:g} eV)")
        return np.asarray(self._counts[:, :, sel].sum(axis=2, dtype=np.int64))

    def element_maps(self, elements: Iterable[str] | None = None, *, lines: Mapping[str, str] | None = None,
                     width: float = 2.0, fwhm_mn: float | None = None) -> ElementMap:
        """Element maps by summing each element's line window in every pixel.

        Parameters
        ----------
        elements : iterable of str, optional
            Elements to map (default: those the file selected, ``meta["elements"]``).
        lines : mapping, optional
            Element → line (``"Ka"``, ``"La"``, ``"Ma"``); default from the file, else ``"auto"``.
        width : float
            Window width in detector FWHMs at the line.
        fwhm_mn : float, optional
            Detector FWHM at Mn Kα, eV (default: the file's, else 130 eV).

        Returns
        -------
        ElementMap
            Counts per pixel; ``meta`` holds the lines, windows, energy calibration and images.
        """
        els = list(elements) if elements is not None else list(self._meta.get("elements", {}))
        if not els:
            raise ValidationError("element_maps: no elements given and none selected in the file; "
                                  "pass elements=[...]")
        file_lines = {k: str(v.get("line", "auto")) if isinstance(v, Mapping) else str(v)
                      for k, v in dict(self._meta.get("elements", {})).items()}
        fw = float(fwhm_mn if fwhm_mn is not None else self._meta.get("fwhm_mn_eV", 130.0))
        beam = self._meta.get("beam_kV")
        maps: dict[str, np.ndarray] = {}
        used: dict[str, str] = {}
        windows: dict[str, list[float]] = {}
        for el in els:
            line = (lines or {}).get(el, file_lines.get(el, "auto"))
            lo, hi, name = line_window(el, line, width=width, fwhm_mn=fw, beam_kV=beam)
            if hi < self._energy[0] or lo > self._energy[-1]:
                raise ValidationError(f"{el} {name} window {lo:.0f}-{hi:.0f} eV lies outside the channels "
                                      f"({self._energy[0]:.0f}-{self._energy[-1]:.0f} eV)")
            maps[el] = self.window(lo, hi)
            used[el] = name
            windows[el] = [lo, hi]
        names = list(windows)
        for i, a in enumerate(names):
            for b in names[i + 1:]:
                if windows[a][0] < windows[b][1] and windows[b][0] < windows[a][1]:
                    warnings.warn(f"the {a} {used[a]} and {b} {used[b]} windows overlap "
                                  f"({windows[a][0]:.0f}-{windows[a][1]:.0f} and {windows[b][0]:.0f}-"
                                  f"{windows[b][1]:.0f} eV): their maps share counts", LineOverlapWarning,
                                  stacklevel=2)
        meta = {k: v for k, v in self._meta.items()}
        meta.update({"lines": used, "windows_eV": windows, "window_width_fwhm": width, "fwhm_mn_eV": fw,
                     "images": self.images, "line_energy_reference": LINE_REFERENCE})
        return ElementMap(maps, pixel_size=self._pixel_size, sample=self._sample, meta=meta)


def read_hypermap(path: str | os.PathLike[str], *, sample: Sample | str | None = None) -> Hypermap:
    """Read the spectrum image of a Bruker .bcf hypermap (own parser; see :mod:`ncmsurf.io.eds_formats`).

    Examples
    --------
    >>> import ncmsurf as ns
    >>> ns.eds.read_hypermap("missing.bcf")
    Traceback (most recent call last):
    ...
    ncmsurf.core.errors.ReadError: missing.bcf: no such file
    """
    from ncmsurf.io.eds_formats import read_bcf_hypermap

    out: Hypermap = read_bcf_hypermap(path, sample=sample)
    return out
