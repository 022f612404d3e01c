"""Deposition rate regression, the multi-method cross-check and result storage."""

from __future__ import annotations

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.datasets.coating import synthetic_profile
from ncmsurf.thickness import DepositionRate, Thickness


def test_deposition_rate_recovers_known_slope() -> None:
    rng = np.random.default_rng(3)
    samples = [f"A({n})-NCM" for n in (1, 2, 3, 5, 8)]
    n = np.array([1, 2, 3, 5, 8.0])
    d = 0.42 * n + 0.02 * rng.standard_normal(n.size)  # known truth: 0.42 nm per minute
    rate, low, high = ns.thickness.deposition_rate(samples, d, stderr=np.full(n.size, 0.02))
    assert rate == pytest.approx(0.42, abs=0.02)
    assert low < 0.42 < high
    res = ns.thickness.deposition_rate(samples, d)
    assert isinstance(res, DepositionRate) and res.method == "A" and res.n_points == 5
    # quantities: n in hours is converted to minutes
    r_q = ns.thickness.deposition_rate(ns.ureg.Quantity(n / 60.0, "hour"), d)
    assert r_q.rate == pytest.approx(res.rate, rel=1e-9)


def test_deposition_rate_intercept_and_errors() -> None:
    n = np.array([1, 2, 3, 4.0])
    d = 0.3 * n + 0.5  # exact line with a nucleation offset
    res = ns.thickness.deposition_rate(n, d, intercept=True)
    assert res.rate == pytest.approx(0.3, rel=1e-9) and res.intercept == pytest.approx(0.5, rel=1e-9)
    with pytest.raises(ValidationError, match="several coating routes"):
        ns.thickness.deposition_rate(["A(1)-NCM", "F(2)-NCM"], [1, 2])
    with pytest.raises(ValidationError, match="one per sample"):
        ns.thickness.deposition_rate([1, 2, 3], [1, 2])
    per_route = ns.thickness.deposition_rates(["P-NCM", "A(1)-NCM", "A(2)-NCM", "F(2)-NCM", "F(4)-NCM"],
                                              [0.0, 0.5, 1.0, 0.4, 0.8])
    assert per_route["A"].rate == pytest.approx(0.5, rel=1e-9)  # exact data
    assert per_route["F"].rate == pytest.approx(0.2, rel=1e-9)


def test_cross_check_flags_disagreement_and_uses_results() -> None:
    prof = synthetic_profile(coating_thickness=3.0, sputter_rate=0.05, width=0.8, seed=4)
    it = ns.sims.interface(prof, "AlO2-")
    meas = {
        "A(3)-NCM": {"xps_ratio": ns.thickness.from_ratio(1.0, 1.0, bulk_ratio=0.9, attenuation_length=2.8,
                                                          bulk_ratio_stderr=0.05),
                     "sims": it},
        "F(3)-NCM": {"xps_ratio": (1.0, 0.1), "tem": 2.0},
    }
    rate = ns.thickness.deposition_rate(["A(1)-NCM", "A(2)-NCM"], [1.0, 2.0])
    ds = ns.thickness.cross_check(meas, deposition={"A": rate})
    assert list(ds["sample"].values) == ["A(3)-NCM", "F(3)-NCM"]
    assert set(ds["technique"].values) == {"xps_ratio", "sims", "tem", "deposition"}
    # A(3): Hill 2.8 ln(1 + 1/0.9) = 2.09 nm, SIMS 3.0 nm, deposition 3.0 nm -> spread 0.35 > 0.30
    assert ds["thickness"].sel(sample="A(3)-NCM", technique="deposition") == pytest.approx(3.0, rel=1e-9)
    assert ds["thickness"].sel(sample="A(3)-NCM", technique="sims") == pytest.approx(3.0, rel=0.05)
    assert bool(ds["disagree"].sel(sample="A(3)-NCM"))
    assert bool(ds["disagree"].sel(sample="F(3)-NCM"))  # 1.0 vs 2.0
    assert np.isnan(ds["thickness"].sel(sample="F(3)-NCM", technique="sims"))
    ok = ns.thickness.cross_check({"A(3)-NCM": {"a": 2.0, "b": 2.2}})
    assert not bool(ok["disagree"][0]) and int(ok["n_methods"][0]) == 2
    with pytest.warns(ns.thickness.DisagreementWarning):
        ns.thickness.cross_check({"A(3)-NCM": {"a": 1.0, "b": 3.0}}, warn=True)


