"""The public :func:`fit` entry point."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.eis._fit import CircuitFit, fit_circuit

__all__ = ["fit"]


def fit(
    spectrum: ImpedanceSpectrum,
    circuit: Any = "R0-p(R1,CPE1)-p(R2-W1,CPE2)",
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
) -> CircuitFit:
    """Fit an equivalent circuit to an impedance spectrum.

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
    circuit : str or impedance.py CustomCircuit
        impedance.py circuit string, ``"auto"`` (the best of
        :func:`~ncmsurf.eis.select_circuit`'s Randles-type ladder by AIC), or
        a preset: ``"ncm"`` =
        ``R0-p(R1,CPE1)-p(R2-W1,CPE2)`` (R_s, R_SEI, Q_SEI, alpha_SEI, R_ct,
        sigma_W, Q_dl, alpha_dl), ``"randles"`` = ``R0-p(R1-Wo1,C1)``,
        ``"randles-cpe"`` = ``R0-p(R1-Wo1,CPE1)``. A ``CustomCircuit`` gives
        its string, initial guess and constants.
    initial_guess : sequence or mapping, optional
        Start values of the free parameters in impedance.py order (or a
        mapping name → value overriding part of the automatic guess). When
        omitted, estimated from the data (high-frequency intercept, arc
        diameters and apex frequencies, low-frequency slope).
    weighting : {"modulus", "unity", "proportional"}
        Residual weights: |Z|, 1, or |Z′| and |Z″| separately.
    constants : mapping, optional
        Parameters held fixed, e.g. ``{"CPE1_1": 0.9}`` (Quantities accepted).
    bounds : mapping, optional
        name → (lower, upper); default [0, inf), exponents [0, 1].
    multistart : int
        Extra seeded starts tried when the first fit is poor (relative RMS
        residual above 2 % or not converged); the best is kept.
    seed : int
        Seed of the multi-start perturbations (results are deterministic).
    max_nfev : int
        Evaluation budget per start.
    fmin, fmax : float or Quantity, optional
        Fit only frequencies inside [fmin, fmax] (Hz).
    capacitive_only : bool
        Fit only the points with Z″ < 0 and Z′ > 0 (drop inductive and
        non-physical high-frequency points, for circuits without an inductor).
    warn : bool
        Also emit :class:`EISFitWarning` for each reason of the verdict.
    solver : {"lm", "impedance.py"}
        ``"lm"`` (default): Levenberg–Marquardt on log-scaled parameters with
        the analytic Jacobian and tight tolerances, multi-start when poor.
        ``"impedance.py"``: impedance.py's ``CustomCircuit.fit`` step for step
        (scipy trust-region reflective, forward differences, its tolerances
        and default bounds, one start) to reproduce values published from
        impedance.py; it can stop slightly short of the minimum.

    Returns
    -------
    CircuitFit
        ``.success`` is False with the reason in ``.message`` when the
        optimiser did not converge; ``.quality`` is the verdict (good,
        suspect or failed with coded reasons: ``at_bound``, ``degenerate``,
        ``unidentifiable``, ``poor_residual``, ``systematic_residual``,
        ``kk_invalid``, ``not_converged``; see :mod:`ncmsurf.eis._fit`).

    Raises
    ------
    FitError
        Bad circuit string, unknown constant, fewer than 3 points, zero
        impedance, a guess outside the bounds.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.eis import synthetic_spectrum
    >>> truth = {"R0": 10.0, "R1": 30.0, "CPE1_0": 1e-5, "CPE1_1": 0.9, "R2": 60.0,
    ...          "W1": 15.0, "CPE2_0": 1e-3, "CPE2_1": 0.85}
    >>> spec = synthetic_spectrum("ncm", truth, noise=0.0)
    >>> fit = ns.eis.fit(spec, "ncm")
    >>> fit.success, round(fit.named["R_SEI"], 3), round(fit.named["R_ct"], 3), fit.quality.level
    (True, 30.0, 60.0, 'good')
    """
    if isinstance(circuit, str) and circuit == "auto":
        from ncmsurf.eis._select import select_circuit

        return select_circuit(spectrum, weighting=weighting, multistart=multistart, seed=seed, max_nfev=max_nfev,
                              fmin=fmin, fmax=fmax, capacitive_only=capacitive_only, kk=kk)[1]
    return fit_circuit(spectrum, circuit, initial_guess=initial_guess, weighting=weighting, constants=constants,
                       bounds=bounds, multistart=multistart, seed=seed, max_nfev=max_nfev, fmin=fmin, fmax=fmax,
                       capacitive_only=capacitive_only, warn=warn, solver=solver, kk=kk)
