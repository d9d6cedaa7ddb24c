"""How well does a capability encoding predict scores it has not seen?

Three protocols, each compared with two baselines that see the same known cells: "predict the
task mean" (the mean known score of the task) and the additive "task mean + model effect" (a
two-way main-effects fit, see :func:`_additive`):

* :func:`holdout_cells`: hide a random share of the (model, task) cells, fit on the rest.
* :func:`leave_one_model_out`: for each model, fit on the other models, place the model from
  ``k`` of its tasks (:meth:`CapabilityEncoder.place_model`) and predict its other tasks.
* :func:`leave_one_task_out`: the same with the roles of models and tasks swapped
  (:meth:`CapabilityEncoder.place_task`).

Errors are absolute errors in score units divided by the task's full-data score range
(max - min over all models measured on the task), so that tasks with different metrics and
spreads are comparable; 0.1 means "off by a tenth of the spread between the best and the worst
model". The mean absolute error (MAE) comes with a percentile bootstrap interval over the
predicted cells (Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from planetbench.capability.encoding import CapabilityEncoder, aggregate_cells
from planetbench.errors import InvalidInputError
from planetbench.stats.bootstrap import bootstrap_ci


@dataclass(frozen=True)
class ValidationReport:
    """Errors of a validation protocol.

    Attributes:
        protocol: ``holdout``, ``leave-one-model-out`` or ``leave-one-task-out``.
        predictions: one row per predicted cell: ``model, task, score, score_pred,
            score_baseline, gap_std, error, error_baseline`` (errors range-normalised).
        mae: mean of ``error``; mae_ci: its (low, high) bootstrap interval.
        baseline_mae: mean of ``error_baseline`` (task mean); baseline_mae_ci: its interval.
        additive_mae: mean of ``error_additive``, the baseline "task mean + model effect"
            (see :func:`_additive`); additive_mae_ci: its interval.
        n_skipped: held-out cells that could not be predicted (their model or task was
            filtered out of the training fit).
    """

    protocol: str
    predictions: pd.DataFrame
    mae: float
    mae_ci: tuple[float, float]
    baseline_mae: float
    baseline_mae_ci: tuple[float, float]
    additive_mae: float
    additive_mae_ci: tuple[float, float]
    n_skipped: int

    def summary(self) -> dict[str, Any]:
        """The figures as a flat dict (no predictions)."""
        return {
            "protocol": self.protocol,
            "n_predicted": len(self.predictions),
            "n_skipped": self.n_skipped,
            "mae": self.mae,
            "mae_ci_low": self.mae_ci[0],
            "mae_ci_high": self.mae_ci[1],
            "baseline_mae": self.baseline_mae,
            "baseline_mae_ci_low": self.baseline_mae_ci[0],
            "baseline_mae_ci_high": self.baseline_mae_ci[1],
            "additive_mae": self.additive_mae,
            "additive_mae_ci_low": self.additive_mae_ci[0],
            "additive_mae_ci_high": self.additive_mae_ci[1],
        }


def bootstrap_mae(
    errors: np.ndarray, *, rng: np.random.Generator, n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of absolute errors.

    The resampling and the interval are :func:`planetbench.stats.bootstrap.bootstrap_ci` (the
    errors as one task of ``n`` runs, statistic ``mean``, method ``percentile``), so the
    capability validation and the leaderboards share one bootstrap.

    Args:
        errors: absolute errors, shape (n,), finite, n >= 1.
        rng: the random generator (explicit, for reproducibility); it is advanced.
        n_boot: number of resamples.
        level: coverage of the interval, in (0, 1).

    Returns:
        ``(low, high)``.

    Raises:
        InvalidInputError: empty or non-finite errors, bad n_boot or level.
    """
    errors = np.asarray(errors, dtype=float)
    if errors.ndim != 1 or errors.size == 0 or not np.all(np.isfinite(errors)):
        raise InvalidInputError(
            f"errors must be a non-empty 1-D array of finite numbers; got shape {errors.shape}"
        )
    if not isinstance(n_boot, int) or n_boot < 1:
        raise InvalidInputError(f"n_boot={n_boot!r} must be an integer >= 1")
    if not 0.0 < level < 1.0:
        raise InvalidInputError(f"level={level!r} must lie in (0, 1), e.g. 0.95")
    interval = bootstrap_ci(
        errors[:, None], "mean", reps=n_boot, confidence=level, method="percentile", seed=rng
    )
    return interval.low, interval.high


