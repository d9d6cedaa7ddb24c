"""Which stored runs a board ranks: the query, the tidy run table, the normaliser choice.

Shared by every board module (:mod:`planetbench.report.leaderboards` and the presets that live in
their own modules, such as :mod:`planetbench.report.geobench2`), so that none imports another.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.report.normaliser_files import NormaliserChoice, read_normaliser
from planetbench.stats.bootstrap import DEFAULT_REPS
from planetbench.stats.normalise import Normaliser
from planetbench.store import ResultStore

#: Suites whose data planetbench generates; their rows are labelled synthetic wherever shown.
SYNTHETIC_SUITES: frozenset[str] = frozenset({"demo", "demo-mars"})


@dataclass(frozen=True)
class BoardQuery:
    """What a leaderboard is asked for: the selection of stored runs and the statistics.

    Attributes:
        suite: suite of the runs (None: every suite).
        protocol: only runs of this protocol.
        fraction: only runs at this training fraction.
        source: only runs of this source.
        metric: only runs scored with this metric.
        lr: only runs at this learning rate.
        shots: ``mars`` preset: few-shot runs with this many images per class.
        normaliser: frozen normaliser putting tasks of different metrics on one scale (or
            published ``[low, high]`` ranges, given their metrics by the runs), or the path of
            its file; the ``mars`` preset also takes ``"compared"``.
        reps: bootstrap rounds.
        seed: bootstrap seed.
        unweighted: NeuCo board: equal task weights.
        select: NeuCo board: ``best`` or ``last`` submission of a model.
    """

    suite: str | None = None
    protocol: str | None = None
    fraction: float | None = None
    source: str | None = None
    metric: str | None = None
    lr: float | None = None
    shots: int | None = None
    normaliser: NormaliserChoice | str | Path | None = None
    reps: int = DEFAULT_REPS
    seed: int = 0
    unweighted: bool = False
    select: Literal["best", "last"] = "best"


def runs_frame(rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows (``ResultStore.query``) as a tidy run table for :mod:`planetbench.stats`.

    Columns: id, model, task, metric, score, seed, protocol, fraction, lr, suite, source,
    gflops, details (the ``config["details"]`` dict of imported rows, else ``{}``), file_row
    (an imported row's line in its file, else NaN), synthetic (the row's data was generated
    by planetbench) and val_score (the run's score on its validation split, when recorded:
    ``metrics["val_<metric>"]``, ``metrics["val_miou"]`` or an import's
    ``details["val_metric"]``; else NaN). Rows without a score are dropped;
    a missing seed (published single numbers) becomes 0.
    """
    cols = ["id", "model", "task", "metric", "score", "seed", "protocol", "fraction", "lr",
            "suite", "source", "gflops", "details", "file_row", "synthetic", "val_score"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    df = rows.copy()
    df = df[df["score"].notna()]
    df["seed"] = df["seed"].fillna(0).astype(int)
    df["gflops"] = df["efficiency"].map(lambda e: e.get("gflops") if isinstance(e, dict) else None)
    configs = df["config"].map(lambda c: c if isinstance(c, dict) else {})
    df["details"] = configs.map(lambda c: c.get("details") if isinstance(c.get("details"), dict)
                                else {})
    df["file_row"] = configs.map(lambda c: c.get("row")).astype(float)
    df["val_score"] = [
        _validation_score(m, d, metric)
        for m, d, metric in zip(df["metrics"], df["details"], df["metric"], strict=True)
    ]
    df["synthetic"] = df["suite"].isin(SYNTHETIC_SUITES) | configs.map(
        lambda c: bool(c.get("synthetic"))
    )
    return df[cols].reset_index(drop=True)


def _validation_score(metrics: Any, details: Any, metric: str) -> float:
    for source, key in ((metrics, f"val_{metric}"), (metrics, "val_miou"),
                        (details, "val_metric")):
        value = source.get(key) if isinstance(source, dict) else None
        if isinstance(value, int | float) and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
    return float("nan")


def select_runs(store: ResultStore, query: BoardQuery) -> pd.DataFrame:
    """The stored runs a board of ``query`` ranks (tidy, see :func:`runs_frame`)."""
    rows = store.query(suite=query.suite, protocol=query.protocol, source=query.source,
                       metric=query.metric)
    runs = runs_frame(rows)
    if query.fraction is not None:
        runs = runs[np.isclose(runs["fraction"].astype(float).fillna(1.0), query.fraction)]
    if query.lr is not None:
        runs = runs[np.isclose(runs["lr"].astype(float), query.lr)]
    return runs


def published_normaliser(runs: pd.DataFrame, *, name: str = "published") -> Normaliser | None:
    """The normaliser the source published with the runs (``details["normalizer"]`` ranges).

    Returns:
        A frozen normaliser over the runs' tasks when every run carries a ``[low, high]`` range
        (GEO-Bench-2's ``normalizer.json``, kept by the importer), else None.
    """
    if runs.empty or "details" not in runs.columns:
        return None
    ranges: dict[str, Any] = {}
    for task, details in zip(runs["task"], runs["details"], strict=True):
        pair = details.get("normalizer") if isinstance(details, dict) else None
        if pair is None:
            return None
        ranges[str(task)] = pair
    metrics = runs.groupby("task")["metric"].first().astype(str).to_dict()
    return Normaliser.from_ranges(ranges, metrics, version=f"{name} normaliser")


def frozen_choice(query: BoardQuery) -> NormaliserChoice | None:
    """The frozen normaliser of a board of a preset other than ``mars`` (its file read).

    Raises:
        InvalidInputError: ``shots`` given or ``normaliser`` ``compared`` (they belong to the
            ``mars`` preset), or a normaliser file that cannot be read.
    """
    if query.shots is not None:
        raise InvalidInputError(
            "--shots select(s) the runs of the mars preset's board; add --preset mars"
        )
    chosen = query.normaliser
    if chosen is None or not isinstance(chosen, str | Path):
        return chosen
    from planetbench.report.mars import COMPARED

    if str(chosen) == COMPARED:
        raise InvalidInputError(
            f"--normaliser {COMPARED} (Mars-Bench's, built from the compared runs) belongs to "
            "--preset mars; other boards take a frozen normaliser file"
        )
    return read_normaliser(chosen)


def empty_suite_message(store: str | ResultStore | None, suite: str | None) -> str:
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    try:
        suites = sorted(set(rs.query()["suite"].dropna().astype(str)))
    except PlanetbenchError:
        suites = []
    held = (f"; it holds suite(s) {', '.join(suites)} (choose with --suite)" if suites
            else "; import results (planetbench import FILE) or run an evaluation first")
    return f"no results for suite {suite!r} with this selection in the store {rs.url}{held}"



def fit_stored_normaliser(
    store: ResultStore,
    query: BoardQuery,
    *,
    reference_models: list[str],
    version: str,
    low_pct: float = 0.0,
    high_pct: float = 100.0,
) -> Normaliser:
    """A frozen normaliser fitted on the stored runs a board of ``query`` would rank.

    The anchors of each (task, metric) are the ``low_pct``/``high_pct`` percentiles of the
    runs of ``reference_models`` (:meth:`~planetbench.stats.normalise.Normaliser.fit`).

    Raises:
        InvalidInputError: nothing selected, or what :meth:`Normaliser.fit` refuses (a reference
            model without runs, a task without reference runs, equal anchors …).
    """
    runs = select_runs(store, query)
    if runs.empty:
        raise InvalidInputError(f"no runs to fit a normaliser on: "
                                f"{empty_suite_message(store, query.suite)}")
    tidy = runs[["model", "task", "metric", "score", "seed"]].reset_index(drop=True)
    try:
        return Normaliser.fit(tidy, reference_models=reference_models, version=version,
                              low_pct=low_pct, high_pct=high_pct)
    except InvalidInputError as exc:
        raise InvalidInputError(
            f"{str(exc).replace(' in df', ' in the selected runs')} (the reference models are "
            "named by --reference-model, the runs selected by --suite/--protocol/--fraction)"
        ) from exc


__all__ = [
    "SYNTHETIC_SUITES",
    "BoardQuery",
    "empty_suite_message",
    "fit_stored_normaliser",
    "frozen_choice",
    "published_normaliser",
    "runs_frame",
    "select_runs",
]
