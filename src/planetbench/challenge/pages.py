"""Server-rendered HTML pages of the challenge server (Jinja2 templates, autoescaped).

Every value from the database (team names, titles, descriptions) is escaped by Jinja2's
autoescaping; the only unescaped insert is the rankings chart, whose SVG escapes its own texts
(:func:`planetbench.challenge.charts.rank_evolution_svg`).
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from planetbench.challenge.definition import ChallengeDefinition, PhaseDefinition
from planetbench.challenge.leaderboard import SCORING_TEXT

TEMPLATES = Path(__file__).with_name("templates")

PROBE_TEXT = {
    "neuco": "NeuCo-Bench v1.1 linear layer trained with AdamW, best test epoch kept "
             "(reproduces the Embed2Scale 2025 challenge; optimistic by design)",
    "auto": "ridge regression for regression tasks and L2 logistic regression for "
            "classification tasks, penalty chosen on an inner validation split",
    "ridge": "ridge regression, penalty chosen on an inner validation split",
    "logistic": "L2 logistic regression, penalty chosen on an inner validation split",
}

REVEAL_TEXT = {
    "mean_q": "your mean Q only",
    "per_task": "your Q per task",
    "none": "nothing until the phase ends",
}


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(default=True, default_for_string=True))
    env.globals["fmt"] = _fmt
    return env


def _fmt(value: float | None, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _span(seconds: float) -> str:
    s = max(0, int(seconds))
    days, rest = divmod(s, 86400)
    text = f"{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
    return f"{days}d {text}" if days else text


def phase_state(phase: PhaseDefinition, now: datetime) -> str:
    """``upcoming``, ``open`` or ``closed``."""
    if now < phase.start:
        return "upcoming"
    return "closed" if phase.has_ended(now) else "open"


def clock_text(phase: PhaseDefinition, now: datetime) -> str:
    """``opens in …``, ``closes in …`` or ``closed``."""
    if now < phase.start:
        return "opens in " + _span((phase.start - now).total_seconds())
    if now < phase.end:
        return "closes in " + _span((phase.end - now).total_seconds())
    return "closed"


def _version() -> str:
    from planetbench import __version__

    return __version__


def render_index(definitions: list[ChallengeDefinition], now: datetime) -> str:
    """The list of challenges."""
    rows = []
    for d in definitions:
        p = d.current_phase(now)
        rows.append({"name": d.name, "title": d.display_title, "phase": p.name,
                     "state": phase_state(p, now), "when": clock_text(p, now)})
    return str(_environment().get_template("index.html").render(
        challenges=rows, now=now, version=_version()))


def render_challenge(definition: ChallengeDefinition, phase: PhaseDefinition,
                     board: dict[str, Any], now: datetime, *, chart: str,
                     base_url: str = "http://HOST:PORT") -> str:
    """A challenge's page for one phase: clock, leaderboard, winner, chart, scoring rules.

    Args:
        definition: the challenge.
        phase: the phase shown.
        board: the leaderboard JSON as the public may see it
            (:func:`planetbench.challenge.leaderboard.board_json`).
        now: current time.
        chart: the rankings chart (SVG, already escaped).
        base_url: the server's address, shown in the submit example.
    """
    task_columns = sorted({t for r in board["rows"] for t in (r.get("q") or {})})
    quota = phase.quota
    quota_text = " and ".join(
        part for part in (f"{quota.per_day} per day" if quota.per_day else "",
                          f"{quota.total} in total" if quota.total else "") if part)
    return str(_environment().get_template("challenge.html").render(
        d=definition,
        phase=phase,
        phases=[{"name": p.name, "state": phase_state(p, now)} for p in definition.phases],
        state=phase_state(phase, now),
        clock_text=clock_text(phase, now),
        quota_text=quota_text,
        reveal_text=REVEAL_TEXT[phase.reveal],
        board=board,
        task_columns=task_columns,
        chart=chart,
        scoring=SCORING_TEXT.format(epsilon=definition.epsilon),
        probe_text=PROBE_TEXT.get(definition.probe, definition.probe),
        base_url=base_url,
        now=now,
        version=_version(),
    ))


__all__ = ["clock_text", "phase_state", "render_challenge", "render_index"]
