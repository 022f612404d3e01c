"""Storage you can trust: checksums, bounded allocation, the type registry, exact round trips, CF attributes."""

from __future__ import annotations

import datetime as dt
import enum
import json
import os
import tracemalloc
from collections import OrderedDict
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import xarray as xr

import ncmsurf as ns
from ncmsurf.io import netcdf

HEADER = 512


# ----------------------------------------------------------------- helpers
def reheader(path: Path) -> None:
    """Rewrite the file header for the current content (what someone crafting a file would do)."""
    size = path.stat().st_size - HEADER
    with open(path, "r+b") as fh:
        digest = netcdf._hash_file(fh, HEADER, size)
        fh.seek(0)
        fh.write(netcdf._header(digest, size))


def reseal(path: Path, layouts: dict[str, Any] | None = None) -> None:
    """Recompute every group's checksum and the header: a crafted file that passes the integrity checks.

    ``layouts`` gives the layout to take the variable names from, for groups whose layout is not JSON.
    """
    with h5py.File(path, "r+") as f:
        groups: list[tuple[str, h5py.Group]] = [("/", f)]
        f.visititems(lambda n, o: groups.append(("/" + n, o)) if isinstance(o, h5py.Group) else None)
        for gpath, g in groups:
            attrs = {k: g.attrs[k] for k in g.attrs}
            layout = (layouts or {}).get(gpath) or json.loads(attrs["ncmsurf_layout"])
            stored = [(name, np.asarray(g[name][()]), {k: g[name].attrs[k] for k in g[name].attrs})
                      for spec in layout["variables"] for name in spec["stored"]]
            g.attrs["ncmsurf_checksum"] = netcdf._digest(gpath, attrs, stored)
    reheader(path)


def edit_layout(path: Path, group: str, change: Any) -> None:
    with h5py.File(path, "r+") as f:
        layout = json.loads(f[group].attrs["ncmsurf_layout"])
        change(layout)
        f[group].attrs["ncmsurf_layout"] = json.dumps(layout)


def assert_exact(a: Any, b: Any, where: str = "value") -> None:
    """Same type and value at every level (NaN equal to NaN, arrays with the same dtype and bytes)."""
    assert type(a) is type(b), f"{where}: {type(a)} != {type(b)}"
    if isinstance(a, dict):
        assert list(a) == list(b), where
        for k in a:
            assert_exact(a[k], b[k], f"{where}[{k!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_exact(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape, where
        if a.dtype.kind == "O":
            for i, (x, y) in enumerate(zip(a.ravel().tolist(), b.ravel().tolist())):
                assert_exact(x, y, f"{where}.flat[{i}]")
        else:
            assert a.tobytes() == b.tobytes(), where
    elif isinstance(a, np.generic) and a.dtype.kind in "fc" and a.dtype.itemsize > 8 * (1 + (a.dtype.kind == "c")):
        assert a.dtype == b.dtype and (a == b or (a != a and b != b)), where  # padding bytes are not the value
    elif isinstance(a, np.generic):
        assert a.dtype == b.dtype and np.asarray(a).tobytes() == np.asarray(b).tobytes(), where
    elif isinstance(a, float):
        assert a == b or (a != a and b != b), where
    elif isinstance(a, complex):
        assert_exact(a.real, b.real, where)
        assert_exact(a.imag, b.imag, where)
    elif isinstance(a, ns.ureg.Quantity):
        assert str(a.units) == str(b.units), where
        assert_exact(a.magnitude, b.magnitude, where)
    elif isinstance(a, dt.datetime):
        assert a == b and a.tzinfo == b.tzinfo and a.fold == b.fold, where
    else:
        assert a == b, where


def model(meta: dict[str, Any] | None = None) -> ns.XPSSpectrum:
    return ns.XPSSpectrum([3.0, 2.0, 1.0], [4.0, 5.0, 6.0], region="C 1s", sample="A(3)-NCM", meta=meta)


# --------------------------------------------------------------- checksums
def test_file_changed_after_saving_is_refused(tmp_path: Path) -> None:
    p = ns.save(model(), tmp_path / "x.nc")
    data = bytearray(p.read_bytes())
    data[-100] ^= 0x10
    p.write_bytes(bytes(data))
    with pytest.raises(ns.ReadError, match=r"x\.nc: the file's content does not match the checksum"):
        ns.load(p)


def test_group_checksum_names_the_group(tmp_path: Path) -> None:
    a, b = model(), ns.DepthProfile([0.0, 1.0], {"AlO-": [1.0, 2.0]})
    p = ns.save([a, b], tmp_path / "l.nc")
    with h5py.File(p, "r+") as f:
        f["item00001/AlO-"][1] = 2.5  # one value of the second item, written by another tool
    reheader(p)  # the header alone is renewed, as a re-packing tool would
    with pytest.raises(ns.ReadError, match=r"l\.nc: group '/item00001': content does not match its checksum"):
        ns.load(p)
    # the same change in a file without the header (as h5repack writes it) is caught by the group checksum too
    q = tmp_path / "stripped.nc"
    q.write_bytes(p.read_bytes()[HEADER:])
    with pytest.raises(ns.ReadError, match=r"group '/item00001': content does not match its checksum"):
        ns.load(q)


def test_file_without_header_loads(tmp_path: Path) -> None:
    z = ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], area=1.1)
    p = ns.save(z, tmp_path / "z.nc")
    q = tmp_path / "stripped.nc"
    q.write_bytes(p.read_bytes()[HEADER:])
    assert ns.load(q) == z


