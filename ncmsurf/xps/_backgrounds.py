"""XPS backgrounds: linear, iterative Shirley and Tougaard (vectorised, pure numpy).

All functions accept energies in either order and intensities of shape
``(..., n)`` (a stack of spectra on one energy grid) and return a background
of the same shape. Energies are binding energies: the inelastic step rises
towards higher binding energy.

Examples
--------
>>> import numpy as np
>>> x = np.linspace(850, 870, 201)
>>> y = 100 + 50 * (x > 860) + 400 * np.exp(-((x - 860) ** 2))
>>> b = shirley(x, y)
>>> round(float(b[0]), 6), round(float(b[-1]), 6)
(100.0, 150.0)
"""

from __future__ import annotations

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.results import register_citation

__all__ = ["cumulative_integral", "linear", "shirley", "tougaard"]

register_citation("shirley1972", "D. A. Shirley, Phys. Rev. B 5, 4709 (1972)")
register_citation("tougaard1997", "S. Tougaard, Surf. Interface Anal. 25, 137 (1997)")


def _prepare(x: object, y: object) -> tuple[np.ndarray, np.ndarray, bool]:
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.ndim != 1:
        raise ValidationError(f"x: expected a 1-D energy array, got shape {xa.shape}")
    if ya.shape[-1:] != xa.shape:
        raise ValidationError(f"y: last axis has {ya.shape[-1:]} points, x has {xa.size}")
    if xa.size < 3:
        raise ValidationError(f"x: need at least 3 points, got {xa.size}")
    if not (np.all(np.isfinite(xa)) and np.all(np.isfinite(ya))):
        raise ValidationError("x, y: must be finite")
    d = np.diff(xa)
    if not (np.all(d > 0) or np.all(d < 0)):
        i = int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0]) + 1 if np.any(d != 0) else 1
        raise ValidationError(f"x: energies must be strictly monotonic (first bad index {i})")
    flip = bool(d[0] < 0)
    if flip:
        return xa[::-1], ya[..., ::-1], True
    return xa, ya, False


def cumulative_integral(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Trapezoid integral of ``y`` from ``x[0]`` to each point (``x`` ascending), along the last axis."""
    dx = np.diff(x)
    inc = 0.5 * (y[..., 1:] + y[..., :-1]) * dx
    out = np.zeros_like(y, dtype=float)
    np.cumsum(inc, axis=-1, out=out[..., 1:])
    return out


def _ends(y: np.ndarray, average: int) -> tuple[np.ndarray, np.ndarray]:
    n = max(1, min(int(average), y.shape[-1] // 3))
    return y[..., :n].mean(axis=-1), y[..., -n:].mean(axis=-1)


def linear(x: object, y: object, *, average: int = 1) -> np.ndarray:
    """Straight line between the (averaged) end points of ``y``.

    Examples
    --------
    >>> linear([0, 1, 2], [1.0, 5.0, 3.0]).tolist()
    [1.0, 2.0, 3.0]
    """
    xa, ya, flip = _prepare(x, y)
    lo, hi = _ends(ya, average)
    t = (xa - xa[0]) / (xa[-1] - xa[0])
    out = lo[..., None] + (hi - lo)[..., None] * t
    return out[..., ::-1] if flip else out  # type: ignore[no-any-return]


def shirley(x: object, y: object, *, tol: float = 1e-6, max_iter: int = 100, average: int = 1) -> np.ndarray:
    """Iterative Shirley background between the end points of ``y``.

    ``B(E) = I_lo + (I_hi - I_lo) * A(E) / A(E_hi)`` with ``A(E)`` the
    integral of ``y - B`` from the low-binding-energy end to ``E``, iterated
    until the largest change is below ``tol`` times the step height.

    Parameters
    ----------
    x, y : array_like
        Binding energies (either order) and intensities (``(..., n)``).
    tol : float
        Relative convergence tolerance.
    max_iter : int
        Maximum iterations.
    average : int
        Number of points averaged at each end to set the end levels.

    Returns
    -------
    ndarray
        Background, same shape and order as ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(0, 10, 101)
    >>> b = shirley(x, 1 + (x > 5) + np.exp(-(x - 5) ** 2))
    >>> bool(np.all(np.diff(b) >= 0))
    True
    """
    xa, ya, flip = _prepare(x, y)
    lo, hi = _ends(ya, average)
    step = (hi - lo)[..., None]
    scale = np.maximum(np.abs(step), 1e-12)
    b = np.broadcast_to(lo[..., None], ya.shape).copy()
    for _ in range(int(max_iter)):
        a = cumulative_integral(xa, ya - b)
        tot = a[..., -1:]
        safe = np.where(np.abs(tot) > 0, tot, 1.0)
        # the normalised integral is bounded to [0, 1]: the background stays between its end levels (as the
        # construction means it to). Without the bound, data that dip below the high-BE end level between the
        # peak and that end (a loss feature at the window's edge) make the iteration overshoot and diverge.
        new = lo[..., None] + step * np.where(np.abs(tot) > 0, np.clip(a / safe, 0.0, 1.0), 0.0)
        done = np.max(np.abs(new - b) / scale) < tol
        b = new
        if done:
            break
    return b[..., ::-1] if flip else b


def tougaard(x: object, y: object, *, B: float = 2866.0, C: float = 1643.0, D: float = 1.0,
             kind: str = "U2", fit_B: bool = False, average: int = 1) -> np.ndarray:
    """Tougaard background with the universal inelastic cross-section.

    ``U2``: ``K(T) = B T / (C + D T**2)**2`` (``D = 1`` is Tougaard's
    two-parameter form); ``U3``: ``K(T) = B T / ((C - T**2)**2 + D T**2)``.
    The background at binding energy ``E`` is the low-BE level plus
    ``sum K(E - E') (y(E') - y_lo) dE'`` over ``E' < E``, as one
    matrix-vector product (no loop over points).

    Parameters
    ----------
    x, y : array_like
        Binding energies and intensities (``(..., n)``).
    B, C, D : float
        Cross-section parameters (eV², eV², eV² or 1).
    kind : {"U2", "U3"}
        Cross-section form.
    fit_B : bool
        Scale ``B`` so that the background meets the (averaged) high-BE end.
    average : int
        Points averaged at each end.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.linspace(690, 760, 701)
    >>> y = 100 + 3000 * np.exp(-((x - 710) / 1.5) ** 2)
    >>> b = tougaard(x, y)
    >>> bool(b[-1] > b[0] == 100.0)
    True
    """
    xa, ya, flip = _prepare(x, y)
    kind_u = kind.upper()
    if kind_u not in ("U2", "U3"):
        raise ValidationError(f"kind: expected 'U2' or 'U3', got {kind!r}")
    lo, hi = _ends(ya, average)
    t = xa[:, None] - xa[None, :]  # T[i, j] = E_i - E_j (>0 below the diagonal)
    tp = np.where(t > 0, t, 0.0)
    if kind_u == "U2":
        k = tp / (C + D * tp * tp) ** 2
    else:
        k = tp / ((C - tp * tp) ** 2 + D * tp * tp)
    dx = np.gradient(xa)
    kern = k * dx[None, :]
    signal = ya - lo[..., None]
    s = signal @ kern.T
    if fit_B:
        end = s[..., -1:]
        scale = np.where(np.abs(end) > 0, (hi - lo)[..., None] / np.where(np.abs(end) > 0, end, 1.0), 0.0)
        out = lo[..., None] + scale * s
    else:
        out = lo[..., None] + B * s
    return out[..., ::-1] if flip else out  # type: ignore[no-any-return]
