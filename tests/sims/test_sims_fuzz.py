"""Fuzz and property tests for the ToF-SIMS readers and analysis (hypothesis, bounded time)."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError
from ncmsurf.datasets.coating import synthetic_profile
from ncmsurf.io._table import TableWarning
from ncmsurf.io.sims_formats import write_surfacelab_txt

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _valid_bytes() -> bytes:
    p = synthetic_profile(coating_thickness=3.0, sputter_rate=0.05, width=1.0, n_points=30, seed=9)
    with tempfile.TemporaryDirectory() as d:
        return write_surfacelab_txt(p, Path(d) / "p.txt").read_bytes()


VALID = _valid_bytes()


def _read_only_ncmsurf_errors(data: bytes, suffix: str = ".txt") -> None:
    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / f"fuzz{suffix}"
        f.write_bytes(data)
        try:
            with warnings.catch_warnings():  # a cut last line is read with a warning saying so
                warnings.simplefilter("ignore", TableWarning)
                prof = ns.read_sims(f)
        except NcmsurfError:
            return
        assert isinstance(prof, ns.DepthProfile)
        assert np.all(np.isfinite(prof.sputter_time))


@FUZZ
@given(cut=st.integers(min_value=0, max_value=len(VALID)))
def test_truncated_files(cut: int) -> None:
    _read_only_ncmsurf_errors(VALID[:cut])


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flipped_files(flips: list[tuple[int, int]]) -> None:
    data = bytearray(VALID)
    for pos, bit in flips:
        data[pos] ^= 1 << bit
    _read_only_ncmsurf_errors(bytes(data))


@FUZZ
@given(data=st.binary(min_size=0, max_size=2000), suffix=st.sampled_from([".txt", ".csv", ".dat"]))
def test_random_bytes(data: bytes, suffix: str) -> None:
    _read_only_ncmsurf_errors(data, suffix)


@FUZZ
@given(lines=st.lists(st.text(alphabet="0123456789.,;\t -+eE^AlONiF\n", max_size=40), max_size=12))
def test_random_text_after_a_valid_header(lines: list[str]) -> None:
    head = "Name\tAlO-\tNiO2-\nMass (u)\t42.977\t89.926\n"
    _read_only_ncmsurf_errors((head + "\n".join(lines)).encode())


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), k=st.integers(1, 5), seed=st.integers(0, 2**16),
       rate=st.one_of(st.none(), st.floats(1e-4, 10.0)))
def test_write_read_round_trip_property(n: int, k: int, seed: int, rate: float | None) -> None:
    rng = np.random.default_rng(seed)
    names = ["AlO-", "AlO2-", "LiF2-", "NiO2-", "NiF3-"][:k]
    t = np.cumsum(rng.uniform(0, 5, n))
    prof = ns.DepthProfile(t, {m: rng.exponential(1e3, n) for m in names}, sputter_rate=rate)
    with tempfile.TemporaryDirectory() as d:
        back = ns.read_sims(write_surfacelab_txt(prof, Path(d) / "p.txt"))
    np.testing.assert_array_equal(back.sputter_time, prof.sputter_time)
    for m in names:
        np.testing.assert_array_equal(back[m], prof[m])
    assert back.sputter_rate == prof.sputter_rate


@settings(max_examples=20, deadline=None)
@given(d=st.floats(1.0, 20.0), w_frac=st.floats(0.1, 0.4), seed=st.integers(0, 1000))
def test_interface_property_noise_free(d: float, w_frac: float, seed: int) -> None:
    p = synthetic_profile(coating_thickness=d, sputter_rate=0.1, width=w_frac * d, noise=0.0, seed=seed,
                          n_points=600)
    it = ns.sims.interface(p, "AlO-", smooth=1)
    # noise-free generator truth: linear interpolation error only
    assert it.depth == pytest.approx(d, rel=0.02)
    assert it.width_depth == pytest.approx(w_frac * d, rel=0.05)
