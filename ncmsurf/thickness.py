"""Coating thickness from XPS intensities, ToF-SIMS, EDS and deposition time.

Every length is in nm and every angle in degrees from the surface normal,
unless a pint Quantity says otherwise.

The planar overlayer formulas below assume a flat, laterally uniform film.
On powders (NCM secondary particles) the emission angle varies over the
surface, so the result is an apparent, orientation-averaged thickness; the
functions say so in ``.note`` when ``powder=True``.

Examples
--------
>>> import ncmsurf as ns
>>> lam = ns.thickness.imfp_tpp2m(1382, density=2.19, molar_mass=60.08, valence_electrons=16, band_gap=9.0)
>>> round(lam, 2)
3.89
>>> d = ns.thickness.from_ratio(0.5, 1.0, bulk_ratio=0.72, attenuation_length=2.8)
>>> round(float(d), 3)
1.477
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr
from scipy import optimize, stats

from ncmsurf.core.errors import FitError, NcmsurfWarning, ValidationError
from ncmsurf.core.results import register_citation
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import array_magnitude, magnitude

__all__ = [
    "ArxpsResult",
    "DepositionRate",
    "DisagreementWarning",
    "Thickness",
    "cross_check",
    "deposition_rate",
    "deposition_rates",
    "effective_attenuation_length",
    "from_arxps",
    "from_attenuation",
    "from_capacitance",
    "from_ratio",
    "imfp_tpp2m",
    "overlayer_ratio",
]

POWDER_NOTE = ("planar overlayer formula applied to a powder: the value is an apparent, orientation-averaged "
               "thickness (emission angles vary over the particle surface; for spheres it is typically "
               "an underestimate of the true shell thickness)")

register_citation("tpp2m", "S. Tanuma, C. J. Powell, D. R. Penn, Surf. Interface Anal. 21, 165 (1994)")
register_citation("jablonski2002", "A. Jablonski, C. J. Powell, Surf. Sci. Rep. 47, 33 (2002)")
register_citation("hill1976", "J. M. Hill, D. G. Royce, C. S. Fadley, L. F. Wagner, F. J. Grunthaner, "
                              "Chem. Phys. Lett. 44, 225 (1976)")
register_citation("cumpson1995", "P. J. Cumpson, Surf. Interface Anal. 23, 629 (1995)")
register_citation("strohmeier1990", "B. R. Strohmeier, Surf. Interface Anal. 15, 51 (1990)")


class DisagreementWarning(NcmsurfWarning):
    """Thickness methods for one sample disagree by more than the tolerance."""


# ----------------------------------------------------------------- results
class Thickness(float):
    """A thickness in nm that also carries its uncertainty and notes.

    It is a ``float`` (so ``from_ratio(...) * 2`` works) with extra read-only
    attributes.

    Attributes
    ----------
    value : float
        Thickness, nm.
    stderr : float or None
        Standard error, nm (``None`` when no input uncertainty was given).
    method : str
        Which formula produced it.
    note : str
        Caveats (planar formula on powder, clipped negative value, ...).

    Examples
    --------
    >>> t = Thickness(2.0, stderr=0.1, method="hill")
    >>> float(t), t.stderr, t.value
    (2.0, 0.1, 2.0)
    """

    __slots__ = ("_method", "_note", "_stderr")
    _method: str
    _note: str
    _stderr: float | None

    def __new__(cls, value: float, *, stderr: float | None = None, method: str = "", note: str = "") -> Thickness:
        """Create the value with its uncertainty, method and note."""
        obj = super().__new__(cls, value)
        obj._stderr = None if stderr is None else float(stderr)
        obj._method = str(method)
        obj._note = str(note)
        return obj

    @property
    def value(self) -> float:
        """Thickness, nm."""
        return float(self)

    @property
    def stderr(self) -> float | None:
        """Standard error, nm, or None."""
        return self._stderr

    @property
    def method(self) -> str:
        """Formula used."""
        return self._method

    @property
    def note(self) -> str:
        """Caveats, or an empty string."""
        return self._note

    def __repr__(self) -> str:
        err = "" if self._stderr is None else f" ± {self._stderr:.3g}"
        return f"Thickness({float(self):.4g}{err} nm, method={self._method!r})"

    def __reduce__(self) -> Any:
        return (_rebuild_thickness, (float(self), self._stderr, self._method, self._note))

    def to_dataset(self) -> xr.Dataset:
        """Storage form for :func:`ncmsurf.save`."""
        attrs: dict[str, Any] = {"value": float(self), "method": self._method, "note": self._note, "units": "nm"}
        if self._stderr is not None:
            attrs["stderr"] = self._stderr
        return xr.Dataset(attrs=attrs)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Thickness:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        return cls(float(a["value"]), stderr=a.get("stderr"), method=str(a.get("method", "")),
                   note=str(a.get("note", "")))


def _rebuild_thickness(value: float, stderr: float | None, method: str, note: str) -> Thickness:
    return Thickness(value, stderr=stderr, method=method, note=note)


class _Pair:
    """Immutable result that unpacks and indexes like a tuple of its leading values."""

    __slots__ = ("__dict__",)
    _LEAD: tuple[str, ...] = ()

    def _tuple(self) -> tuple[float, ...]:
        return tuple(self.__dict__[k] for k in self._LEAD)

    def __iter__(self) -> Any:
        return iter(self._tuple())

    def __len__(self) -> int:
        return len(self._LEAD)

    def __getitem__(self, i: Any) -> Any:
        return self._tuple()[i]

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")


class ArxpsResult(_Pair):
    """``(thickness, stderr)`` of an angle-resolved fit, with the fit details as attributes.

    Unpacks and indexes as a pair: ``d, err = from_arxps(...)``.

    Attributes
    ----------
    thickness, stderr : float
        nm.
    bulk_ratio, bulk_ratio_stderr : float
        R0 used or fitted (stderr 0 when fixed).
    angles, ratios, fitted : ndarray
        Input angles (degrees), measured and fitted ratios.
    per_angle : ndarray
        Hill thickness at each angle using the (fitted) R0, nm.
    redchi : float
        Reduced chi-square (weighted when ``ratio_stderr`` was given).
    note : str
    """

    thickness: float
    stderr: float
    bulk_ratio: float
    bulk_ratio_stderr: float
    angles: np.ndarray
    ratios: np.ndarray
    fitted: np.ndarray
    per_angle: np.ndarray
    redchi: float
    note: str

    _FIELDS = ("bulk_ratio", "bulk_ratio_stderr", "angles", "ratios", "fitted", "per_angle", "redchi", "note")
    _LEAD = ("thickness", "stderr")

    def __init__(self, thickness: float, stderr: float, **extra: Any) -> None:
        d = self.__dict__
        d.update({"thickness": float(thickness), "stderr": float(stderr)})
        for k in self._FIELDS:
            d[k] = extra.get(k)

    def __reduce__(self) -> Any:
        return (_rebuild_arxps, (self.thickness, self.stderr, {k: self.__dict__[k] for k in self._FIELDS}))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return self._tuple() == other
        if not isinstance(other, ArxpsResult):
            return NotImplemented
        if self._tuple() != other._tuple():
            return False
        for k in self._FIELDS:
            a, b = self.__dict__[k], other.__dict__[k]
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not np.array_equal(np.asarray(a), np.asarray(b)):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"ArxpsResult(thickness={self.thickness:.4g} nm, stderr={self.stderr:.2g} nm, "
                f"bulk_ratio={self.bulk_ratio:.4g})")

    def plot(self, ax: Any = None, **kw: Any) -> Any:
        """Plot measured and fitted ratios against emission angle (needs matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        d = self.__dict__
        order = np.argsort(d["angles"])
        ax.plot(d["angles"], d["ratios"], "o", label="measured", **kw)
        ax.plot(d["angles"][order], d["fitted"][order], "-",
                label=f"fit: d = {self.thickness:.2f} ± {self.stderr:.2f} nm")
        ax.set_xlabel("emission angle from the normal (°)")
        ax.set_ylabel("I(overlayer) / I(substrate)")
        ax.legend()
        return ax

    def to_dataset(self) -> xr.Dataset:
        """Storage form for :func:`ncmsurf.save`."""
        d = self.__dict__
        return xr.Dataset(
            {"ratios": ("angle", np.asarray(d["ratios"], float)), "fitted": ("angle", np.asarray(d["fitted"], float)),
             "per_angle": ("angle", np.asarray(d["per_angle"], float))},
            coords={"angle": ("angle", np.asarray(d["angles"], float), {"units": "degree"})},
            attrs={"thickness": self.thickness, "stderr": self.stderr, "bulk_ratio": float(d["bulk_ratio"]),
                   "bulk_ratio_stderr": float(d["bulk_ratio_stderr"]), "redchi": float(d["redchi"]),
                   "note": str(d["note"]), "units": "nm"})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ArxpsResult:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        return cls(float(a["thickness"]), float(a["stderr"]), bulk_ratio=float(a["bulk_ratio"]),
                   bulk_ratio_stderr=float(a["bulk_ratio_stderr"]), angles=ds["angle"].values,
                   ratios=ds["ratios"].values, fitted=ds["fitted"].values, per_angle=ds["per_angle"].values,
                   redchi=float(a["redchi"]), note=str(a["note"]))


def _rebuild_arxps(t: float, s: float, extra: dict[str, Any]) -> ArxpsResult:
    return ArxpsResult(t, s, **extra)


class DepositionRate(_Pair):
    """``(rate, low, high)``: nm per unit of n with its 95 % confidence interval.

    Unpacks and indexes as a triple.

    Attributes
    ----------
    rate, low, high : float
    stderr : float
    method : str or None
        Coating route the regression was made for.
    intercept : float
        Fitted intercept, nm (0 when fixed through the origin).
    n_points : int
    """

    rate: float
    low: float
    high: float
    stderr: float
    method: str | None
    intercept: float
    n_points: int

    _LEAD = ("rate", "low", "high")

    def __init__(self, rate: float, low: float, high: float, *, stderr: float, method: str | None = None,
                 intercept: float = 0.0, n_points: int = 0) -> None:
        self.__dict__.update(rate=float(rate), low=float(low), high=float(high), stderr=float(stderr),
                             method=method, intercept=float(intercept), n_points=int(n_points))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return self._tuple() == other
        if not isinstance(other, DepositionRate):
            return NotImplemented
        return self.__dict__ == other.__dict__

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        d = self.__dict__
        return (_rebuild_rate, (d["rate"], d["low"], d["high"], d["stderr"], d["method"], d["intercept"],
                                d["n_points"]))

    def __repr__(self) -> str:
        return (f"DepositionRate(rate={self.rate:.4g}, low={self.low:.4g}, high={self.high:.4g}, "
                f"method={self.method!r})")

    def to_dataset(self) -> xr.Dataset:
        """Storage form for :func:`ncmsurf.save`."""
        d = dict(self.__dict__)
        if d["method"] is None:
            d.pop("method")
        return xr.Dataset(attrs=d)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> DepositionRate:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        return cls(float(a["rate"]), float(a["low"]), float(a["high"]), stderr=float(a["stderr"]),
                   method=a.get("method"), intercept=float(a["intercept"]), n_points=int(a["n_points"]))


def _rebuild_rate(rate: float, low: float, high: float, stderr: float, method: str | None, intercept: float,
                  n: int) -> DepositionRate:
    return DepositionRate(rate, low, high, stderr=stderr, method=method, intercept=intercept, n_points=n)


# ----------------------------------------------------------------- helpers
def _positive(value: Any, unit: str, name: str) -> float:
    v = magnitude(value, unit, name=name)
    if not math.isfinite(v) or v <= 0:
        raise ValidationError(f"{name}: expected a finite positive value, got {v}")
    return v


def _nonneg(value: Any, unit: str, name: str) -> float:
    v = magnitude(value, unit, name=name)
    if not math.isfinite(v) or v < 0:
        raise ValidationError(f"{name}: expected a finite value >= 0, got {v}")
    return v


def _cos_angle(angle: Any) -> float:
    a = magnitude(angle, "degree", name="angle")
    if not math.isfinite(a) or not 0.0 <= a < 90.0:
        raise ValidationError(f"angle: expected an emission angle in [0, 90) degrees from the normal, got {a}")
    return math.cos(math.radians(a))


def _opt_err(value: Any, unit: str, name: str) -> float:
    return 0.0 if value is None else _nonneg(value, unit, name)


def _notes(*parts: str) -> str:
    return "; ".join(p for p in parts if p)


# -------------------------------------------------------------------- IMFP
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
    e = _positive(kinetic_energy, "eV", "kinetic_energy")
    rho = _positive(density, "g/cm**3", "density")
    m = _positive(molar_mass, "g/mol", "molar_mass")
    nv = _positive(valence_electrons, "dimensionless", "valence_electrons")
    eg = _nonneg(band_gap, "eV", "band_gap")
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
    lam = _positive(imfp, "nm", "imfp")
    if albedo is None:
        if transport_mean_free_path is None:
            raise ValidationError("effective_attenuation_length: give albedo or transport_mean_free_path")
        ltr = _positive(transport_mean_free_path, "nm", "transport_mean_free_path")
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
    ic = _positive(i_coated, "dimensionless", "i_coated")
    ib = _positive(i_bare, "dimensionless", "i_bare")
    lam = _positive(attenuation_length, "nm", "attenuation_length")
    c = _cos_angle(angle)
    ln = math.log(ib / ic)
    d = lam * c * ln
    notes = []
    if d < 0:
        notes.append(f"coated intensity exceeds the bare one (ratio {ic / ib:.3g}): no attenuation, "
                     f"thickness is negative ({d:.3g} nm)")
    se_ic, se_ib, se_l = (_opt_err(i_coated_stderr, "dimensionless", "i_coated_stderr"),
                          _opt_err(i_bare_stderr, "dimensionless", "i_bare_stderr"),
                          _opt_err(attenuation_length_stderr, "nm", "attenuation_length_stderr"))
    given = any(v is not None for v in (i_coated_stderr, i_bare_stderr, attenuation_length_stderr))
    stderr = (math.sqrt((lam * c * se_ic / ic) ** 2 + (lam * c * se_ib / ib) ** 2 + (c * ln * se_l) ** 2)
              if given else None)
    if powder:
        notes.append(POWDER_NOTE)
    return Thickness(d, stderr=stderr, method="attenuation", note=_notes(*notes))


#: Vacuum permittivity, F/m.
EPSILON_0 = 8.8541878188e-12


def from_capacitance(capacitance: Any, *, permittivity: Any, area: Any = None, capacitance_stderr: Any = None,
                     permittivity_stderr: Any = None) -> Thickness:
    """Thickness of a dielectric film from its capacitance (parallel plate): d = ε₀ εᵣ A / C.

    Use the effective capacitance of the film's arc in an impedance fit
    (:meth:`ncmsurf.eis.CircuitFit.effective_capacitance`, Hsu–Mansfeld),
    not a CPE prefactor.

    Parameters
    ----------
    capacitance : float or pint.Quantity
        Film capacitance: F when ``area`` is given, else per area, F/cm²
        (a Quantity may carry either).
    permittivity : float
        Relative permittivity εᵣ of the film (e.g. about 9 for amorphous
        Al2O3, 20–25 for ZrO2).
    area : float or pint.Quantity, optional
        Electrode area, cm² (the geometric area unless the true one is known).
    capacitance_stderr, permittivity_stderr : float, optional
        Standard errors (same units as their values), propagated to ``.stderr``.

    Returns
    -------
    Thickness
        nm (a float with ``.stderr`` and ``.note``).

    Raises
    ------
    ValidationError
        A capacitance, permittivity or area that is not positive.

    Examples
    --------
    >>> d = from_capacitance(4.4e-6, permittivity=9.0)  # F/cm²: an Al2O3-like film
    >>> round(float(d), 3)
    1.811
    """
    eps = _positive(permittivity, "dimensionless", "permittivity")
    if area is None:
        c = _positive(capacitance, "F/cm**2", "capacitance")
        c_err = _opt_err(capacitance_stderr, "F/cm**2", "capacitance_stderr")
    else:
        a = _positive(area, "cm**2", "area")
        c = _positive(capacitance, "F", "capacitance") / a
        c_err = _opt_err(capacitance_stderr, "F", "capacitance_stderr") / a
    d = EPSILON_0 * 1e-4 * eps / c * 1e9  # ε₀ in F/cm, thickness in nm
    given = capacitance_stderr is not None or permittivity_stderr is not None
    e_err = _opt_err(permittivity_stderr, "dimensionless", "permittivity_stderr")
    stderr = d * math.sqrt((c_err / c) ** 2 + (e_err / eps) ** 2) if given else None
    note = ("parallel-plate estimate: assumes a uniform, pinhole-free film over the whole area; a rough "
            "or porous electrode (true area > geometric) makes it an overestimate")
    return Thickness(d, stderr=stderr, method="capacitance", note=note)


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
    d = _nonneg(thickness, "nm", "thickness")
    lo = _positive(attenuation_length, "nm", "attenuation_length")
    ls = lo if attenuation_length_substrate is None else _positive(attenuation_length_substrate, "nm",
                                                                  "attenuation_length_substrate")
    c = _cos_angle(angle)
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
    io = _nonneg(i_overlayer, "dimensionless", "i_overlayer")
    isub = _positive(i_substrate, "dimensionless", "i_substrate")
    r0 = _positive(bulk_ratio, "dimensionless", "bulk_ratio")
    lo = _positive(attenuation_length, "nm", "attenuation_length")
    ls = None if attenuation_length_substrate is None else _positive(attenuation_length_substrate, "nm",
                                                                     "attenuation_length_substrate")
    c = _cos_angle(angle)

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
    errs = [(_opt_err(i_overlayer_stderr, "dimensionless", "i_overlayer_stderr"), 0),
            (_opt_err(i_substrate_stderr, "dimensionless", "i_substrate_stderr"), 1),
            (_opt_err(bulk_ratio_stderr, "dimensionless", "bulk_ratio_stderr"), 2),
            (_opt_err(attenuation_length_stderr, "nm", "attenuation_length_stderr"), 3)]
    given = any(v is not None for v in (i_overlayer_stderr, i_substrate_stderr, bulk_ratio_stderr,
                                        attenuation_length_stderr))
    stderr = None
    if given:
        base = [io, isub, r0, lo]
        var = 0.0
        for se, k in errs:
            if se <= 0:
                continue
            h = max(abs(base[k]) * 1e-6, 1e-12)
            up = list(base)
            up[k] += h
            var += ((solve(*up) - d) / h * se) ** 2
        stderr = math.sqrt(var)
    notes = ["two-energy form solved numerically (thickogram)"] if ls is not None and ls != lo else []
    if powder:
        notes.append(POWDER_NOTE)
    return Thickness(d, stderr=stderr, method="hill" if ls is None or ls == lo else "thickogram",
                     note=_notes(*notes))


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
    lam = _positive(attenuation_length, "nm", "attenuation_length")
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

    if fit_r0:
        def model(c: np.ndarray, d: float, r0: float) -> np.ndarray:
            return r0 * np.expm1(d / (lam * c))
        # initial guess from the normal-most angle and the slope of ln-ratio
        d0 = float(np.median(lam * cos * np.log1p(r / 1.0)))
        p0 = [max(d0, 1e-3), 1.0]
        bounds = ([0.0, 1e-9], [np.inf, np.inf])
    else:
        r0_fixed = _positive(bulk_ratio, "dimensionless", "bulk_ratio")

        def model(c: np.ndarray, d: float) -> np.ndarray:  # type: ignore[misc]
            return r0_fixed * np.expm1(d / (lam * c))
        p0 = [float(np.median(lam * cos * np.log1p(r / r0_fixed)))]
        bounds = ([0.0], [np.inf])
    try:
        popt, pcov = optimize.curve_fit(model, cos, r, p0=p0, sigma=sig, absolute_sigma=sig is not None,
                                        bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise FitError(f"from_arxps: least-squares fit failed: {exc}") from exc
    fitted = model(cos, *popt)
    dof = max(th.size - len(popt), 0)
    resid = (r - fitted) / (sig if sig is not None else 1.0)
    redchi = float(np.sum(resid ** 2) / dof) if dof > 0 else float("nan")
    perr = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else np.full(len(popt), np.nan)
    d_fit = float(popt[0])
    r0 = float(popt[1]) if fit_r0 else r0_fixed
    notes = []
    if dof == 0:
        notes.append("as many parameters as angles: stderr cannot be estimated from the scatter")
    if powder:
        notes.append(POWDER_NOTE)
    per_angle = lam * cos * np.log1p(r / r0)
    return ArxpsResult(d_fit, float(perr[0]), bulk_ratio=r0, bulk_ratio_stderr=float(perr[1]) if fit_r0 else 0.0,
                       angles=th.copy(), ratios=r.copy(), fitted=np.asarray(fitted, float), per_angle=per_angle,
                       redchi=redchi, note=_notes(*notes))


# ------------------------------------------------------------- deposition
def _n_values(samples_or_n: Any) -> tuple[np.ndarray, list[str | None]]:
    items = list(samples_or_n) if not isinstance(samples_or_n, np.ndarray) else list(samples_or_n.ravel())
    ns: list[float] = []
    ms: list[str | None] = []
    for k, s in enumerate(items):
        if isinstance(s, str):
            s = Sample.parse(s)
        if isinstance(s, Sample):
            ns.append(0.0 if s.n is None else float(s.n_minutes))
            ms.append(None if not s.coated else s.method)
        else:
            ns.append(magnitude(s, "min", name=f"samples_or_n[{k}]"))
            ms.append(None)
    return np.asarray(ns, float), ms


def deposition_rate(samples_or_n: Any, thickness: Any, stderr: Any = None, *, intercept: bool = False,
                    confidence: float = 0.95) -> DepositionRate:
    """Deposition rate (nm per unit of n) of one coating route by linear regression.

    Fits d = k n (through the origin, default) or d = k n + b, weighted by
    1/stderr² when given, and gives the ``confidence`` interval of k from the
    t distribution.

    Parameters
    ----------
    samples_or_n : sequence of Sample, str or float
        Samples (n taken in minutes; pristine samples count as n = 0) or the
        deposition parameter values.
    thickness : array_like
        nm, one per sample.
    stderr : array_like, optional
        nm, one per sample.
    intercept : bool
        Fit an intercept (nucleation delay) too.
    confidence : float
        Level of the interval.

    Returns
    -------
    DepositionRate
        ``(rate, low, high)`` with ``.stderr``, ``.method``, ``.intercept``.

    Raises
    ------
    ValidationError
        Samples from more than one coating route (use :func:`deposition_rates`),
        mismatched lengths, or too few points.

    Examples
    --------
    >>> rate, low, high = deposition_rate(["A(1)-NCM", "A(2)-NCM", "A(3)-NCM"], [0.52, 0.98, 1.51])
    >>> round(rate, 3), low < rate < high
    (0.501, True)
    """
    n, methods = _n_values(samples_or_n)
    d = np.asarray(array_magnitude(thickness, "nm", name="thickness"), dtype=float).ravel()
    if d.size != n.size:
        raise ValidationError(f"thickness: expected {n.size} values (one per sample), got {d.size}")
    if not np.all(np.isfinite(d)) or not np.all(np.isfinite(n)):
        raise ValidationError("thickness and n must be finite")
    routes = {m for m in methods if m is not None}
    if len(routes) > 1:
        raise ValidationError(f"deposition_rate: samples from several coating routes {sorted(routes)}; "
                              "use deposition_rates() for one rate per route")
    w = np.ones_like(d)
    if stderr is not None:
        se = np.asarray(array_magnitude(stderr, "nm", name="stderr"), dtype=float).ravel()
        if se.size != d.size or not np.all(np.isfinite(se)) or np.any(se <= 0):
            raise ValidationError("stderr: expected one finite positive value per sample")
        w = 1.0 / se ** 2
    npar = 2 if intercept else 1
    if d.size < npar + 1 or np.ptp(n) == 0 and intercept or np.all(n == 0):
        raise ValidationError(f"deposition_rate: need at least {npar + 1} points with different n > 0")
    X = np.column_stack([n, np.ones_like(n)]) if intercept else n[:, None]
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], d * sw, rcond=None)
    resid = d - X @ beta
    dof = d.size - npar
    xtwx_inv = np.linalg.inv((X * w[:, None]).T @ X)
    s2 = float(np.sum(w * resid ** 2) / dof)
    scale = s2 if stderr is None else max(s2, 1.0)  # do not trust errors smaller than the scatter
    cov = xtwx_inv * scale
    k = float(beta[0])
    se_k = float(math.sqrt(max(cov[0, 0], 0.0)))
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, dof))
    return DepositionRate(k, k - tq * se_k, k + tq * se_k, stderr=se_k, method=next(iter(routes), None),
                          intercept=float(beta[1]) if intercept else 0.0, n_points=int(d.size))


