"""The one solver wrapper, the one covariance routine, propagation and the generic fit checks.

Engines keep their own fast residual and Jacobian functions (vectorised,
analytic where they have them) and hand them to :func:`least_squares`; the
covariance of every fit comes from :func:`covariance_from_jacobian`; every
derived number (fractions, ratios, total areas, capacitances, thicknesses)
goes through :func:`propagate` or :func:`propagate_linear` with the full
covariance; the checks behind a verdict (:func:`check_bounds`,
:func:`check_identifiable`, :func:`check_chi2`, :func:`runs_test`) are shared
so every engine says "at bound" or "systematic residual" by the same rule.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(0, 1, 50)
>>> rng = np.random.default_rng(0)
>>> y = 2.0 + 3.0 * x + rng.normal(0, 0.1, x.size)
>>> sol = least_squares(lambda p: (p[0] + p[1] * x - y) / 0.1, [1.0, 1.0], scale_covariance=False)
>>> bool(sol.success), bool(np.all(np.abs(sol.p - [2.0, 3.0]) < 3 * sol.stderr))
(True, True)
>>> v, se = propagate_one(lambda p: p[0] + p[1], sol.p, sol.covariance)
>>> round(v, 1), bool(se < np.sqrt(sol.covariance[0, 0] + sol.covariance[1, 1]))  # negative covariance used
(5.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from ncmsurf.core.errors import ValidationError

__all__ = [
    "Covariance",
    "Solution",
    "check_bounds",
    "check_chi2",
    "check_identifiable",
    "check_runs",
    "covariance_from_jacobian",
    "least_squares",
    "propagate",
    "propagate_linear",
    "propagate_one",
    "runs_test",
]

Reasons = list[tuple[str, str]]


# --------------------------------------------------------------------------- covariance
@dataclass(frozen=True)
class Covariance:
    """Covariance of fitted parameters from the Jacobian at the solution.

    Attributes
    ----------
    matrix : ndarray
        ``(n, n)``; rows and columns of unidentifiable parameters are NaN.
    identifiable : ndarray of bool
        False for parameters with a significant component in the Jacobian's
        numerical null space.
    condition : float
        Ratio of the largest to the smallest singular value of the (column-
        scaled) Jacobian.
    rank : int
        Number of singular values kept.
    scale : float
        Factor applied (the reduced χ² when scaled, else 1).
    """

    matrix: np.ndarray
    identifiable: np.ndarray
    condition: float
    rank: int
    scale: float


def covariance_from_jacobian(jac: Any, *, residual: Any = None, dof: int | None = None, scale: bool = True,
                             rcond: float | None = None, null_tol: float = 0.1) -> Covariance:
    """Covariance ``s² (JᵀJ)⁻¹`` by SVD, with an identifiability mask.

    The Jacobian's columns are scaled to unit norm first (so parameters of
    very different magnitude do not look degenerate), singular values below
    ``rcond`` times the largest are dropped, and a parameter whose scaled
    direction has a share above ``null_tol`` in the dropped (null) space is
    marked unidentifiable: its row and column become NaN.

    Parameters
    ----------
    jac : array-like, shape (m, n)
        Jacobian of the *weighted* residuals with respect to the parameters.
    residual : array-like, shape (m,), optional
        Weighted residuals at the solution (needed when ``scale``).
    dof : int, optional
        Degrees of freedom for the scaling (default ``m - n``).
    scale : bool
        Multiply by the reduced χ² (use when the weights are relative, not
        absolute noise levels).
    rcond : float, optional
        Relative singular-value cut-off (default ``max(m, n) · eps``·1e3).
    null_tol : float
        Null-space share above which a parameter is unidentifiable.

    Returns
    -------
    Covariance

    Examples
    --------
    >>> import numpy as np
    >>> J = np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])  # two parameters that only act as a sum
    >>> c = covariance_from_jacobian(J, scale=False)
    >>> c.identifiable.tolist(), c.rank
    ([False, False], 1)
    >>> c2 = covariance_from_jacobian(np.eye(3)[:, :2] * 2.0, scale=False)
    >>> c2.matrix.round(3).tolist(), c2.identifiable.tolist()
    ([[0.25, 0.0], [0.0, 0.25]], [True, True])
    """
    J = np.asarray(jac, dtype=float)
    if J.ndim != 2:
        raise ValidationError(f"jac: expected a 2-D array, got shape {J.shape}")
    m, n = J.shape
    if n == 0:
        return Covariance(np.zeros((0, 0)), np.zeros(0, bool), 1.0, 0, 1.0)
    if not np.all(np.isfinite(J)):
        bad = ~np.all(np.isfinite(J), axis=0)
        cov = np.full((n, n), np.nan)
        return Covariance(cov, ~bad & False, math.inf, 0, math.nan)
    norms = np.linalg.norm(J, axis=0)
    zero = norms == 0
    safe = np.where(zero, 1.0, norms)
    Js = J / safe
    _, s, vt = np.linalg.svd(Js, full_matrices=False)
    if rcond is None:
        rcond = max(m, n) * np.finfo(float).eps * 1e3
    keep = s > rcond * (s[0] if s.size else 0.0)
    rank = int(keep.sum())
    cond = float(s[0] / s[-1]) if s.size and s[-1] > 0 else math.inf
    v = vt.T
    ident = ~zero
    if rank < n:
        null = v[:, rank:] if rank < v.shape[1] else np.zeros((n, 0))
        share = np.sum(null**2, axis=1)
        # columns missing from the thin SVD (m < n) are null directions too
        if v.shape[1] < n:
            share = share + (1.0 - np.sum(v**2, axis=1))
        ident &= share <= null_tol
    vk = v[:, keep] / s[keep]
    cov_s = vk @ vk.T
    cov = cov_s / np.outer(safe, safe)
    sc = 1.0
    if scale:
        if residual is None:
            raise ValidationError("covariance_from_jacobian: scale=True needs the residual")
        r = np.asarray(residual, dtype=float).ravel()
        d = (m - rank) if dof is None else int(dof)
        sc = float(r @ r / d) if d > 0 else math.nan
        cov = cov * sc
    cov[~ident, :] = np.nan
    cov[:, ~ident] = np.nan
    return Covariance(cov, ident, cond, rank, sc)


# --------------------------------------------------------------------------- solver
@dataclass(frozen=True)
class Solution:
    """Outcome of :func:`least_squares`.

    Attributes
    ----------
    p : ndarray
        Parameters at the solution (in the caller's space, not the solver's).
    covariance : ndarray
        From :func:`covariance_from_jacobian` in the caller's space.
    stderr : ndarray
    identifiable : ndarray of bool
    residual : ndarray
        Weighted residuals at the solution.
    jac : ndarray
        Jacobian of the weighted residuals in the caller's space.
    chi2, redchi : float
        Sum of squared weighted residuals; per degree of freedom.
    dof : int
    nfev : int
    success : bool
    message : str
    at_lower, at_upper : ndarray of bool
        Parameters ending on a bound (within ``bound_rtol``).
    condition : float
    """

    p: np.ndarray
    covariance: np.ndarray
    stderr: np.ndarray
    identifiable: np.ndarray
    residual: np.ndarray
    jac: np.ndarray
    chi2: float
    redchi: float
    dof: int
    nfev: int
    success: bool
    message: str
    at_lower: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    at_upper: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    condition: float = math.nan


def _bounds(bounds: Any, n: int) -> tuple[np.ndarray, np.ndarray]:
    if bounds is None:
        return np.full(n, -np.inf), np.full(n, np.inf)
    lo, hi = bounds
    lo_a = np.broadcast_to(np.asarray(lo, float), (n,)).copy()
    hi_a = np.broadcast_to(np.asarray(hi, float), (n,)).copy()
    if np.any(lo_a >= hi_a):
        i = int(np.flatnonzero(lo_a >= hi_a)[0])
        raise ValidationError(f"bounds: lower bound {lo_a[i]} is not below upper bound {hi_a[i]} (parameter {i})")
    return lo_a, hi_a


def least_squares(fun: Callable[[np.ndarray], np.ndarray], p0: Any, *,
                  jac: Callable[[np.ndarray], np.ndarray] | None = None, bounds: Any = None,
                  log: Sequence[bool] | None = None, method: str = "trf", x_scale: Any = "jac",
                  ftol: float = 1e-10, xtol: float = 1e-10, gtol: float = 1e-10, max_nfev: int | None = None,
                  loss: str = "linear", scale_covariance: bool = True, dof: int | None = None,
                  bound_rtol: float = 1e-6, unbounded: bool = False) -> Solution:
    """Bounded non-linear least squares with the package's covariance and bound checks.

    A thin wrapper of :func:`scipy.optimize.least_squares` that adds what
    every engine needs: parameters solved in log space where asked (positive
    quantities spanning decades), the covariance by SVD with an
    identifiability mask in the caller's space, χ² statistics and which
    parameters ended on a bound.

    Parameters
    ----------
    fun : callable
        ``fun(p) -> weighted residuals`` (1-D).
    p0 : array-like
        Start values (log parameters > 0); a start outside the bounds is
        moved onto the nearest bound.
    jac : callable, optional
        ``jac(p) -> (m, n)`` Jacobian of ``fun`` in the caller's space;
        default: 2-point finite differences.
    bounds : (lower, upper), optional
        In the caller's space; scalars broadcast.
    log : sequence of bool, optional
        Parameters solved as ``u = ln p`` (must be positive).
    method, x_scale, ftol, xtol, gtol, max_nfev, loss
        Passed to scipy (``method="lm"`` ignores bounds and needs none).
    scale_covariance : bool
        Scale the covariance by the reduced χ² (relative weights).
    dof : int, optional
        Degrees of freedom (default residuals − parameters).
    bound_rtol : float
        Relative distance (of the bound interval, or of the value) within
        which a parameter counts as on its bound.
    unbounded : bool
        Solve every parameter that has a finite bound in an unbounded
        variable instead of handing the bounds to scipy: ``ln(p − lo)`` for
        a lower bound only, ``ln(hi − p)`` for an upper bound only, the
        logistic for both (``log`` is then ignored). The bounds hold exactly
        and methods without bounds (``method="lm"``, MINPACK) can be used.

    Returns
    -------
    Solution
        Never raises for a failed optimisation: ``success`` is False and
        ``message`` says why; a start the residual cannot be evaluated at
        raises :class:`~ncmsurf.core.errors.ValidationError`.
    """
    p_start = np.asarray(p0, dtype=float).ravel().copy()
    n = p_start.size
    lo, hi = _bounds(bounds, n)
    lg = np.zeros(n, bool) if log is None else np.asarray(list(log), bool)
    if lg.size != n:
        raise ValidationError(f"log: expected {n} flags, got {lg.size}")
    if unbounded:
        lg = np.zeros(n, bool)
    if np.any(lg & (p_start <= 0)):
        raise ValidationError(f"p0: log-space parameters must start > 0, got {p_start[lg & (p_start <= 0)]}")
    p_start = np.clip(p_start, lo, hi)  # a start outside the bounds begins on the nearest bound
    tr = _BoundTransform(lo, hi) if unbounded else None

    last: list[np.ndarray] = []

    def to_p(u: np.ndarray) -> np.ndarray:
        if tr is not None:  # the solver asks for the residual and the Jacobian at the same point: convert once
            if last and np.array_equal(last[0], u):
                return last[1].copy()
            pu = tr.to_p(u)
            last[:] = [np.array(u, dtype=float), pu]
            return pu.copy()
        p = u.copy()
        p[lg] = np.exp(np.clip(u[lg], -745.0, 709.0))
        return p

    def to_u(p: np.ndarray) -> np.ndarray:
        if tr is not None:
            return tr.to_u(p)
        u = p.copy()
        with np.errstate(divide="ignore"):
            u[lg] = np.log(p[lg])
        return u

    if tr is not None:
        lo_u, hi_u = np.where(tr.kind == 0, lo, -np.inf), np.where(tr.kind == 0, hi, np.inf)
    else:
        lo_u, hi_u = to_u(lo), to_u(np.where(lg & ~np.isfinite(hi), np.inf, hi))
        lo_u[lg & (lo <= 0)] = -np.inf

    def f_u(u: np.ndarray) -> np.ndarray:
        return np.asarray(fun(to_p(u)), dtype=float).ravel()

    jac_u: Any = "2-point"
    if jac is not None:
        jac_fn = jac

        def jac_u(u: np.ndarray) -> np.ndarray:
            p = to_p(u)
            j = np.asarray(jac_fn(p), dtype=float)
            d = tr.dpdu(p) if tr is not None else np.where(lg, p, 1.0)
            out: np.ndarray = j * d[None, :]
            return out

    r0 = f_u(to_u(p_start))
    if not np.all(np.isfinite(r0)):
        raise ValidationError("least_squares: the residual is not finite at the start values")
    kw: dict[str, Any] = {"method": method, "x_scale": x_scale, "ftol": ftol, "xtol": xtol, "gtol": gtol,
                          "max_nfev": max_nfev, "jac": jac_u}
    if method != "lm":
        kw["bounds"] = (lo_u, hi_u)
        kw["loss"] = loss
    u_start = to_u(p_start)
    if method != "lm":
        # scipy needs a strictly feasible start
        span = np.where(np.isfinite(hi_u - lo_u), hi_u - lo_u, np.maximum(np.abs(u_start), 1.0))
        u_start = np.clip(u_start, lo_u + 1e-12 * span, hi_u - 1e-12 * span)
    try:
        if method == "lm":
            # MINPACK lmder/lmdif directly (what least_squares(method="lm") calls, without its wrappers)
            diag = None if isinstance(x_scale, str) else 1.0 / np.broadcast_to(np.asarray(x_scale, float), (n,))
            dfun = None if jac is None else jac_u
            u, _, info, msg, ier = optimize.leastsq(f_u, u_start, Dfun=dfun, full_output=True, ftol=ftol,
                                                    xtol=xtol, gtol=gtol, maxfev=max_nfev or 0, diag=diag)
            ok, msg, u, nfev = ier in (1, 2, 3, 4), str(msg), np.asarray(u, float), int(info["nfev"])
            if ier == 5:
                msg = f"The maximum number of function evaluations is exceeded ({msg})"
        else:
            res = optimize.least_squares(f_u, u_start, **kw)
            ok, msg, u = bool(res.success), str(res.message), np.asarray(res.x, float)
            nfev = int(res.nfev)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError, TypeError) as exc:
        ok, msg, u, nfev = False, f"solver error: {exc}", u_start, 0
    p = to_p(u)
    r = f_u(u)
    if not np.all(np.isfinite(r)):
        ok, msg = False, "the residual is not finite at the solution"
    J = np.asarray(jac(p), float) if jac is not None else _fd_jac(lambda q: np.asarray(fun(q), float).ravel(), p)
    m = r.size
    d = (m - n) if dof is None else int(dof)
    chi2 = float(r @ r)
    redchi = chi2 / d if d > 0 else math.nan
    if np.all(np.isfinite(J)):
        cv = covariance_from_jacobian(J, residual=r, dof=d if d > 0 else None, scale=scale_covariance)
        cov, ident, cond = cv.matrix, cv.identifiable, cv.condition
    else:
        cov, ident, cond = np.full((n, n), np.nan), np.zeros(n, bool), math.inf
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    width = np.where(np.isfinite(hi - lo), hi - lo, np.maximum(np.abs(p), 1e-300))
    at_lo = np.isfinite(lo) & (p - lo <= bound_rtol * width)
    at_hi = np.isfinite(hi) & (hi - p <= bound_rtol * width)
    if lg.any():
        # in log space a lower bound of 0 is approached, never reached; judge by the log-space bounds too
        at_lo |= lg & np.isfinite(lo_u) & (u - lo_u <= bound_rtol * np.maximum(np.abs(lo_u), 1.0))
    return Solution(p=p, covariance=cov, stderr=se, identifiable=ident, residual=r, jac=J, chi2=chi2,
                    redchi=redchi, dof=d, nfev=nfev, success=ok, message=msg, at_lower=at_lo, at_upper=at_hi,
                    condition=cond)


class _BoundTransform:
    """Bounded parameters as unbounded variables: shifted log, negative log or logistic by their bounds.

    ``kind``: 0 no finite bound (as is), 1 lower only (``u = ln(p − lo)``), 2 upper only
    (``u = ln(hi − p)``), 3 both (``u = logit((p − lo)/(hi − lo))``).
    """

    def __init__(self, lo: np.ndarray, hi: np.ndarray) -> None:
        fl, fh = np.isfinite(lo), np.isfinite(hi)
        self.lo, self.hi = lo, hi
        self.kind = np.where(fl & fh, 3, np.where(fl, 1, np.where(fh, 2, 0)))
        self.width = np.where(self.kind == 3, hi - lo, 1.0)
        self._idx = tuple(np.flatnonzero(self.kind == j) for j in (1, 2, 3))

    def to_u(self, p: np.ndarray) -> np.ndarray:
        k, lo, hi = self.kind, self.lo, self.hi
        u = np.array(p, dtype=float)
        with np.errstate(all="ignore"):
            u = np.where(k == 1, np.log(np.maximum(p - lo, 1e-300 * np.maximum(np.abs(lo), 1.0))), u)
            u = np.where(k == 2, np.log(np.maximum(hi - p, 1e-300 * np.maximum(np.abs(hi), 1.0))), u)
            s = np.clip((p - lo) / self.width, 1e-12, 1 - 1e-12)
            u = np.where(k == 3, np.log(s / (1 - s)), u)
        return np.asarray(u, dtype=float)

    def to_p(self, u: np.ndarray) -> np.ndarray:
        i1, i2, i3 = self._idx
        p = np.array(u, dtype=float)
        with np.errstate(all="ignore"):  # an overflowing exp gives inf (the residual is then not finite)
            if i1.size:
                p[i1] = self.lo[i1] + np.exp(u[i1])
            if i2.size:
                p[i2] = self.hi[i2] - np.exp(u[i2])
            if i3.size:
                p[i3] = self.lo[i3] + self.width[i3] / (1 + np.exp(-u[i3]))
        return p

    def dpdu(self, p: np.ndarray) -> np.ndarray:
        i1, i2, i3 = self._idx
        d = np.ones(p.shape)
        d[i1] = p[i1] - self.lo[i1]
        d[i2] = -(self.hi[i2] - p[i2])
        d[i3] = (p[i3] - self.lo[i3]) * (self.hi[i3] - p[i3]) / self.width[i3]
        return d


def _fd_jac(f: Callable[[np.ndarray], np.ndarray], p: np.ndarray) -> np.ndarray:
    f0 = f(p)
    J = np.empty((f0.size, p.size))
    for i in range(p.size):
        h = 1e-7 * max(abs(p[i]), 1e-8)
        q = p.copy()
        q[i] += h
        J[:, i] = (f(q) - f0) / h
    return J


# --------------------------------------------------------------------------- propagation
def propagate_linear(weights: Any, covariance: Any) -> np.ndarray:
    """Covariance of ``W @ p`` for a fixed matrix (or vector) of weights: ``W C Wᵀ``.

    Examples
    --------
    >>> import numpy as np
    >>> propagate_linear([1.0, 1.0], [[1.0, -0.5], [-0.5, 1.0]]).item()  # var(a + b)
    1.0
    """
    W = np.atleast_2d(np.asarray(weights, dtype=float))
    C = np.asarray(covariance, dtype=float)
    if W.shape[1] != C.shape[0]:
        raise ValidationError(f"propagate_linear: weights have {W.shape[1]} columns, covariance is {C.shape}")
    out: np.ndarray = W @ C @ W.T
    return out


def propagate(func: Callable[[np.ndarray], Any], values: Any, covariance: Any, *,
              jac: Callable[[np.ndarray], Any] | None = None, rel_step: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Values and covariance of derived quantities ``func(p)`` by the delta method.

    Parameters
    ----------
    func : callable
        ``func(p) -> array`` of derived quantities.
    values : array-like
        Parameter values ``p``.
    covariance : array-like
        Their full covariance. Parameters with zero variance do not
        contribute; a NaN in a row that ``func`` depends on makes the
        result's variance NaN (unknown is never reported as zero).
    jac : callable, optional
        Analytic ``∂func/∂p``; default central differences.
    rel_step : float
        Relative step of the differences.

    Returns
    -------
    (values, covariance) : tuple of ndarray

    Examples
    --------
    >>> import numpy as np
    >>> v, c = propagate(lambda p: np.array([p[0] / (p[0] + p[1])]), [1.0, 3.0], np.diag([0.01, 0.09]))
    >>> round(float(v[0]), 3), round(float(np.sqrt(c[0, 0])), 4)
    (0.25, 0.0265)
    """
    p = np.asarray(values, dtype=float).ravel()
    C = np.asarray(covariance, dtype=float)
    if C.shape != (p.size, p.size):
        raise ValidationError(f"propagate: covariance shape {C.shape} does not match {p.size} values")
    f0 = np.atleast_1d(np.asarray(func(p), dtype=float)).ravel()
    if jac is not None:
        G = np.atleast_2d(np.asarray(jac(p), dtype=float))
    else:
        G = np.zeros((f0.size, p.size))
        for i in range(p.size):
            if C[i, i] == 0:
                continue  # a fixed parameter: no contribution, and func may not be defined off it
            h = rel_step * max(abs(p[i]), 1e-300)
            if math.isfinite(C[i, i]) and C[i, i] > 0:
                h = min(h, 1e-3 * math.sqrt(C[i, i])) if h > 0 else 1e-3 * math.sqrt(C[i, i])
            up, dn = p.copy(), p.copy()
            up[i] += h
            dn[i] -= h
            G[:, i] = (np.asarray(func(up), float).ravel() - np.asarray(func(dn), float).ravel()) / (2 * h)
    used = np.any(G != 0, axis=0)
    Cu = np.where(used[:, None] & used[None, :], C, 0.0)
    out = G @ Cu @ G.T
    bad = ~np.all(np.isfinite(C[np.ix_(used, used)])) if used.any() else False
    if bad:
        # which outputs depend on an unknown variance
        nanrow = ~np.isfinite(np.diag(C)) | ~np.all(np.isfinite(C), axis=1)
        dep = np.any((G != 0) & nanrow[None, :], axis=1)
        out[dep, :] = np.nan
        out[:, dep] = np.nan
    return f0, out


