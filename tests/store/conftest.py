"""Store fixtures: the same tests against a SQLite file and a PostgreSQL database."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def backend_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a new, empty store: a SQLite file, or a PostgreSQL database (skips without one)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store' / 'results.sqlite'}"
    return str(request.getfixturevalue("postgres_url"))
