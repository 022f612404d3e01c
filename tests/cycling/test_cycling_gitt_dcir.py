"""GITT (Weppner–Huggins and the exact finite-geometry fit) and DCIR on seeded synthetic truth and real files.

Truth comes from ncmsurf.datasets.gitt: a finite-volume particle model whose surface response is checked here
against Crank's analytic solutions, with the diffusion coefficient, geometry and exact pulse resistances stored
in meta["truth"].
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ValidationError
from ncmsurf.cycling import dcir, gitt, surface_response, weppner_huggins_bias
from ncmsurf.datasets.gitt import FARADAY, ncm811_ocv, simulate_pulses, synthetic_gitt, synthetic_hppc


def _gitt(rec: ns.CyclingData, **kw: object) -> ns.cycling.GITTResult:
    tr = rec.meta["truth"]
    args: dict[str, object] = {"molar_volume": tr["molar_volume"], "area": tr["area_cm2"],
                               "molar_mass": tr["molar_mass"], "geometry": tr["geometry"],
                               "diffusion_length": tr["radius_nm"]}
    args.update(kw)
    return gitt(rec, **args)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- the generator
@pytest.mark.parametrize("geometry", ["sphere", "planar"])
def test_finite_volume_surface_matches_crank(geometry: str) -> None:
    # constant flux into a sphere / a film closed at the back: Crank (1975) via surface_response
    length, d, moles, cur = 5e-4, 1e-11, 1e-4, 2e-4
    sim = simulate_pulses([(600.0, cur, 1.0), (600.0, 0.0, 10.0)], diffusivity=d, geometry=geometry, length=length,
                          moles=moles, x0=0.9, ocv=lambda x: x)
    t, xs = sim["time"], sim["x_surface"]
    on = (t >= 1.0) & (t <= 600.0)
    f = 3.0 if geometry == "sphere" else 1.0
    q = cur / (FARADAY * moles) * length / f  # surface flux in x · cm / s
    expected = 0.9 - q * length / d * surface_response(d * t[on] / length**2, geometry)
    np.testing.assert_allclose((0.9 - xs[on]) / (0.9 - expected), 1.0, atol=2e-3)
    # charge balance: the mean composition changes by exactly I t / (F n)
    assert sim["x_end"][0] == pytest.approx(0.9 - cur * 600.0 / (FARADAY * moles), rel=1e-9)
    assert sim["x_end"][1] == pytest.approx(sim["x_end"][0], rel=1e-9)


def test_surface_response_series_and_short_time_forms_agree() -> None:
    # the sphere's short-time closed form (T <= 0.05) and its series (T > 0.05) meet smoothly
    for geometry in ("sphere", "planar"):
        lo, hi = surface_response([0.05 - 1e-9, 0.05 + 1e-9], geometry)
        assert hi == pytest.approx(lo, rel=1e-6)
        lo, hi = surface_response([1.0 - 1e-9, 1.0 + 1e-9], geometry)
        assert hi == pytest.approx(lo, rel=1e-6)
    # both start as the semi-infinite 2 sqrt(T / pi)
    t = np.array([1e-8, 1e-6])
    np.testing.assert_allclose(surface_response(t, "planar"), 2 * np.sqrt(t / np.pi), rtol=1e-9)
    np.testing.assert_allclose(surface_response(t, "sphere"), 2 * np.sqrt(t / np.pi), rtol=2e-3)


def test_generator_is_seeded_and_states_its_truth() -> None:
    a = synthetic_gitt(n_pulses=2, seed=4)
    b = synthetic_gitt(n_pulses=2, seed=4)
    c = synthetic_gitt(n_pulses=2, seed=5)
    assert a == b and a != c
    tr = a.meta["truth"]
    assert a.meta["synthetic"] is True and tr["geometry"] == "sphere"
    # spheres of radius R: total surface 3 V / R
    assert tr["area_cm2"] == pytest.approx(3 * tr["moles"] * tr["molar_volume"] / (tr["radius_nm"] * 1e-7))
    assert tr["ocv_after_pulse"][0] == pytest.approx(float(ncm811_ocv(tr["x_after_pulse"][0])))
    assert a.mass == tr["mass"]
    with pytest.raises(ValidationError, match="outside"):
        synthetic_gitt(n_pulses=200, pulse_duration=3600.0)


# --------------------------------------------------------------------------- GITT accuracy
def _rest_for(d: float, length_nm: float, geometry: str = "planar") -> float:
    """A rest of eight times the slowest mode's time L² / (α₁² D), at least an hour."""
    a2 = 20.19 if geometry == "sphere" else math.pi**2 / 4
    return max(3600.0, 8 * (length_nm * 1e-7) ** 2 / (a2 * d))


