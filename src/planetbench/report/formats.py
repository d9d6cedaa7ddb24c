"""Every leaderboard's output formats: a Rich text table, JSON, CSV, Markdown and HTML.

One renderer for every kind of leaderboard (NeuCo Q board, interval board, dense board). Names
are data, never markup: Markdown escapes ``|`` and HTML, HTML escapes its text, and JSON holds
``null`` where a number is missing or not finite (never the invalid tokens ``NaN``/``Infinity``).
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError

LeaderboardFormat = Literal["table", "json", "csv", "md", "html"]
FORMATS: tuple[str, ...] = ("table", "json", "csv", "md", "html")

#: Title of a board that states none (in ``df.attrs["title"]``) and gets none from the caller.
DEFAULT_TITLE = "Leaderboard"


def check_format(fmt: str, *, option: str = "format") -> None:
    """Refuse an unknown output format (before any work), naming ``option`` in the message."""
    if fmt not in FORMATS:
        raise InvalidInputError(
            f"{option} {fmt!r} is not allowed; use one of {', '.join(FORMATS)}"
        )


def json_ready(value: Any) -> Any:
    """``value`` with NumPy/pandas scalars made plain and missing or non-finite numbers None."""
    if isinstance(value, Mapping):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def to_json(value: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``value`` (see :func:`json_ready`); never ``NaN`` or ``Infinity``."""
    return json.dumps(json_ready(value), indent=indent, allow_nan=False, default=str)


def leaderboard_records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dicts (missing or non-finite numbers → None)."""
    records: list[dict[str, Any]] = json_ready(df.to_dict(orient="records"))
    return records


def _cell(value: object) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{float(value):.2f}"
    return str(value)


def markdown_escape(text: str) -> str:
    """Text safe in a Markdown table cell: HTML escaped, ``|`` escaped, on one line."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(escaped.splitlines())


def _markdown(cols: list[str], cells: list[list[str]]) -> str:
    def line(values: list[str]) -> str:
        return "| " + " | ".join(markdown_escape(v) for v in values) + " |"

    lines = [line(cols), "|" + "|".join("---" for _ in cols) + "|", *(line(r) for r in cells)]
    return "\n".join(lines) + "\n"


def _rich_table(cols: list[str], cells: list[list[str]], title: str) -> str:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for c in cols:
        table.add_column(c, justify="left" if c == "model" else "right")
    for r in cells:
        table.add_row(*r)
    buf = io.StringIO()
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)]
    width = max(80, sum(widths) + 3 * len(cols) + 1)
    Console(file=buf, width=width, color_system=None, markup=False, emoji=False).print(table)
    return buf.getvalue()


def format_leaderboard(
    df: pd.DataFrame, fmt: LeaderboardFormat = "table", *, title: str | None = None
) -> str:
    """Render any leaderboard as text.

    Args:
        df: the board, one row per model (index ignored).
        fmt: ``table`` (Rich, plain text, titled), ``json`` (records), ``csv``, ``md``
            (Markdown) or ``html`` (a ``<table>``).
        title: title of the text table; default ``df.attrs["title"]`` or "Leaderboard".

    Returns:
        The text, ending with a newline.

    Raises:
        InvalidInputError: unknown format.
    """
    check_format(fmt)
    if fmt == "json":
        return to_json(leaderboard_records(df)) + "\n"
    if fmt == "csv":
        return str(df.to_csv(index=False))
    if fmt == "html":
        return str(df.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—")) + "\n"
    cols = [str(c) for c in df.columns]
    cells = [[_cell(v) for v in row] for row in df.itertuples(index=False)]
    if fmt == "md":
        return _markdown(cols, cells)
    return _rich_table(cols, cells, title or str(df.attrs.get("title") or DEFAULT_TITLE))


__all__ = [
    "FORMATS",
    "LeaderboardFormat",
    "check_format",
    "format_leaderboard",
    "json_ready",
    "leaderboard_records",
    "markdown_escape",
    "to_json",
]
