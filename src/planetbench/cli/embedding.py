"""Commands for embedding evaluation: ``probe``, ``leaderboard`` and NeuCo-Bench's ``neuco``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from planetbench.cli._app import (
    StoreOption,
    alias,
    app,
    console,
    err_console,
    handle_errors,
)
from planetbench.stats.bootstrap import DEFAULT_REPS

if TYPE_CHECKING:
    from planetbench.embedding.evaluate import EvaluationSummary


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
    model: Annotated[
        str | None,
        typer.Option("--model", help="Model name: a leaderboard row and the folder OUT/MODEL "
                     "(default: the file's stem; no path separators, at most 128 characters)."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", hidden=True)] = None,
    n_splits: Annotated[
        int | None, typer.Option("--n-splits", help="K random train/test splits (10).")
    ] = None,
    splits: Annotated[int | None, typer.Option("--splits", hidden=True)] = None,
    probe: Annotated[
        str | None, typer.Option("--probe", help="auto, ridge, logistic, neuco or neuco-svm.")
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
        typer.Option("--allow-missing/--no-allow-missing",
                     help="Score on covered ids when some task ids lack embeddings."),
    ] = False,
    store: Annotated[str | None, typer.Option("--store", help=StoreOption.help)] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for MODEL/summary.json (created if missing).")
    ] = Path("results"),
    plots: Annotated[
        bool, typer.Option("--plots/--no-plots", help="Also write PNG plots to OUT/MODEL/plots.")
    ] = False,
    n_jobs: Annotated[
        int | None,
        typer.Option("--n-jobs", min=1, help="Tasks probed at once in worker processes "
                     "(default: automatic; results are identical)."),
    ] = None,
    jobs: Annotated[int | None, typer.Option("--jobs", min=1, hidden=True)] = None,
) -> None:
    """Evaluate an embedding file on a NeuCo-Bench label folder (K-split probe, Q score).

    Every input is checked before any probe runs; results go to the store (a re-run resumes)
    and to OUT/MODEL/summary.json.

    Example: planetbench probe emb.csv --labels labels/ --model my-model --n-splits 10
    """
    from planetbench.embedding.evaluate import evaluate_embeddings
    from planetbench.store import ResultStore

    ResultStore(store).check_writable()  # a read-only store is refused before any compute
    summary = evaluate_embeddings(
        embeddings,
        labels,
        name=alias("--model", model, "--name", name),
        store=store,
        out=out,
        plots=plots,
        n_jobs=alias("--n-jobs", n_jobs, "--jobs", jobs),
        progress=True,
        probe=probe,
        n_splits=alias("--n-splits", n_splits, "--splits", splits),
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


@app.command("leaderboard")
@handle_errors
def leaderboard_cmd(
    store: str | None = StoreOption,
    fmt: Annotated[
        str, typer.Option("--format", help="Output: table, json, csv, md or html.")
    ] = "table",
    unweighted: Annotated[
        bool,
        typer.Option("--unweighted/--no-unweighted", help="NeuCo board: equal task weights."),
    ] = False,
    select: Annotated[
        str,
        typer.Option("--select", help="NeuCo board: best (highest mean Q) or last run of a model."),
    ] = "best",
    suite: Annotated[
        str | None, typer.Option("--suite", help="Rank the stored runs of this suite.")
    ] = None,
    preset: Annotated[
        str | None,
        typer.Option("--preset", help="Layout: intervals (default), cryo, neuco, mars "
                     "(Mars-Bench's aggregation), geobench2 (GEO-Bench-2's own leaderboard) or "
                     "geobench-v1 (GEO-Bench's aggregation per --fraction)."),
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="Only runs of this protocol.")
    ] = None,
    fraction: Annotated[
        float | None, typer.Option("--fraction", help="Only runs with this training fraction.")
    ] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only runs of this source (e.g. literature).")
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Only runs scored with this metric.")
    ] = None,
    lr: Annotated[
        float | None,
        typer.Option("--lr", help="Only runs at this learning rate (default: per model and "
                     "task, the rate with the best validation score)."),
    ] = None,
    shots: Annotated[
        int | None,
        typer.Option("--shots", min=1, help="mars preset: few-shot runs with this many per class."),
    ] = None,
    normaliser: Annotated[
        str | None,
        typer.Option(
            "--normaliser",
            help="A frozen normaliser putting tasks of different metrics on one 0-1 scale: a "
            "file written by `planetbench normaliser`, or a published normalizer.json "
            "({task: [low, high]}); or 'compared' (mars preset, the default there: Mars-Bench's "
            "per-dataset min/max over the compared runs).",
        ),
    ] = None,
    reps: Annotated[
        int, typer.Option("--reps", min=100, help="Bootstrap rounds of the intervals.")
    ] = DEFAULT_REPS,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Bootstrap seed.")] = 0,
    wide: Annotated[
        bool, typer.Option("--wide/--no-wide", help="Table: every column, however wide.")
    ] = False,
) -> None:
    """Rank stored results: one row per model.

    Without --suite/--preset: the NeuCo-Bench board of probe results (Q per task,
    rank-then-aggregate). With --suite/--preset: per-task scores, mean, IQM with a bootstrap CI,
    mean rank with its interval and tied_with_leader (the model's mean-rank interval overlaps
    the leader's). Tasks with different metrics need --normaliser FILE (GEO-Bench-2 rows carry
    their published one). --preset geobench2 shows GEO-Bench-2's own leaderboard; the mars preset
    (and --suite mars) aggregates as Mars-Bench: normalised per-dataset IQM, IQM over seeds and
    datasets with a stratified-bootstrap CI (>= 1,000 rounds), constant datasets excluded. The
    table fits the terminal ($COLUMNS): columns that do not fit are named under it; --wide shows
    them all.

    Example: planetbench leaderboard --suite cryo --preset cryo --format md
    """
    from planetbench.report.embedding_leaderboard import check_select
    from planetbench.report.formats import check_format, format_leaderboard
    from planetbench.report.leaderboards import check_preset, stored_leaderboard

    check_format(fmt, option="--format")
    check_select(select, option="--select")
    if preset is not None:
        check_preset(preset, option="--preset")
    board = stored_leaderboard(
        store, suite=suite, preset=preset, protocol=protocol, fraction=fraction, source=source,
        metric=metric, lr=lr, shots=shots, normaliser=normaliser, unweighted=unweighted,
        select=select, reps=reps, seed=seed,  # type: ignore[arg-type]
    )
    if board.empty:
        err_console.print(board.attrs["empty_message"], highlight=False, soft_wrap=True)
        return
    typer.echo(format_leaderboard(board, fmt, wide=wide).rstrip("\n"))  # type: ignore[arg-type]
    if fmt in ("json", "csv"):  # machine-readable output: the notes go to stderr
        for note in board.attrs.get("notes") or []:
            err_console.print(str(note), highlight=False, soft_wrap=True, markup=False)


@app.command("neuco")
@handle_errors
def neuco_cmd(
    submission_file: Annotated[
        Path, typer.Option("--submission_file", help="Embedding file (.csv/.parquet).")
    ],
    annotation_path: Annotated[
        Path, typer.Option("--annotation_path", help="Folder of <task>__<type>.csv label files.")
    ],
    config: Annotated[
        Path, typer.Option("--config", help="NeuCo-Bench YAML configuration.")
    ] = Path("config.yaml"),
    method_name: Annotated[
        str | None,
        typer.Option("--method_name", help="Method name: the model stored and the run folder "
                     "OUTPUT_DIR/PHASE/METHOD_NAME_<time> (default: the submission file's stem)."),
    ] = None,
    phase: Annotated[
        str, typer.Option("--phase", help="Phase label (a folder name under output_dir).")
    ] = "results",
    output_dir: Annotated[
        Path, typer.Option("--output_dir", help="Output folder (created if missing).")
    ] = Path("results"),
    exclude_file: Annotated[
        Path | None,
        typer.Option("--exclude_file", help="Text file of ids to exclude, one per line "
                     "(ignored with a warning when it does not exist, as in NeuCo-Bench)."),
    ] = None,
    require_complete: Annotated[
        bool | None,
        typer.Option("--require_complete/--no-require_complete",
                     help="Make labelled ids without an embedding and empty label cells errors "
                     "(default: the YAML's require_complete; NeuCo-Bench scores around them)."),
    ] = None,
    store: Annotated[str | None, typer.Option("--store", help=StoreOption.help)] = None,
) -> None:
    """Run NeuCo-Bench v1.1's evaluation with its own flags, YAML config and output layout.

    Writes OUTPUT_DIR/PHASE/METHOD_NAME_<YYYYmmdd_HHMMSS>/ (results_summary.json, per-task
    <task>/<task>_result.json, loss curves, plots, probes) and, with update_leaderboard, the
    phase's leaderboard CSV; results also go to the store.

    Example: planetbench neuco --annotation_path labels/ --submission_file emb.csv
    --config sample_config_linear.yaml --phase dev --output_dir results
    """
    from planetbench.embedding.neuco import run_neuco
    from planetbench.store import ResultStore

    ResultStore(store).check_writable()  # a read-only store is refused before any compute
    run = run_neuco(
        submission_file=submission_file,
        annotation_path=annotation_path,
        config=config,
        method_name=method_name,
        phase=phase,
        output_dir=output_dir,
        exclude_file=exclude_file,
        require_complete=require_complete,
        store=store,
        progress=True,
    )
    for warning in run.warnings:
        err_console.print(f"warning: {warning}", highlight=False, soft_wrap=True, markup=False)
    console.print(_summary_table(run.summary))
    console.print(f"overall Q score (mean over tasks): {run.summary.mean_q:.2f}")
    console.print(f"results: {run.results_path}")
    if run.leaderboard is not None:
        for skipped in run.leaderboard.skipped:
            err_console.print(f"warning: not ranked, unreadable: {skipped}", highlight=False,
                              soft_wrap=True, markup=False)
        if run.leaderboard.path is None:
            err_console.print("no complete runs (each lacks a task's Q); nothing to rank",
                              highlight=False)
        else:
            console.print(f"leaderboard: {run.leaderboard.path}")
