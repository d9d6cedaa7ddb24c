"""The ``mars`` preset: Mars-Bench's leaderboard and figures over stored runs.

Mars-Bench (``kerner-lab/Mars-Bench``, ``benchmark/plot_*_results.py`` at ``d1b1a9b``; paper
appendix A.2) compares its baselines on one table of runs at a time (full training data,
training fractions, or few-shot) and one metric per task kind. This module selects such a table
from a results store and aggregates it with :mod:`planetbench.stats.mars`:

* **normaliser**: ``compared`` (default, Mars-Bench's ``make_normalizer``: per-dataset min and max
  over every compared run, so it changes when the compared runs change) or a frozen, versioned
  planetbench normaliser file (:class:`~planetbench.stats.normalise.Normaliser` JSON); its name
  and digest are part of the output;
* **constant datasets** (every compared run scores the same, e.g. ``mb-change_cls_ctx`` at
  0.7111) are excluded and named, never divided by zero;
* **leaderboard**: per-dataset IQM over seeds of the normalised score, IQM over seeds and
  datasets pooled with a 95 % stratified-bootstrap interval (seeds resampled within each
  (model, dataset)), mean rank over datasets with its interval; at least 1,000 rounds
  (default 10,000; Mars-Bench's code draws 100), recorded in the output;
* **figures**: score against training fraction and against shots per class (Mars-Bench's
  mean ± std over seeds of the normalised score, and ours beside it: IQM with its 95 %
  bootstrap interval), and per-dataset violins of the bootstrap IQM distribution.

Few-shot runs are stored with ``config["details"]["shots"]`` (the importer of Mars-Bench's tables
writes it there) or ``config["shots"]``, and no fraction; full-data runs have fraction 1.0 (or
none) and no shots.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.report.html import Section
from planetbench.stats.mars import (
    AGGREGATED,
    COMPARED,
    MarsScores,
    compared_normaliser,
    iqm_curves,
    mars_scores,
    mean_std_curves,
    split_constant_tasks,
)
from planetbench.stats.normalise import Normaliser
from planetbench.store import ResultStore

#: Suite of Mars-Bench's tasks.
MARS_SUITE = "mars"

#: Fewest bootstrap rounds the ``mars`` preset accepts (the paper's 1,000).
MIN_REPS = 1_000

#: Rounds Mars-Bench's plotting code draws (``repeat=100``), for the figure captions.
MARSBENCH_REPS = 100

#: The budget columns of :func:`mars_runs`.
BUDGETS: tuple[str, ...] = ("fraction", "shots")

#: Columns of :func:`mars_runs`.
RUN_COLUMNS: tuple[str, ...] = (
    "model", "task", "metric", "score", "seed", "protocol", "fraction", "shots", "source", "suite",
)

_FULL_TOL = 1e-9


def shots_of(config: Any) -> int | None:
    """Images per class of a stored run, from ``config["shots"]`` or ``config["details"]["shots"]``."""
    if not isinstance(config, Mapping):
        return None
    details = config.get("details")
    value = config.get("shots")
    if value is None and isinstance(details, Mapping):
        value = details.get("shots")
    if value is None or isinstance(value, bool):
        return None
    return int(value)


def is_few_shot(rows: pd.DataFrame) -> pd.Series:
    """Whether each stored row (``ResultStore.query``) is a few-shot run (has ``shots``)."""
    if rows.empty:
        return pd.Series([], dtype=bool, index=rows.index)
    return pd.Series([shots_of(c) is not None for c in rows["config"]], index=rows.index)


def mars_runs(rows: pd.DataFrame) -> pd.DataFrame:
    """Stored rows (:meth:`~planetbench.store.ResultStore.query`) as tidy runs with their budget.

    Returns:
        Columns :data:`RUN_COLUMNS`; ``shots`` is a nullable integer (NA for runs that are not
        few-shot), ``fraction`` a float (NaN = not stated); rows without a score are dropped.
    """
    if rows.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in RUN_COLUMNS})
    df = rows[rows["score"].notna()].copy()
    df["shots"] = pd.array([shots_of(c) for c in df["config"]], dtype="Int64")
    df["fraction"] = df["fraction"].astype(float)
    df["score"] = df["score"].astype(float)
    return df[list(RUN_COLUMNS)].reset_index(drop=True)


def budget_label(*, fraction: float | None = None, shots: int | None = None) -> str:
    """How a budget reads in titles: ``full training data``, ``fraction 0.1``, ``5 shots``."""
    if shots is not None:
        return f"{shots} shot{'s' if shots != 1 else ''} per class"
    if fraction is None or abs(fraction - 1.0) <= _FULL_TOL:
        return "full training data"
    return f"fraction {fraction:g}"


def _is_full(runs: pd.DataFrame) -> pd.Series:
    return runs["shots"].isna() & (runs["fraction"].isna() | ((runs["fraction"] - 1.0).abs() <= _FULL_TOL))


def select_runs(
    runs: pd.DataFrame,
    *,
    metric: str | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    shots: int | None = None,
) -> pd.DataFrame:
    """The runs of one comparison: one protocol and one budget (the full training data by default).

    Args:
        runs: output of :func:`mars_runs`.
        metric: keep this metric only (default: every metric; the board is per metric).
        protocol: keep this protocol; required when the runs hold several.
        fraction: training fraction (runs without shots whose fraction matches; no fraction = 1).
        shots: images per class (few-shot runs); not together with ``fraction``.

    Returns:
        The selected runs.

    Raises:
        InvalidInputError: ``fraction`` and ``shots`` together, several protocols without
            ``protocol``, or nothing selected (the message lists what the runs hold).
    """
    if fraction is not None and shots is not None:
        raise InvalidInputError(
            "give a training fraction (--fraction) or shots per class (--shots), not both"
        )
    held = _holdings(runs)
    sel = runs
    if metric is not None:
        sel = sel[sel["metric"] == metric]
    if protocol is not None:
        sel = sel[sel["protocol"] == protocol]
    if shots is not None:
        sel = sel[sel["shots"].notna() & (sel["shots"] == shots)]
    elif fraction is None or abs(fraction - 1.0) <= _FULL_TOL:
        sel = sel[_is_full(sel)]
    else:
        sel = sel[sel["shots"].isna() & np.isclose(sel["fraction"].fillna(1.0), fraction)]
    if sel.empty:
        wanted = ", ".join(
            f"{k} {v!r}" for k, v in (("metric", metric), ("protocol", protocol)) if v is not None
        )
        raise InvalidInputError(
            f"no runs for {budget_label(fraction=fraction, shots=shots)}"
            f"{' and ' + wanted if wanted else ''}; the store holds {held}. Import them "
            "(planetbench import FILE) or change --metric/--protocol/--fraction/--shots"
        )
    protocols = sorted(sel["protocol"].unique())
    if len(protocols) > 1:
        raise InvalidInputError(
            f"the selected runs mix protocols {protocols}; compare one at a time with --protocol"
        )
    return sel.reset_index(drop=True)


def _holdings(runs: pd.DataFrame) -> str:
    if runs.empty:
        return "no runs"
    metrics = ", ".join(sorted(map(str, runs["metric"].unique())))
    protocols = ", ".join(sorted(map(str, runs["protocol"].unique())))
    fractions = sorted({float(f) for f in runs.loc[runs["shots"].isna(), "fraction"].fillna(1.0)})
    shots = sorted({int(s) for s in runs["shots"].dropna()})
    parts = [f"metrics {metrics}", f"protocols {protocols}"]
    if fractions:
        parts.append(f"fractions {', '.join(f'{f:g}' for f in fractions)}")
    if shots:
        parts.append(f"shots {', '.join(map(str, shots))}")
    return "; ".join(parts)


@dataclass(frozen=True)
class ResolvedNormaliser:
    """The normaliser a board used, and how to name it.

    Attributes:
        normaliser: the :class:`~planetbench.stats.normalise.Normaliser` applied.
        name: ``compared`` or the file it was read from.
        description: one sentence for titles and notes (kind, version, digest).
    """

    normaliser: Normaliser
    name: str
    description: str


def load_normaliser(path: str | Path) -> Normaliser:
    """Read a frozen planetbench normaliser file (``Normaliser.to_json`` output).

    Raises:
        InvalidInputError: the file is missing or not a planetbench normaliser.
    """
    path = Path(path)
    if not path.is_file():
        raise InvalidInputError(
            f"--normaliser {str(path)!r}: no such file; give a planetbench normaliser JSON "
            f"(written by Normaliser.to_json) or {COMPARED!r} to build it from the compared runs"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"--normaliser {str(path)!r} cannot be read: {exc}") from exc
    try:
        return Normaliser.from_json(text)
    except InvalidInputError as exc:
        raise InvalidInputError(f"--normaliser {str(path)!r}: {exc}") from exc


def resolve_normaliser(choice: str | Path | Normaliser, runs: pd.DataFrame) -> ResolvedNormaliser:
    """The normaliser for ``runs``: ``compared`` (fitted on them), a file, or a given one.

    Args:
        choice: ``"compared"`` (Mars-Bench's: per-dataset min/max over ``runs``), a path to a
            frozen normaliser file, or a :class:`~planetbench.stats.normalise.Normaliser`.
        runs: the compared runs, constant datasets already removed.

    Returns:
        The :class:`ResolvedNormaliser`.
    """
    if isinstance(choice, Normaliser):
        return ResolvedNormaliser(
            choice, f"frozen {choice.version}",
            f"frozen normaliser version {choice.version!r} (digest {choice.digest})",
        )
    if str(choice) == COMPARED:
        fitted = compared_normaliser(runs)
        return ResolvedNormaliser(
            fitted,
            COMPARED,
            f"compared (Mars-Bench's make_normalizer: per-dataset min/max over the {len(runs)} "
            f"compared runs; digest {fitted.digest})",
        )
    frozen = load_normaliser(choice)
    return ResolvedNormaliser(
        frozen,
        str(choice),
        f"frozen normaliser {str(choice)!r} version {frozen.version!r} (digest {frozen.digest})",
    )


def is_mars_board(suite: str | None, preset: str | None) -> bool:
    """Whether ``planetbench leaderboard`` shows the Mars-Bench board: ``--preset mars``, or the
    suite ``mars`` without a preset."""
    return preset == "mars" or (preset is None and suite == MARS_SUITE)


def frozen_for_other_presets(
    *, metric: str | None, shots: int | None, normaliser: str | Path | Normaliser | None
) -> Normaliser | None:
    """The normaliser of a board of another preset: refuses the ``mars``-only selections.

    Raises:
        InvalidInputError: ``metric`` or ``shots`` given, or ``normaliser`` ``compared``
            (they belong to the ``mars`` preset), or a normaliser file that cannot be read.
    """
    given = [f"--{n}" for n, v in (("metric", metric), ("shots", shots)) if v is not None]
    if given:
        raise InvalidInputError(
            f"{'/'.join(given)} select(s) the runs of the mars preset's board; add --preset mars"
        )
    if normaliser is None or isinstance(normaliser, Normaliser):
        return normaliser
    if str(normaliser) == COMPARED:
        raise InvalidInputError(
            f"--normaliser {COMPARED} (Mars-Bench's, built from the compared runs) belongs to "
            "--preset mars; other boards take a frozen normaliser file"
        )
    return load_normaliser(normaliser)


def _check_reps(reps: int) -> None:
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < MIN_REPS:
        raise InvalidInputError(
            f"--reps {reps!r}: the mars preset needs at least {MIN_REPS:,} bootstrap rounds (the "
            f"Mars-Bench paper's number; its code drew {MARSBENCH_REPS}); the default is 10,000"
        )


@dataclass(frozen=True)
class MarsBoard:
    """The Mars-Bench comparison of one metric's runs.

    Attributes:
        metric: the metric compared.
        scores: the statistics (:class:`~planetbench.stats.mars.MarsScores`; table without the
            excluded datasets and dropped models).
        excluded: constant datasets left out: task → the single score.
        dropped: models left out because they lack runs on some dataset.
        normaliser: the normaliser used.
        n_runs: runs compared (after exclusions).
    """

    metric: str
    scores: MarsScores
    excluded: dict[str, float]
    dropped: tuple[str, ...]
    normaliser: ResolvedNormaliser
    n_runs: int

    def notes(self, *, dropped: bool = True) -> list[str]:
        """What was left out and why, and the method, as sentences (``dropped``: name the
        models left out too)."""
        out = []
        if self.excluded:
            shown = ", ".join(f"{t} (every run {v:.4f})" for t, v in self.excluded.items())
            out.append(
                f"{self.metric}: excluded constant dataset(s) {shown}: min == max, a min-max "
                "normaliser would divide by zero and no model can be told apart"
            )
        if dropped and self.dropped:
            out.append(
                f"{self.metric}: not ranked (no runs on some dataset): {', '.join(self.dropped)}"
            )
        out.append(
            f"{self.metric}: normaliser {self.normaliser.description}; {self.scores.reps:,} "
            f"stratified-bootstrap rounds, {self.scores.confidence:.0%} percentile intervals"
        )
        return out


def _drop_incomplete(runs: pd.DataFrame) -> tuple[pd.DataFrame, tuple[str, ...]]:
    tasks = set(runs["task"])
    have = runs.groupby("model")["task"].agg(lambda t: set(t) >= tasks)
    dropped = tuple(sorted(str(m) for m, ok in have.items() if not ok))
    return runs[~runs["model"].isin(dropped)], dropped


def mars_board(
    runs: pd.DataFrame,
    *,
    normaliser: str | Path | Normaliser = COMPARED,
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MarsBoard:
    """Compare the runs of one metric, protocol and budget the way Mars-Bench intends.

    Steps: leave out constant datasets; fit or load the normaliser; drop models lacking a
    dataset; normalise; :func:`~planetbench.stats.mars.mars_scores`.

    Args:
        runs: tidy runs of one metric (from :func:`select_runs`).
        normaliser: ``compared``, a frozen normaliser file, or a Normaliser.
        reps: bootstrap rounds, at least :data:`MIN_REPS`.
        confidence: interval coverage.
        seed: bootstrap seed.

    Returns:
        The :class:`MarsBoard`.

    Raises:
        InvalidInputError: fewer than :data:`MIN_REPS` rounds, several metrics, every dataset
            constant, no model with runs on every dataset, or what the normaliser refuses.
    """
    _check_reps(reps)
    metrics = sorted(map(str, runs["metric"].unique()))
    if len(metrics) != 1:
        raise InvalidInputError(f"a Mars-Bench board compares one metric; got {metrics}")
    kept, excluded = split_constant_tasks(runs)
    if kept.empty:
        raise InvalidInputError(
            f"every dataset of metric {metrics[0]!r} is constant ({', '.join(excluded)}): "
            "there is nothing to compare"
        )
    kept, dropped = _drop_incomplete(kept)
    if kept.empty:
        raise InvalidInputError(
            f"no model has runs on every dataset of metric {metrics[0]!r}; models: {list(dropped)}"
        )
    resolved = resolve_normaliser(normaliser, kept)
    normalised = resolved.normaliser.transform(kept)
    scores = mars_scores(normalised, value="normalised", reps=reps, confidence=confidence,
                         seed=seed)
    return MarsBoard(metrics[0], scores, excluded, dropped, resolved, len(kept))


#: Leading columns of :func:`mars_leaderboard`; the per-dataset columns follow, then
#: ``normaliser`` and ``reps``.
BOARD_COLUMNS: tuple[str, ...] = (
    "metric", "model", "iqm", "iqm_low", "iqm_high", "mean_rank", "mean_rank_low",
    "mean_rank_high", "n_tasks", "n_runs",
)


def board_frame(boards: list[MarsBoard]) -> pd.DataFrame:
    """Boards of several metrics as one table (see :func:`mars_leaderboard` for the columns)."""
    frames = []
    tasks: list[str] = []
    for board in boards:
        table = board.scores.table.copy()
        table.insert(0, "metric", board.metric)
        table["normaliser"] = board.normaliser.name
        table["reps"] = board.scores.reps
        tasks += [c for c in table.columns if c not in (*BOARD_COLUMNS, "normaliser", "reps")]
        frames.append(table)
    out = pd.concat(frames, ignore_index=True)
    return out[[*BOARD_COLUMNS, *tasks, "normaliser", "reps"]]


def mars_leaderboard(
    store: str | ResultStore | None = None,
    *,
    suite: str = MARS_SUITE,
    metric: str | None = None,
    protocol: str | None = None,
    fraction: float | None = None,
    shots: int | None = None,
    source: str | None = None,
    normaliser: str | Path | Normaliser = COMPARED,
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """The ``mars`` preset's leaderboard of stored runs: one row per (metric, model).

    Args:
        store: results store (URL, path, :class:`~planetbench.store.ResultStore` or None).
        suite: suite whose runs are compared.
        metric: compare this metric only (default: one board per metric, stacked).
        protocol: the protocol, needed when the suite holds several.
        fraction: training fraction (default: the full training data).
        shots: images per class (few-shot runs) instead of a fraction.
        source: only runs of this source (e.g. ``marsbench:classification_filtered.csv``).
        normaliser: ``compared`` (Mars-Bench's) or a frozen normaliser file.
        reps: bootstrap rounds (>= 1,000).
        confidence: interval coverage.
        seed: bootstrap seed.

    Returns:
        Columns ``metric``, ``model``, ``iqm``, ``iqm_low``, ``iqm_high`` (normalised score, IQM
        over seeds and datasets, stratified-bootstrap interval), ``mean_rank``,
        ``mean_rank_low``, ``mean_rank_high``, ``n_tasks``, ``n_runs``, one column per dataset
        (IQM over its seeds; empty for the other metric's datasets), ``normaliser``, ``reps``;
        sorted by metric then mean rank. ``attrs``: ``title``, ``notes`` (exclusions, method),
        ``excluded_tasks``, ``dropped_models``, ``normaliser`` (descriptions), ``reps``.

    Raises:
        InvalidInputError: bad ``reps``, no run of the suite, nothing selected, mixed
            protocols, and what :func:`mars_board` refuses.
    """
    _check_reps(reps)
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    runs = mars_runs(rs.query(suite=suite, source=source))
    if runs.empty:
        raise InvalidInputError(
            f"no runs to rank: the store {rs.url} has no runs of suite {suite!r}"
            f"{f' from source {source!r}' if source else ''}; import Mars-Bench's tables "
            "(planetbench import ../shared/data/marsbench-baseline-results) or run the Mars tasks"
        )
    selected = select_runs(runs, metric=metric, protocol=protocol, fraction=fraction, shots=shots)
    boards = [
        mars_board(part, normaliser=normaliser, reps=reps, confidence=confidence, seed=seed)
        for _, part in selected.groupby("metric", sort=True)
    ]
    table = board_frame(boards)
    budget = budget_label(fraction=fraction, shots=shots)
    protocol_name = str(selected["protocol"].iloc[0])
    table.attrs.update(
        title=(
            f"Mars-Bench leaderboard: suite {suite}, protocol {protocol_name}, {budget}; "
            f"normaliser {', '.join(sorted({b.normaliser.name for b in boards}))}; "
            f"IQM with {confidence:.0%} CI from {reps:,} stratified-bootstrap rounds"
        ),
        notes=[n for b in boards for n in b.notes(dropped=False)],
        excluded_tasks={b.metric: dict(b.excluded) for b in boards},
        dropped_models=[m for b in boards for m in b.dropped],
        normaliser={b.metric: b.normaliser.description for b in boards},
        reps=reps,
        budget=budget,
        protocol=protocol_name,
    )
    return table


def _curve_runs(runs: pd.DataFrame, budget: str) -> pd.DataFrame:
    if budget == "shots":
        sel = runs[runs["shots"].notna()].copy()
        sel["shots"] = sel["shots"].astype(int)
        return sel
    sel = runs[runs["shots"].isna()].copy()
    sel["fraction"] = sel["fraction"].fillna(1.0)
    return sel


@dataclass(frozen=True)
class BudgetCurves:
    """Scores against a label budget, as Mars-Bench draws them and as we do.

    Attributes:
        budget: ``fraction`` or ``shots``.
        metric: the metric.
        marsbench: Mars-Bench's curves (:func:`~planetbench.stats.mars.mean_std_curves`).
        ours: IQM with bootstrap intervals (:func:`~planetbench.stats.mars.iqm_curves`),
            including the pooled task :data:`~planetbench.stats.mars.AGGREGATED`.
        excluded: constant datasets left out.
        normaliser: the normaliser used (fitted on every budget's runs together when
            ``compared``, as Mars-Bench does).
        reps: bootstrap rounds of ``ours``.
    """

    budget: str
    metric: str
    marsbench: pd.DataFrame
    ours: pd.DataFrame
    excluded: dict[str, float]
    normaliser: ResolvedNormaliser
    reps: int


def budget_curves(
    runs: pd.DataFrame,
    *,
    budget: str,
    normaliser: str | Path | Normaliser = COMPARED,
    reps: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BudgetCurves:
    """Mars-Bench's budget curves (mean ± std) and ours (IQM with CI) for one metric's runs.

    Args:
        runs: tidy runs (:func:`mars_runs`) of one metric and protocol, every budget.
        budget: ``fraction`` (runs without shots; no fraction = 1.0) or ``shots``.
        normaliser: ``compared`` (fitted on all these runs, every budget) or a frozen one.
        reps: bootstrap rounds (>= 1,000).
        confidence: interval coverage.
        seed: bootstrap seed.

    Returns:
        The :class:`BudgetCurves`.

    Raises:
        InvalidInputError: unknown budget, several metrics or protocols, no runs, too few rounds.
    """
    if budget not in BUDGETS:
        raise InvalidInputError(f"budget {budget!r} is not allowed; use one of {list(BUDGETS)}")
    _check_reps(reps)
    sel = _curve_runs(runs, budget)
    if sel.empty:
        raise InvalidInputError(f"no runs with a {budget} budget to draw")
    for col in ("metric", "protocol"):
        values = sorted(map(str, sel[col].unique()))
        if len(values) > 1:
            raise InvalidInputError(f"budget curves need one {col}; the runs hold {values}")
    kept, excluded = split_constant_tasks(sel)
    if kept.empty:
        raise InvalidInputError(f"every dataset is constant ({', '.join(excluded)})")
    resolved = resolve_normaliser(normaliser, kept)
    normalised = resolved.normaliser.transform(kept)
    return BudgetCurves(
        budget=budget,
        metric=str(sel["metric"].iloc[0]),
        marsbench=mean_std_curves(normalised, budget=budget),
        ours=iqm_curves(normalised, budget=budget, reps=reps, confidence=confidence, seed=seed),
        excluded=excluded,
        normaliser=resolved,
        reps=reps,
    )


def _colours(models: list[str]) -> dict[str, Any]:
    from matplotlib import colormaps

    cmap = colormaps["tab10"]
    return {m: cmap(i % 10) for i, m in enumerate(models)}


def _grid(n_panels: int, *, width: float, height: float) -> tuple[Figure, list[Any]]:
    n_cols = min(5, n_panels)
    n_rows = math.ceil(n_panels / n_cols)
    fig = Figure(figsize=(width * n_cols, height * n_rows))
    axes = [fig.add_subplot(n_rows, n_cols, i + 1) for i in range(n_panels)]
    return fig, axes


def _title(text: str, synthetic: bool) -> str:
    return f"{text} — SYNTHETIC DATA" if synthetic else text


def plot_budget_curves(
    curves: BudgetCurves, *, title: str | None = None, synthetic: bool = False
) -> Figure:
    """One panel per dataset plus the pooled one: Mars-Bench's mean ± std band and our IQM ± CI.

    Args:
        curves: output of :func:`budget_curves`.
        title: figure title (default: metric and budget).
        synthetic: tag the title as synthetic data.

    Returns:
        The matplotlib Figure (no pyplot).
    """
    budget = curves.budget
    tasks = [AGGREGATED, *sorted(t for t in curves.marsbench["task"].unique())]
    models = sorted(map(str, curves.ours["model"].unique()))
    colours = _colours(models)
    fig, axes = _grid(len(tasks), width=3.2, height=2.8)
    spread = np.linspace(-0.06, 0.06, max(len(models), 1)) if len(models) > 1 else np.zeros(1)
    for ax, task in zip(axes, tasks, strict=True):
        for i, model in enumerate(models):
            colour = colours[model]
            mb = curves.marsbench[(curves.marsbench["task"] == task)
                                  & (curves.marsbench["model"] == model)].sort_values(budget)
            if not mb.empty:
                x = mb[budget].to_numpy(dtype=float)
                mean = mb["mean"].to_numpy(dtype=float)
                std = mb["std"].fillna(0.0).to_numpy(dtype=float)
                ax.plot(x, mean, color=colour, linewidth=1.2)
                ax.fill_between(x, mean - std, mean + std, color=colour, alpha=0.18, linewidth=0)
            ours = curves.ours[(curves.ours["task"] == task)
                               & (curves.ours["model"] == model)].sort_values(budget)
            if not ours.empty:
                x = ours[budget].to_numpy(dtype=float) * (1.0 + spread[i])
                y = ours["iqm"].to_numpy(dtype=float)
                err = np.vstack([y - ours["low"].to_numpy(dtype=float),
                                 ours["high"].to_numpy(dtype=float) - y])
                ax.errorbar(x, y, yerr=err, fmt="o", markersize=2.5, color=colour,
                            elinewidth=0.9, capsize=1.5,
                            linestyle="--" if task == AGGREGATED else "none", linewidth=0.8)
        ax.set_xscale("log")
        values = sorted({float(v) for v in curves.ours[budget]})
        ax.set_xticks(values)
        ax.set_xticklabels(
            [f"{v:.0%}" if budget == "fraction" else f"{v:g}" for v in values],
            fontsize=6, rotation=45,
        )
        ax.minorticks_off()
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", linestyle="--", alpha=0.5)
        ax.set_title(task if task != AGGREGATED else "aggregated (ours only)", fontsize=8)
        if task == AGGREGATED:
            ax.set_facecolor("#eef8fb")
    axes[0].set_ylabel(f"normalised {curves.metric}", fontsize=8)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Patch(color=colours[m], label=m) for m in models]
    handles += [
        Line2D([], [], color="0.3", linewidth=1.2,
               label="Mars-Bench: mean ± std over seeds (line, band)"),
        Line2D([], [], color="0.3", marker="o", linestyle="none", markersize=3,
               label=f"ours: IQM over seeds, {curves.reps:,}-round bootstrap 95 % CI (bars)"),
    ]
    fig.legend(handles=handles, loc="upper center", ncol=min(len(handles), 4), fontsize=7,
               bbox_to_anchor=(0.5, 1.0))
    what = "training fraction" if budget == "fraction" else "shots per class"
    text = title or f"Normalised {curves.metric} vs {what}"
    fig.suptitle(_title(text, synthetic), fontsize=10, y=1.06)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_dataset_violins(
    board: MarsBoard, *, title: str | None = None, synthetic: bool = False
) -> Figure:
    """Mars-Bench's violins: the bootstrap distribution of each model's IQM, per dataset.

    The first panel is the pooled (stratified) IQM over datasets, the others the IQM over each
    dataset's seeds; each violin holds every bootstrap round of the board (Mars-Bench: 100).

    Args:
        board: output of :func:`mars_board`.
        title: figure title (default: metric and rounds).
        synthetic: tag the title as synthetic data.

    Returns:
        The matplotlib Figure (no pyplot).
    """
    models = board.scores.table["model"].astype(str).tolist()
    colours = _colours(models)
    first = board.scores.bootstraps[models[0]]
    tasks = [AGGREGATED, *first.tasks]
    fig, axes = _grid(len(tasks), width=2.4, height=2.6)
    for ax, task in zip(axes, tasks, strict=True):
        data = []
        for m in models:
            b = board.scores.bootstraps[m]
            data.append(b.replicates if task == AGGREGATED
                        else b.task_replicates[b.tasks.index(task)])
        parts = ax.violinplot(data, showextrema=False, widths=0.8)
        for body, m in zip(parts["bodies"], models, strict=True):
            body.set_facecolor(colours[m])
            body.set_edgecolor("none")
            body.set_alpha(0.8)
        medians = [float(np.median(d)) for d in data]
        ax.scatter(range(1, len(models) + 1), medians, s=6, color="black", zorder=3)
        ax.set_xticks([])
        ax.tick_params(axis="y", labelsize=7)
        ax.grid(axis="y", linestyle="--", alpha=0.5)
        ax.set_title(task, fontsize=8)
        if task == AGGREGATED:
            ax.set_facecolor("#eef8fb")
    axes[0].set_ylabel(f"IQM of normalised {board.metric}", fontsize=8)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=colours[m], label=m) for m in models], loc="upper center",
               ncol=min(len(models), 5), fontsize=7, bbox_to_anchor=(0.5, 1.0))
    text = title or (
        f"Bootstrap IQM of normalised {board.metric}: {board.scores.reps:,} rounds "
        f"(Mars-Bench drew {MARSBENCH_REPS})"
    )
    fig.suptitle(_title(text, synthetic), fontsize=10, y=1.06)
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def _provenance(runs: pd.DataFrame) -> str:
    sources = sorted(map(str, runs["source"].unique()))
    published = [s for s in sources if s.startswith("marsbench:")]
    if published and len(published) == len(sources):
        files = ", ".join(s.split(":", 1)[1] for s in published)
        return (
            "REAL DATA from Mars-Bench's published per-seed results (kerner-lab/Mars-Bench, "
            f"benchmark/data; files {files}), imported, not run by planetbench."
        )
    if published:
        return (
            "Mixed: Mars-Bench's published per-seed results (sources "
            f"{', '.join(published)}) beside runs of sources "
            f"{', '.join(s for s in sources if s not in published)}."
        )
    return f"Runs of sources {', '.join(sources)}."


def mars_sections(
    rows: pd.DataFrame, *, reps: int = 2_000, seed: int = 0, synthetic: bool = False
) -> tuple[list[Section], list[str]]:
    """The report's Mars-Bench sections for stored rows of the ``mars`` suite.

    Per metric and protocol: the full-data leaderboard and its per-dataset violins, then the
    curves against training fraction and against shots when the store holds them. Every
    section says where the numbers come from (Mars-Bench's published tables are labelled as real
    data) and which normaliser and how many bootstrap rounds were used.

    Args:
        rows: stored rows (``ResultStore.query``) of the suite.
        reps: bootstrap rounds (>= 1,000; Mars-Bench drew 100).
        seed: bootstrap seed.
        synthetic: tag the figures as synthetic data.

    Returns:
        ``(sections, skipped)``: the sections, and one sentence per part that could not be
        shown and why.
    """
    runs = mars_runs(rows)
    sections: list[Section] = []
    skipped: list[str] = []
    if runs.empty:
        return sections, skipped
    for (metric, protocol), part in runs.groupby(["metric", "protocol"], sort=True):
        label = f"{metric} · {protocol}"
        paragraphs = [_provenance(part)]
        real = part["source"].astype(str).str.startswith("marsbench:").all()
        heading = f"Mars-Bench: {label}{' (real data: published results)' if real else ''}"
        section = Section(heading, paragraphs=paragraphs)
        try:
            full = part[_is_full(part)]
            if full.empty:
                raise InvalidInputError("no runs on the full training data")
            board = mars_board(full, reps=reps, seed=seed)
        except PlanetbenchError as exc:
            skipped.append(f"Mars-Bench {label} leaderboard: {exc}")
        else:
            paragraphs += board.notes()
            section.tables.append((
                f"full training data: per-dataset IQM over seeds of the normalised {metric}, "
                f"IQM over seeds and datasets with 95 % stratified-bootstrap CI, mean rank with "
                f"interval ({reps:,} rounds)",
                board_frame([board]),
            ))
            section.figures.append((
                f"bootstrap IQM distributions per dataset, {reps:,} rounds (Mars-Bench's violins "
                f"drew {MARSBENCH_REPS})",
                plot_dataset_violins(board, synthetic=synthetic),
            ))
        for budget in BUDGETS:
            sel = _curve_runs(part, budget)
            if sel[budget].nunique() < 2:
                continue
            try:
                curves = budget_curves(part, budget=budget, reps=reps, seed=seed)
            except PlanetbenchError as exc:
                skipped.append(f"Mars-Bench {label} {budget} curves: {exc}")
                continue
            what = "training fraction" if budget == "fraction" else "shots per class"
            excluded = (
                f"; excluded constant dataset(s) {', '.join(curves.excluded)}"
                if curves.excluded else ""
            )
            section.figures.append((
                f"normalised {metric} vs {what}: Mars-Bench's mean ± std over seeds (band) and "
                f"our IQM over seeds with {reps:,}-round bootstrap 95 % CI (bars); normaliser "
                f"{curves.normaliser.description}{excluded}",
                plot_budget_curves(curves, synthetic=synthetic),
            ))
        if section.tables or section.figures:
            sections.append(section)
    return sections, skipped


__all__ = [
    "BOARD_COLUMNS",
    "BUDGETS",
    "COMPARED",
    "MARSBENCH_REPS",
    "MARS_SUITE",
    "MIN_REPS",
    "RUN_COLUMNS",
    "BudgetCurves",
    "MarsBoard",
    "ResolvedNormaliser",
    "board_frame",
    "budget_curves",
    "budget_label",
    "frozen_for_other_presets",
    "is_few_shot",
    "is_mars_board",
    "load_normaliser",
    "mars_board",
    "mars_leaderboard",
    "mars_runs",
    "mars_sections",
    "plot_budget_curves",
    "plot_dataset_violins",
    "resolve_normaliser",
    "select_runs",
    "shots_of",
]
