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
together with :func:`scipy.optimize.least_squares`; the covariance of ``q``
is ``(JᵀJ)⁻¹ · redχ²`` and every derived number (areas, fractions, ratios
across regions) is propagated from it.

Examples
--------
>>> from ncmsurf.datasets.xps import synthetic_coated_ncm
>>> case = synthetic_coated_ncm(seed=0)
>>> res = fit_joint(case["spectra"], case["models"], constraints=case["constraints"])
>>> res.success
True
>>> v, e = res.fraction("O 1s", "Al-O")
>>> abs(v - case["truth"]["al_o_share"]) < 4 * e
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from ncmsurf.core.errors import FitError, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.xps._backgrounds import cumulative_integral
from ncmsurf.xps._engine import Compiled, Solution, compile_model, evaluate, initial_areas, static_background
from ncmsurf.xps._fit import XPSFit, _area_jacobian, build_result, poisson_weights, resolve_model
from ncmsurf.xps._peaks import Doublet, Peak, normalize_region

__all__ = ["AreaTie", "JointFit", "SharedShift", "fit_joint", "ni3p_tie", "stoichiometric_tie"]


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
    bg: np.ndarray
    L: np.ndarray  # local free params = L @ q + b (before area ties)
    b: np.ndarray
    bg_idx: tuple[int, int] | None  # active Shirley (offset, k) indices in q
    tied: dict[int, tuple[AreaTie, list[int]]]  # local index -> tie, source component indices


