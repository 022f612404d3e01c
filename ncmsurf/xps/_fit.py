"""Peak fitting of XPS spectra: :func:`fit`, :class:`XPSFit`, :func:`charge_correct`.

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

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ncmsurf.core._validate import deep_equal
from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import FitStatus, register_citation
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude
from ncmsurf.xps._backgrounds import shirley
from ncmsurf.xps._charge import ChargeReferenceWarning, charge_correct
from ncmsurf.xps._engine import (
    BACKGROUNDS,
    Compiled,
    Solution,
    compile_model,
    evaluate,
    line_params,
    solve,
    static_background,
)
from ncmsurf.xps._peaks import Peak, component_from_dict, normalize_region, preset_info, preset_model

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["ChargeReferenceWarning", "XPSFit", "charge_correct", "fit", "make_params", "resolve_model"]

register_citation("levenberg-trf", "M. A. Branch, T. F. Coleman, Y. Li, SIAM J. Sci. Comput. 21, 1 (1999)")


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


def _signal_to_noise(x: np.ndarray, y: np.ndarray, counts: bool, bg: np.ndarray | None = None) -> float:
    net = y - (shirley(x, y, average=5) if bg is None else bg)
    if counts and np.all(y >= 0):
        noise = float(np.sqrt(np.sum(np.maximum(y, 1.0))))
    else:
        noise = float(np.std(np.diff(y)) / np.sqrt(2.0) * np.sqrt(y.size))
    if noise <= 0:
        return 0.0 if not np.any(net) else np.inf
    return float(np.sum(net) / noise)


class XPSFit:
    """Result of :func:`fit`: parameters, areas, curves, status; storable with ``ns.save``.

    Attributes are read from the :class:`xarray.Dataset` returned by
    :meth:`to_dataset`; ``XPSFit.from_dataset(fit.to_dataset()) == fit``.
    Arrays are on the fitted spectrum's energy grid in its original order.
    """

    __slots__ = ("_ds",)
    _ds: xr.Dataset

    def __init__(self, ds: xr.Dataset) -> None:
        object.__setattr__(self, "_ds", ds)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("XPSFit is immutable")

    # ---- status
    @property
    def success(self) -> bool:
        """True when the fit converged to a meaningful solution."""
        return bool(self._ds.attrs["success"])

    @property
    def message(self) -> str:
        """Why the fit failed, or the solver's convergence note."""
        return str(self._ds.attrs["message"])

    @property
    def status(self) -> FitStatus:
        """Success and message as a falsy-on-failure :class:`FitStatus`."""
        return FitStatus(self.success, self.message)

    def __bool__(self) -> bool:
        return self.success

    @property
    def redchi(self) -> float:
        """Reduced chi-square (Poisson-weighted for count data)."""
        return float(self._ds.attrs["redchi"])

    @property
    def region(self) -> str | None:
        """Region of the fitted spectrum."""
        r = self._ds.attrs.get("region", "")
        return r or None

    @property
    def sample(self) -> Sample | None:
        """Sample of the fitted spectrum."""
        label = self._ds.attrs.get("sample", "")
        return Sample.parse(label) if label else None

    # ---- numbers
    @property
    def params(self) -> dict[str, tuple[float, float]]:
        """All parameters: name → (value, stderr); fixed ones have stderr 0."""
        ds = self._ds
        return {str(k): (float(v), float(e)) for k, v, e in
                zip(ds["param"].values, ds["param_value"].values, ds["param_stderr"].values)}

    @property
    def areas(self) -> dict[str, tuple[float, float]]:
        """Integrated area of each component (doublets: both lines; satellites listed separately)."""
        ds = self._ds
        return {str(k): (float(v), float(e)) for k, v, e in
                zip(ds["component"].values, ds["area_value"].values, ds["area_stderr"].values)}

    @property
    def main_components(self) -> list[str]:
        """Components that are not satellites."""
        ds = self._ds
        return [str(c) for c, m in zip(ds["component"].values, ds["is_main"].values) if m]

    def fraction(self, name: str, *, among: Sequence[str] | None = None) -> tuple[float, float]:
        """Share of component ``name`` in the total area of ``among`` (default: main components).

        The standard error is propagated from the covariance of the areas.

        Raises
        ------
        ValidationError
            If a name is not a component of the fit.
        """
        comps = [str(c) for c in self._ds["component"].values]
        among_l = list(self.main_components if among is None else among)
        if name not in among_l:
            among_l.append(name)
        for n in among_l:
            if n not in comps:
                raise ValidationError(f"fraction: {n!r} is not a component of this fit (components: {comps})")
        idx = [comps.index(n) for n in among_l]
        a = self._ds["area_value"].values[idx]
        cov = self._ds["area_cov"].values[np.ix_(idx, idx)]
        s = float(a.sum())
        if not s > 0:
            return float("nan"), float("nan")
        k = among_l.index(name)
        f = float(a[k] / s)
        g = -a[k] / s**2 * np.ones(len(idx))
        g[k] += 1.0 / s
        var = float(g @ cov @ g)
        return f, float(np.sqrt(var)) if var >= 0 else float("nan")

    # ---- curves
    @property
    def binding_energy(self) -> np.ndarray:
        """Energies of the fitted points."""
        return self._ds["binding_energy"].values  # type: ignore[no-any-return]

    @property
    def data(self) -> np.ndarray:
        """The fitted intensities."""
        return self._ds["intensity"].values  # type: ignore[no-any-return]

    @property
    def best_fit(self) -> np.ndarray:
        """Model: background + all components."""
        return self._ds["best_fit"].values  # type: ignore[no-any-return]

    @property
    def background(self) -> np.ndarray:
        """The background under the peaks."""
        return self._ds["background"].values  # type: ignore[no-any-return]

    @property
    def transmission(self) -> np.ndarray | None:
        """The spectrum's transmission column on the fitted points, if the file had one."""
        if "transmission" in self._ds:
            return self._ds["transmission"].values  # type: ignore[no-any-return]
        return None

    @property
    def excitation_energy(self) -> float:
        """Photon energy of the fitted spectrum, eV."""
        return float(self._ds.attrs["excitation_energy"])

    @property
    def residual(self) -> np.ndarray:
        """Data minus model."""
        return self.data - self.best_fit  # type: ignore[no-any-return]

    @property
    def components(self) -> dict[str, np.ndarray]:
        """Each component's curve (without background)."""
        ds = self._ds
        return {str(c): ds["components"].values[i] for i, c in enumerate(ds["component"].values)}

    @property
    def model(self) -> list[Peak]:
        """The components that were fitted (starting values)."""
        return [component_from_dict(d) for d in self._ds.attrs["model"]]

    @property
    def meta(self) -> dict[str, Any]:
        """Fit settings: background, energy range, charge shift, stderr method, preset."""
        a = self._ds.attrs
        return {k: a[k] for k in ("background", "energy_range", "charge_shift", "stderr_method", "preset",
                                  "nfev", "chisqr") if k in a}

    # ---- storage, equality
    def to_dataset(self) -> xr.Dataset:
        """The result as an :class:`xarray.Dataset` (used by ``ns.save``)."""
        return self._ds.copy(deep=True)

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> XPSFit:
        """Rebuild from :meth:`to_dataset` output."""
        return cls(ds.copy(deep=True))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, XPSFit):
            return NotImplemented
        a, b = self._ds, other._ds
        if set(a.variables) != set(b.variables) or not deep_equal(dict(a.attrs), dict(b.attrs)):
            return False
        for k in a.variables:
            va, vb = a[k], b[k]
            if va.dims != vb.dims or va.dtype != vb.dtype:
                return False
            if not np.array_equal(va.values, vb.values, equal_nan=va.dtype.kind in "fc"):
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = "ok" if self.success else f"FAILED: {self.message}"
        return f"<XPSFit {self.region or ''} {len(self.areas)} components, redchi={self.redchi:.3g}, {state}>"

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Data, model, background and components (requires matplotlib)."""
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        x = self.binding_energy
        ax.plot(x, self.data, ".", ms=3, color="k", label="data", **kw)
        bg = self.background
        ax.plot(x, bg, "--", color="0.5", label="background")
        for name, curve in self.components.items():
            ax.fill_between(x, bg, bg + curve, alpha=0.35, label=name)
        ax.plot(x, self.best_fit, color="C3", label="fit")
        ax.set_xlim(float(x.max()), float(x.min()))
        ax.set_xlabel("Binding energy (eV)")
        ax.set_ylabel("Intensity")
        ax.set_title(" ".join(s for s in (str(self.sample or ""), self.region or "") if s))
        ax.legend(fontsize="small")
        return ax

    def to_lmfit_params(self) -> Any:
        """The fitted free parameters as :class:`lmfit.Parameters` (value, bounds, stderr)."""
        import lmfit

        ps = lmfit.Parameters()
        for name, (v, e) in self.params.items():
            key = _lmfit_name(name)
            ps.add(key, value=v, vary=bool(self._ds["param_free"].values[list(self.params).index(name)]))
            ps[key].stderr = e
        return ps


def _lmfit_name(name: str) -> str:
    """``"Ni2+.fwhm"`` → ``"Ni2_fwhm"``: runs of other characters become one underscore."""
    out = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    return out if out[:1].isalpha() else f"p_{out}"


# ------------------------------------------------------------------ building results
def _area_jacobian(cm: Compiled, p: np.ndarray, comps: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Component areas and their gradient with respect to the free parameters."""
    areas = np.zeros(len(comps))
    G = np.zeros((len(comps), p.size))
    for line in cm.lines:
        k = comps.index(line.comp)
        c, idx = line.area
        a = c
        for i in idx:
            a *= float(p[i])
        areas[k] += a
        for m, i in enumerate(idx):
            v = c
            for mm, j in enumerate(idx):
                if mm != m:
                    v *= float(p[j])
            G[k, i] += v
    return areas, G


