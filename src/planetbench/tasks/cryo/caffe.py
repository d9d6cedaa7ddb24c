"""CaFFe: glacier zone segmentation (4 classes) from single-channel SAR PNGs.

Three layouts are read, picked from what is on disk (zone pixel values 0, 64, 127, 254 are the
classes N/A, rock, glacier, ocean/ice mélange and become 0, 1, 2, 3):

``torchgeo``
    The 512 px patches of torchgeo's ``caffe.zip``: ``root/caffe/sar_images/<split>/X.png`` with
    zone labels ``root/caffe/zones/<split>/X'.png`` where the zone name is the image name with
    ``_zones_`` inserted (``A_B_...`` ↔ ``A_B_zones_...``); train, val and test.
``cryobench``
    The full images as Cryo-Bench re-arranged them (its ``zone_layout``, read by ``ZONE`` in
    ``pangaea/datasets/zone_mapping_{optical,sar}.py``): ``root/images/<split>/*.png`` and
    ``root/labels/<split>/*.png``, paired in sorted order as that loader pairs them, labels
    already 0..3; train, val and test.
``pangaea-raw``
    The release on PANGAEA (doi:10.1594/PANGAEA.940950, ``data_raw.zip``):
    ``root/data_raw/sar_images/{train,test}/<name>.png`` with the zone label
    ``root/data_raw/zones/{train,test}/<name>_zones.png`` (front labels in ``fronts/`` are not
    read). It has no validation split: ``val`` is a fixed, hash-chosen tenth of the train images
    (:func:`caffe_split_of`).

Full images (the last two layouts) are yielded as tiles of ``tile_size`` px (default 512, the
patch size of the torchgeo layout; each val/test pixel scored once) or whole
(``tile_size=None``). Cryo-Bench's evaluation tiles them at 1024 px every 1024 px with the last
tile moved to end at the border, and scores every tile whole: :data:`CAFFE_CRYOBENCH_TILING`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band
from planetbench.tasks.cryo.scenes import SceneWindows, tile_options
from planetbench.tasks.cryo.suite import (
    CRYOBENCH_CITATION,
    SUITE,
    check_mask,
    missing_data,
)
from planetbench.tasks.readers.images import image_shape, read_image, read_label_image
from planetbench.tasks.readers.tiling import Window
from planetbench.tasks.spec import Layout, RemoteFile, Task, TaskSpec

CAFFE_ZONE_VALUES: dict[int, int] = {0: 0, 64: 1, 127: 2, 254: 3}
"""Zone PNG pixel value → class index (N/A, rock, glacier, ocean/ice mélange)."""

CAFFE_TILE_SIZE = 512
"""Default tile side (px) of the full-image layouts: the patch size of torchgeo's mirror."""

CAFFE_VAL_MODULUS = 10
"""One in ``CAFFE_VAL_MODULUS`` train images of the raw release (by hash of the name) is ``val``."""

CAFFE_CRYOBENCH_TILING: dict[str, Any] = {"tile_size": 1024, "stride": 1024, "owned_only": False}
"""Reader options that cut full images as Cryo-Bench's ``ZONE`` loader cuts val/test images:
``img_size`` 1024 tiles every 1024 px, the last row/column moved to end at the border, short
sides padded (image 0, mask -1), every tile scored whole (pixels under two tiles count twice)."""

_CAFFE_LUT = np.full(256, -2, dtype=np.int64)
for _value, _cls in CAFFE_ZONE_VALUES.items():
    _CAFFE_LUT[_value] = _cls

CAFFE_LAYOUTS: tuple[Layout, ...] = (
    Layout("torchgeo", "root/caffe/{sar_images,zones}/<split>/*.png"),
    Layout(
        "cryobench",
        "root/images/<split>/*.png + root/labels/<split>/*.png (Cryo-Bench's zone_layout: full "
        "images, labels 0..3; train, val, test)",
    ),
    Layout(
        "pangaea-raw",
        "root/data_raw/sar_images/{train,test}/<name>.png + "
        "root/data_raw/zones/{train,test}/<name>_zones.png (the PANGAEA release)",
    ),
)

