"""Commands for embedding evaluation: ``probe``, ``leaderboard`` and NeuCo-Bench's ``neuco``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import pandas as pd
import typer
from rich.table import Table

from planetbench.cli._app import StoreOption, app, console, err_console, handle_errors
from planetbench.errors import InvalidInputError

if TYPE_CHECKING:
    from planetbench.evaluate import EvaluationSummary


def _summary_table(summary: EvaluationSummary) -> Table:
    table = Table(title=f"{summary.name}: probe results (Q = NeuCo-Bench quality score)")
    for col, justify in (("task", "left"), ("metric", "left"), ("mean", "right"),
                         ("std", "right"), ("Q", "right"), ("flag", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, t in summary.tasks.items():
        flags = []
        if t.unreliable:
            flags.append("unreliable (Q<0)")
        if t.coverage < 1.0:
            flags.append(f"coverage {t.coverage:.0%}")
        if t.resumed:
            flags.append("from store")
        table.add_row(name, t.metric, f"{t.mean:.4f}", f"{t.std:.4f}", f"{t.q:.2f}",
                      ", ".join(flags))
    return table


@app.command("probe")
@handle_errors
def probe_cmd(
    embeddings: Annotated[
        Path, typer.Argument(help="Embedding file (.csv/.parquet): id + columns 0..d-1.")
    ],
    labels: Annotated[
        Path, typer.Option("--labels", help="Folder of <task>__<type>.csv label files.")
    ],
    name: Annotated[
        str | None, typer.Option("--name", help="Method name (default: file stem).")
    ] = None,
    splits: Annotated[
        int | None, typer.Option("--splits", help="K random train/test splits (10).")
    ] = None,
    probe: Annotated[
        str | None, typer.Option("--probe", help="auto, ridge, logistic or neuco.")
    ] = None,
    epsilon: Annotated[
        float | None, typer.Option("--epsilon", help="ε of the Q score (0.02).")
    ] = None,
    dim: Annotated[
        int | None, typer.Option("--dim", help="Maximum embedding columns allowed.")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="Seed of splits and probes.")] = None,
    allow_missing: Annotated[
        bool,
        typer.Option(
            "--allow-missing", help="Score on covered ids when some task ids lack embeddings."
        ),
    ] = False,
    store: str | None = StoreOption,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for NAME/summary.json.")
    ] = Path("results"),
    plots: Annotated[
        bool, typer.Option("--plots", help="Also write PNG plots to OUT/NAME/plots.")
    ] = False,
) -> None:
    """Evaluate an embedding file on a NeuCo-Bench label folder (K-split probe, Q score)."""
    from planetbench.evaluate import evaluate_embeddings

    summary = evaluate_embeddings(
        embeddings,
        labels,
        name=name,
        store=store,
        out=out,
        plots=plots,
        progress=True,
        probe=probe,
        n_splits=splits,
        epsilon=epsilon,
        dim=dim,
        seed=seed,
        allow_missing=allow_missing or None,
    )
    console.print(_summary_table(summary))
    console.print(f"mean Q over {len(summary.tasks)} task(s): {summary.mean_q:.2f}")
    if summary.resumed:
        console.print(
            f"reused {len(summary.resumed)} stored result(s) (same file and configuration): "
            f"{', '.join(summary.resumed)}"
        )
    console.print(f"summary: {summary.summary_path}")
    for path in summary.plot_paths:
        console.print(f"plot: {path}")


def build_leaderboard(
    store: str | None = None,
    *,
    suite: str = "neuco",
    unweighted: bool = False,
    select: str = "best",
) -> pd.DataFrame:
    """The leaderboard DataFrame the ``leaderboard`` command prints (no printing here)."""
    from planetbench.leaderboard import SELECT, leaderboard

    if select not in SELECT:
        raise InvalidInputError(
            f"--select {select!r} is not allowed; use one of {', '.join(SELECT)}"
        )
    return leaderboard(
        store, suite=suite, unweighted=unweighted, select=select  # type: ignore[arg-type]
    )


def print_leaderboard(df: pd.DataFrame, fmt: str, *, store: str | None, suite: str) -> None:
    """Print a leaderboard in ``fmt``, or say clearly that the store holds nothing to rank."""
    from planetbench.leaderboard import FORMATS, empty_message, format_leaderboard

    if fmt not in FORMATS:
        raise InvalidInputError(f"--format {fmt!r} is not allowed; use one of {', '.join(FORMATS)}")
    if df.empty:
        err_console.print(empty_message(store, suite), highlight=False, soft_wrap=True)
        return
    text = format_leaderboard(df, fmt)  # type: ignore[arg-type]
    typer.echo(text.rstrip("\n"))


@app.command("leaderboard")
@handle_errors
def leaderboard_cmd(
    store: str | None = StoreOption,
    fmt: Annotated[str, typer.Option("--format", help="table, json, csv or md.")] = "table",
    unweighted: Annotated[
        bool, typer.Option("--unweighted", help="Equal task weights.")
    ] = False,
    select: Annotated[
        str, typer.Option("--select", help="best (highest mean Q) or last run of a method.")
    ] = "best",
) -> None:
    """Rank stored probe results (one row per method; NeuCo-Bench rank-then-aggregate)."""
    df = build_leaderboard(store, unweighted=unweighted, select=select)
    print_leaderboard(df, fmt, store=store, suite="neuco")


@app.command("neuco")
@handle_errors
def neuco_cmd(
    annotation_path: Annotated[Path, typer.Option("--annotation_path", help="Label folder.")],
    submission_file: Annotated[Path, typer.Option("--submission_file", help="Embedding CSV.")],
    config: Annotated[Path, typer.Option("--config", help="NeuCo-Bench YAML configuration.")],
    method_name: Annotated[str, typer.Option("--method_name", help="Method name.")],
    phase: Annotated[
        str, typer.Option("--phase", help="Phase label (sub-folder of output_dir).")
    ] = "all",
    output_dir: Annotated[
        Path, typer.Option("--output_dir", help="Output folder.")
    ] = Path("results"),
    exclude_file: Annotated[
        Path | None,
        typer.Option("--exclude_file", help="Text file of ids to exclude (one per line)."),
    ] = None,
    store: str | None = StoreOption,
) -> None:
    """Run with NeuCo-Bench's flags and YAML config (probe 'neuco')."""
    from planetbench.neuco_compat import run_neuco

    summary, results_path, board = run_neuco(
        submission_file=submission_file,
        annotation_path=annotation_path,
        config=config,
        method_name=method_name,
        phase=phase,
        output_dir=output_dir,
        exclude_file=exclude_file,
        store=store,
    )
    console.print(_summary_table(summary))
    console.print(f"overall score (mean Q): {summary.mean_q:.2f}")
    console.print(f"results: {results_path}")
    if board is not None:
        console.print(f"leaderboard: {board}")
