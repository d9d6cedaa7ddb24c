"""Fake CaFFe in torchgeo's unpacked layout: ``root/caffe/{sar_images,zones,fronts}/<split>/``.

File names follow the upstream pattern ``<glacier>_<date>_<sensor>_<res>_<...>.png`` with the zone
label adding ``_zones_`` and the front label ``_front_``. Zone pixels take the upstream values 0,
64, 127 and 254.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from planetbench.tasks.readers.images import write_png
from tests.fakes import SPLITS

_ZONE_NAMES = (
    "Crane_2002-11-09_ERS_20_2_061_zones__93_102_{}_0_0.png",
    "JAC_2015-12-23_TSX_6_1_005_zones__57_49_{}_384_1024.png",
    "Mapple_2008-10-12_ENVISAT_20_1_122_zones__12_40_{}_1024_0.png",
)
"""Zone label names shaped like upstream ones; the image drops ``zones_``, the front label says
``front_`` instead."""


def write(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write ``n_per_split`` image / zone / front PNG triples per split under ``root/caffe``."""
    root = Path(root)
    base = root / "caffe"
    for s, split in enumerate(SPLITS):
        for i in range(n_per_split):
            rng = np.random.default_rng([seed, s, i])
            zone_name = _ZONE_NAMES[i % len(_ZONE_NAMES)].format(i)
            image = rng.integers(0, 256, size=(size, size), dtype=np.uint8)
            # Rock | glacier | ocean columns under an N/A strip, as upstream zone maps look.
            zones = np.full((size, size), 127, dtype=np.uint8)
            cut = int(rng.integers(size // 4, size // 2))
            zones[:, :cut] = 64
            zones[:, size - cut :] = 254
            zones[: int(rng.integers(1, 4)), :] = 0
            front = np.zeros((size, size), dtype=np.uint8)
            front[:, size - cut] = 255
            write_png(base / "sar_images" / split / zone_name.replace("_zones_", "_"), image)
            write_png(base / "zones" / split / zone_name, zones)
            write_png(base / "fronts" / split / zone_name.replace("_zones_", "_front_"), front)
    return root
