"""Competition ranking and the NeuCo-Bench rank-then-aggregate leaderboard.

Reference: Vinge et al. (2025), "NeuCo-Bench: A Novel Benchmark Framework for Neural Embeddings in
Earth Observation". Models are ranked per task by their quality score Q; the per-task ranks are
combined with task weights proportional to how much the task separates the models (the standard
deviation of Q across models), and the weighted rank sum is ranked again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import as_finite_1d

#: Weighted rank sums are rounded to this many decimals for display.
WEIGHTED_SCORE_DECIMALS = 12

#: Weighted rank sums closer than this are tied: sums equal in exact arithmetic can differ in the
#: last bits of a float dot product (e.g. 0.1 + 0.2 vs 0.3), whatever the rounding of a build.
WEIGHTED_SCORE_TIE_TOLERANCE = 1e-9


def competition_rank(
    values: ArrayLike, *, higher_is_better: bool = True, tie_tolerance: float = 0.0
) -> np.ndarray:
    """Standard competition ranking ("1224"): the best value gets 1, ties share the best rank.

    A value's rank is 1 + the number of values better than it by more than ``tie_tolerance``.
    With the default tolerance 0, ties are exact equality.

    Args:
        values: array of shape (n,), finite.
        higher_is_better: True when larger values are better (Q, mIoU); False for errors, ranks.
        tie_tolerance: absolute difference (≥ 0) up to which two values count as tied.

    Returns:
        int64 array of shape (n,) with ranks in 1..n.

    Raises:
        InvalidInputError: empty, non-1-D or non-finite ``values``.

    Example:
        >>> competition_rank([0.9, 0.5, 0.5, 0.1]).tolist()
        [1, 2, 2, 4]
    """
    arr = as_finite_1d(values, "values")
    if not (np.isfinite(tie_tolerance) and tie_tolerance >= 0):
        raise InvalidInputError(f"tie_tolerance must be finite and >= 0; got {tie_tolerance!r}")
    ordered = np.sort(arr)
    if higher_is_better:
        better = arr.size - np.searchsorted(ordered, arr + tie_tolerance, side="right")
    else:
        better = np.searchsorted(ordered, arr - tie_tolerance, side="left")
    return (better + 1).astype(np.int64)


def per_task_ranks(table: pd.DataFrame, *, higher_is_better: bool = True) -> pd.DataFrame:
    """Competition rank of every model on every task, among the models measured on that task.

    The one per-task ranking of planetbench's leaderboards (Cryo-Bench's ``avg_rank``, the mean
    rank of the NeuCo layout, rank-then-aggregate): each column is ranked with
    :func:`competition_rank` over its non-missing values; missing cells stay missing.

    Args:
        table: DataFrame index = model, columns = task, numeric values; NaN = not measured.
        higher_is_better: direction of the values.

    Returns:
        Float DataFrame of the same shape and labels, ranks in 1..n_measured (NaN where
        ``table`` is NaN).

    Example:
        >>> t = pd.DataFrame({"a": [0.9, 0.5, 0.9], "b": [1.0, None, 2.0]}, index=["x", "y", "z"])
        >>> per_task_ranks(t).to_dict(orient="list")
        {'a': [1.0, 3.0, 1.0], 'b': [2.0, nan, 1.0]}
    """
    ranks = pd.DataFrame(np.nan, index=table.index, columns=table.columns, dtype=float)
    for task in table.columns:
        have = table[task].notna().to_numpy()
        if have.any():
            values = table[task].to_numpy(dtype=np.float64)[have]
            ranks.loc[have, task] = competition_rank(values, higher_is_better=higher_is_better)
    return ranks


@dataclass(frozen=True)
class RankAggregate:
    """The rank-then-aggregate leaderboard.

    Attributes:
        table: DataFrame indexed by model, sorted best first (then by model name), with one
            column ``rank_<task>`` per task (competition rank of Q, 1 = highest Q), then
            ``weighted_score`` (Σ_t w_t · rank_t, lower is better), ``rank`` (competition rank of
            ``weighted_score``, ties share the best rank) and ``mean_q`` (mean Q over tasks).
        weights: task weights indexed by task, summing to 1.
    """

    table: pd.DataFrame
    weights: pd.Series


def _validate_q_table(q_table: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(q_table, pd.DataFrame):
        raise InvalidInputError(
            f"q_table must be a DataFrame (index=model, columns=task); "
            f"got {type(q_table).__name__}"
        )
    if q_table.shape[0] == 0 or q_table.shape[1] == 0:
        raise InvalidInputError(
            f"q_table has shape {q_table.shape}; it needs at least one model (row) and one task "
            "(column)"
        )
    for axis_name, labels in (
        ("model (index)", q_table.index),
        ("task (column)", q_table.columns),
    ):
        dup = labels[labels.duplicated()].unique().tolist()
        if dup:
            raise InvalidInputError(
                f"q_table has duplicate {axis_name} labels {dup}; make them unique"
            )
    try:
        values = q_table.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"q_table must hold numeric Q scores: {exc}") from exc
    missing = values.isna()
    if missing.to_numpy().any():
        stacked = missing.stack()
        pairs = [f"({model!r}, {task!r})" for model, task in stacked[stacked].index.tolist()]
        raise InvalidInputError(
            f"q_table has missing Q for (model, task) {', '.join(pairs)}; every model must "
            "have a score on every task. Evaluate the missing runs or drop the model/task "
            "before ranking."
        )
    inf = ~np.isfinite(values.to_numpy())
    if inf.any():
        i, j = np.argwhere(inf)[0]
        raise InvalidInputError(
            f"q_table has an infinite Q for model {values.index[i]!r}, task {values.columns[j]!r}"
        )
    return values


def task_weights(q_table: pd.DataFrame, *, weighted: bool = True) -> pd.Series:
    """Task weights for :func:`rank_aggregate`.

    With ``weighted``, w_t = std_t / Σ std, where std_t is the standard deviation (ddof 1) of Q
    across models on task t: tasks on which all models tie get weight 0. Equal weights 1/n_tasks
    are used when ``weighted`` is False, when there is a single model (std undefined), or when all
    tasks are all-tied (every std is 0, so no task separates the models).

    Args:
        q_table: DataFrame index=model, columns=task, values Q (finite).
        weighted: use the std weights.

    Returns:
        Series indexed by task, summing to 1.
    """
    values = _validate_q_table(q_table)
    n_models, n_tasks = values.shape
    equal = pd.Series(np.full(n_tasks, 1.0 / n_tasks), index=values.columns, name="weight")
    if not weighted or n_models == 1:
        return equal
    std = values.std(axis=0, ddof=1).to_numpy()
    total = std.sum()
    if total == 0.0:
        return equal
    return pd.Series(std / total, index=values.columns, name="weight")


def rank_aggregate(q_table: pd.DataFrame, *, weighted: bool = True) -> RankAggregate:
    """NeuCo-Bench leaderboard: rank per task, weight, sum, rank again.

    NaN policy: a missing Q is an error naming the (model, task) pairs; nothing is imputed.

    Args:
        q_table: DataFrame with index=model, columns=task, values Q (higher is better).
        weighted: weight tasks by the spread of Q across models (see :func:`task_weights`);
            False gives every task the same weight.

    Returns:
        A :class:`RankAggregate` (table sorted best first, and the task weights).

    Raises:
        InvalidInputError: empty table, duplicate labels, non-numeric, NaN or infinite Q.
    """
    values = _validate_q_table(q_table)
    weights = task_weights(values, weighted=weighted)
    ranks = per_task_ranks(values).to_numpy().astype(np.int64)
    weighted_score = ranks @ weights.to_numpy()
    table = pd.DataFrame(
        ranks, index=values.index, columns=[f"rank_{task}" for task in values.columns]
    )
    table["weighted_score"] = np.round(weighted_score, WEIGHTED_SCORE_DECIMALS)
    table["rank"] = competition_rank(
        weighted_score, higher_is_better=False, tie_tolerance=WEIGHTED_SCORE_TIE_TOLERANCE
    )
    table["mean_q"] = values.mean(axis=1).to_numpy()
    table.index.name = values.index.name or "model"
    order = np.lexsort((table.index.astype(str).to_numpy(), table["rank"].to_numpy()))
    return RankAggregate(table=table.iloc[order], weights=weights)
