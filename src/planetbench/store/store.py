"""ResultStore: append-only runs table on SQLAlchemy (SQLite file by default)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from planetbench.errors import InvalidInputError, StoreError
from planetbench.store.result import Result

STORE_ENV = "PLANETBENCH_STORE"

_metadata = sa.MetaData()
runs_table = sa.Table(
    "runs",
    _metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("model", sa.String(256), nullable=False, index=True),
    sa.Column("task", sa.String(256), nullable=False, index=True),
    sa.Column("protocol", sa.String(64), nullable=False),
    sa.Column("probe", sa.String(64), nullable=False),
    sa.Column("metric", sa.String(64), nullable=False),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("q", sa.Float, nullable=True),
    sa.Column("config_hash", sa.String(32), nullable=False),
    sa.Column("seed", sa.Integer, nullable=True),
    sa.Column("fraction", sa.Float, nullable=True),
    sa.Column("lr", sa.Float, nullable=True),
    sa.Column("n_splits", sa.Integer, nullable=True),
    sa.Column("input_sha256", sa.String(64), nullable=False),
    sa.Column("fold_scores", sa.JSON, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=False),
    sa.Column("efficiency", sa.JSON, nullable=False),
    sa.Column("timings", sa.JSON, nullable=False),
    sa.Column("versions", sa.JSON, nullable=False),
    sa.Column("config", sa.JSON, nullable=False),
    sa.Column("notes", sa.JSON, nullable=False),
)

_JSON_COLUMNS = ("fold_scores", "metrics", "efficiency", "timings", "versions", "config", "notes")


def default_store_url() -> str:
    """``$PLANETBENCH_STORE`` if set, else a SQLite file in the platform's user data directory."""
    env = os.environ.get(STORE_ENV)
    if env:
        return env
    from platformdirs import user_data_dir

    path = Path(user_data_dir("planetbench")) / "results.sqlite"
    return f"sqlite:///{path}"


def _normalise_url(url: str) -> str:
    """Accept a plain file path as shorthand for a SQLite URL."""
    if "://" in url:
        return url
    return f"sqlite:///{Path(url).expanduser().resolve()}"


def _finite_or_none(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if value == value and abs(value) != float("inf") else None


class ResultStore:
    """Append-only store of :class:`Result` rows.

    Args:
        url: SQLAlchemy URL (``sqlite:///path``, ``postgresql+psycopg://…``) or a file path.

    Writes are transactional: :meth:`add_many` stores all rows or none. SQLite files use WAL mode
    and a long busy timeout so that concurrent writers wait for each other instead of failing.
    """

    def __init__(self, url: str | None = None) -> None:
        self.url = _normalise_url(url or default_store_url())
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine, created (and the schema ensured) on first use."""
        if self._engine is None:
            self._engine = self._connect()
        return self._engine

    def _connect(self) -> Engine:
        is_sqlite = self.url.startswith("sqlite")
        try:
            if is_sqlite:
                db_path = self.url.split(":///", 1)[-1]
                if db_path and db_path != ":memory:":
                    Path(db_path).parent.mkdir(parents=True, exist_ok=True)
                engine = sa.create_engine(self.url, connect_args={"timeout": 120})

                @sa.event.listens_for(engine, "connect")
                def _pragmas(dbapi_conn: Any, _record: Any) -> None:
                    cur = dbapi_conn.cursor()
                    cur.execute("PRAGMA journal_mode=WAL")
                    cur.execute("PRAGMA busy_timeout=120000")
                    cur.close()

            else:
                engine = sa.create_engine(self.url, pool_pre_ping=True)
            _metadata.create_all(engine)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"cannot open results store {self.url!r}: {exc.__class__.__name__}: {exc}. "
                "Check the URL (e.g. sqlite:///results.sqlite or postgresql+psycopg://user@host/db) "
                f"or set {STORE_ENV}."
            ) from exc
        except OSError as exc:
            raise StoreError(
                f"cannot open results store {self.url!r}: {exc}. Choose a writable location with "
                f"--store or {STORE_ENV}."
            ) from exc
        except ModuleNotFoundError as exc:
            raise StoreError(
                f"cannot open results store {self.url!r}: the database driver {exc.name!r} is not "
                "installed (for PostgreSQL: pip install 'planetbench[postgres]')"
            ) from exc
        return engine

    def add(self, result: Result) -> None:
        """Append one result."""
        self.add_many([result])

    def add_many(self, results: Sequence[Result]) -> None:
        """Append several results in one transaction: all are stored, or none."""
        rows = [self._row(r) for r in results]
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                conn.execute(runs_table.insert(), rows)
        except SQLAlchemyError as exc:
            raise StoreError(
                f"writing {len(rows)} result(s) to {self.url!r} failed: {exc}"
            ) from exc

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

    def has(self, run_key: str) -> bool:
        """True when a run with this key is already stored (resume skips it)."""
        stmt = (
            sa.select(sa.func.count())
            .select_from(runs_table)
            .where(runs_table.c.run_key == run_key)
        )
        with self.engine.connect() as conn:
            return bool(conn.execute(stmt).scalar_one())

    def finished_keys(self, keys: Iterable[str] | None = None) -> set[str]:
        """The subset of ``keys`` (all keys if None) already stored."""
        stmt = sa.select(runs_table.c.run_key).distinct()
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

    def __len__(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).select_from(runs_table)).scalar_one()
            )


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
