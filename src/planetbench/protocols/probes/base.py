"""Linear probes on embeddings over K random splits: the public entry point :func:`run_probe`.

A probe maps embeddings ``X`` ``(n, d)`` and targets ``y`` to test-fold scores on K seeded random
splits (:func:`~planetbench.protocols.probes.splits.make_splits`). Three probes are registered in
:data:`PROBES`:

* ``ridge`` — ridge regression, α chosen on an inner validation part of each training split;
* ``logistic`` — L2 logistic regression (binary, softmax multiclass, independent sigmoids for
  multilabel), C chosen on an inner validation part of each training split;
* ``neuco`` — NeuCo-Bench v1.1's AdamW-trained linear layer with best-epoch-on-test selection
  (optimistic; for comparability with the Embed2Scale 2025 challenge only).

All are computed for the K splits at once in NumPy/SciPy (no torch needed).

Metrics per split (``ProbeResult.metrics``):

* regression: ``r2`` (main), ``mse``, ``mae``;
* binary: ``f1`` (main, class 1), ``precision``, ``recall``, ``accuracy``, ``roc_auc`` and
  ``confusion_matrix`` ``(K, 2, 2)``;
* multiclass: ``f1_macro`` (main), ``f1_micro``, ``precision`` and ``recall`` (macro),
  ``accuracy``, ``roc_auc`` (one-vs-rest, macro) and ``confusion_matrix`` ``(K, C, C)``;
* multilabel: ``f1_macro`` (main, over labels), ``f1_micro``, ``precision`` and ``recall``
  (macro), ``accuracy`` (subset accuracy: all labels right), ``roc_auc`` (macro over labels) and
  ``confusion_matrix`` ``(K, L, 2, 2)`` per label (``[[tn, fp], [fn, tp]]``).

``roc_auc`` is NaN in a split only where it is undefined: a class (or a label's positives or
negatives) is absent from that split's test fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from planetbench.errors import InvalidInputError
from planetbench.metrics import tabular
from planetbench.protocols.probes.logistic import fit_logistic
from planetbench.protocols.probes.neuco import fit_neuco
from planetbench.protocols.probes.ridge import fit_ridge
from planetbench.protocols.probes.splits import KINDS, make_splits
from planetbench.registry import Registry

MAIN_METRIC = {
    "regression": "r2",
    "classification": "f1",
    "multiclass": "f1_macro",
    "multilabel": "f1_macro",
}
"""The main metric (the fold score) of each task kind."""


@dataclass(frozen=True)
class ProbeSpec:
    """A registered probe: its id, the task kinds it handles and its fitting function.

    ``fit(X, y, train_idx, test_idx, *, kind, seed, epochs, standardize, options=None)``
    returns test-fold scores (predictions for regression, probabilities for classification)
    stacked over splits, and an options dict. ``epochs``, ``standardize`` and ``options`` (probe
    settings such as NeuCo's ``batch_size``) concern the NeuCo-Bench probes only. When the returned
    options hold ``fold_scores``, those are the probe's own fold scores (NeuCo's best epoch or
    best setting) and replace the main metric recomputed from the returned scores.

    Attributes:
        name: probe id.
        kinds: task kinds it handles.
        fit: the fitting function.
        description: one line for listings.
        stratified: whether (multi)class splits are stratified (NeuCo-Bench's probes: no).
    """

    name: str
    kinds: tuple[str, ...]
    fit: Callable[..., tuple[np.ndarray, dict[str, Any]]]
    description: str
    stratified: bool = True


#: Version of the probe implementations. Bump it whenever a probe can give other numbers for the
#: same configuration (a new solver, another shuffling order): it enters every stored run's
#: config hash, so a resumed evaluation never mixes rows of two implementations.
IMPLEMENTATION_VERSION = 4


def _fit_ridge(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, *, kind: str,
               seed: int, epochs: int, standardize: bool,
               options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    return fit_ridge(X, y, tr, te, seed=seed)


def _fit_logistic(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, *, kind: str,
                  seed: int, epochs: int, standardize: bool,
                  options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    return fit_logistic(X, y, tr, te, kind=kind, seed=seed)


#: Settings of the ``neuco`` probe that ``options`` may carry (NeuCo-Bench's ``probe_params``).
NEUCO_OPTIONS = ("batch_size", "lr", "normalize_labels", "keep_train_outputs", "refit")


def _fit_neuco(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, *, kind: str,
               seed: int, epochs: int, standardize: bool,
               options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    extra = {k: v for k, v in (options or {}).items() if k in NEUCO_OPTIONS}
    return fit_neuco(X, y, tr, te, kind=kind, seed=seed, epochs=epochs, standardize=standardize,
                     **extra)


def _fit_neuco_svm(X: np.ndarray, y: np.ndarray, tr: np.ndarray, te: np.ndarray, *, kind: str,
                   seed: int, epochs: int, standardize: bool,
                   options: Mapping[str, Any] | None = None) -> tuple[np.ndarray, dict[str, Any]]:
    from planetbench.protocols.probes.neuco import minmax_labels, scalar_zscore
    from planetbench.protocols.probes.neuco_svm import (
        SvmSearch,
        fit_neuco_svm,
        svm_search_from_params,
    )

    opts = dict(options or {})
    search = opts.get("search")
    if not isinstance(search, SvmSearch):
        search = svm_search_from_params(search or {"C_start_end": [0.001, 1000],
                                                   "kernel_degree_list": [2, 3]})
    Xs = scalar_zscore(X) if standardize else X
    ys = minmax_labels(y)[0] if opts.get("normalize_labels", True) else y
    scores, out = fit_neuco_svm(Xs, ys, tr, te, kind=kind, search=search,
                                refit=bool(opts.get("refit", False)))
    if kind == "regression" and opts.get("normalize_labels", True):
        _, lo, span = minmax_labels(y)
        scores = scores * span + lo
    return scores, out


PROBES: Registry[ProbeSpec] = Registry("probe")
"""Registered probes by id: ``ridge``, ``logistic``, ``neuco``, ``neuco-svm``."""

PROBES.register("ridge", ProbeSpec(
    "ridge", ("regression",), _fit_ridge,
    "ridge regression on standardised embeddings, α chosen on inner validation",
))
PROBES.register("logistic", ProbeSpec(
    "logistic", ("classification", "multiclass", "multilabel"), _fit_logistic,
    "L2 logistic regression on standardised embeddings, C chosen on inner validation",
))
PROBES.register("neuco", ProbeSpec(
    "neuco", ("regression", "classification"), _fit_neuco,
    "NeuCo-Bench v1.1 AdamW linear layer, best test epoch (optimistic; unstratified splits)",
    stratified=False,
))
PROBES.register("neuco-svm", ProbeSpec(
    "neuco-svm", ("regression", "classification"), _fit_neuco_svm,
    "NeuCo-Bench v1.1 polynomial SVM, Bayesian search, best test setting per split "
    "(optimistic; unstratified splits; needs scikit-optimize)",
    stratified=False,
))


@dataclass
class ProbeResult:
    """Outcome of one probe on one task over K splits.

    Attributes:
        probe: resolved probe id (``"auto"`` replaced).
        kind: task kind.
        metric: name of the main metric (``r2``, ``f1`` or ``f1_macro``).
        fold_scores: ``(K,)`` main metric per split.
        metrics: every metric per split: ``(K,)`` arrays, and ``confusion_matrix`` ``(K, C, C)``
            (``(K, L, 2, 2)`` for multilabel).
        splits: the K ``(train_idx, test_idx)`` row-index pairs.
        test_predictions: per split, predictions ``(n_test,)`` for regression, probabilities of
            class 1 ``(n_test,)`` for binary, ``(n_test, C)`` class or label probabilities.
        seed: seed of the splits and of the probe.
        options: probe facts per split (chosen ``alpha``/``C``, best epoch, …).
    """

    probe: str
    kind: str
    metric: str
    fold_scores: np.ndarray
    metrics: dict[str, np.ndarray]
    splits: list[tuple[np.ndarray, np.ndarray]]
    test_predictions: list[np.ndarray]
    seed: int
    options: dict[str, Any] = field(default_factory=dict)


#: Largest magnitude accepted in embeddings: float32's (embedding files are read as float32, the
#: neuco probe trains in float32, as NeuCo-Bench's does).
FLOAT32_MAX = float(np.finfo(np.float32).max)
#: Embeddings whose largest magnitude is below this are refused: float32, whose normal numbers stop
#: at 1.2e-38 (2^-24 below this), would lose their precision or round them to 0.
SMALLEST_SCALE = 1e-30


#: Column magnitudes the float64 probes (ridge, logistic) accept: their squares stay normal floats.
FLOAT64_SCALES = (1e-150, 1e150)


def _check_scale(X: np.ndarray, probe: str) -> None:
    """Refuse embeddings whose standardisation would under- or overflow.

    Beyond these limits the squares leave float64's range (ridge, logistic standardise each
    column) or float32 holds the values as inf or 0 (neuco), and the probe would score the
    embeddings like all-zero ones. Columns of zeros are fine.
    """
    fix = ("{}; {} every value by one constant (probes standardise, so a global scale does not "
           "change their scores)")
    magnitude = np.max(np.abs(X), axis=0)  # (d,)
    biggest = float(magnitude.max())
    if probe == "neuco":
        if biggest > FLOAT32_MAX:
            raise InvalidInputError(fix.format(
                f"X holds values up to {biggest:.3g}, beyond float32's range "
                f"({FLOAT32_MAX:.3g}) where the neuco probe trains", "divide"))
        if 0.0 < biggest < SMALLEST_SCALE:
            raise InvalidInputError(fix.format(
                f"X's largest absolute value is {biggest:.3g}, below {SMALLEST_SCALE:g}: the "
                "neuco probe's float32 would lose these values", "multiply"))
        return
    low, high = FLOAT64_SCALES
    if biggest > high:
        cols = np.flatnonzero(magnitude > high)
        raise InvalidInputError(fix.format(
            f"X holds values up to {biggest:.3g} (columns {cols[:10].tolist()}), beyond "
            f"{high:g}: standardising them overflows float64", "divide"))
    tiny = np.flatnonzero((magnitude > 0) & (magnitude < low))
    if tiny.size:
        raise InvalidInputError(fix.format(
            f"X's columns {tiny[:10].tolist()} hold only values below {low:g} in magnitude: "
            "standardising them underflows float64", "multiply"))


def validate_targets(y: Any, n: int, kind: str) -> np.ndarray:
    """``y`` checked for ``n`` rows of task ``kind`` (int64 class ids, float64 targets).

    Raises:
        InvalidInputError: wrong shape, NaN/inf, constant targets, labels that are not 0/1 or
            0..C-1, or a class (label) without members.
    """
    y = np.asarray(y)
    if y.shape[:1] != (n,):
        raise InvalidInputError(
            f"y has {y.shape[0] if y.ndim else 0} rows but X has {n}; "
            "give one target per embedding row"
        )
    want_ndim = 2 if kind == "multilabel" else 1
    if y.ndim != want_ndim:
        raise InvalidInputError(
            f"kind={kind!r} needs y of shape {'(n, C)' if want_ndim == 2 else '(n,)'}; "
            f"got shape {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.number) and y.dtype != bool:
        raise InvalidInputError(f"y must be numeric; got dtype {y.dtype}")
    y = y.astype(np.float64)
    if not np.all(np.isfinite(y)):
        raise InvalidInputError(
            f"y holds {int(np.sum(~np.isfinite(y)))} NaN/inf values; drop those rows first"
        )
    if kind == "regression":
        if np.ptp(y) == 0:
            raise InvalidInputError("y is constant; a regression task needs varying targets")
        return y
    if np.any(y != np.round(y)):
        raise InvalidInputError(f"kind={kind!r} needs integer class labels; y holds fractions")
    yi = y.astype(np.int64)
    if kind in ("classification", "multilabel") and not np.all((yi == 0) | (yi == 1)):
        raise InvalidInputError(
            f"kind={kind!r} needs 0/1 labels; got values {np.unique(yi)[:10].tolist()}. "
            "Use kind='multiclass' for class ids"
        )
    if kind == "multiclass":
        if yi.min() < 0:
            raise InvalidInputError(f"multiclass labels must be 0..C-1; got minimum {yi.min()}")
        present = np.unique(yi)
        if len(present) < 2:
            raise InvalidInputError("multiclass y holds a single class; need at least 2")
        missing = sorted(set(range(int(yi.max()) + 1)) - set(present.tolist()))
        if missing:
            raise InvalidInputError(
                f"multiclass labels must be 0..C-1 with every class present; missing {missing}. "
                "Re-index the classes"
            )
    elif kind == "classification" and len(np.unique(yi)) < 2:
        raise InvalidInputError("binary y holds a single class; need both 0 and 1")
    elif kind == "multilabel":
        constant = np.flatnonzero(yi.min(axis=0) == yi.max(axis=0))
        if constant.size:
            raise InvalidInputError(
                f"multilabel columns {constant.tolist()} are constant; each label needs "
                "positives and negatives — drop those columns"
            )
    return yi


def _score(kind: str, y_test: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """All metrics per split from stacked test targets and probe scores."""
    if kind == "regression":
        return {
            "r2": tabular.r2(y_test, scores),
            "mse": tabular.mse(y_test, scores),
            "mae": tabular.mae(y_test, scores),
        }
    if kind == "classification":
        pred = (scores > 0.5).astype(np.int64)
        cm = tabular.confusion_matrix(y_test, pred, 2)
        p, r, f = tabular.prf_from_counts(*tabular.class_counts(cm), "binary")
        out = {"f1": f, "precision": p, "recall": r}
    elif kind == "multiclass":
        pred = np.argmax(scores, axis=2)
        cm = tabular.confusion_matrix(y_test, pred, scores.shape[2])
        counts = tabular.class_counts(cm)
        p, r, f = tabular.prf_from_counts(*counts, "macro", skip_absent=True)
        out = {
            "f1_macro": f,
            "f1_micro": tabular.prf_from_counts(*counts, "micro")[2],
            "precision": p,
            "recall": r,
        }
    else:
        pred = (scores > 0.5).astype(np.int64)
        cm = tabular.multilabel_confusion_matrix(y_test, pred)
        counts = (cm[..., 1, 1], cm[..., 0, 1], cm[..., 1, 0])
        p, r, f = tabular.prf_from_counts(*counts, "macro")
        out = {
            "f1_macro": f,
            "f1_micro": tabular.prf_from_counts(*counts, "micro")[2],
            "precision": p,
            "recall": r,
        }
    out["accuracy"] = tabular.accuracy(y_test, pred)
    out["roc_auc"] = tabular.roc_auc(y_test, scores)
    out["confusion_matrix"] = cm
    return out


def resolve_probe(probe: str, kind: str) -> ProbeSpec:
    """The probe spec for ``probe`` (``"auto"`` → ridge/logistic by ``kind``), checked for ``kind``.

    Raises:
        UnknownNameError: ``probe`` is not registered (with a did-you-mean hint).
        InvalidInputError: the probe does not handle ``kind``.
    """
    if kind not in KINDS:
        raise InvalidInputError(f"kind={kind!r} is not supported; use one of {', '.join(KINDS)}")
    name = ("ridge" if kind == "regression" else "logistic") if probe == "auto" else probe
    spec = PROBES.get(name)
    if kind not in spec.kinds:
        raise InvalidInputError(
            f"probe {name!r} does not handle kind={kind!r} (it handles {', '.join(spec.kinds)}); "
            f"use probe='auto' or one of: "
            f"{', '.join(n for n in PROBES.list() if kind in PROBES.get(n).kinds)}"
        )
    return spec


def run_probe(
    X: np.ndarray,
    y: np.ndarray,
    *,
    kind: str,
    probe: str = "auto",
    n_splits: int = 10,
    test_size: float = 0.2,
    seed: int = 0,
    epochs: int = 20,
    standardize: bool = True,
    options: Mapping[str, Any] | None = None,
) -> ProbeResult:
    """Probe embeddings on K seeded random splits and score every test fold.

    Args:
        X: ``(n, d)`` finite embeddings.
        y: ``(n,)`` targets (real for ``"regression"``, 0/1 for ``"classification"``, class ids
            0..C-1 for ``"multiclass"``) or ``(n, C)`` 0/1 for ``"multilabel"``.
        kind: ``"regression"``, ``"classification"`` (binary), ``"multiclass"`` or
            ``"multilabel"``.
        probe: ``"auto"`` (ridge for regression, logistic otherwise), ``"ridge"``, ``"logistic"``
            or ``"neuco"``.
        n_splits: number of random splits K.
        test_size: share of rows in each test fold.
        seed: seed of the splits (scikit-learn ``random_state``) and of the probe.
        epochs: training epochs of the ``neuco`` probe (ignored by the others).
        standardize: the ``neuco`` probes z-score ``X`` with one scalar mean and std first
            (ignored by the others, which standardise each training split). Pass False when
            ``X`` already holds NeuCo-Bench's file-wide standardisation.
        options: settings of the NeuCo-Bench probes: ``batch_size``, ``lr``,
            ``normalize_labels`` and ``keep_train_outputs`` (``neuco``); ``search`` (an
            :class:`~planetbench.protocols.probes.neuco_svm.SvmSearch` or NeuCo's
            ``probe_params`` mapping), ``normalize_labels`` and ``refit`` (``neuco-svm``).

    Returns:
        A :class:`ProbeResult`; ``fold_scores`` is the main metric per split.

    Raises:
        InvalidInputError: bad shapes, NaN/inf, values whose standardisation under- or
            overflows (neuco: outside float32's range or all below :data:`SMALLEST_SCALE`;
            ridge and logistic: columns beyond :data:`FLOAT64_SCALES`), too few samples or
            classes for the splits, a class with fewer than 2 members, or a probe that does not
            handle ``kind``.
        UnknownNameError: unknown probe id (with a did-you-mean hint).

    Example:
        >>> rng = np.random.default_rng(0)
        >>> X = rng.normal(size=(40, 3))
        >>> res = run_probe(X, X @ [1.0, 2.0, 0.0], kind="regression", n_splits=3)
        >>> res.probe, res.metric, res.fold_scores.shape
        ('ridge', 'r2', (3,))
    """
    spec = resolve_probe(probe, kind)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise InvalidInputError(f"X must be a non-empty 2-D array (n, d); got shape {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise InvalidInputError(f"X must be numeric; got dtype {X.dtype}")
    bad = ~np.isfinite(X)
    if bad.any():
        rows = np.flatnonzero(bad.any(axis=1))
        raise InvalidInputError(
            f"X holds NaN/inf in {rows.size} rows (first: {rows[:5].tolist()}); "
            "drop or impute those rows"
        )
    _check_scale(X, spec.name)
    if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
        raise InvalidInputError(f"epochs must be an integer ≥ 1; got {epochs!r}")
    y = validate_targets(y, X.shape[0], kind)
    splits = make_splits(y, kind=kind, n_splits=n_splits, test_size=test_size, seed=seed,
                         stratify=spec.stratified, sort=spec.name != "neuco-svm")
    train_idx = np.stack([tr for tr, _ in splits])
    test_idx = np.stack([te for _, te in splits])
    scores, probe_options = spec.fit(
        X, y, train_idx, test_idx, kind=kind, seed=seed, epochs=epochs, standardize=standardize,
        options=options,
    )
    metrics = _score(kind, y[test_idx], scores)
    main = MAIN_METRIC[kind]
    if "fold_scores" in probe_options:
        metrics[main] = np.asarray(probe_options["fold_scores"], dtype=np.float64)
    return ProbeResult(
        probe=spec.name,
        kind=kind,
        metric=main,
        fold_scores=metrics[main],
        metrics=metrics,
        splits=splits,
        test_predictions=list(scores),
        seed=seed,
        options=probe_options,
    )


__all__ = [
    "FLOAT32_MAX",
    "FLOAT64_SCALES",
    "IMPLEMENTATION_VERSION",
    "MAIN_METRIC",
    "NEUCO_OPTIONS",
    "PROBES",
    "SMALLEST_SCALE",
    "ProbeResult",
    "ProbeSpec",
    "resolve_probe",
    "run_probe",
    "validate_targets",
]
