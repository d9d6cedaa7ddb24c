"""``planetbench capability fit|predict|recommend|map``: the capability encoding from the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.table import Table

from planetbench.capability.encoding import DISTANCES, CapabilityEncoder
from planetbench.capability.plot import PROJECTIONS, plot_map
from planetbench.capability.recommend import WEIGHTINGS, recommend
from planetbench.cli._app import StoreOption, app, console, handle_errors
from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore

capability_app = typer.Typer(
    name="capability",
    help="Capability encoding: embed models and tasks, predict unmeasured scores, plan runs.",
    no_args_is_help=True,
)
app.add_typer(capability_app, name="capability")

EncodingPath = Annotated[
    Path, typer.Argument(help="Encoding file written by `planetbench capability fit`.")
]


def _results_from_store(
    store: str | None,
    suite: str | None,
    source: str | None,
    protocol: str | None,
    fraction: float | None,
) -> pd.DataFrame:
    """Tidy rows (model, task, metric, score) of the store; one condition per (model, task)."""
    rs = ResultStore(store)
    filters = {"suite": suite, "source": source, "protocol": protocol, "fraction": fraction}
    rows = rs.query(**filters)
    shown = ", ".join(f"{k}={v!r}" for k, v in filters.items() if v is not None) or "no filter"
    if rows.empty:
        raise InvalidInputError(
            f"the store {rs.url} holds no results for {shown}; import some with "
            "`planetbench import FILE` or loosen the filters"
        )
    rows = rows[rows["score"].notna()]
    conditions = rows.assign(fraction=rows["fraction"].fillna(-1.0)).groupby(
        ["model", "task"]
    )[["suite", "source", "protocol", "fraction", "metric"]].nunique()
    mixed = conditions[(conditions > 1).any(axis=1)]
    if not mixed.empty:
        (model, task), counts = next(iter(mixed.iterrows()))
        what = [c for c in counts.index if counts[c] > 1]
        raise InvalidInputError(
            f"the results ({shown}) mix several {'/'.join(what)} values for the same model and "
            f"task (e.g. model {model!r} on task {task!r}; {len(mixed)} such cell(s)); a cell "
            "must be one experimental condition: choose one with --suite, --source, --protocol "
            "and --fraction"
        )
    return rows.rename(columns={"model": "model"})[["model", "task", "metric", "score"]]


def _print_frame(df: pd.DataFrame, title: str) -> None:
    table = Table(title=title)
    for col in df.columns:
        table.add_column(str(col))
    for rec in df.itertuples(index=False):
        table.add_row(*[f"{v:.4g}" if isinstance(v, float) else str(v) for v in rec])
    console.print(table)


@capability_app.command("fit")
@handle_errors
def fit_cmd(
    out: Annotated[Path, typer.Option("--out", help="JSON file to write the fitted encoding to.")],
    store: str | None = StoreOption,
    suite: Annotated[str | None, typer.Option(help="Only results of this suite.")] = None,
    source: Annotated[
        str | None, typer.Option(help="Only results of this source (e.g. literature).")
    ] = None,
    protocol: Annotated[str | None, typer.Option(help="Only results of this protocol.")] = None,
    fraction: Annotated[
        float | None, typer.Option(help="Only results at this training fraction.")
    ] = None,
    from_csv: Annotated[
        Path | None,
        typer.Option(
            "--from-csv",
            help="Read results from a CSV (model, task, score and metric or higher_is_better) "
            "instead of the store.",
        ),
    ] = None,
    dim: Annotated[int, typer.Option(help="Embedding dimension.")] = 5,
    distance: Annotated[str, typer.Option(help=f"Distance: {' | '.join(DISTANCES)}.")] = "l2",
    min_results: Annotated[int, typer.Option(help="Minimum results per model and per task.")] = 5,
    n_ensemble: Annotated[int, typer.Option(help="Ensemble size (uncertainty).")] = 5,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Fit a capability encoding to stored (or CSV) results and save it as JSON."""
    if from_csv is not None:
        if not from_csv.is_file():
            raise InvalidInputError(f"--from-csv file {str(from_csv)!r} does not exist")
        try:
            results = pd.read_csv(from_csv)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"cannot read {str(from_csv)!r} as CSV: {exc}") from exc
    else:
        results = _results_from_store(store, suite, source, protocol, fraction)
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


def _place_models(enc: CapabilityEncoder, path: Path) -> list[str]:
    """Place every model of the CSV at ``path`` into ``enc``; return their names."""
    if not path.is_file():
        raise InvalidInputError(f"--place file {str(path)!r} does not exist")
    try:
        measured = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    missing = [c for c in ("model", "task", "score") if c not in measured.columns]
    if missing:
        raise InvalidInputError(
            f"--place file {str(path)!r} lacks column(s) {missing}; it needs model, task, score "
            "(one row per measured task of each new model)"
        )
    names = list(dict.fromkeys(measured["model"].astype(str)))
    for name in names:
        own = measured[measured["model"].astype(str) == name]
        enc.place_model(name, own[["task", "score"]])
    return names


@capability_app.command("predict")
@handle_errors
def predict_cmd(
    encoding: EncodingPath,
    model: Annotated[
        list[str] | None, typer.Option("--model", help="Only these models (repeat).")
    ] = None,
    task: Annotated[
        list[str] | None, typer.Option("--task", help="Only these tasks (repeat).")
    ] = None,
    include_measured: Annotated[bool, typer.Option(help="Also list measured cells.")] = False,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the predictions to this CSV.")
    ] = None,
    place: Annotated[
        Path | None,
        typer.Option(
            "--place",
            help="CSV (model, task, score) of new models measured on a few tasks: each is placed "
            "in the encoding without refitting the others, then predicted on every task.",
        ),
    ] = None,
) -> None:
    """Predict scores (with ensemble uncertainty) of model x task pairs."""
    enc = CapabilityEncoder.load(encoding)
    placed: list[str] = []
    if place is not None:
        placed = _place_models(enc, place)
        if not model:
            model = placed
    models = list(model) if model else enc.models_
    tasks = list(task) if task else enc.tasks_
    pairs = [(m, t) for m in models for t in tasks]
    pred = enc.predict(pairs)
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
            pred[["model", "task", "score_mean", "score_std", "score_measured"]],
            f"predicted scores ({len(pred)} pairs)",
        )


@capability_app.command("recommend")
@handle_errors
def recommend_cmd(
    encoding: EncodingPath,
    n: Annotated[int, typer.Option("-n", "--n", help="Number of runs to suggest.")] = 5,
    weighting: Annotated[
        str, typer.Option(help=f"Priority: {' | '.join(WEIGHTINGS)}.")
    ] = "variance",
) -> None:
    """Suggest the next (model, task) runs that most reduce prediction uncertainty."""
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
        str, typer.Option(help=f"Projection: {' | '.join(PROJECTIONS)}.")
    ] = "pca",
) -> None:
    """Draw models and tasks on a 2-D map and save it as PNG."""
    enc = CapabilityEncoder.load(encoding)
    plot_map(enc, path=out, projection=projection)
    console.print(f"wrote {out}", highlight=False)