CAFFE_SPEC = TaskSpec(
    name="caffe",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("na", "rock", "glacier", "ocean_ice_melange"),
    # One 8-bit SAR amplitude channel from ERS-1/2, Envisat, RADARSAT-1, ALOS PALSAR, TerraSAR-X,
    # TanDEM-X and Sentinel-1, i.e. HH or VV depending on the scene: polarisation "mixed".
    bands=(Band("sar_amplitude", "sar", polarisation="mixed"),),
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/zone_mapping_sar.yaml (0-255 scale).
    band_mean=(73.7227,),
    band_std=(80.7074,),
    licence="CC-BY-4.0",
    citation=(
        "Gourmelon, N., Seehaus, T., Braun, M., Maier, A. and Christlein, V. (2022) Calving fronts "
        "and where to find them: a benchmark dataset and methodology for automatic glacier calving "
        "front delineation from synthetic aperture radar imagery, Earth Syst. Sci. Data 14, "
        "4287-4313; data https://doi.pangaea.de/10.1594/PANGAEA.940950"
    ),
    url="https://huggingface.co/datasets/torchgeo/caffe/resolve/"
    "cc96e8418981ce0f03afc9beace6422fdd7142c4/caffe.zip",
    sha256="",
    # MD5 as published by torchgeo's CaFFe dataset; no SHA-256 is published.
    files=(
        RemoteFile(
            "https://huggingface.co/datasets/torchgeo/caffe/resolve/"
            "cc96e8418981ce0f03afc9beace6422fdd7142c4/caffe.zip",
            "caffe.zip",
            md5="9a92fd6f05af74fbc41602595a55df0d",
        ),
    ),
    layouts=CAFFE_LAYOUTS,
    checksum_note="MD5 only (published by torchgeo for caffe.zip); no SHA-256 is published",
    split_note=(
        "torchgeo and cryobench layouts ship val; the pangaea-raw release has train and test "
        f"only: its val is the train images whose sha256(name) is 0 modulo {CAFFE_VAL_MODULUS}"
    ),
    evaluation_note=(
        "torchgeo layout: the mirror's 512 px patches as shipped; full-image layouts: tiles of "
        f"{CAFFE_TILE_SIZE} px, each val/test pixel scored once (reader options tile_size, "
        "stride, owned_only); Cryo-Bench scores whole 1024 px edge-aligned tiles "
        "(CAFFE_CRYOBENCH_TILING); statistics are Cryo-Bench's"
    ),
    benchmark_citation=CRYOBENCH_CITATION,
)
"""CaFFe: glacier zone segmentation (4 classes) from single-channel SAR PNGs."""


def zones_to_classes(raw: np.ndarray, source: Path) -> np.ndarray:
    """Zone pixel values (0, 64, 127, 254) → classes 0..3.

    Raises:
        LabelFileError: naming ``source`` and any other value found.
    """
    if raw.min() < 0 or raw.max() > 255 or np.any(_CAFFE_LUT[raw] == -2):
        bad = sorted(set(np.unique(raw).tolist()) - set(CAFFE_ZONE_VALUES))
        raise LabelFileError(
            f"task 'caffe': zone mask {source} holds pixel value(s) {bad[:10]}; "
            f"allowed are {sorted(CAFFE_ZONE_VALUES)} (N/A, rock, glacier, ocean/ice melange)"
        )
    return _CAFFE_LUT[raw]


def _grey(image: np.ndarray, path: Path) -> np.ndarray:
    """The one SAR channel of an image: grey, or RGB with three equal channels."""
    if image.shape[0] == 1:
        return image
    if image.shape[0] in (3, 4) and np.array_equal(image[0], image[1]) and np.array_equal(
        image[0], image[2]
    ):
        return image[:1]
    raise InvalidInputError(
        f"CaFFe image {path} has {image.shape[0]} different channels; expected 1 (grey SAR)"
    )


def caffe_split_of(name: str) -> str:
    """``val`` or ``train`` for an image of the raw release's ``train`` folder (hash of its name)."""
    digest = int(hashlib.sha256(name.encode("utf-8")).hexdigest(), 16)
    return "val" if digest % CAFFE_VAL_MODULUS == 0 else "train"


