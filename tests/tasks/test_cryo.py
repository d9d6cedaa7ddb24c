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
    GLD_SPEC,
    SICD_IGNORE,
    SICD_TILE_SIZE,
    iter_scene_tiles,
    read_sicd_scene,
    sicd_split_of,
    sliding_windows,
)
from planetbench.tasks.readers.geotiff import write_geotiff
from planetbench.tasks.readers.images import read_label_image, write_png
from planetbench.tasks.readers.netcdf import netcdf_variable_names, read_netcdf_variables
from planetbench.tasks.readers.tiling import SceneStitcher, Tiling, predict_scene


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
        for band in spec.bands:
            assert band.modality != "optical" or band.wavelength_um is not None
            assert band.modality != "sar" or band.polarisation is not None
        assert spec.ignore_index is not None and spec.ignore_index not in range(spec.n_classes)
        # No invented checksums: every file has a published digest or the spec says why not.
        files = spec.files
        assert all(f.md5 or f.sha256 for f in files) or "not published" in spec.checksum_note


def test_gld_channels_follow_the_cryobench_loader() -> None:
    """File channel 7 is what Cryo-Bench feeds as SAR; statistics are put back in file order."""
    names = GLD_SPEC.band_names
    assert names.index("coherence") == 6
    assert GLD_SPEC.band_mean is not None and GLD_SPEC.band_std is not None
    mean = dict(zip(names, GLD_SPEC.band_mean, strict=True))
    assert mean["coherence"] == 174.6983  # the yaml's sar mean
    assert mean["slope"] == 25.4476 and mean["elevation"] == 4865.1832
    assert [b.wavelength_um for b in GLD_SPEC.bands[:5]] == [0.49, 0.56, 0.665, 0.842, 1.61]
    assert all(b.modality != "optical" for b in GLD_SPEC.bands[5:])


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
            if task == "sicd":  # default: one padded 512 px tile per toy scene
                assert image.shape == (3, 512, 512)
                _, _, y1, x1 = item["window"].tolist()
                assert (y1, x1) == fake_sicd.scene_shape(32)
                assert (mask[:3, :4] == spec.ignore_index).all()  # the no-data corner
                assert (mask[3:y1, :x1] != spec.ignore_index).all()
                assert (mask[y1:] == spec.ignore_index).all()  # padding
                assert (mask[:, x1:] == spec.ignore_index).all()
            else:  # binary/zone tasks: every pixel is labelled, none ignored
                assert (mask != spec.ignore_index).all() and len(np.unique(mask)) >= 2
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


@pytest.mark.parametrize(
    ("task", "image_dir", "mask_dir"),
    [("glid", "images", "masks"), ("gld", "image", "mask"), ("gsdd", "image", "mask")],
)
def test_folder_names_are_cryobench_ones(
    task: str, image_dir: str, mask_dir: str, tmp_path: Path
) -> None:
    _fake(task).write(tmp_path, n_per_split=1)
    assert (tmp_path / "train" / image_dir).is_dir() and (tmp_path / "train" / mask_dir).is_dir()
    (tmp_path / "train" / mask_dir).rename(tmp_path / "train" / "labels")
    with pytest.raises(DatasetNotFoundError, match=rf"'train/{mask_dir}'.*{image_dir}/<stem>"):
        get_task(task).load(tmp_path, "train")


