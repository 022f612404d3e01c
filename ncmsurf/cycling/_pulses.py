"""Current steps of a record: rests and constant-current pulses, found from the current alone (private).

Shared by :func:`ncmsurf.cycling.gitt` and :func:`ncmsurf.cycling.dcir`. A
record is cut into steps wherever the direction changes (charge, rest,
discharge by the sign of the current against a rest threshold) or, within
one direction, wherever the current jumps by more than ``level_tolerance``
of its size between two consecutive records. The instrument's own step
column is not used.

Times of a step: the instruments log a record at the start and at the end
of every step, so a step starts at its first record and ends at its last;
its *duration* runs from its first record to the first record of the next
step (the last step: to its own last record).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData
from ncmsurf.core.results import Quality, register_reason_code
from ncmsurf.core.units import magnitude

__all__ = ["Steps", "find_steps", "line_fit", "noise_level", "quality_json", "summarise_pulses"]

register_reason_code("short_pulse", "a pulse is shorter than the time the number needs")
register_reason_code("coarse_sampling", "the records are too far apart in time for the number asked for")
register_reason_code("unsteady_current", "the current of a constant-current step varies more than the stated tolerance")
register_reason_code("no_rest", "a pulse has no rest next to it where the method needs one")
register_reason_code("not_relaxed", "the voltage still drifts at the end of a rest (dE/dt above the stated threshold)")
register_reason_code("long_pulse", "the pulse is not short against the diffusion time L²/D of the particle")
register_reason_code("nonlinear_transient", "the voltage is not linear in the square root of time during the pulse")


@dataclass(frozen=True)
class Steps:
    """Steps of a record (all arrays over steps).

    Attributes
    ----------
    start, stop : ndarray of int64
        First and last record of each step (inclusive).
    state : ndarray of int8
        +1 positive current (oxidation of the working electrode), -1 negative, 0 rest.
    current : ndarray
        Mean current of the step's records, A.
    spread : ndarray
        Relative standard deviation of the current over the step's records (NaN for a
        single record or a rest).
    t_start, t_end : ndarray
        Times of the first and last record, s.
    duration : ndarray
        From the first record to the first record of the next step (last step: to its
        own last record), s.
    rest_current : float
        Threshold used, A.
    """

    start: np.ndarray
    stop: np.ndarray
    state: np.ndarray
    current: np.ndarray
    spread: np.ndarray
    t_start: np.ndarray
    t_end: np.ndarray
    duration: np.ndarray
    rest_current: float

    @property
    def n(self) -> int:
        """Number of steps."""
        return int(self.start.size)

    def records(self, k: int) -> slice:
        """The record slice of step ``k``."""
        return slice(int(self.start[k]), int(self.stop[k]) + 1)


def find_steps(data: CyclingData, *, rest_current: Any = None, level_tolerance: float = 0.05) -> Steps:
    """Cut a record into rests and current steps from the current alone.

    Parameters
    ----------
    data : CyclingData
    rest_current : float or pint.Quantity, optional
        Absolute current at or below which a record is a rest, A (default 0.1 % of the
        largest absolute current).
    level_tolerance : float
        Relative jump of the current between consecutive records that starts a new
        step within one direction.

    Returns
    -------
    Steps

    Raises
    ------
    ValidationError
        If no current flows or the record has fewer than 2 records.

    Examples
    --------
    >>> i = [0, 0, 1, 1, 1, 0, 0, 2, 2, 0]
    >>> st = find_steps(CyclingData(range(10), [3.7] * 10, i))
    >>> st.state.tolist(), st.start.tolist(), st.current.tolist()
    ([0, 1, 0, 1, 0], [0, 2, 5, 7, 9], [0.0, 1.0, 0.0, 2.0, 0.0])
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    cur = data.current
    t = data.time
    n = cur.size
    if n < 2:
        raise ValidationError("data: a record needs at least 2 points to find pulses")
    imax = float(np.max(np.abs(cur)))
    if imax == 0.0:
        raise ValidationError("current: no current flows in the record (all zero); there are no pulses")
    tol = 1e-3 * imax if rest_current is None else magnitude(rest_current, "A", name="rest_current")
    if not tol >= 0:
        raise ValidationError(f"rest_current: must be >= 0 A, got {rest_current}")
    if not 0 < level_tolerance < 1:
        raise ValidationError(f"level_tolerance: must lie in (0, 1), got {level_tolerance}")
    state = (cur > tol).astype(np.int8) - (cur < -tol).astype(np.int8)
    a = np.abs(cur)
    change = state[1:] != state[:-1]
    on = (state[1:] != 0) & ~change
    with np.errstate(invalid="ignore"):
        jump = np.abs(a[1:] - a[:-1]) > level_tolerance * np.maximum(a[1:], a[:-1])
    change |= on & jump
    starts = np.concatenate(([0], np.flatnonzero(change) + 1)).astype(np.int64)
    stops = np.concatenate((starts[1:] - 1, [n - 1])).astype(np.int64)
    counts = stops - starts + 1
    sums = np.add.reduceat(cur, starts)
    mean = sums / counts
    sq = np.add.reduceat((cur - np.repeat(mean, counts)) ** 2, starts)
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.where(counts > 1, np.sqrt(sq / np.maximum(counts - 1, 1)), np.nan)
        spread = np.where(state[starts] != 0, sd / np.abs(mean), np.nan)
    t_start = t[starts]
    t_end = t[stops]
    duration = np.concatenate((t_start[1:] - t_start[:-1], [t_end[-1] - t_start[-1]]))
    return Steps(starts, stops, state[starts].astype(np.int8), mean, spread, t_start, t_end, duration, float(tol))


