"""The ``cryo`` suite: the five Cryo-Bench segmentation tasks, read from their published layouts.

Cryo-Bench (Kaushik et al., https://github.com/Sk-2103/Cryo-Bench, MIT) evaluates frozen encoders
with a UPerNet decoder on five cryosphere datasets, scored by mIoU. Each dataset has its module
(:mod:`~planetbench.tasks.cryo.glid`, :mod:`~planetbench.tasks.cryo.gld`,
:mod:`~planetbench.tasks.cryo.gsdd`, :mod:`~planetbench.tasks.cryo.sicd`,
:mod:`~planetbench.tasks.cryo.caffe`) pairing a frozen :class:`~planetbench.tasks.spec.TaskSpec`
with a torch-free reader of its upstream layout, registered under its id on import. Every
reader yields ``{"image": (C, H, W) float32 in spec.bands order, "mask": (H, W) int64, "id":
str}``. What they share is in :mod:`~planetbench.tasks.cryo.suite` (suite facts, missing-data
errors, mask checks) and :mod:`~planetbench.tasks.cryo.folders` (the image/mask tile folders of
GLID, GLD and GSDD).

What is and is not verified: the GLID/GLD/GSDD folder layouts are the ones Cryo-Bench's loaders
read; the internal layout of the Zenodo archives was not inspected (no copy was reachable), so
after ``planetbench data download`` the files may need arranging into that layout (the
missing-data error names the layout and points at a matching sub-folder when there is one).
Channel identities: see :data:`GLD_BANDS` and :data:`GSDD_BANDS`. Where a published range
identifies a layer (slope in degrees, elevation in metres) it is declared as such; the others are
declared as non-optical ancillary channels, so band alignment never feeds them to an encoder as
red-edge light, except under the band policy ``cryobench``, which names them as Cryo-Bench's
configs do (:mod:`~planetbench.tasks.cryo.labels`).
"""

from __future__ import annotations

from planetbench.tasks.cryo.caffe import (
    CAFFE,
    CAFFE_CRYOBENCH_TILING,
    CAFFE_SPEC,
    CAFFE_ZONE_VALUES,
    CaFFe,
    read_caffe,
)
from planetbench.tasks.cryo.folders import FolderSegmentation, read_folder_split
from planetbench.tasks.cryo.gld import GLD, GLD_BANDS, GLD_SPEC
from planetbench.tasks.cryo.glid import GLID, GLID_SPEC
from planetbench.tasks.cryo.gsdd import GSDD, GSDD_BANDS, GSDD_SPEC
from planetbench.tasks.cryo.labels import CRYOBENCH_CONFIGS, cryobench_config
from planetbench.tasks.cryo.scenes import SceneWindows, cryobench_crop
from planetbench.tasks.cryo.sicd import (
    SICD,
    SICD_SPEC,
    SICD_TILE_SIZE,
    SICDScenes,
    SICDTiles,
    iter_scene_tiles,
    read_sicd,
    read_sicd_rasters,
    read_sicd_scene,
    sicd_split_of,
)
from planetbench.tasks.cryo.suite import CRYOBENCH_CITATION, SUITE
from planetbench.tasks.readers.tiling import sliding_windows

CRYO_TASKS: tuple[str, ...] = ("glid", "gld", "gsdd", "sicd", "caffe")
"""Ids of the cryo suite, in Cryo-Bench's table order."""

__all__ = [
    "CAFFE",
    "CAFFE_CRYOBENCH_TILING",
    "CAFFE_SPEC",
    "CAFFE_ZONE_VALUES",
    "CRYOBENCH_CITATION",
    "CRYOBENCH_CONFIGS",
    "CRYO_TASKS",
    "GLD",
    "GLD_BANDS",
    "GLD_SPEC",
    "GLID",
    "GLID_SPEC",
    "GSDD",
    "GSDD_BANDS",
    "GSDD_SPEC",
    "SICD",
    "SICD_SPEC",
    "SICD_TILE_SIZE",
    "SUITE",
    "CaFFe",
    "FolderSegmentation",
    "SICDScenes",
    "SICDTiles",
    "SceneWindows",
    "cryobench_config",
    "cryobench_crop",
    "iter_scene_tiles",
    "read_caffe",
    "read_folder_split",
    "read_sicd",
    "read_sicd_rasters",
    "read_sicd_scene",
    "sicd_split_of",
    "sliding_windows",
]
