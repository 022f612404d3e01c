"""Segmentation of a cycling record into steps, half-cycles and cycles (private).

The instrument's own cycle and step columns are not trusted: the direction
of every record comes from the sign of the current (with an explicit
electrode convention), rests from a current threshold, and CC/CV from the
current and voltage within each half-cycle.

Conventions
-----------
``convention="cathode"`` (also ``"full-cell"``): positive current is the
charge, as in :class:`~ncmsurf.core.models.CyclingData`. ``"anode"``:
negative current (lithiation of the working electrode of an anode half
cell, the cycler's "discharge") is counted as the charge. A cycle is one
charge half-cycle followed by one discharge half-cycle; a discharge before
the first charge forms cycle 0, and a second discharge half-cycle (after a
rest at a different current) starts a cycle of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData

__all__ = ["CONVENTIONS", "GAP_FACTOR", "MIN_GAP", "Segmentation", "charge_sign_of", "gap_intervals", "segment"]

CONVENTIONS: dict[str, int] = {"cathode": 1, "full-cell": 1, "anode": -1}
"""Electrode conventions and the sign of the current that counts as charge."""

REST, CC, CV = 0, 1, 2


def charge_sign_of(convention: str | int) -> int:
    """Return +1 or -1 for a convention name or an explicit sign.

    Examples
    --------
    >>> charge_sign_of("anode"), charge_sign_of(1)
    (-1, 1)
    """
    if isinstance(convention, (int, np.integer)) and not isinstance(convention, bool):
        if int(convention) in (1, -1):
            return int(convention)
        raise ValidationError(f"convention: a charge sign must be +1 or -1, got {convention}")
    if convention not in CONVENTIONS:
        raise ValidationError(f"convention: expected one of {sorted(CONVENTIONS)} or +1/-1, got {convention!r}")
    return CONVENTIONS[str(convention)]


@dataclass(frozen=True)
class Segmentation:
    """Per-record and per-half-cycle labels of a record.

    Attributes
    ----------
    convention : str
        Electrode convention used.
    charge_sign : int
        Sign of the raw current counted as charge.
    state : ndarray of int8
        Per record: +1 charge, -1 discharge, 0 rest.
    control : ndarray of int8
        Per record: 0 rest, 1 constant current, 2 constant voltage.
    half : ndarray of int64
        Per record: half-cycle index, -1 for rests.
    cycle : ndarray of int64
        Per record: cycle number (rests take the preceding cycle).
    step : ndarray of int64
        Per record: detected step number (changes of direction, control or
        current level), starting at 1.
    half_start, half_stop : ndarray of int64
        First and last record index of each half-cycle.
    half_direction : ndarray of int8
        +1 charge, -1 discharge for each half-cycle.
    half_cycle : ndarray of int64
        Cycle number of each half-cycle.
    rest_current : float
        Current threshold below which a record is a rest, A.
    ignored : int
        Number of tiny half-cycles (spikes) reclassified as rest.
    interval_charge : ndarray
        Charge between consecutive records, A s, in the convention's sign
        (positive = charge); 0 across gaps. Trapezoidal, or the record's
        own interval mean (:func:`interval_mean`).
    gaps : ndarray of bool
        Per interval: the record stops there (see :func:`gap_intervals`);
        integration does not bridge it.
    """

    convention: str
    charge_sign: int
    state: np.ndarray
    control: np.ndarray
    half: np.ndarray
    cycle: np.ndarray
    step: np.ndarray
    half_start: np.ndarray
    half_stop: np.ndarray
    half_direction: np.ndarray
    half_cycle: np.ndarray
    rest_current: float
    ignored: int
    interval_charge: np.ndarray
    gaps: np.ndarray

    @property
    def n_half_cycles(self) -> int:
        """Number of half-cycles."""
        return int(self.half_start.size)


def interval_charge(time: np.ndarray, current: np.ndarray, voltage: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Trapezoidal charge (A s) and energy (W s) of each interval between records."""
    dt = np.diff(time)
    dq = 0.5 * (current[1:] + current[:-1]) * dt
    p = current * voltage
    de = 0.5 * (p[1:] + p[:-1]) * dt
    return dq, de


#: An interval is a time jump when it is this many times longer than both neighbouring intervals.
GAP_FACTOR = 10.0
#: ... and at least this long, s.
MIN_GAP = 1.0


