"""The challenge web server: a FastAPI app (JSON API under ``/api/v1``, HTML pages, ``/docs``).

Nothing is served from the file system: every response is built from the database, so the hidden
labels (kept in the database) and the uploads folder are unreachable through any route. Team and
organiser tokens come only in the ``Authorization: Bearer`` header (never in URLs, so never in
access logs). Errors are JSON ``{"detail": message}`` with the status of their kind.

Needs the ``challenge`` extra (FastAPI); :func:`planetbench.challenge.server.serve` says so when it
is missing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from planetbench.challenge import queue
from planetbench.challenge.charts import rank_evolution_svg
from planetbench.challenge.definition import ChallengeDefinition, PhaseDefinition, task_labels
from planetbench.challenge.errors import (
    AuthenticationError,
    PhaseClosedError,
    QuotaExceededError,
    UploadTooLargeError,
)
from planetbench.challenge.leaderboard import (
    SCORING_TEXT,
    Board,
    View,
    board_json,
    view_for,
)
from planetbench.challenge.service import ChallengeDB, Team, now_utc
from planetbench.challenge.standings import phase_board
from planetbench.challenge.uploads import (
    MultipartUpload,
    UploadSink,
    default_uploads_dir,
    validate_upload,
)
from planetbench.errors import (
    InvalidInputError,
    PlanetbenchError,
    StoreError,
    UnknownNameError,
)

#: Request bodies may exceed the file's limit by this much (multipart headers and boundaries).
_ENVELOPE_BYTES = 64 * 1024

#: HTTP status of each error kind (checked in order: subclasses first).
STATUS_OF: tuple[tuple[type[Exception], int], ...] = (
    (AuthenticationError, 401),
    (PhaseClosedError, 403),
    (UnknownNameError, 404),
    (UploadTooLargeError, 413),
    (QuotaExceededError, 429),
    (InvalidInputError, 400),
    (StoreError, 503),
    (PlanetbenchError, 400),
)


def status_of(exc: Exception) -> int:
    """The HTTP status for a planetbench error."""
    for kind, status in STATUS_OF:
        if isinstance(exc, kind):
            return status
    return 500


def bearer(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, or None."""
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def phase_info(phase: PhaseDefinition, now: datetime, n_tasks: int | None) -> dict[str, Any]:
    """What anyone may know of a phase (no task names unless the phase shows them)."""
    state = "upcoming" if now < phase.start else ("closed" if phase.has_ended(now) else "open")
    info: dict[str, Any] = {
        "name": phase.name,
        "start": phase.start.isoformat(),
        "end": phase.end.isoformat(),
        "state": state,
        "k": phase.k,
        "seed": phase.seed,
        "quota": phase.quota.model_dump(exclude_none=True),
        "reveal": phase.reveal,
        "counts": phase.counts,
    }
    if phase.show_task_names and n_tasks is not None:
        info["n_tasks"] = n_tasks
    return info


