"""The Cryo-Bench published table (README of GitHub ``Sk-2103/Cryo-Bench``)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.reading import read_csv, require_file
from planetbench.store.importers.schema import validate_long

#: Cryo-Bench task columns, in the order of the published table.
CRYOBENCH_TASKS: tuple[str, ...] = ("glid", "gld", "sicd", "caffe", "gsdd")

#: The table's derived columns: mean mIoU over the tasks and mean competition rank (all rows).
PUBLISHED_COLUMNS: tuple[str, ...] = ("avg_miou", "avg_rank")


def _number(value: object) -> float | None:
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return None if pd.isna(number) else float(number)


def read_cryobench(csv: str | Path) -> pd.DataFrame:
    """Read the Cryo-Bench published table (wide, one mIoU column per task) into the long schema.

    The table has ``model, kind, glid, gld, sicd, caffe, gsdd, avg_miou, avg_rank``; mIoU is in
    percent and kept as published. The averages are derived numbers, not results: they are kept
    in ``details["published"]`` (``avg_miou``, ``avg_rank`` over every row of the table) so that
    reports can set them beside the averages recomputed from the per-task scores.
    Rows of kind ``frozen_gfm`` get protocol ``frozen``; rows of kind ``baseline_from_scratch``
    (U-Net, ViT trained from scratch, no frozen encoder) get protocol ``from-scratch`` so that
    they are not mistaken for frozen encoders. fraction = 1.0, suite = ``cryo``, metric =
    ``miou``.

    Args:
        csv: path to ``cryobench_frozen_upernet_100pct_miou.csv``.

    Returns:
        The validated long table, one row per (model, task).

    Raises:
        InvalidInputError: the file lacks ``model``, ``kind`` or a task column.
    """
    csv = Path(csv)
    require_file(csv)
    raw = read_csv(csv)
    missing = [c for c in ("model", "kind", *CRYOBENCH_TASKS) if c not in raw.columns]
    if missing:
        raise InvalidInputError(
            f"{str(csv)!r} lacks Cryo-Bench column(s) {missing}; expected model, kind, "
            f"{', '.join(CRYOBENCH_TASKS)}"
        )
    rows = []
    published = [c for c in PUBLISHED_COLUMNS if c in raw.columns]
    for i, r in enumerate(raw.to_dict(orient="records"), start=1):
        kind = str(r["kind"])
        details: dict[str, object] = {"kind": kind, "decoder": "UPerNet", "unit": "percent"}
        if published:
            details["published"] = {c: _number(r[c]) for c in published}
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
                    "details": json.dumps(details, sort_keys=True),
                }
            )
    return validate_long(pd.DataFrame(rows), where=str(csv))


def _is_cryobench_table(path: Path, header: frozenset[str]) -> bool:
    return {"model", *CRYOBENCH_TASKS} <= header


FORMAT = TableFormat(
    name="cryobench",
    summary="the Cryo-Bench table",
    read=read_cryobench,
    recognises_file=_is_cryobench_table,
    priority=30,
)

__all__ = ["CRYOBENCH_TASKS", "FORMAT", "PUBLISHED_COLUMNS", "read_cryobench"]
