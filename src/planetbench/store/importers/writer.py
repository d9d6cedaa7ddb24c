"""Writing validated long-schema rows to the results store, once each."""

from __future__ import annotations

import json
import math
import secrets
from dataclasses import dataclass
from typing import Any

import pandas as pd

from planetbench.config import config_hash
from planetbench.errors import InvalidInputError
from planetbench.store.importers.consistency import check_against_store
from planetbench.store.importers.schema import validate_long
from planetbench.store.result import Result, run_key
from planetbench.store.store import ResultStore

#: Columns whose values make up the identity of an imported row (besides its occurrence count).
IDENTITY_COLUMNS: tuple[str, ...] = (
    "model", "task", "metric", "score", "seed", "protocol", "fraction", "suite", "lr", "details",
)


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_results` did.

    Attributes:
        n_rows: rows in the table.
        n_written: rows written to the store.
        n_skipped: rows skipped because the same result is already stored.
        n_models: distinct models in the table.
        n_tasks: distinct tasks in the table.
        notes: warnings about the import (a metric name close to a stored one, a metric on
            another scale in another suite), as sentences.
        import_id: the identifier of this import, recorded in every row it wrote
            (``config["import_id"]``), to retract it later.
    """

    n_rows: int
    n_written: int
    n_skipped: int
    n_models: int
    n_tasks: int
    notes: tuple[str, ...] = ()
    import_id: str = ""


def _optional(value: Any, kind: type) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return kind(value)


def literature_run_keys(df: pd.DataFrame) -> list[str]:
    """Run keys of validated long-schema rows, from their content (not their file or row).

    The key hashes model, task, metric, score, seed, protocol, fraction, suite, lr, details and
    the occurrence number of the row among identical rows of the table (so two identical rows
    stay two results). The file name, row number and ``source`` are not part of it: the same
    published number imported twice, from any file, has the same key.

    Args:
        df: output of :func:`~planetbench.store.importers.schema.validate_long`.

    Returns:
        One key per row, in row order.
    """
    content = pd.Series(
        ["\x1f".join(repr(v) for v in row)
         for row in df[list(IDENTITY_COLUMNS)].itertuples(index=False)],
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


def _with_source(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """A copy of ``df`` whose empty or absent ``source`` cells say ``source``."""
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
    return df


def new_import_id() -> str:
    """A fresh import identifier: UTC time and a random suffix (``20261207T013000-3f9a``)."""
    from datetime import datetime, timezone

    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{secrets.token_hex(2)}"


def _result(rec: dict[str, Any], key: str, import_id: str) -> Result:
    """The stored form of one validated row."""
    details = json.loads(rec["details"])
    config = {
        "file": rec["file"],
        "row": _optional(rec["row"], int),
        "imported_from": "literature",
        "import_id": import_id,
        **({"details": details} if details else {}),
    }
    return Result(
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
        InvalidInputError: the table violates the schema, or clashes with the store (a metric
            spelled differently from a stored one, scores on another scale than the stored
            ones of the same suite; :func:`~planetbench.store.importers.consistency.check_against_store`);
            nothing is written.
        StoreError: the store could not be written (nothing is written).
    """
    clean = validate_long(_with_source(df, source))
    notes = check_against_store(clean, store.query())
    keys = literature_run_keys(clean)
    stored = store.finished_keys(keys)
    import_id = new_import_id()
    results = [
        _result(rec, key, import_id)
        for key, rec in zip(keys, clean.to_dict(orient="records"), strict=True)
        if key not in stored
    ]
    store.add_many(results)
    return ImportSummary(
        n_rows=len(clean),
        n_written=len(results),
        n_skipped=len(clean) - len(results),
        n_models=int(clean["model"].nunique()),
        n_tasks=int(clean["task"].nunique()),
        notes=tuple(notes),
        import_id=import_id if results else "",
    )


__all__ = [
    "IDENTITY_COLUMNS",
    "ImportSummary",
    "import_results",
    "literature_run_keys",
    "new_import_id",
]
