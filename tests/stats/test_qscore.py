"""NeuCo-Bench quality score Q."""

from __future__ import annotations

import math

import numpy as np
import pytest

from planetbench.errors import InvalidInputError
from planetbench.stats import is_unreliable, q_score


def test_constant_folds_give_100_times_mean() -> None:
    assert q_score([0.5, 0.5, 0.5]) == pytest.approx(50.0)


def test_hand_computed_value() -> None:
    # mean 0.6, population std 0.1 → 100·0.02·0.6/(0.1+0.02) = 10.0
    assert q_score([0.5, 0.7]) == pytest.approx(10.0)
    # ddof 0, not 1: with ddof 1 the std would be 0.1414 and Q 7.03
    assert q_score([0.5, 0.7], epsilon=0.1) == pytest.approx(100 * 0.1 * 0.6 / 0.2)


def test_spread_lowers_q_and_epsilon_controls_penalty() -> None:
    tight, loose = q_score([0.6, 0.61, 0.59]), q_score([0.3, 0.9, 0.6])
    assert tight > loose
    assert q_score([0.3, 0.9, 0.6], epsilon=1.0) > loose


def test_negative_mean_is_unreliable() -> None:
    q = q_score([-0.2, -0.1, 0.0])
    assert q < 0 and is_unreliable(q)
    assert not is_unreliable(q_score([0.1, 0.2]))
    assert not is_unreliable(0.0)


@pytest.mark.parametrize(
    ("scores", "epsilon", "match"),
    [
        ([], 0.02, "empty"),
        ([0.1, float("nan")], 0.02, "non-finite"),
        ([0.1, math.inf], 0.02, "non-finite"),
        ([[0.1, 0.2]], 0.02, "1-D"),
        (["a"], 0.02, "numeric"),
        ([0.1], 0.0, "epsilon"),
        ([0.1], -1.0, "epsilon"),
        ([0.1], float("nan"), "epsilon"),
        ([0.1], "0.02", "epsilon"),
    ],
)
def test_invalid_inputs(scores: object, epsilon: object, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        q_score(scores, epsilon=epsilon)  # type: ignore[arg-type]


def test_is_unreliable_rejects_non_finite() -> None:
    with pytest.raises(InvalidInputError, match="finite number"):
        is_unreliable(float("nan"))
    with pytest.raises(InvalidInputError, match="finite number"):
        is_unreliable("1")  # type: ignore[arg-type]


def test_accepts_numpy_array() -> None:
    assert q_score(np.array([0.2, 0.2])) == pytest.approx(20.0)