def gap_intervals(time: np.ndarray, current: np.ndarray, *, breaks: Any = None, rest_current: float = 0.0,
                  factor: float = GAP_FACTOR, min_gap: float = MIN_GAP) -> np.ndarray:
    """Intervals (between consecutive records) across which the record stops.

    The rule: an interval is a gap when the reader marked the record after it as a restart
    (``breaks``: record indices where the recording restarts, e.g. EC-Lab loop starts, from
    ``meta["record_breaks"]``), or when it is a time jump, longer than ``factor`` times both
    neighbouring intervals and than ``min_gap`` seconds, across which the current changes (rest
    on one side, a change of direction, or a level change of more than 10 %). A jump inside a
    constant current is a logging pause of a step that went on and is bridged.

    Parameters
    ----------
    time, current : ndarray
        Per record, s and A.
    breaks : sequence of int, optional
        Record indices where the recording restarts.
    rest_current : float
        Absolute current at or below which a record is a rest, A.
    factor, min_gap : float
        The time-jump rule.

    Returns
    -------
    ndarray of bool
        One value per interval (``len(time) - 1``).

    Examples
    --------
    >>> t = np.array([0.0, 1, 2, 3, 173, 174, 175])
    >>> i = np.array([-1.0, -1, -1, -1, 0, 0, 0])
    >>> gap_intervals(t, i).tolist()
    [False, False, False, True, False, False]
    >>> gap_intervals(t, np.full(7, -1.0)).tolist()  # the current goes on: bridged
    [False, False, False, False, False, False]
    """
    n = time.size
    gaps = np.zeros(max(n - 1, 0), bool)
    if n < 2:
        return gaps
    dt = np.diff(time)
    near = np.zeros_like(dt)  # the longer neighbouring interval, times the factor (one temporary)
    if dt.size > 1:
        np.maximum(dt[:-2], dt[2:], out=near[1:-1])
        near[0], near[-1] = dt[1], dt[-2]
    near *= factor
    jump = dt > near
    jump &= dt > min_gap
    del near
    if jump.any():
        k = np.flatnonzero(jump)
        a, b = current[k], current[k + 1]
        rest = (np.abs(a) <= rest_current) | (np.abs(b) <= rest_current)
        flip = np.sign(a) != np.sign(b)
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.abs(np.abs(a) - np.abs(b)) > 0.1 * np.maximum(np.abs(a), np.abs(b))
        gaps[k[rest | flip | level]] = True
    if breaks is not None:
        br = np.asarray(list(breaks), dtype=np.int64)
        br = br[(br >= 1) & (br < n)]
        gaps[br - 1] = True
    return gaps


def interval_mean(data: CyclingData) -> bool:
    """True when the reader says each record's current is the mean over the interval ending at it.

    EC-Lab's ``<I>`` and a current derived from the charge counter (``dq / dt``) are such means
    (``meta["current_kind"] == "interval-mean"``); the charge of an interval is then exactly
    ``I[k] * (t[k] - t[k-1])``, and the trapezoidal rule would misplace the first interval of every step.
    """
    return data.meta.get("current_kind") == "interval-mean"


def interval_owner(half: np.ndarray) -> np.ndarray:
    """Half-cycle owning each interval: the later record's, else the earlier one's, else -1."""
    later = half[1:]
    return np.where(later >= 0, later, half[:-1])


def owner_bins(half: np.ndarray, n_halves: int) -> np.ndarray:
    """:func:`interval_owner` with -1 replaced by ``n_halves``: bins for ``np.bincount`` (last one = rest).

    Summing with these bins and dropping the last equals summing the owned
    intervals only, in the same order, without copying the weights.

    Examples
    --------
    >>> owner_bins(np.array([-1, 0, 0, -1, 1]), 2).tolist()
    [0, 0, 0, 1]
    >>> owner_bins(np.array([-1, -1, 0]), 1).tolist()
    [1, 0]
    """
    bins = interval_owner(half)
    bins[bins < 0] = n_halves
    return bins


def _runs(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (inclusive) positions of runs of equal values."""
    if values.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate(([0], change)).astype(np.int64)
    stops = np.concatenate((change - 1, [values.size - 1])).astype(np.int64)
    return starts, stops


def _halves(state: np.ndarray, current: np.ndarray,
            ratio: float = 2.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Half-cycles: runs of one direction, rests inside allowed, unless the current level changes.

    A run continues across a rest (GITT, interrupted steps) but a new
    half-cycle starts when the first record after the rest differs from the
    run's opening current and from the last record before the rest by more
    than ``ratio`` (a control change, e.g. a fast discharge followed by a
    slow one).
    """
    nz = np.flatnonzero(state != 0)
    half = np.full(state.size, -1, np.int64)
    if nz.size == 0:
        return half, np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int8)
    s = state[nz]
    new = np.zeros(nz.size, bool)
    new[0] = True
    new[1:] = s[1:] != s[:-1]
    gaps = np.flatnonzero((np.diff(nz) > 1) & ~new[1:]) + 1
    if gaps.size:
        a = np.abs(current[nz])
        run_start = np.maximum.accumulate(np.where(new, np.arange(nz.size), 0))
        last_split = -1
        for g in gaps:
            j = max(int(run_start[g - 1]), last_split)
            lvl, before, now = a[j], a[g - 1], a[g]
            if now > 0 and all(x > 0 and max(x / now, now / x) > ratio for x in (lvl, before)):
                new[g] = True
                last_split = int(g)
    ids = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    stops = np.concatenate((starts[1:] - 1, [nz.size - 1]))
    half[nz] = ids
    return half, nz[starts], nz[stops], s[starts].astype(np.int8)


