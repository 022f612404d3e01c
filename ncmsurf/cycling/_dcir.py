"""DC internal resistance from current pulses (HPPC style) (private).

For each current pulse, R(t) = (V(t₀ + t) − V_before) / (I_pulse − I_before) at
stated times t after the pulse start t₀ (default 0, 0.1, 1, 10 and 18 s, the
times of common hybrid pulse power characterisation protocols; t = 0 is the
pulse's first record, the instantaneous, mostly ohmic, step).

* **Pulses** are the constant-current steps of the record (cut from the current
  alone, :mod:`ncmsurf.cycling._pulses`) no longer than ``max_duration`` whose
  current jumps at their start by at least ``min_jump`` of their own (from a rest,
  or from another current); t₀ is the time of a pulse's first record (cyclers log
  a record at every step start).
* **Before the pulse**: V_before and I_before are the means over the records of
  the preceding step within ``reference_window`` of its end, normally the rest
  before the pulse. A pulse that follows another current step directly is
  measured against that step (ΔI is the current change) and flagged ``no_rest``.
* **V(t₀ + t)** is interpolated linearly between the two records of the pulse that
  bracket it.
* **Signs**: ΔI carries the data's sign (positive current = oxidation), so R is
  positive for charge and discharge pulses alike; the table keeps the signed
  currents and the direction.
* **stderr** from the voltage noise σ (``voltage_noise``, or estimated from the
  record's second differences): var R(t) = σ² (Σ wⱼ² + 1/n_ref) / ΔI² for the
  interpolation weights wⱼ and the n_ref reference records; the values of one
  pulse share V_before, which the covariance holds. Current noise is neglected.

Verdict reasons per pulse: ``short_pulse`` (the pulse ends before t: NaN),
``coarse_sampling`` (no record at or after t within the pulse: NaN; the nearest
record farther than ``time_tolerance`` of t; the reference older than
``max_reference_age``), ``unsteady_current`` (the pulse current varies more
than ``current_tolerance``), ``no_rest`` and ``not_resolved`` (R not positive).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pint
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.results import FitResult, Quality, register_citation
from ncmsurf.core.units import array_magnitude, magnitude
from ncmsurf.cycling._pulses import Steps, find_steps, noise_level, quality_json, summarise_pulses

__all__ = ["HPPC_TIMES", "DCIRResult", "dcir"]

register_citation("hppc2010", "Idaho National Laboratory, Battery Test Manual for Plug-In Hybrid Electric Vehicles, "
                              "Rev. 2, INL/EXT-07-12536 (2010), hybrid pulse power characterization test")

HPPC_TIMES: tuple[float, ...] = (0.0, 0.1, 1.0, 10.0, 18.0)
"""Default times after the pulse start, s (0 = the pulse's first record)."""


class DCIRResult(FitResult):
    """Pulse resistances of a record.

    Parameters are ``R_k@ts`` (Ω) for pulse ``k`` (1-based) at ``t`` s after its
    start. :attr:`table` holds, per pulse, the currents, times, reference voltage
    and verdicts, and ``resistance`` / ``resistance_stderr`` over ``(pulse, delay)``.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_hppc
    >>> rec = synthetic_hppc(n_blocks=1, seed=0)
    >>> res = dcir(rec)
    >>> res.n_pulses, res.delays.tolist()
    (2, [0.0, 0.1, 1.0, 10.0, 18.0])
    >>> (res.resistance[:, 0] * 1e3).round(0).tolist()   # mΩ at the first record: the 20 mΩ series resistance
    [20.0, 20.0]
    >>> res.pulse_quality(2).codes   # the 10 s charge pulse is too short for 18 s
    ['short_pulse']
    """

    @property
    def table(self) -> xr.Dataset:
        """Per-pulse table over ``pulse`` (and ``delay`` for the resistances), a copy."""
        keep = [k for k in self._ds.data_vars if "pulse" in self._ds[k].dims]
        return self._ds[keep].copy(deep=True)

    @property
    def n_pulses(self) -> int:
        """Number of pulses analysed."""
        return int(self._ds.sizes.get("pulse", 0))

    @property
    def delays(self) -> np.ndarray:
        """Times after the pulse start, s."""
        return np.asarray(self._ds["delay"].values, dtype=float)

    @property
    def resistance(self) -> np.ndarray:
        """R over (pulse, delay), Ω (NaN where the data cannot give it)."""
        return np.asarray(self._ds["resistance"].values, dtype=float).copy()

    @property
    def resistance_stderr(self) -> np.ndarray:
        """Standard errors of :attr:`resistance`, Ω."""
        return np.asarray(self._ds["resistance_stderr"].values, dtype=float).copy()

    def pulse_quality(self, k: int) -> Quality:
        """The verdict of pulse ``k`` (1-based)."""
        if not 1 <= k <= self.n_pulses:
            raise ValidationError(f"pulse: expected 1..{self.n_pulses}, got {k}")
        reasons = json.loads(str(self._ds["reasons"].values[k - 1]))
        return Quality(str(self._ds["quality"].values[k - 1]), [(str(c), str(m)) for c, m in reasons])

    def to_dataframe(self) -> Any:
        """Resistances in long form (one row per pulse and delay) with the per-pulse columns."""
        return self.table.to_dataframe()

    def plot(self, ax: Any = None, *, delay: float | None = None, x: str = "capacity", **kw: Any) -> Any:
        """R (mΩ) per pulse at each delay (or one ``delay``) against ``x``, charge and discharge apart."""
        from ncmsurf.cycling._plots import plot_dcir

        return plot_dcir(self, ax, delay=delay, x=x, **kw)


def _select(pulse: Any, cand: list[int], steps: Steps, tol: float) -> list[int]:
    if pulse is None or (isinstance(pulse, str) and pulse == "all"):
        return cand
    if isinstance(pulse, str):
        if pulse == "charge":
            return [k for k in cand if steps.state[k] > 0]
        if pulse == "discharge":
            return [k for k in cand if steps.state[k] < 0]
        raise ValidationError(f"pulse: expected 'all', 'charge', 'discharge', a current or pulse numbers, got "
                              f"{pulse!r}")
    if isinstance(pulse, (int, np.integer)) and not isinstance(pulse, bool):
        pulse = [int(pulse)]
    if isinstance(pulse, (float, pint.Quantity)):
        level = magnitude(pulse, "A", name="pulse")
        if level == 0:
            raise ValidationError("pulse: a current level must be non-zero")
        return [k for k in cand if abs(steps.current[k] - level) <= tol * abs(level)]
    if isinstance(pulse, Sequence):
        out = []
        for p in pulse:
            if not isinstance(p, (int, np.integer)) or isinstance(p, bool) or not 1 <= int(p) <= len(cand):
                raise ValidationError(f"pulse: pulse numbers must be integers in 1..{len(cand)}, got {p!r}")
            out.append(cand[int(p) - 1])
        return out
    raise ValidationError(f"pulse: unsupported selection {pulse!r}")


def dcir(data: CyclingData, *, pulse: Any = "all", times: Any = HPPC_TIMES, max_duration: Any = 120.0,
         cycles: Sequence[int] | None = None, reference_window: float = 1.0, max_reference_age: float = 2.0,
         time_tolerance: float = 0.1, current_tolerance: float = 0.02, min_jump: float = 0.5,
         voltage_noise: Any = None, rest_current: Any = None, level_tolerance: float = 0.05) -> DCIRResult:
    """DC internal resistance R = ΔV/ΔI of every current pulse at stated times after its start.

    Parameters
    ----------
    data : CyclingData
        The record (current in A, positive = oxidation of the working electrode).
    pulse : "all", "charge", "discharge", float, pint.Quantity or sequence of int
        Which pulses: all, by direction, by current level (A, signed, within
        ``level_tolerance``), or by number among all pulses found (1-based).
    times : sequence of float or pint.Quantity
        Times after the pulse start, s; 0 is the pulse's first record.
    max_duration : float, pint.Quantity or None
        Current steps longer than this (s) are not pulses (CC charges, SOC steps);
        None takes every current step.
    cycles : sequence of int, optional
        Only pulses starting in these instrument cycles (the record's ``cycle``
        column).
    reference_window : float
        The reference (before-pulse) voltage and current are the means over the
        preceding step's records within this many seconds of its last record.
    max_reference_age : float
        The reference's last record may lie at most this long (s) before the pulse
        start without a ``coarse_sampling`` reason.
    time_tolerance : float
        The nearest pulse record must lie within this share of t (at least 20 ms)
        of t without a ``coarse_sampling`` reason.
    current_tolerance : float
        Largest tolerated relative standard deviation of a pulse's current.
    min_jump : float
        A current step is a pulse only where the current changes at its start by at
        least this share of the step's own current (a rest before always does; the
        records of a constant-voltage decay do not).
    voltage_noise : float or pint.Quantity, optional
        σ of the voltage, V (default: estimated from the record).
    rest_current : float or pint.Quantity, optional
        Rest threshold, A (default 0.1 % of the largest current).
    level_tolerance : float
        Relative current jump that starts a new step (and the tolerance of a
        current-level ``pulse`` selection).

    Returns
    -------
    DCIRResult
        Parameters ``R_k@ts`` in Ω; :attr:`DCIRResult.table` with, per pulse,
        ``start_time``, ``duration`` (s), ``current``, ``current_before``,
        ``delta_current`` (A), ``direction`` (+1 charge, −1 discharge),
        ``voltage_before`` (V), ``reference_age`` (s), ``capacity`` (charge passed
        since the record's start, mAh/g with a mass else mAh), ``cycle``
        (instrument cycle, −1 without), ``resistance`` and ``resistance_stderr``
        over ``(pulse, delay)`` (Ω), ``quality`` and ``reasons`` (JSON).

    Raises
    ------
    ValidationError
        For a bad selection or settings, or ``cycles`` on a record without cycle numbers.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_hppc
    >>> rec = synthetic_hppc(n_blocks=2, seed=1)
    >>> r = dcir(rec, pulse="discharge", times=[10.0])
    >>> r.n_pulses, (r.resistance[:, 0] * 1e3).round(1).tolist()   # R0 + R1 (1 − e⁻⁵) + diffusion, in mΩ
    (2, [32.6, 33.5])
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    if isinstance(times, pint.Quantity):
        tt = np.atleast_1d(array_magnitude(times, "s", name="times")).astype(float).ravel()
    else:
        items = list(times) if isinstance(times, (Sequence, np.ndarray)) else [times]
        tt = np.array([magnitude(x, "s", name="times") for x in items], dtype=float)
    if tt.size == 0 or not np.all(np.isfinite(tt)) or np.any(tt < 0):
        raise ValidationError(f"times: expected finite times >= 0 s, got {times!r}")
    if np.unique(tt).size != tt.size:
        raise ValidationError(f"times: duplicate values in {tt.tolist()}")
    dmax = None if max_duration is None else magnitude(max_duration, "s", name="max_duration")
    if dmax is not None and not dmax > 0:
        raise ValidationError(f"max_duration: must be > 0 s, got {max_duration}")
    for name, val in (("reference_window", reference_window), ("max_reference_age", max_reference_age),
                      ("time_tolerance", time_tolerance), ("current_tolerance", current_tolerance)):
        if not (math.isfinite(float(val)) and float(val) >= 0):
            raise ValidationError(f"{name}: must be a finite number >= 0, got {val}")
    steps = find_steps(data, rest_current=rest_current, level_tolerance=level_tolerance)
    noise_given = voltage_noise is not None
    sigma = magnitude(voltage_noise, "V", name="voltage_noise") if noise_given else noise_level(data, steps)
    if noise_given and not sigma >= 0:
        raise ValidationError(f"voltage_noise: must be >= 0 V, got {voltage_noise}")
    t, v, cur = data.time, data.voltage, data.current
    if not 0 < min_jump <= 2:
        raise ValidationError(f"min_jump: must lie in (0, 2], got {min_jump}")
    long_steps = [k for k in range(steps.n) if steps.state[k] != 0 and dmax is not None and steps.duration[k] > dmax]
    cand = [k for k in range(steps.n) if steps.state[k] != 0 and (dmax is None or steps.duration[k] <= dmax)
            and (k == 0 or abs(steps.current[k] - cur[steps.stop[k - 1]]) >= min_jump * abs(steps.current[k]))]
    chosen = _select(pulse, cand, steps, level_tolerance)
    if cycles is not None:
        cyc = data.cycle
        if cyc is None:
            raise ValidationError("cycles: the record has no cycle numbers")
        want = {int(c) for c in cycles}
        chosen = [k for k in chosen if int(cyc[steps.start[k]]) in want]
    q_cum = np.concatenate(([0.0], np.cumsum(0.5 * (cur[1:] + cur[:-1]) * np.diff(t))))
    mass = data.mass
    cap_scale, cap_units = (1.0 / 3.6 / mass, "mAh/g") if mass else (1.0 / 3.6, "mAh")
    n, m = len(chosen), tt.size
    res = np.full((n, m), np.nan)
    weights: list[list[dict[int, float]]] = []
    ref_n = np.zeros(n)
    d_i = np.full(n, np.nan)
    cols: dict[str, np.ndarray] = {name: np.full(n, np.nan) for name in (
        "start_time", "duration", "current", "current_before", "delta_current", "voltage_before", "reference_age",
        "capacity", "current_spread")}
    direction = np.zeros(n, np.int64)
    cycle_col = np.full(n, -1, np.int64)
    quals: list[Quality] = []
    for j, k in enumerate(chosen):
        suspect: list[tuple[str, str]] = []
        failed: list[tuple[str, str]] = []
        i0, i1 = int(steps.start[k]), int(steps.stop[k])
        t0 = float(t[i0])
        dur = float(steps.duration[k])
        i_p = float(steps.current[k])
        cols["start_time"][j], cols["duration"][j], cols["current"][j] = t0, dur, i_p
        cols["capacity"][j] = q_cum[i0] * cap_scale
        cols["current_spread"][j] = steps.spread[k]
        direction[j] = 1 if i_p > 0 else -1
        if data.cycle is not None:
            cycle_col[j] = int(data.cycle[i0])
        row_w: list[dict[int, float]] = [{} for _ in range(m)]
        weights.append(row_w)
        spread = float(steps.spread[k])
        if math.isfinite(spread) and spread > current_tolerance:
            suspect.append(("unsteady_current", f"the pulse current varies by {100 * spread:.2g} % (relative "
                                                f"standard deviation; tolerance {100 * current_tolerance:.2g} %)"))
        if k == 0:
            failed.append(("no_rest", "the record starts with the pulse: there is no voltage before it"))
            quals.append(Quality.from_checks(suspect=suspect, failed=failed))
            continue
        p0, p1 = int(steps.start[k - 1]), int(steps.stop[k - 1])
        tr = t[p0:p1 + 1]
        ref = np.flatnonzero(tr >= tr[-1] - reference_window) + p0
        v_ref = float(np.mean(v[ref]))
        i_ref = float(np.mean(cur[ref]))
        ref_n[j] = ref.size
        age = t0 - float(t[p1])
        cols["voltage_before"][j], cols["current_before"][j], cols["reference_age"][j] = v_ref, i_ref, age
        if steps.state[k - 1] != 0:
            suspect.append(("no_rest", f"the pulse follows a current step ({i_ref:.4g} A) without a rest: the "
                                       "reference voltage is that step's last record, not a relaxed voltage"))
        if age > max_reference_age:
            suspect.append(("coarse_sampling", f"the reference voltage was recorded {age:.4g} s before the pulse "
                                               f"start (limit {max_reference_age:g} s)"))
        di = i_p - i_ref
        d_i[j] = di
        cols["delta_current"][j] = di
        if di == 0:
            failed.append(("not_resolved", "the current does not change at the pulse"))
            quals.append(Quality.from_checks(suspect=suspect, failed=failed))
            continue
        tp = t[i0:i1 + 1] - t0
        vp = v[i0:i1 + 1]
        for c, target in enumerate(tt):
            tol = max(time_tolerance * target, 0.02)
            if target > dur + tol:
                suspect.append(("short_pulse", f"the pulse lasts {dur:.4g} s, less than t = {target:g} s"))
                continue
            if target > tp[-1] + tol:
                suspect.append(("coarse_sampling", f"no record of the pulse at or after t = {target:g} s (last "
                                                   f"record at {tp[-1]:.4g} s of a {dur:.4g} s pulse)"))
                continue
            hi = min(int(np.searchsorted(tp, target - 1e-9, side="left")), tp.size - 1)
            if abs(tp[hi] - target) <= 1e-9 or hi == 0 or target > tp[-1]:
                w = {i0 + hi: 1.0}
                vt = float(vp[hi])
            else:
                lo = hi - 1
                f = (target - tp[lo]) / (tp[hi] - tp[lo])
                w = {i0 + lo: 1.0 - f, i0 + hi: f}
                vt = float((1.0 - f) * vp[lo] + f * vp[hi])
            nearest = float(np.min(np.abs(tp - target)))
            if nearest > tol:
                suspect.append(("coarse_sampling", f"the nearest record to t = {target:g} s is {nearest:.3g} s "
                                                   f"away (tolerance {tol:.3g} s); the value is interpolated"))
            row_w[c] = w
            res[j, c] = (vt - v_ref) / di
            if not res[j, c] > 0:
                suspect.append(("not_resolved", f"R(t = {target:g} s) = {res[j, c]:.3g} Ω is not positive"))
        if not np.isfinite(res[j]).any():
            failed.append(("not_resolved", "no resistance could be taken at any of the times"))
        quals.append(Quality.from_checks(suspect=suspect, failed=failed))
    # covariance: shared reference within a pulse, shared records between interpolations
    npar = n * m
    cov = np.full((npar, npar), np.nan) if not math.isfinite(sigma) else np.zeros((npar, npar))
    if math.isfinite(sigma):
        for j in range(n):
            for a in range(m):
                ia = j * m + a
                if not math.isfinite(res[j, a]):
                    cov[ia, :] = np.nan
                    cov[:, ia] = np.nan
                    continue
                for b in range(m):
                    if not math.isfinite(res[j, b]):
                        continue
                    shared = sum(wv * weights[j][b].get(idx, 0.0) for idx, wv in weights[j][a].items())
                    cov[ia, j * m + b] = sigma**2 * (shared + 1.0 / ref_n[j]) / d_i[j] ** 2
    se = np.sqrt(np.clip(np.diag(cov), 0.0, None)) if npar else np.zeros(0)
    se = np.where(np.isfinite(res.ravel()), se, np.nan)
    overall = summarise_pulses(quals)
    if n and not math.isfinite(sigma):
        overall = overall.with_reasons(suspect=[("input", "the voltage noise could not be estimated (no step holds "
                                                          "three evenly spaced records): standard errors are NaN; "
                                                          "pass voltage_noise=")])
    names = [f"R_{j + 1}@{x:g}s" for j in range(n) for x in tt]
    data_vars: dict[str, Any] = {name: ("pulse", arr, {"units": u}) for (name, arr), u in zip(
        cols.items(), ("s", "s", "A", "A", "A", "V", "s", cap_units, "1"), strict=True)}
    data_vars["direction"] = ("pulse", direction, {"units": "1", "long_name": "+1 charge, -1 discharge"})
    data_vars["cycle"] = ("pulse", cycle_col, {"units": "1", "long_name": "instrument cycle (-1 without)"})
    data_vars["resistance"] = (("pulse", "delay"), res, {"units": "ohm"})
    data_vars["resistance_stderr"] = (("pulse", "delay"), se.reshape(n, m), {"units": "ohm"})
    data_vars["quality"] = ("pulse", np.array([q.level for q in quals], dtype=object).astype(str))
    data_vars["reasons"] = ("pulse", np.array([quality_json(q) for q in quals], dtype=object).astype(str))
    n_small = sum(1 for k in range(steps.n) if steps.state[k] != 0) - len(cand) - len(long_steps)
    message = f"{n} pulses"
    if long_steps:
        message += f"; {len(long_steps)} current steps longer than {dmax:g} s were not taken as pulses"
    if n_small:
        message += (f"; {n_small} current steps whose current changed by less than {100 * min_jump:g} % of their "
                    "own (e.g. a constant-voltage decay) were not taken as pulses")
    attrs = {"voltage_noise": sigma if math.isfinite(sigma) else "unknown",
             "voltage_noise_source": "given" if noise_given else "estimated from the record",
             "max_duration": dmax if dmax is not None else "none", "reference_window": float(reference_window),
             "max_reference_age": float(max_reference_age), "time_tolerance": float(time_tolerance),
             "current_tolerance": float(current_tolerance), "rest_current": steps.rest_current,
             "capacity_units": cap_units, "pulse_selection": str(pulse)}
    return DCIRResult.build(
        names=names, values=res.ravel(), stderr=se, covariance=cov, units=["ohm"] * npar, success=n > 0,
        message=message if n else "no current pulse was found (or selected)", quality=overall,
        citations=["hppc2010"], model="dcir", sample=data.sample,
        source={"source_file": str(data.meta.get("source_file", data.meta.get("source", "")))},
        data_vars=data_vars, coords={"pulse": ("pulse", np.arange(1, n + 1, dtype=np.int64)),
                                     "delay": ("delay", tt, {"units": "s"})}, attrs=attrs)
