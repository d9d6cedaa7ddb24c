"""Mars-Bench's metric conventions: which number it reports per task kind, and its segmentation IoU.

Mars-Bench (``kerner-lab/Mars-Bench``, ``marsbench/models/*/Base*Model.py``) reports one number
per task kind. Each is reproduced under the name in :data:`MARSBENCH_METRICS`; ours stands beside it
(:data:`PLANETBENCH_METRICS`) where the two differ:

================  =============================  ======================================
task kind         Mars-Bench reports             ours beside it
================  =============================  ======================================
binary            ``f1_weighted_mb``             ``f1`` (same unless a batch of
                  (torchmetrics binary F1 = F1   logits lies in [0, 1]; see
                  of the positive class)         :mod:`planetbench.metrics.classification`)
multiclass        ``f1_weighted_mb``             ``f1_weighted`` (identical)
multilabel        ``f1_weighted_mb``             ``f1_weighted`` (same rule as binary)
segmentation      ``iou_mb`` (per-image IoU)     ``miou`` (dataset confusion matrix)
detection         ``map`` (COCO mAP@[.5:.95])    ``map`` (identical; empty images kept)
================  =============================  ======================================

Segmentation ``iou_mb`` is ``test/iou`` of Mars-Bench: torchmetrics'
``MeanIoU(num_classes=K, per_class=True, input_format="index")`` followed by Mars-Bench's
``safe_macro_mean`` (reproduced and tested against torchmetrics 1.9; Mars-Bench requires ≥ 1.7,
and older releases averaged differently). For every image and class c, IoU_c = |P_c ∩ T_c| / |P_c ∪ T_c| is computed
when the union is non-empty; the per-class score is the mean of IoU_c over the images where it is
defined (−1 when there is none), and ``iou_mb`` is the mean over classes with a score ≥ 0,
**background included**. So a class contributes the average of its per-image IoUs, and a small
image counts as much as a large one. Ours, ``miou`` (:mod:`planetbench.metrics.segmentation`),
is the IoU of the pixel confusion matrix pooled over the whole split. Mars-Bench has no ignore
index (torchmetrics would fail on one); here pixels whose target is ``ignore_index`` are dropped
from target and prediction before counting, as in ``miou``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from planetbench.errors import InvalidInputError
from planetbench.metrics.segmentation import SegmentationMeter

#: Task kind → the metric name under which Mars-Bench's reported number is stored.
MARSBENCH_METRICS: dict[str, str] = {
    "binary": "f1_weighted_mb",
    "multiclass": "f1_weighted_mb",
    "multilabel": "f1_weighted_mb",
    "segmentation": "iou_mb",
    "detection": "map",
}

#: Task kind → our metric beside Mars-Bench's (the default of planetbench's own leaderboards).
PLANETBENCH_METRICS: dict[str, str] = {
    "binary": "f1",
    "multiclass": "f1_weighted",
    "multilabel": "f1_weighted",
    "segmentation": "miou",
    "detection": "map",
}


def marsbench_metric(kind: str) -> str:
    """Name of the metric Mars-Bench reports for a task kind (TaskSpec's ``classification`` =
    binary).

    Raises:
        InvalidInputError: the kind has no Mars-Bench metric (e.g. ``regression``).
    """
    key = "binary" if kind == "classification" else kind
    if key not in MARSBENCH_METRICS:
        raise InvalidInputError(
            f"Mars-Bench reports no metric for task kind {kind!r}; kinds: "
            f"classification (binary), {', '.join(sorted(MARSBENCH_METRICS))}"
        )
    return MARSBENCH_METRICS[key]


def per_image_intersection_union(
    pred: Tensor, target: Tensor, n_classes: int, ignore_index: int | None = None
) -> tuple[Tensor, Tensor]:
    """Per-image, per-class intersection and union pixel counts.

    Args:
        pred: predicted class ids (B, H, W), values in [0, K).
        target: target class ids (B, H, W), values in [0, K) or ``ignore_index``.
        n_classes: number of classes K.
        ignore_index: target value whose pixels are left out of both counts.

    Returns:
        ``(intersection, union)``, each int64 of shape (B, K).

    Raises:
        InvalidInputError: shapes differ or are not (B, H, W), or a value is out of range.
    """
    if n_classes < 1:
        raise InvalidInputError(f"n_classes must be ≥ 1, got {n_classes}")
    if pred.shape != target.shape or pred.ndim != 3:
        raise InvalidInputError(
            f"pred and target must both be class ids of shape (B, H, W); got {tuple(pred.shape)} "
            f"and {tuple(target.shape)} (argmax the logits over the class axis first)"
        )
    b = pred.shape[0]
    p = pred.reshape(b, -1).long()
    t = target.reshape(b, -1).long().to(p.device)
    keep = torch.ones_like(t, dtype=torch.bool) if ignore_index is None else t != ignore_index
    for name, v in (("target", t[keep]), ("pred", p[keep])):
        if v.numel() and (int(v.min()) < 0 or int(v.max()) >= n_classes):
            raise InvalidInputError(
                f"{name} holds class ids {int(v.min())}..{int(v.max())}, outside [0, {n_classes})"
                + (f" and not the ignore index {ignore_index}" if name == "target" else "")
                + "; check n_classes and ignore_index"
            )
    image = torch.arange(b, device=p.device)[:, None].expand_as(p)
    flat = (image * n_classes + t) * n_classes + p
    counts = torch.bincount(flat[keep], minlength=b * n_classes * n_classes)
    cm = counts.reshape(b, n_classes, n_classes)
    inter = torch.diagonal(cm, dim1=1, dim2=2)
    union = cm.sum(dim=1) + cm.sum(dim=2) - inter
    return inter, union


@dataclass
class PerImageIoUMeter:
    """Mars-Bench's segmentation ``iou``: per-image IoU per class, averaged over images.

    Args:
        n_classes: number of classes K (background included).
        ignore_index: target value left out (Mars-Bench has none; see the module docstring).
        class_names: optional names of the K classes for ``iou_mb_per_class``.
    """

    n_classes: int
    ignore_index: int | None = None
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.class_names and len(self.class_names) != self.n_classes:
            raise InvalidInputError(
                f"class_names has {len(self.class_names)} names for {self.n_classes} classes"
            )
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.score_sum_ = np.zeros(self.n_classes, dtype=np.float64)
        self.n_defined_ = np.zeros(self.n_classes, dtype=np.int64)
        self.n_images_ = 0

    def update(self, logits_or_pred: Tensor, target: Tensor) -> None:
        """Add a batch: logits (B, K, H, W) or class ids (B, H, W); target (B, H, W)."""
        pred = logits_or_pred.argmax(dim=1) if logits_or_pred.ndim == 4 else logits_or_pred
        inter, union = per_image_intersection_union(
            pred, target, self.n_classes, self.ignore_index
        )
        inter_np = inter.cpu().numpy().astype(np.float64)
        union_np = union.cpu().numpy()
        defined = union_np > 0
        iou = np.divide(inter_np, union_np, out=np.zeros_like(inter_np), where=defined)
        self.score_sum_ += iou.sum(axis=0)
        self.n_defined_ += defined.sum(axis=0)
        self.n_images_ += int(pred.shape[0])

    def compute(self) -> dict[str, Any]:
        """``iou_mb`` (None when no class is defined), ``iou_mb_per_class`` (name → float or None
        for a class absent from every image's target and prediction) and ``n_images``."""
        names = self.class_names or tuple(str(i) for i in range(self.n_classes))
        defined = self.n_defined_ > 0
        per_class = np.divide(self.score_sum_, self.n_defined_,
                              out=np.zeros(self.n_classes), where=defined)
        return {
            "iou_mb": float(per_class[defined].mean()) if defined.any() else None,
            "iou_mb_per_class": {
                n: (float(v) if d else None)
                for n, v, d in zip(names, per_class, defined, strict=True)
            },
            "n_images": self.n_images_,
        }


@dataclass
class MarsSegmentationMeter:
    """Mars-Bench's ``iou_mb`` and our dataset-level ``miou`` (with ``f1_macro``,
    ``pixel_accuracy`` and per-class values) from the same batches.

    Args:
        n_classes: number of classes K (background included).
        ignore_index: target value left out of every metric.
        class_names: optional names of the K classes.
    """

    n_classes: int
    ignore_index: int | None = None
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.per_image = PerImageIoUMeter(self.n_classes, self.ignore_index, self.class_names)
        self.dataset = SegmentationMeter(self.n_classes, self.ignore_index, self.class_names)

    def reset(self) -> None:
        """Forget every update."""
        self.per_image.reset()
        self.dataset.reset()

    def update(self, logits_or_pred: Tensor, target: Tensor) -> None:
        """Add a batch: logits (B, K, H, W) or class ids (B, H, W); target (B, H, W)."""
        pred = logits_or_pred.argmax(dim=1) if logits_or_pred.ndim == 4 else logits_or_pred
        self.per_image.update(pred, target)
        self.dataset.update(pred, target)

    def compute(self) -> dict[str, Any]:
        """The keys of :meth:`PerImageIoUMeter.compute` and of
        :func:`~planetbench.metrics.segmentation.metrics_from_confusion`."""
        return {**self.dataset.compute(), **self.per_image.compute()}


__all__ = [
    "MARSBENCH_METRICS",
    "PLANETBENCH_METRICS",
    "MarsSegmentationMeter",
    "PerImageIoUMeter",
    "marsbench_metric",
    "per_image_intersection_union",
]
