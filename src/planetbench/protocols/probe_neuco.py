"""NeuCo-Bench v1.1 linear-probe protocol, in NumPy, batched over the K splits.

This reproduces the probe of NeuCo-Bench (Embed2Scale challenge 2025,
``benchmark/evaluation/linear_probing.py`` and ``data/embeddings.py`` of
github.com/embed2scale/NeuCo-Bench) for comparability with its published scores:

* embeddings are z-scored with ONE scalar mean and standard deviation over all values of ``X``
  (NeuCo-Bench does this over the whole submission file; pass that file's standardised values to
  reproduce it exactly);
* labels are min–max normalised per task over all rows (binary 0/1 labels are unchanged);
* splits: ``ShuffleSplit(test_size, random_state=seed)`` — NeuCo-Bench uses ``test_size=0.1`` and
  ``random_state=42`` (``ProbeConfig`` applies these defaults for ``probe="neuco"``);
* one linear layer ``z = x·w + b`` initialised like ``torch.nn.Linear`` (uniform on
  ±1/√d for weights and bias), trained with AdamW (Loshchilov & Hutter 2019; ``torch.optim.AdamW``
  with lr 1e-3, betas (0.9, 0.999), eps 1e-8, decoupled weight decay 0.01 on weights and bias),
  batch size 64 with the last, smaller batch kept, for ``epochs`` epochs over a fresh random order
  of the training rows each epoch; loss MSE (regression) or BCE-with-logits (binary);
* after every epoch the test fold is scored (R² for regression, F1 of ``logit > 0`` for binary) and
  the fold score is the BEST epoch's score.

The protocol is optimistic: the epoch is selected on the test fold itself, so the fold score is
biased upwards. It exists only so scores can be compared with NeuCo-Bench's; the ``ridge`` and
``logistic`` probes select their hyper-parameters without touching the test fold.

Randomness: split ``k`` draws its initial weights and its per-epoch orders from its own generator
(``SeedSequence(seed).spawn(K)[k]``), so the batched mode and the fold-by-fold mode follow the same
streams and give the same fold scores (up to float32 round-off).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from planetbench.errors import InvalidInputError

LR = 1e-3
WEIGHT_DECAY = 0.01
BETAS = (0.9, 0.999)
EPS = 1e-8
BATCH_SIZE = 64
TEST_SIZE = 0.1
SEED = 42


def scalar_zscore(X: np.ndarray) -> np.ndarray:
    """``(X - mean) / std`` with one mean and std over all values (std 0 → 1), as float32."""
    X = np.asarray(X, dtype=np.float32)
    mu, sigma = X.mean(dtype=np.float64), X.std(dtype=np.float64)
    return ((X - mu) / (sigma if sigma != 0 else 1.0)).astype(np.float32)


def minmax_labels(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Per-task min–max normalised labels as float32, with the minimum and range used."""
    y = np.asarray(y, dtype=np.float64)
    lo, span = float(y.min()), float(y.max() - y.min())
    if span == 0:
        raise InvalidInputError(
            "neuco probe: the labels are constant, so min–max normalisation is undefined; "
            "a task needs at least two distinct label values"
        )
    return ((y - lo) / span).astype(np.float32), lo, span


