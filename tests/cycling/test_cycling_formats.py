"""Further cycler formats: MITS Pro CSV/XLSX, Maccor CSV, Novonix, BaSyTec, generic CSV, BDF, Neware regular.

Where no shared real file of a format exists (MITS Pro, Maccor CSV, Novonix, BaSyTec), the test files are
built here from the formats' documented layouts.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.cycling import BDF_COLUMNS, read_bdf, summary, to_bdf
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io._table import TableWarning
from ncmsurf.io.registry import choose_reader

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


@pytest.fixture(scope="module")
def rec() -> ns.CyclingData:
    return synthetic_record(n_cycles=2, points_per_cycle=60, seed=4)


def _g(x: float) -> str:
    return repr(float(x))


def test_mits_pro_csv(rec: ns.CyclingData, tmp_path: Path) -> None:
    p = tmp_path / "mits.csv"
    head = ["Date Time", "Test Time (s)", "Step Time (s)", "Cycle Index", "Step Index", "Current (A)", "Voltage (V)",
            "Charge Capacity (Ah)", "Discharge Capacity (Ah)"]
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(head)
        for k in range(len(rec)):
            w.writerow(["01/01/2024 00:00:00", _g(rec.time[k]), "0", 1, 1, _g(rec.current[k]), _g(rec.voltage[k]),
                        "0", "0"])
    assert choose_reader(p, kind="cycling").name == "arbin-csv"
    back = ns.read_cycling(p)
    np.testing.assert_array_equal(back.time, rec.time)
    np.testing.assert_array_equal(back.current, rec.current)
    assert back.meta["rows_read"] == len(rec) and "Date Time" in back.meta["text_columns"]


def _xlsx(path: Path, rec: ns.CyclingData, split: int, bad: tuple[int, str] | None = None) -> Path:
    openpyxl = pytest.importorskip("openpyxl")
    wb = openpyxl.Workbook()
    info = wb.active
    info.title = "Global_Info"
    info.append(["Test Name", "cell"])
    head = ["Data Point", "Date Time", "Test Time (s)", "Cycle Index", "Step Index", "Current (A)", "Voltage (V)"]
    for s, (a, b) in enumerate(((0, split), (split, len(rec)))):
        ws = wb.create_sheet(f"Channel_1_{s + 1}")
        ws.append(head)
        for k in range(a, b):
            row = [k + 1, "2024-01-01", float(rec.time[k]), 1, 1, float(rec.current[k]), float(rec.voltage[k])]
            if bad is not None and k == bad[0]:
                row[6] = bad[1]
            ws.append(row)
    wb.save(path)
    return path


def test_mits_pro_xlsx(rec: ns.CyclingData, tmp_path: Path) -> None:
    p = _xlsx(tmp_path / "mits.xlsx", rec, 50)
    assert choose_reader(p, kind="cycling").name == "arbin-xlsx"
    back = ns.read_cycling(p)
    np.testing.assert_allclose(back.voltage, rec.voltage, rtol=1e-15)  # Excel keeps 15-16 significant digits
    assert back.meta["sheets"] == ["Channel_1_1", "Channel_1_2"] and back.meta["rows_read"] == len(rec)
    q = _xlsx(tmp_path / "bad.xlsx", rec, 50, bad=(60, "3.7x"))
    with pytest.raises(ReadError, match=r"line 12: sheet 'Channel_1_2', column 'Voltage \(V\)': '3.7x'"):
        ns.read_cycling(q)


def test_mits_pro_xlsx_with_a_damaged_sheet_header_is_refused(rec: ns.CyclingData, tmp_path: Path) -> None:
    import openpyxl

    p = _xlsx(tmp_path / "mits.xlsx", rec, 50)
    wb = openpyxl.load_workbook(p)
    wb["Channel_1_2"]["C1"] = "Test Time (s,)"  # one byte: the second sheet's time column no longer recognised
    wb.save(p)
    with pytest.raises(ReadError, match="sheet 'Channel_1_2' (looks like a data sheet|has a different header)"):
        ns.read_cycling(p)
    wb["Channel_1_2"].title = "Sheet3"  # and a sheet no longer named as a channel, its header unrecognised
    for c in ("C1", "F1", "G1"):
        wb["Sheet3"][c] = wb["Sheet3"][c].value + "#"
    wb.save(p)
    with pytest.raises(ReadError, match="sheet 'Sheet3' looks like a data sheet"):
        ns.read_cycling(p)



def test_mits_pro_xlsx_with_a_sheet_part_lost_is_refused(rec: ns.CyclingData, tmp_path: Path) -> None:
    import zipfile

    p = _xlsx(tmp_path / "mits.xlsx", rec, 50)
    q = tmp_path / "lost.xlsx"
    with zipfile.ZipFile(p) as src, zipfile.ZipFile(q, "w") as dst:
        for item in src.infolist():  # one byte of a member's name: the sheet's part is no longer found
            name = item.filename.replace("xl/worksheets/sheet3.xml", "xl/worksheets/sheet3.xmk")
            dst.writestr(name, src.read(item.filename))
    with pytest.raises(ReadError, match="lists 3 sheets but 2 can be opened"):
        ns.read_cycling(q)

MACCOR_CSV = (
    "Rec,Cycle P,Cycle C,Step,TestTime,StepTime,Cap. [Ah],Ener. [Wh],Current [A],Voltage [V],Md,ES,DPt Time\n"
    "1,0,0,1,0.0,0.0,0,0,0,3.5,R,0,01/01/2024 00:00:00\n"
    "2,0,0,2,10.0,0.0,0,0,1.0,3.6,C,0,01/01/2024 00:00:10\n"
    "3,0,0,2,20.0,10.0,0.0027778,0.01,1.0,3.7,C,0,01/01/2024 00:00:20\n"
    "4,0,0,3,30.0,0.0,0,0,1.0,3.6,D,0,01/01/2024 00:00:30\n"
    "5,0,0,3,40.0,10.0,0.0027778,0.01,1.0,3.5,D,0,01/01/2024 00:00:40\n"
)


def test_maccor_csv_export(tmp_path: Path) -> None:
    p = tmp_path / "maccor.csv"
    p.write_text(MACCOR_CSV)
    assert choose_reader(p, kind="cycling").name == "maccor-text"
    back = ns.read_cycling(p)
    assert back.meta["format"] == "maccor-csv" and "unsigned" in back.meta["current_sign"]
    np.testing.assert_allclose(back.current, [0, 1, 1, -1, -1])
    assert back.meta["instrument_capacity"]["counters"][0]["column"] == "cap"
    p.write_text(MACCOR_CSV.replace("3,0,0,2,20.0,10.0", "3,0,0,2,20.0,10.0,9"))
    with pytest.raises(ReadError, match="line 4"):
        ns.read_cycling(p)


def _novonix(rec: ns.CyclingData) -> str:
    rows = ["[Summary]", "Protocol: formation", "Cell: A1", "[End Summary]", "[Data]",
            "Date and Time,Cycle Number,Step Type,Run Time (h),Step Time (h),Current (A),Potential (V),"
            "Capacity (Ah),Temperature (°C),Energy (Wh)"]
    for k in range(len(rec)):
        rows.append(f"2024-01-01 00:00:00,1,{1 if rec.current[k] > 0 else 2},{_g(rec.time[k] / 3600)},0,"
                    f"{_g(rec.current[k])},{_g(rec.voltage[k])},0,25.0,0")
    return "\n".join(rows) + "\n"


def test_novonix(rec: ns.CyclingData, tmp_path: Path) -> None:
    p = tmp_path / "novonix.csv"
    p.write_text(_novonix(rec), encoding="utf-8")
    assert choose_reader(p, kind="cycling").name == "novonix-csv"
    back = ns.read_cycling(p)
    np.testing.assert_allclose(back.time, rec.time, rtol=1e-13, atol=1e-9)
    np.testing.assert_array_equal(back.current, rec.current)
    assert back.meta["summary"]["Protocol"] == "formation" and "temperature" in back.columns
    p.write_text(_novonix(rec).replace(",25.0,0\n", ",25.0\n", 1), encoding="utf-8")
    with pytest.raises(ReadError, match="line 7.*expected 10 columns, found 9"):
        ns.read_cycling(p)


def _basytec(rec: ns.CyclingData) -> str:
    rows = ["~Resultfile from BaSyTec Battery Test System", "~Date and Time of Data Converting: 01.01.2024",
            "~Time[h]\tDataSet\tDate\tt-Step[h]\tLine\tCommand\tU[V]\tI[A]\tAh[Ah]\tCyc-Count\tState"]
    for k in range(len(rec)):
        rows.append(f"{_g(rec.time[k] / 3600)}\t{k + 1}\t01.01.2024\t0\t{3 if rec.current[k] > 0 else 5}\tCharge\t"
                    f"{_g(rec.voltage[k])}\t{_g(rec.current[k])}\t0\t1\t0")
    return "\n".join(rows) + "\n"


def test_basytec(rec: ns.CyclingData, tmp_path: Path) -> None:
    p = tmp_path / "basytec.txt"
    p.write_text(_basytec(rec), encoding="utf-8")
    assert choose_reader(p, kind="cycling").name == "basytec"
    back = ns.read_cycling(p)
    np.testing.assert_allclose(back.time, rec.time, rtol=1e-13, atol=1e-9)
    np.testing.assert_array_equal(back.voltage, rec.voltage)
    assert back.cycle is not None and back.step is not None and "ah" in back.columns
    p.write_text(_basytec(rec).replace("\tCharge\t3.", "\tCharge\tx3.", 1), encoding="utf-8")
    with pytest.raises(ReadError, match=r"line 4: column 'U\[V\]'"):
        ns.read_cycling(p)


@pytest.mark.parametrize(("head", "scale"), [
    (("Seconds", "Amps", "Volts"), (1, 1, 1)),
    (("Test Time (s)", "Current (A)", "Voltage (V)"), (1, 1, 1)),
    (("Time [h]", "Current [mA]", "Voltage [mV]"), (1 / 3600, 1e3, 1e3)),
    (("test_time_s", "current_A", "voltage_V"), (1, 1, 1)),
    (("Time", "I", "E"), (1, 1, 1)),
])
def test_generic_headers(rec: ns.CyclingData, tmp_path: Path, head: tuple[str, str, str],
                         scale: tuple[float, float, float]) -> None:
    p = tmp_path / "g.csv"
    with open(p, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*head, "Ah"])
        for k in range(len(rec)):
            w.writerow([_g(rec.time[k] * scale[0]), _g(rec.current[k] * scale[1]), _g(rec.voltage[k] * scale[2]), 0])
    back = ns.read_cycling(p)
    np.testing.assert_allclose(back.time, rec.time, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(back.current, rec.current, rtol=1e-12)
    np.testing.assert_allclose(back.voltage, rec.voltage, rtol=1e-12)
    assert back.meta["rows_read"] == len(rec)


def test_generic_ambiguous_header(tmp_path: Path) -> None:
    p = tmp_path / "amb.csv"
    p.write_text("Time (s),Current (A),Current (mA),Voltage (V)\n0,1,1000,3.5\n1,1,1000,3.6\n2,1,1000,3.7\n")
    with pytest.raises(ReadError, match=r"ambiguous.*'Current \(A\)', 'Current \(mA\)'.*columns="):
        ns.read_cycling(p)
    back = ns.read_cycling(p, columns={"current": "Current (mA)"})
    np.testing.assert_allclose(back.current, 1.0)


def _bdf_spec_check(path: Path) -> None:
    """Validate a file against the BDF column specification (labels, fixed units, required set, row widths)."""
    labels = {c.label: c for c in BDF_COLUMNS}
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    assert len(set(header)) == len(header)
    for h in header:
        assert h in labels, f"{h!r} is not a BDF preferred label"
        assert h.endswith(f" / {labels[h].unit if labels[h].unit != 'ohm' else 'Ohm'}")
    required = {c.label for c in BDF_COLUMNS if c.level == "required"}
    assert required <= set(header)
    assert all(len(r) == len(header) for r in rows[1:])
    data = np.array(rows[1:], dtype=float)
    for name in ("Cycle Count / 1", "Step Count / 1"):
        if name in header:
            assert np.all(np.diff(data[:, header.index(name)]) >= 0), f"{name} must not decrease"
    assert np.all(np.diff(data[:, header.index("Test Time / s")]) >= 0)


def test_bdf_round_trip_and_spec(rec: ns.CyclingData, tmp_path: Path) -> None:
    meta = dict(rec.meta)
    meta["start_time"] = "2024-05-06T08:58:57"
    src = rec.replace(meta=meta, cycle=np.repeat([1, 2], [60, len(rec) - 60]), step=np.arange(len(rec)) // 20 + 1)
    p = to_bdf(src, tmp_path / "cell.bdf.csv")
    _bdf_spec_check(p)
    assert choose_reader(p, kind="cycling").name == "bdf-csv"
    back = ns.read_cycling(p)
    for name in ("time", "voltage", "current", "cycle", "step"):
        np.testing.assert_array_equal(getattr(back, name), getattr(src, name), err_msg=name)
    assert back.columns["unix_time_second"][0] == pytest.approx(1714985937.0)
    s = summary(back)  # the written capacity columns are the integral: no counter warning
    np.testing.assert_allclose(s.charge_capacity, s.instrument_charge_capacity, rtol=1e-9)
    assert read_bdf(p).meta["format"] == "bdf-csv"
    bad = tmp_path / "bad.bdf.csv"
    bad.write_text(p.read_text().replace("Voltage / V", "Voltage / mV"))
    with pytest.raises(ReadError, match="not Battery Data Format quantities"):
        ns.read_cycling(bad, format="bdf-csv")


def test_neware_regular_export() -> None:
    p = shared_file("cycling", "nw_regular_export_ife_example.csv")
    assert choose_reader(p, kind="cycling").name == "neware-regular"
    rec = ns.read_cycling(p)
    # README: 9295 records, t 0 -> 100,543 s, V 3.8999-4.7001, I +-0.5 A
    assert rec.meta["rows_read"] == len(rec) == 9295
    assert rec.time[0] == 0 and rec.time[-1] == 100543
    assert rec.voltage.min() == pytest.approx(3.8999) and rec.voltage.max() == pytest.approx(4.7001)
    assert rec.current.min() == pytest.approx(-0.5) and rec.current.max() == pytest.approx(0.5)
    table = rec.meta["cycle_table"]
    assert len(table["Cycle Index"]) == 20 and table["Chg. Cap.(Ah)"][:2] == [0.02256, 0.3278]
    assert rec.meta["table_checks"]["problems"] == []
    s = summary(rec)
    # README cycle table: cycle 1 charge 0.02256 / discharge 0.33067 Ah; totals 5,713.2 / 5,946.6 mAh
    assert float(s.charge_capacity.sel(cycle=1)) == pytest.approx(22.56, rel=5e-3)
    assert float(s.discharge_capacity.sel(cycle=1)) == pytest.approx(330.67, rel=5e-3)
    assert float(s.charge_capacity.sum()) == pytest.approx(5713.2, rel=5e-3)
    assert float(s.discharge_capacity.sum()) == pytest.approx(5946.6, rel=5e-3)


def test_neware_regular_damaged(tmp_path: Path) -> None:
    lines = shared_file("cycling", "nw_regular_export_ife_example.csv").read_text().split("\n")
    bad = list(lines)
    bad[200] = bad[200].replace(",-0.", ",-x0.", 1) if ",-0." in bad[200] else bad[200] + ",9"
    q = tmp_path / "nw.csv"
    q.write_text("\n".join(bad))
    with pytest.raises(ReadError, match="line 201"):
        ns.read_cycling(q)
    bad = list(lines)
    bad[1000] = bad[1000].rsplit(",", 1)[0]
    q.write_text("\n".join(bad))
    with pytest.raises(ReadError, match="line 1001"):
        ns.read_cycling(q)


def test_issue13_maccor_negative_rest_reading_keeps_the_convention(tmp_path: Path) -> None:
    src = shared_file("cycling", "maccor_001.txt")
    ref = ns.read_cycling(src)
    lines = src.read_text(encoding="latin-1").split("\n")
    k = next(i for i in range(5, len(lines)) if "\tR\t" in lines[i])
    f = lines[k].split("\t")
    f[7] = "-0.00010"
    lines[k] = "\t".join(f)
    q = tmp_path / "m.txt"
    q.write_text("\n".join(lines), encoding="latin-1")
    got = ns.read_cycling(q)
    diff = np.flatnonzero(got.current != ref.current)
    assert diff.tolist() == [k - 4]  # only the changed cell differs
    assert got.current[k - 4] == pytest.approx(-1e-4)
    assert "unsigned" in got.meta["current_sign"] and "1 negative reading" in got.meta["current_sign"]


def test_issue13_bad_optional_cell_drops_the_column_with_a_warning(tmp_path: Path) -> None:
    src = shared_file("cycling", "maccor_001.txt")
    lines = src.read_text(encoding="latin-1").split("\n")
    f = lines[300].split("\t")
    f[6] = "0.0x"  # Watt-hr
    lines[300] = "\t".join(f)
    q = tmp_path / "m.txt"
    q.write_text("\n".join(lines), encoding="latin-1")
    with pytest.warns(TableWarning, match=r"column 'Watt-hr' dropped: line 301"):
        got = ns.read_cycling(q)
    assert "watt_hr" not in got.columns and got.meta["dropped_columns"] == {"Watt-hr": 301}
    assert len(got) == 6704
    # the same in the EC-Lab text reader
    mpt = shared_file("cycling", "gcpl.issue_149.mpt").read_bytes().decode("latin-1").split("\n")
    g = mpt[100].split("\t")
    g[15] = "x"  # P/W
    mpt[100] = "\t".join(g)
    r = tmp_path / "g.mpt"
    r.write_bytes("\n".join(mpt).encode("latin-1"))
    with pytest.warns(TableWarning, match=r"column 'P/W' dropped: line 101"):
        back = ns.read_cycling(r)
    assert "p" not in back.columns and len(back) == 132


def test_issue13_arbin_mixed_line_ends_and_shifted_rows(tmp_path: Path) -> None:
    rec = synthetic_record(n_cycles=2, points_per_cycle=90, seed=9)
    p = ns.io.cyclers.write_arbin_csv(rec, tmp_path / "a.csv", digits=10)
    rows = p.read_bytes().split(b"\n")
    mixed = b"".join(r + (b"\r" if i % 3 == 0 else b"\n") for i, r in enumerate(rows[:-1]))
    q = tmp_path / "mixed.csv"
    q.write_bytes(mixed)
    got = ns.read_cycling(q)
    ref = ns.read_cycling(p)
    assert got.meta["rows_read"] == len(got) == len(ref) == len(rec)
    np.testing.assert_array_equal(got.voltage, ref.voltage)
    extra = list(rows)
    extra[50] = extra[50].replace(b",", b",-0.001,", 1)  # one extra field: never a shifted row
    q.write_bytes(b"\n".join(extra))
    with pytest.raises(ReadError, match="line 51.*expected 12 columns, found 13"):
        ns.read_cycling(q)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ns.read_cycling(p)) == len(rec)


def test_issue13_neware_csv_optional_column_and_sign(tmp_path: Path) -> None:
    rows = ["Record ID,Cycle Index,Step Index,Step Type,Total Time,Current(mA),Voltage(V),Capacity(mAh),T1(degC)"]
    for k in range(40):
        kind, cur = ("CC Chg", 1.0) if k < 20 else ("CC DChg", 1.0)
        rows.append(f"{k + 1},1,{1 if k < 20 else 2},{kind},{k * 10},{cur},{3.5 + 0.01 * (k % 20)},{k % 20},25")
    rows[5] = rows[5].replace(",1.0,", ",-0.001,")  # one negative reading in a charge record
    rows[30] = rows[30].rsplit(",", 1)[0] + ",2x"  # a bad temperature cell
    p = tmp_path / "nw.csv"
    p.write_text("\n".join(rows) + "\n")
    with pytest.warns(TableWarning, match=r"column 'T1\(degC\)' dropped: line 31"):
        rec = ns.read_cycling(p)
    assert "t1" not in rec.columns and rec.meta["dropped_columns"] == {"T1(degC)": 31}
    assert "unsigned" in rec.meta["current_sign"]
    np.testing.assert_allclose(rec.current[20:], -1e-3)  # every discharge record signed
    assert rec.current[4] == pytest.approx(-1e-6)  # the outlier kept as read


def test_generic_reader_refuses_unsigned_currents_with_discharge_labels(tmp_path: Path) -> None:
    p = tmp_path / "u.csv"
    p.write_text("Time (s),Mode,Current (A),Voltage (V)\n0,CC Chg,1.0,3.5\n1,CC Chg,1.0,3.6\n2,CC DChg,1.0,3.5\n")
    with pytest.raises(ReadError, match="never negative.*CC DChg.*current_sign='as-stored'"):
        ns.read_cycling(p)
    with pytest.warns(ns.NcmsurfWarning, match="unsigned"):
        rec = ns.read_cycling(p, current_sign="as-stored")
    assert rec.current.tolist() == [1.0, 1.0, 1.0]


def test_damaged_units_are_never_assumed(tmp_path: Path) -> None:
    p = tmp_path / "nw.csv"
    p.write_text("Record ID,Step Type,Total Time,Current(mA6,Voltage(V)\n1,CC Chg,0,1.0,3.5\n2,CC Chg,1,1.0,3.6\n")
    with pytest.raises(ReadError, match=r"line 1: column 'Current\(mA6': the unit in its header cannot be read"):
        ns.read_cycling(p)
    q = tmp_path / "g.mpt"
    lines = shared_file("cycling", "gcpl.issue_149.mpt").read_bytes().split(b"\n")
    lines[80] = lines[80].rstrip(b"\r") + lines[81]  # the first data row joined to the header
    del lines[81]
    q.write_bytes(b"\n".join(lines))
    with pytest.raises(ReadError, match="line 81.*holds numbers"):
        ns.read_cycling(q)
