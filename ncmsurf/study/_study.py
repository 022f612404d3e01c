"""The :class:`Study`: measurements keyed by sample, analysed by kind, metrics from the registry."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core._validate import deep_equal, meta_copy
from ncmsurf.core.errors import NcmsurfError, ValidationError
from ncmsurf.core.models import CyclingData, ImpedanceSpectrum, Measurement
from ncmsurf.core.sample import Sample
from ncmsurf.study._manifest import KINDS, ManifestEntry, duplicate_entries, read_manifest
from ncmsurf.study._metrics import (
    Metric,
    MetricValue,
    SampleInputs,
    convert,
    iter_values,
    metrics_registry,
    same_dimension,
)
from ncmsurf.study._steps import STEPS, EngineUnavailable, StepOutput

__all__ = ["Entry", "Progress", "Study", "kind_of"]

#: ``progress=`` of :meth:`Study.analyze`: True/False, or a callable ``(done, total, text)``.
Progress = bool | Callable[[int, int, str], Any]


def kind_of(measurement: Any) -> str:
    """The kind (``"xps"``, ``"eis"``, ..., ``"tem"``) of a model instance.

    Raises
    ------
    ValidationError
        If it is not one of the ncmsurf models.
    """
    if isinstance(measurement, Measurement) and measurement.kind in KINDS:
        return str(measurement.kind)
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


def _as_sample(sample: Sample | str) -> Sample:
    return sample if isinstance(sample, Sample) else Sample.parse(sample)


class _Bar:
    """Progress: a tqdm bar (notebook or terminal, chosen by ``tqdm.auto``), a callable, or nothing."""

    def __init__(self, total: int, progress: Progress) -> None:
        self.total = total
        self.done = 0
        self.callback: Callable[[int, int, str], Any] | None = None
        self.bar: Any = None
        if callable(progress):
            self.callback = progress
        elif progress:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc="analyze", unit="step", leave=True)

    def update(self, text: str) -> None:
        self.done += 1
        if self.callback is not None:
            self.callback(self.done, self.total, text)
        elif self.bar is not None:
            self.bar.set_postfix_str(text[:40], refresh=False)
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


ResultKey = tuple[Sample, str, str]


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
        self._results: dict[ResultKey, Any] = {}
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

        Names are ``xps_fit:<region>``, ``eis_fit``, ``eis_selection``,
        ``cycling_summary``, ``cycling_rate``, ``cycling_run``,
        ``cycling_retention``, ``cycling_fade``, ``sims_interface``,
        ``eds_coverage``, ``eds_uniformity``, ``tem_thickness`` (see
        :mod:`ncmsurf.study._steps`).
        """
        s = None if sample is None else _as_sample(sample)
        return {f"{smp.label}|{knd}|{name}": val for (smp, knd, name), val in self._results.items()
                if (s is None or smp == s) and (kind is None or knd == kind)}

    def result(self, sample: Sample | str, kind: str, name: str) -> Any:
        """One result made by :meth:`analyze` (see :meth:`results` for the names), or None."""
        return self._results.get((_as_sample(sample), kind, name))

    @property
    def analyzed(self) -> bool:
        """Whether :meth:`analyze` has run since the last change."""
        return self._metrics is not None

    @property
    def notes(self) -> dict[str, list[str]]:
        """Remarks made during the analysis, per sample label."""
        return {k: list(v) for k, v in self._notes.items()}

    # ------------------------------------------------------------ analysis
    def analyze(self, progress: Progress = True) -> Study:
        """Fit every measurement with the defaults for its kind and compute the metrics.

        Each kind is one step (XPS core-level fits after the sample's own
        charge correction, equivalent-circuit fit, cycling summary / rate /
        run / fade, SIMS interface, EDS coverage, TEM thickness); the metrics
        then come from the registry (:mod:`ncmsurf.study._metrics`). A step
        whose engine is unavailable, a file that could not be read or a fit
        that fails never aborts the analysis: the affected metrics are NaN
        and the reason is listed in ``metrics().attrs["reasons"]``. The work
        grows linearly with the number of entries.

        Parameters
        ----------
        progress : bool or callable
            True: a progress bar (``tqdm.auto``: a widget in a notebook, a
            bar on stderr in a terminal); False: none; a callable is called
            as ``progress(done, total, text)`` after every step.

        Returns
        -------
        Study
            ``self``.

        Notes
        -----
        Options (``[analysis]`` table of the manifest or ``Study(analysis=...)``;
        numbers with units also accept a pint Quantity):
        ``attenuation_length`` and ``attenuation_length_stderr`` (nm, Ni 2p
        photoelectrons in the coating, for ``thickness_xps``),
        ``emission_angle`` (degrees, default 0), ``imfp_exponent`` (default
        0.75, for ``al_ni_ratio``), ``xps_regions`` (list of regions to fit;
        default all with a preset), ``xps_background``, ``charge_correct``
        (default true), ``charge_reference`` (eV, default 284.8),
        ``charge_max_shift`` (eV, default 5), ``eis_circuit`` (default
        ``"auto"``: :func:`ncmsurf.eis.select_circuit`), ``retention_cycles``
        (default 100), ``fade_model``, ``nominal_capacity`` (mAh/g, checks the
        C-rate ladder), ``sims_fragment``, ``sputter_rate`` and
        ``sputter_rate_stderr`` (nm/s), ``eds_element``.
        """
        opts = self.analysis_options
        groups: dict[tuple[Sample, str], list[Measurement]] = {}
        sources: dict[tuple[Sample, str], list[str]] = {}
        failed: dict[Sample, list[Entry]] = {}
        for e in self._entries:
            if e.measurement is not None:
                groups.setdefault((e.sample, e.kind), []).append(e.measurement)
                sources.setdefault((e.sample, e.kind), []).append(e.source)
            else:
                failed.setdefault(e.sample, []).append(e)
        samples = self.samples
        tasks = sorted(groups, key=lambda k: (k[0], KINDS.index(k[1])))
        bar = _Bar(len(tasks), progress)
        self._results = {}
        self._notes = {}
        inputs = {s: SampleInputs(s, opts) for s in samples}
        suspects: dict[tuple[Sample, str], list[tuple[str, str]]] = {}
        try:
            for s in samples:
                inp = inputs[s]
                for kind in KINDS:
                    bad = [e for e in failed.get(s, []) if e.kind in (kind, "unknown")]
                    if (s, kind) not in groups:
                        inp.missing[f"kind:{kind}"] = (f"file {bad[0].source!r} could not be read: {bad[0].error}"
                                                       if bad else f"no {kind} file for this sample")
            for s, kind in tasks:
                inp = inputs[s]
                ms = groups[(s, kind)]
                inp.measurements[kind] = ms
                try:
                    out = STEPS[kind](ms, s, opts, sources[(s, kind)])
                except EngineUnavailable as exc:
                    out = StepOutput()
                    inp.missing[f"kind:{kind}"] = str(exc)
                inp.results.update(out.results)
                inp.missing.update(out.missing)
                if out.suspect:
                    suspects[(s, kind)] = out.suspect
                for name, obj in out.results.items():
                    self._results[(s, kind, name)] = obj
                if out.notes:
                    self._notes.setdefault(s.label, []).extend(out.notes)
                bar.update(f"{s.label} {kind}")
        finally:
            bar.close()
        pristine = {(s.cathode, s.cycles): inputs[s] for s in reversed(samples) if not s.coated}
        for s in samples:
            if s.coated:
                inputs[s].pristine = pristine.get((s.cathode, s.cycles))
        self._metrics = _metrics_dataset(samples, inputs, suspects)
        return self

    def metrics(self) -> xr.Dataset:
        """The metrics table (runs :meth:`analyze` quietly if needed).

        Returns
        -------
        xarray.Dataset
            Over ``sample`` (the labels), with coordinates ``method``, ``n``
            (minutes; NaN for pristine), ``cycles``; one variable per metric
            of the registry (:func:`ncmsurf.study.metric_catalog`), the
            ``capacity_<rate>c`` family expanded to every C-rate found
            (``capacity_0p1c``, ``capacity_4p4c``, ``capacity_5c``, ...), each
            in the metric's unit, with a ``<metric>_stderr`` twin (NaN where
            no uncertainty is estimated) and a ``<metric>_quality`` twin
            (``"good"``, ``"suspect"``, ``"failed"``, ``""`` where there is
            no value). Attributes: ``reasons`` (``reasons[metric][label]``:
            why a value is NaN; ``reasons[metric + "_quality"][label]``: the
            verdict's reasons), ``units`` (metric → unit, one per metric),
            ``shared_terms`` (metric → label → term → [derivative, term
            stderr], used by :meth:`compare`), ``metric_order``.
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
            ``value``, ``stderr`` and ``suspect`` over (``method``, ``n``,
            ``cycles``) for the coated samples (failed values left out, listed
            in ``attrs["excluded"]``; suspect ones in ``attrs["suspect"]``);
            ``reference`` / ``reference_stderr`` over ``cycles`` (the pristine
            sample); ``difference``, ``difference_stderr`` (with the covariance
            of the error terms the two values share, e.g. the pristine Ni 2p
            area behind both XPS thicknesses), ``covariance_terms`` (which
            terms) and ``z`` over ``pair`` and the remaining dimensions;
            ``slope``, ``slope_stderr``, ``intercept`` over (``method``,
            ``cycles``): a generalised least-squares line of the metric
            against ``n`` with the points' full covariance (for a thickness,
            the deposition rate per minute).

        Raises
        ------
        ValidationError
            For an unknown metric or ``by``.
        """
        from ncmsurf.study._compare import compare_metric

        ds = self.metrics()
        if metric not in ds.data_vars or metric.endswith(("_stderr", "_quality")):
            names = [str(k) for k in ds.data_vars if not str(k).endswith(("_stderr", "_quality"))]
            raise ValidationError(f"unknown metric {metric!r}; available: {names}")
        if by not in ("method", "cycles"):
            raise ValidationError(f"by must be 'method' or 'cycles', got {by!r}")
        return compare_metric(self.samples, ds, metric, by)

    def thickness_check(self, *, z_threshold: float | None = None) -> xr.Dataset:
        """Every thickness the study has per sample (XPS, SIMS, TEM, deposition), with the z-score flag.

        Calls :func:`ncmsurf.thickness.cross_check` with the study's
        ``thickness_xps``, ``thickness_sims`` and ``thickness_tem`` values
        (value, stderr; failed values left out) and the deposition rate of
        each route from :func:`ncmsurf.thickness.deposition_rates` on the
        fresh samples' XPS thicknesses (a line through the origin, pristine
        samples not in the fit).

        Parameters
        ----------
        z_threshold : float, optional
            Default :data:`ncmsurf.thickness.Z_THRESHOLD`.

        Returns
        -------
        xarray.Dataset
            See :func:`ncmsurf.thickness.cross_check`.
        """
        from ncmsurf import thickness

        ds = self.metrics()
        methods = {"thickness_xps": "xps_attenuation", "thickness_sims": "sims", "thickness_tem": "tem"}
        rows: dict[Sample, dict[str, tuple[float, float]]] = {}
        for i, s in enumerate(self.samples):
            for metric, tech in methods.items():
                if metric not in ds:
                    continue
                v, e = float(ds[metric].values[i]), float(ds[f"{metric}_stderr"].values[i])
                if math.isfinite(v) and str(ds[f"{metric}_quality"].values[i]) != "failed":
                    rows.setdefault(s, {})[tech] = (v, e)
        if not rows:
            raise ValidationError("thickness_check: the study has no thickness values")
        deposition = {}
        if "thickness_xps" in ds:
            for route in sorted({s.method for s in rows if s.coated}):
                pts = [(s, *rows[s]["xps_attenuation"]) for s in rows
                       if s.method == route and s.cycles == 0 and "xps_attenuation" in rows[s]]
                if len(pts) >= 2:
                    deposition[route] = thickness.deposition_rate(
                        [p[0] for p in pts], [p[1] for p in pts], [p[2] for p in pts])
        z = thickness.Z_THRESHOLD if z_threshold is None else float(z_threshold)
        return thickness.cross_check(rows, deposition=deposition or None, z_threshold=z)

    def report(self, path: str | os.PathLike[str], **kw: Any) -> Any:
        """Write the HTML report (figures also as PNG beside it).

        Parameters
        ----------
        path : str or path-like
            The HTML file to write (its folder is created).
        **kw
            Passed to :func:`ncmsurf.report.write_report`.

        Returns
        -------
        The report writer's result.
        """
        from ncmsurf.report import write_report

        return write_report(self, path, **kw)

    # ------------------------------------------------------------- storage
    def to_dataset(self) -> xr.Dataset:
        """Metrics and the study description as a Dataset (used by ``ns.save``)."""
        ds = self._metrics.copy(deep=True) if self._metrics is not None else xr.Dataset()
        types = _storable_types()
        stored = [k for k, v in self._results.items() if _storable(v, types)]
        ds.attrs = {
            "study_metrics_attrs": dict(self._metrics.attrs) if self._metrics is not None else {},
            "study_name": self.name,
            "study_folder": "" if self.folder is None else str(self.folder),
            "study_analysis": meta_copy(self.analysis_options),
            "study_manifest_extra": meta_copy(self.manifest_extra),
            "study_entries": [[e.sample.label, e.kind, e.source, e.error, e.measurement is not None]
                              for e in self._entries],
            "study_results": [[s.label, k, n] for s, k, n in stored],
            "study_notes": {k: list(v) for k, v in self._notes.items()},
            "study_analyzed": self._metrics is not None,
        }
        return ds

    def _storage_children(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for i, e in enumerate(self._entries):
            if e.measurement is not None:
                out[f"m{i:05d}"] = e.measurement
        types = _storable_types()
        for j, obj in enumerate(v for v in self._results.values() if _storable(v, types)):
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
            if isinstance(key, str):  # files written before results were keyed by (sample, kind, name)
                label, kind, name = key.split("|", 2)
            else:
                label, kind, name = (str(x) for x in key)
            if f"r{j:05d}" in children:
                st._results[(Sample.parse(label), kind, name)] = children[f"r{j:05d}"]
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
        types = _storable_types()
        mine = [k for k in self._results if _storable(self._results[k], types)]
        theirs = [k for k in other._results if _storable(other._results[k], types)]
        if len(self._entries) != len(other._entries) or mine != theirs:
            return False
        for a, b in zip(self._entries, other._entries, strict=True):
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


def _storable_types() -> tuple[type, ...]:
    from ncmsurf.io.netcdf import storable_types

    return (xr.Dataset, xr.DataArray, *storable_types().values())


def _storable(obj: Any, types: tuple[type, ...]) -> bool:
    """Whether ``ns.save`` can store a result: an instance of a type of the storage registry (``storable_types``)."""
    return isinstance(obj, types)


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, (xr.Dataset, xr.DataArray)):
        return bool(a.identical(b))
    return bool(a == b)


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


