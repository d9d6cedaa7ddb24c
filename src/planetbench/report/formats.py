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
import shutil
import textwrap
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


def _cell(value: object, decimals: int = 2) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and not np.isfinite(value)):
        return "—"
    if isinstance(value, float | np.floating):
        return f"{float(value):.{decimals}f}"
    return str(value)


def column_decimals(values: pd.Series) -> int:
    """Decimals that show a float column's largest value with three significant digits (at
    least 2, at most 6): 59.28 → 2, 0.491 → 3, 0.0123 → 4."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    numbers = np.abs(numbers[np.isfinite(numbers)])
    if numbers.size == 0 or numbers.max() == 0 or values.dtype == bool:
        return 2
    return int(min(6, max(2, 2 - math.floor(math.log10(float(numbers.max()))))))


def _cells(df: pd.DataFrame) -> list[list[str]]:
    decimals = [column_decimals(df[c]) for c in df.columns]
    return [[_cell(v, d) for v, d in zip(row, decimals, strict=True)]
            for row in df.itertuples(index=False)]


def markdown_escape(text: str) -> str:
    """Text safe in a Markdown table cell: HTML escaped, ``|`` escaped, on one line."""
    escaped = html.escape(text, quote=False).replace("\\", "\\\\").replace("|", "\\|")
    return " ".join(escaped.splitlines())


def _markdown(cols: list[str], cells: list[list[str]]) -> str:
    def line(values: list[str]) -> str:
        return "| " + " | ".join(markdown_escape(v) for v in values) + " |"

    lines = [line(cols), "|" + "|".join("---" for _ in cols) + "|", *(line(r) for r in cells)]
    return "\n".join(lines) + "\n"


#: Interval columns shown as one "estimate [low, high]" column in the text table.
INTERVALS: tuple[tuple[str, str, str, str], ...] = (
    ("iqm", "iqm_low", "iqm_high", "iqm [95% CI]"),
    ("mean_rank", "mean_rank_low", "mean_rank_high", "mean_rank [95% CI]"),
    ("ours", "ours_low", "ours_high", "ours [95% CI]"),
)

#: Shorter headers of the text table (the notes under a board define them).
SHORT_HEADERS: dict[str, str] = {"tied_with_leader": "tied"}

#: Columns a narrow terminal keeps longest (after ``model``), most important first.
HIGH_PRIORITY: tuple[str, ...] = (
    "rank", "task", "score_mean", "mean_rank [95% CI]", "iqm [95% CI]", "tied", "Core",
    "published", "ours [95% CI]", "agrees", "metric", "score_std", "mean", "avg_rank",
    "weighted_score", "mean_q",
)

#: Columns a narrow terminal drops first (the last of them first).
LOW_PRIORITY: tuple[str, ...] = (
    "display_name", "dimension", "difference", "n_tasks", "n_runs", "submission", "reps",
)


def _interval_text(point: object, low: object, high: object, decimals: int) -> str:
    if _cell(point) == "—":
        return "—"
    if _cell(low) == "—" or _cell(high) == "—":
        return _cell(point, decimals)
    return f"{_cell(point, decimals)} [{_cell(low, decimals)}, {_cell(high, decimals)}]"


def text_columns(df: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Column names and cell texts of the text table: intervals merged, missing as "—"."""
    frame = df.copy()
    for point, low, high, label in INTERVALS:
        if {point, low, high} <= set(frame.columns):
            decimals = column_decimals(pd.concat([frame[point], frame[low], frame[high]]))
            merged = [_interval_text(p, lo, hi, decimals)
                      for p, lo, hi in zip(frame[point], frame[low], frame[high], strict=True)]
            at = list(frame.columns).index(point)
            frame = frame.drop(columns=[low, high])
            frame = frame.drop(columns=[point])
            frame.insert(at, label, merged)
    frame = frame.rename(columns=SHORT_HEADERS)
    cols = [str(c) for c in frame.columns]
    return cols, _cells(frame)


def _priority_order(cols: list[str]) -> list[str]:
    """Columns in the order a narrow table drops them (first dropped first); never ``model``."""
    low = [c for c in reversed(LOW_PRIORITY) if c in cols]
    high = [c for c in HIGH_PRIORITY if c in cols]
    middle = [c for c in cols if c not in low and c not in high and c != "model"]
    return low + list(reversed(middle)) + list(reversed(high))


#: Narrowest a name column gets (names wrap) before a column is left out.
MODEL_MIN_WIDTH = 20

#: Columns of names: they wrap (never truncated) and are left-aligned.
TEXT_COLUMNS: tuple[str, ...] = ("model", "task", "display_name", "metric", "dimension")


def terminal_width() -> int:
    """The width to fit text tables into: ``$COLUMNS``, else the terminal's, else 100."""
    return shutil.get_terminal_size((100, 24)).columns


