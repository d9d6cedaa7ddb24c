"""Schema versions of the results store, migrated with Alembic when a store is opened.

Revisions (``versions/``):

- ``0001``: the planetbench 0.1 schema. A 0.1 store has no ``alembic_version`` table; it is
  recognised by its ``runs`` table, stamped at this revision and upgraded.
- ``0002``: column ``method`` renamed ``model``; text columns unbounded on every back-end;
  ``run_key`` unique. Duplicate rows of a run are collapsed to the first stored one; the others
  move to the table ``runs_duplicates`` and are reported in :class:`SchemaUpgrade`.
- ``0003``: table ``retractions``, the record of every ``planetbench store retract`` (what was
  removed, why, when, and the removed rows themselves).

:func:`upgrade` runs on a connection the caller has opened inside a transaction that holds the
store's migration lock (see :class:`planetbench.store.ResultStore`), so concurrent openers of one
store migrate it exactly once. Alembic is imported only when a migration is due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: The newest schema revision this version of planetbench writes.
HEAD = "0003"
#: The revision a store written by planetbench 0.1 (no version table) is stamped at.
BASELINE = "0001"
#: Table that receives the duplicate rows collapsed by revision 0002.
DUPLICATES_TABLE = "runs_duplicates"
#: Every revision this version knows, oldest first.
REVISIONS = ("0001", "0002", "0003")


@dataclass(frozen=True)
class CollapsedKey:
    """One run key that a 0.1 store held several rows of.

    Attributes:
        run_key: the run identity.
        kept_id: ``id`` of the row kept in ``runs`` (the first stored).
        moved_ids: ``id`` values of the rows moved to ``runs_duplicates``.
        scores_differ: True when the copies do not all have the same score.
    """

    run_key: str
    kept_id: int
    moved_ids: tuple[int, ...]
    scores_differ: bool


@dataclass(frozen=True)
class SchemaUpgrade:
    """What opening a store changed in its schema.

    Attributes:
        from_revision: revision before (``"0.1"`` for an unversioned 0.1 store, None for a new
            store).
        to_revision: revision after (:data:`HEAD`).
        collapsed: run keys whose duplicate rows were collapsed, in the order first stored.
    """

    from_revision: str | None
    to_revision: str
    collapsed: tuple[CollapsedKey, ...] = field(default=())

    @property
    def n_moved_rows(self) -> int:
        """Number of duplicate rows moved out of ``runs`` into ``runs_duplicates``."""
        return sum(len(c.moved_ids) for c in self.collapsed)

    def message(self, where: str, *, max_keys: int = 10) -> str:
        """One paragraph for the user: what was upgraded and which duplicates were collapsed."""
        before = "a new store" if self.from_revision is None else (
            f"schema {self.from_revision}"
        )
        text = f"results store {where}: upgraded {before} to schema {self.to_revision}"
        if not self.collapsed:
            return text + "."
        keys = [c.run_key for c in self.collapsed]
        shown = ", ".join(keys[:max_keys]) + (
            f", … ({len(keys) - max_keys} more)" if len(keys) > max_keys else ""
        )
        differ = sum(c.scores_differ for c in self.collapsed)
        return (
            f"{text}; {self.n_moved_rows} duplicate row(s) of {len(keys)} run key(s) were "
            f"collapsed (the first stored row of each kept, the others moved unchanged to table "
            f"{DUPLICATES_TABLE!r}; {differ} of these key(s) had copies with different scores): "
            f"{shown}"
        )


def current_revision(conn: Connection) -> str | None:
    """The store's schema revision: ``"0.1"`` for an unversioned 0.1 store, None when empty."""
    inspector = sa.inspect(conn)
    if inspector.has_table("alembic_version"):
        rev = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
        if rev is not None:
            return str(rev)
    return "0.1" if inspector.has_table("runs") else None


def upgrade(conn: Connection) -> SchemaUpgrade | None:
    """Bring the schema on ``conn`` to :data:`HEAD`; None when it is there already.

    The caller holds the migration lock and commits the transaction ``conn`` is in.
    """
    from alembic import command
    from alembic.config import Config

    before = current_revision(conn)
    if before == HEAD:
        return None
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent))
    cfg.attributes["connection"] = conn
    collapsed: list[CollapsedKey] = []
    cfg.attributes["collapsed"] = collapsed
    if before == "0.1":
        command.stamp(cfg, BASELINE)
    command.upgrade(cfg, HEAD)
    return SchemaUpgrade(from_revision=before, to_revision=HEAD, collapsed=tuple(collapsed))


__all__ = [
    "BASELINE",
    "DUPLICATES_TABLE",
    "HEAD",
    "REVISIONS",
    "CollapsedKey",
    "SchemaUpgrade",
    "current_revision",
    "upgrade",
]
