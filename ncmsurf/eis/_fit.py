"""Bounded, weighted least-squares fitting of compiled equivalent circuits.

Positive parameters without an upper bound are fitted as their logarithm
(scale-free steps across ohms, farads and seconds); bounded ones (CPE
exponents) directly. The residual is the complex misfit divided by a weight:
``"unity"`` (1), ``"modulus"`` (|Z|) or ``"proportional"`` (|Z′| for the real
and |Z″| for the imaginary part). The Levenberg–Marquardt solver (MINPACK)
uses the circuit's generated analytic Jacobian where available. When the fit
from the automatic guess is poor, seeded multi-start fits from perturbed
starts are tried and the best kept.

``solver="impedance.py"`` instead repeats what impedance.py's
``CustomCircuit.fit`` does (``scipy.optimize.curve_fit``: trust-region
reflective on the raw parameters, forward-difference Jacobian, unit step
scaling, ``ftol=1e-13``, ``xtol = gtol = 1e-8``, impedance.py's default
bounds, residuals stacked as all real parts then all imaginary parts, one
start). Its stopping rule may end a little before the minimum; it is there to
reproduce results published from impedance.py.

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> from ncmsurf.eis._circuits import compile_circuit
>>> f = np.logspace(4, -1, 30)
>>> z = compile_circuit("R0-p(R1,C1)")([5.0, 20.0, 1e-4], f)
>>> fit = fit_circuit(ImpedanceSpectrum(f, z), "R0-p(R1,C1)")
>>> fit.success, round(fit.params["R1"], 6)
(True, 20.0)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares, leastsq

from ncmsurf.core.errors import FitError, NcmsurfWarning
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import register_citation
from ncmsurf.core.units import magnitude
from ncmsurf.eis._circuits import CompiledCircuit, compile_circuit, element_type, parse_circuit, resolve_circuit
from ncmsurf.eis._guess import initial_guess as _auto_guess

__all__ = ["SOLVERS", "WEIGHTINGS", "CircuitFit", "EISFitWarning", "check_spectrum", "fit_circuit"]

WEIGHTINGS = ("unity", "modulus", "proportional")
#: ``"lm"``: ncmsurf's solver (to the minimum). ``"impedance.py"``: impedance.py's ``CustomCircuit.fit``, step for step.
SOLVERS = ("lm", "impedance.py")
#: A fit whose relative RMS residual exceeds this is "poor": multi-start is tried.
POOR_FIT = 0.02
#: Multi-start stops after this many starts in a row without a 0.1 % lower chi-square.
MULTISTART_PATIENCE = 8


register_citation(
    "murbach2020",
    "M. D. Murbach, B. Gerwe, N. Dawson-Elli, L. Tsui, impedance.py: A Python package for electrochemical "
    "impedance analysis, J. Open Source Softw. 5(52), 2349 (2020), doi:10.21105/joss.02349",
)


class EISFitWarning(NcmsurfWarning):
    """An impedance fit is questionable (parameter at a bound, unidentifiable, poor)."""


def check_spectrum(spectrum: Any) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and impedance of a spectrum after the checks every analysis needs.

    Raises
    ------
    FitError
        Not an ImpedanceSpectrum, fewer than 3 points or an all-zero impedance.
    """
    if not isinstance(spectrum, ImpedanceSpectrum):
        raise FitError(f"spectrum: expected an ImpedanceSpectrum, got {type(spectrum).__name__}")
    f, z = spectrum.frequency, spectrum.impedance
    if f.size < 3:
        raise FitError(f"spectrum: {f.size} point(s); at least 3 frequencies are needed")
    if not np.any(z != 0):
        raise FitError("spectrum: the impedance is zero at every frequency (no signal)")
    zero = np.flatnonzero(np.abs(z) == 0)
    if zero.size:
        raise FitError(f"spectrum: |Z| = 0 at frequency {f[zero[0]]} Hz (index {zero[0]}); cannot weight it")
    return f, z


_UNIT = {"Ohm": "ohm", "F": "farad", "H": "henry", "sec": "s", "": "dimensionless"}


def _constant_value(circuit: str, name: str, value: Any) -> float:
    """A constant as a float; a Quantity is converted to the element's unit."""
    if isinstance(value, (int, float, np.floating, np.integer)):
        return float(value)
    c = compile_circuit(circuit)
    unit = c.units[c.param_names.index(name)] if name in c.param_names else None
    if unit is None and name in c.element_names:
        unit = c.units[c.param_names.index(name + "_0")] if name + "_0" in c.param_names else None
    target = _UNIT.get(unit or "")
    if target is None:
        raise FitError(f"constants[{name!r}]: give a plain number in impedance.py units ({unit})")
    return magnitude(value, target, name=f"constants[{name!r}]")