def deposition_rates(samples: Sequence[Any], thickness: Any, stderr: Any = None, *, intercept: bool = False,
                     confidence: float = 0.95) -> dict[str, DepositionRate]:
    """:func:`deposition_rate` for each coating route among ``samples``.

    Pristine samples (n = 0) are shared by every route as the origin point.

    Examples
    --------
    >>> r = deposition_rates(["A(1)-NCM", "A(2)-NCM", "F(1)-NCM", "F(2)-NCM"], [0.5, 1.0, 0.2, 0.41])
    >>> sorted(r), round(r["F"].rate, 2)
    (['A', 'F'], 0.21)
    """
    ss = [Sample.parse(s) if isinstance(s, str) else s for s in samples]
    if not all(isinstance(s, Sample) for s in ss):
        raise ValidationError("deposition_rates: samples must be Sample objects or labels")
    d = np.asarray(array_magnitude(thickness, "nm", name="thickness"), dtype=float).ravel()
    se = None if stderr is None else np.asarray(array_magnitude(stderr, "nm", name="stderr"), float).ravel()
    if d.size != len(ss) or (se is not None and se.size != len(ss)):
        raise ValidationError(f"thickness/stderr: expected {len(ss)} values (one per sample)")
    out: dict[str, DepositionRate] = {}
    for m in sorted({s.method for s in ss if s.coated}):
        idx = [i for i, s in enumerate(ss) if s.method == m or not s.coated]
        out[m] = deposition_rate([ss[i] for i in idx], d[idx], None if se is None else se[idx],
                                 intercept=intercept, confidence=confidence)
    return out


