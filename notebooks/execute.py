"""Execute every notebook in this folder in place, keeping the outputs (figures inline as PNG).

Run from the repository root or from here::

    python notebooks/execute.py [NAME.ipynb ...]

The notebooks find the shared measurement data the way the tests do
(``<repository>/../shared/data``) and say so when it is absent.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent


def execute(path: Path, timeout: int = 600) -> float:
    """Run one notebook with ``notebooks/`` as working directory and write it back with its outputs."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = nbclient.NotebookClient(nb, timeout=timeout, kernel_name="python3",
                                     resources={"metadata": {"path": str(HERE)}})
    client.execute()
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    names = sys.argv[1:] or sorted(p.name for p in HERE.glob("*.ipynb"))
    for name in names:
        seconds = execute(HERE / name)
        print(f"{name}: executed in {seconds:.1f} s")
