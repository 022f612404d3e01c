"""The compiled fit engine: components → parameter vector, vectorised model and Jacobian, solver.

Each elementary line (a singlet, or one line of a doublet or satellite) has
local parameters built from the global parameter vector ``p``:
``area = const * prod(p[idx])`` and ``center``, ``fwhm``, shape extras
``= const + sum(p[idx])``. This covers every tie (doublet splitting and
ratio, Coster–Kronig width, satellite offset and ratio), and makes the
Jacobian a cheap chain rule over per-line derivatives (analytic for the
Gaussian, Lorentzian and Voigt; per-line central differences otherwise).
The solver is :func:`scipy.optimize.least_squares` (trust-region reflective
with bounds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares, nnls

from ncmsurf.core.errors import FitError
from ncmsurf.xps._backgrounds import cumulative_integral, linear, shirley, tougaard
from ncmsurf.xps._lineshapes import SHAPES, gaussian_grad, lorentzian_grad, voigt_grad
from ncmsurf.xps._peaks import Doublet, Peak, Satellite

__all__ = ["Compiled", "Solution", "compile_model", "solve"]

Spec = tuple[float, tuple[int, ...]]


@dataclass
class Line:
    """One elementary line."""

    comp: str
    label: str
    shape: str
    area: Spec
    center: Spec
    fwhm: Spec
    extras: list[Spec]


@dataclass
class Compiled:
    """A compiled model: free parameters, fixed parameters, lines, components."""

    names: list[str] = field(default_factory=list)
    init: list[float] = field(default_factory=list)
    lo: list[float] = field(default_factory=list)
    hi: list[float] = field(default_factory=list)
    fixed: dict[str, float] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    main: list[str] = field(default_factory=list)
    satellites: list[str] = field(default_factory=list)
    area_param: dict[str, str] = field(default_factory=dict)  # component -> name of its area-setting param
    components: list[Peak] = field(default_factory=list)

    def ref(self, name: str, value: float, bounds: tuple[float, float] | None, vary: bool) -> tuple[str, Any]:
        """Register a parameter; return ("p", index) when free or ("c", value) when fixed."""
        value = float(value)
        if vary and bounds is not None and bounds[1] > bounds[0]:
            lo, hi = bounds
            v = min(max(value, lo), hi)
            if v == lo and np.isfinite(hi):
                v = lo + 1e-6 * (hi - lo)
            if v == hi and np.isfinite(lo):
                v = hi - 1e-6 * (hi - lo)
            self.names.append(name)
            self.init.append(v)
            self.lo.append(lo)
            self.hi.append(hi)
            return ("p", len(self.names) - 1)
        self.fixed[name] = value
        return ("c", value)

    @property
    def nfree(self) -> int:
        """Number of free parameters."""
        return len(self.names)


def _sum(*refs: tuple[str, Any]) -> Spec:
    c = 0.0
    idx: list[int] = []
    for kind, v in refs:
        if kind == "p":
            idx.append(int(v))
        else:
            c += float(v)
    return (c, tuple(idx))


def _prod(*refs: tuple[str, Any]) -> Spec:
    c = 1.0
    idx: list[int] = []
    for kind, v in refs:
        if kind == "p":
            idx.append(int(v))
        else:
            c *= float(v)
    return (c, tuple(idx))


def compile_model(components: list[Peak], *, shift: float = 0.0, default_area: float = 1.0) -> Compiled:
    """Compile components into a :class:`Compiled` model (centres shifted by ``shift`` eV).

    Raises
    ------
    FitError
        Duplicate names, a satellite whose parent is missing, or an empty model.
    """
    if not components:
        raise FitError("model: no components given")
    names = [c.name for c in components]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise FitError(f"model: duplicate component names {dup}")
    cm = Compiled(components=list(components))
    refs: dict[str, dict[str, Any]] = {}
    for comp in components:
        if not isinstance(comp, Peak):
            raise FitError(f"model: expected Peak/Doublet/Satellite, got {type(comp).__name__}")
        if isinstance(comp, Satellite):
            continue
        n = comp.name
        cb = comp.center_bounds
        c0 = comp.center + shift
        cb = (cb[0] + shift, cb[1] + shift) if cb is not None else (c0 - 1.5, c0 + 1.5)
        r: dict[str, Any] = {
            "center": cm.ref(f"{n}.center", comp.center + shift, cb, "center" not in comp.fix),
            "fwhm": cm.ref(f"{n}.fwhm", comp.fwhm, comp.fwhm_bounds, "fwhm" not in comp.fix),
            "area": cm.ref(f"{n}.area", default_area if comp.area is None else comp.area, (0.0, np.inf),
                           "area" not in comp.fix),
        }
        r["extras"] = [cm.ref(f"{n}.{k}", v, b, vary) for k, (v, b, vary) in comp.shape_params().items()]
        cm.area_param[n] = f"{n}.area"
        cm.main.append(n)
        if isinstance(comp, Doublet):
            r["splitting"] = cm.ref(f"{n}.splitting", comp.splitting, comp.splitting_bounds,
                                    comp.splitting_bounds is not None)
            r["ratio"] = cm.ref(f"{n}.ratio", comp.ratio, comp.ratio_bounds, comp.ratio_bounds is not None)
            r["ck"] = cm.ref(f"{n}.ck", comp.ck, comp.ck_bounds, comp.ck_bounds is not None)
            a, b = comp.lines()
            cm.lines.append(Line(n, f"{n} {a}", comp.shape, _prod(r["area"]), _sum(r["center"]), _sum(r["fwhm"]),
                                 [_sum(e) for e in r["extras"]]))
            cm.lines.append(Line(n, f"{n} {b}", comp.shape, _prod(r["area"], r["ratio"]),
                                 _sum(r["center"], r["splitting"]), _sum(r["fwhm"], r["ck"]),
                                 [_sum(e) for e in r["extras"]]))
        else:
            cm.lines.append(Line(n, n, comp.shape, _prod(r["area"]), _sum(r["center"]), _sum(r["fwhm"]),
                                 [_sum(e) for e in r["extras"]]))
        refs[n] = r
    for comp in components:
        if not isinstance(comp, Satellite):
            continue
        n = comp.name
        if comp.parent not in refs:
            raise FitError(f"model: satellite {n!r} refers to unknown parent {comp.parent!r} "
                           f"(known: {sorted(refs)})")
        pr = refs[comp.parent]
        off = cm.ref(f"{n}.offset", comp.offset, comp.offset_bounds, comp.offset_bounds is not None
                     and "offset" not in comp.fix)
        rat = cm.ref(f"{n}.ratio", comp.ratio, comp.ratio_bounds, comp.ratio_bounds is not None
                     and "ratio" not in comp.fix)
        fw = cm.ref(f"{n}.fwhm", comp.fwhm, comp.fwhm_bounds, "fwhm" not in comp.fix)
        extras = [cm.ref(f"{n}.{k}", v, b, vary) for k, (v, b, vary) in comp.shape_params().items()]
        cm.satellites.append(n)
        cm.lines.append(Line(n, n, comp.shape, _prod(pr["area"], rat), _sum(pr["center"], off), _sum(fw),
                             [_sum(e) for e in extras]))
        if "splitting" in pr:
            cm.lines.append(Line(n, f"{n} (partner)", comp.shape, _prod(pr["area"], rat, pr["ratio"]),
                                 _sum(pr["center"], off, pr["splitting"]), _sum(fw), [_sum(e) for e in extras]))
    return cm


# ------------------------------------------------------------------ evaluation
def _val_sum(spec: Spec, p: np.ndarray) -> float:
    c, idx = spec
    return c + float(sum(p[i] for i in idx)) if idx else c


def _val_prod(spec: Spec, p: np.ndarray) -> float:
    c, idx = spec
    v = c
    for i in idx:
        v *= float(p[i])
    return v


def _area_partials(spec: Spec, p: np.ndarray) -> list[tuple[int, float]]:
    c, idx = spec
    out = []
    for k, i in enumerate(idx):
        v = c
        for m, j in enumerate(idx):
            if m != k:
                v *= float(p[j])
        out.append((i, v))
    return out


def line_params(line: Line, p: np.ndarray) -> tuple[float, float, float, list[float]]:
    """Local (area, center, fwhm, extras) of a line."""
    return (_val_prod(line.area, p), _val_sum(line.center, p), _val_sum(line.fwhm, p),
            [_val_sum(e, p) for e in line.extras])


def _num_diff(func: Any, x: np.ndarray, area: float, args: list[float], k: int) -> np.ndarray:
    """Central difference of ``area * func(x, 1, *args)`` with respect to ``args[k]``."""
    h = 1e-4 * max(abs(args[k]), 1e-2)
    up = list(args)
    dn = list(args)
    up[k] += h
    dn[k] -= h
    return area * (func(x, 1.0, *up) - func(x, 1.0, *dn)) / (2 * h)  # type: ignore[no-any-return]


def evaluate(cm: Compiled, p: np.ndarray, x: np.ndarray, *, jac: bool = False,
             per_line: bool = False) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """Peak sum (and Jacobian ``(n, nfree)``) on ``x``."""
    n = x.size
    total = np.zeros(n)
    J = np.zeros((n, cm.nfree)) if jac else None
    curves: list[np.ndarray] = []
    for line in cm.lines:
        area, center, fwhm, extras = line_params(line, p)
        fwhm = max(fwhm, 1e-6)
        func = SHAPES[line.shape][0]
        if line.shape == "voigt":
            if jac:
                val, unit, dc, dw, dg = voigt_grad(x, area, center, fwhm, extras[0])
                dext = [dg]
            else:
                val = func(x, area, center, fwhm, *extras)  # type: ignore[operator]
        elif line.shape in ("gaussian", "lorentzian"):
            if jac:
                g = gaussian_grad if line.shape == "gaussian" else lorentzian_grad
                val, unit, dc, dw = g(x, area, center, fwhm)
                dext = []
            else:
                val = func(x, area, center, fwhm)  # type: ignore[operator]
        else:
            unit = func(x, 1.0, center, fwhm, *extras)  # type: ignore[operator]
            val = area * unit
            if jac:
                args = [center, fwhm, *extras]
                dc = _num_diff(func, x, area, args, 0) if line.center[1] else 0.0
                dw = _num_diff(func, x, area, args, 1) if line.fwhm[1] else 0.0
                dext = [_num_diff(func, x, area, args, 2 + k) if e[1] else 0.0 for k, e in enumerate(line.extras)]
        total += val
        if per_line:
            curves.append(val)
        if jac:
            assert J is not None
            for i, partial in _area_partials(line.area, p):
                J[:, i] += unit * partial
            for i in line.center[1]:
                J[:, i] += dc
            for i in line.fwhm[1]:
                J[:, i] += dw
            for e, d in zip(line.extras, dext):
                for i in e[1]:
                    J[:, i] += d
    return total, J, curves


# ------------------------------------------------------------------ solving
@dataclass
class Solution:
    """Raw result of one fit (ascending energies)."""

    p: np.ndarray
    cov: np.ndarray | None
    peaks: np.ndarray
    background: np.ndarray
    success: bool
    message: str
    chisqr: float
    redchi: float
    nfev: int
    bg_params: dict[str, tuple[float, float]]


BACKGROUNDS = ("shirley", "active-shirley", "tougaard", "linear", "none")


def static_background(kind: str, x: np.ndarray, y: np.ndarray, average: int = 5) -> np.ndarray:
    """Background fixed before the fit (``x`` ascending)."""
    if kind == "shirley":
        return shirley(x, y, average=average)
    if kind == "linear":
        return linear(x, y, average=average)
    if kind == "tougaard":
        return tougaard(x, y, fit_B=True, average=average)
    if kind == "none":
        return np.zeros_like(y)
    raise FitError(f"background: expected one of {BACKGROUNDS}, got {kind!r}")


def initial_areas(cm: Compiled, p0: np.ndarray, x: np.ndarray, net: np.ndarray) -> np.ndarray:
    """Non-negative least-squares estimate of the main component areas at the starting shapes."""
    p = p0.copy()
    cols = []
    idxs = []
    for comp in cm.main:
        name = cm.area_param[comp]
        if name not in cm.names:
            continue
        i = cm.names.index(name)
        q = p.copy()
        for other in cm.main:
            oname = cm.area_param[other]
            if oname in cm.names:
                q[cm.names.index(oname)] = 1.0 if other == comp else 0.0
        cols.append(evaluate(cm, q, x)[0])
        idxs.append(i)
    if not cols:
        return p
    A = np.column_stack(cols)
    # the fixed-area components are part of the model already
    q = p.copy()
    for i in idxs:
        q[i] = 0.0
    rest = evaluate(cm, q, x)[0]
    coef, _ = nnls(A, net - rest)
    tot = max(float(np.trapezoid(np.clip(net, 0, None), x)), 1e-9)
    for i, c in zip(idxs, coef):
        p[i] = max(float(c), 0.02 * tot / max(len(idxs), 1))
    return p


def solve(cm: Compiled, x: np.ndarray, y: np.ndarray, *, background: str = "shirley", weights: np.ndarray | None,
          p0: np.ndarray | None = None, average: int = 5, max_nfev: int = 400,
          ftol: float = 1e-8) -> Solution:
    """Fit ``cm`` to ``y`` on ascending ``x``; never raises for a numerical failure (success=False)."""
    active = background == "active-shirley"
    bg_static = np.zeros_like(y) if active else static_background(background, x, y, average)
    net = y - bg_static
    lo_end = float(np.mean(y[:average]))
    hi_end = float(np.mean(y[-average:]))
    npk = cm.nfree
    p_init = np.asarray(cm.init, dtype=float) if p0 is None else np.asarray(p0[:npk], dtype=float)
    if p0 is None:
        guess_net = net if not active else y - shirley(x, y, average=average)
        p_init = initial_areas(cm, p_init, x, guess_net)
    lo = np.asarray(cm.lo, dtype=float)
    hi = np.asarray(cm.hi, dtype=float)
    w = np.ones_like(y) if weights is None else weights
    if active:
        pk0 = evaluate(cm, p_init, x)[0]
        s0 = float(cumulative_integral(x, pk0)[-1])
        k0 = (hi_end - lo_end) / s0 if s0 > 0 else 0.0
        if p0 is not None and p0.size == npk + 2:
            b0, k0 = float(p0[npk]), float(p0[npk + 1])
        else:
            b0 = lo_end
        p_init = np.concatenate([p_init, [b0, k0]])
        lo = np.concatenate([lo, [-np.inf, -np.inf]])
        hi = np.concatenate([hi, [np.inf, np.inf]])
    p_init = np.clip(p_init, lo, hi)

    cache: dict[str, Any] = {}

    def model_and_jac(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = p.tobytes()
        if cache.get("key") == key:
            return cache["m"], cache["J"]
        pk, J, _ = evaluate(cm, p, x, jac=True)
        assert J is not None
        if active:
            b0, k = p[npk], p[npk + 1]
            S = cumulative_integral(x, pk)
            SJ = cumulative_integral(x, J.T).T
            m = pk + b0 + k * S
            J = np.column_stack([J + k * SJ, np.ones_like(x), S])
        else:
            m = pk
        cache.update(key=key, m=m, J=J)
        return m, J

    def fun(p: np.ndarray) -> np.ndarray:
        m, _ = model_and_jac(p)
        return (m - net) * w  # type: ignore[no-any-return]

    def jacf(p: np.ndarray) -> np.ndarray:
        _, J = model_and_jac(p)
        return J * w[:, None]  # type: ignore[no-any-return]

    try:
        res = least_squares(fun, p_init, jac=jacf, bounds=(lo, hi), method="trf", x_scale="jac",
                            max_nfev=max_nfev, ftol=ftol, xtol=ftol, gtol=ftol)
    except (ValueError, np.linalg.LinAlgError, FloatingPointError) as exc:
        nan = np.full(p_init.size, np.nan)
        return Solution(nan, None, np.zeros_like(y), bg_static, False, f"solver failed: {exc}", np.nan, np.nan, 0, {})
    p = res.x
    m, J = model_and_jac(p)
    r = (m - net) * w
    chisqr = float(r @ r)
    dof = max(y.size - p.size, 1)
    redchi = chisqr / dof
    Jw = J * w[:, None]
    cov: np.ndarray | None
    try:
        _, s, vt = np.linalg.svd(Jw, full_matrices=False)
        thresh = np.finfo(float).eps * max(Jw.shape) * s[0]
        if np.any(s <= thresh):
            cov = None
        else:
            cov = (vt.T / s**2) @ vt * redchi
    except np.linalg.LinAlgError:
        cov = None
    pk = evaluate(cm, p, x)[0]
    if active:
        b0, k = float(p[npk]), float(p[npk + 1])
        bg = b0 + k * cumulative_integral(x, pk)
        e = np.sqrt(np.diag(cov)) if cov is not None else np.full(p.size, np.nan)
        bgp = {"bg.offset": (b0, float(e[npk])), "bg.k": (k, float(e[npk + 1]))}
    else:
        bg = bg_static
        bgp = {}
    ok = bool(res.success) and res.status > 0
    msg = str(res.message)
    if cov is None:
        msg += "; covariance singular (parameters not identifiable), stderr set to NaN"
    return Solution(p, cov, pk, bg, ok, msg, chisqr, redchi, int(res.nfev), bgp)
