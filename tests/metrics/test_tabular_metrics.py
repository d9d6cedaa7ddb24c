"""Tabular metrics over splits against scikit-learn on tiny arrays."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torchmetrics.functional as tmf
from sklearn import metrics as skm

from planetbench.errors import InvalidInputError
from planetbench.metrics import tabular

K, N = 3, 12


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def test_regression_metrics_match_sklearn(rng: np.random.Generator) -> None:
    yt = rng.normal(size=(K, N))
    yp = yt + rng.normal(scale=0.5, size=(K, N))
    for name, ref in (
        ("r2", skm.r2_score),
        ("mse", skm.mean_squared_error),
        ("mae", skm.mean_absolute_error),
    ):
        ours = tabular.TABULAR_METRICS[name].fn(yt, yp)
        assert ours.shape == (K,)
        np.testing.assert_allclose(ours, [ref(yt[k], yp[k]) for k in range(K)], rtol=1e-12)


def test_r2_constant_target_follows_sklearn() -> None:
    yt = np.array([[1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    yp = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 1.0]])
    np.testing.assert_array_equal(tabular.r2(yt, yp), [1.0, 0.0])
    assert skm.r2_score(yt[1], yp[1]) == 0.0


def test_binary_metrics_match_sklearn(rng: np.random.Generator) -> None:
    yt = rng.integers(0, 2, size=(K, N))
    yp = rng.integers(0, 2, size=(K, N))
    for fn, ref in (
        (tabular.f1, skm.f1_score),
        (tabular.precision, skm.precision_score),
        (tabular.recall, skm.recall_score),
    ):
        want = [ref(yt[k], yp[k], zero_division=0) for k in range(K)]
        np.testing.assert_allclose(fn(yt, yp), want)
    np.testing.assert_allclose(
        tabular.accuracy(yt, yp), [skm.accuracy_score(yt[k], yp[k]) for k in range(K)]
    )


def test_multiclass_metrics_match_sklearn(rng: np.random.Generator) -> None:
    yt = rng.integers(0, 4, size=(K, N))
    yp = rng.integers(0, 4, size=(K, N))
    yp[0][yp[0] == 3] = 2  # class 3 absent from one split's predictions
    for avg in ("macro", "micro"):
        np.testing.assert_allclose(
            tabular.f1(yt, yp, average=avg),
            [skm.f1_score(yt[k], yp[k], average=avg, zero_division=0) for k in range(K)],
        )
        np.testing.assert_allclose(
            tabular.precision(yt, yp, average=avg),
            [skm.precision_score(yt[k], yp[k], average=avg, zero_division=0) for k in range(K)],
        )
        np.testing.assert_allclose(
            tabular.recall(yt, yp, average=avg),
            [skm.recall_score(yt[k], yp[k], average=avg, zero_division=0) for k in range(K)],
        )
    cm = tabular.confusion_matrix(yt, yp, 4)
    assert cm.shape == (K, 4, 4)
    for k in range(K):
        np.testing.assert_array_equal(cm[k], skm.confusion_matrix(yt[k], yp[k], labels=range(4)))


def test_macro_f1_skips_classes_absent_from_truth_and_prediction() -> None:
    yt = np.array([[0, 0, 1, 1]])
    yp = np.array([[0, 1, 1, 1]])
    # class 2 never appears: sklearn averages over classes 0 and 1 only.
    ours = tabular.f1(np.hstack([yt, [[0]]]), np.hstack([yp, [[0]]]), average="macro")
    assert ours[0] == pytest.approx(skm.f1_score([0, 0, 1, 1, 0], [0, 1, 1, 1, 0], average="macro"))


def test_multilabel_metrics_match_sklearn(rng: np.random.Generator) -> None:
    yt = rng.integers(0, 2, size=(K, N, 3))
    yp = rng.integers(0, 2, size=(K, N, 3))
    for avg in ("macro", "micro"):
        np.testing.assert_allclose(
            tabular.f1(yt, yp, average=avg),
            [skm.f1_score(yt[k], yp[k], average=avg, zero_division=0) for k in range(K)],
        )
    np.testing.assert_allclose(
        tabular.accuracy(yt, yp), [skm.accuracy_score(yt[k], yp[k]) for k in range(K)]
    )
    mcm = tabular.multilabel_confusion_matrix(yt, yp)
    for k in range(K):
        np.testing.assert_array_equal(mcm[k], skm.multilabel_confusion_matrix(yt[k], yp[k]))


def test_roc_auc_matches_sklearn_with_ties(rng: np.random.Generator) -> None:
    yt = rng.integers(0, 2, size=(K, N))
    score = np.round(rng.random((K, N)), 1)  # ties
    np.testing.assert_allclose(
        tabular.roc_auc(yt, score), [skm.roc_auc_score(yt[k], score[k]) for k in range(K)]
    )
    yc = np.tile(np.arange(3), (K, 4))
    proba = rng.dirichlet(np.ones(3), size=(K, N))
    want = [skm.roc_auc_score(yc[k], proba[k], multi_class="ovr") for k in range(K)]
    np.testing.assert_allclose(tabular.roc_auc(yc, proba), want)
    yl = rng.integers(0, 2, size=(K, N, 2))
    yl[:, 0] = [0, 1]
    yl[:, 1] = [1, 0]
    sl = rng.random((K, N, 2))
    want = [skm.roc_auc_score(yl[k], sl[k], average="macro") for k in range(K)]
    np.testing.assert_allclose(tabular.roc_auc(yl, sl), want)


def test_roc_auc_is_nan_only_when_undefined() -> None:
    yt = np.array([[0, 0, 0, 0], [0, 1, 0, 1]])
    out = tabular.roc_auc(yt, np.array([[0.1, 0.2, 0.3, 0.4], [0.1, 0.9, 0.2, 0.8]]))
    assert np.isnan(out[0])
    assert out[1] == 1.0


def test_higher_is_better_is_declared() -> None:
    assert tabular.higher_is_better("r2") is True
    assert tabular.higher_is_better("mse") is False
    assert tabular.higher_is_better("mae") is False
    assert all(
        tabular.TABULAR_METRICS[m].higher_is_better
        for m in ("f1", "f1_macro", "f1_micro", "precision", "recall", "accuracy", "roc_auc")
    )


def test_errors() -> None:
    with pytest.raises(InvalidInputError, match="shape"):
        tabular.mse(np.zeros((2, 3)), np.zeros((2, 4)))
    with pytest.raises(InvalidInputError, match="empty"):
        tabular.mae(np.zeros((2, 0)), np.zeros((2, 0)))
    with pytest.raises(InvalidInputError, match=r"labels must lie in 0\.\.1"):
        tabular.confusion_matrix(np.array([[0, 2]]), np.array([[0, 1]]), 2)
    with pytest.raises(InvalidInputError, match="average='binary' needs labels"):
        tabular.f1(np.array([[0, 2]]), np.array([[0, 1]]))
    with pytest.raises(InvalidInputError, match="average='weighted' is not supported"):
        tabular.f1(np.array([[0, 1]]), np.array([[0, 1]]), average="weighted")
    with pytest.raises(InvalidInputError, match="unknown tabular metric 'r3'"):
        tabular.higher_is_better("r3")
    with pytest.raises(InvalidInputError, match="do not match"):
        tabular.roc_auc(np.zeros((1, 3)), np.zeros((1, 4)))
    with pytest.raises(InvalidInputError, match=r"multiclass scores must have shape"):
        tabular.roc_auc(np.zeros((1, 3)), np.zeros((2, 3, 2)))


def test_match_torchmetrics(rng: np.random.Generator) -> None:
    """torchmetrics as a second reference for the probe metrics, split by split."""
    yt = rng.integers(0, 3, size=(K, N))
    yp = rng.integers(0, 3, size=(K, N))
    bt, bp = yt % 2, yp % 2
    for k in range(K):
        t, p = torch.as_tensor(yt[k]), torch.as_tensor(yp[k])
        want_macro = tmf.classification.multiclass_f1_score(p, t, 3, average="macro")
        want_micro = tmf.classification.multiclass_f1_score(p, t, 3, average="micro")
        want_acc = tmf.classification.multiclass_accuracy(p, t, 3, average="micro")
        assert tabular.f1(yt, yp, average="macro")[k] == pytest.approx(float(want_macro))
        assert tabular.f1(yt, yp, average="micro")[k] == pytest.approx(float(want_micro))
        assert tabular.accuracy(yt, yp)[k] == pytest.approx(float(want_acc))
        b_t, b_p = torch.as_tensor(bt[k]), torch.as_tensor(bp[k])
        for ours, ref in ((tabular.f1, tmf.classification.binary_f1_score),
                          (tabular.precision, tmf.classification.binary_precision),
                          (tabular.recall, tmf.classification.binary_recall)):
            assert ours(bt, bp)[k] == pytest.approx(float(ref(b_p, b_t))), ours.__name__
    y = rng.normal(size=(K, N))
    yhat = y + rng.normal(scale=0.5, size=(K, N))
    score = np.round(rng.random((K, N)), 1)  # ties
    for k in range(K):
        t, p = torch.as_tensor(y[k]), torch.as_tensor(yhat[k])
        assert tabular.r2(y, yhat)[k] == pytest.approx(float(tmf.r2_score(p, t)))
        assert tabular.mse(y, yhat)[k] == pytest.approx(float(tmf.mean_squared_error(p, t)))
        assert tabular.mae(y, yhat)[k] == pytest.approx(float(tmf.mean_absolute_error(p, t)))
        auc = tmf.classification.binary_auroc(torch.as_tensor(score[k]), torch.as_tensor(bt[k]))
        assert tabular.roc_auc(bt, score)[k] == pytest.approx(float(auc))
