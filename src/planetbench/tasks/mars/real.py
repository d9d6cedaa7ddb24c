"""The ``mars-real`` suite: small real labelled Mars sets read in place, in Mars-Bench's task forms.

These are not Mars-Bench datasets: they are three small public sets (kept in the project's
``shared/data`` beside the clone, never copied into the repository) read as tasks of Mars-Bench's
kinds, so that readers, heads and metrics meet real Mars images. ``root`` is either the folder
holding the set's files or its parent (e.g. ``shared/data``). Samples have the keys of
:class:`~planetbench.tasks.mars.base.MarsSplit`.

* ``mbx-ctx_crater_det`` — 9 CTX tiles (1248 × 1248 px, 8-bit grey, ~48 m/px; folder
  ``mars-ctx-craters``, files ``resized_CTX/CTX<r><c>_1248.png``) with 577 Robbins-catalogue crater
  boxes (``selected_craters_XY.txt``, ``x1 y1 x2 y2`` in pixels of the 3 × 3 panorama of the tiles,
  row ``r`` top to bottom, column ``c`` left to right). Each box goes to the tile holding its
  centre, shifted into tile pixels and clipped to the tile. Split by tile: rows 0-1 (6 tiles,
  411 boxes) train, CTX20 (66) val, CTX21 + CTX22 (100) test. Craters under 1 km are visible but
  unlabelled (catalogue completeness), so a detector's "false positives" may be real craters.
* ``mbx-pycda_crater_seg`` / ``mbx-pycda_crater_det`` — the 1700 × 1700 px hand-labelled PyCDA tile
  (``mars-pycda-crater-tile``: ``holdout_tile.pgm`` and ``holdout_tile_labels.csv`` with columns
  ``long, lat, diameter`` = x, y, diameter in pixels) cut into 3 × 3 chips of 512 px from the
  top-left corner (the last 164 px columns/rows are not used). Segmentation masks are filled discs
  of every crater (1 = crater; 0 = background); detection boxes are the bounding squares of the
  craters whose centre lies in the chip, clipped to it (338 of the 409 craters). Split by chip as
  for CTX: chip rows 0-1 train, chip (2, 0) val, chips (2, 1) and (2, 2) test.
* ``mbx-rover_rock_seg`` — 4 Curiosity Mastcam RGB images (560 × 500 px) with binary rock masks
  (``mars-rover-rocks-marsdata-v2/samples/img_<n>.png`` and ``mask_<n>.png``; masks stored as RGB
  with rock pixels (255, 255, 0) on black, read as 1/0). Split: images 332 and 336 train, 538 val, 1101 test. A reader and metric
  smoke test, not a benchmark.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import RGB
from planetbench.tasks.mars.base import check_mask, pil, read_rgb
from planetbench.tasks.spec import Task, TaskSpec

SUITE = "mars-real"

CTX_FOLDER = "mars-ctx-craters"
PYCDA_FOLDER = "mars-pycda-crater-tile"
ROVER_FOLDER = "mars-rover-rocks-marsdata-v2"

CTX_TILE = 1248
"""Side of a resized CTX tile in pixels."""

CTX_SPLITS: dict[str, tuple[str, ...]] = {
    "train": ("CTX00", "CTX01", "CTX02", "CTX10", "CTX11", "CTX12"),
    "val": ("CTX20",),
    "test": ("CTX21", "CTX22"),
}
"""Tiles of each split (by tile, so no crater is shared between splits)."""

PYCDA_CHIP = 512
"""Side of a PyCDA chip in pixels."""

PYCDA_SPLITS: dict[str, tuple[tuple[int, int], ...]] = {
    "train": ((0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)),
    "val": ((2, 0),),
    "test": ((2, 1), (2, 2)),
}
"""(row, column) of the chips of each split."""

ROVER_SPLITS: dict[str, tuple[str, ...]] = {"train": ("332", "336"), "val": ("538",),
                                             "test": ("1101",)}
"""Image numbers of each split."""


def _folder(task: str, root: Path, name: str, marker: str) -> Path:
    """``root/name`` when it holds ``marker``, else ``root`` when it does."""
    root = Path(root)
    for folder in (root / name, root):
        if (folder / marker).exists():
            return folder
    raise DatasetNotFoundError(
        f"task {task!r}: expected {marker!r} under --root {str(root)!r} or {str(root / name)!r}. "
        f"Pass the folder {name!r} (or its parent): it ships beside the repository in "
        f"shared/data/{name} (see its SOURCE.md for the origin and licence)."
    )


def _no_options(task: str, options: dict[str, Any]) -> None:
    if options:
        raise InvalidInputError(
            f"task {task!r} reader takes no options (label budgets: "
            f"planetbench.protocols.budgets.select_budget); got {', '.join(sorted(options))}"
        )


@functools.lru_cache(maxsize=4)
def _grey_tile(path: str) -> np.ndarray:
    with pil().open(path) as img:
        arr = np.asarray(img.convert("L"))
    return arr


# ---------------------------------------------------------------------------------------- CTX


def ctx_boxes(folder: Path) -> dict[str, np.ndarray]:
    """Boxes of every CTX tile: tile name → float32 (N, 4) tile-pixel ``(x0, y0, x1, y1)``."""
    path = folder / "selected_craters_XY.txt"
    try:
        boxes = np.loadtxt(path, ndmin=2)
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read crater boxes {path}: {exc}") from exc
    if boxes.shape[1:] != (4,):
        raise LabelFileError(f"{path}: expected 4 numbers per line (x1 y1 x2 y2), got {boxes.shape}")
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    row = np.clip(cy // CTX_TILE, 0, 2).astype(int)
    col = np.clip(cx // CTX_TILE, 0, 2).astype(int)
    out: dict[str, np.ndarray] = {}
    for r in range(3):
        for c in range(3):
            sel = boxes[(row == r) & (col == c)] - np.array([c, r, c, r]) * CTX_TILE
            out[f"CTX{r}{c}"] = np.clip(sel, 0, CTX_TILE).astype(np.float32).reshape(-1, 4)
    return out


@dataclass
class RealDetection:
    """A detection split of a ``mars-real`` task (keys as Mars-Bench tasks: image, boxes, labels,
    id)."""

    spec: TaskSpec
    split: str
    ids: tuple[str, ...]
    boxes: tuple[np.ndarray, ...]
    image_fn: Any

    def __len__(self) -> int:
        return len(self.ids)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index``."""
        return self.ids[index]

    def target(self, index: int) -> np.ndarray:
        """Class indices of the boxes of sample ``index`` (all 0: one class)."""
        return np.zeros(len(self.boxes[index]), dtype=np.int64)

    @property
    def n_boxes(self) -> int:
        """Boxes in the split."""
        return sum(len(b) for b in self.boxes)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image float32 (3, H, W), boxes float32 (N, 4), labels int64 (N,)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        return {"image": self.image_fn(self.ids[index]), "boxes": self.boxes[index].copy(),
                "labels": self.target(index), "id": self.ids[index]}


