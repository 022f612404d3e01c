"""Batch fitting of stacks of spectra (samples, pixels of a map), serially or through dask.

Every spectrum is fitted independently from the same deterministic start
(the fit of the stack's mean spectrum, with per-spectrum non-negative
least-squares areas), so the numbers do not depend on the order, the
chunking or the scheduler: the dask path gives exactly the serial numbers.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_stack
>>> stack = synthetic_stack("Ni 2p", 3, seed=0)
>>> out = fit_stack(stack, "Ni 2p", background="active-shirley")
>>> out["fraction"].sel(main="Ni2+").values.round(1).tolist()
[0.3, 0.6, 0.8]
>>> out["quality"].values.tolist(), out.quality.level
(['good', 'good', 'good'], 'good')
"""

from __future__ import annotations

import functools
import os
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import Quality
from ncmsurf.core.units import magnitude
from ncmsurf.xps._engine import (
    Compiled,
    compile_model,
    component_areas,
    initial_areas,
    poisson_weights,
    resolve_model,
    signal_to_noise,
    solve,
    static_background,
)
from ncmsurf.xps._result import BACKGROUND_CITATIONS, XPSStackFit, param_unit
from ncmsurf.xps._verdict import REASON_BITS, assess, to_bits

__all__ = ["fit_stack"]

_ENERGY_DIMS = ("binding_energy", "energy")


def _layout(cm: Compiled, background: str) -> tuple[list[str], list[str], list[str]]:
    params = list(cm.names) + (["bg.offset", "bg.k"] if background == "active-shirley" else [])
    comps = cm.main + cm.satellites
    return params, comps, list(cm.main)


_EXTRA = 6  # total area, its stderr, success, redchi, quality level, reason mask


def _fit_rows(Y: np.ndarray, *, cm: Compiled, x: np.ndarray, background: str, p_start: np.ndarray, units: str,
              min_snr: float) -> np.ndarray:
    """Fit every row of ``Y`` (``(..., n)``, ascending energies); return ``(..., nout)``."""
    params, comps, mains = _layout(cm, background)
    npar, nc, nm = len(params), len(comps), len(mains)
    nout = 2 * npar + 2 * nc + 2 * nm + _EXTRA
    flat = Y.reshape(-1, Y.shape[-1])
    out = np.full((flat.shape[0], nout), np.nan)
    npk = cm.nfree
    window = (float(x.min()), float(x.max()))
    nan_mask = 1 << REASON_BITS.index("not_converged")
    for r, y in enumerate(flat):
        row = out[r]
        row[-4] = 0.0
        row[-2], row[-1] = 2.0, float(nan_mask)
        if not np.all(np.isfinite(y)):
            row[-1] = float(1 << REASON_BITS.index("input"))
            continue
        sh = static_background("shirley", x, y)
        if not signal_to_noise(x, y, units == "counts", sh) >= min_snr:
            row[-1] = float(1 << REASON_BITS.index("not_resolved"))
            continue
        bg = sh if background in ("shirley", "active-shirley") else static_background(background, x, y)
        p0 = initial_areas(cm, p_start, x, y - bg)
        w = poisson_weights(y, units)
        sol = solve(cm, x, y, background=background, weights=w, p0=p0, static_bg=bg)
        if not np.all(np.isfinite(sol.p)):
            continue
        p = sol.p
        cov = sol.cov if sol.cov is not None else np.full((p.size, p.size), np.nan)
        with np.errstate(invalid="ignore"):
            pstd = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
        row[:npar] = p
        row[npar:2 * npar] = pstd
        areas, G = component_areas(cm, p[:npk], comps, window)
        Gf = np.zeros((nc, p.size))
        Gf[:, :npk] = G
        used = np.any(Gf != 0, axis=0)
        Cu = np.where(used[:, None] & used[None, :], cov, 0.0)
        acov = Gf @ Cu @ Gf.T  # the full area covariance (as core.fitting.propagate, inlined for speed)
        if not np.all(np.isfinite(cov[np.ix_(used, used)])):
            acov = Gf @ np.where(np.isfinite(Cu), Cu, np.nan) @ Gf.T
        with np.errstate(invalid="ignore"):
            aerr = np.sqrt(np.where(np.diag(acov) >= 0, np.diag(acov), np.nan))
        o = 2 * npar
        row[o:o + nc] = areas
        row[o + nc:o + 2 * nc] = aerr
        o += 2 * nc
        am = areas[:nm]
        s = am.sum()
        if s > 0:
            row[o:o + nm] = am / s
            # d(a_k / s)/d a_j = (delta_kj - a_k / s) / s over the main areas' covariance
            Gfr = (np.eye(nm) - (am / s)[:, None]) / s
            row[o + nm:o + 2 * nm] = np.sqrt(np.clip(np.diag(Gfr @ acov[:nm, :nm] @ Gfr.T), 0, None))
        o += 2 * nm
        row[o] = float(areas.sum())
        tv = float(acov.sum())
        row[o + 1] = np.sqrt(tv) if tv >= 0 else np.nan
        row[o + 2] = 1.0 if sol.success else 0.0
        row[o + 3] = sol.redchi
        failed, suspect = assess(cm, p, pstd, sol.at_lower, sol.at_upper, areas, aerr, success=sol.success,
                                 message=sol.message, chisqr=sol.chisqr, dof=sol.dof, residual=sol.residual,
                                 counts=w is not None, condition=sol.condition, detail=False)
        level, mask = to_bits(failed, suspect)
        row[o + 4], row[o + 5] = float(level), float(mask)
    return out.reshape(*Y.shape[:-1], nout)


