"""PNG/JPEG reading (Pillow underneath), returning plain NumPy arrays."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError, LabelFileError, require

#: File suffixes treated as ordinary images.
IMAGE_SUFFIXES: tuple[str, ...] = (".png", ".jpg", ".jpeg")


def _pil_image() -> Any:
    return require("PIL.Image", "geo")


def read_image(path: str | Path) -> np.ndarray:
    """Read a PNG/JPEG as float32 channels.

    Args:
        path: image file (grey, RGB or RGBA; palette images are expanded to RGB).

    Returns:
        Array of shape (C, H, W), float32, values as stored (0-255 for 8-bit images).
    """
    image_mod = _pil_image()
    path = Path(path)
    try:
        with image_mod.open(path) as img:
            if img.mode == "P":
                img = img.convert("RGB")
            arr = np.asarray(img)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read image {path}: {exc}") from exc
    if arr.ndim == 2:
        arr = arr[None]
    else:
        arr = np.moveaxis(arr, -1, 0)
    return arr.astype(np.float32)


def read_label_image(path: str | Path) -> np.ndarray:
    """Read a single-channel label PNG (grey or palette indices).

    Args:
        path: label image; palette PNGs yield their palette indices.

    Returns:
        Array of shape (H, W), int64, raw stored values.

    Raises:
        LabelFileError: if the image has more than one channel.
    """
    image_mod = _pil_image()
    path = Path(path)
    try:
        with image_mod.open(path) as img:
            arr = np.asarray(img)
    except (OSError, ValueError) as exc:
        raise LabelFileError(f"cannot read label image {path}: {exc}") from exc
    if arr.ndim != 2:
        raise LabelFileError(
            f"label image {path} has shape {arr.shape}; expected one channel (H, W). "
            "Save masks as single-channel (mode 'L', 'P' or 'I') PNGs."
        )
    return arr.astype(np.int64)


def image_shape(path: str | Path) -> tuple[int, int]:
    """(height, width) of a PNG/JPEG, read from its header only.

    Raises:
        InvalidInputError: if the file is not a readable image.
    """
    image_mod = _pil_image()
    path = Path(path)
    try:
        with image_mod.open(path) as img:
            width, height = img.size
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"cannot read image {path}: {exc}") from exc
    return int(height), int(width)


def write_png(path: str | Path, data: np.ndarray) -> Path:
    """Write an (H, W) or (H, W, 3) uint8 array as PNG (test fakes and tools)."""
    image_mod = _pil_image()
    arr = np.asarray(data)
    if arr.dtype != np.uint8 or arr.ndim not in (2, 3):
        raise InvalidInputError(
            "write_png needs a uint8 array of shape (H, W) or (H, W, 3); "
            f"got {arr.dtype} {arr.shape}"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image_mod.fromarray(arr).save(path)
    return path
