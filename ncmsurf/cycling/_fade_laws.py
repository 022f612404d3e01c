"""Capacity-fade laws: the kernels, their table and :func:`fade_law` (private)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ncmsurf.core.errors import ValidationError

__all__ = ["DERIVED", "FADE_MODELS", "fade_law"]

DERIVED = {"double-exponential": {"k2": ("k1", "dk")}}
"""Parameters computed from the solved ones (``k2 = k1 + dk`` keeps ``k2 >= k1``)."""


def _linear(n: np.ndarray, q0: Any, a: Any) -> np.ndarray:
    return q0 - a * n  # type: ignore[no-any-return]


def _exponential(n: np.ndarray, q0: Any, k: Any) -> np.ndarray:
    return q0 * np.exp(-k * n)  # type: ignore[no-any-return]


def _double_exponential(n: np.ndarray, a1: Any, k1: Any, a2: Any, k2: Any) -> np.ndarray:
    return a1 * np.exp(-k1 * n) + a2 * np.exp(-k2 * n)  # type: ignore[no-any-return]


def _power(n: np.ndarray, q0: Any, a: Any, z: Any) -> np.ndarray:
    return q0 * (1.0 - a * np.power(n, z))  # type: ignore[no-any-return]


def _sqrt_linear(n: np.ndarray, q0: Any, a: Any, b: Any) -> np.ndarray:
    return q0 - a * np.sqrt(n) - b * n  # type: ignore[no-any-return]


def _logarithmic(n: np.ndarray, q0: Any, a: Any) -> np.ndarray:
    return q0 - a * np.log1p(n)  # type: ignore[no-any-return]


def _bacon_watts(n: np.ndarray, a0: Any, a1: Any, a2: Any, n0: Any, gamma: Any) -> np.ndarray:
    x = n - n0
    return a0 + a1 * x + a2 * x * np.tanh(x / gamma)  # type: ignore[no-any-return]


def _double_bacon_watts(n: np.ndarray, a0: Any, a1: Any, a2: Any, a3: Any, n0: Any, n2: Any,
                        gamma: Any) -> np.ndarray:
    x0 = n - n0
    x2 = n - n2
    return a0 + a1 * x0 + a2 * x0 * np.tanh(x0 / gamma) + a3 * x2 * np.tanh(x2 / gamma)  # type: ignore[no-any-return]


FADE_MODELS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, ...], str]] = {
    "linear": (_linear, ("q0", "a"), "Q = q0 - a n"),
    "exponential": (_exponential, ("q0", "k"), "Q = q0 exp(-k n)"),
    "double-exponential": (_double_exponential, ("a1", "k1", "a2", "k2"),
                           "Q = a1 exp(-k1 n) + a2 exp(-k2 n), k2 >= k1"),
    "power": (_power, ("q0", "a", "z"), "Q = q0 (1 - a n^z)"),
    "sqrt-linear": (_sqrt_linear, ("q0", "a", "b"), "Q = q0 - a sqrt(n) - b n"),
    "logarithmic": (_logarithmic, ("q0", "a"), "Q = q0 - a ln(1 + n)"),
    "bacon-watts": (_bacon_watts, ("a0", "a1", "a2", "n0", "gamma"),
                    "Q = a0 + a1 (n - n0) + a2 (n - n0) tanh((n - n0)/gamma); knee at n0"),
}
"""Model name → (kernel, parameter names, formula)."""


def fade_law(model: str, cycle: Any, **params: float) -> np.ndarray:
    """Evaluate a fade model at ``cycle`` with the given parameters.

    Examples
    --------
    >>> fade_law("exponential", [0, 100], q0=200.0, k=0.001).round(2).tolist()
    [200.0, 180.97]
    """
    if model not in FADE_MODELS:
        raise ValidationError(f"model: expected one of {sorted(FADE_MODELS)}, got {model!r}")
    func, names, _ = FADE_MODELS[model]
    missing = [p for p in names if p not in params]
    if missing:
        raise ValidationError(f"fade law {model!r}: missing parameter(s) {missing}")
    return np.asarray(func(np.asarray(cycle, dtype=float), **{p: params[p] for p in names}), dtype=float)


