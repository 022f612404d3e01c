"""Coated-NCM chemistry: charge referencing, source-aware presets, multiplet Ni 2p, joint fits, survey
identification and quantification, on real files and seeded synthetic truth."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.datasets.xps import synthetic_coated_ncm, synthetic_spectrum, synthetic_survey
from ncmsurf.xps import ChargeReferenceError, ChargeReferenceWarning


def _txt_blocks(path):
    """The CasaXPS text export's blocks (KE, counts, BE columns) as spectra (test-side parser)."""
    out, name, rows, hv = {}, None, [], 1486.61
    for ln in path.read_text(encoding="latin-1").splitlines() + ["Cycle end"]:
        if ln.startswith("Cycle "):
            if name and rows:
                a = np.array(rows)
                out[name] = ns.XPSSpectrum(a[:, 2], a[:, 1], excitation_energy=hv,
                                           region="Ni 2p" if name.endswith("Ni2p") else None)
            name, rows = ln, []
            continue
        if "Characteristic Energy" in ln:
            hv = float(ln.split("\t")[2])
            continue
        f = ln.split("\t")
        try:
            rows.append([float(f[0]), float(f[1]), float(f[3])])
        except (ValueError, IndexError):
            continue
    return out


# ------------------------------------------------------------------ charge referencing
def _c1s(center, sample="P-NCM", lo=280.0, hi=296.0, extra=None):
    be = np.linspace(lo, hi, int((hi - lo) / 0.05) + 1)
    y = 200 + 2e4 * np.exp(-((be - center) / 0.7) ** 2)
    if extra is not None:
        y = y + 6e4 * np.exp(-((be - extra) / 0.8) ** 2)
    return ns.XPSSpectrum(be, y, region="C 1s", sample=sample, meta={"source_file": "c1s_test.vms"})


def test_charge_refusal_names_the_file_and_window_is_honoured():
    # a "C 1s" window that holds another, stronger line at 305.65 eV: searching everywhere would shift -20.85 eV
    s = _c1s(285.0, lo=275.0, hi=312.0, extra=305.65)
    with pytest.raises(ChargeReferenceError, match=r"c1s_test\.vms.*-20\.85 eV"):
        ns.xps.charge_correct(s, window=(275.0, 312.0))
    out = ns.xps.charge_correct(s)  # the default C 1s window (278-292 eV) holds the adventitious line
    assert out.meta["charge_shift"] == pytest.approx(-0.2, abs=0.02)
    out = ns.xps.charge_correct(s, window=(283.0, 287.0), max_shift=25)
    assert out.meta["charge_shift"] == pytest.approx(-0.2, abs=0.02)


def test_no_borrowing_across_samples_unless_asked():
    a = _c1s(285.4, sample="A(1)-NCM")
    ni_b = synthetic_spectrum("Ni 2p", seed=0, sample="A(3)-NCM")
    with pytest.warns(ChargeReferenceWarning, match="no C 1s reference.*A\\(3\\)-NCM.*left unshifted"):
        out = ns.xps.charge_correct([a, ni_b])
    assert out[1].meta["charge_shift"] == 0.0 and out[1].meta["charge_reference"] is None
    np.testing.assert_array_equal(out[1].binding_energy, ni_b.binding_energy)
    out = ns.xps.charge_correct([a, ni_b], borrow=True)
    assert out[1].meta["charge_shift"] == pytest.approx(-0.6, abs=0.02) and out[1].meta["charge_borrowed"]


