"""Validation protocols of the capability encoding and the bootstrap MAE interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from planetbench.capability.validate import (
    bootstrap_mae,
    holdout_cells,
    leave_one_model_out,
    leave_one_task_out,
)
from planetbench.errors import InvalidInputError

PARAMS = {"dim": 2, "n_ensemble": 2, "min_results": 3, "normalisation": "best"}


def planted(n_models: int = 10, n_tasks: int = 8, seed: int = 0) -> pd.DataFrame:
    """Scores 1 - |u_m - v_t| / c with tasks sitting on models (exact 2-D structure)."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=(n_models, 2))
    v = u[rng.choice(n_models, n_tasks, replace=False)]
    dist = np.linalg.norm(u[:, None] - v[None], axis=2)
    score = 1.0 - dist / (1.5 * dist.max())
    rows = [(f"m{i}", f"t{j}", score[i, j]) for i in range(n_models) for j in range(n_tasks)]
    return pd.DataFrame(rows, columns=["model", "task", "score"]).assign(metric="miou")


def test_bootstrap_mae_contains_mean_and_is_seeded() -> None:
    err = np.abs(np.random.default_rng(0).normal(size=50))
    lo, hi = bootstrap_mae(err, rng=np.random.default_rng(1), n_boot=500)
    assert lo <= err.mean() <= hi
    assert (lo, hi) == bootstrap_mae(err, rng=np.random.default_rng(1), n_boot=500)
    assert bootstrap_mae(np.full(5, 0.3), rng=np.random.default_rng(0)) == pytest.approx((0.3, 0.3))


def _textbook_percentile_bootstrap(
    errors: np.ndarray, rng: np.random.Generator, n_boot: int, level: float
) -> tuple[float, float]:
    """The percentile bootstrap of the mean written out (what validation computed on its own)."""
    idx = rng.integers(0, errors.size, size=(n_boot, errors.size))
    means = errors[idx].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


@pytest.mark.parametrize("n", [1, 7, 60])
def test_bootstrap_mae_is_the_stats_bootstrap_with_the_same_intervals(n: int) -> None:
    """Through planetbench.stats, the same seed gives the same intervals as the textbook
    percentile bootstrap, also for calls that share one generator (as a ValidationReport's)."""
    errors = np.abs(np.random.default_rng(n).normal(size=n))
    ours, ref = np.random.default_rng(3), np.random.default_rng(3)
    for level in (0.95, 0.9, 0.5):
        got = bootstrap_mae(errors, rng=ours, n_boot=700, level=level)
        want = _textbook_percentile_bootstrap(errors, ref, 700, level)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"errors": np.array([])}, "non-empty 1-D"),
        ({"errors": np.array([np.nan])}, "finite"),
        ({"errors": np.ones(3), "n_boot": 0}, "n_boot=0"),
        ({"errors": np.ones(3), "level": 1.5}, r"level=1.5 must lie in \(0, 1\)"),
    ],
)
def test_bootstrap_mae_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        bootstrap_mae(rng=np.random.default_rng(0), **kwargs)


def test_holdout_beats_task_mean_on_planted_data() -> None:
    rep = holdout_cells(planted(), frac=0.2, seed=0, n_boot=200, encoder_params=PARAMS)
    assert rep.protocol == "holdout"
    assert len(rep.predictions) + rep.n_skipped == 16
    assert rep.mae < 0.5 * rep.baseline_mae
    assert rep.mae_ci[0] <= rep.mae <= rep.mae_ci[1]
    assert set(rep.summary()) >= {"mae", "baseline_mae", "n_predicted", "mae_ci_low"}
    again = holdout_cells(planted(), frac=0.2, seed=0, n_boot=200, encoder_params=PARAMS)
    assert again.mae == rep.mae and again.mae_ci == rep.mae_ci


def test_leave_one_model_out() -> None:
    rep = leave_one_model_out(planted(), k=4, seed=0, n_boot=200, encoder_params=PARAMS)
    assert rep.predictions["model"].nunique() == 10
    assert len(rep.predictions) == 10 * (8 - 4)
    assert rep.mae < rep.baseline_mae


def test_leave_one_task_out() -> None:
    rep = leave_one_task_out(planted(), k=4, seed=0, n_boot=200, encoder_params=PARAMS)
    assert rep.predictions["task"].nunique() == 8
    assert len(rep.predictions) == 8 * (10 - 4)
    assert np.isfinite(rep.mae) and rep.mae < rep.baseline_mae


def test_validation_argument_errors() -> None:
    df = planted()
    with pytest.raises(InvalidInputError, match=r"frac=1.5 must lie in \(0, 1\)"):
        holdout_cells(df, frac=1.5)
    with pytest.raises(InvalidInputError, match="n_repeats=0"):
        holdout_cells(df, n_repeats=0)
    with pytest.raises(InvalidInputError, match="k=0 must be an integer >= 1"):
        leave_one_model_out(df, k=0)
    with pytest.raises(InvalidInputError, match="k=1 must be an integer >= 2"):
        leave_one_task_out(df, k=1)
    with pytest.raises(InvalidInputError, match="no held-out cell could be predicted"):
        leave_one_model_out(df, k=8, encoder_params=PARAMS)


def test_additive_baseline_by_hand() -> None:
    """Task mean + model effect, with effects in units of each task's known range."""
    from planetbench.capability.validate import _additive

    known = pd.DataFrame(
        {
            "model": ["m1", "m2", "m1", "m2", "m2", "m3"],
            "task": ["t1", "t1", "t2", "t2", "t3", "t3"],
            "score": [1.0, 3.0, 10.0, 20.0, 7.0, 5.0],
        }
    )
    # effects: m1 = -0.5, m2 = +0.5, m3 = -0.5; unknown model m4 has effect 0.
    test = pd.DataFrame({"model": ["m1", "m3", "m4"], "task": ["t3", "t1", "t2"]})
    np.testing.assert_allclose(_additive(test, known), [5.0, 1.0, 15.0])


def test_report_carries_the_additive_baseline() -> None:
    rep = holdout_cells(planted(), frac=0.2, seed=0, n_boot=200, encoder_params=PARAMS)
    assert rep.additive_mae_ci[0] <= rep.additive_mae <= rep.additive_mae_ci[1]
    assert {"error_additive", "score_additive"} <= set(rep.predictions.columns)
    assert rep.summary()["additive_mae"] == rep.additive_mae
