"""The Cryo-Bench-layout leaderboard of dense runs: per-task score (mean over seeds), average score,
average rank; several learning rates resolved on validation mIoU."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats.normalise import metric_higher_is_better
from planetbench.stats.ranking import per_task_ranks
from planetbench.store import ResultStore


def dense_leaderboard(
    store: ResultStore,
    suite: str = "cryo",
    protocol: str | Sequence[str] | None = "frozen",
    fraction: float | Sequence[float] | None = 1.0,
    metric: str = "miou",
    tasks: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Cryo-Bench-style table: per-task score (mean over seeds), average score, average rank.

    Several learning rates of one model and task are resolved on validation mIoU (the rate
    Cryo-Bench's sweep would choose); see :func:`select_lr_on_validation`.

    One row per model; when the filters admit several protocols or fractions, one row per
    (model, protocol, fraction) actually stored, labelled ``"<model> · <protocol> · f=<fraction>"``
    (only the parts that vary). Ranks are competition ranks per task (best score = 1, ties share
    the best rank) among the rows that have that task; ``avg_rank`` averages a row's ranks,
    ``avg_<metric>`` its per-task scores (NaN when it misses a task). Rows without a fraction or a
    score are left out.

    Args:
        store: the results store.
        suite: suite id of the rows.
        protocol: protocol(s) of the rows (``frozen``, ``finetune``, ``literature`` …); None: all.
        fraction: label fraction(s) of the rows; None: all.
        metric: metric name of the rows.
        tasks: task columns in this order (default: every task found, sorted).

    Returns:
        DataFrame indexed by ``model`` (the row label) with one column per task, then
        ``avg_<metric>``, ``avg_rank`` and ``n_tasks``; sorted by ``avg_rank`` then by the
        average score.

    Raises:
        InvalidInputError: no stored row matches, or a requested task has no row.
    """
    protocols = None if protocol is None else [protocol] if isinstance(protocol, str) else list(
        protocol)
    df = store.query(suite=suite, protocol=protocols, metric=metric)
    df = df[df["fraction"].notna() & df["score"].notna()]
    if fraction is not None:
        wanted = [fraction] if isinstance(fraction, int | float) else list(fraction)
        keep = np.zeros(len(df), dtype=bool)
        for f in wanted:
            keep |= np.isclose(df["fraction"].astype(float), float(f))
        df = df[keep]
    if df.empty:
        raise InvalidInputError(
            f"no stored {metric} results for suite={suite!r}, protocol={protocol!r}, "
            f"fraction={fraction}; run `planetbench run` first or check the filters"
        )
    return dense_table(df, metric=metric, tasks=tasks)


def select_lr_on_validation(rows: pd.DataFrame) -> pd.DataFrame:
    """Keep, per (model, task), only the learning rate with the best mean validation mIoU.

    Cryo-Bench tunes the learning rate over a grid and reports the test score of the rate chosen
    on the validation split; averaging test scores over rates instead would mix good and bad
    rates. The mean is over seeds (``metrics["val_miou"]``); ties go to the smaller rate. Groups
    with a single rate (or none, e.g. literature rows) are kept as they are.

    Args:
        rows: store rows with ``model``, ``task``, ``lr``, ``metrics`` and ``score``.

    Raises:
        InvalidInputError: a group has several rates but a row lacks its validation mIoU.
    """
    keep = []
    for (model, task), group in rows.groupby(["model", "task"], sort=False):
        lrs = group["lr"].dropna().unique()
        if len(lrs) <= 1:
            keep.append(group)
            continue
        val = group["metrics"].map(
            lambda m: m.get("val_miou") if isinstance(m, dict) else None
        )
        if val.isna().any():
            raise InvalidInputError(
                f"{model!r} on {task!r} has runs at learning rates {sorted(lrs)} but not all "
                "carry a validation mIoU to choose between them; filter the rows to one lr"
            )
        means = val.astype(float).groupby(group["lr"]).mean()
        best = float(means.index[int(np.argmax(means.to_numpy()))])  # sorted: smaller lr on ties
        keep.append(group[np.isclose(group["lr"].astype(float), best)])
    return pd.concat(keep) if keep else rows


def dense_table(
    rows: pd.DataFrame, *, metric: str = "miou", tasks: Sequence[str] | None = None
) -> pd.DataFrame:
    """The table of :func:`dense_leaderboard` from result rows already selected.

    Where a (model, task) has runs at several learning rates, the rate with the best mean
    validation mIoU is kept (:func:`select_lr_on_validation`) before seeds are averaged.

    Args:
        rows: store rows (columns ``model``, ``protocol``, ``fraction``, ``task``, ``score``),
            e.g. from :meth:`ResultStore.query`, of one metric.
        metric: name used in the ``avg_<metric>`` column; its direction orders the ranks.
        tasks: task columns in this order (default: every task found, sorted).

    Raises:
        InvalidInputError: no row, or a requested task has no row.
    """
    df = rows[rows["fraction"].notna() & rows["score"].notna()]
    if df.empty:
        raise InvalidInputError("no result rows with a score and a fraction to rank")
    label = df["model"].astype(str)
    if df["protocol"].nunique() > 1:
        label = label + " · " + df["protocol"].astype(str)
    if df["fraction"].nunique() > 1:
        label = label + " · f=" + df["fraction"].map(lambda f: f"{float(f):g}")
    df = select_lr_on_validation(df.assign(model=label))
    table = df.pivot_table(index="model", columns="task", values="score", aggfunc="mean")
    columns = list(tasks) if tasks is not None else sorted(table.columns)
    missing = [t for t in columns if t not in table.columns]
    if missing:
        raise InvalidInputError(f"no results for task(s) {missing}; found {sorted(table.columns)}")
    table = table[columns]
    higher = metric_higher_is_better(metric)
    out = table.copy()
    out[f"avg_{metric}"] = table.mean(axis=1, skipna=False)
    out["avg_rank"] = per_task_ranks(table, higher_is_better=higher).mean(axis=1, skipna=True)
    out["n_tasks"] = table.notna().sum(axis=1).astype(int)
    out = out.sort_values(["avg_rank", f"avg_{metric}"], ascending=[True, not higher])
    out.columns.name = None
    return out


__all__ = ["dense_leaderboard", "dense_table", "select_lr_on_validation"]
