"""The participants' side: upload a file of embeddings to a challenge server, poll its status."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from planetbench.challenge.errors import (
    AuthenticationError,
    PhaseClosedError,
    QuotaExceededError,
    ServerError,
    UploadTooLargeError,
)
from planetbench.embedding.files import SUFFIXES
from planetbench.errors import (
    EmbeddingFileError,
    InvalidInputError,
    PlanetbenchError,
    UnknownNameError,
    require,
)

#: Server status → the error raised on the client.
ERRORS: dict[int, type[PlanetbenchError]] = {
    400: EmbeddingFileError,
    401: AuthenticationError,
    403: PhaseClosedError,
    404: UnknownNameError,
    413: UploadTooLargeError,
    429: QuotaExceededError,
}


def _raise_for(response: Any) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    kind = ERRORS.get(response.status_code, ServerError)
    raise kind(f"the server answered {response.status_code}: {detail}")


def _client(url: str, token: str, timeout_s: float) -> Any:
    httpx = require("httpx", "challenge")
    return httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s,  # type: ignore[attr-defined]
                        headers={"Authorization": f"Bearer {token}"})


def submit(
    path: str | Path,
    *,
    url: str,
    challenge: str,
    phase: str,
    token: str,
    timeout_s: float = 600.0,
) -> dict[str, Any]:
    """Upload ``path`` (streamed from disk); returns ``{"id", "status"}``.

    Raises:
        EmbeddingFileError: the file is not CSV/Parquet, or the server found it invalid.
        AuthenticationError, PhaseClosedError, QuotaExceededError, UploadTooLargeError,
        UnknownNameError: the server refused it (its message says why).
        ServerError: the server cannot be reached.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES or not path.is_file():
        raise EmbeddingFileError(
            f"embedding file {str(path)!r} " + ("does not exist" if not path.is_file() else
                                                f"has suffix {path.suffix!r}; allowed: "
                                                f"{', '.join(SUFFIXES)}"))
    import httpx

    try:
        with _client(url, token, timeout_s) as client, path.open("rb") as fh:
            response = client.post(
                f"/api/v1/challenges/{challenge}/phases/{phase}/submissions",
                files={"file": (path.name, fh, "application/octet-stream")})
    except httpx.HTTPError as exc:
        raise ServerError(f"cannot reach the challenge server at {url!r}: {exc}") from exc
    _raise_for(response)
    return dict(response.json())


def status(url: str, submission_id: str, token: str, timeout_s: float = 30.0) -> dict[str, Any]:
    """A submission's status (what its phase reveals)."""
    import httpx

    try:
        with _client(url, token, timeout_s) as client:
            response = client.get(f"/api/v1/submissions/{submission_id}")
    except httpx.HTTPError as exc:
        raise ServerError(f"cannot reach the challenge server at {url!r}: {exc}") from exc
    _raise_for(response)
    return dict(response.json())


def wait(url: str, submission_id: str, token: str, *, timeout_s: float = 600.0,
         poll_s: float = 2.0) -> dict[str, Any]:
    """Poll until the submission is scored or failed (or ``timeout_s`` passes)."""
    if timeout_s <= 0 or poll_s <= 0:
        raise InvalidInputError("timeout_s and poll_s must be positive")
    deadline = time.monotonic() + timeout_s
    while True:
        info = status(url, submission_id, token)
        if info["status"] in ("scored", "failed", "rejected") or time.monotonic() > deadline:
            return info
        time.sleep(poll_s)


__all__ = ["ERRORS", "status", "submit", "wait"]
