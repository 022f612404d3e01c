"""The metric registry: every number :meth:`ncmsurf.Study.metrics` shows is declared here, once.

A :class:`Metric` names the number, the measurement kind it comes from, its
unit (pint syntax), a description, the function that computes it from the
typed results of one sample (:class:`SampleInputs`) and its citations.
:meth:`ncmsurf.Study.metrics`, :func:`metric_table` (the rows the report's
tables show), the command line and the documentation's metric list are all
built from :func:`metrics_registry`; :func:`metric_catalog` returns it as a
table. Adding a metric is one call of :func:`register_metric`.

A compute function returns a :class:`MetricValue` (value, stderr, the unit
the value is in, its verdict, the shared terms of its error) or raises
:class:`MetricUnavailable` with the reason the sample's inputs cannot give
it. The study then converts every value to the metric's unit; a value whose
unit does not convert (Ω without an electrode area for an Ω·cm² metric) is
NaN with the reason the metric declares for that unit (``alternatives``),
unless no sample of the study has the metric's unit, in which case the
study shows the metric in the unit its samples share.

Examples
--------
>>> cat = metric_catalog()
>>> cat.loc["r_ct", "unit"], cat.loc["r_ct", "kind"]
('ohm*cm**2', 'eis')
>>> "first_capacity" in metric_names()
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import pandas as pd
import xarray as xr

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import CyclingData, ImpedanceSpectrum, Measurement
from ncmsurf.core.results import FitResult, Quality
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude, ureg

__all__ = [
    "Metric",
    "MetricUnavailable",
    "MetricValue",
    "SampleInputs",
    "convert",
    "metric_catalog",
    "metric_names",
    "metric_table",
    "metrics_registry",
    "rate_metric_name",
    "register_metric",
    "unregister_metric",
]

NAN = math.nan
T = TypeVar("T")


class MetricUnavailable(Exception):
    """The sample's inputs cannot give this metric; ``str(exc)`` is the reason shown beside the NaN."""


@dataclass(frozen=True)
class MetricValue:
    """One sample's value of a metric, as its compute function returns it.

    Attributes
    ----------
    value, stderr : float
        The number and its one-sigma standard error (NaN where none is estimated).
    unit : str
        Unit of ``value`` and ``stderr`` (pint syntax); the study converts it to the metric's unit.
    quality : Quality
        The verdict of the fits the number comes from (the worse of them).
    shared : mapping of str to (float, float)
        Error terms this value shares with other samples' values: term name
        → (derivative of the value with respect to the term, the term's
        standard error), e.g. the pristine sample's Ni 2p area behind every
        attenuation thickness, or a sputter-rate calibration. Their
        contribution is part of ``stderr``; :meth:`ncmsurf.Study.compare`
        uses them for the covariance of two values.
    note : str
        Said in the metric's description (e.g. the corrections applied).
    """

    value: float
    stderr: float = NAN
    unit: str = "1"
    quality: Quality = field(default_factory=Quality.good)
    shared: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    note: str = ""


Compute = Callable[["SampleInputs"], "MetricValue | Mapping[str, MetricValue]"]


@dataclass(frozen=True)
class Metric:
    """Declaration of one metric (or of a family such as ``capacity_<rate>c``).

    Attributes
    ----------
    name : str
        Variable name in :meth:`ncmsurf.Study.metrics` (for a family, the
        pattern shown in the catalogue, e.g. ``"capacity_<rate>c"``).
    kind : str
        Measurement kind it comes from (``"xps"``, ``"eis"``, ``"cycling"``,
        ``"sims"``, ``"eds"``, ``"tem"``).
    unit : str
        Its unit (pint syntax); every sample's value is converted to it.
    description : str
    compute : callable
        ``compute(inputs: SampleInputs) -> MetricValue`` (a family: a mapping
        variable name → MetricValue); raises :class:`MetricUnavailable`.
    citations : tuple of str
        Citation keys (see :func:`ncmsurf.citations`).
    alternatives : mapping of str to str
        Units a sample's value may come in instead (e.g. ``"ohm"`` for an
        ``"ohm*cm**2"`` metric) → the reason such a sample gets NaN (``"no
        electrode area given"``). When no sample has the metric's unit and
        all share one alternative, the metric is shown in that unit.
    family : bool
        ``compute`` returns several variables (named by the mapping's keys).
    """

    name: str
    kind: str
    unit: str
    description: str
    compute: Compute
    citations: tuple[str, ...] = ()
    alternatives: Mapping[str, str] = field(default_factory=dict)
    family: bool = False


_REGISTRY: dict[str, Metric] = {}


