"""The SYNTHETIC demo suite: seeded generation, signal in the labels, reader and label folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.labels import load_label_tasks
from planetbench.errors import DatasetNotFoundError, InvalidInputError, UnknownNameError
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.demo import (
    DEMO_BANDS,
    IMAGE_TASKS,
    SAR_TASKS,
    SEGMENTATION_TASKS,
    generate_sar_scenes,
    generate_scenes,
    write_demo_data,
    write_demo_labels,
)

N = 40
SIZE = 16


def test_same_seed_same_arrays_other_seed_other_arrays() -> None:
    a = generate_scenes(N, size=SIZE, seed=3)
    b = generate_scenes(N, size=SIZE, seed=3)
    c = generate_scenes(N, size=SIZE, seed=4)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.splits, b.splits)
    for task in IMAGE_TASKS:
        np.testing.assert_array_equal(a.targets[task], b.targets[task])
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.targets["demo-snow-cover"], c.targets["demo-snow-cover"])


def test_uncached_generation_is_identical() -> None:
    from planetbench.tasks import demo

    first = demo._generate_cached.__wrapped__(N, SIZE, 7)
    second = demo._generate_cached.__wrapped__(N, SIZE, 7)
    np.testing.assert_array_equal(first.images, second.images)


def test_scene_shapes_ranges_and_splits() -> None:
    s = generate_scenes(N, size=SIZE, seed=0)
    assert s.images.shape == (N, len(DEMO_BANDS), SIZE, SIZE)
    assert s.images.dtype == np.float32
    assert -0.1 < s.images.min() and s.images.max() < 1.5  # reflectance with noise
    assert s.surface.shape == (N, SIZE, SIZE)
    assert sorted(set(s.splits)) == ["test", "train", "val"]
    assert (s.splits == "train").sum() == 24
    cover = s.targets["demo-snow-cover"]
    assert ((cover >= 0) & (cover <= 1)).all()
    np.testing.assert_allclose(cover, (s.surface == 1).mean(axis=(1, 2)))
    assert set(np.unique(s.targets["demo-lake"])) == {0, 1}
    assert not s.images.flags.writeable


def test_labels_have_signal_for_band_means() -> None:
    """Least squares on per-band means of train scenes predicts test snow cover; noise does not."""
    s = generate_scenes(120, size=SIZE, seed=1)
    x = np.c_[s.images.mean(axis=(2, 3)), np.ones(len(s))]
    y = s.targets["demo-snow-cover"]
    train, test = s.splits != "test", s.splits == "test"

    def held_out_r2(features: np.ndarray) -> float:
        coef = np.linalg.lstsq(features[train], y[train], rcond=None)[0]
        resid = y[test] - features[test] @ coef
        return float(1.0 - (resid**2).sum() / ((y[test] - y[test].mean()) ** 2).sum())

    assert held_out_r2(x) > 0.6
    noise = np.c_[np.random.default_rng(0).standard_normal((len(s), 10)), np.ones(len(s))]
    assert held_out_r2(noise) < 0.1


def test_tasks_registered_and_synthetic() -> None:
    demo = list_tasks("demo")
    assert set(demo) == set(IMAGE_TASKS) | set(SEGMENTATION_TASKS) | set(SAR_TASKS)
    for name in demo:
        spec = get_task(name).spec
        assert spec.synthetic and spec.suite == "demo"
        assert spec.licence == "CC0-1.0 (synthetic)"
        assert "synthetic" in spec.citation
        assert spec.band_names[0] == ("HH" if name in SAR_TASKS else "B02")
    assert get_task("demo-calving").spec.classes == ("ocean", "glacier", "rock")
    assert get_task("demo-lake").spec.kind == "classification"
    assert get_task("demo-lakes").spec.kind == "segmentation"
    with pytest.raises(UnknownNameError, match="did you mean 'demo-lake'"):
        get_task("demo-lakke")


def test_reader_in_memory_and_from_folder_agree(tmp_path: Path) -> None:
    task = get_task("demo-biomass")
    mem = task.load(tmp_path, "val", in_memory=True, n_images=N, size=SIZE, seed=2)
    write_demo_data(tmp_path / "data", n_images=N, size=SIZE, seed=2)
    disk = task.load(tmp_path / "data", "val")
    assert len(mem) == len(disk) == 8
    a, b = mem[0], disk[0]
    assert a["id"] == b["id"]
    np.testing.assert_array_equal(a["image"], b["image"])
    assert a["label"] == pytest.approx(b["label"])
    seg = get_task("demo-lakes").load(tmp_path / "data", "train")[0]
    assert seg["mask"].shape == (SIZE, SIZE) and seg["mask"].dtype == np.int64
    assert set(np.unique(seg["mask"])) <= {0, 1}
    assert "SYNTHETIC" in (tmp_path / "data" / "SYNTHETIC.md").read_text()


def test_reader_errors(tmp_path: Path) -> None:
    task = get_task("demo-lake")
    with pytest.raises(DatasetNotFoundError, match="planetbench demo"):
        task.load(tmp_path / "nothing", "train")
    with pytest.raises(InvalidInputError, match="only apply with in_memory=True"):
        task.load(tmp_path, "train", seed=1)
    with pytest.raises(InvalidInputError, match="no split 'dev'"):
        task.load(tmp_path, "dev", in_memory=True)
    with pytest.raises(InvalidInputError, match="n_images must be an integer >= 10"):
        generate_scenes(5)
    with pytest.raises(InvalidInputError, match="size must be an integer >= 16"):
        generate_scenes(N, size=8)
    with pytest.raises(InvalidInputError, match="seed must be a non-negative integer"):
        generate_scenes(N, size=SIZE, seed=-1)
    with pytest.raises(IndexError, match="out of range"):
        task.load(tmp_path, "test", in_memory=True, n_images=N, size=SIZE)[99]


def test_label_folder_reads_back_as_neuco_tasks(tmp_path: Path) -> None:
    files = write_demo_labels(tmp_path, n_images=N, size=SIZE, seed=0)
    assert [f.name for f in files] == [
        "demo-biomass__regr.csv",
        "demo-lake__cls.csv",
        "demo-snow-cover__regr.csv",
        "demo-surface__cls.csv",
    ]
    frame = pd.read_csv(tmp_path / "demo-lake__cls.csv")
    assert list(frame.columns) == ["id", "label"] and len(frame) == N
    assert set(frame["label"]) == {"lake", "no_lake"}
    tasks = {t.name: t for t in load_label_tasks(tmp_path)}
    assert tasks["demo-lake"].kind == "classification"
    assert tasks["demo-snow-cover"].kind == "regression"
    assert tasks["demo-surface"].kind == "multiclass"


@pytest.mark.parametrize("task", list(SAR_TASKS))
def test_sar_scenes_seeded_with_separable_classes(task: str) -> None:
    a = generate_sar_scenes(task, N, size=SIZE, seed=5)
    b = generate_sar_scenes(task, N, size=SIZE, seed=5)
    c = generate_sar_scenes(task, N, size=SIZE, seed=6)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)
    assert a.images.shape == (N, 2, SIZE, SIZE) and a.images.dtype == np.float32
    n_classes = len(SAR_TASKS[task])
    assert set(np.unique(a.masks)) == set(range(n_classes))
    # HV separates the classes on average (ocean/water is darkest), despite speckle
    hv = a.images[:, 1]
    means = [hv[a.masks == k].mean() for k in range(n_classes)]
    assert means[0] < min(means[1:]) - 3.0
    # speckle: pixel-to-pixel spread within a class is large (several dB)
    assert hv[a.masks == 0].std() > 2.0


def test_sar_reader_from_folder(tmp_path: Path) -> None:
    root = write_demo_data(tmp_path, n_images=N, size=SIZE, seed=0)
    ds = get_task("demo-seaice").load(root, "test")
    mem = get_task("demo-seaice").load(root, "test", in_memory=True, n_images=N, size=SIZE)
    assert len(ds) == len(mem) == 8
    np.testing.assert_array_equal(ds[0]["image"], mem[0]["image"])
    np.testing.assert_array_equal(ds[0]["mask"], mem[0]["mask"])
    assert ds[0]["id"].startswith("demo-seaice-")
    with pytest.raises(InvalidInputError, match="for SAR scenes"):
        generate_sar_scenes("demo-lake", N)
