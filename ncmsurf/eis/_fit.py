"""Bounded, weighted least-squares fitting of compiled equivalent circuits, with a verdict.

Every parameter is solved in an unbounded variable chosen by its bounds
(``ln p`` for resistances, capacitances and time constants, the logistic for
CPE exponents in [0, 1]) by :func:`ncmsurf.core.fitting.least_squares`: the
package's one solver wrapper (MINPACK Levenberg–Marquardt here) with the
circuit's generated analytic Jacobian, and the package's one covariance
routine (SVD with an identifiability mask, scaled by the reduced χ²). The
residual is the complex misfit divided by a weight: ``"unity"`` (1),
``"modulus"`` (|Z|) or ``"proportional"`` (|Z′| for the real and |Z″| for the
imaginary part). When the fit from the automatic guess is poor, seeded
multi-start fits from perturbed starts are tried and the best kept.

``solver="impedance.py"`` instead repeats what impedance.py's
``CustomCircuit.fit`` does (``scipy.optimize.curve_fit``: trust-region
reflective on the raw parameters, forward-difference Jacobian, unit step
scaling, ``ftol=1e-13``, ``xtol = gtol = 1e-8``, impedance.py's default
bounds, one start), through the same wrapper. Its stopping rule may end a
little before the minimum; it is there to reproduce results published from
impedance.py.

The verdict (:attr:`CircuitFit.quality`) applies these checks (thresholds
are module constants):

* ``not_converged``: the optimiser did not converge (the fit is ``failed``);
  a relative RMS residual above 0.5 (the circuit explains less than half of
  the data) is ``poor_residual`` at level ``failed``;
* ``at_bound``: a free parameter ended on a bound;
* ``degenerate``: a resistance below :data:`DEGENERATE_SHARE` (1 %) of the
  high-frequency intercept of the data or below 1e-6 of max |Z|, a
  resistance above 1e3 × max |Z| (an open branch), a Warburg negligible in
  the same sense, a capacitance whose branch carries no current in the
  measured range, an arc whose time constant lies more than a decade outside
  the measured range, a CPE exponent pinned at 1 (or 0);
* ``unidentifiable``: relative standard error above 100 % or a near-singular
  covariance;
* ``poor_residual``: relative RMS residual ``sqrt(mean(|Z − Ẑ|²/|Z|²))``
  above :data:`POOR_RESIDUAL` (3 %);
* ``systematic_residual``: the runs test rejects random signs of the real or
  the imaginary residual (p < 1e-3 each; not below 1e-5 RMS, round-off);
* ``kk_invalid``: the fitted data fail :func:`ncmsurf.eis.kramers_kronig`
  (with a series capacitance and M = 3 per decade of frequency).

Examples
--------
>>> import numpy as np
>>> from ncmsurf.core.models import ImpedanceSpectrum
>>> from ncmsurf.eis._circuits import compile_circuit
>>> f = np.logspace(4, -1, 30)
>>> z = compile_circuit("R0-p(R1,C1)")([5.0, 20.0, 1e-4], f)
>>> fit = fit_circuit(ImpedanceSpectrum(f, z), "R0-p(R1,C1)")
>>> fit.success, round(fit.params["R1"], 6), fit.quality.level
(True, 20.0, 'good')
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import numpy as np

from ncmsurf.core.errors import FitError, NcmsurfWarning
from ncmsurf.core.fitting import (
    check_bounds,
    check_identifiable,
    check_runs,
    covariance_from_jacobian,
    least_squares,
    propagate_one,
)
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.core.results import FitResult, Quality, register_citation
from ncmsurf.core.units import magnitude
from ncmsurf.eis._circuits import CompiledCircuit, Node, compile_circuit, element_type, parse_circuit, resolve_circuit
from ncmsurf.eis._guess import features
from ncmsurf.eis._guess import initial_guess as _auto_guess

__all__ = ["SOLVERS", "WEIGHTINGS", "CircuitFit", "EISFitWarning", "build_fit", "check_spectrum",
           "effective_capacitances", "fit_arrays", "fit_circuit"]

WEIGHTINGS = ("unity", "modulus", "proportional")
#: ``"lm"``: ncmsurf's solver (to the minimum). ``"impedance.py"``: impedance.py's ``CustomCircuit.fit``, step for step.
SOLVERS = ("lm", "impedance.py")
#: A fit whose relative RMS residual exceeds this is "poor": multi-start is tried.
POOR_FIT = 0.02
#: Verdict: relative RMS residual above this is ``poor_residual``.
POOR_RESIDUAL = 0.03
#: Verdict: relative RMS residual above this is ``poor_residual`` at level *failed* (no usable answer).
FAILED_RESIDUAL = 0.5
#: Verdict: a resistance below this share of the high-frequency intercept is ``degenerate``.
DEGENERATE_SHARE = 0.01
#: Verdict: significance level of the runs test on each of the real and imaginary residuals.
RUNS_ALPHA = 1e-3
#: Verdict: no runs test below this relative RMS residual (round-off of noiseless data, not a misfit).
RUNS_FLOOR = 1e-5
#: Multi-start stops after this many starts in a row without a 0.1 % lower chi-square.
MULTISTART_PATIENCE = 8
#: |Z| above this cannot be squared in double precision: such data are refused.
MAX_IMPEDANCE = 1e150


register_citation(
    "murbach2020",
    "M. D. Murbach, B. Gerwe, N. Dawson-Elli, L. Tsui, impedance.py: A Python package for electrochemical "
    "impedance analysis, J. Open Source Softw. 5(52), 2349 (2020), doi:10.21105/joss.02349",
)
register_citation(
    "hsu2001",
    "C. H. Hsu, F. Mansfeld, Concerning the conversion of the constant phase element parameter Y0 into a "
    "capacitance, Corrosion 57, 747-748 (2001), doi:10.5006/1.3280607",
)
register_citation(
    "brug1984",
    "G. J. Brug, A. L. G. van den Eeden, M. Sluyters-Rehbach, J. H. Sluyters, The analysis of electrode "
    "impedances complicated by the presence of a constant phase element, J. Electroanal. Chem. 176, 275-295 "
    "(1984), doi:10.1016/S0022-0728(84)80324-1",
)


class EISFitWarning(NcmsurfWarning):
    """An impedance fit is questionable (parameter at a bound, unidentifiable, degenerate, poor)."""


def _where(spectrum: Any) -> str:
    meta = getattr(spectrum, "meta", {}) or {}
    src = meta.get("source_file") or meta.get("path") or meta.get("source")
    return f" ({src})" if src else ""


def check_spectrum(spectrum: Any) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies and impedance of a spectrum after the checks every analysis needs.

    Raises
    ------
    FitError
        Not an ImpedanceSpectrum, fewer than 3 points, an all-zero impedance,
        |Z| = 0 at a point or |Z| above 1e150 (cannot be squared in double
        precision); the message names the spectrum's source file.
    """
    if not isinstance(spectrum, ImpedanceSpectrum):
        raise FitError(f"spectrum: expected an ImpedanceSpectrum, got {type(spectrum).__name__}")
    f, z = spectrum.frequency, spectrum.impedance
    if f.size < 3 or not np.all(np.abs(z) > 0) or not np.all(np.abs(z) <= MAX_IMPEDANCE):
        _refuse(spectrum, f, z)
    return f, z


