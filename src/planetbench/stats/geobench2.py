"""GEO-Bench-2's leaderboard aggregation, reproduced (fidelity preset ``geobench2``).

The GEO-Bench-2 leaderboard (GitHub ``The-AI-Alliance/GEO-Bench-2-Leaderboard``, commit
``1659ccf``, ``utils/compile_results.py`` and ``utils/compute_tools.py``) turns the per-run
results of each submission into its published scores like this (described here in our words):

* **normalisation**: every run's ``test metric`` becomes ``(s − low) / (high − low)`` with the
  per-dataset anchors of its ``normalizer.json`` (the minimum and maximum over the full
  fine-tuning submissions; the same anchors serve the frozen board). Biomassters' RMSE is
  submitted already turned into a higher-is-better score, 1 − 0.2538·RMSE;
* **per dataset**: the interquartile mean (``scipy.stats.trim_mean(·, 0.25)``) of the normalised
  runs of a (backbone, dataset) cell, and the mean of the raw runs;
* **per capability dimension** (``Core``, ``Pixel-wise`` …, :data:`DIMENSIONS`): 100 rounds of a
  stratified bootstrap — round ``i`` redraws, with replacement, the runs of every (backbone,
  dataset) group of the submission (pandas ``GroupBy.sample(frac=1, replace=True,
  random_state=100 + i)``: one ``numpy.random.RandomState(100 + i)`` shared by the groups in
  sorted (backbone, dataset) order) and takes each backbone's IQM of its pooled redrawn runs —
  then the mean of the 100 IQMs. A backbone lacking a dataset of the dimension gets no score
  for it, nor does any backbone when the submission lacks one of its datasets;
* **display**: the score rounded to 3 decimals, times 100, rounded to 1 decimal.

Each submission is aggregated on its own (the random draws depend on every group of the
submission, including backbones that end up without a score), so the input keeps each run's
submission, backbone and position in its file.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import check_positive_int, require_columns

#: GEO-Bench-2's capability dimensions and their datasets (``utils/constants.py``), in the
#: column order of its overall table; ``Core`` is the headline score.
DIMENSIONS: dict[str, tuple[str, ...]] = {
    "Core": ("kuro_siwo", "pastis", "burn_scars", "cloudsen12", "flair2", "spacenet7", "benv2",
             "treesatai", "biomassters", "fotw", "substation", "everwatch"),
    "Multi-Spectral-Dependent": ("benv2", "biomassters", "pastis", "so2sat", "cloudsen12",
                                 "spacenet2", "burn_scars", "fotw"),
    "Multi-Temporal": ("kuro_siwo", "pastis", "biomassters", "dynamic_earthnet"),
    "Pixel-wise": ("kuro_siwo", "pastis", "burn_scars", "spacenet2", "cloudsen12", "caffe",
                   "flair2", "dynamic_earthnet", "biomassters", "spacenet7", "fotw"),
    "Classification": ("so2sat", "forestnet", "benv2", "treesatai"),
    "Detection (Object/Instance)": ("substation", "everwatch", "nzcattle", "pastis_r"),
    "Under 10m Resolution": ("spacenet2", "treesatai", "flair2", "dynamic_earthnet",
                             "spacenet7"),
    "10m and Above Resolution": ("biomassters", "so2sat", "kuro_siwo", "cloudsen12", "pastis",
                                 "benv2", "forestnet", "burn_scars", "caffe", "fotw"),
    "RGB/NIR": ("flair2", "treesatai", "dynamic_earthnet", "spacenet7", "fotw"),
}

#: The headline dimension of the leaderboard.
HEADLINE = "Core"

#: Bootstrap rounds and the seed of the first round, as in the leaderboard's code.
ROUNDS = 100
FIRST_SEED = 100

#: Columns of the tidy input of :func:`dimension_scores`.
RUN_COLUMNS: tuple[str, ...] = ("submission", "backbone", "task", "row", "normalised")


def trim_mean_iqm(values: np.ndarray) -> float:
    """``scipy.stats.trim_mean(values, 0.25)``: ⌊n/4⌋ values cut from each end, then the mean."""
    ordered = np.sort(np.asarray(values, dtype=np.float64))
    cut = int(0.25 * ordered.size)
    return float(ordered[cut : ordered.size - cut].mean())


def published_value(score: float) -> float:
    """A 0–1 score as the leaderboard prints it: rounded to 3 decimals, ×100, to 1 decimal."""
    return round(round(score, 3) * 100, 1)


def _check_runs(runs: pd.DataFrame) -> pd.DataFrame:
    require_columns(runs, RUN_COLUMNS, "runs")
    values = pd.to_numeric(runs["normalised"], errors="coerce").to_numpy(dtype=np.float64)
    if not np.isfinite(values).all():
        raise InvalidInputError(
            "runs: column 'normalised' has missing or non-finite values; normalise every run "
            "with the leaderboard's anchors first"
        )
    return runs.assign(normalised=values)


def per_task_iqm(runs: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard's per-dataset score: IQM of the normalised runs of each cell.

    Args:
        runs: tidy runs with :data:`RUN_COLUMNS`.

    Returns:
        DataFrame indexed by (submission, backbone), one column per task (NaN = not run).
    """
    runs = _check_runs(runs)
    cells = runs.groupby(["submission", "backbone", "task"], sort=True)["normalised"].agg(
        lambda v: trim_mean_iqm(v.to_numpy())
    )
    table = cells.unstack("task")
    table.columns.name = None
    return table


