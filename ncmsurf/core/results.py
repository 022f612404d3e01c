"""The result core: one immutable, Dataset-backed shape for every fit and analysis result.

Every engine result (XPS fits, circuit fits, fade fits, Kramers–Kronig and
DRT results, thickness estimates, SIMS interfaces, EDS statistics, TEM
thickness distributions) is a thin subclass of :class:`FitResult`. The base
holds, in one :class:`xarray.Dataset`:

* the parameter names, values, standard errors, units and the full
  covariance of the free parameters;
* ``success`` and ``message`` (the optimiser's word) and :class:`Quality`
  (the scientist's verdict: ``good``, ``suspect`` or ``failed`` with coded
  reasons);
* the citation keys of the methods used and the model the result came from
  (a circuit string, a preset name, a fade law, ...), plus the sample and the
  provenance of the input;
* whatever the subclass adds (curves, data, settings) as further variables
  and attributes.

It gives every result, generically: equality, ``ns.save``/``ns.load``
(through :meth:`FitResult.to_dataset`/:meth:`FitResult.from_dataset`), a
readable :meth:`~FitResult.fit_report`, ``_repr_html_`` for notebooks, a
multi-line ``repr`` with units and :meth:`~FitResult.uvalues`, correlated
:mod:`uncertainties` values for derived quantities. Results are immutable:
accessors return copies or read-only arrays.

Subclasses register themselves under a stable tag (their class name unless
they set ``_tag``); :func:`result_types` returns the table that storage uses to
rebuild a result without resolving names from the file.

Examples
--------
>>> import numpy as np
>>> r = FitResult.build(names=["a", "b"], values=[1.0, 2.0], covariance=[[0.01, -0.004], [-0.004, 0.04]],
...                     units=["nm", "1"], model="line", citations=["shirley1972"])
>>> r.values
{'a': 1.0, 'b': 2.0}
>>> round(r.stderr["b"], 3)
0.2
>>> r.quality.level, bool(r)
('good', True)
>>> u = r.uvalues()
>>> round((u["a"] + u["b"]).std_dev, 4)  # the negative covariance is used: sqrt(0.01 + 0.04 - 0.008)
0.2049
>>> FitResult.from_dataset(r.to_dataset()) == r
True
>>> failed = FitResult.build(names=["a"], values=[np.nan], success=False, message="no data")
>>> failed.quality.level, bool(failed)
('failed', False)
>>> register_citation("shirley1972", "D. A. Shirley, Phys. Rev. B 5, 4709 (1972)")
>>> citations(["shirley1972"])
['D. A. Shirley, Phys. Rev. B 5, 4709 (1972)']
"""

from __future__ import annotations

import html
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, ClassVar, Literal, NamedTuple, TypeVar, cast

import numpy as np
import xarray as xr

from ncmsurf.core._validate import deep_equal
from ncmsurf.core.errors import ValidationError

__all__ = [
    "LEVELS",
    "REASON_CODES",
    "FitResult",
    "FitStatus",
    "Quality",
    "Reason",
    "ScalarResult",
    "citations",
    "legacy_quality",
    "register_citation",
    "register_reason_code",
    "result_types",
]

_CITATIONS: dict[str, str] = {}


def register_citation(key: str, text: str) -> None:
    """Register (or replace) a reference under ``key``."""
    _CITATIONS[key] = text


def citations(keys: Iterable[str] | Any = None) -> list[str]:
    """The references behind ``keys``, or behind a result.

    Parameters
    ----------
    keys : iterable of str, or an object with a ``citations`` attribute, optional
        Citation keys, or a result (its ``citations`` keys are used). All
        registered references when None.

    Returns
    -------
    list of str
        The reference texts (an unknown key is returned as itself).

    Examples
    --------
    >>> register_citation("x2024", "A. Author, J. Example 1, 1 (2024)")
    >>> citations(["x2024", "unknown"])
    ['A. Author, J. Example 1, 1 (2024)', 'unknown']
    """
    if keys is None:
        return list(_CITATIONS.values())
    if not isinstance(keys, (str, bytes)) and hasattr(keys, "citations") and not isinstance(keys, Mapping):
        keys = keys.citations
    if isinstance(keys, str):
        keys = [keys]
    return [_CITATIONS.get(str(k), str(k)) for k in keys]


@dataclass(frozen=True)
class FitStatus:
    """Success flag and message; falsy when the fit failed.

    Kept for results that report only the optimiser's outcome; new code
    reads :attr:`FitResult.quality`.

    Examples
    --------
    >>> bool(FitStatus(False, "did not converge"))
    False
    """

    success: bool
    message: str = ""

    def __bool__(self) -> bool:
        return self.success


# --------------------------------------------------------------------------- verdicts
Level = Literal["good", "suspect", "failed"]
LEVELS: tuple[str, ...] = ("good", "suspect", "failed")

