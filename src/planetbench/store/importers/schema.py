"""The long schema every importer produces, and its validation.

The *long schema* is one row per (model, task, seed …) result:

============  ========  ==============================================================
column        required  meaning
============  ========  ==============================================================
model         yes       model / encoder / submission name (stored as ``Result.model``)
task          yes       task (dataset) id
metric        yes       name of the score's metric (``miou``, ``RMSE`` …)
score         yes       the value, a finite number
seed          no        integer seed of the run, in [-2**31, 2**31 - 1]
protocol      no        ``frozen``, ``finetune``, ``probe`` … (default ``literature``)
fraction      no        share of the training split used, in (0, 1]
suite         no        suite id (default empty)
source        no        where the number comes from (default: the ``source`` argument of
                        :func:`~planetbench.store.importers.import_results`, ``literature``
                        unless told otherwise)
lr            no        learning rate
file          no        provenance: file the row was read from (set by the readers)
row           no        provenance: 1-based data row (or line) in that file
details       no        provenance: JSON object of further facts (decoder, submission …)
============  ========  ==============================================================

:func:`validate_long` checks a table against it, one named check after the other, and returns a
clean, typed copy.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats.normalise import metric_higher_is_better

REQUIRED_COLUMNS: tuple[str, ...] = ("model", "task", "metric", "score")
OPTIONAL_COLUMNS: tuple[str, ...] = ("seed", "protocol", "fraction", "suite", "source", "lr")
PROVENANCE_COLUMNS: tuple[str, ...] = ("file", "row", "details")
LONG_COLUMNS: tuple[str, ...] = REQUIRED_COLUMNS + OPTIONAL_COLUMNS + PROVENANCE_COLUMNS

#: Seeds are stored in a 32-bit integer column on every back-end (PostgreSQL ``integer``).
SEED_MIN, SEED_MAX = -(2**31), 2**31 - 1

#: Text columns filled with a default when empty. An empty ``source`` means "not stated":
#: :func:`~planetbench.store.importers.import_results` fills it with its ``source`` argument.
TEXT_DEFAULTS: dict[str, str] = {"protocol": "literature", "source": "", "suite": "", "file": ""}

_MAX_LISTED_ROWS = 10


def rows_text(rows: list[Any]) -> str:
    """Row numbers for a message: the first ten, then how many more."""
    shown = ", ".join(str(r) for r in rows[:_MAX_LISTED_ROWS])
    more = f" and {len(rows) - _MAX_LISTED_ROWS} more" if len(rows) > _MAX_LISTED_ROWS else ""
    return f"{shown}{more}"


def _is_blank(raw: Any) -> bool:
    return bool(pd.isna(raw)) or str(raw).strip() == ""


def validate_long(df: pd.DataFrame, *, where: str = "the results table") -> pd.DataFrame:
    """Check a long-schema table and return a clean copy with typed columns.

    Args:
        df: one row per result with at least ``model, task, metric, score``.
        where: how to name the table in error messages (e.g. the file path).

    Returns:
        A copy with every column of :data:`LONG_COLUMNS` present: ``score``, ``fraction`` and
        ``lr`` as float, ``seed`` as nullable integer, strings stripped, defaults filled
        (``protocol="literature"``, ``suite=""``, ``details="{}"``); an empty ``source`` stays
        ``""`` (not stated) and is filled by :func:`~planetbench.store.importers.import_results`.
        Rows are numbered 1-based (as data rows after the header) in ``row`` when missing.

    Raises:
        InvalidInputError: missing or unknown columns, empty names, metrics of unknown direction,
            non-numeric / NaN / infinite scores, seeds that are not integers or do not fit the
            store, fractions outside (0, 1], or ``details`` that is not a JSON object; the
            message names the offending rows.
    """
    check_columns(df, where)
    out = numbered_copy(df)
    for col in ("model", "task", "metric"):
        out[col] = names_column(out, col, where)
    check_metric_directions(out, where)
    out["score"] = scores_column(out, where)
    out["seed"] = seeds_column(out, where)
    out["fraction"] = numbers_column(out, "fraction", where)
    out["lr"] = numbers_column(out, "lr", where)
    check_fraction_range(out, where)
    for col, default in TEXT_DEFAULTS.items():
        out[col] = text_column(out, col, default)
    out["details"] = details_column(out, where)
    return out[list(LONG_COLUMNS)]


def check_columns(df: pd.DataFrame, where: str) -> None:
    """Every required column is present, no unknown one, at least one row."""
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


def numbered_copy(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with a fresh index and a 1-based ``row`` column when the table has none."""
    out = df.copy().reset_index(drop=True)
    if "row" not in out.columns:
        out["row"] = range(1, len(out) + 1)
    return out


def _bad_rows(out: pd.DataFrame, flags: Any) -> list[Any]:
    return [r for r, bad in zip(out["row"].tolist(), flags, strict=True) if bad]


def names_column(out: pd.DataFrame, col: str, where: str) -> pd.Series:
    """``col`` as stripped text; every row needs a non-empty value."""
    text = out[col].astype("string").str.strip()
    bad = _bad_rows(out, [pd.isna(v) or v == "" for v in text])
    if bad:
        raise InvalidInputError(
            f"{where}: column {col!r} is empty in row(s) {rows_text(bad)}; every row needs a "
            f"{col}"
        )
    return text.astype(str)


