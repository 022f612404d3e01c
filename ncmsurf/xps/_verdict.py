"""The verdict on an XPS fit: the checks shared by single-spectrum and stack fits.

A fit is **failed** when the optimiser did not converge, the parameters are
not finite, or no main component has a positive area. It is **suspect** when
any of these checks raises a concern (each gives a coded reason):

* ``at_bound``: a free position, width, shape, splitting, ratio or offset
  parameter ended within 1e-4 of its bound interval (areas have no upper
  bound; an area at 0 is ``degenerate``);
* ``degenerate``: a main component holds less than
  :data:`DEGENERATE_SHARE` (1 %) of the main-component area, or its width
  collapsed onto its lower bound;
* ``unidentifiable``: a free peak parameter of a non-degenerate component
  has no finite standard error, an area's relative standard error exceeds
  100 %, or the column-scaled Jacobian is near-singular (condition > 1e12);
* ``poor_residual``: with Poisson weights (count data), χ² above its
  99.9 % quantile for the degrees of freedom *and* a reduced χ² above 1.5
  (:func:`ncmsurf.core.fitting.check_chi2`); data that are not counts have
  no absolute noise level and skip this check;
* ``systematic_residual``: the signs of the weighted residual run in long
  blocks (Wald–Wolfowitz runs test, p < 1e-3).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from scipy import stats

from ncmsurf.core.fitting import check_runs, runs_test
from ncmsurf.xps._engine import Compiled

__all__ = ["CHI2_ALPHA", "DEGENERATE_SHARE", "REASON_BITS", "RUNS_ALPHA", "assess", "bits_to_codes", "to_bits"]

DEGENERATE_SHARE = 0.01
"""A main component below this share of the main-component area is ``degenerate``."""
CHI2_ALPHA = 1e-3
"""Level of the χ² test behind ``poor_residual`` (with reduced χ² > 1.5 as well)."""
RUNS_ALPHA = 1e-3
"""Level of the runs test behind ``systematic_residual``."""
MAX_CONDITION = 1e12

REASON_BITS = ("not_converged", "at_bound", "degenerate", "unidentifiable", "poor_residual", "systematic_residual",
               "not_resolved", "input")
"""Reason codes by bit (stack fits store a bit mask per spectrum)."""

Reasons = list[tuple[str, str]]


@lru_cache(maxsize=64)
def _chi2_limit(dof: int) -> float:
    return float(stats.chi2.ppf(1.0 - CHI2_ALPHA, dof))


def bits_to_codes(mask: int) -> list[str]:
    """The reason codes of a stack fit's bit mask.

    Examples
    --------
    >>> bits_to_codes(0b10010)
    ['at_bound', 'poor_residual']
    """
    return [c for i, c in enumerate(REASON_BITS) if int(mask) >> i & 1]


def assess(cm: Compiled, p: np.ndarray, stderr: np.ndarray, at_lower: np.ndarray, at_upper: np.ndarray,
           areas: np.ndarray, area_stderr: np.ndarray, *, success: bool, message: str, chisqr: float, dof: int,
           residual: np.ndarray, counts: bool, condition: float = math.nan,
           detail: bool = True, fail_code: str = "not_converged") -> tuple[Reasons, Reasons]:
    """``(failed, suspect)`` reasons of one fit.

    ``p``/``stderr``/``at_lower``/``at_upper`` cover the free peak parameters
    first (``cm.names``), then any background parameters; ``areas`` are per
    component (main ones first). With ``detail=False`` the messages are
    short (used per spectrum of a stack, where only the codes are kept).
    ``fail_code`` is the code of an unsuccessful fit (``"not_resolved"`` when
    the fit was not attempted for lack of signal).
    """
    failed: Reasons = []
    suspect: Reasons = []
    npk = cm.nfree
    if not success:
        failed.append((fail_code, message or "the optimiser did not converge"))
        return failed, suspect
    if not np.all(np.isfinite(p)):
        failed.append(("not_converged", "the fitted parameters are not finite"))
        return failed, suspect
    nm = len(cm.main)
    main = areas[:nm]
    total = float(np.sum(main))
    if not total > 0:
        failed.append(("degenerate", "no component has a positive area (no signal for this model)"))
        return failed, suspect
    names = cm.names
    degenerate: set[str] = set()
    for k, comp in enumerate(cm.main):
        share = float(main[k]) / total
        if share < DEGENERATE_SHARE:
            degenerate.add(comp)
            suspect.append(("degenerate", f"{comp} holds {100 * share:.2g} % of the area (< "
                                          f"{100 * DEGENERATE_SHARE:g} %): the data do not support it" if detail
                            else comp))
    for i in range(npk):
        n = names[i]
        if n.endswith(".area"):
            continue
        comp = n.rsplit(".", 1)[0]
        if comp in degenerate:
            continue
        if at_lower[i] or at_upper[i]:
            side = "lower" if at_lower[i] else "upper"
            bound = cm.lo[i] if at_lower[i] else cm.hi[i]
            suspect.append(("at_bound", f"{n} = {p[i]:.4g} is at its {side} bound {bound:.4g}" if detail else n))
            if n.endswith(".fwhm") and at_lower[i]:
                suspect.append(("degenerate", f"{comp}: its width collapsed onto the lower bound" if detail
                                else comp))
    for i in range(npk):
        n = names[i]
        comp = n.rsplit(".", 1)[0]
        if comp in degenerate:
            continue
        se = float(stderr[i])
        if not math.isfinite(se):
            suspect.append(("unidentifiable", f"{n}: the data do not determine it (no finite standard error)"
                            if detail else n))
    for k, comp in enumerate(cm.main + cm.satellites):
        if comp in degenerate or k >= nm:
            continue
        a, se = float(areas[k]), float(area_stderr[k])
        if a > 0 and math.isfinite(se) and se > a:
            suspect.append(("unidentifiable", f"{comp} area: relative standard error {100 * se / a:.3g} % (> 100 %)"
                            if detail else comp))
    if math.isfinite(condition) and condition > MAX_CONDITION:
        suspect.append(("unidentifiable", f"the fit is near-singular (condition number {condition:.2g} > "
                                          f"{MAX_CONDITION:.0g})"))
    if counts and dof > 0 and math.isfinite(chisqr):
        red = chisqr / dof
        lim = _chi2_limit(dof)
        if chisqr > lim and red > 1.5:
            suspect.append(("poor_residual", f"reduced chi-square {red:.3g} with Poisson weights ({dof} degrees of "
                                             f"freedom; the noise allows up to {lim / dof:.2g})"))
    if detail:
        suspect.extend(check_runs(residual, alpha=RUNS_ALPHA, what="weighted residual"))
    elif runs_test(residual)[2] < RUNS_ALPHA:
        suspect.append(("systematic_residual", "runs test"))
    return failed, suspect


def to_bits(failed: Reasons, suspect: Reasons) -> tuple[int, int]:
    """``(level, mask)``: level 0 good, 1 suspect, 2 failed; mask of :data:`REASON_BITS`."""
    mask = 0
    for code, _ in failed + suspect:
        if code in REASON_BITS:
            mask |= 1 << REASON_BITS.index(code)
    return (2 if failed else 1 if suspect else 0), mask

