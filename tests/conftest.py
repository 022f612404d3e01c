"""Shared fixtures: the public measurement files in ../shared/data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (set HYPOTHESIS_PROFILE=explore to search afresh).
settings.register_profile("deterministic", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))

SHARED_DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()


def shared_file(*parts: str) -> Path:
    """Path of a file under ../shared/data, or skip the test with the reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared measurement data not available ({p} missing; it sits beside the repository in CI)")
    return p


@pytest.fixture
def shared_data() -> Path:
    """The ../shared/data folder, or skip."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared measurement data not available ({SHARED_DATA} missing)")
    return SHARED_DATA
