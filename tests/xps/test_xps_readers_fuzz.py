"""Fuzzing the PHI, CasaXPS text, Scienta and SPECS XML readers like tests/xps/test_xps_fuzz.py: truncated,
bit-flipped, line-replaced and random input must only raise ncmsurf errors (never a stray IndexError, ...),
and a file that still reads gives valid spectra."""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
from _xps_builders import ibw_bytes, phi_bytes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, NcmsurfWarning
from ncmsurf.io.specs_xml import write_specs_xml_example

_DIR = Path(tempfile.mkdtemp(prefix="ncmsurf-xps-readers-fuzz-"))


def _casa() -> bytes:
    rows = ["Cycle 0:P-NCM:Ni2p", "\tCharacteristic Energy eV\t1.486600e+003\tAcquisition Time s\t1.0",
            "Name\t\tNi2+\t", "Position\t\t854.5\t", "FWHM\t\t1.2\t", "Area\t\t100.0\t", "Lineshape\t\tGL(30)\t",
            "K.E.\tCounts\tNi2+\tBackground\tEnvelope\t\tB.E.\tCPS\tNi2+\tBackground CPS\tEnvelope CPS"]
    rows += [f"{616.6 + 0.1 * i:.1f}\t{100 + i}\t{i}\t{50}\t{50 + i}\t\t{870 - 0.1 * i:.1f}\t{100 + i}\t{i}\t50\t"
             f"{50 + i}" for i in range(25)]
    return ("\r\n".join(rows) + "\r\n").encode()


def _scienta() -> bytes:
    lines = ["[Info]", "Number of Regions=0001", "", "[Region 1]", "Region Name=Ni2p",
             "Dimension 1 name=Binding Energy [eV]", "Dimension 1 size=20",
             "Dimension 1 scale=" + " ".join(f"{870 - 0.5 * i:g}" for i in range(20)), "[Info 1]",
             "Excitation Energy=700", "Energy Scale=Binding", "Pass Energy=20", "Lens Mode=Transmission", "[Data 1]"]
    lines += [f" {870 - 0.5 * i:g}  {100 + i}" for i in range(20)]
    return ("\r\n".join(lines) + "\r\n").encode()


NOTE = "Region Name=Ag3d\rExcitation Energy=700\rEnergy Scale=Kinetic\rPass Energy=50\rLens Mode=Transmission\r"
SEEDS = {
    "spe": phi_bytes([("O1s", 534.0, -0.5, [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]])]),
    "pro": phi_bytes([("C1s", 290.0, -0.5, [[1.0 + c, 2.0, 3.0, 4.0] for c in range(3)])], profile=True,
                     depth_layers=[(1, 1.0, 2)]),
    "txt": _casa(),
    "ses": _scienta(),
    "ibw": ibw_bytes(np.linspace(1, 9, 40), start=318.0, step=0.05, note=NOTE),
    "xml": write_specs_xml_example(_DIR / "seed.xml").read_bytes(),
}
SUFFIX = {"ses": "txt"}


def _check(data: bytes, kind: str) -> None:
    p = _DIR / f"case.{SUFFIX.get(kind, kind)}"
    p.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NcmsurfWarning)
        try:
            out = ns.read_xps(p)
        except NcmsurfError:
            return
    for s in out:
        assert isinstance(s, ns.XPSSpectrum) and s.binding_energy.size >= 1
        assert np.all(np.isfinite(s.intensity)) and np.isfinite(s.excitation_energy)
        assert s.meta["excitation_energy_source"] in ("file", "default", "user")


def test_seeds_read():
    for kind, data in SEEDS.items():
        p = _DIR / f"ok.{SUFFIX.get(kind, kind)}"
        p.write_bytes(data)
        assert ns.read_xps(p), kind


KINDS = st.sampled_from(sorted(SEEDS))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=KINDS, cut=st.floats(0.0, 1.0))
def test_truncated(kind, cut):
    data = SEEDS[kind]
    _check(data[: int(len(data) * cut)], kind)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=KINDS, flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)), min_size=1, max_size=8))
def test_bit_flipped(kind, flips):
    data = bytearray(SEEDS[kind])
    for pos, bit in flips:
        i = min(int(pos * len(data)), len(data) - 1)
        data[i] ^= 1 << bit
    _check(bytes(data), kind)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=st.sampled_from(["txt", "ses", "xml"]), i=st.integers(0, 400), j=st.integers(0, 400),
       text=st.text(max_size=12))
def test_lines_replaced_or_swapped(kind, i, j, text):
    lines = SEEDS[kind].decode().splitlines()
    i, j = i % len(lines), j % len(lines)
    lines[i], lines[j] = lines[j], text
    _check("\n".join(lines).encode("utf-8", "surrogatepass"), kind)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kind=KINDS, body=st.binary(max_size=400), keep=st.integers(0, 600))
def test_random_tails(kind, body, keep):
    _check(SEEDS[kind][:keep] + body, kind)
