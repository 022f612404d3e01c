"""Joint fits of several core-level regions with constraints across them.

Each region's model is compiled by the shared engine
(:func:`ncmsurf.xps._engine.compile_model`) and evaluated by it
(:func:`ncmsurf.xps._engine.evaluate`, analytic Jacobian); the joint fit maps
one parameter vector ``q`` onto every region's local vector ``p_r``:

- :class:`SharedShift`: one charge shift ``s`` moves every centre of the
  listed regions (``center = q_center + s``); the reference component's
  centre is held at its reference energy plus ``s``, so ``s`` is measured on
  it (adventitious C 1s C-C at 284.8 eV by default);
- :class:`AreaTie`: the area of a component is ``factor`` times the area of
  a component (or of a whole region) elsewhere. :func:`stoichiometric_tie`
  builds the factor from stoichiometry, RSFs (Scofield), the transmission of
  the files (when present) and the IMFP exponent: O 1s Al-O tied to Al 2p
  Al2O3 with O/Al = 1.5; :func:`ni3p_tie` ties Ni 3p in the Al 2p window to
  the Ni 2p area.

The residuals of all regions (Poisson-weighted for counts) are minimised
together with :func:`scipy.optimize.least_squares` (trust-region reflective,
analytic Jacobian). The solve starts from each region's own fit by the
single-region engine (the shift first located on the reference line), so it
needs a few joint iterations only, and runs with one BLAS thread (the joint
Jacobian is large enough for the threaded SVD to stall on a loaded machine
and small enough that one thread is fastest). The covariance of ``q`` is the
package's one routine (:func:`ncmsurf.core.fitting.covariance_from_jacobian`:
``(JᵀJ)⁻¹ · redχ²`` with an identifiability mask), and every derived number
(areas, fractions, ratios across regions) is propagated from it.

The result, :class:`JointFit`, is an :class:`ncmsurf.FitResult`: the joint
parameters with their covariance, a verdict, and one :class:`XPSFit` per
region (the joint covariance mapped onto its parameters, its own verdict).

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_coated_ncm
>>> case = synthetic_coated_ncm(seed=0)
>>> res = fit_joint(case["spectra"], case["models"], constraints=case["constraints"], background="active-shirley")
>>> res.success, res.quality.level
(True, 'good')
>>> v, e = res.fraction("O 1s", "Al-O")
>>> bool(abs(v - case["truth"]["al_o_share"]) < 4 * e)
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.fitting import covariance_from_jacobian, propagate
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import FitResult, Quality
from ncmsurf.xps._backgrounds import cumulative_integral
from ncmsurf.xps._engine import (
    Compiled,
    Solution,
    compile_model,
    component_areas,
    evaluate,
    initial_areas,
    solve,
    static_background,
)
from ncmsurf.xps._fit import XPSFit, build_result, poisson_weights, resolve_model
from ncmsurf.xps._peaks import Doublet, Peak, normalize_region
from ncmsurf.xps._result import param_unit

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["AreaTie", "JointFit", "SharedShift", "fit_joint", "ni3p_tie", "stoichiometric_tie"]


def _area_jacobian(cm: Compiled, p: np.ndarray, comps: list[str]) -> tuple[np.ndarray, np.ndarray]:
    return component_areas(cm, p, comps)


@dataclass(frozen=True)
class SharedShift:
    """One charge shift for the listed regions (all when None), measured on ``reference``.

    ``reference`` is (region, component); that component's centre is held
    at ``at`` + shift (default: its preset/model centre).
    """

    regions: tuple[str, ...] | None = None
    reference: tuple[str, str] = ("C 1s", "C-C")
    at: float | None = None
    bounds: tuple[float, float] = (-10.0, 10.0)


@dataclass(frozen=True)
class AreaTie:
    """``area(target) = factor × area(source)``; ``source`` component None means the whole region."""

    target: tuple[str, str]
    source: tuple[str, str | None]
    factor: float
    note: str = ""


def _component_ke(spec: XPSSpectrum, comps: Sequence[Peak], name: str | None) -> float:
    if name is None:
        c = float(np.mean([p.center for p in comps if p.kind != "satellite"]))
    else:
        c = float(next(p.center for p in comps if p.name == name))
    return float(spec.excitation_energy - c)


def _t_at(spec: XPSSpectrum, ke: float) -> float:
    t = spec.transmission
    if t is None:
        return 1.0
    k = spec.kinetic_energy
    o = np.argsort(k)
    return float(np.interp(ke, k[o], t[o]))


def stoichiometric_tie(spectra: Mapping[str, XPSSpectrum], models: Mapping[str, Any], target: tuple[str, str],
                       source: tuple[str, str | None], *, atoms_ratio: float, imfp_exponent: float = 0.75,
                       rsf: str | Mapping[str, float] = "scofield-alka", target_level: str | None = None,
                       source_level: str | None = None) -> AreaTie:
    """An :class:`AreaTie` from an atomic ratio (target atoms per source atom).

    ``factor = atoms_ratio × RSF_t T_t KE_t^x / (RSF_s T_s KE_s^x)`` with the
    RSFs of the two core levels (default: the regions'; ``target_level`` /
    ``source_level`` name another, e.g. ``"Ni 3p"`` in the Al 2p window),
    the files' transmission at each component's kinetic energy (1 when a
    file has none) and ``x = imfp_exponent``; a homogeneous mixture is
    assumed (no attenuation difference between the two lines beyond the
    IMFP scaling).

    Examples
    --------
    >>> from ncmsurf.datasets.xps import synthetic_spectrum
    >>> sp = {"O 1s": synthetic_spectrum("O 1s"), "Al 2p": synthetic_spectrum("Al 2p")}
    >>> tie = stoichiometric_tie(sp, {"O 1s": "O 1s", "Al 2p": "Al 2p"}, ("O 1s", "Al-O"), ("Al 2p", "Al2O3"),
    ...                          atoms_ratio=1.5)
    >>> round(tie.factor, 2)
    6.1
    """
    from ncmsurf.xps._quantify import _rsf_lookup

    get = _rsf_lookup(rsf)
    comps = {r: resolve_model(models.get(r, r), spectra[r].region, excitation_energy=spectra[r].excitation_energy)[0]
             for r in (target[0], source[0])}
    kt = _component_ke(spectra[target[0]], comps[target[0]], target[1])
    ks = _component_ke(spectra[source[0]], comps[source[0]], source[1])
    rt = get(target_level or normalize_region(target[0]))
    rs = get(source_level or normalize_region(source[0]))
    x = float(imfp_exponent)
    f = atoms_ratio * rt * _t_at(spectra[target[0]], kt) * kt**x / (rs * _t_at(spectra[source[0]], ks) * ks**x)
    note = (f"{target[0]} {target[1]} = {atoms_ratio:g} atoms per {source[0]} {source[1] or 'atom'}: RSF "
            f"{rt:.4g}/{rs:.4g}, transmission {'file' if spectra[target[0]].transmission is not None else 'none'}"
            f", KE^{x:g}")
    return AreaTie(target, source, float(f), note)


def ni3p_tie(spectra: Mapping[str, XPSSpectrum], models: Mapping[str, Any] | None = None, *, target: str = "Al 2p",
             imfp_exponent: float = 0.75, rsf: str | Mapping[str, float] = "scofield-alka") -> AreaTie:
    """Tie the Ni 3p doublet (with its satellite) of ``target`` to the whole Ni 2p area (same Ni atoms).

    The factor is the Scofield Ni 3p/Ni 2p cross-section ratio times the
    transmission and ``KE^x`` ratio; it assumes Ni homogeneous over the
    sampled depth (a coating attenuates the slower Ni 2p electrons more:
    give your own :class:`AreaTie` then).
    """
    tie = stoichiometric_tie(spectra, dict(models or {}), (target, "Ni 3p"), ("Ni 2p", None), atoms_ratio=1.0,
                             imfp_exponent=imfp_exponent, rsf=rsf, target_level="Ni 3p", source_level="Ni 2p")
    return AreaTie(tie.target, tie.source, tie.factor, "Ni 3p (+ satellite) from the Ni 2p area: " + tie.note)


# ------------------------------------------------------------------ the joint model
@dataclass
class _Region:
    name: str
    spec: XPSSpectrum
    x: np.ndarray
    y: np.ndarray
    order: np.ndarray
    cm: Compiled
    preset: str | None
    w: np.ndarray
    weighted: bool
    bg: np.ndarray
    L: np.ndarray  # local free params = L @ q + b (before area ties)
    b: np.ndarray
    bg_idx: tuple[int, int] | None  # active Shirley (offset, k) indices in q
    tied: dict[int, tuple[AreaTie, list[int]]]  # local index -> tie, source component indices
    background: str


def _lin(G: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """``G C Gᵀ`` through :func:`ncmsurf.core.fitting.propagate` (unknown variances stay unknown)."""
    return propagate(lambda q: G @ q, np.zeros(G.shape[1]), cov, jac=lambda _q: G)[1]


_PREFIX = "r{}__"


class JointFit(FitResult):
    """Result of :func:`fit_joint`: an :class:`ncmsurf.FitResult` over the joint parameters, with per-region fits.

    The base parameters are the joint vector: ``"region|param"`` for every
    free parameter of every region and ``"shift"`` for a
    :class:`SharedShift`; their covariance is the joint one. The result also
    holds every component's area (``"region|component"``) with the joint
    area covariance, and one :class:`XPSFit` per region (:attr:`fits`), with
    the joint covariance mapped onto its parameters and its own verdict.
    Storable with ``ns.save``/``ns.load`` (everything, the region fits
    included, lives in one Dataset).

    ``quality`` is failed when the joint solve did not converge or a region's
    fit is failed; otherwise it carries every region's reasons (prefixed
    with the region) and the joint checks (the shift at a bound or not
    determined).

    Examples
    --------
    >>> import os, tempfile, ncmsurf as ns
    >>> from ncmsurf.datasets.xps import synthetic_coated_ncm
    >>> case = synthetic_coated_ncm(seed=1)
    >>> res = fit_joint(case["spectra"], case["models"], constraints=case["constraints"])
    >>> sorted(res.fits)
    ['Al 2p', 'C 1s', 'Ni 2p', 'O 1s']
    >>> ns.load(ns.save(res, os.path.join(tempfile.mkdtemp(), "joint.nc"))) == res
    True
    """

    __slots__ = ("_fits_cache",)

    # ---- regions
    @property
    def regions(self) -> list[str]:
        """The fitted regions, in order."""
        return [str(r) for r in json.loads(str(self._attrs["regions"]))]

    @property
    def fits(self) -> dict[str, XPSFit]:
        """Region → :class:`XPSFit` (joint covariance, its own verdict)."""
        cached = getattr(self, "_fits_cache", None)
        if cached is None:
            ds = self._ds
            attrs = json.loads(str(self._attrs["region_attrs"]))
            cached = {}
            for k, region in enumerate(self.regions):
                pre = _PREFIX.format(k)
                names = [str(v) for v in ds.variables if str(v).startswith(pre)]
                sub = ds[[n for n in names if n not in ds.coords]].copy()
                for n in names:
                    if n in ds.coords and n not in sub.coords:
                        sub = sub.assign_coords({n: ds[n].variable})
                dims = {str(d) for n in names for d in ds[n].dims}
                sub = sub.rename({**{n: n[len(pre):] for n in names},
                                  **{d: d[len(pre):] for d in dims if d not in names}})
                sub = sub.drop_vars([v for v in sub.variables if str(v) not in {n[len(pre):] for n in names}])
                sub.attrs = dict(attrs[k])
                cached[region] = XPSFit(sub)
            object.__setattr__(self, "_fits_cache", cached)
        return dict(cached)

    @property
    def redchi(self) -> float:
        """Reduced chi-square of all regions together (Poisson-weighted for counts)."""
        return float(self._attrs["redchi"])

    @property
    def constraints(self) -> list[str]:
        """The constraints, as text (the ties with their factors and what went into them)."""
        return [str(c) for c in json.loads(str(self._attrs["constraints"]))]

    @property
    def params(self) -> dict[str, tuple[float, float]]:
        """Joint parameters (``"region|param"``, ``"shift"``) → (value, stderr)."""
        v, e = self.values, self.stderr
        return {k: (v[k], e[k]) for k in v}

    @property
    def charge_shift(self) -> tuple[float, float]:
        """The shared charge shift (value, stderr), eV (0, 0 without :class:`SharedShift`)."""
        if "shift" not in self.names:
            return 0.0, 0.0
        return self.estimate("shift")

    # ---- areas with the joint covariance
    def area_covariance(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every component's area (keys ``"region|component"``), values and their joint covariance."""
        ds = self._ds
        keys = [str(k) for k in ds["area_key"].values]
        return keys, np.array(ds["area_value"].values, float), np.array(ds["area_cov"].values, float)

    def fraction(self, region: str, name: str, *, among: Sequence[str] | None = None) -> tuple[float, float]:
        """Share of ``name`` among components of ``region`` (default: its main ones), joint covariance.

        Raises
        ------
        ValidationError
            For an unknown region or component.
        """
        if region not in self.regions:
            raise ValidationError(f"fraction: {region!r} is not a fitted region ({self.regions})")
        keys, a, cov = self.area_covariance()
        among_l = list(self.fits[region].main_components if among is None else among)
        if name not in among_l:
            among_l.append(name)
        idx = []
        for n in among_l:
            key = f"{region}|{n}"
            if key not in keys:
                raise ValidationError(f"fraction: {n!r} is not a component of {region!r}")
            idx.append(keys.index(key))
        k = among_l.index(name)
        sub = a[idx]
        s = float(sub.sum())
        if not s > 0:
            return float("nan"), float("nan")
        g = -sub[k] / s**2 * np.ones(len(idx))
        g[k] += 1.0 / s
        var = float(_lin(g[None, :], cov[np.ix_(idx, idx)])[0, 0])
        return float(sub[k] / s), math.sqrt(var) if var >= 0 else float("nan")

    def region_areas(self) -> tuple[list[str], np.ndarray, np.ndarray, list[float], float]:
        """Region totals, their joint covariance, area-weighted BEs and the photon energy (for quantify)."""
        keys, a, cov = self.area_covariance()
        names = self.regions
        M = np.zeros((len(names), len(keys)))
        for j, k in enumerate(keys):
            M[names.index(k.split("|", 1)[0]), j] = 1.0
        tot = M @ a
        tcov = _lin(M, cov)
        bes = []
        fits = self.fits
        for n in names:
            f = fits[n]
            w = np.array([f.areas[m][0] for m in f.main_components])
            c = np.array([f.params[f"{m}.center"][0] for m in f.main_components])
            bes.append(float((w * c).sum() / w.sum()) if w.sum() > 0 else float(c.mean()))
        hv = float(self._attrs["excitation_energy"])
        return names, tot, tcov, bes, hv

    # ---- presentation
    def _report_extra(self) -> list[str]:
        s, e = self.charge_shift
        lines = [f"reduced chi-square (all regions): {self.redchi:.4g} ({self._attrs.get('dof', '')} degrees of "
                 "freedom)"]
        if "shift" in self.names:
            lines.append(f"shared charge shift: {s:+.3f} ± {e:.2g} eV")
        lines.append("constraints:")
        lines.extend(f"  - {c}" for c in self.constraints)
        lines.append("regions:")
        for r, f in self.fits.items():
            lines.append(f"  {r}: reduced chi-square {f.redchi:.4g}, {f.quality.level}")
        return lines

    def plot(self, ax: Axes | None = None, *, region: str | None = None, **kw: Any) -> Axes:
        """One region's fit (default: the first) with the joint verdict in the title unless good."""
        r = self.regions[0] if region is None else region
        if r not in self.regions:
            raise ValidationError(f"plot: {r!r} is not a fitted region ({self.regions})")
        out = self.fits[r].plot(ax, **kw)
        q = self.quality
        if q.level != "good":
            out.set_title(f"{out.get_title()} (joint fit: {q.level}, {', '.join(q.codes)})")
        return out


