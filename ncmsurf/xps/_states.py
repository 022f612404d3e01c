"""Chemical-state numbers with a stated model: the Ni2+ fraction, the carbonate share and the Al/Ni ratio.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_spectrum
>>> spec = synthetic_spectrum("Ni 2p:multiplet", fractions={"Ni2+": 0.4, "Ni3+": 0.6}, area=2e6, seed=2)
>>> v, e = ni2_fraction(spec, model="multiplet")
>>> abs(v - ni2_truth(0.4, 0.6)) < 0.03
True
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import Quality
from ncmsurf.xps._peaks import normalize_region

__all__ = ["al_ni_ratio", "carbonate_share", "coated_o1s_fit", "ni2_fraction", "ni2_truth"]

NI2_MODELS = {"two-doublet": "Ni 2p", "multiplet": "Ni 2p:multiplet"}


def _family_totals(fit: Any, names: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Each named component's area plus its satellites' (by parent), with their covariance."""
    ds = fit.to_dataset()
    comps = [str(c) for c in ds["component"].values]
    parent = {c.name: getattr(c, "parent", None) for c in fit.model_components}  # the fitted components
    M = np.zeros((len(names), len(comps)))
    for i, n in enumerate(names):
        if n not in comps:
            raise ValidationError(f"ni2_fraction: {n!r} is not a component of the fit ({comps})")
        for j, c in enumerate(comps):
            if c == n or parent.get(c) == n:
                M[i, j] = 1.0
    a = np.asarray(ds["area_value"].values, dtype=float)
    cov = np.asarray(ds["area_cov"].values, dtype=float)
    return M @ a, M @ cov @ M.T


def ni2_fraction(fit_or_spectrum: Any, *, model: str | None = None, name: str = "Ni2+",
                 among: Sequence[str] = ("Ni2+", "Ni3+"), background: str = "active-shirley") -> tuple[float, float]:
    """Ni²⁺ share (value, stderr) of the Ni²⁺ + Ni³⁺ signal, with the model stated.

    Models:

    - ``"two-doublet"`` (the ``"Ni 2p"`` preset): the share of the Ni²⁺
      doublet in the area of the two main doublets (satellites excluded),
      the study's historical definition. It absorbs the NiO multiplet
      shoulder at 855.7 eV into Ni³⁺ (NiO comes out about 65 % Ni³⁺).
    - ``"multiplet"`` (the ``"Ni 2p:multiplet"`` preset): each state is a
      whole envelope (its first line and its tied multiplet/shake-up lines,
      both spin–orbit halves); the share is envelope area over envelope
      areas, so NiO-like spectra come out Ni²⁺.

    Parameters
    ----------
    fit_or_spectrum : XPSFit or XPSSpectrum
        A fit (its model is recognised from its components) or a Ni 2p
        spectrum (fitted with the chosen model's preset; with the multiplet
        model, refitted without Ni0 when the metal holds less than 1 % of
        the main area: a metal line pinned at zero area makes the intervals
        of the Ni2+ share about twice too wide).
    model : {"two-doublet", "multiplet"}, optional
        Default: from the fit; ``"multiplet"`` for a spectrum.
    name, among : str, sequence of str
        The state and the states it is a share of (e.g. ``name="Ni0"``,
        ``among=("Ni0", "Ni2+", "Ni3+")`` with the multiplet model).
    background : str
        Background when a spectrum is fitted.

    Returns
    -------
    (float, float)
        Share and its standard error from the area covariance.
    """
    from ncmsurf.xps._fit import fit as xps_fit

    fit = fit_or_spectrum
    if isinstance(fit_or_spectrum, XPSSpectrum):
        m = model or "multiplet"
        if m not in NI2_MODELS:
            raise ValidationError(f"model: expected one of {sorted(NI2_MODELS)}, got {m!r}")
        fit = xps_fit(fit_or_spectrum, NI2_MODELS[m], background=background)
        if m == "multiplet" and name != "Ni0" and "Ni0" not in among and fit.success:
            fit = _without_absent_metal(fit_or_spectrum, fit, background)
    comps = set(fit.areas)
    inferred = "multiplet" if any(c.startswith("Ni sat Ni2+") for c in comps) else "two-doublet"
    m = model or inferred
    if m != inferred:
        raise ValidationError(f"model: the fit uses the {inferred!r} model, not {m!r}")
    names = list(among) if name in among else [*among, name]
    if m == "multiplet":
        a, cov = _family_totals(fit, names)
    else:
        ds = fit.to_dataset()
        allc = [str(c) for c in ds["component"].values]
        idx = [allc.index(n) for n in names]
        a = np.asarray(ds["area_value"].values, dtype=float)[idx]
        cov = np.asarray(ds["area_cov"].values, dtype=float)[np.ix_(idx, idx)]
    s = float(a.sum())
    k = names.index(name)
    if not s > 0:
        return float("nan"), float("nan")
    g = -a[k] / s**2 * np.ones(a.size)
    g[k] += 1.0 / s
    var = float(g @ cov @ g)
    return float(a[k] / s), float(np.sqrt(var)) if var >= 0 else float("nan")