def _report(protocol: str, rows: list[pd.DataFrame], n_skipped: int,
            rng: np.random.Generator, n_boot: int) -> ValidationReport:
    if not rows or sum(len(r) for r in rows) == 0:
        raise InvalidInputError(
            f"{protocol}: no held-out cell could be predicted ({n_skipped} skipped); add results "
            "or lower min_results"
        )
    pred = pd.concat(rows, ignore_index=True)
    err = pred["error"].to_numpy(dtype=float)
    base = pred["error_baseline"].to_numpy(dtype=float)
    additive = pred["error_additive"].to_numpy(dtype=float)
    return ValidationReport(
        protocol=protocol,
        predictions=pred,
        mae=float(err.mean()),
        mae_ci=bootstrap_mae(err, rng=rng, n_boot=n_boot),
        baseline_mae=float(base.mean()),
        baseline_mae_ci=bootstrap_mae(base, rng=rng, n_boot=n_boot),
        additive_mae=float(additive.mean()),
        additive_mae_ci=bootstrap_mae(additive, rng=rng, n_boot=n_boot),
        n_skipped=n_skipped,
    )


def _additive(test: pd.DataFrame, known: pd.DataFrame) -> np.ndarray:
    """Two-way additive baseline "task mean + model effect" for the test cells, shape (n,).

    Only the known cells are used. With ``m_t`` the mean known score of task t and ``s_t`` the
    range (max - min) of its known scores, a model's effect is the mean of
    ``(score - m_t) / s_t`` over its known cells (0 when it has none; tasks with ``s_t = 0``
    contribute 0), and the prediction is ``m_t + s_t * effect``: the row + column main-effects
    model of a two-way table (Tukey, *Exploratory Data Analysis*, 1977, ch. 10) with means and
    per-task scaling.
    """
    by_task = known.groupby("task")["score"]
    task_mean = by_task.mean()
    task_range = by_task.max() - by_task.min()
    known_scale = task_range.reindex(known["task"]).to_numpy()
    centred = known["score"].to_numpy() - task_mean.reindex(known["task"]).to_numpy()
    z = np.divide(centred, known_scale, out=np.zeros_like(centred), where=known_scale > 0)
    effect = pd.Series(z).groupby(known["model"].to_numpy()).mean()
    m_t = task_mean.reindex(test["task"]).to_numpy()
    eff = effect.reindex(test["model"]).fillna(0.0).to_numpy()
    return np.asarray(m_t + task_range.reindex(test["task"]).to_numpy() * eff, dtype=float)


def _score_frame(enc: CapabilityEncoder, test: pd.DataFrame, known: pd.DataFrame,
                 spread: pd.Series) -> pd.DataFrame:
    """Predictions, baselines and range-normalised errors of the test cells.

    ``known`` holds every cell visible when predicting (training cells plus revealed ones).
    """
    pred = enc.predict(test[["model", "task"]])
    task_mean = known.groupby("task")["score"].mean()
    out = test[["model", "task", "score"]].reset_index(drop=True).copy()
    out["score_pred"] = pred["score_mean"].to_numpy()
    out["gap_std"] = pred["gap_std"].to_numpy()
    out["score_baseline"] = task_mean.reindex(out["task"]).to_numpy()
    out["score_additive"] = _additive(out, known)
    scale = spread.reindex(out["task"]).to_numpy()
    out["error"] = np.abs(out["score_pred"] - out["score"]) / scale
    out["error_baseline"] = np.abs(out["score_baseline"] - out["score"]) / scale
    out["error_additive"] = np.abs(out["score_additive"] - out["score"]) / scale
    return out


