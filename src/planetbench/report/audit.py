"""Published averages checked against their per-task values: ``planetbench audit`` on a table
file, and :func:`published_averages` on imported rows that carry them (the Cryo-Bench table)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats.audit import audit_table
from planetbench.stats.normalise import metric_higher_is_better
from planetbench.stats.ranking import per_task_ranks


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


#: Published derived columns an importer may keep in ``details["published"]``, and how each is
#: recomputed from the per-task scores: ``mean`` (mean over tasks) or ``rank`` (mean competition
#: rank over tasks, among the rows of the same table).
PUBLISHED_CHECKS: dict[str, str] = {"avg_miou": "mean", "avg_rank": "rank"}


def published_averages(runs: pd.DataFrame, *, tol: float = 0.01) -> pd.DataFrame:
    """Published averages of imported rows beside the ones their per-task scores give.

    Rows whose ``details["published"]`` holds :data:`PUBLISHED_CHECKS` columns (kept by the
    Cryo-Bench importer) form one published table per suite; its per-task scores (mean over
    runs) are averaged and ranked again over all its rows (every protocol, as the table did),
    and each published number is compared with :func:`planetbench.stats.audit_table`.

    Args:
        runs: :func:`~planetbench.report.leaderboards.runs_frame` rows.
        tol: absolute tolerance in the table's units (0.01 suits two printed decimals).

    Returns:
        Columns suite, model, check (published column), published, ours, difference, agrees;
        empty when no row carries published averages.
    """
    cols = ["suite", "model", "check", "published", "ours", "difference", "agrees"]
    have = runs[runs["details"].map(
        lambda d: isinstance(d, dict) and isinstance(d.get("published"), dict))]
    out = []
    for suite, part in have.groupby("suite", sort=True):
        wide = part.pivot_table(index="model", columns="task", values="score", aggfunc="mean")
        wide = wide.dropna(axis=1, how="any")
        published = part.groupby("model")["details"].first().map(lambda d: d["published"])
        for check, how in PUBLISHED_CHECKS.items():
            if not all(check in p for p in published):
                continue
            table = wide.assign(_published=[published[m].get(check) for m in wide.index])
            table = table.dropna(subset=["_published"]).reset_index()
            if table.empty:
                continue
            tasks = [str(c) for c in wide.columns]
            higher = metric_higher_is_better(str(part["metric"].iloc[0]))
            bad = audit_table(
                table, tasks=tasks, average="_published" if how == "mean" else None,
                rank="_published" if how == "rank" else None, higher_is_better=higher, tol=tol,
                label="model",
            )
            disagree = set(bad["label"])
            ours = (table[tasks].mean(axis=1) if how == "mean" else
                    per_task_ranks(table[tasks], higher_is_better=higher).mean(axis=1))
            for model, pub, value in zip(table["model"], table["_published"], ours, strict=True):
                out.append({"suite": suite, "model": model, "check": check,
                            "published": float(pub), "ours": float(value),
                            "difference": float(pub) - float(value),
                            "agrees": str(model) not in disagree})
    return pd.DataFrame(out, columns=cols)


__all__ = ["PUBLISHED_CHECKS", "audit_csv", "published_averages"]
