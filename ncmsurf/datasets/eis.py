"""Seeded synthetic impedance spectra from equivalent circuits.

Examples
--------
>>> spec = synthetic_spectrum("ncm", {"R0": 10.0, "R1": 30.0, "CPE1_0": 1e-5, "CPE1_1": 0.9, "R2": 60.0,
...                                   "W1": 15.0, "CPE2_0": 1e-3, "CPE2_1": 0.85}, seed=1)
>>> spec.frequency.size, spec.meta["noise"]
(71, 0.005)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import array_magnitude, magnitude
from ncmsurf.eis._circuits import PRESETS, compile_circuit

__all__ = ["NCM_TRUTH", "TWO_ZARC_TRUTH", "default_frequency", "drt_peaks", "synthetic_spectrum", "two_zarc_spectrum"]

#: A plausible coated-NCM half-cell spectrum for the "ncm" preset (ohm, F·s^(α-1), s^-1/2 units).
NCM_TRUTH: dict[str, float] = {"R0": 3.0, "R1": 25.0, "CPE1_0": 2e-5, "CPE1_1": 0.85, "R2": 60.0,
                               "W1": 12.0, "CPE2_0": 1e-3, "CPE2_1": 0.9}


#: Two ZARC arcs (R, τ, α) in series with R0 = R_inf: a film arc at 1 ms and charge transfer at 1 s.
TWO_ZARC_TRUTH: dict[str, float] = {"R0": 2.0, "Zarc1_0": 10.0, "Zarc1_1": 1e-3, "Zarc1_2": 0.85,
                                    "Zarc2_0": 20.0, "Zarc2_1": 1.0, "Zarc2_2": 0.8}


def two_zarc_spectrum(params: Mapping[str, float] | None = None, *, noise: float = 0.005, seed: int = 0,
                      frequency: Any = None) -> ImpedanceSpectrum:
    """A seeded two-ZARC spectrum ``R0-Zarc1-Zarc2`` (default :data:`TWO_ZARC_TRUTH`), for DRT tests.

    Examples
    --------
    >>> s = two_zarc_spectrum(seed=3)
    >>> s.meta["circuit"], s.frequency.size
    ('R0-Zarc1-Zarc2', 71)
    """
    p = dict(TWO_ZARC_TRUTH)
    p.update(params or {})
    return synthetic_spectrum("R0-Zarc1-Zarc2", p, noise=noise, seed=seed, frequency=frequency)


def drt_peaks(params: Mapping[str, float]) -> list[tuple[float, float]]:
    """The true DRT peaks (τ in s, resistance in ohm) of ``R0-Zarc1-Zarc2``-type parameters, by τ.

    A ZARC (R, τ, α) has a symmetric distribution centred on τ with area R.

    Examples
    --------
    >>> drt_peaks(TWO_ZARC_TRUTH)
    [(0.001, 10.0), (1.0, 20.0)]
    """
    out = [(float(params[f"{e}_1"]), float(params[f"{e}_0"])) for e in sorted({k.rsplit("_", 1)[0] for k in params
                                                                                  if k.startswith("Zarc")})]
    return sorted(out)


def default_frequency(f_max: float = 1e5, f_min: float = 1e-2, per_decade: int = 10) -> np.ndarray:
    """Log-spaced frequencies from ``f_max`` down to ``f_min`` (Hz), ``per_decade`` points per decade.

    Examples
    --------
    >>> default_frequency().size
    71
    """
    n = int(round(np.log10(f_max / f_min) * per_decade)) + 1
    return np.logspace(np.log10(f_max), np.log10(f_min), n)


def synthetic_spectrum(
    circuit: str,
    params: Mapping[str, float],
    *,
    frequency: Any = None,
    noise: float = 0.005,
    seed: int = 0,
    area: Any = None,
    sample: Sample | str | None = None,
) -> ImpedanceSpectrum:
    """An impedance spectrum of ``circuit`` with known parameters and seeded noise.

    Parameters
    ----------
    circuit : str
        impedance.py circuit string or preset (``"ncm"``, ``"randles"``, ``"randles-cpe"``).
    params : mapping
        Value of every parameter by impedance.py name (``R0``, ``CPE1_0``, ...).
    frequency : array_like or Quantity, optional
        Hz; default 100 kHz → 10 mHz, 10 points per decade (71 points).
    noise : float
        Relative noise: Z·(1 + noise·(ε′ + jε″)), ε standard normal (0.005 = 0.5 %).
    seed : int
        Seed of the noise generator.
    area : float or Quantity, optional
        Electrode area, cm² (stored on the spectrum).
    sample : Sample or str, optional

    Returns
    -------
    ImpedanceSpectrum
        ``meta`` holds the circuit, the true parameters, the noise and the seed.
    """
    c = compile_circuit(circuit)
    missing = [n for n in c.param_names if n not in params]
    if missing:
        raise ValidationError(f"params: missing {missing} for circuit {c.circuit!r} (needs {list(c.param_names)})")
    extra = sorted(set(params) - set(c.param_names))
    if extra:
        raise ValidationError(f"params: {extra} are not parameters of {c.circuit!r}")
    f = default_frequency() if frequency is None else np.atleast_1d(array_magnitude(frequency, "Hz", name="frequency"))
    p = np.array([float(params[n]) for n in c.param_names])
    z = c(p, f)
    sigma = magnitude(noise, "dimensionless", name="noise")
    if sigma < 0:
        raise ValidationError(f"noise: must be >= 0, got {sigma}")
    rng = np.random.default_rng(seed)
    eps = rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)
    z = z * (1 + sigma * eps)
    meta = {"synthetic": True, "circuit": PRESETS[circuit][0] if circuit in PRESETS else c.circuit,
            "true_params": {n: float(params[n]) for n in c.param_names}, "noise": float(sigma), "seed": int(seed)}
    return ImpedanceSpectrum(f, z, sample=sample, area=area, meta=meta)
