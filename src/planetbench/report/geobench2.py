"""GEO-Bench-2's leaderboard from its imported runs, and its published aggregate beside ours.

The ``geobench2`` preset reproduces the leaderboard's overall table
(:mod:`planetbench.stats.geobench2`): one row per (submission, backbone) — a planetbench model
— with its score per capability dimension, ``Core`` first, on the leaderboard's 0–100 scale and
rounded as it prints them. :func:`published_vs_ours` sets that published headline score beside
planetbench's own aggregate of the same runs (IQM of the normalised runs of the dimension's
tasks, with a stratified-bootstrap interval) and flags the rows where the published score lies
outside our interval (widened by its rounding), as ``planetbench audit`` flags a published
average that its per-task values do not give.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.report.normaliser_files import NormaliserChoice, resolve_normaliser
from planetbench.report.runs_selection import BoardQuery, frozen_choice, select_runs
from planetbench.stats.aggregate import iqm
from planetbench.stats.bootstrap import DEFAULT_REPS, bootstrap_cis
from planetbench.stats.geobench2 import (
    DIMENSIONS,
    HEADLINE,
    ROUNDS,
    dimension_scores,
    published_value,
)
from planetbench.store import ResultStore

SUITE = "geobench2"

#: Rounding of the published scores, in the leaderboard's points (0–100): ± half a printed digit.
TOLERANCE = 0.05

COMPARISON_COLUMNS: tuple[str, ...] = (
    "model", "dimension", "published", "ours", "ours_low", "ours_high", "difference", "agrees",
)


def geobench2_runs(
    runs: pd.DataFrame, normaliser: NormaliserChoice | None = None
) -> pd.DataFrame:
    """Tidy GEO-Bench-2 runs with the columns :func:`~planetbench.stats.geobench2.dimension_scores`
    needs.

    Args:
        runs: :func:`~planetbench.report.leaderboards.runs_frame` rows of the ``geobench2``
            suite (imported by :mod:`planetbench.store.importers.geobench2`).
        normaliser: anchors to use instead of the leaderboard's own (``details["normalizer"]``).

    Returns:
        The runs with ``submission``, ``backbone``, ``row`` and ``normalised`` added.

    Raises:
        InvalidInputError: rows without the importer's provenance (submission, backbone, row,
            normaliser range), e.g. results not imported from the leaderboard's files.
    """
    details = runs["details"].map(lambda d: d if isinstance(d, dict) else {})
    out = runs.assign(
        submission=details.map(lambda d: d.get("submission")),
        backbone=details.map(lambda d: d.get("backbone")),
        row=runs["file_row"],
    )
    lacking = out["submission"].isna() | out["backbone"].isna() | out["row"].isna()
    if lacking.any():
        example = out[lacking].iloc[0]
        raise InvalidInputError(
            f"{int(lacking.sum())} run(s) of suite {SUITE!r} lack the leaderboard's provenance "
            f"(e.g. model {example['model']!r}, task {example['task']!r}); the geobench2 preset "
            "needs runs imported from the leaderboard folder: planetbench import "
            "GEO-Bench-2-Leaderboard/ (or use the default board: --preset mars)"
        )
    frozen = resolve_normaliser(normaliser, out)
    if frozen is None:
        from planetbench.report.runs_selection import published_normaliser

        frozen = published_normaliser(out, name="GEO-Bench-2's published")
        if frozen is None:
            raise InvalidInputError(
                "some GEO-Bench-2 runs were imported without the leaderboard's normalizer.json "
                "(import the whole leaderboard folder), or pass --normaliser normalizer.json"
            )
    return frozen.transform(out)


def geobench2_leaderboard(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    """GEO-Bench-2's overall table of one protocol (the ``geobench2`` preset).

    Args:
        store: the results store.
        query: the selection (``protocol`` is required when both are stored); ``normaliser``
            replaces the leaderboard's own anchors.

    Returns:
        Columns ``model``, ``display_name``, ``submission`` and one per dimension of
        :data:`~planetbench.stats.geobench2.DIMENSIONS` (``Core`` first; NaN where the model or
        its submission lacks a task of it), sorted by ``Core`` then the next dimensions, best
        first. ``attrs``: ``title``, ``notes``, ``scores`` (the unrounded 0–1 scores).
    """
    runs = select_runs(store, query)
    if runs.empty:
        return pd.DataFrame(columns=["model", *DIMENSIONS])
    protocols = sorted(runs["protocol"].astype(str).unique())
    if len(protocols) > 1:
        raise InvalidInputError(
            f"GEO-Bench-2 publishes one board per protocol; the selection holds {protocols}: "
            f"choose one with --protocol ({' | '.join(protocols)})"
        )
    tidy = geobench2_runs(runs, frozen_choice(query))
    scores = dimension_scores(tidy)
    names = tidy.groupby(["submission", "backbone"])["model"].first()
    display = tidy.groupby(["submission", "backbone"])["details"].first().map(
        lambda d: d.get("display_name", "") if isinstance(d, dict) else ""
    )
    board = pd.DataFrame({
        "model": names.reindex(scores.index).to_numpy(),
        "display_name": display.reindex(scores.index).to_numpy(),
        "submission": [s[:8] for s, _ in scores.index],
    })
    for dim in scores.columns:
        board[dim] = [np.nan if np.isnan(v) else published_value(v) for v in scores[dim]]
    order = [c for c in DIMENSIONS if board[c].notna().any()]
    board = board.sort_values(order, ascending=False, na_position="last", kind="stable")
    board = board.reset_index(drop=True)
    board.attrs.update(
        title=f"GEO-Bench-2 leaderboard (reproduced): protocol {protocols[0]}",
        notes=[
            "GEO-Bench-2's own aggregation: scores normalised with its normalizer.json, IQM of "
            f"the pooled runs of each capability dimension averaged over its {ROUNDS} "
            "stratified bootstrap rounds (seeds 100-199), ×100, rounded as published",
            "empty cells: the model or its submission lacks a task of that dimension",
        ],
        scores=scores,
        reps=ROUNDS,
    )
    return board


def headline_dimension(board: pd.DataFrame) -> str:
    """The first dimension of the leaderboard's column order that has a score (``Core`` on the
    fine-tuning board; the frozen submission lacks some Core tasks)."""
    for dim in DIMENSIONS:
        if dim in board.columns and board[dim].notna().any():
            return dim
    return HEADLINE


def published_vs_ours(
    store: ResultStore,
    query: BoardQuery,
    *,
    tol: float = TOLERANCE,
) -> pd.DataFrame:
    """GEO-Bench-2's published headline score per model beside planetbench's aggregate.

    Ours is the IQM of the same normalised runs of the dimension's tasks (every run once, no
    bootstrap averaging), ×100, with a 95 % stratified-bootstrap interval (``query.reps``
    rounds, ``query.seed``). A row agrees when the published score lies in our interval
    widened by ``tol`` points (its rounding); ``difference`` is published − ours.

    Returns:
        Columns :data:`COMPARISON_COLUMNS`, one row per model with a published score, in the
        published order. ``attrs``: ``dimension``, ``notes``.
    """
    board = geobench2_leaderboard(store, query)
    if board.empty:
        return pd.DataFrame(columns=list(COMPARISON_COLUMNS))
    dim = headline_dimension(board)
    tidy = geobench2_runs(select_runs(store, query), frozen_choice(query))
    tasks = DIMENSIONS[dim]
    part = tidy[tidy["task"].isin(tasks)]
    shown = board[board[dim].notna()]
    mats: dict[str, np.ndarray] = {}
    for model in shown["model"]:
        cells = part[part["model"] == model].sort_values(["task", "seed", "id"])
        counts = cells.groupby("task").size()
        n = int(counts.min())
        # Runs of a cell matched by position; a cell's extra runs (if any) are left out.
        mats[str(model)] = np.column_stack([
            cells[cells["task"] == t]["normalised"].to_numpy(float)[:n] for t in sorted(tasks)
        ])
    reps = query.reps if query.reps else DEFAULT_REPS
    cis = bootstrap_cis(mats, ("iqm",), reps=reps, seed=query.seed)
    rows = []
    for _, r in shown.iterrows():
        iv = cis[(str(r["model"]), "iqm")]
        ours = 100.0 * float(iqm(mats[str(r["model"])]))
        diff = float(r[dim]) - ours
        rows.append({
            "model": r["model"], "dimension": dim, "published": float(r[dim]), "ours": ours,
            "ours_low": 100.0 * iv.low, "ours_high": 100.0 * iv.high, "difference": diff,
            "agrees": bool(100.0 * iv.low - tol <= float(r[dim]) <= 100.0 * iv.high + tol),
        })
    out = pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))
    out.attrs.update(
        dimension=dim,
        notes=[
            f"published: GEO-Bench-2's {dim} score (its aggregation, reproduced from its runs); "
            f"ours: IQM ×100 of the same normalised runs, 95 % interval from {reps:,} "
            f"stratified-bootstrap rounds (seed {query.seed}); agrees: the published score "
            f"lies in our interval (± {tol:g}, its rounding)",
        ],
        reps=reps,
    )
    return out


__all__ = [
    "COMPARISON_COLUMNS",
    "SUITE",
    "TOLERANCE",
    "geobench2_leaderboard",
    "geobench2_runs",
    "headline_dimension",
    "published_vs_ours",
]