class BoardCache:
    """Boards by (challenge, phase), recomputed only when the challenge's submissions changed.

    The database is asked whether anything changed at most every ``refresh_s`` seconds per
    challenge (a leaderboard at most that stale), concurrent requests for a stale board wait for
    one recomputation instead of each doing it, and each (board, view) is encoded to JSON once.
    """

    def __init__(self, db: ChallengeDB, refresh_s: float = 1.0) -> None:
        self.db = db
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._boards: dict[tuple[str, str], tuple[Any, Board]] = {}
        self._versions: dict[str, tuple[float, Any]] = {}
        self._encoded: dict[tuple[str, str, Any, View], bytes] = {}

    def _version(self, challenge: str) -> Any:
        import time

        now = time.monotonic()
        with self._lock:
            seen = self._versions.get(challenge)
        if seen is not None and now - seen[0] < self.refresh_s:
            return seen[1]
        version = queue.board_version(self.db.engine, challenge)
        with self._lock:
            self._versions[challenge] = (now, version)
        return version

    def get(self, definition: ChallengeDefinition, phase: PhaseDefinition) -> Board:
        """The phase's board (at most ``refresh_s`` seconds old)."""
        return self._get(definition, phase)[1]

    def _get(self, definition: ChallengeDefinition, phase: PhaseDefinition
             ) -> tuple[Any, Board]:
        key = (definition.name, phase.name)
        version = self._version(definition.name)
        with self._lock:
            cached = self._boards.get(key)
            if cached is not None and cached[0] == version:
                return cached
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                cached = self._boards.get(key)
            if cached is not None and cached[0] == version:
                return cached
            board = phase_board(self.db, definition, phase)
            with self._lock:
                self._boards[key] = (version, board)
        return version, board

    def fresh(self, definition: ChallengeDefinition, phase: PhaseDefinition,
              view: View) -> bytes | None:
        """The encoded board when it can be served without the database (its version checked
        less than ``refresh_s`` ago and that version's board encoded for ``view``), else None."""
        import time

        with self._lock:
            seen = self._versions.get(definition.name)
            if seen is None or time.monotonic() - seen[0] >= self.refresh_s:
                return None
            return self._encoded.get((definition.name, phase.name, seen[1], view))

    def encoded(self, definition: ChallengeDefinition, phase: PhaseDefinition,
                view: View) -> bytes:
        """The board as JSON bytes for ``view``."""
        import json

        version, board = self._get(definition, phase)
        key = (definition.name, phase.name, version, view)
        with self._lock:
            body = self._encoded.get(key)
        if body is None:
            body = json.dumps(board_json(board, view), allow_nan=False).encode()
            with self._lock:
                if len(self._encoded) > 256:
                    self._encoded.clear()
                self._encoded[key] = body
        return body


