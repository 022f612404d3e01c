"""Galvanostatic intermittent titration (GITT): per-pulse chemical diffusion coefficients (private).

Weppner and Huggins (1977): for a constant-current pulse of length τ that is
short against the diffusion time (τ ≪ L²/D),

    D = 4 / (π τ) · (n_m V_m / S)² · (ΔE_s / ΔE_t)²,

with n_m the moles of the host (``mass / molar_mass``), V_m its molar
volume, S the electrode–electrolyte contact area, ΔE_s the change of the
relaxed (steady-state) voltage over the pulse and ΔE_t the voltage change
during the pulse without the ohmic (IR) drop. The derivation assumes that E is
linear in √t during the pulse (semi-infinite diffusion into a flat surface) and
that the rest relaxes the particle fully.

How each quantity is taken from a record here:

* **Pulses** are constant-current steps with a rest before and after
  (:mod:`ncmsurf.cycling._pulses`: steps from the current alone). τ runs from
  the pulse's first to its last record (cyclers log both).
* **ΔE_s** = E(end of the rest after) − E(end of the rest before), each the value
  at the rest's last record of a straight line fitted to the rest's last
  ``relax_window`` share (at least three records).
* **ΔE_t** and the IR drop: E is fitted by a straight line in √t over the records
  with ``fit_window[0] τ ≤ t ≤ fit_window[1] τ`` (t from the pulse start); the
  intercept at t = 0 is the voltage after the IR drop (and any other fast step),
  so ΔE_t = slope · √τ excludes it by construction; IR drop = intercept −
  E(before).
* **stderr** of D: from the standard errors of the √t slope (scatter about the
  line) and of ΔE_s (the rest fits), propagated with :func:`~ncmsurf.core.fitting.propagate_one`;
  uncertainties of the inputs (V_m, S, n_m) are not included.

Validity checks, each a reason of the pulse's verdict:

* ``long_pulse``: τ ≪ L²/D. L is ``diffusion_length`` (the particle radius, or
  the film thickness for ``geometry="planar"``), else the length the inputs imply
  (3 n_m V_m / S for spheres, n_m V_m / S for films). The bias the formula would
  have for this geometry at D τ / L² is computed from the exact solution of the
  diffusion problem (Crank 1975) under the same √t fit, and the pulse is flagged
  when it exceeds ``max_bias`` (5 %). For spheres this is strict: the formula
  underestimates D by 5 % already at D τ / R² ≈ 5·10⁻⁴, by 20 % at 0.01 and by
  half near 0.1 (Kang and Chueh 2021); for films it holds to D τ / L² ≈ 0.4.
  ``method="full"`` fits the exact spherical (or planar) solution instead.
* ``nonlinear_transient``: E against √t. A quadratic in √t is fitted over the
  same window; the pulse is flagged when the slope changes across the window by
  more than ``max_nonlinearity`` (10 %) even with the curvature reduced by two of
  its standard errors (so noise alone does not flag). The table's
  ``nonlinearity`` is the change itself; R² of the line is reported too.
* ``not_relaxed``: |dE/dt| at the end of the rest after the pulse (the slope of the
  rest fit; significant at three standard errors) above ``relaxation_rate``
  (1 mV/h), or the drift still to come, |dE/dt| times the time of the slowest
  diffusion mode L²/(α₁² D), above ``relax_share`` (2 %) of |ΔE_s|.
* ``unsteady_current``: relative standard deviation of the pulse current above
  ``current_tolerance`` (2 %).
* ``coarse_sampling``: fewer than ``min_records`` records in the √t fit window.
* ``no_rest``: no rest before or after the pulse (no ΔE_s: the pulse fails).
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import brentq
from scipy.special import erfc

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.fitting import check_identifiable, check_runs, least_squares, propagate_one
from ncmsurf.core.models import CyclingData
from ncmsurf.core.results import FitResult, Quality, register_citation
from ncmsurf.core.units import magnitude
from ncmsurf.cycling._pulses import find_steps, line_fit, noise_level, quality_json, summarise_pulses

__all__ = ["GITT_METHODS", "GITTResult", "gitt", "surface_response", "weppner_huggins_bias"]

FARADAY = 96485.33212  # C/mol

register_citation("weppner1977", "W. Weppner, R. A. Huggins, J. Electrochem. Soc. 124, 1569 (1977)")
register_citation("crank1975", "J. Crank, The Mathematics of Diffusion, 2nd ed., Clarendon Press, Oxford (1975)")
register_citation("kang2021", "S. D. Kang, W. C. Chueh, J. Electrochem. Soc. 168, 120504 (2021)")

GITT_METHODS = ("weppner-huggins", "full")
"""``"weppner-huggins"``: the ΔE_s/ΔE_t formula; ``"full"``: fit of the exact finite-geometry solution."""

_GEOMETRIES = ("sphere", "planar")
_FIRST_MODE = {"sphere": 20.19072856, "planar": math.pi**2 / 4.0}
"""α₁² of the slowest relaxation mode exp(−α₁² D t / L²): sphere (tan α = α), film closed at the back."""
RELAXATION_RATE = 1e-3 / 3600.0
"""Default threshold of |dE/dt| at the end of a rest, V/s (1 mV/h)."""


# --------------------------------------------------------------------------- exact surface responses
@lru_cache(maxsize=1)
def _sphere_roots() -> np.ndarray:
    return np.array([brentq(lambda a: math.tan(a) - a, (k + 0.5) * math.pi - 0.5, (k + 0.5) * math.pi - 1e-9)
                     for k in range(1, 80)])


def surface_response(T: Any, geometry: str = "sphere") -> np.ndarray:
    """Dimensionless surface concentration change under a constant surface flux.

    For a flux J into a sphere of radius R (or a film of thickness L with the far
    face closed), the surface concentration changes by ``(J R / D) u(T)`` with
    ``T = D t / R²`` (Crank 1975):

    * sphere: ``u = 3T + 1/5 − 2 Σ exp(−α_n² T) / α_n²`` (tan α_n = α_n), and for
      T ≤ 0.05 the short-time form ``exp(T) erfc(−√T) − 1`` (exact up to terms of
      order exp(−1/T));
    * planar: ``u = 2√T [1/√π + 2 Σ ierfc(n / √T)]`` (images), and for T > 1
      ``T + 1/3 − (2/π²) Σ exp(−n²π²T) / n²``.

    Both start as ``2 √(T/π)``, the semi-infinite result behind Weppner–Huggins.

    Examples
    --------
    >>> surface_response([1e-4], "sphere").round(6).tolist(), surface_response([1e-4], "planar").round(6).tolist()
    ([0.011385], [0.011284])
    """
    if geometry not in _GEOMETRIES:
        raise ValidationError(f"geometry: expected one of {_GEOMETRIES}, got {geometry!r}")
    t = np.clip(np.asarray(T, dtype=float), 0.0, None)
    out: np.ndarray = np.empty_like(t)
    if geometry == "sphere":
        small = t <= 0.05
        ts = t[small]
        out[small] = np.exp(ts) * erfc(-np.sqrt(ts)) - 1.0
        tl = t[~small]
        if tl.size:
            a2 = _sphere_roots() ** 2
            out[~small] = 3.0 * tl + 0.2 - 2.0 * (np.exp(-np.outer(tl, a2)) / a2).sum(axis=1)
        return out
    small = t <= 1.0
    ts = t[small]
    if ts.size:
        n = np.arange(1, 12, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = n[None, :] / np.sqrt(ts)[:, None]
            ierfc = np.exp(-(z**2)) / math.sqrt(math.pi) - z * erfc(z)
        ierfc = np.where(np.isfinite(ierfc), ierfc, 0.0)
        out[small] = 2.0 * np.sqrt(ts) * (1.0 / math.sqrt(math.pi) + 2.0 * ierfc.sum(axis=1))
    tl = t[~small]
    if tl.size:
        n = np.arange(1, 40, dtype=float)
        out[~small] = tl + 1.0 / 3.0 - (2.0 / math.pi**2) * (np.exp(-np.outer(tl, (n * math.pi) ** 2)) / n**2).sum(1)
    return out


def _mean_factor(geometry: str) -> float:
    """Mean concentration change per (J t / L): 3 for spheres, 1 for films."""
    return 3.0 if geometry == "sphere" else 1.0


def _wh_ratio(T: float, geometry: str, window: tuple[float, float]) -> float:
    """D(Weppner–Huggins) / D(true) for the exact response at D τ / L² = T under the √t line fit."""
    s = np.sqrt(np.linspace(window[0], window[1], 200) * T)
    if window[0] == 0.0:
        s = s[1:] if s.size > 2 else s
    u = surface_response(s**2, geometry)
    beta = float(np.polyfit(s, u, 1)[0])
    # E − a = ΔE_s L² / (f D τ) u(T); with ℓ = L / f the formula gives 4 / (π β²) (f = mean factor)
    return 4.0 / (math.pi * beta**2)


@lru_cache(maxsize=32)
def _wh_table(geometry: str, window: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    T = np.logspace(-7, 1.5, 120)
    g = np.array([_wh_ratio(float(x), geometry, window) for x in T])
    return T, g


def weppner_huggins_bias(tau_ratio: float, geometry: str = "sphere", *,
                         fit_window: tuple[float, float] = (0.05, 1.0), apparent: bool = False) -> float:
    """Relative bias of the Weppner–Huggins D for a pulse at ``D τ / L²`` (exact solution, same √t fit).

    Parameters
    ----------
    tau_ratio : float
        D τ / L² with the true D (or, with ``apparent=True``, with the D the formula
        gave; the true ratio is then solved for).
    geometry : {"sphere", "planar"}
    fit_window : (float, float)
        The √t fit window as shares of τ.
    apparent : bool
        Whether ``tau_ratio`` was formed with the formula's own D.

    Returns
    -------
    float
        D(formula) / D(true) − 1 (negative: underestimate).

    Examples
    --------
    >>> round(weppner_huggins_bias(1e-3, "sphere"), 3), round(weppner_huggins_bias(1e-3, "planar"), 3)
    (-0.071, 0.0)
    >>> round(weppner_huggins_bias(0.1, "sphere"), 2)
    -0.54
    """
    return _bias_and_ratio(tau_ratio, geometry, fit_window, apparent)[0]


def _bias_and_ratio(tau_ratio: float, geometry: str, fit_window: tuple[float, float],
                    apparent: bool) -> tuple[float, float]:
    """(bias, true D τ / L²) of :func:`weppner_huggins_bias`."""
    if not (math.isfinite(tau_ratio) and tau_ratio >= 0):
        return math.nan, math.nan
    T, g = _wh_table(geometry, (float(fit_window[0]), float(fit_window[1])))
    if apparent:
        tg = np.maximum.accumulate(T * g)  # the apparent ratio against the true one (increasing where it matters)
        if tau_ratio <= tg[0]:
            true = float(tau_ratio / g[0])
        elif tau_ratio >= tg[-1]:
            return float(g[-1] - 1.0), math.inf
        else:
            j = int(np.searchsorted(tg, tau_ratio))
            true = float(np.exp(np.interp(math.log(tau_ratio), np.log(tg[j - 1:j + 1]), np.log(T[j - 1:j + 1]))))
    else:
        true = float(tau_ratio)
    if true <= T[0]:
        return float(g[0] - 1.0), true
    if true >= T[-1]:
        return float(g[-1] - 1.0), true
    return float(np.interp(math.log(true), np.log(T), g) - 1.0), true


# --------------------------------------------------------------------------- the result
class GITTResult(FitResult):
    """Per-pulse chemical diffusion coefficients from a GITT record.

    Parameters are ``D_1`` … ``D_n`` (cm²/s), one per pulse, with their standard
    errors. :attr:`table` holds everything per pulse; each pulse has its own
    verdict (:meth:`pulse_quality`, and the ``quality`` column), the overall
    verdict summarises them.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_gitt
    >>> rec = synthetic_gitt(geometry="planar", radius=2000.0, n_pulses=3, seed=0)
    >>> tr = rec.meta["truth"]
    >>> res = gitt(rec, molar_volume=tr["molar_volume"], area=tr["area_cm2"], molar_mass=tr["molar_mass"],
    ...            geometry="planar", diffusion_length=2000.0)
    >>> res.n_pulses, res.units["D_1"], res.quality.level
    (3, 'cm**2/s', 'good')
    >>> bool(np.all(np.abs(res.diffusivity / tr["diffusivity"] - 1) < 0.1))
    True
    """

    @property
    def table(self) -> xr.Dataset:
        """Per-pulse table over ``pulse`` (a copy): D and its inputs, positions, checks and verdicts."""
        keep = [k for k in self._ds.data_vars if "pulse" in self._ds[k].dims]
        return self._ds[keep].copy(deep=True)

    @property
    def n_pulses(self) -> int:
        """Number of pulses analysed."""
        return int(self._ds.sizes.get("pulse", 0))

    @property
    def diffusivity(self) -> np.ndarray:
        """D per pulse, cm²/s (NaN where a pulse failed)."""
        return np.array([self.values[n] for n in self.names], dtype=float)

    @property
    def diffusivity_stderr(self) -> np.ndarray:
        """Standard error of D per pulse, cm²/s."""
        return np.array([self.stderr[n] for n in self.names], dtype=float)

    def pulse_quality(self, k: int) -> Quality:
        """The verdict of pulse ``k`` (1-based, as in the parameter names)."""
        if not 1 <= k <= self.n_pulses:
            raise ValidationError(f"pulse: expected 1..{self.n_pulses}, got {k}")
        level = str(self._ds["quality"].values[k - 1])
        reasons = json.loads(str(self._ds["reasons"].values[k - 1]))
        return Quality(level, [(str(c), str(m)) for c, m in reasons])

    def to_dataframe(self) -> Any:
        """The per-pulse table as a :class:`pandas.DataFrame`."""
        return self.table.to_dataframe()

    def plot(self, ax: Any = None, *, x: str = "capacity", **kw: Any) -> Any:
        """D per pulse (log scale) against ``x`` (a table column), marked by each pulse's verdict."""
        from ncmsurf.cycling._plots import plot_gitt

        return plot_gitt(self, ax, x=x, **kw)

    def _report_extra(self) -> list[str]:
        d = self.diffusivity
        ok = np.isfinite(d)
        if not ok.any():
            return []
        return [f"method: {self._ds.attrs.get('method', '')}; geometry: {self._ds.attrs.get('geometry', '')}; "
                f"D from {np.nanmin(d):.3g} to {np.nanmax(d):.3g} cm²/s over {int(ok.sum())} pulses"]