class CaFFe:
    """CaFFe zone segmentation of one split (torchgeo layout; see module docstring).

    Args:
        zone_files: zone label PNGs of the split; images are found by dropping ``_zones``.
        image_dir: ``root/caffe/sar_images/<split>``.
    """

    def __init__(self, zone_files: Sequence[Path], image_dir: Path) -> None:
        self.zone_files = tuple(zone_files)
        self.image_dir = image_dir

    def __len__(self) -> int:
        return len(self.zone_files)

    def __getitem__(self, index: int) -> dict[str, Any]:
        """Sample ``index``: image (1, H, W) float32 0-255, mask (H, W) int64 in 0..3, id."""
        zone_path = self.zone_files[index]
        name = zone_path.name.replace("_zones_", "_")
        image_path = self.image_dir / name
        if not image_path.is_file():
            raise DatasetNotFoundError(
                f"task 'caffe': zone label {zone_path} has no SAR image at {image_path}"
            )
        image = read_image(image_path)
        if image.shape[0] != 1:
            raise InvalidInputError(f"CaFFe image {image_path} has {image.shape[0]} channels; "
                                    "expected 1 (grey SAR)")
        mask = zones_to_classes(read_label_image(zone_path), zone_path)
        if mask.shape != image.shape[1:]:
            raise LabelFileError(f"CaFFe mask {zone_path} is {mask.shape}, image is "
                                 f"{image.shape[1:]}")
        return {"image": image, "mask": mask, "id": Path(name).stem}


def _read_torchgeo(root: Path, split: str, options: dict[str, Any]) -> CaFFe:
    if options:
        raise InvalidInputError(
            f"task 'caffe': {root} holds torchgeo's 512 px patches, which take no reader options "
            f"(got {', '.join(sorted(options))}); tiling options such as Cryo-Bench's 1024 px "
            f"tiles need the full images (layouts {CAFFE_LAYOUTS[1].pattern} or "
            f"{CAFFE_LAYOUTS[2].pattern})"
        )
    zones = root / "caffe" / "zones" / split
    images = root / "caffe" / "sar_images" / split
    for folder in (zones, images):
        if not folder.is_dir():
            rel = str(folder.relative_to(root))
            raise missing_data(CAFFE_SPEC, root, f"the folder {rel!r}", rel)
    files = sorted(zones.glob("*_zones_*.png"))
    if not files:
        raise missing_data(CAFFE_SPEC, root, f"zone PNGs named *_zones_*.png in {str(zones)!r}")
    return CaFFe(files, images)


def _pairs_cryobench(root: Path, split: str) -> list[tuple[str, Path, Path, bool]]:
    images_dir, labels_dir = root / "images" / split, root / "labels" / split
    for folder in (images_dir, labels_dir):
        if not folder.is_dir():
            rel = str(folder.relative_to(root))
            raise missing_data(CAFFE_SPEC, root, f"the folder {rel!r}", rel)
    images, labels = sorted(images_dir.glob("*.png")), sorted(labels_dir.glob("*.png"))
    if not images:
        raise missing_data(CAFFE_SPEC, root, f"image PNGs in {str(images_dir)!r}")
    if len(images) != len(labels):
        raise LabelFileError(
            f"task 'caffe': {len(images)} images in {images_dir} but {len(labels)} labels in "
            f"{labels_dir}; Cryo-Bench's loader pairs them in sorted order, one label per image"
        )
    return [(i.stem, i, m, False) for i, m in zip(images, labels, strict=True)]


def _pairs_raw(root: Path, split: str) -> list[tuple[str, Path, Path, bool]]:
    base = root / "data_raw"
    folder = "test" if split == "test" else "train"
    images_dir, zones_dir = base / "sar_images" / folder, base / "zones" / folder
    for path in (images_dir, zones_dir):
        if not path.is_dir():
            rel = str(path.relative_to(root))
            raise missing_data(CAFFE_SPEC, root, f"the folder {rel!r}", rel)
    images = sorted(images_dir.glob("*.png"))
    if split != "test":
        images = [p for p in images if caffe_split_of(p.stem) == split]
    if not images:
        raise missing_data(CAFFE_SPEC, root, f"SAR image PNGs of split {split!r} in "
                           f"{str(images_dir)!r}")
    pairs = []
    for image in images:
        zone = zones_dir / f"{image.stem}_zones.png"
        if not zone.is_file():
            raise DatasetNotFoundError(
                f"task 'caffe': SAR image {image} has no zone label {zone}; the release names "
                "it <image name>_zones.png"
            )
        pairs.append((image.stem, image, zone, True))
    return pairs