@pytest.mark.parametrize(("d", "tau", "length"), [(3e-12, 600.0, 1000.0), (1e-11, 600.0, 2000.0),
                                                  (3e-11, 300.0, 2000.0)])
@pytest.mark.parametrize("seed", [0, 1])
def test_weppner_huggins_recovers_d_on_films(d: float, tau: float, length: float, seed: int) -> None:
    rec = synthetic_gitt(geometry="planar", radius=length, diffusivity=d, pulse_duration=tau,
                         rest_duration=_rest_for(d, length), n_pulses=6, seed=seed)
    res = _gitt(rec)
    assert res.n_pulses == 6
    np.testing.assert_allclose(res.diffusivity / d, 1.0, atol=0.10)
    assert all(res.pulse_quality(k).level == "good" for k in range(1, 7)), res.quality
    assert res.units["D_1"] == "cm**2/s"


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weppner_huggins_recovers_d_on_spheres_with_short_pulses(seed: int) -> None:
    # D τ / R² = 3e-4: short enough for a sphere (expected bias about -4 %)
    rec = synthetic_gitt(radius=1000.0, diffusivity=1e-12, pulse_duration=3.0, sample_interval=0.1, c_rate=2.0,
                         voltage_noise=3e-5, n_pulses=5, seed=seed)
    res = _gitt(rec)
    np.testing.assert_allclose(res.diffusivity / 1e-12, 1.0, atol=0.10)
    assert not any(res.pulse_quality(k).has("long_pulse") for k in range(1, 6))


@pytest.mark.parametrize("d", [3e-12, 1e-11, 3e-11])
@pytest.mark.parametrize("seed", [0, 3])
def test_full_fit_recovers_d_on_spheres_where_the_formula_is_flagged(d: float, seed: int) -> None:
    rec = synthetic_gitt(radius=2000.0, diffusivity=d, n_pulses=5, seed=seed,
                         rest_duration=_rest_for(d, 2000.0, "sphere"))
    full = _gitt(rec, method="full")
    np.testing.assert_allclose(full.diffusivity / d, 1.0, atol=0.10)
    assert full.quality.level == "good", full.quality
    wh = _gitt(rec)
    # D τ / R² = 0.045 ... 0.45: the formula underestimates D and every pulse says so
    assert np.all(wh.diffusivity < 0.8 * d)
    for k in range(1, 6):
        q = wh.pulse_quality(k)
        assert q.level == "suspect" and q.has("long_pulse")
        assert "τ = 600 s is not ≪ L²/D" in dict(q.reasons)["long_pulse"]


def test_long_pulse_on_a_film_is_flagged() -> None:
    # D τ / L² = 6: the pulse reaches the back of the film long before it ends
    rec = synthetic_gitt(geometry="planar", radius=1000.0, diffusivity=1e-10, n_pulses=3, seed=0)
    res = _gitt(rec)
    assert res.quality.level == "suspect"
    for k in range(1, 4):
        q = res.pulse_quality(k)
        assert q.has("long_pulse") and q.has("nonlinear_transient")
    assert np.all(res.table.expected_bias.values < -0.5)
    assert np.all(res.diffusivity < 0.2e-10)


