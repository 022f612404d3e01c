"""The Sphinx documentation builds without a single warning (the CI docs step, as a test), with the notebooks'
outputs, the guides' figures and API pages that list each member once."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    pytest.importorskip("myst_nb")
    missing = [p for p in ("benchmarks.md", "guide/xps.md", "guide/eis.md", "guide/cycling.md", "guide/coating.md")
               if not (DOCS / p).is_file()]
    if missing:
        pytest.skip(f"docs pages written elsewhere are not there yet: {missing}")
    out = tmp_path_factory.mktemp("docs") / "html"
    res = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
                          str(DOCS), str(out)], capture_output=True, text=True, timeout=1500)
    assert res.returncode == 0, (res.stdout + res.stderr)[-4000:]
    return out


@pytest.mark.slow
def test_docs_build_warning_free(html: Path) -> None:
    assert (html / "index.html").is_file()
    assert (html / "guide" / "study.html").is_file()
    assert (html / "api" / "study.html").is_file()
    assert (html / "api" / "figures.html").is_file()


@pytest.mark.slow
def test_notebooks_are_pages_with_their_figures(html: Path) -> None:
    notebooks = sorted((DOCS.parent / "notebooks").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        page = html / "notebooks" / f"{nb.stem}.html"
        assert page.is_file(), page
        text = page.read_text(encoding="utf-8")
        assert re.search(r"<img [^>]*src=\"[^\"]+\.png\"", text), f"{nb.name}: no figure on its page"


@pytest.mark.slow
def test_each_guide_page_shows_its_figures(html: Path) -> None:
    for name in ("xps", "eis", "cycling", "coating", "tem", "study"):
        text = (html / "guide" / f"{name}.html").read_text(encoding="utf-8")
        scripts = {p.stem for p in (DOCS / "guide" / "_figures").glob("*.py")}
        imgs = [src for src in re.findall(r"<img [^>]*src=\"([^\"]+\.png)\"", text) if Path(src).stem in scripts]
        assert imgs, name
        for src in imgs:
            assert (html / "guide" / src).resolve().is_file(), src
        assert "ns.figures." in text  # the code that made the figure is on the page


@pytest.mark.slow
def test_api_pages_list_each_member_once_with_type_hints(html: Path) -> None:
    for page in sorted((html / "api").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        ids = re.findall(r"<dt class=\"sig sig-object py\" id=\"([\w.]+)\"", text)
        dup = sorted({i for i in ids if ids.count(i) > 1})
        assert not dup, (page.name, dup[:5])
        # a property documented as a member is not listed again in its class's Attributes section
        for cls in {i.rsplit(".", 1)[0] for i in ids}:
            start = text.find(f'id="{cls}"')
            if start < 0:
                continue
            head = text[start:text.find("<dl class=\"py", start + 10)] if "<dl class=\"py" in text[start:] else ""
            members = {i.rsplit(".", 1)[1] for i in ids if i.rsplit(".", 1)[0] == cls}
            at = head.find(">Attributes<")
            section = "" if at < 0 else head[at:head.find("<dt class=\"field-", at) if "<dt class=\"field-" in
                                                 head[at:] else len(head)]
            listed = set(re.findall(r"<dt><strong>(\w+)</strong>", section))
            assert not (listed & members), (page.name, cls, sorted(listed & members))
    figures = (html / "api" / "figures.html").read_text(encoding="utf-8")
    assert "StyleArg" in figures or "Mapping" in figures  # the style argument's type in the signature
