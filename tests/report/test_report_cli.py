"""The main job: `ncmsurf report` on the demo study, the report's content, and its rendering in Chromium."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from ncmsurf.cli import main

#: after load: decoded images, cut or overflowing reason cells, figures with a clean layout, visible verdict marks
PROBE = ("<script>window.addEventListener('load',function(){var imgs=document.images,ok=0;"
         "for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}"
         "var cut=0,wide=0,t=document.getElementById('missing-table');"
         "if(t){var cells=t.querySelectorAll('td.wrap');for(var j=0;j<cells.length;j++){"
         "if(cells[j].scrollWidth>cells[j].clientWidth+1){cut++;}}"
         "if(t.getBoundingClientRect().right>document.documentElement.clientWidth+1){wide=1;}}"
         "var figs=document.querySelectorAll('figure'),clean=0;"
         "for(var k=0;k<figs.length;k++){if(figs[k].getAttribute('data-layout-problems')==='0'){clean++;}}"
         "var marks=document.querySelectorAll('span.mark'),shown=0,failed=0,suspect=0;"
         "for(var m=0;m<marks.length;m++){var r=marks[m].getBoundingClientRect();if(r.width>0&&r.height>0){shown++;"
         "if(marks[m].classList.contains('failed')){failed++;}if(marks[m].classList.contains('suspect')){suspect++;}}}"
         "var d=document.createElement('pre');d.id='probe';d.textContent='IMAGES '+ok+'/'+imgs.length+' CUT '+cut+"
         "' WIDE '+wide+' LAYOUT '+clean+'/'+figs.length+' MARKS '+shown+' FAILED '+failed+' SUSPECT '+suspect;"
         "document.body.appendChild(d);});</script>")


def run_probe(exe: str, html_path: Path, profile: Path) -> str:
    """The probe's line from the DOM of ``html_path`` loaded in headless Chromium."""
    probe = html_path.with_name(html_path.stem + "_probe.html")
    probe.write_text(html_path.read_text().replace("</body>", PROBE + "</body>"))
    dom = subprocess.run([exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                          "--dump-dom", probe.as_uri()], capture_output=True, text=True, timeout=180)
    m = re.search(r"<pre id=\"probe\">(IMAGES [^<]*)</pre>", dom.stdout)
    assert m is not None, dom.stderr[-2000:]
    return m.group(1)


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def main_job(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`ncmsurf report -o OUT` in-process, with the demo generated into a private cache folder."""
    root = tmp_path_factory.mktemp("mainjob")
    old = os.environ.get("NCMSURF_CACHE")
    os.environ["NCMSURF_CACHE"] = str(root / "cache")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            from contextlib import redirect_stdout
            from io import StringIO

            buf = StringIO()
            with redirect_stdout(buf):
                code = main(["report", "-q", "-o", str(root / "out")])
    finally:
        if old is None:
            os.environ.pop("NCMSURF_CACHE", None)
        else:
            os.environ["NCMSURF_CACHE"] = old
    assert code == 0, buf.getvalue()
    return root / "out" / "report.html", buf.getvalue()


def test_main_job_writes_report(main_job: tuple[Path, str]) -> None:
    html_path, out = main_job
    assert html_path.is_file()
    assert f"report: {html_path.resolve()}" in out
    covered = re.search(r"analyses covered: (.*)", out)
    assert covered is not None
    for kind in ("xps", "eis", "cycling", "sims", "eds"):
        assert kind in covered.group(1)
    html = html_path.read_text()
    assert "Synthetic demo data" in html
    import importlib.util

    from PIL import Image

    from ncmsurf.report import REPORT_FIGURES

    made = [n for n in REPORT_FIGURES if f"id='fig-{n}'" in html]
    tem = importlib.util.find_spec("ncmsurf.tem") is not None
    assert set(REPORT_FIGURES) - set(made) == (set() if tem else {"S9_tem"})  # TEM where its engine is installed
    assert len(made) >= 12
    for name in made:
        png = html_path.with_name("report_figures") / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(png) as im:
            assert round(im.info["dpi"][0]) >= 300, name
        assert b"<svg" in png.with_suffix(".svg").read_bytes()[:2000]
        # every figure of the report passed the layout check (no text over an axis label)
        assert f"id='fig-{name}' data-layout-problems='0'" in html, name
    # self-contained: every image is embedded, nothing is fetched
    srcs = re.findall(r"<img[^>]*src='([^']*)'", html)
    assert len(srcs) >= 12 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert base64.b64decode(srcs[0].split(",", 1)[1])[:4] == b"\x89PNG"
    assert "http://" not in html and "https://" not in html


def test_reported_metrics_recover_the_demo_truth(main_job: tuple[Path, str]) -> None:
    # the report's metrics table against the generator's truth (manifest [truth] table of the demo the
    # command wrote): |found - truth| <= 3 stderr + floor; floors as in tests/study/test_study_demo.py
    # (0.5 % of the truth for R_ct and retention; none for the Ni2+ share: stderr alone).
    floors = {"r_ct": (0.005, 0.0), "ni2_fraction": (0.0, 0.0), "retention_100": (0.005, 0.0)}
    import math
    import sys

    import pandas as pd

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    html_path, out = main_job
    table = pd.read_csv(html_path.with_name("report_metrics.csv"), index_col="sample")
    demo = Path(re.search(r"demo study \(synthetic\) written to (.*)", out).group(1).strip())
    truth = tomllib.loads((demo / "study.toml").read_text())["truth"]
    checked = 0
    for label, t in truth.items():
        for metric in ("r_ct", "ni2_fraction", "retention_100"):
            if metric not in t:
                continue
            v, s = table.loc[label, metric], table.loc[label, f"{metric}_stderr"]
            assert math.isfinite(v) and math.isfinite(s), (label, metric)
            rel, absolute = floors[metric]
            assert abs(v - t[metric]) <= 3 * s + rel * abs(t[metric]) + absolute, (label, metric, v, s, t[metric])
            checked += 1
    assert checked == 14 + 14 + 7


def test_report_shows_truth_and_recovered_values(main_job: tuple[Path, str]) -> None:
    html = main_job[0].read_text()
    assert "generating parameters and what the analysis found" in html
    assert "r_ct true" in html and "ni2_fraction found" in html
    assert "Missing values and their reasons" in html
    assert "no cycling file for this sample" in html


def _chromium() -> str | None:
    for name in ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def test_report_renders_in_headless_chromium(main_job: tuple[Path, str], tmp_path: Path) -> None:
    exe = _chromium()
    if exe is None:
        pytest.skip("no chromium binary (Debian package 'chromium') on this machine")
    html_path = main_job[0]
    # a copy of the report with a script that records, after load, whether every image decoded
    probe = html_path.with_name("report_probe.html")
    script = PROBE
    probe.write_text(html_path.read_text().replace("</body>", script + "</body>"))
    profile = tmp_path / "profile"
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*base, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"IMAGES (\d+)/(\d+)", dom.stdout)
    assert m is not None, dom.stderr[-2000:]
    ok, total = int(m.group(1)), int(m.group(2))
    assert total >= 12 and ok == total
    # the missing-values table's reason column is shown whole: no cell is cut and the table fits the page
    cut = re.search(r"CUT (\d+) WIDE (\d+)", dom.stdout)
    assert cut is not None and cut.group(1) == "0" and cut.group(2) == "0", cut
    # every figure records a clean layout check
    layout = re.search(r"LAYOUT (\d+)/(\d+)", dom.stdout)
    assert layout is not None and layout.group(1) == layout.group(2) == str(total - 0), layout
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1280,2400", html_path.as_uri()],
                   capture_output=True, text=True, timeout=120)
    assert shot.is_file()
    import matplotlib.image as mpimg
    import numpy as np

    img = mpimg.imread(shot)
    assert img.shape[0] >= 1000
    assert float(np.std(img[..., :3])) > 0.05  # not a blank page


@pytest.mark.slow
def test_main_job_as_a_subprocess(tmp_path: Path) -> None:
    env = dict(os.environ, NCMSURF_CACHE=str(tmp_path / "cache"), PYTHONWARNINGS="ignore")
    res = subprocess.run([sys.executable, "-m", "ncmsurf", "report", "-o", str(tmp_path / "r")], cwd=tmp_path,
                         capture_output=True, text=True, timeout=600, env=env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert (tmp_path / "r" / "report.html").is_file()
    assert "report:" in res.stdout
    assert "Traceback" not in res.stderr


def test_cli_bad_input_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", str(tmp_path / "absent.vms")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err and "Traceback" not in err
    (tmp_path / "study.toml").write_text('[[files]]\npath = "x.mpt"\nsample = "Z9-NCM"\n')
    assert main(["report", str(tmp_path), "-q", "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "files[0]" in err and "bad sample label" in err
    assert main(["report", str(tmp_path / "nofolder")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["fit", "raman", "x"]) == 2
    capsys.readouterr()


def test_cli_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    import ncmsurf

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ncmsurf {ncmsurf.__version__}"
    assert main([]) == 0
    assert "report" in capsys.readouterr().out


def test_cli_info_and_fit_tables(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ncmsurf as ns

    folder = ns.datasets.demo_study(tmp_path / "demo", kinds=["xps", "eis", "cycling"])
    eis = next((folder / "eis").glob("A3-NCM_fresh.*"))
    assert main(["info", str(eis)]) == 0
    out = capsys.readouterr().out
    assert "reader:" in out and "ImpedanceSpectrum" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["fit", "eis", str(eis), "--area", "1.131"]) == 0
        out = capsys.readouterr().out
        assert "R_ct" in out and "Ω·cm²" in out and "area 1.131 cm²" in out and "verdicts:" in out
        cyc = next((folder / "cycling").glob("A3-NCM_fresh.*"))
        assert main(["fit", "cycling", str(cyc), "--mass", "0.0102"]) == 0
        out = capsys.readouterr().out
        assert "capacity at 5C" in out and "capacity at 0.1C" in out and "cycles to 80 %" in out
        assert "mAh g⁻¹" in out and "0.0984" not in out
        xps = next((folder / "xps").glob("A3-NCM_fresh.*"))
        assert main(["fit", "xps", str(xps), "--charge-ref", "284.8"]) == 0
        out = capsys.readouterr().out
        for head in ("component", "centre (eV)", "FWHM (eV)", "area (counts·eV)", "reduced chi-square",
                     "Ni2+ / (Ni2+ + Ni3+)", "Co 2p fitted with preset", "Li 1s fitted with preset"):
            assert head in out, head
        assert "e-" not in out.split("Ni2+ / (Ni2+")[0].split("Ni 2p fitted")[1]  # no 1.4e-10 style areas
        assert main(["fit", "xps", str(xps), "--model", "Zn 2p"]) == 2
        assert "no 'Zn 2p' block" in capsys.readouterr().err


def _schema() -> dict:
    import json

    return json.loads((Path(__file__).with_name("fit_output.schema.json")).read_text())


def _fit_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict]:
    import json

    jsonschema = pytest.importorskip("jsonschema")
    code = main(argv + ["--json"])
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, _schema())
    assert doc["exit_code"] == code
    return code, doc


def test_fit_json_output_follows_its_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import ncmsurf as ns

    folder = ns.datasets.demo_study(tmp_path / "demo", kinds=["xps", "eis", "cycling"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        code, doc = _fit_json(["fit", "xps", str(next((folder / "xps").glob("F3-NCM_100cyc.*")))], capsys)
        assert code == 0 and doc["kind"] == "xps"
        ni = next(r for r in doc["results"] if r["region"] == "Ni 2p")
        assert {c["name"] for c in ni["components"]} >= {"Ni2+", "Ni3+"}
        assert ni["derived"]["ni2_fraction"]["value"] is not None and ni["verdict"]["level"] in ("good", "suspect")
        code, doc = _fit_json(["fit", "eis", str(next((folder / "eis").glob("P-NCM_fresh.*"))), "--area", "1.131",
                               "--capacitive-only"], capsys)
        assert code == 0 and doc["results"][0]["area_cm2"] == 1.131 and doc["results"][0]["capacitive_only"]
        r_ct = next(p for p in doc["results"][0]["parameters"] if p["physical_name"] == "R_ct")
        assert r_ct["unit"] == "Ω·cm²" and abs(r_ct["value"] - 60.0) < 2.0  # the generator's R_ct in ohm cm2
        code, doc = _fit_json(["fit", "cycling", str(next((folder / "cycling").glob("P-NCM_fresh.*"))),
                               "--mass", "0.01"], capsys)
        steps = [s["c_rate"] for s in doc["results"][0]["rate_steps"]]
        assert steps[:6] == ["0.1C", "0.2C", "0.5C", "1C", "2C", "5C"]
        assert doc["results"][0]["fade"]["c_rate"] == "1C"


def test_fit_json_on_real_files(capsys: pytest.CaptureFixture[str]) -> None:
    from conftest import shared_file

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code, doc = _fit_json(["fit", "xps", str(shared_file("xps", "ARXPS.vms"))], capsys)
        blocks = [r["block"] for r in doc["results"]]
        assert len(blocks) == 15 and "Al 2p at 40°" in blocks and "O 1s at 70°" in blocks
        code, doc = _fit_json(["fit", "xps", str(shared_file("xps", "survey.vms"))], capsys)
        assert [r["block"] for r in doc["results"]] == ["survey"] and doc["results"][0]["verdict"]["level"] == \
            "skipped"
        assert code == 0
        code, doc = _fit_json(["fit", "eis", str(shared_file("eis", "exampleDataBioLogic.mpt"))], capsys)
        assert doc["results"][0]["verdict"]["level"] in ("suspect", "failed")
        assert doc["results"][0]["verdict"]["reasons"]
        assert code == (1 if doc["results"][0]["verdict"]["level"] == "failed" else 0)


def test_fit_prints_the_verdict_and_exits_1_when_a_fit_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    import ncmsurf as ns
    from ncmsurf.core.results import Quality

    folder = ns.datasets.demo_study(tmp_path / "demo", kinds=["eis"])
    eis = str(next((folder / "eis").glob("A1-NCM_fresh.*")))
    real_fit = ns.eis.fit

    class Failed:
        def __init__(self, fit: object) -> None:
            self._fit = fit
            self.success = False
            self.message = "maximum number of function evaluations reached"

        def __getattr__(self, name: str) -> object:
            return getattr(self._fit, name)

    monkeypatch.setattr(ns.eis, "fit", lambda *a, **k: Failed(real_fit(*a, **k)))
    assert main(["fit", "eis", eis]) == 1
    out = capsys.readouterr().out
    assert "failed" in out and "maximum number of function evaluations reached" in out
    code, doc = _fit_json(["fit", "eis", eis], capsys)
    assert code == 1 and doc["results"][0]["verdict"] == {
        "level": "failed", "reasons": [{"code": "not_converged",
                                        "message": "maximum number of function evaluations reached"}]}

    def suspect(*a: object, **k: object) -> object:
        fit = real_fit(*a, **k)
        wrapped = Failed(fit)
        wrapped.success = True
        q = Quality("suspect", [("at_bound", "CPE1_1 at its upper bound 1")])
        wrapped.quality = q  # the result core's verdict
        return wrapped

    monkeypatch.setattr(ns.eis, "fit", suspect)
    assert main(["fit", "eis", eis]) == 0
    assert "suspect: CPE1_1 at its upper bound 1" in capsys.readouterr().out
    assert main(["fit", "eis", eis, "--area", "-1"]) == 2
    assert "--area" in capsys.readouterr().err
    assert main(["fit", "eis", str(tmp_path / "absent.mpt")]) == 2


def test_figures_command_writes_the_supplementary_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib.util

    from PIL import Image

    import ncmsurf as ns

    folder = ns.datasets.demo_study(tmp_path / "demo")
    out = tmp_path / "si"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["figures", str(folder), "-o", str(out), "-q", "--format", "pdf,svg,png"]) == 0
    text = capsys.readouterr().out
    keys = [s.key for s in ns.figures.SI_FIGURES]
    written = sorted(p.stem for p in out.glob("*.png"))
    tem = (folder / "tem").is_dir()
    assert tem == (importlib.util.find_spec("ncmsurf.tem") is not None)
    assert set(written) == set(keys) - (set() if tem else {"S9_tem"})
    assert len(written) == (10 if tem else 9)
    for stem in written:
        pdf, svg, png = (out / f"{stem}.{ext}" for ext in ("pdf", "svg", "png"))
        assert pdf.read_bytes()[:5] == b"%PDF-"
        assert b"<svg" in svg.read_bytes()[:1000]
        with Image.open(png) as im:
            im.verify()
        with Image.open(png) as im:
            assert round(im.info["dpi"][0]) >= 300
    assert f"figures: {len(written)} of 10 written" in text
    if not tem:
        assert "S9_tem: not made: the study has no tem measurements" in text
    assert main(["figures", str(folder), "-o", str(out / "x"), "-q", "--samples", "Z9-NCM"]) == 2
    assert "--samples" in capsys.readouterr().err
