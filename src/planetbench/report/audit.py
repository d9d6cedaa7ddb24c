"""``planetbench audit``: check a published table file's average and rank columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats.audit import audit_table


def audit_csv(
    path: str | Path,
    *,
    tasks: str | Sequence[str],
    average: str | None = None,
    rank: str | None = None,
    higher_is_better: bool = True,
    tol: float = 0.01,
    label: str | None = None,
) -> pd.DataFrame:
    """Audit a published table read from a CSV file (see :func:`planetbench.stats.audit_table`).

    Args:
        path: the CSV, one row per model.
        tasks: the per-task score columns, as a list or comma-separated.
        average: the published-average column, or None.
        rank: the published-average-rank column, or None.
        higher_is_better: direction of the per-task scores.
        tol: absolute tolerance in the table's own units.
        label: column naming the rows; default: the first column.

    Returns:
        The disagreeing rows (empty when the table is consistent).

    Raises:
        InvalidInputError: missing or unreadable file, or a table the audit cannot check.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"table {str(path)!r} does not exist; pass a CSV file")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    task_list = (
        [t.strip() for t in tasks.split(",") if t.strip()] if isinstance(tasks, str) else list(tasks)
    )
    if not task_list:
        raise InvalidInputError("tasks (--tasks) names no column; give e.g. glid,gld,sicd")
    if average is None and rank is None:
        raise InvalidInputError(
            "nothing to audit: name the published average (--average COLUMN) and/or average "
            "rank (--rank COLUMN)"
        )
    named = [*task_list, *(c for c in (average, rank, label) if c is not None)]
    missing = [c for c in named if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"table {str(path)!r} lacks column(s) {missing} (named by --tasks, --average, --rank "
            f"or --label); its columns are {list(map(str, df.columns))}"
        )
    return audit_table(
        df,
        tasks=task_list,
        average=average,
        rank=rank,
        higher_is_better=higher_is_better,
        tol=tol,
        label=label or str(df.columns[0]),
    )


__all__ = ["audit_csv"]
