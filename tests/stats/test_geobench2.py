"""GEO-Bench-2's leaderboard aggregation, checked by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planetbench.errors import InvalidInputError
from planetbench.stats.geobench2 import (
    DIMENSIONS,
    dimension_scores,
    per_task_iqm,
    published_value,
    redraw_indices,
    trim_mean_iqm,
)


def test_redraws_equal_pandas_groupby_sample() -> None:
    """One vectorised draw per round equals pandas' group-by-group RandomState.choice draws."""
    sizes = [5, 5, 7, 12, 1, 9]
    for seed in (100, 101, 199):
        rs = np.random.RandomState(seed)
        expected = np.concatenate([rs.choice(n, size=n, replace=True) for n in sizes])
        assert redraw_indices(sizes, seed).tolist() == expected.tolist()
        reused = np.random.RandomState(0)
        assert redraw_indices(sizes, seed, reused).tolist() == expected.tolist()
    frame = pd.DataFrame({"g": np.repeat(list("abcdef"), sizes), "v": np.arange(sum(sizes))})
    drawn = frame.groupby("g").sample(frac=1, replace=True, random_state=123)["v"].to_numpy()
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    assert drawn.tolist() == (starts + redraw_indices(sizes, 123)).tolist()


def test_trim_mean_matches_scipy() -> None:
    from scipy.stats import trim_mean

    values = np.random.default_rng(0).normal(size=23)
    assert trim_mean_iqm(values) == pytest.approx(trim_mean(values, 0.25))
    assert published_value(0.77804) == 77.8 and published_value(-0.0444) == -4.4


def _runs(dims: dict[str, tuple[str, ...]], value: dict[str, float]) -> pd.DataFrame:
    """Two backbones of one submission, 5 identical runs per cell: the bootstrap is exact."""
    tasks = sorted({t for ts in dims.values() for t in ts})
    rows = [
        {"submission": "s1", "backbone": b, "task": t, "row": i, "normalised": value[b]}
        for b in value for t in tasks for i in range(5)
    ]
    return pd.DataFrame(rows)


def test_identical_runs_give_the_cell_value_and_missing_tasks_give_nan() -> None:
    dims = {"A": ("t1", "t2"), "B": ("t2", "t3")}
    runs = _runs(dims, {"x": 0.8, "y": 0.3})
    runs = runs[~((runs["backbone"] == "y") & (runs["task"] == "t3"))]
    out = dimension_scores(runs, dimensions=dims, rounds=7)
    assert out.loc[("s1", "x"), "A"] == pytest.approx(0.8)
    assert out.loc[("s1", "y"), "A"] == pytest.approx(0.3)
    assert out.loc[("s1", "x"), "B"] == pytest.approx(0.8)
    assert np.isnan(out.loc[("s1", "y"), "B"])  # y lacks t3
    only = dimension_scores(runs[runs["task"] != "t3"], dimensions=dims, rounds=3)
    assert only["B"].isna().all()  # the submission lacks t3: nobody gets B
    iqm = per_task_iqm(runs)
    assert iqm.loc[("s1", "x"), "t1"] == pytest.approx(0.8)


def test_pooled_iqm_over_tasks_by_hand() -> None:
    """With one run per cell every round draws that run: the score is the IQM over tasks."""
    values = [0.0, 0.1, 0.5, 0.6, 10.0, -5.0, 0.3, 0.2]
    tasks = [f"t{i}" for i in range(len(values))]
    runs = pd.DataFrame({"submission": "s", "backbone": "b", "task": tasks, "row": range(8),
                         "normalised": values})
    out = dimension_scores(runs, dimensions={"all": tuple(tasks)}, rounds=5)
    assert out.loc[("s", "b"), "all"] == pytest.approx(np.mean(sorted(values)[2:6]))


def test_refusals() -> None:
    bad = pd.DataFrame({"submission": ["s"], "backbone": ["b"], "task": ["t"], "row": [0],
                        "normalised": [np.nan]})
    with pytest.raises(InvalidInputError, match="'normalised' has missing"):
        dimension_scores(bad)
    with pytest.raises(InvalidInputError, match="lacks"):
        dimension_scores(bad.drop(columns="row"))
    assert next(iter(DIMENSIONS)) == "Core" and len(DIMENSIONS["Core"]) == 12
