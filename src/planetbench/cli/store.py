"""Commands that read or export the results store directly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


store_app = typer.Typer(
    name="store",
    help="Change the results store itself: retract the rows of a bad import or run.",
    no_args_is_help=True,
)
app.add_typer(store_app, name="store")


@store_app.command("retract")
@handle_errors
def retract_cmd(
    import_id: Annotated[
        str | None,
        typer.Option("--import", help="Remove every row of this import (the id `planetbench "
                     "import` printed; kept in each row's config.import_id)."),
    ] = None,
    run_key: Annotated[
        str | None, typer.Option("--run-key", help="Remove the row of this run key.")
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why; recorded with the retraction.")
    ] = "",
    store: str | None = StoreOption,
) -> None:
    """Remove the rows of one import or one run key from the store, and record it.

    The rows leave the runs table in one transaction and a row of the table 'retractions'
    records what was asked, why, when, the run keys and the removed rows themselves (nothing
    is lost, nothing is silent). `planetbench store retractions` lists them.

    Example: planetbench store retract --import 20261207T013000-3f9a --reason "mIoU in percent"
    """
    chosen = [(s, v) for s, v in (("import", import_id), ("run_key", run_key)) if v is not None]
    if len(chosen) != 1:
        raise ConfigError(
            "give exactly one of --import ID (as printed by `planetbench import`) or --run-key KEY"
        )
    rs = ResultStore(store)
    rs.check_writable()
    summary = rs.retract(selector=chosen[0][0], value=chosen[0][1], reason=reason)
    console.print(
        f"retracted {summary.n_rows} row(s) of {summary.selector} {summary.value} from "
        f"{rs.where}; recorded as retraction {summary.retraction_id} (planetbench store "
        "retractions)",
        highlight=False, soft_wrap=True,
    )


@store_app.command("retractions")
@handle_errors
def retractions_cmd(store: str | None = StoreOption) -> None:
    """List the recorded retractions: when, what, why and how many rows.

    Example: planetbench store retractions --store results.sqlite
    """
    table = ResultStore(store).retractions()
    if table.empty:
        console.print("no retraction recorded", highlight=False)
        return
    from planetbench.report.formats import format_leaderboard

    shown = table.drop(columns=["run_keys"]).astype({"retracted_at": str})
    typer.echo(format_leaderboard(shown, "table", title="retractions", wide=True).rstrip("\n"))