def _weights(z: np.ndarray, weighting: str) -> tuple[np.ndarray, np.ndarray]:
    if weighting == "unity":
        one = np.ones(z.size)
        return one, one
    mod = np.abs(z)
    if weighting == "modulus":
        return mod, mod
    if weighting == "proportional":
        floor = 1e-3 * mod
        return np.maximum(np.abs(z.real), floor), np.maximum(np.abs(z.imag), floor)
    raise FitError(f"weighting: must be one of {WEIGHTINGS}, got {weighting!r}")


@dataclass(frozen=True, eq=False)
class CircuitFit:
    """Result of :func:`ncmsurf.eis.fit`.

    Attributes
    ----------
    circuit : str
        impedance.py circuit string.
    params : dict
        Fitted values keyed by impedance.py names (``R0``, ``CPE1_0``, ...),
        constants included.
    stderr : dict
        One-sigma standard errors (NaN where not identifiable, 0 for constants).
    covariance : numpy.ndarray
        Covariance of the free parameters, in :attr:`free_names` order.
    free_names : tuple of str
    success : bool
    message : str
    chi2 : float
        Weighted sum of squared residuals (real and imaginary parts).
    aic, bic : float
        Akaike and Bayesian information criteria, ``N ln(chi2/N) + k·{2, ln N}``
        with N = 2 × points and k free parameters.
    weighting : str
    names : dict
        impedance.py name → physical name for presets.
    warnings : list of str
    initial_guess : dict
        Start values used (after multi-start, the winning start).
    frequency, impedance : numpy.ndarray
        The fitted data.
    nfev : int
        Residual evaluations over all starts.
    n_starts : int
        Starts tried.
    constants : dict
        Fixed parameters.
    units : str
        Impedance units of the data (``"ohm * cm ** 2"`` for area-normalised
        spectra: resistances are then area-specific, capacitances per cm²).
    solver : str
        ``"lm"`` or ``"impedance.py"`` (see :func:`ncmsurf.eis.fit`).
    """

    circuit: str
    params: dict[str, float]
    stderr: dict[str, float]
    covariance: np.ndarray
    free_names: tuple[str, ...]
    success: bool
    message: str
    chi2: float
    aic: float
    bic: float
    weighting: str
    names: dict[str, str]
    warnings: list[str]
    initial_guess: dict[str, float]
    frequency: np.ndarray
    impedance: np.ndarray
    nfev: int = 0
    n_starts: int = 1
    constants: dict[str, float] = field(default_factory=dict)
    units: str = "ohm"
    solver: str = "lm"

    #: Keys for :func:`ncmsurf.core.results.citations` (circuit syntax and element definitions).
    citations = ("murbach2020",)

    # ------------------------------------------------------------- derived
    @property
    def named(self) -> dict[str, float]:
        """Parameters under their physical names (presets), else impedance.py names."""
        return {self.names.get(k, k): v for k, v in self.params.items()}

    @property
    def named_stderr(self) -> dict[str, float]:
        """Standard errors under the physical names."""
        return {self.names.get(k, k): v for k, v in self.stderr.items()}

    @property
    def correlation(self) -> np.ndarray:
        """Correlation matrix of the free parameters."""
        cov = self.covariance
        with np.errstate(invalid="ignore", divide="ignore"):
            d = np.sqrt(np.diag(cov))
            return cov / np.outer(d, d)  # type: ignore[no-any-return]

    @property
    def n_points(self) -> int:
        """Number of frequencies fitted."""
        return int(self.frequency.size)

    @property
    def chi2_reduced(self) -> float:
        """chi2 / (2N − k)."""
        dof = 2 * self.n_points - len(self.free_names)
        return self.chi2 / dof if dof > 0 else math.nan

    @property
    def relative_residual(self) -> float:
        """RMS of |Z − Ẑ| / |Z| over the points (a weighting-independent quality figure)."""
        zf = self.predict(self.frequency)
        return float(np.sqrt(np.mean(np.abs(self.impedance - zf) ** 2 / np.abs(self.impedance) ** 2)))

    @property
    def status(self) -> Any:
        """:class:`~ncmsurf.core.results.FitStatus` (falsy on failure)."""
        from ncmsurf.core.results import FitStatus

        return FitStatus(self.success, self.message)

    def __bool__(self) -> bool:
        return self.success

    def predict(self, frequency: Any) -> np.ndarray:
        """Model impedance (complex, ohm) at ``frequency`` (Hz or a Quantity)."""
        from ncmsurf.core.units import array_magnitude

        f = np.atleast_1d(array_magnitude(frequency, "Hz", name="frequency"))
        c = compile_circuit(self.circuit)
        return c([self.params[n] for n in c.param_names], f)

    def residuals(self) -> np.ndarray:
        """Complex relative residuals (Z − Ẑ)/|Z| at the fitted frequencies."""
        return (self.impedance - self.predict(self.frequency)) / np.abs(self.impedance)  # type: ignore[no-any-return]

    def effective_capacitance(self, formula: str = "hsu-mansfeld") -> dict[str, tuple[float, float]]:
        """Effective capacitance of every CPE, with its standard error.

        A CPE's prefactor Q (F·s^(α−1)) is strongly correlated with its
        exponent α (δ ln Q ≈ −ln ω_c · δα at the arc's apex frequency ω_c), so
        Q alone is imprecise; the effective capacitance is not, and it is the
        quantity that converts to a film thickness (d = ε ε₀ A / C).

        Parameters
        ----------
        formula : {"hsu-mansfeld", "brug"}
            ``"hsu-mansfeld"`` (normal time-constant distribution, a film):
            C = Q^(1/α) R^((1−α)/α) with R the resistor in parallel with the
            CPE. ``"brug"`` (surface distribution, a double layer):
            C = Q^(1/α) (1/R_s + 1/R)^((α−1)/α) with R_s the series
            resistance (the resistors in series at the top level) and R the
            parallel one (omitted for a blocking CPE).

        Returns
        -------
        dict
            CPE element name → (C in F, or F/cm² for an area-normalised fit;
            its standard error by the delta method over the covariance).
            Where the formula needs a resistor the circuit lacks, (nan, nan).

        Examples
        --------
        >>> import ncmsurf as ns
        >>> from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum
        >>> fit = ns.eis.fit(synthetic_spectrum("ncm", NCM_TRUTH, noise=0.0), "ncm")
        >>> c, se = fit.effective_capacitance()["CPE1"]
        >>> round(c * 1e6, 3)  # µF: (2e-5 · 25^0.15)^(1/0.85)
        5.23
        """
        if formula not in ("hsu-mansfeld", "brug"):
            raise FitError(f"formula: must be 'hsu-mansfeld' or 'brug', got {formula!r}")
        tree = parse_circuit(self.circuit)
        top = [n[1] for n in tree[1] if n[0] == "e" and element_type(n[1]) == "R"]
        pairs: dict[str, str | None] = {}

        def walk(node: tuple[str, Any]) -> None:
            kind, body = node
            if kind == "e":
                return
            if kind == "p":
                cpes = [n[1] for n in body if n[0] == "e" and element_type(n[1]) == "CPE"]
                others = [n for n in body if not (n[0] == "e" and element_type(n[1]) == "CPE")]
                for cpe in cpes:
                    rs: list[str] = []
                    for n in others:
                        if n[0] == "e" and element_type(n[1]) == "R":
                            rs.append(n[1])
                        elif n[0] == "s":
                            rs.extend(m[1] for m in n[1] if m[0] == "e" and element_type(m[1]) == "R")
                    pairs[cpe] = rs[0] if len(others) == 1 and len(rs) == 1 else None
            for n in body:
                walk(n)
            if kind == "s":
                for n in body:
                    if n[0] == "e" and element_type(n[1]) == "CPE" and n[1] not in pairs:
                        pairs[n[1]] = None  # a blocking CPE in series

        walk(tree)
        free = list(self.free_names)
        cov = np.asarray(self.covariance, float)

        def value(p: Mapping[str, float], cpe: str, r: str | None) -> float:
            q, a = p[f"{cpe}_0"], p[f"{cpe}_1"]
            if formula == "hsu-mansfeld":
                if r is None:
                    return math.nan
                return float((q * p[r] ** (1 - a)) ** (1 / a))
            if not top:
                return math.nan
            g = 1.0 / sum(p[t] for t in top) + (1.0 / p[r] if r is not None else 0.0)
            return float(q ** (1 / a) * g ** ((a - 1) / a))

        out: dict[str, tuple[float, float]] = {}
        for cpe, r in pairs.items():
            v = value(self.params, cpe, r)
            if not math.isfinite(v):
                out[cpe] = (math.nan, math.nan)
                continue
            grad = np.zeros(len(free))
            for i, name in enumerate(free):
                h = 1e-6 * max(abs(self.params[name]), 1e-300)
                up, dn = dict(self.params), dict(self.params)
                up[name] += h
                dn[name] -= h
                grad[i] = (value(up, cpe, r) - value(dn, cpe, r)) / (2 * h)
            var = float(grad @ cov @ grad) if np.all(np.isfinite(cov)) else math.nan
            out[cpe] = (v, math.sqrt(var) if var >= 0 else math.nan)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CircuitFit):
            return NotImplemented
        return self.to_dataset().identical(other.to_dataset())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        vals = ", ".join(f"{k}={v:.4g}" for k, v in self.named.items())
        return f"CircuitFit({self.circuit!r}, success={self.success}, {vals})"

    # ---------------------------------------------------------------- I/O
    def to_dataset(self) -> xr.Dataset:
        """Storable form (see :func:`ncmsurf.save`)."""
        names = list(self.params)
        ds = xr.Dataset(
            {
                "value": ("param", np.array([self.params[n] for n in names], float)),
                "stderr": ("param", np.array([self.stderr[n] for n in names], float)),
                "covariance": (("free", "free_2"), np.asarray(self.covariance, float)),
                "impedance": ("frequency", np.asarray(self.impedance, complex)),
                "initial": ("free", np.array([self.initial_guess[n] for n in self.free_names], float)),
            },
            coords={"param": names, "free": list(self.free_names), "free_2": list(self.free_names),
                    "frequency": np.asarray(self.frequency, float)},
            attrs={"circuit": self.circuit, "success": bool(self.success), "message": self.message,
                   "chi2": float(self.chi2), "aic": float(self.aic), "bic": float(self.bic),
                   "weighting": self.weighting, "names": dict(self.names), "warnings": list(self.warnings),
                   "nfev": int(self.nfev), "n_starts": int(self.n_starts), "constants": dict(self.constants),
                   "units": self.units, "solver": self.solver},
        )
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> CircuitFit:
        """Rebuild from :meth:`to_dataset` output."""
        a = ds.attrs
        names = [str(n) for n in ds["param"].values]
        free = tuple(str(n) for n in ds["free"].values)
        return cls(
            circuit=str(a["circuit"]),
            params={n: float(v) for n, v in zip(names, ds["value"].values, strict=True)},
            stderr={n: float(v) for n, v in zip(names, ds["stderr"].values, strict=True)},
            covariance=np.asarray(ds["covariance"].values, float),
            free_names=free,
            success=bool(a["success"]), message=str(a["message"]), chi2=float(a["chi2"]),
            aic=float(a["aic"]), bic=float(a["bic"]), weighting=str(a["weighting"]),
            names=dict(a.get("names", {})), warnings=list(a.get("warnings", [])),
            initial_guess={n: float(v) for n, v in zip(free, ds["initial"].values, strict=True)},
            frequency=np.asarray(ds["frequency"].values, float), impedance=np.asarray(ds["impedance"].values, complex),
            nfev=int(a.get("nfev", 0)), n_starts=int(a.get("n_starts", 1)), constants=dict(a.get("constants", {})),
            units=str(a.get("units", "ohm")), solver=str(a.get("solver", "lm")),
        )

    # --------------------------------------------------------------- plot
    def plot(self, ax: Any = None, kind: str = "nyquist", **kw: Any) -> Any:
        """Data and fitted curve: ``kind="nyquist"`` (−Z″ against Z′) or ``"bode"`` (|Z| and phase)."""
        from ncmsurf.core._plot import get_axes

        ax = get_axes(ax)
        fd = np.logspace(np.log10(self.frequency.min()), np.log10(self.frequency.max()), 200)
        zf = self.predict(fd)
        z = self.impedance
        if kind == "nyquist":
            ax.plot(z.real, -z.imag, "o", ms=3, label="data", **kw)
            ax.plot(zf.real, -zf.imag, "-", label=f"fit {self.circuit}")
            ax.set_xlabel("Z′ / Ω")
            ax.set_ylabel("−Z″ / Ω")
            ax.set_aspect("equal", adjustable="datalim")
        elif kind == "bode":
            ax.loglog(self.frequency, np.abs(z), "o", ms=3, label="|Z| data", **kw)
            ax.loglog(fd, np.abs(zf), "-", label="|Z| fit")
            ax.set_xlabel("f / Hz")
            ax.set_ylabel("|Z| / Ω")
            ax2 = ax.twinx()
            ax2.semilogx(self.frequency, -np.degrees(np.angle(z)), "s", ms=3, color="C2")
            ax2.semilogx(fd, -np.degrees(np.angle(zf)), "--", color="C3")
            ax2.set_ylabel("−phase / °")
        else:
            raise FitError(f"kind: must be 'nyquist' or 'bode', got {kind!r}")
        ax.legend()
        return ax


