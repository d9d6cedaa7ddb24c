"""Fake GLD: 10-band float32 GeoTIFF tiles with binary lake masks, Cryo-Bench's layout.

``root/<split>/image/<stem>.tif`` + ``root/<split>/mask/<stem>.tif``; channels in file order as
declared by ``planetbench.tasks.cryo.gld.GLD_BANDS`` (B2, B3, B4, B8, B11, thermal, coherence, slope,
elevation, NDWI-like layer), drawn within the published per-channel minimum and maximum.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.fakes import write_tile_folders

# Published minimum / maximum per channel (Cryo-Bench glnet_dataset.yaml), in file order.
_LOW = np.array([230, 1, 1, 0, 0, 11624, 128, 0, 2631, 36], dtype=np.float32)
_HIGH = np.array([13071, 12875, 13544, 12852, 8843, 29958, 253, 88, 6809, 255], dtype=np.float32)


def _image(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    u = rng.uniform(size=(10, *mask.shape)).astype(np.float32)
    img = _LOW[:, None, None] + u * (_HIGH - _LOW)[:, None, None]
    img[:5] *= np.where(mask == 1, 0.3, 1.0).astype(np.float32)  # dark water in the optical bands
    img[7] = np.where(mask == 1, 0.0, img[7])  # lakes are flat
    return img.astype(np.float32)


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``root/<split>/{image,mask}/gld_<split>_<i>.tif`` for train, val and test."""
    return write_tile_folders(
        root, _image, n_per_split=n_per_split, size=size, seed=seed, prefix="gld",
        folders=("image", "mask"),
    )
