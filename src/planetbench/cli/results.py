"""``planetbench import``: published results into the results store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planetbench.cli._app import StoreOption, app, console, err_console, handle_errors
from planetbench.store import ResultStore
from planetbench.store.importers import (
    AUTO,
    detect_and_read,
    format_names,
    get_format,
    import_results,
)

_FILE_HELP = (
    "Long-schema CSV (model,task,metric,score[,seed,protocol,fraction,suite,source,lr]), a "
    "GEO-Bench-2 leaderboard folder (or one submission), the GEO-Bench v1 "
    "baseline_segmentation_results.csv, the Cryo-Bench table, or Mars-Bench's per-seed run "
    "tables (one CSV or their folder)."
)
_SOURCE_HELP = "Result source for rows without a 'source' column value."


@app.command("import")
@handle_errors
def import_cmd(
    file: Annotated[Path, typer.Argument(help=_FILE_HELP)],
    store: str | None = StoreOption,
    format: Annotated[
        str,
        typer.Option(
            "--format",
            help=f"Input format: {' | '.join(format_names())} ({AUTO}: by path and columns).",
        ),
    ] = AUTO,
    source: Annotated[str, typer.Option("--source", help=_SOURCE_HELP)] = "literature",
) -> None:
    """Import published results into the store.

    The long CSV schema: required columns model, task, metric, score; optional seed (integer),
    protocol (default "literature"), fraction (share of the training split, in (0, 1]), suite,
    source (default --source) and lr. The metric must be a name whose direction is known
    (miou, accuracy, f1_*, r2, rmse, mae …). Every row is checked before anything is written,
    and all new rows are written in one transaction. Rows already in the store (same content)
    are skipped, so importing a file twice stores it once. A metric spelled differently from a
    stored one (mIoU beside miou), or scores on another scale than the stored ones of the same
    suite (70.0 beside 0.7), is refused; each import gets an id to retract it with
    `planetbench store retract --import ID`.

    Example: planetbench import ../shared/data/geobench2-leaderboard-results --store r.sqlite
    """
    if format != AUTO:
        get_format(format, option="--format")
    df = detect_and_read(file, format=format)
    rs = ResultStore(store)
    rs.check_writable()  # a read-only store is refused before anything is imported
    summary = import_results(df, rs, source=source)
    skipped = (
        f", skipped {summary.n_skipped} already stored" if summary.n_skipped else ""
    )
    console.print(
        f"imported {summary.n_written} of {summary.n_rows} rows ({summary.n_models} models, "
        f"{summary.n_tasks} tasks) from {file} into {rs.url}{skipped}",
        highlight=False,
        soft_wrap=True,
    )
    for note in df.attrs.get("notes", []):
        console.print(f"note: {note}", highlight=False, soft_wrap=True)
    if summary.import_id:
        console.print(
            f"import id {summary.import_id} (undo with: planetbench store retract --import "
            f"{summary.import_id})",
            highlight=False,
            soft_wrap=True,
        )
    for note in summary.notes:
        err_console.print(f"warning: {note}", highlight=False, soft_wrap=True, markup=False)
