"""Leaderboards with intervals over stored runs."""

from __future__ import annotations

from pathlib import Path

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


def test_rank_two_everywhere_with_interval_two_two_is_not_tied() -> None:
    """tied_with_leader compares mean-rank intervals: [1, 1] and [2, 2] do not overlap."""
    rows = [
        {"model": m, "task": t, "metric": "miou", "seed": s, "score": base + 0.001 * s}
        for m, base in (("first", 0.9), ("second", 0.5), ("third", 0.1))
        for t in ("a", "b", "c") for s in range(4)
    ]
    table = results_leaderboard(pd.DataFrame(rows), reps=300).set_index("model")
    assert table.loc["second", "mean_rank"] == 2.0
    assert table.loc["second", ["mean_rank_low", "mean_rank_high"]].tolist() == [2.0, 2.0]
    assert table.loc["first", ["mean_rank_low", "mean_rank_high"]].tolist() == [1.0, 1.0]
    assert not table["tied_with_leader"].any()
    assert (table["reps"] == 300).all() and table.attrs["reps"] == 300
    assert any("300 rounds" in n for n in table.attrs["notes"])


def test_seeds_that_differ_between_tasks_are_matched_by_position() -> None:
    """GEO-Bench-2 draws seeds per dataset: no seed is on every task, yet every run counts."""
    rows = [
        {"model": m, "task": t, "metric": "miou", "seed": 100 * i + s, "score": base + 0.01 * s}
        for m, base in (("x", 0.7), ("y", 0.4)) for i, t in enumerate(("a", "b", "c"))
        for s in range(5)
    ]
    table = results_leaderboard(pd.DataFrame(rows), reps=200)
    assert table["n_runs"].tolist() == [5, 5]
    assert table["model"].tolist() == ["x", "y"]


def test_mixed_metrics_message_names_the_flags(store_url: str) -> None:
    mixed = _runs()
    mixed.loc[mixed["task"] == "a", "metric"] = "f1_macro"
    with pytest.raises(InvalidInputError, match=r"--normaliser FILE.*--metric"):
        results_leaderboard(mixed, reps=100)


def _store_mixed(store_url: str) -> None:
    ResultStore(store_url).add_many([
        Result(model=r.model, task=r.task, protocol="frozen", metric=r.metric,
               score=float(r.score), suite="s", seed=int(r.seed), fraction=1.0)
        for r in _runs(3).assign(metric=lambda d: np.where(d["task"] == "a", "rmse", "miou"))
        .itertuples()
    ])


def test_normaliser_files_of_both_kinds(store_url: str, tmp_path: Path) -> None:
    import json

    from planetbench.report.normaliser_files import PublishedRanges, read_normaliser
    from planetbench.stats.normalise import Normaliser

    _store_mixed(store_url)
    with pytest.raises(InvalidInputError, match="--normaliser FILE"):
        suite_leaderboard(store_url, suite="s", reps=100)
    published = tmp_path / "normalizer.json"
    published.write_text(json.dumps({"a": [0.0, 1.0], "b": [0.3, 0.9], "c": [0.3, 0.9]}))
    ranges = read_normaliser(published)
    assert isinstance(ranges, PublishedRanges)
    board = suite_leaderboard(store_url, suite="s", normaliser=ranges, reps=100)
    # "a" is an RMSE (lower is better): the weak model's low scores rank first there.
    assert board.set_index("model").loc["weak", "a"] == pytest.approx(0.4, abs=0.05)
    assert any("normalizer.json" in n for n in board.attrs["notes"])
    runs = ResultStore(store_url).query()
    fitted = Normaliser.fit(runs.assign(seed=runs["seed"].fillna(0)), reference_models=["weak",
                            "strong"], version="v1")
    own = tmp_path / "own.json"
    own.write_text(fitted.to_json())
    assert read_normaliser(own) == fitted
    for text, match in (("[1, 2]", "neither"), ("{", "cannot be read"),
                        ('{"a": ["x", 1]}', "not numeric")):
        own.write_text(text)
        with pytest.raises(InvalidInputError, match=match):
            read_normaliser(own)
    with pytest.raises(InvalidInputError, match=r"--normaliser '.*': no such file"):
        read_normaliser(tmp_path / "absent.json")
    short = tmp_path / "short.json"
    short.write_text(json.dumps({"a": [0.0, 1.0]}))
    with pytest.raises(InvalidInputError, match="no \\[low, high\\] range for task 'b'"):
        suite_leaderboard(store_url, suite="s", normaliser=read_normaliser(short), reps=100)


def test_empty_suite_names_the_suites_held(store_url: str) -> None:
    _store_mixed(store_url)
    with pytest.raises(InvalidInputError, match=r"no runs to rank.*holds suite\(s\) s"):
        suite_leaderboard(store_url, suite="nothing", reps=100)


def test_a_learning_rate_sweep_is_never_averaged_into_a_cell() -> None:
    rows = [
        {"model": m, "task": t, "metric": "miou", "seed": s, "lr": lr,
         "score": base + (0.2 if lr == 1e-3 else 0.0), "val_score": base - lr}
        for m, base in (("a", 0.5), ("b", 0.4)) for t in ("x", "y") for s in range(2)
        for lr in (1e-4, 1e-3)
    ]
    table = results_leaderboard(pd.DataFrame(rows), reps=100).set_index("model")
    # validation prefers 1e-4 (its score is lower by lr): the test scores of 1e-4 are kept
    assert table.loc["a", "x"] == pytest.approx(0.5) and table.loc["b", "mean"] == pytest.approx(0.4)
    assert table.loc["a", "n_runs"] == 2
    assert any("several learning rates" in n for n in table.attrs["notes"])
    without = pd.DataFrame(rows).drop(columns="val_score")
    with pytest.raises(InvalidInputError, match="choose one rate with --lr"):
        results_leaderboard(without, reps=100)


def test_normaliser_command_writes_the_file_the_message_names(
    store_url: str, tmp_path: Path
) -> None:
    """The mixed-metrics message sends to `planetbench normaliser`: it exists and its file
    ranks the board."""
    from typer.testing import CliRunner

    import planetbench.cli.embedding
    import planetbench.cli.report  # noqa: F401
    from planetbench.cli import app

    runner = CliRunner()
    _store_mixed(store_url)
    mixed = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s", "--reps",
                                "100"])
    assert mixed.exit_code == 2 and "planetbench normaliser" in " ".join(mixed.output.split())
    out = tmp_path / "norm.json"
    res = runner.invoke(app, ["normaliser", "--store", store_url, "--suite", "s",
                              "--reference-model", "weak", "--reference-model", "strong",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    board = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s", "--reps",
                                "100", "--normaliser", str(out), "--format", "json"])
    assert board.exit_code == 0, board.output
    bad = runner.invoke(app, ["normaliser", "--store", store_url, "--suite", "s",
                              "--reference-model", "nope", "--out", str(out)])
    assert bad.exit_code == 2 and "--reference-model" in " ".join(bad.output.split())
