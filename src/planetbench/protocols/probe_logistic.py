"""L2-regularised logistic-regression probe, solved for all K splits (and all C) at once.

Per split: standardise with the training split's statistics, choose the inverse penalty ``C`` on an
inner-validation part of the training split (lowest validation log-loss over a log grid), refit on
the whole training split with that ``C`` and score the test fold. The objective of one problem is
scikit-learn's ``LogisticRegression`` objective divided by ``C · n``::

    (1/n) Σᵢ loss(zᵢ, yᵢ) + ‖W‖² / (2 C n),   zᵢ = ((xᵢ - μ) / σ) W + b,

with the binary/multilabel loss ``log(1 + e^z) - y z`` per output (independent sigmoids) and the
multiclass loss ``logsumexp(z) - z_y`` (softmax, Cox 1958 / multinomial logit), intercepts
unpenalised. All problems share the embedding matrix, so logits of every (split, C) problem come
from one matrix product ``X @ W_all`` with per-problem row masks, and the summed objective of the
independent problems is minimised by one L-BFGS run (Liu & Nocedal 1989, scipy) over the
concatenated parameters.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit, log_softmax, logsumexp, softmax
from threadpoolctl import threadpool_limits

from planetbench.protocols.splits import inner_splits

CS: np.ndarray = 10.0 ** np.arange(-4.0, 1.0)
"""Default grid of inverse L2 penalties C (scikit-learn's convention), 1e-4 … 1."""

INNER_VAL_SIZE = 0.2
"""Share of each training split held out to choose C."""

TOL = 1e-5
"""L-BFGS stops the refit when every gradient component of the mean objective is below this."""

SELECTION_TOL = 1e-4
"""Looser tolerance while choosing C (only the ranking of validation losses matters)."""

MAX_ITER = 2000

SMALL_PRODUCT = 2_000_000
"""Below this many multiply-adds per objective, BLAS runs single-threaded."""


class _Problems:
    """J independent logistic problems over the rows of one shared matrix ``X`` ``(n, d)``.

    Args:
        X: ``(n, d)`` embeddings (float64).
        Y: ``(n, O)`` targets: 0/1 per output (sigmoid) or one-hot (softmax).
        mask: ``(n, J)`` 1 where row i belongs to the training rows of problem j.
        C: ``(J,)`` inverse penalties.
        softmax_loss: multinomial (True) or independent sigmoids (False).
    """

    def __init__(
        self, X: np.ndarray, Y: np.ndarray, mask: np.ndarray, C: np.ndarray, softmax_loss: bool
    ) -> None:
        self.X, self.Y, self.mask, self.C, self.softmax_loss = X, Y, mask, C, softmax_loss
        n_rows = mask.sum(axis=0)
        self.n_rows = n_rows
        self.mean = (mask.T @ X) / n_rows[:, None]  # (J, d)
        var = (mask.T @ (X * X)) / n_rows[:, None] - self.mean**2
        scale = np.sqrt(np.clip(var, 0.0, None))
        scale[scale < 10 * np.finfo(np.float64).eps] = 1.0
        self.scale = scale
        self.J, self.d, self.O = mask.shape[1], X.shape[1], Y.shape[1]

    def unpack(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Parameters as ``W`` ``(J, d, O)`` and ``b`` ``(J, O)``."""
        w = theta[: self.J * self.d * self.O].reshape(self.J, self.d, self.O)
        b = theta[self.J * self.d * self.O :].reshape(self.J, self.O)
        return w, b

    def logits(self, X: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Logits of rows ``X`` ``(m, d)`` under every problem: ``(m, J, O)``."""
        w_eff = w / self.scale[:, :, None]  # (J, d, O)
        offset = b - np.einsum("jd,jdo->jo", self.mean, w_eff)
        z = X @ w_eff.transpose(1, 0, 2).reshape(self.d, self.J * self.O)
        return z.reshape(-1, self.J, self.O) + offset

    def objective(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """Sum over problems of the mean penalised loss, and its gradient (flat)."""
        w, b = self.unpack(theta)
        z = self.logits(self.X, w, b)
        if self.softmax_loss:
            lse = logsumexp(z, axis=2)
            loss = lse - np.einsum("njo,no->nj", z, self.Y)
            dz = np.exp(z - lse[:, :, None]) - self.Y[:, None, :]
        else:
            loss = (np.logaddexp(0.0, z) - z * self.Y[:, None, :]).sum(axis=2)
            dz = expit(z) - self.Y[:, None, :]
        weight = self.mask / self.n_rows  # (n, J)
        dz *= weight[:, :, None]
        penalty = 1.0 / (self.C * self.n_rows)  # (J,)
        f = float(np.sum(loss * weight) + 0.5 * np.sum(penalty[:, None, None] * w * w))
        g_eff = (self.X.T @ dz.reshape(-1, self.J * self.O)).reshape(self.d, self.J, self.O)
        g_eff = g_eff.transpose(1, 0, 2)
        g_sum = dz.sum(axis=0)  # (J, O)
        gw = (g_eff - self.mean[:, :, None] * g_sum[:, None, :]) / self.scale[:, :, None]
        gw += penalty[:, None, None] * w
        return f, np.concatenate([gw.ravel(), g_sum.ravel()])

    def fit(self, tol: float) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
        """Minimise all problems to gradient ``tol``; returns ``W``, ``b`` and solver facts."""
        theta0 = np.zeros(self.J * self.O * (self.d + 1))
        # Threads only pay off on large products; on small ones they mostly wait on each other.
        small = self.X.shape[0] * self.d * self.J * self.O < SMALL_PRODUCT
        with threadpool_limits(limits=1 if small else None, user_api="blas"):
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
        w, b = self.unpack(res.x)
        return w, b, {"iterations": int(res.nit), "converged": bool(converged)}


def _split_logits(
    rows: np.ndarray, mean: np.ndarray, scale: np.ndarray, w: np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Logits of each split's own rows under its P problems.

    Args:
        rows: ``(K, m, d)`` embeddings of each split's rows.
        mean: ``(K, d)`` and scale ``(K, d)``: each split's standardisation.
        scale: see ``mean``.
        w: ``(K, P, d, O)`` weights; b: ``(K, P, O)`` intercepts.
        b: see ``w``.

    Returns:
        ``(K, P, m, O)`` logits.
    """
    z = (rows - mean[:, None, :]) / scale[:, None, :]
    k, p, d, n_out = w.shape
    out = z @ w.transpose(0, 2, 1, 3).reshape(k, d, p * n_out)  # (K, m, P * O)
    return out.reshape(k, -1, p, n_out).transpose(0, 2, 1, 3) + b[:, :, None, :]


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
    x_scale = X.std(axis=0)
    x_scale[x_scale == 0] = 1.0
    Xg = (X - X.mean(axis=0)) / x_scale
    Y = _targets(y, kind)
    softmax_loss = kind == "multiclass"
    inner_tr, inner_val = inner_splits(y, train_idx, kind=kind, val_size=INNER_VAL_SIZE, seed=seed)

    # Selection: one problem per (split, C), trained on the inner-train rows.
    n_c = len(Cs)
    sel_mask = np.repeat(_masks(n, inner_tr), n_c, axis=1)  # (n, K * n_c), split-major
    sel = _Problems(Xg, Y, sel_mask, np.tile(Cs, K), softmax_loss)
    w, b, sel_info = sel.fit(selection_tol)
    first = slice(None, None, n_c)  # the C's of one split share its standardisation
    z_val = _split_logits(
        Xg[inner_val],
        sel.mean[first],
        sel.scale[first],
        w.reshape(K, n_c, *w.shape[1:]),
        b.reshape(K, n_c, -1),
    )  # (K, n_c, m, O)
    y_val = Y[inner_val]  # (K, m, O)
    if softmax_loss:
        val_loss = -np.einsum("kcmo,kmo->kc", log_softmax(z_val, axis=3), y_val)
    else:
        val_loss = (np.logaddexp(0.0, z_val) - z_val * y_val[:, None]).sum(axis=(2, 3))
    chosen = Cs[np.argmin(val_loss, axis=1)]

    # Refit on the whole training split with the chosen C.
    fit = _Problems(Xg, Y, _masks(n, train_idx), chosen, softmax_loss)
    w, b, refit_info = fit.fit(tol)
    z_test = _split_logits(Xg[test_idx], fit.mean, fit.scale, w[:, None], b[:, None])[:, 0]
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
