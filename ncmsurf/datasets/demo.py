"""The bundled demo study: a synthetic coating study written in instrument formats.

:func:`demo_study` writes P-NCM, A(1,3,5)-NCM and F(1,3,5)-NCM, fresh and
after 100 cycles, as XPS (VAMAS), impedance (BioLogic ``.mpt``), cycling
(Arbin-style CSV), ToF-SIMS depth profiles (SurfaceLab text) and EDS maps
(NumPy ``.npz`` element maps),
with a ``study.toml`` manifest. **All data are synthetic**: they are computed
from the physical parameters returned by :func:`demo_truth`, which the
manifest also records under ``[generator]`` and ``[truth]``. The spectra,
records and maps come from the engines' own seeded generators
(``ncmsurf.datasets.xps``, ``.eis``, ``.coating``) and are written by the
format writers in ``ncmsurf.io``.

The parameters describe a plausible study: the coating thickness grows as
``rate_route × n`` (route F deposits faster than A); the surface Ni²⁺ share
falls with the coating thickness (so faster for F than for A) and rises after
cycling, less so for coated samples; R_SEI and R_ct are lower for coated
samples and rise after cycling; coated cells keep more capacity.

Every sample has XPS of Ni 2p, Co 2p, Mn 2p, Li 1s, O 1s, C 1s, F 1s (and
Al 2p when coated) in both states; the cells' formation cycles are sampled
densely enough (600 points per half-cycle) for dQ/dV to resolve the H1→M,
M→H2 and H2→H3 transitions of the NCM open-circuit curve
(:data:`ncmsurf.datasets.cycling.NCM_PEAKS`); depth profiles exist for the
fresh coated samples and for every sample after cycling (with a fluoride-rich
surface film, ``cei_thickness_nm``); EDS maps (Al, Ni, Mn, Co) for the fresh
coated samples; TEM images (calibrated TIFF, 0.1 nm pixels) of the fresh
coated particles with a shell of the sample's thickness, study entries of
kind ``"tem"`` (shells thinner than about 1 nm are not
resolved: their measured thickness comes with a failed verdict).

Examples
--------
>>> t = demo_truth()
>>> t["samples"]["F(3)-NCM"]["thickness_nm"] > t["samples"]["A(3)-NCM"]["thickness_nm"]
True
>>> sorted(t["samples"])[:3]
['A(1)-NCM', 'A(1)-NCM@100', 'A(3)-NCM']
"""

from __future__ import annotations

import functools
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, XPSSpectrum
from ncmsurf.core.sample import Sample

__all__ = ["demo_study", "demo_truth"]