# ------------------------------------------------------------------------------------------------ the table
def _metrics_dataset(samples: Sequence[Sample], inputs: Mapping[Sample, SampleInputs],
                     suspects: Mapping[tuple[Sample, str], list[tuple[str, str]]]) -> xr.Dataset:
    """One variable per registered metric (families expanded), in the metric's unit, with verdicts and reasons."""
    registry = metrics_registry()
    # metric variable → (declaration, per-sample MetricValue or reason)
    found: dict[str, tuple[Metric, dict[Sample, MetricValue | str]]] = {}
    family_reason: dict[str, dict[Sample, str]] = {}
    for metric in registry.values():
        if not metric.family:
            found[metric.name] = (metric, {})
        else:
            family_reason[metric.name] = {}
        for s in samples:
            for var, value in iter_values(metric, inputs[s]):
                if metric.family and isinstance(value, str):
                    family_reason[metric.name][s] = value
                    continue
                found.setdefault(var, (metric, {}))[1][s] = value
    order = _order(found, registry)
    labels = [s.label for s in samples]
    coords = {
        "sample": ("sample", np.array(labels, dtype=str)),
        "method": ("sample", np.array([s.method for s in samples], dtype=str)),
        "n": ("sample", np.array([s.n_minutes for s in samples], dtype=float), {"units": "min"}),
        "cycles": ("sample", np.array([s.cycles for s in samples], dtype=np.int64)),
    }
    data: dict[str, Any] = {}
    reasons: dict[str, dict[str, str]] = {}
    units: dict[str, str] = {}
    shared_terms: dict[str, dict[str, dict[str, list[float]]]] = {}
    for var in order:
        metric, per = found[var]
        unit = _shared_unit(metric, per)
        v = np.full(len(samples), np.nan)
        e = np.full(len(samples), np.nan)
        q = np.full(len(samples), "", dtype=object)
        why: dict[str, str] = {}
        qwhy: dict[str, str] = {}
        notes: list[str] = []
        terms: dict[str, dict[str, list[float]]] = {}
        for i, s in enumerate(samples):
            got: MetricValue | str | None = per.get(s)
            if got is None:
                got = family_reason.get(metric.name, {}).get(s) or (
                    "this C-rate is not in the sample's record" if metric.family else "not computed")
            if isinstance(got, str):
                why[s.label] = got
                continue
            conv = convert(got.value, got.stderr, got.unit, unit)
            if conv is None:
                alt = metric.alternatives.get(_alt_key(metric, got.unit))
                why[s.label] = (f"{alt}: its value is in {got.unit}, the metric in {unit}" if alt
                                else f"its value is in {got.unit}, which does not convert to {unit}")
                continue
            if not math.isfinite(conv[0]):
                why[s.label] = "; ".join(m for _, m in got.quality.reasons) or "the analysis gave a non-finite value"
                continue
            quality = got.quality
            extra = suspects.get((s, metric.kind), [])
            if extra:
                quality = quality.with_reasons(suspect=extra)
            v[i] = conv[0]
            e[i] = conv[1] if math.isfinite(conv[1]) else np.nan
            q[i] = quality.level
            if quality.reasons:
                qwhy[s.label] = "; ".join(f"[{r.code}] {r.message}" for r in quality.reasons)
            if got.note and got.note not in notes:
                notes.append(got.note)
            if got.shared:
                f = convert(1.0, 0.0, got.unit, unit)
                scale = f[0] if f is not None else 1.0
                terms[s.label] = {t: [float(g) * scale, float(se)] for t, (g, se) in got.shared.items()}
        desc = metric.description
        if metric.family:
            desc = f"{desc} [{var}]"
        if notes:
            desc = desc + "; " + "; ".join(notes)
        data[var] = ("sample", v, {"units": unit, "description": desc})
        data[f"{var}_stderr"] = ("sample", e, {"units": unit, "description": f"standard error of {var}"})
        data[f"{var}_quality"] = ("sample", q.astype(str), {"description": f"verdict on {var} (good, suspect, failed; "
                                                                           "empty where there is no value)"})
        units[var] = unit
        if why:
            reasons[var] = why
        if qwhy:
            reasons[f"{var}_quality"] = qwhy
        if terms:
            shared_terms[var] = terms
    ds = xr.Dataset(data, coords=coords)
    ds.attrs = {"reasons": reasons, "units": units, "shared_terms": shared_terms, "metric_order": list(order),
                "description": "ncmsurf study metrics; NaN values have their reason in attrs['reasons'][metric], "
                               "verdict reasons in attrs['reasons'][metric + '_quality']"}
    return ds


def _alt_key(metric: Metric, unit: str) -> str:
    for alt in metric.alternatives:
        if same_dimension(alt, unit):
            return alt
    return unit


def _shared_unit(metric: Metric, per: Mapping[Sample, MetricValue | str]) -> str:
    """The metric's unit, unless no sample's value has it and all share one other unit (then that one)."""
    got = [x.unit for x in per.values() if isinstance(x, MetricValue)]
    if not got or any(same_dimension(u, metric.unit) for u in got):
        return metric.unit
    first = _alt_key(metric, got[0])
    if all(same_dimension(u, first) for u in got):
        return first
    return metric.unit


def _order(found: Mapping[str, tuple[Metric, Any]], registry: Mapping[str, Metric]) -> list[str]:
    out: list[str] = []
    for metric in registry.values():
        members = [v for v, (m, _) in found.items() if m is metric]
        if metric.family:
            members.sort(key=_rate_key)
        out.extend(members)
    return out


def _rate_key(name: str) -> float:
    text = name.rsplit("_", 1)[-1].rstrip("c").replace("p", ".")
    try:
        return float(text)
    except ValueError:
        return math.inf

