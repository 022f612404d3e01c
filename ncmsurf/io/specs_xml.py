r"""SPECS SpecsLab2 / Prodigy XML (CORBA ``XMLSerializer2``) region files.

Schema (``IDL:specs.de/Serializer``): a ``RegionGroupSeq`` of
``RegionGroup`` structs (``name``, ``regions``), each region a
``RegionData`` struct with ``name``, ``region`` (``RegionDef``:
``analysis_method``, ``analyzer_lens``, ``scan_mode/name``, ``num_scans``,
``curves_per_scan``, ``values_per_curve``, ``dwell_time``, ``scan_delta``,
``excitation_energy``, ``kinetic_energy``, ``kinetic_energy_base``,
``pass_energy``, ``effective_workfunction``), ``mcd_head``, ``mcd_tail``,
``analyzer_info/detectors`` (``position``, ``shift``, ``gain`` per
channeltron) and ``cycles`` → ``scans`` → ``counts`` (the raw counts of every
detector channel interleaved, ``values_per_curve + mcd_head + mcd_tail``
steps).

Energies (fixed analyser transmission): the nominal kinetic energy of point
``j`` is ``kinetic_energy_base + kinetic_energy + j * scan_delta`` and
``BE = hv - KE`` (the effective work function is kept in ``meta``, not
applied). Detector ``d`` at raw step ``k`` sees ``KE(k - mcd_head) + shift_d *
pass_energy``; its counts are moved onto the nominal grid by that offset
(linear interpolation between raw steps when it is not a whole number of
steps) and the channels are summed; ``mcd_head``/``mcd_tail`` must cover the
offsets, else a ``ReadError``. The scans of a cycle are summed (each kept in
``meta["scan_counts"]``); each cycle of each region is one spectrum.
Other scan modes (snapshot, fixed retarding ratio) are refused with a
``ReadError`` rather than given a wrong axis.

Examples
--------
>>> import os, tempfile
>>> xml = write_specs_xml_example(os.path.join(tempfile.mkdtemp(), "c1s.xml"))
>>> s = read_specs_xml(xml)[0]
>>> s.region, s.binding_energy[:3].tolist(), s.excitation_energy, s.meta["pass_energy"]
('C 1s', [290.0, 289.9, 289.8], 1486.6, 20.0)
"""

from __future__ import annotations

import os
import re
import xml.parsers.expat
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.errors import ReadError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.io._xps_meta import excitation_energy as _hv
from ncmsurf.io.registry import SimpleReader

__all__ = ["READERS", "read_specs_xml", "write_specs_xml_example"]

_NUM = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_CORE = re.compile(r"^(?:\d+\s+)?([A-Z][a-z]?)\s*(\d[spdf])(?:\s*(\d/\d))?\b")


class _El:
    __slots__ = ("attrib", "children", "line", "tag", "text")

    def __init__(self, tag: str, attrib: dict[str, str], line: int) -> None:
        self.tag, self.attrib, self.line = tag, attrib, line
        self.children: list[_El] = []
        self.text = ""

    def named(self, name: str) -> _El | None:
        return next((c for c in self.children if c.attrib.get("name") == name), None)


