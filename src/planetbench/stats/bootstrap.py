"""Stratified bootstrap confidence intervals for aggregate scores.

Agarwal et al. (2021), "Deep Reinforcement Learning at the Edge of the Statistical Precipice"
(NeurIPS), section 4: to estimate the uncertainty of an aggregate over a few runs per task, resample
the runs *within each task* with replacement (each of the n_runs × n_tasks cells draws a run of
its own task), recompute the aggregate, and read the interval off the bootstrap distribution. With
``task_bootstrap`` the tasks are resampled too, which also captures the sensitivity to the choice
of tasks. Intervals are either percentile or BCa (bias-corrected and accelerated; Efron 1987,
"Better bootstrap confidence intervals", JASA 82(397)).

All replicates are drawn at once as index arrays of shape (chunk, n_runs, n_tasks) (chunked to
bound memory; no Python loop over replicates), from an explicit ``numpy.random.Generator``: the
same seed gives the same interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.special
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError
from planetbench.stats._validate import (
    SeedLike,
    as_score_matrix,
    check_confidence,
    check_positive_int,
    make_rng,
    named_rng,
)
from planetbench.stats.aggregate import AGGREGATES

Statistic = str | Callable[[np.ndarray], np.ndarray]
CIMethod = Literal["percentile", "bca"]

#: The one default number of bootstrap rounds of planetbench (statistics, leaderboards, report and
#: CLI): 10,000, rliable's and Agarwal et al.'s (2021) choice. Every output records the number used.
DEFAULT_REPS = 10_000

#: Upper bound on the number of float64 values drawn per chunk (about 64 MB).
CHUNK_ELEMENTS = 8_000_000


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap confidence interval.

    Attributes:
        point: the statistic on the observed scores.
        low: lower end of the interval.
        high: upper end of the interval.
        confidence: coverage, e.g. 0.95.
        method: ``"percentile"`` or ``"bca"``.
        reps: number of bootstrap replicates.
    """

    point: float
    low: float
    high: float
    confidence: float
    method: str
    reps: int

    def contains(self, value: float) -> bool:
        """Whether ``low <= value <= high``."""
        return self.low <= value <= self.high

    def overlaps(self, other: Interval) -> bool:
        """Whether two intervals share at least one point."""
        return self.low <= other.high and other.low <= self.high


def resolve_statistic(statistic: Statistic) -> Callable[[np.ndarray], np.ndarray]:
    """Turn a statistic name (``mean``, ``median``, ``iqm``, ``optimality_gap``) or callable
    into a batch function mapping (k, n_runs, n_tasks) -> (k,)."""
    if callable(statistic):
        return statistic
    if isinstance(statistic, str) and statistic in AGGREGATES:
        return AGGREGATES[statistic]
    raise InvalidInputError(
        f"statistic must be one of {sorted(AGGREGATES)} or a callable that maps an array of shape "
        f"(k, n_runs, n_tasks) to shape (k,); got {statistic!r}"
    )


def _apply(func: Callable[[np.ndarray], np.ndarray], batch: np.ndarray, name: str) -> np.ndarray:
    out = np.asarray(func(batch), dtype=np.float64)
    if out.shape != (batch.shape[0],):
        raise InvalidInputError(
            f"statistic {name} must map an array of shape {batch.shape} (k, n_runs, n_tasks) to "
            f"shape ({batch.shape[0]},); it returned shape {out.shape}. Reduce over the last two "
            "axes only."
        )
    if not np.isfinite(out).all():
        raise InvalidInputError(f"statistic {name} returned non-finite values")
    return out


