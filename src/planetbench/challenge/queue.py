"""The submission queue: quota reservations, atomic claims with leases, completion.

States: ``validating`` (quota reserved, file being checked) → ``queued`` → ``running`` (claimed
by a worker until ``lease_until``) → ``scored`` or ``failed``; a bad file goes ``validating`` →
``rejected``. A worker keeps its lease alive while it scores; a worker that dies stops renewing,
and once the lease has expired another worker claims the submission again (``attempts`` + 1, a
new ``lease_token``). Completion is fenced by the lease token, so a worker that lost its lease
cannot overwrite the outcome of the one that holds it.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from planetbench.challenge.definition import PhaseDefinition
from planetbench.challenge.errors import QuotaExceededError
from planetbench.challenge.service import Team, as_utc, now_utc
from planetbench.challenge.tables import (
    COUNTED_STATUSES,
    submissions_table,
    teams_table,
)
from planetbench.store.store import write_transaction

S = submissions_table

#: Claims of one submission after which it is failed (each earlier worker died scoring it).
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """A submission claimed by a worker.

    Attributes:
        id: submission id.
        challenge: challenge name.
        phase: phase name.
        team_id: the submitting team's id.
        file_name: the upload's path inside the uploads folder (``ab/abcd….csv``).
        file_sha256: the upload's SHA-256.
        seed: split seed of this submission.
        lease_token: fencing token of this claim.
        attempts: how many times the submission has been claimed (this claim included).
    """

    id: str
    challenge: str
    phase: str
    team_id: int
    file_name: str
    file_sha256: str
    seed: int
    lease_token: str
    attempts: int


def _day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def usage(engine: Engine, team_id: int, phase: str, now: datetime | None = None) -> dict[str, int]:
    """Submissions of a team in a phase that count against its quota: ``total`` and ``today``."""
    now = now or now_utc()
    counted = sa.and_(S.c.team_id == team_id, S.c.phase == phase,
                      S.c.status.in_(COUNTED_STATUSES))
    with engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).where(counted)).scalar_one()
        today = conn.execute(sa.select(sa.func.count()).where(
            counted, S.c.created_at >= _day_start(now))).scalar_one()
    return {"total": int(total), "today": int(today)}


def reserve(engine: Engine, team: Team, phase: PhaseDefinition, now: datetime | None = None) -> str:
    """Reserve one submission of ``team`` in ``phase`` against its quota; returns its id.

    Atomic: the team's row is locked (PostgreSQL ``FOR UPDATE``; on SQLite the whole write
    transaction is exclusive), the counted submissions are counted and the reservation inserted in
    the same transaction, so N simultaneous submissions against a quota of q reserve exactly
    min(N, q).

    Raises:
        QuotaExceededError: the phase's ``total`` or today's ``per_day`` submissions are used up.
    """
    now = now or now_utc()
    sub_id = uuid.uuid4().hex
    with write_transaction(engine) as conn:
        conn.execute(sa.select(teams_table.c.id).where(teams_table.c.id == team.id)
                     .with_for_update())
        counted = sa.and_(S.c.team_id == team.id, S.c.phase == phase.name,
                          S.c.status.in_(COUNTED_STATUSES))
        if phase.quota.total is not None:
            total = conn.execute(sa.select(sa.func.count()).where(counted)).scalar_one()
            if total >= phase.quota.total:
                raise QuotaExceededError(
                    f"team {team.name!r} has used all {phase.quota.total} submission(s) of phase "
                    f"{phase.name!r}"
                )
        if phase.quota.per_day is not None:
            today = conn.execute(sa.select(sa.func.count()).where(
                counted, S.c.created_at >= _day_start(now))).scalar_one()
            if today >= phase.quota.per_day:
                tomorrow = _day_start(now) + timedelta(days=1)
                raise QuotaExceededError(
                    f"team {team.name!r} has used its {phase.quota.per_day} submission(s) of "
                    f"today in phase {phase.name!r}; the next one is accepted from "
                    f"{tomorrow.isoformat()}"
                )
        conn.execute(S.insert().values(
            id=sub_id, challenge=team.challenge, phase=phase.name, team_id=team.id,
            status="validating", created_at=now, attempts=0))
    return sub_id


def accept(
    engine: Engine, sub_id: str, *, file_name: str, file_sha256: str, size_bytes: int, seed: int
) -> None:
    """A reserved submission's file passed validation: queue it for scoring."""
    with write_transaction(engine) as conn:
        conn.execute(S.update().where(S.c.id == sub_id, S.c.status == "validating").values(
            status="queued", file_name=file_name, file_sha256=file_sha256,
            size_bytes=size_bytes, seed=seed))


def reject(engine: Engine, sub_id: str, error: str) -> None:
    """A reserved submission's file failed validation (its quota is given back)."""
    with write_transaction(engine) as conn:
        conn.execute(S.update().where(S.c.id == sub_id, S.c.status == "validating").values(
            status="rejected", error=error, finished_at=now_utc()))


def draw_seed(phase: PhaseDefinition) -> int:
    """The split seed of a new submission: the phase's fixed seed, or a fresh random one."""
    return phase.fixed_seed if phase.seed == "fixed" else secrets.randbelow(2**31)