@pytest.mark.parametrize("change", ["truncate", "append", "header"])
def test_truncated_extended_or_damaged_header(tmp_path: Path, change: str) -> None:
    p = ns.save(model(), tmp_path / "x.nc")
    data = p.read_bytes()
    data = {"truncate": data[:-1], "append": data + b"\0", "header": b"X" + data[1:]}[change]
    p.write_bytes(data)
    with pytest.raises(ns.ReadError):
        ns.load(p)


def test_not_regular_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ns.ReadError, match="not a regular file"):
        ns.load(tmp_path)
    fifo = tmp_path / "pipe.nc"
    os.mkfifo(fifo)
    with pytest.raises(ns.ReadError, match="not a regular file"):
        ns.load(fifo)


# -------------------------------------------------------- bounded allocation
def _peak_of_failing_load(path: Path, match: str) -> int:
    tracemalloc.start()
    try:
        with pytest.raises(ns.ReadError, match=match):
            ns.load(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_crafted_dataset_shape_is_refused_before_allocating(tmp_path: Path) -> None:
    p = ns.save(model(), tmp_path / "x.nc")
    with h5py.File(p, "r+") as f:
        del f["intensity"]
        f.create_dataset("intensity", shape=(10**9,), dtype="f8")  # 8 GB declared, nothing stored
    edit_layout(p, "/", lambda lay: lay["variables"][1].update(shape=[10**9]))
    reheader(p)
    assert p.stat().st_size < 30_000
    peak = _peak_of_failing_load(p, "declares 8000000000 bytes")
    assert peak < 10 * p.stat().st_size


def test_crafted_json_array_size_is_refused_before_allocating(tmp_path: Path) -> None:
    p = ns.save(model({"arr": np.arange(3.0)}), tmp_path / "x.nc")

    def grow(lay: dict[str, Any]) -> None:
        meta = next(a for a in lay["attrs"] if a[0] == "ncmsurf_meta")
        meta[2]["arr"]["shape"] = [10**9]

    edit_layout(p, "/", grow)
    reseal(p)
    peak = _peak_of_failing_load(p, r"array of shape \(1000000000,\).*does not match")
    assert peak < 10 * p.stat().st_size


def test_crafted_text_padding_is_refused(tmp_path: Path) -> None:
    ds = xr.Dataset(coords={"name": ["a", "bb"]})
    p = ns.save(ds, tmp_path / "t.nc")
    edit_layout(p, "/", lambda lay: lay["variables"][0].update(dtype="<U500000000"))
    reseal(p)
    peak = _peak_of_failing_load(p, "padding its data cannot have")
    assert peak < 10 * p.stat().st_size


def test_crafted_format1_arrays_are_refused_before_allocating(tmp_path: Path) -> None:
    src = Path(__file__).parents[1] / "data" / "storage_v1" / "xps.nc"
    for i, bad in enumerate([{"__ndarray_b64__": "AAAA", "dtype": "<f8", "shape": [10**9]},
                             {"__ndarray__": ["a"], "dtype": "<U2000000000", "shape": [1]}]):
        p = tmp_path / f"v1-{i}.nc"
        p.write_bytes(src.read_bytes())
        with h5py.File(p, "r+") as f:
            attrs = json.loads(f.attrs["ncmsurf_attrs"])
            attrs["ncmsurf_meta"]["x"] = bad
            f.attrs["ncmsurf_attrs"] = json.dumps(attrs)
        peak = _peak_of_failing_load(p, "does not match|more than the file can hold|bad dtype")
        assert peak < 2**20  # xarray's own reading of format 1 takes ~130 kB; the array would take GBs


def test_deep_json_nesting_is_a_read_error(tmp_path: Path) -> None:
    p = ns.save(model({"a": 1}), tmp_path / "x.nc")

    def deepen(lay: dict[str, Any]) -> None:
        meta = next(a for a in lay["attrs"] if a[0] == "ncmsurf_meta")
        meta[2]["a"] = "DEEP"

    edit_layout(p, "/", deepen)
    with h5py.File(p, "r+") as f:
        text = f.attrs["ncmsurf_layout"]
    for depth, match in ((200, "nested deeper than 64 levels"), (100_000, "not valid JSON")):
        with h5py.File(p, "r+") as f:
            f.attrs["ncmsurf_layout"] = text.replace('"DEEP"', "[" * depth + "]" * depth)
        reseal(p, {"/": json.loads(text)})
        with pytest.raises(ns.ReadError, match=match):
            ns.load(p)


# ------------------------------------------------------------------ registry
class _Spy:
    """Stands in for a module and records which attributes are looked up on it."""

    def __init__(self, real: Any) -> None:
        self.real, self.seen = real, []

    def __getattr__(self, name: str) -> Any:
        self.seen.append(name)
        return getattr(self.real, name)


@pytest.mark.parametrize("fmt", [1, 2])
def test_type_names_in_files_are_never_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: int) -> None:
    p = tmp_path / "evil.nc"
    if fmt == 2:
        ns.save(model(), p)
        with h5py.File(p, "r+") as f:
            f.attrs["ncmsurf_type"] = "ncmsurf.io.netcdf:os.system"
        reseal(p)
        match = "type tag 'ncmsurf.io.netcdf:os.system' is not known"
    else:
        p.write_bytes((Path(__file__).parents[1] / "data" / "storage_v1" / "xps.nc").read_bytes())
        with h5py.File(p, "r+") as f:
            f.attrs["ncmsurf_class"] = "ncmsurf.io.netcdf:os.system"
        match = "stored class 'ncmsurf.io.netcdf:os.system' is not one ncmsurf stores"
    spy = _Spy(os)
    monkeypatch.setattr(netcdf, "os", spy)
    import importlib

    def no_import(name: str, *a: Any, **k: Any) -> Any:
        raise AssertionError(f"load imported {name!r}")

    monkeypatch.setattr(importlib, "import_module", no_import)
    with pytest.raises(ns.ReadError, match=match):
        ns.load(p)
    assert "system" not in spy.seen


