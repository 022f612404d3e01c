"""Deposition rate of a coating route from thickness against the deposition parameter n."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.fitting import check_chi2, covariance_from_jacobian
from ncmsurf.core.results import Quality
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import array_magnitude, magnitude
from ncmsurf.thickness._results import DepositionRate

__all__ = ["deposition_rate", "deposition_rates"]


def _n_values(samples_or_n: Any) -> tuple[np.ndarray, list[str | None]]:
    items = list(samples_or_n) if not isinstance(samples_or_n, np.ndarray) else list(samples_or_n.ravel())
    ns: list[float] = []
    ms: list[str | None] = []
    for k, s in enumerate(items):
        if isinstance(s, str):
            s = Sample.parse(s)
        if isinstance(s, Sample):
            ns.append(0.0 if s.n is None else float(s.n_minutes))
            ms.append(None if not s.coated else s.method)
        else:
            ns.append(magnitude(s, "min", name=f"samples_or_n[{k}]"))
            ms.append(None)
    return np.asarray(ns, float), ms


def deposition_rate(samples_or_n: Any, thickness: Any, stderr: Any = None, *, intercept: bool = False,
                    confidence: float = 0.95) -> DepositionRate:
    """Deposition rate (nm per unit of n) of one coating route by linear regression.

    Fits d = k n (through the origin, default; n = 0 rows are left out) or
    d = k n + b, weighted by 1/stderr² when given, and gives the
    ``confidence`` interval of k from the t distribution. With stated errors
    the covariance is scaled by max(1, reduced χ²) and a scatter beyond the
    errors is flagged ``poor_residual``.

    Parameters
    ----------
    samples_or_n : sequence of Sample, str or float
        Samples (n taken in minutes; pristine samples count as n = 0) or the
        deposition parameter values.
    thickness : array_like
        nm, one per sample.
    stderr : array_like, optional
        nm, one per sample.
    intercept : bool
        Fit an intercept (nucleation delay) too.
    confidence : float
        Level of the interval.

    Returns
    -------
    DepositionRate
        ``(rate, low, high)`` with ``.stderr``, ``.method``, ``.intercept``.

    Raises
    ------
    ValidationError
        Samples from more than one coating route (use :func:`deposition_rates`),
        mismatched lengths, or too few points.

    Examples
    --------
    >>> rate, low, high = deposition_rate(["A(1)-NCM", "A(2)-NCM", "A(3)-NCM"], [0.52, 0.98, 1.51])
    >>> round(rate, 3), low < rate < high
    (0.501, True)
    """
    n, methods = _n_values(samples_or_n)
    d = np.asarray(array_magnitude(thickness, "nm", name="thickness"), dtype=float).ravel()
    if d.size != n.size:
        raise ValidationError(f"thickness: expected {n.size} values (one per sample), got {d.size}")
    if not np.all(np.isfinite(d)) or not np.all(np.isfinite(n)):
        raise ValidationError("thickness and n must be finite")
    routes = {m for m in methods if m is not None}
    if len(routes) > 1:
        raise ValidationError(f"deposition_rate: samples from several coating routes {sorted(routes)}; "
                              "use deposition_rates() for one rate per route")
    se_all: np.ndarray | None = None
    if stderr is not None:
        se_all = np.asarray(array_magnitude(stderr, "nm", name="stderr"), dtype=float).ravel()
        if se_all.size != d.size or not np.all(np.isfinite(se_all)) or np.any(se_all <= 0):
            raise ValidationError("stderr: expected one finite positive value per sample")
    notes: list[str] = []
    if not intercept and np.any(n == 0):
        # through the origin, an n = 0 row (pristine, d = 0) carries no information on the slope but would
        # count as a degree of freedom and narrow the interval: left out
        keep = n != 0
        notes.append(f"{int((~keep).sum())} n = 0 row(s) left out of the fit through the origin")
        n, d = n[keep], d[keep]
        se_all = None if se_all is None else se_all[keep]
    w = np.ones_like(d) if se_all is None else 1.0 / se_all**2
    npar = 2 if intercept else 1
    if d.size < npar + 1 or np.ptp(n) == 0 and intercept or np.all(n == 0):
        raise ValidationError(f"deposition_rate: need at least {npar + 1} points with different n > 0")
    X = np.column_stack([n, np.ones_like(n)]) if intercept else n[:, None]
    sw = np.sqrt(w)
    beta, *_ = np.linalg.lstsq(X * sw[:, None], d * sw, rcond=None)
    resid = d - X @ beta
    dof = d.size - npar
    s2 = float(np.sum(w * resid ** 2) / dof)
    suspect = check_chi2(float(np.sum(w * resid**2)), dof) if se_all is not None else []
    scale = s2 if se_all is None else max(s2, 1.0)  # do not trust errors smaller than the scatter
    cov = covariance_from_jacobian(X * sw[:, None], scale=False).matrix * scale
    k = float(beta[0])
    se_k = float(math.sqrt(max(cov[0, 0], 0.0)))
    tq = float(stats.t.ppf(0.5 + confidence / 2.0, dof))
    full = np.zeros((2, 2))
    full[:npar, :npar] = cov
    return DepositionRate.build(
        names=["rate", "intercept"], values=[k, float(beta[1]) if intercept else 0.0], covariance=full,
        free=[True, intercept], units=["nm/min", "nm"], model="through origin" if not intercept else "linear",
        message="; ".join(notes), quality=Quality.from_checks(suspect=suspect),
        attrs={"low": k - tq * se_k, "high": k + tq * se_k, "confidence": float(confidence),
               "route": next(iter(routes), "") or "", "n_points": int(d.size)})


def deposition_rates(samples: Sequence[Any], thickness: Any, stderr: Any = None, *, intercept: bool = False,
                     confidence: float = 0.95) -> dict[str, DepositionRate]:
    """:func:`deposition_rate` for each coating route among ``samples``.

    Pristine samples (n = 0) are shared by every route when the fit has an
    intercept; through the origin (the default) they carry no information on
    the slope and are left out.

    Examples
    --------
    >>> r = deposition_rates(["A(1)-NCM", "A(2)-NCM", "F(1)-NCM", "F(2)-NCM"], [0.5, 1.0, 0.2, 0.41])
    >>> sorted(r), round(r["F"].rate, 2)
    (['A', 'F'], 0.21)
    """
    ss = [Sample.parse(s) if isinstance(s, str) else s for s in samples]
    if not all(isinstance(s, Sample) for s in ss):
        raise ValidationError("deposition_rates: samples must be Sample objects or labels")
    d = np.asarray(array_magnitude(thickness, "nm", name="thickness"), dtype=float).ravel()
    se = None if stderr is None else np.asarray(array_magnitude(stderr, "nm", name="stderr"), float).ravel()
    if d.size != len(ss) or (se is not None and se.size != len(ss)):
        raise ValidationError(f"thickness/stderr: expected {len(ss)} values (one per sample)")
    out: dict[str, DepositionRate] = {}
    for m in sorted({s.method for s in ss if s.coated}):
        idx = [i for i, s in enumerate(ss) if s.method == m or (intercept and not s.coated)]
        out[m] = deposition_rate([ss[i] for i in idx], d[idx], None if se is None else se[idx],
                                 intercept=intercept, confidence=confidence)
    return out


