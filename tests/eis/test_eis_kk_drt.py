"""lin-KK against Schönleber's reference values, and the Tikhonov DRT."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import FitError
from ncmsurf.core.models import ImpedanceSpectrum
from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum


def _circuit3() -> tuple[ImpedanceSpectrum, pd.DataFrame]:
    spec = ns.read_eis(shared_file("eis", "Circuit3_EIS_1.z"))[0]
    ref = pd.read_csv(shared_file("eis", "Circuit3_EIS_1_linKK_reference.csv"))
    np.testing.assert_allclose(ref["frequency_Hz"].to_numpy(), spec.frequency, rtol=1e-6)
    return spec, ref


def test_linkk_reference_m_and_mu() -> None:
    spec, ref = _circuit3()
    kk = ns.eis.kramers_kronig(spec, c=0.69)
    # README / impedance.py test_validation: M = 10, mu = 0.6843821117885378
    assert kk.M == 10
    np.testing.assert_allclose(kk.mu, 0.6843821117885378, rtol=1e-12)
    zref = ref["linKK_c0.69_M10_Zre_ohm"].to_numpy() + 1j * ref["linKK_c0.69_M10_Zim_ohm"].to_numpy()
    # reference arrays printed with 9-12 significant digits
    np.testing.assert_allclose(kk.z_fit, zref, rtol=1e-8)
    np.testing.assert_allclose(kk.z_fit[0], 1504.77272562 + 22.1601785j, rtol=1e-9)
    np.testing.assert_allclose(kk.z_fit[-1], 6132.74662155 + 32.8441808j, rtol=1e-9)
    np.testing.assert_allclose(kk.residuals_real + 1j * kk.residuals_imag,
                               (spec.impedance - kk.z_fit) / np.abs(spec.impedance), rtol=1e-12)


def test_linkk_reference_variants() -> None:
    spec, ref = _circuit3()
    cap = ns.eis.kramers_kronig(spec, c=0.69, add_cap=True)
    assert cap.M == 10
    np.testing.assert_allclose(cap.mu, 0.6843821117885381, rtol=1e-12)
    np.testing.assert_allclose(cap.z_fit, ref["linKK_c0.69_M10_addcap_Zre_ohm"].to_numpy()
                               + 1j * ref["linKK_c0.69_M10_addcap_Zim_ohm"].to_numpy(), rtol=1e-8)
    fixed = ns.eis.kramers_kronig(spec, c=None, max_M=10, add_cap=True)
    np.testing.assert_allclose(fixed.z_fit, cap.z_fit, rtol=1e-12)
    imag = ns.eis.kramers_kronig(spec, c=None, max_M=5, fit_type="imag")
    np.testing.assert_allclose(imag.z_fit, ref["M5_imagfit_Zre_ohm"].to_numpy()
                               + 1j * ref["M5_imagfit_Zim_ohm"].to_numpy(), rtol=1e-8)
    comp = ns.eis.kramers_kronig(spec, c=None, max_M=5, fit_type="complex")
    np.testing.assert_allclose(comp.z_fit, ref["M5_complexfit_Zre_ohm"].to_numpy()
                               + 1j * ref["M5_complexfit_Zim_ohm"].to_numpy(), rtol=1e-8)
    with pytest.raises(FitError, match="fit_type"):
        ns.eis.kramers_kronig(spec, fit_type="both")


def test_linkk_flags_a_drifting_spectrum() -> None:
    good = synthetic_spectrum("ncm", NCM_TRUTH, noise=0.001, seed=1)
    # the semi-infinite Warburg has no low-frequency intercept: test with the series capacitance
    assert ns.eis.kramers_kronig(good, c=0.5, add_cap=True).valid
    # a cell whose resistance drifts by 30 % during the sweep (low frequencies measured last)
    f = good.frequency
    drift = 1 + 0.3 * (np.log10(f.max() / f) / np.log10(f.max() / f.min()))
    bad = ImpedanceSpectrum(f, good.impedance.real * drift + 1j * good.impedance.imag)
    kk = ns.eis.kramers_kronig(bad, c=0.5, add_cap=True)
    assert not kk.valid and kk.max_residual > 0.01


def test_drt_finds_two_rc_peaks() -> None:
    f = np.logspace(5, -2, 71)
    z = 2 + 10 / (1 + 1j * 2 * np.pi * f * 1e-3) + 5 / (1 + 1j * 2 * np.pi * f * 1.0)  # analytic truth
    rng = np.random.default_rng(0)
    z = z * (1 + 0.002 * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)))
    res = ns.eis.drt(ImpedanceSpectrum(f, z))
    gcv = ns.eis.drt(ImpedanceSpectrum(f, z), method="gcv")
    assert gcv.lambda_ in gcv.gcv and gcv.gcv[gcv.lambda_] == min(gcv.gcv.values())
    assert res.lambda_ >= gcv.lambda_ and 0.001 < res.noise < 0.003  # discrepancy: within the 0.2 % noise
    assert len(res.peaks) == 2 and not any(p["outside"] for p in res.peaks)
    np.testing.assert_allclose([p["tau"] for p in res.peaks], [1e-3, 1.0], rtol=0.1)
    np.testing.assert_allclose([p["resistance"] for p in res.peaks], [10.0, 5.0], rtol=0.03)
    np.testing.assert_allclose(res.r_inf, 2.0, rtol=0.02)
    assert res.relative_residual < 0.01
    assert np.all(res.gamma >= 0)


def test_drt_on_real_battery_spectrum_and_errors() -> None:
    spec = ns.read_eis(shared_file("eis", "LIB_data.txt"))[0]
    res = ns.eis.drt(spec)
    assert res.relative_residual < 0.02 and res.peaks
    # R_inf close to the high-frequency real-axis crossing of the data (0.1124 ohm, 3 %)
    assert abs(res.r_inf - 0.1124) / 0.1124 < 0.03
    assert all(p["resistance"] > 0 for p in res.peaks)
    assert res.peaks[-1]["outside"]  # the unfinished diffusion tail lies beyond 1/omega_min
    with pytest.raises(FitError, match="lambda_"):
        ns.eis.drt(spec, lambda_=-1.0)
    with pytest.raises(FitError, match="at least 3"):
        ns.eis.drt(ImpedanceSpectrum([1.0, 2.0], [1 - 1j, 1 - 2j]))


def test_kk_and_drt_results_are_storable(tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = synthetic_spectrum("R0-p(R1,C1)-p(R2,C2)", {"R0": 2.0, "R1": 10.0, "C1": 1e-5, "R2": 30.0, "C2": 1e-2},
                              seed=1)
    kk = ns.eis.kramers_kronig(spec, c=0.5)
    back = ns.load(ns.save(kk, tmp_path / "kk.nc"))
    assert back == kk and back.M == kk.M and back.valid == kk.valid
    res = ns.eis.drt(spec)
    back2 = ns.load(ns.save(res, tmp_path / "drt.nc"))
    assert back2 == res and back2.peaks == res.peaks and back2.lambda_ == res.lambda_


def test_drt_two_zarc_peaks_across_seeds() -> None:
    """Issue 15: two-ZARC spectra at 0.5 % noise, exactly the true peaks in >= 90 % of 50 seeds; lambda stable."""
    from ncmsurf.datasets.eis import TWO_ZARC_TRUTH, drt_peaks, two_zarc_spectrum

    true = drt_peaks(TWO_ZARC_TRUTH)
    exact, lams = 0, []
    for seed in range(50):
        res = ns.eis.drt(two_zarc_spectrum(seed=seed))
        lams.append(res.lambda_)
        got = [(p["tau"], p["resistance"]) for p in res.peaks]
        if len(got) == len(true) and all(abs(np.log10(t / tt)) < 0.2 and abs(r / rr - 1) < 0.15
                                         for (t, r), (tt, rr) in zip(got, true, strict=True)):
            exact += 1
        assert all(p["share"] >= 0.05 for p in res.peaks)
    assert exact >= 45, exact
    assert max(lams) / min(lams) <= 100  # GCV: 2e-5 to 2e-2 across seeds (a factor 1000)


def test_drt_result_is_a_fit_result() -> None:
    from ncmsurf.datasets.eis import two_zarc_spectrum

    res = ns.eis.drt(two_zarc_spectrum(seed=1))
    assert isinstance(res, ns.FitResult) and res.quality.level == "good"
    assert res.names == ["R_inf", "L", "R_pol"] and abs(res.values["R_pol"] - 30.0) < 1.5
    assert "peaks" in res.fit_report() and "wan2015" in res.citations
    peaks = res.peaks
    peaks[0]["tau"] = -1.0
    assert res.peaks[0]["tau"] > 0  # a new list each time
