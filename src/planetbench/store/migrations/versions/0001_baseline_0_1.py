"""Baseline: the runs table as planetbench 0.1 wrote it.

A store written by planetbench 0.1 has this schema and no ``alembic_version`` table; it is stamped
at this revision, then upgraded. A new store is created by this revision and upgraded at once.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the planetbench 0.1 runs table (column ``method``, bounded strings, no unique key)."""
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_key", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("suite", sa.String(64), nullable=False),
        sa.Column("method", sa.String(256), nullable=False),
        sa.Column("task", sa.String(256), nullable=False),
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
    op.create_index("ix_runs_run_key", "runs", ["run_key"])
    op.create_index("ix_runs_method", "runs", ["method"])
    op.create_index("ix_runs_task", "runs", ["task"])


def downgrade() -> None:
    """Not supported: results stores are upgraded only."""
    raise NotImplementedError("results stores are upgraded only")
