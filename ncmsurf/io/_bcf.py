"""Bruker Esprit .bcf hypermaps: the SFS container, the XML header and the packed spectrum cube (private).

A .bcf is an SFS ("single file system") container: a file of fixed-size
chunks holding a small tree of internal files. The layout (little-endian):

- ``AAMVHFSS`` at offset 0; at 0x124 a float32 version and the uint32 chunk
  size; at 0x140 the chunk index of the file tree, the number of tree items
  and the number of chunks.
- Chunk ``k`` starts at ``k * chunk_size + 0x118`` with a 32-byte header whose
  first uint32 is the next chunk of a chain; its payload (``chunk_size - 32``
  bytes) follows at ``k * chunk_size + 0x138``.
- The file tree is a chain of 512-byte records: the chunk of the file's
  pointer table (int32), the size (uint64), three FILETIME stamps, the
  permissions, the parent record (int32, -1 for the root), 176 reserved
  bytes, an is-directory flag, 3 pad bytes, the UTF-8 name (256 bytes) and 32
  reserved bytes.
- A file's pointer table (a chain of chunks) lists the uint32 chunk of each
  of its payloads, in order.
- Files may be zlib-compressed: they then start with ``AACS``, the
  uncompressed block size and the block count, and from offset 0x80 hold
  blocks of a 16-byte header (compressed size first) and zlib data.

Inside, ``EDSDatabase/HeaderData`` is XML (the SEM/BSE images as base64
planes, the map size, the pixel calibration in µm, the energy calibration of
the sum spectrum, the element list), and ``EDSDatabase/SpectrumData0`` the
spectrum cube: height and width (int32) at 0, pixel records from 0x1A0. Each
line is an int32 pixel count, then per pixel a 22-byte header (x index,
channels of the map, channels of the pixel, a reserved uint32, the packing
flag, a reserved uint16, the number of extra pulses, the data size) and its
data: flag 0 - one uint16 channel number per counted X-ray; flag 1 - the
same, 12-bit packed; flag > 1 - run-length "instructions" (a value width,
a channel count, an offset, then the values) followed by the extra pulses as
uint16 channel numbers. An instruction of value width w (1, 2, 4 or 8) holds
an offset of w bytes and ``count`` values of w/2 bytes each (w = 1: two 4-bit
values per byte, low nibble first); width 0 means ``count`` empty channels.
"""

from __future__ import annotations

import base64
import struct
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError

__all__ = ["BCFHeader", "read_bcf"]

_MAGIC = b"AAMVHFSS"


