"""Leaderboards with intervals over stored runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.report.leaderboards import results_leaderboard, suite_leaderboard
from planetbench.store import Result, ResultStore


def _runs(n_seeds: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for model, base in (("strong", 0.8), ("weak", 0.4), ("twin", 0.8)):
        for task in ("a", "b", "c"):
            for s in range(n_seeds):
                rows.append(
                    {
                        "model": model,
                        "task": task,
                        "metric": "miou",
                        "seed": s,
                        "score": base + rng.normal(0, 0.01),
                    }
                )
    return pd.DataFrame(rows)


def test_ranks_ties_and_intervals() -> None:
    table = results_leaderboard(_runs(), reps=500)
    assert table["model"].iloc[-1] == "weak"
    weak = table.set_index("model").loc["weak"]
    assert weak["mean_rank"] == 3.0 and weak["avg_rank"] == 3.0
    assert not weak["tied_with_leader"]
    leader, second = table["model"].iloc[0], table["model"].iloc[1]
    assert {leader, second} == {"strong", "twin"}
    assert bool(table.set_index("model").loc[second, "tied_with_leader"])
    for _, row in table.iterrows():
        assert row["iqm_low"] <= row["iqm"] <= row["iqm_high"]
        assert row["mean_rank_low"] <= row["mean_rank"] <= row["mean_rank_high"]
        assert row["mean"] == pytest.approx(np.mean([row["a"], row["b"], row["c"]]))


def test_lower_is_better_metric_is_ranked_correctly() -> None:
    runs = _runs().assign(metric="rmse")
    table = results_leaderboard(runs, reps=200)
    assert table["model"].iloc[0] == "weak"  # lowest RMSE wins
    row = table.iloc[0]
    assert row["iqm_low"] <= row["iqm"] <= row["iqm_high"]


def test_refusals() -> None:
    with pytest.raises(InvalidInputError, match="no runs to rank"):
        results_leaderboard(_runs().iloc[:0])
    mixed = _runs()
    mixed.loc[mixed["task"] == "a", "metric"] = "f1_macro"
    with pytest.raises(InvalidInputError, match="different metrics"):
        results_leaderboard(mixed, reps=100)
    frac = _runs().assign(fraction=[0.1, 1.0] * (len(_runs()) // 2) + [0.1] * (len(_runs()) % 2))
    with pytest.raises(InvalidInputError, match="mix several fraction"):
        results_leaderboard(frac, reps=100)


def test_suite_leaderboard_from_store(store_url: str) -> None:
    store = ResultStore(store_url)
    store.add_many(
        [
            Result(
                model=r.model,
                task=r.task,
                protocol="frozen",
                metric="miou",
                score=r.score,
                suite="cryo",
                seed=int(r.seed),
                fraction=1.0,
            )
            for r in _runs(3).itertuples()
        ]
    )
    table = suite_leaderboard(store_url, suite="cryo", preset="cryo", reps=200)
    assert list(table.columns[:4]) == ["model", "a", "b", "c"]
    assert "avg_rank" in table.columns and len(table) == 3


def test_single_run_cells_resample_tasks_not_runs() -> None:
    """One run per (model, task): resampling runs is degenerate, so tasks are resampled."""
    rows = [
        {"model": m, "task": f"t{t}", "metric": "miou", "seed": 0, "score": base + 0.1 * t}
        for m, base in (("a", 0.5), ("b", 0.45)) for t in range(5)
    ]
    table = results_leaderboard(pd.DataFrame(rows), reps=2000)
    assert table.attrs["resampled"].startswith("tasks")
    a = table.set_index("model").loc["a"]
    assert a["iqm_low"] < a["iqm"] < a["iqm_high"]  # not the degenerate [x, x] interval
    many = pd.DataFrame([{**r, "seed": s, "score": r["score"] + 0.01 * s} for r in rows
                         for s in range(3)])
    assert results_leaderboard(many, reps=200).attrs["resampled"].startswith("runs")


def test_neuco_layout_mean_rank_interval_over_tasks() -> None:
    from planetbench.report.leaderboards import neuco_layout

    board = pd.DataFrame({
        "model": ["a", "b", "c"],
        "t1": [30.0, 20.0, np.nan], "t2": [25.0, 10.0, 5.0], "t3": [5.0, 15.0, 1.0],
        "mean_q": [20.0, 15.0, 3.0], "weighted_score": [1.2, 1.8, np.nan], "rank": [1, 2, None],
    })
    out = neuco_layout(board, reps=2000, seed=0).set_index("model")
    assert out.loc["a", "mean_rank"] == pytest.approx(4 / 3)  # ranks 1, 1, 2
    assert out.loc["b", "mean_rank"] == pytest.approx(5 / 3)  # ranks 2, 2, 1 (c lacks t1)
    # resampling the tasks moves a's mean rank anywhere between all-1 and all-2
    assert out.loc["a", "mean_rank_low"] == 1.0 and out.loc["a", "mean_rank_high"] == 2.0
    assert np.isnan(out.loc["c", "mean_rank_low"])  # incomplete models get no interval
    assert out.loc["a", "mean"] == 20.0 and "weighted_score" in out.columns
