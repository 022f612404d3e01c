"""Write small Bruker .bcf files in the documented layout (SFS container, XML header, packed cube), for tests.

No shared real file uses the uncompressed container, the 16-bit or the instructed pixel packing, or a
pixel calibration; these files exercise them. The layout is the one ``ncmsurf.io._bcf`` documents.
"""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

import numpy as np


def _pack12(values: np.ndarray) -> bytes:
    v = [int(x) for x in values]
    if len(v) % 2:
        v.append(0)
    b = bytearray()
    for a, c in zip(v[0::2], v[1::2]):
        b += bytes([a >> 4, ((a & 0xF) << 4) | (c >> 8), c & 0xFF])
    if len(b) % 2:
        b.append(0)
    sw = bytearray(len(b))
    sw[0::2], sw[1::2] = b[1::2], b[0::2]
    return bytes(sw)


def _instructed(spec: np.ndarray, extra: np.ndarray) -> tuple[bytes, int]:
    out = bytearray()
    c = 0
    n = spec.size
    while c < n:
        seg = spec[c:c + 200]
        if not seg.any():
            out += bytes([0, seg.size])
        elif seg.max() - seg.min() < 16 and seg.size % 2 == 0:
            g = int(seg.min())
            out += bytes([1, seg.size, g])
            d = (seg - g).astype(np.uint8)
            out += bytes(((d[1::2] << 4) | d[0::2]).astype(np.uint8).tolist())
        elif seg.max() - seg.min() < 256:
            g = int(seg.min())
            out += bytes([2, seg.size]) + struct.pack("<H", g) + (seg - g).astype(np.uint8).tobytes()
        else:
            g = int(seg.min())
            out += bytes([4, seg.size]) + struct.pack("<I", g) + (seg - g).astype("<u2").tobytes()
        c += seg.size
    return bytes(out), len(out) + 4


def cube_bytes(cube: np.ndarray, flags: str = "mixed", extra_pulses: int = 2) -> bytes:
    h, w, nch = cube.shape
    out = bytearray(struct.pack("<ii", h, w) + b"\x00" * (0x1A0 - 8))
    for y in range(h):
        pix = [x for x in range(w) if cube[y, x].any()]
        out += struct.pack("<i", len(pix))
        for x in pix:
            spec = cube[y, x].astype(np.int64)
            flag = {"mixed": (x + y) % 3, "0": 0, "1": 1, "2": 2}[flags]
            pulses = np.repeat(np.arange(nch), spec)
            if flag == 0:
                data = pulses.astype("<u2").tobytes()
                out += struct.pack("<IHHIHHHI", x, nch, nch, 0, 0, 0, pulses.size, len(data)) + data
            elif flag == 1:
                data = _pack12(pulses)
                out += struct.pack("<IHHIHHHI", x, nch, nch, 0, 1, 0, pulses.size, len(data)) + data
            else:
                k = min(extra_pulses, pulses.size)
                extra = pulses[:k]
                rest = spec.copy()
                np.subtract.at(rest, extra, 1)
                body, size = _instructed(rest, extra)
                out += struct.pack("<IHHIHHHI", x, nch, nch, 0, 2, 0, k, size) + body
                if k:
                    out += struct.pack("<I", 2 * k) + extra.astype("<u2").tobytes()
                else:
                    out += b"\x00\x00\x00\x00"
    return bytes(out)


def header_xml(cube: np.ndarray, *, sem: np.ndarray, offset_keV: float, gain_keV: float, elements: dict[str, str],
               dx_um: float | None, hv: float = 15.0) -> bytes:
    h, w, nch = cube.shape
    regions = "".join(f'<ClassInstance Type="TRTSpectrumRegion" Name="{el}"><Line>{ln}</Line></ClassInstance>'
                      for el, ln in elements.items())
    dx = f"<DX>{dx_um}</DX><DY>{dx_um}</DY>" if dx_um else ""
    total = ",".join(str(int(v)) for v in cube.sum(axis=(0, 1)))
    xml = (
        '<?xml version="1.0" encoding="WINDOWS-1252" standalone="yes"?><TRTHeaderedClass>'
        '<ClassInstance Type="TRTSpectrumDatabase" Name="test">'
        f'<ClassInstance Type="TRTImageData"><Width>{w}</Width><Height>{h}</Height><ItemSize>2</ItemSize>'
        f'<PlaneCount>1</PlaneCount><Plane0><Description>SEM</Description>'
        f'<Data>{base64.b64encode(sem.astype("<u2").tobytes()).decode()}</Data></Plane0></ClassInstance>'
        f'<ClassInstance Type="TRTSEMData"><HV>{hv}</HV><Mag>1000</Mag>{dx}</ClassInstance>'
        '<SpectrumData0><ClassInstance Type="TRTSpectrum">'
        f'<ClassInstance Type="TRTSpectrumHeader"><ChannelCount>{nch}</ChannelCount><CalibAbs>{offset_keV}</CalibAbs>'
        f'<CalibLin>{gain_keV}</CalibLin></ClassInstance><Channels>{total}</Channels></ClassInstance></SpectrumData0>'
        '<ClassInstance Type="TRTContainerClass"><ChildClassInstances>'
        '<ClassInstance Type="TRTElementInformationList" Name="MapElements">'
        '<ClassInstance Type="TRTSpectrumRegionList" Name="Regions"><ChildClassInstances>'
        f'{regions}</ChildClassInstances></ClassInstance></ClassInstance></ChildClassInstances></ClassInstance>'
        '</ClassInstance></TRTHeaderedClass>'
    )
    return xml.encode("cp1252")


