"""``planetbench encoders``: list every registered encoder and whether it can run here."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from planetbench.cli._app import app, console, handle_errors
from planetbench.errors import InvalidInputError

ENCODERS_EXAMPLE = """Examples:

  planetbench encoders --available

  planetbench encoders --format json
"""


@app.command("encoders", epilog=ENCODERS_EXAMPLE)
@handle_errors
def encoders_cmd(
    fmt: Annotated[str, typer.Option("--format", help="Output format: table or json.")] = "table",
    available: Annotated[
        bool,
        typer.Option(help="Only encoders that can be built here (--no-available: every "
                     "registered encoder)."),
    ] = False,
) -> None:
    """List encoders with availability (dependencies, cached weights, unavailable reason), then
    Mars-Bench's whole-model baselines.

    Example: planetbench encoders --format json
    """
    if fmt not in ("table", "json"):
        raise InvalidInputError(f"--format {fmt!r} is not supported; use 'table' or 'json'")
    from planetbench.encoders.availability import list_availability

    rows = [r for r in list_availability() if r.available or not available]
    wholes = [r for r in list_availability(whole_models=True) if r.available or not available]
    if fmt == "json":
        typer.echo(json.dumps([r.to_dict() for r in rows + wholes], indent=2))
        return
    table = Table(title=f"{len(rows)} encoders")
    table.add_column("encoder", no_wrap=True)
    for column in ("available", "bands", "weights", "licence", "unavailable because"):
        table.add_column(column, overflow="fold")
    for r in rows:
        bands = (
            "wavelengths" if r.wavelength_conditioned else (str(r.n_bands) if r.n_bands else "any")
        )
        table.add_row(
            r.name,
            "[green]yes[/]" if r.available else "[red]no[/]",
            bands,
            r.weights,
            escape(r.licence),
            escape(r.reason),
        )
    console.print(table)
    whole = Table(title=f"{len(wholes)} whole models (Mars-Bench's baselines with their own "
                        "decoder/detector: planetbench run --encoder NAME on tasks of their kind)")
    whole.add_column("model", no_wrap=True)
    for column in ("kind", "available", "weights", "licence", "unavailable because"):
        whole.add_column(column, overflow="fold")
    for r in wholes:
        whole.add_row(r.name, r.whole_model, "[green]yes[/]" if r.available else "[red]no[/]",
                      r.weights, escape(r.licence), escape(r.reason))
    console.print(whole)
    console.print("Cache paths of the weights: planetbench encoders --format json")
