"""Peak memory of one call, for the benchmark tables (tracemalloc: numpy buffers are traced)."""

from __future__ import annotations

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
