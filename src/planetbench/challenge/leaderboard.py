"""The dynamic leaderboard of a phase, its mean-Q winner, each team's rank over time, and what
each viewer may see of them.

Ranking (NeuCo-Bench, Vinge et al. 2025): every team's counted submission (its latest scored one,
or its best by mean Q) gives one Q per hidden task; teams are ranked per task, the ranks are
weighted by how much each task separates the teams (standard deviation of Q across teams) and
summed, and the weighted sums are ranked again (:func:`planetbench.stats.ranking.rank_aggregate`).
The ranking is *dynamic*: one team's new submission changes the task weights and so every other
team's weighted score. The second winner is the team with the highest mean Q.

The evolution is recomputed after every scored submission, in the order they were scored: the
rank each team held on the board at that moment (the paper's "evolution of rankings" figure).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from planetbench.challenge.definition import ChallengeDefinition, PhaseDefinition
from planetbench.challenge.service import Team

#: How scores are computed, shown on the challenge page and in the JSON.
SCORING_TEXT = (
    "Each hidden task is scored with a linear probe on K random train/test splits of its "
    "labelled samples, using your embeddings as features. The quality score of a task is "
    "Q = 100·ε·mean/(std+ε) over the K split scores (R² for regression, F1 for classification; "
    "ε = {epsilon}), so it rewards a high and stable score. Teams are ranked per task by Q; each "
    "task's rank is weighted by the spread (standard deviation) of Q across teams on that task, "
    "the weighted ranks are summed, and the sums are ranked again (lower is better). Because the "
    "weights depend on every team's scores, your weighted score can change when others submit. "
    "A second winner is the team with the highest mean Q over the tasks."
)


@dataclass
class Standing:
    """One team's row on a phase's board.

    Attributes:
        team: team name.
        baseline: True for the organisers' reference rows.
        submissions: submissions of the team in the phase that count against its quota.
        submission_id: the counted submission (None when the team has no scored one).
        rank: competition rank of the weighted score (1 = best).
        weighted_score: Σ_t w_t · rank_t (lower is better).
        mean_q: mean Q over the phase's tasks.
        q: Q per task (real task name → Q).
    """

    team: str
    baseline: bool
    submissions: int
    submission_id: str | None = None
    rank: int | None = None
    weighted_score: float | None = None
    mean_q: float | None = None
    q: dict[str, float] = field(default_factory=dict)


@dataclass
class Board:
    """A phase's leaderboard as the organiser sees it.

    Attributes:
        challenge: challenge name.
        phase: phase name.
        rows: standings, ranked teams first (best first), then teams without a score.
        weights: task weights (real task name → weight).
        labels: real task name → the label teams see.
        mean_q_winner: team with the highest mean Q (ties: first by name), or None.
        evolution: team → list of (scored submission index, rank at that moment).
        n_scored: number of scored submissions in the phase.
    """

    challenge: str
    phase: str
    rows: list[Standing]
    weights: dict[str, float]
    labels: dict[str, str]
    mean_q_winner: str | None
    evolution: dict[str, list[tuple[int, int]]]
    n_scored: int


def _ranks(counted: dict[str, dict[str, Any]]) -> tuple[pd.DataFrame, pd.Series] | None:
    """rank_aggregate over the counted submissions (team → submission row), or None if empty."""
    from planetbench.stats.ranking import rank_aggregate

    if not counted:
        return None
    q = pd.DataFrame({team: {s["task"]: float(s["q"]) for s in sub["scores"]}
                      for team, sub in counted.items()}).T.sort_index()
    q.index.name = "team"
    agg = rank_aggregate(q, weighted=True)
    return agg.table, agg.weights


def _pick(current: dict[str, Any] | None, new: dict[str, Any], counts: str) -> dict[str, Any]:
    if current is None or counts == "latest":
        return new
    return new if float(new["mean_q"]) > float(current["mean_q"]) else current


def compute_board(
    definition: ChallengeDefinition,
    phase: PhaseDefinition,
    submissions: list[dict[str, Any]],
    teams: list[Team],
    labels: dict[str, str],
) -> Board:
    """The board of ``phase`` from its submission rows (see :mod:`planetbench.challenge.queue`).

    Args:
        definition: the challenge.
        phase: the phase.
        submissions: every submission row of the phase, any status.
        teams: the challenge's teams.
        labels: real task name → label shown to teams.
    """
    from planetbench.challenge.tables import COUNTED_STATUSES

    by_id = {t.id: t for t in teams}
    used: dict[str, int] = {t.name: 0 for t in teams}
    for s in submissions:
        if s["status"] in COUNTED_STATUSES and s["team_id"] in by_id:
            used[by_id[s["team_id"]].name] += 1
    scored = sorted((s for s in submissions if s["status"] == "scored" and s["team_id"] in by_id),
                    key=lambda s: (s["finished_at"], s["id"]))
    counted: dict[str, dict[str, Any]] = {}
    evolution: dict[str, list[tuple[int, int]]] = {}
    for i, sub in enumerate(scored, start=1):
        team = by_id[sub["team_id"]].name
        counted[team] = _pick(counted.get(team), sub, phase.counts)
        ranked = _ranks(counted)
        for name, rank in ([] if ranked is None else ranked[0]["rank"].items()):
            evolution.setdefault(str(name), []).append((i, int(rank)))
    rows: list[Standing] = []
    weights: dict[str, float] = {}
    ranked = _ranks(counted)
    if ranked is not None:
        table, w = ranked
        weights = {str(k): float(v) for k, v in w.items()}
        for name, rec in table.iterrows():
            sub = counted[str(name)]
            rows.append(Standing(
                team=str(name), baseline=by_id[sub["team_id"]].baseline,
                submissions=used[str(name)], submission_id=str(sub["id"]),
                rank=int(rec["rank"]), weighted_score=float(rec["weighted_score"]),
                mean_q=float(rec["mean_q"]),
                q={s["task"]: float(s["q"]) for s in sub["scores"]}))
    for t in teams:
        if t.name not in counted:
            rows.append(Standing(team=t.name, baseline=t.baseline, submissions=used[t.name]))
    winner = None
    ranked_rows = [r for r in rows if r.mean_q is not None]
    if ranked_rows:
        winner = sorted(ranked_rows, key=lambda r: (-float(r.mean_q or 0.0), r.team))[0].team
    return Board(challenge=definition.name, phase=phase.name, rows=rows, weights=weights,
                 labels=labels, mean_q_winner=winner, evolution=evolution, n_scored=len(scored))


@dataclass(frozen=True)
class View:
    """What one viewer may see of a phase's board.

    Attributes:
        scores: ranks, weighted scores and mean Q (False: only teams and counts).
        per_task: Q per task (under the labels teams see, or real names for the organiser).
        real_names: real task names and task weights (organiser).
        reason: why scores are hidden, when they are.
    """

    scores: bool
    per_task: bool
    real_names: bool
    reason: str = ""


def view_for(phase: PhaseDefinition, now: datetime, *, organiser: bool) -> View:
    """What the public (or the organiser) may see of ``phase`` at ``now``."""
    if organiser:
        return View(scores=True, per_task=True, real_names=True)
    if now < phase.start:
        return View(scores=False, per_task=False, real_names=False,
                    reason=f"the phase opens at {phase.start.isoformat()}")
    per_task = phase.reveal == "per_task"
    if phase.has_ended(now):
        return View(scores=True, per_task=per_task, real_names=phase.show_task_names)
    if phase.reveal == "none":
        return View(scores=False, per_task=False, real_names=False,
                    reason=f"scores are revealed when the phase ends ({phase.end.isoformat()})")
    return View(scores=True, per_task=per_task, real_names=phase.show_task_names)


def board_json(board: Board, view: View) -> dict[str, Any]:
    """The board as JSON values for ``view`` (rows: team, rank, weighted score, mean Q,
    submissions used, and per-task Q where the view allows)."""
    def task_name(task: str) -> str:
        return task if view.real_names else board.labels.get(task, task)

    rows = []
    for r in board.rows:
        row: dict[str, Any] = {"team": r.team, "baseline": r.baseline,
                               "submissions_used": r.submissions}
        if view.scores:
            row.update({"rank": r.rank, "weighted_score": r.weighted_score, "mean_q": r.mean_q})
            if view.per_task and r.q:
                row["q"] = {task_name(t): q for t, q in sorted(
                    r.q.items(), key=lambda kv: task_name(kv[0]))}
        rows.append(row)
    out: dict[str, Any] = {
        "challenge": board.challenge,
        "phase": board.phase,
        "scores_visible": view.scores,
        "rows": rows,
        "n_scored": board.n_scored,
    }
    if view.scores:
        out["mean_q_winner"] = board.mean_q_winner
        out["evolution"] = {t: [list(p) for p in pts] for t, pts in sorted(
            board.evolution.items())}
    else:
        out["hidden_because"] = view.reason
    if view.real_names:
        out["task_weights"] = board.weights
    return out


__all__ = ["SCORING_TEXT", "Board", "Standing", "View", "board_json", "compute_board",
           "view_for"]