def _full_images(
    pairs: Sequence[tuple[str, Path, Path, bool]], split: str, options: dict[str, Any]
) -> SceneWindows:
    opts = tile_options(
        "caffe", options, allowed=("tile_size", "stride", "owned_only"),
        defaults={"tile_size": CAFFE_TILE_SIZE, "stride": None},
    )
    opts.setdefault("owned_only", split != "train" and opts["tile_size"] is not None)
    shapes = []
    for _, image, label, _ in pairs:
        shape = image_shape(image)
        if image_shape(label) != shape:
            raise LabelFileError(
                f"task 'caffe': label {label} is not {shape[0]}x{shape[1]} like {image}"
            )
        shapes.append(shape)
    last: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def read(scene: int, window: Window) -> tuple[np.ndarray, np.ndarray]:
        if scene not in last:  # decode each PNG once for consecutive tiles of one image
            _, image_path, label_path, raw = pairs[scene]
            image = _grey(read_image(image_path), image_path)
            labels = read_label_image(label_path)
            mask = (zones_to_classes(labels, label_path) if raw
                    else check_mask(CAFFE_SPEC, labels, str(label_path)))
            last.clear()
            last[scene] = (image, mask)
        image, mask = last[scene]
        y0, x0, y1, x1 = window
        return image[:, y0:y1, x0:x1], mask[y0:y1, x0:x1]

    return SceneWindows(
        [p[0] for p in pairs], shapes, read, ignore_index=-1, tile_size=opts["tile_size"],
        stride=opts["stride"], owned_only=bool(opts["owned_only"]),
    )


def caffe_layout(root: Path) -> str | None:
    """The name of the CaFFe layout found under ``root`` (see :data:`CAFFE_LAYOUTS`), or None."""
    root = Path(root)
    if (root / "caffe" / "zones").is_dir():
        return "torchgeo"
    if (root / "images").is_dir() and (root / "labels").is_dir():
        return "cryobench"
    if (root / "data_raw" / "zones").is_dir():
        return "pangaea-raw"
    return None


def read_caffe(root: Path, split: str, **options: Any) -> CaFFe | SceneWindows:
    """Read split ``split`` of CaFFe from the layout found under ``root`` (module docstring).

    Args:
        root: the task's data folder.
        split: ``train``, ``val`` or ``test``.
        **options: for the full-image layouts, ``tile_size`` (default :data:`CAFFE_TILE_SIZE`;
            None yields whole images), ``stride`` and ``owned_only`` (default True for val/test);
            :data:`CAFFE_CRYOBENCH_TILING` gives Cryo-Bench's. The torchgeo patches take none.

    Raises:
        DatasetNotFoundError: no layout found (the message lists all three), or a file missing.
        InvalidInputError: options the layout does not take.
        LabelFileError: unknown zone values, or labels not matching their images.
    """
    root = Path(root)
    layout = caffe_layout(root)
    if layout == "torchgeo":
        return _read_torchgeo(root, split, options)
    if layout == "cryobench":
        return _full_images(_pairs_cryobench(root, split), split, options)
    if layout == "pangaea-raw":
        return _full_images(_pairs_raw(root, split), split, options)
    raise missing_data(CAFFE_SPEC, root, "the CaFFe images", "caffe/zones")


CAFFE: Task = TASKS.register("caffe", Task(CAFFE_SPEC, read_caffe))

__all__ = [
    "CAFFE",
    "CAFFE_CRYOBENCH_TILING",
    "CAFFE_LAYOUTS",
    "CAFFE_SPEC",
    "CAFFE_TILE_SIZE",
    "CAFFE_VAL_MODULUS",
    "CAFFE_ZONE_VALUES",
    "CaFFe",
    "caffe_layout",
    "caffe_split_of",
    "read_caffe",
    "zones_to_classes",
]
