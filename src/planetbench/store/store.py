"""ResultStore: append-only runs table on SQLAlchemy (SQLite file by default).

Each run is stored once: ``run_key`` is unique and every insert is an insert-or-ignore
(``INSERT … ON CONFLICT (run_key) DO NOTHING`` on SQLite and PostgreSQL), so concurrent identical
work stores one row and concurrent distinct work loses nothing. The schema is versioned and
migrated with Alembic (:mod:`planetbench.store.migrations`) when a store is first used, under a
lock (``BEGIN IMMEDIATE`` on SQLite, a transaction-scoped advisory lock on PostgreSQL), so many
processes may open a new or old store at once.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from planetbench.errors import InvalidInputError, StoreError
from planetbench.store.migrations import HEAD, REVISIONS, SchemaUpgrade, current_revision
from planetbench.store.result import Result

STORE_ENV = "PLANETBENCH_STORE"

#: Key of the PostgreSQL advisory lock that serialises schema migrations of one database.
_PG_MIGRATION_LOCK = 0x706C616E6574  # "planet"

_metadata = sa.MetaData()
runs_table = sa.Table(
    "runs",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("suite", sa.Text, nullable=False),
    sa.Column("model", sa.Text, nullable=False, index=True),
    sa.Column("task", sa.Text, nullable=False, index=True),
    sa.Column("protocol", sa.Text, nullable=False),
    sa.Column("probe", sa.Text, nullable=False),
    sa.Column("metric", sa.Text, nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("q", sa.Float, nullable=True),
    sa.Column("config_hash", sa.Text, nullable=False),
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("fraction", sa.Float, nullable=True),
    sa.Column("lr", sa.Float, nullable=True),
    sa.Column("n_splits", sa.Integer, nullable=True),
    sa.Column("input_sha256", sa.Text, nullable=False),
    sa.Column("fold_scores", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("efficiency", sa.JSON, nullable=False),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("versions", sa.JSON, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("notes", sa.JSON, nullable=False),
    sa.Index("uq_runs_run_key", "run_key", unique=True),
)
"""The schema at revision :data:`planetbench.store.migrations.HEAD` (the migrations build it)."""

_JSON_COLUMNS = ("fold_scores", "metrics", "efficiency", "timings", "versions", "config", "notes")

retractions_table = sa.Table(
    "retractions",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("selector", sa.Text, nullable=False),
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("n_rows", sa.Integer, nullable=False),
    sa.Column("run_keys", sa.JSON, nullable=False),
    sa.Column("rows", sa.JSON, nullable=False),
)
"""The record of every retraction (revision 0003): what was removed, why, and the rows."""

#: What a retraction selects rows by.
RETRACT_SELECTORS: tuple[str, ...] = ("import", "run_key")


class StoreUpgradeWarning(UserWarning):
    """Opening a store upgraded its schema and collapsed duplicate rows (see the message)."""


@dataclass(frozen=True)
class AddSummary:
    """What :meth:`ResultStore.add_many` did.

    Attributes:
        n_new: rows stored by this call.
        n_present: rows not stored because a run with the same ``run_key`` was already there
            (stored earlier, by a concurrent writer, or earlier in the same batch).
    """

    n_new: int
    n_present: int


@dataclass(frozen=True)
class RetractSummary:
    """What :meth:`ResultStore.retract` did.

    Attributes:
        retraction_id: the ``id`` of the row recording it in table ``retractions``.
        selector: ``import`` or ``run_key``.
        value: the import id or run key.
        n_rows: rows removed from ``runs``.
    """

    retraction_id: int
    selector: str
    value: str
    n_rows: int


def default_store_url() -> str:
    """``$PLANETBENCH_STORE`` if set, else a SQLite file in the platform's user data directory."""
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    return f"sqlite:///{_default_store_path()}"


def _default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("planetbench")) / "results.sqlite"


_CHOOSE_FILE = (
    "give a file instead, e.g. --store results.sqlite or --store sqlite:////abs/path/results.sqlite"
    f" (or set ${STORE_ENV})"
)