def test_pulse_length_check_uses_the_length_the_inputs_imply() -> None:
    # without diffusion_length the sphere's radius is 3 n V_m / S, which is the generator's radius
    rec = synthetic_gitt(radius=2000.0, diffusivity=1e-11, n_pulses=2, seed=0)
    res = _gitt(rec, diffusion_length=None)
    assert res.to_dataset().attrs["diffusion_length_nm"] == pytest.approx(2000.0)
    assert res.pulse_quality(1).has("long_pulse")
    full = _gitt(rec, diffusion_length=None, method="full")
    np.testing.assert_allclose(full.diffusivity / 1e-11, 1.0, atol=0.10)


def test_bias_table_matches_the_exact_solution() -> None:
    # the planar formula is exact while the film looks semi-infinite; a sphere departs from it at once
    assert abs(weppner_huggins_bias(1e-2, "planar")) < 1e-3
    assert weppner_huggins_bias(1e-3, "sphere") == pytest.approx(-0.071, abs=0.005)
    assert weppner_huggins_bias(0.1, "sphere") == pytest.approx(-0.54, abs=0.01)
    # the apparent ratio (with the biased D) is solved back to the true one
    true = 0.02
    app = true * (1 + weppner_huggins_bias(true, "sphere"))
    assert weppner_huggins_bias(app, "sphere", apparent=True) == pytest.approx(weppner_huggins_bias(true, "sphere"),
                                                                                abs=2e-3)
    # and the table agrees with what the fit gives on noise-free synthetic spheres
    rec = synthetic_gitt(radius=2000.0, diffusivity=1e-11, pulse_duration=60.0, n_pulses=2, voltage_noise=0.0)
    res = _gitt(rec)
    ratio = res.diffusivity[0] / 1e-11
    assert ratio - 1 == pytest.approx(weppner_huggins_bias(1e-11 * 60.0 / 2e-4**2, "sphere"), abs=0.03)


@pytest.mark.slow
@pytest.mark.parametrize(("geometry", "method", "tau", "radius"), [("planar", "weppner-huggins", 600.0, 2000.0),
                                                                   ("sphere", "full", 120.0, 2000.0)])
def test_gitt_stderr_is_calibrated(geometry: str, method: str, tau: float, radius: float) -> None:
    z = []
    for seed in range(30):
        rec = synthetic_gitt(geometry=geometry, radius=radius, diffusivity=1e-11, pulse_duration=tau, n_pulses=5,
                             seed=100 + seed)
        res = _gitt(rec, method=method)
        z.extend((res.diffusivity - 1e-11) / res.diffusivity_stderr)
    cover = float(np.mean(np.abs(np.asarray(z)) < 1.96))
    assert 0.90 <= cover <= 0.98, cover


def test_discharge_pulses_and_concentration_dependent_d() -> None:
    rec = synthetic_gitt(geometry="planar", radius=2000.0, diffusivity=1e-11, n_pulses=4, direction="discharge",
                         x0=0.70, seed=2)
    res = _gitt(rec)
    assert np.all(res.table.current.values < 0)
    np.testing.assert_allclose(res.diffusivity / 1e-11, 1.0, atol=0.10)
    assert np.all(np.diff(res.table.delta_x.values) > 0)  # lithiation: x grows
    # D(x) rising by about 30 % over the train: each pulse's D follows it (the short-time response weights D
    # near the surface composition, which lies below the pulse's mean during a charge, hence the tolerance)
    rec = synthetic_gitt(geometry="planar", radius=2000.0, diffusivity=lambda x: 1e-11 * np.exp(-3.0 * (x - 0.9)),
                         n_pulses=8, pulse_duration=150.0, c_rate=0.2, seed=0)
    truth = np.asarray(rec.meta["truth"]["diffusivity"])
    res = _gitt(rec)
    np.testing.assert_allclose(res.diffusivity / truth, 1.0, atol=0.15)
    assert np.corrcoef(res.diffusivity, truth)[0, 1] > 0.9


