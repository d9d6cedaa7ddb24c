"""End-to-end time of scoring one NeuCo-style submission: file → validation → probes → store.

Case (issue 2): 5 tasks (3 regression, 2 binary), 15,000 labelled rows in all, 1,024-dimensional
embeddings, K = 40 splits, default probes (ridge / logistic). The same SYNTHETIC embeddings are
written as CSV (NeuCo-Bench's submission format) and as Parquet; each is scored once with
:func:`planetbench.evaluate_embeddings` into a fresh SQLite store, and the script prints the wall
time of each stage (read + validate, probes, store) and the process's peak resident memory
(``resource.getrusage``, ``ru_maxrss``). Goal: under 5 s per submission on 2 cores.

Usage: ``python benchmarks/bench_submission.py [--quick] [--probe auto|neuco]``.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def write_case(root: Path, *, n_rows: int, dim: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """SYNTHETIC embeddings with signal for 5 tasks; returns (csv, parquet, label folder)."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"cube_{i:06d}.zarr.zip" for i in range(n_rows)])
    x = rng.normal(size=(n_rows, dim)).astype(np.float32)
    labels = root / "labels"
    labels.mkdir(parents=True)
    per_task = n_rows // 5
    for t in range(5):
        rows = np.arange(t * per_task, (t + 1) * per_task)
        signal = x[rows, :16] @ rng.normal(size=16)
        noisy = signal + rng.normal(scale=2.0, size=len(rows))
        if t < 3:
            name, label = f"task{t}__regr.csv", noisy
        else:
            name, label = f"task{t}__cls.csv", (noisy > np.median(noisy)).astype(int)
        stem = np.char.replace(ids[rows], ".zarr.zip", "")
        pd.DataFrame({"id": stem, "label": label}).to_csv(labels / name, index=False)
    frame = pd.DataFrame(x, columns=[str(i) for i in range(dim)])
    frame.insert(0, "id", ids)
    csv, parquet = root / "submission.csv", root / "submission.parquet"
    frame.to_csv(csv, index=False, float_format="%.6g")
    frame.to_parquet(parquet, index=False)
    return csv, parquet, labels


def score(path: Path, labels: Path, store: str, *, k: int, probe: str) -> dict[str, float]:
    """Score one file; seconds per stage."""
    import planetbench

    t0 = time.perf_counter()
    summary = planetbench.evaluate_embeddings(
        path, labels, name=path.suffix.lstrip("."), store=store, n_splits=k, probe=probe
    )
    total = time.perf_counter() - t0
    rows = summary.results
    read = rows[0].timings["read_s"] if rows else float("nan")
    probes = sum(r.timings["probe_s"] for r in rows)
    return {
        "total_s": total,
        "read_validate_s": read,
        "probes_s": probes,  # summed over tasks; tasks may run at once in worker processes
        "mean_q": summary.mean_q,
    }


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    """Run the case; returns the figures per file type (``.csv``, ``.parquet``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 rows × 64 dims, K = 5")
    parser.add_argument("--probe", default="auto", help="auto (ridge/logistic) or neuco")
    args = parser.parse_args(argv)
    n_rows, dim, k = (1_000, 64, 5) if args.quick else (15_000, 1_024, 40)
    figures: dict[str, dict[str, float]] = {}
    t0 = time.perf_counter()
    import planetbench.embedding.evaluate
    import planetbench.protocols.probes.base
    import planetbench.stats.qscore  # noqa: F401  (imports are paid once per process)

    print(f"one-time imports of a fresh process: {time.perf_counter() - t0:.2f} s "
          "(not included below: a scoring server pays them once)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        csv, parquet, labels = write_case(root, n_rows=n_rows, dim=dim)
        print(f"case: 5 tasks, {n_rows:,} labelled rows, {dim} dims, K = {k}, probe "
              f"{args.probe} (SYNTHETIC data, written in {time.perf_counter() - t0:.1f} s; "
              f"CSV {csv.stat().st_size / 2**20:.0f} MiB)")
        print(f"{'file':<8} {'wall s':>8} {'read+validate s':>16} "
              f"{'probe s summed over tasks':>26} {'mean Q':>7}")
        for path in (csv, parquet):
            store = f"sqlite:///{root / (path.suffix + '.sqlite')}"
            r = score(path, labels, store, k=k, probe=args.probe)
            figures[path.suffix] = r
            print(f"{path.suffix:<8} {r['total_s']:>8.2f} {r['read_validate_s']:>16.2f} "
                  f"{r['probes_s']:>26.2f} {r['mean_q']:>7.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"peak resident memory of this process: {peak:.0f} MiB (goal < 1.5 GB); "
          "goal: total < 5 s per submission on 2 cores")
    return figures


if __name__ == "__main__":
    main()
    sys.exit(0)
