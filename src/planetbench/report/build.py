"""Build the self-contained HTML report of everything in a results store."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError, PlanetbenchError
from planetbench.report import plots
from planetbench.report.html import Section, render_page
from planetbench.report.leaderboards import results_leaderboard, runs_frame
from planetbench.report.mars import MARS_SUITE, is_few_shot, mars_sections
from planetbench.report.output_paths import check_output_file
from planetbench.store import ResultStore

#: Suites whose data planetbench generates (shown with a SYNTHETIC banner and tags).
SYNTHETIC_SUITES: frozenset[str] = frozenset({"demo"})


def _is_synthetic(rows: pd.DataFrame) -> bool:
    return bool(rows["suite"].isin(SYNTHETIC_SUITES).any()) or any(
        isinstance(c, dict) and bool(c.get("synthetic")) for c in rows["config"]
    )


def _suite_sections(
    runs: pd.DataFrame, suite: str, *, synthetic: bool, reps: int, skipped: list[str]
) -> list[Section]:
    """Leaderboard, intervals and radar per protocol at full data, plus fraction/LR/cost plots."""
    sections: list[Section] = []
    for protocol, part in runs.groupby("protocol", sort=True):
        full = part[part["fraction"].fillna(1.0).astype(float) >= 1.0 - 1e-9]
        label = f"{suite} · {protocol}"
        if full.empty:
            skipped.append(f"{label}: no runs at fraction 1.0")
            continue
        section = Section(f"Leaderboard: {label} (fraction 1.0)")
        for metric, mpart in full.groupby("metric"):
            try:
                table = results_leaderboard(
                    mpart.assign(fraction=1.0, protocol=protocol), reps=reps
                )
            except PlanetbenchError as exc:
                skipped.append(f"{label} / {metric}: {exc}")
                continue
            section.tables.append(
                (
                    f"{metric}: per-task mean over seeds, IQM with 95 % bootstrap CI and "
                    f"mean rank with interval (resampling {table.attrs['resampled']})",
                    table,
                )
            )
            ci = table.rename(columns={"iqm": "estimate", "iqm_low": "low", "iqm_high": "high"})
            section.figures.append(
                (
                    f"IQM of {metric} with 95 % CI over per-run scores",
                    plots.intervals(
                        ci, mpart, synthetic=synthetic, title=f"IQM {metric} — {label}"
                    ),
                )
            )
            if mpart["task"].nunique() >= 3:
                section.figures.append(
                    (
                        f"per-task {metric}",
                        plots.radar(
                            mpart, synthetic=synthetic, title=f"Per-task {metric} — {label}"
                        ),
                    )
                )
        if section.tables:
            sections.append(section)
        if part["fraction"].dropna().nunique() > 1:
            sections.append(
                Section(
                    f"Score vs training fraction: {label}",
                    figures=[
                        (
                            "mean ± std over seeds and tasks",
                            plots.fraction_curves(
                                part.assign(fraction=part["fraction"].fillna(1.0)),
                                synthetic=synthetic,
                                title=f"Score vs fraction — {label}",
                            ),
                        )
                    ],
                )
            )
        if part["lr"].dropna().nunique() > 1:
            sections.append(
                Section(
                    f"Learning-rate sweep: {label}",
                    figures=[
                        (
                            "mean score per model and learning rate",
                            plots.lr_heatmap(
                                part.dropna(subset=["lr"]),
                                synthetic=synthetic,
                                title=f"LR sweep — {label}",
                            ),
                        )
                    ],
                )
            )
        cost = full.dropna(subset=["gflops"])
        if not cost.empty:
            per_model = cost.groupby("model").agg(
                score=("score", "mean"), gflops=("gflops", "mean")
            )
            sections.append(
                Section(
                    f"Score vs compute: {label}",
                    figures=[
                        (
                            "mean score against GFLOPs per image (Pareto front in red)",
                            plots.pareto(
                                per_model.reset_index(),
                                synthetic=synthetic,
                                title=f"Score vs GFLOPs — {label}",
                            ),
                        )
                    ],
                )
            )
    return sections


def _neuco_section(store: ResultStore, suite: str, *, synthetic: bool) -> Section | None:
    from planetbench.report.embedding_leaderboard import leaderboard, q_long

    table = leaderboard(store, suite=suite)
    if table.empty:
        return None
    section = Section(
        f"Embedding leaderboard (NeuCo Q score): {suite}",
        paragraphs=[
            "Q = 100·ε·mean/(std+ε) over K random splits; tasks weighted by "
            "the spread of Q across models; rank-then-aggregate."
        ],
        tables=[("one row per model", table)],
    )
    long = q_long(table)
    if long["task"].nunique() >= 3:
        section.figures.append(
            (
                "per-task Q",
                plots.radar(long, value="q", synthetic=synthetic, title=f"Per-task Q — {suite}"),
            )
        )
    return section


def _capability_section(runs: pd.DataFrame, skipped: list[str]) -> Section | None:
    from planetbench.capability import CapabilityEncoder
    from planetbench.capability.plot import plot_map

    # One condition per cell: full training data and the protocol with the most results, so
    # that protocols and fractions are never averaged into one score.
    full = runs[runs["fraction"].fillna(1.0).astype(float) >= 1.0 - 1e-9]
    if full.empty:
        skipped.append("capability map: no runs at full training data")
        return None
    protocol = full["protocol"].value_counts().idxmax()
    cells = (
        full[full["protocol"] == protocol]
        .groupby(["model", "task", "metric"], as_index=False)["score"]
        .mean()
    )
    if cells["model"].nunique() < 3 or cells["task"].nunique() < 3:
        skipped.append("capability map: fewer than 3 models or 3 tasks with results")
        return None
    min_results = int(
        min(5, cells.groupby("model").size().max(), cells.groupby("task").size().max())
    )
    try:
        enc = CapabilityEncoder(dim=2, min_results=max(min_results, 2), n_ensemble=3).fit(cells)
    except PlanetbenchError as exc:
        skipped.append(f"capability map: {exc}")
        return None
    return Section(
        "Capability map",
        paragraphs=[
            "Models (circles) and tasks (triangles) embedded so that distance approximates the "
            "normalised gap to the best model on each task (capabilities encoding); "
            f"runs of protocol {protocol!r} at full training data."
        ],
        figures=[("2-D capability map", plot_map(enc))],
    )


def build_report(
    store: str | ResultStore | None = None,
    out: str | Path = "report.html",
    *,
    title: str = "planetbench report",
    reps: int = 2_000,
) -> Path:
    """Write one self-contained HTML page with the leaderboards and plots of every stored run.

    Args:
        store: results store (URL, path, :class:`ResultStore`, or None for the default store).
        out: output HTML path.
        title: page title.
        reps: bootstrap replicates for the intervals.

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
    synthetic = _is_synthetic(rows)
    skipped: list[str] = []
    overview = (
        rows.groupby(["suite", "source", "protocol"])
        .agg(runs=("id", "size"), models=("model", "nunique"), tasks=("task", "nunique"))
        .reset_index()
    )
    sections = [
        Section(
            "Overview", tables=[("runs in the store", overview)], paragraphs=[f"store: {rs.url}"]
        )
    ]
    for suite in sorted(rows["suite"].unique()):
        suite_rows = rows[rows["suite"] == suite]
        is_syn = synthetic and suite in SYNTHETIC_SUITES
        probe_rows = suite_rows[suite_rows["protocol"] == "probe"]
        if not probe_rows.empty:
            neuco = _neuco_section(rs, suite, synthetic=is_syn or synthetic)
            if neuco is not None:
                sections.append(neuco)
        dense = runs_frame(suite_rows[suite_rows["protocol"] != "probe"])
        if suite == MARS_SUITE and not dense.empty:
            mars, mars_skipped = mars_sections(
                suite_rows[suite_rows["protocol"] != "probe"], reps=reps, synthetic=is_syn
            )
            sections += mars
            skipped += mars_skipped
        elif not dense.empty:
            sections += _suite_sections(dense, suite, synthetic=is_syn, reps=reps, skipped=skipped)
    # Few-shot runs have no fraction: keep them out of the full-data capability map.
    all_runs = runs_frame(rows[(rows["protocol"] != "probe") & ~is_few_shot(rows)])
    if not all_runs.empty:
        cap = _capability_section(all_runs, skipped)
        if cap is not None:
            sections.append(cap)
    if skipped:
        sections.append(Section("Not shown", paragraphs=skipped))
    page = render_page(title, sections, synthetic=synthetic)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write the report to {str(out)!r}: {exc}") from exc
    return out


__all__ = ["build_report"]
