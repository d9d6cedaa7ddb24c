"""Competition ranks and the NeuCo-Bench rank-then-aggregate leaderboard."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planetbench.errors import InvalidInputError
from planetbench.stats import competition_rank, per_task_ranks, rank_aggregate, task_weights


def test_competition_rank_1224() -> None:
    assert competition_rank([0.9, 0.5, 0.5, 0.1]).tolist() == [1, 2, 2, 4]
    assert competition_rank([3, 1, 3, 2]).tolist() == [1, 4, 1, 3]
    assert competition_rank([3, 1, 3, 2], higher_is_better=False).tolist() == [3, 1, 3, 2]
    assert competition_rank([1.0, 1.0, 1.0]).tolist() == [1, 1, 1]
    assert competition_rank([5.0]).dtype == np.int64


@given(st.lists(st.integers(-5, 5), min_size=1, max_size=12))
def test_competition_rank_matches_pandas_min(values: list[int]) -> None:
    expected = pd.Series(values).rank(ascending=False, method="min").astype(int).tolist()
    assert competition_rank(values).tolist() == expected


@pytest.mark.parametrize(
    ("values", "match"), [([], "empty"), ([1.0, np.nan], "non-finite"), ([[1.0]], "1-D")]
)
def test_competition_rank_errors(values: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        competition_rank(values)  # type: ignore[arg-type]


@pytest.fixture
def q_table() -> pd.DataFrame:
    return pd.DataFrame(
        {"t1": [10.0, 20.0, 30.0], "t2": [5.0, 5.0, 1.0], "t3": [7.0, 7.0, 7.0]},
        index=pd.Index(["a", "b", "c"], name="model"),
    )


def test_rank_aggregate_by_hand(q_table: pd.DataFrame) -> None:
    result = rank_aggregate(q_table)
    std1, std2 = 10.0, float(np.std([5.0, 5.0, 1.0], ddof=1))
    w1, w2 = std1 / (std1 + std2), std2 / (std1 + std2)
    assert result.weights.to_dict() == pytest.approx({"t1": w1, "t2": w2, "t3": 0.0})
    table = result.table
    assert list(table.columns) == [
        "rank_t1",
        "rank_t2",
        "rank_t3",
        "weighted_score",
        "rank",
        "mean_q",
    ]
    # ranks: t1 c=1 b=2 a=3; t2 a=b=1, c=3; t3 all 1
    assert table.loc["a", ["rank_t1", "rank_t2", "rank_t3"]].tolist() == [3, 1, 1]
    assert table.loc["c", ["rank_t1", "rank_t2", "rank_t3"]].tolist() == [1, 3, 1]
    expected = {"a": 3 * w1 + w2 + 0.0, "b": 2 * w1 + w2, "c": w1 + 3 * w2}
    assert table["weighted_score"].to_dict() == pytest.approx(expected)
    assert table["mean_q"].to_dict() == pytest.approx({"a": 22 / 3, "b": 32 / 3, "c": 38 / 3})
    # w1 ≈ 0.812, w2 ≈ 0.188: c = 1.38, b = 1.81, a = 2.62
    assert table.index.tolist() == ["c", "b", "a"]
    assert table["rank"].tolist() == [1, 2, 3]
    assert table.index.name == "model"


def test_unweighted_uses_equal_weights_and_ties_share_best(q_table: pd.DataFrame) -> None:
    result = rank_aggregate(q_table, weighted=False)
    assert result.weights.tolist() == pytest.approx([1 / 3] * 3)
    # a: (3+1+1)/3 = 5/3, b: (2+1+1)/3 = 4/3, c: (1+3+1)/3 = 5/3 → a and c tie at rank 2
    assert result.table["rank"].to_dict() == {"b": 1, "a": 2, "c": 2}
    assert result.table.index.tolist() == ["b", "a", "c"]


def test_competition_rank_tie_tolerance_is_tested_directly() -> None:
    # Values that differ by float noise (here put in by hand, both ways and across a rounding
    # boundary) tie; values further apart than the tolerance do not.
    base = 41 / 19
    noisy = [base, np.nextafter(base, 10.0), np.nextafter(base, 0.0), base + 1e-6]
    assert competition_rank(noisy, higher_is_better=False, tie_tolerance=1e-9).tolist() == [
        1, 1, 1, 4,
    ]
    assert competition_rank(noisy, higher_is_better=True, tie_tolerance=1e-9).tolist() == [
        2, 2, 2, 1,
    ]
    boundary = [0.5e-12, 0.5e-12 - 1e-18]  # np.round(·, 12) sends these to different values
    assert competition_rank(boundary, tie_tolerance=1e-9).tolist() == [1, 1]
    assert competition_rank(noisy, higher_is_better=False).tolist() == [2, 3, 1, 4]
    with pytest.raises(InvalidInputError, match="tie_tolerance"):
        competition_rank([1.0], tie_tolerance=-1.0)


def test_weighted_sums_equal_in_exact_arithmetic_tie() -> None:
    # stds 8, 6, 5 → weights 8/19, 6/19, 5/19; a has ranks (1, 3, 3) and b (3, 2, 1): both sum
    # to 41/19 exactly (a float dot product may differ in the last bit, depending on the build).
    q = pd.DataFrame(
        {"t1": [16.0, 0.0, 8.0], "t2": [0.0, 6.0, 12.0], "t3": [0.0, 10.0, 5.0]},
        index=["a", "b", "c"],
    )
    result = rank_aggregate(q)
    assert result.table["rank"].to_dict() == {"c": 1, "a": 2, "b": 2}
    assert result.table.loc["a", "weighted_score"] == pytest.approx(41 / 19)


def test_single_method_gets_equal_weights() -> None:
    q = pd.DataFrame({"t1": [1.0], "t2": [2.0]}, index=["only"])
    result = rank_aggregate(q)
    assert result.weights.tolist() == [0.5, 0.5]
    assert result.table["rank"].tolist() == [1]


def test_all_tasks_tied_falls_back_to_equal_weights() -> None:
    q = pd.DataFrame({"t1": [1.0, 1.0], "t2": [3.0, 3.0]}, index=["a", "b"])
    assert task_weights(q).tolist() == [0.5, 0.5]
    assert rank_aggregate(q).table["rank"].tolist() == [1, 1]


def test_nan_names_method_and_task(q_table: pd.DataFrame) -> None:
    q_table.loc["b", "t2"] = np.nan
    with pytest.raises(InvalidInputError, match=r"\('b', 't2'\)"):
        rank_aggregate(q_table)


@pytest.mark.parametrize(
    ("table", "match"),
    [
        (pd.DataFrame(), "at least one model"),
        (pd.DataFrame({"t": [1.0, 2.0]}, index=["a", "a"]), "duplicate model"),
        (pd.DataFrame({"t": ["x", "y"]}, index=["a", "b"]), "numeric"),
        (pd.DataFrame({"t": [1.0, np.inf]}, index=["a", "b"]), "infinite Q for model 'b'"),
        ([[1.0]], "must be a DataFrame"),
    ],
)
def test_rank_aggregate_errors(table: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        rank_aggregate(table)


def test_per_task_ranks_rank_only_measured_models() -> None:
    table = pd.DataFrame(
        {"a": [0.9, 0.5, 0.9, np.nan], "b": [1.0, np.nan, 2.0, 3.0], "c": [np.nan] * 4},
        index=["w", "x", "y", "z"],
    )
    ranks = per_task_ranks(table)
    assert ranks["a"].tolist()[:3] == [1.0, 3.0, 1.0] and np.isnan(ranks.loc["z", "a"])
    assert ranks["b"].tolist()[0] == 3.0 and ranks.loc[["y", "z"], "b"].tolist() == [2.0, 1.0]
    assert ranks["c"].isna().all()
    lower = per_task_ranks(table, higher_is_better=False)
    assert lower.loc[["w", "y", "z"], "b"].tolist() == [1.0, 2.0, 3.0]
    assert list(ranks.index) == list(table.index) and list(ranks.columns) == ["a", "b", "c"]
