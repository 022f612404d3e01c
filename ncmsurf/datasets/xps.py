"""Seeded synthetic XPS spectra with known truth, built from the shipped presets.

The spectrum is ``background + k * integral(peaks) + peaks`` (a Shirley-type
step that the ``"active-shirley"`` fit model reproduces exactly, and the
iterative Shirley approximates) with Poisson noise; :func:`synthetic_truth`
returns the exact parameters behind it.

Examples
--------
>>> spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.7, "Ni3+": 0.3}, seed=3)
>>> spec.region, bool(spec.binding_energy[0] > spec.binding_energy[-1])
('Ni 2p', True)
>>> truth = synthetic_truth("Ni 2p", fractions={"Ni2+": 0.7, "Ni3+": 0.3})
>>> truth["fractions"]["Ni2+"], truth["centers"]["Ni2+"]
(0.7, 854.4)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.xps._backgrounds import cumulative_integral
from ncmsurf.xps._engine import compile_model, evaluate
from ncmsurf.xps._peaks import Doublet, preset_info, preset_model, split_preset

__all__ = ["synthetic_coated_ncm", "synthetic_map", "synthetic_spectrum", "synthetic_stack", "synthetic_survey",
           "synthetic_truth"]


def _key(region: str) -> str:
    base, variant = split_preset(region)
    return base if variant is None else f"{base}:{variant}"


def _fractions(region: str, fractions: Mapping[str, float] | None,
               excitation_energy: float | None = None) -> dict[str, float]:
    mains = [c.name for c in preset_model(region, excitation_energy=excitation_energy) if c.kind != "satellite"]
    if fractions is None:
        return {m: 1.0 / len(mains) for m in mains}
    unknown = set(fractions) - set(mains)
    if unknown:
        raise ValidationError(f"fractions: {sorted(unknown)} are not main components of {region!r} ({mains})")
    vals = {m: float(fractions.get(m, 0.0)) for m in mains}
    tot = sum(vals.values())
    if any(v < 0 for v in vals.values()) or not tot > 0:
        raise ValidationError(f"fractions: must be >= 0 with a positive sum, got {dict(fractions)}")
    return {m: v / tot for m, v in vals.items()}


def synthetic_truth(region: str, *, fractions: Mapping[str, float] | None = None, area: float = 2e5,
                    shift: float = 0.0, excitation_energy: float | None = None) -> dict[str, Any]:
    """The exact parameters of :func:`synthetic_spectrum` with the same arguments.

    Returns
    -------
    dict
        ``"fractions"`` (main component → share of the main-component area),
        ``"areas"`` (component → total area incl. doublet partner; satellites
        included), ``"centers"`` (main component → main-line centre, eV),
        ``"params"`` (fit parameter name → value, as in ``XPSFit.params``).
    """
    key = _key(region)
    comps = preset_model(key, excitation_energy=excitation_energy)
    fr = _fractions(key, fractions, excitation_energy)
    cm = compile_model(comps, shift=shift)
    p = np.asarray(cm.init, dtype=float)
    params = dict(zip(cm.names, p.tolist()))
    params.update(cm.fixed)
    areas: dict[str, float] = {}
    for c in comps:
        if c.kind == "satellite":
            continue
        tot = fr[c.name] * float(area)
        main_line = tot / (1.0 + c.ratio) if isinstance(c, Doublet) else tot
        params[f"{c.name}.area"] = main_line
        areas[c.name] = tot
    for c in comps:
        if c.kind == "satellite":
            areas[c.name] = areas[c.parent] * c.ratio  # type: ignore[attr-defined]
    centers = {c.name: c.center + shift for c in comps if c.kind != "satellite"}
    return {"fractions": fr, "areas": areas, "centers": centers, "params": params}


def _curve(region: str, x: np.ndarray, truth: dict[str, Any], shift: float,
           excitation_energy: float | None = None) -> np.ndarray:
    cm = compile_model(preset_model(region, excitation_energy=excitation_energy), shift=shift)
    p = np.array([truth["params"][n] for n in cm.names], dtype=float)
    return evaluate(cm, p, x)[0]


def synthetic_spectrum(region: str, *, fractions: Mapping[str, float] | None = None, area: float = 2e5,
                       background: float = 5000.0, step: float = 0.1, seed: int = 0, shift: float = 0.0,
                       sample: Any = None, shirley_k: float = 0.02, noise: bool = True,
                       excitation_energy: float | None = None) -> XPSSpectrum:
    """A Poisson-noisy spectrum of a preset region with known composition.

    Parameters
    ----------
    region : str
        Preset name (``"Ni 2p"``, ``"O 1s"``, ...).
    fractions : dict, optional
        Share of each main component's area (normalised; default equal);
        satellites follow their parents by the preset area ratios.
    area : float
        Total area of the main components (doublets: both lines), counts·eV.
    background : float
        Flat background at the low-binding-energy end, counts per channel.
    step : float
        Energy step, eV (the preset window, high to low binding energy).
    seed : int
        Seed of the Poisson noise.
    shift : float
        Added to every centre (e.g. charging), eV.
    sample : Sample or str, optional
    shirley_k : float
        Shirley step ``k``: the background rises by ``k`` times the cumulative peak area.
    noise : bool
        Draw Poisson noise (False returns the exact expectation).
    excitation_energy : float, optional
        Photon energy, eV (default Al Kα 1486.6): places the preset's Auger
        lines (e.g. Ni LMM under Mn 2p) and is stored on the spectrum.
    """
    key = _key(region)
    info = preset_info(key, excitation_energy=excitation_energy)
    lo, hi = info["window"]
    n = int(round((hi - lo) / step)) + 1
    be_desc = hi - step * np.arange(n)
    x = be_desc[::-1]
    truth = synthetic_truth(key, fractions=fractions, area=area, shift=shift, excitation_energy=excitation_energy)
    peaks = _curve(key, x, truth, shift, excitation_energy)
    lam = background + peaks + shirley_k * cumulative_integral(x, peaks)
    y = np.random.default_rng(seed).poisson(lam).astype(float) if noise else lam
    meta = {"synthetic": True, "seed": int(seed), "truth_fractions": dict(truth["fractions"]),
            "shift": float(shift), "area": float(area)}
    return XPSSpectrum(be_desc, y[::-1], region=info["region"], sample=sample, meta=meta,
                       excitation_energy=info["excitation_energy"])


def synthetic_stack(region: str, n: int, *, fractions: Any = None, seed: int = 0, dim: str = "spectrum",
                    **kw: Any) -> xr.DataArray:
    """``n`` synthetic spectra on one grid as a DataArray ``(dim, binding_energy)``.

    ``fractions`` may be a list of ``n`` dicts; by default the first main
    component's share runs linearly from 0.3 to 0.8. Spectrum ``i`` uses seed
    ``seed + i``; the truth is in ``attrs["fractions"]`` (one row per spectrum).
    """
    key = _key(region)
    mains = [c.name for c in preset_model(key) if c.kind != "satellite"]
    if fractions is None:
        share = np.linspace(0.3, 0.8, n)
        fractions = [{mains[0]: s, **{m: (1 - s) / (len(mains) - 1) for m in mains[1:]}} for s in share]
    specs = [synthetic_spectrum(key, fractions=fractions[i], seed=seed + i, **kw) for i in range(n)]
    be = specs[0].binding_energy
    data = np.stack([s.intensity for s in specs])
    truth = np.array([[_fractions(key, fractions[i])[m] for m in mains] for i in range(n)])
    return xr.DataArray(data, dims=(dim, "binding_energy"), coords={"binding_energy": be},
                        name="intensity", attrs={"region": split_preset(key)[0], "units": "counts", "fractions": truth,
                                                 "components": mains})


def synthetic_map(region: str, shape: tuple[int, int], *, seed: int = 0, **kw: Any) -> xr.DataArray:
    """A ``(y, x, binding_energy)`` map of synthetic spectra (first component share varies across x)."""
    ny, nx = shape
    st = synthetic_stack(region, ny * nx, seed=seed, dim="pixel", **kw)
    data = st.values.reshape(ny, nx, -1)
    return xr.DataArray(data, dims=("y", "x", "binding_energy"),
                        coords={"binding_energy": st["binding_energy"].values}, name="intensity",
                        attrs={**st.attrs, "fractions": st.attrs["fractions"].reshape(ny, nx, -1)})


def synthetic_survey(composition: Mapping[str, float], *, excitation_energy: float = 1486.6, step: float = 1.0,
                     counts: float = 4e5, background: float = 800.0, fwhm: float = 2.2, shift: float = 0.0,
                     seed: int = 0, auger: bool = True) -> XPSSpectrum:
    """A Poisson-noisy wide scan of known composition, from the shipped core-level table.

    Every photoelectron line of each element (binding energy from the table,
    plus ``shift``) gets an area proportional to its atomic fraction times
    its cross-section at ``excitation_energy`` times ``KE**0.25``; Auger lines
    of the table sit at ``hν − KE``. Each line adds a Shirley-type step and
    a broad energy-loss tail to the background, as measured surveys have.

    Parameters
    ----------
    composition : mapping
        Element → relative atomic amount (normalised).
    excitation_energy : float
        Photon energy, eV (e.g. 1253.6 for Mg Kα).
    step : float
        Energy step, eV (the scan runs from -5 eV to hν - 280 eV, at most 1200 eV).
    counts : float
        Area of a line of cross-section 1 (C 1s) at atomic fraction 1, counts·eV.
    background, fwhm, shift, seed, auger :
        Flat background (counts), line width (eV), charge shift (eV), noise
        seed, whether Auger lines are drawn.

    Examples
    --------
    >>> s = synthetic_survey({"Ni": 1.0, "O": 1.0}, excitation_energy=1253.6, seed=1)
    >>> s.excitation_energy, s.region
    (1253.6, None)
    """
    from ncmsurf.xps._identify import element_lines

    tot = float(sum(composition.values()))
    if not tot > 0 or any(v < 0 for v in composition.values()):
        raise ValidationError(f"composition: amounts must be >= 0 with a positive sum, got {dict(composition)}")
    hv = float(excitation_energy)
    hi = min(1200.0, hv - 280.0)
    x = np.arange(-5.0, hi + step / 2, step)
    lam = np.full(x.size, float(background)) + 0.6 * background * (x / hi)
    sig = fwhm / 2.3548
    for el, amount in composition.items():
        frac = float(amount) / tot
        for ln in element_lines(el, hv):
            if ln.kind == "auger" and not auger:
                continue
            be = ln.binding_energy + shift
            if not x[0] < be < x[-1]:
                continue
            w = max(fwhm, ln.width) if ln.kind == "auger" else fwhm
            s_ = w / 2.3548
            area = counts * frac * ln.intensity / (hv - 284.8) ** 0.25 * (1.0 if ln.kind == "core" else 0.6)
            g = area / (s_ * np.sqrt(2 * np.pi)) * np.exp(-0.5 * ((x - be) / s_) ** 2)
            step_bg = 0.02 * area * 0.5 * (1 + np.tanh((x - be) / (2 * sig)))
            loss = 0.015 * area * np.exp(-np.clip(x - be, 0, None) / 60.0) * (x > be)
            lam = lam + g + step_bg + loss
    y = np.random.default_rng(seed).poisson(lam).astype(float)
    return XPSSpectrum(x[::-1], y[::-1], excitation_energy=hv,
                       meta={"synthetic": True, "composition": {k: float(v) / tot for k, v in composition.items()},
                             "seed": int(seed), "shift": float(shift)})


def synthetic_coated_ncm(*, seed: int = 0, al_o_share: float = 0.25, carbonate_share: float = 0.2,
                         lattice_share: float = 0.35, shift: float = 0.6, o_area: float = 6e5, ni_area: float = 1e6,
                         imfp_exponent: float = 0.75) -> dict[str, Any]:
    """A consistent set of O 1s, Al 2p, C 1s and Ni 2p spectra of an Al2O3-coated NCM, with its joint-fit setup.

    The Al–O component of O 1s holds 1.5 O per Al of the Al 2p Al2O3
    component (through Scofield RSFs and ``KE**imfp_exponent``, no
    transmission), the Ni 3p lines in the Al 2p window follow the Ni 2p
    area (Ni 3p/Ni 2p cross-sections), and every spectrum is shifted by the
    same ``shift`` (charging). The rest of O 1s is split between C–O and
    adsorbed water.

    Returns
    -------
    dict
        ``"spectra"`` (region → XPSSpectrum), ``"models"`` (region → preset; Al 2p without the metal line,
        ``"Al 2p:coating"``),
        ``"constraints"`` (for :func:`ncmsurf.xps.fit_joint`: the shared
        shift on C 1s C–C, the Al–O and Ni 3p ties) and ``"truth"``
        (``al_o_share``, ``carbonate_share``, ``shift``, ``ni2_fraction``, areas).
    """
    from ncmsurf.xps._joint import SharedShift, ni3p_tie, stoichiometric_tie

    rest = 1.0 - al_o_share - carbonate_share - lattice_share
    if rest < 0:
        raise ValidationError("shares: al_o_share + carbonate_share + lattice_share must be <= 1")
    o_fr = {"lattice": lattice_share, "Al-O": al_o_share, "carbonate": carbonate_share, "C-O": 0.7 * rest,
            "H2O": 0.3 * rest}
    ni_fr = {"Ni2+": 0.3, "Ni3+": 0.7}
    nominal = {r: synthetic_spectrum(r, noise=False) for r in ("O 1s", "Al 2p", "Ni 2p", "C 1s")}
    models = {r: r for r in nominal}
    models["Al 2p"] = "Al 2p:coating"  # a coated cathode has no metallic Al
    t_alo = stoichiometric_tie(nominal, models, ("O 1s", "Al-O"), ("Al 2p", "Al2O3"), atoms_ratio=1.5,
                               imfp_exponent=imfp_exponent)
    t_ni = ni3p_tie(nominal, models, imfp_exponent=imfp_exponent)
    ni_truth = synthetic_truth("Ni 2p", fractions=ni_fr, area=ni_area)
    ni_total = float(sum(ni_truth["areas"].values()))
    al2o3 = o_area * al_o_share / t_alo.factor
    ni3p_family = t_ni.factor * ni_total
    sat = next(c for c in preset_model("Al 2p") if c.name == "Ni sat 3p").ratio  # type: ignore[attr-defined]
    ni3p_doublet = ni3p_family / (1.0 + sat)
    al_fr = {"Al2O3": al2o3, "AlF3": 0.15 * al2o3, "Ni 3p": ni3p_doublet}
    al_area = float(sum(al_fr.values()))
    rng = np.random.default_rng(seed)
    s = [int(v) for v in rng.integers(0, 2**31 - 1, 4)]
    spectra = {
        "O 1s": synthetic_spectrum("O 1s", fractions=o_fr, area=o_area, seed=s[0], shift=shift),
        "Al 2p": synthetic_spectrum("Al 2p", fractions=al_fr, area=al_area, seed=s[1], shift=shift),
        "Ni 2p": synthetic_spectrum("Ni 2p", fractions=ni_fr, area=ni_area, seed=s[2], shift=shift),
        "C 1s": synthetic_spectrum("C 1s", fractions={"C-C": 0.6, "C-O": 0.15, "O-C=O": 0.1, "CO3": 0.1,
                                                      "CF2": 0.05}, area=3e5, seed=s[3], shift=shift),
    }
    constraints = [SharedShift(reference=("C 1s", "C-C")), t_alo, t_ni]
    truth = {"al_o_share": al_o_share, "carbonate_share": carbonate_share, "lattice_share": lattice_share,
             "shift": shift, "ni2_fraction": 0.3, "al2o3_area": al2o3, "ni3p_family_area": ni3p_family}
    return {"spectra": spectra, "models": models, "constraints": constraints, "truth": truth}
