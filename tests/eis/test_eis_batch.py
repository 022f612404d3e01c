"""fit_many: warm starts, DataArray stacks, dask parallel path identical to serial."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import ncmsurf as ns
from ncmsurf.core.errors import FitError
from ncmsurf.datasets.eis import NCM_TRUTH, synthetic_spectrum


def _series(n: int) -> list[ns.ImpedanceSpectrum]:
    # R_SEI and R_ct grow along the series (a cell ageing over cycles)
    return [synthetic_spectrum("ncm", {**NCM_TRUTH, "R1": 25.0 * (1 + 0.05 * i), "R2": 60.0 * (1 + 0.03 * i)},
                               noise=0.005, seed=i, sample=f"A(3)-NCM@{10 * i}") for i in range(n)]


def test_fit_many_serial_matches_truth_and_single_fits() -> None:
    specs = _series(6)
    ds = ns.eis.fit_many(specs, "ncm")
    assert ds["R1"].dims == ("spectrum",) and ds.sizes["spectrum"] == 6
    assert ds["R1"].attrs["long_name"] == "R_SEI" and ds["R2"].attrs["long_name"] == "R_ct"
    assert bool(ds["success"].all())
    true_r1 = 25.0 * (1 + 0.05 * np.arange(6))
    np.testing.assert_allclose(ds["R1"].values, true_r1, rtol=0.02)  # generator truth, 0.5 % noise
    assert np.all(ds["R1_stderr"].values > 0)
    assert list(ds["sample"].values) == [str(s.sample) for s in specs]
    # warm-started fits reach the same optimum as independent fits (well-conditioned parameters)
    single = ns.eis.fit(specs[3], "ncm")
    np.testing.assert_allclose(ds["R2"].values[3], single.params["R2"], rtol=1e-5)
    # effective capacitances of both CPEs, as the single fit gives them
    c, se = single.effective_capacitance()["CPE2"]
    np.testing.assert_allclose(ds["C_eff_CPE2"].values[3], c, rtol=1e-4)
    np.testing.assert_allclose(ds["C_eff_CPE2_stderr"].values[3], se, rtol=1e-2)
    assert ds["C_eff_CPE1"].attrs["units"] == "F" and np.all(ds["C_eff_CPE1_stderr"].values > 0)
    no_cpe = ns.eis.fit_many([synthetic_spectrum("R0-p(R1,C1)", {"R0": 1.0, "R1": 5.0, "C1": 1e-3})], "R0-p(R1,C1)")
    assert not any(str(v).startswith("C_eff") for v in no_cpe.data_vars)


def test_fit_many_dataarray_stack() -> None:
    f = synthetic_spectrum("ncm", NCM_TRUTH).frequency
    z = np.array([[synthetic_spectrum("ncm", {**NCM_TRUTH, "R2": 60.0 + 10 * cyc + 5 * cell}, noise=0.0).impedance
                   for cyc in range(3)] for cell in range(2)])
    da = xr.DataArray(z, dims=("cell", "cycle", "frequency"),
                      coords={"cell": ["P-NCM", "A(3)-NCM"], "cycle": [1, 50, 100], "frequency": f})
    ds = ns.eis.fit_many(da, "ncm")
    assert ds["R2"].dims == ("cell", "cycle")
    expected = 60.0 + 10 * np.arange(3)[None, :] + 5 * np.arange(2)[:, None]
    np.testing.assert_allclose(ds["R2"].values, expected, rtol=1e-5)  # noiseless truth
    assert list(ds["cycle"].values) == [1, 50, 100]


def test_fit_many_parallel_identical_to_serial() -> None:
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    specs = _series(8)
    rng = np.random.default_rng(0)  # a noise spectrum inside a warm-start chain (the two paths disagreed)
    f = specs[0].frequency
    specs.insert(3, ns.ImpedanceSpectrum(f, rng.normal(size=f.size) + 1j * rng.normal(size=f.size)))
    serial = ns.eis.fit_many(specs, "ncm", chain=3)
    assert serial["quality"].values[3] == "failed" and np.isnan(serial["R1"].values[3])
    assert serial["quality"].values[4] != "failed"  # the chain goes on from the last usable fit
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        par = ns.eis.fit_many(specs, "ncm", chain=3, parallel=True, client=client)
    for name in serial.data_vars:
        if serial[name].dtype.kind == "U":
            assert par[name].values.tolist() == serial[name].values.tolist(), name
            continue
        np.testing.assert_allclose(par[name].values.astype(float), serial[name].values.astype(float),
                                   rtol=1e-10, atol=0, err_msg=name)
    again = ns.eis.fit_many(specs, "ncm", chain=3)
    xr.testing.assert_identical(again, serial)  # deterministic


def test_fit_many_is_storable_and_errors(tmp_path: Path) -> None:
    ds = ns.eis.fit_many(_series(2), "ncm")
    back = ns.load(ns.save(ds, tmp_path / "many.nc"))
    xr.testing.assert_identical(back, ds)
    with pytest.raises(FitError, match="empty"):
        ns.eis.fit_many([], "ncm")
    with pytest.raises(FitError, match="frequency"):
        ns.eis.fit_many(xr.DataArray(np.ones((2, 3)), dims=("a", "b")), "ncm")
    with pytest.raises(FitError, match="ImpedanceSpectrum"):
        ns.eis.fit_many([1, 2], "ncm")  # type: ignore[list-item]


def test_fit_many_marks_unfittable_spectrum() -> None:
    specs = _series(2)
    bad = ns.ImpedanceSpectrum([1.0, 2.0, 3.0], [0j, 0j, 0j])
    ds = ns.eis.fit_many([specs[0], bad, specs[1]], "ncm")
    assert ds["success"].values.tolist() == [True, False, True]
    assert np.isnan(ds["R1"].values[1])


def test_fit_many_parallel_starts_its_own_cluster() -> None:
    pytest.importorskip("distributed")
    specs = _series(3)
    par = ns.eis.fit_many(specs, "ncm", parallel=True, chain=1)
    serial = ns.eis.fit_many(specs, "ncm", chain=1)
    np.testing.assert_allclose(par["R2"].values, serial["R2"].values, rtol=1e-10, atol=0)


def test_synthetic_spectrum_options() -> None:
    s = synthetic_spectrum("ncm", NCM_TRUTH, frequency=[1.0, 10.0, 100.0] * ns.ureg.kHz, noise=0.0,
                           area=2.0, sample="F(5)-NCM")
    np.testing.assert_array_equal(s.frequency, [1e3, 1e4, 1e5])
    assert s.area == 2.0 and str(s.sample) == "F(5)-NCM" and s.meta["true_params"] == NCM_TRUTH
    z = ns.eis.compile_circuit("ncm")([NCM_TRUTH[k] for k in ns.eis.compile_circuit("ncm").param_names], s.frequency)
    np.testing.assert_array_equal(s.impedance, z)  # noise=0 gives the model exactly
    with pytest.raises(ns.ValidationError, match="missing"):
        synthetic_spectrum("ncm", {"R0": 1.0})
    with pytest.raises(ns.ValidationError, match="not parameters"):
        synthetic_spectrum("R0", {"R0": 1.0, "R9": 2.0})
