"""Pairwise comparisons: probability of improvement, mean rank with bootstrap intervals, ties.

Probability of improvement (Agarwal et al. 2021, "Deep Reinforcement Learning at the Edge of the
Statistical Precipice", section 4.3; rliable ``probability_of_improvement``): for each task m,
P(X_m > Y_m) is the Mann–Whitney U statistic of X's runs against Y's runs divided by n·k (ties
count ½), i.e. the chance that a random run of X beats a random run of Y; the overall value is
the mean over tasks. Its interval resamples the runs of X and of Y independently within each task
(rliable's ``StratifiedIndependentBootstrap``).

"Statistically tied" (our policy): X and Y are tied when the confidence interval of
P(X > Y) contains 0.5, i.e. the data cannot tell which one is more likely to win on a task.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from itertools import combinations

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import (
    SeedLike,
    as_score_matrix,
    check_confidence,
    check_positive_int,
    make_rng,
    named_rng,
)
from planetbench.stats.bootstrap import (
    CHUNK_ELEMENTS,
    DEFAULT_REPS,
    Interval,
    percentile_interval,
    stratified_resample,
)


def _poi_batch(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """P(X > Y) for batches x (..., n, T) and y (..., k, T); returns shape (...,)."""
    xe = x[..., :, None, :]
    ye = y[..., None, :, :]
    wins = (xe > ye).mean(axis=(-3, -2)) + 0.5 * (xe == ye).mean(axis=(-3, -2))
    return np.asarray(wins.mean(axis=-1))


def _pair(scores_x: ArrayLike, scores_y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    x = as_score_matrix(scores_x, "scores_x")
    y = as_score_matrix(scores_y, "scores_y")
    if x.shape[1] != y.shape[1]:
        raise InvalidInputError(
            f"scores_x has {x.shape[1]} tasks but scores_y has {y.shape[1]}; both need the same "
            "tasks in the same column order (build them with score_matrices)"
        )
    return x, y


def probability_of_improvement(scores_x: ArrayLike, scores_y: ArrayLike) -> float:
    """P(X > Y) averaged over tasks (Mann–Whitney U / (n·k) per task, ties count ½).

    Args:
        scores_x: array of shape (n_runs_x, n_tasks), higher is better.
        scores_y: array of shape (n_runs_y, n_tasks), same tasks.

    Returns:
        A probability in [0, 1]; 0.5 means no preference.

    Example:
        >>> probability_of_improvement([[1.0], [2.0]], [[0.0], [2.0]])
        0.625
    """
    x, y = _pair(scores_x, scores_y)
    return float(_poi_batch(x, y))


def _chunk_sizes(reps: int, per_rep: int) -> Iterator[int]:
    size = max(1, CHUNK_ELEMENTS // max(per_rep, 1))
    done = 0
    while done < reps:
        k = min(size, reps - done)
        yield k
        done += k


def _resample(m: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    return stratified_resample(m, k, rng)


def probability_of_improvement_ci(
    scores_x: ArrayLike,
    scores_y: ArrayLike,
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> Interval:
    """P(X > Y) with a percentile interval from independent stratified bootstraps of X and Y.

    Args:
        scores_x: array of shape (n_runs_x, n_tasks).
        scores_y: array of shape (n_runs_y, n_tasks).
        reps: bootstrap replicates.
        confidence: coverage in (0, 1).
        seed: int seed or Generator.

    Returns:
        An :class:`~planetbench.stats.bootstrap.Interval` (method ``"percentile"``).
    """
    x, y = _pair(scores_x, scores_y)
    reps = check_positive_int(reps, "reps")
    confidence = check_confidence(confidence)
    rng = make_rng(seed)
    boot = np.empty(reps)
    start = 0
    for k in _chunk_sizes(reps, x.shape[0] * y.shape[0] * x.shape[1]):
        boot[start : start + k] = _poi_batch(_resample(x, k, rng), _resample(y, k, rng))
        start += k
    low, high = percentile_interval(boot, confidence)
    return Interval(float(_poi_batch(x, y)), low, high, confidence, "percentile", reps)


def is_tied(interval: Interval) -> bool:
    """Our tie rule: the P(X > Y) interval contains 0.5."""
    return interval.contains(0.5)


def pairwise_improvement(
    score_dict: Mapping[str, ArrayLike],
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: SeedLike = 0,
) -> pd.DataFrame:
    """P(X > Y) with intervals and tie flags for every unordered pair of models.

    Args:
        score_dict: model -> array of shape (n_runs, n_tasks), same tasks for all models.
        reps: bootstrap replicates per pair.
        confidence: coverage in (0, 1).
        seed: int seed (each pair then gets its own stream derived from (seed, x, y), independent
            of the other models) or a Generator (pairs draw from it in order).

    Returns:
        DataFrame with columns x, y, probability, low, high, tied (one row per pair, x before y
        in the mapping's order).
    """
    if not isinstance(score_dict, Mapping) or len(score_dict) < 2:
        raise InvalidInputError("score_dict must map at least two models to score matrices")
    make_rng(seed)  # validates it
    rows = []
    for a, b in combinations(score_dict, 2):
        iv = probability_of_improvement_ci(
            score_dict[a],
            score_dict[b],
            reps=reps,
            confidence=confidence,
            seed=named_rng(seed, str(a), str(b)),
        )
        rows.append(
            {
                "x": a,
                "y": b,
                "probability": iv.point,
                "low": iv.low,
                "high": iv.high,
                "tied": is_tied(iv),
            }
        )
    return pd.DataFrame(rows)


def _mean_rank_batch(task_means: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """task_means (..., n_models, n_tasks) -> mean competition rank per model, (..., n_models)."""
    a = task_means[..., :, None, :]
    b = task_means[..., None, :, :]
    better = (b > a) if higher_is_better else (b < a)
    ranks = 1.0 + better.sum(axis=-2)
    return np.asarray(ranks.mean(axis=-1))


def mean_rank(
    score_dict: Mapping[str, ArrayLike],
    *,
    higher_is_better: bool = True,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: SeedLike = 0,
    task_bootstrap: bool = False,
) -> pd.DataFrame:
    """Mean over tasks of each model's competition rank of its per-task mean score, with intervals.

    On each task the models are ranked by their mean over runs (1 = best, ties share the best
    rank); the ranks are averaged over tasks. The interval resamples every model's runs within
    each task independently (stratified bootstrap) and re-ranks.

    Args:
        score_dict: model -> array of shape (n_runs, n_tasks), same tasks for all models.
        higher_is_better: direction of the scores.
        reps: bootstrap replicates.
        confidence: coverage in (0, 1).
        seed: int seed or Generator.
        task_bootstrap: also resample the tasks (the same draw for every model), so that the
            interval reflects which tasks were chosen; needed when each cell has one run.

    Returns:
        DataFrame indexed by model with columns mean_rank, low, high, sorted by mean_rank.
    """
    if not isinstance(score_dict, Mapping) or not score_dict:
        raise InvalidInputError("score_dict must be a non-empty mapping model -> score matrix")
    reps = check_positive_int(reps, "reps")
    confidence = check_confidence(confidence)
    models = [str(m) for m in score_dict]
    mats = [as_score_matrix(s, f"scores of {m!r}") for m, s in score_dict.items()]
    n_tasks = {m.shape[1] for m in mats}
    if len(n_tasks) != 1:
        raise InvalidInputError(
            f"all score matrices need the same number of tasks; got {sorted(n_tasks)}"
        )
    point = _mean_rank_batch(np.stack([m.mean(axis=0) for m in mats]), higher_is_better)
    rng = make_rng(seed)
    boot = np.empty((reps, len(mats)))
    per_rep = sum(m.size for m in mats) + len(mats) ** 2 * mats[0].shape[1]
    start = 0
    for k in _chunk_sizes(reps, per_rep):
        means = np.stack([_resample(m, k, rng).mean(axis=1) for m in mats], axis=1)
        if task_bootstrap:
            n_t = means.shape[2]
            picks = rng.integers(0, n_t, size=(k, 1, n_t))
            means = np.take_along_axis(means, np.broadcast_to(picks, means.shape), axis=2)
        boot[start : start + k] = _mean_rank_batch(means, higher_is_better)
        start += k
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0], axis=0)
    table = pd.DataFrame({"mean_rank": point, "low": low, "high": high}, index=models)
    table.index.name = "model"
    return table.sort_values(["mean_rank"], kind="stable")
