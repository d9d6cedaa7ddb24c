"""Ridge regression probe, solved for all K splits (and the whole α grid) at once.

Per split: standardise the embeddings with the training split's mean and standard deviation, choose
the ridge penalty α on an inner-validation part of the training split from a log grid (lowest
validation MSE), refit on the whole training split with that α and predict the test fold. Ridge
(Hoerl & Kennard 1970) with an unpenalised intercept on standardised features ``Z = (X - μ) / σ``:
``β = (ZᵀZ + αI)⁻¹ Zᵀ(y - ȳ)``, intercept ``ȳ`` — the same estimator as scikit-learn's
``StandardScaler`` + ``Ridge(alpha)``.

How it is computed. With ``w = β / σ`` the normal equations of split k on the rows ``X_k`` are
``(C_k + α diag(σ_k²)) w = X_kᵀ(y_k - ȳ_k)``, ``C_k`` the centred Gram of the split's rows. Every
(split, α) system is solved by conjugate gradients (Hestenes & Stiefel 1952), all of them in
lock-step: one product ``C_k v`` for every system is two large matrix products with the full
embedding matrix and a 0/1 row mask per split, so no Python loop runs per split. The iterations
are preconditioned with the eigendecomposition of the full data's Gram ``G = VΛVᵀ`` (one per call):
each split's Gram is close to ``(n_k/n) G``, so ``V diag(1 / ((n_k/n) λ + α σ̄²)) Vᵀ`` makes every
system well conditioned and CG converges in a few iterations. The α selection runs in float32 to a
relative residual of :data:`SELECTION_TOL` (enough to rank the grid); the refit is solved to a
relative residual of :data:`TOL` by mixed-precision iterative refinement (residuals in float64,
corrections by float32 CG; Wilkinson 1963, Moler 1967), so it agrees with scikit-learn's direct
solve to round-off.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from planetbench.protocols.splits import inner_splits

ALPHAS: np.ndarray = 10.0 ** np.arange(-3.0, 7.0)
"""Default ridge penalty grid α (penalty on standardised features), 1e-3 … 1e6."""

INNER_VAL_SIZE = 0.2
"""Share of each training split held out to choose α."""

SELECTION_TOL = 1e-4
"""Relative residual ‖r‖/‖b‖ to which the inner fits that rank the α grid are solved."""

TOL = 1e-10
"""Relative residual ‖r‖/‖b‖ to which the refit on each training split is solved."""

MAX_ROUNDS = 30
"""Refinement rounds of the refit before it is declared unconverged."""

Operator = Callable[[np.ndarray], np.ndarray]


class _Splits:
    """K ridge problems on row subsets of one globally standardised matrix.

    Args:
        U64: ``(n, d)`` float64 embeddings (globally centred and scaled).
        U32: the same as float32.
        yc: ``(n,)`` globally centred targets.
        rows: ``(K, m)`` rows of each problem.
        lam: ``(d,)`` eigenvalues of the full Gram ``U64ᵀU64``; vec: ``(d, d)`` its eigenvectors
            (float32), used only to precondition.
        vec: see ``lam``.
    """

    def __init__(
        self,
        U64: np.ndarray,
        U32: np.ndarray,
        yc: np.ndarray,
        rows: np.ndarray,
        lam: np.ndarray,
        vec: np.ndarray,
    ) -> None:
        n, d = U64.shape
        k = rows.shape[0]
        self.U64, self.U32, self.lam, self.vec = U64, U32, lam, vec
        mask = np.zeros((n, k))
        mask[rows, np.arange(k)[:, None]] = 1.0
        self.mask64, self.mask32 = mask, mask.astype(np.float32)
        n_k = float(rows.shape[1])
        self.n_k, self.share = n_k, n_k / n
        self.mean = (mask.T @ U64) / n_k  # (K, d)
        mean_sq = (mask.T @ (U64 * U64)) / n_k
        var = np.clip(mean_sq - self.mean**2, 0.0, None)
        # Columns constant on the split's rows keep scale 1, as StandardScaler does; the bound
        # covers the round-off of the one-pass variance.
        var[var <= 100 * np.finfo(np.float64).eps * mean_sq] = 1.0
        self.scale2 = var  # (K, d) σ²
        self.y_mean = (mask.T @ yc) / n_k  # (K,)
        self.rhs = ((mask * yc[:, None]).T @ U64) - n_k * self.mean * self.y_mean[:, None]
        self.K, self.d = k, d

    def operator(self, alpha: np.ndarray, dtype: type[np.floating[Any]]) -> Operator:
        """``v ↦ (C_k + α diag(σ_k²)) v`` for stacked columns ``v`` ``(K, A, d)``; ``alpha`` (K, A)."""
        U = self.U32 if dtype == np.float32 else self.U64
        mask = self.mask32 if dtype == np.float32 else self.mask64
        mean = self.mean.astype(dtype)
        shift = (alpha[:, :, None] * self.scale2[:, None, :]).astype(dtype)  # (K, A, d)
        n, n_k = U.shape[0], self.n_k

        def matvec(v: np.ndarray) -> np.ndarray:
            k, a, d = v.shape
            t = U @ v.reshape(k * a, d).T  # (n, K·A): every row under every column
            t = t.reshape(n, k, a)
            t *= mask[:, :, None]  # keep each split's own rows
            out = (t.reshape(n, k * a).T @ U).reshape(k, a, d)
            out -= n_k * np.einsum("kad,kd->ka", v, mean)[:, :, None] * mean[:, None, :]
            out += shift * v
            return out

        return matvec

    def preconditioner(self, alpha: np.ndarray) -> Operator:
        """``r ↦ V diag(1 / ((n_k/n) λ + α σ̄_k²)) Vᵀ r`` (float32) for ``r`` ``(K, A, d)``."""
        mean_scale2 = self.scale2.mean(axis=1)  # (K,)
        denom = self.share * self.lam[None, None, :] + (alpha * mean_scale2[:, None])[:, :, None]
        inv = (1.0 / np.maximum(denom, np.finfo(np.float32).tiny)).astype(np.float32)
        vec = self.vec

        def apply(r: np.ndarray) -> np.ndarray:
            k, a, d = r.shape
            q = (r.reshape(k * a, d).astype(np.float32, copy=False) @ vec).reshape(k, a, d)
            q *= inv
            return (q.reshape(k * a, d) @ vec.T).reshape(k, a, d)

        return apply


def _cg(
    matvec: Operator, precond: Operator, b: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, float]:
    """Preconditioned conjugate gradients on independent systems, all columns in lock-step.

    Args:
        matvec: the symmetric positive-definite operators, ``(K, A, d) -> (K, A, d)``.
        precond: the preconditioners, same shapes.
        b: ``(K, A, d)`` right-hand sides.
        tol: stop when every system's relative residual ‖r‖/‖b‖ is below this.
        max_iter: iteration cap.

    Returns:
        ``(x, iterations, largest relative residual)``.
    """
    x = np.zeros_like(b)
    r = b.copy()
    b_norm = np.linalg.norm(b, axis=2, keepdims=True)
    b_norm[b_norm == 0] = 1.0
    z = precond(r)
    p = z.copy()
    rz = np.sum(r * z, axis=2, keepdims=True)
    worst = float(np.max(np.linalg.norm(r, axis=2, keepdims=True) / b_norm))
    it = 0
    while worst > tol and it < max_iter:
        it += 1
        ap = matvec(p)
        pap = np.sum(p * ap, axis=2, keepdims=True)
        step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        x += step * p
        r -= step * ap
        worst = float(np.max(np.linalg.norm(r, axis=2, keepdims=True) / b_norm))
        import os
        if os.environ.get("DBG"): print(it, np.round(np.log10(np.max(np.linalg.norm(r, axis=2, keepdims=True) / b_norm, axis=0)[:,0]),1))
        z = precond(r)
        rz_new = np.sum(r * z, axis=2, keepdims=True)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta * p
        rz = rz_new
    return x, it, worst


def fit_ridge(
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    seed: int,
    alphas: np.ndarray = ALPHAS,
    tol: float = TOL,
    selection_tol: float = SELECTION_TOL,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Ridge probe on K splits.

    Args:
        X: ``(n, d)`` embeddings (finite).
        y: ``(n,)`` real targets.
        train_idx: ``(K, n_train)`` training rows of each split.
        test_idx: ``(K, n_test)`` test rows of each split.
        seed: seed of the inner-validation splits.
        alphas: grid of ridge penalties on standardised features.
        tol: relative residual of the refit's normal equations.
        selection_tol: relative residual of the inner fits that rank the α grid.

    Returns:
        ``(predictions, options)``: test-fold predictions ``(K, n_test)`` and
        ``{"alpha": (K,) chosen α, "alpha_grid": list, "inner_val_size": float,
        "selection_iterations": int, "refit_rounds": int, "refit_residual": float}``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    alphas = np.asarray(alphas, dtype=np.float64)
    n, d = X.shape
    K = train_idx.shape[0]
    inner_tr, inner_val = inner_splits(
        y, train_idx, kind="regression", val_size=INNER_VAL_SIZE, seed=seed
    )
    # Global centring/scaling leaves per-split standardisation unchanged and conditions the sums.
    x_scale = X.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    U64 = (X - X.mean(axis=0)) / x_scale
    U32 = U64.astype(np.float32)
    y_offset = y.mean()
    yc = y - y_offset
    gram = U32.T @ U32
    lam, vec = np.linalg.eigh(gram)
    lam = np.clip(lam.astype(np.float64), 0.0, None)
    max_iter = 10 * d + 100

    # Selection: one system per (split, α) on the inner-train rows, scored on inner validation.
    inner = _Splits(U64, U32, yc, inner_tr, lam, vec)
    grid = np.broadcast_to(alphas, (K, len(alphas)))
    rhs = np.broadcast_to(inner.rhs[:, None, :], (K, len(alphas), d)).astype(np.float32)
    w_sel, sel_iter, sel_res = _cg(
        inner.operator(grid, np.float32), inner.preconditioner(grid), rhs, selection_tol, max_iter
    )
    if sel_res > selection_tol:
        warnings.warn(
            f"ridge probe: α selection stopped after {sel_iter} CG iterations with relative "
            f"residual {sel_res:.1e} > {selection_tol:.0e}; the α ranking may be inexact",
            RuntimeWarning,
            stacklevel=3,
        )
    offset = inner.y_mean[:, None] - np.einsum("kad,kd->ka", w_sel, inner.mean)  # (K, A)
    z_all = (U32 @ w_sel.reshape(-1, d).T).reshape(n, K, len(alphas))
    val_pred = z_all[inner_val, np.arange(K)[:, None]] + offset[:, None, :]  # (K, m, A)
    val_mse = np.mean((val_pred - yc[inner_val][:, :, None]) ** 2, axis=1)
    best = np.argmin(val_mse, axis=1)
    chosen = alphas[best]

    # Refit on the whole training split: float64 residuals, float32 CG corrections.
    fit = _Splits(U64, U32, yc, train_idx, lam, vec)
    alpha = chosen[:, None]
    exact = fit.operator(alpha, np.float64)
    approx = fit.operator(alpha, np.float32)
    precond = fit.preconditioner(alpha)
    b = fit.rhs[:, None, :]
    b_norm = np.maximum(np.linalg.norm(b, axis=2, keepdims=True), np.finfo(np.float64).tiny)
    w = w_sel[np.arange(K), best][:, None, :].astype(np.float64)  # warm start
    rounds, residual = 0, np.inf
    for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 (rounds is reported)
        r = b - exact(w)
        residual = float(np.max(np.linalg.norm(r, axis=2, keepdims=True) / b_norm))
        if residual <= tol:
            break
        dw, _, _ = _cg(approx, precond, r.astype(np.float32), SELECTION_TOL, max_iter)
        w += dw
    if residual > tol:
        warnings.warn(
            f"ridge probe: the refit stopped after {rounds} refinement rounds with relative "
            f"residual {residual:.1e} > {tol:.0e}; predictions may be inexact",
            RuntimeWarning,
            stacklevel=3,
        )
    w = w[:, 0, :]
    offset_fit = fit.y_mean - np.einsum("kd,kd->k", w, fit.mean) + y_offset
    z_test = (U64 @ w.T)[test_idx, np.arange(K)[:, None]]  # (K, n_test)
    preds = z_test + offset_fit[:, None]
    return preds, {
        "alpha": chosen,
        "alpha_grid": alphas.tolist(),
        "inner_val_size": INNER_VAL_SIZE,
        "selection_iterations": sel_iter,
        "refit_rounds": rounds,
        "refit_residual": residual,
    }


__all__ = ["ALPHAS", "INNER_VAL_SIZE", "SELECTION_TOL", "TOL", "fit_ridge"]
