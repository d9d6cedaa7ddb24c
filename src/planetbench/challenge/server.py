"""Running the challenge server: uvicorn on the FastAPI app, plus scoring worker processes."""

from __future__ import annotations

from pathlib import Path

from planetbench.challenge.worker import LEASE_S, start_worker_processes, stop_worker_processes
from planetbench.errors import ConfigError, require


def serve(
    url: str | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    uploads: str | Path | None = None,
    lease_s: float = LEASE_S,
    poll_s: float = 1.0,
    log_level: str = "info",
) -> None:
    """Serve the challenges of the store at ``url`` until interrupted.

    Args:
        url: store URL (default store when None).
        host: interface to listen on (127.0.0.1: this machine only).
        port: TCP port.
        workers: scoring worker processes to start beside the server (0: none; start them with
            ``planetbench challenge worker``, on any machine).
        uploads: uploads folder (default: beside a SQLite store, else the user data folder).
        lease_s: lease of each claim in seconds.
        poll_s: seconds an idle worker waits before looking at the queue again.
        log_level: uvicorn's log level.

    Raises:
        ConfigError: a negative number of workers or a bad port.
        MissingDependencyError: the ``challenge`` extra is not installed.
    """
    if workers < 0:
        raise ConfigError(f"--workers must be 0 or more; got {workers}")
    if not 0 <= port <= 65535:
        raise ConfigError(f"--port must be in 0..65535; got {port}")
    require("fastapi", "challenge")
    uvicorn = require("uvicorn", "challenge")
    from planetbench.challenge.app import create_app

    app = create_app(url, uploads)
    db = app.state.db
    db.engine  # noqa: B018 - create the tables before the workers race to do it
    folder: Path = app.state.uploads
    procs = start_worker_processes(db.url, folder, workers, lease_s=lease_s, poll_s=poll_s)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level)  # type: ignore[attr-defined]
    finally:
        stop_worker_processes(procs)


__all__ = ["serve"]
