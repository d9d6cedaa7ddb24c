"""NeuCo-Bench v1.1 linear-probe protocol, in NumPy, batched over the K splits.

This reproduces the probe of NeuCo-Bench (Embed2Scale challenge 2025,
``benchmark/evaluation/linear_probing.py`` and ``data/embeddings.py`` of
github.com/embed2scale/NeuCo-Bench) for comparability with its published scores:

* embeddings are z-scored with ONE scalar mean and standard deviation over all values of ``X``
  (:func:`scalar_zscore`). NeuCo-Bench does this once over the labelled rows of the whole
  submission file: to reproduce it exactly, pass that file's standardised values with
  ``standardize=False`` (``evaluate_embeddings(standardize=True)`` does);
* labels are min–max normalised per task over all rows (:func:`minmax_labels`; binary 0/1
  labels are unchanged);
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

Randomness: split ``k`` draws its initial weights from its own generator
(``SeedSequence(seed).spawn(K)[k]``). The batch orders come from one random permutation of ALL rows
per epoch (:func:`epoch_permutations`): split ``k`` visits its training rows in the order in which
they appear in that permutation. Restricted to a subset, a uniformly random permutation is a
uniformly random order of the subset, so each split sees a fresh uniformly random order every
epoch, as NeuCo-Bench's shuffling ``DataLoader`` gives it; unlike there, the orders of different
splits are correlated (they agree on the rows the splits share). In exchange, the batches of all
splits at one step lie in one short contiguous window of the permuted embeddings, and one pair of
matrix products serves every split (:func:`train_folds`) instead of K gathers of scattered rows.
The fold-by-fold mode follows the same streams and gives the same fold scores (up to float32
round-off).
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


#: Rows per chunk when the scalar moments are accumulated (bounds the float64 temporaries).
_CHUNK_ROWS = 4_096


def scalar_moments(X: np.ndarray, rows: np.ndarray | None = None) -> tuple[float, float]:
    """One mean and one standard deviation (ddof 0) over every value of ``X[rows]``.

    The values are taken as float32, as NeuCo-Bench reads them, and accumulated in float64 by
    chunks of rows (two passes: the mean, then the squared deviations from it): long sums lose no
    digits, no float64 copy of the whole matrix is made, and no float32 value overflows or
    underflows when squared in float64.

    Args:
        X: ``(n, d)`` embeddings (any float type).
        rows: row indices (or a boolean mask of shape (n,)) of the values to use; all rows when
            None or when it selects none.

    Returns:
        ``(mean, std)``; ``std`` is 1.0 when every value is equal (as NeuCo-Bench does).

    Raises:
        InvalidInputError: the values are not finite as float32 (|x| beyond 3.4e38).
    """
    X = np.asarray(X)
    index = np.arange(X.shape[0]) if rows is None else np.asarray(rows)
    if index.dtype == bool:
        index = np.flatnonzero(index)
    if index.size == 0:
        index = np.arange(X.shape[0])
    count = index.size * (X.shape[1] if X.ndim == 2 else 1)
    if count == 0:
        return 0.0, 1.0
    chunks = [index[i : i + _CHUNK_ROWS] for i in range(0, index.size, _CHUNK_ROWS)]
    total = sum(float(_as_float32(X[c]).sum(dtype=np.float64)) for c in chunks)
    mu = total / count
    squares = 0.0
    for c in chunks:
        dev = _as_float32(X[c]).astype(np.float64) - mu
        squares += float(np.vdot(dev, dev))
    sigma = float(np.sqrt(squares / count))
    if not np.isfinite(sigma):
        raise InvalidInputError(
            "the embeddings hold values that are not finite as float32 (|x| beyond 3.4e38, or "
            "NaN/inf); divide every value by one constant: z-scoring removes any global scale"
        )
    return mu, sigma if sigma != 0 else 1.0


def scalar_zscore(
    X: np.ndarray, *, rows: np.ndarray | None = None, out: np.ndarray | None = None
) -> np.ndarray:
    """``(X - mean) / std`` as float32, with one scalar mean and std over all values.

    NeuCo-Bench's ``standardize_embeddings`` (Vinge et al. 2025): the moments come from the rows
    whose id is labelled (``rows``) and apply to every row. The moments are computed in float64
    (:func:`scalar_moments`); the result is float32, as NeuCo-Bench's probe reads it.

    Args:
        X: ``(n, d)`` embeddings.
        rows: rows the moments come from (all rows when None).
        out: float32 array of X's shape to write into (may be ``X`` itself).

    Returns:
        The standardised ``(n, d)`` float32 embeddings (``out`` when given).
    """
    X = np.asarray(X)
    mu, sigma = scalar_moments(X, rows)
    if out is None:
        out = np.empty(X.shape, dtype=np.float32)
    for start in range(0, X.shape[0], _CHUNK_ROWS):
        part = slice(start, start + _CHUNK_ROWS)
        out[part] = (_as_float32(X[part]).astype(np.float64) - mu) / sigma
    return out


def _as_float32(X: np.ndarray) -> np.ndarray:
    """The values as NeuCo-Bench reads them: float32 (a no-op for float32 input)."""
    return np.asarray(X, dtype=np.float32)


def minmax_labels(y: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Per-task min–max normalised labels (NeuCo-Bench's ``normalize_labels``) in float64.

    Returns:
        ``(scaled, minimum, range)`` with ``scaled = (y - minimum) / range`` in [0, 1]; scaling
        scaled labels again changes nothing (their minimum is 0 and their range 1, exactly).

    Raises:
        InvalidInputError: the labels are constant, or their range overflows float64.
    """
    y = np.asarray(y, dtype=np.float64)
    lo, hi = float(y.min()), float(y.max())
    span = hi - lo  # Python floats: an overflow gives inf without a warning
    if span == 0:
        raise InvalidInputError(
            "neuco probe: the labels are constant, so min–max normalisation is undefined; "
            "a task needs at least two distinct label values"
        )
    if not np.isfinite(span):
        raise InvalidInputError(
            f"the labels' range ({y.min():.3g} to {y.max():.3g}) overflows float64; rescale "
            "the labels (other units)"
        )
    return (y - lo) / span, lo, span


