"""NeuCo-Bench phase folders: the ``results_summary.json`` of every run (``planetbench import``).

NeuCo-Bench writes one folder per run under its phase folder ``D/P/`` and, in it,
``results_summary.json`` in one of two layouts:

* v1.1 (github.com/embed2scale/NeuCo-Bench at a89ba06, and ``planetbench neuco``):
  ``experiment``, ``overall_q_score``, ``overall_acc_score``, ``task_q_scores``,
  ``task_acc_scores``, ``config``;
* 2025 (NeuCo-Bench before February 2026, and earlier planetbench releases): ``experiment``,
  ``overall_score``, ``task_results`` (Q per task), ``config``. NeuCo-Bench v1.1's own reader
  looks for ``task_result`` (singular) and so finds no task in these files; we read
  ``task_results`` (and ``task_result``), which is what that reader means to do.

:func:`read_phase_runs` reads one run per folder (a folder name, not the ``experiment`` value,
identifies a run); a file that cannot be read or lacks these keys is skipped and named.

Mapping into the long schema: model = ``experiment`` (NeuCo's leaderboard row), task = task name,
metric ``q`` (the Q score, from ``task_q_scores`` / ``task_results``) and ``acc`` (NeuCo's
``task_acc_scores``: the mean fold score, R² or F1 by task type, which the file does not say),
protocol ``probe``, suite ``neuco``, source ``neuco:<phase>``; ``details`` keeps the run folder
and the layout. Scores that are not finite (NeuCo writes ``NaN`` for a task whose folds all
failed) are not results: they are skipped and named in ``attrs["notes"]``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.store.importers.formats import TableFormat
from planetbench.store.importers.schema import validate_long

SUMMARY_FILE = "results_summary.json"


@dataclass(frozen=True)
class PhaseRun:
    """One run of a NeuCo-Bench phase folder.

    Attributes:
        folder: the run folder.
        experiment: its ``experiment`` value.
        layout: ``"v1.1"`` or ``"2025"``.
        q: Q per task (NaN where the file has ``null``/``NaN``).
        acc: mean fold score per task (empty for the 2025 layout).
        overall_q: ``overall_q_score`` (``overall_score`` in the 2025 layout) or NaN.
        overall_acc: ``overall_acc_score`` or NaN (2025 layout: none).
    """

    folder: Path
    experiment: str
    layout: str
    q: dict[str, float] = field(default_factory=dict)
    acc: dict[str, float] = field(default_factory=dict)
    overall_q: float = math.nan
    overall_acc: float = math.nan


def _number(value: Any, key: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} holds {value!r}, not a number")
    return float(value)


def _scores(data: dict[str, Any], key: str) -> dict[str, float]:
    scores = data.get(key)
    if scores is None:
        return {}
    if not isinstance(scores, dict):
        raise ValueError(f"{key!r} is not a mapping of task → score")
    return {str(k): _number(v, f"{key}[{k!r}]") for k, v in scores.items()}


def read_run(path: Path) -> PhaseRun:
    """One ``results_summary.json`` (either layout).

    Raises:
        ValueError: the file is not JSON, or lacks ``experiment`` or every per-task key.
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{exc.__class__.__name__}: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("experiment"), str):
        raise ValueError("it is not a NeuCo-Bench summary (no 'experiment' name)")
    if "task_q_scores" in data or "task_acc_scores" in data:
        return PhaseRun(path.parent, data["experiment"], "v1.1",
                        _scores(data, "task_q_scores"), _scores(data, "task_acc_scores"),
                        _number(data.get("overall_q_score"), "overall_q_score"),
                        _number(data.get("overall_acc_score"), "overall_acc_score"))
    key = "task_results" if "task_results" in data else "task_result"
    if key not in data:
        raise ValueError("it has neither 'task_q_scores' (v1.1) nor 'task_results' (2025)")
    return PhaseRun(path.parent, data["experiment"], "2025", _scores(data, key), {},
                    _number(data.get("overall_score"), "overall_score"))


