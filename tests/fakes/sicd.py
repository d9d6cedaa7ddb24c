"""Fake SICD: AI4Arctic ready-to-train scenes as classic netCDF at toy size.

Layout as mirrored by torchgeo on Hugging Face: ``root/metadata.csv`` (``input_path,split``),
``root/train/<scene>.nc`` (SAR variables and the SIC/SOD/FLOE charts, dimensions ``sar_lines`` ×
``sar_samples``) and ``root/test/<scene>.nc`` (SAR only) with ``root/test/<scene>_reference.nc``
(charts). The real files are netCDF-4/HDF5; these are classic netCDF with the same variables,
because writing HDF5 needs h5py. Scene ids follow the upstream ``<YYYYMMDDTHHMMSS>_<dmi|cis>_prep``
pattern and are chosen so that ``n_per_split`` train scenes fall in planetbench's ``train`` and
``n_per_split`` in its hash-chosen ``val`` split. Scenes are deliberately not square and not a
multiple of typical tile sizes. A corner of each scene is NaN in the SAR (no data) and 255 in the
charts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from planetbench.tasks.cryo.sicd import sicd_split_of
from planetbench.tasks.readers.netcdf import write_classic_netcdf

SPLITS: tuple[str, ...] = ("train", "val", "test")
_CENTRES = ("cis", "dmi")


def scene_shape(size: int) -> tuple[int, int]:
    """(height, width) of every fake scene for a given ``size``."""
    return size + 7, size + 3


def scene_ids(n_per_split: int, seed: int) -> dict[str, list[str]]:
    """Upstream-style scene ids: ``n_per_split`` for each of train, val and test."""
    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    k = 0
    while any(len(v) < n_per_split for v in out.values()):
        day, second = divmod(k + 97 * seed, 28)
        name = f"2019{1 + day % 12:02d}{1 + second:02d}T10{k % 60:02d}{seed % 60:02d}"
        name += f"_{_CENTRES[k % 2]}_prep"
        split = "test" if k % 3 == 2 else sicd_split_of(name)
        if len(out[split]) < n_per_split:
            out[split].append(name)
        k += 1
    return out


def _scene(rng: np.random.Generator, h: int, w: int) -> tuple[dict[str, np.ndarray], ...]:
    sod = rng.integers(0, 6, size=(h, w)).astype(np.uint8)
    sod[: h // 2] = rng.integers(0, 6)  # a big homogeneous polygon, as in ice charts
    hh = rng.normal(-0.2, 0.6, size=(h, w)).astype(np.float32) + 0.1 * sod
    hv = rng.normal(-0.2, 0.4, size=(h, w)).astype(np.float32) + 0.05 * sod
    angle = np.linspace(-1.5, 1.5, w, dtype=np.float32)[None].repeat(h, axis=0)
    hh[:3, :4] = np.nan
    hv[:3, :4] = np.nan
    sod[:3, :4] = 255
    sic = np.where(sod == 0, 0, 10).astype(np.uint8)
    sic[:3, :4] = 255
    floe = np.where(sod == 255, 255, rng.integers(0, 7, size=(h, w))).astype(np.uint8)
    sar = {"nersc_sar_primary": hh, "nersc_sar_secondary": hv, "sar_incidenceangle": angle}
    return sar, {"SIC": sic, "SOD": sod, "FLOE": floe}


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``n_per_split`` scenes for each planetbench split (train, val, test) under ``root``."""
    root = Path(root)
    h, w = scene_shape(size)
    rows = ["input_path,split"]
    fill = {k: {"_FillValue": np.int16(255)} for k in ("SIC", "SOD", "FLOE")}
    for s, (split, names) in enumerate(scene_ids(n_per_split, seed).items()):
        for i, name in enumerate(names):
            sar, charts = _scene(np.random.default_rng([seed, s, i]), h, w)
            if split == "test":
                write_classic_netcdf(root / "test" / f"{name}.nc", sar)
                write_classic_netcdf(root / "test" / f"{name}_reference.nc", charts, attrs=fill)
                rows.append(f"test/{name}.nc,test")
            else:
                write_classic_netcdf(root / "train" / f"{name}.nc", {**sar, **charts}, attrs=fill)
                rows.append(f"train/{name}.nc,train")
    (root / "metadata.csv").write_text("\n".join(rows) + "\n")
    return root


def cryobench_shapes(size: int) -> tuple[tuple[int, int], ...]:
    """(height, width) of the fake Cryo-Bench rasters of a split, in file-name order: taller and
    wider than ``size`` (centre crop), then one with a side of exactly ``size`` (top-left crop)."""
    return (size + 10, size + 7), (size + 3, size + 20), (size, size + 9)


def write_cryobench(
    root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0, channels: int = 3
) -> Path:
    """Write Cryo-Bench's prepared SICD layout: ``root/<split>/{images,masks}/<scene>.tif``.

    Images are float32 rasters of ``channels`` channels (HH, HV, then an incidence-angle ramp),
    NaN in a corner; labels are uint8 stage-of-development classes 0-5 with 255 on the NaN corner.
    Scene shapes cycle through :func:`cryobench_shapes`. Splits are train, val and test.
    """
    from planetbench.tasks.readers.geotiff import write_geotiff

    root = Path(root)
    shapes = cryobench_shapes(size)
    for s, split in enumerate(SPLITS):
        for i in range(n_per_split):
            h, w = shapes[i % len(shapes)]
            sar, charts = _scene(np.random.default_rng([seed, 7, s, i]), h, w)
            stack = [sar["nersc_sar_primary"], sar["nersc_sar_secondary"],
                     sar["sar_incidenceangle"]]
            name = f"2019{s + 1:02d}{i + 1:02d}T101010_{_CENTRES[i % 2]}_prep.tif"
            write_geotiff(root / split / "images" / name, np.stack(stack[:channels]))
            write_geotiff(root / split / "masks" / name, charts["SOD"])
    return root