def _without_absent_metal(spec: XPSSpectrum, fit: Any, background: str) -> Any:
    """The multiplet fit refitted without Ni0 (and its plasmon lines) when Ni0 holds < 1 % of the main area.

    A metal line pinned at zero area sits on its bound, where the linear covariance overstates the spread of
    the other envelopes' areas (the 95 % intervals would cover far more than 95 %); a sample without metal is
    fitted without it.
    """
    from ncmsurf.xps._fit import fit as xps_fit
    from ncmsurf.xps._verdict import DEGENERATE_SHARE

    mains = [c for c in fit.main_components if c in ("Ni0", "Ni2+", "Ni3+")]
    if "Ni0" not in mains:
        return fit
    if fit.fraction("Ni0", among=mains)[0] >= DEGENERATE_SHARE:
        return fit
    comps = [c for c in fit.model_components if c.name != "Ni0" and getattr(c, "parent", None) != "Ni0"]
    refit = xps_fit(spec, comps, background=background)
    return refit if refit.success else fit


def ni2_truth(ni2: float, ni3: float) -> float:
    """Envelope-area Ni²⁺ share of a ``"Ni 2p:multiplet"`` synthetic spectrum made with main-line ``fractions``.

    The generator's fractions are shares of the main (first) lines; each
    envelope adds its tied lines in fixed proportion.

    Examples
    --------
    >>> round(ni2_truth(0.5, 0.5), 3)
    0.672
    """
    from ncmsurf.xps._peaks import preset_model

    comps = preset_model("Ni 2p:multiplet")
    fam = {p: 1.0 + sum(c.ratio for c in comps if getattr(c, "parent", None) == p)  # type: ignore[attr-defined]
           for p in ("Ni2+", "Ni3+")}
    a2, a3 = ni2 * fam["Ni2+"], ni3 * fam["Ni3+"]
    return float(a2 / (a2 + a3))