def read_ctx_craters(root: Path, split: str, **options: Any) -> RealDetection:
    """Read split ``split`` of ``mbx-ctx_crater_det`` (see the module docstring)."""
    _no_options(CTX_CRATER_DET.name, options)
    folder = _folder(CTX_CRATER_DET.name, root, CTX_FOLDER, "selected_craters_XY.txt")
    tiles = CTX_SPLITS[split]
    paths = {t: folder / "resized_CTX" / f"{t}_1248.png" for t in tiles}
    absent = [str(p) for p in paths.values() if not p.is_file()]
    if absent:
        raise DatasetNotFoundError(f"task {CTX_CRATER_DET.name!r}: tile(s) {', '.join(absent)} "
                                   f"absent from {folder}")
    boxes = ctx_boxes(folder)
    return RealDetection(CTX_CRATER_DET, split, tiles, tuple(boxes[t] for t in tiles),
                         lambda t: read_rgb(paths[t]))


# -------------------------------------------------------------------------------------- PyCDA


def pycda_craters(folder: Path) -> np.ndarray:
    """The PyCDA crater list: float64 (n, 3) of x, y, diameter in tile pixels."""
    import pandas as pd

    path = folder / "holdout_tile_labels.csv"
    try:
        df = pd.read_csv(path)
        return df[["long", "lat", "diameter"]].to_numpy(dtype=np.float64)
    except (OSError, ValueError, KeyError) as exc:
        raise LabelFileError(f"cannot read craters {path} (columns long, lat, diameter): {exc}") \
            from exc


def _chip_origin(chip: tuple[int, int]) -> tuple[int, int]:
    return chip[0] * PYCDA_CHIP, chip[1] * PYCDA_CHIP


def pycda_chip_boxes(craters: np.ndarray, chip: tuple[int, int]) -> np.ndarray:
    """Bounding squares (float32 (N, 4) chip pixels) of the craters centred in ``chip``."""
    y0, x0 = _chip_origin(chip)
    x, y, r = craters[:, 0] - x0, craters[:, 1] - y0, craters[:, 2] / 2
    inside = (x >= 0) & (x < PYCDA_CHIP) & (y >= 0) & (y < PYCDA_CHIP)
    boxes = np.stack([x - r, y - r, x + r, y + r], axis=1)[inside]
    return np.clip(boxes, 0, PYCDA_CHIP).astype(np.float32).reshape(-1, 4)


