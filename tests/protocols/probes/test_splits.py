"""Seeded random splits of the probes."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from planetbench.errors import InvalidInputError
from planetbench.protocols.probes.splits import inner_splits, make_splits


def test_regression_splits_are_sklearns_shufflesplit() -> None:
    y = np.arange(20.0)
    splits = make_splits(y, kind="regression", n_splits=4, test_size=0.25, seed=3)
    ref = ShuffleSplit(n_splits=4, test_size=0.25, random_state=3).split(np.zeros((20, 1)))
    assert len(splits) == 4
    for (tr, te), (rtr, rte) in zip(splits, ref, strict=True):
        np.testing.assert_array_equal(tr, np.sort(rtr))
        np.testing.assert_array_equal(te, np.sort(rte))
        assert len(te) == 5 and len(tr) == 15
        assert not set(tr) & set(te)


def test_classification_splits_are_stratified_and_seeded() -> None:
    y = np.array([0] * 12 + [1] * 8)
    a = make_splits(y, kind="classification", n_splits=3, test_size=0.25, seed=0)
    b = make_splits(y, kind="classification", n_splits=3, test_size=0.25, seed=0)
    c = make_splits(y, kind="classification", n_splits=3, test_size=0.25, seed=1)
    ref = StratifiedShuffleSplit(n_splits=3, test_size=0.25, random_state=0).split(y[:, None], y)
    for (_, te), (_, te2), (_, rte) in zip(a, b, ref, strict=True):
        np.testing.assert_array_equal(te, te2)
        np.testing.assert_array_equal(te, np.sort(rte))
        assert y[te].sum() == 2  # 8 positives x 0.25
    assert any(not np.array_equal(x[1], z[1]) for x, z in zip(a, c, strict=True))


def test_multilabel_splits_stratify_on_first_label() -> None:
    y = np.zeros((20, 3), dtype=int)
    y[:10, 0] = 1
    y[::3, 1] = 1
    for _, te in make_splits(y, kind="multilabel", n_splits=3, test_size=0.2, seed=0):
        assert y[te, 0].sum() == 2


def test_inner_splits_stay_inside_training_folds() -> None:
    y = np.array([0, 1] * 15)
    splits = make_splits(y, kind="classification", n_splits=3, test_size=0.2, seed=0)
    train = np.stack([tr for tr, _ in splits])
    inner_tr, inner_val = inner_splits(y, train, kind="classification", val_size=0.25, seed=0)
    assert inner_tr.shape == (3, 18) and inner_val.shape == (3, 6)
    for k, (tr, te) in enumerate(splits):
        assert set(inner_tr[k]) | set(inner_val[k]) == set(tr)
        assert not set(inner_val[k]) & set(te)
        assert y[inner_val[k]].sum() == 3


def test_errors() -> None:
    y = np.arange(10.0)
    with pytest.raises(InvalidInputError, match="kind='regresion' is not supported"):
        make_splits(y, kind="regresion", n_splits=2, test_size=0.2, seed=0)
    with pytest.raises(InvalidInputError, match="n_splits must be an integer"):
        make_splits(y, kind="regression", n_splits=0, test_size=0.2, seed=0)
    with pytest.raises(InvalidInputError, match=r"test_size must lie in \(0, 1\)"):
        make_splits(y, kind="regression", n_splits=2, test_size=1.5, seed=0)
    with pytest.raises(InvalidInputError, match="too few for test_size"):
        make_splits(np.arange(2.0), kind="regression", n_splits=2, test_size=0.5, seed=0)
    with pytest.raises(
        InvalidInputError, match=r"at least 2 members of every class; too few: 2 \(1\)"
    ):
        make_splits(
            np.array([0, 0, 0, 1, 1, 1, 2]), kind="multiclass", n_splits=2, test_size=0.5, seed=0
        )
    with pytest.raises(InvalidInputError, match="too few for test_size"):
        make_splits(
            np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 2]),
            kind="multiclass",
            n_splits=2,
            test_size=0.1,
            seed=0,
        )
    train = np.array([[0, 1, 2, 3]])
    with pytest.raises(InvalidInputError, match="cannot hold out a validation part"):
        inner_splits(np.array([0, 0, 0, 1]), train, kind="classification", val_size=0.5, seed=0)
