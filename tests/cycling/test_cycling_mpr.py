"""BioLogic .mpr: ncmsurf's own parser against the README references, galvani and the .mpt exports."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_file

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.cycling import summary
from ncmsurf.io._mpr import MprWarning, parse_mpr
from ncmsurf.io.biologic_cycling import read_mpr, read_mpt
from ncmsurf.io.biologic_eis import read_mpr as read_mpr_eis

pytestmark = pytest.mark.filterwarnings("ignore:reader plugin .* could not be loaded")


def test_gcpl_mpr_ec_lab_11_50_derives_current() -> None:
    p = shared_file("cycling", "gcpl.issue_149.mpr")
    mpr = parse_mpr(p)
    assert mpr.ec_lab_version == "11.50" and mpr.technique == "GCPL" and mpr.data_version == 11
    assert mpr.modules[1].new_header  # EC-Lab >= 11.50 module headers
    rec = read_mpr(p)
    # README: 132 rows, t 30.153 -> 659.986 s, |I| <= 3.0e-5 mA ... (the .mpt of the same run)
    assert rec.meta["rows_read"] == len(rec) == 132
    assert rec.time[0] == pytest.approx(30.153, abs=1e-3) and rec.time[-1] == pytest.approx(659.986, abs=1e-3)
    assert "derived" in rec.meta["current_source"] and rec.meta["current_kind"] == "interval-mean"
    txt = read_mpt(shared_file("cycling", "gcpl.issue_149.mpt"))
    np.testing.assert_allclose(rec.time, txt.time, rtol=0, atol=1e-9)
    np.testing.assert_allclose(rec.voltage, txt.voltage, rtol=0, atol=1e-6)
    # the derived current is EC-Lab's exported <I> (README asks for 1 %)
    np.testing.assert_allclose(rec.current, txt.current, rtol=1e-6, atol=1e-15)
    assert {"q_qo", "half_cycle", "control", "loop"} <= set(rec.columns)
    assert rec.meta["instrument_capacity"]["counters"][0]["column"] == "q_qo"
    assert rec.meta["record_breaks"] == [33, 66, 99]  # the loop starts


def test_gcpl_mpr_summary_against_ec_lab_counter() -> None:
    rec = read_mpr(shared_file("cycling", "gcpl.issue_149.mpr"))
    s = summary(rec)  # filterwarnings=error: a counter mismatch would fail here
    # README: (Q-Qo) gives charge 0.000333418 mAh, discharge 0.000333390 mAh
    assert float(s.charge_capacity.sum()) == pytest.approx(0.000333418, rel=1e-3)
    assert float(s.discharge_capacity.sum()) == pytest.approx(0.000333390, rel=1e-3)
    np.testing.assert_allclose(s.charge_capacity, s.instrument_charge_capacity, rtol=1e-6)
    np.testing.assert_allclose(s.discharge_capacity, s.instrument_discharge_capacity, rtol=1e-6)
    assert s.attrs["gaps_left_out"] == 3 and bool(s.complete.all())


def test_peis_mpr_ec_lab_11_61_with_ece() -> None:
    p = shared_file("eis", "peis.issue_225.with_ece.mpr")
    assert 471 in parse_mpr(p).column_ids  # <Ece>; galvani 0.5 reads only its low byte (215)
    spectra = ns.read_eis(p)
    assert len(spectra) == 1
    s = spectra[0]
    # README (yadg 7.0.1): 32 pts, 199,998.14 Hz -> 1.0016 Hz, first Z 1.227384 - 0.111518j, last 25.24165 - 13.08314j
    assert s.frequency.size == 32
    assert s.frequency[0] == pytest.approx(199998.14, rel=2e-5) or s.frequency[-1] == pytest.approx(199998.14, rel=2e-5)
    order = np.argsort(-s.frequency)
    z = s.impedance[order]
    assert z[0] == pytest.approx(1.227384 - 0.111518j, rel=2e-5)
    assert z[-1] == pytest.approx(25.24165 - 13.08314j, rel=2e-5)
    assert float(np.abs(z).sum()) == pytest.approx(413.9389, rel=2e-5)
    assert len(s.meta["Re(Zce)/Ohm"]) == 32
    assert ns.io.registry.choose_reader(p).name == "biologic-mpr-eis"


def test_mb_mpr_impedance_blocks_against_galvani() -> None:
    p = shared_file("cycling", "biol.mpr")
    spectra = read_mpr_eis(p)
    # README: 4 PEIS of 64 points and a final one of 54
    assert [x.frequency.size for x in spectra] == [64, 64, 64, 64, 54]
    galvani = pytest.importorskip("galvani.BioLogic")
    ref = galvani.MPRfile(str(p)).data
    eis = ref["freq/Hz"] > 0
    zr = ref["|Z|/Ohm"][eis].astype(float) * np.exp(1j * np.radians(ref["Phase(Z)/deg"][eis].astype(float)))
    got = np.concatenate([x.impedance for x in spectra])
    np.testing.assert_allclose(np.sort_complex(got), np.sort_complex(zr), rtol=1e-12)


def _copy(tmp_path: Path, name: str, data: bytes) -> Path:
    q = tmp_path / name
    q.write_bytes(data)
    return q


def test_damaged_mpr_files(tmp_path: Path) -> None:
    raw = shared_file("cycling", "gcpl.issue_149.mpr").read_bytes()
    with pytest.raises(ReadError, match="truncated"):
        read_mpr(_copy(tmp_path, "cut.mpr", raw[: len(raw) - 900]))
    with pytest.raises(ReadError, match="magic"):
        read_mpr(_copy(tmp_path, "nomagic.mpr", b"X" + raw[1:]))
    # an unknown column id: its size follows from the module length, kept with a warning
    k = raw.find(b"VMP data")
    ids_at = k + 59 + 6
    ids = np.frombuffer(raw, "<u2", count=16, offset=ids_at).tolist()
    j = ids.index(70)  # P/W, 4 bytes
    patched = bytearray(raw)
    patched[ids_at + 2 * j: ids_at + 2 * j + 2] = (999).to_bytes(2, "little")
    with pytest.warns(MprWarning, match="999"):
        rec = read_mpr(_copy(tmp_path, "unknown.mpr", bytes(patched)))
    np.testing.assert_array_equal(rec.columns["unknown_999"], parse_mpr(shared_file(
        "cycling", "gcpl.issue_149.mpr")).columns["P/W"])
    # two unknown ids: refused, named
    j2 = ids.index(468)
    patched[ids_at + 2 * j2: ids_at + 2 * j2 + 2] = (998).to_bytes(2, "little")
    with pytest.raises(ReadError, match=r"998.*999|\[999, 998\]|\[998, 999\]"):
        read_mpr(_copy(tmp_path, "unknown2.mpr", bytes(patched)))
    # a record count larger than the records present
    more = bytearray(raw)
    n_at = k + 59
    more[n_at:n_at + 4] = (133).to_bytes(4, "little")
    with pytest.raises(ReadError, match="133"):
        read_mpr(_copy(tmp_path, "count.mpr", bytes(more)))
    # NaN in a time record
    rec_at = k + 59 + 0x3EF
    nan = bytearray(raw)
    nan[rec_at + 3: rec_at + 11] = np.array([np.nan]).tobytes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ReadError, match="record 1.*time"):
            read_mpr(_copy(tmp_path, "nan.mpr", bytes(nan)))


def _mpr(technique: int, ids: list[int], rows: np.ndarray, *, new: bool) -> bytes:
    """An .mpr built from the documented layout (settings, data and log modules), old or EC-Lab >= 11.50 headers."""

    def module(short: str, long_: str, body: bytes, version: int) -> bytes:
        head = short.encode().ljust(10) + long_.encode().ljust(25)
        if new:
            head += b"\xff\xff\xff\xff" + len(body).to_bytes(4, "little") + bytes(4) + version.to_bytes(4, "little")
        else:
            head += len(body).to_bytes(4, "little") + version.to_bytes(4, "little")
        return b"MODULE" + head + b"01/01/24" + body

    settings = bytes([technique]) + bytes(0x300)
    ncol = len(ids)
    if new:
        data = len(rows).to_bytes(4, "little") + ncol.to_bytes(2, "little")
        data += np.array(ids, "<u2").tobytes()
        data = data.ljust(0x3EF, b"\x00") + rows.tobytes()
    else:
        data = len(rows).to_bytes(4, "little") + bytes([ncol]) + np.array(ids, "<u2").tobytes()
        data = data.ljust(0x196, b"\x00") + rows.tobytes()
    magic = b"BIO-LOGIC MODULAR FILE\x1a".ljust(48) + bytes(4)
    return (magic + module("VMP Set", "VMP settings", settings, 10 if new else 0)
            + module("VMP data", "VMP data", data, 11 if new else 3))


@pytest.mark.parametrize("new", [False, True])
def test_ocv_ca_cp_from_the_documented_layout(tmp_path: Path, new: bool) -> None:
    flags = np.dtype([("flags", "u1"), ("t", "<f8"), ("ewe", "<f4")])
    ocv = np.zeros(5, flags)
    ocv["flags"] = 3  # mode 3: rest
    ocv["t"] = np.arange(5.0)
    ocv["ewe"] = [3.5, 3.51, 3.52, 3.53, 3.54]
    p = tmp_path / "ocv.mpr"
    p.write_bytes(_mpr(0x0B, [1, 2, 3, 4, 6], ocv, new=new))
    rec = read_mpr(p)
    assert rec.meta["technique"] == "OCV" and "no current flows" in rec.meta["current_source"]
    np.testing.assert_array_equal(rec.current, 0.0)
    np.testing.assert_allclose(rec.voltage, ocv["ewe"].astype(float))
    # chronoamperometry / chronopotentiometry: <I>/mA stored (id 76), interval means
    dt = np.dtype([("flags", "u1"), ("t", "<f8"), ("ewe", "<f4"), ("i", "<f4")])
    ca = np.zeros(4, dt)
    ca["flags"] = 2  # mode 2: potentiostatic
    ca["t"] = np.arange(4.0)
    ca["ewe"] = 4.2
    ca["i"] = [0.0, 1.0, 0.8, 0.6]
    for tech, name in ((0x18, "CA"), (0x19, "CP")):
        q = tmp_path / f"{name}.mpr"
        q.write_bytes(_mpr(tech, [1, 4, 6, 76], ca, new=new))
        got = read_mpr(q)
        assert got.meta["technique"] == name and got.meta["current_kind"] == "interval-mean"
        np.testing.assert_allclose(got.current, ca["i"].astype(float) * 1e-3)
