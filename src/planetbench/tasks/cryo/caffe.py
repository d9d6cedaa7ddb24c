"""CaFFe: glacier zone segmentation (4 classes) from single-channel SAR PNGs.

Layout: the CaFFe archive as torchgeo unpacks it, ``root/caffe/sar_images/<split>/X.png`` with
zone labels ``root/caffe/zones/<split>/X'.png`` where the zone name is the image name with
``_zones_`` inserted (``A_B_...`` ↔ ``A_B_zones_...``). Zone pixel values 0, 64, 127, 254 are
the classes N/A, rock, glacier, ocean/ice mélange and become 0, 1, 2, 3.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band
from planetbench.tasks.cryo.suite import CRYOBENCH_CITATION, SUITE, missing_data, no_options
from planetbench.tasks.readers.images import read_image, read_label_image
from planetbench.tasks.spec import Layout, RemoteFile, Task, TaskSpec

CAFFE_ZONE_VALUES: dict[int, int] = {0: 0, 64: 1, 127: 2, 254: 3}
"""Zone PNG pixel value → class index (N/A, rock, glacier, ocean/ice mélange)."""

_CAFFE_LUT = np.full(256, -2, dtype=np.int64)
for _value, _cls in CAFFE_ZONE_VALUES.items():
    _CAFFE_LUT[_value] = _cls

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
    layouts=(Layout("torchgeo", "root/caffe/{sar_images,zones}/<split>/*.png"),),
    checksum_note="MD5 only (published by torchgeo for caffe.zip); no SHA-256 is published",
    evaluation_note=(
        "the mirror's 512 px patches as shipped (Cryo-Bench instead tiles the original "
        "full-size PANGAEA images at 1024 px); statistics are Cryo-Bench's"
    ),
    benchmark_citation=CRYOBENCH_CITATION,
)
"""CaFFe: glacier zone segmentation (4 classes) from single-channel SAR PNGs."""


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
        raw = read_label_image(zone_path)
        if raw.min() < 0 or raw.max() > 255 or np.any(_CAFFE_LUT[raw] == -2):
            bad = sorted(set(np.unique(raw).tolist()) - set(CAFFE_ZONE_VALUES))
            raise LabelFileError(
                f"task 'caffe': zone mask {zone_path} holds pixel value(s) {bad[:10]}; "
                f"allowed are {sorted(CAFFE_ZONE_VALUES)} (N/A, rock, glacier, ocean/ice melange)"
            )
        mask = _CAFFE_LUT[raw]
        if mask.shape != image.shape[1:]:
            raise LabelFileError(f"CaFFe mask {zone_path} is {mask.shape}, image is "
                                 f"{image.shape[1:]}")
        return {"image": image, "mask": mask, "id": Path(name).stem}


def read_caffe(root: Path, split: str, **options: Any) -> CaFFe:
    """Read split ``split`` of CaFFe from ``root/caffe`` (torchgeo's unpacked ``caffe.zip``)."""
    no_options(CAFFE_SPEC, options)
    root = Path(root)
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


CAFFE: Task = TASKS.register("caffe", Task(CAFFE_SPEC, read_caffe))

__all__ = ["CAFFE", "CAFFE_SPEC", "CAFFE_ZONE_VALUES", "CaFFe", "read_caffe"]
