"""Seeded fake Mars-Bench result tables (``benchmark/data/*.csv`` layout), SYNTHETIC numbers.

:func:`write` writes, into ``root``, tables shaped like Mars-Bench's published ones:

* ``classification_filtered.csv``: 3 models × 3 datasets × 3 seeds on the full training data
  (``partition name`` = ``default``); ``mb-change_cls_ctx`` is constant (0.7111111283302307
  for every run, as in the real table);
* ``classification_partition_filtered.csv``: the same models and datasets at fractions 0.1 and
  0.5, plus the full-data runs again as fraction ``1.0`` printed with 16 significant digits;
* ``classification_few_shot_filtered.csv``: 1 and 5 shots on two datasets, one run with an
  empty test metric;
* ``earth_data.csv``: a table without ``training_type`` (not a run table).

Scores are float32 numbers (as Mars-Bench logs them) printed with 17 significant digits.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

MODELS = ("ResNet101", "SwinV2-B", "ViT-L/16")
DATASETS = ("mb-change_cls_ctx", "mb-domars16k", "mb-frost_cls")
SEEDS = (0, 1, 42)
CONSTANT = 0.7111111283302307
FRACTIONS = ("0.1", "0.5")
SHOTS = (1, 5)


def _score(rng: np.random.Generator, model: int, dataset: str, scale: float = 1.0) -> float:
    if dataset == "mb-change_cls_ctx" and scale == 1.0:
        return CONSTANT
    return float(np.float32(scale * (0.6 + 0.1 * model + 0.05 * rng.random())))


def write(root: Path, *, seed: int = 0) -> dict[str, Path]:
    """Write the fake tables into ``root``; return file name → path."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    full = [
        {"model": m, "dataset": d, "test metric": _score(rng, i, d), "training_type":
         "feature_extraction", "seed": s, "partition name": "default"}
        for i, m in enumerate(MODELS) for d in DATASETS for s in SEEDS
    ]
    partition = [
        {"model": r["model"], "dataset": r["dataset"], "seed": r["seed"],
         "test metric": f"{r['test metric']:.16g}", "training_type": r["training_type"],
         "partition name": "1.0"}
        for r in full
    ] + [
        {"model": m, "dataset": d, "seed": s,
         "test metric": f"{_score(rng, i, d, float(p)):.17g}",
         "training_type": "feature_extraction", "partition name": p}
        for i, m in enumerate(MODELS) for d in DATASETS for s in SEEDS for p in FRACTIONS
    ]
    few = [
        {"model": m, "dataset": d, "seed": s, "test metric": f"{_score(rng, i, d, k / 6):.17g}",
         "training_type": "feature_extraction", "few_shot": k}
        for i, m in enumerate(MODELS) for d in DATASETS[1:] for s in SEEDS for k in SHOTS
    ]
    few[0]["test metric"] = ""  # a run whose metric was never logged
    paths = {
        "classification_filtered.csv": pd.DataFrame(full),
        "classification_partition_filtered.csv": pd.DataFrame(partition),
        "classification_few_shot_filtered.csv": pd.DataFrame(few),
        "earth_data.csv": pd.DataFrame(
            {"seed": [42], "model": ["SatMAE_ViT-L/16"], "dataset": ["mb-domars16k"],
             "partition name": ["0.10"], "test metric": [0.3928]}
        ),
    }
    out = {}
    for name, frame in paths.items():
        path = root / name
        frame.to_csv(path, index=False, float_format="%.17g")
        out[name] = path
    return out