def submission_json(row: dict[str, Any], definition: ChallengeDefinition, now: datetime, *,
                    organiser: bool) -> dict[str, Any]:
    """A submission as its team (or the organiser) may see it, per the phase's ``reveal``."""
    phase = definition.phase(str(row["phase"]))
    out: dict[str, Any] = {
        "id": row["id"],
        "challenge": row["challenge"],
        "phase": row["phase"],
        "status": row["status"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "finished_at": row["finished_at"].isoformat() if row["finished_at"] else None,
    }
    if row["status"] in ("rejected", "failed"):
        out["error"] = row["error"]
    if row["status"] != "scored":
        return out
    view = view_for(phase, now, organiser=organiser)
    if view.scores:
        out["mean_q"] = row["mean_q"]
        if view.per_task:
            out["tasks"] = sorted(
                ({"task": s["task"] if view.real_names else s["label"], "q": s["q"]}
                 | ({"metric": s["metric"], "score": s["score"], "kind": s["kind"]}
                    if view.real_names else {})
                 for s in row["scores"] or []), key=lambda s: str(s["task"]))
    else:
        out["scores_hidden_because"] = view.reason
    if organiser:
        out["seed"] = row["seed"]
        out["attempts"] = row["attempts"]
    return out


def create_app(
    url: str | None = None,
    uploads: str | Path | None = None,
    *,
    clock: Callable[[], datetime] = now_utc,
) -> FastAPI:
    """The challenge server of the store at ``url``.

    Args:
        url: store URL (SQLite file or PostgreSQL); the default store when None.
        uploads: folder for uploaded files (default: beside a SQLite store, else in the user data
            folder); never served.
        clock: the current time (tests move it).

    Returns:
        A FastAPI application (serve it with uvicorn).
    """
    from planetbench import __version__

    db = ChallengeDB(url)
    folder = Path(uploads) if uploads is not None else default_uploads_dir(db.url)
    boards = BoardCache(db)
    app = FastAPI(
        title="planetbench challenge",
        version=__version__,
        description="Hidden-task embedding challenges (NeuCo-Bench challenge mode). Submit a file "
        "of embeddings of the public ids; it is scored by linear probes on hidden tasks.",
        docs_url="/docs",
        redoc_url=None,
    )

    @app.exception_handler(PlanetbenchError)
    async def _planetbench_error(_request: Request, exc: PlanetbenchError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationError) else None
        return JSONResponse({"detail": str(exc)}, status_code=status_of(exc), headers=headers)

    def team_of(token: str | None, challenge: str) -> Team:
        team = db.team_for_token(token)
        if team is None or team.challenge != challenge:
            raise AuthenticationError(
                "missing or wrong team token: send 'Authorization: Bearer <token>' with the "
                "token printed by `planetbench challenge team add`"
            )
        return team

    @app.get("/api/v1/health", tags=["server"])
    def health() -> dict[str, str]:
        """The server is up."""
        return {"status": "ok", "version": __version__}

    @app.get("/api/v1/challenges", tags=["challenges"])
    def list_challenges() -> list[dict[str, Any]]:
        """Every challenge and its phases."""
        now = clock()
        out = []
        for name in db.names():
            d = db.definition(name)
            out.append({"name": d.name, "title": d.display_title,
                        "phases": [phase_info(p, now, None) for p in d.phases]})
        return out

    @app.get("/api/v1/challenges/{challenge}", tags=["challenges"])
    def challenge_info(challenge: str) -> dict[str, Any]:
        """A challenge's public facts: phases, windows, K, quotas, what is revealed."""
        d = db.definition(challenge)
        now = clock()
        names = db.task_names(challenge)
        return {
            "name": d.name,
            "title": d.display_title,
            "description": d.description,
            "embedding_dim": d.embedding_dim,
            "probe": d.probe,
            "test_size": d.split_test_size,
            "epsilon": d.epsilon,
            "max_upload_mb": d.max_upload_mb,
            "now": now.isoformat(),
            "current_phase": d.current_phase(now).name,
            "phases": [phase_info(p, now, len(task_labels(d, p, names))) for p in d.phases],
            "scoring": SCORING_TEXT.format(epsilon=d.epsilon),
        }

    @app.get("/api/v1/challenges/{challenge}/ids", tags=["challenges"],
             response_class=PlainTextResponse)
    def public_ids(challenge: str) -> PlainTextResponse:
        """The sample ids to embed, one per line."""
        return PlainTextResponse("\n".join(db.public_ids(challenge)) + "\n")

    @app.post("/api/v1/challenges/{challenge}/phases/{phase}/submissions", status_code=202,
              tags=["submissions"])
    async def submit(challenge: str, phase: str, request: Request) -> JSONResponse:
        """Upload embeddings (multipart field ``file``, CSV or Parquet in NeuCo layout).

        401 missing/wrong token, 403 outside the phase window, 413 too large, 429 quota used
        up, 400 invalid file (the message of ``planetbench probe``); 202 ``{"id", "status"}``
        once the file is valid and queued.
        """
        definition = await run_in_threadpool(db.definition, challenge)
        ph = definition.phase(phase)
        team = await run_in_threadpool(team_of, bearer(request), challenge)
        now = clock()
        if not ph.is_open(now):
            raise PhaseClosedError(
                f"phase {ph.name!r} accepts submissions from {ph.start.isoformat()} until "
                f"{ph.end.isoformat()}; it is now {now.isoformat()}"
            )
        limit = definition.max_upload_bytes
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit + _ENVELOPE_BYTES:
            raise UploadTooLargeError(
                f"the upload ({int(declared) / 1024 / 1024:.3g} MiB) is larger than this "
                f"challenge's limit of {limit / 1024 / 1024:.3g} MiB"
            )
        sub_id = await run_in_threadpool(queue.reserve, db.engine, team, ph, now)
        sink = UploadSink(folder, limit)
        try:
            parser = MultipartUpload(request.headers.get("content-type"), sink)
            too_large: UploadTooLargeError | None = None
            drained = 0
            async for chunk in request.stream():
                if too_large is None:
                    try:
                        parser.feed(chunk)
                    except UploadTooLargeError as exc:
                        too_large = exc
                        sink.abort()
                else:  # read on (bounded) so that the client gets to read our answer
                    drained += len(chunk)
                    if drained > 4 * limit:
                        break
            if too_large is not None:
                raise too_large
            stored = parser.finish()
            public = await run_in_threadpool(db.public_ids, challenge)
            await run_in_threadpool(validate_upload, stored, definition.embedding_dim, public,
                                    sink.filename)
        except BaseException as exc:
            sink.abort()
            message = str(exc) if isinstance(exc, PlanetbenchError) else "upload interrupted"
            await run_in_threadpool(queue.reject, db.engine, sub_id, message)
            raise
        await run_in_threadpool(queue.accept, db.engine, sub_id, file_name=stored.relative,
                                file_sha256=stored.sha256, size_bytes=stored.size_bytes,
                                seed=queue.draw_seed(ph))
        return JSONResponse({"id": sub_id, "status": "queued"}, status_code=202)

    @app.get("/api/v1/submissions/{submission_id}", tags=["submissions"])
    def submission(submission_id: str, request: Request) -> dict[str, Any]:
        """A submission's status and what its phase reveals; 404 unless it is yours."""
        token = bearer(request)
        row = queue.get(db.engine, submission_id) if len(submission_id) <= 32 else None
        if row is not None:
            organiser = db.is_organiser(str(row["challenge"]), token)
            team = db.team_for_token(token)
            if organiser or (team is not None and team.id == row["team_id"]):
                definition = db.definition(str(row["challenge"]))
                return submission_json(row, definition, clock(), organiser=organiser)
        raise UnknownNameError(f"no submission {submission_id!r} of yours")

    @app.get("/api/v1/challenges/{challenge}/submissions", tags=["submissions"])
    def my_submissions(challenge: str, request: Request) -> list[dict[str, Any]]:
        """Your team's submissions (every submission for the organiser), oldest first."""
        token = bearer(request)
        definition = db.definition(challenge)
        organiser = db.is_organiser(challenge, token)
        team = None if organiser else team_of(token, challenge)
        now = clock()
        return [submission_json(r, definition, now, organiser=organiser)
                for r in queue.rows(db.engine, challenge)
                if organiser or (team is not None and r["team_id"] == team.id)]

    @app.get("/api/v1/challenges/{challenge}/leaderboard", tags=["leaderboard"])
    async def leaderboard(challenge: str, request: Request, phase: str | None = None
                          ) -> Response:
        """The phase's dynamic leaderboard (default: the current phase): team, rank, weighted
        score, mean Q, submissions used; per-task Q where the phase reveals it (always to the
        organiser token). At most one second old."""
        token = bearer(request)
        definition = db.cached_definition(challenge)
        if token is None and definition is not None:  # the public board, already encoded:
            now = clock()                              # served on the event loop, no thread
            ph = definition.phase(phase) if phase else definition.current_phase(now)
            body = boards.fresh(definition, ph, view_for(ph, now, organiser=False))
            if body is not None:
                return Response(body, media_type="application/json")
        return await run_in_threadpool(board_response, challenge, token, phase)

    def board_response(challenge: str, token: str | None, phase: str | None) -> Response:
        """The leaderboard route's answer, asking the database where needed (in a thread)."""
        definition = db.definition(challenge)
        now = clock()
        ph = definition.phase(phase) if phase else definition.current_phase(now)
        view = view_for(ph, now, organiser=token is not None and db.is_organiser(challenge, token))
        return Response(boards.encoded(definition, ph, view), media_type="application/json")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        from planetbench.challenge.pages import render_index

        now = clock()
        return HTMLResponse(render_index([db.definition(n) for n in db.names()], now))

    @app.get("/challenges/{challenge}", response_class=HTMLResponse, include_in_schema=False)
    def page(challenge: str, request: Request, phase: str | None = None) -> HTMLResponse:
        from planetbench.challenge.pages import render_challenge

        definition = db.definition(challenge)
        now = clock()
        ph = definition.phase(phase) if phase else definition.current_phase(now)
        board = boards.get(definition, ph)
        view = view_for(ph, now, organiser=False)
        return HTMLResponse(render_challenge(
            definition, ph, board_json(board, view), now,
            chart=rank_evolution_svg(board.evolution) if view.scores else "",
            base_url=str(request.base_url).rstrip("/")))

    @app.exception_handler(404)
    async def _not_found(request: Request, exc: Exception) -> Any:
        if request.url.path.startswith("/api/") or "text/html" not in request.headers.get(
                "accept", ""):
            return JSONResponse({"detail": "not found"}, status_code=404)
        return HTMLResponse("<!doctype html><title>Not found</title><h1>Not found</h1>",
                            status_code=404)

    app.state.db = db
    app.state.uploads = folder
    return app


__all__ = ["BoardCache", "bearer", "create_app", "phase_info", "status_of",
           "submission_json"]
