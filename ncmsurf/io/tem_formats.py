"""TEM image readers: Digital Micrograph .dm3/.dm4, Velox and Berkeley .emd, calibrated TIFF.

Formats
-------
- **Digital Micrograph 3 and 4** (Gatan): a tree of tags. The header gives
  the version (3 or 4), the size and the byte order of the values; each tag
  is a group or a typed value (numbers, structs, arrays). The images are in
  ``ImageList``; each holds ``ImageData`` (``Data``, ``Dimensions``,
  ``DataType``, ``Calibrations/Dimension`` with ``Scale``, ``Origin``,
  ``Units``) and ``ImageTags`` (microscope and acquisition settings). The
  RGB thumbnail Digital Micrograph stores first is skipped. Own parser
  (the layout is public; no permissive maintained reader installs without
  GPL code or matplotlib), checked against ncempy and rosettasciio where
  they are installed.
- **Velox EMD** (Thermo Fisher): HDF5 with ``/Data/Image/<id>/Data``
  (rows × columns × frames) and ``/Data/Image/<id>/Metadata`` (the JSON
  metadata of each frame as bytes); the pixel size is
  ``BinaryResult/PixelSize`` with ``PixelUnitX``/``PixelUnitY``.
- **Berkeley EMD** (v0.2): HDF5 groups with attribute ``emd_group_type = 1``
  holding ``data`` and one coordinate vector ``dim1``, ``dim2``... per axis
  with ``name`` and ``units`` attributes; the pixel size is the step of the
  vectors.
- **TIFF** (tifffile, a core dependency): the FEI/Thermo ``[Scan] PixelWidth``
  metadata (m), the ImageJ ``unit`` with the resolution tags (pixels per
  unit), or the TIFF resolution tags with ``ResolutionUnit`` centimetre or
  inch, in that order of preference; ``meta["pixel_size_source"]`` says which.

A file without a calibration gives an image whose pixel size is NaN, with an
:class:`UncalibratedImageWarning`; pass ``pixel_size=`` (nm) to ``ns.read_tem``
to set it. Reciprocal-space calibrations (a diffraction pattern in 1/nm) and
non-square pixels are refused with a :class:`~ncmsurf.core.errors.ReadError`.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.tem import write_dm
>>> f = write_dm(pathlib.Path(tempfile.mkdtemp()) / "a.dm3", np.arange(12.0).reshape(3, 4), pixel_size=0.025)
>>> img = ns.read_tem(f)
>>> img.shape, img.pixel_size
((3, 4), 0.025)
"""

from __future__ import annotations

import json
import logging
import math
import struct
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ReadError, ValidationError
from ncmsurf.core.tem import TEMImage
from ncmsurf.io._binary_checks import check_tiff_extent
from ncmsurf.io.registry import SimpleReader

__all__ = ["DM", "EMD", "READERS", "TIFF_TEM", "UncalibratedImageWarning", "length_to_nm", "parse_dm_tags"]


class UncalibratedImageWarning(NcmsurfWarning):
    """The file gives no pixel size: lengths measured on the image are NaN until one is set."""


_LENGTH_NM = {
    "nm": 1.0, "nanometer": 1.0, "nanometers": 1.0, "nanometre": 1.0, "n_m": 1.0, "[n_m]": 1.0,
    "um": 1e3, "µm": 1e3, "μm": 1e3, "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "u_m": 1e3, "[u_m]": 1e3,
    "\\u00b5m": 1e3, "mm": 1e6, "m": 1e9, "pm": 1e-3, "a": 0.1, "å": 0.1, "ang": 0.1, "angstrom": 0.1,
    "cm": 1e7, "inch": 2.54e7, "in": 2.54e7,
}
_UNCALIBRATED = {"", "pixel", "pixels", "px", "none", "[pix_els]"}


def length_to_nm(unit: str) -> float | None:
    """Nanometres per ``unit`` for a length unit name (``"nm"``, ``"µm"``, ``"Å"``...), else None.

    Examples
    --------
    >>> length_to_nm("µm"), length_to_nm("Å"), length_to_nm("1/nm")
    (1000.0, 0.1, None)
    """
    u = unit.strip().lower().replace("\x00", "")
    return _LENGTH_NM.get(u)


