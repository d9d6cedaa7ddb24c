"""Benchmark: the mars preset's statistics on Mars-Bench's published per-seed tables.

Prints, in one run: the leaderboard of the 5 classification baselines (IQM over seeds and
datasets, 95 % stratified-bootstrap CI, mean rank interval) and the time it takes at 10,000 and
at 100 rounds (Mars-Bench's count); the same stratified bootstrap written the way Mars-Bench's
plotting code works (a pandas ``groupby().sample(replace=True)`` per round, our own code) timed
at 100 rounds and extrapolated to 10,000, with the ratio; and the time of the partition curves.

Data: ``../shared/data/marsbench-baseline-results`` (real, see its SOURCE.md) or ``--data DIR``;
without it, SYNTHETIC tables of the same shape (5 models x 9 datasets x 7 seeds).
Run with ``python benchmarks/bench_mars_stats.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import scipy.stats

from planetbench.report.mars import budget_curves, mars_board, mars_runs, select_runs
from planetbench.stats.mars import mars_scores

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / (
    "marsbench-baseline-results"
)


def _runs(data: Path | None) -> tuple[pd.DataFrame, str]:
    """Tidy runs of the classification tables (full data and fractions), and their label."""
    if data is not None and data.is_dir():
        from planetbench.store.importers.marsbench import read_marsbench

        df = pd.concat([read_marsbench(data / "classification_filtered.csv"),
                        read_marsbench(data / "classification_partition_filtered.csv")])
        df = df.drop_duplicates(["model", "task", "seed", "fraction"])
        return mars_runs(df.assign(config=[{}] * len(df))), f"REAL ({data})"
    rng = np.random.default_rng(0)
    rows = [
        {"model": f"model-{m}", "task": f"mb-task{t}", "metric": "f1_weighted_mb",
         "score": float(0.5 + 0.05 * m + 0.1 * rng.random()), "seed": s, "protocol": "frozen",
         "fraction": f, "config": {}, "source": "synthetic", "suite": "mars"}
        for m in range(5) for t in range(9) for s in (0, 1, 10, 42, 123, 1000, 1234)
        for f in (0.01, 0.1, 0.5, 1.0)
    ]
    return mars_runs(pd.DataFrame(rows)), "SYNTHETIC (5 models x 9 datasets x 7 seeds)"


def _pandas_rounds(normalised: pd.DataFrame, reps: int, seed: int) -> np.ndarray:
    """Stratified IQM bootstrap one pandas resample per round (Mars-Bench's way, our code)."""
    rng = np.random.default_rng(seed)
    groups = normalised.groupby(["model", "task"])
    out = []
    for _ in range(reps):
        drawn = groups.sample(frac=1, replace=True, random_state=rng)
        out.append(drawn.groupby("model")["normalised"].apply(
            lambda x: scipy.stats.trim_mean(x, 0.25)).to_numpy())
    return np.array(out)


T = TypeVar("T")


def _timed(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Best wall time of ``repeat`` calls, and the last result."""
    times = []
    for _ in range(max(repeat, 1)):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def main(argv: Sequence[str] | None = None) -> dict[str, float]:
    """Time the statistics and print the figures; return them."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Mars-Bench tables folder")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (best kept)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 rounds, 1 repeat")
    args = parser.parse_args(argv)
    reps = 1_000 if args.quick else 10_000
    repeat = 1 if args.quick else args.repeat
    runs, label = _runs(args.data)
    full = select_runs(runs)
    print(f"data: {label}; cpu_count={os.cpu_count()}")

    t_board, board = _timed(lambda: mars_board(full, reps=reps, seed=0), repeat)
    table = board.scores.table
    print(f"\nMars-Bench classification leaderboard (full training data, normaliser "
          f"{board.normaliser.name}, {reps:,} rounds, 95 % CI):")
    for note in board.notes():
        print(f"  {note}")
    for r in table.itertuples():
        print(f"  {r.model:<14} IQM {r.iqm:.3f} [{r.iqm_low:.3f}, {r.iqm_high:.3f}]   "
              f"mean rank {r.mean_rank:.2f} [{r.mean_rank_low:.2f}, {r.mean_rank_high:.2f}]")

    kept = full[full["task"].isin(table.columns)]
    normalised = board.normaliser.normaliser.transform(kept)
    t_ours100, _ = _timed(lambda: mars_scores(normalised, reps=100, seed=0), repeat)
    t_ours, _ = _timed(lambda: mars_scores(normalised, reps=reps, seed=0), repeat)
    pandas_reps = 10 if args.quick else 100
    t_pandas100, _ = _timed(lambda: _pandas_rounds(normalised, pandas_reps, 0), 1)
    per_round = t_pandas100 / pandas_reps
    print(f"\nboard (normaliser + bootstrap + ranks), {reps:,} rounds: {t_board:.3f} s")
    print(f"stratified IQM bootstrap + ranks: {reps:,} rounds {t_ours:.3f} s; 100 rounds "
          f"{t_ours100:.3f} s")
    print(f"pandas groupby-sample per round (Mars-Bench's way): {pandas_reps} rounds "
          f"{t_pandas100:.3f} s "
          f"-> {reps:,} rounds ~{per_round * reps:.1f} s (extrapolated); ours is "
          f"{per_round * reps / t_ours:.0f}x faster at {reps:,} rounds")

    t_curves, curves = _timed(lambda: budget_curves(runs, budget="fraction", reps=reps), 1)
    print(f"fraction curves ({len(curves.ours)} IQM cells with CI + Mars-Bench's mean±std), "
          f"{reps:,} rounds: {t_curves:.3f} s")
    return {"board_s": t_board, "bootstrap_s": t_ours, "bootstrap100_s": t_ours100,
            "pandas_per_round_s": per_round, "curves_s": t_curves,
            "top_iqm": float(table["iqm"].iloc[0])}


if __name__ == "__main__":
    main()