class _SFS:
    def __init__(self, path: Path, buf: bytes) -> None:
        self.path = path
        self.buf = buf
        if len(buf) < 0x14C or buf[:8] != _MAGIC:
            raise ReadError(path, None, "offset 0: not an SFS container (no 'AAMVHFSS' signature)")
        _version, self.chunk = struct.unpack_from("<fI", buf, 0x124)
        if self.chunk <= 32 or self.chunk > 1 << 26:
            raise ReadError(path, None, f"offset 0x128: implausible chunk size {self.chunk}")
        self.usable = self.chunk - 32
        self.tree_at, self.n_items, self.n_chunks = struct.unpack_from("<III", buf, 0x140)
        if self.n_items == 0 or self.n_items > 100000:
            raise ReadError(path, None, f"offset 0x144: implausible number of files {self.n_items}")
        self.files: dict[str, tuple[int, int]] = {}
        self._read_tree()

    def _payload(self, k: int, n: int | None = None) -> bytes:
        start = k * self.chunk + 0x138
        n = self.usable if n is None else n
        if k < 0 or start + n > len(self.buf):
            raise ReadError(self.path, None, f"offset {start}: chunk {k} lies beyond the end of the file "
                            f"({len(self.buf)} bytes)")
        return self.buf[start:start + n]

    def _next(self, k: int) -> int:
        at = k * self.chunk + 0x118
        if at + 4 > len(self.buf):
            raise ReadError(self.path, None, f"offset {at}: chunk {k} header beyond the end of the file")
        return int(struct.unpack_from("<I", self.buf, at)[0])

    def _chain(self, first: int, nbytes: int) -> bytes:
        parts = []
        k = first
        got = 0
        seen = 0
        while got < nbytes:
            take = min(self.usable, nbytes - got)
            parts.append(self._payload(k, take))
            got += take
            seen += 1
            if got < nbytes:
                k = self._next(k)
            if seen > len(self.buf) // self.chunk + 1:
                raise ReadError(self.path, None, f"offset {k * self.chunk + 0x118}: chunk chain loops")
        return b"".join(parts)

    def _read_tree(self) -> None:
        raw = self._chain(self.tree_at, 0x200 * self.n_items)
        items = []
        for i in range(self.n_items):
            rec = raw[i * 0x200:(i + 1) * 0x200]
            ptr, size = struct.unpack_from("<iQ", rec, 0)
            parent = struct.unpack_from("<i", rec, 0x28)[0]
            is_dir = rec[0xDC] != 0
            name = rec[0xE0:0x1E0].split(b"\x00", 1)[0].decode("utf-8", errors="replace")
            items.append((ptr, size, parent, is_dir, name))
        for i, (ptr, size, _parent, is_dir, _name) in enumerate(items):
            if is_dir:
                continue
            parts = []
            j = i
            depth = 0
            while j != -1:
                if not 0 <= j < len(items) or depth > 64:
                    raise ReadError(self.path, None, f"file-tree record {i}: broken parent chain")
                parts.append(items[j][4])
                j = items[j][2]
                depth += 1
            self.files["/".join(reversed(parts))] = (ptr, size)

    def read(self, name: str) -> bytes:
        if name not in self.files:
            raise ReadError(self.path, None, f"internal file {name!r} missing (the container holds "
                            f"{sorted(self.files)})")
        ptr, size = self.files[name]
        n = -(-size // self.usable) if size else 0
        table = np.frombuffer(self._chain(ptr, 4 * n), dtype="<u4") if n else np.zeros(0, "<u4")
        data = b"".join(self._payload(int(k), min(self.usable, size - i * self.usable))
                        for i, k in enumerate(table))
        if data[:4] == b"AACS":
            return self._inflate(name, data)
        return data

    def _inflate(self, name: str, data: bytes) -> bytes:
        if len(data) < 16:
            raise ReadError(self.path, None, f"{name}: truncated compression header")
        _m, _block, _x, nblocks = struct.unpack_from("<IIII", data, 0)
        out = []
        at = 0x80
        for b in range(nblocks):
            if at + 16 > len(data):
                raise ReadError(self.path, None, f"{name}: compressed block {b} header beyond the data")
            csize = struct.unpack_from("<I", data, at)[0]
            at += 16
            if at + csize > len(data):
                raise ReadError(self.path, None, f"{name}: compressed block {b} runs past the data")
            try:
                out.append(zlib.decompress(data[at:at + csize]))
            except zlib.error as exc:
                raise ReadError(self.path, None, f"{name}: compressed block {b} is corrupt ({exc})") from exc
            at += csize
        return b"".join(out)


@dataclass
class BCFHeader:
    """What the XML header of a .bcf says."""

    width: int = 0
    height: int = 0
    pixel_size_x: float | None = None  # nm
    pixel_size_y: float | None = None
    channels: int = 0
    offset_keV: float = 0.0
    gain_keV: float = 0.0
    voltage_kV: float | None = None
    images: dict[str, np.ndarray] = field(default_factory=dict)
    elements: dict[str, dict[str, Any]] = field(default_factory=dict)
    sum_spectrum: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)


def _text(node: ET.Element | None) -> str | None:
    return None if node is None or node.text is None else node.text.strip()


def _num(node: ET.Element | None) -> float | None:
    t = _text(node)
    if t is None:
        return None
    try:
        return float(t.replace(",", "."))
    except ValueError:
        return None


