"""Seeded synthetic ToF-SIMS depth profiles and EDS maps with known truth.

Every generator stores its ground truth in ``meta["truth"]`` so tests,
notebooks and benchmarks can check an analysis against it.

Examples
--------
>>> p = synthetic_profile(coating_thickness=4.0, sputter_rate=0.05, width=1.0, seed=0)
>>> p.meta["truth"]["interface_depth"], p.sputter_rate
(4.0, 0.05)
>>> m = synthetic_map(coverage=0.8, cv=0.15, shape=(64, 64), seed=0)
>>> m.elements, round(m.meta["truth"]["coverage"], 2)
(['Al', 'Ni', 'Mn', 'Co'], 0.8)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy import ndimage
from scipy.special import erfc

from ncmsurf.core.errors import ValidationError
from ncmsurf.core.models import DepthProfile, ElementMap
from ncmsurf.core.sample import Sample
from ncmsurf.core.units import magnitude

__all__ = ["COATING_FRAGMENTS", "SUBSTRATE_FRAGMENTS", "synthetic_cycled_profile", "synthetic_map", "synthetic_profile",
           "synthetic_shell"]

COATING_FRAGMENTS: dict[str, float] = {"AlO-": 2.0e4, "AlO2-": 1.2e4, "LiF2-": 3.0e3}
"""Fragments that fall at the coating/NCM interface, with their plateau counts."""
SUBSTRATE_FRAGMENTS: dict[str, float] = {"NiO2-": 1.5e4, "MnO2-": 4.0e3, "NiF3-": 1.0e3}
"""Fragments that rise at the interface (NCM bulk), with their plateau counts."""


def synthetic_profile(*, coating_thickness: Any, sputter_rate: Any, width: Any, noise: float = 0.02,
                      seed: int = 0, sample: Sample | str | None = None, n_points: int = 400,
                      background: float = 0.01, depth_range: Any = None) -> DepthProfile:
    """A ToF-SIMS depth profile through a coating of known thickness on NCM.

    Coating fragments (:data:`COATING_FRAGMENTS`: AlO-, AlO2-, LiF2-) fall
    and substrate fragments (:data:`SUBSTRATE_FRAGMENTS`: NiO2-, MnO2-,
    NiF3-) rise as error functions centred on the interface; each fragment
    goes from its plateau to ``background`` × plateau.

    Truth (``meta["truth"]``): ``interface_depth`` = ``coating_thickness``
    (nm), ``interface_time`` = thickness / rate (s), ``width_16_84`` =
    ``width`` (nm; the 16–84 % distance, i.e. 2σ of the Gaussian roughness),
    ``noise``, ``background``.

    Parameters
    ----------
    coating_thickness : float or pint.Quantity
        nm.
    sputter_rate : float or pint.Quantity
        nm/s (stored on the profile).
    width : float or pint.Quantity
        16–84 % interface width, nm.
    noise : float
        Relative Gaussian noise (standard deviation as a fraction of the signal).
    seed : int
    sample : Sample or str, optional
    n_points : int
    background : float
        Far-side level as a fraction of the plateau.
    depth_range : float, optional
        Profile depth, nm (default 3 × thickness, at least thickness + 5 × width).

    Returns
    -------
    DepthProfile
    """
    d = magnitude(coating_thickness, "nm", name="coating_thickness")
    rate = magnitude(sputter_rate, "nm/s", name="sputter_rate")
    w = magnitude(width, "nm", name="width")
    for val, nm in ((d, "coating_thickness"), (rate, "sputter_rate"), (w, "width")):
        if not math.isfinite(val) or val <= 0:
            raise ValidationError(f"{nm}: expected a finite positive value, got {val}")
    if not 0 <= noise < 1:
        raise ValidationError(f"noise: expected a relative noise in [0, 1), got {noise}")
    if n_points < 10:
        raise ValidationError("n_points: expected at least 10")
    zmax = magnitude(depth_range, "nm", name="depth_range") if depth_range is not None else max(3 * d, d + 5 * w)
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, zmax / rate, n_points)
    z = t * rate
    sigma = w / 2.0
    fall = 0.5 * erfc((z - d) / (math.sqrt(2.0) * sigma))
    inten: dict[str, np.ndarray] = {}
    for frags, shape in ((COATING_FRAGMENTS, fall), (SUBSTRATE_FRAGMENTS, 1.0 - fall)):
        for name, top in frags.items():
            clean = top * (background + (1.0 - background) * shape)
            noisy = clean * (1.0 + noise * rng.standard_normal(n_points))
            inten[name] = np.clip(noisy, 0.0, None)
    truth = {"interface_depth": d, "interface_time": d / rate, "width_16_84": w, "sputter_rate": rate,
             "noise": float(noise), "background": float(background), "seed": int(seed)}
    return DepthProfile(t, inten, sample=sample, sputter_rate=rate,
                        meta={"truth": truth, "source": "ncmsurf.datasets.coating.synthetic_profile"})


def synthetic_cycled_profile(*, coating_thickness: Any, cei_thickness: Any, sputter_rate: Any, width: Any,
                             cei_level: float = 4.0, noise: float = 0.02, seed: int = 0,
                             sample: Sample | str | None = None, n_points: int = 400, background: float = 0.01,
                             depth_range: Any = None) -> DepthProfile:
    """A depth profile after cycling: a fluoride-rich surface film (CEI) over the coating on NCM.

    The coating and substrate fragments are those of :func:`synthetic_profile`
    (the coating's 50 % fall at ``coating_thickness``; a thickness of 0 is an
    uncoated particle: coating fragments at ``background`` throughout). The
    fluoride fragments of the electrolyte's decomposition (LiF2-, NiF3-) gain
    ``cei_level`` × their plateau in the top ``cei_thickness`` nm, falling as
    an error function of the same width; the film is taken to be mixed into
    the coating's surface, so the coating interface stays where it was.

    Truth (``meta["truth"]``): ``interface_depth`` (the coating's, nm; NaN
    when uncoated), ``cei_depth`` (nm), ``width_16_84``, ``sputter_rate``,
    ``noise``, ``background``.

    Examples
    --------
    >>> p = synthetic_cycled_profile(coating_thickness=0.0, cei_thickness=1.5, sputter_rate=0.01, width=0.3)
    >>> p.meta["truth"]["cei_depth"], bool(p["LiF2-"][0] > 2 * p["LiF2-"][-1])
    (1.5, True)
    """
    d = magnitude(coating_thickness, "nm", name="coating_thickness")
    c = magnitude(cei_thickness, "nm", name="cei_thickness")
    rate = magnitude(sputter_rate, "nm/s", name="sputter_rate")
    w = magnitude(width, "nm", name="width")
    for val, nm in ((rate, "sputter_rate"), (w, "width"), (c, "cei_thickness")):
        if not math.isfinite(val) or val <= 0:
            raise ValidationError(f"{nm}: expected a finite positive value, got {val}")
    if not math.isfinite(d) or d < 0:
        raise ValidationError(f"coating_thickness: expected a finite value >= 0, got {d}")
    if not 0 <= noise < 1:
        raise ValidationError(f"noise: expected a relative noise in [0, 1), got {noise}")
    if n_points < 10:
        raise ValidationError("n_points: expected at least 10")
    zmax = (magnitude(depth_range, "nm", name="depth_range") if depth_range is not None
            else max(3 * max(d, c), max(d, c) + 5 * w))
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, zmax / rate, n_points)
    z = t * rate
    sigma = w / 2.0
    fall = 0.5 * erfc((z - d) / (math.sqrt(2.0) * sigma)) if d > 0 else np.zeros_like(z)
    film = 0.5 * erfc((z - c) / (math.sqrt(2.0) * sigma))
    inten: dict[str, np.ndarray] = {}
    for frags, shape in ((COATING_FRAGMENTS, fall), (SUBSTRATE_FRAGMENTS, 1.0 - fall)):
        for name, top in frags.items():
            clean = top * (background + (1.0 - background) * shape)
            if name in ("LiF2-", "NiF3-"):
                clean = clean + cei_level * top * film
            noisy = clean * (1.0 + noise * rng.standard_normal(n_points))
            inten[name] = np.clip(noisy, 0.0, None)
    truth = {"interface_depth": d if d > 0 else float("nan"), "cei_depth": c, "width_16_84": w,
             "sputter_rate": rate, "noise": float(noise), "background": float(background), "seed": int(seed)}
    return DepthProfile(t, inten, sample=sample, sputter_rate=rate,
                        meta={"truth": truth, "source": "ncmsurf.datasets.coating.synthetic_cycled_profile"})


def _discs(shape: tuple[int, int], rng: np.random.Generator, n: int, rmin: float, rmax: float) -> np.ndarray:
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    mask = np.zeros(shape, dtype=bool)
    placed: list[tuple[float, float, float]] = []
    tries = 0
    while len(placed) < n and tries < 2000:
        tries += 1
        r = rng.uniform(rmin, rmax)
        cy, cx = rng.uniform(r + 1, shape[0] - r - 1), rng.uniform(r + 1, shape[1] - r - 1)
        if any(math.hypot(cy - y, cx - x) < r + q + 2 for y, x, q in placed):
            continue
        placed.append((cy, cx, r))
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    return mask


_CLIP = 2.5
_CLIPPED_SD = math.sqrt(math.erf(_CLIP / math.sqrt(2.0))
                        - 2.0 * _CLIP * math.exp(-_CLIP**2 / 2.0) / math.sqrt(2.0 * math.pi)
                        + _CLIP**2 * math.erfc(_CLIP / math.sqrt(2.0)))
"""Standard deviation of a standard normal variable clipped at +-_CLIP."""


def synthetic_map(*, coverage: float, cv: float, shape: tuple[int, int] = (128, 128), pixel_size: Any = 20.0,
                  seed: int = 0, sample: Sample | str | None = None, counts: float = 400.0,
                  mean_ratio: float = 0.4, bin_size: int = 4, n_particles: int | None = None) -> ElementMap:
    """EDS maps of NCM particles partly covered by an Al-rich coating, with known truth.

    Particles are discs (Ni:Mn:Co = 8:1:1, ``counts`` Ni+Mn+Co counts per
    pixel). A fraction ``coverage`` of the particle pixels (patches of a
    smooth random field) carries Al. On the covered pixels the expected ratio
    Al/(Al+Ni) is constant within each ``bin_size`` × ``bin_size`` bin and
    varies between bins, independently, as ``mean_ratio`` × (1 + ``cv`` z)
    with z a standard normal deviation clipped at ±2.5 (so every covered
    pixel keeps a clear Al signal) and rescaled to unit variance: the
    population coefficient of variation of the expected ratio is exactly
    ``cv`` (the coating's unevenness), and the bins of one map are a sample
    of it. Counts are Poisson; background pixels and uncovered particle
    pixels have ~0.3 counts of Al and ~1 count of each metal outside
    particles.

    Truth (``meta["truth"]``): ``coverage`` (covered / particle pixels,
    exact), ``cv`` (the population CV of the expected ratio, ``cv``; NaN if
    the ratio's clip to [0.01, 0.95] binds), ``cv_realized`` (the CV,
    ddof = 0, of the expected ratio over this map's fully covered bins),
    ``mean_ratio``, ``bin_size``, ``particle_fraction`` and the masks
    ``particle_mask`` and ``covered_mask``.

    Parameters
    ----------
    coverage : float
        In [0, 1].
    cv : float
        In [0, 0.3] (larger values would need negative ratios).
    shape : (int, int)
    pixel_size : float or pint.Quantity
        nm.
    seed : int
    sample : Sample or str, optional
    counts : float
        Expected transition-metal counts per particle pixel.
    mean_ratio : float
        Mean Al/(Al+Ni) on covered pixels.
    bin_size : int
    n_particles : int, optional
        Default: about one per 1500 pixels.

    Returns
    -------
    ElementMap
        Elements ``Al, Ni, Mn, Co``.
    """
    if not 0.0 <= coverage <= 1.0:
        raise ValidationError(f"coverage: expected a fraction in [0, 1], got {coverage}")
    if not 0.0 <= cv <= 0.3:
        raise ValidationError(f"cv: expected a coefficient of variation in [0, 0.3], got {cv}")
    if not 0.0 < mean_ratio < 1.0:
        raise ValidationError(f"mean_ratio: expected a value in (0, 1), got {mean_ratio}")
    ny, nx = (int(shape[0]), int(shape[1]))
    if ny < 16 or nx < 16:
        raise ValidationError(f"shape: expected at least 16 x 16 pixels, got {shape}")
    px = magnitude(pixel_size, "nm", name="pixel_size")
    rng = np.random.default_rng(seed)
    n_part = n_particles if n_particles is not None else max(1, (ny * nx) // 1500)
    rmax = min(ny, nx) / 6.0
    particles = _discs((ny, nx), rng, n_part, 0.6 * rmax, rmax)
    npart = int(particles.sum())
    # coverage: top `coverage` fraction of a smooth random field over particle pixels
    field = ndimage.gaussian_filter(rng.standard_normal((ny, nx)), sigma=3.0)
    covered = np.zeros_like(particles)
    ncov = int(round(coverage * npart))
    if ncov:
        idx = np.flatnonzero(particles.ravel())
        order = idx[np.argsort(field.ravel()[idx])[::-1]]
        covered.ravel()[order[:ncov]] = True
    # ratio field: one value per bin, standardised on the fully covered bins
    b = int(bin_size)
    by, bx = ny // b, nx // b
    full = covered[:by * b, :bx * b].reshape(by, b, bx, b).all(axis=(1, 3))
    # independent bin deviations with population mean 0 and sd 1: a standard normal clipped at +-2.5,
    # divided by the clipped variable's own sd, so the population CV of the expected ratio is `cv`
    z = np.clip(rng.standard_normal((by, bx)), -_CLIP, _CLIP) / _CLIPPED_SD
    ratio_bins = np.clip(mean_ratio * (1.0 + cv * z), 0.01, 0.95)
    ratio = np.full((ny, nx), mean_ratio)
    ratio[:by * b, :bx * b] = np.kron(ratio_bins, np.ones((b, b)))
    lam_ni = np.where(particles, 0.8 * counts, 1.0)
    lam_mn = np.where(particles, 0.1 * counts, 1.0)
    lam_co = np.where(particles, 0.1 * counts, 1.0)
    lam_al = np.where(covered, 0.8 * counts * ratio / (1.0 - ratio), 0.3)
    maps = {"Al": rng.poisson(lam_al), "Ni": rng.poisson(lam_ni), "Mn": rng.poisson(lam_mn),
            "Co": rng.poisson(lam_co)}
    exp_ratio = ratio_bins[full]
    realized_cv = float(exp_ratio.std() / exp_ratio.mean()) if exp_ratio.size >= 2 else float("nan")
    lo, hi = mean_ratio * (1.0 - cv * _CLIP / _CLIPPED_SD), mean_ratio * (1.0 + cv * _CLIP / _CLIPPED_SD)
    truth_cv = float(cv) if lo >= 0.01 and hi <= 0.95 else float("nan")  # NaN where the ratio clip binds
    truth = {"coverage": ncov / npart if npart else float("nan"), "cv": truth_cv, "cv_realized": realized_cv,
             "mean_ratio": float(mean_ratio),
             "bin_size": b, "particle_fraction": npart / (ny * nx), "particle_mask": particles,
             "covered_mask": covered, "seed": int(seed)}
    return ElementMap({k: v.astype(np.int64) for k, v in maps.items()}, pixel_size=px, sample=sample,
                      meta={"truth": truth, "source": "ncmsurf.datasets.coating.synthetic_map"})


def synthetic_shell(*, radius: Any, shell: Any, shape: tuple[int, int] = (128, 128), pixel_size: Any = 2.0,
                    counts: float = 200.0, blur: Any = 0.0, seed: int = 0,
                    sample: Sample | str | None = None) -> ElementMap:
    """Cross-section map of one particle (Ni core) with an Al shell of known thickness.

    Ni fills the disc of ``radius``, Al the annulus from ``radius`` to
    ``radius + shell`` (both nm), optionally blurred by a Gaussian of
    ``blur`` nm (beam spread), with Poisson counts.

    Truth (``meta["truth"]``): ``shell`` (nm), ``radius`` (nm), ``center`` (row, col in pixels).

    Examples
    --------
    >>> m = synthetic_shell(radius=80, shell=10, pixel_size=2)
    >>> m.meta["truth"]["shell"]
    10.0
    """
    r = magnitude(radius, "nm", name="radius")
    t = magnitude(shell, "nm", name="shell")
    px = magnitude(pixel_size, "nm", name="pixel_size")
    bl = magnitude(blur, "nm", name="blur")
    if r <= 0 or t <= 0 or px <= 0 or bl < 0:
        raise ValidationError("radius, shell, pixel_size must be positive and blur >= 0")
    ny, nx = int(shape[0]), int(shape[1])
    if (r + t) / px * 2 >= min(ny, nx):
        raise ValidationError("the particle does not fit in the map; increase shape or pixel_size")
    rng = np.random.default_rng(seed)
    cy, cx = (ny - 1) / 2.0, (nx - 1) / 2.0
    # 4x supersampling for smooth edges
    ss = 4
    yy, xx = np.mgrid[0:ny * ss, 0:nx * ss]
    rr = np.hypot((yy + 0.5) / ss - 0.5 - cy, (xx + 0.5) / ss - 0.5 - cx) * px
    core = (rr <= r).reshape(ny, ss, nx, ss).mean(axis=(1, 3))
    ring = ((rr > r) & (rr <= r + t)).reshape(ny, ss, nx, ss).mean(axis=(1, 3))
    if bl > 0:
        core = ndimage.gaussian_filter(core, bl / px)
        ring = ndimage.gaussian_filter(ring, bl / px)
    maps = {"Al": rng.poisson(counts * ring + 0.2), "Ni": rng.poisson(counts * core + 0.2)}
    truth = {"shell": t, "radius": r, "center": (cy, cx), "blur": bl, "seed": int(seed)}
    return ElementMap(maps, pixel_size=px, sample=sample,
                      meta={"truth": truth, "source": "ncmsurf.datasets.coating.synthetic_shell"})
