"""Seeded toy copy of Presto's algae-bloom arrays (``algae_blooms/npy/*.npy``)."""

from __future__ import annotations

from pathlib import Path

from tests.fakes.presto_fuel_moisture import write_presto_task


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Toy algae blooms: T = 12 steps, severity classes 1-5, uids (``size`` is unused)."""
    return write_presto_task(root, "algae_blooms", n_per_split=max(n_per_split, 5),
                             n_timesteps=12, seed=seed, classes=5, group="uid")  # fmt: skip