REASON_CODES: dict[str, str] = {
    "not_converged": "the optimiser did not converge or the fit could not be made",
    "at_bound": "a free parameter ended at (or within a hair of) one of its bounds",
    "degenerate": "a component collapsed (a resistance, capacitance or area negligible against the data's "
                  "scale, a CPE exponent pinned at 1, a component with no area)",
    "unidentifiable": "a parameter is not determined by the data (relative standard error above 100 % or a "
                      "near-singular covariance)",
    "poor_residual": "the residual is not consistent with the noise or the weights",
    "systematic_residual": "the residual signs run in long blocks (runs test): the model misses a feature",
    "kk_invalid": "the impedance data fail the lin-KK (Kramers–Kronig) test",
    "model_selection": "the data do not single out one model; intervals include model-selection uncertainty",
    "partial_data": "part of the input was excluded or incomplete",
    "extrapolated": "the number lies outside the range the data cover",
    "input": "an input needed for this number is missing or implausible",
    "not_resolved": "the feature the method measures could not be resolved in the data",
}
"""Reason codes with their meanings. Engines may register more with :func:`register_reason_code`."""

_CODE = re.compile(r"^[a-z][a-z0-9_]*$")


def register_reason_code(code: str, meaning: str) -> None:
    """Add a reason code (lower-case identifier) with its meaning.

    Examples
    --------
    >>> register_reason_code("no_shell", "no amorphous shell could be resolved")
    >>> "no_shell" in REASON_CODES
    True
    """
    if not _CODE.match(code):
        raise ValidationError(f"reason code: expected a lower-case identifier, got {code!r}")
    REASON_CODES[code] = meaning


class Reason(NamedTuple):
    """One reason of a verdict: a code from :data:`REASON_CODES` and a message for people."""

    code: str
    message: str