def _refuse(spectrum: Any, f: np.ndarray, z: np.ndarray) -> None:
    """Raise the FitError that :func:`check_spectrum` describes (the source file read only then)."""
    where = _where(spectrum)
    if f.size < 3:
        raise FitError(f"spectrum{where}: {f.size} point(s); at least 3 frequencies are needed")
    if not np.any(z != 0):
        raise FitError(f"spectrum{where}: the impedance is zero at every frequency (no signal)")
    mod = np.abs(z)
    zero = np.flatnonzero(mod == 0)
    if zero.size:
        raise FitError(f"spectrum{where}: |Z| = 0 at frequency {f[zero[0]]} Hz (index {zero[0]}); cannot weight it")
    big = np.flatnonzero(~(mod <= MAX_IMPEDANCE))
    if big.size:
        raise FitError(f"spectrum{where}: |Z| = {mod[big[0]]:.3g} at frequency {f[big[0]]} Hz (index {big[0]}) "
                       f"exceeds {MAX_IMPEDANCE:g}; not a measurable impedance")


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


def _param_unit(element_unit: str, zunits: str) -> str:
    """A parameter's unit in pint syntax from impedance.py's unit label and the data's impedance units."""
    area = "cm" in zunits
    z = "ohm*cm**2" if area else "ohm"
    table = {
        "Ohm": z, "F": "F/cm**2" if area else "F", "H": "H*cm**2" if area else "H", "sec": "s", "": "",
        "Ohm sec^-1/2": f"{z}*s**-0.5", "Ohm^-1 sec^a": "S*s**alpha/cm**2" if area else "S*s**alpha",
        "H sec": "H*s**(alpha-1)*cm**2" if area else "H*s**(alpha-1)",
        "F sec^(gamma - 1)": "F*s**(gamma-1)/cm**2" if area else "F*s**(gamma-1)",
    }
    return table.get(element_unit, element_unit)


def _elements_of(node: Node) -> list[str]:
    if node[0] == "e":
        return [node[1]]
    out: list[str] = []
    for c in node[1]:
        out.extend(_elements_of(c))
    return out


def cpe_pairs(circuit: str) -> tuple[dict[str, str | None], list[str]]:
    """Each CPE with the resistor in parallel with it (None for a blocking CPE), and the top-level resistors."""
    pairs, top = _cpe_pairs(circuit)
    return dict(pairs), list(top)


@functools.lru_cache(maxsize=256)
def _cpe_pairs(circuit: str) -> tuple[dict[str, str | None], tuple[str, ...]]:
    tree = parse_circuit(circuit)
    top = [n[1] for n in tree[1] if n[0] == "e" and element_type(n[1]) == "R"]
    pairs: dict[str, str | None] = {}

    def walk(node: Node) -> None:
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
    return pairs, tuple(top)