# --------------------------------------------------------------------------- the analysis
def _rest_end(t: np.ndarray, v: np.ndarray, window: float, sigma: float) -> tuple[float, float, float, float, int]:
    """Value (at the last record), its stderr, slope (V/s) and its stderr of a rest's end; records used."""
    if t.size == 0:
        return math.nan, math.nan, math.nan, math.nan, 0
    span = float(t[-1] - t[0])
    sel = t >= t[-1] - window * span
    if sel.sum() < 3:
        sel = np.zeros(t.size, bool)
        sel[-min(3, t.size):] = True
    tt, vv = t[sel], v[sel]
    if tt.size < 3:
        val = float(vv[-1])
        return val, (sigma if math.isfinite(sigma) else math.nan), math.nan, math.nan, int(tt.size)
    val, se, slope, se_slope = line_fit(tt, vv, at=float(tt[-1]))
    return val, se, slope, se_slope, int(tt.size)


def _quadratic_curvature(s: np.ndarray, v: np.ndarray) -> tuple[float, float]:
    """Curvature coefficient of a quadratic in s and its standard error (from the scatter)."""
    if s.size < 5:
        return math.nan, math.nan
    sc = (s - s.mean()) / max(float(np.ptp(s)), 1e-300)
    X = np.column_stack([np.ones_like(sc), sc, sc**2])
    coef, *_ = np.linalg.lstsq(X, v, rcond=None)
    r = v - X @ coef
    s2 = float(r @ r) / (s.size - 3)
    cov = s2 * np.linalg.inv(X.T @ X)
    scale = max(float(np.ptp(s)), 1e-300) ** 2
    return float(coef[2]) / scale, math.sqrt(max(float(cov[2, 2]), 0.0)) / scale