def _normalise_url(url: str | None) -> str:
    """The store URL to use: ``url`` (a plain path means a SQLite file) or the default store.

    Raises:
        InvalidInputError: an empty URL, an unparsable one, or an in-memory SQLite database
            (its results would vanish when the process ends).
    """
    if url is None:
        url = default_store_url()
    elif not url.strip():
        raise InvalidInputError(
            f"store URL {url!r} (--store or ${STORE_ENV}) is empty: results would have gone to "
            "the default store "
            f"({default_store_url()}); omit --store to use it on purpose, or {_CHOOSE_FILE}"
        )
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    try:
        parsed = sa.engine.make_url(url)
    except ArgumentError as exc:
        raise InvalidInputError(
            f"store URL {url!r} (--store or ${STORE_ENV}) is not a database URL ({exc}); use "
            "sqlite:///path/results.sqlite, "
            "postgresql+psycopg://user@host/db or a file path"
        ) from exc
    if parsed.get_backend_name() == "sqlite" and _sqlite_in_memory(parsed):
        raise InvalidInputError(
            f"store URL {url!r} (--store or ${STORE_ENV}) is an in-memory SQLite database: "
            "results would have gone to this "
            f"process's memory and vanished when it ends; {_CHOOSE_FILE}"
        )
    return url


def _sqlite_in_memory(parsed: sa.engine.URL) -> bool:
    database = parsed.database or ""
    mode = parsed.query.get("mode")
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or mode == "memory"
        or (isinstance(mode, tuple) and "memory" in mode)
        or "mode=memory" in database
    )


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