def claim(
    engine: Engine, worker: str, *, lease_s: float, max_attempts: int = MAX_ATTEMPTS,
    now: datetime | None = None,
) -> Claim | None:
    """Claim the oldest queued submission, or one whose lease has expired; None when idle.

    PostgreSQL: ``SELECT … FOR UPDATE SKIP LOCKED`` so concurrent workers never wait for each
    other nor take the same row; SQLite: the claim runs in a ``BEGIN IMMEDIATE`` transaction (one
    writer at a time). A submission already claimed ``max_attempts`` times is failed instead.
    """
    while True:
        now = now or now_utc()
        with write_transaction(engine) as conn:
            row = conn.execute(
                sa.select(S.c.id, S.c.attempts)
                .where(sa.or_(S.c.status == "queued",
                              sa.and_(S.c.status == "running", S.c.lease_until < now)))
                .order_by(S.c.created_at, S.c.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            if row.attempts >= max_attempts:
                conn.execute(S.update().where(S.c.id == row.id).values(
                    status="failed", lease_token=None, finished_at=now,
                    error=f"scoring was interrupted {row.attempts} times (the worker died each "
                          "time); the organisers have been told"))
                continue
            token = uuid.uuid4().hex
            conn.execute(S.update().where(S.c.id == row.id).values(
                status="running", attempts=row.attempts + 1, lease_token=token,
                lease_until=now + timedelta(seconds=lease_s), worker=worker[:128],
                started_at=now))
            full = conn.execute(sa.select(S).where(S.c.id == row.id)).one()._mapping
        return Claim(id=str(full["id"]), challenge=str(full["challenge"]),
                     phase=str(full["phase"]), team_id=int(full["team_id"]),
                     file_name=str(full["file_name"]), file_sha256=str(full["file_sha256"]),
                     seed=int(full["seed"]), lease_token=token, attempts=int(full["attempts"]))


def renew(engine: Engine, claim_: Claim, *, lease_s: float) -> bool:
    """Extend the lease of a claim; False when the claim was lost (lease expired and taken)."""
    with write_transaction(engine) as conn:
        done = conn.execute(S.update().where(
            S.c.id == claim_.id, S.c.lease_token == claim_.lease_token,
            S.c.status == "running").values(
                lease_until=now_utc() + timedelta(seconds=lease_s)))
    return bool(done.rowcount)


def complete(engine: Engine, claim_: Claim, *, scores: list[dict[str, Any]],
             mean_q: float) -> bool:
    """Record the scores of a claimed submission; False when the claim was lost meanwhile."""
    with write_transaction(engine) as conn:
        done = conn.execute(S.update().where(
            S.c.id == claim_.id, S.c.lease_token == claim_.lease_token,
            S.c.status == "running").values(
                status="scored", scores=scores, mean_q=mean_q, finished_at=now_utc(),
                lease_token=None, lease_until=None, error=None))
    return bool(done.rowcount)


def fail(engine: Engine, claim_: Claim, error: str) -> bool:
    """Mark a claimed submission failed (scoring raised); False when the claim was lost."""
    with write_transaction(engine) as conn:
        done = conn.execute(S.update().where(
            S.c.id == claim_.id, S.c.lease_token == claim_.lease_token,
            S.c.status == "running").values(
                status="failed", error=error, finished_at=now_utc(), lease_token=None,
                lease_until=None))
    return bool(done.rowcount)


def get(engine: Engine, sub_id: str) -> dict[str, Any] | None:
    """One submission row as a dict (datetimes aware UTC), or None."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(S).where(S.c.id == sub_id)).first()
    return None if row is None else _clean(dict(row._mapping))


def rows(engine: Engine, challenge: str, phase: str | None = None,
         statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Submissions of a challenge (optionally one phase / some statuses), oldest first."""
    stmt = sa.select(S).where(S.c.challenge == challenge)
    if phase is not None:
        stmt = stmt.where(S.c.phase == phase)
    if statuses is not None:
        stmt = stmt.where(S.c.status.in_(statuses))
    with engine.connect() as conn:
        out = [dict(r._mapping) for r in conn.execute(stmt.order_by(S.c.created_at, S.c.id))]
    return [_clean(r) for r in out]


def board_version(engine: Engine, challenge: str) -> tuple[int, str]:
    """A cheap fingerprint of everything the leaderboard depends on (changes when a submission
    is added, scored or failed)."""
    with engine.connect() as conn:
        count, last, scored = conn.execute(
            sa.select(sa.func.count(), sa.func.max(S.c.finished_at),
                      sa.func.count(S.c.mean_q)).where(S.c.challenge == challenge)).one()
    return int(count) * 1_000_003 + int(scored), str(last)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    for key in ("created_at", "lease_until", "started_at", "finished_at"):
        row[key] = as_utc(row[key])
    return row


__all__ = [
    "MAX_ATTEMPTS",
    "Claim",
    "accept",
    "board_version",
    "claim",
    "complete",
    "draw_seed",
    "fail",
    "get",
    "reject",
    "renew",
    "reserve",
    "rows",
    "usage",
]
