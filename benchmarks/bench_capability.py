"""Capability encoding on the real GEO-Bench-2 leaderboard: fit time and prediction error.

Usage: python benchmarks/bench_capability.py [--data /work/shared/data] [--quick]

Data: GEO-Bench-2 leaderboard runs read with ``read_geobench2``; one cell = mean over seeds of
one (backbone, dataset). Two tables:

* ``full_ft``: the main submission 114be1f0 (full fine-tuning, 18 backbones x 19 datasets).
  The S1+S2 submission 2ce4a907 re-runs 3 backbones under another input setting and is left out
  so that a cell is one experimental condition.
* ``full_ft+frozen``: the main submission plus the frozen-encoder submission 80100fc6; a model is
  ``<backbone>|<protocol>`` (28 rows x 19 datasets).

Errors are |predicted - true| / (task score range), the task-mean baseline predicts the mean of
the training models on the task. RMSE (biomassters) is treated as lower-is-better.
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

from planetbench.capability import (
    CapabilityEncoder,
    holdout_cells,
    leave_one_model_out,
    leave_one_task_out,
)
from planetbench.store.literature import read_geobench2

MAIN = "114be1f0-5a41-43a5-b4e6-7fb683bc01ec"
FROZEN = "80100fc6-dc1a-4514-b946-341157eaf816"


def tables(data: Path) -> dict[str, pd.DataFrame]:
    """The two benchmark tables (tidy: model, task, metric, score; one row per run)."""
    runs = read_geobench2(data / "geobench2-leaderboard-results")
    runs["submission"] = runs["file"].str.split("/").str[1]
    full = runs[runs["submission"] == MAIN][["model", "task", "metric", "score"]]
    both = runs[runs["submission"].isin([MAIN, FROZEN])].copy()
    both["model"] = both["model"] + "|" + both["protocol"]
    return {"full_ft": full, "full_ft+frozen": both[["model", "task", "metric", "score"]]}


def main() -> None:
    """Print fit times and validation errors."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--quick", action="store_true", help="fewer configurations")
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    configs = [
        {"dim": 2, "distance": "l2"},
        {"dim": 3, "distance": "l2"},
        {"dim": 5, "distance": "l2"},
        {"dim": 3, "distance": "poincare"},
        {"dim": 3, "distance": "cosine"},
        {"dim": 3, "distance": "l2", "bootstrap": False},
    ]
    if args.quick:
        configs = configs[1:2]
    header = (f"{'table':15s} {'config':28s} {'cells':>5s} {'fit_s':>6s} {'protocol':22s} "
              f"{'MAE [95% CI]':>22s} {'task-mean MAE [95% CI]':>24s}")
    print(header)
    for name, df in tables(args.data).items():
        n_cells = len(df.groupby(["model", "task"]))
        for cfg in configs:
            params = {"n_ensemble": 5, "min_results": 5, "seed": 0, **cfg}
            t0 = time.perf_counter()
            CapabilityEncoder(**params).fit(df)
            fit_s = time.perf_counter() - t0
            reports = [
                holdout_cells(df, frac=0.2, n_repeats=5, seed=0, encoder_params=params),
                leave_one_model_out(df, k=5, seed=0, encoder_params=params),
                leave_one_task_out(df, k=5, seed=0, encoder_params=params),
            ]
            label = ",".join(f"{k}={v}" for k, v in cfg.items())
            for rep in reports:
                print(
                    f"{name:15s} {label:28s} {n_cells:5d} {fit_s:6.2f} {rep.protocol:22s} "
                    f"{rep.mae:.3f} [{rep.mae_ci[0]:.3f},{rep.mae_ci[1]:.3f}]   "
                    f"{rep.baseline_mae:.3f} [{rep.baseline_mae_ci[0]:.3f},"
                    f"{rep.baseline_mae_ci[1]:.3f}]",
                    flush=True,
                )


if __name__ == "__main__":
    main()
