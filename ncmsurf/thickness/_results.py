"""The thickness results: :class:`Thickness`, :class:`ArxpsResult`, :class:`DepositionRate`.

All three are :class:`ncmsurf.FitResult` subclasses (verdict, citations,
covariance, ``ns.save``/``ns.load``, ``fit_report()``, ``uvalues()``).

* :class:`Thickness` is a :class:`~ncmsurf.core.results.ScalarResult`: it
  behaves as its value in nm where a number is expected (``float(d)``,
  ``d * 2``, ``d > 1``, ``round(d, 2)``, ``d == 1.5``), so the API's
  ``from_attenuation``/``from_ratio`` "→ nm" keeps working; arithmetic gives
  plain floats. Its error is :attr:`~ncmsurf.core.results.ScalarResult.value_stderr`
  (NaN when no input uncertainty was given); ``.stderr`` is the base's dict.
* :class:`ArxpsResult` unpacks as the API's ``(nm, stderr)`` pair.
* :class:`DepositionRate` unpacks as ``(rate, low, high)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.results import FitResult, ScalarResult, legacy_quality

__all__ = ["ArxpsResult", "DepositionRate", "Thickness"]


class Thickness(ScalarResult):
    """A thickness in nm with its uncertainty, method and notes.

    Build one with :meth:`make`. It behaves as a number (its value in nm).

    Attributes
    ----------
    value : float
        Thickness, nm.
    value_stderr : float
        Standard error, nm (NaN when no input uncertainty was given).
    method : str
        Which formula produced it (also :attr:`model`).
    note : str
        Caveats (planar formula on powder, negative value, ...).

    Examples
    --------
    >>> t = Thickness.make(2.0, stderr=0.1, method="hill")
    >>> float(t), t.value_stderr, t.value, t * 2
    (2.0, 0.1, 2.0, 4.0)
    """

    __slots__ = ()

    @classmethod
    def make(cls, value: float, *, stderr: float | None = None, method: str = "", note: str = "",
             suspect: list[tuple[str, str]] | None = None, citations: tuple[str, ...] = (),
             inputs: dict[str, Any] | None = None) -> Thickness:
        """A thickness result (``stderr`` None: unknown, NaN)."""
        from ncmsurf.core.results import Quality

        se = math.nan if stderr is None else float(stderr)
        return cls.build(names=["thickness"], values=[float(value)], stderr=[se],
                         covariance=[[se * se]], units=["nm"], model=method, citations=citations,
                         quality=Quality.from_checks(suspect=suspect or []),
                         message="" if stderr is not None else "no input uncertainty given: stderr unknown",
                         source=inputs or {}, attrs={"method": str(method), "note": str(note)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        out = cls.make(float(a["value"]), stderr=None if "stderr" not in a else float(a["stderr"]),
                       method=str(a.get("method", "")), note=str(a.get("note", "")))
        return out.replace(quality=legacy_quality(True))

    @property
    def method(self) -> str:
        """Formula used."""
        return str(self._attrs.get("method", ""))

    @property
    def note(self) -> str:
        """Caveats, or an empty string."""
        return str(self._attrs.get("note", ""))


class _TupleLike:
    """Unpacks, indexes and compares like the tuple it replaced (``_as_tuple``); the result stays unhashable."""

    __slots__ = ()
    _as_tuple: Callable[[], tuple[float, ...]]  # each result names its fields

    def __iter__(self) -> Any:
        return iter(self._as_tuple())

    def __len__(self) -> int:
        return len(self._as_tuple())

    def __getitem__(self, i: Any) -> Any:
        return self._as_tuple()[i]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple):
            return self._as_tuple() == other
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


class ArxpsResult(_TupleLike, FitResult):
    """``(thickness, stderr)`` of an angle-resolved fit, with the fit details as attributes.

    Unpacks and indexes as a pair: ``d, err = from_arxps(...)``; equal to a
    tuple with the same two numbers.

    Attributes
    ----------
    thickness, thickness_stderr : float
        nm (the pair).
    bulk_ratio, bulk_ratio_stderr : float
        R0 used or fitted (stderr 0 when fixed).
    angles, ratios, fitted : ndarray
        Input angles (degrees), measured and fitted ratios.
    per_angle : ndarray
        Hill thickness at each angle using the (fitted) R0, nm.
    redchi : float
        Reduced chi-square (weighted when ``ratio_stderr`` was given).
    note : str
    """

    __slots__ = ()

    def _as_tuple(self) -> tuple[float, ...]:
        return self.thickness, self.thickness_stderr

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the layout of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        se, se0 = float(a["stderr"]), float(a["bulk_ratio_stderr"])
        return cls.build(names=["thickness", "bulk_ratio"], values=[float(a["thickness"]), float(a["bulk_ratio"])],
                         stderr=[se, se0], free=[True, se0 > 0], units=["nm", ""], quality=legacy_quality(True),
                         model="arxps", data_vars={k: ("angle", ds[k].values) for k in ("ratios", "fitted",
                                                                                          "per_angle")},
                         coords={"angle": ("angle", ds["angle"].values, {"units": "degree"})},
                         attrs={"redchi": float(a["redchi"]), "note": str(a.get("note", ""))})

    @property
    def thickness(self) -> float:
        """Fitted thickness, nm."""
        return self.values["thickness"]

    @property
    def thickness_stderr(self) -> float:
        """Its standard error, nm."""
        return self.stderr["thickness"]

    @property
    def bulk_ratio(self) -> float:
        """R0, fitted or given."""
        return self.values["bulk_ratio"]

    @property
    def bulk_ratio_stderr(self) -> float:
        """Standard error of R0 (0 when given)."""
        return self.stderr["bulk_ratio"]

    @property
    def angles(self) -> np.ndarray:
        """Emission angles, degrees from the normal."""
        return self._ds["angle"].values  # type: ignore[no-any-return]

    @property
    def ratios(self) -> np.ndarray:
        """Measured ratios."""
        return self._ds["ratios"].values  # type: ignore[no-any-return]

    @property
    def fitted(self) -> np.ndarray:
        """Fitted ratios."""
        return self._ds["fitted"].values  # type: ignore[no-any-return]

    @property
    def per_angle(self) -> np.ndarray:
        """Hill thickness at each angle with the (fitted) R0, nm."""
        return self._ds["per_angle"].values  # type: ignore[no-any-return]

    @property
    def redchi(self) -> float:
        """Reduced chi-square."""
        return float(self._attrs["redchi"])

    @property
    def note(self) -> str:
        """Caveats."""
        return str(self._attrs.get("note", ""))

    def plot(self, ax: Any = None, **kw: Any) -> Any:
        """Plot measured and fitted ratios against emission angle (needs matplotlib)."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        order = np.argsort(self.angles)
        ax.plot(self.angles, self.ratios, "o", label="measured", **kw)
        ax.plot(self.angles[order], self.fitted[order], "-",
                label=f"fit: d = {self.thickness:.2f} ± {self.thickness_stderr:.2f} nm")
        ax.set_xlabel("emission angle from the normal (°)")
        ax.set_ylabel("I(overlayer) / I(substrate)")
        ax.legend()
        return ax


