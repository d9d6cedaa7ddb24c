"""Frozen, versioned normalisation of scores onto a common 0–1 scale that respects metric direction.

A :class:`Normaliser` is fitted once from designated *reference* runs and then frozen (saved as
JSON with a version string). Each (task, metric) gets two anchors taken from the reference runs
only: ``low`` and ``high`` are the ``low_pct`` and ``high_pct`` percentiles of all reference runs
on that task (defaults 0 and 100, i.e. the minimum and maximum). A score s becomes

    higher is better:  (s − low) / (high − low)
    lower is better:   (high − s) / (high − low)

so 0 is the worst reference anchor and 1 the best, whatever the metric direction (RMSE is
flipped). Scores outside the reference range map outside [0, 1] (never clipped). Because the
anchors are frozen, normalising a new model never changes any other model's normalised scores;
this is the human-normalised-score idea of Agarwal et al. (2021), "Deep RL at the edge of the
statistical precipice", with reference models in place of random/human agents.

Tidy input: one row per run with columns ``model``, ``task``, ``metric``, ``score``, ``seed`` and
optionally ``higher_is_better`` (bool). Without that column the direction is looked up from the
metric name with :func:`metric_higher_is_better`.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import require_columns

TIDY_COLUMNS = ("model", "task", "metric", "score", "seed")
JSON_SCHEMA = "planetbench.normaliser/1"

_HIGHER_EXACT = {
    "r2",
    # GEO-Bench-2's biomassters score: 1 − 0.2538·RMSE, submitted in place of the RMSE.
    "rmse_skill",
    "miou",
    "iou",
    "accuracy",
    "acc",
    "precision",
    "recall",
    "auc",
    "map",
    "kappa",
    "q",  # NeuCo-Bench's quality score (stats.qscore)
}
_HIGHER_PREFIX = ("f1", "accuracy", "miou", "iou", "roc_auc", "auc", "map", "precision", "recall")
_LOWER_EXACT = {"rmse", "mse", "mae", "loss", "error", "nll"}
_LOWER_PREFIX = ("rmse", "mse", "mae", "loss", "error")


def metric_higher_is_better(metric: str) -> bool:
    """Direction of a metric from its name.

    Higher is better: ``r2``, ``miou``/``iou*``, ``f1*`` (``f1_macro``…), ``accuracy*``,
    ``precision``, ``recall``, ``auc``/``roc_auc*``, ``map*``, ``kappa`` and ``rmse_skill``
    (GEO-Bench-2's 1 − 0.2538·RMSE of biomassters). Lower is better:
    ``rmse*``, ``mse*``, ``mae*``, ``loss*``, ``error*``, ``nll``.

    Args:
        metric: metric name, case-insensitive.

    Returns:
        True when a larger value is better.

    Raises:
        InvalidInputError: the name is not known; add a ``higher_is_better`` column instead.
    """
    name = str(metric).strip().lower()
    if name in _HIGHER_EXACT or name.startswith(_HIGHER_PREFIX):
        return True
    if name in _LOWER_EXACT or name.startswith(_LOWER_PREFIX):
        return False
    raise InvalidInputError(
        f"unknown direction for metric {metric!r}; known: higher is better for r2, miou, iou*, "
        "f1*, accuracy*, precision, recall, auc, roc_auc*, map*, kappa and lower is better for "
        "rmse*, mse*, mae*, loss*, error*, nll. Add a boolean 'higher_is_better' column to the "
        "DataFrame to state it."
    )


def metric_directions(df: pd.DataFrame, *, where: str = "df") -> pd.Series:
    """Whether each row's score is higher-is-better, from ``higher_is_better`` or ``metric``.

    The one direction lookup of planetbench: a ``higher_is_better`` column (only True/False
    allowed, never coerced) wins; otherwise each ``metric`` name is looked up with
    :func:`metric_higher_is_better`.

    Args:
        df: rows with a boolean ``higher_is_better`` column or a ``metric`` column.
        where: how to name the table in error messages.

    Returns:
        Boolean Series aligned with ``df``.

    Raises:
        InvalidInputError: neither column, a non-boolean or empty ``higher_is_better`` value,
            or a metric name of unknown direction.
    """
    if "higher_is_better" in df.columns:
        col = df["higher_is_better"]
        if col.isna().any() or not all(isinstance(v, (bool, np.bool_)) for v in col):
            raise InvalidInputError(
                f"{where}: column 'higher_is_better' must hold only True/False; got values "
                f"{sorted(map(repr, col.unique()))[:5]}"
            )
        return col.astype(bool)
    if "metric" not in df.columns:
        raise InvalidInputError(
            f"{where} needs a 'higher_is_better' (bool) or a 'metric' column to tell whether "
            "larger scores are better"
        )
    metric = df["metric"].astype(str)
    lookup: dict[str, bool] = {}
    for name in metric.unique():
        try:
            lookup[name] = metric_higher_is_better(name)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{where}: {exc}") from exc
    return metric.map(lookup).astype(bool)


def normalise_scores(
    score: ArrayLike, low: ArrayLike, high: ArrayLike, higher_is_better: ArrayLike
) -> np.ndarray:
    """Scores on the 0 (worst anchor) to 1 (best anchor) scale, whatever the metric direction.

    ``(score - low) / (high - low)`` where higher is better and ``(high - score) / (high - low)``
    where lower is better (all arguments broadcast). This is the one min-max normalisation of
    planetbench: :meth:`Normaliser.transform` applies it with frozen reference anchors, and the
    capability encoding's ``range`` gap is it with the direction flipped (0 = best model).

    Args:
        score: scores in metric units.
        low: lower anchors (metric units), ``low < high``.
        high: upper anchors.
        higher_is_better: metric directions (bool).

    Returns:
        Float array of the broadcast shape.
    """
    score, low, high = (np.asarray(a, dtype=np.float64) for a in (score, low, high))
    hib = np.asarray(higher_is_better, dtype=bool)
    return np.asarray(np.where(hib, score - low, high - score) / (high - low))


def denormalise_scores(
    value: ArrayLike, low: ArrayLike, high: ArrayLike, higher_is_better: ArrayLike
) -> np.ndarray:
    """The inverse of :func:`normalise_scores`: normalised values back to metric units."""
    value, low, high = (np.asarray(a, dtype=np.float64) for a in (value, low, high))
    hib = np.asarray(higher_is_better, dtype=bool)
    return np.asarray(np.where(hib, low + value * (high - low), high - value * (high - low)))


def _validate_tidy(df: pd.DataFrame, name: str = "df") -> None:
    require_columns(df, TIDY_COLUMNS, name)
    scores = pd.to_numeric(df["score"], errors="coerce")
    bad = ~np.isfinite(scores.to_numpy(dtype=np.float64))
    if bad.any():
        row = df[bad].iloc[0]
        raise InvalidInputError(
            f"{name} has {int(bad.sum())} missing or non-finite score(s), e.g. model "
            f"{row['model']!r}, task {row['task']!r}, seed {row['seed']!r}; drop those runs first"
        )


@dataclass(frozen=True)
class Anchor:
    """Anchors of one (task, metric).

    Attributes:
        task: task id.
        metric: metric name.
        low: lower anchor (metric units), the ``low_pct`` percentile of the reference runs.
        high: upper anchor (metric units), the ``high_pct`` percentile; ``high > low``.
        higher_is_better: metric direction; when False, ``high`` maps to 0 and ``low`` to 1.
    """

    task: str
    metric: str
    low: float
    high: float
    higher_is_better: bool


@dataclass(frozen=True)
class Normaliser:
    """A frozen, versioned score normaliser (see the module docstring for the formula).

    Build it with :meth:`fit`; store it with :meth:`to_json` and restore with :meth:`from_json`.

    Attributes:
        version: user-chosen version label, e.g. ``"v1"``; bump it whenever you refit.
        reference_models: models whose runs defined the anchors.
        low_pct: percentile (0–100) of the reference runs used as the low anchor.
        high_pct: percentile (0–100) used as the high anchor.
        anchors: one :class:`Anchor` per (task, metric), sorted.
    """

    version: str
    reference_models: tuple[str, ...]
    low_pct: float
    high_pct: float
    anchors: tuple[Anchor, ...] = field(default_factory=tuple)

    @classmethod
    def fit(
        cls,
        df: pd.DataFrame,
        *,
        reference_models: Sequence[str],
        version: str,
        low_pct: float = 0.0,
        high_pct: float = 100.0,
    ) -> Normaliser:
        """Fit the anchors from the runs of ``reference_models`` in a tidy DataFrame.

        Args:
            df: tidy runs (columns model, task, metric, score, seed [, higher_is_better]).
            reference_models: models whose runs define the anchors; each (task, metric) in
                ``df`` must have reference runs with at least two distinct scores.
            version: non-empty version label stored with the anchors.
            low_pct: percentile of the reference runs for the low anchor (0 = minimum).
            high_pct: percentile for the high anchor (100 = maximum); > ``low_pct``.

        Returns:
            The fitted, frozen normaliser.

        Raises:
            InvalidInputError: bad columns/scores, unknown reference models, a task without
                reference runs, degenerate anchors (high == low), bad percentiles or version.
        """
        _validate_tidy(df)
        if not isinstance(version, str) or not version.strip():
            raise InvalidInputError(
                f"version must be a non-empty string such as 'v1'; got {version!r}"
            )
        if not (0.0 <= low_pct < high_pct <= 100.0):
            raise InvalidInputError(
                f"percentiles must satisfy 0 <= low_pct < high_pct <= 100; got "
                f"low_pct={low_pct!r}, high_pct={high_pct!r}"
            )
        refs = tuple(dict.fromkeys(str(m) for m in reference_models))
        if not refs:
            raise InvalidInputError("reference_models is empty; name at least one model")
        known = set(df["model"].astype(str))
        unknown = [m for m in refs if m not in known]
        if unknown:
            raise InvalidInputError(
                f"reference_models {unknown} have no runs in df; models present: {sorted(known)}"
            )
        directions = metric_directions(df)
        anchors: list[Anchor] = []
        is_ref = df["model"].astype(str).isin(refs)
        for (task, metric), group in df.groupby(["task", "metric"], sort=True):
            hib = directions.loc[group.index]
            if hib.nunique() != 1:
                raise InvalidInputError(
                    f"task {task!r}, metric {metric!r} has conflicting higher_is_better values"
                )
            ref_scores = group.loc[is_ref.loc[group.index], "score"].to_numpy(dtype=np.float64)
            if ref_scores.size == 0:
                raise InvalidInputError(
                    f"task {task!r}, metric {metric!r} has no runs from the reference models "
                    f"{list(refs)}; add reference runs for it or drop the task"
                )
            low, high = np.percentile(ref_scores, [low_pct, high_pct])
            if not high > low:
                raise InvalidInputError(
                    f"task {task!r}, metric {metric!r}: reference anchors are equal "
                    f"(low = high = {low:g}), so scores cannot be normalised; add a reference "
                    "model that scores differently or widen the percentiles"
                )
            anchors.append(
                Anchor(str(task), str(metric), float(low), float(high), bool(hib.iloc[0]))
            )
        return cls(version.strip(), refs, float(low_pct), float(high_pct), tuple(anchors))

    @classmethod
    def from_ranges(
        cls,
        ranges: Mapping[str, Sequence[float]],
        metrics: Mapping[str, str],
        *,
        version: str,
    ) -> Normaliser:
        """A frozen normaliser from published per-task ``[low, high]`` anchors.

        GEO-Bench-2's and Mars-Bench's ``normalizer.json`` hold ``{task: [low, high]}``; the
        metric of each task (and so its direction) comes from the runs it will normalise.

        Args:
            ranges: task → ``[low, high]`` (finite, ``low < high``).
            metrics: task → metric name, for the tasks to keep (tasks of ``ranges`` not in it
                are left out).
            version: version label, e.g. ``"geobench2 normalizer.json"``.

        Raises:
            InvalidInputError: a task of ``metrics`` without a range, a malformed range, or a
                metric of unknown direction.
        """
        anchors = []
        for task, metric in sorted(metrics.items()):
            if task not in ranges:
                raise InvalidInputError(
                    f"the normaliser {version!r} has no [low, high] range for task {task!r}; it "
                    f"covers {sorted(ranges)}"
                )
            pair = ranges[task]
            try:
                low, high = (float(v) for v in pair)
            except (TypeError, ValueError) as exc:
                raise InvalidInputError(
                    f"the normaliser {version!r} range of task {task!r} must be [low, high]; "
                    f"got {pair!r}"
                ) from exc
            if not (math.isfinite(low) and math.isfinite(high) and high > low):
                raise InvalidInputError(
                    f"the normaliser {version!r} range of task {task!r} needs finite low < high; "
                    f"got [{low}, {high}]"
                )
            anchors.append(Anchor(task, metric, low, high, metric_higher_is_better(metric)))
        return cls(version, (), 0.0, 100.0, tuple(anchors))

    def _lookup(self) -> dict[tuple[str, str], Anchor]:
        return {(a.task, a.metric): a for a in self.anchors}

    def transform(self, df: pd.DataFrame, *, column: str = "normalised") -> pd.DataFrame:
        """Add a normalised-score column to a copy of a tidy DataFrame.

        Args:
            df: tidy runs; every (task, metric) must have been seen by :meth:`fit`.
            column: name of the new column.

        Returns:
            A copy of ``df`` with ``column`` (0 = low reference anchor, 1 = best reference anchor).

        Raises:
            InvalidInputError: bad columns/scores, unknown (task, metric), or a
                ``higher_is_better`` column that contradicts the fitted direction.
        """
        _validate_tidy(df)
        lookup = self._lookup()
        keys = list(zip(df["task"].astype(str), df["metric"].astype(str), strict=True))
        unknown = sorted({k for k in keys if k not in lookup})
        if unknown:
            raise InvalidInputError(
                f"normaliser {self.version!r} has no anchors for (task, metric) {unknown}; it "
                f"knows {sorted(lookup)}. Refit a new version that includes them."
            )
        low = np.array([lookup[k].low for k in keys])
        high = np.array([lookup[k].high for k in keys])
        hib = np.array([lookup[k].higher_is_better for k in keys], dtype=bool)
        if "higher_is_better" in df.columns:
            given = metric_directions(df).to_numpy()
            if (given != hib).any():
                raise InvalidInputError(
                    "df's higher_is_better column contradicts the direction the normaliser "
                    f"{self.version!r} was fitted with for some (task, metric); fix the column"
                )
        out = df.copy()
        out[column] = normalise_scores(df["score"].to_numpy(dtype=np.float64), low, high, hib)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary holding everything needed to rebuild this normaliser."""
        return {
            "schema": JSON_SCHEMA,
            "version": self.version,
            "reference_models": list(self.reference_models),
            "low_pct": self.low_pct,
            "high_pct": self.high_pct,
            "anchors": [
                {
                    "task": a.task,
                    "metric": a.metric,
                    "low": a.low,
                    "high": a.high,
                    "higher_is_better": a.higher_is_better,
                }
                for a in self.anchors
            ],
        }

    def to_json(self) -> str:
        """Serialise to a JSON string (floats round-trip exactly)."""
        return json.dumps(self.to_dict(), sort_keys=True, indent=2)

    @property
    def digest(self) -> str:
        """Short sha256 of the canonical JSON, to cite the exact normaliser in a report."""
        blob = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_json(cls, text: str) -> Normaliser:
        """Rebuild a normaliser from :meth:`to_json` output.

        Raises:
            InvalidInputError: not JSON, wrong schema, or malformed anchors.
        """
        try:
            data = json.loads(text)
        except (TypeError, json.JSONDecodeError) as exc:
            raise InvalidInputError(f"normaliser JSON could not be parsed: {exc}") from exc
        if not isinstance(data, dict) or data.get("schema") != JSON_SCHEMA:
            got = data.get("schema") if isinstance(data, dict) else type(data).__name__
            raise InvalidInputError(f"normaliser JSON has schema {got!r}; expected {JSON_SCHEMA!r}")
        try:
            anchors = tuple(
                Anchor(
                    str(a["task"]),
                    str(a["metric"]),
                    float(a["low"]),
                    float(a["high"]),
                    bool(a["higher_is_better"]),
                )
                for a in data["anchors"]
            )
            result = cls(
                str(data["version"]),
                # Files written by planetbench 0.1 name the key reference_methods.
                tuple(str(m) for m in (data.get("reference_models")
                                       or data.get("reference_methods") or ())),
                float(data["low_pct"]),
                float(data["high_pct"]),
                anchors,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInputError(
                f"normaliser JSON is missing or has a bad field: {exc}"
            ) from exc
        for a in anchors:
            if not (math.isfinite(a.low) and math.isfinite(a.high) and a.high > a.low):
                raise InvalidInputError(
                    f"normaliser JSON anchor for ({a.task!r}, {a.metric!r}) needs finite "
                    f"low < high; got low={a.low}, high={a.high}"
                )
        return result
