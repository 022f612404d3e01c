"""Fuzzing every cycling reader through ns.read_cycling: only NcmsurfError may escape.

Inputs: valid files of each format (written by the package's writers or
small hand-made exports, plus the heads of the real binary files when
../shared/data is present), truncated at a random byte, with random bytes
flipped, or replaced by random bytes. A successful read must account for
every row it reports (``meta["rows_read"] == len(record)``).
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import pytest
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError
from ncmsurf.cycling import to_bdf
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.biologic_cycling import write_mpt
from ncmsurf.io.cyclers import write_arbin_csv

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")

_NEWARE = (
    b"Record ID,Cycle Index,Step Index,Step Type,Total Time,Current(mA),Voltage(V)\n"
    b"1,1,1,Rest,00:00:00,0,3.50\n2,1,2,CC Chg,00:00:10,1.0,3.60\n3,1,2,CC Chg,00:01:10,1.0,3.70\n"
    b"4,1,3,CC DChg,00:01:10,1.0,3.60\n5,1,3,CC DChg,00:02:10,1.0,3.50\n"
)
_MACCOR = (
    b"Today's Date 12/20/2020  Date of Test:\t12/19/2020\n"
    b"Rec#\tCyc#\tStep\tTestTime\tStepTime\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\n"
    b"1\t0\t1\t  0d 00:00:0\t  0d 00:00:0\t0\t0\t0\t3.5\tR\n"
    b"2\t0\t2\t  0d 00:00:10\t  0d 00:00:0\t0\t0\t1.0\t3.6\tC\n"
    b"3\t0\t2\t  0d 00:00:20.5\t  0d 00:00:10.5\t0.003\t0.01\t1.0\t3.7\tC\n"
    b"4\t0\t3\t  0d 00:00:30\t  0d 00:00:0\t0\t0\t1.0\t3.6\tD\n"
)


def _seeds() -> dict[str, bytes]:
    rec = synthetic_record(n_cycles=1, points_per_cycle=40, seed=1)
    out = {"neware.csv": _NEWARE, "maccor.txt": _MACCOR}
    with tempfile.TemporaryDirectory() as tmp:
        out["arbin.csv"] = write_arbin_csv(rec, Path(tmp) / "a.csv", digits=9).read_bytes()
        out["gcpl.mpt"] = write_mpt(rec, Path(tmp) / "g.mpt").read_bytes()
        out["cell.bdf.csv"] = to_bdf(rec, Path(tmp) / "c.bdf.csv").read_bytes()
    out["generic.csv"] = b"Seconds,Amps,Volts\n" + b"".join(
        f"{t!r},{i!r},{v!r}\n".encode() for t, i, v in zip(rec.time.tolist(), rec.current.tolist(),
                                                         rec.voltage.tolist()))
    out["novonix.csv"] = (b"[Summary]\nCell: A\n[End Summary]\n[Data]\nDate and Time,Cycle Number,Step Type,"
                          b"Run Time (h),Current (A),Potential (V)\n" + b"".join(
                              f"x,1,1,{t / 3600!r},{i!r},{v!r}\n".encode()
                              for t, i, v in zip(rec.time.tolist(), rec.current.tolist(), rec.voltage.tolist())))
    out["basytec.txt"] = (b"~Resultfile from BaSyTec\n~Time[h]\tLine\tU[V]\tI[A]\tCyc-Count\n" + b"".join(
        f"{t / 3600!r}\t1\t{v!r}\t{i!r}\t1\n".encode()
        for t, i, v in zip(rec.time.tolist(), rec.current.tolist(), rec.voltage.tolist())))
    try:
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        ws.title = "Channel_1_1"
        ws.append(["Data Point", "Test Time (s)", "Cycle Index", "Step Index", "Current (A)", "Voltage (V)"])
        for k, (t, i, v) in enumerate(zip(rec.time.tolist(), rec.current.tolist(), rec.voltage.tolist())):
            ws.append([k + 1, t, 1, 1, i, v])
        with tempfile.TemporaryDirectory() as tmp:
            wb.save(Path(tmp) / "m.xlsx")
            out["mits.xlsx"] = (Path(tmp) / "m.xlsx").read_bytes()
    except ImportError:
        pass
    cyc = SHARED_DATA / "cycling"
    for name, size in (("biol.mpr", 200_000), ("BTS85-36-6-5-110-20240424.ndax", 200_000),
                       ("xTESLADIAG_000019_CH70.070", 20_000), ("rate_cc_raw.csv", 20_000),
                       ("gcpl.issue_149.mpr", 30_000), ("gcpl.issue_149.mpt", 30_000), ("TestFile.nda", 60_000),
                       ("nw_regular_export_ife_example.csv", 30_000)):
        if (cyc / name).exists():
            out[name] = (cyc / name).read_bytes()[:size]
    return out


SEEDS = _seeds()
NAMES = sorted(SEEDS)


def _check(name: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_bytes(data)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ns.NcmsurfWarning)  # a dropped column is allowed, with its warning
                rec = ns.read_cycling(p)
        except NcmsurfError:
            return
        assert isinstance(rec, ns.CyclingData)
        assert rec.meta["rows_read"] == len(rec)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.floats(0.0, 1.0))
def test_truncated(name: str, where: float) -> None:
    data = SEEDS[name]
    _check(name, data[: int(where * len(data))])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(NAMES), st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
                                         min_size=1, max_size=8))
def test_bit_flips(name: str, flips: list[tuple[float, int]]) -> None:
    data = bytearray(SEEDS[name])
    for where, value in flips:
        data[int(where * len(data))] = value
    _check(name, bytes(data))


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["x.csv", "x.txt", "x.mpt", "x.mpr", "x.ndax", "x.nda", "x.022", "x.bdf.csv", "x.xlsx"]),
       st.binary(max_size=2000))
def test_random_bytes(name: str, data: bytes) -> None:
    _check(name, data)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(NAMES), st.text(max_size=300))
def test_random_text_appended(name: str, extra: str) -> None:
    _check(name, SEEDS[name] + extra.encode("utf-8", errors="replace"))
