"""Capability encoding: models and tasks as points of one low-dimensional space.

Every model ``m`` gets a vector ``u_m`` and every task ``t`` a vector ``v_t`` in ``R^d`` so that
their distance approximates the *normalised gap* of ``m`` to the best model on ``t``::

    gap[m, t] = (best_t - score[m, t]) / (best_t - worst_t)      # "range" normalisation
    dist(u_m, v_t) ≈ gap[m, t]

(for lower-is-better metrics best is the minimum, and the sign flips so that gap >= 0 always
means "worse than the best"). The best model on a task has gap 0, the worst gap 1. Fitting is a
least-squares metric embedding (multidimensional unfolding of a rectangular dissimilarity matrix
with missing entries; Borg & Groenen, *Modern Multidimensional Scaling*, 2nd ed., 2005, ch. 14)
minimised with L-BFGS (Liu & Nocedal, Math. Program. 45, 1989) on analytic gradients:

    L(U, V) = 1/n * sum_{(m,t) observed} w[m, t] * (dist(u_m, v_t) - gap[m, t])^2
              + reg / n * (||U||_F^2 + ||V||_F^2)

A *point fit* uses every cell once (``w = 1``) and gives the predictions. Several more fits,
each from its own random start and (by default) on its own bootstrap resample of the cells
(weights ``w`` = resample counts), form an ensemble whose spread is the uncertainty of a
prediction (bagging, Breiman 1996; deep ensembles, Lakshminarayanan et al., NeurIPS 2017). The
point fit rather than the ensemble mean is used for predictions because a bagged member sees only
about 63 % of the distinct cells: on the GEO-Bench-2 table (benchmarks/bench_capability.py) the
ensemble mean was clearly worse on held-out cells than a fit to all cells.
Distances:

* ``l2``: Euclidean, ``sqrt(||u - v||^2 + eps)`` (smoothed at 0 so that the gradient exists).
* ``cosine``: ``1 - u.v / (|u| |v|)`` in [0, 2].
* ``poincare``: the Poincaré-ball distance (Nickel & Kiela, NeurIPS 2017)
  ``arccosh(1 + 2 |x - y|^2 / ((1 - |x|^2)(1 - |y|^2)))``. Points stay strictly inside the
  unit ball through the parameterisation ``x = z / sqrt(1 + |z|^2)`` of a free ``z`` in ``R^d``,
  for which ``1 - |x|^2 = 1 / (1 + |z|^2)``.

The idea of predicting unmeasured (model, task) scores from such an embedding of a results
database is the "capabilities encoding" of models and datasets.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, sparse
from threadpoolctl import threadpool_limits

from planetbench.capability.blocks import connected_blocks
from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.stats.normalise import (
    denormalise_scores,
    metric_directions,
    normalise_scores,
)

DISTANCES: tuple[str, ...] = ("l2", "cosine", "poincare")
NORMALISATIONS: tuple[str, ...] = ("range", "best")

_FORMAT_VERSION = 2


# --------------------------------------------------------------------------- distances


def _ball(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map free parameters z of shape (n, d) into the unit ball; also return 1 + |z|^2, (n,)."""
    b = 1.0 + np.sum(z * z, axis=1)
    return z / np.sqrt(b)[:, None], b


def points(params: np.ndarray, distance: str) -> np.ndarray:
    """Coordinates in the embedding space of raw parameters of shape (n, d).

    Identity for ``l2`` and ``cosine``; the unit-ball point ``z / sqrt(1 + |z|^2)`` for
    ``poincare``.
    """
    return _ball(params)[0] if distance == "poincare" else params


