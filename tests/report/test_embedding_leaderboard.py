"""The NeuCo-Bench leaderboard from stored probe rows: one row per model, best/last, formats."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.report.embedding_leaderboard import leaderboard
from planetbench.report.formats import format_leaderboard
from planetbench.store import Result, ResultStore


def _add(store: ResultStore, model: str, qs: dict[str, float], submission: str) -> None:
    store.add_many([
        Result(model=model, task=task, protocol="probe", metric="r2", score=q / 100,
               suite="neuco", probe="ridge", q=q, n_splits=3, fold_scores=[0.1, 0.2, 0.3],
               config={"submission_hash": submission, "task": task}, input_sha256=submission)
        for task, q in qs.items()
    ])


def test_one_row_per_method_best_and_last(store_url: str) -> None:
    rs = ResultStore(store_url)
    _add(rs, "a", {"t1": 10.0, "t2": 20.0}, "a-v1")
    _add(rs, "a", {"t1": 30.0, "t2": 40.0}, "a-v2")  # better submission
    _add(rs, "a", {"t1": 1.0, "t2": 2.0}, "a-v3")  # latest, worse
    _add(rs, "a", {"t1": 1.0, "t2": 2.0}, "a-v3")  # a forced re-run: same submission again
    _add(rs, "b", {"t1": 20.0, "t2": 10.0}, "b-v1")
    best = leaderboard(store_url)
    assert best["model"].tolist() == ["a", "b"]
    assert list(best.columns) == ["model", "t1", "t2", "mean_q", "weighted_score", "rank"]
    a = best.set_index("model").loc["a"]
    assert (a["t1"], a["t2"], a["mean_q"], a["rank"]) == (30.0, 40.0, 35.0, 1)
    last = leaderboard(store_url, select="last").set_index("model")
    assert len(last) == 2
    assert last.loc["a", "t1"] == 1.0 and last.loc["b", "rank"] == 1 and last.loc["a", "rank"] == 2


def test_weighted_versus_unweighted(store_url: str) -> None:
    rs = ResultStore(store_url)
    # t1 separates models strongly (std large), t2 barely: weighted follows t1.
    _add(rs, "x", {"t1": 90.0, "t2": 10.0}, "x")
    _add(rs, "y", {"t1": 10.0, "t2": 11.0}, "y")
    w = leaderboard(store_url).set_index("model")
    assert w.loc["x", "rank"] == 1 and w.loc["y", "rank"] == 2
    u = leaderboard(store_url, unweighted=True).set_index("model")
    assert u.loc["x", "rank"] == 1 and u.loc["y", "rank"] == 1  # tie: ranks 1+2 each
    assert u.loc["x", "weighted_score"] == pytest.approx(1.5)


def test_incomplete_methods_are_listed_last(store_url: str) -> None:
    rs = ResultStore(store_url)
    _add(rs, "full", {"t1": 5.0, "t2": 5.0}, "f")
    _add(rs, "half", {"t1": 50.0}, "h")
    df = leaderboard(store_url)
    assert df["model"].tolist() == ["full", "half"]
    assert pd.isna(df.loc[1, "rank"]) and np.isnan(df.loc[1, "t2"])


def test_empty_store_and_formats(store_url: str) -> None:
    empty = leaderboard(store_url)
    assert empty.empty and "model" in empty.columns
    rs = ResultStore(store_url)
    _add(rs, "a", {"t1": 10.0}, "a")
    _add(rs, "b", {"t1": 5.0}, "b")
    df = leaderboard(store_url)
    records = json.loads(format_leaderboard(df, "json"))
    assert records[0]["model"] == "a" and records[0]["rank"] == 1
    csv = format_leaderboard(df, "csv")
    assert csv.splitlines()[0] == "model,t1,mean_q,weighted_score,rank"
    md = format_leaderboard(df, "md")
    assert md.splitlines()[0] == "| model | t1 | mean_q | weighted_score | rank |"
    assert "| a | 10.00 |" in md
    table = format_leaderboard(df, "table")
    assert "Leaderboard" in table and "10.00" in table
    with pytest.raises(InvalidInputError, match="format 'xml' is not allowed"):
        format_leaderboard(df, "xml")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="select='first' is not allowed"):
        leaderboard(store_url, select="first")  # type: ignore[arg-type]