def _calibration(path: Path, where: str, scales: list[tuple[float, str]]) -> tuple[float | None, str]:
    """Pixel size in nm (None if uncalibrated) from (scale, unit) of the x and y axes."""
    sizes: list[float | None] = []
    for scale, unit in scales:
        u = unit.strip().replace("\x00", "")
        if u.lower() in _UNCALIBRATED:
            sizes.append(None)
            continue
        if "1/" in u or u.lower().endswith("^-1") or u.lower() in ("nm-1", "1/a"):
            raise ReadError(path, None, f"{where}: calibrated in {u!r} (reciprocal space, e.g. a diffraction "
                            "pattern), not a real-space image")
        f = length_to_nm(u)
        if f is None:
            raise ReadError(path, None, f"{where}: unknown length unit {u!r}")
        if not math.isfinite(scale) or scale <= 0:
            raise ReadError(path, None, f"{where}: pixel scale {scale!r} {u} is not a positive number")
        sizes.append(abs(scale) * f)
    known = [s for s in sizes if s is not None]
    if not known:
        return None, "none"
    if len(known) == 2 and not math.isclose(known[0], known[1], rel_tol=1e-6):
        raise ReadError(path, None, f"{where}: non-square pixels ({known[0]:g} x {known[1]:g} nm) are not supported")
    return known[0], "file"


def _finish(path: Path, image: np.ndarray, px: float | None, source: str, meta: dict[str, Any], *,
            sample: Any, pixel_size: Any) -> TEMImage:
    if pixel_size is not None:
        px = pixel_size
        source = "user"
    elif px is None:
        warnings.warn(f"{path}: no pixel size in the file; lengths are NaN (pass pixel_size= in nm)",
                      UncalibratedImageWarning, stacklevel=4)
    meta = {"source_file": str(path), **meta, "pixel_size_source": source}
    try:
        return TEMImage(image, pixel_size=px, sample=sample, meta=meta)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc


# ================================================================= Digital Micrograph
_DM_SIMPLE = {2: "h", 3: "i", 4: "H", 5: "I", 6: "f", 7: "d", 8: "?", 9: "b", 10: "B", 11: "q", 12: "Q"}
_DM_SIZE = {k: struct.calcsize(v) for k, v in _DM_SIMPLE.items()}