def _parse_header(path: Path, xml: bytes) -> BCFHeader:
    try:
        root = ET.fromstring(xml.rstrip(b"\x00"))
    except ET.ParseError as exc:
        raise ReadError(path, None, f"EDSDatabase/HeaderData: invalid XML ({exc})") from exc
    db = root.find("./ClassInstance[@Type='TRTSpectrumDatabase']")
    if db is None:
        raise ReadError(path, None, "EDSDatabase/HeaderData: no TRTSpectrumDatabase")
    h = BCFHeader()
    h.meta["name"] = db.get("Name", "")
    # pixel calibration (µm per pixel) and the map size
    img_nodes = [n for n in db.findall("./ClassInstance[@Type='TRTImageData']") if not n.get("Name")]
    for n in img_nodes:
        w, ht = _num(n.find("./Width")), _num(n.find("./Height"))
        if w and ht:
            h.width, h.height = int(w), int(ht)
        xc, yc = _num(n.find("./XCalib")), _num(n.find("./YCalib"))
        if xc:
            h.pixel_size_x = xc * 1000.0
        if yc:
            h.pixel_size_y = yc * 1000.0
        item = _text(n.find("./ItemSize"))
        planes = int(_num(n.find("./PlaneCount")) or 0)
        dtype = {"1": "<u1", "2": "<u2", "4": "<u4"}.get(item or "", "<u2")
        for p in range(planes):
            plane = n.find(f"./Plane{p}")
            data = _text(plane.find("./Data")) if plane is not None else None
            if not data or not h.width:
                continue
            try:
                raw = base64.b64decode(data)
            except ValueError as exc:
                raise ReadError(path, None, f"image plane {p}: invalid base64 data ({exc})") from exc
            arr = np.frombuffer(raw, dtype=dtype)
            if arr.size != h.width * h.height:
                raise ReadError(path, None, f"image plane {p}: {arr.size} values for {h.width} x {h.height}")
            desc = _text(plane.find("./Description")) if plane is not None else None
            h.images[desc or f"plane{p}"] = arr.reshape(h.height, h.width).copy()
    sem = db.find(".//ClassInstance[@Type='TRTSEMData']")
    if sem is not None:
        h.voltage_kV = _num(sem.find("./HV"))
        mag = _num(sem.find("./Mag"))
        if mag:
            h.meta["magnification"] = mag
        dx, dy = _num(sem.find("./DX")), _num(sem.find("./DY"))
        if dx:
            h.meta["sem_dx_um"] = dx
        if dy:
            h.meta["sem_dy_um"] = dy
    spec = db.find("./SpectrumData0/ClassInstance")
    if spec is not None:
        hdr = spec.find("./TRTHeaderedClass/ClassInstance[@Type='TRTSpectrumHardwareHeader']")
        sh = spec.find("./ClassInstance[@Type='TRTSpectrumHeader']")
        if sh is not None:
            h.channels = int(_num(sh.find("./ChannelCount")) or 0)
            h.offset_keV = float(_num(sh.find("./CalibAbs")) or 0.0)
            h.gain_keV = float(_num(sh.find("./CalibLin")) or 0.0)
        if hdr is not None:
            h.meta["real_time_ms"] = _num(hdr.find("./RealTime"))
            h.meta["live_time_ms"] = _num(hdr.find("./LifeTime"))
        chans = _text(spec.find("./Channels"))
        if chans:
            try:
                h.sum_spectrum = np.array([int(v) for v in chans.split(",") if v.strip()], dtype=np.int64)
            except ValueError as exc:
                raise ReadError(path, None, f"sum spectrum: non-integer channel value ({exc})") from exc
    regions = db.find("./ClassInstance[@Type='TRTContainerClass']/ChildClassInstances/"
                      "ClassInstance[@Type='TRTElementInformationList']/"
                      "ClassInstance[@Type='TRTSpectrumRegionList']/ChildClassInstances")
    if regions is not None:
        for r in regions.findall("./ClassInstance[@Type='TRTSpectrumRegion']"):
            el = _text(r.find("./XmlClassName")) or r.get("Name")
            if el:
                h.elements[el] = {"line": _text(r.find("./Line")) or "Ka", "energy": _num(r.find("./Energy"))}
    return h


def _unpack_12bit(data: bytes, n: int) -> np.ndarray:
    """The first n 12-bit values, packed two per three bytes of the byte-pair-swapped stream."""
    raw = data + b"\x00" * (len(data) % 2)
    flat = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 2)[:, ::-1].ravel()
    b = np.concatenate([flat, np.zeros(-flat.size % 3, dtype=np.uint8)]).reshape(-1, 3).astype(np.uint16)
    v = np.empty(b.shape[0] * 2, dtype=np.uint16)
    v[0::2] = (b[:, 0] << 4) | (b[:, 1] >> 4)
    v[1::2] = ((b[:, 1] & 0x0F) << 8) | b[:, 2]
    return v[:n]