def register_metric(name: str, *, kind: str, unit: str, description: str, compute: Compute,
                    citations: Sequence[str] = (), alternatives: Mapping[str, str] | None = None,
                    family: bool = False, replace: bool = False) -> Metric:
    """Declare a metric; it then appears in :meth:`ncmsurf.Study.metrics`, :func:`metric_table` and the catalogue.

    Parameters
    ----------
    name, kind, unit, description, compute, citations, alternatives, family
        See :class:`Metric`.
    replace : bool
        Replace an existing declaration of the same name (else that is an error).

    Returns
    -------
    Metric

    Raises
    ------
    ValidationError
        For a repeated name, an unknown kind or a unit pint cannot parse.

    Examples
    --------
    >>> m = register_metric("ni2p_width", kind="xps", unit="eV", description="FWHM of the Ni2+ line",
    ...                     compute=lambda inp: MetricValue(*inp.xps_fit("Ni 2p").params["Ni2+.fwhm"], unit="eV"))
    >>> "ni2p_width" in metric_names()
    True
    >>> unregister_metric("ni2p_width")
    """
    from ncmsurf.study._manifest import KINDS

    if not isinstance(name, str) or not name.isidentifier() and not family:
        raise ValidationError(f"register_metric: name must be an identifier, got {name!r}")
    if name in _REGISTRY and not replace:
        raise ValidationError(f"register_metric: a metric {name!r} is already declared (pass replace=True)")
    if kind not in KINDS:
        raise ValidationError(f"register_metric: kind must be one of {KINDS}, got {kind!r}")
    for u in (unit, *(alternatives or {})):
        _unit(u)
    if not callable(compute):
        raise ValidationError("register_metric: compute must be callable")
    m = Metric(name, kind, unit, description, compute, tuple(citations), dict(alternatives or {}), family)
    _REGISTRY[name] = m
    return m


def unregister_metric(name: str) -> None:
    """Remove a declared metric (mainly for tests and plug-ins).

    Raises
    ------
    ValidationError
        For an unknown name.
    """
    if name not in _REGISTRY:
        raise ValidationError(f"unregister_metric: no metric {name!r}")
    del _REGISTRY[name]


def metrics_registry() -> dict[str, Metric]:
    """Every declared metric in declaration order (a copy)."""
    return dict(_REGISTRY)


def metric_names(kind: str | None = None) -> list[str]:
    """Names of the declared metrics (families by their pattern), optionally of one kind."""
    return [m.name for m in _REGISTRY.values() if kind is None or m.kind == kind]


def metric_catalog() -> pd.DataFrame:
    """The metric registry as a table: name (index), kind, unit, description, citations, alternatives.

    Examples
    --------
    >>> cat = metric_catalog()
    >>> list(cat.columns)
    ['kind', 'unit', 'description', 'citations', 'alternatives']
    >>> cat.loc["capacity_<rate>c", "unit"]
    'mAh/g'
    """
    rows = [{"name": m.name, "kind": m.kind, "unit": m.unit, "description": m.description,
             "citations": ", ".join(m.citations),
             "alternatives": "; ".join(f"{u}: {why}" for u, why in m.alternatives.items())}
            for m in _REGISTRY.values()]
    return pd.DataFrame(rows, columns=["name", "kind", "unit", "description", "citations",
                                       "alternatives"]).set_index("name")


def metric_table(metrics: xr.Dataset | Any) -> pd.DataFrame:
    """The rows a table of study numbers shows: one per sample and metric, with unit, verdict and reasons.

    Parameters
    ----------
    metrics : xarray.Dataset or Study
        The output of :meth:`ncmsurf.Study.metrics` (or a study, whose
        metrics are taken).

    Returns
    -------
    pandas.DataFrame
        Columns ``sample``, ``metric``, ``unit`` (pint syntax), ``value``,
        ``stderr``, ``quality`` (``good``/``suspect``/``failed``, ``""``
        where there is no value), ``reasons`` (why the value is NaN, or the
        verdict's reasons), ``description``; in the metrics' order.

    Examples
    --------
    >>> import ncmsurf as ns
    >>> from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum
    >>> st = ns.Study(analysis={"eis_circuit": "ncm"})
    >>> _ = st.add(synthetic_spectrum("ncm", NCM_TRUTH, seed=1, area=1.13), "A(3)-NCM")
    >>> _ = st.add(synthetic_spectrum("ncm", NCM_TRUTH, seed=2), "F(3)-NCM")
    >>> tab = metric_table(st.metrics())
    >>> row = tab[(tab.metric == "r_ct") & (tab["sample"] == "F(3)-NCM")].iloc[0]
    >>> row["unit"], row["reasons"][:23]
    ('ohm*cm**2', 'no electrode area given')
    """
    ds = metrics if isinstance(metrics, xr.Dataset) else metrics.metrics()
    reasons = ds.attrs.get("reasons", {})
    units = ds.attrs.get("units", {})
    rows = []
    labels = [str(x) for x in ds["sample"].values]
    for name in ds.attrs.get("metric_order", [str(k) for k in ds.data_vars
                                              if not str(k).endswith(("_stderr", "_quality"))]):
        if name not in ds:
            continue
        v = np.asarray(ds[name].values, float)
        e = np.asarray(ds[f"{name}_stderr"].values, float) if f"{name}_stderr" in ds else np.full(v.size, NAN)
        q = ds[f"{name}_quality"].values if f"{name}_quality" in ds else np.full(v.size, "")
        for i, lab in enumerate(labels):
            why = reasons.get(name, {}).get(lab, "") if not math.isfinite(v[i]) else \
                reasons.get(f"{name}_quality", {}).get(lab, "")
            rows.append({"sample": lab, "metric": name, "unit": units.get(name, ds[name].attrs.get("units", "")),
                         "value": float(v[i]), "stderr": float(e[i]), "quality": str(q[i]), "reasons": why,
                         "description": str(ds[name].attrs.get("description", ""))})
    return pd.DataFrame(rows, columns=["sample", "metric", "unit", "value", "stderr", "quality", "reasons",
                                       "description"])