def _local(reg: _Region, q: np.ndarray, regions: list[_Region]) -> tuple[np.ndarray, np.ndarray]:
    """Local free parameters of a region and their derivative with respect to q."""
    p = reg.L @ q + reg.b
    dp = reg.L.copy()
    for i, (tie, src_idx) in reg.tied.items():
        src = next(r for r in regions if r.name == tie.source[0])
        ps = src.L @ q + src.b
        comps = src.cm.main + src.cm.satellites
        a, G = _area_jacobian(src.cm, ps, comps)
        comp = reg.cm.components[[c.name for c in reg.cm.components].index(tie.target[1])]
        scale = 1.0 + (comp.ratio if isinstance(comp, Doublet) else 0.0)
        # satellites of the target scale with it too: tie the target's whole family
        fam = 1.0 + sum(float(getattr(c, "ratio", 0.0)) for c in reg.cm.components
                        if getattr(c, "parent", None) == tie.target[1] and getattr(c, "ratio_bounds", 0) is None)
        p[i] = tie.factor * float(a[src_idx].sum()) / (scale * fam)
        dp[i] = tie.factor * (G[src_idx].sum(axis=0) @ src.L) / (scale * fam)
    return p, dp


@contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Run the block with one BLAS thread when threadpoolctl is available (else unchanged)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it the solve is the same, only slower on a loaded machine
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _shift_start(spec: XPSSpectrum, shift: SharedShift, at: float) -> float:
    """Starting shift: where the reference line is, against where it should be (0 when it cannot be found)."""
    from ncmsurf.xps._charge import REFERENCES, reference_position

    key = normalize_region(shift.reference[0])
    if key not in REFERENCES:
        return 0.0
    pos = reference_position(spec, key)
    if pos is None:
        return 0.0
    return float(np.clip(float(pos) - float(at), shift.bounds[0], shift.bounds[1]))


