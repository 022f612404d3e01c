"""Batch fitting of stacks: same numbers as single fits, dask path equal to the serial path to 1e-10."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import ncmsurf as ns
from ncmsurf.core.errors import FitError
from ncmsurf.datasets.xps import synthetic_map, synthetic_stack


@pytest.fixture(scope="module")
def stack():
    return synthetic_stack("Ni 2p", 6, seed=10, area=1e6)


@pytest.fixture(scope="module")
def serial(stack):
    return ns.xps.fit(stack, "Ni 2p", background="active-shirley")


def test_stack_matches_truth_and_single_fits(stack, serial):
    assert isinstance(serial, ns.xps.XPSStackFit) and isinstance(serial, ns.FitResult)
    assert serial["success"].all()
    assert (serial["quality"] == "good").all() and serial.quality.level == "good"
    assert isinstance(serial.to_xarray(), xr.Dataset)
    truth = stack.attrs["fractions"][:, 0]  # generator truth: Ni2+ share per spectrum
    got = serial["fraction"].sel(main="Ni2+").values
    err = serial["fraction_stderr"].sel(main="Ni2+").values
    assert np.all(np.abs(got - truth) < 4 * err)
    # the same spectrum fitted alone converges to the same optimum
    spec = ns.XPSSpectrum(stack["binding_energy"].values, stack.values[2], region="Ni 2p")
    single = ns.xps.fit(spec, "Ni 2p", background="active-shirley")
    assert single.fraction("Ni2+")[0] == pytest.approx(got[2], abs=1e-6)
    assert single.params["Ni2+.center"][0] == pytest.approx(
        float(serial["params"].sel(param="Ni2+.center")[2]), abs=1e-6)


def test_dask_equals_serial(stack, serial):
    pytest.importorskip("dask")
    chunked = stack.chunk({"spectrum": 2})
    par = ns.xps.fit(chunked, "Ni 2p", background="active-shirley")
    for name in ("params", "params_stderr", "areas", "fraction", "fraction_stderr", "redchi"):
        np.testing.assert_allclose(par[name].values, serial[name].values, rtol=1e-10, atol=0)
    again = ns.xps.fit(stack, "Ni 2p", background="active-shirley", dask=True)
    np.testing.assert_array_equal(again["params"].values, serial["params"].values)  # deterministic


def test_dask_distributed_client(stack, serial):
    distributed = pytest.importorskip("distributed")
    with distributed.Client(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as client:
        par = ns.xps.fit(stack, "Ni 2p", background="active-shirley", client=client)
    np.testing.assert_allclose(par["params"].values, serial["params"].values, rtol=1e-10, atol=0)


def test_map_stack_and_failures():
    m = synthetic_map("O 1s", (2, 3), seed=1, area=5e5)
    vals = m.values.copy()
    vals[1, 2] = 5000.0  # a pixel with no signal
    m = m.copy(data=vals)
    out = ns.xps.fit(m, "O 1s", background="shirley")
    assert out["fraction"].dims == ("y", "x", "main")
    ok = out["success"].values
    assert ok.sum() == 5 and not ok[1, 2]
    assert np.all(np.isnan(out["params"].values[1, 2]))


def test_numpy_map_with_energies():
    m = synthetic_map("O 1s", (2, 2), seed=3, area=5e5)
    a = ns.xps.fit(m, "O 1s")
    b = ns.xps.fit(m.values, "O 1s", binding_energy=m["binding_energy"].values)
    assert b["params"].dims == ("y", "x", "param")
    np.testing.assert_array_equal(a["params"].values, b["params"].values)


def test_stack_input_errors(stack):
    with pytest.raises(FitError, match="DataArray"):
        ns.xps.fit(stack.values, "Ni 2p")
    with pytest.raises(FitError, match="energies"):
        ns.xps.fit(stack.values, "Ni 2p", binding_energy=[1.0, 2.0])
    be = stack["binding_energy"].values
    bad = stack.assign_coords(binding_energy=be[[1, 0, *range(2, be.size)]])
    with pytest.raises(FitError, match="monotonic"):
        ns.xps.fit(bad, "Ni 2p")
    o = synthetic_stack("O 1s", 2)
    with pytest.raises(FitError, match="does not match"):
        ns.xps.fit(o, "Ni 2p")


def test_stack_result_and_failed_fit_are_storable(tmp_path, serial):
    back = ns.load(ns.save(serial, tmp_path / "stack.nc"))
    assert back == serial and type(back) is ns.xps.XPSStackFit
    flat = ns.XPSSpectrum(np.linspace(892, 842, 501), np.random.default_rng(1).poisson(5000, 501).astype(float),
                          region="Ni 2p")
    failed = ns.xps.fit(flat, "Ni 2p")
    assert not failed.success
    assert ns.load(ns.save(failed, tmp_path / "failed.nc")) == failed
