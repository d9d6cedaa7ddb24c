"""Table ``retractions``: the record of every ``planetbench store retract``.

A retraction removes the rows of one import (``config["import_id"]``) or of one run key from
``runs``; the row of this table says what was asked (``selector``: ``import`` or ``run_key``, and
its ``value``), why (``reason``), when, how many rows went, their run keys, and the removed rows
themselves (``rows``, as stored), so nothing retracted is lost and nothing is removed silently.

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the ``retractions`` table."""
    op.create_table(
        "retractions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("retracted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("selector", sa.Text, nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("n_rows", sa.Integer, nullable=False),
        sa.Column("run_keys", sa.JSON, nullable=False),
        sa.Column("rows", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    """Not supported: results stores are upgraded only."""
    raise NotImplementedError("results stores are upgraded only")
