"""Aggregates (mean, median, IQM, optimality gap) and tidy → score matrices.

Parity with rliable (Agarwal et al. 2021): rliable is not a dependency, so its formulas are
written out here by hand on small matrices and compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planetbench.errors import InvalidInputError
from planetbench.stats import (
    aggregate_mean,
    aggregate_median,
    iqm,
    optimality_gap,
    score_matrices,
)

SCORES = np.array(
    [
        [0.1, 0.9, 0.5, 2.0],
        [0.3, 0.7, 0.4, -1.0],
        [0.2, 0.8, 0.6, 0.5],
    ]
)


def _rliable_iqm(scores: np.ndarray) -> float:
    # mean of the middle 50 % of the flattened scores (12 values: drop 3 lowest and 3 highest)
    flat = np.sort(scores.ravel())
    cut = int(0.25 * flat.size)
    return float(flat[cut : flat.size - cut].mean())


def test_iqm_by_hand() -> None:
    flat = sorted(SCORES.ravel().tolist())
    assert iqm(SCORES) == pytest.approx(np.mean(flat[3:9]))
    assert iqm(SCORES) == pytest.approx(_rliable_iqm(SCORES))
    assert iqm([[0.0, 1.0], [2.0, 100.0]]) == pytest.approx(1.5)


def test_mean_median_gap_by_hand() -> None:
    task_means = SCORES.mean(axis=0)  # [0.2, 0.8, 0.5, 0.5]
    assert aggregate_mean(SCORES) == pytest.approx(0.5)
    assert aggregate_median(SCORES) == pytest.approx(np.median(task_means)) == pytest.approx(0.5)
    # rliable: gamma - mean(min(scores, gamma)); the 2.0 is clipped to 1
    clipped = np.minimum(SCORES, 1.0)
    assert optimality_gap(SCORES) == pytest.approx(1.0 - clipped.mean())
    assert optimality_gap(SCORES, gamma=0.5) == pytest.approx(0.5 - np.minimum(SCORES, 0.5).mean())


def test_batched_matches_loop() -> None:
    batch = np.random.default_rng(0).normal(size=(4, 3, 5))
    for fn in (aggregate_mean, aggregate_median, iqm, optimality_gap):
        got = fn(batch)
        assert isinstance(got, np.ndarray) and got.shape == (4,)
        np.testing.assert_allclose(got, np.array([fn(b) for b in batch], dtype=float))


@settings(max_examples=40, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 6), st.integers(1, 5)),
        elements=st.floats(-100, 100, allow_nan=False),
    )
)
def test_iqm_properties(scores: np.ndarray) -> None:
    value = iqm(scores)
    assert scores.min() - 1e-9 <= value <= scores.max() + 1e-9
    assert value == pytest.approx(_rliable_iqm(scores), abs=1e-9)
    perm = np.random.default_rng(0).permutation(scores.ravel()).reshape(scores.shape)
    assert iqm(perm) == pytest.approx(value, abs=1e-9)


@pytest.mark.parametrize("fn", [aggregate_mean, aggregate_median, iqm, optimality_gap])
def test_aggregate_errors(fn: object) -> None:
    with pytest.raises(InvalidInputError, match="non-finite"):
        fn([[0.1, np.nan]])  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match="shape"):
        fn([0.1, 0.2])  # type: ignore[operator]
    with pytest.raises(InvalidInputError, match="at least one run"):
        fn(np.empty((0, 3)))  # type: ignore[operator]


def test_optimality_gap_gamma_error() -> None:
    with pytest.raises(InvalidInputError, match="gamma"):
        optimality_gap(SCORES, gamma=float("nan"))


def _runs(drop: list[tuple[str, str, int]] | None = None) -> pd.DataFrame:
    rows = [
        {"model": m, "task": t, "seed": s, "normalised": 10 * i + j + s / 10}
        for i, m in enumerate(["b", "a"])
        for j, t in enumerate(["t2", "t1", "t3"])
        for s in (2, 0, 1)
    ]
    df = pd.DataFrame(rows)
    for m, t, s in drop or []:
        df = df[~((df.model == m) & (df.task == t) & (df.seed == s))]
    return df


def test_score_matrices_layout() -> None:
    mats = score_matrices(_runs())
    assert list(mats) == ["a", "b"]
    # rows seeds 0,1,2; columns tasks t1,t2,t3 (sorted)
    np.testing.assert_allclose(mats["a"][:, 0], [11.0, 11.1, 11.2])
    np.testing.assert_allclose(mats["b"][0], [1.0, 0.0, 2.0])
    assert mats["a"].shape == (3, 3)


def test_score_matrices_missing_error_by_default() -> None:
    with pytest.raises(InvalidInputError, match=r"\('a', 't3', seed 1\)"):
        score_matrices(_runs(drop=[("a", "t3", 1)]))


def test_score_matrices_drop_task_warns() -> None:
    with pytest.warns(UserWarning, match=r"dropped task\(s\) \['t3'\]"):
        mats = score_matrices(_runs(drop=[("a", "t3", 1)]), missing="drop-task")
    assert mats["a"].shape == (3, 2) and mats["b"].shape == (3, 2)


def test_score_matrices_min_runs() -> None:
    df = _runs(drop=[("a", "t3", 1)])
    with pytest.warns(UserWarning, match=r"\('a', seed 1\)"):
        mats = score_matrices(df, missing="min-runs", min_runs=2)
    assert mats["a"].shape == (2, 3) and mats["b"].shape == (3, 3)
    np.testing.assert_allclose(mats["a"][:, 0], [11.0, 11.2])
    with pytest.raises(InvalidInputError, match="fewer than min_runs=3"):
        score_matrices(df, missing="min-runs", min_runs=3)
    whole = _runs(drop=[("a", "t3", s) for s in (0, 1, 2)])
    with pytest.raises(InvalidInputError, match="no run at all on task"):
        score_matrices(whole, missing="min-runs")


def test_score_matrices_errors() -> None:
    df = _runs()
    with pytest.raises(InvalidInputError, match="missing must be"):
        score_matrices(df, missing="fill")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="lacks column"):
        score_matrices(df, value="score")
    bad = df.copy()
    bad.loc[bad.index[0], "normalised"] = np.nan
    with pytest.raises(InvalidInputError, match=r"never\s+propagate NaN"):
        score_matrices(bad)
    with pytest.raises(InvalidInputError, match="duplicate"):
        score_matrices(pd.concat([df, df.iloc[:1]]))
    with pytest.raises(InvalidInputError, match="no rows"):
        score_matrices(df.iloc[:0])
    with pytest.raises(InvalidInputError, match="min_runs"):
        score_matrices(df, min_runs=0)
    all_gone = _runs(drop=[("a", "t1", 0), ("a", "t2", 1), ("a", "t3", 2)])
    with pytest.raises(InvalidInputError, match="drop every task"):
        score_matrices(all_gone, missing="drop-task")


def test_complete_data_emits_no_warning() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        score_matrices(_runs(), missing="min-runs")
