"""Seeded writers of toy-sized, upstream-shaped dataset folders, one module per task.

Each module has ``write(root, *, n_per_split=3, size=32, seed=0) -> Path`` that writes the files the
task's reader expects under ``root`` and returns ``root``. :func:`fake_writer` finds the writer of
any registered task (the contract tests write every task's fake data through it).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from pathlib import Path

import numpy as np

from planetbench.tasks.readers.geotiff import write_geotiff

FakeWriter = Callable[[Path], Path]
"""``writer(root) -> root``: writes a task's toy data (seeded, a few samples per split)."""

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


def _demo_writer(root: Path) -> Path:
    from planetbench.tasks.demo import write_demo_data

    return write_demo_data(root, n_images=12, size=16, seed=0)


def _mars_writer(task: str) -> FakeWriter:
    from planetbench.testing_mars import write_mars_fake

    def write(root: Path) -> Path:
        write_mars_fake(root, task, n_per_split=3, size=32, seed=0)
        return root

    return write


def fake_writer(task: str) -> FakeWriter | None:
    """The writer of toy data for the registered task ``task``, or None if it has none.

    Looked up, in order: ``tests/fakes/<task>.py`` (``-`` read as ``_``), the demo generator for
    the ``demo`` suite, Mars-Bench's seeded fakes (:mod:`planetbench.testing_mars`) for the
    ``mars`` suite, the SYNTHETIC Mars-like scenes for ``demo-mars``. The ``mars-real`` tasks read the shared real data in place and have none.
    """
    from planetbench.tasks import get_task

    module = f"tests.fakes.{task.replace('-', '_')}"
    if importlib.util.find_spec(module) is not None:
        write = importlib.import_module(module).write
        return lambda root: write(root, n_per_split=3, size=32, seed=0)  # type: ignore[no-any-return]
    suite = get_task(task).spec.suite
    if suite == "demo":
        return _demo_writer
    if suite == "mars":
        return _mars_writer(task)
    if suite == "demo-mars":
        return _demo_mars_writer
    return None


def _demo_mars_writer(root: Path) -> Path:
    from planetbench.tasks.demo_mars import write_mars_demo_data

    return write_mars_demo_data(root, n_images=6, seed=0)