# ------------------------------------------------------------------------------------------------ units
def _unit(u: str) -> Any:
    try:
        return ureg.Unit(_pint_name(u))
    except (ValueError, TypeError, AttributeError, KeyError, AssertionError) as exc:  # pint's errors subclass these
        raise ValidationError(f"unit {u!r} is not a unit pint understands: {exc}") from None


def _pint_name(u: str) -> str:
    u = str(u).strip()
    return {"": "dimensionless", "1": "dimensionless", "%": "percent"}.get(u, u)


def convert(value: float, stderr: float, unit: str, to: str) -> tuple[float, float] | None:
    """``(value, stderr)`` in ``to``, or None when the units do not convert.

    Equal unit strings are returned unchanged (``"cycle"`` stays a count, not pint's turn).

    Examples
    --------
    >>> convert(1.5, 0.1, "F/cm**2", "uF/cm**2")
    (1500000.0, 100000.0)
    >>> convert(1.0, 0.1, "ohm", "ohm*cm**2") is None
    True
    """
    if str(unit).replace(" ", "") == str(to).replace(" ", ""):
        return value, stderr
    a, b = _unit(unit), _unit(to)
    if a.dimensionality != b.dimensionality:
        return None
    f = float(ureg.Quantity(1.0, a).to(b).magnitude)
    return value * f, stderr * abs(f)


def same_dimension(unit: str, other: str) -> bool:
    """Whether two unit strings convert into each other."""
    if str(unit).replace(" ", "") == str(other).replace(" ", ""):
        return True
    return bool(_unit(unit).dimensionality == _unit(other).dimensionality)


# ------------------------------------------------------------------------------------------------ inputs
@dataclass
class SampleInputs:
    """What a compute function sees of one sample: its typed results, measurements, options and references.

    The accessors return the typed result or raise :class:`MetricUnavailable`
    with the recorded reason it is missing (no file, a file that could not be
    read, a fit that raised).

    Attributes
    ----------
    sample : Sample
    options : mapping
        The study's analysis options.
    results : dict
        Result name (``"xps_fit:Ni 2p"``, ``"eis_fit"``, ``"cycling_summary"``, ...) → result.
    missing : dict
        Result name or ``"kind:<kind>"`` → why it is missing.
    measurements : dict
        Kind → the sample's measurements of that kind.
    pristine : SampleInputs or None
        The pristine sample of the same cathode and cycle state (for references).
    """

    sample: Sample
    options: Mapping[str, Any]
    results: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    measurements: dict[str, list[Measurement]] = field(default_factory=dict)
    pristine: SampleInputs | None = None

    def why(self, name: str, kind: str) -> str:
        """The recorded reason a result is missing."""
        return self.missing.get(name) or self.missing.get(f"kind:{kind}") or f"no {name} for this sample"

    def get(self, name: str, kind: str, cls: type[T]) -> T:
        """The result ``name`` as an instance of ``cls``, or :class:`MetricUnavailable`."""
        obj = self.results.get(name)
        if obj is None:
            raise MetricUnavailable(self.why(name, kind))
        if not isinstance(obj, cls):
            raise TypeError(f"study result {name!r} is a {type(obj).__name__}, not a {cls.__name__}")
        return obj

    def xps_fit(self, region: str) -> Any:
        """The sample's fit of an XPS region (an :class:`ncmsurf.xps.XPSFit`)."""
        from ncmsurf.xps import XPSFit

        name = f"xps_fit:{region}"
        if name not in self.results and name not in self.missing and "kind:xps" not in self.missing:
            raise MetricUnavailable(f"no {region} spectrum for this sample")
        return self.get(name, "xps", XPSFit)

    def xps_joint(self) -> Any:
        """The joint O 1s/Al 2p (+ C 1s, Ni 2p) fit of a coated sample (:func:`ncmsurf.xps.coated_o1s_fit`), or None."""
        from ncmsurf.xps import JointFit

        obj = self.results.get("xps_joint:O 1s")
        return obj if isinstance(obj, JointFit) else None

    def has_xps(self, region: str) -> bool:
        """Whether the sample has a fit of ``region``."""
        return f"xps_fit:{region}" in self.results

    def eis_fit(self) -> Any:
        """The equivalent-circuit fit (a :class:`ncmsurf.eis.CircuitFit`)."""
        from ncmsurf.eis import CircuitFit

        return self.get("eis_fit", "eis", CircuitFit)

    def eis_spectrum(self) -> ImpedanceSpectrum:
        """The impedance spectrum the fit is of."""
        ms = [m for m in self.measurements.get("eis", []) if isinstance(m, ImpedanceSpectrum)]
        if not ms:
            raise MetricUnavailable(self.why("eis", "eis"))
        return ms[0]

    def cycling_data(self) -> CyclingData:
        """The cycling record analysed."""
        ms = [m for m in self.measurements.get("cycling", []) if isinstance(m, CyclingData)]
        if not ms:
            raise MetricUnavailable(self.why("cycling", "cycling"))
        return ms[0]

    def cycling_summary(self) -> xr.Dataset:
        """:func:`ncmsurf.cycling.summary` of the record."""
        return self.get("cycling_summary", "cycling", xr.Dataset)

    def cycling_rate(self) -> xr.Dataset:
        """:func:`ncmsurf.cycling.rate_capability` of the record."""
        return self.get("cycling_rate", "cycling", xr.Dataset)

    def cycling_fade(self) -> Any:
        """The fade fit of the long-term run (a :class:`ncmsurf.cycling.FadeFit`)."""
        from ncmsurf.cycling import FadeFit

        return self.get("cycling_fade", "cycling", FadeFit)

    def cycling_run(self) -> xr.Dataset:
        """The long-term constant-rate run (complete cycles of the summary) used for retention and fade."""
        return self.get("cycling_run", "cycling", xr.Dataset)

    def sims_interface(self) -> Any:
        """The coating/substrate interface of the depth profile (:class:`ncmsurf.sims.Interface`)."""
        from ncmsurf.sims import Interface

        return self.get("sims_interface", "sims", Interface)

    def eds_coverage(self) -> Any:
        """:func:`ncmsurf.eds.coverage` of the coating element."""
        from ncmsurf.eds import Coverage

        return self.get("eds_coverage", "eds", Coverage)

    def eds_uniformity(self) -> Any:
        """:func:`ncmsurf.eds.uniformity` of the coating element."""
        from ncmsurf.eds import Uniformity

        return self.get("eds_uniformity", "eds", Uniformity)

    def tem_thickness(self) -> Any:
        """:func:`ncmsurf.tem.coating_thickness` of the TEM image."""
        from ncmsurf.tem import CoatingThickness

        return self.get("tem_thickness", "tem", CoatingThickness)

    def option(self, name: str, unit: str, default: float | None = None) -> float | None:
        """A numeric analysis option in ``unit`` (a pint Quantity is converted), or ``default``."""
        v = self.options.get(name, default)
        return None if v is None else magnitude(v, unit, name=name)


