"""Peak memory of one call, for the benchmark tables.

``peak_mb`` uses tracemalloc (Python and numpy allocations; not pyarrow's or
other native pools). ``peak_rss_mb`` measures the resident set size instead,
which sees every allocation: the call runs once in a fresh interpreter whose
high-water mark is reset after the imports (Linux), so memory pools warmed by
earlier runs cannot hide any of it.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import tracemalloc
from collections.abc import Callable
from typing import Any


def peak_mb(func: Callable[[], Any]) -> tuple[float, Any]:
    """(peak MB allocated during ``func()``, its result); memory that existed before is not counted."""
    tracemalloc.start()
    try:
        out = func()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6, out


def _status_kb(key: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(key):
                return int(line.split()[1])
    raise KeyError(key)


def _child(target: str, args: tuple[Any, ...], conn: Any) -> None:
    try:
        import importlib

        module, _, name = target.partition(":")
        func = getattr(importlib.import_module(module), name)  # imports happen before the reset
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # reset VmHWM to the current RSS
        base = _status_kb("VmRSS")
        func(*args)
        conn.send((_status_kb("VmHWM") - base) * 1024 / 1e6)
    except Exception:  # reported as NaN
        conn.send(math.nan)


def peak_rss_mb(target: str, *args: Any) -> float:
    """Peak resident memory (MB) one call adds in a fresh interpreter; NaN where unsupported.

    ``target`` is ``"module:function"`` (importable from the benchmarks folder),
    called with ``args`` after its imports, once, as a user's first call.
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(target, args, child))
    proc.start()
    value = parent.recv() if parent.poll(3600) else math.nan
    proc.join()
    return float(value)
