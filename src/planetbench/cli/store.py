"""Commands that read or export the results store directly."""

from __future__ import annotations

from pathlib import Path

import typer

from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.store import ResultStore


@app.command("export")
@handle_errors
def export_cmd(
    out: Path = typer.Argument(..., help="Output file ending in .csv or .parquet."),
    store: str | None = StoreOption,
    suite: str | None = typer.Option(None, help="Only rows of this suite."),
    model: str | None = typer.Option(None, help="Only rows of this model."),
) -> None:
    """Export stored runs to CSV or Parquet."""
    rs = ResultStore(store)
    path = rs.export(out, suite=suite, model=model)
    console.print(f"wrote {len(rs.query(suite=suite, model=model))} rows to {path}")


@app.command("store-info")
@handle_errors
def store_info(store: str | None = StoreOption) -> None:
    """Show where the results store is and how many runs it holds."""
    rs = ResultStore(store)
    console.print(f"store: {rs.url}\nruns: {len(rs)}")
