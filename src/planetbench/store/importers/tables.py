"""Import published results (papers, leaderboards) into the results store.

The *long schema* is one row per (model, task, seed …) result:

============  ========  ==============================================================
column        required  meaning
============  ========  ==============================================================
model         yes       model / encoder / submission name (stored as ``Result.model``)
task          yes       task (dataset) id
metric        yes       name of the score's metric (``miou``, ``RMSE`` …)
score         yes       the value, a finite number
seed          no        integer seed of the run
protocol      no        ``frozen``, ``finetune``, ``probe`` … (default ``literature``)
fraction      no        share of the training split used, in (0, 1]
suite         no        suite id (default empty)
source        no        where the number comes from (default: the ``source`` argument of
                        :func:`import_results`, ``literature`` unless told otherwise)
lr            no        learning rate
file          no        provenance: file the row was read from (set by the readers)
row           no        provenance: 1-based data row (or line) in that file
details       no        provenance: JSON object of further facts (decoder, submission …)
============  ========  ==============================================================

Readers for real published tables turn their own layouts into this schema:
:func:`read_geobench2` (GEO-Bench-2 leaderboard submissions), :func:`read_geobench_v1`
(GEO-Bench v1 segmentation baselines) and :func:`read_cryobench` (the Cryo-Bench README table).
:func:`detect_and_read` picks the reader from the path and the columns, and
:func:`import_results` writes the rows to a :class:`~planetbench.store.ResultStore` in one
transaction.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planetbench.config import config_hash
from planetbench.errors import InvalidInputError
from planetbench.stats.normalise import metric_higher_is_better
from planetbench.store.result import Result, run_key
from planetbench.store.store import ResultStore

REQUIRED_COLUMNS: tuple[str, ...] = ("model", "task", "metric", "score")
OPTIONAL_COLUMNS: tuple[str, ...] = ("seed", "protocol", "fraction", "suite", "source", "lr")
PROVENANCE_COLUMNS: tuple[str, ...] = ("file", "row", "details")
LONG_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + PROVENANCE_COLUMNS

#: Formats understood by :func:`detect_and_read` and ``planetbench import --format``.
FORMATS: tuple[str, ...] = ("auto", "long", "geobench2", "geobench-v1", "cryobench")

_MAX_LISTED_ROWS = 10

#: GEO-Bench-2 metric names (TerraTorch logger keys) -> planetbench metric names, whose direction
#: :func:`planetbench.stats.normalise.metric_higher_is_better` knows. The upstream name is kept in
#: ``details["metric_upstream"]``.
GEOBENCH2_METRICS: dict[str, str] = {
    "Multiclass_Jaccard_Index": "miou",
    "Overall_Accuracy": "accuracy",
    "Multilabel_F1_Score": "f1_multilabel",
    "test_test_map": "map",
    "test_test_segm_map": "map_segm",
    "RMSE": "rmse",
}

#: GEO-Bench-2 ``frozen_or_full_ft`` values -> planetbench protocols.
GEOBENCH2_PROTOCOLS: dict[str, str] = {"full_ft": "finetune", "frozen": "frozen"}

#: GEO-Bench-2 submissions that re-run backbones of another submission under a different input
#: setting; their model names get this suffix so that one model name is one experimental
#: condition. 2ce4a907 adds Sentinel-1 VV/VH to the inputs of three backbones and keeps the
#: better of S1+S2 and S2-only (its ``additional_info.json``).
GEOBENCH2_VARIANTS: dict[str, str] = {"2ce4a907-7ae3-45d3-a07a-558f8d0d758b": "+s1s2"}

#: Cryo-Bench task columns, in the order of the published table.
CRYOBENCH_TASKS: tuple[str, ...] = ("glid", "gld", "sicd", "caffe", "gsdd")


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    more = f" and {len(rows) - _MAX_LISTED_ROWS} more" if len(rows) > _MAX_LISTED_ROWS else ""
    return f"{shown}{more}"


def validate_long(df: pd.DataFrame, *, where: str = "the results table") -> pd.DataFrame:
    """Check a long-schema table and return a clean copy with typed columns.

    Args:
        df: one row per result with at least ``model, task, metric, score``.
        where: how to name the table in error messages (e.g. the file path).

    Returns:
        A copy with every column of :data:`LONG_COLUMNS` present: ``score``, ``fraction`` and
        ``lr`` as float, ``seed`` as nullable integer, strings stripped, defaults filled
        (``protocol="literature"``, ``suite=""``, ``details="{}"``); an empty ``source`` stays
        ``""`` (not stated) and is filled by :func:`import_results`.
        Rows are numbered 1-based (as data rows after the header) in ``row`` when missing.

    Raises:
        InvalidInputError: missing or unknown columns, empty names, metrics of unknown direction,
            non-numeric / NaN / infinite scores, bad seeds, fractions outside (0, 1], or ``details`` that is not a JSON object;
            the message names the offending rows.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{where} lacks required column(s) {missing}; the long schema needs "
            f"{list(REQUIRED_COLUMNS)} and allows {list(OPTIONAL_COLUMNS + PROVENANCE_COLUMNS)}"
        )
    unknown = [c for c in df.columns if c not in LONG_COLUMNS]
    if unknown:
        raise InvalidInputError(
            f"{where} has unknown column(s) {unknown}; allowed columns are {list(LONG_COLUMNS)}. "
            "Rename or drop them (a typo such as 'Score' or 'dataset' is a common cause)."
        )
    if df.empty:
        raise InvalidInputError(f"{where} has no rows; nothing to import")
    out = df.copy().reset_index(drop=True)
    if "row" not in out.columns:
        out["row"] = range(1, len(out) + 1)
    row_ids = out["row"].tolist()

    for col in ("model", "task", "metric"):
        text = out[col].astype("string").str.strip()
        bad = [row_ids[i] for i, v in enumerate(text) if pd.isna(v) or v == ""]
        if bad:
            raise InvalidInputError(
                f"{where}: column {col!r} is empty in row(s) {_rows_text(bad)}; every row needs a "
                f"{col}"
            )
        out[col] = text.astype(str)

    directions_unknown = []
    for name in out["metric"].unique():
        try:
            metric_higher_is_better(name)
        except InvalidInputError:
            directions_unknown.append(name)
    if directions_unknown:
        bad = [row_ids[i] for i, v in enumerate(out["metric"]) if v in directions_unknown]
        raise InvalidInputError(
            f"{where}: column 'metric' holds name(s) {directions_unknown} whose direction "
            f"(higher or lower is better) is unknown, in row(s) {_rows_text(bad)}; rename them "
            "to a known metric: higher is better for r2, miou, iou*, f1*, accuracy*, precision, "
            "recall, auc, roc_auc*, map*, kappa; lower is better for rmse*, mse*, mae*, loss*, "
            "error*, nll"
        )

    score = pd.to_numeric(out["score"], errors="coerce")
    bad = [row_ids[i] for i, v in enumerate(score) if not math.isfinite(v)]
    if bad:
        examples = [str(out["score"].iloc[row_ids.index(r)]) for r in bad[:3]]
        raise InvalidInputError(
            f"{where}: column 'score' is not a finite number in row(s) {_rows_text(bad)} "
            f"(e.g. {examples}); write plain numbers such as 0.731 and drop rows without a score"
        )
    out["score"] = score.astype(float)

    if "seed" in out.columns:
        seed = pd.to_numeric(out["seed"], errors="coerce")
        bad = [
            row_ids[i]
            for i, (raw, v) in enumerate(zip(out["seed"], seed, strict=True))
            if not pd.isna(raw) and str(raw).strip() != "" and (pd.isna(v) or v != int(v))
        ]
        if bad:
            raise InvalidInputError(
                f"{where}: column 'seed' must hold integers (or be empty) but row(s) "
                f"{_rows_text(bad)} do not"
            )
        out["seed"] = seed.astype("Int64")
    else:
        out["seed"] = pd.array([pd.NA] * len(out), dtype="Int64")

    for col in ("fraction", "lr"):
        if col in out.columns:
            values = pd.to_numeric(out[col], errors="coerce")
            bad = [
                row_ids[i]
                for i, (raw, v) in enumerate(zip(out[col], values, strict=True))
                if not pd.isna(raw) and str(raw).strip() != "" and not math.isfinite(v)
            ]
            if bad:
                raise InvalidInputError(
                    f"{where}: column {col!r} must be numeric (or empty) but row(s) "
                    f"{_rows_text(bad)} are not"
                )
            out[col] = values.astype(float)
        else:
            out[col] = float("nan")
    bad = [row_ids[i] for i, v in enumerate(out["fraction"]) if v == v and not 0.0 < v <= 1.0]
    if bad:
        raise InvalidInputError(
            f"{where}: column 'fraction' is the share of the training split and must lie in "
            f"(0, 1], but row(s) {_rows_text(bad)} are outside; write 0.1 for 10 %"
        )

    # An empty source means "not stated": import_results fills it with its ``source`` argument.
    defaults = {"protocol": "literature", "source": "", "suite": "", "file": ""}
    for col, default in defaults.items():
        if col in out.columns:
            out[col] = out[col].astype("string").str.strip().fillna(default).astype(str)
            out.loc[out[col] == "", col] = default
        else:
            out[col] = default

    if "details" in out.columns:
        parsed: list[str] = []
        for rid, raw in zip(row_ids, out["details"], strict=True):
            if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw) == "":
                parsed.append("{}")
                continue
            try:
                value = json.loads(raw) if isinstance(raw, str) else raw
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"{where}: column 'details' in row {rid} is not valid JSON ({exc.msg})"
                ) from exc
            if not isinstance(value, dict):
                raise InvalidInputError(
                    f"{where}: column 'details' in row {rid} must be a JSON object like "
                    '{"decoder": "UNet"}'
                )
            parsed.append(json.dumps(value, sort_keys=True, default=str))
        out["details"] = parsed
    else:
        out["details"] = "{}"
    return out[list(LONG_COLUMNS)]


