"""Run every side-by-side benchmark (ncmsurf against its peer) and print the tables.

Usage::

    python -m pip install -e ".[bench]"
    python benchmarks/run_all.py            # all areas
    python benchmarks/run_all.py xps eis    # some of them

Each ``bench_<area>.py`` times ncmsurf and the peer tool on the same data in one
process, interleaved, and prints medians, ratios and peak memory. A peer that is
not installed is reported as such; the script then exits non-zero.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AREAS = ["xps", "eis", "cycling", "cycling_text", "neware", "coating"]


def main(argv: list[str]) -> int:
    areas = argv or AREAS
    print(f"# ncmsurf benchmarks — Python {platform.python_version()} on {platform.machine()}, "
          f"{platform.system()}; started {time.strftime('%Y-%m-%d %H:%M:%S')}")
    failed = []
    for area in areas:
        script = HERE / f"bench_{area}.py"
        if not script.exists():
            print(f"\n## {area}: no benchmark script {script.name}")
            failed.append(area)
            continue
        print(f"\n## {area}\n", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, str(script)], cwd=HERE.parent)
        print(f"\n({area}: {time.perf_counter() - t0:.0f} s, exit code {proc.returncode})", flush=True)
        if proc.returncode != 0:
            failed.append(area)
    if failed:
        print(f"\nbenchmarks with problems: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
