"""Comparison of coating routes (or cycle states) on one metric, with the covariance of shared terms.

Two values of a metric can share an error term: every XPS attenuation
thickness of one cycle state is referred to the same pristine Ni 2p area,
every SIMS depth to the same sputter-rate calibration. The metrics table
records these terms per value (``attrs["shared_terms"]``: metric → sample →
term → (derivative, term stderr)); the difference of two values then has the
variance σ₁² + σ₂² − 2 Σ g₁ g₂ σ_t² over the terms t they share, and the
slope against ``n`` is a generalised least-squares line with the full
covariance of the points. Failed values are left out; suspect ones are kept
and reported.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.sample import Sample, methods

__all__ = ["compare_metric", "shared_covariance"]


def shared_covariance(a: Mapping[str, Any], b: Mapping[str, Any]) -> tuple[float, list[str]]:
    """Covariance of two values from the error terms they share, and the names of those terms.

    Examples
    --------
    >>> shared_covariance({"ref": (2.0, 0.1), "x": (1.0, 1.0)}, {"ref": (3.0, 0.1)})
    (0.06000000000000001, ['ref'])
    """
    cov = 0.0
    used = []
    for term in sorted(set(a) & set(b)):
        (ga, sa), (gb, _) = a[term], b[term]
        if all(math.isfinite(float(x)) for x in (ga, gb, sa)):
            cov += float(ga) * float(gb) * float(sa) ** 2
            used.append(term)
    return cov, used


def _gls_line(x: np.ndarray, y: np.ndarray, cov: np.ndarray) -> tuple[float, float, float]:
    ok = np.isfinite(x) & np.isfinite(y) & np.isfinite(np.diag(cov))
    x, y, c = x[ok], y[ok], cov[np.ix_(ok, ok)]
    if x.size < 2 or np.unique(x).size < 2:
        return math.nan, math.nan, math.nan
    design = np.vstack([np.ones_like(x), x]).T
    if not np.all(np.diag(c) > 0):
        c = np.eye(x.size)
        weighted = False
    else:
        weighted = True
    try:
        ci = np.linalg.inv(c)
    except np.linalg.LinAlgError:
        return math.nan, math.nan, math.nan
    a = design.T @ ci @ design
    coef = np.linalg.solve(a, design.T @ ci @ y)
    resid = y - design @ coef
    dof = x.size - 2
    chi2 = float(resid @ ci @ resid)
    # stated errors: the line's covariance is (Xᵀ C⁻¹ X)⁻¹, widened by the Birge ratio when the points scatter
    # more than their errors say; without errors, the residual scatter sets it
    scale = (max(chi2 / dof, 1.0) if weighted else chi2 / dof) if dof > 0 else (1.0 if weighted else math.nan)
    cb = np.linalg.inv(a) * scale
    return float(coef[1]), float(math.sqrt(max(cb[1, 1], 0.0))), float(coef[0])


def compare_metric(samples: Sequence[Sample], ds: xr.Dataset, metric: str, by: str) -> xr.Dataset:
    """See :meth:`ncmsurf.Study.compare`."""
    labels = [str(x) for x in ds["sample"].values]
    index = {lab: i for i, lab in enumerate(labels)}
    v_all = np.asarray(ds[metric].values, float).copy()
    e_all = np.asarray(ds[f"{metric}_stderr"].values, float)
    q_all = [str(x) for x in ds[f"{metric}_quality"].values] if f"{metric}_quality" in ds else [""] * len(labels)
    shared: Mapping[str, Mapping[str, Any]] = ds.attrs.get("shared_terms", {}).get(metric, {})
    qreasons = ds.attrs.get("reasons", {}).get(f"{metric}_quality", {})
    excluded = {lab: qreasons.get(lab, "failed") for lab, q in zip(labels, q_all, strict=True) if q == "failed"}
    suspect = {lab: qreasons.get(lab, "suspect") for lab, q in zip(labels, q_all, strict=True) if q == "suspect"}
    for lab in excluded:
        v_all[index[lab]] = math.nan

    coated = [s for s in samples if s.coated]
    order = list(methods())
    meths = sorted({s.method for s in coated}, key=lambda m: (order.index(m) if m in order else len(order), m))
    ns_ = sorted({s.n_minutes for s in coated})
    cycles = sorted({s.cycles for s in samples})
    shape = (len(meths), len(ns_), len(cycles))
    val = np.full(shape, np.nan)
    err = np.full(shape, np.nan)
    sus = np.zeros(shape, bool)
    who: dict[tuple[int, int, int], str] = {}
    ref = np.full(len(cycles), np.nan)
    ref_err = np.full(len(cycles), np.nan)
    for s in samples:
        i = index[s.label]
        c = cycles.index(s.cycles)
        if s.coated:
            key = (meths.index(s.method), ns_.index(s.n_minutes), c)
            val[key], err[key], sus[key] = v_all[i], e_all[i], s.label in suspect
            who[key] = s.label
        elif s.method == "P" and not math.isfinite(ref[c]):
            ref[c], ref_err[c] = v_all[i], e_all[i]
    attrs = {k: v for k, v in ds[metric].attrs.items() if k in ("units", "description")}
    out = xr.Dataset(
        {
            "value": (("method", "n", "cycles"), val, attrs),
            "stderr": (("method", "n", "cycles"), err, attrs),
            "suspect": (("method", "n", "cycles"), sus, {"description": "the value's verdict is suspect"}),
            "reference": (("cycles",), ref, attrs | {"description": "pristine sample"}),
            "reference_stderr": (("cycles",), ref_err, attrs),
        },
        coords={"method": np.array(meths, dtype=str), "n": ("n", np.array(ns_, dtype=float), {"units": "min"}),
                "cycles": np.array(cycles, dtype=np.int64)},
    )

    def terms(key: tuple[int, int, int]) -> Mapping[str, Any]:
        lab = who.get(key)
        return shared.get(lab, {}) if lab is not None else {}

    cells: list[tuple[tuple[int, int, int], tuple[int, int, int]]]
    if by == "method":
        pairs = [(b, a) for a, b in itertools.combinations(range(len(meths)), 2)]
        names = [f"{meths[b]}-{meths[a]}" for b, a in pairs]
        rest: tuple[int, int] = (len(ns_), len(cycles))
        dims: tuple[str, ...] = ("pair", "n", "cycles")
        cells_of = [[((b, j, c), (a, j, c)) for j in range(len(ns_)) for c in range(len(cycles))] for b, a in pairs]
    else:
        pairs = [(b, a) for a, b in itertools.combinations(range(len(cycles)), 2)]
        names = [f"{cycles[b]}-{cycles[a]}" for b, a in pairs]
        rest = (len(meths), len(ns_))
        dims = ("pair", "method", "n")
        cells_of = [[((m, j, b), (m, j, a)) for m in range(len(meths)) for j in range(len(ns_))] for b, a in pairs]
    diff = np.full((len(pairs), *rest), np.nan)
    derr = np.full_like(diff, np.nan)
    used_terms = np.full(diff.shape, "", dtype=object)
    for p, cells in enumerate(cells_of):
        for k, (hi, lo) in enumerate(cells):
            d = val[hi] - val[lo]
            cov, used = shared_covariance(terms(hi), terms(lo))
            var = err[hi] ** 2 + err[lo] ** 2 - 2.0 * cov
            at = (p, *(int(x) for x in np.unravel_index(k, rest)))
            diff[at] = d
            derr[at] = math.sqrt(var) if var >= 0 else math.nan
            used_terms[at] = ", ".join(used)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(derr > 0, diff / derr, np.nan)
    out["difference"] = (dims, diff, attrs)
    out["difference_stderr"] = (dims, derr, attrs | {
        "description": "sqrt(s1² + s2² - 2 cov12), cov12 from the error terms the two values share"})
    out["covariance_terms"] = (dims, used_terms.astype(str), {
        "description": "the shared error terms whose covariance the difference's stderr takes out"})
    out["z"] = (dims, z, {"units": "1", "description": "difference / difference_stderr"})
    out = out.assign_coords(pair=np.array(names, dtype=str))

    slope = np.full((len(meths), len(cycles)), np.nan)
    slope_err = np.full_like(slope, np.nan)
    icept = np.full_like(slope, np.nan)
    x = np.array(ns_, dtype=float)
    for i in range(len(meths)):
        for c in range(len(cycles)):
            keys = [(i, j, c) for j in range(len(ns_))]
            cmat = np.diag(np.array([err[k] ** 2 for k in keys]))
            for (a, ka), (b, kb) in itertools.combinations(enumerate(keys), 2):
                cab = shared_covariance(terms(ka), terms(kb))[0]
                cmat[a, b] = cmat[b, a] = cab
            slope[i, c], slope_err[i, c], icept[i, c] = _gls_line(x, np.array([val[k] for k in keys]), cmat)
    unit = attrs.get("units", "")
    out["slope"] = (("method", "cycles"), slope, {"units": f"({unit})/min" if unit not in ("", "1") else "1/min",
                                                  "description": "generalised least-squares line against n"})
    out["slope_stderr"] = (("method", "cycles"), slope_err, {"units": f"({unit})/min" if unit not in ("", "1")
                                                             else "1/min"})
    out["intercept"] = (("method", "cycles"), icept, {"units": unit})
    out.attrs = {
        "metric": metric, "by": by, "description": attrs.get("description", metric),
        "excluded": {k: str(v) for k, v in excluded.items()},
        "suspect": {k: str(v) for k, v in suspect.items()},
        "covariance": "differences and slopes take the covariance of the shared error terms into account "
                      "(variable covariance_terms names them); failed values are excluded (attrs['excluded']), "
                      "suspect ones kept and marked (variable suspect, attrs['suspect'])",
    }
    return out
