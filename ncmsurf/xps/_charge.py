"""Charge referencing of XPS spectra: adventitious C 1s, lattice O 1s or a named internal reference.

Every spectrum is shifted by the shift measured on a reference spectrum *of
its own sample*; a spectrum whose sample has no usable reference is warned
about and left unshifted unless ``borrow=True``. The choice is recorded in
``meta`` (``charge_shift``, ``charge_reference``, ``charge_reference_position``,
``charge_reference_target``, ``charge_checks``).

References and their default targets and search windows (binding energy, eV):

========  ====================================================  =======  ===============
name      what is located                                        target   window
========  ====================================================  =======  ===============
C 1s      maximum of the background-subtracted adventitious      284.8    278.0-292.0
          carbon line
O 1s      the lowest-binding-energy significant O 1s maximum     529.4    524.0-534.0
          (metal-oxide lattice oxygen of a layered oxide)
Au 4f     Au 4f7/2 of a gold reference                           84.0     target ± 4
Ag 3d     Ag 3d5/2 of a silver reference                         368.2    target ± 4
Cu 2p     Cu 2p3/2 of a copper reference                         932.6    target ± 4
other     maximum in the window (``to`` must be given)           —        target ± 4
========  ====================================================  =======  ===============

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import XPSSpectrum
>>> be = np.linspace(280, 295, 301)
>>> c1s = XPSSpectrum(be, 100 + 1e4 * np.exp(-((be - 285.6) / 0.7) ** 2), region="C 1s")
>>> out = charge_correct([c1s])
>>> round(out[0].meta["charge_shift"], 2), out[0].meta["charge_reference"]
(-0.8, 'C 1s')
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ncmsurf.core.errors import NcmsurfWarning, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.units import magnitude
from ncmsurf.xps._backgrounds import shirley
from ncmsurf.xps._peaks import normalize_region

__all__ = ["REFERENCES", "ChargeReferenceError", "ChargeReferenceWarning", "charge_correct", "describe_spectrum",
           "reference_position"]


class ChargeReferenceWarning(NcmsurfWarning):
    """The charge reference looks unsafe (carbide, charging, missing, references that disagree)."""


class ChargeReferenceError(ValidationError):
    """A charge shift was refused (larger than the stated limit: a wrong reference line)."""


@dataclass(frozen=True)
class _Ref:
    target: float
    window: tuple[float, float] | None
    mode: str  # "max" or "lowest"
    label: str


REFERENCES: dict[str, _Ref] = {
    "C 1s": _Ref(284.8, (278.0, 292.0), "max", "adventitious carbon C-C/C-H"),
    "O 1s": _Ref(529.4, (524.0, 534.0), "lowest", "metal-oxide lattice oxygen"),
    "Au 4f": _Ref(84.0, None, "max", "Au 4f7/2 internal reference"),
    "Ag 3d": _Ref(368.2, None, "max", "Ag 3d5/2 internal reference"),
    "Cu 2p": _Ref(932.6, None, "max", "Cu 2p3/2 internal reference"),
}
"""Named references: region → default target, search window, how the peak is located, what it is."""


def describe_spectrum(s: XPSSpectrum) -> str:
    """A short text naming where a spectrum came from (file, block, sample), for messages.

    Examples
    --------
    >>> from ncmsurf.core.models import XPSSpectrum
    >>> describe_spectrum(XPSSpectrum([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], region="C 1s"))
    "spectrum 'C 1s'"
    """
    m = s.meta
    parts: list[str] = []
    src = m.get("source_file") or m.get("path")
    if src:
        parts.append(f"file {src}")
    else:
        for line in m.get("block_comment", []) or []:
            if isinstance(line, str) and line.strip().lower().startswith("file:"):
                parts.append(f"file {line.split(':', 1)[1].strip()}")
                break
        else:
            f = m.get("file")
            if isinstance(f, Mapping) and f.get("experiment"):
                parts.append(f"experiment {f['experiment']}")
    if "block_index" in m:
        parts.append(f"block {m['block_index']} ({m.get('block_identifier', s.region)!r})")
    text = f"spectrum {s.region!r}" if s.region else "spectrum"
    if s.sample is not None:
        text += f" of {s.sample.label}"
    return text + (" in " + ", ".join(parts) if parts else "")


def _group_key(s: XPSSpectrum) -> Hashable:
    if s.sample is not None:
        return ("sample", s.sample)
    m = s.meta
    src = m.get("source_file")
    ident = m.get("sample_identifier")
    if src or ident:
        return ("file", str(src or ""), str(ident or ""))
    return ("none",)


def _net(s: XPSSpectrum, window: tuple[float, float] | None) -> tuple[np.ndarray, np.ndarray, float]:
    be = s.binding_energy
    order = np.argsort(be)
    x, y = be[order], s.intensity[order]
    if window is not None:
        keep = (x >= window[0]) & (x <= window[1])
        if keep.sum() < 7:
            return x[:0], y[:0], 0.0
        x, y = x[keep], y[keep]
    net = y - shirley(x, y, average=3)
    if s.units == "counts" and np.all(y >= 0):
        noise = float(np.sqrt(max(float(np.median(y)), 1.0)))
    else:
        d = np.diff(y)
        noise = float(np.median(np.abs(d - np.median(d))) / 0.6745 / np.sqrt(2.0)) if d.size else 0.0
    return x, net, noise


def _refine(x: np.ndarray, net: np.ndarray, i: int) -> float:
    if 0 < i < x.size - 1:
        x0, x1 = x[i - 1], x[i]
        y0, y1, y2 = net[i - 1: i + 2]
        den = y0 - 2 * y1 + y2
        return float(x1 + 0.5 * (x1 - x0) * (y0 - y2) / den) if den != 0 else float(x1)
    return float(x[i])


def reference_position(s: XPSSpectrum, reference: str = "C 1s", *,
                       window: tuple[float, float] | None = None, min_snr: float = 5.0) -> float | None:
    """Binding energy of the reference peak in ``s``, or None when the window holds no significant peak.

    ``"max"`` references take the maximum of the Shirley-subtracted signal
    (parabola through the top three points); ``"O 1s"`` takes the
    lowest-binding-energy local maximum above 25 % of the largest one
    (lattice oxygen lies below hydroxide, carbonate and adsorbed water).

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.core.models import XPSSpectrum
    >>> be = np.linspace(524, 540, 321)
    >>> y = 200 + 9e3 * np.exp(-((be - 529.9) / 0.6) ** 2) + 1.2e4 * np.exp(-((be - 531.8) / 0.8) ** 2)
    >>> round(reference_position(XPSSpectrum(be, y, region="O 1s"), "O 1s"), 1)
    529.9
    """
    key = normalize_region(reference)
    ref = REFERENCES.get(key)
    win = window if window is not None else (ref.window if ref is not None else None)
    x, net, noise = _net(s, win)
    if x.size < 7:
        return None
    i = int(np.argmax(net))
    if not (net[i] > 0 and net[i] >= min_snr * max(noise, 1e-300)):
        return None
    if ref is not None and ref.mode == "lowest":
        k = max(3, int(round(0.3 / max(float(np.median(np.diff(x))), 1e-6))))
        sm = np.convolve(net, np.ones(k) / k, mode="same")
        maxima = np.flatnonzero((sm[1:-1] > sm[:-2]) & (sm[1:-1] >= sm[2:])) + 1
        peaks = [int(p) for p in maxima if sm[p] >= 0.25 * float(sm.max()) and sm[p] >= min_snr * noise]
        if peaks:
            j = int(peaks[0])
            lo, hi = max(0, j - k), min(x.size, j + k + 1)
            i = lo + int(np.argmax(net[lo:hi]))
    return _refine(x, net, i)


def _check_shift(s: XPSSpectrum, key: str, pos: float, target: float, max_shift: float) -> float:
    shift = target - pos
    if abs(shift) > max_shift:
        raise ChargeReferenceError(
            f"charge_correct: {describe_spectrum(s)}: the {key} reference peak is at {pos:.2f} eV, a shift of "
            f"{shift:+.2f} eV to {target} eV is larger than max_shift={max_shift:g} eV; the window holds "
            "another line or the sample charges strongly (set window=, reference= or max_shift=)")
    if abs(shift) > 3.0:
        warnings.warn(f"charge_correct: {describe_spectrum(s)}: {key} peak found at {pos:.2f} eV, "
                      f"{abs(shift):.2f} eV from {target} eV: strong charging or a wrong reference",
                      ChargeReferenceWarning, stacklevel=4)
    if key == "C 1s":
        x, net, _ = _net(s, None)
        low = (x < pos - 1.3) & (x > pos - 4.0)
        top = float(np.max(net[np.abs(x - pos) < 0.5])) if np.any(np.abs(x - pos) < 0.5) else float(net.max())
        if np.any(low) and float(np.max(net[low])) > 0.3 * top:
            warnings.warn(f"charge_correct: {describe_spectrum(s)}: C 1s has a strong low-binding-energy "
                          "component (carbide or differential charging); the adventitious-carbon reference "
                          "may be unsafe", ChargeReferenceWarning, stacklevel=4)
    return shift


def _as_map(value: Any, refs: list[str], name: str) -> dict[str, Any]:
    if isinstance(value, Mapping):
        out = {normalize_region(str(k)): v for k, v in value.items()}
        unknown = set(out) - set(refs)
        if unknown:
            raise ValidationError(f"{name}: {sorted(unknown)} are not among the references {refs}")
        return out
    if value is None:
        return {}
    if len(refs) > 1 and name == "window":
        raise ValidationError("window: with several references give a mapping reference -> (low, high)")
    return {refs[0]: value}


def charge_correct(spectra: XPSSpectrum | Sequence[XPSSpectrum], *, reference: str | Sequence[str] = "C 1s",
                   to: Any = None, window: Any = None, max_shift: float = 5.0, tolerance: float = 0.3,
                   borrow: bool = False) -> Any:
    """Shift spectra so that the reference peak of their own sample sits at ``to`` eV.

    Parameters
    ----------
    spectra : XPSSpectrum or sequence of XPSSpectrum
    reference : str or sequence of str
        ``"C 1s"`` (adventitious carbon, default), ``"O 1s"`` (lattice oxygen
        of the oxide) or any region name used as an internal reference
        (``"Au 4f"``, ``"Ag 3d"``, ...; see :data:`REFERENCES`). With several,
        the first one a sample has sets its shift and the others are checks.
    to : float, pint.Quantity or mapping, optional
        Target binding energy (default per reference: 284.8 eV for C 1s,
        529.4 eV for O 1s lattice oxygen); a mapping reference → target
        with several references. Required for references not in the table.
    window : (float, float) or mapping, optional
        Binding-energy window searched for the reference peak (default per
        reference; see the module table). A window holding no significant
        peak means the sample has no usable reference.
    max_shift : float
        Largest accepted shift, eV: a larger one raises
        :class:`ChargeReferenceError` naming the file.
    tolerance : float
        References of one sample that disagree by more than this (eV) warn.
    borrow : bool
        Give spectra of a sample without its own reference the shift of the
        other samples (the median of their shifts) instead of leaving them
        unshifted.

    Returns
    -------
    XPSSpectrum or list of XPSSpectrum
        Shifted copies with ``meta["charge_shift"]`` (eV, 0.0 when left
        unshifted), ``meta["charge_reference"]`` (the reference used, or None),
        ``meta["charge_reference_position"]`` and ``..._target`` (eV),
        ``meta["charge_checks"]`` (reference → shift it would give) and,
        when borrowed, ``meta["charge_borrowed"]``.

    Raises
    ------
    ChargeReferenceError
        A shift larger than ``max_shift``.
    ValidationError
        Bad arguments.

    Warns
    -----
    ChargeReferenceWarning
        A sample without a reference (left unshifted), references that
        disagree by more than ``tolerance``, a shift above 3 eV, a carbide-like
        C 1s.

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.core.models import XPSSpectrum
    >>> be = np.linspace(520, 540, 401)
    >>> o1s = XPSSpectrum(be, 300 + 8e3 * np.exp(-((be - 530.0) / 0.6) ** 2), region="O 1s", sample="P-NCM")
    >>> round(charge_correct(o1s, reference="O 1s").meta["charge_shift"], 2)
    -0.6
    """
    single = isinstance(spectra, XPSSpectrum)
    items: list[XPSSpectrum] = [spectra] if isinstance(spectra, XPSSpectrum) else list(spectra)
    for s in items:
        if not isinstance(s, XPSSpectrum):
            raise ValidationError(f"charge_correct: expected XPSSpectrum objects, got {type(s).__name__}")
    refs = [normalize_region(reference)] if isinstance(reference, str) else [normalize_region(r) for r in reference]
    if not refs:
        raise ValidationError("reference: give at least one reference region")
    targets_in = _as_map(to, refs, "to")
    windows_in = _as_map(window, refs, "window")
    targets: dict[str, float] = {}
    for r in refs:
        if r in targets_in:
            targets[r] = magnitude(targets_in[r], "eV", name="to")
        elif r in REFERENCES:
            targets[r] = REFERENCES[r].target
        else:
            raise ValidationError(f"to: no default target for the reference {r!r}; give to=<binding energy>")
    windows: dict[str, tuple[float, float] | None] = {}
    for r in refs:
        w = windows_in.get(r)
        if w is not None:
            try:
                lo, hi = magnitude(w[0], "eV", name="window"), magnitude(w[1], "eV", name="window")
            except (TypeError, IndexError) as exc:
                raise ValidationError(f"window: expected (low, high) in eV, got {w!r}") from exc
            if not lo < hi:
                raise ValidationError(f"window: low must be < high, got {w!r}")
            windows[r] = (lo, hi)
        elif r in REFERENCES and REFERENCES[r].window is not None:
            windows[r] = REFERENCES[r].window
        else:
            windows[r] = (targets[r] - 4.0, targets[r] + 4.0)
    if not max_shift > 0:
        raise ValidationError(f"max_shift: must be > 0 eV, got {max_shift}")

    # reference spectra of each group: group -> ref -> list of (spectrum index, shift)
    found: dict[Hashable, dict[str, list[tuple[int, float, float]]]] = {}
    for k, s in enumerate(items):
        if s.region is None:
            continue
        key = normalize_region(s.region)
        if key not in refs:
            continue
        pos = reference_position(s, key, window=windows[key])
        g = found.setdefault(_group_key(s), {})
        if pos is None:
            continue
        shift = _check_shift(s, key, pos, targets[key], float(max_shift))
        g.setdefault(key, []).append((k, shift, pos))

    def pick(cands: list[tuple[int, float, float]], s: XPSSpectrum, k: int) -> tuple[int, float, float]:
        if len(cands) == 1:
            return cands[0]
        for c in cands:  # the reference measured under the same conditions (angle, position) or itself
            if c[0] == k:
                return c
        ev = s.meta.get("exp_variables")
        same = [c for c in cands if ev is not None and items[c[0]].meta.get("exp_variables") == ev]
        if len(same) == 1:
            return same[0]
        bi = s.meta.get("block_index")
        if isinstance(bi, int):
            return min(cands, key=lambda c: abs(int(items[c[0]].meta.get("block_index", 10**9)) - bi))
        return cands[0]

    group_shift: dict[Hashable, float] = {}
    for gk, g in found.items():
        for r in refs:
            if g.get(r):
                group_shift[gk] = float(np.median([c[1] for c in g[r]]))
                break
    out: list[XPSSpectrum] = []
    warned: set[Hashable] = set()
    for k, s in enumerate(items):
        gk = _group_key(s)
        g = found.get(gk, {})
        primary = next((r for r in refs if g.get(r)), None)
        if primary is None:
            if borrow and group_shift:
                d = float(np.median(list(group_shift.values())))
                out.append(s.shifted(d).with_meta(charge_shift=d, charge_reference=None, charge_borrowed=True,
                                                  charge_checks={}))
                continue
            if gk not in warned:
                warned.add(gk)
                looked = ", ".join(f"{r} searched in {w[0]:g}-{w[1]:g} eV" for r in refs
                                   if (w := windows[r]) is not None)
                warnings.warn(f"charge_correct: no {' or '.join(refs)} reference ({looked}) for "
                              f"{describe_spectrum(s)}; "
                              "left unshifted (pass borrow=True to use other samples' shift)",
                              ChargeReferenceWarning, stacklevel=2)
            out.append(s.with_meta(charge_shift=0.0, charge_reference=None, charge_checks={}))
            continue
        idx, d, pos = pick(g[primary], s, k)
        checks: dict[str, float] = {}
        for r in refs:
            if r == primary or not g.get(r):
                continue
            _, d2, _ = pick(g[r], s, k)
            checks[r] = float(d2)
            if abs(d2 - d) > tolerance and (gk, r) not in warned:
                warned.add((gk, r))
                warnings.warn(f"charge_correct: {describe_spectrum(s)}: the {primary} reference gives "
                              f"{d:+.2f} eV but {r} gives {d2:+.2f} eV ({abs(d2 - d):.2f} eV apart, more than "
                              f"{tolerance:g} eV): differential charging or a misassigned reference",
                              ChargeReferenceWarning, stacklevel=2)
        out.append(s.shifted(d).with_meta(charge_shift=float(d), charge_reference=primary,
                                          charge_reference_position=float(pos),
                                          charge_reference_target=float(targets[primary]), charge_checks=checks))
    return out[0] if single else out