def build_result(spec: XPSSpectrum, x: np.ndarray, y: np.ndarray, order: np.ndarray, cm: Compiled,
                 sol: Solution, *, background: str, preset: str | None, energy_range: Any, charge_shift: float,
                 stderr_method: str = "covariance", cov_override: np.ndarray | None = None,
                 message_extra: str = "") -> XPSFit:
    """Assemble an :class:`XPSFit` from a raw solution (``x`` ascending, ``order`` maps back)."""
    comps = cm.main + cm.satellites
    p = sol.p
    npk = cm.nfree
    cov = cov_override if cov_override is not None else sol.cov
    finite = np.all(np.isfinite(p))
    curves = np.zeros((len(comps), x.size))
    if finite:
        _, _, per = evaluate(cm, p, x, per_line=True)
        for line, cval in zip(cm.lines, per):
            curves[comps.index(line.comp)] += cval
    pstd = np.sqrt(np.clip(np.diag(cov), 0, None)) if cov is not None else np.full(p.size, np.nan)
    names: list[str] = []
    vals: list[float] = []
    errs: list[float] = []
    free: list[int] = []
    for i, n in enumerate(cm.names):
        names.append(n)
        vals.append(float(p[i]))
        errs.append(float(pstd[i]))
        free.append(1)
    for n, v in cm.fixed.items():
        names.append(n)
        vals.append(v)
        errs.append(0.0)
        free.append(0)
    for n, (v, e) in sol.bg_params.items():
        names.append(n)
        vals.append(v)
        errs.append(e)
        free.append(1)
    if finite:
        areas, G = _area_jacobian(cm, p[:npk], comps)
        # parameters left out of the covariance (no effect on the model) do not enter the areas
        acov = (G @ np.nan_to_num(cov[:npk, :npk]) @ G.T if cov is not None
                else np.full((len(comps), len(comps)), np.nan))
    else:
        areas = np.full(len(comps), np.nan)
        acov = np.full((len(comps), len(comps)), np.nan)
    aerr = np.sqrt(np.clip(np.diag(acov), 0, None)) if np.all(np.isfinite(acov)) else np.full(len(comps), np.nan)
    inv = np.empty_like(order)
    inv[order] = np.arange(order.size)

    def back(a: np.ndarray) -> np.ndarray:
        return a[..., inv]

    best = sol.peaks + sol.background
    success = sol.success and finite
    message = sol.message + message_extra
    if success:
        main_areas = areas[: len(cm.main)]
        if not np.any(main_areas > 0):
            success = False
            message = "no component has a non-zero area (no signal for this model)"
        else:
            at = _at_bounds(cm, p[:npk])
            if at:
                message += f"; at bounds: {', '.join(at)}"
    cov_full = cov if cov is not None else np.full((p.size, p.size), np.nan)
    free_names = list(cm.names) + list(sol.bg_params)
    ds = xr.Dataset(
        {
            "intensity": ("energy", back(y)),
            "best_fit": ("energy", back(best)),
            "background": ("energy", back(sol.background)),
            "components": (("component", "energy"), back(curves)),
            "param_value": ("param", np.asarray(vals, dtype=float)),
            "param_stderr": ("param", np.asarray(errs, dtype=float)),
            "param_free": ("param", np.asarray(free, dtype=np.int8)),
            "covariance": (("free", "free_b"), np.asarray(cov_full, dtype=float)),
            "area_value": ("component", areas),
            "area_stderr": ("component", aerr),
            "area_cov": (("component", "component_b"), acov),
            "is_main": ("component", np.asarray([1] * len(cm.main) + [0] * len(cm.satellites), dtype=np.int8)),
        },
        coords={
            "binding_energy": ("energy", back(x)),
            "component": ("component", np.asarray(comps, dtype=str)),
            "component_b": ("component_b", np.asarray(comps, dtype=str)),
            "param": ("param", np.asarray(names, dtype=str)),
            "free": ("free", np.asarray(free_names, dtype=str)),
            "free_b": ("free_b", np.asarray(free_names, dtype=str)),
        },
        attrs={
            "success": bool(success),
            "message": message,
            "redchi": float(sol.redchi),
            "chisqr": float(sol.chisqr),
            "nfev": int(sol.nfev),
            "background": background,
            "preset": preset or "",
            "region": spec.region or "",
            "sample": "" if spec.sample is None else spec.sample.label,
            "excitation_energy": spec.excitation_energy,
            "charge_shift": float(charge_shift),
            "energy_range": [] if energy_range is None else [float(energy_range[0]), float(energy_range[1])],
            "stderr_method": stderr_method,
            "model": [c.to_dict() for c in cm.components],
        },
    )
    if spec.transmission is not None:
        ds["transmission"] = ("energy", np.asarray(spec.transmission, dtype=float))
    return XPSFit(ds)