def _as_slice(idx: np.ndarray) -> slice | np.ndarray:
    """``idx`` as an equivalent slice when it is an evenly stepped run (ascending or descending).

    Examples
    --------
    >>> _as_slice(np.array([4, 3, 2])), _as_slice(np.array([0, 2, 3]))
    (slice(4, 1, -1), array([0, 2, 3]))
    """
    if idx.size >= 2:
        step = int(idx[1] - idx[0])
        if step != 0 and np.all(np.diff(idx) == step):
            stop = int(idx[-1]) + step
            return slice(int(idx[0]), None if stop < 0 else stop, step)
    return idx


def _mean_spectrum(da: xr.DataArray, other: list[Any]) -> np.ndarray:
    """NaN-skipping mean over every spectrum, in blocks (no full-size temporary for numpy stacks)."""
    if not other:
        return np.asarray(da.values, dtype=float)
    if da.chunks is not None:
        return np.asarray(da.mean(dim=other).values, dtype=float)
    flat = np.asarray(da.values).reshape(-1, da.shape[-1])
    total = np.zeros(flat.shape[1])
    count = np.zeros(flat.shape[1])
    for start in range(0, flat.shape[0], 256):
        block = np.asarray(flat[start:start + 256], dtype=float)
        ok = np.isfinite(block)
        total += np.where(ok, block, 0.0).sum(axis=0)
        count += ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return total / count  # type: ignore[no-any-return]


