"""A CasaXPS text export cut inside its last line is refused, never read short (issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import shared_file

from ncmsurf.core.errors import ReadError
from ncmsurf.io.casa_text import read_casa_text


@pytest.mark.parametrize("name", ["vms_txt_export.txt", "FeO_analyzed_lineshapes_cols.txt"])
def test_a_cut_export_is_refused(tmp_path: Path, name: str) -> None:
    raw = shared_file("xps", name).read_bytes()
    whole = read_casa_text(shared_file("xps", name))
    p = tmp_path / name
    for cut in (len(raw) - 3, len(raw) // 2 + 7):
        if raw[cut - 1:cut] in (b"\n", b"\r"):
            continue
        p.write_bytes(raw[:cut])
        with pytest.raises(ReadError, match="no line end"):
            read_casa_text(p)
    assert len(whole) >= 1
