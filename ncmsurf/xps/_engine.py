"""The compiled fit engine: components → parameter vector, vectorised model and Jacobian, solver.

Each elementary line (a singlet, or one line of a doublet or satellite) has
local parameters built from the global parameter vector ``p``:
``area = const * prod(p[idx])`` and ``center``, ``fwhm``, shape extras
``= const + sum(p[idx])``. This covers every tie (doublet splitting and
ratio, Coster–Kronig width, satellite offset and ratio), and makes the
Jacobian a cheap chain rule over per-line derivatives (analytic for the
Gaussian, Lorentzian and Voigt; per-line central differences otherwise).
The solver is :func:`scipy.optimize.least_squares` (dogbox with bounds,
trust-region reflective as fallback) on the engine's own cached model and
Jacobian; the covariance comes from the package's one routine,
:func:`ncmsurf.core.fitting.covariance_from_jacobian` (SVD, identifiability
mask, reduced-χ² scaling).

The helpers the single and the stack fits share (model resolution, Poisson
weights, signal-to-noise, component areas with their gradient) live here too,
so :mod:`ncmsurf.xps._fit` and :mod:`ncmsurf.xps._batch` both build on this
module and never on each other. It is longer than 500 lines for that reason:
the compiled model, its evaluation, its solve and the areas derived from it
change together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares, nnls

from ncmsurf.core.errors import FitError
from ncmsurf.core.fitting import covariance_from_jacobian
from ncmsurf.xps._backgrounds import cumulative_integral, linear, shirley, tougaard
from ncmsurf.xps._lineshapes import SHAPES, gaussian_grad, lorentzian_grad, voigt_grad
from ncmsurf.xps._peaks import Doublet, Peak, Satellite, normalize_region, preset_info, preset_model

__all__ = ["Compiled", "Solution", "compile_model", "component_areas", "poisson_weights", "resolve_model",
           "signal_to_noise", "solve"]

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
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ref(self, name: str, value: float, bounds: tuple[float, float] | None, vary: bool) -> tuple[str, Any]:
        """Register a parameter; return ("p", index) when free or ("c", value) when fixed.

        ``overrides[name]`` (keys ``value``, ``min``, ``max``, ``vary``) replaces the component's settings.
        """
        ov = self.overrides.get(name)
        if ov:
            if ov.get("value") is not None:
                value = float(ov["value"])
            if ov.get("min") is not None or ov.get("max") is not None:
                lo0, hi0 = bounds if bounds is not None else (-np.inf, np.inf)
                bounds = (float(ov["min"]) if ov.get("min") is not None else lo0,
                          float(ov["max"]) if ov.get("max") is not None else hi0)
            if ov.get("vary") is not None:
                vary = bool(ov["vary"])
                if vary and bounds is None:
                    bounds = (-np.inf, np.inf)
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


def compile_model(components: list[Peak], *, shift: float = 0.0, default_area: float = 1.0,
                  overrides: dict[str, dict[str, Any]] | None = None) -> Compiled:
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
    cm = Compiled(components=list(components), overrides=dict(overrides or {}))
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
        if comp.fwhm_of is not None and comp.fwhm_of not in refs:
            raise FitError(f"model: {n!r} shares the width of {comp.fwhm_of!r}, which is not a component listed "
                           f"before it (known: {sorted(refs)})")
        r: dict[str, Any] = {
            "center": cm.ref(f"{n}.center", comp.center + shift, cb, "center" not in comp.fix),
            "fwhm": refs[comp.fwhm_of]["fwhm"] if comp.fwhm_of is not None else
            cm.ref(f"{n}.fwhm", comp.fwhm, comp.fwhm_bounds, "fwhm" not in comp.fix),
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
    unknown = sorted(set(cm.overrides) - set(cm.names) - set(cm.fixed))
    if unknown:
        raise FitError(f"params: unknown parameter(s) {unknown}; the model has {cm.names + list(cm.fixed)}")
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


def _spec_matrix(specs: list[Spec], nfree: int) -> np.ndarray:
    m = np.zeros((len(specs), nfree))
    for k, (_, idx) in enumerate(specs):
        for i in idx:
            m[k, i] += 1.0
    return m


def _voigt_block(cm: Compiled) -> dict[str, Any]:
    """Constant index data for evaluating all Voigt lines in one vectorised call."""
    blk = cm.__dict__.get("_voigt_block")
    if blk is None:
        vidx = [k for k, ln in enumerate(cm.lines) if ln.shape == "voigt"]
        lines = [cm.lines[k] for k in vidx]
        blk = {
            "idx": vidx,
            "lines": lines,
            "C": _spec_matrix([ln.center for ln in lines], cm.nfree),
            "W": _spec_matrix([ln.fwhm for ln in lines], cm.nfree),
            "G": _spec_matrix([ln.extras[0] for ln in lines], cm.nfree),
        }
        cm.__dict__["_voigt_block"] = blk
    return blk


def evaluate(cm: Compiled, p: np.ndarray, x: np.ndarray, *, jac: bool = False,
             per_line: bool = False) -> tuple[np.ndarray, np.ndarray | None, list[np.ndarray]]:
    """Peak sum (and Jacobian ``(n, nfree)``) on ``x``.

    All Voigt lines are evaluated together in one Faddeeva call with analytic
    derivatives; other shapes line by line.
    """
    n = x.size
    total = np.zeros(n)
    J = np.zeros((n, cm.nfree)) if jac else None
    curves: list[np.ndarray | None] = [None] * len(cm.lines) if per_line else []
    blk = _voigt_block(cm)
    if blk["idx"]:
        pars = [line_params(ln, p) for ln in blk["lines"]]
        area = np.array([q[0] for q in pars])
        center = np.array([q[1] for q in pars])[:, None]
        fwhm = np.maximum(np.array([q[2] for q in pars]), 1e-6)[:, None]
        gam = np.array([q[3][0] for q in pars])[:, None]
        val, unit, dc, dw, dg = voigt_grad(x[None, :], area[:, None], center, fwhm, gam)
        total += val.sum(axis=0)
        if per_line:
            for k, v in zip(blk["idx"], val):
                curves[k] = v
        if jac:
            assert J is not None
            A = np.zeros((len(pars), cm.nfree))
            for k, ln in enumerate(blk["lines"]):
                for i, partial in _area_partials(ln.area, p):
                    A[k, i] += partial
            J += unit.T @ A + dc.T @ blk["C"] + dw.T @ blk["W"] + dg.T @ blk["G"]
    for k, line in enumerate(cm.lines):
        if line.shape == "voigt":
            continue
        area_f, center_f, fwhm_f, extras = line_params(line, p)
        fwhm_f = max(fwhm_f, 1e-6)
        func = SHAPES[line.shape][0]
        dext: list[Any] = []
        dc1: Any
        dw1: Any
        if line.shape in ("gaussian", "lorentzian"):
            g = gaussian_grad if line.shape == "gaussian" else lorentzian_grad
            v1, unit1, dc1, dw1 = g(x, area_f, center_f, fwhm_f)
        else:
            unit1 = func(x, 1.0, center_f, fwhm_f, *extras)  # type: ignore[operator]
            v1 = area_f * unit1
            dc1 = dw1 = 0.0
            if jac:
                args = [center_f, fwhm_f, *extras]
                dc1 = _num_diff(func, x, area_f, args, 0) if line.center[1] else 0.0
                dw1 = _num_diff(func, x, area_f, args, 1) if line.fwhm[1] else 0.0
                dext = [_num_diff(func, x, area_f, args, 2 + j) if e[1] else 0.0 for j, e in enumerate(line.extras)]
        total += v1
        if per_line:
            curves[k] = v1
        if jac:
            assert J is not None
            for i, partial in _area_partials(line.area, p):
                J[:, i] += unit1 * partial
            for i in line.center[1]:
                J[:, i] += dc1
            for i in line.fwhm[1]:
                J[:, i] += dw1
            for e, d in zip(line.extras, dext):
                for i in e[1]:
                    J[:, i] += d
    return total, J, [c for c in curves if c is not None]


def _names(cm: Compiled, active: bool) -> list[str]:
    return list(cm.names) + (["bg.offset", "bg.k"] if active else [])


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
    at_lower: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    at_upper: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    condition: float = float("nan")
    residual: np.ndarray = field(default_factory=lambda: np.zeros(0))
    dof: int = 0


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
          ftol: float = 1e-8, static_bg: np.ndarray | None = None) -> Solution:
    """Fit ``cm`` to ``y`` on ascending ``x``; never raises for a numerical failure (success=False).

    ``static_bg`` is the precomputed fixed background when the caller has it already.
    """
    active = background == "active-shirley"
    if active:
        bg_static = np.zeros_like(y)
    else:
        bg_static = static_background(background, x, y, average) if static_bg is None else static_bg
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
        # dogbox (rectangular trust region) needs fewer evaluations on these small bounded problems;
        # trust-region reflective is the fallback when it stops without converging
        res = least_squares(fun, p_init, jac=jacf, bounds=(lo, hi), method="dogbox", x_scale="jac",
                            max_nfev=max_nfev, ftol=ftol, xtol=ftol, gtol=ftol)
        if not (res.success and res.status > 0) and max_nfev > 1:
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
    # the package's one covariance routine: SVD of the column-scaled Jacobian, parameters in its null space
    # (e.g. the centre and width of a component whose area went to 0) get NaN, the others keep theirs
    # a column with a negligible norm (no effect on the model) is made exactly zero so the routine marks it
    # unidentifiable instead of scaling it up to a huge variance
    norms = np.linalg.norm(Jw, axis=0)
    noeffect = norms <= 1e-9 * max(float(norms.max(initial=0.0)), 1e-300)
    if noeffect.any():
        Jw = Jw.copy()
        Jw[:, noeffect] = 0.0
    cv = covariance_from_jacobian(Jw, residual=r, dof=dof, scale=True)
    cov = cv.matrix
    names_all = _names(cm, active)
    dropped = [names_all[i] for i in np.flatnonzero(noeffect)]
    undetermined = [names_all[i] for i in np.flatnonzero(~cv.identifiable & ~noeffect)]
    pk = evaluate(cm, p, x)[0]
    if active:
        b0, k = float(p[npk]), float(p[npk + 1])
        bg = b0 + k * cumulative_integral(x, pk)
        with np.errstate(invalid="ignore"):
            e = np.sqrt(np.diag(cov))
        bgp = {"bg.offset": (b0, float(e[npk])), "bg.k": (k, float(e[npk + 1]))}
    else:
        bg = bg_static
        bgp = {}
    ok = bool(res.success) and res.status > 0
    msg = str(res.message)
    if dropped:
        msg += f"; no effect on the model (stderr NaN): {', '.join(dropped)}"
    if undetermined:
        msg += f"; not determined by the data (stderr NaN): {', '.join(undetermined)}"
    span = hi - lo
    tol = np.where(np.isfinite(span), 1e-4 * span, 0.0)
    at_lo = np.isfinite(lo) & (p - lo <= tol)
    at_hi = np.isfinite(hi) & (hi - p <= tol)
    return Solution(p, cov, pk, bg, ok, msg, chisqr, redchi, int(res.nfev), bgp, at_lo, at_hi, cv.condition, r,
                    dof)


# ------------------------------------------------------------------ helpers shared by single and stack fits
def resolve_model(model: str | Sequence[Peak], spectrum_region: str | None = None,
                  be_range: tuple[float, float] | None = None, shift: float = 0.0,
                  excitation_energy: float | None = None) -> tuple[list[Peak], str | None]:
    """Turn a preset name or component list into components; check the preset fits the data.

    Raises
    ------
    FitError
        Unknown preset, preset for another region, or components outside the data range.
    """
    preset: str | None = None
    if isinstance(model, str):
        # Auger lines placed for the source; optional neighbour lines outside the data dropped
        info = preset_info(model, excitation_energy=excitation_energy, be_range=be_range)
        preset = normalize_region(model)
        comps = preset_model(model, excitation_energy=excitation_energy, be_range=be_range)
        if spectrum_region is not None and normalize_region(spectrum_region) != preset:
            raise FitError(f"preset {preset!r} does not match the spectrum region {spectrum_region!r}; "
                           f"use the {normalize_region(spectrum_region)!r} preset or pass components")
        if be_range is not None:
            lo, hi = info["window"]
            centres = [c.center + shift for c in comps if c.kind != "satellite"]
            if min(centres) < be_range[0] - 1.0 or max(centres) > be_range[1] + 1.0:
                raise FitError(f"preset {preset!r} expects binding energies {lo:g}-{hi:g} eV (components at "
                               f"{min(centres):.1f}-{max(centres):.1f} eV) but the data span "
                               f"{be_range[0]:.1f}-{be_range[1]:.1f} eV: wrong region?")
        return comps, preset
    if isinstance(model, Peak):
        model = [model]
    comps = list(model)
    if not comps or not all(isinstance(c, Peak) for c in comps):
        raise FitError("model: expected a preset name or a non-empty list of Peak/Doublet/Satellite")
    if be_range is not None:
        for c in comps:
            if c.kind != "satellite" and not (be_range[0] - 1.0 <= c.center + shift <= be_range[1] + 1.0):
                raise FitError(f"component {c.name!r} at {c.center + shift:.2f} eV lies outside the data "
                               f"({be_range[0]:.2f}-{be_range[1]:.2f} eV)")
    return comps, preset


def poisson_weights(y: np.ndarray, units: str) -> np.ndarray | None:
    """Weights ``1/sqrt(max(y, 1))`` for count data, else None (unweighted)."""
    if units == "counts" and np.all(y >= 0):
        return 1.0 / np.sqrt(np.maximum(y, 1.0))  # type: ignore[no-any-return]
    return None


def signal_to_noise(x: np.ndarray, y: np.ndarray, counts: bool, bg: np.ndarray | None = None) -> float:
    """Background-subtracted area over its noise (Poisson for counts, else from point-to-point scatter)."""
    net = y - (shirley(x, y, average=5) if bg is None else bg)
    if counts and np.all(y >= 0):
        noise = float(np.sqrt(np.sum(np.maximum(y, 1.0))))
    else:
        noise = float(np.std(np.diff(y)) / np.sqrt(2.0) * np.sqrt(y.size))
    if noise <= 0:
        return 0.0 if not np.any(net) else np.inf
    return float(np.sum(net) / noise)


def _window_integral(line: Line, p: np.ndarray, window: tuple[float, float]) -> float:
    """Integral over ``window`` of the unit-amplitude line at ``p`` (fine grid)."""
    _, c, w, ext = line_params(line, p)
    func = SHAPES[line.shape][0]
    xf = np.linspace(window[0], window[1], 4001)
    return float(np.trapezoid(func(xf, 1.0, c, max(w, 1e-6), *ext), xf))  # type: ignore[operator]


def component_areas(cm: Compiled, p: np.ndarray, comps: Sequence[str],
                    window: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integrated area of each component and its gradient ``(n_comp, nfree)`` over the free peak parameters.

    Every shape's amplitude is its integral over the real line, except the
    Doniach–Šunjić line, whose integral diverges: its area is the integral
    over the fitted ``window`` (binding-energy range), with the gradient
    through its centre, width and shape parameters by central differences.
    """
    areas = np.zeros(len(comps))
    G = np.zeros((len(comps), p.size))
    for line in cm.lines:
        k = comps.index(line.comp)
        a = _val_prod(line.area, p)
        parts = _area_partials(line.area, p)
        if line.shape == "ds" and window is not None:
            factor = _window_integral(line, p, window)
            for spec in (line.center, line.fwhm, *line.extras):
                for i in spec[1]:
                    h = 1e-4 * max(abs(float(p[i])), 1e-2)
                    up, dn = p.copy(), p.copy()
                    up[i] += h
                    dn[i] -= h
                    G[k, i] += a * (_window_integral(line, up, window) - _window_integral(line, dn, window)) / (2 * h)
            a *= factor
            parts = [(i, v * factor) for i, v in parts]
        areas[k] += a
        for i, v in parts:
            G[k, i] += v
    return areas, G
