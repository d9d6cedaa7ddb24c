"""Aggregate performance over runs and tasks: mean, median, IQM and optimality gap.

Definitions follow Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the
Statistical Precipice" (NeurIPS), as implemented in rliable's ``metrics.py``:

* mean: mean over tasks of the per-task mean over runs;
* median: median over tasks of the per-task mean over runs;
* IQM: interquartile mean, the 25 % trimmed mean of all n_runs × n_tasks scores pooled
  (``scipy.stats.trim_mean(·, 0.25)``; with n scores, ⌊n/4⌋ are cut from each end);
* optimality gap: γ − mean(min(score, γ)) over all runs and tasks (γ = 1 by default, i.e. the
  amount by which the model falls short of the best reference anchor on normalised scores).

Every function takes a score matrix of shape (n_runs, n_tasks) or a batch of shape
(..., n_runs, n_tasks) and returns a float (or an array of shape (...,)); that batch form is what
:mod:`planetbench.stats.bootstrap` feeds them. NaN/inf are errors, never propagated.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import as_score_matrix, check_positive_int, require_columns

Aggregate = Callable[[np.ndarray], np.ndarray]
MissingPolicy = Literal["error", "drop-task", "min-runs"]


def _mean_batch(scores: np.ndarray) -> np.ndarray:
    return np.asarray(scores.mean(axis=-2).mean(axis=-1))


def _median_batch(scores: np.ndarray) -> np.ndarray:
    return np.asarray(np.median(scores.mean(axis=-2), axis=-1))


def _iqm_batch(scores: np.ndarray) -> np.ndarray:
    # Same cut as scipy.stats.trim_mean(·, 0.25): ⌊n/4⌋ from each end. A full sort is used
    # because NumPy's vectorised sort beats the per-row partition of trim_mean on batches.
    flat = scores.reshape(*scores.shape[:-2], -1)
    n = flat.shape[-1]
    cut = int(0.25 * n)
    return np.asarray(np.sort(flat, axis=-1)[..., cut : n - cut].mean(axis=-1))


def _optimality_gap_batch(scores: np.ndarray, gamma: float = 1.0) -> np.ndarray:
    return np.asarray(gamma - np.minimum(scores, gamma).mean(axis=(-2, -1)))


def _out(value: np.ndarray) -> float | np.ndarray:
    return float(value) if np.ndim(value) == 0 else np.asarray(value)


def aggregate_mean(scores: ArrayLike) -> float | np.ndarray:
    """Mean over tasks of the mean over runs.

    Args:
        scores: array of shape (n_runs, n_tasks) or (..., n_runs, n_tasks).

    Returns:
        A float, or an array of shape (...,) for a batch.
    """
    return _out(_mean_batch(as_score_matrix(scores, batched=True)))


def aggregate_median(scores: ArrayLike) -> float | np.ndarray:
    """Median over tasks of the mean over runs (rliable's definition).

    Args:
        scores: array of shape (n_runs, n_tasks) or (..., n_runs, n_tasks).

    Returns:
        A float, or an array of shape (...,) for a batch.
    """
    return _out(_median_batch(as_score_matrix(scores, batched=True)))


def iqm(scores: ArrayLike) -> float | np.ndarray:
    """Interquartile mean: the 25 %-trimmed mean of all runs × tasks scores pooled.

    Args:
        scores: array of shape (n_runs, n_tasks) or (..., n_runs, n_tasks).

    Returns:
        A float, or an array of shape (...,) for a batch.

    Example:
        >>> iqm([[0.0, 1.0], [2.0, 100.0]])
        1.5
    """
    return _out(_iqm_batch(as_score_matrix(scores, batched=True)))


def optimality_gap(scores: ArrayLike, gamma: float = 1.0) -> float | np.ndarray:
    """Optimality gap: γ − mean(min(score, γ)) over all runs and tasks (lower is better).

    Args:
        scores: array of shape (n_runs, n_tasks) or (..., n_runs, n_tasks), normalised scores.
        gamma: threshold γ (finite); scores above it count as γ.

    Returns:
        A float, or an array of shape (...,) for a batch.
    """
    if isinstance(gamma, bool) or not np.isfinite(gamma):
        raise InvalidInputError(f"gamma must be a finite float (default 1.0); got {gamma!r}")
    return _out(_optimality_gap_batch(as_score_matrix(scores, batched=True), float(gamma)))


def optimality_gap_statistic(gamma: float) -> Aggregate:
    """Batch optimality gap at threshold ``gamma``, for the bootstrap's ``statistic`` argument.

    Args:
        gamma: finite threshold γ.

    Returns:
        A callable mapping (k, n_runs, n_tasks) to (k,), named ``optimality_gap@<gamma>``.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not np.isfinite(gamma):
        raise InvalidInputError(f"gamma must be a finite float; got {gamma!r}")
    value = float(gamma)

    def gap(scores: np.ndarray) -> np.ndarray:
        return _optimality_gap_batch(scores, value)

    gap.__name__ = f"optimality_gap@{value:g}"
    return gap


#: Named aggregates usable by the bootstrap; each maps (..., n_runs, n_tasks) -> (...,) unvalidated.
AGGREGATES: dict[str, Aggregate] = {
    "mean": _mean_batch,
    "median": _median_batch,
    "iqm": _iqm_batch,
    "optimality_gap": _optimality_gap_batch,
}


def score_matrices(
    df: pd.DataFrame,
    value: str = "normalised",
    *,
    missing: MissingPolicy = "error",
    min_runs: int = 1,
) -> dict[str, np.ndarray]:
    """Turn tidy runs into one score matrix per model.

    Columns are the tasks in sorted order (the same for every model); rows are seeds in sorted
    order. A model's matrix needs the same seeds on every task. Missing-runs policy:

    * ``"error"`` (default): every model must have the same seeds on every task, else raise
      naming the gaps;
    * ``"drop-task"``: drop (with a warning) every task on which some model lacks some of the
      seeds it has elsewhere, or lacks the task entirely; error if no task is left;
    * ``"min-runs"``: keep all tasks; each model keeps only the seeds it has on every task (with a
      warning listing dropped runs) and must keep at least ``min_runs``; a model missing a task
      entirely is an error.

    NaN/inf in ``value`` and duplicate (model, task, seed) rows are always errors.

    Args:
        df: tidy runs with columns model, task, seed and ``value``.
        value: column holding the scores (e.g. ``"normalised"`` from
            :meth:`Normaliser.transform`, or ``"score"``).
        missing: the policy above.
        min_runs: minimum runs per model under ``"min-runs"``.

    Returns:
        Dict model -> array of shape (n_runs_model, n_tasks), insertion-ordered by sorted model.
    """
    require_columns(df, ("model", "task", "seed", value))
    if missing not in ("error", "drop-task", "min-runs"):
        raise InvalidInputError(
            f"missing must be 'error', 'drop-task' or 'min-runs'; got {missing!r}"
        )
    min_runs = check_positive_int(min_runs, "min_runs")
    if df.empty:
        raise InvalidInputError("df has no rows; there is nothing to aggregate")
    values = pd.to_numeric(df[value], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = df[bad].iloc[0]
        raise InvalidInputError(
            f"column {value!r} has {int(bad.sum())} missing or non-finite value(s), e.g. model "
            f"{row['model']!r}, task {row['task']!r}, seed {row['seed']!r}; statistics never "
            "propagate NaN: drop or re-run those runs"
        )
    dup = df.duplicated(subset=["model", "task", "seed"])
    if dup.any():
        row = df[dup].iloc[0]
        raise InvalidInputError(
            f"df has {int(dup.sum())} duplicate (model, task, seed) row(s), e.g. "
            f"({row['model']!r}, {row['task']!r}, {row['seed']!r}); keep one row per run"
        )
    wide = df.assign(_v=values).pivot_table(
        index=["model", "seed"], columns="task", values="_v", aggfunc="first", sort=True
    )
    tasks = sorted(wide.columns.tolist(), key=str)
    wide = wide[tasks]
    models = sorted(wide.index.get_level_values("model").unique().tolist(), key=str)
    holes = wide.isna()
    if holes.to_numpy().any():
        gaps = holes.stack()
        gap_list = [f"({m!r}, {t!r}, seed {s!r})" for (m, s, t) in gaps[gaps].index.tolist()]
        shown = ", ".join(gap_list[:10]) + (" …" if len(gap_list) > 10 else "")
        if missing == "error":
            raise InvalidInputError(
                f"{len(gap_list)} run(s) missing for (model, task, seed): {shown}. Every model "
                "needs the same seeds on every task; re-run them, or pass missing='drop-task' or "
                "missing='min-runs'."
            )
        if missing == "drop-task":
            keep = [t for t in tasks if not holes[t].any()]
            dropped = [t for t in tasks if t not in keep]
            if not keep:
                raise InvalidInputError(
                    f"missing='drop-task' would drop every task ({dropped}); no task has every run"
                )
            warnings.warn(
                f"score_matrices: dropped task(s) {dropped} because of missing runs: {shown}",
                UserWarning,
                stacklevel=2,
            )
            wide = wide[keep]
        else:
            dropped_runs = []
            for m in models:
                sub = wide.loc[m]
                absent = sub.columns[sub.isna().all(axis=0)].tolist()
                if absent:
                    raise InvalidInputError(
                        f"model {m!r} has no run at all on task(s) {absent}; missing='min-runs' "
                        "cannot fill a whole task. Run it or use missing='drop-task'."
                    )
                incomplete = sub.index[sub.isna().any(axis=1)].tolist()
                if len(sub) - len(incomplete) < min_runs:
                    raise InvalidInputError(
                        f"model {m!r} has only {len(sub) - len(incomplete)} seed(s) present on "
                        f"every task, fewer than min_runs={min_runs}"
                    )
                dropped_runs += [f"({m!r}, seed {s!r})" for s in incomplete]
            warnings.warn(
                "score_matrices: kept only seeds present on every task; dropped "
                f"{', '.join(dropped_runs)}",
                UserWarning,
                stacklevel=2,
            )
    out: dict[str, np.ndarray] = {}
    for m in models:
        sub = wide.loc[m].dropna(axis=0, how="any")
        out[str(m)] = sub.to_numpy(dtype=np.float64)
    return out