#: deposition rate of each route (nm per minute of deposition)
ROUTE_RATES = {"A": 0.2, "F": 0.5}
N_VALUES = (1, 3, 5)
CYCLE_STATES = (0, 100)
AREA_CM2 = 1.131  # 12 mm electrode disc
ATTENUATION_NM = 1.8  # effective attenuation length of Ni 2p photoelectrons in the coating
SPUTTER_RATE = 0.01  # nm/s
PROTECTION_NM = 1.0  # thickness scale of the coating's protective effect
RATES = (0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
LONG_RUN = 130  # cycles of the long-term 1C run
DEMO_MARKER = ".ncmsurf-demo-v3"
CEI_NM = 1.2  # fluoride-rich surface film grown by 100 cycles on an uncoated surface, nm
TEM_PIXEL_NM = 0.1  # pixel size of the demo TEM images


def _samples() -> list[Sample]:
    out = []
    for cyc in CYCLE_STATES:
        out.append(Sample("P", None, "NCM", cyc))
        for route in ROUTE_RATES:
            for n in N_VALUES:
                out.append(Sample(route, n, "NCM", cyc))
    return sorted(out)


def _sample_truth(s: Sample) -> dict[str, Any]:
    d = ROUTE_RATES[s.method] * s.n_minutes if s.coated else 0.0
    prot = 1.0 - math.exp(-d / PROTECTION_NM)
    cycled = s.cycles > 0
    ni2_fresh = 0.30 - 0.12 * prot
    ni2 = ni2_fresh + (0.15 * (1.0 - prot) if cycled else 0.0)
    r_sei_fresh = 15.0 * (1.0 - 0.3 * prot)
    r_ct_fresh = 60.0 * (1.0 - 0.3 * prot)
    t: dict[str, Any] = {
        "thickness_nm": round(d, 6),
        "ni2_fraction": round(ni2, 6),
        "lif_share": round((0.25 if not cycled else 0.45) * (1.0 - 0.5 * prot), 6),
        "carbonate_share": round((0.30 if not cycled else 0.40) * (1.0 - 0.6 * prot), 6),
        "r_s": round(3.0 + (0.4 if cycled else 0.0), 6),
        "r_sei": round(r_sei_fresh * (1.0 + 3.0 * (1.0 - prot)) if cycled else r_sei_fresh, 6),
        "r_ct": round(r_ct_fresh * (1.0 + 2.0 * (1.0 - prot)) if cycled else r_ct_fresh, 6),
        "coverage": round(1.0 - math.exp(-d / 0.4), 6) if s.coated else 0.0,
        "co2_fraction": round(0.12 + (0.10 * (1.0 - prot) if cycled else 0.0), 6),
        "mn3_fraction": round(0.20 + (0.12 * (1.0 - prot) if cycled else 0.0), 6),
        "li1s_lif_share": round((0.10 if not cycled else 0.35) * (1.0 - 0.5 * prot), 6),
    }
    # the study metrics' truths under their metric names (the calibration of ncmsurf.Study checks them)
    t["ni2p_area"] = round(2.0e5 * math.exp(-d / ATTENUATION_NM), 3)  # main Ni 2p lines, counts*eV
    q_sei, a_sei = 2e-5, 0.85  # CPE1 of the generator, per electrode
    c_sei = (q_sei * (t["r_sei"] / AREA_CM2) ** (1.0 - a_sei)) ** (1.0 / a_sei) / AREA_CM2  # Hsu-Mansfeld, F/cm2
    t["c_sei"] = round(1e6 * c_sei, 6)  # uF/cm2
    if s.coated:
        t["thickness_xps"] = t["thickness_sims"] = round(d, 6)
    if cycled:
        t["cei_thickness_nm"] = round(CEI_NM * (1.0 - 0.6 * prot), 6)
    if s.coated and not cycled:
        t["tem_thickness_nm"] = t["thickness_tem"] = round(d, 6)
        t["coverage_cv"] = 0.1
    if not cycled:
        t.update({
            "first_capacity": round(205.0 - 3.0 * d, 6),
            "first_ce": round(0.86 + 0.03 * prot, 6),
            "rate_5c_01c": round(0.55 + 0.12 * prot, 6),
            "retention_100": round(0.80 + 0.12 * prot, 6),
            "mass_g": round(0.0100 + 0.0002 * (N_VALUES.index(int(s.n_minutes)) if s.coated else 0), 6),
        })
        t["first_charge_capacity"] = round(t["first_capacity"] / t["first_ce"], 6)
        for r in RATES:  # mean discharge capacity of each rate step (no fade before the long run)
            name = f"capacity_{f'{r:g}'.replace('.', 'p')}c"
            t[name] = round(t["first_capacity"] * (1.0 - (1.0 - t["rate_5c_01c"]) * math.log10(r / 0.1)
                                                   / math.log10(50.0)), 6)
        t["cycles_to_80"] = round(1.0 + 0.2 * 99.0 / (1.0 - t["retention_100"]), 6)  # linear fade of the long run
    return t


def _ncm_peaks() -> dict[str, tuple[float, float, float]]:
    from ncmsurf.datasets.cycling import NCM_PEAKS

    return dict(NCM_PEAKS)


def demo_truth() -> dict[str, Any]:
    """The generating parameters of the demo study.

    Returns
    -------
    dict
        ``"generator"``: global settings (routes' deposition rates in nm/min,
        electrode area, attenuation length, sputter rate, protocol), and
        ``"samples"``: label → the true value of each metric the files
        encode (``thickness_nm``, ``ni2_fraction``, ``lif_share``,
        ``carbonate_share``, ``r_s``/``r_sei``/``r_ct`` in ohm·cm²,
        ``coverage``, ``co2_fraction`` (Co²⁺ share of Co 2p),
        ``mn3_fraction`` (Mn³⁺ share of Mn 2p), ``li1s_lif_share`` (LiF
        share of Li 1s); for fresh samples also the cycling cell's
        ``first_capacity`` (mAh/g), ``first_ce``, ``rate_5c_01c``,
        ``retention_100`` and ``mass_g``, and for fresh coated samples the
        TEM shell ``tem_thickness_nm``; after cycling the surface film's
        ``cei_thickness_nm``).

    Examples
    --------
    >>> demo_truth()["generator"]["route_rate_nm_per_min"]
    {'A': 0.2, 'F': 0.5}
    """
    return {
        "generator": {
            "synthetic": True,
            "description": "SYNTHETIC demo data computed by ncmsurf.datasets.demo_study; not measurements",
            "route_rate_nm_per_min": dict(ROUTE_RATES),
            "thickness_model": "thickness = route rate x n",
            "n_minutes": list(N_VALUES),
            "cycle_states": list(CYCLE_STATES),
            "area_cm2": AREA_CM2,
            "attenuation_length_nm": ATTENUATION_NM,
            "sputter_rate_nm_per_s": SPUTTER_RATE,
            "protection_scale_nm": PROTECTION_NM,
            "c_rates": list(RATES),
            "protocol": "2 formation cycles at 0.1C, 3 cycles at each C-rate, then "
                        f"{LONG_RUN} cycles at 1C (retention over the first 100 of them)",
            "eis_circuit": "R0-p(R1,CPE1)-p(R2-W1,CPE2) (R_s, R_SEI, R_ct)",
            "ocv": "ncmsurf.datasets.cycling.ncm_ocv (H1-M, M-H2, H2-H3 transitions at "
                   + ", ".join(f"{v[0]:.2f}" for v in _ncm_peaks().values()) + " V)",
            "cei_thickness_nm_uncoated": CEI_NM,
            "tem_pixel_size_nm": TEM_PIXEL_NM,
            "noise": "XPS Poisson counts; impedance 0.5 % relative; charge and discharge capacity 0.15 % relative each",
        },
        "samples": {s.label: _sample_truth(s) for s in _samples()},
    }


# ----------------------------------------------------------------- generators
@functools.lru_cache(maxsize=1)
def _ties() -> tuple[float, float, float]:
    """The physics that links the demo's regions, as :func:`ncmsurf.xps.coated_o1s_fit` models it.

    (O 1s Al-O area per Al 2p Al2O3 area at O/Al = 1.5, Ni 3p family area per Ni 2p total area, the Ni 3p
    satellite's ratio), from the Scofield cross-sections and KE**0.75 (no transmission).
    """
    from ncmsurf.datasets.xps import synthetic_spectrum
    from ncmsurf.xps import preset_model
    from ncmsurf.xps._joint import ni3p_tie, stoichiometric_tie

    nominal = {r: synthetic_spectrum(r, noise=False) for r in ("O 1s", "Al 2p", "Ni 2p", "C 1s")}
    models = {r: r for r in nominal}
    models["Al 2p"] = "Al 2p:coating"
    alo = stoichiometric_tie(nominal, models, ("O 1s", "Al-O"), ("Al 2p", "Al2O3"), atoms_ratio=1.5,
                             imfp_exponent=0.75)
    ni = ni3p_tie(nominal, models, imfp_exponent=0.75)
    sat = float(next(c for c in preset_model("Al 2p") if c.name == "Ni sat 3p").ratio)  # type: ignore[attr-defined]
    return float(alo.factor), float(ni.factor), sat


def _xps_spectra(s: Sample, t: dict[str, Any], seed: int) -> list[XPSSpectrum]:
    from ncmsurf.datasets.xps import synthetic_spectrum, synthetic_truth

    d = t["thickness_nm"]
    ni_area = 2.0e5 * math.exp(-d / ATTENUATION_NM)
    al_area = 3.0e4 * (1.0 - math.exp(-d / ATTENUATION_NM)) if s.coated else 0.0
    ni_fr = {"Ni2+": t["ni2_fraction"], "Ni3+": 1.0 - t["ni2_fraction"]}
    al_o_per_al2o3, ni3p_per_ni2p, ni3p_sat = _ties()
    al_o = al_o_per_al2o3 * 0.8 * al_area
    o_total = 1.0e5 + al_o
    carbonate = t["carbonate_share"] * o_total
    o_areas = {"lattice": 1.0e5 - carbonate - 0.23e5, "Al-O": al_o, "carbonate": carbonate, "C-O": 0.2e5,
               "H2O": 0.03e5}
    plan: list[tuple[str, dict[str, float], float]] = [
        ("Ni 2p", ni_fr, ni_area),
        # O 1s: the coating's Al-O holds 1.5 O per Al of the Al 2p Al2O3 line (below); adsorbed water is small;
        # carbonate keeps its true share of the whole O 1s area
        ("O 1s", o_areas, o_total),
        ("C 1s", {"C-C": 0.55, "C-O": 0.15, "O-C=O": 0.08, "CO3": 0.12, "CF2": 0.10}, 6.0e4),
        ("F 1s", {"LiF": t["lif_share"], "LixPOyFz": 0.3, "PVDF": 0.7 - t["lif_share"]}, 8.0e4),
    ]
    plan += [
        # Li 1s shares its window with the transition-metal 3p lines (Mn 3p, Co 3p, Ni 3p): 40 % of the main area;
        # li1s_lif_share is LiF's share of the three lithium components
        ("Li 1s", {"lattice": 0.6 * (0.9 - t["li1s_lif_share"]), "Li2CO3": 0.6 * 0.1,
                   "LiF": 0.6 * t["li1s_lif_share"], "Mn 3p": 0.04, "Co 3p": 0.04, "Ni 3p": 0.32}, 2.5e4),
        ("Co 2p", {"Co3+": 1.0 - t["co2_fraction"], "Co2+": t["co2_fraction"]},
         2.5e4 * math.exp(-d / ATTENUATION_NM)),
        # Mn 2p of a Ni-rich NCM sits on the Ni LMM Auger line (a third of the window's main area here);
        # mn3_fraction is Mn3+'s share of the two manganese components
        ("Mn 2p", {"Mn4+": (1.0 - t["mn3_fraction"]) * 2.0 / 3.0, "Mn3+": t["mn3_fraction"] * 2.0 / 3.0,
                   "Ni LMM": 1.0 / 3.0}, 3.0e4 * math.exp(-d / ATTENUATION_NM)),
    ]
    if s.coated:
        # the Ni 3p lines of the cathode fall in the Al 2p window, in proportion to the Ni 2p area
        ni_total = float(sum(synthetic_truth("Ni 2p", fractions=ni_fr, area=ni_area)["areas"].values()))
        ni3p = ni3p_per_ni2p * ni_total / (1.0 + ni3p_sat)
        al_fr = {"Al2O3": 0.8 * al_area, "AlF3": 0.2 * al_area, "Ni 3p": ni3p}
        plan.append(("Al 2p", al_fr, float(sum(al_fr.values()))))
    out = []
    for k, (region, fr, area) in enumerate(plan):
        spec = synthetic_spectrum(region, fractions=fr, area=area, seed=seed * 10 + k, sample=s)
        out.append(spec.with_meta(synthetic=True))
    return out


def _eis_spectrum(s: Sample, t: dict[str, Any], seed: int) -> ImpedanceSpectrum:
    params = {"R0": t["r_s"] / AREA_CM2, "R1": t["r_sei"] / AREA_CM2, "CPE1_0": 2e-5, "CPE1_1": 0.85,
              "R2": t["r_ct"] / AREA_CM2, "W1": 6.0, "CPE2_0": 1.5e-3, "CPE2_1": 0.85}
    f = np.logspace(5, -2, 71)
    from ncmsurf.datasets.eis import synthetic_spectrum

    spec = synthetic_spectrum("R0-p(R1,CPE1)-p(R2-W1,CPE2)", params, frequency=f, noise=0.005, seed=seed,
                              area=AREA_CM2, sample=s)
    return spec.with_meta(synthetic=True)


def _ocv(x: np.ndarray) -> np.ndarray:
    """The Ni-rich NCM open-circuit curve of the cycling generator: H1→M, M→H2 and H2→H3 in dQ/dV."""
    from ncmsurf.datasets.cycling import ncm_ocv

    return ncm_ocv(np.clip(x, 0.0, 1.0))


#: points per half-cycle: dense in the formation cycles (dQ/dV of cycle 1 resolves the phase transitions), sparse
#: in the long run (capacity only)
_POINTS_FORMATION = 600
_POINTS_OTHER = 40


def _cycling_record(s: Sample, t: dict[str, Any], seed: int) -> CyclingData:
    rng = np.random.default_rng(seed)
    mass = float(t["mass_g"])
    q_nom = 200.0  # mAh/g, defines 1C
    q0 = float(t["first_capacity"])
    r5 = float(t["rate_5c_01c"])
    a = (1.0 - float(t["retention_100"])) / 99.0
    protocol: list[float] = [0.1, 0.1]
    for r in RATES:
        protocol += [r] * 3
    protocol += [1.0] * LONG_RUN
    times: list[np.ndarray] = []
    volts: list[np.ndarray] = []
    currs: list[np.ndarray] = []
    cycs: list[np.ndarray] = []
    steps: list[np.ndarray] = []
    now = 0.0
    step = 0
    r_cell = 0.05 + 0.002 * float(t["r_ct"])  # V per C of polarisation
    long_start = len(protocol) - LONG_RUN
    for k, c_rate in enumerate(protocol):
        rate_factor = 1.0 - (1.0 - r5) * math.log10(c_rate / 0.1) / math.log10(50.0)
        fade = 1.0 - a * (k - long_start) if k >= long_start else 1.0
        q_dis = q0 * rate_factor * fade * (1.0 + 0.0015 * rng.standard_normal())
        ce = float(t["first_ce"]) if k == 0 else 0.998
        q_ch = q_dis / ce * (1.0 + 0.0015 * rng.standard_normal())  # the charge is measured with its own noise
        current = c_rate * q_nom * mass / 1000.0  # A
        npts = _POINTS_FORMATION if k < 2 else _POINTS_OTHER
        for sign, q in ((1.0, q_ch), (-1.0, q_dis)):
            step += 1
            dur = q * mass / 1000.0 / current * 3600.0  # s
            tt = now + np.linspace(0.0, dur, npts)
            frac = np.linspace(0.0, 1.0, npts) * q / q_ch  # state of charge: 0 -> 1 on charge
            x = frac if sign > 0 else (1.0 - frac)
            v = _ocv(x) + sign * r_cell * c_rate
            times.append(tt)
            volts.append(v)
            currs.append(np.full(npts, sign * current))
            cycs.append(np.full(npts, k + 1))
            steps.append(np.full(npts, step))
            now = float(tt[-1]) + 1.0
    return CyclingData(np.concatenate(times), np.concatenate(volts), np.concatenate(currs),
                       cycle=np.concatenate(cycs), step=np.concatenate(steps), mass=mass, sample=s,
                       meta={"synthetic": True})


def _sims_profile(s: Sample, t: dict[str, Any], seed: int) -> DepthProfile:
    from ncmsurf.datasets.coating import synthetic_cycled_profile, synthetic_profile

    if s.cycles > 0:  # after cycling: a fluoride-rich film (CEI) on top, thinner on coated samples
        prof = synthetic_cycled_profile(coating_thickness=float(t["thickness_nm"]),
                                        cei_thickness=float(t["cei_thickness_nm"]), sputter_rate=SPUTTER_RATE,
                                        width=0.2, seed=seed, sample=s, depth_range=6.0)
    else:
        prof = synthetic_profile(coating_thickness=float(t["thickness_nm"]), sputter_rate=SPUTTER_RATE, width=0.2,
                                 seed=seed, sample=s, depth_range=6.0)
    return prof.with_meta(synthetic=True)


def _eds_map(s: Sample, t: dict[str, Any], seed: int) -> ElementMap:
    from ncmsurf.datasets.coating import synthetic_map

    # 40 metal counts per pixel, as in a few minutes of mapping: the classification of pixels is then uncertain
    emap = synthetic_map(coverage=float(t["coverage"]), cv=0.1, shape=(64, 64), pixel_size=50.0, seed=seed, sample=s,
                         counts=40.0)
    return emap.with_meta(synthetic=True)


# ------------------------------------------------------------------- TEM hook
# TEM images come from the TEM generator and writers (``ncmsurf.datasets.tem``) and are read back by the TEM
# reader; the demo writes them only where those are installed.
def _tem_available() -> bool:
    import importlib.util

    return (importlib.util.find_spec("ncmsurf.datasets.tem") is not None
            and importlib.util.find_spec("ncmsurf.tem") is not None)


def _tem_hook(s: Sample, t: dict[str, Any], seed: int, path: Path) -> str | None:
    """Write a TEM image of a coated particle with the sample's shell thickness; its file name, or None.

    The images are study entries (``[[files]]`` with kind ``"tem"``): the study measures their
    ``thickness_tem`` and :func:`ncmsurf.figures.tem` draws them.
    """
    if not _tem_available():
        return None
    import importlib

    tem = importlib.import_module("ncmsurf.datasets.tem")
    img = tem.synthetic_coated_particle(thickness=float(t["tem_thickness_nm"]), pixel_size=TEM_PIXEL_NM, seed=seed,
                                        sample=s.label)
    p = path.with_suffix(".tif")
    p.parent.mkdir(parents=True, exist_ok=True)
    tem.write_tiff(p, img.image, pixel_size=TEM_PIXEL_NM)
    return p.name


# -------------------------------------------------------------------- writers
def _write_xps(spectra: list[XPSSpectrum], path: Path) -> list[tuple[str, dict[str, Any]]]:
    from ncmsurf.io.vamas import write_vamas

    p = path.with_suffix(".vms")
    write_vamas(spectra, p)
    return [(p.name, {})]


def _write_eis(spec: ImpedanceSpectrum, path: Path) -> str:
    from ncmsurf.io.biologic_eis import write_mpt

    p = path.with_suffix(".mpt")
    write_mpt([spec], p)
    return p.name


def _write_cycling(data: CyclingData, path: Path) -> str:
    from ncmsurf.io.cyclers import write_arbin_csv

    p = path.with_suffix(".csv")
    write_arbin_csv(data, p)
    return p.name


def _write_sims(prof: DepthProfile, path: Path) -> str:
    from ncmsurf.io.sims_formats import write_surfacelab_txt

    p = path.with_suffix(".txt")
    write_surfacelab_txt(prof, p)
    return p.name


def _write_eds(emap: ElementMap, path: Path) -> str:
    from ncmsurf.io.eds_formats import write_npz

    p = path.with_suffix(".npz")
    write_npz(emap, p)
    return p.name


# ------------------------------------------------------------------ manifest
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, int) or math.isfinite(v) else '"nan"'
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(k: str) -> str:
    import re

    return k if re.match(r"^[A-Za-z0-9_-]+$", k) else _toml_value(k)