def initial_weights(seed: int, n_splits: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Initial weights and biases of each split's linear layer from its own seeded generator.

    Returns:
        ``(w0 (K, d), b0 (K,))``, float32, drawn uniformly on ±1/√d (``torch.nn.Linear``'s
        default); split ``k`` uses child ``k`` of ``SeedSequence(seed)`` whatever K is.
    """
    bound = 1.0 / np.sqrt(dim)
    w0 = np.empty((n_splits, dim), dtype=np.float32)
    b0 = np.empty(n_splits, dtype=np.float32)
    for k, child in enumerate(np.random.SeedSequence(seed).spawn(n_splits)):
        rng = np.random.default_rng(child)
        w0[k] = rng.uniform(-bound, bound, dim)
        b0[k] = rng.uniform(-bound, bound)
    return w0, b0


def epoch_permutations(seed: int, n_rows: int, epochs: int) -> np.ndarray:
    """One random permutation of all ``n_rows`` rows per epoch, shared by the splits.

    Returns:
        ``(epochs, n_rows)`` row indices; a split visits its training rows in this order.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return np.stack([rng.permutation(n_rows) for _ in range(epochs)])


def _fold_score(kind: str, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-split score of logits/predictions ``z`` ``(K, m)`` against labels ``y`` ``(K, m)``."""
    from planetbench.metrics.tabular import f1, r2

    if kind == "regression":
        return r2(y.astype(np.float64), z.astype(np.float64))
    return f1(y.astype(np.int64), (z > 0).astype(np.int64), average="binary")


def _adamw_step(
    p: np.ndarray,
    g: np.ndarray,
    m: np.ndarray,
    v: np.ndarray,
    tmp: np.ndarray,
    step: int,
    lr: float,
    decay: np.float32,
) -> None:
    """One in-place ``torch.optim.AdamW`` step (decoupled decay, then bias-corrected Adam).

    Args:
        p: parameters, updated in place.
        g: their gradient.
        m: first-moment estimate, updated in place.
        v: second-moment estimate, updated in place.
        tmp: scratch array of ``p``'s shape.
        step: 1-based step number (bias correction).
        lr: learning rate.
        decay: ``1 - lr · weight_decay``.
    """
    beta1, beta2 = BETAS
    bc1, bc2 = 1.0 - beta1**step, 1.0 - beta2**step
    p *= decay
    m *= beta1
    np.multiply(g, 1.0 - beta1, out=tmp)
    m += tmp
    v *= beta2
    np.square(g, out=tmp)
    tmp *= 1.0 - beta2
    v += tmp
    np.sqrt(v, out=tmp)
    tmp *= 1.0 / np.sqrt(bc2)
    tmp += EPS
    np.divide(m, tmp, out=tmp)
    tmp *= lr / bc1
    p -= tmp


def train_folds(
    Xs: np.ndarray,
    ys: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    w0: np.ndarray,
    b0: np.ndarray,
    perms: np.ndarray,
    *,
    kind: str,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    weight_decay: float = WEIGHT_DECAY,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train one linear probe per split, all splits in lock-step, scoring the test fold each epoch.

    At step ``s`` of an epoch, split ``k`` takes the ``s``-th run of ``batch_size`` of its
    training rows in the order of the epoch's permutation. These runs lie in one window of the
    permuted rows for every split, so the logits of all splits are one product
    ``window @ Wᵀ`` and the gradients one product ``(mask ⊙ dz)ᵀ @ window``; rows of the window
    outside a split's batch are masked out.

    Args:
        Xs: ``(n, d)`` float32 z-scored embeddings.
        ys: ``(n,)`` float32 normalised labels.
        train_idx: ``(K, n_train)`` training rows of each split.
        test_idx: ``(K, n_test)`` test rows of each split.
        w0: ``(K, d)`` initial weights.
        b0: ``(K,)`` initial biases.
        perms: ``(epochs, n)`` permutation of all rows in each epoch
            (:func:`epoch_permutations`).
        kind: ``"regression"`` (MSE) or ``"classification"`` (BCE with logits).
        batch_size: rows per AdamW step (the last batch of an epoch may be smaller).
        lr: learning rate.
        weight_decay: decoupled weight decay.

    Returns:
        ``(epoch_scores (K, epochs), best_epoch (K,), best_test_logits (K, n_test))``; the best
        epoch is the first with the highest test score.
    """
    n_splits, n_train = train_idx.shape
    n = Xs.shape[0]
    epochs = perms.shape[0]
    w, b = w0.astype(np.float32).copy(), b0.astype(np.float32).copy()
    m_w, v_w = np.zeros_like(w), np.zeros_like(w)
    m_b, v_b = np.zeros_like(b), np.zeros_like(b)
    tmp_w, tmp_b = np.empty_like(w), np.empty_like(b)
    in_train = np.zeros((n_splits, n), dtype=bool)
    in_train[np.arange(n_splits)[:, None], train_idx] = True
    x_test = Xs[test_idx]  # (K, n_test, d)
    y_test = ys[test_idx]
    scores = np.full((n_splits, epochs), -np.inf)
    best_logits = np.zeros(test_idx.shape, dtype=np.float32)
    split = np.arange(n_splits)
    decay = np.float32(1.0 - lr * weight_decay)
    step = 0
    # The products are small: extra BLAS threads would only wait on each other.
    with threadpool_limits(limits=1, user_api="blas"):
        for epoch in range(epochs):
            perm = perms[epoch]
            x_perm, y_perm = Xs[perm], ys[perm]
            # pos[k]: positions in this epoch's permutation of split k's training rows, in order.
            pos = np.nonzero(in_train[:, perm])[1].reshape(n_splits, n_train)
            for start in range(0, n_train, batch_size):
                batch = pos[:, start : start + batch_size]  # (K, B)
                lo, hi = int(batch[:, 0].min()), int(batch[:, -1].max()) + 1
                mask = np.zeros((hi - lo, n_splits), dtype=np.float32)
                mask[batch - lo, split[:, None]] = 1.0
                window = x_perm[lo:hi]  # (L, d), a view
                z = window @ w.T + b  # (L, K)
                y_win = y_perm[lo:hi, None]
                if kind == "regression":
                    dz = (2.0 / batch.shape[1]) * (z - y_win)  # d mean((z - y)²) / dz
                else:
                    dz = (1.0 / batch.shape[1]) * (1.0 / (1.0 + np.exp(-z)) - y_win)  # BCE
                dz *= mask
                g_w = dz.T @ window  # (K, d)
                g_b = dz.sum(axis=0)
                step += 1
                _adamw_step(w, g_w, m_w, v_w, tmp_w, step, lr, decay)
                _adamw_step(b, g_b, m_b, v_b, tmp_b, step, lr, decay)
            z_test = (x_test @ w[:, :, None])[:, :, 0] + b[:, None]  # (K, n_test)
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
    standardize: bool = True,
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
        standardize: z-score ``X`` first (:func:`scalar_zscore`). False when the caller already
            applied NeuCo-Bench's standardisation over the whole submission file (as
            :func:`~planetbench.embedding.evaluate.evaluate_embeddings` does with
            ``standardize=True``): NeuCo-Bench z-scores once per file, never again per task.

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
    Xs = scalar_zscore(X) if standardize else np.asarray(X, dtype=np.float32)
    scaled, lo, span = minmax_labels(y)
    ys = scaled.astype(np.float32)
    w0, b0 = initial_weights(seed, train_idx.shape[0], Xs.shape[1])
    perms = epoch_permutations(seed, Xs.shape[0], epochs)
    if batched:
        epoch_scores, best_epoch, logits = train_folds(
            Xs, ys, train_idx, test_idx, w0, b0, perms, kind=kind
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
                perms,
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
        "standardize": standardize,
    }


__all__ = [
    "BATCH_SIZE",
    "LR",
    "SEED",
    "TEST_SIZE",
    "WEIGHT_DECAY",
    "epoch_permutations",
    "fit_neuco",
    "initial_weights",
    "minmax_labels",
    "scalar_moments",
    "scalar_zscore",
    "train_folds",
]
