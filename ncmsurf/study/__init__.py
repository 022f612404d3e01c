"""The study layer: measurements of many samples, analysed and compared.

A :class:`Study` collects measurements keyed by :class:`~ncmsurf.Sample`
(pristine P-NCM and coated A(n)-/F(n)-NCM, fresh or cycled), fits each with
the defaults for its kind (:meth:`Study.analyze`), gathers the numbers in one
table (:meth:`Study.metrics`), compares the coating routes against the
deposition parameter ``n`` (:meth:`Study.compare`) and writes an HTML report
(:meth:`Study.report`). A whole study saves and loads losslessly with
:func:`ncmsurf.save` / :func:`ncmsurf.load`.

Examples
--------
>>> import ncmsurf as ns
>>> st = ns.Study(name="two spectra")
>>> _ = st.add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "A(3)-NCM")
>>> _ = st.add(ns.ImpedanceSpectrum([1e3, 1.0], [11 - 1j, 25 - 5j]), "P-NCM@100")
>>> [s.label for s in st.samples]
['P-NCM@100', 'A(3)-NCM']
"""

from __future__ import annotations

import itertools
import math
import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import xarray as xr

from ncmsurf.core._validate import deep_equal, meta_copy
from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.models import (
    CyclingData,
    DepthProfile,
    ElementMap,
    ImpedanceSpectrum,
    Measurement,
    XPSSpectrum,
)
from ncmsurf.core.sample import Sample, methods
from ncmsurf.core.units import magnitude
from ncmsurf.study._manifest import KINDS, Manifest, ManifestEntry, duplicate_entries, read_manifest
from ncmsurf.study._steps import METRICS, STEPS, EngineUnavailable, StepOutput, rate_metric_name

__all__ = [
    "KINDS",
    "METRICS",
    "Entry",
    "Manifest",
    "ManifestEntry",
    "Study",
    "kind_of",
    "rate_metric_name",
    "read_manifest",
]

_KIND_OF: dict[type, str] = {
    XPSSpectrum: "xps",
    ImpedanceSpectrum: "eis",
    CyclingData: "cycling",
    DepthProfile: "sims",
    ElementMap: "eds",
}


def kind_of(measurement: Any) -> str:
    """The kind (``"xps"``, ``"eis"``, ...) of a model instance.

    Raises
    ------
    ValidationError
        If it is not one of the ncmsurf models.
    """
    for cls, kind in _KIND_OF.items():
        if isinstance(measurement, cls):
            return kind
    raise ValidationError(f"not an ncmsurf measurement: {type(measurement).__name__}")


@dataclass(frozen=True)
class Entry:
    """One measurement of a study (or a file that could not be read).

    Attributes
    ----------
    sample : Sample
    kind : str
    measurement : Measurement or None
        None when the file could not be read (see ``error``).
    source : str
        File it came from (relative to the study folder), or ``""``.
    error : str
        Why the file could not be read, or ``""``.
    """

    sample: Sample
    kind: str
    measurement: Measurement | None
    source: str = ""
    error: str = ""


