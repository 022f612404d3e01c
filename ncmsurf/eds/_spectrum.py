"""EDS spectra and the EMSA/MAS (.msa, .emsa) text format (private)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.sample import Sample

__all__ = ["EDSSpectrum", "read_msa", "write_msa"]

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


_KEY = re.compile(r"^#\s*([A-Za-z0-9_\- ]+?)\s*(?:-[A-Za-z]+)?\s*:\s?(.*)$")


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
            key = m.group(1).strip().upper().replace(" ", "")
            if key == "SPECTRUM":
                data_start = i + 1
                continue
            if key == "ENDOFDATA":
                end_line = i
                break
            if data_start is not None:
                raise ReadError(p, i + 1, f"keyword {key} inside the data block")
            header[key] = m.group(2).strip()
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
