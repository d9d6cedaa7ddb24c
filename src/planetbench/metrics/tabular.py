"""Tabular (probe) metrics, vectorised over K splits.

Every function takes arrays whose first axis is the split: ``y_true`` and ``y_pred`` of shape
``(K, n)`` (``(K, n, C)`` for multilabel indicators and class scores) and returns one value per
split, shape ``(K,)``. Probes built on :func:`sklearn.model_selection.ShuffleSplit` have test folds
of equal size, so the K folds stack into one array. The definitions follow scikit-learn's (same
zero-division convention: an undefined precision, recall or F1 counts as 0), and each metric
declares whether higher is better in :data:`TABULAR_METRICS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

from planetbench.errors import InvalidInputError

FloatArray = np.ndarray


@dataclass(frozen=True)
class TabularMetric:
    """A metric over splits: its name, the function and whether higher values are better."""

    name: str
    fn: Callable[..., np.ndarray]
    higher_is_better: bool


def _pair(y_true: np.ndarray, y_pred: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    yt = np.asarray(y_true)
    yp = np.asarray(y_pred)
    if yt.ndim == 1:
        yt = yt[None]
    if yp.ndim == 1:
        yp = yp[None]
    if yt.shape != yp.shape:
        raise InvalidInputError(
            f"{name}: y_true has shape {yt.shape} but y_pred has shape {yp.shape}; "
            "pass arrays of equal shape (K, n)"
        )
    if yt.shape[-1] == 0:
        raise InvalidInputError(f"{name}: the splits are empty (shape {yt.shape})")
    return yt, yp


def mse(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mean squared error per split: ``(K, n), (K, n) -> (K,)``, in squared label units."""
    yt, yp = _pair(y_true, y_pred, "mse")
    return np.mean((yt - yp) ** 2, axis=1)