def _warm_start(regions: list[_Region], q0: np.ndarray, lo: np.ndarray, hi: np.ndarray, shift_index: int | None,
                s0: float, ref: tuple[str, str] | None, shift_regs: set[str]) -> np.ndarray:
    """Starting vector from each region's own fit by the single-region engine (the shift measured on the reference)."""
    q = q0.copy()
    if shift_index is not None:
        q[shift_index] = s0
    sols: dict[str, np.ndarray] = {}
    for reg in regions:
        xs = reg.x - (s0 if reg.name in shift_regs else 0.0)
        sol = solve(reg.cm, xs, reg.y, background=reg.background, weights=reg.w if reg.weighted else None,
                    static_bg=None if reg.bg_idx is not None else reg.bg)
        if sol.success and np.all(np.isfinite(sol.p)):
            sols[reg.name] = sol.p
    # the reference line's own fit refines the shift
    delta = 0.0
    if ref is not None and shift_index is not None and ref[0] in sols:
        rr = next(r for r in regions if r.name == ref[0])
        i = rr.cm.names.index(f"{ref[1]}.center")
        delta = float(sols[ref[0]][i] - rr.b[i] + 0.0)  # centre found (unshifted frame) - reference energy
        q[shift_index] = float(np.clip(s0 + delta, lo[shift_index], hi[shift_index]))
    for reg in regions:
        p = sols.get(reg.name)
        if p is None:
            continue
        for i, pname in enumerate(reg.cm.names):
            if i in reg.tied:
                continue
            nz = np.flatnonzero(reg.L[i])
            cols = [j for j in nz if j != shift_index]
            if len(cols) != 1:
                continue  # the reference centre (held at its energy + shift)
            j = int(cols[0])
            v = float(p[i])
            if pname.endswith(".center") and reg.name in shift_regs:
                v -= delta
            q[j] = v
        if reg.bg_idx is not None and p.size >= reg.cm.nfree + 2:
            q[reg.bg_idx[0]], q[reg.bg_idx[1]] = float(p[reg.cm.nfree]), float(p[reg.cm.nfree + 1])
    out: np.ndarray = np.clip(q, lo, hi)
    return out


