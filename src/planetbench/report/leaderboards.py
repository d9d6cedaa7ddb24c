"""Leaderboards with confidence intervals over stored runs, and the leaderboard presets.

A leaderboard row is one model: its per-task score (mean over runs), the mean over tasks, the
interquartile mean (IQM) with a stratified-bootstrap confidence interval (Agarwal et al. 2021),
the mean rank over tasks with a bootstrap interval, and ``tied_with_leader``: whether the
model's mean-rank interval overlaps the leader's (the board is ordered by mean rank, so the
statistic that decides the ranking also decides the ties). Every board records the number of
bootstrap rounds it used (``reps`` column, ``attrs["reps"]``).

Tasks measured with different metrics are put on one 0–1 scale by a frozen normaliser
(:class:`~planetbench.stats.normalise.Normaliser`): one given by the caller (``--normaliser
FILE``), or the anchors the source published with its rows (GEO-Bench-2's ``normalizer.json``).

Presets (:data:`PRESETS`, a registry; ``--preset``):

* ``intervals`` (the default): IQM with CI first, then the mean rank with its interval;
* ``cryo``: Cryo-Bench's layout (per-task mIoU, average mIoU, average rank), plus intervals;
* ``mars``: Mars-Bench's aggregation (:mod:`planetbench.report.mars`: normalised per-dataset
  IQM, IQM over seeds and datasets with a stratified-bootstrap CI, mean rank with its interval);
* ``neuco``: NeuCo-Bench's Q scores with rank-then-aggregate
  (:mod:`planetbench.report.embedding_leaderboard`);
* ``geobench2``: GEO-Bench-2's own leaderboard, its normalisation and aggregation reproduced
  (:mod:`planetbench.report.geobench2`);
* ``geobench-v1``: GEO-Bench (v1)'s aggregation (its ``plot_tools``, which Mars-Bench borrowed)
  per training fraction, computed by :mod:`planetbench.report.mars`.

Without a preset, a suite gets the preset of :data:`SUITE_PRESETS` (``cryo`` for ``cryo``,
``neuco`` for ``neuco``, ``mars`` for ``mars``) or ``intervals``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.registry import Registry
from planetbench.report.normaliser_files import (
    NormaliserChoice,
    PublishedRanges,
    resolve_normaliser,
)
from planetbench.report.runs_selection import (
    SYNTHETIC_SUITES,
    BoardQuery,
    empty_suite_message,
    frozen_choice,
    published_normaliser,
    runs_frame,
    select_runs,
)
from planetbench.stats.aggregate import score_matrices
from planetbench.stats.bootstrap import DEFAULT_REPS, bootstrap_cis
from planetbench.stats.compare import mean_rank
from planetbench.stats.normalise import Normaliser, metric_higher_is_better
from planetbench.stats.ranking import per_task_ranks
from planetbench.store import ResultStore

#: A preset name (see :data:`PRESETS`).
Preset = str

#: Columns of the interval board after ``model`` and the per-task columns, per layout.
CRYO_LAYOUT: tuple[str, ...] = (
    "mean", "avg_rank", "iqm", "iqm_low", "iqm_high", "mean_rank", "mean_rank_low",
    "mean_rank_high", "tied_with_leader", "n_runs", "reps",
)
INTERVAL_LAYOUT: tuple[str, ...] = (
    "iqm", "iqm_low", "iqm_high", "mean_rank", "mean_rank_low", "mean_rank_high",
    "tied_with_leader", "mean", "n_runs", "reps",
)


@dataclass(frozen=True)
class LeaderboardPreset:
    """A way of laying out (and computing) a leaderboard.

    Attributes:
        name: the ``--preset`` value.
        summary: one line for help texts.
        build: makes the board from a store and a :class:`BoardQuery`.
    """

    name: str
    summary: str
    build: Callable[[ResultStore, BoardQuery], pd.DataFrame]


#: Every leaderboard preset, by name (did-you-mean on unknown names).
PRESETS: Registry[LeaderboardPreset] = Registry("leaderboard preset")

#: The preset a suite's board uses when none is named; other suites get :data:`DEFAULT_PRESET`.
SUITE_PRESETS: dict[str, str] = {"cryo": "cryo", "neuco": "neuco", "mars": "mars"}
DEFAULT_PRESET = "intervals"


def check_preset(preset: str, *, option: str = "preset") -> LeaderboardPreset:
    """The preset ``preset``; refuse an unknown one with the near misses, naming ``option``."""
    try:
        return PRESETS.get(preset)
    except UnknownNameError as exc:
        sep = "=" if option.isidentifier() else " "
        raise InvalidInputError(f"{option}{sep}{preset!r} is not allowed: {exc}") from exc


def preset_names() -> tuple[str, ...]:
    """Names of the registered presets, sorted."""
    return tuple(PRESETS.list())


def choose_learning_rates(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One learning rate per (model, task): the one with the best mean validation score.

    A leaderboard cell is one experimental condition; runs of a cell at several rates are a
    sweep, and averaging them would mix good and bad rates. As Cryo-Bench's sweep does, the
    rate with the best mean validation score (column ``val_score``, see :func:`runs_frame`) is
    kept, the smaller rate on ties; cells with one rate are kept as they are.

    Returns:
        The kept runs and a sentence on what was chosen (empty when nothing was).

    Raises:
        InvalidInputError: a cell has several rates but not every run has a validation score.
    """
    if "lr" not in runs.columns or runs["lr"].isna().all():
        return runs, []
    n_rates = runs.groupby(["model", "task"])["lr"].nunique()
    swept = n_rates[n_rates > 1]
    if swept.empty:
        return runs, []
    keep = pd.Series(True, index=runs.index)
    for model, task in swept.index:
        cell = runs[(runs["model"] == model) & (runs["task"] == task)]
        val = cell["val_score"] if "val_score" in cell.columns else pd.Series(np.nan, cell.index)
        if val.isna().any():
            raise InvalidInputError(
                f"model {model!r} on task {task!r} has runs at learning rates "
                f"{sorted(cell['lr'].dropna().unique())} and not all of them record a validation "
                "score to choose between them; choose one rate with --lr"
            )
        higher = metric_higher_is_better(str(cell["metric"].iloc[0]))
        means = val.groupby(cell["lr"]).mean()
        best = means.idxmax() if higher else means.idxmin()  # sorted: the smaller rate on ties
        keep[cell.index] = np.isclose(cell["lr"].astype(float), float(best))
    note = (f"{len(swept)} (model, task) cell(s) hold runs at several learning rates: each keeps "
            "the rate with the best mean validation score (a sweep is not averaged)")
    return runs[keep], [note]


