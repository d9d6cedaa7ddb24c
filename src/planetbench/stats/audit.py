"""Audit a published results table: recompute its average and average-rank columns.

Published leaderboards often carry an "average" column (mean of the per-task scores) and an
"average rank" column (mean over tasks of each row's rank on that task). Both can be recomputed
from the per-task columns; :func:`audit_table` reports every row where the published number
disagrees with the recomputed one. Ranks are standard competition ranks (ties share the best
rank, as in :func:`planetbench.stats.ranking.competition_rank`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import require_columns
from planetbench.stats.ranking import per_task_ranks

AUDIT_COLUMNS = ("row", "label", "check", "published", "expected", "difference")


def _numeric(df: pd.DataFrame, column: str) -> np.ndarray:
    values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidInputError(
            f"column {column!r} has {int(bad.sum())} missing or non-numeric value(s) at row(s) "
            f"{df.index[bad].tolist()[:5]}; the audit needs a number in every cell"
        )
    return np.asarray(values)


def audit_table(
    df: pd.DataFrame,
    *,
    tasks: Sequence[str],
    average: str | None,
    rank: str | None,
    higher_is_better: bool = True,
    tol: float = 0.01,
    label: str | None = None,
) -> pd.DataFrame:
    """Rows whose published average or average rank disagrees with the per-task values.

    Expected average = mean of the row's ``tasks`` columns; expected rank = mean over ``tasks`` of
    the row's competition rank within that column (1 = best). A row is reported for a check when
    |published − expected| > ``tol``.

    Args:
        df: the table, one row per model, per-task scores in columns.
        tasks: the per-task score columns (at least one).
        average: the published-average column, or None to skip that check.
        rank: the published-average-rank column, or None to skip that check.
        higher_is_better: direction of the task scores (ranks: 1 = highest when True).
        tol: absolute tolerance in the table's own units (score units, e.g. mIoU percentage
            points, for the average; rank units for the average rank). The default 0.01 suits
            tables printed with two decimals; the expected values are computed from the
            published, already rounded per-task numbers.
        label: column naming each row in the report (default: ``"model"`` when present, else the
            index).

    Returns:
        DataFrame with columns row (index label), label, check (``"average"`` or ``"rank"``),
        published, expected, difference (published − expected); empty when everything agrees.

    Raises:
        InvalidInputError: missing or non-numeric columns, no tasks, no check requested, bad tol.
    """
    task_list = list(tasks)
    if not task_list:
        raise InvalidInputError("tasks is empty; name the per-task score columns")
    if average is None and rank is None:
        raise InvalidInputError("nothing to audit: pass average=<column> and/or rank=<column>")
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not tol >= 0:
        raise InvalidInputError(f"tol must be a non-negative number; got {tol!r}")
    if label is None and isinstance(df, pd.DataFrame) and "model" in df.columns:
        label = "model"
    wanted = [*task_list, *(c for c in (average, rank, label) if c is not None)]
    require_columns(df, wanted)
    if df.empty:
        raise InvalidInputError("df has no rows to audit")
    values = np.column_stack([_numeric(df, t) for t in task_list])
    labels = df[label].astype(str).to_numpy() if label is not None else df.index.astype(str)
    checks: list[tuple[str, np.ndarray, np.ndarray]] = []
    if average is not None:
        checks.append(("average", _numeric(df, average), values.mean(axis=1)))
    if rank is not None:
        ranks = per_task_ranks(pd.DataFrame(values), higher_is_better=higher_is_better)
        checks.append(("rank", _numeric(df, rank), ranks.to_numpy().mean(axis=1)))
    rows = []
    for name, published, expected in checks:
        diff = published - expected
        for i in np.flatnonzero(np.abs(diff) > tol):
            rows.append(
                {
                    "row": df.index[i],
                    "label": labels[i],
                    "check": name,
                    "published": float(published[i]),
                    "expected": float(expected[i]),
                    "difference": float(diff[i]),
                }
            )
    return pd.DataFrame(rows, columns=list(AUDIT_COLUMNS))
