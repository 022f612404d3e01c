"""Film thickness from an impedance capacitance (parallel plate), with units and uncertainty."""

from __future__ import annotations

import math

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.datasets.eis import synthetic_spectrum


def test_parallel_plate_values_units_and_errors() -> None:
    d = ns.thickness.from_capacitance(4.4e-6, permittivity=9.0)  # F/cm2
    assert float(d) == pytest.approx(8.8541878188e-14 * 9.0 / 4.4e-6 * 1e7, rel=1e-12)  # cm -> nm
    assert d.method == "capacitance" and "parallel-plate" in d.note and math.isnan(d.value_stderr)
    # total capacitance with the area, or a Quantity: the same film
    same = ns.thickness.from_capacitance(4.4e-6 * 1.13, permittivity=9.0, area=1.13)
    assert float(same) == pytest.approx(float(d), rel=1e-12)
    q = ns.thickness.from_capacitance(4.4 * ns.ureg("uF/cm**2"), permittivity=9.0)
    assert float(q) == pytest.approx(float(d), rel=1e-12)
    # relative errors add in quadrature
    e = ns.thickness.from_capacitance(4.4e-6, permittivity=9.0, capacitance_stderr=0.044e-6,
                                      permittivity_stderr=0.9)
    assert e.value_stderr == pytest.approx(float(d) * math.hypot(0.01, 0.1), rel=1e-9)
    for bad in ({"capacitance": 0.0, "permittivity": 9.0}, {"capacitance": 1e-6, "permittivity": -1.0},
                {"capacitance": 1e-6, "permittivity": 9.0, "area": 0.0}):
        with pytest.raises(ValidationError):
            ns.thickness.from_capacitance(bad.pop("capacitance"), **bad)


def test_from_a_fitted_film_arc() -> None:
    # a 2 nm film of eps_r 9 on 1 cm2 behind R_film = 25 ohm, as an ideal capacitor (alpha = 1)
    c = 8.8541878188e-14 * 9.0 / 2e-7
    spec = synthetic_spectrum("R0-p(R1,CPE1)-p(R2,CPE2)", {"R0": 3.0, "R1": 25.0, "CPE1_0": c, "CPE1_1": 1.0,
                                                          "R2": 60.0, "CPE2_0": 1e-3, "CPE2_1": 0.9}, noise=0.002)
    fit = ns.eis.fit(spec, "R0-p(R1,CPE1)-p(R2,CPE2)")
    cap, se = fit.effective_capacitance()["CPE1"]
    d = ns.thickness.from_capacitance(cap, permittivity=9.0, area=1.0, capacitance_stderr=se)
    assert abs(float(d) - 2.0) < 3 * d.value_stderr + 0.02
    assert np.isfinite(d.value_stderr) and d.value_stderr > 0
