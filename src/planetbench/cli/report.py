"""Commands that turn stored results into pages and checks: ``report`` and ``audit``."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import typer

from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.errors import InvalidInputError


@app.command("report")
@handle_errors
def report_cmd(
    out: Path = typer.Option(Path("report.html"), "--out", help="HTML file to write."),
    store: str | None = StoreOption,
    title: str = typer.Option("planetbench report", help="Page title."),
    reps: int = typer.Option(2000, help="Bootstrap replicates for confidence intervals."),
) -> None:
    """Write one self-contained HTML report (images inline) of everything in the store."""
    from planetbench.report.build import build_report

    path = build_report(store, out, title=title, reps=reps)
    console.print(f"wrote report to {path}")


@app.command("audit")
@handle_errors
def audit_cmd(
    table: Path = typer.Argument(..., help="Published results table (CSV, one row per model)."),
    tasks: str = typer.Option(..., "--tasks", help="Comma-separated per-task score columns."),
    average: str | None = typer.Option(None, "--average", help="Column with the average."),
    rank: str | None = typer.Option(None, "--rank", help="Column with the average rank."),
    label: str | None = typer.Option(None, "--label", help="Column naming the rows (model)."),
    lower_is_better: bool = typer.Option(False, help="Per-task scores are lower-is-better."),
    tol: float = typer.Option(0.01, help="Absolute tolerance in the table's own units."),
) -> None:
    """Report every row whose average or rank column disagrees with its per-task values.

    Ranks are competition ranks per task (ties share the best rank), averaged over tasks.
    Exit code 1 when any row disagrees, 0 when the table is consistent.
    """
    from planetbench.stats.audit import audit_table

    if not table.is_file():
        raise InvalidInputError(f"table {str(table)!r} does not exist; pass a CSV file")
    try:
        df = pd.read_csv(table)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InvalidInputError(f"cannot read {str(table)!r} as CSV: {exc}") from exc
    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    label = label or str(df.columns[0])
    problems = audit_table(
        df,
        tasks=task_list,
        average=average,
        rank=rank,
        higher_is_better=not lower_is_better,
        tol=tol,
        label=label,
    )
    if problems.empty:
        console.print(f"{table}: every checked column agrees with the per-task values")
        return
    console.print(problems.to_string(index=False))
    console.print(f"[bold red]{len(problems)} disagreement(s) in {table}[/]")
    raise typer.Exit(1)
