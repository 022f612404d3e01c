"""Quantification: atomic percent from areas / (RSF × T(KE) × KE^x), with uncertainties.

CasaXPS convention (verified on FeO_analyzed.vms, where the stored MFP
exponent is 0): the corrected area is ``raw / (RSF * T(KE) * KE**x)`` with
``T`` the file's transmission column interpolated linearly at the
component's kinetic energy ``hν - BE``. The escape-depth exponent ``x``
defaults to 0.75 (the IMFP grows about as KE^0.75, e.g. TPP-2M over
200–2000 eV); pass ``imfp_exponent=0`` for the plain RSF convention. The
corrections applied are stated on the result.

Examples
--------
>>> at = quantify({"C 1s": 1000.0, "O 1s": 2930.0}, imfp_exponent=0)
>>> round(at["C 1s"], 6), round(at["O 1s"], 6)
(50.0, 50.0)
>>> at = quantify({"C 1s": (1000.0, 30.0), "O 1s": (2930.0, 50.0)})
>>> at.imfp_exponent, round(at.stderr["C 1s"], 2), at.quality.level
(0.75, 0.86, 'good')
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfWarning, ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import Quality, register_citation
from ncmsurf.core.units import magnitude

__all__ = ["Quantification", "QuantificationWarning", "corrected_areas", "default_kinetic_energy", "quantify",
           "register_rsf", "rsf_sets"]

register_citation("scofield1976", "J. H. Scofield, J. Electron Spectrosc. Relat. Phenom. 8, 129 (1976)")

_USER_SETS: dict[str, dict[str, float]] = {}


@lru_cache(maxsize=1)
def _scofield() -> dict[str, float]:
    text = resources.files("ncmsurf.xps._data").joinpath("rsf_scofield_alka.json").read_text(encoding="utf-8")
    return {k: float(v) for k, v in json.loads(text).items() if not k.startswith("_")}


def rsf_sets() -> list[str]:
    """Names of the available RSF sets (shipped and registered).

    Examples
    --------
    >>> "scofield-alka" in rsf_sets()
    True
    """
    return ["scofield-alka", "scofield-mgka", "scofield", *sorted(_USER_SETS)]


def register_rsf(name: str, table: Mapping[str, float]) -> None:
    """Register an instrument RSF set (core level → RSF) under ``name``.

    Examples
    --------
    >>> register_rsf("my-kratos", {"C 1s": 0.278, "O 1s": 0.78})
    >>> quantify({"C 1s": 278.0, "O 1s": 780.0}, rsf="my-kratos", imfp_exponent=0)["O 1s"]
    50.0
    """
    if name in ("scofield-alka", "scofield-mgka", "scofield"):
        raise ValidationError(f"register_rsf: {name!r} is a shipped set and cannot be replaced")
    vals = {str(k): float(v) for k, v in table.items()}
    bad = [k for k, v in vals.items() if not v > 0]
    if bad:
        raise ValidationError(f"register_rsf: RSF must be > 0 for {bad}")
    _USER_SETS[name] = vals


def _core_level(name: str) -> str | None:
    m = re.match(r"^\s*([A-Za-z]{1,2})\s*(\d[spdf])(\s*\d/\d)?", name)
    if not m:
        return None
    return f"{m.group(1).capitalize()} {m.group(2).lower()}{(m.group(3) or '').strip()}"


class QuantificationWarning(NcmsurfWarning):
    """A quantification input is doubtful (default photon energy, missing transmission, ...)."""


def _table_level(name: str, hv: float) -> tuple[float, float] | None:
    """(cross-section relative to C 1s, area-weighted BE) of a core level from the core-level table."""
    from ncmsurf.xps._identify import _cross_section, core_levels

    lvl = _core_level(name)
    if lvl is None:
        return None
    el, sub = lvl.split(" ", 1)
    table = core_levels()["elements"].get(el)
    if table is None:
        return None
    parts = [(k, v) for k, v in table["levels"].items() if k == sub or (len(sub) == 2 and k.startswith(sub))]
    if not parts:
        return None
    cs = np.array([_cross_section(v["cs"], hv) for _, v in parts])
    be = np.array([float(v["be"]) for _, v in parts])
    if not cs.sum() > 0:
        return None
    return float(cs.sum()), float((cs * be).sum() / cs.sum())


def default_kinetic_energy(name: str, excitation_energy: float = 1486.6) -> float | None:
    """Kinetic energy (eV) of a core level named like ``"Ni 2p"`` from the shipped table, or None.

    Examples
    --------
    >>> round(default_kinetic_energy("C 1s"), 1)
    1201.8
    """
    lv = _table_level(name, float(excitation_energy))
    return None if lv is None else float(excitation_energy) - lv[1]


def _rsf_lookup(rsf: str | Mapping[str, float], hv: float = 1486.6) -> Callable[[str], float]:
    if isinstance(rsf, str):
        if rsf == "scofield-alka":
            table: dict[str, float] = dict(_scofield())
            table_hv: float | None = 1486.6
        elif rsf == "scofield-mgka":
            table, table_hv = {}, 1253.6
        elif rsf == "scofield":
            table, table_hv = {}, hv
        elif rsf in _USER_SETS:
            table, table_hv = _USER_SETS[rsf], None
        else:
            raise ValidationError(f"rsf: unknown set {rsf!r}; available: {rsf_sets()}")
    else:
        table, table_hv = {str(k): float(v) for k, v in rsf.items()}, None

    def get(name: str) -> float:
        for key in (name, _core_level(name) or "", (_core_level(name) or "")[:5].strip()):
            if key and key in table:
                return table[key]
        if table_hv is not None:
            lv = _table_level(name, table_hv)
            if lv is not None:
                return lv[0]
        raise ValidationError(f"rsf: no sensitivity factor for {name!r}; give rsf={{{name!r}: value}}")

    return get


class Quantification(dict):  # type: ignore[type-arg]
    """Atomic percent of each name (a ``dict``), with ``stderr``, ``covariance`` and the corrections applied.

    Attributes
    ----------
    stderr : dict
        Name → standard error of the atomic percent (NaN where the areas
        came without uncertainties).
    covariance : numpy.ndarray
        Covariance of the atomic percents (order of the keys).
    imfp_exponent : float
    transmission : str
        ``"file"`` (the spectra's transmission column), ``"given"`` or ``"none"``.
    rsf : str
        The RSF set (or ``"mapping"``).
    kinetic_energy : dict
        Name → kinetic energy used (eV).
    corrections : str
        One sentence stating what was applied (for reports and metric descriptions).
    quality : Quality
        The verdict: the worst of the input fits' verdicts (their reasons
        prefixed with the name), ``suspect`` with ``input`` when an area
        came without an uncertainty or a photon energy was assumed, and
        ``unidentifiable`` when an atomic percent's standard error exceeds
        its value; ``failed`` when an input fit failed.
    """

    stderr: dict[str, float]
    covariance: np.ndarray
    imfp_exponent: float
    transmission: str
    rsf: str
    kinetic_energy: dict[str, float]
    corrections: str
    quality: Quality

    def ratio(self, a: str, b: str) -> tuple[float, float]:
        """Atomic ratio ``a / b`` and its standard error (from the covariance).

        Examples
        --------
        >>> q = quantify({"Al 2p": (1.0, 0.05), "Ni 2p": (40.0, 1.0)}, imfp_exponent=0)
        >>> round(q.ratio("Al 2p", "Ni 2p")[0], 3)
        1.033
        """
        keys = list(self)
        i, j = keys.index(a), keys.index(b)
        va, vb = self[a], self[b]
        r = va / vb
        g = np.zeros(len(keys))
        g[i], g[j] = 1.0 / vb, -va / vb**2
        var = float(g @ self.covariance @ g)
        return float(r), float(np.sqrt(var)) if var >= 0 else float("nan")


def _check_source(obj: Any) -> None:
    src = None
    if isinstance(obj, XPSSpectrum):
        src = obj.meta.get("excitation_energy_source")
    else:
        ds = getattr(obj, "_ds", None)
        if ds is not None:
            src = ds.attrs.get("excitation_energy_source")
    if src == "default":
        warnings.warn("quantify: the photon energy of a spectrum was not in its file (default Al K-alpha assumed): "
                      "kinetic energies, transmission and IMFP corrections rest on that assumption",
                      QuantificationWarning, stacklevel=4)


def _input_quality(areas: Any) -> Quality:
    """The verdict the inputs bring: each fit's (reasons prefixed with its name), an assumed photon energy."""
    items: list[tuple[str, Any]] = []
    if isinstance(areas, Mapping):
        items = [(str(k), v) for k, v in areas.items()]
    elif isinstance(areas, Sequence) and not isinstance(areas, (str, bytes)):
        items = [(str(getattr(f, "region", None) or f"fit {i}"), f) for i, f in enumerate(areas)]
    else:
        items = [("input", areas)]
    q = Quality.good()
    for name, obj in items:
        fq = getattr(obj, "quality", None)
        if isinstance(fq, Quality) and fq.level != "good":
            reasons = [(c, f"{name}: {m}") for c, m in fq.reasons]
            q = q.with_reasons(failed=reasons) if fq.level == "failed" else q.with_reasons(suspect=reasons)
        src = None
        if isinstance(obj, XPSSpectrum):
            src = obj.meta.get("excitation_energy_source")
        elif getattr(obj, "_attrs", None) is not None:
            src = obj._attrs.get("excitation_energy_source")
        if src == "default":
            q = q.with_reasons(suspect=[("input", f"{name}: the photon energy was not in the file (Al K-alpha "
                                                  "assumed)")])
    return q


