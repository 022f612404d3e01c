"""The notebooks in notebooks/: stored with their outputs, and they still run (working directory notebooks/)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CELL_TIMEOUT = 300  # s per cell; each notebook is meant to run in about a minute


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb")) if NOTEBOOKS.is_dir() else []


def test_there_are_notebooks() -> None:
    assert len(_notebooks()) >= 5


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_stored_with_its_outputs(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    counts = [c.get("execution_count") for c in code]
    assert all(isinstance(n, int) for n in counts), f"{path.name}: cells not executed: {counts}"
    assert counts == sorted(counts), f"{path.name}: cells executed out of order"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"], f"{path.name}: a stored error"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert images, f"{path.name}: no figure among the outputs"
    text = "".join("".join(c["source"]) for c in code)
    assert 'matplotlib.use("Agg")' not in text  # figures must reach the stored outputs
    if "shared" in text:
        # the shared data are found the way the tests find them: <repository>/../shared/data
        assert 'Path.cwd().parent / ".." / "shared" / "data"' in text, path.name


@pytest.mark.slow
@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    nb = nbformat.read(path, as_version=4)
    saved = {k: os.environ.get(k) for k in ("MPLBACKEND", "NCMSURF_CACHE")}
    os.environ["MPLBACKEND"] = "Agg"
    os.environ["NCMSURF_CACHE"] = str(tmp_path / "cache")
    try:
        client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT, kernel_name="python3",
                                         resources={"metadata": {"path": str(NOTEBOOKS)}})
        client.execute()
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if (NOTEBOOKS.parent / ".." / "shared" / "data").is_dir():
        printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                          if o.output_type == "stream")
        assert "not present" not in printed and "not here" not in printed, f"{path.name} missed the shared data"
