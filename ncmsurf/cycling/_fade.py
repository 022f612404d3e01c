"""Capacity-fade models, their fits, cycles-to-threshold and model averaging (private).

Every law is fitted by :func:`ncmsurf.core.fitting.least_squares` (bounded,
the covariance from the package's one SVD routine, scaled by the reduced χ²
since capacities carry no absolute noise level). The result,
:class:`FadeFit`, is an :class:`ncmsurf.FitResult` with a verdict:

* ``failed``: the optimiser did not converge, or there is nothing to fit
  (every capacity zero, negative or missing: ``input``);
* ``suspect`` with ``systematic_residual`` when the residual signs run in
  long blocks (runs test, p < 1e-3): the law does not follow the data
  (e.g. a linear law on an exponential fade); ``at_bound`` when a
  parameter ended on its bound; ``unidentifiable`` when a parameter has no
  finite standard error or the fit is near-singular (condition > 1e12);
  ``partial_data`` when missing or non-positive capacities were left out;
* for ``model="auto"``, ``model_selection`` (a note that keeps the level)
  when the chosen law holds less than 95 % of the Akaike weight: the
  intervals of :meth:`FadeFit.cycles_to` are then model-averaged.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.fitting import Solution, check_bounds, check_identifiable, check_runs, least_squares
from ncmsurf.core.results import FitResult, Quality, register_citation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FADE_MODELS", "FadeFit", "fade_law", "fit_fade"]

register_citation(
    "bacon-watts",
    "D. W. Bacon, D. G. Watts, Estimating the transition between two intersecting straight lines, "
    "Biometrika 58 (1971) 525-534.")
register_citation("akaike-weights", "K. P. Burnham, D. R. Anderson, Model Selection and Multimodel Inference, "
                                    "2nd ed., Springer (2002), ch. 4 (model averaging with Akaike weights)")
register_citation(
    "knee-onset",
    "P. Fermin-Cueto et al., Identification and machine learning prediction of knee-point and knee-onset "
    "in capacity degradation curves of lithium-ion cells, Energy and AI 1 (2020) 100006.")


# ----------------------------------------------------------------- kernels
def _linear(n: np.ndarray, q0: Any, a: Any) -> np.ndarray:
    return q0 - a * n  # type: ignore[no-any-return]


def _exponential(n: np.ndarray, q0: Any, k: Any) -> np.ndarray:
    return q0 * np.exp(-k * n)  # type: ignore[no-any-return]


def _double_exponential(n: np.ndarray, a1: Any, k1: Any, a2: Any, k2: Any) -> np.ndarray:
    return a1 * np.exp(-k1 * n) + a2 * np.exp(-k2 * n)  # type: ignore[no-any-return]


def _power(n: np.ndarray, q0: Any, a: Any, z: Any) -> np.ndarray:
    return q0 * (1.0 - a * np.power(n, z))  # type: ignore[no-any-return]


def _sqrt_linear(n: np.ndarray, q0: Any, a: Any, b: Any) -> np.ndarray:
    return q0 - a * np.sqrt(n) - b * n  # type: ignore[no-any-return]


def _logarithmic(n: np.ndarray, q0: Any, a: Any) -> np.ndarray:
    return q0 - a * np.log1p(n)  # type: ignore[no-any-return]


def _bacon_watts(n: np.ndarray, a0: Any, a1: Any, a2: Any, n0: Any, gamma: Any) -> np.ndarray:
    x = n - n0
    return a0 + a1 * x + a2 * x * np.tanh(x / gamma)  # type: ignore[no-any-return]


def _double_bacon_watts(n: np.ndarray, a0: Any, a1: Any, a2: Any, a3: Any, n0: Any, n2: Any,
                        gamma: Any) -> np.ndarray:
    x0 = n - n0
    x2 = n - n2
    return a0 + a1 * x0 + a2 * x0 * np.tanh(x0 / gamma) + a3 * x2 * np.tanh(x2 / gamma)  # type: ignore[no-any-return]


FADE_MODELS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, ...], str]] = {
    "linear": (_linear, ("q0", "a"), "Q = q0 - a n"),
    "exponential": (_exponential, ("q0", "k"), "Q = q0 exp(-k n)"),
    "double-exponential": (_double_exponential, ("a1", "k1", "a2", "k2"),
                           "Q = a1 exp(-k1 n) + a2 exp(-k2 n), k2 >= k1"),
    "power": (_power, ("q0", "a", "z"), "Q = q0 (1 - a n^z)"),
    "sqrt-linear": (_sqrt_linear, ("q0", "a", "b"), "Q = q0 - a sqrt(n) - b n"),
    "logarithmic": (_logarithmic, ("q0", "a"), "Q = q0 - a ln(1 + n)"),
    "bacon-watts": (_bacon_watts, ("a0", "a1", "a2", "n0", "gamma"),
                    "Q = a0 + a1 (n - n0) + a2 (n - n0) tanh((n - n0)/gamma); knee at n0"),
}
"""Model name → (kernel, parameter names, formula)."""


def fade_law(model: str, cycle: Any, **params: float) -> np.ndarray:
    """Evaluate a fade model at ``cycle`` with the given parameters.

    Examples
    --------
    >>> fade_law("exponential", [0, 100], q0=200.0, k=0.001).round(2).tolist()
    [200.0, 180.97]
    """
    if model not in FADE_MODELS:
        raise ValidationError(f"model: expected one of {sorted(FADE_MODELS)}, got {model!r}")
    func, names, _ = FADE_MODELS[model]
    missing = [p for p in names if p not in params]
    if missing:
        raise ValidationError(f"fade law {model!r}: missing parameter(s) {missing}")
    return np.asarray(func(np.asarray(cycle, dtype=float), **{p: params[p] for p in names}), dtype=float)


# -------------------------------------------------------------- parameters
Spec = list[tuple[str, float, float, float, bool]]  # name, start, lower, upper, vary
DERIVED = {"double-exponential": {"k2": ("k1", "dk")}}
"""Parameters computed from the solved ones (``k2 = k1 + dk`` keeps ``k2 >= k1``)."""
RUNS_ALPHA = 1e-3
MAX_CONDITION = 1e12
WEIGHT_NOTE = 0.95


def _spec(model: str, n: np.ndarray, q: np.ndarray) -> Spec:
    q_first = float(np.mean(q[: max(1, min(5, q.size // 5))]))
    slope, icept = np.polyfit(n, q, 1)
    span = float(n[-1] - n[0]) or 1.0
    drop = max(-slope, 1e-6 * abs(q_first) / span)
    qmax = 10 * float(np.max(np.abs(q))) + 1.0
    qf = max(q_first, 1e-12)
    inf = np.inf
    if model == "linear":
        return [("q0", float(icept), -inf, inf, True), ("a", float(-slope), -inf, inf, True)]
    if model == "exponential":
        return [("q0", q_first, 0.0, qmax, True), ("k", drop / qf, -inf, inf, True)]
    if model == "double-exponential":
        return [("a1", 0.8 * q_first, 0.0, qmax, True), ("k1", 0.5 * drop / qf, -1.0, 1.0, True),
                ("a2", 0.2 * q_first, 0.0, qmax, True), ("dk", 10 * drop / qf + 1e-4, 0.0, 10.0, True)]
    if model == "power":
        return [("q0", q_first, 0.0, qmax, True), ("a", drop / qf, -1.0, 10.0, True), ("z", 1.0, 0.05, 4.0, True)]
    if model == "sqrt-linear":
        return [("q0", float(icept), -inf, inf, True), ("a", 0.0, -inf, inf, True),
                ("b", float(-slope), -inf, inf, True)]
    if model == "logarithmic":
        return [("q0", q_first, -inf, inf, True),
                ("a", drop * span / max(math.log1p(float(n[-1])), 1e-9), -inf, inf, True)]
    if model == "bacon-watts":
        return [("a0", float(np.interp(n[0] + 0.7 * span, n, q)), -inf, inf, True),
                ("a1", float(slope), -inf, inf, True), ("a2", 0.0, -inf, inf, True), ("n0", float(n[0] + 0.7 * span), float(n[0]), float(n[-1]), True),
                ("gamma", max(1e-3 * span, 1e-6), -inf, inf, False)]
    raise ValidationError(f"unknown fade model {model!r}")  # pragma: no cover - guarded by callers


def _full(model: str, values: Mapping[str, float]) -> dict[str, float]:
    """The solved values plus the derived ones (``k2``)."""
    out = dict(values)
    for name, (a, b) in DERIVED.get(model, {}).items():
        out[name] = out[a] + out[b]
    return out


def _kernel_kwargs(model: str, values: Mapping[str, Any]) -> dict[str, Any]:
    names = FADE_MODELS[model][1]
    return {k: values[k] for k in names}


def _solve(model: str, n: np.ndarray, q: np.ndarray, spec: Spec) -> Solution:
    func = FADE_MODELS[model][0]
    free = [s for s in spec if s[4]]
    fixed = {s[0]: s[1] for s in spec if not s[4]}
    fnames = [s[0] for s in free]

    def resid(p: np.ndarray) -> np.ndarray:
        vals = _full(model, {**fixed, **dict(zip(fnames, p, strict=True))})
        with np.errstate(all="ignore"):
            out: np.ndarray = np.asarray(func(n, **_kernel_kwargs(model, vals)), float) - q
        return out

    lo = [s[2] for s in free]
    hi = [s[3] for s in free]
    return least_squares(resid, [s[1] for s in free], bounds=(lo, hi), x_scale="jac", max_nfev=4000)


def _fit_once(model: str, n: np.ndarray, q: np.ndarray) -> tuple[Solution, Spec]:
    spec = _spec(model, n, q)
    starts = [spec]
    if model == "bacon-watts":
        span = float(n[-1] - n[0])
        for frac in (0.3, 0.5, 0.85):
            sp = [list(x) for x in spec]
            sp[3][1] = float(n[0] + frac * span)
            sp[0][1] = float(np.interp(n[0] + frac * span, n, q))
            starts.append([tuple(x) for x in sp])  # type: ignore[misc]
    best: tuple[Solution, Spec] | None = None
    for st in starts:
        try:
            sol = _solve(model, n, q, st)
        except ValidationError:
            continue
        if not math.isfinite(sol.chi2):
            continue
        if best is None or (sol.success, -sol.chi2) > (best[0].success, -best[0].chi2):
            best = (sol, st)
    if best is None:
        raise FitError(f"fade fit with model {model!r} failed for every start")
    return best


def _knee_onset(n: np.ndarray, q: np.ndarray, knee: float, gamma: float) -> float | None:
    """First breakpoint of a double Bacon–Watts fit (Fermín-Cueto et al. 2020), or None."""
    def resid(p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.asarray(_double_bacon_watts(n, p[0], p[1], p[2], p[3], p[4], p[5], gamma) - q, dtype=float)

    p0 = [float(np.interp(0.5 * (n[0] + knee), n, q)), float(np.polyfit(n, q, 1)[0]), 0.0, 0.0,
          float(0.5 * (n[0] + knee)), float(knee)]
    lo = [-np.inf] * 4 + [float(n[0]), float(n[0])]
    hi = [np.inf] * 4 + [float(knee), float(n[-1])]
    try:
        sol = least_squares(resid, p0, bounds=(lo, hi), x_scale="jac", max_nfev=4000)
    except ValidationError:
        return None
    n0, n2 = float(sol.p[4]), float(sol.p[5])
    if not (n[0] < n0 < n2 < n[-1]):
        return None
    return n0


def _aic_bic(chi2: float, npts: int, k: int) -> tuple[float, float]:
    c = max(chi2, 1e-300)
    return npts * math.log(c / npts) + 2 * k, npts * math.log(c / npts) + math.log(npts) * k


# ----------------------------------------------------------------- Monte Carlo of a law's parameters
def _draws(model: str, names: list[str], values: np.ndarray, cov: np.ndarray, varied: list[str], size: int,
           rng: np.random.Generator) -> dict[str, np.ndarray] | None:
    idx = [names.index(v) for v in varied]
    c = cov[np.ix_(idx, idx)]
    if c.size == 0 or not np.all(np.isfinite(c)):
        return None
    mean = values[idx]
    c = 0.5 * (c + c.T)
    try:
        wv, vv = np.linalg.eigh(c)
    except np.linalg.LinAlgError:
        return None
    # rounding can leave tiny negative eigenvalues; the draws use the nearest positive semi-definite matrix
    samples = mean + (rng.standard_normal((size, mean.size)) * np.sqrt(np.clip(wv, 0, None))) @ vv.T
    base = {k: np.full((size, 1), float(v)) for k, v in zip(names, values, strict=True)}
    for j, k in enumerate(varied):
        base[k] = samples[:, j:j + 1]
    for name, (a, b) in DERIVED.get(model, {}).items():
        base[name] = base[a] + base[b]
    return base


def _crossing(model: str, fraction: float, params: Mapping[str, Any], grid: np.ndarray, first: float) -> np.ndarray:
    func = FADE_MODELS[model][0]
    kw = {k: params[k] for k in FADE_MODELS[model][1]}
    with np.errstate(all="ignore"):  # extreme Monte Carlo draws may overflow; they never cross then
        q0 = func(np.array([first]), **kw)
        qg = func(grid[None, :], **kw)
    target = fraction * q0
    below = qg <= target
    has = below.any(axis=-1)
    j = np.argmax(below, axis=-1)
    jm = np.maximum(j - 1, 0)
    rows = np.arange(qg.shape[0])
    y0, y1 = qg[rows, jm], qg[rows, j]
    x0, x1 = grid[jm], grid[j]
    tt = target[:, 0] if np.ndim(target) == 2 else np.full(qg.shape[0], float(np.ravel(target)[0]))
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(y1 != y0, x0 + (tt - y0) * (x1 - x0) / (y1 - y0), x1)
    x = np.where(j == 0, grid[0], x)
    return np.where(has, x, np.inf)  # type: ignore[no-any-return]


# ------------------------------------------------------------------ result
class FadeFit(FitResult):
    """Result of :func:`fit_fade`; an :class:`ncmsurf.FitResult`.

    Attributes
    ----------
    model : str
        Fitted law name.
    params : dict of str to float
        Parameter values (``values`` of the base; a new dict).
    stderr : dict of str to float
        Standard errors (NaN when not estimable; 0 for fixed parameters).
    varied : tuple of str
        Names of the parameters the solver varied.
    aic, bic, redchi : float
        Information criteria and reduced chi-square on all points.
    cycle, capacity : ndarray
        The data fitted (read-only).
    knee, knee_onset : float or None
        Bacon–Watts knee and knee onset (other laws: None).
    candidates : dict
        For ``model="auto"``: law → (AIC, hold-out RMSE) of every law tried.
    weights : dict
        For ``model="auto"``: Akaike weight of each law kept for averaging.
    units : str
        Capacity units.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(1, 101.0)
    >>> fit = fit_fade(n, 200 * np.exp(-0.002 * n), model="exponential")
    >>> round(fit.params["k"], 6), round(fit.cycles_to(0.8)[0], 1)
    (0.002, 112.6)
    """

    __slots__ = ()

    @property
    def params(self) -> dict[str, float]:
        """Parameter values by name."""
        return self.values

    @property
    def varied(self) -> tuple[str, ...]:
        """Parameters the solver varied."""
        return tuple(json.loads(str(self._ds.attrs["varied"])))

    @property
    def aic(self) -> float:
        """Akaike information criterion, n ln(χ²/n) + 2k."""
        return float(self._ds.attrs["aic"])

    @property
    def bic(self) -> float:
        """Bayesian information criterion, n ln(χ²/n) + k ln n."""
        return float(self._ds.attrs["bic"])

    @property
    def redchi(self) -> float:
        """Reduced chi-square (capacity units squared)."""
        return float(self._ds.attrs["redchi"])

    @property
    def cycle(self) -> np.ndarray:
        """Cycles fitted."""
        return self._ds["cycle"].values  # type: ignore[no-any-return]

    @property
    def capacity(self) -> np.ndarray:
        """Capacities fitted."""
        return self._ds["capacity"].values  # type: ignore[no-any-return]

    @property
    def units(self) -> str:  # type: ignore[override]
        """Capacity units (the base's per-parameter units are in :attr:`param_units`)."""
        return str(self._ds.attrs.get("capacity_units", ""))

    @property
    def param_units(self) -> dict[str, str]:
        """Unit of each parameter."""
        return FitResult.units.fget(self)  # type: ignore[attr-defined,no-any-return]

    @property
    def knee(self) -> float | None:
        """Bacon–Watts knee (cycle), or None."""
        k = float(self._ds.attrs.get("knee", math.nan))
        return None if math.isnan(k) else k

    @property
    def knee_onset(self) -> float | None:
        """Knee onset (cycle), or None."""
        k = float(self._ds.attrs.get("knee_onset", math.nan))
        return None if math.isnan(k) else k

    def _cands(self) -> dict[str, dict[str, Any]]:
        return cast_dict(json.loads(str(self._ds.attrs.get("candidate_fits", "{}"))))

    @property
    def candidates(self) -> dict[str, tuple[float, float]]:
        """Law → (AIC, hold-out RMSE) of every law tried by ``model="auto"``."""
        return {k: (float(v["aic"]), float(v["rmse"])) for k, v in self._cands().items()}

    @property
    def weights(self) -> dict[str, float]:
        """Akaike weights of the laws averaged over (empty unless ``model="auto"``)."""
        return {k: float(v["weight"]) for k, v in self._cands().items() if float(v["weight"]) > 0}

    @property
    def covariance_matrix(self) -> np.ndarray:
        """Covariance as a plain array over :attr:`names`."""
        return np.asarray(self._ds["covariance"].values, float)

    def predict(self, cycle: Any) -> np.ndarray:
        """Fitted capacity at ``cycle``."""
        return fade_law(self.model, np.asarray(cycle, dtype=float), **self.values)

    def _limit(self) -> float:
        c = self.cycle
        return float(c[0] + 3.0 * (c[-1] - c[0] + 1.0))

    def cycles_to_reason(self, fraction: float = 0.8) -> str:
        """Why :meth:`cycles_to` gives None for ``fraction`` (empty string when it gives a value)."""
        return self._cycles_to(fraction)[1]

    @property
    def reason(self) -> str:
        """:meth:`cycles_to_reason` at 80 %."""
        return self.cycles_to_reason(0.8)

    def cycles_to(self, fraction: float = 0.8) -> tuple[float, float, float] | None:
        """Cycle at which the fitted capacity falls to ``fraction`` of its first-cycle value.

        Returns
        -------
        tuple of float or None
            (value, low, high) with a 95 % interval (Monte Carlo over the
            parameter covariance, seeded). For ``model="auto"`` the interval
            is model-averaged: the draws come from every law kept by the
            hold-out, in proportion to its Akaike weight, so it includes the
            uncertainty of the choice of law. ``high`` is ``inf`` when the
            upper bound lies beyond 3x the data. None when the crossing is not
            reached within 3x the cycles measured or the fit failed;
            :meth:`cycles_to_reason` says why.
        """
        return self._cycles_to(fraction)[0]

    def _cycles_to(self, fraction: float) -> tuple[tuple[float, float, float] | None, str]:
        fraction = float(fraction)
        if not 0 < fraction < 1:
            raise ValidationError(f"fraction: must be in (0, 1), got {fraction}")
        if not self.quality:
            return None, f"the fit failed: {self.message}"
        c = self.cycle
        limit = self._limit()
        far = float(c[0] + 100.0 * (limit - c[0]))
        wide = np.concatenate((np.linspace(float(c[0]), limit, 1501)[:-1], np.geomspace(limit, far, 500)))
        value = float(_crossing(self.model, fraction, self.values, wide, float(c[0]))[0])
        if not math.isfinite(value):
            return None, (f"the fitted {self.model} law does not fall to {fraction:.0%} of the first-cycle "
                          f"capacity before cycle {far:g}")
        if value > limit:
            return None, (f"the {fraction:.0%} crossing (cycle {value:.0f}) lies beyond about 3x the data "
                          f"(cycles {c[0]:g}-{c[-1]:g}); extrapolating that far is not supported")
        rng = np.random.default_rng(20240611)
        size = 4000
        members: list[tuple[str, list[str], np.ndarray, np.ndarray, list[str], int]] = []
        w = self.weights
        if len(w) > 1:
            for m, d in self._cands().items():
                k = int(round(size * float(d["weight"])))
                if k > 0:
                    members.append((m, list(d["names"]), np.asarray(d["values"], float),
                                    np.asarray(d["cov"], float), list(d["varied"]), k))
        else:
            members.append((self.model, self.names, np.asarray(self._ds["value"].values, float),
                            self.covariance_matrix, list(self.varied), size))
        xs_all = []
        for m, names, vals, cov, varied, k in members:
            dr = _draws(m, names, vals, cov, varied, k, rng)
            if dr is None:
                if m == self.model:
                    return (value, float("nan"), float("nan")), ""
                continue
            # in blocks: the same numbers as all at once, without a draws x grid array of ~1 GB
            xs_all.append(np.concatenate([_crossing(m, fraction, {a: v[i:i + 250] for a, v in dr.items()}, wide,
                                                    float(c[0])) for i in range(0, k, 250)]))
        xs = np.concatenate(xs_all)
        xs = np.where(np.isnan(xs), np.inf, xs)  # a draw the law cannot be evaluated at never crosses
        low = float(np.percentile(xs, 2.5, method="inverted_cdf"))
        high = float(np.percentile(xs, 97.5, method="inverted_cdf"))
        if high > limit:
            high = float("inf")
        return (value, low, high), ""

    def _report_extra(self) -> list[str]:
        out = [f"AIC {self.aic:.5g}, BIC {self.bic:.5g}, reduced chi-square {self.redchi:.4g}"]
        if self.weights:
            out.append("Akaike weights: " + ", ".join(f"{k} {v:.2f}" for k, v in self.weights.items()))
        return out

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Capacity against cycle with the fitted law (matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        c = self.cycle
        ax.plot(c, self.capacity, "o", ms=3, label="data", **kw)
        grid = np.linspace(c[0], c[-1], 400)
        ax.plot(grid, self.predict(grid), "-", label=f"{self.model} fit")
        if self.knee is not None:
            ax.axvline(self.knee, ls="--", color="0.5", label="knee")
        ax.set_xlabel("cycle")
        ax.set_ylabel(f"capacity ({self.units})" if self.units else "capacity")
        ax.legend()
        return ax




def cast_dict(x: Any) -> dict[str, dict[str, Any]]:
    """JSON object → typed dict (a no-op at run time)."""
    return x  # type: ignore[no-any-return]


# ----------------------------------------------------------------- fitting
def _to_fit(model: str, sol: Solution, spec: Spec, n: np.ndarray, q: np.ndarray, units: str, *,
            notes: Iterable[tuple[str, str]] = (), candidates: Mapping[str, Mapping[str, Any]] | None = None,
            weight: float | None = None, message: str = "") -> FadeFit:
    free = [s[0] for s in spec if s[4]]
    fixed = {s[0]: s[1] for s in spec if not s[4]}
    vals = _full(model, {**fixed, **dict(zip(free, sol.p, strict=True))})
    derived = list(DERIVED.get(model, {}))
    names = free + list(fixed) + derived
    # covariance of the solved parameters carried to the derived ones (k2 = k1 + dk): a linear map
    T = np.zeros((len(names), len(free)))
    for j in range(len(free)):
        T[j, j] = 1.0
    for i, d in enumerate(derived):
        a, b = DERIVED[model][d]
        T[len(free) + len(fixed) + i, free.index(a)] = 1.0
        T[len(free) + len(fixed) + i, free.index(b)] = 1.0
    c = np.asarray(sol.covariance, float)
    cov = T @ np.where(np.isfinite(c), c, 0.0) @ T.T
    bad = ~np.isfinite(np.diag(c))
    if bad.any():
        badrow = np.any(T[:, bad] != 0, axis=1)
        cov[badrow, :] = np.nan
        cov[:, badrow] = np.nan
    is_free = [True] * len(free) + [False] * len(fixed) + [True] * len(derived)
    suspect: list[tuple[str, str]] = list(notes)
    suspect += check_bounds(free, sol.at_lower, sol.at_upper, values=sol.p)
    suspect += check_identifiable(free, sol.p, sol.stderr, max_relative=math.inf, condition=sol.condition,
                                  max_condition=MAX_CONDITION)
    suspect += check_runs(sol.residual, alpha=RUNS_ALPHA, what="fade residual")
    failed = [] if sol.success else [("not_converged", sol.message)]
    info = [r for r in suspect if r[0] == "model_selection"]
    concerns = [r for r in suspect if r[0] != "model_selection"]
    quality = Quality.from_checks(suspect=concerns, failed=failed)
    if info and quality.level == "good":
        quality = Quality("good", info)
    elif info:
        quality = Quality(quality.level, quality.reasons + info)
    k = len(free)
    aic, bic = _aic_bic(sol.chi2, n.size, k)
    knee = onset = math.nan
    if model == "bacon-watts":
        n0, a2 = vals["n0"], vals["a2"]
        if a2 < 0 and n[0] < n0 < n[-1]:
            knee = n0
            o = _knee_onset(n, q, n0, vals["gamma"])
            onset = math.nan if o is None else o
    cu = units
    punits = {"q0": cu, "a1": cu, "a2": cu, "a0": cu}
    pu = [punits.get(x, "") for x in names]
    if model == "linear":
        pu = [cu, cu]
    cands = {m: dict(v) for m, v in (candidates or {}).items()}
    return FadeFit.build(
        names=names, values=[vals[x] for x in names], covariance=cov, free=is_free, units=pu,
        success=sol.success, message=message or sol.message, quality=quality,
        citations=["bacon-watts", "knee-onset"] if model == "bacon-watts" else
        (["akaike-weights"] if cands else []), model=model,
        data_vars={"capacity": ("point", np.asarray(q, float))},
        coords={"cycle": ("point", np.asarray(n, float))},
        attrs={"aic": aic, "bic": bic, "redchi": float(sol.redchi), "varied": json.dumps(free),
               "knee": knee, "knee_onset": onset, "capacity_units": units,
               "candidate_fits": json.dumps(cands, allow_nan=True),
               "formula": FADE_MODELS[model][2], "weight": math.nan if weight is None else float(weight)})


def _sound(sol: Solution, spec: Spec) -> bool:
    free = [s[0] for s in spec if s[4]]
    return bool(sol.success and not check_bounds(free, sol.at_lower, sol.at_upper)
                and not check_identifiable(free, sol.p, sol.stderr, max_relative=math.inf,
                                           condition=sol.condition, max_condition=MAX_CONDITION))


def _failed(n: np.ndarray, q: np.ndarray, model: str, units: str, reason: str, code: str = "input") -> FadeFit:
    m = "linear" if model == "auto" else model
    names = [s[0] for s in _spec(m, np.arange(1.0, 3.0), np.ones(2))]
    return FadeFit.build(names=names, values=np.full(len(names), np.nan), success=False, message=reason,
                         quality=Quality("failed", [(code, reason)]), model=m,
                         data_vars={"capacity": ("point", np.asarray(q, float))},
                         coords={"cycle": ("point", np.asarray(n, float))},
                         attrs={"aic": math.nan, "bic": math.nan, "redchi": math.nan, "varied": "[]",
                                "knee": math.nan, "knee_onset": math.nan, "capacity_units": units,
                                "candidate_fits": "{}", "formula": FADE_MODELS[m][2], "weight": math.nan})


def fit_fade(cycle: Any, capacity: Any, *, model: str = "auto", holdout: float = 0.2,
             models: tuple[str, ...] | None = None) -> FadeFit:
    """Fit a capacity-fade law to capacity against cycle.

    Parameters
    ----------
    cycle : array_like
        Cycle numbers (increasing; cycles whose capacity is NaN, zero or
        negative are left out, with the ``partial_data`` reason).
    capacity : array_like or pint.Quantity
        Capacities (any one unit; a Quantity keeps its unit in ``.units``).
    model : str
        One of ``"linear"``, ``"exponential"``, ``"double-exponential"``,
        ``"power"``, ``"sqrt-linear"``, ``"logarithmic"``,
        ``"bacon-watts"``, or ``"auto"``: every law is fitted on the first
        ``1 - holdout`` of the cycles and scored on the rest (chronological
        hold-out); among the laws whose hold-out RMSE is within 1.5x the
        best, the lowest AIC on all points wins. The laws so kept are
        averaged (when their own fit is sound: converged, no parameter on
        a bound or undetermined) by their Akaike weights, w ∝ exp(−ΔAIC/2), in the
        intervals of :meth:`FadeFit.cycles_to` (model-selection uncertainty
        is part of the interval; the reason ``model_selection`` notes it when
        the chosen law holds < 95 % of the weight).
    holdout : float
        Fraction of the last cycles held out by ``"auto"``.
    models : tuple of str, optional
        Candidate laws for ``"auto"`` (default: all).

    Returns
    -------
    FadeFit
        With a verdict (see the module notes); a record with no positive
        capacity gives a failed fit (``input``) instead of an error.

    Raises
    ------
    ValidationError
        Unknown model, mismatched lengths, fewer points than parameters + 2.
    FitError
        If no law could be fitted.

    Examples
    --------
    >>> import numpy as np
    >>> n = np.arange(1, 201.0)
    >>> q = 180 - 0.05 * n - np.where(n > 150, 0.8 * (n - 150), 0)
    >>> fit = fit_fade(n, q, model="bacon-watts")
    >>> abs(fit.knee - 150) < 3
    True
    """
    units = ""
    if hasattr(capacity, "units") and hasattr(capacity, "magnitude"):
        units = str(capacity.units)
        q = np.asarray(capacity.magnitude, dtype=float)
    else:
        q = np.asarray(capacity, dtype=float)
    n = np.asarray(cycle, dtype=float)
    if n.ndim != 1 or q.ndim != 1 or n.size != q.size:
        raise ValidationError(f"cycle and capacity: expected 1-D arrays of equal length, got {n.shape} and {q.shape}")
    if not np.all(np.isfinite(n)):
        raise ValidationError(f"cycle: non-finite value at index {int(np.flatnonzero(~np.isfinite(n))[0])}")
    if model != "auto" and model not in FADE_MODELS:
        raise ValidationError(f"model: expected 'auto' or one of {sorted(FADE_MODELS)}, got {model!r}")
    if n.size > 1 and np.any(np.diff(n) <= 0):
        i = int(np.flatnonzero(np.diff(n) <= 0)[0]) + 1
        raise ValidationError(f"cycle: must increase strictly; index {i} has {n[i]} after {n[i - 1]}")
    keep = np.isfinite(q) & (q > 0)
    n_nan = int((~np.isfinite(q)).sum())
    n_nonpos = int((np.isfinite(q) & (q <= 0)).sum())
    if not keep.any():
        return _failed(n, np.where(np.isfinite(q), q, np.nan), model, units,
                       f"no positive capacity among the {q.size} cycles: nothing to fit")
    n, q = n[keep], q[keep]
    notes: list[tuple[str, str]] = []
    drop_msg = ""
    if n_nan or n_nonpos:
        parts = [f"{n_nan} NaN" if n_nan else "", f"{n_nonpos} zero or negative" if n_nonpos else ""]
        drop_msg = f" ({' and '.join(p for p in parts if p)} capacities left out)"
        notes.append(("partial_data", f"{' and '.join(p for p in parts if p)} capacities left out of the fit "
                                      "(incomplete or missing cycles)"))
    names = tuple(FADE_MODELS) if models is None else tuple(models)
    if model != "auto":
        need = len(FADE_MODELS[model][1]) + 2
        if n.size < need:
            raise ValidationError(f"capacity: {n.size} finite points, model {model!r} needs at least {need}")
        sol, spec = _fit_once(model, n, q)
        return _to_fit(model, sol, spec, n, q, units, notes=notes, message=sol.message + drop_msg)
    for m in names:
        if m not in FADE_MODELS:
            raise ValidationError(f"models: unknown model {m!r}")
    if not 0 < holdout < 0.5:
        raise ValidationError(f"holdout: must be in (0, 0.5), got {holdout}")
    ntrain = int(round(n.size * (1 - holdout)))
    cands: dict[str, dict[str, Any]] = {}
    fits: dict[str, tuple[Solution, Spec]] = {}
    use_holdout = True
    for m in names:
        k = len(FADE_MODELS[m][1])
        if ntrain < k + 2 or n.size - ntrain < 1:
            continue
        try:
            tsol, tspec = _fit_once(m, n[:ntrain], q[:ntrain])
            tv = _full(m, {**{s[0]: s[1] for s in tspec if not s[4]},
                           **dict(zip([s[0] for s in tspec if s[4]], tsol.p, strict=True))})
            with np.errstate(all="ignore"):  # a wild extrapolation scores inf, it must not warn
                pred = FADE_MODELS[m][0](n[ntrain:], **_kernel_kwargs(m, tv))
                rmse = float(np.sqrt(np.mean((pred - q[ntrain:]) ** 2)))
            fits[m] = _fit_once(m, n, q)
        except FitError:
            continue
        cands[m] = {"rmse": rmse if math.isfinite(rmse) else math.inf}
    if not fits:  # too few points to hold any out: AIC on all points
        use_holdout = False
        for m in names:
            if n.size < len(FADE_MODELS[m][1]) + 2:
                continue
            try:
                fits[m] = _fit_once(m, n, q)
            except FitError:
                continue
            cands[m] = {"rmse": math.nan}
    if not fits:
        raise FitError(f"fit_fade: no model could be fitted to {n.size} points")
    for m, (sol, spec) in fits.items():
        k = sum(1 for s in spec if s[4])
        cands[m]["aic"] = _aic_bic(sol.chi2, n.size, k)[0]
    if use_holdout:
        best_rmse = min(v["rmse"] for v in cands.values())
        ok = [m for m, v in cands.items() if v["rmse"] <= 1.5 * best_rmse + 1e-12 and fits[m][0].success]
        if not ok:
            ok = [m for m, v in cands.items() if v["rmse"] <= 1.5 * best_rmse + 1e-12]
    else:
        ok = [m for m in cands if fits[m][0].success] or list(cands)
    chosen = min(ok, key=lambda m: cands[m]["aic"])
    amin = cands[chosen]["aic"]
    # laws averaged: those the hold-out kept whose own fit is sound (converged, no parameter on a bound or
    # undetermined), so a linearised covariance describes them; the chosen law always takes part
    sound = {m for m in ok if m == chosen or _sound(fits[m][0], fits[m][1])}
    raw = {m: math.exp(-0.5 * (cands[m]["aic"] - amin)) if m in sound else 0.0 for m in cands}
    tot = sum(raw.values())
    for m in cands:
        w = raw[m] / tot
        sol, spec = fits[m]
        free = [s[0] for s in spec if s[4]]
        fixed = {s[0]: s[1] for s in spec if not s[4]}
        vals = _full(m, {**fixed, **dict(zip(free, sol.p, strict=True))})
        nm = free + list(fixed)
        cov = np.zeros((len(nm), len(nm)))
        cov[:len(free), :len(free)] = sol.covariance
        cands[m].update(weight=w, names=nm, values=[vals[x] for x in nm],
                        cov=np.where(np.isfinite(cov), cov, np.nan).tolist(), varied=free)
    wc = cands[chosen]["weight"]
    if wc < WEIGHT_NOTE:
        others = sorted(((cands[m]["weight"], m) for m in cands if m != chosen and cands[m]["weight"] > 0.01),
                        reverse=True)
        notes.append(("model_selection", f"the {chosen} law holds {100 * wc:.0f} % of the Akaike weight ("
                      + ", ".join(f"{m} {100 * w:.0f} %" for w, m in others)
                      + "); the cycles-to intervals average over these laws"))
    note = "" if use_holdout else f"; {n.size} points are too few for a hold-out, chosen by AIC alone"
    sol, spec = fits[chosen]
    return _to_fit(chosen, sol, spec, n, q, units, notes=notes, candidates=cands, weight=wc,
                   message=sol.message + note + drop_msg)