@pytest.mark.parametrize("fmt", [1, 2])
def test_relabelled_group_does_not_load_as_an_empty_study(tmp_path: Path, fmt: int) -> None:
    p = tmp_path / "relabelled.nc"
    if fmt == 2:
        ns.save(model({"a": 1}), p)
        with h5py.File(p, "r+") as f:
            f.attrs["ncmsurf_type"] = "study:study"
        reseal(p)
    else:
        p.write_bytes((Path(__file__).parents[1] / "data" / "storage_v1" / "xps.nc").read_bytes())
        with h5py.File(p, "r+") as f:
            f.attrs["ncmsurf_class"] = "ncmsurf.study:Study"
    with pytest.raises(ns.ReadError, match=r"group '/': does not hold a valid Study"):
        ns.load(p)


def test_relabelled_model_is_refused(tmp_path: Path) -> None:
    p = ns.save(ns.DepthProfile([0.0, 1.0], {"AlO-": [1.0, 2.0]}), tmp_path / "p.nc")
    with h5py.File(p, "r+") as f:
        f.attrs["ncmsurf_type"] = "model:eds"
    reseal(p)
    with pytest.raises(ns.ReadError, match="does not hold a valid ElementMap"):
        ns.load(p)


def test_registry_lists_ncmsurf_types_and_refuses_unregistered_classes(tmp_path: Path) -> None:
    types = netcdf.storable_types()
    for tag in ("model:xps", "model:eis", "model:cycling", "model:sims", "model:eds", "study:study", "xps:fit",
                "eis:circuit_fit", "eis:kk", "eis:drt", "cycling:fade_fit", "sims:interface", "eds:coverage",
                "eds:uniformity", "eds:shell_width", "eds:spectrum", "thickness:thickness", "thickness:arxps",
                "thickness:deposition_rate", "model:tem", "result:CoatingThickness", "result:FitResult"):
        assert tag in types, tag
    assert types["model:tem"] is ns.TEMImage

    class Sub(ns.XPSSpectrum):
        __slots__ = ()

    sub = Sub([1.0, 2.0], [3.0, 4.0])
    with pytest.raises(ns.ValidationError, match="register_storable"):
        ns.save(sub, tmp_path / "sub.nc")


