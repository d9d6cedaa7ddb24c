"""Mars-Bench's aggregation (stats.mars): hand-made cases, properties, and its real tables."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from planetbench.errors import InvalidInputError
from planetbench.stats.bootstrap import percentile_interval
from planetbench.stats.mars import (
    AGGREGATED,
    compared_normaliser,
    constant_tasks,
    iqm_curves,
    iqm_last_axis,
    mars_scores,
    mean_rank_intervals,
    mean_std_curves,
    resample_within_groups,
    seed_groups,
    split_constant_tasks,
    stratified_iqm,
)

REAL = "marsbench-baseline-results"


def _runs(values: dict[tuple[str, str], list[float]], metric: str = "f1_weighted_mb"
          ) -> pd.DataFrame:
    rows = [
        {"model": m, "task": t, "metric": metric, "score": v, "seed": s}
        for (m, t), vs in values.items() for s, v in enumerate(vs)
    ]
    return pd.DataFrame(rows)


def test_constant_tasks_are_split_off() -> None:
    runs = _runs({("a", "flat"): [0.7, 0.7], ("b", "flat"): [0.7, 0.7],
                  ("a", "x"): [0.1, 0.2], ("b", "x"): [0.3, 0.3]})
    assert constant_tasks(runs) == {"flat": 0.7}
    kept, excluded = split_constant_tasks(runs)
    assert excluded == {"flat": 0.7} and set(kept["task"]) == {"x"}
    with pytest.raises(InvalidInputError, match=r"flat \(every run 0.7\) have min == max"):
        compared_normaliser(runs)


def test_compared_normaliser_is_min_max_over_every_run() -> None:
    runs = _runs({("a", "x"): [0.2, 0.6], ("b", "x"): [0.4, 1.0], ("a", "y"): [3.0, 5.0],
                  ("b", "y"): [4.0, 4.0]})
    norm = compared_normaliser(runs)
    anchors = {a.task: (a.low, a.high) for a in norm.anchors}
    assert anchors == {"x": (0.2, 1.0), "y": (3.0, 5.0)}
    assert norm.version == "compared" and set(norm.reference_models) == {"a", "b"}
    out = norm.transform(runs)
    assert out["normalised"].tolist() == pytest.approx([0.0, 0.5, 0.25, 1.0, 0.0, 1.0, 0.5, 0.5])


def test_iqm_is_scipy_trim_mean() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 4, 7, 9, 63):
        x = rng.normal(size=n)
        assert float(iqm_last_axis(x)) == pytest.approx(scipy.stats.trim_mean(x, 0.25))
    batch = rng.normal(size=(5, 7))
    assert iqm_last_axis(batch) == pytest.approx(scipy.stats.trim_mean(batch, 0.25, axis=1))


def test_resamples_stay_within_their_group() -> None:
    groups = [np.array([0.0, 1.0, 2.0]), np.array([10.0, 11.0]), np.array([20.0])]
    drawn = resample_within_groups(groups, 200, np.random.default_rng(0))
    assert [d.shape for d in drawn] == [(200, 3), (200, 2), (200, 1)]
    for g, d in zip(groups, drawn, strict=True):
        assert set(np.unique(d)) <= set(g)
    # with replacement: some resample repeats a seed of the first group
    assert any(len(set(row)) < 3 for row in drawn[0])


def test_stratified_iqm_resamples_seeds_within_each_task() -> None:
    """Per round, each task keeps its own number of runs, drawn from that task only."""
    groups = {"a": np.array([0.0, 0.25, 0.5]), "b": np.array([10.0, 10.5]),
              "c": np.array([20.0, 21.0, 22.0, 23.0])}
    boot = stratified_iqm(groups, reps=500, seed=7)
    assert boot.tasks == ("a", "b", "c") and boot.n_runs == (3, 2, 4)
    lows = [0.0, 10.0, 20.0]
    highs = [0.5, 10.5, 23.0]  # dyadic values: the mean of equal values is exact
    for i in range(3):
        assert lows[i] <= boot.task_replicates[i].min() <= boot.task_replicates[i].max() <= highs[i]
    # the pooled replicate is the IQM of exactly the same resamples, redrawn from the same seed
    drawn = resample_within_groups(list(groups.values()), 500, np.random.default_rng(7))
    assert boot.replicates == pytest.approx(iqm_last_axis(np.concatenate(drawn, axis=1)))
    assert boot.task_replicates[1] == pytest.approx(iqm_last_axis(drawn[1]))
    pooled = np.concatenate(list(groups.values()))
    assert boot.point == pytest.approx(scipy.stats.trim_mean(pooled, 0.25))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=2, max_size=9),
       st.integers(0, 2**31 - 1))
def test_iqm_properties(values: list[float], seed: int) -> None:
    x = np.array(values)
    perm = np.random.default_rng(seed).permutation(x)
    a = stratified_iqm({"t": x}, reps=50, seed=seed)
    b = stratified_iqm({"t": perm}, reps=50, seed=seed)
    assert a.point == pytest.approx(b.point)
    assert x.min() - 1e-12 <= a.point <= x.max() + 1e-12
    low, high = percentile_interval(a.replicates, 0.95)
    assert x.min() - 1e-12 <= low <= high <= x.max() + 1e-12


def _three_models() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    values = {
        (m, t): list(base + 0.05 * rng.random(5))
        for m, base in (("good", 0.8), ("mid", 0.5), ("poor", 0.1))
        for t in ("t1", "t2", "t3")
    }
    return _runs(values).rename(columns={"score": "normalised"})


def test_same_seed_same_intervals_other_seed_other_draws() -> None:
    runs = _three_models()
    a = mars_scores(runs, reps=1000, seed=5)
    b = mars_scores(runs, reps=1000, seed=5)
    pd.testing.assert_frame_equal(a.table, b.table)
    c = mars_scores(runs, reps=1000, seed=6)
    assert not np.array_equal(a.bootstraps["mid"].replicates, c.bootstraps["mid"].replicates)
    # a model's interval does not depend on the other models
    alone = mars_scores(runs[runs["model"] == "mid"], reps=1000, seed=5)
    assert alone.table.loc[0, "iqm_low"] == a.table.set_index("model").loc["mid", "iqm_low"]


def test_scores_table_ranks_and_intervals() -> None:
    runs = _three_models()
    scores = mars_scores(runs, reps=2000, seed=0)
    table = scores.table.set_index("model")
    assert list(scores.table["model"]) == ["good", "mid", "poor"]
    # separated models: ranks are exact, and every bootstrap round agrees
    assert table["mean_rank"].tolist() == [1.0, 2.0, 3.0]
    assert table["mean_rank_low"].tolist() == table["mean_rank_high"].tolist() == [1.0, 2.0, 3.0]
    for m in table.index:
        assert table.loc[m, "iqm_low"] <= table.loc[m, "iqm"] <= table.loc[m, "iqm_high"]
        pooled = runs.loc[runs["model"] == m, "normalised"].to_numpy()
        assert table.loc[m, "iqm"] == pytest.approx(scipy.stats.trim_mean(pooled, 0.25))
        t1 = runs.loc[(runs["model"] == m) & (runs["task"] == "t1"), "normalised"].to_numpy()
        assert table.loc[m, "t1"] == pytest.approx(scipy.stats.trim_mean(t1, 0.25))
    assert (table["n_tasks"] == 3).all() and (table["n_runs"] == 15).all()


def test_rank_ties_share_the_best_rank() -> None:
    runs = _runs({("a", "t"): [0.5, 0.5], ("b", "t"): [0.5, 0.5], ("c", "t"): [0.1, 0.1]})
    scores = mars_scores(runs.rename(columns={"score": "normalised"}), reps=1000)
    ranks = scores.table.set_index("model")["mean_rank"].to_dict()
    assert ranks == {"a": 1.0, "b": 1.0, "c": 3.0}


def test_incomplete_grids_duplicates_and_mismatched_ranks_are_refused() -> None:
    runs = _three_models()
    with pytest.raises(InvalidInputError, match=r"\('mid', 't2'\)"):
        mars_scores(runs[~((runs["model"] == "mid") & (runs["task"] == "t2"))], reps=10)
    with pytest.raises(InvalidInputError, match="duplicate seed"):
        seed_groups(pd.concat([runs, runs.head(1)]), by=("model", "task"), value="normalised")
    one = stratified_iqm({"t1": [0.1, 0.2]}, reps=10)
    two = stratified_iqm({"t2": [0.1, 0.2]}, reps=10)
    with pytest.raises(InvalidInputError, match="same tasks"):
        mean_rank_intervals({"a": one, "b": two})
    with pytest.raises(InvalidInputError, match="reps must be an integer >= 1"):
        stratified_iqm({"t": [0.1]}, reps=0)
    with pytest.raises(InvalidInputError, match="non-finite"):
        stratified_iqm({"t": [0.1, float("nan")]}, reps=10)


def test_mean_std_curves_by_hand() -> None:
    runs = pd.DataFrame({
        "model": ["a"] * 4, "task": ["t"] * 4, "seed": [0, 1, 0, 1],
        "fraction": [0.1, 0.1, 1.0, 1.0], "normalised": [0.2, 0.4, 0.9, 0.9],
    })
    curves = mean_std_curves(runs, budget="fraction")
    assert curves["mean"].tolist() == pytest.approx([0.3, 0.9])
    assert curves["std"].tolist() == pytest.approx([np.sqrt(0.02), 0.0])  # ddof = 1
    assert curves["count"].tolist() == [2, 2]


def test_iqm_curves_pool_the_tasks_present_at_each_budget() -> None:
    runs = pd.DataFrame({
        "model": ["a"] * 6, "task": ["t", "t", "u", "u", "t", "t"], "seed": [0, 1, 0, 1, 0, 1],
        "shots": [1, 1, 1, 1, 5, 5], "normalised": [0.1, 0.3, 0.5, 0.7, 0.8, 0.9],
    })
    curves = iqm_curves(runs, budget="shots", reps=1000, seed=0)
    agg = curves[curves["task"] == AGGREGATED].set_index("shots")
    assert agg.loc[1, "n_tasks"] == 2 and agg.loc[5, "n_tasks"] == 1
    assert agg.loc[1, "iqm"] == pytest.approx(scipy.stats.trim_mean([0.1, 0.3, 0.5, 0.7], 0.25))
    assert (curves["low"] <= curves["iqm"] + 1e-12).all()
    assert (curves["iqm"] <= curves["high"] + 1e-12).all()


# ---- the real tables of Mars-Bench (../shared/data/marsbench-baseline-results) -----------------

#: Published normaliser file → how to select its table among the imported runs.
NORMALISERS: dict[str, tuple[str, str]] = {
    "classification_normalizer.json": ("f1_weighted_mb", "full"),
    "classification_partition_normalizer.json": ("f1_weighted_mb", "fraction"),
    "classification_few_shot_normalizer.json": ("f1_weighted_mb", "shots"),
    "segmentation_normalizer.json": ("iou_mb", "full"),
    "segmentation_partition_normalizer.json": ("iou_mb", "fraction"),
}


@functools.lru_cache(maxsize=1)
def _read_real(folder: Path) -> pd.DataFrame:
    from planetbench.report.mars import mars_runs
    from planetbench.store.importers.marsbench import read_marsbench

    df = read_marsbench(folder)
    return mars_runs(df.assign(config=[{"details": json.loads(d)} for d in df["details"]]))


@pytest.fixture
def imported(shared_data: Path) -> pd.DataFrame:
    """The real folder read by the marsbench importer, as tidy runs with budgets (read once)."""
    return _read_real(shared_data / REAL).copy()


def _table(runs: pd.DataFrame, metric: str, budget: str) -> pd.DataFrame:
    sel = runs[runs["metric"] == metric]
    if budget == "shots":
        return sel[sel["shots"].notna()]
    sel = sel[sel["shots"].isna()]
    return sel[sel["fraction"] == 1.0] if budget == "full" else sel


def _min_max(runs: pd.DataFrame) -> dict[str, tuple[float, float]]:
    kept, excluded = split_constant_tasks(runs)
    out = {a.task: (a.low, a.high) for a in compared_normaliser(kept).anchors}
    out.update({t: (v, v) for t, v in excluded.items()})
    return out


@pytest.mark.parametrize(
    "name",
    ["classification_normalizer.json", "classification_partition_normalizer.json",
     "segmentation_normalizer.json"],
)
def test_published_normalisers_are_min_max_of_the_imported_tables(
    shared_data: Path, imported: pd.DataFrame, name: str
) -> None:
    """3 of the 5 published ``normalizer.json`` equal the per-dataset min/max of their table.

    ``classification_normalizer.json``, ``classification_partition_normalizer.json`` and
    ``segmentation_normalizer.json`` hold, for every dataset, the minimum and maximum test metric
    of the runs of their table (all models, seeds and fractions; the partition table includes the
    full-data runs at fraction 1.0), as Mars-Bench's ``make_normalizer`` builds them; the files
    print 15 to 16 significant digits and the importer reads scores as the float32 numbers
    Mars-Bench logged, hence the 1e-12 relative tolerance (float32 numbers are 1e-7 apart). The constant
    ``mb-change_cls_ctx`` has min == max (0.7111111283302307) there.

    ``classification_few_shot_normalizer.json`` and ``segmentation_partition_normalizer.json``
    do not match: they hold ``[NaN, NaN]`` for ``mb-frost_cls``, and for ``mb-boulder_seg`` and
    ``mb-s5mars``, exactly the datasets where the table has a run without a test metric (empty
    cell; ``np.min``/``np.max`` return NaN), which the importer skips. Their other entries do
    match (:func:`test_unmatched_normalisers_are_nan_exactly_where_a_run_has_no_metric`).
    """
    from planetbench.store.importers.marsbench import read_marsbench_normalizer

    published = read_marsbench_normalizer(shared_data / REAL / name)
    metric, budget = NORMALISERS[name]
    ours = _min_max(_table(imported, metric, budget))
    assert set(ours) == set(published)
    for task, (low, high) in published.items():
        assert ours[task] == pytest.approx((low, high), rel=1e-12, abs=0), task


@pytest.mark.parametrize(
    ("name", "nan_tasks"),
    [("classification_few_shot_normalizer.json", {"mb-frost_cls"}),
     ("segmentation_partition_normalizer.json", {"mb-boulder_seg", "mb-s5mars"})],
)
def test_unmatched_normalisers_are_nan_exactly_where_a_run_has_no_metric(
    shared_data: Path, imported: pd.DataFrame, name: str, nan_tasks: set[str]
) -> None:
    """The two files that do not match hold NaN for the datasets with an empty test metric;
    every other entry is the min/max of the imported table."""
    from planetbench.store.importers.marsbench import read_marsbench_normalizer

    folder = shared_data / REAL
    published = read_marsbench_normalizer(folder / name)
    assert {t for t, (lo, hi) in published.items() if np.isnan(lo) or np.isnan(hi)} == nan_tasks
    csv = name.replace("_normalizer.json", "_filtered.csv")
    raw = pd.read_csv(folder / csv)
    assert set(raw.loc[raw["test metric"].isna(), "dataset"]) == nan_tasks
    metric, budget = NORMALISERS[name]
    ours = _min_max(_table(imported, metric, budget))
    for task, pair in published.items():
        if task not in nan_tasks:
            assert ours[task] == pytest.approx(pair, rel=1e-12, abs=0), task


def test_real_iqm_is_trim_mean_and_bootstrap_stratified(imported: pd.DataFrame) -> None:
    """On the full-data classification table: pooled and per-dataset IQM = scipy trim_mean,
    the constant dataset excluded, and every bootstrap round draws within (model, dataset)."""
    runs = _table(imported, "f1_weighted_mb", "full")
    kept, excluded = split_constant_tasks(runs)
    assert list(excluded) == ["mb-change_cls_ctx"]
    assert excluded["mb-change_cls_ctx"] == pytest.approx(0.7111111283302307, rel=1e-7)
    normalised = compared_normaliser(kept).transform(kept)
    scores = mars_scores(normalised, reps=1000, seed=0)
    table = scores.table.set_index("model")
    for model, part in normalised.groupby("model"):
        x = part["normalised"].to_numpy()
        assert x.size == 56
        assert table.loc[model, "iqm"] == pytest.approx(scipy.stats.trim_mean(x, 0.25))
        for task, cell in part.groupby("task"):
            assert table.loc[model, task] == pytest.approx(
                scipy.stats.trim_mean(cell["normalised"].to_numpy(), 0.25))
            b = scores.bootstraps[str(model)]
            reps = b.task_replicates[b.tasks.index(str(task))]
            lo, hi = cell["normalised"].min(), cell["normalised"].max()
            assert lo - 1e-12 <= reps.min() and reps.max() <= hi + 1e-12
    again = mars_scores(normalised, reps=1000, seed=0)
    pd.testing.assert_frame_equal(scores.table, again.table)