def read_literature_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV in the long schema (see the module docstring).

    Args:
        path: CSV file with a header row.

    Returns:
        The validated long table; ``file`` is the file name and ``row`` the 1-based data row.

    Raises:
        InvalidInputError: the file is missing, unreadable, or violates the schema.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(f"results file {str(path)!r} does not exist; check the path")
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    df = df.replace("", pd.NA)
    if "file" not in df.columns:
        df["file"] = path.name
    if "row" not in df.columns:
        df["row"] = range(1, len(df) + 1)
    return validate_long(df, where=str(path))


def _read_csv(path: Path) -> pd.DataFrame:
    """Read a published table, turning parser errors into :class:`InvalidInputError`."""
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as JSON: {exc}") from exc


def read_geobench2(folder: str | Path) -> pd.DataFrame:
    """Read the GEO-Bench-2 leaderboard submissions into the long schema.

    Layout (GitHub ``The-AI-Alliance/GEO-Bench-2-Leaderboard``)::

        folder/model_info.json            # BACKBONE_NAMES: backbone id -> display name
        folder/normalizer.json            # dataset -> [low, high] used to normalise scores
        folder/submissions/<id>/results_and_parameters.csv
        folder/submissions/<id>/additional_info.json

    A folder holding ``results_and_parameters.csv`` directly (one submission) is read too.

    Mapping: model = ``backbone`` (plus the suffix of :data:`GEOBENCH2_VARIANTS` for submissions
    that re-run a backbone under another input setting), task = ``dataset``, metric = ``Metric``
    renamed by :data:`GEOBENCH2_METRICS` (``Multiclass_Jaccard_Index`` -> ``miou``, ``RMSE`` ->
    ``rmse`` …), score = ``test metric``, seed = ``Seed``, protocol = ``frozen_or_full_ft`` mapped by
    :data:`GEOBENCH2_PROTOCOLS` (``full_ft`` -> ``finetune``), fraction = ``data_percentages`` /
    100, lr = ``lr``, suite = ``geobench2``; ``details`` keeps the submission id, the backbone,
    the upstream metric name, decoder, display name, the normaliser range of the dataset and the
    MLflow run id. Runs whose ``mlflow_run_status`` is not ``FINISHED`` are skipped.

    Args:
        folder: the leaderboard folder (or one submission folder).

    Returns:
        The validated long table, one row per run.

    Raises:
        InvalidInputError: no submission found, or a CSV lacks the expected columns.
    """
    folder = Path(folder)
    if (folder / "results_and_parameters.csv").is_file():
        submissions = [folder]
        root = folder.parent.parent
    else:
        submissions = sorted(
            p.parent for p in (folder / "submissions").glob("*/results_and_parameters.csv")
        )
        root = folder
    if not submissions:
        raise InvalidInputError(
            f"no GEO-Bench-2 submission found under {str(folder)!r}; expected "
            "submissions/<id>/results_and_parameters.csv"
        )
    names: dict[str, str] = {}
    if (root / "model_info.json").is_file():
        names = dict(_read_json(root / "model_info.json").get("BACKBONE_NAMES", {}))
    normalizer: dict[str, list[float]] = {}
    if (root / "normalizer.json").is_file():
        normalizer = dict(_read_json(root / "normalizer.json"))

    needed = [
        "dataset",
        "Metric",
        "test metric",
        "Seed",
        "backbone",
        "frozen_or_full_ft",
        "lr",
        "data_percentages",
    ]
    frames = []
    for sub in submissions:
        csv = sub / "results_and_parameters.csv"
        raw = _read_csv(csv)
        missing = [c for c in needed if c not in raw.columns]
        if missing:
            raise InvalidInputError(
                f"{str(csv)!r} lacks GEO-Bench-2 column(s) {missing}; is this a leaderboard "
                "results_and_parameters.csv?"
            )
        info: dict[str, Any] = {}
        if (sub / "additional_info.json").is_file():
            info = _read_json(sub / "additional_info.json")
        raw = raw.reset_index(drop=True)
        raw["_row"] = range(1, len(raw) + 1)
        if "mlflow_run_status" in raw.columns:
            raw = raw[raw["mlflow_run_status"].astype(str) == "FINISHED"]
        unknown_metrics = sorted(set(raw["Metric"].astype(str)) - set(GEOBENCH2_METRICS))
        unknown_protocols = sorted(
            set(raw["frozen_or_full_ft"].astype(str)) - set(GEOBENCH2_PROTOCOLS)
        )
        if unknown_metrics or unknown_protocols:
            raise InvalidInputError(
                f"{str(csv)!r} has metric(s) {unknown_metrics} / frozen_or_full_ft value(s) "
                f"{unknown_protocols} this reader does not know (known: "
                f"{sorted(GEOBENCH2_METRICS)} / {sorted(GEOBENCH2_PROTOCOLS)}); convert the file "
                "to the long schema and import that instead"
            )
        suffix = GEOBENCH2_VARIANTS.get(sub.name, "")
        details = [
            json.dumps(
                {
                    "submission": sub.name,
                    "backbone": str(r["backbone"]),
                    "metric_upstream": str(r["Metric"]),
                    "decoder": str(r.get("decoder", "")),
                    "display_name": names.get(str(r["backbone"]), ""),
                    "normalizer": normalizer.get(str(r["dataset"])),
                    "mlflow_run_id": str(r.get("mlflow_run_id", "")),
                    "license": str(info.get("License", "")),
                },
                sort_keys=True,
            )
            for r in raw.to_dict(orient="records")
        ]
        frames.append(
            pd.DataFrame(
                {
                    "model": (raw["backbone"].astype(str) + suffix).to_numpy(),
                    "task": raw["dataset"].astype(str).to_numpy(),
                    "metric": raw["Metric"].astype(str).map(GEOBENCH2_METRICS).to_numpy(),
                    "score": raw["test metric"].to_numpy(),
                    "seed": raw["Seed"].to_numpy(),
                    "protocol": raw["frozen_or_full_ft"].astype(str)
                    .map(GEOBENCH2_PROTOCOLS)
                    .to_numpy(),
                    "fraction": (pd.to_numeric(raw["data_percentages"]) / 100.0).to_numpy(),
                    "suite": "geobench2",
                    "lr": raw["lr"].to_numpy(),
                    "file": f"submissions/{sub.name}/results_and_parameters.csv",
                    "row": raw["_row"].to_numpy(),
                    "details": details,
                }
            )
        )
    return validate_long(pd.concat(frames, ignore_index=True), where=str(folder))


