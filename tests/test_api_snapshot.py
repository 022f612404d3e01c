"""Public API snapshot: the names users import must not change by accident.

Adding a name means adding it here on purpose; removing or renaming one breaks
users' notebooks and is refused by this test.
"""

from __future__ import annotations

import importlib

import pytest

import ncmsurf as ns

TOP_LEVEL = [
    "CyclingData", "DepthProfile", "ElementMap", "FitError", "FitResult", "ImpedanceSpectrum", "NcmsurfError",
    "NcmsurfWarning", "Quality", "ReadError", "Sample", "Study", "TEMImage", "ValidationError", "XPSSpectrum",
    "__version__", "citations", "cycling", "datasets", "eds",
    "eis", "figures", "load", "methods", "read", "read_cycling", "read_eds", "read_eis", "read_sims", "read_tem",
    "read_xps", "register_method", "save", "sims", "study", "tem", "thickness", "ureg", "xps",
]

# The API.md contract: names each subpackage must offer (more are allowed, listed in SNAPSHOT).
CONTRACT = {
    "ncmsurf.xps": ["shirley", "tougaard", "linear", "presets", "fit", "Peak", "Doublet", "XPSFit", "charge_correct",
                    "quantify", "casa_regions"],
    "ncmsurf.eis": ["fit", "CircuitFit", "kramers_kronig", "drt", "fit_many", "select_circuit"],
    "ncmsurf.cycling": ["summary", "rate_capability", "fit_fade", "FadeFit", "dqdv", "gitt", "dcir"],
    "ncmsurf.sims": ["normalize", "interface"],
    "ncmsurf.eds": ["coverage", "uniformity", "correlation"],
    "ncmsurf.study": ["Study", "metric_catalog", "metric_table", "register_metric"],
    "ncmsurf.thickness": ["imfp_tpp2m", "from_attenuation", "from_ratio", "from_arxps"],
    "ncmsurf.datasets": ["demo_study"],
    "ncmsurf.figures": ["eds_maps", "xps_panels", "nyquist", "rate_eis_cycling", "tem", "sims_profiles",
                        "metrics_vs_n", "save"],
    "ncmsurf.core": ["Sample", "XPSSpectrum", "ImpedanceSpectrum", "CyclingData", "DepthProfile", "ElementMap",
                     "NcmsurfError", "ReadError", "ValidationError", "FitError", "ureg", "register_method", "methods"],
    "ncmsurf.io": ["read", "read_xps", "read_eis", "read_cycling", "read_sims", "read_eds", "save", "load",
                   "register_reader", "readers"],
}


