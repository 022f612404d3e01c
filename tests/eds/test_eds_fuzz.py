"""Fuzz and property tests for the EDS readers and map analysis (hypothesis, bounded time)."""

from __future__ import annotations

import io
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError
from ncmsurf.eds import EDSSpectrum, read_msa, write_msa
from ncmsurf.io._table import TableWarning
from ncmsurf.io.eds_formats import write_npz

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bytes_of(writer, suffix: str) -> bytes:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"x{suffix}"
        writer(f)
        return f.read_bytes()


_MAP = ns.ElementMap({"Al": np.arange(30).reshape(5, 6), "Ni": np.ones((5, 6))}, pixel_size=10.0)
_CSV = ("# element: Al\n" + "\n".join(",".join(str(v) for v in r) for r in np.arange(30).reshape(5, 6))).encode()


def _zip_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("Al.csv", "1,2,3\n4,5,6\n")
        zf.writestr("Ni.csv", "6,5,4\n3,2,1\n")
    return buf.getvalue()


VALID = {
    ".npz": _bytes_of(lambda f: write_npz(_MAP, f), ".npz"),
    ".npy": _bytes_of(lambda f: np.save(f, np.arange(12.0).reshape(3, 4)), ".npy"),
    ".csv": _CSV,
    ".zip": _zip_bytes(),
    ".msa": _bytes_of(lambda f: write_msa(EDSSpectrum([0, 10, 20], [1, 2, 3]), f), ".msa"),
}


def _tiff_bytes() -> bytes | None:
    try:
        import tifffile
    except ImportError:  # pragma: no cover
        return None
    buf = io.BytesIO()
    tifffile.imwrite(buf, np.arange(12, dtype=np.uint16).reshape(3, 4))
    return buf.getvalue()


_TIFF = _tiff_bytes()
if _TIFF is not None:
    VALID[".tif"] = _TIFF


def _only_ncmsurf_errors(data: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"fuzz{suffix}"
        f.write_bytes(data)
        try:
            with warnings.catch_warnings():  # a last line without line end is read with a warning saying so
                warnings.simplefilter("ignore", TableWarning)
                m = ns.read_eds(f)
        except NcmsurfError:
            pass
        else:
            assert isinstance(m, ns.ElementMap)
        if suffix == ".msa":
            try:
                read_msa(f)
            except NcmsurfError:
                pass


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), frac=st.floats(0.0, 1.0))
def test_truncated_files(kind: str, frac: float) -> None:
    data = VALID[kind]
    _only_ncmsurf_errors(data[: int(len(data) * frac)], kind)


@FUZZ
@given(kind=st.sampled_from(sorted(VALID)), flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True),
                                                                     st.integers(0, 7)), min_size=1, max_size=6))
def test_bit_flipped_files(kind: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(VALID[kind])
    for pos, bit in flips:
        data[int(pos * len(data))] ^= 1 << bit
    _only_ncmsurf_errors(bytes(data), kind)


@FUZZ
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".npz", ".npy", ".csv", ".zip", ".tif", ".msa"]),
       magic=st.sampled_from([b"", b"PK\x03\x04", b"\x93NUMPY", b"II*\x00", b"#FORMAT : EMSA/MAS\n"]))
def test_random_bytes_with_magic(data: bytes, suffix: str, magic: bytes) -> None:
    _only_ncmsurf_errors(magic + data, suffix)


@settings(max_examples=25, deadline=None)
@given(ny=st.integers(1, 12), nx=st.integers(1, 12), k=st.integers(1, 4), seed=st.integers(0, 2**16),
       px=st.one_of(st.none(), st.floats(0.01, 1e4)))
def test_npz_round_trip_property(ny: int, nx: int, k: int, seed: int, px: float | None) -> None:
    rng = np.random.default_rng(seed)
    names = ["Al", "Ni", "Mn", "Co"][:k]
    m = ns.ElementMap({e: rng.poisson(50, (ny, nx)) for e in names}, pixel_size=px)
    with tempfile.TemporaryDirectory() as d:
        back = ns.read_eds(write_npz(m, Path(d) / "m.npz"))
    assert back == m.with_meta(**back.meta)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), scale=st.floats(0.1, 100.0), shift=st.floats(-50, 50))
def test_correlation_properties(seed: int, scale: float, shift: float) -> None:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(8, 8)), rng.normal(size=(8, 8))
    r = ns.eds.correlation(None, a, b)
    assert -1.0 <= r <= 1.0
    # Pearson r is invariant to a positive affine change of either map, symmetric in its arguments
    assert ns.eds.correlation(None, scale * a + shift, b) == pytest.approx(r, abs=1e-9)
    assert ns.eds.correlation(None, b, a) == pytest.approx(r, abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(cov=st.floats(0.2, 1.0), seed=st.integers(0, 100))
@example(cov=0.5, seed=17)  # once made the particle mask split coated from uncoated pixels
def test_coverage_property_is_a_fraction_and_tracks_truth(cov: float, seed: int) -> None:
    from ncmsurf.datasets.coating import synthetic_map

    m = synthetic_map(coverage=cov, cv=0.1, shape=(64, 64), seed=seed)
    c = ns.eds.coverage(m, "Al")
    assert 0.0 <= c.fraction <= 1.0
    assert abs(c.fraction - m.meta["truth"]["coverage"]) < 0.03  # generator's truth
