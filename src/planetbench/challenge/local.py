"""Submitting a file without the web server (organisers' baselines, the demo, tests): the same
steps as ``POST …/submissions`` — quota reservation, copy by content hash, validation, queue."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from planetbench.challenge import queue
from planetbench.challenge.errors import PhaseClosedError
from planetbench.challenge.service import ChallengeDB, Team, now_utc
from planetbench.challenge.uploads import UploadSink, validate_upload
from planetbench.errors import PlanetbenchError

_CHUNK = 1 << 20


def submit_local(
    db: ChallengeDB,
    uploads: str | Path,
    team: Team,
    phase: str,
    path: str | Path,
    *,
    now: datetime | None = None,
) -> str:
    """Queue ``path`` as a submission of ``team`` in ``phase``; returns the submission id.

    Raises:
        PhaseClosedError: outside the phase window.
        QuotaExceededError: quota used up.
        EmbeddingFileError: invalid file (nothing counts against the quota).
    """
    definition = db.definition(team.challenge)
    ph = definition.phase(phase)
    now = now or now_utc()
    if not ph.is_open(now):
        raise PhaseClosedError(f"phase {ph.name!r} accepts submissions from "
                               f"{ph.start.isoformat()} until {ph.end.isoformat()}")
    sub_id = queue.reserve(db.engine, team, ph, now)
    path = Path(path)
    sink = UploadSink(Path(uploads), definition.max_upload_bytes)
    try:
        sink.open(path.name)
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(_CHUNK), b""):
                sink.write(chunk)
        stored = sink.finish()
        validate_upload(stored, definition.embedding_dim, db.public_ids(team.challenge),
                        path.name)
    except (PlanetbenchError, OSError) as exc:
        sink.abort()
        queue.reject(db.engine, sub_id, str(exc))
        raise
    queue.accept(db.engine, sub_id, file_name=stored.relative, file_sha256=stored.sha256,
                 size_bytes=stored.size_bytes, seed=queue.draw_seed(ph))
    return sub_id


__all__ = ["submit_local"]