def propagate_one(func: Callable[[np.ndarray], Any], values: Any, covariance: Any, **kw: Any) -> tuple[float, float]:
    """``(value, stderr)`` of one derived quantity (see :func:`propagate`).

    Examples
    --------
    >>> propagate_one(lambda p: p[0] * p[1], [2.0, 3.0], [[0.04, 0.0], [0.0, 0.09]])[1]  # doctest: +ELLIPSIS
    0.848...
    """
    v, c = propagate(lambda p: np.atleast_1d(np.asarray(func(p), float))[:1], values, covariance, **kw)
    var = float(c[0, 0])
    return float(v[0]), (math.sqrt(var) if var >= 0 else math.nan)


# --------------------------------------------------------------------------- checks
def check_bounds(names: Sequence[str], at_lower: Any, at_upper: Any, *, free: Any = None,
                 values: Any = None) -> Reasons:
    """``at_bound`` reasons for free parameters that ended on a bound.

    Examples
    --------
    >>> check_bounds(["R0", "R1"], [True, False], [False, False], values=[1e-10, 5.0])
    [('at_bound', 'R0 = 1e-10 is at its lower bound')]
    """
    lo = np.asarray(at_lower, bool)
    hi = np.asarray(at_upper, bool)
    fr = np.ones(len(names), bool) if free is None else np.asarray(free, bool)
    v = None if values is None else np.asarray(values, float)
    out: Reasons = []
    for i, name in enumerate(names):
        if not fr[i]:
            continue
        val = "" if v is None else f" = {v[i]:.4g}"
        if lo[i]:
            out.append(("at_bound", f"{name}{val} is at its lower bound"))
        elif hi[i]:
            out.append(("at_bound", f"{name}{val} is at its upper bound"))
    return out


