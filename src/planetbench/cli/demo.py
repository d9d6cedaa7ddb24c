"""Commands ``planetbench demo`` (the offline SYNTHETIC demo) and ``planetbench embed``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from planetbench.cli._app import app, console, handle_errors

if TYPE_CHECKING:
    from planetbench.demo.real import RealDemoReport


def _synthetic_banner(text: str) -> Panel:
    return Panel.fit(
        f"[bold yellow]SYNTHETIC DEMO DATA[/]\n{text}",
        border_style="yellow",
        title="planetbench demo",
    )


@app.command("demo")
@handle_errors
def demo_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("planetbench-demo"),
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="Results store URL or SQLite path. Default: OUT/demo-results.sqlite, so "
            "synthetic results never mix with real ones.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of scenes, encoders and probes.")
    ] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="Fewer scenes, splits and epochs (a first look).")
    ] = False,
    dense: Annotated[
        bool,
        typer.Option("--dense/--no-dense", help="Also run the dense segmentation part."),
    ] = True,
    report: Annotated[
        bool, typer.Option("--report/--no-report", help="Write OUT/result.html at the end.")
    ] = True,
    real: Annotated[
        bool,
        typer.Option(
            "--real/--no-real",
            help="Also run the REAL part (Presto on real pixel time series) when its data is "
            "found (../shared/data/presto-weights-and-probe-tasks, or --real-root).",
        ),
    ] = True,
    real_root: Annotated[
        Path | None,
        typer.Option("--real-root", help="Folder holding presto-weights-and-probe-tasks."),
    ] = None,
    mars: Annotated[
        bool,
        typer.Option("--mars/--no-mars", help="Also run the Mars part (SYNTHETIC crater, cone "
                     "and boulder tasks under Mars-Bench's training types)."),
    ] = True,
) -> None:
    """Run the offline demo on SYNTHETIC scenes: random vs. averaging vs. MOSAIKS (and, when
    its data is there, a REAL part: Presto vs. its raw inputs).

    Example: planetbench demo --quick --out demo-out
    """
    from planetbench.demo.real import find_real_data
    from planetbench.demo.walkthrough import run_demo
    from planetbench.report.formats import format_leaderboard
    from planetbench.store import ResultStore
    from planetbench.tasks.demo import SYNTHETIC_NOTICE

    found_real = (real_root or find_real_data()) if real else None
    default_store = f"sqlite:///{(out / 'demo-results.sqlite').resolve()}"
    ResultStore(store if store is not None else default_store).check_writable()

    console.print(
        _synthetic_banner(
            "Scenes are drawn by a seeded generator (no download, no network). "
            "Scores show the pipeline works; they say nothing about real-world skill."
        )
    )
    result = run_demo(
        out=out, store=store, seed=seed, quick=quick, dense=dense, report=report,
        real_root=found_real, progress=True, mars=mars,
    )  # fmt: skip

    table = Table(title=f"Per-encoder results (SYNTHETIC, {result.n_splits} splits; mean ± std, Q)")
    table.add_column("encoder")
    tasks = sorted({t for s in result.summaries.values() for t in s.tasks})
    for task in tasks:
        table.add_column(task, justify="right")
    for encoder, summary in result.summaries.items():
        cells = []
        for task in tasks:
            res = summary.tasks.get(task)
            cells.append(
                "—"
                if res is None
                else f"{res.metric} {res.mean:.3f} ± {res.std:.3f}, Q {res.q:.1f}"
            )
        table.add_row(encoder, *cells)
    console.print(table)
    console.print(
        format_leaderboard(result.leaderboard, "table"), highlight=False, markup=False, soft_wrap=True
    )
    verdict = (
        "[green]an informative encoder ranks above random[/]"
        if result.best_informative_beats_random()
        else "[red]no informative encoder ranks above random[/]"
    )
    if result.dense is not None:
        title = "Dense segmentation on SYNTHETIC cryosphere scenes (mIoU; Cryo-Bench layout)"
        console.print(
            format_leaderboard(result.dense.leaderboard, "table", title=title),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if result.mars is not None:
        from planetbench.demo.mars import mars_demo_view

        title = ("Mars-like tasks on SYNTHETIC scenes (Mars-Bench's training types; planetbench's "
                 "metric per task and Mars-Bench's where it differs)")
        console.print(
            format_leaderboard(mars_demo_view(result.mars.leaderboard), "table", title=title),
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    if result.real is not None:
        _print_real(result.real)
    elif real:
        console.print(
            "[yellow]REAL part skipped:[/] ../shared/data/presto-weights-and-probe-tasks not "
            "found (pass --real-root DIR)"
        )
    secs = result.timings
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in secs.items())
    console.print(
        f"{verdict}\n"
        f"time: {steps}\n"
        f"files: {result.out} (data/, labels/, embeddings/, results/"
        f"{', dense/' if result.dense is not None else ''}"
        f"{', mars/' if result.mars is not None else ''}); store: {result.store}\n"
        + (f"report: {result.report}\n" if result.report is not None else "")
        + f"again: planetbench leaderboard --store {result.store} --suite demo --preset neuco\n"
        + f"[bold yellow]{SYNTHETIC_NOTICE}[/]",
        highlight=False,
    )


def _print_real(real: RealDemoReport) -> None:
    """The REAL part's panel and table (Presto vs. raw inputs on real pixel time series)."""
    from planetbench.report.formats import format_leaderboard

    console.print(Panel.fit(f"[bold green]REAL DATA — not synthetic[/]\n{real.notice}",
                            border_style="green", title="planetbench demo: real part"))  # fmt: skip
    table = Table(title=f"REAL: Presto vs. its raw inputs (probe on the upstream split; "
                        f"mean of {real.n_splits} random splits)")  # fmt: skip
    table.add_column("task", no_wrap=True)
    table.add_column("metric")
    for col in ("presto", "raw", f"{real.n_splits} splits: presto / raw", "embed s"):
        table.add_column(col, justify="right")
    for task, scores in real.tasks.items():
        up, rs = scores.upstream, scores.random_splits
        table.add_row(task, scores.metric, f"{up['presto']:.3f}", f"{up['presto-raw']:.3f}",
                      f"{rs['presto']:.3f} / {rs['presto-raw']:.3f}",
                      f"{scores.embed_seconds['presto']:.1f}")  # fmt: skip
    console.print(table)
    for task, board in real.leaderboards.items():
        console.print(
            format_leaderboard(board, "table",
                               title=f"REAL {task}: probe leaderboard (random splits; Q)"),
            highlight=False, markup=False, soft_wrap=True,
        )  # fmt: skip
    console.print(f"real files: {real.out}; stores: {', '.join(real.stores.values())}",
                  highlight=False)  # fmt: skip