def _at_bounds(cm: Compiled, p: np.ndarray) -> list[str]:
    out = []
    for n, v, lo, hi in zip(cm.names, p, cm.lo, cm.hi):
        if n.endswith(".area"):
            continue
        span = hi - lo
        if np.isfinite(span) and (v - lo < 1e-4 * span or hi - v < 1e-4 * span):
            out.append(n)
    return out


def _failed(spec: XPSSpectrum, x: np.ndarray, y: np.ndarray, order: np.ndarray, cm: Compiled, reason: str, *,
            background: str, preset: str | None, energy_range: Any, charge_shift: float) -> XPSFit:
    bg = np.zeros_like(y)
    try:
        bg = static_background("shirley" if background == "active-shirley" else background, x, y)
    except Exception:
        bg = np.zeros_like(y)
    nan = np.full(cm.nfree + (2 if background == "active-shirley" else 0), np.nan)
    sol = Solution(nan, None, np.zeros_like(y), bg, False, reason, np.nan, np.nan, 0,
                   {"bg.offset": (np.nan, np.nan), "bg.k": (np.nan, np.nan)} if background == "active-shirley"
                   else {})
    return build_result(spec, x, y, order, cm, sol, background=background, preset=preset,
                        energy_range=energy_range, charge_shift=charge_shift)


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


