"""Plots of an embedding evaluation (matplotlib figures without pyplot: no global backend state; no torch).

Figures of ``planetbench probe --plots`` (written by
:func:`planetbench.embedding.plots.write_embedding_plots` into ``OUT/NAME/plots/``): the fold-score distribution per
task, predicted vs. true values of regression tasks (pooled test predictions of the K splits), the
confusion matrix of classification tasks (summed over splits) and a radar of per-task Q of every
model in the store.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from planetbench.errors import InvalidInputError

if TYPE_CHECKING:
    from planetbench.store import ResultStore


def safe_file_stem(name: str) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)


def fold_scores_figure(fold_scores: dict[str, list[float]], metrics: dict[str, str]) -> Figure:
    """Box plot plus jittered points of the K split scores of each task.

    Args:
        fold_scores: task → main-metric value per split.
        metrics: task → metric name, shown in the tick label.
    """
    if not fold_scores:
        raise InvalidInputError("fold_scores is empty: there is nothing to plot")
    tasks = list(fold_scores)
    fig = Figure(figsize=(max(4.0, 1.2 * len(tasks) + 2), 4))
    ax = fig.subplots()
    data = [np.asarray(fold_scores[t], dtype=float) for t in tasks]
    ax.boxplot(data, showfliers=False)
    rng = np.random.default_rng(0)  # fixed jitter: identical inputs give identical figures
    for i, vals in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.15, 0.15, len(vals)), vals, s=10, alpha=0.6)
    ax.set_xticks(range(1, len(tasks) + 1))
    ax.set_xticklabels([f"{t}\n({metrics.get(t, '')})" for t in tasks], rotation=30, ha="right")
    ax.set_ylabel("score per split")
    ax.set_title("Fold-score distribution")
    fig.tight_layout()
    return fig


def prediction_figure(y_true: np.ndarray, y_pred: np.ndarray, *, task: str) -> Figure:
    """Predicted vs. true targets (pooled test predictions) with the identity line."""
    y_true = np.asarray(y_true, dtype=float).ravel()
    y_pred = np.asarray(y_pred, dtype=float).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise InvalidInputError(
            f"y_true and y_pred must be non-empty and of equal length; got {y_true.shape} and "
            f"{y_pred.shape}"
        )
    fig = Figure(figsize=(4.5, 4.5))
    ax = fig.subplots()
    ax.scatter(y_true, y_pred, s=8, alpha=0.5)
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="black", lw=1, ls="--")
    ax.set_xlabel("true")
    ax.set_ylabel("predicted")
    ax.set_title(f"{task}: predicted vs. true (pooled test splits)")
    fig.tight_layout()
    return fig


def confusion_figure(matrix: np.ndarray, classes: list[str], *, task: str) -> Figure:
    """Row-normalised confusion matrix (rows = true class)."""
    cm = np.asarray(matrix, dtype=float)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise InvalidInputError(f"confusion matrix must be square (C, C); got shape {cm.shape}")
    norm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1.0)
    fig = Figure(figsize=(1.0 + 0.6 * len(cm) + 2, 1.0 + 0.6 * len(cm) + 2))
    ax = fig.subplots()
    im = ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
    labels = classes if len(classes) == len(cm) else [str(i) for i in range(len(cm))]
    ax.set_xticks(range(len(cm)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(cm)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(len(cm)):
        for j in range(len(cm)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(f"{task}: confusion (summed over splits)")
    fig.tight_layout()
    return fig


def save_figure(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG at ``path`` (parent folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path


def stored_confusion_matrix(
    store: ResultStore | None, run_key: str
) -> np.ndarray | None:
    """The confusion matrix stored with run ``run_key`` (summed over splits), or None."""
    if store is None or not run_key:
        return None
    rows = store.query(run_key=run_key)
    if rows.empty:
        return None
    metrics = rows.iloc[-1]["metrics"] or {}
    if "confusion_matrix" not in metrics:
        return None
    cm = np.asarray(metrics["confusion_matrix"], dtype=float)
    return cm.sum(axis=0) if cm.ndim == 3 else cm


__all__ = [
    "confusion_figure",
    "fold_scores_figure",
    "prediction_figure",
    "safe_file_stem",
    "save_figure",
    "stored_confusion_matrix",
]