def check_identifiable(names: Sequence[str], values: Any, stderr: Any, *, free: Any = None,
                       max_relative: float = 1.0, condition: float | None = None,
                       max_condition: float = 1e12) -> Reasons:
    """``unidentifiable`` reasons: relative stderr above ``max_relative``, NaN stderr, or a near-singular covariance.

    Examples
    --------
    >>> check_identifiable(["a", "b"], [1.0, 2.0], [0.1, 5.0])
    [('unidentifiable', 'b: relative standard error 250 % (> 100 %)')]
    """
    v = np.asarray(values, float)
    se = np.asarray(stderr, float)
    fr = np.ones(v.size, bool) if free is None else np.asarray(free, bool)
    out: Reasons = []
    for i, name in enumerate(names):
        if not fr[i]:
            continue
        if not math.isfinite(se[i]):
            out.append(("unidentifiable", f"{name}: the data do not determine it (no finite standard error)"))
        elif v[i] != 0 and se[i] / abs(v[i]) > max_relative:
            out.append(("unidentifiable", f"{name}: relative standard error {100 * se[i] / abs(v[i]):.3g} % "
                                          f"(> {100 * max_relative:.3g} %)"))
    if condition is not None and math.isfinite(condition) and condition > max_condition:
        out.append(("unidentifiable", f"the covariance is near-singular (condition number {condition:.2g} "
                                      f"> {max_condition:.2g})"))
    elif condition is not None and not math.isfinite(condition):
        out.append(("unidentifiable", "the covariance is singular"))
    return out


