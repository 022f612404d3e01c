"""Cycler readers: real files, round trips through the writers, and precise errors on bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import NcmsurfError, ReadError
from ncmsurf.cycling import summary
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io.biologic_cycling import _sniff_mpt, read_mpt, write_mpt
from ncmsurf.io.cyclers import read_arbin_csv, write_arbin_csv
from ncmsurf.io.registry import choose_reader

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


@pytest.fixture(scope="module")
def record() -> ns.CyclingData:
    return synthetic_record(n_cycles=3, seed=5, points_per_cycle=80)


def test_arbin_roundtrip_exact(record: ns.CyclingData, tmp_path: Path) -> None:
    p = write_arbin_csv(record, tmp_path / "cell.csv")
    assert choose_reader(p, kind="cycling").name == "arbin-csv"
    back = ns.read_cycling(p, mass=0.01)
    assert back.meta["rows_read"] == len(record) == len(back)
    np.testing.assert_array_equal(back.time, record.time)
    np.testing.assert_array_equal(back.current, record.current)
    np.testing.assert_array_equal(back.voltage, record.voltage)
    assert back.cycle is not None and back.cycle.max() == 3
    assert "Date_Time" in back.meta["text_columns"]
    assert {"charge_capacity", "discharge_capacity", "data_point"} <= set(back.columns)
    # the written per-cycle Arbin capacity equals the summary (same trapezoidal integral)
    s = summary(back)
    dis = back.columns["discharge_capacity"]
    per_cycle = [dis[back.cycle == c].max() * 1e3 / 0.01 for c in (1, 2, 3)]
    np.testing.assert_allclose(s.discharge_capacity, per_cycle, rtol=1e-9)


def _lines(p: Path) -> list[str]:
    return p.read_text().splitlines()


def test_arbin_bad_rows(record: ns.CyclingData, tmp_path: Path) -> None:
    p = write_arbin_csv(record, tmp_path / "cell.csv", digits=8)
    lines = _lines(p)
    nrows = len(lines) - 1
    # a file cut mid-row: the last row has fewer fields
    cut = tmp_path / "cut.csv"
    text = p.read_text()
    cut.write_text(text[: len(text) - 1 - len(lines[-1]) // 2])
    with pytest.raises(ReadError, match=rf"line {nrows + 1}\b.*(cut|truncated)") as exc:
        ns.read_cycling(cut)
    assert exc.value.line == nrows + 1
    # a non-number in row 10 (file line 11)
    bad = list(lines)
    f = bad[10].split(",")
    f[7] = "3.7x"
    bad[10] = ",".join(f)
    q = tmp_path / "bad.csv"
    q.write_text("\n".join(bad) + "\n")
    with pytest.raises(ReadError, match="line 11"):
        ns.read_cycling(q)
    # unsorted time: swap the times of rows 20 and 21
    uns = list(lines)
    a, b = uns[20].split(","), uns[21].split(",")
    a[2], b[2] = b[2], a[2]
    uns[20], uns[21] = ",".join(a), ",".join(b)
    u = tmp_path / "unsorted.csv"
    u.write_text("\n".join(uns) + "\n")
    with pytest.raises(ReadError, match="line 22.*time decreases"):
        ns.read_cycling(u)
    # a blank line inside the data
    blank = tmp_path / "blank.csv"
    blank.write_text("\n".join(lines[:30] + [""] + lines[30:]) + "\n")
    with pytest.raises(ReadError, match="line 31"):
        ns.read_cycling(blank)
    # zero mass
    with pytest.raises(NcmsurfError, match="mass"):
        ns.read_cycling(p, mass=0.0)


def test_arbin_trailing_blank_lines_are_not_rows(record: ns.CyclingData, tmp_path: Path) -> None:
    p = write_arbin_csv(record, tmp_path / "cell.csv")
    p.write_text(p.read_text() + "\n\n")
    assert read_arbin_csv(p).meta["rows_read"] == len(record)


def test_maccor_001_unsigned_amps() -> None:
    rec = ns.read_cycling(shared_file("cycling", "maccor_001.txt"))
    assert rec.meta["format"] == "maccor-text"
    assert rec.meta["rows_read"] == len(rec) == 6704  # README: 6704 data rows
    assert "State" in rec.meta["current_sign"]
    # README: charge 1.5 A, discharges 0.5 / 2.5 / 5 / 10 A
    assert rec.current.max() == pytest.approx(1.5, abs=0.01)
    assert rec.current.min() == pytest.approx(-10.0, abs=0.05)
    assert rec.cycle is not None and set(np.unique(rec.cycle).tolist()) == {0}  # Cyc# is 0 throughout
    # README: 2 d 02:52 long
    assert rec.time[-1] == pytest.approx(2 * 86400 + 2 * 3600 + 52 * 60 + 51.57, abs=0.01)


@pytest.mark.parametrize(("name", "rows"), [("PreDiag_000412_00008Fshort.022", 10344),
                                            ("xTESLADIAG_000019_CH70.070", 11669)])
def test_maccor_beep_files(name: str, rows: int) -> None:
    rec = ns.read_cycling(shared_file("cycling", name))
    assert rec.meta["rows_read"] == len(rec) == rows  # README row counts
    assert "signed" in rec.meta["current_sign"]


MACCOR_SNIPPET = (
    "Today's Date 12/20/2020  Date of Test:\t12/19/2020\t Filename:\tx.022\n"
    "Rec#\tCyc#\tStep\tTest (Sec)\tStep (Sec)\tAmp-hr\tWatt-hr\tAmps\tVolts\tState\tES\n"
    "1\t0\t1\t0.0\t0.0\t0\t0\t0\t3.5\tR\t0\n"
    "2\t0\t2\t10.0\t0.0\t0\t0\t1.0\t3.6\tC\t0\n"
    "3\t0\t2\t20.0\t10.0\t0.003\t0.01\t1.0\t3.7\tC\t0\n"
    "4\t0\t3\t30.0\t0.0\t0\t0\t-1.0\t3.6\tD\t0\n"
    "5\t0\t3\t40.0\t10.0\t0.003\t0.01\t-1.0\t3.5\tD\t0\n"
)


def test_maccor_errors(tmp_path: Path) -> None:
    p = tmp_path / "m.022"
    p.write_text(MACCOR_SNIPPET)
    rec = ns.read_cycling(p)
    assert len(rec) == 5 and rec.meta["rows_read"] == 5
    p.write_text(MACCOR_SNIPPET[:-8])  # cut inside the last row
    with pytest.raises(ReadError, match="line 7"):
        ns.read_cycling(p)
    p.write_text(MACCOR_SNIPPET.replace("\t3.6\tC\t0", "\tabc\tC\t0"))
    with pytest.raises(ReadError, match="line 4.*Volts"):
        ns.read_cycling(p)
    p.write_text(MACCOR_SNIPPET.replace("3\t0\t2\t20.0", "3\t0\t2\t5.0"))
    with pytest.raises(ReadError, match="line 5.*time decreases"):
        ns.read_cycling(p)


NEWARE = (
    "Record ID,Cycle Index,Step Index,Step Type,Total Time,Current(mA),Voltage(V),Capacity(mAh)\n"
    "1,1,1,Rest,00:00:00,0,3.50,0\n"
    "2,1,2,CC Chg,00:00:10,1.0,3.60,0\n"
    "3,1,2,CC Chg,00:01:10,1.0,3.70,0.0167\n"
    "4,1,3,CC DChg,00:01:10,1.0,3.60,0\n"
    "5,1,3,CC DChg,1-00:02:10,1.0,3.50,0.0167\n"
)


def test_neware_csv(tmp_path: Path) -> None:
    p = tmp_path / "neware.csv"
    p.write_text(NEWARE)
    assert choose_reader(p, kind="cycling").name == "neware-csv"
    rec = ns.read_cycling(p)
    # unsigned mA with step types: discharge made negative, converted to A
    np.testing.assert_allclose(rec.current, [0, 1e-3, 1e-3, -1e-3, -1e-3])
    np.testing.assert_allclose(rec.time, [0, 10, 70, 70, 86400 + 130])
    assert rec.meta["rows_read"] == 5
    p.write_text(NEWARE.replace("00:01:10,1.0,3.70", "00:00:05,1.0,3.70"))
    with pytest.raises(ReadError, match="line 4.*time decreases"):
        ns.read_cycling(p)


def test_neware_ndax() -> None:
    rec = ns.read_cycling(shared_file("cycling", "BTS85-36-6-5-110-20240424.ndax"))
    assert rec.meta["rows_read"] == len(rec) == 699677  # README: 699677 records
    assert rec.time[-1] / 3600 == pytest.approx(192.3, abs=0.1)  # README: 192.3 h
    s = summary(rec)
    # README: 22 cycles counting a new cycle at each charge; discharge 1.026 mAh (cycle 1) -> 0.650 mAh (cycle 21)
    assert s.sizes["cycle"] == 22
    np.testing.assert_allclose(float(s.discharge_capacity.sel(cycle=1)), 1.026, atol=2e-3)
    np.testing.assert_allclose(float(s.discharge_capacity.sel(cycle=21)), 0.650, atol=2e-3)
    # 7 rate steps of 3 cycles with 1C = 1.329 mA (README step file)
    from ncmsurf.cycling import rate_capability

    r = rate_capability(s.sel(cycle=slice(1, 21)))
    assert r.n_cycles.values.tolist() == [3] * 7


def test_mpt_roundtrip_and_sniffing(record: ns.CyclingData, tmp_path: Path) -> None:
    p = write_mpt(record, tmp_path / "gcpl.mpt")
    assert choose_reader(p, kind="cycling").name == "biologic-mpt-cycling"
    back = ns.read_cycling(p, mass=0.01)
    np.testing.assert_array_equal(back.current, record.current)
    assert back.meta["rows_read"] == len(record)
    head = p.read_bytes()[:4096]
    assert _sniff_mpt(p, head) >= 0.9
    peis = head.replace(b"Galvanostatic Cycling with Potential Limitation", b"Potentio Electrochemical "
                        b"Impedance Spectroscopy").replace(b"time/s", b"freq/Hz\ttime/s")
    assert _sniff_mpt(p, peis) < 0.1
    # decimal commas (French locale exports)
    fr = tmp_path / "fr.mpt"
    lines = p.read_text().splitlines()
    fr.write_text("\n".join(lines[:6] + [ln.replace(".", ",") for ln in lines[6:]]) + "\n")
    np.testing.assert_allclose(read_mpt(fr).voltage, record.voltage, rtol=1e-15)
    # cut mid-row
    cut = tmp_path / "cut.mpt"
    txt = p.read_text()
    cut.write_text(txt[: len(txt) - 12])
    with pytest.raises(ReadError, match=f"line {len(lines)}"):
        ns.read_cycling(cut)


def test_mpr_biol_against_galvani() -> None:
    rec = ns.read_cycling(shared_file("cycling", "biol.mpr"))
    assert rec.meta["rows_read"] == len(rec) == 23561  # README: 23561 data rows
    # README: delithiation at +0.325 mA, current > 0
    assert rec.current.max() == pytest.approx(0.325e-3, rel=0.01)
    assert rec.meta["impedance_rows"] > 0
    assert rec.meta["technique"] == "MB" and rec.meta["current_source"] == "stored: I/mA"
    # a single direction (delithiation only) is summarised, not refused: README 4.98 mAh passed
    s = summary(rec)
    assert float(s.charge_capacity.sum()) == pytest.approx(4.98, abs=0.01)
    np.testing.assert_allclose(s.charge_capacity, s.instrument_charge_capacity, rtol=1e-4)
    assert not bool(s.complete.any()) and np.isnan(s.coulombic_efficiency).all()
    galvani = pytest.importorskip("galvani.BioLogic")
    ref = galvani.MPRfile(str(shared_file("cycling", "biol.mpr"))).data
    np.testing.assert_array_equal(rec.time, ref["time/s"])
    np.testing.assert_array_equal(rec.voltage, ref["Ewe/V"].astype(float))
    np.testing.assert_array_equal(rec.current, ref["I/mA"].astype(float) * 1e-3)
    np.testing.assert_array_equal(rec.step, ref["Ns"])
    np.testing.assert_array_equal(rec.columns["q_qo"], ref["(Q-Qo)/mA.h"])


def test_arbin_minimal_columns_and_short_middle_row(record: ns.CyclingData, tmp_path: Path) -> None:
    p = write_arbin_csv(record, tmp_path / "cell.csv")
    lean = read_arbin_csv(p, extra_columns=False)
    assert lean.columns == {} and lean.cycle is not None
    np.testing.assert_array_equal(lean.current, record.current)
    some = read_arbin_csv(p, extra_columns=["Discharge_Capacity(Ah)"])
    assert set(some.columns) == {"discharge_capacity"}
    with pytest.raises(ReadError, match="extra_columns"):
        read_arbin_csv(p, extra_columns=["nope"])
    # a row missing its last field in the middle of the file is found even when that column is not read
    lines = _lines(p)
    lines[40] = lines[40].rsplit(",", 1)[0]
    q = tmp_path / "short.csv"
    q.write_text("\n".join(lines) + "\n")
    with pytest.raises(ReadError, match="line 41.*expected 12 columns, found 11") as exc:
        read_arbin_csv(q, extra_columns=False)
    assert exc.value.line == 41
    with pytest.raises(ReadError, match="line 41.*expected 12 columns, found 11") as exc:
        read_arbin_csv(q)
    assert exc.value.line == 41


def test_peis_mpt_left_to_the_impedance_reader() -> None:
    p = shared_file("eis", "exampleDataBioLogic.mpt")
    # a PEIS-only EC-Lab file: the cycling reader must not claim it
    assert _sniff_mpt(p, p.read_bytes()[:65536]) < 0.1
