"""The metric registry, units that never mix, first complete cycles, shared covariances, charge correction, verdicts."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import ncmsurf as ns
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.datasets.eis import NCM_TRUTH
from ncmsurf.datasets.eis import synthetic_spectrum as eis_spectrum
from ncmsurf.datasets.xps import synthetic_spectrum as xps_spectrum
from ncmsurf.study import MetricUnavailable, MetricValue, metric_table, register_metric, unregister_metric

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _quiet_analyze(st: ns.Study) -> xr.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return st.analyze(progress=False).metrics()


# ------------------------------------------------------------------------------------------------ registry
def test_registering_a_metric_is_one_declaration() -> None:
    # a new metric: the Ni2+ line width from the Ni 2p fit, declared once
    def width(inp: ns.study.SampleInputs) -> MetricValue:
        fit = inp.xps_fit("Ni 2p")
        v, e = fit.params["Ni2+.fwhm"]
        return MetricValue(v, e, "eV", fit.quality)

    register_metric("ni2_width", kind="xps", unit="meV", description="FWHM of the Ni2+ line", compute=width)
    try:
        st = ns.Study(analysis={"xps_regions": ["Ni 2p"], "charge_correct": False})
        st.add(xps_spectrum("Ni 2p", seed=3), "P-NCM")
        ds = _quiet_analyze(st)
        assert "ni2_width" in ds and ds.attrs["units"]["ni2_width"] == "meV"
        fit = st.result("P-NCM", "xps", "xps_fit:Ni 2p")
        assert float(ds["ni2_width"].values[0]) == pytest.approx(1000 * fit.params["Ni2+.fwhm"][0])  # eV -> meV
        assert str(ds["ni2_width_quality"].values[0]) == fit.quality.level
        assert "ni2_width" in ns.study.metric_catalog().index
        tab = metric_table(ds)
        assert (tab.metric == "ni2_width").sum() == 1
        from ncmsurf.report import _metrics_table  # the report's table is built from the metrics Dataset

        assert ">ni2_width<" in _metrics_table(ds, {})
        with pytest.raises(ns.ValidationError, match="already declared"):
            register_metric("ni2_width", kind="xps", unit="eV", description="x", compute=width)
    finally:
        unregister_metric("ni2_width")
    assert "ni2_width" not in ns.study.metric_catalog().index


def test_registry_refuses_bad_declarations() -> None:
    with pytest.raises(ns.ValidationError, match="kind"):
        register_metric("x_metric", kind="raman", unit="1", description="x", compute=lambda inp: None)
    with pytest.raises(ns.ValidationError, match="unit"):
        register_metric("x_metric", kind="xps", unit="furlongs per fortnight squared-ish", description="x",
                        compute=lambda inp: None)


def test_a_metric_that_raises_unavailable_gives_its_reason() -> None:
    def never(inp: ns.study.SampleInputs) -> MetricValue:
        raise MetricUnavailable("needs a Raman spectrum")

    register_metric("raman_id", kind="eis", unit="1", description="x", compute=never)
    try:
        st = ns.Study().add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "P-NCM")
        ds = _quiet_analyze(st)
        assert ds.attrs["reasons"]["raman_id"]["P-NCM"] == "needs a Raman spectrum"
        assert str(ds["raman_id_quality"].values[0]) == ""
    finally:
        unregister_metric("raman_id")


# ------------------------------------------------------------------------------------------------ units
def test_mixed_areas_give_no_mixed_column_and_a_named_reason() -> None:
    # generator truth: R_ct = NCM_TRUTH["R2"] ohm; with an area of 1.131 cm2 that is R2 * 1.131 ohm cm2
    st = ns.Study(analysis={"eis_circuit": "ncm"})
    st.add(eis_spectrum("ncm", NCM_TRUTH, seed=1, area=1.131), "A(3)-NCM")
    st.add(eis_spectrum("ncm", NCM_TRUTH, seed=2), "F(3)-NCM")
    ds = _quiet_analyze(st)
    assert ds.attrs["units"]["r_ct"] == "ohm*cm**2" and ds["r_ct"].attrs["units"] == "ohm*cm**2"
    assert float(ds["r_ct"].values[0]) == pytest.approx(NCM_TRUTH["R2"] * 1.131, rel=0.03)
    assert math.isnan(float(ds["r_ct"].values[1]))
    assert ds.attrs["reasons"]["r_ct"]["F(3)-NCM"].startswith("no electrode area given")
    assert ds.attrs["reasons"]["c_sei"]["F(3)-NCM"].startswith("no electrode area given")
    assert ds.attrs["units"]["c_sei"] == "uF/cm**2"
    # compare never mixes them: the F value is missing, so there is no difference
    cmp = st.compare("r_ct")
    assert not np.isfinite(cmp["difference"].values).any()


def test_a_study_where_no_sample_has_an_area_uses_the_shared_unit() -> None:
    st = ns.Study(analysis={"eis_circuit": "ncm"})
    st.add(eis_spectrum("ncm", NCM_TRUTH, seed=1), "A(3)-NCM")
    st.add(eis_spectrum("ncm", NCM_TRUTH, seed=2), "F(3)-NCM")
    ds = _quiet_analyze(st)
    assert ds.attrs["units"]["r_ct"] == "ohm"
    assert np.isfinite(ds["r_ct"].values).all()
    assert float(ds["r_ct"].values[0]) == pytest.approx(NCM_TRUTH["R2"], rel=0.03)
    assert ds.attrs["units"]["c_sei"] == "uF"


def _record(mass: float | None, seed: int, **kw: object) -> ns.CyclingData:
    rec = synthetic_record(n_cycles=12, noise=0.002, seed=seed, points_per_cycle=40, mass=mass or 0.01,
                           **kw)  # type: ignore[arg-type]
    return rec if mass is not None else rec.replace(mass=None)


def test_mixed_masses_give_no_mixed_column_and_a_named_reason() -> None:
    st = ns.Study()
    st.add(_record(0.01, 1), "A(3)-NCM")
    st.add(_record(None, 2), "F(3)-NCM")
    ds = _quiet_analyze(st)
    assert ds.attrs["units"]["first_capacity"] == "mAh/g"
    # generator truth: 200 mAh/g at 0.1C before fade; the default protocol runs at 0.5C
    assert 150 < float(ds["first_capacity"].values[0]) < 205
    assert math.isnan(float(ds["first_capacity"].values[1]))
    assert ds.attrs["reasons"]["first_capacity"]["F(3)-NCM"].startswith("no active mass given")
    rate_vars = [m for m in ds.attrs["metric_order"] if m.startswith("capacity_")]
    assert rate_vars and all(ds.attrs["units"][m] == "mAh/g" for m in rate_vars)


def test_implausible_mass_and_area_warn_and_make_the_values_suspect() -> None:
    st = ns.Study()
    st.add(_record(15.4, 1), "A(3)-NCM")
    with pytest.warns(ns.study.InputPlausibilityWarning, match=r"15\.4 g.*was it mg\?"):
        ds = _quiet_analyze(st)
    assert str(ds["first_capacity_quality"].values[0]) == "suspect"
    assert "was it mg?" in ds.attrs["reasons"]["first_capacity_quality"]["A(3)-NCM"]
    st = ns.Study(analysis={"eis_circuit": "ncm"}).add(eis_spectrum("ncm", NCM_TRUTH, seed=1, area=500.0), "P-NCM")
    with pytest.warns(ns.study.InputPlausibilityWarning, match=r"500 cm² is outside 0\.01-100 cm²"):
        ds = _quiet_analyze(st)
    assert str(ds["r_ct_quality"].values[0]) == "suspect"


def test_a_ladder_that_does_not_match_the_stated_capacity_warns() -> None:
    # generator: 200 mAh/g cell; the study states 150 mAh/g, so its C-rates are not the ladder's
    rec = synthetic_record(n_cycles=12, rate_ladder=[(0.1, 3), (0.5, 3), (1.0, 3), (2.0, 3)], seed=4,
                           points_per_cycle=40)
    st = ns.Study(analysis={"nominal_capacity": 150.0}).add(rec, "P-NCM")
    with pytest.warns(ns.study.InputPlausibilityWarning, match="does not match"):
        _quiet_analyze(st)


# ------------------------------------------------------------------------------------------------ cycles and C-rates
def test_c_rate_rule_at_4p4c_and_one_third_c() -> None:
    rec = synthetic_record(n_cycles=12, rate_ladder=[(0.1, 3), (1 / 3, 3), (4.4, 3), (0.1, 3)], seed=5,
                           points_per_cycle=40)
    ds = _quiet_analyze(ns.Study().add(rec, "P-NCM"))
    names = [m for m in ds.attrs["metric_order"] if m.startswith("capacity_")]
    assert "capacity_4p4c" in names and "capacity_0p33c" in names and "capacity_0p1c" in names
    assert "capacity_5c" not in names
    assert ns.study.rate_metric_name(4.4) == "capacity_4p4c" and ns.cycling.c_rate_label(4.4) == "4.4C"
    assert ns.study.rate_metric_name(1 / 3) == "capacity_0p33c" and ns.cycling.c_rate_label(1 / 3) == "0.33C"
    assert "no 5C and 0.1C steps" in ds.attrs["reasons"]["rate_5c_01c"]["P-NCM"]
    assert "4.4C" in ds.attrs["reasons"]["rate_5c_01c"]["P-NCM"]


@pytest.mark.shared_data
def test_xtesla_first_capacity_from_the_first_complete_cycle() -> None:
    path = SHARED / "cycling" / "xTESLADIAG_000019_CH70.070"
    if not path.is_file():
        pytest.skip("../shared/data is absent")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = ns.read_cycling(path)
    st = ns.Study().add(data, "P-NCM")
    ds = _quiet_analyze(st)
    summ = st.result("P-NCM", "cycling", "cycling_summary")
    flag = np.asarray(summ["resolved"].values, bool)
    assert not flag[0]  # the record starts with a short, partial discharge
    first = int(np.flatnonzero(flag)[0])
    q = np.asarray(summ["discharge_capacity"].values, float)
    assert float(ds["first_capacity"].values[0]) == pytest.approx(q[first])  # mAh (no mass in the file)
    assert ds.attrs["units"]["first_capacity"] == "mAh"
    assert math.isfinite(float(ds["first_ce"].values[0]))
    curve = st.result("P-NCM", "cycling", "cycling_retention")
    r = np.asarray(curve.values, float)
    assert np.nanmax(r) <= 1.10 and np.nanmin(r) >= 0.0
    assert np.nanmax(r) == pytest.approx(1.054, abs=0.005)  # its largest discharge: 105 % of the first complete
    assert not bool(curve["complete"].values[0])  # the partial cycle is kept, flagged


def test_charge_only_record_is_summarised() -> None:
    rec = synthetic_record(n_cycles=3, seed=6, points_per_cycle=40)
    keep = rec.current >= 0
    only = ns.CyclingData(rec.time[keep], rec.voltage[keep], rec.current[keep], mass=rec.mass)
    ds = _quiet_analyze(ns.Study().add(only, "P-NCM"))
    assert float(ds["first_charge_capacity"].values[0]) > 150  # generator: ~200 mAh/g / first CE 0.9
    assert "first_charge_capacity" in ds.attrs["reasons"]["first_capacity"]["P-NCM"]


# ------------------------------------------------------------------------------------------------ covariances
def test_total_area_stderr_matches_the_poisson_scatter() -> None:
    # 50 seeded Poisson replicates of one Ni 2p spectrum (generator truth: 2e5 counts eV of main lines)
    totals, errs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for seed in range(50):
            fit = ns.xps.fit(xps_spectrum("Ni 2p", seed=seed), "Ni 2p", background="active-shirley")
            v, e = fit.total_area(fit.main_components)
            totals.append(v)
            errs.append(e)
    scatter = float(np.std(totals, ddof=1))
    stated = float(np.median(errs))
    assert abs(stated / scatter - 1.0) <= 0.30, (stated, scatter)


def _thickness_study() -> ns.Study:
    # generator: Ni 2p main area 2e5 bare, 2e5 exp(-d / 1.8) under d = 0.6 (A) and 1.5 nm (F)
    st = ns.Study(analysis={"attenuation_length": 1.8, "xps_regions": ["Ni 2p"]})
    st.add(xps_spectrum("Ni 2p", area=2e5, seed=11), "P-NCM")
    st.add(xps_spectrum("Ni 2p", area=2e5 * math.exp(-0.6 / 1.8), seed=12), "A(3)-NCM")
    st.add(xps_spectrum("Ni 2p", area=2e5 * math.exp(-1.5 / 1.8), seed=13), "F(3)-NCM")
    return st


def test_compare_takes_out_the_shared_pristine_reference() -> None:
    st = _thickness_study()
    ds = _quiet_analyze(st)
    (i0, _), (ia, sa), (if_, sf) = ((float(ds["ni2p_area"].values[k]), float(ds["ni2p_area_stderr"].values[k]))
                                    for k in range(3))
    cmp = st.compare("thickness_xps")
    d = float(cmp["difference"].sel(pair="F-A", n=3.0, cycles=0))
    e = float(cmp["difference_stderr"].sel(pair="F-A", n=3.0, cycles=0))
    # analytic: d_F - d_A = L ln(I_A / I_F), independent of the pristine area I0
    assert d == pytest.approx(1.8 * math.log(ia / if_), rel=1e-9)
    assert e == pytest.approx(1.8 * math.hypot(sa / ia, sf / if_), rel=1e-6)
    # quadrature of the two stderrs would count the pristine area's error twice
    quad = math.hypot(float(ds["thickness_xps_stderr"].values[1]), float(ds["thickness_xps_stderr"].values[2]))
    assert e < quad
    terms = str(cmp["covariance_terms"].sel(pair="F-A", n=3.0, cycles=0).values)
    assert terms == "Ni 2p area of P-NCM"
    assert "shared error terms" in cmp.attrs["covariance"]
    assert i0 > ia > if_


def test_sims_thickness_carries_the_sputter_rate_stderr() -> None:
    from ncmsurf.datasets.coating import synthetic_profile

    opts = {"sputter_rate": 0.01, "sputter_rate_stderr": 0.0005, "sims_fragment": "AlO2-"}
    st = ns.Study(analysis=opts)
    for label, d, seed in (("A(3)-NCM", 0.6, 1), ("F(3)-NCM", 1.5, 2)):
        st.add(synthetic_profile(coating_thickness=d, sputter_rate=0.01, width=0.2, seed=seed, depth_range=6.0)
               .replace(sputter_rate=None), label)
    ds = _quiet_analyze(st)
    itf = st.result("A(3)-NCM", "sims", "sims_interface")
    d, s = itf.estimate("depth")
    assert float(ds["thickness_sims"].values[0]) == d and float(ds["thickness_sims_stderr"].values[0]) == s
    # the rate's 5 % share is in the stderr: s >= 0.05 d
    assert s >= 0.05 * d * 0.99
    cmp = st.compare("thickness_sims")
    e = float(cmp["difference_stderr"].sel(pair="F-A", n=3.0, cycles=0))
    assert e < math.hypot(float(ds["thickness_sims_stderr"].values[0]), float(ds["thickness_sims_stderr"].values[1]))
    assert "sputter_rate" in str(cmp["covariance_terms"].sel(pair="F-A", n=3.0, cycles=0).values)


def test_thickness_check_flags_by_z_score() -> None:
    st = _thickness_study()
    _quiet_analyze(st)
    chk = st.thickness_check()
    assert "sqrt(stderr1^2 + stderr2^2) > 3" in chk.attrs["rule"]
    assert list(chk["technique"].values)[0] == "xps_attenuation"


# ------------------------------------------------------------------------------------------------ XPS charge correction
def _c1s(center: float) -> ns.XPSSpectrum:
    be = np.linspace(280.0, 296.0, 321)
    return ns.XPSSpectrum(be, 200.0 + 2e4 * np.exp(-((be - center) / 0.7) ** 2), region="C 1s")


def test_charge_correction_is_never_borrowed_across_samples() -> None:
    st = ns.Study(analysis={"xps_regions": ["Ni 2p", "C 1s"]})
    st.add([xps_spectrum("Ni 2p", seed=1), _c1s(285.8)], "P-NCM")  # shifted by -1.0 eV
    own = xps_spectrum("Ni 2p", seed=2)
    st.add(own, "A(3)-NCM")  # no C 1s of its own
    ds = _quiet_analyze(st)
    fit = st.result("A(3)-NCM", "xps", "xps_fit:Ni 2p")
    assert np.array_equal(np.sort(fit.binding_energy), np.sort(own.binding_energy))  # left as measured
    shifted = st.result("P-NCM", "xps", "xps_fit:Ni 2p")
    assert np.sort(shifted.binding_energy)[0] == pytest.approx(np.sort(own.binding_energy)[0] - 1.0, abs=0.05)
    assert str(ds["ni2_fraction_quality"].values[1]) == "suspect"
    assert "no C 1s spectrum of its own" in ds.attrs["reasons"]["ni2_fraction_quality"]["A(3)-NCM"]
    assert any("not charge corrected" in n for n in st.notes["A(3)-NCM"])


def test_a_refused_charge_shift_is_a_recorded_error_naming_the_file(tmp_path: Path) -> None:
    # a "C 1s" window whose line sits 6.7 eV from 284.8: more than the 5 eV limit
    from ncmsurf.io.vamas import write_vamas

    p = tmp_path / "bad_c1s.vms"
    write_vamas([xps_spectrum("Ni 2p", seed=1), _c1s(291.5)], p)
    st = ns.Study(analysis={"xps_regions": ["Ni 2p", "C 1s"]})
    st.add(ns.read_xps(p), "P-NCM", source="bad_c1s.vms")
    ds = _quiet_analyze(st)  # no crash
    assert np.isfinite(ds["ni2_fraction"].values[0])
    why = ds.attrs["reasons"]["ni2_fraction_quality"]["P-NCM"]
    assert "charge correction refused" in why and "bad_c1s.vms" in why
    assert str(ds["ni2_fraction_quality"].values[0]) == "suspect"


def test_al_ni_ratio_says_which_corrections_were_applied() -> None:
    st = ns.Study(analysis={"xps_regions": ["Ni 2p", "Al 2p"]})
    st.add([xps_spectrum("Ni 2p", seed=1, area=1.4e5),
            xps_spectrum("Al 2p", fractions={"Al2O3": 0.8, "AlF3": 0.2}, area=8e3, seed=2)], "A(3)-NCM")
    ds = _quiet_analyze(st)
    assert np.isfinite(ds["al_ni_ratio"].values[0])
    assert "corrections applied" in ds["al_ni_ratio"].attrs["description"]
    assert "0.75" in ds["al_ni_ratio"].attrs["description"]


# ------------------------------------------------------------------------------------------------ EIS verdicts
def test_a_single_arc_spectrum_gives_no_r_sei() -> None:
    one = eis_spectrum("R0-p(R1,CPE1)", {"R0": 3.0, "R1": 50.0, "CPE1_0": 2e-4, "CPE1_1": 0.9}, seed=3, area=1.0)
    ds = _quiet_analyze(ns.Study().add(one, "P-NCM"))
    assert math.isnan(float(ds["r_sei"].values[0]))
    assert "R_SEI" in ds.attrs["reasons"]["r_sei"]["P-NCM"]
    assert float(ds["r_ct"].values[0]) == pytest.approx(50.0, rel=0.05)  # generator truth
    assert str(ds["r_ct_quality"].values[0]) == "suspect"
    assert "not_resolved" in ds.attrs["reasons"]["r_ct_quality"]["P-NCM"]


def test_compare_excludes_failed_values_and_reports_suspect_ones() -> None:
    st = _thickness_study()
    ds = _quiet_analyze(st)
    labels = list(ds.sample.values)
    q = ds["thickness_xps_quality"].values.copy()
    q[labels.index("F(3)-NCM")] = "failed"
    q[labels.index("A(3)-NCM")] = "suspect"
    ds["thickness_xps_quality"].values[:] = q
    ds.attrs["reasons"]["thickness_xps_quality"] = {"F(3)-NCM": "[not_converged] x", "A(3)-NCM": "[at_bound] y"}
    from ncmsurf.study._compare import compare_metric

    cmp = compare_metric(st.samples, ds, "thickness_xps", "method")
    assert math.isnan(float(cmp["value"].sel({"method": "F", "n": 3.0, "cycles": 0})))
    assert cmp.attrs["excluded"] == {"F(3)-NCM": "[not_converged] x"}
    assert bool(cmp["suspect"].sel({"method": "A", "n": 3.0, "cycles": 0}))
    assert cmp.attrs["suspect"] == {"A(3)-NCM": "[at_bound] y"}