def distance_and_grad(
    a: np.ndarray, b: np.ndarray, distance: str, *, eps: float = 1e-8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise distance between parameter rows and its gradients.

    Args:
        a: model parameters, shape (n, d).
        b: task parameters, shape (n, d).
        distance: one of :data:`DISTANCES`.
        eps: smoothing of the square root / arccosh at zero distance.

    Returns:
        ``(dist, d dist / d a, d dist / d b)`` with shapes (n,), (n, d), (n, d).
    """
    if distance == "l2":
        diff = a - b
        dist = np.sqrt(np.sum(diff * diff, axis=1) + eps)
        ga = diff / dist[:, None]
        return dist, ga, -ga
    if distance == "cosine":
        na = np.sqrt(np.sum(a * a, axis=1) + eps)
        nb = np.sqrt(np.sum(b * b, axis=1) + eps)
        cos = np.sum(a * b, axis=1) / (na * nb)
        ga = -(b / (na * nb)[:, None] - (cos / (na * na))[:, None] * a)
        gb = -(a / (na * nb)[:, None] - (cos / (nb * nb))[:, None] * b)
        return 1.0 - cos, ga, gb
    if distance == "poincare":
        xa, ba = _ball(a)
        xb, bb = _ball(b)
        w = xa - xb
        sq = np.sum(w * w, axis=1)
        arg = 1.0 + 2.0 * sq * ba * bb
        root = np.sqrt(arg * arg - 1.0 + eps)
        dist = np.log(arg + root)  # arccosh, smoothed at arg = 1
        dd_darg = 1.0 / root
        sa = 1.0 / np.sqrt(ba)
        sb = 1.0 / np.sqrt(bb)
        # d sq / d z = 2 J^T (x_a - x_b) with J = s I - s^3 z z^T (Jacobian of z -> x).
        ja_w = sa[:, None] * w - (sa**3 * np.sum(a * w, axis=1))[:, None] * a
        jb_w = sb[:, None] * w - (sb**3 * np.sum(b * w, axis=1))[:, None] * b
        dsq_da = 2.0 * ja_w
        dsq_db = -2.0 * jb_w
        darg_da = 2.0 * bb[:, None] * (ba[:, None] * dsq_da + 2.0 * sq[:, None] * a)
        darg_db = 2.0 * ba[:, None] * (bb[:, None] * dsq_db + 2.0 * sq[:, None] * b)
        return dist, dd_darg[:, None] * darg_da, dd_darg[:, None] * darg_db
    raise InvalidInputError(f"distance {distance!r} is unknown; choose one of {list(DISTANCES)}")


# --------------------------------------------------------------------------- input handling


def _check_tidy(df: pd.DataFrame, *, needs: tuple[str, ...], where: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{where} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in needs if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{where} lacks column(s) {missing}; it needs {list(needs)} and either "
            "'higher_is_better' or 'metric' (to tell the direction of the score)"
        )
    out = df.copy()
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    bad = out.index[~np.isfinite(out["score"].to_numpy(dtype=float))].tolist()
    if bad:
        raise InvalidInputError(
            f"{where}: 'score' is missing or not a finite number at index {bad[:10]}; drop or fix "
            "those rows"
        )
    return out


def aggregate_cells(df: pd.DataFrame, *, where: str = "results") -> pd.DataFrame:
    """Mean score per (model, task) cell, with the direction of each task.

    Args:
        df: tidy results with ``model, task, score`` and ``higher_is_better`` or ``metric``;
            several rows per cell (seeds) are averaged.
        where: name of the table in error messages.

    Returns:
        One row per cell: ``model, task, score, higher_is_better, n_runs``.

    Raises:
        InvalidInputError: missing columns, non-finite scores, or a task whose rows disagree on
            the direction.
    """
    out = _check_tidy(df, needs=("model", "task", "score"), where=where)
    out["higher_is_better"] = metric_directions(out, where=where).to_numpy()
    out["model"] = out["model"].astype(str)
    out["task"] = out["task"].astype(str)
    mixed = out.groupby("task")["higher_is_better"].nunique()
    mixed = mixed[mixed > 1].index.tolist()
    if mixed:
        raise InvalidInputError(
            f"{where}: task(s) {mixed} mix higher-is-better and lower-is-better scores; give one "
            "metric per task"
        )
    cells = (
        out.groupby(["model", "task"], sort=True)
        .agg(score=("score", "mean"), higher_is_better=("higher_is_better", "first"),
             n_runs=("score", "size"))
        .reset_index()
    )
    return cells


def _task_metrics(results: pd.DataFrame, tasks: list[str]) -> dict[str, str]:
    """Task → its metric name(s) (joined with "/" when several), or "" without a metric column."""
    if "metric" not in results.columns:
        return {t: "" for t in tasks}
    names = results.assign(task=results["task"].astype(str)).groupby("task")["metric"].agg(
        lambda m: "/".join(sorted(set(map(str, m))))
    )
    return {t: str(names.get(t, "")) for t in tasks}


def filter_cells(
    cells: pd.DataFrame, min_results: int
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Drop models and tasks with fewer than ``min_results`` cells, repeatedly until stable.

    Args:
        cells: output of :func:`aggregate_cells`.
        min_results: minimum number of measured tasks per model and models per task.

    Returns:
        The kept cells and a list of ``{"kind", "name", "reason"}`` for what was dropped.
    """
    dropped: list[dict[str, Any]] = []
    kept = cells
    while True:
        per_model = kept.groupby("model").size()
        per_task = kept.groupby("task").size()
        low_m = per_model[per_model < min_results]
        low_t = per_task[per_task < min_results]
        if low_m.empty and low_t.empty:
            return kept.reset_index(drop=True), dropped
        for name, n in low_m.items():
            dropped.append({"kind": "model", "name": name,
                            "reason": f"{n} measured task(s) < min_results={min_results}"})
        for name, n in low_t.items():
            dropped.append({"kind": "task", "name": name,
                            "reason": f"{n} measured model(s) < min_results={min_results}"})
        kept = kept[~kept["model"].isin(low_m.index) & ~kept["task"].isin(low_t.index)]


def _unfolding_start(
    mi: np.ndarray, ti: np.ndarray, gap: np.ndarray, n_models: int, n_tasks: int, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """Classical unfolding start (Schönemann, Psychometrika 35, 1970) of shapes (n, dim).

    Missing gaps are filled with their task mean; the double-centred matrix of squared gaps
    ``-1/2 J_m G^2 J_t`` equals ``U_c V_c^T`` for exact Euclidean gaps, so its truncated SVD
    ``P S Q^T`` gives ``U = P S^(1/2)``, ``V = Q S^(1/2)`` (zero-padded when dim > rank).
    """
    full = np.full((n_models, n_tasks), np.nan)
    full[mi, ti] = gap
    col_mean = np.nanmean(full, axis=0)
    full = np.where(np.isnan(full), col_mean[None, :], full)
    sq = np.clip(full, 0.0, None) ** 2
    b = -0.5 * (sq - sq.mean(axis=0, keepdims=True) - sq.mean(axis=1, keepdims=True) + sq.mean())
    p, sv, qt = np.linalg.svd(b, full_matrices=False)
    k = min(dim, sv.shape[0])
    root = np.sqrt(sv[:k])
    u = np.zeros((n_models, dim))
    v = np.zeros((n_tasks, dim))
    u[:, :k] = p[:, :k] * root
    v[:, :k] = qt[:k].T * root
    return u, v


# --------------------------------------------------------------------------- the encoder


class CapabilityEncoder:
    """Embed models and tasks so that their distance predicts the normalised performance gap.

    Args:
        dim: dimension ``d`` of the embedding space.
        distance: ``l2``, ``cosine`` or ``poincare`` (see the module docstring).
        min_results: models need at least this many measured tasks and tasks this many
            measured models (applied iteratively); others are dropped and listed in ``dropped_``.
        n_ensemble: number of independent fits from different random starts.
        seed: seed of the random starts (fits are deterministic given the seed).
        normalisation: ``range`` (gap = (best - score) / (best - worst), best -> 0, worst -> 1)
            or ``best`` (gap = (best - score) / |best|, the relative shortfall to the best).
        reg: weight of the L2 penalty on the parameters (identifiability, stability).
        max_iter: L-BFGS iterations per fit.
        init_scale: standard deviation of the random perturbation added to the classical
            unfolding start (see :func:`_unfolding_start`) of each member.
        bootstrap: when True (default) each ensemble member is fitted to a bootstrap resample of
            the cells (multinomial counts used as weights; bagging, Breiman, Mach. Learn. 24,
            1996), so the ensemble spread reflects how well the data pin a prediction down;
            with False members differ only by their random start and often coincide.

    Attributes (after :meth:`fit`):
        models_: model names, in row order of the parameter arrays.
        tasks_: task names.
        model_params_: array (n_ensemble, n_models, dim) of raw model parameters.
        task_params_: array (n_ensemble, n_tasks, dim) of raw task parameters.
        best_: dict task -> best mean score; worst_: dict task -> worst mean score.
        higher_is_better_: dict task -> bool.
        metrics_: dict task -> metric name ("" when the results gave only the direction).
        observed_: DataFrame of the fitted cells (model, task, score, gap, n_runs).
        losses_: array (n_ensemble,) of final training losses.
        point_model_params_: array (n_models, dim), model parameters of the point fit.
        point_task_params_: array (n_tasks, dim), task parameters of the point fit.
        point_loss_: final training loss of the point fit.
        dropped_: list of dropped models/tasks with the reason.
    """

    def __init__(
        self,
        dim: int = 5,
        distance: str = "l2",
        min_results: int = 5,
        n_ensemble: int = 5,
        seed: int = 0,
        *,
        normalisation: str = "range",
        reg: float = 1e-3,
        max_iter: int = 500,
        init_scale: float = 0.1,
        bootstrap: bool = True,
    ) -> None:
        self.dim = dim
        self.distance = distance
        self.min_results = min_results
        self.n_ensemble = n_ensemble
        self.seed = seed
        self.normalisation = normalisation
        self.reg = reg
        self.max_iter = max_iter
        self.init_scale = init_scale
        self.bootstrap = bootstrap

    # ---------------------------------------------------------------- parameters

    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as a dict."""
        return {
            "dim": self.dim,
            "distance": self.distance,
            "min_results": self.min_results,
            "n_ensemble": self.n_ensemble,
            "seed": self.seed,
            "normalisation": self.normalisation,
            "reg": self.reg,
            "max_iter": self.max_iter,
            "init_scale": self.init_scale,
            "bootstrap": self.bootstrap,
        }

    def _validate_params(self) -> None:
        checks: list[tuple[str, bool, str]] = [
            ("dim", isinstance(self.dim, int) and self.dim >= 1, "an integer >= 1"),
            ("distance", self.distance in DISTANCES, f"one of {list(DISTANCES)}"),
            ("min_results", isinstance(self.min_results, int) and self.min_results >= 1,
             "an integer >= 1"),
            ("n_ensemble", isinstance(self.n_ensemble, int) and self.n_ensemble >= 1,
             "an integer >= 1"),
            ("seed", isinstance(self.seed, int) and self.seed >= 0, "an integer >= 0"),
            ("normalisation", self.normalisation in NORMALISATIONS,
             f"one of {list(NORMALISATIONS)}"),
            ("reg", isinstance(self.reg, int | float) and self.reg >= 0, "a number >= 0"),
            ("max_iter", isinstance(self.max_iter, int) and self.max_iter >= 1, "an integer >= 1"),
            ("init_scale", isinstance(self.init_scale, int | float) and self.init_scale > 0,
             "a number > 0"),
            ("bootstrap", isinstance(self.bootstrap, bool), "True or False"),
        ]
        for name, ok, allowed in checks:
            if not ok:
                raise InvalidInputError(
                    f"CapabilityEncoder {name}={getattr(self, name)!r} is invalid; it must be "
                    f"{allowed}"
                )

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_params_"):
            raise InvalidInputError(
                "this CapabilityEncoder is not fitted yet; call fit(results) or load a saved one"
            )

    # ---------------------------------------------------------------- normalisation

    def _gap(self, score: np.ndarray, best: np.ndarray, worst: np.ndarray,
             hib: np.ndarray) -> np.ndarray:
        if self.normalisation == "range":
            # The min-max normalisation of planetbench.stats with the direction flipped, so
            # that the best model is at 0 and the worst at 1.
            low, high = np.minimum(best, worst), np.maximum(best, worst)
            return normalise_scores(score, low, high, ~np.asarray(hib, dtype=bool))
        sign = np.where(hib, 1.0, -1.0)
        return np.asarray(sign * (best - score) / np.abs(best))

    def _score(self, gap: np.ndarray, best: np.ndarray, worst: np.ndarray,
               hib: np.ndarray) -> np.ndarray:
        if self.normalisation == "range":
            low, high = np.minimum(best, worst), np.maximum(best, worst)
            return denormalise_scores(gap, low, high, ~np.asarray(hib, dtype=bool))
        sign = np.where(hib, 1.0, -1.0)
        return np.asarray(best - sign * gap * np.abs(best))

    def _score_scale(self, best: np.ndarray, worst: np.ndarray) -> np.ndarray:
        return np.asarray(np.abs(best - worst) if self.normalisation == "range" else np.abs(best))

    # ---------------------------------------------------------------- fitting

    def fit(self, results: pd.DataFrame) -> CapabilityEncoder:
        """Fit model and task vectors to a table of results.

        Args:
            results: tidy rows with ``model, task, score`` and ``higher_is_better`` (bool) or
                ``metric`` (direction inferred by :func:`~planetbench.stats.normalise.metric_higher_is_better`). Several rows
                per (model, task) — seeds — are averaged; filter protocols/fractions first.

        Returns:
            self, fitted.

        Raises:
            InvalidInputError: bad parameters or input, fewer than two models or tasks left
                after filtering, or results in disconnected blocks that share no model and no
                task (:func:`~planetbench.capability.blocks.connected_blocks`).
        """
        self._validate_params()
        cells = aggregate_cells(results, where="fit results")
        kept, dropped = filter_cells(cells, self.min_results)
        ranges = kept.groupby("task")["score"].agg(["max", "min"])
        flat = ranges.index[(ranges["max"] - ranges["min"]) <= 0].tolist()
        if self.normalisation == "best":
            hib_t = kept.groupby("task")["higher_is_better"].first()
            best_t = np.where(hib_t, ranges["max"], ranges["min"])
            flat = [t for t, b in zip(ranges.index, best_t, strict=True) if b == 0]
        if flat:
            for t in flat:
                dropped.append({"kind": "task", "name": t,
                                "reason": "all models score the same (no gap to normalise)"})
            kept, more = filter_cells(kept[~kept["task"].isin(flat)], self.min_results)
            dropped.extend(more)
        if dropped:
            warnings.warn(
                f"capability encoding dropped {len(dropped)} model(s)/task(s): "
                + "; ".join(f"{d['kind']} {d['name']!r} ({d['reason']})" for d in dropped[:5])
                + (" …" if len(dropped) > 5 else ""),
                stacklevel=2,
            )
        n_models, n_tasks = kept["model"].nunique(), kept["task"].nunique()
        blocks = connected_blocks(kept)
        if len(blocks) > 1:
            shown = "; ".join(f"block {i}: {b.describe()}" for i, b in enumerate(blocks[:3], 1))
            raise InvalidInputError(
                f"the results form {len(blocks)} disconnected blocks that share no model and no "
                f"task ({shown}{' …' if len(blocks) > 3 else ''}); nothing ties one block's "
                "models to another's, so one encoding of them all would place the blocks "
                "arbitrarily. Fit one block: select its results (on the command line with "
                "--suite, --source or --protocol, or a --from-csv file of one block)"
            )
        if n_models < 2 or n_tasks < 2:
            raise InvalidInputError(
                f"too few results to fit a capability encoding: after keeping models with >= "
                f"{self.min_results} tasks and tasks with >= {self.min_results} models "
                f"(iteratively), {n_models} model(s) and {n_tasks} task(s) remain "
                f"({len(cells)} cells given); lower min_results or add results"
            )
        self.models_ = sorted(kept["model"].unique().tolist())
        self.tasks_ = sorted(kept["task"].unique().tolist())
        hib = kept.groupby("task")["higher_is_better"].first()
        smax = kept.groupby("task")["score"].max()
        smin = kept.groupby("task")["score"].min()
        self.higher_is_better_ = {t: bool(hib[t]) for t in self.tasks_}
        self.metrics_ = _task_metrics(results, self.tasks_)
        self.best_ = {t: float(smax[t] if hib[t] else smin[t]) for t in self.tasks_}
        self.worst_ = {t: float(smin[t] if hib[t] else smax[t]) for t in self.tasks_}
        kept = kept.copy()
        kept["gap"] = self._gap_of(kept["task"], kept["score"].to_numpy(dtype=float))
        self.observed_ = kept[["model", "task", "score", "gap", "n_runs"]].reset_index(drop=True)
        self.dropped_ = dropped

        mi = pd.Index(self.models_).get_indexer(kept["model"])
        ti = pd.Index(self.tasks_).get_indexer(kept["task"])
        gap = kept["gap"].to_numpy(dtype=float)
        u_start, v_start = _unfolding_start(mi, ti, gap, n_models, n_tasks, self.dim)
        members = np.random.SeedSequence(self.seed).spawn(self.n_ensemble)
        u_all, v_all, losses = [], [], []
        with threadpool_limits(limits=1, user_api="blas"):
            for member in members:
                rng = np.random.default_rng(member)
                u0 = u_start + rng.normal(0.0, self.init_scale, size=(n_models, self.dim))
                v0 = v_start + rng.normal(0.0, self.init_scale, size=(n_tasks, self.dim))
                weights = (
                    rng.multinomial(len(gap), np.full(len(gap), 1.0 / len(gap))).astype(float)
                    if self.bootstrap
                    else np.ones(len(gap))
                )
                u, v, loss = self._fit_member(u0, v0, mi, ti, gap, weights)
                u_all.append(u)
                v_all.append(v)
                losses.append(loss)
            # The point fit: every cell with weight 1, from the (unperturbed) classical start.
            u_pt, v_pt, loss_pt = self._fit_member(u_start, v_start, mi, ti, gap, np.ones(len(gap)))
        self.model_params_ = np.stack(u_all)
        self.task_params_ = np.stack(v_all)
        self.losses_ = np.asarray(losses)
        self.point_model_params_ = u_pt
        self.point_task_params_ = v_pt
        self.point_loss_ = loss_pt
        return self

    def _gap_of(self, tasks: Iterable[str], scores: np.ndarray) -> np.ndarray:
        tasks = list(tasks)
        best = np.array([self.best_[t] for t in tasks])
        worst = np.array([self.worst_[t] for t in tasks])
        hib = np.array([self.higher_is_better_[t] for t in tasks])
        return self._gap(scores, best, worst, hib)

    def _fit_member(
        self,
        u0: np.ndarray,
        v0: np.ndarray,
        mi: np.ndarray,
        ti: np.ndarray,
        gap: np.ndarray,
        weights: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, float]:
        n_models, n_tasks, d = u0.shape[0], v0.shape[0], self.dim
        n = gap.shape[0]
        cols = np.arange(n)
        scatter_m = sparse.csr_matrix((np.ones(n), (mi, cols)), shape=(n_models, n))
        scatter_t = sparse.csr_matrix((np.ones(n), (ti, cols)), shape=(n_tasks, n))
        split = n_models * d

        def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
            u = theta[:split].reshape(n_models, d)
            v = theta[split:].reshape(n_tasks, d)
            dist, ga, gb = distance_and_grad(u[mi], v[ti], self.distance)
            r = dist - gap
            loss = float(weights @ (r * r)) / n + self.reg * float(theta @ theta) / n
            coef = (2.0 / n) * (weights * r)[:, None]
            gu = scatter_m @ (coef * ga)
            gv = scatter_t @ (coef * gb)
            grad = np.concatenate([np.asarray(gu).ravel(), np.asarray(gv).ravel()])
            return loss, grad + (2.0 * self.reg / n) * theta

        theta0 = np.concatenate([u0.ravel(), v0.ravel()])
        res = optimize.minimize(
            objective, theta0, jac=True, method="L-BFGS-B",
            options={"maxiter": self.max_iter, "gtol": 1e-7, "ftol": 1e-12},
        )
        theta = res.x
        return (theta[:split].reshape(n_models, d), theta[split:].reshape(n_tasks, d),
                float(res.fun))

    def _fit_one_side(
        self, fixed: np.ndarray, gap: np.ndarray, rng: np.random.Generator, *, moving_is_model: bool
    ) -> np.ndarray:
        """Fit one vector against fixed vectors of shape (k, d) with targets gap (k,)."""
        k = gap.shape[0]

        def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
            a = np.broadcast_to(x, fixed.shape)
            if moving_is_model:
                dist, g, _ = distance_and_grad(a, fixed, self.distance)
            else:
                dist, _, g = distance_and_grad(fixed, a, self.distance)
            r = dist - gap
            loss = float(r @ r) / k + self.reg * float(x @ x) / k
            grad = (2.0 / k) * (r @ g) + (2.0 * self.reg / k) * x
            return loss, grad

        best_x, best_loss = None, math.inf
        starts = [fixed.mean(axis=0)] + [rng.normal(0.0, self.init_scale, self.dim)
                                         for _ in range(3)]
        for x0 in starts:
            res = optimize.minimize(objective, x0, jac=True, method="L-BFGS-B",
                                    options={"maxiter": self.max_iter, "gtol": 1e-8})
            if res.fun < best_loss:
                best_x, best_loss = res.x, float(res.fun)
        return np.asarray(best_x)

    def _measured_cells(self, measured: pd.DataFrame, key: str, name: str,
                        extra: tuple[str, ...] = ()) -> pd.DataFrame:
        where = f"measured results of {name!r}"
        m = _check_tidy(measured, needs=(key, "score", *extra), where=where)
        m[key] = m[key].astype(str)
        if m.empty:
            raise InvalidInputError(f"{where} are empty; give at least one {key} with a score")
        return m.groupby(key, sort=True)["score"].mean().reset_index()

    def place_model(self, name: str, measured: pd.DataFrame) -> CapabilityEncoder:
        """Add a new model from a handful of measured tasks, keeping every other vector fixed.

        Args:
            name: the new model's name (must not be fitted already).
            measured: rows with ``task, score`` (several rows per task are averaged); the tasks
                must be among ``tasks_``. Scores are normalised with the fitted best/worst of
                each task, so they may give gaps below 0 or above 1.

        Returns:
            self, with the model appended to ``models_`` and its cells to ``observed_``.

        Raises:
            InvalidInputError: not fitted, name already present, empty or malformed input.
            UnknownNameError: a task is not in the encoding.
        """
        self._check_fitted()
        name = str(name)
        if name in self.models_:
            raise InvalidInputError(
                f"model {name!r} is already in the encoding; choose another name or refit"
            )
        cells = self._measured_cells(measured, "task", name)
        unknown = sorted(set(cells["task"]) - set(self.tasks_))
        if unknown:
            raise UnknownNameError(
                f"task(s) {unknown} are not in the encoding; known tasks: {self.tasks_}"
            )
        gap = self._gap_of(cells["task"], cells["score"].to_numpy(dtype=float))
        ti = pd.Index(self.tasks_).get_indexer(cells["task"])
        rng = np.random.default_rng([self.seed, len(self.models_), 1])
        with threadpool_limits(limits=1, user_api="blas"):
            new = np.stack([
                self._fit_one_side(self.task_params_[e][ti], gap, rng, moving_is_model=True)
                for e in range(self.model_params_.shape[0])
            ])
            point = self._fit_one_side(self.point_task_params_[ti], gap, rng, moving_is_model=True)
        self.model_params_ = np.concatenate([self.model_params_, new[:, None, :]], axis=1)
        self.point_model_params_ = np.concatenate([self.point_model_params_, point[None, :]])
        self.models_ = [*self.models_, name]
        add = pd.DataFrame({"model": name, "task": cells["task"], "score": cells["score"],
                            "gap": gap, "n_runs": 1})
        self.observed_ = pd.concat([self.observed_, add], ignore_index=True)
        return self

    def place_models(self, measured: pd.DataFrame) -> list[str]:
        """Place every model of a table of new measurements (see :meth:`place_model`).

        Args:
            measured: rows ``model, task, score`` (one row per measured task of each new
                model; several rows per task are averaged).

        Returns:
            The placed model names, in order of first appearance.

        Raises:
            InvalidInputError: missing columns, or a model :meth:`place_model` refuses.
            UnknownNameError: a task is not in the encoding.
        """
        missing = [c for c in ("model", "task", "score") if c not in measured.columns]
        if missing:
            raise InvalidInputError(
                f"new measurements lack column(s) {missing}; they need model, task, score (one "
                "row per measured task of each new model)"
            )
        names = list(dict.fromkeys(measured["model"].astype(str)))
        for name in names:
            own = measured[measured["model"].astype(str) == name]
            self.place_model(name, own[["task", "score"]])
        return names

    def place_task(self, name: str, measured: pd.DataFrame, *,
                   higher_is_better: bool = True) -> CapabilityEncoder:
        """Add a new task from a few measured models, keeping every other vector fixed.

        The new task's best/worst are taken from the measured models, so its gaps (and the
        predicted scores of the others) are relative to that subset.

        Args:
            name: the new task's name (must not be fitted already).
            measured: rows with ``model, score`` for at least two fitted models with different
                scores.
            higher_is_better: direction of the task's metric.

        Returns:
            self, with the task appended to ``tasks_`` and its cells to ``observed_``.

        Raises:
            InvalidInputError: not fitted, name present, fewer than two distinct scores.
            UnknownNameError: a model is not in the encoding.
        """
        self._check_fitted()
        name = str(name)
        if name in self.tasks_:
            raise InvalidInputError(
                f"task {name!r} is already in the encoding; choose another name or refit"
            )
        cells = self._measured_cells(measured, "model", name)
        unknown = sorted(set(cells["model"]) - set(self.models_))
        if unknown:
            raise UnknownNameError(
                f"model(s) {unknown} are not in the encoding; known models: {self.models_}"
            )
        scores = cells["score"].to_numpy(dtype=float)
        if len(cells) < 2 or np.ptp(scores) <= 0:
            raise InvalidInputError(
                f"task {name!r} needs scores of at least two models that differ to set its "
                f"normalisation; got {len(cells)} model(s) with scores {scores.tolist()}"
            )
        self.higher_is_better_[name] = bool(higher_is_better)
        self.metrics_ = {**getattr(self, "metrics_", {}), name: ""}
        self.best_[name] = float(scores.max() if higher_is_better else scores.min())
        self.worst_[name] = float(scores.min() if higher_is_better else scores.max())
        gap = self._gap_of([name] * len(cells), scores)
        mi = pd.Index(self.models_).get_indexer(cells["model"])
        rng = np.random.default_rng([self.seed, len(self.tasks_), 2])
        with threadpool_limits(limits=1, user_api="blas"):
            new = np.stack([
                self._fit_one_side(self.model_params_[e][mi], gap, rng, moving_is_model=False)
                for e in range(self.task_params_.shape[0])
            ])
            point = self._fit_one_side(self.point_model_params_[mi], gap, rng,
                                       moving_is_model=False)
        self.task_params_ = np.concatenate([self.task_params_, new[:, None, :]], axis=1)
        self.point_task_params_ = np.concatenate([self.point_task_params_, point[None, :]])
        self.tasks_ = [*self.tasks_, name]
        add = pd.DataFrame({"model": cells["model"], "task": name, "score": scores,
                            "gap": gap, "n_runs": 1})
        self.observed_ = pd.concat([self.observed_, add], ignore_index=True)
        return self

    # ---------------------------------------------------------------- prediction

    def _pairs_frame(self, pairs: pd.DataFrame | Iterable[tuple[str, str]] | None) -> pd.DataFrame:
        if pairs is None:
            idx = pd.MultiIndex.from_product([self.models_, self.tasks_], names=["model", "task"])
            return idx.to_frame(index=False)
        if isinstance(pairs, pd.DataFrame):
            missing = [c for c in ("model", "task") if c not in pairs.columns]
            if missing:
                raise InvalidInputError(f"pairs lack column(s) {missing}; give model and task")
            frame = pairs[["model", "task"]].astype(str).reset_index(drop=True)
        else:
            rows = list(pairs)
            if any(not isinstance(p, tuple | list) or len(p) != 2 for p in rows):
                raise InvalidInputError("pairs must be (model, task) tuples or a DataFrame")
            frame = pd.DataFrame([(str(m), str(t)) for m, t in rows], columns=["model", "task"])
        unknown_m = sorted(set(frame["model"]) - set(self.models_))
        unknown_t = sorted(set(frame["task"]) - set(self.tasks_))
        if unknown_m:
            raise UnknownNameError(
                f"model(s) {unknown_m} are not in the encoding; place them first with "
                f"place_model(name, measured). Known models: {self.models_}"
            )
        if unknown_t:
            raise UnknownNameError(
                f"task(s) {unknown_t} are not in the encoding; known tasks: {self.tasks_}"
            )
        return frame

    def predict_members(self, pairs: pd.DataFrame) -> np.ndarray:
        """Predicted gaps of every ensemble member, shape (n_ensemble, n_pairs)."""
        self._check_fitted()
        frame = self._pairs_frame(pairs)
        mi = pd.Index(self.models_).get_indexer(frame["model"])
        ti = pd.Index(self.tasks_).get_indexer(frame["task"])
        return np.stack([
            distance_and_grad(u[mi], v[ti], self.distance)[0]
            for u, v in zip(self.model_params_, self.task_params_, strict=True)
        ])

    def predict(
        self, pairs: pd.DataFrame | Iterable[tuple[str, str]] | None = None
    ) -> pd.DataFrame:
        """Predict gaps and scores of (model, task) pairs.

        Args:
            pairs: DataFrame with ``model, task`` columns, an iterable of ``(model, task)``
                tuples, or None for every fitted model x task.

        Returns:
            One row per pair: ``model, task, metric`` (the task's metric name; empty when the
            results gave only ``higher_is_better``), ``gap_mean`` (the gap predicted by the
            point fit to all cells), ``gap_std`` (standard deviation of the gap over the ensemble members),
            ``score_mean, score_std`` (the same in the task's metric units), ``measured`` (the cell was fitted) and ``score_measured`` (its mean score, or
            NaN).

        Raises:
            InvalidInputError: not fitted or malformed pairs.
            UnknownNameError: a model or task is not in the encoding.
        """
        self._check_fitted()
        frame = self._pairs_frame(pairs)
        gaps = self.predict_members(frame)
        mi = pd.Index(self.models_).get_indexer(frame["model"])
        ti = pd.Index(self.tasks_).get_indexer(frame["task"])
        point = distance_and_grad(
            self.point_model_params_[mi], self.point_task_params_[ti], self.distance
        )[0]
        tasks = frame["task"].tolist()
        best = np.array([self.best_[t] for t in tasks])
        worst = np.array([self.worst_[t] for t in tasks])
        hib = np.array([self.higher_is_better_[t] for t in tasks])
        gap_mean = point
        gap_std = gaps.std(axis=0, ddof=1) if gaps.shape[0] > 1 else np.zeros_like(gap_mean)
        out = frame.copy()
        metrics = getattr(self, "metrics_", {})
        out.insert(2, "metric", [metrics.get(t, "") for t in tasks])
        out["gap_mean"] = gap_mean
        out["gap_std"] = gap_std
        out["score_mean"] = self._score(gap_mean, best, worst, hib)
        out["score_std"] = gap_std * self._score_scale(best, worst)
        obs = self.observed_.set_index(["model", "task"])["score"]
        key = pd.MultiIndex.from_frame(frame[["model", "task"]])
        measured = obs.reindex(key)
        out["measured"] = measured.notna().to_numpy()
        out["score_measured"] = measured.to_numpy(dtype=float)
        return out

    # ---------------------------------------------------------------- persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable state (parameters and, when fitted, learned attributes)."""
        state: dict[str, Any] = {"format_version": _FORMAT_VERSION, "params": self.get_params()}
        if hasattr(self, "model_params_"):
            state["fitted"] = {
                "models": self.models_,
                "tasks": self.tasks_,
                "model_params": self.model_params_.tolist(),
                "task_params": self.task_params_.tolist(),
                "best": self.best_,
                "worst": self.worst_,
                "higher_is_better": self.higher_is_better_,
                "metrics": getattr(self, "metrics_", {}),
                "observed": self.observed_.to_dict(orient="list"),
                "losses": self.losses_.tolist(),
                "point_model_params": self.point_model_params_.tolist(),
                "point_task_params": self.point_task_params_.tolist(),
                "point_loss": self.point_loss_,
                "dropped": self.dropped_,
            }
        return state

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> CapabilityEncoder:
        """Rebuild an encoder from :meth:`to_dict` output."""
        if not isinstance(state, dict) or state.get("format_version") != _FORMAT_VERSION:
            raise InvalidInputError(
                "not a saved capability encoding (format_version "
                f"{state.get('format_version') if isinstance(state, dict) else None!r}, expected "
                f"{_FORMAT_VERSION}); save it again with `planetbench capability fit`"
            )
        try:
            enc = cls(**state["params"])
            enc._validate_params()
            fitted = state.get("fitted")
            if fitted:
                enc._restore_fitted(fitted)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidInputError(
                f"the saved capability encoding is malformed ({type(exc).__name__}: {exc}); "
                "fit it again with `planetbench capability fit`"
            ) from exc
        return enc

    def _restore_fitted(self, fitted: dict[str, Any]) -> None:
        """Set the learned attributes from the ``fitted`` part of :meth:`to_dict` output."""
        self.models_ = [str(m) for m in fitted["models"]]
        self.tasks_ = [str(t) for t in fitted["tasks"]]
        self.model_params_ = np.asarray(fitted["model_params"], dtype=float)
        self.task_params_ = np.asarray(fitted["task_params"], dtype=float)
        self.best_ = {k: float(v) for k, v in fitted["best"].items()}
        self.worst_ = {k: float(v) for k, v in fitted["worst"].items()}
        self.higher_is_better_ = {k: bool(v) for k, v in fitted["higher_is_better"].items()}
        self.metrics_ = {str(k): str(v) for k, v in (fitted.get("metrics") or {}).items()}
        self.observed_ = pd.DataFrame(fitted["observed"])
        self.losses_ = np.asarray(fitted["losses"], dtype=float)
        self.point_model_params_ = np.asarray(fitted["point_model_params"], dtype=float)
        self.point_task_params_ = np.asarray(fitted["point_task_params"], dtype=float)
        self.point_loss_ = float(fitted["point_loss"])
        self.dropped_ = list(fitted["dropped"])
        n_members = self.model_params_.shape[0] if self.model_params_.ndim == 3 else -1
        shapes = {
            "model_params": (self.model_params_.shape, (n_members, len(self.models_), self.dim)),
            "task_params": (self.task_params_.shape, (n_members, len(self.tasks_), self.dim)),
            "point_model_params": (self.point_model_params_.shape, (len(self.models_), self.dim)),
            "point_task_params": (self.point_task_params_.shape, (len(self.tasks_), self.dim)),
        }
        for key, (got, want) in shapes.items():
            if got != want or n_members < 1:
                raise ValueError(f"{key} has shape {got}, expected {want}")
        lacking = [t for t in self.tasks_
                   if not (t in self.best_ and t in self.worst_ and t in self.higher_is_better_)]
        if lacking:
            raise ValueError(f"best/worst/higher_is_better lack task(s) {lacking}")
        if not {"model", "task", "score"} <= set(self.observed_.columns):
            raise ValueError("observed lacks model/task/score")

    def save(self, path: str | Path) -> Path:
        """Write the encoder to a JSON file (strict JSON: no NaN/Infinity) and return its path.

        Raises:
            InvalidInputError: the encoder holds non-finite numbers, or the file cannot be
                written.
        """
        path = Path(path)
        try:
            text = json.dumps(self.to_dict(), allow_nan=False)
        except ValueError as exc:
            raise InvalidInputError(
                "the capability encoding holds non-finite numbers and cannot be saved as JSON; "
                "refit it (e.g. with a smaller dim or a larger reg)"
            ) from exc
        try:
            path.write_text(text)
        except OSError as exc:
            raise InvalidInputError(f"cannot write the encoding to {str(path)!r}: {exc}") from exc
        return path

    @classmethod
    def load(cls, path: str | Path) -> CapabilityEncoder:
        """Read an encoder saved with :meth:`save`."""
        path = Path(path)
        if path.is_dir():
            raise InvalidInputError(
                f"capability encoding file {str(path)!r} is a folder; give the JSON file written "
                "by `planetbench capability fit --out FILE`"
            )
        if not path.is_file():
            raise InvalidInputError(
                f"capability encoding file {str(path)!r} does not exist; create it with "
                "`planetbench capability fit --out FILE`"
            )
        try:
            state = json.loads(path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"{str(path)!r} is not valid JSON: {exc}") from exc
        return cls.from_dict(state)

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"CapabilityEncoder({params})"


__all__ = [
    "DISTANCES",
    "NORMALISATIONS",
    "CapabilityEncoder",
    "aggregate_cells",
    "distance_and_grad",
    "filter_cells",
    "points",
]