class _Note:
    def __init__(self, text: str, values: np.ndarray) -> None:
        self.text, self.values = text, values

    def to_dataset(self) -> xr.Dataset:
        return xr.Dataset({"values": ("i", self.values)}, attrs={"text": self.text})

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> _Note:
        return cls(ds.attrs["text"], ds["values"].values)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Note) and self.text == other.text and np.array_equal(self.values, other.values)


def test_register_storable_for_plugins(tmp_path: Path) -> None:
    netcdf.register_storable(_Note, "testlab:note")
    netcdf.register_storable(_Note, "testlab:note")  # the same pair again is fine
    note = _Note("hello", np.arange(3))
    assert ns.load(ns.save({"n": note}, tmp_path / "n.nc")) == {"n": note}
    with pytest.raises(ns.ValidationError, match="reserved"):
        netcdf.register_storable(_Note, "model:note")
    with pytest.raises(ns.ValidationError, match="already registered"):
        netcdf.register_storable(_Note, "testlab:other")
    with pytest.raises(ns.ValidationError, match="namespace:name"):
        netcdf.register_storable(_Note, "Note")
    with pytest.raises(ns.ValidationError, match="to_dataset"):
        netcdf.register_storable(int, "testlab:int")


# --------------------------------------------------------- exact round trips
EXACT_META: dict[str, Any] = {
    "f64_nan": np.float64("nan"), "f32_inf": np.float32("inf"), "f16": np.float16(1.5), "neg_inf": float("-inf"),
    "nan": float("nan"), "longdouble": np.longdouble(1) / np.longdouble(3), "clongdouble": np.clongdouble(1 + 2j) / 3,
    "c64": np.complex64(1 - 2j), "cnan": complex(float("nan"), 1.0), "i8": np.int8(-5), "u64": np.uint64(2**64 - 1),
    "bool_": np.bool_(True), "dt64_ns": np.datetime64("2024-05-01T12:30:00.123456789"),
    "dt64_d": np.datetime64("2024-05-01"), "nat": np.datetime64("NaT"), "td64": np.timedelta64(90, "s"),
    "str_": np.str_("Ni 2p"), "bytes_": np.bytes_(b"\x00ab"), "big": 10**40, "neg": -(2**70),
    "when": dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
    "naive": dt.datetime(2024, 5, 1, 12, 30, 0, 5), "day": dt.date(2024, 5, 1), "time": dt.time(12, 30, 1, 7),
    "span": dt.timedelta(days=-1, seconds=5, microseconds=3), "path": Path("/data/x.vms"),
    "q": ns.ureg.Quantity(np.array([1.0, 2.0]), "nm"), "qs": ns.ureg.Quantity(3, "eV"),
    "sample": ns.Sample.parse("F(3)-NCM@100"), "tuple": (1, (2, "x"), []), "empty": {}, "none": None,
    "odd_keys": {1: "int key", (1, 2): "tuple key", "__float__": "dunder key", None: 0},
    "arrays": [np.arange(5, dtype=np.uint16), np.array(["a", "bcd"]), np.array([b"x", b"yz"]), np.array(3.5),
               np.zeros((0, 2)), np.array([[1 + 2j]], dtype=np.complex256),
               np.array(["2024-01-01", "NaT"], dtype="datetime64[ms]"), np.array([True, False]),
               np.array([1, "a", None], dtype=object), np.arange(4.0)[::2], np.array([1.0, 2.0], dtype=">f8")],
    "text": "tab\tnewline\n\u00e9\u2603 \x00 nul and \udc80 surrogate",
}


