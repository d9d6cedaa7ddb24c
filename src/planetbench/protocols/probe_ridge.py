"""Ridge regression probe, solved for all K splits at once.

Per split: standardise the embeddings with the training split's mean and standard deviation, choose
the ridge penalty α on an inner-validation part of the training split from a log grid, refit on the
whole training split with that α and predict the test fold. Ridge (Hoerl & Kennard 1970) with an
unpenalised intercept on standardised features ``Z``: ``β = (ZᵀZ + αI)⁻¹ Zᵀ(y - ȳ)``,
intercept ``ȳ`` — the same estimator as scikit-learn's ``StandardScaler`` + ``Ridge(alpha)``.

Speed: every split's Gram matrix is the full data's Gram minus the Gram of the rows it leaves out
(a batched matrix product over a ``(K, n_out, d)`` stack). All α of the grid are evaluated in
closed form from one eigendecomposition per split, ``β(α) = V diag(1/(λ + α)) Vᵀ b``
(batched ``numpy.linalg.eigh``), and the refit is one batched linear solve. Splits are processed in
chunks to bound memory; no Python loop runs per split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from planetbench.protocols.splits import inner_splits

ALPHAS: np.ndarray = 10.0 ** np.arange(-3.0, 7.0)
"""Default ridge penalty grid α (penalty on standardised features), 1e-3 … 1e6."""

INNER_VAL_SIZE = 0.2
"""Share of each training split held out to choose α."""


def _moments(
    gram: np.ndarray, col_sum: np.ndarray, xy: np.ndarray, y_sum: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Standardised normal equations from raw sums over a split's rows.

    Args:
        gram: ``(k, d, d)`` sum of x xᵀ, overwritten with ``A``.
        col_sum: ``(k, d)`` sum of x.
        xy: ``(k, d)`` sum of x·y.
        y_sum: ``(k,)`` sum of y.
        n: number of rows.

    Returns:
        ``(A, b, mean, scale, y_mean)`` with ``A = ZᵀZ`` ``(k, d, d)``,
        ``b = Zᵀ(y - ȳ)`` ``(k, d)``, and the standardisation (population standard deviation;
        1 where it is 0, as ``StandardScaler`` does).
    """
    mean = col_sum / n
    y_mean = y_sum / n
    diag = np.arange(gram.shape[1])
    var = (gram[:, diag, diag] - n * mean**2) / n
    scale = np.sqrt(np.clip(var, 0.0, None))
    scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
    # In place (the caller hands over ``gram``): A = D⁻¹ (G - n μ μᵀ) D⁻¹.
    a = gram
    a -= n * mean[:, :, None] * mean[:, None, :]
    a /= scale[:, :, None]
    a /= scale[:, None, :]
    b = (xy - n * mean * y_mean[:, None]) / scale
    return a, b, mean, scale, y_mean


def fit_ridge(
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    seed: int,
    alphas: np.ndarray = ALPHAS,
    chunk_size: int = 8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Ridge probe on K splits.

    Args:
        X: ``(n, d)`` embeddings (finite).
        y: ``(n,)`` real targets.
        train_idx: ``(K, n_train)`` training rows of each split.
        test_idx: ``(K, n_test)`` test rows of each split.
        seed: seed of the inner-validation splits.
        alphas: grid of ridge penalties on standardised features.
        chunk_size: splits solved together (memory ≈ chunk · (n_out + 4d) · d · 8 bytes).

    Returns:
        ``(predictions, options)``: test-fold predictions ``(K, n_test)`` and
        ``{"alpha": (K,) chosen α, "alpha_grid": list, "inner_val_size": float}``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    inner_tr, inner_val = inner_splits(
        y, train_idx, kind="regression", val_size=INNER_VAL_SIZE, seed=seed
    )
    # Global centring/scaling leaves per-split standardisation unchanged and keeps sums well scaled.
    x_scale = X.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    Xc = (X - X.mean(axis=0)) / x_scale
    yc = y - y.mean()
    gram_all = Xc.T @ Xc
    sum_all = Xc.sum(axis=0)
    xy_all = Xc.T @ yc
    ysum_all = yc.sum()
    n_test = test_idx.shape[1]
    n_train = train_idx.shape[1]
    n_inner = inner_tr.shape[1]
    K = train_idx.shape[0]
    preds = np.empty((K, n_test))
    chosen = np.empty(K)
    for start in range(0, K, chunk_size):
        sl = slice(start, start + chunk_size)
        Xt, yt = Xc[test_idx[sl]], yc[test_idx[sl]]  # (k, n_test, d), (k, n_test)
        Xv, yv = Xc[inner_val[sl]], yc[inner_val[sl]]  # (k, n_val, d), (k, n_val)
        Xt_t, Xv_t = Xt.transpose(0, 2, 1), Xv.transpose(0, 2, 1)
        gram_train = gram_all - Xt_t @ Xt
        gram_val = Xv_t @ Xv
        xy_train = xy_all - (Xt_t @ yt[:, :, None])[:, :, 0]
        xy_val = (Xv_t @ yv[:, :, None])[:, :, 0]
        sum_train = sum_all - Xt.sum(1)
        ysum_train = ysum_all - yt.sum(1)
        # Inner fit: the training split without its inner-validation part.
        a, b, mean, scale, y_mean = _moments(
            gram_train - gram_val,
            sum_train - Xv.sum(1),
            xy_train - xy_val,
            ysum_train - yv.sum(1),
            n_inner,
        )
        del gram_val
        lam, vec = np.linalg.eigh(a)
        proj = (vec.transpose(0, 2, 1) @ b[:, :, None])[:, :, 0]  # (k, d)
        betas = vec @ (proj[:, :, None] / (lam[:, :, None] + alphas))  # (k, d, n_alpha)
        zv = (Xv - mean[:, None, :]) / scale[:, None, :]
        val_pred = y_mean[:, None, None] + zv @ betas  # (k, n_val, n_alpha)
        val_mse = np.mean((val_pred - yv[:, :, None]) ** 2, axis=1)
        best = np.argmin(val_mse, axis=1)
        alpha = alphas[best]
        # Refit on the whole training split with the chosen α.
        a, b, mean, scale, y_mean = _moments(gram_train, sum_train, xy_train, ysum_train, n_train)
        a[:, np.arange(a.shape[1]), np.arange(a.shape[1])] += alpha[:, None]
        beta = np.linalg.solve(a, b[:, :, None])  # (k, d, 1)
        zt = (Xt - mean[:, None, :]) / scale[:, None, :]
        preds[sl] = y_mean[:, None] + (zt @ beta)[:, :, 0] + y.mean()
        chosen[sl] = alpha
    return preds, {
        "alpha": chosen,
        "alpha_grid": alphas.tolist(),
        "inner_val_size": INNER_VAL_SIZE,
    }


__all__ = ["ALPHAS", "INNER_VAL_SIZE", "fit_ridge"]