def quality_of(*results: Any) -> Quality:
    """The worse verdict of several results (good when none is given)."""
    q = Quality.good()
    for r in results:
        if isinstance(r, FitResult):
            q = q.worse(r.quality)
        elif isinstance(r, Quality):
            q = q.worse(r)
    return q


def rate_metric_name(c_rate: float) -> str:
    """Name of the capacity metric at a C-rate, after the package's one rule (:func:`ncmsurf.cycling.snap_c_rate`).

    Examples
    --------
    >>> rate_metric_name(0.1), rate_metric_name(4.95), rate_metric_name(4.4), rate_metric_name(1 / 3)
    ('capacity_0p1c', 'capacity_5c', 'capacity_4p4c', 'capacity_0p33c')
    """
    from ncmsurf.cycling import snap_c_rate

    r = snap_c_rate(float(c_rate))
    return f"capacity_{f'{r:g}'.replace('.', 'p')}c"


def _t_factor(dof: float) -> float:
    """T quantile over the normal one at 95 %: a stderr × this gives the t interval as ±1.96 stderr."""
    from scipy import stats

    return float(stats.t.ppf(0.975, dof) / stats.norm.ppf(0.975))


# ============================================================================================= the metrics
# ------------------------------------------------------------------------------------------------ XPS
def _ni2_fraction(inp: SampleInputs) -> MetricValue:
    from ncmsurf.xps import ni2_fraction

    fit = inp.xps_fit("Ni 2p")
    v, e = ni2_fraction(fit)
    return MetricValue(v, e, "1", fit.quality)


def _share(region: str, component: str) -> Callable[[SampleInputs], MetricValue]:
    def compute(inp: SampleInputs) -> MetricValue:
        fit = inp.xps_fit(region)
        if component not in fit.areas:
            raise MetricUnavailable(f"the {region} fit has no {component!r} component (has {sorted(fit.areas)})")
        v, e = fit.fraction(component)
        return MetricValue(v, e, "1", fit.quality)
    return compute


def _carbonate_share(inp: SampleInputs) -> MetricValue:
    joint = inp.xps_joint()
    if joint is not None:
        v, e = joint.fraction("O 1s", "carbonate")
        return MetricValue(v, e, "1", joint.quality,
                           note="O 1s fitted jointly with Al 2p (Al-O tied at O/Al = 1.5), C 1s and Ni 2p")
    if inp.has_xps("O 1s") or not inp.has_xps("C 1s"):
        mv = _share("O 1s", "carbonate")(inp)
        if inp.sample.coated:
            why = ("coated sample without a joint O 1s/Al 2p fit: Al-O and carbonate overlap in a single "
                   "O 1s fit")
            return MetricValue(mv.value, mv.stderr, "1", mv.quality.with_reasons(suspect=[("unidentifiable", why)]))
        return mv
    mv = _share("C 1s", "CO3")(inp)
    return MetricValue(mv.value, mv.stderr, "1", mv.quality, note="C 1s CO3 share where there is no O 1s")


def _area_unit(fit: Any) -> str:
    u = str(fit.units.get(next((n for n in fit.names if n.endswith(".area")), ""), "") or "")
    return u or "counts*eV"


def _ni2p_area(inp: SampleInputs) -> MetricValue:
    fit = inp.xps_fit("Ni 2p")
    v, e = fit.total_area(fit.main_components)
    return MetricValue(v, e, _area_unit(fit), fit.quality)