_PARTITION = re.compile(r"^\s*([0-9]*\.?[0-9]+)x\s+train\s*$")


def read_geobench_v1(csv: str | Path) -> pd.DataFrame:
    """Read GEO-Bench (v1) ``baseline_segmentation_results.csv`` into the long schema.

    Mapping: model = ``model`` (e.g. ``ResNet50-U-Net-timm``), task = ``dataset``, metric =
    ``miou`` (the file's ``test metric``, a Jaccard index in [0, 1]), score = ``test metric``,
    seed = ``seed``, fraction from ``partition name`` (``0.05x train`` → 0.05), protocol =
    ``finetune`` (ImageNet-pretrained backbones trained end to end), lr = ``lr backbone``, suite
    = ``geobench-v1``; ``details`` keeps decoder, encoder, the head learning rate and the
    validation metric.

    Args:
        csv: path to ``baseline_segmentation_results.csv``.

    Returns:
        The validated long table, one row per run.

    Raises:
        InvalidInputError: the file lacks the expected columns or has an unknown partition name.
    """
    csv = Path(csv)
    if not csv.is_file():
        raise InvalidInputError(f"results file {str(csv)!r} does not exist; check the path")
    raw = _read_csv(csv)
    needed = ["model", "dataset", "partition name", "seed", "test metric", "lr backbone"]
    missing = [c for c in needed if c not in raw.columns]
    if missing:
        raise InvalidInputError(
            f"{str(csv)!r} lacks GEO-Bench v1 column(s) {missing}; is this "
            "baseline_segmentation_results.csv?"
        )
    fractions = []
    for i, name in enumerate(raw["partition name"].astype(str), start=1):
        match = _PARTITION.match(name)
        if match is None:
            raise InvalidInputError(
                f"{str(csv)!r} row {i}: partition name {name!r} is not of the form '0.05x train'"
            )
        fractions.append(float(match.group(1)))
    details = [
        json.dumps(
            {
                "decoder": str(r.get("decoder type", "")),
                "encoder": str(r.get("encoder type", "")),
                "lr_head": None if pd.isna(r.get("lr head")) else float(r.get("lr head")),
                "val_metric": None if pd.isna(r.get("val metric")) else float(r.get("val metric")),
            },
            sort_keys=True,
        )
        for _, r in raw.iterrows()
    ]
    df = pd.DataFrame(
        {
            "model": raw["model"].astype(str),
            "task": raw["dataset"].astype(str),
            "metric": "miou",
            "score": raw["test metric"],
            "seed": raw["seed"],
            "protocol": "finetune",
            "fraction": fractions,
            "suite": "geobench-v1",
            "lr": raw["lr backbone"],
            "file": csv.name,
            "row": range(1, len(raw) + 1),
            "details": details,
        }
    )
    return validate_long(df, where=str(csv))