def _chunks(reps: int, cell_count: int) -> Iterator[int]:
    size = max(1, CHUNK_ELEMENTS // max(cell_count, 1))
    done = 0
    while done < reps:
        k = min(size, reps - done)
        yield k
        done += k


def stratified_resample(
    scores: np.ndarray, k: int, rng: np.random.Generator, *, task_bootstrap: bool = False
) -> np.ndarray:
    """Draw ``k`` stratified bootstrap replicates of a score matrix.

    Args:
        scores: array of shape (n_runs, n_tasks), validated.
        k: number of replicates.
        rng: the random generator.
        task_bootstrap: also resample the tasks (columns) with replacement.

    Returns:
        Array of shape (k, n_runs, n_tasks).
    """
    n_runs, n_tasks = scores.shape
    # int32 draws: half the memory of int64 index arrays. Without task_bootstrap the stream is
    # the same whatever the chunking (tested); with it, run and task draws interleave per chunk.
    flat_index = rng.integers(0, n_runs, size=(k, n_runs, n_tasks), dtype=np.int32)
    flat_index *= n_tasks
    if task_bootstrap:
        flat_index += rng.integers(0, n_tasks, size=(k, 1, n_tasks), dtype=np.int32)
    else:
        flat_index += np.arange(n_tasks, dtype=np.int32)
    return scores.ravel().take(flat_index)


def bootstrap_distribution(
    scores: ArrayLike,
    statistics: Sequence[Statistic],
    *,
    reps: int = DEFAULT_REPS,
    task_bootstrap: bool = False,
    seed: SeedLike = 0,
) -> np.ndarray:
    """Bootstrap replicates of several statistics computed on the same resamples.

    Args:
        scores: array of shape (n_runs, n_tasks).
        statistics: names or batch callables (see :func:`resolve_statistic`).
        reps: number of replicates (>= 1).
        task_bootstrap: also resample tasks.
        seed: int seed or Generator.

    Returns:
        Array of shape (len(statistics), reps).
    """
    matrix = as_score_matrix(scores)
    reps = check_positive_int(reps, "reps")
    funcs = [resolve_statistic(s) for s in statistics]
    rng = make_rng(seed)
    out = np.empty((len(funcs), reps))
    start = 0
    for k in _chunks(reps, matrix.size):
        batch = stratified_resample(matrix, k, rng, task_bootstrap=task_bootstrap)
        for i, (func, stat) in enumerate(zip(funcs, statistics, strict=True)):
            out[i, start : start + k] = _apply(func, batch, repr(stat))
        start += k
    return out


def percentile_interval(boot: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval: the (α/2, 1 − α/2) quantiles of the replicates, α = 1 − confidence."""
    alpha = 1.0 - confidence
    low, high = np.quantile(boot, [alpha / 2.0, 1.0 - alpha / 2.0])
    return float(low), float(high)


def bca_interval(
    boot: np.ndarray, point: float, jackknife: np.ndarray, confidence: float
) -> tuple[float, float]:
    """BCa interval (Efron 1987).

    Bias correction z0 = Φ⁻¹(P*(θ* < θ̂) + ½·P*(θ* = θ̂)) (ties split, which keeps z0 finite for
    discrete statistics; the proportion is clipped to [1/(2B), 1 − 1/(2B)]); acceleration
    a = Σ(θ̄ − θ_(i))³ / (6 (Σ(θ̄ − θ_(i))²)^{3/2}) from the leave-one-run-out jackknife (0 when
    all jackknife values agree). The interval is the pair of replicate quantiles
    Φ(z0 + (z0 + z_α)/(1 − a(z0 + z_α))) for z_α = Φ⁻¹(α/2), Φ⁻¹(1 − α/2).

    Args:
        boot: replicates, shape (reps,).
        point: the statistic on the observed data.
        jackknife: leave-one-out values, shape (n,), n >= 2.
        confidence: coverage in (0, 1).

    Returns:
        (low, high).
    """
    reps = boot.size
    if np.all(boot == point):
        return point, point
    prop = (np.sum(boot < point) + 0.5 * np.sum(boot == point)) / reps
    prop = float(np.clip(prop, 0.5 / reps, 1.0 - 0.5 / reps))
    z0 = scipy.special.ndtri(prop)
    diff = jackknife.mean() - jackknife
    denom = 6.0 * np.sum(diff**2) ** 1.5
    accel = float(np.sum(diff**3) / denom) if denom > 0 else 0.0
    alpha = 1.0 - confidence
    z = scipy.special.ndtri(np.array([alpha / 2.0, 1.0 - alpha / 2.0]))
    adj = scipy.special.ndtr(z0 + (z0 + z) / (1.0 - accel * (z0 + z)))
    low, high = np.quantile(boot, np.clip(adj, 0.0, 1.0))
    return float(low), float(high)


def leave_one_run_out(scores: np.ndarray) -> np.ndarray:
    """Jackknife batch: scores without run i, for each i; shape (n_runs, n_runs − 1, n_tasks)."""
    n_runs = scores.shape[0]
    keep = ~np.eye(n_runs, dtype=bool)
    return np.stack([scores[keep[i]] for i in range(n_runs)])


def bootstrap_ci(
    scores: ArrayLike,
    statistic: Statistic = "iqm",
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    method: CIMethod = "percentile",
    task_bootstrap: bool = False,
    seed: SeedLike = 0,
) -> Interval:
    """Stratified bootstrap confidence interval of one aggregate of one score matrix.

    Args:
        scores: array of shape (n_runs, n_tasks) (e.g. normalised scores).
        statistic: ``"mean"``, ``"median"``, ``"iqm"``, ``"optimality_gap"`` (γ = 1), or a
            callable mapping (k, n_runs, n_tasks) to (k,) (e.g.
            :func:`~planetbench.stats.aggregate.optimality_gap_statistic`).
        reps: bootstrap replicates (10,000 by default).
        confidence: coverage in (0, 1).
        method: ``"percentile"`` or ``"bca"`` (BCa needs n_runs >= 2).
        task_bootstrap: also resample tasks.
        seed: int seed (used as ``numpy.random.default_rng(seed)``) or a Generator; the same
            seed gives the same interval.

    Returns:
        An :class:`Interval`.

    Raises:
        InvalidInputError: bad shape, NaN/inf, reps, confidence, method or statistic.
    """
    rng = make_rng(seed)
    out = _intervals(
        {"_": scores}, (statistic,), lambda _: rng, reps, confidence, method, task_bootstrap
    )
    return out[("_", _stat_name(statistic))]


def _stat_name(statistic: Statistic) -> str:
    return (
        statistic if isinstance(statistic, str) else getattr(statistic, "__name__", repr(statistic))
    )


def bootstrap_cis(
    score_dict: Mapping[str, ArrayLike],
    statistics: Sequence[Statistic] = ("iqm", "mean"),
    *,
    reps: int = DEFAULT_REPS,
    confidence: float = 0.95,
    method: CIMethod = "percentile",
    task_bootstrap: bool = False,
    seed: SeedLike = 0,
) -> dict[tuple[str, str], Interval]:
    """Intervals for several models and statistics; statistics of a model share resamples.

    With an int ``seed`` each model gets its own stream derived from (seed, model name) (see
    :func:`~planetbench.stats._validate.named_rng`), so a model's interval does not depend on
    which other models are in ``score_dict`` nor on their order. With a Generator, models draw
    from it one after the other in the mapping's order.

    Args:
        score_dict: model -> array of shape (n_runs, n_tasks).
        statistics: names or batch callables (names must be distinct).
        reps: bootstrap replicates.
        confidence: coverage in (0, 1).
        method: ``"percentile"`` or ``"bca"``.
        task_bootstrap: also resample tasks.
        seed: int seed or Generator.

    Returns:
        Dict (model, statistic name) -> :class:`Interval`.
    """
    make_rng(seed)  # validates it
    return _intervals(
        score_dict,
        statistics,
        lambda model: named_rng(seed, model),
        reps,
        confidence,
        method,
        task_bootstrap,
    )


def _intervals(
    score_dict: Mapping[str, ArrayLike],
    statistics: Sequence[Statistic],
    rng_for: Callable[[str], np.random.Generator],
    reps: int,
    confidence: float,
    method: str,
    task_bootstrap: bool,
) -> dict[tuple[str, str], Interval]:
    if method not in ("percentile", "bca"):
        raise InvalidInputError(f"method must be 'percentile' or 'bca'; got {method!r}")
    confidence = check_confidence(confidence)
    reps = check_positive_int(reps, "reps")
    if not isinstance(score_dict, Mapping) or not score_dict:
        raise InvalidInputError("score_dict must be a non-empty mapping model -> score matrix")
    if len(statistics) == 0:
        raise InvalidInputError("statistics is empty; pass e.g. ('iqm', 'mean')")
    funcs = [resolve_statistic(s) for s in statistics]
    names = [_stat_name(s) for s in statistics]
    if len(set(names)) != len(names):
        raise InvalidInputError(
            f"statistic names must be distinct; got {names}. Give each callable its own __name__."
        )
    out: dict[tuple[str, str], Interval] = {}
    for model, scores in score_dict.items():
        matrix = as_score_matrix(scores, f"scores of {model!r}")
        if method == "bca" and matrix.shape[0] < 2:
            raise InvalidInputError(
                f"method='bca' needs at least 2 runs for the jackknife; {model!r} has "
                f"{matrix.shape[0]}. Use method='percentile'."
            )
        boot = bootstrap_distribution(
            matrix, funcs, reps=reps, task_bootstrap=task_bootstrap, seed=rng_for(str(model))
        )
        jack = leave_one_run_out(matrix) if method == "bca" else None
        for i, (func, name) in enumerate(zip(funcs, names, strict=True)):
            point = float(_apply(func, matrix[None], name)[0])
            if jack is None:
                low, high = percentile_interval(boot[i], confidence)
            else:
                low, high = bca_interval(boot[i], point, _apply(func, jack, name), confidence)
            out[(str(model), name)] = Interval(point, low, high, confidence, method, reps)
    return out


def intervals_frame(intervals: Mapping[tuple[str, str], Interval]) -> pd.DataFrame:
    """Tidy DataFrame (columns model, statistic, point, low, high, confidence, method, reps)."""
    rows = [
        {
            "model": m,
            "statistic": s,
            **{k: getattr(iv, k) for k in ("point", "low", "high", "confidence", "method", "reps")},
        }
        for (m, s), iv in intervals.items()
    ]
    return pd.DataFrame(rows)
