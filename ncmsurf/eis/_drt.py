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

import math
from typing import Any

import numpy as np
import scipy.linalg
from scipy.optimize import nnls

from ncmsurf.core.errors import FitError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import FitResult, Quality, register_citation
from ncmsurf.eis._fit import check_spectrum

__all__ = ["MERGE", "MIN_SHARE", "DRTResult", "drt"]

#: Peaks with less than this share of the total polarisation resistance are not listed.
MIN_SHARE = 0.05
#: Two maxima whose valley stays above this fraction of the lower one are one peak.
MERGE = 0.7
#: Smallest relative noise assumed (noiseless data): 1e-4, below any analyser's accuracy.
NOISE_FLOOR = 1e-4

register_citation(
    "wan2015",
    "T. H. Wan, M. Saccoccio, C. Chen, F. Ciucci, Influence of the Discretization Methods on the Distribution "
    "of Relaxation Times Deconvolution, Electrochim. Acta 184, 483-499 (2015), doi:10.1016/j.electacta.2015.09.097",
)


class DRTResult(FitResult):
    """Result of :func:`drt`: an immutable :class:`~ncmsurf.core.results.FitResult`.

    The parameters are ``R_inf`` (ohm), ``L`` (H) and ``R_pol`` (the area of
    γ, ohm); a regularised inversion gives them no standard error (NaN). The
    verdict is suspect for a poor residual (``poor_residual``, relative RMS
    above 3 %) or a λ at the end of the search grid (``at_bound``).

    Attributes
    ----------
    tau : numpy.ndarray
        Relaxation times, s (ascending).
    gamma : numpy.ndarray
        γ(ln τ), ohm (integrate over ln τ to get resistance).
    peaks : list of dict
        The significant peaks (see :func:`drt`): ``tau`` (s), ``frequency``
        (Hz, 1/(2πτ)), ``gamma`` (height), ``resistance`` (ohm, area of the
        peak), ``share`` (of the total polarisation resistance) and
        ``outside`` (True when τ lies beyond 1/ω of the measured range, e.g.
        the tail of a diffusion process that was not completed), sorted by τ.
    lambda_ : float
        Regularisation parameter used.
    noise : float
        Relative noise of the data estimated from the ridge residual.
    r_inf : float
        High-frequency resistance, ohm.
    inductance : float
        Series inductance, H.
    frequency, impedance, z_fit : numpy.ndarray
    gcv : dict
        λ grid → GCV score (empty when ``lambda_`` was given).
    """

    @property
    def tau(self) -> np.ndarray:
        """Relaxation times, s (a copy)."""
        return np.array(self._base("tau"), dtype=float)

    @property
    def gamma(self) -> np.ndarray:
        """γ(ln τ), ohm (a copy)."""
        return np.array(self._base("gamma"), dtype=float)

    @property
    def peaks(self) -> list[dict[str, Any]]:
        """The significant peaks (a new list of new dicts)."""
        b = self._base
        tau, fr, gm, rs, sh, ou = (b("peak_tau"), b("peak_frequency"), b("peak_gamma"), b("peak_resistance"),
                                   b("peak_share"), b("peak_outside"))
        out: list[dict[str, Any]] = []
        for k in range(tau.size):
            out.append({"tau": float(tau[k]), "frequency": float(fr[k]), "gamma": float(gm[k]),
                        "resistance": float(rs[k]), "share": float(sh[k]), "outside": bool(ou[k])})
        return out

    @property
    def lambda_(self) -> float:
        """Regularisation parameter used."""
        return float(self._attrs["lambda_"])

    @property
    def noise(self) -> float:
        """Estimated relative noise of the data."""
        return float(self._attrs["noise"])

    @property
    def r_inf(self) -> float:
        """High-frequency resistance, ohm."""
        return float(self._base("value")[0])

    @property
    def inductance(self) -> float:
        """Series inductance, H."""
        return float(self._base("value")[1])

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
        """The DRT model at the data frequencies (a copy)."""
        return np.array(self._base("z_fit"), dtype=complex)

    @property
    def gcv(self) -> dict[float, float]:
        """λ grid → GCV score (a new dict)."""
        return {float(k): float(v) for k, v in zip(self._base("lambda_grid"), self._base("gcv_score"), strict=True)}

    @property
    def polarization_resistance(self) -> float:
        """Total area of γ, ohm."""
        return float(self._base("value")[2])

    @property
    def relative_residual(self) -> float:
        """RMS of |Z − Ẑ|/|Z|."""
        z, zf = self._base("impedance"), self._base("z_fit")
        return float(np.sqrt(np.mean(np.abs(z - zf) ** 2 / np.abs(z) ** 2)))

    def _report_extra(self) -> list[str]:
        lines = [f"lambda = {self.lambda_:.3g} ({self._attrs.get('lambda_method', '')}), noise "
                 f"{100 * self.noise:.3g} %, relative residual {self.relative_residual:.3g}",
                 f"peaks ({self._attrs.get('significance', '')}):"]
        for p in self.peaks:
            lines.append(f"  tau = {p['tau']:.4g} s (f = {p['frequency']:.4g} Hz): R = {p['resistance']:.4g} "
                         f"({100 * p['share']:.1f} %)" + (" outside the measured range" if p["outside"] else ""))
        return lines

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


