"""The Mars part of the download-free demo: SYNTHETIC Mars-like tasks under Mars-Bench's protocols.

:func:`run_mars_demo` draws the seeded SYNTHETIC scenes of :mod:`planetbench.tasks.demo_mars`
(crater / no-crater classification, pitted-cone segmentation, boulder detection; grey images of a
shaded Mars-like terrain) and evaluates, through the same runner and results store as
``planetbench run``:

* ``unet (tiny)`` under ``scratch`` (Mars-Bench's ``scratch_training``: everything trained from
  random weights) and under ``frozen`` (``feature_extraction`` on a random encoder: what training
  the head alone gets from untrained features);
* ``mosaiks`` (random convolutional features, Rolf et al. 2021) under ``frozen``.

Heads: a linear classifier, a UperNet decoder (width 32) and an FCOS detector (width 32). The
table shows per task planetbench's metric (``f1``, ``miou``, ``map``) and, where it differs,
Mars-Bench's (``f1_weighted_mb``, ``iou_mb``). Every number is from SYNTHETIC data: it shows that
the machinery works, nothing about real Mars data.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.tasks.demo import SYNTHETIC_NOTICE

if TYPE_CHECKING:
    import pandas as pd

    from planetbench.config import ExperimentSpec

#: (encoder, protocols) the Mars demo runs on every task, with the encoders' options.
MARS_DEMO_RUNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("unet", ("scratch", "frozen")),
    ("mosaiks", ("frozen",)),
)
ENCODER_OPTIONS: dict[str, dict[str, Any]] = {"unet": {"tiny": True}, "mosaiks": {"num_filters": 16}}

#: Per-task settings: head, head options, input size, batch size, learning rate.
TASK_SETTINGS: dict[str, dict[str, Any]] = {
    "demo-mars-craters": {"head": "linear", "head_options": {}, "input_size": 32,
                          "batch_size": 8, "lrs": [1e-2]},
    "demo-mars-cones": {"head": "upernet", "head_options": {"channels": 32}, "input_size": 32,
                        "batch_size": 8, "lrs": [1e-3]},
    "demo-mars-boulders": {"head": "fcos", "head_options": {"out_channels": 32, "levels": [2, 3]},
                           "input_size": 64, "batch_size": 4, "lrs": [1e-3]},
}


@dataclass(frozen=True)
class MarsDemoSettings:
    """Size of the Mars demo: scenes per task, epochs and patience."""

    n_images: int
    epochs: int
    patience: int


FULL = MarsDemoSettings(n_images=60, epochs=6, patience=3)
QUICK = MarsDemoSettings(n_images=30, epochs=2, patience=2)


@dataclass
class MarsDemoReport:
    """What :func:`run_mars_demo` did. Everything in it comes from SYNTHETIC data.

    Attributes:
        out: output folder (``data/`` with the scenes, ``fractions/``).
        store: URL of the results store.
        seed: seed of the scenes and runs.
        settings: sizes used.
        leaderboard: one row per model · protocol: ``model``, ``protocol``, ``training_type``,
            then per task its metric (``<task> <metric>``) and Mars-Bench's where it differs
            (``<task> <metric> (Mars-Bench)``).
        n_runs: runs in the grid; ``n_skipped``: already stored (resumed).
        timings: seconds in ``generate``, ``runs``, ``leaderboard`` and ``total``.
        synthetic: always True; ``notice``: the notice to show with these numbers.
    """

    out: Path
    store: str
    seed: int
    settings: MarsDemoSettings
    leaderboard: pd.DataFrame
    n_runs: int
    n_skipped: int
    timings: dict[str, float] = field(default_factory=dict)
    synthetic: bool = True
    notice: str = SYNTHETIC_NOTICE


def mars_demo_experiments(data: Path, fractions_dir: Path, *, seed: int,
                          settings: MarsDemoSettings) -> list[ExperimentSpec]:
    """The Mars demo's grids, one per task and encoder."""
    from planetbench.config import ExperimentSpec

    specs = []
    for task, task_settings in TASK_SETTINGS.items():
        for encoder, protocols in MARS_DEMO_RUNS:
            specs.append(ExperimentSpec.model_validate({
                "encoders": [encoder], "tasks": [task], "protocols": list(protocols),
                "seeds": [seed], "root": str(data), "fraction_dir": str(fractions_dir),
                "fraction_seed": seed, "encoder_options": {encoder: ENCODER_OPTIONS[encoder]},
                "epochs": settings.epochs, "patience": settings.patience, "num_threads": 1,
                "latency_repeats": 2, **task_settings,
            }))
    return specs