def test_everything_save_accepts_loads_back_exactly(tmp_path: Path) -> None:
    m = model(EXACT_META)
    back = ns.load(ns.save(m, tmp_path / "m.nc"))
    assert back == m
    assert_exact(back.meta, m.meta, "meta")


def test_exact_types_in_attributes_of_a_dataset(tmp_path: Path) -> None:
    ds = xr.Dataset({"v": ("x", [1.0, 2.0], {"units": "nm", "scale": np.float32(2), "n": 3, "flag": True,
                                            "_private": "x", "coordinates": "weird", "list": [1, 2]})},
                    attrs={"a": 1.5, "b": np.int64(3), "c": "text", "d": None, 7: "int key"})
    back = ns.load(ns.save(ds, tmp_path / "d.nc"))
    assert back.identical(ds)
    assert_exact(dict(back.attrs), dict(ds.attrs), "attrs")
    assert_exact(dict(back["v"].attrs), dict(ds["v"].attrs), "v.attrs")


@pytest.mark.parametrize("dtype", ["f2", "f4", "f8", "f16", "c8", "c16", "c32", "i1", "i2", "i4", "i8", "u1", "u2",
                                   "u4", "u8", "?", "M8[ns]", "M8[D]", "m8[s]", "U3", "S3", ">f8", ">i4"])
def test_every_variable_dtype_round_trips(tmp_path: Path, dtype: str) -> None:
    values = np.array([0, 1, 2]).astype(dtype) if dtype[0] not in "US" else np.array(["", "a", "abc"]).astype(dtype)
    ds = xr.Dataset({"v": ("x", values), "s": ((), values[1])}, coords={"x": [10, 20, 30]})
    back = ns.load(ns.save(ds, tmp_path / "d.nc"))
    assert back.identical(ds)
    assert back["v"].dtype == ds["v"].dtype and back["s"].dtype == ds["s"].dtype


def test_dataarray_names_and_empty_dims(tmp_path: Path) -> None:
    for da in (xr.DataArray(np.arange(3.0), dims="t", name=None, attrs={"units": "s"}),
               xr.DataArray(np.zeros((0, 2)), dims=("a", "b"), name="empty"),
               xr.DataArray(np.arange(2.0), dims="t", name=5, coords={"t": [1, 2], "lab": ("t", ["x", "y"])})):
        back = ns.load(ns.save(da, tmp_path / "a.nc"))
        assert back.identical(da) and back.name == da.name


class _Colour(enum.IntEnum):
    RED = 1


@pytest.mark.parametrize(("meta", "path"), [
    ({"cell": {"when": {1, 2}}}, r"\['cell'\]\['when'\]: a value of type builtins.set"),
    ({"x": [1, object()]}, r"\['x'\]\[1\]: a value of type builtins.object"),
    ({"c": _Colour.RED}, r"\['c'\]: a value of type .*_Colour"),
    ({"o": OrderedDict(a=1)}, r"\['o'\]: a value of type collections.OrderedDict"),
    ({"v": np.zeros(2, dtype=[("a", "f8")])}, r"\['v'\]: arrays of dtype"),
    ({"z": dt.datetime(2024, 1, 1, tzinfo=__import__("zoneinfo").ZoneInfo("Europe/Berlin"))}, r"\['z'\]: datetime"),
    ({"m": np.ma.masked_array([1.0])}, r"\['m'\]: a value of type numpy.ma"),
])
def test_unsupported_values_are_refused_at_save_naming_the_key_path(tmp_path: Path, meta: dict[str, Any],
                                                                    path: str) -> None:
    with pytest.raises(ns.ValidationError, match=path):
        ns.save(model(meta), tmp_path / "x.nc")
    assert not list(tmp_path.iterdir())  # nothing half-written


