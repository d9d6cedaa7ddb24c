"""Errors of challenge mode; each maps to one HTTP status of the challenge server.

They are :class:`~planetbench.errors.PlanetbenchError` subclasses (and inherit the matching
builtin), so the CLI reports them as one line with exit code 2.
"""

from __future__ import annotations

from planetbench.errors import InvalidInputError, PlanetbenchError


class AuthenticationError(PlanetbenchError, PermissionError):
    """A team or organiser token is missing or wrong (HTTP 401)."""


class PhaseClosedError(PlanetbenchError, PermissionError):
    """A submission arrived outside its phase's window (HTTP 403)."""


class QuotaExceededError(PlanetbenchError, RuntimeError):
    """A team has used up its submissions for the phase or the day (HTTP 429)."""


class UploadTooLargeError(InvalidInputError):
    """An upload is larger than the challenge allows (HTTP 413)."""


class ServerError(PlanetbenchError, ConnectionError):
    """The challenge server cannot be reached or answered with an unexpected error."""


__all__ = [
    "AuthenticationError",
    "PhaseClosedError",
    "QuotaExceededError",
    "ServerError",
    "UploadTooLargeError",
]
