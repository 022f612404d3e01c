"""Differential fuzzing of every registered reader on mutated real files (reusable harness).

For each reader in :func:`ncmsurf.io.registry.readers` the seed files are the
shared real files (``../shared/data``) that its sniffing takes (a score above
0) and that it reads, plus synthetic files of the formats no shared file
covers. A mutation (byte flip, deleted/duplicated/inserted bytes, a cell
edit, a line-end change, a decimal-mark change, two rows swapped, a
truncation) is applied to a seed, the mutated file is read with the same
reader (``format=``), and the outcome is classified against the read of the
unmutated seed:

``error``
    an :class:`~ncmsurf.core.errors.NcmsurfError` (the reader refused it);
``exact``
    the same models with identical arrays;
``in_place``
    the same models and array lengths, values differing only in the rows the
    mutation touched (a changed number, two swapped rows), or only in an axis
    computed from header numbers (a changed start or increment); for a binary
    file whose size the mutation kept (bytes changed where they were, in a
    format without a checksum), values differing anywhere with the same models,
    names and shapes;
``warned``
    an optional column dropped, with an ncmsurf warning saying so;
``prefix``
    a truncation exactly at a line end (the file is a valid shorter file):
    every array a prefix of the original (a cut inside the last row counts
    as ``warned`` when the reader warned that the row cannot be told whole);
``silent``
    anything else: a shorter, shifted, split, re-signed or re-unitted result
    without a word — the defect the harness exists to find;
``crash``
    an exception that is not an ncmsurf error.

:func:`run` draws mutations from a seeded generator (``tests/fuzz/run_long.py``
runs it for the counts in ``docs/reliability.md``); the hypothesis test in
``tests/fuzz/test_differential.py`` draws them with hypothesis for CI.
"""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, NcmsurfWarning
from ncmsurf.io import registry

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()
MUTATIONS = ("flip", "delete", "duplicate", "insert", "cell", "line_end", "decimal", "swap", "truncate")
OUTCOMES = ("error", "exact", "in_place", "warned", "prefix", "silent", "crash")
#: Seeds larger than this are left out of the fuzzing (one read takes seconds).
MAX_SEED_BYTES = 4 << 20

_NUM = re.compile(rb"[-+]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][-+]?\d+)?")
_EOL = re.compile(rb"\r\n|\r|\n")


# ----------------------------------------------------------------------- seeds
@dataclass
class Seed:
    """One file a reader reads, and that read."""

    reader: str
    name: str
    data: bytes
    suffix: str
    models: list[Any] = field(repr=False)
    warnings: set[str] = field(default_factory=set, repr=False)

    @property
    def binary(self) -> bool:
        """A binary file (NULs or mostly non-text bytes): its "lines" are not rows."""
        from ncmsurf.io._table import looks_binary

        return (looks_binary(self.data[:4096]) or b"\x00" in self.data
                or self.data[:4] in (b"PK\x03\x04", b"II*\x00", b"MM\x00*"))


