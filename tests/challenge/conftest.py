"""Fixtures of the challenge tests: a store URL on SQLite and (where CI runs it) PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.challenge.helpers import fresh_postgres_url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh store: a SQLite file, or a new database on the test PostgreSQL server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite'}"
    return fresh_postgres_url()
