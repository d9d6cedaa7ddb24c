"""L2-regularised logistic-regression probe, solved for all K splits (and all C) at once.

Per split: standardise with the training split's statistics, choose the inverse penalty ``C`` on an
inner-validation part of the training split (lowest validation log-loss over a log grid), refit on
the whole training split with that ``C`` and score the test fold. The objective of one problem is
scikit-learn's ``LogisticRegression`` objective divided by ``C · n``::

    (1/n) Σᵢ loss(zᵢ, yᵢ) + ‖W‖² / (2 C n),   zᵢ = ((xᵢ - μ) / σ) W + b,

with the binary/multilabel loss ``log(1 + e^z) - y z`` per output (independent sigmoids) and the
multiclass loss ``logsumexp(z) - z_y`` (softmax, Cox 1958 / multinomial logit), intercepts
unpenalised. The K splits share the embedding matrix, so the logits of all K problems of one C
come from one matrix product ``X @ W_all`` with per-split row masks, and the summed objective of
these independent problems is minimised by one L-BFGS run (Liu & Nocedal 1989, scipy) over the
concatenated parameters: one run per C of the grid, from the strongest penalty up, each
warm-started from the previous C's solution, then one run for the refit, warm-started from the
inner fit at the chosen C. L-BFGS runs on preconditioned coordinates (see ``_Problems``: the
weights are expressed in the eigenbasis of the full data's Gram, scaled by the expected
curvature), which cuts the iterations about tenfold; the C selection uses float32 products (it
only ranks the grid), the refit float64.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, logsumexp, softmax
from threadpoolctl import threadpool_limits

from planetbench.protocols.probes.splits import inner_splits

CS: np.ndarray = 10.0 ** np.arange(-4.0, 1.0)
"""Default grid of inverse L2 penalties C (scikit-learn's convention), 1e-4 … 1."""

INNER_VAL_SIZE = 0.2
"""Share of each training split held out to choose C."""

TOL = 1e-5
"""L-BFGS stops the refit when every gradient component of the mean objective is below this."""

SELECTION_TOL = 1e-3
"""Looser tolerance while choosing C: only the ranking of validation losses matters (on the
benchmark case of ``benchmarks/bench_probes.py`` it picks the same C as 1e-4 in every split, at
60% of the time)."""

MAX_ITER = 2000

BLAS_THREADS: int | None = 1
"""BLAS threads of the solver (None: the library's default). One thread is fastest on shared
machines, where extra threads spin-wait for busy cores; raise it on a dedicated many-core host."""


class _Problems:
    """J independent logistic problems over the rows of one shared matrix ``X`` ``(n, d)``.

    L-BFGS runs on preconditioned parameters ``u``: ``W_j = V diag(h_j)^(-1/2) u_j`` with
    ``V diag(λ) Vᵀ`` the eigendecomposition of the full Gram ``XᵀX`` and
    ``h_j = s λ / n + 1 / (C_j n_j)`` the curvature the problem would have if every sample's
    loss curvature were ``s`` (¼ for a sigmoid at p = ½). In ``u`` the Hessians are close to the
    identity, so L-BFGS needs far fewer iterations; the minimiser in ``W`` is unchanged.

    Args:
        X: ``(n, d)`` globally standardised embeddings.
        Y: ``(n, O)`` targets: 0/1 per output (sigmoid) or one-hot (softmax).
        mask: ``(n, K)`` 1 where row i belongs to the training rows of split k.
        C: ``(J,)`` inverse penalties, ``J = K · per_split``: problem ``j`` trains on the rows of
            split ``j // per_split``.
        softmax_loss: multinomial (True) or independent sigmoids (False).
        lam: ``(d,)`` eigenvalues of ``XᵀX``; vec: ``(d, d)`` its eigenvectors.
        vec: see ``lam``.
        dtype: float type of the large products (float32 while choosing C).
        per_split: problems per split (the C grid while choosing C, 1 for the refit).
    """

    def __init__(
        self,
        X: np.ndarray,
        Y: np.ndarray,
        mask: np.ndarray,
        C: np.ndarray,
        softmax_loss: bool,
        lam: np.ndarray,
        vec: np.ndarray,
        dtype: type[np.floating[Any]] = np.float64,
        per_split: int = 1,
    ) -> None:
        self.C, self.softmax_loss = C, softmax_loss
        self.X = X.astype(dtype, copy=False)
        self.Y = Y.astype(dtype)
        n_rows = mask.sum(axis=0)  # (K,)
        X64 = X.astype(np.float64, copy=False)
        mean = (mask.T @ X64) / n_rows[:, None]  # (K, d)
        mean_sq = (mask.T @ (X64 * X64)) / n_rows[:, None]
        var = np.clip(mean_sq - mean**2, 0.0, None)
        # Columns constant on the split's rows keep scale 1, as StandardScaler does; the bound
        # covers the round-off of the one-pass variance.
        var[var <= 100 * np.finfo(np.float64).eps * mean_sq] = 1.0
        scale = np.sqrt(var)
        self.n_rows = np.repeat(n_rows, per_split)  # (J,)
        self.mean = np.repeat(mean, per_split, axis=0)  # (J, d)
        self.scale = np.repeat(scale, per_split, axis=0)
        self.J, self.d, self.O = len(C), X.shape[1], Y.shape[1]
        # (n, J): 1/n_j on the rows of problem j, 0 elsewhere
        self.weight = (np.repeat(mask, per_split, axis=1) / self.n_rows).astype(dtype)
        curvature = 0.25 if not softmax_loss else (1 / self.O) * (1 - 1 / self.O)
        h = curvature * lam[None, :] / X.shape[0] + 1.0 / (C * self.n_rows)[:, None]  # (J, d)
        self.h_isqrt = 1.0 / np.sqrt(h)
        self.vec = vec
        self.dtype = dtype

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Parameters as ``u`` ``(J, d, O)`` and ``b`` ``(J, O)``."""
        u = theta[: self.J * self.d * self.O].reshape(self.J, self.d, self.O)
        b = theta[self.J * self.d * self.O :].reshape(self.J, self.O)
        return u, b

    def weights(self, u: np.ndarray) -> np.ndarray:
        """``W_j = V diag(h_j)^(-1/2) u_j`` for every problem: ``(J, d, O)``."""
        q = (u * self.h_isqrt[:, :, None]).transpose(1, 0, 2).reshape(self.d, -1)
        return (self.vec @ q).reshape(self.d, self.J, self.O).transpose(1, 0, 2)

    def coords(self, w: np.ndarray) -> np.ndarray:
        """Inverse of :meth:`weights`: ``u_j = diag(h_j)^(1/2) Vᵀ W_j``, ``(J, d, O)``."""
        q = (self.vec.T @ w.transpose(1, 0, 2).reshape(self.d, -1)).reshape(self.d, self.J, -1)
        return q.transpose(1, 0, 2) / self.h_isqrt[:, :, None]

    def logits(self, X: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Logits of rows ``X`` ``(m, d)`` under every problem: ``(m, J, O)``."""
        w_eff = w / self.scale[:, :, None]  # (J, d, O)
        offset = b - np.einsum("jd,jdo->jo", self.mean, w_eff)
        flat = w_eff.transpose(1, 0, 2).reshape(self.d, self.J * self.O).astype(X.dtype)
        z = X @ flat
        return z.reshape(-1, self.J, self.O) + offset.astype(X.dtype)

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Sum over problems of the mean penalised loss, and its gradient in ``(u, b)`` (flat)."""
        u, b = self.unpack(theta)
        w = self.weights(u)
        z = self.logits(self.X, w, b)
        Y = self.Y[:, None, :]
        if self.softmax_loss:
            lse = logsumexp(z, axis=2)
            loss = lse - np.einsum("njo,no->nj", z, self.Y)
            dz = np.exp(z - lse[:, :, None]) - Y
        else:
            loss = (np.logaddexp(0.0, z) - z * Y).sum(axis=2)
            dz = expit(z) - Y
        weight = self.weight
        dz *= weight[:, :, None]
        penalty = 1.0 / (self.C * self.n_rows)  # (J,)
        f = float(np.sum(loss * weight, dtype=np.float64))
        f += float(0.5 * np.sum(penalty[:, None, None] * w * w))
        g_eff = (self.X.T @ dz.reshape(-1, self.J * self.O)).reshape(self.d, self.J, self.O)
        g_eff = g_eff.transpose(1, 0, 2).astype(np.float64)
        g_sum = dz.sum(axis=0, dtype=np.float64)  # (J, O)
        gw = (g_eff - self.mean[:, :, None] * g_sum[:, None, :]) / self.scale[:, :, None]
        gw += penalty[:, None, None] * w
        gu = (self.vec.T @ gw.transpose(1, 0, 2).reshape(self.d, -1)).reshape(
            self.d, self.J, self.O
        ).transpose(1, 0, 2) * self.h_isqrt[:, :, None]
        return f, np.concatenate([gu.ravel(), g_sum.ravel()])

    def fit(
        self, tol: float, start: tuple[np.ndarray, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Minimise all problems to gradient ``tol``; returns ``W``, ``b`` and solver facts.

        Args:
            tol: L-BFGS gradient tolerance (largest component, preconditioned coordinates).
            start: optional warm start ``(W (J, d, O), b (J, O))``; zeros otherwise.
        """
        if start is None:
            theta0 = np.zeros(self.J * self.O * (self.d + 1))
        else:
            theta0 = np.concatenate([self.coords(start[0]).ravel(), start[1].ravel()])
        with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            res = minimize(
                self.objective,
                theta0,
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": MAX_ITER, "gtol": tol, "ftol": 1e-15, "maxcor": 20},
            )
            grad_max = float(np.max(np.abs(res.jac)))
            converged = grad_max <= tol * 10
            if not converged:
                warnings.warn(
                    f"logistic probe: L-BFGS stopped after {res.nit} iterations with gradient "
                    f"{grad_max:.2e} > {tol * 10:.0e} ({res.message}); results may be inexact",
                    RuntimeWarning,
                    stacklevel=3,
                )
            u, b = self.unpack(res.x)
            w = self.weights(u)
        return w, b, {"iterations": int(res.nit), "converged": bool(converged)}


def _targets(y: np.ndarray, kind: str) -> np.ndarray:
    """``(n, O)`` targets: a column for binary, one-hot for multiclass, as given for multilabel."""
    if kind == "classification":
        return y.reshape(-1, 1).astype(np.float64)
    if kind == "multiclass":
        n_classes = int(y.max()) + 1
        return np.eye(n_classes)[y.astype(np.int64)]
    return y.astype(np.float64)


def _masks(n: int, rows: np.ndarray) -> np.ndarray:
    """``(n, K)`` 0/1 mask of the rows ``(K, m)`` of each split."""
    mask = np.zeros((n, rows.shape[0]))
    mask[rows, np.arange(rows.shape[0])[:, None]] = 1.0
    return mask


def fit_logistic(
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    kind: str,
    seed: int,
    Cs: np.ndarray = CS,
    tol: float = TOL,
    selection_tol: float = SELECTION_TOL,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Logistic probe on K splits.

    Args:
        X: ``(n, d)`` embeddings.
        y: ``(n,)`` 0/1 (``"classification"``), ``(n,)`` class ids (``"multiclass"``) or ``(n, L)``
            0/1 (``"multilabel"``).
        train_idx: ``(K, n_train)`` training rows of each split.
        test_idx: ``(K, n_test)`` test rows of each split.
        kind: ``"classification"``, ``"multiclass"`` or ``"multilabel"``.
        seed: seed of the inner-validation splits.
        Cs: grid of inverse penalties.
        tol: gradient tolerance of the refit (on the mean objective, per component).
        selection_tol: gradient tolerance while choosing C.

    Returns:
        ``(scores, options)``: test-fold probabilities — ``(K, n_test)`` of class 1 for binary,
        ``(K, n_test, C)`` per class (softmax) or per label (sigmoid) — and options
        ``{"C": (K,), "C_grid", "inner_val_size", "selection": {...}, "refit": {...}}``.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    n = X.shape[0]
    K = train_idx.shape[0]
    Cs = np.asarray(Cs, dtype=np.float64)
    # Global standardisation leaves per-split standardisation unchanged; it conditions the sums.
    Xg = X - X.mean(axis=0)
    x_scale = np.sqrt(np.einsum("ij,ij->j", Xg, Xg) / n)
    x_scale[x_scale == 0] = 1.0
    Xg /= x_scale
    Y = _targets(y, kind)
    softmax_loss = kind == "multiclass"
    inner_tr, inner_val = inner_splits(y, train_idx, kind=kind, val_size=INNER_VAL_SIZE, seed=seed)
    every = np.arange(K)[:, None]

    # One BLAS thread for the whole solve (see BLAS_THREADS).
    with threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
        X32 = Xg.astype(np.float32)
        lam, vec = np.linalg.eigh(X32.T @ X32)  # preconditioner only: float32 is enough
        lam = np.clip(lam.astype(np.float64), 0.0, None)
        vec = vec.astype(np.float64)

        # Selection: one problem per (split, C) on the inner-train rows (float32 products), the
        # K splits of one C at a time, from the strongest penalty up, each warm-started from the
        # previous C's solution (a regularisation path): every C stops at its own convergence.
        n_c = len(Cs)
        inner_mask = _masks(n, inner_tr)
        y_val = Y[inner_val]  # (K, m, O)
        val_loss = np.empty((K, n_c))
        path: list[tuple[np.ndarray, np.ndarray]] = [(np.empty(0), np.empty(0))] * n_c
        sel_info: dict[str, Any] = {"iterations": 0, "converged": True}
        previous = None
        for c in np.argsort(Cs):
            sel = _Problems(X32, Y, inner_mask, np.full(K, Cs[c]), softmax_loss, lam, vec, np.float32)
            w, b, info = sel.fit(selection_tol, previous)
            previous = path[c] = (w, b)
            sel_info["iterations"] += info["iterations"]
            sel_info["converged"] &= info["converged"]
            z_val = sel.logits(sel.X, w, b)[inner_val, every].astype(np.float64)  # (K, m, O)
            if softmax_loss:
                val_loss[:, c] = -np.einsum("kmo,kmo->k", log_softmax(z_val, axis=2), y_val)
            else:
                val_loss[:, c] = (np.logaddexp(0.0, z_val) - z_val * y_val).sum(axis=(1, 2))
        best = np.argmin(val_loss, axis=1)
        chosen = Cs[best]
        start = (
            np.stack([path[c][0][k] for k, c in enumerate(best)]),
            np.stack([path[c][1][k] for k, c in enumerate(best)]),
        )  # the inner fit at the chosen C warm-starts the refit

        # Refit on the whole training split with the chosen C.
        fit = _Problems(Xg, Y, _masks(n, train_idx), chosen, softmax_loss, lam, vec)
        w, b, refit_info = fit.fit(tol, start)
        z_test = fit.logits(fit.X, w, b)[test_idx, every]  # (K, n_test, O)
        proba = softmax(z_test, axis=2) if softmax_loss else expit(z_test)  # (K, n_test, O)
    scores = proba[:, :, 0] if kind == "classification" else proba
    return scores, {
        "C": chosen,
        "C_grid": Cs.tolist(),
        "inner_val_size": INNER_VAL_SIZE,
        "selection": sel_info,
        "refit": refit_info,
    }


__all__ = ["CS", "INNER_VAL_SIZE", "fit_logistic"]
