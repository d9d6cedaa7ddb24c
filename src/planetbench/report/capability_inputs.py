"""The results a capability encoding is fitted to: from the store (one condition per cell) or
from a CSV file given on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planetbench.capability.blocks import connected_blocks
from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore

#: Columns of a cell that must hold one value for the cell to be one experimental condition.
CONDITION_COLUMNS: tuple[str, ...] = ("suite", "source", "protocol", "fraction", "metric")


def stored_capability_results(
    store: str | ResultStore | None = None,
    *,
    suite: str | None = None,
    source: str | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
) -> pd.DataFrame:
    """Tidy rows ``model, task, metric, score`` of the store, one condition per (model, task).

    Args:
        store: the results store (URL, path, :class:`ResultStore` or None for the default).
        suite: only rows of this suite.
        source: only rows of this source.
        protocol: only rows of this protocol.
        fraction: only rows at this training fraction.

    Returns:
        One row per stored run with a score (seeds are averaged by the encoder); when the
        selection spans several suites, tasks are named ``suite/task``.

    Raises:
        InvalidInputError: nothing matches, a (model, task) mixes several suites, sources,
            protocols, fractions or metrics, or the results fall into blocks that share no model
            and no task (the message names the filters that select each block).
    """
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    filters = {"suite": suite, "source": source, "protocol": protocol, "fraction": fraction}
    rows = rs.query(**filters)
    shown = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "no filter"
    if rows.empty:
        raise InvalidInputError(
            f"the store {rs.url} holds no results for {shown}; import some with "
            "`planetbench import FILE` or loosen the filters"
        )
    rows = rows[rows["score"].notna()]
    if rows["suite"].nunique() > 1:
        # A task id means one dataset only within its suite (Cryo-Bench's and GEO-Bench-2's
        # "caffe" differ in split, preprocessing and scale): qualify it with the suite.
        rows = rows.assign(task=rows["suite"].astype(str) + "/" + rows["task"].astype(str))
    conditions = rows.assign(fraction=rows["fraction"].fillna(-1.0)).groupby(
        ["model", "task"]
    )[list(CONDITION_COLUMNS)].nunique()
    mixed = conditions[(conditions > 1).any(axis=1)]
    if not mixed.empty:
        (model, task), counts = next(iter(mixed.iterrows()))
        what = [c for c in counts.index if counts[c] > 1]
        raise InvalidInputError(
            f"the results ({shown}) mix several {'/'.join(what)} values for the same model and "
            f"task (e.g. model {model!r} on task {task!r}; {len(mixed)} such cell(s)); a cell "
            "must be one experimental condition: choose one with --suite, --source, --protocol "
            "and --fraction"
        )
    _refuse_disconnected(rows, shown)
    return rows[["model", "task", "metric", "score"]]


def _refuse_disconnected(rows: pd.DataFrame, shown: str) -> None:
    """Refuse results in blocks that share no model and no task, naming the flags per block."""
    blocks = connected_blocks(rows)
    if len(blocks) < 2:
        return
    singles: list[dict[str, str]] = []
    for block in blocks:
        inside = rows[rows["model"].astype(str).isin(block.models)]
        values = {col: sorted(map(str, inside[col].dropna().unique()))
                  for col in ("suite", "source", "protocol")}
        singles.append({col: v[0] for col, v in values.items() if len(v) == 1})
    # Name only the filters whose value tells the blocks apart.
    telling = [col for col in ("suite", "source", "protocol")
               if len({s.get(col) for s in singles}) == len(singles)
               and all(col in s for s in singles)]
    parts = []
    for i, (block, single) in enumerate(zip(blocks[:4], singles, strict=False), 1):
        flags = " ".join(f"--{col} {single[col]}" for col in telling[:1])
        how = f" — select it with {flags}" if flags else ""
        parts.append(f"block {i}: {block.describe()}{how}")
    raise InvalidInputError(
        f"the results ({shown}) form {len(blocks)} disconnected blocks that share no model and "
        "no task, so one capability encoding cannot place them relative to each other; fit one "
        f"block at a time. {'; '.join(parts)}{' …' if len(blocks) > 4 else ''}"
    )


def read_results_csv(
    path: str | Path, *, option: str, columns: tuple[str, ...] = ()
) -> pd.DataFrame:
    """A CSV named on the command line, with clear errors for a missing or malformed file.

    Args:
        path: the file.
        option: the option that named it (``--from-csv``), for messages.
        columns: columns the file must have.

    Raises:
        InvalidInputError: missing or unreadable file, or missing columns.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"{option} file {str(path)!r} does not exist")
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{option} file {str(path)!r} lacks column(s) {missing}; it needs "
            f"{', '.join(columns)}"
        )
    return df


__all__ = ["CONDITION_COLUMNS", "read_results_csv", "stored_capability_results"]
