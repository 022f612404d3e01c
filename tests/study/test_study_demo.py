"""The demo study end to end: metrics recover the generating truth, reasons for every NaN, storage, compare."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ns.datasets.demo_study(tmp_path_factory.mktemp("demo") / "study")


@pytest.fixture(scope="module")
def demo(demo_folder: Path) -> ns.Study:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # lmfit: sqrt of a negative covariance diagonal
        return ns.Study.from_folder(demo_folder).analyze(progress=False)


def _truth(study: ns.Study) -> dict:
    return study.manifest_extra["truth"]


def test_demo_is_labelled_synthetic(demo_folder: Path, demo: ns.Study) -> None:
    text = (demo_folder / "study.toml").read_text()
    assert "SYNTHETIC" in text
    assert demo.manifest_extra["generator"]["synthetic"] is True
    assert len(demo.samples) == 14  # P, A(1,3,5), F(1,3,5) x fresh / 100 cycles
    assert {s.cycles for s in demo.samples} == {0, 100}


def test_metrics_shape(demo: ns.Study) -> None:
    ds = demo.metrics()
    assert list(ds.sample.values) == [s.label for s in demo.samples]
    for coord in ("method", "n", "cycles"):
        assert coord in ds.coords
    for m in ("ni2_fraction", "lif_share", "carbonate_share", "al_ni_ratio", "r_s", "r_sei", "r_ct", "c_sei",
              "first_capacity", "first_ce", "capacity_0p1c", "capacity_5c", "rate_5c_01c", "retention_100",
              "cycles_to_80", "thickness_xps", "thickness_sims"):
        assert m in ds and f"{m}_stderr" in ds, m
    assert ds["r_ct"].attrs["units"] == "ohm*cm**2"


# No floor: |found - truth| <= 3 stderr (the stderr alone; the full coverage count over >= 20 seeds is
# benchmarks/calibration_study.py, figures in docs/guide/study.md).
CHECKED = ("r_ct", "r_sei", "r_s", "retention_100", "ni2_fraction", "lif_share", "thickness_xps", "thickness_sims",
           "rate_5c_01c", "first_capacity", "capacity_5c", "c_sei", "coverage")


@pytest.mark.parametrize("metric", CHECKED)
def test_recovers_truth_within_uncertainty(demo: ns.Study, metric: str) -> None:
    # expected values: the generator's known truth recorded in the manifest's [truth] table
    ds = demo.metrics()
    truth = _truth(demo)
    checked = 0
    z = []
    for i, label in enumerate(ds.sample.values):
        t = truth[str(label)].get(metric)
        if t is None or str(ds[f"{metric}_quality"].values[i]) == "failed":
            continue
        v, s = float(ds[metric].values[i]), float(ds[f"{metric}_stderr"].values[i])
        if not math.isfinite(v) and metric == "coverage":
            continue  # the demo has EDS maps of the fresh coated samples only
        assert math.isfinite(v) and math.isfinite(s) and s > 0, (label, v, s)
        assert abs(v - t) <= 3 * s + 5e-7, (metric, label, v, s, t)
        z.append((v - t) / s)
        checked += 1
    assert checked >= 6
    assert abs(float(np.mean(z))) < 3.0 / math.sqrt(len(z)) + 0.5  # no gross bias across the samples


def test_film_capacitance_recovers_generator(demo: ns.Study) -> None:
    # the generator's SEI element: Q = 2e-5 F s^(alpha-1), alpha = 0.85 on the electrode (not per cm2),
    # R = r_sei / area; Hsu-Mansfeld C = (Q R^(1 - alpha))^(1 / alpha), reported per cm2 in uF
    from ncmsurf.datasets.demo import AREA_CM2

    ds = demo.metrics()
    assert ds["c_sei"].attrs["units"] == "uF/cm**2"
    truth = _truth(demo)
    for i, label in enumerate(ds.sample.values):
        r = truth[str(label)]["r_sei"] / AREA_CM2
        expected = 1e6 * (2e-5 * r**0.15) ** (1 / 0.85) / AREA_CM2
        v, se = float(ds["c_sei"].values[i]), float(ds["c_sei_stderr"].values[i])
        assert abs(v - expected) <= 3 * se + 0.01 * expected, (label, v, se, expected)


def test_thickness_recovers_route_rate_times_n(demo: ns.Study) -> None:
    # truth: thickness = route rate x n (A 0.2 nm/min, F 0.5 nm/min), from the generator
    ds = demo.metrics()
    truth = _truth(demo)
    for i, label in enumerate(ds.sample.values):
        t = truth[str(label)]["thickness_nm"]
        sims = float(ds["thickness_sims"].values[i])
        if math.isfinite(sims):
            assert sims == pytest.approx(t, abs=0.05)  # generator: 16-84 % interface width 0.2 nm
        xps_d, xps_s = float(ds["thickness_xps"].values[i]), float(ds["thickness_xps_stderr"].values[i])
        if math.isfinite(xps_d):
            assert abs(xps_d - t) <= 3 * xps_s
    cmp = demo.compare("thickness_sims")
    rate = cmp["slope"].sel(cycles=0)
    assert float(rate.sel({"method": "A"})) == pytest.approx(0.2, abs=0.02)
    assert float(rate.sel({"method": "F"})) == pytest.approx(0.5, abs=0.02)


def test_every_nan_has_a_reason_and_only_where_a_file_is_missing(demo: ns.Study) -> None:
    ds = demo.metrics()
    reasons = ds.attrs["reasons"]
    import re

    allowed = re.compile(r"^(no (xps|eis|cycling|sims|eds|tem) file for this sample|pristine sample.*: no coating)$")
    for m in ds.data_vars:
        m = str(m)
        if m.endswith(("_stderr", "_quality")):
            continue
        for i, label in enumerate(ds.sample.values):
            if math.isnan(float(ds[m].values[i])):
                why = reasons[m][str(label)]
                assert allowed.match(why), (m, label, why)
            else:
                assert str(label) not in reasons.get(m, {})
    # the supported metrics are complete: cycling for every fresh cell, XPS and EIS for every sample
    for m in ("ni2_fraction", "lif_share", "carbonate_share", "r_s", "r_sei", "r_ct"):
        assert np.isfinite(ds[m].values).all(), m
    fresh = ds.cycles.values == 0
    for m in ("first_capacity", "first_ce", "capacity_5c", "rate_5c_01c", "retention_100"):
        assert np.isfinite(ds[m].values[fresh]).all(), m
        assert reasons[m]["A(3)-NCM@100"] == "no cycling file for this sample"
    assert reasons["thickness_sims"]["P-NCM"] == "pristine sample: no coating"
    assert reasons["thickness_xps"]["P-NCM"] == "pristine sample: no coating"


def test_expected_trends(demo: ns.Study) -> None:
    ds = demo.metrics().set_index(sample="sample")
    r_ct = ds["r_ct"]
    assert float(r_ct.sel(sample="F(5)-NCM")) < float(r_ct.sel(sample="P-NCM"))
    assert float(r_ct.sel(sample="A(3)-NCM@100")) > float(r_ct.sel(sample="A(3)-NCM"))
    ret = ds["retention_100"]
    assert float(ret.sel(sample="F(5)-NCM")) > float(ret.sel(sample="P-NCM"))


def test_compare_difference_and_uncertainty(demo: ns.Study) -> None:
    cmp = demo.compare("r_ct")
    assert list(cmp["method"].values) == ["A", "F"]
    assert list(cmp["pair"].values) == ["F-A"]
    ds = demo.metrics().set_index(sample="sample")
    a, f = ds["r_ct"].sel(sample="A(3)-NCM"), ds["r_ct"].sel(sample="F(3)-NCM")
    sa, sf = ds["r_ct_stderr"].sel(sample="A(3)-NCM"), ds["r_ct_stderr"].sel(sample="F(3)-NCM")
    d = cmp["difference"].sel(pair="F-A", n=3.0, cycles=0)
    # analytic: difference of the two values, stderrs in quadrature
    assert float(d) == pytest.approx(float(f - a), rel=1e-12)
    assert float(cmp["difference_stderr"].sel(pair="F-A", n=3.0, cycles=0)) == pytest.approx(
        math.hypot(float(sa), float(sf)), rel=1e-12)
    assert float(cmp["reference"].sel(cycles=0)) == pytest.approx(float(ds["r_ct"].sel(sample="P-NCM")))
    by_c = demo.compare("r_ct", by="cycles")
    assert list(by_c["pair"].values) == ["100-0"]
    assert float(by_c["difference"].sel({"pair": "100-0", "method": "A", "n": 3.0})) > 0
    with pytest.raises(ns.ValidationError, match="unknown metric"):
        demo.compare("no_such_metric")
    with pytest.raises(ns.ValidationError, match="by must be"):
        demo.compare("r_ct", by="colour")


def test_study_saves_and_loads_losslessly(demo: ns.Study, tmp_path: Path) -> None:
    # two samples of the demo with every kind of measurement (the whole demo takes ~1 min to store)
    small = ns.Study(name="subset", analysis=demo.analysis_options)
    small.manifest_extra = {"truth": {k: demo.manifest_extra["truth"][k] for k in ("P-NCM", "F(3)-NCM")}}
    for e in demo.entries:
        if e.sample.label in ("P-NCM", "F(3)-NCM") and e.measurement is not None:
            small.add(e.measurement, e.sample, source=e.source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        small.analyze(progress=False)
    p = ns.save(small, tmp_path / "study.nc")
    back = ns.load(p)
    assert isinstance(back, ns.Study)
    assert back == small
    assert back.metrics().identical(small.metrics())
    assert back.metrics().attrs == small.metrics().attrs
    assert {k.split("|")[1] for k in back.results()} == {"xps", "eis", "cycling", "sims", "eds", "tem"}
    assert len(back.results()) == len(small.results())
    fit = back.result("F(3)-NCM", "eis", "eis_fit")
    assert fit is not None and fit.named["R_ct"] == small.result("F(3)-NCM", "eis", "eis_fit").named["R_ct"]
    # an unanalysed study round-trips too
    fresh = ns.Study(name="raw").add(small.measurements("P-NCM", "eis"), "P-NCM")
    assert ns.load(ns.save(fresh, tmp_path / "raw.nc")) == fresh


def test_metric_catalogue_is_documented() -> None:
    cat = ns.study.metric_catalog()
    for name, row in cat.iterrows():
        assert row["kind"] in ns.study.KINDS, name
        assert row["description"], name
        ns.ureg.Unit(row["unit"] if row["unit"] not in ("1", "cycle") else "dimensionless")


def test_metrics_carry_one_unit_and_a_verdict_each(demo: ns.Study) -> None:
    ds = demo.metrics()
    units = ds.attrs["units"]
    for m in ds.attrs["metric_order"]:
        assert units[m] == ds[m].attrs["units"], m
        q = ds[f"{m}_quality"].values
        v = ds[m].values
        assert set(q[np.isfinite(v)]) <= {"good", "suspect", "failed"}, m
        assert set(q[~np.isfinite(v)]) <= {""}, m
        for lab, level in zip(ds.sample.values, q):
            if level in ("suspect", "failed"):
                assert ds.attrs["reasons"][f"{m}_quality"][str(lab)], (m, lab)