def _full_fit(t: np.ndarray, v: np.ndarray, *, tau: float, des: float, length: float, geometry: str,
              d0: float, sigma: float) -> tuple[float, float, float, np.ndarray, bool, str]:
    """Fit E = a + ΔE_s L² / (f D τ) u(D t / L²): D, its stderr (fit only), a, residual, success, message."""
    f = _mean_factor(geometry)
    w = 1.0 / sigma if (math.isfinite(sigma) and sigma > 0) else 1.0 / max(float(np.std(v)), 1e-6)

    def model(p: np.ndarray, d_es: float = des) -> np.ndarray:
        a, d = p
        out: np.ndarray = a + d_es * length**2 / (f * d * tau) * surface_response(d * t / length**2, geometry)
        return out

    def resid(p: np.ndarray) -> np.ndarray:
        r: np.ndarray = (model(p) - v) * w
        return r

    a0 = float(v[0] - (model(np.array([0.0, d0]))[0]))
    sol = least_squares(resid, [a0, d0], log=[False, True], bounds=([-np.inf, 1e-20], [np.inf, 1.0]))
    return float(sol.p[1]), float(sol.stderr[1]), float(sol.p[0]), sol.residual / w, bool(sol.success), sol.message


def gitt(data: CyclingData, *, molar_volume: Any, area: Any, moles: Any = None, mass: Any = None,
         molar_mass: Any = None, geometry: str = "sphere", diffusion_length: Any = None,
         method: str = "weppner-huggins", x0: float | None = None, fit_window: tuple[float, float] = (0.05, 1.0),
         relax_window: float = 0.2, relaxation_rate: Any = RELAXATION_RATE, relax_share: float = 0.02,
         max_bias: float = 0.05,
         max_nonlinearity: float = 0.10, current_tolerance: float = 0.02, min_records: int = 8,
         rest_current: Any = None, level_tolerance: float = 0.05) -> GITTResult:
    """Chemical diffusion coefficient of every GITT pulse (Weppner–Huggins), with the formula's checks.

    Parameters
    ----------
    data : CyclingData
        The record: constant-current pulses separated by rests (current in A,
        positive = oxidation of the working electrode).
    molar_volume : float or pint.Quantity
        V_m of the host, cm³/mol.
    area : float or pint.Quantity
        Electrode–electrolyte contact area S, cm² (for a composite electrode the
        total particle surface, not the geometric electrode area).
    moles : float or pint.Quantity, optional
        n_m, moles of host. Alternatively ``mass`` / ``molar_mass``.
    mass : float or pint.Quantity, optional
        Active mass, g (default ``data.mass``).
    molar_mass : float or pint.Quantity, optional
        g/mol; needed when ``moles`` is not given.
    geometry : {"sphere", "planar"}
        Particle shape, for the τ ≪ L²/D check and for ``method="full"``.
    diffusion_length : float or pint.Quantity, optional
        Particle radius (film thickness), nm. Default: the length the inputs
        imply (3 n_m V_m / S for spheres, n_m V_m / S for films).
    method : {"weppner-huggins", "full"}
        The ΔE_s/ΔE_t formula, or a fit of the exact solution for the geometry
        (:func:`surface_response`) with ΔE_s from the rests; ``"full"`` holds for
        pulses of any length.
    x0 : float, optional
        Lithium stoichiometry at the start of the record; with it the table's ``x``
        column is the stoichiometry after each pulse (else NaN).
    fit_window : (float, float)
        Shares of τ that bound the records of the √t fit.
    relax_window : float
        Share of a rest's duration, at its end, fitted for its relaxed voltage and
        dE/dt.
    relaxation_rate : float or pint.Quantity
        Threshold of |dE/dt| at the end of a rest, V/s (default 1 mV/h).
    relax_share : float
        Largest tolerated drift still to come after a rest, |dE/dt| · L²/(α₁² D),
        as a share of |ΔE_s| (the slowest diffusion mode's time; α₁² = 20.19 for
        spheres, π²/4 for films).
    max_bias : float
        Largest tolerated bias of the formula from the pulse length (``long_pulse``).
    max_nonlinearity : float
        Largest tolerated relative change of dE/d√t across the fit window.
    current_tolerance : float
        Largest tolerated relative standard deviation of a pulse's current.
    min_records : int
        Fewest records in the √t fit window.
    rest_current : float or pint.Quantity, optional
        Rest threshold, A (default 0.1 % of the largest current).
    level_tolerance : float
        Relative current jump that starts a new step.

    Returns
    -------
    GITTResult
        Parameters ``D_k`` (cm²/s); :attr:`GITTResult.table` with, per pulse:
        ``start_time`` and ``tau`` (s), ``current`` (A), ``capacity`` (charge passed
        since the record's start at the pulse end, mAh/g with a mass else mAh),
        ``delta_x`` (stoichiometry change since the start, −Q / (F n_m)), ``x``,
        ``voltage`` (relaxed, after the pulse) and ``voltage_before`` (V),
        ``delta_es``, ``delta_et``, ``ir_drop`` (V) with ``_stderr`` columns,
        ``slope_sqrt_t`` (V/s^0.5), ``r2``, ``nonlinearity``, ``relaxation_rate``
        (V/s, at the end of the rest after), ``tau_ratio`` (D τ / L²),
        ``expected_bias`` (of the formula at that ratio), ``diffusivity`` and
        ``diffusivity_stderr`` (cm²/s), ``quality`` and ``reasons`` (JSON).

    Raises
    ------
    ValidationError
        For inputs that are missing, non-positive or of the wrong unit.

    Examples
    --------
    >>> from ncmsurf.datasets.gitt import synthetic_gitt
    >>> rec = synthetic_gitt(diffusivity=1e-11, radius=2000.0, n_pulses=2, seed=3)   # spheres, τ = 600 s
    >>> tr = rec.meta["truth"]
    >>> wh = gitt(rec, molar_volume=tr["molar_volume"], area=tr["area_cm2"], molar_mass=tr["molar_mass"],
    ...           diffusion_length=2000.0)
    >>> wh.quality.level, wh.pulse_quality(1).codes   # Dτ/R² = 0.15: the formula fails for a sphere
    ('suspect', ['long_pulse', 'nonlinear_transient'])
    >>> (wh.diffusivity / 1e-11).round(2).tolist()
    [0.38, 0.38]
    >>> full = gitt(rec, molar_volume=tr["molar_volume"], area=tr["area_cm2"], molar_mass=tr["molar_mass"],
    ...             diffusion_length=2000.0, method="full")
    >>> full.quality.level, bool(np.all(np.abs(full.diffusivity / 1e-11 - 1) < 0.1))
    ('good', True)
    """
    if not isinstance(data, CyclingData):
        raise ValidationError(f"data: expected CyclingData, got {type(data).__name__}")
    if method not in GITT_METHODS:
        raise ValidationError(f"method: expected one of {GITT_METHODS}, got {method!r}")
    if geometry not in _GEOMETRIES:
        raise ValidationError(f"geometry: expected one of {_GEOMETRIES}, got {geometry!r}")
    vm = _positive(molar_volume, "cm**3/mol", "molar_volume")
    s_area = _positive(area, "cm**2", "area")
    n_m = _moles(data, moles=moles, mass=mass, molar_mass=molar_mass)
    w0, w1 = (float(fit_window[0]), float(fit_window[1]))
    if not 0.0 <= w0 < w1 <= 1.0:
        raise ValidationError(f"fit_window: expected 0 <= start < end <= 1 (shares of τ), got {fit_window}")
    if not 0 < relax_window <= 1:
        raise ValidationError(f"relax_window: must lie in (0, 1], got {relax_window}")
    rate_lim = magnitude(relaxation_rate, "V/s", name="relaxation_rate")
    ell = n_m * vm / s_area  # cm: V/S
    f = _mean_factor(geometry)
    length = (magnitude(diffusion_length, "nm", name="diffusion_length") * 1e-7 if diffusion_length is not None
              else f * ell)
    if not length > 0:
        raise ValidationError(f"diffusion_length: must be > 0 nm, got {diffusion_length}")
    length_source = "given" if diffusion_length is not None else (
        "3 n_m V_m / S (spheres)" if geometry == "sphere" else "n_m V_m / S (film)")
    steps = find_steps(data, rest_current=rest_current, level_tolerance=level_tolerance)
    sigma = noise_level(data, steps)
    t, v, cur = data.time, data.voltage, data.current
    q_cum = np.concatenate(([0.0], np.cumsum(0.5 * (cur[1:] + cur[:-1]) * np.diff(t))))  # C
    mass_g = data.mass if mass is None else magnitude(mass, "g", name="mass")
    cap_scale, cap_units = (1.0 / 3.6 / mass_g, "mAh/g") if mass_g else (1.0 / 3.6, "mAh")

    st = steps.state
    pulses: list[int] = []
    skipped = 0
    for k in range(steps.n):
        if st[k] == 0:
            continue
        prev_cur = k > 0 and st[k - 1] != 0
        next_cur = k + 1 < steps.n and st[k + 1] != 0
        if prev_cur or next_cur:
            skipped += 1  # next to another current step: part of a CC-CV or a sequence, not a titration pulse
            continue
        pulses.append(k)

    pulse_set = set(pulses)
    cols: dict[str, list[float]] = {name: [] for name in _COLUMNS}
    quals: list[Quality] = []
    for k in pulses:
        row, q = _one_pulse(k, steps, t, v, cur, q_cum, sigma=sigma, ell=ell, length=length, geometry=geometry,
                            method=method, window=(w0, w1), relax_window=relax_window, rate_lim=rate_lim,
                            max_bias=max_bias, max_nonlin=max_nonlinearity, cur_tol=current_tolerance,
                            relax_share=relax_share,
                            min_records=min_records, length_source=length_source,
                            check_before=(k - 2) not in pulse_set)
        row["capacity"] = row["charge"] * cap_scale
        row["delta_x"] = -row["charge"] / (FARADAY * n_m)
        row["x"] = (x0 + row["delta_x"]) if x0 is not None else math.nan
        for name in _COLUMNS:
            cols[name].append(float(row[name]))
        quals.append(q)
    n = len(pulses)
    overall = summarise_pulses(quals)
    names = [f"D_{i + 1}" for i in range(n)]
    dvals = np.asarray(cols["diffusivity"], float)
    dse = np.asarray(cols["diffusivity_stderr"], float)
    cov = np.diag(dse**2) if n else np.zeros((0, 0))
    units = {
        "start_time": "s", "tau": "s", "current": "A", "capacity": cap_units, "delta_x": "1", "x": "1",
        "voltage": "V", "voltage_before": "V", "delta_es": "V", "delta_es_stderr": "V", "delta_et": "V",
        "delta_et_stderr": "V", "ir_drop": "V", "slope_sqrt_t": "V/s**0.5", "slope_sqrt_t_stderr": "V/s**0.5",
        "r2": "1", "nonlinearity": "1", "relaxation_rate": "V/s", "tau_ratio": "1", "expected_bias": "1",
        "diffusivity": "cm**2/s", "diffusivity_stderr": "cm**2/s", "n_fit": "1",
    }
    data_vars: dict[str, Any] = {
        name: ("pulse", np.asarray(cols[name], float), {"units": units[name]}) for name in _COLUMNS
        if name != "charge"
    }
    data_vars["quality"] = ("pulse", np.array([q.level for q in quals], dtype=str).astype(object).astype(str))
    data_vars["reasons"] = ("pulse", np.array([quality_json(q) for q in quals], dtype=object).astype(str))
    message = f"{n} pulses analysed by {method}"
    if skipped:
        message += f"; {skipped} current steps next to another current step were not taken as pulses"
    attrs = {
        "method": method, "geometry": geometry, "diffusion_length_nm": length * 1e7,
        "diffusion_length_source": length_source, "volume_over_area_nm": ell * 1e7, "moles": n_m,
        "molar_volume": vm, "area": s_area, "fit_window": [w0, w1], "relax_window": float(relax_window),
        "relaxation_rate_threshold": rate_lim, "max_bias": float(max_bias),
        "max_nonlinearity": float(max_nonlinearity), "current_tolerance": float(current_tolerance),
        "voltage_noise": sigma if math.isfinite(sigma) else "unknown", "rest_current": steps.rest_current,
        "capacity_units": cap_units,
    }
    cites = ["weppner1977", "crank1975"] + (["kang2021"] if (method == "full" or geometry == "sphere") else [])
    return GITTResult.build(
        names=names, values=dvals, stderr=dse, covariance=cov, units=["cm**2/s"] * n, success=n > 0,
        message=message if n else "no GITT pulse (a current step with a rest before and after) was found",
        quality=overall, citations=cites, model=f"gitt/{method}/{geometry}", sample=data.sample,
        source={"source_file": str(data.meta.get("source_file", data.meta.get("source", "")))},
        data_vars=data_vars, coords={"pulse": ("pulse", np.arange(1, n + 1, dtype=np.int64))}, attrs=attrs)


