"""The study layer: measurements of many samples, analysed and compared.

A :class:`Study` collects measurements keyed by :class:`~ncmsurf.Sample`
(pristine P-NCM and coated A(n)-/F(n)-NCM, fresh or cycled), fits each with
the defaults for its kind (:meth:`Study.analyze`), gathers the numbers of the
metric registry in one table (:meth:`Study.metrics`; the registry is
:func:`metric_catalog`, a metric is added with :func:`register_metric`),
compares the coating routes against the deposition parameter ``n``
(:meth:`Study.compare`) and writes an HTML report (:meth:`Study.report`). A
whole study saves and loads losslessly with :func:`ncmsurf.save` /
:func:`ncmsurf.load`.

The parts: ``_study`` (the Study), ``_steps`` (one analysis step per kind),
``_metrics`` (the registry), ``_compare`` (differences with shared-term
covariances), ``_manifest`` (``study.toml``).

Examples
--------
>>> import ncmsurf as ns
>>> st = ns.Study(name="two spectra")
>>> _ = st.add(ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j]), "A(3)-NCM")
>>> _ = st.add(ns.ImpedanceSpectrum([1e3, 1.0], [11 - 1j, 25 - 5j]), "P-NCM@100")
>>> [s.label for s in st.samples]
['P-NCM@100', 'A(3)-NCM']
>>> "r_ct" in ns.study.metric_catalog().index
True
"""

from __future__ import annotations

from ncmsurf.study._compare import shared_covariance
from ncmsurf.study._manifest import KINDS, Manifest, ManifestEntry, read_manifest
from ncmsurf.study._metrics import (
    Metric,
    MetricUnavailable,
    MetricValue,
    SampleInputs,
    metric_catalog,
    metric_names,
    metric_table,
    metrics_registry,
    rate_metric_name,
    register_metric,
    unregister_metric,
)
from ncmsurf.study._steps import InputPlausibilityWarning
from ncmsurf.study._study import Entry, Study, kind_of

__all__ = [
    "KINDS",
    "Entry",
    "InputPlausibilityWarning",
    "Manifest",
    "ManifestEntry",
    "Metric",
    "MetricUnavailable",
    "MetricValue",
    "SampleInputs",
    "Study",
    "kind_of",
    "metric_catalog",
    "metric_names",
    "metric_table",
    "metrics_registry",
    "rate_metric_name",
    "read_manifest",
    "register_metric",
    "shared_covariance",
    "unregister_metric",
]
