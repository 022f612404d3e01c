"""Cross-check of coating thickness between methods."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfWarning, ValidationError
from ncmsurf.core.results import FitResult, ScalarResult
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude
from ncmsurf.thickness._results import ArxpsResult, DepositionRate

__all__ = ["Z_THRESHOLD", "DisagreementWarning", "cross_check"]

Z_THRESHOLD = 3.0
"""Default z-score of a difference between two methods above which they disagree."""


class DisagreementWarning(NcmsurfWarning):
    """Thickness methods for one sample disagree beyond their stated errors (or the tolerance)."""


def _value_err(v: Any) -> tuple[float, float]:
    """(value, stderr) from a number, a (value, stderr) pair or a result object."""
    if isinstance(v, ArxpsResult):
        return v.thickness, v.thickness_stderr
    if isinstance(v, ScalarResult):  # Thickness, EDS shell width, TEM thickness, ...
        return v.value, v.value_stderr
    if isinstance(v, FitResult):
        if "depth" in v.names:  # a ToF-SIMS interface: its depth, with the one stderr definition it carries
            return v.estimate("depth")
        if type(v).__name__ == "Interface":
            raise ValidationError("cross_check: a ToF-SIMS interface without a sputter rate has no depth")
        return v.estimate()
    if isinstance(v, (tuple, list)):
        if len(v) != 2:
            raise ValidationError(f"cross_check: expected (value, stderr), got {v!r}")
        return magnitude(v[0], "nm", name="thickness"), (float("nan") if v[1] is None
                                                         else magnitude(v[1], "nm", name="stderr"))
    if hasattr(v, "value") and hasattr(v, "stderr") and not isinstance(v.stderr, dict):
        err = v.stderr
        return float(v.value), float("nan") if err is None else float(err)
    return magnitude(v, "nm", name="thickness"), float("nan")


def cross_check(measurements: Mapping[Any, Mapping[str, Any]], *,
                deposition: Mapping[str, Any] | None = None, tolerance: float = 0.30,
                z_threshold: float = Z_THRESHOLD, warn: bool = False) -> xr.Dataset:
    """Thickness per sample from every method available, with a disagreement flag.

    Parameters
    ----------
    measurements : mapping
        Sample (or label) → {method name → measurement}. A measurement is a
        number (nm), a ``(value, stderr)`` pair, a :class:`Thickness`, an
        :class:`ArxpsResult`, a ToF-SIMS ``Interface`` with a known sputter
        rate (its depth is used), or any object with ``.value`` and ``.stderr``
        (e.g. an EDS shell width). Suggested method names: ``"xps_attenuation"``,
        ``"xps_ratio"``, ``"arxps"``, ``"sims"``, ``"eds"``, ``"capacitance"``, ``"tem"``.
    deposition : mapping, optional
        Coating route → :class:`DepositionRate` (or ``(rate, stderr)`` in nm
        per minute); adds a ``"deposition"`` method = rate × n for every
        coated sample of that route.
    tolerance : float
        Relative spread (max − min) / mean above which ``disagree`` is set
        for a pair of methods of which one has no stated error.
    z_threshold : float
        Two methods with stated errors disagree when the z-score of their
        difference, |d₁ − d₂| / √(σ₁² + σ₂²), exceeds this (default 3: a
        3σ difference; independent errors are assumed). ``z_max`` reports
        the largest pairwise z of each sample.
    warn : bool
        Also emit a :class:`DisagreementWarning` per flagged sample.

    Returns
    -------
    xarray.Dataset
        Over ``sample`` (labels) × ``technique`` (the method names; not called
        ``method`` because that clashes with ``Dataset.sel``): ``thickness`` and ``stderr``
        (nm, NaN where a method is missing); over ``sample``: ``consensus``
        (inverse-variance weighted mean where errors are known, else the
        mean), ``consensus_stderr``, ``spread`` (relative), ``z_max``,
        ``n_methods`` and the boolean ``disagree``; ``attrs["rule"]`` states
        the flag's rule.

    Examples
    --------
    >>> ds = cross_check({"A(3)-NCM": {"xps_ratio": (1.5, 0.1), "sims": 1.6},
    ...                   "F(3)-NCM": {"xps_ratio": 1.0, "sims": 2.0}})
    >>> ds["disagree"].values.tolist()
    [False, True]
    >>> cross_check({"A(1)-NCM": {"x": (1.0, 0.5), "y": (1.5, 0.5)},
    ...              "A(2)-NCM": {"x": (10.0, 0.01), "y": (10.5, 0.01)}})["disagree"].values.tolist()
    [False, True]
    """
    if not isinstance(measurements, Mapping) or not measurements:
        raise ValidationError("cross_check: expected a non-empty mapping sample → {method: measurement}")
    rows: dict[Sample | str, dict[str, tuple[float, float]]] = {}
    for key, meas in measurements.items():
        s: Sample | str = Sample.parse(key) if isinstance(key, str) else key
        if not isinstance(meas, Mapping):
            raise ValidationError(f"cross_check: measurements for {key!r} must be a mapping method → value")
        rows[s] = {str(m): _value_err(v) for m, v in meas.items()}
    if deposition:
        for s in rows:
            if isinstance(s, Sample) and s.coated and s.method in deposition and s.n is not None:
                dr = deposition[s.method]
                rate_err = (dr.rate, dr.rate_stderr) if isinstance(dr, DepositionRate) else _value_err(dr)
                rows[s]["deposition"] = (rate_err[0] * s.n_minutes, rate_err[1] * s.n_minutes)
    methods_seen: list[str] = []
    for r in rows.values():
        for m in r:
            if m not in methods_seen:
                methods_seen.append(m)
    samples = sorted(rows, key=lambda s: (0, s) if isinstance(s, Sample) else (1, str(s)))  # type: ignore[arg-type]
    labels = [str(s) for s in samples]
    val = np.full((len(samples), len(methods_seen)), np.nan)
    err = np.full_like(val, np.nan)
    for i, s in enumerate(samples):
        for j, m in enumerate(methods_seen):
            if m in rows[s]:
                val[i, j], err[i, j] = rows[s][m]
    cons = np.full(len(samples), np.nan)
    cons_err = np.full(len(samples), np.nan)
    spread = np.full(len(samples), np.nan)
    nmeth = np.zeros(len(samples), dtype=np.int64)
    for i in range(len(samples)):
        ok = np.isfinite(val[i])
        nmeth[i] = int(ok.sum())
        if not ok.any():
            continue
        v, e = val[i, ok], err[i, ok]
        if np.all(np.isfinite(e) & (e > 0)):
            w = 1.0 / e ** 2
            cons[i] = float(np.sum(w * v) / np.sum(w))
            cons_err[i] = float(math.sqrt(1.0 / np.sum(w)))
        else:
            cons[i] = float(np.mean(v))
            cons_err[i] = float(np.std(v, ddof=1) / math.sqrt(v.size)) if v.size > 1 else float("nan")
        mean = float(np.mean(v))
        spread[i] = float(np.ptp(v) / abs(mean)) if mean != 0 else float("inf") if np.ptp(v) > 0 else 0.0
    zmax = np.full(len(samples), np.nan)
    disagree = np.zeros(len(samples), dtype=bool)
    for i in range(len(samples)):
        ok = np.flatnonzero(np.isfinite(val[i]))
        for a_ in range(ok.size):
            for b_ in range(a_ + 1, ok.size):
                ja, jb = ok[a_], ok[b_]
                ea, eb = err[i, ja], err[i, jb]
                diff = abs(val[i, ja] - val[i, jb])
                if math.isfinite(ea) and math.isfinite(eb) and ea + eb > 0:
                    z = diff / math.hypot(ea, eb)
                    zmax[i] = z if not math.isfinite(zmax[i]) else max(zmax[i], z)
                    disagree[i] |= z > z_threshold
                else:
                    mean = 0.5 * abs(val[i, ja] + val[i, jb])
                    disagree[i] |= diff > tolerance * mean if mean > 0 else diff > 0
    if warn:
        import warnings
        for i in (int(k) for k in np.flatnonzero(disagree)):
            what = (f"z = {zmax[i]:.3g} > {z_threshold:g}" if math.isfinite(zmax[i]) and zmax[i] > z_threshold
                    else f"{spread[i]:.0%} (> {tolerance:.0%}, no stated error)")
            warnings.warn(f"{labels[i]}: thickness methods disagree ({what})", DisagreementWarning, stacklevel=2)
    return xr.Dataset(
        {"thickness": (("sample", "technique"), val, {"units": "nm"}),
         "stderr": (("sample", "technique"), err, {"units": "nm"}),
         "consensus": ("sample", cons, {"units": "nm"}),
         "consensus_stderr": ("sample", cons_err, {"units": "nm"}),
         "spread": ("sample", spread),
         "z_max": ("sample", zmax),
         "n_methods": ("sample", nmeth),
         "disagree": ("sample", disagree)},
        coords={"sample": labels, "technique": methods_seen},
        attrs={"tolerance": float(tolerance), "z_threshold": float(z_threshold),
               "rule": f"disagree: a pair of methods with |difference| / sqrt(stderr1^2 + stderr2^2) > "
                       f"{z_threshold:g}, or, where a stderr is missing, a relative difference > {tolerance:g}"})