_COLUMNS = ("start_time", "tau", "current", "charge", "capacity", "delta_x", "x", "voltage", "voltage_before",
            "delta_es", "delta_es_stderr", "delta_et", "delta_et_stderr", "ir_drop", "slope_sqrt_t",
            "slope_sqrt_t_stderr", "r2", "nonlinearity", "relaxation_rate", "tau_ratio", "expected_bias",
            "diffusivity", "diffusivity_stderr", "n_fit")


def _positive(value: Any, unit: str, name: str) -> float:
    if value is None:
        raise ValidationError(f"{name}: required ({unit})")
    x = magnitude(value, unit, name=name)
    if not (math.isfinite(x) and x > 0):
        raise ValidationError(f"{name}: must be a finite number > 0 {unit}, got {value}")
    return x


def _moles(data: CyclingData, *, moles: Any, mass: Any, molar_mass: Any) -> float:
    if moles is not None:
        n = _positive(moles, "mol", "moles")
        if molar_mass is not None and (mass is not None or data.mass is not None):
            m = _positive(mass if mass is not None else data.mass, "g", "mass")
            alt = m / _positive(molar_mass, "g/mol", "molar_mass")
            if abs(alt / n - 1.0) > 0.01:
                raise ValidationError(f"moles: {n:.6g} mol disagrees with mass / molar_mass = {alt:.6g} mol")
        return n
    if molar_mass is None:
        raise ValidationError("moles: give moles=, or molar_mass= (with mass= or the record's mass)")
    m_in = mass if mass is not None else data.mass
    if m_in is None:
        raise ValidationError("mass: the record has no mass; give mass= (g) or moles=")
    return _positive(m_in, "g", "mass") / _positive(molar_mass, "g/mol", "molar_mass")


