"""Analysis steps of the study layer: one step per measurement kind, making typed results.

A step takes every measurement of one kind for one sample and returns the
results it made (:class:`StepOutput`: result name → result), the reason for
each result it could not make, notes, and reasons that make every metric of
its kind suspect (a spectrum left without charge correction, an implausible
input). The metrics are computed from these results by the registry
(:mod:`ncmsurf.study._metrics`). A step whose engine is not importable
raises :class:`EngineUnavailable`; the study turns that into NaN metrics with
the reason, it never aborts.

Result names (as :meth:`ncmsurf.Study.result` takes them): ``xps_fit:<region>``;
``eis_fit`` and ``eis_selection`` (the ranked circuits of
:func:`ncmsurf.eis.select_circuit`); ``cycling_summary``, ``cycling_rate``,
``cycling_run`` (the long-term run's complete cycles), ``cycling_retention``
(discharge capacity of every cycle over the first complete, resolved one,
partial cycles flagged), ``cycling_fade``; ``sims_interface``;
``eds_coverage``, ``eds_uniformity``; ``tem_thickness``.
"""

from __future__ import annotations

import importlib
import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import NcmsurfError, NcmsurfWarning
from ncmsurf.core.models import CyclingData, DepthProfile, ElementMap, ImpedanceSpectrum, Measurement, XPSSpectrum
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

__all__ = [
    "STEPS",
    "EngineUnavailable",
    "InputPlausibilityWarning",
    "StepOutput",
    "check_plausible",
]

#: Errors a step records as the reason for a missing result (anything else is a bug and propagates).
STEP_ERRORS: tuple[type[BaseException], ...] = (NcmsurfError, ValueError, ArithmeticError, np.linalg.LinAlgError,
                                                KeyError, IndexError)


class EngineUnavailable(Exception):
    """The analysis engine of a kind cannot be imported."""


class InputPlausibilityWarning(NcmsurfWarning):
    """An input of the study (active mass, electrode area, C-rate ladder) looks implausible."""


@dataclass
class StepOutput:
    """What a step returns for one sample."""

    results: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    suspect: list[tuple[str, str]] = field(default_factory=list)


def _engine(name: str) -> Any:
    try:
        return importlib.import_module(f"ncmsurf.{name}")
    except ImportError as exc:
        raise EngineUnavailable(f"the {name} engine (ncmsurf.{name}) is not available: {exc}") from exc


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:300]


def _source(m: Measurement) -> str:
    meta = m.meta
    src = meta.get("source") or meta.get("path") or meta.get("file") or ""
    return str(src)


# ------------------------------------------------------------------------------------------------ plausibility
MASS_RANGE_G = (1e-4, 1.0)
AREA_RANGE_CM2 = (0.01, 100.0)


def check_plausible(what: str, value: float | None, sample: Sample) -> tuple[str, str] | None:
    """A suspect reason (and an :class:`InputPlausibilityWarning`) for an implausible active mass or area.

    Active masses outside 0.1 mg – 1 g and electrode areas outside 0.01–100 cm² are implausible for a
    coin or pouch cell electrode (a mass of 15.4 "g" is most likely 15.4 mg).

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as w:
    ...     warnings.simplefilter("always")
    ...     print(check_plausible("mass", 15.4, Sample.parse("A(3)-NCM"))[1])
    A(3)-NCM: active mass 15.4 g is outside 0.1 mg - 1 g: was it mg?
    """
    if value is None:
        return None
    v = float(value)
    if what == "mass":
        lo, hi = MASS_RANGE_G
        if lo <= v <= hi:
            return None
        hint = "was it mg?" if v > hi else "was it kg or a mass in another unit?"
        msg = f"{sample.label}: active mass {v:g} g is outside 0.1 mg - 1 g: {hint}"
    else:
        lo, hi = AREA_RANGE_CM2
        if lo <= v <= hi:
            return None
        hint = "was it mm²?" if v > hi else "was it m² or a diameter?"
        msg = f"{sample.label}: electrode area {v:g} cm² is outside 0.01-100 cm²: {hint}"
    warnings.warn(msg, InputPlausibilityWarning, stacklevel=3)
    return ("input", msg)