def pycda_chip_mask(craters: np.ndarray, chip: tuple[int, int]) -> np.ndarray:
    """Filled discs of every crater overlapping ``chip``: int64 (512, 512), 1 = crater."""
    y0, x0 = _chip_origin(chip)
    yy, xx = np.mgrid[y0:y0 + PYCDA_CHIP, x0:x0 + PYCDA_CHIP]
    mask = np.zeros((PYCDA_CHIP, PYCDA_CHIP), dtype=np.int64)
    for x, y, d in craters:
        r = d / 2
        if x + r < x0 or x - r >= x0 + PYCDA_CHIP or y + r < y0 or y - r >= y0 + PYCDA_CHIP:
            continue
        mask[(xx - x) ** 2 + (yy - y) ** 2 <= r * r] = 1
    return mask


def _pycda_image(folder: Path, chip: tuple[int, int]) -> np.ndarray:
    tile = _grey_tile(str(folder / "holdout_tile.pgm"))
    y0, x0 = _chip_origin(chip)
    grey = tile[y0:y0 + PYCDA_CHIP, x0:x0 + PYCDA_CHIP].astype(np.float32)
    return np.repeat(grey[None], 3, axis=0)


def _chip_id(chip: tuple[int, int]) -> str:
    return f"chip{chip[0]}{chip[1]}"


def read_pycda_det(root: Path, split: str, **options: Any) -> RealDetection:
    """Read split ``split`` of ``mbx-pycda_crater_det`` (see the module docstring)."""
    _no_options(PYCDA_CRATER_DET.name, options)
    folder = _folder(PYCDA_CRATER_DET.name, root, PYCDA_FOLDER, "holdout_tile_labels.csv")
    craters = pycda_craters(folder)
    chips = PYCDA_SPLITS[split]
    by_id = {_chip_id(c): c for c in chips}
    return RealDetection(PYCDA_CRATER_DET, split, tuple(by_id),
                         tuple(pycda_chip_boxes(craters, c) for c in chips),
                         lambda i: _pycda_image(folder, by_id[i]))


