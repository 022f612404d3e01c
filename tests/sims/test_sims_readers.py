"""SurfaceLab text/CSV reader: layout variants, write/read round trip, precise errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

import ncmsurf as ns
from ncmsurf.core.errors import ReadError
from ncmsurf.datasets.coating import synthetic_profile
from ncmsurf.io.sims_formats import SURFACELAB, write_surfacelab_txt

SURFACELAB_TXT = """\
Profile exported from SurfaceLab 7.3
Sample: A(3)-NCM
Polarity: negative
\tLi^-\tLiF2^-\tAlO2^-\tNiO2^-
\t7.016\t45.014\t58.972\t89.926
Sputter Time (s)\tIntensity (cts)\tIntensity (cts)\tIntensity (cts)\tIntensity (cts)
0.0\t120\t3400\t9000\t10
2.5\t118\t3300\t8800\t15
5.0\t119\t1200\t4000\t600
7.5\t121\t60\t200\t1500
"""


def _write(tmp_path: Path, text: str, name: str = "profile.txt") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_reads_surfacelab_layout(tmp_path: Path) -> None:
    prof = ns.read_sims(_write(tmp_path, SURFACELAB_TXT))
    assert prof.fragments == ["Li-", "LiF2-", "AlO2-", "NiO2-"]
    np.testing.assert_array_equal(prof.sputter_time, [0, 2.5, 5, 7.5])
    np.testing.assert_array_equal(prof["AlO2-"], [9000, 8800, 4000, 200])
    assert prof.meta["masses"]["NiO2-"] == pytest.approx(89.926)
    assert prof.meta["format"] == "surfacelab"
    assert str(prof.sample) == "A(3)-NCM"


def test_surfacelab_beats_generic_text_reader(tmp_path: Path) -> None:
    p = _write(tmp_path, SURFACELAB_TXT)
    assert SURFACELAB.sniff(p, p.read_bytes()) >= 0.8
    from ncmsurf.io.registry import choose_reader

    assert choose_reader(p, kind="sims").name == "surfacelab"


def test_csv_variant_with_decimal_point_and_minutes(tmp_path: Path) -> None:
    text = "Name,AlO-,NiO2-\nMass (u),42.977,89.926\nSputter time (min),Intensity,Intensity\n0,5,1\n1,4,2\n2,1,5\n"
    prof = ns.read_sims(_write(tmp_path, text, "p.csv"), sputter_rate=0.01)
    np.testing.assert_array_equal(prof.sputter_time, [0, 60, 120])  # minutes converted to s
    assert prof.sputter_rate == 0.01


@pytest.mark.parametrize("delimiter", ["\t", ",", ";"])
def test_writer_round_trip_exact(tmp_path: Path, delimiter: str) -> None:
    p = synthetic_profile(coating_thickness=4.0, sputter_rate=0.05, width=1.0, seed=5, sample="F(2)-NCM@100")
    f = write_surfacelab_txt(p, tmp_path / "p.txt", delimiter=delimiter)
    back = ns.read_sims(f)
    np.testing.assert_array_equal(back.sputter_time, p.sputter_time)
    for frag in p.fragments:
        np.testing.assert_array_equal(back[frag], p[frag])
    assert back.sputter_rate == p.sputter_rate and back.sample == p.sample
    assert back == p.with_meta(**back.meta).replace(meta=back.meta)


@pytest.mark.parametrize("text, line, what", [
    (SURFACELAB_TXT.replace("5.0\t119\t1200", "5.0\t119"), 9, "expected 5 columns"),
    (SURFACELAB_TXT.replace("7.5\t121", "7.5\tabc"), 10, "non-numeric"),
    (SURFACELAB_TXT.replace("7.5\t121", "7.5\tnan"), 10, "non-finite"),
    (SURFACELAB_TXT.replace("\tLi^-\tLiF2^-", "\tLi^-\tLi^-"), 4, "listed twice"),
])
def test_bad_content_gives_line_and_reason(tmp_path: Path, text: str, line: int, what: str) -> None:
    with pytest.raises(ReadError, match=what) as exc:
        ns.read_sims(_write(tmp_path, text))
    assert exc.value.line == line


def test_truncated_and_decreasing_time(tmp_path: Path) -> None:
    head_only = "\n".join(SURFACELAB_TXT.splitlines()[:6]) + "\n"
    with pytest.raises(ReadError, match="no data rows"):
        ns.read_sims(_write(tmp_path, head_only), format="surfacelab")
    dec = SURFACELAB_TXT.replace("7.5\t121", "1.0\t121")
    with pytest.raises(ReadError, match="sputter time decreases"):
        ns.read_sims(_write(tmp_path, dec))


def test_no_warning_from_reader(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ns.read_sims(_write(tmp_path, SURFACELAB_TXT))


def test_decimal_comma_export_takes_the_careful_path(tmp_path: Path) -> None:
    text = "Name\tAlO-\tNiO2-\nMass (u)\t42,977\t89,926\nSputter time (s)\tI\tI\n0,0\t5,5\t1,0\n0,5\t4,0\t2,25\n"
    prof = ns.read_sims(_write(tmp_path, text))
    np.testing.assert_array_equal(prof.sputter_time, [0.0, 0.5])  # decimal commas, tab-separated
    np.testing.assert_array_equal(prof["NiO2-"], [1.0, 2.25])
