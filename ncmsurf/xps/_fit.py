"""Peak fitting of XPS spectra: :func:`fit`, :class:`XPSFit`, :func:`charge_correct`.

The result classes are in :mod:`ncmsurf.xps._result`, the engine (and the
helpers the single and stack fits share) in :mod:`ncmsurf.xps._engine`,
:func:`charge_correct` in :mod:`ncmsurf.xps._charge`.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_spectrum
>>> spec = synthetic_spectrum("Ni 2p", fractions={"Ni2+": 0.6, "Ni3+": 0.4}, area=2e6, seed=1)
>>> res = fit(spec, "Ni 2p", background="active-shirley")
>>> res.success
True
>>> value, err = res.fraction("Ni2+")
>>> abs(value - 0.6) < 3 * err < 0.05
True
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, overload

import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError
from ncmsurf.core.fitting import propagate
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import Quality
from ncmsurf.core.units import magnitude
from ncmsurf.xps._batch import fit_stack
from ncmsurf.xps._charge import ChargeReferenceWarning, charge_correct
from ncmsurf.xps._engine import (
    BACKGROUNDS,
    Compiled,
    Solution,
    compile_model,
    component_areas,
    evaluate,
    line_params,
    poisson_weights,
    resolve_model,
    signal_to_noise,
    solve,
    static_background,
)
from ncmsurf.xps._peaks import Peak
from ncmsurf.xps._result import BACKGROUND_CITATIONS, XPSFit, XPSStackFit, _lmfit_name, param_unit
from ncmsurf.xps._verdict import assess

__all__ = ["ChargeReferenceWarning", "XPSFit", "XPSStackFit", "build_result", "charge_correct", "fit", "make_params",
           "poisson_weights", "resolve_model"]

_signal_to_noise = signal_to_noise  # the old private name (kept for callers inside the package)


def _area_jacobian(cm: Compiled, p: np.ndarray, comps: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Component areas and their gradient (the old private helper; see :func:`component_areas`)."""
    return component_areas(cm, p, comps)


