"""Mars-Bench's whole-model baselines (segmenters and detectors) in `planetbench run` and search:
built as Mars-Bench builds them, trained under its training types, stored beside encoders, and
refused clearly where they do not fit."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import planetbench.cli.dense  # noqa: F401  (registers `run`)
from planetbench.cli import app
from planetbench.config import ExperimentSpec, validate_config
from planetbench.encoders import build_encoder, get_encoder, list_encoders, list_whole_models
from planetbench.errors import InvalidInputError
from planetbench.protocols.mars import WHOLE_SEGMENTATION_LOSSES, search_space
from planetbench.protocols.whole_models import generalized_dice_loss, segmentation_loss
from planetbench.runs.preflight import GridError
from planetbench.runs.runner import run_experiment
from planetbench.runs.search import SearchSettings, resolve_space
from planetbench.store import ResultStore
from planetbench.testing_mars import write_mars_fake

HAS_SMP = importlib.util.find_spec("segmentation_models_pytorch") is not None
needs_smp = pytest.mark.skipif(not HAS_SMP, reason="segmentation_models_pytorch is not installed "
                               "(pip install 'planetbench[mars]')")


@pytest.fixture(scope="module")
def mars_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("mars-whole")
    write_mars_fake(root, "mb-boulder_det", n_per_split=4, size=32)
    write_mars_fake(root, "mb-conequest_seg", n_per_split=4, size=32)
    write_mars_fake(root, "mb-frost_cls", n_per_split=4, size=32)
    return root


def _spec(root: Path, tmp_path: Path, encoder: str, task: str, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=[encoder], tasks=[task], protocols=["frozen"], root=str(root), input_size=64,
        epochs=2, patience=2, batch_size=2, latency_repeats=1, lrs=[1e-3],
        fraction_dir=str(tmp_path / "fractions"), num_threads=1,
        encoder_options={encoder: {"tiny": True}},
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def _run(spec: ExperimentSpec, tmp_path: Path, name: str = "r") -> Any:
    store = ResultStore(f"sqlite:///{tmp_path / f'{name}.sqlite'}")
    return run_experiment(spec, store=store, progress=False, print_fn=lambda _: None), store


# ------------------------------------------------------------------------------ registration


def test_whole_models_are_registered_apart_from_the_encoders() -> None:
    wholes = list_whole_models()
    assert set(wholes) == {"mb-unet", "mb-deeplabv3plus", "mb-segformer", "mb-dpt",
                           "mb-faster-rcnn", "mb-retinanet", "mb-ssd"}
    assert not set(wholes) & set(list_encoders())
    kinds = {n: get_encoder(n).spec.whole_model for n in wholes}
    assert kinds["mb-unet"] == "segmentation" and kinds["mb-ssd"] == "detection"
    with pytest.raises(InvalidInputError, match=r"whole segmentation model.*planetbench run"):
        build_encoder("mb-unet", tiny=True)


# --------------------------------------------------------------------------------- detection


@pytest.mark.parametrize("protocol,ttype", [("frozen", "feature_extraction"),
                                            ("scratch", "scratch_training")])
def test_a_whole_detector_runs_as_mars_bench_trains_it(
        mars_root: Path, tmp_path: Path, protocol: str, ttype: str) -> None:
    spec = _spec(mars_root, tmp_path, "mb-ssd", "mb-boulder_det", protocols=[protocol])
    summary, store = _run(spec, tmp_path)
    (result,) = summary.results
    assert result.model == "mb-ssd (tiny)" and result.metric == "map"
    assert result.metrics["training_type"] == ttype
    assert result.metrics["head"] == "(whole model)"
    assert result.metrics["marsbench_metric"] == "map" and result.metrics["map_50"] is not None
    assert any("Mars-Bench's ssd" in n and ttype in n for n in result.notes)
    assert (any("BatchNorm statistics update" in n for n in result.notes)
            == (ttype == "feature_extraction"))
    eff = result.efficiency
    assert 0 < eff["encoder_params"] < eff["params"]
    assert eff["head_params"] == eff["params"] - eff["encoder_params"]
    assert len(store) == 1


def test_frozen_detector_backbone_does_not_change_but_its_heads_do(mars_root: Path) -> None:
    from planetbench.protocols.detection import DetectionProtocol
    from planetbench.tasks import get_task

    task = get_task("mb-boulder_det")
    encoder = get_encoder("mb-faster-rcnn").factory(tiny=True)
    proto = DetectionProtocol.from_task(task.spec, encoder, epochs=1, batch_size=2,
                                        input_size=64, lr=1e-2, seed=0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        before = {k: v.clone() for k, v in proto.build_model().state_dict().items()}
    train, val = (task.load(str(mars_root), s) for s in ("train", "val"))
    proto.fit(train, val)
    after = proto.model_.state_dict()
    assert before.keys() == after.keys()
    params = {k for k, _ in proto.model_.named_parameters()}
    body = [k for k in params if ".backbone.body." in k]
    heads = [k for k in params if ".roi_heads." in k]
    assert body and all(torch.equal(before[k], after[k]) for k in body)  # same seed, frozen
    assert any(not torch.equal(before[k], after[k]) for k in heads)
    # as in Mars-Bench, the frozen backbone trains in train mode: its BatchNorm statistics move
    stats = [k for k in before if ".backbone.body." in k and k.endswith("running_mean")]
    assert stats and any(not torch.equal(before[k], after[k]) for k in stats)


# ------------------------------------------------------------------------------ segmentation


@needs_smp
def test_a_whole_segmenter_runs_with_both_metrics_and_its_loss(
        mars_root: Path, tmp_path: Path) -> None:
    spec = _spec(mars_root, tmp_path, "mb-unet", "mb-conequest_seg",
                 loss="combined", optimizer="sgd", scheduler="cosine", augment=True)
    summary, _ = _run(spec, tmp_path)
    (result,) = summary.results
    assert result.metric == "miou" and result.metrics["marsbench_metric"] == "iou_mb"
    assert result.metrics["iou_mb"] is not None and result.metrics["miou"] is not None
    assert result.metrics["training_type"] == "feature_extraction"
    assert "loss combined" in result.notes
    assert result.config["loss"] == "combined" and result.config["optimizer"] == "sgd"
    again, _ = _run(spec, tmp_path, "again")
    assert again.results[0].score == result.score  # same seed, same score
    assert again.results[0].metrics["history"] == result.metrics["history"] or all(
        a["train_loss"] == b["train_loss"]
        for a, b in zip(again.results[0].metrics["history"], result.metrics["history"],
                        strict=True))


@needs_smp
def test_a_whole_segmenter_records_the_weights_file_it_loaded(
        mars_root: Path, tmp_path: Path) -> None:
    import hashlib

    from planetbench.heads.marsbench_seg import build_marsbench_segmenter

    donor = build_marsbench_segmenter("unet", n_classes=2, tiny=True, weights="none")
    path = tmp_path / "unet-encoder.pt"
    torch.save(donor.model.encoder.state_dict(), path)
    spec = _spec(mars_root, tmp_path, "mb-unet", "mb-conequest_seg", epochs=1,
                 weights={"mb-unet": str(path)})
    summary, _ = _run(spec, tmp_path, "weighted")
    (result,) = summary.results
    record = result.metrics["weights"]
    assert record["origin"] == "file" and record["path"] == str(path)
    assert record["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert record["n_tensors"] == len(donor.model.encoder.state_dict())
    random_run, _ = _run(_spec(mars_root, tmp_path, "mb-unet", "mb-conequest_seg", epochs=1),
                         tmp_path, "random")
    assert random_run.results[0].metrics["weights"] is None  # tiny: random, recorded as such


@needs_smp
def test_frozen_segmenter_trains_decoder_only(mars_root: Path) -> None:
    from planetbench.protocols.whole_models import SegmentationModelProtocol
    from planetbench.tasks import get_task

    task = get_task("mb-conequest_seg")
    encoder = get_encoder("mb-unet").factory(tiny=True)
    proto = SegmentationModelProtocol.from_task(task.spec, encoder, epochs=1, batch_size=2,
                                                input_size=64, lr=1e-2, seed=0)
    train, val = (task.load(str(mars_root), s) for s in ("train", "val"))
    proto.fit(train, val)
    model: Any = proto.model_
    assert not any(p.requires_grad for p in model.model.encoder.parameters())
    assert all(p.requires_grad for p in model.model.decoder.parameters())
    assert proto.encoder_parameters() == sum(p.numel() for p in model.model.encoder.parameters())


# ------------------------------------------------------------------------------------ losses


def test_generalized_dice_by_hand() -> None:
    logits = torch.zeros(1, 2, 1, 2)  # softmax 0.5 / 0.5 everywhere
    s = 1e-5
    both = torch.tensor([[[0, 1]]])
    # one pixel per class: w = 1; I = 0.5 + 0.5; U = (1 + 1) + (1 + 1)
    expected = 1 - (2 * 1.0 + s) / (4.0 + s)
    for weighting in ("square", "simple", "uniform"):
        got = float(generalized_dice_loss(logits, both, weighting))
        assert got == pytest.approx(expected, rel=1e-6)
    only_zero = torch.tensor([[[0, 0]]])
    # class 0: n = 2, I = 1, U = 1 + 2; class 1: n = 0 → clamped to s, I = 0, U = 1
    for weighting, w in (("square", (1 / 4, 1 / s**2)), ("simple", (1 / 2, 1 / s)),
                         ("uniform", (1.0, 1.0))):
        expected = 1 - (2 * w[0] * 1.0 + s) / (w[0] * 3.0 + w[1] * 1.0 + s)
        got = float(generalized_dice_loss(logits, only_zero, weighting))
        assert got == pytest.approx(expected, rel=1e-5)
    with pytest.raises(InvalidInputError, match="weight_type 'linear'"):
        generalized_dice_loss(logits, both, "linear")


def test_square_weighted_dice_saturates_when_a_class_is_absent_from_the_batch() -> None:
    """Mars-Bench's quirk, kept under its loss names: an absent class gets the weight 1/s² and
    its softmax mass in the union swamps the rest, so the loss is ≈ 1 with almost no gradient."""
    gen = torch.Generator().manual_seed(0)
    target = torch.randint(0, 2, (2, 8, 8), generator=gen)  # classes 0 and 1; class 2 absent
    logits = (torch.randn(2, 3, 8, 8, generator=gen)
              + 3 * torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2)).requires_grad_()
    square = generalized_dice_loss(logits, target, "square")
    square.backward()
    assert float(square.detach()) == pytest.approx(1.0, abs=1e-6)
    assert logits.grad is not None and float(logits.grad.abs().max()) < 1e-6
    assert float(generalized_dice_loss(logits.detach(), target, "uniform")) < 0.5  # no swamping
    present = torch.cat([target, torch.full((1, 8, 8), 2)])  # class 2 present somewhere
    logits3 = torch.cat([logits.detach(), torch.zeros(1, 3, 8, 8)])
    assert float(generalized_dice_loss(logits3, present, "square")) < 0.9


def test_ignored_pixels_count_as_absent_and_combined_adds_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 4, 4, generator=gen)
    target = torch.randint(0, 3, (2, 4, 4), generator=gen)
    masked = target.clone()
    masked[0, 0, :] = 255
    kept = masked != 255
    full = generalized_dice_loss(logits, masked, "simple", ignore_index=255)
    # the same sums over the kept pixels only
    probs = logits.softmax(1).permute(0, 2, 3, 1)[kept]
    onehot = torch.nn.functional.one_hot(target[kept], 3).float()
    w = 1 / onehot.sum(0).clamp(min=1e-5)
    by_hand = 1 - (2 * (w * (probs * onehot).sum(0)).sum() + 1e-5) / (
        (w * (probs + onehot).sum(0)).sum() + 1e-5)
    assert float(full) == pytest.approx(float(by_hand), rel=1e-5)
    combined = segmentation_loss("combined", logits, target)
    ce = torch.nn.functional.cross_entropy(logits, target)
    assert float(combined) == pytest.approx(float(ce + generalized_dice_loss(logits, target)),
                                            rel=1e-6)


# ------------------------------------------------------------------------------------ search


def test_search_space_of_a_whole_segmenter_is_mars_benchs_whole_space() -> None:
    whole = search_space("segmentation", whole_model=True)
    assert whole["loss"] == WHOLE_SEGMENTATION_LOSSES
    assert whole["optimizer"] == ("adam", "adamw", "sgd") and "scheduler" in whole
    assert "dice_weight" not in whole
    dense = search_space("segmentation")
    assert "optimizer" not in dense and "loss" not in dense and "dice_weight" in dense
    settings = SearchSettings.model_validate({"space": {"loss": ["ce", "combined"]}})
    assert resolve_space("segmentation", settings, whole_model=True)["loss"] == ("ce", "combined")
    with pytest.raises(Exception, match="loss cannot vary for segmentation"):
        resolve_space("segmentation", settings)


# ---------------------------------------------------------------------------------- refusals


def test_whole_models_are_refused_where_they_do_not_fit(mars_root: Path, tmp_path: Path) -> None:
    from tests.runs.test_preflight import _problems

    wrong_kind = _spec(mars_root, tmp_path, "mb-faster-rcnn", "mb-conequest_seg")
    text = "\n".join(_problems(wrong_kind, tmp_path))
    assert ("'mb-faster-rcnn' is Mars-Bench's whole detection model; task 'mb-conequest_seg' "
            "is a segmentation task") in text
    on_cls = _spec(mars_root, tmp_path, "mb-unet", "mb-frost_cls")
    assert "task 'mb-frost_cls' is a classification task" in "\n".join(
        _problems(on_cls, tmp_path))
    with_head = _spec(mars_root, tmp_path, "mb-ssd", "mb-boulder_det", head="retinanet")
    assert "remove head 'retinanet'" in "\n".join(_problems(with_head, tmp_path))
    bad_loss = _spec(mars_root, tmp_path, "mb-unet", "mb-conequest_seg", loss="dice")
    assert "loss 'dice' does not apply to segmentation tasks; use one of default, ce, " \
           "generalized_dice" in "\n".join(_problems(bad_loss, tmp_path))
    with pytest.raises(GridError, match="whole detection model"):
        _run(wrong_kind, tmp_path)


def test_a_missing_smp_is_named_with_the_extra(mars_root: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "segmentation_models_pytorch"
                        else real(name, *a))
    spec = _spec(mars_root, tmp_path, "mb-segformer", "mb-conequest_seg")
    with pytest.raises(GridError, match=r"needs segmentation_models_pytorch.*planetbench\[mars\]"):
        _run(spec, tmp_path)


def test_cli_refuses_a_whole_model_on_the_wrong_kind_with_exit_2(
        mars_root: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [
        "run", "--encoder", "mb-unet", "--task", "mb-boulder_det", "--root", str(mars_root),
        "--store", f"sqlite:///{tmp_path / 'cli.sqlite'}",
    ], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "whole segmentation model" in result.output
    assert "Traceback" not in result.output


# ------------------------------------------------------------------------------- efficiency


@needs_smp
def test_efficiency_of_a_whole_segmenter_counts_its_encoder_and_decoder() -> None:
    from planetbench.heads.marsbench_seg import build_marsbench_segmenter
    from planetbench.runs.efficiency import efficiency_of

    eff = efficiency_of("mb-unet", "mb-conequest_seg", input_size=64, latency=False)
    smp_model = build_marsbench_segmenter("unet", n_classes=2, training_type="scratch_training",
                                          weights="none").model
    encoder = sum(p.numel() for p in smp_model.encoder.parameters())
    total = sum(p.numel() for p in smp_model.parameters())
    assert eff["encoder_params_m"] * 1e6 == pytest.approx(encoder)
    assert eff["params_m"] * 1e6 == pytest.approx(total)
    assert eff["decoder"] == "(whole model)" and eff["input_size"] == 64
    # a ResNet-34 U-Net at 64 px: more than the encoder's 3.6 GFLOPs at 224 scaled by (64/224)²
    assert 0.25 < eff["gflops"] < 2.0
    with pytest.raises(InvalidInputError, match="whole detection model"):
        efficiency_of("mb-ssd", "mb-conequest_seg", latency=False)
    with pytest.raises(InvalidInputError, match="drop --protocol"):
        efficiency_of("mb-unet", "mb-conequest_seg", protocol="cryobench", latency=False)
    with pytest.raises(InvalidInputError, match="divisible by 32"):
        efficiency_of("mb-unet", "mb-conequest_seg", input_size=100, latency=False)
