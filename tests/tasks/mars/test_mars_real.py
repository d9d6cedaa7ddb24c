"""The mars-real suite reads ../shared/data in place; counts match the SOURCE.md figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.mars.real import (
    CTX_SPLITS,
    REAL_TASKS,
    ctx_boxes,
    pycda_chip_boxes,
    pycda_chip_mask,
)


def test_registry_holds_the_real_tasks() -> None:
    assert sorted(list_tasks("mars-real")) == sorted(REAL_TASKS)
    for name in REAL_TASKS:
        spec = get_task(name).spec
        assert spec.licence and spec.citation and spec.band_names == ("red", "green", "blue")
    assert get_task("mbx-rover_rock_seg").spec.licence == "CC-BY-4.0"


def test_ctx_craters_split_by_tile(shared_data: Path) -> None:
    task = get_task("mbx-ctx_crater_det")
    counts = {}
    for split, tiles in CTX_SPLITS.items():
        ds = task.load(shared_data, split)
        assert ds.ids == tiles
        counts[split] = ds.n_boxes
    assert counts == {"train": 411, "val": 66, "test": 100}  # 577 Robbins boxes (SOURCE.md)
    s = task.load(shared_data / "mars-ctx-craters", "val")[0]
    assert s["image"].shape == (3, 1248, 1248) and s["boxes"].shape == (66, 4)
    np.testing.assert_array_equal(s["image"][0], s["image"][2])  # grey → 3 equal channels
    assert (s["boxes"] >= 0).all() and (s["boxes"] <= 1248).all()
    assert (s["boxes"][:, 2:] > s["boxes"][:, :2]).all() and (s["labels"] == 0).all()
    boxes = ctx_boxes(shared_data / "mars-ctx-craters")
    assert sum(len(b) for b in boxes.values()) == 577


def test_pycda_chips(shared_data: Path) -> None:
    det, seg = get_task("mbx-pycda_crater_det"), get_task("mbx-pycda_crater_seg")
    n = {split: det.load(shared_data, split).n_boxes for split in ("train", "val", "test")}
    assert sum(n.values()) == 338  # craters centred inside the 3 × 3 chips of 512 px
    assert n == {"train": 228, "val": 74, "test": 36}
    s = seg.load(shared_data, "val")[0]
    assert s["image"].shape == (3, 512, 512) and s["mask"].shape == (512, 512)
    assert set(np.unique(s["mask"]).tolist()) == {0, 1}
    d = det.load(shared_data, "val")[0]
    np.testing.assert_array_equal(d["image"], s["image"])
    # every box centre in the chip is a crater pixel of the mask
    cx = ((d["boxes"][:, 0] + d["boxes"][:, 2]) / 2).astype(int).clip(0, 511)
    cy = ((d["boxes"][:, 1] + d["boxes"][:, 3]) / 2).astype(int).clip(0, 511)
    assert s["mask"][cy, cx].mean() > 0.9


def test_pycda_geometry_by_construction() -> None:
    craters = np.array([[10.0, 20.0, 8.0], [600.0, 100.0, 20.0], [515.0, 5.0, 10.0]])
    np.testing.assert_allclose(pycda_chip_boxes(craters, (0, 0)), [[6, 16, 14, 24]])
    np.testing.assert_allclose(pycda_chip_boxes(craters, (0, 1)),
                               [[78, 90, 98, 110], [0, 0, 8, 10]])
    mask = pycda_chip_mask(craters, (0, 0))
    assert mask[20, 10] == 1 and mask[20, 14] == 1 and mask[20, 15] == 0
    assert mask[5, 511] == 1  # the disc centred in the next chip reaches into this one
    assert mask.sum() == np.count_nonzero(mask)


def test_rover_rocks(shared_data: Path) -> None:
    task = get_task("mbx-rover_rock_seg")
    rock = {}
    for split in ("train", "val", "test"):
        ds = task.load(shared_data, split)
        for i in range(len(ds)):
            s = ds[i]
            assert s["image"].shape == (3, 500, 560) and s["mask"].shape == (500, 560)
            rock[s["id"]] = int(s["mask"].sum())
    # rock pixels of the four masks (yellow (255, 255, 0) on black in the files)
    assert rock == {"img_332": 107162, "img_336": 136797, "img_538": 58466, "img_1101": 92173}


def test_real_tasks_absent_data_and_options(tmp_path: Path) -> None:
    for name in REAL_TASKS:
        with pytest.raises(DatasetNotFoundError, match="shared/data/mars-"):
            get_task(name).load(tmp_path, "train")
    with pytest.raises(InvalidInputError, match="takes no options"):
        get_task("mbx-ctx_crater_det").load(tmp_path, "train", fraction=0.5)
