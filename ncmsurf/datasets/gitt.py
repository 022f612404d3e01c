"""Seeded synthetic pulse trains (GITT and HPPC) of an NCM-like cathode with a known truth.

The working electrode is ``n = mass / molar_mass`` moles of identical particles
(spheres of radius ``R``, or films of thickness ``L`` for
``geometry="planar"``) of a host with molar volume ``V_m``. Lithium diffuses in
each particle by Fick's law,

    ∂x/∂t = ∇·(D ∇x),   D ∂x/∂r = −q(t) at the surface,  ∂x/∂r = 0 at the centre,

solved numerically by finite volumes in ``r`` (cells refined geometrically
towards the surface, a θ-scheme in time: two backward-Euler steps after every
current switch, then Crank–Nicolson, with steps growing from 1 ms). The surface
flux ``q = I (V/S) / (F n)`` is set by the current (positive current is
oxidation, removing lithium: ``x`` falls). The cell voltage is the open-circuit
potential of the surface composition plus an ohmic drop and optional RC
elements, plus Gaussian noise:

    E = E_eq(x_surface) + I R_0 + Σ_k v_k,   dv_k/dt = I/C_k − v_k/(R_k C_k).

The default open-circuit curve is the NMC811 fit of Chen et al. (2020),
:func:`ncm811_ocv`. The truth (diffusion coefficient, geometry, the particle
surface area, the compositions and relaxed voltages after each pulse, the exact
pulse resistances) is stored in ``meta["truth"]``.

Examples
--------
>>> from ncmsurf.datasets.gitt import synthetic_gitt
>>> rec = synthetic_gitt(n_pulses=3, seed=1)
>>> t = rec.meta["truth"]
>>> t["diffusivity"], t["geometry"], len(t["x_after_pulse"])
(1e-11, 'sphere', 3)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.linalg import solve_banded
from scipy.optimize import brentq

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.results import register_citation
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

__all__ = ["FARADAY", "ncm811_ocv", "simulate_pulses", "synthetic_gitt", "synthetic_hppc"]

FARADAY = 96485.33212
"""Faraday constant, C/mol."""

register_citation(
    "chen2020", "C.-H. Chen, F. Brosa Planella, K. O'Regan, D. Gastol, W. D. Widanage, E. Kendrick, "
    "J. Electrochem. Soc. 167, 080534 (2020)")

_GEOMETRIES = ("sphere", "planar")


def ncm811_ocv(x: Any) -> np.ndarray:
    """Open-circuit potential (V vs Li) of NMC811 at lithium stoichiometry ``x`` (Chen et al. 2020 fit).

    The published fit for the LG M50 cathode,
    ``U = −0.8090 x + 4.4875 − 0.0428 tanh(18.5138 (x − 0.5542)) − 17.7326 tanh(15.7890 (x − 0.3117))
    + 17.5842 tanh(15.9308 (x − 0.3120))``, valid for about 0.26 ≤ x ≤ 0.92 (4.2 to 3.56 V).

    Examples
    --------
    >>> ncm811_ocv([0.3, 0.9]).round(3).tolist()
    [4.205, 3.568]
    """
    s = np.asarray(x, dtype=float)
    out = (-0.8090 * s + 4.4875 - 0.0428 * np.tanh(18.5138 * (s - 0.5542))
           - 17.7326 * np.tanh(15.7890 * (s - 0.3117)) + 17.5842 * np.tanh(15.9308 * (s - 0.3120)))
    return np.asarray(out, dtype=float)


# --------------------------------------------------------------------------- the finite-volume particle
def _grid(n: int, length: float, geometry: str, first: float = 2e-4) -> tuple[np.ndarray, np.ndarray]:
    """Faces (0 … length) with cell widths growing geometrically from the surface inwards; and the centres."""
    q = brentq(lambda r: first * (r**n - 1.0) / (r - 1.0) - 1.0, 1.0 + 1e-12, 2.0)
    widths = first * q ** np.arange(n)
    widths /= widths.sum()
    from_surface = np.concatenate(([0.0], np.cumsum(widths)))
    faces = length * (1.0 - from_surface[::-1])
    faces[0] = 0.0
    centres = 0.5 * (faces[1:] + faces[:-1])
    return faces, centres


class _Particle:
    """Finite-volume model of one particle with a surface flux."""

    def __init__(self, *, geometry: str, length: float, x0: float, diffusivity: float | Callable[[np.ndarray], Any],
                 n_cells: int) -> None:
        self.geometry = geometry
        self.length = length
        faces, centres = _grid(n_cells, length, geometry)
        if geometry == "sphere":
            self.vol = (faces[1:] ** 3 - faces[:-1] ** 3) / 3.0
            self.area = faces**2
        else:
            self.vol = faces[1:] - faces[:-1]
            self.area = np.ones_like(faces)
        self.faces = faces
        self.centres = centres
        self.dist = centres[1:] - centres[:-1]
        self.gap = faces[-1] - centres[-1]
        self.x = np.full(n_cells, float(x0))
        self.diffusivity = diffusivity
        # surface flux per unit of the flux q that makes d<x>/dt = -q * (surface / volume)
        self.surface_over_volume = self.area[-1] / self.vol.sum()
        self._cache: dict[tuple[float, float], tuple[np.ndarray, np.ndarray]] = {}
        self._weights = self.vol / self.vol.sum()

    def _d_faces(self) -> np.ndarray:
        if callable(self.diffusivity):
            xm = 0.5 * (self.x[1:] + self.x[:-1])
            d: np.ndarray = np.asarray(self.diffusivity(xm), dtype=float) * np.ones_like(xm)
            if not np.all(np.isfinite(d) & (d > 0)):
                raise ValidationError("diffusivity: the callable returned a non-positive or non-finite value")
            return d
        return np.full(self.x.size - 1, float(self.diffusivity))

    def surface(self, q: float) -> float:
        """Surface stoichiometry: the outer cell extrapolated with the boundary gradient -q / D."""
        if callable(self.diffusivity):
            d_s = float(np.asarray(self.diffusivity(np.array([self.x[-1]])), dtype=float).reshape(-1)[0])
        else:
            d_s = float(self.diffusivity)
        return float(self.x[-1] - q * self.gap / d_s)

    def _matrices(self, dt: float, theta: float) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Banded left-hand side and the explicit part's tridiagonal operator for one step."""
        g = self._d_faces() * self.area[1:-1] / self.dist  # conductances between cells
        n = self.x.size
        main = np.zeros(n)
        main[:-1] += g
        main[1:] += g
        ab = np.zeros((3, n))
        ab[0, 1:] = -theta * g
        ab[1, :] = self.vol / dt + theta * main
        ab[2, :-1] = -theta * g
        return ab, (g, main)

    def step(self, dt: float, q: float, theta: float) -> None:
        """Advance by ``dt`` with surface flux ``q`` (x units · length / s, positive = out)."""
        if not callable(self.diffusivity):
            # constant D: the step is linear, x' = P x + f q; propagators are cached per (dt, theta)
            key = (round(dt, 12), theta)
            prop = self._cache.get(key)
            if prop is None:
                ab, (g, main) = self._matrices(dt, theta)
                n = self.x.size
                lap = np.diag(-main) + np.diag(g, 1) + np.diag(g, -1)
                rhs_op = np.diag(self.vol / dt) + (1.0 - theta) * lap
                e = np.zeros(n)
                e[-1] = -self.area[-1]
                prop = (solve_banded((1, 1), ab, rhs_op), solve_banded((1, 1), ab, e))
                if len(self._cache) < 512:
                    self._cache[key] = prop
            self.x = prop[0] @ self.x + prop[1] * q
            return
        ab, (g, main) = self._matrices(dt, theta)
        ax = -main * self.x
        ax[:-1] += g * self.x[1:]
        ax[1:] += g * self.x[:-1]
        rhs = self.vol / dt * self.x + (1.0 - theta) * ax
        rhs[-1] -= q * self.area[-1]
        self.x = solve_banded((1, 1), ab, rhs)

    @property
    def mean(self) -> float:
        """Volume-averaged stoichiometry."""
        return float(self._weights @ self.x)


