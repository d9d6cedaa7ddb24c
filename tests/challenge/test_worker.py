"""Scoring workers: results as ordinary store rows, never scored twice, never lost."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from planetbench.challenge import ChallengeDB, Worker, load_definition, queue
from planetbench.challenge.definition import phase_tasks
from planetbench.challenge.errors import PhaseClosedError
from planetbench.challenge.local import submit_local
from planetbench.challenge.scoring import SubmissionInfo, score_file
from planetbench.embedding.labels import load_label_tasks
from planetbench.errors import EmbeddingFileError
from planetbench.protocols.probes.base import run_probe
from planetbench.stats.qscore import q_score
from planetbench.store import ResultStore
from tests.challenge.helpers import NOW, phase, write_challenge, write_embeddings


@pytest.fixture
def mini(tmp_path: Path, db_url: str) -> tuple[ChallengeDB, Path]:
    db = ChallengeDB(db_url)
    db.create(load_definition(write_challenge(tmp_path, phases=[
        phase("dev", sample_fraction=0.7), phase("final", seed="random", reveal="none")])))
    return db, tmp_path / "uploads"


def test_a_scored_submission_becomes_store_results(mini: tuple[ChallengeDB, Path],
                                                   tmp_path: Path) -> None:
    db, uploads = mini
    team, _ = db.add_team("mini", "aurora")
    sub = submit_local(db, uploads, team, "dev", write_embeddings(tmp_path, "a.parquet"), now=NOW)
    assert queue.get(db.engine, sub)["status"] == "queued"  # type: ignore[index]
    assert Worker(db.url, uploads).run(idle_exit=True) == 1
    row = queue.get(db.engine, sub)
    assert row is not None and row["status"] == "scored" and row["attempts"] == 1
    frame = ResultStore(db.url).query(suite="mini")
    assert sorted(frame["task"]) == ["biomass", "crops"]
    assert set(frame["model"]) == {"aurora"} and set(frame["seed"]) == {42}
    assert {c["submission_id"] for c in frame["config"]} == {sub}
    assert row["mean_q"] == pytest.approx(float(frame["q"].mean()))
    assert {s["task"]: s["q"] for s in row["scores"]} == pytest.approx(
        dict(zip(frame["task"], frame["q"], strict=True)))


def test_scores_equal_the_probe_on_the_phase_subset(mini: tuple[ChallengeDB, Path],
                                                    tmp_path: Path) -> None:
    db, _ = mini
    d = db.definition("mini")
    ph = d.phase("dev")
    path = write_embeddings(tmp_path, "a.csv")
    pts = phase_tasks(d, ph, load_label_tasks(d.labels))
    scored = score_file(path, d, ph, pts, SubmissionInfo("s1", "aurora", 42, "x"))
    import pandas as pd

    frame = pd.read_csv(path).set_index("id")
    for pt, ts in zip(pts, scored.tasks, strict=True):
        X = frame.loc[pt.task.ids].to_numpy()
        pr = run_probe(X, pt.task.y, kind=pt.task.kind, probe="auto", n_splits=3,
                       test_size=0.2, seed=42)
        assert ts.q == pytest.approx(q_score(pr.fold_scores))
        assert ts.n_samples == pt.task.n_samples < 40  # 70% of the 40 labelled ids


def test_random_seed_phases_draw_and_record_a_seed_per_submission(
    mini: tuple[ChallengeDB, Path], tmp_path: Path
) -> None:
    db, uploads = mini
    team, _ = db.add_team("mini", "aurora")
    path = write_embeddings(tmp_path, "a.parquet")
    subs = [submit_local(db, uploads, team, "final", path, now=NOW) for _ in range(3)]
    Worker(db.url, uploads).run(idle_exit=True)
    seeds = [queue.get(db.engine, s)["seed"] for s in subs]  # type: ignore[index]
    assert len(set(seeds)) == 3
    frame = ResultStore(db.url).query(suite="mini")
    assert set(frame["seed"]) == set(seeds)


def test_a_worker_that_died_after_storing_is_not_scored_again(
    mini: tuple[ChallengeDB, Path], tmp_path: Path
) -> None:
    db, uploads = mini
    team, _ = db.add_team("mini", "aurora")
    sub = submit_local(db, uploads, team, "dev", write_embeddings(tmp_path, "a.parquet"), now=NOW)
    # Worker 1 stores the results and dies before recording the outcome.
    w1 = Worker(db.url, uploads, lease_s=1)
    claim = queue.claim(db.engine, "w1", lease_s=1, now=NOW)
    assert claim is not None
    d = db.definition("mini")
    pts = phase_tasks(d, d.phase("dev"), load_label_tasks(d.labels))
    info = SubmissionInfo(sub, "aurora", claim.seed, claim.file_sha256)
    scored = score_file(uploads / claim.file_name, d, d.phase("dev"), pts, info)
    ResultStore(db.url).add_many(scored.results)
    del w1
    # Worker 2 claims it once the lease has expired and records the stored scores.
    assert Worker(db.url, uploads, lease_s=30).run(idle_exit=True) == 1
    row = queue.get(db.engine, sub)
    assert row is not None and row["status"] == "scored" and row["attempts"] == 2
    frame = ResultStore(db.url).query(suite="mini")
    assert len(frame) == 2  # one row per task, not two
    assert row["mean_q"] == pytest.approx(scored.mean_q)


def test_bad_files_are_refused_before_the_queue_and_do_not_count(
    mini: tuple[ChallengeDB, Path], tmp_path: Path
) -> None:
    db, uploads = mini
    team, _ = db.add_team("mini", "aurora")
    short = write_embeddings(tmp_path, "short.csv", drop=3)
    with pytest.raises(EmbeddingFileError, match=r"'short.csv' lacks 3 of the 60 public ids"):
        submit_local(db, uploads, team, "dev", short, now=NOW)
    wide = write_embeddings(tmp_path, "wide.csv", dim=9)
    with pytest.raises(EmbeddingFileError, match=r"9 embedding columns but dim=6"):
        submit_local(db, uploads, team, "dev", wide, now=NOW)
    assert queue.usage(db.engine, team.id, "dev", NOW)["total"] == 0
    assert [r["status"] for r in queue.rows(db.engine, "mini")] == ["rejected", "rejected"]
    with pytest.raises(PhaseClosedError, match=r"accepts submissions from"):
        submit_local(db, uploads, team, "dev", short, now=NOW + timedelta(days=30))
    assert not list((uploads / "tmp").glob("*.part"))


def test_uploads_are_stored_once_by_content_hash(mini: tuple[ChallengeDB, Path],
                                                 tmp_path: Path) -> None:
    db, uploads = mini
    team, _ = db.add_team("mini", "aurora")
    path = write_embeddings(tmp_path, "a.parquet")
    a = submit_local(db, uploads, team, "dev", path, now=NOW)
    b = submit_local(db, uploads, team, "dev", path, now=NOW)
    ra, rb = queue.get(db.engine, a), queue.get(db.engine, b)
    assert ra is not None and rb is not None and ra["file_name"] == rb["file_name"]
    import hashlib

    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert ra["file_name"] == f"{sha[:2]}/{sha}.parquet"
    assert [p.name for p in uploads.rglob("*.parquet")] == [f"{sha}.parquet"]
    assert np.isclose(ra["size_bytes"], path.stat().st_size)
