"""The challenge tables (challenges, label files, teams, submissions) and their database engine.

They live in the same database as the results store (``runs`` table). Writes that must not race
(quota reservations, queue claims, schema creation) run in the results store's
:func:`~planetbench.store.store.write_transaction`: ``BEGIN IMMEDIATE``
on SQLite (one writer at a time, readers keep going in WAL mode) and ordinary transactions with
row locks (``FOR UPDATE`` / ``FOR UPDATE SKIP LOCKED``) and an advisory lock on PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from planetbench.errors import StoreError
from planetbench.store.store import sqlite_begin, sqlite_connect, write_transaction

metadata = sa.MetaData()

challenges_table = sa.Table(
    "challenges",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("definition", sa.JSON, nullable=False),
    sa.Column("organiser_token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("public_ids", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

label_files_table = sa.Table(
    "challenge_label_files",
    metadata,
    sa.Column("challenge", sa.String(64), sa.ForeignKey("challenges.name"), primary_key=True),
    sa.Column("file_name", sa.String(255), primary_key=True),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
)

teams_table = sa.Table(
    "challenge_teams",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("challenge", sa.String(64), sa.ForeignKey("challenges.name"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("baseline", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.UniqueConstraint("challenge", "name", name="uq_challenge_team_name"),
)

submissions_table = sa.Table(
    "challenge_submissions",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("challenge", sa.String(64), nullable=False),
    sa.Column("phase", sa.String(64), nullable=False),
    sa.Column("team_id", sa.Integer, sa.ForeignKey("challenge_teams.id"), nullable=False),
    # validating → queued → running → scored | failed; validating → rejected (bad file)
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=True),
    sa.Column("file_name", sa.String(128), nullable=True),
    sa.Column("size_bytes", sa.BigInteger, nullable=True),
    sa.Column("seed", sa.BigInteger, nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("lease_token", sa.String(32), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("worker", sa.String(128), nullable=True),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("scores", sa.JSON, nullable=True),
    sa.Column("mean_q", sa.Float, nullable=True),
    sa.Index("ix_challenge_submissions_queue", "status", "created_at"),
    sa.Index("ix_challenge_submissions_team", "team_id", "phase", "status"),
    sa.Index("ix_challenge_submissions_board", "challenge", "phase", "status"),
)

#: Statuses that use up quota (rejected files and failures on our side do not).
COUNTED_STATUSES = ("validating", "queued", "running", "scored")

#: Key of the PostgreSQL advisory lock taken while the schema is created.
_SCHEMA_LOCK_KEY = 0x706C616E  # "plan"


def is_sqlite(engine: Engine) -> bool:
    """Whether ``engine`` talks to SQLite."""
    return engine.dialect.name == "sqlite"


def make_engine(url: str) -> Engine:
    """An engine for ``url`` whose transactions we control, as the results store's are.

    On SQLite the store's connection and ``BEGIN`` handling (:func:`~planetbench.store.store.
    sqlite_connect`, :func:`~planetbench.store.store.sqlite_begin`: the driver's own
    transactions off, ``BEGIN IMMEDIATE`` in :func:`~planetbench.store.store.write_transaction`,
    WAL, a long busy timeout) plus foreign keys; shared by threads (``check_same_thread`` off).

    Raises:
        StoreError: the database cannot be opened, or its driver is missing.
    """
    try:
        if url.startswith("sqlite"):
            db_path = url.split(":///", 1)[-1]
            if db_path and db_path != ":memory:":
                Path(db_path).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 120,
                                                         "check_same_thread": False},
                                      pool_size=20, max_overflow=40)
            # the results store's connection and BEGIN handling, plus foreign keys
            sa.event.listen(engine, "connect", sqlite_connect)
            sa.event.listen(engine, "connect", _foreign_keys)
            sa.event.listen(engine, "begin", sqlite_begin)
        else:
            engine = sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=30)
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"cannot open store {url!r}: the database driver {exc.name!r} is not installed "
            "(for PostgreSQL: pip install 'planetbench[postgres]')"
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise StoreError(f"cannot open store {url!r}: {exc}") from exc
    return engine


def _foreign_keys(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def ensure_schema(engine: Engine) -> None:
    """Create the challenge tables if they are missing; safe when many processes start at once
    (an advisory lock on PostgreSQL, the single-writer lock on SQLite).

    Raises:
        StoreError: the database refused.
    """
    try:
        with write_transaction(engine) as conn:
            if engine.dialect.name == "postgresql":
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                             {"key": _SCHEMA_LOCK_KEY})
            metadata.create_all(conn, checkfirst=True)
    except SQLAlchemyError as exc:
        raise StoreError(f"cannot create the challenge tables in {engine.url!r}: {exc}") from exc


__all__ = [
    "COUNTED_STATUSES",
    "challenges_table",
    "ensure_schema",
    "is_sqlite",
    "label_files_table",
    "make_engine",
    "metadata",
    "submissions_table",
    "teams_table",
]
