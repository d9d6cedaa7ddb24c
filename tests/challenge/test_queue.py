"""The submission queue: atomic quotas, leases, fenced completion, re-claims after a crash."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest

from planetbench.challenge import ChallengeDB, load_definition, queue
from planetbench.challenge.errors import QuotaExceededError
from planetbench.challenge.tables import ensure_schema, make_engine
from tests.challenge.helpers import NOW, phase, write_challenge


def _setup(tmp_path: Path, url: str, **phase_extra: object) -> tuple[ChallengeDB, object]:
    db = ChallengeDB(url)
    d = load_definition(write_challenge(tmp_path, phases=[phase(**phase_extra)]))
    db.create(d)
    team, _ = db.add_team("mini", "aurora")
    return db, team


def test_total_quota_counts_everything_but_rejected(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url, quota={"total": 2})
    ph = db.definition("mini").phase("dev")
    first = queue.reserve(db.engine, team, ph, NOW)
    queue.reject(db.engine, first, "bad file")  # gives its quota back
    queue.reserve(db.engine, team, ph, NOW)
    queue.reserve(db.engine, team, ph, NOW)
    with pytest.raises(QuotaExceededError, match=r"used all 2 submission\(s\) of phase 'dev'"):
        queue.reserve(db.engine, team, ph, NOW)
    assert queue.usage(db.engine, team.id, "dev", NOW) == {"total": 2, "today": 2}


def test_daily_quota_resets_at_utc_midnight(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url, quota={"per_day": 1})
    ph = db.definition("mini").phase("dev")
    queue.reserve(db.engine, team, ph, NOW)
    with pytest.raises(QuotaExceededError, match=r"next one is accepted from 2026-01-11T00:00"):
        queue.reserve(db.engine, team, ph, NOW + timedelta(hours=1))
    queue.reserve(db.engine, team, ph, NOW.replace(hour=0) + timedelta(days=1))


def test_simultaneous_reservations_respect_the_quota_exactly(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url, quota={"total": 3})
    ph = db.definition("mini").phase("dev")
    db.engine  # noqa: B018 - schema first, then the race
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def one() -> None:
        own = ChallengeDB(db_url)  # a connection pool per client, as separate servers would have
        barrier.wait()
        try:
            queue.reserve(own.engine, team, ph, NOW)
            result = "ok"
        except QuotaExceededError:
            result = "quota"
        with lock:
            outcomes.append(result)
        own.dispose()

    threads = [threading.Thread(target=one) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["ok"] * 3 + ["quota"] * 17


def _queued(db: ChallengeDB, team: object, n: int = 1) -> list[str]:
    ph = db.definition("mini").phase("dev")
    ids = []
    for k in range(n):
        sub = queue.reserve(db.engine, team, ph, NOW + timedelta(seconds=k))  # type: ignore[arg-type]
        queue.accept(db.engine, sub, file_name="ab/x.csv", file_sha256="ab" * 32,
                     size_bytes=10, seed=42)
        ids.append(sub)
    return ids


def test_a_claim_is_exclusive_until_its_lease_expires(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url)
    (sub,) = _queued(db, team)
    first = queue.claim(db.engine, "w1", lease_s=30, now=NOW)
    assert first is not None and first.id == sub and first.attempts == 1
    assert queue.claim(db.engine, "w2", lease_s=30, now=NOW + timedelta(seconds=29)) is None
    second = queue.claim(db.engine, "w2", lease_s=30, now=NOW + timedelta(seconds=31))
    assert second is not None and second.id == sub and second.attempts == 2
    # The first worker lost its claim: it can neither renew nor complete.
    assert not queue.renew(db.engine, first, lease_s=30)
    assert not queue.complete(db.engine, first, scores=[], mean_q=1.0)
    assert queue.complete(db.engine, second, scores=[{"task": "t", "q": 2.0}], mean_q=2.0)
    row = queue.get(db.engine, sub)
    assert row is not None and row["status"] == "scored" and row["mean_q"] == 2.0
    assert queue.claim(db.engine, "w3", lease_s=30, now=NOW + timedelta(days=1)) is None


def test_concurrent_claims_never_share_a_submission(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url)
    subs = _queued(db, team, n=6)
    claimed: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def work(name: str) -> None:
        own = ChallengeDB(db_url)
        barrier.wait()
        while (c := queue.claim(own.engine, name, lease_s=60)) is not None:
            with lock:
                claimed.append(c.id)
        own.dispose()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(claimed) == sorted(subs)


def test_a_submission_that_kills_every_worker_is_failed(tmp_path: Path, db_url: str) -> None:
    db, team = _setup(tmp_path, db_url)
    (sub,) = _queued(db, team)
    t = NOW
    for attempt in range(1, queue.MAX_ATTEMPTS + 1):
        c = queue.claim(db.engine, "w", lease_s=1, now=t)
        assert c is not None and c.attempts == attempt
        t += timedelta(seconds=2)  # the worker died: its lease runs out
    assert queue.claim(db.engine, "w", lease_s=1, now=t) is None
    row = queue.get(db.engine, sub)
    assert row is not None and row["status"] == "failed"
    assert "interrupted 3 times" in row["error"]


def test_schema_creation_is_safe_when_many_processes_start_at_once(db_url: str) -> None:
    errors: list[BaseException] = []
    barrier = threading.Barrier(6)

    def start() -> None:
        engine = make_engine(db_url)
        barrier.wait()
        try:
            ensure_schema(engine)
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)
        engine.dispose()

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert ChallengeDB(db_url).names() == []