def _synthetic(tmp: Path) -> list[Path]:
    """Files of the formats no shared file covers (written by ncmsurf's own writers or to the format)."""
    from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum
    from ncmsurf.io.biologic_eis import write_mpt
    from ncmsurf.io.ivium import write_idf
    from ncmsurf.io.palmsens import write_pssession

    s = synthetic_spectrum("ncm", NCM_TRUTH, seed=11)
    out = [write_idf([s], tmp / "syn.idf"), write_pssession([s], tmp / "syn.pssession"),
           write_mpt([s, synthetic_spectrum("ncm", NCM_TRUTH, seed=12)], tmp / "syn_loops.mpt")]
    xy = tmp / "syn_decimal_comma.xy"
    rows = "".join(f"  {870 - 0.05 * i:.2f}  {1000 + 37 * i % 91:.1f}\n".replace(".", ",") for i in range(60))
    xy.write_text("# Created by:        SpecsLab Prodigy, Version 4.54\n# Region:            Ni2p\n"
                  "# Excitation Energy: 1486,61\n# Values/Curve:      60\n# ColumnLabels: energy counts\n" + rows,
                  encoding="utf-8")
    out.append(xy)
    hdr = tmp / "syn_units.csv"
    ex = SHARED / "eis" / "exampleData.csv"
    if ex.exists():
        hdr.write_bytes(b"freq (kHz),Z' (kOhm),-Z'' (kOhm)\n" + ex.read_bytes())
        out.append(hdr)
    ke = tmp / "syn_kinetic.txt"
    ke.write_text("Kinetic Energy (eV)\tCounts\tBackground\n" + "".join(
        f"{600 + 0.1 * i:.1f}\t{1000 + (i * 37) % 101}\t{900 + i}\n" for i in range(120)), encoding="utf-8")
    out.append(ke)
    sims = tmp / "syn_profile.txt"
    sims.write_text("Sputter time (s)\tAlO-\tNiF3-\tLiF2-\n" + "".join(
        f"{i * 0.5:.1f}\t{1000 - 9 * i}\t{5 + 3 * i}\t{40 + i % 7}\n" for i in range(80)), encoding="utf-8")
    out.append(sims)
    from ncmsurf.datasets.cycling import synthetic_record
    from ncmsurf.io.biologic_cycling import write_mpt as write_mpt_cycling
    from ncmsurf.io.cyclers import write_arbin_csv
    from ncmsurf.io.eds_formats import write_npz
    from ncmsurf.io.sims_formats import write_surfacelab_txt

    rec = synthetic_record(n_cycles=2, noise=0.0)
    out.append(write_arbin_csv(rec, tmp / "syn_arbin.csv", digits=10))
    out.append(write_mpt_cycling(rec, tmp / "syn_gcpl.mpt"))
    out.append(write_surfacelab_txt(ns.DepthProfile(np.arange(40.0), {"AlO-": 100.0 + np.arange(40.0),
                                                                       "NiF3-": 5.0 + np.arange(40.0) ** 2}),
                                    tmp / "syn_surfacelab.txt"))
    out.append(write_npz(ns.ElementMap({"Al": np.arange(24.0).reshape(4, 6), "Ni": np.ones((4, 6))}),
                         tmp / "syn_map.npz"))
    eds = tmp / "syn_map.csv"
    eds.write_text("x,y,Al,Ni\n" + "".join(f"{x},{y},{(x * 7 + y) % 11},{(x + 3 * y) % 13}\n"
                                          for y in range(6) for x in range(8)), encoding="utf-8")
    out.append(eds)
    out += _more_synthetic(tmp)
    return out


def _jeol_item(name: str, vtype: int, value: bytes) -> bytes:
    import struct

    nb = name.encode() + b"\x00"
    return b"\x01" + struct.pack("<i", len(nb)) + nb + struct.pack("<ii", vtype, len(value)) + value + b"\xff"


def _jeol_group(name: str, children: bytes) -> bytes:
    import struct

    nb = name.encode() + b"\x00"
    return b"\x01" + struct.pack("<i", len(nb)) + nb + struct.pack("<ii", 0, 0) + children + b"\xff"


def _jeol_map(path: Path, img: np.ndarray) -> Path:
    """A JEOL Analysis Station .map to the layout ``ncmsurf.io.eds_formats`` documents."""
    import struct

    h, w = img.shape
    tree = _jeol_group("Image", _jeol_item("Title", 12, b"Al K\x00") + _jeol_item("Size", 3, struct.pack("<ii", w, h))
                       + _jeol_item("Bits", 2, img.astype("<u2").tobytes())
                       + _jeol_item("Created", 5, struct.pack("<d", 45000.5)))
    tree += _jeol_group("Instrument", _jeol_item("ScanSize", 5, struct.pack("<d", 125.0))
                        + _jeol_item("Mag", 3, struct.pack("<i", 5000))
                        + _jeol_item("AccV", 5, struct.pack("<d", 15.0)))
    tree += b"\xff"
    head = struct.pack("<I", 52) + b"EDS MAP".ljust(32, b"\x00") + struct.pack("<III", 48, 0, 48)
    path.write_bytes(head + b"\x00" * (48 + 12 - len(head)) + tree)
    return path


def _small_nda(tmp: Path, n_records: int = 2000) -> Path | None:
    """The shared BTS 9.1 .nda cut to its first records, with its header and footer (a valid smaller file)."""
    src = SHARED / "cycling" / "TestFile.nda"
    if not src.exists():
        return None
    raw = src.read_bytes()
    rl = raw.find(raw[1024:1026], 1026) - 1024
    k = 1024
    while k < len(raw) and raw[k] == 0x55:
        k += rl
    q = tmp / "syn_head_TestFile.nda"
    q.write_bytes(raw[:1024 + n_records * rl] + raw[k:])
    return q


