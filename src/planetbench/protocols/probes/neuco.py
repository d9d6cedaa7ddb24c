"""NeuCo-Bench v1.1 linear-probe protocol, in NumPy, batched over the K splits.

This reproduces the linear probe of NeuCo-Bench v1.1 (github.com/embed2scale/NeuCo-Bench at
a89ba06: ``benchmark/evaluation/probes/linear.py``, ``evaluation.py`` and ``data/embeddings.py``)
for comparability with its published scores:

* embeddings are z-scored with ONE scalar mean and standard deviation over all values of ``X``
  (:func:`scalar_zscore`). NeuCo-Bench does this once over the labelled rows of the whole
  submission file: to reproduce it exactly, pass that file's standardised values with
  ``standardize=False`` (``evaluate_embeddings(standardize=True)`` does);
* labels are min–max normalised per task over all rows (:func:`minmax_labels`; binary 0/1
  labels are unchanged), unless NeuCo's ``normalize_labels`` is false;
* splits: plain ``ShuffleSplit(test_size, random_state=seed)`` for every task kind, binary tasks
  included (NeuCo-Bench does not stratify; our ``ridge`` and ``logistic`` probes do) — NeuCo-Bench
  uses ``test_size=0.1`` and ``random_state=42`` (``ProbeConfig`` applies these defaults for
  ``probe="neuco"``);
* one linear layer ``z = x·w + b`` initialised like ``torch.nn.Linear`` (uniform on
  ±1/√d for weights and bias), trained with AdamW (Loshchilov & Hutter 2019; ``torch.optim.AdamW``
  with learning rate ``lr`` (NeuCo's default 1e-3), betas (0.9, 0.999), eps 1e-8, decoupled weight
  decay 0.01 on weights and bias), batches of ``batch_size`` (default 64) with the last, smaller
  batch kept, for ``epochs`` epochs over a fresh random order of the training rows each epoch;
  loss MSE (regression) or BCE-with-logits (binary);
* after every epoch the test fold is scored — R² for regression, with torchmetrics' rules for
  near-zero sums of squares (:func:`neuco_r2`); for binary tasks the F1 of
  torchmetrics' ``BinaryF1Score`` as NeuCo-Bench calls it on the raw outputs, which reads them as
  probabilities when they all lie in [0, 1] and as logits otherwise
  (:func:`binary_probabilities`) — and the fold score is the BEST epoch's score (an epoch replaces
  the best only when strictly higher: NaN scores never do, and a fold with no defined score keeps
  NeuCo's start value ``-inf``);
* the mean training loss of each epoch and the test-fold loss after it are kept per split
  (NeuCo-Bench's loss curves).

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

from dataclasses import dataclass
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


def neuco_zscore(X: np.ndarray, rows: np.ndarray, *, padded: bool) -> np.ndarray:
    """NeuCo-Bench's own ``standardize_embeddings``, float for float, in place on ``X``.

    NeuCo-Bench takes one mean and standard deviation of the float32 matrix of the labelled rows
    (in file order) with NumPy's float32 reductions, and ``(X - mean) / std`` in float32. NumPy's
    pairwise sums depend on the memory order of that matrix, which pandas hands over
    column-major (row-major once NeuCo has zero-padded it); the same reductions over the same
    layout give the same two float32 numbers here, so the standardised values are NeuCo's
    exactly. (:func:`scalar_zscore`, planetbench's own, accumulates in float64 instead.)

    Args:
        X: ``(n, d)`` float32 embeddings, overwritten.
        rows: boolean mask ``(n,)`` of the labelled rows the moments come from.
        padded: the matrix was zero-padded to ``embedding_dim`` (row-major in NeuCo).

    Returns:
        ``X``, standardised.
    """
    sub = X[np.asarray(rows)] if np.asarray(rows).any() else X
    if not padded:
        sub = np.asfortranarray(sub)
    mu, sigma = sub.mean(), sub.std()
    if not np.isfinite(sigma):
        raise InvalidInputError(
            "the embeddings hold values whose float32 standard deviation overflows (|x| near "
            "3.4e38); divide every value by one constant: z-scoring removes any global scale"
        )
    sigma = sigma if sigma != 0 else np.float32(1.0)
    X -= mu
    X /= sigma
    return X


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


def binary_probabilities(z: np.ndarray) -> np.ndarray:
    """NeuCo-Bench's reading of a binary probe's outputs, per split, as probabilities.

    NeuCo-Bench scores binary tasks with torchmetrics' ``BinaryF1Score`` on the raw outputs, which
    takes them as probabilities when every value of the call lies in [0, 1] and as logits (it
    applies the sigmoid) otherwise; either way the class is ``value > 0.5``. This returns, for each
    row of ``z``, the values themselves when they all lie in [0, 1] and their sigmoid otherwise.

    Args:
        z: ``(K, m)`` outputs of K probes on their test folds.

    Returns:
        ``(K, m)`` float64 values whose ``> 0.5`` is NeuCo-Bench's predicted class.
    """
    z = np.asarray(z, dtype=np.float64)
    as_probability = np.all((z >= 0.0) & (z <= 1.0), axis=1, keepdims=True)
    return np.where(as_probability, z, 1.0 / (1.0 + np.exp(-z)))


#: torchmetrics' R2Score treats a residual or total sum of squares within this of 0 as 0.
R2_ATOL = 1e-4


def neuco_r2(y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """R² per split as torchmetrics' ``R2Score`` (NeuCo-Bench's metric) computes it.

    ``1 - rss / tss``, except: a residual sum of squares within :data:`R2_ATOL` of 0 scores 1,
    and otherwise a total sum of squares within it scores 0 (a near-constant test fold). These
    rules matter for targets on a small scale (``normalize_labels: false``).

    Args:
        y: ``(K, m)`` targets; z: ``(K, m)`` predictions.
        z: see ``y``.

    Returns:
        ``(K,)`` float64 scores.
    """
    y = y.astype(np.float64)
    rss = np.sum(np.square(y - z.astype(np.float64)), axis=1)
    tss = np.sum(np.square(y), axis=1) - np.sum(y, axis=1) ** 2 / y.shape[1]
    rss_zero, tss_zero = np.abs(rss) <= R2_ATOL, np.abs(tss) <= R2_ATOL
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(tss_zero, 0.0, 1.0 - rss / np.where(tss_zero, 1.0, tss))
    return np.where(rss_zero, 1.0, score)


def _fold_score(kind: str, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per-split score of outputs ``z`` ``(K, m)`` against labels ``y`` ``(K, m)``: R² as
    torchmetrics computes it (:func:`neuco_r2`), or the binary F1 of NeuCo-Bench's class decision
    (:func:`binary_probabilities` > 0.5)."""
    from planetbench.metrics.tabular import f1

    if kind == "regression":
        return neuco_r2(y, z)
    pred = (binary_probabilities(z) > 0.5).astype(np.int64)
    return f1(np.rint(y).astype(np.int64), pred, average="binary")