def _parse_cube(path: Path, buf: bytes, channels: int) -> np.ndarray:
    where = "EDSDatabase/SpectrumData0"
    if len(buf) < 0x1A0:
        raise ReadError(path, None, f"{where}: {len(buf)} bytes, shorter than its header")
    height, width = struct.unpack_from("<ii", buf, 0)
    if not (0 < height <= 65536 and 0 < width <= 65536):
        raise ReadError(path, None, f"{where} offset 0: implausible map size {height} x {width}")
    # the counts are sparse: gather (voxel index, count) pairs, then fill a cube of the smallest dtype that holds them
    pulse_parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, Any]] = []
    flat0: list[tuple[int, int, int]] = []
    flat1: list[tuple[int, int, int, int]] = []
    dense_idx: list[np.ndarray] = []
    dense_val: list[np.ndarray] = []
    at = 0x1A0
    n = len(buf)
    unpack_pixel = struct.Struct("<IHHIHHHI").unpack_from
    unpack_i = struct.Struct("<i").unpack_from

    def need(k: int, what: str) -> None:
        if at + k > n:
            raise ReadError(path, None, f"{where} offset {at}: data end inside {what}")

    for line in range(height):
        need(4, f"the header of line {line}")
        npix = unpack_i(buf, at)[0]
        at += 4
        if not 0 <= npix <= width:
            raise ReadError(path, None, f"{where} offset {at - 4}: line {line} claims {npix} pixels "
                            f"(map width {width})")
        for _ in range(npix):
            need(22, f"a pixel header of line {line}")
            x, ch_map, ch_pix, _r, flag, _r2, n_pulses, size = unpack_pixel(buf, at)
            at += 22
            if x >= width:
                raise ReadError(path, None, f"{where} offset {at - 22}: pixel x = {x} beyond the width {width}")
            need(size, f"the data of pixel ({line}, {x})")
            start = at
            base = (line * width + x) * channels
            if flag == 0:
                flat0.append((at, size // 2, base))
                at += size
                continue
            if flag == 1:
                if 2 * size < 3 * n_pulses:
                    raise ReadError(path, None, f"{where} offset {at - 22}: {n_pulses} 12-bit pulses do not fit "
                                    f"in {size} bytes")
                flat1.append((at, size, n_pulses, base))
                at += size
                continue
            else:
                end = start + size - 4
                vals = np.zeros(max(ch_map, ch_pix, channels), dtype=np.int64)
                c = 0
                while at < end:
                    width_b, count = buf[at], buf[at + 1]
                    at += 2
                    if width_b == 0:
                        c += count
                        continue
                    if width_b not in (1, 2, 4, 8):
                        raise ReadError(path, None, f"{where} offset {at - 2}: unknown value width {width_b}")
                    gfmt = {1: "<B", 2: "<H", 4: "<I", 8: "<Q"}[width_b]  # the offset has width_b bytes
                    gsize = struct.calcsize(gfmt)
                    if at + gsize > end:
                        raise ReadError(path, None, f"{where} offset {at}: instruction runs past the pixel data")
                    gain = struct.unpack_from(gfmt, buf, at)[0]
                    at += gsize
                    if width_b == 1:
                        nbytes = (count + 1) // 2
                        if at + nbytes > end:
                            raise ReadError(path, None, f"{where} offset {at}: instruction runs past the pixel data")
                        raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=at)
                        v = np.empty(nbytes * 2, dtype=np.int64)
                        v[0::2] = raw & 0x0F
                        v[1::2] = raw >> 4
                        v = v[:count]
                    else:
                        dt = {2: "<u1", 4: "<u2", 8: "<u4"}[width_b]
                        nbytes = count * width_b // 2
                        if at + nbytes > end:
                            raise ReadError(path, None, f"{where} offset {at}: instruction runs past the pixel data")
                        v = np.frombuffer(buf, dtype=dt, count=count, offset=at).astype(np.int64)
                    if c + count > vals.size:
                        raise ReadError(path, None, f"{where} offset {at}: instruction runs past the channels")
                    vals[c:c + count] = v + gain
                    c += count
                    at += nbytes
                at = end
                need(4, f"the extra-pulse size of pixel ({line}, {x})")
                if n_pulses > 0:
                    add = struct.unpack_from("<I", buf, at)[0]
                    at += 4
                    need(add, f"the extra pulses of pixel ({line}, {x})")
                    if 2 * n_pulses > add:
                        raise ReadError(path, None, f"{where} offset {at - 4}: {n_pulses} extra pulses do not fit "
                                        f"in {add} bytes")
                    extra = np.frombuffer(buf, dtype="<u2", count=n_pulses, offset=at).astype(np.int64)
                    at += add
                    if extra.size and extra.max() >= vals.size:
                        raise ReadError(path, None, f"{where} offset {at - add}: pulse channel {int(extra.max())} "
                                        f"beyond {vals.size} channels")
                    np.add.at(vals, extra, 1)
                else:
                    at += 4
                if vals.size > channels and np.any(vals[channels:]):
                    raise ReadError(path, None, f"{where} offset {start}: pixel ({line}, {x}) has counts beyond "
                                    f"channel {channels}")
                nz = np.flatnonzero(vals[:channels])
                dense_idx.append(nz + base)
                dense_val.append(vals[nz])
    # 16-bit pulses: one channel number per count
    if flat0:
        data0 = b"".join(buf[o:o + 2 * k] for o, k, _b in flat0)
        p0 = np.frombuffer(data0, dtype="<u2").astype(np.int64)
        n0 = np.array([k for _o, k, _b in flat0], dtype=np.int64)
        pulse_parts.append((p0, np.repeat(np.array([b for _o, _k, b in flat0], dtype=np.int64), n0), n0, flat0))
    # 12-bit pulses: each pixel's bytes padded to a multiple of 6 keep the word and triple alignment
    if flat1:
        pads = [(-s1) % 6 for _o, s1, _n, _b in flat1]
        data1 = b"".join(buf[o:o + s1] + b"\x00" * pd for (o, s1, _n, _b), pd in zip(flat1, pads))
        per = np.array([(s1 + pd) // 3 * 2 for (_o, s1, _n, _b), pd in zip(flat1, pads)], dtype=np.int64)
        n1 = np.array([k for _o, _s, k, _b in flat1], dtype=np.int64)
        allv = _unpack_12bit(data1, int(per.sum())).astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(per)[:-1]])
        keep = np.repeat(starts - np.concatenate([[0], np.cumsum(n1)[:-1]]), n1) + np.arange(int(n1.sum()))
        p1 = allv[keep]
        pulse_parts.append((p1, np.repeat(np.array([b for _o, _s, _n, b in flat1], dtype=np.int64), n1), n1,
                            [(o, s1, b) for o, s1, _n, b in flat1]))
    idx_list = []
    for pulses, bases, counts, info in pulse_parts:
        if pulses.size and int(pulses.max()) >= channels:
            k = int(np.searchsorted(np.cumsum(counts), int(np.argmax(pulses >= channels)), side="right"))
            raise ReadError(path, None, f"{where} offset {info[k][0]}: a pixel has counts beyond channel {channels}")
        idx_list.append(pulses + bases)
    total = height * width * channels
    idx_p = np.concatenate(idx_list) if idx_list else np.zeros(0, np.int64)
    uniq, cnt = np.unique(idx_p, return_counts=True)
    if dense_idx:
        di = np.concatenate(dense_idx)
        dv = np.concatenate(dense_val)
        uniq = np.concatenate([uniq, di])
        cnt = np.concatenate([cnt, dv])
        order = np.argsort(uniq, kind="stable")
        uniq, cnt = uniq[order], cnt[order]
        starts = np.flatnonzero(np.r_[True, np.diff(uniq) != 0])
        cnt = np.add.reduceat(cnt, starts) if cnt.size else cnt
        uniq = uniq[starts] if uniq.size else uniq
    top = int(cnt.max()) if cnt.size else 0
    dtype = np.uint8 if top <= 0xFF else (np.uint16 if top <= 0xFFFF else np.uint32)
    cube = np.zeros(total, dtype=dtype)
    cube[uniq] = cnt.astype(dtype)
    return cube.reshape(height, width, channels)


def read_bcf(path: Path) -> tuple[BCFHeader, np.ndarray]:
    """The header and the (rows, columns, channels) count cube of a .bcf hypermap (smallest fitting uint dtype).

    Raises
    ------
    ReadError
        Naming the internal file and byte offset of the first problem.
    """
    buf = path.read_bytes()
    sfs = _SFS(path, buf)
    header = _parse_header(path, sfs.read("EDSDatabase/HeaderData"))
    data = sfs.read("EDSDatabase/SpectrumData0")
    channels = header.channels
    if channels <= 0:
        raise ReadError(path, None, "the header gives no channel count for the spectrum cube")
    cube = _parse_cube(path, data, channels)
    if header.height and header.width and cube.shape[:2] != (header.height, header.width):
        header.meta["map_shape_differs_from_image"] = [int(cube.shape[0]), int(cube.shape[1])]
    return header, cube