def test_missing_data_points_at_a_nested_copy(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path / "unpacked" / "GLID", n_per_split=1)
    with pytest.raises(DatasetNotFoundError, match=r"did you mean --root .*unpacked/GLID\?"):
        get_task("glid").load(tmp_path, "val")
    assert len(get_task("glid").load(tmp_path / "unpacked" / "GLID", "val")) == 1


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
    img = next((tmp_path / "val" / "image").glob("*.tif"))
    write_geotiff(img, np.zeros((4, 32, 32), dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"has 4 channels, expected 10"):
        get_task("gsdd").load(tmp_path, "val")[0]


def test_folder_task_mask_out_of_range(tmp_path: Path) -> None:
    _fake("gld").write(tmp_path, n_per_split=1)
    msk = next((tmp_path / "test" / "mask").glob("*.tif"))
    write_geotiff(msk, np.full((32, 32), 255, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"value\(s\) \[255\]"):
        get_task("gld").load(tmp_path, "test")[0]


def test_reader_rejects_unknown_options_and_splits(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path, n_per_split=1)
    with pytest.raises(InvalidInputError, match="takes no options; got tile_size"):
        get_task("glid").load(tmp_path, "train", tile_size=8)
    with pytest.raises(InvalidInputError, match="has no split 'valid'"):
        get_task("sicd").load(tmp_path, "valid")
    with pytest.raises(InvalidInputError, match="options are tile_size, stride and owned_only"):
        get_task("sicd").load(tmp_path, "train", size=8)


# ------------------------------------------------------------------------------------- SICD


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


@settings(max_examples=60, deadline=None)
@given(
    h=st.integers(1, 60), w=st.integers(1, 60), size=st.integers(1, 24), data=st.data()
)
def test_owned_regions_partition_the_scene(h: int, w: int, size: int, data: st.DataObject) -> None:
    """Each pixel is owned by exactly one window, and lies inside that window."""
    tiling = Tiling(h, w, size, data.draw(st.integers(1, size)))
    owner = np.full((h, w), -1, dtype=np.int64)
    for i, ((y0, x0, y1, x1), (r0, c0, r1, c1)) in enumerate(
        zip(tiling.windows, tiling.owned, strict=True)
    ):
        assert y0 <= r0 < r1 <= y1 and x0 <= c0 < c1 <= x1
        assert (owner[r0:r1, c0:c1] == -1).all()
        owner[r0:r1, c0:c1] = i
    assert (owner >= 0).all()


def test_predict_scene_stitches_each_pixel_once() -> None:
    rng = np.random.default_rng(0)
    image = rng.normal(size=(2, 23, 30)).astype(np.float32)
    calls: list[int] = []

    def predict(batch: np.ndarray) -> np.ndarray:  # scores: the two channels, then their sum
        calls.append(len(batch))
        return np.concatenate([batch, batch.sum(1, keepdims=True)], axis=1)

    out = predict_scene(image, predict, size=8, stride=5, batch_size=4)
    assert out.shape == (3, 23, 30) and out.dtype == np.float32
    np.testing.assert_allclose(out[:2], image)
    np.testing.assert_allclose(out[2], image.sum(0), rtol=1e-6)
    assert sum(calls) == len(Tiling(23, 30, 8, 5)) and max(calls) == 4
    labels = predict_scene(image, lambda b: (b[:, 0] > 0).astype(np.int64), size=8)
    np.testing.assert_array_equal(labels, (image[0] > 0).astype(np.int64))
    with pytest.raises(InvalidInputError, match=r"predict returned shape \(8,\) for a batch of 8"):
        predict_scene(image, lambda b: np.zeros(len(b)), size=8)


def test_stitcher_refuses_gaps_repeats_and_wrong_shapes() -> None:
    tiling = Tiling(10, 10, 6, 4)
    stitcher = SceneStitcher(tiling, n_channels=2, dtype=np.float32)
    stitcher.add(0, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match="window 0 was already added"):
        stitcher.add(0, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match=r"must have shape \(2, 6, 6\); got \(6, 6\)"):
        stitcher.add(1, np.zeros((6, 6)))
    with pytest.raises(InvalidInputError, match=r"window index 9 is outside 0\.\.3"):
        stitcher.add(9, np.zeros((2, 6, 6)))
    with pytest.raises(InvalidInputError, match=r"3 of 4 windows were not added"):
        stitcher.result()
    with pytest.raises(InvalidInputError, match=r"must have shape \(C, 10, 10\)"):
        tiling.cut(np.zeros((1, 9, 10)), 0)


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


def test_netcdf_window_reads_match_whole_reads(tmp_path: Path) -> None:
    fake_sicd.write(tmp_path, n_per_split=1)
    scene = next((tmp_path / "train").glob("*.nc"))
    names = ["nersc_sar_primary", "SOD"]
    whole = read_netcdf_variables(scene, names, mask_fill=False)
    part = read_netcdf_variables(scene, names, mask_fill=False, window=(2, 5, 9, 30))
    for name in names:
        np.testing.assert_array_equal(part[name], whole[name][2:9, 5:30])
    with pytest.raises(InvalidInputError, match=r"window \(0, 0, 99, 4\) .* does not fit"):
        read_netcdf_variables(scene, names, window=(0, 0, 99, 4))


def test_netcdf4_hdf5_scene_is_read_with_window_and_fill(tmp_path: Path) -> None:
    """AI4Arctic scenes are netCDF-4 (HDF5): variables, _FillValue masking and windows."""
    h5py = pytest.importorskip("h5py", reason="h5py is in the cryo extra")
    rng = np.random.default_rng(0)
    hh = rng.normal(size=(6, 8)).astype(np.float32)
    sod = rng.integers(0, 6, size=(6, 8)).astype(np.uint8)
    sod[0, 0] = 255
    path = tmp_path / "20180101T000000_dmi_prep.nc"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("nersc_sar_primary", data=hh)
        ds = h5.create_dataset("SOD", data=sod)
        ds.attrs["_FillValue"] = np.uint8(255)
        h5.create_group("ignored_group")
    assert netcdf_variable_names(path) == ["SOD", "nersc_sar_primary"]
    out = read_netcdf_variables(path, ["nersc_sar_primary", "SOD"])
    np.testing.assert_array_equal(out["nersc_sar_primary"], hh)
    assert out["SOD"].dtype == np.uint8 and out["SOD"][0, 0] == 255  # integer fill kept as is
    window = read_netcdf_variables(path, ["nersc_sar_primary"], window=(1, 2, 4, 6))
    np.testing.assert_array_equal(window["nersc_sar_primary"], hh[1:4, 2:6])
    with pytest.raises(InvalidInputError, match=r"lacks variable\(s\) HV; it holds: SOD"):
        read_netcdf_variables(path, ["HV"])
