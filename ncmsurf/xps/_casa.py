"""CasaXPS regions and components stored in VAMAS block comments, as data.

Examples
--------
>>> lines = ["CASA region (*Fe 2p*) (*U 3 Tougaard*) 737.5 786.7 16.42 2 0 0 335.4 551 436 3 (*Fe 2p*) 55.8 0 16.42",
...          "CASA comp (*Fe 2p*) (*GL(30)*) Area 100 1e-020 1e6 -1 1 MFWHM 2 0.5 5 -1 1 "
...          "Position 777.56 738 782 -1 1 RSF 16.42 MASS 55.8 INDEX 0 (*Fe 2p*) CONST (**) UNCORRECTEDRSF 16.42"]
>>> r = parse_casa(lines, excitation_energy=1486.61, kinetic=True)[0]
>>> r.name, r.background, round(r.start, 2), r.components[0].lineshape, round(r.components[0].position, 2)
('Fe 2p', 'U 3 Tougaard', 749.11, 'GL(30)', 709.05)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum

__all__ = ["CasaComponent", "CasaRegion", "casa_regions", "parse_casa"]

_TOKEN = re.compile(r"\(\*.*?\*\)|\S+")


def _tokens(line: str) -> list[str]:
    return _TOKEN.findall(line)


def _text(tok: str) -> str:
    return tok[2:-2] if tok.startswith("(*") and tok.endswith("*)") else tok


@dataclass(frozen=True)
class CasaComponent:
    """One CasaXPS component: ``name``, ``lineshape``, ``area``, ``fwhm``, ``position`` (BE, eV), ``rsf``.

    ``area_bounds``, ``fwhm_bounds``, ``position_bounds`` (BE) are the
    constraints stored with it; ``mass``, ``index``, ``tag`` as in the file.
    """

    name: str
    lineshape: str
    area: float
    fwhm: float
    position: float
    rsf: float
    area_bounds: tuple[float, float] = (0.0, 0.0)
    fwhm_bounds: tuple[float, float] = (0.0, 0.0)
    position_bounds: tuple[float, float] = (0.0, 0.0)
    mass: float | None = None
    index: int | None = None
    tag: str = ""


@dataclass(frozen=True)
class CasaRegion:
    """One CasaXPS quantification region: ``start``/``end`` in binding energy (eV, file order)."""

    name: str
    background: str
    start: float
    end: float
    rsf: float
    components: list[CasaComponent] = field(default_factory=list)
    parameters: tuple[float, ...] = ()
    mass: float | None = None


def _float(tok: str, what: str, line: str) -> float:
    try:
        return float(tok)
    except ValueError as exc:
        raise ValidationError(f"CasaXPS comment: bad number {tok!r} for {what} in {line!r}") from exc


def _after(toks: list[str], key: str, n: int, line: str) -> list[float]:
    if key not in toks:
        raise ValidationError(f"CasaXPS comment: {key} missing in {line!r}")
    i = toks.index(key)
    if i + n >= len(toks) + 1:
        raise ValidationError(f"CasaXPS comment: {key} truncated in {line!r}")
    return [_float(t, key, line) for t in toks[i + 1: i + 1 + n]]


def parse_casa(lines: Sequence[str], *, excitation_energy: float, kinetic: bool) -> list[CasaRegion]:
    """Parse ``CASA region`` / ``CASA comp`` comment lines (energies converted to BE when ``kinetic``)."""

    def be(v: float) -> float:
        return excitation_energy - v if kinetic else v

    regions: list[CasaRegion] = []
    comps: list[CasaComponent] = []
    for raw in lines:
        line = raw.strip()
        if line.startswith("CASA region"):
            t = _tokens(line)[2:]
            if len(t) < 5:
                raise ValidationError(f"CasaXPS comment: region line too short: {line!r}")
            nums: list[float] = []
            for tok in t[5:]:
                if tok.startswith("(*"):
                    break
                nums.append(_float(tok, "region parameter", line))
            mass = None
            tail = [x for x in t[5 + len(nums) + 1:]]
            if tail:
                try:
                    mass = float(tail[0])
                except ValueError:
                    mass = None
            regions.append(CasaRegion(_text(t[0]), _text(t[1]), be(_float(t[2], "start", line)),
                                      be(_float(t[3], "end", line)), _float(t[4], "RSF", line), [], tuple(nums),
                                      mass))
        elif line.startswith("CASA comp"):
            t = _tokens(line)[2:]
            if len(t) < 2:
                raise ValidationError(f"CasaXPS comment: component line too short: {line!r}")
            area = _after(t, "Area", 3, line)
            fw = _after(t, "MFWHM", 3, line)
            pos = _after(t, "Position", 3, line)
            rsf = _after(t, "RSF", 1, line)[0]
            mass = _after(t, "MASS", 1, line)[0] if "MASS" in t else None
            index = int(_after(t, "INDEX", 1, line)[0]) if "INDEX" in t else None
            tag = ""
            if "INDEX" in t:
                i = t.index("INDEX")
                if i + 2 < len(t):
                    tag = _text(t[i + 2])
            p_lo, p_hi = sorted((be(pos[1]), be(pos[2])))
            comps.append(CasaComponent(_text(t[0]), _text(t[1]), area[0], fw[0], be(pos[0]), rsf,
                                       (area[1], area[2]), (fw[1], fw[2]), (p_lo, p_hi), mass, index, tag))
    if not regions:
        return []
    out = []
    for k, r in enumerate(regions):
        lo, hi = sorted((r.start, r.end))
        if len(regions) == 1:
            mine = comps
        else:
            mine = [c for c in comps if lo <= c.position <= hi]
            if k == 0:
                mine += [c for c in comps if not any(min(q.start, q.end) <= c.position <= max(q.start, q.end)
                                                     for q in regions)]
        out.append(CasaRegion(r.name, r.background, r.start, r.end, r.rsf, list(mine), r.parameters, r.mass))
    return out


def casa_regions(spectrum: XPSSpectrum) -> list[CasaRegion]:
    """The CasaXPS regions and components stored in a VAMAS block's comment.

    Positions and region limits are returned as binding energies (converted
    from kinetic energy when the block's abscissa is kinetic energy). An
    empty list when the block has no CasaXPS annotations.
    """
    if not isinstance(spectrum, XPSSpectrum):
        raise ValidationError(f"casa_regions: expected an XPSSpectrum, got {type(spectrum).__name__}")
    meta = spectrum.meta
    comment = meta.get("block_comment", [])
    lines = comment.splitlines() if isinstance(comment, str) else list(comment)
    label = str(meta.get("abscissa_label", "Kinetic Energy")).lower()
    kinetic = "kinetic" in label
    return parse_casa(lines, excitation_energy=spectrum.excitation_energy, kinetic=kinetic)
