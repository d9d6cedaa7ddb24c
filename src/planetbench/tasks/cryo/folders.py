"""Image/mask tile folders paired by file stem: the layout of GLID, GLD and GSDD.

Cryo-Bench's PANGAEA loaders read ``root/<split>/<image folder>/<stem>.tif`` with its mask at
``root/<split>/<mask folder>/<stem>.tif``; the folder names come from the spec's layout
(:attr:`~planetbench.tasks.spec.Layout.image_folder` and ``mask_folder``). PNG/JPEG tiles are
read too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError, LabelFileError
from planetbench.tasks.cryo.suite import check_mask, missing_data, no_options
from planetbench.tasks.readers.geotiff import GEOTIFF_SUFFIXES, read_geotiff
from planetbench.tasks.readers.images import IMAGE_SUFFIXES, read_image, read_label_image
from planetbench.tasks.spec import Layout, Reader, TaskSpec

TILE_SUFFIXES = GEOTIFF_SUFFIXES + IMAGE_SUFFIXES
"""File suffixes read as tiles (GeoTIFF, PNG, JPEG)."""

IMAGE_MASK_LAYOUT = Layout(
    "cryobench",
    "root/<split>/image/<stem>.tif (10 bands) + root/<split>/mask/<stem>.tif",
    image_folder="image",
    mask_folder="mask",
)
"""GLD's and GSDD's layout as Cryo-Bench's loaders read them (GLID's names its folders
``images``/``masks``)."""


def _read_any(path: Path) -> np.ndarray:
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        return read_geotiff(path)
    return read_image(path)


def _read_any_mask(path: Path) -> np.ndarray:
    if path.suffix.lower() in GEOTIFF_SUFFIXES:
        arr = read_geotiff(path, dtype=np.int64)
        if arr.shape[0] != 1:
            raise LabelFileError(f"mask {path} has {arr.shape[0]} bands; expected 1")
        return np.asarray(arr[0])
    return read_label_image(path)


@dataclass(frozen=True)
class TilePair:
    """One sample on disk: its id (file stem), image file and mask file."""

    id: str
    image: Path
    mask: Path


class FolderSegmentation:
    """Image/mask tile pairs of one split (GLID, GLD, GSDD).

    Args:
        spec: the task; images must have ``len(spec.bands)`` channels.
        pairs: the samples, as listed by :func:`read_folder_split`.
    """

    def __init__(self, spec: TaskSpec, pairs: Sequence[TilePair]) -> None:
        self.spec = spec
        self.pairs = tuple(pairs)

    def __len__(self) -> int:
        return len(self.pairs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image (C, H, W) float32, mask (H, W) int64, id."""
        pair = self.pairs[index]
        image = _read_any(pair.image)
        if image.shape[0] != len(self.spec.bands):
            raise InvalidInputError(
                f"task {self.spec.name!r}: {pair.image} has {image.shape[0]} channels, expected "
                f"{len(self.spec.bands)} ({', '.join(self.spec.band_names)})"
            )
        mask = _read_any_mask(pair.mask)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(
                f"task {self.spec.name!r}: mask {pair.mask} is {mask.shape}, image {pair.image} is "
                f"{image.shape[1:]}"
            )
        return {
            "image": image.astype(np.float32, copy=False),
            "mask": check_mask(self.spec, mask, str(pair.mask)),
            "id": pair.id,
        }



def folder_names(spec: TaskSpec) -> tuple[str, str]:
    """The (image, mask) folder names of the first image/mask folder layout of ``spec``."""
    for layout in spec.layouts:
        if layout.image_folder and layout.mask_folder:
            return layout.image_folder, layout.mask_folder
    raise InvalidInputError(f"task {spec.name!r} declares no image/mask folder layout")


def read_folder_split(spec: TaskSpec, root: Path, split: str) -> FolderSegmentation:
    """List ``root/<split>/<image folder>`` and ``root/<split>/<mask folder>`` and pair by stem.

    The folder names are those Cryo-Bench's loaders read (:func:`folder_names`): ``images``/
    ``masks`` for GLID, ``image``/``mask`` for GLD and GSDD.
    """
    image_name, mask_name = folder_names(spec)
    img_dir, msk_dir = root / split / image_name, root / split / mask_name
    for folder in (img_dir, msk_dir):
        if not folder.is_dir():
            rel = str(folder.relative_to(root))
            raise missing_data(spec, root, f"the folder {rel!r}", rel)
    images = {p.stem: p for p in img_dir.iterdir() if p.suffix.lower() in TILE_SUFFIXES}
    masks = {p.stem: p for p in msk_dir.iterdir() if p.suffix.lower() in TILE_SUFFIXES}
    if not images:
        raise missing_data(spec, root, f"image tiles (*.tif/*.png) in {str(img_dir)!r}")
    unmatched = sorted(set(images) ^ set(masks))
    if unmatched:
        raise LabelFileError(
            f"task {spec.name!r}: {len(unmatched)} file stem(s) in {img_dir} and {msk_dir} have no "
            f"partner, e.g. {', '.join(unmatched[:5])}; every image needs a mask of the same stem"
        )
    return FolderSegmentation(spec, [TilePair(s, images[s], masks[s]) for s in sorted(images)])



def folder_reader(spec: TaskSpec) -> Reader:
    """The reader of a task in the image/mask folder layout (it takes no options)."""

    def read(root: Path, split: str, **options: Any) -> FolderSegmentation:
        no_options(spec, options)
        return read_folder_split(spec, Path(root), split)

    read.__doc__ = f"Read split ``split`` of {spec.name!r} from ``root`` (see the task's module)."
    return read


__all__ = [
    "IMAGE_MASK_LAYOUT",
    "TILE_SUFFIXES",
    "FolderSegmentation",
    "TilePair",
    "folder_names",
    "folder_reader",
    "read_folder_split",
]
