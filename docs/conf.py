"""Sphinx configuration of the ncmsurf documentation.

Build (warnings are errors)::

    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import ncmsurf

project = "ncmsurf"
author = "ncmsurf developers"
copyright = "ncmsurf developers, MIT licence"
version = release = ncmsurf.__version__

extensions = [
    "myst_nb",  # MyST markdown and the notebooks (with the outputs stored in them)
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints", "guide/_figures"]

# The notebooks in notebooks/ are executed and stored with their outputs (notebooks/execute.py); the build
# shows those outputs and does not run them again.
nb_execution_mode = "off"
nb_merge_streams = True

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "signature"  # the hints in the signatures; numpydoc sections describe them
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autosummary_generate = False
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

html_theme = "alabaster"
html_title = f"ncmsurf {release}"
html_theme_options = {"description": "Surface study of coated Ni-rich NCM cathodes", "fixed_sidebar": True}


# ---------------------------------------------------------------- docstrings
# Docstrings are written for ``help()`` as well as for Sphinx: absolute values
# such as |Z| are plain text there, not reStructuredText substitutions, and a
# module docstring's numpydoc sections become rubrics (sections inside an
# automodule directive would clash between pages).
import re  # noqa: E402

_ABS = re.compile(r"(?<![\\|`])\|([^|`\n]{1,40})\|(?![|_`])")
_SECTION_NAMES = ("Examples", "Notes", "References", "See Also")


def _docstring_text(app, what, name, obj, options, lines):  # type: ignore[no-untyped-def]
    in_literal = False
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(">>>") or stripped.startswith("..."):
            continue
        if stripped.endswith("::"):
            in_literal = True
            continue
        if in_literal and stripped and not line.startswith(" "):
            in_literal = False
        if not in_literal and "|" in line:
            lines[i] = _ABS.sub(lambda m: "\\|" + m.group(1) + "\\|", line)
    if what == "class" and isinstance(obj, type):
        _drop_property_attributes(obj, lines)
    if what == "module":
        for i in range(len(lines) - 1):
            if lines[i].strip() in _SECTION_NAMES and set(lines[i + 1].strip()) == {"-"}:
                lines[i] = f".. rubric:: {lines[i].strip()}"
                lines[i + 1] = ""


def _drop_property_attributes(obj, lines):  # type: ignore[no-untyped-def]
    """Remove from a class's Attributes section the entries that are properties.

    autodoc documents each property (with its own docstring and type hint) as
    a member; listing it in the Attributes section as well showed it twice.
    """
    try:
        start = next(i for i in range(len(lines) - 1)
                     if lines[i].strip() == "Attributes" and set(lines[i + 1].strip()) == {"-"})
    except StopIteration:
        return
    end = start + 2
    while end < len(lines) and not (end + 1 < len(lines) and lines[end].strip() and not lines[end].startswith(" ")
                                    and set(lines[end + 1].strip()) == {"-"} and len(lines[end + 1].strip()) >= 3):
        end += 1
    kept: list[str] = []
    drop = False
    for line in lines[start + 2:end]:
        if line and not line.startswith(" "):
            name = line.split(":")[0].strip()
            drop = isinstance(getattr(obj, name, None), property)
        if not drop:
            kept.append(line)
    if any(x.strip() for x in kept):
        lines[start + 2:end] = kept
    else:
        del lines[start:end]


# ------------------------------------------------------------------ figures
# Each guide page shows the figures its code makes: docs/guide/_figures/<name>.py is included in the page
# (literalinclude) and run here, its ``fig`` written to docs/guide/_generated/<name>.png.
_HERE = Path(__file__).resolve().parent


def _guide_figures(app):  # type: ignore[no-untyped-def]
    import runpy
    import warnings

    out = _HERE / "guide" / "_generated"
    out.mkdir(exist_ok=True)
    for script in sorted((_HERE / "guide" / "_figures").glob("*.py")):
        png = out / f"{script.stem}.png"
        if png.is_file() and png.stat().st_mtime >= script.stat().st_mtime:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fig = runpy.run_path(str(script))["fig"]
        fig.savefig(png, dpi=150)


def _metric_catalog(app):  # type: ignore[no-untyped-def]
    """The study guide's metric list, written from the metric registry (ns.study.metric_catalog)."""
    import ncmsurf as ns

    out = _HERE / "guide" / "_generated"
    out.mkdir(exist_ok=True)
    cat = ns.study.metric_catalog()
    rows = ["| metric | kind | unit | description | other units (NaN with this reason) |", "|---|---|---|---|---|"]
    for name, r in cat.iterrows():
        cells = [f"`{name}`", r["kind"], f"`{r['unit']}`", r["description"], r["alternatives"] or ""]
        rows.append("| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |")
    text = "\n".join(rows) + "\n"
    target = out / "metric_catalog.md"
    if not target.is_file() or target.read_text(encoding="utf-8") != text:
        target.write_text(text, encoding="utf-8")


def _notebooks(app):  # type: ignore[no-untyped-def]
    """Copy the executed notebooks into docs/notebooks/ (the pages of the notebooks section)."""
    import shutil

    src = _HERE.parent / "notebooks"
    dst = _HERE / "notebooks"
    dst.mkdir(exist_ok=True)
    for nb in sorted(src.glob("*.ipynb")):
        target = dst / nb.name
        if not target.is_file() or target.read_bytes() != nb.read_bytes():
            shutil.copyfile(nb, target)


def _skip_bare_attribute(app, what, name, obj, skip, options):  # type: ignore[no-untyped-def]
    """Plain class attributes (annotations, fields) are described in the class's Attributes section only.

    autodoc lists annotation-only attributes as members with an empty
    description; numpydoc's Attributes section already has them with theirs.
    """
    if what == "class" and not callable(obj) and not isinstance(obj, (property, type, classmethod, staticmethod)):
        return True
    return None


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-skip-member", _skip_bare_attribute)
    app.connect("autodoc-process-docstring", _docstring_text, priority=400)
    app.connect("builder-inited", _guide_figures)
    app.connect("builder-inited", _notebooks)
    app.connect("builder-inited", _metric_catalog)
