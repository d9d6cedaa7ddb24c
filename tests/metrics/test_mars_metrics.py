"""Mars-Bench's segmentation IoU (per image, then over images) against hand-computed values and
torchmetrics' MeanIoU(per_class=True, input_format="index") + Mars-Bench's safe_macro_mean."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchmetrics.segmentation import MeanIoU

from planetbench.errors import InvalidInputError
from planetbench.metrics.mars import (
    MARSBENCH_METRICS,
    MarsSegmentationMeter,
    PerImageIoUMeter,
    marsbench_metric,
)


def _marsbench_iou(preds: list[torch.Tensor], targets: list[torch.Tensor], k: int) -> float:
    """Mars-Bench's test/iou: MeanIoU per class, then the mean over values ≥ 0."""
    metric = MeanIoU(num_classes=k, per_class=True, input_format="index")
    for p, t in zip(preds, targets, strict=True):
        metric.update(p, t)
    vec = metric.compute()
    present = vec.ge(0)
    return float(vec[present].mean()) if present.any() else -1.0


def test_per_image_iou_by_hand_differs_from_dataset_miou() -> None:
    # image 0 (4 px): target 0 0 1 1, pred 0 0 0 1 → IoU0 = 2/3, IoU1 = 1/2, class 2 absent
    # image 1 (4 px): target 2 2 2 2, pred 2 2 2 0 → IoU0 = 0/1 = 0, IoU1 undefined, IoU2 = 3/4
    target = torch.tensor([[[0, 0], [1, 1]], [[2, 2], [2, 2]]])
    pred = torch.tensor([[[0, 0], [0, 1]], [[2, 2], [2, 0]]])
    meter = MarsSegmentationMeter(4, class_names=("bg", "a", "b", "never"))
    meter.update(pred, target)
    m = meter.compute()
    # per class over the images where it is defined: bg (2/3 + 0)/2, a 1/2 (image 0 only), b 3/4
    assert m["iou_mb_per_class"] == pytest.approx(
        {"bg": 1 / 3, "a": 0.5, "b": 0.75, "never": None})
    assert m["iou_mb"] == pytest.approx((1 / 3 + 0.5 + 0.75) / 3)
    # dataset confusion: bg TP 2 FP 2 FN 0 → 1/2; a 1/2; b 3/4
    assert m["miou"] == pytest.approx((0.5 + 0.5 + 0.75) / 3)
    assert m["iou_mb"] != pytest.approx(m["miou"])
    assert m["iou_mb"] == pytest.approx(_marsbench_iou([pred], [target], 4), abs=1e-6)
    assert m["n_images"] == 2


def test_matches_torchmetrics_over_batches_with_logits() -> None:
    gen = torch.Generator().manual_seed(0)
    k = 5
    meter = PerImageIoUMeter(k)
    preds, targets = [], []
    for b in (3, 2, 4):
        target = torch.randint(0, k - 1, (b, 12, 12), generator=gen)  # class 4 never true
        target[0] = torch.randint(0, 2, (12, 12), generator=gen)  # some images lack classes
        logits = torch.randn(b, k, 12, 12, generator=gen)
        logits[:, 4] -= 3.0  # class 4 rarely predicted
        meter.update(logits, target)
        preds.append(logits.argmax(1))
        targets.append(target)
    m = meter.compute()
    assert m["iou_mb"] == pytest.approx(_marsbench_iou(preds, targets, k), abs=1e-5)
    tm = MeanIoU(num_classes=k, per_class=True, input_format="index")
    for p, t in zip(preds, targets, strict=True):
        tm.update(p, t)
    expected = tm.compute().numpy()
    got = np.array([-1.0 if v is None else v for v in m["iou_mb_per_class"].values()])
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_ignore_index_pixels_count_for_nothing() -> None:
    target = torch.tensor([[[0, 255], [1, 255]]])
    pred = torch.tensor([[[0, 1], [1, 0]]])
    m = PerImageIoUMeter(2, ignore_index=255)
    m.update(pred, target)
    assert m.compute()["iou_mb"] == 1.0


def test_nothing_defined_gives_none() -> None:
    m = PerImageIoUMeter(2, ignore_index=255)
    m.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.full((1, 2, 2), 255))
    assert m.compute()["iou_mb"] is None
    m.reset()
    assert m.compute()["n_images"] == 0


def test_errors() -> None:
    m = PerImageIoUMeter(2)
    with pytest.raises(InvalidInputError, match=r"outside \[0, 2\)"):
        m.update(torch.zeros(1, 2, 2, dtype=torch.long), torch.full((1, 2, 2), 2))
    with pytest.raises(InvalidInputError, match=r"shape \(B, H, W\)"):
        m.update(torch.zeros(2, 2, dtype=torch.long), torch.zeros(2, 2, dtype=torch.long))
    with pytest.raises(InvalidInputError, match="class_names has 1 names for 2 classes"):
        PerImageIoUMeter(2, class_names=("x",))
    with pytest.raises(InvalidInputError, match="no metric for task kind 'regression'"):
        marsbench_metric("regression")


def test_reported_metric_names() -> None:
    assert marsbench_metric("classification") == "f1_weighted_mb"
    assert marsbench_metric("segmentation") == "iou_mb"
    assert set(MARSBENCH_METRICS) == {"binary", "multiclass", "multilabel", "segmentation",
                                      "detection"}


def test_our_metric_per_kind_is_the_metric_of_the_mars_tasks() -> None:
    from planetbench.metrics.mars import PLANETBENCH_METRICS
    from planetbench.tasks import TASKS, load_builtin_tasks

    load_builtin_tasks()
    mars = [task.spec for _, task in TASKS.items() if task.spec.suite == "mars"]
    assert len(mars) == 20
    for spec in mars:
        kind = "binary" if spec.kind == "classification" else spec.kind
        assert PLANETBENCH_METRICS[kind] == spec.metric, spec.name
