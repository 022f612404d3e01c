"""Files of storage format 1 (before checksums and CF attributes) still load, exactly.

``tests/data/storage_v1`` holds files that ``ns.save`` wrote in format 1;
``_v1_objects`` rebuilds the objects they hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import xarray as xr

import ncmsurf as ns

DATA = Path(__file__).parents[1] / "data" / "storage_v1"


def _v1_objects() -> dict[str, Any]:
    meta = {"instrument": {"name": "SP-150", "channels": [1, 2, (3, "x")]}, "date": None, "flag": True,
            "q": ns.ureg.Quantity(1.5, "cm**2"), "arr": np.arange(4, dtype=np.int16), "nan": float("nan"),
            "sample": ns.Sample.parse("F(3)-NCM@100")}
    objs: dict[str, Any] = {
        "xps": ns.XPSSpectrum([870.0, 869.5, 869.0, 868.5], [10.0, 12.0, 30.0, 11.0], region="Ni 2p",
                              sample="A(2)-NCM", meta={"pass_energy": 20.0, "scans": 3},
                              transmission=[1.0, 0.99, 0.98, 0.97]),
        "eis": ns.ImpedanceSpectrum([1e4, 1e2, 1.0], [1 - 2j, 3 - 4j, 5 - 6j], sample="P-NCM", area=1.13, meta=meta),
        "cycling": ns.CyclingData([0.0, 1.0, 2.0, 3.0], [3.0, 3.5, 4.0, 3.9], [1e-3, 1e-3, -1e-3, -1e-3],
                                  cycle=[1, 1, 2, 2], step=[1, 1, 2, 2], mass=0.01, sample="F(3)-NCM",
                                  columns={"temperature": np.array([25.0, 25.1, 25.2, 25.3])},
                                  column_units={"temperature": "degC"}),
        "sims": ns.DepthProfile([0.0, 1.0, 2.0], {"NiF3-": [5.0, 4.0, 1.0], "AlO-": [1.0, 2.0, 3.0]},
                                sputter_rate=0.1, sample="A(1)-NCM"),
        "eds": ns.ElementMap({"Al": np.arange(6, dtype=np.uint16).reshape(2, 3), "Ni": np.ones((2, 3))},
                             pixel_size=50.0),
    }
    objs["list"] = [objs["xps"], (objs["sims"],)]
    objs["dict"] = {"a": objs["eds"], "b": objs["eis"]}
    objs["dataset"] = xr.Dataset({"v": ("sample", np.array([1.0, np.nan]))},
                                 coords={"sample": np.array(["P-NCM", "A(1)-NCM"]), "n": ("sample", [np.nan, 1.0])},
                                 attrs={"reasons": {"P-NCM": ["no file"]}})
    objs["study"] = ns.Study(name="v1").add(objs["eis"], "P-NCM").add(objs["xps"], "A(2)-NCM")
    return objs


@pytest.mark.parametrize("name", list(_v1_objects()))
def test_format1_files_load_exactly(name: str, tmp_path: Path) -> None:
    path = DATA / f"{name}.nc"
    with h5py.File(path, "r") as f:
        assert int(np.asarray(f.attrs["ncmsurf_format"]).reshape(-1)[0]) == 1 and "ncmsurf_class" in f.attrs
    want = _v1_objects()[name]
    back = ns.load(path)
    assert type(back) is type(want)
    if isinstance(want, xr.Dataset):
        assert back.identical(want)
    else:
        assert back == want
    if name == "eis":
        assert back.meta["instrument"]["channels"][2] == (3, "x")
        assert back.meta["arr"].dtype == np.int16
    # and saved again, they are format 2
    again = ns.save(back, tmp_path / "again.nc")
    with h5py.File(again, "r") as f:
        assert int(np.asarray(f.attrs["ncmsurf_format"]).reshape(-1)[0]) == 2
    reloaded = ns.load(again)
    assert reloaded.identical(want) if isinstance(want, xr.Dataset) else reloaded == want


def test_format1_result_layouts_are_upgraded_by_the_result_classes(tmp_path: Path) -> None:
    t = ns.load(DATA / "thickness.nc")
    assert isinstance(t, ns.thickness.Thickness) and (t.value, t.value_stderr) == (2.0, 0.1)
    assert t.quality.level == "suspect"  # the checks of the result core never ran on it
    c = ns.load(DATA / "coverage.nc")
    assert isinstance(c, ns.eds.Coverage) and (c.fraction, c.n_covered) == (0.7, 70)
    # stored again, they are format 2 and load back exactly
    assert ns.load(ns.save(t, tmp_path / "t.nc")) == t
    assert ns.load(ns.save(c, tmp_path / "c.nc")) == c


def test_format1_relabelled_result_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "relabelled.nc"
    p.write_bytes((DATA / "xps.nc").read_bytes())
    with h5py.File(p, "r+") as f:
        f.attrs["ncmsurf_class"] = "ncmsurf.eds._maps:Coverage"
    with pytest.raises(ns.ReadError, match="does not hold a valid Coverage"):
        ns.load(p)
