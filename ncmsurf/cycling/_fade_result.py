"""The result of a fade fit, :class:`FadeFit`, with its Monte Carlo cycles-to intervals (private)."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.results import FitResult, legacy_quality
from ncmsurf.cycling._fade_laws import DERIVED, FADE_MODELS, fade_law

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["FadeFit"]


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


def cast_dict(x: Any) -> dict[str, dict[str, Any]]:
    """JSON object → typed dict (a no-op at run time)."""
    return x  # type: ignore[no-any-return]


class FadeFit(FitResult):
    """Result of :func:`fit_fade`; an :class:`ncmsurf.FitResult`.

    Attributes
    ----------
    model : str
        Fitted law name.
    params : dict of str to float
        Parameter values (``values`` of the base; a new dict); the standard
        errors are the base's ``stderr`` dict (NaN when not estimable, 0 for
        fixed parameters).
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
    capacity_units : str
        Capacity units (``units`` is the base's per-parameter unit dict).

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.cycling import fit_fade
    >>> n = np.arange(1, 101.0)
    >>> fit = fit_fade(n, 200 * np.exp(-0.002 * n), model="exponential")
    >>> round(fit.params["k"], 6), round(fit.cycles_to(0.8)[0], 1)
    (0.002, 112.6)
    """

    __slots__ = ()

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the layout of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        names = [str(x) for x in ds["param"].values]
        varied = [str(x) for x in ds["varied"].values]
        vals = np.asarray(ds["param_value"].values, float)
        se = np.asarray(ds["param_stderr"].values, float)
        cov = np.diag(np.where(np.isfinite(se), se**2, np.nan))
        idx = [names.index(v) for v in varied]
        cov[np.ix_(idx, idx)] = np.asarray(ds["covariance"].values, float)
        free = [n in varied or np.isfinite(se[i]) and se[i] > 0 for i, n in enumerate(names)]
        ok = bool(int(a["success"]))

        def num(x: object) -> float:
            return math.nan if isinstance(x, str) else float(x)  # type: ignore[arg-type]
        cm = np.atleast_1d(a.get("candidate_models", []))
        ca = np.atleast_1d(a.get("candidate_aic", []))
        cr = np.atleast_1d(a.get("candidate_holdout_rmse", []))
        cands = {str(m): {"aic": float(x), "rmse": float(y), "weight": 0.0} for m, x, y in zip(cm, ca, cr, strict=True)}
        return cls.build(names=names, values=vals, covariance=cov, stderr=se, free=free, success=ok,
                         message=str(a["message"]), quality=legacy_quality(ok, str(a["message"])),
                         model=str(a["model"]), data_vars={"capacity": ("point", ds["capacity"].values)},
                         coords={"cycle": ("point", ds["cycle"].values)},
                         attrs={"aic": float(a["aic"]), "bic": float(a["bic"]), "redchi": float(a["redchi"]),
                                "varied": json.dumps(varied), "knee": num(a["knee"]),
                                "knee_onset": num(a["knee_onset"]), "capacity_units": str(a.get("units", "")),
                                "candidate_fits": json.dumps(cands), "formula": FADE_MODELS[str(a["model"])][2],
                                "weight": math.nan})

    @property
    def params(self) -> dict[str, float]:
        """Parameter values by name."""
        return self.values

    @property
    def varied(self) -> tuple[str, ...]:
        """Parameters the solver varied."""
        return tuple(json.loads(str(self._attrs["varied"])))

    @property
    def aic(self) -> float:
        """Akaike information criterion, n ln(χ²/n) + 2k."""
        return float(self._attrs["aic"])

    @property
    def bic(self) -> float:
        """Bayesian information criterion, n ln(χ²/n) + k ln n."""
        return float(self._attrs["bic"])

    @property
    def redchi(self) -> float:
        """Reduced chi-square (capacity units squared)."""
        return float(self._attrs["redchi"])

    @property
    def cycle(self) -> np.ndarray:
        """Cycles fitted."""
        return self._ds["cycle"].values  # type: ignore[no-any-return]

    @property
    def capacity(self) -> np.ndarray:
        """Capacities fitted."""
        return self._ds["capacity"].values  # type: ignore[no-any-return]

    @property
    def capacity_units(self) -> str:
        """Capacity units of the data (``.units`` before the result core; now the base's unit dict)."""
        return str(self._attrs.get("capacity_units", ""))

    @property
    def knee(self) -> float | None:
        """Bacon–Watts knee (cycle), or None."""
        k = float(self._attrs.get("knee", math.nan))
        return None if math.isnan(k) else k

    @property
    def knee_onset(self) -> float | None:
        """Knee onset (cycle), or None."""
        k = float(self._attrs.get("knee_onset", math.nan))
        return None if math.isnan(k) else k

    def _cands(self) -> dict[str, dict[str, Any]]:
        return cast_dict(json.loads(str(self._attrs.get("candidate_fits", "{}"))))

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
        from ncmsurf.core.units import format_unit

        ax.set_xlabel("Cycle")
        unit = format_unit(self.capacity_units, style="si") if self.capacity_units else ""
        ax.set_ylabel(f"Capacity ({unit})" if unit else "Capacity (unit not given to fit_fade)")
        ax.legend()
        return ax




