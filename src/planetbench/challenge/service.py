"""ChallengeDB: create challenges and teams, authenticate tokens, read definitions and labels.

Tokens are random (``secrets``, 256 bits), shown once and stored only as their SHA-256 digest; a
digest of a high-entropy token cannot be inverted, so a leaked database leaks no token.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NoReturn

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from planetbench.challenge.definition import (
    ChallengeDefinition,
    as_json,
    check_definition,
    check_slug,
)
from planetbench.challenge.tables import (
    challenges_table,
    ensure_schema,
    label_files_table,
    make_engine,
    teams_table,
)
from planetbench.errors import ConfigError, UnknownNameError
from planetbench.store.store import write_transaction

TEAM_TOKEN_PREFIX = "pbt_"
ORGANISER_TOKEN_PREFIX = "pbo_"


def new_token(prefix: str) -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 hex digest of a token (what the database keeps)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def now_utc() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(timezone.utc)


def as_utc(value: datetime | None) -> datetime | None:
    """``value`` as aware UTC (SQLite returns naive datetimes that were stored as UTC)."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(
        timezone.utc)


@dataclass(frozen=True)
class Team:
    """A team of a challenge (``baseline`` marks the organisers' reference submissions)."""

    id: int
    challenge: str
    name: str
    baseline: bool


@dataclass(frozen=True)
class Created:
    """What ``create`` returns: the challenge and its organiser token (shown once)."""

    definition: ChallengeDefinition
    organiser_token: str


