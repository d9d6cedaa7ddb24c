"""Column ``method`` becomes ``model``; text columns are unbounded; ``run_key`` is unique.

Stores written by planetbench 0.1 may hold several rows of one run (concurrent writers raced
past the check-then-insert). The first stored row of each run key is kept; the others are moved,
unchanged, into the table ``runs_duplicates`` and reported (how many, which keys, whether their
scores differ) through :class:`planetbench.store.migrations.SchemaUpgrade`. Nothing is dropped.

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02
"""

from __future__ import annotations

import math

import sqlalchemy as sa
from alembic import context, op

from planetbench.store.migrations import DUPLICATES_TABLE, CollapsedKey

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Columns that were VARCHAR(n) in 0.1: PostgreSQL enforced n only when writing, after the
#: compute, while SQLite ignores it; both back-ends now store unbounded text.
_TEXT_COLUMNS = {
    "run_key": 64,
    "source": 32,
    "suite": 64,
    "model": 256,
    "task": 256,
    "protocol": 64,
    "probe": 64,
    "metric": 64,
    "config_hash": 32,
    "input_sha256": 64,
}


def upgrade() -> None:
    """Rename ``method``, unbound the text columns, collapse duplicates, make run_key unique."""
    bind = op.get_bind()
    inspector = sa.inspect(bind)
    columns = {c["name"] for c in inspector.get_columns("runs")}
    indexes = {i["name"] for i in inspector.get_indexes("runs")}
    if "method" in columns:
        if "ix_runs_method" in indexes:
            op.drop_index("ix_runs_method", "runs")
        op.execute("ALTER TABLE runs RENAME COLUMN method TO model")
    if "ix_runs_model" not in indexes:
        op.create_index("ix_runs_model", "runs", ["model"])
    if bind.dialect.name != "sqlite":  # SQLite never enforced the lengths
        for name, length in _TEXT_COLUMNS.items():
            op.alter_column("runs", name, type_=sa.Text(), existing_type=sa.String(length),
                            existing_nullable=False)
    context.config.attributes.setdefault("collapsed", []).extend(_collapse_duplicates(bind))
    if "ix_runs_run_key" in indexes:
        op.drop_index("ix_runs_run_key", "runs")
    op.create_index("uq_runs_run_key", "runs", ["run_key"], unique=True)


def _collapse_duplicates(bind: sa.engine.Connection) -> list[CollapsedKey]:
    """Keep the first stored row of each run key; move the others into ``runs_duplicates``."""
    rows = bind.execute(sa.text(
        "SELECT id, run_key, score FROM runs WHERE run_key IN "
        "(SELECT run_key FROM runs GROUP BY run_key HAVING COUNT(*) > 1) ORDER BY run_key, id"
    )).all()
    if not rows:
        return []
    groups: dict[str, list[tuple[int, float | None]]] = {}
    for row_id, key, score in rows:
        groups.setdefault(key, []).append((int(row_id), score))
    later = "id NOT IN (SELECT MIN(id) FROM runs GROUP BY run_key)"
    op.execute(f"CREATE TABLE {DUPLICATES_TABLE} AS SELECT * FROM runs WHERE {later}")
    op.execute(f"DELETE FROM runs WHERE {later}")
    return [
        CollapsedKey(
            run_key=key,
            kept_id=copies[0][0],
            moved_ids=tuple(i for i, _ in copies[1:]),
            scores_differ=len({_score_text(s) for _, s in copies}) > 1,
        )
        for key, copies in sorted(groups.items(), key=lambda kv: kv[1][0][0])
    ]


def _score_text(score: float | None) -> str:
    if score is None or (isinstance(score, float) and math.isnan(score)):
        return "null"
    return repr(float(score))


def downgrade() -> None:
    """Not supported: results stores are upgraded only."""
    raise NotImplementedError("results stores are upgraded only")
