"""The Mars part of the demo: SYNTHETIC Mars-like scenes, runs under Mars-Bench's training types,
both metrics in the table, resumable, labelled synthetic in the report."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from planetbench.demo.mars import mars_demo_view, run_mars_demo
from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.demo_mars import (
    MARS_DEMO_TASKS,
    draw_boulder_scene,
    draw_cone_scene,
    write_mars_demo_data,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_scenes_are_seeded_synthetic_and_consistent(tmp_path: Path) -> None:
    a = write_mars_demo_data(tmp_path / "a", n_images=10, seed=3)
    b = write_mars_demo_data(tmp_path / "b", n_images=10, seed=3)
    c = write_mars_demo_data(tmp_path / "c", n_images=10, seed=4)
    assert set(list_tasks("demo-mars")) == set(MARS_DEMO_TASKS)
    for task in MARS_DEMO_TASKS:
        spec = get_task(task).spec
        assert spec.synthetic and spec.licence == "CC0-1.0 (synthetic)"
        first = get_task(task).load(a, "train")
        again = get_task(task).load(b, "train")
        other = get_task(task).load(c, "train")
        assert len(first) == 6 and len(get_task(task).load(a, "test")) == 2
        assert np.array_equal(first[0]["image"], again[0]["image"])
        assert not np.array_equal(first[0]["image"], other[0]["image"])
        image = first[0]["image"]
        assert image.shape == (3, spec_size(task), spec_size(task)) and image.dtype == np.float32
        assert np.array_equal(image[0], image[2])  # grey, as Mars-Bench loads grey images
    rng = np.random.default_rng(0)
    image, mask = draw_cone_scene(rng, 32)
    assert mask.any() and set(np.unique(mask)) <= {0, 1}
    assert image[mask == 1].std() > image[mask == 0].std()  # the cones are shaded relief
    _, boxes = draw_boulder_scene(np.random.default_rng(1), 64)
    assert ((boxes >= 0) & (boxes <= 64)).all() and (boxes[:, 2] > boxes[:, 0]).all()


def spec_size(task: str) -> int:
    return MARS_DEMO_TASKS[task].size


def test_reader_errors_say_how_to_make_the_data(tmp_path: Path) -> None:
    task = get_task("demo-mars-cones")
    with pytest.raises(DatasetNotFoundError, match="drawn by `planetbench demo`"):
        task.load(tmp_path, "train")
    write_mars_demo_data(tmp_path, n_images=3)
    with pytest.raises(InvalidInputError, match="takes no options; got size"):
        task.load(tmp_path, "train", size=8)
    with pytest.raises(InvalidInputError, match="n_images must be an integer ≥ 3"):
        write_mars_demo_data(tmp_path, n_images=2)


def test_mars_demo_runs_every_kind_and_resumes(tmp_path: Path) -> None:
    from planetbench.report.build import build_report

    store = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    report = run_mars_demo(out=tmp_path / "mars", store=store, quick=True)
    board = report.leaderboard
    assert list(board["model"]) == ["mosaiks (num_filters=16)", "unet (tiny)", "unet (tiny)"]
    assert list(board["training_type"]) == ["feature_extraction", "feature_extraction",
                                            "scratch_training"]
    for column in ("demo-mars-craters f1", "demo-mars-craters f1_weighted_mb (Mars-Bench)",
                   "demo-mars-cones miou", "demo-mars-cones iou_mb (Mars-Bench)",
                   "demo-mars-boulders map"):
        assert column in board.columns and board[column].notna().all()
    assert report.n_runs == 9 and report.n_skipped == 0 and report.synthetic
    # the terminal view: one row per task · metric, one column per model · protocol, same cells
    view = mars_demo_view(board)
    assert list(view.columns) == ["task · metric", "mosaiks frozen", "unet frozen", "unet scratch"]
    assert list(view["task · metric"]) == [
        "boulders map", "cones iou_mb (MB)", "cones miou", "craters f1", "craters f1_weighted_mb (MB)"]
    assert view.loc[3, "unet scratch"] == board.loc[2, "demo-mars-craters f1"]
    assert "unet frozen: unet (tiny) under frozen (Mars-Bench's feature_extraction)" in (
        view.attrs["notes"])
    again = run_mars_demo(out=tmp_path / "mars", store=store, quick=True)
    assert again.n_skipped == 9
    html = build_report(store, tmp_path / "report.html").read_text()
    assert "demo-mars" in html and "SYNTHETIC" in html