def read_cryobench(csv: str | Path) -> pd.DataFrame:
    """Read the Cryo-Bench published table (wide, one mIoU column per task) into the long schema.

    The table (README of GitHub ``Sk-2103/Cryo-Bench``) has ``model, kind, glid, gld, sicd, caffe,
    gsdd, avg_miou, avg_rank``; mIoU is in percent and kept as published. The averages are not
    imported (they are derived numbers). Rows of kind ``frozen_gfm`` get protocol ``frozen``;
    rows of kind ``baseline_from_scratch`` (U-Net, ViT trained from scratch, no frozen encoder)
    get protocol ``from-scratch`` so that they are not mistaken for frozen encoders. fraction = 1.0,
    suite = ``cryo``, metric = ``miou``.

    Args:
        csv: path to ``cryobench_frozen_upernet_100pct_miou.csv``.

    Returns:
        The validated long table, one row per (model, task).

    Raises:
        InvalidInputError: the file lacks ``model``, ``kind`` or a task column.
    """
    csv = Path(csv)
    if not csv.is_file():
        raise InvalidInputError(f"results file {str(csv)!r} does not exist; check the path")
    raw = _read_csv(csv)
    missing = [c for c in ("model", "kind", *CRYOBENCH_TASKS) if c not in raw.columns]
    if missing:
        raise InvalidInputError(
            f"{str(csv)!r} lacks Cryo-Bench column(s) {missing}; expected model, kind, "
            f"{', '.join(CRYOBENCH_TASKS)}"
        )
    kinds = raw["kind"].astype(str)
    rows = []
    for i, (_, r) in enumerate(raw.iterrows(), start=1):
        kind = str(kinds.iloc[i - 1])
        for task in CRYOBENCH_TASKS:
            rows.append(
                {
                    "model": r["model"],
                    "task": task,
                    "metric": "miou",
                    "score": r[task],
                    "protocol": "from-scratch" if kind == "baseline_from_scratch" else "frozen",
                    "fraction": 1.0,
                    "suite": "cryo",
                    "file": csv.name,
                    "row": i,
                    "details": json.dumps({"kind": kind, "decoder": "UPerNet", "unit": "percent"}),
                }
            )
    return validate_long(pd.DataFrame(rows), where=str(csv))


