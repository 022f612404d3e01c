"""Reader registry, content sniffing and the plain-text readers, including bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.io.registry import SimpleReader, readers, register_reader


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    p = tmp_path / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


# ------------------------------------------------------------------ good input
def test_eis_text_units_and_sign(tmp_path: Path) -> None:
    p = write(tmp_path, "z.csv", "freq/kHz,Z' (Ohm),-Z'' (mOhm)\n1,10,1000\n0.001,20,5000\n")
    raw = ns.read_eis(p, area=2.0, normalize=False)[0]
    assert raw.frequency.tolist() == [1000.0, 1.0]
    assert raw.impedance.tolist() == [10 - 1j, 20 - 5j]
    assert raw.area == 2.0 and raw.units == "ohm"
    spec = ns.read_eis(p, area=2.0)[0]  # area given: ohm·cm², like every EIS reader
    assert spec.impedance.tolist() == [20 - 2j, 40 - 10j] and spec.units == "ohm * cm ** 2"


def test_xps_text_kinetic_header(tmp_path: Path) -> None:
    p = write(tmp_path, "ni.txt", "Kinetic Energy (eV)\tCounts\tBackground\n600\t10\t1\n601\t12\t1\n602\t30\t1\n")
    spec = ns.read_xps(p, region="Ni 2p")[0]
    assert spec.binding_energy.tolist() == pytest.approx([886.6, 885.6, 884.6])
    assert spec.region == "Ni 2p"
    assert spec.meta["extra_columns"]["Background"].tolist() == [1.0, 1.0, 1.0]  # nothing dropped


def test_cycling_text_units_mapping_and_extras(tmp_path: Path) -> None:
    p = write(tmp_path, "cell.csv",
              "Time (h),Voltage (V),Current (mA),Cycle,Temperature (degC)\n0,3.0,1.0,1,25\n0.5,3.9,1.0,1,25.5\n"
              "1,3.5,-1.0,1,26\n")
    d = ns.read_cycling(p, mass=ns.ureg.Quantity(10, "mg"))
    assert d.time.tolist() == [0.0, 1800.0, 3600.0]
    assert d.current.tolist() == [0.001, 0.001, -0.001]
    assert d.cycle.tolist() == [1, 1, 1] and d.mass == pytest.approx(0.01)
    assert d.columns["Temperature"].tolist() == [25.0, 25.5, 26.0]
    assert d.meta["rows_read"] == 3
    q = write(tmp_path, "odd.csv", "t_total,E,Icell\n0,3,1\n1,3,1\n")
    d2 = ns.read_cycling(q, columns={"time": "t_total", "voltage": "E", "current": "Icell"})
    assert len(d2) == 2


def test_sims_and_eds_text(tmp_path: Path) -> None:
    p = write(tmp_path, "p.txt", "Sputter time (s)\tAlO-\tNiF3-\n0\t100\t1\n1\t50\t20\n2\t5\t40\n")
    prof = ns.read_sims(p, sputter_rate=0.2)
    assert prof.fragments == ["AlO-", "NiF3-"] and prof.depth.tolist() == pytest.approx([0, 0.2, 0.4])
    q = write(tmp_path, "m.csv", "x,y,Al,Ni\n0,0,1,5\n1,0,2,6\n0,1,3,7\n1,1,4,8\n")
    emap = ns.read_eds(q)
    assert emap.shape == (2, 2) and emap["Al"].tolist() == [[1, 2], [3, 4]]


def test_decimal_comma_and_semicolon(tmp_path: Path) -> None:
    p = write(tmp_path, "z.csv", "freq;Zre;Zim\n1000,5;10,25;-1,5\n1,0;20,0;-5,0\n")
    spec = ns.read_eis(p)[0]
    assert spec.frequency.tolist() == [1000.5, 1.0] and spec.impedance[0] == 10.25 - 1.5j


def test_shared_exampledata_reads_whole(shared_data: Path) -> None:
    spec = ns.read_eis(shared_file("eis", "exampleData.csv"))[0]
    # 66 rows in the file (shared/data/README.md); first row 10 kHz per the file
    assert spec.frequency.size == 66
    raw = np.loadtxt(shared_file("eis", "exampleData.csv"), delimiter=",")
    assert np.array_equal(spec.frequency, raw[:, 0])
    assert np.array_equal(spec.impedance, raw[:, 1] + 1j * raw[:, 2])


def test_shared_rate_csv_rows(shared_data: Path) -> None:
    d = ns.read_cycling(shared_file("cycling", "rate_cc_raw.csv"), format="cycling-text")
    assert len(d) == 27450 and d.meta["rows_read"] == 27450  # README: 27450 rows
    assert d.time[0] == pytest.approx(30.0006) and d.time[-1] == pytest.approx(700505.7379)
    assert set(d.columns) >= {"charge_capacity", "discharge_capacity", "data_point", "step_time"}


# ------------------------------------------------------------------- bad input
@pytest.mark.parametrize("reader", ["read_xps", "read_eis", "read_cycling", "read_sims", "read_eds"])
def test_empty_file(tmp_path: Path, reader: str) -> None:
    p = write(tmp_path, "empty.csv", "")
    with pytest.raises(ns.ReadError, match="empty") as err:
        getattr(ns, reader)(p)
    assert err.value.path == str(p)


@pytest.mark.parametrize("reader", ["read_xps", "read_eis", "read_cycling", "read_sims", "read_eds"])
def test_binary_garbage(tmp_path: Path, reader: str) -> None:
    rng = np.random.default_rng(1)
    p = write(tmp_path, "garbage.csv", rng.integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(ns.ReadError):
        getattr(ns, reader)(p)


def test_truncated_row(tmp_path: Path) -> None:
    p = write(tmp_path, "z.csv", "freq,Zre,Zim\n1000,10,-1\n100,11,-2\n10,12")
    with pytest.raises(ns.ReadError) as err:
        ns.read_eis(p)
    assert err.value.line == 4 and "expected 3 columns, found 2" in err.value.reason


def test_wrong_column_count_mid_file(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "time_s,voltage_V,current_A\n0,3,1\n1,3,1,7\n2,3,1\n")
    with pytest.raises(ns.ReadError) as err:
        ns.read_cycling(p)
    assert err.value.line == 3 and "expected 3 columns, found 4" in err.value.reason


@pytest.mark.parametrize("bad", ["nan", "inf", "-inf", "NaN"])
def test_nonfinite_values(tmp_path: Path, bad: str) -> None:
    p = write(tmp_path, "x.txt", f"Binding Energy\tCounts\n870\t1\n869\t{bad}\n868\t3\n")
    with pytest.raises(ns.ReadError) as err:
        ns.read_xps(p)
    assert err.value.line == 3 and "non-finite" in err.value.reason


def test_non_numeric_value(tmp_path: Path) -> None:
    p = write(tmp_path, "x.csv", "freq,Zre,Zim\n1000,10,-1\n100,abc,-2\n")
    with pytest.raises(ns.ReadError) as err:
        ns.read_eis(p)
    assert err.value.line == 3 and "'abc'" in err.value.reason


@pytest.mark.parametrize(("freq", "what"), [("0", "must be > 0"), ("-10", "must be > 0"), ("1000", "duplicate")])
def test_bad_frequencies(tmp_path: Path, freq: str, what: str) -> None:
    p = write(tmp_path, "z.csv", f"freq,Zre,Zim\n1000,10,-1\n{freq},11,-2\n")
    with pytest.raises(ns.ReadError) as err:
        ns.read_eis(p)
    assert err.value.line == 3 and what in err.value.reason


def test_unsorted_time(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "time_s,voltage_V,current_A\n0,3,1\n5,3,1\n2,3,1\n")
    with pytest.raises(ns.ReadError) as err:
        ns.read_cycling(p)
    assert err.value.line == 4 and "time decreases" in err.value.reason


def test_mismatched_lengths_in_models() -> None:
    with pytest.raises(ns.ValidationError, match="length"):
        ns.ImpedanceSpectrum([1, 2, 3], [1, 2])


def test_zero_mass(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "time_s,voltage_V,current_A\n0,3,1\n1,3,1\n")
    with pytest.raises(ns.ValidationError, match="mass"):
        ns.read_cycling(p, mass=0)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ns.ReadError, match="no such file"):
        ns.read(tmp_path / "nope.csv")
    with pytest.raises(ns.ReadError, match="directory"):
        ns.read(tmp_path)


def test_unrecognised_text(tmp_path: Path) -> None:
    p = write(tmp_path, "notes.txt", "just some words\nnothing numeric here\n")
    with pytest.raises(ns.ReadError, match="not recognised"):
        ns.read(p)


def test_missing_required_column(tmp_path: Path) -> None:
    p = write(tmp_path, "c.csv", "time_s,voltage_V,temperature\n0,3,1\n1,3,1\n")
    with pytest.raises(ns.ReadError, match="no current column"):
        ns.read_cycling(p, format="cycling-text")


def test_unknown_format_name(tmp_path: Path) -> None:
    p = write(tmp_path, "z.csv", "1,2,3\n4,5,6\n")
    with pytest.raises(ns.ReadError, match="no reader named"):
        ns.read(p, format="nonexistent")


# -------------------------------------------------------------------- registry
def test_every_kind_has_a_text_reader() -> None:
    names = {r.name for r in readers()}
    assert {"xps-text", "eis-text", "cycling-text", "sims-text", "eds-text"} <= names


def test_register_reader_plugin(tmp_path: Path) -> None:
    def sniff(path: Path, head: bytes) -> float:
        return 1.0 if head.startswith(b"MYLAB-EIS") else 0.0

    def read(path: Path, **_: object) -> list[ns.ImpedanceSpectrum]:
        return [ns.ImpedanceSpectrum([1.0], [2.0 + 0j], meta={"from": "mylab"})]

    register_reader(SimpleReader("mylab", "eis", (".mlb",), sniff, read))
    p = write(tmp_path, "a.mlb", "MYLAB-EIS v1\n")
    assert ns.read_eis(p)[0].meta == {"from": "mylab"}
    with pytest.raises(ns.ValidationError):
        register_reader(SimpleReader("bad", "nmr", (), sniff, read))


def test_reader_exceptions_become_read_errors(tmp_path: Path) -> None:
    def sniff(path: Path, head: bytes) -> float:
        return 1.0 if head.startswith(b"BROKEN") else 0.0

    def read(path: Path, **_: object) -> list[ns.ImpedanceSpectrum]:
        return [][0]  # an IndexError inside a reader

    register_reader(SimpleReader("broken", "eis", (), sniff, read))
    p = write(tmp_path, "b.txt", "BROKEN\n")
    with pytest.raises(ns.ReadError, match="IndexError"):
        ns.read_eis(p)
