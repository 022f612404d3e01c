"""Publication figures from a study or from models and results.

One function per figure type, each returning a matplotlib ``Figure`` (not
attached to pyplot) with publication defaults (``style="paper"``: 8 pt text,
300 dpi, fonts embedded in PDF/SVG), a colour-blind-safe palette with one
colour per coating route in every figure, units written for people (Ω·cm²,
mAh g⁻¹, µF cm⁻²), C-rates as "0.1C" and integer cycle ticks:

* :func:`eds_maps`: element maps in the paper's colours with scale bars and an overlay;
* :func:`xps_panels`: core levels × samples, fresh and cycled stacked, components filled;
* :func:`nyquist` (and :func:`bode`): spectra with the fitted circuits;
* :func:`rate_eis_cycling`: rate capability, impedance and cycling of chosen samples;
* :func:`tem`: TEM images with scale bars and the measured coating thickness;
* :func:`sims_profiles`: depth profiles of several fragments, log intensity;
* :func:`metrics_vs_n`: each metric against n for each route;
* :func:`dqdv`: differential capacity of one cycle.

A suspect or failed fit is never drawn like a good one: its curve is dashed
(suspect) or dotted (failed), its components hatched, and its verdict with
the reasons is written in the panel. A sample that lacks the input of a
figure is left out with a note (:func:`figure_notes`), never the whole
figure. :func:`save` writes PDF, SVG and PNG (300 dpi);
:func:`supplementary` writes the S1–S10 set of a study (also
``ncmsurf figures FOLDER -o OUT``); :func:`check_layout` reports texts that
overlap axis labels. matplotlib (the ``plot`` extra) is imported on first use.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.coating import synthetic_profile
>>> fig = ns.figures.sims_profiles(synthetic_profile(coating_thickness=2.0, sputter_rate=0.01, width=0.3))
>>> ns.figures.check_layout(fig)
[]
"""

from __future__ import annotations

from ncmsurf.figures._base import (
    OKABE_ITO,
    ROUTE_COLORS,
    STYLES,
    axis_label,
    figure_notes,
    rate_label,
    sample_color,
    unit_text,
    verdict,
)
from ncmsurf.figures._cycling import dqdv, rate_eis_cycling
from ncmsurf.figures._eis import bode, nyquist
from ncmsurf.figures._export import SI_FIGURES, SIFigure, SupplementarySet, check_layout, save, supplementary
from ncmsurf.figures._maps import ELEMENT_COLORS, eds_maps, tem
from ncmsurf.figures._profiles import metrics_vs_n, sims_profiles
from ncmsurf.figures._xps import xps_panels

__all__ = [
    "ELEMENT_COLORS",
    "OKABE_ITO",
    "ROUTE_COLORS",
    "SIFigure",
    "SI_FIGURES",
    "STYLES",
    "SupplementarySet",
    "axis_label",
    "bode",
    "check_layout",
    "dqdv",
    "eds_maps",
    "figure_notes",
    "metrics_vs_n",
    "nyquist",
    "rate_eis_cycling",
    "rate_label",
    "sample_color",
    "save",
    "sims_profiles",
    "supplementary",
    "tem",
    "unit_text",
    "verdict",
    "xps_panels",
]
