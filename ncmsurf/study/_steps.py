"""Analysis steps of the study layer: one pluggable step per measurement kind.

A step takes every measurement of one kind for one sample and returns the
metric values (value, stderr), the reason for every metric it could not give,
and the fit results it made (kept in the study for the report and storage).
A step whose engine is not importable raises :class:`EngineUnavailable`; the
study turns that into NaN metrics with the reason, it never aborts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ncmsurf.core.models import Measurement
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

__all__ = [
    "METRICS",
    "STEPS",
    "EngineUnavailable",
    "MetricInfo",
    "StepOutput",
    "rate_metric_name",
]

NAN = math.nan


@dataclass(frozen=True)
class MetricInfo:
    """Catalogue entry of a metric: its kind, unit and meaning."""

    kind: str
    units: str
    description: str


METRICS: dict[str, MetricInfo] = {
    "ni2_fraction": MetricInfo("xps", "1", "Ni2+ share of the Ni2+ + Ni3+ area in the Ni 2p fit"),
    "lif_share": MetricInfo("xps", "1", "LiF share of the F 1s component area"),
    "carbonate_share": MetricInfo(
        "xps", "1", "carbonate share of the O 1s component area (C 1s CO3 share when there is no O 1s)"),
    "al_ni_ratio": MetricInfo("xps", "1", "Al/Ni atomic ratio from the Al 2p and Ni 2p fitted areas"),
    "ni2p_area": MetricInfo("xps", "counts*eV", "total fitted Ni 2p area (all components)"),
    "thickness_xps": MetricInfo(
        "xps", "nm", "coating thickness from the Ni 2p attenuation against P-NCM at the same cycles"),
    "r_s": MetricInfo("eis", "ohm*cm**2", "series (electrolyte) resistance R_s"),
    "r_sei": MetricInfo("eis", "ohm*cm**2", "surface-film (SEI/CEI) resistance R_SEI"),
    "r_ct": MetricInfo("eis", "ohm*cm**2", "charge-transfer resistance R_ct"),
    "c_sei": MetricInfo("eis", "uF/cm**2",
                        "effective capacitance of the surface film (Hsu-Mansfeld, from Q_SEI, alpha_SEI and R_SEI)"),
    "first_capacity": MetricInfo("cycling", "mAh/g", "first-cycle discharge capacity"),
    "first_ce": MetricInfo("cycling", "1", "first-cycle coulombic efficiency"),
    "rate_5c_01c": MetricInfo("cycling", "1", "capacity at 5C over capacity at 0.1C"),
    "retention_100": MetricInfo(
        "cycling", "1", "discharge capacity after 100 cycles of the long-term run over its first cycle"),
    "cycles_to_80": MetricInfo("cycling", "cycle", "fitted cycles of the long-term run to 80 % of its first capacity"),
    "thickness_sims": MetricInfo("sims", "nm", "coating thickness: depth of the 50 % fall of the coating fragment"),
    "coverage": MetricInfo("eds", "1", "coating coverage fraction of the mapped area (coating element map)"),
    "coverage_cv": MetricInfo("eds", "1", "coefficient of variation of the coating element map"),
}


def rate_metric_name(c_rate: float) -> str:
    """Name of the capacity metric at a C-rate.

    Examples
    --------
    >>> rate_metric_name(0.1), rate_metric_name(5.0), rate_metric_name(0.5)
    ('capacity_0p1c', 'capacity_5c', 'capacity_0p5c')
    """
    text = f"{round(float(c_rate), 3):g}".replace(".", "p")
    return f"capacity_{text}c"


class EngineUnavailable(Exception):
    """The analysis engine of a kind cannot be imported."""


@dataclass
class StepOutput:
    """What a step returns for one sample."""

    values: dict[str, tuple[float, float]] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, name: str, value: float, stderr: float = NAN, units: str | None = None) -> None:
        """Record a metric (a non-finite value becomes a reason)."""
        v = float(value)
        if not math.isfinite(v):
            self.fail(name, "the analysis gave a non-finite value")
            return
        s = float(stderr)
        self.values[name] = (v, s if math.isfinite(s) else NAN)
        if units is not None:
            self.units[name] = units

    def fail(self, name: str, reason: str) -> None:
        """Record why a metric is missing (the first reason wins)."""
        self.reasons.setdefault(name, reason)


def _engine(name: str) -> Any:
    import importlib

    try:
        return importlib.import_module(f"ncmsurf.{name}")
    except ImportError as exc:
        raise EngineUnavailable(f"the {name} engine (ncmsurf.{name}) is not available: {exc}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _pair(x: Any) -> tuple[float, float]:
    """(value, stderr) from a tuple, a number, a one-number result or an object with value/stderr."""
    from ncmsurf.core.results import ScalarResult

    if isinstance(x, ScalarResult):
        return x.value, x.value_stderr
    if isinstance(x, tuple) and len(x) >= 2:
        return float(x[0]), float(x[1]) if x[1] is not None else NAN
    if hasattr(x, "value"):
        return float(x.value), float(getattr(x, "stderr", NAN) or NAN)
    if hasattr(x, "fraction"):
        return float(x.fraction), float(getattr(x, "stderr", NAN) or NAN)
    return float(x), NAN


# ----------------------------------------------------------------------- XPS
_CONTRACT_PRESETS = ("Ni 2p", "Co 2p", "Mn 2p", "Li 1s", "O 1s", "F 1s", "C 1s", "Al 2p")
XPS_METRICS = ("ni2_fraction", "lif_share", "carbonate_share", "al_ni_ratio", "ni2p_area")


def _fraction(out: StepOutput, metric: str, fit: Any, region: str, name: str, among: Sequence[str] | None) -> None:
    if not getattr(fit, "success", True):
        out.fail(metric, f"{region} fit failed: {getattr(fit, 'message', '')}")
        return
    try:
        v, s = _pair(fit.fraction(name, among=list(among) if among is not None else None))
    except Exception as exc:
        out.fail(metric, f"{region} fit has no {name!r} share: {_short(exc)}")
        return
    out.put(metric, v, s, "1")


def _total_area(fit: Any) -> tuple[float, float]:
    """Area of the main lines with the stderr from the fit's full area covariance (negative covariances kept).

    Satellites are left out: the preset ties them to their parents with different ratios, so their share
    changes with the Ni2+/Ni3+ balance, which would make the attenuation ratio depend on composition.
    """
    v, s = fit.total_area(fit.main_components)
    return float(v), float(s)


def xps_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any]) -> StepOutput:
    """Fit every core level with its preset; Ni2+, LiF, carbonate shares, Al/Ni."""
    out = StepOutput()
    xps = _engine("xps")
    listed = getattr(xps, "presets", None)
    presets = set(listed()) if callable(listed) else set(_CONTRACT_PRESETS)
    by_region: dict[str, Any] = {}
    for spec in ms:
        region = getattr(spec, "region", None)
        if region in presets and region not in by_region:
            by_region[region] = spec
    fits: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if "C 1s" in by_region and opts.get("charge_correct", True) and hasattr(xps, "charge_correct"):
        try:
            to = magnitude(opts.get("charge_reference", 284.8), "eV", name="charge_reference")
            corrected = xps.charge_correct(list(by_region.values()), reference="C 1s", to=to)
            by_region = dict(zip(by_region, corrected))
        except Exception as exc:
            out.notes.append(f"charge correction skipped: {_short(exc)}")
    for region, spec in by_region.items():
        try:
            # Ni 2p: the satellites' tails reach the window edges, so the Shirley background is refined
            # inside the fit (a static Shirley on the endpoints biases the Ni2+ share low)
            background = opts.get("xps_background", "active-shirley" if region == "Ni 2p" else "shirley")
            fits[region] = xps.fit(spec, region, background=background)
            out.results[f"xps_fit:{region}"] = fits[region]
        except Exception as exc:
            errors[region] = f"{region} fit raised {_short(exc)}"

    def need(region: str, metric: str) -> Any:
        if region in fits:
            return fits[region]
        out.fail(metric, errors.get(region, f"no {region} spectrum for this sample"))
        return None

    f = need("Ni 2p", "ni2_fraction")
    if f is not None:
        _fraction(out, "ni2_fraction", f, "Ni 2p", "Ni2+", ["Ni2+", "Ni3+"])
        if getattr(f, "success", True):
            out.put("ni2p_area", *_total_area(f), units="counts*eV")
        else:
            out.fail("ni2p_area", f"Ni 2p fit failed: {getattr(f, 'message', '')}")
    else:
        out.fail("ni2p_area", out.reasons["ni2_fraction"])
    f = need("F 1s", "lif_share")
    if f is not None:
        _fraction(out, "lif_share", f, "F 1s", "LiF", None)
    if "O 1s" in fits:
        _fraction(out, "carbonate_share", fits["O 1s"], "O 1s", "carbonate", None)
    elif "C 1s" in fits:
        _fraction(out, "carbonate_share", fits["C 1s"], "C 1s", "CO3", None)
    else:
        out.fail("carbonate_share", errors.get("O 1s", errors.get("C 1s", "no O 1s or C 1s spectrum for this sample")))
    if not sample.coated and "Al 2p" not in fits:
        out.fail("al_ni_ratio", "pristine sample without an Al 2p spectrum: no coating")
    else:
        fa, fn = need("Al 2p", "al_ni_ratio"), need("Ni 2p", "al_ni_ratio")
        if fa is not None and fn is not None:
            try:
                (a, sa), (n, sn) = _total_area(fa), _total_area(fn)
                at = xps.quantify({"Al 2p": a, "Ni 2p": n})
                ratio = float(at["Al 2p"]) / float(at["Ni 2p"])
                rel = math.hypot(sa / a if a else NAN, sn / n if n else NAN)
                out.put("al_ni_ratio", ratio, abs(ratio) * rel, "1")
            except Exception as exc:
                out.fail("al_ni_ratio", f"quantification failed: {_short(exc)}")
    return out


# ----------------------------------------------------------------------- EIS
EIS_METRICS = ("r_s", "r_sei", "r_ct", "c_sei")
_EIS_NAMES = {"r_s": "R_s", "r_sei": "R_SEI", "r_ct": "R_ct"}


def eis_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any]) -> StepOutput:
    """Fit the default NCM circuit; R_s, R_SEI, R_ct in ohm·cm² when the area is known."""
    out = StepOutput()
    eis = _engine("eis")
    spec: Any = ms[0]
    if len(ms) > 1:
        out.notes.append(f"{len(ms)} impedance spectra; the first is used for the metrics")
    kw: dict[str, Any] = {}
    if opts.get("eis_circuit"):
        kw["circuit"] = str(opts["eis_circuit"])
    try:
        fit = eis.fit(spec, **kw)
    except Exception as exc:
        for m in EIS_METRICS:
            out.fail(m, f"impedance fit raised {_short(exc)}")
        return out
    out.results["eis_fit"] = fit
    if not getattr(fit, "success", True):
        for m in EIS_METRICS:
            out.fail(m, f"impedance fit failed: {getattr(fit, 'message', '')}")
        return out
    area = getattr(spec, "area", None)
    already = "cm" in str(getattr(spec, "units", "ohm"))
    scale = 1.0 if (already or area is None) else float(area)
    units = "ohm*cm**2" if (already or area is not None) else "ohm"
    named = dict(getattr(fit, "named", {}) or {})
    stderr = dict(getattr(fit, "stderr", {}) or {})
    named_stderr = dict(getattr(fit, "named_stderr", {}) or {})
    for metric, name in _EIS_NAMES.items():
        if name not in named:
            out.fail(metric, f"the fitted circuit has no {name} (named: {sorted(named)})")
            continue
        v, s = _pair(named[name])
        if name in named_stderr:
            s = float(named_stderr[name])
        elif name in stderr:
            s = float(stderr[name])
        out.put(metric, v * scale, s * scale, units)
    q_sei = next((k for k, v in dict(getattr(fit, "physical_names", {}) or {}).items() if v == "Q_SEI"), None)
    if q_sei is None or not hasattr(fit, "effective_capacitance"):
        out.fail("c_sei", "the fitted circuit has no CPE named Q_SEI")
    else:
        c, cs = fit.effective_capacitance()[q_sei.rsplit("_", 1)[0]]
        per_area = already or area is not None
        out.put("c_sei", 1e6 * c / scale, 1e6 * cs / scale, "uF/cm**2" if per_area else "uF")
    return out


# ------------------------------------------------------------------- cycling
CYCLING_METRICS = ("first_capacity", "first_ce", "rate_5c_01c", "retention_100", "cycles_to_80")


_NICE_RATES = (0.02, 0.05, 0.1, 0.2, 0.25, 1 / 3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)


def snap_rate(c: float) -> float:
    """The nominal C-rate nearest to a measured one (within 15 %), else 2 significant digits.

    Examples
    --------
    >>> snap_rate(0.0975), snap_rate(4.92), snap_rate(0.7)
    (0.1, 5.0, 0.7)
    """
    c = float(c)
    if not math.isfinite(c) or c <= 0:
        return c
    best = min(_NICE_RATES, key=lambda r: abs(math.log(c / r)))
    if abs(c / best - 1.0) <= 0.15:
        return round(best, 3)
    return float(f"{c:.2g}")


def _longest_run(rates: np.ndarray) -> tuple[int, int]:
    """Start and stop index of the longest run of equal nominal C-rates."""
    r = np.array([snap_rate(x) for x in np.asarray(rates, dtype=float)])
    best = (0, 0)
    start = 0
    for i in range(1, r.size + 1):
        if i == r.size or r[i] != r[start]:
            if i - start > best[1] - best[0]:
                best = (start, i)
            start = i
    return best


def retention_ols(capacity: np.ndarray, n: int = 100) -> tuple[float, float]:
    """Retention after ``n`` cycles from a quadratic least-squares fit, with its stderr.

    The fit covers the first ``n`` cycles; retention is Q(n)/Q(1) of the fitted
    curve, its standard error by the delta method from the fit covariance.

    Examples
    --------
    >>> q = 200.0 * (1 - 0.001 * np.arange(100))
    >>> round(retention_ols(q)[0], 6)
    0.901
    """
    q = np.asarray(capacity, dtype=float)[:n]
    k = np.arange(1, q.size + 1, dtype=float)
    x = (k - 1.0) / max(n - 1, 1)
    design = np.vstack([np.ones_like(x), x, x * x]).T
    coef, *_ = np.linalg.lstsq(design, q, rcond=None)
    resid = q - design @ coef
    dof = max(q.size - 3, 1)
    s2 = float(resid @ resid) / dof
    cov = s2 * np.linalg.inv(design.T @ design)
    g0 = np.array([1.0, 0.0, 0.0])
    g1 = np.array([1.0, 1.0, 1.0])
    q0, q1 = float(g0 @ coef), float(g1 @ coef)
    r = q1 / q0
    grad = g1 / q0 - g0 * q1 / q0**2
    return r, float(math.sqrt(max(float(grad @ cov @ grad), 0.0)))


def cycling_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any]) -> StepOutput:
    """Summary, rate capability, retention after 100 cycles and fitted cycles to 80 %."""
    out = StepOutput()
    cyc = _engine("cycling")
    data: Any = ms[0]
    if len(ms) > 1:
        out.notes.append(f"{len(ms)} cycling records; the first is used for the metrics")
    cap_units = "mAh/g" if getattr(data, "mass", None) else "mAh"
    try:
        summ = cyc.summary(data)
    except Exception as exc:
        for m in CYCLING_METRICS:
            out.fail(m, f"cycling summary raised {_short(exc)}")
        return out
    out.results["cycling_summary"] = summ
    qd = np.asarray(summ["discharge_capacity"].values, dtype=float)
    ce = np.asarray(summ["coulombic_efficiency"].values, dtype=float)
    if qd.size == 0:
        for m in CYCLING_METRICS:
            out.fail(m, "the record has no complete cycle")
        return out
    out.put("first_capacity", qd[0], NAN, cap_units)
    ce0 = float(ce[0])
    out.put("first_ce", ce0 / 100.0 if ce0 > 1.5 else ce0, NAN, "1")
    # rate capability
    caps: dict[str, tuple[float, float]] = {}
    try:
        rate = cyc.rate_capability(data)
        out.results["cycling_rate"] = rate
        for i in range(int(rate.sizes.get("rate_step", 0))):
            c = float(rate["nominal_c_rate"].values[i] if "nominal_c_rate" in rate else rate["c_rate"].values[i])
            if not math.isfinite(c) or c <= 0:
                continue
            name = rate_metric_name(snap_rate(c))
            if name in caps:
                continue
            n = int(rate["last_cycle"].values[i] - rate["first_cycle"].values[i] + 1) if "last_cycle" in rate else 1
            std = float(rate["capacity_std"].values[i]) if "capacity_std" in rate else NAN
            caps[name] = (float(rate["capacity_mean"].values[i]), std / math.sqrt(max(n, 1)))
            out.put(name, *caps[name], units=cap_units)
    except Exception as exc:
        out.notes.append(f"rate capability failed: {_short(exc)}")
        out.fail("rate_5c_01c", f"rate capability raised {_short(exc)}")
    if "capacity_5c" in caps and "capacity_0p1c" in caps:
        (a, sa), (b, sb) = caps["capacity_5c"], caps["capacity_0p1c"]
        r = a / b
        out.put("rate_5c_01c", r, abs(r) * math.hypot(sa / a, sb / b) if a and b else NAN, "1")
    else:
        out.fail("rate_5c_01c", "the record has no 5C and 0.1C steps")
    # long-term run
    n_target = int(opts.get("retention_cycles", 100))
    rates = np.asarray(summ["c_rate"].values, dtype=float) if "c_rate" in summ else np.ones(qd.size)
    i0, i1 = _longest_run(rates)
    run = qd[i0:i1]
    if run.size < n_target:
        out.fail("retention_100", f"the longest constant-rate run has {run.size} cycles (< {n_target})")
    else:
        out.put("retention_100", *retention_ols(run, n_target), units="1")
    if run.size < 10:
        out.fail("cycles_to_80", f"the longest constant-rate run has only {run.size} cycles")
        return out
    try:
        k = np.arange(1, run.size + 1, dtype=float)
        fade = cyc.fit_fade(k, run, model=str(opts.get("fade_model", "auto")))
        out.results["cycling_fade"] = fade
        ct = fade.cycles_to(0.8)
        if ct is None:
            out.fail("cycles_to_80", "the fitted fade does not support a cycle to 80 % (out of reach of the data)")
        else:
            v, lo, hi = (float(x) if x is not None else NAN for x in ct)
            out.put("cycles_to_80", v, (hi - lo) / (2 * 1.959964) if math.isfinite(hi - lo) else NAN, "cycle")
    except Exception as exc:
        out.fail("cycles_to_80", f"fade fit raised {_short(exc)}")
    return out


# ---------------------------------------------------------------- SIMS / EDS
SIMS_METRICS = ("thickness_sims",)
EDS_METRICS = ("coverage", "coverage_cv")


def _coating_name(names: Sequence[str], preferred: Any, what: str) -> str:
    if preferred:
        if preferred not in names:
            raise KeyError(f"{what} {preferred!r} not in the file (has {list(names)})")
        return str(preferred)
    for n in names:
        if n.startswith("Al"):
            return n
    raise KeyError(f"no coating {what} given (analysis option) and none starting with 'Al' in {list(names)}")


def sims_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any]) -> StepOutput:
    """Depth of the coating/substrate interface of the coating fragment."""
    out = StepOutput()
    sims = _engine("sims")
    prof: Any = ms[0]
    if not sample.coated:
        out.fail("thickness_sims", "pristine sample: no coating")
        return out
    try:
        frag = _coating_name(list(prof.fragments), opts.get("sims_fragment"), "fragment")
        rate = opts.get("sputter_rate")
        if prof.sputter_rate is None and rate is not None:
            prof = prof.replace(sputter_rate=magnitude(rate, "nm/s", name="sputter_rate"))
        rate_se = opts.get("sputter_rate_stderr")
        itf = sims.interface(prof, frag, level=0.5, sputter_rate_stderr=rate_se)
        out.results["sims_interface"] = itf
        depth = itf.depth
        if depth is None:
            out.fail("thickness_sims", "no sputter rate: the interface is known in time only")
            return out
        # the one depth stderr the interface carries: crossing error and sputter-rate error propagated
        d, s = itf.estimate("depth")
        out.put("thickness_sims", d, s, "nm")
    except Exception as exc:
        out.fail("thickness_sims", f"interface analysis raised {_short(exc)}")
    return out


def eds_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any]) -> StepOutput:
    """Coverage and uniformity of the coating element map."""
    out = StepOutput()
    eds = _engine("eds")
    emap: Any = ms[0]
    try:
        el = _coating_name(list(emap.elements), opts.get("eds_element"), "element")
        cov = eds.coverage(emap, el)
        out.results["eds_coverage"] = cov
        if getattr(cov, "reason", ""):
            raise ValueError(cov.reason)
        v, s = _pair(cov)
        if not math.isfinite(s):
            npix = float(np.prod(emap.shape))
            s = math.sqrt(max(v * (1 - v), 0.0) / npix)
        out.put("coverage", v, s, "1")
        uni = eds.uniformity(emap, el)
        out.results["eds_uniformity"] = uni
        if getattr(uni, "reason", ""):
            out.fail("coverage_cv", f"uniformity: {uni.reason}")
        else:
            out.put("coverage_cv", *_pair(uni), units="1")
    except Exception as exc:
        for m in EDS_METRICS:
            out.fail(m, f"map analysis raised {_short(exc)}")
    return out


Step = Callable[[Sequence[Measurement], Sample, Mapping[str, Any]], StepOutput]

#: kind -> (step, metrics it always reports)
STEPS: dict[str, tuple[Step, tuple[str, ...]]] = {
    "xps": (xps_step, XPS_METRICS),
    "eis": (eis_step, EIS_METRICS),
    "cycling": (cycling_step, CYCLING_METRICS),
    "sims": (sims_step, SIMS_METRICS),
    "eds": (eds_step, EDS_METRICS),
}
