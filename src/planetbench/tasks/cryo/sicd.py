"""SICD: sea-ice stage of development from Sentinel-1 EW HH/HV scenes (AI4Arctic).

Two layouts are read, picked from what is on disk:

``torchgeo``
    The AI4Arctic Sea Ice Challenge "ready-to-train" scenes as mirrored by torchgeo on Hugging
    Face: ``root/train/<scene>.nc`` holding the SAR variables and the ``SIC``/``SOD``/``FLOE``
    charts, and ``root/test/<scene>.nc`` with its charts in ``root/test/<scene>_reference.nc``.
    Upstream has no validation split; ``val`` is a fixed, hash-chosen tenth of the train scenes
    (:func:`sicd_split_of`).
``cryobench``
    The rasters Cryo-Bench prepared (read by its ``pangaea/datasets/ai4arctic.py``):
    ``root/<split>/images/<scene>.tif`` with the label raster of the same name in
    ``root/<split>/masks/``, for train, val and test (its own ``val/`` folder). Channels: HH, HV
    and a third channel read as the incidence angle (Cryo-Bench's ``ai4arctic_rgb.yaml`` reads
    three, its ``ai4arctic.yaml`` the first two); a 2-channel raster gets a zero third channel
    with a warning. NaN pixels become 0 in the image (as Cryo-Bench's loader); labels are kept.

Scenes (about 5000 × 5000 px at 80 m) are yielded as sliding-window tiles of ``tile_size``
(default 512) px that together cover every pixel of every scene, and for val/test each scene
pixel is scored by exactly one tile (see :mod:`planetbench.tasks.readers.tiling`);
``tile_size=None`` yields whole scenes. With the ``cryobench`` layout, ``crop_size=512`` first
keeps the one crop per scene Cryo-Bench keeps (:func:`~planetbench.tasks.cryo.scenes.
cryobench_crop`: the centre, or the top-left corner of a scene with a side of at most 512 px),
for train as well as val and test.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import get_band
from planetbench.tasks.cryo.scenes import SceneWindows, cryobench_crop, tile_options
from planetbench.tasks.cryo.suite import CRYOBENCH_CITATION, SUITE, check_mask, missing_data
from planetbench.tasks.readers.tiling import SceneStitcher, Tiling, Window
from planetbench.tasks.spec import Layout, PublishedStats, RemoteFile, Task, TaskSpec

_AI4ARCTIC_HF = (
    "https://huggingface.co/datasets/torchgeo/ai4artic-sea-ice-challenge/resolve/main/{}"
)

SICD_SAR_VARIABLES: tuple[str, ...] = (
    "nersc_sar_primary",
    "nersc_sar_secondary",
    "sar_incidenceangle",
)
"""netCDF variables read as image channels, in the order of the spec's bands: HH backscatter, HV
backscatter (both NERSC noise-corrected) and the SAR incidence angle."""

SICD_IGNORE = 255
"""Chart value where no ice chart exists (land, outside the chart, SAR no-data)."""

SICD_CHART = "SOD"
"""The chart used as the mask: stage of development, 6 classes, 255 where no chart exists."""

SICD_TILE_SIZE = 512
"""Default tile side in pixels (Cryo-Bench's ``img_size`` for SICD); ``tile_size=None`` reads
whole scenes instead."""

SICD_VAL_MODULUS = 10
"""One in ``SICD_VAL_MODULUS`` training scenes (by hash of the scene id) forms the ``val`` split."""

SICD_SPEC = TaskSpec(
    name="sicd",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=(
        "open_water",
        "new_ice",
        "young_ice",
        "thin_first_year_ice",
        "thick_first_year_ice",
        "old_ice",
    ),
    bands=(get_band("HH"), get_band("HV"), get_band("incidence_angle")),
    ignore_index=SICD_IGNORE,
    splits=("train", "val", "test"),
    # Not published for all three variables: Cryo-Bench's ai4arctic.yaml gives HH/HV (as VV/VH);
    # ai4arctic_rgb.yaml adds -0.12 ± 0.12 for a third channel, a placeholder (see
    # published_stats).
    band_mean=None,
    band_std=None,
    licence="CC-BY-4.0",
    citation=(
        "Buus-Hinkler, J. et al. (2022) AI4Arctic Sea Ice Challenge Dataset, Technical University "
        "of Denmark, doi:10.11583/DTU.c.6244065.v2, "
        "https://data.dtu.dk/articles/dataset/Ready-To-Train_AI4Arctic_Sea_Ice_Challenge_Dataset/"
        "21316608; Stokholm, A. et al. (2023) The AutoICE Challenge, "
        "https://egusphere.copernicus.org/preprints/2023/egusphere-2023-2648/"
    ),
    url=_AI4ARCTIC_HF.format("test.tar.gz"),
    sha256="",
    # MD5 digests as published by torchgeo's AI4ArcticSeaIce dataset; no SHA-256 is published.
    files=(
        RemoteFile(_AI4ARCTIC_HF.format("metadata.csv"), "metadata.csv",
                   md5="4b610118c2d182325ec7599434b37deb", extract=False),
        RemoteFile(_AI4ARCTIC_HF.format("train.tar.gzaa"), "train.tar.gzaa",
                   md5="847ea12d0a5100f0a00af4bb110404b4", part_of="train.tar.gz"),
        RemoteFile(_AI4ARCTIC_HF.format("train.tar.gzab"), "train.tar.gzab",
                   md5="3f4770c586487dc681d1d216c7003f2c", part_of="train.tar.gz"),
        RemoteFile(_AI4ARCTIC_HF.format("test.tar.gz"), "test.tar.gz",
                   md5="bca98ec6734783aa6f005382549a0d21"),
    ),
    layouts=(
        Layout(
            "torchgeo",
            "root/train/<scene>.nc, root/test/<scene>.nc + root/test/<scene>_reference.nc",
        ),
        Layout(
            "cryobench",
            "root/<split>/images/<scene>.tif + root/<split>/masks/<scene>.tif for train, val, "
            "test (Cryo-Bench's prepared AI4Arctic rasters)",
            image_folder="images",
            mask_folder="masks",
        ),
    ),
    checksum_note="MD5 only (published by torchgeo for each file); no SHA-256 is published",
    split_note=(
        "not upstream (the challenge ships train and test only): in the torchgeo layout, the "
        f"train scenes whose sha256(scene id) is 0 modulo {SICD_VAL_MODULUS}; the cryobench "
        "layout has Cryo-Bench's own val/ folder"
    ),
    published_stats=PublishedStats(
        source="Cryo-Bench pangaea-bench/configs/dataset/ai4arctic.yaml (HH, HV, named VV, VH; "
        "ai4arctic_rgb.yaml repeats them and gives a third channel -0.12 ± 0.12, a placeholder)",
        band_names=("HH", "HV"),
        mean=(-0.16381396, -0.22024433),
        std=(0.61435765, 0.37416646),
    ),
    evaluation_note=(
        f"whole scenes by sliding window: tiles of {SICD_TILE_SIZE} px by default "
        "(reader options tile_size, stride); on val/test each scene pixel is scored by "
        "exactly one tile; tile_size=None yields whole scenes. Cryo-Bench keeps one 512 px "
        "crop per scene (cryobench layout, reader option crop_size=512)"
    ),
    benchmark_citation=CRYOBENCH_CITATION,
    # Reader option that sets the sliding-window tile side: the runner sets it to the run's
    # input size so that tiles are scored at full resolution and every pixel exactly once.
    tile_option="tile_size",
)
"""SICD: sea-ice stage of development from Sentinel-1 EW HH/HV scenes (AI4Arctic)."""


def sicd_split_of(scene_id: str) -> str:
    """``val`` or ``train`` for a scene of the upstream ``train/`` folder (hash of its id)."""
    digest = int(hashlib.sha256(scene_id.encode("utf-8")).hexdigest(), 16)
    return "val" if digest % SICD_VAL_MODULUS == 0 else "train"


def _scene_files(root: Path, split: str) -> list[Path]:
    folder = root / ("test" if split == "test" else "train")
    if not folder.is_dir():
        raise missing_data(
            SICD_SPEC, root, f"the folder {folder.name!r} of AI4Arctic .nc scenes", folder.name
        )
    files = sorted(p for p in folder.glob("*.nc") if not p.name.endswith("_reference.nc"))
    if not files:
        raise missing_data(SICD_SPEC, root, f"AI4Arctic scene files (*.nc) in {str(folder)!r}")
    if split == "test":
        return files
    chosen = [p for p in files if sicd_split_of(p.stem) == split]
    if not chosen:
        raise DatasetNotFoundError(
            f"task 'sicd': none of the {len(files)} scene(s) in {folder} falls in split {split!r} "
            f"({SICD_SPEC.split_note}); the full training set has about 512 scenes"
        )
    return chosen


def _label_file(scene: Path, split: str) -> Path:
    if split != "test":
        return scene
    ref = scene.with_name(scene.stem + "_reference.nc")
    if not ref.is_file():
        raise DatasetNotFoundError(
            f"task 'sicd': test scene {scene} has no chart file {ref}; the test charts ship as "
            f"<scene>_reference.nc in test.tar.gz ({SICD_SPEC.url})"
        )
    return ref


def read_sicd_scene(
    scene: Path, split: str, window: tuple[int, int, int, int] | None = None
) -> dict[str, Any]:
    """Read one AI4Arctic scene, whole or a ``(y0, x0, y1, x1)`` window of it.

    Pixels where any input variable is NaN (no data) become 0 in the image and the ignore index
    (255) in the mask, so they never count in a metric.

    Returns:
        ``{"image": (3, H, W) float32 HH/HV/incidence angle, "mask": (H, W) int64 SOD or 255,
        "id": scene stem}`` (H, W of the window when one is given).
    """
    from planetbench.tasks.readers.netcdf import read_netcdf_variables

    sar = read_netcdf_variables(scene, SICD_SAR_VARIABLES, window=window)
    chart = read_netcdf_variables(
        _label_file(scene, split), (SICD_CHART,), mask_fill=False, window=window
    )
    image = np.stack([sar[v] for v in SICD_SAR_VARIABLES]).astype(np.float32)
    mask = np.asarray(chart[SICD_CHART]).astype(np.int64)
    if mask.shape != image.shape[1:]:
        raise LabelFileError(
            f"task 'sicd': chart {SICD_CHART} in {scene} is {mask.shape}, SAR is {image.shape[1:]}"
        )
    nodata = ~np.isfinite(image).all(axis=0)
    if nodata.any():
        image = np.where(np.isfinite(image), image, np.float32(0.0))
        mask = np.where(nodata, SICD_IGNORE, mask)
    return {"image": image, "mask": check_mask(SICD_SPEC, mask, str(scene)), "id": scene.stem}


def _tile_dict(
    scene_id: str, image: np.ndarray, mask: np.ndarray | None, window: Window, owned: Window
) -> dict[str, Any]:
    return {
        "image": image,
        "mask": mask,
        "id": f"{scene_id}@{window[0]}_{window[1]}",
        "scene": scene_id,
        "window": np.asarray(window, dtype=np.int64),
        "owned": np.asarray(owned, dtype=np.int64),
    }


def iter_scene_tiles(
    scene: dict[str, Any], size: int, stride: int | None = None, *, owned_only: bool = False
) -> Iterator[dict[str, Any]]:
    """Cut a whole scene into the windows of :class:`Tiling`, padded to ``size``.

    Yields:
        ``{"image": (C, size, size) float32, "mask": (size, size) int64, "id":
        "<scene>@<y0>_<x0>", "scene": scene id, "window": int64 (y0, x0, y1, x1), "owned": int64
        (y0, x0, y1, x1)}``. Padding is 0 in the image and the ignore index (255) in the mask;
        with ``owned_only`` mask pixels outside the owned rectangle are 255 too, so that metrics
        over all tiles count every scene pixel exactly once.
    """
    _, h, w = scene["image"].shape
    tiling = Tiling(h, w, size, stride)
    for i, (window, owned) in enumerate(zip(tiling.windows, tiling.owned, strict=True)):
        image, mask = tiling.cut(
            scene["image"], i, mask=scene["mask"], ignore_index=SICD_IGNORE, owned_only=owned_only
        )
        yield _tile_dict(scene["id"], image, mask, window, owned)


class SICDScenes:
    """Whole AI4Arctic scenes of one split, one sample per scene (see :func:`read_sicd_scene`).

    Args:
        files: scene ``.nc`` files.
        split: ``train``, ``val`` or ``test`` (test charts live in ``<scene>_reference.nc``).
    """

    def __init__(self, files: Sequence[Path], split: str) -> None:
        self.files = tuple(files)
        self.split = split

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Scene ``index`` as a whole."""
        return read_sicd_scene(self.files[index], self.split)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]