def segment(data: CyclingData, *, convention: str | int = "cathode", rest_current: Any = None,
            min_fraction: float = 0.002) -> Segmentation:
    """Split a record into rests, CC/CV steps, half-cycles and cycles.

    Parameters
    ----------
    data : CyclingData
        The record (current in A).
    convention : {"cathode", "full-cell", "anode"} or {+1, -1}
        Which current sign is the charge (see the module notes).
    rest_current : float, optional
        Absolute current at or below which a record is a rest, A (default 0.1 % of
        the largest absolute current). Records of an impedance technique (a
        ``freq`` column > 0, as read from BioLogic files) count as rest.
    min_fraction : float
        Half-cycles passing less than this fraction of the median
        half-cycle charge are spikes and are treated as rest (counted in
        ``ignored``).

    Returns
    -------
    Segmentation

    A record of one direction only (a formation charge, a discharge) is segmented
    too: its half-cycles are all of that direction. Intervals across which the
    record stops (:func:`gap_intervals`) carry no charge.

    Raises
    ------
    ValidationError
        If no current flows.

    Examples
    --------
    >>> import numpy as np
    >>> from ncmsurf.core.models import CyclingData
    >>> i = np.array([0, 1, 1, 1, 0, -1, -1, -1, 1, 1, 1, -1, -1, -1]) * 1e-3
    >>> seg = segment(CyclingData(np.arange(14.0), np.full(14, 3.7), i))
    >>> seg.cycle.tolist()
    [1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2]
    >>> seg.half_direction.tolist(), seg.state.tolist()[:6]
    ([1, -1, 1, -1], [0, 1, 1, 1, 0, -1])
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    sign = charge_sign_of(convention)
    name = convention if isinstance(convention, str) else ("cathode" if sign == 1 else "anode")
    current = data.current if sign == 1 else data.current * sign
    n = current.size
    if n < 2:
        raise ValidationError("data: a record needs at least 2 points to be segmented")
    imax = float(np.max(np.abs(current)))
    if imax == 0.0:
        raise ValidationError("current: no current flows in the record (all zero); nothing to segment")
    tol = 1e-3 * imax if rest_current is None else float(rest_current)
    if not tol >= 0:
        raise ValidationError(f"rest_current: must be >= 0, got {rest_current}")
    state = (current > tol).astype(np.int8)
    state -= current < -tol
    freq = next((v for k, v in data.columns.items() if k.lower() in ("freq", "frequency")), None)
    if freq is not None:  # impedance records (PEIS/GEIS inside a sequence) are not galvanostatic
        state[np.asarray(freq, dtype=float) > 0] = 0
    if not (state != 0).any():
        raise ValidationError("current: every record is below the rest threshold; nothing to segment")
    gaps = gap_intervals(data.time, current, breaks=data.meta.get("record_breaks"), rest_current=tol)
    if interval_mean(data):
        dq = current[1:] * np.diff(data.time)  # each record holds the mean current of the interval it ends
    else:
        dq = current[1:] + current[:-1]  # trapezoidal charge per interval, built in place
        dq *= 0.5
        dq *= np.diff(data.time)
    dq[gaps] = 0.0  # never bridge a gap in the record
    ignored = 0
    halves = None
    for _ in range(3):
        halves = _halves(state, current)
        half, hs, he, hd = halves
        # charge passed in each half-cycle's own direction (a blip can even carry the opposite sign)
        hq = np.bincount(owner_bins(half, hs.size), weights=dq, minlength=hs.size + 1)[:hs.size] * hd
        med = float(np.median(np.abs(hq))) if hq.size else 0.0
        tiny = hq < min_fraction * med
        if not tiny.any():
            break
        ignored += int(tiny.sum())
        state[np.isin(half, np.flatnonzero(tiny))] = 0
        halves = None  # the state changed: the half-cycles are found again
    half, hs, he, hd = halves if halves is not None else _halves(state, current)
    if hs.size == 0:
        raise ValidationError("current: no half-cycle is left after removing spikes")
    # a cycle starts at every charge, and at a discharge that follows another discharge
    prev = np.concatenate(([0], hd[:-1]))
    hcycle = np.cumsum((hd > 0) | ((hd < 0) & (prev < 0))).astype(np.int64)
    # cycle per record: own half-cycle, rests take the previous one (leading rests the first)
    idx = np.arange(n)
    idx[half < 0] = -1
    np.maximum.accumulate(idx, out=idx)
    idx[idx < 0] = int(hs[0])
    rec_cycle = hcycle[half[idx]]  # half[idx] >= 0 everywhere: idx points at a record of a half-cycle
    del idx
    control = _control(current, data.voltage, state, hs, he, half)
    step = _steps(current, state, control)
    return Segmentation(name, sign, state, control, half, rec_cycle, step, hs, he, hd, hcycle, tol, ignored, dq,
                        gaps)


def _segment_reduce(func: np.ufunc, values: np.ndarray, hs: np.ndarray, he: np.ndarray) -> np.ndarray:
    """``func.reduce`` of ``values`` over each inclusive record range [hs, he] (disjoint, ordered)."""
    padded = np.concatenate((values, values[-1:]))
    idx = np.empty(2 * hs.size, np.int64)
    idx[0::2] = hs
    idx[1::2] = he + 1
    return func.reduceat(padded, idx)[0::2]  # type: ignore[no-any-return]


#: Records per block of half-cycles in :func:`_control` (bounds its temporaries on long records).
_CONTROL_BLOCK = 1 << 16


def _control(current: np.ndarray, voltage: np.ndarray, state: np.ndarray, hs: np.ndarray,
             he: np.ndarray, half: np.ndarray) -> np.ndarray:
    """CC vs CV within each half-cycle (vectorised over half-cycles, in blocks of whole half-cycles).

    The CC level of a half-cycle is the largest absolute current held for three
    consecutive records (single-record spikes do not count). A record is CV
    when its absolute current is below 90 % of that level, it comes after the last
    record at the CC level, and its voltage lies within 10 mV of the voltage
    of that last CC record.
    """
    control = np.full(state.size, REST, np.int8)
    control[state != 0] = CC
    n = state.size
    i = 0
    while i < hs.size:
        # whole half-cycles up to about _CONTROL_BLOCK records, plus one record of context on each side
        j = max(i, int(np.searchsorted(he, hs[i] + _CONTROL_BLOCK, side="right")) - 1)
        lo, hi = max(int(hs[i]) - 1, 0), min(int(he[j]) + 2, n)
        local = half[lo:hi] - i
        local[(local < 0) | (local > j - i)] = -1
        cv = _cv_records(current[lo:hi], voltage[lo:hi], state[lo:hi], hs[i:j + 1] - lo, he[i:j + 1] - lo, local)
        control[lo:hi][cv] = CV
        i = j + 1
    return control


def _cv_records(current: np.ndarray, voltage: np.ndarray, state: np.ndarray, hs: np.ndarray,
                he: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Mask of the CV records of the half-cycles [hs, he] (see :func:`_control`).

    ``half`` is each record's half-cycle among these (0-based, -1 for rests and records of other
    half-cycles); only the records of the half-cycles are looked at.
    """
    a = np.abs(current) * (state != 0)
    m3 = a.copy()
    m3[1:] = np.minimum(m3[1:], a[:-1])
    m3[:-1] = np.minimum(m3[:-1], a[1:])
    level = _segment_reduce(np.maximum, m3, hs, he)
    del m3
    out = np.zeros(a.size, bool)
    act = np.flatnonzero(half >= 0)  # in file order, so grouped by half-cycle
    if act.size == 0:
        return out
    h = half[act]
    lvl = level[h]
    aa = a[act]
    high = (aa >= 0.9 * lvl) & (lvl > 0)
    starts = np.flatnonzero(np.concatenate(([True], h[1:] != h[:-1])))
    last = np.maximum.reduceat(np.where(high, act, -1), starts)  # last record at the CC level, per half-cycle
    lh = np.repeat(last, np.diff(np.concatenate((starts, [act.size]))))
    cand = (aa < 0.9 * lvl) & (lh >= 0) & (act > lh)
    cand &= np.abs(voltage[act] - voltage[np.maximum(lh, 0)]) <= 0.01
    out[act[cand]] = True
    return out


def _steps(current: np.ndarray, state: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Step numbers from changes of direction, control mode or CC current level (>10 %)."""
    change = (state[1:] != state[:-1]) | (control[1:] != control[:-1])
    a = np.abs(current)
    cc_pair = (control[1:] == CC) & (control[:-1] == CC)
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.abs(a[1:] - a[:-1]) > 0.1 * np.maximum(a[1:], a[:-1])
    change |= cc_pair & jump
    return np.concatenate(([1], 1 + np.cumsum(change))).astype(np.int64)