def _al_ni_ratio(inp: SampleInputs) -> MetricValue:
    from ncmsurf.xps import al_ni_ratio

    if not inp.sample.coated and not inp.has_xps("Al 2p"):
        raise MetricUnavailable("pristine sample without an Al 2p spectrum: no coating")
    expo = inp.option("imfp_exponent", "dimensionless", 0.75)
    expo_f = float(expo if expo is not None else 0.75)
    joint = inp.xps_joint()
    if joint is not None and "Ni 2p" in joint.regions:
        r, e, corrections = al_ni_ratio(joint, imfp_exponent=expo_f)
        return MetricValue(r, e, "1", joint.quality,
                           note=f"areas of the joint O 1s/Al 2p/Ni 2p fit; corrections applied: {corrections}")
    al, ni = inp.xps_fit("Al 2p"), inp.xps_fit("Ni 2p")
    r, e, corrections = al_ni_ratio(al, ni, imfp_exponent=expo_f)
    return MetricValue(r, e, "1", quality_of(al, ni), note=f"corrections applied: {corrections}")


def _thickness_xps(inp: SampleInputs) -> MetricValue:
    from ncmsurf import thickness

    s = inp.sample
    if not s.coated:
        raise MetricUnavailable("pristine sample: no coating")
    fit = inp.xps_fit("Ni 2p")
    ref = inp.pristine
    if ref is None:
        raise MetricUnavailable(f"no pristine {s.cathode} sample at {s.cycles} cycles to compare with")
    try:
        fit0 = ref.xps_fit("Ni 2p")
    except MetricUnavailable as exc:
        raise MetricUnavailable(f"no Ni 2p area of the pristine sample {ref.sample.label}: {exc}") from None
    lam = inp.option("attenuation_length", "nm")
    if lam is None:
        raise MetricUnavailable("no attenuation_length in the [analysis] options")
    lam_se = inp.option("attenuation_length_stderr", "nm")
    angle = inp.option("emission_angle", "degree", 0.0) or 0.0
    (i, si), (i0, si0) = fit.total_area(fit.main_components), fit0.total_area(fit0.main_components)
    if not (i > 0 and i0 > 0):
        raise MetricUnavailable(f"a Ni 2p area is not positive ({i:.4g} coated, {i0:.4g} pristine)")
    d = thickness.from_attenuation(i, i0, attenuation_length=lam, angle=angle, i_coated_stderr=si,
                                   i_bare_stderr=si0, attenuation_length_stderr=lam_se)
    lcos = lam * math.cos(math.radians(angle))
    shared = {f"Ni 2p area of {ref.sample.label}": (lcos / i0, si0)}
    if lam_se:
        shared["attenuation_length (analysis option)"] = (d.value / lam, lam_se)
    return MetricValue(d.value, d.value_stderr, "nm", quality_of(fit, fit0, d), shared)


# ------------------------------------------------------------------------------------------------ EIS
_NO_AREA = "no electrode area given"


def _resistance(physical: str) -> Callable[[SampleInputs], MetricValue]:
    def compute(inp: SampleInputs) -> MetricValue:
        fit = inp.eis_fit()
        named, errs = fit.named, fit.named_stderr
        if physical not in named:
            extra = ""
            if fit.quality.has("not_resolved"):
                extra = ": only one arc is resolved"
            raise MetricUnavailable(f"the fitted circuit {fit.circuit} has no {physical}{extra}")
        return _per_area(inp, fit, named[physical], errs.get(physical, NAN), 1)
    return compute


def _per_area(inp: SampleInputs, fit: Any, v: float, e: float, power: int) -> MetricValue:
    """A resistance (power 1: × area) or capacitance (power −1: / area) in area-specific units when possible."""
    spec = inp.eis_spectrum()
    normalised = "cm" in str(fit.impedance_units)
    base = "ohm" if power == 1 else "F"
    if normalised:
        return MetricValue(v, e, f"{base}*cm**2" if power == 1 else f"{base}/cm**2", fit.quality)
    if spec.area is None:
        return MetricValue(v, e, base, fit.quality)
    a = float(spec.area) ** power
    return MetricValue(v * a, e * a, f"{base}*cm**2" if power == 1 else f"{base}/cm**2", fit.quality)


def _c_sei(inp: SampleInputs) -> MetricValue:
    fit = inp.eis_fit()
    cpe = next((k.rsplit("_", 1)[0] for k, v in fit.physical_names.items() if v == "Q_SEI"), None)
    if cpe is None:
        raise MetricUnavailable(f"the fitted circuit {fit.circuit} has no CPE named Q_SEI")
    c, cs = fit.effective_capacitance()[cpe]
    return _per_area(inp, fit, c, cs, -1)


# ------------------------------------------------------------------------------------------------ cycling
def _cap_unit(summ: xr.Dataset) -> str:
    return str(summ["discharge_capacity"].attrs.get("units", "mAh"))


def _first_index(summ: xr.Dataset) -> int:
    """Index of the first complete, resolved cycle (the summary's flags)."""
    flag = np.asarray(summ["resolved"].values if "resolved" in summ else summ["complete"].values, bool)
    if not flag.any():
        rule = summ.attrs.get("complete_rule", "")
        raise MetricUnavailable("the record has no complete, resolved cycle" + (f" ({rule})" if rule else ""))
    return int(np.flatnonzero(flag)[0])