def _prepare(results: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    cells = aggregate_cells(results, where="validation results")
    spread = cells.groupby("task")["score"].agg(lambda s: s.max() - s.min())
    flat = spread.index[spread <= 0].tolist()
    if flat:
        cells = cells[~cells["task"].isin(flat)]
        spread = spread.drop(flat)
    return cells.reset_index(drop=True), spread


def _fit_quiet(params: dict[str, Any] | None, train: pd.DataFrame) -> CapabilityEncoder:
    """Fit without the "dropped" warnings (validation folds drop by design)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return CapabilityEncoder(**(params or {})).fit(train)


def holdout_cells(
    results: pd.DataFrame,
    *,
    frac: float = 0.2,
    n_repeats: int = 1,
    seed: int = 0,
    n_boot: int = 2000,
    encoder_params: dict[str, Any] | None = None,
) -> ValidationReport:
    """Hide random (model, task) cells, fit on the rest and predict them.

    Args:
        results: tidy results (see :meth:`CapabilityEncoder.fit`); seeds are averaged per cell.
        frac: share of cells held out per repeat, in (0, 1).
        n_repeats: number of independent random splits (their predictions are pooled).
        seed: seed of the splits and the bootstrap.
        n_boot: bootstrap resamples for the intervals.
        encoder_params: arguments of :class:`CapabilityEncoder` (dim, distance, seed …).

    Returns:
        The :class:`ValidationReport`.

    Raises:
        InvalidInputError: bad frac or n_repeats, or nothing could be predicted.
    """
    if not 0.0 < frac < 1.0:
        raise InvalidInputError(f"frac={frac!r} must lie in (0, 1), e.g. 0.2")
    if not isinstance(n_repeats, int) or n_repeats < 1:
        raise InvalidInputError(f"n_repeats={n_repeats!r} must be an integer >= 1")
    cells, spread = _prepare(results)
    rng = np.random.default_rng(seed)
    rows, skipped = [], 0
    n_test = max(1, round(frac * len(cells)))
    for _ in range(n_repeats):
        test_idx = rng.choice(len(cells), size=n_test, replace=False)
        test = cells.iloc[test_idx]
        train = cells.drop(cells.index[test_idx])
        enc = _fit_quiet(encoder_params, train)
        ok = test["model"].isin(enc.models_) & test["task"].isin(enc.tasks_)
        skipped += int((~ok).sum())
        if ok.any():
            rows.append(_score_frame(enc, test[ok], train, spread))
    return _report("holdout", rows, skipped, rng, n_boot)


def leave_one_model_out(
    results: pd.DataFrame,
    *,
    k: int = 3,
    seed: int = 0,
    n_boot: int = 2000,
    encoder_params: dict[str, Any] | None = None,
) -> ValidationReport:
    """For each model: fit without it, place it from ``k`` of its tasks, predict the others.

    Args:
        results: tidy results; seeds are averaged per cell.
        k: number of the held-out model's tasks revealed to :meth:`place_model` (chosen at
            random); models with <= k tasks are skipped.
        seed: seed of the task choice and the bootstrap.
        n_boot: bootstrap resamples.
        encoder_params: arguments of :class:`CapabilityEncoder`.

    Returns:
        The :class:`ValidationReport` (``baseline``: task mean over the other models).

    Raises:
        InvalidInputError: bad k, or nothing could be predicted.
    """
    if not isinstance(k, int) or k < 1:
        raise InvalidInputError(f"k={k!r} must be an integer >= 1 (tasks revealed per model)")
    cells, spread = _prepare(results)
    rng = np.random.default_rng(seed)
    rows, skipped = [], 0
    for model in sorted(cells["model"].unique()):
        own = cells[cells["model"] == model]
        if len(own) <= k:
            skipped += len(own)
            continue
        train = cells[cells["model"] != model]
        enc = _fit_quiet(encoder_params, train)
        own = own[own["task"].isin(enc.tasks_)]
        if len(own) <= k:
            skipped += len(own)
            continue
        shown = rng.choice(len(own), size=k, replace=False)
        enc.place_model(model, own.iloc[shown][["task", "score"]])
        test = own.drop(own.index[shown])
        known = pd.concat([train, own.iloc[shown]])
        rows.append(_score_frame(enc, test, known, spread))
    return _report("leave-one-model-out", rows, skipped, rng, n_boot)


def leave_one_task_out(
    results: pd.DataFrame,
    *,
    k: int = 3,
    seed: int = 0,
    n_boot: int = 2000,
    encoder_params: dict[str, Any] | None = None,
) -> ValidationReport:
    """For each task: fit without it, place it from ``k`` of its models, predict the others.

    The placed task is normalised by the best and worst of its ``k`` revealed models (the only
    scores known), see :meth:`CapabilityEncoder.place_task`.

    Args:
        results: tidy results; seeds are averaged per cell.
        k: number of models revealed per task (>= 2; two distinct scores are needed).
        seed: seed of the model choice and the bootstrap.
        n_boot: bootstrap resamples.
        encoder_params: arguments of :class:`CapabilityEncoder`.

    Returns:
        The :class:`ValidationReport` (``baseline``: mean of the ``k`` revealed scores, the task
        mean available at that point).

    Raises:
        InvalidInputError: bad k, or nothing could be predicted.
    """
    if not isinstance(k, int) or k < 2:
        raise InvalidInputError(f"k={k!r} must be an integer >= 2 (models revealed per task)")
    cells, spread = _prepare(results)
    rng = np.random.default_rng(seed)
    rows, skipped = [], 0
    for task in sorted(cells["task"].unique()):
        own = cells[cells["task"] == task]
        train = cells[cells["task"] != task]
        enc = _fit_quiet(encoder_params, train)
        own = own[own["model"].isin(enc.models_)]
        if len(own) <= k:
            skipped += len(own)
            continue
        shown = rng.choice(len(own), size=k, replace=False)
        revealed = own.iloc[shown]
        if revealed["score"].nunique() < 2:
            skipped += len(own)
            continue
        enc.place_task(task, revealed[["model", "score"]],
                       higher_is_better=bool(own["higher_is_better"].iloc[0]))
        test = own.drop(own.index[shown])
        rows.append(_score_frame(enc, test, pd.concat([train, revealed]), spread))
    return _report("leave-one-task-out", rows, skipped, rng, n_boot)


__all__ = [
    "ValidationReport",
    "bootstrap_mae",
    "holdout_cells",
    "leave_one_model_out",
    "leave_one_task_out",
]