def _more_synthetic(tmp: Path) -> list[Path]:
    """Seeds of the readers no shared file under the CI size limit covers: files written by ncmsurf's writers,
    by the test builders of the formats' documented layouts, or cut from a shared file to a valid head."""
    import sys
    import zipfile

    here = Path(__file__).resolve().parents[1]
    for d in (here / "xps", here / "eds"):
        if str(d) not in sys.path:
            sys.path.insert(0, str(d))
    from _xps_builders import ibw_bytes, phi_bytes
    from bcf_maker import write_bcf

    from ncmsurf.cycling import to_bdf
    from ncmsurf.datasets.cycling import synthetic_record
    from ncmsurf.datasets.tem import write_dm, write_emd, write_tiff
    from ncmsurf.eds._spectrum import EDSSpectrum, write_msa
    from ncmsurf.io.specs_xml import write_specs_xml_example

    out: list[Path] = []
    rec = synthetic_record(n_cycles=2, points_per_cycle=60, seed=4, noise=0.0)

    def g(x: float) -> str:
        return repr(float(x))

    # cyclers (text formats described in ncmsurf.io.cyclers)
    out.append(to_bdf(rec, tmp / "syn_bdf.csv"))
    rows = ["~Resultfile from BaSyTec Battery Test System", "~Date and Time of Data Converting: 01.01.2024",
            "~Time[h]\tDataSet\tDate\tt-Step[h]\tLine\tCommand\tU[V]\tI[A]\tAh[Ah]\tCyc-Count\tState"]
    rows += [f"{g(rec.time[k] / 3600)}\t{k + 1}\t01.01.2024\t0\t{3 if rec.current[k] > 0 else 5}\tCharge\t"
             f"{g(rec.voltage[k])}\t{g(rec.current[k])}\t0\t1\t0" for k in range(len(rec))]
    (tmp / "syn_basytec.txt").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out.append(tmp / "syn_basytec.txt")
    rows = ["[Summary]", "Protocol: formation", "Cell: A1", "[End Summary]", "[Data]",
            "Date and Time,Cycle Number,Step Type,Run Time (h),Step Time (h),Current (A),Potential (V),"
            "Capacity (Ah),Temperature (°C),Energy (Wh)"]
    rows += [f"2024-01-01 00:00:00,1,{1 if rec.current[k] > 0 else 2},{g(rec.time[k] / 3600)},0,"
             f"{g(rec.current[k])},{g(rec.voltage[k])},0,25.0,0" for k in range(len(rec))]
    (tmp / "syn_novonix.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out.append(tmp / "syn_novonix.csv")
    rows = ["Record ID,Cycle Index,Step Index,Step Type,Total Time,Current(mA),Voltage(V),Capacity(mAh)"]
    t = 0
    for k in range(len(rec)):
        t += 10
        kind = "CC Chg" if rec.current[k] > 0 else ("CC DChg" if rec.current[k] < 0 else "Rest")
        rows.append(f"{k + 1},1,{1 if rec.current[k] > 0 else 2},{kind},{t // 3600:02d}:{t // 60 % 60:02d}:"
                    f"{t % 60:02d},{abs(float(rec.current[k])) * 1e3:.4f},{float(rec.voltage[k]):.4f},0")
    (tmp / "syn_neware.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    out.append(tmp / "syn_neware.csv")
    try:
        import openpyxl

        wb = openpyxl.Workbook()
        info = wb.active
        info.title = "Global_Info"
        info.append(["Test Name", "cell"])
        head = ["Data Point", "Date Time", "Test Time (s)", "Cycle Index", "Step Index", "Current (A)", "Voltage (V)"]
        half = len(rec) // 2
        for sheet, (a, b) in enumerate(((0, half), (half, len(rec)))):
            ws = wb.create_sheet(f"Channel_1_{sheet + 1}")
            ws.append(head)
            for k in range(a, b):
                ws.append([k + 1, "2024-01-01 00:00:00", float(rec.time[k]), 1, 1, float(rec.current[k]),
                           float(rec.voltage[k])])
        wb.save(tmp / "syn_arbin.xlsx")
        out.append(tmp / "syn_arbin.xlsx")
    except ImportError:
        pass
    nda = _small_nda(tmp)
    if nda is not None:
        out.append(nda)
    # XPS
    (tmp / "syn.spe").write_bytes(phi_bytes([("O1s", 534.0, -0.5, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 5.5, 4.5]])]))
    (tmp / "syn.pro").write_bytes(phi_bytes([("C1s", 290.0, -0.5, [[1.0 + c, 2.0, 3.0, 4.0] for c in range(3)])],
                                            profile=True, depth_layers=[(1, 1.0, 2)]))
    note = "Region Name=Ag3d\rExcitation Energy=700\rEnergy Scale=Kinetic\rPass Energy=50\rLens Mode=Transmission\r"
    (tmp / "syn.ibw").write_bytes(ibw_bytes(np.linspace(1, 9, 40), start=318.0, step=0.05, note=note))
    out += [tmp / "syn.spe", tmp / "syn.pro", tmp / "syn.ibw", write_specs_xml_example(tmp / "syn_specs.xml")]
    # EDS
    csvm = tmp / "syn_matrix_Al.csv"
    csvm.write_text("# element: Al\n# pixel size (nm): 20\n" + "".join(
        ",".join(str((x * 7 + y * 3) % 17) for x in range(8)) + "\n" for y in range(6)), encoding="utf-8")
    out.append(csvm)
    np.save(tmp / "syn_map_Ni.npy", (np.arange(48.0).reshape(6, 8) * 3) % 11)
    out.append(tmp / "syn_map_Ni.npy")
    with zipfile.ZipFile(tmp / "syn_maps.zip", "w") as zf:
        for el, k in (("Al", 3), ("Ni", 5)):
            zf.writestr(f"{el}.csv", "".join(",".join(str((x * k + y) % 13) for x in range(6)) + "\n"
                                             for y in range(5)))
    out.append(tmp / "syn_maps.zip")
    try:
        import tifffile

        tifffile.imwrite(tmp / "syn_map_Al.tif", ((np.arange(48).reshape(6, 8) * 5) % 23).astype(np.uint16))
        out.append(tmp / "syn_map_Al.tif")
    except ImportError:
        pass
    e = 10.0 * np.arange(1, 201)
    out.append(write_msa(EDSSpectrum(e, 50.0 + (np.arange(200) * 37) % 101), tmp / "syn_spectrum.msa"))
    cube = (np.arange(4 * 5 * 256).reshape(4, 5, 256) * 7) % 5
    out.append(write_bcf(tmp / "syn.bcf", cube.astype(np.uint16), gain_keV=0.04))
    out.append(_jeol_map(tmp / "syn_Al.map", (np.arange(20, dtype=np.uint16).reshape(4, 5) * 3) % 7))
    # TEM
    img = ((np.arange(24 * 32).reshape(24, 32) * 13) % 251).astype(np.float32)
    out += [write_dm(tmp / "syn.dm3", img, pixel_size=0.05, version=3), write_dm(tmp / "syn.dm4", img,
                                                                                   pixel_size=0.05, version=4),
            write_emd(tmp / "syn.emd", img, pixel_size=0.05), write_tiff(tmp / "syn_tem.tif", img, pixel_size=0.05)]
    return out


