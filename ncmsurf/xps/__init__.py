"""XPS analysis: backgrounds, line shapes, peak fitting with NCM presets, quantification.

Examples
--------
>>> import ncmsurf as ns
>>> "Ni 2p" in ns.xps.presets()
True
"""

from __future__ import annotations

from ncmsurf.xps._backgrounds import linear, shirley, tougaard
from ncmsurf.xps._batch import fit_stack
from ncmsurf.xps._casa import CasaComponent, CasaRegion, casa_regions
from ncmsurf.xps._fit import ChargeReferenceWarning, XPSFit, XPSStackFit, charge_correct, fit, line_table, make_params
from ncmsurf.xps._lineshapes import doniach_sunjic, gaussian, gl, la, lorentzian, pseudo_voigt, sgl, voigt
from ncmsurf.xps._peaks import Doublet, Peak, Satellite, preset_info, preset_model, presets
from ncmsurf.xps._quantify import quantify, register_rsf, rsf_sets

__all__ = [
    "CasaComponent",
    "CasaRegion",
    "ChargeReferenceWarning",
    "Doublet",
    "Peak",
    "Satellite",
    "XPSFit",
    "XPSStackFit",
    "casa_regions",
    "charge_correct",
    "doniach_sunjic",
    "fit",
    "fit_stack",
    "gaussian",
    "gl",
    "la",
    "line_table",
    "linear",
    "lorentzian",
    "make_params",
    "preset_info",
    "preset_model",
    "presets",
    "pseudo_voigt",
    "quantify",
    "register_rsf",
    "rsf_sets",
    "sgl",
    "shirley",
    "tougaard",
    "voigt",
]
