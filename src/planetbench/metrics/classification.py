"""Image classification metrics (binary, multi-class, multi-label), with Mars-Bench's beside ours.

Inputs are one split's targets and raw logits (what a classification head returns):

* ``binary``: target (n,) in {0, 1}; logits (n,) (or (n, 1)): ONE logit per image, the positive
  class is predicted when ``sigmoid(logit) > 0.5``, i.e. ``logit > 0``.
* ``multiclass``: target (n,) in [0, K); logits (n, K); the prediction is the argmax.
* ``multilabel``: target (n, L) in {0, 1}; logits (n, L); label l is predicted when
  ``sigmoid(logit) > 0.5``.

Metric names (as the store records them; all fractions in [0, 1], higher is better):

``f1_weighted_mb``
    Mars-Bench's reported score, ``test/F1Score_weighted`` (``marsbench/models/classification/
    BaseClassificationModel.py``: torchmetrics ``F1Score(task=subtask, average="weighted")``,
    updated with the raw logits of every test batch). For a binary task torchmetrics ignores
    ``average`` and returns the F1 of the positive class; for multi-class and multi-label it is
    the support-weighted mean of per-class (per-label) F1. torchmetrics applies the sigmoid only
    when some value of a batch lies outside [0, 1]; a batch whose logits all lie in [0, 1] is
    thresholded at 0.5 *as logits*. ``mb_batch_size`` reproduces that per-batch rule (the test
    loader's batch size, unshuffled); None treats the split as one batch.
``f1`` (binary)
    F1 of the positive class at ``logit > 0`` — ours (scikit-learn's ``average="binary"``, the
    same name and meaning as the tabular ``f1`` and the metric of the binary Mars TaskSpecs);
    equal to ``f1_weighted_mb`` unless a whole batch of logits lies in [0, 1].
``f1_weighted``
    support-weighted mean of per-class F1 (scikit-learn ``average="weighted"``); for a binary
    task over BOTH classes (unlike Mars-Bench's binary "weighted" F1).
``f1_macro``
    unweighted mean of per-class F1; multi-class skips classes absent from target and prediction
    (torchmetrics and scikit-learn agree), multi-label keeps every label.
``accuracy`` (binary, multi-class)
    share of images predicted right (= Mars-Bench's ``Accuracy_weighted`` for multi-class).
``accuracy_macro`` (binary, multi-class)
    mean per-class recall over classes present in target or prediction (= torchmetrics'
    ``Accuracy(average="macro")``, Mars-Bench's ``Accuracy_macro``).
``accuracy_subset`` / ``accuracy_label`` (multi-label)
    share of images with every label right (scikit-learn ``accuracy_score``) / share of
    (image, label) pairs right (= 1 − Hamming loss = torchmetrics' multilabel ``Accuracy_macro``).
``auroc``
    ROC-AUC (Hanley & McNeil 1982, by mid-ranks): binary on the logit; multi-class one-vs-rest on
    softmax probabilities; multi-label per label; macro mean over the classes (labels) that have
    both positives and negatives in the target, None when none has. torchmetrics (Mars-Bench's
    ``AUROC_macro``) instead scores a class without positives as 0 and keeps it in the mean.
``f1_per_class``
    class name → F1 (a dict).

Formulas: F1 = 2 TP / (2 TP + FP + FN) (van Rijsbergen 1979), 0 when undefined (scikit-learn's
and torchmetrics' ``zero_division=0``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.metrics.tabular import (
    class_counts,
    confusion_matrix,
    multilabel_confusion_matrix,
    roc_auc,
)

ClassificationKind = Literal["binary", "multiclass", "multilabel"]
CLASSIFICATION_KINDS: tuple[str, ...] = ("binary", "multiclass", "multilabel")

#: Metric name → whether higher is better.
CLASSIFICATION_METRICS: dict[str, bool] = {
    "f1_weighted_mb": True,
    "f1": True,
    "f1_weighted": True,
    "f1_macro": True,
    "accuracy": True,
    "accuracy_macro": True,
    "accuracy_subset": True,
    "accuracy_label": True,
    "auroc": True,
}


def classification_kind(kind: str) -> ClassificationKind:
    """The classification kind of a task kind: TaskSpec's ``classification`` means ``binary``.

    Raises:
        InvalidInputError: ``kind`` is neither a classification kind nor ``classification``.
    """
    if kind == "classification":
        return "binary"
    if kind not in CLASSIFICATION_KINDS:
        raise InvalidInputError(
            f"kind {kind!r} is not a classification kind; use one of "
            f"{', '.join(CLASSIFICATION_KINDS)} (or the task kind 'classification' for binary)"
        )
    return kind  # type: ignore[return-value]


def _numpy(x: Any, name: str) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x)
    if arr.dtype == object:
        raise InvalidInputError(f"{name} must be a numeric array, got dtype object")
    return arr


def _check(
    kind: ClassificationKind, target: Any, logits: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Validated (target int64, logits float) arrays in the shapes of the module docstring."""
    t = _numpy(target, "target")
    z = _numpy(logits, "logits")
    if kind == "binary" and z.ndim == 2 and z.shape[1] == 1:
        z = z[:, 0]
    want = {"binary": (1, 1), "multiclass": (1, 2), "multilabel": (2, 2)}[kind]
    if (t.ndim, z.ndim) != want or len(t) != len(z) or (kind == "multilabel" and t.shape != z.shape):
        shapes = {"binary": "target (n,) and logits (n,)", "multiclass": "target (n,) and "
                  "logits (n, K)", "multilabel": "target (n, L) and logits (n, L)"}[kind]
        raise InvalidInputError(
            f"{kind} metrics need {shapes}; got target {t.shape} and logits {z.shape}"
        )
    if len(t) == 0:
        raise InvalidInputError(f"{kind} metrics need at least one image; got none")
    if not np.issubdtype(z.dtype, np.floating) or not np.isfinite(z).all():
        raise InvalidInputError(f"logits must be finite floats; got dtype {z.dtype} with NaN/inf "
                                "or integers")
    if not (np.issubdtype(t.dtype, np.integer) or np.issubdtype(t.dtype, np.bool_)
            or (np.issubdtype(t.dtype, np.floating) and np.array_equal(t, np.round(t)))):
        raise InvalidInputError(f"target must hold class ids or 0/1 indicators; got {t.dtype}")
    t = t.astype(np.int64)
    hi = z.shape[1] if kind == "multiclass" else 2
    if t.min() < 0 or t.max() >= hi:
        raise InvalidInputError(
            f"{kind} target values must lie in [0, {hi - 1}]; got {int(t.min())}..{int(t.max())}"
        )
    return t, z


