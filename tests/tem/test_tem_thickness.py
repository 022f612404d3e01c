"""Line profiles (exact on analytic images) and the coating thickness on seeded synthetic HRTEM images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.datasets.tem import synthetic_coated_particle


def test_line_profile_is_exact_on_a_linear_image() -> None:
    yy, xx = np.mgrid[0:40, 0:60].astype(float)
    px = 0.2
    img = ns.TEMImage(3.0 - 0.7 * xx * px + 1.9 * yy * px, pixel_size=px)
    for start, end, width in (((1.0, 1.0), (9.0, 6.0), 1.0), ((10.0, 7.0), (0.3, 0.5), 0.0), ((2, 3), (2, 7), 2.4)):
        prof = ns.tem.line_profile(img, start, end, width=width)
        truth = 3.0 - 0.7 * prof["x"].values + 1.9 * prof["y"].values  # analytic: the plane itself
        np.testing.assert_allclose(prof.values, truth, rtol=0, atol=1e-12)
        assert prof["distance"].values[0] == 0.0
        assert prof["distance"].attrs["units"] == "nm"


def test_line_profile_width_averages_across() -> None:
    # a ridge along x: averaging across a width w of the Gaussian exp(-y²/2s²) sampled at the pixel rows
    px, s = 0.1, 0.3
    yy, xx = np.mgrid[0:41, 0:50].astype(float)
    y = (yy - 20) * px
    img = ns.TEMImage(np.exp(-(y**2) / (2 * s**2)), pixel_size=px)
    prof = ns.tem.line_profile(img, (0.5, 2.0), (4.5, 2.0), width=0.5)  # 5 rows: y = -0.2 .. 0.2
    rows = (np.arange(5) - 2) * px
    np.testing.assert_allclose(prof.values, np.exp(-(rows**2) / (2 * s**2)).mean(), rtol=1e-12)
    assert prof.attrs["lines_averaged"] == 5


def test_line_profile_errors() -> None:
    img = ns.TEMImage(np.zeros((10, 10)), pixel_size=1.0)
    with pytest.raises(ns.ValidationError, match="leaves the image"):
        ns.tem.line_profile(img, (0, 0), (20, 0))
    with pytest.raises(ns.ValidationError, match="same point"):
        ns.tem.line_profile(img, (1, 1), (1, 1))
    with pytest.raises(ns.ValidationError, match="no pixel size"):
        ns.tem.line_profile(ns.TEMImage(np.zeros((4, 4)), pixel_size=None), (0, 0), (1, 1))


THICKNESSES = [1.0, 1.5, 2.5, 4.0, 6.0, 8.0, 10.0]
SEEDS = range(4)


def test_acceptance_recovers_the_thickness_within_10_percent_or_0_3_nm() -> None:
    # generator truth: shell thickness 1-10 nm, vacuum or resin outside, dose 400 e/px, blur 0.12 nm
    hits, total, misses = 0, 0, []
    for t_true in THICKNESSES:
        for seed in SEEDS:
            for outside in ("vacuum", "resin"):
                img = synthetic_coated_particle(thickness=t_true, seed=1000 + 17 * seed + int(10 * t_true),
                                                outside=outside)
                res = ns.tem.coating_thickness(img)
                t, err = res.thickness
                ok = bool(res) and abs(t - t_true) <= max(0.1 * t_true, 0.3)
                hits += ok
                total += 1
                if not ok:
                    misses.append((t_true, seed, outside, t, res.quality.codes))
    assert hits / total >= 0.9, misses


def test_acceptance_flags_images_with_no_resolvable_shell() -> None:
    flagged = 0
    for seed in range(8):
        res = ns.tem.coating_thickness(synthetic_coated_particle(thickness=0.0, seed=seed,
                                                                 outside="resin" if seed % 2 else "vacuum"))
        flagged += (not res) and (res.quality.has("no_shell") or res.quality.has("not_resolved"))
    assert flagged == 8


def test_no_fringes_or_no_calibration_fail_with_reasons() -> None:
    blurred = synthetic_coated_particle(thickness=3.0, seed=4, blur=0.25)  # the PSF wipes out 0.47 nm fringes
    res = ns.tem.coating_thickness(blurred)
    assert res.quality.level == "failed" and res.quality.has("not_resolved")
    assert np.isnan(res.thickness[0])
    rng = np.random.default_rng(0)
    noise = ns.TEMImage(rng.poisson(400, (128, 128)).astype(float), pixel_size=0.05)
    assert ns.tem.coating_thickness(noise).quality.level == "failed"
    unc = ns.tem.coating_thickness(synthetic_coated_particle(thickness=3.0, seed=1).replace(pixel_size=None))
    assert unc.quality.has("input") and np.isnan(unc.thickness[0])


def test_result_distribution_accessors_storage_and_plot(tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    img = synthetic_coated_particle(thickness=3.0, seed=11, roughness=0.3, sample="A(3)-NCM")
    res = ns.tem.coating_thickness(img, n_profiles=20)
    assert isinstance(res, ns.FitResult)
    t, se = res.thickness
    used = res.used
    vals = res.profile_thickness[used]
    assert t == pytest.approx(vals.mean()) and res.median == pytest.approx(np.median(vals))
    assert res.sd == pytest.approx(vals.std(ddof=1))
    # the stderr: the profiles' scatter over their effective number, and the error common to the image
    assert 1.0 <= res.n_effective <= used.sum() and res.common_sd >= 0
    assert se == pytest.approx(np.sqrt(res.sd**2 / res.n_effective + res.common_sd**2))
    assert se >= res.sd / np.sqrt(used.sum())
    assert 0.05 < res.blur < 0.25  # generator's PSF: 0.12 nm (the pixel grid adds a little)
    assert res.position.shape == (20,) and np.all(np.diff(res.position) >= 0)
    assert res.points("inner").shape == (20, 2)
    assert res.units["thickness"] == "nm" and str(res.sample) == "A(3)-NCM"
    assert ns.load(ns.save(res, tmp_path / "r.nc")) == res
    ax = res.plot()
    assert len(ax.lines) >= used.sum()
    assert "coating" in ax.get_title()
