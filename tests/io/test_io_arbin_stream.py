"""Large Arbin files are scanned and parsed block by block: same record as the in-memory parse, same errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.datasets.cycling import synthetic_record
from ncmsurf.io import cyclers

pytest.importorskip("pyarrow")


@pytest.fixture
def streaming(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file takes the block-by-block path, in 4 kB blocks (many blocks even for small files)."""
    monkeypatch.setattr(cyclers, "_STREAM_BYTES", 0)
    monkeypatch.setattr(cyclers, "_BLOCK", 4096)


@pytest.fixture(scope="module")
def csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rec = synthetic_record(n_cycles=8, points_per_cycle=400, seed=11)
    return cyclers.write_arbin_csv(rec, tmp_path_factory.mktemp("stream") / "cell.csv", digits=12)


def _read_in_memory(path: Path, **kw: object) -> ns.CyclingData:
    return cyclers.read_arbin_csv(path, **kw)  # files this small are read whole by default


@pytest.mark.parametrize("extra", [True, False, ["Charge_Capacity(Ah)"]])
def test_stream_equals_in_memory_parse(csv: Path, extra: object, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = _read_in_memory(csv, mass=0.01, extra_columns=extra)
    calls: list[int] = []
    real = cyclers._read_streamed
    monkeypatch.setattr(cyclers, "_read_streamed", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(cyclers, "_STREAM_BYTES", 0)
    monkeypatch.setattr(cyclers, "_BLOCK", 4096)
    streamed = cyclers.read_arbin_csv(csv, mass=0.01, extra_columns=extra)
    assert calls == [1]
    assert streamed == whole  # values, dtypes, columns and metadata, exactly
    assert streamed.meta["rows_read"] == len(whole) == 3220


def test_stream_equals_the_table_core_or_leaves_the_file_to_it(csv: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    text = csv.read_bytes()
    variants = {
        "plain": (text, True),
        "trailing blanks": (text + b"\n\n  \n", False),
        "crlf": (text.replace(b"\n", b"\r\n"), True),
        "bom": (b"\xef\xbb\xbf" + text, True),
        "quoted": (b"\n".join([ln if k != 5 else b",".join(b'"' + f + b'"' for f in ln.split(b","))
                               for k, ln in enumerate(text.split(b"\n"))]), False),
        "mixed line ends": (text.replace(b"\n", b"\r", 7), False),
        "no last line end": (text.rstrip(b"\n"), False),
    }
    for name, (data, streams) in variants.items():
        p = tmp_path / f"{name.replace(' ', '_')}.csv"
        p.write_bytes(data)
        core = cyclers._read_checked(p, True)
        monkeypatch.setattr(cyclers, "_BLOCK", 1000)
        got = cyclers._read_streamed(p, True)
        monkeypatch.setattr(cyclers, "_BLOCK", 1 << 20)
        assert (got is not None) == streams, name
        if got is not None:
            assert got[:2] == core[:2], name
            assert set(got[2]) == set(core[2]), name
            for k in core[2]:
                np.testing.assert_array_equal(got[2][k], core[2][k], err_msg=name)
            assert got[3:] == core[3:], name


def test_stream_handles_crlf_bom_and_quotes(csv: Path, tmp_path: Path, streaming: None) -> None:
    ref = cyclers.read_arbin_csv(csv)
    text = csv.read_bytes()
    for name, data in {"crlf": text.replace(b"\n", b"\r\n"), "bom": b"\xef\xbb\xbf" + text,
                       "trailing": text + b"\n\n"}.items():
        p = tmp_path / f"{name}.csv"
        p.write_bytes(data)
        got = cyclers.read_arbin_csv(p)
        np.testing.assert_array_equal(got.time, ref.time, err_msg=name)
        np.testing.assert_array_equal(got.current, ref.current, err_msg=name)
        assert got.meta["rows_read"] == ref.meta["rows_read"], name
    # quoted data fields: the checked in-memory parse takes over and reads them
    lines = text.decode().split("\n")
    lines[5] = ",".join(f'"{v}"' for v in lines[5].split(","))
    q = tmp_path / "quoted.csv"
    q.write_text("\n".join(lines))
    np.testing.assert_array_equal(cyclers.read_arbin_csv(q).voltage, ref.voltage)


def test_stream_errors_name_the_line(csv: Path, tmp_path: Path, streaming: None) -> None:
    lines = csv.read_text().split("\n")
    if not lines[-1]:
        lines = lines[:-1]
    nrows = len(lines) - 1

    def write(name: str, rows: list[str]) -> Path:
        p = tmp_path / name
        p.write_text("\n".join(rows) + "\n")
        return p

    cut = list(lines)
    cut[2000] = cut[2000][: len(cut[2000]) // 2]  # cut short in the middle of the file
    with pytest.raises(ReadError) as err:
        cyclers.read_arbin_csv(write("cut.csv", cut))
    assert err.value.line == 2001
    bad = list(lines)
    f = bad[1500].split(",")
    f[7] = "3.7x"
    bad[1500] = ",".join(f)
    with pytest.raises(ReadError, match="line 1501"):
        cyclers.read_arbin_csv(write("bad.csv", bad))
    with pytest.raises(ReadError, match="line 31"):
        cyclers.read_arbin_csv(write("blank.csv", lines[:30] + [""] + lines[30:]))
    with pytest.raises(ReadError, match=rf"line {nrows + 1}\b.*truncated data row"):
        cyclers.read_arbin_csv(write("end.csv", lines[:-1] + [lines[-1][:10]]))
    short = list(lines)
    short[700] = ",".join(short[700].split(",")[:-1])
    with pytest.raises(ReadError, match="line 701"):
        cyclers.read_arbin_csv(write("short.csv", short), extra_columns=False)
    uns = list(lines)
    k = next(i for i in range(1200, nrows) if float(uns[i].split(",")[2]) < float(uns[i + 1].split(",")[2]))
    a, b = uns[k].split(","), uns[k + 1].split(",")
    a[2], b[2] = b[2], a[2]
    uns[k], uns[k + 1] = ",".join(a), ",".join(b)
    with pytest.raises(ReadError, match=rf"line {k + 2}\b.*time decreases"):
        cyclers.read_arbin_csv(write("unsorted.csv", uns))
    with pytest.raises(ReadError, match="no data rows"):
        cyclers.read_arbin_csv(write("header_only.csv", lines[:1]))


def test_record_holds_the_parsed_arrays_once(csv: Path) -> None:
    rec = cyclers.read_arbin_csv(csv)
    for name in ("voltage", "current"):
        arr = rec.data[name].values
        assert arr.flags.owndata and not arr.flags.writeable  # adopted, read-only, not a second copy
    arr = np.arange(3.0)
    built = ns.CyclingData(arr, arr + 3.0, arr)
    arr[0] = 99.0  # a caller's array is still copied by the public constructor
    assert built.time[0] == 0.0
