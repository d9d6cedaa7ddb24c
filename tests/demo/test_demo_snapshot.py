"""The demo's leaderboards are those of the code before the issue-7 move (same seed, quick mode).

``data/demo_quick_seed0_leaderboards.json`` was written by the code of commit 36b49da (the last
commit of the old layout) with ``run_demo(seed=0, quick=True)``. The embedding leaderboard (closed-
form probes) must be equal up to float noise, names and ranks included. The dense one trains
networks for a few epochs, where a different float rounding (another numpy/BLAS build) moves the
trajectory: seen 0.029 mIoU on one cell between two sets of package releases of the same day.
So its rows (the models) must be the same and each score within :data:`DENSE_ATOL` of the
snapshot: far closer than a broken training or scoring would land, and not one build's rounding.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.demo.walkthrough import run_demo

SNAPSHOT = Path(__file__).parent / "data" / "demo_quick_seed0_leaderboards.json"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


#: How far a dense score may move with float rounding (mIoU, absolute).
DENSE_ATOL = 0.05


def _compare_trained(got: pd.DataFrame, want: dict[str, object]) -> None:
    expected = pd.DataFrame(want["rows"]).set_index("model")  # type: ignore[index]
    got = got.set_index("model")
    assert sorted(got.index) == sorted(expected.index)
    assert [str(c) for c in got.columns] == [c for c in want["columns"] if c != "model"]  # type: ignore[attr-defined]
    for column in ("n_tasks",):
        assert got[column].tolist() == expected.loc[got.index, column].tolist()
    scores = [c for c in got.columns if c not in ("n_tasks", "avg_rank")]
    diff = (got[scores] - expected.loc[got.index, scores]).abs()
    assert float(diff.to_numpy().max()) <= DENSE_ATOL, diff


def _compare(got: pd.DataFrame, want: dict[str, object]) -> None:
    got = got.reset_index(drop=True)
    assert [str(c) for c in got.columns] == want["columns"]
    expected = pd.DataFrame(want["rows"])[want["columns"]]  # type: ignore[index]
    assert len(got) == len(expected)
    for column in expected.columns:
        a, b = got[column].tolist(), expected[column].tolist()
        if expected[column].dtype.kind in "fi" and got[column].dtype.kind in "fi":
            np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float),
                                       rtol=1e-6, atol=1e-9, err_msg=column)
        else:
            assert a == b, column


def test_demo_leaderboards_match_the_snapshot_taken_before_the_move(tmp_path: Path) -> None:
    snapshot = json.loads(SNAPSHOT.read_text())
    report = run_demo(out=tmp_path, seed=0, quick=True, report=False, progress=False)
    _compare(report.leaderboard, snapshot["embedding"])
    assert report.dense is not None
    _compare_trained(report.dense.leaderboard, snapshot["dense"])
