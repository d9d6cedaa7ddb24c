"""NeuCo-Bench v1.1's SVM probe (``probe_type: svm``), batched over the K splits.

NeuCo-Bench v1.1 (github.com/embed2scale/NeuCo-Bench at a89ba06,
``benchmark/evaluation/probes/svm.py``) probes a task with a polynomial-kernel support-vector
machine of scikit-learn (``SVC`` for binary tasks with labels -1/1, ``SVR`` for regression) whose
hyper-parameters a Bayesian search of scikit-optimize (``BayesSearchCV``) chooses over its K
``ShuffleSplit(test_size=0.1, random_state=42)`` splits:

* the search space: ``C`` log-uniform on ``C_start_end``; ``degree`` one of
  ``kernel_degree_list``; ``kernel`` ``poly``; ``gamma`` log-uniform on ``kernel_gamma_start_end``
  (when given, else scikit-learn's ``'scale'``: 1 / (d · variance of the training fold));
  ``coef0`` uniform on ``kernel_coef0_start_end`` (when given, else 0); ``epsilon`` one of
  ``epsilon_list`` (regression only);
* ``n_iter`` settings are drawn ``n_points`` at a time by a scikit-optimize ``Optimizer``
  (``optimizer_kwargs``, e.g. a random-forest surrogate, ``random_state`` 42 unless set), each
  scored on every split: the search's objective is the mean test-fold accuracy (binary) or
  negative mean squared error (regression) over the splits;
* the fold score is, per split, the HIGHEST test-fold F1 (binary) or R² (regression) over all
  settings tried — each split may take its best from another setting, so the score is more
  optimistic still than the linear probe's best epoch;
* the reported hyper-parameters are those of the setting with the best mean objective (the first
  such), refitted on all rows when a model is kept.

Here the same ``Optimizer`` proposes the same settings (it sees the same objective values), and
each setting is fitted with scikit-learn's ``SVC``/``SVR`` on a precomputed polynomial kernel:
the Gram matrix ``X Xᵀ`` is computed once per task (one BLAS product) and every split and
setting takes its kernel from it, instead of libsvm recomputing ``d``-long dot products for
every fit. A kernel computed from the Gram matrix equals libsvm's own up to float64 round-off.
Tasks with more than :data:`GRAM_MAX_ROWS` rows, or fewer than :data:`GRAM_MIN_DIM` dimensions,
fit on the raw embeddings instead (same results; no n × n matrix in memory).
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError

#: Largest task (rows) whose Gram matrix is precomputed (8,192² float64 = 512 MiB).
GRAM_MAX_ROWS = 8_192
#: Fewest embedding dimensions for which the Gram matrix pays: below, libsvm's own short dot
#: products cost less than gathering kernel blocks.
GRAM_MIN_DIM = 64

#: Keys NeuCo-Bench passes on to ``BayesSearchCV`` from ``opt_params`` that the search honours.
OPT_PARAM_KEYS: tuple[str, ...] = (
    "n_iter", "n_points", "random_state", "optimizer_kwargs", "error_score", "n_jobs",
    "verbose", "pre_dispatch", "iid",
)

_SKOPT_HINT = ("probe_type: svm searches its hyper-parameters with scikit-optimize, as NeuCo-Bench "
               "does: pip install 'planetbench[neuco]'")


@dataclass(frozen=True)
class SvmSearch:
    """NeuCo-Bench's ``probe_params`` of ``probe_type: svm``.

    Attributes:
        C_start_end: ``(low, high)`` bounds of ``C`` (log-uniform).
        kernel_degree_list: polynomial degrees to choose from.
        kernel_coef0_start_end: ``(low, high)`` of ``coef0`` (uniform), or None for 0.
        kernel_gamma_start_end: ``(low, high)`` of ``gamma`` (log-uniform), or None for
            scikit-learn's ``'scale'``.
        epsilon_list: ``epsilon`` values of the regression SVM, or None for its default 0.1.
        n_iter: settings tried.
        n_points: settings proposed at once.
        random_state: seed of the optimizer.
        optimizer_kwargs: keyword arguments of ``skopt.Optimizer`` (``base_estimator``,
            ``n_initial_points``, ``acq_func`` …).
        error_score: score of a fit that fails, or ``"raise"`` to stop (NeuCo's default).
    """

    C_start_end: tuple[float, float]
    kernel_degree_list: tuple[int, ...]
    kernel_coef0_start_end: tuple[float, float] | None = None
    kernel_gamma_start_end: tuple[float, float] | None = None
    epsilon_list: tuple[float, ...] | None = None
    n_iter: int = 50
    n_points: int = 1
    random_state: int = 42
    optimizer_kwargs: Mapping[str, Any] = field(default_factory=dict)
    error_score: float | str = "raise"

    def space(self, kind: str) -> dict[str, Any]:
        """The scikit-optimize search space of a task ``kind``, by parameter name."""
        skopt_space = _skopt().space
        space: dict[str, Any] = {
            "C": skopt_space.Real(self.C_start_end[0], self.C_start_end[1], prior="log-uniform"),
            "degree": skopt_space.Categorical(list(self.kernel_degree_list)),
            "kernel": skopt_space.Categorical(["poly"]),
        }
        if self.kernel_gamma_start_end is not None:
            lo, hi = self.kernel_gamma_start_end
            space["gamma"] = skopt_space.Real(lo, hi, prior="log-uniform")
        if self.kernel_coef0_start_end is not None:
            lo, hi = self.kernel_coef0_start_end
            space["coef0"] = skopt_space.Real(lo, hi, prior="uniform")
        if self.epsilon_list is not None and kind == "regression":
            space["epsilon"] = skopt_space.Categorical(list(self.epsilon_list))
        return space


def _skopt() -> Any:
    """The ``skopt`` module, or an error saying how to install it."""
    try:
        import skopt
        import skopt.space
    except ImportError:
        raise InvalidInputError(_SKOPT_HINT) from None
    return skopt


def check_skopt() -> None:
    """Raise :class:`InvalidInputError` (with the install command) when scikit-optimize is missing."""
    _skopt()


def svm_search_from_params(params: Mapping[str, Any]) -> SvmSearch:
    """An :class:`SvmSearch` from NeuCo-Bench's validated ``probe_params`` mapping."""
    opt = dict(params.get("opt_params") or {})

    def pair(key: str) -> tuple[float, float] | None:
        value = params.get(key)
        return None if value is None else (float(value[0]), float(value[1]))

    degrees = params["kernel_degree_list"]
    eps = params.get("epsilon_list")
    return SvmSearch(
        C_start_end=(float(params["C_start_end"][0]), float(params["C_start_end"][1])),
        kernel_degree_list=tuple(int(d) for d in ([degrees] if isinstance(degrees, int)
                                                  else degrees)),
        kernel_coef0_start_end=pair("kernel_coef0_start_end"),
        kernel_gamma_start_end=pair("kernel_gamma_start_end"),
        epsilon_list=None if eps is None else tuple(float(e) for e in (
            [eps] if isinstance(eps, int | float) else eps)),
        n_iter=int(opt.get("n_iter", 50)),
        n_points=int(opt.get("n_points", 1)),
        random_state=int(opt.get("random_state", 42)),
        optimizer_kwargs=dict(opt.get("optimizer_kwargs") or {}),
        error_score=opt.get("error_score", "raise"),
    )


@dataclass
class _Folds:
    """The K splits of one task with everything the fits share."""

    X: np.ndarray  # (n, d) float64
    y: np.ndarray  # (n,) targets as the SVM sees them
    train: list[np.ndarray]
    test: list[np.ndarray]
    gram: np.ndarray | None  # (n, n) X Xᵀ, or None for raw-kernel fits
    scale_gamma: list[float]  # scikit-learn's gamma='scale' of each training fold


def _kernel(folds: _Folds, rows: np.ndarray, cols: np.ndarray, p: Mapping[str, Any],
            gamma: float) -> np.ndarray:
    """The polynomial kernel ``(gamma·<x_i, x_j> + coef0) ** degree`` of rows × cols."""
    gram = folds.gram if folds.gram is not None else folds.X @ folds.X.T
    block = gram[np.ix_(rows, cols)]
    block *= gamma
    block += float(p.get("coef0", 0.0))
    return np.asarray(block ** int(p["degree"]))


def _estimator(kind: str, p: Mapping[str, Any], *, precomputed: bool, gamma: float) -> Any:
    from sklearn.svm import SVC, SVR

    settings = {k: v for k, v in p.items() if k not in ("kernel",)}
    if precomputed:
        settings = {k: v for k, v in settings.items() if k in ("C", "epsilon")}
        kernel = "precomputed"
    else:
        settings["gamma"] = gamma
        kernel = "poly"
    if kind == "regression":
        return SVR(kernel=kernel, **settings)
    return SVC(kernel=kernel, **settings)


@dataclass
class _FoldFit:
    """One setting on one split: scores and test outputs."""

    test_metric: float
    test_scoring: float
    train_scoring: float
    test_output: np.ndarray


def _scores(kind: str, y_true: np.ndarray, pred: np.ndarray) -> tuple[float, float]:
    """(NeuCo's metric, the search's objective) of predictions: (F1, accuracy) or (R², -MSE)."""
    from sklearn.metrics import accuracy_score, f1_score, mean_squared_error, r2_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "regression":
            return float(r2_score(y_true, pred)), -float(mean_squared_error(y_true, pred))
        return float(f1_score(y_true, pred)), float(accuracy_score(y_true, pred))


def _fit_fold(folds: _Folds, k: int, kind: str, p: Mapping[str, Any],
              error_score: float | str) -> _FoldFit:
    """Fit one setting on split ``k`` and score it on both folds."""
    tr, te = folds.train[k], folds.test[k]
    gamma = float(p["gamma"]) if "gamma" in p else folds.scale_gamma[k]
    precomputed = folds.gram is not None
    model = _estimator(kind, p, precomputed=precomputed, gamma=gamma)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if precomputed:
                k_train = _kernel(folds, tr, tr, p, gamma)
                k_test = _kernel(folds, te, tr, p, gamma)
            else:
                k_train, k_test = folds.X[tr], folds.X[te]
            model.fit(k_train, folds.y[tr])
            test_pred = model.predict(k_test)
            train_pred = model.predict(k_train)
            output = test_pred if kind == "regression" else model.decision_function(k_test)
    except (ValueError, ArithmeticError) as exc:
        if error_score == "raise":
            raise InvalidInputError(
                f"neuco-svm probe: the SVM with {dict(p)} failed on split {k}: {exc}; set "
                "opt_params.error_score (e.g. .nan) to score failed fits instead, as "
                "scikit-learn's search does"
            ) from None
        value = float(error_score)
        return _FoldFit(value, value, value, np.full(te.size, np.nan))
    metric, scoring = _scores(kind, folds.y[te], test_pred)
    _, train_scoring = _scores(kind, folds.y[tr], train_pred)
    return _FoldFit(metric, scoring, train_scoring, np.asarray(output, dtype=np.float64))


def _first_max(values: Sequence[float]) -> tuple[float, int]:
    """Python's ``max`` over ``values`` (a NaN first value is kept, later NaNs are passed over)
    and the position of the value it returns, as NeuCo-Bench takes each split's best."""
    best, where = values[0], 0
    for i, v in enumerate(values[1:], start=1):
        if v > best:
            best, where = v, i
    return float(best), where


def _best_index(mean_scoring: np.ndarray) -> int:
    """scikit-learn's ``best_index_``: the first setting of rank 1 (NaN ranked last)."""
    from scipy.stats import rankdata

    if np.isnan(mean_scoring).all():
        return 0
    filled = np.nan_to_num(mean_scoring, nan=np.nanmin(mean_scoring) - 1)
    return int(np.argmin(rankdata(-filled, method="min")))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def fit_neuco_svm(
    X: np.ndarray,
    y: np.ndarray,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    kind: str,
    search: SvmSearch,
    refit: bool = False,
    use_gram: bool | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """NeuCo-Bench's SVM probe on K splits (see the module docstring; optimistic by design).

    Args:
        X: ``(n, d)`` embeddings as NeuCo-Bench passes them (standardised or not by the caller).
        y: ``(n,)`` targets (labels already min-max scaled or not by the caller) or 0/1 labels.
        train_idx: ``(K, n_train)`` training rows, in the splitter's order.
        test_idx: ``(K, n_test)`` test rows.
        kind: ``"regression"`` or ``"classification"`` (binary).
        search: the search settings (NeuCo's ``probe_params``).
        refit: also fit the best setting on every row (``options["model"]``), as NeuCo keeps it
            for ``store_probes`` and its plots.
        use_gram: precompute the Gram matrix (None: when n ≤ :data:`GRAM_MAX_ROWS` and
            d ≥ :data:`GRAM_MIN_DIM`).

    Returns:
        ``(scores, options)``: per split, the test outputs of the setting that gave its best
        score — predictions for regression, sigmoid of the decision function for binary tasks —
        ``(K, n_test)``; options hold ``fold_scores`` (NeuCo's fold scores), ``test_metric``,
        ``test_scoring``, ``train_scoring`` ``(K, n_iter)``, ``params`` (the settings tried),
        ``best_index`` and ``best_params`` (scikit-learn's ``get_params`` of the best estimator,
        NeuCo's ``hyperparamaters``).

    Raises:
        InvalidInputError: scikit-optimize is missing, a kind other than regression/binary, or a
            fit fails while ``error_score`` is ``"raise"``.
    """
    skopt = _skopt()
    from sklearn.utils import check_random_state
    from skopt.utils import dimensions_aslist, point_asdict

    if kind not in ("regression", "classification"):
        raise InvalidInputError(
            f"the neuco-svm probe handles kind 'regression' and 'classification' (binary) only; "
            f"got {kind!r}"
        )
    X64 = np.asarray(X, dtype=np.float64)
    y_svm = np.asarray(y, dtype=np.float64)
    if kind == "classification":
        y_svm = np.where(y_svm == 0, -1.0, y_svm)  # NeuCo gives the SVC labels -1 and 1
    n = X64.shape[0]
    gram = (use_gram if use_gram is not None
            else n <= GRAM_MAX_ROWS and X64.shape[1] >= GRAM_MIN_DIM)
    train = [np.asarray(t) for t in train_idx]
    test = [np.asarray(t) for t in test_idx]
    folds = _Folds(
        X=X64, y=y_svm, train=train, test=test,
        gram=(X64 @ X64.T) if gram else None,
        scale_gamma=[_scale_gamma(X64[t]) for t in train],
    )
    space = search.space(kind)
    optimizer = skopt.Optimizer(
        dimensions=dimensions_aslist(space),
        **{**dict(search.optimizer_kwargs),
           "random_state": check_random_state(search.random_state)},
    )
    names = sorted(space)
    for i, dim in enumerate(optimizer.space.dimensions):
        if dim.name is None:
            dim.name = names[i]
    n_splits = len(train)
    settings: list[dict[str, Any]] = []
    fits: list[list[_FoldFit]] = []  # per setting, per split
    left = search.n_iter
    with _quiet():
        while left > 0:
            points = optimizer.ask(n_points=min(left, search.n_points))
            points = [[np.array(v).item() for v in p] for p in points]
            means = []
            for point in points:
                p = point_asdict(space, point)
                settings.append(p)
                row = [_fit_fold(folds, k, kind, p, search.error_score) for k in range(n_splits)]
                fits.append(row)
                means.append(float(np.mean([f.test_scoring for f in row])))
            optimizer.tell(points, [-m for m in means])
            left -= search.n_points
    test_metric = np.array([[f.test_metric for f in row] for row in fits]).T  # (K, n_iter)
    test_scoring = np.array([[f.test_scoring for f in row] for row in fits]).T
    train_scoring = np.array([[f.train_scoring for f in row] for row in fits]).T
    fold_scores = np.empty(n_splits)
    outputs = []
    for k in range(n_splits):
        fold_scores[k], where = _first_max(list(test_metric[k]))
        out = fits[where][k].test_output
        outputs.append(out if kind == "regression" else 1.0 / (1.0 + np.exp(-out)))
    best = _best_index(test_scoring.mean(axis=0))
    from sklearn.svm import SVC, SVR

    best_model = (SVR() if kind == "regression" else SVC()).set_params(**settings[best])
    options: dict[str, Any] = {
        "fold_scores": fold_scores,
        "test_metric": test_metric,
        "test_scoring": test_scoring,
        "train_scoring": train_scoring,
        "params": settings,
        "best_index": best,
        "best_params": best_model.get_params(deep=True),
        "n_iter": search.n_iter,
        "gram": gram,
    }
    if refit:
        with _quiet():
            options["model"] = best_model.fit(X64, y_svm)
            options["all_predictions"] = np.asarray(best_model.predict(X64), dtype=np.float64)
    return np.stack(outputs), options


def _scale_gamma(X: np.ndarray) -> float:
    """scikit-learn's ``gamma='scale'``: 1 / (n_features · X.var()), 1 when the variance is 0."""
    var = float(X.var())
    return 1.0 / (X.shape[1] * var) if var != 0 and math.isfinite(var) else 1.0


__all__ = [
    "GRAM_MAX_ROWS",
    "GRAM_MIN_DIM",
    "OPT_PARAM_KEYS",
    "SvmSearch",
    "check_skopt",
    "fit_neuco_svm",
    "svm_search_from_params",
]