class _DMParser:
    """Walks the tag tree of a DM3/DM4 file held in memory; every read is bounds-checked."""

    def __init__(self, path: Path, buf: bytes) -> None:
        self.path = path
        self.buf = buf
        if len(buf) < 16:
            raise ReadError(path, None, f"offset 0: {len(buf)} bytes is too short for a Digital Micrograph header")
        version = struct.unpack_from(">i", buf, 0)[0]
        if version == 3:
            self.isize, self.ifmt = 4, ">I"
            order = struct.unpack_from(">i", buf, 8)[0]
            self.pos = 12
        elif version == 4:
            self.isize, self.ifmt = 8, ">Q"
            order = struct.unpack_from(">i", buf, 12)[0]
            self.pos = 16
        else:
            raise ReadError(path, None, f"offset 0: version {version} is not a Digital Micrograph 3 or 4 file")
        if order not in (0, 1):
            raise ReadError(path, None, f"offset {self.pos - 4}: byte-order flag {order} is neither 0 nor 1")
        self.version = version
        self.endian = "<" if order == 1 else ">"

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > len(self.buf):
            raise ReadError(self.path, None, f"offset {self.pos}: file ends inside {what} "
                            f"(needs {n} bytes, {len(self.buf) - self.pos} left)")

    def uint(self, what: str) -> int:
        self.need(self.isize, what)
        v = int(struct.unpack_from(self.ifmt, self.buf, self.pos)[0])
        self.pos += self.isize
        return v

    def group(self, depth: int = 0) -> list[tuple[str, Any]]:
        if depth > 64:
            raise ReadError(self.path, None, f"offset {self.pos}: tag groups nested more than 64 deep")
        self.need(2, "a tag-group header")
        self.pos += 2  # sorted, open flags
        n = self.uint("a tag count")
        if n > len(self.buf):
            raise ReadError(self.path, None, f"offset {self.pos}: tag count {n} exceeds the file size")
        out: list[tuple[str, Any]] = []
        for _ in range(n):
            start = self.pos
            self.need(3, "a tag header")
            kind = self.buf[self.pos]
            llen = struct.unpack_from(">H", self.buf, self.pos + 1)[0]
            self.pos += 3
            self.need(llen, "a tag label")
            label = self.buf[self.pos:self.pos + llen].decode("latin-1")
            self.pos += llen
            if self.version == 4:
                self.uint("a tag size")
            if kind == 20:
                out.append((label, self.group(depth + 1)))
            elif kind == 21:
                out.append((label, self.data(label)))
            elif kind == 0:
                break
            else:
                raise ReadError(self.path, None, f"offset {start}: unknown tag kind {kind} (expected 20 or 21)")
        return out

    def simple(self, t: int, what: str) -> Any:
        fmt = _DM_SIMPLE.get(t)
        if fmt is None:
            raise ReadError(self.path, None, f"offset {self.pos}: unknown value type {t} in {what}")
        size = _DM_SIZE[t]
        self.need(size, what)
        v = struct.unpack_from(self.endian + fmt, self.buf, self.pos)[0]
        self.pos += size
        return v

    def data(self, label: str) -> Any:
        self.need(4, f"tag {label!r}")
        if self.buf[self.pos:self.pos + 4] != b"%%%%":
            raise ReadError(self.path, None, f"offset {self.pos}: tag {label!r} lacks the '%%%%' marker")
        self.pos += 4
        ninfo = self.uint(f"tag {label!r}")
        if ninfo < 1 or ninfo > 4096:
            raise ReadError(self.path, None, f"offset {self.pos}: tag {label!r} has {ninfo} type descriptors")
        info = [self.uint(f"tag {label!r} type descriptors") for _ in range(ninfo)]
        what = f"tag {label!r}"
        t = info[0]
        if t in _DM_SIMPLE:
            return self.simple(t, what)
        if t == 18:  # string: length then bytes
            n = info[1] if ninfo > 1 else 0
            self.need(n, what)
            s = self.buf[self.pos:self.pos + n].decode("latin-1")
            self.pos += n
            return s
        if t == 15:
            fields = self._struct_fields(info, 1, what)
            return tuple(self.simple(ft, what) for ft in fields)
        if t == 20:
            if ninfo < 3:
                raise ReadError(self.path, None, f"offset {self.pos}: array tag {label!r} without element type")
            et = info[1]
            if et == 15:
                fields = self._struct_fields(info, 2, what)
                count = info[-1]
                size = sum(_DM_SIZE[f] for f in fields)
                self.need(count * size, what)
                return [tuple(self.simple(ft, what) for ft in fields) for _ in range(count)]
            if et not in _DM_SIMPLE:
                raise ReadError(self.path, None, f"offset {self.pos}: array tag {label!r} of unknown type {et}")
            count = info[2]
            size = count * _DM_SIZE[et]
            self.need(size, what)
            dtype = np.dtype(self.endian + _DM_SIMPLE[et])
            arr = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
            self.pos += size
            return arr
        raise ReadError(self.path, None, f"offset {self.pos}: tag {label!r} has unknown type {t}")

    def _struct_fields(self, info: list[int], at: int, what: str) -> list[int]:
        if len(info) < at + 2:
            raise ReadError(self.path, None, f"offset {self.pos}: truncated struct description in {what}")
        nfields = info[at + 1]
        fields = info[at + 3: at + 3 + 2 * nfields: 2]
        if len(fields) != nfields or any(f not in _DM_SIMPLE for f in fields):
            raise ReadError(self.path, None, f"offset {self.pos}: bad struct description in {what}")
        return fields