def fit_joint(spectra: Mapping[str, XPSSpectrum] | Sequence[XPSSpectrum], models: Mapping[str, Any] | None = None,
              *, constraints: Sequence[Any] = (), background: str | Mapping[str, str] = "shirley",
              max_nfev: int = 600) -> JointFit:
    """Fit several regions of one sample together with constraints across them.

    Parameters
    ----------
    spectra : mapping region → XPSSpectrum, or sequence (keyed by their ``region``)
    models : mapping region → preset name or component list, optional
        Default: each region's preset.
    constraints : sequence of SharedShift / AreaTie
        See :func:`stoichiometric_tie`, :func:`ni3p_tie`, :class:`SharedShift`.
        A tie's source must not itself be tied.
    background : str or mapping region → str
        ``"shirley"``, ``"active-shirley"``, ``"linear"``, ``"tougaard"``, ``"none"``.
    max_nfev : int
        Most evaluations of the joint model.

    Returns
    -------
    JointFit
        An :class:`ncmsurf.FitResult` with a verdict: ``.fits`` (region →
        XPSFit with the joint covariance mapped onto its parameters),
        ``.params``, ``.covariance``, ``.charge_shift``, ``.fraction(region,
        name)``, ``.area_covariance()``, ``.region_areas()``, ``.constraints``.

    Raises
    ------
    FitError
        Unknown regions or components in a constraint, chained ties, a tie
        on a doublet with a free area ratio.
    """
    if not isinstance(spectra, Mapping):
        items = list(spectra)
        spectra = {normalize_region(s.region or f"region {i}"): s for i, s in enumerate(items)}
    spectra = dict(spectra)
    models = {r: (models or {}).get(r, r) for r in spectra}
    bgs = {r: (background if isinstance(background, str) else background.get(r, "shirley")) for r in spectra}
    shifts = [c for c in constraints if isinstance(c, SharedShift)]
    ties = [c for c in constraints if isinstance(c, AreaTie)]
    if len(shifts) > 1:
        raise FitError("constraints: give at most one SharedShift")
    other = [c for c in constraints if not isinstance(c, (SharedShift, AreaTie))]
    if other:
        raise FitError(f"constraints: unknown constraint(s) {other}")
    # compile each region
    names: list[str] = []
    init: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    regions: list[_Region] = []
    raw: list[tuple[str, Compiled, XPSSpectrum, np.ndarray, np.ndarray, np.ndarray, str | None]] = []
    shift_regs = set() if not shifts else set(shifts[0].regions or spectra)
    ref = shifts[0].reference if shifts else None
    for r, spec in spectra.items():
        if not isinstance(spec, XPSSpectrum):
            raise FitError(f"fit_joint: {r!r} is not an XPSSpectrum")
    # the starting shift (the reference line located in its spectrum), so that charged data are judged
    # against the presets' windows at their shifted positions
    ref_at: float | None = None
    s0 = 0.0
    if ref is not None:
        if ref[0] not in spectra:
            raise FitError(f"constraints: the shift reference region {ref[0]!r} is not among the spectra "
                           f"{list(spectra)}")
        comps0, _ = resolve_model(models[ref[0]], spectra[ref[0]].region,
                                  excitation_energy=spectra[ref[0]].excitation_energy)
        cref = next((c for c in comps0 if c.name == ref[1]), None)
        if cref is None:
            raise FitError(f"constraints: the shift reference {ref} is not a component of {ref[0]!r}")
        ref_at = float(cref.center if shifts[0].at is None else shifts[0].at)
        s0 = _shift_start(spectra[ref[0]], shifts[0], ref_at)
    for r, spec in spectra.items():
        be = spec.binding_energy
        sr = s0 if r in shift_regs else 0.0
        comps, preset = resolve_model(models[r], spec.region, (float(be.min()) - sr, float(be.max()) - sr),
                                      excitation_energy=spec.excitation_energy)
        order = np.argsort(be, kind="stable")
        raw.append((r, compile_model(comps), spec, be[order], spec.intensity[order], order, preset))
    tied_targets = {t.target for t in ties}
    for t in ties:
        for reg_name, _comp in (t.target, t.source):
            if reg_name not in spectra:
                raise FitError(f"constraints: region {reg_name!r} of {t} not among the spectra {list(spectra)}")
        if (t.source[0], t.source[1]) in tied_targets:
            raise FitError(f"constraints: chained ties are not supported ({t})")
    for r, cm, spec, x, y, order, preset in raw:
        tie_here = {t.target[1]: t for t in ties if t.target[0] == r}
        for cname in tie_here:
            if cname not in cm.main:
                raise FitError(f"constraints: {cname!r} is not a main component of {r!r} ({cm.main})")
            comp = cm.components[[c.name for c in cm.components].index(cname)]
            if isinstance(comp, Doublet) and comp.ratio_bounds is not None:
                raise FitError(f"constraints: {r} {cname} has a free doublet ratio; fix it to tie its area")
        L_rows: list[dict[int, float]] = []
        b = np.zeros(cm.nfree)
        tied: dict[int, tuple[AreaTie, list[int]]] = {}
        for i, pname in enumerate(cm.names):
            comp_name, _, kind = pname.rpartition(".")
            if kind == "area" and comp_name in tie_here:
                L_rows.append({})
                tied[i] = (tie_here[comp_name], [])
                continue
            if ref is not None and r in shift_regs and kind == "center" and (r, comp_name) == tuple(ref):
                at = shifts[0].at
                comp = cm.components[[c.name for c in cm.components].index(comp_name)]
                b[i] = comp.center if at is None else float(at)
                L_rows.append({-1: 1.0})  # shift column, filled below
                continue
            names.append(f"{r}|{pname}")
            init.append(cm.init[i])
            lo.append(cm.lo[i])
            hi.append(cm.hi[i])
            row = {len(names) - 1: 1.0}
            if r in shift_regs and kind == "center":
                row[-1] = 1.0
            L_rows.append(row)
        bg_idx = None
        if bgs[r] == "active-shirley":
            names += [f"{r}|bg.offset", f"{r}|bg.k"]
            init += [float(np.mean(y[:5])), 0.0]
            lo += [-np.inf, -np.inf]
            hi += [np.inf, np.inf]
            bg_idx = (len(names) - 2, len(names) - 1)
        bg = np.zeros_like(y) if bgs[r] == "active-shirley" else static_background(bgs[r], x, y)
        w = poisson_weights(y, spec.units)
        regions.append(_Region(r, spec, x, y, order, cm, preset, np.ones_like(y) if w is None else w,
                               w is not None, bg, np.zeros((0, 0)), b, bg_idx, tied, bgs[r]))
        regions[-1].L = L_rows  # type: ignore[assignment]  # converted below
    shift_index = None
    if shifts:
        if ref is not None and not any(r.name == ref[0] and f"{ref[1]}.center" in r.cm.names for r in regions):
            raise FitError(f"constraints: the shift reference {ref} is not a free centre of the fitted regions")
        names.append("shift")
        init.append(0.0)
        lo.append(shifts[0].bounds[0])
        hi.append(shifts[0].bounds[1])
        shift_index = len(names) - 1
    nq = len(names)
    for reg in regions:
        rows: list[dict[int, float]] = reg.L  # type: ignore[assignment]
        L = np.zeros((reg.cm.nfree, nq))
        for i, row in enumerate(rows):
            for j, v in row.items():
                L[i, shift_index if j == -1 else j] += v
        reg.L = L
    for reg in regions:
        for i, (t, _) in list(reg.tied.items()):
            src = next(rr for rr in regions if rr.name == t.source[0])
            cnames = src.cm.main + src.cm.satellites
            if t.source[1] is None:
                idx = list(range(len(cnames)))
            else:
                if t.source[1] not in cnames:
                    raise FitError(f"constraints: {t.source[1]!r} is not a component of {t.source[0]!r}")
                idx = [cnames.index(t.source[1])]
            reg.tied[i] = (t, idx)
    lo_a = np.asarray(lo, dtype=float)
    hi_a = np.asarray(hi, dtype=float)
    q0 = np.clip(np.asarray(init, dtype=float), lo_a, hi_a)
    # fallback start (a region whose own fit does not converge): per-region NNLS at the starting shapes
    for reg in regions:
        p0 = reg.L @ q0 + reg.b
        pa = initial_areas(reg.cm, p0, reg.x, reg.y - (reg.bg if reg.bg_idx is None else
                                                         static_background("shirley", reg.x, reg.y)))
        for i, pname in enumerate(reg.cm.names):
            if pname.endswith(".area") and i not in reg.tied:
                j = int(np.flatnonzero(reg.L[i])[0])
                q0[j] = pa[i]
    with _one_blas_thread():
        q0 = _warm_start(regions, np.clip(q0, lo_a, hi_a), lo_a, hi_a, shift_index, s0, ref, shift_regs)
        return _solve_joint(regions, names, q0, lo_a, hi_a, shift_index, list(constraints), max_nfev, shift_regs)


