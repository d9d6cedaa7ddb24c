"""What an embedding evaluation returns and writes to ``summary.json``: per-task outcomes and the
summary of one evaluated file."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from planetbench.store import Result

#: Suite of embedding evaluations unless told otherwise.
SUITE = "neuco"


@dataclass
class TaskSummary:
    """The outcome of one task.

    Attributes:
        task: task name.
        kind: task kind.
        metric: main metric name (``r2``, ``f1``, ``f1_macro``).
        probe: resolved probe name.
        mean: mean of the main metric over the K splits.
        std: its standard deviation (ddof 0, as in Q).
        q: NeuCo-Bench quality score.
        n_samples: number of samples scored.
        fold_scores: main metric per split, length K.
        coverage: share of the task's ids found in the embedding file.
        unreliable: True when Q is negative or not finite.
        notes: warnings recorded with the result.
        resumed: True when the result was read from the store instead of computed.
        run_key: the stored run's identity.
    """

    task: str
    kind: str
    metric: str
    probe: str
    mean: float
    std: float
    q: float
    n_samples: int
    fold_scores: list[float]
    coverage: float = 1.0
    unreliable: bool = False
    notes: list[str] = field(default_factory=list)
    resumed: bool = False
    run_key: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The ``summary.json`` entry of this task."""
        return {
            "metric": self.metric,
            "q": self.q,
            "mean": self.mean,
            "std": self.std,
            "n_samples": self.n_samples,
            "fold_scores": list(self.fold_scores),
            "kind": self.kind,
            "probe": self.probe,
            "coverage": self.coverage,
            "unreliable": self.unreliable,
            "notes": list(self.notes),
            "resumed": self.resumed,
        }


@dataclass
class EvaluationSummary:
    """What :func:`evaluate_embeddings` did.

    Attributes:
        name: model name (leaderboard row).
        config: the full evaluation configuration (probe config plus preprocessing options).
        tasks: per-task outcomes, by task name (sorted).
        embeddings: the embedding file.
        labels: the label folder.
        input_sha256: checksum of the embedding file.
        suite: suite the results are stored under.
        resumed: names of tasks whose results were reused from the store.
        summary_path: where ``summary.json`` was written (None without ``out``).
        plot_paths: PNG files written (empty without ``plots``).
        results: the stored :class:`Result` rows of this evaluation (new ones only).
        predictions: pooled test ``(y_true, y_pred)`` per freshly run task (not serialised).
        details: per freshly run task under NeuCo's rules, the probe's details (``options``,
            ``splits``, ``test_predictions``, targets ``y``) for NeuCo's outputs (not serialised).
        warnings: what was scored around (NeuCo's leniency: empty label cells, ids without an
            embedding), one message each.
    """

    name: str
    config: dict[str, Any]
    tasks: dict[str, TaskSummary]
    embeddings: Path
    input_sha256: str
    suite: str = SUITE
    labels: Path | None = None
    resumed: list[str] = field(default_factory=list)
    summary_path: Path | None = None
    plot_paths: list[Path] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    predictions: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict, repr=False)
    details: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)
    warnings: list[str] = field(default_factory=list)

    @property
    def mean_q(self) -> float:
        """Mean Q over tasks (NaN when there is no task)."""
        qs = [t.q for t in self.tasks.values()]
        return float(np.mean(qs)) if qs else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """The content of ``summary.json``."""
        return {
            "name": self.name,
            "config": self.config,
            "embeddings": str(self.embeddings),
            "labels": str(self.labels) if self.labels is not None else None,
            "input_sha256": self.input_sha256,
            "mean_q": self.mean_q,
            "resumed": list(self.resumed),
            "warnings": list(self.warnings),
            "tasks": {name: t.to_dict() for name, t in self.tasks.items()},
        }


def json_safe(value: Any) -> Any:
    """``value`` with non-finite floats as None (strict JSON) and NumPy values as Python ones."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as strict JSON (NaN/inf written as null, never as NaN tokens; other
    values JSON lacks, such as YAML dates, as text).

    Returns:
        The path written.
    """
    path = Path(path)
    text = json.dumps(json_safe(data), indent=2, allow_nan=False, default=str)
    path.write_text(text + "\n")
    return path


__all__ = ["SUITE", "EvaluationSummary", "TaskSummary", "json_safe", "write_json"]