class _Transform:
    """Map bounded parameters to an unbounded space (log, shifted log, logistic) and back."""

    def __init__(self, lower: np.ndarray, upper: np.ndarray) -> None:
        self.lower, self.upper = lower, upper
        fin_lo, fin_hi = np.isfinite(lower), np.isfinite(upper)
        self.log = fin_lo & ~fin_hi
        self.logistic = fin_lo & fin_hi
        self.neglog = ~fin_lo & fin_hi
        self.width = np.where(self.logistic, upper - lower, 1.0)

    def to_x(self, p: np.ndarray) -> np.ndarray:
        x = np.array(p, dtype=float)
        lo, hi = self.lower, self.upper
        with np.errstate(all="ignore"):
            d = np.maximum(p - lo, 1e-300 * np.maximum(np.abs(lo), 1.0))
            x[self.log] = np.log(d)[self.log]
            u = np.clip((p - lo) / self.width, 1e-12, 1 - 1e-12)
            x[self.logistic] = np.log(u / (1 - u))[self.logistic]
            x[self.neglog] = np.log(np.maximum(hi - p, 1e-300))[self.neglog]
        return x

    def to_p(self, x: np.ndarray) -> np.ndarray:
        """Parameters from unbounded values; ``x`` may be (k,) or (k, m)."""
        if self.all_log:
            return self.lower_col(x.ndim) + np.exp(x)  # type: ignore[no-any-return]
        p = np.array(x, dtype=float)
        shape = (-1, *([1] * (p.ndim - 1)))
        lo, hi = self.lower, self.upper
        sel = self.log
        if sel.any():
            p[sel] = lo[sel].reshape(shape) + np.exp(x[sel])
        sel = self.logistic
        if sel.any():
            p[sel] = lo[sel].reshape(shape) + self.width[sel].reshape(shape) / (1 + np.exp(-x[sel]))
        sel = self.neglog
        if sel.any():
            p[sel] = hi[sel].reshape(shape) - np.exp(x[sel])
        return p

    def dpdx(self, p: np.ndarray) -> np.ndarray:
        """Derivative of the parameters with respect to the unbounded values, at parameters ``p``."""
        out = np.ones_like(p)
        lo, hi = self.lower, self.upper
        out[self.log] = (p - lo)[self.log]
        out[self.logistic] = ((p - lo) * (hi - p) / self.width)[self.logistic]
        out[self.neglog] = -(hi - p)[self.neglog]
        return out

    @property
    def all_log(self) -> bool:
        """Every parameter is on the shifted-log scale."""
        return bool(self.log.all())

    def lower_col(self, ndim: int) -> np.ndarray:
        """Lower bounds shaped to broadcast against (k,) or (k, m) arrays."""
        return self.lower if ndim == 1 else self.lower[:, None]


