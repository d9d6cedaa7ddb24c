"""Fake Mars-Bench dataset folders in the ``hf-save-to-disk`` layout (see planetbench.testing_mars)."""

from __future__ import annotations

from pathlib import Path

from planetbench.testing_mars import write_mars_fake


def write(
    root: str | Path, task_id: str, *, n_per_split: int = 3, size: int = 32, seed: int = 0
) -> Path:
    """Write ``root/<task_id>/`` in the hf-save-to-disk layout, budgets included; return that folder."""
    return write_mars_fake(root, task_id, layout="hf-save-to-disk", n_per_split=n_per_split, size=size,
                           seed=seed)