def _repeatability(values: np.ndarray, i0: int, summ: xr.Dataset) -> float:
    """One-measurement standard error from the scatter of the next complete cycles at the same C-rate.

    The scatter is the standard deviation of successive differences / √2 (insensitive to a slow trend);
    it is multiplied by t(0.975, ν)/1.96 so that ±1.96 stderr is the 95 % t interval, with ν = 2m²/(3m − 1)
    the effective degrees of freedom of the mean square successive difference of m differences.
    """
    from ncmsurf.cycling import snap_c_rate

    flag = np.asarray(summ["resolved"].values if "resolved" in summ else summ["complete"].values, bool)
    rates = np.asarray(summ["c_rate"].values, float) if "c_rate" in summ else np.ones(values.size)
    r0 = snap_c_rate(rates[i0])
    same = [i for i in range(i0 + 1, values.size) if flag[i] and snap_c_rate(rates[i]) == r0]
    run: list[int] = []
    for i in same:  # the consecutive block right after the first cycle
        if run and i != run[-1] + 1:
            break
        run.append(i)
    x = values[run]
    x = x[np.isfinite(x)]
    if x.size < 3:
        return NAN
    d = np.diff(x)
    s = float(np.sqrt(np.mean(d * d) / 2.0))
    # successive differences share their points (correlation -1/2), so the estimate has fewer degrees of
    # freedom than differences: Satterthwaite's 2 m^2 / (3 m - 1) for m differences (von Neumann, 1941)
    m = d.size
    return s * _t_factor(2.0 * m * m / (3.0 * m - 1.0))


def _first_capacity(inp: SampleInputs) -> MetricValue:
    summ = inp.cycling_summary()
    if "has_discharge" in summ and not bool(np.any(summ["has_discharge"].values)):
        raise MetricUnavailable("the record has no discharge (a charge-only record: see first_charge_capacity)")
    i = _first_index(summ)
    q = np.asarray(summ["discharge_capacity"].values, float)
    # earlier partial cycles stay flagged in the summary; they are not a concern for this number
    return MetricValue(float(q[i]), _repeatability(q, i, summ), _cap_unit(summ))


def _first_charge_capacity(inp: SampleInputs) -> MetricValue:
    summ = inp.cycling_summary()
    qc = np.asarray(summ["charge_capacity"].values, float)
    ok = np.isfinite(qc) & (qc > 0)
    if not ok.any():
        raise MetricUnavailable("the record has no charge")
    share = float(summ.attrs.get("complete_share", 0.5))
    med = float(np.median(qc[ok]))
    full = np.flatnonzero(ok & (qc >= share * med))
    i = int(full[0])
    unit = str(summ["charge_capacity"].attrs.get("units", "mAh"))
    return MetricValue(float(qc[i]), _repeatability(qc, i, summ), unit)


def _first_ce(inp: SampleInputs) -> MetricValue:
    summ = inp.cycling_summary()
    i = _first_index(summ)
    ce = np.asarray(summ["coulombic_efficiency"].values, float)
    unit = str(summ["coulombic_efficiency"].attrs.get("units", "1")) or "1"
    return MetricValue(float(ce[i]), _repeatability(ce, i, summ), unit)


def _rate_steps(inp: SampleInputs) -> dict[str, tuple[float, float, int, float]]:
    """Capacity metric name → (mean, stderr of the mean, cycles, measured C-rate) of the first step at each C-rate.

    The stderr here is s/√n (no t factor); :func:`_capacities` and :func:`_rate_5c_01c` turn it into the
    stated one.
    """
    rate = inp.cycling_rate()
    out: dict[str, tuple[float, float, int, float]] = {}
    for k in range(int(rate.sizes.get("rate_step", 0))):
        c = float(rate["c_rate"].values[k])
        if not (math.isfinite(c) and c > 0):
            continue
        name = rate_metric_name(c)
        if name in out:
            continue
        n = int(rate["n_cycles"].values[k]) if "n_cycles" in rate else \
            int(rate["last_cycle"].values[k] - rate["first_cycle"].values[k] + 1)
        std = float(rate["capacity_std"].values[k])
        se = std / math.sqrt(n) if n >= 2 and math.isfinite(std) else NAN
        out[name] = (float(rate["capacity_mean"].values[k]), se, n, c)
    return out


def _capacities(inp: SampleInputs) -> dict[str, MetricValue]:
    unit = _cap_unit(inp.cycling_summary())
    return {name: MetricValue(v, e * _t_factor(n - 1) if n >= 2 else NAN, unit,
                              note="mean discharge capacity of the step's complete cycles")
            for name, (v, e, n, _) in _rate_steps(inp).items()}


def _rate_5c_01c(inp: SampleInputs) -> MetricValue:
    steps = _rate_steps(inp)
    if "capacity_5c" not in steps or "capacity_0p1c" not in steps:
        from ncmsurf.cycling import c_rate_label

        have = ", ".join(c_rate_label(c) for *_, c in steps.values()) or "none"
        raise MetricUnavailable(f"the record has no 5C and 0.1C steps (C-rates found: {have})")
    (a, sa, na, _), (b, sb, nb, _) = steps["capacity_5c"], steps["capacity_0p1c"]
    r = a / b
    ra, rb = (sa / a) ** 2, (sb / b) ** 2
    if not (na >= 2 and nb >= 2 and math.isfinite(ra + rb)):
        return MetricValue(r, NAN, "1")
    # Welch-Satterthwaite degrees of freedom of the two relative variances, so ±1.96 stderr is the t interval
    dof = (ra + rb) ** 2 / (ra**2 / (na - 1) + rb**2 / (nb - 1)) if ra + rb > 0 else math.inf
    return MetricValue(r, abs(r) * math.sqrt(ra + rb) * _t_factor(max(dof, 1.0)), "1")


