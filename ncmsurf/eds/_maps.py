"""EDS map analysis: Otsu masks, coverage, uniformity, correlation, shell width (private).

It is over 500 lines because the three map results sit beside the masks and thresholds
they are computed from; each result class is short.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from scipy import ndimage

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import ElementMap
from ncmsurf.core.results import FitResult, Quality, ScalarResult, legacy_quality, register_citation

__all__ = ["Coverage", "ShellWidth", "Uniformity", "correlation", "coverage", "otsu_threshold", "particle_mask",
           "radial_profile", "shell_width", "uniformity"]


register_citation("otsu1979", "N. Otsu, IEEE Trans. Syst. Man Cybern. 9, 62 (1979)")


def _emap(emap: Any) -> ElementMap:
    if not isinstance(emap, ElementMap):
        raise ValidationError(f"expected an ElementMap, got {type(emap).__name__}")
    return emap


def _element(emap: ElementMap, element: str) -> np.ndarray:
    if element not in emap.elements:
        raise ValidationError(f"element {element!r} not in the map; available: {emap.elements}")
    return np.asarray(emap[element], dtype=float)


def _mask(mask: Any, shape: tuple[int, int], name: str = "mask") -> np.ndarray:
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValidationError(f"{name}: shape {m.shape} differs from the map shape {shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "biuf" or not np.all(np.isin(m, (0, 1))):
            raise ValidationError(f"{name}: expected a boolean array")
        m = m.astype(bool)
    return m


def _substrate(emap: ElementMap, element: str) -> list[str]:
    """The elements that define the particles when ``element`` is the coating (all others, if any)."""
    others = [e for e in emap.elements if e != element]
    return others or [element]


def otsu_threshold(values: Any, *, nbins: int = 256) -> float:
    """Otsu's threshold: the cut that maximises the between-class variance.

    Parameters
    ----------
    values : array_like
        Any shape; non-finite values are ignored.
    nbins : int

    Returns
    -------
    float
        Values strictly above it form the upper class. When the classes are
        separated by empty bins, the middle of the gap.

    Raises
    ------
    ValidationError
        Empty input or a single repeated value.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.r_[np.zeros(50), np.full(50, 10.0)]
    >>> 0 < otsu_threshold(v) < 10
    True
    """
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValidationError("otsu_threshold: no finite values")
    lo, hi = float(v.min()), float(v.max())
    if lo == hi:
        raise ValidationError(f"otsu_threshold: all values equal ({lo}); no threshold separates two classes")
    hist, edges = np.histogram(v, bins=int(nbins), range=(lo, hi))
    centers = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(hist).astype(float)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centers)
    mt = m0[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mu0 = m0 / w0
        mu1 = (mt - m0) / w1
        between = w0 * w1 * (mu0 - mu1) ** 2
    between[~np.isfinite(between)] = -1.0
    if between.size <= 1:
        return float(edges[1])
    b = between[:-1]
    k = int(np.argmax(b))
    # an empty gap between the classes gives a run of equal maxima: take its middle
    top = b[k]
    j = k
    while j + 1 < b.size and b[j + 1] >= top * (1 - 1e-12):
        j += 1
    return float(edges[(k + j) // 2 + 1])


def particle_mask(emap: ElementMap, elements: Any = None, *, min_size: int = 4) -> np.ndarray:
    """Particle pixels: Otsu threshold on log(1 + summed counts of ``elements``).

    The log scale keeps the particle/background split from being pulled
    between coated and uncoated particle pixels.

    Parameters
    ----------
    emap : ElementMap
    elements : sequence of str, optional
        Default: all elements of the map.
    min_size : int
        Connected regions smaller than this many pixels are dropped (noise).

    Returns
    -------
    ndarray of bool

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((8, 8)); a[2:6, 2:6] = 50
    >>> int(particle_mask(ElementMap({"Ni": a})).sum())
    16
    """
    m = _emap(emap)
    names = list(m.elements) if elements is None else [str(e) for e in elements]
    if not names:
        raise ValidationError("particle_mask: no elements given")
    total = np.zeros(m.shape)
    for e in names:
        total += _element(m, e)
    logt = np.log1p(np.clip(total, 0, None))
    try:
        thr = otsu_threshold(logt)
    except ValidationError as exc:
        raise ValidationError(f"particle_mask: the summed map of {names} is uniform; no particles to separate "
                              f"({exc})") from exc
    mask = logt > thr
    if min_size > 1 and mask.any():
        lab, n = ndimage.label(mask)
        sizes = np.bincount(lab.ravel())
        small = sizes < min_size
        small[0] = False
        mask[small[lab]] = False
    return mask


def _quality(reason: str, suspect: list[tuple[str, str]] | None = None) -> Quality:
    return Quality("failed", [("not_resolved", reason)]) if reason else Quality.from_checks(suspect=suspect or [])


class Coverage(ScalarResult):
    """Coating coverage: the share of particle pixels that carry the element; an :class:`ncmsurf.FitResult`.

    Falsy when there is no answer (``reason`` says why); ``float(c)`` is the
    fraction, ``c.value_stderr`` the standard error of the measurement (the
    classification of the map's pixels, see :func:`coverage`).
    """

    __slots__ = ()

    @classmethod
    def make(cls, element: str, fraction: float, n_particle: int, n_covered: int, threshold: float,
             reason: str = "", stderr: float | None = None,
             suspect: list[tuple[str, str]] | None = None) -> Coverage:
        """Build a coverage result.

        ``stderr`` defaults to the whole-pixel resolution of the fraction,
        1 / (n_particle √12) (what :func:`coverage` states for a map whose
        pixels are all classified without doubt).
        """
        if stderr is not None:
            se = float(stderr)
        else:
            se = 1.0 / (n_particle * math.sqrt(12.0)) if n_particle and math.isfinite(fraction) else math.nan
        return cls.build(names=["fraction"], values=[fraction], stderr=[se], covariance=[[se * se]], units=[""],
                         success=not reason, message=reason, quality=_quality(reason, suspect),
                         model="otsu-coverage",
                         citations=["otsu1979"],
                         attrs={"element": element, "n_particle": int(n_particle), "n_covered": int(n_covered),
                                "threshold": float(threshold)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        out = cls.make(str(a["element"]), float(a["fraction"]), int(a["n_particle"]), int(a["n_covered"]),
                       float(a["threshold"]), str(a["reason"]))
        return out if out.reason else out.replace(quality=legacy_quality(True))

    @property
    def element(self) -> str:
        """Coating element."""
        return str(self._attrs["element"])

    @property
    def fraction(self) -> float:
        """The covered fraction (NaN without an answer)."""
        return self.value

    @property
    def n_particle(self) -> int:
        """Particle pixels."""
        return int(self._attrs["n_particle"])

    @property
    def n_covered(self) -> int:
        """Covered particle pixels."""
        return int(self._attrs["n_covered"])

    @property
    def threshold(self) -> float:
        """Counts above which a pixel is covered."""
        return float(self._attrs["threshold"])

    @property
    def reason(self) -> str:
        """Why there is no answer (empty when there is one)."""
        return "" if self.success else self.message


def _auto_threshold(values: np.ndarray, min_counts: float) -> float:
    lv = np.log1p(np.clip(values, 0, None))
    try:
        thr = float(np.expm1(otsu_threshold(lv)))
    except ValidationError:
        thr = float(values.max())
    return max(thr, float(min_counts))


def _presence(values: np.ndarray, threshold: Any, min_counts: float) -> tuple[np.ndarray, float]:
    thr = _auto_threshold(values, min_counts) if threshold is None else float(threshold)
    return values > thr, thr


def _p_above(counts: np.ndarray, thr: float) -> np.ndarray:
    """P(N > thr) for N Poisson with mean ``counts`` (each pixel's own count as its expected count)."""
    from scipy import stats

    lam = np.clip(np.asarray(counts, dtype=float), 0.0, None)
    return np.asarray(stats.poisson.sf(math.floor(thr), lam), dtype=float)


def _threshold_sd(values: np.ndarray, min_counts: float, n_boot: int = 24) -> float:
    """Bootstrap standard deviation of the automatic (Otsu) threshold over the map's pixels (fixed seed)."""
    rng = np.random.default_rng(20240601)
    flat = values.ravel()
    thr = np.array([_auto_threshold(flat[rng.integers(0, flat.size, flat.size)], min_counts)
                    for _ in range(n_boot)])
    return float(thr.std(ddof=1))


def _class_mean(values: np.ndarray, cls: np.ndarray, size: int = 5) -> np.ndarray:
    """Each pixel's expected count: the mean over its ``size`` x ``size`` neighbours of the same class."""
    c = cls.astype(float)
    out = np.empty(values.shape)
    for sel, w in ((cls, c), (~cls, 1.0 - c)):
        num = ndimage.uniform_filter(values * w, size, mode="nearest")
        den = ndimage.uniform_filter(w, size, mode="nearest")
        out[sel] = num[sel] / den[sel]
    return out


def _coverage_stderr(v: np.ndarray, pm: np.ndarray, present: np.ndarray, thr: float, auto: bool,
                     min_counts: float, substrate: np.ndarray | None,
                     mask_thr: float) -> tuple[float, float, float]:
    """Stderr of the covered fraction; the expected excess of false over missed pixels; their expected share."""
    n = int(pm.sum())
    f = float((present & pm).sum()) / n
    # 1. each particle pixel's classification: covered with probability P(Poisson(lambda) > thr), lambda the
    #    local mean count of its class
    lam = _class_mean(v, present)
    p = _p_above(lam[pm], thr)
    var_k = float(np.sum(p * (1.0 - p)))
    cov_pm = present[pm]
    excess = float(np.sum(p[~cov_pm]) - np.sum(1.0 - p[cov_pm]))  # E[false positives] - E[missed]
    doubt = float(np.sum(p[~cov_pm]) + np.sum(1.0 - p[cov_pm])) / n
    # 2. the automatic threshold's own scatter, through the number of particle pixels whose counts it crosses
    if auto:
        sd_t = _threshold_sd(v, min_counts)
        if sd_t > 0:
            vp = v[pm]
            lo, hi = max(thr - sd_t, float(min_counts)), thr + sd_t
            dk = 0.5 * (float(np.sum(vp > lo)) - float(np.sum(vp > hi))) if hi > lo else 0.0
            var_k += dk * dk
    var_f = var_k / n**2
    # 3. the particle mask's pixels: a pixel gained or lost moves the fraction by (covered - f) / n
    if substrate is not None:
        in_mask = substrate > mask_thr
        q = _p_above(_class_mean(substrate, in_mask), mask_thr)
        var_f += float(np.sum(q * (1.0 - q) * (present.astype(float) - f) ** 2)) / n**2
    # 4. whole-pixel resolution: the covered area is a whole number of pixels (uniform error of +-1/2 pixel)
    var_f += 1.0 / (12.0 * n**2)
    return math.sqrt(var_f), excess, doubt


def coverage(emap: ElementMap, element: str, *, mask: Any = None, threshold: Any = None,
             min_counts: float = 5.0) -> Coverage:
    """Fraction of particle pixels covered by ``element`` (e.g. the Al of the coating).

    A pixel is covered where the element's counts exceed ``threshold``
    (default: Otsu's threshold on log(1 + counts) over the whole map, never
    below ``min_counts``). The particle pixels are ``mask`` (default
    :func:`particle_mask` on all the other elements, i.e. the substrate).

    Parameters
    ----------
    emap : ElementMap
    element : str
        The coating element.
    mask : array of bool, optional
        Particle pixels (default: :func:`particle_mask` of the substrate elements).
    threshold : float, optional
        Counts above which a pixel is covered (default: automatic, see above).
    min_counts : float
        Lowest automatic threshold.

    Returns
    -------
    Coverage
        Falsy with ``reason`` for an empty mask.

    Notes
    -----
    k of the n particle pixels are counted as covered. The stated standard
    error is that of the *measurement* of the mapped area, from four
    independent terms, var(f) = (V₁ + V₂) / n² + V₃ + 1 / (12 n²):

    1. *Counting noise* (V₁ = Σ p (1 − p) over the particle pixels): a pixel is
       counted as covered with probability p = P(Poisson(λ) > t), t the
       threshold and λ its expected count, estimated as the mean count of
       its 5 × 5 neighbours of the same class (covered or bare). Pixels far
       from t add nothing; pixels near it add up to ¼ each.
    2. *The threshold's sensitivity* (V₂, automatic threshold only): the
       sampling standard deviation σₜ of Otsu's threshold (bootstrap over the
       map's pixels, fixed seed) times the number of particle pixels it
       crosses, V₂ = (½ [k(t − σₜ) − k(t + σₜ)])²; zero when the covered and
       bare classes are separated by empty counts.
    3. *The particle mask* (V₃, default mask only): each pixel's probability
       q of being taken as particle (its substrate counts against the mask's
       threshold, as in 1) moves f by (covered − f) / n, V₃ = Σ q (1 − q)
       (covered − f)² / n².
    4. *Whole-pixel resolution*: k is a whole number, so the covered area is
       known to ± ½ pixel, a uniform error of variance 1/12 pixel².

    Neighbouring pixels' classifications are independent given their
    expected counts (the counts are), so the terms add. The fraction itself
    is (k − E[false] + E[missed]) / n with the probabilities of 1, and the
    result is ``suspect`` (``unidentifiable``) when more than 2 % of the
    particle pixels are expected on the wrong side of the threshold (there
    the threshold itself is unsure). Not included: the *sampling* of the
    sample's surface by the few particles of one map (a map measures their
    coverage; compare several maps for the sample's).

    Examples
    --------
    >>> from ncmsurf.datasets.coating import synthetic_map
    >>> m = synthetic_map(coverage=0.7, cv=0.1, shape=(64, 64), seed=2)
    >>> c = coverage(m, "Al")
    >>> round(c.fraction, 2), bool(c.value_stderr < 0.01)
    (0.7, True)
    """
    m = _emap(emap)
    v = _element(m, element)
    substrate: np.ndarray | None = None
    mask_thr = math.nan
    if mask is None:
        names = _substrate(m, element)
        pm = particle_mask(m, names)
        substrate = np.sum([_element(m, e) for e in names], axis=0)
        logt = np.log1p(np.clip(substrate, 0, None))
        mask_thr = float(np.expm1(otsu_threshold(logt)))
    else:
        pm = _mask(mask, m.shape)
    n = int(pm.sum())
    present, thr = _presence(v, threshold, min_counts)
    if n == 0:
        return Coverage.make(element, float("nan"), 0, 0, thr, reason="the particle mask is empty: no particle pixels "
                        "to measure coverage on")
    k = int((present & pm).sum())
    se, excess, doubt = _coverage_stderr(v, pm, present, thr, threshold is None, min_counts, substrate, mask_thr)
    frac = min(max((k - excess) / n, 0.0), 1.0)
    # beyond a few per cent of doubtful pixels the first-order correction and the threshold itself are unsure
    suspect = ([("unidentifiable", f"{100 * doubt:.1f} % of the particle pixels are expected on the wrong side of "
                                   f"the threshold ({thr:.3g} counts): the coating's counts overlap the bare "
                                   "surface's")] if doubt > 0.02 else [])
    return Coverage.make(element, frac, n, k, thr, stderr=se, suspect=suspect)


class Uniformity(ScalarResult):
    """Coefficient of variation of element/(element + reference) over binned particle pixels.

    An :class:`ncmsurf.FitResult`; falsy when there is no answer; ``float(u)``
    is the CV, ``u.value_stderr`` its standard error (the sampling
    distribution of a CV over n bins, see :func:`uniformity`). Fewer than 10
    bins make it ``suspect`` (``unidentifiable``).
    """

    __slots__ = ()

    @classmethod
    def make(cls, element: str, reference: str, cv: float, mean_ratio: float, n_bins: int, bin_size: int,
             reason: str = "", stderr: float | None = None) -> Uniformity:
        """Build a uniformity result.

        ``stderr`` defaults to the large-sample standard error of a CV of
        normal data, CV √((1 + 2 CV²) / (2 n)) for n bins.
        """
        if stderr is not None:
            se = float(stderr)
        else:
            se = (float(cv * math.sqrt((1.0 + 2.0 * cv**2) / (2.0 * n_bins)))
                  if n_bins >= 2 and math.isfinite(cv) else math.nan)
        suspect = ([("unidentifiable", f"only {n_bins} bins: the CV is poorly determined")]
                   if not reason and n_bins < 10 else [])
        return cls.build(names=["cv", "mean_ratio"], values=[cv, mean_ratio], stderr=[se, math.nan],
                         units=["", ""], success=not reason, message=reason, quality=_quality(reason, suspect),
                         model="binned-cv", attrs={"element": element, "reference": reference,
                                                   "n_bins": int(n_bins), "bin_size": int(bin_size)})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        out = cls.make(str(a["element"]), str(a["reference"]), float(a["cv"]), float(a["mean_ratio"]),
                       int(a["n_bins"]), int(a["bin_size"]), str(a["reason"]))
        return out if out.reason else out.replace(quality=legacy_quality(True))

    @property
    def element(self) -> str:
        """Coating element."""
        return str(self._attrs["element"])

    @property
    def reference(self) -> str:
        """Reference (substrate) element."""
        return str(self._attrs["reference"])

    @property
    def cv(self) -> float:
        """The coefficient of variation."""
        return self.value

    @property
    def mean_ratio(self) -> float:
        """Mean element/(element + reference) ratio."""
        return self.values["mean_ratio"]

    @property
    def n_bins(self) -> int:
        """Bins used."""
        return int(self._attrs["n_bins"])

    @property
    def bin_size(self) -> int:
        """Bin side, pixels."""
        return int(self._attrs["bin_size"])

    @property
    def reason(self) -> str:
        """Why there is no answer (empty when there is one)."""
        return "" if self.success else self.message


def uniformity(emap: ElementMap, element: str, *, reference: str = "Ni", bin_size: int = 4, mask: Any = None,
               covered_only: bool = True, threshold: Any = None, min_counts: float = 5.0) -> Uniformity:
    """Coefficient of variation of element/(element + reference) on binned particle pixels.

    The maps are summed over ``bin_size`` × ``bin_size`` bins (from the top
    left corner; a ragged edge is dropped); only bins whose pixels all lie in
    the mask are kept. The default mask is the particle mask and, with
    ``covered_only``, the pixels the coating covers (see :func:`coverage`),
    so the CV describes how even the coating is where it is present and
    :func:`coverage` how much of the surface it reaches.

    Parameters
    ----------
    emap : ElementMap
    element : str
        The coating element.
    reference : str
        The substrate element of the ratio.
    bin_size : int
        Bin side, pixels.
    mask : array of bool, optional
        Pixels to use (default: the covered particle pixels).
    covered_only : bool
        With the default mask, keep only the pixels the coating covers.
    threshold, min_counts
        Of the covered pixels, as in :func:`coverage`.

    Returns
    -------
    Uniformity
        Falsy with ``reason`` when fewer than two bins qualify.

    Notes
    -----
    The CV estimates the coating's unevenness, the population coefficient
    of variation σ/μ of the expected ratio r = element/(element + reference)
    of which the map's n bins are a sample. For bin j with element counts
    Aⱼ and reference counts Rⱼ, rⱼ = Aⱼ / Tⱼ, Tⱼ = Aⱼ + Rⱼ.

    *Value.* The sample variance s² (ddof = 1) of the rⱼ holds, besides σ²,
    the counting noise of each ratio: given Tⱼ, Aⱼ is binomial, so
    var(rⱼ) = rⱼ (1 − rⱼ) / Tⱼ; its mean over the bins, v̄, is subtracted.
    CV = √max(s² − v̄, 0) / (c₄(n) r̄), where r̄ is the mean ratio and
    c₄(n) = √(2/(n−1)) Γ(n/2)/Γ((n−1)/2) removes the bias of a standard
    deviation of normal data (about 1 − 1/(4n)).

    *Standard error.* The CV's sampling distribution is skewed for a few
    bins (from 2 bins the spread can hardly be told), so a delta-method
    error proportional to the estimate would state intervals that miss
    the truth whenever the estimate falls low. Instead, (n − 1) s²/σ² is
    χ² with n − 1 degrees of freedom (normal bins): its 2.5 % and 97.5 %
    points give the exact 95 % interval [L, U] of σ² (after the counting
    noise v̄ is subtracted), hence of the CV; the standard error is its
    half-width, (U − L) / (2 × 1.96), on the CV scale. For many bins it
    becomes the delta-method error CV / √(2 (n − 1)); the mean's own
    sampling error, CV² / √n relative, is added in quadrature. The bins are
    taken to be independent (they are ``bin_size`` pixels apart; choose a
    bin larger than the coating's patchiness if they are not).

    Examples
    --------
    >>> from ncmsurf.datasets.coating import synthetic_map
    >>> m = synthetic_map(coverage=0.9, cv=0.15, seed=3)
    >>> u = uniformity(m, "Al")
    >>> bool(abs(u.cv - m.meta["truth"]["cv"]) < 3 * u.value_stderr)
    True
    """
    m = _emap(emap)
    a = _element(m, element)
    r = _element(m, reference)
    b = int(bin_size)
    if b < 1:
        raise ValidationError(f"bin_size: expected a positive integer, got {bin_size}")
    if mask is None:
        pm = particle_mask(m, _substrate(m, element))
        if covered_only:
            pm = pm & _presence(a, threshold, min_counts)[0]
    else:
        pm = _mask(mask, m.shape)
    ny, nx = m.shape[0] // b, m.shape[1] // b

    def fail(reason: str, n: int = 0) -> Uniformity:
        return Uniformity.make(element, reference, float("nan"), float("nan"), n, b, reason=reason)

    if not pm.any():
        return fail("the mask is empty: no particle pixels" + (" covered by " + element if covered_only and
                                                              mask is None else ""))
    if ny == 0 or nx == 0:
        return fail(f"bin_size {b} is larger than the map {m.shape}")

    def binsum(x: np.ndarray) -> np.ndarray:
        return x[:ny * b, :nx * b].reshape(ny, b, nx, b).sum(axis=(1, 3))  # type: ignore[no-any-return]

    full = binsum(pm.astype(float)) == b * b
    sa, sr = binsum(a)[full], binsum(r)[full]
    tot = sa + sr
    ok = tot > 0
    if int(ok.sum()) < 2:
        return fail(f"only {int(ok.sum())} bin(s) of {b}x{b} pixels lie fully inside the mask; need at least 2",
                    int(ok.sum()))
    ratio = sa[ok] / tot[ok]
    mean = float(ratio.mean())
    if mean == 0:
        return fail(f"{element} is absent from every bin; the CV is undefined", int(ok.sum()))
    cv, se = _cv_estimate(ratio, tot[ok])
    return Uniformity.make(element, reference, cv, mean, int(ok.sum()), b, stderr=se)


def _c4(n: int) -> float:
    """Bias factor of the sample standard deviation (ddof = 1) of n normal values."""
    return math.exp(0.5 * math.log(2.0 / (n - 1)) + math.lgamma(n / 2.0) - math.lgamma((n - 1) / 2.0))


def _cv_estimate(ratio: np.ndarray, total: np.ndarray) -> tuple[float, float]:
    """Noise-corrected CV of the bins' ratios and its standard error (see :func:`uniformity`)."""
    from scipy import stats

    n = int(ratio.size)
    mean = float(ratio.mean())
    s2 = float(ratio.var(ddof=1))
    noise = float(np.mean(ratio * (1.0 - ratio) / total))
    c4 = _c4(n)
    cv = math.sqrt(max(s2 - noise, 0.0)) / (c4 * mean)
    dof = n - 1
    lo_q, hi_q = float(stats.chi2.ppf(0.025, dof)), float(stats.chi2.ppf(0.975, dof))
    var_hi = max(dof * s2 / lo_q - noise, 0.0)  # sigma^2 at the interval's upper end
    var_lo = max(dof * s2 / hi_q - noise, 0.0)
    half = (math.sqrt(var_hi) - math.sqrt(var_lo)) / (2.0 * 1.959963984540054) / mean
    se = math.sqrt(half**2 + cv**4 / n)
    return cv, se


def correlation(emap: Any, a: Any, b: Any, *, mask: Any = None) -> float:
    """Pearson correlation coefficient between two element maps.

    Parameters
    ----------
    emap : ElementMap or None
        Source of the maps when ``a``/``b`` are element names.
    a, b : str or 2-D array
        Element names in ``emap`` or arrays of the same shape.
    mask : array of bool, optional
        Restrict to these pixels.

    Raises
    ------
    ValidationError
        Maps of different shapes, an empty mask, or a constant map (r undefined).

    Examples
    --------
    >>> import numpy as np
    >>> m = ElementMap({"Al": np.arange(6.0).reshape(2, 3), "Ni": -np.arange(6.0).reshape(2, 3)})
    >>> correlation(m, "Al", "Ni")
    -1.0
    """
    def get(x: Any, name: str) -> np.ndarray:
        if isinstance(x, str):
            if emap is None:
                raise ValidationError(f"correlation: {name}={x!r} is a name but no ElementMap was given")
            return _element(_emap(emap), x)
        arr = np.asarray(x, dtype=float)
        if arr.ndim != 2:
            raise ValidationError(f"correlation: {name} must be a 2-D map, got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValidationError(f"correlation: {name} contains non-finite values")
        return arr

    xa, xb = get(a, "a"), get(b, "b")
    if xa.shape != xb.shape:
        raise ValidationError(f"correlation: maps of different shapes {xa.shape} and {xb.shape}")
    if mask is not None:
        mk = _mask(mask, xa.shape)  # type: ignore[arg-type]
        if not mk.any():
            raise ValidationError("correlation: the mask is empty")
        xa, xb = xa[mk], xb[mk]
    xa, xb = xa.ravel(), xb.ravel()
    if xa.size < 2:
        raise ValidationError("correlation: need at least two pixels")
    da, db = xa - xa.mean(), xb - xb.mean()
    den = math.sqrt(float(np.dot(da, da)) * float(np.dot(db, db)))
    if den == 0:
        raise ValidationError("correlation: one map is constant over the pixels used; Pearson r is undefined")
    return float(np.clip(np.dot(da, db) / den, -1.0, 1.0))


def _largest_centroid(mask: np.ndarray) -> tuple[float, float]:
    lab, n = ndimage.label(mask)
    if n == 0:
        raise ValidationError("no particle found to centre the radial profile on (empty mask)")
    sizes = np.bincount(lab.ravel())
    sizes[0] = 0
    k = int(np.argmax(sizes))
    cy, cx = ndimage.center_of_mass(lab == k)
    return float(cy), float(cx)


def radial_profile(emap: ElementMap, element: str, *, center: Any = None, mask: Any = None,
                   bin_width: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Azimuthally averaged counts of ``element`` against distance from a particle centre.

    Parameters
    ----------
    center : (row, col), optional
        Pixels; default the centroid of the largest region of ``mask``
        (default :func:`particle_mask` on all elements).
    bin_width : float
        Radial bin, pixels.

    Returns
    -------
    radius, mean : ndarray
        Radius in nm when the map has a pixel size, else in pixels.

    Examples
    --------
    >>> from ncmsurf.datasets.coating import synthetic_shell
    >>> r, y = radial_profile(synthetic_shell(radius=60, shell=10, pixel_size=2), "Al", center=(63.5, 63.5))
    >>> bool(60 < r[y.argmax()] < 70)
    True
    """
    m = _emap(emap)
    v = _element(m, element)
    if center is None:
        pm = particle_mask(m) if mask is None else _mask(mask, m.shape)
        cy, cx = _largest_centroid(pm)
    else:
        cy, cx = (float(c) for c in center)
    if bin_width <= 0:
        raise ValidationError("bin_width: expected a positive number of pixels")
    yy, xx = np.indices(m.shape)
    rr = np.hypot(yy - cy, xx - cx) / bin_width
    k = np.floor(rr).astype(np.int64).ravel()
    cnt = np.bincount(k)
    tot = np.bincount(k, weights=v.ravel())
    ok = cnt > 0
    radius = (np.arange(cnt.size)[ok] + 0.5) * bin_width
    scale = m.pixel_size or 1.0
    return radius * scale, tot[ok] / cnt[ok]


class ShellWidth(ScalarResult):
    """FWHM of a shell's peak in a radial line profile (nm, or pixels without a pixel size).

    An :class:`ncmsurf.FitResult`; ``peak_radius`` is the middle of the two
    half-maximum points. ``value_stderr`` is the resolution of the two
    interpolated half-maximum points, one radial bin / √12 each, in
    quadrature (bin width × pixel size × √(2/12)).
    """

    __slots__ = ()

    @classmethod
    def make(cls, element: str, fwhm: float, peak_radius: float, unit: str, reason: str = "",
             bin_width: float = math.nan) -> ShellWidth:
        """Build a shell-width result (``bin_width`` in the result's unit)."""
        se = bin_width * math.sqrt(2.0 / 12.0) if not reason else math.nan
        return cls.build(names=["fwhm", "peak_radius"], values=[fwhm, peak_radius], stderr=[se, se / math.sqrt(2)],
                         units=[unit, unit], success=not reason, message=reason, quality=_quality(reason),
                         model="radial-fwhm", attrs={"element": element, "unit": unit})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> FitResult:
        """Rebuild from :meth:`to_dataset` output (also the attribute-only form of older files)."""
        if "value" in ds.variables:
            return super().from_dataset(ds)
        a = ds.attrs
        out = cls.make(str(a["element"]), float(a["fwhm"]), float(a["peak_radius"]), str(a["unit"]),
                       str(a["reason"]))
        return out if out.reason else out.replace(quality=legacy_quality(True))

    @property
    def element(self) -> str:
        """Shell element."""
        return str(self._attrs["element"])

    @property
    def fwhm(self) -> float:
        """Shell FWHM."""
        return self.value

    @property
    def peak_radius(self) -> float:
        """Radius of the shell's peak."""
        return self.values["peak_radius"]

    @property
    def unit(self) -> str:
        """``"nm"`` or ``"px"``."""
        return str(self._attrs["unit"])

    @property
    def reason(self) -> str:
        """Why there is no answer (empty when there is one)."""
        return "" if self.success else self.message


def shell_width(emap: ElementMap, element: str, *, center: Any = None, mask: Any = None,
                bin_width: float = 1.0) -> ShellWidth:
    """Shell thickness as the FWHM of the element's peak in the radial line profile.

    The half maximum is taken above the lower of the profile's inner and
    outer minima and located by linear interpolation on both flanks.

    Returns
    -------
    ShellWidth
        Falsy with ``reason`` when the peak has no half-maximum on one side.

    Examples
    --------
    >>> from ncmsurf.datasets.coating import synthetic_shell
    >>> m = synthetic_shell(radius=80, shell=12, pixel_size=2, seed=0)
    >>> abs(shell_width(m, "Al").fwhm - 12) < 2
    True
    """
    m = _emap(emap)
    r, y = radial_profile(m, element, center=center, mask=mask, bin_width=bin_width)
    unit = "nm" if m.pixel_size else "px"
    k = int(np.argmax(y))
    peak = float(y[k])
    base = float(min(y[:k + 1].min(), y[k:].min()))
    if peak <= base:
        return ShellWidth.make(element, float("nan"), float("nan"), unit,
                               reason=f"{element}: flat radial profile; no shell")
    half = base + 0.5 * (peak - base)
    left = np.flatnonzero(y[:k] < half)
    right = np.flatnonzero(y[k:] < half)
    if left.size == 0 or right.size == 0:
        side = "inner" if left.size == 0 else "outer"
        return ShellWidth.make(element, float("nan"), float(r[k]), unit,
                          reason=f"{element}: the peak does not fall to half maximum on the {side} side")
    i = int(left[-1])
    j = k + int(right[0])
    rl = r[i] + (half - y[i]) * (r[i + 1] - r[i]) / (y[i + 1] - y[i])
    rr_ = r[j - 1] + (y[j - 1] - half) * (r[j] - r[j - 1]) / (y[j - 1] - y[j])
    scale = m.pixel_size or 1.0
    return ShellWidth.make(element, float(rr_ - rl), float(0.5 * (rr_ + rl)), unit, bin_width=bin_width * scale)
