"""Impedance spectroscopy: equivalent-circuit fitting, Kramers–Kronig tests, DRT, batch fits.

Circuit strings use impedance.py's syntax (``"R0-p(R1,CPE1)-p(R2-W1,CPE2)"``);
presets ``"randles"``, ``"randles-cpe"`` and ``"ncm"`` carry physical names;
``select_circuit`` (or ``fit(spectrum, "auto")``) picks among Randles-type
circuits. Every result is an :class:`ncmsurf.FitResult` with a verdict.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.eis import synthetic_spectrum
>>> spec = synthetic_spectrum("R0-p(R1,C1)", {"R0": 5.0, "R1": 20.0, "C1": 1e-4}, noise=0.0)
>>> fit = ns.eis.fit(spec, "R0-p(R1,C1)")
>>> round(fit.params["R1"], 3)
20.0
"""

from __future__ import annotations

from ncmsurf.eis._api import fit
from ncmsurf.eis._batch import fit_many
from ncmsurf.eis._circuits import PRESETS, CompiledCircuit, compile_circuit
from ncmsurf.eis._drt import DRTResult, drt
from ncmsurf.eis._fit import WEIGHTINGS, CircuitFit, EISFitWarning
from ncmsurf.eis._kk import KKResult, kramers_kronig
from ncmsurf.eis._select import CANDIDATES, select_circuit

__all__ = [
    "CANDIDATES",
    "PRESETS",
    "WEIGHTINGS",
    "CircuitFit",
    "CompiledCircuit",
    "DRTResult",
    "EISFitWarning",
    "KKResult",
    "compile_circuit",
    "drt",
    "fit",
    "fit_many",
    "kramers_kronig",
    "select_circuit",
]
