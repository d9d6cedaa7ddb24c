"""Plots over tidy result tables (matplotlib figures without pyplot: no global backend state; no torch).

Every function takes a tidy DataFrame, returns a :class:`matplotlib.figure.Figure` and never shows
it. Titles carry a "SYNTHETIC" tag when the caller says the data is generated.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from planetbench.errors import InvalidInputError


def _require(df: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(f"{what} needs columns {', '.join(columns)}; missing: {missing}")
    if df.empty:
        raise InvalidInputError(f"{what} got an empty table: there is nothing to plot")


def _title(text: str, synthetic: bool) -> str:
    return f"{text} — SYNTHETIC DATA" if synthetic else text


def radar(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Per-task scores",
    synthetic: bool = False,
) -> Figure:
    """Radar chart of per-task values, one polygon per model.

    Args:
        df: tidy table with columns ``model``, ``task`` and ``value`` (one row per model × task;
            duplicates are averaged).
        value: column plotted on the radial axis.
        title: figure title.
        synthetic: tag the title as synthetic data.
    """
    _require(df, ("model", "task", value), "radar plot")
    table = df.pivot_table(index="model", columns="task", values=value, aggfunc="mean")
    tasks = list(table.columns)
    angles = np.linspace(0, 2 * np.pi, len(tasks), endpoint=False)
    closed = np.append(angles, angles[0])
    fig = Figure(figsize=(6, 6))
    ax = fig.add_subplot(projection="polar")
    for model, row in table.iterrows():
        vals = row.to_numpy(dtype=float)
        ax.plot(closed, np.append(vals, vals[0]), label=str(model))
        ax.fill(closed, np.append(vals, vals[0]), alpha=0.08)
    ax.set_xticks(angles)
    ax.set_xticklabels(tasks, fontsize=8)
    ax.set_title(_title(title, synthetic), fontsize=10)
    ax.legend(loc="upper right", bbox_to_anchor=(1.35, 1.1), fontsize=7)
    fig.tight_layout()
    return fig


def intervals(
    ci: pd.DataFrame,
    runs: pd.DataFrame | None = None,
    *,
    title: str = "Aggregate score with 95 % CI",
    synthetic: bool = False,
) -> Figure:
    """Point estimates with confidence intervals per model, over violins of per-run scores.

    Args:
        ci: columns ``model``, ``estimate``, ``low``, ``high``.
        runs: optional per-run scores (``model``, ``score``) drawn as violins behind the intervals.
        title: figure title.
        synthetic: tag the title as synthetic data.
    """
    _require(ci, ("model", "estimate", "low", "high"), "interval plot")
    ci = ci.sort_values("estimate")
    models = ci["model"].astype(str).tolist()
    pos = np.arange(len(models))
    fig = Figure(figsize=(7, 0.5 * len(models) + 1.5))
    ax = fig.subplots()
    if runs is not None and not runs.empty:
        data = [runs.loc[runs["model"].astype(str) == m, "score"].to_numpy(float) for m in models]
        keep = [i for i, d in enumerate(data) if d.size > 1]
        if keep:
            parts = ax.violinplot(
                [data[i] for i in keep], positions=pos[keep], orientation="horizontal", showextrema=False
            )
            for body in parts["bodies"]:  # type: ignore[attr-defined]
                body.set_alpha(0.25)
    est = ci["estimate"].to_numpy(float)
    err = np.vstack([est - ci["low"].to_numpy(float), ci["high"].to_numpy(float) - est])
    ax.errorbar(est, pos, xerr=err, fmt="o", color="black", capsize=3)
    ax.set_yticks(pos)
    ax.set_yticklabels(models, fontsize=8)
    ax.set_xlabel("score")
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
) -> Figure:
    """Score against compute per model, with the Pareto front (higher score, lower cost) drawn.

    Args:
        df: columns ``model``, ``cost`` and ``value`` (one row per model).
        cost: cost column (``gflops``, ``latency_ms``, ``params``).
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
    """
    _require(df, ("model", cost, value), "Pareto plot")
    d = df.dropna(subset=[cost, value]).sort_values(cost)
    if d.empty:
        raise InvalidInputError(f"Pareto plot: no model has both {cost} and {value} measured")
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    ax.scatter(d[cost], d[value])
    for _, row in d.iterrows():
        ax.annotate(str(row["model"]), (row[cost], row[value]), fontsize=7,
                    xytext=(3, 3), textcoords="offset points")
    front_x, front_y, best = [], [], -np.inf
    for x, y in zip(d[cost].to_numpy(float), d[value].to_numpy(float), strict=True):
        if y > best:
            front_x.append(x)
            front_y.append(y)
            best = y
    ax.step(front_x, front_y, where="post", color="tab:red", label="Pareto front")
    ax.set_xscale("log")
    ax.margins(x=0.25, y=0.1)  # room for the labels of the extreme points
    ax.set_xlabel(cost)
    ax.set_ylabel(value)
    ax.legend(fontsize=8)
    ax.set_title(_title(title, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def fraction_curves(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Score vs training fraction",
    synthetic: bool = False,
) -> Figure:
    """Mean score (± std over seeds) against the training-label fraction, one line per model.

    Args:
        df: columns ``model``, ``fraction`` and ``value`` (one row per run).
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
    """
    _require(df, ("model", "fraction", value), "fraction curves")
    g = df.groupby(["model", "fraction"])[value].agg(["mean", "std"]).reset_index()
    fig = Figure(figsize=(6, 4.5))
    ax = fig.subplots()
    for model, part in g.groupby("model"):
        part = part.sort_values("fraction")
        ax.errorbar(
            part["fraction"],
            part["mean"],
            yerr=part["std"].fillna(0),
            marker="o",
            capsize=2,
            label=str(model),
        )
    ax.set_xscale("log")
    ax.set_xlabel("training fraction")
    ax.set_ylabel(value)
    ax.legend(fontsize=7)
    ax.set_title(_title(title, synthetic), fontsize=10)
    fig.tight_layout()
    return fig


def lr_heatmap(
    df: pd.DataFrame,
    *,
    value: str = "score",
    title: str = "Learning-rate sweep",
    synthetic: bool = False,
) -> Figure:
    """Heat map of mean score by model (rows) and learning rate (columns).

    Args:
        df: columns ``model``, ``lr`` and ``value``.
        value: score column.
        title: figure title.
        synthetic: tag the title as synthetic data.
    """
    _require(df, ("model", "lr", value), "learning-rate heat map")
    table = df.pivot_table(index="model", columns="lr", values=value, aggfunc="mean")
    fig = Figure(figsize=(1.2 * table.shape[1] + 3, 0.45 * table.shape[0] + 1.5))
    ax = fig.subplots()
    im = ax.imshow(table.to_numpy(float), aspect="auto", cmap="viridis")
    ax.set_xticks(range(table.shape[1]))
    ax.set_xticklabels([f"{lr:g}" for lr in table.columns], fontsize=8)
    ax.set_yticks(range(table.shape[0]))
    ax.set_yticklabels([str(m) for m in table.index], fontsize=8)
    for (i, j), v in np.ndenumerate(table.to_numpy(float)):
        if np.isfinite(v):
            ax.text(j, i, f"{v:.3g}", ha="center", va="center", fontsize=7, color="white")
    fig.colorbar(im, ax=ax, label=value)
    ax.set_xlabel("learning rate")
    ax.set_title(_title(title, synthetic), fontsize=10)
    fig.tight_layout()
    return fig
