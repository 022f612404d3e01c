"""A Neware CSV whose cycle or step header cell is damaged is refused (the record would lose its counter)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ncmsurf as ns

ROWS = ["1,1,1,Rest,00:00:10,0.0000,3.0008,0", "2,1,1,Rest,00:00:20,0.0000,3.0003,0",
        "3,1,2,CC Chg,00:00:30,1.0000,3.3007,0.0028", "4,1,2,CC Chg,00:00:40,1.0000,3.5762,0.0056",
        "5,1,3,CC DChg,00:00:50,1.0000,3.4426,0.0028", "6,1,3,CC DChg,00:01:00,1.0000,3.3007,0.0056"]


def _write(path: Path, cycle: str = "Cycle Index", step: str = "Step Index") -> Path:
    head = f"Record ID,{cycle},{step},Step Type,Total Time,Current(mA),Voltage(V),Capacity(mAh)"
    path.write_text("\n".join([head, *ROWS]) + "\n")
    return path


def test_the_intact_export_reads_its_cycles(tmp_path: Path) -> None:
    d = ns.read(_write(tmp_path / "a.csv"), format="neware-csv")[0]
    assert d.meta["rows_read"] == 6 and set(d.cycle.tolist()) == {1}


@pytest.mark.parametrize("cycle, step", [("Cyc9le Index", "Step Index"), ("Cycle Index", "Stepp Index"),
                                         ("Cycle Indx", "Step Index")])
def test_a_damaged_counter_header_is_refused(tmp_path: Path, cycle: str, step: str) -> None:
    with pytest.raises(ns.ReadError, match="not a known Neware column but close to"):
        ns.read(_write(tmp_path / "b.csv", cycle, step), format="neware-csv")
