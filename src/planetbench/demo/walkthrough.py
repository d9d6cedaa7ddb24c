"""The download-free demo: SYNTHETIC scenes → baseline encoders → probes → store → leaderboard.

:func:`run_demo` shows the whole embedding pipeline offline in well under two minutes on two CPU
cores. All data is SYNTHETIC (see :mod:`planetbench.tasks.demo`); the numbers it prints show that
the machinery works and that informative encoders beat chance, nothing about real-world skill.
With ``real_root`` it also runs a separate, clearly labelled REAL part (:mod:`planetbench.demo.real`:
Presto's pretrained weights on real pixel time series), kept out of the synthetic store and report.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks.demo import SYNTHETIC_NOTICE

if TYPE_CHECKING:
    import pandas as pd

    from planetbench.demo.dense import DenseDemoReport
    from planetbench.demo.mars import MarsDemoReport
    from planetbench.demo.real import RealDemoReport
    from planetbench.embedding.evaluate import EvaluationSummary

#: Encoders the demo compares, with the options it builds them with.
DEMO_ENCODERS: dict[str, dict[str, Any]] = {
    "random": {"embed_dim": 64},
    "averaging": {"grid": 8},
    "mosaiks": {"num_filters": 64},
}
#: Encoders that carry information about the image (the demo expects them to beat ``random``).
INFORMATIVE: tuple[str, ...] = ("averaging", "mosaiks")

N_IMAGES = 300
N_IMAGES_QUICK = 120
SIZE = 32
N_SPLITS = 5
N_SPLITS_QUICK = 3


@dataclass
class DemoReport:
    """What :func:`run_demo` did and found. Everything in it comes from SYNTHETIC data.

    Attributes:
        out: output folder (``data/``, ``labels/``, ``embeddings/``, ``results/``).
        store: URL of the results store written to.
        seed: seed of the scenes, encoders and probes.
        n_images: number of synthetic scenes.
        n_splits: probe splits per task.
        embeddings: embedding file per encoder.
        summaries: evaluation summary per encoder.
        leaderboard: the store's leaderboard after the demo (one row per model).
        dense: the dense (segmentation) part's report, or None when it was skipped.
        mars: the Mars part's report (SYNTHETIC Mars-like tasks), or None when it was skipped.
        report: the HTML report of everything the demo ran, or None when it was skipped.
        real: the REAL part's report (Presto on real pixel time series; its own store, never
            in the synthetic report), or None when it was not run.
        timings: seconds spent in ``generate``, ``embed``, ``evaluate``, ``leaderboard``,
            ``real``, ``dense``, ``report`` and ``total``.
        synthetic: always True.
        notice: the synthetic-data notice to show with any of these numbers.
    """

    out: Path
    store: str
    seed: int
    n_images: int
    n_splits: int
    embeddings: dict[str, Path]
    summaries: dict[str, EvaluationSummary]
    leaderboard: pd.DataFrame
    dense: DenseDemoReport | None = None
    mars: MarsDemoReport | None = None
    report: Path | None = None
    real: RealDemoReport | None = None
    timings: dict[str, float] = field(default_factory=dict)
    synthetic: bool = True
    notice: str = SYNTHETIC_NOTICE

    def scores(self) -> pd.DataFrame:
        """Mean main metric per (encoder, task): rows encoders, columns ``task (metric)``."""
        import pandas as pd

        rows = {
            encoder: {f"{t.task} ({t.metric})": t.mean for t in summary.tasks.values()}
            for encoder, summary in self.summaries.items()
        }
        return pd.DataFrame.from_dict(rows, orient="index")

    def best_informative_beats_random(self) -> bool:
        """True when an informative encoder ranks above ``random`` on the leaderboard."""
        models = list(self.leaderboard["model"])
        if "random" not in models:
            return False
        ranked = [m for m in models if m in INFORMATIVE]
        return bool(ranked) and models.index(ranked[0]) < models.index("random")


def run_demo(
    *,
    out: str | Path,
    store: str | None = None,
    seed: int = 0,
    n_splits: int | None = None,
    quick: bool = False,
    encoders: tuple[str, ...] = tuple(DEMO_ENCODERS),
    dense: bool = True,
    report: bool = True,
    real_root: str | Path | None = None,
    progress: bool = False,
    mars: bool = True,
) -> DemoReport:
    """Run the SYNTHETIC demo end to end, offline.

    Steps: write the demo scenes to ``out/data`` and their NeuCo-Bench labels to ``out/labels``;
    embed the scenes with each encoder into ``out/embeddings/<encoder>.csv``; probe every file
    with :func:`planetbench.embedding.evaluate.evaluate_embeddings` (results into ``store``, summaries into
    ``out/results``); build the leaderboard with :func:`planetbench.report.embedding_leaderboard.leaderboard`;
    run the dense segmentation part (:func:`planetbench.demo.dense.run_dense_demo`: synthetic
    cryosphere scenes, ``unet``/``vit`` from scratch and a frozen encoder under the frozen,
    finetune and 10 % protocols); run the Mars part (SYNTHETIC Mars-like tasks under Mars-Bench's
    training types); write ``out/report.html`` of everything stored.

    Args:
        out: output folder (created).
        store: results store URL or path; default ``out/demo-results.sqlite`` so that synthetic
            results never mix with real ones in the default store.
        seed: seed of the scenes, the encoders and the probe splits.
        n_splits: probe splits per task (default 5, or 3 with ``quick``).
        quick: 120 scenes instead of 300 and fewer splits (for tests and a first look).
        encoders: encoder ids among :data:`DEMO_ENCODERS`.
        dense: also run the dense (segmentation) part (needs torch; about 2 minutes).
        report: write ``out/report.html`` at the end.
        real_root: also run the REAL part (:func:`planetbench.demo.real.run_real_demo`: Presto
            and its raw inputs on real pixel time series) on the Presto bundle in this folder,
            into ``out/real`` with its own store; None skips it.
        progress: show Rich progress bars on stderr.
        mars: also run the Mars part (:func:`planetbench.demo.mars.run_mars_demo`: SYNTHETIC
            crater classification, cone segmentation and boulder detection; about 30 s).

    Returns:
        A :class:`DemoReport`.
    """
    from planetbench.embedding.embed import embed_task
    from planetbench.embedding.evaluate import evaluate_embeddings
    from planetbench.report.embedding_leaderboard import leaderboard
    from planetbench.tasks.demo import write_demo_data, write_demo_labels

    unknown = [e for e in encoders if e not in DEMO_ENCODERS]
    if unknown or not encoders:
        raise InvalidInputError(
            f"demo encoders must be a non-empty subset of {', '.join(DEMO_ENCODERS)}; "
            f"got {list(encoders)!r}"
        )
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed must be a non-negative integer; got {seed!r}")
    splits = n_splits if n_splits is not None else (N_SPLITS_QUICK if quick else N_SPLITS)
    if isinstance(splits, bool) or not isinstance(splits, int) or splits < 2:
        raise InvalidInputError(f"n_splits must be an integer >= 2; got {n_splits!r}")
    n_images = N_IMAGES_QUICK if quick else N_IMAGES
    real_bundle = None
    if real_root is not None:  # checked before any work
        from planetbench.demo.real import bundle_in

        real_bundle = bundle_in(real_root)
        if real_bundle is None:
            raise DatasetNotFoundError(
                f"real_root={str(real_root)!r} holds no Presto bundle "
                "(presto-weights-and-probe-tasks with default_model.pt); pass the folder holding "
                "it (CLI: --real-root DIR) or skip the real part (--no-real)"
            )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    default_store = f"sqlite:///{(out / 'demo-results.sqlite').resolve()}"
    store_url = store if store is not None else default_store
    timings: dict[str, float] = {}
    t_start = time.perf_counter()

    data_dir = write_demo_data(out / "data", n_images=n_images, size=SIZE, seed=seed)
    labels_dir = out / "labels"
    write_demo_labels(labels_dir, n_images=n_images, size=SIZE, seed=seed)
    timings["generate"] = time.perf_counter() - t_start

    t0 = time.perf_counter()
    files: dict[str, Path] = {}
    for encoder in encoders:
        files[encoder] = embed_task(
            encoder,
            "demo",
            out=out / "embeddings" / f"{encoder}.csv",
            root=data_dir,
            seed=seed,
            encoder_options=DEMO_ENCODERS[encoder],
            progress=progress,
        )
    timings["embed"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    summaries = {
        encoder: evaluate_embeddings(
            path,
            labels_dir,
            name=encoder,
            store=store_url,
            out=out / "results",
            suite="demo",
            n_splits=splits,
            seed=seed,
            progress=progress,
        )
        for encoder, path in files.items()
    }
    timings["evaluate"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    board = leaderboard(store_url, suite="demo")
    timings["leaderboard"] = time.perf_counter() - t0

    real_report = None
    if real_bundle is not None:
        from planetbench.demo.real import run_real_demo

        t0 = time.perf_counter()
        real_report = run_real_demo(
            real_bundle, out=out / "real", seed=seed, n_splits=splits, quick=quick,
            progress=progress,
        )  # fmt: skip
        timings["real"] = time.perf_counter() - t0

    dense_report = None
    if dense:
        from planetbench.demo.dense import run_dense_demo

        t0 = time.perf_counter()
        dense_report = run_dense_demo(
            out=out / "dense", store=store_url, seed=seed, quick=quick, progress=progress
        )
        timings["dense"] = time.perf_counter() - t0

    mars_report = None
    if mars:
        from planetbench.demo.mars import run_mars_demo

        t0 = time.perf_counter()
        mars_report = run_mars_demo(out=out / "mars", store=store_url, seed=seed, quick=quick,
                                    progress=progress)
        timings["mars"] = time.perf_counter() - t0

    report_path = None
    if report:
        from planetbench.report.build import build_report

        t0 = time.perf_counter()
        report_path = build_report(
            store_url, out / "report.html", title="planetbench demo — SYNTHETIC data"
        )
        timings["report"] = time.perf_counter() - t0
    timings["total"] = time.perf_counter() - t_start
    return DemoReport(
        out=out,
        store=store_url,
        seed=seed,
        n_images=n_images,
        n_splits=splits,
        embeddings=files,
        summaries=summaries,
        leaderboard=board,
        dense=dense_report,
        mars=mars_report,
        report=report_path,
        real=real_report,
        timings=timings,
    )


__all__ = ["DEMO_ENCODERS", "INFORMATIVE", "DemoReport", "run_demo"]
