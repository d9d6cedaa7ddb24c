"""GEO-Bench-2 leaderboard submissions (GitHub ``The-AI-Alliance/GEO-Bench-2-Leaderboard``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.reading import read_csv, read_json
from planetbench.store.importers.schema import validate_long

#: GEO-Bench-2 metric names (TerraTorch logger keys) -> planetbench metric names, whose direction
#: :func:`planetbench.stats.normalise.metric_higher_is_better` knows. The upstream name is kept in
#: ``details["metric_upstream"]``. The leaderboard's ``RMSE`` rows (biomassters) do not hold an
#: RMSE: submitters convert it with the leaderboard's ``scale_rmse`` into 1 − 0.2538·RMSE, a
#: higher-is-better score (values 0.948–0.960, the range of its ``normalizer.json``), stored as
#: ``rmse_skill``.
GEOBENCH2_METRICS: dict[str, str] = {
    "Multiclass_Jaccard_Index": "miou",
    "Overall_Accuracy": "accuracy",
    "Multilabel_F1_Score": "f1_multilabel",
    "test_test_map": "map",
    "test_test_segm_map": "map_segm",
    "RMSE": "rmse_skill",
}

#: GEO-Bench-2 ``frozen_or_full_ft`` values -> planetbench protocols.
GEOBENCH2_PROTOCOLS: dict[str, str] = {"full_ft": "finetune", "frozen": "frozen"}

#: GEO-Bench-2 submissions that re-run backbones of another submission under a different input
#: setting; their model names get this suffix so that one model name is one experimental
#: condition. 2ce4a907 adds Sentinel-1 VV/VH to the inputs of three backbones and keeps the
#: better of S1+S2 and S2-only (its ``additional_info.json``).
GEOBENCH2_VARIANTS: dict[str, str] = {"2ce4a907-7ae3-45d3-a07a-558f8d0d758b": "+s1s2"}

#: Columns every ``results_and_parameters.csv`` must have.
SUBMISSION_COLUMNS: tuple[str, ...] = (
    "dataset",
    "Metric",
    "test metric",
    "Seed",
    "backbone",
    "frozen_or_full_ft",
    "lr",
    "data_percentages",
)

RESULTS_FILE = "results_and_parameters.csv"


def read_geobench2(folder: str | Path) -> pd.DataFrame:
    """Read the GEO-Bench-2 leaderboard submissions into the long schema.

    Layout (GitHub ``The-AI-Alliance/GEO-Bench-2-Leaderboard``)::

        folder/model_info.json            # BACKBONE_NAMES: backbone id -> display name
        folder/normalizer.json            # dataset -> [low, high] used to normalise scores
        folder/submissions/<id>/results_and_parameters.csv
        folder/submissions/<id>/additional_info.json

    A folder holding ``results_and_parameters.csv`` directly (one submission), or that file
    itself, is read too.

    Mapping: model = ``backbone`` (plus the suffix of :data:`GEOBENCH2_VARIANTS` for submissions
    that re-run a backbone under another input setting), task = ``dataset``, metric = ``Metric``
    renamed by :data:`GEOBENCH2_METRICS` (``Multiclass_Jaccard_Index`` -> ``miou``, ``RMSE`` ->
    ``rmse_skill``, the higher-is-better 1 − 0.2538·RMSE the leaderboard receives …), score = ``test metric``, seed = ``Seed``, protocol = ``frozen_or_full_ft`` mapped by
    :data:`GEOBENCH2_PROTOCOLS` (``full_ft`` -> ``finetune``), fraction = ``data_percentages`` /
    100, lr = ``lr``, suite = ``geobench2``; ``details`` keeps the submission id, the backbone,
    the upstream metric name, decoder, display name, the normaliser range of the dataset and the
    MLflow run id. Runs whose ``mlflow_run_status`` is not ``FINISHED`` are skipped.

    Args:
        folder: the leaderboard folder, one submission folder, or its results CSV.

    Returns:
        The validated long table, one row per run.

    Raises:
        InvalidInputError: no submission found, or a CSV lacks the expected columns.
    """
    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    root, submissions = _submissions(folder)
    names = _display_names(root)
    normalizer = _normalizer(root)
    frames = [_read_submission(sub, names, normalizer) for sub in submissions]
    return validate_long(pd.concat(frames, ignore_index=True), where=str(folder))


def _submissions(folder: Path) -> tuple[Path, list[Path]]:
    """The leaderboard root and its submission folders (``folder`` may be one submission)."""
    if (folder / RESULTS_FILE).is_file():
        return folder.parent.parent, [folder]
    submissions = sorted(p.parent for p in (folder / "submissions").glob(f"*/{RESULTS_FILE}"))
    if not submissions:
        raise InvalidInputError(
            f"no GEO-Bench-2 submission found under {str(folder)!r}; expected "
            f"submissions/<id>/{RESULTS_FILE}"
        )
    return folder, submissions


def _display_names(root: Path) -> dict[str, str]:
    """Backbone id -> display name, from ``model_info.json`` (empty when absent)."""
    if not (root / "model_info.json").is_file():
        return {}
    return dict(read_json(root / "model_info.json").get("BACKBONE_NAMES", {}))


def _normalizer(root: Path) -> dict[str, list[float]]:
    """Dataset -> [low, high] of the leaderboard's normaliser (empty when absent)."""
    if not (root / "normalizer.json").is_file():
        return {}
    return dict(read_json(root / "normalizer.json"))