# ------------------------------------------------------------- cross-check
def _value_err(v: Any) -> tuple[float, float]:
    """(value, stderr) from a number, a (value, stderr) pair or a result object."""
    if isinstance(v, ArxpsResult):
        return v.thickness, v.stderr
    if isinstance(v, Thickness):
        return float(v), (float("nan") if v.stderr is None else v.stderr)
    if hasattr(v, "depth") and hasattr(v, "time") and not isinstance(v, (tuple, list)):  # sims Interface
        dep = v.depth
        if dep is None:
            raise ValidationError("cross_check: a ToF-SIMS interface without a sputter rate has no depth")
        err = getattr(v, "depth_stderr", None)
        return float(dep), float("nan") if err is None else float(err)
    if hasattr(v, "value") and hasattr(v, "stderr"):
        err = v.stderr
        return float(v.value), float("nan") if err is None else float(err)
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValidationError(f"cross_check: expected (value, stderr), got {v!r}")
        return magnitude(v[0], "nm", name="thickness"), (float("nan") if v[1] is None
                                                         else magnitude(v[1], "nm", name="stderr"))
    return magnitude(v, "nm", name="thickness"), float("nan")


def cross_check(measurements: Mapping[Any, Mapping[str, Any]], *,
                deposition: Mapping[str, Any] | None = None, tolerance: float = 0.30,
                warn: bool = False) -> xr.Dataset:
    """Thickness per sample from every method available, with a disagreement flag.

    Parameters
    ----------
    measurements : mapping
        Sample (or label) → {method name → measurement}. A measurement is a
        number (nm), a ``(value, stderr)`` pair, a :class:`Thickness`, an
        :class:`ArxpsResult`, a ToF-SIMS ``Interface`` with a known sputter
        rate (its depth is used), or any object with ``.value`` and ``.stderr``
        (e.g. an EDS shell width). Suggested method names: ``"xps_attenuation"``,
        ``"xps_ratio"``, ``"arxps"``, ``"sims"``, ``"eds"``, ``"capacitance"``, ``"tem"``.
    deposition : mapping, optional
        Coating route → :class:`DepositionRate` (or ``(rate, stderr)`` in nm
        per minute); adds a ``"deposition"`` method = rate × n for every
        coated sample of that route.
    tolerance : float
        Relative spread (max − min) / mean above which ``disagree`` is set.
    warn : bool
        Also emit a :class:`DisagreementWarning` per flagged sample.

    Returns
    -------
    xarray.Dataset
        Over ``sample`` (labels) × ``technique`` (the method names; not called
        ``method`` because that clashes with ``Dataset.sel``): ``thickness`` and ``stderr``
        (nm, NaN where a method is missing); over ``sample``: ``consensus``
        (inverse-variance weighted mean where errors are known, else the
        mean), ``consensus_stderr``, ``spread`` (relative), ``n_methods`` and
        the boolean ``disagree``.

    Examples
    --------
    >>> ds = cross_check({"A(3)-NCM": {"xps_ratio": (1.5, 0.1), "sims": 1.6},
    ...                   "F(3)-NCM": {"xps_ratio": 1.0, "sims": 2.0}})
    >>> ds["disagree"].values.tolist()
    [False, True]
    """
    if not isinstance(measurements, Mapping) or not measurements:
        raise ValidationError("cross_check: expected a non-empty mapping sample → {method: measurement}")
    rows: dict[Sample | str, dict[str, tuple[float, float]]] = {}
    for key, meas in measurements.items():
        s: Sample | str = Sample.parse(key) if isinstance(key, str) else key
        if not isinstance(meas, Mapping):
            raise ValidationError(f"cross_check: measurements for {key!r} must be a mapping method → value")
        rows[s] = {str(m): _value_err(v) for m, v in meas.items()}
    if deposition:
        for s in rows:
            if isinstance(s, Sample) and s.coated and s.method in deposition and s.n is not None:
                rate_err = _value_err(deposition[s.method]) if not isinstance(deposition[s.method], DepositionRate) \
                    else (deposition[s.method].rate, deposition[s.method].stderr)
                rows[s]["deposition"] = (rate_err[0] * s.n_minutes, rate_err[1] * s.n_minutes)
    methods_seen: list[str] = []
    for r in rows.values():
        for m in r:
            if m not in methods_seen:
                methods_seen.append(m)
    samples = sorted(rows, key=lambda s: (0, s) if isinstance(s, Sample) else (1, str(s)))  # type: ignore[arg-type]
    labels = [str(s) for s in samples]
    val = np.full((len(samples), len(methods_seen)), np.nan)
    err = np.full_like(val, np.nan)
    for i, s in enumerate(samples):
        for j, m in enumerate(methods_seen):
            if m in rows[s]:
                val[i, j], err[i, j] = rows[s][m]
    cons = np.full(len(samples), np.nan)
    cons_err = np.full(len(samples), np.nan)
    spread = np.full(len(samples), np.nan)
    nmeth = np.zeros(len(samples), dtype=np.int64)
    for i in range(len(samples)):
        ok = np.isfinite(val[i])
        nmeth[i] = int(ok.sum())
        if not ok.any():
            continue
        v, e = val[i, ok], err[i, ok]
        if np.all(np.isfinite(e) & (e > 0)):
            w = 1.0 / e ** 2
            cons[i] = float(np.sum(w * v) / np.sum(w))
            cons_err[i] = float(math.sqrt(1.0 / np.sum(w)))
        else:
            cons[i] = float(np.mean(v))
            cons_err[i] = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
        mean = float(np.mean(v))
        spread[i] = float(np.ptp(v) / abs(mean)) if mean != 0 else float("inf") if np.ptp(v) > 0 else 0.0
    disagree = np.isfinite(spread) & (spread > tolerance) | np.isinf(spread)
    if warn:
        import warnings
        for i in (int(k) for k in np.flatnonzero(disagree)):
            warnings.warn(f"{labels[i]}: thickness methods disagree by {spread[i]:.0%} (> {tolerance:.0%})",
                          DisagreementWarning, stacklevel=2)
    return xr.Dataset(
        {"thickness": (("sample", "technique"), val, {"units": "nm"}),
         "stderr": (("sample", "technique"), err, {"units": "nm"}),
         "consensus": ("sample", cons, {"units": "nm"}),
         "consensus_stderr": ("sample", cons_err, {"units": "nm"}),
         "spread": ("sample", spread),
         "n_methods": ("sample", nmeth),
         "disagree": ("sample", disagree)},
        coords={"sample": labels, "technique": methods_seen},
        attrs={"tolerance": float(tolerance)})