def _one_pulse(k: int, steps: Any, t: np.ndarray, v: np.ndarray, cur: np.ndarray, q_cum: np.ndarray, *,
               sigma: float, ell: float, length: float, geometry: str, method: str, window: tuple[float, float],
               relax_window: float, rate_lim: float, max_bias: float, max_nonlin: float, cur_tol: float,
               relax_share: float,
               min_records: int, length_source: str, check_before: bool) -> tuple[dict[str, float], Quality]:
    nan = math.nan
    row: dict[str, float] = dict.fromkeys(_COLUMNS, nan)
    suspect: list[tuple[str, str]] = []
    failed: list[tuple[str, str]] = []
    rests: list[tuple[float, float, str]] = []
    i0, i1 = int(steps.start[k]), int(steps.stop[k])
    tp = t[i0:i1 + 1] - t[i0]
    vp = v[i0:i1 + 1]
    tau = float(tp[-1])
    row["start_time"] = float(t[i0])
    row["tau"] = tau
    row["current"] = float(steps.current[k])
    row["charge"] = float(q_cum[i1])
    spread = float(steps.spread[k])
    if math.isfinite(spread) and spread > cur_tol:
        suspect.append(("unsteady_current", f"the current varies by {100 * spread:.2g} % (relative standard "
                                            f"deviation; tolerance {100 * cur_tol:.2g} %)"))
    has_before = k > 0 and steps.state[k - 1] == 0
    has_after = k + 1 < steps.n and steps.state[k + 1] == 0
    e_b = se_b = e_a = se_a = nan
    if has_before:
        sl = steps.records(k - 1)
        e_b, se_b, slope_b, sse_b, _ = _rest_end(t[sl], v[sl], relax_window, sigma)
        if check_before:  # not already checked as the rest after the previous pulse
            rests.append((slope_b, sse_b, "before"))
    else:
        failed.append(("no_rest", "no rest before the pulse: no relaxed voltage to start ΔE_s from"))
    if has_after:
        sl = steps.records(k + 1)
        e_a, se_a, slope_a, sse_a, _ = _rest_end(t[sl], v[sl], relax_window, sigma)
        row["relaxation_rate"] = slope_a
        rests.append((slope_a, sse_a, "after"))
    else:
        failed.append(("no_rest", "no rest after the pulse: no relaxed voltage to end ΔE_s at"))
    row["voltage"], row["voltage_before"] = e_a, e_b
    des = e_a - e_b
    se_des = math.hypot(se_a, se_b)
    row["delta_es"], row["delta_es_stderr"] = des, se_des
    # the √t line over the fit window
    sel = (tp >= window[0] * tau) & (tp <= window[1] * tau)
    if window[0] > 0:
        sel &= tp > 0
    n_fit = int(sel.sum())
    row["n_fit"] = n_fit
    if n_fit < max(min_records, 3) or tau <= 0:
        failed.append(("coarse_sampling", f"{n_fit} records in the √t fit window of the pulse (at least "
                                          f"{max(min_records, 3)} needed)"))
        _relax_reasons(rests, rate_lim, relax_share, math.nan, des, suspect)
        return row, Quality.from_checks(suspect=suspect, failed=failed)
    s = np.sqrt(tp[sel])
    y = vp[sel]
    a, se_a0, b, se_bb = line_fit(s, y, at=0.0)
    resid = y - (a + b * s)
    ss_tot = float(((y - y.mean()) ** 2).sum())
    row["r2"] = 1.0 - float(resid @ resid) / ss_tot if ss_tot > 0 else nan
    row["slope_sqrt_t"], row["slope_sqrt_t_stderr"] = b, se_bb
    row["delta_et"], row["delta_et_stderr"] = b * math.sqrt(tau), se_bb * math.sqrt(tau)
    row["ir_drop"] = a - e_b
    c2, se_c2 = _quadratic_curvature(s, y)
    span = float(s.max() - s.min())
    nonlin = abs(2.0 * c2 * span / b) if (math.isfinite(c2) and b != 0) else nan
    # the change that the noise cannot explain: the curvature less two of its standard errors
    nonlin_low = max(abs(c2) - 2.0 * se_c2, 0.0) * 2.0 * span / abs(b) if math.isfinite(nonlin) else nan
    row["nonlinearity"] = nonlin
    if failed:
        _relax_reasons(rests, rate_lim, relax_share, math.nan, des, suspect)
        return row, Quality.from_checks(suspect=suspect, failed=failed)
    det = row["delta_et"]
    if not (des * det > 0):
        failed.append(("not_resolved", f"ΔE_s = {1e3 * des:.3g} mV and ΔE_t = {1e3 * det:.3g} mV do not have the "
                                       "same sign: the pulse does not follow the titration model"))
        _relax_reasons(rests, rate_lim, relax_share, math.nan, des, suspect)
        return row, Quality.from_checks(suspect=suspect, failed=failed)
    d_wh, se_wh = propagate_one(lambda p: 4.0 * ell**2 * p[0] ** 2 / (math.pi * tau**2 * p[1] ** 2), [des, b],
                                np.diag([se_des**2 if math.isfinite(se_des) else nan, se_bb**2]))
    if method == "weppner-huggins":
        d, se = d_wh, se_wh
        ratio = d * tau / length**2
        row["tau_ratio"] = ratio
        bias, true_ratio = _bias_and_ratio(ratio, geometry, window, True)
        row["expected_bias"] = bias
        if math.isfinite(bias) and abs(bias) > max_bias:
            way = "under" if bias < 0 else "over"
            suspect.append(("long_pulse", f"τ = {tau:.4g} s is not ≪ L²/D (Dτ/L² ≈ {true_ratio:.2g}, {ratio:.2g} "
                                          f"with the formula's own D; L = {length * 1e7:.4g} nm, {length_source}): "
                                          f"for a {geometry} the formula is expected to {way}estimate D by about "
                                          f"{100 * abs(bias):.0f} % (tolerance {100 * max_bias:.0f} %); "
                                          "method='full' fits the exact solution"))
        if math.isfinite(nonlin_low) and nonlin_low > max_nonlin:
            suspect.append(("nonlinear_transient", f"E is not linear in √t during the pulse: dE/d√t changes by "
                                                   f"{100 * nonlin:.2g} % across the fit window (tolerance "
                                                   f"{100 * max_nonlin:.2g} %; R² = {row['r2']:.4f})"))
    else:
        d0 = d_wh if (math.isfinite(d_wh) and d_wh > 0) else 1e-11
        tt = tp[sel]
        d, se_fit, a_full, res, ok, msg = _full_fit(tt, y, tau=tau, des=des, length=length, geometry=geometry,
                                                    d0=d0, sigma=sigma)
        if not ok:
            failed.append(("not_converged", f"the {geometry} diffusion fit did not converge ({msg})"))
        # ΔE_s enters the model: its error adds to the fit's (derivative by refitting at ΔE_s ± 0.1 %)
        se = nan
        if math.isfinite(se_des) and ok:
            h = 1e-3 * abs(des)
            d_up = _full_fit(tt, y, tau=tau, des=des + h, length=length, geometry=geometry, d0=d, sigma=sigma)[0]
            d_dn = _full_fit(tt, y, tau=tau, des=des - h, length=length, geometry=geometry, d0=d, sigma=sigma)[0]
            dd = (d_up - d_dn) / (2 * h)
            se = math.sqrt(se_fit**2 + (dd * se_des) ** 2)
        row["ir_drop"] = a_full - e_b
        row["tau_ratio"] = d * tau / length**2
        row["expected_bias"] = weppner_huggins_bias(row["tau_ratio"], geometry, fit_window=window)
        suspect.extend(check_runs(res, what=f"{geometry} diffusion fit residual"))
        if diffusion_length_mismatch(ell, length, geometry):
            suspect.append(("input", f"the diffusion length {length * 1e7:.4g} nm and n_m V_m / S = "
                                     f"{ell * 1e7:.4g} nm do not describe the same {geometry} "
                                     f"(expected L = {_mean_factor(geometry):g} n_m V_m / S within a factor 2)"))
    row["diffusivity"], row["diffusivity_stderr"] = d, se
    t_relax = length**2 / (_FIRST_MODE[geometry] * d) if (math.isfinite(d) and d > 0) else math.nan
    _relax_reasons(rests, rate_lim, relax_share, t_relax, des, suspect)
    suspect.extend(check_identifiable(["D"], [d], [se]))
    return row, Quality.from_checks(suspect=suspect, failed=failed)


