"""The XPS results: :class:`XPSFit` (one spectrum) and :class:`XPSStackFit` (a stack or map).

Both are thin :class:`ncmsurf.FitResult` subclasses: the parameters, their
covariance, the verdict and the citations live in the base; these classes add
the XPS accessors (areas, fractions, ratios, total area, curves).

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.xps import synthetic_spectrum, synthetic_truth
>>> res = ns.xps.fit(synthetic_spectrum("Ni 2p", area=2e6, seed=1), "Ni 2p", background="active-shirley")
>>> res.quality.level, res.model
('good', 'Ni 2p')
>>> v, e = res.total_area()
>>> truth = sum(synthetic_truth("Ni 2p", area=2e6)["areas"].values())  # main + satellite areas of the generator
>>> bool(abs(v - truth) < 3 * e)
True
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.fitting import propagate
from ncmsurf.core.results import FitResult, legacy_quality, register_citation
from ncmsurf.xps._peaks import Peak, component_from_dict
from ncmsurf.xps._verdict import bits_to_codes

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["XPSFit", "XPSStackFit", "param_unit"]

register_citation("levenberg-trf", "M. A. Branch, T. F. Coleman, Y. Li, SIAM J. Sci. Comput. 21, 1 (1999)")
register_citation("shirley1972", "D. A. Shirley, Phys. Rev. B 5, 4709 (1972)")
register_citation("tougaard1989", "S. Tougaard, Surf. Interface Anal. 14, 730 (1989)")
register_citation("wald-wolfowitz1940", "A. Wald, J. Wolfowitz, Ann. Math. Stat. 11, 147 (1940)")

BACKGROUND_CITATIONS = {"shirley": ["shirley1972"], "active-shirley": ["shirley1972"],
                        "tougaard": ["tougaard1989"], "linear": [], "none": []}


_EV_SUFFIXES = (".center", ".fwhm", ".splitting", ".ck", ".offset", ".gamma", ".gauss_fwhm")


def param_unit(name: str, units: str) -> str:
    """Unit of an XPS fit parameter for intensities in ``units`` (``"counts"`` → ``count``).

    Examples
    --------
    >>> param_unit("Ni2+.area", "counts"), param_unit("Ni2+.center", "counts"), param_unit("Ni2+.ratio", "")
    ('count*eV', 'eV', '')
    """
    y = "count" if units == "counts" else units
    if name.endswith(".area"):
        return f"{y}*eV" if y else "eV"
    if name == "bg.offset":
        return y
    if name == "bg.k":
        return "1/eV"
    return "eV" if name.endswith(_EV_SUFFIXES) else ""


def _share(a: np.ndarray, cov: np.ndarray, k: int) -> tuple[float, float]:
    """``a[k] / sum(a)`` with its standard error from the full covariance of ``a``."""
    s = float(a.sum())
    if not s > 0:
        return float("nan"), float("nan")

    def jac(v: np.ndarray) -> np.ndarray:
        t = float(v.sum())
        g = np.full((1, v.size), -float(v[k]) / t**2)
        g[0, k] += 1.0 / t
        return g

    val, c = propagate(lambda v: np.array([v[k] / v.sum()]), a, cov, jac=jac)
    var = float(c[0, 0])
    return float(val[0]), math.sqrt(var) if var >= 0 else float("nan")


class _Areas(FitResult):
    """Shared area accessors (one spectrum)."""

    __slots__ = ()

    @property
    def areas(self) -> dict[str, tuple[float, float]]:
        """Integrated area of each component, ``(value, stderr)`` (doublets: both lines; satellites separate).

        Every shape's area is its integral over the real line, except the
        Doniach–Šunjić shape (whose integral diverges): its area is the
        integral over the fitted energy window.
        """
        ds = self._ds
        return {str(k): (float(v), float(e)) for k, v, e in
                zip(ds["component"].values, ds["area_value"].values, ds["area_stderr"].values, strict=True)}

    @property
    def area_covariance(self) -> xr.DataArray:
        """Full covariance of the component areas over ``(component, component_b)`` (a copy)."""
        return self._ds["area_cov"].copy(deep=True)

    @property
    def main_components(self) -> list[str]:
        """Components that are not satellites."""
        ds = self._ds
        return [str(c) for c, m in zip(ds["component"].values, ds["is_main"].values, strict=True) if m]

    def _select(self, names: Sequence[str], what: str) -> list[int]:
        comps = [str(c) for c in self._ds["component"].values]
        for n in names:
            if n not in comps:
                raise ValidationError(f"{what}: {n!r} is not a component of this fit (components: {comps})")
        return [comps.index(n) for n in names]

    def fraction(self, name: str, *, among: Sequence[str] | None = None) -> tuple[float, float]:
        """Share of component ``name`` in the total area of ``among`` (default: main components).

        The standard error is propagated from the full covariance of the
        areas (:func:`ncmsurf.core.fitting.propagate`).

        Raises
        ------
        ValidationError
            If a name is not a component of the fit.
        """
        among_l = list(self.main_components if among is None else among)
        if name not in among_l:
            among_l.append(name)
        idx = self._select(among_l, "fraction")
        a = np.asarray(self._ds["area_value"].values, float)[idx]
        cov = np.asarray(self._ds["area_cov"].values, float)[np.ix_(idx, idx)]
        return _share(a, cov, among_l.index(name))

    def total_area(self, among: Sequence[str] | None = None) -> tuple[float, float]:
        """Sum of the areas of ``among`` (default: every component, satellites included), ``(value, stderr)``.

        The variance is ``1ᵀ C 1`` over the full area covariance ``C``, so the
        negative covariances between overlapping components (which trade
        area between them) are kept: the sum is better determined than any
        one component.

        Examples
        --------
        >>> import ncmsurf as ns
        >>> from ncmsurf.datasets.xps import synthetic_spectrum
        >>> res = ns.xps.fit(synthetic_spectrum("Ni 2p", seed=2), "Ni 2p", background="active-shirley")
        >>> total, err = res.total_area()
        >>> bool(err < np.sqrt(sum(e**2 for _, e in res.areas.values())))
        True
        """
        names = [str(c) for c in self._ds["component"].values] if among is None else list(among)
        idx = self._select(names, "total_area")
        a = np.asarray(self._ds["area_value"].values, float)[idx]
        cov = np.asarray(self._ds["area_cov"].values, float)[np.ix_(idx, idx)]
        val, c = propagate(lambda v: np.array([v.sum()]), a, cov, jac=lambda v: np.ones((1, v.size)))
        var = float(c[0, 0])
        return float(val[0]), math.sqrt(var) if var >= 0 else float("nan")

    def area_ratio(self, numerator: str, denominator: str) -> tuple[float, float]:
        """Area ratio of two components, ``(value, stderr)`` from the full area covariance."""
        idx = self._select([numerator, denominator], "area_ratio")
        a = np.asarray(self._ds["area_value"].values, float)[idx]
        cov = np.asarray(self._ds["area_cov"].values, float)[np.ix_(idx, idx)]
        if not a[1] != 0:
            return float("nan"), float("nan")
        val, c = propagate(lambda v: np.array([v[0] / v[1]]), a, cov,
                           jac=lambda v: np.array([[1.0 / v[1], -v[0] / v[1] ** 2]]))
        var = float(c[0, 0])
        return float(val[0]), math.sqrt(var) if var >= 0 else float("nan")


class XPSFit(_Areas):
    """Result of :func:`ncmsurf.xps.fit` on one spectrum; an :class:`ncmsurf.FitResult`.

    Storable with ``ns.save``; ``XPSFit.from_dataset(fit.to_dataset()) == fit``.
    Arrays are on the fitted spectrum's energy grid in its original order and
    read-only.

    Attributes
    ----------
    params : dict of str to (float, float)
        Every parameter, ``(value, stderr)`` (fixed ones: stderr 0).
    areas : dict of str to (float, float)
        Integrated area of each component.
    model : str
        The preset name, or the component names joined with ``" + "``.
    model_components : list of Peak
        The components that were fitted (their starting values and bounds);
        before the result core this was ``.model``.
    quality : Quality
        The verdict (see :mod:`ncmsurf.xps._verdict` for the checks and their
        thresholds); ``success`` is the optimiser's word.
    """

    __slots__ = ()

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the layout of files written before the result core)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = dict(ds.attrs)
        names = [str(x) for x in ds["param"].values]
        free = [bool(x) for x in ds["param_free"].values]
        fnames = [str(x) for x in ds["free"].values]
        cov = np.zeros((len(names), len(names)))
        idx = [names.index(n) for n in fnames]
        cov[np.ix_(idx, idx)] = np.asarray(ds["covariance"].values, float)
        comps = np.asarray(ds["component"].values, dtype=str)
        data_vars = {k: (ds[k].dims, ds[k].values) for k in ("intensity", "best_fit", "background", "components",
                                                             "area_value", "area_stderr", "area_cov", "is_main",
                                                             "transmission") if k in ds}
        ok = bool(a["success"])
        units = "counts"
        model = str(a.get("preset", "")) or " + ".join(str(d["name"]) for d in a["model"])
        return cls.build(
            names=names, values=ds["param_value"].values, covariance=cov, stderr=ds["param_stderr"].values,
            free=free, units=[param_unit(n, units) for n in names], success=ok, message=str(a["message"]),
            quality=legacy_quality(ok, str(a["message"])),
            citations=["levenberg-trf", *BACKGROUND_CITATIONS.get(str(a["background"]), [])], model=model,
            sample=str(a.get("sample", "")) or None, data_vars=data_vars,
            coords={"binding_energy": ("energy", ds["binding_energy"].values), "component": ("component", comps),
                    "component_b": ("component_b", comps)},
            attrs={"redchi": float(a["redchi"]), "chisqr": float(a["chisqr"]), "nfev": int(a["nfev"]),
                   "dof": int(ds.sizes["energy"]) - len(fnames), "background": str(a["background"]),
                   "preset": str(a.get("preset", "")), "region": str(a.get("region", "")),
                   "excitation_energy": float(a["excitation_energy"]), "charge_shift": float(a["charge_shift"]),
                   "energy_range": list(np.atleast_1d(a.get("energy_range", [])).astype(float)),
                   "stderr_method": str(a.get("stderr_method", "")),
                   "peak_model": json.dumps(a["model"] if isinstance(a["model"], list) else json.loads(a["model"]))})

    # ---- status
    @property
    def redchi(self) -> float:
        """Reduced chi-square (Poisson-weighted for count data)."""
        return float(self._attrs["redchi"])

    @property
    def region(self) -> str | None:
        """Region of the fitted spectrum."""
        r = self._attrs.get("region", "")
        return str(r) or None

    # ---- numbers
    @property
    def params(self) -> dict[str, tuple[float, float]]:
        """All parameters: name → (value, stderr); fixed ones have stderr 0."""
        v, e = self.values, self.stderr
        return {k: (v[k], e[k]) for k in v}

    # ---- curves
    def _arr(self, key: str) -> np.ndarray:
        return self._ds[key].values  # type: ignore[no-any-return]

    @property
    def binding_energy(self) -> np.ndarray:
        """Energies of the fitted points."""
        return self._arr("binding_energy")

    @property
    def data(self) -> np.ndarray:
        """The fitted intensities."""
        return self._arr("intensity")

    @property
    def best_fit(self) -> np.ndarray:
        """Model: background + all components."""
        return self._arr("best_fit")

    @property
    def background(self) -> np.ndarray:
        """The background under the peaks."""
        return self._arr("background")

    @property
    def transmission(self) -> np.ndarray | None:
        """The spectrum's transmission column on the fitted points, if the file had one."""
        return self._arr("transmission") if "transmission" in self._ds else None

    @property
    def excitation_energy(self) -> float:
        """Photon energy of the fitted spectrum, eV."""
        return float(self._attrs["excitation_energy"])

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
    def model_components(self) -> list[Peak]:
        """The components that were fitted (starting values and bounds)."""
        return [component_from_dict(d) for d in json.loads(str(self._attrs["peak_model"]))]

    @property
    def meta(self) -> dict[str, Any]:
        """Fit settings: background, energy range, charge shift, stderr method, preset, nfev, chisqr."""
        a = self._attrs
        return {k: a[k] for k in ("background", "energy_range", "charge_shift", "stderr_method", "preset",
                                  "nfev", "chisqr") if k in a}

    def _report_extra(self) -> list[str]:
        lines = [f"reduced chi-square: {self.redchi:.4g} ({self._attrs.get('dof', '')} degrees of freedom)",
                 "areas:"]
        for name, (v, e) in self.areas.items():
            lines.append(f"  {name}: {v:.6g} ± {e:.2g}")
        if self.success and self.main_components:
            t, te = self.total_area()
            lines.append(f"  total: {t:.6g} ± {te:.2g}")
            for m in self.main_components:
                f, fe = self.fraction(m)
                lines.append(f"  {m} share of the main area: {f:.4f} ± {fe:.2g}")
        return lines

    def plot(self, ax: Axes | None = None, **kw: Any) -> Axes:
        """Data, model, background and components (requires matplotlib); the verdict in the title unless good."""
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
        q = self.quality
        title = " ".join(s for s in (str(self.sample or ""), self.region or "") if s)
        if q.level != "good":
            title += f" [{q.level}: {', '.join(q.codes)}]"
        ax.set_title(title)
        ax.legend(fontsize="small")
        return ax

    def to_lmfit_params(self) -> Any:
        """The fitted parameters as :class:`lmfit.Parameters` (value, vary, stderr)."""
        import lmfit

        ps = lmfit.Parameters()
        free = self.free
        for name, (v, e) in self.params.items():
            key = _lmfit_name(name)
            ps.add(key, value=v, vary=free[name])
            ps[key].stderr = e
        return ps


