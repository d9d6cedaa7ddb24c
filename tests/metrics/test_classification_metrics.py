"""Classification metrics against hand-computed values, scikit-learn and torchmetrics (used the way
Mars-Bench's BaseClassificationModel uses it: a MetricCollection updated with raw logits per batch).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score, recall_score, roc_auc_score
from torchmetrics import AUROC, F1Score, MetricCollection

from planetbench.errors import InvalidInputError
from planetbench.metrics.classification import (
    classification_kind,
    classification_metrics,
    torchmetrics_probabilities,
)


def _marsbench_f1(kind: str, target: np.ndarray, logits: np.ndarray, batch: int) -> float:
    """Mars-Bench's test/F1Score_weighted: torchmetrics updated with raw logits per batch."""
    n = logits.shape[1] if logits.ndim == 2 else 1
    args = {"num_labels": n} if kind == "multilabel" else {"num_classes": max(n, 1)}
    coll = MetricCollection({"F1Score_weighted": F1Score(task=kind, average="weighted", **args)})
    for i in range(0, len(target), batch):
        coll.update(torch.as_tensor(logits[i : i + batch]), torch.as_tensor(target[i : i + batch]))
    return float(coll.compute()["F1Score_weighted"])


def test_binary_by_hand() -> None:
    # logits > 0 predict positive: preds 0 1 0 1 1 against targets 0 1 1 1 0
    m = classification_metrics("classification", [0, 1, 1, 1, 0], [-2.0, 3.0, -0.5, 0.1, 1.0],
                               class_names=("background", "frost"))
    # positive class: TP 2, FP 1, FN 1 → F1 = 4 / 6; negative: TP 1, FP 1, FN 1 → 1/2
    assert m["f1"] == pytest.approx(2 / 3)
    assert m["f1_per_class"] == pytest.approx({"background": 0.5, "frost": 2 / 3})
    assert m["f1_weighted"] == pytest.approx((2 * 0.5 + 3 * 2 / 3) / 5)
    assert m["f1_weighted_mb"] == pytest.approx(2 / 3)  # Mars-Bench: the positive class only
    assert m["accuracy"] == pytest.approx(3 / 5)
    assert m["accuracy_macro"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    # AUROC by pairs: positives {3, -0.5, 0.1} vs negatives {-2, 1}: 4 of 6 pairs ordered
    assert m["auroc"] == pytest.approx(4 / 6)
    assert m["n_images"] == 5


def test_binary_matches_sklearn_and_torchmetrics_on_random_logits() -> None:
    rng = np.random.default_rng(0)
    target = rng.integers(0, 2, 57)
    logits = (rng.normal(size=57) + 1.5 * (target - 0.5)).astype(np.float32)
    m = classification_metrics("binary", target, logits, mb_batch_size=16)
    pred = (logits > 0).astype(int)
    assert m["f1"] == pytest.approx(f1_score(target, pred))
    assert m["f1_weighted"] == pytest.approx(f1_score(target, pred, average="weighted"))
    assert m["f1_macro"] == pytest.approx(f1_score(target, pred, average="macro"))
    assert m["accuracy"] == pytest.approx(accuracy_score(target, pred))
    assert m["accuracy_macro"] == pytest.approx(recall_score(target, pred, average="macro"))
    assert m["auroc"] == pytest.approx(roc_auc_score(target, logits))
    auroc = AUROC(task="binary")
    auroc.update(torch.as_tensor(logits), torch.as_tensor(target))
    assert m["auroc"] == pytest.approx(float(auroc.compute()), abs=1e-6)
    mb = _marsbench_f1("binary", target, logits, 16)
    assert m["f1_weighted_mb"] == pytest.approx(mb, abs=1e-6)
    assert m["f1_weighted_mb"] == pytest.approx(m["f1"])  # no batch lies inside [0, 1]


def test_binary_batch_of_logits_inside_0_1_is_thresholded_raw_as_torchmetrics_does() -> None:
    # Batch 2 holds logits 0.2 and 0.7 only: torchmetrics skips the sigmoid there and predicts
    # 0.2 as negative (sigmoid(0.2) = 0.55 would be positive).
    target = np.array([1, 0, 1, 1])
    logits = np.array([2.0, -3.0, 0.2, 0.7], dtype=np.float32)
    m = classification_metrics("binary", target, logits, mb_batch_size=2)
    assert m["f1"] == 1.0
    assert m["f1_weighted_mb"] == pytest.approx(2 * 2 / (2 * 2 + 1))
    assert m["f1_weighted_mb"] == pytest.approx(_marsbench_f1("binary", target, logits, 2))
    # as one batch the values fall outside [0, 1], so the sigmoid is applied
    assert classification_metrics("binary", target, logits)["f1_weighted_mb"] == 1.0
    probs = torchmetrics_probabilities(logits, 2)
    assert probs[2] == pytest.approx(0.2) and probs[0] == pytest.approx(1 / (1 + np.exp(-2)))


def test_multiclass_matches_sklearn_and_torchmetrics() -> None:
    rng = np.random.default_rng(1)
    target = rng.integers(0, 4, 83)
    logits = rng.normal(size=(83, 4)).astype(np.float32)
    logits[np.arange(83), target] += 1.0
    m = classification_metrics("multiclass", target, logits, class_names=("a", "b", "c", "d"),
                               mb_batch_size=32)
    pred = logits.argmax(1)
    assert m["f1_weighted"] == pytest.approx(f1_score(target, pred, average="weighted"))
    assert m["f1_weighted_mb"] == pytest.approx(_marsbench_f1("multiclass", target, logits, 32),
                                                abs=1e-6)
    assert m["f1_macro"] == pytest.approx(f1_score(target, pred, average="macro"))
    assert list(m["f1_per_class"].values()) == pytest.approx(f1_score(target, pred, average=None))
    assert m["accuracy"] == pytest.approx(accuracy_score(target, pred))
    assert m["accuracy_macro"] == pytest.approx(recall_score(target, pred, average="macro"))
    prob = torch.as_tensor(logits).double().softmax(1).numpy()
    assert m["auroc"] == pytest.approx(roc_auc_score(target, prob, multi_class="ovr"))
    auroc = AUROC(task="multiclass", num_classes=4, average="macro")
    auroc.update(torch.as_tensor(logits), torch.as_tensor(target))
    assert m["auroc"] == pytest.approx(float(auroc.compute()), abs=1e-5)


def test_multiclass_absent_class_rules() -> None:
    # class 3 never occurs (neither target nor prediction); class 2 is predicted but never true
    target = np.array([0, 0, 1, 1, 0, 1])
    logits = np.full((6, 4), -5.0)
    for i, p in enumerate([0, 0, 1, 2, 0, 1]):
        logits[i, p] = 5.0
    m = classification_metrics("multiclass", target, logits)
    pred = logits.argmax(1)
    # macro F1 and accuracy skip class 3 but keep the falsely predicted class 2 (scored 0)
    assert m["f1_macro"] == pytest.approx(f1_score(target, pred, average="macro"))
    assert m["f1_macro"] == pytest.approx((1 + 0.8 + 0) / 3)
    assert m["accuracy_macro"] == pytest.approx((1 + 2 / 3 + 0) / 3)
    # AUROC: ours averages the classes with positives and negatives (0 and 1) only; torchmetrics
    # (Mars-Bench's AUROC_macro) scores classes 2 and 3, which have no positives, as 0
    ours = m["auroc"]
    tm = AUROC(task="multiclass", num_classes=4, average="macro")
    with pytest.warns(UserWarning, match="No positive samples"):
        tm.update(torch.as_tensor(logits), torch.as_tensor(target))
        assert float(tm.compute()) == pytest.approx(ours * 2 / 4, abs=1e-6)


def test_multilabel_matches_sklearn_and_torchmetrics() -> None:
    rng = np.random.default_rng(2)
    target = (rng.random((61, 5)) < [0.5, 0.3, 0.1, 0.6, 0.2]).astype(int)
    target[:, 4] = 0  # a label with no support: weight 0 in the weighted F1, 0 in the macro F1
    logits = (rng.normal(size=(61, 5)) + 2.0 * (target - 0.5)).astype(np.float32)
    m = classification_metrics("multilabel", target, logits, mb_batch_size=16)
    pred = (logits > 0).astype(int)
    assert m["f1_weighted"] == pytest.approx(
        f1_score(target, pred, average="weighted", zero_division=0))
    assert m["f1_weighted_mb"] == pytest.approx(_marsbench_f1("multilabel", target, logits, 16),
                                                abs=1e-6)
    assert m["f1_macro"] == pytest.approx(f1_score(target, pred, average="macro", zero_division=0))
    assert list(m["f1_per_class"].values()) == pytest.approx(
        f1_score(target, pred, average=None, zero_division=0))
    assert m["accuracy_subset"] == pytest.approx(accuracy_score(target, pred))
    assert m["accuracy_label"] == pytest.approx((target == pred).mean())
    # AUROC over the 4 labels with positives and negatives (label 4 has no positives)
    assert m["auroc"] == pytest.approx(roc_auc_score(target[:, :4], logits[:, :4]))
    assert "accuracy" not in m and "f1" not in m


def test_auroc_undefined_when_target_has_one_class() -> None:
    m = classification_metrics("binary", [1, 1, 1], [0.3, -1.0, 2.0])
    assert m["auroc"] is None
    assert m["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1))


def test_binary_accepts_n_by_1_logits_and_tensors() -> None:
    a = classification_metrics("binary", torch.tensor([0, 1]), torch.tensor([[-1.0], [1.0]]))
    b = classification_metrics("binary", [0, 1], [-1.0, 1.0])
    assert a == b


def test_classification_kind() -> None:
    assert classification_kind("classification") == "binary"
    assert classification_kind("multilabel") == "multilabel"
    with pytest.raises(InvalidInputError, match="not a classification kind"):
        classification_kind("segmentation")


@pytest.mark.parametrize(
    ("kind", "target", "logits", "match"),
    [
        ("multiclass", [0, 1], [0.1, 0.2], r"target \(n,\) and logits \(n, K\)"),
        ("binary", [0, 1, 1], [0.1, 0.2], "got target"),
        ("binary", [0, 2], [0.1, 0.2], r"must lie in \[0, 1\]"),
        ("multiclass", [0, 3], [[0.1, 0.2, 0.3], [0.0, 0.0, 1.0]], r"\[0, 2\]"),
        ("binary", [0, 1], [np.nan, 0.2], "finite"),
        ("binary", [], [], "at least one image"),
        ("multilabel", [[0, 1]], [[0.1, 0.2, 0.3]], r"target \(n, L\)"),
        ("binary", [0.5, 1], [0.1, 0.2], "class ids"),
    ],
)
def test_errors(kind: str, target: list, logits: list, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        classification_metrics(kind, np.asarray(target), np.asarray(logits, dtype=float))


def test_wrong_number_of_class_names() -> None:
    with pytest.raises(InvalidInputError, match="class_names has 3 names but the binary task"):
        classification_metrics("binary", [0, 1], [0.0, 1.0], class_names=("a", "b", "c"))
    with pytest.raises(InvalidInputError, match="mb_batch_size must be ≥ 1"):
        classification_metrics("binary", [0, 1], [0.0, 1.0], mb_batch_size=0)
