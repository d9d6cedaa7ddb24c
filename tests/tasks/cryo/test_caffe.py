"""CaFFe: zone values become classes; a bad zone value or a missing image is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.fakes import caffe as fake_caffe

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import get_task
from planetbench.tasks.readers.images import read_label_image, write_png


def test_caffe_maps_zone_values_to_classes(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "val").glob("*.png"))
    raw = read_label_image(zone)
    mask = get_task("caffe").load(tmp_path, "val")[0]["mask"]
    for value, cls in ((0, 0), (64, 1), (127, 2), (254, 3)):
        assert (mask[raw == value] == cls).all()
    assert (raw == 0).any() and (raw == 254).any()


def test_caffe_rejects_unknown_zone_value(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "train").glob("*.png"))
    write_png(zone, np.full((32, 32), 200, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"pixel value\(s\) \[200\]"):
        get_task("caffe").load(tmp_path, "train")[0]


def test_caffe_missing_image_for_zone(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    next((tmp_path / "caffe" / "sar_images" / "test").glob("*.png")).unlink()
    with pytest.raises(DatasetNotFoundError, match="has no SAR image"):
        get_task("caffe").load(tmp_path, "test")[0]


# ----------------------------------------------- full images: Cryo-Bench's zone_layout and raw


def test_layouts_are_picked_from_disk_and_all_are_listed(tmp_path: Path) -> None:
    from planetbench.tasks.cryo.caffe import CAFFE_LAYOUTS, caffe_layout

    fake_caffe.write(tmp_path / "tg", n_per_split=1)
    fake_caffe.write_zone_layout(tmp_path / "cb", n_per_split=1)
    fake_caffe.write_raw(tmp_path / "raw", n_per_split=1)
    assert [caffe_layout(tmp_path / n) for n in ("tg", "cb", "raw", "none")] == [
        "torchgeo", "cryobench", "pangaea-raw", None
    ]
    spec = get_task("caffe").spec
    assert [layout.name for layout in spec.layouts] == ["torchgeo", "cryobench", "pangaea-raw"]
    assert all(layout.pattern in spec.layout_description for layout in CAFFE_LAYOUTS)
    (tmp_path / "none").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"data_raw/sar_images.* or |or .*data_raw"):
        get_task("caffe").load(tmp_path / "none", "train")
    with pytest.raises(InvalidInputError, match="need the full images"):
        get_task("caffe").load(tmp_path / "tg", "test", tile_size=1024)


def test_cryobench_tiling_scores_whole_edge_aligned_tiles(tmp_path: Path) -> None:
    from planetbench.tasks.cryo.caffe import CAFFE_CRYOBENCH_TILING

    fake_caffe.write_zone_layout(tmp_path)
    tile = 16  # the 1024 of Cryo-Bench, at toy size
    options = {**CAFFE_CRYOBENCH_TILING, "tile_size": tile, "stride": tile}
    assert CAFFE_CRYOBENCH_TILING == {"tile_size": 1024, "stride": 1024, "owned_only": False}
    data = get_task("caffe").load(tmp_path, "test", **options)
    images = sorted((tmp_path / "images" / "test").glob("*.png"))
    labels = sorted((tmp_path / "labels" / "test").glob("*.png"))
    # worked out as ZONE does: origins every 16 px, plus one ending at the border
    h, w = fake_caffe.full_shapes(32)[0]  # 41 x 69
    rows, cols = [0, 16, 25], [0, 16, 32, 48, 53]
    first = [data[i] for i in range(len(data)) if data[i]["scene"] == images[0].stem]
    assert [tuple(t["window"][:2]) for t in first] == [(r, c) for r in rows for c in cols]
    full = read_label_image(labels[0])
    grey = read_label_image(images[0])
    for item in first:
        y0, x0, y1, x1 = item["window"]
        np.testing.assert_array_equal(item["mask"], full[y0:y1, x0:x1])  # whole tile scored
        np.testing.assert_array_equal(item["image"][0], grey[y0:y1, x0:x1])
    counted = sum(int((t["mask"] != -1).sum()) for t in first)
    assert counted == 15 * tile * tile > h * w  # overlapping rows and columns count twice
    # an image 10 px high: one row of tiles, padded with 0 and the ignore index
    short = [data[i] for i in range(len(data)) if data[i]["scene"] == images[2].stem]
    assert {tuple(t["window"][:2]) for t in short} == {(0, 0), (0, 16), (0, 24)}
    assert (short[0]["mask"][10:] == -1).all() and (short[0]["image"][:, 10:] == 0).all()


def test_default_tiles_count_each_pixel_once_and_whole_images_are_whole(tmp_path: Path) -> None:
    fake_caffe.write_zone_layout(tmp_path, n_per_split=1)
    data = get_task("caffe").load(tmp_path, "val", tile_size=16)  # owned_only by default
    h, w = fake_caffe.full_shapes(32)[0]
    assert sum(int((data[i]["mask"] != -1).sum()) for i in range(len(data))) == h * w
    whole = get_task("caffe").load(tmp_path, "train", tile_size=None)[0]
    assert whole["image"].shape == (1, h, w) and set(np.unique(whole["mask"])) <= {0, 1, 2, 3}
    with pytest.raises(InvalidInputError, match=r"reader options .this layout. are tile_size"):
        get_task("caffe").load(tmp_path, "val", crop_size=3)


def test_raw_release_maps_zones_and_makes_a_hashed_val_split(tmp_path: Path) -> None:
    from planetbench.tasks.cryo.caffe import caffe_split_of

    fake_caffe.write_raw(tmp_path)
    task = get_task("caffe")
    ids = {s: [x["id"] for x in task.load(tmp_path, s, tile_size=None)]
           for s in ("train", "val", "test")}
    assert all(len(v) == 3 for v in ids.values())
    assert not set(ids["train"]) & set(ids["val"])
    assert all(caffe_split_of(i) == "val" for i in ids["val"])
    on_disk = {p.stem for p in (tmp_path / "data_raw" / "sar_images" / "train").glob("*.png")}
    assert set(ids["train"]) | set(ids["val"]) == on_disk
    item = task.load(tmp_path, "test", tile_size=None)[0]
    raw = read_label_image(tmp_path / "data_raw" / "zones" / "test" / f"{item['id']}_zones.png")
    for value, cls in ((0, 0), (64, 1), (127, 2), (254, 3)):
        assert (item["mask"][raw == value] == cls).all()
    zone = tmp_path / "data_raw" / "zones" / "test" / f"{item['id']}_zones.png"
    write_png(zone, np.full(raw.shape, 200, dtype=np.uint8))
    data = task.load(tmp_path, "test", tile_size=None)
    with pytest.raises(LabelFileError, match=r"pixel value\(s\) \[200\]"):
        [data[i] for i in range(len(data))]
    zone.unlink()
    with pytest.raises(DatasetNotFoundError, match="has no zone label"):
        task.load(tmp_path, "test")