def _solve_joint(regions: list[_Region], names: list[str], q0: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 shift_index: int | None, constraints: list[Any], max_nfev: int, shift_regs: set[str]) -> JointFit:
    nq = len(names)

    def model(q: np.ndarray, jac: bool) -> tuple[np.ndarray, np.ndarray | None]:
        res: list[np.ndarray] = []
        J: list[np.ndarray] = []
        for reg in regions:
            p, dp = _local(reg, q, regions)
            pk, Jp, _ = evaluate(reg.cm, p, reg.x, jac=jac)
            if reg.bg_idx is not None:
                b0, k = q[reg.bg_idx[0]], q[reg.bg_idx[1]]
                S = cumulative_integral(reg.x, pk)
                m = pk + b0 + k * S
            else:
                m = pk + reg.bg
            res.append((m - reg.y) * reg.w)
            if jac:
                assert Jp is not None
                Jq = Jp @ dp
                if reg.bg_idx is not None:
                    Jq = Jq + k * cumulative_integral(reg.x, Jq.T).T
                    Jq[:, reg.bg_idx[0]] += 1.0
                    Jq[:, reg.bg_idx[1]] += S
                J.append(Jq * reg.w[:, None])
        return np.concatenate(res), (np.vstack(J) if jac else None)

    cache: dict[str, Any] = {}

    def both(q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = q.tobytes()
        if cache.get("key") != key:
            r, J = model(q, True)
            cache.update(key=key, r=r, J=J)
        return cache["r"], cache["J"]

    def fun(q: np.ndarray) -> np.ndarray:
        return both(q)[0]  # type: ignore[no-any-return]

    def jacf(q: np.ndarray) -> np.ndarray:
        return both(q)[1]  # type: ignore[no-any-return]

    try:
        sol = least_squares(fun, q0, jac=jacf, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=max_nfev,
                            ftol=1e-9, xtol=1e-9, gtol=1e-9)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"fit_joint: solver failed: {exc}") from exc
    q = sol.x
    resid, J = both(q)
    dof = max(resid.size - nq, 1)
    chisqr = float(resid @ resid)
    redchi = chisqr / dof
    norms = np.linalg.norm(J, axis=0)
    noeffect = norms <= 1e-9 * max(float(norms.max(initial=0.0)), 1e-300)
    Jc = J.copy()
    Jc[:, noeffect] = 0.0
    cv = covariance_from_jacobian(Jc, residual=resid, dof=dof, scale=True)
    cov = cv.matrix
    ok = bool(sol.success) and sol.status > 0
    msg = str(sol.message)
    undetermined = [names[i] for i in np.flatnonzero(~cv.identifiable)]
    if undetermined:
        msg += f"; not determined by the data (stderr NaN): {', '.join(undetermined)}"
    fits: dict[str, XPSFit] = {}
    keys: list[str] = []
    areas: list[np.ndarray] = []
    grows: list[np.ndarray] = []
    shift = float(q[shift_index]) if shift_index is not None else 0.0
    for reg in regions:
        p, dp = _local(reg, q, regions)
        extra = [] if reg.bg_idx is None else [reg.bg_idx[0], reg.bg_idx[1]]
        D = np.vstack([dp] + [np.eye(nq)[j] for j in extra])
        pfull = np.concatenate([p, q[extra]]) if extra else p
        cov_r = _lin(D, cov)
        pk = evaluate(reg.cm, p, reg.x)[0]
        if reg.bg_idx is not None:
            b0, k = float(q[reg.bg_idx[0]]), float(q[reg.bg_idx[1]])
            bgc = b0 + k * cumulative_integral(reg.x, pk)
            with np.errstate(invalid="ignore"):
                e = np.sqrt(np.diag(cov_r))
            bgp = {"bg.offset": (b0, float(e[-2])), "bg.k": (k, float(e[-1]))}
        else:
            bgc, bgp = reg.bg, {}
        rr = ((pk + bgc) - reg.y) * reg.w
        s_ = Solution(pfull, cov_r, pk, bgc, ok, msg, float(rr @ rr), float(rr @ rr) / max(reg.y.size - 1, 1),
                      int(sol.nfev), bgp, condition=float(cv.condition))
        # the region's result is judged against its bounds at the shifted positions (the centres it reports)
        cm_r = compile_model(reg.cm.components, shift=shift) if reg.name in shift_regs and shift else reg.cm
        fits[reg.name] = build_result(reg.spec, reg.x, reg.y, reg.order, cm_r, s_, background=reg.background,
                                      preset=reg.preset, energy_range=None, charge_shift=shift,
                                      stderr_method="joint-covariance", weights=reg.w if reg.weighted else None)
        comps = reg.cm.main + reg.cm.satellites
        window = (float(reg.x.min()), float(reg.x.max()))
        a, G = component_areas(reg.cm, p, comps, window)
        keys += [f"{reg.name}|{c}" for c in comps]
        areas.append(a)
        grows.append(G @ dp)
    G_all = np.vstack(grows)
    a_all = np.concatenate(areas)
    acov = _lin(G_all, cov)
    quality = _verdict(ok, msg, names, q, cov, lo, hi, shift_index, fits)
    spec0 = regions[0].spec
    units = [("eV" if n == "shift" else param_unit(n.split("|", 1)[1], next(
        r.spec.units for r in regions if r.name == n.split("|", 1)[0]))) for n in names]
    data_vars: dict[str, Any] = {"area_value": ("area_key", a_all), "area_cov": (("area_key", "area_key_b"), acov)}
    coords: dict[str, Any] = {"area_key": ("area_key", np.asarray(keys, dtype=str)),
                              "area_key_b": ("area_key_b", np.asarray(keys, dtype=str))}
    region_attrs: list[dict[str, Any]] = []
    for k, f in enumerate(fits.values()):
        pre = _PREFIX.format(k)
        f_vars, f_coords, f_attrs = _fit_parts(f)
        for target, items in ((data_vars, f_vars), (coords, f_coords)):
            for vname, (dims, values) in items.items():
                target[pre + vname] = (tuple(pre + d for d in dims), values)
        region_attrs.append(f_attrs)
    notes = [c.note if isinstance(c, AreaTie) and c.note else repr(c) for c in constraints]
    hv = float(spec0.excitation_energy)
    attrs: dict[str, Any] = {
        "regions": json.dumps([r.name for r in regions]), "region_attrs": json.dumps(region_attrs, default=str),
        "constraints": json.dumps(notes), "redchi": float(redchi), "chisqr": chisqr, "dof": int(dof),
        "nfev": int(sol.nfev), "excitation_energy": hv,
    }
    src = spec0.meta.get("excitation_energy_source")
    if isinstance(src, str):
        attrs["excitation_energy_source"] = src
    sample = next((r.spec.sample for r in regions if r.spec.sample is not None), None)
    result = JointFit.build(
        names=names, values=q, covariance=cov, units=units, success=ok, message=msg, quality=quality,
        citations=["levenberg-trf", "scofield1976"], model=" + ".join(r.name for r in regions), sample=sample,
        source={"regions": [r.name for r in regions]}, data_vars=data_vars, coords=coords, attrs=attrs)
    object.__setattr__(result, "_fits_cache", fits)
    return result


