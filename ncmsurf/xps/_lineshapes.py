"""XPS line shapes, pure numpy, with the integrated area as the amplitude parameter.

Every function takes ``(x, area, center, fwhm, ...)`` and returns an array
whose integral over the real line equals ``area`` (for the Doniach–Šunjić
shape, whose integral diverges, ``area`` is the area of the symmetric
``alpha = 0`` limit; see :func:`doniach_sunjic`).

Examples
--------
>>> import numpy as np
>>> x = np.linspace(-40, 40, 80001)
>>> float(np.trapezoid(voigt(x, 2.0, 0.0, 1.0, 0.2), x)).__round__(3)
2.0
>>> float(np.trapezoid(gl(x, 1.0, 0.0, 1.0, 0.3), x)).__round__(3)
1.0
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
from scipy import integrate
from scipy.special import gamma as gamma_fn
from scipy.special import wofz

__all__ = [
    "SHAPES",
    "doniach_sunjic",
    "gaussian",
    "gl",
    "la",
    "lorentzian",
    "pseudo_voigt",
    "sgl",
    "voigt",
]

_LN2 = np.log(2.0)
_S2L2 = 2.0 * np.sqrt(2.0 * _LN2)  # FWHM / sigma of a Gaussian
_SQRT2 = np.sqrt(2.0)
_SQRT2PI = np.sqrt(2.0 * np.pi)
_SQRTPI = np.sqrt(np.pi)


def gaussian(x: np.ndarray, area: float, center: float, fwhm: float) -> np.ndarray:
    """Gaussian of integrated ``area`` and full width at half maximum ``fwhm``.

    Examples
    --------
    >>> round(float(gaussian(np.array([0.0]), 1.0, 0.0, 1.0)[0]), 4)
    0.9394
    """
    sigma = fwhm / _S2L2
    u = (np.asarray(x, dtype=float) - center) / sigma
    return area / (sigma * _SQRT2PI) * np.exp(-0.5 * u * u)  # type: ignore[no-any-return]


def lorentzian(x: np.ndarray, area: float, center: float, fwhm: float) -> np.ndarray:
    """Lorentzian (Cauchy) of integrated ``area`` and FWHM ``fwhm``.

    Examples
    --------
    >>> round(float(lorentzian(np.array([0.0]), 1.0, 0.0, 2.0)[0]), 4)
    0.3183
    """
    g = 0.5 * fwhm
    d = np.asarray(x, dtype=float) - center
    return area * g / (np.pi * (d * d + g * g))  # type: ignore[no-any-return]


def voigt(x: np.ndarray, area: float, center: float, fwhm: float, gamma: float) -> np.ndarray:
    """Voigt profile (Faddeeva function): Gaussian FWHM ``fwhm`` ⊗ Lorentzian half width ``gamma``.

    Examples
    --------
    >>> v = voigt(np.array([0.0]), 1.0, 0.0, 1.0, 0.0)
    >>> bool(np.isclose(v[0], gaussian(np.array([0.0]), 1.0, 0.0, 1.0)[0]))
    True
    """
    sigma = fwhm / _S2L2
    z = ((np.asarray(x, dtype=float) - center) + 1j * gamma) / (sigma * _SQRT2)
    return area * wofz(z).real / (sigma * _SQRT2PI)  # type: ignore[no-any-return]


def pseudo_voigt(x: np.ndarray, area: float, center: float, fwhm: float, eta: float) -> np.ndarray:
    """Area-weighted sum ``(1 - eta) G + eta L`` with a common FWHM.

    Examples
    --------
    >>> bool(np.allclose(pseudo_voigt(np.array([0.3]), 1, 0, 1, 1.0), lorentzian(np.array([0.3]), 1, 0, 1)))
    True
    """
    return (1.0 - eta) * gaussian(x, area, center, fwhm) + eta * lorentzian(x, area, center, fwhm)


def sgl(x: np.ndarray, area: float, center: float, fwhm: float, eta: float) -> np.ndarray:
    """CasaXPS SGL(m) sum form (``eta = m/100``): height-weighted Gaussian + Lorentzian, unit area.

    Examples
    --------
    >>> xs = np.linspace(-300, 300, 600001)
    >>> round(float(np.trapezoid(sgl(xs, 3.0, 0.0, 1.0, 0.3), xs)), 2)
    3.0
    """
    d = (np.asarray(x, dtype=float) - center) / fwhm
    g = np.exp(-4.0 * _LN2 * d * d)
    lo = 1.0 / (1.0 + 4.0 * d * d)
    norm = fwhm * ((1.0 - eta) * 0.5 * _SQRTPI / np.sqrt(_LN2) + eta * 0.5 * np.pi)
    return area * ((1.0 - eta) * g + eta * lo) / norm  # type: ignore[no-any-return]


def _gl_unit(u: np.ndarray | float, eta: float) -> np.ndarray:
    return np.exp(-4.0 * _LN2 * (1.0 - eta) * np.square(u)) / (1.0 + 4.0 * eta * np.square(u))  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _gl_norm(eta: float) -> float:
    if eta >= 1.0:
        return float(np.pi / 2.0)
    val, _ = integrate.quad(lambda u: float(_gl_unit(u, eta)), -np.inf, np.inf, limit=200)
    return float(val)


def gl(x: np.ndarray, area: float, center: float, fwhm: float, eta: float) -> np.ndarray:
    """CasaXPS GL(m) product form (``eta = m/100``), normalised to unit area numerically.

    Examples
    --------
    >>> bool(np.allclose(gl(np.array([0.2]), 1, 0, 1, 0.0), gaussian(np.array([0.2]), 1, 0, 1)))
    True
    """
    u = (np.asarray(x, dtype=float) - center) / fwhm
    return area * _gl_unit(u, float(eta)) / (fwhm * _gl_norm(float(round(eta, 12))))  # type: ignore[no-any-return]


def _gauss_convolve(xs: np.ndarray, ys: np.ndarray, fwhm_g: float) -> np.ndarray:
    """Convolve samples on the uniform grid ``xs`` with a unit-area Gaussian."""
    if fwhm_g <= 0:
        return ys
    h = xs[1] - xs[0]
    sigma = fwhm_g / _S2L2
    half = int(np.ceil(5.0 * sigma / h))
    k = np.exp(-0.5 * (np.arange(-half, half + 1) * h / sigma) ** 2)
    k /= k.sum()
    if k.size >= ys.size:
        return ys
    return np.convolve(ys, k, mode="same")


def _fine_grid(x: np.ndarray, width: float, pad: float) -> np.ndarray:
    lo, hi = float(np.min(x)) - pad, float(np.max(x)) + pad
    h = max(min(width / 12.0, 0.02), (hi - lo) / 200000.0)
    return np.arange(lo, hi + h, h)


def doniach_sunjic(x: np.ndarray, area: float, center: float, fwhm: float, gamma: float,
                   alpha: float) -> np.ndarray:
    """Doniach–Šunjić line (Lorentzian half width ``gamma``, asymmetry ``alpha``) ⊗ Gaussian FWHM ``fwhm``.

    The tail extends to higher binding energy. Its integral diverges for
    ``alpha > 0``; ``area`` is the area of the ``alpha = 0`` (Voigt) limit.

    Examples
    --------
    >>> xs = np.linspace(-50, 50, 2001)
    >>> bool(np.allclose(doniach_sunjic(xs, 1, 0, 0.8, 0.3, 0.0), voigt(xs, 1, 0, 0.8, 0.3), atol=2e-3))
    True
    """
    x = np.asarray(x, dtype=float)
    xs = _fine_grid(x, min(fwhm, 2 * gamma + 1e-3), 5.0 * fwhm + 10 * gamma)
    d = center - xs  # the DS tail (low kinetic energy) lies above the centre in binding energy
    g = max(gamma, 1e-6)
    ds = (gamma_fn(1.0 - alpha) * np.cos(np.pi * alpha / 2.0 + (1.0 - alpha) * np.arctan(d / g))
          / (g * g + d * d) ** ((1.0 - alpha) / 2.0)) / np.pi
    conv = _gauss_convolve(xs, ds, fwhm)
    return area * np.interp(x, xs, conv)  # type: ignore[no-any-return]


@lru_cache(maxsize=256)
def _la_norm(alpha: float, beta: float) -> float:
    def f(u: float) -> float:
        return float((1.0 / (1.0 + 4.0 * u * u)) ** (alpha if u > 0 else beta))

    a, _ = integrate.quad(f, 0.0, np.inf, limit=200)
    b, _ = integrate.quad(f, -np.inf, 0.0, limit=200)
    return float(a + b)


def la(x: np.ndarray, area: float, center: float, fwhm: float, alpha: float, beta: float,
       gauss_fwhm: float = 0.0) -> np.ndarray:
    """Finite-area asymmetric Lorentzian of CasaXPS LA(alpha, beta, m) type.

    ``L(u)**alpha`` on the high-binding-energy side and ``L(u)**beta`` on the
    low side, ``L(u) = 1 / (1 + 4 u**2)``, ``u = (x - center) / fwhm``,
    convolved with a Gaussian of FWHM ``gauss_fwhm`` (eV); unit area for
    ``alpha, beta > 0.5``.

    Examples
    --------
    >>> xs = np.linspace(-200, 200, 400001)
    >>> round(float(np.trapezoid(la(xs, 1.0, 0.0, 1.0, 1.2, 2.0, 0.5), xs)), 3)
    1.0
    """
    x = np.asarray(x, dtype=float)
    norm = fwhm * _la_norm(float(alpha), float(beta))

    def raw(xx: np.ndarray) -> np.ndarray:
        u = (xx - center) / fwhm
        lu = 1.0 / (1.0 + 4.0 * u * u)
        return np.where(u > 0, lu ** alpha, lu ** beta) / norm  # type: ignore[no-any-return]

    if gauss_fwhm <= 0:
        return area * raw(x)  # type: ignore[no-any-return]
    xs = _fine_grid(x, min(fwhm, gauss_fwhm), 5.0 * gauss_fwhm + 20 * fwhm)
    return area * np.interp(x, xs, _gauss_convolve(xs, raw(xs), gauss_fwhm))  # type: ignore[no-any-return]


# ---------------------------------------------------------------- gradients
def voigt_grad(x: np.ndarray, area: Any, center: Any, fwhm: Any,
               gamma: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Voigt value and its derivatives with respect to area, center, fwhm and gamma (analytic, Faddeeva).

    Broadcasts: several lines at once with parameter columns of shape ``(L, 1)``.
    """
    sigma = fwhm / _S2L2
    s2 = sigma * _SQRT2
    z = ((x - center) + 1j * gamma) / s2
    w = wofz(z)
    k = 1.0 / (sigma * _SQRT2PI)
    unit = w.real * k
    dw = -2.0 * z * w + 2j / _SQRTPI
    val = area * unit
    d_center = area * k * (dw * (-1.0 / s2)).real
    d_gamma = area * k * (dw * (1j / s2)).real
    d_sigma = -val / sigma + area * k * (dw * (-z / sigma)).real
    return val, unit, d_center, d_sigma / _S2L2, d_gamma