def _lmfit_name(name: str) -> str:
    """``"Ni2+.fwhm"`` → ``"Ni2_fwhm"``: runs of other characters become one underscore."""
    out = re.sub(r"[^0-9A-Za-z]+", "_", name).strip("_")
    return out if out[:1].isalpha() else f"p_{out}"


class XPSStackFit(FitResult):
    """Result of :func:`ncmsurf.xps.fit` on a stack of spectra (samples, pixels of a map).

    The base parameters (``values``, ``stderr``, ``covariance``) are those of
    the fit of the stack's mean spectrum (the common start of every
    spectrum's fit); the per-spectrum numbers are variables over the stack's
    dimensions, read with ``result["name"]`` (an :class:`xarray.DataArray`):

    ``params``/``params_stderr`` (``param``), ``areas``/``areas_stderr``
    (``component``), ``fraction``/``fraction_stderr`` (``main``: share of each
    main component in the main-component area), ``total_area``/
    ``total_area_stderr`` (all components, full covariance), ``success`` (the
    optimiser's word), ``redchi``, ``quality`` (``"good"``/``"suspect"``/
    ``"failed"``) and ``reasons`` (bit mask of :data:`ncmsurf.xps._verdict.REASON_BITS`; see
    :meth:`reason_codes`).

    ``quality`` of the result as a whole is failed when every spectrum
    failed, suspect when any spectrum is suspect or failed (the reasons say
    how many and why), good otherwise.
    """

    __slots__ = ()

    def __getitem__(self, key: str) -> xr.DataArray:
        if key not in self._ds.data_vars:
            raise KeyError(f"{key!r} (variables: {sorted(self.variables)})")
        return self._ds[key].copy(deep=True)

    def __contains__(self, key: object) -> bool:
        return key in self._ds.data_vars

    @property
    def variables(self) -> list[str]:
        """Per-spectrum variables (the keys of ``result[...]``)."""
        base = {"value", "stderr", "covariance", "free", "param_units"}
        return [str(k) for k in self._ds.data_vars if k not in base]

    @property
    def coords(self) -> Any:
        """Coordinates of the per-spectrum variables (stack dimensions, ``param``, ``component``, ``main``)."""
        return self.to_xarray().coords

    @property
    def stack_dims(self) -> tuple[str, ...]:
        """The stack's dimensions (everything but the energy)."""
        return tuple(str(d) for d in self._ds["success"].dims)

    @property
    def sizes(self) -> dict[str, int]:
        """Sizes of the stack's dimensions."""
        return {d: int(self._ds.sizes[d]) for d in self.stack_dims}

    @property
    def region(self) -> str | None:
        """Region of the stack (from its attributes or the preset)."""
        return str(self._attrs.get("region", "")) or None

    @property
    def main_components(self) -> list[str]:
        """Components that are not satellites."""
        return [str(m) for m in self._ds["main"].values]

    def reason_codes(self, **index: Any) -> list[str]:
        """Reason codes of one spectrum, e.g. ``res.reason_codes(y=3, x=5)`` (positional indices)."""
        mask = int(self._ds["reasons"].isel(index).values)
        return bits_to_codes(mask)

    def to_xarray(self) -> xr.Dataset:
        """The per-spectrum variables as a plain :class:`xarray.Dataset` (what ``fit_stack`` returned before)."""
        return self._ds[self.variables].drop_vars(["param_2"], errors="ignore").copy(deep=True)

    def _report_extra(self) -> list[str]:
        q = np.asarray(self._ds["quality"].values).ravel()
        n = q.size
        return [f"spectra: {n}; good {int((q == 'good').sum())}, suspect {int((q == 'suspect').sum())}, "
                f"failed {int((q == 'failed').sum())} (the parameters above are the fit of the mean spectrum)"]

