"""Which runs to do next: the unmeasured (model, task) pairs whose result would teach the most."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from planetbench.capability.encoding import CapabilityEncoder
from planetbench.errors import InvalidInputError

WEIGHTINGS: tuple[str, ...] = ("variance", "shared")


def recommend(
    encoder: CapabilityEncoder,
    candidates: pd.DataFrame | Iterable[tuple[str, str]] | None = None,
    n: int = 5,
    *,
    weighting: str = "variance",
) -> pd.DataFrame:
    """Rank unmeasured (model, task) runs by how much they would reduce prediction uncertainty.

    Uncertainty sampling (Settles, *Active Learning Literature Survey*, 2009, sec. 3.1) with the
    ensemble as the committee (query by committee, Seung et al., COLT 1992): the priority of a
    pair is the ensemble variance of its predicted gap.

    * ``weighting="variance"``: priority = var(gap[m, t]).
    * ``weighting="shared"``: priority = var(gap[m, t]) + sum of var(gap) over the *other*
      unmeasured pairs of model m and of task t. A run pins down both u_m and v_t, so it also
      sharpens every other prediction in m's row and t's column; this favours runs on models and
      tasks with many uncertain gaps.

    Args:
        encoder: a fitted :class:`CapabilityEncoder`.
        candidates: pairs to choose from (DataFrame with ``model, task`` or tuples); default:
            every fitted model x task that is not measured. Measured pairs are always removed.
        n: number of runs to return (fewer when fewer candidates exist).
        weighting: ``variance`` or ``shared``.

    Returns:
        Up to ``n`` rows sorted by decreasing ``priority``: ``model, task, score_mean,
        score_std, gap_mean, gap_std, priority``.

    Raises:
        InvalidInputError: bad n or weighting, unfitted encoder, or no unmeasured candidate.
        UnknownNameError: a candidate names an unknown model or task.
    """
    if not isinstance(n, int) or n < 1:
        raise InvalidInputError(f"n={n!r} must be an integer >= 1")
    if weighting not in WEIGHTINGS:
        raise InvalidInputError(
            f"weighting {weighting!r} is unknown; choose one of {list(WEIGHTINGS)}"
        )
    every = encoder.predict(None)
    open_pairs = every[~every["measured"]].reset_index(drop=True)
    if candidates is not None:
        wanted = encoder.predict(candidates)[["model", "task"]]
        open_pairs = open_pairs.merge(wanted.drop_duplicates(), on=["model", "task"])
    if open_pairs.empty:
        raise InvalidInputError(
            "no unmeasured (model, task) pair to recommend: every candidate is already measured"
        )
    var = open_pairs["gap_std"].to_numpy(dtype=float) ** 2
    priority = var.copy()
    if weighting == "shared":
        all_open = every[~every["measured"]]
        all_var = all_open["gap_std"].to_numpy(dtype=float) ** 2
        row = pd.Series(all_var).groupby(all_open["model"].to_numpy()).sum()
        col = pd.Series(all_var).groupby(all_open["task"].to_numpy()).sum()
        row_sum = row.reindex(open_pairs["model"]).to_numpy()
        col_sum = col.reindex(open_pairs["task"]).to_numpy()
        priority = var + (row_sum - var) + (col_sum - var)
    out = open_pairs[["model", "task", "score_mean", "score_std", "gap_mean", "gap_std"]].copy()
    out["priority"] = priority
    keys = (out["task"].to_numpy(), out["model"].to_numpy(), -out["priority"].to_numpy())
    order = np.lexsort(keys)
    return out.iloc[order].head(n).reset_index(drop=True)


__all__ = ["WEIGHTINGS", "recommend"]
