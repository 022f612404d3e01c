"""The CSV-matrix element-map reader claims only matrices: not other formats' files (issue 13)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.io.registry import sniff_scores

SPECS_XY = ("# Created by:        SpecsLab Prodigy, Version 4.54\n# Region:            Ni2p\n"
            "# Excitation Energy: 1486,61\n# Values/Curve:      60\n# ColumnLabels: energy counts\n"
            + "".join(f"  {870 - 0.05 * i:.2f}  {1000 + 37 * i % 91:.1f}\n".replace(".", ",") for i in range(60)))


def test_a_specs_xy_with_decimal_commas_is_not_a_map(tmp_path: Path) -> None:
    p = tmp_path / "ni.xy"
    p.write_text(SPECS_XY, encoding="utf-8")
    assert "eds-csv-matrix" not in [r.name for _s, r in sniff_scores(p)]
    q = tmp_path / "ni.txt"
    q.write_text(SPECS_XY, encoding="utf-8")
    assert "eds-csv-matrix" not in [r.name for _s, r in sniff_scores(q)]


def test_whitespace_rows_with_decimal_commas_are_not_split_into_columns(tmp_path: Path) -> None:
    p = tmp_path / "m.txt"
    p.write_text("".join(f"{i},5  {i + 1},25  {i + 2},75  {i + 3},0\n" for i in range(6)), encoding="utf-8")
    assert "eds-csv-matrix" not in [r.name for _s, r in sniff_scores(p)]


def _matrix(tmp_path: Path, key: str = "element", name: str = "Al") -> Path:
    p = tmp_path / "map_Ni.csv"
    p.write_text(f"# {key}: {name}\n# pixel size (nm): 20\n" + "".join(
        ",".join(str((x + y) % 5) for x in range(8)) + "\n" for y in range(6)), encoding="utf-8")
    return p


def test_a_matrix_reads_with_its_element(tmp_path: Path) -> None:
    m = ns.read(_matrix(tmp_path), format="eds-csv-matrix")[0]
    assert m.elements == ["Al"] and m.pixel_size == 20.0
    np.testing.assert_array_equal(m["Al"][0], [0, 1, 2, 3, 4, 0, 1, 2])


@pytest.mark.parametrize("key", ["elemont", "elemen", "eleement", "Elemeny"])
def test_a_damaged_element_key_is_refused(tmp_path: Path, key: str) -> None:
    """Else the map would silently take the file's name (Ni) instead of the header's element (Al)."""
    with pytest.raises(ReadError, match="close to 'element'"):
        ns.read(_matrix(tmp_path, key=key), format="eds-csv-matrix")


def test_a_damaged_element_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="element name"):
        ns.read(_matrix(tmp_path, name="A\x7fl"), format="eds-csv-matrix")
