"""The shared solver, covariance, propagation and checks, with calibration over seeded truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from ncmsurf.core.fitting import (
    check_bounds,
    check_chi2,
    check_identifiable,
    check_runs,
    covariance_from_jacobian,
    least_squares,
    propagate,
    propagate_linear,
    propagate_one,
    runs_test,
)

X = np.linspace(0.0, 5.0, 80)


def _model(p: np.ndarray) -> np.ndarray:
    return p[0] * np.exp(-X / p[1]) + p[2]


def _jac(p: np.ndarray) -> np.ndarray:
    e = np.exp(-X / p[1])
    return np.column_stack([e, p[0] * e * X / p[1] ** 2, np.ones_like(X)])


def test_interval_coverage_over_200_seeds() -> None:
    """95 % intervals from the covariance cover the truth 93-97 % of the time (analytic Jacobian, log space)."""
    truth = np.array([3.0, 1.2, 0.5])
    sigma = 0.05
    hits = np.zeros(3)
    n = 200
    for seed in range(n):
        rng = np.random.default_rng(seed)
        y = _model(truth) + rng.normal(0, sigma, X.size)
        sol = least_squares(lambda p, y=y: (_model(p) - y) / sigma, [1.0, 0.5, 0.0], jac=lambda p: _jac(p) / sigma,
                            bounds=([0, 0, -10], [100, 100, 10]), log=[True, True, False], scale_covariance=False)
        assert sol.success
        hits += np.abs(sol.p - truth) <= 1.96 * sol.stderr
    cover = hits / n
    assert np.all((cover >= 0.92) & (cover <= 0.98)), cover


def test_scaled_covariance_matches_unscaled_when_weights_are_right() -> None:
    rng = np.random.default_rng(1)
    y = _model(np.array([3.0, 1.2, 0.5])) + rng.normal(0, 0.05, X.size)
    a = least_squares(lambda p: (_model(p) - y) / 0.05, [1.0, 0.5, 0.0], scale_covariance=False)
    b = least_squares(lambda p: (_model(p) - y), [1.0, 0.5, 0.0], scale_covariance=True)
    np.testing.assert_allclose(a.p, b.p, rtol=1e-6)
    # the scaled covariance is the absolute one times the reduced chi-square of the unweighted residual
    np.testing.assert_allclose(b.stderr, a.stderr * math.sqrt(b.redchi / 0.05**2), rtol=1e-6)


def test_bounds_and_identifiability_are_reported() -> None:
    y = _model(np.array([3.0, 1.2, 0.5]))
    sol = least_squares(lambda p: _model(p) - y, [1.0, 0.5, 0.0], bounds=([0, 0, 0.7], [100, 100, 10]))
    assert sol.at_lower.tolist() == [False, False, True]
    reasons = check_bounds(["A", "tau", "c"], sol.at_lower, sol.at_upper, values=sol.p)
    assert [c for c, _ in reasons] == ["at_bound"] and "c = 0.7" in reasons[0][1]
    # two parameters that act only through their sum
    sol2 = least_squares(lambda p: p[0] + p[1] + 0 * X - 2.0, [0.5, 0.7], scale_covariance=False)
    assert not sol2.identifiable.any()
    assert check_identifiable(["a", "b"], sol2.p, sol2.stderr)[0][0] == "unidentifiable"


def test_covariance_from_jacobian_against_inverse() -> None:
    rng = np.random.default_rng(3)
    J = rng.normal(size=(50, 4)) * np.array([1e-6, 1.0, 1e4, 3.0])
    c = covariance_from_jacobian(J, scale=False)
    np.testing.assert_allclose(c.matrix, np.linalg.inv(J.T @ J), rtol=1e-8)
    assert c.identifiable.all() and c.rank == 4


def test_propagation_against_monte_carlo() -> None:
    rng = np.random.default_rng(5)
    mean = np.array([4.0, 6.0, 2.0])
    cov = np.array([[0.04, -0.03, 0.0], [-0.03, 0.09, 0.01], [0.0, 0.01, 0.01]])

    def f(p: np.ndarray) -> np.ndarray:
        return np.array([p[0] / (p[0] + p[1] + p[2]), p[0] + p[1]])

    v, c = propagate(f, mean, cov)
    draws = rng.multivariate_normal(mean, cov, size=200_000)
    fd = np.column_stack([draws[:, 0] / draws.sum(axis=1), draws[:, 0] + draws[:, 1]])
    np.testing.assert_allclose(np.sqrt(np.diag(c)), fd.std(axis=0), rtol=0.02)
    np.testing.assert_allclose(c[0, 1], np.cov(fd.T)[0, 1], rtol=0.05)
    assert propagate_linear([1, 1, 0], cov).item() == pytest.approx(0.04 + 0.09 - 0.06)
    assert propagate_one(lambda p: p[0] + p[1], mean, cov)[1] == pytest.approx(math.sqrt(0.07))


def test_unknown_variance_is_never_zero() -> None:
    cov = np.array([[0.01, 0.0], [0.0, np.nan]])
    assert math.isnan(propagate_one(lambda p: p[0] + p[1], [1.0, 2.0], cov)[1])
    assert propagate_one(lambda p: 2 * p[0], [1.0, 2.0], cov)[1] == pytest.approx(0.2)


def test_runs_test_false_alarm_rate_and_power() -> None:
    alarms = 0
    for seed in range(400):
        r = np.random.default_rng(seed).normal(size=200)
        alarms += bool(check_runs(r, alpha=0.01))
    assert alarms / 400 < 0.03
    assert check_runs(np.sin(np.linspace(0, 12, 200)) + 0.1 * np.random.default_rng(0).normal(size=200))
    assert runs_test([1.0])[2] == 1.0


def test_chi2_check_false_alarm_and_power() -> None:
    alarms = sum(bool(check_chi2(float(np.sum(np.random.default_rng(s).normal(size=300) ** 2)), 297))
                 for s in range(300))
    assert alarms <= 2
    assert check_chi2(2.0 * 297, 297)[0][0] == "poor_residual"
    assert check_chi2(1.3 * 5000, 5000) == []  # above the quantile but below min_redchi
