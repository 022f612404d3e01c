"""Distribution of relaxation times by non-negative Tikhonov regression.

Z(ω) = R_∞ + jωL + ∫ γ(ln τ) / (1 + jωτ) d ln τ is discretised on a log grid of
τ (piecewise-constant γ, ``ppd`` points per decade, one decade beyond the
measured range at each end). Real and imaginary parts are fitted together,
each residual divided by |Z|, with a second-difference penalty λ‖Dγ‖², under
γ ≥ 0, R_∞ ≥ 0, L ≥ 0 (scipy NNLS on the stacked system). λ is chosen by
generalised cross-validation of the (unconstrained) ridge solution over a
log grid; the unknowns are scaled by the median |Z| so λ is dimensionless. Peaks are the local maxima of
γ; each peak's resistance is the area of γ between its neighbouring minima.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> f = np.logspace(5, -2, 71)
>>> z = 2 + 10 / (1 + 1j * 2 * np.pi * f * 1e-3) + 5 / (1 + 1j * 2 * np.pi * f * 1.0)
>>> res = drt(ImpedanceSpectrum(f, z))
>>> [round(p["resistance"]) for p in res.peaks]
[10, 5]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import nnls

from ncmsurf.core.errors import FitError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import register_citation
from ncmsurf.eis._fit import check_spectrum

__all__ = ["DRTResult", "drt"]

register_citation(
    "wan2015",
    "T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Influence of the Discretization Methods on the Distribution "
    "of Relaxation Times Deconvolution, Electrochim. Acta 184, 483-499 (2015), doi:10.1016/j.electacta.2015.09.097",
)


@dataclass(frozen=True, eq=False)
class DRTResult:
    """Result of :func:`drt`.

    Attributes
    ----------
    tau : numpy.ndarray
        Relaxation times, s (ascending).
    gamma : numpy.ndarray
        γ(ln τ), ohm (integrate over ln τ to get resistance).
    peaks : list of dict
        ``tau`` (s), ``frequency`` (Hz, 1/(2πτ)), ``gamma`` (height),
        ``resistance`` (ohm, area of the peak) and ``outside`` (True when τ
        lies beyond 1/ω of the measured range, e.g. the tail of a diffusion
        process that was not completed), sorted by τ.
    lambda_ : float
        Regularisation parameter used.
    r_inf : float
        High-frequency resistance, ohm.
    inductance : float
        Series inductance, H.
    frequency, impedance, z_fit : numpy.ndarray
    gcv : dict
        λ grid → GCV score (empty when ``lambda_`` was given).
    """

    tau: np.ndarray
    gamma: np.ndarray
    peaks: list[dict[str, float]]
    lambda_: float
    r_inf: float
    inductance: float
    frequency: np.ndarray
    impedance: np.ndarray
    z_fit: np.ndarray
    gcv: dict[float, float] = field(default_factory=dict)

    citations = ("wan2015",)

    def to_dataset(self) -> xr.Dataset:
        """Storable form (see :func:`ncmsurf.save`)."""
        lam = np.array(sorted(self.gcv), dtype=float)
        return xr.Dataset(
            {"gamma": ("tau", self.gamma), "impedance": ("frequency", self.impedance),
             "z_fit": ("frequency", self.z_fit), "gcv": ("lambda_grid", np.array([self.gcv[k] for k in lam]))},
            coords={"tau": self.tau, "frequency": self.frequency, "lambda_grid": lam},
            attrs={"peaks": [dict(p) for p in self.peaks], "lambda_": float(self.lambda_), "r_inf": float(self.r_inf),
                   "inductance": float(self.inductance)},
        )

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> DRTResult:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        return cls(tau=ds["tau"].values, gamma=ds["gamma"].values, peaks=[dict(p) for p in a.get("peaks", [])],
                   lambda_=float(a["lambda_"]), r_inf=float(a["r_inf"]), inductance=float(a["inductance"]),
                   frequency=ds["frequency"].values, impedance=ds["impedance"].values, z_fit=ds["z_fit"].values,
                   gcv={float(k): float(v) for k, v in zip(ds["lambda_grid"].values, ds["gcv"].values, strict=True)})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DRTResult):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None  # type: ignore[assignment]

    @property
    def polarization_resistance(self) -> float:
        """Total area of γ, ohm."""
        return float(np.sum(self.gamma) * _dlnt(self.tau))

    @property
    def relative_residual(self) -> float:
        """RMS of |Z − Ẑ|/|Z|."""
        return float(np.sqrt(np.mean(np.abs(self.impedance - self.z_fit) ** 2 / np.abs(self.impedance) ** 2)))

    def plot(self, ax: Any = None, **kw: Any) -> Any:
        """γ against τ with the peaks marked."""
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        ax.semilogx(self.tau, self.gamma, "-", **kw)
        for p in self.peaks:
            ax.axvline(p["tau"], color="0.7", lw=0.8)
        ax.set_xlabel("τ / s")
        ax.set_ylabel("γ / Ω")
        ax.set_title(f"DRT, λ = {self.lambda_:.2g}")
        return ax


def _dlnt(tau: np.ndarray) -> float:
    return float(np.log(tau[1] / tau[0])) if tau.size > 1 else 1.0


def _peaks(tau: np.ndarray, gamma: np.ndarray, tau_lo: float, tau_hi: float) -> list[dict[str, float]]:
    d = _dlnt(tau)
    g = gamma
    gmax = float(g.max()) if g.size else 0.0
    if gmax <= 0:
        return []
    idx = [i for i in range(g.size) if g[i] > 0.01 * gmax and (i == 0 or g[i] > g[i - 1])
           and (i == g.size - 1 or g[i] >= g[i + 1])]
    out = []
    for k, i in enumerate(idx):
        lo = 0 if k == 0 else idx[k - 1] + int(np.argmin(g[idx[k - 1]:i + 1]))
        hi = g.size - 1 if k == len(idx) - 1 else i + int(np.argmin(g[i:idx[k + 1] + 1]))
        area = float(g[lo:hi + 1].sum() * d)
        if k > 0:
            area -= 0.5 * float(g[lo]) * d  # the shared minimum is split between both peaks
        if k < len(idx) - 1:
            area -= 0.5 * float(g[hi]) * d
        # centre refined by a parabola through the three top points (in ln τ)
        t = float(tau[i])
        if 0 < i < g.size - 1:
            den = g[i - 1] - 2 * g[i] + g[i + 1]
            if den < 0:
                t = float(tau[i] * np.exp(0.5 * (g[i - 1] - g[i + 1]) / den * d))
        out.append({"tau": t, "frequency": 1 / (2 * np.pi * t), "gamma": float(g[i]), "resistance": area,
                    "outside": bool(t < tau_lo or t > tau_hi)})
    return out


def drt(
    spectrum: ImpedanceSpectrum,
    *,
    lambda_: float | None = None,
    ppd: int = 10,
    inductance: bool = True,
    lambdas: Any = None,
) -> DRTResult:
    """Distribution of relaxation times (Tikhonov, non-negative).

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
    lambda_ : float, optional
        Regularisation parameter; chosen by generalised cross-validation when omitted.
    ppd : int
        τ grid points per decade.
    inductance : bool
        Fit a series inductance (for inductive high-frequency points).
    lambdas : array_like, optional
        Candidate λ values for the GCV search (default 10^-8 … 10^1, 28 values).

    Returns
    -------
    DRTResult

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.core.models import ImpedanceSpectrum
    >>> f = np.logspace(4, -1, 51)
    >>> z = 1 + 4 / (1 + 1j * 2 * np.pi * f * 0.01)
    >>> r = drt(ImpedanceSpectrum(f, z), lambda_=1e-3)
    >>> abs(r.peaks[0]["frequency"] - 15.9) < 1.0, round(r.r_inf, 1)
    (True, 1.0)
    """
    f, z = check_spectrum(spectrum)
    if ppd < 2:
        raise FitError(f"ppd: must be >= 2, got {ppd}")
    w = 2 * np.pi * f
    lt_lo = np.floor(np.log10(1 / w.max())) - 1
    lt_hi = np.ceil(np.log10(1 / w.min())) + 1
    tau = np.logspace(lt_lo, lt_hi, int(round((lt_hi - lt_lo) * ppd)) + 1)
    d = _dlnt(tau)
    mod = np.abs(z)
    kern = d / (1 + 1j * w[:, None] * tau[None, :])
    cols = [np.ones(f.size) + 0j, kern]
    extra = 1
    if inductance:
        cols.insert(1, (1j * w)[:, None] * 1.0)
        extra = 2
    a = np.column_stack([cols[0]] + ([cols[1]] if inductance else []) + [kern])
    # scale the inductance column to ohm-like magnitude for conditioning
    lscale = 1.0
    if inductance:
        lscale = 1.0 / w.max()
        a[:, 1] *= lscale
    # unknowns in units of a typical |Z| so that lambda is dimensionless
    zscale = float(np.median(mod))
    a = a * zscale
    aw = np.vstack([(a.real / mod[:, None]), (a.imag / mod[:, None])])
    b = np.concatenate([z.real / mod, z.imag / mod])
    k = tau.size
    dmat = np.zeros((k - 2, extra + k))
    for i in range(k - 2):
        dmat[i, extra + i:extra + i + 3] = (1.0, -2.0, 1.0)
    n = b.size

    def solve(lam: float) -> np.ndarray:
        big = np.vstack([aw, np.sqrt(lam) * dmat])
        rhs = np.concatenate([b, np.zeros(k - 2)])
        x, _ = nnls(big, rhs, maxiter=50 * (extra + k))
        return x  # type: ignore[no-any-return]

    ata, atb, dtd = aw.T @ aw, aw.T @ b, dmat.T @ dmat

    def gcv(lam: float) -> float:
        """GCV score of the (unconstrained) ridge solution at lam."""
        m = ata + lam * dtd
        try:
            x = np.linalg.solve(m, atb)
            tr = float(np.trace(np.linalg.solve(m, ata)))
        except np.linalg.LinAlgError:
            return np.inf
        r = aw @ x - b
        return n * float(r @ r) / max(n - tr, 1e-12) ** 2

    scores: dict[float, float] = {}
    if lambda_ is None:
        grid = np.logspace(-8, 1, 28) if lambdas is None else np.asarray(lambdas, float)
        for lam in grid:
            scores[float(lam)] = gcv(float(lam))
        lam_used = min(scores, key=lambda key: scores[key])
    else:
        lam_used = float(lambda_)
        if not lam_used > 0:
            raise FitError(f"lambda_: must be > 0, got {lambda_}")
    x = solve(lam_used)
    zfit = a @ x
    x = x * zscale
    gamma = x[extra:]
    peaks = _peaks(tau, gamma, float(1 / w.max()), float(1 / w.min()))
    return DRTResult(tau=tau, gamma=gamma, peaks=peaks, lambda_=lam_used, r_inf=float(x[0]),
                     inductance=float(x[1] * lscale) if inductance else 0.0, frequency=f, impedance=z,
                     z_fit=zfit, gcv=scores)
