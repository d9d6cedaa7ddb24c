"""Fake GLID: RGB uint8 GeoTIFF tiles with binary lake masks (Cryo-Bench folder layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fakes import write_tile_folders


def _image(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    base = rng.integers(90, 200, size=(3, *mask.shape))
    lake = np.array([30, 60, 110])[:, None, None]
    return np.where(mask[None] == 1, lake, base).astype(np.uint8)


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``root/<split>/{images,masks}/glid_<split>_<i>.tif`` for train, val and test."""
    return write_tile_folders(
        root, _image, n_per_split=n_per_split, size=size, seed=seed, prefix="glid"
    )
