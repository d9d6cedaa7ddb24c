"""Runs that check first and fit the machine: protocol defaults, --weights, the memory preflight,
leaderboards that never mix protocols, learning-rate tuning reported both ways."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch

from planetbench.config import DenseRunConfig, ExperimentSpec, validate_config
from planetbench.errors import InvalidInputError
from planetbench.runs.identity import file_sha256, planned_run_key, resolve_run, run_config_hash
from planetbench.runs.lr_tune import OPTIMISTIC, lr_tuning
from planetbench.runs.memory import MemoryEstimate, estimate_training_memory, smaller_settings
from planetbench.runs.preflight import GridError
from planetbench.runs.runner import run_experiment
from planetbench.store import Result, ResultStore
from planetbench.testing import TinyConvEncoder, write_tiny_segmentation

pytestmark = pytest.mark.usefixtures("tiny_dense_registry")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 4, "val": 2, "test": 2})


def _spec(data: Path, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["tiny-conv"], tasks=["tiny-seg"], protocols=["frozen"], root=str(data),
        input_size=32, epochs=1, batch_size=2, head="linear", latency_repeats=1,
        fraction_dir=str(tmp_path / "fractions"), num_threads=1,
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def _store(tmp_path: Path) -> ResultStore:
    return ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")


# ---------------------------------------------------------------------------- protocol defaults


def test_unset_settings_take_the_protocols_defaults_and_old_hashes_stay() -> None:
    run = DenseRunConfig(encoder="unet", task="glid", root="/data", protocol="finetune", lr=1e-3,
                         seed=2, encoder_options={"unet": {"channels": [8, 16, 32, 64]}})
    resolved = resolve_run(run)
    assert (resolved.input_size, resolved.epochs, resolved.patience, resolved.head,
            resolved.band_policy) == (512, 50, 10, "upernet", "auto")
    # the config hashes of 0.1/0.2 runs (computed at 173eaec, before settings could be unset)
    assert run_config_hash(run) == run_config_hash(resolved) == "b76454e6f8ac4d23"
    other = DenseRunConfig(encoder="dofa-base", task="caffe", epochs=20, input_size=256)
    assert run_config_hash(other) == "85363cfc56db301d"
    cryo = resolve_run(DenseRunConfig(encoder="unet-cryobench", task="glid", protocol="cryobench"))
    assert (cryo.input_size, cryo.epochs, cryo.patience, cryo.head, cryo.band_policy) == (
        None, 80, None, "unet-pangaea", "cryobench")
    assert resolve_run(DenseRunConfig(encoder="x", task="y", protocol="nope")).epochs == 50


def test_cryobench_settings_that_change_the_reproduction_are_refused_before_any_run(
    data: Path, tmp_path: Path
) -> None:
    spec = _spec(data, tmp_path, protocols=["cryobench"], head=None, input_size=None,
                 patience=3, band_policy="match")
    with pytest.raises(GridError) as info:
        run_experiment(spec, store=_store(tmp_path), progress=False, print_fn=lambda s: None)
    text = str(info.value)
    assert "protocol 'cryobench', encoder 'tiny-conv': patience=3" in text
    assert "band_policy='match'" in text and "remove patience" in text


# -------------------------------------------------------------------------------------- weights


def test_a_weights_file_is_loaded_and_identifies_the_run(data: Path, tmp_path: Path) -> None:
    from planetbench.encoders import build_encoder
    from planetbench.tasks.bands import RGB

    trained = build_encoder("unet", in_bands=RGB, tiny=True, seed=3, device="cpu")
    path = tmp_path / "unet-trained.pt"
    torch.save(trained.state_dict(), path)
    common: dict[str, Any] = dict(encoders=["unet"], encoder_options={"unet": {"tiny": True}},
                                  protocols=["finetune"])
    plain = _spec(data, tmp_path, **common)
    given = _spec(data, tmp_path, weights={"unet": str(path)}, **common)
    assert run_config_hash(plain.runs()[0]) == run_config_hash(given.runs()[0])
    key = planned_run_key(given.runs()[0])
    assert key != planned_run_key(plain.runs()[0])  # the file's sha256 is in the run key
    (result,) = run_experiment(given, store=_store(tmp_path), progress=False,
                               print_fn=lambda s: None).results
    assert result.run_key == key and result.input_sha256 == file_sha256(str(path))
    assert result.metrics["weights"]["origin"] == "file"
    missing = _spec(data, tmp_path, weights={"unet": str(tmp_path / "nope.pt")}, **common)
    with pytest.raises(GridError, match=r"does not exist; fix the path given with --weights "
                                        r"unet=PATH"):
        run_experiment(missing, store=_store(tmp_path), progress=False, print_fn=lambda s: None)
    with pytest.raises(Exception, match="weights names \\['vit'\\], which are not in encoders"):
        _spec(data, tmp_path, weights={"vit": str(path)}, **common)


def test_weights_that_cannot_be_downloaded_name_the_flag_of_run(data: Path,
                                                                tmp_path: Path) -> None:
    spec = _spec(data, tmp_path, encoders=["resnet50"], head=None)
    with pytest.raises(GridError) as info:  # offline: the download is refused
        run_experiment(spec, store=_store(tmp_path), progress=False, print_fn=lambda s: None)
    assert "planetbench run takes a local file with --weights resnet50=PATH" in str(info.value)


# --------------------------------------------------------------------------------------- memory


def test_memory_estimate_scales_with_batch_and_side_and_counts_the_cache() -> None:
    torch.manual_seed(0)
    encoder = TinyConvEncoder()
    from planetbench.heads import build_head

    with torch.device("meta"):
        head = build_head("linear", in_channels=encoder.spec.feature_channels,
                          in_strides=encoder.spec.feature_strides, n_classes=2)

    def est(b: int, s: int, trains: bool = True, cached: int = 0) -> MemoryEstimate:
        return estimate_training_memory(encoder, head, n_channels=3, batch_size=b, side=s,
                                        trains_encoder=trains, cached_images=cached)

    a, b, c = est(2, 32), est(4, 32), est(2, 64)
    # a conv encoder and a linear head: activations grow linearly in the batch and the pixels
    assert b.activations == pytest.approx(2 * a.activations, rel=0.01)
    assert c.activations == pytest.approx(4 * a.activations, rel=0.01)
    assert b.weights == a.weights > 0
    frozen = est(2, 32, trains=False)
    assert frozen.activations < a.activations  # a frozen encoder keeps nothing for backward
    per_image = sum(c * (32 // s) ** 2 for c, s in zip(encoder.spec.feature_channels,
                                                       encoder.spec.feature_strides,
                                                       strict=True)) * 2
    assert est(2, 32, trains=False, cached=10).cache == 10 * per_image
    # 8 × 128 px needs 16 × the activations of 8 × 32 px: a quarter of the side fits, no batch
    fits = smaller_settings(est, batch_size=8, side=128, budget=est(8, 32).total, stride=32)
    assert [(k, v) for k, v, _ in fits] == [("input_size", 32)]
    fits = smaller_settings(est, batch_size=8, side=32, budget=est(2, 32).total, stride=32)
    assert [(k, v) for k, v, _ in fits] == [("batch_size", 2)]


def test_a_run_that_would_not_fit_is_refused_with_settings_that_would(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.runs.memory as memory

    monkeypatch.setattr(memory, "available_memory",
                        lambda device: (1024**2, "available RAM (test)"))
    spec = _spec(data, tmp_path, head="upernet", head_options={"channels": 8}, input_size=64,
                 batch_size=8)
    store = _store(tmp_path)
    with pytest.raises(GridError) as info:
        run_experiment(spec, store=store, progress=False, print_fn=lambda s: None)
    text = str(info.value)
    assert "encoder 'tiny-conv' on task 'tiny-seg' (protocol frozen, batch 8 × 64 px)" in text
    assert "a training step needs about" in text and "of available RAM (test) here" in text
    assert "it fits with --input-size" in text and "--no-memory-check" in text
    assert len(store) == 0
    unchecked = _spec(data, tmp_path, head="linear", memory_check=False)
    run_experiment(unchecked, store=store, progress=False, print_fn=lambda s: None)
    assert len(store) == 1


# ---------------------------------------------------------------------- leaderboards and lr tune


def _stored(model: str, task: str, score: float, protocol: str, **kw: Any) -> Result:
    metric = "miou_cryobench" if protocol == "cryobench" else "miou"
    return Result(model=model, task=task, protocol=protocol, metric=metric, score=score,
                  suite="cryo", seed=kw.pop("seed", 0), fraction=1.0, **kw)


def test_the_cryo_leaderboard_never_mixes_protocols(tmp_path: Path) -> None:
    from planetbench.report.formats import format_leaderboard
    from planetbench.report.leaderboards import stored_leaderboard

    store = _store(tmp_path)
    store.add_many([_stored("a", "glid", 0.8, "frozen"), _stored("b", "glid", 0.7, "frozen"),
                    _stored("a", "glid", 0.6, "cryobench"), _stored("b", "glid", 0.9,
                                                                    "cryobench")])
    with pytest.raises(InvalidInputError, match=r"mix several protocol values; choose one with "
                                                r"--protocol \(cryobench \| frozen\)"):
        stored_leaderboard(store, suite="cryo", preset="cryo")
    board = stored_leaderboard(store, suite="cryo", preset="cryo", protocol="cryobench")
    assert list(board["model"]) == ["b", "a"]
    assert board.attrs["protocol"] == "cryobench"
    (tmp_path / "frozen").mkdir()
    only_frozen = _store(tmp_path / "frozen")
    only_frozen.add_many([_stored("a", "glid", 0.8, "frozen"), _stored("b", "glid", 0.7, "frozen")])
    board = stored_leaderboard(only_frozen, suite="cryo", preset="cryo")  # protocol not given:
    assert board.attrs["title"].endswith("preset cryo, protocol frozen")  # the board names it
    assert board.attrs["notes"][0] == "protocol: frozen (every run of this board)"
    assert "protocol: frozen" in format_leaderboard(board, "md")


def test_lr_tuning_reports_the_validation_choice_and_the_optimistic_test_max() -> None:
    rows = pd.DataFrame([
        {"model": "m", "task": "glid", "protocol": "cryobench", "fraction": 1.0,
         "metric": "miou_cryobench", "lr": lr, "seed": seed, "score": test,
         "metrics": {"val_miou": val}}
        for lr, seed, val, test in [(1e-4, 0, 0.6, 0.50), (1e-4, 1, 0.8, 0.54),
                                    (1e-3, 0, 0.5, 0.70), (1e-3, 1, 0.6, 0.72),
                                    (1e-2, 0, 0.7, 0.40), (1e-2, 1, 0.7, 0.44)]
    ])
    (row,) = lr_tuning(rows).to_dict(orient="records")
    assert row["n_lrs"] == 3
    assert row["lr_val"] == 1e-4 and row["test_at_lr_val"] == pytest.approx(0.52)  # val ties 0.7:
    assert row["lr_test_max"] == 1e-3 and row["test_max"] == pytest.approx(0.71)  # smaller lr
    assert row["test_max_note"] == OPTIMISTIC == "optimistic: chosen on the test split"
    assert lr_tuning(rows[rows["lr"] == 1e-3]).empty  # one rate: nothing to tune