def _fit_parts(f: XPSFit) -> tuple[dict[str, tuple[tuple[str, ...], np.ndarray]],
                                   dict[str, tuple[tuple[str, ...], np.ndarray]], dict[str, Any]]:
    """A region fit's variables, coordinates (name → (dims, values)) and attributes, without building a Dataset."""
    parts = getattr(f, "_parts", None)
    if parts is not None:  # the result core keeps a fresh result's parts until something needs its Dataset
        dv, cs, a = parts

        def norm(name: str, v: Any) -> tuple[tuple[str, ...], np.ndarray]:
            if isinstance(v, tuple):
                dims = (v[0],) if isinstance(v[0], str) else tuple(v[0])
                return tuple(str(d) for d in dims), np.asarray(v[1])
            if isinstance(v, xr.Variable | xr.DataArray):
                return tuple(str(d) for d in v.dims), np.asarray(v.values)
            return (name,), np.asarray(v)  # a coordinate given as plain values names its own dimension

        return ({str(k): norm(str(k), v) for k, v in dv.items()}, {str(k): norm(str(k), v) for k, v in cs.items()},
                dict(a))
    ds = f.to_dataset()
    out_v = {str(k): (tuple(str(d) for d in v.dims), np.asarray(v.values)) for k, v in ds.data_vars.items()}
    out_c = {str(k): (tuple(str(d) for d in v.dims), np.asarray(v.values)) for k, v in ds.coords.items()}
    return out_v, out_c, dict(ds.attrs)


