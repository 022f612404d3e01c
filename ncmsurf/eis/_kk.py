"""Linear Kramers–Kronig test (lin-KK) with a sound choice of M and a noise-aware verdict.

The spectrum is fitted by a KK-compliant model, an ohmic resistance, M
series RC (Voigt) elements with fixed time constants log-spaced between
1/ω_max and 1/ω_min, a series inductance and optionally a series capacitance.
The resistances are a linear least-squares solution (pseudo-inverse, as in
Schönleber et al. 2014 and impedance.py). Residuals are (Z − Ẑ)/|Z|.

**Choice of M** (``c`` given). Schönleber's μ = 1 − Σ|R_k<0| / Σ|R_k≥0|
measures over-fitting; impedance.py grows M from 1 and stops at the first
μ < c. With few elements the fit of a real spectrum is so poor that negative
resistances appear already at M = 2–4, so that rule stops on an *under*-fitted
model (M = 3 on most real spectra at the default c = 0.85) and the residuals
then show the misfit, not the data. Here M must first reach the plateau of
the pseudo χ² = Σ|Z − Ẑ|²/|Z|² (Boukamp 1995): M_lo is the smallest M whose
RMS residual is within a factor 2 of the smallest RMS over all M tried
(1 … min(max_M, N − 3); the curve is not monotonic: past the plateau the
imaginary part predicted from an over-fitted real part gets worse again), or
below 1e-4, far below any analyser's accuracy; M is then the first M ≥ M_lo
with μ < c (the onset of over-fitting), else the largest M tried.
On data where μ stays ≥ c up to the plateau (e.g. the reference spectrum
Circuit3_EIS_1 with c = 0.69: M = 10) this is exactly Schönleber's and
impedance.py's M. pyimpspec (Yrjänä and Bobacka 2024) goes further: it also
optimises an extension of the τ range and combines several criteria with
lower and upper limits on M read from the χ² curve; the plateau limit here is
in the same spirit.

**Validity** asks whether a KK-compliant model reproduces the data within
their noise: it is judged on the best model (lowest χ²) from M_lo to M (the
residuals reported are those at M, Schönleber's choice; on the reference
spectrum Circuit3_EIS_1 the χ² curve is so uneven that M = 10 misses by
1.3 % where M = 9 fits to 0.1 %). It is judged against the noise the
residuals show, not by a fixed cap on every point (a compliant spectrum with 0.5 % noise has single
residuals above 1 %). With σ = the RMS of the real and imaginary residuals
together (the noise estimate; pyimpspec reports the same figure as
√(χ²·5000/N) %), the data are valid when (1) σ ≤ ``threshold`` (default 1 %),
(2) no residual exceeds max(``threshold``, 5σ) (a single bad point), and (3)
when σ > ``threshold``/5, the runs test does not find the residual signs of
the real or the imaginary part ordered in blocks (p < 1e-5 each: drift or
non-linearity; the residual of a real-part fit is not white, its imaginary
part carries the smoothed noise of the real part, so a runs test at the usual
1e-3 would call 6 % of compliant spectra invalid). Structure below ``threshold``/5 RMS is left to the model's own
discretisation error.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> f = np.logspace(4, -1, 40)
>>> z = 10 + 50 / (1 + 1j * 2 * np.pi * f * 1e-3)
>>> kk = kramers_kronig(ImpedanceSpectrum(f, z), c=0.5)
>>> kk.valid, kk.max_residual < 1e-3, kk.quality.level
(True, True, 'good')
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.linalg

from ncmsurf.core.errors import FitError
from ncmsurf.core.fitting import runs_test
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import FitResult, Quality, register_citation
from ncmsurf.eis._fit import check_spectrum

__all__ = ["KKResult", "kramers_kronig"]

#: Significance level of the runs test on the lin-KK residuals.
RUNS_ALPHA = 1e-5

register_citation(
    "boukamp1995",
    "B. A. Boukamp, A Linear Kronig-Kramers Transform Test for Immittance Data Validation, J. Electrochem. Soc. "
    "142, 1885-1894 (1995), doi:10.1149/1.2044210",
)
register_citation(
    "schoenleber2014",
    "M. Schönleber, D. Klotz, E. Ivers-Tiffée, A Method for Improving the Robustness of linear "
    "Kramers-Kronig Validity Tests, Electrochim. Acta 131, 20-27 (2014), doi:10.1016/j.electacta.2014.01.034",
)


class KKResult(FitResult):
    """Result of :func:`kramers_kronig`: an immutable :class:`~ncmsurf.core.results.FitResult`.

    The parameters are the KK-compliant model's elements: ``R_inf``, ``R_1``
    … ``R_M`` (ohm), ``inv_C`` (1/F, with ``add_cap``) and ``L`` (H); being a
    linear test with fixed time constants, they carry no standard error
    (NaN). The verdict is ``good`` for valid data and ``suspect`` with
    ``kk_invalid`` otherwise.

    Attributes
    ----------
    M : int
        Number of RC elements used.
    mu : float
        Schönleber's under/over-fitting measure at ``M``.
    frequency, impedance, z_fit : numpy.ndarray
        The data and the KK-compliant model at the data frequencies (copies).
    residuals_real, residuals_imag : numpy.ndarray
        (Z − Ẑ)/|Z|, real and imaginary parts.
    valid : bool
        The residuals are consistent with noise (see :func:`kramers_kronig`).
    noise : float
        RMS of the relative residuals (real and imaginary together): the
        noise level the data show against a KK-compliant model.
    validity : str
        Why the data are (in)valid, in words.
    threshold : float
    tau : numpy.ndarray
        Time constants of the RC elements, s.
    elements : numpy.ndarray
        R_0, R_1..R_M, [1/C], L as fitted.
    fit_type : str
    add_cap : bool
    """

    @property
    def M(self) -> int:
        """Number of RC elements."""
        return int(self._attrs["M"])

    @property
    def mu(self) -> float:
        """μ at M."""
        return float(self._attrs["mu"])

    @property
    def valid(self) -> bool:
        """Whether the data pass the test."""
        return bool(self._attrs["valid"])

    @property
    def validity(self) -> str:
        """The reason for the decision, in words."""
        return str(self._attrs["validity"])

    @property
    def noise(self) -> float:
        """RMS relative residual (the noise the data show against the KK model)."""
        return float(self._attrs["noise"])

    @property
    def threshold(self) -> float:
        """Largest RMS relative residual of valid data."""
        return float(self._attrs["threshold"])

    @property
    def fit_type(self) -> str:
        """``"real"``, ``"imag"`` or ``"complex"``."""
        return str(self._attrs["fit_type"])

    @property
    def add_cap(self) -> bool:
        """Whether a series capacitance was included."""
        return bool(self._attrs["add_cap"])

    @property
    def frequency(self) -> np.ndarray:
        """Frequencies, Hz (a copy)."""
        return np.array(self._base("frequency"), dtype=float)

    @property
    def impedance(self) -> np.ndarray:
        """The data (a copy)."""
        return np.array(self._base("impedance"), dtype=complex)

    @property
    def z_fit(self) -> np.ndarray:
        """The KK-compliant model at the data frequencies (a copy)."""
        return np.array(self._base("z_fit"), dtype=complex)

    @property
    def residuals_real(self) -> np.ndarray:
        """Real part of (Z − Ẑ)/|Z| (a copy)."""
        return np.array(self._base("residuals_real"), dtype=float)

    @property
    def residuals_imag(self) -> np.ndarray:
        """Imaginary part of (Z − Ẑ)/|Z| (a copy)."""
        return np.array(self._base("residuals_imag"), dtype=float)

    @property
    def tau(self) -> np.ndarray:
        """Time constants of the RC elements, s (a copy)."""
        return np.array(self._base("tau"), dtype=float)

    @property
    def elements(self) -> np.ndarray:
        """R_0, R_1..R_M, [1/C], L (a copy)."""
        return np.asarray(self._base("value"), dtype=float).copy()

    @property
    def max_residual(self) -> float:
        """Largest absolute relative residual (real or imaginary)."""
        return float(max(np.abs(self._base("residuals_real")).max(),
                         np.abs(self._base("residuals_imag")).max()))

    def _report_extra(self) -> list[str]:
        return [f"M = {self.M}, mu = {self.mu:.4g}, fit_type = {self.fit_type}, add_cap = {self.add_cap}",
                f"valid: {self.valid} ({self.validity})"]

    def plot(self, ax: Any = None, **kw: Any) -> Any:
        """Relative residuals (%) against frequency."""
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        f = self.frequency
        ax.semilogx(f, 100 * self.residuals_real, "o-", ms=3, label="Δ real", **kw)
        ax.semilogx(f, 100 * self.residuals_imag, "s-", ms=3, label="Δ imag")
        ax.axhspan(-100 * self.threshold, 100 * self.threshold, color="0.9")
        ax.set_xlabel("f / Hz")
        ax.set_ylabel("residual / %")
        ax.set_title(f"lin-KK: M = {self.M}, μ = {self.mu:.3f}, {'valid' if self.valid else 'invalid'}")
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


def _lsq(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum-norm least-squares solution (rank-revealing QR, LAPACK gelsy: as the pseudo-inverse, faster)."""
    x = scipy.linalg.lstsq(a, b, lapack_driver="gelsy", check_finite=False)[0]
    return np.asarray(x, dtype=float)


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
        el = _lsq(a_re, z.real / mod)
        b = np.zeros((f.size, 2))
        b[:, -1] = w / mod
        if add_cap:
            b[:, -2] = -1 / (w * mod)
            el[-2] = 0.0
        zr = _model(el, tau, w, add_cap)
        coefs = _lsq(b, (z.imag - zr.imag) / mod)
        if add_cap:
            el[-2:] = coefs
        else:
            el[-1] = coefs[-1]
    elif fit_type == "imag":
        el = _lsq(a_im, z.imag / mod)
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


