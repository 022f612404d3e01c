"""Survey identification: peaks of a wide scan, candidate core levels and Auger lines, element scores.

The survey's peaks are found on a SNIP background (iterative clipping,
M. Morháč et al., Nucl. Instrum. Methods A 401, 113 (1997)) with Poisson
noise from the counts. Each element of the shipped table
(``ncmsurf/xps/_data/core_levels.json``: binding energies of the X-ray Data
Booklet with practical XPS values for gases and reference states, Scofield
cross-sections) predicts its lines at the spectrum's photon energy:
photoelectron lines at fixed binding energy, Auger lines at fixed *kinetic*
energy (``BE = hν − KE``, so they move with the source and only appear when
hν exceeds the initial core level). An element scores by

- the significance of its strongest predicted line (which must be found), and
- the share of its other lines, predicted above the detection limit from
  the strongest one's area, that are found where predicted,

so one matching peak is not enough when the element's other lines would be
visible. Elements are then accepted greedily by score; a peak already
explained by an accepted element does not count as evidence for another.
A global charge shift is estimated from the C 1s peak (largest peak in
278–292 eV, referenced to 284.8 eV) unless given.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_survey
>>> s = synthetic_survey({"C": 1.0, "O": 2.0, "Al": 1.0}, seed=0)
>>> sorted(identify(s).attrs["elements"])
['Al', 'C', 'O']
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import register_citation
from ncmsurf.xps._peaks import presets

__all__ = ["Line", "core_levels", "element_lines", "find_peaks", "identify", "snip_background", "suggest_regions"]

register_citation("morhac1997", "M. Morháč, J. Kliman, V. Matoušek, M. Veselský, I. Turzo, Nucl. Instrum. Methods "
                                "Phys. Res. A 401, 113 (1997)")
register_citation("scofield1973", "J. H. Scofield, Lawrence Livermore Laboratory Report UCRL-51326 (1973)")

#: default score above which an element is reported
THRESHOLD = 0.5


@lru_cache(maxsize=1)
def core_levels() -> dict[str, Any]:
    """The shipped core-level table (binding energies, cross-sections at ``photon_energies``).

    Examples
    --------
    >>> core_levels()["elements"]["Ni"]["levels"]["2p3/2"]["be"]
    852.7
    """
    text = resources.files("ncmsurf.xps._data").joinpath("core_levels.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _auger() -> list[dict[str, Any]]:
    text = resources.files("ncmsurf.xps._data").joinpath("auger_lines.json").read_text(encoding="utf-8")
    return list(json.loads(text)["lines"])


@dataclass(frozen=True)
class Line:
    """One predicted line of an element at a photon energy."""

    element: str
    name: str  # "Ni 2p3/2" or "Ni LMM"
    kind: str  # "core" or "auger"
    binding_energy: float
    intensity: float  # relative area (cross-section x KE**0.25)
    width: float  # expected FWHM, eV


def _cross_section(cs: list[float | None], hv: float) -> float:
    e = np.asarray(core_levels()["photon_energies"], dtype=float)
    v = np.array([np.nan if c is None else float(c) for c in cs])
    ok = np.isfinite(v) & (v > 0)
    if not ok.any():
        return 0.0
    if hv < e[ok][0] * 0.999:
        return float(v[ok][0])
    # log-log interpolation on the tabulated photon energies
    return float(np.exp(np.interp(np.log(hv), np.log(e[ok]), np.log(v[ok]))))


def element_lines(element: str, excitation_energy: float = 1486.6) -> list[Line]:
    """Predicted photoelectron and Auger lines of ``element`` at the photon energy (eV).

    Examples
    --------
    >>> [ln.name for ln in element_lines("Ni")][:3]
    ['Ni 2s', 'Ni 2p1/2', 'Ni 2p3/2']
    >>> ni_lmm = [ln for ln in element_lines("Ni", 1253.6) if ln.kind == "auger"][0]
    >>> round(ni_lmm.binding_energy, 1)  # Auger lines keep their kinetic energy: BE moves with the source
    408.6
    """
    table = core_levels()["elements"]
    if element not in table:
        raise ValidationError(f"element: {element!r} not in the core-level table")
    hv = float(excitation_energy)
    out: list[Line] = []
    levels = table[element]["levels"]
    for name, lv in levels.items():
        be = float(lv["be"])
        if be >= hv - 20.0:
            continue
        cs = _cross_section(lv["cs"], hv)
        if cs <= 0:
            continue
        width = 1.5 if name.endswith(("s", "3/2", "5/2", "7/2", "1/2")) else 2.0
        if name[-1] == "s" and be > 50:
            width = 2.5  # s levels of heavier atoms are broad
        out.append(Line(element, f"{element} {name}", "core", be, cs * max(hv - be, 1.0) ** 0.25, width))
    if out:
        strongest = max(ln.intensity for ln in out)
        for a in _auger():
            if a["element"] != element:
                continue
            init = levels.get(a["initial"])
            if init is None or float(init["be"]) >= hv:
                continue
            be = hv - float(a["ke"])
            if be <= 0:
                continue
            out.append(Line(element, str(a["line"]), "auger", be, float(a["rel"]) * strongest, float(a["width"])))
    return out


# ----------------------------------------------------------------- peaks
def snip_background(y: np.ndarray, width: int) -> np.ndarray:
    """SNIP background (LLS-transformed iterative clipping with windows up to ``width`` points).

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(400.0)
    >>> y = 100 + 0.1 * x + 5e3 * np.exp(-0.5 * ((x - 200) / 2) ** 2)
    >>> bg = snip_background(y, 20)
    >>> bool(abs(bg[200] - 120) < 5)
    True
    """
    v = np.log(np.log(np.sqrt(np.clip(y, 0, None) + 1.0) + 1.0) + 1.0)
    n = v.size
    for p in range(1, int(width) + 1):
        mean = np.full(n, np.inf)
        mean[p:n - p] = 0.5 * (v[:n - 2 * p] + v[2 * p:])
        v = np.minimum(v, mean)
    return (np.exp(np.exp(v) - 1.0) - 1.0) ** 2 - 1.0  # type: ignore[no-any-return]


def find_peaks(spectrum: XPSSpectrum, *, min_snr: float = 5.0, background_width: float = 12.0,
               max_fwhm: float = 15.0) -> pd.DataFrame:
    """Significant peaks of a survey: position, net height, area, FWHM, signal-to-noise.

    Parameters
    ----------
    spectrum : XPSSpectrum
        A wide scan (counts; other units use a noise estimate from the data).
    min_snr : float
        Smallest net peak height over its Poisson noise.
    background_width : float
        Largest SNIP clipping window, eV (wider than a peak, narrower than the
        inelastic steps).
    max_fwhm : float
        Broader maxima (energy-loss bumps, inelastic background) are not peaks, eV.

    Returns
    -------
    pandas.DataFrame
        One row per peak, ascending binding energy.
    """
    be = spectrum.binding_energy
    order = np.argsort(be)
    x, y = be[order], np.asarray(spectrum.intensity[order], dtype=float)
    step = float(np.median(np.diff(x)))
    if not step > 0 or x.size < 20:
        raise ValidationError("identify: the survey needs at least 20 points on a regular grid")
    sig_pts = max(0.6 / step, 0.5)
    ys = gaussian_filter1d(y, sig_pts, mode="nearest")
    bg = snip_background(ys, max(3, int(round(background_width / step))))
    net = ys - bg
    counts = spectrum.units == "counts" and bool(np.all(y >= 0))
    gain = 1.0 / np.sqrt(2.0 * np.sqrt(np.pi) * sig_pts)  # noise reduction of the Gaussian smoothing
    if counts:
        noise = np.sqrt(np.maximum(ys, 1.0)) * gain
    else:
        d = np.diff(y)
        noise = np.full(y.size, float(np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(2.0)) * gain)
    rows = []
    cand = np.flatnonzero((net[1:-1] > net[:-2]) & (net[1:-1] >= net[2:])) + 1
    for i in cand:
        snr = float(net[i] / max(noise[i], 1e-12))
        if snr < min_snr:
            continue
        half = 0.5 * net[i]
        lo = i
        while lo > 0 and net[lo] > half:
            lo -= 1
        hi = i
        while hi < x.size - 1 and net[hi] > half:
            hi += 1
        fwhm = float(x[hi] - x[lo])
        if fwhm > max_fwhm:
            continue
        y0, y1, y2 = net[i - 1], net[i], net[i + 1]
        den = y0 - 2 * y1 + y2
        pos = float(x[i] + 0.5 * step * (y0 - y2) / den) if den < 0 else float(x[i])
        a, b = max(0, i - int(np.ceil(fwhm / step))), min(x.size, i + int(np.ceil(fwhm / step)) + 1)
        area = float(np.clip(net[a:b], 0, None).sum() * step)
        rows.append({"binding_energy": pos, "height": float(net[i]), "area": area, "fwhm": fwhm, "snr": snr,
                     "noise": float(noise[i])})
    df = pd.DataFrame(rows, columns=["binding_energy", "height", "area", "fwhm", "snr", "noise"])
    df.attrs["step"] = step
    df.attrs["range"] = (float(x[0]), float(x[-1]))
    df.attrs["_noise"] = (x, noise)
    return df


# ----------------------------------------------------------------- identification
def _charge_shift(peaks: pd.DataFrame) -> float:
    c = peaks[(peaks.binding_energy > 278.0) & (peaks.binding_energy < 292.0)]
    if c.empty:
        return 0.0
    return float(284.8 - c.sort_values("height").binding_energy.iloc[-1])


#: elements whose 1s lines move most with chemistry (oxides to organics, carbides): extra tolerance, eV
_WIDE = {"Li": 1.5, "B": 2.0, "C": 2.0, "N": 2.0, "O": 2.0, "F": 1.5}


def _tolerance(ln: Line, tol: float) -> float:
    if ln.kind == "auger":
        return max(tol, 0.5 * ln.width)
    return max(tol, 0.25 * ln.width) + (_WIDE.get(ln.element, 0.0) if ln.name.endswith("1s") else 0.0)


def _evaluate(el: str, lines: list[Line], peaks: pd.DataFrame, shift: float, tol: float,
              used: dict[int, float]) -> tuple[float, list[tuple[Line, int | None, float]]]:
    """Score of one element and the line -> peak matches."""
    rng = peaks.attrs["range"]
    xs, noise = peaks.attrs["_noise"]
    inside = [ln for ln in lines if rng[0] + 2.0 <= ln.binding_energy - shift <= rng[1] - 2.0]
    core = [ln for ln in inside if ln.kind == "core"]
    if not core:
        return 0.0, []
    pos = peaks.binding_energy.to_numpy()

    def match(ln: Line) -> int | None:
        t = _tolerance(ln, tol)
        d = np.abs(pos - (ln.binding_energy - shift))
        j = int(np.argmin(d)) if d.size else -1
        return j if j >= 0 and d[j] <= t else None

    main = max(core, key=lambda ln: ln.intensity)
    jm = match(main)
    if jm is None:
        return 0.0, [(main, None, 0.0)]
    a_main = float(peaks.area.iloc[jm]) * (1.0 - used.get(jm, 0.0))
    snr = float(peaks.snr.iloc[jm]) * (1.0 - used.get(jm, 0.0))
    if a_main <= 0:
        return 0.0, [(main, jm, 0.0)]
    k = a_main / main.intensity
    got = 0.0
    want = 0.0
    matches: list[tuple[Line, int | None, float]] = [(main, jm, a_main)]
    for ln in inside:
        if ln is main:
            continue
        pred_area = k * ln.intensity
        pred_height = pred_area / (1.0645 * max(ln.width, 1.0))
        nz = float(np.interp(ln.binding_energy - shift, xs, noise))
        if pred_height < 4.0 * nz:
            continue  # below the detection limit: neither evidence nor counter-evidence
        w = float(np.sqrt(ln.intensity / main.intensity))
        # valence-region levels (< 30 eV) and Auger lines (chemistry-dependent sizes) only support
        support = ln.kind == "auger" or ln.binding_energy < 30.0
        if ln.kind == "auger":
            w *= 0.5
        j = match(ln)
        if not support or j is not None:
            want += w
        if j is not None:
            obs = float(peaks.area.iloc[j])
            ratio = obs / pred_area if pred_area > 0 else 0.0
            # found where predicted with a plausible size (Auger sizes are rough)
            lo_ok = 0.15 if ln.kind == "core" else 0.05
            if ratio >= lo_ok:
                got += w
                matches.append((ln, j, min(pred_area, obs)))
                continue
        matches.append((ln, None, 0.0))
    consistency = 1.0 if want == 0 else got / want
    significance = 1.0 - float(np.exp(-snr / 15.0))
    if want == 0:
        consistency = 0.6  # a single visible line: plausible, not confirmed
    return float(significance * consistency * (1.0 - used.get(jm, 0.0))), matches


def _greedy(cands: list[str], lines: dict[str, list[Line]], peaks: pd.DataFrame, shift: float, tolerance: float,
            threshold: float) -> tuple[dict[str, float], dict[str, float], dict[int, str], float, list[float]]:
    """Accept elements by score; return accepted, all scores, peak -> line, explained area, line offsets."""
    used: dict[int, float] = {}
    scores: dict[str, float] = {}
    accepted: dict[str, float] = {}
    assigned: dict[int, str] = {}
    offsets: list[float] = []
    remaining = set(cands)
    explained = 0.0
    while remaining:
        evals = {el: _evaluate(el, lines[el], peaks, shift, tolerance, used) for el in remaining}
        for el, (sc, _) in evals.items():
            scores[el] = max(sc, scores.get(el, 0.0)) if el in accepted else sc
        el = max(evals, key=lambda e: (evals[e][0], sum(a for _, _, a in evals[e][1])))
        sc, m = evals[el]
        if sc < threshold:
            break
        accepted[el] = sc
        remaining.discard(el)
        for ln, j, a in m:
            if j is None:
                continue
            obs = float(peaks.area.iloc[j])
            used[j] = min(1.0, used.get(j, 0.0) + (a / obs if obs > 0 else 1.0))
            assigned.setdefault(j, ln.name)
            explained += a
            if ln.kind == "core":
                offsets.append(float(peaks.binding_energy.iloc[j]) - (ln.binding_energy - shift))
    return accepted, scores, assigned, explained, offsets


def _split(spectra: Any) -> tuple[XPSSpectrum, list[XPSSpectrum]]:
    items = [spectra] if isinstance(spectra, XPSSpectrum) else list(spectra)
    if not items or not all(isinstance(s, XPSSpectrum) for s in items):
        raise ValidationError("identify: expected an XPSSpectrum or a list of them (a survey and core-level regions)")
    xps = [s for s in items if s.excitation_energy > 100.0]  # UPS blocks are not used
    if not xps:
        raise ValidationError("identify: no X-ray excited spectrum given")
    span = [float(np.ptp(s.binding_energy)) for s in xps]
    k = int(np.argmax(span))
    return xps[k], [s for i, s in enumerate(xps) if i != k and span[i] < 300.0]


def _region_evidence(regions: list[XPSSpectrum], cands: list[str], hv: float, shift: float,
                     tolerance: float) -> dict[str, tuple[float, str]]:
    """Elements seen in labelled high-resolution regions: element -> (score, region)."""
    from ncmsurf.xps._peaks import normalize_region

    out: dict[str, tuple[float, str]] = {}
    for r in regions:
        if not r.region:
            continue
        label = normalize_region(r.region)
        el = label.split(" ")[0]
        if el not in cands:
            continue
        lo, hi = float(r.binding_energy.min()), float(r.binding_energy.max())
        width = max(3.0, 0.25 * (hi - lo))
        try:
            pk = find_peaks(r, min_snr=3.0, background_width=width, max_fwhm=8.0)
        except ValidationError:
            continue
        lvl = [ln for ln in element_lines(el, hv) if ln.kind == "core" and ln.name.startswith(label)
               and lo <= ln.binding_energy - shift <= hi]
        best = 0.0
        for ln in lvl:
            d = np.abs(pk.binding_energy.to_numpy() - (ln.binding_energy - shift))
            ok = d <= max(tolerance, 2.5)
            if ok.any():
                snr = float(pk.snr.to_numpy()[ok].max())
                best = max(best, 1.0 - float(np.exp(-(snr - 3.0) / 3.0)))
        if best > out.get(el, (0.0, ""))[0]:
            out[el] = (best, label)
    return out


def identify(survey: XPSSpectrum | list[XPSSpectrum], *, excitation_energy: float | None = None,
             charge_shift: float | None = None, elements: list[str] | None = None, threshold: float = THRESHOLD,
             tolerance: float = 2.0, min_snr: float = 5.0) -> pd.DataFrame:
    """Peaks of a survey with candidate core levels and Auger lines, each with its element's score.

    Parameters
    ----------
    survey : XPSSpectrum or list of XPSSpectrum
        A wide scan (binding energy, counts), or the spectra of one file: the
        widest is the survey, labelled core-level regions (``region`` set,
        narrower than 300 eV) add evidence for their element when they hold
        a significant peak where its line is expected (an element whose
        lines are too weak in the survey is then still found; its score
        then comes from that region's signal-to-noise).
    excitation_energy : float, optional
        Photon energy, eV (default: the spectrum's, i.e. the file's or Al Kα).
        Auger lines are placed at ``hν − KE``.
    charge_shift : float, optional
        Shift added to the table's binding energies to match the spectrum;
        default estimated from the C 1s peak (0 when there is none).
    elements : list of str, optional
        Candidate elements (default: every element of the table, Li–U).
    threshold : float
        Elements scoring at least this are accepted (reported in
        ``attrs["elements"]``). The default 0.5 is the stated limit: on the
        test surveys no absent element reaches it.
    tolerance : float
        Largest distance between a predicted and a found line, eV (wider
        for broad lines and Auger lines).
    min_snr : float
        Peak detection limit (net height over Poisson noise).

    Returns
    -------
    pandas.DataFrame
        One row per (peak, candidate line): ``peak`` (index), ``binding_energy``,
        ``height``, ``snr``, ``candidate`` (e.g. ``"Ni 2p3/2"``, ``"O KLL"``),
        ``element``, ``kind`` (``"core"``/``"auger"``), ``expected`` (table
        binding energy + shift), ``score`` (the element's score, 0–1),
        ``assigned`` (the line of an accepted element that explains the
        peak). Peaks without any candidate have one row with empty
        candidate. ``attrs``: ``elements`` (accepted element → score),
        ``scores`` (every element with a non-zero score), ``charge_shift``,
        ``excitation_energy``, ``threshold``.
    """
    main, regions = _split(survey)
    hv = float(main.excitation_energy if excitation_energy is None else excitation_energy)
    peaks = find_peaks(main, min_snr=min_snr)
    table = core_levels()["elements"]
    cands = list(table) if elements is None else list(elements)
    unknown = [e for e in cands if e not in table]
    if unknown:
        raise ValidationError(f"elements: {unknown} not in the core-level table")
    lines = {el: element_lines(el, hv) for el in cands}
    if charge_shift is None:
        # the C 1s maximum is not always adventitious carbon (carbides, C-N, carbonate): keep the shift
        # (C 1s-based or none) whose accepted elements explain more of the peak area, then refine it on the
        # matched core lines
        trials = [_greedy(cands, lines, peaks, sh, tolerance, threshold) + (sh,)
                  for sh in sorted({0.0, round(_charge_shift(peaks), 2)})]
        best = max(trials, key=lambda t: t[3])
        shift = best[5]
        if best[4]:
            shift = shift - float(np.clip(np.median(best[4]), -1.0, 1.0))
    else:
        shift = float(charge_shift)
    accepted, scores, assigned, _, _ = _greedy(cands, lines, peaks, shift, tolerance, threshold)
    for el, (sc, _label) in _region_evidence(regions, cands, hv, shift, tolerance).items():
        scores[el] = max(scores.get(el, 0.0), sc)
        if sc >= threshold and el not in accepted:
            accepted[el] = sc
    rows = []
    for j in range(len(peaks)):
        p = peaks.iloc[j]
        found = False
        for el in cands:
            for ln in lines[el]:
                exp = ln.binding_energy - shift
                t = _tolerance(ln, tolerance)
                if abs(p.binding_energy - exp) <= t:
                    found = True
                    rows.append({"peak": j, "binding_energy": p.binding_energy, "height": p.height, "snr": p.snr,
                                 "candidate": ln.name, "element": el, "kind": ln.kind, "expected": exp,
                                 "score": scores.get(el, 0.0), "assigned": assigned.get(j, "") == ln.name
                                 and el in accepted})
        if not found:
            rows.append({"peak": j, "binding_energy": p.binding_energy, "height": p.height, "snr": p.snr,
                         "candidate": "", "element": "", "kind": "", "expected": np.nan, "score": 0.0,
                         "assigned": False})
    df = pd.DataFrame(rows)
    if not df.empty:
        df = df.sort_values(["peak", "score"], ascending=[True, False]).reset_index(drop=True)
    df.attrs.update({"elements": dict(sorted(accepted.items(), key=lambda kv: -kv[1])),
                     "scores": {k: round(v, 4) for k, v in sorted(scores.items(), key=lambda kv: -kv[1]) if v > 0},
                     "charge_shift": shift, "excitation_energy": hv, "threshold": float(threshold),
                     "citations": ["morhac1997", "scofield1973"]})
    return df


def suggest_regions(survey: XPSSpectrum | pd.DataFrame, *, width: float = 20.0, **kw: Any) -> pd.DataFrame:
    """Core-level regions worth a high-resolution scan for the elements a survey holds.

    For each accepted element (see :func:`identify`), its strongest core
    level (both spin–orbit lines), with a window of ``width`` eV around it
    (doublets widened to hold both lines) and the shipped preset when there
    is one.

    Returns
    -------
    pandas.DataFrame
        ``region`` (e.g. ``"Ni 2p"``), ``element``, ``center`` (eV, charge
        shift applied), ``low``, ``high``, ``score``, ``preset`` (name or "").

    Examples
    --------
    >>> from ncmsurf.datasets.xps import synthetic_survey
    >>> regs = suggest_regions(synthetic_survey({"C": 1.0, "O": 2.0, "Al": 1.0}, seed=0))
    >>> sorted(regs.region)
    ['Al 2p', 'C 1s', 'O 1s']
    """
    ident = survey if isinstance(survey, pd.DataFrame) else identify(survey, **kw)
    hv = float(ident.attrs["excitation_energy"])
    shift = float(ident.attrs["charge_shift"])
    shipped = set(presets())
    rows = []
    for el, sc in ident.attrs["elements"].items():
        core = [ln for ln in element_lines(el, hv) if ln.kind == "core"]
        by_level: dict[str, list[Line]] = {}
        for ln in core:
            lvl = ln.name.split(" ", 1)[1][:2]
            by_level.setdefault(f"{el} {lvl}", []).append(ln)
        strength = {k: sum(ln.intensity for ln in v) for k, v in by_level.items()}
        top = max(strength.values())
        # the shipped preset's level, else a spin-orbit (p, d, f) level nearly as strong as the strongest
        pick = [k for k in strength if k in shipped] or [k for k in strength
                                                         if k[-1] != "s" and strength[k] >= 0.5 * top]
        region = max(pick or strength, key=lambda k: strength[k])
        lns = by_level[region]
        bes = [ln.binding_energy - shift for ln in lns]
        lo, hi = min(bes) - width / 2, max(bes) + width / 2
        rows.append({"region": region, "element": el, "center": float(np.mean(bes)), "low": lo, "high": hi,
                     "score": sc, "preset": region if region in shipped else ""})
    return pd.DataFrame(rows, columns=["region", "element", "center", "low", "high", "score", "preset"])