def al_ni_ratio(al_fit: Any, ni_fit: Any = None, *, imfp_exponent: float = 0.75, rsf: Any = "scofield-alka",
                transmission: Any = None) -> tuple[float, float, str]:
    """Al/Ni atomic ratio from Al 2p and Ni 2p fits: (value, stderr, the corrections applied).

    Uses :func:`ncmsurf.xps.quantify` (the files' transmission when both fits
    carry it, the IMFP exponent, 0.75 by default). The Al area is the sum of
    the Al components of the Al 2p fit, without the Ni 3p lines of its
    window, and its variance comes from their covariance (``1ᵀ C 1`` over the
    Al components only); the Ni area is the whole Ni 2p fit, satellites
    included. Given one :class:`~ncmsurf.xps.JointFit` holding both regions
    (:func:`coated_o1s_fit` with a Ni 2p spectrum), the areas come from the
    joint fit and the ratio's error keeps their covariance (the Ni 3p lines
    under Al 2p are tied to the Ni 2p area, so the two areas are correlated).

    Examples
    --------
    >>> from ncmsurf.datasets.xps import synthetic_coated_ncm
    >>> case = synthetic_coated_ncm(seed=1)
    >>> joint = coated_o1s_fit(case["spectra"])
    >>> r, e, how = al_ni_ratio(joint)
    >>> r2, e2, _ = al_ni_ratio(joint.fits["Al 2p"], joint.fits["Ni 2p"])
    >>> bool(abs(r - r2) < 1e-9 and e > 0)
    True
    """
    from ncmsurf.xps._joint import JointFit
    from ncmsurf.xps._quantify import _fit_total, quantify

    if isinstance(al_fit, JointFit):
        if ni_fit is not None:
            raise ValidationError("al_ni_ratio: give a joint fit alone, or an Al 2p and a Ni 2p fit")
        missing = [r for r in ("Al 2p", "Ni 2p") if r not in al_fit.regions]
        if missing:
            raise ValidationError(f"al_ni_ratio: the joint fit has no {missing} region ({al_fit.regions})")
        keys, a, cov = al_fit.area_covariance()
        al_idx = [i for i, k in enumerate(keys) if k.startswith("Al 2p|") and not _is_ni3p(k.split("|", 1)[1])]
        ni_idx = [i for i, k in enumerate(keys) if k.startswith("Ni 2p|")]
        al_f, ni_f = al_fit.fits["Al 2p"], al_fit.fits["Ni 2p"]
    else:
        if ni_fit is None:
            raise ValidationError("al_ni_ratio: give the Ni 2p fit (or one joint fit holding both regions)")
        al_f, ni_f = al_fit, ni_fit
        al_keys = [str(c) for c in al_f.to_dataset()["component"].values]
        ni_keys = [str(c) for c in ni_f.to_dataset()["component"].values]
        n_al = len(al_keys)
        a = np.concatenate([np.asarray(al_f.to_dataset()["area_value"].values, float),
                            np.asarray(ni_f.to_dataset()["area_value"].values, float)])
        cov = np.zeros((a.size, a.size))
        cov[:n_al, :n_al] = np.asarray(al_f.to_dataset()["area_cov"].values, float)
        cov[n_al:, n_al:] = np.asarray(ni_f.to_dataset()["area_cov"].values, float)
        al_idx = [i for i, k in enumerate(al_keys) if not _is_ni3p(k)]
        ni_idx = [n_al + i for i in range(len(ni_keys))]
    g = np.zeros((2, a.size))
    g[0, al_idx] = 1.0
    g[1, ni_idx] = 1.0
    tot = g @ a
    c2 = g @ cov @ g.T
    a_ke = al_f.excitation_energy - al_f.params["Al2O3.center"][0] if "Al2O3.center" in al_f.params else None
    _, _, ni_be = _fit_total(ni_f)
    ke = {"Ni 2p": ni_f.excitation_energy - (ni_be if ni_be is not None else float("nan"))}
    if a_ke is not None:
        ke["Al 2p"] = a_ke
    # the sensitivity factors are exact numbers: quantify gives the ratio's scale, the areas' covariance its error
    q = quantify({"Al 2p": (float(tot[0]), 0.0), "Ni 2p": (float(tot[1]), 0.0)}, rsf=rsf,
                 transmission=transmission, kinetic_energy=ke, imfp_exponent=imfp_exponent)
    r, _ = q.ratio("Al 2p", "Ni 2p")
    if not (tot[0] > 0 and tot[1] > 0):
        return float(r), float("nan"), q.corrections
    rel2 = c2[0, 0] / tot[0] ** 2 + c2[1, 1] / tot[1] ** 2 - 2.0 * c2[0, 1] / (tot[0] * tot[1])
    return float(r), float(abs(r) * math.sqrt(rel2)) if rel2 >= 0 else float("nan"), q.corrections


def _is_ni3p(component: str) -> bool:
    return component in ("Ni 3p", "Ni sat 3p")


AL0_DIFFERENTIAL_BOUNDS = (70.3, 73.3)
"""Centre bounds of the Al 2p metal line in :func:`coated_o1s_fit` (eV): on a floating foil the metal under the
oxide does not charge like the oxide surface the shared shift is measured on (the Al foil of ARXPS.vms puts it
about 1.5 eV below its Fermi-referenced 72.7 eV after the adventitious-carbon shift)."""


