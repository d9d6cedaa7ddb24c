"""Connected blocks of a results matrix: which models and tasks are tied together by measurements.

A capability encoding places two models relative to each other only through a chain of measured
cells (model A and model B on one task, B and C on another …). Results that fall into blocks
sharing no model and no task — say Cryo-Bench's models on its tasks and GEO-Bench-2's models on
theirs — give no such chain: fitted as one matrix, the distance between the blocks is arbitrary
and every prediction across them meaningless. :func:`connected_blocks` finds the blocks (the
connected components of the bipartite model–task graph of measured cells).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from planetbench.errors import InvalidInputError


@dataclass(frozen=True)
class Block:
    """One connected block of measured cells.

    Attributes:
        models: its models, sorted.
        tasks: its tasks, sorted.
        n_cells: measured (model, task) cells in it.
    """

    models: tuple[str, ...]
    tasks: tuple[str, ...]
    n_cells: int

    def describe(self, *, shown: int = 3) -> str:
        """``"18 models × 19 tasks (e.g. models a, b, c; tasks x, y, z)"``."""
        more_m = " …" if len(self.models) > shown else ""
        more_t = " …" if len(self.tasks) > shown else ""
        return (
            f"{len(self.models)} model(s) × {len(self.tasks)} task(s) (models "
            f"{', '.join(self.models[:shown])}{more_m}; tasks {', '.join(self.tasks[:shown])}"
            f"{more_t})"
        )


def connected_blocks(cells: pd.DataFrame) -> list[Block]:
    """The connected blocks of the measured (model, task) cells, largest first.

    Args:
        cells: rows with ``model`` and ``task`` (one per measured cell; repeats allowed).

    Returns:
        The blocks, by number of cells (then by first model), largest first; one block when
        every model is linked to every other through shared tasks.

    Raises:
        InvalidInputError: ``cells`` lacks ``model`` or ``task``.

    Example:
        >>> cells = pd.DataFrame({"model": ["a", "b", "c"], "task": ["x", "x", "y"]})
        >>> [b.models for b in connected_blocks(cells)]
        [('a', 'b'), ('c',)]
    """
    missing = [c for c in ("model", "task") if c not in cells.columns]
    if missing:
        raise InvalidInputError(f"cells lack column(s) {missing}; give model and task")
    pairs = cells[["model", "task"]].astype(str).drop_duplicates()
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(node: tuple[str, str]) -> tuple[str, str]:
        root = node
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[node] != root:  # path compression
            parent[node], node = root, parent[node]
        return root

    for model, task in pairs.itertuples(index=False):
        a, b = find(("model", model)), find(("task", task))
        if a != b:
            parent[b] = a
    groups: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for model, task in pairs.itertuples(index=False):
        groups.setdefault(find(("model", model)), []).append((model, task))
    blocks = [
        Block(tuple(sorted({m for m, _ in g})), tuple(sorted({t for _, t in g})), len(g))
        for g in groups.values()
    ]
    return sorted(blocks, key=lambda b: (-b.n_cells, b.models))


__all__ = ["Block", "connected_blocks"]
