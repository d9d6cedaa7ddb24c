"""The dynamic leaderboard, the mean-Q winner, the rankings evolution and the reveal rules."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from planetbench.challenge.charts import rank_evolution_svg
from planetbench.challenge.definition import ChallengeDefinition, load_definition
from planetbench.challenge.leaderboard import board_json, compute_board, view_for
from planetbench.challenge.service import Team
from tests.challenge.helpers import NOW, phase, write_challenge

TEAMS = [Team(1, "mini", "aurora", False), Team(2, "mini", "boreal", False),
         Team(3, "mini", "noise", True)]
LABELS = {"biomass": "task-2", "crops": "task-1"}


def _sub(i: int, team: int, q: dict[str, float], status: str = "scored") -> dict[str, Any]:
    return {"id": f"s{i}", "team_id": team, "status": status,
            "finished_at": NOW + timedelta(minutes=i),
            "mean_q": sum(q.values()) / len(q) if q else None,
            "scores": [{"task": t, "label": LABELS[t], "q": v} for t, v in q.items()]}


@pytest.fixture
def definition(tmp_path: Path) -> ChallengeDefinition:
    return load_definition(write_challenge(tmp_path, phases=[
        phase("dev"), phase("best", counts="best", reveal="per_task"),
        phase("hidden", reveal="none")]))


def test_rank_then_aggregate_latest_submissions_and_mean_q_winner(
    definition: ChallengeDefinition,
) -> None:
    subs = [
        _sub(1, 1, {"biomass": 50.0, "crops": 10.0}),
        _sub(2, 2, {"biomass": 40.0, "crops": 30.0}),
        _sub(3, 3, {"biomass": 0.0, "crops": 0.0}),
        _sub(4, 1, {"biomass": 60.0, "crops": 20.0}),  # aurora's latest counts
        _sub(5, 2, {}, status="failed"),
        _sub(6, 2, {}, status="queued"),
    ]
    board = compute_board(definition, definition.phase("dev"), subs, TEAMS, LABELS)
    rows = {r.team: r for r in board.rows}
    # Per task ranks: biomass aurora 1, boreal 2, noise 3; crops boreal 1, aurora 2, noise 3.
    # std of Q across teams: biomass std(60,40,0) > crops std(20,30,0) → biomass weighs more.
    assert board.weights["biomass"] > board.weights["crops"]
    assert [r.team for r in board.rows] == ["aurora", "boreal", "noise"]
    assert rows["aurora"].rank == 1 and rows["aurora"].submission_id == "s4"
    assert rows["aurora"].q == {"biomass": 60.0, "crops": 20.0}
    assert rows["boreal"].submissions == 2  # scored + queued; the failed one does not count
    assert board.mean_q_winner == "aurora"  # (60+20)/2 = 40 > (40+30)/2 = 35
    # Evolution: after each scored submission, each team's rank at that moment. The ranking is
    # dynamic: the noise baseline's submission (3) spreads biomass more than crops (std of Q
    # 26.5 vs 15.3), which moves aurora (best on biomass) ahead of boreal without either
    # submitting: 1·0.634 + 2·0.366 = 1.366 < 2·0.634 + 1·0.366 = 1.634.
    assert board.evolution["aurora"] == [(1, 1), (2, 2), (3, 1), (4, 1)]
    assert board.evolution["boreal"] == [(2, 1), (3, 2), (4, 2)]
    assert board.evolution["noise"] == [(3, 3), (4, 3)]
    assert board.n_scored == 4


def test_counts_best_keeps_the_highest_mean_q(definition: ChallengeDefinition) -> None:
    subs = [_sub(1, 1, {"biomass": 50.0, "crops": 50.0}),
            _sub(2, 1, {"biomass": 10.0, "crops": 10.0})]
    board = compute_board(definition, definition.phase("best"), subs, TEAMS, LABELS)
    aurora = next(r for r in board.rows if r.team == "aurora")
    assert aurora.submission_id == "s1" and aurora.mean_q == 50.0
    assert [r.rank for r in board.rows] == [1, None, None]  # teams without a score at the end


def test_views_reveal_only_what_the_phase_allows(definition: ChallengeDefinition) -> None:
    subs = [_sub(1, 1, {"biomass": 50.0, "crops": 10.0}),
            _sub(2, 2, {"biomass": 40.0, "crops": 30.0})]
    for name, during, after in [
        ("dev", {"scores": True, "per_task": False}, {"scores": True, "per_task": False}),
        ("best", {"scores": True, "per_task": True}, {"scores": True, "per_task": True}),
        ("hidden", {"scores": False, "per_task": False}, {"scores": True, "per_task": False}),
    ]:
        ph = definition.phase(name)
        board = compute_board(definition, ph, subs, TEAMS, LABELS)
        for now, expect in ((NOW, during), (ph.end + timedelta(seconds=1), after)):
            out = board_json(board, view_for(ph, now, organiser=False))
            row = next(r for r in out["rows"] if r["team"] == "aurora")
            assert ("mean_q" in row) is expect["scores"], (name, now)
            assert ("q" in row) is expect["per_task"], (name, now)
            assert "task_weights" not in out
            if expect["per_task"]:
                assert set(row["q"]) == {"task-1", "task-2"}  # labels, not names
            if not expect["scores"]:
                assert "evolution" not in out and "mean_q_winner" not in out
                assert "revealed when the phase ends" in out["hidden_because"]
        organiser = board_json(board, view_for(ph, NOW, organiser=True))
        assert set(organiser["task_weights"]) == {"biomass", "crops"}
        assert next(r for r in organiser["rows"] if r["team"] == "aurora")["q"] == {
            "biomass": 50.0, "crops": 10.0}


def test_before_the_phase_opens_nothing_is_shown(definition: ChallengeDefinition) -> None:
    ph = definition.phase("dev")
    view = view_for(ph, ph.start - timedelta(seconds=1), organiser=False)
    assert not view.scores and "opens at" in view.reason


def test_the_chart_draws_one_escaped_line_per_team() -> None:
    svg = rank_evolution_svg({"<b>x</b>": [(1, 1), (2, 2)], "y": [(2, 1)]})
    assert svg.startswith('<svg class="rank-chart"')
    assert svg.count("<polyline") == 2
    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "No scored submission" in rank_evolution_svg({})
