"""Build the self-contained HTML report of everything in a results store.

One part per suite: its leaderboard per protocol at full training data (IQM and mean rank with
intervals; tasks of different metrics on the scale of the normaliser the source published, or one
board per metric), the source's own board and published aggregates beside ours where it has them
(GEO-Bench-2's leaderboard, Cryo-Bench's averages), per-task scores, and the curves over training
fraction, learning rate and compute. Sections of generated data (the ``demo`` suite) are marked
SYNTHETIC, and only they. Warnings raised while building are collected into the "Notes" section
(never printed). Every interval uses the same number of bootstrap rounds, stated at the top.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.report import plots
from planetbench.report.html import Section, render_page
from planetbench.report.leaderboards import (
    SYNTHETIC_SUITES,
    BoardQuery,
    published_normaliser,
    results_leaderboard,
    runs_frame,
)
from planetbench.report.output_paths import check_output_file
from planetbench.stats.bootstrap import DEFAULT_REPS
from planetbench.stats.normalise import Normaliser, metric_higher_is_better
from planetbench.store import ResultStore

#: Why interval-board cells are empty.
BOARD_MISSING_REASONS: dict[str, str] = {
    "iqm_low": "no interval", "iqm_high": "no interval",
    "mean_rank_low": "no interval: the model lacks a task",
    "mean_rank_high": "no interval: the model lacks a task",
}

def _mars_sections(rows: pd.DataFrame, *, reps: int, seed: int) -> tuple[list[Section],
                                                                         list[str]]:
    """Mars-Bench's report parts (:func:`planetbench.report.mars.mars_sections`)."""
    from planetbench.report.mars import mars_sections

    synthetic = bool(runs_frame(rows)["synthetic"].any())
    sections, skipped = mars_sections(rows, reps=reps, seed=seed, synthetic=synthetic)
    for section in sections:
        section.synthetic = synthetic
    return sections, skipped


#: Report parts of suites with their own analysis: suite → function(rows, reps=, seed=) of the
#: suite's stored rows other than probes, returning (sections, skipped sentences).
SUITE_SECTIONS: dict[str, Callable[..., tuple[list[Section], list[str]]]] = {
    "mars": _mars_sections,
}


def _is_full(runs: pd.DataFrame) -> pd.Series:
    return runs["fraction"].astype(float).fillna(1.0) >= 1.0 - 1e-9


def _provenance(runs: pd.DataFrame) -> str:
    """Where a section's numbers come from, for real data."""
    sources = sorted(map(str, runs["source"].dropna().unique()))
    if any(s != "planetbench" for s in sources):
        return (f"REAL DATA: published results imported into the store (source "
                f"{', '.join(sources)}), not run by planetbench.")
    return "Runs made by planetbench on real data."


def _warning_note(w: warnings.WarningMessage) -> str:
    """A caught warning as a sentence: its category and message, never a source path."""
    return f"{w.category.__name__}: {w.message}"


class _Context:
    """What every part of one report shares: bootstrap settings, skipped parts."""

    def __init__(self, store: ResultStore, reps: int, seed: int) -> None:
        self.store = store
        self.reps = reps
        self.seed = seed
        self.skipped: list[str] = []


def _board_parts(
    full: pd.DataFrame, label: str, ctx: _Context
) -> list[tuple[str, pd.DataFrame, Normaliser | None]]:
    """The interval boards of one protocol's full-data runs: one over every task when the
    metrics agree or the source published a normaliser, else one per metric."""
    metrics = sorted(full["metric"].unique())
    suite = str(full["suite"].iloc[0])
    normaliser = (published_normaliser(full, name=f"{suite}'s published")
                  if len(metrics) > 1 else None)
    groups: list[tuple[str, pd.DataFrame, Normaliser | None]]
    if len(metrics) == 1 or normaliser is not None:
        groups = [(", ".join(metrics), full, normaliser)]
    else:
        ctx.skipped.append(
            f"{label}: tasks use different metrics ({', '.join(metrics)}) and the source "
            "published no normaliser, so one board per metric is shown (give a frozen "
            "normaliser with `planetbench leaderboard --normaliser FILE` to rank them together)"
        )
        groups = [(m, full[full["metric"] == m], None) for m in metrics]
    out = []
    for name, part, norm in groups:
        try:
            table = results_leaderboard(part.assign(fraction=1.0), normaliser=norm,
                                        reps=ctx.reps, seed=ctx.seed)
        except PlanetbenchError as exc:
            ctx.skipped.append(f"{label} / {name}: {exc}")
            continue
        table.attrs["missing_reasons"] = BOARD_MISSING_REASONS
        out.append((name, table, norm))
    return out