def _peaks(tau: np.ndarray, gamma: np.ndarray, tau_lo: float, tau_hi: float, *, noise_r: np.ndarray,
           min_share: float, merge: float, open_ends: tuple[bool, bool] = (True, True)
           ) -> tuple[list[dict[str, Any]], int]:
    """Significant peaks of γ and the number of maxima not listed.

    Local maxima split γ at the minima between them; a maximum whose valley
    towards a neighbour stays above ``merge`` × the lower of the two is a
    shoulder and is merged into it; a peak is listed when its area is at least
    ``min_share`` of the total and above the noise floor ``noise_r`` (the
    resistance a relaxation needs for its Z″ to stand out of the noise at
    that τ). A maximum outside the measured τ range is only constrained by the
    data when a process continues beyond it; it is listed only where
    ``open_ends`` says the data still rise towards that end (short-, long-τ).
    """
    d = _dlnt(tau)
    g = gamma
    gmax = float(g.max()) if g.size else 0.0
    if gmax <= 0:
        return [], 0
    idx = [i for i in range(g.size) if g[i] > 0.01 * gmax and (i == 0 or g[i] > g[i - 1])
           and (i == g.size - 1 or g[i] >= g[i + 1])]
    merged = True
    while merged and len(idx) > 1:
        merged = False
        for k in range(len(idx) - 1):
            a, b = idx[k], idx[k + 1]
            valley = float(g[a:b + 1].min())
            if valley >= merge * min(g[a], g[b]):
                idx.pop(k if g[a] < g[b] else k + 1)
                merged = True
                break
    total = float(g.sum() * d)
    out: list[dict[str, Any]] = []
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
        share = area / total if total > 0 else 0.0
        at_end = (t < tau_lo and not open_ends[0]) or (t > tau_hi and not open_ends[1])
        if share < min_share or area < float(noise_r[i]) or at_end:
            continue
        out.append({"tau": t, "frequency": 1 / (2 * np.pi * t), "gamma": float(g[i]), "resistance": area,
                    "share": share, "outside": bool(t < tau_lo or t > tau_hi)})
    return out, len(idx) - len(out)