def line_fit(x: np.ndarray, y: np.ndarray, *, at: float,
             sigma: float | None = None) -> tuple[float, float, float, float]:
    """Straight-line fit of ``y`` against ``x``: value and slope at ``x = at`` with standard errors.

    With ``sigma`` (the noise of ``y``) the errors follow from it; otherwise from the
    scatter about the line (NaN with fewer than three points).

    Returns
    -------
    (value, value_stderr, slope, slope_stderr)

    Examples
    --------
    >>> v, ve, s, se = line_fit(np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 5.0]), at=2.0)
    >>> round(v, 6), round(s, 6), round(ve, 6)
    (5.0, 2.0, 0.0)
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    m = x.size
    if m == 0:
        return math.nan, math.nan, math.nan, math.nan
    if m == 1 or float(np.ptp(x)) == 0.0:
        se = (sigma / math.sqrt(m)) if sigma is not None and math.isfinite(sigma) else math.nan
        return float(np.mean(y)), se, math.nan, math.nan
    xc = x - at
    xm = float(xc.mean())
    sxx = float(((xc - xm) ** 2).sum())
    slope = float(((xc - xm) * (y - y.mean())).sum() / sxx)
    icpt = float(y.mean() - slope * xm)  # the value at x = at
    if sigma is not None and math.isfinite(sigma):
        s2 = sigma**2
    elif m > 2:
        r = y - (icpt + slope * xc)
        s2 = float(r @ r) / (m - 2)
    else:
        return icpt, math.nan, slope, math.nan
    var_slope = s2 / sxx
    var_icpt = s2 * (1.0 / m + xm**2 / sxx)
    return icpt, math.sqrt(var_icpt), slope, math.sqrt(var_slope)


def noise_level(data: CyclingData, steps: Steps) -> float:
    """Voltage noise (V, one sigma) from second differences of evenly sampled records within steps.

    The median absolute second difference of three consecutive records of one step
    with equal spacing (within 1 %), scaled to a standard deviation
    (``1.4826 · MAD / √6``). NaN when no step holds such a triple.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> d = CyclingData(np.arange(2000.0), 3.7 + 1e-3 * rng.standard_normal(2000), np.r_[np.zeros(1000), np.ones(1000)])
    >>> round(noise_level(d, find_steps(d)) * 1e3, 1)
    1.0
    """
    v = data.voltage
    t = data.time
    if v.size < 3:
        return math.nan
    owner = np.repeat(np.arange(steps.n), steps.stop - steps.start + 1)
    same = (owner[2:] == owner[:-2])
    dt1 = t[1:-1] - t[:-2]
    dt2 = t[2:] - t[1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        even = (dt1 > 0) & (np.abs(dt2 - dt1) <= 0.01 * dt1)
    ok = same & even
    if not ok.any():
        return math.nan
    d2 = (v[2:] - 2 * v[1:-1] + v[:-2])[ok]
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return 1.4826 * mad / math.sqrt(6.0)


def summarise_pulses(qualities: Sequence[Quality], what: str = "pulse") -> Quality:
    """The overall verdict of per-pulse verdicts, with the pulses behind each reason.

    Good when every pulse is good; failed when every pulse failed (or there is none);
    otherwise suspect, each reason naming how many pulses it concerns.

    Examples
    --------
    >>> q = summarise_pulses([Quality.good(), Quality("suspect", [("not_relaxed", "x")])])
    >>> q.level, q.reasons[0].message
    ('suspect', '1 of 2 pulses (pulse 2): x')
    """
    n = len(qualities)
    if n == 0:
        return Quality("failed", [("not_resolved", f"no {what} was found in the record")])
    levels = [q.level for q in qualities]
    by_code: dict[str, list[int]] = {}
    first_msg: dict[str, str] = {}
    for k, q in enumerate(qualities, start=1):
        for r in q.reasons:
            lst = by_code.setdefault(r.code, [])
            if not lst or lst[-1] != k:
                lst.append(k)
            first_msg.setdefault(r.code, r.message)
    reasons = []
    for code, ks in by_code.items():
        shown = ", ".join(str(k) for k in ks[:8]) + (", ..." if len(ks) > 8 else "")
        label = what if len(ks) == 1 else what + "s"
        reasons.append((code, f"{len(ks)} of {n} {what}s ({label} {shown}): {first_msg[code]}"))
    if all(lv == "failed" for lv in levels):
        return Quality("failed", reasons)
    if all(lv == "good" for lv in levels):
        return Quality.good()
    return Quality("suspect", reasons)


def quality_json(q: Quality) -> str:
    """The reasons of ``q`` as compact JSON (one string per pulse in the result tables)."""
    return json.dumps([list(r) for r in q.reasons], ensure_ascii=False)
