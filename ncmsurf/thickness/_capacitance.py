"""Film thickness from a capacitance (parallel plate)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ncmsurf.core.fitting import propagate_one
from ncmsurf.thickness._common import opt_err, positive
from ncmsurf.thickness._results import Thickness

__all__ = ["EPSILON_0", "from_capacitance"]

#: Vacuum permittivity, F/m.
EPSILON_0 = 8.8541878188e-12


def from_capacitance(capacitance: Any, *, permittivity: Any, area: Any = None, capacitance_stderr: Any = None,
                     permittivity_stderr: Any = None) -> Thickness:
    """Thickness of a dielectric film from its capacitance (parallel plate): d = ε₀ εᵣ A / C.

    Use the effective capacitance of the film's arc in an impedance fit
    (:meth:`ncmsurf.eis.CircuitFit.effective_capacitance`, Hsu–Mansfeld),
    not a CPE prefactor.

    Parameters
    ----------
    capacitance : float or pint.Quantity
        Film capacitance: F when ``area`` is given, else per area, F/cm²
        (a Quantity may carry either).
    permittivity : float
        Relative permittivity εᵣ of the film (e.g. about 9 for amorphous
        Al2O3, 20–25 for ZrO2).
    area : float or pint.Quantity, optional
        Electrode area, cm² (the geometric area unless the true one is known).
    capacitance_stderr, permittivity_stderr : float, optional
        Standard errors (same units as their values), propagated to ``.stderr``.

    Returns
    -------
    Thickness
        nm (a float with ``.stderr`` and ``.note``).

    Raises
    ------
    ValidationError
        A capacitance, permittivity or area that is not positive.

    Examples
    --------
    >>> d = from_capacitance(4.4e-6, permittivity=9.0)  # F/cm²: an Al2O3-like film
    >>> round(float(d), 3)
    1.811
    """
    eps = positive(permittivity, "dimensionless", "permittivity")
    if area is None:
        c = positive(capacitance, "F/cm**2", "capacitance")
        c_err = opt_err(capacitance_stderr, "F/cm**2", "capacitance_stderr")
    else:
        a = positive(area, "cm**2", "area")
        c = positive(capacitance, "F", "capacitance") / a
        c_err = opt_err(capacitance_stderr, "F", "capacitance_stderr") / a
    d = EPSILON_0 * 1e-4 * eps / c * 1e9  # ε₀ in F/cm, thickness in nm
    given = capacitance_stderr is not None or permittivity_stderr is not None
    e_err = opt_err(permittivity_stderr, "dimensionless", "permittivity_stderr")
    stderr = (propagate_one(lambda p: EPSILON_0 * 1e-4 * p[1] / p[0] * 1e9, [c, eps], np.diag([c_err**2, e_err**2]))[1]
              if given else None)
    note = ("parallel-plate estimate: assumes a uniform, pinhole-free film over the whole area; a rough "
            "or porous electrode (true area > geometric) makes it an overestimate")
    return Thickness.make(d, stderr=stderr, method="capacitance", note=note, citations=("hsu-mansfeld2001",))


