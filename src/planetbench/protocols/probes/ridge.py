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
from threadpoolctl import threadpool_limits

from planetbench.protocols.probes.splits import inner_splits

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

BLAS_THREADS: int | None = 1
"""BLAS threads of the solver (None: the library's default). The products are sized so that one
thread is fastest on shared machines, where extra threads spin-wait for busy cores (measured 2-4×
slower with 2 threads on a loaded 2-core machine); raise it on a dedicated many-core host."""

Operator = Callable[[np.ndarray, np.ndarray], np.ndarray]


class _Splits:
    """K ridge problems on row subsets of one globally standardised matrix.

    The systems are stored flat: column ``j`` of a stack ``(J, d)`` belongs to split ``split[j]``
    and has penalty ``alpha[j]``, so converged systems can be dropped from the products.

    Args:
        U64: ``(n, d)`` float64 embeddings (globally centred and scaled).
        U32: the same as float32.
        U64_sq: ``U64 ** 2``.
        yc: ``(n,)`` globally centred targets.
        rows: ``(K, m)`` rows of each split's problem.
        lam: ``(d,)`` eigenvalues of the full Gram ``Uᵀ U`` (preconditioner only).
        vec: ``(d, d)`` float32 eigenvectors of the full Gram (preconditioner only).
    """

    def __init__(
        self,
        U64: np.ndarray,
        U32: np.ndarray,
        U64_sq: np.ndarray,
        yc: np.ndarray,
        rows: np.ndarray,
        lam: np.ndarray,
        vec: np.ndarray,
    ) -> None:
        n, k = U64.shape[0], rows.shape[0]
        self.U64, self.U32, self.lam, self.vec = U64, U32, lam, vec
        mask = np.zeros((n, k))
        mask[rows, np.arange(k)[:, None]] = 1.0
        self.mask64, self.mask32 = mask, mask.astype(np.float32)
        n_k = float(rows.shape[1])
        self.n_k, self.share = n_k, n_k / n
        self.mean = (mask.T @ U64) / n_k  # (K, d)
        mean_sq = (mask.T @ U64_sq) / n_k
        var = np.clip(mean_sq - self.mean**2, 0.0, None)
        # Columns constant on the split's rows keep scale 1, as StandardScaler does; the bound
        # covers the round-off of the one-pass variance.
        var[var <= 100 * np.finfo(np.float64).eps * mean_sq] = 1.0
        self.scale2 = var  # (K, d) σ²
        self.y_mean = (mask.T @ yc) / n_k  # (K,)
        self.rhs = ((mask * yc[:, None]).T @ U64) - n_k * self.mean * self.y_mean[:, None]

    def operator(
        self, split: np.ndarray, alpha: np.ndarray, dtype: type[np.floating[Any]]
    ) -> Operator:
        """``(v, cols) ↦ (C_k + α diag(σ_k²)) v`` for the systems ``cols`` of the flat stack.

        ``split`` ``(J,)`` and ``alpha`` ``(J,)`` describe every system; ``v`` is ``(len(cols), d)``.
        """
        U = self.U32 if dtype == np.float32 else self.U64
        mask = self.mask32 if dtype == np.float32 else self.mask64
        mean = self.mean.astype(dtype)[split]  # (J, d)
        shift = (alpha[:, None] * self.scale2[split]).astype(dtype)  # (J, d)
        n_k = self.n_k

        def matvec(v: np.ndarray, cols: np.ndarray) -> np.ndarray:
            t = U @ v.T  # (n, J'): every row under every system
            t *= mask[:, split[cols]]  # keep each split's own rows
            out = t.T @ U
            mu = mean[cols]
            out -= (n_k * np.einsum("jd,jd->j", v, mu))[:, None] * mu
            out += shift[cols] * v
            return out

        return matvec

    def preconditioner(self, split: np.ndarray, alpha: np.ndarray) -> Operator:
        """``(r, cols) ↦ V diag(1 / ((n_k/n) λ + α σ̄²)) Vᵀ r`` in float32, ``σ̄²`` the mean σ_k²."""
        mean_scale2 = self.scale2.mean(axis=1)[split]  # (J,)
        denom = self.share * self.lam[None, :] + (alpha * mean_scale2)[:, None]
        inv = (1.0 / np.maximum(denom, np.finfo(np.float32).tiny)).astype(np.float32)
        vec = self.vec

        def apply(r: np.ndarray, cols: np.ndarray) -> np.ndarray:
            q = r.astype(np.float32, copy=False) @ vec
            q *= inv[cols]
            return q @ vec.T

        return apply


def _cg(
    matvec: Operator, precond: Operator, b: np.ndarray, tol: float, max_iter: int
) -> tuple[np.ndarray, int, float]:
    """Preconditioned conjugate gradients on J independent systems in lock-step.

    Systems whose relative residual ‖r‖/‖b‖ has reached ``tol`` are frozen and left out of the
    following products.

    Args:
        matvec: ``(v (J', d), cols (J',)) -> (J', d)``, the symmetric positive-definite operators
            of the systems ``cols``.
        precond: the preconditioners, same signature.
        b: ``(J, d)`` right-hand sides.
        tol: relative residual at which a system stops.
        max_iter: iteration cap.

    Returns:
        ``(x, iterations, largest relative residual)``.
    """
    x = np.zeros_like(b)
    b_norm = np.linalg.norm(b, axis=1)
    b_norm[b_norm == 0] = 1.0
    cols = np.flatnonzero(np.linalg.norm(b, axis=1) / b_norm > tol)
    res = np.linalg.norm(b, axis=1) / b_norm
    r = b[cols]
    z = precond(r, cols)
    p = z.copy()
    rz = np.sum(r * z, axis=1)
    it = 0
    while cols.size and it < max_iter:
        it += 1
        ap = matvec(p, cols)
        pap = np.sum(p * ap, axis=1)
        step = np.divide(rz, pap, out=np.zeros_like(rz), where=pap > 0)
        x[cols] += step[:, None] * p
        r -= step[:, None] * ap
        res[cols] = np.linalg.norm(r, axis=1) / b_norm[cols]
        keep = res[cols] > tol
        cols, r, p, rz = cols[keep], r[keep], p[keep], rz[keep]
        if not cols.size:
            break
        z = precond(r, cols)
        rz_new = np.sum(r * z, axis=1)
        beta = np.divide(rz_new, rz, out=np.zeros_like(rz), where=rz > 0)
        p = z + beta[:, None] * p
        rz = rz_new
    return x, it, float(res.max())


