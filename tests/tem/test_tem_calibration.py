"""Calibration of the TEM coating thickness: stated 95 % intervals against the generator's truth over many seeds."""

from __future__ import annotations

import numpy as np

import ncmsurf as ns
from ncmsurf.datasets.tem import synthetic_coated_particle


def test_thickness_interval_covers_the_truth_over_seeds() -> None:
    # generator's truth: the shell thickness (1-6 nm), random edge and fringe orientations and phases,
    # dose 400 e/px, PSF sd 0.12 nm, 0.1 nm pixels (the demo study's images)
    hits = total = 0
    errors = []
    for t_true in (1.0, 2.5, 6.0):
        for seed in range(25):
            img = synthetic_coated_particle(thickness=t_true, pixel_size=0.1, seed=5000 + seed)
            res = ns.tem.coating_thickness(img)
            assert res, res.quality.reasons
            t, se = res.thickness
            hits += bool(abs(t - t_true) <= 1.96 * se)
            total += 1
            errors.append(t - t_true)
    assert 0.90 <= hits / total <= 0.98, hits / total
    # the blur and step biases of the core boundary are removed: the mean error is a small part of the scatter
    assert abs(np.mean(errors)) < 0.5 * np.std(errors)


def test_stderr_exceeds_the_naive_sem_where_profiles_share_errors() -> None:
    # fringes along the edge: the fringe phase at the core boundary is the same for neighbouring
    # profiles, so its error is common to them and the stated error is larger than sd / sqrt(n)
    img = synthetic_coated_particle(thickness=2.5, pixel_size=0.1, seed=1)
    res = ns.tem.coating_thickness(img)
    naive = res.sd / np.sqrt(res.used.sum())
    assert res.n_effective < res.used.sum()
    assert res.stderr_mean > naive
