"""GEO-Bench (v1) segmentation baselines: ``baseline_segmentation_results.csv``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.reading import read_csv, require_file
from planetbench.store.importers.schema import validate_long

#: Columns the reader needs.
GEOBENCH_V1_COLUMNS: tuple[str, ...] = (
    "model", "dataset", "partition name", "seed", "test metric", "lr backbone",
)

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
    require_file(csv)
    raw = read_csv(csv)
    missing = [c for c in GEOBENCH_V1_COLUMNS if c not in raw.columns]
    if missing:
        raise InvalidInputError(
            f"{str(csv)!r} lacks GEO-Bench v1 column(s) {missing}; is this "
            "baseline_segmentation_results.csv?"
        )
    df = pd.DataFrame(
        {
            "model": raw["model"].astype(str),
            "task": raw["dataset"].astype(str),
            "metric": "miou",
            "score": raw["test metric"],
            "seed": raw["seed"],
            "protocol": "finetune",
            "fraction": _fractions(raw["partition name"], csv),
            "suite": "geobench-v1",
            "lr": raw["lr backbone"],
            "file": csv.name,
            "row": range(1, len(raw) + 1),
            "details": _details(raw),
        }
    )
    return validate_long(df, where=str(csv))


def _fractions(partitions: pd.Series, csv: Path) -> list[float]:
    """Training fractions from partition names (``0.05x train`` → 0.05)."""
    fractions = []
    for i, name in enumerate(partitions.astype(str), start=1):
        match = _PARTITION.match(name)
        if match is None:
            raise InvalidInputError(
                f"{str(csv)!r} row {i}: partition name {name!r} is not of the form '0.05x train'"
            )
        fractions.append(float(match.group(1)))
    return fractions


def _optional_float(value: object) -> float | None:
    return None if pd.isna(value) else float(value)  # type: ignore[arg-type]


def _details(raw: pd.DataFrame) -> list[str]:
    """Decoder, encoder, head learning rate and validation metric of each run, as JSON."""
    return [
        json.dumps(
            {
                "decoder": str(r.get("decoder type", "")),
                "encoder": str(r.get("encoder type", "")),
                "lr_head": _optional_float(r.get("lr head")),
                "val_metric": _optional_float(r.get("val metric")),
            },
            sort_keys=True,
        )
        for _, r in raw.iterrows()
    ]


def _is_results_csv(path: Path, header: frozenset[str]) -> bool:
    return {"partition name", "test metric", "dataset", "model"} <= header


FORMAT = TableFormat(
    name="geobench-v1",
    summary="GEO-Bench v1's baseline_segmentation_results.csv",
    read=read_geobench_v1,
    recognises_file=_is_results_csv,
    priority=20,
)

__all__ = ["FORMAT", "GEOBENCH_V1_COLUMNS", "read_geobench_v1"]
