"""TEM readers: every format written from known pixels reads back with the right pixel size; bad input."""

from __future__ import annotations

import importlib.util
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, ReadError
from ncmsurf.datasets.tem import write_dm, write_emd, write_tiff
from ncmsurf.io.tem_formats import UncalibratedImageWarning

RNG = np.random.default_rng(5)
PIXELS = {
    "float32": RNG.normal(1000, 50, (37, 53)).astype(np.float32),
    "uint16": RNG.integers(0, 60000, (40, 31)).astype(np.uint16),
    "int16": RNG.integers(-3000, 3000, (16, 24)).astype(np.int16),
    "float64": RNG.normal(0, 1, (12, 9)),
}


@pytest.mark.parametrize("suffix", [".dm3", ".dm4"])
@pytest.mark.parametrize("dtype", sorted(PIXELS))
@pytest.mark.parametrize(("px", "unit", "nm"), [(0.0123, "nm", 0.0123), (0.25, "Å", 0.025), (0.002, "µm", 2.0)])
def test_dm_round_trip(tmp_path: Path, suffix: str, dtype: str, px: float, unit: str, nm: float) -> None:
    data = PIXELS[dtype]
    f = write_dm(tmp_path / f"img{suffix}", data, pixel_size=px, unit=unit)
    img = ns.read_tem(f)
    assert isinstance(img, ns.TEMImage)
    np.testing.assert_array_equal(img.image, data)
    assert img.image.dtype == data.dtype
    assert img.pixel_size == pytest.approx(nm, rel=1e-12)
    assert img.meta["format"] == suffix[1:]
    assert img.meta["voltage_kV"] == pytest.approx(200.0)
    assert img.meta["pixel_size_source"] == "file"


def test_dm_big_endian_and_no_thumbnail(tmp_path: Path) -> None:
    data = PIXELS["uint16"]
    f = write_dm(tmp_path / "be.dm3", data, pixel_size=0.05, little_endian=False, thumbnail=False)
    img = ns.read_tem(f)
    np.testing.assert_array_equal(img.image, data)
    assert img.pixel_size == 0.05


@pytest.mark.parametrize("flavour", ["velox", "berkeley"])
def test_emd_round_trip(tmp_path: Path, flavour: str) -> None:
    data = PIXELS["float32"]
    f = write_emd(tmp_path / f"{flavour}.emd", data, pixel_size=0.0421, flavour=flavour)
    img = ns.read_tem(f)
    np.testing.assert_array_equal(img.image, data)
    assert img.pixel_size == pytest.approx(0.0421, rel=1e-12)
    assert img.meta["format"] == f"emd-{flavour}"


@pytest.mark.parametrize("flavour", ["imagej", "fei", "resolution"])
def test_tiff_round_trip(tmp_path: Path, flavour: str) -> None:
    data = PIXELS["uint16"]
    f = write_tiff(tmp_path / f"{flavour}.tif", data, pixel_size=0.0815, flavour=flavour)
    img = ns.read_tem(f)
    np.testing.assert_array_equal(img.image, data)
    # TIFF resolution tags are rationals: the pixel size is exact to their precision
    assert img.pixel_size == pytest.approx(0.0815, rel=1e-6)
    assert img.meta["pixel_size_source"] == {"imagej": "imagej", "fei": "fei-metadata",
                                             "resolution": "tiff-resolution"}[flavour]


def test_uncalibrated_tiff_warns_and_is_nan(tmp_path: Path) -> None:
    import tifffile

    f = tmp_path / "plain.tif"
    tifffile.imwrite(f, PIXELS["uint16"])
    with pytest.warns(UncalibratedImageWarning, match="no pixel size"):
        img = ns.read_tem(f)
    assert np.isnan(img.pixel_size) and not img.calibrated
    assert ns.read_tem(f, pixel_size=0.1).pixel_size == 0.1


def test_diffraction_pattern_and_non_square_pixels_are_refused(tmp_path: Path) -> None:
    f = write_dm(tmp_path / "dp.dm3", PIXELS["float32"], pixel_size=0.01, unit="1/nm")
    with pytest.raises(ReadError, match="reciprocal space"):
        ns.read_tem(f)
    import h5py

    g = write_emd(tmp_path / "b.emd", PIXELS["float32"], pixel_size=0.1, flavour="berkeley")
    with h5py.File(g, "a") as fh:
        del fh["data/image/dim2"]
        fh["data/image"].create_dataset("dim2", data=np.arange(53) * 0.2)
        fh["data/image/dim2"].attrs["units"] = np.bytes_("[n_m]")
    with pytest.raises(ReadError, match="non-square pixels"):
        ns.read_tem(g)


