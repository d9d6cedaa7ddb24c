"""GeoTIFF reading (rasterio underneath), returning plain NumPy arrays.

Used by the cryosphere tasks whose imagery ships as multi-band GeoTIFF tiles (GLID, GLD, GSDD).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError, require

#: File suffixes treated as GeoTIFF.
GEOTIFF_SUFFIXES: tuple[str, ...] = (".tif", ".tiff")


def _rasterio() -> Any:
    return require("rasterio", "geo")


def read_geotiff(
    path: str | Path,
    *,
    window: tuple[int, int, int, int] | None = None,
    dtype: type[np.floating[Any]] | type[np.integer[Any]] = np.float32,
) -> np.ndarray:
    """Read every band of a GeoTIFF.

    Args:
        path: the ``.tif`` file.
        window: optional ``(y0, x0, y1, x1)`` pixel window (end-exclusive); None reads all.
        dtype: NumPy dtype of the returned array.

    Returns:
        Array of shape (C, H, W) in the file's band order. Nodata pixels keep their stored value.

    Raises:
        InvalidInputError: if the window lies outside the raster or the file cannot be decoded.
    """
    rasterio = _rasterio()
    path = Path(path)
    try:
        with warnings.catch_warnings():
            # Tiles without georeferencing are fine here: only pixels are read.
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                win = None
                if window is not None:
                    y0, x0, y1, x1 = window
                    if not (0 <= y0 < y1 <= src.height and 0 <= x0 < x1 <= src.width):
                        raise InvalidInputError(
                            f"window {window} (y0, x0, y1, x1) is outside {path} "
                            f"of size {src.height}x{src.width}"
                        )
                    win = rasterio.windows.Window(x0, y0, x1 - x0, y1 - y0)
                data = src.read(window=win)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(f"cannot read GeoTIFF {path}: {exc}") from exc
    return np.asarray(data).astype(dtype, copy=False)


def geotiff_shape(path: str | Path) -> tuple[int, int, int]:
    """Return (bands, height, width) of a GeoTIFF without reading its pixels."""
    rasterio = _rasterio()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
            with rasterio.open(Path(path)) as src:
                return int(src.count), int(src.height), int(src.width)
    except rasterio.errors.RasterioIOError as exc:
        raise InvalidInputError(f"cannot read GeoTIFF {path}: {exc}") from exc


def write_geotiff(path: str | Path, data: np.ndarray) -> Path:
    """Write a (C, H, W) or (H, W) array as an untiled GeoTIFF without georeferencing.

    Used by test fakes and tools; pixel values and dtype are kept as given.
    """
    rasterio = _rasterio()
    arr = np.asarray(data)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise InvalidInputError(f"data must have shape (C, H, W) or (H, W); got {arr.shape}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {
        "driver": "GTiff",
        "count": arr.shape[0],
        "height": arr.shape[1],
        "width": arr.shape[2],
        "dtype": arr.dtype.name,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(arr)
    return path
