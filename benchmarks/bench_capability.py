"""Capability encoding on the real GEO-Bench-2 leaderboard: fit time and prediction error.

Usage: python benchmarks/bench_capability.py [--data /work/shared/data] [--quick]

Data: the GEO-Bench-2 leaderboard runs (``/work/shared/data/geobench2-leaderboard-results``, see
its SOURCE.md) read with :func:`planetbench.store.importers.read_geobench2`; one cell is the
mean over seeds of one (backbone, dataset). Two tables:

* ``finetune``: the main submission 114be1f0 (full fine-tuning, 18 backbones x 19 datasets,
  326 cells). The S1+S2 submission 2ce4a907 re-runs 3 backbones under another input setting and
  is left out so that a cell is one experimental condition.
* ``finetune+frozen``: the main submission plus the frozen-encoder submission 80100fc6; a model
  is ``<backbone>|<protocol>`` (28 rows x 19 datasets).

For each encoder configuration it prints the time of one fit on the whole table and the
held-out-cell MAE (20 % of the cells hidden, 5 random splits pooled) with its 95 % bootstrap
interval, next to the two baselines that see the same training cells: "task mean" and the
additive "task mean + model effect". For the default configuration it also runs
leave-one-model-out and leave-one-task-out (5 cells revealed) and reports the Spearman
correlation between the ensemble spread (gap_std) and the error of held-out cells.

Errors are |predicted - true| / (task score range over all models), so 0.1 means one tenth of the
spread between the best and the worst model on the task. RMSE (biomassters) is lower-is-better.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import spearmanr

from planetbench.capability import (
    CapabilityEncoder,
    ValidationReport,
    holdout_cells,
    leave_one_model_out,
    leave_one_task_out,
)
from planetbench.store.importers import read_geobench2

MAIN = "114be1f0-5a41-43a5-b4e6-7fb683bc01ec"
FROZEN = "80100fc6-dc1a-4514-b946-341157eaf816"


def tables(data: Path) -> dict[str, pd.DataFrame]:
    """The benchmark tables (tidy: model, task, metric, score; one row per run)."""
    runs = read_geobench2(data / "geobench2-leaderboard-results")
    runs["submission"] = [json.loads(d)["submission"] for d in runs["details"]]
    main = runs[runs["submission"] == MAIN][["model", "task", "metric", "score"]]
    both = runs[runs["submission"].isin([MAIN, FROZEN])].copy()
    both["model"] = both["model"] + "|" + both["protocol"]
    return {"finetune": main, "finetune+frozen": both[["model", "task", "metric", "score"]]}


def _ci(rep: ValidationReport) -> str:
    return (
        f"{rep.mae:.3f} [{rep.mae_ci[0]:.3f},{rep.mae_ci[1]:.3f}]  "
        f"{rep.baseline_mae:.3f} [{rep.baseline_mae_ci[0]:.3f},{rep.baseline_mae_ci[1]:.3f}]  "
        f"{rep.additive_mae:.3f} [{rep.additive_mae_ci[0]:.3f},{rep.additive_mae_ci[1]:.3f}]"
    )


def main() -> None:
    """Print fit times and validation errors."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument(
        "--quick", action="store_true", help="smoke test: one table, one configuration, one split"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)  # "dropped" warnings of validation folds
    configs: list[dict[str, Any]] = [
        {},  # the defaults: dim=5, l2, n_ensemble=5, bagging
        {"dim": 2},
        {"dim": 3, "distance": "poincare"},
        {"dim": 3, "distance": "cosine"},
        {"bootstrap": False},
    ]
    data = tables(args.data)
    if args.quick:
        configs = configs[:1]
        data = {"finetune": data["finetune"]}
    print(
        f"{'table':16s} {'config':26s} {'cells':>5s} {'fit_s':>6s} {'protocol':20s} "
        f"{'MAE [95% CI]':20s}  {'task-mean MAE':20s}  {'additive MAE':20s}  spearman(std,err)"
    )
    for name, df in data.items():
        n_cells = df.groupby(["model", "task"]).ngroups
        for cfg in configs:
            params = {"seed": 0, **cfg}
            t0 = time.perf_counter()
            CapabilityEncoder(**params).fit(df)
            fit_s = time.perf_counter() - t0
            n_repeats = 1 if args.quick else 5
            reports = [
                holdout_cells(df, frac=0.2, n_repeats=n_repeats, seed=0, encoder_params=params)
            ]
            if not cfg and not args.quick:
                reports.append(leave_one_model_out(df, k=5, seed=0, encoder_params=params))
                reports.append(leave_one_task_out(df, k=5, seed=0, encoder_params=params))
            label = ",".join(f"{k}={v}" for k, v in cfg.items()) or "default (d=5,l2)"
            for rep in reports:
                pred = rep.predictions
                rho = spearmanr(pred["gap_std"], pred["error"]).statistic
                print(
                    f"{name:16s} {label:26s} {n_cells:5d} {fit_s:6.2f} {rep.protocol:20s} "
                    f"{_ci(rep)}  {rho:+.2f}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
