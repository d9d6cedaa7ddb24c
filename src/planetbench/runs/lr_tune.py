"""Learning-rate tuning of dense runs, reported both ways: chosen on validation, and the test max.

Cryo-Bench's paper reports "w/ LR tune" results as the best **test** mIoU over its learning-rate
grid; choosing on the test split makes that number optimistic (the choice has seen the test
labels). We select the rate on the validation split (the best mean ``val_miou`` over seeds, the
smaller rate on ties; :func:`planetbench.report.dense_leaderboard.select_lr_on_validation` uses
the same rule) and show the test-max number beside it, flagged optimistic, so that both can be
compared with the paper.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The label of the test-max column's caveat.
OPTIMISTIC = "optimistic: chosen on the test split"

#: Columns of :func:`lr_tuning`.
LR_TUNING_COLUMNS: tuple[str, ...] = (
    "model", "task", "protocol", "fraction", "metric", "n_lrs", "lr_val", "test_at_lr_val",
    "lr_test_max", "test_max", "test_max_note",
)


def lr_tuning(rows: pd.DataFrame) -> pd.DataFrame:
    """Per (model, task, protocol, fraction) run at several learning rates: the rate chosen on
    validation with its test score, and the test-max rate with its (optimistic) test score.

    Args:
        rows: store rows (``ResultStore.query``) with ``model``, ``task``, ``protocol``,
            ``fraction``, ``metric``, ``lr``, ``score`` and ``metrics`` (holding ``val_miou``).

    Returns:
        One row per group with two or more rates (:data:`LR_TUNING_COLUMNS`); scores are means
        over seeds; empty when no group has several rates. ``attrs["title"]`` says what it shows.
    """
    out: list[dict[str, object]] = []
    needed = {"model", "task", "protocol", "fraction", "metric", "lr", "score", "metrics"}
    if rows.empty or not needed <= set(rows.columns):
        return _frame(out)
    keys = ["model", "task", "protocol", "fraction", "metric"]
    df = rows[rows["lr"].notna() & rows["score"].notna()].copy()
    df["fraction"] = df["fraction"].astype(float)
    df["val"] = df["metrics"].map(lambda m: m.get("val_miou") if isinstance(m, dict) else None)
    for key, group in df.groupby(keys, sort=True):
        by_lr = group.groupby("lr").agg(test=("score", "mean"), val=("val", "mean"))
        if len(by_lr) < 2:
            continue
        lrs = by_lr.index.to_numpy(dtype=float)  # sorted ascending: ties go to the smaller rate
        test = by_lr["test"].to_numpy(dtype=float)
        val = by_lr["val"].to_numpy(dtype=float)
        i_val = int(np.nanargmax(val)) if np.isfinite(val).any() else None
        i_test = int(np.argmax(test))
        out.append({
            **dict(zip(keys, key, strict=True)),
            "n_lrs": len(lrs),
            "lr_val": None if i_val is None else float(lrs[i_val]),
            "test_at_lr_val": None if i_val is None else float(test[i_val]),
            "lr_test_max": float(lrs[i_test]),
            "test_max": float(test[i_test]),
            "test_max_note": OPTIMISTIC,
        })
    return _frame(out)


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=list(LR_TUNING_COLUMNS))
    frame.attrs["title"] = (
        "Learning-rate tuning: lr_val = rate with the best validation mIoU and its test score; "
        f"test_max = best test score over the rates ({OPTIMISTIC}, as Cryo-Bench's 'w/ LR "
        "tune' table)"
    )
    return frame


__all__ = ["LR_TUNING_COLUMNS", "OPTIMISTIC", "lr_tuning"]