def test_self_containing_and_too_deep_values_are_refused(tmp_path: Path) -> None:
    loop: list[Any] = []
    loop.append(loop)
    deep: Any = 1
    for _ in range(200):
        deep = [deep]
    for meta in ({"loop": loop}, {"deep": deep}):
        with pytest.raises(ns.ValidationError, match="nested deeper"):
            ns.save(model(meta), tmp_path / "x.nc")
    cyc: list[Any] = [model()]
    cyc.append(cyc)
    with pytest.raises(ns.ValidationError, match="contains itself"):
        ns.save(cyc, tmp_path / "c.nc")


def test_unstorable_variables_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ns.ValidationError, match="variable 'o'.*object"):
        ns.save(xr.Dataset({"o": ("x", np.array([1, "a"], dtype=object))}), tmp_path / "o.nc")
    with pytest.raises(ns.ValidationError, match="NUL character"):
        ns.save(xr.Dataset({"t": ("x", np.array(["a\x00b"]))}), tmp_path / "t.nc")
    with pytest.raises(ns.ValidationError, match="padded"):
        ns.save(xr.Dataset({"t": ("x", np.array(["a"] * 10_000, dtype="U10000"))}), tmp_path / "p.nc")


# ---------------------------------------------------- readable by other tools
def _models() -> list[Any]:
    return [
        ns.XPSSpectrum([3.0, 2.0, 1.0], [4.0, 5.0, 6.0], region="Ni 2p", transmission=[1.0, 0.9, 0.8],
                       sample="A(3)-NCM", meta={"pass_energy": 20.0}),
        ns.ImpedanceSpectrum([1e3, 1.0], [10 - 1j, 20 - 5j], area=1.131, sample="P-NCM"),
        ns.CyclingData([0.0, 1.0, 2.0], [3.0, 3.5, 4.0], [1e-3, 1e-3, -1e-3], cycle=[1, 1, 2], mass=0.01,
                       columns={"temperature": [25.0, 25.5, 26.0]}, column_units={"temperature": "degC"}),
        ns.DepthProfile([0.0, 1.0, 2.0], {"NiF3-": [5.0, 4.0, 1.0], "AlO-": [1.0, 2.0, 3.0]}, sputter_rate=0.1),
        ns.ElementMap({"Al": np.ones((2, 3)), "Ni": np.zeros((2, 3))}, pixel_size=50.0),
    ]


@pytest.mark.parametrize("m", _models(), ids=lambda m: type(m).__name__)
def test_plain_attributes_are_real_netcdf_attributes(tmp_path: Path, m: Any) -> None:
    p = ns.save(m, tmp_path / "m.nc")
    with xr.open_dataset(p, engine="h5netcdf") as ds:
        want = m.to_dataset()
        for name, var in want.variables.items():
            if "units" not in var.attrs:
                continue
            stored = [name] if name in ds.variables else [f"{name}__real", f"{name}__imag"]
            for s in stored:
                assert ds[s].attrs["units"] == var.attrs["units"], s
        for key, value in want.attrs.items():
            if type(value) in (str, int, float):
                assert ds.attrs[key] == value, key
        assert "ncmsurf_meta" not in ds.attrs  # nested: in the JSON layout
    pint_xarray = pytest.importorskip("pint_xarray")
    assert pint_xarray
    with xr.open_dataset(p, engine="h5netcdf") as ds:
        q = ds.pint.quantify()
        for name, var in want.variables.items():
            if "units" in var.attrs and name in q.variables:
                assert q[name].pint.units is not None, name