def _chi2(f: np.ndarray, z: np.ndarray, m: int, fit_type: str, add_cap: bool
          ) -> tuple[float, np.ndarray, np.ndarray, float]:
    el, tau, mu = _fit_m(f, z, m, fit_type, add_cap)
    r = (z - _model(el, tau, 2 * np.pi * f, add_cap)) / np.abs(z)
    return float(np.sum(r.real**2 + r.imag**2)), el, tau, mu


def _validity(rv: np.ndarray, f: np.ndarray, threshold: float) -> tuple[bool, str, float]:
    """The validity rule (module docstring) on relative residuals ``rv``: (valid, reason, RMS)."""
    n = rv.size
    sigma = float(np.sqrt(np.sum(rv.real**2 + rv.imag**2) / (2 * n)))
    biggest = float(max(np.abs(rv.real).max(), np.abs(rv.imag).max()))
    order = np.argsort(f)
    p_re = runs_test(rv.real[order])[2]
    p_im = runs_test(rv.imag[order])[2]
    if not sigma <= threshold:
        return False, f"RMS residual {100 * sigma:.3g} % is above the threshold {100 * threshold:g} %", sigma
    if biggest > max(threshold, 5 * sigma):
        return False, (f"a residual of {100 * biggest:.3g} % is more than 5 times the RMS {100 * sigma:.3g} % "
                       "(a bad point)"), sigma
    if sigma > threshold / 5 and min(p_re, p_im) < RUNS_ALPHA:
        part = "real" if p_re <= p_im else "imaginary"
        return False, (f"the {part} residuals run in blocks (runs test p = {min(p_re, p_im):.2g}) at "
                       f"{100 * sigma:.3g} % RMS: drift or non-linearity"), sigma
    return True, f"RMS residual {100 * sigma:.3g} % with no systematic pattern", sigma