class ChallengeDB:
    """The challenge tables of one database (the results store's).

    Args:
        url: SQLAlchemy URL or SQLite file path (default: the results store's default).
    """

    def __init__(self, url: str | None = None) -> None:
        from planetbench.store import ResultStore

        self.url = ResultStore(url).url  # the store's URL normalisation; opens nothing
        self._engine: Engine | None = None
        self._definitions: dict[str, ChallengeDefinition] = {}

    @property
    def engine(self) -> Engine:
        """The engine, created (and the tables ensured) on first use."""
        if self._engine is None:
            engine = make_engine(self.url)
            ensure_schema(engine)
            self._engine = engine
        return self._engine

    def dispose(self) -> None:
        """Close every pooled connection."""
        if self._engine is not None:
            self._engine.dispose()

    # ------------------------------------------------------------------ challenges
    def create(self, definition: ChallengeDefinition) -> Created:
        """Check ``definition`` against its files and store it with copies of its label files.

        Raises:
            ConfigError: invalid definition, or a challenge of that name exists.
            LabelFileError, UnknownNameError: see :func:`check_definition`.
        """
        _, public = check_definition(definition)
        token = new_token(ORGANISER_TOKEN_PREFIX)
        files = {f.name: f.read_bytes() for f in sorted(Path(definition.labels).glob("*.csv"))}
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(challenges_table.insert().values(
                    name=definition.name, definition=as_json(definition),
                    organiser_token_hash=hash_token(token), public_ids="\n".join(public),
                    created_at=now_utc()))
                conn.execute(label_files_table.insert(), [
                    {"challenge": definition.name, "file_name": name, "content": content,
                     "sha256": hashlib.sha256(content).hexdigest()}
                    for name, content in files.items()
                ])
        except IntegrityError:
            raise ConfigError(
                f"a challenge named {definition.name!r} already exists in {self.url!r}; choose "
                "another `name:` or another --store"
            ) from None
        return Created(definition=definition, organiser_token=token)

    def names(self) -> list[str]:
        """Every challenge name, sorted."""
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(sa.select(challenges_table.c.name)))

    def cached_definition(self, name: str) -> ChallengeDefinition | None:
        """The definition of challenge ``name`` when already read (no database access)."""
        return self._definitions.get(name)

    def definition(self, name: str) -> ChallengeDefinition:
        """The stored definition of challenge ``name``.

        Raises:
            UnknownNameError: no such challenge (with did-you-mean).
        """
        if name in self._definitions:  # a stored challenge never changes
            return self._definitions[name]
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(challenges_table.c.definition)
                               .where(challenges_table.c.name == name)).first()
        if row is None:
            self._unknown(name)
        definition = ChallengeDefinition.model_validate(row[0])
        self._definitions[name] = definition
        return definition

    def _unknown(self, name: str) -> NoReturn:
        import difflib

        names = self.names()
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        listing = ", ".join(names) if names else "none yet (`planetbench challenge create`)"
        # The message may reach HTTP clients: it names challenges, never the database URL.
        raise UnknownNameError(f"no challenge {name!r}{hint} Challenges: {listing}")

    def public_ids(self, name: str) -> list[str]:
        """The ids participants embed."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(challenges_table.c.public_ids)
                               .where(challenges_table.c.name == name)).first()
        if row is None:
            self._unknown(name)
        return str(row[0]).split("\n")

    def task_names(self, name: str) -> list[str]:
        """The hidden task names (from the stored label file names), sorted."""
        from planetbench.embedding.labels import parse_label_file_name

        with self.engine.connect() as conn:
            files = conn.execute(sa.select(label_files_table.c.file_name)
                                 .where(label_files_table.c.challenge == name)).scalars().all()
        return sorted(parse_label_file_name(Path(f))[0] for f in files)

    def is_organiser(self, name: str, token: str | None) -> bool:
        """Whether ``token`` is the organiser token of challenge ``name``."""
        if not token:
            return False
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(challenges_table.c.organiser_token_hash)
                               .where(challenges_table.c.name == name)).first()
        return row is not None and secrets.compare_digest(str(row[0]), hash_token(token))

    @contextlib.contextmanager
    def label_folder(self, name: str) -> Iterator[Path]:
        """The challenge's label files written to a private temporary folder (0700), removed on
        exit. Workers read labels from the database, so they need no shared file system."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(label_files_table.c.file_name,
                                          label_files_table.c.content)
                                .where(label_files_table.c.challenge == name)).all()
        if not rows:
            self._unknown(name)
        with tempfile.TemporaryDirectory(prefix="planetbench-labels-") as tmp:
            folder = Path(tmp)
            folder.chmod(0o700)
            for file_name, content in rows:
                (folder / Path(file_name).name).write_bytes(content)
            yield folder

    # ------------------------------------------------------------------ teams
    def add_team(self, challenge: str, team: str, *, baseline: bool = False) -> tuple[Team, str]:
        """Register a team; returns it and its token (shown once, stored hashed).

        Raises:
            UnknownNameError: no such challenge.
            ConfigError: bad team name, or the name is taken.
        """
        check_slug(team, "team name")
        self.definition(challenge)
        token = new_token(TEAM_TOKEN_PREFIX)
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(teams_table.insert().values(
                    challenge=challenge, name=team, token_hash=hash_token(token),
                    baseline=baseline, created_at=now_utc()))
                new_id = conn.execute(sa.select(teams_table.c.id).where(
                    teams_table.c.challenge == challenge,
                    teams_table.c.name == team)).scalar_one()
        except IntegrityError:
            raise ConfigError(
                f"team {team!r} already exists in challenge {challenge!r}; choose another name"
            ) from None
        return Team(int(new_id), challenge, team, baseline), token

    def team_for_token(self, token: str | None) -> Team | None:
        """The team whose token this is, or None."""
        if not token:
            return None
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(teams_table)
                               .where(teams_table.c.token_hash == hash_token(token))).first()
        return None if row is None else _team(row._mapping)

    def teams(self, challenge: str) -> list[Team]:
        """Every team of a challenge, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(teams_table).where(teams_table.c.challenge == challenge)
                                .order_by(teams_table.c.name)).all()
        return [_team(r._mapping) for r in rows]

    def team(self, challenge: str, name: str) -> Team:
        """The team ``name`` of ``challenge``.

        Raises:
            UnknownNameError: no such team.
        """
        teams = {t.name: t for t in self.teams(challenge)}
        if name not in teams:
            import difflib

            close = difflib.get_close_matches(name, list(teams), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownNameError(f"challenge {challenge!r} has no team {name!r}{hint}")
        return teams[name]


def _team(row: Any) -> Team:
    return Team(id=int(row["id"]), challenge=str(row["challenge"]), name=str(row["name"]),
                baseline=bool(row["baseline"]))


__all__ = [
    "ChallengeDB",
    "Created",
    "Team",
    "as_utc",
    "hash_token",
    "new_token",
    "now_utc",
]