def retention_ols(capacity: np.ndarray, n: int = 100) -> tuple[float, float]:
    """Retention after ``n`` cycles from a quadratic least-squares fit, with its stderr.

    The fit covers the first ``n`` cycles; retention is Q(n)/Q(1) of the fitted
    curve, its standard error by the delta method from the fit covariance
    (residual variance from the fit, no floor).

    Examples
    --------
    >>> q = 200.0 * (1 - 0.001 * np.arange(100))
    >>> round(retention_ols(q)[0], 6)
    0.901
    """
    from ncmsurf.core.fitting import propagate_one

    q = np.asarray(capacity, dtype=float)[:n]
    k = np.arange(1, q.size + 1, dtype=float)
    x = (k - 1.0) / max(n - 1, 1)
    design = np.vstack([np.ones_like(x), x, x * x]).T
    coef, *_ = np.linalg.lstsq(design, q, rcond=None)
    resid = q - design @ coef
    dof = max(q.size - 3, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(design.T @ design)
    return propagate_one(lambda p: (p[0] + p[1] + p[2]) / p[0], coef, cov)


def _retention(inp: SampleInputs) -> MetricValue:
    run = inp.cycling_run()
    n = int(inp.options.get("retention_cycles", 100))
    q = np.asarray(run["discharge_capacity"].values, float)
    if q.size < n:
        raise MetricUnavailable(f"the longest constant-rate run of complete cycles has {q.size} cycles (< {n})")
    r, e = retention_ols(q, n)
    quality = Quality.good()
    gaps = int(run.attrs.get("partial_inside", 0))
    if gaps:
        quality = quality.with_reasons(suspect=[("partial_data", f"{gaps} partial cycle(s) inside the run left out")])
    return MetricValue(r, e, "1", quality, note=f"retention after {n} cycles of the longest constant-rate run")


def _cycles_to_80(inp: SampleInputs) -> MetricValue:
    fade = inp.cycling_fade()
    ct = fade.cycles_to(0.8)
    if ct is None:
        raise MetricUnavailable(f"the fitted fade gives no cycle to 80 %: {fade.cycles_to_reason(0.8)}")
    v, lo, hi = (float(x) for x in ct)
    se = (hi - lo) / (2 * 1.959964) if math.isfinite(hi - lo) else NAN
    return MetricValue(v, se, "cycle", fade.quality)


# ------------------------------------------------------------------------------------------------ SIMS, EDS, TEM
def _thickness_sims(inp: SampleInputs) -> MetricValue:
    if not inp.sample.coated:
        raise MetricUnavailable("pristine sample: no coating")
    itf = inp.sims_interface()
    if itf.depth is None:
        raise MetricUnavailable("no sputter rate: the interface is known in time only")
    d, s = itf.estimate("depth")
    shared: dict[str, tuple[float, float]] = {}
    rate_se = inp.option("sputter_rate_stderr", "nm/s")
    if rate_se and inp.options.get("sputter_rate") is not None:
        shared["sputter_rate (analysis option)"] = (float(itf.time), float(rate_se))
    return MetricValue(d, s, "nm", itf.quality, shared)


def _coverage(inp: SampleInputs) -> MetricValue:
    cov = inp.eds_coverage()
    return MetricValue(cov.value, cov.value_stderr, "1", cov.quality)


def _coverage_cv(inp: SampleInputs) -> MetricValue:
    uni = inp.eds_uniformity()
    return MetricValue(uni.value, uni.value_stderr, "1", uni.quality)


def _thickness_tem(inp: SampleInputs) -> MetricValue:
    if not inp.sample.coated:
        raise MetricUnavailable("pristine sample: no coating")
    res = inp.tem_thickness()
    v, e = res.thickness
    return MetricValue(v, e, "nm", res.quality)


# ------------------------------------------------------------------------------------------------ declarations
_BUILTIN: list[dict[str, Any]] = [
    dict(name="ni2_fraction", kind="xps", unit="1", compute=_ni2_fraction,
         description="Ni2+ share of the Ni2+ + Ni3+ area in the Ni 2p fit (model of the fit: two doublets "
                     "with satellites excluded, or whole multiplet envelopes)"),
    dict(name="lif_share", kind="xps", unit="1", compute=_share("F 1s", "LiF"),
         description="LiF share of the F 1s component area"),
    dict(name="carbonate_share", kind="xps", unit="1", compute=_carbonate_share,
         description="carbonate share of the O 1s component area; a coated sample's O 1s is fitted jointly with "
                     "Al 2p (Al-O tied to Al2O3 at O/Al = 1.5), C 1s and Ni 2p (ncmsurf.xps.coated_o1s_fit), a bare "
                     "one with the uncoated preset; C 1s CO3 share when there is no O 1s"),
    dict(name="al_ni_ratio", kind="xps", unit="1", compute=_al_ni_ratio, citations=("scofield1976",),
         description="Al/Ni atomic ratio from the Al components of Al 2p (without its Ni 3p lines) and the total "
                     "Ni 2p area, from the joint O 1s/Al 2p/Ni 2p fit when there is one (full area covariance) "
                     "with Scofield cross-sections, the IMFP kinetic-energy correction (exponent 0.75 unless "
                     "imfp_exponent is set) and the files' transmission where both carry it"),
    dict(name="ni2p_area", kind="xps", unit="counts*eV", compute=_ni2p_area,
         alternatives={"counts*eV/s": "the Ni 2p area is in counts per second (others in counts)"},
         description="total fitted Ni 2p area of the main lines, stderr from the full area covariance"),
    dict(name="thickness_xps", kind="xps", unit="nm", compute=_thickness_xps, citations=("hill1976",),
         description="coating thickness from the Ni 2p attenuation against P-NCM at the same cycles "
                     "(d = L cos(theta) ln(I0/I); the pristine area is a term shared by every coated sample)"),
    dict(name="r_s", kind="eis", unit="ohm*cm**2", compute=_resistance("R_s"), alternatives={"ohm": _NO_AREA},
         description="series (electrolyte) resistance R_s, area-specific"),
    dict(name="r_sei", kind="eis", unit="ohm*cm**2", compute=_resistance("R_SEI"), alternatives={"ohm": _NO_AREA},
         description="surface-film (SEI/CEI) resistance R_SEI, area-specific; absent when only one arc is resolved"),
    dict(name="r_ct", kind="eis", unit="ohm*cm**2", compute=_resistance("R_ct"), alternatives={"ohm": _NO_AREA},
         description="charge-transfer resistance R_ct, area-specific"),
    dict(name="c_sei", kind="eis", unit="uF/cm**2", compute=_c_sei, alternatives={"uF": _NO_AREA},
         citations=("hsu-mansfeld2001",),
         description="effective capacitance of the surface film (Hsu-Mansfeld, from Q_SEI, alpha_SEI and R_SEI)"),
    dict(name="first_capacity", kind="cycling", unit="mAh/g", compute=_first_capacity,
         alternatives={"mAh": "no active mass given"},
         description="discharge capacity of the first complete, resolved cycle (stderr: scatter of the next "
                     "cycles at the same C-rate, t interval)"),
    dict(name="first_charge_capacity", kind="cycling", unit="mAh/g", compute=_first_charge_capacity,
         alternatives={"mAh": "no active mass given"},
         description="charge capacity of the first full charge (also of charge-only formation records)"),
    dict(name="first_ce", kind="cycling", unit="1", compute=_first_ce,
         description="coulombic efficiency of the first complete, resolved cycle (from the unit on the data)"),
    dict(name="capacity_<rate>c", kind="cycling", unit="mAh/g", compute=_capacities, family=True,
         alternatives={"mAh": "no active mass given"},
         description="mean discharge capacity at each C-rate of the rate ladder (C-rate named by "
                     "ncmsurf.cycling.snap_c_rate; stderr: t interval of the step's cycles)"),
    dict(name="rate_5c_01c", kind="cycling", unit="1", compute=_rate_5c_01c,
         description="capacity at 5C over capacity at 0.1C"),
    dict(name="retention_100", kind="cycling", unit="1", compute=_retention,
         description="discharge capacity after 100 cycles of the long-term run over its first cycle (quadratic "
                     "fit of the complete cycles, delta-method stderr)"),
    dict(name="cycles_to_80", kind="cycling", unit="cycle", compute=_cycles_to_80,
         description="fitted cycles of the long-term run to 80 % of its first capacity (model-averaged 95 % "
                     "interval / 3.92 as stderr)"),
    dict(name="thickness_sims", kind="sims", unit="nm", compute=_thickness_sims,
         description="coating thickness: depth of the 50 % fall of the coating fragment (stderr with the "
                     "sputter-rate stderr, ncmsurf.sims.Interface)"),
    dict(name="coverage", kind="eds", unit="1", compute=_coverage,
         description="coating coverage fraction of the mapped particle area (coating element map)"),
    dict(name="coverage_cv", kind="eds", unit="1", compute=_coverage_cv,
         description="coefficient of variation of the coating element map"),
    dict(name="thickness_tem", kind="tem", unit="nm", compute=_thickness_tem,
         description="coating thickness measured on the TEM image (mean of the edge profiles, standard error "
                     "of the mean)"),
]

for _decl in _BUILTIN:
    register_metric(**_decl)


def iter_values(metric: Metric, inp: SampleInputs) -> Iterator[tuple[str, MetricValue | str]]:
    """``(variable name, MetricValue or the reason it is missing)`` of one metric for one sample.

    A family yields one item per variable it gives (nothing when it gives none, its reason then under
    the family's name).
    """
    try:
        out = metric.compute(inp)
    except MetricUnavailable as exc:
        yield metric.name, str(exc)
        return
    if metric.family:
        if not isinstance(out, Mapping):
            raise TypeError(f"metric {metric.name}: a family's compute must return a mapping")
        yield from out.items()
    else:
        if not isinstance(out, MetricValue):
            raise TypeError(f"metric {metric.name}: compute returned {type(out).__name__}, not a MetricValue")
        yield metric.name, out
