"""`planetbench run`: train and evaluate runs (segmentation, classification, detection tasks), from a
YAML grid or flags.

Runs execute in this process (``--executor local``, one after another) or as tasks on a Ray cluster
(``--executor ray``). Either way results are stored here as they come back. Failed runs do not stop
the grid (unless ``--fail-fast``): their tracebacks go to stderr, a summary names each of them, and
the exit code is 1. Bad input (files, names, options, missing weights, a first run that would not
fit in memory) exits with 2 before any run starts.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planetbench.cli._app import (
    StoreOption,
    alias,
    app,
    console,
    err_console,
    handle_errors,
)
from planetbench.config import ExperimentSpec
from planetbench.runs.experiment import experiment_from_cli, make_executor, parse_weights

if TYPE_CHECKING:
    from planetbench.runs.runner import ExperimentSummary
    from planetbench.store import Result, ResultStore

#: Exit code when the grid ran but some runs failed (their results are missing from the store).
EXIT_RUNS_FAILED = 1


#: How the run summary names a stored metric.
_METRIC_LABELS = {"miou": "mIoU", "miou_cryobench": "mIoU (Cryo-Bench's convention)"}

def _say(line: str) -> None:
    """A status line of the runner, printed as plain text (no Rich markup)."""
    console.print(line, markup=False, highlight=False)


def _report(spec: ExperimentSpec, summary: ExperimentSummary, rs: ResultStore) -> None:
    """Print the runs executed now, where they went, this experiment's table per protocol, and
    the learning-rate tuning of a grid over several rates."""
    from planetbench.report.dense_leaderboard import dense_table
    from planetbench.report.formats import format_leaderboard
    from planetbench.runs.lr_tune import lr_tuning
    from planetbench.runs.runner import planned_run_key

    for r in summary.results:
        console.print(f"{r.model} · {r.task} · {r.protocol} · f={r.fraction:g} · lr={r.lr:g} · "
                      f"seed={r.seed}: {_scores(r)}", markup=False, highlight=False)
    console.print(f"stored {len(summary.results)} result(s) in {rs.url}")
    keys = {planned_run_key(r) for r in spec.runs()}
    rows = rs.query()
    rows = rows[rows["run_key"].isin(keys)]
    for (protocol, metric), part in rows.groupby(["protocol", "metric"], sort=True):
        if not part["score"].notna().any():
            continue
        table = dense_table(part, metric=str(metric)).reset_index()
        label = _METRIC_LABELS.get(str(metric), str(metric))
        title = (f"This experiment, {protocol} (test {label}; Cryo-Bench layout: per task, "
                 "average, average rank)")
        console.print(format_leaderboard(table, "table", title=title), markup=False,
                      highlight=False)
    tuning = lr_tuning(rows)
    if not tuning.empty:
        console.print(format_leaderboard(tuning, "table", title=tuning.attrs["title"]),
                      markup=False, highlight=False)


def _scores(r: Result) -> str:
    """``test mIoU 0.61``, or for an image run ``test f1 0.81 (Mars-Bench's f1_weighted_mb
    0.81)``: the stored score, and Mars-Bench's reported metric beside it when it differs."""
    score = "n/a" if r.score != r.score else f"{r.score:.4f}"
    name = _METRIC_LABELS.get(r.metric, r.metric)
    text = f"test {name} {score}"
    mb = r.metrics.get("marsbench_metric")
    if mb and mb != r.metric:
        value = r.metrics.get(mb)
        text += f" (Mars-Bench's {mb} {'n/a' if value is None else f'{value:.4f}'})"
    return text


RUN_EXAMPLE = """Examples:

  planetbench run experiment.yaml --store results.sqlite --num-threads 1

  planetbench run --encoder unet --task glid --root /data/glid --protocol finetune --epochs 20

  planetbench run --encoder dofa-base-cryobench --task glid --root /data/glid --protocol
  cryobench --weights dofa-base-cryobench=DOFA_ViT_base_e100.pth

  planetbench run --encoder mb-resnet101 --task mb-domars16k --root /data/marsbench --protocol frozen

  planetbench run --encoder mb-unet --task mb-conequest_seg --root /data/marsbench --loss combined
"""