def diffusion_length_mismatch(ell: float, length: float, geometry: str) -> bool:
    """Whether a given diffusion length and V/S disagree by more than a factor 2 for the geometry."""
    implied = _mean_factor(geometry) * ell
    return not (0.5 <= length / implied <= 2.0)


def _relax_reasons(rests: list[tuple[float, float, str]], limit: float, share: float, t_relax: float, des: float,
                   out: list[tuple[str, str]]) -> None:
    """``not_relaxed`` reasons: |dE/dt| above ``limit``, or the drift still to come above ``share`` of ΔE_s."""
    for slope, se, where in rests:
        if not math.isfinite(slope):
            out.append(("not_relaxed", f"the relaxation of the rest {where} the pulse cannot be checked "
                                       "(fewer than three records)"))
            continue
        if math.isfinite(se) and abs(slope) <= 3 * se:
            continue  # no drift the noise can tell from zero
        to_come = abs(slope) * t_relax if math.isfinite(t_relax) else math.nan
        if abs(slope) > limit:
            out.append(("not_relaxed", f"dE/dt = {slope * 3.6e6:.3g} mV/h at the end of the rest {where} the pulse "
                                       f"(threshold {limit * 3.6e6:.3g} mV/h)"))
        elif math.isfinite(to_come) and math.isfinite(des) and to_come > share * abs(des):
            out.append(("not_relaxed", f"dE/dt = {slope * 3.6e6:.3g} mV/h at the end of the rest {where} the pulse: "
                                       f"over the relaxation time L²/(α₁²D) = {t_relax:.3g} s about "
                                       f"{1e3 * to_come:.2g} mV are still to come, {100 * to_come / abs(des):.2g} % "
                                       f"of ΔE_s (tolerance {100 * share:.2g} %)"))