def _fit_total(f: Any) -> tuple[float, float, float | None]:
    """Total area, its variance (full area covariance) and the area-weighted BE of a fit-like object."""
    a = f.areas
    ds = f.to_dataset() if hasattr(f, "to_dataset") else None
    total = float(sum(v for v, _ in a.values()))
    if ds is not None and "area_cov" in ds:
        cov = np.asarray(ds["area_cov"].values, dtype=float)
        var = float(np.nansum(cov)) if np.all(np.isfinite(cov)) else float("nan")
    else:
        var = float(sum(e * e for _, e in a.values()))
    mains = f.main_components
    w = np.array([a[m][0] for m in mains])
    c = np.array([f.params[f"{m}.center"][0] for m in mains])
    be = float((w * c).sum() / w.sum()) if w.sum() > 0 else float(c.mean())
    return total, var, be


def _survey_areas(s: XPSSpectrum, kw: Mapping[str, Any]) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Main-line areas of the elements identify() finds, with Poisson variances, and their kinetic energies."""
    from ncmsurf.xps._backgrounds import shirley
    from ncmsurf.xps._identify import suggest_regions

    regs = suggest_regions(s, **kw)
    be = s.binding_energy
    order = np.argsort(be)
    x, y = be[order], s.intensity[order]
    step = float(np.median(np.diff(x)))
    vals: dict[str, float] = {}
    var: dict[str, float] = {}
    ke: dict[str, float] = {}
    for _, r in regs.iterrows():
        lo, hi = float(r.low) + 5.0, float(r.high) - 5.0  # the lines +- 5 eV
        m = (x >= lo) & (x <= hi)
        if m.sum() < 5:
            continue
        xx, yy = x[m], y[m]
        bg = shirley(xx, yy, average=2)
        vals[str(r.region)] = float(np.sum(yy - bg) * step)
        var[str(r.region)] = float(np.sum(np.clip(yy, 0, None) + np.clip(bg, 0, None)) * step * step)
        ke[str(r.region)] = s.excitation_energy - float(r.center)
    return vals, var, ke


def _collect(areas: Any, kinetic_energy: Mapping[str, Any] | None, hv: float | None, survey_kw: Mapping[str, Any],
             ) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, float], dict[str, float], float]:
    """names, values, covariance (NaN without uncertainties), KE, file transmission, photon energy."""
    from ncmsurf.xps._fit import XPSFit

    ke: dict[str, float] = {}
    file_t: dict[str, float] = {}
    names: list[str] = []
    vals: list[float] = []
    var: list[float] = []
    cov: np.ndarray | None = None
    photon = hv
    if isinstance(areas, XPSSpectrum):
        _check_source(areas)
        photon = areas.excitation_energy if hv is None else hv
        v, vv, k = _survey_areas(areas, survey_kw)
        names, vals, var = list(v), list(v.values()), [vv[n] for n in v]
        ke.update(k)
        t = areas.transmission
        if t is not None:
            kk = areas.kinetic_energy
            o = np.argsort(kk)
            for n in names:
                file_t[n] = float(np.interp(ke[n], kk[o], t[o]))
    elif hasattr(areas, "region_areas") and callable(areas.region_areas):  # a joint fit: one covariance
        _check_source(areas)
        names, vv, cov, bes, photon_j = areas.region_areas()
        vals = list(vv)
        photon = photon_j if hv is None else hv
        ke.update({n: photon - b for n, b in zip(names, bes)})
        var = list(np.diag(cov))
    elif isinstance(areas, Mapping):
        for k, v in areas.items():
            names.append(str(k))
            if isinstance(v, tuple):
                vals.append(float(v[0]))
                var.append(float(v[1]) ** 2)
            elif isinstance(v, XPSFit):
                _check_source(v)
                tot, vr, be = _fit_total(v)
                vals.append(tot)
                var.append(vr)
                if be is not None:
                    ke[str(k)] = v.excitation_energy - be
                photon = v.excitation_energy if photon is None else photon
            else:
                vals.append(float(v))
                var.append(float("nan"))
    elif isinstance(areas, Sequence) and areas and all(isinstance(f, XPSFit) for f in areas):
        for f in areas:
            _check_source(f)
            name = f.region or f"fit {len(names)}"
            if name in names:
                raise ValidationError(f"quantify: two fits of region {name!r}")
            tot, vr, be = _fit_total(f)
            names.append(name)
            vals.append(tot)
            var.append(vr)
            if be is not None:
                ke[name] = f.excitation_energy - be
            photon = f.excitation_energy if photon is None else photon
            t = f.transmission
            if t is not None:
                kk = f.excitation_energy - f.binding_energy
                o = np.argsort(kk)
                file_t[name] = float(np.interp(ke[name], kk[o], t[o]))
    else:
        raise ValidationError("quantify: areas must be a mapping name -> area (or (area, stderr)), a list of "
                              "XPSFit, a joint fit, a survey XPSSpectrum, or a mapping name -> xarray stack")
    a = np.asarray(vals, dtype=float)
    bad = [n for n, v in zip(names, a) if not np.isfinite(v) or v < 0]
    if bad:
        raise ValidationError(f"quantify: areas must be finite and >= 0 ({bad})")
    photon = 1486.6 if photon is None else float(photon)
    if kinetic_energy is not None:
        ke.update({str(k): magnitude(v, "eV", name=f"kinetic_energy[{k}]") for k, v in kinetic_energy.items()})
    if cov is None:
        cov = np.diag(np.asarray(var, dtype=float))
    return names, a, cov, ke, file_t, photon


def _denominators(names: list[str], ke: dict[str, float], file_t: dict[str, float], rsf: Any, transmission: Any,
                  imfp_exponent: float, photon: float) -> tuple[np.ndarray, str, dict[str, float]]:
    if transmission is None and file_t and set(file_t) == set(names):
        transmission = file_t  # fits of spectra that carried a transmission column
        t_kind = "file"
    else:
        t_kind = "none" if transmission is None else "given"
    get = _rsf_lookup(rsf, photon)
    x = float(imfp_exponent)
    need = transmission is not None or x != 0.0

    def need_ke(name: str) -> float:
        if name not in ke:
            d = default_kinetic_energy(name, photon)
            if d is None:
                raise ValidationError(f"quantify: kinetic energy of {name!r} needed (transmission or "
                                      f"imfp_exponent={x:g} given); pass kinetic_energy={{{name!r}: KE}} or "
                                      "imfp_exponent=0")
            ke[name] = d
        return ke[name]

    if transmission is None:
        def T(name: str) -> float:
            return 1.0
    elif isinstance(transmission, XPSSpectrum):
        _check_source(transmission)
        t = transmission.transmission
        if t is None:
            raise ValidationError("transmission: the spectrum has no transmission column")
        k = transmission.kinetic_energy
        order = np.argsort(k)
        kk, tt = k[order], t[order]

        def T(name: str) -> float:
            e = need_ke(name)
            if not kk[0] <= e <= kk[-1]:
                raise ValidationError(f"transmission: KE {e:.2f} eV of {name!r} outside the column "
                                      f"({kk[0]:.2f}-{kk[-1]:.2f} eV)")
            return float(np.interp(e, kk, tt))
    elif callable(transmission):
        def T(name: str) -> float:
            return float(transmission(need_ke(name)))
    elif isinstance(transmission, Mapping):
        def T(name: str) -> float:
            if name not in transmission:
                raise ValidationError(f"transmission: no value for {name!r}")
            return float(transmission[name])
    else:
        raise ValidationError("transmission: expected an XPSSpectrum, a callable T(KE) or a mapping name -> T")
    den = np.empty(len(names))
    for i, name in enumerate(names):
        r = get(name)
        mfp = need_ke(name) ** x if x != 0.0 else 1.0
        d = r * T(name) * mfp
        if not d > 0:
            raise ValidationError(f"quantify: RSF x T x MFP of {name!r} is {d}, must be > 0")
        den[i] = d
    if need:
        for name in names:
            need_ke(name)
    return den, t_kind, ke


def corrected_areas(areas: Any, *, rsf: str | Mapping[str, float] = "scofield-alka", transmission: Any = None,
                    kinetic_energy: Mapping[str, Any] | None = None, imfp_exponent: float = 0.75,
                    excitation_energy: float | None = None) -> dict[str, float]:
    """Areas divided by ``RSF × T(KE) × KE**imfp_exponent`` (CasaXPS "Area/(RSF*T*MFP)").

    Parameters are those of :func:`quantify`.

    Examples
    --------
    >>> corrected_areas({"O 1s": 293.0}, imfp_exponent=0)
    {'O 1s': 100.0}
    """
    names, a, _, ke, file_t, photon = _collect(areas, kinetic_energy, excitation_energy, {})
    den, _, _ = _denominators(names, ke, file_t, rsf, transmission, imfp_exponent, photon)
    return {n: float(v / d) for n, v, d in zip(names, a, den)}


def _atomic(c: np.ndarray, cov_c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = c.sum(axis=-1, keepdims=True)
    at = 100.0 * c / s
    n = c.shape[-1]
    J = 100.0 * (np.eye(n) / s[..., None] - c[..., :, None] / (s[..., None] ** 2))
    return at, J @ cov_c @ np.swapaxes(J, -1, -2)


def _quantify_stack(areas: Mapping[str, Any], rsf: Any, transmission: Any, kinetic_energy: Any,
                    imfp_exponent: float, excitation_energy: float | None) -> xr.Dataset:
    names: list[str] = []
    arrs: list[xr.DataArray] = []
    errs: list[xr.DataArray] = []
    region_be: dict[str, float] = {}
    for k, v in areas.items():
        names.append(str(k))
        if isinstance(v, xr.Dataset):  # fit_stack output: total area over components
            arrs.append(v["areas"].sum("component"))
            errs.append(((v["areas_stderr"] ** 2).sum("component")) ** 0.5)
        elif isinstance(v, xr.DataArray):
            arrs.append(v)
            errs.append(xr.full_like(v, np.nan, dtype=float))
        else:
            raise ValidationError(f"quantify: stack input {k!r} must be an xarray DataArray or a fit_stack Dataset")
    da = xr.concat(arrs, dim="element").assign_coords(element=names).transpose(..., "element")
    de = xr.concat(errs, dim="element").assign_coords(element=names).transpose(..., "element")
    photon = 1486.6 if excitation_energy is None else float(excitation_energy)
    ke = {} if kinetic_energy is None else {str(k): magnitude(v, "eV", name="kinetic_energy")
                                            for k, v in kinetic_energy.items()}
    den, t_kind, ke = _denominators(names, ke, {}, rsf, transmission, imfp_exponent, photon)
    c = np.asarray(da.values, dtype=float) / den
    ec = np.asarray(de.values, dtype=float) / den
    cov_c = ec[..., :, None] * np.eye(len(names)) * ec[..., None, :]
    at, cov = _atomic(c, cov_c)
    err = np.sqrt(np.clip(np.diagonal(cov, axis1=-2, axis2=-1), 0, None))
    err = np.where(np.isfinite(ec).all(axis=-1, keepdims=True), err, np.nan)
    out = xr.Dataset({"atomic_percent": (da.dims, at), "atomic_percent_stderr": (da.dims, err)},
                     coords={k: v for k, v in da.coords.items()})
    out.attrs.update(_statement(imfp_exponent, t_kind, rsf, ke, names))
    out.attrs["region_be"] = region_be
    q = Quality.good()
    if not np.all(np.isfinite(err)):
        q = q.with_reasons(suspect=[("input", "some areas came without an uncertainty: their atomic percents have "
                                              "none (NaN)")])
    out.attrs["quality"] = q.to_json()  # Quality.from_json(ds.attrs["quality"])
    return out


def _statement(x: float, t_kind: str, rsf: Any, ke: dict[str, float], names: list[str]) -> dict[str, Any]:
    rname = rsf if isinstance(rsf, str) else "mapping"
    t_text = {"file": "the transmission function of the file", "given": "the given transmission",
              "none": "no transmission correction"}[t_kind]
    text = (f"areas / (RSF [{rname}] x T(KE) x KE^{x:g}): {t_text}, "
            + (f"IMFP correction KE^{x:g}" if x else "no IMFP correction")
            + "; stderr from the area uncertainties (RSF uncertainty not included)")
    return {"imfp_exponent": float(x), "transmission": t_kind, "rsf": rname,
            "kinetic_energy": {n: float(ke[n]) for n in names if n in ke}, "corrections": text}


def quantify(areas: Any, *, rsf: str | Mapping[str, float] = "scofield-alka", transmission: Any = None,
             kinetic_energy: Mapping[str, Any] | None = None, imfp_exponent: float = 0.75,
             excitation_energy: float | None = None, **identify_kw: Any) -> Any:
    """Atomic percent of each key from area / (RSF × T(KE) × KE^imfp_exponent), normalised to 100.

    Parameters
    ----------
    areas : mapping, list of XPSFit, joint fit, XPSSpectrum or mapping of stacks
        - name (core level such as ``"Ni 2p"`` or any component name) → raw
          area, ``(area, stderr)`` or an :class:`XPSFit`;
        - fits (each contributes the total area of its region, with the
          variance from its full area covariance, at the area-weighted
          kinetic energy of its main components; when every fitted spectrum
          carried a transmission column and ``transmission`` is None, the
          file's transmission at that energy is used);
        - a joint fit (:func:`ncmsurf.xps.fit_joint`): region totals with the
          joint covariance;
        - a survey spectrum: the elements :func:`ncmsurf.xps.identify` finds,
          each from its main line (Shirley background, Poisson counting
          variance), with the file's transmission when present;
        - name → ``xarray.DataArray`` of areas over stack dimensions (a depth
          profile, a map) or → a :func:`ncmsurf.xps.fit_stack` Dataset:
          returns an ``xarray.Dataset`` with ``atomic_percent`` and
          ``atomic_percent_stderr`` over (stack dims..., ``element``).
    rsf : str or mapping
        ``"scofield-alka"`` (shipped), ``"scofield-mgka"``, ``"scofield"``
        (Scofield cross-sections at ``excitation_energy``), a registered set
        (:func:`register_rsf`) or name → RSF. Names are matched exactly, then
        by their core level (``"Fe 2p main"`` → ``"Fe 2p"``).
    transmission : XPSSpectrum, callable or mapping, optional
        An XPSSpectrum's transmission column (interpolated at each KE), a
        function T(KE), or name → T.
    kinetic_energy : mapping, optional
        Name → KE in eV; default for core-level names from the shipped table
        at the photon energy.
    imfp_exponent : float
        Exponent x of the escape-depth correction KE**x (CasaXPS "MFP
        exponent"); default 0.75. ``0`` gives the plain RSF convention.
    excitation_energy : float, optional
        Photon energy, eV (default: the fits' or spectrum's, else Al Kα).
    **identify_kw
        Passed to :func:`ncmsurf.xps.identify` for a survey.

    Returns
    -------
    Quantification or xarray.Dataset
        A ``dict`` name → atomic percent with ``.stderr``, ``.covariance``,
        ``.ratio(a, b)``, ``.imfp_exponent``, ``.transmission``, ``.rsf``,
        ``.kinetic_energy``, ``.corrections`` and ``.quality`` (a
        :class:`ncmsurf.core.results.Quality` verdict); for stacks an
        ``xarray.Dataset`` with the same statements in ``attrs`` (the
        verdict as JSON in ``attrs["quality"]``).

    Warns
    -----
    QuantificationWarning
        A spectrum whose photon energy was not in its file
        (``meta["excitation_energy_source"] == "default"``).
    """
    if isinstance(areas, Mapping) and areas and all(isinstance(v, (xr.DataArray, xr.Dataset))
                                                    for v in areas.values()):
        return _quantify_stack(areas, rsf, transmission, kinetic_energy, imfp_exponent, excitation_energy)
    names, a, cov, ke, file_t, photon = _collect(areas, kinetic_energy, excitation_energy, identify_kw)
    den, t_kind, ke = _denominators(names, ke, file_t, rsf, transmission, imfp_exponent, photon)
    c = a / den
    if not c.sum() > 0:
        raise ValidationError("quantify: all corrected areas are zero")
    cov_c = cov / np.outer(den, den)
    at, cov_at = _atomic(c, np.nan_to_num(cov_c, nan=0.0) if np.isfinite(cov_c).all() else cov_c)
    err = np.sqrt(np.clip(np.diag(cov_at), 0, None))
    nan_rows = ~np.isfinite(np.diag(cov))
    if nan_rows.any():
        err = np.full(err.shape, np.nan)
        cov_at = np.full(cov_at.shape, np.nan)
    out = Quantification({n: float(v) for n, v in zip(names, at)})
    out.stderr = {n: float(e) for n, e in zip(names, err)}
    out.covariance = cov_at
    for k, v in _statement(imfp_exponent, t_kind, rsf, ke, names).items():
        setattr(out, k, v)
    q = _input_quality(areas)
    no_err = [n for n, e in out.stderr.items() if not np.isfinite(e)]
    if no_err:
        q = q.with_reasons(suspect=[("input", f"no uncertainty for {', '.join(no_err)}: the areas came without "
                                              "one, so the atomic percents have none")])
    wide = [n for n in names if np.isfinite(out.stderr[n]) and out.stderr[n] > abs(out[n]) > 0]
    if wide:
        q = q.with_reasons(suspect=[("unidentifiable", f"{n}: standard error {out.stderr[n]:.3g} at.% exceeds "
                                                       f"its value {out[n]:.3g}") for n in wide])
    out.quality = q
    return out
