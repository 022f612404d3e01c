"""Batch fitting of many spectra (samples × cycles) with warm starts and optional dask.

Spectra are grouped into *chains* (the cycles of one cell for a stacked
DataArray, consecutive blocks of ``chain`` spectra for a list); inside a chain
each fit starts from its neighbour's result, falling back to the automatic
guess (with multi-start) when the warm start gives a worse fit. Chains are
independent, so the parallel path (dask, one task per block of chains) does
exactly the serial arithmetic and gives identical numbers.

Examples
--------
>>> from ncmsurf.datasets.eis import synthetic_spectrum
>>> specs = [synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": r, "C1": 1e-3}, noise=0.0) for r in (5.0, 6.0)]
>>> ds = fit_many(specs, "R0-p(R1,C1)")
>>> [round(v, 6) for v in ds["R1"].values.tolist()]
[5.0, 6.0]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError, NcmsurfError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import Quality
from ncmsurf.eis._circuits import compile_circuit, element_type, resolve_circuit
from ncmsurf.eis._fit import POOR_FIT, effective_capacitances, fit_arrays

__all__ = ["fit_many"]

_STATS = ("chi2", "aic", "bic", "relative_residual", "success", "nfev", "quality", "reasons")
_LEVELS = ("good", "suspect", "failed")
#: Reasons that make a warm start lose to a fresh fit (the chain carried a collapsed element along).
_DEMOTE = ("degenerate", "at_bound", "unidentifiable")


#: The reason codes an impedance verdict can carry, in a fixed order: the bit positions of the encoded verdict
#: (fixed so a dask worker, whose registry of codes may hold other engines' codes, encodes as the client decodes).
_CODES = ("not_converged", "at_bound", "degenerate", "unidentifiable", "poor_residual", "systematic_residual",
          "kk_invalid", "model_selection", "partial_data", "extrapolated", "input", "not_resolved")


def _codes() -> list[str]:
    return list(_CODES)


def _encode(q: Quality) -> tuple[float, float]:
    """Verdict as numbers (level index, bit mask of the reason codes) so dask carries it as floats."""
    codes = _codes()
    mask = sum(1 << codes.index(c) for c in q.codes if c in codes)
    return float(_LEVELS.index(q.level)), float(mask)


def _decode_codes(mask: float) -> str:
    if not np.isfinite(mask):
        return ""
    m = int(mask)
    return ",".join(c for i, c in enumerate(_codes()) if m >> i & 1)


def _demoted(q: Quality) -> int:
    return sum(q.has(c) for c in _DEMOTE)


def _n_out(names: tuple[str, ...], cpes: tuple[str, ...]) -> int:
    """Output columns: values and stderr of the parameters and of the CPE effective capacitances, statistics."""
    return 2 * len(names) + 2 * len(cpes) + len(_STATS)


def _fit_chain(f: np.ndarray, z: np.ndarray, circuit: str, names: tuple[str, ...], cpes: tuple[str, ...],
               kw: Mapping[str, Any], warm: bool) -> np.ndarray:
    """Fit one chain: f, z of shape (member, freq) (NaN-padded) → (member, n_out).

    A fit whose verdict is failed (did not converge, or explains less than half of the data, e.g. a noise
    spectrum) gives NaN numbers and is not used as a warm start: on such data the optimiser's path is
    chaotic (a last-digit difference in the input or the memory layout leads to another local minimum), so
    its numbers would differ between runs, and the chain would carry them on.
    """
    n_out = _n_out(names, cpes)
    out = np.full((f.shape[0], n_out), np.nan)
    prev: dict[str, float] | None = None
    prev_rr = math.inf
    user_guess = kw.get("initial_guess") is not None
    for i in range(f.shape[0]):
        ok = np.isfinite(f[i]) & np.isfinite(z[i])
        if ok.sum() == 0:
            continue
        try:
            spec = ImpedanceSpectrum(f[i][ok], z[i][ok])
            fit = None
            if warm and prev is not None and not user_guess:
                opts = dict(kw)
                opts["initial_guess"] = prev
                cand = fit_arrays(spec, circuit, **opts)
                if cand.success and (cand.rr <= POOR_FIT or cand.rr <= 1.5 * prev_rr):
                    fit = cand
                    if _demoted(cand.quality):  # a collapsed element carried along the chain: try afresh
                        fresh = fit_arrays(spec, circuit, **kw)
                        if fresh.success and (_demoted(fresh.quality), fresh.chi2) < (_demoted(cand.quality),
                                                                                      cand.chi2):
                            fit = fresh
            if fit is None:
                fit = fit_arrays(spec, circuit, **kw)
        except NcmsurfError:
            out[i, -4] = 0.0
            out[i, -2:] = (2.0, float(1 << _codes().index("not_converged")))
            continue
        vals = [fit.values[n] for n in names] + [fit.stderr[n] for n in names]
        if cpes:
            allv = np.array([fit.values[n] for n in fit.c.all_names])
            full = np.zeros((allv.size, allv.size))
            idx = [fit.c.all_names.index(n) for n in fit.c.param_names]
            full[np.ix_(idx, idx)] = fit.cov
            ceff = effective_capacitances(circuit, fit.c.all_names, allv, full)
            vals += [ceff[c][0] for c in cpes] + [ceff[c][1] for c in cpes]
        rr = fit.rr
        if fit.quality.level == "failed":
            out[i, -4] = float(fit.success)
            out[i, -2:] = _encode(fit.quality)
            continue
        out[i] = vals + [fit.chi2, fit.aic, fit.bic, rr, float(fit.success), float(fit.nfev), *_encode(fit.quality)]
        if fit.success:
            prev = {n: fit.values[n] for n in fit.c.param_names}
            prev_rr = rr
    return out


def _fit_complex(f: np.ndarray, z: np.ndarray, *, circuit: str, names: tuple[str, ...], cpes: tuple[str, ...],
                 kw: Mapping[str, Any], warm: bool) -> np.ndarray:
    """(..., member, freq) frequencies and complex impedances → (..., member, out)."""
    lead = f.shape[:-2]
    ff = f.reshape(-1, *f.shape[-2:])
    zz = z.reshape(-1, *z.shape[-2:])
    res = np.stack([_fit_chain(ff[k], zz[k], circuit, names, cpes, kw, warm) for k in range(ff.shape[0])]) \
        if ff.shape[0] else np.zeros((0, f.shape[-2], _n_out(names, cpes)))
    return res.reshape(*lead, f.shape[-2], -1)


def _fit_blocks(f: np.ndarray, zr: np.ndarray, zi: np.ndarray, *, circuit: str, names: tuple[str, ...],
                cpes: tuple[str, ...], kw: Mapping[str, Any], warm: bool) -> np.ndarray:
    """apply_ufunc kernel (dask carries real and imaginary parts): (..., member, freq) → (..., member, out)."""
    return _fit_complex(f, zr + 1j * zi, circuit=circuit, names=names, cpes=cpes, kw=kw, warm=warm)


def _stack_list(spectra: Sequence[ImpedanceSpectrum], chain: int) -> tuple[np.ndarray, np.ndarray, int]:
    n = len(spectra)
    nf = max(s.frequency.size for s in spectra)
    n_chains = math.ceil(n / chain)
    f = np.full((n_chains * chain, nf), np.nan)
    z = np.full((n_chains * chain, nf), np.nan + 0j)
    for i, s in enumerate(spectra):
        f[i, :s.frequency.size] = s.frequency
        z[i, :s.frequency.size] = s.impedance
    return f.reshape(n_chains, chain, nf), z.reshape(n_chains, chain, nf), n


def fit_many(
    spectra: Sequence[ImpedanceSpectrum] | xr.DataArray,
    circuit: Any = "R0-p(R1,CPE1)-p(R2-W1,CPE2)",
    *,
    parallel: bool = False,
    client: Any = None,
    warm_start: bool = True,
    chain: int = 25,
    chunks: int | None = None,
    **kw: Any,
) -> xr.Dataset:
    """Fit one circuit to many spectra; parameters and standard errors as a Dataset.

    Parameters
    ----------
    spectra : sequence of ImpedanceSpectrum, or xarray.DataArray
        A list (result over dimension ``spectrum``), or a complex DataArray
        with a ``frequency`` dimension (coordinate in Hz) and any others, e.g.
        (cell, cycle, frequency): the result is over the other dimensions and
        each fit along the last of them warm-starts from the previous one.
    circuit : str or CustomCircuit
        As for :func:`ncmsurf.eis.fit`.
    parallel : bool
        Run through dask (``xarray.apply_ufunc(..., dask="parallelized")``).
    client : dask.distributed.Client, optional
        Use this client; with ``parallel=True`` and no client a LocalCluster
        (one process per core) is started and closed afterwards.
    warm_start : bool
        Start each fit from its neighbour's result (not when ``initial_guess``
        is given: then every fit starts from it).
    chain : int
        For a list: spectra per warm-start chain (chains are the unit of
        parallel work, so serial and parallel numbers agree exactly).
    chunks : int, optional
        Chains per dask task (default: spread over the workers, 4 tasks each).
    **kw
        Passed to :func:`ncmsurf.eis.fit` (``weighting``, ``constants``,
        ``initial_guess``, ``bounds``, ``fmin``, ...).

    Returns
    -------
    xarray.Dataset
        One variable per parameter (impedance.py names, with the physical
        name in ``attrs["long_name"]`` for presets) and ``<name>_stderr``;
        for every CPE the effective capacitance ``C_eff_<CPE>`` (Hsu–Mansfeld,
        F, or F/cm² for area-normalised spectra; see
        :meth:`CircuitFit.effective_capacitance`) and its stderr; plus
        ``chi2``, ``aic``, ``bic``, ``relative_residual``, ``success``,
        ``nfev``, and the verdict of each fit: ``quality`` (``good``,
        ``suspect``, ``failed``) and ``reasons`` (its codes, comma-separated;
        see :attr:`CircuitFit.quality`). By default the verdict leaves out the
        lin-KK test (``kk=False``; pass ``kk=True`` to include it, about
        1 ms a spectrum). A warm start that carries a collapsed element
        (``degenerate``, ``at_bound``, ``unidentifiable``) is refitted from
        the automatic guess and the sounder fit kept.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from ncmsurf.datasets.eis import synthetic_spectrum
    >>> zs = [[synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": 5.0 + c, "C1": 1e-3}, noise=0.0).impedance
    ...        for c in range(3)] for cell in range(2)]
    >>> f = synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": 5.0, "C1": 1e-3}).frequency
    >>> da = xr.DataArray(np.array(zs), dims=("cell", "cycle", "frequency"),
    ...                   coords={"cell": ["a", "b"], "cycle": [1, 2, 3], "frequency": f})
    >>> ds = fit_many(da, "R0-p(R1,C1)")
    >>> ds["R1"].dims, np.round(ds["R1"].values, 6).tolist()
    (('cell', 'cycle'), [[5.0, 6.0, 7.0], [5.0, 6.0, 7.0]])
    """
    circuit_str, phys, cc_guess, cc_consts = resolve_circuit(circuit)
    kw.setdefault("kk", False)
    if cc_guess is not None:
        kw.setdefault("initial_guess", cc_guess)
    if cc_consts:
        kw.setdefault("constants", cc_consts)
    compiled = compile_circuit(circuit_str, kw.get("constants"))
    names = compiled.all_names
    cpes = tuple(e for e in compiled.element_names if element_type(e) == "CPE")
    if chain < 1:
        raise FitError(f"chain: must be >= 1, got {chain}")
    if isinstance(spectra, xr.DataArray):
        da = spectra
        if "frequency" not in da.dims:
            raise FitError(f"spectra: the DataArray needs a 'frequency' dimension, has {da.dims}")
        other = [d for d in da.dims if d != "frequency"]
        if not other:
            da = da.expand_dims(spectrum=[0])
            other = ["spectrum"]
        da = da.transpose(*other, "frequency")
        fr = np.asarray(da["frequency"].values, float)
        zarr = np.asarray(da.values, complex)
        lead_shape = zarr.shape[:-1]
        zc = zarr.reshape(-1, lead_shape[-1], fr.size)  # chains along the last non-frequency dim
        fc = np.broadcast_to(fr, zc.shape)  # a read-only view: no copy of the frequency axis per spectrum
        n_total = None
    else:
        spectra = list(spectra)
        if not spectra:
            raise FitError("spectra: empty list")
        for i, s in enumerate(spectra):
            if not isinstance(s, ImpedanceSpectrum):
                raise FitError(f"spectra[{i}]: expected an ImpedanceSpectrum, got {type(s).__name__}")
        spec_list: list[ImpedanceSpectrum] = spectra
        n_total = len(spec_list)
        per_chain = min(chain, n_total)
        n_chains = math.ceil(n_total / per_chain)
        if parallel:
            fc, zc, _ = _stack_list(spectra, per_chain)
    if n_total is None:
        n_chains = fc.shape[0]
    n_out = _n_out(names, cpes)
    opts = {"circuit": circuit_str, "names": names, "cpes": cpes, "kw": kw, "warm": warm_start}
    dims = ["chain", "member", "freq"]
    own_cluster = None
    if parallel:
        fda = xr.DataArray(np.array(fc), dims=dims)
        zr = xr.DataArray(zc.real.copy(), dims=dims)
        zi = xr.DataArray(zc.imag.copy(), dims=dims)
        try:
            import dask  # noqa: F401
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - dask is in the runtime dependencies
            raise NcmsurfError("parallel=True needs dask[distributed]") from exc
        if client is None:
            import os

            nw = max(1, min(os.cpu_count() or 1, n_chains))
            own_cluster = LocalCluster(n_workers=nw, threads_per_worker=1, processes=True,  # type: ignore[no-untyped-call]
                                       dashboard_address=None)
            client = Client(own_cluster)  # type: ignore[no-untyped-call]
        nworkers = max(1, len(client.scheduler_info().get("workers", {})) or 1)
        csize = chunks or max(1, math.ceil(n_chains / (4 * nworkers)))
        fda, zr, zi = (x.chunk({"chain": csize, "member": -1, "freq": -1}) for x in (fda, zr, zi))
        try:
            res = xr.apply_ufunc(_fit_blocks, fda, zr, zi, input_core_dims=[["member", "freq"]] * 3,
                                 output_core_dims=[["member", "out"]], dask="parallelized", kwargs=opts,
                                 output_dtypes=[float], dask_gufunc_kwargs={"output_sizes": {"out": n_out}})
            out = np.asarray(client.compute(res.data).result())
        finally:
            if own_cluster is not None:
                client.close()
                own_cluster.close()
    elif n_total is not None:
        # one chain at a time: only a chain's spectra are ever stacked (memory does not grow with the list)
        out = np.concatenate([
            _fit_complex(*_stack_list(spec_list[k * per_chain:(k + 1) * per_chain], per_chain)[:2],
                         **opts)  # type: ignore[arg-type]
            for k in range(n_chains)])
    else:
        out = _fit_complex(fc, zc, **opts)  # type: ignore[arg-type]
    flat = out.reshape(-1, n_out)
    if n_total is not None:
        flat = flat[:n_total]
        coords: dict[str, Any] = {"spectrum": np.arange(n_total)}
        samples = [None if s.sample is None else s.sample.label for s in spectra]  # type: ignore[union-attr]
        if any(x is not None for x in samples):
            coords["sample"] = ("spectrum", np.array([x or "" for x in samples], dtype=str))
        shape: tuple[int, ...] = (n_total,)
        vdims: tuple[str, ...] = ("spectrum",)
    else:
        shape = tuple(lead_shape)
        vdims = tuple(str(d) for d in other)
        coords = {str(d): da[d].values for d in other if d in da.coords}
    data_vars: dict[str, Any] = {}
    for j, n in enumerate(names):
        attrs = {"long_name": phys[n]} if n in phys else {}
        data_vars[n] = (vdims, flat[:, j].reshape(shape), attrs)
        data_vars[f"{n}_stderr"] = (vdims, flat[:, len(names) + j].reshape(shape), attrs)
    o = 2 * len(names)
    zunits = str(da.attrs.get("units", "ohm")) if n_total is None else str(spec_list[0].units)
    cunits = "F/cm**2" if "cm" in zunits else "F"
    for j, c in enumerate(cpes):
        attrs = {"long_name": f"effective capacitance of {c} (Hsu-Mansfeld)", "units": cunits}
        data_vars[f"C_eff_{c}"] = (vdims, flat[:, o + j].reshape(shape), attrs)
        data_vars[f"C_eff_{c}_stderr"] = (vdims, flat[:, o + len(cpes) + j].reshape(shape), attrs)
    for k, st in enumerate(_STATS):
        col = flat[:, 2 * len(names) + 2 * len(cpes) + k].reshape(shape)
        if st == "success":
            data_vars[st] = (vdims, col == 1.0)
        elif st == "quality":
            lv = np.array([_LEVELS[int(v)] if np.isfinite(v) else "" for v in col.ravel()], dtype=str)
            data_vars[st] = (vdims, lv.reshape(shape), {"long_name": "verdict (good, suspect, failed)"})
        elif st == "reasons":
            rs = np.array([_decode_codes(v) for v in col.ravel()], dtype=str)
            data_vars[st] = (vdims, rs.reshape(shape), {"long_name": "reason codes of the verdict"})
        else:
            data_vars[st] = (vdims, col)
    return xr.Dataset(data_vars, coords=coords, attrs={"circuit": circuit_str, "warm_start": int(warm_start),
                                                       "names": dict(phys)})
