"""Capacity-fade models, their lmfit fits and cycles-to-threshold (private)."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import lmfit
import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.results import FitStatus, register_citation

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FADE_MODELS", "FadeFit", "fade_law", "fit_fade"]

register_citation(
    "bacon-watts",
    "D. W. Bacon, D. G. Watts, Estimating the transition between two intersecting straight lines, "
    "Biometrika 58 (1971) 525-534.")
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
def _params(model: str, n: np.ndarray, q: np.ndarray) -> lmfit.Parameters:
    p = lmfit.Parameters()
    q_first = float(np.mean(q[: max(1, min(5, q.size // 5))]))
    slope, icept = np.polyfit(n, q, 1)
    span = float(n[-1] - n[0]) or 1.0
    drop = max(-slope, 1e-6 * abs(q_first) / span)
    qmax = 10 * float(np.max(np.abs(q))) + 1.0
    if model == "linear":
        p.add("q0", value=float(icept))
        p.add("a", value=float(-slope))
    elif model == "exponential":
        p.add("q0", value=q_first, min=0, max=qmax)
        p.add("k", value=drop / max(q_first, 1e-12))
    elif model == "double-exponential":
        p.add("a1", value=0.8 * q_first, min=0, max=qmax)
        p.add("k1", value=0.5 * drop / max(q_first, 1e-12), min=-1.0, max=1.0)
        p.add("a2", value=0.2 * q_first, min=0, max=qmax)
        p.add("dk", value=10 * drop / max(q_first, 1e-12) + 1e-4, min=0, max=10.0)
        p.add("k2", expr="k1 + dk")
    elif model == "power":
        p.add("q0", value=q_first, min=0, max=qmax)
        p.add("a", value=drop / max(q_first, 1e-12), min=-1.0, max=10.0)
        p.add("z", value=1.0, min=0.05, max=4.0)
    elif model == "sqrt-linear":
        p.add("q0", value=float(icept))
        p.add("a", value=0.0)
        p.add("b", value=float(-slope))
    elif model == "logarithmic":
        p.add("q0", value=q_first)
        p.add("a", value=drop * span / max(math.log1p(float(n[-1])), 1e-9))
    elif model == "bacon-watts":
        p.add("a0", value=float(np.interp(n[0] + 0.7 * span, n, q)))
        p.add("a1", value=float(slope))
        p.add("a2", value=0.0)
        p.add("n0", value=float(n[0] + 0.7 * span), min=float(n[0]), max=float(n[-1]))
        p.add("gamma", value=max(1e-3 * span, 1e-6), vary=False)
    else:  # pragma: no cover - guarded by callers
        raise ValidationError(f"unknown fade model {model!r}")
    return p


def _kernel_kwargs(model: str, values: Mapping[str, Any]) -> dict[str, Any]:
    names = FADE_MODELS[model][1]
    return {k: values[k] for k in names}


def _fit_once(model: str, n: np.ndarray, q: np.ndarray, params: lmfit.Parameters | None = None) -> Any:
    func = FADE_MODELS[model][0]
    p = _params(model, n, q) if params is None else params

    def resid(pp: lmfit.Parameters) -> np.ndarray:
        v = pp.valuesdict()
        return func(n, **_kernel_kwargs(model, v)) - q  # type: ignore[no-any-return]

    best = None
    starts = [p]
    if model == "bacon-watts":
        span = float(n[-1] - n[0])
        for frac in (0.3, 0.5, 0.85):
            pp = p.copy()
            pp["n0"].set(value=float(n[0] + frac * span))
            pp["a0"].set(value=float(np.interp(n[0] + frac * span, n, q)))
            starts.append(pp)
    for start in starts:
        try:
            with warnings.catch_warnings():  # lmfit warns on singular covariances; reported via success
                warnings.simplefilter("ignore", RuntimeWarning)
                res = lmfit.minimize(resid, start, method="least_squares")
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            continue
        if best is None or res.chisqr < best.chisqr:
            best = res
    if best is None:
        raise FitError(f"fade fit with model {model!r} failed for every start")
    return best


def _knee_onset(n: np.ndarray, q: np.ndarray, knee: float, gamma: float) -> float | None:
    """First breakpoint of a double Bacon–Watts fit (Fermín-Cueto et al. 2020), or None."""
    p = lmfit.Parameters()
    p.add("a0", value=float(np.interp(0.5 * (n[0] + knee), n, q)))
    p.add("a1", value=float(np.polyfit(n, q, 1)[0]))
    p.add("a2", value=0.0)
    p.add("a3", value=0.0)
    p.add("n0", value=float(0.5 * (n[0] + knee)), min=float(n[0]), max=float(knee))
    p.add("n2", value=float(knee), min=float(n[0]), max=float(n[-1]))
    p.add("gamma", value=gamma, vary=False)

    def resid(pp: lmfit.Parameters) -> np.ndarray:
        v = pp.valuesdict()
        return np.asarray(_double_bacon_watts(n, v["a0"], v["a1"], v["a2"], v["a3"], v["n0"], v["n2"],
                                              v["gamma"]) - q, dtype=float)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = lmfit.minimize(resid, p, method="least_squares")
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None
    n0, n2 = float(res.params["n0"].value), float(res.params["n2"].value)
    if not (n[0] < n0 < n2 < n[-1]):
        return None
    return n0


# ------------------------------------------------------------------ result
class FadeFit:
    """Result of :func:`fit_fade`.

    Attributes
    ----------
    model : str
        Fitted model name.
    params : dict of str to float
        Parameter values.
    stderr : dict of str to float
        Standard errors (NaN when not estimable).
    covariance : ndarray
        Covariance of the varied parameters (order of ``varied``).
    varied : tuple of str
        Names of the varied parameters.
    aic, bic, redchi : float
        Information criteria and reduced chi-square on all points.
    cycle, capacity : ndarray
        The data fitted.
    knee, knee_onset : float or None
        Bacon–Watts knee and knee onset (other models: None).
    candidates : dict
        For ``model="auto"``: model → (AIC, hold-out RMSE) of every model tried.
    status : FitStatus
        Success flag and message (falsy on failure).
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

    __slots__ = ("_d",)

    def __init__(self, *, model: str, params: Mapping[str, float], stderr: Mapping[str, float],
                 covariance: Any, varied: tuple[str, ...], aic: float, bic: float, redchi: float,
                 cycle: Any, capacity: Any, knee: float | None = None, knee_onset: float | None = None,
                 candidates: Mapping[str, tuple[float, float]] | None = None, success: bool = True,
                 message: str = "", units: str = "") -> None:
        if model not in FADE_MODELS:
            raise ValidationError(f"model: expected one of {sorted(FADE_MODELS)}, got {model!r}")
        d: dict[str, Any] = {
            "model": model, "params": {k: float(v) for k, v in params.items()},
            "stderr": {k: float(v) for k, v in stderr.items()},
            "covariance": np.array(covariance, dtype=float).reshape(len(varied), len(varied)),
            "varied": tuple(varied), "aic": float(aic), "bic": float(bic), "redchi": float(redchi),
            "cycle": np.array(cycle, dtype=float), "capacity": np.array(capacity, dtype=float),
            "knee": None if knee is None else float(knee),
            "knee_onset": None if knee_onset is None else float(knee_onset),
            "candidates": {k: (float(a), float(b)) for k, (a, b) in (candidates or {}).items()},
            "success": bool(success), "message": str(message), "units": str(units),
        }
        d["covariance"].flags.writeable = False
        d["cycle"].flags.writeable = False
        d["capacity"].flags.writeable = False
        object.__setattr__(self, "_d", d)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("FadeFit is immutable")

    def __getattr__(self, name: str) -> Any:
        d = object.__getattribute__(self, "_d")
        if name in ("model", "varied", "aic", "bic", "redchi", "knee", "knee_onset", "units"):
            return d[name]
        if name in ("params", "stderr", "candidates"):
            return dict(d[name])
        if name in ("covariance", "cycle", "capacity"):
            return d[name]
        raise AttributeError(name)

    @property
    def status(self) -> FitStatus:
        """Success flag and message."""
        return FitStatus(self._d["success"], self._d["message"])

    @property
    def success(self) -> bool:
        """True when the fit converged with estimable errors."""
        return bool(self._d["success"])

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FadeFit):
            return NotImplemented
        a, b = self._d, other._d
        if a.keys() != b.keys():
            return False
        for k in a:
            x, y = a[k], b[k]
            if isinstance(x, np.ndarray):
                if not (x.shape == y.shape and np.array_equal(x, y, equal_nan=True)):
                    return False
            elif isinstance(x, dict):
                if x.keys() != y.keys() or any(not _same(x[i], y[i]) for i in x):
                    return False
            elif not _same(x, y):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        ps = ", ".join(f"{k}={v:.4g}" for k, v in self._d["params"].items())
        return f"FadeFit({self.model!r}, {ps}, aic={self.aic:.4g})"

    # ---------------------------------------------------------- evaluation
    def predict(self, cycle: Any) -> np.ndarray:
        """Fitted capacity at ``cycle``."""
        return fade_law(self.model, np.asarray(cycle, dtype=float), **self._d["params"])

    def _draws(self, size: int = 4000) -> list[dict[str, np.ndarray]] | None:
        cov = self._d["covariance"]
        varied = self._d["varied"]
        if cov.size == 0 or not np.all(np.isfinite(cov)):
            return None
        rng = np.random.default_rng(20240611)
        mean = np.array([self._d["params"][k] for k in varied])
        try:
            samples = rng.multivariate_normal(mean, cov, size=size, method="eigh")
        except (ValueError, np.linalg.LinAlgError):
            return None
        base = {k: np.full((size, 1), v) for k, v in self._d["params"].items()}
        for j, k in enumerate(varied):
            base[k] = samples[:, j:j + 1]
        if self.model == "double-exponential" and "dk" in varied:
            base["k2"] = base["k1"] + base["dk"]
        return [base]

    def _limit(self) -> float:
        c = self._d["cycle"]
        return float(c[0] + 3.0 * (c[-1] - c[0] + 1.0))

    def _crossing(self, fraction: float, params: Mapping[str, Any], grid: np.ndarray) -> np.ndarray:
        func, names, _ = FADE_MODELS[self.model]
        kw = {k: params[k] for k in names}
        first = float(self._d["cycle"][0])
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
            (value, low, high) with a 95 % interval from the parameter
            covariance (Monte Carlo, seeded); ``high`` is ``inf`` when the
            upper bound lies beyond 3x the data. None when the crossing is
            not reached within 3x the cycles measured or the fit failed;
            :meth:`cycles_to_reason` says why.
        """
        return self._cycles_to(fraction)[0]

    def _cycles_to(self, fraction: float) -> tuple[tuple[float, float, float] | None, str]:
        fraction = float(fraction)
        if not 0 < fraction < 1:
            raise ValidationError(f"fraction: must be in (0, 1), got {fraction}")
        if not self._d["success"]:
            return None, f"the fit failed: {self._d['message']}"
        c = self._d["cycle"]
        limit = self._limit()
        far = float(c[0] + 100.0 * (limit - c[0]))
        wide = np.concatenate((np.linspace(float(c[0]), limit, 6001)[:-1], np.geomspace(limit, far, 2000)))
        value = float(self._crossing(fraction, self._d["params"], wide)[0])
        if not math.isfinite(value):
            return None, (f"the fitted {self.model} law does not fall to {fraction:.0%} of the first-cycle "
                          f"capacity before cycle {far:g}")
        if value > limit:
            return None, (f"the {fraction:.0%} crossing (cycle {value:.0f}) lies beyond about 3x the data "
                          f"(cycles {c[0]:g}-{c[-1]:g}); extrapolating that far is not supported")
        draws = self._draws()
        if draws is None:
            return (value, float("nan"), float("nan")), ""
        # the draws in blocks: the same numbers as all at once, without a draws x grid array of ~1 GB
        size = len(next(iter(draws[0].values())))
        xs = np.concatenate([self._crossing(fraction, {k: v[i:i + 250] for k, v in draws[0].items()}, wide)
                             for i in range(0, size, 250)])
        low = float(np.percentile(xs, 2.5))
        high = float(np.percentile(xs, 97.5))
        if high > limit:
            high = float("inf")
        return (value, low, high), ""

    # --------------------------------------------------------------- storage
    def to_dataset(self) -> xr.Dataset:
        """Storable form (see :func:`ncmsurf.save`)."""
        d = self._d
        names = list(d["params"])
        ds = xr.Dataset(
            {
                "capacity": ("point", d["capacity"]),
                "param_value": ("param", np.array([d["params"][k] for k in names], dtype=float)),
                "param_stderr": ("param", np.array([d["stderr"].get(k, np.nan) for k in names], dtype=float)),
                "covariance": (("varied", "varied2"), d["covariance"]),
            },
            coords={"cycle": ("point", d["cycle"]), "param": names, "varied": list(d["varied"]),
                    "varied2": list(d["varied"])},
            attrs={
                "ncmsurf_type": "FadeFit", "model": d["model"], "aic": d["aic"], "bic": d["bic"],
                "redchi": d["redchi"], "knee": "none" if d["knee"] is None else d["knee"],
                "knee_onset": "none" if d["knee_onset"] is None else d["knee_onset"],
                "candidate_models": list(d["candidates"]),
                "candidate_aic": [v[0] for v in d["candidates"].values()],
                "candidate_holdout_rmse": [v[1] for v in d["candidates"].values()],
                "success": int(d["success"]), "message": d["message"], "units": d["units"],
            },
        )
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FadeFit:
        """Rebuild from :meth:`to_dataset`."""
        a = ds.attrs
        names = [str(x) for x in ds["param"].values]
        varied = tuple(str(x) for x in ds["varied"].values)
        cand_names = list(np.atleast_1d(a.get("candidate_models", [])))
        cand_aic = list(np.atleast_1d(a.get("candidate_aic", [])))
        cand_rmse = list(np.atleast_1d(a.get("candidate_holdout_rmse", [])))
        return cls(
            model=str(a["model"]),
            params=dict(zip(names, ds["param_value"].values.tolist(), strict=True)),
            stderr=dict(zip(names, ds["param_stderr"].values.tolist(), strict=True)),
            covariance=ds["covariance"].values, varied=varied, aic=float(a["aic"]), bic=float(a["bic"]),
            redchi=float(a["redchi"]), cycle=ds["cycle"].values, capacity=ds["capacity"].values,
            knee=None if isinstance(a["knee"], str) else float(a["knee"]),
            knee_onset=None if isinstance(a["knee_onset"], str) else float(a["knee_onset"]),
            candidates={str(k): (float(x), float(y)) for k, x, y in zip(cand_names, cand_aic, cand_rmse,
                                                                         strict=True)},
            success=bool(int(a["success"])), message=str(a["message"]), units=str(a["units"]),
        )

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Capacity against cycle with the fitted law (matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        c = self._d["cycle"]
        ax.plot(c, self._d["capacity"], "o", ms=3, label="data", **kw)
        grid = np.linspace(c[0], c[-1], 400)
        ax.plot(grid, self.predict(grid), "-", label=f"{self.model} fit")
        if self.knee is not None:
            ax.axvline(self.knee, ls="--", color="0.5", label="knee")
        from ncmsurf.core.units import format_unit

        ax.set_xlabel("Cycle")
        unit = format_unit(self.units, style="si") if self.units else ""
        ax.set_ylabel(f"Capacity ({unit})" if unit else "Capacity (unit not given to fit_fade)")
        ax.legend()
        return ax


def _same(x: Any, y: Any) -> bool:
    if isinstance(x, float) and isinstance(y, float):
        return x == y or (math.isnan(x) and math.isnan(y))
    if isinstance(x, tuple) and isinstance(y, tuple):
        return len(x) == len(y) and all(_same(i, j) for i, j in zip(x, y, strict=True))
    return bool(x == y)


# ----------------------------------------------------------------- fitting
def _to_fit(model: str, res: Any, n: np.ndarray, q: np.ndarray, units: str,
            candidates: Mapping[str, tuple[float, float]] | None = None) -> FadeFit:
    params = {k: float(v.value) for k, v in res.params.items()}
    varied = tuple(res.var_names)
    cov = res.covar if getattr(res, "covar", None) is not None else np.full((len(varied), len(varied)), np.nan)
    stderr = {k: float(v.stderr) if v.stderr is not None else float("nan") for k, v in res.params.items()}
    ok = bool(res.success) and np.all(np.isfinite(cov))
    msg = str(res.message) if ok else f"{res.message}; parameter uncertainties could not be estimated"
    knee = onset = None
    if model == "bacon-watts":
        n0, a2 = params["n0"], params["a2"]
        if a2 < 0 and n[0] < n0 < n[-1]:
            knee = n0
            onset = _knee_onset(n, q, n0, params["gamma"])
    return FadeFit(model=model, params=params, stderr=stderr, covariance=cov, varied=varied, aic=res.aic,
                   bic=res.bic, redchi=res.redchi, cycle=n, capacity=q, knee=knee, knee_onset=onset,
                   candidates=candidates, success=bool(ok), message=msg, units=units)


def fit_fade(cycle: Any, capacity: Any, *, model: str = "auto", holdout: float = 0.2,
             models: tuple[str, ...] | None = None) -> FadeFit:
    """Fit a capacity-fade law to capacity against cycle.

    Parameters
    ----------
    cycle : array_like
        Cycle numbers (increasing; NaN capacities are dropped with their
        cycles, which is reported in the message).
    capacity : array_like or pint.Quantity
        Capacities (any one unit; a Quantity keeps its unit in ``.units``).
    model : str
        One of ``"linear"``, ``"exponential"``, ``"double-exponential"``,
        ``"power"``, ``"sqrt-linear"``, ``"logarithmic"``,
        ``"bacon-watts"``, or ``"auto"``: every model is fitted on the
        first ``1 - holdout`` of the cycles and scored on the rest
        (chronological hold-out); among the models whose hold-out RMSE is
        within 1.5x the best, the lowest AIC on all points wins.
    holdout : float
        Fraction of the last cycles held out by ``"auto"``.
    models : tuple of str, optional
        Candidate models for ``"auto"`` (default: all).

    Returns
    -------
    FadeFit

    Raises
    ------
    ValidationError
        Unknown model, mismatched lengths, fewer points than parameters + 2.
    FitError
        If no model could be fitted.

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
    keep = np.isfinite(q)
    dropped = int((~keep).sum())
    n, q = n[keep], q[keep]
    if n.size > 1 and np.any(np.diff(n) <= 0):
        i = int(np.flatnonzero(np.diff(n) <= 0)[0]) + 1
        raise ValidationError(f"cycle: must increase strictly; index {i} has {n[i]} after {n[i - 1]}")
    names = tuple(FADE_MODELS) if models is None else tuple(models)
    if model != "auto":
        if model not in FADE_MODELS:
            raise ValidationError(f"model: expected 'auto' or one of {sorted(FADE_MODELS)}, got {model!r}")
        need = len(FADE_MODELS[model][1]) + 2
        if n.size < need:
            raise ValidationError(f"capacity: {n.size} finite points, model {model!r} needs at least {need}")
        fit = _to_fit(model, _fit_once(model, n, q), n, q, units)
        return _note_dropped(fit, dropped)
    for m in names:
        if m not in FADE_MODELS:
            raise ValidationError(f"models: unknown model {m!r}")
    if not 0 < holdout < 0.5:
        raise ValidationError(f"holdout: must be in (0, 0.5), got {holdout}")
    ntrain = int(round(n.size * (1 - holdout)))
    cands: dict[str, tuple[float, float]] = {}
    fits: dict[str, FadeFit] = {}
    for m in names:
        k = len(FADE_MODELS[m][1])
        if ntrain < k + 2 or n.size - ntrain < 1:
            continue
        try:
            train = _fit_once(m, n[:ntrain], q[:ntrain])
            with np.errstate(all="ignore"):  # a wild extrapolation scores inf, it must not warn
                pred = FADE_MODELS[m][0](n[ntrain:], **_kernel_kwargs(m, train.params.valuesdict()))
                rmse = float(np.sqrt(np.mean((pred - q[ntrain:]) ** 2)))
            full = _to_fit(m, _fit_once(m, n, q), n, q, units)
        except FitError:
            continue
        if not np.isfinite(rmse):
            rmse = float("inf")
        cands[m] = (full.aic, rmse)
        fits[m] = full
    note = ""
    if not fits:  # too few points to hold any out: AIC on all points
        for m in names:
            if n.size < len(FADE_MODELS[m][1]) + 2:
                continue
            try:
                full = _to_fit(m, _fit_once(m, n, q), n, q, units)
            except FitError:
                continue
            cands[m] = (full.aic, float("nan"))
            fits[m] = full
        note = f"; {n.size} points are too few for a hold-out, chosen by AIC alone"
    if not fits:
        raise FitError(f"fit_fade: no model could be fitted to {n.size} points")
    if note:
        chosen = min(fits, key=lambda m: (not fits[m].success, cands[m][0]))
        d = dict(fits[chosen]._d)
        d["candidates"] = cands
        d["message"] = f"{d['message']}{note}"
        out0 = FadeFit(**{k: d[k] for k in ("model", "params", "stderr", "covariance", "varied", "aic", "bic",
                                            "redchi", "cycle", "capacity", "knee", "knee_onset", "candidates",
                                            "success", "message", "units")})
        return _note_dropped(out0, dropped)
    best_rmse = min(v[1] for v in cands.values())
    ok = [m for m, v in cands.items() if v[1] <= 1.5 * best_rmse + 1e-12 and fits[m].success]
    if not ok:
        ok = [m for m, v in cands.items() if v[1] <= 1.5 * best_rmse + 1e-12]
    chosen = min(ok, key=lambda m: cands[m][0])
    best = fits[chosen]
    d = dict(best._d)
    d["candidates"] = cands
    out = FadeFit(**{k: d[k] for k in ("model", "params", "stderr", "covariance", "varied", "aic", "bic",
                                       "redchi", "cycle", "capacity", "knee", "knee_onset", "candidates",
                                       "success", "message", "units")})
    return _note_dropped(out, dropped)


def _note_dropped(fit: FadeFit, dropped: int) -> FadeFit:
    if not dropped:
        return fit
    d = dict(fit._d)
    d["message"] = f"{d['message']} ({dropped} NaN capacities left out)"
    return FadeFit(**{k: d[k] for k in ("model", "params", "stderr", "covariance", "varied", "aic", "bic",
                                        "redchi", "cycle", "capacity", "knee", "knee_onset", "candidates",
                                        "success", "message", "units")})
