"""Model validation, immutability and lossless NetCDF storage (hypothesis round trips)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, width=64)
metas = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-(2**40), 2**40), finite, st.text(max_size=8)),
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(st.text(min_size=1, max_size=5).filter(lambda k: not k.startswith("__")), children,
                        max_size=3),
    ),
    max_leaves=8,
)
samples = st.one_of(st.none(), st.sampled_from(["P-NCM", "A(3)-NCM", "F(1.5)-NCM811@100", "F(5)-NCM"]))


@st.composite
def xps_spectra(draw: st.DrawFn) -> ns.XPSSpectrum:
    n = draw(st.integers(2, 40))
    start = draw(st.floats(0, 1200))
    step = draw(st.sampled_from([0.05, 0.1, 1.0, -0.1]))
    be = start + step * np.arange(n)
    y = np.asarray(draw(st.lists(finite, min_size=n, max_size=n)))
    t = np.asarray(draw(st.lists(st.floats(0.1, 10), min_size=n, max_size=n))) if draw(st.booleans()) else None
    return ns.XPSSpectrum(be, y, region=draw(st.one_of(st.none(), st.sampled_from(["Ni 2p", "O 1s"]))),
                          sample=draw(samples), meta={"m": draw(metas)}, transmission=t,
                          excitation_energy=draw(st.sampled_from([1486.6, 1253.6, 1486.69])))


@st.composite
def eis_spectra(draw: st.DrawFn) -> ns.ImpedanceSpectrum:
    n = draw(st.integers(1, 30))
    f = np.logspace(-2, 5, n)[::-1] * draw(st.floats(0.5, 2))
    z = np.asarray(draw(st.lists(finite, min_size=n, max_size=n))) + 1j * np.asarray(
        draw(st.lists(finite, min_size=n, max_size=n)))
    area = draw(st.one_of(st.none(), st.floats(0.01, 10)))
    return ns.ImpedanceSpectrum(f, z, sample=draw(samples), area=area, meta={"m": draw(metas)})


@st.composite
def cycling_records(draw: st.DrawFn) -> ns.CyclingData:
    n = draw(st.integers(1, 40))
    dt = np.asarray(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)))
    t = np.cumsum(dt)
    v = np.asarray(draw(st.lists(st.floats(2.5, 4.5), min_size=n, max_size=n)))
    i = np.asarray(draw(st.lists(st.floats(-0.01, 0.01), min_size=n, max_size=n)))
    cyc = np.sort(np.asarray(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=np.int64))
    cols = {"temperature": np.full(n, 25.0, dtype=np.float32)} if draw(st.booleans()) else None
    return ns.CyclingData(t, v, i, cycle=cyc if draw(st.booleans()) else None, step=cyc + 1,
                          mass=draw(st.one_of(st.none(), st.floats(1e-4, 1))), sample=draw(samples),
                          meta={"m": draw(metas)}, columns=cols, column_units={"temperature": "degC"})


@st.composite
def depth_profiles(draw: st.DrawFn) -> ns.DepthProfile:
    n = draw(st.integers(1, 30))
    t = np.cumsum(np.asarray(draw(st.lists(st.floats(0, 10), min_size=n, max_size=n))))
    names = draw(st.lists(st.sampled_from(["NiF3-", "AlO-", "LiF2-", "PO3-", "C2HO-"]), min_size=1, max_size=4,
                          unique=True))
    ints = {k: np.asarray(draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n))) for k in names}
    return ns.DepthProfile(t, ints, sample=draw(samples), meta={"m": draw(metas)},
                           sputter_rate=draw(st.one_of(st.none(), st.floats(0.01, 5))))


@st.composite
def element_maps(draw: st.DrawFn) -> ns.ElementMap:
    shape = (draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    names = draw(st.lists(st.sampled_from(["Al", "Ni", "Mn", "Co", "O", "F"]), min_size=1, max_size=4, unique=True))
    dtype = draw(st.sampled_from([np.float64, np.int64, np.uint16, np.float32]))
    rng = np.random.default_rng(draw(st.integers(0, 1000)))
    maps = {k: (rng.random(shape) * 100).astype(dtype) for k in names}
    return ns.ElementMap(maps, pixel_size=draw(st.one_of(st.none(), st.floats(0.1, 1000))), sample=draw(samples),
                         meta={"m": draw(metas)})


ALL_MODELS = st.one_of(xps_spectra(), eis_spectra(), cycling_records(), depth_profiles(), element_maps())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(model=ALL_MODELS)
def test_save_load_roundtrip_property(model: ns.XPSSpectrum, tmp_path: Path) -> None:
    path = ns.save(model, tmp_path / "m.nc")
    back = ns.load(path)
    assert type(back) is type(model)
    assert back == model
    assert back.sample == model.sample
    assert repr(back.meta) == repr(model.meta)
    for name in list(model.data.coords) + (list(model.data.data_vars) if hasattr(model.data, "data_vars") else []):
        assert back.data[name].dtype == model.data[name].dtype
        assert back.data[name].attrs == model.data[name].attrs
    assert back.data.attrs == model.data.attrs


def test_roundtrip_complex_units_nested(tmp_path: Path) -> None:
    meta = {"instrument": {"name": "SP-150", "channels": [1, 2, (3, "x")], "settings": {"amp": 0.01}},
            "date": None, "flag": True, "q": ns.ureg.Quantity(1.5, "cm**2"), "arr": np.arange(4, dtype=np.int16),
            "sample": ns.Sample.parse("F(3)-NCM@100"), "nan": float("nan")}
    z = ns.ImpedanceSpectrum([1e4, 1e2, 1.0], [1 - 2j, 3 - 4j, 5 - 6j], sample="A(1)-NCM", area=1.13, meta=meta)
    back = ns.load(ns.save(z, tmp_path / "z.nc"))
    assert back == z
    assert back.impedance.dtype == np.complex128
    assert np.array_equal(back.impedance, z.impedance)
    assert back.data.attrs["units"] == "ohm" and back.area == 1.13
    assert back.meta["instrument"]["channels"][2] == (3, "x")
    assert back.meta["q"] == ns.ureg.Quantity(1.5, "cm**2")
    assert back.meta["arr"].dtype == np.int16


def test_roundtrip_lists_dicts_xarray(tmp_path: Path) -> None:
    a = ns.XPSSpectrum([1, 2, 3], [4, 5, 6], region="C 1s")
    b = ns.DepthProfile([0, 1], {"AlO-": [1, 2]})
    assert ns.load(ns.save([a, b], tmp_path / "l.nc")) == [a, b]
    assert ns.load(ns.save({"x": a, "y": (b,)}, tmp_path / "d.nc")) == {"x": a, "y": (b,)}
    import xarray as xr

    ds = xr.Dataset({"v": ("sample", np.array([1.0, np.nan]))},
                    coords={"sample": np.array(["P-NCM", "A(1)-NCM"]), "n": ("sample", [np.nan, 1.0])},
                    attrs={"reasons": {"P-NCM": ["no file"]}})
    back = ns.load(ns.save(ds, tmp_path / "ds.nc"))
    assert back.identical(ds)
    assert back["sample"].dtype == ds["sample"].dtype


def test_load_errors(tmp_path: Path) -> None:
    with pytest.raises(ns.ReadError, match="no such file"):
        ns.load(tmp_path / "missing.nc")
    p = tmp_path / "junk.nc"
    p.write_bytes(b"not a netcdf file at all")
    with pytest.raises(ns.ReadError, match="not a NetCDF"):
        ns.load(p)


def test_save_rejects_unstorable(tmp_path: Path) -> None:
    with pytest.raises(ns.ValidationError):
        ns.save(object(), tmp_path / "x.nc")
    with pytest.raises(ns.ValidationError, match="cannot be stored"):
        ns.save(ns.XPSSpectrum([1, 2], [3, 4], meta={"f": object()}), tmp_path / "y.nc")


# ------------------------------------------------------------------ validation
@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: ns.XPSSpectrum([1, 2, np.nan], [1, 2, 3]), r"binding_energy: non-finite value nan at index 2"),
        (lambda: ns.XPSSpectrum([1, 2, 3], [1, np.inf, 3]), r"intensity: non-finite value inf at index 1"),
        (lambda: ns.XPSSpectrum([1, 2, 3], [1, 2]), r"intensity: length 2 does not match binding_energy length 3"),
        (lambda: ns.XPSSpectrum([], []), r"binding_energy: .*empty"),
        (lambda: ns.XPSSpectrum([1, 2, 2, 3], [1, 2, 3, 4]), r"binding_energy: duplicate value 2.0 at index 2"),
        (lambda: ns.XPSSpectrum([1, 2, 1.5, 3], [1, 2, 3, 4]), r"binding_energy: not monotonic at index 2"),
        (lambda: ns.XPSSpectrum([[1, 2]], [[1, 2]]), r"binding_energy: expected a 1-D array"),
        (lambda: ns.ImpedanceSpectrum([10, 0, 1], [1, 2, 3]), r"frequency: must be > 0 Hz, got 0.0 at index 1"),
        (lambda: ns.ImpedanceSpectrum([10, -1], [1, 2]), r"frequency: must be > 0 Hz, got -1.0 at index 1"),
        (lambda: ns.ImpedanceSpectrum([10, 5, 10], [1, 2, 3]), r"frequency: duplicate frequency 10.0 Hz at index 2"),
        (lambda: ns.ImpedanceSpectrum([10, 5], [1, complex(np.nan, 0)]), r"impedance: non-finite .* at index 1"),
        (lambda: ns.ImpedanceSpectrum([10, 5], [1]), r"impedance: length 1 does not match frequency length 2"),
        (lambda: ns.ImpedanceSpectrum([10], [1], area=0), r"area: must be finite and > 0"),
        (lambda: ns.CyclingData([0, 2, 1], [3, 3, 3], [0, 0, 0]), r"time: decreases at index 2"),
        (lambda: ns.CyclingData([0, 1], [3, np.nan], [0, 0]), r"voltage: non-finite value nan at index 1"),
        (lambda: ns.CyclingData([0, 1], [3, 3], [0]), r"current: length 1 does not match time length 2"),
        (lambda: ns.CyclingData([0, 1], [3, 3], [0, 0], mass=0), r"mass: must be finite and > 0 g, got 0.0"),
        (lambda: ns.CyclingData([0, 1], [3, 3], [0, 0], cycle=[1, 1.5]), r"cycle: non-integer value 1.5 at index 1"),
        (lambda: ns.DepthProfile([0, 1], {"AlO-": [1, np.nan]}), r"intensities\['AlO-'\]: non-finite .* index 1"),
        (lambda: ns.DepthProfile([0, 1], {}), r"intensities: expected a non-empty mapping"),
        (lambda: ns.DepthProfile([0, 1], {"AlO-": [1, 2, 3]}), r"length 3 does not match sputter_time length 2"),
        (lambda: ns.ElementMap({"Al": np.ones((2, 2)), "Ni": np.ones((2, 3))}), r"maps\['Ni'\]: shape \(2, 3\)"),
        (lambda: ns.ElementMap({"Al": np.ones(3)}), r"maps\['Al'\]: expected a 2-D array"),
        (lambda: ns.ElementMap({"Al": np.array([[1.0, np.inf]])}), r"maps\['Al'\]: non-finite value inf at index"),
        (lambda: ns.ElementMap({}), r"maps: expected a non-empty mapping"),
    ],
)
def test_validation_names_field_and_index(build: object, match: str) -> None:
    with pytest.raises(ns.ValidationError, match=match):
        build()  # type: ignore[operator]


def test_immutable() -> None:
    y = np.array([1.0, 2.0, 3.0])
    s = ns.XPSSpectrum([3, 2, 1], y)
    y[0] = 100.0  # changing the caller's array does not reach the model
    assert s.intensity[0] == 1.0
    with pytest.raises(AttributeError):
        s.region = "x"  # type: ignore[misc]
    with pytest.raises(ValueError):
        s.intensity[0] = 5.0
    meta = s.meta
    meta["new"] = 1
    assert "new" not in s.meta
    assert s.replace(region="O 1s").region == "O 1s" and s.region is None


def test_units_accept_quantities() -> None:
    q = ns.ureg.Quantity
    z = ns.ImpedanceSpectrum(q([1.0, 2.0], "kHz"), [1, 2], area=q(100, "mm**2"))
    assert z.frequency.tolist() == [1000.0, 2000.0] and z.area == pytest.approx(1.0)
    c = ns.CyclingData(q([0, 1], "h"), [3, 3], q([1, 1], "mA"), mass=q(12, "mg"))
    assert c.time.tolist() == [0.0, 3600.0] and c.current.tolist() == [0.001, 0.001] and c.mass == pytest.approx(0.012)
    with pytest.raises(ns.ValidationError, match="cannot convert"):
        ns.ImpedanceSpectrum(q([1.0], "m"), [1])


def test_accessors_and_dataframe() -> None:
    s = ns.XPSSpectrum.from_kinetic([600.0, 601.0], [1, 2], excitation_energy=1486.6, region="Ni 2p")
    assert s.binding_energy.tolist() == pytest.approx([886.6, 885.6])
    assert s.kinetic_energy.tolist() == pytest.approx([600.0, 601.0])
    assert list(s.to_dataframe().columns) == ["binding_energy", "intensity"]
    c = ns.CyclingData([0, 1], [3, 4], [1e-3, 1e-3], cycle=[1, 1], columns={"T": [25.0, 26.0]})
    assert len(c) == 2 and c.columns["T"].tolist() == [25.0, 26.0] and c.step is None
    p = ns.DepthProfile([0, 1], {"AlO-": [1, 2]})
    assert p.depth is None and p["AlO-"].tolist() == [1.0, 2.0]
    with pytest.raises(KeyError, match="available"):
        p["NiF3-"]


def test_plot_smoke() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = ns.XPSSpectrum([3, 2, 1], [1, 2, 3], region="Ni 2p", sample="P-NCM").plot()
    assert ax.get_xlim()[0] > ax.get_xlim()[1]  # binding energy decreases to the right
    ax = ns.ImpedanceSpectrum([10, 1], [1 - 1j, 2 - 2j]).plot(kind="bode")
    assert ax.get_xscale() == "log"
    ns.ElementMap({"Al": np.ones((3, 3))}).plot()
    ns.DepthProfile([0, 1], {"AlO-": [1, 2]}, sputter_rate=0.1).plot()
    ns.CyclingData([0, 1], [3, 4], [0, 0]).plot()
