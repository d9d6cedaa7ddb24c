"""The demo's REAL part: Presto's pretrained weights on real Earth-observation pixel time series.

Unlike the rest of the demo, nothing here is synthetic. When the project's shared data folder is
present (``../shared/data/presto-weights-and-probe-tasks``: Presto's published checkpoint and two
labelled tasks exported from Earth Engine, see its SOURCE.md), :func:`run_real_demo` embeds each
task with ``presto`` and with its raw inputs (``presto-raw``), then probes both

* on the task's upstream train/test split (:func:`planetbench.embedding.timeseries.probe_timeseries`,
  as Tseng et al. 2023 evaluate), and
* on K random splits with ``planetbench probe``'s machinery, results stored under suite
  ``presto`` in one store per task (``real/<task>/results.sqlite``: a leaderboard row is one
  embedding file, and ``presto-raw``'s width differs between the tasks, so each task gets its own
  board; ``planetbench leaderboard --store`` … shows both rows). Random splits mix sites and
  regions between train and test, so those scores are optimistic.

Its results never enter the synthetic demo's store or report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planetbench.errors import DatasetNotFoundError

if TYPE_CHECKING:
    import pandas as pd

    from planetbench.embedding.timeseries import SeriesProbeResult

REAL_NOTICE = (
    "REAL data (not synthetic): Presto's published weights on real Sentinel-1/2, ERA5 and SRTM "
    "pixel time series with field labels (nasaharvest/presto, MIT; label terms in SOURCE.md)"
)
#: Encoders compared on the real tasks: the pretrained model and its raw inputs.
REAL_ENCODERS: tuple[str, ...] = ("presto", "presto-raw")
#: Tasks of the real part (quick mode: fuel moisture only).
REAL_TASKS: tuple[str, ...] = ("presto-fuel-moisture", "presto-algae-blooms")
REAL_SUITE = "presto"


def bundle_in(folder: str | Path) -> Path | None:
    """``folder`` or ``folder/presto-weights-and-probe-tasks`` when it holds Presto's bundle
    (``default_model.pt`` and ``fuel_moisture/npy``), else None."""
    from planetbench.tasks.presto import BUNDLE_FOLDER

    folder = Path(folder).expanduser()
    for bundle in (folder / BUNDLE_FOLDER, folder):
        if (bundle / "fuel_moisture" / "npy").is_dir() and (bundle / "default_model.pt").is_file():
            return bundle
    return None


def find_real_data() -> Path | None:
    """Presto's bundle in ``../shared/data`` (from the working directory, then from the source
    checkout this package runs from), or None."""
    here = Path(__file__).resolve()
    looked = [Path.cwd().parent / "shared" / "data"]
    if len(here.parents) > 3:
        looked.append(here.parents[3].parent / "shared" / "data")
    for folder in looked:
        found = bundle_in(folder)
        if found is not None:
            return found
    return None


@dataclass
class RealTaskScores:
    """Scores of the real part on one task.

    Attributes:
        task: task id.
        metric: ``r2`` or ``f1_macro``.
        upstream: per encoder, the score on the upstream split.
        random_splits: per encoder, the mean over K random splits (optimistic).
        embed_seconds: per encoder, wall seconds to embed every sample.
        n_samples: samples embedded.
    """

    task: str
    metric: str
    upstream: dict[str, float] = field(default_factory=dict)
    random_splits: dict[str, float] = field(default_factory=dict)
    embed_seconds: dict[str, float] = field(default_factory=dict)
    n_samples: int = 0


@dataclass
class RealDemoReport:
    """What :func:`run_real_demo` did. Everything in it comes from REAL data.

    Attributes:
        root: the bundle folder read.
        out: output folder (``<task>/embeddings/``, ``<task>/labels/``, ``<task>/results/``).
        stores: per task, URL of the store of its random-split probe results (suite
            ``presto``).
        n_splits: random splits per task.
        tasks: scores per task.
        upstream_results: the upstream-split probe results, by (task, encoder).
        leaderboards: per task, its store's leaderboard of the random-split results.
        seconds: wall seconds of the whole part.
        notice: the REAL-data notice to show with these numbers.
    """

    root: Path
    out: Path
    stores: dict[str, str]
    n_splits: int
    tasks: dict[str, RealTaskScores]
    upstream_results: dict[tuple[str, str], SeriesProbeResult]
    leaderboards: dict[str, pd.DataFrame]
    seconds: float = 0.0
    notice: str = REAL_NOTICE
    synthetic: bool = False


def run_real_demo(
    root: str | Path,
    *,
    out: str | Path,
    seed: int = 0,
    n_splits: int = 5,
    quick: bool = False,
    progress: bool = False,
) -> RealDemoReport:
    """Embed the real Presto tasks with ``presto`` and ``presto-raw`` and probe both, offline.

    Args:
        root: folder holding (or being) ``presto-weights-and-probe-tasks``.
        out: output folder (created).
        seed: seed of the probes and of the random splits.
        n_splits: random splits per task for the stored leaderboard.
        quick: fuel moisture only.
        progress: show Rich progress bars on stderr.

    Returns:
        A :class:`RealDemoReport`.

    Raises:
        DatasetNotFoundError: ``root`` does not hold the bundle (checked before any work).
    """
    from planetbench.embedding.evaluate import evaluate_embeddings
    from planetbench.embedding.timeseries import (
        embed_series_task,
        probe_timeseries,
        write_task_labels,
    )
    from planetbench.report.embedding_leaderboard import leaderboard
    from planetbench.runs.runner import torch_threads
    from planetbench.tasks import get_task

    started = time.perf_counter()
    bundle = bundle_in(root)
    if bundle is None:
        raise DatasetNotFoundError(
            f"no Presto bundle (presto-weights-and-probe-tasks with default_model.pt and "
            f"fuel_moisture/npy) under {str(root)!r}; pass the folder holding it"
        )
    out = Path(out)
    tasks = REAL_TASKS[:1] if quick else REAL_TASKS
    scores: dict[str, RealTaskScores] = {}
    upstream: dict[tuple[str, str], SeriesProbeResult] = {}
    stores: dict[str, str] = {}
    for task in tasks:
        folder = out / task
        folder.mkdir(parents=True, exist_ok=True)
        store = stores[task] = f"sqlite:///{(folder / 'results.sqlite').resolve()}"
        labels = folder / "labels"
        write_task_labels(task, bundle, labels)
        entry = RealTaskScores(task=task, metric=get_task(task).spec.metric)
        for encoder in REAL_ENCODERS:
            t0 = time.perf_counter()
            with torch_threads(1):  # a small model on a shared CPU: one thread is fastest
                path = embed_series_task(
                    encoder, task, out=folder / "embeddings" / f"{encoder}.csv",
                    root=bundle, seed=seed, batch_size=512, device="cpu", progress=progress,
                )  # fmt: skip
            entry.embed_seconds[encoder] = time.perf_counter() - t0
            result = probe_timeseries(path, task, bundle, seed=seed)
            upstream[task, encoder] = result
            entry.upstream[encoder] = result.mean
            summary = evaluate_embeddings(
                path, labels, name=encoder, store=store, out=folder / "results", suite=REAL_SUITE,
                n_splits=n_splits, seed=seed, progress=progress,
            )  # fmt: skip
            entry.random_splits[encoder] = summary.tasks[task].mean
            entry.n_samples = result.n_train + result.n_test
        scores[task] = entry
    return RealDemoReport(
        root=bundle, out=out, stores=stores, n_splits=n_splits, tasks=scores,
        upstream_results=upstream,
        leaderboards={t: leaderboard(url, suite=REAL_SUITE) for t, url in stores.items()},
        seconds=time.perf_counter() - started,
    )  # fmt: skip


__all__ = [
    "REAL_ENCODERS",
    "REAL_NOTICE",
    "REAL_SUITE",
    "REAL_TASKS",
    "RealDemoReport",
    "RealTaskScores",
    "bundle_in",
    "find_real_data",
    "run_real_demo",
]
