"""Schema migrations: a planetbench 0.1 store (column ``method``, duplicate run keys) upgrades
cleanly on SQLite and PostgreSQL; duplicates are reported and kept aside, never dropped."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from planetbench.errors import StoreError
from planetbench.store import Result, ResultStore, StoreUpgradeWarning
from planetbench.store.migrations import DUPLICATES_TABLE, HEAD, REVISIONS, current_revision
from planetbench.store.store import _metadata

# The runs table exactly as planetbench 0.1 created it (commit 36b49da, store/store.py).
_V01 = sa.MetaData()
sa.Table(
    "runs",
    _V01,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("run_key", sa.String(64), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("suite", sa.String(64), nullable=False),
    sa.Column("method", sa.String(256), nullable=False, index=True),
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


def _v01_row(method: str, seed: int, score: float) -> dict[str, Any]:
    """A row as 0.1 stored it (its run key is the one the current code computes too)."""
    r = Result(model=method, task="glid", protocol="probe", metric="miou", score=score,
               suite="cryo", seed=seed, config={"seed": seed})
    row: dict[str, Any] = {
        "run_key": r.run_key, "created_at": datetime.now(timezone.utc), "source": "planetbench",
        "suite": "cryo", "method": method, "task": "glid", "protocol": "probe", "probe": "",
        "metric": "miou", "score": score, "q": None, "config_hash": r.config_hash, "seed": seed,
        "fraction": None, "lr": None, "n_splits": None, "input_sha256": "",
    }
    for col in ("fold_scores", "notes"):
        row[col] = []
    for col in ("metrics", "efficiency", "timings", "versions"):
        row[col] = {}
    row["config"] = {"seed": seed}
    return row


def _write_v01_store(url: str, rows: list[dict[str, Any]]) -> None:
    database = sa.engine.make_url(url).database
    if url.startswith("sqlite") and database:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url)
    _V01.create_all(engine)
    with engine.begin() as conn:
        for row in rows:  # one by one, so ids follow the list order
            conn.execute(_V01.tables["runs"].insert(), row)
    engine.dispose()


def _key(method: str, seed: int) -> str:
    return str(_v01_row(method, seed, 0.0)["run_key"])


def test_v01_store_with_duplicates_upgrades_and_reports_them(backend_url: str) -> None:
    rows = [
        _v01_row("a", 0, 0.5),
        _v01_row("a", 1, 0.6),  # key A1, stored 3 times with the same score
        _v01_row("b", 0, 0.7),
        _v01_row("a", 1, 0.6),
        _v01_row("b", 1, 0.1),  # key B1, stored twice with different scores
        _v01_row("a", 1, 0.6),
        _v01_row("b", 1, 0.2),
    ]
    _write_v01_store(backend_url, rows)
    store = ResultStore(backend_url)
    with pytest.warns(StoreUpgradeWarning, match=r"3 duplicate row\(s\) of 2 run key\(s\)") as rec:
        df = store.query()
    # Other warnings may land here too (e.g. a ResourceWarning of a connection another test
    # left to the garbage collector): read the upgrade warning itself.
    (message,) = [str(w.message) for w in rec if issubclass(w.category, StoreUpgradeWarning)]
    assert _key("a", 1) in message and _key("b", 1) in message
    assert f"moved unchanged to table {DUPLICATES_TABLE!r}" in message
    assert "1 of these key(s) had copies with different scores" in message

    upgrade = store.upgrade
    assert upgrade is not None and upgrade.from_revision == "0.1" and upgrade.to_revision == HEAD
    assert [(c.run_key, c.kept_id, c.moved_ids, c.scores_differ) for c in upgrade.collapsed] == [
        (_key("a", 1), 2, (4, 6), False),
        (_key("b", 1), 5, (7,), True),
    ]
    # Kept: the first stored row of each key, renamed column, nothing else touched.
    assert df["id"].tolist() == [1, 2, 3, 5]
    assert df["model"].tolist() == ["a", "a", "b", "b"]
    assert df["score"].tolist() == [0.5, 0.6, 0.7, 0.1]
    assert "method" not in df.columns
    assert store.n_duplicates_kept() == 3
    with store.engine.connect() as conn:
        moved = conn.execute(sa.text(f"SELECT id, score FROM {DUPLICATES_TABLE} ORDER BY id"))
        assert [tuple(r) for r in moved] == [(4, 0.6), (6, 0.6), (7, 0.2)]
        assert current_revision(conn) == HEAD

    # From now on each run is stored once.
    again = Result(model="b", task="glid", protocol="probe", metric="miou", score=0.9,
                   suite="cryo", seed=1, config={"seed": 1})
    assert again.run_key == _key("b", 1)
    summary = store.add(again)
    assert (summary.n_new, summary.n_present) == (0, 1)
    assert len(store) == 4

    # A second open finds the store current: no second upgrade, no warning.
    reopened = ResultStore(backend_url)
    assert len(reopened) == 4 and reopened.upgrade is None


def test_upgraded_schema_equals_the_declared_one(backend_url: str) -> None:
    """The migrations build exactly the table the code declares (a 0.1 store and a new one)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    _write_v01_store(backend_url, [_v01_row("a", 0, 0.5)])
    store = ResultStore(backend_url)
    assert len(store) == 1
    with store.engine.connect() as conn:
        # SQLite keeps the 0.1 column types (it never enforced VARCHAR lengths).
        context = MigrationContext.configure(
            conn, opts={"compare_type": conn.dialect.name != "sqlite"}
        )
        assert compare_metadata(context, _metadata) == []
        indexes = {i["name"]: i for i in sa.inspect(conn).get_indexes("runs")}
    assert indexes["uq_runs_run_key"]["unique"]
    assert set(indexes) == {"uq_runs_run_key", "ix_runs_model", "ix_runs_task"}


def test_new_store_is_created_at_head_without_warning(backend_url: str) -> None:
    import warnings

    store = ResultStore(backend_url)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(store) == 0
    assert store.upgrade is not None and store.upgrade.from_revision is None
    assert store.schema_revision() == HEAD == REVISIONS[-1]


def test_long_names_are_stored_alike_on_every_backend(backend_url: str) -> None:
    """Text columns are unbounded on both back-ends (PostgreSQL enforced VARCHAR(256) in 0.1
    only when writing, after the compute)."""
    name = "m" * 5000
    store = ResultStore(backend_url)
    store.add(Result(model=name, task="t" * 300, protocol="p" * 100, metric="r2", score=1.0,
                     suite="s" * 100, probe="q" * 100))
    assert store.query()["model"].tolist() == [name]


def test_store_of_a_newer_planetbench_is_refused(backend_url: str) -> None:
    assert len(ResultStore(backend_url)) == 0
    engine = sa.create_engine(backend_url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(StoreError, match=r"revision '9999', newer than this planetbench.*-U"):
        len(ResultStore(backend_url))


def test_read_only_v01_store_needing_an_upgrade_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    _write_v01_store(f"sqlite:///{path}", [_v01_row("a", 0, 0.5), _v01_row("a", 0, 0.5)])
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    with pytest.raises(StoreError, match=r"needs a schema upgrade .* cannot be written.*readonly"):
        len(ResultStore(url))
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:  # untouched: still 0.1, both rows there
        assert current_revision(conn) == "0.1"
        assert conn.execute(sa.text("SELECT COUNT(*) FROM runs")).scalar_one() == 2
    engine.dispose()
