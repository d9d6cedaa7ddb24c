"""Mars-Bench's published per-seed result tables (``benchmark/data/*.csv`` of ``kerner-lab/Mars-Bench``).

Mars-Bench's plotting scripts (GitHub ``kerner-lab/Mars-Bench`` at ``d1b1a9b``, ``benchmark/``) read
one CSV per figure, one row per run:

=======================  ===================================================================
column                   meaning
=======================  ===================================================================
``model``                the baseline (``ViT-L/16``, ``UNet`` …)
``dataset``              the Mars-Bench dataset id (``mb-domars16k`` …) = our task id
``seed``                 the run's seed (0, 1, 10, 42, 123, 1000, 1234)
``test metric``          ``test/F1Score_weighted`` (classification) or ``test/iou``
                         (segmentation) of the run
``training_type``        ``feature_extraction``, ``transfer_learning`` or ``scratch_training``
``partition name``       ``default`` (whole training split) or the training fraction (0.01 …)
``few_shot``             (instead of ``partition name``) images per class
=======================  ===================================================================

Mapping into the long schema (:mod:`planetbench.store.importers`): model = ``model``, task =
``dataset``, metric = :data:`MARSBENCH_DATASET_METRICS` of the dataset (``f1_weighted_mb`` for
Mars-Bench's ``F1Score_weighted``, which for binary tasks is the F1 of the positive class, and
``iou_mb`` for its per-image segmentation IoU; the ``_mb`` names are those of
``planetbench.metrics.mars``, so our own runs under Mars-Bench's metrics land on the same
leaderboard), score = ``test metric``, seed = ``seed``, protocol = :data:`MARSBENCH_PROTOCOLS`
of ``training_type``, fraction = ``partition name`` (``default`` → 1.0; empty for few-shot
rows), suite = ``mars``, source = ``marsbench:<file name>``; ``details`` keeps the training
type, the upstream metric name and, for few-shot rows, ``shots``.

Two facts of the published tables shape the reading:

* a run without a ``test metric`` (three in the tables of ``d1b1a9b``: the metric was never
  logged) is not a result: it is skipped and named in ``attrs["notes"]`` of the returned table;
  any other non-numeric value is an error;
* the ``1.0`` rows of the partition tables are the full-data runs again (Mars-Bench's scripts
  append them), printed with 16 instead of 17 significant digits. Mars-Bench logs float32
  numbers, so a score within 1e-12 (relative) of a float32 number is stored as that float32
  number: the same run has the same score, hence the same content key, whichever table it is
  read from, and is stored once. Reading a whole folder drops such repeats of an earlier table
  (named in the notes).

``earth_data.csv`` of the same folder (Earth-observation models, no ``training_type``, repeated
runs under one seed, scores rounded to 4 decimals) is not a run table of this format and is
skipped with a note when a folder is read.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.registry import did_you_mean
from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.reading import CSV_ERRORS, read_json
from planetbench.store.importers.schema import validate_long

#: Suite of every imported Mars-Bench row.
MARSBENCH_SUITE = "mars"

#: Columns every Mars-Bench run table has, besides one budget column of :data:`BUDGET_COLUMNS`.
MARSBENCH_COLUMNS: tuple[str, ...] = ("model", "dataset", "seed", "test metric", "training_type")

#: The budget columns: the training fraction (``partition name``) or images per class.
BUDGET_COLUMNS: tuple[str, ...] = ("partition name", "few_shot")

#: Mars-Bench ``training_type`` → planetbench protocol.
MARSBENCH_PROTOCOLS: dict[str, str] = {
    "feature_extraction": "frozen",
    "transfer_learning": "finetune",
    "scratch_training": "scratch",
}

_CLASSIFICATION = "f1_weighted_mb"
_SEGMENTATION = "iou_mb"
_DETECTION = "map"

#: Mars-Bench dataset id → the metric name its reported number is stored under.
MARSBENCH_DATASET_METRICS: dict[str, str] = {
    "mb-atmospheric_dust_cls_edr": _CLASSIFICATION,
    "mb-atmospheric_dust_cls_rdr": _CLASSIFICATION,
    "mb-change_cls_ctx": _CLASSIFICATION,
    "mb-change_cls_hirise": _CLASSIFICATION,
    "mb-domars16k": _CLASSIFICATION,
    "mb-frost_cls": _CLASSIFICATION,
    "mb-landmark_cls": _CLASSIFICATION,
    "mb-surface_cls": _CLASSIFICATION,
    "mb-surface_multi_label_cls": _CLASSIFICATION,
    "mb-boulder_seg": _SEGMENTATION,
    "mb-conequest_seg": _SEGMENTATION,
    "mb-crater_binary_seg": _SEGMENTATION,
    "mb-crater_multi_seg": _SEGMENTATION,
    "mb-mars_seg_mer": _SEGMENTATION,
    "mb-mars_seg_msl": _SEGMENTATION,
    "mb-mmls": _SEGMENTATION,
    "mb-s5mars": _SEGMENTATION,
    "mb-boulder_det": _DETECTION,
    "mb-conequest_det": _DETECTION,
    "mb-dust_devil_det": _DETECTION,
}

#: Our metric name → the key Mars-Bench logs it under.
MARSBENCH_UPSTREAM_METRICS: dict[str, str] = {
    _CLASSIFICATION: "test/F1Score_weighted",
    _SEGMENTATION: "test/iou",
    _DETECTION: "test/map",
}

#: Relative difference below which a score is read as the float32 number it prints.
FLOAT32_TOLERANCE = 1e-12

#: ``partition name`` of the runs on the whole training split.
FULL_PARTITION = "default"

_MAX_LISTED = 10


def _rows_text(rows: list[int]) -> str:
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return f"{shown}{more}"


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except CSV_ERRORS as exc:
        raise InvalidInputError(f"cannot read {str(path)!r} as CSV: {exc}") from exc


def _header(path: Path) -> frozenset[str]:
    """Column names of a CSV, empty when it is not one (a folder may hold other files)."""
    try:
        return frozenset(str(c) for c in pd.read_csv(path, nrows=0).columns)
    except CSV_ERRORS:
        return frozenset()


def is_marsbench_table(path: Path, header: frozenset[str]) -> bool:
    """Whether a CSV with these column names is a Mars-Bench run table."""
    return set(MARSBENCH_COLUMNS) <= header and len(header & set(BUDGET_COLUMNS)) == 1


def is_marsbench_folder(path: Path) -> bool:
    """Whether a folder holds at least one Mars-Bench run table (``*.csv``, not recursive)."""
    return path.is_dir() and any(
        is_marsbench_table(p, _header(p)) for p in sorted(path.glob("*.csv")) if p.is_file()
    )


def float32_score(value: float) -> float:
    """``value`` as the float32 number it prints, when it is one (relative difference <= 1e-12).

    Mars-Bench logs float32 metrics and its tables print them with 15 to 17 significant digits;
    every such spelling maps to the same float (neighbouring float32 numbers differ by about
    1e-7 relative). Other values (e.g. 0.3928, 3e-9 from a float32) are returned unchanged.

    Example:
        >>> float32_score(0.1904276311397552) == float32_score(0.19042763113975525)
        True
        >>> float32_score(0.3928)
        0.3928
    """
    single = float(np.float32(value))
    return single if abs(single - value) <= FLOAT32_TOLERANCE * abs(value) else value


def _unknown_datasets(raw: pd.DataFrame, where: str) -> None:
    names = raw["dataset"].str.strip()
    unknown = sorted(set(names) - set(MARSBENCH_DATASET_METRICS))
    if not unknown:
        return
    rows = [i + 1 for i, v in enumerate(names) if v in unknown]
    hints = []
    for name in unknown[:3]:
        hint = did_you_mean(name, MARSBENCH_DATASET_METRICS, n=1)
        hints.append(f"{name!r} ({hint})" if hint else repr(name))
    raise InvalidInputError(
        f"{where}: column 'dataset' holds name(s) that are not Mars-Bench datasets: "
        f"{', '.join(hints)}{' …' if len(unknown) > 3 else ''} in row(s) {_rows_text(rows)}; "
        f"known: {', '.join(sorted(MARSBENCH_DATASET_METRICS))}"
    )


def _protocols(raw: pd.DataFrame, where: str) -> list[str]:
    types = raw["training_type"].str.strip()
    bad = [i + 1 for i, v in enumerate(types) if v not in MARSBENCH_PROTOCOLS]
    if bad:
        given = sorted({types.iloc[r - 1] for r in bad})
        raise InvalidInputError(
            f"{where}: column 'training_type' holds {given} in row(s) {_rows_text(bad)}; "
            f"Mars-Bench's training types are {', '.join(MARSBENCH_PROTOCOLS)}"
        )
    return [MARSBENCH_PROTOCOLS[t] for t in types]


def _fractions(raw: pd.DataFrame, where: str) -> list[float]:
    out: list[float] = []
    bad: list[int] = []
    for i, text in enumerate(raw["partition name"].str.strip(), start=1):
        if text == FULL_PARTITION:
            out.append(1.0)
            continue
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and 0.0 < value <= 1.0):
            bad.append(i)
        out.append(value)
    if bad:
        examples = sorted({raw["partition name"].iloc[r - 1] for r in bad})[:3]
        raise InvalidInputError(
            f"{where}: column 'partition name' must be {FULL_PARTITION!r} or a training fraction "
            f"in (0, 1] such as 0.05, but row(s) {_rows_text(bad)} hold {examples}"
        )
    return out


def _shots(raw: pd.DataFrame, where: str) -> list[int]:
    out: list[int] = []
    bad: list[int] = []
    for i, text in enumerate(raw["few_shot"].str.strip(), start=1):
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value >= 1 and value == int(value)):
            bad.append(i)
            out.append(0)
        else:
            out.append(int(value))
    if bad:
        examples = sorted({raw["few_shot"].iloc[r - 1] for r in bad})[:3]
        raise InvalidInputError(
            f"{where}: column 'few_shot' must hold images per class (an integer >= 1), but "
            f"row(s) {_rows_text(bad)} hold {examples}"
        )
    return out


#: Texts of an empty ``test metric`` (a run whose metric was never logged).
_EMPTY = frozenset({"", "nan", "NaN", "NA", "None", "null"})


def _table_rows(csv: Path, name: str) -> tuple[pd.DataFrame, list[str]]:
    """One run table as long-schema columns (not validated yet) and its notes."""
    where = str(csv)
    raw = _read_csv(csv)
    header = frozenset(raw.columns)
    missing = [c for c in MARSBENCH_COLUMNS if c not in header]
    budgets = [c for c in BUDGET_COLUMNS if c in header]
    if missing or len(budgets) != 1:
        need = f"{list(MARSBENCH_COLUMNS)} and one of {list(BUDGET_COLUMNS)}"
        got = f"lacks {missing}" if missing else f"has budget columns {budgets}"
        raise InvalidInputError(
            f"{where} is not a Mars-Bench run table: it {got}; a run table has the columns {need}"
        )
    if raw.empty:
        raise InvalidInputError(f"{where} has no rows; nothing to import")
    raw = raw.assign(_row=range(1, len(raw) + 1))
    empty = raw["test metric"].str.strip().isin(_EMPTY)
    notes: list[str] = []
    if empty.any():
        skipped = raw[empty]
        budget = budgets[0]
        listed = "; ".join(
            f"row {r['_row']} ({r['model']}, {r['dataset']}, seed {r['seed']}, {budget} "
            f"{r[budget]})"
            for r in skipped.head(_MAX_LISTED).to_dict(orient="records")
        )
        notes.append(
            f"{name}: skipped {len(skipped)} run(s) without a test metric (never logged "
            f"upstream): {listed}"
        )
        raw = raw[~empty].reset_index(drop=True)
    if raw.empty:
        raise InvalidInputError(f"{where} has no run with a test metric; nothing to import")
    _unknown_datasets(raw, where)
    protocols = _protocols(raw, where)
    tasks = raw["dataset"].str.strip()
    metrics = [MARSBENCH_DATASET_METRICS[t] for t in tasks]
    if "few_shot" in budgets:
        shots: list[int | None] = list(_shots(raw, where))
        fractions: list[float | None] = [None] * len(raw)
    else:
        shots = [None] * len(raw)
        fractions = list(_fractions(raw, where))
    score = pd.to_numeric(raw["test metric"], errors="coerce")
    scores = [float32_score(v) if math.isfinite(v) else text
              for v, text in zip(score, raw["test metric"], strict=True)]
    details = [
        json.dumps(
            {
                "training_type": str(tt).strip(),
                "metric_upstream": MARSBENCH_UPSTREAM_METRICS[m],
                **({"shots": s} if s is not None else {}),
            },
            sort_keys=True,
        )
        for tt, m, s in zip(raw["training_type"], metrics, shots, strict=True)
    ]
    df = pd.DataFrame(
        {
            "model": raw["model"],
            "task": tasks,
            "metric": metrics,
            "score": scores,
            "seed": raw["seed"],
            "protocol": protocols,
            "fraction": fractions,
            "suite": MARSBENCH_SUITE,
            "source": f"marsbench:{name}",
            "file": name,
            "row": raw["_row"],
            "details": details,
        }
    )
    return df, notes


def _validated(df: pd.DataFrame, where: str, notes: list[str]) -> pd.DataFrame:
    out = validate_long(df, where=where)
    out.attrs["notes"] = list(notes)
    return out


def read_marsbench_table(csv: str | Path) -> pd.DataFrame:
    """Read one Mars-Bench run table (classification, segmentation, partition or few-shot).

    Args:
        csv: e.g. ``classification_filtered.csv`` or ``classification_few_shot_filtered.csv``.

    Returns:
        The validated long table, one row per run with a test metric; ``attrs["notes"]`` lists
        the runs skipped for having none.

    Raises:
        InvalidInputError: a missing file, missing columns, an unknown dataset (with the
            nearest Mars-Bench id), training type, partition name or shot count, or a
            non-numeric test metric; the message names the rows.
    """
    csv = Path(csv)
    if csv.is_dir():
        return read_marsbench_folder(csv)
    if not csv.is_file():
        raise InvalidInputError(f"results file {str(csv)!r} does not exist; check the path")
    df, notes = _table_rows(csv, csv.name)
    return _validated(df, str(csv), notes)


def _identity(df: pd.DataFrame) -> list[int]:
    """A 64-bit hash per row of what makes a run the same run (not its file, row or source)."""
    cols = ["model", "task", "metric", "score", "seed", "protocol", "fraction", "details"]
    text = df[cols].astype(str)
    return [int(h) for h in pd.util.hash_pandas_object(text, index=False)]


def read_marsbench_folder(folder: str | Path) -> pd.DataFrame:
    """Read every Mars-Bench run table of a folder (``*.csv``, not recursive) into one table.

    Tables whose runs are all on the whole training split (``partition name`` = ``default``)
    are read first; a run of a later table that repeats one of an earlier table (same model,
    dataset, metric, score, seed, protocol and budget: the ``1.0`` rows of the partition tables)
    is dropped. Other CSV files are skipped. Both are named in ``attrs["notes"]``.

    Args:
        folder: e.g. ``../shared/data/marsbench-baseline-results``.

    Returns:
        The validated long table of every run table, rows checked before anything is returned.

    Raises:
        InvalidInputError: the folder does not exist or holds no run table, or a table is
            invalid (see :func:`read_marsbench_table`).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError(f"results folder {str(folder)!r} does not exist; check the path")
    tables: list[tuple[bool, Path]] = []
    notes: list[str] = []
    for path in sorted(p for p in folder.glob("*.csv") if p.is_file()):
        header = _header(path)
        if is_marsbench_table(path, header):
            full = "partition name" in header and set(
                _read_csv(path)["partition name"].str.strip()
            ) == {FULL_PARTITION}
            tables.append((not full, path))
        else:
            lacking = [c for c in MARSBENCH_COLUMNS if c not in header] or list(BUDGET_COLUMNS)
            notes.append(f"{path.name}: not a Mars-Bench run table (no {lacking[0]!r} column); "
                         "not imported")
    if not tables:
        raise InvalidInputError(
            f"{str(folder)!r} holds no Mars-Bench run table (a CSV with columns "
            f"{list(MARSBENCH_COLUMNS)} and 'partition name' or 'few_shot')"
        )
    frames: list[pd.DataFrame] = []
    seen: set[int] = set()
    for _, path in sorted(tables):
        df, table_notes = _table_rows(path, path.name)
        notes += table_notes
        ids = _identity(df)
        repeat = [i in seen for i in ids]
        if any(repeat):
            notes.append(
                f"{path.name}: {sum(repeat)} run(s) repeat runs of an earlier table (the same "
                "model, dataset, seed, budget and score) and are stored once"
            )
        seen.update(ids)
        frames.append(df[[not r for r in repeat]])
    return _validated(pd.concat(frames, ignore_index=True), str(folder), notes)