def _verdict(ok: bool, msg: str, names: list[str], q: np.ndarray, cov: np.ndarray, lo: np.ndarray, hi: np.ndarray,
             shift_index: int | None, fits: Mapping[str, XPSFit]) -> Quality:
    """The joint verdict: the solver's word, each region's reasons (prefixed), the shift checks."""
    failed: list[tuple[str, str]] = []
    suspect: list[tuple[str, str]] = []
    if not ok:
        failed.append(("not_converged", msg or "the joint solve did not converge"))
    for r, f in fits.items():
        fq = f.quality
        target = failed if fq.level == "failed" else suspect
        for code, m in fq.reasons:
            if ok or code != "not_converged":
                target.append((code, f"{r}: {m}"))
    if shift_index is not None:
        s = float(q[shift_index])
        span = hi[shift_index] - lo[shift_index]
        if s - lo[shift_index] <= 1e-4 * span or hi[shift_index] - s <= 1e-4 * span:
            suspect.append(("at_bound", f"the shared charge shift {s:+.3f} eV is at a bound "
                                        f"({lo[shift_index]:g}, {hi[shift_index]:g})"))
        if not math.isfinite(float(cov[shift_index, shift_index])):
            suspect.append(("unidentifiable", "the shared charge shift is not determined by the data"))
    return Quality.from_checks(suspect=list(dict.fromkeys(suspect)), failed=list(dict.fromkeys(failed)))