def kk_check(f: np.ndarray, z: np.ndarray, m: int, *, add_cap: bool = True, threshold: float = 0.01
             ) -> tuple[bool, str]:
    """The validity verdict of lin-KK with ``m`` elements, without building a result (for fit verdicts)."""
    el, tau, _ = _fit_m(f, z, m, "real", add_cap)
    rv = (z - _model(el, tau, 2 * np.pi * f, add_cap)) / np.abs(z)
    valid, why, _ = _validity(rv, f, threshold)
    return valid, f"M = {m}: {why}"


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
        μ cut-off: the first M at or beyond the χ² plateau with μ < c (see the
        module docstring). ``None`` uses exactly ``max_M`` elements.
    max_M : int
        Largest number of RC elements (also at most N − 3 with a cut-off).
    fit_type : {"real", "imag", "complex"}
        Which part of the data the resistances are fitted to.
    add_cap : bool
        Add a series capacitance (data without a low-frequency intercept).
    threshold : float
        Largest RMS relative residual of valid data (0.01 = 1 %); see the
        module docstring for the whole rule.

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
    if fit_type not in ("real", "imag", "complex"):
        raise FitError(f"fit_type: must be 'real', 'imag' or 'complex', got {fit_type!r}")
    n = f.size
    if c is not None:
        m_max = max(1, min(int(max_M), n - 3))
        cache: dict[int, tuple[float, np.ndarray, np.ndarray, float]] = {}

        def at(m: int) -> tuple[float, np.ndarray, np.ndarray, float]:
            if m not in cache:
                cache[m] = _chi2(f, z, m, fit_type, add_cap)
            return cache[m]

        chi = [at(m)[0] for m in range(1, m_max + 1)]
        target = max(4.0 * min(chi), 2 * n * 1e-8)  # RMS within 2x of the best, or below 1e-4
        m_lo = 1 + next(i for i, v in enumerate(chi) if v <= target)
        m = m_lo
        while at(m)[3] >= c and m < m_max:
            m += 1
        _, el, tau, mu = at(m)
        m_v = min(range(m_lo, m + 1), key=lambda k: at(k)[0])  # the best compliant model up to M
        _, el_v, tau_v, _ = at(m_v)
    else:
        m = int(max_M)
        el, tau, mu = _fit_m(f, z, m, fit_type, add_cap)
        m_lo = m_v = m
        el_v, tau_v = el, tau
    zf = _model(el, tau, 2 * np.pi * f, add_cap)
    res = (z - zf) / np.abs(z)
    rv = (z - _model(el_v, tau_v, 2 * np.pi * f, add_cap)) / np.abs(z)
    valid, why, sigma = _validity(rv, f, threshold)
    if m_v != m:
        why += f" (judged at M = {m_v}, the best model from the plateau M = {m_lo} to M = {m})"
    quality = Quality.good() if valid else Quality("suspect", [("kk_invalid", why)])
    names = ["R_inf"] + [f"R_{i + 1}" for i in range(m)] + (["inv_C"] if add_cap else []) + ["L"]
    zu = str(spectrum.units)
    ohm = "ohm*cm**2" if "cm" in zu else "ohm"
    units = [ohm] * (m + 1) + (["1/F*cm**2" if "cm" in zu else "1/F"] if add_cap else []) + \
        ["H*cm**2" if "cm" in zu else "H"]
    meta = getattr(spectrum, "meta", {}) or {}
    return KKResult.build(
        names=names, values=np.asarray(el, float), stderr=np.full(len(names), np.nan), units=units,
        success=True, message=f"lin-KK with M = {m} (plateau from M = {m_lo}), mu = {mu:.4g}", quality=quality,
        citations=["schoenleber2014", "boukamp1995"], model=f"lin-KK ({fit_type})", sample=spectrum.sample,
        source={"source_file": str(meta["source_file"])} if meta.get("source_file") else {},
        data_vars={"impedance": ("frequency", np.asarray(z, complex)), "z_fit": ("frequency", zf),
                   "residuals_real": ("frequency", res.real.copy()), "residuals_imag": ("frequency", res.imag.copy()),
                   "tau": ("element", np.asarray(tau, float))},
        coords={"frequency": np.asarray(f, float)},
        attrs={"M": int(m), "mu": float(mu), "valid": bool(valid), "validity": why, "noise": sigma,
               "threshold": float(threshold), "fit_type": fit_type, "add_cap": bool(add_cap), "c": -1.0 if c is None
               else float(c), "plateau_M": int(m_lo), "judged_M": int(m_v)},
    )