def parse_dm_tags(path: str | Path) -> tuple[int, list[tuple[str, Any]]]:
    """The version and the raw tag tree of a DM3/DM4 file: a list of (label, value or subgroup).

    Raises
    ------
    ReadError
        Naming the byte offset of the first problem.
    """
    p = Path(path)
    parser = _DMParser(p, p.read_bytes())
    root = parser.group()
    return parser.version, root


def _get(group: Any, label: str) -> Any:
    if isinstance(group, list):
        for k, v in group:
            if k == label:
                return v
    return None


def _dm_string(v: Any) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, np.ndarray) and v.dtype.kind in "iu":
        return "".join(chr(int(c)) for c in v if int(c) != 0)
    return "" if v is None else str(v)


def _plain(group: Any, depth: int = 0) -> Any:
    """A tag group as nested dicts of simple values (long arrays left out)."""
    if isinstance(group, list):
        out: dict[str, Any] = {}
        for i, (k, v) in enumerate(group):
            key = k or f"[{i}]"
            pv = _plain(v, depth + 1)
            if pv is not None:
                out[key] = pv
        return out
    if isinstance(group, np.ndarray):
        if group.dtype.kind == "u" and group.dtype.itemsize == 2 and group.size <= 1024:
            return _dm_string(group)
        return group.tolist() if group.size <= 16 else None
    if isinstance(group, (bool, np.bool_)):
        return bool(group)
    if isinstance(group, (int, np.integer)):
        return int(group)
    if isinstance(group, (float, np.floating)):
        return float(group) if math.isfinite(float(group)) else str(float(group))
    if isinstance(group, tuple):
        return [_plain(x) for x in group]
    if isinstance(group, str):
        return group
    return None


def _sniff_dm(path: Path, head: bytes) -> float:
    if len(head) < 16:
        return 0.0
    v = struct.unpack_from(">i", head, 0)[0]
    if v == 3:
        order = struct.unpack_from(">i", head, 8)[0]
        ok = order in (0, 1) and head[12:14] in (b"\x00\x00", b"\x00\x01", b"\x01\x00", b"\x01\x01")
    elif v == 4:
        order = struct.unpack_from(">i", head, 12)[0]
        ok = order in (0, 1)
    else:
        return 0.0
    if not ok:
        return 0.0
    return 0.95 if path.suffix.lower() in (".dm3", ".dm4") else 0.6


