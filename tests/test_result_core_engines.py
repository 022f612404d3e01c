"""Every XPS, fade, thickness, SIMS and EDS result is an ns.FitResult with the generic services working."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.datasets.coating import synthetic_map, synthetic_profile, synthetic_shell
from ncmsurf.datasets.xps import synthetic_spectrum, synthetic_stack


def _xps() -> Any:
    return ns.xps.fit(synthetic_spectrum("Ni 2p", seed=3), "Ni 2p", background="active-shirley")


def _stack() -> Any:
    return ns.xps.fit(synthetic_stack("Ni 2p", 3, seed=0), "Ni 2p", background="active-shirley")


def _fade() -> Any:
    n = np.arange(1, 121.0)
    q = 200 * np.exp(-2e-3 * n) * (1 + 0.002 * np.random.default_rng(0).standard_normal(n.size))
    return ns.cycling.fit_fade(n, q)


def _sims() -> Any:
    p = synthetic_profile(coating_thickness=5.0, sputter_rate=0.05, width=1.0, noise=0.03, seed=1)
    return ns.sims.interface(p, "AlO2-", sputter_rate_stderr=0.002)


CASES: dict[str, Callable[[], Any]] = {
    "XPSFit": _xps,
    "XPSStackFit": _stack,
    "FadeFit": _fade,
    "Thickness": lambda: ns.thickness.from_ratio(0.5, 1.0, bulk_ratio=0.72, attenuation_length=2.8,
                                                 i_overlayer_stderr=0.02),
    "ArxpsResult": lambda: ns.thickness.from_arxps(
        [0, 30, 45, 60], 0.7 * np.expm1(3.0 / (2.8 * np.cos(np.radians([0, 30, 45, 60])))) * [1.01, 0.99, 1.0, 1.02],
        attenuation_length=2.8),
    "DepositionRate": lambda: ns.thickness.deposition_rate(["A(1)-NCM", "A(2)-NCM", "A(3)-NCM"], [0.52, 0.98, 1.51]),
    "Interface": _sims,
    "Coverage": lambda: ns.eds.coverage(synthetic_map(coverage=0.7, cv=0.1, shape=(64, 64), seed=2), "Al"),
    "Uniformity": lambda: ns.eds.uniformity(synthetic_map(coverage=0.9, cv=0.15, seed=3), "Al"),
    "ShellWidth": lambda: ns.eds.shell_width(synthetic_shell(radius=80, shell=12, pixel_size=2, seed=0), "Al"),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def result(request: pytest.FixtureRequest) -> Any:
    return CASES[request.param]()


def test_is_a_fit_result_with_the_generic_services(result: Any, tmp_path: Path) -> None:
    assert isinstance(result, ns.FitResult)
    assert type(result).__name__ in ns.core.results.result_types()
    assert result.quality.level in ("good", "suspect", "failed")
    assert bool(result) == (result.quality.level != "failed")
    report = result.fit_report()
    assert "quality:" in report and result.names[0] in report
    assert "<table>" in result._repr_html_()
    u = result.uvalues()
    assert set(u) == set(result.names)
    assert isinstance(result.citations, tuple)
    back = ns.load(ns.save(result, tmp_path / "r.nc"))
    assert type(back) is type(result) and back == result
    assert pickle.loads(pickle.dumps(result)) == result
    assert type(result).from_dataset(result.to_dataset()) == result


def test_results_are_immutable(result: Any) -> None:
    with pytest.raises(AttributeError):
        result.quality = ns.Quality.good()  # type: ignore[misc]
    before = result.to_dataset()
    for name in dir(type(result)):
        if name.startswith("_") or not isinstance(getattr(type(result), name, None), property):
            continue
        got = getattr(result, name)
        if isinstance(got, np.ndarray):
            if got.flags.writeable:  # a fresh array (e.g. a residual computed on demand): writing it is harmless
                got[...] = 0
        elif isinstance(got, dict):
            got.clear()  # a new dict each time: clearing it changes nothing
        elif isinstance(got, list):
            got.clear()
    assert result.to_dataset().identical(before)


def test_renamed_accessors() -> None:
    xps = _xps()
    assert isinstance(xps.model, str) and xps.model == "Ni 2p"
    assert [c.name for c in xps.model_components][:2] == ["Ni2+", "Ni3+"]
    it = _sims()
    assert isinstance(it.stderr, dict) and math.isfinite(it.value_stderr) and it.value_stderr == it.depth_stderr
    d = CASES["Thickness"]()
    assert d * 2 == pytest.approx(2 * d.value) and d.stderr == {"thickness": d.value_stderr}
    a = CASES["ArxpsResult"]()
    t, e = a
    assert (t, e) == (a.thickness, a.thickness_stderr) and a == (t, e)
    r = CASES["DepositionRate"]()
    rate, low, high = r
    assert low < rate < high and r.rate_stderr > 0


def test_files_from_before_the_result_core_still_load() -> None:
    import xarray as xr

    # the attribute-only layouts older versions wrote
    t = ns.thickness.Thickness.from_dataset(xr.Dataset(attrs={"value": 2.0, "stderr": 0.1, "method": "hill",
                                                              "note": "", "units": "nm"}))
    assert isinstance(t, ns.thickness.Thickness) and (t.value, t.value_stderr) == (2.0, 0.1)
    assert t.quality.level == "suspect" and t.quality.codes == ["input"]  # the checks were never run
    c = ns.eds.Coverage.from_dataset(xr.Dataset(attrs={"element": "Al", "fraction": 0.7, "n_particle": 100,
                                                       "n_covered": 70, "threshold": 5.0, "reason": ""}))
    assert c.fraction == 0.7 and c.n_covered == 70
    itf = ns.sims.Interface.from_dataset(xr.Dataset(attrs={
        "fragment": "AlO2-", "time": 80.0, "width_16_84": 9.9, "level": 0.5, "direction": "falling",
        "plateau": 1000.0, "background": 1.0, "reason": "", "success": 1, "method": "crossing",
        "time_stderr": 0.2, "width_stderr": 0.3, "depth": 4.0, "width_depth": 0.495, "sputter_rate": 0.05}))
    assert itf.depth == pytest.approx(4.0) and itf.depth_stderr == pytest.approx(0.01)
