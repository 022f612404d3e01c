"""Depth-profile analysis: normalisation, depth scale, interfaces, integrals (private).

It is over 500 lines because the interface result and its finder share the crossing and
error-function code and change together.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.fitting import propagate
from ncmsurf.core.models import DepthProfile
from ncmsurf.core.results import FitResult, Quality, legacy_quality
from ncmsurf.core.units import array_magnitude, magnitude

__all__ = ["Interface", "integrate", "interface", "normalize", "time_to_depth", "with_sputter_rate"]


def _profile(profile: Any) -> DepthProfile:
    if not isinstance(profile, DepthProfile):
        raise ValidationError(f"expected a DepthProfile, got {type(profile).__name__}")
    return profile


def _fragment(profile: DepthProfile, fragment: str) -> np.ndarray:
    if fragment not in profile.fragments:
        raise ValidationError(f"fragment {fragment!r} not in the profile; available: {profile.fragments}")
    return np.asarray(profile[fragment], dtype=float)


def normalize(profile: DepthProfile, *, to: str = "total") -> DepthProfile:
    """Divide every fragment by the total ion count or by one matrix fragment.

    Parameters
    ----------
    profile : DepthProfile
    to : str
        ``"total"`` (sum of all fragments in the profile at each time) or a
        fragment name (e.g. ``"NiO2-"``).

    Returns
    -------
    DepthProfile
        Dimensionless intensities (``units="ratio"``), ``meta["normalized_to"]`` set.

    Raises
    ------
    ValidationError
        Unknown fragment, or a zero reference at some time (named by index).

    Examples
    --------
    >>> p = DepthProfile([0, 1], {"AlO-": [1.0, 3.0], "NiO2-": [3.0, 1.0]})
    >>> normalize(p)["AlO-"].tolist()
    [0.25, 0.75]
    >>> normalize(p, to="NiO2-")["AlO-"].tolist()
    [0.3333333333333333, 3.0]
    """
    p = _profile(profile)
    inten = p.intensities
    if to == "total":
        ref = np.sum(np.vstack([np.asarray(v, float) for v in inten.values()]), axis=0)
        what = "the total ion count"
    else:
        ref = _fragment(p, to)
        what = f"fragment {to!r}"
    bad = np.flatnonzero(ref == 0)
    if bad.size:
        i = int(bad[0])
        raise ValidationError(f"normalize: {what} is zero at index {i} (t = {p.sputter_time[i]:g} s); "
                              "cannot normalise")
    out = {k: np.asarray(v, float) / ref for k, v in inten.items()}
    return p.replace(intensities=out, units="ratio", meta={**p.meta, "normalized_to": to})


def with_sputter_rate(profile: DepthProfile, rate: Any) -> DepthProfile:
    """Return the profile with a (single) sputter rate, nm/s, so ``.depth`` is known.

    Examples
    --------
    >>> p = DepthProfile([0, 10], {"AlO-": [1, 2]})
    >>> with_sputter_rate(p, 0.05).depth.tolist()
    [0.0, 0.5]
    """
    return _profile(profile).replace(sputter_rate=magnitude(rate, "nm/s", name="rate"))


def time_to_depth(time: Any, rates: Any, *, boundaries: Any = ()) -> np.ndarray:
    """Depth reached after sputter ``time`` with one rate or a rate per layer.

    Parameters
    ----------
    time : array_like or pint.Quantity
        Sputter time(s), s.
    rates : float or sequence
        nm/s; one per layer.
    boundaries : sequence
        Sputter times (s) at which layer k ends and k+1 begins
        (``len(rates) - 1`` values, increasing), e.g. interface times.

    Returns
    -------
    ndarray
        nm, the integral of the piecewise-constant rate.

    Examples
    --------
    >>> time_to_depth([0, 50, 100, 200], [0.02, 0.1], boundaries=[100]).tolist()
    [0.0, 1.0, 2.0, 12.0]
    """
    t = np.atleast_1d(np.asarray(array_magnitude(time, "s", name="time"), dtype=float))
    r = np.atleast_1d(np.asarray(array_magnitude(rates, "nm/s", name="rates"), dtype=float))
    b = np.atleast_1d(np.asarray(array_magnitude(boundaries, "s", name="boundaries"), dtype=float)) \
        if np.size(boundaries) else np.zeros(0)
    if r.ndim != 1 or r.size == 0 or not np.all(np.isfinite(r)) or np.any(r <= 0):
        raise ValidationError("rates: expected one or more finite positive sputter rates (nm/s)")
    if b.size != r.size - 1:
        raise ValidationError(f"boundaries: {r.size} rates need {r.size - 1} layer boundaries, got {b.size}")
    if b.size and (not np.all(np.isfinite(b)) or np.any(np.diff(b) <= 0) or b[0] <= 0):
        raise ValidationError("boundaries: expected increasing positive sputter times")
    if not np.all(np.isfinite(t)):
        raise ValidationError("time: expected finite values")
    edges = np.concatenate([[0.0], b])
    depth_at_edges = np.concatenate([[0.0], np.cumsum(np.diff(edges) * r[:-1])])
    k = np.searchsorted(b, t, side="right")
    out: np.ndarray = depth_at_edges[k] + (t - edges[k]) * r[k]
    return out


class Interface(FitResult):
    """Position and width of an interface in a depth profile; an :class:`ncmsurf.FitResult`.

    Falsy when there is no answer (quality failed, ``not_resolved``);
    :attr:`reason` says why.

    Parameters (``names``): ``time`` and ``width_16_84`` (s) and, when a
    sputter rate is known, ``sputter_rate`` (nm/s), ``depth`` and
    ``width_depth`` (nm) with the full covariance. The one standard error of
    the depth used everywhere (``stderr["depth"]``, :attr:`depth_stderr`,
    :func:`ncmsurf.thickness.cross_check`, the study's ``thickness_sims``) is
    σ_d² = (r σ_t)² + (t σ_r)²: the time's error σ_t (crossing: noise of the
    smoothed, normalised marker over its slope at the crossing, with the
    sampling step h/√12 added in quadrature; erf: the fit's standard error)
    and the sputter rate's σ_r (``sputter_rate_stderr``, 0 when not given).

    Attributes
    ----------
    fragment : str
    time, width_16_84 : float
        Sputter time of the ``level`` crossing and between the 16 % and 84 % crossings, s (NaN without an answer).
    depth, width_depth : float or None
        The same in nm when a sputter rate is known.
    time_stderr, width_stderr, depth_stderr : float
    level : float
    direction : str
        ``"falling"`` (coating marker) or ``"rising"`` (substrate marker).
    plateau, background : float
        Levels used for the normalisation.
    method : str
        ``"crossing"`` or ``"erf"``.
    value, value_stderr : float
        Depth (nm) if known, else time (s), and its standard error (before the
        result core, ``.stderr`` was half the 16–84 % width; the width is a
        resolution, not an error of the position).
    """

    __slots__ = ()

    @classmethod
    def make(cls, fragment: str, time: float, width: float, *, level: float, direction: str, plateau: float,
             background: float, method: str = "crossing", time_stderr: float = math.nan,
             width_stderr: float = math.nan, sputter_rate: float | None = None,
             sputter_rate_stderr: float | None = None, reason: str = "") -> Interface:
        """Build an interface result (``reason`` non-empty: no answer)."""
        names = ["time", "width_16_84"]
        vals = [float(time), float(width)]
        cov = np.diag([time_stderr**2, width_stderr**2])
        free = [True, True]
        units = ["s", "s"]
        if sputter_rate is not None:
            sr = float(sputter_rate)
            ser = 0.0 if sputter_rate_stderr is None else float(sputter_rate_stderr)
            base = np.array([time, width, sr], float)
            cb = np.diag([time_stderr**2, width_stderr**2, ser**2])

            def f(p: np.ndarray) -> np.ndarray:
                return np.array([p[0], p[1], p[2], p[0] * p[2], p[1] * p[2]])

            def jac(p: np.ndarray) -> np.ndarray:
                return np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [p[2], 0, p[0]], [0, p[2], p[1]]], float)

            vals_a, cov = propagate(f, base, cb, jac=jac) if not reason else (f(base), np.full((5, 5), np.nan))
            names += ["sputter_rate", "depth", "width_depth"]
            vals = [float(v) for v in vals_a]
            free = [True, True, ser > 0, True, True]
            units += ["nm/s", "nm", "nm"]
        quality = Quality("failed", [("not_resolved", reason)]) if reason else Quality.good()
        if not reason and not math.isfinite(time_stderr):
            quality = Quality("suspect", [("unidentifiable", "the interface time has no finite standard error")])
        return cls.build(names=names, values=vals, covariance=cov, free=free, units=units, success=not reason,
                         message=reason, quality=quality, model=method,
                         attrs={"fragment": fragment, "level": float(level), "direction": direction,
                                "plateau": float(plateau), "background_level": float(background),
                                "method": method, "has_rate": int(sputter_rate is not None)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        out = cls.make(str(a["fragment"]), float(a["time"]), float(a["width_16_84"]), level=float(a["level"]),
                       direction=str(a["direction"]), plateau=float(a["plateau"]), background=float(a["background"]),
                       method=str(a.get("method", "crossing")), time_stderr=float(a.get("time_stderr", np.nan)),
                       width_stderr=float(a.get("width_stderr", np.nan)),
                       sputter_rate=None if "sputter_rate" not in a else float(a["sputter_rate"]),
                       reason="" if bool(a["success"]) else str(a["reason"]) or "no interface")
        return out if not out.success else out.replace(quality=legacy_quality(True))

    def _opt(self, name: str) -> float | None:
        return self.values[name] if name in self.names else None

    @property
    def fragment(self) -> str:
        """Marker fragment."""
        return str(self._attrs["fragment"])

    @property
    def time(self) -> float:
        """Sputter time of the crossing, s."""
        return self.values["time"]

    @property
    def width_16_84(self) -> float:
        """Sputter time between the 16 % and 84 % crossings, s."""
        return self.values["width_16_84"]

    @property
    def time_stderr(self) -> float:
        """Standard error of :attr:`time`, s."""
        return self.stderr["time"]

    @property
    def width_stderr(self) -> float:
        """Standard error of :attr:`width_16_84`, s."""
        return self.stderr["width_16_84"]

    @property
    def sputter_rate(self) -> float | None:
        """Sputter rate used, nm/s, or None."""
        return self._opt("sputter_rate")

    @property
    def depth(self) -> float | None:
        """Interface depth, nm (None without a sputter rate)."""
        return self._opt("depth")

    @property
    def width_depth(self) -> float | None:
        """16–84 % width in nm (None without a sputter rate)."""
        return self._opt("width_depth")

    @property
    def depth_stderr(self) -> float | None:
        """Standard error of the depth, nm (None without a sputter rate)."""
        return self.stderr["depth"] if "depth" in self.names else None

    @property
    def level(self) -> float:
        """Fraction of the plateau the interface is taken at."""
        return float(self._attrs["level"])

    @property
    def direction(self) -> str:
        """``"falling"`` or ``"rising"``."""
        return str(self._attrs["direction"])

    @property
    def plateau(self) -> float:
        """Plateau level of the marker."""
        return float(self._attrs["plateau"])

    @property
    def background(self) -> float:
        """Background level of the marker."""
        return float(self._attrs["background_level"])

    @property
    def method(self) -> str:
        """``"crossing"`` or ``"erf"``."""
        return str(self._attrs["method"])

    @property
    def reason(self) -> str:
        """Why there is no answer (empty when there is one)."""
        return "" if self.success else self.message

    @property
    def value(self) -> float:
        """Interface depth (nm) if known, else time (s) — for :func:`ncmsurf.thickness.cross_check`."""
        d = self.depth
        return float(d) if d is not None else self.time

    @property
    def value_stderr(self) -> float:
        """Standard error of :attr:`value`."""
        d = self.depth_stderr
        return float(d) if d is not None else self.time_stderr

    def _report_extra(self) -> list[str]:
        return [f"{self.fragment} {self.direction} at {self.level:.0%} of its plateau ({self.method})"]

    def plot(self, ax: Any = None, *, profile: DepthProfile | None = None, **kw: Any) -> Any:
        """Mark the interface and its 16–84 % band (on depth when known), over ``profile``'s marker if given.

        Needs matplotlib (the ``plot`` extra).
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        on_depth = self.depth is not None and self.width_depth is not None
        if profile is not None:
            x = profile.depth if on_depth else profile.sputter_time
            ax.plot(x, profile[self.fragment], label=self.fragment, **kw)
        if self.success:
            c = float(self.depth) if on_depth else self.time  # type: ignore[arg-type]
            w = float(self.width_depth) if on_depth else self.width_16_84  # type: ignore[arg-type]
            ax.axvline(c, color="k", ls="--", label=f"interface {c:.3g} {'nm' if on_depth else 's'}")
            ax.axvspan(c - w / 2, c + w / 2, color="k", alpha=0.1, label="16–84 %")
        ax.set_xlabel("depth (nm)" if on_depth else "sputter time (s)")
        ax.set_ylabel("intensity")
        ax.legend()
        return ax


def _smooth(y: np.ndarray, window: int) -> np.ndarray:
    if window <= 1:
        return y.copy()
    k = np.ones(window) / window
    pad = window // 2
    yp = np.pad(y, (pad, window - 1 - pad), mode="edge")
    return np.convolve(yp, k, mode="valid")


def _crossing(t: np.ndarray, s: np.ndarray, level: float, start: int) -> float | None:
    """First time after index ``start`` where the falling curve s goes below ``level`` (linear interpolation)."""
    below = np.flatnonzero(s[start:] < level)
    if below.size == 0:
        return None
    j = start + int(below[0])
    if j == 0:
        return float(t[0])
    t0, t1, s0, s1 = t[j - 1], t[j], s[j - 1], s[j]
    if s0 == s1:
        return float(t1)
    return float(t0 + (s0 - level) * (t1 - t0) / (s0 - s1))


def interface(profile: DepthProfile, fragment: str, *, level: float = 0.5, direction: str = "auto",
              background: Any = "tail", smooth: int | None = None, method: str = "crossing",
              sputter_rate_stderr: Any = None) -> Interface:
    """Interface where a marker fragment crosses ``level`` of its plateau.

    The marker is smoothed (moving average), its plateau is the median of
    the points within 10 % of the maximum on the plateau side, and its
    background the median of the last (falling) or first (rising) 10 % of
    points (``background="tail"``), 0, or a given number. The signal is
    scaled to 1 on the plateau and 0 on the background; the interface is the
    ``level`` crossing and the width the distance between the 84 % and 16 %
    crossings (2σ for an error-function interface).

    Parameters
    ----------
    profile : DepthProfile
    fragment : str
        Coating marker (falls at the interface, e.g. ``"AlO2-"``) or substrate
        marker (rises, e.g. ``"NiO2-"``).
    level : float
        Fraction of the plateau, in (0, 1).
    direction : {"auto", "falling", "rising"}
        ``"auto"`` compares the first and last tenth of the profile.
    background : "tail", float or None
        Level subtracted before scaling (None means 0).
    smooth : int, optional
        Moving-average window (points); default about 1 % of the points, odd, at least 3.
    method : {"crossing", "erf"}
        ``"crossing"``: interpolated crossings of the smoothed marker.
        ``"erf"``: least-squares fit of plateau, background, centre and σ of
        an error-function step to the raw points (starting from the
        crossings); the level and 16–84 % width then follow from the fit
        (width = 2σ) with standard errors, which is better on noisy data.
    sputter_rate_stderr : float or pint.Quantity, optional
        Standard error of the profile's sputter rate, nm/s (default
        ``profile.meta["sputter_rate_stderr"]`` if present, else 0),
        propagated to the depth.

    Returns
    -------
    Interface
        Falsy with ``reason`` when the marker never falls below (or rises
        above) ``level`` of its plateau, or has no plateau.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.special import erfc
    >>> t = np.linspace(0, 200, 401)
    >>> p = DepthProfile(t, {"AlO-": 1000 * 0.5 * erfc((t - 80) / (np.sqrt(2) * 5))}, sputter_rate=0.05)
    >>> it = interface(p, "AlO-", smooth=1)
    >>> round(it.time, 1), round(it.width_16_84, 1), round(it.depth, 2)
    (80.0, 9.9, 4.0)
    """
    p = _profile(profile)
    y = _fragment(p, fragment)
    t = p.sputter_time
    if not 0.0 < float(level) < 1.0:
        raise ValidationError(f"level: expected a fraction in (0, 1), got {level}")
    if method not in ("crossing", "erf"):
        raise ValidationError(f"method: expected 'crossing' or 'erf', got {method!r}")
    if direction not in ("auto", "falling", "rising"):
        raise ValidationError(f"direction: expected 'auto', 'falling' or 'rising', got {direction!r}")
    n = y.size
    rate = p.sputter_rate

    rate_se_in = sputter_rate_stderr if sputter_rate_stderr is not None else p.meta.get("sputter_rate_stderr")
    rate_se = None if rate_se_in is None else magnitude(rate_se_in, "nm/s", name="sputter_rate_stderr")
    if rate_se is not None and not (math.isfinite(rate_se) and rate_se >= 0):
        raise ValidationError(f"sputter_rate_stderr: expected a finite value >= 0, got {rate_se}")

    def fail(reason: str, plateau: float = float("nan"), bg: float = float("nan"), dirn: str = direction) -> Interface:
        return Interface.make(fragment, float("nan"), float("nan"), level=float(level), direction=dirn,
                              plateau=plateau, background=bg, method=method, sputter_rate=rate,
                              sputter_rate_stderr=rate_se, reason=reason)

    if n < 5:
        return fail(f"{fragment}: only {n} points; at least 5 are needed to locate an interface")
    w = smooth if smooth is not None else max(3, (n // 100) | 1)
    if w < 1:
        raise ValidationError(f"smooth: expected a window of at least 1 point, got {w}")
    tenth = max(1, n // 10)
    if direction == "auto":
        direction = "falling" if np.mean(y[:tenth]) >= np.mean(y[-tenth:]) else "rising"
    if direction == "rising":
        y, t_use = y[::-1], t[::-1]
    else:
        t_use = t
    ys = _smooth(y, w)
    top = float(np.max(ys))
    if not top > 0:
        return fail(f"{fragment}: the signal is never positive; no plateau", dirn=direction)
    imax = int(np.argmax(ys))
    # plateau: contiguous region around the maximum (towards the start) within 10 % of the max
    near = ys >= 0.9 * top
    j = imax
    while j + 1 < n and near[j + 1]:
        j += 1
    i0 = imax
    while i0 - 1 >= 0 and near[i0 - 1]:
        i0 -= 1
    plateau = float(np.median(y[i0:j + 1]))
    if background is None:
        bg = 0.0
    elif isinstance(background, str):
        if background != "tail":
            raise ValidationError(f"background: expected 'tail', a number or None, got {background!r}")
        bg = float(np.median(y[-tenth:]))
    else:
        bg = magnitude(background, "dimensionless", name="background")
    what = "falls below" if direction == "falling" else "rises above"
    if plateau <= bg or (plateau - bg) < (1.0 - float(level)) * plateau:
        frac = bg / plateau if plateau else float("nan")
        return fail(f"{fragment} never {what} {level:.0%} of its plateau (the far end stays at {frac:.0%} of "
                    f"the plateau); no interface in this profile", plateau, bg, direction)
    s = (ys - bg) / (plateau - bg)
    t50 = _crossing(t_use if direction == "falling" else -t_use, s, float(level), j)
    t84 = _crossing(t_use if direction == "falling" else -t_use, s, 0.84, j)
    t16 = _crossing(t_use if direction == "falling" else -t_use, s, 0.16, j)
    if t50 is None or t84 is None or t16 is None:
        return fail(f"{fragment} never {what} {level:.0%} of its plateau within the profile", plateau, bg,
                    direction)
    if direction == "rising":
        t50, t84, t16 = -t50, -t84, -t16
    width = abs(t16 - t84)
    # crossing errors: noise of the smoothed, normalised marker over its slope at each crossing, plus the
    # sampling step (h / sqrt(12)) in quadrature
    dn = np.abs(np.diff(y))
    if dn.size > 4000:  # the noise level from a strided subsample of the point-to-point differences
        dn = dn[:: dn.size // 2000]
    noise = float(np.median(dn)) / abs(plateau - bg) / (0.6745 * math.sqrt(2.0)) / math.sqrt(w)
    step = float(abs(t[-1] - t[0]) / (t.size - 1)) if t.size > 1 else 0.0

    def cross_err(tc: float) -> float:
        k = int(np.searchsorted(t, tc)) if direction == "falling" else int(np.searchsorted(t, tc))
        k = min(max(k, 1), t.size - 1)
        i = k if direction == "falling" else t.size - k  # index in the (possibly reversed) smoothed marker
        i = min(max(i, 1), t.size - 2)
        sl = abs(float(s[i + 1] - s[i - 1]) / float(t_use[i + 1] - t_use[i - 1]))
        se_noise = noise / sl if sl > 0 else math.inf
        return math.hypot(se_noise, step / math.sqrt(12.0))

    t_err = cross_err(t50)
    w_err = math.hypot(cross_err(t16), cross_err(t84))
    if method == "erf":
        fit = _erf_fit(p.sputter_time, np.asarray(p[fragment], float), direction, t50, width, plateau, bg,
                       float(level))
        if fit is None:
            return fail(f"{fragment}: the error-function fit did not converge", plateau, bg, direction)
        t50, width, t_err, w_err, plateau, bg = fit
    return Interface.make(fragment, float(t50), float(width), level=float(level), direction=direction,
                          plateau=plateau, background=bg, method=method, time_stderr=float(t_err),
                          width_stderr=float(w_err), sputter_rate=rate, sputter_rate_stderr=rate_se)


def _erf_fit(t: np.ndarray, y: np.ndarray, direction: str, t50: float, width: float, plateau: float, bg: float,
             level: float) -> tuple[float, float, float, float, float, float] | None:
    from scipy import optimize
    from scipy.special import erfc, erfcinv

    sgn = 1.0 if direction == "falling" else -1.0

    def model(x: np.ndarray, top: float, base: float, t0: float, sigma: float) -> np.ndarray:
        return base + (top - base) * 0.5 * erfc(sgn * (x - t0) / (math.sqrt(2.0) * abs(sigma)))

    sigma0 = max(width / 2.0, float(np.min(np.diff(t))) if t.size > 1 else 1.0, 1e-12)
    try:
        popt, pcov = optimize.curve_fit(model, t, y, p0=[plateau, bg, t50, sigma0], maxfev=5000)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        return None
    top, base, t0, sigma = (float(v) for v in popt)
    sigma = abs(sigma)
    if not (math.isfinite(t0) and math.isfinite(sigma)) or sigma == 0 or top <= base:
        return None
    err = np.sqrt(np.clip(np.diag(pcov), 0, None)) if np.all(np.isfinite(pcov)) else np.full(4, np.nan)
    shift = sgn * math.sqrt(2.0) * sigma * float(erfcinv(2.0 * level))
    return t0 + shift, 2.0 * sigma, float(err[2]), 2.0 * float(err[3]), top, base


def integrate(profile: DepthProfile, fragment: str, *, depth: Sequence[Any] | None = None,
              time: Sequence[Any] | None = None) -> float:
    """Integrated intensity of a fragment over a depth (nm) or time (s) window.

    Trapezoidal integral of intensity × d(depth) (needs a sputter rate) or
    × d(time); the window ends are interpolated.

    Examples
    --------
    >>> p = DepthProfile([0, 1, 2, 3], {"AlO-": [2.0, 2.0, 2.0, 2.0]}, sputter_rate=0.5)
    >>> integrate(p, "AlO-", depth=(0.25, 1.25))
    2.0
    >>> integrate(p, "AlO-", time=(0, 3))
    6.0
    """
    p = _profile(profile)
    y = _fragment(p, fragment)
    if (depth is None) == (time is None):
        raise ValidationError("integrate: give exactly one of depth=(lo, hi) or time=(lo, hi)")
    if depth is not None:
        x = p.depth
        if x is None:
            raise ValidationError("integrate: the profile has no sputter rate; use with_sputter_rate or time=")
        lo, hi = (magnitude(v, "nm", name="depth") for v in depth)
    else:
        x = p.sputter_time
        lo, hi = (magnitude(v, "s", name="time") for v in time)  # type: ignore[union-attr]
    if not hi > lo:
        raise ValidationError(f"integrate: window must have hi > lo, got ({lo}, {hi})")
    if lo < x[0] or hi > x[-1]:
        raise ValidationError(f"integrate: window ({lo}, {hi}) outside the profile range ({x[0]}, {x[-1]})")
    inside = (x > lo) & (x < hi)
    xs = np.concatenate([[lo], x[inside], [hi]])
    ys = np.concatenate([[np.interp(lo, x, y)], y[inside], [np.interp(hi, x, y)]])
    return float(np.trapezoid(ys, xs))
