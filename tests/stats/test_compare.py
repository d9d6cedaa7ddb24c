"""Probability of improvement, mean rank intervals and the tie rule.

rliable's probability of improvement (Agarwal et al. 2021) is re-derived here by hand: per task,
the Mann–Whitney U statistic of X against Y (scipy) divided by n·m, averaged over tasks.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from planetbench.errors import InvalidInputError
from planetbench.stats import (
    is_tied,
    mean_rank,
    pairwise_improvement,
    probability_of_improvement,
    probability_of_improvement_ci,
)


def _rliable_poi(x: np.ndarray, y: np.ndarray) -> float:
    probs = []
    for t in range(x.shape[1]):
        if np.array_equal(x[:, t], y[:, t]):
            probs.append(0.5)
        else:
            u = scipy.stats.mannwhitneyu(x[:, t], y[:, t], alternative="greater").statistic
            probs.append(u / (x.shape[0] * y.shape[0]))
    return float(np.mean(probs))


def test_poi_by_hand() -> None:
    # task 1: X={1,2} vs Y={0,2}: pairs 1>0, 1<2, 2>0, 2=2 → (1+0+1+0.5)/4 = 0.625
    assert probability_of_improvement([[1.0], [2.0]], [[0.0], [2.0]]) == pytest.approx(0.625)
    x = np.array([[1.0, 5.0], [2.0, 6.0]])
    y = np.array([[0.0, 7.0], [2.0, 8.0], [3.0, 9.0]])
    # task 1: wins 1>0, 2>0, tie 2=2 → (2 + 0.5)/6; task 2: no wins → 0
    assert probability_of_improvement(x, y) == pytest.approx((2.5 / 6 + 0.0) / 2)
    assert probability_of_improvement(x, x) == 0.5


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4).flatmap(
        lambda t: st.tuples(
            arrays(
                np.float64,
                st.tuples(st.integers(1, 5), st.just(t)),
                elements=st.integers(-3, 3).map(float),
            ),
            arrays(
                np.float64,
                st.tuples(st.integers(1, 5), st.just(t)),
                elements=st.integers(-3, 3).map(float),
            ),
        )
    )
)
def test_poi_parity_with_rliable_formula(pair: tuple[np.ndarray, np.ndarray]) -> None:
    x, y = pair
    p = probability_of_improvement(x, y)
    assert p == pytest.approx(_rliable_poi(x, y))
    assert probability_of_improvement(y, x) == pytest.approx(1.0 - p)


def test_poi_ci_and_tie_rule() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.05, size=(5, 6))
    better = base + 0.5
    iv = probability_of_improvement_ci(better, base, reps=500, seed=1)
    assert iv.point == 1.0 and iv.low == 1.0 and not is_tied(iv)
    same = probability_of_improvement_ci(
        base, base + rng.normal(0, 0.001, size=base.shape), reps=500, seed=1
    )
    assert iv.low <= iv.point <= iv.high
    assert is_tied(same)
    assert probability_of_improvement_ci(better, base, reps=500, seed=1) == iv


def test_pairwise_improvement_table() -> None:
    rng = np.random.default_rng(3)
    d = {
        "a": rng.normal(0, 1, (4, 3)),
        "b": rng.normal(5, 1, (4, 3)),
        "c": rng.normal(0, 1, (3, 3)),
    }
    table = pairwise_improvement(d, reps=300, seed=0)
    assert list(table.columns) == ["x", "y", "probability", "low", "high", "tied"]
    assert table[["x", "y"]].values.tolist() == [["a", "b"], ["a", "c"], ["b", "c"]]
    ab = table.iloc[0]
    assert ab.probability == 0.0 and not ab.tied
    assert table.iloc[1].tied
    assert (table.low <= table.probability).all() and (table.probability <= table.high).all()


def test_pair_interval_independent_of_other_models() -> None:
    rng = np.random.default_rng(8)
    a, b = rng.normal(0, 1, (4, 3)), rng.normal(0.5, 1, (4, 3))
    two = pairwise_improvement({"a": a, "b": b}, reps=300, seed=9)
    three = pairwise_improvement({"a": a, "b": b, "c": rng.normal(0, 1, (4, 3))}, reps=300, seed=9)
    assert three.iloc[0].to_dict() == two.iloc[0].to_dict()


def test_mean_rank_by_hand_and_intervals() -> None:
    # task means: a (1, 3), b (2, 2), c (3, 1) with zero spread → ranks a (3, 1), b (2, 2), c (1, 3)
    d = {
        "a": np.array([[1.0, 3.0], [1.0, 3.0]]),
        "b": np.array([[2.0, 2.0], [2.0, 2.0]]),
        "c": np.array([[3.0, 1.0], [3.0, 1.0]]),
    }
    table = mean_rank(d, reps=100)
    assert table["mean_rank"].to_dict() == {"a": 2.0, "b": 2.0, "c": 2.0}
    assert (table["low"] == table["high"]).all()  # no run spread → no uncertainty
    lower = mean_rank(d, higher_is_better=False, reps=10)
    assert lower["mean_rank"].to_dict() == {"a": 2.0, "b": 2.0, "c": 2.0}
    # ties share the best rank
    tie = mean_rank({"x": np.ones((2, 1)), "y": np.ones((2, 1)), "z": np.zeros((2, 1))}, reps=10)
    assert tie["mean_rank"].to_dict() == {"x": 1.0, "y": 1.0, "z": 3.0}


def test_mean_rank_noisy_intervals_contain_point() -> None:
    rng = np.random.default_rng(4)
    d = {m: rng.normal(mu, 1.0, size=(5, 4)) for m, mu in [("p", 0.0), ("q", 0.3), ("r", 3.0)]}
    table = mean_rank(d, reps=400, seed=2)
    assert table.index[0] == "r"
    assert ((table.low <= table.mean_rank) & (table.mean_rank <= table.high)).all()
    assert table.loc["p", "high"] > table.loc["p", "low"]
    assert mean_rank(d, reps=400, seed=2).equals(table)


def test_compare_errors() -> None:
    with pytest.raises(InvalidInputError, match="same tasks"):
        probability_of_improvement(np.ones((2, 3)), np.ones((2, 2)))
    with pytest.raises(InvalidInputError, match="non-finite"):
        probability_of_improvement([[np.nan]], [[1.0]])
    with pytest.raises(InvalidInputError, match="reps"):
        probability_of_improvement_ci(np.ones((2, 1)), np.ones((2, 1)), reps=0)
    with pytest.raises(InvalidInputError, match="confidence"):
        probability_of_improvement_ci(np.ones((2, 1)), np.ones((2, 1)), confidence=0.0)
    with pytest.raises(InvalidInputError, match="at least two models"):
        pairwise_improvement({"a": np.ones((2, 1))})
    with pytest.raises(InvalidInputError, match="same number of tasks"):
        mean_rank({"a": np.ones((2, 1)), "b": np.ones((2, 2))}, reps=10)
    with pytest.raises(InvalidInputError, match="non-empty mapping"):
        mean_rank({}, reps=10)