# The full public surface of each subpackage today (update on purpose when adding a name).
SNAPSHOT = {'ncmsurf.study': ['Entry', 'InputPlausibilityWarning', 'KINDS', 'Manifest', 'ManifestEntry', 'Metric',
                   'MetricUnavailable', 'MetricValue', 'SampleInputs', 'Study', 'kind_of', 'metric_catalog',
                   'metric_names', 'metric_table', 'metrics_registry', 'rate_metric_name', 'read_manifest',
                   'register_metric', 'shared_covariance', 'unregister_metric'],
 'ncmsurf.core': ['CyclingData', 'DepthProfile', 'ElementMap', 'FitError', 'FitResult', 'FitStatus',
                  'ImpedanceSpectrum', 'Measurement', 'NcmsurfError', 'NcmsurfWarning', 'Quality', 'Quantity',
                  'ReadError', 'Reason', 'Sample', 'TEMImage', 'ValidationError', 'XPSSpectrum', 'array_magnitude',
                  'citations', 'format_unit', 'group_by_method', 'magnitude', 'methods', 'quantity',
                  'register_citation', 'register_method', 'register_reason_code', 'result_types', 'ureg'],
 'ncmsurf.cycling': ['BDF_COLUMNS', 'CONVENTIONS', 'CapacityCheckWarning', 'DCIRResult', 'FADE_MODELS', 'FadeFit',
                     'GITTResult', 'GITT_METHODS', 'HPPC_TIMES', 'NCM_WINDOWS', 'Segmentation', 'c_rate_label',
                     'dcir', 'dqdv', 'fade_law', 'fit_fade', 'gap_intervals', 'gitt', 'nominal_c_rate',
                     'rate_capability', 'read_bdf', 'segment', 'snap_c_rate', 'summary', 'surface_response',
                     'to_bdf', 'track_peaks', 'weppner_huggins_bias'],
 'ncmsurf.datasets': ['coating', 'cycling', 'demo_study', 'demo_truth', 'eis', 'gitt', 'tem', 'xps'],
 'ncmsurf.figures': ['ELEMENT_COLORS', 'OKABE_ITO', 'ROUTE_COLORS', 'SIFigure', 'SI_FIGURES', 'STYLES',
                     'SupplementarySet', 'axis_label', 'bode', 'check_layout', 'dqdv', 'eds_maps', 'figure_notes',
                     'metrics_vs_n', 'nyquist', 'rate_eis_cycling', 'rate_label', 'sample_color', 'save',
                     'sims_profiles', 'supplementary', 'tem', 'unit_text', 'verdict', 'xps_panels'],
 'ncmsurf.eds': ['Coverage', 'EDSSpectrum', 'Hypermap', 'LINE_ENERGIES', 'LineOverlapWarning', 'ShellWidth',
                 'Uniformity', 'correlation', 'coverage', 'detector_fwhm', 'line_energy', 'line_window',
                 'otsu_threshold', 'particle_mask', 'radial_profile', 'read_hypermap', 'read_msa', 'shell_width',
                 'uniformity', 'write_msa'],
 'ncmsurf.eis': ['CANDIDATES', 'CircuitFit', 'CompiledCircuit', 'DRTResult', 'EISFitWarning', 'KKResult', 'PRESETS',
                 'WEIGHTINGS', 'compile_circuit', 'drt', 'fit', 'fit_many', 'kramers_kronig', 'select_circuit'],
 'ncmsurf.io': ['KINDS', 'Reader', 'SimpleReader', 'choose_reader', 'load', 'max_read_bytes', 'read', 'read_cycling',
                'read_eds', 'read_eis', 'read_limit', 'read_sims', 'read_tem', 'read_xps', 'reader_options', 'readers',
                'register_reader', 'register_storable', 'save', 'set_max_read_bytes', 'sniff_scores',
                'storable_types'],
 'ncmsurf.sims': ['CloseMassWarning', 'FRAGMENTS', 'ISOTOPES', 'Interface', 'check_fragments', 'close_pairs',
                  'fragment_mass', 'fragment_table', 'integrate', 'interface', 'is_ratio', 'isotope_mass', 'normalize',
                  'normalize_name', 'parse_formula', 'ratio_terms', 'split_group', 'time_to_depth',
                  'with_sputter_rate'],
 'ncmsurf.tem': ['CoatingThickness', 'coating_thickness', 'line_profile'],
 'ncmsurf.thickness': ['ArxpsResult', 'DepositionRate', 'DisagreementWarning', 'EPSILON_0', 'POWDER_NOTE',
                       'Thickness', 'Z_THRESHOLD', 'cross_check',
                       'deposition_rate', 'deposition_rates', 'effective_attenuation_length', 'from_arxps',
                       'from_attenuation', 'from_capacitance', 'from_ratio', 'imfp_tpp2m', 'overlayer_ratio'],
 'ncmsurf.xps': ['AreaTie', 'CasaComponent', 'CasaRegion', 'ChargeReferenceError', 'ChargeReferenceWarning',
                 'Doublet', 'JointFit', 'Peak', 'Quantification', 'QuantificationWarning', 'Satellite',
                 'SharedShift', 'XPSFit', 'XPSStackFit', 'al_ni_ratio', 'carbonate_share', 'casa_regions',
                 'charge_correct', 'coated_o1s_fit',
                 'doniach_sunjic', 'element_lines', 'find_peaks', 'fit', 'fit_joint', 'fit_stack', 'gaussian', 'gl',
                 'identify', 'la',
                 'line_table', 'linear', 'lorentzian', 'make_params', 'ni2_fraction', 'ni3p_tie', 'preset_info',
                 'preset_model', 'preset_variants', 'presets', 'pseudo_voigt', 'quantify', 'register_rsf',
                 'rsf_sets', 'sgl', 'shirley', 'stoichiometric_tie', 'suggest_regions', 'tougaard', 'voigt']}


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
