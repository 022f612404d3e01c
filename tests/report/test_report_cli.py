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
    for name in ("metrics_vs_n", "nyquist", "bode", "xps_ni2p", "rate_ladder", "retention", "dqdv"):
        assert f"id='fig-{name}'" in html, name
        png = html_path.with_name("report_figures") / f"{name}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in png.with_suffix(".svg").read_bytes()[:2000]
    # self-contained: every image is embedded, nothing is fetched
    srcs = re.findall(r"<img[^>]*src='([^']*)'", html)
    assert len(srcs) >= 6 and all(s.startswith("data:image/png;base64,") for s in srcs)
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
    script = ("<script>window.addEventListener('load',function(){var imgs=document.images,ok=0;"
              "for(var i=0;i<imgs.length;i++){if(imgs[i].complete&&imgs[i].naturalWidth>0){ok++;}}"
              "var d=document.createElement('pre');d.id='probe';d.textContent='IMAGES '+ok+'/'+imgs.length;"
              "document.body.appendChild(d);});</script>")
    probe.write_text(html_path.read_text().replace("</body>", script + "</body>"))
    profile = tmp_path / "profile"
    base = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    dom = subprocess.run([*base, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    m = re.search(r"IMAGES (\d+)/(\d+)", dom.stdout)
    assert m is not None, dom.stderr[-2000:]
    ok, total = int(m.group(1)), int(m.group(2))
    assert total >= 6 and ok == total
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

    folder = ns.datasets.demo_study(tmp_path / "demo")
    eis = next((folder / "eis").glob("A3-NCM_fresh.*"))
    assert main(["info", str(eis)]) == 0
    out = capsys.readouterr().out
    assert "reader:" in out and "ImpedanceSpectrum" in out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["fit", "eis", str(eis)]) == 0
        out = capsys.readouterr().out
        assert "R_ct" in out and "converged" in out
        cyc = next((folder / "cycling").glob("A3-NCM_fresh.*"))
        assert main(["fit", "cycling", str(cyc), "--mass", "0.0102"]) == 0
        out = capsys.readouterr().out
        assert "capacity at 5C" in out and "cycles to 80 %" in out
        xps = sorted((folder / "xps").iterdir())[0]
        assert main(["fit", "xps", str(xps)]) == 0
        out = capsys.readouterr().out
        assert "component" in out and "Ni2+ / (Ni2+ + Ni3+)" in out
        assert main(["fit", "xps", str(xps), "--model", "Co 2p"]) == 2
        assert "no 'Co 2p' block" in capsys.readouterr().err