class JointFit:
    """Result of :func:`fit_joint`: per-region :class:`XPSFit` plus the joint parameters and covariance."""

    def __init__(self, names: list[str], q: np.ndarray, cov: np.ndarray | None, fits: dict[str, XPSFit],
                 regions: list[_Region], success: bool, message: str, redchi: float, shift_index: int | None,
                 constraints: list[Any]) -> None:
        self.names = names
        self.values = q
        self.covariance = cov if cov is not None else np.full((q.size, q.size), np.nan)
        self.fits = fits
        self._regions = regions
        self.success = success
        self.message = message
        self.redchi = redchi
        self._shift = shift_index
        self.constraints = [c.note if isinstance(c, AreaTie) and c.note else repr(c) for c in constraints]

    def __bool__(self) -> bool:
        return self.success

    def __repr__(self) -> str:
        return (f"<JointFit {', '.join(self.fits)}: {len(self.names)} parameters, redchi={self.redchi:.3g}, "
                f"{'ok' if self.success else 'FAILED: ' + self.message}>")

    @property
    def stderr(self) -> np.ndarray:
        """Standard errors of the joint parameters."""
        return np.sqrt(np.clip(np.diag(self.covariance), 0, None))  # type: ignore[no-any-return]

    @property
    def params(self) -> dict[str, tuple[float, float]]:
        """Joint parameters (``"region|param"``, ``"shift"``) → (value, stderr)."""
        return {n: (float(v), float(e)) for n, v, e in zip(self.names, self.values, self.stderr)}

    @property
    def charge_shift(self) -> tuple[float, float]:
        """The shared charge shift (value, stderr), eV (0, 0 without :class:`SharedShift`)."""
        if self._shift is None:
            return 0.0, 0.0
        return float(self.values[self._shift]), float(self.stderr[self._shift])

    def _area_jac(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        keys: list[str] = []
        areas: list[np.ndarray] = []
        rows: list[np.ndarray] = []
        for reg in self._regions:
            p, dp = _local(reg, self.values, self._regions)
            comps = reg.cm.main + reg.cm.satellites
            a, G = _area_jacobian(reg.cm, p, comps)
            keys += [f"{reg.name}|{c}" for c in comps]
            areas.append(a)
            rows.append(G @ dp)
        return keys, np.concatenate(areas), np.vstack(rows)

    def area_covariance(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Every component's area (``"region|component"``) and their joint covariance."""
        keys, a, G = self._area_jac()
        return keys, a, G @ np.nan_to_num(self.covariance) @ G.T

    def fraction(self, region: str, name: str, *, among: Sequence[str] | None = None) -> tuple[float, float]:
        """Share of ``name`` among components of ``region`` (default: its main ones), joint covariance."""
        keys, a, cov = self.area_covariance()
        fit = self.fits[region]
        among_l = list(fit.main_components if among is None else among)
        if name not in among_l:
            among_l.append(name)
        idx = []
        for n in among_l:
            key = f"{region}|{n}"
            if key not in keys:
                raise ValidationError(f"fraction: {n!r} is not a component of {region!r}")
            idx.append(keys.index(key))
        s = float(a[idx].sum())
        k = among_l.index(name)
        g = -a[idx][k] / s**2 * np.ones(len(idx))
        g[k] += 1.0 / s
        var = float(g @ cov[np.ix_(idx, idx)] @ g)
        return float(a[idx][k] / s), float(np.sqrt(var)) if var >= 0 else float("nan")

    def region_areas(self) -> tuple[list[str], np.ndarray, np.ndarray, list[float], float]:
        """Region totals, their joint covariance, area-weighted BEs and the photon energy (for quantify)."""
        keys, a, G = self._area_jac()
        names = list(self.fits)
        M = np.zeros((len(names), len(keys)))
        for j, k in enumerate(keys):
            M[names.index(k.split("|", 1)[0]), j] = 1.0
        tot = M @ a
        cov = M @ G @ np.nan_to_num(self.covariance) @ G.T @ M.T
        bes = []
        for n in names:
            f = self.fits[n]
            w = np.array([f.areas[m][0] for m in f.main_components])
            c = np.array([f.params[f"{m}.center"][0] for m in f.main_components])
            bes.append(float((w * c).sum() / w.sum()) if w.sum() > 0 else float(c.mean()))
        hv = next(iter(self.fits.values())).excitation_energy
        return names, tot, cov, bes, hv


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

    Returns
    -------
    JointFit
        ``.fits`` (region → XPSFit with the joint covariance mapped onto its
        parameters), ``.params``, ``.covariance``, ``.charge_shift``,
        ``.fraction(region, name)``, ``.area_covariance()``, ``.constraints``.

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
    for r, spec in spectra.items():
        if not isinstance(spec, XPSSpectrum):
            raise FitError(f"fit_joint: {r!r} is not an XPSSpectrum")
        be = spec.binding_energy
        comps, preset = resolve_model(models[r], spec.region, (float(be.min()), float(be.max())),
                                      excitation_energy=spec.excitation_energy)
        order = np.argsort(be, kind="stable")
        raw.append((r, compile_model(comps), spec, be[order], spec.intensity[order], order, preset))
    tied_targets = {t.target for t in ties}
    for t in ties:
        for reg_name, _comp in (t.target, t.source):
            if reg_name not in spectra:
                raise FitError(f"constraints: region {reg_name!r} of {t} not among the spectra {list(spectra)}")
        if t.source[0] in {tt[0] for tt in tied_targets} and (t.source[0], t.source[1]) in tied_targets:
            raise FitError(f"constraints: chained ties are not supported ({t})")
    shift_regs = set() if not shifts else set(shifts[0].regions or spectra)
    ref = shifts[0].reference if shifts else None
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
                t = tie_here[comp_name]
                tied[i] = (t, [])
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
        regions.append(_Region(r, spec, x, y, order, cm, preset, np.ones_like(y) if w is None else w, bg,
                               np.zeros((0, 0)), b, bg_idx, tied))
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
    q0 = np.clip(np.asarray(init, dtype=float), lo, hi)
    # starting areas: per-region NNLS at the starting shapes
    for reg in regions:
        p0 = reg.L @ q0 + reg.b
        pa = initial_areas(reg.cm, p0, reg.x, reg.y - (reg.bg if reg.bg_idx is None else
                                                         static_background("shirley", reg.x, reg.y)))
        for i, pname in enumerate(reg.cm.names):
            if pname.endswith(".area") and i not in reg.tied:
                j = int(np.flatnonzero(reg.L[i])[0])
                q0[j] = pa[i]
    q0 = np.clip(q0, lo, hi)

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

    def fun(q: np.ndarray) -> np.ndarray:
        return model(q, False)[0]

    def jacf(q: np.ndarray) -> np.ndarray:
        J = model(q, True)[1]
        assert J is not None
        return J

    try:
        sol = least_squares(fun, q0, jac=jacf, bounds=(lo, hi), method="trf", x_scale="jac", max_nfev=max_nfev,
                            ftol=1e-9, xtol=1e-9, gtol=1e-9)
    except (ValueError, np.linalg.LinAlgError) as exc:
        raise FitError(f"fit_joint: solver failed: {exc}") from exc
    q = sol.x
    resid, J = model(q, True)
    assert J is not None
    dof = max(resid.size - nq, 1)
    chisqr = float(resid @ resid)
    redchi = chisqr / dof
    cov: np.ndarray | None
    try:
        _, s, vt = np.linalg.svd(J, full_matrices=False)
        if s[-1] <= np.finfo(float).eps * max(J.shape) * s[0]:
            cov = None
        else:
            cov = (vt.T / s**2) @ vt * redchi
    except np.linalg.LinAlgError:
        cov = None
    ok = bool(sol.success) and cov is not None
    msg = str(sol.message) + ("" if cov is not None else "; covariance singular (parameters not identifiable)")
    fits: dict[str, XPSFit] = {}
    for reg in regions:
        p, dp = _local(reg, q, regions)
        extra = [] if reg.bg_idx is None else [reg.bg_idx[0], reg.bg_idx[1]]
        D = np.vstack([dp] + [np.eye(nq)[j] for j in extra])
        pfull = np.concatenate([p, q[extra]]) if extra else p
        cov_r = D @ cov @ D.T if cov is not None else None
        pk = evaluate(reg.cm, p, reg.x)[0]
        if reg.bg_idx is not None:
            b0, k = float(q[reg.bg_idx[0]]), float(q[reg.bg_idx[1]])
            bgc = b0 + k * cumulative_integral(reg.x, pk)
            e = np.sqrt(np.clip(np.diag(cov_r), 0, None)) if cov_r is not None else np.full(pfull.size, np.nan)
            bgp = {"bg.offset": (b0, float(e[-2])), "bg.k": (k, float(e[-1]))}
        else:
            bgc, bgp = reg.bg, {}
        rr = ((pk + bgc) - reg.y) * reg.w
        s_ = Solution(pfull, cov_r, pk, bgc, ok, msg, float(rr @ rr), float(rr @ rr) / max(reg.y.size - 1, 1),
                      int(sol.nfev), bgp)
        fits[reg.name] = build_result(reg.spec, reg.x, reg.y, reg.order, reg.cm, s_, background=bgs[reg.name],
                                      preset=reg.preset, energy_range=None,
                                      charge_shift=float(q[shift_index]) if shift_index is not None else 0.0,
                                      stderr_method="joint-covariance")
    return JointFit(names, q, cov, fits, regions, ok, msg, redchi, shift_index, list(constraints))
