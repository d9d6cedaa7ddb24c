"""The plots of one embedding evaluation (``planetbench probe --plots``), written from its summary
with the figures of :mod:`planetbench.report.embedding_plots`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from planetbench.embedding.labels import load_label_tasks
from planetbench.metrics.tabular import confusion_matrix
from planetbench.report.embedding_plots import (
    confusion_figure,
    fold_scores_figure,
    prediction_figure,
    safe_file_stem,
    save_figure,
    stored_confusion_matrix,
)

if TYPE_CHECKING:
    from planetbench.embedding.summary import EvaluationSummary
    from planetbench.store import ResultStore


def write_embedding_plots(
    summary: EvaluationSummary, folder: str | Path, *, store: ResultStore | None = None
) -> list[Path]:
    """Write the PNG plots of one evaluation into ``folder``.

    Args:
        summary: the evaluation (fresh tasks carry pooled predictions).
        folder: destination, created if needed.
        store: the results store, for confusion matrices of resumed tasks and the radar of Q
            across models.

    Returns:
        Paths of the PNG files written.
    """
    folder = Path(folder)
    paths = [
        save_figure(
            fold_scores_figure(
                {t: s.fold_scores for t, s in summary.tasks.items()},
                {t: s.metric for t, s in summary.tasks.items()},
            ),
            folder / "fold_scores.png",
        )
    ]
    classes: dict[str, list[str]] = {}
    if summary.labels is not None:
        classes = {t.name: list(t.classes) for t in load_label_tasks(summary.labels)}
    for name, task in summary.tasks.items():
        if task.kind == "regression" and name in summary.predictions:
            y_true, y_pred = summary.predictions[name]
            paths.append(
                save_figure(prediction_figure(y_true, y_pred, task=name),
                      folder / f"pred_vs_true_{safe_file_stem(name)}.png")
            )
        elif task.kind in ("classification", "multiclass"):
            cm = stored_confusion_matrix(store, task.run_key)
            if cm is None and name in summary.predictions:
                y_true, proba = summary.predictions[name]
                proba = np.asarray(proba, dtype=float)
                # Probes return P(class 1) for binary tasks and (n, C) probabilities otherwise.
                y_pred = (proba >= 0.5).astype(int) if proba.ndim == 1 else proba.argmax(axis=1)
                n_cls = max(int(y_true.max()), int(y_pred.max())) + 1
                cm = confusion_matrix(y_true[None], y_pred[None], n_cls)[0]
            if cm is not None:
                paths.append(
                    save_figure(confusion_figure(cm, classes.get(name, []), task=name),
                          folder / f"confusion_{safe_file_stem(name)}.png")
                )
    if store is not None:
        from planetbench.report.embedding_leaderboard import leaderboard, q_long
        from planetbench.report.plots import radar

        board = leaderboard(store, suite=summary.suite)
        tasks = [c for c in board.columns if c in summary.tasks]
        if not board.empty and tasks:
            tidy = q_long(board, tasks)
            if not tidy.empty:
                paths.append(save_figure(radar(tidy, value="q", title="Q per task"),
                                   folder / "radar_q.png"))
    return paths


__all__ = ["write_embedding_plots"]
