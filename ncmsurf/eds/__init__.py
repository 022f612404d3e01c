"""EDS element maps and spectra: particle masks, coating coverage and uniformity, correlations, shell width.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.coating import synthetic_map
>>> m = synthetic_map(coverage=0.8, cv=0.1, shape=(64, 64), seed=0)
>>> round(ns.eds.coverage(m, "Al").fraction, 2)
0.8
"""

from __future__ import annotations

from ncmsurf.eds._maps import (
    Coverage,
    ShellWidth,
    Uniformity,
    correlation,
    coverage,
    otsu_threshold,
    particle_mask,
    radial_profile,
    shell_width,
    uniformity,
)
from ncmsurf.eds._spectrum import (
    LINE_ENERGIES,
    EDSSpectrum,
    Hypermap,
    LineOverlapWarning,
    detector_fwhm,
    line_energy,
    line_window,
    read_hypermap,
    read_msa,
    write_msa,
)

__all__ = [
    "LINE_ENERGIES",
    "Coverage",
    "EDSSpectrum",
    "Hypermap",
    "LineOverlapWarning",
    "ShellWidth",
    "Uniformity",
    "correlation",
    "coverage",
    "detector_fwhm",
    "line_energy",
    "line_window",
    "otsu_threshold",
    "particle_mask",
    "radial_profile",
    "read_hypermap",
    "read_msa",
    "shell_width",
    "uniformity",
    "write_msa",
]