def simulate_pulses(segments: Sequence[tuple[float, float, float]], *, diffusivity: float | Callable[[np.ndarray], Any],
                    geometry: str = "sphere", length: float, moles: float, x0: float,
                    ocv: Callable[[np.ndarray], Any] = ncm811_ocv, ohmic_resistance: float = 0.0,
                    rc: Sequence[tuple[float, float]] = (), n_cells: int = 160, first_record: float = 0.01,
                    extra_times: Sequence[Sequence[float]] | None = None) -> dict[str, Any]:
    """Noise-free response of the particle model to piecewise-constant current segments.

    Parameters
    ----------
    segments : sequence of (duration s, current A, sample interval s)
        Consecutive constant-current steps (0 A = rest). Each step is logged at
        ``first_record`` after its start, then every sample interval after that
        first record, and at its end.
    diffusivity : float or callable
        D in cm²/s, or a function of the local stoichiometry.
    geometry : {"sphere", "planar"}
    length : float
        Particle radius (sphere) or film thickness (planar), cm.
    moles : float
        Moles of host in the electrode.
    x0 : float
        Initial (uniform) stoichiometry.
    ocv : callable
        E_eq(x), V.
    ohmic_resistance : float
        Series resistance, Ω.
    rc : sequence of (R Ω, C F)
        Series RC elements.
    n_cells : int
        Finite-volume cells.
    first_record : float
        Delay of a step's first record after the switch, s.
    extra_times : sequence of sequences of float, optional
        For each segment, further offsets (s after its start) at which the noise-free
        voltage is evaluated but not logged.

    Returns
    -------
    dict
        ``time``, ``voltage``, ``current`` (logged records, noise-free), ``x_mean`` and
        ``x_surface`` at the records, ``segment`` index of each record, ``extra`` (per
        segment: list of (offset, voltage) pairs), ``x_end`` (mean stoichiometry at the
        end of each segment).
    """
    if geometry not in _GEOMETRIES:
        raise ValidationError(f"geometry: expected one of {_GEOMETRIES}, got {geometry!r}")
    p = _Particle(geometry=geometry, length=length, x0=x0, diffusivity=diffusivity, n_cells=n_cells)
    sv = p.surface_over_volume
    rc_state = np.zeros(len(rc))
    rc_r = np.array([float(r) for r, _ in rc])
    rc_tau = np.array([float(r) * float(c) for r, c in rc])
    ts: list[float] = []
    vs: list[float] = []
    cs: list[float] = []
    xm: list[float] = []
    xs: list[float] = []
    seg_of: list[int] = []
    extra_out: list[list[tuple[float, float, float]]] = []
    x_end: list[float] = []
    t_abs = 0.0
    for k, (dur, cur, dt_rec) in enumerate(segments):
        dur, cur, dt_rec = float(dur), float(cur), float(dt_rec)
        if not (dur > first_record and dt_rec > 0):
            raise ValidationError(f"segments[{k}]: duration must exceed {first_record} s and the interval be > 0")
        q = cur / (FARADAY * moles) / sv  # flux out of the surface, x · cm / s
        logged = np.concatenate((first_record + np.arange(0.0, dur - first_record, dt_rec), [dur]))
        logged = np.unique(logged[logged <= dur])
        ex = np.asarray(list(extra_times[k]) if extra_times is not None and k < len(extra_times) else [], float)
        ex = ex[(ex > 0) & (ex <= dur)]
        targets = np.unique(np.concatenate((logged, ex)))
        is_logged = np.isin(targets, logged)
        now = 0.0
        dt = 1e-3
        n_steps = 0
        seg_extra: list[tuple[float, float, float]] = []
        for tgt, lg in zip(targets, is_logged, strict=True):
            while now < tgt - 1e-12:
                h = min(dt, tgt - now)
                theta = 1.0 if n_steps < 2 else 0.5
                p.step(h, q, theta)
                if rc_state.size:
                    decay = np.exp(-h / rc_tau)
                    rc_state = rc_state * decay + cur * rc_r * (1.0 - decay)
                now += h
                n_steps += 1
                dt = min(dt * 1.2, max(dt_rec, 1e-3))
            x_s = p.surface(q)
            over = cur * ohmic_resistance + float(rc_state.sum())
            if lg:
                ts.append(t_abs + float(tgt))
                vs.append(over)
                cs.append(cur)
                xm.append(p.mean)
                xs.append(x_s)
                seg_of.append(k)
            if tgt in ex:
                seg_extra.append((float(tgt), x_s, over))
        extra_out.append(seg_extra)
        x_end.append(p.mean)
        t_abs += dur
    x_surf = np.asarray(xs)
    volt = np.asarray(ocv(x_surf), dtype=float).reshape(-1) + np.asarray(vs)
    flat = [e for seg in extra_out for e in seg]
    e_volt = (np.asarray(ocv(np.array([e[1] for e in flat])), dtype=float).reshape(-1)
              + np.array([e[2] for e in flat])) if flat else np.zeros(0)
    extra_v: list[list[tuple[float, float]]] = []
    j = 0
    for seg in extra_out:
        extra_v.append([(seg[m][0], float(e_volt[j + m])) for m in range(len(seg))])
        j += len(seg)
    return {"time": np.asarray(ts), "voltage": volt, "current": np.asarray(cs), "x_mean": np.asarray(xm),
            "x_surface": x_surf, "segment": np.asarray(seg_of, dtype=np.int64), "extra": extra_v,
            "x_end": x_end}


