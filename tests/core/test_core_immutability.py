"""Models are immutable: no public attribute or accessor gives a way to change one in place."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import ncmsurf as ns


def _models() -> list[Any]:
    return [
        ns.XPSSpectrum([3.0, 2.0, 1.0], [4.0, 5.0, 6.0], region="C 1s", transmission=[1.0, 0.9, 0.8],
                       meta={"scans": [1, 2]}),
        ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], area=1.0),
        ns.CyclingData([0.0, 1.0, 2.0], [3.0, 3.5, 4.0], [1e-3, 1e-3, -1e-3], cycle=[1, 1, 2], step=[1, 1, 2],
                       columns={"temperature": [25.0, 25.5, 26.0]}),
        ns.DepthProfile([0.0, 1.0, 2.0], {"AlO-": [1.0, 2.0, 3.0]}, sputter_rate=0.1),
        ns.ElementMap({"Al": np.ones((2, 2)), "Ni": np.arange(4).reshape(2, 2)}, pixel_size=5.0),
    ]


def _arrays(value: Any) -> list[np.ndarray]:
    if isinstance(value, np.ndarray):
        return [value]
    if isinstance(value, dict):
        return [a for v in value.values() for a in _arrays(v)]
    return []


@pytest.mark.parametrize("m", _models(), ids=lambda m: type(m).__name__)
def test_array_accessors_are_read_only(m: Any) -> None:
    before = m.replace()
    found = 0
    for name in dir(type(m)):
        if name.startswith("_") or not isinstance(getattr(type(m), name), property):
            continue
        for arr in _arrays(getattr(m, name)):
            shares = any(np.shares_memory(arr, np.asarray(v.values)) for v in _all_variables(m))
            if shares:
                found += 1
                assert not arr.flags.writeable, f"{type(m).__name__}.{name} is a writable view of the model"
                with pytest.raises(ValueError, match="read-only"):
                    arr.flat[0] = 99
    for key in (list(m.data.data_vars) if hasattr(m.data, "data_vars") else []):
        views = [m.data[key].values] + ([m[key]] if hasattr(m, "__getitem__") else [])
        for arr in views:
            with pytest.raises(ValueError, match="read-only"):
                arr.flat[0] = 99
    assert found > 0
    assert m == before


def _all_variables(m: Any) -> list[Any]:
    d = m._data
    return [d.variable, *d.coords.variables.values()] if not hasattr(d, "data_vars") else list(d.variables.values())


def test_xps_binding_energy_cannot_be_changed_in_place() -> None:
    s = ns.XPSSpectrum([3.0, 2.0, 1.0], [4.0, 5.0, 6.0], transmission=[1.0, 1.0, 1.0])
    for arr in (s.binding_energy, s.transmission, s.intensity, s.data["binding_energy"].values):
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 99.0
    assert s.binding_energy.tolist() == [3.0, 2.0, 1.0] and s.transmission.tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("m", _models(), ids=lambda m: type(m).__name__)
def test_data_meta_and_storage_form_are_copies(m: Any) -> None:
    before = m.replace()
    d = m.data
    d.attrs["units"] = "changed"
    d.attrs["new"] = 1
    for name in d.coords:
        d.coords[name].attrs["units"] = "changed"
    if hasattr(d, "data_vars"):
        for name in list(d.data_vars):
            d[name].attrs["units"] = "changed"
            d[name] = d[name] * 2
    meta = m.meta
    meta["scans"] = "changed"
    ds = m.to_dataset()
    ds.attrs["units"] = "changed"
    ds.attrs["ncmsurf_meta"]["x"] = 1
    df = m.to_dataframe()
    df.iloc[0, 0] = -1.0
    assert m == before
    with pytest.raises(AttributeError, match="immutable"):
        m.sample = None
    with pytest.raises(AttributeError):
        m.anything = 1