def _mixed_metrics_error(metrics: list[str]) -> InvalidInputError:
    return InvalidInputError(
        f"the selected tasks use different metrics ({', '.join(metrics)}); aggregating them needs "
        "one scale: pass a frozen normaliser with --normaliser FILE (normaliser= in Python; "
        "write one with `planetbench normaliser --reference-model MODEL --out FILE`, or give a "
        "published normalizer.json), or rank one metric with --metric "
        f"{metrics[0]}"
    )


def aligned_runs(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with ``run``: each run's position (0, 1, …) within its (model, task) cell.

    The stratified bootstrap resamples the runs of each task on their own, so which run of one
    task sits beside which run of another carries no meaning; numbering the runs of a cell (by
    seed, then store order) instead of matching seeds keeps every run when seeds differ between
    tasks (GEO-Bench-2 draws seeds per dataset) or repeat within a cell.
    """
    order = ["model", "task", "seed", *(["id"] if "id" in runs.columns else [])]
    out = runs.sort_values(order, kind="stable").copy()
    out["run"] = out.groupby(["model", "task"], sort=False).cumcount()
    return out


def results_leaderboard(
    runs: pd.DataFrame,
    *,
    normaliser: Normaliser | None = None,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    seed: int = 0,
    missing: Literal["error", "drop-task", "min-runs"] = "min-runs",
) -> pd.DataFrame:
    """One row per model with per-task scores, mean, IQM ± CI, mean rank ± interval and ties.

    Args:
        runs: tidy runs (columns model, task, metric, score, seed) of ONE protocol/fraction.
        normaliser: frozen normaliser for IQM/rank across tasks with different metrics; without
            one, every task must use the same metric (IQM is then over raw scores).
        reps: bootstrap rounds (recorded in the ``reps`` column and ``attrs["reps"]``).
        confidence: interval coverage.
        seed: bootstrap seed.
        missing: policy for models with fewer runs on some tasks (see
            ``stats.aggregate.score_matrices``; runs are matched by position, see
            :func:`aligned_runs`).

    Returns:
        DataFrame sorted by mean rank with columns model, one per task, mean, iqm, iqm_low,
        iqm_high, mean_rank, mean_rank_low, mean_rank_high, avg_rank (Cryo-Bench style: mean of
        per-task competition ranks of the task means), n_runs, tied_with_leader (the model's
        mean-rank interval overlaps the leader's; never the leader itself) and reps.
        ``attrs``: tasks, value, resampled, reps, dropped_models, protocol (the one protocol
        of the runs, also the first note) and notes (what was left out and why, as sentences).
    """
    if runs.empty:
        raise InvalidInputError(
            "no runs to rank: the store has no rows for this selection. Run an evaluation or "
            "`planetbench import FILE` first, or change --suite/--protocol/--fraction."
        )
    refuse_mixed_conditions(runs)
    metrics = sorted(runs["metric"].unique())
    protocols = sorted(map(str, runs["protocol"].dropna().unique())) if "protocol" in runs else []
    runs, notes = choose_learning_rates(runs)
    if protocols:  # every board says which protocol produced its runs
        notes.insert(0, f"protocol: {protocols[0]} (every run of this board)")
    if normaliser is not None:
        runs = normaliser.transform(runs)
        value, higher = "normalised", True
        notes.append(f"scores normalised with the frozen normaliser {normaliser.version!r} "
                     f"(digest {normaliser.digest}); 0 = low anchor, 1 = high anchor")
    else:
        if len(metrics) > 1:
            raise _mixed_metrics_error(metrics)
        value, higher = "score", metric_higher_is_better(metrics[0])
    per_task = runs.pivot_table(index="model", columns="task", values="score", aggfunc="mean")
    tasks = list(per_task.columns)
    complete = per_task.dropna()
    if complete.empty:
        raise InvalidInputError(
            "no model has results on every selected task; select fewer tasks (--suite, "
            "--protocol, --metric) or run the missing ones"
        )
    dropped = sorted(set(per_task.index) - set(complete.index))
    if dropped:
        notes.append(f"not ranked (missing tasks): {', '.join(map(str, dropped))}")
    runs = aligned_runs(runs[runs["model"].isin(complete.index)])
    if missing == "min-runs":
        runs, kept = _fewest_runs(runs)
        if kept:
            notes.append(
                "runs per task differ, so each model keeps as many runs of every task as it has "
                "on its sparsest task (the first by seed): " + "; ".join(kept)
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        mats = score_matrices(runs.assign(seed=runs["run"]), value=value, missing=missing)
    notes += [str(w.message).replace("score_matrices: ", "") for w in caught]
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
    table["iqm_low"] = [sign * (iq[m].low if higher else iq[m].high) for m in table.index]
    table["iqm_high"] = [sign * (iq[m].high if higher else iq[m].low) for m in table.index]
    table["mean_rank"] = ranks.loc[table.index, "mean_rank"]
    table["mean_rank_low"] = ranks.loc[table.index, "low"]
    table["mean_rank_high"] = ranks.loc[table.index, "high"]
    table["avg_rank"] = per_task_ranks(complete, higher_is_better=higher).mean(axis=1)
    table["n_runs"] = [mats[m].shape[0] for m in table.index]
    table["tied_with_leader"] = tied_with_leader(table, higher_is_better=higher)
    table["reps"] = int(reps)
    table = table.reset_index().rename(columns={"index": "model"})
    table.columns.name = None
    table = table.sort_values(["mean_rank", "iqm"], ascending=[True, not higher], kind="stable")
    resampled = ("tasks (one run per model and task)" if by_tasks
                 else "runs within each task (stratified)")
    notes.append(
        f"{confidence:.0%} intervals: percentile bootstrap, {reps:,} rounds (seed {seed}), "
        f"resampling {resampled}"
    )
    table.attrs.update(dropped_models=dropped, tasks=tasks, value=value, resampled=resampled,
                       reps=int(reps), notes=notes, protocol=protocols[0] if protocols else None)
    return table.reset_index(drop=True)


def refuse_mixed_conditions(runs: pd.DataFrame) -> None:
    """Refuse runs of several protocols or fractions: one board never mixes them.

    Raises:
        InvalidInputError: naming ``--protocol``/``--fraction`` and the values present.
    """
    for col in ("protocol", "fraction"):
        if col in runs and runs[col].nunique(dropna=False) > 1:
            values = sorted(map(str, runs[col].unique()))
            raise InvalidInputError(
                f"the selected runs mix several {col} values; choose one with --{col} "
                f"({' | '.join(values)})"
            )


def _fewest_runs(runs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Each model's runs cut to the number it has on its sparsest task, and what was cut."""
    counts = runs.groupby(["model", "task"]).size()
    fewest = counts.groupby(level="model").min()
    keep = runs["run"].to_numpy() < runs["model"].map(fewest).to_numpy()
    cut = runs[~keep].groupby("model").size()
    told = [f"{m}: {int(fewest[m])} per task ({int(n)} left out)" for m, n in cut.items()]
    return runs[keep], told


def tied_with_leader(table: pd.DataFrame, *, higher_is_better: bool = True) -> list[bool]:
    """Whether each model is statistically tied with the leader on the ranking statistic.

    The leader is the model with the lowest mean rank (ties: the better IQM). A model is tied
    with it when their mean-rank intervals overlap (``low <= leader_high`` and
    ``leader_low <= high``); the leader itself is never "tied with the leader".

    Args:
        table: indexed by model, with ``mean_rank``, ``mean_rank_low``, ``mean_rank_high`` and
            ``iqm``.
        higher_is_better: direction of ``iqm`` (for the tie-break of the leader).

    Returns:
        One flag per row of ``table``.
    """
    sign = 1.0 if higher_is_better else -1.0
    leader = min(table.index, key=lambda m: (table.loc[m, "mean_rank"], -sign * table.loc[m, "iqm"]))
    lo, hi = table.loc[leader, "mean_rank_low"], table.loc[leader, "mean_rank_high"]
    return [
        bool(m != leader and table.loc[m, "mean_rank_low"] <= hi
             and lo <= table.loc[m, "mean_rank_high"])
        for m in table.index
    ]


def interval_board(
    store: ResultStore, query: BoardQuery, *, layout: tuple[str, ...] = INTERVAL_LAYOUT
) -> pd.DataFrame:
    """The interval board of the selected runs, in ``layout`` (after model and the tasks)."""
    chosen = frozen_choice(query)
    runs = select_runs(store, query)
    if runs.empty:
        raise InvalidInputError(f"no runs to rank: {empty_suite_message(store, query.suite)}")
    refuse_mixed_conditions(runs)  # before the metrics: two protocols often score differently
    normaliser = resolve_normaliser(chosen, runs)
    if normaliser is None and runs["metric"].nunique() > 1:
        normaliser = published_normaliser(runs, name=f"{query.suite or 'source'}'s published")
    if normaliser is None and runs["metric"].nunique() > 1:
        raise _mixed_metrics_error(sorted(runs["metric"].unique()))
    try:
        table = results_leaderboard(runs, normaliser=normaliser, reps=query.reps, seed=query.seed)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{exc}{_selection_hint(runs, query, str(exc))}") from exc
    tasks = table.attrs["tasks"]
    out = table[["model", *tasks, *layout]]
    out.attrs.update(table.attrs)
    if bool(runs["synthetic"].any()):
        out.attrs["notes"] = ["SYNTHETIC data: generated by planetbench, not a measurement "
                              "of real-world quality", *out.attrs["notes"]]
    return out


def _selection_hint(runs: pd.DataFrame, query: BoardQuery, told: str = "") -> str:
    """Which flags narrow a selection that mixes conditions (those ``told`` does not name)."""
    hints = []
    for col in ("protocol", "fraction"):
        values = sorted(map(str, runs[col].dropna().unique()))
        if len(values) > 1 and getattr(query, col) is None and f"--{col}" not in told:
            hints.append(f"--{col} ({' | '.join(values)})")
    return f"; choose with {' and '.join(hints)}" if hints else ""


def _cryo_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    return interval_board(store, query, layout=CRYO_LAYOUT)


def _intervals_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    return interval_board(store, query, layout=INTERVAL_LAYOUT)


def _mars_bench_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    from planetbench.report import mars

    if query.lr is not None:
        raise InvalidInputError("--lr selects runs of the interval boards; the mars preset "
                                "compares Mars-Bench's runs as published")
    normaliser = query.normaliser
    if isinstance(normaliser, PublishedRanges):
        raise InvalidInputError("the mars preset takes 'compared' or a planetbench normaliser "
                                "file, not [low, high] ranges")
    return mars.mars_leaderboard(
        store, suite=query.suite or mars.MARS_SUITE, metric=query.metric,
        protocol=query.protocol, fraction=query.fraction, shots=query.shots,
        source=query.source, normaliser=mars.COMPARED if normaliser is None else normaliser,
        reps=query.reps, seed=query.seed,
    )


def _geobench_v1_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    """GEO-Bench (v1)'s own aggregation, per training fraction (default the full data).

    GEO-Bench's ``plot_tools`` (normaliser from the per-dataset min/max of the compared runs,
    IQM of the runs pooled over datasets, stratified bootstrap within each model × dataset) is
    the code Mars-Bench borrowed, so :mod:`planetbench.report.mars` computes it. GEO-Bench pools
    every row of a cell, and its table repeats seeds within a cell (distinct runs), so runs are
    numbered within their cell instead of matched by seed.
    """
    from planetbench.report import mars

    if query.lr is not None or query.shots is not None:
        raise InvalidInputError("the geobench-v1 preset compares GEO-Bench's runs as published: "
                                "--lr and --shots do not apply")
    suite = query.suite or "geobench-v1"
    runs = mars.mars_runs(store.query(suite=suite, source=query.source))
    if runs.empty:
        raise InvalidInputError(f"no runs to rank: {empty_suite_message(store, suite)}")
    cell = ["model", "task", "protocol", "fraction"]
    runs["seed"] = runs.groupby(cell, dropna=False, sort=False).cumcount()
    selected = mars.select_runs(runs, metric=query.metric, protocol=query.protocol,
                                fraction=query.fraction)
    normaliser = mars.COMPARED if query.normaliser is None else query.normaliser
    boards = [
        mars.mars_board(part, normaliser=normaliser, reps=query.reps,  # type: ignore[arg-type]
                        seed=query.seed)
        for _, part in selected.groupby("metric", sort=True)
    ]
    table = mars.board_frame(boards)
    fraction = 1.0 if query.fraction is None else query.fraction
    table.attrs.update(
        title=(f"GEO-Bench (v1) aggregation: suite {suite}, training fraction {fraction:g}; "
               "normalised per dataset (min/max of the compared runs); IQM over seeds and "
               f"datasets with a 95% CI from {query.reps:,} stratified-bootstrap rounds "
               "(GEO-Bench drew 100 unseeded rounds and showed violins)"),
        notes=[n for b in boards for n in b.notes(dropped=False)],
        dropped_models=[m for b in boards for m in b.dropped],
        reps=query.reps,
    )
    return table


def _neuco_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    from planetbench.report.embedding_leaderboard import leaderboard

    frozen_choice(query)  # --shots / --normaliser compared belong to the mars preset
    return neuco_layout(
        leaderboard(store, suite=query.suite or "neuco", unweighted=query.unweighted,
                    select=query.select),
        reps=query.reps,
        seed=query.seed,
    )


def _geobench2_board(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    from planetbench.report.geobench2 import geobench2_leaderboard

    return geobench2_leaderboard(store, replace(query, suite=query.suite or "geobench2"))


PRESETS.register("cryo", LeaderboardPreset(
    "cryo", "Cryo-Bench's layout: per-task mIoU, average, average rank, plus intervals",
    _cryo_board))
PRESETS.register("intervals", LeaderboardPreset(
    "intervals", "planetbench's default: IQM with its CI, mean rank with its interval, ties",
    _intervals_board))
PRESETS.register("mars", LeaderboardPreset(
    "mars", "Mars-Bench's aggregation: normalised per-dataset IQM, IQM over seeds and datasets "
    "with a stratified-bootstrap CI, mean rank with its interval", _mars_bench_board))
PRESETS.register("neuco", LeaderboardPreset(
    "neuco", "NeuCo-Bench's Q per task with rank-then-aggregate", _neuco_board))
PRESETS.register("geobench-v1", LeaderboardPreset(
    "geobench-v1", "GEO-Bench (v1)'s aggregation per training fraction: normalised IQM over "
    "seeds and datasets, stratified bootstrap", _geobench_v1_board))
PRESETS.register("geobench2", LeaderboardPreset(
    "geobench2", "GEO-Bench-2's own leaderboard: its normaliser and bootstrapped IQM per "
    "capability dimension", _geobench2_board))


def suite_leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str | None = None,
    preset: Preset | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    source: str | None = None,
    metric: str | None = None,
    lr: float | None = None,
    shots: int | None = None,
    reps: int = DEFAULT_REPS,
    seed: int = 0,
    normaliser: NormaliserChoice | str | Path | None = None,
    unweighted: bool = False,
    select: Literal["best", "last"] = "best",
) -> pd.DataFrame:
    """The leaderboard of stored runs for a suite/protocol/fraction, laid out by ``preset``.

    Without ``preset``, the suite's preset (:data:`SUITE_PRESETS`) or the interval board.
    ``preset="neuco"`` ranks probe results by Q (``unweighted`` and ``select`` apply to it).
    When the selection mixes protocols or fractions, none is picked silently: the error names
    ``--protocol``/``--fraction`` and their values. Tasks of different metrics need a
    normaliser: ``normaliser``, else the one the source published with the rows.

    Returns:
        The board; ``attrs``: ``title``, ``notes`` (sentences: normaliser, intervals, what was
        left out) and ``reps``.
    """
    chosen = check_preset(preset) if preset is not None else PRESETS.get(
        SUITE_PRESETS.get(suite or "", DEFAULT_PRESET)
    )
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    query = BoardQuery(suite=suite, protocol=protocol, fraction=fraction, source=source,
                       metric=metric, lr=lr, shots=shots, normaliser=normaliser, reps=reps,
                       seed=seed,
                       unweighted=unweighted, select=select)
    board = chosen.build(rs, query)
    board.attrs.setdefault("reps", int(reps))
    board.attrs.setdefault("notes", [])
    board.attrs.setdefault(
        "title", f"Leaderboard: suite {suite or 'all'}, preset {chosen.name}"
        + "".join(f", {k} {v}" for k, v in (
            ("protocol", protocol or board.attrs.get("protocol")), ("fraction", fraction),
            ("metric", metric)) if v is not None)
    )
    return board


def stored_leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str | None = None,
    preset: Preset | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    source: str | None = None,
    metric: str | None = None,
    lr: float | None = None,
    shots: int | None = None,
    normaliser: NormaliserChoice | str | Path | None = None,
    unweighted: bool = False,
    select: Literal["best", "last"] = "best",
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> pd.DataFrame:
    """The board ``planetbench leaderboard`` shows: NeuCo's, or a suite's with intervals.

    Without ``suite`` and ``preset``: the NeuCo-Bench board of the ``neuco`` suite's probe
    results (:func:`planetbench.report.embedding_leaderboard.leaderboard`, with ``unweighted``
    and ``select``). Otherwise :func:`suite_leaderboard`.

    Returns:
        The board; when it is empty, ``attrs["empty_message"]`` says why and what to do.

    Raises:
        InvalidInputError: ``protocol``, ``fraction``, ``source``, ``metric`` or ``normaliser``
            without a suite or preset (the NeuCo board has no such selection), or what the
            chosen board refuses.
    """
    if suite is None and preset is None:
        given = [n for n, v in (("protocol", protocol), ("fraction", fraction),
                                ("source", source), ("metric", metric), ("lr", lr),
                                ("shots", shots), ("normaliser", normaliser)) if v is not None]
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
        metric=metric, lr=lr, shots=shots, normaliser=normaliser, reps=reps, seed=seed,
        unweighted=unweighted, select=select,
    )
    if board.empty:
        board.attrs["empty_message"] = empty_suite_message(store, suite)
    return board


def neuco_layout(board: pd.DataFrame, *, reps: int = DEFAULT_REPS, seed: int = 0) -> pd.DataFrame:
    """The NeuCo leaderboard in the common layout: ``model``, Q per task, ``mean``, ``mean_rank``.

    ``mean`` is the mean Q over tasks and ``mean_rank`` the mean over tasks of each model's
    competition rank of Q among the models that have the task; ``weighted_score`` and ``rank``
    (NeuCo-Bench's rank-then-aggregate) are kept. ``mean_rank_low``/``mean_rank_high`` bound
    the mean rank under resampling of the tasks (bootstrap, ``reps`` rounds, ``seed``) for
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
    out["reps"] = int(reps)
    out.attrs.update(board.attrs)
    out.attrs["reps"] = int(reps)
    out.attrs["notes"] = [
        f"mean_rank interval: bootstrap over the tasks, {reps:,} rounds (seed {seed}), for "
        "models with every task"
    ]
    return out


__all__ = [
    "CRYO_LAYOUT",
    "DEFAULT_PRESET",
    "INTERVAL_LAYOUT",
    "PRESETS",
    "SUITE_PRESETS",
    "SYNTHETIC_SUITES",
    "BoardQuery",
    "LeaderboardPreset",
    "Preset",
    "aligned_runs",
    "check_preset",
    "choose_learning_rates",
    "frozen_choice",
    "interval_board",
    "neuco_layout",
    "preset_names",
    "published_normaliser",
    "refuse_mixed_conditions",
    "results_leaderboard",
    "runs_frame",
    "select_runs",
    "stored_leaderboard",
    "suite_leaderboard",
    "tied_with_leader",
]
