"""Synthetic TEM images of coated particles, and minimal writers of the TEM file formats.

:func:`synthetic_coated_particle` makes a seeded bright-field HRTEM image of
the edge of a cathode particle: a crystalline core with lattice fringes, an
amorphous shell of known thickness, vacuum (or embedding resin) outside,
blurred by the microscope's point-spread function and with shot noise at a
chosen dose. The truth is in ``meta["truth"]``.

The writers (:func:`write_dm`, :func:`write_emd`, :func:`write_tiff`) make
small but complete files of each format the TEM readers support, from known
pixel data and pixel size, so tests and the demo can check a read-back.

Examples
--------
>>> img = synthetic_coated_particle(thickness=3.0, seed=1)
>>> img.meta["truth"]["thickness"], img.shape
(3.0, (256, 256))
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy import ndimage

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.tem import TEMImage

__all__ = ["synthetic_coated_particle", "write_dm", "write_emd", "write_tiff"]

NCM_003_SPACING = 0.474
"""(003) lattice-plane spacing of layered LiNi0.8Co0.1Mn0.1O2, nm (c/3 with c = 14.2 Å)."""


def synthetic_coated_particle(
    *,
    thickness: float,
    shape: tuple[int, int] = (256, 256),
    pixel_size: float | None = None,
    fringe_spacing: float = NCM_003_SPACING,
    outside: str = "vacuum",
    dose: float = 400.0,
    blur: float = 0.12,
    radius: float = 120.0,
    roughness: float = 0.0,
    seed: int | None = None,
    sample: str | None = None,
) -> TEMImage:
    """A seeded HRTEM image of a coated particle edge with known shell thickness.

    Parameters
    ----------
    thickness : float
        Amorphous shell thickness, nm (0 for an uncoated particle).
    shape : (int, int)
        Image size in pixels.
    pixel_size : float, optional
        nm per pixel; default: the field of view holds about 10 nm of core,
        the shell and 10 nm outside.
    fringe_spacing : float
        Lattice-fringe period in the core, nm (default NCM (003), 0.474 nm).
    outside : {"vacuum", "resin"}
        What surrounds the particle (resin: amorphous and darker than vacuum).
    dose : float
        Mean electrons per pixel in vacuum (shot noise is Poisson).
    blur : float
        Standard deviation of the Gaussian point-spread function, nm.
    radius : float
        Particle radius, nm (the edge is an arc across the field of view).
    roughness : float
        Standard deviation of a smooth variation of the shell thickness along the edge, nm.
    seed : int, optional
    sample : str, optional

    Returns
    -------
    TEMImage
        Counts; ``meta["truth"]`` holds the thickness, centre, radius and the settings.
    """
    if thickness < 0 or not math.isfinite(thickness):
        raise ValidationError(f"thickness: must be finite and >= 0 nm, got {thickness}")
    if outside not in ("vacuum", "resin"):
        raise ValidationError(f"outside: expected 'vacuum' or 'resin', got {outside!r}")
    rng = np.random.default_rng(seed)
    ny, nx = shape
    if pixel_size is None:
        pixel_size = max(0.04, (thickness + 20.0) / (0.9 * min(nx, ny)))
    px = float(pixel_size)
    yy, xx = np.mgrid[0:ny, 0:nx].astype(float)
    x, y = xx * px, yy * px
    w, h = nx * px, ny * px
    # the edge (outer surface) crosses the field near its middle, at a random angle
    ang = rng.uniform(0, 2 * np.pi)
    d_out = -thickness / 2.0  # the middle of the shell at the centre of the field
    cx = w / 2 - (radius + d_out) * np.cos(ang)
    cy = h / 2 - (radius + d_out) * np.sin(ang)
    r = np.hypot(x - cx, y - cy)
    phi = np.arctan2(y - cy, x - cx)
    t_local = np.full_like(r, thickness)
    if roughness > 0 and thickness > 0:
        k = rng.normal(size=4)
        t_local = thickness + roughness * (k[0] * np.sin(12 * phi + k[1]) + k[2] * np.cos(31 * phi + k[3])) / 1.41
        t_local = np.clip(t_local, 0.2 * thickness, None)
    core = r < radius - t_local
    shell = (r < radius) & ~core
    # amorphous texture: smoothed white noise of ~0.25 nm correlation length
    tex = ndimage.gaussian_filter(rng.normal(size=shape), 0.25 / px)
    tex /= tex.std() + 1e-12
    theta = rng.uniform(0, np.pi)
    k0 = 2 * np.pi / fringe_spacing
    phase = rng.uniform(0, 2 * np.pi)
    fringes = np.cos(k0 * (x * np.cos(theta) + y * np.sin(theta)) + phase)
    img = np.empty(shape)
    vac_level = 1.0
    out_level = 0.9 if outside == "resin" else vac_level
    img[:] = out_level
    if outside == "resin":
        img += 0.03 * tex
    img[shell] = 0.74 + 0.04 * tex[shell]
    img[core] = 0.55 + 0.14 * fringes[core] + 0.015 * tex[core]
    img = ndimage.gaussian_filter(img, blur / px)
    counts = rng.poisson(np.clip(img, 0, None) * dose).astype(np.float64)
    truth = {"thickness": float(thickness), "center": (float(cx), float(cy)), "radius": float(radius),
             "fringe_spacing": float(fringe_spacing), "outside": outside, "dose": float(dose), "blur": float(blur),
             "roughness": float(roughness), "seed": seed,
             "fringe_angle": float(theta), "fringe_phase": float(phase), "edge_angle": float(ang)}
    return TEMImage(counts, pixel_size=px, sample=sample,
                    meta={"source": "ncmsurf.datasets.tem.synthetic_coated_particle", "truth": truth,
                          "voltage_kV": 200.0})


# ======================================================================== writers
_DM_TYPES = {np.dtype("int16"): (2, 1), np.dtype("float32"): (6, 2), np.dtype("uint8"): (10, 6),
             np.dtype("int32"): (3, 7), np.dtype("int8"): (9, 9), np.dtype("uint16"): (4, 10),
             np.dtype("uint32"): (5, 11), np.dtype("float64"): (7, 12)}
"""numpy dtype → (DM tag element type, DM image DataType)."""


class _DMWriter:
    def __init__(self, version: int, little: bool) -> None:
        self.v = version
        self.e: Literal["<", ">"] = "<" if little else ">"
        self.i = ">I" if version == 3 else ">Q"

    def uint(self, n: int) -> bytes:
        return struct.pack(self.i, n)

    def tag(self, label: str, body: bytes, kind: int) -> bytes:
        lab = label.encode("latin-1")
        head = bytes([kind]) + struct.pack(">H", len(lab)) + lab
        if self.v == 4:
            head += struct.pack(">Q", len(body))
        return head + body

    def group(self, items: list[tuple[str, Any]]) -> bytes:
        body = b"\x00\x00" + self.uint(len(items))  # not sorted, closed (as Digital Micrograph writes groups)
        for label, value in items:
            if isinstance(value, list):
                body += self.tag(label, self.group(value), 20)
            else:
                body += self.tag(label, self.value(value), 21)
        return body

    def value(self, v: Any) -> bytes:
        out = b"%%%%"
        if isinstance(v, np.ndarray):
            et = _DM_TYPES[v.dtype.newbyteorder("=")][0] if v.dtype != np.uint16 else 4
            info = [20, et, v.size]
            data = np.ascontiguousarray(v, dtype=v.dtype.newbyteorder(self.e)).tobytes()
        elif isinstance(v, bool):
            info, data = [8], struct.pack(self.e + "?", v)
        elif isinstance(v, int):
            info, data = [3], struct.pack(self.e + "i", v)
        elif isinstance(v, float):
            info, data = [7], struct.pack(self.e + "d", v)
        elif isinstance(v, str):  # strings as arrays of UTF-16 code units, as Digital Micrograph stores them
            arr = np.array([ord(c) for c in v], dtype=np.uint16)
            info = [20, 4, arr.size]
            data = arr.astype(np.dtype(np.uint16).newbyteorder(self.e)).tobytes()
        else:
            raise ValidationError(f"write_dm: cannot store a {type(v).__name__}")
        return out + self.uint(len(info)) + b"".join(self.uint(x) for x in info) + data


def _image_group(arr: np.ndarray, scale: float, unit: str, name: str, tags: list[tuple[str, Any]],
                 datatype: int | None = None) -> list[tuple[str, Any]]:
    ny, nx = arr.shape
    code = _DM_TYPES[arr.dtype][1] if datatype is None else datatype
    dim = [("", [("Origin", 0.0), ("Scale", float(scale)), ("Units", unit)]),
           ("", [("Origin", 0.0), ("Scale", float(scale)), ("Units", unit)])]
    return [
        ("ImageData", [
            ("Calibrations", [("Brightness", [("Origin", 0.0), ("Scale", 1.0), ("Units", "Counts")]),
                              ("Dimension", dim), ("DisplayCalibratedUnits", True)]),
            ("Data", arr.ravel()),
            ("DataType", code),
            ("Dimensions", [("", nx), ("", ny)]),
            ("PixelDepth", int(arr.dtype.itemsize)),
        ]),
        ("ImageTags", tags),
        ("Name", name),
        ("UniqueID", [("", 1), ("", 2), ("", 3), ("", 4)]),
    ]


def write_dm(path: str | os.PathLike[str], image: Any, *, pixel_size: float, unit: str = "nm",
             version: int | None = None, little_endian: bool = True, voltage_kV: float = 200.0,
             thumbnail: bool = True) -> Path:
    """Write a Digital Micrograph 3 or 4 image file (version from the suffix unless given).

    The file has the tag layout Digital Micrograph writes: an RGB thumbnail
    first in the ``ImageList``, then the image with its ``Calibrations``
    (``Scale`` in ``unit`` per pixel on both axes) and ``Microscope Info``.

    Parameters
    ----------
    path : path-like
    image : array_like
        2-D pixel data (int8/16/32, uint8/16/32, float32/64).
    pixel_size : float
        Pixel size in ``unit``.
    unit : str
        ``"nm"``, ``"µm"``, ``"Å"``... as Digital Micrograph writes it (``"1/nm"`` for a diffraction pattern).
    version : {3, 4}, optional
    little_endian : bool
        Byte order of the values (Digital Micrograph on PCs writes little-endian).
    voltage_kV : float
    thumbnail : bool

    Returns
    -------
    Path
    """
    p = Path(path)
    v = version if version is not None else (4 if p.suffix.lower() == ".dm4" else 3)
    if v not in (3, 4):
        raise ValidationError(f"version: 3 or 4, got {v}")
    arr = np.asarray(image)
    if arr.ndim != 2 or arr.dtype not in _DM_TYPES:
        raise ValidationError(f"write_dm: expected a 2-D array of a DM pixel type, got {arr.shape} {arr.dtype}")
    w = _DMWriter(v, little_endian)
    tags: list[tuple[str, Any]] = [("Microscope Info", [("Voltage", float(voltage_kV) * 1000.0),
                                                        ("Indicated Magnification", 500000.0),
                                                        ("Microscope", "ncmsurf synthetic"),
                                                        ("Operation Mode", "IMAGING")])]
    images: list[tuple[str, Any]] = []
    if thumbnail:
        thumb = np.full((8, 8), 0xFF808080, dtype=np.uint32)
        images.append(("", _image_group(thumb, 1.0, "", "thumbnail", [], datatype=23)))
    images.append(("", _image_group(arr, pixel_size, unit, p.stem, tags)))
    root = w.group([("ApplicationBounds", [("", 0), ("", 0), ("", 1024), ("", 1024)]),
                    ("ImageList", images), ("InImageMode", True)])
    tail = b"\x00" * 8
    body = root + tail
    if v == 3:
        head = struct.pack(">iIi", 3, len(body), 1 if little_endian else 0)
    else:
        head = struct.pack(">iQi", 4, len(body), 1 if little_endian else 0)
    p.write_bytes(head + body)
    return p


def write_emd(path: str | os.PathLike[str], image: Any, *, pixel_size: float, flavour: str = "velox",
              voltage_kV: float = 200.0) -> Path:
    """Write a Velox (Thermo Fisher) or Berkeley (v0.2) EMD file holding one image.

    Parameters
    ----------
    path : path-like
    image : array_like
        2-D pixel data.
    pixel_size : float
        nm per pixel (written in m for Velox, as a coordinate vector in nm for Berkeley).
    flavour : {"velox", "berkeley"}
    voltage_kV : float

    Returns
    -------
    Path
    """
    import h5py  # type: ignore[import-untyped]

    arr = np.asarray(image)
    if arr.ndim != 2:
        raise ValidationError(f"write_emd: expected a 2-D image, got shape {arr.shape}")
    p = Path(path)
    with h5py.File(p, "w") as fh:
        if flavour == "velox":
            fh.create_dataset("Version", data=np.array([json.dumps({"format": "Velox", "version": "2"}).encode()]))
            g = fh.create_group("Data/Image/3f2b8d0c4a6e4b5d9c1e7a2b3c4d5e6f")
            g.create_dataset("Data", data=arr[:, :, None])
            md = {"BinaryResult": {"PixelSize": {"width": repr(pixel_size * 1e-9), "height": repr(pixel_size * 1e-9)},
                                   "PixelUnitX": "m", "PixelUnitY": "m", "Detector": "BM-Ceta"},
                  "Optics": {"AccelerationVoltage": repr(voltage_kV * 1000.0)},
                  "Acquisition": {"AcquisitionStartDatetime": {"DateTime": "1735689600"}},
                  "Instrument": {"InstrumentModel": "synthetic", "InstrumentId": "0"},
                  "Core": {"MetadataDefinitionVersion": "7.9"}}
            raw = np.frombuffer(json.dumps(md).encode() + b"\x00" * 16, dtype=np.uint8)
            g.create_dataset("Metadata", data=raw[:, None])
        elif flavour == "berkeley":
            fh.attrs["version_major"] = 0
            fh.attrs["version_minor"] = 2
            g = fh.create_group("data/image")
            g.attrs["emd_group_type"] = 1
            g.create_dataset("data", data=arr)
            for i, key in enumerate(("dim1", "dim2")):
                d = g.create_dataset(key, data=np.arange(arr.shape[i]) * float(pixel_size))
                d.attrs["name"] = np.bytes_(["y", "x"][i])
                d.attrs["units"] = np.bytes_("[n_m]")
        else:
            raise ValidationError(f"flavour: 'velox' or 'berkeley', got {flavour!r}")
    return p


def write_tiff(path: str | os.PathLike[str], image: Any, *, pixel_size: float, flavour: str = "imagej") -> Path:
    """Write a calibrated TIFF: ImageJ (unit nm), FEI/Thermo (``[Scan] PixelWidth`` in m) or resolution tags (cm).

    Returns
    -------
    Path
    """
    import tifffile

    arr = np.asarray(image)
    p = Path(path)
    if flavour == "imagej":
        res = 1.0 / pixel_size
        tifffile.imwrite(p, arr.astype(np.float32) if arr.dtype == np.float64 else arr, imagej=True,
                         resolution=(res, res), metadata={"unit": "nm"})
    elif flavour == "fei":
        text = ("[User]\r\nDate=01/01/2025\r\n[Beam]\r\nHV=200000\r\n[Scan]\r\n"
                f"PixelWidth={pixel_size * 1e-9!r}\r\nPixelHeight={pixel_size * 1e-9!r}\r\n")
        tifffile.imwrite(p, arr, extratags=[(34682, "s", 0, text, True)])
    elif flavour == "resolution":
        res = 1e7 / pixel_size  # pixels per cm
        tifffile.imwrite(p, arr, resolution=(res, res), resolutionunit=3)
    else:
        raise ValidationError(f"flavour: 'imagej', 'fei' or 'resolution', got {flavour!r}")
    return p