class SICDTiles:
    """Sliding-window tiles over every scene of a split; together they cover every pixel.

    Args:
        files: scene ``.nc`` files.
        split: ``train``, ``val`` or ``test``.
        tilings: one :class:`Tiling` per file.
        owned_only: mask pixels outside each tile's owned rectangle with the ignore index, so
            that a metric over all tiles counts every scene pixel once (used for val and test).

    Items are those of :func:`iter_scene_tiles`. Each tile reads only its window from disk
    (netCDF-4 chunks), so shuffled access during training never decodes whole scenes.
    ``index_of[i]`` is ``(scene index, window index)`` of tile ``i``; :meth:`stitcher` gives a
    :class:`SceneStitcher` to reassemble one scene's tile predictions.
    """

    def __init__(
        self, files: Sequence[Path], split: str, tilings: Sequence[Tiling], *, owned_only: bool
    ) -> None:
        self.files = tuple(files)
        self.split = split
        self.tilings = tuple(tilings)
        self.owned_only = owned_only
        self.index_of = tuple((s, w) for s, t in enumerate(self.tilings) for w in range(len(t)))

    def __len__(self) -> int:
        return len(self.index_of)

    @property
    def size(self) -> int:
        """Tile side in pixels."""
        return self.tilings[0].size

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Tile ``index`` (see :func:`iter_scene_tiles` for the keys)."""
        scene_idx, window_idx = self.index_of[index]
        tiling = self.tilings[scene_idx]
        window = tiling.windows[window_idx]
        part = read_sicd_scene(self.files[scene_idx], self.split, window)
        image, mask = tiling.place(
            part["image"], window_idx, mask=part["mask"], ignore_index=SICD_IGNORE,
            owned_only=self.owned_only,
        )
        return _tile_dict(part["id"], image, mask, window, tiling.owned[window_idx])

    def stitcher(self, scene_index: int, n_channels: int | None = None) -> SceneStitcher:
        """A stitcher for scene ``scene_index``; add predictions by window index."""
        return SceneStitcher(self.tilings[scene_index], n_channels=n_channels)


def cryobench_layout(root: Path) -> bool:
    """True when ``root`` holds Cryo-Bench's prepared rasters (``<split>/images`` folders)."""
    return any((Path(root) / s / "images").is_dir() for s in SICD_SPEC.splits)