class _Progress:
    """A minimal progress bar on stderr."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None) -> None:
        self.total = max(total, 1)
        self.done = 0
        self.enabled = enabled
        self.stream = stream if stream is not None else sys.stderr

    def update(self, text: str) -> None:
        self.done += 1
        if not self.enabled:
            return
        if not getattr(self.stream, "isatty", lambda: False)():
            if self.done >= self.total:
                self.stream.write(f"analyze: {self.done}/{self.total} steps done\n")
                self.stream.flush()
            return
        width = 24
        filled = int(round(width * self.done / self.total))
        bar = "#" * filled + "-" * (width - filled)
        self.stream.write(f"\ranalyze [{bar}] {self.done}/{self.total} {text[:40]:<40}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _as_sample(sample: Sample | str) -> Sample:
    return sample if isinstance(sample, Sample) else Sample.parse(sample)


class Study:
    """A set of measurements keyed by sample, with analysis and comparison.

    Parameters
    ----------
    name : str
        A title (used in the report).
    analysis : mapping, optional
        Analysis options (see :meth:`analyze`).

    Examples
    --------
    >>> import ncmsurf as ns
    >>> st = ns.Study()
    >>> _ = st.add(ns.CyclingData([0, 1], [3.0, 4.0], [1e-3, 1e-3]), sample="F(5)-NCM")
    >>> len(st), st.samples
    (1, [Sample('F(5)-NCM')])
    """

    def __init__(self, *, name: str = "", analysis: Mapping[str, Any] | None = None) -> None:
        self.name = str(name)
        self.folder: Path | None = None
        self.analysis_options: dict[str, Any] = meta_copy(analysis or {}, "analysis")
        self.manifest_extra: dict[str, Any] = {}
        self._entries: list[Entry] = []
        self._results: dict[str, Any] = {}
        self._metrics: xr.Dataset | None = None
        self._notes: dict[str, list[str]] = {}

    # ------------------------------------------------------------ building
    def add(self, measurement: Measurement | Sequence[Measurement], sample: Sample | str | None = None, *,
            source: str = "") -> Study:
        """Add a measurement (or a list of them, e.g. from :func:`ncmsurf.read`).

        Parameters
        ----------
        measurement : model or list of models
        sample : Sample or str, optional
            The sample; when None, the measurement's own ``sample`` is used.
        source : str
            Where it came from (shown in reasons and the report).

        Returns
        -------
        Study
            ``self``, so calls can be chained.

        Raises
        ------
        ValidationError
            If it is not a model or no sample is known.
        """
        items: list[Any] = list(measurement) if isinstance(measurement, (list, tuple)) else [measurement]
        for m in items:
            kind = kind_of(m)
            s = _as_sample(sample) if sample is not None else m.sample
            if s is None:
                raise ValidationError(f"add: the {kind} measurement has no sample; pass sample=...")
            if m.sample != s:
                m = m.with_sample(s)
            self._entries.append(Entry(s, kind, m, str(source)))
        self._invalidate()
        return self

    def _invalidate(self) -> None:
        self._results = {}
        self._metrics = None
        self._notes = {}

    @classmethod
    def from_folder(cls, path: str | os.PathLike[str], *, errors: str = "raise",
                    allow_outside: bool = False) -> Study:
        """Load a study folder described by its ``study.toml`` manifest.

        Parameters
        ----------
        path : str or path-like
            The folder (or its ``study.toml``). See
            :mod:`ncmsurf.study._manifest` for the manifest format: a
            ``[[files]]`` table per file with ``path``, ``sample``, optional
            ``cycles``, ``kind``, ``area`` (cm²), ``mass`` (g), ``options``;
            optional ``[defaults]`` and ``[analysis]`` tables.
        errors : {"raise", "record"}
            ``"raise"`` (default): a missing file, a file that cannot be read
            or a file of another kind than its entry states raises one
            :class:`~ncmsurf.ValidationError` naming every bad entry.
            ``"record"``: such entries are kept with their reason, which
            :meth:`metrics` lists for the affected metrics. A repeated XPS
            region, SIMS profile or EDS map of one sample is such a bad entry
            (see :func:`ncmsurf.study._manifest.duplicate_entries`).
        allow_outside : bool
            Read files outside the study folder (absolute paths, ``..``,
            symbolic links out of it); refused by default.

        Returns
        -------
        Study

        Raises
        ------
        ValidationError
            For a bad manifest or (with ``errors="raise"``) bad entries.
        """
        if errors not in ("raise", "record"):
            raise ValidationError(f"errors must be 'raise' or 'record', got {errors!r}")
        man = read_manifest(path, allow_outside=allow_outside)
        st = cls(name=man.name, analysis=man.analysis)
        st.folder = man.folder
        st.manifest_extra = meta_copy(man.extra, "manifest")
        bad: list[str] = []
        loaded: list[tuple[ManifestEntry, list[Measurement] | None, str]] = []
        for e in man.entries:
            try:
                loaded.append((e, _read_entry(man.folder, e), ""))
            except NcmsurfError as exc:
                loaded.append((e, None, str(exc)))
        repeats = duplicate_entries([(e, ms) for e, ms, _ in loaded if ms is not None])
        for e, models, error in loaded:
            if e.index in repeats:
                models, error = None, repeats[e.index]
            if models is None:
                if errors == "raise":
                    bad.append(error if e.index in repeats else f"{e.where}: {error}")
                else:
                    st._entries.append(Entry(e.sample, e.kind or "unknown", None, e.path, error))
                continue
            for m in models:
                st._entries.append(Entry(e.sample, kind_of(m), m, e.path))
        if bad:
            head = "bad study entry" if len(bad) == 1 else f"{len(bad)} bad study entries"
            raise ValidationError(f"{head}: " + "; ".join(bad))
        return st

    # ------------------------------------------------------------- access
    def __len__(self) -> int:
        return len(self._entries)

    @property
    def entries(self) -> list[Entry]:
        """All entries in the order added (including unreadable files)."""
        return list(self._entries)

    @property
    def samples(self) -> list[Sample]:
        """The samples, sorted (P first, then each route by n, fresh before cycled)."""
        return sorted({e.sample for e in self._entries})

    def measurements(self, sample: Sample | str | None = None, kind: str | None = None) -> list[Measurement]:
        """The measurements of a sample and/or kind.

        Examples
        --------
        >>> import ncmsurf as ns
        >>> st = ns.Study().add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "A(3)-NCM")
        >>> len(st.measurements("A(3)-NCM", "eis")), len(st.measurements(kind="xps"))
        (1, 0)
        """
        s = None if sample is None else _as_sample(sample)
        return [e.measurement for e in self._entries if e.measurement is not None
                and (s is None or e.sample == s) and (kind is None or e.kind == kind)]

    def results(self, sample: Sample | str | None = None, kind: str | None = None) -> dict[str, Any]:
        """Fit results made by :meth:`analyze`, keyed ``"<label>|<kind>|<name>"``.

        Names are e.g. ``xps_fit:Ni 2p``, ``eis_fit``, ``cycling_summary``,
        ``cycling_rate``, ``cycling_fade``, ``sims_interface``.
        """
        s = None if sample is None else _as_sample(sample).label
        out = {}
        for key, val in self._results.items():
            lab, knd, _ = key.split("|", 2)
            if (s is None or lab == s) and (kind is None or knd == kind):
                out[key] = val
        return out

    def result(self, sample: Sample | str, kind: str, name: str) -> Any:
        """One fit result, or None."""
        return self._results.get(f"{_as_sample(sample).label}|{kind}|{name}")

    @property
    def analyzed(self) -> bool:
        """Whether :meth:`analyze` has run since the last change."""
        return self._metrics is not None

    @property
    def notes(self) -> dict[str, list[str]]:
        """Remarks made during the analysis, per sample label."""
        return {k: list(v) for k, v in self._notes.items()}

    # ------------------------------------------------------------ analysis
    def analyze(self, progress: bool = True) -> Study:
        """Fit every measurement with the defaults for its kind and compute the metrics.

        Each kind is one step (XPS core-level fits, equivalent-circuit fit,
        cycling summary / rate / fade, SIMS interface, EDS coverage). A step
        whose engine is unavailable, a file that could not be read or a fit
        that fails never aborts the analysis: the affected metrics are NaN and
        the reason is listed in ``metrics().attrs["reasons"]``.

        Parameters
        ----------
        progress : bool
            Show a progress bar on stderr.

        Returns
        -------
        Study
            ``self``.

        Notes
        -----
        Options (``[analysis]`` table of the manifest or ``Study(analysis=...)``;
        numbers with units also accept a pint Quantity):
        ``attenuation_length`` (nm, Ni 2p photoelectrons in the coating, for
        ``thickness_xps``), ``emission_angle`` (degrees, default 0),
        ``eis_circuit``, ``retention_cycles`` (default 100), ``fade_model``,
        ``sims_fragment``, ``sputter_rate`` (nm/s), ``sputter_rate_stderr`` (nm/s), ``eds_element``,
        ``charge_correct`` (default true), ``charge_reference`` (eV).
        """
        opts = self.analysis_options
        samples = self.samples
        tasks = [(s, k) for s in samples for k in STEPS]
        bar = _Progress(len(tasks), progress)
        values: dict[Sample, dict[str, tuple[float, float]]] = {s: {} for s in samples}
        reasons: dict[Sample, dict[str, str]] = {s: {} for s in samples}
        units: dict[str, str] = {}
        self._results = {}
        self._notes = {}
        for s, kind in tasks:
            step, always = STEPS[kind]
            ms = [e.measurement for e in self._entries if e.sample == s and e.kind == kind and e.measurement]
            failed = [e for e in self._entries if e.sample == s and e.measurement is None
                      and e.kind in (kind, "unknown")]
            out = StepOutput()
            if not ms:
                why = (f"file {failed[0].source!r} could not be read: {failed[0].error}" if failed
                       else f"no {kind} file for this sample")
                for m in always:
                    out.fail(m, why)
                if kind == "cycling":
                    out.reasons["__cycling_rates__"] = why
            else:
                try:
                    out = step(ms, s, opts)
                except EngineUnavailable as exc:
                    for m in always:
                        out.fail(m, str(exc))
                    out.reasons["__cycling_rates__" if kind == "cycling" else "__none__"] = str(exc)
                except Exception as exc:  # a bad file or a bug in one step must not stop the rest
                    msg = f"{kind} analysis raised {type(exc).__name__}: {exc}"[:300]
                    for m in always:
                        out.fail(m, msg)
                    if kind == "cycling":
                        out.reasons["__cycling_rates__"] = msg
                for m in always:
                    if m not in out.values:
                        out.fail(m, "not computed")
            values[s].update(out.values)
            reasons[s].update(out.reasons)
            for k, u in out.units.items():
                units.setdefault(k, u)
            for name, obj in out.results.items():
                self._results[f"{s.label}|{kind}|{name}"] = obj
            if out.notes:
                self._notes.setdefault(s.label, []).extend(out.notes)
            bar.update(f"{s.label} {kind}")
        _thickness_xps(samples, values, reasons, opts)
        self._metrics = _metrics_dataset(samples, values, reasons, units)
        return self

    def metrics(self) -> xr.Dataset:
        """The metrics table (runs :meth:`analyze` quietly if needed).

        Returns
        -------
        xarray.Dataset
            Over ``sample`` (the labels), with coordinates ``method``, ``n``
            (minutes; NaN for pristine), ``cycles``; one variable per metric
            (``ni2_fraction``, ``lif_share``, ``carbonate_share``,
            ``al_ni_ratio``, ``ni2p_area``, ``thickness_xps``, ``r_s``,
            ``r_sei``, ``r_ct``, ``first_capacity``, ``first_ce``,
            ``capacity_<rate>`` for every C-rate found (``capacity_0p1c``,
            ``capacity_5c``, ...), ``rate_5c_01c``, ``retention_100``,
            ``cycles_to_80``, ``thickness_sims``, ``coverage``,
            ``coverage_cv``), each with a ``<metric>_stderr`` twin (NaN where
            no uncertainty is estimated) and ``units`` / ``description``
            attributes. Wherever a value is NaN the reason is in
            ``attrs["reasons"][metric][sample_label]``.
        """
        if self._metrics is None:
            self.analyze(progress=False)
        assert self._metrics is not None
        return self._metrics.copy(deep=True)

    def compare(self, metric: str, *, by: str = "method") -> xr.Dataset:
        """A metric against ``n`` for each route, and the differences between groups.

        Parameters
        ----------
        metric : str
            A variable of :meth:`metrics`.
        by : {"method", "cycles"}
            ``"method"``: differences between coating routes at equal ``n``
            and cycles (pairs such as ``"F-A"``); ``"cycles"``: differences
            between cycle states at equal route and ``n`` (e.g. ``"100-0"``).

        Returns
        -------
        xarray.Dataset
            ``value`` and ``stderr`` over (``method``, ``n``, ``cycles``) for
            the coated samples; ``reference`` / ``reference_stderr`` over
            ``cycles`` (the pristine sample); ``difference``,
            ``difference_stderr`` (the two stderrs in quadrature) and ``z``
            (difference / its stderr) over ``pair`` and the remaining
            dimensions; ``slope``, ``slope_stderr``, ``intercept`` over
            (``method``, ``cycles``): a weighted straight line of the metric
            against ``n`` (for a thickness, the deposition rate per minute).

        Raises
        ------
        ValidationError
            For an unknown metric or ``by``.
        """
        ds = self.metrics()
        if metric not in ds.data_vars or metric.endswith("_stderr"):
            names = [str(k) for k in ds.data_vars if not str(k).endswith("_stderr")]
            raise ValidationError(f"unknown metric {metric!r}; available: {names}")
        if by not in ("method", "cycles"):
            raise ValidationError(f"by must be 'method' or 'cycles', got {by!r}")
        return _compare(self.samples, ds, metric, by)

    def report(self, path: str | os.PathLike[str], **kw: Any) -> Path:
        """Write the HTML report (figures also as PNG beside it).

        Parameters
        ----------
        path : str or path-like
            The HTML file to write (its folder is created); figures go to
            ``<stem>_figures/`` next to it.
        **kw
            Passed to :func:`ncmsurf.report.write_report`.

        Returns
        -------
        pathlib.Path
            The HTML file.
        """
        from ncmsurf.report import write_report

        return write_report(self, path, **kw)

    # ------------------------------------------------------------- storage
    def to_dataset(self) -> xr.Dataset:
        """Metrics and the study description as a Dataset (used by ``ns.save``)."""
        ds = self._metrics.copy(deep=True) if self._metrics is not None else xr.Dataset()
        ds.attrs = {
            "study_metrics_attrs": dict(self._metrics.attrs) if self._metrics is not None else {},
            "study_name": self.name,
            "study_folder": "" if self.folder is None else str(self.folder),
            "study_analysis": meta_copy(self.analysis_options),
            "study_manifest_extra": meta_copy(self.manifest_extra),
            "study_entries": [[e.sample.label, e.kind, e.source, e.error, e.measurement is not None]
                              for e in self._entries],
            "study_results": [k for k in self._results if _storable(self._results[k])],
            "study_notes": {k: list(v) for k, v in self._notes.items()},
            "study_analyzed": self._metrics is not None,
        }
        return ds

    def _storage_children(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, e in enumerate(self._entries):
            if e.measurement is not None:
                out[f"m{i:05d}"] = e.measurement
        for j, obj in enumerate(v for v in self._results.values() if _storable(v)):
            out[f"r{j:05d}"] = obj
        return out

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> Study:
        """Rebuild a study without its measurements (see ``_from_storage``)."""
        return cls._from_storage(ds, {})

    @classmethod
    def _from_storage(cls, ds: xr.Dataset, children: Mapping[str, Any]) -> Study:
        attrs = dict(ds.attrs)
        st = cls(name=attrs.get("study_name", ""), analysis=attrs.get("study_analysis", {}))
        folder = attrs.get("study_folder", "")
        st.folder = Path(folder) if folder else None
        st.manifest_extra = dict(attrs.get("study_manifest_extra", {}))
        for i, (label, kind, source, error, has) in enumerate(attrs.get("study_entries", [])):
            m = children.get(f"m{i:05d}") if has else None
            st._entries.append(Entry(Sample.parse(label), kind, m, source, error))
        for j, key in enumerate(attrs.get("study_results", [])):
            if f"r{j:05d}" in children:
                st._results[key] = children[f"r{j:05d}"]
        st._notes = {k: list(v) for k, v in dict(attrs.get("study_notes", {})).items()}
        if attrs.get("study_analyzed", False):
            metrics = ds.copy(deep=True)
            metrics.attrs = dict(attrs.get("study_metrics_attrs", {}))
            st._metrics = metrics
        return st

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Study):
            return NotImplemented
        if (self.name, self.folder) != (other.name, other.folder):
            return False
        if not (deep_equal(self.analysis_options, other.analysis_options)
                and deep_equal(self.manifest_extra, other.manifest_extra)
                and self._notes == other._notes):
            return False
        mine = [k for k in self._results if _storable(self._results[k])]
        theirs = [k for k in other._results if _storable(other._results[k])]
        if len(self._entries) != len(other._entries) or mine != theirs:
            return False
        for a, b in zip(self._entries, other._entries):
            if (a.sample, a.kind, a.source, a.error) != (b.sample, b.kind, b.source, b.error):
                return False
            if (a.measurement is None) != (b.measurement is None) or (a.measurement is not None
                                                                      and not a.measurement == b.measurement):
                return False
        for key in mine:
            if not _same(self._results[key], other._results[key]):
                return False
        if (self._metrics is None) != (other._metrics is None):
            return False
        return self._metrics is None or (other._metrics is not None and self._metrics.identical(other._metrics)
                                         and deep_equal(self._metrics.attrs, other._metrics.attrs))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        state = "analyzed" if self.analyzed else "not analyzed"
        return (f"<Study {self.name!r}: {len(self.samples)} samples, {len(self._entries)} measurements, "
                f"{state}>")


def _storable(obj: Any) -> bool:
    """Whether ``ns.save`` can store a fit result (others are kept in memory only)."""
    return isinstance(obj, (xr.Dataset, xr.DataArray)) or (hasattr(obj, "to_dataset")
                                                            and hasattr(type(obj), "from_dataset"))


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (xr.Dataset, xr.DataArray)):
        return bool(a.identical(b))
    try:
        eq = a == b
        if isinstance(eq, bool):
            return eq
    except Exception:  # fall back to the stored form
        pass
    if hasattr(a, "to_dataset"):
        return bool(a.to_dataset().identical(b.to_dataset()))
    return False


def _read_entry(folder: Path, e: ManifestEntry) -> list[Measurement]:
    from ncmsurf.io.registry import read

    p = (folder / e.path)
    if not p.is_file():
        raise ValidationError(f"missing file {p}")
    try:
        models = read(p, kind=e.kind, **e.options)
    except NcmsurfError as exc:
        what = f"not a readable {e.kind} file" if e.kind else "not a readable measurement file"
        raise ValidationError(f"{what}: {exc}") from exc
    if not models:
        raise ValidationError(f"{p.name}: no measurement found in the file")
    out: list[Measurement] = []
    for m in models:
        k = kind_of(m)
        if e.kind is not None and k != e.kind:
            raise ValidationError(f"the file holds {k} data, but the entry says kind = {e.kind!r}")
        m = m.with_sample(e.sample)
        if isinstance(m, ImpedanceSpectrum) and e.area is not None and m.area is None:
            m = m.replace(area=e.area)
        if isinstance(m, CyclingData) and e.mass is not None and m.mass is None:
            m = m.replace(mass=e.mass)
        out.append(m)
    return out


def _thickness_xps(samples: Sequence[Sample], values: dict[Sample, dict[str, tuple[float, float]]],
                   reasons: dict[Sample, dict[str, str]], opts: Mapping[str, Any]) -> None:
    """Ni 2p attenuation thickness against the pristine sample at the same cycles."""
    metric = "thickness_xps"
    L = opts.get("attenuation_length")
    angle = magnitude(opts.get("emission_angle", 0.0), "degree", name="emission_angle")
    refs = {(s.cathode, s.cycles): s for s in samples if not s.coated}
    for s in samples:
        if not s.coated:
            reasons[s][metric] = "pristine sample: no coating"
            continue
        if "ni2p_area" not in values[s]:
            reasons[s][metric] = "no Ni 2p area: " + reasons[s].get("ni2p_area", "not computed")
            continue
        ref = refs.get((s.cathode, s.cycles))
        if ref is None or "ni2p_area" not in values[ref]:
            reasons[s][metric] = f"no pristine {s.cathode} Ni 2p area at {s.cycles} cycles to compare with"
            continue
        if L is None:
            reasons[s][metric] = "no attenuation_length in the [analysis] options"
            continue
        (i, si), (i0, si0) = values[s]["ni2p_area"], values[ref]["ni2p_area"]
        L = magnitude(L, "nm", name="attenuation_length")
        lcos = L * math.cos(math.radians(angle))
        try:
            from ncmsurf import thickness

            d = float(thickness.from_attenuation(i, i0, attenuation_length=L, angle=angle))
        except ImportError:
            d = lcos * math.log(i0 / i)
        except Exception as exc:
            reasons[s][metric] = f"attenuation thickness raised {type(exc).__name__}: {exc}"
            continue
        se = lcos * math.hypot(si / i, si0 / i0)
        if math.isfinite(d):
            values[s][metric] = (d, se if math.isfinite(se) else math.nan)
        else:
            reasons[s][metric] = "the attenuation gave a non-finite thickness"


def _metric_order(names: Iterable[str]) -> list[str]:
    names = set(names)
    fixed = [m for m in METRICS if m in names]
    rates = sorted((n for n in names if n.startswith("capacity_") and n.endswith("c")),
                   key=lambda n: float(n[len("capacity_"):-1].replace("p", ".")))
    rest = sorted(names - set(fixed) - set(rates))
    out = []
    for m in fixed:
        out.append(m)
        if m == "first_ce":
            out.extend(rates)
    if "first_ce" not in fixed:
        out.extend(rates)
    return out + rest


def _metrics_dataset(samples: Sequence[Sample], values: dict[Sample, dict[str, tuple[float, float]]],
                     reasons: dict[Sample, dict[str, str]], units: Mapping[str, str]) -> xr.Dataset:
    rate_why = {s: reasons[s].pop("__cycling_rates__", "") for s in samples}
    for s in samples:
        reasons[s].pop("__none__", None)
    names: set[str] = set(METRICS)
    for s in samples:
        names.update(values[s])
        names.update(k for k in reasons[s] if not k.startswith("__"))
    order = _metric_order(names)
    labels = [s.label for s in samples]
    coords = {
        "sample": ("sample", np.array(labels, dtype=str)),
        "method": ("sample", np.array([s.method for s in samples], dtype=str)),
        "n": ("sample", np.array([s.n_minutes for s in samples], dtype=float), {"units": "min"}),
        "cycles": ("sample", np.array([s.cycles for s in samples], dtype=np.int64)),
    }
    data: dict[str, Any] = {}
    all_reasons: dict[str, dict[str, str]] = {}
    for m in order:
        v = np.full(len(samples), np.nan)
        e = np.full(len(samples), np.nan)
        why: dict[str, str] = {}
        info = METRICS.get(m)
        unit = units.get(m, info.units if info else "")
        for i, s in enumerate(samples):
            if m in values[s]:
                v[i], e[i] = values[s][m]
            else:
                r = reasons[s].get(m) or rate_why[s]
                if not r and m.startswith("capacity_"):
                    r = "this C-rate is not in the sample's record"
                why[s.label] = r or "not computed"
        desc = info.description if info else (
            f"mean discharge capacity at {m[len('capacity_'):-1].replace('p', '.')}C" if m.startswith("capacity_")
            else m)
        data[m] = ("sample", v, {"units": unit, "description": desc})
        data[f"{m}_stderr"] = ("sample", e, {"units": unit, "description": f"standard error of {m}"})
        if why:
            all_reasons[m] = why
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {"reasons": all_reasons,
                "description": "ncmsurf study metrics; NaN values have their reason in attrs['reasons']"}
    return ds


def _wls_line(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> tuple[float, float, float]:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y, s = x[ok], y[ok], s[ok]
    if x.size < 2 or np.unique(x).size < 2:
        return math.nan, math.nan, math.nan
    w = np.where(np.isfinite(s) & (s > 0), 1.0 / np.where(s > 0, s, 1.0) ** 2, np.nan)
    if not np.all(np.isfinite(w)):
        w = np.ones_like(x)
    design = np.vstack([np.ones_like(x), x]).T
    a = design.T @ (design * w[:, None])
    coef = np.linalg.solve(a, design.T @ (w * y))
    resid = y - design @ coef
    dof = x.size - 2
    scale = float((w * resid * resid).sum() / dof) if dof > 0 else 1.0
    cov = np.linalg.inv(a) * (max(scale, 1.0) if np.all(np.isfinite(s)) and np.all(s > 0) else scale)
    return float(coef[1]), float(math.sqrt(max(cov[1, 1], 0.0))) if dof > 0 else math.nan, float(coef[0])


def _compare(samples: Sequence[Sample], ds: xr.Dataset, metric: str, by: str) -> xr.Dataset:
    coated = [s for s in samples if s.coated]
    order = list(methods())
    meths = sorted({s.method for s in coated}, key=lambda m: (order.index(m) if m in order else len(order), m))
    ns_ = sorted({s.n_minutes for s in coated})
    cycles = sorted({s.cycles for s in samples})
    val = np.full((len(meths), len(ns_), len(cycles)), np.nan)
    err = np.full_like(val, np.nan)
    ref = np.full(len(cycles), np.nan)
    ref_err = np.full(len(cycles), np.nan)
    labels = [str(x) for x in ds["sample"].values]
    v_all = ds[metric].values
    e_all = ds[f"{metric}_stderr"].values
    for s in samples:
        i = labels.index(s.label)
        c = cycles.index(s.cycles)
        if s.coated:
            val[meths.index(s.method), ns_.index(s.n_minutes), c] = v_all[i]
            err[meths.index(s.method), ns_.index(s.n_minutes), c] = e_all[i]
        elif s.method == "P" and not math.isfinite(ref[c]):
            ref[c], ref_err[c] = v_all[i], e_all[i]
    attrs = dict(ds[metric].attrs)
    out = xr.Dataset(
        {
            "value": (("method", "n", "cycles"), val, attrs),
            "stderr": (("method", "n", "cycles"), err, attrs),
            "reference": (("cycles",), ref, attrs | {"description": "pristine sample"}),
            "reference_stderr": (("cycles",), ref_err, attrs),
        },
        coords={"method": np.array(meths, dtype=str), "n": ("n", np.array(ns_, dtype=float), {"units": "min"}),
                "cycles": np.array(cycles, dtype=np.int64)},
    )
    if by == "method":
        pairs = [(b, a) for a, b in itertools.combinations(range(len(meths)), 2)]
        names = [f"{meths[b]}-{meths[a]}" for b, a in pairs]
        diff = np.array([val[b] - val[a] for b, a in pairs]).reshape(len(pairs), len(ns_), len(cycles))
        derr = np.array([np.hypot(err[b], err[a]) for b, a in pairs]).reshape(len(pairs), len(ns_), len(cycles))
        dims: tuple[str, ...] = ("pair", "n", "cycles")
    else:
        pairs = [(b, a) for a, b in itertools.combinations(range(len(cycles)), 2)]
        names = [f"{cycles[b]}-{cycles[a]}" for b, a in pairs]
        diff = np.array([val[:, :, b] - val[:, :, a] for b, a in pairs]).reshape(len(pairs), len(meths), len(ns_))
        derr = np.array([np.hypot(err[:, :, b], err[:, :, a]) for b, a in pairs]).reshape(
            len(pairs), len(meths), len(ns_))
        dims = ("pair", "method", "n")
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(derr > 0, diff / derr, np.nan)
    out["difference"] = (dims, diff, attrs)
    out["difference_stderr"] = (dims, derr, attrs)
    out["z"] = (dims, z, {"units": "1", "description": "difference / difference_stderr"})
    out = out.assign_coords(pair=np.array(names, dtype=str))
    slope = np.full((len(meths), len(cycles)), np.nan)
    slope_err = np.full_like(slope, np.nan)
    icept = np.full_like(slope, np.nan)
    x = np.array(ns_, dtype=float)
    for i in range(len(meths)):
        for c in range(len(cycles)):
            slope[i, c], slope_err[i, c], icept[i, c] = _wls_line(x, val[i, :, c], err[i, :, c])
    unit = attrs.get("units", "")
    out["slope"] = (("method", "cycles"), slope, {"units": f"({unit})/min" if unit else "1/min"})
    out["slope_stderr"] = (("method", "cycles"), slope_err, {"units": f"({unit})/min" if unit else "1/min"})
    out["intercept"] = (("method", "cycles"), icept, {"units": unit})
    out.attrs = {"metric": metric, "by": by, "description": attrs.get("description", metric)}
    return out
