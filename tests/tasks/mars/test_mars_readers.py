"""The mars suite: 20 Mars-Bench tasks read from fakes of every layout; budgets; errors."""

from __future__ import annotations

import importlib
import json
from pathlib import Path

import numpy as np
import pytest

from planetbench.errors import (
    BudgetNotPublishedError,
    DatasetNotFoundError,
    InvalidInputError,
    LabelFileError,
)
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.mars import INFOS, MARS_TASKS, MarsTask
from planetbench.tasks.mars.base import MarsSplit, partition_token
from planetbench.tasks.mars.segmentation import read_mmls_bands
from planetbench.testing_mars import fake_budget, fake_samples, write_mars_fake

MARSBENCH_IDS = (
    "mb-atmospheric_dust_cls_edr", "mb-atmospheric_dust_cls_rdr", "mb-change_cls_ctx",
    "mb-change_cls_hirise", "mb-domars16k", "mb-frost_cls", "mb-landmark_cls", "mb-surface_cls",
    "mb-surface_multi_label_cls", "mb-boulder_seg", "mb-conequest_seg", "mb-crater_binary_seg",
    "mb-crater_multi_seg", "mb-mars_seg_mer", "mb-mars_seg_msl", "mb-mmls", "mb-s5mars",
    "mb-boulder_det", "mb-conequest_det", "mb-dust_devil_det",
)
LAYOUTS = ("zenodo", "hf-parquet", "hf-save-to-disk")
FAKES = {"zenodo": "mars_zenodo", "hf-parquet": "mars_hub", "hf-save-to-disk": "mars_saved"}


def test_registry_holds_the_twenty_marsbench_tasks() -> None:
    assert MARS_TASKS == MARSBENCH_IDS
    assert sorted(list_tasks("mars")) == sorted(MARSBENCH_IDS)
    kinds = {n: get_task(n).spec.kind for n in MARSBENCH_IDS}
    assert [n for n, k in kinds.items() if k == "detection"] == list(MARSBENCH_IDS[-3:])
    assert [n for n, k in kinds.items() if k == "multilabel"] == ["mb-surface_multi_label_cls"]
    assert {n for n, k in kinds.items() if k == "multiclass"} == {
        "mb-domars16k", "mb-landmark_cls", "mb-surface_cls"}
    assert sum(k == "segmentation" for k in kinds.values()) == 8
    for name in MARSBENCH_IDS:
        task = get_task(name)
        assert isinstance(task, MarsTask)
        spec, info = task.spec, task.info
        assert spec.suite == "mars" and spec.band_names == ("red", "green", "blue")
        assert spec.licence.startswith("unverified") and "Mars-Bench" in spec.benchmark_citation
        assert [layout.name for layout in spec.layouts] == list(LAYOUTS)
        n = spec.n_classes
        expected = {1: 2}.get(info.config_num_classes, info.config_num_classes)
        assert n == (1 if spec.kind == "detection" else expected)
        assert set(task.layouts) == set(LAYOUTS)
        assert info.hf_repo == f"Mirali33/{name}"
    assert get_task("mb-frost_cls").spec.classes == ("background", "frost")
    # names Mars-Bench does not publish stay placeholders, never invented
    assert get_task("mb-domars16k").spec.classes == tuple(f"class_{i}" for i in range(15))
    assert "order" in get_task("mb-domars16k").info.class_note
    assert get_task("mb-s5mars").spec.n_classes == 10


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("task_id", MARSBENCH_IDS)
def test_every_task_reads_its_fake_in_every_layout(task_id: str, layout: str,
                                                   tmp_path: Path) -> None:
    fake = importlib.import_module(f"tests.fakes.{FAKES[layout]}")
    fake.write(tmp_path, task_id, n_per_split=3, size=16, seed=1)
    task = get_task(task_id)
    spec = task.spec
    assert task.layout_of(tmp_path) == layout
    for split in spec.splits:
        ds = task.load(tmp_path, split)
        assert isinstance(ds, MarsSplit) and ds.layout == layout and len(ds) == 3
        want = fake_samples(task_id, split, n_per_split=3, size=16, seed=1)
        assert len(set(ds.ids)) == 3
        for i, smp in enumerate(want):
            s = ds[i]
            assert s["image"].shape == (3, 16, 16) and s["image"].dtype == np.float32
            assert s["id"] == ds.sample_id(i)
            if spec.kind in ("classification", "multiclass"):
                assert s["label"].dtype == np.int64 and s["label"].shape == ()
                assert int(s["label"]) == smp.label
            elif spec.kind == "multilabel":
                assert s["label"].shape == (25,) and s["label"].dtype == np.int64
                assert np.flatnonzero(s["label"]).tolist() == smp.label
            elif spec.kind == "segmentation":
                assert s["mask"].dtype == np.int64
                np.testing.assert_array_equal(s["mask"], smp.mask)
            else:
                assert s["boxes"].dtype == np.float32 and s["labels"].dtype == np.int64
                np.testing.assert_allclose(s["boxes"], smp.boxes.reshape(-1, 4), atol=1e-3)
                assert s["labels"].tolist() == [0] * len(smp.boxes)
            np.testing.assert_array_equal(ds.target(i), s.get("mask", s.get("label",
                                                                            s.get("labels"))))