def mae(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mean absolute error per split: ``(K, n), (K, n) -> (K,)``, in label units."""
    yt, yp = _pair(y_true, y_pred, "mae")
    return np.mean(np.abs(yt - yp), axis=1)


def r2(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination R² = 1 - SS_res / SS_tot per split: ``(K, n) -> (K,)``.

    As in scikit-learn's ``r2_score`` (``force_finite=True``): when ``y_true`` is constant in
    a split, R² is 1.0 for a perfect prediction and 0.0 otherwise.
    """
    yt, yp = _pair(y_true, y_pred, "r2")
    ss_res = np.sum((yt - yp) ** 2, axis=1)
    ss_tot = np.sum((yt - yt.mean(axis=1, keepdims=True)) ** 2, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - ss_res / ss_tot
    constant = ss_tot == 0
    out[constant] = np.where(ss_res[constant] == 0, 1.0, 0.0)
    return out


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Confusion matrices per split: ``(K, n)`` integer labels -> ``(K, C, C)`` counts.

    Entry ``[k, i, j]`` counts samples of true class ``i`` predicted as ``j``
    (scikit-learn's layout).
    """
    yt, yp = _pair(y_true, y_pred, "confusion_matrix")
    yt = yt.astype(np.int64)
    yp = yp.astype(np.int64)
    if yt.min() < 0 or yp.min() < 0 or yt.max() >= n_classes or yp.max() >= n_classes:
        raise InvalidInputError(
            f"confusion_matrix: labels must lie in 0..{n_classes - 1}; "
            f"got {min(yt.min(), yp.min())}..{max(yt.max(), yp.max())}"
        )
    k = yt.shape[0]
    flat = (np.arange(k)[:, None] * n_classes + yt) * n_classes + yp
    counts = np.bincount(flat.ravel(), minlength=k * n_classes * n_classes)
    return counts.reshape(k, n_classes, n_classes)


def multilabel_confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Per-label 2x2 confusion matrices: ``(K, n, L)`` 0/1 indicators -> ``(K, L, 2, 2)``.

    Layout as scikit-learn's ``multilabel_confusion_matrix``: ``[[tn, fp], [fn, tp]]``.
    """
    yt, yp = _pair(y_true, y_pred, "multilabel_confusion_matrix")
    yt = yt.astype(bool)
    yp = yp.astype(bool)
    tp = np.sum(yt & yp, axis=1)
    fp = np.sum(~yt & yp, axis=1)
    fn = np.sum(yt & ~yp, axis=1)
    tn = np.sum(~yt & ~yp, axis=1)
    return np.stack([np.stack([tn, fp], -1), np.stack([fn, tp], -1)], -2)


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def class_counts(cm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True positives, false positives and false negatives per class from ``(K, C, C)``."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    fp = cm.sum(axis=1) - tp
    fn = cm.sum(axis=2) - tp
    return tp, fp, fn


def prf_from_counts(
    tp: np.ndarray, fp: np.ndarray, fn: np.ndarray, average: str, *, skip_absent: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per split from per-class counts of shape ``(K, C)``.

    Args:
        tp: true positives ``(K, C)``.
        fp: false positives ``(K, C)``.
        fn: false negatives ``(K, C)``.
        average: ``"macro"`` (unweighted mean over classes), ``"micro"`` (pooled counts) or
            ``"binary"`` (the last class only, i.e. class 1 of a binary task).
        skip_absent: for ``"macro"``, leave out classes absent from both truth and prediction in a
            split (scikit-learn's multiclass behaviour); multilabel keeps every label.

    Returns:
        ``(precision, recall, f1)``, each of shape ``(K,)``; 0 where undefined (scikit-learn's
        ``zero_division=0``).
    """
    if average == "binary":
        tp, fp, fn = tp[:, -1:], fp[:, -1:], fn[:, -1:]
    elif average == "micro":
        tp, fp, fn = tp.sum(1, keepdims=True), fp.sum(1, keepdims=True), fn.sum(1, keepdims=True)
    elif average != "macro":
        raise InvalidInputError(
            f"average={average!r} is not supported; use 'macro', 'micro' or 'binary'"
        )
    precision = _safe_div(tp, tp + fp)
    recall = _safe_div(tp, tp + fn)
    f1 = _safe_div(2 * tp, 2 * tp + fp + fn)
    if average == "macro" and skip_absent:
        present = (tp + fp + fn) > 0
        n_present = np.maximum(present.sum(1), 1)
        return tuple(
            np.where(present, v, 0.0).sum(1) / n_present for v in (precision, recall, f1)
        )
    return precision.mean(1), recall.mean(1), f1.mean(1)


def f1(y_true: np.ndarray, y_pred: np.ndarray, *, average: str = "binary") -> np.ndarray:
    """F1 score per split (Van Rijsbergen 1979): ``(K, n)`` labels -> ``(K,)``.

    ``average="binary"`` scores class 1 of 0/1 labels; ``"macro"``/``"micro"`` average over the
    classes ``0..max label``. Multilabel indicators ``(K, n, L)`` are scored per label.
    """
    yt, yp = _pair(y_true, y_pred, "f1")
    return prf_from_counts(*_label_counts(yt, yp, average), average, skip_absent=yt.ndim == 2)[2]


def precision(y_true: np.ndarray, y_pred: np.ndarray, *, average: str = "binary") -> np.ndarray:
    """Precision TP / (TP + FP) per split, averaged as in :func:`f1`: ``(K, n) -> (K,)``."""
    yt, yp = _pair(y_true, y_pred, "precision")
    return prf_from_counts(*_label_counts(yt, yp, average), average, skip_absent=yt.ndim == 2)[0]


def recall(y_true: np.ndarray, y_pred: np.ndarray, *, average: str = "binary") -> np.ndarray:
    """Recall TP / (TP + FN) per split, averaged as in :func:`f1`: ``(K, n) -> (K,)``."""
    yt, yp = _pair(y_true, y_pred, "recall")
    return prf_from_counts(*_label_counts(yt, yp, average), average, skip_absent=yt.ndim == 2)[1]


def _label_counts(
    yt: np.ndarray, yp: np.ndarray, average: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if yt.ndim == 3:  # multilabel indicators
        cm = multilabel_confusion_matrix(yt, yp)
        return cm[..., 1, 1], cm[..., 0, 1], cm[..., 1, 0]
    n_classes = int(max(yt.max(), yp.max(), 1)) + 1
    if average == "binary" and n_classes > 2:
        raise InvalidInputError(
            f"average='binary' needs labels in {{0, 1}}; got labels up to {n_classes - 1}; "
            "use average='macro' or 'micro'"
        )
    return class_counts(confusion_matrix(yt, yp, n_classes))


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Share of exactly right predictions per split: ``(K, n) -> (K,)``.

    For multilabel indicators ``(K, n, L)`` this is subset accuracy (all labels right), as in
    scikit-learn's ``accuracy_score``.
    """
    yt, yp = _pair(y_true, y_pred, "accuracy")
    right = yt == yp
    if right.ndim == 3:
        right = right.all(axis=2)
    return right.mean(axis=1)


def _binary_auc(y_true: np.ndarray, score: np.ndarray) -> np.ndarray:
    """ROC-AUC of 0/1 labels ``(K, n)`` against scores ``(K, n)`` by the Mann–Whitney U statistic.

    AUC = (R₊ - n₊(n₊+1)/2) / (n₊ n₋), with R₊ the sum of the mid-ranks of positives (Hanley &
    McNeil 1982). NaN where a split holds a single class (AUC undefined).
    """
    pos = y_true.astype(bool)
    n_pos = pos.sum(axis=1).astype(np.float64)
    n_neg = pos.shape[1] - n_pos
    ranks = rankdata(score, axis=1)  # mid-ranks for ties
    rank_sum = np.where(pos, ranks, 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc


def roc_auc(y_true: np.ndarray, y_score: np.ndarray) -> np.ndarray:
    """Area under the ROC curve per split, NaN where undefined.

    Args:
        y_true: ``(K, n)`` 0/1 labels (binary), ``(K, n)`` class ids 0..C-1 (multiclass) or
            ``(K, n, C)`` 0/1 indicators (multilabel).
        y_score: ``(K, n)`` score of class 1 (binary) or ``(K, n, C)`` per-class scores.

    Returns:
        ``(K,)``: binary AUC; for multiclass the unweighted mean of one-vs-rest AUCs and for
        multilabel the unweighted mean of per-label AUCs (scikit-learn's ``average="macro"``).
        A split is NaN when a class (or a label's positives or negatives) is absent from its
        ``y_true`` — scikit-learn raises there instead.
    """
    yt = np.asarray(y_true)
    ys = np.asarray(y_score, dtype=np.float64)
    if yt.ndim == 1:
        yt, ys = yt[None], ys[None]
    if ys.ndim == yt.ndim:  # binary or multilabel: same shapes
        if yt.shape != ys.shape:
            raise InvalidInputError(
                f"roc_auc: y_true {yt.shape} and y_score {ys.shape} do not match"
            )
        if yt.ndim == 2:
            return _binary_auc(yt, ys)
        per_label = np.stack([_binary_auc(yt[..., c], ys[..., c]) for c in range(yt.shape[2])])
        return per_label.mean(axis=0)
    if ys.ndim != 3 or ys.shape[:2] != yt.shape:
        raise InvalidInputError(
            f"roc_auc: multiclass scores must have shape (K, n, C) matching y_true {yt.shape}; "
            f"got {ys.shape}"
        )
    n_classes = ys.shape[2]
    per_class = np.stack([_binary_auc(yt == c, ys[..., c]) for c in range(n_classes)])
    return per_class.mean(axis=0)


TABULAR_METRICS: dict[str, TabularMetric] = {
    m.name: m
    for m in (
        TabularMetric("r2", r2, True),
        TabularMetric("mse", mse, False),
        TabularMetric("mae", mae, False),
        TabularMetric("f1", f1, True),
        TabularMetric("f1_macro", lambda t, p: f1(t, p, average="macro"), True),
        TabularMetric("f1_micro", lambda t, p: f1(t, p, average="micro"), True),
        TabularMetric("precision", precision, True),
        TabularMetric("recall", recall, True),
        TabularMetric("accuracy", accuracy, True),
        TabularMetric("roc_auc", roc_auc, True),
    )
}
"""Every tabular metric by name, with its direction (``higher_is_better``)."""


def higher_is_better(name: str) -> bool:
    """Whether larger values of the metric ``name`` are better (``mse`` → False, ``r2`` → True)."""
    if name not in TABULAR_METRICS:
        raise InvalidInputError(
            f"unknown tabular metric {name!r}; available: {', '.join(sorted(TABULAR_METRICS))}"
        )
    return TABULAR_METRICS[name].higher_is_better


__all__ = [
    "TABULAR_METRICS",
    "TabularMetric",
    "accuracy",
    "class_counts",
    "confusion_matrix",
    "f1",
    "higher_is_better",
    "mae",
    "mse",
    "multilabel_confusion_matrix",
    "precision",
    "prf_from_counts",
    "r2",
    "recall",
    "roc_auc",
]
