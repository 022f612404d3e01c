"""Fuzzing the plain-text readers: truncated, bit-flipped and random input raise only ncmsurf errors."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns

SEEDS = {
    "eis": b"freq/Hz,Re(Z)/Ohm,-Im(Z)/Ohm\n1000,10,1\n100,12,3\n10,15,5\n1,20,4\n",
    "xps": b"Binding Energy (eV)\tCounts\n870\t10\n869\t12\n868\t30\n867\t12\n",
    "cycling": b"time_s,voltage_V,current_A,cycle\n0,3.0,0.001,1\n10,3.9,0.001,1\n20,3.5,-0.001,1\n",
    "sims": b"Sputter time (s)\tAlO-\tNiF3-\n0\t100\t1\n1\t50\t20\n2\t5\t40\n",
    "eds": b"x,y,Al,Ni\n0,0,1,5\n1,0,2,6\n0,1,3,7\n1,1,4,8\n",
}
READ = {"eis": ns.read_eis, "xps": ns.read_xps, "cycling": ns.read_cycling, "sims": ns.read_sims,
        "eds": ns.read_eds}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(kind: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.csv"
        p.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ns.NcmsurfWarning)  # a reader may say what it could not check
                READ[kind](p)
        except ns.NcmsurfError:
            pass


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_truncated(kind: str, data: st.DataObject) -> None:
    seed = SEEDS[kind]
    cut = data.draw(st.integers(0, len(seed)))
    _check(kind, seed[:cut])


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(data=st.data())
def test_bit_flipped(kind: str, data: st.DataObject) -> None:
    buf = bytearray(SEEDS[kind])
    for _ in range(data.draw(st.integers(1, 6))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] ^= 1 << data.draw(st.integers(0, 7))
    _check(kind, bytes(buf))


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(blob=st.binary(max_size=400))
def test_random_bytes(kind: str, blob: bytes) -> None:
    _check(kind, blob)


@pytest.mark.parametrize("kind", sorted(SEEDS))
@FUZZ
@given(text=st.text(alphabet="0123456789.,;\t -+eEnaif\n", max_size=300))
def test_random_numeric_text(kind: str, text: str) -> None:
    _check(kind, text.encode())
