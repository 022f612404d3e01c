"""Whole-file checks of binary containers whose libraries read past damage (TIFF, .npy).

A byte inserted into or deleted from the pixel data of a TIFF or a .npy file moves every later pixel,
and the libraries read the moved pixels without a word (neither format has a checksum). What the
formats do state is where every part of the file lies: a file whose size differs from the end of
its last part is refused, naming the offset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ncmsurf.core.errors import ReadError

__all__ = ["check_npy_size", "check_tiff_extent"]


_TIFF_TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8,
                   18: 8}
#: Tags whose values point at further structures this check does not follow (sub-IFDs, EXIF, GPS, ...).
_TIFF_POINTERS = {330, 34665, 34853, 40965}


def check_tiff_extent(path: Path, raw: bytes) -> None:
    """Refuse a TIFF shorter than its parts state, or with bytes after image data that ends the file.

    A TIFF is refused when it is shorter than its directories, tag values and strips/tiles state, or
    when its image data, the last part of the file, is followed by more than one (padding) byte.
    The IFD chain is walked from the header (classic and BigTIFF). Some writers leave unreferenced tag
    values after the last directory, so bytes after a directory are accepted; after the last strip, where
    a byte inserted into the pixels ends up, they are not. Files with sub-IFDs or EXIF/GPS directories are
    not checked (their extent is not followed here).
    """
    import struct

    size = len(raw)
    if size < 8 or raw[:2] not in (b"II", b"MM"):
        return  # not a TIFF: the library says why
    bo = "<" if raw[:2] == b"II" else ">"
    big = struct.unpack(bo + "H", raw[2:4])[0] == 43
    try:
        if big:
            ifd = struct.unpack(bo + "Q", raw[8:16])[0]
            end = 16
        else:
            ifd = struct.unpack(bo + "I", raw[4:8])[0]
            end = 8
        data_end = 0
        seen: set[int] = set()
        while ifd and ifd not in seen and len(seen) < 100_000:
            seen.add(ifd)
            if big:
                (n,) = struct.unpack_from(bo + "Q", raw, ifd)
                esize, head, cfmt, vfield = 20, 8, "Q", 8
            else:
                (n,) = struct.unpack_from(bo + "H", raw, ifd)
                esize, head, cfmt, vfield = 12, 2, "I", 4
            ifd_end = ifd + head + esize * n + vfield
            end = max(end, ifd_end)
            values: dict[int, list[int]] = {}
            for k in range(n):
                e = ifd + head + esize * k
                tag, typ = struct.unpack_from(bo + "HH", raw, e)
                (count,) = struct.unpack_from(bo + cfmt, raw, e + 4)
                nbytes = _TIFF_TYPE_SIZE.get(typ, 1) * count
                if tag in _TIFF_POINTERS:
                    return
                if nbytes > vfield:
                    (off,) = struct.unpack_from(bo + cfmt, raw, e + 4 + vfield)
                    end = max(end, off + nbytes)
                else:
                    off = e + 4 + vfield
                if tag in (273, 279, 324, 325) and typ in (3, 4, 16):
                    fmt = {3: "H", 4: "I", 16: "Q"}[typ]
                    values[tag] = list(struct.unpack_from(bo + fmt * count, raw, off))
            for o_tag, c_tag in ((273, 279), (324, 325)):
                for off, cnt in zip(values.get(o_tag, []), values.get(c_tag, []), strict=False):
                    end = max(end, off + cnt)
                    data_end = max(data_end, off + cnt)
            (ifd,) = struct.unpack_from(bo + cfmt, raw, ifd_end - vfield)
    except struct.error as exc:
        raise ReadError(path, None, f"offset {size}: a TIFF directory reaches past the end of the file "
                                    f"({exc})") from exc
    pad_ok = size == end + 1 and end % 2 == 1 and raw[-1] == 0  # one NUL to an even size
    if size < end or (size > end and data_end == end and not pad_ok):
        raise ReadError(path, None, f"offset {min(size, end)}: the TIFF's directories, tags and image data end "
                                    f"at byte {end} but the file has {size} bytes: bytes were added or lost")


def check_npy_size(path: Path, raw_head: bytes, size: int) -> None:
    """Refuse a .npy whose size is not its header plus the array's bytes."""
    import io

    fh = io.BytesIO(raw_head)
    try:
        major, _minor = np.lib.format.read_magic(fh)
        if major == 1:
            shape, _fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, _fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except (ValueError, OSError) as exc:
        raise ReadError(path, None, f"offset 0: not a readable .npy header: {exc}") from exc
    want = fh.tell() + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if size != want:
        raise ReadError(path, None, f"offset {min(size, want)}: the .npy header states {shape} {dtype} "
                                    f"({want} bytes with the header) but the file has {size} bytes")