@app.command("run", epilog=RUN_EXAMPLE)
@handle_errors
def run_cmd(
    experiment: Annotated[
        Path | None,
        typer.Argument(
            help="Experiment YAML (a grid of encoders × tasks × protocols × fractions × lrs × "
            "seeds). Omit it to give one run with the flags below.",
        ),
    ] = None,
    encoder: Annotated[str | None, typer.Option(
        help="Encoder id, or a whole-model baseline of Mars-Bench (mb-unet, mb-faster-rcnn …: "
        "planetbench encoders lists both) (single run).")] = None,
    task: Annotated[str | None, typer.Option(help="Task id (single run).")] = None,
    protocol: Annotated[
        str,
        typer.Option(help="Protocol: frozen, finetune, scratch (Mars-Bench's feature_extraction, "
                     "transfer_learning, scratch_training), cryobench (Cryo-Bench's training and "
                     "scoring), cryobench-finetune or a plugin's (single run)."),
    ] = "frozen",
    fraction: Annotated[
        float, typer.Option(help="Share of the training split (single run).")
    ] = 1.0,
    lr: Annotated[float, typer.Option(help="Learning rate (single run).")] = 1e-4,
    seed: Annotated[int, typer.Option(help="Seed (single run).")] = 0,
    root: Annotated[str | None, typer.Option(help="Data folder of the task(s).")] = None,
    input_size: Annotated[
        int | None,
        typer.Option(help="Side (px) images are resized to [512; cryobench: the encoder's "
                     "input size, the window of its crops and sliding windows]."),
    ] = None,
    epochs: Annotated[
        int | None, typer.Option(help="Maximum epochs [50; cryobench: 80].")
    ] = None,
    patience: Annotated[
        int | None,
        typer.Option(help="Early-stopping patience [10; cryobench: none, not allowed]."),
    ] = None,
    batch_size: Annotated[int | None, typer.Option(help="Batch size [8].")] = None,
    head: Annotated[
        str | None,
        typer.Option(help="Head: upernet, unet, linear or a plugin's [upernet; cryobench: "
                     "Cryo-Bench's decoder, not to be changed]."),
    ] = None,
    band_policy: Annotated[
        str | None,
        typer.Option(help="Band policy: auto, match, sar-rgb, wavelength, zero-fill, cryobench or "
                     "a plugin's [auto; cryobench: cryobench]."),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option("--weights",
                     help="Local weights file of an encoder, as ENCODER=PATH (repeatable; a bare "
                     "PATH when the grid has one encoder): loaded strictly instead of the cache "
                     "or a download, e.g. offline."),
    ] = None,
    memory_check: Annotated[
        bool,
        typer.Option("--memory-check/--no-memory-check",
                     help="Refuse a grid whose training step would not fit in this machine's "
                     "memory (estimated before any run), naming an input size or batch size "
                     "that would."),
    ] = True,
    cache: Annotated[
        str | None,
        typer.Option(help="Frozen feature cache mode: memory, disk, none or a plugin's "
                     "[memory]."),
    ] = None,
    normalisation: Annotated[
        str | None,
        typer.Option(help="Classification/detection/whole-model inputs: imagenet (Mars-Bench), "
                     "band-stats, "
                     "or auto [auto: imagenet for encoders with ImageNet weights]."),
    ] = None,
    optimizer: Annotated[
        str | None, typer.Option(
            help="Classification/detection/whole models: adam, adamw, sgd [adamw].")
    ] = None,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Classification/detection/whole models: none, cosine, step, plateau "
                     "[none]."),
    ] = None,
    loss: Annotated[
        str | None,
        typer.Option(help="Classification: default, bce (binary: one logit), ce (binary: two "
                     "logits); whole-model segmenters: ce, generalized_dice(_simple|_uniform), "
                     "combined (Mars-Bench's) [default]."),
    ] = None,
    monitor: Annotated[
        str | None,
        typer.Option(help="Classification/detection/whole models: best checkpoint by "
                     "validation score or "
                     "loss (Mars-Bench) [score]."),
    ] = None,
    num_threads: Annotated[
        int | None,
        typer.Option(help="torch CPU threads per run (1 is often fastest on a shared CPU)."),
    ] = None,
    threads: Annotated[int | None, typer.Option("--threads", hidden=True)] = None,
    store: Annotated[str | None, typer.Option("--store", help=StoreOption.help)] = None,
    progress: Annotated[bool, typer.Option(help="Show progress.")] = True,
    executor: Annotated[
        str | None,
        typer.Option(
            help="Where runs execute: local (this process, one after another) or ray (Ray tasks "
            "on a cluster; needs pip install 'planetbench[ray]'). Default: the experiment "
            "file's executor, else local.",
        ),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option(help="Ray cluster to join (auto, ray://head:10001, head:6379); default: "
                     "start Ray here."),
    ] = None,
    cpus_per_run: Annotated[
        float | None, typer.Option(help="CPUs each Ray task reserves [1].")
    ] = None,
    gpus_per_run: Annotated[
        float | None,
        typer.Option(help="GPUs each Ray task reserves [0]; > 0 places runs on GPU nodes, "
                     "where they use CUDA."),
    ] = None,
    fail_fast: Annotated[
        bool,
        typer.Option(help="Stop at the first failed run, or (--no-fail-fast) run the rest and "
                     "list failures at the end."),
    ] = False,
    keep_going: Annotated[bool, typer.Option("--keep-going", hidden=True)] = False,
) -> None:
    """Train and evaluate encoders on segmentation, classification and detection tasks; results
    go to the store (resumable).

    The whole grid is checked first (names, data folders, options, weights, the memory of a
    training step): every problem is listed and nothing runs until they are fixed. Settings not
    given take the protocol's defaults; every result records its protocol.

    Example: planetbench run experiment.yaml --store results.sqlite
    """
    from rich.markup import escape

    from planetbench.runs.runner import RunsFailedError, run_experiment
    from planetbench.store import ResultStore

    settings = {
        "root": root, "input_size": input_size, "epochs": epochs, "patience": patience,
        "batch_size": batch_size, "head": head, "band_policy": band_policy, "cache": cache,
        "normalisation": normalisation, "optimizer": optimizer, "scheduler": scheduler,
        "loss": loss, "monitor": monitor,
        "num_threads": alias("--num-threads", num_threads, "--threads", threads),
        "memory_check": None if memory_check else False,
        "weights": parse_weights(weights or []),
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
                                 print_fn=_say, fail_fast=fail_fast and not keep_going)
    except RunsFailedError as exc:
        _report(spec, exc.summary, rs)
        for failure in exc.summary.failures:
            err_console.print(f"traceback of {failure}:\n{failure.traceback}", markup=False,
                              highlight=False, soft_wrap=True)
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED) from None
    _report(spec, summary, rs)


