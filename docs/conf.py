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
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]

myst_enable_extensions = ["dollarmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

autodoc_typehints = "none"  # numpydoc sections carry the types
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
    if what == "module":
        for i in range(len(lines) - 1):
            if lines[i].strip() in _SECTION_NAMES and set(lines[i + 1].strip()) == {"-"}:
                lines[i] = f".. rubric:: {lines[i].strip()}"
                lines[i + 1] = ""


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("autodoc-process-docstring", _docstring_text, priority=400)
