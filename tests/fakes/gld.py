"""Fake GLD: 10-band float32 GeoTIFF tiles (S2 + ancillary + coherence) with binary lake masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fakes import write_tile_folders

# Rough value ranges per channel, as in Cryo-Bench's glnet_dataset.yaml statistics.
_LOW = np.array([200, 200, 200, 0, 0, 11624, 0, 2631, 36, 128], dtype=np.float32)
_HIGH = np.array([4000, 4000, 4000, 4000, 3000, 29958, 88, 6809, 255, 253], dtype=np.float32)


def _image(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    u = rng.uniform(size=(10, *mask.shape)).astype(np.float32)
    img = _LOW[:, None, None] + u * (_HIGH - _LOW)[:, None, None]
    img[:5] *= np.where(mask == 1, 0.3, 1.0).astype(np.float32)
    return img.astype(np.float32)


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``root/<split>/{images,masks}/gld_<split>_<i>.tif`` for train, val and test."""
    return write_tile_folders(
        root, _image, n_per_split=n_per_split, size=size, seed=seed, prefix="gld"
    )
