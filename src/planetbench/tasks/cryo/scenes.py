"""Samples cut from large scenes: an optional crop, then sliding-window tiles (or the whole crop).

Shared by the full-scene layouts of SICD (Cryo-Bench's prepared GeoTIFFs) and CaFFe (the full
PANGAEA images, raw or as Cryo-Bench re-arranged them). The two ways Cryo-Bench cuts them are
here as options of :class:`SceneWindows`:

* SICD (``pangaea/datasets/ai4arctic.py``): one crop of 512 px per scene, in the centre, or the
  top-left corner when a side is not longer than the crop (:func:`cryobench_crop`); the loader is
  never told it is training, so train scenes get the same centre crop.
* CaFFe (``ZONE`` in ``pangaea/datasets/zone_mapping_optical.py``): val/test images cut into
  1024 px tiles every 1024 px with the last row/column moved to end at the border, each tile
  scored whole (pixels under two tiles count twice), short sides padded (image 0, mask ignore).

Our default instead tiles every scene so that each pixel is scored once (``owned_only``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.tasks.readers.tiling import SceneStitcher, Tiling, Window

ReadWindow = Callable[[int, Window], tuple[np.ndarray, np.ndarray]]
"""``read(scene_index, (y0, x0, y1, x1)) -> (image (C, h, w) float32, mask (h, w) int64)``."""


def cryobench_crop(height: int, width: int, size: int) -> Window:
    """The window Cryo-Bench's AI4Arctic loader keeps of a ``height`` × ``width`` scene.

    A centre crop of ``size`` × ``size`` (origin ``((H - size) // 2, (W - size) // 2)``); when
    either side is not longer than ``size``, the top-left ``size`` × ``size`` corner (clipped to
    the scene), as ``pangaea/datasets/ai4arctic.py`` slices it.

    Example:
        >>> cryobench_crop(1000, 700, 512)
        (244, 94, 756, 606)
        >>> cryobench_crop(512, 900, 512)
        (0, 0, 512, 512)
        >>> cryobench_crop(300, 900, 512)
        (0, 0, 300, 512)
    """
    if height <= size or width <= size:
        return 0, 0, min(size, height), min(size, width)
    top, left = (height - size) // 2, (width - size) // 2
    return top, left, top + size, left + size


class SceneWindows:
    """Windows of scenes as samples: each scene (or its crop) whole, or cut into tiles.

    Args:
        ids: scene ids, one per scene.
        shapes: (height, width) of each scene.
        read: reads the pixels and labels of a window of a scene (see :data:`ReadWindow`).
        ignore_index: mask value of padding (and of pixels a tile does not own, with
            ``owned_only``).
        regions: the window of each scene to use (e.g. :func:`cryobench_crop`); None: the whole
            scene.
        tile_size: tile side in pixels; None yields each region whole.
        stride: step between tiles (default ``tile_size``).
        owned_only: set mask pixels outside a tile's owned rectangle to ``ignore_index``, so a
            metric over all tiles counts every pixel once.

    Items: ``{"image": (C, s, s) float32, "mask": (s, s) int64, "id": "<scene>@<y0>_<x0>",
    "scene": id, "window": int64 (y0, x0, y1, x1), "owned": int64 (y0, x0, y1, x1)}`` for
    tiles (scene coordinates; padding 0 in the image, ``ignore_index`` in the mask), and
    ``{"image", "mask", "id": scene id, "scene", "window"}`` for whole regions. ``index_of[i]``
    is ``(scene index, tile index)``; :meth:`stitcher` reassembles a region's tile predictions.
    """

    def __init__(
        self,
        ids: Sequence[str],
        shapes: Sequence[tuple[int, int]],
        read: ReadWindow,
        *,
        ignore_index: int,
        regions: Sequence[Window] | None = None,
        tile_size: int | None = None,
        stride: int | None = None,
        owned_only: bool = False,
    ) -> None:
        self.ids = tuple(ids)
        self.read = read
        self.ignore_index = ignore_index
        self.regions: tuple[Window, ...] = (
            tuple(regions) if regions is not None else tuple((0, 0, h, w) for h, w in shapes)
        )
        if len(self.regions) != len(self.ids) or len(shapes) != len(self.ids):
            raise InvalidInputError("ids, shapes and regions must have one entry per scene")
        self.tile_size = tile_size
        self.owned_only = owned_only
        if tile_size is None:
            if stride is not None or owned_only:
                raise InvalidInputError("stride and owned_only only apply together with tile_size")
            self.tilings: tuple[Tiling, ...] = ()
            self.index_of: tuple[tuple[int, int], ...] = tuple((s, 0) for s in range(len(ids)))
        else:
            self.tilings = tuple(
                Tiling(y1 - y0, x1 - x0, tile_size, stride) for y0, x0, y1, x1 in self.regions
            )
            self.index_of = tuple(
                (s, w) for s, t in enumerate(self.tilings) for w in range(len(t))
            )

    def __len__(self) -> int:
        return len(self.index_of)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index`` (see the class docstring for the keys)."""
        scene, tile = self.index_of[index]
        ry0, rx0, ry1, rx1 = self.regions[scene]
        if not self.tilings:
            image, mask = self.read(scene, (ry0, rx0, ry1, rx1))
            return {
                "image": image,
                "mask": mask,
                "id": self.ids[scene],
                "scene": self.ids[scene],
                "window": np.asarray((ry0, rx0, ry1, rx1), dtype=np.int64),
            }
        tiling = self.tilings[scene]
        y0, x0, y1, x1 = tiling.windows[tile]
        image, mask = self.read(scene, (ry0 + y0, rx0 + x0, ry0 + y1, rx0 + x1))
        image, placed = tiling.place(image, tile, mask=mask, ignore_index=self.ignore_index,
                                     owned_only=self.owned_only)
        oy0, ox0, oy1, ox1 = tiling.owned[tile]
        return {
            "image": image,
            "mask": placed,
            "id": f"{self.ids[scene]}@{ry0 + y0}_{rx0 + x0}",
            "scene": self.ids[scene],
            "window": np.asarray((ry0 + y0, rx0 + x0, ry0 + y1, rx0 + x1), dtype=np.int64),
            "owned": np.asarray((ry0 + oy0, rx0 + ox0, ry0 + oy1, rx0 + ox1), dtype=np.int64),
        }

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]

    @property
    def size(self) -> int | None:
        """Tile side in pixels (None when regions are yielded whole)."""
        return self.tile_size

    def stitcher(self, scene_index: int, n_channels: int | None = None) -> SceneStitcher:
        """A stitcher for the region of scene ``scene_index``; add predictions by tile index."""
        if not self.tilings:
            raise InvalidInputError("regions are yielded whole (tile_size=None): nothing to stitch")
        return SceneStitcher(self.tilings[scene_index], n_channels=n_channels)


def tile_options(
    task: str, options: dict[str, Any], *, allowed: Sequence[str], defaults: dict[str, Any]
) -> dict[str, Any]:
    """Validate reader options of a scene layout and fill in the defaults.

    Raises:
        InvalidInputError: an unknown option, naming the allowed ones.
    """
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"task {task!r} reader options (this layout) are {', '.join(allowed)}; got "
            f"{', '.join(unknown)}"
        )
    return {**defaults, **options}


__all__ = ["ReadWindow", "SceneWindows", "cryobench_crop", "tile_options"]