def _raster_channels(path: Path, count: int) -> None:
    if count < 2:
        raise InvalidInputError(
            f"task 'sicd': {path} has {count} channel(s); Cryo-Bench's rasters hold HH and HV "
            "(and a third channel)"
        )


def read_sicd_rasters(root: Path, split: str, **options: Any) -> SceneWindows:
    """Read split ``split`` of Cryo-Bench's prepared SICD rasters (see module docstring).

    Args:
        root: folder holding ``<split>/images`` and ``<split>/masks``.
        split: ``train``, ``val`` or ``test``.
        **options: ``crop_size`` (keep Cryo-Bench's one crop per scene first; default None),
            ``tile_size`` (default :data:`SICD_TILE_SIZE`; None yields each scene or crop
            whole), ``stride`` and ``owned_only`` (default True for val/test).

    Raises:
        DatasetNotFoundError: no rasters in ``root/<split>/images`` or a label raster missing.
        InvalidInputError: unknown options, or a raster with fewer than 2 channels.
        LabelFileError: a label raster of another size than its image.
    """
    from planetbench.tasks.readers.geotiff import geotiff_shape, read_geotiff

    opts = tile_options(
        "sicd", options, allowed=("crop_size", "tile_size", "stride", "owned_only"),
        defaults={"crop_size": None, "tile_size": SICD_TILE_SIZE, "stride": None},
    )
    opts.setdefault("owned_only", split != "train" and opts["tile_size"] is not None)
    root = Path(root)
    images_dir, masks_dir = root / split / "images", root / split / "masks"
    files = sorted(images_dir.glob("*.tif")) if images_dir.is_dir() else []
    if not files:
        raise missing_data(SICD_SPEC, root, f"Cryo-Bench's SICD rasters (*.tif) in "
                           f"{str(images_dir)!r}", f"{split}/images")
    masks, shapes = [], []
    short: list[str] = []
    for path in files:
        mask = masks_dir / path.name
        if not mask.is_file():
            raise DatasetNotFoundError(
                f"task 'sicd': raster {path} has no label raster {mask}; Cryo-Bench pairs "
                "<split>/images/<name>.tif with <split>/masks/<name>.tif"
            )
        count, h, w = geotiff_shape(path)
        _raster_channels(path, count)
        if count == 2:
            short.append(path.name)
        if geotiff_shape(mask)[1:] != (h, w):
            raise LabelFileError(f"task 'sicd': label raster {mask} is not {h}x{w} like {path}")
        masks.append(mask)
        shapes.append((h, w))
    if short:
        warnings.warn(
            f"task 'sicd': {len(short)} raster(s) of split {split!r} hold 2 channels (e.g. "
            f"{short[0]}): their incidence-angle channel is filled with zeros (Cryo-Bench's "
            "ai4arctic.yaml reads only HH and HV)",
            UserWarning,
            stacklevel=2,
        )

    def read(scene: int, window: Window) -> tuple[np.ndarray, np.ndarray]:
        image = read_geotiff(files[scene], window=window)[:3]
        if image.shape[0] == 2:
            image = np.concatenate([image, np.zeros_like(image[:1])])
        image = np.nan_to_num(image, nan=0.0)
        label = read_geotiff(masks[scene], window=window, dtype=np.int64)[0]
        return image, check_mask(SICD_SPEC, label, str(masks[scene]))

    crop = opts["crop_size"]
    regions = None if crop is None else [cryobench_crop(h, w, int(crop)) for h, w in shapes]
    return SceneWindows(
        [p.stem for p in files], shapes, read, ignore_index=SICD_IGNORE, regions=regions,
        tile_size=opts["tile_size"], stride=opts["stride"], owned_only=bool(opts["owned_only"]),
    )


