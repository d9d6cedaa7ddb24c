"""GLID: binary glacial-lake segmentation of RGB tiles (0-255) from several optical sensors.

Layout (Cryo-Bench's ``datasets/glid.py``): ``root/<split>/images/<stem>.tif`` with its mask at
``root/<split>/masks/<stem>.tif``, masks holding 0 (background) and 1 (glacial lake). The internal
layout of the Zenodo archive was not inspected (no copy was reachable), so after
``planetbench data download glid`` the files may need arranging into that layout (the
missing-data error names it and points at a matching sub-folder when there is one).
"""

from __future__ import annotations

from planetbench.tasks import TASKS
from planetbench.tasks.cryo.folders import folder_reader
from planetbench.tasks.cryo.suite import (
    CRYOBENCH_CITATION,
    SUITE,
    ZENODO_ARCHIVE,
    ZENODO_CHECKSUM_NOTE,
    s2_bands,
)
from planetbench.tasks.spec import Layout, RemoteFile, Task, TaskSpec

GLID_SPEC = TaskSpec(
    name="glid",
    suite=SUITE,
    kind="segmentation",
    metric="miou",
    classes=("background", "glacial_lake"),
    bands=s2_bands("red", "green", "blue"),
    ignore_index=-1,
    splits=("train", "val", "test"),
    # Cryo-Bench configs/dataset/glid.yaml, computed on the train split (0-255 scale).
    band_mean=(120.08558725516001, 124.71967935959498, 123.13973035812378),
    band_std=(74.64604398949137, 74.35002658020812, 76.54707139907019),
    licence="unverified: see https://zenodo.org/records/14838695",
    citation=(
        "GLID glacial lake dataset (Himalaya; WorldView-2, Sentinel-2, Landsat-8, Gaofen-2 RGB), "
        "Journal of Hydrology (2025), "
        "https://www.sciencedirect.com/science/article/pii/S002216942500410X; data "
        "https://zenodo.org/records/14838695"
    ),
    url=ZENODO_ARCHIVE.format(14838695),
    sha256="",
    files=(RemoteFile(ZENODO_ARCHIVE.format(14838695), "glid-zenodo-14838695.zip"),),
    layouts=(
        Layout(
            "cryobench",
            "root/<split>/images/<stem>.tif + root/<split>/masks/<stem>.tif",
            image_folder="images",
            mask_folder="masks",
        ),
    ),
    checksum_note=ZENODO_CHECKSUM_NOTE,
    benchmark_citation=CRYOBENCH_CITATION,
)
"""GLID: binary glacial-lake segmentation of RGB tiles (0-255) from several optical sensors."""

GLID: Task = TASKS.register("glid", Task(GLID_SPEC, folder_reader(GLID_SPEC)))

__all__ = ["GLID", "GLID_SPEC"]