def _slug(s: Sample) -> str:
    base = s.method + ("" if s.n is None else f"{s.n_minutes:g}") + f"-{s.cathode}"
    return base + ("_fresh" if s.cycles == 0 else f"_{s.cycles}cyc")


def _default_folder() -> Path:
    env = os.environ.get("NCMSURF_CACHE")
    if env:
        return Path(env) / "demo_study"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    try:
        base.mkdir(parents=True, exist_ok=True)
        probe = base / "ncmsurf"
        probe.mkdir(exist_ok=True)
        return probe / "demo_study"
    except OSError:
        return Path(tempfile.mkdtemp(prefix="ncmsurf-demo-")) / "demo_study"


def demo_study(path: str | os.PathLike[str] | None = None, *, seed: int = 0, overwrite: bool = False,
               kinds: tuple[str, ...] | list[str] | None = None) -> Path:
    """Write the synthetic demo study (files and ``study.toml``) and return its folder.

    Parameters
    ----------
    path : str or path-like, optional
        Target folder (created). Default: ``$NCMSURF_CACHE/demo_study`` or
        the user cache folder (``~/.cache/ncmsurf/demo_study``); an existing
        complete demo there is reused.
    seed : int
        Seed of all the noise (the output is deterministic for a seed).
    overwrite : bool
        Rewrite the files even when a complete demo is already there.
    kinds : sequence of str, optional
        Write only these measurement kinds (``"xps"``, ``"eis"``,
        ``"cycling"``, ``"sims"``, ``"eds"``, and ``"tem"`` where the TEM
        generator and reader are installed); default all.

    Returns
    -------
    pathlib.Path
        The folder, ready for :meth:`ncmsurf.Study.from_folder`.

    Examples
    --------
    >>> import tempfile
    >>> folder = demo_study(tempfile.mkdtemp(), kinds=["eis"])
    >>> (folder / "study.toml").is_file(), len(list((folder / "eis").iterdir()))
    (True, 14)
    """
    folder = Path(path) if path is not None else _default_folder()
    marker = folder / DEMO_MARKER
    all_kinds = {"xps", "eis", "cycling", "sims", "eds"} | ({"tem"} if _tem_available() else set())
    wanted = set(kinds) if kinds is not None else set(all_kinds)
    unknown = wanted - all_kinds
    if unknown:
        from ncmsurf.core.errors import ValidationError

        raise ValidationError(f"kinds: unknown measurement kind(s) {sorted(unknown)}")
    from ncmsurf import __version__

    signature = f"ncmsurf={__version__} seed={seed} kinds={','.join(sorted(wanted))}"
    if marker.is_file() and (folder / "study.toml").is_file() and not overwrite \
            and marker.read_text().strip() == signature:
        return folder
    for sub in sorted(wanted):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    truth = demo_truth()
    entries: list[dict[str, Any]] = []
    images: list[dict[str, Any]] = []  # extra images listed in [[images]] (the TEM images are study [[files]])
    for i, s in enumerate(_samples()):
        t = truth["samples"][s.label]
        slug = _slug(s)
        base_seed = 1000 * seed + 17 * i
        if "xps" in wanted:
            for name, extra in _write_xps(_xps_spectra(s, t, base_seed + 1), folder / "xps" / slug):
                entries.append({"path": f"xps/{name}", "sample": s.label, "kind": "xps"} | extra)
        if "eis" in wanted:
            name = _write_eis(_eis_spectrum(s, t, base_seed + 2), folder / "eis" / slug)
            entries.append({"path": f"eis/{name}", "sample": s.label, "kind": "eis", "area": AREA_CM2})
        if s.cycles == 0 and "cycling" in wanted:
            rec = _cycling_record(s, t, base_seed + 3)
            name = _write_cycling(rec, folder / "cycling" / slug)
            entries.append({"path": f"cycling/{name}", "sample": s.label, "kind": "cycling", "mass": t["mass_g"]})
        if (s.coated or s.cycles > 0) and "sims" in wanted:  # fresh coated samples, and every sample after cycling
            name = _write_sims(_sims_profile(s, t, base_seed + 4), folder / "sims" / slug)
            entries.append({"path": f"sims/{name}", "sample": s.label, "kind": "sims"})
        if s.cycles == 0 and s.coated and "eds" in wanted:
            name = _write_eds(_eds_map(s, t, base_seed + 5), folder / "eds" / slug)
            entries.append({"path": f"eds/{name}", "sample": s.label, "kind": "eds"})
        if "tem" in wanted and "tem_thickness_nm" in t:
            written = _tem_hook(s, t, base_seed + 6, folder / "tem" / slug)
            if written is not None:  # read back by the TEM reader (calibrated TIFF) as a study measurement
                entries.append({"path": f"tem/{written}", "sample": s.label, "kind": "tem"})
    lines = [
        "# SYNTHETIC demo study written by ncmsurf.datasets.demo_study: computed data, not measurements.",
        "# [generator] and [truth] record the parameters the files were generated from.",
        "",
        "[study]",
        'name = "ncmsurf demo study (synthetic): P-NCM, A(n)-NCM and F(n)-NCM, fresh and after 100 cycles"',
        "synthetic = true",
        f"seed = {seed}",
        "",
        "[analysis]",
        f"attenuation_length = {ATTENUATION_NM}",
        f"sputter_rate = {SPUTTER_RATE}",
        'sims_fragment = "AlO2-"',
        'eds_element = "Al"',
        "retention_cycles = 100",
        "",
    ]
    for e in entries:
        lines.append("[[files]]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in e.items()]
        lines.append("")
    for e in images:
        lines.append("[[images]]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in e.items()]
        lines.append("")
    lines.append("[generator]")
    lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in truth["generator"].items()]
    lines.append("")
    for label, t in truth["samples"].items():
        lines.append(f"[truth.{_toml_value(label)}]")
        lines += [f"{_toml_key(k)} = {_toml_value(v)}" for k, v in t.items()]
        lines.append("")
    (folder / "study.toml").write_text("\n".join(lines), encoding="utf-8")
    marker.write_text(signature)
    return folder