def fit_stack(stack: Any, model: Any, *, background: str = "shirley", energy_range: Any = None,
              charge_shift: Any = 0.0, dask: bool | None = None, client: Any = None, units: str | None = None,
              min_snr: float = 5.0, binding_energy: Any = None, region: str | None = None) -> XPSStackFit:
    """Fit every spectrum of a stack in one call.

    Parameters
    ----------
    stack : xarray.DataArray
        Intensities with an energy dimension named ``binding_energy`` (or
        ``energy`` with a ``binding_energy`` coordinate) and any other
        dimensions (``sample``, ``pixel``, ``y``/``x``...). ``attrs["region"]``
        and ``attrs["units"]`` (default ``"counts"``) are used when present.
    model, background, energy_range, charge_shift :
        As in :func:`ncmsurf.xps.fit`.
    dask : bool, optional
        Run through dask (``xarray.apply_ufunc(..., dask="parallelized")``).
        Default: when the stack is dask-backed or a ``client`` is given.
    client : dask.distributed.Client, optional
        Compute on this cluster.
    units : str, optional
        Override ``attrs["units"]``.
    min_snr : float
        Spectra with a lower signal-to-noise are marked failed (NaN values).
    binding_energy : array_like, optional
        Energies of the last axis when ``stack`` is a plain numpy array
        (``(n,)``, ``(spectrum, n)`` or ``(y, x, n)``).
    region : str, optional
        Region of a numpy stack (checked against a preset).

    Returns
    -------
    XPSStackFit
        An :class:`ncmsurf.FitResult`; ``result["name"]`` gives, over the
        stack's other dimensions: ``params``/``params_stderr`` (``param``),
        ``areas``/``areas_stderr`` (``component``), ``fraction``/
        ``fraction_stderr`` (``main``: share of each main component in the
        main-component area), ``total_area``/``total_area_stderr`` (full area
        covariance), ``success``, ``redchi``, ``quality`` and ``reasons``
        (bit mask, codes in ``attrs["bits"]``). ``to_xarray()`` gives them as
        one :class:`xarray.Dataset`.
    """
    if isinstance(stack, XPSSpectrum):
        raise FitError("fit_stack: got a single XPSSpectrum; use ncmsurf.xps.fit")
    if isinstance(stack, np.ndarray) and binding_energy is not None:
        arr = np.asarray(stack, dtype=float)
        lead = {1: (), 2: ("spectrum",), 3: ("y", "x")}.get(arr.ndim, tuple(f"dim_{i}" for i in range(arr.ndim - 1)))
        be_arr = np.asarray(binding_energy, dtype=float)
        if be_arr.ndim != 1 or be_arr.size != arr.shape[-1]:
            raise FitError(f"binding_energy: expected {arr.shape[-1]} energies (last axis), got shape {be_arr.shape}")
        stack = xr.DataArray(arr, dims=(*lead, "binding_energy"), coords={"binding_energy": be_arr},
                             attrs={} if region is None else {"region": region})
    if not isinstance(stack, xr.DataArray):
        raise FitError("fit_stack: a stack must be an xarray.DataArray with a 'binding_energy' dimension, "
                       "or a numpy array with binding_energy= given (a bare array carries no energies)")
    edim = next((d for d in _ENERGY_DIMS if d in stack.dims), None)
    if edim is None:
        raise FitError(f"fit_stack: no energy dimension ({' or '.join(_ENERGY_DIMS)}) in {stack.dims}")
    if "binding_energy" not in stack.coords:
        raise FitError("fit_stack: the stack needs a 'binding_energy' coordinate")
    be = np.asarray(stack["binding_energy"].values, dtype=float)
    if be.ndim != 1 or be.size < 3 or not np.all(np.isfinite(be)):
        raise FitError("fit_stack: binding_energy must be a finite 1-D coordinate with >= 3 points")
    d = np.diff(be)
    if not (np.all(d > 0) or np.all(d < 0)):
        bad = int(np.flatnonzero(np.sign(d) != np.sign(d[0]))[0]) + 1 if np.all(d != 0) else \
            int(np.flatnonzero(d == 0)[0]) + 1
        raise FitError(f"fit_stack: binding energies are not strictly monotonic (index {bad})")
    be = be + magnitude(charge_shift, "eV", name="charge_shift")
    da = stack.transpose(..., edim)
    order = np.argsort(be, kind="stable")
    x = be[order]
    keep = np.ones(x.size, dtype=bool)
    if energy_range is not None:
        lo, hi = sorted((magnitude(energy_range[0], "eV"), magnitude(energy_range[1], "eV")))
        keep = (x >= lo) & (x <= hi)
        if keep.sum() < 3:
            raise FitError(f"energy_range: fewer than 3 points between {lo} and {hi} eV")
    idx = order[keep]
    x = x[keep]
    region = stack.attrs.get("region", region)
    comps, preset = resolve_model(model, region, (float(x.min()), float(x.max())))
    cm = compile_model(comps)
    u = units or str(stack.attrs.get("units", "counts"))
    da = da.isel({edim: _as_slice(idx)})  # a slice keeps a view of the caller's array (no copy of the stack)
    other = [dm for dm in da.dims if dm != edim]
    # deterministic start: fit of the mean spectrum
    mean = _mean_spectrum(da, other)
    p_start = np.asarray(cm.init, dtype=float)
    net = mean - static_background("shirley" if background == "active-shirley" else background, x, mean)
    msol = solve(cm, x, mean, background=background, weights=poisson_weights(mean, u),
                 p0=initial_areas(cm, p_start, x, net))
    if np.all(np.isfinite(msol.p)):
        p_start = msol.p[:cm.nfree]
    func = functools.partial(_fit_rows, cm=cm, x=x, background=background, p_start=p_start, units=u,
                             min_snr=min_snr)
    params, comp_names, mains = _layout(cm, background)
    nout = 2 * len(params) + 2 * len(comp_names) + 2 * len(mains) + _EXTRA
    use_dask = dask if dask is not None else (client is not None or da.chunks is not None)
    data = da.drop_vars([c for c in da.coords if edim in da[c].dims]).rename({edim: "_energy"})
    if use_dask:
        if data.chunks is None:
            n = int(np.prod([data.sizes[dm] for dm in other])) if other else 1
            nchunks = max(1, min(n, 4 * (os.cpu_count() or 1)))
            data = data.chunk({other[0]: max(1, -(-data.sizes[other[0]] // nchunks))} if other else {})
        data = data.chunk({"_energy": -1})
        res = xr.apply_ufunc(func, data, input_core_dims=[["_energy"]], output_core_dims=[["_out"]],
                             dask="parallelized", output_dtypes=[float],
                             dask_gufunc_kwargs={"output_sizes": {"_out": nout}})
        if client is not None:
            res = client.compute(res).result()
        else:
            res = res.compute()
    else:
        res = xr.apply_ufunc(func, data, input_core_dims=[["_energy"]], output_core_dims=[["_out"]])
    vals = np.asarray(res.values)
    o = 0
    out: dict[str, Any] = {}

    def take(n: int) -> np.ndarray:
        nonlocal o
        part = vals[..., o:o + n]
        o += n
        return part

    dims = tuple(res.dims[:-1])
    out["params"] = (dims + ("param",), take(len(params)))
    out["params_stderr"] = (dims + ("param",), take(len(params)))
    out["areas"] = (dims + ("component",), take(len(comp_names)))
    out["areas_stderr"] = (dims + ("component",), take(len(comp_names)))
    out["fraction"] = (dims + ("main",), take(len(mains)))
    out["fraction_stderr"] = (dims + ("main",), take(len(mains)))
    out["total_area"] = (dims, take(1)[..., 0])
    out["total_area_stderr"] = (dims, take(1)[..., 0])
    out["success"] = (dims, take(1)[..., 0] > 0.5)
    out["redchi"] = (dims, take(1)[..., 0])
    level = take(1)[..., 0].astype(np.int64)
    mask = take(1)[..., 0].astype(np.int64)
    out["quality"] = (dims, np.asarray(["good", "suspect", "failed"], dtype=object)[level].astype(str))
    out["reasons"] = (dims, mask, {"bits": list(REASON_BITS)})
    coords = {k: v for k, v in res.coords.items() if set(v.dims) <= set(dims)}
    quality = _stack_quality(level.ravel(), mask.ravel())
    mp = msol.p if np.all(np.isfinite(msol.p)) else np.full(len(params), np.nan)
    mcov = msol.cov if msol.cov is not None else np.full((len(params), len(params)), np.nan)
    n_ok = int(np.count_nonzero(level.ravel() < 2))
    return XPSStackFit.build(
        names=params, values=mp, covariance=mcov, units=[param_unit(n, u) for n in params],
        success=n_ok > 0, message=f"{n_ok} of {level.size} spectra fitted" + ("" if n_ok else
                                                                          ": no spectrum could be fitted"),
        quality=quality, citations=["levenberg-trf", *BACKGROUND_CITATIONS.get(background, [])],
        model=preset or " + ".join(c.name for c in cm.components), data_vars=out,
        coords={**coords, "component": np.asarray(comp_names, dtype=str), "main": np.asarray(mains, dtype=str)},
        attrs={"background": background, "preset": preset or "", "region": region or "",
               "charge_shift": float(magnitude(charge_shift, "eV")), "units": u})


def _stack_quality(level: np.ndarray, mask: np.ndarray) -> Quality:
    """The verdict on a stack: failed if every spectrum failed, suspect if any is not good."""
    n = level.size
    if n == 0:
        return Quality("failed", [("input", "the stack holds no spectrum")])
    bad = level > 0
    if not bad.any():
        return Quality.good()
    reasons: list[tuple[str, str]] = []
    for bit, code in enumerate(REASON_BITS):
        k = int(np.count_nonzero(mask >> bit & 1))
        if k:
            reasons.append((code, f"{k} of {n} spectra: {code.replace('_', ' ')}"))
    if not reasons:
        reasons.append(("not_converged", f"{int(bad.sum())} of {n} spectra are not good"))
    return Quality("failed" if np.all(level == 2) else "suspect", reasons)
