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
from ncmsurf.xps._charge import ChargeReferenceError, ChargeReferenceWarning, charge_correct
from ncmsurf.xps._fit import XPSFit, XPSStackFit, fit, line_table, make_params
from ncmsurf.xps._identify import element_lines, find_peaks, identify, suggest_regions
from ncmsurf.xps._joint import AreaTie, JointFit, SharedShift, fit_joint, ni3p_tie, stoichiometric_tie
from ncmsurf.xps._lineshapes import doniach_sunjic, gaussian, gl, la, lorentzian, pseudo_voigt, sgl, voigt
from ncmsurf.xps._peaks import Doublet, Peak, Satellite, preset_info, preset_model, preset_variants, presets
from ncmsurf.xps._quantify import Quantification, QuantificationWarning, quantify, register_rsf, rsf_sets
from ncmsurf.xps._states import al_ni_ratio, carbonate_share, coated_o1s_fit, ni2_fraction

__all__ = [
    "AreaTie",
    "CasaComponent",
    "CasaRegion",
    "ChargeReferenceError",
    "ChargeReferenceWarning",
    "Doublet",
    "JointFit",
    "Peak",
    "Quantification",
    "QuantificationWarning",
    "Satellite",
    "SharedShift",
    "XPSFit",
    "XPSStackFit",
    "al_ni_ratio",
    "carbonate_share",
    "casa_regions",
    "charge_correct",
    "coated_o1s_fit",
    "doniach_sunjic",
    "element_lines",
    "find_peaks",
    "fit",
    "fit_joint",
    "fit_stack",
    "gaussian",
    "gl",
    "identify",
    "la",
    "line_table",
    "linear",
    "lorentzian",
    "make_params",
    "ni2_fraction",
    "ni3p_tie",
    "preset_info",
    "preset_model",
    "preset_variants",
    "presets",
    "pseudo_voigt",
    "quantify",
    "register_rsf",
    "rsf_sets",
    "sgl",
    "shirley",
    "stoichiometric_tie",
    "suggest_regions",
    "tougaard",
    "voigt",
]
