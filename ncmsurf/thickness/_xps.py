"""Thickness from XPS: TPP-2M IMFP, attenuation length, substrate attenuation, overlayer ratio, ARXPS.

Every length is in nm and every angle in degrees from the surface normal,
unless a pint Quantity says otherwise. Standard errors of the inputs are
propagated through :func:`ncmsurf.core.fitting.propagate_one` (the delta
method, numerically for the two-energy form).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import optimize

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.fitting import check_bounds, check_chi2, least_squares, propagate_one
from ncmsurf.core.results import Quality
from ncmsurf.core.units import array_magnitude
from ncmsurf.thickness._common import POWDER_NOTE, cos_angle, nonneg, notes, opt_err, positive
from ncmsurf.thickness._results import ArxpsResult, Thickness

__all__ = ["effective_attenuation_length", "from_arxps", "from_attenuation", "from_ratio", "imfp_tpp2m",
           "overlayer_ratio"]


def imfp_tpp2m(kinetic_energy: Any, *, density: Any, molar_mass: Any, valence_electrons: float,
               band_gap: Any) -> float:
    """Inelastic mean free path from the TPP-2M predictive formula.

    λ = E / {Ep² [β ln(γE) − C/E + D/E²]} (Å, converted to nm), with
    Ep = 28.816 √(Nv ρ / M), β = −0.10 + 0.944/√(Ep² + Eg²) + 0.069 ρ^0.1,
    γ = 0.191 ρ^−0.5, C = 1.97 − 0.91 U, D = 53.4 − 20.8 U, U = Nv ρ / M
    (Tanuma, Powell and Penn 1994).

    Parameters
    ----------
    kinetic_energy : float or pint.Quantity
        Electron kinetic energy, eV (the formula is fitted for 50–2000 eV,
        usable to 30 keV).
    density : float or pint.Quantity
        g/cm³.
    molar_mass : float or pint.Quantity
        g/mol (atomic or molecular weight).
    valence_electrons : float
        Nv, valence electrons per atom or molecule.
    band_gap : float or pint.Quantity
        eV (0 for metals).

    Returns
    -------
    float
        IMFP, nm.

    Examples
    --------
    >>> round(imfp_tpp2m(1382, density=2.19, molar_mass=60.08, valence_electrons=16, band_gap=9.0), 2)
    3.89
    """
    e = positive(kinetic_energy, "eV", "kinetic_energy")
    rho = positive(density, "g/cm**3", "density")
    m = positive(molar_mass, "g/mol", "molar_mass")
    nv = positive(valence_electrons, "dimensionless", "valence_electrons")
    eg = nonneg(band_gap, "eV", "band_gap")
    if e < 10.0:
        raise ValidationError(f"kinetic_energy: TPP-2M is not defined below ~50 eV, got {e} eV")
    u = nv * rho / m
    ep = 28.816 * math.sqrt(u)
    beta = -0.10 + 0.944 / math.sqrt(ep * ep + eg * eg) + 0.069 * rho ** 0.1
    gamma = 0.191 / math.sqrt(rho)
    c = 1.97 - 0.91 * u
    d = 53.4 - 20.8 * u
    denom = ep * ep * (beta * math.log(gamma * e) - c / e + d / (e * e))
    if denom <= 0:
        raise ValidationError("TPP-2M: parameters give a non-positive denominator (energy too low for this material)")
    return float(e / denom / 10.0)


def effective_attenuation_length(imfp: Any, *, albedo: float | None = None,
                                 transport_mean_free_path: Any = None) -> float:
    """Effective attenuation length for overlayer-thickness work.

    Uses the Jablonski–Powell approximation L = λ (1 − 0.736 ω), valid for
    emission angles up to about 50° from the normal, where ω is the
    single-scattering albedo, ω = λ / (λ + λ_tr).

    Parameters
    ----------
    imfp : float or pint.Quantity
        Inelastic mean free path λ, nm.
    albedo : float, optional
        ω in [0, 1).
    transport_mean_free_path : float or pint.Quantity, optional
        λ_tr, nm; gives ω when ``albedo`` is not given.

    Returns
    -------
    float
        EAL, nm.

    Examples
    --------
    >>> round(effective_attenuation_length(3.0, albedo=0.3), 4)
    2.3376
    """
    lam = positive(imfp, "nm", "imfp")
    if albedo is None:
        if transport_mean_free_path is None:
            raise ValidationError("effective_attenuation_length: give albedo or transport_mean_free_path")
        ltr = positive(transport_mean_free_path, "nm", "transport_mean_free_path")
        albedo = lam / (lam + ltr)
    w = float(albedo)
    if not 0.0 <= w < 1.0:
        raise ValidationError(f"albedo: expected a value in [0, 1), got {w}")
    return lam * (1.0 - 0.736 * w)


# ------------------------------------------------------ single measurements
def from_attenuation(i_coated: Any, i_bare: Any, *, attenuation_length: Any, angle: Any = 0.0,
                     i_coated_stderr: Any = None, i_bare_stderr: Any = None,
                     attenuation_length_stderr: Any = None, powder: bool = False) -> Thickness:
    """Thickness from the attenuation of a substrate signal (Beer–Lambert).

    I_coated = I_bare exp(−d / (L cos θ)), so d = L cos θ ln(I_bare / I_coated).

    Parameters
    ----------
    i_coated, i_bare : float
        Substrate peak area with and without the coating (same conditions).
    attenuation_length : float or pint.Quantity
        L of the substrate electrons in the coating, nm.
    angle : float or pint.Quantity
        Emission angle from the surface normal, degrees.
    i_coated_stderr, i_bare_stderr, attenuation_length_stderr : float, optional
        Standard errors, propagated to ``.stderr``.
    powder : bool
        The sample is a powder (adds a note).

    Returns
    -------
    Thickness
        nm (a float with ``.stderr`` and ``.note``).

    Examples
    --------
    >>> d = from_attenuation(0.5, 1.0, attenuation_length=2.0)
    >>> round(float(d), 4)
    1.3863
    """
    ic = positive(i_coated, "dimensionless", "i_coated")
    ib = positive(i_bare, "dimensionless", "i_bare")
    lam = positive(attenuation_length, "nm", "attenuation_length")
    c = cos_angle(angle)
    ln = math.log(ib / ic)
    d = lam * c * ln
    caveats: list[str] = []
    suspect: list[tuple[str, str]] = []
    if d < 0:
        caveats.append(f"coated intensity exceeds the bare one (ratio {ic / ib:.3g}): no attenuation, "
                       f"thickness is negative ({d:.3g} nm)")
        suspect.append(("input", caveats[-1]))
    errs = [opt_err(i_coated_stderr, "dimensionless", "i_coated_stderr"),
            opt_err(i_bare_stderr, "dimensionless", "i_bare_stderr"),
            opt_err(attenuation_length_stderr, "nm", "attenuation_length_stderr")]
    given = any(v is not None for v in (i_coated_stderr, i_bare_stderr, attenuation_length_stderr))
    stderr = (propagate_one(lambda p: p[2] * c * math.log(p[1] / p[0]), [ic, ib, lam], np.diag(np.square(errs)))[1]
              if given else None)
    if powder:
        caveats.append(POWDER_NOTE)
    return Thickness.make(d, stderr=stderr, method="attenuation", note=notes(*caveats), citations=("hill1976",),
                          suspect=suspect, inputs={"i_coated": ic, "i_bare": ib, "attenuation_length": lam})


def overlayer_ratio(thickness: Any, *, attenuation_length: Any, angle: Any = 0.0,
                    attenuation_length_substrate: Any = None) -> float:
    """The ratio (I_ov/I_ov∞)/(I_sub/I_sub∞) = R/R0 a film of ``thickness`` gives.

    (1 − exp(−d/(L_o cos θ))) / exp(−d/(L_s cos θ)); with L_s = L_o this is
    exp(d/(L cos θ)) − 1 (Hill). The inverse is :func:`from_ratio`.

    Examples
    --------
    >>> round(overlayer_ratio(2.0, attenuation_length=2.0), 6) == round(math.e - 1, 6)
    True
    """
    d = nonneg(thickness, "nm", "thickness")
    lo = positive(attenuation_length, "nm", "attenuation_length")
    ls = lo if attenuation_length_substrate is None else positive(attenuation_length_substrate, "nm",
                                                                  "attenuation_length_substrate")
    c = cos_angle(angle)
    return float(-math.expm1(-d / (lo * c)) * math.exp(d / (ls * c)))


def from_ratio(i_overlayer: Any, i_substrate: Any, *, bulk_ratio: Any, attenuation_length: Any,
               angle: Any = 0.0, attenuation_length_substrate: Any = None, i_overlayer_stderr: Any = None,
               i_substrate_stderr: Any = None, bulk_ratio_stderr: Any = None,
               attenuation_length_stderr: Any = None, powder: bool = False) -> Thickness:
    """Overlayer thickness from the overlayer/substrate intensity ratio.

    With R = I_overlayer / I_substrate and R0 = ``bulk_ratio`` (the same
    ratio for the infinitely thick pure materials), Hill's equation
    d = L cos θ ln(1 + R/R0) applies when one attenuation length serves both
    signals. With ``attenuation_length_substrate`` different from
    ``attenuation_length`` (two kinetic energies), the exact relation
    R/R0 = (1 − exp(−d/(L_o cos θ))) exp(d/(L_s cos θ)) is solved
    numerically — the equation Cumpson's thickogram solves graphically, of
    which Hill's formula is the special case L_s = L_o.

    Parameters
    ----------
    i_overlayer, i_substrate : float
        Peak areas (sensitivity-corrected consistently with R0).
    bulk_ratio : float
        R0.
    attenuation_length : float or pint.Quantity
        L_o, nm: attenuation length of the overlayer electrons in the overlayer.
    angle : float or pint.Quantity
        Degrees from the surface normal.
    attenuation_length_substrate : float or pint.Quantity, optional
        L_s, nm: of the substrate electrons in the overlayer.
    i_overlayer_stderr, i_substrate_stderr, bulk_ratio_stderr, attenuation_length_stderr : float, optional
        Standard errors, propagated (numerically) to ``.stderr``.
    powder : bool
        The sample is a powder (adds a note).

    Returns
    -------
    Thickness
        nm.

    Examples
    --------
    >>> round(float(from_ratio(1.0, 1.0, bulk_ratio=1.0, attenuation_length=2.0)), 4)
    1.3863
    >>> d = from_ratio(1.0, 1.0, bulk_ratio=1.0, attenuation_length=2.0, attenuation_length_substrate=2.5)
    >>> round(overlayer_ratio(d, attenuation_length=2.0, attenuation_length_substrate=2.5), 6)
    1.0
    """
    io = nonneg(i_overlayer, "dimensionless", "i_overlayer")
    isub = positive(i_substrate, "dimensionless", "i_substrate")
    r0 = positive(bulk_ratio, "dimensionless", "bulk_ratio")
    lo = positive(attenuation_length, "nm", "attenuation_length")
    ls = None if attenuation_length_substrate is None else positive(attenuation_length_substrate, "nm",
                                                                     "attenuation_length_substrate")
    c = cos_angle(angle)

    def solve(io_: float, isub_: float, r0_: float, lo_: float) -> float:
        x = (io_ / isub_) / r0_
        if ls is None or ls == lo_:
            return lo_ * c * math.log1p(x)
        if x == 0:
            return 0.0
        l_s: float = ls

        def f(d: float) -> float:
            return -math.expm1(-d / (lo_ * c)) * math.exp(d / (l_s * c)) - x

        hi = lo_ * c
        while f(hi) < 0:
            hi *= 2.0
            if hi > 1e6:
                raise FitError("from_ratio: no thickness reproduces the ratio")
        return float(optimize.brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-12))

    d = solve(io, isub, r0, lo)
    errs = [(opt_err(i_overlayer_stderr, "dimensionless", "i_overlayer_stderr"), 0),
            (opt_err(i_substrate_stderr, "dimensionless", "i_substrate_stderr"), 1),
            (opt_err(bulk_ratio_stderr, "dimensionless", "bulk_ratio_stderr"), 2),
            (opt_err(attenuation_length_stderr, "nm", "attenuation_length_stderr"), 3)]
    given = any(v is not None for v in (i_overlayer_stderr, i_substrate_stderr, bulk_ratio_stderr,
                                        attenuation_length_stderr))
    stderr = None
    if given:
        stderr = propagate_one(lambda p: solve(float(p[0]), float(p[1]), float(p[2]), float(p[3])),
                               [io, isub, r0, lo], np.diag([se * se for se, _ in errs]))[1]
    caveats = ["two-energy form solved numerically (thickogram)"] if ls is not None and ls != lo else []
    if powder:
        caveats.append(POWDER_NOTE)
    two = ls is not None and ls != lo
    return Thickness.make(d, stderr=stderr, method="thickogram" if two else "hill", note=notes(*caveats),
                          citations=("hill1976", "cumpson1995") if two else ("hill1976",),
                          inputs={"i_overlayer": io, "i_substrate": isub, "bulk_ratio": r0,
                                  "attenuation_length": lo})


def from_arxps(angles: Any, ratios: Any, *, attenuation_length: Any, bulk_ratio: Any = None,
               ratio_stderr: Any = None, powder: bool = False) -> ArxpsResult:
    """Overlayer thickness from angle-resolved overlayer/substrate ratios.

    Least-squares fit of R(θ) = R0 (exp(d / (L cos θ)) − 1) over emission
    angles θ (degrees from the normal); R0 is fitted too when ``bulk_ratio``
    is None (needs at least three angles).

    Parameters
    ----------
    angles : array_like or pint.Quantity
        Degrees from the surface normal, in [0, 90).
    ratios : array_like
        I_overlayer / I_substrate at each angle.
    attenuation_length : float or pint.Quantity
        nm.
    bulk_ratio : float, optional
        R0; fitted when None.
    ratio_stderr : array_like, optional
        Uncertainty of each ratio (weights). Without it the scatter of the
        residuals sets the stderr.
    powder : bool
        Adds the powder note.

    Returns
    -------
    ArxpsResult
        Unpacks as ``(thickness_nm, stderr_nm)``.

    Raises
    ------
    ValidationError
        Mismatched or too few angles, non-positive ratios.
    FitError
        If the least-squares fit fails.

    Examples
    --------
    >>> import numpy as np
    >>> th = np.array([0, 30, 45, 60])
    >>> r = 0.7 * np.expm1(3.0 / (2.8 * np.cos(np.radians(th))))
    >>> d, err = from_arxps(th, r, attenuation_length=2.8, bulk_ratio=0.7)
    >>> round(d, 6)
    3.0
    """
    th = np.asarray(array_magnitude(angles, "degree", name="angles"), dtype=float)
    r = np.asarray(ratios, dtype=float)
    if th.ndim != 1 or r.ndim != 1 or th.size != r.size:
        raise ValidationError(f"angles and ratios: expected 1-D arrays of the same length, got shapes "
                              f"{th.shape} and {r.shape}")
    if not np.all(np.isfinite(th)) or np.any((th < 0) | (th >= 90)):
        raise ValidationError("angles: expected finite emission angles in [0, 90) degrees from the normal")
    if not np.all(np.isfinite(r)) or np.any(r <= 0):
        i = int(np.flatnonzero(~np.isfinite(r) | (r <= 0))[0])
        raise ValidationError(f"ratios: expected finite positive values, got {r[i]} at index {i}")
    lam = positive(attenuation_length, "nm", "attenuation_length")
    fit_r0 = bulk_ratio is None
    nmin = 3 if fit_r0 else 1
    if th.size < nmin:
        raise ValidationError(f"from_arxps: need at least {nmin} angles{' to fit R0' if fit_r0 else ''}, "
                              f"got {th.size}")
    sig = None
    if ratio_stderr is not None:
        sig = np.broadcast_to(np.asarray(ratio_stderr, dtype=float), r.shape)
        if not np.all(np.isfinite(sig)) or np.any(sig <= 0):
            raise ValidationError("ratio_stderr: expected finite positive values")
    cos = np.cos(np.radians(th))
    w = 1.0 / sig if sig is not None else np.ones_like(r)
    r0_fixed = None if fit_r0 else positive(bulk_ratio, "dimensionless", "bulk_ratio")

    def model(p: np.ndarray) -> np.ndarray:
        r0 = p[1] if r0_fixed is None else r0_fixed
        return r0 * np.expm1(p[0] / (lam * cos))  # type: ignore[no-any-return]

    if fit_r0:
        p0 = [max(float(np.median(lam * cos * np.log1p(r / 1.0))), 1e-3), 1.0]
        bounds = ([0.0, 1e-9], [np.inf, np.inf])
    else:
        assert r0_fixed is not None
        p0 = [max(float(np.median(lam * cos * np.log1p(r / r0_fixed))), 1e-6)]
        bounds = ([0.0], [np.inf])
    sol = least_squares(lambda p: (model(p) - r) * w, p0, bounds=bounds, scale_covariance=sig is None,
                        max_nfev=20000)
    if not np.all(np.isfinite(sol.p)):
        raise FitError(f"from_arxps: least-squares fit failed: {sol.message}")
    fitted = model(sol.p)
    dof = th.size - len(p0)
    redchi = float(sol.chi2 / dof) if dof > 0 else float("nan")
    d_fit = float(sol.p[0])
    r0 = float(sol.p[1]) if fit_r0 else float(r0_fixed)  # type: ignore[arg-type]
    caveats = []
    suspect = check_bounds(["thickness"], sol.at_lower[:1], sol.at_upper[:1], values=sol.p[:1])
    if dof == 0 and sig is None:
        caveats.append("as many parameters as angles: stderr cannot be estimated from the scatter")
        suspect.append(("unidentifiable", caveats[-1]))
    elif sig is not None:
        suspect += check_chi2(sol.chi2, dof)
    if powder:
        caveats.append(POWDER_NOTE)
    per_angle = lam * cos * np.log1p(r / r0)
    cov = np.zeros((2, 2))
    k = len(p0)
    c = np.asarray(sol.covariance, float) if dof > 0 or sig is not None else np.full((k, k), np.nan)
    cov[:k, :k] = c
    return ArxpsResult.build(
        names=["thickness", "bulk_ratio"], values=[d_fit, r0], covariance=cov, free=[True, fit_r0],
        units=["nm", ""], success=sol.success, message=sol.message,
        quality=Quality.from_checks(suspect=suspect), citations=("hill1976",), model="arxps",
        data_vars={"ratios": ("angle", r.copy()), "fitted": ("angle", np.asarray(fitted, float)),
                   "per_angle": ("angle", per_angle)},
        coords={"angle": ("angle", th.copy(), {"units": "degree"})},
        attrs={"redchi": redchi, "note": notes(*caveats)})
