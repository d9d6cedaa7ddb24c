"""Dense (segmentation) metrics from a confusion matrix.

Conventions (stated once, used everywhere):

* The confusion matrix ``cm`` has shape (K, K); ``cm[t, p]`` counts pixels whose target class is
  ``t`` and whose predicted class is ``p``.
* Pixels whose *target* equals the ignore index are dropped **before** counting, from the target and
  from the prediction alike. (PANGAEA-Bench once counted the predictions of ignored pixels as false
  positives; we do not.)
* IoU of class c (Jaccard index; Everingham et al. 2010, "The PASCAL VOC challenge"):
  ``TP / (TP + FP + FN)``. A class that is absent from both the target and the prediction
  (``TP + FP + FN == 0``) has an undefined IoU: it is reported as ``None`` and is *excluded* from
  the mean (``miou``) rather than counted as 0 or 1.
* F1 of class c: ``2 TP / (2 TP + FP + FN)``; ``f1_macro`` averages it over the same defined
  classes as ``miou``.
* ``pixel_accuracy``: ``trace(cm) / cm.sum()`` over non-ignored pixels.

All values are fractions in [0, 1] (not percentages).

Cryo-Bench's convention (PANGAEA-Bench's ``SegEvaluator.compute_metrics``, in
``pangaea/engine/evaluator.py`` of ``VMarsocci/pangaea-bench`` and of the ``Sk-2103/Cryo-Bench``
fork) is computed beside ours by :func:`cryobench_metrics_from_confusion` and stored under its own
names (``miou_cryobench`` …): IoU of class c is ``TP / (TP + FP + FN + 1e-6)``, so a class absent
from both target and prediction scores 0 and is *counted* in the mean; the mean runs over every
class index except one equal to the ignore index (PANGAEA's ``valid_class_indices``). Ignored
pixels are dropped first, as here. PANGAEA reports percentages; we keep fractions (its value / 100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from planetbench.errors import InvalidInputError

#: Metric name → whether higher is better.
SEGMENTATION_METRICS: dict[str, bool] = {
    "miou": True,
    "f1_macro": True,
    "pixel_accuracy": True,
    "miou_cryobench": True,
    "f1_macro_cryobench": True,
}

#: The ε PANGAEA adds to every IoU, precision and recall denominator.
CRYOBENCH_EPS = 1e-6


def confusion_matrix(
    pred: Tensor | np.ndarray,
    target: Tensor | np.ndarray,
    n_classes: int,
    ignore_index: int | None = None,
) -> np.ndarray:
    """Confusion matrix of class predictions against targets, ignored pixels dropped.

    Args:
        pred: predicted class ids, any shape, integers in [0, n_classes).
        target: target class ids, same shape; values in [0, n_classes) or ``ignore_index``.
        n_classes: number of classes K (≥ 1).
        ignore_index: target value excluded from the count (its pixels' predictions too).

    Returns:
        int64 array of shape (K, K), rows = target class, columns = predicted class.

    Raises:
        InvalidInputError: shapes differ, ``n_classes`` < 1, or a value is out of range.

    Example:
        >>> confusion_matrix(np.array([0, 1, 1]), np.array([0, 1, 255]), 2, 255).tolist()
        [[1, 0], [0, 1]]
    """
    p = torch.as_tensor(pred)
    t = torch.as_tensor(target)
    return _confusion(p, t, n_classes, ignore_index).cpu().numpy()


def _confusion(p: Tensor, t: Tensor, n_classes: int, ignore_index: int | None) -> Tensor:
    if n_classes < 1:
        raise InvalidInputError(f"n_classes must be ≥ 1, got {n_classes}")
    if p.shape != t.shape:
        raise InvalidInputError(
            f"pred has shape {tuple(p.shape)} but target has shape {tuple(t.shape)}; "
            "pass class ids of equal shape (argmax the logits over the class axis first)"
        )
    p = p.reshape(-1).long()
    t = t.reshape(-1).long().to(p.device)
    if ignore_index is not None:
        keep = t != ignore_index
        p, t = p[keep], t[keep]
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= n_classes):
        bad = int(t.max()) if int(t.max()) >= n_classes else int(t.min())
        raise InvalidInputError(
            f"target contains class id {bad}, outside [0, {n_classes}) and not the ignore index "
            f"{ignore_index!r}; check n_classes and ignore_index"
        )
    if p.numel() and (int(p.min()) < 0 or int(p.max()) >= n_classes):
        raise InvalidInputError(
            f"pred contains class ids outside [0, {n_classes}): min {int(p.min())}, "
            f"max {int(p.max())}"
        )
    counts = torch.bincount(t * n_classes + p, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def metrics_from_confusion(cm: np.ndarray, class_names: tuple[str, ...] = ()) -> dict[str, Any]:
    """Segmentation metrics from a confusion matrix (conventions in the module docstring).

    Args:
        cm: array of shape (K, K), rows = target, columns = prediction.
        class_names: optional names of the K classes, used as keys of the per-class dicts.

    Returns:
        ``miou``, ``f1_macro``, ``pixel_accuracy`` (floats, or None when nothing is defined),
        ``iou_per_class`` and ``f1_per_class`` (class name → float or None when undefined),
        ``n_pixels`` (int).

    Raises:
        InvalidInputError: ``cm`` is not square, or ``class_names`` has the wrong length.
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise InvalidInputError(f"cm must be a square (K, K) matrix, got shape {cm.shape}")
    k = cm.shape[0]
    names = tuple(class_names) or tuple(str(i) for i in range(k))
    if len(names) != k:
        raise InvalidInputError(f"class_names has {len(names)} names for {k} classes")
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp
    fn = cm.sum(axis=1) - tp
    union = tp + fp + fn
    defined = union > 0
    iou = np.where(defined, tp / np.where(defined, union, 1.0), np.nan)
    f1 = np.where(defined, 2 * tp / np.where(defined, 2 * tp + fp + fn, 1.0), np.nan)
    total = cm.sum()
    return {
        "miou": float(np.nanmean(iou)) if defined.any() else None,
        "f1_macro": float(np.nanmean(f1)) if defined.any() else None,
        "pixel_accuracy": float(tp.sum() / total) if total > 0 else None,
        "iou_per_class": _per_class(names, iou, defined),
        "f1_per_class": _per_class(names, f1, defined),
        "n_pixels": int(total),
    }


def _per_class(
    names: tuple[str, ...], values: np.ndarray, defined: np.ndarray
) -> dict[str, float | None]:
    return {n: (float(v) if d else None) for n, v, d in zip(names, values, defined, strict=True)}


def cryobench_metrics_from_confusion(
    cm: np.ndarray, ignore_index: int | None = None, class_names: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Cryo-Bench's (PANGAEA-Bench's) segmentation metrics from a confusion matrix.

    Per class c (TP, FP, FN from ``cm``, rows = target):

    * IoU = TP / (TP + FP + FN + 1e-6): 0 when the class is absent from target and prediction;
    * precision = TP / (TP + FP + 1e-6), recall = TP / (TP + FN + 1e-6),
      F1 = 2 · precision · recall / (precision + recall + 1e-6) (PANGAEA computes these in
      percent; the ε inside F1 then acts on percentages, which we reproduce);

    ``miou_cryobench`` and ``f1_macro_cryobench`` average over every class index except one equal
    to ``ignore_index`` (PANGAEA's ``valid_class_indices``: with an ignore index of -1 or 255 that
    is every class). PANGAEA accumulates its confusion matrix in float32; we count in int64, which
    can differ from it only beyond 2**24 pixels per cell, by at most one float32 rounding.

    Args:
        cm: array of shape (K, K), rows = target, columns = prediction (ignored pixels already
            dropped).
        ignore_index: the task's ignore index; a class with that index is left out of the means.
        class_names: optional names of the K classes, used as keys of the per-class dicts.

    Returns:
        ``miou_cryobench`` and ``f1_macro_cryobench`` (fractions in [0, 1]; 0.0 when no class is
        counted), ``iou_per_class_cryobench`` and ``f1_per_class_cryobench`` (class name → float,
        for the counted classes).

    Raises:
        InvalidInputError: ``cm`` is not square, or ``class_names`` has the wrong length.

    Example:
        >>> m = cryobench_metrics_from_confusion(np.array([[2, 0, 0], [0, 0, 0], [1, 0, 1]]))
        >>> round(m["miou_cryobench"], 4)  # (2/3 + 0 + 1/2) / 3: the absent class 1 scores 0
        0.3889
    """
    cm = np.asarray(cm, dtype=np.float64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise InvalidInputError(f"cm must be a square (K, K) matrix, got shape {cm.shape}")
    k = cm.shape[0]
    names = tuple(class_names) or tuple(str(i) for i in range(k))
    if len(names) != k:
        raise InvalidInputError(f"class_names has {len(names)} names for {k} classes")
    eps = CRYOBENCH_EPS
    tp = np.diag(cm)
    union = cm.sum(axis=0) + cm.sum(axis=1) - tp
    iou = tp / (union + eps)
    precision = 100.0 * tp / (cm.sum(axis=0) + eps)
    recall = 100.0 * tp / (cm.sum(axis=1) + eps)
    f1 = 2 * precision * recall / (precision + recall + eps) / 100.0
    valid = [c for c in range(k) if c != ignore_index]
    return {
        "miou_cryobench": float(iou[valid].mean()) if valid else 0.0,
        "f1_macro_cryobench": float(f1[valid].mean()) if valid else 0.0,
        "iou_per_class_cryobench": {names[c]: float(iou[c]) for c in valid},
        "f1_per_class_cryobench": {names[c]: float(f1[c]) for c in valid},
    }


@dataclass
class SegmentationMeter:
    """Accumulates a confusion matrix over batches (on the batch's device) and reports metrics.

    Args:
        n_classes: number of classes K.
        ignore_index: target value excluded from the metrics.
        class_names: optional class names for the per-class dicts.
        cryobench: also report Cryo-Bench's metrics (:func:`cryobench_metrics_from_confusion`)
            beside ours.
    """

    n_classes: int
    ignore_index: int | None = None
    class_names: tuple[str, ...] = ()
    cryobench: bool = False

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every update."""
        self.cm_: Tensor | None = None

    def update(self, logits_or_pred: Tensor, target: Tensor) -> None:
        """Add a batch: logits (B, K, H, W) or class ids (B, H, W); target (B, H, W)."""
        pred = logits_or_pred.argmax(dim=1) if logits_or_pred.ndim == 4 else logits_or_pred
        cm = _confusion(pred, target, self.n_classes, self.ignore_index)
        self.cm_ = cm if self.cm_ is None else self.cm_ + cm

    def confusion(self) -> np.ndarray:
        """The accumulated (K, K) confusion matrix."""
        if self.cm_ is None:
            return np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        return self.cm_.cpu().numpy()

    def compute(self) -> dict[str, Any]:
        """Metrics of everything accumulated so far (see :func:`metrics_from_confusion`, and
        :func:`cryobench_metrics_from_confusion` when ``cryobench``)."""
        cm = self.confusion()
        out = metrics_from_confusion(cm, self.class_names)
        if self.cryobench:
            out.update(cryobench_metrics_from_confusion(cm, self.ignore_index, self.class_names))
        return out