def test_grey_images_become_three_equal_channels(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-domars16k", size=16)
    img = get_task("mb-domars16k").load(tmp_path, "train")[0]["image"]
    smp = fake_samples("mb-domars16k", "train", size=16)[0]
    for c in range(3):
        np.testing.assert_array_equal(img[c], smp.image)


def test_change_pairs_are_stacked_zeros_after_before(tmp_path: Path) -> None:
    for layout in ("zenodo", "hf-parquet"):
        write_mars_fake(tmp_path / layout, "mb-change_cls_hirise", layout=layout, size=16)
        s = get_task("mb-change_cls_hirise").load(tmp_path / layout, "val")[1]
        smp = fake_samples("mb-change_cls_hirise", "val", size=16)[1]
        assert not s["image"][0].any()
        np.testing.assert_array_equal(s["image"][1], smp.after)
        np.testing.assert_array_equal(s["image"][2], smp.image)


def test_change_pair_after_image_missing_is_reported(tmp_path: Path) -> None:
    folder = write_mars_fake(tmp_path, "mb-change_cls_ctx", size=16)
    next(folder.glob("data/train/*/*_after.png")).unlink()
    ds = get_task("mb-change_cls_ctx").load(tmp_path, "train")
    with pytest.raises(DatasetNotFoundError, match="'after' image is the 'before' path"):
        [ds[i] for i in range(len(ds))]


def test_mmls_seven_band_tiffs_read_as_marsbench_channels(tmp_path: Path) -> None:
    import tifffile

    folder = write_mars_fake(tmp_path, "mb-mmls", size=16)
    ds = get_task("mb-mmls").load(tmp_path, "test")
    smp = fake_samples("mb-mmls", "test", size=16)[0]
    s = ds[0]
    np.testing.assert_allclose(s["image"], smp.image[..., [2, 1, 0]].transpose(2, 0, 1))
    np.testing.assert_array_equal(s["mask"], smp.mask)
    path = ds.pairs[0].image
    np.testing.assert_allclose(read_mmls_bands(path), smp.image.transpose(2, 0, 1))
    # channels-first files are read too
    tifffile.imwrite(path, smp.image.transpose(2, 0, 1))
    np.testing.assert_allclose(ds[0]["image"], s["image"])
    tifffile.imwrite(path, smp.image[..., :4], photometric="minisblack")
    with pytest.raises(LabelFileError, match="expected 7 bands"):
        ds[0]
    assert folder.name == "mb-mmls"


def test_detection_box_formats_agree_and_empty_images_are_kept(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-conequest_det", n_per_split=6, size=32)
    task = get_task("mb-conequest_det")
    by_format = {f: task.load(tmp_path, "test", box_format=f) for f in ("pascal_voc", "coco",
                                                                         "yolo")}
    assert task.load(tmp_path, "test").box_format == "pascal_voc"  # Mars-Bench's models' choice
    for i in range(6):
        ref = by_format["pascal_voc"][i]["boxes"]
        for ds in by_format.values():
            np.testing.assert_allclose(ds[i]["boxes"], ref, atol=1e-3)
    ds = by_format["coco"]
    empty = [i for i in range(len(ds)) if len(ds[i]["boxes"]) == 0]
    assert empty == [2, 5]  # every third fake image has no box, and it is kept
    assert ds[2]["boxes"].shape == (0, 4) and ds[2]["labels"].shape == (0,)
    dropped = task.load(tmp_path, "test", drop_empty=True, box_format="yolo")
    assert len(dropped) == 4 and "drop_empty=True" in dropped.notes[0]
    assert dropped.n_boxes == by_format["yolo"].n_boxes
    with pytest.raises(InvalidInputError, match="box_format='kitti' is not one of"):
        task.load(tmp_path, "test", box_format="kitti")
    with pytest.raises(InvalidInputError, match="drop_empty='yes' must be True or False"):
        task.load(tmp_path, "test", drop_empty="yes")


def test_detection_reads_only_the_formats_present(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-boulder_det", box_formats=("coco",))
    task = get_task("mb-boulder_det")
    assert task.load(tmp_path, "train").box_format == "coco"
    with pytest.raises(DatasetNotFoundError, match=r"box_format='yolo' was asked but .* holds "
                                                   r"only coco"):
        task.load(tmp_path, "train", box_format="yolo")


def test_detection_refuses_two_categories_for_a_one_class_task(tmp_path: Path) -> None:
    folder = write_mars_fake(tmp_path, "mb-dust_devil_det")
    label = folder / "data" / "val" / "labels" / "val_0000.txt"
    label.write_text(label.read_text() + "3 0.5 0.5 0.1 0.1\n")
    with pytest.raises(LabelFileError, match="2 different categories"):
        get_task("mb-dust_devil_det").load(tmp_path, "val", box_format="yolo")


def test_published_budgets_are_read_for_the_train_split(tmp_path: Path) -> None:
    for layout in LAYOUTS:
        root = tmp_path / layout
        write_mars_fake(root, "mb-landmark_cls", layout=layout, n_per_split=10)
        task = get_task("mb-landmark_cls")
        part = task.load(root, "train", fraction=0.2)
        want = fake_budget("mb-landmark_cls", fraction=0.2, n_per_split=10)
        assert len(part) == 2 and sorted(part.ids) == sorted(s.stem for s in want)
        assert part.budget is not None and part.budget.label == "fraction=0.2"
        shots = task.load(root, "train", shots=1)
        assert sorted(shots.ids) == sorted(
            s.stem for s in fake_budget("mb-landmark_cls", shots=1, n_per_split=10))
        assert len(task.load(root, "train", fraction=1.0)) == 10  # the whole split
    assert partition_token(0.1) == "0.10x_partition" and partition_token(0.05) == "0.05x_partition"


def test_budget_errors(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-crater_binary_seg", budgets=False)
    task = get_task("mb-crater_binary_seg")
    with pytest.raises(BudgetNotPublishedError, match=r"partitions/0\.10x_partition\.csv.*"
                                                      "select_budget"):
        task.load(tmp_path, "train", fraction=0.1)
    with pytest.raises(InvalidInputError, match="train split only"):
        task.load(tmp_path, "val", fraction=0.1)
    with pytest.raises(InvalidInputError, match=r"fraction=0\.3 is not one of Mars-Bench"):
        task.load(tmp_path, "train", fraction=0.3)
    with pytest.raises(InvalidInputError, match="shots=3 is not one of"):
        task.load(tmp_path, "train", shots=3)
    with pytest.raises(InvalidInputError, match="not both"):
        task.load(tmp_path, "train", shots=1, fraction=0.1)
    with pytest.raises(InvalidInputError, match="reader options are fraction, shots, layout"):
        task.load(tmp_path, "train", tile_size=64)
    assert task.published_budgets(tmp_path) == {"fraction": (), "shots": ()}


def test_missing_data_says_where_to_get_it_and_which_layouts(tmp_path: Path) -> None:
    task = get_task("mb-conequest_seg")
    with pytest.raises(DatasetNotFoundError, match=(
            r"(?s)'.*mb-conequest_seg' is absent.*zenodo\.org/communities/mars-bench.*"
            r"huggingface-cli download Mirali33/mb-conequest_seg.*\(1\) zenodo.*"
            r"\(2\) hf-parquet.*\(3\) hf-save-to-disk")):
        task.load(tmp_path, "train")
    folder = write_mars_fake(tmp_path / "inner", "mb-conequest_seg")
    with pytest.raises(DatasetNotFoundError, match=r"did you mean --root .*inner"):
        task.load(tmp_path, "train")
    with pytest.raises(DatasetNotFoundError, match="itself looks like a dataset folder"):
        task.load(folder, "train")
    (tmp_path / "mb-conequest_seg").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"holds none of annotation\.csv"):
        task.load(tmp_path, "train")


def test_hf_split_absent_lists_the_splits_present(tmp_path: Path) -> None:
    folder = write_mars_fake(tmp_path, "mb-s5mars", layout="hf-parquet", budgets=False)
    next((folder / "data").glob("val-*.parquet")).unlink()
    (folder / "README.md").write_text("# no card\n")  # split names from the shard names
    with pytest.raises(DatasetNotFoundError, match=r"split 'val' is absent .*present: test, "
                                                   r"train"):
        get_task("mb-s5mars").load(tmp_path, "val")
    assert len(get_task("mb-s5mars").load(tmp_path, "test")) == 3


def test_bad_labels_and_masks_are_refused(tmp_path: Path) -> None:
    folder = write_mars_fake(tmp_path, "mb-frost_cls")
    csv = folder / "annotation.csv"
    csv.write_text(csv.read_text().replace(",1,train", ",7,train", 1))
    with pytest.raises(LabelFileError, match=r"label 7 is outside 0\.\.1"):
        get_task("mb-frost_cls").load(tmp_path, "train")
    seg = write_mars_fake(tmp_path, "mb-boulder_seg", size=8)
    from PIL import Image

    mask = next(seg.glob("data/val/masks/*.png"))
    Image.fromarray(np.full((8, 8), 255, np.uint8)).save(mask)
    ds = get_task("mb-boulder_seg").load(tmp_path, "val")
    with pytest.raises(LabelFileError, match=r"value\(s\) \[255\].*0/255 mask must be saved as"):
        [ds[i] for i in range(len(ds))]


def test_unpaired_segmentation_files_are_skipped_with_a_warning(tmp_path: Path) -> None:
    folder = write_mars_fake(tmp_path, "mb-mars_seg_msl", size=8)
    next(folder.glob("data/train/masks/*.png")).unlink()
    with pytest.warns(UserWarning, match="1 image\\(s\\) or mask\\(s\\) without a partner"):
        ds = get_task("mb-mars_seg_msl").load(tmp_path, "train")
    assert len(ds) == 2 and ds.notes


def test_multilabel_labels_in_every_form(tmp_path: Path) -> None:
    from planetbench.tasks.mars.classification import parse_multilabel

    assert np.flatnonzero(parse_multilabel("[1, 4]", 25, "x")).tolist() == [1, 4]
    assert np.flatnonzero(parse_multilabel([3], 25, "x")).tolist() == [3]
    vec = [0] * 25
    vec[2] = vec[24] = 1
    assert np.flatnonzero(parse_multilabel(vec, 25, "x")).tolist() == [2, 24]
    with pytest.raises(LabelFileError, match=r"outside 0\.\.24"):
        parse_multilabel("[25]", 25, "x")
    with pytest.raises(LabelFileError, match="not a list of label indices"):
        parse_multilabel("[1, ", 25, "x")


def test_class_names_found_on_disk(tmp_path: Path) -> None:
    write_mars_fake(tmp_path / "hub", "mb-frost_cls", layout="hf-parquet")
    assert get_task("mb-frost_cls").load(tmp_path / "hub", "train").class_names == (
        "background", "frost")
    folder = write_mars_fake(tmp_path, "mb-landmark_cls")
    names = [f"landmark{i}" for i in range(8)]
    (folder / "mapping.json").write_text(json.dumps({str(i): n for i, n in enumerate(names)}))
    assert get_task("mb-landmark_cls").load(tmp_path, "train").class_names == tuple(names)
    (folder / "mapping.json").write_text(json.dumps(names[:3]))  # wrong length: ignored
    assert get_task("mb-landmark_cls").load(tmp_path, "train").class_names is None


def test_hf_voc_dict_of_lists_and_real_datasets_library(tmp_path: Path) -> None:
    from planetbench.tasks.mars.detection import _hf_boxes

    old = {"objects": {"bbox": {"xmin": [1, 5], "ymin": [2, 6], "xmax": [3, 9], "ymax": [4, 9]},
                       "name": ["cone", "cone"]}}
    np.testing.assert_array_equal(_hf_boxes(old, "pascal_voc", "x").boxes,
                                  [[1, 2, 3, 4], [5, 6, 9, 9]])
    assert len(_hf_boxes(None, "coco", "x")) == 0
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    images = [Image.fromarray(np.full((8, 8), 40 * i, np.uint8)) for i in range(3)]
    feats = datasets.Features({"image": datasets.Image(),
                               "label": datasets.ClassLabel(names=["background", "frost"])})
    ds = datasets.Dataset.from_dict({"image": images, "label": [0, 1, 1]}, features=feats)
    dd = datasets.DatasetDict({"train": ds, "val": ds, "test": ds,
                               "partition_train_0.50x_partition": ds.select([1])})
    dd.save_to_disk(str(tmp_path / "saved" / "mb-frost_cls"))
    hub = tmp_path / "hub" / "mb-frost_cls" / "data"
    for name, split in dd.items():
        split.to_parquet(str(hub / f"{name}-00000-of-00001.parquet"))
    for root in (tmp_path / "saved", tmp_path / "hub"):
        task = get_task("mb-frost_cls")
        train = task.load(root, "train")
        assert [int(train[i]["label"]) for i in range(3)] == [0, 1, 1]
        np.testing.assert_array_equal(train[2]["image"], np.full((3, 8, 8), 80, np.float32))
        assert train.class_names == ("background", "frost")
        part = task.load(root, "train", fraction=0.5)
        assert len(part) == 1 and int(part[0]["label"]) == 1


def test_every_info_is_consistent() -> None:
    for task_id, info in INFOS.items():
        assert info.task_id == task_id
        assert (info.seg_naming is not None) == (info.family == "segmentation")
        assert (info.box_free_note != "") == (info.family == "detection")
        assert not info.published_shots or info.family in ("classification", "change",
                                                           "multilabel")