class ResultStore:
    """Append-only store of :class:`Result` rows, one per run.

    Args:
        url: SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://…``) or a file path;
            None means :func:`default_store_url`.

    Raises:
        InvalidInputError: ``url`` is empty, unparsable, or an in-memory SQLite database.

    Writes are transactional (:meth:`add_many` stores all new rows or none) and idempotent: a run
    whose ``run_key`` is already stored is not stored again. SQLite files use WAL mode and a long
    busy timeout so that concurrent writers wait for each other instead of failing. The schema is
    created or upgraded on first use; an upgrade that collapsed duplicate rows of an old store
    is reported with a :class:`StoreUpgradeWarning` and kept in :attr:`upgrade`.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = _normalise_url(url)
        self._engine: Engine | None = None
        self.upgrade: SchemaUpgrade | None = None

    @property
    def where(self) -> str:
        """The store's location for messages (password hidden)."""
        try:
            return sa.engine.make_url(self.url).render_as_string(hide_password=True)
        except ArgumentError:
            return self.url

    @property
    def is_sqlite(self) -> bool:
        """True for a SQLite store."""
        return self.url.startswith("sqlite")

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created (and the schema migrated) on first use."""
        if self._engine is None:
            engine = self._create_engine()
            self._migrate(engine)
            self._engine = engine
        return self._engine

    # ------------------------------------------------------------------------ open and migrate

    def _sqlite_path(self) -> Path | None:
        database = sa.engine.make_url(self.url).database or ""
        if database.startswith("file:"):
            database = database[len("file:"):].split("?", 1)[0]
        return Path(database) if database else None

    def _create_engine(self) -> Engine:
        try:
            if not self.is_sqlite:
                return sa.create_engine(self.url, pool_pre_ping=True)
            path = self._sqlite_path()
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(self.url, connect_args={"timeout": 120})
            sa.event.listen(engine, "connect", sqlite_connect)
            sa.event.listen(engine, "begin", sqlite_begin)
            return engine
        except OSError as exc:
            raise StoreError(
                f"cannot open results store {self.where}: {exc}. Choose a writable location "
                f"with --store or {STORE_ENV}."
            ) from exc
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"cannot open results store {self.where}: the database driver {exc.name!r} is "
                "not installed (for PostgreSQL: pip install 'planetbench[postgres]')"
            ) from exc
        except (SQLAlchemyError, ArgumentError) as exc:
            raise self._open_error(exc) from exc

    def _open_error(self, exc: BaseException) -> StoreError:
        return StoreError(
            f"cannot open results store {self.where}: {exc.__class__.__name__}: {exc}. Check the "
            "URL (e.g. sqlite:///results.sqlite or postgresql+psycopg://user@host/db) or set "
            f"{STORE_ENV}."
        )

    def _migrate(self, engine: Engine) -> None:
        """Create or upgrade the schema to HEAD, once, whoever else opens the store meanwhile."""
        try:
            with engine.connect() as conn:
                revision = current_revision(conn)
            if revision == HEAD:
                return
            self._refuse_unknown(revision)
            with write_transaction(engine) as conn:
                if engine.dialect.name == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_MIGRATION_LOCK})
                self._refuse_unknown(current_revision(conn))
                from planetbench.store.migrations import upgrade

                self.upgrade = upgrade(conn)
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"cannot open results store {self.where}: the database driver {exc.name!r} is "
                "not installed (for PostgreSQL: pip install 'planetbench[postgres]')"
            ) from exc
        except SQLAlchemyError as exc:
            if _is_read_only_error(exc):
                raise StoreError(
                    f"results store {self.where} needs a schema upgrade (to {HEAD}) but cannot be "
                    f"written: {_reason(exc)}. Open it once with write access, or choose another "
                    f"store with --store or {STORE_ENV}."
                ) from exc
            raise self._open_error(exc) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open results store {self.where}: {exc}. Choose a writable location "
                f"with --store or {STORE_ENV}."
            ) from exc
        if self.upgrade is not None and self.upgrade.collapsed:
            warnings.warn(self.upgrade.message(self.where), StoreUpgradeWarning, stacklevel=3)

    def _refuse_unknown(self, revision: str | None) -> None:
        if revision is not None and revision != "0.1" and revision not in REVISIONS:
            raise StoreError(
                f"results store {self.where} has schema revision {revision!r}, newer than this "
                f"planetbench knows ({HEAD}); upgrade planetbench (pip install -U planetbench)"
            )

    def check_writable(self) -> None:
        """Check, cheaply and before any compute, that results can be written to this store.

        Opens the store (creating or upgrading its schema) and performs a write that touches no
        row, in a transaction that is rolled back.

        Raises:
            StoreError: the store is read-only (file or folder permissions, a read-only
                connection, a database user without INSERT); the message says where and why.
        """
        if self.is_sqlite:
            self._check_sqlite_permissions()
        cols = ", ".join(c.name for c in runs_table.c if c.name != "id")
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                transaction = conn.begin()
                try:
                    conn.execute(sa.text(
                        f"INSERT INTO runs ({cols}) SELECT {cols} FROM runs WHERE 1 = 0"
                    ))
                finally:
                    transaction.rollback()
        except SQLAlchemyError as exc:
            raise StoreError(
                f"results store {self.where} is not writable: {_reason(exc)}. Nothing was "
                f"computed; choose a writable store with --store or {STORE_ENV}, or fix its "
                "permissions."
            ) from exc

    def _check_sqlite_permissions(self) -> None:
        path = self._sqlite_path()
        if path is None:
            return
        path = path.expanduser().absolute()
        folder = next((p for p in (path.parent, *path.parent.parents) if p.exists()), None)
        if path.exists():
            if not os.access(path, os.R_OK | os.W_OK):
                raise StoreError(
                    f"results store {self.where} is not writable: the file {path} is read-only "
                    f"for this user. Nothing was computed; choose a writable store with --store "
                    f"or {STORE_ENV}, or make the file writable."
                )
        if folder is not None and not os.access(folder, os.W_OK | os.X_OK):
            what = "file" if path.exists() else "store"
            raise StoreError(
                f"results store {self.where} is not writable: the folder {folder} is read-only "
                f"for this user (SQLite creates its {what} and journal files there). Nothing was "
                f"computed; choose a writable store with --store or {STORE_ENV}."
            )

    # ----------------------------------------------------------------------------------- write

    def add(self, result: Result) -> AddSummary:
        """Store one result unless its run is already stored."""
        return self.add_many([result])

    def add_many(self, results: Sequence[Result]) -> AddSummary:
        """Store several results in one transaction; runs already stored are skipped.

        Returns:
            How many rows were new and how many were already present (by ``run_key``).

        Raises:
            InvalidInputError: a result without a model or task (nothing is stored).
            StoreError: the database refused the write (nothing is stored).
        """
        rows = [self._row(r) for r in results]
        if not rows:
            return AddSummary(0, 0)
        try:
            with write_transaction(self.engine) as conn:
                n_new = _insert_or_ignore(conn, rows)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"writing {len(rows)} result(s) to {self.where} failed: {_reason(exc)}"
            ) from exc
        return AddSummary(n_new=n_new, n_present=len(rows) - n_new)

    @staticmethod
    def _row(r: Result) -> dict[str, Any]:
        if not r.model or not r.task:
            raise InvalidInputError("a result needs a non-empty model and task")
        row = {
            "run_key": r.run_key,
            "created_at": datetime.now(timezone.utc),
            "source": r.source,
            "suite": r.suite,
            "model": r.model,
            "task": r.task,
            "protocol": r.protocol,
            "probe": r.probe,
            "metric": r.metric,
            "score": _finite_or_none(r.score),
            "q": _finite_or_none(r.q),
            "config_hash": r.config_hash,
            "seed": r.seed,
            "fraction": r.fraction,
            "lr": r.lr,
            "n_splits": r.n_splits,
            "input_sha256": r.input_sha256,
        }
        for col in _JSON_COLUMNS:
            # Round-trip through JSON text so NaN/inf become null and numpy scalars plain numbers.
            row[col] = json.loads(json.dumps(getattr(r, col), default=_json_default))
        return row

    def retract(self, *, selector: str, value: str, reason: str = "") -> RetractSummary:
        """Remove the rows of one import or of one run key, and record it.

        In one transaction the rows leave ``runs`` and a row of ``retractions`` records the
        selector, the reason, the time, the run keys and the removed rows themselves (as
        stored), so a retraction is never silent and loses nothing.

        Args:
            selector: ``import`` (rows whose ``config["import_id"]`` is ``value``, as printed
                by ``planetbench import``) or ``run_key``.
            value: the import id or the run key.
            reason: why, recorded with the retraction.

        Returns:
            The :class:`RetractSummary`.

        Raises:
            InvalidInputError: unknown selector, empty value, or no row matches (nothing is
                recorded).
            StoreError: the store could not be written (nothing changes).
        """
        if selector not in RETRACT_SELECTORS:
            raise InvalidInputError(
                f"retract selector {selector!r} is unknown; use one of {list(RETRACT_SELECTORS)}"
            )
        if not str(value).strip():
            raise InvalidInputError(f"retract --{selector.replace('_', '-')} needs a value")
        try:
            with write_transaction(self.engine) as conn:
                rows = [dict(r._mapping) for r in conn.execute(
                    sa.select(runs_table).order_by(runs_table.c.id)
                    if selector == "import"
                    else sa.select(runs_table).where(runs_table.c.run_key == value)
                )]
                if selector == "import":
                    rows = [r for r in rows if isinstance(r["config"], dict)
                            and r["config"].get("import_id") == value]
                if not rows:
                    raise InvalidInputError(
                        f"no stored row has {selector} {value!r}; import ids are printed by "
                        "`planetbench import` and kept in each row's config.import_id, run keys "
                        "in column run_key (planetbench export runs.csv)"
                    )
                ids = [r["id"] for r in rows]
                conn.execute(runs_table.delete().where(runs_table.c.id.in_(ids)))
                kept = [{k: (v.isoformat() if isinstance(v, datetime) else v)
                         for k, v in r.items()} for r in rows]
                result = conn.execute(retractions_table.insert().values(
                    retracted_at=datetime.now(timezone.utc), selector=selector,
                    value=str(value), reason=reason, n_rows=len(rows),
                    run_keys=[r["run_key"] for r in rows],
                    rows=json.loads(json.dumps(kept, default=_json_default)),
                ))
                key = result.inserted_primary_key
                retraction_id = int(key[0]) if key is not None else -1
        except SQLAlchemyError as exc:
            raise StoreError(f"retracting from {self.where} failed: {_reason(exc)}") from exc
        return RetractSummary(retraction_id, selector, str(value), len(rows))

    def retractions(self) -> pd.DataFrame:
        """The recorded retractions (without the removed rows), oldest first."""
        cols = [c for c in retractions_table.c if c.name != "rows"]
        with self.engine.connect() as conn:
            out = [dict(r._mapping) for r in conn.execute(
                sa.select(*cols).order_by(retractions_table.c.id))]
        return pd.DataFrame(out, columns=[c.name for c in cols])

    # ------------------------------------------------------------------------------------ read

    def has(self, run_key: str) -> bool:
        """True when a run with this key is already stored (resume skips it)."""
        stmt = sa.select(runs_table.c.id).where(runs_table.c.run_key == run_key).limit(1)
        with self.engine.connect() as conn:
            return conn.execute(stmt).first() is not None

    def finished_keys(self, keys: Iterable[str] | None = None) -> set[str]:
        """The subset of ``keys`` (all keys if None) already stored."""
        stmt = sa.select(runs_table.c.run_key)
        with self.engine.connect() as conn:
            stored = {row[0] for row in conn.execute(stmt)}
        return stored if keys is None else stored & set(keys)

    def query(self, **filters: Any) -> pd.DataFrame:
        """Rows as a DataFrame, filtered by column equality (a list value means "any of").

        Example: ``store.query(suite="neuco", protocol="probe")``.
        """
        stmt = sa.select(runs_table).order_by(runs_table.c.id)
        for name, value in filters.items():
            if value is None:
                continue
            if name not in runs_table.c:
                raise InvalidInputError(
                    f"cannot filter results by {name!r}; columns are: {', '.join(runs_table.c.keys())}"
                )
            col = runs_table.c[name]
            if isinstance(value, list | tuple | set):
                stmt = stmt.where(col.in_(list(value)))
            else:
                stmt = stmt.where(col == value)
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(stmt)]
        return pd.DataFrame(rows, columns=list(runs_table.c.keys()))

    def export(self, path: str | Path, **filters: Any) -> Path:
        """Write (filtered) rows to ``.csv`` or ``.parquet``; JSON columns are written as JSON text."""
        path = Path(path)
        df = self.query(**filters)
        for col in _JSON_COLUMNS:
            df[col] = df[col].map(lambda v: json.dumps(v, default=_json_default))
        df["created_at"] = df["created_at"].astype(str)
        if path.suffix == ".csv":
            df.to_csv(path, index=False)
        elif path.suffix == ".parquet":
            df.to_parquet(path, index=False)
        else:
            raise InvalidInputError(
                f"cannot export to {str(path)!r}: use a file name ending in .csv or .parquet"
            )
        return path

    def schema_revision(self) -> str | None:
        """The store's schema revision (:data:`planetbench.store.migrations.HEAD` once open)."""
        with self.engine.connect() as conn:
            return current_revision(conn)

    def n_duplicates_kept(self) -> int:
        """Rows in ``runs_duplicates``: duplicates of a 0.1 store collapsed by the upgrade."""
        from planetbench.store.migrations import DUPLICATES_TABLE

        with self.engine.connect() as conn:
            if not sa.inspect(conn).has_table(DUPLICATES_TABLE):
                return 0
            return int(conn.execute(
                sa.text(f"SELECT COUNT(*) FROM {DUPLICATES_TABLE}")
            ).scalar_one())

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(runs_table)).scalar_one()
            )


