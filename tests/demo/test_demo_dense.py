"""The dense demo (quick variant): synthetic cryosphere tasks → runs → store → Cryo-Bench table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from planetbench.demo.dense import DENSE_DEMO_TASKS_QUICK, DenseDemoReport, run_dense_demo
from planetbench.store import ResultStore
from planetbench.tasks.demo import SYNTHETIC_NOTICE


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[DenseDemoReport, str, Path]:
    out = tmp_path_factory.mktemp("dense-demo")
    store = f"sqlite:///{out / 'results.sqlite'}"
    return run_dense_demo(out=out / "run", store=store, seed=0, quick=True), store, out


def test_quick_demo_fills_the_store_and_the_leaderboard(
    demo: tuple[DenseDemoReport, str, Path]
) -> None:
    report, store, _ = demo
    assert report.synthetic and report.notice == SYNTHETIC_NOTICE
    assert report.n_runs == 16 and report.n_skipped == 0
    board = report.leaderboard
    assert list(board.columns) == ["model", *DENSE_DEMO_TASKS_QUICK, "avg_miou", "avg_rank",
                                   "n_tasks"]
    assert set(board["model"]) == {
        f"{m} · {p} · f={f}" for m, p in (("unet (tiny)", "finetune"), ("vit (tiny)", "finetune"),
                                          ("vit (tiny)", "frozen"),
                                          ("mosaiks (num_filters=16)", "frozen"))
        for f in ("1", "0.1")}
    assert board["avg_rank"].is_monotonic_increasing
    assert board[list(DENSE_DEMO_TASKS_QUICK)].stack().between(0, 1).all()
    rows = ResultStore(store).query(suite="demo")
    assert len(rows) == 16 and set(rows["task"]) == set(DENSE_DEMO_TASKS_QUICK)
    assert all(any("synthetic" in n for n in notes) for notes in rows["notes"])
    frac = rows[rows["fraction"] == 0.1]
    assert set(frac["metrics"].map(lambda m: m["n_train"])) == {3}
    assert frac["metrics"].map(lambda m: m["fraction_sha256"]).nunique() == 2  # one per task
    assert (report.runs["gflops"] > 0).all() and (report.runs["params"] > 0).all()
    assert set(report.timings) == {"generate", "runs", "leaderboard", "total"}
    assert (report.out / "data" / "SYNTHETIC.md").is_file()


def test_second_call_resumes_from_the_store(demo: tuple[DenseDemoReport, str, Path]) -> None:
    report, store, out = demo
    again = run_dense_demo(out=out / "run", store=store, seed=0, quick=True)
    assert again.n_skipped == again.n_runs == 16
    assert len(ResultStore(store)) == 16
    pd.testing.assert_frame_equal(again.leaderboard, report.leaderboard)
