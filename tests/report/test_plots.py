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
    fig = plots.intervals(ci, _runs(), xlabel=plots.metric_label("miou"))
    ax = fig.axes[0]
    # the best estimate first (at the top, as in the tables), unless an order is given
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert ax.yaxis_inverted() and ax.get_xlabel() == "miou (higher is better)"
    assert len(ax.collections) >= 2  # violins + error bars
    fig = plots.intervals(ci, _runs(), order=["a", "b"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]


def test_pareto_front_is_monotone() -> None:
    df = pd.DataFrame(
        {"model": ["x", "y", "z"], "gflops": [1.0, 10.0, 5.0], "score": [0.5, 0.9, 0.4]}
    )
    fig = plots.pareto(df)
    front = next(line for line in fig.axes[0].get_lines() if line.get_label() == "Pareto front")
    ys = np.asarray(front.get_ydata(), float)
    assert list(ys) == [0.5, 0.9]  # z is dominated by x


def test_fraction_curves_and_lr_sweep() -> None:
    runs = _runs()
    assert isinstance(plots.fraction_curves(runs, order=["b", "a"]), Figure)
    fig = plots.lr_sweep(runs, ylabel=plots.metric_label("rmse"))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["t1", "t2", "t3"]  # one panel per task
    for ax in panels:
        assert ax.get_xscale() == "log" and ax.get_ylabel() == "rmse (lower is better)"
        assert len(ax.containers) == 2  # one line (with error bars) per model
    # Many sampled rates stay one line per model, and the figure fits the page.
    many = runs.assign(lr=np.random.default_rng(0).uniform(1e-5, 1e-2, len(runs)))
    wide = plots.lr_sweep(many)
    assert wide.get_figwidth() <= 10.5
    assert all(len(ax.containers) == 2 for ax in wide.axes if ax.get_visible())


def test_per_task_heatmap_follows_the_given_order() -> None:
    fig = plots.per_task_heatmap(_runs(), order=["b", "a"], higher_is_better=False,
                                 label=plots.metric_label("rmse"))
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b", "a"]
    assert "rmse (lower is better)" in ax.get_xlabel()


def test_metric_labels_name_the_direction() -> None:
    assert plots.metric_label("miou") == "miou (higher is better)"
    assert plots.metric_label("rmse_skill") == "rmse_skill (higher is better)"
    assert "normalised" in plots.metric_label(None, normalised=True)
    assert plots.metric_label("odd") == "odd"


def test_missing_columns_and_empty_tables_are_refused() -> None:
    with pytest.raises(InvalidInputError, match="missing: \\['task'\\]"):
        plots.radar(pd.DataFrame({"model": ["a"], "score": [1.0]}))
    with pytest.raises(InvalidInputError, match="empty table"):
        plots.lr_sweep(pd.DataFrame(columns=["model", "task", "lr", "score"]))
    with pytest.raises(InvalidInputError, match="no model has both"):
        plots.pareto(pd.DataFrame({"model": ["a"], "gflops": [None], "score": [1.0]}))