def _by_region(spectra: Mapping[str, XPSSpectrum] | Sequence[XPSSpectrum]) -> dict[str, XPSSpectrum]:
    items = list(spectra.values()) if isinstance(spectra, Mapping) else list(spectra)
    out: dict[str, XPSSpectrum] = {}
    for s in items:
        if not isinstance(s, XPSSpectrum):
            raise ValidationError(f"spectra: expected XPSSpectrum objects, got {type(s).__name__}")
        if s.region is None:
            continue
        r = normalize_region(s.region)
        if r in out:
            raise ValidationError(f"spectra: two {r} spectra; give the spectra of one sample and one angle")
        out[r] = s
    samples = {s.sample for s in out.values() if s.sample is not None}
    if len(samples) > 1:
        raise ValidationError(f"spectra: more than one sample ({sorted(str(x) for x in samples)}); give one sample")
    return out


def coated_o1s_fit(spectra: Mapping[str, XPSSpectrum] | Sequence[XPSSpectrum], *,
                   background: str = "active-shirley", imfp_exponent: float = 0.75) -> Any:
    """The O 1s fit of one coated sample, joint with Al 2p (and C 1s, Ni 2p when given); see :func:`carbonate_share`.

    Parameters
    ----------
    spectra : sequence or mapping of XPSSpectrum
        The core levels of one sample (one emission angle): O 1s and Al 2p
        at least; C 1s gives the shared charge shift, Ni 2p the Ni 3p lines
        of the Al 2p window.
    background : str
        Background of every region (default the active Shirley, refined in the fit).
    imfp_exponent : float
        IMFP exponent of the O/Al tie (see :func:`ncmsurf.xps.stoichiometric_tie`).

    Returns
    -------
    JointFit

    Raises
    ------
    ValidationError
        Without an O 1s or an Al 2p spectrum, or with spectra of several samples.
    """
    from ncmsurf.xps._fit import fit as xps_fit
    from ncmsurf.xps._joint import SharedShift, fit_joint, ni3p_tie, stoichiometric_tie
    from ncmsurf.xps._peaks import preset_model

    by = _by_region(spectra)
    for need in ("O 1s", "Al 2p"):
        if need not in by:
            raise ValidationError(f"coated_o1s_fit: no {need} spectrum among {sorted(by)}")
    use: dict[str, XPSSpectrum] = {r: by[r] for r in ("O 1s", "Al 2p", "C 1s", "Ni 2p") if r in by}
    constraints: list[Any] = []
    shift = 0.0
    if "C 1s" in use:
        constraints.append(SharedShift(regions=tuple(use), reference=("C 1s", "C-C")))
        from ncmsurf.xps._charge import reference_position

        pos = reference_position(use["C 1s"], "C 1s")
        shift = 0.0 if pos is None else float(pos) - 284.8
    al = use["Al 2p"]
    be = al.binding_energy
    rng = (float(be.min()) - shift, float(be.max()) - shift)
    metal = [dataclasses.replace(c, center_bounds=AL0_DIFFERENTIAL_BOUNDS) if c.name == "Al0" else c
             for c in preset_model("Al 2p", excitation_energy=al.excitation_energy, be_range=rng)]
    coating = preset_model("Al 2p:coating", excitation_energy=al.excitation_energy, be_range=rng)
    # is there metal under the oxide? one quick fit of Al 2p alone (in the C 1s frame) decides the model
    try:
        single = xps_fit(al, metal, background=background, charge_shift=-shift)
        share = single.fraction("Al0")[0] if single.success else 0.0
    except FitError:
        share = 0.0
    al_model = metal if share >= 0.01 else coating
    models: dict[str, Any] = {"O 1s": "O 1s", "Al 2p": al_model}
    if "C 1s" in use:
        models["C 1s"] = "C 1s"
    if "Ni 2p" in use:
        models["Ni 2p"] = "Ni 2p"
    constraints.append(stoichiometric_tie(use, models, ("O 1s", "Al-O"), ("Al 2p", "Al2O3"), atoms_ratio=1.5,
                                          imfp_exponent=imfp_exponent))
    if "Ni 2p" in use and any(c.name == "Ni 3p" for c in al_model):
        constraints.append(ni3p_tie(use, models, imfp_exponent=imfp_exponent))
    elif "Ni 2p" in use:
        use.pop("Ni 2p")  # nothing ties it: leave it out of the joint fit
        models.pop("Ni 2p")
        constraints = [dataclasses.replace(c, regions=tuple(use)) if isinstance(c, SharedShift) else c
                       for c in constraints]
    return fit_joint(use, models, constraints=constraints, background=background)


