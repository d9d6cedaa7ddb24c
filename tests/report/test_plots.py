"""Report plots: each draws what it is given and refuses unusable tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from planetbench.errors import InvalidInputError
from planetbench.report import plots


def _runs() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for model, base in (("a", 0.5), ("b", 0.7)):
        for task in ("t1", "t2", "t3"):
            for fraction in (0.1, 1.0):
                for lr in (1e-3, 1e-4):
                    for seed in range(3):
                        rows.append(
                            {
                                "model": model,
                                "task": task,
                                "fraction": fraction,
                                "lr": lr,
                                "seed": seed,
                                "score": base * fraction**0.1 + rng.normal(0, 0.01),
                            }
                        )
    return pd.DataFrame(rows)


def test_radar_has_one_line_per_model() -> None:
    fig = plots.radar(_runs(), synthetic=True)
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    assert "SYNTHETIC" in ax.get_title()


def test_intervals_draws_error_bars_and_violins() -> None:
    ci = pd.DataFrame(
        {"model": ["a", "b"], "estimate": [0.5, 0.7], "low": [0.4, 0.6], "high": [0.55, 0.8]}
    )
    fig = plots.intervals(ci, _runs())
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert len(ax.collections) >= 2  # violins + error bars


def test_pareto_front_is_monotone() -> None:
    df = pd.DataFrame(
        {"model": ["x", "y", "z"], "gflops": [1.0, 10.0, 5.0], "score": [0.5, 0.9, 0.4]}
    )
    fig = plots.pareto(df)
    front = next(line for line in fig.axes[0].get_lines() if line.get_label() == "Pareto front")
    ys = np.asarray(front.get_ydata(), float)
    assert list(ys) == [0.5, 0.9]  # z is dominated by x


def test_fraction_curves_and_lr_heatmap() -> None:
    runs = _runs()
    assert isinstance(plots.fraction_curves(runs), Figure)
    fig = plots.lr_heatmap(runs)
    assert fig.axes[0].images[0].get_array().shape == (2, 2)


def test_missing_columns_and_empty_tables_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="missing: \\['task'\\]"):
        plots.radar(pd.DataFrame({"model": ["a"], "score": [1.0]}))
    with pytest.raises(InvalidInputError, match="empty table"):
        plots.lr_heatmap(pd.DataFrame(columns=["model", "lr", "score"]))
    with pytest.raises(InvalidInputError, match="no model has both"):
        plots.pareto(pd.DataFrame({"model": ["a"], "gflops": [None], "score": [1.0]}))
