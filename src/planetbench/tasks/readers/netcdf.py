"""netCDF variable reading without xarray.

Two on-disk flavours exist: classic netCDF (format 1/2, read with :mod:`scipy.io`, always
available) and netCDF-4 (an HDF5 file, read with ``h5py``, an optional dependency). The flavour is
detected from the file's magic bytes, so each file is read by the one library that understands it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError, require

_CLASSIC_MAGIC = (b"CDF\x01", b"CDF\x02")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def netcdf_flavour(path: str | Path) -> str:
    """Return ``"classic"`` or ``"hdf5"`` for a netCDF file, from its first bytes.

    Raises:
        InvalidInputError: if the file is neither classic netCDF nor netCDF-4/HDF5.
    """
    path = Path(path)
    with path.open("rb") as fh:
        head = fh.read(8)
    if head[:4] in _CLASSIC_MAGIC:
        return "classic"
    if head == _HDF5_MAGIC:
        return "hdf5"
    raise InvalidInputError(
        f"{path} is not a netCDF file (first bytes {head!r}); expected classic netCDF "
        "('CDF\\x01'/'CDF\\x02') or netCDF-4/HDF5. Re-download it: it may be truncated."
    )


def _decode(values: np.ndarray, attrs: dict[str, Any], mask_fill: bool) -> np.ndarray:
    out = np.asarray(values)
    if not out.dtype.isnative:
        out = out.astype(out.dtype.newbyteorder("="))
    fill = attrs.get("_FillValue")
    scale = attrs.get("scale_factor")
    offset = attrs.get("add_offset")
    if scale is not None or offset is not None:
        raw = out
        out = raw.astype(np.float64) * float(np.asarray(scale if scale is not None else 1.0))
        out = out + float(np.asarray(offset if offset is not None else 0.0))
        if mask_fill and fill is not None:
            out[raw == np.asarray(fill).item()] = np.nan
        return out
    if mask_fill and fill is not None and np.issubdtype(out.dtype, np.floating):
        out = out.copy()
        out[out == np.asarray(fill).item()] = np.nan
    return out


def _window_slices(
    path: Path, name: str, shape: tuple[int, ...], window: tuple[int, int, int, int] | None
) -> tuple[slice, ...]:
    if window is None:
        return tuple(slice(None) for _ in shape)
    y0, x0, y1, x1 = window
    if len(shape) != 2 or not (0 <= y0 < y1 <= shape[0] and 0 <= x0 < x1 <= shape[1]):
        raise InvalidInputError(
            f"window {window} (y0, x0, y1, x1) does not fit variable {name} of shape {shape} "
            f"in {path}"
        )
    return (slice(y0, y1), slice(x0, x1))


def read_netcdf_variables(
    path: str | Path,
    names: tuple[str, ...] | list[str],
    *,
    mask_fill: bool = True,
    window: tuple[int, int, int, int] | None = None,
) -> dict[str, np.ndarray]:
    """Read variables, or a window of 2-D variables, from a netCDF file.

    Args:
        path: classic netCDF or netCDF-4 file.
        names: variable names to read.
        mask_fill: set float pixels equal to ``_FillValue`` to NaN (integer variables, such as
            label charts, keep their stored fill value).
        window: ``(y0, x0, y1, x1)`` pixel window (end-exclusive) of 2-D variables; None reads
            whole variables. netCDF-4 files read only the window's chunks from disk.

    Returns:
        ``{name: array}`` with ``scale_factor``/``add_offset`` applied where present.

    Raises:
        InvalidInputError: if a variable is missing (the message lists those present) or the
            window does not fit.
        MissingDependencyError: for netCDF-4 files when ``h5py`` is not installed.
    """
    path = Path(path)
    flavour = netcdf_flavour(path)
    out: dict[str, np.ndarray] = {}
    if flavour == "classic":
        from scipy.io import netcdf_file

        with netcdf_file(path, "r", mmap=False) as nc:
            _check_names(path, names, list(nc.variables))
            for name in names:
                var = nc.variables[name]
                attrs = {k: v for k, v in var._attributes.items()}
                index = _window_slices(path, name, tuple(var.shape), window)
                out[name] = _decode(np.array(var.data[index]), attrs, mask_fill)
        return out
    h5py: Any = require("h5py", "cryo")
    with h5py.File(path, "r") as h5:
        _check_names(path, names, [k for k in h5 if isinstance(h5[k], h5py.Dataset)])
        for name in names:
            ds = h5[name]
            attrs = {k: v for k, v in ds.attrs.items()}
            index = _window_slices(path, name, tuple(ds.shape), window)
            out[name] = _decode(ds[index], attrs, mask_fill)
    return out


def netcdf_variable_names(path: str | Path) -> list[str]:
    """Names of the variables stored in a netCDF file."""
    path = Path(path)
    if netcdf_flavour(path) == "classic":
        from scipy.io import netcdf_file

        with netcdf_file(path, "r", mmap=False) as nc:
            return sorted(nc.variables)
    h5py: Any = require("h5py", "cryo")
    with h5py.File(path, "r") as h5:
        return sorted(k for k in h5 if isinstance(h5[k], h5py.Dataset))


def _check_names(path: Path, names: tuple[str, ...] | list[str], present: list[str]) -> None:
    missing = [n for n in names if n not in present]
    if missing:
        raise InvalidInputError(
            f"{path} lacks variable(s) {', '.join(missing)}; it holds: {', '.join(sorted(present))}"
        )


def write_classic_netcdf(
    path: str | Path,
    variables: dict[str, np.ndarray],
    dims: tuple[str, str] = ("sar_lines", "sar_samples"),
    attrs: dict[str, dict[str, Any]] | None = None,
) -> Path:
    """Write 2-D variables of equal shape into a classic netCDF file (test fakes and tools).

    Args:
        path: output file.
        variables: ``{name: (H, W) array}``; dtypes int8/int16/int32/float32/float64 or uint8
            (stored as int16 because classic netCDF has no unsigned bytes).
        dims: names of the two dimensions.
        attrs: optional per-variable attributes such as ``{"SOD": {"_FillValue": 255}}``.
    """
    from scipy.io import netcdf_file

    shapes = {v.shape for v in variables.values()}
    if len(shapes) != 1 or len(next(iter(shapes))) != 2:
        raise InvalidInputError(f"variables must be 2-D arrays of one shape; got {shapes}")
    (h, w) = next(iter(shapes))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with netcdf_file(path, "w") as nc:
        nc.createDimension(dims[0], h)
        nc.createDimension(dims[1], w)
        for name, arr in variables.items():
            data = np.asarray(arr)
            if data.dtype == np.uint8:
                data = data.astype(np.int16)
            var = nc.createVariable(name, data.dtype, dims)
            var[:] = data
            for key, value in (attrs or {}).get(name, {}).items():
                setattr(var, key, value)
    return path


def netcdf_variable_shape(path: str | Path, name: str) -> tuple[int, ...]:
    """Shape of one variable, read from the header only (no pixel data)."""
    path = Path(path)
    if netcdf_flavour(path) == "classic":
        from scipy.io import netcdf_file

        with netcdf_file(path, "r", mmap=True) as nc:
            _check_names(path, [name], list(nc.variables))
            return tuple(int(n) for n in nc.variables[name].shape)
    h5py: Any = require("h5py", "cryo")
    with h5py.File(path, "r") as h5:
        _check_names(path, [name], [k for k in h5 if isinstance(h5[k], h5py.Dataset)])
        return tuple(int(n) for n in h5[name].shape)
