"""Long records are segmented in blocks of whole half-cycles: the result is the one-pass result, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from ncmsurf.cycling import _segment, segment, summary
from ncmsurf.datasets.cycling import synthetic_record


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_blocked_control_equals_one_pass(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = synthetic_record(n_cycles=12, points_per_cycle=150, seed=seed)  # CC-CV charges, rests
    whole = segment(rec)
    s_whole = summary(rec)
    assert (whole.control == _segment.CV).any()
    for block in (1, 37, 400):
        monkeypatch.setattr(_segment, "_CONTROL_BLOCK", block)
        part = segment(rec)
        np.testing.assert_array_equal(part.control, whole.control)
        np.testing.assert_array_equal(part.step, whole.step)
        s_part = summary(rec)
        for v in s_whole.data_vars:
            np.testing.assert_array_equal(s_part[v].values, s_whole[v].values)