def test_table_positions_voltages_and_ir_drop() -> None:
    rec = synthetic_gitt(geometry="planar", radius=2000.0, n_pulses=3, ohmic_resistance=25.0, voltage_noise=0.0)
    tr = rec.meta["truth"]
    res = _gitt(rec, x0=tr["x0"])
    tb = res.table
    np.testing.assert_allclose(tb.x.values, tr["x_after_pulse"], atol=1e-6)
    np.testing.assert_allclose(tb.voltage.values, tr["ocv_after_pulse"], atol=2e-4)
    np.testing.assert_allclose(tb.tau.values, tr["pulse_duration"] - 0.01, atol=1e-9)
    # the √t line's intercept excludes the 25 Ω · 0.2 mA = 5 mV ohmic drop from ΔE_t
    np.testing.assert_allclose(tb.ir_drop.values, 25.0 * tr["current"], atol=3e-4)
    np.testing.assert_allclose(tb.delta_et.values, tb.slope_sqrt_t.values * np.sqrt(tb.tau.values))
    assert tb.capacity.attrs["units"] == "mAh/g"
    q = tr["current"] * tr["pulse_duration"] / 3.6 / tr["mass"]
    np.testing.assert_allclose(tb.capacity.values, q * np.arange(1, 4), rtol=1e-3)
    # the Weppner–Huggins formula itself, from the table's own numbers
    ell = tr["moles"] * tr["molar_volume"] / tr["area_cm2"]
    d = 4 / (np.pi * tb.tau.values) * (ell * tb.delta_es.values / tb.delta_et.values) ** 2
    np.testing.assert_allclose(res.diffusivity, d, rtol=1e-9)


# --------------------------------------------------------------------------- GITT checks and inputs
def test_unrelaxed_rest_is_flagged() -> None:
    # film of 2 µm with D = 1e-12: the slowest mode needs about 4 L²/(π² D) = 1.6e4 s; rests of 900 s
    rec = synthetic_gitt(geometry="planar", radius=2000.0, diffusivity=1e-12, rest_duration=900.0, n_pulses=3)
    res = _gitt(rec)
    assert all(res.pulse_quality(k).has("not_relaxed") for k in range(1, 4))
    msg = dict(res.pulse_quality(1).reasons)["not_relaxed"]
    assert "mV/h at the end of the rest after the pulse" in msg


def test_unsteady_current_coarse_sampling_and_missing_rests() -> None:
    rec = synthetic_gitt(geometry="planar", radius=2000.0, n_pulses=3, seed=1)
    cur = rec.current.copy()
    on = cur > 0
    first = np.flatnonzero(on)[:601]
    cur[first] *= np.linspace(0.9, 1.1, first.size)  # a drifting first pulse
    res = _gitt(rec.replace(current=cur))
    assert res.pulse_quality(1).has("unsteady_current") and not res.pulse_quality(2).has("unsteady_current")
    # 100 s logging on 600 s pulses: five records in the fit window
    coarse = synthetic_gitt(geometry="planar", radius=2000.0, n_pulses=2, sample_interval=100.0)
    rc = _gitt(coarse)
    assert rc.quality.level == "failed" and np.all(np.isnan(rc.diffusivity))
    assert rc.pulse_quality(1).has("coarse_sampling")
    # a record that starts with the pulse: no relaxed voltage before it
    keep = np.flatnonzero(rec.time > 3600.0)  # from the first pulse record on
    cut = ns.CyclingData(rec.time[keep], rec.voltage[keep], rec.current[keep], mass=rec.mass)
    rcut = gitt(cut, molar_volume=20.5, area=rec.meta["truth"]["area_cm2"], molar_mass=97.28, geometry="planar",
                diffusion_length=2000.0)
    assert rcut.pulse_quality(1).level == "failed" and rcut.pulse_quality(1).has("no_rest")
    assert rcut.pulse_quality(2).level == "good" and rcut.quality.level == "suspect"
    assert math.isnan(rcut.diffusivity[0]) and math.isfinite(rcut.diffusivity[1])


