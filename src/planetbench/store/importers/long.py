"""The long schema as a CSV file: one result per row (see :mod:`.schema` for the columns)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.reading import read_csv, require_file
from planetbench.store.importers.schema import REQUIRED_COLUMNS, validate_long


def read_long_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV in the long schema.

    Args:
        path: CSV file with a header row.

    Returns:
        The validated long table; ``file`` is the file name and ``row`` the 1-based data row.

    Raises:
        InvalidInputError: the file is missing, unreadable, or violates the schema.
    """
    path = Path(path)
    require_file(path)
    df = read_csv(path, dtype=str, keep_default_na=False).replace("", pd.NA)
    if "file" not in df.columns:
        df["file"] = path.name
    if "row" not in df.columns:
        df["row"] = range(1, len(df) + 1)
    return validate_long(df, where=str(path))


def _looks_long(path: Path, header: frozenset[str]) -> bool:
    # Two of the required columns are enough: validation then names the missing one(s).
    return len(set(REQUIRED_COLUMNS) & header) >= 2


FORMAT = TableFormat(
    name="long",
    summary="a long-schema CSV (model, task, metric, score[, seed, protocol, fraction, suite, "
    "source, lr])",
    read=read_long_csv,
    recognises_file=_looks_long,
    priority=1000,
)

__all__ = ["FORMAT", "read_long_csv"]
