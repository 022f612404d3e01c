"""Galvanostatic cycling analysis: segmentation, per-cycle summary, rate capability, fade, dQ/dV.

Every function takes a :class:`~ncmsurf.core.models.CyclingData` (current in
A) and an explicit electrode ``convention``: ``"cathode"`` (default; positive
current is the charge, as for an NCM half cell), ``"full-cell"`` (same
sign), or ``"anode"`` (negative current, lithiation of an anode half cell,
is counted as the charge). A cycle is a charge followed by a discharge and
CE = discharge / charge.

Examples
--------
>>> import ncmsurf as ns
>>> from ncmsurf.datasets.cycling import synthetic_record
>>> rec = synthetic_record(n_cycles=4, noise=0.0, c_rate=0.1)
>>> s = ns.cycling.summary(rec)
>>> s.sizes["cycle"], s.discharge_capacity.attrs["units"]
(4, 'mAh/g')
"""

from ncmsurf.cycling._bdf import BDF_COLUMNS, read_bdf, to_bdf
from ncmsurf.cycling._dcir import HPPC_TIMES, DCIRResult, dcir
from ncmsurf.cycling._dqdv import NCM_WINDOWS, dqdv, track_peaks
from ncmsurf.cycling._fade import FADE_MODELS, FadeFit, fade_law, fit_fade
from ncmsurf.cycling._gitt import GITT_METHODS, GITTResult, gitt, surface_response, weppner_huggins_bias
from ncmsurf.cycling._rate import c_rate_label, nominal_c_rate, rate_capability, snap_c_rate
from ncmsurf.cycling._segment import CONVENTIONS, Segmentation, gap_intervals, segment
from ncmsurf.cycling._summary import CapacityCheckWarning, summary

__all__ = [
    "BDF_COLUMNS",
    "CONVENTIONS",
    "FADE_MODELS",
    "GITT_METHODS",
    "HPPC_TIMES",
    "NCM_WINDOWS",
    "CapacityCheckWarning",
    "DCIRResult",
    "FadeFit",
    "GITTResult",
    "Segmentation",
    "c_rate_label",
    "dcir",
    "dqdv",
    "fade_law",
    "fit_fade",
    "gap_intervals",
    "gitt",
    "nominal_c_rate",
    "rate_capability",
    "read_bdf",
    "segment",
    "snap_c_rate",
    "summary",
    "surface_response",
    "to_bdf",
    "track_peaks",
    "weppner_huggins_bias",
]