# ------------------------------------------------------------------ building results
def build_result(spec: XPSSpectrum, x: np.ndarray, y: np.ndarray, order: np.ndarray, cm: Compiled,
                 sol: Solution, *, background: str, preset: str | None, energy_range: Any, charge_shift: float,
                 stderr_method: str = "covariance", cov_override: np.ndarray | None = None,
                 message_extra: str = "", weights: np.ndarray | None = None,
                 fail_code: str = "not_converged") -> XPSFit:
    """Assemble an :class:`XPSFit` from a raw solution (``x`` ascending, ``order`` maps back), with its verdict."""
    comps = cm.main + cm.satellites
    p = sol.p
    npk = cm.nfree
    nfree_all = p.size
    cov = cov_override if cov_override is not None else sol.cov
    cov_full = np.asarray(cov, float) if cov is not None else np.full((nfree_all, nfree_all), np.nan)
    finite = bool(np.all(np.isfinite(p)))
    curves = np.zeros((len(comps), x.size))
    if finite:
        _, _, per = evaluate(cm, p, x, per_line=True)
        for line, cval in zip(cm.lines, per, strict=True):
            curves[comps.index(line.comp)] += cval
    names = list(cm.names) + list(cm.fixed) + list(sol.bg_params)
    vals = np.concatenate([p[:npk], np.asarray(list(cm.fixed.values()), float), p[npk:]])
    free = [True] * npk + [False] * len(cm.fixed) + [True] * len(sol.bg_params)
    window = (float(x.min()), float(x.max()))
    if finite:
        areas, G = component_areas(cm, p[:npk], comps, window)
        Gfull = np.zeros((len(comps), nfree_all))
        Gfull[:, :npk] = G
        acov = propagate_areas(Gfull, cov_full)
    else:
        areas = np.full(len(comps), np.nan)
        acov = np.full((len(comps), len(comps)), np.nan)
    with np.errstate(invalid="ignore"):
        aerr = np.sqrt(np.where(np.diag(acov) >= 0, np.diag(acov), np.nan))
        pstd = np.sqrt(np.where(np.diag(cov_full) >= 0, np.diag(cov_full), np.nan))
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)

    def back(a: np.ndarray) -> np.ndarray:
        return a[..., inv]

    best = sol.peaks + sol.background
    success = bool(sol.success and finite)
    message = sol.message + message_extra
    lo = np.concatenate([np.asarray(cm.lo, float), np.full(nfree_all - npk, -np.inf)])
    hi = np.concatenate([np.asarray(cm.hi, float), np.full(nfree_all - npk, np.inf)])
    span = hi - lo
    tol = np.where(np.isfinite(span), 1e-4 * span, 0.0)
    at_lo = np.isfinite(lo) & (p - lo <= tol)
    at_hi = np.isfinite(hi) & (hi - p <= tol)
    w = np.ones_like(y) if weights is None else weights
    resid_w = (best - y) * w
    dof = max(y.size - nfree_all, 1)
    failed, suspect = assess(cm, p, pstd, at_lo, at_hi, areas, aerr, success=success, message=message,
                             chisqr=float(sol.chisqr), dof=dof, residual=resid_w,
                             counts=weights is not None, condition=float(sol.condition), fail_code=fail_code)
    quality = Quality.from_checks(suspect=suspect, failed=failed)
    if failed and success:
        success_msg = "; ".join(m for _, m in failed)
        message = f"{message}; {success_msg}" if message else success_msg
    data_vars: dict[str, Any] = {
        "intensity": ("energy", back(y)),
        "best_fit": ("energy", back(best)),
        "background": ("energy", back(sol.background)),
        "components": (("component", "energy"), back(curves)),
        "area_value": ("component", areas),
        "area_stderr": ("component", aerr),
        "area_cov": (("component", "component_b"), acov),
        "is_main": ("component", np.asarray([1] * len(cm.main) + [0] * len(cm.satellites), dtype=np.int8)),
    }
    if spec.transmission is not None:
        data_vars["transmission"] = ("energy", np.asarray(spec.transmission, dtype=float))
    model = preset or " + ".join(c.name for c in cm.components)
    source: dict[str, Any] = {"region": spec.region or ""}
    for key in ("path", "source", "file", "block"):
        if key in spec.meta and isinstance(spec.meta[key], (str, int, float)):
            source[key] = spec.meta[key]
    return XPSFit.build(
        names=names, values=vals, covariance=cov_full, stderr=None, free=free,
        units=[param_unit(n, spec.units) for n in names], success=success, message=message, quality=quality,
        citations=["levenberg-trf", *BACKGROUND_CITATIONS.get(background, [])], model=model,
        sample=spec.sample, source=source, data_vars=data_vars,
        coords={"binding_energy": ("energy", back(x)), "component": ("component", np.asarray(comps, dtype=str)),
                "component_b": ("component_b", np.asarray(comps, dtype=str))},
        attrs={
            "redchi": float(sol.redchi), "chisqr": float(sol.chisqr), "nfev": int(sol.nfev), "dof": int(dof),
            "background": background, "preset": preset or "", "region": spec.region or "",
            "excitation_energy": float(spec.excitation_energy), "charge_shift": float(charge_shift),
            "energy_range": [] if energy_range is None else [float(energy_range[0]), float(energy_range[1])],
            "stderr_method": stderr_method,
            "peak_model": json.dumps([c.to_dict() for c in cm.components]),
        },
    )


