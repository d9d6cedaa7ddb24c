"""Leaderboards with confidence intervals over stored runs, and the suite presets.

A leaderboard row is one model: its per-task score (mean over seeds), the mean over tasks, the
interquartile mean (IQM) with a stratified-bootstrap confidence interval (Agarwal et al. 2021),
the mean rank over tasks with a bootstrap interval, and a flag saying whether the model is
statistically tied with the leader (its IQM interval overlaps the leader's).

Presets:
* ``cryo``: Cryo-Bench's layout (per-task mIoU, average mIoU, average rank), plus intervals;
* ``mars``: Mars-Bench's aggregation (:mod:`planetbench.report.mars`: normalised per-dataset IQM,
  IQM over seeds and datasets with a stratified-bootstrap CI, mean rank with its interval); the
  ``mars`` layout below is the default layout of the other suites' boards;
* ``neuco``: NeuCo-Bench's Q scores with rank-then-aggregate (:mod:`planetbench.report.embedding_leaderboard`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.registry import Registry
from planetbench.stats.aggregate import score_matrices
from planetbench.stats.bootstrap import bootstrap_cis
from planetbench.stats.compare import mean_rank
from planetbench.stats.normalise import Normaliser, metric_higher_is_better
from planetbench.stats.ranking import per_task_ranks
from planetbench.store import ResultStore

Preset = Literal["cryo", "mars", "neuco"]

#: Column layout of each preset after ``model`` and the per-task columns; ``neuco`` keeps the
#: NeuCo board's own columns (see :func:`neuco_layout`).
PRESET_LAYOUTS: Registry[tuple[str, ...]] = Registry("leaderboard preset")
PRESET_LAYOUTS.register(
    "cryo",
    ("mean", "avg_rank", "iqm", "iqm_low", "iqm_high", "mean_rank", "mean_rank_low",
     "mean_rank_high", "tied_with_leader"),
)
PRESET_LAYOUTS.register(
    "mars",
    ("iqm", "iqm_low", "iqm_high", "mean_rank", "mean_rank_low", "mean_rank_high",
     "tied_with_leader", "mean"),
)
PRESET_LAYOUTS.register("neuco", ())
PRESETS: tuple[str, ...] = tuple(PRESET_LAYOUTS.list())


def check_preset(preset: str, *, option: str = "preset") -> None:
    """Refuse an unknown preset with the registry's near misses, naming ``option``."""
    try:
        PRESET_LAYOUTS.get(preset)
    except UnknownNameError as exc:
        sep = "=" if option.isidentifier() else " "
        raise InvalidInputError(f"{option}{sep}{preset!r} is not allowed: {exc}") from exc