# ------------------------------------------------------------------------------------------------ XPS
def xps_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
             sources: Sequence[str] = ()) -> StepOutput:
    """Charge-correct the sample's spectra against its own C 1s, then fit every region with its preset."""
    out = StepOutput()
    xps = _engine("xps")
    presets = set(xps.presets())
    wanted = opts.get("xps_regions")
    by_region: dict[str, XPSSpectrum] = {}
    where: dict[str, str] = {}
    for k, spec in enumerate(ms):
        if not isinstance(spec, XPSSpectrum):
            continue
        region = spec.region
        if region is not None and region in presets and region not in by_region \
                and (wanted is None or region in wanted):
            by_region[region] = spec
            where[region] = sources[k] if k < len(sources) and sources[k] else _source(spec)
    if opts.get("charge_correct", True) and by_region:
        by_region = _charge_correct(xps, by_region, sample, opts, out, where)
    for region, spec in by_region.items():
        background = opts.get("xps_background", "active-shirley" if region == "Ni 2p" else "shirley")
        # a bare cathode's O 1s has no Al-O: its preset leaves out the line that overlaps carbonate
        preset = "O 1s:uncoated" if region == "O 1s" and not sample.coated and "Al 2p" not in by_region else region
        try:
            out.results[f"xps_fit:{region}"] = xps.fit(spec, preset, background=background)
        except STEP_ERRORS as exc:
            out.missing[f"xps_fit:{region}"] = f"{region} fit raised {_short(exc)}"
    if "O 1s" in by_region and "Al 2p" in by_region:
        # Al-O and carbonate overlap in O 1s: the joint fit ties Al-O to the Al 2p Al2O3 area (O/Al = 1.5),
        # the Ni 3p lines under Al 2p to the Ni 2p area, and one charge shift to C 1s
        joint_in = {r: by_region[r] for r in ("O 1s", "Al 2p", "C 1s", "Ni 2p") if r in by_region}
        try:
            out.results["xps_joint:O 1s"] = xps.coated_o1s_fit(joint_in)
        except STEP_ERRORS as exc:
            out.missing["xps_joint:O 1s"] = f"joint O 1s/Al 2p fit raised {_short(exc)}"
    return out


def _charge_correct(xps: Any, by_region: dict[str, XPSSpectrum], sample: Sample, opts: Mapping[str, Any],
                    out: StepOutput, where: Mapping[str, str]) -> dict[str, XPSSpectrum]:
    """The sample's own charge correction: never borrowed from another sample; a refusal is recorded."""
    to = magnitude(opts.get("charge_reference", 284.8), "eV", name="charge_reference")
    max_shift = magnitude(opts.get("charge_max_shift", 5.0), "eV", name="charge_max_shift")
    if "C 1s" not in by_region:
        msg = (f"{sample.label}: no C 1s spectrum of its own: the XPS spectra are not charge corrected "
               "(no reference is borrowed from another sample)")
        out.notes.append(msg)
        out.suspect.append(("input", msg))
        return by_region
    spectra = list(by_region.values())
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", xps.ChargeReferenceWarning)
            shifted = xps.charge_correct(spectra, reference="C 1s", to=to, max_shift=max_shift, borrow=False)
    except xps.ChargeReferenceError as exc:
        src = where.get("C 1s", "")
        msg = f"{sample.label}: charge correction refused (C 1s of {src or 'the sample'}): {exc}"
        out.notes.append(msg + "; the spectra are fitted as measured")
        out.suspect.append(("input", msg))
        return by_region
    for w in caught:
        text = f"{sample.label}: {w.message}"
        out.notes.append(text)
        out.suspect.append(("input", text))
    return dict(zip(by_region, shifted, strict=True))


# ------------------------------------------------------------------------------------------------ EIS
def eis_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
             sources: Sequence[str] = ()) -> StepOutput:
    """Fit the spectrum: the circuit of the options, else the best of :func:`ncmsurf.eis.select_circuit`.

    With ``select_circuit`` a spectrum with one resolved arc gets a one-arc circuit (R_ct, no R_SEI)
    and the verdict says so, instead of a two-arc fit inventing a film resistance.
    """
    out = StepOutput()
    eis = _engine("eis")
    specs = [m for m in ms if isinstance(m, ImpedanceSpectrum)]
    spec = specs[0]
    if len(specs) > 1:
        out.notes.append(f"{sample.label}: {len(specs)} impedance spectra; the first is used for the metrics")
    reason = check_plausible("area", spec.area, sample)
    if reason:
        out.suspect.append(reason)
    circuit = str(opts.get("eis_circuit", "auto") or "auto")
    try:
        if circuit == "auto":
            table, fit = eis.select_circuit(spec)
            out.results["eis_selection"] = table
        else:
            fit = eis.fit(spec, circuit)
        out.results["eis_fit"] = fit
    except STEP_ERRORS as exc:
        out.missing["eis_fit"] = f"impedance fit raised {_short(exc)}"
    return out