def read_marsbench(path: str | Path) -> pd.DataFrame:
    """Read a Mars-Bench run table, or every run table of a folder (see the module docstring)."""
    path = Path(path)
    return read_marsbench_folder(path) if path.is_dir() else read_marsbench_table(path)


def read_marsbench_normalizer(path: str | Path) -> dict[str, tuple[float, float]]:
    """Read a ``normalizer.json`` of Mars-Bench's plots: dataset → (min, max) as published.

    NaN entries are kept as NaN (Mars-Bench's ``make_normalizer`` wrote NaN where the table held
    a run without a test metric).

    Args:
        path: the JSON file, an object mapping each dataset id to ``[min, max]``.

    Returns:
        Dataset id → (min, max), in file order.

    Raises:
        InvalidInputError: unreadable file or a value that is not a pair of numbers.
    """
    path = Path(path)
    data = read_json(path)
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"{str(path)!r} is not a Mars-Bench normalizer (an object dataset -> [min, max])"
        )
    out: dict[str, tuple[float, float]] = {}
    for name, pair in data.items():
        if (
            not isinstance(pair, list)
            or len(pair) != 2
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pair)
        ):
            raise InvalidInputError(
                f"{str(path)!r}: entry {name!r} must be [min, max] (two numbers); got {pair!r}"
            )
        out[str(name)] = (float(pair[0]), float(pair[1]))
    return out


FORMAT = TableFormat(
    name="marsbench",
    summary="Mars-Bench's per-seed run tables (one CSV, or their folder)",
    read=read_marsbench,
    recognises_file=is_marsbench_table,
    recognises_folder=is_marsbench_folder,
    folder_hint="a folder of Mars-Bench run tables (CSV files with 'training_type')",
    # Before geobench-v1 (20): Mars-Bench's tables also have model, dataset, partition name and
    # test metric.
    priority=15,
)

__all__ = [
    "BUDGET_COLUMNS",
    "FLOAT32_TOLERANCE",
    "FORMAT",
    "FULL_PARTITION",
    "MARSBENCH_COLUMNS",
    "MARSBENCH_DATASET_METRICS",
    "MARSBENCH_PROTOCOLS",
    "MARSBENCH_SUITE",
    "MARSBENCH_UPSTREAM_METRICS",
    "float32_score",
    "is_marsbench_folder",
    "is_marsbench_table",
    "read_marsbench",
    "read_marsbench_folder",
    "read_marsbench_normalizer",
    "read_marsbench_table",
]
