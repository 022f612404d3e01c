"""Linear Kramers–Kronig test (lin-KK) with Schönleber's μ criterion.

The spectrum is fitted by a KK-compliant model, an ohmic resistance, M
series RC (Voigt) elements with fixed time constants log-spaced between
1/ω_max and 1/ω_min, a series inductance and optionally a series capacitance.
The resistances are a linear least-squares solution (pseudo-inverse, as in
Schönleber et al. 2014 and impedance.py), M grows from 1 until
μ = 1 − Σ|R_k<0| / Σ|R_k≥0| falls below the cut-off ``c``. Residuals are
(Z − Ẑ)/|Z|; data whose residuals stay within ``threshold`` are called valid.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> f = np.logspace(4, -1, 40)
>>> z = 10 + 50 / (1 + 1j * 2 * np.pi * f * 1e-3)
>>> kk = kramers_kronig(ImpedanceSpectrum(f, z), c=0.5)
>>> kk.valid, kk.max_residual < 1e-3
(True, True)

With few RC elements the fit of the real part can already show negative
resistances and stop the μ search early (here at M = 3, as in impedance.py);
a lower cut-off lets M grow:

>>> kramers_kronig(ImpedanceSpectrum(f, z), c=0.85).M
3
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import register_citation
from ncmsurf.eis._fit import check_spectrum

__all__ = ["KKResult", "kramers_kronig"]

register_citation(
    "schoenleber2014",
    "M. Schönleber, D. Klotz, E. Ivers-Tiffée, A Method for Improving the Robustness of linear "
    "Kramers-Kronig Validity Tests, Electrochim. Acta 131, 20-27 (2014), doi:10.1016/j.electacta.2014.01.034",
)


@dataclass(frozen=True, eq=False)
class KKResult:
    """Result of :func:`kramers_kronig`.

    Attributes
    ----------
    M : int
        Number of RC elements used.
    mu : float
        Schönleber's under/over-fitting measure at ``M``.
    frequency : numpy.ndarray
    impedance : numpy.ndarray
        The data (complex, ohm).
    z_fit : numpy.ndarray
        The KK-compliant model at the data frequencies.
    residuals_real, residuals_imag : numpy.ndarray
        (Z − Ẑ)/|Z|, real and imaginary parts.
    valid : bool
        Every residual within ``threshold``.
    threshold : float
    tau : numpy.ndarray
        Time constants of the RC elements, s.
    elements : numpy.ndarray
        R_0, R_1..R_M, [1/C], L as fitted.
    fit_type : str
    add_cap : bool
    """

    M: int
    mu: float
    frequency: np.ndarray
    impedance: np.ndarray
    z_fit: np.ndarray
    residuals_real: np.ndarray
    residuals_imag: np.ndarray
    valid: bool
    threshold: float
    tau: np.ndarray
    elements: np.ndarray
    fit_type: str
    add_cap: bool

    citations = ("schoenleber2014",)

    def to_dataset(self) -> xr.Dataset:
        """Storable form (see :func:`ncmsurf.save`)."""
        return xr.Dataset(
            {"impedance": ("frequency", self.impedance), "z_fit": ("frequency", self.z_fit),
             "residuals_real": ("frequency", self.residuals_real), "residuals_imag": ("frequency", self.residuals_imag),
             "tau": ("element", self.tau), "elements": ("coefficient", self.elements)},
            coords={"frequency": self.frequency},
            attrs={"M": int(self.M), "mu": float(self.mu), "valid": bool(self.valid),
                   "threshold": float(self.threshold), "fit_type": self.fit_type, "add_cap": bool(self.add_cap)},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> KKResult:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        return cls(M=int(a["M"]), mu=float(a["mu"]), frequency=ds["frequency"].values,
                   impedance=ds["impedance"].values, z_fit=ds["z_fit"].values,
                   residuals_real=ds["residuals_real"].values, residuals_imag=ds["residuals_imag"].values,
                   valid=bool(a["valid"]), threshold=float(a["threshold"]), tau=ds["tau"].values,
                   elements=ds["elements"].values, fit_type=str(a["fit_type"]), add_cap=bool(a["add_cap"]))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KKResult):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None  # type: ignore[assignment]

    @property
    def max_residual(self) -> float:
        """Largest absolute relative residual (real or imaginary)."""
        return float(max(np.abs(self.residuals_real).max(), np.abs(self.residuals_imag).max()))

    def plot(self, ax: Any = None, **kw: Any) -> Any:
        """Relative residuals (%) against frequency."""
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        ax.semilogx(self.frequency, 100 * self.residuals_real, "o-", ms=3, label="Δ real", **kw)
        ax.semilogx(self.frequency, 100 * self.residuals_imag, "s-", ms=3, label="Δ imag")
        ax.axhspan(-100 * self.threshold, 100 * self.threshold, color="0.9")
        ax.set_xlabel("f / Hz")
        ax.set_ylabel("residual / %")
        ax.set_title(f"lin-KK: M = {self.M}, μ = {self.mu:.3f}")
        ax.legend()
        return ax


def _taus(f: np.ndarray, m: int) -> np.ndarray:
    t_min, t_max = 1 / (2 * np.pi * f.max()), 1 / (2 * np.pi * f.min())
    if m == 1:
        return np.array([t_min])
    return np.asarray(10 ** (np.log10(t_min) + np.arange(m) / (m - 1) * np.log10(t_max / t_min)), dtype=float)


def _model(elements: np.ndarray, tau: np.ndarray, w: np.ndarray, add_cap: bool) -> np.ndarray:
    m = tau.size
    z: np.ndarray = elements[0] + (elements[1:m + 1][None, :] / (1 + 1j * w[:, None] * tau[None, :])).sum(axis=1)
    z = z + 1j * w * elements[-1]
    if add_cap:
        with np.errstate(divide="ignore"):
            z = z - 1j * elements[-2] / w  # elements[-2] holds 1/C
    return z


def _mu(r: np.ndarray) -> float:
    pos = np.abs(r[r >= 0]).sum()
    neg = np.abs(r[r < 0]).sum()
    return float(1 - neg / pos) if pos > 0 else -np.inf


def _fit_m(f: np.ndarray, z: np.ndarray, m: int, fit_type: str, add_cap: bool) -> tuple[np.ndarray, np.ndarray, float]:
    w = 2 * np.pi * f
    tau = _taus(f, m)
    mod = np.abs(z)
    ncol = m + 3 if add_cap else m + 2
    a_re = np.zeros((f.size, ncol))
    a_im = np.zeros((f.size, ncol))
    a_re[:, 0] = 1 / mod
    a_im[:, -1] = w / mod
    if add_cap:
        a_im[:, -2] = -1 / (w * mod)
    k = 1 / (1 + 1j * w[:, None] * tau[None, :])
    a_re[:, 1:m + 1] = k.real / mod[:, None]
    a_im[:, 1:m + 1] = k.imag / mod[:, None]
    if fit_type == "real":
        el = np.linalg.pinv(a_re) @ (z.real / mod)
        b = np.zeros((f.size, 2))
        b[:, -1] = w / mod
        if add_cap:
            b[:, -2] = -1 / (w * mod)
            el[-2] = 0.0
        zr = _model(el, tau, w, add_cap)
        coefs = np.linalg.pinv(b) @ ((z.imag - zr.imag) / mod)
        if add_cap:
            el[-2:] = coefs
        else:
            el[-1] = coefs[-1]
    elif fit_type == "imag":
        el = np.linalg.pinv(a_im) @ (z.imag / mod)
        el[0] = 0.0
        zr = _model(el, tau, w, add_cap)
        ws = 1 / mod**2
        el[0] = np.sum(ws * (z.real - zr.real)) / np.sum(ws)
    elif fit_type == "complex":
        x = np.linalg.inv(a_re.T @ a_re + a_im.T @ a_im)
        el = x @ (a_re.T @ (z.real / mod) + a_im.T @ (z.imag / mod))
    else:
        raise FitError(f"fit_type: must be 'real', 'imag' or 'complex', got {fit_type!r}")
    return el, tau, _mu(el[1:m + 1])


def kramers_kronig(
    spectrum: ImpedanceSpectrum,
    *,
    c: float | None = 0.85,
    max_M: int = 50,
    fit_type: str = "real",
    add_cap: bool = False,
    threshold: float = 0.01,
) -> KKResult:
    """Linear Kramers–Kronig test (lin-KK, Schönleber et al. 2014).

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
    c : float or None
        μ cut-off: M grows from 1 until μ < c (at most ``max_M``). ``None``
        uses exactly ``max_M`` elements.
    max_M : int
        Largest number of RC elements.
    fit_type : {"real", "imag", "complex"}
        Which part of the data the resistances are fitted to.
    add_cap : bool
        Add a series capacitance (data without a low-frequency intercept).
    threshold : float
        ``valid`` is True when every relative residual is within this (0.01 = 1 %).

    Returns
    -------
    KKResult

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.core.models import ImpedanceSpectrum
    >>> f = np.logspace(5, -1, 50)
    >>> z = 5 + 20 / (1 + (1j * 2 * np.pi * f * 1e-3) ** 0.8)
    >>> kk = kramers_kronig(ImpedanceSpectrum(f, z), c=0.5)
    >>> kk.valid, kk.max_residual < 1e-3
    (True, True)
    """
    f, z = check_spectrum(spectrum)
    if max_M < 1:
        raise FitError(f"max_M: must be >= 1, got {max_M}")
    if c is not None:
        m, mu = 0, 1.0
        el = tau = np.zeros(0)
        while mu > c and m < max_M:
            m += 1
            el, tau, mu = _fit_m(f, z, m, fit_type, add_cap)
    else:
        m = int(max_M)
        el, tau, mu = _fit_m(f, z, m, fit_type, add_cap)
    zf = _model(el, tau, 2 * np.pi * f, add_cap)
    res = (z - zf) / np.abs(z)
    valid = bool(np.all(np.abs(res.real) <= threshold) and np.all(np.abs(res.imag) <= threshold))
    return KKResult(M=m, mu=mu, frequency=f, impedance=z, z_fit=zf, residuals_real=res.real,
                    residuals_imag=res.imag, valid=valid, threshold=float(threshold), tau=tau, elements=el,
                    fit_type=fit_type, add_cap=add_cap)
