"""Alembic environment of the results store: migrations run on the connection handed in.

:func:`planetbench.store.migrations.upgrade` passes an open connection, already inside the
transaction that holds the migration lock, as ``config.attributes["connection"]``; every revision
runs in that transaction and is committed (or rolled back) with it. Importing this module outside
an Alembic run (an import checker, say) does nothing.
"""

from __future__ import annotations

from alembic import context


def run_migrations() -> None:
    """Run the pending revisions on the connection given in the Alembic config."""
    connection = context.config.attributes["connection"]
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


if hasattr(context, "config"):  # only inside an Alembic command
    run_migrations()
