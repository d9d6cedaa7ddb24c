"""Random train/test splits for probes (scikit-learn's shuffle splitters, seeded).

Regression uses :class:`~sklearn.model_selection.ShuffleSplit`; binary and multiclass tasks use
:class:`~sklearn.model_selection.StratifiedShuffleSplit` on the class ids; multilabel tasks are
stratified on the *first label* (a 0/1 column), because label combinations are usually too many and
too rare for every combination to have two members. The NeuCo-Bench probes (``neuco``,
``neuco-svm``) ask for plain ``ShuffleSplit`` for every kind (``stratify=False``), as NeuCo-Bench
splits; our own probes keep stratification. Every split of one call has the same train and
test sizes, so probes can stack the K splits into arrays.
"""

from __future__ import annotations

import numpy as np

from planetbench.errors import InvalidInputError

KINDS = ("regression", "classification", "multiclass", "multilabel")


def _n_test(n: int, test_size: float) -> tuple[int, int]:
    """Test and train sizes as scikit-learn computes them (ceil of the test share)."""
    n_test = int(np.ceil(test_size * n))
    return n_test, n - n_test


def stratification_labels(y: np.ndarray, kind: str) -> np.ndarray | None:
    """The labels splits are stratified on, or None for unstratified (regression) splits.

    Args:
        y: targets, ``(n,)`` or ``(n, C)`` for multilabel.
        kind: task kind, one of :data:`KINDS`.
    """
    if kind == "regression":
        return None
    if kind == "multilabel":
        return np.asarray(y)[:, 0].astype(np.int64)
    return np.asarray(y).astype(np.int64)


def make_splits(
    y: np.ndarray,
    *,
    kind: str,
    n_splits: int,
    test_size: float,
    seed: int,
    stratify: bool = True,
    sort: bool = True,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """K seeded random train/test splits of the rows of ``y``.

    Args:
        y: targets, ``(n,)`` (regression, binary, multiclass) or ``(n, C)`` 0/1 (multilabel).
        kind: ``"regression"`` (ShuffleSplit) or ``"classification"``, ``"multiclass"``,
            ``"multilabel"`` (StratifiedShuffleSplit; multilabel on the first label).
        n_splits: number of splits K (≥ 1).
        test_size: share of rows in each test fold, in (0, 1).
        seed: ``random_state`` of the scikit-learn splitter.
        stratify: stratify (multi)class and multilabel splits; False gives plain
            ``ShuffleSplit`` for every kind, as NeuCo-Bench splits (its probes ``neuco`` and
            ``neuco-svm`` ask for this).
        sort: sort each fold's indices; False keeps the splitter's own order (scikit-learn fits
            rows in that order, which the ``neuco-svm`` probe reproduces).

    Returns:
        K pairs ``(train_idx, test_idx)`` of int64 row indices (sorted unless ``sort=False``);
        all train folds have the same size, and so do all test folds.

    Raises:
        InvalidInputError: unknown kind, bad sizes, or a class with fewer than 2 members.
    """
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if kind not in KINDS:
        raise InvalidInputError(f"kind={kind!r} is not supported; use one of {', '.join(KINDS)}")
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer) or n_splits < 1:
        raise InvalidInputError(f"n_splits must be an integer ≥ 1; got {n_splits!r}")
    if not 0.0 < float(test_size) < 1.0:
        raise InvalidInputError(f"test_size must lie in (0, 1); got {test_size!r}")
    y = np.asarray(y)
    n = y.shape[0]
    n_test, n_train = _n_test(n, float(test_size))
    strat = stratification_labels(y, kind) if stratify else None
    n_groups = 1 if strat is None else len(np.unique(strat))
    if n_test < n_groups or n_train < max(n_groups, 2):
        raise InvalidInputError(
            f"{n} samples are too few for test_size={test_size}: the split gives {n_train} "
            f"training and {n_test} test rows but needs at least {max(n_groups, 2)} training and "
            f"{n_groups} test rows; add samples or change test_size"
        )
    if strat is None:
        splitter = ShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed)
        raw = splitter.split(np.zeros((n, 1)))
    else:
        values, counts = np.unique(strat, return_counts=True)
        if np.any(counts < 2):
            rare = ", ".join(f"{v} ({c})" for v, c in zip(values, counts, strict=True) if c < 2)
            what = "first label value" if kind == "multilabel" else "class"
            raise InvalidInputError(
                f"stratified splits need at least 2 members of every {what}; too few: {rare}. "
                "Drop or merge the rare classes"
            )
        splitter = StratifiedShuffleSplit(n_splits=n_splits, test_size=test_size, random_state=seed)
        raw = splitter.split(np.zeros((n, 1)), strat)
    if not sort:
        return [(tr.astype(np.int64), te.astype(np.int64)) for tr, te in raw]
    return [(np.sort(tr).astype(np.int64), np.sort(te).astype(np.int64)) for tr, te in raw]


def inner_splits(
    y: np.ndarray,
    train_idx: np.ndarray,
    *,
    kind: str,
    val_size: float,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Split each training fold once more into an inner-train and an inner-validation part.

    Probes choose their regularisation on the inner-validation part, so the test fold is never seen
    during model selection. Each fold's inner split is drawn like :func:`make_splits` (stratified
    for classification) with its own seed derived from ``seed`` and the fold number.

    Args:
        y: all targets, ``(n,)`` or ``(n, C)``.
        train_idx: ``(K, n_train)`` row indices of the K training folds.
        kind: task kind, one of :data:`KINDS`.
        val_size: share of each training fold held out for validation, in (0, 1).
        seed: base seed.

    Returns:
        ``(inner_train, inner_val)``: row indices into ``y`` of shapes ``(K, n_inner)`` and
        ``(K, n_val)``.

    Raises:
        InvalidInputError: a training fold is too small or too unbalanced to split again.
    """
    y = np.asarray(y)
    seeds = np.random.default_rng([seed, 7919]).integers(0, 2**31 - 1, size=len(train_idx))
    inner_tr, inner_val = [], []
    for rows, fold_seed in zip(train_idx, seeds, strict=True):
        try:
            ((tr, va),) = make_splits(
                y[rows], kind=kind, n_splits=1, test_size=val_size, seed=int(fold_seed)
            )
        except InvalidInputError as exc:
            raise InvalidInputError(
                f"cannot hold out a validation part of a training split to choose the "
                f"regularisation: {exc}"
            ) from None
        inner_tr.append(rows[tr])
        inner_val.append(rows[va])
    return np.stack(inner_tr), np.stack(inner_val)


__all__ = ["KINDS", "inner_splits", "make_splits", "stratification_labels"]