def _read_dm(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[TEMImage]:
    version, root = parse_dm_tags(path)
    images = _get(root, "ImageList")
    if not isinstance(images, list) or not images:
        raise ReadError(path, None, "no ImageList in the tag tree: not a Digital Micrograph image")
    out: list[TEMImage] = []
    for idx, (_k, entry) in enumerate(images):
        idata = _get(entry, "ImageData")
        if not isinstance(idata, list):
            continue
        dtype_code = _get(idata, "DataType")
        data = _get(idata, "Data")
        dims = _get(idata, "Dimensions")
        if dtype_code == 23 or not isinstance(data, np.ndarray) or not isinstance(dims, list):
            continue  # RGB thumbnail, or no pixel array
        shape = [int(v) for _n, v in dims]
        where = f"ImageList[{idx}]"
        while len(shape) > 2 and shape[-1] == 1:
            shape.pop()
        if len(shape) != 2:
            raise ReadError(path, None, f"{where}: {len(shape)}-D data of shape {shape}; a TEM image is 2-D")
        nx, ny = shape
        if data.size != nx * ny:
            raise ReadError(path, None, f"{where}: {data.size} values for {nx} x {ny} pixels")
        arr = np.array(data.reshape(ny, nx))
        if arr.dtype.kind not in "biuf":
            raise ReadError(path, None, f"{where}: pixel type {arr.dtype} is not a real intensity")
        cal = _get(idata, "Calibrations")
        dimcal = _get(cal, "Dimension") if isinstance(cal, list) else None
        scales: list[tuple[float, str]] = []
        if isinstance(dimcal, list):
            for _n, d in dimcal[:2]:
                scale = _get(d, "Scale")
                unit = _dm_string(_get(d, "Units"))
                scales.append((float(scale) if scale is not None else 1.0, unit))
        px, source = _calibration(path, where, scales)
        tags = _plain(_get(entry, "ImageTags")) or {}
        meta: dict[str, Any] = {"format": f"dm{version}", "name": _dm_string(_get(entry, "Name")),
                                "image_index": idx, "tags": tags}
        mic = tags.get("Microscope Info", {}) if isinstance(tags, dict) else {}
        if isinstance(mic, dict):
            if isinstance(mic.get("Voltage"), (int, float)):
                meta["voltage_kV"] = float(mic["Voltage"]) / 1000.0
            for key, name in (("Indicated Magnification", "magnification"), ("Microscope", "microscope"),
                              ("Operation Mode", "operation_mode")):
                if key in mic:
                    meta[name] = mic[key]
        out.append(_finish(path, arr, px, source, meta, sample=sample, pixel_size=pixel_size))
    if not out:
        raise ReadError(path, None, "the ImageList holds no intensity image (only thumbnails)")
    return out


# ================================================================= EMD (HDF5)
def _sniff_emd(path: Path, head: bytes) -> float:
    if not head.startswith(b"\x89HDF\r\n\x1a\n"):
        return 0.0
    if b"ncmsurf_format" in head or b"ncmsurf_class" in head:
        return 0.0  # an ncmsurf.save file
    return 0.9 if path.suffix.lower() == ".emd" else 0.0


def _attr_text(v: Any) -> str:
    if isinstance(v, bytes):
        return v.decode("utf-8", errors="replace")
    if isinstance(v, np.ndarray):
        if v.size == 1:
            return _attr_text(v.ravel()[0])
        return " ".join(_attr_text(x) for x in v.ravel())
    return str(v)


def _read_emd(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[TEMImage]:
    import h5py  # type: ignore[import-untyped]

    try:
        fh = h5py.File(path, "r")
    except OSError as exc:
        raise ReadError(path, None, f"not a readable HDF5 file: {exc}") from exc
    try:
        with fh:
            if "Data" in fh and isinstance(fh["Data"], h5py.Group) and "Image" in fh["Data"]:
                return _read_velox(path, fh, sample=sample, pixel_size=pixel_size)
            return _read_berkeley(path, fh, sample=sample, pixel_size=pixel_size)
    except (KeyError, ValueError, TypeError, OSError, RuntimeError) as exc:
        raise ReadError(path, None, f"malformed EMD file: {type(exc).__name__}: {exc}") from exc


def _read_velox(path: Path, fh: Any, *, sample: Any, pixel_size: Any) -> list[TEMImage]:
    import h5py

    out: list[TEMImage] = []
    version = ""
    if "Version" in fh:
        version = _attr_text(np.asarray(fh["Version"][()]))
    for uid, grp in fh["Data"]["Image"].items():
        where = f"/Data/Image/{uid}"
        if not isinstance(grp, h5py.Group) or "Data" not in grp:
            raise ReadError(path, None, f"{where}: no 'Data' dataset")
        data = np.asarray(grp["Data"][()])
        if data.ndim == 2:
            data = data[:, :, None]
        if data.ndim != 3:
            raise ReadError(path, None, f"{where}/Data: shape {data.shape}, expected rows x columns x frames")
        metas: list[dict[str, Any]] = []
        if "Metadata" in grp:
            raw = np.asarray(grp["Metadata"][()])
            if raw.ndim == 1:
                raw = raw[:, None]
            for f in range(raw.shape[1]):
                txt = bytes(raw[:, f].astype(np.uint8)).rstrip(b"\x00").decode("utf-8", errors="replace")
                try:
                    doc = json.loads(txt) if txt.strip() else {}
                except ValueError as exc:
                    raise ReadError(path, None, f"{where}/Metadata frame {f}: invalid JSON ({exc})") from exc
                metas.append(doc if isinstance(doc, dict) else {})
        for f in range(data.shape[2]):
            md = metas[f] if f < len(metas) else (metas[0] if metas else {})
            br = md.get("BinaryResult", {}) if isinstance(md, dict) else {}
            ps = br.get("PixelSize", {}) if isinstance(br, dict) else {}
            scales: list[tuple[float, str]] = []
            try:
                if "width" in ps:
                    scales.append((float(ps["width"]), str(br.get("PixelUnitX", "m"))))
                if "height" in ps:
                    scales.append((float(ps["height"]), str(br.get("PixelUnitY", "m"))))
            except (TypeError, ValueError) as exc:
                raise ReadError(path, None, f"{where}/Metadata: pixel size {ps!r} is not a number") from exc
            px, source = _calibration(path, where, scales)
            meta: dict[str, Any] = {"format": "emd-velox", "dataset": where, "frame": f, "velox_version": version}
            optics = md.get("Optics", {}) if isinstance(md, dict) else {}
            if isinstance(optics, dict) and "AccelerationVoltage" in optics:
                try:
                    meta["voltage_kV"] = float(optics["AccelerationVoltage"]) / 1000.0
                except (TypeError, ValueError):
                    meta["voltage_raw"] = str(optics["AccelerationVoltage"])
            if isinstance(br, dict) and "Detector" in br:
                meta["detector"] = str(br["Detector"])
            meta["metadata"] = md
            out.append(_finish(path, data[:, :, f], px, source, meta, sample=sample, pixel_size=pixel_size))
    if not out:
        raise ReadError(path, None, "no image in /Data/Image")
    return out


def _read_berkeley(path: Path, fh: Any, *, sample: Any, pixel_size: Any) -> list[TEMImage]:
    import h5py

    groups: list[tuple[str, Any]] = []

    def visit(name: str, obj: Any) -> None:
        if isinstance(obj, h5py.Group) and int(np.asarray(obj.attrs.get("emd_group_type", 0)).ravel()[0]) == 1:
            groups.append((name, obj))

    fh.visititems(visit)
    if not groups:
        raise ReadError(path, None, "no Berkeley EMD data group (emd_group_type = 1) and no Velox /Data/Image")
    out: list[TEMImage] = []
    for name, grp in groups:
        where = f"/{name}"
        if "data" not in grp:
            raise ReadError(path, None, f"{where}: no 'data' dataset")
        data = np.asarray(grp["data"][()])
        while data.ndim > 2 and data.shape[-1] == 1:
            data = data[..., 0]
        if data.ndim != 2:
            raise ReadError(path, None, f"{where}/data: shape {data.shape}; a TEM image is 2-D")
        scales: list[tuple[float, str]] = []
        for axis, key in ((1, "dim2"), (0, "dim1")):  # x first, then y
            if key not in grp:
                scales.append((1.0, ""))
                continue
            vec = np.asarray(grp[key][()], dtype=float).ravel()
            if vec.size != data.shape[axis]:
                raise ReadError(path, None, f"{where}/{key}: {vec.size} values for an axis of {data.shape[axis]}")
            unit = _attr_text(grp[key].attrs.get("units", ""))
            if vec.size < 2:
                scales.append((1.0, ""))
                continue
            steps = np.diff(vec)
            if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
                raise ReadError(path, None, f"{where}/{key}: the coordinate vector is not evenly spaced")
            scales.append((float(steps[0]), unit))
        px, source = _calibration(path, where, scales)
        meta = {"format": "emd-berkeley", "dataset": where,
                "version": f"{_attr_text(fh.attrs.get('version_major', ''))}."
                           f"{_attr_text(fh.attrs.get('version_minor', ''))}"}
        out.append(_finish(path, data, px, source, meta, sample=sample, pixel_size=pixel_size))
    return out


# ================================================================= TIFF
def _sniff_tiff(path: Path, head: bytes) -> float:
    if head[:4] not in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return 0.0
    low = head.lower()
    if b"pixelwidth" in low or b"[scan]" in low or (b"imagej=" in low and b"unit=" in low):
        return 0.85  # a calibrated microscope image: ahead of the EDS map reader
    return 0.5 if path.suffix.lower() in (".tif", ".tiff") else 0.0


_IMAGEJ_UNITS = {"micron": "µm", "\\u00b5m": "µm", "um": "µm"}


def _read_tiff(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[TEMImage]:
    import tifffile

    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL)  # corrupt tags are reported through the ReadError instead
    try:
        with tifffile.TiffFile(path) as tf:
            check_tiff_extent(path, path.read_bytes())
            page = tf.pages[0]
            arr = np.asarray(page.asarray())  # type: ignore[union-attr]
            tags = {t.name: t.value for t in page.tags.values()}  # type: ignore[union-attr]
            fei = tf.fei_metadata
            ij = tf.imagej_metadata
            npages = len(tf.pages)
    except ReadError:
        raise
    except Exception as exc:  # tifffile raises many kinds on corrupt files
        raise ReadError(path, None, f"not a readable TIFF file: {type(exc).__name__}: {exc}") from exc
    finally:
        log.setLevel(level)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        raise ReadError(path, None, f"an RGB image (shape {arr.shape}), not a TEM intensity image")
    if arr.ndim != 2:
        raise ReadError(path, None, f"first page has shape {arr.shape}; a TEM image is 2-D")
    meta: dict[str, Any] = {"format": "tiff", "pages": npages}
    px: float | None = None
    source = "none"
    if fei:
        scan = fei.get("Scan") or fei.get("EScan") or {}
        if "PixelWidth" in scan:
            w = float(scan["PixelWidth"])
            h = float(scan.get("PixelHeight", w))
            px, _s = _calibration(path, "FEI [Scan]", [(w, "m"), (h, "m")])
            source = "fei-metadata"
        beam = fei.get("Beam") or fei.get("EBeam") or {}
        if "HV" in beam:
            meta["voltage_kV"] = float(beam["HV"]) / 1000.0
        meta["fei"] = {k: v for k, v in fei.items() if isinstance(v, dict)}
    if px is None and "XResolution" in tags:
        xres = tags["XResolution"]
        yres = tags.get("YResolution", xres)

        def per_unit(r: Any) -> float:
            num, den = (r if isinstance(r, tuple) else (r, 1))
            return float(num) / float(den) if float(den) else math.nan

        xr_, yr_ = per_unit(xres), per_unit(yres)
        unit = None
        if ij and ij.get("unit"):
            u = str(ij["unit"])
            unit = _IMAGEJ_UNITS.get(u.lower(), u)
            source = "imagej"
        else:
            ru = int(tags.get("ResolutionUnit", 2))
            if ru == 3:
                unit, source = "cm", "tiff-resolution"
            elif ru == 2:
                unit, source = "inch", "tiff-resolution"
        if unit is not None and xr_ > 0 and yr_ > 0 and math.isfinite(xr_):
            default_dpi = source == "tiff-resolution" and unit == "inch" and xr_ in (72.0, 96.0, 300.0)
            if default_dpi:
                source = "none"  # a screen/print resolution, not a calibration
                meta["tiff_dpi"] = xr_
            else:
                px, _s = _calibration(path, f"TIFF resolution ({source})", [(1.0 / xr_, unit), (1.0 / yr_, unit)])
                if px is None:
                    source = "none"
        elif unit is not None:
            source = "none"
    if ij:
        meta["imagej"] = {k: v for k, v in ij.items() if isinstance(v, (str, int, float, bool))}
    if "ImageDescription" in tags and isinstance(tags["ImageDescription"], str):
        meta["description"] = tags["ImageDescription"][:2000]
    return [_finish(path, arr, px, source, meta, sample=sample, pixel_size=pixel_size)]


DM = SimpleReader("tem-dm", "tem", (".dm3", ".dm4"), _sniff_dm, _read_dm,
                  "Gatan Digital Micrograph .dm3/.dm4 image")
EMD = SimpleReader("tem-emd", "tem", (".emd",), _sniff_emd, _read_emd,
                   "Velox (Thermo Fisher) or Berkeley EMD image (HDF5)")
TIFF_TEM = SimpleReader("tem-tiff", "tem", (".tif", ".tiff"), _sniff_tiff, _read_tiff,
                        "calibrated TIFF image (FEI/Thermo metadata, ImageJ, TIFF resolution tags)")

READERS = [DM, EMD, TIFF_TEM]
"""Readers registered under the ``tem`` entry point."""