def test_child_groups_open_with_xarray(tmp_path: Path) -> None:
    st = ns.Study(name="two").add(_models()[1], "P-NCM").add(_models()[0], "A(3)-NCM")
    p = ns.save(st, tmp_path / "s.nc")
    with xr.open_dataset(p, engine="h5netcdf", group="m00001") as ds:
        assert ds.attrs["region"] == "Ni 2p"
        assert ds["binding_energy"].attrs["units"] == "eV"
        assert "binding_energy" in ds.coords and "transmission" in ds.coords  # CF coordinates attribute
        assert float(ds.attrs["excitation_energy"]) == 1486.6
    with xr.open_dataset(p, engine="h5netcdf", group="m00000") as ds:
        assert ds["impedance__real"].attrs["units"] == "ohm"
        assert ds["frequency"].attrs["units"] == "Hz"
    assert ns.load(p) == st


def test_save_is_atomic(tmp_path: Path) -> None:
    p = ns.save(model(), tmp_path / "x.nc")
    before = p.read_bytes()
    with pytest.raises(ns.ValidationError):
        ns.save(model({"bad": {1, 2}}), p)
    assert p.read_bytes() == before
    assert sorted(x.name for x in tmp_path.iterdir()) == ["x.nc"]


# ------------------------------------------------------------ result core
def _fit_result(cls: Any) -> Any:
    return cls.build(names=["R0", "R1"], values=[10.0, 50.0], covariance=[[0.04, -0.01], [-0.01, 0.25]],
                     units=["ohm", "ohm"], model="R0-p(R1,C1)", sample="A(3)-NCM", source={"path": "x.mpt"},
                     attrs={"chi2": 1.5})


def test_fit_results_are_found_through_the_result_core(tmp_path: Path) -> None:
    from ncmsurf.core.results import FitResult, result_types

    class StorageProbeResult(FitResult):
        __slots__ = ()

    assert result_types()["StorageProbeResult"] is StorageProbeResult
    assert netcdf.storable_types()["result:StorageProbeResult"] is StorageProbeResult
    r = _fit_result(StorageProbeResult)
    p = ns.save({"fit": r, "base": _fit_result(FitResult)}, tmp_path / "r.nc")
    with h5py.File(p, "r") as f:
        assert f["item00000"].attrs["ncmsurf_type"] == "result:StorageProbeResult"
    back = ns.load(p)
    assert type(back["fit"]) is StorageProbeResult and back["fit"] == r
    assert type(back["base"]) is FitResult
    # a group whose result_type attribute names another result class is refused, not loaded as that class
    with h5py.File(p, "r+") as f:
        layout = json.loads(f["item00000"].attrs["ncmsurf_layout"])
        assert ["result_type", "str"] in layout["attrs"]
        f["item00000"].attrs["result_type"] = "FitResult"
    reseal(p)
    with pytest.raises(ns.ReadError, match="group '/item00000': does not hold a valid StorageProbeResult"):
        ns.load(p)


def test_crafted_file_does_not_grow_the_resident_memory(tmp_path: Path) -> None:
    # tracemalloc does not see the HDF5 library's own allocations: measure the peak RSS of a fresh process
    import subprocess
    import sys

    p = ns.save(model(), tmp_path / "x.nc")
    with h5py.File(p, "r+") as f:
        del f["intensity"]
        f.create_dataset("intensity", shape=(10**9,), dtype="f8")
    edit_layout(p, "/", lambda lay: lay["variables"][1].update(shape=[10**9]))
    reheader(p)
    code = (
        "import resource, sys, ncmsurf as ns\n"
        "ns.load(sys.argv[2])\n"  # a clean file first: imports and first-use costs
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "try:\n    ns.load(sys.argv[1])\nexcept ns.ReadError:\n    pass\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)\n"
    )
    clean = ns.save(model(), tmp_path / "clean.nc")
    out = subprocess.run([sys.executable, "-c", code, str(p), str(clean)], capture_output=True, text=True,
                         timeout=120, check=True)
    grown_kib = int(out.stdout.strip())
    assert grown_kib < 20_000, f"peak RSS grew by {grown_kib} KiB"


@pytest.mark.parametrize("children", [["."], ["item00000", "item00000"], ["item00000/.."]])
def test_crafted_children_lists_are_refused(tmp_path: Path, children: list[str]) -> None:
    p = ns.save([model()], tmp_path / "l.nc")
    edit_layout(p, "/", lambda lay: lay.update(children=children))
    reseal(p)
    with pytest.raises(ns.ReadError, match="bad list of children"):
        ns.load(p)
