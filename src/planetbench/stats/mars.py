"""Mars-Bench's aggregation of per-seed results, reproduced, with the intervals it intended.

Mars-Bench (Mars-Bench paper, appendix A.2; ``benchmark/plot_tools.py`` and the
``benchmark/plot_*_results.py`` scripts of GitHub ``kerner-lab/Mars-Bench`` at ``d1b1a9b``, which
borrow GEO-Bench's tools) aggregates its runs like this:

* **normaliser built from the compared runs** (``make_normalizer``): for every dataset, ``low`` and
  ``high`` are the minimum and maximum score over *all rows of the table being compared* (every
  model, seed and budget), and a score ``s`` becomes ``(s − low) / (high − low)``;
* **IQM** = ``scipy.stats.trim_mean(x, 0.25)`` (Agarwal et al. 2021, "Deep Reinforcement Learning
  at the Edge of the Statistical Precipice");
* **per-dataset bootstrap** (``bootstrap_iqm``): per (model, dataset[, budget]) the seeds are
  resampled with replacement and their IQM taken;
* **aggregated, stratified bootstrap** (``bootstrap_iqm_aggregate``): per round, the seeds are
  resampled with replacement *within each (model, dataset[, budget]) group*, the groups of a
  model are pooled and their IQM taken;
* **budget curves** (partition and few-shot plots): mean ± standard deviation over seeds of the
  normalised score, per (dataset, model, budget).

The paper states 1,000 rounds and 95 % confidence intervals; the code draws 100 rounds from the
unseeded global NumPy generator, draws violins and computes no interval, and divides by zero on a
dataset where every run scores the same (``mb-change_cls_ctx``). Here the same computations take
an explicit seed, default to 10,000 rounds, read 95 % percentile intervals off the bootstrap
distributions, and refuse constant datasets (:func:`split_constant_tasks` reports and removes
them). The mean rank over datasets with its interval (:func:`mean_rank_intervals`) is ours: Mars-Bench
does not rank.

Consequence seen in Mars-Bench's published classification violins
(``classification_violin_output/aggregated_bootstrap.csv``): the 7 NaN scores of
``mb-change_cls_ctx`` per model are sorted last by the trimmed mean of the SciPy it ran with and
cut as if they were the best runs, so its pooled IQMs (medians 0.44, 0.56, 0.41, 0.92, 0.88 for
InceptionV3, ResNet101, SqueezeNet1.1, SwinV2-B, ViT-L/16) sit 0.02–0.05 above the IQM of the
runs that have a normalised score (0.39, 0.51, 0.36, 0.90, 0.86); current SciPy returns NaN
there instead.

Tidy input: one row per run with columns ``model``, ``task``, ``seed`` and a value column
(``score`` or the ``normalised`` column of :meth:`~planetbench.stats.normalise.Normaliser.transform`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import (
    SeedLike,
    as_finite_1d,
    check_confidence,
    check_positive_int,
    make_rng,
    named_rng,
    require_columns,
)
from planetbench.stats.aggregate import AGGREGATES
from planetbench.stats.bootstrap import CHUNK_ELEMENTS, percentile_interval
from planetbench.stats.normalise import TIDY_COLUMNS, Normaliser

#: Name of the pooled-over-datasets entry in per-task outputs (Mars-Bench's "aggregated" panel).
AGGREGATED = "aggregated"

#: Version label of a normaliser built from the compared runs (Mars-Bench's ``make_normalizer``).
COMPARED = "compared"


def iqm_last_axis(values: ArrayLike) -> np.ndarray:
    """Interquartile mean over the last axis: ``scipy.stats.trim_mean(x, 0.25, axis=-1)``.

    Args:
        values: array of shape (..., n), finite.

    Returns:
        Array of shape (...,); ⌊n/4⌋ values are cut from each end before the mean.

    Example:
        >>> float(iqm_last_axis([0.0, 1.0, 2.0, 100.0]))
        1.5
    """
    arr = np.asarray(values, dtype=np.float64)
    return np.asarray(AGGREGATES["iqm"](arr[..., None]))


def constant_tasks(runs: pd.DataFrame, *, value: str = "score") -> dict[str, float]:
    """Tasks on which every run has exactly the same value.

    Args:
        runs: tidy runs with columns ``task`` and ``value``.
        value: the column compared.

    Returns:
        Task → its single value, sorted by task (empty when no task is constant).
    """
    require_columns(runs, ("task", value), "runs")
    spread = runs.groupby("task", sort=True)[value].agg(["min", "max"])
    same = spread[spread["min"] == spread["max"]]
    return {str(task): float(row["min"]) for task, row in same.iterrows()}


def split_constant_tasks(
    runs: pd.DataFrame, *, value: str = "score"
) -> tuple[pd.DataFrame, dict[str, float]]:
    """The runs without the tasks on which every run scores the same, and those tasks.

    A min-max normaliser divides by zero on such a task (Mars-Bench's ``mb-change_cls_ctx``, 0.7111
    for every model and seed), and it cannot tell models apart, so it is left out and named.

    Args:
        runs: tidy runs with columns ``task`` and ``value``.
        value: the column compared.

    Returns:
        ``(kept_runs, excluded)`` where ``excluded`` maps task → its single value.
    """
    excluded = constant_tasks(runs, value=value)
    kept = runs[~runs["task"].astype(str).isin(list(excluded))]
    return kept, excluded


def compared_normaliser(runs: pd.DataFrame, *, version: str = COMPARED) -> Normaliser:
    """Mars-Bench's ``make_normalizer``: anchors are each task's min and max over all given runs.

    Every model is a reference model, and the anchors are the 0th and 100th percentiles (the
    minimum and maximum) of each (task, metric) over every row of ``runs``: the normaliser
    depends on which runs are compared, as in Mars-Bench. Freeze it with
    :meth:`~planetbench.stats.normalise.Normaliser.to_json` to compare later runs on the same scale.

    Args:
        runs: tidy runs (columns model, task, metric, score, seed), the table being compared.
        version: version label recorded in the normaliser.

    Returns:
        The fitted :class:`~planetbench.stats.normalise.Normaliser`.

    Raises:
        InvalidInputError: a task on which every run scores the same (remove it first with
            :func:`split_constant_tasks`), or bad columns/scores.
    """
    require_columns(runs, TIDY_COLUMNS, "runs")
    constant = constant_tasks(runs)
    if constant:
        shown = ", ".join(f"{t} (every run {v:g})" for t, v in constant.items())
        raise InvalidInputError(
            f"cannot build a min-max normaliser from the compared runs: task(s) {shown} have "
            "min == max, a division by zero; leave them out first (split_constant_tasks)"
        )
    models = sorted(runs["model"].astype(str).unique())
    return Normaliser.fit(runs, reference_models=models, version=version)


def seed_groups(
    runs: pd.DataFrame, *, by: Sequence[str], value: str
) -> dict[tuple[str, ...], np.ndarray]:
    """The values of each group of runs (e.g. the seeds of one model on one task), in seed order.

    Args:
        runs: tidy runs with the columns ``by``, ``seed`` and ``value``.
        by: grouping columns, e.g. ``("model", "task")``.
        value: the value column.

    Returns:
        Group key (tuple of strings, in the order of ``by``) → 1-D array of its values; keys sorted.

    Raises:
        InvalidInputError: missing columns, non-finite values, or two runs with the same seed in
            one group.
    """
    require_columns(runs, (*by, "seed", value), "runs")
    dup = runs.duplicated(subset=[*by, "seed"])
    if dup.any():
        row = runs[dup].iloc[0]
        key = ", ".join(f"{c}={row[c]!r}" for c in by)
        raise InvalidInputError(
            f"runs have {int(dup.sum())} duplicate seed(s) within a group, e.g. {key}, seed "
            f"{row['seed']!r}; keep one run per seed (select one source, protocol or budget)"
        )
    out: dict[tuple[str, ...], np.ndarray] = {}
    ordered = runs.sort_values([*by, "seed"], kind="stable")
    for key, group in ordered.groupby(list(by), sort=True):
        parts = key if isinstance(key, tuple) else (key,)
        name = "/".join(map(str, parts))
        out[tuple(str(p) for p in parts)] = as_finite_1d(
            group[value].to_numpy(dtype=np.float64), f"{value} of {name}"
        )
    return out


@dataclass(frozen=True)
class StratifiedIQM:
    """One model's IQM over tasks and per task, with replicates from the same resamples.

    Attributes:
        tasks: the task names, in the order of the per-task arrays.
        point: IQM of all runs of all tasks pooled.
        replicates: shape (reps,), the pooled IQM of each stratified resample (seeds resampled
            within each task, Mars-Bench's ``bootstrap_iqm_aggregate``).
        task_points: shape (n_tasks,), IQM over the runs of each task.
        task_replicates: shape (n_tasks, reps), the IQM of each task's resampled runs
            (Mars-Bench's ``bootstrap_iqm``).
        n_runs: shape (n_tasks,), runs per task.
    """

    tasks: tuple[str, ...]
    point: float
    replicates: np.ndarray
    task_points: np.ndarray
    task_replicates: np.ndarray
    n_runs: tuple[int, ...]

    @property
    def reps(self) -> int:
        """Number of bootstrap replicates."""
        return int(self.replicates.shape[0])


def _rep_chunks(reps: int, per_rep: int) -> Iterator[tuple[int, int]]:
    size = max(1, CHUNK_ELEMENTS // max(per_rep, 1))
    start = 0
    while start < reps:
        k = min(size, reps - start)
        yield start, k
        start += k


def resample_within_groups(
    groups: Sequence[np.ndarray], k: int, rng: np.random.Generator
) -> list[np.ndarray]:
    """``k`` bootstrap resamples of each group, each drawn only from its own group's values.

    Args:
        groups: 1-D arrays, one per stratum (e.g. the seeds of one task); sizes may differ.
        k: number of resamples.
        rng: the random generator (groups draw from it in order).

    Returns:
        One array of shape (k, n_g) per group.
    """
    out = []
    for values in groups:
        idx = rng.integers(0, values.shape[0], size=(k, values.shape[0]), dtype=np.int32)
        out.append(values.take(idx))
    return out


def stratified_iqm(
    groups: Mapping[str, ArrayLike], *, reps: int = 10_000, seed: SeedLike = 0
) -> StratifiedIQM:
    """Bootstrap the pooled IQM of one model's runs, resampling runs within each task.

    Each replicate draws, for every task, as many runs as it has, with replacement and only from
    that task's runs (groups of different sizes are fine), then takes the IQM of all drawn runs
    pooled and of each task's drawn runs.

    Args:
        groups: task → that model's values on it (one per seed), e.g. from :func:`seed_groups`.
        reps: bootstrap replicates (>= 1).
        seed: int seed or Generator; the same seed gives the same replicates.

    Returns:
        The :class:`StratifiedIQM`.

    Raises:
        InvalidInputError: no groups, an empty or non-finite group, bad ``reps`` or ``seed``.
    """
    reps = check_positive_int(reps, "reps")
    rng = make_rng(seed)
    if not isinstance(groups, Mapping) or not groups:
        raise InvalidInputError("groups must be a non-empty mapping task -> values (one per seed)")
    tasks = tuple(str(t) for t in groups)
    arrays = [as_finite_1d(v, f"values of task {t!r}") for t, v in zip(tasks, groups.values(),
                                                                         strict=True)]
    pooled = np.concatenate(arrays)
    replicates = np.empty(reps)
    task_replicates = np.empty((len(arrays), reps))
    for start, k in _rep_chunks(reps, pooled.size):
        drawn = resample_within_groups(arrays, k, rng)
        replicates[start : start + k] = iqm_last_axis(np.concatenate(drawn, axis=1))
        for i, d in enumerate(drawn):
            task_replicates[i, start : start + k] = iqm_last_axis(d)
    return StratifiedIQM(
        tasks=tasks,
        point=float(iqm_last_axis(pooled)),
        replicates=replicates,
        task_points=np.array([float(iqm_last_axis(a)) for a in arrays]),
        task_replicates=task_replicates,
        n_runs=tuple(int(a.size) for a in arrays),
    )


def _mean_ranks(values: np.ndarray) -> np.ndarray:
    """values (..., n_models, n_tasks), higher better → mean competition rank (..., n_models)."""
    better = values[..., None, :, :] > values[..., :, None, :]  # [.., i, j, t]: j beats i on t
    return np.asarray((1.0 + better.sum(axis=-2)).mean(axis=-1))


def mean_rank_intervals(
    bootstraps: Mapping[str, StratifiedIQM], *, confidence: float = 0.95
) -> pd.DataFrame:
    """Mean over tasks of each model's competition rank of its per-task IQM, with an interval.

    On every task the models are ranked by their IQM over seeds (1 = best, ties share the best
    rank) and the ranks are averaged over tasks. The interval re-ranks each bootstrap replicate's
    per-task IQMs (each model's own stratified resamples) and reads the percentile interval.

    Args:
        bootstraps: model → its :class:`StratifiedIQM`; every model needs the same tasks and
            the same number of replicates.
        confidence: coverage in (0, 1).

    Returns:
        DataFrame indexed by model with columns mean_rank, low, high (input order).

    Raises:
        InvalidInputError: models with different tasks or replicate counts.
    """
    confidence = check_confidence(confidence)
    if not bootstraps:
        raise InvalidInputError("bootstraps is empty; give at least one model")
    models = list(bootstraps)
    first = bootstraps[models[0]]
    for m in models[1:]:
        b = bootstraps[m]
        if b.tasks != first.tasks or b.reps != first.reps:
            raise InvalidInputError(
                f"model {m!r} has tasks {list(b.tasks)} and {b.reps} replicates but "
                f"{models[0]!r} has {list(first.tasks)} and {first.reps}; rank models on the "
                "same tasks with the same number of replicates"
            )
    points = np.stack([bootstraps[m].task_points for m in models])
    point = _mean_ranks(points)
    boot = np.empty((first.reps, len(models)))
    per_rep = len(models) ** 2 * len(first.tasks)
    for start, k in _rep_chunks(first.reps, per_rep):
        chunk = np.stack(
            [bootstraps[m].task_replicates[:, start : start + k].T for m in models], axis=1
        )  # (k, n_models, n_tasks)
        boot[start : start + k] = _mean_ranks(chunk)
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    table = pd.DataFrame({"mean_rank": point, "low": low, "high": high}, index=models)
    table.index.name = "model"
    return table


@dataclass(frozen=True)
class MarsScores:
    """The Mars-Bench aggregation of one selection of runs.

    Attributes:
        table: one row per model, sorted by mean rank then IQM: ``model``, ``iqm``, ``iqm_low``,
            ``iqm_high`` (IQM over seeds and tasks pooled, stratified-bootstrap interval),
            ``mean_rank``, ``mean_rank_low``, ``mean_rank_high``, ``n_tasks``, ``n_runs`` and one
            column per task (the IQM over that task's seeds).
        bootstraps: model → its :class:`StratifiedIQM` (the distributions behind the table,
            e.g. for Mars-Bench's per-dataset violins).
        reps: bootstrap replicates.
        confidence: interval coverage.
    """

    table: pd.DataFrame
    bootstraps: dict[str, StratifiedIQM]
    reps: int
    confidence: float


def mars_scores(
    runs: pd.DataFrame,
    *,
    value: str = "normalised",
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> MarsScores:
    """IQM over seeds and tasks with stratified-bootstrap intervals, per-task IQM and mean rank.

    Each model is bootstrapped on its own stream derived from (``seed``, model name), so its
    interval does not depend on the other models; the rank interval re-ranks the same replicates.

    Args:
        runs: tidy runs of one selection (one metric scale, protocol and budget) with columns
            model, task, seed and ``value``; every model must have runs on every task.
        value: the column aggregated, normally ``normalised``.
        reps: bootstrap replicates (>= 1; the Mars-Bench leaderboard asks for >= 1,000).
        confidence: interval coverage in (0, 1).
        seed: int seed (or Generator: models then draw from it one after the other).

    Returns:
        The :class:`MarsScores`.

    Raises:
        InvalidInputError: a model lacking a task, duplicate seeds, non-finite values, bad
            ``reps``/``confidence``/``seed``.
    """
    reps = check_positive_int(reps, "reps")
    confidence = check_confidence(confidence)
    make_rng(seed)  # validates it
    cells = seed_groups(runs, by=("model", "task"), value=value)
    models = sorted({m for m, _ in cells})
    tasks = sorted({t for _, t in cells})
    gaps = [(m, t) for m in models for t in tasks if (m, t) not in cells]
    if gaps:
        shown = ", ".join(f"({m!r}, {t!r})" for m, t in gaps[:10])
        raise InvalidInputError(
            f"{len(gaps)} (model, task) cell(s) have no runs: {shown}; every model needs runs on "
            "every task to be compared (drop the model or the task first)"
        )
    bootstraps = {
        m: stratified_iqm({t: cells[(m, t)] for t in tasks}, reps=reps, seed=named_rng(seed, m))
        for m in models
    }
    ranks = mean_rank_intervals(bootstraps, confidence=confidence)
    rows = []
    for m in models:
        b = bootstraps[m]
        low, high = percentile_interval(b.replicates, confidence)
        rows.append(
            {
                "model": m,
                "iqm": b.point,
                "iqm_low": low,
                "iqm_high": high,
                "mean_rank": float(ranks.loc[m, "mean_rank"]),
                "mean_rank_low": float(ranks.loc[m, "low"]),
                "mean_rank_high": float(ranks.loc[m, "high"]),
                "n_tasks": len(tasks),
                "n_runs": int(sum(b.n_runs)),
                **{t: float(p) for t, p in zip(tasks, b.task_points, strict=True)},
            }
        )
    table = pd.DataFrame(rows).sort_values(
        ["mean_rank", "iqm"], ascending=[True, False], kind="stable"
    )
    return MarsScores(table.reset_index(drop=True), bootstraps, reps, confidence)


def mean_std_curves(runs: pd.DataFrame, *, budget: str, value: str = "normalised") -> pd.DataFrame:
    """Mars-Bench's budget curves: mean and standard deviation over seeds per (task, model, budget).

    This is what Mars-Bench's partition and few-shot plots draw (its ``partition_stats.csv``):
    pandas' ``mean``, ``std`` (ddof = 1; NaN for a single run) and ``count`` of the normalised
    score of the seeds of each (dataset, model, budget).

    Args:
        runs: tidy runs with columns task, model, ``budget`` and ``value``.
        budget: the budget column (``fraction`` or ``shots``).
        value: the value column.

    Returns:
        DataFrame with columns task, model, ``budget``, mean, std, count.
    """
    require_columns(runs, ("task", "model", budget, value), "runs")
    return (
        runs.groupby(["task", "model", budget], sort=True)[value]
        .agg(["mean", "std", "count"])
        .reset_index()
    )


def iqm_curves(
    runs: pd.DataFrame,
    *,
    budget: str,
    value: str = "normalised",
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """Our curves beside Mars-Bench's: IQM over seeds with a bootstrap interval, per budget.

    For every (model, budget), the tasks present at that budget are bootstrapped together with
    :func:`stratified_iqm` (stream derived from (``seed``, model, budget)): each task's row holds
    the IQM over its seeds and the interval of Mars-Bench's per-dataset bootstrap; the row of task
    :data:`AGGREGATED` holds the IQM pooled over the tasks and seeds with the stratified interval.

    Args:
        runs: tidy runs with columns model, task, seed, ``budget`` and ``value``.
        budget: the budget column (``fraction`` or ``shots``).
        value: the value column.
        reps: bootstrap replicates.
        confidence: interval coverage in (0, 1).
        seed: int seed.

    Returns:
        DataFrame with columns task, model, ``budget``, iqm, low, high, n_runs, n_tasks.
    """
    reps = check_positive_int(reps, "reps")
    confidence = check_confidence(confidence)
    cells = seed_groups(runs, by=("model", budget, "task"), value=value)
    budgets = {str(b): b for b in runs[budget].unique()}
    rows = []
    for model, b in sorted({(m, b) for m, b, _ in cells}):
        groups = {t: v for (m, bb, t), v in cells.items() if m == model and bb == b}
        boot = stratified_iqm(groups, reps=reps, seed=named_rng(seed, model, b))
        low, high = percentile_interval(boot.replicates, confidence)
        common = {"model": model, budget: budgets[b], "n_tasks": len(groups)}
        rows.append({"task": AGGREGATED, **common, "iqm": boot.point, "low": low, "high": high,
                     "n_runs": int(sum(boot.n_runs))})
        for i, t in enumerate(boot.tasks):
            tl, th = percentile_interval(boot.task_replicates[i], confidence)
            rows.append({"task": t, **common, "iqm": float(boot.task_points[i]), "low": tl,
                         "high": th, "n_runs": boot.n_runs[i], "n_tasks": 1})
    columns = ["task", "model", budget, "iqm", "low", "high", "n_runs", "n_tasks"]
    out = pd.DataFrame(rows, columns=columns)
    return out.sort_values(["task", "model", budget], kind="stable").reset_index(drop=True)


__all__ = [
    "AGGREGATED",
    "COMPARED",
    "MarsScores",
    "StratifiedIQM",
    "compared_normaliser",
    "constant_tasks",
    "iqm_curves",
    "iqm_last_axis",
    "mars_scores",
    "mean_rank_intervals",
    "mean_std_curves",
    "resample_within_groups",
    "seed_groups",
    "split_constant_tasks",
    "stratified_iqm",
]