def _solve(c: CompiledCircuit, w: np.ndarray, z: np.ndarray, wr: np.ndarray, wi: np.ndarray, p0: np.ndarray,
           lower: np.ndarray, upper: np.ndarray, max_nfev: int) -> Any:
    tr = _Transform(lower, upper)
    func = c.func
    k = p0.size
    n = z.size

    # residuals interleaved (Re, Im) per point: order is irrelevant to least squares
    iw = np.empty(2 * n)
    iw[0::2], iw[1::2] = 1.0 / wr, 1.0 / wi
    zc = np.ascontiguousarray(z, dtype=complex)

    def resid(x: np.ndarray) -> np.ndarray:
        zm = func(tr.to_p(x), w)
        r = (np.ascontiguousarray(zm - zc)).view(np.float64) * iw
        if not np.isfinite(r).all():
            r[~np.isfinite(r)] = 1e150
        return r  # type: ignore[no-any-return]

    eye = np.eye(k)
    analytic = c.jac_func

    def jac_analytic(x: np.ndarray) -> np.ndarray:
        p = tr.to_p(x)
        assert analytic is not None
        _, dz = analytic(p, w)
        d = np.ascontiguousarray(dz * tr.dpdx(p)[:, None])
        out = (d.view(np.float64) * iw).T
        if not np.isfinite(out).all():
            out[~np.isfinite(out)] = 0.0
        return out  # type: ignore[no-any-return]

    def jac(x: np.ndarray) -> np.ndarray:
        # forward differences, all k+1 parameter sets in one vectorised evaluation
        h = 1.5e-8 * np.maximum(np.abs(x), 1.0)
        xs = np.concatenate((x[:, None], x[:, None] + eye * h), axis=1)  # (k, k+1)
        zm = func(tr.to_p(xs)[:, :, None], w)  # (k+1, n)
        d = np.ascontiguousarray((zm[1:] - zm[0]) / h[:, None])
        out = (d.view(np.float64) * iw).T
        if not np.isfinite(out).all():
            out[~np.isfinite(out)] = 0.0
        return out  # type: ignore[no-any-return]

    x0 = tr.to_x(p0)
    jfun = jac if analytic is None else jac_analytic
    res: Any
    with np.errstate(all="ignore"):
        if 2 * n >= k:
            # MINPACK lmder directly (scipy.optimize.leastsq): least overhead per iteration;
            # diag=None scales the steps by the Jacobian column norms
            x, _, info, msg, ier = leastsq(resid, x0, Dfun=jfun, full_output=True, ftol=1e-11, xtol=1e-11,
                                           gtol=1e-11, maxfev=max_nfev)
            r = info["fvec"]
            res = SimpleNamespace(x=x, cost=0.5 * float(r @ r), nfev=int(info["nfev"]), message=str(msg),
                                 status=int(ier) if ier in (1, 2, 3, 4) else (0 if ier == 5 else -1))
        else:
            res = least_squares(resid, x0, jac=jfun, method="trf", x_scale="jac", ftol=1e-11, xtol=1e-11,
                                gtol=1e-11, max_nfev=max_nfev)
    with np.errstate(all="ignore"):
        res.p = tr.to_p(res.x)
    res.logp = tr.log  # type: ignore[attr-defined]
    return res