def run_mars_demo(*, out: Path, store: str, seed: int = 0, quick: bool = False,
                  progress: bool = False) -> MarsDemoReport:
    """Run the Mars demo (see the module docstring); stored runs are skipped.

    Args:
        out: output folder (created).
        store: results store URL or SQLite path.
        seed: seed of the scenes and runs.
        quick: fewer scenes and epochs.
        progress: show Rich progress and status lines.
    """
    from planetbench.runs.identity import planned_run_key
    from planetbench.runs.runner import run_experiment
    from planetbench.store import ResultStore
    from planetbench.tasks.demo_mars import write_mars_demo_data

    t_total = time.perf_counter()
    settings = QUICK if quick else FULL
    out = Path(out)
    data = out / "data"
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    write_mars_demo_data(data, n_images=settings.n_images, seed=seed)
    timings["generate"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    rs = ResultStore(store)
    specs = mars_demo_experiments(data, out / "fractions", seed=seed, settings=settings)
    n_runs = n_skipped = 0
    for spec in specs:
        summary = run_experiment(spec, store=rs, progress=progress,
                                 print_fn=None if progress else _quiet)
        n_runs += summary.n_total
        n_skipped += summary.n_skipped
    timings["runs"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    keys = {planned_run_key(r) for spec in specs for r in spec.runs()}
    rows = rs.query(suite="demo-mars")
    board = mars_demo_table(rows[rows["run_key"].isin(keys)])
    timings["leaderboard"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_total
    return MarsDemoReport(out, rs.url, seed, settings, board, n_runs, n_skipped, timings)


def _quiet(_: str) -> None:
    """Swallow the runner's status lines."""


def mars_demo_table(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per model · protocol, per task our metric and Mars-Bench's (mean over seeds).

    Args:
        rows: stored runs (:meth:`~planetbench.store.ResultStore.query`) of the demo tasks.
    """
    import pandas as pd

    from planetbench.protocols.mars import training_type

    records: dict[tuple[str, str], dict[str, Any]] = {}
    values: dict[tuple[str, str], dict[str, list[float]]] = {}
    columns: list[str] = []
    for r in rows.itertuples():
        key = (str(r.model), str(r.protocol))
        records.setdefault(key, {"model": key[0], "protocol": key[1],
                                 "training_type": training_type(key[1])})
        cells = values.setdefault(key, {})
        names = [(f"{r.task} {r.metric}", r.score)]
        mb = r.metrics.get("marsbench_metric")
        if mb and mb != r.metric:
            names.append((f"{r.task} {mb} (Mars-Bench)", r.metrics.get(mb)))
        for name, value in names:
            if name not in columns:
                columns.append(name)
            if value is not None and value == value:
                cells.setdefault(name, []).append(float(value))
    table = []
    for key, record in records.items():
        row = dict(record)
        for name in columns:
            got = values[key].get(name)
            row[name] = sum(got) / len(got) if got else None
        table.append(row)
    frame = pd.DataFrame(table, columns=["model", "protocol", "training_type", *sorted(columns)])
    return frame.sort_values(["model", "protocol"]).reset_index(drop=True)


def mars_demo_view(board: pd.DataFrame) -> pd.DataFrame:
    """:func:`mars_demo_table` turned for a terminal: one row per task · metric (task names
    without ``demo-mars-``; Mars-Bench's metrics marked ``(MB)``), one column per model ·
    protocol (model names without their options); the full names and training types are in
    ``attrs["notes"]``."""
    import pandas as pd

    fixed = ("model", "protocol", "training_type")
    metrics = [c for c in board.columns if c not in fixed]
    view = pd.DataFrame({"task · metric": [
        c.removeprefix("demo-mars-").replace(" (Mars-Bench)", " (MB)") for c in metrics]})
    notes = []
    for _, row in board.iterrows():
        name = f"{str(row['model']).split(' (')[0]} {row['protocol']}"
        view[name] = [row[c] for c in metrics]
        notes.append(f"{name}: {row['model']} under {row['protocol']} "
                     f"(Mars-Bench's {row['training_type']})")
    view.attrs["notes"] = [*notes, "(MB): the metric Mars-Bench reports, where it differs from "
                           "planetbench's"]
    return view


__all__ = [
    "FULL",
    "MARS_DEMO_RUNS",
    "QUICK",
    "TASK_SETTINGS",
    "MarsDemoReport",
    "MarsDemoSettings",
    "mars_demo_experiments",
    "mars_demo_table",
    "mars_demo_view",
    "run_mars_demo",
]