def test_no_pulse_is_an_explicit_failure() -> None:
    # a charge straight into a discharge: current steps next to each other, no titration pulse
    rec = ns.CyclingData(np.arange(10.0), np.full(10, 3.7), np.r_[np.ones(5), -np.ones(5)], mass=0.01)
    res = gitt(rec, molar_volume=20.5, area=10.0, molar_mass=97.28)
    assert not res and res.n_pulses == 0 and "no GITT pulse" in res.message
    assert res.quality.level == "failed"


def test_inputs_accept_quantities_and_the_moles_form() -> None:
    ureg = ns.ureg
    rec = synthetic_gitt(geometry="planar", radius=2000.0, n_pulses=2, seed=0)
    tr = rec.meta["truth"]
    base = _gitt(rec)
    q = gitt(rec, molar_volume=ureg.Quantity(tr["molar_volume"] * 1e-6, "m**3/mol"),
             area=ureg.Quantity(tr["area_cm2"] * 100, "mm**2"), mass=ureg.Quantity(tr["mass"] * 1e3, "mg"),
             molar_mass=ureg.Quantity(tr["molar_mass"] * 1e-3, "kg/mol"), geometry="planar",
             diffusion_length=ureg.Quantity(2.0, "um"))
    np.testing.assert_allclose(q.diffusivity, base.diffusivity, rtol=1e-9)
    m = gitt(rec, molar_volume=tr["molar_volume"], area=tr["area_cm2"], moles=tr["moles"], geometry="planar",
             diffusion_length=2000.0)
    np.testing.assert_allclose(m.diffusivity, base.diffusivity, rtol=1e-9)
    with pytest.raises(ValidationError, match="molar_mass"):
        gitt(rec, molar_volume=20.5, area=10.0)
    with pytest.raises(ValidationError, match="disagrees"):
        gitt(rec, molar_volume=20.5, area=10.0, moles=1.0, molar_mass=97.28)
    with pytest.raises(ValidationError, match="has no mass"):
        gitt(rec.replace(mass=None), molar_volume=20.5, area=10.0, molar_mass=97.28)
    with pytest.raises(ValidationError, match="cm\\*\\*2"):
        gitt(rec, molar_volume=20.5, area=ureg.Quantity(1.0, "g"), molar_mass=97.28)
    with pytest.raises(ValidationError, match="method"):
        gitt(rec, molar_volume=20.5, area=10.0, molar_mass=97.28, method="nonsense")


def test_gitt_result_storage_report_and_plot(tmp_path: object) -> None:
    rec = synthetic_gitt(radius=2000.0, n_pulses=3, seed=0)
    res = _gitt(rec)
    path = ns.save(res, str(tmp_path) + "/gitt.nc")  # type: ignore[operator]
    back = ns.load(path)
    assert type(back).__name__ == "GITTResult" and back == res
    assert back.pulse_quality(2) == res.pulse_quality(2)
    assert list(res.table.quality.values) == [res.pulse_quality(k).level for k in (1, 2, 3)]
    assert json.loads(str(res.table.reasons.values[0]))[0][0] == "long_pulse"
    report = res.fit_report()
    assert "D_1" in report and "long_pulse" in report and "Weppner" in report
    assert "weppner1977" in res.citations and "kang2021" in res.citations
    pytest.importorskip("matplotlib")
    ax = res.plot(x="voltage")
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "Voltage (V)"
    with pytest.raises(ValidationError, match="not a column"):
        res.plot(x="nope")


# --------------------------------------------------------------------------- DCIR
def _truth_rows(rec: ns.CyclingData, res: ns.cycling.DCIRResult) -> np.ndarray:
    starts = res.table.start_time.values
    rows = {round(p["start"], 6): p["r"] for p in rec.meta["truth"]["resistance"]}
    return np.array([rows[round(float(s), 6)] for s in starts])


