"""Circuit choice: a ladder of Randles-type circuits ranked by an information criterion.

Each candidate is fitted with :func:`ncmsurf.eis.fit` (automatic guess,
multi-start). A candidate whose verdict is ``degenerate`` (an element
collapsed: a resistance → 0 or ∞, a CPE exponent pinned at 1, an arc
outside the measured range) describes the data with fewer elements than it
has, so it ranks after every sound candidate, and so does one with an
``at_bound`` or ``unidentifiable`` parameter; failed fits rank last. Inside
each group the criterion (AIC or BIC, lower is better) orders them.

Physical names follow the number of resolved arcs: with one arc it is the
charge-transfer arc (``R_s``, ``R_ct``, ``Q_dl``/``C_dl``, ``alpha_dl``,
``sigma_W``); with two, the high-frequency arc is the surface film (``R_SEI``,
``Q_SEI``, ``alpha_SEI``) and the low-frequency one charge transfer. When the
best circuit has one arc, ``named`` has no ``R_SEI`` and the verdict says so
(``not_resolved``).

Examples
--------
>>> from ncmsurf.datasets.eis import synthetic_spectrum
>>> spec = synthetic_spectrum("R0-p(R1,CPE1)", {"R0": 5.0, "R1": 40.0, "CPE1_0": 1e-4, "CPE1_1": 0.85}, seed=1)
>>> table, best = select_circuit(spec)
>>> best.circuit, "R_SEI" in best.named
('R0-p(R1,CPE1)', False)
>>> str(table["circuit"].values[0])
'R0-p(R1,CPE1)'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ncmsurf.core.errors import FitError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.eis._fit import CircuitFit, fit_circuit

__all__ = ["CANDIDATES", "select_circuit"]

_ONE = {"R0": "R_s", "R1": "R_ct", "C1": "C_dl", "CPE1_0": "Q_dl", "CPE1_1": "alpha_dl", "W1": "sigma_W"}
_TWO = {"R0": "R_s", "R1": "R_SEI", "CPE1_0": "Q_SEI", "CPE1_1": "alpha_SEI", "R2": "R_ct", "W1": "sigma_W",
        "CPE2_0": "Q_dl", "CPE2_1": "alpha_dl"}

#: The default ladder: circuit string → physical names (one arc: charge transfer; two: film + charge transfer).
CANDIDATES: dict[str, dict[str, str]] = {
    "R0-p(R1,C1)": dict(_ONE),
    "R0-p(R1,CPE1)": dict(_ONE),
    "R0-p(R1,CPE1)-p(R2,CPE2)": dict(_TWO),
    "R0-p(R1-W1,C1)": dict(_ONE),
    "R0-p(R1-W1,CPE1)": dict(_ONE),
    "R0-p(R1,CPE1)-p(R2-W1,CPE2)": dict(_TWO),
}

_CRITERIA = ("aic", "bic")
#: Reasons that put a candidate after the sound ones: it has more elements than the data resolve.
_DEMOTE = ("degenerate", "at_bound", "unidentifiable")


def _arcs(circuit: str) -> int:
    from ncmsurf.eis._circuits import parse_circuit

    return sum(1 for n in parse_circuit(circuit)[1] if n[0] == "p")


def select_circuit(
    spectrum: ImpedanceSpectrum,
    candidates: Sequence[str] | None = None,
    *,
    criterion: str = "aic",
    **kw: Any,
) -> tuple[xr.Dataset, CircuitFit]:
    """Fit a ladder of candidate circuits and rank them.

    Parameters
    ----------
    spectrum : ImpedanceSpectrum
    candidates : sequence of str, optional
        impedance.py circuit strings (default :data:`CANDIDATES`: R-RC,
        R-(R‖CPE), R-(R‖CPE)-(R‖CPE), each also with a Warburg in series
        with the charge-transfer resistance). Circuits of the default ladder
        carry its physical names; others their presets' or none.
    criterion : {"aic", "bic"}
        Information criterion (lower is better) inside each verdict group.
    **kw
        Passed to :func:`ncmsurf.eis.fit` (``weighting``, ``capacitive_only``,
        ``fmin``, ``multistart``, ``kk``, ...).

    Returns
    -------
    (table, best) : (xarray.Dataset, CircuitFit)
        ``table`` over ``rank`` (best first): ``circuit``, ``aic``, ``bic``,
        ``chi2``, ``relative_residual``, ``n_params``, ``arcs``, ``quality``
        (level), ``reasons`` (codes, comma-separated); ``attrs["criterion"]``
        and ``attrs["best"]``. ``best`` is the first row's fit; when it has a
        single arc its verdict adds ``not_resolved`` (no ``R_SEI``).

    Raises
    ------
    FitError
        Unknown criterion, an empty candidate list, or a spectrum no
        candidate can be fitted to.
    """
    if criterion not in _CRITERIA:
        raise FitError(f"criterion: must be one of {_CRITERIA}, got {criterion!r}")
    cands = list(CANDIDATES) if candidates is None else [str(c).replace(" ", "") for c in candidates]
    if not cands:
        raise FitError("candidates: empty list")
    kw.pop("physical_names", None)
    fits: list[CircuitFit] = []
    for circ in cands:
        names = CANDIDATES.get(circ)
        fits.append(fit_circuit(spectrum, circ, physical_names=names, **kw))

    def key(i: int) -> tuple[int, float]:
        q = fits[i].quality
        group = 2 if q.level == "failed" else (1 if any(q.has(x) for x in _DEMOTE) else 0)
        v = getattr(fits[i], criterion)
        return group, (v if np.isfinite(v) else np.inf)

    order = sorted(range(len(fits)), key=key)
    best = fits[order[0]]
    if best.quality.level == "failed":
        raise FitError(f"select_circuit: no candidate could be fitted ({best.message})")
    if _arcs(best.circuit) == 1 and best.circuit in CANDIDATES:
        best = best.replace(quality=best.quality.with_reasons(suspect=[(
            "not_resolved", "only one arc is resolved: it is taken as charge transfer (R_ct); a surface-film "
                            "resistance R_SEI cannot be separated from it, so named['R_SEI'] is absent")]))
    rows = [fits[i] for i in order]
    table = xr.Dataset(
        {
            "circuit": ("rank", np.array([f.circuit for f in rows], dtype=str)),
            "aic": ("rank", np.array([f.aic for f in rows], float)),
            "bic": ("rank", np.array([f.bic for f in rows], float)),
            "chi2": ("rank", np.array([f.chi2 for f in rows], float)),
            "relative_residual": ("rank", np.array([f.relative_residual for f in rows], float)),
            "n_params": ("rank", np.array([len(f.free_names) for f in rows], int)),
            "arcs": ("rank", np.array([_arcs(f.circuit) for f in rows], int)),
            "quality": ("rank", np.array([f.quality.level for f in rows], dtype=str)),
            "reasons": ("rank", np.array([",".join(f.quality.codes) for f in rows], dtype=str)),
        },
        coords={"rank": np.arange(1, len(rows) + 1)},
        attrs={"criterion": criterion, "best": best.circuit},
    )
    return table, best