def _finished_runs(sub: Path) -> pd.DataFrame:
    """The finished runs of one submission, with their 1-based row in ``_row``."""
    csv = sub / RESULTS_FILE
    raw = read_csv(csv)
    missing = [c for c in SUBMISSION_COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidInputError(
            f"{str(csv)!r} lacks GEO-Bench-2 column(s) {missing}; is this a leaderboard "
            f"{RESULTS_FILE}?"
        )
    raw = raw.reset_index(drop=True)
    raw["_row"] = range(1, len(raw) + 1)
    if "mlflow_run_status" in raw.columns:
        raw = raw[raw["mlflow_run_status"].astype(str) == "FINISHED"]
    unknown_metrics = sorted(set(raw["Metric"].astype(str)) - set(GEOBENCH2_METRICS))
    unknown_protocols = sorted(set(raw["frozen_or_full_ft"].astype(str)) - set(GEOBENCH2_PROTOCOLS))
    if unknown_metrics or unknown_protocols:
        raise InvalidInputError(
            f"{str(csv)!r} has metric(s) {unknown_metrics} / frozen_or_full_ft value(s) "
            f"{unknown_protocols} this reader does not know (known: "
            f"{sorted(GEOBENCH2_METRICS)} / {sorted(GEOBENCH2_PROTOCOLS)}); convert the file "
            "to the long schema and import that instead"
        )
    return raw


def _read_submission(
    sub: Path, names: dict[str, str], normalizer: dict[str, list[float]]
) -> pd.DataFrame:
    """One submission's finished runs in the long schema (not validated yet)."""
    raw = _finished_runs(sub)
    info: dict[str, Any] = {}
    if (sub / "additional_info.json").is_file():
        info = read_json(sub / "additional_info.json")
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
    suffix = GEOBENCH2_VARIANTS.get(sub.name, "")
    return pd.DataFrame(
        {
            "model": (raw["backbone"].astype(str) + suffix).to_numpy(),
            "task": raw["dataset"].astype(str).to_numpy(),
            "metric": raw["Metric"].astype(str).map(GEOBENCH2_METRICS).to_numpy(),
            "score": raw["test metric"].to_numpy(),
            "seed": raw["Seed"].to_numpy(),
            "protocol": raw["frozen_or_full_ft"].astype(str).map(GEOBENCH2_PROTOCOLS).to_numpy(),
            "fraction": (pd.to_numeric(raw["data_percentages"]) / 100.0).to_numpy(),
            "suite": "geobench2",
            "lr": raw["lr"].to_numpy(),
            "file": f"submissions/{sub.name}/{RESULTS_FILE}",
            "row": raw["_row"].to_numpy(),
            "details": details,
        }
    )


def _is_leaderboard_folder(path: Path) -> bool:
    return (path / "submissions").is_dir() or (path / RESULTS_FILE).is_file()


def _is_submission_csv(path: Path, header: frozenset[str]) -> bool:
    return path.name == RESULTS_FILE or {"backbone", "frozen_or_full_ft"} <= header


FORMAT = TableFormat(
    name="geobench2",
    summary="a GEO-Bench-2 leaderboard folder (or one submission)",
    read=read_geobench2,
    recognises_file=_is_submission_csv,
    recognises_folder=_is_leaderboard_folder,
    folder_hint=f"a GEO-Bench-2 leaderboard folder (no submissions/ nor {RESULTS_FILE})",
    priority=10,
)

__all__ = [
    "FORMAT",
    "GEOBENCH2_METRICS",
    "GEOBENCH2_PROTOCOLS",
    "GEOBENCH2_VARIANTS",
    "read_geobench2",
]
