"""Calibration of the EDS map statistics: stated 95 % intervals against the generator's truth over many seeds."""

from __future__ import annotations

import numpy as np

import ncmsurf as ns
from ncmsurf.datasets.coating import synthetic_map


def _covers(value: float, stderr: float, truth: float) -> bool:
    return bool(abs(value - truth) <= 1.96 * stderr)


def test_uniformity_interval_covers_the_population_cv() -> None:
    # generator's truth: the population CV of the bins' expected Al/(Al+Ni) ratio (meta["truth"]["cv"]);
    # few bins (low coverage) to many, as in the demo study's 64 x 64 maps
    rates: dict[tuple[float, float], float] = {}
    hits = total = 0
    errors = []
    for cov, cv in ((0.4, 0.1), (0.75, 0.1), (0.95, 0.1), (0.95, 0.2)):
        h = n = 0
        for seed in range(100):
            m = synthetic_map(coverage=cov, cv=cv, shape=(64, 64), pixel_size=50.0, seed=seed)
            u = ns.eds.uniformity(m, "Al")
            if not u:
                continue  # fewer than two bins: no interval stated
            truth = m.meta["truth"]["cv"]
            n += 1
            h += _covers(u.cv, u.value_stderr, truth)
            if cov == 0.95:
                errors.append((u.cv - truth) / truth)
        rates[(cov, cv)] = h / n
        hits += h
        total += n
    assert all(0.85 <= r <= 1.0 for r in rates.values()), rates
    assert 0.90 <= hits / total <= 0.98, (hits / total, rates)
    # no bias: the noise-corrected, c4-corrected CV is centred on the truth (relative error of the mean < 2 %)
    assert abs(np.mean(errors)) < 0.02


def test_coverage_interval_covers_the_covered_fraction_at_low_counts() -> None:
    # 30-40 counts per pixel: some covered pixels fall below the threshold and some bare ones above;
    # the stated error (and the expected false-minus-missed correction) comes from each pixel's Poisson
    # probability of crossing the threshold; generator's truth: covered / particle pixels, exact
    hits = total = 0
    for counts in (30.0, 40.0):
        for cov in (0.4, 0.8):
            for seed in range(40):
                m = synthetic_map(coverage=cov, cv=0.1, shape=(64, 64), pixel_size=50.0, seed=seed, counts=counts)
                c = ns.eds.coverage(m, "Al")
                hits += _covers(c.fraction, c.value_stderr, m.meta["truth"]["coverage"])
                total += 1
    assert 0.90 <= hits / total <= 0.99, hits / total


def test_coverage_interval_at_high_counts_is_the_whole_pixel_resolution() -> None:
    # 400 counts per pixel (the demo's maps): every pixel is classified without doubt, the fraction is exact
    # up to whole pixels, and the stated error is that resolution; it covers the nominal coverage
    hits = 0
    for seed in range(40):
        m = synthetic_map(coverage=0.7, cv=0.1, shape=(64, 64), pixel_size=50.0, seed=seed)
        c = ns.eds.coverage(m, "Al")
        assert c.value_stderr < 1.1 / (c.n_particle * np.sqrt(12))
        hits += _covers(c.fraction, c.value_stderr, 0.7)
    assert hits >= 38


def test_coverage_is_suspect_when_the_counts_overlap_the_threshold() -> None:
    # 20 counts per pixel: the covered pixels' Al counts reach down to the threshold
    levels = [ns.eds.coverage(synthetic_map(coverage=0.8, cv=0.1, shape=(64, 64), seed=s, counts=20.0), "Al")
              .quality.level for s in range(10)]
    assert levels.count("suspect") >= 8
    clear = ns.eds.coverage(synthetic_map(coverage=0.8, cv=0.1, shape=(64, 64), seed=0), "Al")
    assert clear.quality.level == "good"
