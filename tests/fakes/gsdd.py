"""Fake GSDD: 10-channel float32 (0-1) GeoTIFF tiles with binary debris masks.

Cryo-Bench's layout: ``root/<split>/image/<stem>.tif`` + ``root/<split>/mask/<stem>.tif``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fakes import write_tile_folders


def _image(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    img = rng.uniform(0.0, 1.0, size=(10, *mask.shape)).astype(np.float32)
    img[:6] = np.where(mask[None] == 1, img[:6] * 0.4, img[:6])
    return img


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``root/<split>/{image,mask}/gsdd_<split>_<i>.tif`` for train, val and test."""
    return write_tile_folders(
        root, _image, n_per_split=n_per_split, size=size, seed=seed, prefix="gsdd",
        folders=("image", "mask"),
    )