class DepositionRate(_TupleLike, FitResult):
    """``(rate, low, high)``: nm per unit of n with its confidence interval (default 95 %).

    Unpacks and indexes as a triple; equal to a tuple with the same numbers.

    Attributes
    ----------
    rate, low, high : float
    rate_stderr : float
    method : str or None
        Coating route the regression was made for.
    intercept : float
        Fitted intercept, nm (0 when fixed through the origin).
    n_points : int
        Points in the regression (pristine n = 0 rows are left out of a fit
        through the origin).
    confidence : float
    """

    __slots__ = ()

    def _as_tuple(self) -> tuple[float, ...]:
        return self.rate, self.low, self.high

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        return cls.build(names=["rate", "intercept"], values=[float(a["rate"]), float(a["intercept"])],
                         stderr=[float(a["stderr"]), float("nan")], free=[True, float(a["intercept"]) != 0],
                         units=["nm/min", "nm"], quality=legacy_quality(True),
                         attrs={"low": float(a["low"]), "high": float(a["high"]), "confidence": 0.95,
                                "route": str(a.get("method", "")), "n_points": int(a["n_points"])})

    @property
    def rate(self) -> float:
        """Rate, nm per unit of n."""
        return self.values["rate"]

    @property
    def rate_stderr(self) -> float:
        """Standard error of the rate."""
        return self.stderr["rate"]

    @property
    def low(self) -> float:
        """Lower end of the interval."""
        return float(self._attrs["low"])

    @property
    def high(self) -> float:
        """Upper end of the interval."""
        return float(self._attrs["high"])

    @property
    def confidence(self) -> float:
        """Level of the interval."""
        return float(self._attrs["confidence"])

    @property
    def method(self) -> str | None:
        """Coating route, or None."""
        m = str(self._attrs.get("route", ""))
        return m or None

    @property
    def intercept(self) -> float:
        """Intercept, nm (0 when fixed)."""
        return self.values["intercept"]

    @property
    def n_points(self) -> int:
        """Points in the regression."""
        return int(self._attrs["n_points"])
