"""EDS element-map readers: NumPy .npy/.npz, TIFF, CSV matrices (single or zipped), and EMSA detection.

Formats
-------
- ``.npz``: one 2-D array per element, named by the element; optional
  ``_pixel_size`` (nm, 0-d) and ``_sample`` (0-d string). Written by
  :func:`write_npz`, which the reader reads back exactly.
- ``.npy``: one 2-D map (element from ``element=`` or the file name) or a
  3-D stack (elements from ``elements=``; else ``channel0``, ``channel1``...).
- TIFF (needs the optional ``tifffile``, in the ``io`` extra): a 2-D page
  (element from ``element=`` or the file name) or a stack; element names
  from ``elements=`` or from a JSON image description ``{"elements": [...]}``
  as :func:`tifffile.imwrite` stores metadata.
- CSV matrix: one map per file, rows of numbers, optional ``#`` header
  lines (``# element: Al``, ``# pixel size (nm): 20``); element from the
  header, ``element=`` or the file name.
- ``.zip`` of CSV matrices or TIFF pages, one element per member (named by
  the member's file name).
- ``.msa``/``.emsa`` files are spectra, not maps: ``ns.read_eds`` explains
  and points to :func:`ncmsurf.eds.read_msa`.
- Bruker Esprit ``.bcf`` hypermaps (own parser of the SFS container, the XML
  header and the packed spectrum cube; see :mod:`ncmsurf.io._bcf`): element
  maps by summing each element's line window (the elements the file selected
  for mapping, or ``elements=``), the energy calibration and the pixel size
  (the SEM ``DX`` in µm, when the file has it) from the header, the SEM/BSE
  images in ``meta["images"]``. The full cube: :func:`read_bcf_hypermap`.
- JEOL Analysis Station ``.map`` element maps (and ``.img`` images): a uint32
  magic 52, a 32-byte format name, three uint32 (header position, header
  length, data position) and, 12 bytes after the data position, a tree of
  tagged items (a 0x01 mark, the int32 name length, the name, the int32
  value type and byte length, the value; each item closed by 0xFF) with
  ``Image/Size`` (width, height), ``Image/Bits`` (the pixels), ``Image/Title``
  and ``Instrument/ScanSize``, ``Mag``, ``AccV``; the pixel size is
  ScanSize / Mag × 1000 µm / width. The element is taken from the title
  (``"Al K"``), ``element=`` or the file name.

Examples
--------
>>> import tempfile, pathlib
>>> import numpy as np
>>> import ncmsurf as ns
>>> m = ns.ElementMap({"Al": np.eye(3), "Ni": np.ones((3, 3))}, pixel_size=25.0, sample="A(3)-NCM")
>>> f = write_npz(m, pathlib.Path(tempfile.mkdtemp()) / "m.npz")
>>> back = NPZ.read(f)[0]
>>> back == m.with_meta(**back.meta)
True
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import re
import struct
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import ElementMap
from ncmsurf.io._binary_checks import check_npy_size, check_tiff_extent
from ncmsurf.io._table import TableWarning, decode_text, looks_binary, parse_table
from ncmsurf.io.registry import SimpleReader

__all__ = ["BCF", "CSV_MATRIX", "EMSA_SPECTRUM", "JEOL_MAP", "NPY", "NPZ", "READERS", "TIFF", "ZIP_MAPS",
           "read_bcf_hypermap", "write_npz"]


def _element_from_name(name: str) -> str:
    """'sample_Al_Ka' → 'Al'; otherwise the stem itself."""
    stem = Path(name).stem
    parts = re.split(r"[ _\-.]+", stem)
    for tok in reversed(parts):
        if re.fullmatch(r"[KLM][ab]\d*|[KLM]", tok):  # X-ray line label (Ka, La1, ...), not an element
            continue
        if re.fullmatch(r"[A-Z][a-z]?", tok):
            return tok
        m = re.fullmatch(r"([A-Z][a-z]?)(K|L|M)(a|b)?\d*", tok)
        if m:
            return m.group(1)
    return stem or "map"


def _finish(path: Path, maps: dict[str, np.ndarray], *, pixel_size: Any, sample: Any, meta: dict[str, Any]) \
        -> list[ElementMap]:
    for k, a in maps.items():
        if a.ndim != 2:
            raise ReadError(path, None, f"map {k!r}: expected 2-D data, got shape {a.shape}")
        if a.dtype.kind not in "biuf":
            raise ReadError(path, None, f"map {k!r}: expected numbers, got dtype {a.dtype}")
        if a.size == 0:
            raise ReadError(path, None, f"map {k!r}: empty")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            i = int(np.flatnonzero(~np.isfinite(a.ravel()))[0])
            raise ReadError(path, None, f"map {k!r}: non-finite value at pixel (row {i // a.shape[1]}, "
                                        f"col {i % a.shape[1]})")
    shapes = {k: a.shape for k, a in maps.items()}
    if len(set(shapes.values())) > 1:
        raise ReadError(path, None, f"element maps of different shapes: {shapes}")
    try:
        return [ElementMap(maps, pixel_size=pixel_size, sample=sample, meta={"source_file": str(path), **meta})]
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc


# ------------------------------------------------------------------ NumPy
def _sniff_npz(path: Path, head: bytes) -> float:
    if not head.startswith(b"PK\x03\x04"):
        return 0.0
    return 0.9 if b".npy" in head[:4096] else 0.0


def _read_npz(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[ElementMap]:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as exc:  # numpy/zipfile/zlib raise many kinds on corrupt archives
        raise ReadError(path, None, f"not a readable .npz archive: {type(exc).__name__}: {exc}") from exc
    px = arrays.pop("_pixel_size", None)
    smp = arrays.pop("_sample", None)
    if pixel_size is None and px is not None:
        if px.shape != () or px.dtype.kind not in "iuf":
            raise ReadError(path, None, "_pixel_size must be a single number")
        pixel_size = float(px)
    if sample is None and smp is not None:
        if smp.shape != () or smp.dtype.kind != "U":
            raise ReadError(path, None, "_sample must be a single string")
        sample = str(smp)
    if not arrays:
        raise ReadError(path, None, "no element maps in the archive")
    try:
        return _finish(path, arrays, pixel_size=pixel_size, sample=sample, meta={"format": "npz"})
    except ValidationError as exc:  # sample label
        raise ReadError(path, None, str(exc)) from exc


def _sniff_npy(path: Path, head: bytes) -> float:
    return 0.9 if head.startswith(b"\x93NUMPY") else 0.0


def _stack_to_maps(path: Path, arr: np.ndarray, elements: Any, element: Any) -> dict[str, np.ndarray]:
    if arr.ndim == 2:
        return {str(element) if element else _element_from_name(path.name): arr}
    if arr.ndim == 3:
        n = arr.shape[0]
        names = list(elements) if elements is not None else [f"channel{k}" for k in range(n)]
        if len(names) != n:
            raise ReadError(path, None, f"elements: {len(names)} names for a stack of {n} maps")
        if len(set(names)) != n:
            raise ReadError(path, None, f"elements: duplicate names {names}")
        return {str(nm): arr[k] for k, nm in enumerate(names)}
    raise ReadError(path, None, f"expected a 2-D map or a 3-D stack (element, row, col), got shape {arr.shape}")


def _read_npy(path: Path, *, sample: Any = None, pixel_size: Any = None, elements: Any = None, element: Any = None,
              **_: Any) -> list[ElementMap]:
    try:
        with open(path, "rb") as fh:
            head = fh.read(65536 + 16)
        check_npy_size(path, head, path.stat().st_size)
        arr = np.load(path, allow_pickle=False)
    except ReadError:
        raise
    except Exception as exc:  # numpy raises many kinds on corrupt headers
        raise ReadError(path, None, f"not a readable .npy file: {type(exc).__name__}: {exc}") from exc
    if not isinstance(arr, np.ndarray):
        raise ReadError(path, None, "expected a single array")
    maps = _stack_to_maps(path, arr, elements, element)
    return _finish(path, maps, pixel_size=pixel_size, sample=sample, meta={"format": "npy"})


# ------------------------------------------------------------------- TIFF
def _sniff_tiff(path: Path, head: bytes) -> float:
    return 0.8 if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+") else 0.0


def _tiff_arrays(path: Path, data: bytes | None = None) -> tuple[np.ndarray, str]:
    try:
        import tifffile
    except ImportError as exc:  # pragma: no cover - tifffile is in the io extra
        raise ReadError(path, None, "reading TIFF maps needs the optional package tifffile "
                                    "(pip install 'ncmsurf[io]')") from exc
    log = logging.getLogger("tifffile")
    level = log.level
    log.setLevel(logging.CRITICAL)  # corrupt tags are reported through the ReadError instead
    try:
        src: Any = io.BytesIO(data) if data is not None else path
        with tifffile.TiffFile(src) as tf:
            check_tiff_extent(path, data if data is not None else path.read_bytes())
            arr = tf.asarray()
            desc = tf.pages[0].description if tf.pages else ""  # type: ignore[union-attr]
    except ReadError:
        raise
    except Exception as exc:  # tifffile raises many kinds on corrupt files
        raise ReadError(path, None, f"not a readable TIFF file: {type(exc).__name__}: {exc}") from exc
    finally:
        log.setLevel(level)
    return np.asarray(arr), str(desc or "")


def _read_tiff(path: Path, *, sample: Any = None, pixel_size: Any = None, elements: Any = None,
               element: Any = None, **_: Any) -> list[ElementMap]:
    arr, desc = _tiff_arrays(path)
    if elements is None and desc.strip().startswith("{"):
        try:
            info = json.loads(desc)
        except ValueError:
            info = {}
        if isinstance(info, dict):
            els = info.get("elements")
            if isinstance(els, list) and all(isinstance(e, str) for e in els):
                elements = els
            if pixel_size is None and isinstance(info.get("pixel_size"), (int, float)):
                pixel_size = float(info["pixel_size"])
    if arr.ndim == 3 and arr.shape[-1] in (3, 4) and elements is None and arr.shape[0] > 4:
        raise ReadError(path, None, f"TIFF looks like an RGB image (shape {arr.shape}), not element maps")
    maps = _stack_to_maps(path, arr, elements, element)
    return _finish(path, maps, pixel_size=pixel_size, sample=sample, meta={"format": "tiff"})


# -------------------------------------------------------------- CSV matrix
_META = re.compile(r"^#\s*([A-Za-z][A-Za-z ()/]*?)\s*[:=]\s*(.+?)\s*$")


#: Header keys of other formats' text files (SPECS .xy, XPS and SIMS exports): such a file is not a map.
_FOREIGN_KEYS = ("created by", "region", "values/curve", "columnlabels", "excitation energy", "kinetic energy",
                 "binding energy", "acquisition date", "analysis method", "analyzer", "scan mode", "curves/scan",
                 "energy axis", "sputter", "mass")
_MAP_KEYS = ("element", "pixel size (nm)", "pixel size (um)", "pixel size (µm)", "sample")
_MATRIX_NUM = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def _matrix_delimiter(line: str) -> str | None:
    """The delimiter of a matrix row: tab, semicolon or comma where present, else whitespace (None)."""
    for d in ("\t", ";", ","):
        if d in line:
            return d
    return None


def _csv_matrix_head(text: str) -> tuple[dict[str, str], int, int]:
    """Header keys, number of numeric rows and columns seen in the first lines (-1, -1: not a matrix)."""
    meta: dict[str, str] = {}
    nrows = 0
    ncols = -1
    for ln in text.splitlines()[:200]:
        s = ln.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = _META.match(s)
            if m:
                key = m.group(1).strip().lower()
                if key in _FOREIGN_KEYS:
                    return meta, -1, -1
                meta[key] = m.group(2)
            continue
        d = _matrix_delimiter(s)
        toks = [t.strip() for t in (s.split(d) if d is not None else s.split())]
        if not toks or not all(_MATRIX_NUM.fullmatch(t) for t in toks):
            return meta, -1, -1
        if ncols not in (-1, len(toks)):
            return meta, -1, -1
        ncols = len(toks)
        nrows += 1
    return meta, nrows, ncols


def _sniff_csv(path: Path, head: bytes) -> float:
    if looks_binary(head):
        return 0.0
    text = head.decode("utf-8-sig", errors="replace")
    if len(head) >= 65536:
        text = text[: text.rfind("\n")] if "\n" in text else ""
    meta, nrows, ncols = _csv_matrix_head(text)
    if nrows < 2 or ncols < 2:
        return 0.0
    if "element" in meta:
        return 0.9
    return 0.3 if nrows >= 4 and ncols >= 4 else 0.0


def _near_key(key: str) -> str | None:
    """The map header key ``key`` is a damaged copy of (one or two characters off), else None."""
    from difflib import SequenceMatcher

    if key in _MAP_KEYS:
        return None
    for k in _MAP_KEYS:
        if abs(len(k) - len(key)) <= 2 and SequenceMatcher(None, key, k).ratio() >= 0.8:
            return k
    return None


def _csv_matrix(path: Path, text: str, *, checked: bool = False) -> tuple[np.ndarray, dict[str, str]]:
    """The matrix and header of a CSV map (``checked``: a zip member, whose CRC shows it whole)."""
    table = parse_table(path, text, min_columns=2)
    if not checked and text.strip() and not text.endswith(("\n", "\r")):
        warnings.warn(f"{path}: the last line has no line end; the file may be cut and its last row "
                      "incomplete", TableWarning, stacklevel=3)
    meta = {}
    for ln in table.header_lines:
        m = _META.match(ln.strip())
        if m:
            key = m.group(1).strip().lower()
            near = _near_key(key)
            if near is not None:  # a damaged "element" key would rename the map after the file
                raise ReadError(path, None, f"header key {m.group(1).strip()!r} is not a known key but close to "
                                f"{near!r}: the header is damaged")
            meta[key] = m.group(2)
    if "element" in meta and not re.fullmatch(r"[A-Za-z][A-Za-z0-9 ()_+-]*", meta["element"].strip()):
        raise ReadError(path, None, f"element name {meta['element']!r} is not a name (damaged header?)")
    if table.header_line is not None:
        raise ReadError(path, table.header_line, "a CSV element map must be a plain matrix of numbers "
                        "(column names found; use the eds-text long format for x, y, element columns)")
    arr = np.column_stack([table.columns[n] for n in table.names])
    return arr, meta


def _pixel_size_from_meta(path: Path, meta: dict[str, Any]) -> float | None:
    """Pixel size in nm from a ``pixel size (nm|um)`` header entry, or None."""
    for k, v in meta.items():
        if k.startswith("pixel size"):
            try:
                size = float(str(v).split()[0])
            except (ValueError, IndexError) as exc:
                raise ReadError(path, None, f"pixel size {v!r} is not a number") from exc
            return size * 1000.0 if ("um" in k or "µm" in k) else size
    return None


def _read_csv(path: Path, *, sample: Any = None, pixel_size: Any = None, element: Any = None,
              **_: Any) -> list[ElementMap]:
    arr, meta = _csv_matrix(path, decode_text(path))
    el = str(element) if element else meta.get("element") or _element_from_name(path.name)
    if pixel_size is None:
        pixel_size = _pixel_size_from_meta(path, meta)
    if sample is None and meta.get("sample"):
        sample = meta["sample"]
    try:
        return _finish(path, {el: arr}, pixel_size=pixel_size, sample=sample, meta={"format": "csv-matrix"})
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc


# -------------------------------------------------------------------- zip
def _sniff_zip(path: Path, head: bytes) -> float:
    if not head.startswith(b"PK\x03\x04") or b".npy" in head[:4096]:
        return 0.0
    low = head[:4096].lower()
    return 0.85 if (b".csv" in low or b".tif" in low or b".txt" in low) else 0.0


def _read_zip(path: Path, *, sample: Any = None, pixel_size: Any = None, **_: Any) -> list[ElementMap]:
    try:
        zf = zipfile.ZipFile(path)
    except Exception as exc:  # corrupt central directory
        raise ReadError(path, None, f"not a readable zip archive: {exc}") from exc
    maps: dict[str, np.ndarray] = {}
    with zf:
        members = [i for i in zf.infolist() if not i.is_dir() and not Path(i.filename).name.startswith(".")]
        if not members:
            raise ReadError(path, None, "the zip archive holds no files")
        for info in sorted(members, key=lambda i: i.filename):
            name = info.filename
            where = Path(f"{path}!{name}")
            if info.file_size > 512 * 1024 * 1024:
                raise ReadError(where, None, "member larger than 512 MB")
            try:
                data = zf.read(info)
            except Exception as exc:  # zipfile/zlib raise many kinds on corrupt members
                raise ReadError(where, None, f"cannot extract: {exc}") from exc
            suffix = Path(name).suffix.lower()
            if suffix in (".csv", ".txt", ".tsv", ".dat"):
                arr, meta = _csv_matrix(where, decode_text(where, data), checked=True)
                el = meta.get("element") or _element_from_name(name)
                if pixel_size is None:
                    pixel_size = _pixel_size_from_meta(where, meta)
            elif suffix in (".tif", ".tiff"):
                arr, _desc = _tiff_arrays(where, data)
                el = _element_from_name(name)
                if arr.ndim != 2:
                    raise ReadError(where, None, f"expected one 2-D map per member, got shape {arr.shape}")
            else:
                raise ReadError(where, None, f"unsupported member type {suffix or name!r} (CSV matrices or TIFF)")
            if el in maps:
                raise ReadError(where, None, f"element {el!r} appears in two members")
            maps[el] = arr
    return _finish(path, maps, pixel_size=pixel_size, sample=sample, meta={"format": "zip"})


# ------------------------------------------------------------------- EMSA
def _sniff_msa(path: Path, head: bytes) -> float:
    h = head[:2048].lstrip().upper()
    return 0.95 if h.startswith(b"#FORMAT") and b"EMSA" in h[:200] else 0.0


def _read_msa(path: Path, **_: Any) -> list[ElementMap]:
    raise ReadError(path, None, "this is an EMSA/MAS spectrum, not an element map: "
                                "read it with ncmsurf.eds.read_msa(path)")


# ------------------------------------------------------------------ Bruker .bcf
def _sniff_bcf(path: Path, head: bytes) -> float:
    return 0.95 if head[:8] == b"AAMVHFSS" else 0.0


def read_bcf_hypermap(path: str | os.PathLike[str], *, sample: Any = None) -> Any:
    """The spectrum image of a Bruker .bcf as a :class:`ncmsurf.eds.Hypermap` (counts, energy axis, images).

    Raises
    ------
    ReadError
        Naming the internal file and byte offset of the first problem.
    """
    from ncmsurf.eds import Hypermap
    from ncmsurf.io._bcf import read_bcf

    p = Path(path)
    if not p.is_file():
        raise ReadError(p, None, "no such file")
    header, cube = read_bcf(p)
    energy = (header.offset_keV + header.gain_keV * np.arange(header.channels)) * 1000.0
    if header.gain_keV <= 0:
        raise ReadError(p, None, f"energy calibration: gain {header.gain_keV} keV/channel is not positive")
    px = None
    source = "none"
    dx = header.meta.get("sem_dx_um")
    if isinstance(dx, float) and dx > 0:
        img_w = header.width or cube.shape[1]
        px = dx * 1000.0 * img_w / cube.shape[1]
        source = "sem-dx"
    meta: dict[str, Any] = {
        "source_file": str(p), "format": "bruker-bcf", "elements": header.elements, "beam_kV": header.voltage_kV,
        "energy_calibration": {"offset_keV": header.offset_keV, "gain_keV": header.gain_keV,
                               "channels": header.channels},
        "pixel_size_source": source, **{k: v for k, v in header.meta.items() if v is not None},
    }
    if header.sum_spectrum is not None:
        meta["sum_spectrum"] = header.sum_spectrum
    try:
        return Hypermap(cube, energy, pixel_size=px, images=header.images, sample=sample, meta=meta)
    except ValidationError as exc:
        raise ReadError(p, None, str(exc)) from exc


def _read_bcf(path: Path, *, sample: Any = None, pixel_size: Any = None, elements: Any = None, lines: Any = None,
              width: float = 2.0, fwhm_mn: float | None = None, **_: Any) -> list[ElementMap]:
    hm = read_bcf_hypermap(path, sample=sample)
    try:
        emap = hm.element_maps(elements, lines=lines, width=width, fwhm_mn=fwhm_mn)
    except ValidationError as exc:
        raise ReadError(path, None, str(exc)) from exc
    if pixel_size is not None:
        emap = emap.replace(pixel_size=pixel_size)
    return [emap]


# ------------------------------------------------------------------ JEOL .map / .img
_JEOL_TYPES = {1: "<u1", 2: "<u2", 3: "<i4", 4: "<f4", 5: "<f8", 6: "<u1", 7: "<u2", 8: "<i4", 9: "<f4", 10: "<f8",
               11: "?", 12: "c", 13: "c", 14: "<u2", 20: "c", 65552: "?", 65553: "?"}


def _parse_jeol(path: Path, buf: bytes, at: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    stack: list[dict[str, Any]] = [root]
    n = len(buf)
    while True:
        if at >= n:
            raise ReadError(path, None, f"offset {at}: the tag tree ends without its closing mark")
        mark = buf[at]
        at += 1
        if mark == 1:
            if at + 4 > n:
                raise ReadError(path, None, f"offset {at}: truncated tag name length")
            ln = struct.unpack_from("<i", buf, at)[0]
            at += 4
            if ln < 0 or ln > 4096 or at + ln + 8 > n:
                raise ReadError(path, None, f"offset {at - 4}: tag name length {ln} is implausible")
            name = buf[at:at + ln].rstrip(b"\x00").decode("latin-1")
            at += ln
            vtype, vlen = struct.unpack_from("<ii", buf, at)
            at += 8
            if vtype == 0:
                child: dict[str, Any] = {}
                stack[-1][name] = child
                stack.append(child)
                continue
            if vtype not in _JEOL_TYPES or vlen < 0 or at + vlen > n:
                raise ReadError(path, None, f"offset {at - 8}: tag {name!r} has type {vtype} and length {vlen}")
            dt = _JEOL_TYPES[vtype]
            raw = buf[at:at + vlen]
            at += vlen
            if dt == "c":
                value: Any = raw.rstrip(b"\x00").decode("utf-8", errors="replace")
            else:
                arr = np.frombuffer(raw, dtype=np.dtype(dt), count=vlen // np.dtype(dt).itemsize)
                value = arr[0].item() if arr.size == 1 else arr.copy()
            stack[-1][name] = value
            stack.append({})  # the value's own (empty) level, closed by the next mark
        elif mark == 0xFF or (mark == 0 and len(stack) == 1):
            if len(stack) == 1:
                break  # a closing mark at the top level ends the tree
            stack.pop()
        else:
            raise ReadError(path, None, f"offset {at - 1}: unexpected tag mark {mark}")
    return root


def _sniff_jeol(path: Path, head: bytes) -> float:
    if len(head) < 48 or struct.unpack_from("<I", head, 0)[0] != 52:
        return 0.0
    return 0.9 if path.suffix.lower() in (".map", ".img") else 0.5


def _read_jeol_map(path: Path, *, sample: Any = None, pixel_size: Any = None, element: Any = None,
                   **_: Any) -> list[ElementMap]:
    buf = path.read_bytes()
    if len(buf) < 48 or struct.unpack_from("<I", buf, 0)[0] != 52:
        raise ReadError(path, None, "offset 0: not a JEOL image/map file (magic 52 missing)")
    fmt = buf[4:36].rstrip(b"\x00").decode("latin-1", errors="replace")
    _hp, _hl, data_pos = struct.unpack_from("<III", buf, 36)
    if data_pos + 12 > len(buf):
        raise ReadError(path, None, f"offset 44: data position {data_pos} beyond the end of the file")
    tree = _parse_jeol(path, buf, data_pos + 12)
    image = tree.get("Image")
    if not isinstance(image, dict) or "Size" not in image or "Bits" not in image:
        raise ReadError(path, None, "no Image/Size and Image/Bits in the tag tree")
    size = np.atleast_1d(np.asarray(image["Size"]))
    if size.size != 2:
        raise ReadError(path, None, f"Image/Size: expected (width, height), got {size.tolist()}")
    w, h = int(size[0]), int(size[1])
    bits = np.asarray(image["Bits"])
    if bits.ndim != 1 or bits.size != w * h:
        raise ReadError(path, None, f"Image/Bits: {bits.size} values for {w} x {h} pixels")
    arr = bits.reshape(h, w)
    title = str(image.get("Title", ""))
    inst = tree.get("Instrument", {}) if isinstance(tree.get("Instrument"), dict) else {}
    px = pixel_size
    if px is None:
        scan, mag = inst.get("ScanSize"), inst.get("Mag")
        if isinstance(scan, (int, float)) and isinstance(mag, (int, float)) and scan > 0 and mag > 0:
            px = float(scan) / float(mag) * 1000.0 / w * 1000.0  # µm → nm
    el = str(element) if element else None
    if el is None:
        m = re.match(r"^\s*([A-Z][a-z]?)(?:[\s_-]*([KLM][ab]?\d*|[KLM]))?\b", title)
        el = m.group(1) if m else _element_from_name(path.name)
    meta: dict[str, Any] = {"format": "jeol-map", "jeol_format": fmt, "title": title}
    if isinstance(inst.get("AccV"), (int, float)):
        meta["beam_kV"] = float(inst["AccV"])
    if isinstance(inst.get("Mag"), (int, float)):
        meta["magnification"] = float(inst["Mag"])
    return _finish(path, {el: arr}, pixel_size=px, sample=sample, meta=meta)


NPZ = SimpleReader("eds-npz", "eds", (".npz",), _sniff_npz, _read_npz,
                   "NumPy .npz archive, one 2-D array per element (+ _pixel_size, _sample)")
NPY = SimpleReader("eds-npy", "eds", (".npy",), _sniff_npy, _read_npy,
                   "NumPy .npy 2-D map or 3-D stack of element maps")
TIFF = SimpleReader("eds-tiff", "eds", (".tif", ".tiff"), _sniff_tiff, _read_tiff,
                    "TIFF element map(s) (needs tifffile)")
CSV_MATRIX = SimpleReader("eds-csv-matrix", "eds", (".csv", ".txt"), _sniff_csv, _read_csv,
                          "one element map as a CSV matrix (rows of numbers)")
ZIP_MAPS = SimpleReader("eds-zip", "eds", (".zip",), _sniff_zip, _read_zip,
                        "zip archive of CSV matrices or TIFF pages, one element per file")
EMSA_SPECTRUM = SimpleReader("eds-emsa", "eds", (".msa", ".emsa"), _sniff_msa, _read_msa,
                             "EMSA/MAS spectrum (recognised; read with ncmsurf.eds.read_msa)")

BCF = SimpleReader("eds-bcf", "eds", (".bcf",), _sniff_bcf, _read_bcf,
                   "Bruker Esprit .bcf hypermap: element maps from line windows, SEM image kept")
JEOL_MAP = SimpleReader("eds-jeol-map", "eds", (".map", ".img"), _sniff_jeol, _read_jeol_map,
                        "JEOL Analysis Station .map element map (or .img image)")

READERS = [NPZ, NPY, TIFF, CSV_MATRIX, ZIP_MAPS, EMSA_SPECTRUM, BCF, JEOL_MAP]
"""Readers registered under the ``eds`` entry point."""


def write_npz(emap: ElementMap, path: str | os.PathLike[str]) -> Path:
    """Write element maps to a NumPy .npz archive that the ``eds-npz`` reader reads back exactly.

    Returns
    -------
    Path
    """
    if not isinstance(emap, ElementMap):
        raise ValidationError(f"write_npz: expected an ElementMap, got {type(emap).__name__}")
    arrays: dict[str, Any] = dict(emap.maps)
    bad = [k for k in arrays if k.startswith("_")]
    if bad:
        raise ValidationError(f"write_npz: element names may not start with '_': {bad}")
    if emap.pixel_size is not None and math.isfinite(emap.pixel_size):
        arrays["_pixel_size"] = np.float64(emap.pixel_size)
    if emap.sample is not None:
        arrays["_sample"] = np.str_(str(emap.sample))
    p = Path(path)
    with open(p, "wb") as fh:
        np.savez(fh, **arrays)
    return p
