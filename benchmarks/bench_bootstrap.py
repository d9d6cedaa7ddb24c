"""Benchmark: stratified bootstrap CIs (IQM and mean) for 20 models × 20 tasks × 7 seeds.

Goal: 10,000 replicates for every model in under 2 s on 2 CPU cores. Run with
``python benchmarks/bench_bootstrap.py`` (``--repeat N`` to take the best of N runs).
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from planetbench.stats import bootstrap_cis

N_MODELS, N_TASKS, N_SEEDS, REPS = 20, 20, 7, 10_000


def main() -> None:
    """Time the bootstrap and print the figure."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best is kept)")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    score_dict = {
        f"model-{i:02d}": rng.normal(loc=i / N_MODELS, scale=0.1, size=(N_SEEDS, N_TASKS))
        for i in range(N_MODELS)
    }
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        out = bootstrap_cis(score_dict, ("iqm", "mean"), reps=REPS, seed=0)
        times.append(time.perf_counter() - start)
    best = min(times)
    iv = out[("model-10", "iqm")]
    print(
        f"stratified bootstrap: {N_MODELS} models x {N_TASKS} tasks x {N_SEEDS} seeds, "
        f"{REPS} reps, IQM + mean CIs: best {best:.3f} s, median {np.median(times):.3f} s "
        f"over {args.repeat} runs (cpu_count={os.cpu_count()}; goal < 2 s)"
    )
    print(f"example model-10 IQM {iv.point:.4f} [{iv.low:.4f}, {iv.high:.4f}]")


if __name__ == "__main__":
    main()
