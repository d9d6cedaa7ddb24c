"""Commands that turn stored results into pages and checks: ``report`` and ``audit``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.errors import InvalidInputError
from planetbench.stats.bootstrap import DEFAULT_REPS


@app.command("report")
@handle_errors
def report_cmd(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write.")] = Path("report.html"),
    store: str | None = StoreOption,
    title: Annotated[str, typer.Option("--title", help="Page title.")] = "planetbench report",
    reps: Annotated[
        int, typer.Option("--reps", min=100, help="Bootstrap rounds of every interval.")
    ] = DEFAULT_REPS,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Bootstrap seed.")] = 0,
) -> None:
    """Write one self-contained HTML report (images inline) of everything in the store.

    One part per suite: leaderboards with intervals, the source's own board and published
    aggregates beside ours (GEO-Bench-2, Cryo-Bench), per-task scores, curves over training
    fraction, learning rate and compute, and a capability map. Sections of generated data are
    marked SYNTHETIC (only they); warnings go to the report's Notes section.

    Example: planetbench report --store results.sqlite --out report.html
    """
    from planetbench.report.build import build_report
    from planetbench.report.output_paths import check_output_file

    check_output_file(out, option="--out", example="report.html")
    path = build_report(store, out, title=title, reps=reps, seed=seed)
    console.print(f"wrote report to {path}", highlight=False, soft_wrap=True)


@app.command("audit")
@handle_errors
def audit_cmd(
    table: Annotated[
        Path, typer.Argument(help="Published results table (CSV, one row per model).")
    ],
    tasks: Annotated[str, typer.Option("--tasks", help="Comma-separated per-task score columns.")],
    average: Annotated[
        str | None, typer.Option("--average", help="Column with the average.")
    ] = None,
    rank: Annotated[str | None, typer.Option("--rank", help="Column with the average rank.")] = None,
    label: Annotated[
        str | None, typer.Option("--label", help="Column naming the rows (default: the first).")
    ] = None,
    higher_is_better: Annotated[
        bool,
        typer.Option(
            "--higher-is-better/--lower-is-better",
            help="Direction of the per-task scores.",
        ),
    ] = True,
    no_lower_is_better: Annotated[
        bool, typer.Option("--no-lower-is-better", hidden=True, help="Old spelling.")
    ] = False,
    tol: Annotated[
        float, typer.Option("--tol", help="Absolute tolerance in the table's own units.")
    ] = 0.01,
) -> None:
    """Report every row whose average or rank column disagrees with its per-task values.

    Ranks are competition ranks per task (ties share the best rank), averaged over tasks.
    Exit code 1 when any row disagrees, 0 when the table is consistent.

    Example: planetbench audit table.csv --tasks glid,gld,sicd,caffe,gsdd --average avg_miou
    --rank avg_rank --label model
    """
    from planetbench.report.audit import audit_csv

    problems = audit_csv(
        table,
        tasks=tasks,
        average=average,
        rank=rank,
        higher_is_better=higher_is_better or no_lower_is_better,
        tol=tol,
        label=label,
    )
    if problems.empty:
        console.print(f"{table}: every checked column agrees with the per-task values",
                      highlight=False, markup=False, soft_wrap=True)
        return
    console.print(problems.to_string(index=False), highlight=False, markup=False)
    console.print(f"[bold red]{len(problems)} disagreement(s)[/] in {escape(str(table))}",
                  highlight=False, soft_wrap=True)
    raise typer.Exit(1)


@app.command("normaliser")
@handle_errors
def normaliser_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSON file to write the normaliser to.")],
    reference_model: Annotated[
        list[str],
        typer.Option("--reference-model", help="A model whose runs set the anchors (repeat it "
                     "for several)."),
    ],
    label: Annotated[
        str, typer.Option("--label", help="Version label stored in the file (bump it on refit).")
    ] = "v1",
    store: str | None = StoreOption,
    suite: Annotated[str | None, typer.Option("--suite", help="Only runs of this suite.")] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="Only runs of this protocol.")
    ] = None,
    fraction: Annotated[
        float | None, typer.Option("--fraction", help="Only runs at this training fraction.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only runs of this source.")
    ] = None,
    low_pct: Annotated[
        float, typer.Option("--low-pct", help="Percentile of the reference runs for 0.")
    ] = 0.0,
    high_pct: Annotated[
        float, typer.Option("--high-pct", help="Percentile of the reference runs for 1.")
    ] = 100.0,
) -> None:
    """Fit a frozen normaliser on stored runs and write it, for `leaderboard --normaliser FILE`.

    Each task's anchors are the --low-pct and --high-pct percentiles (default: the minimum and
    the maximum) of the reference models' runs; a score s becomes (s - low) / (high - low), or
    (high - s) / (high - low) for lower-is-better metrics, on every later board: normalising a
    new model never moves the others.

    Example: planetbench normaliser --suite cryo --protocol frozen --reference-model TerraMind
    --reference-model DOFA --out cryo-normaliser.json
    """
    from planetbench.report.output_paths import check_output_file
    from planetbench.report.runs_selection import BoardQuery, fit_stored_normaliser
    from planetbench.store import ResultStore

    check_output_file(out, option="--out", example="normaliser.json")
    fitted = fit_stored_normaliser(
        ResultStore(store),
        BoardQuery(suite=suite, protocol=protocol, fraction=fraction, source=source),
        reference_models=list(reference_model), version=label, low_pct=low_pct,
        high_pct=high_pct,
    )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(fitted.to_json(), encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write the normaliser to {str(out)!r}: {exc}") from exc
    console.print(
        f"wrote normaliser {fitted.version!r} ({len(fitted.anchors)} task anchors from "
        f"{', '.join(fitted.reference_models)}; digest {fitted.digest}) to {out}; rank with it: "
        f"planetbench leaderboard --normaliser {out} ...",
        highlight=False, soft_wrap=True,
    )