def carbonate_share(spectra: Mapping[str, XPSSpectrum] | Sequence[XPSSpectrum], *,
                    background: str = "active-shirley") -> tuple[float, float, Quality]:
    """Carbonate share of the O 1s component area of one sample: ``(value, stderr, quality)``.

    The route depends on what the sample's spectra hold:

    - **O 1s and Al 2p** (an Al2O3-coated sample, or any alumina): the Al–O
      component of O 1s (531.0–531.6 eV) overlaps carbonate (531.5–532.2
      eV), so a single O 1s fit cannot apportion them. They are fitted
      jointly (:func:`coated_o1s_fit`, :func:`ncmsurf.xps.fit_joint`): the
      Al–O area is tied to the Al 2p Al2O3 area through O/Al = 1.5, the
      Scofield RSFs, the files' transmission and KE^0.75; with a C 1s
      spectrum one charge shift, measured on C–C at 284.8 eV, moves every
      region; with a Ni 2p spectrum the Ni 3p lines of the Al 2p window are
      tied to the Ni 2p area. Al 2p is fitted without a metal line unless a
      quick Al 2p fit gives the metal at least 1 % of its area.
    - **O 1s only**: a single O 1s fit; with the uncoated preset
      (``"O 1s:uncoated"``, no Al–O) when no spectrum says the sample is
      coated (its :class:`ncmsurf.Sample` ``coated`` flag), else with the
      coated preset and a ``suspect`` verdict (``unidentifiable``: Al–O and
      carbonate overlap without the Al 2p tie).

    The share is of the main O 1s components (lattice, Al–O, carbonate,
    C–O, adsorbed water; satellites none); its standard error comes from
    the (joint) covariance.

    Parameters
    ----------
    spectra : sequence or mapping of XPSSpectrum
        The core levels of one sample at one emission angle.
    background : str
        Background of every region (default the active Shirley).

    Returns
    -------
    (float, float, Quality)
        The share, its standard error and the verdict of the fit behind it
        (NaN, NaN and a failed verdict when no O 1s spectrum is given or
        the fit fails).

    Examples
    --------
    >>> from ncmsurf.datasets.xps import synthetic_coated_ncm
    >>> case = synthetic_coated_ncm(seed=4)
    >>> v, e, q = carbonate_share(case["spectra"])
    >>> bool(abs(v - case["truth"]["carbonate_share"]) < 3 * e), q.level
    (True, 'good')
    """
    from ncmsurf.xps._fit import fit as xps_fit

    nan = float("nan")
    try:
        by = _by_region(spectra)
    except ValidationError as exc:
        return nan, nan, Quality("failed", [("input", str(exc))])
    if "O 1s" not in by:
        return nan, nan, Quality("failed", [("input", f"no O 1s spectrum among {sorted(by)}")])
    try:
        if "Al 2p" in by:
            res = coated_o1s_fit(by, background=background)
            v, e = res.fraction("O 1s", "carbonate")
            return v, e, res.quality
        coated = any(s.sample is not None and s.sample.coated for s in by.values())
        single = xps_fit(by["O 1s"], "O 1s" if coated else "O 1s:uncoated", background=background)
    except FitError as exc:
        return nan, nan, Quality("failed", [("not_converged", f"carbonate_share: {exc}")])
    v, e = single.fraction("carbonate")
    q = single.quality
    if coated:
        q = q.with_reasons(suspect=[("unidentifiable", "coated sample without an Al 2p spectrum: Al-O and "
                                                       "carbonate overlap in a single O 1s fit")])
    return v, e, q
