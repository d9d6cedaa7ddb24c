"""Benchmark: Presto's pretrained embeddings against its raw inputs on real pixel time series.

Setting (issue 10, item 6): the two tasks of ``shared/data/presto-weights-and-probe-tasks`` —
live fuel moisture (2,313 samples, R²) and algae-bloom severity (1,122 samples, macro-F1) — each
embedded by ``presto`` (the published checkpoint, 128-d) and ``presto-raw`` (Presto's normalised
bands of every step, flattened: 51 and 204 values). Both files are probed with our probes
(``ridge`` for regression, ``logistic`` for classes; regularisation chosen on an inner validation
part of the training rows) under three schemes, printed side by side:

* ``upstream``: train on the upstream ``is_test`` = 0 rows, score on the others (as Tseng et al.
  2023; SOURCE.md measured R² 0.471 vs 0.370 and macro-F1 0.222 vs 0.339 with scikit-learn);
* ``site``: 10 random splits each holding out whole sites with a third of the samples (fuel
  moisture only);
* ``random``: ``planetbench probe``'s 10 random splits (20 % test; sites and regions mixed
  between train and test, so optimistic).

It also prints the wall seconds of embedding each task (one torch thread, CPU, batch 512).

Run ``python benchmarks/bench_presto.py [--root ../shared/data/presto-weights-and-probe-tasks]``
(about a minute on 2 CPU cores).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "shared" / "data"
TASKS = ("presto-fuel-moisture", "presto-algae-blooms")
ENCODERS = ("presto", "presto-raw")


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return its figures: ``figures[task][encoder][scheme]`` = mean
    score, ``figures[task][encoder]["embed_s"]`` = seconds."""
    from planetbench.embedding.files import read_embeddings
    from planetbench.embedding.timeseries import embed_series_task, probe_timeseries
    from planetbench.protocols.probes import run_probe
    from planetbench.runs.runner import torch_threads
    from planetbench.tasks import get_task
    from planetbench.tasks.presto import read_series

    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp, torch_threads(1):
        for task in TASKS:
            kind = get_task(task).spec.kind
            data = read_series(task, args.root)
            figures[task] = {}
            for encoder in ENCODERS:
                started = time.perf_counter()
                path = embed_series_task(encoder, task, out=Path(tmp) / f"{encoder}-{task}.csv",
                                         root=args.root, batch_size=512, device="cpu",
                                         progress=False)  # fmt: skip
                seconds = time.perf_counter() - started
                row: dict[str, float] = {"embed_s": seconds}
                row["upstream"] = probe_timeseries(path, task, args.root).mean
                if task == "presto-fuel-moisture":
                    row["site"] = probe_timeseries(path, task, args.root, scheme="site").mean
                table = read_embeddings(path)
                index = table.row_index()
                X = table.matrix[[index[str(i)] for i in data.ids]]
                row["random"] = float(np.mean(run_probe(X, data.targets, kind=kind).fold_scores))
                figures[task][encoder] = row
    return figures


def report(figures: dict[str, Any]) -> None:
    """Print the figures as one table."""
    print(f"{'task':22} {'scheme':9} {'presto':>8} {'raw':>8} {'difference':>10}")
    for task, rows in figures.items():
        metric = "R²" if task == "presto-fuel-moisture" else "macro-F1"
        for scheme in ("upstream", "site", "random"):
            if scheme not in rows["presto"]:
                continue
            p, r = rows["presto"][scheme], rows["presto-raw"][scheme]
            print(f"{task:22} {scheme:9} {p:8.3f} {r:8.3f} {p - r:+10.3f}  ({metric})")
        print(f"{task:22} embedding: presto {rows['presto']['embed_s']:.1f} s, "
              f"raw {rows['presto-raw']['embed_s']:.1f} s")  # fmt: skip


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Parse arguments, run and print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help="folder holding presto-weights-and-probe-tasks")  # fmt: skip
    args = parser.parse_args(argv)
    figures = run(args)
    report(figures)
    return figures


if __name__ == "__main__":
    main()