def effective_capacitances(circuit: str, names: Sequence[str], values: Any, covariance: Any,
                           formula: str = "hsu-mansfeld") -> dict[str, tuple[float, float]]:
    """Effective capacitance of every CPE of ``circuit`` (see :meth:`CircuitFit.effective_capacitance`).

    ``names``/``values``/``covariance`` cover every parameter (constants with zero rows); the standard
    error comes from :func:`ncmsurf.core.fitting.propagate_one` over the full covariance.
    """
    if formula not in ("hsu-mansfeld", "brug"):
        raise FitError(f"formula: must be 'hsu-mansfeld' or 'brug', got {formula!r}")
    pairs, top = cpe_pairs(circuit)
    vals = np.asarray(values, float)
    cov = np.asarray(covariance, float)
    index = {n: i for i, n in enumerate(names)}

    def value(p: np.ndarray, cpe: str, r: str | None) -> float:
        q, a = p[index[f"{cpe}_0"]], p[index[f"{cpe}_1"]]
        with np.errstate(all="ignore"):
            if formula == "hsu-mansfeld":
                if r is None:
                    return math.nan
                v = np.power(q * np.power(p[index[r]], 1.0 - a), 1.0 / a)
            else:
                if not top:
                    return math.nan
                g = 1.0 / sum(p[index[t]] for t in top) + (1.0 / p[index[r]] if r is not None else 0.0)
                v = np.power(q, 1.0 / a) * np.power(g, (a - 1.0) / a)
        v = float(v)
        return v if math.isfinite(v) else math.nan

    out: dict[str, tuple[float, float]] = {}
    for cpe, r in pairs.items():
        v0 = value(vals, cpe, r)
        if not math.isfinite(v0):
            out[cpe] = (math.nan, math.nan)
            continue

        def one(p: np.ndarray, c: str = cpe, rr: str | None = r) -> float:
            return value(p, c, rr)

        jac = None
        if formula == "hsu-mansfeld" and r is not None:
            iq, ia, ir = index[f"{cpe}_0"], index[f"{cpe}_1"], index[r]

            def jac(p: np.ndarray, c0: float = v0, iq: int = iq, ia: int = ia, ir: int = ir) -> np.ndarray:
                # ln C = (ln Q + ln R)/a - ln R
                q, a, rv = p[iq], p[ia], p[ir]
                g = np.zeros((1, p.size))
                g[0, iq] = c0 / (a * q)
                g[0, ir] = c0 * (1.0 - a) / (a * rv)
                g[0, ia] = -c0 * (math.log(q) + math.log(rv)) / a**2
                return g

        v, se = propagate_one(one, vals, cov, jac=jac)
        out[cpe] = (v, se if math.isfinite(se) else math.nan)
    return out


