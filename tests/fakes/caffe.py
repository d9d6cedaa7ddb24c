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


def full_shapes(size: int) -> tuple[tuple[int, int], ...]:
    """(height, width) of the fake full images of a split, in sorted-name order: larger than a
    ``size // 2`` tile both ways, then one shorter than a tile in height."""
    return (size + 9, 2 * size + 5), (2 * size + 1, size + 3), (size // 4 + 2, size + 8)


def _full_pair(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey image and its classes 0..3 (N/A strip, rock, glacier, ocean columns)."""
    image = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    classes = np.full((h, w), 2, dtype=np.uint8)
    cut = max(1, int(rng.integers(w // 5, w // 3)))
    classes[:, :cut] = 1
    classes[:, w - cut :] = 3
    classes[: max(1, h // 8), :] = 0
    return image, classes


def write_zone_layout(
    root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0
) -> Path:
    """Write Cryo-Bench's re-arranged CaFFe (``zone_layout``): ``root/images/<split>/*.png`` and
    ``root/labels/<split>/*.png`` (classes 0..3) for train, val and test; shapes cycle through
    :func:`full_shapes`. Label files carry a ``_zones`` suffix, so pairing goes by sorted order."""
    root = Path(root)
    shapes = full_shapes(size)
    for s, split in enumerate(SPLITS):
        for i in range(n_per_split):
            h, w = shapes[i % len(shapes)]
            image, classes = _full_pair(np.random.default_rng([seed, 11, s, i]), h, w)
            stem = _ZONE_NAMES[i % len(_ZONE_NAMES)].format(i).split("_zones_")[0]
            write_png(root / "images" / split / f"{stem}.png", image)
            write_png(root / "labels" / split / f"{stem}_zones.png", classes)
    return root


def raw_names(n_per_split: int, seed: int) -> dict[str, list[str]]:
    """Image names of the fake raw release: ``n_per_split`` that fall in planetbench's train,
    in its hash-chosen val and in test."""
    from planetbench.tasks.cryo.caffe import caffe_split_of

    out: dict[str, list[str]] = {s: [] for s in SPLITS}
    glaciers = ("Crane", "JAC", "Mapple", "SI", "DBE", "Columbia")
    k = 0
    while any(len(v) < n_per_split for v in out.values()):
        name = f"{glaciers[k % 6]}_20{k % 20:02d}-0{1 + k % 9}-1{k % 10}_TSX_6_{k + 97 * seed}"
        split = "test" if k % 3 == 2 else caffe_split_of(name)
        if len(out[split]) < n_per_split:
            out[split].append(name)
        k += 1
    return out


def write_raw(root: str | Path, *, n_per_split: int = 3, size: int = 32, seed: int = 0) -> Path:
    """Write the PANGAEA release layout: ``root/data_raw/{sar_images,zones,fronts}/{train,test}/``
    with ``<name>.png``, ``<name>_zones.png`` (values 0, 64, 127, 254) and ``<name>_front.png``."""
    root = Path(root)
    base = root / "data_raw"
    shapes = full_shapes(size)
    values = np.array([0, 64, 127, 254], dtype=np.uint8)
    for s, (split, names) in enumerate(raw_names(n_per_split, seed).items()):
        folder = "test" if split == "test" else "train"
        for i, name in enumerate(names):
            h, w = shapes[i % len(shapes)]
            image, classes = _full_pair(np.random.default_rng([seed, 13, s, i]), h, w)
            front = np.zeros((h, w), dtype=np.uint8)
            front[:, int(np.argmax(classes[-1] == 3))] = 255
            write_png(base / "sar_images" / folder / f"{name}.png", image)
            write_png(base / "zones" / folder / f"{name}_zones.png", values[classes])
            write_png(base / "fronts" / folder / f"{name}_front.png", front)
    return root
