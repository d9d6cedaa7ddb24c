"""Final standings straight from the database (``planetbench challenge results``)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from planetbench.challenge import queue
from planetbench.challenge.definition import ChallengeDefinition, PhaseDefinition, task_labels
from planetbench.challenge.leaderboard import Board, View, board_json, compute_board
from planetbench.challenge.service import ChallengeDB

#: Everything: ranks, real task names, per-task Q, weights.
ORGANISER_VIEW = View(scores=True, per_task=True, real_names=True)


def phase_board(db: ChallengeDB, definition: ChallengeDefinition,
                phase: PhaseDefinition) -> Board:
    """The board of one phase from the current submissions."""
    labels = task_labels(definition, phase, db.task_names(definition.name))
    return compute_board(definition, phase, queue.rows(db.engine, definition.name, phase.name),
                         db.teams(definition.name), labels)


def standings(db: ChallengeDB, challenge: str, phase: str | None = None) -> list[dict[str, Any]]:
    """The organiser's view of the boards of every phase (or one), as JSON values."""
    definition = db.definition(challenge)
    phases = [definition.phase(phase)] if phase else definition.phases
    return [board_json(phase_board(db, definition, p), ORGANISER_VIEW) for p in phases]


def standings_frame(boards: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per (phase, team): rank, weighted score, mean Q, submissions, Q per task."""
    rows = []
    for board in boards:
        for r in board["rows"]:
            row = {"phase": board["phase"], "rank": r.get("rank"), "team": r["team"],
                   "baseline": r["baseline"], "weighted_score": r.get("weighted_score"),
                   "mean_q": r.get("mean_q"), "submissions_used": r["submissions_used"],
                   "mean_q_winner": r["team"] == board.get("mean_q_winner")}
            row.update({f"q_{task}": q for task, q in (r.get("q") or {}).items()})
            rows.append(row)
    frame = pd.DataFrame(rows)
    if "rank" in frame:
        frame["rank"] = frame["rank"].astype("Int64")
    return frame


__all__ = ["ORGANISER_VIEW", "phase_board", "standings", "standings_frame"]