def runs_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows (``ResultStore.query``) as a tidy run table for :mod:`planetbench.stats`.

    Columns: model, task, metric, score, seed, protocol, fraction, lr, suite, source, gflops.
    Rows without a score are dropped; a missing seed (published single numbers) becomes 0.
    """
    if rows.empty:
        return pd.DataFrame(
            columns=[
                "model",
                "task",
                "metric",
                "score",
                "seed",
                "protocol",
                "fraction",
                "lr",
                "suite",
                "source",
                "gflops",
            ]
        )
    df = rows.copy()
    df = df[df["score"].notna()]
    df["seed"] = df["seed"].fillna(0).astype(int)
    df["gflops"] = df["efficiency"].map(lambda e: e.get("gflops") if isinstance(e, dict) else None)
    cols = [
        "model",
        "task",
        "metric",
        "score",
        "seed",
        "protocol",
        "fraction",
        "lr",
        "suite",
        "source",
        "gflops",
    ]
    return df[cols].reset_index(drop=True)


def results_leaderboard(
    runs: pd.DataFrame,
    *,
    normaliser: Normaliser | None = None,
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
    missing: Literal["error", "drop-task", "min-runs"] = "min-runs",
) -> pd.DataFrame:
    """One row per model with per-task scores, mean, IQM ± CI, mean rank ± interval and ties.

    Args:
        runs: tidy runs (columns model, task, metric, score, seed) of ONE protocol/fraction.
        normaliser: frozen normaliser for IQM/rank across tasks with different metrics; without
            one, every task must use the same metric (IQM is then over raw scores).
        reps: bootstrap replicates.
        confidence: interval coverage.
        seed: bootstrap seed.
        missing: policy for models lacking some seeds (see ``stats.aggregate.score_matrices``).

    Returns:
        DataFrame sorted by mean rank with columns model, one per task, mean, iqm, iqm_low,
        iqm_high, mean_rank, mean_rank_low, mean_rank_high, avg_rank (Cryo-Bench style: mean of
        per-task competition ranks of the task means), n_runs, tied_with_leader.
    """
    if runs.empty:
        raise InvalidInputError(
            "no runs to rank: the store has no rows for this selection. Run an evaluation or "
            "`planetbench import FILE` first, or change --suite/--protocol/--fraction."
        )
    dup_cols = ["protocol", "fraction"]
    for col in dup_cols:
        if col in runs and runs[col].nunique(dropna=False) > 1:
            raise InvalidInputError(
                f"the selected runs mix several {col} values ({sorted(map(str, runs[col].unique()))}); "
                f"pick one with --{col}"
            )
    metrics = sorted(runs["metric"].unique())
    runs = runs.drop_duplicates(["model", "task", "seed"], keep="last")
    if normaliser is not None:
        runs = normaliser.transform(runs)
        value, higher = "normalised", True
    else:
        if len(metrics) > 1:
            raise InvalidInputError(
                f"the selected tasks use different metrics ({', '.join(metrics)}); aggregating "
                "them needs a frozen normaliser (pass normaliser=Normaliser.fit(..., "
                "reference_models=[...]) or --normaliser FILE)"
            )
        value, higher = "score", metric_higher_is_better(metrics[0])
    per_task = runs.pivot_table(index="model", columns="task", values="score", aggfunc="mean")
    tasks = list(per_task.columns)
    complete = per_task.dropna()
    if complete.empty:
        raise InvalidInputError("no model has results on every selected task")
    dropped = sorted(set(per_task.index) - set(complete.index))
    runs = runs[runs["model"].isin(complete.index)]
    mats = score_matrices(runs, value=value, missing=missing)
    if not higher:
        mats = {m: -s for m, s in mats.items()}
    # With one run per (model, task) resampling runs cannot vary anything: resample tasks then.
    by_tasks = max(m.shape[0] for m in mats.values()) == 1
    cis = bootstrap_cis(mats, ("iqm",), reps=reps, confidence=confidence, seed=seed,
                        task_bootstrap=by_tasks)
    ranks = mean_rank(mats, higher_is_better=True, reps=reps, confidence=confidence, seed=seed,
                      task_bootstrap=by_tasks)
    sign = 1.0 if higher else -1.0
    table = complete.copy()
    table["mean"] = complete.mean(axis=1)
    iq = {m: cis[(m, "iqm")] for m in mats}
    table["iqm"] = [sign * iq[m].point for m in table.index]
    lows = [sign * (iq[m].low if higher else iq[m].high) for m in table.index]
    highs = [sign * (iq[m].high if higher else iq[m].low) for m in table.index]
    table["iqm_low"], table["iqm_high"] = lows, highs
    table["mean_rank"] = ranks.loc[table.index, "mean_rank"]
    table["mean_rank_low"] = ranks.loc[table.index, "low"]
    table["mean_rank_high"] = ranks.loc[table.index, "high"]
    table["avg_rank"] = per_task_ranks(complete, higher_is_better=higher).mean(axis=1)
    table["n_runs"] = [mats[m].shape[0] for m in table.index]
    leader = min(
        table.index, key=lambda m: (table.loc[m, "mean_rank"], -sign * table.loc[m, "iqm"])
    )
    lo, hi = iq[leader].low, iq[leader].high
    table["tied_with_leader"] = [
        m != leader and iq[m].low <= hi and lo <= iq[m].high for m in table.index
    ]
    table = table.reset_index().rename(columns={"index": "model"})
    table.columns.name = None
    table = table.sort_values(["mean_rank", "iqm"], ascending=[True, not higher], kind="stable")
    table.attrs["dropped_models"] = dropped
    table.attrs["tasks"] = tasks
    table.attrs["value"] = value
    table.attrs["resampled"] = "tasks (one run per model and task)" if by_tasks else (
        "runs within each task (stratified)"
    )
    return table.reset_index(drop=True)


def suite_leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str | None = None,
    preset: Preset | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    source: str | None = None,
    reps: int = 10_000,
    seed: int = 0,
    normaliser: Normaliser | str | Path | None = None,
    unweighted: bool = False,
    select: Literal["best", "last"] = "best",
    metric: str | None = None,
    shots: int | None = None,
) -> pd.DataFrame:
    """The leaderboard of stored runs for a suite/protocol/fraction, laid out by ``preset``.

    ``preset="neuco"`` delegates to :func:`planetbench.report.embedding_leaderboard.leaderboard`
    (Q scores; ``unweighted`` and ``select`` apply to it). ``preset="mars"`` (and the suite
    ``mars`` without a preset) delegates to :func:`planetbench.report.mars.mars_leaderboard`
    (``metric``, ``shots`` and ``normaliser`` ``"compared"`` apply to it). Otherwise, when the
    selection still mixes protocols or fractions, the most common one is NOT picked silently: an
    error asks for ``protocol``/``fraction``; ``normaliser`` is a frozen one or its file.
    """
    if preset is not None:
        check_preset(preset)
    from planetbench.report import mars

    if mars.is_mars_board(suite, preset):
        return mars.mars_leaderboard(
            store, suite=suite or mars.MARS_SUITE, metric=metric, protocol=protocol,
            fraction=fraction, shots=shots, source=source,
            normaliser=mars.COMPARED if normaliser is None else normaliser, reps=reps, seed=seed,
        )
    normaliser = mars.frozen_for_other_presets(metric=metric, shots=shots, normaliser=normaliser)
    title = f"Leaderboard: suite {suite or 'all'}, preset {preset or 'default'}"
    if preset == "neuco" or (preset is None and suite == "neuco"):
        from planetbench.report.embedding_leaderboard import leaderboard

        board = neuco_layout(
            leaderboard(store, suite=suite or "neuco", unweighted=unweighted, select=select),
            reps=reps,
            seed=seed,
        )
        board.attrs["title"] = title
        return board
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    rows = rs.query(suite=suite, protocol=protocol, source=source)
    runs = runs_frame(rows)
    if fraction is not None:
        runs = runs[np.isclose(runs["fraction"].astype(float).fillna(1.0), fraction)]
    table = results_leaderboard(runs, normaliser=normaliser, reps=reps, seed=seed)
    if preset is None:
        preset = "cryo" if suite == "cryo" else "mars"
    tasks = table.attrs["tasks"]
    out = table[["model", *tasks, *PRESET_LAYOUTS.get(preset)]]
    out.attrs.update(table.attrs)
    out.attrs["title"] = title
    return out


def stored_leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str | None = None,
    preset: Preset | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    source: str | None = None,
    unweighted: bool = False,
    select: Literal["best", "last"] = "best",
    reps: int = 10_000,
    seed: int = 0,
    metric: str | None = None,
    shots: int | None = None,
    normaliser: str | Path | None = None,
) -> pd.DataFrame:
    """The board ``planetbench leaderboard`` shows: NeuCo's, or a suite's with intervals.

    Without ``suite`` and ``preset``: the NeuCo-Bench board of the ``neuco`` suite's probe
    results (:func:`planetbench.report.embedding_leaderboard.leaderboard`, with ``unweighted``
    and ``select``). Otherwise :func:`suite_leaderboard`.

    Returns:
        The board; when it is empty, ``attrs["empty_message"]`` says why and what to do.

    Raises:
        InvalidInputError: ``protocol``, ``fraction`` or ``source`` without a suite or preset
            (the NeuCo board has no such selection), or what the chosen board refuses.
    """
    if suite is None and preset is None:
        given = [n for n, v in (("protocol", protocol), ("fraction", fraction),
                                ("source", source), ("metric", metric), ("shots", shots),
                                ("normaliser", normaliser)) if v is not None]
        if given:
            raise InvalidInputError(
                f"{'/'.join(given)} select(s) the runs of a suite's board; name the suite with "
                "--suite SUITE (or a layout with --preset) — without them the NeuCo board of the "
                "neuco suite's probe results is shown, which has no such selection"
            )
        from planetbench.report.embedding_leaderboard import empty_message, leaderboard

        board = leaderboard(store, unweighted=unweighted, select=select)
        if board.empty:
            board.attrs["empty_message"] = empty_message(store, "neuco")
        return board
    board = suite_leaderboard(
        store, suite=suite, preset=preset, protocol=protocol, fraction=fraction, source=source,
        reps=reps, seed=seed, unweighted=unweighted, select=select, metric=metric, shots=shots,
        normaliser=normaliser,
    )
    if board.empty:
        board.attrs["empty_message"] = f"no results for suite {suite!r} in the store"
    return board


def neuco_layout(board: pd.DataFrame, *, reps: int = 10_000, seed: int = 0) -> pd.DataFrame:
    """The NeuCo leaderboard in the common layout: ``model``, Q per task, ``mean``, ``mean_rank``.

    ``mean`` is the mean Q over tasks and ``mean_rank`` the mean over tasks of each model's
    competition rank of Q among the models that have the task; ``weighted_score`` and ``rank``
    (NeuCo-Bench's rank-then-aggregate) are kept. ``mean_rank_low``/``mean_rank_high`` bound
    the mean rank under resampling of the tasks (bootstrap, ``reps`` replicates, ``seed``) for
    models that have every task.
    """
    if board.empty:
        return board.rename(columns={"mean_q": "mean"})
    from planetbench.report.embedding_leaderboard import task_columns

    tasks = task_columns(board)
    ranks = per_task_ranks(board[tasks].astype(float))
    out = board.rename(columns={"mean_q": "mean"})
    at = out.columns.get_loc("mean") + 1
    out.insert(at, "mean_rank", ranks.mean(axis=1))
    # Interval of the mean rank over the choice of tasks (one Q per cell, so tasks are
    # resampled), for the models that have every task.
    out.insert(at + 1, "mean_rank_low", np.nan)
    out.insert(at + 2, "mean_rank_high", np.nan)
    complete = board[tasks].notna().all(axis=1)
    if complete.sum() >= 2 and len(tasks) >= 2:
        q = {str(board.loc[i, "model"]): board.loc[i, tasks].to_numpy(float)[None, :]
             for i in board.index[complete]}
        interval = mean_rank(q, reps=reps, seed=seed, task_bootstrap=True)
        idx = board.index[complete]
        names = board.loc[idx, "model"].astype(str)
        out.loc[idx, "mean_rank_low"] = interval.loc[names, "low"].to_numpy()
        out.loc[idx, "mean_rank_high"] = interval.loc[names, "high"].to_numpy()
    return out


__all__ = [
    "PRESETS",
    "PRESET_LAYOUTS",
    "Preset",
    "check_preset",
    "neuco_layout",
    "results_leaderboard",
    "runs_frame",
    "stored_leaderboard",
    "suite_leaderboard",
]
