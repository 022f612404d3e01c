"""The Sphinx documentation builds without a single warning (the CI docs step, as a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.slow
def test_docs_build_warning_free(tmp_path: Path) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_parser")
    missing = [p for p in ("benchmarks.md", "guide/xps.md", "guide/eis.md", "guide/cycling.md", "guide/coating.md")
               if not (DOCS / p).is_file()]
    if missing:
        pytest.skip(f"docs pages written elsewhere are not there yet: {missing}")
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                          str(DOCS), str(tmp_path / "html")], capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    assert (tmp_path / "html" / "index.html").is_file()
    assert (tmp_path / "html" / "guide" / "study.html").is_file()
    assert (tmp_path / "html" / "api" / "study.html").is_file()
