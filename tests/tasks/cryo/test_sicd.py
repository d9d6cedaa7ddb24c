"""SICD: AI4Arctic scenes, the hash-chosen val split, and sliding-window tiles."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.fakes import sicd as fake_sicd

from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks import get_task
from planetbench.tasks.cryo.sicd import (
    SICD_IGNORE,
    SICD_TILE_SIZE,
    iter_scene_tiles,
    read_sicd_scene,
    sicd_split_of,
)
from planetbench.tasks.readers.netcdf import read_netcdf_variables


def test_sicd_nodata_becomes_ignore(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = get_task("sicd").load(tmp_path, "train", tile_size=None)[0]
    assert scene["image"].shape == (3, *fake_sicd.scene_shape(32))
    assert (scene["mask"][:3, :4] == 255).all()
    assert (scene["image"][:2, :3, :4] == 0).all()
    assert (scene["mask"][3:] < 6).all()
    # channel 3 is the incidence angle, read unchanged
    np.testing.assert_allclose(scene["image"][2, 5], np.linspace(-1.5, 1.5, 35), rtol=1e-6)


def test_sicd_val_is_a_fixed_disjoint_part_of_train(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=2)
    ids = {
        s: [x["id"] for x in get_task("sicd").load(tmp_path, s, tile_size=None)]
        for s in ("train", "val")
    }
    assert len(ids["train"]) == len(ids["val"]) == 2 and not set(ids["train"]) & set(ids["val"])
    on_disk = {p.stem for p in (tmp_path / "train").glob("*.nc")}
    assert set(ids["train"]) | set(ids["val"]) == on_disk
    assert all(sicd_split_of(i) == "val" for i in ids["val"])
    shares = [sicd_split_of(f"2020{i:06d}_dmi_prep") == "val" for i in range(2000)]
    assert 0.07 < np.mean(shares) < 0.13  # about one scene in ten
    for path in (tmp_path / "train").glob("*.nc"):
        if sicd_split_of(path.stem) == "val":
            path.unlink()
    with pytest.raises(DatasetNotFoundError, match="falls in split 'val'"):
        get_task("sicd").load(tmp_path, "val")


def test_sicd_test_split_reads_reference_charts(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene_file = next((tmp_path / "test").glob("*_prep.nc"))
    ref = scene_file.with_name(scene_file.stem + "_reference.nc")
    sod = read_netcdf_variables(ref, ["SOD"], mask_fill=False)["SOD"]
    np.testing.assert_array_equal(read_sicd_scene(scene_file, "test")["mask"], sod)
    ref.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"_reference\.nc"):
        get_task("sicd").load(tmp_path, "test")[0]


@pytest.mark.parametrize(("size", "stride"), [(16, None), (16, 10), (64, None)])
def test_sicd_tiles_cover_every_scene_exactly(tmp_path: Path, size: int, stride: int) -> None:
    fake_sicd.write(tmp_path, n_per_split=2)
    scenes = get_task("sicd").load(tmp_path, "train", tile_size=None)
    tiles = get_task("sicd").load(tmp_path, "train", tile_size=size, stride=stride)
    rebuilt = {s["id"]: (np.full(s["image"].shape, np.nan, np.float32),
                         np.full(s["mask"].shape, -7, np.int64)) for s in scenes}
    for i in range(len(tiles)):
        t = tiles[i]
        assert t["image"].shape == (3, size, size) and t["mask"].shape == (size, size)
        y0, x0, y1, x1 = t["window"].tolist()
        img, msk = rebuilt[t["scene"]]
        img[:, y0:y1, x0:x1] = t["image"][:, : y1 - y0, : x1 - x0]
        msk[y0:y1, x0:x1] = t["mask"][: y1 - y0, : x1 - x0]
        assert (t["mask"][y1 - y0 :, :] == 255).all() and (t["mask"][:, x1 - x0 :] == 255).all()
    for s in scenes:
        img, msk = rebuilt[s["id"]]
        np.testing.assert_array_equal(img, s["image"])
        np.testing.assert_array_equal(msk, s["mask"])
    via_iter = list(iter_scene_tiles(scenes[0], size, stride))
    assert [t["id"] for t in via_iter] == [tiles[i]["id"] for i in range(len(via_iter))]


@pytest.mark.parametrize("split", ["val", "test"])
def test_sicd_evaluation_tiles_score_each_pixel_once(tmp_path: Path, split: str) -> None:
    """Overlapping val/test tiles keep labels only on owned pixels: a metric sees each once."""
    fake_sicd.write(tmp_path, n_per_split=2)
    scenes = {s["id"]: s for s in get_task("sicd").load(tmp_path, split, tile_size=None)}
    tiles = get_task("sicd").load(tmp_path, split, tile_size=16, stride=12)
    assert tiles.owned_only
    counted = {k: np.zeros(s["mask"].shape, np.int64) for k, s in scenes.items()}
    labels = {k: np.full(s["mask"].shape, -7, np.int64) for k, s in scenes.items()}
    for i in range(len(tiles)):
        t = tiles[i]
        y0, x0, y1, x1 = t["window"].tolist()
        valid = t["mask"][: y1 - y0, : x1 - x0] != SICD_IGNORE
        counted[t["scene"]][y0:y1, x0:x1] += valid
        labels[t["scene"]][y0:y1, x0:x1][valid] = t["mask"][: y1 - y0, : x1 - x0][valid]
    for k, s in scenes.items():
        labelled = s["mask"] != SICD_IGNORE
        assert (counted[k][labelled] == 1).all() and (counted[k][~labelled] == 0).all()
        np.testing.assert_array_equal(labels[k][labelled], s["mask"][labelled])
    # training tiles keep every label of the window, overlaps included
    train = get_task("sicd").load(tmp_path, "train", tile_size=16, stride=12)
    assert not train.owned_only
    n_train = sum(int((train[i]["mask"] != SICD_IGNORE).sum()) for i in range(len(train)))
    n_scene = sum(int((s["mask"] != SICD_IGNORE).sum())
                  for s in get_task("sicd").load(tmp_path, "train", tile_size=None))
    assert n_train > n_scene


def test_sicd_stitcher_rebuilds_scene_predictions(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    tiles = get_task("sicd").load(tmp_path, "test", tile_size=16, stride=11)
    scene = get_task("sicd").load(tmp_path, "test", tile_size=None)[0]
    stitcher = tiles.stitcher(0)
    for i in range(len(tiles)):
        scene_idx, window_idx = tiles.index_of[i]
        assert scene_idx == 0  # one test scene
        stitcher.add(window_idx, tiles[i]["image"][0].round().astype(np.int64))  # "prediction"
    np.testing.assert_array_equal(stitcher.coverage, np.ones(scene["mask"].shape))
    np.testing.assert_array_equal(stitcher.result(), scene["image"][0].round().astype(np.int64))


def test_sicd_default_tiles_and_stride_needs_tile_size(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    tiles = get_task("sicd").load(tmp_path, "test")
    assert tiles.size == SICD_TILE_SIZE and tiles.owned_only and len(tiles) == 1
    with pytest.raises(InvalidInputError, match="only apply together with tile_size"):
        get_task("sicd").load(tmp_path, "train", tile_size=None, stride=4)
    with pytest.raises(InvalidInputError, match=r"stride \(600\) must not exceed size \(512\)"):
        get_task("sicd").load(tmp_path, "train", stride=600)


# ------------------------------------------------------- Cryo-Bench's prepared rasters (layout)


def test_cryobench_rasters_are_picked_from_disk_with_their_own_val_split(tmp_path: Path) -> None:
    from planetbench.tasks.cryo.scenes import SceneWindows

    fake_sicd.write_cryobench(tmp_path)
    task = get_task("sicd")
    assert [layout.name for layout in task.spec.layouts] == ["torchgeo", "cryobench"]
    for split in ("train", "val", "test"):
        data = task.load(tmp_path, split, tile_size=None)
        assert isinstance(data, SceneWindows) and len(data) == 3
        on_disk = sorted(p.stem for p in (tmp_path / split / "images").glob("*.tif"))
        assert [x["id"] for x in data] == on_disk
    scene = task.load(tmp_path, "train", tile_size=None)[0]
    h, w = fake_sicd.cryobench_shapes(32)[0]
    assert scene["image"].shape == (3, h, w) and scene["mask"].shape == (h, w)
    assert (scene["image"][:2, :3, :4] == 0).all()  # NaN → 0, as Cryo-Bench's loader
    assert (scene["mask"][:3, :4] == SICD_IGNORE).all()  # the label raster says so itself


def test_cryobench_crop_is_the_centre_or_the_top_left_corner(tmp_path: Path) -> None:
    from planetbench.tasks.readers.geotiff import read_geotiff

    fake_sicd.write_cryobench(tmp_path)
    crop = 16
    data = get_task("sicd").load(tmp_path, "test", crop_size=crop, tile_size=None)
    files = sorted((tmp_path / "test" / "images").glob("*.tif"))
    for k, (h, w) in enumerate(fake_sicd.cryobench_shapes(32)):
        # worked out as pangaea/datasets/ai4arctic.py does: both sides longer → centre crop
        top, left = ((h - crop) // 2, (w - crop) // 2) if min(h, w) > crop else (0, 0)
        raw = np.nan_to_num(read_geotiff(files[k]), nan=0.0)
        labels = read_geotiff(tmp_path / "test" / "masks" / files[k].name, dtype=np.int64)[0]
        item = data[k]
        np.testing.assert_array_equal(item["image"], raw[:, top : top + crop, left : left + crop])
        np.testing.assert_array_equal(item["mask"], labels[top : top + crop, left : left + crop])
        assert item["window"].tolist() == [top, left, top + crop, left + crop]
    assert [tuple(data[k]["window"][:2]) for k in range(3)] == [(13, 11), (9, 18), (8, 12)]
    # crop 32: the 32 x 41 scene has a side of at most 32, so its top-left corner is kept
    wide = get_task("sicd").load(tmp_path, "test", crop_size=32, tile_size=None)
    assert [wide[k]["window"].tolist() for k in range(3)] == [
        [5, 3, 37, 35], [1, 10, 33, 42], [0, 0, 32, 32]
    ]


def test_cryobench_crop_tiles_and_tiles_cover_every_pixel_once(tmp_path: Path) -> None:
    fake_sicd.write_cryobench(tmp_path, n_per_split=1)
    one = get_task("sicd").load(tmp_path, "val", crop_size=16, tile_size=16)
    assert len(one) == 1 and one[0]["image"].shape == (3, 16, 16)  # the crop is one tile
    tiles = get_task("sicd").load(tmp_path, "val", tile_size=16)  # default: owned_only on val
    h, w = fake_sicd.cryobench_shapes(32)[0]
    counted = np.zeros((h, w), dtype=int)
    for item in tiles:
        y0, x0, y1, x1 = item["window"]
        counted[y0:y1, x0:x1] += item["mask"][: y1 - y0, : x1 - x0] != SICD_IGNORE
    whole = get_task("sicd").load(tmp_path, "val", tile_size=None)[0]["mask"]
    np.testing.assert_array_equal(counted, (whole != SICD_IGNORE).astype(int))


def test_cryobench_rasters_with_two_channels_warn_and_errors_name_the_fix(tmp_path: Path) -> None:
    fake_sicd.write_cryobench(tmp_path / "two", n_per_split=1, channels=2)
    with pytest.warns(UserWarning, match="incidence-angle channel is filled with zeros"):
        data = get_task("sicd").load(tmp_path / "two", "train", tile_size=None)
    assert data[0]["image"].shape[0] == 3 and (data[0]["image"][2] == 0).all()
    fake_sicd.write_cryobench(tmp_path / "c", n_per_split=1)
    with pytest.raises(InvalidInputError, match=r"reader options .* are crop_size, tile_size"):
        get_task("sicd").load(tmp_path / "c", "train", tile=3)
    next((tmp_path / "c" / "test" / "masks").glob("*.tif")).unlink()
    with pytest.raises(DatasetNotFoundError, match="has no label raster"):
        get_task("sicd").load(tmp_path / "c", "test")
    fake_sicd.write(tmp_path / "nc", n_per_split=1)
    with pytest.raises(InvalidInputError, match=r"crop_size .* applies to Cryo-Bench's prepared"):
        get_task("sicd").load(tmp_path / "nc", "train", crop_size=512)