def check_chi2(chi2: float, dof: int, *, absolute: bool = True, alpha: float = 1e-3,
               min_redchi: float = 1.5, max_redchi: float | None = None) -> Reasons:
    """``poor_residual`` when the residual is not consistent with the noise or the weights.

    With ``absolute`` weights (the weights are 1/σ of the noise, e.g.
    Poisson counting), the fit is poor when χ² exceeds its ``1 − alpha``
    quantile *and* the reduced χ² exceeds ``min_redchi`` (so a tiny model
    imperfection on very many points does not flag). With relative weights
    only ``max_redchi`` (if given) applies.

    Examples
    --------
    >>> check_chi2(1000.0, 500)
    [('poor_residual', 'reduced chi-square 2 with 500 degrees of freedom (the noise allows up to 1.2)')]
    >>> check_chi2(520.0, 500)
    []
    """
    out: Reasons = []
    if dof <= 0 or not math.isfinite(chi2):
        if not math.isfinite(chi2):
            out.append(("poor_residual", "the residual is not finite"))
        return out
    red = chi2 / dof
    if absolute:
        limit = float(stats.chi2.ppf(1 - alpha, dof)) / dof
        if red > limit and red > min_redchi:
            out.append(("poor_residual", f"reduced chi-square {red:.3g} with {dof} degrees of freedom "
                                         f"(the noise allows up to {limit:.2g})"))
    if max_redchi is not None and red > max_redchi:
        out.append(("poor_residual", f"reduced chi-square {red:.3g} above {max_redchi:.3g}"))
    return out


