"""The results a capability encoding is fitted to: from the store (one condition per cell) or
from a CSV file given on the command line."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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
        One row per stored run with a score (seeds are averaged by the encoder).

    Raises:
        InvalidInputError: nothing matches, or a (model, task) mixes several suites, sources,
            protocols, fractions or metrics (the message names the filters that fix it).
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
    return rows[["model", "task", "metric", "score"]]


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