def _batch_loss(kind: str, z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Elementwise loss of outputs ``z`` against targets ``y``: squared error or BCE with logits."""
    if kind == "regression":
        return np.square(z - y)
    # BCE with logits, stable: max(z, 0) - z·y + log(1 + exp(-|z|)).
    return np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))


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


@dataclass
class FoldTraining:
    """What :func:`train_folds` records of K probes trained in lock-step.

    Attributes:
        epoch_scores: ``(K, epochs)`` test-fold score after each epoch (NaN where undefined).
        best_score: ``(K,)`` NeuCo-Bench's fold score: the highest epoch score, ``-inf`` when no
            epoch had a defined score (NeuCo-Bench's start value, never replaced by NaN).
        best_epoch: ``(K,)`` first epoch reaching ``best_score`` (-1 when none did).
        best_logits: ``(K, n_test)`` test outputs of the best epoch, in ``test_idx`` order.
        train_loss: ``(K, epochs)`` mean of the batch losses of each epoch (NeuCo's loss curve).
        val_loss: ``(K, epochs)`` mean of the test-fold batch losses after each epoch.
        train_outputs: ``(K, n_train)`` outputs of the best epoch's training batches as they were
            computed during that epoch, or None (only kept on request, for NeuCo's plots).
        train_targets: ``(K, n_train)`` their targets, in the same order, or None.
    """

    epoch_scores: np.ndarray
    best_score: np.ndarray
    best_epoch: np.ndarray
    best_logits: np.ndarray
    train_loss: np.ndarray
    val_loss: np.ndarray
    train_outputs: np.ndarray | None = None
    train_targets: np.ndarray | None = None


def _val_loss(kind: str, z: np.ndarray, y: np.ndarray, batch_size: int) -> np.ndarray:
    """Mean over batches of ``batch_size`` test rows of the batch-mean loss, per split."""
    losses = _batch_loss(kind, z.astype(np.float64), y.astype(np.float64))
    n = losses.shape[1]
    means = [losses[:, s : s + batch_size].mean(axis=1) for s in range(0, n, batch_size)]
    return np.mean(np.stack(means, axis=1), axis=1)


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
    keep_train_outputs: bool = False,
) -> FoldTraining:
    """Train one linear probe per split, all splits in lock-step, scoring the test fold each epoch.

    At step ``s`` of an epoch, split ``k`` takes the ``s``-th run of ``batch_size`` of its
    training rows in the order of the epoch's permutation. These runs lie in one window of the
    permuted rows for every split, so the logits of all splits are one product
    ``window @ Wᵀ`` and the gradients one product ``(mask ⊙ dz)ᵀ @ window``; rows of the window
    outside a split's batch are masked out.

    Args:
        Xs: ``(n, d)`` float32 embeddings as the probe sees them.
        ys: ``(n,)`` float32 targets as the probe sees them.
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
        keep_train_outputs: also return the best epoch's training-batch outputs (NeuCo's plots).

    Returns:
        A :class:`FoldTraining`. As in NeuCo-Bench, an epoch replaces the best only when its score
        is strictly higher, so NaN scores never do.
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
    scores = np.full((n_splits, epochs), np.nan)
    train_loss = np.zeros((n_splits, epochs))
    val_loss = np.zeros((n_splits, epochs))
    best = np.full(n_splits, -np.inf)
    best_epoch = np.full(n_splits, -1, dtype=np.int64)
    best_logits = np.zeros(test_idx.shape, dtype=np.float32)
    keep = keep_train_outputs
    out_now = np.zeros((n_splits, n_train), dtype=np.float32) if keep else None
    tgt_now = np.zeros((n_splits, n_train), dtype=np.float32) if keep else None
    out_best = np.zeros((n_splits, n_train), dtype=np.float32) if keep else None
    tgt_best = np.zeros((n_splits, n_train), dtype=np.float32) if keep else None
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
            batch_losses = []
            for start in range(0, n_train, batch_size):
                batch = pos[:, start : start + batch_size]  # (K, B)
                size = batch.shape[1]
                lo, hi = int(batch[:, 0].min()), int(batch[:, -1].max()) + 1
                mask = np.zeros((hi - lo, n_splits), dtype=np.float32)
                mask[batch - lo, split[:, None]] = 1.0
                window = x_perm[lo:hi]  # (L, d), a view
                z = window @ w.T + b  # (L, K)
                y_win = y_perm[lo:hi, None]
                batch_losses.append((_batch_loss(kind, z, y_win) * mask).sum(axis=0) / size)
                if out_now is not None and tgt_now is not None:
                    out_now[:, start : start + size] = z[batch - lo, split[:, None]]
                    tgt_now[:, start : start + size] = y_perm[batch]
                if kind == "regression":
                    dz = (2.0 / size) * (z - y_win)  # d mean((z - y)²) / dz
                else:
                    dz = (1.0 / size) * (1.0 / (1.0 + np.exp(-z)) - y_win)  # BCE
                dz *= mask
                g_w = dz.T @ window  # (K, d)
                g_b = dz.sum(axis=0)
                step += 1
                _adamw_step(w, g_w, m_w, v_w, tmp_w, step, lr, decay)
                _adamw_step(b, g_b, m_b, v_b, tmp_b, step, lr, decay)
            train_loss[:, epoch] = np.mean(np.stack(batch_losses, axis=1), axis=1)
            z_test = (x_test @ w[:, :, None])[:, :, 0] + b[:, None]  # (K, n_test)
            val_loss[:, epoch] = _val_loss(kind, z_test, y_test, batch_size)
            scores[:, epoch] = _fold_score(kind, y_test, z_test)
            better = scores[:, epoch] > best
            best[better] = scores[better, epoch]
            best_epoch[better] = epoch
            best_logits[better] = z_test[better]
            if out_best is not None and tgt_best is not None and out_now is not None \
                    and tgt_now is not None:
                out_best[better] = out_now[better]
                tgt_best[better] = tgt_now[better]
    return FoldTraining(scores, best, best_epoch, best_logits, train_loss, val_loss,
                        out_best, tgt_best)


def train_full(
    Xs: np.ndarray,
    ys: np.ndarray,
    *,
    kind: str,
    seed: int,
    epochs: int,
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    weight_decay: float = WEIGHT_DECAY,
) -> tuple[np.ndarray, float]:
    """One linear probe trained on every row, in file order, as NeuCo-Bench's ``store_probes``.

    NeuCo-Bench keeps the probe it stores by training a fresh linear layer for ``epochs`` epochs
    over all rows of the task, in their order (no shuffling), in batches of ``batch_size``. The
    initial weights come from ``SeedSequence([seed, 2])``, a stream no split uses.

    Returns:
        ``(weight (d,), bias)`` as float32 / float.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    d = Xs.shape[1]
    bound = 1.0 / np.sqrt(d)
    w = rng.uniform(-bound, bound, (1, d)).astype(np.float32)
    b = np.array([rng.uniform(-bound, bound)], dtype=np.float32)
    m_w, v_w, tmp_w = np.zeros_like(w), np.zeros_like(w), np.empty_like(w)
    m_b, v_b, tmp_b = np.zeros_like(b), np.zeros_like(b), np.empty_like(b)
    decay = np.float32(1.0 - lr * weight_decay)
    step = 0
    n = Xs.shape[0]
    for _ in range(epochs):
        for start in range(0, n, batch_size):
            x = Xs[start : start + batch_size]
            y = ys[start : start + batch_size, None]
            z = x @ w.T + b
            dz = (2.0 * (z - y) if kind == "regression" else 1.0 / (1.0 + np.exp(-z)) - y)
            dz = (dz / x.shape[0]).astype(np.float32)
            step += 1
            _adamw_step(w, dz.T @ x, m_w, v_w, tmp_w, step, lr, decay)
            _adamw_step(b, dz.sum(axis=0), m_b, v_b, tmp_b, step, lr, decay)
    return w[0], float(b[0])


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
    batch_size: int = BATCH_SIZE,
    lr: float = LR,
    normalize_labels: bool = True,
    keep_train_outputs: bool = False,
    refit: bool = False,
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
            ``standardize=True``), or when NeuCo's ``standardize_embeddings`` is false.
        batch_size: rows per AdamW step (NeuCo's ``batch_size``).
        lr: AdamW learning rate (NeuCo's ``learning_rate``).
        normalize_labels: min-max scale the targets first (NeuCo's ``normalize_labels``); when
            False the probe trains on the raw targets.
        keep_train_outputs: keep the best epoch's training-batch outputs (NeuCo's plots).
        refit: also train one probe on every row (:func:`train_full`, NeuCo's ``store_probes``):
            ``options["probe_weight"]`` (d,) and ``options["probe_bias"]``.

    Returns:
        ``(scores, options)``: best-epoch test predictions in label units ``(K, n_test)`` for
        regression, or for binary tasks the best epoch's outputs read as NeuCo-Bench reads them
        (:func:`binary_probabilities`: class 1 where > 0.5); options hold ``fold_scores`` (the best
        epoch's score per split, NeuCo's fold score), ``best_epoch``, ``epoch_scores``,
        ``train_loss`` and ``val_loss`` ``(K, epochs)`` and the training settings.
    """
    if kind not in ("regression", "classification"):
        raise InvalidInputError(
            f"the neuco probe handles kind 'regression' and 'classification' (binary) only; "
            f"got {kind!r}. Use probe='logistic' for multiclass and multilabel tasks"
        )
    for name, value in (("batch_size", batch_size), ("epochs", epochs)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InvalidInputError(f"{name} must be an integer ≥ 1; got {value!r}")
    if not (isinstance(lr, float | int) and not isinstance(lr, bool) and np.isfinite(lr)
            and lr > 0):
        raise InvalidInputError(f"learning_rate must be a positive number; got {lr!r}")
    Xs = scalar_zscore(X) if standardize else np.asarray(X, dtype=np.float32)
    if normalize_labels:
        scaled, lo, span = minmax_labels(y)
    else:
        scaled, lo, span = np.asarray(y, dtype=np.float64), 0.0, 1.0
    ys = scaled.astype(np.float32)
    w0, b0 = initial_weights(seed, train_idx.shape[0], Xs.shape[1])
    perms = epoch_permutations(seed, Xs.shape[0], epochs)
    settings = {"kind": kind, "batch_size": int(batch_size), "lr": float(lr),
                "keep_train_outputs": keep_train_outputs}
    if batched:
        run = train_folds(Xs, ys, train_idx, test_idx, w0, b0, perms, **settings)  # type: ignore[arg-type]
    else:
        parts = [
            train_folds(Xs, ys, train_idx[k : k + 1], test_idx[k : k + 1], w0[k : k + 1],
                        b0[k : k + 1], perms, **settings)  # type: ignore[arg-type]
            for k in range(train_idx.shape[0])
        ]
        joined: dict[str, Any] = {
            f: None if getattr(parts[0], f) is None
            else np.concatenate([getattr(p, f) for p in parts])
            for f in FoldTraining.__dataclass_fields__
        }
        run = FoldTraining(**joined)
    logits64 = run.best_logits.astype(np.float64)
    if kind == "regression":
        scores = logits64 * span + lo
    else:
        scores = binary_probabilities(logits64)
    options: dict[str, Any] = {
        "fold_scores": run.best_score,
        "best_epoch": run.best_epoch,
        "epoch_scores": run.epoch_scores,
        "train_loss": run.train_loss,
        "val_loss": run.val_loss,
        "epochs": epochs,
        "batch_size": int(batch_size),
        "lr": float(lr),
        "weight_decay": WEIGHT_DECAY,
        "normalize_labels": normalize_labels,
        "label_min": lo,
        "label_range": span,
        "batched": batched,
        "standardize": standardize,
    }
    if keep_train_outputs:
        options["train_outputs"] = run.train_outputs
        options["train_targets"] = run.train_targets
    if refit:
        options["probe_weight"], options["probe_bias"] = train_full(
            Xs, ys, kind=kind, seed=seed, epochs=epochs, batch_size=int(batch_size), lr=float(lr))
    return scores, options


__all__ = [
    "BATCH_SIZE",
    "LR",
    "SEED",
    "TEST_SIZE",
    "WEIGHT_DECAY",
    "FoldTraining",
    "binary_probabilities",
    "epoch_permutations",
    "fit_neuco",
    "initial_weights",
    "minmax_labels",
    "neuco_r2",
    "neuco_zscore",
    "scalar_moments",
    "scalar_zscore",
    "train_folds",
    "train_full",
]
