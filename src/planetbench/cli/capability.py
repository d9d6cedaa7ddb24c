"""``planetbench capability fit|predict|recommend|map``: the capability encoding from the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from typer.core import TyperCommand

from planetbench.capability.encoding import DISTANCES, CapabilityEncoder
from planetbench.capability.plot import PROJECTIONS, plot_map
from planetbench.capability.recommend import WEIGHTINGS, recommend
from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.report.capability_inputs import read_results_csv, stored_capability_results
from planetbench.report.output_paths import check_output_file

capability_app = typer.Typer(
    name="capability",
    help="Capability encoding: embed models and tasks, predict unmeasured scores, plan runs.",
    no_args_is_help=True,
)
app.add_typer(capability_app, name="capability")

EncodingPath = Annotated[
    Path, typer.Argument(help="Encoding file written by `planetbench capability fit`.")
]


def spread_values(args: list[str], options: tuple[str, ...]) -> list[str]:
    """Rewrite ``--opt A B`` as ``--opt A --opt B`` for each of ``options``.

    The values of such an option run up to the next token that starts with ``-`` (``--`` ends
    the options), so positional arguments go before it: ``predict cap.json --model A B``.
    """
    out: list[str] = []
    repeat: str | None = None  # the option whose values are being read
    expecting_value = False
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:]
        if arg.startswith("-"):
            name, has_value, _ = arg.partition("=")
            repeat = name if name in options else None
            expecting_value = repeat is not None and not has_value
            out.append(arg)
            continue
        if repeat is not None and not expecting_value:
            out.append(repeat)
        out.append(arg)
        expecting_value = False
    return out


class SeveralValuesCommand(TyperCommand):
    """A command whose ``--model`` and ``--task`` accept several values after one flag."""

    several: tuple[str, ...] = ("--model", "--task")

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:  # ctx: Typer's click Context
        """Spread ``--model A B`` into repeated options, then parse as usual."""
        return super().parse_args(ctx, spread_values(list(args), self.several))


def _print_frame(df: pd.DataFrame, title: str, *, wide: bool = False) -> None:
    """A table fitted to the terminal: names wrap (never cut into look-alikes)."""
    from planetbench.report.formats import format_leaderboard

    typer.echo(format_leaderboard(df, "table", title=title, wide=wide).rstrip("\n"))


@capability_app.command("fit")
@handle_errors
def fit_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSON file to write the fitted encoding to.")],
    store: str | None = StoreOption,
    suite: Annotated[str | None, typer.Option("--suite", help="Only results of this suite.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only results of this source (e.g. literature).")
    ] = None,
    protocol: Annotated[
        str | None, typer.Option("--protocol", help="Only results of this protocol.")
    ] = None,
    fraction: Annotated[
        float | None, typer.Option("--fraction", help="Only results at this training fraction.")
    ] = None,
    from_csv: Annotated[
        Path | None,
        typer.Option(
            "--from-csv",
            help="Read results from a CSV (model, task, score and metric or higher_is_better) "
            "instead of the store.",
        ),
    ] = None,
    dim: Annotated[int, typer.Option("--dim", help="Embedding dimension.")] = 5,
    distance: Annotated[
        str, typer.Option("--distance", help=f"Distance: {' | '.join(DISTANCES)}.")
    ] = "l2",
    min_results: Annotated[
        int, typer.Option("--min-results", help="Minimum results per model and per task.")
    ] = 5,
    n_ensemble: Annotated[
        int, typer.Option("--n-ensemble", help="Ensemble size (uncertainty).")
    ] = 5,
    seed: Annotated[int, typer.Option("--seed", help="Random seed.")] = 0,
) -> None:
    """Fit a capability encoding to stored (or CSV) results and save it as JSON.

    Example: planetbench capability fit --out cap.json --suite geobench2 --protocol finetune
    """
    check_output_file(out, option="--out", example="cap.json")
    if from_csv is not None:
        results = read_results_csv(from_csv, option="--from-csv")
    else:
        results = stored_capability_results(
            store, suite=suite, source=source, protocol=protocol, fraction=fraction
        )
    enc = CapabilityEncoder(
        dim=dim, distance=distance, min_results=min_results, n_ensemble=n_ensemble, seed=seed
    ).fit(results)
    enc.save(out)
    console.print(
        f"fitted {len(enc.models_)} models x {len(enc.tasks_)} tasks "
        f"({len(enc.observed_)} measured cells, {len(enc.dropped_)} dropped); "
        f"training loss {enc.point_loss_:.4g}; wrote {out}",
        highlight=False,
        soft_wrap=True,
    )


@capability_app.command("predict", cls=SeveralValuesCommand)
@handle_errors
def predict_cmd(
    encoding: EncodingPath,
    model: Annotated[
        list[str] | None,
        typer.Option("--model", help="Only these models: --model A B or --model A --model B."),
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option("--task", help="Only these tasks: --task T U or --task T --task U."),
    ] = None,
    include_measured: Annotated[
        bool,
        typer.Option("--include-measured/--no-include-measured", help="Also list measured cells."),
    ] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the predictions to this CSV.")
    ] = None,
    wide: Annotated[
        bool, typer.Option("--wide/--no-wide", help="Table: every column, however wide.")
    ] = False,
    place: Annotated[
        Path | None,
        typer.Option(
            "--place",
            help="CSV (model, task, score) of new models measured on a few tasks: each is placed "
            "in the encoding without refitting the others, then predicted on every task.",
        ),
    ] = None,
) -> None:
    """Predict scores (with ensemble uncertainty) of model x task pairs.

    Example: planetbench capability predict cap.json --model resnet50 vit_base --out pred.csv
    """
    if out is not None:
        check_output_file(out, option="--out", example="predictions.csv")
    enc = CapabilityEncoder.load(encoding)
    if place is not None:
        placed = enc.place_models(
            read_results_csv(place, option="--place", columns=("model", "task", "score"))
        )
        model = model or placed
    models = list(model) if model else enc.models_
    tasks = list(task) if task else enc.tasks_
    pred = enc.predict([(m, t) for m in models for t in tasks])
    if not include_measured:
        pred = pred[~pred["measured"]]
    if out is not None:
        pred.to_csv(out, index=False)
        console.print(f"wrote {len(pred)} predictions to {out}", highlight=False)
    elif pred.empty:
        console.print(
            "every requested pair is measured; add --include-measured to list them",
            highlight=False,
        )
    else:
        _print_frame(
            pred[["model", "task", "metric", "score_mean", "score_std", "score_measured"]],
            f"predicted scores ({len(pred)} pairs; score_std: spread of the ensemble)",
            wide=wide,
        )


@capability_app.command("recommend")
@handle_errors
def recommend_cmd(
    encoding: EncodingPath,
    n: Annotated[int, typer.Option("-n", "--n", help="Number of runs to suggest.")] = 5,
    weighting: Annotated[
        str, typer.Option("--weighting", help=f"Priority: {' | '.join(WEIGHTINGS)}.")
    ] = "variance",
) -> None:
    """Suggest the next (model, task) runs that most reduce prediction uncertainty.

    Example: planetbench capability recommend cap.json -n 10 --weighting shared
    """
    enc = CapabilityEncoder.load(encoding)
    rec = recommend(enc, n=n, weighting=weighting)
    _print_frame(
        rec[["model", "task", "score_mean", "score_std", "priority"]], f"next {len(rec)} runs"
    )


@capability_app.command("map")
@handle_errors
def map_cmd(
    encoding: EncodingPath,
    out: Annotated[Path, typer.Option("--out", help="PNG file to write.")],
    projection: Annotated[
        str, typer.Option("--projection", help=f"Projection: {' | '.join(PROJECTIONS)}.")
    ] = "pca",
) -> None:
    """Draw models and tasks on a 2-D map and save it as PNG.

    Example: planetbench capability map cap.json --out map.png
    """
    check_output_file(out, option="--out", example="map.png")
    enc = CapabilityEncoder.load(encoding)
    plot_map(enc, path=out, projection=projection)
    console.print(f"wrote {out}", highlight=False)