def poisson_weights(y: np.ndarray, units: str) -> np.ndarray | None:
    """Weights ``1/sqrt(max(y, 1))`` for count data, else None (unweighted)."""
    if units == "counts" and np.all(y >= 0):
        return 1.0 / np.sqrt(np.maximum(y, 1.0))  # type: ignore[no-any-return]
    return None


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


def fit(spectrum: Any, model: str | Sequence[Peak], *, background: str = "shirley", energy_range: Any = None,
        charge_shift: Any = 0.0, monte_carlo: int = 0, seed: int = 0, min_snr: float = 5.0,
        params: Any = None, method: str = "fast", dask: bool | None = None, client: Any = None,
        binding_energy: Any = None) -> Any:
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
    XPSFit
        For a stack, an :class:`xarray.Dataset` (see :func:`ncmsurf.xps.fit_stack`).

    Raises
    ------
    FitError
        Unknown preset, preset on the wrong region, components outside the
        data, too few points, unknown background.
    """
    if isinstance(spectrum, (xr.DataArray, np.ndarray)) and not isinstance(spectrum, XPSSpectrum):
        from ncmsurf.xps._batch import fit_stack

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
    snr = _signal_to_noise(x, y, spec.units == "counts")
    if not snr >= min_snr:
        return _failed(spec, x, y, order, cm, f"no significant signal above the background "
                       f"(signal-to-noise {snr:.2g} < {min_snr:g})", **kw)
    w = poisson_weights(y, spec.units)
    if method == "lmfit":
        sol = _solve_lmfit(cm, x, y, background, w, exprs)
        return build_result(spec, x, y, order, cm, sol, stderr_method="lmfit-covariance", **kw)
    sol = solve(cm, x, y, background=background, weights=w)
    if monte_carlo and sol.success:
        cov = _monte_carlo(cm, x, sol, background, int(monte_carlo), seed, spec.units)
        return build_result(spec, x, y, order, cm, sol, stderr_method=f"poisson-monte-carlo({int(monte_carlo)})",
                            cov_override=cov, **kw)
    return build_result(spec, x, y, order, cm, sol, **kw)


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
    cm = compile_model(res.model)
    p = np.array([res.params[n][0] for n in cm.names]) if cm.names else np.zeros(0)
    out: list[dict[str, float | str]] = []
    for line in cm.lines:
        a, c, w, _ = line_params(line, p)
        out.append({"line": line.label, "component": line.comp, "area": a, "center": c, "fwhm": w})
    return out