def _protocol_section(
    suite: str, protocol: str, part: pd.DataFrame, ctx: _Context
) -> list[Section]:
    """Leaderboard, intervals and per-task scores of one protocol, then its curves."""
    label = f"{suite} · {protocol}"
    synthetic = bool(part["synthetic"].any())
    provenance = "" if synthetic else _provenance(part)
    sections: list[Section] = []
    full = part[_is_full(part)]
    order: list[str] = []
    if full.empty:
        ctx.skipped.append(f"{label}: no runs at training fraction 1.0 (no leaderboard)")
    else:
        section = Section(f"Leaderboard: {label} (training fraction 1.0)",
                          synthetic=synthetic, provenance=provenance)
        for name, table, norm in _board_parts(full, label, ctx):
            section.paragraphs += [str(n) for n in table.attrs.get("notes", [])]
            order = order or table["model"].astype(str).tolist()
            value_label = plots.metric_label(name, normalised=norm is not None)
            section.tables.append((
                f"{name}: per-task mean over runs, IQM with 95 % CI and mean rank with its "
                f"interval ({ctx.reps:,} bootstrap rounds, resampling {table.attrs['resampled']})",
                table,
            ))
            values = norm.transform(full).assign(score=lambda d: d["normalised"]) if norm else (
                full[full["metric"].isin(name.split(", "))])
            ci = table.rename(columns={"iqm": "estimate", "iqm_low": "low", "iqm_high": "high"})
            section.figures.append((
                f"IQM of {name} with its 95 % CI (bars) over the per-run scores (violins)",
                plots.intervals(ci, values, synthetic=synthetic, order=table["model"].tolist(),
                                xlabel=value_label, title=f"IQM — {label}"),
            ))
            metric = None if norm is not None else name
            section.figures.append((
                f"per-task {name} (mean over runs)",
                plots.per_task_heatmap(
                    full[full["metric"].isin(name.split(", "))], synthetic=synthetic,
                    order=table["model"].tolist(),
                    higher_is_better=True if metric is None else metric_higher_is_better(metric),
                    label=plots.metric_label(metric) if metric else "each task's own metric",
                    title=f"Per-task scores — {label}",
                ),
            ))
        if section.tables:
            sections.append(section)
    sections += _curve_sections(part, label, order, synthetic, provenance)
    return sections


