"""Pure statistics over benchmark results (NumPy/SciPy/pandas only; never imports torch).

* :mod:`~planetbench.stats.qscore`: NeuCo-Bench quality score Q.
* :mod:`~planetbench.stats.ranking`: competition ranks, rank-then-aggregate leaderboard.
* :mod:`~planetbench.stats.normalise`: frozen, versioned score normaliser.
* :mod:`~planetbench.stats.aggregate`: mean, median, IQM, optimality gap; tidy -> score matrices.
* :mod:`~planetbench.stats.bootstrap`: stratified bootstrap percentile/BCa intervals.
* :mod:`~planetbench.stats.compare`: probability of improvement, mean rank intervals, ties.
* :mod:`~planetbench.stats.audit`: recompute a published table's average and rank columns.
"""

from __future__ import annotations

from planetbench.stats.aggregate import (
    AGGREGATES,
    aggregate_mean,
    aggregate_median,
    iqm,
    optimality_gap,
    optimality_gap_statistic,
    score_matrices,
)
from planetbench.stats.audit import audit_table
from planetbench.stats.bootstrap import Interval, bootstrap_ci, bootstrap_cis, intervals_frame
from planetbench.stats.compare import (
    is_tied,
    mean_rank,
    pairwise_improvement,
    probability_of_improvement,
    probability_of_improvement_ci,
)
from planetbench.stats.normalise import (
    Anchor,
    Normaliser,
    denormalise_scores,
    metric_directions,
    metric_higher_is_better,
    normalise_scores,
)
from planetbench.stats.qscore import is_unreliable, q_score
from planetbench.stats.ranking import (
    RankAggregate,
    competition_rank,
    per_task_ranks,
    rank_aggregate,
    task_weights,
)

__all__ = [
    "AGGREGATES",
    "Anchor",
    "Interval",
    "Normaliser",
    "RankAggregate",
    "aggregate_mean",
    "aggregate_median",
    "audit_table",
    "bootstrap_ci",
    "bootstrap_cis",
    "competition_rank",
    "denormalise_scores",
    "intervals_frame",
    "iqm",
    "is_tied",
    "is_unreliable",
    "mean_rank",
    "metric_directions",
    "metric_higher_is_better",
    "normalise_scores",
    "optimality_gap",
    "optimality_gap_statistic",
    "pairwise_improvement",
    "per_task_ranks",
    "probability_of_improvement",
    "probability_of_improvement_ci",
    "q_score",
    "rank_aggregate",
    "score_matrices",
    "task_weights",
]