def _rich_table(
    cols: list[str], cells: list[list[str]], title: str, *, width: int, wide: bool
) -> tuple[str, list[str]]:
    """The Rich text of a table fitted into ``width`` (unless ``wide``), and the columns left
    out. Names (:data:`TEXT_COLUMNS`) wrap, down to :data:`MODEL_MIN_WIDTH` characters, before
    a column is left out; numbers never wrap."""
    from rich.console import Console
    from rich.table import Table

    widths = {c: max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(cols)}
    texts = [c for c in cols if c in TEXT_COLUMNS]

    def fixed(names: list[str]) -> int:  # characters of the number columns and the borders
        return sum(widths[n] for n in names if n not in texts) + 3 * len(names) + 1

    def least(names: list[str]) -> int:
        return fixed(names) + sum(min(widths[n], MODEL_MIN_WIDTH) for n in names if n in texts)

    shown = list(cols)
    hidden: list[str] = []
    if not wide:
        for name in _priority_order(cols):
            if least(shown) <= width or len(shown) <= 2:
                break
            shown.remove(name)
            hidden.insert(0, name)
    text_shown = [n for n in shown if n in texts]
    text_width = {n: widths[n] for n in text_shown}
    if not wide:  # share the room left among the names, widest first trimmed
        room = width - fixed(shown)
        while sum(text_width.values()) > room:
            widest = max(text_width, key=lambda n: text_width[n])
            if text_width[widest] <= MODEL_MIN_WIDTH:
                break
            text_width[widest] -= 1
        text_width = {n: max(w, min(widths[n], MODEL_MIN_WIDTH)) for n, w in text_width.items()}
    table = Table()
    for c in shown:
        if c in texts:
            table.add_column(c, justify="left", overflow="fold", width=text_width[c])
        else:
            table.add_column(c, justify="right", no_wrap=True)
    index = [cols.index(c) for c in shown]
    for r in cells:
        table.add_row(*(r[i] for i in index))
    buf = io.StringIO()
    table_width = fixed(shown) + sum(text_width.values())
    Console(file=buf, width=max(table_width, 20), color_system=None, markup=False,
            emoji=False, highlight=False).print(table)
    return buf.getvalue(), [c for c in cols if c in hidden]


def format_leaderboard(
    df: pd.DataFrame,
    fmt: LeaderboardFormat = "table",
    *,
    title: str | None = None,
    width: int | None = None,
    wide: bool = False,
) -> str:
    """Render any leaderboard as text.

    Args:
        df: the board, one row per model (index ignored). ``df.attrs["notes"]`` (sentences)
            are printed under the table, Markdown and HTML.
        fmt: ``table`` (Rich, plain text, titled), ``json`` (records), ``csv``, ``md``
            (Markdown) or ``html`` (a ``<table>``).
        title: title of the text table; default ``df.attrs["title"]`` or "Leaderboard".
        width: the text table's width in characters (default: :func:`terminal_width`); columns
            that do not fit are left out, low-priority ones first (bootstrap rounds, run
            counts, interval bounds, then task columns), and named under the table. Intervals
            are shown as ``estimate [low, high]``; long model names wrap.
        wide: show every column of the text table, however wide.

    Returns:
        The text, ending with a newline.

    Raises:
        InvalidInputError: unknown format.
    """
    check_format(fmt)
    notes = [str(n) for n in df.attrs.get("notes", [])]
    if fmt == "json":
        return to_json(leaderboard_records(df)) + "\n"
    if fmt == "csv":
        return str(df.to_csv(index=False))
    if fmt == "html":
        body = str(df.to_html(index=False, float_format=lambda v: f"{v:.4g}", na_rep="—"))
        return body + "".join(f"\n<p>{html.escape(n)}</p>" for n in notes) + "\n"
    if fmt == "md":
        cols = [str(c) for c in df.columns]
        cells = _cells(df)
        return _markdown(cols, cells) + "".join(f"\n{markdown_escape(n)}\n" for n in notes)
    empty = [str(c) for c in df.columns if c != "model" and len(df) and df[c].isna().all()]
    cols, cells = text_columns(df.drop(columns=empty))
    heading = title or str(df.attrs.get("title") or DEFAULT_TITLE)
    text, hidden = _rich_table(cols, cells, heading, width=width or terminal_width(), wide=wide)
    text = f"{heading}\n{text}"  # one line, never wrapped into the table's width
    footer = []
    if empty:
        footer.append(f"empty for every row (not shown): {', '.join(empty)}")
    if hidden:
        footer.append(f"not shown (too wide): {', '.join(hidden)}; --wide shows every column, "
                      "--format csv/json every number")
    footer += notes
    if "tied_with_leader" in df.columns:
        footer.append("tied = tied_with_leader: the model's mean-rank interval overlaps the "
                      "leader's")
    limit = max(width or terminal_width(), 40)
    return text + "".join(
        f"{line}\n" for note in footer
        for line in textwrap.wrap(note, limit, break_on_hyphens=False)
    )


__all__ = [
    "FORMATS",
    "HIGH_PRIORITY",
    "INTERVALS",
    "LOW_PRIORITY",
    "SHORT_HEADERS",
    "TEXT_COLUMNS",
    "LeaderboardFormat",
    "check_format",
    "format_leaderboard",
    "json_ready",
    "leaderboard_records",
    "markdown_escape",
    "terminal_width",
    "text_columns",
    "to_json",
]