@app.command("embed")
@handle_errors
def embed_cmd(
    encoder: Annotated[str, typer.Option("--encoder", help="Registered encoder id.")],
    tasks: Annotated[
        str, typer.Option("--tasks", help="Task id, or 'demo' for the SYNTHETIC demo scenes.")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="Output file ending in .csv or .parquet.")
    ],
    split: Annotated[
        str | None, typer.Option("--split", help="Only this split (default: all).")
    ] = None,
    root: Annotated[
        Path | None,
        typer.Option("--root", help="Folder holding the task's data (demo: generated if absent)."),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", min=0, help="Seed of the encoder's random parts.")
    ] = 0,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Images per batch.")
    ] = 64,
    device: Annotated[
        str | None, typer.Option("--device", help="torch device; default CUDA if present.")
    ] = None,
    tiny: Annotated[bool, typer.Option("--tiny", help="Build the encoder's tiny variant.")] = False,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="Checkpoint file (loaded strictly), 'none' for random (from-scratch baselines), "
            "default: the published weights (cache, else download).",
        ),
    ] = None,
    band_policy: Annotated[
        str,
        typer.Option(
            "--band-policy", help="Band alignment: auto, match, sar-rgb, wavelength, zero-fill."
        ),
    ] = "auto",
    labels: Annotated[
        Path | None,
        typer.Option(
            "--labels",
            help="Also write the task's NeuCo-Bench label file into this folder, for "
            "'planetbench probe --labels' (pixel-time-series tasks: presto suite).",
        ),
    ] = None,
) -> None:
    """Embed a task's images (or pixel time series) with an encoder into an embedding file.

    Example: planetbench embed --encoder presto --tasks presto-fuel-moisture
    --root ../shared/data/presto-weights-and-probe-tasks --out presto.csv --labels labels
    """
    from planetbench.embedding.embed import DEMO_SUITE, embed_task
    from planetbench.embedding.timeseries import write_task_labels
    from planetbench.tasks import get_task

    is_demo = tasks == DEMO_SUITE or get_task(tasks).spec.synthetic
    if is_demo:
        console.print(_synthetic_banner("Embedding generated scenes, not observations."))
    label_file = None
    if labels is not None:  # written first: a wrong task or root stops before any embedding
        label_file = write_task_labels(tasks, root, labels, split=split)
    path = embed_task(
        encoder,
        tasks,
        out=out,
        split=split,
        batch_size=batch_size,
        seed=seed,
        device=device,
        root=root,
        tiny=tiny,
        weights=weights,
        band_policy=band_policy,
    )
    console.print(f"wrote embeddings of {tasks!r} by {encoder!r} to {path}", highlight=False)
    if label_file is not None:
        console.print(
            f"wrote labels to {label_file}; next: planetbench probe {path} --labels {labels}",
            highlight=False,
        )


__all__ = ["demo_cmd", "embed_cmd"]