def _length_cm(value: Any, name: str) -> float:
    v = magnitude(value, "nm", name=name) * 1e-7
    if not v > 0:
        raise ValidationError(f"{name}: must be > 0, got {value}")
    return v


def _electrode(*, geometry: str, radius: Any, mass: Any, molar_mass: Any, molar_volume: Any) -> dict[str, float]:
    if geometry not in _GEOMETRIES:
        raise ValidationError(f"geometry: expected one of {_GEOMETRIES}, got {geometry!r}")
    length = _length_cm(radius, "radius")
    m = magnitude(mass, "g", name="mass")
    mm = magnitude(molar_mass, "g/mol", name="molar_mass")
    vm = magnitude(molar_volume, "cm**3/mol", name="molar_volume")
    for name, val in (("mass", m), ("molar_mass", mm), ("molar_volume", vm)):
        if not val > 0:
            raise ValidationError(f"{name}: must be > 0, got {val}")
    moles = m / mm
    volume = moles * vm
    area = volume * (3.0 / length if geometry == "sphere" else 1.0 / length)
    return {"length_cm": length, "mass": m, "molar_mass": mm, "molar_volume": vm, "moles": moles,
            "volume_cm3": volume, "area_cm2": area, "volume_over_area_cm": volume / area}


def synthetic_gitt(
    *,
    diffusivity: float | Callable[[np.ndarray], Any] = 1e-11,
    geometry: str = "sphere",
    radius: Any = 5000.0,
    mass: Any = 0.01,
    molar_mass: Any = 97.28,
    molar_volume: Any = 20.5,
    x0: float = 0.90,
    direction: str = "charge",
    current: Any = None,
    c_rate: float = 0.1,
    capacity: float = 200.0,
    n_pulses: int = 20,
    pulse_duration: float = 600.0,
    rest_duration: float = 3600.0,
    initial_rest: float | None = None,
    ohmic_resistance: float = 10.0,
    voltage_noise: float = 1e-4,
    sample_interval: float = 1.0,
    rest_interval: float = 10.0,
    ocv: Callable[[np.ndarray], Any] = ncm811_ocv,
    n_cells: int = 160,
    seed: int = 0,
    sample: Sample | str | None = None,
) -> CyclingData:
    """A GITT record: constant-current pulses separated by rests, from the particle model.

    Parameters
    ----------
    diffusivity : float or callable
        Chemical diffusion coefficient D, cm²/s, or a function D(x) of the local
        stoichiometry.
    geometry : {"sphere", "planar"}
        Spheres of radius ``radius`` or films of thickness ``radius``.
    radius : float or pint.Quantity
        Particle radius (film thickness), nm.
    mass : float or pint.Quantity
        Active mass, g (stored as the record's mass).
    molar_mass, molar_volume : float or pint.Quantity
        Of the host, g/mol and cm³/mol (defaults: LiNi0.8Mn0.1Co0.1O2, 97.28 g/mol,
        20.5 cm³/mol for 4.75 g/cm³).
    x0 : float
        Initial lithium stoichiometry (uniform after a long rest).
    direction : {"charge", "discharge"}
        Charge pulses (positive current, delithiation) or discharge pulses.
    current : float or pint.Quantity, optional
        Pulse current magnitude, A (default ``c_rate · capacity · mass``).
    c_rate, capacity : float
        Used when ``current`` is None; ``capacity`` in mAh/g defines 1C.
    n_pulses : int
    pulse_duration, rest_duration : float
        τ and the rest after each pulse, s.
    initial_rest : float, optional
        Rest before the first pulse, s (default ``rest_duration``).
    ohmic_resistance : float
        Series resistance, Ω.
    voltage_noise : float
        Standard deviation of the logged voltage, V.
    sample_interval, rest_interval : float
        Logging interval during pulses and rests, s (each step is also logged 10 ms
        after its start and at its end).
    ocv : callable
        E_eq(x), V (default :func:`ncm811_ocv`).
    n_cells : int
        Finite-volume cells in the particle.
    seed : int
    sample : Sample or str, optional

    Returns
    -------
    CyclingData
        With ``mass`` set and ``meta["truth"]``: ``diffusivity`` (cm²/s; per pulse, at
        the pulse's mean composition, when D is a function), ``geometry``,
        ``radius_nm``, ``area_cm2`` (total particle surface), ``molar_volume``,
        ``molar_mass``, ``mass``, ``moles``, ``volume_over_area_cm``,
        ``tau_ratio`` (D τ / R²), ``x_after_pulse``, ``ocv_after_pulse`` (V),
        ``current`` (A, signed), and the settings.

    Examples
    --------
    >>> rec = synthetic_gitt(n_pulses=2, geometry="planar", radius=2000.0, seed=0)
    >>> rec.meta["truth"]["geometry"], round(rec.meta["truth"]["area_cm2"], 2)
    ('planar', 10.54)
    """
    el = _electrode(geometry=geometry, radius=radius, mass=mass, molar_mass=molar_mass, molar_volume=molar_volume)
    if direction not in ("charge", "discharge"):
        raise ValidationError(f"direction: expected 'charge' or 'discharge', got {direction!r}")
    if n_pulses < 1:
        raise ValidationError(f"n_pulses: at least 1, got {n_pulses}")
    i_mag = (c_rate * capacity * el["mass"] * 1e-3) if current is None else abs(magnitude(current, "A",
                                                                                            name="current"))
    if not i_mag > 0:
        raise ValidationError("current: the pulse current must be non-zero")
    sign = 1.0 if direction == "charge" else -1.0
    cur = sign * i_mag
    dx = cur * pulse_duration / (FARADAY * el["moles"])
    x_final = x0 - n_pulses * dx
    if not (0.0 < x_final < 1.0 and 0.0 < x0 < 1.0):
        raise ValidationError(f"the pulse train takes x from {x0} to {x_final:.3f}, outside (0, 1); "
                              "use fewer or shorter pulses or a smaller current")
    first = rest_duration if initial_rest is None else float(initial_rest)
    segs: list[tuple[float, float, float]] = [(first, 0.0, rest_interval)]
    for _ in range(n_pulses):
        segs.append((pulse_duration, cur, sample_interval))
        segs.append((rest_duration, 0.0, rest_interval))
    sim = simulate_pulses(segs, diffusivity=diffusivity, geometry=geometry, length=el["length_cm"],
                          moles=el["moles"], x0=x0, ocv=ocv, ohmic_resistance=ohmic_resistance, n_cells=n_cells)
    rng = np.random.default_rng(seed)
    v = sim["voltage"] + (voltage_noise * rng.standard_normal(sim["voltage"].size) if voltage_noise > 0 else 0.0)
    x_after = [float(sim["x_end"][2 * k + 2]) for k in range(n_pulses)]
    ocv_after = [float(np.asarray(ocv(np.array([x])), float).reshape(-1)[0]) for x in x_after]
    if callable(diffusivity):
        x_before = [float(sim["x_end"][2 * k]) for k in range(n_pulses)]
        d_truth: Any = [float(np.asarray(diffusivity(np.array([0.5 * (a + b)])), float).reshape(-1)[0])
                        for a, b in zip(x_before, x_after, strict=True)]
        d_ref = float(np.median(d_truth))
    else:
        d_truth = float(diffusivity)
        d_ref = d_truth
    truth = {
        "diffusivity": d_truth, "diffusivity_units": "cm**2/s", "geometry": geometry,
        "radius_nm": el["length_cm"] * 1e7, "area_cm2": el["area_cm2"], "molar_volume": el["molar_volume"],
        "molar_mass": el["molar_mass"], "mass": el["mass"], "moles": el["moles"],
        "volume_over_area_cm": el["volume_over_area_cm"], "tau_ratio": d_ref * pulse_duration / el["length_cm"] ** 2,
        "x0": float(x0), "x_after_pulse": x_after, "ocv_after_pulse": ocv_after, "current": cur,
        "pulse_duration": float(pulse_duration), "rest_duration": float(rest_duration),
        "ohmic_resistance": float(ohmic_resistance), "voltage_noise": float(voltage_noise), "seed": int(seed),
        "n_pulses": int(n_pulses),
    }
    meta = {"source": "ncmsurf.datasets.gitt.synthetic_gitt", "synthetic": True, "truth": truth,
            "rows_read": int(sim["time"].size), "citations": ["chen2020"]}
    return CyclingData(sim["time"], v, sim["current"], mass=el["mass"], sample=sample, meta=meta)