@pytest.mark.parametrize("seed", [0, 1])
def test_dcir_recovers_known_resistances(seed: int) -> None:
    rec = synthetic_hppc(n_blocks=3, seed=seed)
    res = dcir(rec)
    assert res.n_pulses == 6  # two pulses per block; the 1080 s SOC steps are not pulses
    truth = _truth_rows(rec, res)
    r, se = res.resistance, res.resistance_stderr
    ok = np.isfinite(truth)
    assert np.array_equal(np.isfinite(r), ok)
    assert np.all(np.abs(r[ok] - truth[ok]) < 4 * se[ok])
    np.testing.assert_allclose(r[ok], truth[ok], rtol=0.01)
    # at the first record the series resistance, then R0 + R1 (1 - exp(-t / R1 C1)) plus a diffusion part
    np.testing.assert_allclose(r[:, 0], 0.020, rtol=0.02)
    assert np.all(np.diff(r[0][np.isfinite(r[0])]) > 0)
    assert r[0, 3] == pytest.approx(0.020 + 0.010 * (1 - math.exp(-5.0)), abs=0.004)
    # both directions are positive resistances; the table keeps the signs
    assert set(res.table.direction.values.tolist()) == {1, -1}
    assert np.all(res.table.delta_current.values * res.table.current.values > 0)
    for k in range(1, 7):
        q = res.pulse_quality(k)
        if res.table.duration.values[k - 1] < 18:
            assert q.codes == ["short_pulse"] and math.isnan(r[k - 1, 4])
        else:
            assert q.level == "good", q


@pytest.mark.slow
def test_dcir_stderr_is_calibrated() -> None:
    z = []
    for seed in range(40):
        rec = synthetic_hppc(n_blocks=2, seed=200 + seed, voltage_noise=1e-3)
        res = dcir(rec)
        truth = _truth_rows(rec, res)
        ok = np.isfinite(truth)
        z.extend(((res.resistance - truth) / res.resistance_stderr)[ok])
    cover = float(np.mean(np.abs(np.asarray(z)) < 1.96))
    assert 0.90 <= cover <= 0.98, cover


def test_dcir_noise_estimate_and_given_noise() -> None:
    rec = synthetic_hppc(n_blocks=1, voltage_noise=5e-4, seed=3)
    res = dcir(rec)
    assert res.to_dataset().attrs["voltage_noise"] == pytest.approx(5e-4, rel=0.15)
    given = dcir(rec, voltage_noise=ns.ureg.Quantity(0.5, "mV"))
    np.testing.assert_allclose(given.resistance, res.resistance, equal_nan=True)
    assert given.to_dataset().attrs["voltage_noise_source"] == "given"
    # the values of one pulse share the reference voltage: positive covariance between its delays
    c = given.covariance.values
    assert c[0, 1] > 0 and c[0, 5] == 0


def test_dcir_flags_coarse_sampling_unsteady_current_and_steps_without_rest() -> None:
    rec = synthetic_hppc(n_blocks=1, sample_interval=2.0, seed=0)
    res = dcir(rec)
    q = res.pulse_quality(1)
    assert q.has("coarse_sampling") and "interpolated" in dict(q.reasons)["coarse_sampling"]
    assert np.isfinite(res.resistance[0, 1])  # interpolated between the records at 0 and 2 s
    fine = synthetic_hppc(n_blocks=1, seed=0)
    cur = fine.current.copy()
    first = np.flatnonzero(cur < -4)
    cur[first] *= np.linspace(0.9, 1.1, first.size)
    assert dcir(fine.replace(current=cur)).pulse_quality(1).has("unsteady_current")
    # with no length limit the SOC step is a pulse too: it follows the charge pulse directly
    every = dcir(fine, max_duration=None)
    assert every.n_pulses == 3
    q3 = every.pulse_quality(3)
    assert q3.has("no_rest") and every.table.delta_current.values[2] == pytest.approx(-1.616 - 3.635)


