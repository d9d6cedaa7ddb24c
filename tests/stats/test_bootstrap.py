"""Stratified bootstrap confidence intervals (Agarwal et al. 2021)."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import planetbench.stats.bootstrap as bs
from planetbench.errors import InvalidInputError
from planetbench.stats import (
    bootstrap_ci,
    bootstrap_cis,
    intervals_frame,
    iqm,
    optimality_gap,
    optimality_gap_statistic,
)

SCORES = np.random.default_rng(42).normal(0.5, 0.2, size=(5, 4))


def test_stratified_resample_stays_within_task() -> None:
    scores = np.arange(12.0).reshape(3, 4)  # column t holds {t, t+4, t+8}
    batch = bs.stratified_resample(scores, 50, np.random.default_rng(0))
    assert batch.shape == (50, 3, 4)
    for t in range(4):
        assert set(np.unique(batch[:, :, t])) <= set(scores[:, t])
    # every cell draws its own run: some replicate mixes runs inside one task
    assert any(len(set(batch[k, :, 0])) > 1 for k in range(50))


def test_task_bootstrap_resamples_whole_tasks() -> None:
    scores = np.arange(12.0).reshape(3, 4)
    batch = bs.stratified_resample(scores, 200, np.random.default_rng(1), task_bootstrap=True)
    task_of = (batch % 4).astype(int)
    # each resampled column comes from a single original task
    assert (task_of == task_of[:, :1, :]).all()
    # and tasks are repeated in some replicates
    assert any(len(set(task_of[k, 0])) < 4 for k in range(200))


def test_percentile_ci_matches_hand_computation() -> None:
    reps = 500
    iv = bootstrap_ci(SCORES, "mean", reps=reps, seed=7)
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 5, size=(reps, 5, 4), dtype=np.int32)
    boot = SCORES[idx, np.arange(4)].mean(axis=(1, 2))
    low, high = np.quantile(boot, [0.025, 0.975])
    assert (iv.low, iv.high) == pytest.approx((low, high))
    assert iv.point == pytest.approx(SCORES.mean())
    assert (iv.method, iv.reps, iv.confidence) == ("percentile", reps, 0.95)


def test_chunking_does_not_change_the_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    whole = bootstrap_ci(SCORES, "iqm", reps=300, seed=3)
    monkeypatch.setattr(bs, "CHUNK_ELEMENTS", 7 * SCORES.size)
    assert bootstrap_ci(SCORES, "iqm", reps=300, seed=3) == whole


def test_same_seed_same_ci_and_generator_accepted() -> None:
    a = bootstrap_ci(SCORES, "iqm", reps=400, seed=11)
    b = bootstrap_ci(SCORES, "iqm", reps=400, seed=11)
    c = bootstrap_ci(SCORES, "iqm", reps=400, seed=12)
    assert a == b and a != c
    g = bootstrap_ci(SCORES, "iqm", reps=400, seed=np.random.default_rng(11))
    assert g == a


def test_bca_close_to_scipy_on_one_task() -> None:
    x = np.random.default_rng(5).gamma(2.0, 1.0, size=30)
    ours = bootstrap_ci(x[:, None], "mean", reps=4000, method="bca", seed=0)
    ref = scipy.stats.bootstrap(
        (x,), np.mean, n_resamples=4000, method="BCa", rng=np.random.default_rng(0)
    ).confidence_interval
    width = ref.high - ref.low
    assert ours.low == pytest.approx(ref.low, abs=0.1 * width)
    assert ours.high == pytest.approx(ref.high, abs=0.1 * width)
    # skewed data: BCa moves the interval right compared to the percentile one
    pct = bootstrap_ci(x[:, None], "mean", reps=4000, method="percentile", seed=0)
    assert ours.high > pct.high


def test_bca_degenerate_distribution() -> None:
    iv = bootstrap_ci(np.ones((4, 3)), "iqm", reps=100, method="bca")
    assert (iv.point, iv.low, iv.high) == (1.0, 1.0, 1.0)


def test_callable_statistic_and_many_models() -> None:
    def best(batch: np.ndarray) -> np.ndarray:
        return np.asarray(batch.max(axis=(-2, -1)))

    out = bootstrap_cis(
        {"m1": SCORES, "m2": SCORES + 1}, ("iqm", "mean", best, "optimality_gap"), reps=200
    )
    assert set(out) == {
        (m, s) for m in ("m1", "m2") for s in ("iqm", "mean", "best", "optimality_gap")
    }
    assert out[("m1", "best")].point == SCORES.max()
    assert out[("m2", "iqm")].point == pytest.approx(iqm(SCORES) + 1)
    frame = intervals_frame(out)
    assert list(frame.columns) == [
        "model",
        "statistic",
        "point",
        "low",
        "high",
        "confidence",
        "method",
        "reps",
    ]
    assert len(frame) == 8


def test_model_interval_independent_of_other_models() -> None:
    alone = bootstrap_cis({"m1": SCORES}, ("iqm",), reps=300, seed=5)
    crowd = bootstrap_cis(
        {"z": SCORES * 2, "m1": SCORES, "a": SCORES + 3}, ("iqm",), reps=300, seed=5
    )
    assert crowd[("m1", "iqm")] == alone[("m1", "iqm")]
    # identical data under different names get different (independent) streams
    assert crowd[("z", "iqm")].point == pytest.approx(2 * alone[("m1", "iqm")].point)
    other = bootstrap_cis({"m2": SCORES}, ("iqm",), reps=300, seed=5)
    assert other[("m2", "iqm")].low != alone[("m1", "iqm")].low


def test_optimality_gap_at_gamma() -> None:
    stat = optimality_gap_statistic(0.5)
    iv = bootstrap_ci(SCORES, stat, reps=200)
    assert iv.point == pytest.approx(optimality_gap(SCORES, gamma=0.5))
    out = bootstrap_cis({"m": SCORES}, (stat, "optimality_gap"), reps=50)
    assert set(out) == {("m", "optimality_gap@0.5"), ("m", "optimality_gap")}
    with pytest.raises(InvalidInputError, match="gamma"):
        optimality_gap_statistic(float("inf"))


def test_duplicate_statistic_names() -> None:
    with pytest.raises(InvalidInputError, match="distinct"):
        bootstrap_cis({"m": SCORES}, ("iqm", "iqm"), reps=10)


@settings(max_examples=25, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(2, 6), st.integers(1, 4)),
        elements=st.floats(-10, 10, allow_nan=False),
    ),
    st.sampled_from(["mean", "iqm"]),
    st.sampled_from(["percentile", "bca"]),
    st.integers(0, 2**16),
)
def test_ci_contains_point_and_is_reproducible(
    scores: np.ndarray, statistic: str, method: str, seed: int
) -> None:
    iv = bootstrap_ci(scores, statistic, reps=200, method=method, seed=seed)  # type: ignore[arg-type]
    assert iv.low <= iv.point <= iv.high
    assert bootstrap_ci(scores, statistic, reps=200, method=method, seed=seed) == iv  # type: ignore[arg-type]


def test_interval_helpers() -> None:
    a = bs.Interval(0.5, 0.4, 0.6, 0.95, "percentile", 10)
    assert a.contains(0.4) and not a.contains(0.61)
    assert a.overlaps(bs.Interval(0.7, 0.6, 0.8, 0.95, "percentile", 10))
    assert not a.overlaps(bs.Interval(0.7, 0.65, 0.8, 0.95, "percentile", 10))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reps": 0}, "reps must be an integer >= 1"),
        ({"confidence": 1.5}, "confidence"),
        ({"method": "basic"}, "method must be"),
        ({"statistic": "mode"}, "statistic must be one of"),
        ({"seed": -1}, "seed must be"),
        ({"statistic": lambda b: b.mean(axis=-1)}, "must map an array"),
        ({"statistic": lambda b: b.mean(axis=(-2, -1)) * np.nan}, "non-finite"),
    ],
)
def test_bootstrap_errors(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        bootstrap_ci(SCORES, reps=kwargs.pop("reps", 50), **kwargs)  # type: ignore[arg-type]


def test_bootstrap_input_errors() -> None:
    with pytest.raises(InvalidInputError, match="non-finite"):
        bootstrap_ci([[0.1, np.nan]], reps=10)
    with pytest.raises(InvalidInputError, match="at least 2 runs"):
        bootstrap_ci([[0.1, 0.2]], reps=10, method="bca")
    with pytest.raises(InvalidInputError, match="non-empty mapping"):
        bootstrap_cis({}, reps=10)
    with pytest.raises(InvalidInputError, match="statistics is empty"):
        bootstrap_cis({"m": SCORES}, (), reps=10)