def _one_metric(part: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The runs on one scale for a curve: normalised when the source published anchors,
    else the most common metric's runs."""
    metrics = part["metric"].value_counts()
    if len(metrics) > 1:
        norm = published_normaliser(part, name=f"{part['suite'].iloc[0]}'s published")
        if norm is not None:
            return (norm.transform(part).assign(score=lambda d: d["normalised"]),
                    plots.metric_label(None, normalised=True))
        metric = str(metrics.index[0])
        return part[part["metric"] == metric], plots.metric_label(metric)
    return part, plots.metric_label(str(metrics.index[0]))


def _curve_sections(
    part: pd.DataFrame, label: str, order: list[str], synthetic: bool, provenance: str
) -> list[Section]:
    sections = []
    if part["fraction"].dropna().nunique() > 1:
        values, ylabel = _one_metric(part.assign(fraction=part["fraction"].fillna(1.0)))
        sections.append(Section(
            f"Score vs training fraction: {label}",
            figures=[("mean ± std over runs and tasks", plots.fraction_curves(
                values, synthetic=synthetic, order=order, ylabel=ylabel,
                title=f"Score vs fraction — {label}"))],
            synthetic=synthetic, provenance=provenance,
        ))
    # A sweep compares rates at one condition: the full training data (fractions tuned their
    # own rates).
    swept = part[_is_full(part)].dropna(subset=["lr"])
    n_lrs = swept.groupby(["model", "task"])["lr"].nunique()
    pairs = n_lrs[n_lrs > 1].index
    if len(pairs):
        swept = swept.set_index(["model", "task"]).loc[list(pairs)].reset_index()
        values, ylabel = _one_metric(swept)
        sections.append(Section(
            f"Learning-rate sweep: {label}",
            figures=[("mean ± std over runs per learning rate; one panel per task", plots.lr_sweep(
                values, synthetic=synthetic, order=order, ylabel=ylabel,
                title=f"LR sweep — {label}"))],
            synthetic=synthetic, provenance=provenance,
        ))
    cost = part[_is_full(part)].dropna(subset=["gflops"])
    if not cost.empty:
        values, ylabel = _one_metric(cost)
        per_model = values.groupby("model").agg(score=("score", "mean"), gflops=("gflops", "mean"))
        higher = True if "normalised" in ylabel else metric_higher_is_better(
            str(values["metric"].iloc[0]))
        sections.append(Section(
            f"Score vs compute: {label}",
            figures=[("mean score against GFLOPs per image (Pareto front in red)", plots.pareto(
                per_model.reset_index(), synthetic=synthetic, higher_is_better=higher,
                ylabel=ylabel, title=f"Score vs GFLOPs — {label}"))],
            synthetic=synthetic, provenance=provenance,
        ))
    return sections


def _published_section(suite: str, runs: pd.DataFrame, ctx: _Context) -> Section | None:
    """The source's own board and its published aggregate beside ours, where it has them."""
    from planetbench.report.audit import published_averages

    section = Section(f"Published aggregates beside ours: {suite}",
                      provenance=_provenance(runs))
    averages = published_averages(runs)
    if not averages.empty:
        bad = averages[~averages["agrees"]]
        section.paragraphs.append(
            "The averages printed in the source's table, recomputed from its own per-task "
            "scores (as `planetbench audit` does; tolerance 0.01): "
            + (f"{len(bad)} disagree ({', '.join(f'{m} {c}' for m, c in zip(bad['model'], bad['check'], strict=True))})."
               if len(bad) else "all agree.")
        )
        wide = averages.pivot(index="model", columns="check", values=["published", "ours"])
        wide.columns = [f"{check} {who}" for who, check in wide.columns]
        wide = wide[sorted(wide.columns)].reset_index()
        flags = averages.groupby("model")["agrees"].all()
        wide["agrees"] = wide["model"].map(flags)
        section.tables.append(("published averages (as printed) vs ours (recomputed from the "
                               "published per-task scores)", wide))
    if suite == "geobench-v1":
        from planetbench.report.leaderboards import suite_leaderboard

        try:
            own = suite_leaderboard(ctx.store, suite=suite, preset="geobench-v1", reps=ctx.reps,
                                    seed=ctx.seed)
        except PlanetbenchError as exc:
            ctx.skipped.append(f"GEO-Bench (v1)'s own aggregation: {exc}")
        else:
            section.paragraphs += [str(own.attrs.get("title", "")),
                                   *map(str, own.attrs.get("notes", []))]
            section.tables.append(("GEO-Bench (v1)'s aggregation at full training data: every "
                                   "run of a cell pooled (no seed matching)", own))
    if suite == "geobench2":
        from planetbench.report.geobench2 import geobench2_leaderboard, published_vs_ours

        for protocol in sorted(runs["protocol"].astype(str).unique()):
            query = BoardQuery(suite=suite, protocol=protocol, reps=ctx.reps, seed=ctx.seed)
            try:
                board = geobench2_leaderboard(ctx.store, query)
                compared = published_vs_ours(ctx.store, query)
            except PlanetbenchError as exc:
                ctx.skipped.append(f"GEO-Bench-2's own leaderboard ({protocol}): {exc}")
                continue
            board.attrs["missing_reasons"] = {
                c: "no score: the model or its submission lacks a task of this dimension"
                for c in board.columns}
            section.paragraphs += [str(n) for n in board.attrs.get("notes", [])]
            section.tables.append((f"GEO-Bench-2's leaderboard, {protocol} (reproduced)", board))
            n_bad = int((~compared["agrees"]).sum())
            section.paragraphs += [str(n) for n in compared.attrs.get("notes", [])]
            section.paragraphs.append(
                f"{protocol}: {n_bad} of {len(compared)} published "
                f"{compared.attrs.get('dimension', '')} scores lie outside our interval."
            )
            section.tables.append((f"GEO-Bench-2's published score beside ours ({protocol})",
                                   compared))
    return section if section.tables else None


def _neuco_section(store: ResultStore, suite: str, *, synthetic: bool) -> Section | None:
    from planetbench.report.embedding_leaderboard import leaderboard, q_long

    table = leaderboard(store, suite=suite)
    if table.empty:
        return None
    table.attrs["missing_reasons"] = {
        "weighted_score": "not ranked: the model lacks a task",
        "rank": "not ranked: the model lacks a task",
        **{c: "the chosen submission of this model does not cover the task"
           for c in table.columns},
    }
    section = Section(
        f"Embedding leaderboard (NeuCo Q score): {suite}",
        paragraphs=[
            "Q = 100·ε·mean/(std+ε) over K random splits; tasks weighted by "
            "the spread of Q across models; rank-then-aggregate."
        ],
        tables=[("one row per model", table)],
        synthetic=synthetic,
    )
    long = q_long(table)
    if long["task"].nunique() >= 3:
        section.figures.append((
            "per-task Q",
            plots.radar(long, value="q", synthetic=synthetic, title=f"Per-task Q — {suite}",
                        order=table["model"].astype(str).tolist(),
                        label="Q (higher is better)"),
        ))
    return section


def _capability_section(runs: pd.DataFrame, ctx: _Context) -> Section | None:
    from planetbench.capability import CapabilityEncoder, connected_blocks
    from planetbench.capability.plot import plot_map

    full = runs[_is_full(runs)]
    if full.empty:
        ctx.skipped.append("capability map: no runs at full training data")
        return None
    # One experimental condition per cell: one suite and protocol (the one with most cells).
    cells_per = full.groupby(["suite", "protocol"]).apply(
        lambda d: d.groupby(["model", "task"]).ngroups, include_groups=False)
    suite, protocol = cells_per.idxmax()
    cells = (
        full[(full["suite"] == suite) & (full["protocol"] == protocol)]
        .groupby(["model", "task", "metric"], as_index=False)["score"].mean()
    )
    blocks = connected_blocks(cells)
    cells = cells[cells["model"].isin(blocks[0].models)]
    if cells["model"].nunique() < 3 or cells["task"].nunique() < 3:
        ctx.skipped.append("capability map: fewer than 3 models or 3 tasks with results in one "
                           "suite and protocol")
        return None
    min_results = int(
        min(5, cells.groupby("model").size().max(), cells.groupby("task").size().max())
    )
    try:
        enc = CapabilityEncoder(dim=2, min_results=max(min_results, 2), n_ensemble=3).fit(cells)
    except PlanetbenchError as exc:
        ctx.skipped.append(f"capability map: {exc}")
        return None
    synthetic = suite in SYNTHETIC_SUITES
    return Section(
        "Capability map",
        paragraphs=[
            "Models (circles) and tasks (triangles) embedded so that distance approximates the "
            "normalised gap to the best model on each task (capabilities encoding); "
            f"runs of suite {suite!r}, protocol {protocol!r} at full training data."
        ],
        figures=[("2-D capability map", plot_map(enc))],
        synthetic=synthetic,
    )


def report_sections(rows: pd.DataFrame, ctx: _Context) -> list[Section]:
    """Every section of the report of ``rows`` (stored rows of every suite)."""
    overview = (
        rows.groupby(["suite", "source", "protocol"])
        .agg(runs=("id", "size"), models=("model", "nunique"), tasks=("task", "nunique"))
        .reset_index()
    )
    overview["data"] = np.where(overview["suite"].isin(SYNTHETIC_SUITES), "SYNTHETIC", "real")
    sections = [Section("Overview", tables=[("runs in the store", overview)])]
    for suite in sorted(rows["suite"].unique()):
        suite_rows = rows[rows["suite"] == suite]
        runs = runs_frame(suite_rows)
        probe = runs[runs["protocol"] == "probe"]
        if not probe.empty:
            neuco = _neuco_section(ctx.store, suite, synthetic=bool(probe["synthetic"].any()))
            if neuco is not None:
                sections.append(neuco)
        if suite in SUITE_SECTIONS:
            own = suite_rows[suite_rows["protocol"] != "probe"]
            if not own.empty:
                parts, skipped = SUITE_SECTIONS[suite](own, reps=ctx.reps, seed=ctx.seed)
                sections += parts
                ctx.skipped += skipped
            continue
        dense = runs[runs["protocol"] != "probe"]
        for protocol, part in dense.groupby("protocol", sort=True):
            sections += _protocol_section(str(suite), str(protocol), part, ctx)
        if not dense.empty and not bool(dense["synthetic"].any()):
            published = _published_section(str(suite), dense, ctx)
            if published is not None:
                sections.append(published)
    from planetbench.report.mars import is_few_shot

    # Few-shot runs have no fraction: keep them out of the full-data capability map.
    dense_all = runs_frame(rows[(rows["protocol"] != "probe") & ~is_few_shot(rows)])
    if not dense_all.empty:
        cap = _capability_section(dense_all, ctx)
        if cap is not None:
            sections.append(cap)
    return sections


def build_report(
    store: str | ResultStore | None = None,
    out: str | Path = "report.html",
    *,
    title: str = "planetbench report",
    reps: int = DEFAULT_REPS,
    seed: int = 0,
) -> Path:
    """Write one self-contained HTML page with the leaderboards and plots of every stored run.

    Args:
        store: results store (URL, path, :class:`ResultStore`, or None for the default store).
        out: output HTML path.
        title: page title.
        reps: bootstrap rounds of every interval (stated at the top of the page).
        seed: bootstrap seed.

    Returns:
        The path written.

    Raises:
        InvalidInputError: ``out`` is a folder or cannot be written; the store holds nothing.
    """
    out = check_output_file(out, example="report.html")
    rs = store if isinstance(store, ResultStore) else ResultStore(store)
    rows = rs.query()
    if rows.empty:
        raise InvalidInputError(
            f"the store {rs.url} has no results to report; run `planetbench demo`, an evaluation, "
            "or `planetbench import FILE` first"
        )
    ctx = _Context(rs, reps, seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sections = report_sections(rows, ctx)
        page_sections = sections
        notes = ctx.skipped + list(dict.fromkeys(_warning_note(w) for w in caught))
        if notes:
            page_sections = [*sections, Section("Notes", paragraphs=notes)]
        suites = sorted(map(str, rows["suite"].unique()))
        synthetic = [s for s in suites if s in SYNTHETIC_SUITES]
        header = [
            f"store: {rs.url}; suites: {', '.join(suites)}"
            + (f" (SYNTHETIC: {', '.join(synthetic)}; the others hold real results)"
               if synthetic and len(synthetic) < len(suites) else ""),
            f"every interval: 95 % percentile bootstrap, {reps:,} rounds (seed {seed})",
        ]
        only_synthetic = len(synthetic) == len(suites)
        sections[0].synthetic = only_synthetic  # the overview of a wholly generated store
        page = render_page(title, page_sections, header=header, synthetic=only_synthetic)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write the report to {str(out)!r}: {exc}") from exc
    return out


__all__ = ["BOARD_MISSING_REASONS", "SUITE_SECTIONS", "build_report", "report_sections"]
