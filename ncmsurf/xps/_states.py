"""Chemical-state numbers with a stated model: the Ni2+ fraction and the Al/Ni ratio.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_spectrum
>>> spec = synthetic_spectrum("Ni 2p:multiplet", fractions={"Ni2+": 0.4, "Ni3+": 0.6}, area=2e6, seed=2)
>>> v, e = ni2_fraction(spec, model="multiplet")
>>> abs(v - ni2_truth(0.4, 0.6)) < 0.03
True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum

__all__ = ["al_ni_ratio", "ni2_fraction", "ni2_truth"]

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
        spectrum (fitted with the chosen model's preset).
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


def al_ni_ratio(al_fit: Any, ni_fit: Any, *, imfp_exponent: float = 0.75, rsf: Any = "scofield-alka",
                transmission: Any = None) -> tuple[float, float, str]:
    """Al/Ni atomic ratio from Al 2p and Ni 2p fits: (value, stderr, the corrections applied).

    Uses :func:`ncmsurf.xps.quantify` (total fitted areas with their full
    covariance, the files' transmission when both fits carry it, and the
    IMFP exponent, 0.75 by default). The Al 2p area excludes the Ni 3p
    lines of its window.
    """
    from ncmsurf.xps._quantify import _fit_total, quantify

    tot, var, _ = _fit_total(al_fit)
    for n in ("Ni 3p", "Ni sat 3p"):
        if n in al_fit.areas:
            tot -= al_fit.areas[n][0]
    a_ke = al_fit.excitation_energy - al_fit.params["Al2O3.center"][0] if "Al2O3.center" in al_fit.params else None
    ni_tot, ni_var, ni_be = _fit_total(ni_fit)
    ke = {"Ni 2p": ni_fit.excitation_energy - ni_be}
    if a_ke is not None:
        ke["Al 2p"] = a_ke
    q = quantify({"Al 2p": (tot, float(np.sqrt(var))), "Ni 2p": (ni_tot, float(np.sqrt(ni_var)))}, rsf=rsf,
                 transmission=transmission, kinetic_energy=ke, imfp_exponent=imfp_exponent)
    r, e = q.ratio("Al 2p", "Ni 2p")
    return r, e, q.corrections
