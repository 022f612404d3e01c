"""An Arbin .res whose database lost a record (a damaged page) is refused, not read one record short."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import shared_file

import ncmsurf as ns

pytest.importorskip("access_parser")

RES = "20160805_test001_45_cc_01.res"


def test_the_intact_database_reads_every_record() -> None:
    data = ns.read_cycling(shared_file("cycling", RES))
    assert len(data.time) == 10261


def test_a_lost_record_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    import access_parser

    real = access_parser.AccessParser.parse_table

    def lose_one(self: Any, name: str) -> Any:
        tab = real(self, name)
        if name == "Channel_Normal_Table":
            tab = {k: v[:4047] + v[4048:] for k, v in tab.items()}  # record 4048 gone, as a swapped page gives
        return tab

    monkeypatch.setattr(access_parser.AccessParser, "parse_table", lose_one)
    with pytest.raises(ns.ReadError, match="Data_Point jumps from 4047 to 4049 in test 1: 1 record"):
        ns.read_cycling(shared_file("cycling", RES))
