"""Scoring workers: claim a queued submission, score it, store the results, record the outcome.

Any number of workers, on any machine that reaches the database and the uploads folder, can run
at once (``planetbench challenge worker``). A worker renews its lease while it scores; if it
dies, the lease expires and another worker scores the submission again. Results are written in
one transaction before the submission is marked scored, with run keys unique per (submission,
task): a worker that finds them already stored (its predecessor died after writing them) records
the stored scores instead of scoring again, so a submission is never scored twice nor lost.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from planetbench.challenge import queue
from planetbench.challenge.definition import (
    ChallengeDefinition,
    PhaseDefinition,
    PhaseTask,
    phase_tasks,
)
from planetbench.challenge.scoring import (
    Scored,
    SubmissionInfo,
    TaskScore,
    result_key,
    score_file,
)
from planetbench.challenge.service import ChallengeDB
from planetbench.challenge.tables import teams_table
from planetbench.errors import PlanetbenchError

log = logging.getLogger("planetbench.challenge.worker")

#: Default lease of a claim in seconds (renewed every third of it while scoring).
LEASE_S = 60.0

#: Niceness added to worker processes started beside the server: scoring is batch work and
#: yields the CPU to the web server's requests.
WORKER_NICE = 10


def worker_name() -> str:
    """``host:pid``, recorded with each claim."""
    return f"{socket.gethostname()}:{os.getpid()}"


@contextlib.contextmanager
def _keep_lease(db: ChallengeDB, claim: queue.Claim, lease_s: float) -> Iterator[threading.Event]:
    """Renew the claim's lease every ``lease_s / 3`` seconds; the yielded event is set when the
    lease was lost."""
    stop, lost = threading.Event(), threading.Event()

    def beat() -> None:
        while not stop.wait(lease_s / 3):
            try:
                if not queue.renew(db.engine, claim, lease_s=lease_s):
                    lost.set()
                    return
            except Exception:  # a database hiccup: try again at the next beat
                log.exception("renewing the lease of %s failed", claim.id)

    thread = threading.Thread(target=beat, name=f"lease-{claim.id[:8]}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join()


class Worker:
    """Scores submissions from the queue of one database.

    Args:
        url: store URL (the challenge tables and the results live there).
        uploads: the uploads folder the server writes to.
        lease_s: lease of each claim in seconds.
        name: worker name recorded with claims (default ``host:pid``).
        n_jobs: tasks of a submission probed at once in child processes (None: automatic, see
            :func:`planetbench.challenge.scoring.score_table`).
    """

    def __init__(self, url: str | None, uploads: str | Path, *, lease_s: float = LEASE_S,
                 name: str | None = None, n_jobs: int | None = None) -> None:
        self.n_jobs = n_jobs
        self.db = ChallengeDB(url)
        self.uploads = Path(uploads)
        self.lease_s = lease_s
        self.name = name or worker_name()
        self._tasks: dict[str, tuple[ChallengeDefinition, list[Any]]] = {}

    def _challenge(self, name: str) -> tuple[ChallengeDefinition, list[Any]]:
        """The definition and label tasks of a challenge (cached: both are immutable)."""
        if name not in self._tasks:
            from planetbench.embedding.labels import load_label_tasks

            definition = self.db.definition(name)
            with self.db.label_folder(name) as folder:
                tasks = load_label_tasks(folder)
            self._tasks[name] = (definition, tasks)
        return self._tasks[name]

    def _team_name(self, team_id: int) -> str:
        import sqlalchemy as sa

        with self.db.engine.connect() as conn:
            return str(conn.execute(sa.select(teams_table.c.name)
                                    .where(teams_table.c.id == team_id)).scalar_one())

    def run_once(self) -> str | None:
        """Claim and score one submission; returns its id, or None when the queue is empty."""
        claim = queue.claim(self.db.engine, self.name, lease_s=self.lease_s)
        if claim is None:
            return None
        log.info("claimed submission %s (attempt %d)", claim.id, claim.attempts)
        try:
            definition, tasks = self._challenge(claim.challenge)
            phase = definition.phase(claim.phase)
            pts = phase_tasks(definition, phase, tasks)
            sub = SubmissionInfo(id=claim.id, team=self._team_name(claim.team_id),
                                 seed=claim.seed, file_sha256=claim.file_sha256)
            with _keep_lease(self.db, claim, self.lease_s) as lost:
                scored = self._stored(definition, phase, pts, sub) or self._score(
                    definition, pts, sub, claim, lost)
        except PlanetbenchError as exc:
            log.warning("submission %s failed: %s", claim.id, exc)
            queue.fail(self.db.engine, claim, str(exc))
            return claim.id
        if scored is None:
            return claim.id
        if not queue.complete(self.db.engine, claim, scores=[t.to_dict() for t in scored.tasks],
                              mean_q=scored.mean_q):
            log.warning("lost the lease of %s; another worker records it", claim.id)
        return claim.id

    def _stored(self, definition: ChallengeDefinition, phase: PhaseDefinition,
                pts: list[PhaseTask], sub: SubmissionInfo) -> Scored | None:
        """The scores already in the store when an earlier worker wrote them, else None."""
        import numpy as np

        from planetbench.store import ResultStore

        keys = {result_key(definition, phase, pt, sub): pt for pt in pts}
        store = ResultStore(self.db.url)
        if store.finished_keys(keys) != set(keys):
            return None
        frame = store.query(run_key=sorted(keys)).drop_duplicates("run_key")
        by_key = {r["run_key"]: r for r in frame.to_dict("records")}
        tasks = []
        for key, pt in keys.items():
            row = by_key[key]
            folds = [float(v) for v in row["fold_scores"]]
            tasks.append(TaskScore(task=pt.task.name, label=pt.label, kind=pt.task.kind,
                                   metric=str(row["metric"]), score=float(np.mean(folds)),
                                   std=float(np.std(folds)), q=float(row["q"]),
                                   n_samples=pt.task.n_samples))
        return Scored(tasks=tasks)

    def _score(self, definition: ChallengeDefinition, pts: list[PhaseTask], sub: SubmissionInfo,
               claim: queue.Claim, lost: threading.Event) -> Scored | None:
        from planetbench.store import ResultStore

        phase = definition.phase(claim.phase)
        scored = score_file(self.uploads / claim.file_name, definition, phase, pts, sub,
                            n_jobs=self.n_jobs)
        if lost.is_set():
            log.warning("lost the lease of %s while scoring; results discarded", claim.id)
            return None
        store = ResultStore(self.db.url)
        fresh = [r for r in scored.results
                 if r.run_key not in store.finished_keys([r.run_key for r in scored.results])]
        store.add_many(fresh)  # one transaction: all rows of the submission, or none
        return scored

    def run(self, *, poll_s: float = 1.0, stop: threading.Event | None = None,
            max_jobs: int | None = None, idle_exit: bool = False) -> int:
        """Score submissions until ``stop`` is set (or ``max_jobs`` are done, or the queue is
        empty with ``idle_exit``); returns how many were processed."""
        stop = stop or threading.Event()
        done = 0
        while not stop.is_set() and (max_jobs is None or done < max_jobs):
            try:
                sub_id = self.run_once()
            except PlanetbenchError:
                log.exception("the worker could not reach the queue; retrying")
                sub_id = None
            if sub_id is None:
                if idle_exit:
                    break
                stop.wait(poll_s)
            else:
                done += 1
        return done


def run_worker_process(url: str, uploads: str, lease_s: float, poll_s: float) -> None:
    """Entry point of a worker child process started by the server (``serve --workers N``)."""
    import signal

    logging.basicConfig(level=logging.INFO, format="%(asctime)s worker %(message)s")
    os.nice(WORKER_NICE)  # the children probing tasks inherit it
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    Worker(url, uploads, lease_s=lease_s).run(poll_s=poll_s, stop=stop)


def start_worker_processes(url: str, uploads: str | Path, n: int, *, lease_s: float = LEASE_S,
                           poll_s: float = 1.0) -> list[Any]:
    """Start ``n`` worker processes (spawned, so they share nothing with the server)."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    procs = []
    for _ in range(n):
        proc = ctx.Process(target=run_worker_process, args=(url, str(uploads), lease_s, poll_s),
                           daemon=True)
        proc.start()
        procs.append(proc)
    return procs


def stop_worker_processes(procs: list[Any], timeout_s: float = 10.0) -> None:
    """Ask the workers to stop (SIGTERM: they finish the current submission), then wait."""
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    deadline = time.monotonic() + timeout_s
    for proc in procs:
        proc.join(max(0.0, deadline - time.monotonic()))
        if proc.is_alive():
            proc.kill()
            proc.join()


__all__ = ["LEASE_S", "WORKER_NICE", "Worker", "start_worker_processes", "stop_worker_processes",
           "worker_name"]
