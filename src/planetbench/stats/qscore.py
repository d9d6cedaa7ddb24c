"""NeuCo-Bench quality score (Q) of a model on one task.

Reference: Vinge et al. (2025), "NeuCo-Bench: A Novel Benchmark Framework for Neural Embeddings in
Earth Observation" (the Embed2Scale / CVPR EarthVision 2025 challenge). The quality score rewards a
high mean over the K cross-validation folds and penalises fold-to-fold spread:

    Q = 100 · ε · mean(s) / (std(s) + ε),   std with ddof = 0,

so that Q = 100 · mean when every fold scores the same and Q shrinks as the folds disagree. A
negative Q (mean below zero, e.g. an R² worse than predicting the mean) marks the result as
unreliable.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import as_finite_1d


def q_score(fold_scores: ArrayLike, epsilon: float = 0.02) -> float:
    """Quality score Q of one model on one task from its per-fold scores.

    Args:
        fold_scores: array of shape (n_splits,) with the metric of each fold (e.g. R² or F1 as a
            fraction in [0, 1], not a percentage); finite, at least one value.
        epsilon: stability constant ε > 0 (NeuCo-Bench uses 0.02); smaller values punish spread
            more.

    Returns:
        Q = 100·ε·mean/(std+ε), in "percent" units when the scores are fractions.

    Raises:
        InvalidInputError: empty or non-finite ``fold_scores``, or ``epsilon`` <= 0.

    Example:
        >>> q_score([0.5, 0.5, 0.5])
        50.0
    """
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float, np.floating)):
        raise InvalidInputError(f"epsilon must be a positive float; got {epsilon!r}")
    if not math.isfinite(float(epsilon)) or epsilon <= 0:
        raise InvalidInputError(
            f"epsilon must be a positive finite float (e.g. 0.02); got {epsilon!r}"
        )
    scores = as_finite_1d(fold_scores, "fold_scores")
    mean = float(scores.mean())
    std = float(scores.std(ddof=0))
    return 100.0 * float(epsilon) * mean / (std + float(epsilon))


def is_unreliable(q: float) -> bool:
    """Whether a Q score is flagged "unreliable" (it is negative).

    Args:
        q: a quality score from :func:`q_score`.

    Returns:
        True when ``q < 0``.

    Raises:
        InvalidInputError: ``q`` is not a finite number.
    """
    if isinstance(q, bool) or not isinstance(q, (int, float, np.floating, np.integer)):
        raise InvalidInputError(f"q must be a finite number; got {q!r}")
    if not math.isfinite(float(q)):
        raise InvalidInputError(f"q must be a finite number; got {q!r}")
    return float(q) < 0.0
