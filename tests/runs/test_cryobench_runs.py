"""A cryobench run through the runner: what it stores and says, beside a default run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from planetbench.config import ExperimentSpec, validate_config
from planetbench.runs.runner import run_experiment
from planetbench.store import ResultStore
from planetbench.testing import write_tiny_segmentation

pytestmark = pytest.mark.usefixtures("tiny_dense_registry")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny40"), size=40,
                                   n_per_split={"train": 4, "val": 2, "test": 2})


def _spec(data: Path, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["unet-cryobench"], encoder_options={"unet-cryobench": {"tiny": True}},
        tasks=["tiny-seg"], root=str(data), epochs=1, batch_size=2, latency_repeats=1,
        fraction_dir=str(tmp_path / "fractions"), num_threads=1,
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def test_a_cryobench_run_records_its_protocol_its_metric_and_cryo_benchs_settings(
    data: Path, tmp_path: Path
) -> None:
    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(data, tmp_path, protocols=["cryobench"], fractions=[0.5])
    (result,) = run_experiment(spec, store=store, progress=False,
                               print_fn=lambda s: None).results
    assert result.protocol == "cryobench" and result.metric == "miou_cryobench"
    assert result.score == result.metrics["miou_cryobench"]
    assert "miou" in result.metrics and "iou_per_class_cryobench" in result.metrics
    config = result.config
    assert (config["epochs"], config["patience"], config["head"], config["band_policy"],
            config["input_size"]) == (1, None, "unet-pangaea", "cryobench", None)
    assert result.metrics["fraction_sampler"] == "cryobench"
    assert result.metrics["window"] == 40 and result.metrics["val_metric"] == "miou_cryobench"
    assert [v["epoch"] for v in result.metrics["validations"]] == [0, 1]
    eff = result.efficiency
    assert eff["input_shape"] == [1, 3, 40, 40]  # measured at the encoder's (native) size
    assert eff["gflops_convention"] == "fvcore (1 multiply-add = 1 FLOP)"
    notes = " ".join(result.notes)
    assert "protocol cryobench: Cryo-Bench/PANGAEA-Bench training" in notes
    assert "decoder unet-pangaea" in notes and "encoder trained" in notes


def test_one_grid_two_protocols_each_with_its_own_defaults_never_one_board(
    data: Path, tmp_path: Path
) -> None:
    from planetbench.errors import InvalidInputError
    from planetbench.report.leaderboards import stored_leaderboard

    store = ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")
    spec = _spec(data, tmp_path, protocols=["finetune", "cryobench"], input_size=32,
                 head_options={})
    results = run_experiment(spec, store=store, progress=False, print_fn=lambda s: None).results
    by_protocol = {r.protocol: r for r in results}
    assert by_protocol["finetune"].config["head"] == "upernet"
    assert by_protocol["finetune"].config["epochs"] == 1
    assert by_protocol["finetune"].config["patience"] == 10
    assert by_protocol["cryobench"].config["head"] == "unet-pangaea"
    assert by_protocol["cryobench"].config["patience"] is None
    assert by_protocol["finetune"].metric == "miou"
    with pytest.raises(InvalidInputError,
                       match="mix several protocol values; choose one with --protocol"):
        stored_leaderboard(store, suite="test", preset="cryo")