def _aacs(data: bytes, block: int = 4096) -> bytes:
    blocks = [data[i:i + block] for i in range(0, len(data), block)] or [b""]
    out = bytearray(struct.pack("<IIII", 0x53434141, block, 0, len(blocks)) + b"\x00" * (0x80 - 16))
    for b in blocks:
        z = zlib.compress(b)
        out += struct.pack("<I12x", len(z)) + z
    return bytes(out)


def sfs_bytes(files: dict[str, bytes], *, chunk: int = 512, compress: bool = False) -> bytes:
    usable = chunk - 32
    chunks: list[bytes] = [b""]  # chunk 0 holds the container header
    nexts: dict[int, int] = {}

    def put_chain(data: bytes) -> int:
        first = len(chunks)
        pieces = [data[i:i + usable] for i in range(0, len(data), usable)] or [b""]
        for j, p in enumerate(pieces):
            k = len(chunks)
            chunks.append(p)
            if j + 1 < len(pieces):
                nexts[k] = k + 1
        return first

    records = [(-1, 0, -1, True, "EDSDatabase")]
    for name, data in files.items():
        payload = _aacs(data) if compress else data
        pieces = [payload[i:i + usable] for i in range(0, len(payload), usable)] or [b""]
        idx = []
        for p in pieces:
            idx.append(len(chunks))
            chunks.append(p)
        table = put_chain(np.asarray(idx, dtype="<u4").tobytes())
        records.append((table, len(payload), 0, False, name))
    tree = b""
    for ptr, size, parent, is_dir, name in records:
        rec = struct.pack("<iQQQQIi", ptr, size, 0, 0, 0, 0, parent) + b"\x00" * 176 + bytes([is_dir]) + b"\x00" * 3
        rec += name.encode().ljust(256, b"\x00") + b"\x00" * 32
        assert len(rec) == 512
        tree += rec
    tree_at = put_chain(tree)
    buf = bytearray(len(chunks) * chunk + 0x118)
    for k, p in enumerate(chunks):
        if k == 0:
            continue
        buf[k * chunk + 0x118:k * chunk + 0x11C] = struct.pack("<I", nexts.get(k, 0))
        buf[k * chunk + 0x138:k * chunk + 0x138 + len(p)] = p
    buf[0:8] = b"AAMVHFSS"
    buf[0x124:0x12C] = struct.pack("<fI", 2.4, chunk)
    buf[0x140:0x14C] = struct.pack("<III", tree_at, len(records), len(chunks))
    return bytes(buf)


def write_bcf(path: Path, cube: np.ndarray, *, sem: np.ndarray | None = None, offset_keV: float = -0.1,
              gain_keV: float = 0.01, elements: dict[str, str] | None = None, dx_um: float | None = 0.05,
              flags: str = "mixed", chunk: int = 4096, compress: bool = False) -> Path:
    h, w, _ = cube.shape
    sem = np.arange(h * w, dtype=np.uint16).reshape(h, w) if sem is None else sem
    xml = header_xml(cube, sem=sem, offset_keV=offset_keV, gain_keV=gain_keV,
                     elements=elements or {"Al": "K", "Ni": "LA"}, dx_um=dx_um)
    path.write_bytes(sfs_bytes({"HeaderData": xml, "SpectrumData0": cube_bytes(cube, flags)}, chunk=chunk,
                               compress=compress))
    return path
