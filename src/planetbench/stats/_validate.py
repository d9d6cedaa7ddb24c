"""Input checks shared by the statistics modules.

Every check raises :class:`~planetbench.errors.InvalidInputError` with a message that names the
parameter, says what was given, what is allowed and how to fix it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from planetbench.errors import InvalidInputError

SeedLike = int | np.random.Generator


def as_finite_1d(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a non-empty, finite, 1-D float64 array.

    Args:
        values: anything NumPy can turn into a 1-D numeric array.
        name: parameter name used in error messages.

    Returns:
        Array of shape (n,), n >= 1.
    """
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be numeric; got {values!r}") from exc
    if arr.ndim != 1:
        raise InvalidInputError(
            f"{name} must be 1-D; got shape {arr.shape}. Pass one value per fold/model."
        )
    if arr.size == 0:
        raise InvalidInputError(f"{name} is empty; pass at least one value")
    _check_finite(arr, name)
    return arr


def as_score_matrix(
    scores: ArrayLike, name: str = "scores", *, batched: bool = False
) -> np.ndarray:
    """Return ``scores`` as a finite float64 score matrix of shape (n_runs, n_tasks).

    Args:
        scores: array of shape (n_runs, n_tasks), or (..., n_runs, n_tasks) when ``batched``.
        name: parameter name used in error messages.
        batched: allow leading batch axes.

    Returns:
        The validated float64 array.
    """
    try:
        arr = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name} must be a numeric array; got {type(scores)!r}") from exc
    if (batched and arr.ndim < 2) or (not batched and arr.ndim != 2):
        allowed = "(..., n_runs, n_tasks)" if batched else "(n_runs, n_tasks)"
        raise InvalidInputError(
            f"{name} must have shape {allowed}; got shape {arr.shape}. "
            "Reshape a single task's runs with scores.reshape(-1, 1)."
        )
    if arr.shape[-2] == 0 or arr.shape[-1] == 0:
        raise InvalidInputError(
            f"{name} has shape {arr.shape}: it needs at least one run and one task"
        )
    _check_finite(arr, name)
    return arr


def _check_finite(arr: np.ndarray, name: str) -> None:
    bad = ~np.isfinite(arr)
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise InvalidInputError(
            f"{name} contains {int(bad.sum())} non-finite value(s) (NaN or inf), first at index "
            f"{where}; statistics never propagate NaN: drop or fill those runs first"
        )


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def check_confidence(confidence: float) -> float:
    """Return ``confidence`` if it lies strictly between 0 and 1."""
    if not isinstance(confidence, (int, float)) or not 0.0 < float(confidence) < 1.0:
        raise InvalidInputError(
            f"confidence must be a float in (0, 1), e.g. 0.95; got {confidence!r}"
        )
    return float(confidence)


def make_rng(seed: SeedLike) -> np.random.Generator:
    """Return a Generator from an int seed, or ``seed`` itself when it is a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidInputError(
            f"seed must be a non-negative int or a numpy.random.Generator; got {seed!r}"
        )
    return np.random.default_rng(int(seed))


def named_rng(seed: SeedLike, *names: str) -> np.random.Generator:
    """A Generator for one named stream (a model, a pair of models) derived from ``seed``.

    With an int seed the stream depends only on (seed, names): it is
    ``default_rng(SeedSequence(seed, spawn_key=sha256-derived ints of names))``, so results for one
    model do not change when other models are added. A Generator is returned unchanged.
    """
    rng = make_rng(seed)
    if isinstance(seed, np.random.Generator):
        return rng
    key = tuple(
        int.from_bytes(hashlib.sha256(str(name).encode()).digest()[:8], "little") for name in names
    )
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def require_columns(df: pd.DataFrame, columns: Iterable[str], name: str = "df") -> None:
    """Raise if ``df`` is not a DataFrame holding every column in ``columns``."""
    if not isinstance(df, pd.DataFrame):
        raise InvalidInputError(f"{name} must be a pandas DataFrame; got {type(df).__name__}")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidInputError(
            f"{name} lacks column(s) {missing}; it has {list(df.columns)}. "
            "Rename your columns or pass the right column names."
        )