class CircuitFit(FitResult):
    """Result of :func:`ncmsurf.eis.fit`: an immutable :class:`~ncmsurf.core.results.FitResult`.

    The base gives ``names`` (impedance.py parameter names, constants
    included), ``values``, ``stderr``, ``covariance`` (a DataArray over every
    parameter; zero rows for constants), ``correlation``, ``success``,
    ``message``, ``quality``, ``citations``, ``fit_report()``, ``uvalues()``,
    storage and equality. Every accessor returns a copy.

    Attributes
    ----------
    circuit : str
        impedance.py circuit string (also ``model``).
    params : dict
        Fitted values keyed by impedance.py names (``R0``, ``CPE1_0``, ...),
        constants included; ``stderr`` (the base's) gives their one-sigma
        standard errors (NaN where not identifiable, 0 for constants).
    free_names : tuple of str
    chi2 : float
        Weighted sum of squared residuals (real and imaginary parts).
    aic, bic : float
        Akaike and Bayesian information criteria, ``N ln(chi2/N) + k·{2, ln N}``
        with N = 2 × points and k free parameters.
    weighting : str
    physical_names : dict
        impedance.py name → physical name (presets and the circuits of
        :func:`~ncmsurf.eis.select_circuit`).
    named, named_stderr : dict
        Values and standard errors under the physical names.
    warnings : list of str
        The messages of the verdict's reasons.
    initial_guess : dict
        Start values used (after multi-start, the winning start).
    frequency, impedance : numpy.ndarray
        The fitted data (copies).
    nfev, n_starts : int
        Residual evaluations and starts over all starts.
    constants : dict
        Fixed parameters.
    impedance_units : str
        Impedance units of the data (``"ohm * cm ** 2"`` for area-normalised
        spectra: resistances are then area-specific, capacitances per cm²).
    solver : str
        ``"lm"`` or ``"impedance.py"`` (see :func:`ncmsurf.eis.fit`).
    """

    # ------------------------------------------------------------- accessors
    @property
    def circuit(self) -> str:
        """impedance.py circuit string."""
        return self.model

    @property
    def params(self) -> dict[str, float]:
        """Values by impedance.py name, constants included (a new dict)."""
        return self.values

    @property
    def free_names(self) -> tuple[str, ...]:
        """The parameters that were fitted."""
        return tuple(n for n, f in self.free.items() if f)

    @property
    def physical_names(self) -> dict[str, str]:
        """impedance.py name → physical name (empty for circuits without names)."""
        return {str(k): str(v) for k, v in dict(self._attrs.get("physical_names", {})).items()}

    @property
    def named(self) -> dict[str, float]:
        """Parameters under their physical names (presets), else impedance.py names."""
        m = self.physical_names
        return {m.get(k, k): v for k, v in self.values.items()}

    @property
    def named_stderr(self) -> dict[str, float]:
        """Standard errors under the physical names."""
        m = self.physical_names
        return {m.get(k, k): v for k, v in self.stderr.items()}

    @property
    def warnings(self) -> list[str]:
        """The verdict's reasons as messages (a new list)."""
        return [r.message for r in self.quality.reasons]

    @property
    def chi2(self) -> float:
        """Weighted sum of squared residuals."""
        return float(self._attrs["chi2"])

    @property
    def aic(self) -> float:
        """Akaike information criterion."""
        return float(self._attrs["aic"])

    @property
    def bic(self) -> float:
        """Bayesian information criterion."""
        return float(self._attrs["bic"])

    @property
    def weighting(self) -> str:
        """Residual weighting used."""
        return str(self._attrs["weighting"])

    @property
    def solver(self) -> str:
        """``"lm"`` or ``"impedance.py"``."""
        return str(self._attrs.get("solver", "lm"))

    @property
    def nfev(self) -> int:
        """Residual evaluations over all starts."""
        return int(self._attrs.get("nfev", 0))

    @property
    def n_starts(self) -> int:
        """Starts tried."""
        return int(self._attrs.get("n_starts", 1))

    @property
    def constants(self) -> dict[str, float]:
        """Fixed parameters (a new dict)."""
        return {str(k): float(v) for k, v in dict(self._attrs.get("constants", {})).items()}

    @property
    def impedance_units(self) -> str:
        """Impedance units of the fitted data (``"ohm"`` or ``"ohm * cm ** 2"``)."""
        return str(self._attrs.get("impedance_units", "ohm"))

    @property
    def initial_guess(self) -> dict[str, float]:
        """Start values of the free parameters (the winning start)."""
        free = self.free
        return {n: float(v) for n, v in zip(self.names, self._base("initial"), strict=True) if free[n]}

    @property
    def frequency(self) -> np.ndarray:
        """Fitted frequencies, Hz (a copy)."""
        return np.array(self._base("frequency"), dtype=float)

    @property
    def impedance(self) -> np.ndarray:
        """Fitted impedances (a copy)."""
        return np.array(self._base("impedance"), dtype=complex)

    @property
    def n_points(self) -> int:
        """Number of frequencies fitted."""
        return int(self._base("frequency").size)

    @property
    def chi2_reduced(self) -> float:
        """chi2 / (2N − k)."""
        dof = 2 * self.n_points - len(self.free_names)
        return self.chi2 / dof if dof > 0 else math.nan

    @property
    def relative_residual(self) -> float:
        """RMS of |Z − Ẑ| / |Z| over the points (a weighting-independent quality figure)."""
        z = self._base("impedance")
        with np.errstate(all="ignore"):
            v = float(np.sqrt(np.mean(np.abs(z - self.predict(self._base("frequency"))) ** 2 / np.abs(z) ** 2)))
        return v if math.isfinite(v) else math.inf

    def predict(self, frequency: Any) -> np.ndarray:
        """Model impedance (complex, in the data's units) at ``frequency`` (Hz or a Quantity)."""
        from ncmsurf.core.units import array_magnitude

        f = np.atleast_1d(array_magnitude(frequency, "Hz", name="frequency"))
        c = compile_circuit(self.circuit)
        p = self.values
        return c([p[n] for n in c.param_names], f)

    def residuals(self) -> np.ndarray:
        """Complex relative residuals (Z − Ẑ)/|Z| at the fitted frequencies."""
        z = self.impedance
        out: np.ndarray = (z - self.predict(self.frequency)) / np.abs(z)
        return out

    def effective_capacitance(self, formula: str = "hsu-mansfeld") -> dict[str, tuple[float, float]]:
        """Effective capacitance of every CPE, with its standard error.

        Parameters
        ----------
        formula : {"hsu-mansfeld", "brug"}
            ``"hsu-mansfeld"``: C = (Q R^(1−α))^(1/α) with R the resistor in
            parallel with the CPE (a surface distribution, e.g. a film or
            SEI arc). ``"brug"``: C = Q^(1/α) (1/R_s + 1/R)^((α−1)/α) with R_s
            the series (top-level) resistance and R the resistor in parallel
            (omitted for a blocking CPE).

        Returns
        -------
        dict
            CPE element name → (C in F, or F/cm² for an area-normalised fit;
            its standard error through the full covariance by
            :func:`ncmsurf.core.fitting.propagate_one`). Where the formula
            needs a resistor the circuit lacks, or the parameters make it
            undefined (α = 0, a negative base), (nan, nan).

        Examples
        --------
        >>> import ncmsurf as ns
        >>> from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum
        >>> fit = ns.eis.fit(synthetic_spectrum("ncm", NCM_TRUTH, noise=0.0), "ncm")
        >>> c, se = fit.effective_capacitance()["CPE1"]
        >>> round(c * 1e6, 3)  # µF: (2e-5 · 25^0.15)^(1/0.85)
        5.23
        """
        return effective_capacitances(self.circuit, self.names, self._base("value"),
                                      self._base("covariance"), formula)

    # --------------------------------------------------------------- storage
    @classmethod
    def from_dataset(cls, ds: Any) -> FitResult:
        """Rebuild from :meth:`to_dataset` output; files written before the result core load too."""
        if "result_type" in ds.attrs or "circuit" not in ds.attrs:
            return super().from_dataset(ds)
        return _from_legacy(ds)

    # --------------------------------------------------------------- report
    def _report_extra(self) -> list[str]:
        lines = [f"chi2: {self.chi2:.6g} ({self.weighting} weighting, {self.n_points} points); "
                 f"relative residual {self.relative_residual:.3g}; AIC {self.aic:.6g}; BIC {self.bic:.6g}"]
        m = self.physical_names
        if m:
            lines.append("physical names: " + ", ".join(f"{k} = {v}" for k, v in m.items()))
        return lines

    # --------------------------------------------------------------- plot
    def plot(self, ax: Any = None, kind: str = "nyquist", **kw: Any) -> Any:
        """Data and fitted curve: ``kind="nyquist"`` (−Z″ against Z′) or ``"bode"`` (|Z| and phase)."""
        from ncmsurf.core._plot import get_axes

        if kind not in ("nyquist", "bode"):
            raise FitError(f"kind: must be 'nyquist' or 'bode', got {kind!r}")
        ax = get_axes(ax)
        f = self.frequency
        fd = np.logspace(np.log10(f.min()), np.log10(f.max()), 200)
        zf = self.predict(fd)
        z = self.impedance
        if kind == "nyquist":
            ax.plot(z.real, -z.imag, "o", ms=3, label="data", **kw)
            ax.plot(zf.real, -zf.imag, "-", label=f"fit {self.circuit} ({self.quality.level})")
            ax.set_xlabel("Z′ / Ω")
            ax.set_ylabel("−Z″ / Ω")
            ax.set_aspect("equal", adjustable="datalim")
        else:
            ax.loglog(f, np.abs(z), "o", ms=3, label="|Z| data", **kw)
            ax.loglog(fd, np.abs(zf), "-", label=f"|Z| fit ({self.quality.level})")
            ax.set_xlabel("f / Hz")
            ax.set_ylabel("|Z| / Ω")
            ax2 = ax.twinx()
            ax2.semilogx(f, -np.degrees(np.angle(z)), "s", ms=3, color="C2")
            ax2.semilogx(fd, -np.degrees(np.angle(zf)), "--", color="C3")
            ax2.set_ylabel("−phase / °")
        ax.legend()
        return ax


