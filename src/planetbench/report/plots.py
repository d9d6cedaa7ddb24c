"""Plots over tidy result tables (matplotlib figures without pyplot: no global backend state; no torch).

Every function takes a tidy DataFrame, returns a :class:`matplotlib.figure.Figure` and never shows
it. Every value axis names its metric and direction ("miou (higher is better)"); models appear
in the order given (a report passes its leaderboard's order, so every table and figure of a
section lists them alike); figures are at most :data:`~planetbench.report.html.MAX_FIGURE_WIDTH_IN`
inches wide, so they fit the report page unscaled. Titles carry a "SYNTHETIC DATA" tag when the
caller says the data is generated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from planetbench.errors import InvalidInputError
from planetbench.report.html import MAX_FIGURE_WIDTH_IN
from planetbench.stats.normalise import metric_higher_is_better

#: Panels per row of a faceted figure.
PANEL_COLUMNS = 3


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(f"{what} needs columns {', '.join(columns)}; missing: {missing}")
    if df.empty:
        raise InvalidInputError(f"{what} got an empty table: there is nothing to plot")


def _title(text: str, synthetic: bool) -> str:
    return f"{text} — SYNTHETIC DATA" if synthetic else text


def metric_label(metric: str | None, *, normalised: bool = False) -> str:
    """An axis label naming the metric and its direction.

    Args:
        metric: the metric name (``miou``, ``rmse`` …), or None when unknown.
        normalised: the values are normalised scores (0 = low anchor, 1 = high anchor).

    Example:
        >>> metric_label("rmse")
        'rmse (lower is better)'
    """
    if normalised:
        return "normalised score (higher is better; 0 / 1 = low / high anchor)"
    if metric is None:
        return "score"
    try:
        higher = metric_higher_is_better(metric)
    except InvalidInputError:
        return str(metric)
    return f"{metric} ({'higher' if higher else 'lower'} is better)"


def model_order(df: pd.DataFrame, order: Sequence[str] | None) -> list[str]:
    """``order`` restricted to the models of ``df``, then any others (sorted)."""
    present = [str(m) for m in df["model"].astype(str).unique()]
    given = [str(m) for m in order or [] if str(m) in present]
    return given + sorted(m for m in present if m not in given)


def _colours(models: list[str]) -> dict[str, tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if len(models) <= 10 else "tab20"]
    return {m: cmap(i % cmap.N) for i, m in enumerate(models)}


def _legend_below(ax: Any, handles: Sequence[Any], labels: list[str], *, gap: float) -> None:
    """A legend under the axes (never over the data), ``gap`` axes-heights below them; the
    saved figure grows to hold it (``bbox_inches="tight"``)."""
    ncol = max(1, min(len(labels), 4))
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -gap), ncol=ncol,
              fontsize=7, frameon=False)


def radar(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Per-task scores",
    synthetic: bool = False,
    order: Sequence[str] | None = None,
    label: str | None = None,
) -> Figure:
    """Radar chart of per-task values, one polygon per model (legend below the chart).

    Args:
        df: tidy table with columns ``model``, ``task`` and ``value`` (one row per model × task;
            duplicates are averaged).
        value: column plotted on the radial axis.
        title: figure title.
        synthetic: tag the title as synthetic data.
        order: model order of the legend.
        label: what the radial axis shows (metric and direction).
    """
    _require(df, ("model", "task", value), "radar plot")
    table = df.pivot_table(index="model", columns="task", values=value, aggfunc="mean")
    table.index = table.index.astype(str)
    models = model_order(df, order)
    tasks = [str(t) for t in table.columns]
    angles = np.linspace(0, 2 * np.pi, len(tasks), endpoint=False)
    closed = np.append(angles, angles[0])
    fig = Figure(figsize=(6.5, 6.5))
    ax = fig.add_subplot(projection="polar")
    colours = _colours(models)
    lines = []
    for model in models:
        vals = table.loc[model].to_numpy(dtype=float)
        (line,) = ax.plot(closed, np.append(vals, vals[0]), label=model, color=colours[model])
        ax.fill(closed, np.append(vals, vals[0]), alpha=0.06, color=colours[model])
        lines.append(line)
    ax.set_xticks(angles)
    ax.set_xticklabels(tasks, fontsize=8)
    for tick, angle in zip(ax.get_xticklabels(), angles, strict=True):
        x = math.cos(angle)
        tick.set_horizontalalignment("left" if x > 0.1 else "right" if x < -0.1 else "center")
    ax.tick_params(axis="x", pad=8)
    ax.tick_params(axis="y", labelsize=7)
    heading = _title(title, synthetic) + (f"\nradius: {label}" if label else "")
    ax.set_title(heading, fontsize=10, pad=24)
    _legend_below(ax, lines, models, gap=0.08)
    fig.tight_layout()
    return fig


def per_task_heatmap(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Per-task scores",
    synthetic: bool = False,
    order: Sequence[str] | None = None,
    higher_is_better: bool = True,
    label: str | None = None,
) -> Figure:
    """Models (rows, in ``order``) × tasks (columns) with each cell's mean value written in it.

    Colours compare models within a task (min–max per column; the best is darkest whatever
    the metric's direction), so tasks on different scales read alike.

    Args:
        df: columns ``model``, ``task`` and ``value`` (duplicates averaged).
        value: the value column.
        title: figure title.
        synthetic: tag the title as synthetic data.
        order: model order (top to bottom).
        higher_is_better: direction of the values.
        label: what the numbers are (metric and direction), written under the map.
    """
    _require(df, ("model", "task", value), "per-task heat map")
    table = df.pivot_table(index="model", columns="task", values=value, aggfunc="mean")
    table.index = table.index.astype(str)
    models = model_order(df, order)
    table = table.loc[models]
    data = table.to_numpy(dtype=float)
    low, high = np.nanmin(data, axis=0), np.nanmax(data, axis=0)
    span = np.where(high > low, high - low, 1.0)
    shade = (data - low) / span if higher_is_better else (high - data) / span
    n_models, n_tasks = data.shape
    width = min(MAX_FIGURE_WIDTH_IN, 2.5 + 0.75 * n_tasks)
    fig = Figure(figsize=(width, 1.4 + 0.32 * n_models))
    ax = fig.subplots()
    ax.imshow(np.nan_to_num(shade, nan=0.0), aspect="auto", cmap="Blues", vmin=-0.15, vmax=1.2)
    size = 7 if n_tasks <= 12 else 6
    for (i, j), v in np.ndenumerate(data):
        text = "–" if not np.isfinite(v) else f"{v:.3g}"
        dark = np.isfinite(shade[i, j]) and shade[i, j] > 0.6
        ax.text(j, i, text, ha="center", va="center", fontsize=size,
                color="white" if dark else "black")
    ax.set_xticks(range(n_tasks))
    ax.set_xticklabels([str(t) for t in table.columns], rotation=35, ha="right", fontsize=7)
    ax.set_yticks(range(n_models))
    ax.set_yticklabels(models, fontsize=7)
    ax.set_title(_title(title, synthetic), fontsize=10)
    if label:
        ax.set_xlabel(f"cells: {label}; colour: rank within the task (darker = better)",
                      fontsize=8)
    fig.tight_layout()
    return fig


def intervals(
    ci: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    title: str = "Aggregate score with 95 % CI",
    synthetic: bool = False,
    order: Sequence[str] | None = None,
    xlabel: str = "score",
) -> Figure:
    """Point estimates with confidence intervals per model, over violins of per-run scores.

    Args:
        ci: columns ``model``, ``estimate``, ``low``, ``high``.
        runs: optional per-run scores (``model``, ``score``) drawn as violins behind the intervals.
        title: figure title.
        synthetic: tag the title as synthetic data.
        order: model order, top to bottom (default: best estimate at the top).
        xlabel: the value axis (metric and direction).
    """
    _require(ci, ("model", "estimate", "low", "high"), "interval plot")
    ci = ci.assign(model=ci["model"].astype(str))
    if order is None:
        order = ci.sort_values("estimate", ascending=False)["model"].tolist()
    models = model_order(ci, order)
    ci = ci.set_index("model").loc[models].reset_index()
    pos = np.arange(len(models))
    fig = Figure(figsize=(8, 0.45 * len(models) + 1.6))
    ax = fig.subplots()
    if runs is not None and not runs.empty:
        data = [runs.loc[runs["model"].astype(str) == m, "score"].to_numpy(float) for m in models]
        keep = [i for i, d in enumerate(data) if d.size > 1]
        if keep:
            parts = ax.violinplot(
                [data[i] for i in keep], positions=pos[keep], orientation="horizontal",
                showextrema=False,
            )
            for body in parts["bodies"]:  # type: ignore[attr-defined]
                body.set_alpha(0.25)
    est = ci["estimate"].to_numpy(float)
    err = np.vstack([est - ci["low"].to_numpy(float), ci["high"].to_numpy(float) - est])
    ax.errorbar(est, pos, xerr=err, fmt="o", color="black", capsize=3)
    ax.set_yticks(pos)
    ax.set_yticklabels(models, fontsize=8)
    ax.invert_yaxis()  # the first model (rank 1) at the top, as in the tables
    ax.margins(x=0.04)
    ax.set_xlabel(xlabel)
    ax.set_title(_title(title, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def pareto(
    df: pd.DataFrame,
    *,
    cost: str = "gflops",
    value: str = "score",
    title: str = "Score vs compute",
    synthetic: bool = False,
    higher_is_better: bool = True,
    ylabel: str | None = None,
) -> Figure:
    """Score against compute per model, with the Pareto front (better score, lower cost) drawn.

    Labels are moved apart (adjustText) with a thin line to their point when moved.

    Args:
        df: columns ``model``, ``cost`` and ``value`` (one row per model).
        cost: cost column (``gflops``, ``latency_ms``, ``params``).
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
        higher_is_better: direction of ``value``.
        ylabel: the value axis (default: ``value``).
    """
    _require(df, ("model", cost, value), "Pareto plot")
    d = df.dropna(subset=[cost, value]).sort_values(cost)
    if d.empty:
        raise InvalidInputError(f"Pareto plot: no model has both {cost} and {value} measured")
    fig = Figure(figsize=(7, 5))
    ax = fig.subplots()
    ax.scatter(d[cost], d[value])
    front_x, front_y, best = [], [], -np.inf
    sign = 1.0 if higher_is_better else -1.0
    for x, y in zip(d[cost].to_numpy(float), d[value].to_numpy(float), strict=True):
        if sign * y > best:
            front_x.append(x)
            front_y.append(y)
            best = sign * y
    ax.step(front_x, front_y, where="post", color="tab:red", label="Pareto front")
    ax.set_xscale("log")
    ax.margins(x=0.2, y=0.15)
    ax.set_xlabel(f"{cost} (log scale; lower is cheaper)")
    ax.set_ylabel(ylabel or value)
    ax.legend(fontsize=8, loc="best")
    ax.set_title(_title(title, synthetic), fontsize=10)
    texts = [ax.text(x, y, str(m), fontsize=7)
             for m, x, y in zip(d["model"], d[cost], d[value], strict=True)]
    fig.tight_layout()
    spread_labels(ax, texts)
    return fig


def spread_labels(ax: Any, texts: Sequence[Any]) -> None:
    """Move text labels so that they do not overlap each other or the points (adjustText),
    drawing a thin leader line from a moved label to its point."""
    if len(texts) < 2:
        return
    from adjustText import adjust_text

    adjust_text(list(texts), ax=ax, arrowprops={"arrowstyle": "-", "color": "grey", "lw": 0.5})


def fraction_curves(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Score vs training fraction",
    synthetic: bool = False,
    order: Sequence[str] | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Mean score (± std over seeds and tasks) against the training fraction, one line per model.

    Args:
        df: columns ``model``, ``fraction`` and ``value`` (one row per run).
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
        order: model order of the legend.
        ylabel: the value axis (metric and direction).
    """
    _require(df, ("model", "fraction", value), "fraction curves")
    g = df.groupby(["model", "fraction"])[value].agg(["mean", "std"]).reset_index()
    g["model"] = g["model"].astype(str)
    models = model_order(g, order)
    colours = _colours(models)
    fig = Figure(figsize=(7.5, 5))
    ax = fig.subplots()
    handles = []
    for model in models:
        part = g[g["model"] == model].sort_values("fraction")
        h = ax.errorbar(part["fraction"], part["mean"], yerr=part["std"].fillna(0), marker="o",
                        capsize=2, color=colours[model], label=model)
        handles.append(h)
    fractions = sorted(g["fraction"].astype(float).unique())
    ax.set_xscale("log")
    ax.set_xticks(fractions)
    ax.set_xticklabels([f"{f:g}" for f in fractions], fontsize=8)
    ax.minorticks_off()
    ax.set_xlabel("training fraction (log scale)")
    ax.set_ylabel(ylabel or value)
    ax.set_title(_title(title, synthetic), fontsize=10)
    _legend_below(ax, handles, models, gap=0.14)
    fig.tight_layout()
    return fig


def lr_sweep(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Learning-rate sweep",
    synthetic: bool = False,
    order: Sequence[str] | None = None,
    ylabel: str | None = None,
) -> Figure:
    """Score against learning rate: one panel per task, one line per model (mean ± std over seeds).

    The x axis is logarithmic and shows every rate tried, however many: a sweep never becomes
    one column per sampled rate.

    Args:
        df: columns ``model``, ``task``, ``lr`` and ``value`` (one row per run).
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
        order: model order of the legend.
        ylabel: the value axis (metric and direction).
    """
    _require(df, ("model", "task", "lr", value), "learning-rate sweep")
    d = df.dropna(subset=["lr"]).assign(model=lambda x: x["model"].astype(str))
    if d.empty:
        raise InvalidInputError("learning-rate sweep: no run has a learning rate")
    g = d.groupby(["task", "model", "lr"])[value].agg(["mean", "std"]).reset_index()
    tasks = sorted(g["task"].astype(str).unique())
    models = model_order(g, order)
    colours = _colours(models)
    ncol = min(PANEL_COLUMNS, len(tasks))
    nrow = math.ceil(len(tasks) / ncol)
    fig = Figure(figsize=(min(MAX_FIGURE_WIDTH_IN, 3.4 * ncol + 0.6), 2.8 * nrow + 1.2))
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    for ax, task in zip(axes, tasks, strict=False):
        part = g[g["task"].astype(str) == task]
        for model in models:
            line = part[part["model"] == model].sort_values("lr")
            if line.empty:
                continue
            ax.errorbar(line["lr"], line["mean"], yerr=line["std"].fillna(0), marker="o",
                        ms=3, capsize=2, color=colours[model], label=model)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # decade labels only: no overlaps
        ax.set_title(task, fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("learning rate (log scale)", fontsize=8)
        ax.set_ylabel(ylabel or value, fontsize=7)
    for ax in axes[len(tasks):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D

    handles: list[Any] = [Line2D([0], [0], color=colours[m], marker="o") for m in models]
    fig.suptitle(_title(title, synthetic), fontsize=10)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    ncol = max(1, min(len(models), 4))
    fig.legend(handles, models, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=7, frameon=False)
    return fig


__all__ = [
    "PANEL_COLUMNS",
    "fraction_curves",
    "intervals",
    "lr_sweep",
    "metric_label",
    "model_order",
    "pareto",
    "per_task_heatmap",
    "radar",
    "spread_labels",
]
