"""Image-level protocols: Mars-Bench's mapping and transforms, classification and detection fits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.protocols.band_stats import Standardiser
from planetbench.protocols.classification import ClassificationProtocol
from planetbench.protocols.detection import DetectionProtocol, scaled_boxes
from planetbench.protocols.images import BestCheckpoint
from planetbench.protocols.mars import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    MARSBENCH_SEEDS,
    SCHEDULERS,
    augment_classification,
    augment_detection,
    imagenet_band_stats,
    protocol_of,
    resolve_loss,
    resolve_normalisation,
    search_space,
    training_type,
)
from planetbench.testing import TinyConvEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------------------------- Mars-Bench facts


def test_training_types_map_both_ways() -> None:
    assert {p: training_type(p) for p in ("frozen", "finetune", "scratch")} == {
        "frozen": "feature_extraction", "finetune": "transfer_learning",
        "scratch": "scratch_training"}
    assert protocol_of("feature_extraction") == "frozen"
    assert training_type("cryobench") is None
    with pytest.raises(InvalidInputError, match="did you mean 'transfer_learning'"):
        protocol_of("transfer_lerning")
    assert MARSBENCH_SEEDS == (0, 1, 10, 42, 123, 1000, 1234)


def test_imagenet_normalisation_is_albumentations_at_max_255() -> None:
    stats = imagenet_band_stats(3)
    image = torch.full((3, 2, 2), 200.0)
    got = Standardiser(stats)(image)[:, 0, 0]
    want = [(200.0 / 255.0 - m) / s for m, s in zip(IMAGENET_MEAN, IMAGENET_STD, strict=True)]
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)
    with pytest.raises(InvalidInputError, match=r"needs 3-band .* normalisation: band-stats"):
        imagenet_band_stats(1)


def test_auto_normalisation_follows_the_encoders_weights() -> None:
    from planetbench.encoders import get_encoder

    assert resolve_normalisation("auto", TinyConvEncoder().spec) == "band-stats"
    assert resolve_normalisation("auto", get_encoder("mb-resnet101").spec) == "imagenet"
    assert resolve_normalisation("band-stats", get_encoder("mb-resnet101").spec) == "band-stats"
    with pytest.raises(InvalidInputError, match="did you mean 'imagenet'"):
        resolve_normalisation("imagnet", TinyConvEncoder().spec)


def test_augmentations_are_seeded_and_move_boxes_with_the_image() -> None:
    image = torch.rand(3, 16, 16) * 255
    a = augment_classification(image, torch.Generator().manual_seed(3))
    b = augment_classification(image, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == image.shape
    # a box marks a bright patch; after any flip the patch is still inside the box
    img = torch.zeros(1, 20, 30)
    img[:, 2:6, 3:10] = 1.0
    boxes = torch.tensor([[3.0, 2.0, 10.0, 6.0]])
    for seed in range(8):
        out, moved = augment_detection(img, boxes, torch.Generator().manual_seed(seed))
        x0, y0, x1, y1 = (int(v) for v in moved[0])
        assert out[0, y0:y1, x0:x1].sum() == img.sum()


def test_losses_schedulers_and_search_space_per_kind() -> None:
    assert resolve_loss("default", "binary") == "bce"
    assert resolve_loss("ce", "binary") == "ce"
    with pytest.raises(InvalidInputError, match="loss 'bce' does not apply to multiclass"):
        resolve_loss("bce", "multiclass")
    with pytest.raises(UnknownNameError, match="did you mean 'cosine'"):
        SCHEDULERS.get("cosin")
    assert search_space("classification")["loss"] == ("bce", "ce")
    seg = search_space("segmentation")
    assert "optimizer" not in seg and seg["dice_weight"] == (0.0, 1.0)
    assert "loss" not in search_space("detection")
    assert search_space("multiclass")["lr"] == (1e-3, 1e-4, 1e-5)


def test_best_checkpoint_by_loss_uses_min_delta_for_stopping_only() -> None:
    module = torch.nn.Linear(1, 1)
    best = BestCheckpoint("loss", min_delta=0.1)
    for epoch, loss in enumerate([1.0, 0.95, 0.93, 0.5], start=1):
        module.weight.data.fill_(epoch)
        best.update(epoch, None, loss, module)
        if epoch == 3:
            assert best.since == 2 and best.epoch == 3  # kept, but not a real improvement
    assert best.epoch == 4 and best.since == 0
    assert best.state is not None and float(best.state["weight"]) == 4.0
    score = BestCheckpoint("score")
    for epoch, value in enumerate([0.2, None, 0.9, 0.9], start=1):
        score.update(epoch, value, None, module)
    assert score.epoch == 3 and score.since == 1


# ----------------------------------------------------------------------------- classification


def _toy_classification(n: int, seed: int, n_classes: int = 2, kind: str = "binary"
                        ) -> list[dict[str, Any]]:
    """Images whose brightness says the class (multi-label: two labels from two halves)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        label = i % n_classes
        image = rng.normal(60.0 + 120.0 * label / max(1, n_classes - 1), 8.0, (3, 32, 32))
        target: Any = label
        if kind == "multilabel":
            target = np.array([i % 2, (i // 2) % 2])
            image = rng.normal(60.0, 8.0, (3, 32, 32))
            image[:, :16] += 120.0 * target[0]
            image[:, 16:] += 120.0 * target[1]
        out.append({"id": f"s{i}", "image": image.astype(np.float32), "label": np.asarray(target)})
    return out


def _classifier(kind: str = "binary", n_classes: int = 2, **kw: Any) -> ClassificationProtocol:
    params: dict[str, Any] = dict(kind=kind, n_classes=n_classes, metric="accuracy"
                                  if kind != "multilabel" else "f1_weighted", lr=0.1,
                                  batch_size=8, epochs=10, patience=10, seed=0)
    params.update(kw)
    torch.manual_seed(0)  # the encoder's random weights
    return ClassificationProtocol(TinyConvEncoder(), **params)


def test_frozen_classification_learns_and_the_cache_changes_nothing() -> None:
    train, val, test = (_toy_classification(n, s) for n, s in ((24, 0), (8, 1), (8, 2)))
    cached = _classifier().fit(train, val)
    again = _classifier(cache="none").fit(train, val)
    assert cached.score(test)["accuracy"] == 1.0
    np.testing.assert_allclose([r.train_loss for r in cached.history_],
                               [r.train_loss for r in again.history_], rtol=1e-5)
    assert cached.notes()[-1].startswith("feature cache: pooled vectors")
    assert again.notes()[-1].startswith("feature cache: off (cache=none)")
    record = cached.fit_record()
    assert record["val_metric"] == "accuracy" and record["tested_checkpoint"].startswith("best")


@pytest.mark.parametrize("loss", ["bce", "ce"])
def test_binary_classification_with_one_or_two_logits(loss: str) -> None:
    train, val, test = (_toy_classification(n, s) for n, s in ((24, 0), (8, 1), (8, 2)))
    proto = _classifier(loss=loss, metric="f1").fit(train, val)
    metrics = proto.score(test)
    assert metrics["f1"] == 1.0 and metrics["f1_weighted_mb"] == 1.0
    head = proto.model_.head.layers[-1]  # type: ignore[union-attr]
    assert head.out_features == (1 if loss == "bce" else 2)


def test_multiclass_and_multilabel_classification_train_the_encoder_too() -> None:
    train, val, test = (_toy_classification(n, s, 3, "multiclass")
                        for n, s in ((30, 0), (9, 1), (9, 2)))
    proto = _classifier("multiclass", 3, train_encoder=True, metric="f1_weighted", lr=1e-2
                        ).fit(train, val)
    assert proto.score(test)["f1_weighted"] > 0.6
    assert any(p.requires_grad for p in proto.encoder.parameters())
    train, val, test = (_toy_classification(n, s, 2, "multilabel")
                        for n, s in ((32, 0), (8, 1), (8, 2)))
    proto = _classifier("multilabel", 2, normalisation="imagenet").fit(train, val)
    metrics = proto.score(test)
    assert metrics["f1_weighted"] > 0.6 and set(metrics["f1_per_class"]) == {"0", "1"}
    assert "ImageNet mean/std" in proto.notes()[0]


def test_same_seed_same_fit_other_seed_other_fit() -> None:
    train, val = _toy_classification(16, 0), _toy_classification(8, 1)
    runs = [_classifier(seed=s, epochs=2, augment=True).fit(train, val) for s in (5, 5, 6)]
    losses = [[r.train_loss for r in p.history_] for p in runs]
    assert losses[0] == losses[1] and losses[0] != losses[2]
    assert runs[0].notes()[-1].startswith("feature cache: off (augmentation")


def test_classification_errors_name_the_setting() -> None:
    data = _toy_classification(4, 0)
    with pytest.raises(InvalidInputError, match=r"cache='disk'.* memory, none"):
        _classifier(cache="disk").fit(data, data)
    with pytest.raises(InvalidInputError, match="loss 'bce' does not apply to multiclass"):
        _classifier("multiclass", 3, loss="bce").fit(data, data)
    with pytest.raises(InvalidInputError, match="patience=0 must be an int ≥ 1"):
        _classifier(patience=0).fit(data, data)
    with pytest.raises(UnknownNameError, match="did you mean 'adam' or 'adamw'"):
        _classifier(optimizer="adamv").fit(data, data)
    with pytest.raises(InvalidInputError, match="not fitted"):
        _classifier().score(data)
    with pytest.raises(InvalidInputError, match="the validation split is empty"):
        _classifier().fit(data, [])
    bad = [{"id": "x", "image": np.zeros((3, 32, 32), np.float32), "label": np.asarray(2)}] * 2
    with pytest.raises(InvalidInputError, match=r"label 2 is not a class id in 0\.\.1"):
        _classifier().fit(bad, bad)


# ---------------------------------------------------------------------------------- detection


def _toy_detection(n: int, seed: int) -> list[dict[str, Any]]:
    """Dark 64 px images with one or two bright squares (one class), every fourth without."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        image = rng.normal(40.0, 5.0, (3, 64, 64)).astype(np.float32)
        boxes = []
        for _ in range(0 if i % 4 == 3 else int(rng.integers(1, 3))):
            s = int(rng.integers(14, 24))
            x, y = (int(v) for v in rng.integers(0, 64 - s, 2))
            image[:, y:y + s, x:x + s] = 220.0
            boxes.append([x, y, x + s, y + s])
        out.append({"id": f"d{i}", "image": image,
                    "boxes": np.asarray(boxes, np.float32).reshape(-1, 4),
                    "labels": np.zeros(len(boxes), np.int64)})
    return out


def test_detection_trains_and_scores_resized_boxes() -> None:
    train, val, test = _toy_detection(12, 0), _toy_detection(4, 1), _toy_detection(4, 2)
    options = {"out_channels": 32, "anchor_scale": 0.5}
    proto = DetectionProtocol(TinyConvEncoder(), n_classes=1, class_names=("square",),
                              metric="map", head="fcos", head_options=options, lr=3e-3,
                              batch_size=4, epochs=8, patience=8, input_size=64, seed=0,
                              train_encoder=True)
    proto.fit(train, val)
    metrics = proto.score(test)
    assert metrics["map_50"] is not None and metrics["map_50"] > 0.3
    assert set(metrics["map_per_class"]) == {"square"}
    boxes, labels, dropped = scaled_boxes(
        {"image": np.zeros((3, 20, 40)), "boxes": np.array([[4, 2, 8, 10], [5, 5, 5, 9]]),
         "labels": np.array([0, 0])}, 10, 1, "x")
    assert boxes.tolist() == [[1.0, 1.0, 2.0, 5.0]] and labels.tolist() == [1] and dropped == 1


def test_detection_errors() -> None:
    data = _toy_detection(2, 0)
    with pytest.raises(InvalidInputError, match="head_options may not set min_size"):
        DetectionProtocol(TinyConvEncoder(), n_classes=1, metric="map",
                          head_options={"min_size": 10}).fit(data, data)
    with pytest.raises(UnknownNameError, match="did you mean 'retinanet'"):
        DetectionProtocol(TinyConvEncoder(), n_classes=1, metric="map", head="retinanett"
                          ).fit(data, data)
    bad = [{"id": "b", "image": np.zeros((3, 8, 8), np.float32),
            "boxes": np.array([[0, 0, 4, 4]]), "labels": np.array([3])}]
    with pytest.raises(InvalidInputError, match=r"box labels \[3\] are not class indices 0..0"):
        DetectionProtocol(TinyConvEncoder(), n_classes=1, metric="map").fit(bad, bad)