def test_dm_errors_name_the_offset(tmp_path: Path) -> None:
    good = write_dm(tmp_path / "g.dm3", PIXELS["int16"], pixel_size=0.1).read_bytes()
    f = tmp_path / "cut.dm3"
    f.write_bytes(good[: len(good) // 2])
    with pytest.raises(ReadError, match=r"offset \d+: file ends inside"):
        ns.read_tem(f)
    f.write_bytes(struct.pack(">i", 5) + good[4:])
    with pytest.raises(ReadError, match="offset 0: version 5"):
        ns.read(f, format="tem-dm")


PEERS_DM = importlib.util.find_spec("ncempy") is not None


@pytest.mark.skipif(not PEERS_DM, reason="ncempy (reference reader, optional) not installed")
@pytest.mark.parametrize("suffix", [".dm3", ".dm4"])
def test_written_dm_files_read_the_same_in_ncempy(tmp_path: Path, suffix: str) -> None:
    import ncempy.io.dm as dm

    data = PIXELS["float32"]
    f = write_dm(tmp_path / f"x{suffix}", data, pixel_size=0.0325)
    ref = dm.dmReader(str(f))
    np.testing.assert_array_equal(ref["data"], data)
    assert list(ref["pixelUnit"]) == ["nm", "nm"]
    assert ns.read_tem(f).pixel_size == pytest.approx(float(ref["pixelSize"][0]), rel=1e-12)


@pytest.mark.skipif(importlib.util.find_spec("rsciio") is None, reason="rosettasciio (optional peer) not installed")
def test_written_files_read_the_same_in_rosettasciio(tmp_path: Path) -> None:
    from rsciio.digitalmicrograph import file_reader as dm_reader
    from rsciio.emd import file_reader as emd_reader

    data = PIXELS["float32"]
    for f, reader in ((write_dm(tmp_path / "x.dm4", data, pixel_size=0.0325), dm_reader),
                      (write_emd(tmp_path / "x.emd", data, pixel_size=0.0325), emd_reader)):
        out = [o for o in reader(str(f)) if o["data"].shape == data.shape]
        assert len(out) == 1
        np.testing.assert_array_equal(out[0]["data"], data)
        ax = out[0]["axes"][-1]
        scale_nm = float(ax["scale"]) * {"nm": 1.0, "pm": 1e-3, "µm": 1e3}[ax["units"]]
        assert ns.read_tem(f).pixel_size == pytest.approx(scale_nm, rel=1e-9)


def test_save_load_and_model_behaviour(tmp_path: Path) -> None:
    img = ns.TEMImage(PIXELS["uint16"], pixel_size=ns.ureg.Quantity(0.5, "angstrom"), sample="A(3)-NCM",
                      meta={"voltage_kV": 300.0})
    assert img.pixel_size == pytest.approx(0.05)
    back = ns.load(ns.save(img, tmp_path / "t.nc"))
    assert back == img
    unc = ns.TEMImage(PIXELS["uint16"], pixel_size=None)
    assert ns.load(ns.save(unc, tmp_path / "u.nc")) == unc
    assert img.with_sample("F(3)-NCM").sample == ns.Sample.parse("F(3)-NCM")
    df = img.to_dataframe()
    assert {"x_nm", "y_nm", "image"} <= set(df.columns) and len(df) == img.image.size
    with pytest.raises(AttributeError):
        img.foo = 1  # type: ignore[attr-defined]
    with pytest.raises(ns.ValidationError, match="2-D"):
        ns.TEMImage(np.zeros(4), pixel_size=1)
    with pytest.raises(ns.ValidationError, match="non-finite value at pixel"):
        ns.TEMImage(np.array([[1.0, np.nan]]), pixel_size=1)
    with pytest.raises(ns.ValidationError, match="pixel_size"):
        ns.TEMImage(np.zeros((2, 2)), pixel_size=-1)


def test_plot_has_a_scale_bar() -> None:
    import matplotlib

    matplotlib.use("Agg")
    img = ns.TEMImage(PIXELS["float32"], pixel_size=0.5)
    ax = img.plot()
    assert any(t.get_text() == "5 nm" for t in ax.texts)  # width 26.5 nm → a 5 nm bar


# ------------------------------------------------------------------ fuzz
def _bytes(writer, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as d:
        return Path(writer(Path(d) / f"v{suffix}")).read_bytes()


VALID = {
    ".dm3": _bytes(lambda f: write_dm(f, PIXELS["int16"], pixel_size=0.1), ".dm3"),
    ".dm4": _bytes(lambda f: write_dm(f, PIXELS["int16"], pixel_size=0.1), ".dm4"),
    ".emd": _bytes(lambda f: write_emd(f, PIXELS["int16"], pixel_size=0.1), ".emd"),
    ".tif": _bytes(lambda f: write_tiff(f, PIXELS["uint16"], pixel_size=0.1, flavour="fei"), ".tif"),
}
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_ncmsurf_errors(data: bytes, suffix: str) -> None:
    import warnings

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"fuzz{suffix}"
        f.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UncalibratedImageWarning)
                img = ns.read_tem(f)
        except NcmsurfError:
            return
        assert isinstance(img, ns.TEMImage)
        assert np.all(np.isfinite(img.image))


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), frac=st.floats(0.0, 1.0))
def test_fuzz_truncated(kind: str, frac: float) -> None:
    data = VALID[kind]
    _only_ncmsurf_errors(data[: int(len(data) * frac)], kind)


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)),
       flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 7)), min_size=1, max_size=6))
def test_fuzz_bit_flipped(kind: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(VALID[kind])
    for pos, bit in flips:
        data[int(pos * len(data))] ^= 1 << bit
    _only_ncmsurf_errors(bytes(data), kind)


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from(sorted(VALID)),
       magic=st.sampled_from([b"", b"\x00\x00\x00\x03", b"\x00\x00\x00\x04", b"\x89HDF\r\n\x1a\n", b"II*\x00"]))
def test_fuzz_random_bytes(data: bytes, suffix: str, magic: bytes) -> None:
    _only_ncmsurf_errors(magic + data, suffix)