def _impedance_py_bounds(c: CompiledCircuit) -> tuple[np.ndarray, np.ndarray]:
    """impedance.py's ``set_default_bounds``: [0, inf) except CPE and La exponents, [0, 1]."""
    upper = np.full(len(c.param_names), np.inf)
    for i, name in enumerate(c.param_names):
        elem, _, idx = name.rpartition("_")
        if element_type(elem) in ("CPE", "La") and idx == "1":
            upper[i] = 1.0
    return np.zeros(len(c.param_names)), upper


def _solve_impedance_py(c: CompiledCircuit, w: np.ndarray, z: np.ndarray, wr: np.ndarray, wi: np.ndarray,
                        p0: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> Any:
    """What ``scipy.optimize.curve_fit`` does for impedance.py's ``circuit_fit`` (bounded, so trf)."""
    y = np.concatenate((z.real, z.imag))
    inv = 1.0 / np.concatenate((wr, wi))
    weighted = not np.all(inv == 1.0)
    func = c.func

    def resid(p: np.ndarray) -> np.ndarray:
        zm = func(p, w)
        r = np.concatenate((zm.real, zm.imag)) - y
        return r * inv if weighted else r  # type: ignore[no-any-return]

    res: Any
    with np.errstate(all="ignore"):
        try:
            res = least_squares(resid, p0, jac="2-point", bounds=(lower, upper), method="trf", x_scale=1.0,
                                ftol=1e-13, xtol=1e-8, gtol=1e-8, max_nfev=100_000)
        except ValueError as exc:  # non-finite residuals at the start
            return SimpleNamespace(x=p0, p=p0, cost=math.inf, nfev=1, message=str(exc), status=-1,
                                   logp=np.zeros(p0.size, bool))
    res.p = res.x
    res.logp = np.zeros(p0.size, bool)
    return res


def _covariance(c: CompiledCircuit, w: np.ndarray, z: np.ndarray, wr: np.ndarray, wi: np.ndarray,
                p: np.ndarray, chi2: float) -> tuple[np.ndarray, bool]:
    """Covariance from a central-difference Jacobian in parameter space."""
    n, k = 2 * z.size, p.size
    jac = np.empty((n, k))
    for i in range(k):
        h = 1e-6 * max(abs(p[i]), 1e-300)
        pp, pm = p.copy(), p.copy()
        pp[i] += h
        pm[i] -= h
        with np.errstate(all="ignore"):
            d = (c.func(pp, w) - c.func(pm, w)) / (2 * h)
        jac[:, i] = np.concatenate((d.real / wr, d.imag / wi))
    dof = max(n - k, 1)
    s2 = chi2 / dof
    # scale columns for conditioning, then pseudo-invert
    colscale = np.linalg.norm(jac, axis=0)
    colscale[colscale == 0] = 1.0
    js = jac / colscale
    u, sv, vt = np.linalg.svd(js, full_matrices=False)
    singular = not np.isfinite(sv).all() or sv.size == 0 or sv[-1] <= 1e-7 * sv[0]
    if not np.isfinite(sv).all():
        return np.full((k, k), np.nan), True
    with np.errstate(divide="ignore", over="ignore"):
        inv_s2 = np.where(sv > 1e-12 * sv[0], 1.0 / sv**2, 0.0)
    cov_s = (vt.T * inv_s2) @ vt
    cov = cov_s / np.outer(colscale, colscale) * s2
    if singular:
        bad = np.abs(vt[-1]) > 0.3
        cov[bad, :] = np.nan
        cov[:, bad] = np.nan
    return cov, bool(singular)


def fit_circuit(
    spectrum: ImpedanceSpectrum,
    circuit: Any = "ncm",
    *,
    initial_guess: Sequence[float] | Mapping[str, float] | None = None,
    weighting: str = "modulus",
    constants: Mapping[str, Any] | None = None,
    bounds: Mapping[str, tuple[float, float]] | None = None,
    multistart: int = 12,
    seed: int = 0,
    max_nfev: int = 4000,
    fmin: Any = None,
    fmax: Any = None,
    capacitive_only: bool = False,
    warn: bool = False,
    solver: str = "lm",
) -> CircuitFit:
    """Fit ``circuit`` to ``spectrum`` (implementation of :func:`ncmsurf.eis.fit`)."""
    if solver not in SOLVERS:
        raise FitError(f"solver: must be one of {SOLVERS}, got {solver!r}")
    circuit_str, names, cc_guess, cc_consts = resolve_circuit(circuit)
    consts = dict(cc_consts)
    consts.update({str(k): _constant_value(circuit_str, str(k), v) for k, v in (constants or {}).items()})
    if initial_guess is None and cc_guess is not None:
        initial_guess = cc_guess
    f, z = check_spectrum(spectrum)
    keep = np.ones(f.size, bool)
    if fmin is not None:
        keep &= f >= magnitude(fmin, "Hz", name="fmin")
    if fmax is not None:
        keep &= f <= magnitude(fmax, "Hz", name="fmax")
    if capacitive_only:
        keep &= (z.imag < 0) & (z.real > 0)
    f, z = f[keep], z[keep]
    if f.size < 3:
        raise FitError(f"spectrum: {f.size} point(s) left after fmin/fmax/capacitive_only; at least 3 are needed")
    if weighting not in WEIGHTINGS:
        raise FitError(f"weighting: must be one of {WEIGHTINGS}, got {weighting!r}")
    c = compile_circuit(circuit_str, consts)
    k = len(c.param_names)
    if k == 0:
        raise FitError(f"circuit {circuit_str!r}: every parameter is a constant; nothing to fit")
    if 2 * f.size < k:
        raise FitError(f"spectrum: {f.size} points ({2 * f.size} real values) cannot determine {k} parameters")
    lower, upper = (c.lower.copy(), c.upper.copy()) if solver == "lm" else _impedance_py_bounds(c)
    for name, (lo, hi) in (bounds or {}).items():
        if name not in c.param_names:
            raise FitError(f"bounds: {name!r} is not a free parameter of {circuit_str!r} ({list(c.param_names)})")
        i = c.param_names.index(name)
        lower[i], upper[i] = float(lo), float(hi)
    user_guess = initial_guess is not None
    if initial_guess is None:
        p0 = _auto_guess(c, f, z)
    elif isinstance(initial_guess, Mapping):
        p0 = _auto_guess(c, f, z)
        for name, v in initial_guess.items():
            if name not in c.param_names:
                raise FitError(f"initial_guess: {name!r} is not a free parameter ({list(c.param_names)})")
            p0[c.param_names.index(name)] = float(v)
    else:
        g = np.asarray(initial_guess, float).ravel()
        if g.size == len(c.all_names) and g.size != k:  # full impedance.py-ordered list incl. constants
            g = np.array([v for n, v in zip(c.all_names, g, strict=True) if n in c.param_names])
        if g.size != k:
            raise FitError(f"initial_guess: {g.size} values for {k} free parameters {list(c.param_names)}")
        p0 = g
    bad = np.flatnonzero(~np.isfinite(p0) | (p0 < lower) | (p0 > upper))
    if bad.size:
        i = int(bad[0])
        raise FitError(f"initial_guess: {c.param_names[i]} = {p0[i]} is outside its bounds [{lower[i]}, {upper[i]}]")
    w = 2 * np.pi * f
    wr, wi = _weights(z, weighting)
    absz = np.abs(z)

    def rel_res(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            zm = c.func(p, w)
        v = float(np.sqrt(np.mean(np.abs(zm - z) ** 2 / absz**2)))
        return v if math.isfinite(v) else math.inf

    if solver == "lm":
        best = _solve(c, w, z, wr, wi, p0, lower, upper, max_nfev)
    else:
        best = _solve_impedance_py(c, w, z, wr, wi, p0, lower, upper)
    best_start = p0
    nfev = int(best.nfev)
    starts = 1
    poor = best.status <= 0 or (user_guess is False and rel_res(best.p) > POOR_FIT)
    if poor and multistart > 0 and solver == "lm":
        rng = np.random.default_rng(seed)
        stale = 0
        for _ in range(multistart):
            trial = p0.copy()
            logp = best.logp
            trial[logp] = p0[logp] * np.exp(rng.normal(0.0, 1.5, int(logp.sum())))
            nb = ~logp
            span = np.where(np.isfinite(upper[nb]), upper[nb], 2 * np.abs(p0[nb]) + 1)
            trial[nb] = np.clip(lower[nb] + rng.uniform(0.4, 1.0, int(nb.sum())) * (span - lower[nb]),
                                lower[nb], upper[nb])
            r = _solve(c, w, z, wr, wi, trial, lower, upper, min(max_nfev, 1000))
            nfev += int(r.nfev)
            starts += 1
            if r.status > 0 and (best.status <= 0 or r.cost < best.cost * (1 - 1e-9)):
                stale = 0 if (best.status <= 0 or r.cost < best.cost * (1 - 1e-3)) else stale + 1
                best, best_start = r, trial
            else:
                stale += 1
            if best.status > 0 and (rel_res(best.p) <= POOR_FIT / 2 or stale >= MULTISTART_PATIENCE):
                break
    p = best.p
    chi2 = float(2 * best.cost)
    n = 2 * f.size
    msgs: list[str] = []
    finite = bool(np.all(np.isfinite(p))) and math.isfinite(chi2) and chi2 < 1e290
    success = bool(best.status > 0 and finite)
    if best.status == 0:
        budget = max_nfev if solver == "lm" else 100_000
        message = f"did not converge: maximum number of evaluations ({budget}) reached after {starts} start(s)"
    elif best.status < 0 or not finite:
        message = f"did not converge: {best.message}"
    else:
        message = f"converged ({best.message.rstrip('.')}); relative residual {rel_res(p):.3g}"
    cov, singular = _covariance(c, w, z, wr, wi, p, chi2) if finite else (np.full((k, k), np.nan), True)
    se = np.sqrt(np.abs(np.diag(cov)))
    for i, name in enumerate(c.param_names):
        if upper[i] < np.inf and abs(p[i] - upper[i]) <= 1e-6 * max(abs(upper[i]), 1e-300):
            msgs.append(f"{name} is at its upper bound {upper[i]:g}")
        elif (lower[i] > 0 and abs(p[i] - lower[i]) <= 1e-6 * lower[i]) or \
                (lower[i] == 0 and (p[i] == 0 or p[i] < 1e-9 * max(abs(p0[i]), 1e-300))):
            msgs.append(f"{name} is at its lower bound {lower[i]:g}")
        if not np.isfinite(se[i]):
            msgs.append(f"{name} is not identifiable (singular Jacobian)")
        elif p[i] != 0 and se[i] > abs(p[i]):
            with np.errstate(all="ignore"):
                rel = 100 * se[i] / abs(p[i])
            msgs.append(f"{name} has a relative standard error of {rel:.0f} % (> 100 %)")
    if singular and not any("identifiable" in m for m in msgs):
        msgs.append("parameters are strongly correlated (near-singular Jacobian)")
    rr = rel_res(p) if finite else math.inf
    if success and rr > 0.1:
        msgs.append(f"poor fit: relative residual {rr:.3g}; the circuit may not describe the data")
    params: dict[str, float] = {}
    stderr: dict[str, float] = {}
    for name in c.all_names:
        if name in c.param_names:
            i = c.param_names.index(name)
            params[name], stderr[name] = float(p[i]), float(se[i])
        else:
            el = name.rsplit("_", 1)[0] if name not in consts else name
            params[name], stderr[name] = float(consts.get(name, consts.get(el, math.nan))), 0.0
    with np.errstate(divide="ignore"):
        ln = math.log(chi2 / n) if chi2 > 0 else -math.inf
    for m in msgs if warn else []:
        warnings.warn(f"{circuit_str}: {m}", EISFitWarning, stacklevel=3)
    return CircuitFit(
        circuit=circuit_str, params=params, stderr=stderr, covariance=cov, free_names=c.param_names,
        success=success, message=message, chi2=chi2, aic=n * ln + 2 * k, bic=n * ln + k * math.log(n),
        weighting=weighting, names=names, warnings=msgs,
        initial_guess={nm: float(v) for nm, v in zip(c.param_names, best_start, strict=True)},
        frequency=f, impedance=z, nfev=nfev, n_starts=starts, constants={kk: float(v) for kk, v in consts.items()},
        units=spectrum.units, solver=solver,
    )