def runs_test(residual: Any) -> tuple[int, float, float]:
    """Wald–Wolfowitz runs test on the signs of a residual.

    Returns
    -------
    (runs, z, p) : tuple
        Number of sign runs, its z-score against the count expected for
        independent signs, and the one-sided p-value of so *few* runs (a
        systematic misfit gives long runs).

    Examples
    --------
    >>> import numpy as np
    >>> runs_test(np.r_[np.ones(20), -np.ones(20)])[0]
    2
    >>> runs_test(np.tile([1.0, -1.0], 20))[2] > 0.5
    True
    """
    r = np.asarray(residual, float).ravel()
    s = np.sign(r[np.isfinite(r) & (r != 0)])
    n = s.size
    if n < 2:
        return n, 0.0, 1.0
    n_pos = int((s > 0).sum())
    n_neg = n - n_pos
    runs = int(1 + np.count_nonzero(s[1:] != s[:-1]))
    if n_pos == 0 or n_neg == 0:
        return runs, -math.inf, 0.0 if n >= 10 else 1.0
    mu = 2.0 * n_pos * n_neg / n + 1.0
    var = (mu - 1.0) * (mu - 2.0) / (n - 1.0)
    if var <= 0:
        return runs, 0.0, 1.0
    z = (runs - mu) / math.sqrt(var)
    return runs, float(z), 0.5 * math.erfc(-z / math.sqrt(2.0))  # the normal CDF


def check_runs(residual: Any, *, alpha: float = 1e-3, what: str = "residual") -> Reasons:
    """``systematic_residual`` when the runs test rejects independent signs at level ``alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> check_runs(np.sin(np.linspace(0, 6, 200)))  # doctest: +ELLIPSIS
    [('systematic_residual', 'residual signs form 2 runs where about 1... are expected (runs test p = ...)')]
    """
    runs, z, p = runs_test(residual)
    if p < alpha:
        r = np.asarray(residual, float).ravel()
        s = np.sign(r[np.isfinite(r) & (r != 0)])
        n_pos = int((s > 0).sum())
        n = s.size
        expected = 2.0 * n_pos * (n - n_pos) / n + 1.0 if n else 0.0
        return [("systematic_residual", f"{what} signs form {runs} runs where about {expected:.0f} are "
                                        f"expected (runs test p = {p:.2g})")]
    return []