def read_sicd(root: Path, split: str, **options: Any) -> SICDScenes | SICDTiles | SceneWindows:
    """Read split ``split`` of SICD from the layout found under ``root``.

    Cryo-Bench's prepared rasters (``<split>/images``) are read by :func:`read_sicd_rasters`;
    otherwise the torchgeo netCDF scenes, as sliding-window tiles (default) or whole scenes.

    Args:
        root: folder holding ``train/`` and ``test/`` (see module docstring).
        split: ``train``, ``val`` (torchgeo layout: a fixed tenth of the upstream train scenes)
            or ``test``.
        **options: ``tile_size`` (tile side in pixels, default :data:`SICD_TILE_SIZE`; None
            yields whole scenes), ``stride`` (step between tiles, default ``tile_size``) and
            ``owned_only`` (default True for val/test, False for train; see :class:`SICDTiles`);
            ``crop_size`` for the cryobench layout only.
    """
    root = Path(root)
    if cryobench_layout(root):
        return read_sicd_rasters(root, split, **options)
    if "crop_size" in options:
        raise InvalidInputError(
            "task 'sicd': crop_size (Cryo-Bench's one crop per scene) applies to Cryo-Bench's "
            f"prepared rasters (layout {SICD_SPEC.layouts[1].pattern}); {root} holds the "
            "torchgeo netCDF scenes"
        )
    unknown = sorted(set(options) - {"tile_size", "stride", "owned_only"})
    if unknown:
        raise InvalidInputError(
            f"task 'sicd' reader options are tile_size, stride and owned_only; got "
            f"{', '.join(unknown)}"
        )
    tile_size: int | None = options.get("tile_size", SICD_TILE_SIZE)
    stride: int | None = options.get("stride")
    owned_only = bool(options.get("owned_only", split != "train"))
    from planetbench.tasks.readers.netcdf import netcdf_variable_shape

    files = _scene_files(root, split)
    if tile_size is None:
        if stride is not None or "owned_only" in options:
            raise InvalidInputError(
                "task 'sicd': stride and owned_only only apply together with tile_size"
            )
        return SICDScenes(files, split)
    tilings: list[Tiling] = []
    for path in files:
        shape = netcdf_variable_shape(path, SICD_SAR_VARIABLES[0])
        if len(shape) != 2:
            raise InvalidInputError(f"{path}: {SICD_SAR_VARIABLES[0]} has shape {shape}; want 2-D")
        tilings.append(Tiling(shape[0], shape[1], tile_size, stride))
    return SICDTiles(files, split, tilings, owned_only=owned_only)


SICD: Task = TASKS.register("sicd", Task(SICD_SPEC, read_sicd))

__all__ = [
    "SICD",
    "SICD_CHART",
    "SICD_IGNORE",
    "SICD_SAR_VARIABLES",
    "SICD_SPEC",
    "SICD_TILE_SIZE",
    "SICD_VAL_MODULUS",
    "SICDScenes",
    "SICDTiles",
    "cryobench_layout",
    "iter_scene_tiles",
    "read_sicd",
    "read_sicd_rasters",
    "read_sicd_scene",
    "sicd_split_of",
]
