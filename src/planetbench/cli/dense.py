"""`planetbench run`: train and evaluate dense (segmentation) runs, from a YAML grid or flags.

Runs execute in this process (``--executor local``, one after another) or as tasks on a Ray cluster
(``--executor ray``). Either way results are stored here as they come back. Failed runs do not stop
the grid (unless ``--fail-fast``): their tracebacks go to stderr, a summary names each of them, and
the exit code is 1. Bad input (files, names, options) exits with 2 before any run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from planetbench.cli._app import StoreOption, app, console, err_console, handle_errors
from planetbench.config import ExperimentSpec
from planetbench.runs.experiment import experiment_from_cli, make_executor

if TYPE_CHECKING:
    from planetbench.runs.runner import ExperimentSummary
    from planetbench.store import ResultStore

#: Exit code when the grid ran but some runs failed (their results are missing from the store).
EXIT_RUNS_FAILED = 1

def _say(line: str) -> None:
    """A status line of the runner, printed as plain text (no Rich markup)."""
    console.print(line, markup=False, highlight=False)


def _report(spec: ExperimentSpec, summary: ExperimentSummary, rs: ResultStore) -> None:
    """Print the runs executed now, where they went, and this experiment's table."""
    from planetbench.report.dense_leaderboard import dense_table
    from planetbench.report.formats import format_leaderboard
    from planetbench.runs.runner import planned_run_key

    for r in summary.results:
        score = "n/a" if r.score != r.score else f"{r.score:.4f}"
        console.print(f"{r.model} · {r.task} · {r.protocol} · f={r.fraction:g} · lr={r.lr:g} · "
                      f"seed={r.seed}: test mIoU {score}", markup=False, highlight=False)
    console.print(f"stored {len(summary.results)} result(s) in {rs.url}")
    keys = {planned_run_key(r) for r in spec.runs()}
    rows = rs.query(metric="miou")
    rows = rows[rows["run_key"].isin(keys)]
    if rows["score"].notna().any():
        table = dense_table(rows).reset_index()
        title = "This experiment (test mIoU; Cryo-Bench layout: per task, average, average rank)"
        console.print(format_leaderboard(table, "table", title=title), markup=False,
                      highlight=False)


ExperimentArgument = typer.Argument(
    None,
    help="Experiment YAML (a grid of encoders × tasks × protocols × fractions × lrs × seeds). "
    "Omit it to give one run with the flags below.",
)


@app.command("run")
@handle_errors
def run_cmd(
    experiment: Path | None = ExperimentArgument,
    encoder: str | None = typer.Option(None, help="Encoder id (single run)."),
    task: str | None = typer.Option(None, help="Task id (single run)."),
    protocol: str = typer.Option("frozen", help="frozen or finetune (single run)."),
    fraction: float = typer.Option(1.0, help="Share of the training split (single run)."),
    lr: float = typer.Option(1e-4, help="Learning rate (single run)."),
    seed: int = typer.Option(0, help="Seed (single run)."),
    root: str | None = typer.Option(None, help="Data folder of the task(s)."),
    input_size: int | None = typer.Option(None, help="Side (px) images are resized to [512]."),
    epochs: int | None = typer.Option(None, help="Maximum epochs [50]."),
    patience: int | None = typer.Option(None, help="Early-stopping patience [10]."),
    batch_size: int | None = typer.Option(None, help="Batch size [8]."),
    head: str | None = typer.Option(None, help="Head: upernet, unet or linear [upernet]."),
    band_policy: str | None = typer.Option(None, help="Band alignment policy [auto]."),
    cache: str | None = typer.Option(None, help="Frozen feature cache: memory, disk, none."),
    threads: int | None = typer.Option(
        None, "--threads", help="torch CPU threads per run (1 is often fastest on a shared CPU)."
    ),
    store: str | None = StoreOption,
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show progress."),
    executor: str | None = typer.Option(
        None, "--executor",
        help="Where runs execute: local (this process, one after another) or ray (Ray tasks on "
        "a cluster; needs pip install 'planetbench\\[ray]'). Default: the experiment file's executor, "
        "else local.",
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address",
        help="Ray cluster to join (auto, ray://head:10001, head:6379); default: start Ray here.",
    ),
    cpus_per_run: float | None = typer.Option(
        None, "--cpus-per-run", help="CPUs each Ray task reserves [1]."
    ),
    gpus_per_run: float | None = typer.Option(
        None, "--gpus-per-run",
        help="GPUs each Ray task reserves [0]; > 0 places runs on GPU nodes, where they use CUDA.",
    ),
    fail_fast: bool = typer.Option(
        False, "--fail-fast/--keep-going",
        help="Stop at the first failed run, or run the rest and list failures at the end.",
    ),
) -> None:
    """Train and evaluate encoders on segmentation tasks; results go to the store (resumable)."""
    from rich.markup import escape

    from planetbench.runs.runner import RunsFailedError, run_experiment
    from planetbench.store import ResultStore

    settings = {
        "root": root, "input_size": input_size, "epochs": epochs, "patience": patience,
        "batch_size": batch_size, "head": head, "band_policy": band_policy, "cache": cache,
        "num_threads": threads,
    }
    single = {"encoder": encoder, "task": task, "protocol": protocol, "fraction": fraction,
              "lr": lr, "seed": seed}
    spec = experiment_from_cli(experiment, single=single, overrides=settings)
    ex = make_executor(executor or spec.executor, ray_address=ray_address or spec.ray_address,
                       cpus_per_run=cpus_per_run, gpus_per_run=gpus_per_run)
    rs = ResultStore(store if store is not None else spec.store)
    rs.check_writable()  # a read-only store is refused before any compute
    try:
        summary = run_experiment(spec, store=rs, executor=ex, progress=progress,
                                 print_fn=_say, fail_fast=fail_fast)
    except RunsFailedError as exc:
        _report(spec, exc.summary, rs)
        for failure in exc.summary.failures:
            err_console.print(f"traceback of {failure}:\n{failure.traceback}", markup=False,
                              highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED) from None
    _report(spec, summary, rs)
