"""Seeded synthetic galvanostatic records of an NCM half cell with a known truth.

A record is built cycle by cycle: CC charge to the upper cut-off with a CV
tail, a rest, a CC discharge, a rest. The discharge capacity of cycle ``n``
is the fade law at ``n`` times a rate factor of the cycle's C-rate (times
``1 + noise * N(0, 1)``); the voltage follows an NCM open-circuit curve with
the H1→M, M→H2 and H2→H3 features plus an overpotential that grows with
cycling, so dQ/dV peaks can be tracked. The truth is stored in
``meta["truth"]``.

Examples
--------
>>> from ncmsurf.datasets.cycling import synthetic_record
>>> rec = synthetic_record(n_cycles=5, seed=1)
>>> len(rec) > 0, rec.mass, sorted(rec.meta["truth"])[:3]
(True, 0.01, ['c_rate', 'charge_capacity', 'discharge_capacity'])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.sample import Sample
from ncmsurf.cycling._fade import FADE_MODELS, fade_law

__all__ = ["NCM_PEAKS", "ncm_ocv", "rate_factor", "synthetic_record"]

NCM_PEAKS: dict[str, tuple[float, float, float]] = {
    "H1-M": (3.68, 0.050, 0.34),
    "M-H2": (4.00, 0.025, 0.12),
    "H2-H3": (4.19, 0.020, 0.15),
}
"""Phase transitions of the synthetic open-circuit curve: name → (V, width V, weight)."""

_V_LO, _V_HI = 2.9, 4.4
_GRID = 3001


@lru_cache(maxsize=64)
def _ocv_table(h2h3_weight: float) -> tuple[np.ndarray, np.ndarray]:
    v = np.linspace(_V_LO, _V_HI, _GRID)
    dens = np.full(v.size, 0.38 / (4.3 - 3.0))
    for name, (e, s, w) in NCM_PEAKS.items():
        ww = w * h2h3_weight if name == "H2-H3" else w
        dens = dens + ww * np.exp(-0.5 * ((v - e) / s) ** 2) / (s * np.sqrt(2 * np.pi))
    x = np.concatenate(([0.0], np.cumsum(0.5 * (dens[1:] + dens[:-1]) * np.diff(v))))
    x0 = np.interp(3.0, v, x)
    x1 = np.interp(4.3, v, x)
    x = (x - x0) / (x1 - x0)
    return x, v


def ncm_ocv(x: Any, *, h2h3_weight: float = 1.0) -> np.ndarray:
    """Open-circuit voltage (V) of the synthetic NCM at state of charge ``x`` (0 at 3.0 V, 1 at 4.3 V).

    Examples
    --------
    >>> ncm_ocv([0.0, 1.0]).round(3).tolist()
    [3.0, 4.3]
    """
    xt, vt = _ocv_table(round(float(h2h3_weight), 4))
    return np.asarray(np.interp(np.asarray(x, dtype=float), xt, vt), dtype=float)


def rate_factor(c_rate: Any) -> np.ndarray:
    """Fraction of the 0.1C capacity delivered at ``c_rate`` (1 at 0.1C, ~0.90 at 5C).

    Examples
    --------
    >>> float(rate_factor(0.1))
    1.0
    """
    c = np.asarray(c_rate, dtype=float)
    return 1.0 - 0.06 * (np.log1p(c) - np.log1p(0.1))  # type: ignore[no-any-return]


def _law(fade: Mapping[str, Any] | None, capacity: float) -> tuple[str, dict[str, float]]:
    f = dict(fade or {"model": "exponential", "k": 1e-3})
    model = str(f.pop("model", "exponential"))
    if model not in FADE_MODELS:
        raise ValidationError(f"fade: model must be one of {sorted(FADE_MODELS)}, got {model!r}")
    names = FADE_MODELS[model][1]
    if "q0" in names and "q0" not in f:
        f["q0"] = capacity
    if model == "bacon-watts" and "gamma" not in f:
        f["gamma"] = 1e-3
    unknown = set(f) - set(names)
    if unknown:
        raise ValidationError(f"fade: unknown parameter(s) {sorted(unknown)} for {model!r} (has {names})")
    return model, {k: float(v) for k, v in f.items()}


def synthetic_record(
    *,
    capacity: float = 200.0,
    mass: float = 0.01,
    n_cycles: int = 100,
    fade: Mapping[str, Any] | None = None,
    rate_ladder: Sequence[tuple[float, int]] | None = None,
    c_rate: float = 0.5,
    noise: float = 0.002,
    voltage_noise: float = 0.0005,
    points_per_cycle: int = 200,
    cv_fraction: float = 0.03,
    coulombic_efficiency: float = 0.998,
    first_coulombic_efficiency: float = 0.90,
    overpotential: float = 0.03,
    overpotential_growth: float = 0.004,
    h2h3_decay: float = 0.003,
    rest: float = 600.0,
    seed: int = 0,
    sample: Sample | str | None = None,
) -> CyclingData:
    """Generate a galvanostatic record of a cathode half cell from a known truth.

    Parameters
    ----------
    capacity : float
        Discharge capacity at 0.1C before fading (the law's ``q0``), mAh/g.
    mass : float
        Active mass, g.
    n_cycles : int
        Number of cycles (at least the cycles of ``rate_ladder``).
    fade : dict, optional
        ``{"model": name, **params}`` with a model of
        :func:`ncmsurf.cycling.fit_fade` (cycle-number parameters); ``q0``
        defaults to ``capacity``. Default ``{"model": "exponential", "k": 1e-3}``.
    rate_ladder : sequence of (C-rate, cycles), optional
        Rate steps run first, e.g. ``[(0.1, 3), (0.5, 3), (1, 3), (0.1, 3)]``;
        the remaining cycles run at ``c_rate``.
    c_rate : float
        C-rate (against ``capacity``) of the cycles after the ladder.
    noise : float
        Relative standard deviation of the per-cycle capacity.
    voltage_noise : float
        Standard deviation of the voltage, V.
    points_per_cycle : int
        Records per cycle (at least 40).
    cv_fraction : float
        Smallest share of the charge passed in the CV tail at 4.3 V (the CC
        part ends where the open-circuit voltage plus the overpotential
        reaches 4.3 V, so the CV share grows with rate and cycling).
    coulombic_efficiency, first_coulombic_efficiency : float
        CE of the later cycles and of cycle 1.
    overpotential : float
        Overpotential at 1C, V (ohmic, proportional to the current).
    overpotential_growth : float
        Relative growth of the overpotential per cycle.
    h2h3_decay : float
        Decay rate per cycle of the H2→H3 feature's weight.
    rest : float
        Rest after each half-cycle, s.
    seed : int
        Seed of the random generator.
    sample : Sample or str, optional

    Returns
    -------
    CyclingData
        Current positive on charge, ``meta["truth"]`` with the law, the
        ladder and the per-cycle capacities (mAh/g) and C-rates.

    Examples
    --------
    >>> rec = synthetic_record(n_cycles=6, rate_ladder=[(0.1, 3), (1.0, 3)], noise=0.0)
    >>> rec.meta["truth"]["c_rate"]
    [0.1, 0.1, 0.1, 1.0, 1.0, 1.0]
    """
    if not mass > 0:
        raise ValidationError(f"mass: must be > 0 g, got {mass}")
    if not capacity > 0:
        raise ValidationError(f"capacity: must be > 0 mAh/g, got {capacity}")
    if points_per_cycle < 40:
        raise ValidationError(f"points_per_cycle: at least 40, got {points_per_cycle}")
    model, law = _law(fade, capacity)
    ladder = [(float(c), int(k)) for c, k in (rate_ladder or [])]
    for c, k in ladder:
        if not (c > 0 and k > 0):
            raise ValidationError(f"rate_ladder: C-rates and cycle counts must be > 0, got {(c, k)}")
    rates = [c for c, k in ladder for _ in range(k)]
    if len(rates) > n_cycles:
        raise ValidationError(f"n_cycles: {n_cycles} is less than the {len(rates)} cycles of the rate ladder")
    rates += [float(c_rate)] * (n_cycles - len(rates))
    rng = np.random.default_rng(seed)
    cyc = np.arange(1, n_cycles + 1, dtype=float)
    crates = np.asarray(rates)
    qd = fade_law(model, cyc, **law) * rate_factor(crates) * (1.0 + noise * rng.standard_normal(n_cycles))
    if np.any(qd <= 0):
        raise ValidationError("fade: the law gives a non-positive capacity within n_cycles")
    ce = np.full(n_cycles, coulombic_efficiency)
    ce[0] = first_coulombic_efficiency
    qc = qd / ce
    i1c = capacity * mass * 1e-3  # A
    n_cc = max(10, int(0.4 * points_per_cycle))
    n_cv = max(5, int(0.1 * points_per_cycle))
    n_rest = max(3, (points_per_cycle - 2 * n_cc - n_cv) // 2)
    t_parts: list[np.ndarray] = []
    v_parts: list[np.ndarray] = []
    i_parts: list[np.ndarray] = []
    # opening rest
    t_now = 0.0
    tr = np.linspace(0.0, 3600.0, n_rest)
    t_parts.append(tr)
    v_parts.append(np.full(n_rest, ncm_ocv(0.0)))
    i_parts.append(np.zeros(n_rest))
    t_now = 3600.0
    s_cc = np.linspace(0.0, 1.0, n_cc)
    s_rest = np.linspace(0.0, 1.0, n_rest)
    decay = np.log(20.0)
    s_cv = np.linspace(0.0, decay, n_cv)
    for j in range(n_cycles):
        c = crates[j]
        w3 = float(np.exp(-h2h3_decay * cyc[j]))
        eta = overpotential * c * (1.0 + overpotential_growth * cyc[j])
        cur = c * i1c
        # state of charge y in [0, 1] of this cycle's own capacity: CC charge until the voltage
        # (OCV + overpotential) reaches 4.3 V, at least `cv_fraction` left for the CV tail
        y_cc = min(float(np.interp(4.3 - eta, *_ocv_table(round(w3, 4))[::-1])), 1.0 - cv_fraction)
        y_cc = max(y_cc, 0.5)
        f_cv = 1.0 - y_cc
        q_cc = y_cc * qc[j] * mass * 3.6  # A s
        q_cv = f_cv * qc[j] * mass * 3.6
        t_cc = q_cc / cur
        tau = q_cv / (cur * (1.0 - 1.0 / 20.0))
        # CC charge
        t_parts.append(t_now + t_cc * s_cc)
        v_parts.append(np.minimum(ncm_ocv(y_cc * s_cc, h2h3_weight=w3) + eta, 4.3))
        i_parts.append(np.full(n_cc, cur))
        t_now += t_cc
        # CV tail at 4.3 V
        t_parts.append(t_now + tau * s_cv)
        v_parts.append(np.full(n_cv, 4.3))
        i_parts.append(cur * np.exp(-s_cv))
        t_now += tau * decay
        # rest: relaxes towards the open-circuit voltage of the full state
        v_top = float(ncm_ocv(1.0, h2h3_weight=w3))
        t_parts.append(t_now + rest * s_rest)
        v_parts.append(v_top + (4.3 - v_top) * np.exp(-s_rest * 5.0))
        i_parts.append(np.zeros(n_rest))
        t_now += rest
        # CC discharge over the delivered share of the charge
        t_dis = qd[j] * mass * 3.6 / cur
        yd = 1.0 - (qd[j] / qc[j]) * s_cc
        t_parts.append(t_now + t_dis * s_cc)
        v_parts.append(ncm_ocv(yd, h2h3_weight=w3) - eta)
        i_parts.append(np.full(n_cc, -cur))
        t_now += t_dis
        # rest
        v_bot = float(ncm_ocv(yd[-1], h2h3_weight=w3))
        t_parts.append(t_now + rest * s_rest)
        v_parts.append(v_bot - eta * np.exp(-s_rest * 5.0))
        i_parts.append(np.zeros(n_rest))
        t_now += rest
    t = np.concatenate(t_parts)
    v = np.concatenate(v_parts)
    if voltage_noise > 0:
        v = v + voltage_noise * rng.standard_normal(v.size)
    i = np.concatenate(i_parts)
    truth = {
        "fade": {"model": model, **law},
        "rate_ladder": [list(p) for p in ladder],
        "c_rate": [float(c) for c in crates],
        "discharge_capacity": qd.tolist(),
        "charge_capacity": qc.tolist(),
        "reference_c_rate_capacity": float(capacity),
        "seed": int(seed),
    }
    meta = {"source": "ncmsurf.datasets.cycling.synthetic_record", "truth": truth, "rows_read": int(t.size)}
    return CyclingData(t, v, i, mass=mass, sample=sample, meta=meta)