def fold_streams(
    seed: int, n_splits: int, dim: int, n_train: int, epochs: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Initial weights and per-epoch orders of each split from its own seeded generator.

    Returns:
        ``(w0 (K, d), b0 (K,), orders (K, epochs, n_train))``: float32 weights drawn uniformly on
        ±1/√d (``torch.nn.Linear``'s default), and positions into each split's training rows.
    """
    bound = 1.0 / np.sqrt(dim)
    w0 = np.empty((n_splits, dim), dtype=np.float32)
    b0 = np.empty(n_splits, dtype=np.float32)
    orders = np.empty((n_splits, epochs, n_train), dtype=np.intp)
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n_splits)):
        rng = np.random.default_rng(child)
        w0[k] = rng.uniform(-bound, bound, dim)
        b0[k] = rng.uniform(-bound, bound)
        for e in range(epochs):
            orders[k, e] = rng.permutation(n_train)
    return w0, b0, orders


def _fold_score(kind: str, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-split score of logits/predictions ``z`` ``(K, m)`` against labels ``y`` ``(K, m)``."""
    from planetbench.metrics.tabular import f1, r2

    if kind == "regression":
        return r2(y.astype(np.float64), z.astype(np.float64))
    return f1(y.astype(np.int64), (z > 0).astype(np.int64), average="binary")


def train_folds(
    Xs: np.ndarray,
    ys: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    w0: np.ndarray,
    b0: np.ndarray,
    orders: np.ndarray,
    *,
    kind: str,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    weight_decay: float = WEIGHT_DECAY,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train one linear probe per split, all splits in lock-step, scoring the test fold each epoch.

    Args:
        Xs: ``(n, d)`` float32 z-scored embeddings.
        ys: ``(n,)`` float32 normalised labels.
        train_idx: ``(K, n_train)``; test_idx: ``(K, n_test)`` rows of each split.
        test_idx: see ``train_idx``.
        w0: ``(K, d)`` initial weights; b0: ``(K,)`` initial biases.
        b0: see ``w0``.
        orders: ``(K, epochs, n_train)`` order of the training rows in every epoch.
        kind: ``"regression"`` (MSE) or ``"classification"`` (BCE with logits).
        batch_size: rows per AdamW step (the last batch of an epoch may be smaller).
        lr: learning rate.
        weight_decay: decoupled weight decay.

    Returns:
        ``(epoch_scores (K, epochs), best_epoch (K,), best_test_logits (K, n_test))``; the best
        epoch is the first with the highest test score.
    """
    n_splits, n_train = train_idx.shape
    epochs = orders.shape[1]
    beta1, beta2 = BETAS
    w, b = w0.astype(np.float32).copy(), b0.astype(np.float32).copy()
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    rows = np.take_along_axis(train_idx[:, None, :], orders, axis=2)  # (K, epochs, n_train)
    y_test = ys[test_idx]
    scores = np.full((n_splits, epochs), -np.inf)
    best_logits = np.zeros(test_idx.shape, dtype=np.float32)
    split = np.arange(n_splits)[:, None]
    step = 0
    for epoch in range(epochs):
        # Mini-batch products are small: extra BLAS threads would only wait on each other.
        with threadpool_limits(limits=1, user_api="blas"):
            for start in range(0, n_train, batch_size):
                idx = rows[:, epoch, start : start + batch_size]  # (K, B)
                xb, yb = Xs[idx], ys[idx]  # (K, B, d), (K, B)
                z = (xb @ w[:, :, None])[:, :, 0] + b[:, None]
                if kind == "regression":
                    dz = (2.0 / idx.shape[1]) * (z - yb)  # d mean((z - y)²) / dz
                else:
                    dz = (1.0 / idx.shape[1]) * (1.0 / (1.0 + np.exp(-z)) - yb)  # BCE with logits
                g_w = (dz[:, None, :] @ xb)[:, 0, :]
                g_b = dz.sum(axis=1)
                step += 1
                # torch.optim.AdamW: decoupled decay first, then the bias-corrected Adam step.
                bc1, bc2 = 1.0 - beta1**step, 1.0 - beta2**step
                for p, g, m, v in ((w, g_w, m_w, v_w), (b, g_b, m_b, v_b)):
                    p *= 1.0 - lr * weight_decay
                    m *= beta1
                    m += (1.0 - beta1) * g
                    v *= beta2
                    v += (1.0 - beta2) * g * g
                    p -= (lr / bc1) * m / (np.sqrt(v) / np.sqrt(bc2) + EPS)
        z_all = Xs @ w.T + b  # (n, K): every row under every split's model
        z_test = z_all.T[split, test_idx]
        scores[:, epoch] = _fold_score(kind, y_test, z_test)
        better = scores[:, epoch] > scores[:, :epoch].max(axis=1, initial=-np.inf)
        best_logits[better] = z_test[better]
    best_epoch = np.argmax(scores, axis=1)
    return scores, best_epoch, best_logits


def fit_neuco(
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    kind: str,
    seed: int,
    epochs: int,
    batched: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """NeuCo-Bench linear probe on K splits (see the module docstring; optimistic by design).

    Args:
        X: ``(n, d)`` embeddings.
        y: ``(n,)`` real targets (``"regression"``) or 0/1 labels (``"classification"``).
        train_idx: ``(K, n_train)`` training rows; test_idx: ``(K, n_test)`` test rows.
        test_idx: see ``train_idx``.
        kind: ``"regression"`` or ``"classification"``.
        seed: seed of the initial weights and batch orders.
        epochs: training epochs; the best test epoch is kept.
        batched: train all splits in lock-step (fast) or one after the other (same streams and
            scores; used to check and benchmark the batched mode).

    Returns:
        ``(scores, options)``: best-epoch test predictions in label units ``(K, n_test)`` for
        regression or the best epoch's probabilities of class 1 for binary tasks, and options
        ``{"best_epoch": (K,), "epoch_scores": (K, epochs), ...}``.
    """
    if kind not in ("regression", "classification"):
        raise InvalidInputError(
            f"the neuco probe handles kind 'regression' and 'classification' (binary) only; "
            f"got {kind!r}. Use probe='logistic' for multiclass and multilabel tasks"
        )
    Xs = scalar_zscore(X)
    ys, lo, span = minmax_labels(y)
    w0, b0, orders = fold_streams(seed, train_idx.shape[0], Xs.shape[1], train_idx.shape[1], epochs)
    if batched:
        epoch_scores, best_epoch, logits = train_folds(
            Xs, ys, train_idx, test_idx, w0, b0, orders, kind=kind
        )
    else:
        parts = [
            train_folds(
                Xs,
                ys,
                train_idx[k : k + 1],
                test_idx[k : k + 1],
                w0[k : k + 1],
                b0[k : k + 1],
                orders[k : k + 1],
                kind=kind,
            )
            for k in range(train_idx.shape[0])
        ]
        epoch_scores = np.concatenate([p[0] for p in parts])
        best_epoch = np.concatenate([p[1] for p in parts])
        logits = np.concatenate([p[2] for p in parts])
    logits64 = logits.astype(np.float64)
    if kind == "regression":
        scores = logits64 * span + lo
    else:
        scores = 1.0 / (1.0 + np.exp(-logits64))
    return scores, {
        "best_epoch": best_epoch,
        "epoch_scores": epoch_scores,
        "epochs": epochs,
        "batch_size": BATCH_SIZE,
        "lr": LR,
        "weight_decay": WEIGHT_DECAY,
        "label_min": lo,
        "label_range": span,
        "batched": batched,
    }


__all__ = [
    "BATCH_SIZE",
    "LR",
    "SEED",
    "TEST_SIZE",
    "WEIGHT_DECAY",
    "fit_neuco",
    "fold_streams",
    "minmax_labels",
    "scalar_zscore",
    "train_folds",
]