def _norms(v: np.ndarray) -> np.ndarray:
    """Euclidean norms of the rows of ``v`` ``(J, d)`` as ``(J, 1)``, zeros replaced by 1."""
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    norm[norm == 0] = 1.0
    return norm


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
    K, n_alpha = train_idx.shape[0], len(alphas)
    inner_tr, inner_val = inner_splits(
        y, train_idx, kind="regression", val_size=INNER_VAL_SIZE, seed=seed
    )
    max_iter = 10 * d + 100
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        # Global centring/scaling leaves per-split standardisation unchanged, conditions the sums.
        U64 = X - X.mean(axis=0)
        x_scale = np.sqrt(np.einsum("ij,ij->j", U64, U64) / n)
        x_scale[x_scale == 0] = 1.0
        U64 /= x_scale
        U64_sq = U64 * U64
        U32 = U64.astype(np.float32)
        y_offset = y.mean()
        yc = y - y_offset
        lam, vec = np.linalg.eigh(U32.T @ U32)
        lam = np.clip(lam.astype(np.float64), 0.0, None)

        # Selection: one system per (split, α) on the inner-train rows, scored on inner validation.
        inner = _Splits(U64, U32, U64_sq, yc, inner_tr, lam, vec)
        split = np.repeat(np.arange(K), n_alpha)  # flat system j = (split, α) split-major
        grid = np.tile(alphas, K)
        rhs = inner.rhs[split]
        rhs_norm = _norms(rhs)  # float32 solves on unit right-hand sides: no under/overflow
        w_sel, sel_iter, sel_res = _cg(
            inner.operator(split, grid, np.float32),
            inner.preconditioner(split, grid),
            (rhs / rhs_norm).astype(np.float32),
            selection_tol,
            max_iter,
        )
        w_sel = w_sel * rhs_norm
        if sel_res > selection_tol:
            warnings.warn(
                f"ridge probe: α selection stopped after {sel_iter} CG iterations with relative "
                f"residual {sel_res:.1e} > {selection_tol:.0e}; the α ranking may be inexact",
                RuntimeWarning,
                stacklevel=3,
            )
        w_sel = w_sel.reshape(K, n_alpha, d)
        offset = inner.y_mean[:, None] - np.einsum("kad,kd->ka", w_sel, inner.mean)  # (K, A)
        z_all = (U32 @ w_sel.reshape(-1, d).T).reshape(n, K, n_alpha)
        val_pred = z_all[inner_val, np.arange(K)[:, None]] + offset[:, None, :]  # (K, m, A)
        val_mse = np.mean((val_pred - yc[inner_val][:, :, None]) ** 2, axis=1)
        best = np.argmin(val_mse, axis=1)
        chosen = alphas[best]

        # Refit on the whole training split: float64 residuals, float32 CG corrections.
        fit = _Splits(U64, U32, U64_sq, yc, train_idx, lam, vec)
        split = np.arange(K)
        every = np.arange(K)
        exact = fit.operator(split, chosen, np.float64)
        approx = fit.operator(split, chosen, np.float32)
        precond = fit.preconditioner(split, chosen)
        b = fit.rhs
        b_norm = np.maximum(np.linalg.norm(b, axis=1), np.finfo(np.float64).tiny)
        w = w_sel[every, best].astype(np.float64)  # warm start
        rounds, residual = 0, np.inf
        for rounds in range(1, MAX_ROUNDS + 1):  # noqa: B007 (rounds is reported)
            r = b - exact(w, every)
            residual = float(np.max(np.linalg.norm(r, axis=1) / b_norm))
            if residual <= tol:
                break
            r_norm = _norms(r)
            unit = (r / r_norm).astype(np.float32)
            w += _cg(approx, precond, unit, SELECTION_TOL, max_iter)[0] * r_norm
        if residual > tol:
            warnings.warn(
                f"ridge probe: the refit stopped after {rounds} refinement rounds with relative "
                f"residual {residual:.1e} > {tol:.0e}; predictions may be inexact",
                RuntimeWarning,
                stacklevel=3,
            )
        offset_fit = fit.y_mean - np.einsum("kd,kd->k", w, fit.mean) + y_offset
        preds = (U64 @ w.T)[test_idx, every[:, None]] + offset_fit[:, None]  # (K, n_test)
    return preds, {
        "alpha": chosen,
        "alpha_grid": alphas.tolist(),
        "inner_val_size": INNER_VAL_SIZE,
        "selection_iterations": sel_iter,
        "refit_rounds": rounds,
        "refit_residual": residual,
    }


__all__ = ["ALPHAS", "INNER_VAL_SIZE", "SELECTION_TOL", "TOL", "fit_ridge"]