def _shrunk(p: Path, max_bytes: int, tmp: Path) -> Path | None:
    """A large text file cut at its last line end before ``max_bytes`` (still a valid file of its format)."""
    with open(p, "rb") as fh:
        head = fh.read(max_bytes)
    if b"\x00" in head[:4096]:
        return None  # binary: a cut would not be a valid file
    k = max(head.rfind(b"\n"), head.rfind(b"\r"))
    if k <= 0:
        return None
    q = tmp / f"head_{p.name}"
    q.write_bytes(head[:k + 1])
    return q


def _read_msa(path: Path) -> list[Any]:
    from ncmsurf.eds import read_msa

    return [read_msa(path)]


#: Readers that are not in the registry (the registry's ``eds-emsa`` entry only redirects spectra to them),
#: fuzzed the same way: name -> (read function, file suffixes it takes).
EXTRA_READERS: dict[str, tuple[Callable[[Path], list[Any]], tuple[str, ...]]] = {
    "eds-msa-spectrum": (_read_msa, (".msa", ".emsa")),
}


def _read(reader: str, path: Path) -> tuple[list[Any], set[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        models = EXTRA_READERS[reader][0](path) if reader in EXTRA_READERS else ns.read(path, format=reader)
    msgs = {f"{type(w.message).__name__}: {str(w.message).replace(str(path), '<file>')}" for w in caught
            if issubclass(w.category, NcmsurfWarning)}
    return models, msgs


def seeds(*, shared: Path = SHARED, include_synthetic: bool = True, max_bytes: int = MAX_SEED_BYTES,
          readers_only: Sequence[str] | None = None) -> dict[str, list[Seed]]:
    """Reader name → its seed files (those its sniffing takes and it reads without error)."""
    files: list[Path] = []
    if shared.is_dir():
        files += [p for p in sorted(shared.rglob("*")) if p.is_file() and "LICENSES" not in p.parts
                  and p.name not in ("README.md", "SHA256SUMS")]
    tmp = Path(tempfile.mkdtemp(prefix="ncmsurf-fuzz-seeds-"))
    if include_synthetic:
        files += _synthetic(tmp)
    out: dict[str, list[Seed]] = {r.name: [] for r in registry.readers()}
    out.update({name: [] for name in EXTRA_READERS})
    for p in files:
        if p.stat().st_size > max_bytes:
            p = _shrunk(p, max_bytes, tmp)
            if p is None:
                continue
        try:
            scores = registry.sniff_scores(p)
        except NcmsurfError:
            continue
        # every reader whose sniffing takes the file (not only the best) and that reads it as it is
        names = [r.name for _score, r in scores] + [n for n, (_f, sfx) in EXTRA_READERS.items()
                                                     if p.suffix.lower() in sfx]
        for reader in names:
            if readers_only is not None and reader not in readers_only:
                continue
            try:
                models, msgs = _read(reader, p)
            except NcmsurfError:
                continue  # files the reader refuses as they are (malformed on purpose, other formats)
            out[reader].append(Seed(reader, p.name, p.read_bytes(), p.suffix, models, msgs))
    return {k: v for k, v in out.items() if v}


# ------------------------------------------------------------------- mutations
@dataclass(frozen=True)
class Mutation:
    """One change of a file's bytes and the rows it may change in place."""

    kind: str
    data: bytes
    touched_lines: tuple[int, ...]  # 0-based lines of the original whose content changed
    clean_cut: bool = False  # a truncation exactly at a line end


def _line_of(data: bytes, pos: int) -> int:
    return sum(1 for _ in _EOL.finditer(data, 0, max(pos, 0)))


def mutate(data: bytes, kind: str, u: Callable[[], float]) -> Mutation:
    """Apply mutation ``kind`` to ``data``; ``u()`` gives uniform numbers in [0, 1) for the choices."""
    n = len(data)

    def pos() -> int:
        return min(int(u() * n), n - 1)

    if kind == "flip":
        i = pos()
        b = bytearray(data)
        b[i] ^= 1 << int(u() * 8)
        return Mutation(kind, bytes(b), (_line_of(data, i),))
    if kind == "delete":
        i, k = pos(), 1 + int(u() * 3)
        return Mutation(kind, data[:i] + data[i + k:], tuple({_line_of(data, i), _line_of(data, i + k)}))
    if kind == "duplicate":
        i, k = pos(), 1 + int(u() * 8)
        return Mutation(kind, data[:i + k] + data[i:i + k] + data[i + k:], (_line_of(data, i),))
    if kind == "insert":
        i = pos()
        c = b"0123456789.,\t -e+x\n\r\x00\x85\x0c\""[int(u() * 23)]
        return Mutation(kind, data[:i] + bytes([c]) + data[i:], (_line_of(data, i),))
    if kind == "cell":
        toks = list(_NUM.finditer(data))
        if not toks:
            return mutate(data, "flip", u)
        m = toks[int(u() * len(toks))]
        tok = m.group()
        choice = int(u() * 5)
        if choice == 0:  # another number, same format: one digit changed
            digits = [j for j, ch in enumerate(tok) if 48 <= ch <= 57]
            j = digits[int(u() * len(digits))]
            new = tok[:j] + bytes([48 + (tok[j] - 48 + 1 + int(u() * 8)) % 10]) + tok[j + 1:]
        else:
            new = (b"x", b"", b"nan", tok + b"e")[choice - 1]
        return Mutation(kind, data[:m.start()] + new + data[m.end():], (_line_of(data, m.start()),))
    if kind == "line_end":
        ends = list(_EOL.finditer(data))
        if not ends:
            return mutate(data, "flip", u)
        m = ends[int(u() * len(ends))]
        rep = (b"\n", b"\r\n", b"\r", b"", m.group() * 2)[int(u() * 5)]
        line = _line_of(data, m.start())
        return Mutation(kind, data[:m.start()] + rep + data[m.end():], (line, line + 1))
    if kind == "decimal":
        marks = [m.start() for m in re.finditer(rb"(?<=\d)[.,](?=\d)", data)]
        if not marks:
            return mutate(data, "flip", u)
        i = marks[int(u() * len(marks))]
        new = b"," if data[i:i + 1] == b"." else b"."
        return Mutation(kind, data[:i] + new + data[i + 1:], (_line_of(data, i),))
    if kind == "swap":
        ends = [m.end() for m in _EOL.finditer(data)]
        if len(ends) < 3:
            return mutate(data, "flip", u)
        k = int(u() * (len(ends) - 2))
        a0, a1, b1 = ends[k], ends[k + 1], ends[k + 2]
        return Mutation(kind, data[:a0] + data[a1:b1] + data[a0:a1] + data[b1:], (k + 1, k + 2))
    if kind == "truncate":
        i = int(u() * n)
        # at a line end: what is left holds whole lines only (a file without a row count cannot tell)
        clean = i == 0 or data[i - 1:i] in (b"\n", b"\r") or data[i:i + 1] in (b"\n", b"\r")
        return Mutation(kind, data[:i], (_line_of(data, i),), clean_cut=clean)
    raise ValueError(f"unknown mutation {kind!r}")


# ------------------------------------------------------------------ comparison
def canonical(m: Any) -> tuple[str, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(model type, primary arrays, optional arrays) of a model, every array 1-D over its rows."""
    t = type(m).__name__
    prim: dict[str, np.ndarray] = {}
    opt: dict[str, np.ndarray] = {}
    if isinstance(m, ns.XPSSpectrum):
        prim = {"be": m.binding_energy, "i": m.intensity}
        if m.transmission is not None:
            prim["t"] = m.transmission
    elif isinstance(m, ns.ImpedanceSpectrum):
        prim = {"f": m.frequency, "z": m.impedance}
    elif isinstance(m, ns.CyclingData):
        prim = {"t": m.time, "v": m.voltage, "i": m.current}
        for k in ("cycle", "step"):
            if getattr(m, k) is not None:
                prim[k] = np.asarray(getattr(m, k))
        opt = {f"col:{k}": np.asarray(v) for k, v in m.columns.items()}
    elif isinstance(m, ns.DepthProfile):
        prim = {"t": m.sputter_time, **{f"frag:{k}": np.asarray(v) for k, v in m.intensities.items()}}
    elif isinstance(m, ns.ElementMap):
        prim = {f"map:{k}": np.asarray(v) for k, v in m.maps.items()}  # a file row is a map row (CSV matrix)
    elif hasattr(m, "energy") and hasattr(m, "counts"):  # EDS spectra
        prim = {"e": np.asarray(m.energy), "c": np.asarray(m.counts)}
    else:
        ds = m.to_dataset() if hasattr(m, "to_dataset") else m.data
        prim = {str(k): np.asarray(v).ravel() for k, v in getattr(ds, "data_vars", {}).items()}
    extra = m.meta.get("extra_columns") if hasattr(m, "meta") else None
    if isinstance(extra, dict):
        opt.update({f"extra:{k}": np.asarray(v) for k, v in extra.items()})
    if hasattr(m, "units") and isinstance(getattr(m, "units", None), str):
        prim["units:" + m.units] = np.zeros(0)
    return t, prim, opt


def _rows_differ(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if a.size == 0 and b.size == 0:
        return np.zeros(0, dtype=np.int64)
    a2 = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    b2 = b.reshape(b.shape[0], -1) if b.ndim else b.reshape(1, 1)
    same = (a2 == b2) | (_isnan(a2) & _isnan(b2))
    return np.flatnonzero(~same.all(axis=1))


def _isnan(x: np.ndarray) -> np.ndarray:
    return np.isnan(x) if x.dtype.kind in "fc" else np.zeros(x.shape, dtype=bool)


def _scalars(m: Any) -> tuple[Any, ...]:
    """Model-level numbers (one value each: a changed header number is a change in place)."""
    return tuple(getattr(m, k, None) for k in ("excitation_energy", "area", "mass"))


#: Arrays that formats compute from header numbers (a start and an increment) rather than store per row.
_AXES = ("be", "e")


def _affine_change(x: np.ndarray, y: np.ndarray) -> bool:
    """True when ``y - x`` is linear in the row index (a changed start or increment of a computed axis)."""
    if x.dtype.kind not in "fc" or x.size < 3:
        return False
    d = y.astype(float) - x.astype(float)
    step = np.diff(d)
    scale = max(float(np.max(np.abs(x))), 1.0)
    return bool(np.all(np.isfinite(d)) and np.allclose(step, step[0], rtol=1e-6, atol=1e-9 * scale))


def _relabelled(x: dict[str, np.ndarray], y: dict[str, np.ndarray]) -> dict[str, np.ndarray] | None:
    """``y`` with ``x``'s names when only names differ (a header label changed in place), else None."""
    if len(x) != len(y) or set(x) == set(y):
        return None
    renamed = dict(zip(x, y.values(), strict=True))
    if sum(1 for a, b in zip(x, y, strict=True) if a != b) > 1:
        return None
    return renamed


def classify(seed: Seed, mut: Mutation, models: list[Any] | None, msgs: set[str]) -> str:
    """The outcome of one mutated read (see the module docstring)."""
    if models is None:
        return "error"
    a = [canonical(m) for m in seed.models]
    b = [canonical(m) for m in models]
    new_warning = bool(msgs - seed.warnings)
    if len(a) != len(b) or any(x[0] != y[0] for x, y in zip(a, b, strict=False)):
        return _prefix_or_silent(a, b, mut, new_warning)
    budget = max(len(mut.touched_lines), 1)
    # bytes of a binary file without a checksum changed where they were: only values can differ (a shift or
    # a changed structure still shows as other shapes, names or models)
    same_size_binary = seed.binary and len(mut.data) == len(seed.data)
    changed: list[frozenset[int]] = []
    dropped = False
    scalar_changes = sum(1 for m0, m1 in zip(seed.models, models, strict=True) if _scalars(m0) != _scalars(m1))
    for (_, pa, oa), (_, pb, ob) in zip(a, b, strict=True):
        if set(pa) != set(pb):
            pb2 = _relabelled(pa, pb)
            if pb2 is None:
                return _prefix_or_silent(a, b, mut, new_warning)
            pb = pb2
            scalar_changes += 1
        if set(oa) != set(ob):
            ob2 = _relabelled(oa, ob)
            if ob2 is not None:
                ob = ob2
                scalar_changes += 1
            elif set(ob) < set(oa) and new_warning:
                dropped = True
            else:
                return _prefix_or_silent(a, b, mut, new_warning)
        rows: set[int] = set()
        for k in pa:
            if pa[k].shape != pb[k].shape:
                return _prefix_or_silent(a, b, mut, new_warning)
            d = _rows_differ(pa[k], pb[k])
            if d.size > budget and k in _AXES and _affine_change(pa[k], pb[k]):
                # a header number of a computed axis (start, increment) changed in place; a changed excitation
                # energy moves a binding-energy axis by itself (one number, counted once)
                hv_moved = any(getattr(m0, "excitation_energy", None) != getattr(m1, "excitation_energy", None)
                               for m0, m1 in zip(seed.models, models, strict=True))
                scalar_changes += 0 if hv_moved else 1
                continue
            rows |= set(d.tolist())
        for k in set(oa) & set(ob):
            if oa[k].shape != ob[k].shape:
                return _prefix_or_silent(a, b, mut, new_warning)
            rows |= set(_rows_differ(oa[k], ob[k]).tolist())
        if len(rows) > budget and not same_size_binary:
            return _prefix_or_silent(a, b, mut, new_warning)
        if rows:
            changed.append(frozenset(rows))
    if same_size_binary and (changed or scalar_changes) and not dropped:
        return "in_place"
    # one file row may feed several models (raw and drift-corrected spectra): the same rows, then
    if len(set(changed)) > 1 or (changed and scalar_changes):
        return "silent"
    if scalar_changes > 1:
        return "silent"
    if dropped:
        return "warned"
    return "in_place" if changed or scalar_changes else "exact"


def _prefix_or_silent(a: list[Any], b: list[Any], mut: Mutation, new_warning: bool = False) -> str:
    """A truncation: ``prefix`` when the result is what the shorter file holds, ``warned`` when its last row may
    be cut but the reader said so, else ``silent``."""
    if mut.kind != "truncate" or len(b) > len(a) or not b:
        return "silent"
    if not mut.clean_cut and not new_warning:
        return "silent"
    slack = 0 if mut.clean_cut else 1  # the last row of a cut file may hold a cut number (said in a warning)

    def is_prefix(x: np.ndarray, y: np.ndarray) -> bool:
        x, y = x.reshape(-1), y.reshape(-1)  # a map's pixels in file order (rows of a long table or a matrix)
        if y.shape[0] > x.shape[0]:
            return False
        keep = y.shape[0] - slack
        return keep <= 0 or np.array_equal(x[:keep], y[:keep], equal_nan=x.dtype.kind in "fc")

    # models read one after the other (loops, blocks): all but the last whole, the last a prefix
    sequential = True
    for k, ((ta, pa, _oa), (tb, pb, _ob)) in enumerate(zip(a, b, strict=False)):
        if ta != tb or set(pa) != set(pb):
            return "silent"
        last = k == len(b) - 1
        for name in pa:
            x, y = pa[name], pb[name]
            if not is_prefix(x, y) or (not last and (y.shape != x.shape or not np.array_equal(
                    x, y, equal_nan=x.dtype.kind in "fc"))):
                sequential = False
    # models over the same rows (raw and drift-corrected spectra): every one the same prefix
    parallel = len(a) == len(b) and len({y.shape[0] for _t, pb, _o in b for y in pb.values()}) == 1 and all(
        is_prefix(x, pb[name]) for (_t, pa, _o), (_u, pb, _p) in zip(a, b, strict=True) for name, x in pa.items())
    if sequential or parallel:
        return "prefix" if mut.clean_cut else "warned"
    return "silent"


# ------------------------------------------------------------------------ run
@dataclass
class Finding:
    """A mutated input that was not refused and not read correctly."""

    reader: str
    seed: str
    kind: str
    outcome: str
    detail: str
    data: bytes = field(repr=False)


def read_mutated(seed: Seed, mut: Mutation, workdir: Path) -> tuple[list[Any] | None, set[str], str]:
    """Read the mutated bytes with the seed's reader: (models or None, warnings, error text)."""
    p = workdir / seed.name  # the seed's own name: readers may take the element or sample from it
    p.write_bytes(mut.data)
    try:
        models, msgs = _read(seed.reader, p)
    except NcmsurfError as exc:
        return None, set(), str(exc)
    return models, msgs, ""


def run(n_inputs: int, *, rng_seed: int = 0, readers_only: Sequence[str] | None = None,
        all_seeds: dict[str, list[Seed]] | None = None, time_limit: float | None = None,
        progress: Callable[[int], None] | None = None) -> tuple[dict[str, Counter[str]], list[Finding]]:
    """Fuzz ``n_inputs`` mutated files spread evenly over the readers; counts per reader and the findings."""
    rng = np.random.default_rng(rng_seed)
    pool = all_seeds if all_seeds is not None else seeds(readers_only=readers_only)
    names = sorted(pool)
    counts: dict[str, Counter[str]] = {r: Counter() for r in names}
    findings: list[Finding] = []
    workdir = Path(tempfile.mkdtemp(prefix="ncmsurf-fuzz-"))
    start = time.monotonic()
    for i in range(n_inputs):
        if time_limit is not None and time.monotonic() - start > time_limit:
            break
        reader = names[i % len(names)]
        seed = pool[reader][int(rng.integers(len(pool[reader])))]
        kind = MUTATIONS[int(rng.integers(len(MUTATIONS)))]
        mut = mutate(seed.data, kind, lambda: float(rng.random()))
        outcome, detail = check(seed, mut, workdir)
        counts[reader][outcome] += 1
        counts[reader]["inputs"] += 1
        if outcome in ("silent", "crash"):
            findings.append(Finding(reader, seed.name, kind, outcome, detail, mut.data))
        if progress is not None:
            progress(i)
    return counts, findings


def check(seed: Seed, mut: Mutation, workdir: Path) -> tuple[str, str]:
    """Outcome of one mutated input and a short description."""
    try:
        models, msgs, err = read_mutated(seed, mut, workdir)
    except Exception as exc:  # the harness reports any non-ncmsurf exception as a crash
        return "crash", f"{type(exc).__name__}: {exc}"
    if models is None:
        return "error", err
    out = classify(seed, mut, models, msgs)
    return out, "" if out != "silent" else describe(seed, models)


def describe(seed: Seed, models: list[Any]) -> str:
    """What differs between the seed's read and a silent mutated read (for the report)."""
    a = [canonical(m) for m in seed.models]
    b = [canonical(m) for m in models]
    if len(a) != len(b):
        return f"{len(a)} models -> {len(b)}"
    parts = []
    for k, ((_, pa, oa), (_, pb, ob)) in enumerate(zip(a, b, strict=True)):
        for name in sorted(set(pa) | set(pb) | set(oa) | set(ob)):
            x = pa.get(name, oa.get(name))
            y = pb.get(name, ob.get(name))
            if x is None or y is None:
                parts.append(f"model {k}: {name} {'added' if x is None else 'dropped'}")
            elif x.shape != y.shape:
                parts.append(f"model {k}: {name} {x.shape} -> {y.shape}")
            else:
                d = _rows_differ(x, y)
                if d.size:
                    parts.append(f"model {k}: {name} differs in {d.size} rows (first {int(d[0])})")
    return "; ".join(parts[:6])


def families(counts: dict[str, Counter[str]]) -> dict[str, Counter[str]]:
    """Counts summed per reader (one line each); kept as the per-reader table."""
    return dict(sorted(counts.items()))


def table(counts: dict[str, Counter[str]], kinds: Iterable[str] = ("inputs", *OUTCOMES)) -> str:
    """A Markdown table of the counts."""
    kinds = list(kinds)
    head = "| reader | " + " | ".join(kinds) + " |\n|---|" + "---|" * len(kinds) + "\n"
    rows = "".join(f"| {r} | " + " | ".join(str(c.get(k, 0)) for k in kinds) + " |\n" for r, c in counts.items())
    tot: Counter[str] = Counter()
    for c in counts.values():
        tot.update(c)
    return head + rows + "| **all** | " + " | ".join(f"**{tot.get(k, 0)}**" for k in kinds) + " |\n"