def read_phase_runs(phase_dir: str | Path) -> tuple[list[PhaseRun], list[str]]:
    """Every run of a phase folder, by folder name; and the summaries skipped, each with why.

    Raises:
        InvalidInputError: the phase folder does not exist.
    """
    phase_dir = Path(phase_dir)
    if not phase_dir.is_dir():
        raise InvalidInputError(
            f"phase folder {str(phase_dir)!r} does not exist; it is OUTPUT_DIR/PHASE of a "
            "NeuCo-Bench run"
        )
    runs: list[PhaseRun] = []
    skipped: list[str] = []
    for folder in sorted(p for p in phase_dir.iterdir() if p.is_dir()):
        file = folder / SUMMARY_FILE
        if not file.is_file():
            continue
        try:
            runs.append(read_run(file))
        except ValueError as exc:
            skipped.append(f"{file}: {exc}")
    return runs, skipped


def _is_phase_folder(path: Path) -> bool:
    return any((p / SUMMARY_FILE).is_file() for p in path.iterdir() if p.is_dir())


def phase_folders(output_dir: Path) -> list[Path]:
    """The phase folders of a NeuCo-Bench ``--output_dir`` (folders of run folders), sorted."""
    return sorted(p for p in output_dir.iterdir() if p.is_dir() and _is_phase_folder(p))


def is_neuco_folder(path: Path) -> bool:
    """A run folder (holding ``results_summary.json``), a phase folder of run folders, or an
    output folder (``--output_dir``) of phase folders."""
    if not path.is_dir():
        return False
    return ((path / SUMMARY_FILE).is_file() or _is_phase_folder(path)
            or bool(phase_folders(path)))


def read_neuco(path: str | Path) -> pd.DataFrame:
    """A NeuCo-Bench phase folder (or one run folder, one ``results_summary.json``, or an
    ``--output_dir`` holding phase folders: every phase, each its own source) in the long schema
    (see the module docstring).

    Raises:
        InvalidInputError: nothing readable at ``path``; a corrupt summary in a phase folder is
            skipped and named in ``attrs["notes"]`` instead.
    """
    path = Path(path)
    notes: list[str] = []
    if path.is_file() or (path / SUMMARY_FILE).is_file():
        file = path if path.is_file() else path / SUMMARY_FILE
        try:
            runs = [(file.parent.parent.name, read_run(file))]
        except ValueError as exc:
            raise InvalidInputError(f"cannot read {str(file)!r}: {exc}") from None
    else:
        phases = ([path] if not path.is_dir() or _is_phase_folder(path)
                  else phase_folders(path) or [path])
        runs = []
        for phase_dir in phases:
            found, skipped = read_phase_runs(phase_dir)
            runs += [(phase_dir.name, run) for run in found]
            notes += [f"skipped {s}" for s in skipped]
    rows = []
    for phase, run in runs:
        for metric, scores in (("q", run.q), ("acc", run.acc)):
            for task, score in scores.items():
                if not math.isfinite(score):
                    notes.append(f"{run.folder.name}: {metric} of task {task!r} is not a number; "
                                 "not imported")
                    continue
                rows.append({
                    "model": run.experiment, "task": task, "metric": metric, "score": score,
                    "protocol": "probe", "suite": "neuco", "source": f"neuco:{phase}",
                    "file": str(run.folder / SUMMARY_FILE), "row": 1,
                    "details": json.dumps({"run_folder": run.folder.name,
                                           "layout": run.layout}),
                })
    if not rows:
        raise InvalidInputError(
            f"{str(path)!r} holds no readable NeuCo-Bench result (results_summary.json with "
            "finite task scores)" + (f"; {'; '.join(notes)}" if notes else "")
        )
    out = validate_long(pd.DataFrame(rows), where=str(path))
    out.attrs["notes"] = notes
    return out


FORMAT = TableFormat(
    name="neuco",
    summary="a NeuCo-Bench phase folder (run folders with results_summary.json, v1.1 or 2025)",
    read=read_neuco,
    recognises_file=lambda path, header: False,
    recognises_folder=is_neuco_folder,
    folder_hint="a NeuCo-Bench phase folder (run folders holding results_summary.json) or its "
                "--output_dir",
    priority=40,
)

__all__ = ["FORMAT", "SUMMARY_FILE", "PhaseRun", "is_neuco_folder", "phase_folders",
           "read_neuco", "read_phase_runs", "read_run"]