# --------------------------------------------------------------------------- solving
def _impedance_py_bounds(c: CompiledCircuit) -> tuple[np.ndarray, np.ndarray]:
    """impedance.py's ``set_default_bounds``: [0, inf) except CPE and La exponents, [0, 1]."""
    upper = np.full(len(c.param_names), np.inf)
    for i, name in enumerate(c.param_names):
        elem, _, idx = name.rpartition("_")
        if element_type(elem) in ("CPE", "La") and idx == "1":
            upper[i] = 1.0
    return np.zeros(len(c.param_names)), upper


class _Problem:
    """Weighted residuals and Jacobians of one circuit on one spectrum, in parameter space."""

    def __init__(self, c: CompiledCircuit, w: np.ndarray, z: np.ndarray, wr: np.ndarray, wi: np.ndarray,
                 interleave: bool = True) -> None:
        self.c, self.w, self.z = c, w, np.ascontiguousarray(z, dtype=complex)
        self.k = len(c.param_names)
        n = z.size
        if interleave:  # (Re, Im) per point: order is irrelevant to least squares
            iw = np.empty(2 * n)
            iw[0::2], iw[1::2] = 1.0 / wr, 1.0 / wi
        else:  # impedance.py's order: all real parts, then all imaginary parts
            iw = np.concatenate((1.0 / wr, 1.0 / wi))
        self.iw, self.interleave = iw, interleave

    def _flat(self, zc: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(zc)
        if self.interleave:
            return a.view(np.float64)
        return np.concatenate((a.real, a.imag), axis=-1)

    def resid(self, p: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            r = self._flat(self.c.func(p, self.w) - self.z) * self.iw
        if not np.isfinite(r).all():
            r = np.where(np.isfinite(r), r, 1e150)
        return r

    def jac(self, p: np.ndarray) -> np.ndarray:
        """Analytic where the circuit has it, else central differences in one vectorised evaluation."""
        with np.errstate(all="ignore"):
            if self.c.jac_func is not None:
                _, dz = self.c.jac_func(p, self.w)
            else:
                h = 1e-6 * np.maximum(np.abs(p), 1e-12)
                eye = np.eye(self.k) * h[None, :]
                ps = np.concatenate((p[:, None] + eye, p[:, None] - eye), axis=1)  # (k, 2k)
                zm = self.c.func(ps[:, :, None], self.w)  # (2k, n)
                dz = (zm[:self.k] - zm[self.k:]) / (2 * h[:, None])
            out = (self._flat(dz) * self.iw).T
        if not np.isfinite(out).all():
            out = np.where(np.isfinite(out), out, 0.0)
        return np.asarray(out, dtype=float)


def _solve(prob: _Problem, p0: np.ndarray, lower: np.ndarray, upper: np.ndarray, max_nfev: int) -> Any:
    m = prob.iw.size
    with np.errstate(all="ignore"):  # a collapsed parameter overflows its covariance row: judged by the verdict
        return least_squares(prob.resid, p0, jac=prob.jac, bounds=(lower, upper), unbounded=True,
                             method="lm" if m >= prob.k else "trf", x_scale="jac", ftol=1e-11, xtol=1e-11,
                             gtol=1e-11, max_nfev=max_nfev)


def _solve_impedance_py(prob: _Problem, p0: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> Any:
    """What ``scipy.optimize.curve_fit`` does for impedance.py's ``circuit_fit`` (bounded, so trf)."""
    with np.errstate(all="ignore"):
        return least_squares(prob.resid, p0, bounds=(lower, upper), method="trf", x_scale=1.0, ftol=1e-13,
                             xtol=1e-8, gtol=1e-8, max_nfev=100_000)


# --------------------------------------------------------------------------- verdict
def _verdict(c: CompiledCircuit, p_all: Mapping[str, float], free: Sequence[str], stderr: Mapping[str, float],
             f: np.ndarray, z: np.ndarray, sol: Any, rel_res: float, check_kk: bool) -> list[tuple[str, str]]:
    """The suspect reasons of a converged fit (see the module docstring)."""
    reasons: list[tuple[str, str]] = []
    idx = [c.param_names.index(n) for n in free]
    reasons += check_bounds(list(free), sol.at_lower[idx], sol.at_upper[idx], values=[p_all[n] for n in free])
    scale = float(np.max(np.abs(z)))
    r_hf = features(f, z).r_hf
    w = 2 * np.pi * f
    tree = c.tree
    consts = dict(c.constants)

    def elem_params(e: str) -> list[float]:
        spec_n = len([n for n in c.all_names if n == e or n.startswith(e + "_")])
        names = [e] if spec_n == 1 else [f"{e}_{i}" for i in range(spec_n)]
        return [float(p_all[n]) for n in names]

    def zel(e: str) -> np.ndarray:
        return compile_circuit(e)(elem_params(e), f)

    def in_parallel(node: Node, inside: bool) -> list[tuple[str, bool]]:
        if node[0] == "e":
            return [(node[1], inside)]
        out: list[tuple[str, bool]] = []
        for ch in node[1]:
            out += in_parallel(ch, inside or node[0] == "p")
        return out

    const_names = set(consts)
    for e, parallel in in_parallel(tree, False):
        et = element_type(e)
        sub = [n for n in c.all_names if n.startswith(e + "_")]
        fixed = e in const_names or (bool(sub) and all(n in const_names for n in sub))
        if fixed:
            continue
        if et in ("R", "W", "Wo", "Ws"):
            mag = float(np.max(np.abs(zel(e))))
            what = "resistance" if et == "R" else "Warburg impedance"
            if mag < DEGENERATE_SHARE * r_hf:
                reasons.append(("degenerate", f"{e}: {what} {mag:.3g} is below {100 * DEGENERATE_SHARE:g} % of the "
                                              f"high-frequency intercept ({r_hf:.4g}): the element is not "
                                              "resolved (drop it or use a circuit with fewer arcs)"))
            elif mag < 1e-6 * scale:
                reasons.append(("degenerate", f"{e}: {what} {mag:.3g} is negligible against the data "
                                              f"(max |Z| = {scale:.4g})"))
            elif et == "R" and parallel and mag > 1e3 * scale:
                reasons.append(("degenerate", f"{e}: resistance {mag:.3g} is above 1000 × max |Z| ({scale:.4g}): "
                                              "an open branch; the element is not resolved"))
        if et in ("C", "CPE") and parallel:
            zc = np.abs(zel(e))
            if float(zc.min()) > 1e3 * scale:
                reasons.append(("degenerate", f"{e}: capacitance negligible (its branch impedance is above "
                                              f"1000 × max |Z| at every measured frequency)"))
        if et == "CPE" and f"{e}_1" not in const_names:
            a = float(p_all[f"{e}_1"])
            if a > 0.999:
                reasons.append(("degenerate", f"{e}: CPE exponent pinned at 1 ({a:.5f}): an ideal capacitor; "
                                              "use C instead"))
            elif a < 0.001:
                reasons.append(("degenerate", f"{e}: CPE exponent pinned at 0 ({a:.3g}): a resistor, not an arc"))
    pairs, _ = cpe_pairs(c.circuit)
    for node in tree[1]:
        if node[0] != "p":
            continue
        names = _elements_of(node)
        rs = [n for n in names if element_type(n) == "R"]
        caps = [n for n in names if element_type(n) in ("C", "CPE")]
        if len(rs) != 1 or len(caps) != 1:
            continue
        r, q = float(p_all[rs[0]]), caps[0]
        if element_type(q) == "C":
            tau = r * float(p_all[q])
        else:
            qq, a = float(p_all[f"{q}_0"]), float(p_all[f"{q}_1"])
            with np.errstate(all="ignore"):
                tau = float(np.power(r * qq, 1.0 / a)) if a > 0 else math.nan
        lo, hi = 1.0 / w.max(), 1.0 / w.min()
        if math.isfinite(tau) and tau > 0 and (tau < lo / 10 or tau > hi * 10):
            reasons.append(("degenerate", f"{rs[0]}‖{q}: time constant {tau:.3g} s is more than a decade outside "
                                          f"the measured range ({lo:.3g}–{hi:.3g} s): the arc is not resolved"))
    with np.errstate(all="ignore"):
        reasons += check_identifiable(list(free), [p_all[n] for n in free], [stderr[n] for n in free],
                                      condition=sol.condition)
    if rel_res > POOR_RESIDUAL:
        reasons.append(("poor_residual", f"relative RMS residual {rel_res:.3g} is above {POOR_RESIDUAL:g}: the "
                                         "circuit does not describe the data"))
    zm = c([p_all[n] for n in c.param_names], f)
    order = np.argsort(f)
    rr = ((z - zm) / np.abs(z))[order]
    if rel_res > RUNS_FLOOR:  # below it the residual is round-off, not a misfit
        for part, what in ((rr.real, "real residual"), (rr.imag, "imaginary residual")):
            reasons += check_runs(part, alpha=RUNS_ALPHA, what=what)
    if check_kk:
        from ncmsurf.eis._kk import kk_check

        # a fixed M of 3 per decade (within N - 3) reaches the chi-square plateau of lin-KK on typical
        # spectra at a tenth of the cost of the automatic search
        m_kk = int(max(1, min(f.size - 3, round(3 * math.log10(f.max() / f.min())))))
        ok, why = kk_check(f, z, m_kk, add_cap=True)
        if not ok:
            reasons.append(("kk_invalid", f"the data fail lin-KK ({why}); the fitted values may "
                                          "describe a drifting or non-linear system"))
    return reasons


# --------------------------------------------------------------------------- fit
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
    kk: bool = True,
    physical_names: Mapping[str, str] | None = None,
) -> CircuitFit:
    """Fit ``circuit`` to ``spectrum`` (implementation of :func:`ncmsurf.eis.fit`)."""
    r = fit_arrays(spectrum, circuit, initial_guess=initial_guess, weighting=weighting, constants=constants,
                   bounds=bounds, multistart=multistart, seed=seed, max_nfev=max_nfev, fmin=fmin, fmax=fmax,
                   capacitive_only=capacitive_only, warn=warn, solver=solver, kk=kk, physical_names=physical_names,
                   stacklevel=4)
    return build_fit(r, spectrum)


def fit_arrays(
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
    kk: bool = True,
    physical_names: Mapping[str, str] | None = None,
    stacklevel: int = 3,
) -> SimpleNamespace:
    """The numbers and the verdict of a fit, without building the result (the lean path of ``fit_many``)."""
    if solver not in SOLVERS:
        raise FitError(f"solver: must be one of {SOLVERS}, got {solver!r}")
    circuit_str, names, cc_guess, cc_consts = resolve_circuit(circuit)
    if physical_names is not None:
        names = dict(physical_names)
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
        raise FitError(f"spectrum{_where(spectrum)}: {f.size} point(s) left after fmin/fmax/capacitive_only; "
                       "at least 3 are needed")
    if weighting not in WEIGHTINGS:
        raise FitError(f"weighting: must be one of {WEIGHTINGS}, got {weighting!r}")
    c = compile_circuit(circuit_str, consts)
    k = len(c.param_names)
    if k == 0:
        raise FitError(f"circuit {circuit_str!r}: every parameter is a constant; nothing to fit")
    if 2 * f.size < k:
        raise FitError(f"spectrum{_where(spectrum)}: {f.size} points ({2 * f.size} real values) cannot determine "
                       f"{k} parameters")
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
    prob = _Problem(c, w, z, wr, wi, interleave=solver == "lm")

    def rel_res(p: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            zm = c.func(p, w)
            v = float(np.sqrt(np.mean(np.abs(zm - z) ** 2 / absz**2)))
        return v if math.isfinite(v) else math.inf

    def cost(s: Any) -> float:
        return float(s.chi2) if math.isfinite(s.chi2) else math.inf

    best = _solve(prob, p0, lower, upper, max_nfev) if solver == "lm" else _solve_impedance_py(prob, p0, lower,
                                                                                               upper)
    best_start = p0
    nfev = int(best.nfev)
    starts = 1
    poor = not best.success or (user_guess is False and rel_res(best.p) > POOR_FIT)
    if poor and multistart > 0 and solver == "lm":
        rng = np.random.default_rng(seed)
        logp = np.isfinite(lower) & ~np.isfinite(upper)
        stale = 0
        for _ in range(multistart):
            trial = p0.copy()
            trial[logp] = lower[logp] + (p0[logp] - lower[logp]) * np.exp(rng.normal(0.0, 1.5, int(logp.sum())))
            nb = ~logp
            span = np.where(np.isfinite(upper[nb]), upper[nb], 2 * np.abs(p0[nb]) + 1)
            lo_nb = np.where(np.isfinite(lower[nb]), lower[nb], -span)
            trial[nb] = np.clip(lo_nb + rng.uniform(0.4, 1.0, int(nb.sum())) * (span - lo_nb), lower[nb], upper[nb])
            r = _solve(prob, trial, lower, upper, min(max_nfev, 1000))
            nfev += int(r.nfev)
            starts += 1
            if r.success and (not best.success or cost(r) < cost(best) * (1 - 1e-9)):
                stale = 0 if (not best.success or cost(r) < cost(best) * (1 - 1e-3)) else stale + 1
                best, best_start = r, trial
            else:
                stale += 1
            if best.success and (rel_res(best.p) <= POOR_FIT / 2 or stale >= MULTISTART_PATIENCE):
                break
    p = np.asarray(best.p, float)
    chi2 = float(best.chi2)
    n = 2 * f.size
    finite = bool(np.all(np.isfinite(p))) and math.isfinite(chi2) and chi2 < 1e290
    success = bool(best.success and finite)
    rr = rel_res(p) if finite else math.inf
    if not best.success and "maximum number" in best.message.lower():
        budget = max_nfev if solver == "lm" else 100_000
        message = f"did not converge: maximum number of evaluations ({budget}) reached after {starts} start(s)"
    elif not success:
        message = f"did not converge: {best.message}"
    else:
        message = f"converged ({best.message.rstrip('.')}); relative residual {rr:.3g}"
    if solver == "lm" or not finite:
        cov = best.covariance
    else:  # impedance.py's forward-difference path: the covariance from the accurate Jacobian
        cov = covariance_from_jacobian(prob.jac(p), residual=prob.resid(p), dof=n - k if n > k else None).matrix
    cov = np.asarray(cov, float) if finite else np.full((k, k), np.nan)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.where(np.diag(cov) >= 0, np.diag(cov), np.nan))
    values: dict[str, float] = {}
    stderr: dict[str, float] = {}
    initial: list[float] = []
    for name in c.all_names:
        if name in c.param_names:
            i = c.param_names.index(name)
            values[name], stderr[name] = float(p[i]), float(se[i])
            initial.append(float(best_start[i]))
        else:
            el = name.rsplit("_", 1)[0] if name not in consts else name
            values[name], stderr[name] = float(consts.get(name, consts.get(el, math.nan))), 0.0
            initial.append(math.nan)
    with np.errstate(divide="ignore"):
        ln = math.log(chi2 / n) if finite and chi2 > 0 else (-math.inf if finite else math.inf)
    if success and rr > FAILED_RESIDUAL:
        quality = Quality("failed", [("poor_residual", f"relative RMS residual {rr:.3g}: the circuit explains less "
                                                       "than half of the data (noise, or the wrong kind of data)")])
    elif success:
        quality = Quality.from_checks(suspect=_verdict(c, values, c.param_names, stderr, f, z, best, rr, kk))
    else:
        quality = Quality("failed", [("not_converged", message)])
    for r_code, r_msg in quality.reasons if warn else []:
        warnings.warn(f"{circuit_str}: [{r_code}] {r_msg}", EISFitWarning, stacklevel=stacklevel)
    return SimpleNamespace(circuit=circuit_str, c=c, consts=consts, names=names, f=f, z=z, values=values,
                           stderr=stderr, cov=cov, initial=initial, success=success, message=message,
                           quality=quality, chi2=chi2, aic=n * ln + 2 * k, bic=n * ln + k * math.log(n), rr=rr,
                           nfev=nfev, starts=starts, weighting=weighting, solver=solver, kk=kk)


def _from_legacy(ds: Any) -> CircuitFit:
    """A CircuitFit from the storage layout of earlier versions (covariance over the free parameters only)."""
    a = ds.attrs
    names = [str(n) for n in ds["param"].values]
    free = [str(n) for n in ds["free"].values]
    circuit = str(a["circuit"])
    zunits = str(a.get("units", "ohm"))
    c = compile_circuit(circuit)
    unit_all = dict(zip(c.param_names, c.units, strict=True))
    initial = dict(zip(free, (float(v) for v in ds["initial"].values), strict=True))
    success = bool(a["success"])
    warns = [str(w) for w in (a.get("warnings", []) if not isinstance(a.get("warnings"), str) else [a["warnings"]])]
    note = ("input", "stored by an earlier version without a verdict" + (f"; its warnings: {'; '.join(warns)}"
                                                                         if warns else ""))
    quality = Quality("suspect", [note]) if success else Quality("failed", [("not_converged", str(a["message"]))])
    return CircuitFit.build(
        names=names, values=np.asarray(ds["value"].values, float), stderr=np.asarray(ds["stderr"].values, float),
        covariance=np.asarray(ds["covariance"].values, float), free=[n in free for n in names],
        units=[_param_unit(unit_all.get(n, ""), zunits) for n in names], success=success,
        message=str(a["message"]), quality=quality, citations=["murbach2020"], model=circuit,
        data_vars={"impedance": ("frequency", np.asarray(ds["impedance"].values, complex)),
                   "initial": ("param", np.array([initial.get(n, math.nan) for n in names]))},
        coords={"frequency": np.asarray(ds["frequency"].values, float)},
        attrs={"chi2": float(a["chi2"]), "aic": float(a["aic"]), "bic": float(a["bic"]),
               "weighting": str(a["weighting"]), "physical_names": dict(a.get("names", {})),
               "nfev": int(a.get("nfev", 0)), "n_starts": int(a.get("n_starts", 1)),
               "constants": dict(a.get("constants", {})), "impedance_units": zunits,
               "solver": str(a.get("solver", "lm")), "relative_residual": math.nan},
    )


def build_fit(r: SimpleNamespace, spectrum: ImpedanceSpectrum) -> CircuitFit:
    """The :class:`CircuitFit` of :func:`fit_arrays` output."""
    c, circuit_str, consts = r.c, r.circuit, r.consts
    zunits = str(spectrum.units)
    unit_of = dict(zip(c.param_names, c.units, strict=True))
    full = compile_circuit(circuit_str)
    unit_all = dict(zip(full.param_names, full.units, strict=True))
    units = [_param_unit(unit_of.get(nm, unit_all.get(nm, "")), zunits) for nm in c.all_names]
    meta = getattr(spectrum, "meta", {}) or {}
    source = {"source_file": str(meta["source_file"])} if meta.get("source_file") else {}
    cites = ["murbach2020"]
    if any(element_type(e) == "CPE" for e in c.element_names):
        cites += ["hsu2001", "brug1984"]
    if r.kk:
        cites.append("schoenleber2014")
    return CircuitFit.build(
        names=list(c.all_names), values=[r.values[nm] for nm in c.all_names],
        stderr=[r.stderr[nm] for nm in c.all_names], covariance=r.cov,
        free=[nm in c.param_names for nm in c.all_names], units=units, success=r.success, message=r.message,
        quality=r.quality, citations=cites, model=circuit_str, sample=spectrum.sample, source=source,
        data_vars={"impedance": ("frequency", np.asarray(r.z, complex)), "initial": ("param", np.array(r.initial))},
        coords={"frequency": np.asarray(r.f, float)},
        attrs={"chi2": r.chi2, "aic": r.aic, "bic": r.bic, "weighting": r.weighting,
               "physical_names": dict(r.names), "nfev": r.nfev, "n_starts": r.starts,
               "constants": {kk_: float(v) for kk_, v in consts.items()}, "impedance_units": zunits,
               "solver": r.solver, "relative_residual": r.rr},
    )
