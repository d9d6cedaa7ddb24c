"""Segmentation metrics against a hand-computed confusion matrix and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import jaccard_score
from torchmetrics import classification as tm

from planetbench.errors import InvalidInputError
from planetbench.metrics.segmentation import (
    SegmentationMeter,
    confusion_matrix,
    metrics_from_confusion,
)

IGNORE = 255
# Two ignored pixels are predicted as class 1: they must count for nothing.
PRED = np.array([0, 1, 1, 2, 0, 1])
TARGET = np.array([0, 1, IGNORE, 2, 2, IGNORE])


def test_confusion_matrix_by_hand_drops_ignored_pixels() -> None:
    cm = confusion_matrix(PRED, TARGET, 3, IGNORE)
    # kept (target, pred) pairs: (0,0) (1,1) (2,2) (2,0)
    assert cm.tolist() == [[1, 0, 0], [0, 1, 0], [1, 0, 1]]


def test_metrics_by_hand() -> None:
    m = metrics_from_confusion(confusion_matrix(PRED, TARGET, 3, IGNORE), ("a", "b", "c"))
    # IoU: a = 1/(1+1+0), b = 1/1 (the ignored class-1 predictions are NOT false positives),
    # c = 1/(1+0+1)
    assert m["iou_per_class"] == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert m["miou"] == pytest.approx(2 / 3)
    # F1: a = 2/(2+1), b = 1, c = 2/(2+1)
    assert m["f1_macro"] == pytest.approx(7 / 9)
    assert m["pixel_accuracy"] == pytest.approx(3 / 4)
    assert m["n_pixels"] == 4


def test_class_absent_from_target_and_prediction_is_excluded() -> None:
    m = metrics_from_confusion(confusion_matrix(PRED, TARGET, 4, IGNORE))
    assert m["iou_per_class"]["3"] is None
    assert m["f1_per_class"]["3"] is None
    assert m["miou"] == pytest.approx(2 / 3)


def test_class_only_predicted_counts_as_zero() -> None:
    m = metrics_from_confusion(confusion_matrix(np.array([0, 1]), np.array([0, 0]), 2))
    assert m["iou_per_class"] == {"0": 0.5, "1": 0.0}
    assert m["miou"] == pytest.approx(0.25)


def test_matches_sklearn_on_random_maps() -> None:
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, size=(3, 16, 16))
    target[rng.random(target.shape) < 0.2] = IGNORE
    pred = rng.integers(0, 4, size=(3, 16, 16))
    keep = target != IGNORE
    cm = confusion_matrix(pred, target, 4, IGNORE)
    np.testing.assert_array_equal(cm, sk_confusion(target[keep], pred[keep], labels=range(4)))
    ref = jaccard_score(target[keep], pred[keep], labels=range(4), average=None)
    got = metrics_from_confusion(cm)["iou_per_class"]
    np.testing.assert_allclose([got[str(i)] for i in range(4)], ref)


def test_meter_accumulates_batches_and_takes_logits() -> None:
    rng = np.random.default_rng(1)
    target = torch.as_tensor(rng.integers(0, 3, size=(4, 8, 8)))
    logits = torch.as_tensor(rng.normal(size=(4, 3, 8, 8)))
    meter = SegmentationMeter(3, IGNORE)
    meter.update(logits[:2], target[:2])
    meter.update(logits[2:], target[2:])
    whole = confusion_matrix(logits.argmax(1), target, 3, IGNORE)
    np.testing.assert_array_equal(meter.confusion(), whole)
    assert meter.compute()["miou"] == metrics_from_confusion(whole)["miou"]
    meter.reset()
    assert meter.confusion().sum() == 0


def test_errors() -> None:
    with pytest.raises(InvalidInputError, match="pred has shape"):
        confusion_matrix(np.zeros(3), np.zeros(4), 2)
    with pytest.raises(InvalidInputError, match="class id 7"):
        confusion_matrix(np.zeros(2), np.array([0, 7]), 2, IGNORE)
    with pytest.raises(InvalidInputError, match="pred contains class ids"):
        confusion_matrix(np.array([0, 5]), np.array([0, 1]), 2)
    with pytest.raises(InvalidInputError, match="n_classes must be"):
        confusion_matrix(np.zeros(2), np.zeros(2), 0)
    with pytest.raises(InvalidInputError, match="square"):
        metrics_from_confusion(np.zeros((2, 3)))
    with pytest.raises(InvalidInputError, match="class_names has 1 names"):
        metrics_from_confusion(np.eye(2), ("a",))


def test_all_ignored_gives_none() -> None:
    m = metrics_from_confusion(confusion_matrix(np.array([0]), np.array([IGNORE]), 2, IGNORE))
    assert m["miou"] is None and m["pixel_accuracy"] is None


def test_matches_torchmetrics_with_an_absent_class() -> None:
    """torchmetrics is the reference: per-class IoU and F1, their macro means (classes absent
    from target and prediction alike are left out of both), and pixel accuracy."""
    rng = np.random.default_rng(2)
    k = 5
    target = torch.as_tensor(rng.integers(0, 4, size=(4, 12, 12)))  # class 4 never occurs
    target[torch.as_tensor(rng.random(target.shape) < 0.15)] = IGNORE
    logits = torch.as_tensor(rng.normal(size=(4, k, 12, 12)))
    logits[:, 4] = -10.0  # nor is it predicted
    meter = SegmentationMeter(k, IGNORE)
    for i in range(0, 4, 2):
        meter.update(logits[i : i + 2], target[i : i + 2])
    ours = meter.compute()
    pred = logits.argmax(1)
    reference = {
        "iou": tm.MulticlassJaccardIndex(k, average=None, ignore_index=IGNORE)(pred, target),
        "miou": tm.MulticlassJaccardIndex(k, average="macro", ignore_index=IGNORE)(pred, target),
        "f1": tm.MulticlassF1Score(k, average=None, ignore_index=IGNORE)(pred, target),
        "f1_macro": tm.MulticlassF1Score(k, average="macro", ignore_index=IGNORE)(pred, target),
        "pixel_accuracy": tm.MulticlassAccuracy(k, average="micro", ignore_index=IGNORE)(pred,
                                                                                         target),
    }
    np.testing.assert_allclose([ours["iou_per_class"][str(c)] for c in range(4)],
                               reference["iou"][:4].numpy(), rtol=1e-6)
    np.testing.assert_allclose([ours["f1_per_class"][str(c)] for c in range(4)],
                               reference["f1"][:4].numpy(), rtol=1e-6)
    assert ours["iou_per_class"]["4"] is None  # torchmetrics says 0 and leaves it out of the mean
    for name in ("miou", "f1_macro", "pixel_accuracy"):
        assert ours[name] == pytest.approx(float(reference[name]), rel=1e-6), name


# ------------------------------------------------------------ Cryo-Bench's (PANGAEA's) convention


def test_cryobench_miou_counts_every_class_with_eps_in_the_denominator() -> None:
    from planetbench.metrics.segmentation import cryobench_metrics_from_confusion

    # targets (rows) × predictions: class 1 absent from both; class 3 only predicted
    cm = np.array([[3, 0, 0, 1], [0, 0, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    ours = metrics_from_confusion(cm)
    theirs = cryobench_metrics_from_confusion(cm, ignore_index=255)
    iou = [3 / (3 + 1 + 1 + 1e-6), 0.0, 2 / (2 + 1 + 1e-6), 0 / (1 + 1e-6)]
    assert theirs["iou_per_class_cryobench"] == pytest.approx(dict(zip("0123", iou,
                                                                       strict=True)))
    assert theirs["miou_cryobench"] == pytest.approx(sum(iou) / 4)  # the absent class scores 0
    assert ours["miou"] == pytest.approx((iou[0] + iou[2] + iou[3]) / 3, rel=1e-5)  # excluded
    # PANGAEA's F1 in percent with ε inside, divided by 100
    p0, r0 = 100 * 3 / (4 + 1e-6), 100 * 3 / (4 + 1e-6)
    assert theirs["f1_per_class_cryobench"]["0"] == pytest.approx(
        2 * p0 * r0 / (p0 + r0 + 1e-6) / 100)
    # PANGAEA leaves out of the mean a class whose index equals the ignore index
    left_out = cryobench_metrics_from_confusion(cm, ignore_index=1)
    assert set(left_out["iou_per_class_cryobench"]) == {"0", "2", "3"}
    assert left_out["miou_cryobench"] == pytest.approx((iou[0] + iou[2] + iou[3]) / 3)


def test_meter_reports_both_conventions_when_asked() -> None:
    meter = SegmentationMeter(3, IGNORE, ("a", "b", "c"), cryobench=True)
    meter.update(torch.as_tensor(PRED), torch.as_tensor(TARGET))
    out = meter.compute()
    assert out["miou"] == pytest.approx(2 / 3)
    assert out["miou_cryobench"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3, rel=1e-5)
    assert "miou_cryobench" not in SegmentationMeter(3, IGNORE).compute()