def test_cross_check_bad_input() -> None:
    with pytest.raises(ValidationError):
        ns.thickness.cross_check({})
    with pytest.raises(ValidationError, match="sputter rate"):
        p = synthetic_profile(coating_thickness=3.0, sputter_rate=0.05, width=0.8).replace(sputter_rate=None)
        ns.thickness.cross_check({"A(3)-NCM": {"sims": ns.sims.interface(p, "AlO-")}})


def test_results_round_trip_storage(tmp_path) -> None:
    t = ns.thickness.from_ratio(1.0, 1.0, bulk_ratio=0.7, attenuation_length=2.8, bulk_ratio_stderr=0.1,
                                powder=True)
    back = ns.load(ns.save(t, tmp_path / "t.nc"))
    assert isinstance(back, Thickness) and float(back) == float(t)
    assert back.value_stderr == t.value_stderr and back.note == t.note and back.method == t.method
    r = ns.thickness.deposition_rate([1, 2, 3], [0.5, 1.0, 1.6])
    assert ns.load(ns.save(r, tmp_path / "r.nc")) == r
    ds = ns.thickness.cross_check({"A(3)-NCM": {"a": (2.0, 0.1), "b": 2.2}})
    assert ns.load(ns.save(ds, tmp_path / "x.nc")).identical(ds)


def test_cross_check_flags_by_the_z_score_of_the_difference() -> None:
    ds = ns.thickness.cross_check({"A(1)-NCM": {"x": (1.0, 0.5), "y": (1.5, 0.5)},
                                   "A(2)-NCM": {"x": (10.0, 0.01), "y": (10.5, 0.01)}})
    assert ds["disagree"].values.tolist() == [False, True]
    np.testing.assert_allclose(ds["z_max"].values, [0.5 / np.hypot(0.5, 0.5), 0.5 / np.hypot(0.01, 0.01)])
    assert "3" in ds.attrs["rule"] and ds.attrs["z_threshold"] == 3.0


def test_deposition_rates_leave_pristine_rows_out_through_the_origin() -> None:
    samples = ["P-NCM", "P-NCM", "A(1)-NCM", "A(2)-NCM", "A(3)-NCM"]
    d = [0.0, 0.0, 0.21, 0.39, 0.62]
    with_origin = ns.thickness.deposition_rates(samples, d)["A"]
    only_coated = ns.thickness.deposition_rate(samples[2:], d[2:])
    assert with_origin.n_points == 3 and with_origin.rate == only_coated.rate
    assert (with_origin.low, with_origin.high) == (only_coated.low, only_coated.high)
    with_b = ns.thickness.deposition_rates(samples, d, intercept=True)["A"]
    assert with_b.n_points == 5


def test_sims_depth_stderr_carries_the_sputter_rate_error() -> None:
    from ncmsurf.datasets.coating import synthetic_profile

    p = synthetic_profile(coating_thickness=5.0, sputter_rate=0.05, width=1.0, noise=0.03, seed=1)
    it0 = ns.sims.interface(p, "AlO2-")
    it = ns.sims.interface(p, "AlO2-", sputter_rate_stderr=0.005)
    # sigma_d^2 = (r sigma_t)^2 + (t sigma_r)^2
    expected = np.hypot(0.05 * it.time_stderr, it.time * 0.005)
    assert it.depth_stderr == pytest.approx(expected, rel=1e-9)
    assert it0.depth_stderr == pytest.approx(0.05 * it0.time_stderr, rel=1e-9)
    ds = ns.thickness.cross_check({"A(5)-NCM": {"sims": it}})
    assert float(ds["stderr"].values[0, 0]) == it.depth_stderr  # the one definition, used by the thickness code