def synthetic_hppc(
    *,
    ohmic_resistance: float = 0.020,
    rc: Sequence[tuple[float, float]] = ((0.010, 200.0),),
    diffusivity: float = 1e-10,
    radius: Any = 5000.0,
    mass: Any = 25.0,
    molar_mass: Any = 97.28,
    molar_volume: Any = 20.5,
    x0: float = 0.35,
    pulses: Sequence[tuple[float, float]] = ((-4.845, 30.0), (3.635, 10.0)),
    pulse_rests: Sequence[float] | None = None,
    n_blocks: int = 3,
    soc_step: tuple[float, float] = (-1.616, 1080.0),
    rest_duration: float = 3600.0,
    sample_interval: float = 0.1,
    rest_interval: float = 10.0,
    voltage_noise: float = 2e-4,
    times: Sequence[float] = (0.0, 0.1, 1.0, 10.0, 18.0),
    ocv: Callable[[np.ndarray], Any] = ncm811_ocv,
    n_cells: int = 120,
    seed: int = 0,
    sample: Sample | str | None = None,
) -> CyclingData:
    """An HPPC-like record: blocks of [rest, pulses with rests between, SOC step] on a cell model.

    The cell is the particle model of :func:`synthetic_gitt` (spheres) in series with
    ``ohmic_resistance`` and RC elements, so the resistance a pulse shows grows with
    the time after its start: R(t) ≈ R_0 + Σ R_k (1 − exp(−t / R_k C_k)) plus the
    diffusion part. The default is scaled like the ≈4.7 Ah cells of common HPPC
    protocols (a discharge pulse, a rest, a charge pulse, then a constant-current SOC
    step; mass 25 g).

    Parameters
    ----------
    ohmic_resistance : float
        R_0, Ω.
    rc : sequence of (R Ω, C F)
    diffusivity, radius, mass, molar_mass, molar_volume, x0, ocv, n_cells
        As in :func:`synthetic_gitt`.
    pulses : sequence of (current A, duration s)
        The pulses of each block (signed: positive = charge).
    pulse_rests : sequence of float, optional
        Rest after each pulse but the last, s (default 40 s each); the last pulse is
        followed directly by the SOC step.
    n_blocks : int
    soc_step : (current A, duration s)
        The step that moves the state of charge after the pulses of a block.
    rest_duration : float
        Rest before each block, s.
    sample_interval, rest_interval : float
        Logging interval in current steps and rests, s.
    voltage_noise : float
        Standard deviation of the logged voltage, V.
    times : sequence of float
        Times after a pulse's first record at which ``meta["truth"]["resistance"]``
        holds the exact resistance.
    seed : int
    sample : Sample or str, optional

    Returns
    -------
    CyclingData
        ``meta["truth"]["resistance"]``: for every current step in order (pulses and
        SOC steps), a dict with ``current``, ``delta_current``, ``start`` (time of its
        first record, s) and ``r`` (list over ``times`` of (V(t) − V_before) / ΔI from
        the noise-free voltage, Ω, with t counted from the step's first record and the
        step's end standing for a t equal to its duration; NaN for t beyond it), with
        V_before the noise-free voltage of the last record before the step.

    Examples
    --------
    >>> rec = synthetic_hppc(n_blocks=1, seed=0)
    >>> [round(p["r"][0] * 1e3, 1) for p in rec.meta["truth"]["resistance"]][:2]   # R0 = 20 mΩ plus 10 ms of RC
    [20.1, 20.1]
    """
    el = _electrode(geometry="sphere", radius=radius, mass=mass, molar_mass=molar_mass, molar_volume=molar_volume)
    if n_blocks < 1:
        raise ValidationError(f"n_blocks: at least 1, got {n_blocks}")
    if not pulses:
        raise ValidationError("pulses: at least one (current, duration) pair")
    rests = [40.0] * (len(pulses) - 1) if pulse_rests is None else [float(r) for r in pulse_rests]
    if len(rests) != len(pulses) - 1:
        raise ValidationError(f"pulse_rests: expected {len(pulses) - 1} values, got {len(rests)}")
    first = 0.01
    segs: list[tuple[float, float, float]] = []
    steps_idx: list[int] = []
    for _ in range(n_blocks):
        segs.append((rest_duration, 0.0, rest_interval))
        for j, (c, d) in enumerate(pulses):
            steps_idx.append(len(segs))
            segs.append((float(d), float(c), sample_interval))
            if j < len(rests):
                segs.append((rests[j], 0.0, min(rest_interval, 1.0)))
        steps_idx.append(len(segs))
        segs.append((float(soc_step[1]), float(soc_step[0]), min(rest_interval, 1.0)))
    segs.append((rest_duration, 0.0, rest_interval))
    extra: list[list[float]] = [[] for _ in segs]
    for k in steps_idx:  # t after the first record, the last one (t = duration) at the step's end
        extra[k] = [min(first + float(t), segs[k][0]) for t in times if float(t) <= segs[k][0]]
    sim = simulate_pulses(segs, diffusivity=diffusivity, geometry="sphere", length=el["length_cm"],
                          moles=el["moles"], x0=x0, ocv=ocv, ohmic_resistance=ohmic_resistance, rc=rc,
                          n_cells=n_cells, first_record=first, extra_times=extra)
    t, v_clean, cur, seg_of = sim["time"], sim["voltage"], sim["current"], sim["segment"]
    truth_r = []
    for k in steps_idx:
        first_rec = int(np.flatnonzero(seg_of == k)[0])
        v_before = float(v_clean[first_rec - 1])
        i_before = float(cur[first_rec - 1])
        di = segs[k][1] - i_before
        # the first record of the step carries the voltage at offset `first` (times[0] == 0 is that record)
        at = dict(sim["extra"][k])
        at.setdefault(first, float(v_clean[first_rec]))
        dur = segs[k][0]
        r = [((at[min(first + float(tt), dur)] - v_before) / di) if float(tt) <= dur else math.nan for tt in times]
        truth_r.append({"current": float(segs[k][1]), "delta_current": float(di), "start": float(t[first_rec]),
                        "r": r})
    rng = np.random.default_rng(seed)
    v = v_clean + (voltage_noise * rng.standard_normal(v_clean.size) if voltage_noise > 0 else 0.0)
    truth = {"ohmic_resistance": float(ohmic_resistance), "rc": [[float(a), float(b)] for a, b in rc],
             "times": [float(x) for x in times], "resistance": truth_r, "voltage_noise": float(voltage_noise),
             "diffusivity": float(diffusivity), "seed": int(seed), "mass": el["mass"]}
    meta = {"source": "ncmsurf.datasets.gitt.synthetic_hppc", "synthetic": True, "truth": truth,
            "rows_read": int(t.size), "citations": ["chen2020"]}
    return CyclingData(t, v, cur, sample=sample, meta=meta)
