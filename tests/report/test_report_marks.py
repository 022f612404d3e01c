"""The report marks every suspect and failed fit: on its figure, in the metrics table and in the verdict table."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest

import ncmsurf as ns
from ncmsurf.core.results import Quality
from ncmsurf.study._steps import STEPS

pytest.importorskip("matplotlib")


MARKED = {"A(3)-NCM": ("failed", "not_converged", "maximum number of function evaluations reached"),
          "F(1)-NCM@100": ("suspect", "at_bound", "CPE1_1 at its upper bound 1")}


def _marked_eis_step(step: Any) -> Any:
    """The study's impedance step, with the circuit fits of MARKED given another verdict."""

    def run(ms: Any, sample: Any, opts: Any, sources: Any) -> Any:
        out = step(ms, sample, opts, sources)
        if sample.label in MARKED and "eis_fit" in out.results:
            level, code, reason = MARKED[sample.label]
            fit = out.results["eis_fit"]
            out.results["eis_fit"] = fit.replace(quality=Quality(level, [(code, reason)]),
                                                 message=reason if level == "failed" else None)
        return out

    return run


@pytest.fixture(scope="module")
def marked_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    from ncmsurf.report import build_report

    root = tmp_path_factory.mktemp("marked")
    folder = ns.datasets.demo_study(root / "demo", kinds=["eis"])
    with warnings.catch_warnings(), pytest.MonkeyPatch.context() as mp:
        warnings.simplefilter("ignore", RuntimeWarning)
        mp.setitem(STEPS, "eis", _marked_eis_step(STEPS["eis"]))
        study = ns.Study.from_folder(folder).analyze(progress=False)
        rep = build_report(study, root / "out" / "report.html", figures=["S4_nyquist", "bode", "metrics_vs_n"])
    return rep.path, rep


def test_marks_in_the_tables_and_the_verdict_list(marked_report: tuple[Path, Any]) -> None:
    path, rep = marked_report
    html = path.read_text()
    assert ("A(3)-NCM", "eis_fit", "failed", "maximum number of function evaluations reached") in rep.verdicts
    assert ("F(1)-NCM@100", "eis_fit", "suspect", "CPE1_1 at its upper bound 1") in rep.verdicts
    assert "maximum number of function evaluations reached" in html and "CPE1_1 at its upper bound 1" in html
    # the metrics table: the R_ct cell of each marked sample carries its mark and reason
    row = re.search(r"<tr><th class='l'>A\(3\)-NCM</th>(.*?)</tr>", html)
    assert row is not None and row.group(1).count("class='failed'") >= 3  # r_s, r_sei, r_ct, c_sei
    row = re.search(r"<tr><th class='l'>F\(1\)-NCM@100</th>(.*?)</tr>", html)
    assert row is not None and "class='suspect'" in row.group(1)
    row = re.search(r"<tr><th class='l'>P-NCM</th>(.*?)</tr>", html)
    assert row is not None and "class='suspect'" not in row.group(1) and "class='failed'" not in row.group(1)


def test_marks_on_the_figures(marked_report: tuple[Path, Any]) -> None:
    _, rep = marked_report
    notes = " ".join(rep.notes["S4_nyquist"])
    assert "A(3)-NCM circuit fit failed: maximum number of function evaluations reached" in notes
    assert "F(1)-NCM@100 circuit fit suspect: CPE1_1 at its upper bound 1" in notes
    assert rep.layout["S4_nyquist"] == []


def test_marks_are_visible_in_headless_chromium(marked_report: tuple[Path, Any], tmp_path: Path) -> None:
    from test_report_cli import _chromium, run_probe

    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium binary (Debian package 'chromium') on this machine")
    line = run_probe(exe, marked_report[0], tmp_path / "profile")
    m = re.search(r"IMAGES (\d+)/(\d+) .* MARKS (\d+) FAILED (\d+) SUSPECT (\d+)", line)
    assert m is not None, line
    assert m.group(1) == m.group(2) and int(m.group(2)) >= 2
    assert int(m.group(4)) >= 4 and int(m.group(5)) >= 2  # marks in the metrics and verdict tables are shown