def gaussian_grad(x: np.ndarray, area: float, center: float,
                  fwhm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian value and derivatives with respect to area, center and fwhm."""
    sigma = fwhm / _S2L2
    d = x - center
    unit = np.exp(-0.5 * (d / sigma) ** 2) / (sigma * _SQRT2PI)
    val = area * unit
    return val, unit, val * d / sigma**2, val * (d * d / sigma**3 - 1.0 / sigma) / _S2L2


def lorentzian_grad(x: np.ndarray, area: float, center: float,
                    fwhm: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Lorentzian value and derivatives with respect to area, center and fwhm."""
    g = 0.5 * fwhm
    d = x - center
    den = d * d + g * g
    unit = g / (np.pi * den)
    val = area * unit
    d_center = area * g * 2.0 * d / (np.pi * den * den)
    d_g = area * (den - 2.0 * g * g) / (np.pi * den * den)
    return val, unit, d_center, 0.5 * d_g


# name -> (function, extra parameter names, defaults, bounds of the extras)
SHAPES: dict[str, tuple[object, tuple[str, ...], tuple[float, ...], tuple[tuple[float, float], ...]]] = {
    "gaussian": (gaussian, (), (), ()),
    "lorentzian": (lorentzian, (), (), ()),
    "voigt": (voigt, ("gamma",), (0.25,), ((0.0, 3.0),)),
    "pseudo-voigt": (pseudo_voigt, ("eta",), (0.3,), ((0.0, 1.0),)),
    "gl": (gl, ("eta",), (0.3,), ((0.0, 1.0),)),
    "sgl": (sgl, ("eta",), (0.3,), ((0.0, 1.0),)),
    "ds": (doniach_sunjic, ("gamma", "alpha"), (0.25, 0.1), ((1e-3, 3.0), (0.0, 0.5))),
    "la": (la, ("alpha", "beta", "gauss_fwhm"), (1.0, 1.5, 0.5), ((0.51, 20.0), (0.51, 20.0), (0.0, 5.0))),
}
"""Registered shapes: name → (function, extra parameter names, defaults, bounds)."""