def _f1_from_counts(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    den = 2 * tp + fp + fn
    return np.divide(2 * tp, den, out=np.zeros(tp.shape), where=den > 0)


def _weighted(values: np.ndarray, support: np.ndarray) -> float:
    total = support.sum()
    return float((values * support).sum() / total) if total > 0 else 0.0


def _macro_auroc(target_onehot: np.ndarray, scores: np.ndarray) -> float | None:
    """Mean ROC-AUC over columns with both positives and negatives; None if there is none."""
    aucs = [roc_auc(target_onehot[None, :, c], scores[None, :, c])[0]
            for c in range(target_onehot.shape[1])]
    defined = [a for a in aucs if np.isfinite(a)]
    return float(np.mean(defined)) if defined else None


def torchmetrics_probabilities(logits: Any, batch_size: int | None = None) -> np.ndarray:
    """What torchmetrics thresholds after its per-update auto-sigmoid (binary and multi-label).

    Every consecutive block of ``batch_size`` rows (one ``update`` call) is passed through a
    float32 sigmoid unless all its values already lie in [0, 1], in which case it is kept as is.

    Args:
        logits: (n,) or (n, L) raw logits, in test-loader order.
        batch_size: rows per update; None means one update with every row.

    Returns:
        float32 array of the same shape.
    """
    import torch

    z = torch.as_tensor(_numpy(logits, "logits")).float()
    if batch_size is not None and batch_size < 1:
        raise InvalidInputError(f"mb_batch_size must be ≥ 1 or None, got {batch_size}")
    step = len(z) if batch_size is None else batch_size
    out = []
    for i in range(0, len(z), max(step, 1)):
        block = z[i : i + step]
        inside = bool(torch.all((block >= 0) & (block <= 1)))
        out.append(block if inside else block.sigmoid())
    return torch.cat(out).numpy() if out else z.numpy()


def classification_metrics(
    kind: str,
    target: Any,
    logits: Any,
    *,
    class_names: Sequence[str] = (),
    mb_batch_size: int | None = None,
) -> dict[str, Any]:
    """Every classification metric of one split (names and conventions in the module docstring).

    Args:
        kind: ``binary`` (or TaskSpec's ``classification``), ``multiclass`` or ``multilabel``.
        target: (n,) class ids, or (n, L) 0/1 indicators for multi-label.
        logits: raw head outputs: (n,) binary, (n, K) multi-class, (n, L) multi-label.
        class_names: names for ``f1_per_class`` (2 for binary, K or L otherwise); default "0", "1"….
        mb_batch_size: batch size of Mars-Bench's test loader, for ``f1_weighted_mb``'s per-batch
            auto-sigmoid (binary, multi-label); None: the whole split is one batch.

    Returns:
        A dict with the float metrics of this kind (None where undefined), ``f1_per_class``
        (name → float) and ``n_images``.

    Raises:
        InvalidInputError: wrong shapes, non-finite logits, target values out of range, or a
            wrong number of class names.

    Example:
        >>> m = classification_metrics("binary", [0, 1, 1], [-2.0, 3.0, -1.0])
        >>> round(m["f1"], 3), m["accuracy"]
        (0.667, 0.6666666666666666)
    """
    k = classification_kind(kind)
    t, z = _check(k, target, logits)
    n_cls = 2 if k == "binary" else z.shape[1]
    names = tuple(class_names) or tuple(str(i) for i in range(n_cls))
    if len(names) != n_cls:
        raise InvalidInputError(
            f"class_names has {len(names)} names but the {k} task has {n_cls} classes"
        )
    if k == "multilabel":
        out = _multilabel(t, z, mb_batch_size)
    else:
        out = _single_label(k, t, z, mb_batch_size)
    per_class = out.pop("_per_class")
    out["f1_per_class"] = {n: float(v) for n, v in zip(names, per_class, strict=True)}
    out["n_images"] = len(t)
    return out


def _single_label(
    kind: ClassificationKind, t: np.ndarray, z: np.ndarray, mb_batch_size: int | None
) -> dict[str, Any]:
    n_cls = 2 if kind == "binary" else z.shape[1]
    pred = (z > 0).astype(np.int64) if kind == "binary" else z.argmax(axis=1)
    tp, fp, fn = (a[0] for a in class_counts(confusion_matrix(t[None], pred[None], n_cls)))
    f1 = _f1_from_counts(tp, fp, fn)
    support = tp + fn
    present = (tp + fp + fn) > 0
    recall = np.divide(tp, support, out=np.zeros(tp.shape), where=support > 0)
    onehot = np.eye(n_cls, dtype=np.int64)[t]
    out: dict[str, Any] = {}
    if kind == "binary":
        mb_pred = (torchmetrics_probabilities(z, mb_batch_size) > 0.5).astype(np.int64)
        mtp = int(((mb_pred == 1) & (t == 1)).sum())
        mden = 2 * mtp + int(((mb_pred == 1) & (t == 0)).sum()) + int(((mb_pred == 0) & (t == 1)).sum())
        out["f1_weighted_mb"] = 2 * mtp / mden if mden else 0.0
        out["f1"] = float(f1[1])
        auroc = _macro_auroc(onehot[:, 1:], z[:, None])
    else:
        out["f1_weighted_mb"] = _weighted(f1, support)
        shifted = z - z.max(axis=1, keepdims=True)
        prob = np.exp(shifted.astype(np.float64))
        prob /= prob.sum(axis=1, keepdims=True)
        auroc = _macro_auroc(onehot, prob)
    out["f1_weighted"] = _weighted(f1, support)
    out["f1_macro"] = float(f1[present].mean()) if present.any() else 0.0
    out["accuracy"] = float((pred == t).mean())
    out["accuracy_macro"] = float(recall[present].mean()) if present.any() else 0.0
    out["auroc"] = auroc
    out["_per_class"] = f1
    return out


def _multilabel(t: np.ndarray, z: np.ndarray, mb_batch_size: int | None) -> dict[str, Any]:
    pred = (z > 0).astype(np.int64)
    cm = multilabel_confusion_matrix(t[None], pred[None])[0]
    tp, fp, fn = cm[:, 1, 1], cm[:, 0, 1], cm[:, 1, 0]
    f1 = _f1_from_counts(tp, fp, fn)
    mb_pred = (torchmetrics_probabilities(z, mb_batch_size) > 0.5).astype(np.int64)
    mcm = multilabel_confusion_matrix(t[None], mb_pred[None])[0]
    mf1 = _f1_from_counts(mcm[:, 1, 1], mcm[:, 0, 1], mcm[:, 1, 0])
    return {
        "f1_weighted_mb": _weighted(mf1, mcm[:, 1, 1] + mcm[:, 1, 0]),
        "f1_weighted": _weighted(f1, tp + fn),
        "f1_macro": float(f1.mean()),
        "accuracy_subset": float((pred == t).all(axis=1).mean()),
        "accuracy_label": float((pred == t).mean()),
        "auroc": _macro_auroc(t, z),
        "_per_class": f1,
    }


__all__ = [
    "CLASSIFICATION_KINDS",
    "CLASSIFICATION_METRICS",
    "ClassificationKind",
    "classification_kind",
    "classification_metrics",
    "torchmetrics_probabilities",
]
