"""Sliding-window tiling of scenes too large for one forward pass, and stitching predictions back.

Whole-scene evaluation (every pixel of an AI4Arctic test scene, where Cryo-Bench's loader
``pangaea/datasets/ai4arctic.py`` keeps one centre crop) cuts each scene into ``size`` × ``size``
windows that start every ``stride`` pixels, with the last row and column shifted to end exactly at
the border (the edge-aligned tiling of Cryo-Bench's CaFFe loader, ``ZONE`` in
``pangaea/datasets/zone_mapping_optical.py`` and ``zone_mapping_sar.py``). Windows may overlap;
each window therefore also *owns* a sub-rectangle, and the owned rectangles partition the scene:
every pixel is owned by exactly one window. Stitching writes only the owned part of each window's
prediction, so every pixel of the scene receives exactly one prediction and is counted once by a
metric. (Cryo-Bench scores every CaFFe tile whole, so its pixels in the overlap of an
edge-aligned tile are counted twice: ``Tiling.cut`` with ``owned_only=False``.)

Ownership along one axis: window ``i`` starting at ``s_i`` owns ``[b_i, b_{i+1})`` where
``b_0 = 0``, ``b_{k+1} = n`` and ``b_i`` is the middle of the overlap of windows ``i - 1`` and
``i``, i.e. ``(s_i + s_{i-1} + size) // 2``; every pixel goes to the window in which it lies further
from the border (the overlap-tile idea of Ronneberger et al. 2015, U-Net, Sect. 2).

Everything here is NumPy only; the protocol passes its model as a callback to
:func:`predict_scene`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError

Window = tuple[int, int, int, int]
"""``(y0, x0, y1, x1)`` in pixels, end-exclusive."""


def _positive(label: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise InvalidInputError(f"{label} must be a positive integer; got {value!r}")
    return int(value)


def window_starts(n: int, size: int, stride: int) -> list[int]:
    """Origins of the windows along one axis of length ``n`` (edge-aligned; see module doc)."""
    if n <= size:
        return [0]
    out = list(range(0, n - size + 1, stride))
    if out[-1] != n - size:
        out.append(n - size)
    return out


def _owned_bounds(starts: list[int], n: int, size: int) -> list[tuple[int, int]]:
    bounds = [0] + [(starts[i] + starts[i - 1] + size) // 2 for i in range(1, len(starts))] + [n]
    return [(bounds[i], bounds[i + 1]) for i in range(len(starts))]


def sliding_windows(
    height: int, width: int, size: int, stride: int | None = None
) -> list[Window]:
    """Windows that tile a ``height`` × ``width`` scene completely.

    Windows start every ``stride`` pixels; the last row and column of windows are shifted to end
    exactly at the border, so every pixel is covered and no window leaves the scene. A side
    shorter than ``size`` gets one window spanning the whole side.

    Args:
        height: scene height in pixels (> 0).
        width: scene width in pixels (> 0).
        size: window side in pixels (> 0).
        stride: step between window origins (0 < stride <= size); defaults to ``size``.

    Returns:
        ``(y0, x0, y1, x1)`` tuples (end-exclusive), row-major.

    Example:
        >>> sliding_windows(5, 3, 2)
        [(0, 0, 2, 2), (0, 1, 2, 3), (2, 0, 4, 2), (2, 1, 4, 3), (3, 0, 5, 2), (3, 1, 5, 3)]
    """
    return Tiling(height, width, size, stride).windows


@dataclass(frozen=True)
class Tiling:
    """The sliding-window grid over one scene.

    Attributes:
        height: scene height in pixels.
        width: scene width in pixels.
        size: window side in pixels.
        stride: step between window origins; ``None`` means ``size`` (no overlap except at the
            shifted last row/column).
    """

    height: int
    width: int
    size: int
    stride: int | None = None
    _grid: tuple[list[int], list[int]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        h = _positive("height", self.height)
        w = _positive("width", self.width)
        size = _positive("size", self.size)
        stride = size if self.stride is None else _positive("stride", self.stride)
        if stride > size:
            raise InvalidInputError(
                f"stride ({stride}) must not exceed size ({size}), or pixels would be skipped"
            )
        object.__setattr__(self, "stride", stride)
        object.__setattr__(
            self, "_grid", (window_starts(h, size, stride), window_starts(w, size, stride))
        )

    def __len__(self) -> int:
        return len(self._grid[0]) * len(self._grid[1])

    @property
    def windows(self) -> list[Window]:
        """Every window, row-major (see :func:`sliding_windows`)."""
        ys, xs = self._grid
        return [
            (y, x, min(y + self.size, self.height), min(x + self.size, self.width))
            for y in ys
            for x in xs
        ]

    @property
    def owned(self) -> list[Window]:
        """The rectangle each window owns, in the order of :attr:`windows`; a partition."""
        ys, xs = self._grid
        rows = _owned_bounds(ys, self.height, self.size)
        cols = _owned_bounds(xs, self.width, self.size)
        return [(r0, c0, r1, c1) for r0, r1 in rows for c0, c1 in cols]

    def cut(
        self,
        image: np.ndarray,
        index: int,
        *,
        mask: np.ndarray | None = None,
        pad_value: float = 0.0,
        ignore_index: int = -1,
        owned_only: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Window ``index`` of a scene, padded at the bottom/right to ``size`` × ``size``.

        Args:
            image: scene, shape (C, height, width).
            index: window index (order of :attr:`windows`).
            mask: scene labels, shape (height, width), or None.
            pad_value: image value of padding.
            ignore_index: mask value of padding (and of non-owned pixels with ``owned_only``).
            owned_only: set mask pixels outside the window's owned rectangle to
                ``ignore_index``, so that metrics over all windows count each pixel once.

        Returns:
            ``(image (C, size, size) float32, mask (size, size) int64 or None)``.
        """
        if image.ndim != 3 or image.shape[1:] != (self.height, self.width):
            raise InvalidInputError(
                f"image must have shape (C, {self.height}, {self.width}); got {image.shape}"
            )
        if mask is not None and mask.shape != (self.height, self.width):
            raise InvalidInputError(
                f"mask must have shape ({self.height}, {self.width}); got {mask.shape}"
            )
        y0, x0, y1, x1 = self._window(index)
        return self.place(
            image[:, y0:y1, x0:x1],
            index,
            mask=None if mask is None else mask[y0:y1, x0:x1],
            pad_value=pad_value,
            ignore_index=ignore_index,
            owned_only=owned_only,
        )

    def _window(self, index: int) -> Window:
        if not 0 <= index < len(self):
            raise InvalidInputError(f"window index {index} is outside 0..{len(self) - 1}")
        return self.windows[index]

    def place(
        self,
        image: np.ndarray,
        index: int,
        *,
        mask: np.ndarray | None = None,
        pad_value: float = 0.0,
        ignore_index: int = -1,
        owned_only: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Like :meth:`cut`, for pixels already read from window ``index`` only.

        Args:
            image: the window's pixels, shape (C, y1 - y0, x1 - x0).
            index: window index (order of :attr:`windows`).
            mask: the window's labels, shape (y1 - y0, x1 - x0), or None.
            pad_value: image value of padding.
            ignore_index: mask value of padding (and of non-owned pixels with ``owned_only``).
            owned_only: see :meth:`cut`.

        Returns:
            ``(image (C, size, size) float32, mask (size, size) int64 or None)``.
        """
        y0, x0, y1, x1 = self._window(index)
        h, w = y1 - y0, x1 - x0
        if image.ndim != 3 or image.shape[1:] != (h, w):
            raise InvalidInputError(
                f"pixels of window {index} must have shape (C, {h}, {w}); got {image.shape}"
            )
        tile = np.full((image.shape[0], self.size, self.size), pad_value, dtype=np.float32)
        tile[:, :h, :w] = image
        if mask is None:
            return tile, None
        if mask.shape != (h, w):
            raise InvalidInputError(
                f"labels of window {index} must have shape ({h}, {w}); got {mask.shape}"
            )
        out = np.full((self.size, self.size), ignore_index, dtype=np.int64)
        if owned_only:
            r0, c0, r1, c1 = self.owned[index]
            out[r0 - y0 : r1 - y0, c0 - x0 : c1 - x0] = mask[r0 - y0 : r1 - y0, c0 - x0 : c1 - x0]
        else:
            out[:h, :w] = mask
        return tile, out


class SceneStitcher:
    """Reassembles per-window predictions into one scene, writing each pixel exactly once.

    Args:
        tiling: the grid the predictions were made on.
        n_channels: channels of each prediction (e.g. classes of logits); None for label maps
            of shape (size, size).
        dtype: dtype of the stitched scene.

    Example:
        >>> t = Tiling(3, 5, 4, 2)
        >>> s = SceneStitcher(t)
        >>> for i in range(len(t)):
        ...     s.add(i, np.full((4, 4), i))
        >>> s.result()
        array([[0, 0, 1, 1, 1],
               [0, 0, 1, 1, 1],
               [0, 0, 1, 1, 1]])
    """

    def __init__(
        self, tiling: Tiling, n_channels: int | None = None, dtype: Any = np.int64
    ) -> None:
        self.tiling = tiling
        self.n_channels = n_channels
        self.dtype = dtype

    def _state(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if "_out" not in self.__dict__:
            lead = () if self.n_channels is None else (self.n_channels,)
            shape = (*lead, self.tiling.height, self.tiling.width)
            self.__dict__["_out"] = np.zeros(shape, dtype=self.dtype)
            self.__dict__["_coverage"] = np.zeros(
                (self.tiling.height, self.tiling.width), dtype=np.int32
            )
            self.__dict__["_added"] = np.zeros(len(self.tiling), dtype=bool)
        return self.__dict__["_out"], self.__dict__["_coverage"], self.__dict__["_added"]

    @property
    def coverage(self) -> np.ndarray:
        """How often each scene pixel was written so far, shape (height, width)."""
        return self._state()[1].copy()

    def add(self, index: int, prediction: np.ndarray) -> None:
        """Store the owned part of window ``index``'s prediction.

        Args:
            index: window index (order of ``tiling.windows``).
            prediction: (size, size) labels, or (n_channels, size, size) scores.

        Raises:
            InvalidInputError: wrong shape, index out of range, or the window was already added.
        """
        out, coverage, added = self._state()
        size = self.tiling.size
        want = (size, size) if self.n_channels is None else (self.n_channels, size, size)
        pred = np.asarray(prediction)
        if pred.shape != want:
            raise InvalidInputError(f"prediction must have shape {want}; got {pred.shape}")
        if not 0 <= index < len(self.tiling):
            raise InvalidInputError(f"window index {index} is outside 0..{len(self.tiling) - 1}")
        if added[index]:
            raise InvalidInputError(f"window {index} was already added to the stitcher")
        y0, x0, _, _ = self.tiling.windows[index]
        r0, c0, r1, c1 = self.tiling.owned[index]
        out[..., r0:r1, c0:c1] = pred[..., r0 - y0 : r1 - y0, c0 - x0 : c1 - x0]
        coverage[r0:r1, c0:c1] += 1
        added[index] = True

    def result(self) -> np.ndarray:
        """The stitched scene: (height, width) labels or (n_channels, height, width) scores.

        Raises:
            InvalidInputError: if some windows were never added.
        """
        out, _, added = self._state()
        if not added.all():
            missing = np.flatnonzero(~added).tolist()
            raise InvalidInputError(
                f"{len(missing)} of {len(added)} windows were not added, e.g. {missing[:5]}; "
                "the scene is incomplete"
            )
        return out


def iter_tiles(
    image: np.ndarray, tiling: Tiling, batch_size: int, pad_value: float = 0.0
) -> Iterator[tuple[list[int], np.ndarray]]:
    """Batches of windows of ``image`` (C, H, W): ``(indices, array (N, C, size, size))``."""
    batch_size = _positive("batch_size", batch_size)
    indices = list(range(len(tiling)))
    for start in range(0, len(indices), batch_size):
        chunk = indices[start : start + batch_size]
        yield chunk, np.stack([tiling.cut(image, i, pad_value=pad_value)[0] for i in chunk])


def predict_scene(
    image: np.ndarray,
    predict: Callable[[np.ndarray], np.ndarray],
    *,
    size: int,
    stride: int | None = None,
    batch_size: int = 8,
    pad_value: float = 0.0,
) -> np.ndarray:
    """Predict a whole scene window by window and stitch the windows' owned parts.

    Args:
        image: scene, shape (C, H, W), already normalised as the model expects.
        predict: maps a batch (N, C, size, size) float32 to scores (N, K, size, size) or labels
            (N, size, size).
        size: window side in pixels.
        stride: step between windows (default ``size``).
        batch_size: windows per call of ``predict``.
        pad_value: image value of padding at the bottom/right border.

    Returns:
        Scores (K, H, W) or labels (H, W), each pixel predicted exactly once.
    """
    if image.ndim != 3:
        raise InvalidInputError(f"image must have shape (C, H, W); got {image.shape}")
    tiling = Tiling(int(image.shape[1]), int(image.shape[2]), size, stride)
    stitcher: SceneStitcher | None = None
    for chunk, batch in iter_tiles(image, tiling, batch_size, pad_value):
        out = np.asarray(predict(batch))
        if out.shape[0] != len(chunk) or out.ndim not in (3, 4):
            raise InvalidInputError(
                f"predict returned shape {out.shape} for a batch of {len(chunk)} windows; "
                f"expected ({len(chunk)}, K, {size}, {size}) or ({len(chunk)}, {size}, {size})"
            )
        if stitcher is None:
            stitcher = SceneStitcher(
                tiling, n_channels=out.shape[1] if out.ndim == 4 else None, dtype=out.dtype
            )
        for i, pred in zip(chunk, out, strict=True):
            stitcher.add(i, pred)
    if stitcher is None:  # a Tiling always has at least one window
        raise InvalidInputError("internal: the scene produced no windows")
    return stitcher.result()


__all__ = [
    "SceneStitcher",
    "Tiling",
    "Window",
    "iter_tiles",
    "predict_scene",
    "sliding_windows",
    "window_starts",
]
