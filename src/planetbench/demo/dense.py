"""The dense part of the download-free demo: SYNTHETIC cryosphere segmentation, Cryo-Bench style.

:func:`run_dense_demo` writes the seeded SYNTHETIC scenes of :mod:`planetbench.tasks.demo`
(optical glacial lakes and supraglacial debris with per-band Sentinel-2-like reflectance; SAR sea
ice and calving fronts with 4-look speckle) and evaluates, through the same runner and results
store as ``planetbench run``:

* ``unet (tiny)`` and ``vit (tiny)``, the Cryo-Bench from-scratch baselines (tiny variants so the
  demo fits in minutes on a CPU), under ``finetune`` (trained end to end) and ``frozen`` (a frozen
  random-init encoder, a chance-level reference for the decoder alone);
* ``mosaiks``, random convolutional features (Rolf et al. 2021), under ``frozen``;

each with all the training labels and with a 10 % label fraction (stratified, hashed id list).
The result is a Cryo-Bench-layout leaderboard (per-task mIoU, average mIoU, average rank).
Every number is from SYNTHETIC data: it shows that the machinery works, nothing about real skill.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.tasks.demo import SAR_TASKS, SEGMENTATION_TASKS, SYNTHETIC_NOTICE

if TYPE_CHECKING:
    import pandas as pd

    from planetbench.config import ExperimentSpec

#: The four synthetic segmentation tasks (optical lakes and debris, SAR sea ice and calving).
DENSE_DEMO_TASKS: tuple[str, ...] = (*SEGMENTATION_TASKS, *SAR_TASKS)
#: Tasks of the quick variant (one optical, one SAR).
DENSE_DEMO_TASKS_QUICK: tuple[str, ...] = ("demo-lakes", "demo-seaice")

#: (encoder id, protocol) pairs the demo runs; options per encoder in :data:`ENCODER_OPTIONS`.
DENSE_DEMO_RUNS: tuple[tuple[str, str], ...] = (
    ("unet", "finetune"),
    ("vit", "finetune"),
    ("vit", "frozen"),
    ("mosaiks", "frozen"),
)
ENCODER_OPTIONS: dict[str, dict[str, Any]] = {
    "unet": {"tiny": True},
    "vit": {"tiny": True},
    "mosaiks": {"num_filters": 16},
}
FRACTIONS: tuple[float, ...] = (1.0, 0.1)


@dataclass(frozen=True)
class DenseDemoSettings:
    """Size of the dense demo.

    Attributes:
        n_images: synthetic scenes per task (split 60/20/20).
        size: image side in pixels (also the input size).
        epochs: maximum epochs per run.
        patience: early-stopping patience.
        tasks: task ids.
    """

    n_images: int
    size: int
    epochs: int
    patience: int
    tasks: tuple[str, ...]


FULL = DenseDemoSettings(n_images=100, size=32, epochs=8, patience=3, tasks=DENSE_DEMO_TASKS)
QUICK = DenseDemoSettings(n_images=50, size=32, epochs=3, patience=2, tasks=DENSE_DEMO_TASKS_QUICK)


@dataclass
class DenseDemoReport:
    """What :func:`run_dense_demo` did and found. Everything in it comes from SYNTHETIC data.

    Attributes:
        out: output folder (``data/`` with the scenes, ``fractions/`` with the label-fraction id
            lists).
        store: URL of the results store written to.
        seed: seed of the scenes, the label fractions and the runs.
        settings: sizes used (scenes, pixels, epochs, tasks).
        leaderboard: Cryo-Bench layout, one row per model · protocol · fraction: a ``model``
            column, one mIoU column per task, ``avg_miou``, ``avg_rank`` and ``n_tasks``.
        runs: one row per run: model, task, protocol, fraction, seed, miou, val_miou,
            epochs_run, n_train, params, gflops, latency_ms, seconds.
        n_runs: runs in the grid.
        n_skipped: runs already in the store (resumed, not re-run).
        timings: seconds spent in ``generate``, ``runs``, ``leaderboard`` and ``total``.
        synthetic: always True.
        notice: the synthetic-data notice to show with any of these numbers.
    """

    out: Path
    store: str
    seed: int
    settings: DenseDemoSettings
    leaderboard: pd.DataFrame
    runs: pd.DataFrame
    n_runs: int
    n_skipped: int
    timings: dict[str, float] = field(default_factory=dict)
    synthetic: bool = True
    notice: str = SYNTHETIC_NOTICE


def dense_demo_experiments(
    data: Path, fractions_dir: Path, *, seed: int, settings: DenseDemoSettings
) -> list[ExperimentSpec]:
    """The demo's :class:`~planetbench.config.ExperimentSpec` grids, one per protocol.

    Args:
        data: folder written by :func:`planetbench.tasks.demo.write_demo_data`.
        fractions_dir: folder of the label-fraction id lists.
        seed: seed of the runs and of the fraction draws.
        settings: sizes.
    """
    from planetbench.config import ExperimentSpec

    specs = []
    for protocol in dict.fromkeys(p for _, p in DENSE_DEMO_RUNS):
        encoders = [e for e, p in DENSE_DEMO_RUNS if p == protocol]
        specs.append(ExperimentSpec.model_validate({
            "encoders": encoders,
            "tasks": list(settings.tasks),
            "protocols": [protocol],
            "fractions": list(FRACTIONS),
            "lrs": [1e-3],
            "seeds": [seed],
            "root": str(data),
            "fraction_dir": str(fractions_dir),
            "fraction_seed": seed,
            "encoder_options": {e: ENCODER_OPTIONS[e] for e in encoders if e in ENCODER_OPTIONS},
            "input_size": settings.size,
            "epochs": settings.epochs,
            "patience": settings.patience,
            "batch_size": 4,
            "num_threads": 1,
            "head": "upernet",
            "head_options": {"channels": 32},
            "latency_repeats": 3,
        }))
    return specs


def run_dense_demo(
    *, out: Path, store: str, seed: int = 0, quick: bool = False, progress: bool = False
) -> DenseDemoReport:
    """Run the dense demo (see the module docstring) and return its leaderboard and timings.

    Runs already in ``store`` (same data, settings and seed) are skipped, so a second call only
    rebuilds the leaderboard. About 2 minutes on 2 CPU cores; ``quick=True`` (two tasks, fewer
    scenes and epochs) takes well under 30 s.

    Args:
        out: output folder (created).
        store: results store URL or SQLite file path.
        seed: seed of the scenes, label fractions and runs.
        quick: the small variant (for tests and smoke runs).
        progress: show Rich progress and status lines.

    Returns:
        The :class:`DenseDemoReport`.
    """
    from planetbench.report.dense_leaderboard import dense_table
    from planetbench.runs.runner import run_experiment
    from planetbench.store import ResultStore
    from planetbench.tasks.demo import write_demo_data

    t_total = time.perf_counter()
    settings = QUICK if quick else FULL
    out = Path(out)
    data = out / "data"
    timings: dict[str, float] = {}

    t0 = time.perf_counter()
    write_demo_data(data, n_images=settings.n_images, size=settings.size, seed=seed)
    timings["generate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    rs = ResultStore(store)
    n_runs = n_skipped = 0
    results = []
    for spec in dense_demo_experiments(data, out / "fractions", seed=seed, settings=settings):
        summary = run_experiment(
            spec, store=rs, progress=progress, print_fn=None if progress else _quiet
        )
        n_runs += summary.n_total
        n_skipped += summary.n_skipped
        results.extend(summary.results)
    timings["runs"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    keys = {r.run_key for r in results} | _planned_keys(data, out, seed, settings)
    rows = rs.query(suite="demo")
    rows = rows[rows["run_key"].isin(keys)]
    board = dense_table(rows, tasks=list(settings.tasks)).reset_index()
    timings["leaderboard"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_total
    return DenseDemoReport(
        out=out,
        store=rs.url,
        seed=seed,
        settings=settings,
        leaderboard=board,
        runs=_runs_frame(rows),
        n_runs=n_runs,
        n_skipped=n_skipped,
        timings=timings,
    )


def _quiet(_: str) -> None:
    """Swallow the runner's status lines (``progress=False``)."""


def _planned_keys(data: Path, out: Path, seed: int, settings: DenseDemoSettings) -> set[str]:
    from planetbench.runs.runner import planned_run_key

    specs = dense_demo_experiments(data, out / "fractions", seed=seed, settings=settings)
    return {planned_run_key(r) for spec in specs for r in spec.runs()}


def _runs_frame(rows: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    records = []
    for r in rows.itertuples():
        m, e, t = r.metrics, r.efficiency, r.timings
        records.append({
            "model": r.model, "task": r.task, "protocol": r.protocol, "fraction": r.fraction,
            "seed": r.seed, "miou": r.score, "val_miou": m.get("val_miou"),
            "epochs_run": m.get("epochs_run"), "n_train": m.get("n_train"),
            "params": e.get("params"), "gflops": e.get("gflops"),
            "latency_ms": e.get("latency_ms"), "seconds": t.get("total_s"),
        })
    return pd.DataFrame.from_records(records)


__all__ = [
    "DENSE_DEMO_RUNS",
    "DENSE_DEMO_TASKS",
    "DenseDemoReport",
    "DenseDemoSettings",
    "dense_demo_experiments",
    "run_dense_demo",
]