def _parse(p: Path, raw: bytes) -> _El:
    if b"<!ENTITY" in raw:
        raise ReadError(p, raw[:raw.index(b"<!ENTITY")].count(b"\n") + 1, "XML entity declarations are refused")
    root = _El("#document", {}, 0)
    stack = [root]
    parser = xml.parsers.expat.ParserCreate()

    def start(tag: str, attrs: dict[str, str]) -> None:
        el = _El(tag, attrs, parser.CurrentLineNumber)
        stack[-1].children.append(el)
        stack.append(el)

    def end(tag: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        stack[-1].text += data

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(raw, True)
    except xml.parsers.expat.ExpatError as exc:
        raise ReadError(p, exc.lineno, f"malformed XML: {xml.parsers.expat.ErrorString(exc.code)} "
                        f"(column {exc.offset})") from None
    return root


def _sniff(path: Path, head: bytes) -> float:
    if b"<?xml" in head[:200] and b"XMLSerializer2" in head[:2048] or b"specs.de/Serializer" in head:
        return 0.95 if b"RegionData" in head or b"RegionGroup" in head else 0.5
    return 0.0


def _scalar(p: Path, parent: _El, name: str, *, required: bool = True, kind: str = "float") -> Any:
    el = parent.named(name)
    if el is None:
        if required:
            raise ReadError(p, parent.line, f"<{parent.attrib.get('type_name', parent.tag)}> has no {name!r}")
        return None
    t = el.text.strip()
    if kind == "str":
        return t
    if not _NUM.match(t):
        raise ReadError(p, el.line, f"{name}: expected a number, got {t[:30]!r}")
    v = float(t)
    if kind == "int":
        if v != int(v) or v < 0:
            raise ReadError(p, el.line, f"{name}: expected a non-negative integer, got {t[:30]!r}")
        return int(v)
    return v


def _numbers(p: Path, seq: _El, what: str) -> np.ndarray:
    if not seq.children:
        toks = seq.text.split()
        line = seq.line
    else:
        toks = []
        for c in seq.children:
            toks += c.text.split()
        line = seq.children[0].line
    n_decl = seq.attrib.get("length")
    for k, t in enumerate(toks):
        if not _NUM.match(t):
            raise ReadError(p, line, f"{what}: value {k + 1} is {t[:20]!r}, not a number")
    arr = np.array(toks, dtype=float)
    if n_decl is not None and (not n_decl.isdigit() or int(n_decl) != arr.size):
        raise ReadError(p, seq.line, f"{what}: length attribute {n_decl!r}, {arr.size} values present")
    if not np.all(np.isfinite(arr)):
        raise ReadError(p, line, f"{what}: non-finite value")
    return arr


def _region_name(name: str) -> str | None:
    m = _CORE.match(name.strip())
    return f"{m.group(1)} {m.group(2)}{m.group(3) or ''}" if m else None


def _align(p: Path, raw: np.ndarray, n: int, head: int, tail: int, offsets: np.ndarray, line: int) -> np.ndarray:
    """Sum the channels on the nominal grid; ``raw`` is (steps, channels)."""
    nraw = raw.shape[0]
    total = np.zeros(n)
    j = np.arange(n, dtype=float)
    for d in range(raw.shape[1]):
        pos = j + head - offsets[d]
        if pos[0] < -1e-9 or pos[-1] > nraw - 1 + 1e-9:
            raise ReadError(p, line, f"detector {d + 1} is offset by {offsets[d]:.3f} steps; mcd_head={head}, "
                            f"mcd_tail={tail} do not cover it")
        pos = np.clip(pos, 0, nraw - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, nraw - 1)
        w = pos - lo
        total += raw[lo, d] * (1 - w) + raw[hi, d] * w
    return total


def read_specs_xml(path: str | os.PathLike[str], *, sample: Any = None, excitation_energy: Any = None,
                   **_: Any) -> list[XPSSpectrum]:
    """Read every region and cycle of a SpecsLab2 / Prodigy XML file.

    Returns
    -------
    list of XPSSpectrum
        ``meta``: ``group``, ``region_name``, ``cycle``, ``scans``,
        ``scan_counts``, ``channel_offsets_steps``, ``pass_energy``,
        ``dwell_time``, ``analyzer_lens``, ``scan_mode``, ``work_function``,
        ``excitation_energy_source``.

    Raises
    ------
    ReadError
        With the XML line of a missing or malformed field, or of counts that do not fit the region definition.
    """
    p = Path(path)
    root = _parse(p, p.read_bytes())
    out: list[XPSSpectrum] = []
    regions: list[tuple[str, _El]] = []

    def walk(el: _El, group: str) -> None:
        if el.tag == "struct" and el.attrib.get("type_name") == "RegionGroup":
            g = el.named("name")
            group = g.text.strip() if g is not None else group
        if el.tag == "struct" and el.attrib.get("type_name") == "RegionData":
            regions.append((group, el))
            return
        for c in el.children:
            walk(c, group)

    walk(root, "")
    if not regions:
        raise ReadError(p, None, "no RegionData structs (not a SpecsLab2 region file?)")
    for group, reg in regions:
        name = _scalar(p, reg, "name", kind="str")
        rdef = reg.named("region")
        if rdef is None:
            raise ReadError(p, reg.line, f"region {name!r} has no RegionDef")
        mode_el = rdef.named("scan_mode")
        mode = _scalar(p, mode_el, "name", kind="str") if mode_el is not None else ""
        if mode != "FixedAnalyzerTransmission":
            raise ReadError(p, mode_el.line if mode_el is not None else rdef.line,
                            f"region {name!r}: scan mode {mode!r} is not supported (FixedAnalyzerTransmission is)")
        n = _scalar(p, rdef, "values_per_curve", kind="int")
        curves = _scalar(p, rdef, "curves_per_scan", kind="int")
        if curves != 1:
            raise ReadError(p, rdef.line, f"region {name!r}: {curves} curves per scan are not supported")
        delta = _scalar(p, rdef, "scan_delta")
        ke0 = _scalar(p, rdef, "kinetic_energy")
        base = _scalar(p, rdef, "kinetic_energy_base", required=False) or 0.0
        pe = _scalar(p, rdef, "pass_energy")
        hv_el = rdef.named("excitation_energy")
        hv_stated = _scalar(p, rdef, "excitation_energy") if hv_el is not None else None
        if n < 1 or delta == 0:
            raise ReadError(p, rdef.line, f"region {name!r}: {n} values with scan_delta {delta}")
        head = _scalar(p, reg, "mcd_head", kind="int")
        tail = _scalar(p, reg, "mcd_tail", kind="int")
        ainfo = reg.named("analyzer_info")
        dets = ainfo.named("detectors") if ainfo is not None else None
        if dets is None or not dets.children:
            raise ReadError(p, reg.line, f"region {name!r}: no analyzer_info/detectors")
        shifts = np.array([_scalar(p, d, "shift") for d in dets.children])
        gains = [_scalar(p, d, "gain", required=False) for d in dets.children]
        positions = [_scalar(p, d, "position", required=False) for d in dets.children]
        ndet = shifts.size
        offsets = shifts * pe / delta
        cycles = reg.named("cycles")
        if cycles is None or not cycles.children:
            raise ReadError(p, reg.line, f"region {name!r} has no cycles (no data)")
        hv, hv_source = _hv(p, hv_stated, excitation_energy, where=f" (region {name!r})")
        ke = base + ke0 + delta * np.arange(n)
        nraw = n + head + tail
        for ci, cyc in enumerate(cycles.children):
            scans = cyc.named("scans")
            if scans is None or not scans.children:
                raise ReadError(p, cyc.line, f"region {name!r} cycle {ci}: no scans")
            per_scan = []
            for si, sc in enumerate(scans.children):
                cnt = sc.named("counts")
                if cnt is None:
                    raise ReadError(p, sc.line, f"region {name!r} cycle {ci} scan {si}: no counts")
                vals = _numbers(p, cnt, f"region {name!r} cycle {ci} scan {si} counts")
                if vals.size != nraw * ndet:
                    raise ReadError(p, cnt.line, f"region {name!r} cycle {ci} scan {si}: {vals.size} counts, "
                                    f"expected ({n} + {head} + {tail}) steps x {ndet} detectors = {nraw * ndet}")
                per_scan.append(_align(p, vals.reshape(nraw, ndet), n, head, tail, offsets, cnt.line))
            y = np.sum(per_scan, axis=0)
            meta: dict[str, Any] = {
                "format": "specs-xml", "source_file": str(p), "group": group, "region_name": name, "cycle": ci,
                "scans": len(per_scan), "scan_counts": [s.copy() for s in per_scan],
                "pass_energy": pe, "dwell_time": _scalar(p, rdef, "dwell_time", required=False),
                "analysis_method": _scalar(p, rdef, "analysis_method", required=False, kind="str"),
                "analyzer_lens": _scalar(p, rdef, "analyzer_lens", required=False, kind="str"),
                "scan_mode": mode, "work_function": _scalar(p, rdef, "effective_workfunction", required=False),
                "kinetic_energy_base": base, "mcd_head": head, "mcd_tail": tail,
                "detector_shifts": shifts.tolist(), "detector_gains": gains, "detector_positions": positions,
                "channel_offsets_steps": offsets.tolist(), "excitation_energy_source": hv_source,
            }
            t = cyc.named("time")
            if t is not None and _NUM.match(t.text.strip()):
                meta["time"] = float(t.text)
            try:
                out.append(XPSSpectrum(hv - ke, y, region=_region_name(name), sample=sample, meta=meta,
                                       excitation_energy=hv, units="counts"))
            except ValidationError as exc:
                raise ReadError(p, reg.line, f"region {name!r}: {exc}") from exc
    return out


def write_specs_xml_example(path: str | os.PathLike[str], *, counts: Any = None, shifts: Any = (-0.005, 0.0, 0.005),
                            pass_energy: float = 20.0, scan_delta: float = 0.1, head: int = 1, tail: int = 1,
                            kinetic_energy: float = 1196.6, excitation_energy: float | None = 1486.6,
                            name: str = "C 1s", scans: int = 1) -> Path:
    """Write a small SpecsLab2 XML region file (for examples and tests).

    ``counts`` is the raw ``(n + head + tail, detectors)`` count table of one
    scan (default: a Gaussian peak on the nominal grid of 21 points, shifted
    per detector by ``shift * pass_energy / scan_delta`` whole steps).
    """
    shifts = np.asarray(shifts, dtype=float)
    ndet = shifts.size
    if counts is None:
        n = 21
        raw = np.zeros((n + head + tail, ndet))
        for d in range(ndet):
            off = int(round(shifts[d] * pass_energy / scan_delta))
            k = np.arange(n + head + tail)
            jj = k - head + off
            raw[:, d] = np.round(100 + 1000 * np.exp(-0.5 * ((jj - 10) / 2.0) ** 2))
    else:
        raw = np.asarray(counts, dtype=float)
        n = raw.shape[0] - head - tail
    dets = "".join(f'<struct type_id="IDL:specs.de/SurfaceAnalysis/Detector:1.0" type_name="Detector">'
                   f'<double name="position">{8 * (d - ndet // 2)}</double><double name="shift">{shifts[d]}</double>'
                   f'<double name="gain">1</double></struct>' for d in range(ndet))
    cnt = "\n".join(str(int(v)) if float(v).is_integer() else repr(float(v)) for v in raw.ravel())
    scan = (f'<struct type_id="IDL:specs.de/Serializer/ScanData:1.0" type_name="ScanData">'
            f'<sequence name="counts" length="{raw.size}" type_name="CountsSeq"><ulong type_name="Counts">\n{cnt}\n'
            '</ulong></sequence><sequence name="parameters" length="0" type_name="ParameterSeq"/></struct>')
    hv = "" if excitation_energy is None else f'<double name="excitation_energy">{excitation_energy}</double>'
    text = f"""<?xml version="1.0"?>
<!-- CORBA XML document created by XMLSerializer2 1.6 -->
<any version="1.6">
<sequence length="1" type_id="IDL:specs.de/Serializer/RegionGroupSeq:1.0" type_name="RegionGroupSeq">
<struct type_id="IDL:specs.de/Serializer/RegionGroup:1.0" type_name="RegionGroup">
<string name="name">P-NCM</string>
<sequence name="regions" length="1" type_id="IDL:specs.de/Serializer/RegionDataSeq:1.0" type_name="RegionDataSeq">
<struct type_id="IDL:specs.de/Serializer/RegionData:1.0" type_name="RegionData">
<string name="name">{name}</string>
<struct name="region" type_id="IDL:specs.de/SurfaceAnalysis/RegionDef:1.0" type_name="RegionDef">
<string name="analysis_method">XPS</string>
<string name="analyzer_lens">MediumArea:1.5kV</string>
<struct name="scan_mode" type_name="ScanMode"><string name="name">FixedAnalyzerTransmission</string>
<ulong name="flags" type_name="ScanModeFlags">2</ulong></struct>
<ulong name="num_scans">{scans}</ulong>
<ulong name="curves_per_scan">1</ulong>
<ulong name="values_per_curve">{n}</ulong>
<double name="dwell_time">0.1</double>
<double name="scan_delta">{scan_delta}</double>
{hv}
<double name="kinetic_energy">{kinetic_energy}</double>
<double name="kinetic_energy_base">0</double>
<double name="pass_energy">{pass_energy}</double>
<double name="effective_workfunction">4.37</double>
</struct>
<ulong name="mcd_head">{head}</ulong>
<ulong name="mcd_tail">{tail}</ulong>
<struct name="analyzer_info" type_name="AnalyzerInfo"><string name="name">PHOIBOS 150</string>
<sequence name="detectors" length="{ndet}" type_name="DetectorSeq">{dets}</sequence></struct>
<sequence name="cycles" length="1" type_name="CycleSeq">
<struct type_id="IDL:specs.de/Serializer/Cycle:1.0" type_name="Cycle"><ulong name="time">1643415878</ulong>
<sequence name="scans" length="{scans}" type_name="ScanSeq">{scan * scans}</sequence></struct>
</sequence>
</struct>
</sequence>
</struct>
</sequence>
</any>
"""
    out = Path(path)
    out.write_text(text, encoding="utf-8")
    return out


READERS = [
    SimpleReader("specs-xml", "xps", (".xml",), _sniff, read_specs_xml,
                 "SPECS SpecsLab2/Prodigy XML region file (detector channels aligned and summed)"),
]
