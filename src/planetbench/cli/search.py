"""`planetbench search`: Mars-Bench's hyper-parameter search on validation, then seeds."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

import typer

from planetbench.cli._app import StoreOption, app, console, err_console, handle_errors
from planetbench.errors import ConfigError

if TYPE_CHECKING:
    from planetbench.runs.search import SearchSummary
    from planetbench.store import ResultStore

SEARCH_EXAMPLE = """Examples:

  planetbench search --encoder mb-resnet101 --task mb-domars16k --root /data/marsbench

  planetbench search --encoder tiny-conv --task mb-frost_cls --root data --budget tiny --seeds 0,1

  planetbench search --encoder dofa-base --task mb-boulder_det --root data --method grid \\
      --space lr=1e-3,1e-4 --space optimizer=adamw --executor ray
"""

#: Exit code when some seed runs failed (the others are stored).
EXIT_RUNS_FAILED = 1


def parse_space(items: list[str]) -> dict[str, list[Any]] | None:
    """``["lr=1e-3,1e-4", "optimizer=adamw"]`` → ``{"lr": [0.001, 0.0001], "optimizer":
    ["adamw"]}`` (numbers read as numbers); None when empty.

    Raises:
        ConfigError: an item without ``=`` or without values.
    """
    if not items:
        return None
    space: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise ConfigError(f"--space {item!r}: write SETTING=V1,V2 (e.g. --space lr=1e-3,1e-4)")
        space[key.strip()] = [_number(v.strip()) for v in values.split(",") if v.strip()]
    return space


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def parse_seeds(text: str | None) -> list[int] | None:
    """``"0,1,10"`` → ``[0, 1, 10]``; ``"none"`` → ``[]`` (search only); None when not given.

    Raises:
        ConfigError: not comma-separated non-negative integers.
    """
    if text is None:
        return None
    if text.strip().lower() == "none":
        return []
    try:
        seeds = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: give comma-separated integers (e.g. 0,1,10,42) "
                          "or none") from None
    if not seeds or min(seeds) < 0:
        raise ConfigError(f"--seeds {text!r}: give non-negative integers (e.g. 0,1,10,42)")
    return seeds


def _print_seeds(summary: SearchSummary, rs: ResultStore) -> None:
    if not summary.seed_keys:
        return
    rows = rs.query(run_key=summary.seed_keys).sort_values("seed")
    scores = [float(s) for s in rows["score"] if s is not None and not math.isnan(float(s))]
    metric = str(rows["metric"].iloc[0]) if len(rows) else summary.metric
    for r in rows.itertuples():
        mb = r.metrics.get("marsbench_metric")
        extra = (f" · Mars-Bench's {mb} {r.metrics[mb]:.4f}"
                 if mb and mb != metric and r.metrics.get(mb) is not None else "")
        console.print(f"  seed {r.seed}: test {metric} {r.score:.4f}{extra}", markup=False,
                      highlight=False)
    if scores:
        mean = sum(scores) / len(scores)
        std = math.sqrt(sum((s - mean) ** 2 for s in scores) / max(1, len(scores) - 1))
        console.print(f"test {metric} over {len(scores)} seed(s): mean {mean:.4f} ± {std:.4f} "
                      "(sample std)", markup=False, highlight=False)


@app.command("search", epilog=SEARCH_EXAMPLE)
@handle_errors
def search_cmd(
    encoder: Annotated[str, typer.Option(help="Encoder id.")],
    task: Annotated[str, typer.Option(help="Task id.")],
    root: Annotated[str | None, typer.Option(help="Data folder of the task.")] = None,
    protocol: Annotated[
        str, typer.Option(help="frozen, finetune or scratch (Mars-Bench's feature_extraction, "
                          "transfer_learning, scratch_training).")
    ] = "frozen",
    fraction: Annotated[float, typer.Option(help="Share of the training split.")] = 1.0,
    method: Annotated[str, typer.Option(help="optuna (TPE, pruning) or grid.")] = "optuna",
    n_trials: Annotated[
        int | None, typer.Option(min=1, help="Optuna trials [30; tiny budget 3]; grid: a cap.")
    ] = None,
    budget: Annotated[
        str, typer.Option(help="full (Mars-Bench's space) or tiny (1-2 epochs, batch 4: tests).")
    ] = "full",
    space: Annotated[
        list[str] | None,
        typer.Option(help="SETTING=V1,V2 (repeatable) instead of Mars-Bench's space, e.g. "
                     "lr=1e-3,1e-4."),
    ] = None,
    seeds: Annotated[
        str | None,
        typer.Option(help="Seeds of the chosen configuration [0,1,10,42,123,1000,1234]; none: "
                     "search only."),
    ] = None,
    search_seed: Annotated[int, typer.Option(min=0, help="Seed of the sampler and trials.")] = 0,
    pruning: Annotated[
        bool, typer.Option("--pruning/--no-pruning",
                           help="Optuna's median pruner (runs in this process only).")
    ] = True,
    batch: Annotated[
        int, typer.Option(min=1, help="Trials asked at once (run side by side on Ray).")
    ] = 1,
    input_size: Annotated[
        int | None, typer.Option(help="Side (px) images are resized to.")
    ] = None,
    head: Annotated[str | None, typer.Option(help="Head id (default: the kind's).")] = None,
    normalisation: Annotated[
        str | None, typer.Option(help="imagenet, band-stats or auto [auto].")
    ] = None,
    num_threads: Annotated[int | None, typer.Option(help="torch CPU threads per run.")] = None,
    store: Annotated[str | None, typer.Option("--store", help=StoreOption.help)] = None,
    executor: Annotated[str, typer.Option(help="local or ray.")] = "local",
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster to join.")] = None,
    cpus_per_run: Annotated[float | None, typer.Option(help="CPUs per Ray task.")] = None,
    gpus_per_run: Annotated[float | None, typer.Option(help="GPUs per Ray task.")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show progress.")] = True,
) -> None:
    """Search hyper-parameters on the validation split, then run the best with seeds.

    Every trial and every seed run is a run in the store; running the same search again skips
    what is stored. Trials are stored under the suite <suite>-search, seed runs under the suite.

    Example: planetbench search --encoder mb-resnet101 --task mb-domars16k --root /data/marsbench
    """
    from rich.markup import escape

    from planetbench.config import DenseRunConfig, validate_config
    from planetbench.runs.experiment import make_executor
    from planetbench.runs.runner import RunsFailedError
    from planetbench.runs.search import SearchSettings, format_search, run_search
    from planetbench.store import ResultStore

    base_values = {"encoder": encoder, "task": task, "root": root, "protocol": protocol,
                   "fraction": fraction, "input_size": input_size, "head": head,
                   "normalisation": normalisation, "num_threads": num_threads}
    base: DenseRunConfig = validate_config(
        DenseRunConfig, {k: v for k, v in base_values.items() if v is not None},
        source="command line")
    settings_values: dict[str, Any] = {
        "method": method, "n_trials": n_trials, "budget": budget, "space": parse_space(space or []),
        "seed": search_seed, "pruning": pruning, "batch": batch, "seeds": parse_seeds(seeds)}
    settings: SearchSettings = validate_config(
        SearchSettings, {k: v for k, v in settings_values.items() if v is not None},
        source="command line")
    ex = make_executor(executor, ray_address=ray_address, cpus_per_run=cpus_per_run,
                       gpus_per_run=gpus_per_run)
    rs = ResultStore(store)
    rs.check_writable()

    def say(line: str) -> None:
        console.print(line, markup=False, highlight=False)

    try:
        summary = run_search(base, settings, store=rs, executor=ex, progress=progress,
                             print_fn=say)
    except RunsFailedError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False,
                          soft_wrap=True)
        raise typer.Exit(EXIT_RUNS_FAILED) from None
    for line in format_search(summary):
        say(line)
    _print_seeds(summary, rs)
    say(f"stored in {rs.url}")


__all__ = ["parse_seeds", "parse_space", "search_cmd"]