def drt(
    spectrum: ImpedanceSpectrum,
    *,
    lambda_: float | None = None,
    ppd: int = 10,
    inductance: bool = True,
    lambdas: Any = None,
    method: str = "discrepancy",
    min_share: float = MIN_SHARE,
    merge: float = MERGE,
) -> DRTResult:
    """Distribution of relaxation times (Tikhonov, non-negative) with its significant peaks.

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
    lambda_ : float, optional
        Regularisation parameter; chosen by ``method`` when omitted.
    ppd : int
        τ grid points per decade.
    inductance : bool
        Fit a series inductance (for inductive high-frequency points).
    lambdas : array_like, optional
        Candidate λ values (default 10^-8 … 10^1, 28 values).
    method : {"discrepancy", "gcv"}
        λ choice. ``"discrepancy"`` (default): the noise σ is estimated from
        the ridge residual at the GCV optimum, σ² = RSS/(n − tr H); λ is the
        largest candidate whose residual stays within the noise,
        RSS(λ) ≤ n σ² (Morozov's discrepancy principle). Because σ is stable
        from one noise draw to the next, so is λ. ``"gcv"``: the GCV minimum
        (varies by about three decades across noise draws).
    min_share : float
        Peaks with less than this share of the total polarisation resistance
        (area of γ) are not listed (default 0.05).
    merge : float
        Two maxima whose valley stays above this fraction of the lower one
        are one peak (default 0.7).

    Returns
    -------
    DRTResult
        ``peaks`` lists the significant peaks: at least ``min_share`` of the
        polarisation resistance *and* a resistance R above the noise floor
        5 σ |Z(f)| at the peak's frequency (its largest effect on Z″, R/2,
        is then 2.5 noise standard deviations). A maximum outside the
        measured τ range is listed (``outside``) only when −Z″ still rises
        towards that end of the measured range (an unfinished process such
        as a diffusion tail); otherwise it is the tail of a broad peak inside.

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
    if method not in ("discrepancy", "gcv"):
        raise FitError(f"method: must be 'discrepancy' or 'gcv', got {method!r}")
    w = 2 * np.pi * f
    lt_lo = np.floor(np.log10(1 / w.max())) - 1
    lt_hi = np.ceil(np.log10(1 / w.min())) + 1
    tau = np.logspace(lt_lo, lt_hi, int(round((lt_hi - lt_lo) * ppd)) + 1)
    d = _dlnt(tau)
    mod = np.abs(z)
    kern = d / (1 + 1j * w[:, None] * tau[None, :])
    extra = 2 if inductance else 1
    a = np.column_stack([np.ones(f.size) + 0j] + ([(1j * w)[:, None] * 1.0] if inductance else []) + [kern])
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
    for j in range(k - 2):
        dmat[j, extra + j:extra + j + 3] = (1.0, -2.0, 1.0)
    n = b.size

    def solve(lam: float) -> np.ndarray:
        big = np.vstack([aw, np.sqrt(lam) * dmat])
        rhs = np.concatenate([b, np.zeros(k - 2)])
        x, _ = nnls(big, rhs, maxiter=50 * (extra + k))
        return x  # type: ignore[no-any-return]

    ata, atb, dtd = aw.T @ aw, aw.T @ b, dmat.T @ dmat
    rhs = np.column_stack([atb, ata])

    def ridge(lam: float) -> tuple[float, float]:
        """Residual sum of squares and tr H of the (unconstrained) ridge solution at lam."""
        try:
            sol = scipy.linalg.solve(ata + lam * dtd, rhs, assume_a="pos", check_finite=False)
        except (np.linalg.LinAlgError, ValueError):
            return math.inf, float(n)
        x, tr = sol[:, 0], float(np.trace(sol[:, 1:]))
        r = aw @ x - b
        return float(r @ r), tr

    scores: dict[float, float] = {}
    grid = np.logspace(-8, 1, 28) if lambdas is None else np.asarray(lambdas, float).ravel()
    stats = {float(lam): ridge(float(lam)) for lam in grid}
    for lam, (rss, tr) in stats.items():
        scores[lam] = n * rss / max(n - tr, 1e-12) ** 2
    lam_gcv = min(scores, key=lambda key: scores[key])
    rss0, tr0 = stats[lam_gcv]
    sigma = max(math.sqrt(rss0 / max(n - tr0, 1.0)), NOISE_FLOOR)
    edge = False
    if lambda_ is None:
        if method == "gcv":
            lam_used = lam_gcv
        else:
            ok = [lam for lam, (rss, _) in stats.items() if rss <= n * sigma**2]
            lam_used = max(ok) if ok else lam_gcv
        edge = lam_used in (float(grid.min()), float(grid.max())) and grid.size > 1
    else:
        lam_used = float(lambda_)
        if not lam_used > 0:
            raise FitError(f"lambda_: must be > 0, got {lambda_}")
        scores = {}
    x = solve(lam_used)
    zfit = a @ x
    x = x * zscale
    gamma = x[extra:]
    # noise floor of a peak's resistance at each tau: 5 sigma |Z| at f = 1/(2 pi tau)
    zt = np.interp(np.log(1 / tau), np.log(w[np.argsort(w)]), mod[np.argsort(w)])
    # does -Z'' still rise towards the lowest / highest measured frequency (a process beyond the range)?
    srt = np.argsort(f)
    mzi = -z.imag[srt]
    open_ends = (bool(mzi[-1] > mzi[-2] + 2 * sigma * mod[srt][-1]) if f.size > 2 else True,
                 bool(mzi[0] > mzi[1] + 2 * sigma * mod[srt][0]) if f.size > 2 else True)
    peaks, hidden = _peaks(tau, gamma, float(1 / w.max()), float(1 / w.min()), noise_r=5 * sigma * zt,
                           min_share=min_share, merge=merge, open_ends=open_ends)
    r_inf = float(x[0])
    ind = float(x[1] * lscale) if inductance else 0.0
    r_pol = float(np.sum(gamma) * d)
    rel = float(np.sqrt(np.mean(np.abs(z - zfit) ** 2 / mod**2)))
    reasons: list[tuple[str, str]] = []
    if rel > 0.03:
        reasons.append(("poor_residual", f"relative RMS residual {rel:.3g} is above 0.03"))
    if edge:
        reasons.append(("at_bound", f"lambda = {lam_used:.3g} is at the end of the search grid"))
    zu = str(spectrum.units)
    ohm = "ohm*cm**2" if "cm" in zu else "ohm"
    meta = getattr(spectrum, "meta", {}) or {}
    lam_grid = np.array(sorted(scores), dtype=float)
    pk = peaks
    return DRTResult.build(
        names=["R_inf", "L", "R_pol"], values=[r_inf, ind, r_pol], stderr=[math.nan] * 3,
        units=[ohm, "H*cm**2" if "cm" in zu else "H", ohm], quality=Quality.from_checks(suspect=reasons),
        message=f"lambda {lam_used:.3g} ({'given' if lambda_ is not None else method}); {len(pk)} significant "
                f"peak(s), {hidden} maxima not listed", citations=["wan2015"], model="DRT (Tikhonov, NNLS)",
        sample=spectrum.sample, source={"source_file": str(meta["source_file"])} if meta.get("source_file") else {},
        data_vars={
            "gamma": ("tau", gamma), "impedance": ("frequency", np.asarray(z, complex)),
            "z_fit": ("frequency", np.asarray(zfit, complex)),
            "gcv_score": ("lambda_grid", np.array([scores[v] for v in lam_grid], float)),
            "peak_tau": ("peak", np.array([p["tau"] for p in pk], float)),
            "peak_frequency": ("peak", np.array([p["frequency"] for p in pk], float)),
            "peak_gamma": ("peak", np.array([p["gamma"] for p in pk], float)),
            "peak_resistance": ("peak", np.array([p["resistance"] for p in pk], float)),
            "peak_share": ("peak", np.array([p["share"] for p in pk], float)),
            "peak_outside": ("peak", np.array([p["outside"] for p in pk], bool)),
        },
        coords={"tau": tau, "frequency": np.asarray(f, float), "lambda_grid": lam_grid},
        attrs={"lambda_": float(lam_used), "noise": float(sigma), "lambda_method": "given" if lambda_ is not None
               else method, "significance": f"share >= {min_share:g} of R_pol and R >= 5 sigma |Z(f)|; "
               f"maxima merged above {merge:g} of the lower", "hidden_maxima": int(hidden)},
    )
