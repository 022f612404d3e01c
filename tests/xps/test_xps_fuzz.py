"""Fuzzing the XPS readers: truncated, bit-flipped, line-shuffled and random input must only ever raise
ncmsurf errors (ReadError and friends), never a stray IndexError/ValueError/... nor hang."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError
from ncmsurf.io.vamas import write_vamas

_DIR = Path(tempfile.mkdtemp(prefix="ncmsurf-xps-fuzz-"))


def _vamas_bytes() -> bytes:
    a = ns.XPSSpectrum(np.linspace(870, 860, 21), np.linspace(100, 300, 21), region="Ni 2p", sample="P-NCM",
                       transmission=np.linspace(1, 2, 21))
    b = ns.XPSSpectrum(np.linspace(535, 525, 11), np.arange(11.0), region="O 1s")
    return write_vamas([a, b], _DIR / "seed.vms").read_bytes()


def _xy_bytes() -> bytes:
    return ("# Created by:        SpecsLab Prodigy, Version 4.54\n# Region:            Ni2p\n"
            "# Excitation Energy: 1486.61\n# Pass Energy:       20\n# ColumnLabels: energy counts\n"
            + "".join(f" {870 - 0.1 * i:.1f}  {100 + i}\n" for i in range(30))).encode()


SEEDS = {"vms": _vamas_bytes(), "xy": _xy_bytes()}


def _check(data: bytes, suffix: str) -> None:
    p = _DIR / f"case.{suffix}"
    p.write_bytes(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ns.NcmsurfWarning)  # a reader may say what it could not check
            out = ns.read_xps(p)
    except NcmsurfError:
        return
    for s in out:  # whatever was read must be a valid spectrum, never silently shortened to nothing
        assert isinstance(s, ns.XPSSpectrum) and s.binding_energy.size >= 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["vms", "xy"]), cut=st.floats(0.0, 1.0))
def test_truncated(kind, cut):
    data = SEEDS[kind]
    _check(data[: int(len(data) * cut)], kind)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["vms", "xy"]), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)),
                                                           min_size=1, max_size=8))
def test_bit_flipped(kind, flips):
    data = bytearray(SEEDS[kind])
    for pos, bit in flips:
        i = min(int(pos * len(data)), len(data) - 1)
        data[i] ^= 1 << bit
    _check(bytes(data), kind)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["vms", "xy"]), i=st.integers(0, 400), j=st.integers(0, 400),
       text=st.text(max_size=12))
def test_lines_replaced_or_swapped(kind, i, j, text):
    lines = SEEDS[kind].decode().splitlines()
    i, j = i % len(lines), j % len(lines)
    lines[i], lines[j] = lines[j], text
    _check("\n".join(lines).encode("utf-8", "surrogatepass"), kind)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from([b"", b"VAMAS Surface Chemical Analysis Standard Data Transfer Format 1988 May 4\r\n",
                               b"# Region: Ni2p\n# Excitation Energy: 1486.6\n"]),
       body=st.binary(max_size=400))
def test_random_bytes(prefix, body):
    _check(prefix + body, "vms")
