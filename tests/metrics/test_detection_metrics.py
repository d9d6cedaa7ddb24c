"""COCO detection metrics against hand-computed tiny cases and torchmetrics' MeanAveragePrecision
(pycocotools backend), which is what Mars-Bench reports."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

from planetbench.errors import InvalidInputError
from planetbench.metrics.detection import (
    DetectionMeter,
    coco_iou_thresholds,
    coco_recall_thresholds,
    detection_metrics,
    iou_xywh,
)


def gt(*boxes: list[float], labels: list[int] | None = None) -> dict[str, Any]:
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return {"boxes": b, "labels": np.asarray(labels or [1] * len(b), dtype=np.int64)}


def dt(boxes: list[list[float]], scores: list[float], labels: list[int] | None = None
       ) -> dict[str, Any]:
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    return {"boxes": b, "scores": np.asarray(scores, dtype=np.float32),
            "labels": np.asarray(labels or [1] * len(b), dtype=np.int64)}


def _torchmetrics(preds: list[dict], targets: list[dict]) -> dict[str, Any]:
    pytest.importorskip("pycocotools", reason="the reference COCO evaluation needs pycocotools")
    from torchmetrics.detection import MeanAveragePrecision

    metric = MeanAveragePrecision(iou_type="bbox", class_metrics=True)
    metric.update([{k: torch.as_tensor(v) for k, v in p.items()} for p in preds],
                  [{k: torch.as_tensor(v) for k, v in t.items()} for t in targets])
    return metric.compute()


def test_one_perfect_box_scores_one_everywhere() -> None:
    m = detection_metrics([dt([[10, 10, 50, 60]], [0.9])], [gt([10, 10, 50, 60])])
    for key in ("map", "map_50", "map_75", "map_medium", "mar_1", "mar_10", "mar_100",
                "mar_medium"):
        assert m[key] == pytest.approx(1.0), key  # precision tp/(tp+fp+eps) as COCO
    # 40 × 50 px = 2000 px² is medium: no small or large ground truth → undefined
    assert m["map_small"] is None and m["map_large"] is None
    assert m["map_per_class"] == pytest.approx({"1": 1.0})
    assert m["n_images"] == 1 and m["n_boxes"] == 1


@pytest.mark.parametrize(("height", "iou", "expected"), [(6, 0.6, 0.2), (6.2, 0.62, 0.3),
                                                          (5.8, 0.58, 0.2), (9.6, 0.96, 1.0)])
def test_one_box_at_partial_overlap(height: float, iou: float, expected: float) -> None:
    # prediction (0, 0, 10, h) inside ground truth (0, 0, 10, 10): IoU = h / 10. It matches at the
    # thresholds t ≤ IoU: 0.50 and 0.55 for IoU 0.6 (t = 0.60 is float32(0.6) = 0.6000000238 >
    # 0.6, as in torchmetrics), AP 1 at each matched threshold and 0 at the others.
    assert iou_xywh(np.array([[0, 0, 10, height]]), np.array([[0, 0, 10, 10]]))[0, 0] == \
        pytest.approx(iou)
    m = detection_metrics([dt([[0, 0, 10, height]], [0.8])], [gt([0, 0, 10, 10])])
    assert m["map_50"] == pytest.approx(1.0)
    assert m["map"] == pytest.approx(expected)
    ref = _torchmetrics([dt([[0, 0, 10, height]], [0.8])], [gt([0, 0, 10, 10])])
    assert m["map"] == pytest.approx(float(ref["map"]), abs=1e-6)


def test_false_positive_with_higher_score_halves_precision() -> None:
    # ranked: FP (0.9), TP (0.8) → precision 1/2 at recall 1, made monotone → AP = 0.5
    preds = [dt([[60, 60, 80, 80], [0, 0, 10, 10]], [0.9, 0.8])]
    m = detection_metrics(preds, [gt([0, 0, 10, 10])])
    assert m["map"] == pytest.approx(0.5) and m["map_50"] == pytest.approx(0.5)
    # the same FP ranked after the TP costs nothing: recall 1 is reached at precision 1
    late = [dt([[60, 60, 80, 80], [0, 0, 10, 10]], [0.7, 0.8])]
    assert detection_metrics(late, [gt([0, 0, 10, 10])])["map"] == pytest.approx(1.0)


def test_images_without_ground_truth_count_their_false_positives() -> None:
    target_empty = {"boxes": np.zeros((0, 4), np.float32), "labels": np.zeros(0, np.int64)}
    hit = dt([[0, 0, 10, 10]], [0.8])
    m = detection_metrics([hit, dt([[5, 5, 15, 15]], [0.9])], [gt([0, 0, 10, 10]), target_empty])
    assert m["map"] == pytest.approx(0.5)
    m = detection_metrics([hit, dt([[5, 5, 15, 15]], [0.7])], [gt([0, 0, 10, 10]), target_empty])
    assert m["map"] == pytest.approx(1.0)
    # an empty image with no prediction changes nothing; empty 1-D boxes are accepted too
    empty_pred = {"boxes": np.zeros(0), "scores": np.zeros(0), "labels": np.zeros(0, np.int64)}
    m = detection_metrics([hit, empty_pred], [gt([0, 0, 10, 10]), target_empty])
    assert m["map"] == pytest.approx(1.0) and m["n_images"] == 2


def test_class_only_predicted_is_left_out_and_no_ground_truth_is_undefined() -> None:
    preds = [dt([[0, 0, 10, 10], [20, 20, 30, 30]], [0.9, 0.9], labels=[1, 2])]
    m = detection_metrics(preds, [gt([0, 0, 10, 10])], class_names=("crater", "boulder"))
    assert m["map"] == pytest.approx(1.0)
    assert m["map_per_class"]["boulder"] is None
    assert m["map_per_class"]["crater"] == pytest.approx(1.0)
    none = detection_metrics(preds, [{"boxes": np.zeros((0, 4)), "labels": np.zeros(0, int)}])
    assert none["map"] is None and none["mar_100"] is None


def test_sizes_and_recall_at_max_detections() -> None:
    # small 10 × 10 box found, large 100 × 100 box missed (prediction elsewhere, lower score)
    target = gt([0, 0, 10, 10], [100, 100, 200, 200])
    preds = [dt([[0, 0, 10, 10], [300, 300, 310, 310]], [0.9, 0.5])]
    m = detection_metrics(preds, [target])
    assert m["map_small"] == pytest.approx(1.0)  # the unmatched small FP ranks below the TP
    assert m["map_large"] == 0.0
    assert m["map_medium"] is None
    # all sizes: recall 1/2 at precision 1, then an FP: 51 of the 101 recall points at 1
    assert m["map"] == pytest.approx(51 / 101)
    assert m["mar_100"] == pytest.approx(0.5)
    two = detection_metrics([dt([[0, 0, 10, 10], [20, 0, 30, 10]], [0.9, 0.8])],
                            [gt([0, 0, 10, 10], [20, 0, 30, 10])])
    assert two["mar_1"] == pytest.approx(0.5) and two["mar_10"] == pytest.approx(1.0)


def _random_case(seed: int) -> tuple[list[dict], list[dict]]:
    rng = np.random.default_rng(seed)
    preds, targets = [], []
    for i in range(7):
        n_gt = 0 if i == 3 else int(rng.integers(1, 6))
        xy = rng.uniform(0, 150, (n_gt, 2))
        wh = rng.choice([6.0, 20.0, 40.0, 120.0], size=(n_gt, 1)) * rng.uniform(0.8, 1.2, (n_gt, 2))
        g = np.concatenate([xy, xy + wh], 1).astype(np.float32)
        g_lab = rng.integers(1, 4, n_gt)
        # detections: jittered copies of some ground truth plus random boxes
        keep = rng.random(n_gt) < 0.8
        jitter = g[keep] + rng.normal(0, 3, (int(keep.sum()), 4)).astype(np.float32)
        jitter[:, 2:] = np.maximum(jitter[:, 2:], jitter[:, :2] + 1)
        n_fp = int(rng.integers(0, 4))
        fxy = rng.uniform(0, 150, (n_fp, 2))
        fp = np.concatenate([fxy, fxy + rng.uniform(5, 60, (n_fp, 2))], 1).astype(np.float32)
        d = np.concatenate([jitter, fp]).astype(np.float32)
        d_lab = np.concatenate([g_lab[keep], rng.integers(1, 5, n_fp)])  # label 4: no gt
        scores = rng.choice([0.3, 0.5, 0.7, 0.9], len(d)).astype(np.float32)  # ties on purpose
        preds.append({"boxes": d, "scores": scores, "labels": d_lab})
        targets.append({"boxes": g.reshape(-1, 4), "labels": g_lab})
    return preds, targets


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_torchmetrics_pycocotools_on_random_images(seed: int) -> None:
    preds, targets = _random_case(seed)
    ours = detection_metrics(preds, targets)
    ref = _torchmetrics(preds, targets)
    for key in ("map", "map_50", "map_75", "map_small", "map_medium", "map_large", "mar_1",
                "mar_10", "mar_100", "mar_small", "mar_medium", "mar_large"):
        expected = float(ref[key])
        got = -1.0 if ours[key] is None else ours[key]
        assert got == pytest.approx(expected, abs=1e-6), key
    ref_classes = ref["classes"].tolist()
    ref_per_class = dict(zip(ref_classes, ref["map_per_class"].tolist(), strict=True))
    for label, value in ours["map_per_class"].items():
        assert (-1.0 if value is None else value) == pytest.approx(ref_per_class[int(label)],
                                                                   abs=1e-6)


def test_meter_accumulates_like_one_call_and_accepts_tensors() -> None:
    preds, targets = _random_case(4)
    meter = DetectionMeter()
    meter.update(preds[:3], targets[:3])
    meter.update([{k: torch.as_tensor(v) for k, v in p.items()} for p in preds[3:]],
                 [{k: torch.as_tensor(v) for k, v in t.items()} for t in targets[3:]])
    assert meter.compute() == detection_metrics(preds, targets)
    meter.reset()
    assert meter.compute()["n_images"] == 0 and meter.compute()["map"] is None


def test_thresholds_are_torchmetrics_own() -> None:
    assert coco_iou_thresholds() == tuple(torch.linspace(0.5, 0.95, 10).tolist())
    assert len(coco_recall_thresholds()) == 101 and coco_recall_thresholds()[-1] == 1.0


def test_errors() -> None:
    ok_t, ok_p = gt([0, 0, 1, 1]), dt([[0, 0, 1, 1]], [0.5])
    with pytest.raises(InvalidInputError, match="2 prediction dicts for 1 target"):
        detection_metrics([ok_p, ok_p], [ok_t])
    with pytest.raises(InvalidInputError, match=r"shape \(N, 4\)"):
        detection_metrics([ok_p], [{"boxes": np.zeros((1, 5)), "labels": np.ones(1, int)}])
    with pytest.raises(InvalidInputError, match="x2 ≥ x1"):
        detection_metrics([ok_p], [gt([5, 0, 1, 1])])
    with pytest.raises(InvalidInputError, match="has no 'scores'"):
        detection_metrics([ok_t], [ok_t])
    with pytest.raises(InvalidInputError, match="1 boxes but 2 labels"):
        detection_metrics([ok_p], [{"boxes": np.zeros((1, 4)), "labels": np.ones(2, int)}])
    with pytest.raises(InvalidInputError, match=r"labels must lie in 1..1 \(0 is the background"):
        detection_metrics([dt([[0, 0, 1, 1]], [0.5], labels=[0])], [ok_t], class_names=("cone",))
    with pytest.raises(InvalidInputError, match="scores not finite"):
        detection_metrics([dt([[0, 0, 1, 1]], [np.nan])], [ok_t])
    with pytest.raises(InvalidInputError, match="non-negative integers"):
        detection_metrics([ok_p], [gt([0, 0, 1, 1], labels=[-1])])
