"""Public API snapshot: the names users import must not change by accident.

Adding a name means adding it here on purpose; removing or renaming one breaks
users' notebooks and is refused by this test.
"""

from __future__ import annotations

import importlib

import pytest

import ncmsurf as ns

TOP_LEVEL = [
    "CyclingData", "DepthProfile", "ElementMap", "FitError", "ImpedanceSpectrum", "NcmsurfError", "NcmsurfWarning",
    "ReadError", "Sample", "Study", "ValidationError", "XPSSpectrum", "__version__", "cycling", "datasets", "eds",
    "eis", "load", "methods", "read", "read_cycling", "read_eds", "read_eis", "read_sims", "read_xps",
    "register_method", "save", "sims", "thickness", "ureg", "xps",
]

# The API.md contract: names each subpackage must offer (more are allowed, listed in SNAPSHOT).
CONTRACT = {
    "ncmsurf.xps": ["shirley", "tougaard", "linear", "presets", "fit", "Peak", "Doublet", "XPSFit", "charge_correct",
                    "quantify", "casa_regions"],
    "ncmsurf.eis": ["fit", "CircuitFit", "kramers_kronig", "drt", "fit_many"],
    "ncmsurf.cycling": ["summary", "rate_capability", "fit_fade", "FadeFit", "dqdv"],
    "ncmsurf.sims": ["normalize", "interface"],
    "ncmsurf.eds": ["coverage", "uniformity", "correlation"],
    "ncmsurf.thickness": ["imfp_tpp2m", "from_attenuation", "from_ratio", "from_arxps"],
    "ncmsurf.datasets": ["demo_study"],
    "ncmsurf.core": ["Sample", "XPSSpectrum", "ImpedanceSpectrum", "CyclingData", "DepthProfile", "ElementMap",
                     "NcmsurfError", "ReadError", "ValidationError", "FitError", "ureg", "register_method", "methods"],
    "ncmsurf.io": ["read", "read_xps", "read_eis", "read_cycling", "read_sims", "read_eds", "save", "load",
                   "register_reader", "readers"],
}


# The full public surface of each subpackage today (update on purpose when adding a name).
SNAPSHOT = {'ncmsurf.core': ['CyclingData', 'DepthProfile', 'ElementMap', 'FitError', 'FitStatus', 'ImpedanceSpectrum',
                  'Measurement', 'NcmsurfError', 'NcmsurfWarning', 'Quantity', 'ReadError', 'Sample',
                  'ValidationError', 'XPSSpectrum', 'array_magnitude', 'citations', 'group_by_method', 'magnitude',
                  'methods', 'quantity', 'register_citation', 'register_method', 'ureg'],
 'ncmsurf.cycling': ['CONVENTIONS', 'FADE_MODELS', 'FadeFit', 'NCM_WINDOWS', 'Segmentation', 'dqdv', 'fade_law',
                     'fit_fade', 'nominal_c_rate', 'rate_capability', 'segment', 'summary', 'track_peaks'],
 'ncmsurf.datasets': ['coating', 'cycling', 'demo_study', 'demo_truth', 'eis', 'xps'],
 'ncmsurf.eds': ['Coverage', 'EDSSpectrum', 'ShellWidth', 'Uniformity', 'correlation', 'coverage', 'otsu_threshold',
                 'particle_mask', 'radial_profile', 'read_msa', 'shell_width', 'uniformity', 'write_msa'],
 'ncmsurf.eis': ['CircuitFit', 'CompiledCircuit', 'DRTResult', 'EISFitWarning', 'KKResult', 'PRESETS', 'WEIGHTINGS',
                 'compile_circuit', 'drt', 'fit', 'fit_many', 'kramers_kronig'],
 'ncmsurf.io': ['KINDS', 'Reader', 'SimpleReader', 'choose_reader', 'load', 'max_read_bytes', 'read', 'read_cycling',
                'read_eds', 'read_eis', 'read_limit', 'read_sims', 'read_xps', 'reader_options', 'readers',
                'register_reader', 'save', 'set_max_read_bytes', 'sniff_scores'],
 'ncmsurf.sims': ['CloseMassWarning', 'FRAGMENTS', 'Interface', 'check_fragments', 'close_pairs', 'fragment_mass',
                  'fragment_table', 'integrate', 'interface', 'normalize', 'parse_formula', 'time_to_depth',
                  'with_sputter_rate'],
 'ncmsurf.thickness': ['ArxpsResult', 'DepositionRate', 'DisagreementWarning', 'Thickness', 'cross_check',
                       'deposition_rate', 'deposition_rates', 'effective_attenuation_length', 'from_arxps',
                       'from_attenuation', 'from_capacitance', 'from_ratio', 'imfp_tpp2m', 'overlayer_ratio'],
 'ncmsurf.xps': ['CasaComponent', 'CasaRegion', 'ChargeReferenceWarning', 'Doublet', 'Peak', 'Satellite', 'XPSFit',
                 'casa_regions', 'charge_correct', 'doniach_sunjic', 'fit', 'fit_stack', 'gaussian', 'gl', 'la',
                 'line_table', 'linear', 'lorentzian', 'make_params', 'preset_info', 'preset_model', 'presets',
                 'pseudo_voigt', 'quantify', 'register_rsf', 'rsf_sets', 'sgl', 'shirley', 'tougaard', 'voigt']}


def test_top_level_all_is_the_snapshot() -> None:
    assert sorted(ns.__all__) == sorted(TOP_LEVEL)
    for name in ns.__all__:
        assert getattr(ns, name) is not None, name


def test_top_level_signatures() -> None:
    import inspect

    assert list(inspect.signature(ns.Sample.parse).parameters) == ["text", "cycles", "n_unit"]
    assert list(inspect.signature(ns.read).parameters)[:2] == ["path", "kind"]
    assert list(inspect.signature(ns.save).parameters) == ["obj", "path"]
    assert list(inspect.signature(ns.XPSSpectrum).parameters)[:5] == ["binding_energy", "intensity", "region",
                                                                       "sample", "meta"]
    assert list(inspect.signature(ns.ImpedanceSpectrum).parameters)[:5] == ["frequency", "impedance", "sample",
                                                                             "area", "meta"]
    assert list(inspect.signature(ns.CyclingData).parameters)[:8] == ["time", "voltage", "current", "cycle", "step",
                                                                       "mass", "sample", "meta"]


@pytest.mark.parametrize("module", sorted(CONTRACT))
def test_subpackage_all_holds_the_contract(module: str) -> None:
    mod = importlib.import_module(module)
    assert hasattr(mod, "__all__"), f"{module} has no hard-coded __all__"
    missing = [n for n in CONTRACT[module] if n not in mod.__all__]
    assert not missing, f"{module}.__all__ lacks {missing}"
    for name in mod.__all__:
        assert hasattr(mod, name), f"{module}.{name} listed in __all__ but missing"


@pytest.mark.parametrize("module", sorted(SNAPSHOT))
def test_subpackage_all_is_the_snapshot(module: str) -> None:
    mod = importlib.import_module(module)
    assert sorted(mod.__all__) == SNAPSHOT[module]
