"""Reading published files: missing files and parser failures become clear input errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from planetbench.errors import InvalidInputError

#: What pandas raises on a file that is not a CSV table.
CSV_ERRORS: tuple[type[Exception], ...] = (
    pd.errors.ParserError,
    pd.errors.EmptyDataError,
    UnicodeDecodeError,
)


def require_file(path: Path) -> None:
    """Raise unless ``path`` is an existing file."""
    if path.is_dir():
        raise InvalidInputError(
            f"results file {str(path)!r} is a folder; this format reads one CSV file (give its "
            "path, or choose another --format)"
        )
    if not path.is_file():
        raise InvalidInputError(f"results file {str(path)!r} does not exist; check the path")


def read_csv(path: Path, **kwargs: Any) -> pd.DataFrame:
    """``pandas.read_csv(path, **kwargs)``, with parser errors as :class:`InvalidInputError`."""
    try:
        return pd.read_csv(path, **kwargs)
    except CSV_ERRORS as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc


def read_header(path: Path) -> frozenset[str]:
    """The column names of a CSV file (its first line)."""
    return frozenset(str(c) for c in read_csv(path, nrows=0).columns)


def read_json(path: Path) -> Any:
    """The parsed content of a JSON file."""
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as JSON: {exc}") from exc


__all__ = ["CSV_ERRORS", "read_csv", "read_header", "read_json", "require_file"]