@functools.lru_cache(maxsize=256)
def _seeded_state(seed: int) -> dict[str, Any]:
    """The state of ``numpy.random.RandomState(seed)`` (seeding MT19937 is the slow part)."""
    state: dict[str, Any] = np.random.RandomState(seed).get_state(legacy=False)
    return state


def redraw_indices(
    sizes: Sequence[int], seed: int, rs: np.random.RandomState | None = None
) -> np.ndarray:
    """One round of ``GroupBy.sample(frac=1, replace=True, random_state=seed)``, all groups.

    pandas draws ``RandomState(seed).choice(n_g, n_g, replace=True)`` for each group in turn;
    that is ``randint(0, n_g, n_g)`` on the shared legacy stream, which NumPy's legacy
    ``RandomState`` (stream frozen by NEP 19) draws identically for all groups at once with an
    array of upper bounds (tested against the group-by-group draws).

    Args:
        sizes: number of runs of each group, in the order pandas visits the groups.
        seed: the round's seed.
        rs: a ``RandomState`` to reuse (its state is replaced by the seeded one).

    Returns:
        int array of shape (sum(sizes),): for each run slot, the index of the run drawn within
        its group.
    """
    highs = np.repeat(np.asarray(sizes, dtype=np.int64), sizes)
    rs = rs if rs is not None else np.random.RandomState(seed)
    rs.set_state(_seeded_state(seed))
    return np.asarray(rs.randint(0, highs), dtype=np.int64)


def _bootstrap_means(part: pd.DataFrame, rounds: int, first_seed: int) -> pd.Series:
    """Mean over rounds of each backbone's IQM of its redrawn runs (one submission)."""
    part = part.sort_values(["backbone", "task", "row"], kind="stable")
    sizes = part.groupby(["backbone", "task"], sort=True).size().to_numpy()
    starts = np.repeat(np.cumsum(sizes) - sizes, sizes)
    values = part["normalised"].to_numpy(dtype=np.float64)
    rs = np.random.RandomState(first_seed)
    drawn = np.stack(
        [values[starts + redraw_indices(sizes, first_seed + i, rs)] for i in range(rounds)]
    )  # (rounds, n_runs): the leaderboard's own draws (fidelity)
    backbones = part["backbone"].to_numpy()
    means = {}
    for backbone in sorted(set(backbones)):
        pooled = np.sort(drawn[:, backbones == backbone], axis=1)
        cut = int(0.25 * pooled.shape[1])
        means[backbone] = float(pooled[:, cut : pooled.shape[1] - cut].mean(axis=1).mean())
    return pd.Series(means, dtype=float)


def dimension_scores(
    runs: pd.DataFrame,
    *,
    dimensions: Mapping[str, Sequence[str]] | None = None,
    rounds: int = ROUNDS,
    first_seed: int = FIRST_SEED,
) -> pd.DataFrame:
    """GEO-Bench-2's score per (submission, backbone) and capability dimension, on the 0–1 scale.

    Args:
        runs: tidy runs of one protocol with columns ``submission``, ``backbone``, ``task``,
            ``row`` (position of the run in its submission's file) and ``normalised`` (the
            score normalised with the leaderboard's anchors).
        dimensions: dimension → its tasks (default :data:`DIMENSIONS`).
        rounds: bootstrap rounds (the leaderboard's 100).
        first_seed: seed of the first round (the leaderboard's 100).

    Returns:
        DataFrame indexed by (submission, backbone) with one column per dimension, in the order
        given; NaN where the backbone, or the whole submission, lacks a task of the dimension.

    Raises:
        InvalidInputError: missing columns or non-finite normalised scores, bad rounds.
    """
    runs = _check_runs(runs)
    rounds = check_positive_int(rounds, "rounds")
    dims = dict(DIMENSIONS if dimensions is None else dimensions)
    scores: dict[tuple[str, str], dict[str, float]] = {}
    for submission, sub in runs.groupby("submission", sort=True):
        for backbone in sorted(sub["backbone"].unique()):
            scores[(str(submission), str(backbone))] = {}
        for name, tasks in dims.items():
            part = sub[sub["task"].isin(tasks)]
            if set(tasks) - set(part["task"]):
                continue  # the submission lacks a task of this dimension: no score at all
            have = part.groupby("backbone")["task"].nunique()
            for backbone, value in _bootstrap_means(part, rounds, first_seed).items():
                if have.get(backbone, 0) == len(set(tasks)):
                    scores[(str(submission), str(backbone))][name] = value
    out = pd.DataFrame.from_dict(scores, orient="index").reindex(columns=list(dims))
    out.index = pd.MultiIndex.from_tuples(list(scores), names=["submission", "backbone"])
    return out.astype(float)

__all__ = [
    "DIMENSIONS",
    "FIRST_SEED",
    "HEADLINE",
    "ROUNDS",
    "RUN_COLUMNS",
    "dimension_scores",
    "per_task_iqm",
    "published_value",
    "trim_mean_iqm",
]
