"""Builders of PHI .spe/.pro and Igor .ibw test files from the documented layouts (used by the reader tests)."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def phi_bytes(regions: Sequence[tuple[str, float, float, Sequence[Sequence[float]]]], *, profile: bool = False,
              hv_line: str | None = "XraySource: Al 1486.6 mono", dtype: str = "<f4",
              depth_layers: Sequence[tuple[int, float, int]] = (), pre: int = 1, trailer: bytes = b"",
              extra_header: Sequence[str] = ()) -> bytes:
    """A PHI MultiPak file: ``regions`` = (name, start BE, step, [cycle values ...])."""
    ncyc = len(regions[0][3])
    hdr = ["SOFH", "Platform: PC", "Technique: XPS", f"FileType: {'DEPTHPRO' if profile else 'SPECTRUM'}",
           "InstrumentModel: VersaProbe 4", "AnalyserWorkFcn: 4.506 eV"]
    if hv_line:
        hdr.append(hv_line)
    if profile:
        hdr += [f"NoDPDataCyc: {ncyc}", f"NoPreSputterCyc: {pre}", "SputterMode: Alternating",
                f"NoDepthReg: {len(depth_layers)}"]
        first = pre
        for k, (_n, interval, cycles) in enumerate(depth_layers, start=1):
            hdr.append(f"DepthCalDef: {k} Layer{k} {first} 0.0000 0.0000 Ar+ 6.00 {interval:.2f} {cycles} "
                       "'1KV2x2' 1.000 150 25.00 0 0 719 765 39 2.0 2.0 0.79 -0.87 0.00 0.00 Ar")
            first += cycles
    hdr.append(f"NoSpectralReg: {len(regions)}")
    for k, (name, start, step, cyc) in enumerate(regions, start=1):
        n = len(cyc[0])
        end = start + step * (n - 1)
        hdr.append(f"SpectralRegDef: {k} 1 {name} 8 {n} {step:.4f} {start:.4f} {end:.4f} {start:.4f} {end:.4f} "
                   "0.100000 23.50 FAT")
    hdr += ["NoSpatialArea: 1", "SpatialAreaDef: 1 1 1 (0.0 0.0 0.0 45.0 0.0)", *extra_header, "EOFH", ""]
    size = np.dtype(dtype).itemsize
    count = len(regions)
    off = 4 + 96 * count + 12
    entries = b""
    blocks = b""
    for _name, _s, _st, cyc in regions:
        n = len(cyc[0])
        e = [0] * 24
        e[0], e[1], e[8], e[9] = 1, 96, n, len(cyc)
        e[11], e[13], e[17] = 7630448, 7496051, 7548771  # 'pnt', 'sar', 'c/s'
        e[22], e[23] = n * len(cyc) * size, off
        entries += struct.pack("<24I", *e)
        data = np.asarray(cyc, dtype=dtype).tobytes()
        blocks += data
        off += len(data)
    return "\r\n".join(hdr).encode() + struct.pack("<I", count) + entries + b"\x00" * 12 + blocks + trailer


def _fix_checksum(buf: bytearray, n: int, at: int, order: str) -> None:
    struct.pack_into(order + "h", buf, at, 0)
    total = int(np.frombuffer(bytes(buf[:n]), dtype=order + "i2").astype(np.int64).sum())
    ck = (-total) % 65536
    struct.pack_into(order + "H", buf, at, ck)


def ibw_bytes(data: np.ndarray, *, start: float, step: float, note: str, version: int = 5, order: str = "<",
              name: str = "Ag3d", slice_start: float = 0.0, slice_step: float = 1.0) -> bytes:
    """An Igor binary wave (PTN003 layout), float32 data, dimension 0 = energy."""
    data = np.asarray(data, dtype=order + "f4")
    nb = note.encode("latin-1")
    if version == 2:
        assert data.ndim == 1
        npnts = data.size
        dbytes = data.tobytes()
        wfm_size = 126 + len(dbytes)  # sizeof(WaveHeader2) incl. wData[4], + data: 16 bytes pad before the note
        buf = bytearray(struct.pack(order + "hlllh", 2, wfm_size, len(nb), 0, 0))
        wh = bytearray(110)
        struct.pack_into(order + "h", wh, 0, 2)  # NT_FP32
        wh[6:6 + len(name)] = name.encode()
        wh[38:40] = b"eV"
        struct.pack_into(order + "l", wh, 42, npnts)
        struct.pack_into(order + "dd", wh, 48, step, start)
        buf += wh + dbytes
        _fix_checksum(buf, 142, 14, order)
        return bytes(buf) + b"\x00" * 16 + nb
    dims = list(data.shape) + [0] * (4 - data.ndim)
    dbytes = np.asfortranarray(data).tobytes(order="F")
    bh = bytearray(64)
    struct.pack_into(order + "hhlll", bh, 0, 5, 0, 320 + len(dbytes), 0, len(nb))
    wh = bytearray(320)
    struct.pack_into(order + "l", wh, 12, data.size)
    struct.pack_into(order + "h", wh, 16, 2)
    wh[28:28 + len(name)] = name.encode()
    struct.pack_into(order + "4l", wh, 68, *dims)
    struct.pack_into(order + "4d", wh, 84, step, slice_step, 0, 0)
    struct.pack_into(order + "4d", wh, 116, start, slice_start, 0, 0)
    wh[152:154] = b"eV"
    buf = bh + wh
    _fix_checksum(buf, 384, 2, order)
    return bytes(buf) + dbytes + nb


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
