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
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.fitting import Solution, check_bounds, check_identifiable, check_runs, least_squares
from ncmsurf.core.results import Quality, register_citation
from ncmsurf.cycling._fade_laws import DERIVED, FADE_MODELS, _double_bacon_watts, fade_law
from ncmsurf.cycling._fade_result import FadeFit

__all__ = ["FADE_MODELS", "FadeFit", "fade_law", "fit_fade"]

# the laws and the result live in _fade_laws and _fade_result; this module fits

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


# -------------------------------------------------------------- parameters
Spec = list[tuple[str, float, float, float, bool]]  # name, start, lower, upper, vary
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
                ("a1", float(slope), -inf, inf, True), ("a2", 0.0, -inf, inf, True),
                ("n0", float(n[0] + 0.7 * span), float(n[0]), float(n[-1]), True),
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
        Capacities (any one unit; a Quantity keeps its unit in ``.capacity_units``).
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