def propagate_areas(G: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """Covariance of the component areas, ``G C Gᵀ``, through :func:`ncmsurf.core.fitting.propagate`.

    Parameters that do not enter the areas (centres and widths of Gaussian
    and Voigt lines, the background) do not contribute even when their
    variance is unknown; an area that depends on an undetermined parameter
    gets NaN.
    """
    _, acov = propagate(lambda q: G @ q, np.zeros(G.shape[1]), np.asarray(cov, float), jac=lambda _q: G)
    return acov


def _failed(spec: XPSSpectrum, x: np.ndarray, y: np.ndarray, order: np.ndarray, cm: Compiled, reason: str, *,
            background: str, preset: str | None, energy_range: Any, charge_shift: float) -> XPSFit:
    try:
        bg = static_background("shirley" if background == "active-shirley" else background, x, y)
    except (FitError, ValueError, FloatingPointError):
        bg = np.zeros_like(y)
    nan = np.full(cm.nfree + (2 if background == "active-shirley" else 0), np.nan)
    sol = Solution(nan, None, np.zeros_like(y), bg, False, reason, np.nan, np.nan, 0,
                   {"bg.offset": (np.nan, np.nan), "bg.k": (np.nan, np.nan)} if background == "active-shirley"
                   else {})
    return build_result(spec, x, y, order, cm, sol, background=background, preset=preset,
                        energy_range=energy_range, charge_shift=charge_shift, fail_code="not_resolved")


# ------------------------------------------------------------------ public fit
def prepare(spectrum: XPSSpectrum, model: str | Sequence[Peak], *, background: str, energy_range: Any,
            charge_shift: Any, overrides: dict[str, dict[str, Any]] | None = None,
            ) -> tuple[XPSSpectrum, np.ndarray, np.ndarray, np.ndarray, Compiled, str | None, float]:
    """Validate inputs, crop, shift and compile (shared by the single and batch paths)."""
    if not isinstance(spectrum, XPSSpectrum):
        raise FitError(f"fit: expected an XPSSpectrum (or a stack as xarray.DataArray), got {type(spectrum).__name__}")
    if background not in BACKGROUNDS:
        raise FitError(f"background: expected one of {BACKGROUNDS}, got {background!r}")
    shift = magnitude(charge_shift, "eV", name="charge_shift")
    spec = spectrum.shifted(shift) if shift else spectrum
    if energy_range is not None:
        try:
            lo = magnitude(energy_range[0], "eV", name="energy_range")
            hi = magnitude(energy_range[1], "eV", name="energy_range")
        except (TypeError, IndexError) as exc:
            raise FitError(f"energy_range: expected (low, high) in eV, got {energy_range!r}") from exc
        spec = spec.cropped(lo, hi)
    be = spec.binding_energy
    comps, preset = resolve_model(model, spec.region, (float(be.min()), float(be.max())),
                                  excitation_energy=spec.excitation_energy)
    order = np.argsort(be, kind="stable")
    x = be[order]
    y = spec.intensity[order]
    cm = compile_model(comps, overrides=overrides)
    if x.size < cm.nfree + 3:
        raise FitError(f"fit: {x.size} points cannot determine {cm.nfree} free parameters")
    return spec, x, y, order, cm, preset, shift


def make_params(model: str | Sequence[Peak], *, background: str = "shirley") -> Any:
    """The model's parameters as :class:`lmfit.Parameters` (names with ``.``/``+`` replaced by ``_``).

    Change values, bounds, ``vary`` or add ``expr`` constraints and pass them
    back with ``fit(..., params=...)``; expressions need ``method="lmfit"``.

    Examples
    --------
    >>> ps = make_params("O 1s")
    >>> ps["lattice_center"].value, ps["lattice_center"].min
    (529.3, 528.0)
    """
    import lmfit

    comps, _ = resolve_model(model)
    cm = compile_model(comps)
    ps = lmfit.Parameters()
    for n, v, lo, hi in zip(cm.names, cm.init, cm.lo, cm.hi):
        ps.add(_lmfit_name(n), value=v, min=lo, max=hi, vary=True)
    for n, v in cm.fixed.items():
        ps.add(_lmfit_name(n), value=v, vary=False)
    if background == "active-shirley":
        ps.add("bg_offset", value=0.0)
        ps.add("bg_k", value=0.0)
    return ps


def _overrides(params: Any, comps: Sequence[Peak]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """Overrides keyed by ncmsurf parameter name, and lmfit expressions keyed by ncmsurf name."""
    if params is None:
        return {}, {}
    cm = compile_model(list(comps))
    names = list(cm.names) + list(cm.fixed)
    by_lm = {_lmfit_name(n): n for n in names}
    out: dict[str, dict[str, Any]] = {}
    exprs: dict[str, str] = {}
    items = params.items() if isinstance(params, Mapping) else []
    for key, par in items:
        name = key if key in names else by_lm.get(key)
        if name is None:
            if str(key).startswith("bg_"):
                continue
            raise FitError(f"params: {key!r} is not a parameter of the model ({sorted(by_lm)})")
        if isinstance(par, Mapping):
            out[name] = {k: par.get(k) for k in ("value", "min", "max", "vary")}
            if par.get("expr"):
                exprs[name] = str(par["expr"])
        else:  # lmfit.Parameter
            lo = None if par.min is None or not np.isfinite(par.min) else par.min
            hi = None if par.max is None or not np.isfinite(par.max) else par.max
            out[name] = {"value": par.value, "min": lo, "max": hi, "vary": bool(par.vary) or bool(par.expr)}
            if par.expr:
                exprs[name] = str(par.expr)
    return out, exprs


def _solve_lmfit(cm: Compiled, x: np.ndarray, y: np.ndarray, background: str, weights: np.ndarray | None,
                 exprs: dict[str, str]) -> Solution:
    """The flexible path: lmfit.minimize (least_squares) with lmfit expressions between parameters."""
    import lmfit

    p0 = solve(cm, x, y, background=background, weights=weights, max_nfev=1).p  # starting areas, background
    names = list(cm.names) + (["bg.offset", "bg.k"] if background == "active-shirley" else [])
    lo = list(cm.lo) + ([-np.inf, -np.inf] if background == "active-shirley" else [])
    hi = list(cm.hi) + ([np.inf, np.inf] if background == "active-shirley" else [])
    ps = lmfit.Parameters()
    for n, v, a, b in zip(names, p0, lo, hi):
        ps.add(_lmfit_name(n), value=float(v), min=a, max=b)
    for n, v in cm.fixed.items():
        ps.add(_lmfit_name(n), value=v, vary=False)
    for n, e in exprs.items():
        ps[_lmfit_name(n)].set(expr=e)
    keys = [_lmfit_name(n) for n in names]
    active = background == "active-shirley"
    bg_static = np.zeros_like(y) if active else static_background(background, x, y)
    net = y - bg_static
    w = np.ones_like(y) if weights is None else weights
    from ncmsurf.xps._backgrounds import cumulative_integral

    def model_of(vec: np.ndarray) -> np.ndarray:
        pk = evaluate(cm, vec[:cm.nfree], x)[0]
        if active:
            return pk + vec[cm.nfree] + vec[cm.nfree + 1] * cumulative_integral(x, pk)  # type: ignore[no-any-return]
        return pk

    def resid(pars: Any) -> np.ndarray:
        vec = np.array([pars[k].value for k in keys])
        return (model_of(vec) - net) * w  # type: ignore[no-any-return]

    res = lmfit.minimize(resid, ps, method="least_squares")
    vec = np.array([res.params[k].value for k in keys])
    r = resid(res.params)
    chisqr = float(r @ r)
    cov = None
    if res.covar is not None:
        var = list(res.var_names)
        # map the covariance of lmfit's varying parameters onto the compiled vector (expressions included)
        G = np.zeros((len(keys), len(var)))
        base = res.params.copy()
        for j, vn in enumerate(var):
            h = 1e-6 * max(abs(base[vn].value), 1e-3)
            up = base.copy()
            up[vn].set(value=base[vn].value + h)
            up.update_constraints()
            G[:, j] = (np.array([up[k].value for k in keys]) - vec) / h
        cov = G @ res.covar @ G.T
    pk = evaluate(cm, vec[:cm.nfree], x)[0]
    bgp: dict[str, tuple[float, float]] = {}
    if active:
        bg = vec[cm.nfree] + vec[cm.nfree + 1] * cumulative_integral(x, pk)
        err = np.sqrt(np.diag(cov)) if cov is not None else np.full(vec.size, np.nan)
        bgp = {"bg.offset": (float(vec[cm.nfree]), float(err[cm.nfree])),
               "bg.k": (float(vec[cm.nfree + 1]), float(err[cm.nfree + 1]))}
    else:
        bg = bg_static
    return Solution(vec, cov, pk, bg, bool(res.success), f"lmfit: {res.message}", chisqr, float(res.redchi),
                    int(res.nfev), bgp)


@overload
def fit(spectrum: XPSSpectrum, model: str | Sequence[Peak], *, background: str = ..., energy_range: Any = ...,
        charge_shift: Any = ..., monte_carlo: int = ..., seed: int = ..., min_snr: float = ..., params: Any = ...,
        method: str = ..., dask: bool | None = ..., client: Any = ..., binding_energy: Any = ...) -> XPSFit: ...


@overload
def fit(spectrum: xr.DataArray | np.ndarray, model: str | Sequence[Peak], *, background: str = ...,
        energy_range: Any = ..., charge_shift: Any = ..., monte_carlo: int = ..., seed: int = ...,
        min_snr: float = ..., params: Any = ..., method: str = ..., dask: bool | None = ..., client: Any = ...,
        binding_energy: Any = ...) -> XPSStackFit: ...


def fit(spectrum: Any, model: str | Sequence[Peak], *, background: str = "shirley", energy_range: Any = None,
        charge_shift: Any = 0.0, monte_carlo: int = 0, seed: int = 0, min_snr: float = 5.0,
        params: Any = None, method: str = "fast", dask: bool | None = None, client: Any = None,
        binding_energy: Any = None) -> XPSFit | XPSStackFit:
    """Fit a core-level spectrum (or a stack of spectra) with a preset or a list of components.

    Parameters
    ----------
    spectrum : XPSSpectrum or xarray.DataArray
        One spectrum, or a stack (a DataArray with a ``binding_energy``
        dimension and any others, e.g. ``sample`` or ``y``/``x``): see
        :func:`ncmsurf.xps.fit_stack`, which this delegates to.
    model : str or list of Peak
        A preset name (:func:`presets`) or components.
    background : {"shirley", "active-shirley", "tougaard", "linear", "none"}
        ``"active-shirley"`` refines the Shirley step inside the fit
        (``B = b0 + k * integral of the peaks``).
    energy_range : (float, float), optional
        Binding-energy window to fit.
    charge_shift : float or pint.Quantity
        Added to the binding energies before fitting, eV.
    monte_carlo : int
        If > 0, standard errors from this many Poisson resamplings of the
        best fit (refitted from the best-fit values) instead of the covariance.
    seed : int
        Seed of the Monte-Carlo resampling.
    min_snr : float
        Minimum signal-to-noise of the background-subtracted area; below it
        the fit is returned failed with the reason.
    params : lmfit.Parameters or dict, optional
        Starting values, bounds and ``vary`` flags replacing the model's
        (see :func:`make_params`; plain dicts ``{"Ni2+.fwhm": {"vary":
        False}}`` work too). lmfit ``expr`` constraints need ``method="lmfit"``.
    method : {"fast", "lmfit"}
        ``"fast"``: compiled vector, analytic Jacobian, scipy least_squares.
        ``"lmfit"``: the same residual through :func:`lmfit.minimize`
        (slower; supports expressions between parameters).
    dask, client, binding_energy :
        Stack fits only (see :func:`ncmsurf.xps.fit_stack`); ``binding_energy``
        gives the energies of a plain numpy stack such as ``(y, x, energy)``.

    Returns
    -------
    XPSFit or XPSStackFit
        An :class:`XPSFit` for one spectrum; for a stack (a DataArray or a
        numpy array with ``binding_energy``), always an :class:`XPSStackFit`.
        Both carry a verdict in ``.quality`` (checks and thresholds in
        :mod:`ncmsurf.xps._verdict`): ``at_bound``, ``degenerate``,
        ``unidentifiable``, ``poor_residual`` (Poisson-weighted χ² above its
        99.9 % quantile and reduced χ² > 1.5), ``systematic_residual`` (runs
        test, p < 1e-3), ``not_converged``; ``success`` stays the
        optimiser's word.

    Raises
    ------
    FitError
        Unknown preset, preset on the wrong region, components outside the
        data, too few points, unknown background.
    """
    if isinstance(spectrum, (xr.DataArray, np.ndarray)) and not isinstance(spectrum, XPSSpectrum):
        return fit_stack(spectrum, model, background=background, energy_range=energy_range,
                         charge_shift=charge_shift, dask=dask, client=client, binding_energy=binding_energy,
                         min_snr=min_snr)
    if method not in ("fast", "lmfit"):
        raise FitError(f"method: expected 'fast' or 'lmfit', got {method!r}")
    exprs: dict[str, str] = {}
    overrides: dict[str, dict[str, Any]] = {}
    if params is not None:
        comps0, _ = resolve_model(model)
        overrides, exprs = _overrides(params, comps0)
        if exprs and method != "lmfit":
            raise FitError(f"params: expressions {sorted(exprs)} need method='lmfit'")
    spec, x, y, order, cm, preset, shift = prepare(spectrum, model, background=background,
                                                   energy_range=energy_range, charge_shift=charge_shift,
                                                   overrides=overrides)
    kw: dict[str, Any] = {"background": background, "preset": preset, "energy_range": energy_range,
                          "charge_shift": shift}
    snr = signal_to_noise(x, y, spec.units == "counts")
    if not snr >= min_snr:
        return _failed(spec, x, y, order, cm, f"no significant signal above the background "
                       f"(signal-to-noise {snr:.2g} < {min_snr:g})", **kw)
    w = poisson_weights(y, spec.units)
    if method == "lmfit":
        sol = _solve_lmfit(cm, x, y, background, w, exprs)
        return build_result(spec, x, y, order, cm, sol, stderr_method="lmfit-covariance", weights=w, **kw)
    sol = solve(cm, x, y, background=background, weights=w)
    if monte_carlo and sol.success:
        cov = _monte_carlo(cm, x, sol, background, int(monte_carlo), seed, spec.units)
        return build_result(spec, x, y, order, cm, sol, stderr_method=f"poisson-monte-carlo({int(monte_carlo)})",
                            cov_override=cov, weights=w, **kw)
    return build_result(spec, x, y, order, cm, sol, weights=w, **kw)


def _monte_carlo(cm: Compiled, x: np.ndarray, sol: Solution, background: str, n: int, seed: int,
                 units: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    lam = np.clip(sol.peaks + sol.background, 0, None)
    draws = []
    for _ in range(n):
        yy = rng.poisson(lam).astype(float)
        s = solve(cm, x, yy, background=background, weights=poisson_weights(yy, units), p0=sol.p)
        if s.success:
            draws.append(s.p)
    if len(draws) < 3:
        raise FitError(f"monte_carlo: only {len(draws)} of {n} resampled fits converged")
    return np.cov(np.asarray(draws), rowvar=False)  # type: ignore[no-any-return]


def line_table(res: XPSFit) -> list[dict[str, float | str]]:
    """Per-line positions, widths and areas of a fit (doublet partners and satellites expanded)."""
    cm = compile_model(res.model_components)
    p = np.array([res.params[n][0] for n in cm.names]) if cm.names else np.zeros(0)
    out: list[dict[str, float | str]] = []
    for line in cm.lines:
        a, c, w, _ = line_params(line, p)
        out.append({"line": line.label, "component": line.comp, "area": a, "center": c, "fwhm": w})
    return out
