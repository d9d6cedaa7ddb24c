"""The cryo suite: every task loads its fake upstream layout; errors say what to do."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.fakes import sicd as fake_sicd

from planetbench.errors import (
    DatasetNotFoundError,
    InvalidInputError,
    LabelFileError,
    MissingDependencyError,
)
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.cryo import (
    CRYO_TASKS,
    iter_scene_tiles,
    read_sicd_scene,
    sliding_windows,
)
from planetbench.tasks.readers.geotiff import write_geotiff
from planetbench.tasks.readers.images import read_label_image, write_png
from planetbench.tasks.readers.netcdf import read_netcdf_variables


def _fake(task: str) -> ModuleType:
    return importlib.import_module(f"tests.fakes.{task}")


def test_registry_holds_the_five_cryo_tasks() -> None:
    assert sorted(list_tasks("cryo")) == sorted(CRYO_TASKS)
    for name in CRYO_TASKS:
        spec = get_task(name).spec
        assert (spec.suite, spec.kind, spec.metric) == ("cryo", "segmentation", "miou")
        assert spec.n_classes >= 2 and spec.bands and spec.citation and spec.url
        if spec.band_mean is not None:
            assert spec.band_std is not None and len(spec.band_std) == len(spec.bands)
            assert all(s > 0 for s in spec.band_std)


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_fake_data_loads_through_reader(task: str, tmp_path: Path) -> None:
    _fake(task).write(tmp_path, n_per_split=2, size=32, seed=0)
    spec = get_task(task).spec
    allowed = set(range(spec.n_classes)) | {spec.ignore_index}
    for split in spec.splits:
        ds = get_task(task).load(tmp_path, split)
        assert len(ds) == 2
        ids = set()
        for i in range(len(ds)):
            item = ds[i]
            image, mask = item["image"], item["mask"]
            assert image.dtype == np.float32 and image.ndim == 3
            assert image.shape[0] == len(spec.bands)
            assert mask.dtype == np.int64 and mask.shape == image.shape[1:]
            assert set(np.unique(mask).tolist()) <= allowed
            assert np.isfinite(image).all()
            assert isinstance(item["id"], str)
            ids.add(item["id"])
        assert len(ids) == 2


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_fakes_are_seeded(task: str, tmp_path: Path) -> None:
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        _fake(task).write(tmp_path / name, n_per_split=1, size=32, seed=seed)
    split = get_task(task).spec.splits[0]
    a, b, c = (get_task(task).load(tmp_path / n, split)[0] for n in "abc")
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["mask"], b["mask"])
    assert not np.array_equal(a["image"], c["image"])


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_missing_data_says_where_and_how(task: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=rf"planetbench data download {task} --root"):
        get_task(task).load(tmp_path, "train")


def test_caffe_maps_zone_values_to_classes(tmp_path: Path) -> None:
    _fake("caffe").write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "val").glob("*.png"))
    raw = read_label_image(zone)
    mask = get_task("caffe").load(tmp_path, "val")[0]["mask"]
    for value, cls in ((0, 0), (64, 1), (127, 2), (254, 3)):
        assert (mask[raw == value] == cls).all()
    assert (raw == 0).any() and (raw == 254).any()


def test_caffe_rejects_unknown_zone_value(tmp_path: Path) -> None:
    _fake("caffe").write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "train").glob("*.png"))
    write_png(zone, np.full((32, 32), 200, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"pixel value\(s\) \[200\]"):
        get_task("caffe").load(tmp_path, "train")[0]


def test_caffe_missing_image_for_zone(tmp_path: Path) -> None:
    _fake("caffe").write(tmp_path, n_per_split=1)
    next((tmp_path / "caffe" / "sar_images" / "test").glob("*.png")).unlink()
    with pytest.raises(DatasetNotFoundError, match="has no SAR image"):
        get_task("caffe").load(tmp_path, "test")[0]


def test_folder_task_unpaired_files(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path, n_per_split=2)
    next((tmp_path / "train" / "masks").glob("*.tif")).unlink()
    with pytest.raises(LabelFileError, match="no partner"):
        get_task("glid").load(tmp_path, "train")


def test_folder_task_wrong_band_count(tmp_path: Path) -> None:
    _fake("gsdd").write(tmp_path, n_per_split=1)
    img = next((tmp_path / "val" / "images").glob("*.tif"))
    write_geotiff(img, np.zeros((4, 32, 32), dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"has 4 channels, expected 10"):
        get_task("gsdd").load(tmp_path, "val")[0]


def test_folder_task_mask_out_of_range(tmp_path: Path) -> None:
    _fake("gld").write(tmp_path, n_per_split=1)
    msk = next((tmp_path / "test" / "masks").glob("*.tif"))
    write_geotiff(msk, np.full((32, 32), 255, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"value\(s\) \[255\]"):
        get_task("gld").load(tmp_path, "test")[0]


def test_reader_rejects_unknown_options_and_splits(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path, n_per_split=1)
    with pytest.raises(InvalidInputError, match="takes no options; got tile_size"):
        get_task("glid").load(tmp_path, "train", tile_size=8)
    with pytest.raises(InvalidInputError, match="has no split 'val'"):
        get_task("sicd").load(tmp_path, "val")


# ------------------------------------------------------------------------------------- SICD


def test_sicd_nodata_becomes_ignore(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = get_task("sicd").load(tmp_path, "train")[0]
    assert scene["image"].shape == (2, *fake_sicd.scene_shape(32))
    assert (scene["mask"][:3, :4] == 255).all()
    assert (scene["image"][:, :3, :4] == 0).all()
    assert (scene["mask"][3:] < 6).all()


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
    scenes = get_task("sicd").load(tmp_path, "train")
    tiles = get_task("sicd").load(tmp_path, "train", tile_size=size, stride=stride)
    rebuilt = {s["id"]: (np.full(s["image"].shape, np.nan, np.float32),
                         np.full(s["mask"].shape, -7, np.int64)) for s in scenes}
    for i in range(len(tiles)):
        t = tiles[i]
        assert t["image"].shape == (2, size, size) and t["mask"].shape == (size, size)
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


def test_sicd_stride_needs_tile_size(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    with pytest.raises(InvalidInputError, match="stride only applies together with tile_size"):
        get_task("sicd").load(tmp_path, "train", stride=4)


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 70), w=st.integers(1, 70), size=st.integers(1, 40), data=st.data()
)
def test_sliding_windows_cover_scene(h: int, w: int, size: int, data: st.DataObject) -> None:
    stride = data.draw(st.integers(1, size))
    windows = sliding_windows(h, w, size, stride)
    cover = np.zeros((h, w), dtype=np.int64)
    for y0, x0, y1, x1 in windows:
        assert 0 <= y0 < y1 <= h and 0 <= x0 < x1 <= w
        assert y1 - y0 == min(size, h) and x1 - x0 == min(size, w)
        cover[y0:y1, x0:x1] += 1
    assert (cover >= 1).all()
    assert max(y1 for _, _, y1, _ in windows) == h and max(x1 for *_, x1 in windows) == w
    if stride == size and h % size == 0 and w % size == 0:
        assert (cover == 1).all()


def test_sliding_windows_validation() -> None:
    assert sliding_windows(4, 4, 2) == [(0, 0, 2, 2), (0, 2, 2, 4), (2, 0, 4, 2), (2, 2, 4, 4)]
    with pytest.raises(InvalidInputError, match=r"stride \(5\) must not exceed size \(4\)"):
        sliding_windows(10, 10, 4, 5)
    with pytest.raises(InvalidInputError, match="size must be a positive integer; got 0"):
        sliding_windows(10, 10, 0)


# ---------------------------------------------------------------------------------- readers


def test_netcdf_rejects_non_netcdf_and_needs_h5py_for_hdf5(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.nc"
    junk.write_bytes(b"<html>not found</html>")
    with pytest.raises(InvalidInputError, match="is not a netCDF file"):
        read_netcdf_variables(junk, ["SOD"])
    hdf = tmp_path / "scene.nc"
    hdf.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    import sys

    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingDependencyError, match=r"h5py .*planetbench\[cryo\]"):
        read_netcdf_variables(hdf, ["SOD"])


def test_netcdf_missing_variable_lists_present(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = next((tmp_path / "train").glob("*.nc"))
    with pytest.raises(InvalidInputError, match=r"lacks variable\(s\) HH; it holds: FLOE, SIC"):
        read_netcdf_variables(scene, ["HH"])


def test_label_image_must_be_single_channel(tmp_path: Path) -> None:
    path = write_png(tmp_path / "rgb.png", np.zeros((4, 4, 3), dtype=np.uint8))
    with pytest.raises(LabelFileError, match="expected one channel"):
        read_label_image(path)
