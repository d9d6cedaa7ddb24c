"""Seeded writers of toy-sized, upstream-shaped dataset folders, one module per task.

Each module has ``write(root, *, n_per_split=3, size=32, seed=0) -> Path`` that writes the files the
task's reader expects under ``root`` and returns ``root``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from planetbench.tasks.readers.geotiff import write_geotiff

SPLITS: tuple[str, ...] = ("train", "val", "test")


def blob_mask(rng: np.random.Generator, size: int) -> np.ndarray:
    """A (size, size) uint8 mask holding one filled ellipse of 1s on 0s."""
    yy, xx = np.mgrid[:size, :size]
    cy, cx = rng.uniform(0.25, 0.75, 2) * size
    ry, rx = rng.uniform(0.1, 0.3, 2) * size
    return (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0).astype(np.uint8)


def write_tile_folders(
    root: str | Path,
    make_image: object,
    *,
    n_per_split: int,
    size: int,
    seed: int,
    prefix: str,
    folders: tuple[str, str] = ("images", "masks"),
) -> Path:
    """Write ``root/<split>/<folders[0]>/<stem>.tif`` image and ``<folders[1]>`` mask pairs.

    Args:
        make_image: callable ``(rng, mask) -> (C, size, size) array`` drawing an image for a mask.
        folders: image and mask folder names (Cryo-Bench: ``images``/``masks`` for GLID,
            ``image``/``mask`` for GLD and GSDD).
    """
    root = Path(root)
    for s, split in enumerate(SPLITS):
        for i in range(n_per_split):
            rng = np.random.default_rng([seed, s, i])
            mask = blob_mask(rng, size)
            image = make_image(rng, mask)  # type: ignore[operator]
            stem = f"{prefix}_{split}_{i:03d}"
            write_geotiff(root / split / folders[0] / f"{stem}.tif", image)
            write_geotiff(root / split / folders[1] / f"{stem}.tif", mask)
    return root
