"""``planetbench import``: published results into the results store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore
from planetbench.store.literature import FORMATS, detect_and_read, import_results

_FILE_HELP = (
    "Long-schema CSV (model,task,metric,score[,seed,protocol,fraction,suite,source,lr]), a "
    "GEO-Bench-2 leaderboard folder, the GEO-Bench v1 results CSV or the Cryo-Bench table."
)
_FORMAT_HELP = f"Input format: {' | '.join(FORMATS)} (auto: by path and columns)."
_SOURCE_HELP = "Result source for rows without a 'source' column value."


@app.command("import")
@handle_errors
def import_cmd(
    file: Annotated[Path, typer.Argument(help=_FILE_HELP)],
    store: str | None = StoreOption,
    format: Annotated[str, typer.Option("--format", help=_FORMAT_HELP)] = "auto",
    source: Annotated[str, typer.Option("--source", help=_SOURCE_HELP)] = "literature",
) -> None:
    """Import published results into the store (all rows in one transaction)."""
    if format not in FORMATS:
        raise InvalidInputError(f"--format {format!r} is unknown; choose one of {list(FORMATS)}")
    df = detect_and_read(file, format=format)
    rs = ResultStore(store)
    n = import_results(df, rs, source=source)
    console.print(
        f"imported {n} rows ({df['model'].nunique()} models, {df['task'].nunique()} tasks) "
        f"from {file} into {rs.url}",
        highlight=False,
        soft_wrap=True,
    )