# ------------------------------------------------------------------------------------------------ cycling
def _long_run(summ: xr.Dataset) -> tuple[np.ndarray, int]:
    """Indices of the longest run of complete cycles at one C-rate (partial cycles inside it skipped)."""
    from ncmsurf.cycling import snap_c_rate

    flag = np.asarray(summ["resolved"].values if "resolved" in summ else summ["complete"].values, bool)
    rates = np.asarray(summ["c_rate"].values, float) if "c_rate" in summ else np.ones(flag.size)
    snapped = np.array([snap_c_rate(r) if f else np.nan for r, f in zip(rates, flag, strict=True)])
    best: list[int] = []
    gaps_best = 0
    cur: list[int] = []
    gaps = 0
    rate = math.nan
    for i in range(flag.size):
        if not flag[i]:
            if cur:
                gaps += 1
            continue
        if cur and snapped[i] == rate:
            cur.append(i)
            continue
        if len(cur) > len(best):
            best, gaps_best = cur, gaps
        cur, gaps, rate = [i], 0, snapped[i]
    if len(cur) > len(best):
        best, gaps_best = cur, gaps
    if best:  # partial cycles after the run's last complete one are not inside it
        inside = int(np.sum(~flag[best[0]:best[-1] + 1]))
        gaps_best = inside
    return np.array(best, dtype=int), gaps_best


def cycling_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
                 sources: Sequence[str] = ()) -> StepOutput:
    """Summary (complete/partial flags), rate capability, the long-term run, retention curve and fade fit."""
    out = StepOutput()
    cyc = _engine("cycling")
    records = [m for m in ms if isinstance(m, CyclingData)]
    data = records[0]
    if len(records) > 1:
        out.notes.append(f"{sample.label}: {len(records)} cycling records; the first is used for the metrics")
    reason = check_plausible("mass", data.mass, sample)
    if reason:
        out.suspect.append(reason)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", NcmsurfWarning)
            summ = cyc.summary(data)
        for w in caught:
            out.notes.append(f"{sample.label}: cycling summary: {w.message}")
    except STEP_ERRORS as exc:
        for name in ("cycling_summary", "cycling_rate", "cycling_run", "cycling_fade"):
            out.missing[name] = f"cycling summary raised {_short(exc)}"
        return out
    out.results["cycling_summary"] = summ
    _retention_curve(summ, out)
    try:
        rate = cyc.rate_capability(summ)
        out.results["cycling_rate"] = rate
        _check_ladder(rate, data, sample, opts, out)
    except STEP_ERRORS as exc:
        out.missing["cycling_rate"] = f"rate capability: {_short(exc)}"
    idx, gaps = _long_run(summ)
    if idx.size == 0:
        out.missing["cycling_run"] = "the record has no complete cycle"
        out.missing["cycling_fade"] = "the record has no complete cycle"
        return out
    run = summ.isel(cycle=idx)
    run.attrs["partial_inside"] = int(gaps)
    run.attrs["description"] = "the longest run of complete cycles at one C-rate (partial cycles left out)"
    out.results["cycling_run"] = run
    if idx.size < 10:
        out.missing["cycling_fade"] = f"the longest constant-rate run has only {idx.size} complete cycles"
        return out
    k = np.asarray(run["cycle"].values, float) - float(run["cycle"].values[0]) + 1.0
    try:
        out.results["cycling_fade"] = cyc.fit_fade(k, np.asarray(run["discharge_capacity"].values, float),
                                                   model=str(opts.get("fade_model", "auto")))
    except STEP_ERRORS as exc:
        out.missing["cycling_fade"] = f"fade fit raised {_short(exc)}"
    return out


def _retention_curve(summ: xr.Dataset, out: StepOutput) -> None:
    flag = np.asarray(summ["resolved"].values if "resolved" in summ else summ["complete"].values, bool)
    q = np.asarray(summ["discharge_capacity"].values, float)
    if not flag.any():
        out.missing["cycling_retention"] = "the record has no complete, resolved cycle to refer to"
        return
    i0 = int(np.flatnonzero(flag)[0])
    curve = xr.DataArray(q / q[i0], dims=("cycle",),
                         coords={"cycle": summ["cycle"].values, "complete": ("cycle", flag)},
                         attrs={"units": "1", "reference_cycle": int(summ["cycle"].values[i0]),
                                "description": "discharge capacity over that of the first complete, resolved "
                                               "cycle; partial cycles kept and flagged (complete = False)"})
    out.results["cycling_retention"] = curve