@dataclass
class RealSegmentation:
    """A segmentation split of a ``mars-real`` task (keys image, mask, id)."""

    spec: TaskSpec
    split: str
    ids: tuple[str, ...]
    image_fn: Any
    mask_fn: Any

    def __len__(self) -> int:
        return len(self.ids)

    def sample_id(self, index: int) -> str:
        """The id of sample ``index``."""
        return self.ids[index]

    def target(self, index: int) -> np.ndarray:
        """The mask of sample ``index`` (int64 (H, W))."""
        return check_mask(self.spec, self.mask_fn(self.ids[index]), self.ids[index])

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image float32 (3, H, W), mask int64 (H, W)."""
        if not 0 <= index < len(self):
            raise IndexError(f"sample {index} out of range for {len(self)} samples")
        image, mask = self.image_fn(self.ids[index]), self.target(index)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(f"{self.ids[index]}: mask {mask.shape} vs image {image.shape}")
        return {"image": image, "mask": mask, "id": self.ids[index]}


def read_pycda_seg(root: Path, split: str, **options: Any) -> RealSegmentation:
    """Read split ``split`` of ``mbx-pycda_crater_seg`` (see the module docstring)."""
    _no_options(PYCDA_CRATER_SEG.name, options)
    folder = _folder(PYCDA_CRATER_SEG.name, root, PYCDA_FOLDER, "holdout_tile_labels.csv")
    craters = pycda_craters(folder)
    by_id = {_chip_id(c): c for c in PYCDA_SPLITS[split]}
    return RealSegmentation(PYCDA_CRATER_SEG, split, tuple(by_id),
                            lambda i: _pycda_image(folder, by_id[i]),
                            lambda i: pycda_chip_mask(craters, by_id[i]))


def rover_mask(path: Path) -> np.ndarray:
    """A MarsData-V2 rock mask as int64 0/1: rock where any channel is 255.

    The sample masks are RGB PNGs holding only 0 and 255 (rock pixels are yellow, (255, 255, 0),
    on black); grey 0/255 masks are read the same way.
    """
    try:
        with pil().open(path) as img:
            raw = np.asarray(img)
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read rock mask {path}: {exc}") from exc
    values = set(np.unique(raw).tolist())
    if not values <= {0, 255}:
        raise LabelFileError(f"rock mask {path} holds {sorted(values)[:5]}; expected 0 and 255")
    rock = raw == 255 if raw.ndim == 2 else (raw == 255).any(axis=-1)
    return rock.astype(np.int64)


def read_rover_rocks(root: Path, split: str, **options: Any) -> RealSegmentation:
    """Read split ``split`` of ``mbx-rover_rock_seg`` (see the module docstring)."""
    _no_options(ROVER_ROCK_SEG.name, options)
    folder = _folder(ROVER_ROCK_SEG.name, root, ROVER_FOLDER, "samples") / "samples"
    ids = tuple(f"img_{n}" for n in ROVER_SPLITS[split])
    absent = [i for i in ids if not (folder / f"{i}.png").is_file()
              or not (folder / f"{i.replace('img', 'mask')}.png").is_file()]
    if absent:
        raise DatasetNotFoundError(f"task {ROVER_ROCK_SEG.name!r}: {', '.join(absent)} (image or "
                                   f"mask) absent from {folder}")
    return RealSegmentation(ROVER_ROCK_SEG, split, ids, lambda i: read_rgb(folder / f"{i}.png"),
                            lambda i: rover_mask(folder / f"{i.replace('img', 'mask')}.png"))


# ------------------------------------------------------------------------------------- specs


def _spec(name: str, kind: Any, metric: str, classes: Sequence[str], licence: str,
          citation: str, origin: str) -> TaskSpec:
    # Read in place from shared/data, never downloaded: the origin goes in the citation, and the
    # spec has no download URL.
    return TaskSpec(name=name, suite=SUITE, kind=kind, metric=metric, classes=tuple(classes),
                    bands=RGB, licence=licence, citation=f"{citation}; origin {origin}", url="")


CTX_CRATER_DET = _spec(
    "mbx-ctx_crater_det", "detection", "map", ("crater",),
    "MIT (YOLOv3-crater-detection repository); CTX imagery NASA/JPL/MSSS, public domain; "
    "Robbins & Hynek 2012 crater database, public",
    "Robbins, S.J. and Hynek, B.M. (2012) A new global database of Mars impact craters >= 1 km, "
    "J. Geophys. Res. 117, E05004; CTX tiles and boxes from github.com/Yitongishere/"
    "YOLOv3-crater-detection (commit a4fbdd5)",
    "https://github.com/Yitongishere/YOLOv3-crater-detection",
)
PYCDA_CRATER_SEG = _spec(
    "mbx-pycda_crater_seg", "segmentation", "miou", ("background", "crater"),
    "MIT (pycda 0.1.16)",
    "PyCDA hand-labelled holdout tile, pycda 0.1.16 (github.com/AlliedToasters/PyCDA); masks "
    "are filled discs drawn by planetbench from the labelled circles",
    "https://pypi.org/project/pycda/0.1.16/",
)
PYCDA_CRATER_DET = _spec(
    "mbx-pycda_crater_det", "detection", "map", ("crater",), "MIT (pycda 0.1.16)",
    "PyCDA hand-labelled holdout tile, pycda 0.1.16 (github.com/AlliedToasters/PyCDA); boxes are "
    "the circles' bounding squares",
    "https://pypi.org/project/pycda/0.1.16/",
)
ROVER_ROCK_SEG = _spec(
    "mbx-rover_rock_seg", "segmentation", "miou", ("background", "rock"), "CC-BY-4.0",
    "Liu et al. (2023) RockFormer, IEEE TGRS; Xiao et al. (2021); MarsData-V2 samples "
    "(github.com/CVIR-Lab/MarsData, commit a3e7464); Mastcam images NASA/JPL-Caltech",
    "https://github.com/CVIR-Lab/MarsData",
)

REAL_TASKS: tuple[str, ...] = (
    "mbx-ctx_crater_det", "mbx-pycda_crater_seg", "mbx-pycda_crater_det", "mbx-rover_rock_seg"
)
"""Ids of the mars-real suite."""

TASKS.register(CTX_CRATER_DET.name, Task(CTX_CRATER_DET, read_ctx_craters))
TASKS.register(PYCDA_CRATER_SEG.name, Task(PYCDA_CRATER_SEG, read_pycda_seg))
TASKS.register(PYCDA_CRATER_DET.name, Task(PYCDA_CRATER_DET, read_pycda_det))
TASKS.register(ROVER_ROCK_SEG.name, Task(ROVER_ROCK_SEG, read_rover_rocks))

__all__ = [
    "CTX_SPLITS",
    "PYCDA_SPLITS",
    "REAL_TASKS",
    "ROVER_SPLITS",
    "RealDetection",
    "RealSegmentation",
    "ctx_boxes",
    "pycda_chip_boxes",
    "pycda_chip_mask",
    "pycda_craters",
    "read_ctx_craters",
    "read_pycda_det",
    "read_pycda_seg",
    "read_rover_rocks",
    "rover_mask",
]
