"""Classification and detection runs through the runner: stored, resumable, reproducible, checked
first; Mars-Bench's training types and metrics recorded beside ours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from planetbench.config import ExperimentSpec, validate_config
from planetbench.runs.preflight import GridError
from planetbench.runs.runner import run_experiment
from planetbench.store import ResultStore
from planetbench.testing_mars import write_mars_fake

TASKS = ("mb-frost_cls", "mb-domars16k", "mb-surface_multi_label_cls", "mb-boulder_det")
DETECTOR = {"out_channels": 32, "representation_size": 32, "rpn_pre_nms_top_n_train": 100,
            "rpn_post_nms_top_n_train": 20, "rpn_pre_nms_top_n_test": 100,
            "rpn_post_nms_top_n_test": 20, "box_batch_size_per_image": 16}


@pytest.fixture(scope="module")
def mars_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mars")
    for task in TASKS:
        write_mars_fake(root, task, n_per_split=4, size=32)
    return root


@pytest.fixture
def tiny(tiny_dense_registry: None) -> Iterator[None]:
    yield


def _spec(root: Path, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["tiny-conv"], tasks=["mb-frost_cls"], protocols=["frozen"], root=str(root),
        input_size=32, epochs=2, patience=2, batch_size=4, latency_repeats=1, lrs=[1e-2],
        fraction_dir=str(tmp_path / "fractions"), num_threads=1,
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def _store(tmp_path: Path, name: str = "r") -> ResultStore:
    return ResultStore(f"sqlite:///{tmp_path / f'{name}.sqlite'}")


def _quiet(_: str) -> None:
    pass


def test_every_kind_runs_is_stored_with_both_metrics_and_resumes(
        tiny: None, mars_root: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    classification = _spec(mars_root, tmp_path, tasks=list(TASKS[:3]))
    detection = _spec(mars_root, tmp_path, tasks=["mb-boulder_det"], head="faster-rcnn",
                      head_options=DETECTOR, batch_size=2)
    n = 0
    for part in (classification, detection):
        summary = run_experiment(part, store=store, progress=False, print_fn=_quiet)
        n += len(summary.results)
        for r in summary.results:
            assert r.metrics["training_type"] == "feature_extraction"
            assert r.metric == {"mb-frost_cls": "f1", "mb-boulder_det": "map"}.get(
                r.task, "f1_weighted")
            assert r.metrics["marsbench_metric"] == ("map" if r.task == "mb-boulder_det"
                                                     else "f1_weighted_mb")
            assert r.metrics[r.metrics["marsbench_metric"]] is not None
            assert r.metrics["val_metric"] == r.metric
            assert r.metrics["tested_checkpoint"].startswith("best")
            assert any("Mars-Bench tests its final weights" in note for note in r.notes)
            assert r.efficiency["params"] > 0 and r.suite == "mars"
    assert n == 4 and len(store) == 4
    again = run_experiment(classification, store=store, progress=False, print_fn=_quiet)
    assert again.n_skipped == 3 and not again.results  # resumed: nothing re-run


def test_same_seed_same_scores(tiny: None, mars_root: Path, tmp_path: Path) -> None:
    spec = _spec(mars_root, tmp_path, tasks=["mb-domars16k"], protocols=["finetune"],
                 augment=True, optimizer="sgd", scheduler="cosine")
    first = run_experiment(spec, store=_store(tmp_path, "a"), progress=False, print_fn=_quiet)
    second = run_experiment(spec, store=_store(tmp_path, "b"), progress=False, print_fn=_quiet)
    (a,), (b,) = first.results, second.results
    assert a.run_key == b.run_key
    assert a.metrics["history"][-1]["train_loss"] == b.metrics["history"][-1]["train_loss"]
    assert a.metrics["f1_per_class"] == b.metrics["f1_per_class"] and a.score == b.score
    assert a.config["optimizer"] == "sgd" and a.metrics["training_type"] == "transfer_learning"


def test_scratch_builds_random_encoders_and_refuses_pretrained_ones(
        tiny: None, mars_root: Path, tmp_path: Path) -> None:
    spec = _spec(mars_root, tmp_path, protocols=["scratch"])
    (result,) = run_experiment(spec, store=_store(tmp_path), progress=False,
                               print_fn=_quiet).results
    assert result.metrics["training_type"] == "scratch_training"
    bad = _spec(mars_root, tmp_path, encoders=["resnet50"], protocols=["scratch"])
    with pytest.raises(GridError, match="encoder 'resnet50' has no random initialisation"):
        run_experiment(bad, store=_store(tmp_path, "bad"), progress=False, print_fn=_quiet)


def test_settings_that_do_not_suit_the_task_kind_are_refused_first(
        tiny: None, mars_root: Path, tmp_path: Path) -> None:
    from tests.runs.test_preflight import _problems  # the same listing as dense grids

    spec = _spec(mars_root, tmp_path, tasks=["mb-frost_cls", "mb-boulder_det", "tiny-seg"],
                 head="unet", dice_weight=0.5, optimizer="adamv", loss="ce", cache="disk")
    text = "\n".join(_problems(spec, tmp_path))
    assert "task 'mb-frost_cls' (classification): head: unknown classification head 'unet'" in text
    assert "task 'mb-frost_cls' (classification): optimizer: unknown optimizer 'adamv'" in text
    assert "task 'mb-boulder_det' (detection): head: unknown detection head 'unet'" in text
    assert "task 'mb-boulder_det' (detection): loss: loss 'ce' does not apply to detection" in text
    assert ("task 'mb-frost_cls' (classification): cache 'disk': classification runs cache "
            "pooled vectors in memory or not at all") in text
    assert "task 'mb-frost_cls' (classification): dice_weight=0.5 applies to segmentation" in text
    assert ("task 'tiny-seg' (segmentation): optimizer='adamv' applies to classification and "
            "detection runs only") in text


def test_cli_prints_our_metric_and_mars_benchs(tiny: None, mars_root: Path,
                                               tmp_path: Path) -> None:
    from planetbench.cli import _load_commands, app

    _load_commands()
    result = CliRunner().invoke(app, [
        "run", "--encoder", "tiny-conv", "--task", "mb-domars16k", "--root", str(mars_root),
        "--input-size", "32", "--epochs", "1", "--batch-size", "4", "--num-threads", "1",
        "--store", str(tmp_path / "cli.sqlite"), "--no-progress", "--optimizer", "adam",
    ])
    assert result.exit_code == 0, result.output
    assert "test f1_weighted" in result.output and "(Mars-Bench's f1_weighted_mb" in result.output
    bad = CliRunner().invoke(app, [
        "run", "--encoder", "tiny-conv", "--task", "mb-domars16k", "--root", str(mars_root),
        "--scheduler", "cosin", "--store", str(tmp_path / "cli.sqlite"), "--no-progress",
    ])
    assert bad.exit_code == 2 and "did you mean 'cosine'" in bad.output
