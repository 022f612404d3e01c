"""Quantification against CasaXPS's own results for FeO_analyzed.vms (README *FeO fit* table).

CasaXPS's convention, worked out from the numbers: Area/(RSF*T*MFP) = raw / (RSF * T(KE) * KE**x), with T the
file's transmission column linearly interpolated at KE = 1486.61 - BE and x = 0 (the block's stored
"MFP Exponent" is 0; ncmsurf's default exponent is 0.75, so the CasaXPS comparison passes imfp_exponent=0).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.xps._quantify import corrected_areas


def _results_table():
    rows = []
    for line in shared_file("xps", "FeO_analyzed_results.csv").read_text(encoding="latin-1").splitlines()[3:7]:
        f = line.split("\t")
        rows.append((f[0], float(f[1]), float(f[3]), float(f[4]), float(f[5])))
    return rows


def test_feo_corrected_areas_match_casaxps():
    (spec,) = ns.read_xps(shared_file("xps", "FeO_analyzed.vms"))
    rows = _results_table()
    assert len(rows) == 4
    areas = {f"{name} #{i}": raw for i, (name, _, raw, _, _) in enumerate(rows)}
    ke = {f"{name} #{i}": spec.excitation_energy - be for i, (name, be, _, _, _) in enumerate(rows)}
    # RSF from the shipped Scofield set
    corr = corrected_areas(areas, transmission=spec, kinetic_energy=ke, imfp_exponent=0)
    for i, (_, _, _, expected, _) in enumerate(rows):
        assert corr[f"Fe 2p #{i}"] == pytest.approx(expected, rel=1e-3)  # acceptance: 0.1 %
    at = ns.xps.quantify(areas, transmission=spec, kinetic_energy=ke, imfp_exponent=0)
    for i, (_, _, _, _, conc) in enumerate(rows):
        assert at[f"Fe 2p #{i}"] == pytest.approx(conc, abs=0.01)  # %At Conc is printed with 2 decimals


def test_imfp_exponent_and_callable_transmission():
    areas = {"C 1s": 100.0, "O 1s": 293.0}
    ke = {"C 1s": 1201.8, "O 1s": 955.8}
    at = ns.xps.quantify(areas, transmission=lambda e: 1.0, kinetic_energy=ke, imfp_exponent=0.6)
    # analytic: corrected areas 100/KE_C**0.6 and 100/KE_O**0.6
    c, o = 100 / 1201.8**0.6, 100 / 955.8**0.6
    assert at["C 1s"] == pytest.approx(100 * c / (c + o), rel=1e-12)
    t = ns.xps.quantify(areas, transmission={"C 1s": 2.0, "O 1s": 1.0}, imfp_exponent=0)
    assert t["C 1s"] == pytest.approx(100 * 50 / 150, rel=1e-12)


def test_rsf_sets_and_errors():
    assert ns.xps.quantify({"Ni 2p": 22.18, "Co 2p": 19.16, "Mn 2p": 13.91}, imfp_exponent=0) == pytest.approx(
        {"Ni 2p": 100 / 3, "Co 2p": 100 / 3, "Mn 2p": 100 / 3}, rel=1e-12)  # Scofield values shipped
    ns.xps.register_rsf("test-set", {"Li 1s": 0.025})
    assert "test-set" in ns.xps.rsf_sets()
    with pytest.raises(ValidationError, match="no sensitivity factor"):
        ns.xps.quantify({"Xx 9z": 1.0})
    with pytest.raises(ValidationError, match="unknown set"):
        ns.xps.quantify({"C 1s": 1.0}, rsf="nope")
    with pytest.raises(ValidationError, match="kinetic energy"):
        ns.xps.quantify({"C-C": 1.0}, rsf={"C-C": 1.0}, transmission=lambda e: 1.0)
    with pytest.raises(ValidationError, match=">= 0"):
        ns.xps.quantify({"C 1s": -1.0}, imfp_exponent=0)


def test_quantify_list_of_fits():
    from ncmsurf.datasets.xps import synthetic_spectrum

    fits = [ns.xps.fit(synthetic_spectrum(r, area=a, seed=1), r, background="active-shirley")
            for r, a in (("O 1s", 2.93e5), ("F 1s", 4.43e5))]
    at = ns.xps.quantify(fits, imfp_exponent=0)
    # equal true areas / RSF -> 50/50 within the fit precision
    assert at["O 1s"] == pytest.approx(50, abs=1.5)
    assert sum(at.values()) == pytest.approx(100, rel=1e-12)
    assert np.isfinite(list(at.values())).all()


def test_fits_use_the_file_transmission():
    from ncmsurf.datasets.xps import synthetic_spectrum

    def with_t(spec, t):
        return spec.replace(transmission=np.full(spec.binding_energy.size, t))

    o = with_t(synthetic_spectrum("O 1s", area=2.93e5, seed=1), 2.0)
    f = with_t(synthetic_spectrum("F 1s", area=4.43e5, seed=1), 1.0)
    fits = [ns.xps.fit(s, s.region, background="active-shirley") for s in (o, f)]
    assert fits[0].transmission is not None
    at = ns.xps.quantify(fits, imfp_exponent=0)
    # analytic: equal area/RSF, transmission 2 vs 1 -> 1/3 : 2/3 (within the fit precision)
    assert at["O 1s"] == pytest.approx(100 / 3, abs=1.0)
