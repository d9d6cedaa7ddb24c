"""The NeuCo-Bench leaderboard built from stored probe results.

One row per model: among a model's submissions (one embedding file under one configuration) we
keep the best (highest mean Q) or the most recent one; re-runs never add rows. Models are ranked
with NeuCo-Bench's rank-then-aggregate rule (:func:`planetbench.stats.ranking.rank_aggregate`).
Text output of every board is :func:`planetbench.report.formats.format_leaderboard`.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore

SELECT: tuple[str, ...] = ("best", "last")
SUMMARY_COLUMNS: tuple[str, ...] = ("mean_q", "weighted_score", "rank")

#: Title of the board in text output (``df.attrs["title"]``).
TITLE = "Leaderboard (Q per task; rank-then-aggregate)"


def check_select(select: str, *, option: str = "select") -> None:
    """Refuse an unknown submission choice, naming ``option`` in the message."""
    if select not in SELECT:
        sep = "=" if option.isidentifier() else " "
        raise InvalidInputError(
            f"{option}{sep}{select!r} is not allowed; use one of {', '.join(SELECT)}"
        )


def _submission_id(row: pd.Series) -> str:
    config = row["config"] if isinstance(row["config"], dict) else {}
    sub = config.get("submission_hash")
    return str(sub) if sub else f"{row['config_hash']}:{row['input_sha256']}"


def select_submissions(
    rows: pd.DataFrame, *, select: Literal["best", "last"] = "best"
) -> pd.DataFrame:
    """Pick one submission per model and return its (model × task) Q table.

    Args:
        rows: stored probe rows (``ResultStore.query`` output) with non-null ``q``.
        select: ``best`` = highest mean Q over its tasks (ties: the most recent), ``last`` = the
            most recently stored submission.

    Returns:
        DataFrame indexed by model, one column per task (NaN where the chosen submission lacks
        the task), plus a ``submission`` column.
    """
    check_select(select)
    df = rows.copy()
    df["submission"] = df.apply(_submission_id, axis=1)
    # Re-runs of the same (submission, task): keep the most recent row.
    df = df.sort_values("id").drop_duplicates(["model", "submission", "task"], keep="last")
    per_sub = df.groupby(["model", "submission"]).agg(mean_q=("q", "mean"), last_id=("id", "max"))
    per_sub = per_sub.reset_index()
    if select == "best":
        per_sub = per_sub.sort_values(["mean_q", "last_id"], ascending=[False, False])
    else:
        per_sub = per_sub.sort_values("last_id", ascending=False)
    chosen = per_sub.drop_duplicates("model", keep="first")[["model", "submission"]]
    kept = df.merge(chosen, on=["model", "submission"])
    table = kept.pivot(index="model", columns="task", values="q")
    table.columns.name = None
    table["submission"] = chosen.set_index("model")["submission"]
    return table


def leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str = "neuco",
    unweighted: bool = False,
    select: Literal["best", "last"] = "best",
) -> pd.DataFrame:
    """The leaderboard of stored probe results.

    Args:
        store: results store (URL, path or :class:`ResultStore`; default store when None).
        suite: suite whose probe rows are ranked.
        unweighted: weight every task equally instead of by the spread of Q across models.
        select: which submission represents a model: ``best`` (highest mean Q) or ``last``.

    Returns:
        DataFrame with columns ``model``, one Q column per task, ``mean_q``, ``weighted_score``
        and ``rank`` (1 = best), sorted best first. Models lacking a task are listed last with
        NaN ``weighted_score``/``rank``. Empty (with these columns) when nothing is stored.
        ``attrs["title"]`` is :data:`TITLE`.
    """
    check_select(select)
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    rows = rs.query(suite=suite, protocol="probe")
    rows = rows[rows["q"].notna()]
    if rows.empty:
        empty = pd.DataFrame(columns=["model", *SUMMARY_COLUMNS])
        empty.attrs["title"] = TITLE
        return empty
    from planetbench.stats.ranking import rank_aggregate

    q_table = select_submissions(rows, select=select).drop(columns="submission")
    tasks = sorted(q_table.columns)
    q_table = q_table[tasks]
    complete = q_table.notna().all(axis=1)
    out = q_table.copy()
    out["mean_q"] = q_table.mean(axis=1)
    out["weighted_score"] = np.nan
    out["rank"] = np.nan
    if complete.any():
        agg = rank_aggregate(q_table[complete], weighted=not unweighted)
        out.loc[agg.table.index, "weighted_score"] = agg.table["weighted_score"]
        out.loc[agg.table.index, "rank"] = agg.table["rank"].astype(float)
    out.index.name = "model"
    out = out.reset_index()
    out = out.sort_values(["rank", "mean_q", "model"], ascending=[True, False, True],
                          na_position="last")
    out["rank"] = out["rank"].astype("Int64")
    board = out.reset_index(drop=True)[["model", *tasks, *SUMMARY_COLUMNS]]
    board.attrs["title"] = TITLE
    return board


def task_columns(board: pd.DataFrame) -> list[str]:
    """The per-task Q columns of a :func:`leaderboard` table."""
    return [c for c in board.columns if c not in ("model", *SUMMARY_COLUMNS)]


def q_long(board: pd.DataFrame, tasks: list[str] | None = None) -> pd.DataFrame:
    """A leaderboard's Q values as a tidy table (columns ``model``, ``task``, ``q``; no NaN)."""
    long = board.melt(id_vars="model", value_vars=tasks if tasks is not None else
                      task_columns(board), var_name="task", value_name="q")
    return long.dropna(subset=["q"])


def empty_message(store: str | ResultStore | None = None, suite: str = "neuco") -> str:
    """What to tell the user when the leaderboard is empty."""
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    rows = rs.query(protocol="probe")
    others = sorted(set(rows["suite"].dropna().astype(str)) - {suite}) if len(rows) else []
    if others:
        return (
            f"no {suite} probe results in store {rs.url}; it holds probe results of suite(s) "
            f"{', '.join(others)}: show them with --suite {others[0]} --preset neuco"
        )
    return (
        f"no {suite} probe results in store {rs.url}; evaluate embeddings first, e.g. "
        "planetbench probe embeddings.csv --labels LABEL_DIR"
    )


__all__ = [
    "SELECT",
    "TITLE",
    "check_select",
    "empty_message",
    "leaderboard",
    "q_long",
    "select_submissions",
    "task_columns",
]