def _check_ladder(rate: xr.Dataset, data: CyclingData, sample: Sample, opts: Mapping[str, Any],
                  out: StepOutput) -> None:
    """Warn when the rate ladder's C-rates do not match the stated capacity (or the usual ladder)."""
    from ncmsurf.cycling import c_rate_label, snap_c_rate

    c = np.asarray(rate["c_rate"].values, float)
    c = c[np.isfinite(c) & (c > 0)]
    if c.size == 0:
        return
    nominal = opts.get("nominal_capacity")
    msg = ""
    if nominal is not None and data.mass:
        q = magnitude(nominal, "mAh/g", name="nominal_capacity")
        ref = float(rate.attrs.get("reference_capacity", math.nan))
        per_g = ref if "g" in str(rate.attrs.get("capacity_units", "mAh/g")) else ref / float(data.mass)
        if math.isfinite(per_g) and abs(per_g / q - 1.0) > 0.10:
            msg = (f"{sample.label}: the C-rates are measured against {per_g:.4g} mAh/g but the stated capacity "
                   f"is {q:g} mAh/g: the ladder ({', '.join(c_rate_label(x) for x in c)}) does not match it")
    if not msg and c.size >= 3:
        from ncmsurf.cycling._rate import NOMINAL_C_RATES

        usual = {round(r, 2) for r in NOMINAL_C_RATES}
        off = [x for x in c if snap_c_rate(x) not in usual]
        if len(off) * 2 > c.size:
            msg = (f"{sample.label}: {len(off)} of {c.size} rate steps are not at a usual C-rate "
                   f"({', '.join(f'{x:.3g}C' for x in off)}): check the mass or the stated capacity")
    if msg:
        warnings.warn(msg, InputPlausibilityWarning, stacklevel=3)
        out.notes.append(msg)
        out.suspect.append(("input", msg))


# ------------------------------------------------------------------------------------------------ SIMS / EDS / TEM
def _coating_name(names: Sequence[str], preferred: Any, what: str) -> str:
    if preferred:
        if preferred not in names:
            raise KeyError(f"{what} {preferred!r} not in the file (has {list(names)})")
        return str(preferred)
    for n in names:
        if n.startswith("Al"):
            return n
    raise KeyError(f"no coating {what} given (analysis option) and none starting with 'Al' in {list(names)}")


def sims_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
              sources: Sequence[str] = ()) -> StepOutput:
    """Depth of the coating/substrate interface of the coating fragment (sputter-rate stderr propagated)."""
    out = StepOutput()
    sims = _engine("sims")
    prof = next(m for m in ms if isinstance(m, DepthProfile))
    if not sample.coated:
        out.missing["sims_interface"] = "pristine sample: no coating"
        return out
    try:
        frag = _coating_name(list(prof.fragments), opts.get("sims_fragment"), "fragment")
        rate = opts.get("sputter_rate")
        if prof.sputter_rate is None and rate is not None:
            prof = prof.replace(sputter_rate=magnitude(rate, "nm/s", name="sputter_rate"))
        rate_se = opts.get("sputter_rate_stderr")
        out.results["sims_interface"] = sims.interface(
            prof, frag, level=0.5,
            sputter_rate_stderr=None if rate_se is None else magnitude(rate_se, "nm/s", name="sputter_rate_stderr"))
    except STEP_ERRORS as exc:
        out.missing["sims_interface"] = f"interface analysis raised {_short(exc)}"
    return out


def eds_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
             sources: Sequence[str] = ()) -> StepOutput:
    """Coverage and uniformity of the coating element map."""
    out = StepOutput()
    eds = _engine("eds")
    emap = next(m for m in ms if isinstance(m, ElementMap))
    try:
        el = _coating_name(list(emap.elements), opts.get("eds_element"), "element")
    except KeyError as exc:
        out.missing["eds_coverage"] = out.missing["eds_uniformity"] = f"map analysis: {_short(exc)}"
        return out
    for name, func in (("eds_coverage", eds.coverage), ("eds_uniformity", eds.uniformity)):
        try:
            out.results[name] = func(emap, el)
        except STEP_ERRORS as exc:
            out.missing[name] = f"map analysis raised {_short(exc)}"
    return out


def tem_step(ms: Sequence[Measurement], sample: Sample, opts: Mapping[str, Any],
             sources: Sequence[str] = ()) -> StepOutput:
    """Coating thickness measured on the (first) TEM image of the sample."""
    out = StepOutput()
    tem = _engine("tem")
    if not sample.coated:
        out.missing["tem_thickness"] = "pristine sample: no coating"
        return out
    try:
        out.results["tem_thickness"] = tem.coating_thickness(ms[0])
    except STEP_ERRORS as exc:
        out.missing["tem_thickness"] = f"TEM thickness raised {_short(exc)}"
    return out


Step = Callable[[Sequence[Measurement], Sample, Mapping[str, Any], Sequence[str]], StepOutput]

#: kind → step
STEPS: dict[str, Step] = {
    "xps": xps_step,
    "eis": eis_step,
    "cycling": cycling_step,
    "sims": sims_step,
    "eds": eds_step,
    "tem": tem_step,
}
