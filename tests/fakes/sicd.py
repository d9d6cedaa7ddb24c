"""Fake SICD: AI4Arctic ready-to-train scenes as classic netCDF at toy size.

Layout as mirrored by torchgeo on Hugging Face: ``root/metadata.csv``, ``root/train/<scene>.nc``
(SAR variables and the SIC/SOD/FLOE charts, dimensions ``sar_lines`` × ``sar_samples``) and
``root/test/<scene>.nc`` (SAR only) with ``root/test/<scene>_reference.nc`` (charts). The real
files are netCDF-4/HDF5; these are classic netCDF with the same variables, because writing HDF5
needs h5py. Scenes are deliberately not square and not a multiple of typical tile sizes. A corner
of each scene is NaN in the SAR (no data) and 255 in the charts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from planetbench.tasks.readers.netcdf import write_classic_netcdf

SPLITS: tuple[str, ...] = ("train", "test")
_CENTRES = ("cis", "dmi")


def scene_shape(size: int) -> tuple[int, int]:
    """(height, width) of every fake scene for a given ``size``."""
    return size + 7, size + 3


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``n_per_split`` scenes per split (train, test) under ``root``."""
    root = Path(root)
    h, w = scene_shape(size)
    rows = ["input_path,split"]
    for s, split in enumerate(SPLITS):
        for i in range(n_per_split):
            rng = np.random.default_rng([seed, s, i])
            name = f"2019{s + 1:02d}{i + 10:02d}T101010_{_CENTRES[i % 2]}_prep"
            sod = rng.integers(0, 6, size=(h, w)).astype(np.uint8)
            sod[: h // 2] = rng.integers(0, 6)  # a big homogeneous polygon, as in ice charts
            hh = rng.normal(-15.0, 3.0, size=(h, w)).astype(np.float32) + sod
            hv = rng.normal(-25.0, 3.0, size=(h, w)).astype(np.float32) + 0.5 * sod
            hh[:3, :4] = np.nan
            hv[:3, :4] = np.nan
            sod[:3, :4] = 255
            sic = np.where(sod == 0, 0, 10).astype(np.uint8)
            sic[:3, :4] = 255
            floe = np.where(sod == 255, 255, rng.integers(0, 7, size=(h, w))).astype(np.uint8)
            sar = {
                "nersc_sar_primary": hh,
                "nersc_sar_secondary": hv,
                "sar_incidenceangle": np.linspace(19.0, 46.0, w, dtype=np.float32)[None].repeat(
                    h, axis=0
                ),
            }
            charts = {"SIC": sic, "SOD": sod, "FLOE": floe}
            fill = {k: {"_FillValue": np.int16(255)} for k in charts}
            folder = root / split
            if split == "test":
                write_classic_netcdf(folder / f"{name}.nc", sar)
                write_classic_netcdf(folder / f"{name}_reference.nc", charts, attrs=fill)
            else:
                write_classic_netcdf(folder / f"{name}.nc", {**sar, **charts}, attrs=fill)
            rows.append(f"{split}/{name}.nc,{split}")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root