def test_dcir_selection() -> None:
    rec = synthetic_hppc(n_blocks=2, seed=0)
    assert dcir(rec, pulse="discharge").n_pulses == 2
    assert dcir(rec, pulse="charge").n_pulses == 2
    assert dcir(rec, pulse=-4.845).n_pulses == 2
    assert dcir(rec, pulse=ns.ureg.Quantity(3635.0, "mA")).n_pulses == 2
    sel = dcir(rec, pulse=[2, 3])
    assert sel.n_pulses == 2 and sel.table.current.values.tolist() == pytest.approx([3.635, -4.845])
    assert dcir(rec, times=[ns.ureg.Quantity(100.0, "ms")]).delays.tolist() == [0.1]
    with pytest.raises(ValidationError, match="pulse numbers"):
        dcir(rec, pulse=[9])
    with pytest.raises(ValidationError, match="no cycle numbers"):
        dcir(rec, cycles=[1])
    with pytest.raises(ValidationError, match="times"):
        dcir(rec, times=[-1.0])
    empty = dcir(rec, pulse=10.0)
    assert not empty and empty.n_pulses == 0


def test_dcir_storage_and_plot(tmp_path: object) -> None:
    res = dcir(synthetic_hppc(n_blocks=1, seed=0))
    back = ns.load(ns.save(res, str(tmp_path) + "/dcir.nc"))  # type: ignore[operator]
    assert back == res and type(back).__name__ == "DCIRResult"
    assert res.units["R_1@10s"] == "ohm" and res.names[:2] == ["R_1@0s", "R_1@0.1s"]
    pytest.importorskip("matplotlib")
    ax = res.plot()
    assert ax.get_ylabel() == "R (mΩ)" and len(ax.lines) == 9  # 5 delays discharge + 4 charge
    with pytest.raises(ValidationError, match="delay"):
        res.plot(delay=5.0)


@pytest.mark.shared_data
def test_dcir_on_the_real_prediag_pulses() -> None:
    rec = ns.read_cycling(shared_file("cycling", "PreDiag_000412_00008Fshort.022"))
    res = dcir(rec, cycles=[2, 37, 142, 221, 256])
    tb = res.table
    cur = tb.current.values
    # the pulse sequences: -4.845 A for 30 s and +3.635 A for 10 s in each SOC block
    assert res.n_pulses == 78
    assert np.all((np.abs(cur + 4.845) < 0.01) | (np.abs(cur - 3.635) < 0.01))
    r0 = res.resistance[:, 0]
    assert np.all(np.isfinite(r0))
    # the file keeps one record per step: the later delays cannot be taken, and the reference is the rest's
    # only record (at its start), which every pulse's verdict says
    assert np.all(np.isnan(res.resistance[:, 1:]))
    for k in range(1, res.n_pulses + 1):
        q = res.pulse_quality(k)
        assert q.level == "suspect" and q.has("coarse_sampling")
        if not r0[k - 1] > 0:
            assert q.has("not_resolved")
    # where the reference is close to the relaxed voltage (the first pulse after a full charge) and for every
    # charge pulse, R is a plausible few tens of mΩ for a 4.7 Ah cell, rising with ageing
    first = [int(np.flatnonzero(tb.cycle.values == c)[0]) for c in (2, 37, 142, 221, 256)]
    r_first = r0[first] * 1e3
    assert np.all((r_first > 15) & (r_first < 60)), r_first
    assert r_first[-1] > r_first[0]
    r_charge = r0[cur > 0] * 1e3
    assert np.all((r_charge > 15) & (r_charge < 110)), r_charge
    # the noise comes from the fully sampled cycles of the same file
    sigma = res.to_dataset().attrs["voltage_noise"]
    assert 0 < sigma < 1e-3
    assert np.all(np.isfinite(res.resistance_stderr[:, 0]))
    given = dcir(rec, cycles=[2], voltage_noise=1e-4)
    np.testing.assert_allclose(given.resistance_stderr[:, 0] * np.abs(given.table.delta_current.values),
                               1e-4 * np.sqrt(2), rtol=1e-9)
