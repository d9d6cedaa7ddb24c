"""Commands that read or export the results store directly."""

from __future__ import annotations

from pathlib import Path

import typer

from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.errors import ConfigError
from planetbench.store import ResultStore


@app.command("export")
@handle_errors
def export_cmd(
    out: Path = typer.Argument(..., help="Output file ending in .csv or .parquet."),
    store: str | None = StoreOption,
    suite: str | None = typer.Option(None, help="Only rows of this suite."),
    model: str | None = typer.Option(None, "--model", help="Only rows of this model."),
    method: str | None = typer.Option(None, "--method", hidden=True,
                                      help="Old spelling of --model."),
) -> None:
    """Export stored runs to CSV or Parquet.

    Example: planetbench export runs.parquet --suite cryo --model dofa-base
    """
    if method is not None:
        if model is not None and model != method:
            raise ConfigError("--method is the old spelling of --model; give only --model")
        model = method
    rs = ResultStore(store)
    path = rs.export(out, suite=suite, model=model)
    console.print(f"wrote {len(rs.query(suite=suite, model=model))} rows to {path}")


@app.command("store-info")
@handle_errors
def store_info(store: str | None = StoreOption) -> None:
    """Show where the results store is, its schema revision and how many runs it holds.

    Example: planetbench store-info --store results.sqlite
    """
    rs = ResultStore(store)
    n_runs = len(rs)
    console.print(f"store: {rs.where}\nschema: {rs.schema_revision()}\nruns: {n_runs}",
                  highlight=False)
    if rs.upgrade is not None and rs.upgrade.from_revision is not None:
        console.print(rs.upgrade.message(rs.where), highlight=False, soft_wrap=True)
    n_moved = rs.n_duplicates_kept()
    if n_moved:
        console.print(
            f"{n_moved} duplicate row(s) of planetbench 0.1 kept aside in table "
            "'runs_duplicates' (not counted above)", highlight=False
        )
