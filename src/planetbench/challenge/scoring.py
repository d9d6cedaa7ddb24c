"""Scoring one submission of a phase: probes on the phase's hidden tasks, Q per task, store rows.

Each task of the phase (restricted to the phase's share of its samples) is probed on K random
splits with the challenge's probe and the submission's split seed; its quality score Q
(NeuCo-Bench, Vinge et al. 2025) is computed from the K fold scores. The results are ordinary
:class:`~planetbench.store.Result` rows: ``suite`` = the challenge, ``model`` = the team,
``task`` = the hidden task's name, and the submission id, phase, K and seed in ``config``, so
``planetbench report``/``export``/``leaderboard`` see them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.challenge.definition import ChallengeDefinition, PhaseDefinition, PhaseTask
from planetbench.config import config_hash
from planetbench.embedding.files import EmbeddingTable, align, read_embeddings
from planetbench.protocols.probes.pool import ProbeJob, probe_pool
from planetbench.store import Result

PROTOCOL = "probe"


@dataclass(frozen=True)
class TaskScore:
    """The score of one submission on one hidden task.

    Attributes:
        task: the task's real name (organiser only).
        label: what teams see (the name, or ``task-<i>``).
        kind: task kind (organiser only while names are hidden).
        metric: main metric (``r2``, ``f1``, ``f1_macro``).
        score: mean of the main metric over the K splits.
        std: its standard deviation over the K splits (ddof 0).
        q: quality score Q.
        n_samples: samples scored.
    """

    task: str
    label: str
    kind: str
    metric: str
    score: float
    std: float
    q: float
    n_samples: int

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON values."""
        return {"task": self.task, "label": self.label, "kind": self.kind,
                "metric": self.metric, "score": self.score, "std": self.std, "q": self.q,
                "n_samples": self.n_samples}


@dataclass
class Scored:
    """All task scores of one submission and the store rows that record them."""

    tasks: list[TaskScore]
    results: list[Result] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def mean_q(self) -> float:
        """Mean Q over the phase's tasks."""
        return float(np.mean([t.q for t in self.tasks]))


@dataclass(frozen=True)
class SubmissionInfo:
    """Identity of a submission as recorded with its results."""

    id: str
    team: str
    seed: int
    file_sha256: str


def run_config(
    definition: ChallengeDefinition, phase: PhaseDefinition, pt: PhaseTask, sub: SubmissionInfo
) -> dict[str, Any]:
    """The configuration recorded (and hashed into the run key) for one task of a submission."""
    from planetbench.protocols.probes.base import IMPLEMENTATION_VERSION

    return {
        "challenge": definition.name,
        "phase": phase.name,
        "submission_id": sub.id,
        "probe": definition.probe,
        "n_splits": phase.k,
        "test_size": definition.split_test_size,
        "epsilon": definition.epsilon,
        "neuco_epochs": definition.neuco_epochs,
        "dim": definition.embedding_dim,
        "seed_policy": phase.seed,
        "sample_fraction": phase.sample_fraction,
        "n_samples": pt.task.n_samples,
        "labels_sha256": pt.task.sha256,
        "kind": pt.task.kind,
        "probe_implementation": IMPLEMENTATION_VERSION,
    }


def result_key(definition: ChallengeDefinition, phase: PhaseDefinition, pt: PhaseTask,
               sub: SubmissionInfo) -> str:
    """The store run key of one task of a submission (unique per submission and task)."""
    from planetbench.store import run_key

    return run_key(model=sub.team, task=pt.task.name, protocol=PROTOCOL,
                   config_hash=config_hash(run_config(definition, phase, pt, sub)),
                   seed=sub.seed, input_sha256=sub.file_sha256)


def score_table(
    table: EmbeddingTable,
    definition: ChallengeDefinition,
    phase: PhaseDefinition,
    tasks: list[PhaseTask],
    sub: SubmissionInfo,
    *,
    n_jobs: int | None = None,
) -> Scored:
    """Probe validated embeddings on a phase's tasks; returns the scores and the store rows.

    Args:
        table: the submission's validated embeddings.
        definition: the challenge.
        phase: the phase.
        tasks: the phase's tasks (:func:`~planetbench.challenge.definition.phase_tasks`).
        sub: the submission's identity.
        n_jobs: tasks probed at once in child processes (the scores are the same); None =
            as many as tasks and cores when the work is large enough.

    Raises:
        EmbeddingFileError: the embeddings lack ids of a task.
        InvalidInputError: a probe cannot run (too few samples or classes for K splits).
    """
    from planetbench.stats.qscore import q_score
    from planetbench.store.result import library_versions

    t0 = time.perf_counter()
    versions = library_versions()
    options = {"probe": definition.probe, "n_splits": phase.k,
               "test_size": definition.split_test_size, "seed": sub.seed,
               "epochs": definition.neuco_epochs}
    jobs: list[ProbeJob] = []
    for pt in tasks:
        X, y, _ = align(table, pt.task)
        jobs.append((X, y, str(pt.task.kind), options))
    with probe_pool(jobs, n_jobs) as outcomes:
        probed = list(outcomes)
    scores: list[TaskScore] = []
    results: list[Result] = []
    for pt, (pr, probe_s) in zip(tasks, probed, strict=True):
        folds = [float(v) for v in np.asarray(pr.fold_scores, dtype=np.float64)]
        q = float(q_score(np.asarray(folds), epsilon=definition.epsilon))
        ts = TaskScore(task=pt.task.name, label=pt.label, kind=pt.task.kind, metric=pr.metric,
                       score=float(np.mean(folds)), std=float(np.std(folds)), q=q,
                       n_samples=pt.task.n_samples)
        scores.append(ts)
        cfg = run_config(definition, phase, pt, sub)
        notes = [] if q >= 0 else [f"unreliable: negative Q (mean {pr.metric} = {ts.score:.4g})"]
        results.append(Result(
            model=sub.team, task=pt.task.name, protocol=PROTOCOL, metric=pr.metric,
            score=ts.score, suite=definition.name, probe=pr.probe, seed=sub.seed,
            n_splits=phase.k, fold_scores=folds, q=q,
            metrics={k: np.asarray(v).tolist() for k, v in pr.metrics.items()
                     if k != "confusion_matrix"} | {"n_samples": ts.n_samples, "std": ts.std},
            timings={"probe_s": probe_s}, versions=versions, config=cfg,
            config_hash=config_hash(cfg), input_sha256=sub.file_sha256, notes=notes,
            run_key=result_key(definition, phase, pt, sub),
        ))
    return Scored(tasks=scores, results=results, seconds=time.perf_counter() - t0)


def score_file(
    path: str | Path,
    definition: ChallengeDefinition,
    phase: PhaseDefinition,
    tasks: list[PhaseTask],
    sub: SubmissionInfo,
    *,
    n_jobs: int | None = None,
) -> Scored:
    """Read, validate and score an embedding file (see :func:`score_table`)."""
    table = read_embeddings(path, dim=definition.embedding_dim)
    return score_table(table, definition, phase, tasks, sub, n_jobs=n_jobs)


__all__ = ["Scored", "SubmissionInfo", "TaskScore", "result_key", "run_config", "score_file",
           "score_table"]