_READERS: dict[str, Callable[[Path], pd.DataFrame]] = {
    "long": read_literature_csv,
    "geobench2": read_geobench2,
    "geobench-v1": read_geobench_v1,
    "cryobench": read_cryobench,
}


def _detect_format(path: Path) -> str:
    if path.is_dir():
        if (path / "submissions").is_dir() or (path / "results_and_parameters.csv").is_file():
            return "geobench2"
        raise InvalidInputError(
            f"{str(path)!r} is a folder but not a GEO-Bench-2 leaderboard folder (no "
            "submissions/); give a CSV file or choose --format"
        )
    if not path.is_file():
        raise InvalidInputError(f"results file {str(path)!r} does not exist; check the path")
    try:
        header = set(pd.read_csv(path, nrows=0).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc
    if path.name == "results_and_parameters.csv" or {"backbone", "frozen_or_full_ft"} <= header:
        return "geobench2"
    if {"partition name", "test metric", "dataset", "model"} <= header:
        return "geobench-v1"
    if {"model", *CRYOBENCH_TASKS} <= header:
        return "cryobench"
    if len(set(REQUIRED_COLUMNS) & header) >= 2:
        # Looks like the long schema: let its validation name the missing column(s).
        return "long"
    raise InvalidInputError(
        f"cannot tell the format of {str(path)!r} from its columns {sorted(header)}; use the long "
        f"schema (columns {list(REQUIRED_COLUMNS)}) or choose one of {list(FORMATS[1:])}"
    )


def detect_and_read(path: str | Path, *, format: str = "auto") -> pd.DataFrame:
    """Read published results in any supported format into the long schema.

    Args:
        path: a long-schema CSV, a GEO-Bench-2 leaderboard folder (or one of its submission
            folders / CSVs), a GEO-Bench v1 results CSV or the Cryo-Bench table.
        format: one of :data:`FORMATS`; ``auto`` decides by path and columns.

    Returns:
        The validated long table.

    Raises:
        InvalidInputError: unknown format, missing file, or a file the chosen reader rejects.
    """
    if format not in FORMATS:
        raise InvalidInputError(f"format {format!r} is unknown; choose one of {list(FORMATS)}")
    path = Path(path)
    chosen = _detect_format(path) if format == "auto" else format
    if chosen == "geobench2" and path.is_file():
        path = path.parent
    return _READERS[chosen](path)


def _optional(value: Any, kind: type) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return kind(value)


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_results` did.

    Attributes:
        n_rows: rows in the table.
        n_written: rows written to the store.
        n_skipped: rows skipped because the same result is already stored.
        n_models: distinct models in the table.
        n_tasks: distinct tasks in the table.
    """

    n_rows: int
    n_written: int
    n_skipped: int
    n_models: int
    n_tasks: int


#: Columns whose values make up the identity of an imported row (besides its occurrence count).
_IDENTITY_COLUMNS: tuple[str, ...] = (
    "model", "task", "metric", "score", "seed", "protocol", "fraction", "suite", "lr", "details",
)


def literature_run_keys(df: pd.DataFrame) -> list[str]:
    """Run keys of validated long-schema rows, from their content (not their file or row).

    The key hashes model, task, metric, score, seed, protocol, fraction, suite, lr, details and
    the occurrence number of the row among identical rows of the table (so two identical rows
    stay two results). The file name, row number and ``source`` are not part of it: the same
    published number imported twice, from any file, has the same key.

    Args:
        df: output of :func:`validate_long`.

    Returns:
        One key per row, in row order.
    """
    content = pd.Series(
        ["\x1f".join(repr(v) for v in row) for row in df[list(_IDENTITY_COLUMNS)].itertuples(
            index=False
        )],
        dtype=object,
    )
    occurrence = content.groupby(content, sort=False).cumcount()
    keys = []
    for rec, occ in zip(df.to_dict(orient="records"), occurrence, strict=True):
        content_hash = config_hash(
            {
                "imported_from": "literature",
                "metric": rec["metric"],
                "score": repr(float(rec["score"])),
                "suite": rec["suite"],
                "details": rec["details"],
                "occurrence": int(occ),
            }
        )
        keys.append(
            run_key(
                model=rec["model"],
                task=rec["task"],
                protocol=rec["protocol"],
                config_hash=content_hash,
                seed=_optional(rec["seed"], int),
                fraction=_optional(rec["fraction"], float),
                lr=_optional(rec["lr"], float),
            )
        )
    return keys


def import_results(
    df: pd.DataFrame, store: ResultStore, *, source: str = "literature"
) -> ImportSummary:
    """Write long-schema rows as :class:`~planetbench.store.Result` rows in one transaction.

    Importing is idempotent: a row whose result is already stored (same
    :func:`literature_run_keys` key, i.e. same content, whatever file it came from) is skipped
    and counted in ``n_skipped``, so importing a file twice stores its rows once. A row whose
    score was corrected is a new result and is added; the store is append-only, so the old row
    stays (filter it out by ``config.file`` / ``created_at`` if needed).

    Args:
        df: table in the long schema (validated here again).
        store: the destination store.
        source: ``Result.source`` for rows whose ``source`` column is empty or absent.

    Returns:
        The :class:`ImportSummary`. Either every new row is written or, on error, none.

    Raises:
        InvalidInputError: the table violates the schema (nothing is written).
        StoreError: the store could not be written (nothing is written).
    """
    if not isinstance(source, str) or not source.strip():
        raise InvalidInputError(
            f"source={source!r} must be a non-empty name such as 'literature'"
        )
    df = df.copy()
    if "source" in df.columns:
        blank = df["source"].isna() | (df["source"].astype("string").str.strip() == "")
        df.loc[blank, "source"] = source
    else:
        df["source"] = source
    clean = validate_long(df)
    keys = literature_run_keys(clean)
    stored = store.finished_keys(keys)
    results = []
    for key, rec in zip(keys, clean.to_dict(orient="records"), strict=True):
        if key in stored:
            continue
        details = json.loads(rec["details"])
        config = {
            "file": rec["file"],
            "row": _optional(rec["row"], int),
            "imported_from": "literature",
            **({"details": details} if details else {}),
        }
        results.append(
            Result(
                model=rec["model"],
                task=rec["task"],
                protocol=rec["protocol"],
                metric=rec["metric"],
                score=float(rec["score"]),
                suite=rec["suite"],
                seed=_optional(rec["seed"], int),
                fraction=_optional(rec["fraction"], float),
                lr=_optional(rec["lr"], float),
                config=config,
                source=rec["source"],
                run_key=key,
            )
        )
    store.add_many(results)
    return ImportSummary(
        n_rows=len(clean),
        n_written=len(results),
        n_skipped=len(clean) - len(results),
        n_models=int(clean["model"].nunique()),
        n_tasks=int(clean["task"].nunique()),
    )


__all__ = [
    "CRYOBENCH_TASKS",
    "FORMATS",
    "GEOBENCH2_METRICS",
    "GEOBENCH2_PROTOCOLS",
    "GEOBENCH2_VARIANTS",
    "LONG_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PROVENANCE_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportSummary",
    "detect_and_read",
    "import_results",
    "literature_run_keys",
    "read_cryobench",
    "read_geobench2",
    "read_geobench_v1",
    "read_literature_csv",
    "validate_long",
]