def test_lattice_oxygen_reference_and_disagreement_warning():
    be = np.linspace(524, 540, 321)
    o1s = ns.XPSSpectrum(be, 300 + 9e3 * np.exp(-((be - 529.9) / 0.6) ** 2)
                         + 1.2e4 * np.exp(-((be - 531.9) / 0.8) ** 2), region="O 1s", sample="P-NCM")
    c1s = _c1s(285.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = ns.xps.charge_correct([o1s, c1s], reference="O 1s")  # lattice at 529.9 -> 529.4
    assert out[0].meta["charge_shift"] == pytest.approx(-0.5, abs=0.03)
    assert out[0].meta["charge_reference"] == "O 1s"
    with pytest.warns(ChargeReferenceWarning, match="apart, more than 0.3 eV"):
        out = ns.xps.charge_correct([o1s, c1s.shifted(0.6)], reference=["C 1s", "O 1s"])
    assert out[0].meta["charge_reference"] == "C 1s" and "O 1s" in out[0].meta["charge_checks"]


# ------------------------------------------------------------------ presets
def test_ni_lmm_under_mn2p_is_source_aware():
    al = [c.name for c in ns.xps.preset_model("Mn 2p")]
    mg = [c.name for c in ns.xps.preset_model("Mn 2p", excitation_energy=1253.6)]
    assert "Ni LMM" in al and "Ni LMM" not in mg
    spec = synthetic_spectrum("Mn 2p", fractions={"Mn4+": 0.5, "Mn3+": 0.2, "Ni LMM": 0.3}, area=2e6, seed=1)
    res = ns.xps.fit(spec, "Mn 2p", background="active-shirley")
    v, e = res.fraction("Mn4+", among=["Mn4+", "Mn3+"])
    # generator truth; the two Mn doublets share one width (with two free widths the share was unbiased but
    # not determined: stderr 0.054 at this area, the 0.06 miss of this seed was 1.1 sigma)
    assert abs(v - 0.5 / 0.7) < min(0.03, 4 * e)
    mg_spec = synthetic_spectrum("Mn 2p", fractions={"Mn4+": 0.7, "Mn3+": 0.3}, seed=1, excitation_energy=1253.6)
    assert "Ni LMM" not in ns.xps.fit(mg_spec, "Mn 2p").areas


def test_al2p_drops_ni3p_when_the_window_does_not_reach_it():
    spec = synthetic_spectrum("Al 2p", seed=0).cropped(70.0, 82.0)
    assert "Ni 3p" not in ns.xps.fit(spec, "Al 2p").areas


@pytest.mark.shared_data
def test_real_nio_and_metallic_ni_with_the_multiplet_model():
    blocks = _txt_blocks(shared_file("xps", "vms_txt_export.txt"))
    nio, ni = blocks["Cycle 14:NiO:Ni2p"], blocks["Cycle 4:Ni:Ni2p"]
    two = ns.xps.fit(nio, "Ni 2p")
    assert two.fraction("Ni3+", among=["Ni2+", "Ni3+"])[0] > 0.5  # the two-doublet model's known failure
    mult = ns.xps.fit(nio, "Ni 2p:multiplet")
    f2, _ = ns.xps.ni2_fraction(mult)
    assert f2 > 0.6, f2  # NiO is not called mostly Ni3+
    metal = ns.xps.fit(ni, "Ni 2p:multiplet", background="active-shirley")
    assert metal.success and metal.redchi < 10  # the two-doublet model gives about 190
    assert ns.xps.ni2_fraction(metal, among=("Ni0", "Ni2+", "Ni3+"), name="Ni0")[0] > 0.8


@pytest.mark.shared_data
def test_arxps_al_foil_o1s_is_not_carbonate():
    # the study-facing route: O 1s jointly with Al 2p (Al-O tied to Al2O3 by O/Al = 1.5) and C 1s (one charge
    # shift), at all five emission angles (the insulated foil charges by about 4 eV; the spectra go in raw)
    spectra = ns.read_xps(shared_file("xps", "ARXPS.vms"))
    for k in range(5):  # emission angles 0, 40, 55, 63, 70 degrees
        block = spectra[3 * k: 3 * k + 3]
        if k == 2:
            v, e, q = ns.xps.carbonate_share(block)
            assert 0.0 <= v < 0.2, (k, v, e)
            assert q.level == "suspect"  # the Al 2p metal/oxide and O 1s lines are not fully modelled: said so
        res = ns.xps.coated_o1s_fit(block)  # what carbonate_share reads
        assert 0.0 <= res.fraction("O 1s", "carbonate")[0] < 0.2
        assert res.charge_shift[0] == pytest.approx(-3.9, abs=0.2)
        al_o = res.fraction("O 1s", "Al-O")[0]
        assert al_o > 0.7 and all(al_o > res.fraction("O 1s", n)[0] for n in ("lattice", "carbonate", "C-O"))


# ------------------------------------------------------------------ joint fits
def test_joint_fit_recovers_shares_and_shift():
    for seed in range(2):
        case = synthetic_coated_ncm(seed=seed)
        res = ns.xps.fit_joint(case["spectra"], case["models"], constraints=case["constraints"],
                               background="active-shirley")
        assert res.success, res.message
        t = case["truth"]
        s, es = res.charge_shift
        assert abs(s - t["shift"]) < 4 * es + 0.01
        v, e = res.fraction("O 1s", "Al-O")
        assert abs(v - t["al_o_share"]) < 0.03 and abs(v - t["al_o_share"]) < 4 * e
        v, e = res.fraction("O 1s", "carbonate")
        assert abs(v - t["carbonate_share"]) < max(0.03, 4 * e)
        q = ns.xps.quantify(res)
        assert set(q) == set(case["spectra"]) and all(np.isfinite(list(q.stderr.values())))


# ------------------------------------------------------------------ identification
@pytest.mark.shared_data
@pytest.mark.parametrize("name, expected", [("survey.vms", {"Al", "O", "C"}),
                                            ("single_sample.vms", {"I", "Pb", "O", "N", "C", "S"}),
                                            ("0-150W.vms", {"W", "O", "C"})])
def test_identify_real_surveys(name, expected):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spectra = ns.read_xps(shared_file("xps", name))
    df = ns.xps.identify(spectra)
    found = set(df.attrs["elements"])
    assert found == expected, (found, df.attrs["scores"])  # no false element above the stated 0.5
    if name == "0-150W.vms":
        # the Ni-W film's Ni is below the detection limit: no Ni 2p peak in the survey, a flat Ni 2p block
        assert df.attrs["scores"].get("Ni", 0.0) < df.attrs["threshold"]


@pytest.mark.parametrize("hv", [1486.6, 1253.6])
def test_identify_unseen_synthetic_surveys(hv):
    for comp in ({"Fe": 1, "O": 1.5, "C": 0.5}, {"Cu": 1, "Zn": 1, "S": 1, "O": 1, "C": 1},
                 {"Si": 1, "O": 2, "F": 0.5, "C": 1}, {"Au": 1, "C": 0.5}, {"Sn": 1, "O": 2, "C": 1, "Cl": 0.3}):
        s = synthetic_survey(comp, excitation_energy=hv, seed=3, shift=1.0)
        assert set(ns.xps.identify(s).attrs["elements"]) == set(comp), comp
    regs = ns.xps.suggest_regions(synthetic_survey({"Ni": 1, "O": 2, "C": 1}, excitation_energy=hv))
    assert "Ni 2p" in set(regs.region) and regs.set_index("region").loc["Ni 2p", "preset"] == "Ni 2p"


# ------------------------------------------------------------------ quantification
@pytest.mark.shared_data
def test_quantify_survey_with_uncertainty_and_stated_corrections():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (s,) = ns.read_xps(shared_file("xps", "survey.vms"))
    q = ns.xps.quantify(s)
    assert set(q) == {"Al 2p", "O 1s", "C 1s"} and sum(q.values()) == pytest.approx(100)
    assert all(0 < q.stderr[k] < 2 for k in q)
    assert q.imfp_exponent == 0.75 and q.transmission == "file" and "KE^0.75" in q.corrections


def test_quantify_stack_and_default_source_warning():
    import xarray as xr

    depth = xr.DataArray(np.array([[100.0, 300.0], [200.0, 200.0]]), dims=("depth", "x"))
    out = ns.xps.quantify({"Al 2p": depth, "Ni 2p": 10 * depth}, imfp_exponent=0.75)
    assert out["atomic_percent"].dims == ("depth", "x", "element")
    np.testing.assert_allclose(out["atomic_percent"].sum("element"), 100)
    spec = synthetic_spectrum("O 1s", seed=0)
    spec = spec.with_meta(excitation_energy_source="default").replace(
        transmission=np.ones(spec.binding_energy.size))
    with pytest.warns(ns.xps.QuantificationWarning, match="photon energy"):
        ns.xps.quantify({"O 1s": 1.0}, transmission=spec)