def check_metric_directions(out: pd.DataFrame, where: str) -> None:
    """Every metric name has a known direction (higher or lower is better)."""
    unknown = []
    for name in out["metric"].unique():
        try:
            metric_higher_is_better(name)
        except InvalidInputError:
            unknown.append(name)
    if unknown:
        bad = _bad_rows(out, out["metric"].isin(unknown))
        raise InvalidInputError(
            f"{where}: column 'metric' holds name(s) {unknown} whose direction "
            f"(higher or lower is better) is unknown, in row(s) {rows_text(bad)}; rename them "
            "to a known metric: higher is better for r2, miou, iou*, f1*, accuracy*, precision, "
            "recall, auc, roc_auc*, map*, kappa; lower is better for rmse*, mse*, mae*, loss*, "
            "error*, nll"
        )


def scores_column(out: pd.DataFrame, where: str) -> pd.Series:
    """``score`` as float; every row needs a finite number."""
    score = pd.to_numeric(out["score"], errors="coerce").astype(float)
    flags = [not math.isfinite(v) for v in score]
    bad = _bad_rows(out, flags)
    if bad:
        examples = [str(raw) for raw, f in zip(out["score"], flags, strict=True) if f][:3]
        raise InvalidInputError(
            f"{where}: column 'score' is not a finite number in row(s) {rows_text(bad)} "
            f"(e.g. {examples}); write plain numbers such as 0.731 and drop rows without a score"
        )
    return score


def seeds_column(out: pd.DataFrame, where: str) -> pd.Series:
    """``seed`` as nullable integer: empty, or an integer in [SEED_MIN, SEED_MAX]."""
    if "seed" not in out.columns:
        return pd.Series(pd.array([pd.NA] * len(out), dtype="Int64"))
    seed = pd.to_numeric(out["seed"], errors="coerce").astype(float)
    given = [not _is_blank(raw) for raw in out["seed"]]
    not_int = _bad_rows(out, [g and not (math.isfinite(v) and v == int(v))
                              for g, v in zip(given, seed, strict=True)])
    if not_int:
        raise InvalidInputError(
            f"{where}: column 'seed' must hold integers (or be empty) but row(s) "
            f"{rows_text(not_int)} do not"
        )
    too_big = _bad_rows(out, [g and not SEED_MIN <= v <= SEED_MAX
                              for g, v in zip(given, seed, strict=True)])
    if too_big:
        raise InvalidInputError(
            f"{where}: column 'seed' must lie between {SEED_MIN} and {SEED_MAX} (the store keeps "
            f"seeds as 32-bit integers) but row(s) {rows_text(too_big)} do not; write the seed "
            "the run used, or leave the cell empty"
        )
    return seed.astype("Int64")


def numbers_column(out: pd.DataFrame, col: str, where: str) -> pd.Series:
    """An optional numeric column (``fraction``, ``lr``) as float; NaN where empty."""
    if col not in out.columns:
        return pd.Series([float("nan")] * len(out), dtype=float)
    values = pd.to_numeric(out[col], errors="coerce").astype(float)
    bad = _bad_rows(out, [not _is_blank(raw) and not math.isfinite(v)
                          for raw, v in zip(out[col], values, strict=True)])
    if bad:
        raise InvalidInputError(
            f"{where}: column {col!r} must be numeric (or empty) but row(s) "
            f"{rows_text(bad)} are not"
        )
    return values


def check_fraction_range(out: pd.DataFrame, where: str) -> None:
    """Every stated fraction lies in (0, 1]."""
    bad = _bad_rows(out, [v == v and not 0.0 < v <= 1.0 for v in out["fraction"]])
    if bad:
        raise InvalidInputError(
            f"{where}: column 'fraction' is the share of the training split and must lie in "
            f"(0, 1], but row(s) {rows_text(bad)} are outside; write 0.1 for 10 %"
        )


def text_column(out: pd.DataFrame, col: str, default: str) -> pd.Series:
    """An optional text column, stripped, with ``default`` where empty or absent."""
    if col not in out.columns:
        return pd.Series([default] * len(out))
    text = out[col].astype("string").str.strip().fillna(default).astype(str)
    return text.where(text != "", default)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def details_column(out: pd.DataFrame, where: str) -> pd.Series:
    """``details`` as canonical JSON text of an object (``"{}"`` where empty or absent)."""
    if "details" not in out.columns:
        return pd.Series(["{}"] * len(out))
    parsed: list[str] = []
    for rid, raw in zip(out["row"], out["details"], strict=True):
        if raw is None or (isinstance(raw, float) and math.isnan(raw)) or str(raw) == "":
            parsed.append("{}")
            continue
        try:
            value = (
                json.loads(raw, parse_constant=_refuse_constant) if isinstance(raw, str) else raw
            )
        except json.JSONDecodeError as exc:
            raise InvalidInputError(
                f"{where}: column 'details' in row {rid} is not valid JSON ({exc.msg})"
            ) from exc
        except ValueError as exc:
            raise InvalidInputError(
                f"{where}: column 'details' in row {rid} is not valid JSON ({exc}); write null "
                "for a missing number"
            ) from exc
        if not isinstance(value, dict):
            raise InvalidInputError(
                f"{where}: column 'details' in row {rid} must be a JSON object like "
                '{"decoder": "UNet"}'
            )
        parsed.append(json.dumps(value, sort_keys=True, default=str))
    return pd.Series(parsed)


__all__ = [
    "LONG_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PROVENANCE_COLUMNS",
    "REQUIRED_COLUMNS",
    "SEED_MAX",
    "SEED_MIN",
    "validate_long",
]