# ------------------------------------------------------------------------------------ helpers


def sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Per SQLite connection: wait up to 120 s for locks, WAL journal, explicit transactions."""
    dbapi_conn.isolation_level = None  # the "begin" listener emits BEGIN itself
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA busy_timeout=120000")
    mode = cur.execute("PRAGMA journal_mode").fetchone()
    if mode is None or str(mode[0]).lower() != "wal":
        try:
            cur.execute("PRAGMA journal_mode=WAL")
        except Exception:  # a read-only file keeps its journal mode; writes report it later
            pass
    cur.close()


def sqlite_begin(conn: Connection) -> None:
    """Begin SQLite transactions explicitly: ``BEGIN IMMEDIATE`` for writers (lock up front)."""
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A connection in a write transaction, committed on success, rolled back on error.

    On SQLite the transaction takes the write lock when it begins (``BEGIN IMMEDIATE``), so
    writers queue on the busy timeout instead of failing on a lock upgrade.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def _insert_or_ignore(conn: Connection, rows: list[dict[str, Any]]) -> int:
    """Insert ``rows`` skipping run keys already stored; return how many were inserted."""
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        else:
            from sqlalchemy.dialects.postgresql import insert  # type: ignore[assignment]
        stmt = insert(runs_table).on_conflict_do_nothing(index_elements=["run_key"])
        inserted = conn.execute(stmt.returning(runs_table.c.run_key), rows).all()
        return len(inserted)
    # Any other database: one savepoint per row, a unique violation means "already stored".
    n_new = 0
    for row in rows:
        try:
            with conn.begin_nested():
                conn.execute(runs_table.insert(), row)
            n_new += 1
        except sa.exc.IntegrityError:
            continue
    return n_new


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def _is_read_only_error(exc: SQLAlchemyError) -> bool:
    text = _reason(exc).lower()
    return any(s in text for s in (
        "readonly", "read-only", "read only", "permission denied", "unable to open database"
    ))


def _json_default(value: Any) -> Any:
    """JSON encoder fallback: NumPy scalars/arrays to Python, non-finite floats to None."""
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def open_store(url: str | None = None) -> ResultStore:
    """Open the store at ``url`` (or the default store)."""
    return ResultStore(url)