class Quality:
    """The verdict on a result: ``level`` and the coded reasons behind it.

    ``good`` means no check raised a concern; ``suspect`` means the numbers
    exist but a check raised one (the reasons say which); ``failed`` means
    there is no usable answer. ``bool(quality)`` is False only for failed.

    Parameters
    ----------
    level : {"good", "suspect", "failed"}
    reasons : iterable of (code, message)
        Required (non-empty) unless the level is good.

    Examples
    --------
    >>> q = Quality.from_checks(suspect=[("at_bound", "R0 at its lower bound")])
    >>> q.level, q.codes
    ('suspect', ['at_bound'])
    >>> Quality.from_checks(suspect=[("at_bound", "x")], failed=[("not_converged", "max nfev")]).level
    'failed'
    >>> bool(Quality.good())
    True
    """

    __slots__ = ("_level", "_reasons")
    _level: str
    _reasons: tuple[Reason, ...]

    def __init__(self, level: str, reasons: Iterable[tuple[str, str]] = ()) -> None:
        if level not in LEVELS:
            raise ValidationError(f"quality level: expected one of {LEVELS}, got {level!r}")
        rs: list[Reason] = []
        for item in reasons:
            if len(item) != 2:
                raise ValidationError(f"quality reason: expected (code, message), got {item!r}")
            code, msg = str(item[0]), str(item[1])
            if code not in REASON_CODES:
                raise ValidationError(f"quality reason code {code!r} is not registered (known: "
                                      f"{sorted(REASON_CODES)}); use register_reason_code")
            rs.append(Reason(code, msg))
        if level != "good" and not rs:
            raise ValidationError(f"quality level {level!r} needs at least one reason")
        object.__setattr__(self, "_level", level)
        object.__setattr__(self, "_reasons", tuple(rs))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Quality is immutable")

    @classmethod
    def good(cls) -> Quality:
        """A verdict with no concern."""
        return cls("good")

    @classmethod
    def from_checks(cls, *, suspect: Iterable[tuple[str, str]] = (),
                    failed: Iterable[tuple[str, str]] = ()) -> Quality:
        """The verdict from the reasons checks found: failed if any failing reason, else suspect if any."""
        f = list(failed)
        s = list(suspect)
        if f:
            return cls("failed", f + s)
        if s:
            return cls("suspect", s)
        return cls.good()

    @property
    def level(self) -> str:
        """``"good"``, ``"suspect"`` or ``"failed"``."""
        return self._level

    @property
    def reasons(self) -> list[Reason]:
        """The reasons, as ``(code, message)`` pairs (a new list each time)."""
        return list(self._reasons)

    @property
    def codes(self) -> list[str]:
        """The reason codes, in order, without repeats."""
        return list(dict.fromkeys(r.code for r in self._reasons))

    def has(self, code: str) -> bool:
        """Whether a reason with ``code`` is present."""
        return any(r.code == code for r in self._reasons)

    def worse(self, other: Quality) -> Quality:
        """The combined verdict: the worse level, with the reasons of both."""
        rank = {lv: i for i, lv in enumerate(LEVELS)}
        level = max(self._level, other._level, key=rank.__getitem__)
        seen: dict[Reason, None] = dict.fromkeys(self._reasons + other._reasons)
        return Quality(level, list(seen))

    def with_reasons(self, *, suspect: Iterable[tuple[str, str]] = (),
                     failed: Iterable[tuple[str, str]] = ()) -> Quality:
        """The verdict made worse by further reasons."""
        return self.worse(Quality.from_checks(suspect=suspect, failed=failed))

    def __bool__(self) -> bool:
        return self._level != "failed"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Quality):
            return NotImplemented
        return self._level == other._level and self._reasons == other._reasons

    def __hash__(self) -> int:
        return hash((self._level, self._reasons))

    def __repr__(self) -> str:
        if not self._reasons:
            return f"Quality({self._level!r})"
        return f"Quality({self._level!r}, {[tuple(r) for r in self._reasons]!r})"

    def __str__(self) -> str:
        if not self._reasons:
            return self._level
        return self._level + ": " + "; ".join(f"[{r.code}] {r.message}" for r in self._reasons)

    def to_json(self) -> str:
        """Compact JSON text (used in storage attributes)."""
        return json.dumps({"level": self._level, "reasons": [list(r) for r in self._reasons]},
                          ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Quality:
        """Rebuild from :meth:`to_json` output."""
        d = json.loads(text)
        return cls(str(d["level"]), [(str(c), str(m)) for c, m in d["reasons"]])


# --------------------------------------------------------------------------- registry of result types
_TYPES: dict[str, type[FitResult]] = {}


def result_types() -> dict[str, type[FitResult]]:
    """Every registered result class by its storage tag (a copy).

    Examples
    --------
    >>> result_types()["FitResult"] is FitResult
    True
    """
    return dict(_TYPES)


R = TypeVar("R", bound="FitResult")

# Variable and attribute names the base owns in the Dataset.
_PARAM, _PARAM2 = "param", "param_2"
_RESERVED_VARS = ("value", "stderr", "covariance", "free", "param_units")
_RESERVED_ATTRS = ("result_type", "success", "message", "quality", "citations", "model", "sample", "source")


def _as_float_array(x: Any, n: int, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=float).reshape(-1)
    if a.size != n:
        raise ValidationError(f"{name}: expected {n} values, got {a.size}")
    return a


def _datasets_equal(a: xr.Dataset, b: xr.Dataset) -> bool:
    if set(a.variables) != set(b.variables) or not deep_equal(dict(a.attrs), dict(b.attrs)):
        return False
    for k in a.variables:
        va, vb = a.variables[k], b.variables[k]
        if va.dims != vb.dims or va.dtype != vb.dtype or not deep_equal(dict(va.attrs), dict(vb.attrs)):
            return False
        if not np.array_equal(va.values, vb.values, equal_nan=va.dtype.kind in "fc"):
            return False
    return True


def _fmt_pair(v: float, e: float | None) -> tuple[str, str]:
    """Value and error as text.

    The error to 2 significant figures when it starts with 1 or 2, else 1, and the value rounded to the
    same decimal place (scientific notation for very large or small values).
    """

    def nonfinite(x: float) -> str:
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")

    if not math.isfinite(v):
        return nonfinite(v), ("" if e is None else (f"{e:.2g}" if math.isfinite(e) else nonfinite(e)))
    if e is None or not math.isfinite(e) or e <= 0:
        return f"{v:.6g}", ("" if e is None else (f"{e:.2g}" if math.isfinite(e) else nonfinite(e)))
    exp_e = math.floor(math.log10(e))
    lead = e / 10**exp_e
    sig = 2 if lead < 3 else 1
    dec = sig - 1 - exp_e  # decimal places of the last significant digit of e
    big = max(abs(v), e)
    if big >= 1e5 or big < 1e-3:
        exp_v = math.floor(math.log10(big))
        scale = 10.0**exp_v
        d = max(0, dec + exp_v)
        return f"{v / scale:.{d}f}e{exp_v:+03d}", f"{e / scale:.{d}f}e{exp_v:+03d}"
    d = max(0, dec)
    return f"{v:.{d}f}", f"{e:.{d}f}"


class FitResult:
    """Base of every fit and analysis result: parameters, covariance, verdict, citations, provenance.

    Build one with :meth:`build` (subclasses pass their own variables and
    attributes through it); read it through the accessors. Instances are
    immutable and compare equal when their datasets are identical.

    Attributes
    ----------
    names : list of str
        Parameter names, in order.
    values, stderr : dict of str to float
        Values and one-sigma standard errors (NaN where not identifiable, 0
        for fixed parameters). New dicts each time.
    units : dict of str to str
        Unit of each parameter (pint syntax; ``""`` for dimensionless).
    covariance : xarray.DataArray
        Full covariance over ``(param, param_2)`` (zero rows for fixed parameters).
    free : dict of str to bool
        Whether each parameter was varied.
    success : bool
        The optimiser's word.
    message : str
    quality : Quality
        The verdict; ``bool(result)`` is ``bool(result.quality)``.
    citations : tuple of str
        Keys of the methods' papers (see :func:`citations`).
    model : str
        The model the result came from (circuit string, preset, law, method).
    sample : Sample or None
    source : dict
        Provenance of the input (file, region, cycle state, ...).
    """

    __slots__ = ("_built", "_parts")
    _built: xr.Dataset | None
    _parts: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None
    _tag: ClassVar[str] = "FitResult"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        tag = cls.__dict__.get("_tag", cls.__name__)
        if tag in _TYPES and _TYPES[tag].__qualname__ != cls.__qualname__:
            raise TypeError(f"result type tag {tag!r} is already used by {_TYPES[tag].__module__}."
                            f"{_TYPES[tag].__qualname__}")
        cls._tag = tag
        _TYPES[tag] = cls

    def __init__(self, ds: xr.Dataset) -> None:
        if not isinstance(ds, xr.Dataset):
            raise ValidationError(f"{type(self).__name__}: expected an xarray.Dataset, got {type(ds).__name__}")
        for k in ("value", "stderr", "covariance"):
            if k not in ds.variables:
                raise ValidationError(f"{type(self).__name__}: dataset has no {k!r} variable")
        ds = ds.copy(deep=True)
        ds.attrs["result_type"] = self._tag
        _freeze(ds)
        object.__setattr__(self, "_built", ds)
        object.__setattr__(self, "_parts", None)
        self._check()

    @classmethod
    def _from_parts(cls: type[R], data_vars: dict[str, Any], coords: dict[str, Any], attrs: dict[str, Any]) -> R:
        """An instance whose Dataset is built only when something needs it (small results stay cheap)."""
        obj = cls.__new__(cls)
        attrs["result_type"] = cls._tag
        for v in data_vars.values():
            if isinstance(v, tuple) and len(v) >= 2 and isinstance(v[1], np.ndarray):
                v[1].flags.writeable = False
        object.__setattr__(obj, "_built", None)
        object.__setattr__(obj, "_parts", (data_vars, coords, attrs))
        obj._check()
        return obj

    @property
    def _ds(self) -> xr.Dataset:
        """The Dataset behind the result (built on first use; read-only arrays)."""
        ds = self._built
        if ds is None:
            assert self._parts is not None
            dv, cs, a = self._parts
            ds = xr.Dataset(dv, coords=cs, attrs=dict(a))
            _freeze(ds)
            object.__setattr__(self, "_built", ds)
            object.__setattr__(self, "_parts", None)
        return ds

    @property
    def _attrs(self) -> Mapping[str, Any]:
        """The result's attributes, read without building the Dataset."""
        if self._built is None and self._parts is not None:
            return MappingProxyType(self._parts[2])
        return MappingProxyType(self._ds.attrs)

    def _base(self, key: str) -> np.ndarray:
        """A base variable's values (``value``, ``stderr``, ``covariance``, ``free``, ``param_units``, ``param``)."""
        if self._built is None and self._parts is not None:
            dv, cs, _ = self._parts
            if key in cs:
                return np.asarray(cs[key])
            return np.asarray(dv[key][1])
        return np.asarray(self._ds[key].values)

    def _check(self) -> None:
        """Subclass hook: validate the dataset after construction (raise ValidationError)."""

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls: type[R], *, names: Sequence[str], values: Any, stderr: Any = None, covariance: Any = None,
              units: Sequence[str] | Mapping[str, str] | None = None, free: Sequence[bool] | None = None,
              success: bool = True, message: str = "", quality: Quality | None = None,
              citations: Iterable[str] = (), model: str = "", sample: Any = None,
              source: Mapping[str, Any] | None = None, data_vars: Mapping[str, Any] | None = None,
              coords: Mapping[str, Any] | None = None, attrs: Mapping[str, Any] | None = None) -> R:
        """Make a result from its parts.

        Parameters
        ----------
        names : sequence of str
            Parameter names (unique).
        values : array-like
            One value per name.
        stderr : array-like, optional
            One-sigma errors; default: the square roots of the covariance
            diagonal, else NaN (0 for fixed parameters).
        covariance : array-like, optional
            Full ``(n, n)`` covariance, or ``(k, k)`` over the free parameters
            only (then expanded with zero rows for fixed ones). Default:
            diagonal from ``stderr`` (NaN when neither is given).
        units : sequence or mapping of str, optional
            Unit of each parameter (``""`` dimensionless).
        free : sequence of bool, optional
            Which parameters were varied (default all).
        success, message
            The optimiser's outcome.
        quality : Quality, optional
            The verdict. Default: good when ``success``, failed with
            ``not_converged`` (and ``message``) otherwise. A failed
            optimiser always makes the verdict failed.
        citations : iterable of str
            Citation keys.
        model : str
            The model the result came from.
        sample : Sample or str, optional
        source : mapping, optional
            Provenance (JSON-able values).
        data_vars, coords, attrs : mapping, optional
            Further variables (as accepted by :class:`xarray.Dataset`),
            coordinates and attributes of the subclass. Names the base owns
            (``value``, ``stderr``, ``covariance``, ``free``, ``param_units``,
            ``result_type``, ``success``, ...) cannot be used.

        Returns
        -------
        FitResult
            An instance of ``cls``.
        """
        nm = [str(n) for n in names]
        if len(set(nm)) != len(nm):
            dup = sorted({n for n in nm if nm.count(n) > 1})
            raise ValidationError(f"names: duplicate parameter names {dup}")
        n = len(nm)
        val = _as_float_array(values, n, "values")
        fr = np.ones(n, bool) if free is None else np.asarray(list(free), bool).reshape(-1)
        if fr.size != n:
            raise ValidationError(f"free: expected {n} flags, got {fr.size}")
        cov: np.ndarray
        if covariance is not None:
            c = np.asarray(covariance, dtype=float)
            k = int(fr.sum())
            if c.shape == (n, n):
                cov = c.copy()
            elif c.shape == (k, k):
                cov = np.zeros((n, n))
                idx = np.flatnonzero(fr)
                cov[np.ix_(idx, idx)] = c
            else:
                raise ValidationError(f"covariance: expected shape ({n}, {n}) or ({k}, {k}), got {c.shape}")
            cov[~fr, :] = 0.0
            cov[:, ~fr] = 0.0
        else:
            cov = np.full((n, n), np.nan)
            if stderr is not None:
                se0 = _as_float_array(stderr, n, "stderr")
                cov = np.where(np.eye(n, dtype=bool), se0**2, np.where(np.isfinite(se0)[:, None]
                               & np.isfinite(se0)[None, :], 0.0, np.nan))
            cov[~fr, :] = 0.0
            cov[:, ~fr] = 0.0
        if stderr is None:
            d = np.diag(cov).copy()
            with np.errstate(invalid="ignore"):
                se = np.where(d >= 0, np.sqrt(np.abs(d)), np.nan)
        else:
            se = _as_float_array(stderr, n, "stderr").copy()
        se[~fr] = 0.0
        if units is None:
            un = [""] * n
        elif isinstance(units, Mapping):
            un = [str(units.get(x, "")) for x in nm]
        else:
            un = [str(u) for u in units]
            if len(un) != n:
                raise ValidationError(f"units: expected {n} units, got {len(un)}")
        if quality is None:
            quality = Quality.good() if success else Quality("failed", [("not_converged", message or
                                                                         "the fit did not succeed")])
        elif not success and quality.level != "failed":
            quality = quality.with_reasons(failed=[("not_converged", message or "the fit did not succeed")])
        from ncmsurf.core.sample import Sample

        if sample is not None and not isinstance(sample, Sample):
            sample = Sample.parse(str(sample))
        a: dict[str, Any] = dict(attrs or {})
        clash = [k for k in a if k in _RESERVED_ATTRS]
        if clash:
            raise ValidationError(f"attrs: names {clash} are reserved by FitResult")
        a.update({
            "success": bool(success), "message": str(message), "quality": quality.to_json(),
            "citations": [str(c) for c in citations], "model": str(model),
            "sample": "" if sample is None else sample.label, "source": json.dumps(dict(source or {}),
                                                                                  default=str, sort_keys=True),
        })
        dv: dict[str, Any] = {
            "value": (_PARAM, val), "stderr": (_PARAM, se), "covariance": ((_PARAM, _PARAM2), cov),
            "free": (_PARAM, fr), "param_units": (_PARAM, np.array(un, dtype=object).astype(str)),
        }
        for key, v in (data_vars or {}).items():
            if key in dv or key in (_PARAM, _PARAM2):
                raise ValidationError(f"data_vars: name {key!r} is reserved by FitResult")
            dv[key] = v
        cs: dict[str, Any] = {_PARAM: nm, _PARAM2: nm}
        for key, v in (coords or {}).items():
            if key in cs or key in dv:
                raise ValidationError(f"coords: name {key!r} is reserved or already a variable")
            cs[key] = v
        return cls._from_parts(dv, cs, a)

    def replace(self: R, *, quality: Quality | None = None, message: str | None = None,
                attrs: Mapping[str, Any] | None = None) -> R:
        """A copy with a new verdict, message or extra attributes (the numbers stay).

        Examples
        --------
        >>> r = FitResult.build(names=["a"], values=[1.0], stderr=[0.1])
        >>> r.replace(quality=Quality("suspect", [("input", "no area")])).quality.level
        'suspect'
        """
        ds = self._ds.copy(deep=True)
        if quality is not None:
            if not ds.attrs["success"] and quality.level != "failed":
                raise ValidationError("replace: a result whose fit did not succeed stays failed")
            ds.attrs["quality"] = quality.to_json()
        if message is not None:
            ds.attrs["message"] = str(message)
        for k, v in (attrs or {}).items():
            if k in _RESERVED_ATTRS:
                raise ValidationError(f"replace: attribute {k!r} is reserved")
            ds.attrs[k] = v
        return type(self)(ds)

    # ------------------------------------------------------------------ parameters
    @property
    def names(self) -> list[str]:
        """Parameter names, in order."""
        return [str(x) for x in self._base(_PARAM)]

    @property
    def values(self) -> dict[str, float]:
        """Parameter values by name (a new dict)."""
        return dict(zip(self.names, (float(v) for v in self._base("value")), strict=True))

    @property
    def stderr(self) -> dict[str, float]:
        """One-sigma standard errors by name (a new dict)."""
        return dict(zip(self.names, (float(v) for v in self._base("stderr")), strict=True))

    @property
    def units(self) -> dict[str, str]:
        """Unit of each parameter (pint syntax; ``""`` for dimensionless)."""
        return dict(zip(self.names, (str(v) for v in self._base("param_units")), strict=True))

    @property
    def free(self) -> dict[str, bool]:
        """Whether each parameter was varied."""
        return dict(zip(self.names, (bool(v) for v in self._base("free")), strict=True))

    @property
    def covariance(self) -> xr.DataArray:
        """Full covariance over ``(param, param_2)`` (a copy)."""
        return self._ds["covariance"].copy(deep=True)

    @property
    def correlation(self) -> xr.DataArray:
        """Correlation matrix over ``(param, param_2)`` (NaN where a variance is zero or unknown)."""
        c = np.asarray(self._base("covariance"), float)
        d = np.sqrt(np.abs(np.diag(c)))
        with np.errstate(invalid="ignore", divide="ignore"):
            r = c / np.outer(d, d)
        r[~np.isfinite(r)] = np.nan
        return xr.DataArray(r, dims=(_PARAM, _PARAM2), coords={_PARAM: self.names, _PARAM2: self.names})

    def estimate(self, name: str | None = None) -> tuple[float, float]:
        """``(value, stderr)`` of parameter ``name`` (default: the first).

        Raises
        ------
        ValidationError
            For an unknown name.
        """
        names = self.names
        if not names:
            raise ValidationError(f"{type(self).__name__} has no parameters")
        key = names[0] if name is None else name
        if key not in names:
            raise ValidationError(f"{key!r} is not a parameter of this result (parameters: {names})")
        i = names.index(key)
        return float(self._base("value")[i]), float(self._base("stderr")[i])

    def uvalues(self, names: Sequence[str] | None = None) -> dict[str, Any]:
        """Correlated :mod:`uncertainties` values of the parameters, for derived quantities.

        Parameters with an unknown (non-finite) variance get a NaN standard
        deviation and no correlation.

        Parameters
        ----------
        names : sequence of str, optional
            A subset (default all).

        Returns
        -------
        dict of str to uncertainties.UFloat
        """
        from uncertainties import correlated_values, ufloat

        all_names = self.names
        sel = list(all_names if names is None else names)
        for s in sel:
            if s not in all_names:
                raise ValidationError(f"uvalues: {s!r} is not a parameter (parameters: {all_names})")
        idx = [all_names.index(s) for s in sel]
        v = np.asarray(self._base("value"), float)[idx]
        c = np.asarray(self._base("covariance"), float)[np.ix_(idx, idx)]
        ok = np.isfinite(np.diag(c)) & np.isfinite(v)
        # a parameter whose correlation with another kept one is unknown cannot be correlated honestly: drop
        # the one with most unknown correlations until the kept block is finite
        while ok.any():
            ii = np.flatnonzero(ok)
            bad = (~np.isfinite(c[np.ix_(ii, ii)])).sum(axis=1)
            if not bad.any():
                break
            ok[ii[int(np.argmax(bad))]] = False
        out: dict[str, Any] = {}
        if ok.any():
            ii = np.flatnonzero(ok)
            sub = c[np.ix_(ii, ii)]
            sub = 0.5 * (sub + sub.T)
            # tiny negative eigenvalues from rounding would make correlated_values refuse the matrix
            w, vecs = np.linalg.eigh(sub)
            if w.min(initial=0.0) < 0:
                sub = (vecs * np.clip(w, 0, None)) @ vecs.T
            for k, uv in zip(ii, correlated_values(v[ii], sub), strict=True):
                out[sel[k]] = uv
        for k in np.flatnonzero(~ok):
            out[sel[k]] = ufloat(float(v[k]), float("nan"))
        return {s: out[s] for s in sel}

    # ------------------------------------------------------------------ status
    @property
    def success(self) -> bool:
        """The optimiser's word: True when it converged."""
        return bool(self._attrs["success"])

    @property
    def message(self) -> str:
        """The optimiser's or method's message."""
        return str(self._attrs["message"])

    @property
    def quality(self) -> Quality:
        """The verdict (good / suspect / failed, with reasons)."""
        return Quality.from_json(str(self._attrs["quality"]))

    @property
    def status(self) -> FitStatus:
        """Success and message as a falsy-on-failure :class:`FitStatus`."""
        return FitStatus(self.success, self.message)

    def __bool__(self) -> bool:
        return self.quality.level != "failed"

    @property
    def citations(self) -> tuple[str, ...]:
        """Citation keys of the methods behind this result."""
        c = self._attrs.get("citations", [])
        if isinstance(c, str):
            c = [c]
        return tuple(str(x) for x in c)

    @property
    def model(self) -> str:
        """The model the result came from (circuit, preset, law or method name)."""
        return str(self._attrs.get("model", ""))

    @property
    def sample(self) -> Any:
        """The sample of the input, or None."""
        label = str(self._attrs.get("sample", ""))
        if not label:
            return None
        from ncmsurf.core.sample import Sample

        return Sample.parse(label)

    @property
    def source(self) -> dict[str, Any]:
        """Provenance of the input (a new dict)."""
        return cast(dict[str, Any], json.loads(str(self._attrs.get("source", "{}"))))

    # ------------------------------------------------------------------ storage, equality
    def to_dataset(self) -> xr.Dataset:
        """The result as an :class:`xarray.Dataset` (a copy; used by ``ns.save``)."""
        ds = self._ds.copy(deep=True)
        for v in ds.variables.values():
            try:
                v.values.flags.writeable = True
            except (AttributeError, ValueError):
                pass
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (the subclass named in the dataset, if registered).

        Raises
        ------
        ValidationError
            If the dataset names a result type that is not registered or
            not a subclass of ``cls``.
        """
        tag = str(ds.attrs.get("result_type", cls._tag))
        target = _TYPES.get(tag)
        if target is None:
            raise ValidationError(f"unknown result type {tag!r} (registered: {sorted(_TYPES)})")
        if not issubclass(target, cls):
            raise ValidationError(f"result type {tag!r} is not a {cls.__name__}")
        return target(ds)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FitResult):
            return NotImplemented
        return type(self) is type(other) and _datasets_equal(self._ds, other._ds)

    __hash__ = None  # type: ignore[assignment]

    def __reduce__(self) -> Any:
        return (_rebuild, (self._tag, self.to_dataset()))

    # ------------------------------------------------------------------ presentation
    def _title(self) -> str:
        bits = [type(self).__name__]
        if self.model:
            bits.append(self.model)
        if self.sample is not None:
            bits.append(f"[{self.sample}]")
        return " ".join(bits)

    def _rows(self) -> list[tuple[str, str, str, str, str]]:
        from ncmsurf.core.units import format_unit

        rows = []
        for name in self.names:
            i = self.names.index(name)
            v = float(self._base("value")[i])
            e = float(self._base("stderr")[i])
            fr = bool(self._base("free")[i])
            unit = format_unit(str(self._base("param_units")[i]))
            if not fr:
                vs, _ = _fmt_pair(v, None)
                es, rel = "fixed", ""
            elif math.isfinite(e):
                vs, es = _fmt_pair(v, e)
                rel = f"{100 * e / abs(v):.2g} %" if v != 0 and math.isfinite(v) else ""
            else:
                vs, _ = _fmt_pair(v, None)
                es, rel = "nan", ""
            rows.append((name, vs, es, rel, unit))
        return rows

    def fit_report(self) -> str:
        """A readable report: parameters with values, stderr and units, the verdict and the papers.

        Examples
        --------
        >>> r = FitResult.build(names=["d"], values=[2.5], stderr=[0.1], units=["nm"], model="hill")
        >>> print(r.fit_report())  # doctest: +NORMALIZE_WHITESPACE
        FitResult hill
        parameter  value  stderr  rel.  unit
        d          2.50   0.10    4 %   nm
        success: True
        quality: good
        """
        rows = self._rows()
        head = ("parameter", "value", "stderr", "rel.", "unit")
        width = [max(len(head[j]), *(len(r[j]) for r in rows)) if rows else len(head[j]) for j in range(5)]
        lines = [self._title()]
        lines.append("  ".join(h.ljust(w) for h, w in zip(head, width, strict=True)).rstrip())
        for row in rows:
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, width, strict=True)).rstrip())
        lines.append(f"success: {self.success}" + (f" ({self.message})" if self.message else ""))
        q = self.quality
        lines.append(f"quality: {q.level}")
        for r in q.reasons:
            lines.append(f"  - [{r.code}] {r.message}")
        extra = self._report_extra()
        if extra:
            lines.extend(extra)
        if self.citations:
            lines.append("references:")
            for c in citations(self.citations):
                lines.append(f"  - {c}")
        return "\n".join(lines)

    def _report_extra(self) -> list[str]:
        """Subclass hook: further report lines (fit statistics, derived numbers)."""
        return []

    def __repr__(self) -> str:
        rows = self._rows()
        q = self.quality
        out = [f"<{self._title()}: {q.level}>"]
        for name, v, e, _rel, unit in rows:
            err = "" if e in ("fixed", "nan") else f" ± {e}"
            tag = " (fixed)" if e == "fixed" else ""
            out.append(f"  {name} = {v}{err} {unit}".rstrip() + tag)
        for r in q.reasons:
            out.append(f"  ! [{r.code}] {r.message}")
        return "\n".join(out)

    def _repr_html_(self) -> str:
        q = self.quality
        colour = {"good": "#1a7f37", "suspect": "#b35900", "failed": "#c62828"}[q.level]
        rows = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in self._rows())
        reasons = "".join(f"<li><code>{html.escape(r.code)}</code> {html.escape(r.message)}</li>" for r in q.reasons)
        refs = "".join(f"<li>{html.escape(c)}</li>" for c in citations(self.citations))
        return (
            f"<div class='ncmsurf-result'><b>{html.escape(self._title())}</b> "
            f"<span style='color:{colour};font-weight:bold'>{q.level}</span>"
            "<table><thead><tr><th>parameter</th><th>value</th><th>stderr</th><th>rel.</th><th>unit</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>"
            + (f"<ul>{reasons}</ul>" if reasons else "")
            + (f"<details><summary>references</summary><ul>{refs}</ul></details>" if refs else "")
            + "</div>"
        )


def legacy_quality(success: bool, message: str = "") -> Quality:
    """The verdict given to a result stored before verdicts existed: failed if it failed, else suspect.

    Its checks were not run, so it is never called good.

    Examples
    --------
    >>> legacy_quality(True).level, legacy_quality(False, "max nfev").codes
    ('suspect', ['not_converged'])
    """
    if not success:
        return Quality("failed", [("not_converged", message or "the fit did not succeed")])
    return Quality("suspect", [("input", "stored by an older ncmsurf without a verdict: the checks were not run")])


class ScalarResult(FitResult):
    """A result whose first parameter is *the* number (a thickness, a coverage, a CV, ...).

    It behaves as that number where a number is expected: ``float(r)``,
    arithmetic with numbers (the answer is a plain ``float``), comparisons,
    ``round(r, 2)`` and format specs; :attr:`value` and :attr:`value_stderr`
    give the number and its one-sigma error (NaN when unknown). Equality with
    a plain number compares the value; with another result, the whole result.

    Examples
    --------
    >>> class Length(ScalarResult):
    ...     pass
    >>> d = Length.build(names=["d"], values=[2.0], stderr=[0.1], units=["nm"])
    >>> d * 2, float(d) + 1, d > 1.5, d == 2.0, round(d, 1), f"{d:.2f}"
    (4.0, 3.0, True, True, 2.0, '2.00')
    >>> d.value, d.value_stderr
    (2.0, 0.1)
    """

    __slots__ = ()

    @property
    def value(self) -> float:
        """The number (the first parameter's value)."""
        return float(self._base("value")[0])

    @property
    def value_stderr(self) -> float:
        """Its one-sigma standard error (NaN when unknown)."""
        return float(self._base("stderr")[0])

    def __float__(self) -> float:
        return self.value

    def __round__(self, ndigits: int | None = None) -> float:
        return round(self.value, ndigits)

    def __format__(self, spec: str) -> str:
        return format(self.value, spec) if spec else repr(self)

    @staticmethod
    def _num(other: Any) -> float | None:
        if isinstance(other, (bool, np.bool_)):
            return None
        if isinstance(other, (int, float, np.integer, np.floating)):
            return float(other)
        return None

    def __eq__(self, other: object) -> bool:
        v = self._num(other)
        if v is not None:
            return self.value == v
        return super().__eq__(other)

    __hash__ = None

    def _op(self, other: Any, f: Any) -> Any:
        if isinstance(other, ScalarResult):
            return f(self.value, other.value)
        v = self._num(other)
        return NotImplemented if v is None else f(self.value, v)

    def __add__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a + b)

    def __radd__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: b + a)

    def __sub__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a - b)

    def __rsub__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: b - a)

    def __mul__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a * b)

    def __rmul__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: b * a)

    def __truediv__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a / b)

    def __rtruediv__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: b / a)

    def __pow__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a**b)

    def __neg__(self) -> float:
        return -self.value

    def __abs__(self) -> float:
        return abs(self.value)

    def __lt__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a < b)

    def __le__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a <= b)

    def __gt__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a > b)

    def __ge__(self, o: Any) -> Any:
        return self._op(o, lambda a, b: a >= b)


def _freeze(ds: xr.Dataset) -> None:
    for v in ds.variables.values():
        # read-only backing arrays: values handed out cannot change the result
        try:
            v.values.flags.writeable = False
        except (AttributeError, ValueError):
            pass


def _rebuild(tag: str, ds: xr.Dataset) -> FitResult:
    return _TYPES[tag](ds)


_TYPES["FitResult"] = FitResult
