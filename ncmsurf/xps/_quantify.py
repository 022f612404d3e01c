"""Quantification: atomic percent from areas / (RSF × T(KE) × KE^x).

CasaXPS convention (verified on FeO_analyzed.vms, where the stored MFP
exponent is 0): the corrected area is ``raw / (RSF * T(KE) * KE**x)`` with
``T`` the file's transmission column interpolated linearly at the
component's kinetic energy ``hν - BE``.

Examples
--------
>>> at = quantify({"C 1s": 1000.0, "O 1s": 2930.0})
>>> round(at["C 1s"], 6), round(at["O 1s"], 6)
(50.0, 50.0)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import XPSSpectrum
from ncmsurf.core.results import register_citation
from ncmsurf.core.units import magnitude

__all__ = ["corrected_areas", "quantify", "register_rsf", "rsf_sets"]

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
    return ["scofield-alka", *sorted(_USER_SETS)]


def register_rsf(name: str, table: Mapping[str, float]) -> None:
    """Register an instrument RSF set (core level → RSF) under ``name``.

    Examples
    --------
    >>> register_rsf("my-kratos", {"C 1s": 0.278, "O 1s": 0.78})
    >>> quantify({"C 1s": 278.0, "O 1s": 780.0}, rsf="my-kratos")["O 1s"]
    50.0
    """
    if name == "scofield-alka":
        raise ValidationError("register_rsf: 'scofield-alka' is the shipped set and cannot be replaced")
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


def _rsf_lookup(rsf: str | Mapping[str, float]) -> Callable[[str], float]:
    if isinstance(rsf, str):
        if rsf == "scofield-alka":
            table = _scofield()
        elif rsf in _USER_SETS:
            table = _USER_SETS[rsf]
        else:
            raise ValidationError(f"rsf: unknown set {rsf!r}; available: {rsf_sets()}")
    else:
        table = {str(k): float(v) for k, v in rsf.items()}

    def get(name: str) -> float:
        for key in (name, _core_level(name) or "", (_core_level(name) or "")[:5].strip()):
            if key and key in table:
                return table[key]
        raise ValidationError(f"rsf: no sensitivity factor for {name!r}; give rsf={{{name!r}: value}}")

    return get


def _areas_and_ke(areas: Any, kinetic_energy: Mapping[str, Any] | None,
                  file_t: dict[str, float] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    from ncmsurf.xps._fit import XPSFit

    ke: dict[str, float] = {}
    if isinstance(areas, Mapping):
        out = {str(k): float(v) for k, v in areas.items()}
    elif isinstance(areas, Sequence) and all(isinstance(f, XPSFit) for f in areas):
        out = {}
        for f in areas:
            name = f.region or f"fit {len(out)}"
            if name in out:
                raise ValidationError(f"quantify: two fits of region {name!r}")
            a = f.areas
            out[name] = float(sum(v for v, _ in a.values()))
            mains = f.main_components
            w = np.array([a[m][0] for m in mains])
            c = np.array([f.params[f"{m}.center"][0] for m in mains])
            be = float((w * c).sum() / w.sum()) if w.sum() > 0 else float(c.mean())
            ke[name] = f.excitation_energy - be
            t = f.transmission
            if file_t is not None and t is not None:
                kk = f.excitation_energy - f.binding_energy
                order = np.argsort(kk)
                file_t[name] = float(np.interp(ke[name], kk[order], t[order]))
    else:
        raise ValidationError("quantify: areas must be a mapping name -> area or a list of XPSFit")
    bad = [k for k, v in out.items() if not np.isfinite(v) or v < 0]
    if bad:
        raise ValidationError(f"quantify: areas must be finite and >= 0 ({bad})")
    if kinetic_energy is not None:
        ke.update({str(k): magnitude(v, "eV", name=f"kinetic_energy[{k}]") for k, v in kinetic_energy.items()})
    return out, ke


def corrected_areas(areas: Any, *, rsf: str | Mapping[str, float] = "scofield-alka", transmission: Any = None,
                    kinetic_energy: Mapping[str, Any] | None = None, imfp_exponent: float = 0.0) -> dict[str, float]:
    """Areas divided by ``RSF × T(KE) × KE**imfp_exponent`` (CasaXPS "Area/(RSF*T*MFP)").

    Parameters are those of :func:`quantify`.

    Examples
    --------
    >>> corrected_areas({"O 1s": 293.0})
    {'O 1s': 100.0}
    """
    file_t: dict[str, float] = {}
    vals, ke = _areas_and_ke(areas, kinetic_energy, file_t)
    if transmission is None and file_t and set(file_t) == set(vals):
        transmission = file_t  # fits of spectra that carried a transmission column
    get = _rsf_lookup(rsf)
    x = float(imfp_exponent)

    def need_ke(name: str) -> float:
        if name not in ke:
            raise ValidationError(f"quantify: kinetic energy of {name!r} needed (transmission or imfp_exponent "
                                  "given); pass kinetic_energy={name: KE}")
        return ke[name]

    if transmission is None:
        def T(name: str) -> float:
            return 1.0
    elif isinstance(transmission, XPSSpectrum):
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
    out = {}
    for name, a in vals.items():
        tv = T(name)
        mfp = need_ke(name) ** x if x != 0.0 else 1.0
        den = get(name) * tv * mfp
        if not den > 0:
            raise ValidationError(f"quantify: RSF x T x MFP of {name!r} is {den}, must be > 0")
        out[name] = a / den
    return out


def quantify(areas: Any, *, rsf: str | Mapping[str, float] = "scofield-alka", transmission: Any = None,
             kinetic_energy: Mapping[str, Any] | None = None, imfp_exponent: float = 0.0) -> dict[str, float]:
    """Atomic percent of each key from area / (RSF × T(KE) × KE^imfp_exponent), normalised to 100.

    Parameters
    ----------
    areas : mapping or list of XPSFit
        Name (core level such as ``"Ni 2p"`` or any component name) → raw
        area; or fits (each contributes the total area of its region, at
        the area-weighted kinetic energy of its main components; when every
        fitted spectrum carried a transmission column and ``transmission`` is
        None, the file's transmission at that energy is used).
    rsf : str or mapping
        ``"scofield-alka"`` (shipped), a registered set (:func:`register_rsf`)
        or name → RSF. Names are matched exactly, then by their core level
        (``"Fe 2p main"`` → ``"Fe 2p"``).
    transmission : XPSSpectrum, callable or mapping, optional
        An XPSSpectrum's transmission column (interpolated at each KE), a
        function T(KE), or name → T.
    kinetic_energy : mapping, optional
        Name → KE in eV (needed with a transmission or an exponent).
    imfp_exponent : float
        Exponent x of the escape-depth correction KE**x (CasaXPS "MFP exponent").

    Returns
    -------
    dict
        Name → atomic percent.
    """
    corr = corrected_areas(areas, rsf=rsf, transmission=transmission, kinetic_energy=kinetic_energy,
                           imfp_exponent=imfp_exponent)
    tot = sum(corr.values())
    if not tot > 0:
        raise ValidationError("quantify: all corrected areas are zero")
    return {k: 100.0 * v / tot for k, v in corr.items()}
