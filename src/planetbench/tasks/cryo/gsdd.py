"""GSDD: binary supraglacial-debris segmentation from Sentinel-2 and ancillary layers.

Layout (Cryo-Bench's ``datasets/gssd.py``): the same as GLD's,
``root/<split>/image/<stem>.tif`` (10 bands) + ``root/<split>/mask/<stem>.tif``. The channel
identities are argued in :data:`GSDD_BANDS`.
"""

from __future__ import annotations

from planetbench.tasks import TASKS
from planetbench.tasks.bands import Band
from planetbench.tasks.cryo.folders import IMAGE_MASK_LAYOUT, folder_reader
from planetbench.tasks.cryo.suite import (
    CRYOBENCH_CITATION,
    SUITE,
    ZENODO_ARCHIVE,
    ZENODO_CHECKSUM_NOTE,
    s2_bands,
)
from planetbench.tasks.spec import RemoteFile, Task, TaskSpec

GSDD_BANDS: tuple[Band, ...] = (
    *s2_bands("B02", "B03", "B04", "B08", "B11", "B12"),
    Band("gsdd_aux7", "other"),
    Band("gsdd_aux8", "other"),
    Band("gsdd_aux9", "other"),
    Band("gsdd_aux10", "other"),
)
"""GSDD channel order as read by Cryo-Bench's ``pangaea/datasets/gssd.py`` with ``gssd.yaml``: six
Sentinel-2 bands, then four channels the config names B8A/B5/B6/B7 whose statistics do not fit
reflectances (all ten are scaled to 0-1); the dataset paper lists slope, elevation and velocity as
ancillary layers, without an order we could verify, so they are declared as unnamed ancillary
layers; the config's names are used only by the band policy ``cryobench``
(:mod:`planetbench.tasks.cryo.labels`)."""

GSDD_SPEC = TaskSpec(
    name="gsdd",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("background", "supraglacial_debris"),
    bands=GSDD_BANDS,
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/gssd.yaml (values scaled to 0-1).
    band_mean=(0.2004, 0.2163, 0.2235, 0.2415, 0.183, 0.1761, 0.1813, 0.4101, 0.4689, 0.1117),
    band_std=(0.1966, 0.1941, 0.1919, 0.1762, 0.1627, 0.1567, 0.3303, 0.2306, 0.3337, 0.1794),
    licence="unverified: see https://zenodo.org/records/17161810",
    citation=(
        "Global supraglacial debris dataset (GSDD), Sentinel-2 with slope, elevation and velocity, "
        "https://www.sciencedirect.com/science/article/pii/S2666017225001257; data "
        "https://zenodo.org/records/17161810"
    ),
    url=ZENODO_ARCHIVE.format(17161810),
    sha256="",
    files=(RemoteFile(ZENODO_ARCHIVE.format(17161810), "gsdd-zenodo-17161810.zip"),),
    layouts=(IMAGE_MASK_LAYOUT,),
    checksum_note=ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GSDD: binary supraglacial-debris segmentation."""

GSDD: Task = TASKS.register("gsdd", Task(GSDD_SPEC, folder_reader(GSDD_SPEC)))

__all__ = ["GSDD", "GSDD_BANDS", "GSDD_SPEC"]
