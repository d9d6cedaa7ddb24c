"""The mars preset: Mars-Bench's board, figures and report sections over stored runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from typer.testing import CliRunner

import planetbench.cli.embedding
import planetbench.cli.results  # noqa: F401  (two commands: Typer keeps the command names)
from planetbench.cli import app
from planetbench.errors import InvalidInputError
from planetbench.report.build import build_report
from planetbench.report.mars import (
    BOARD_COLUMNS,
    budget_curves,
    mars_board,
    mars_leaderboard,
    mars_runs,
    mars_sections,
    plot_budget_curves,
    plot_dataset_violins,
    select_runs,
)
from planetbench.store import Result, ResultStore
from planetbench.store.importers import import_results
from planetbench.store.importers.marsbench import read_marsbench
from tests.fakes import marsbench_results as fake

runner = CliRunner()
REAL = "marsbench-baseline-results"


@pytest.fixture
def fake_store(tmp_path: Path, store_url: str) -> ResultStore:
    """A store holding the seeded fake Mars-Bench tables (SYNTHETIC numbers)."""
    fake.write(tmp_path / "tables")
    store = ResultStore(store_url)
    import_results(read_marsbench(tmp_path / "tables"), store)
    return store


def test_board_excludes_the_constant_dataset_and_records_the_method(
    fake_store: ResultStore,
) -> None:
    board = mars_leaderboard(fake_store, reps=1000)
    tasks = ["mb-domars16k", "mb-frost_cls"]
    assert list(board.columns) == [*BOARD_COLUMNS, *tasks, "normaliser", "reps"]
    assert board["model"].tolist() == ["ViT-L/16", "SwinV2-B", "ResNet101"]
    assert set(board["metric"]) == {"f1_weighted_mb"}
    assert set(board["normaliser"]) == {"compared"} and set(board["reps"]) == {1000}
    assert (board["n_tasks"] == 2).all() and (board["n_runs"] == 6).all()
    assert ((board["iqm_low"] <= board["iqm"]) & (board["iqm"] <= board["iqm_high"])).all()
    assert board.attrs["excluded_tasks"] == {"f1_weighted_mb": {"mb-change_cls_ctx": fake.CONSTANT}}
    notes = "\n".join(board.attrs["notes"])
    assert "excluded constant dataset(s) mb-change_cls_ctx (every run 0.7111)" in notes
    assert "normaliser compared (Mars-Bench's make_normalizer: per-dataset min/max over the 18" \
        in notes
    assert "1,000 stratified-bootstrap rounds" in board.attrs["title"]
    assert "full training data" in board.attrs["title"]
    # compared min-max: per dataset, the best run is 1 and the worst 0
    runs = mars_runs(fake_store.query(suite="mars"))
    full = select_runs(runs)
    b = mars_board(full, reps=1000)
    reps = b.scores.bootstraps["ViT-L/16"].task_replicates
    assert reps.max() <= 1.0 + 1e-12 and b.scores.bootstraps["ResNet101"].task_replicates.min() >= 0


def test_too_few_rounds_and_bad_normalisers_are_refused(
    tmp_path: Path, fake_store: ResultStore
) -> None:
    with pytest.raises(InvalidInputError, match=r"at least 1,000 bootstrap rounds .* drew 100"):
        mars_leaderboard(fake_store, reps=999)
    with pytest.raises(InvalidInputError, match=r"--normaliser .*absent.json.*: no such file"):
        mars_leaderboard(fake_store, normaliser=tmp_path / "absent.json", reps=1000)
    bad = tmp_path / "bad.json"
    bad.write_text('{"mb-domars16k": [0.1, 0.9]}')
    with pytest.raises(InvalidInputError, match="schema"):
        mars_leaderboard(fake_store, normaliser=bad, reps=1000)


def test_frozen_normaliser_file_gives_the_same_board_and_is_named(
    tmp_path: Path, fake_store: ResultStore
) -> None:
    runs = select_runs(mars_runs(fake_store.query(suite="mars")))
    compared = mars_board(runs, reps=1000)
    path = tmp_path / "mars-v1.json"
    path.write_text(compared.normaliser.normaliser.to_json())
    frozen = mars_leaderboard(fake_store, normaliser=path, reps=1000)
    again = mars_leaderboard(fake_store, reps=1000)
    cols = ["iqm", "iqm_low", "iqm_high", "mean_rank", "mb-domars16k"]
    pd.testing.assert_frame_equal(frozen[cols], again[cols])
    assert set(frozen["normaliser"]) == {str(path)}
    described = frozen.attrs["normaliser"]["f1_weighted_mb"]
    assert "version 'compared'" in described and compared.normaliser.normaliser.digest in described
    # a frozen normaliser that lacks a dataset of the selection is refused, not extrapolated
    few_shot = mars_runs(fake_store.query(suite="mars"))
    with pytest.raises(InvalidInputError, match="has no anchors"):
        mars_board(select_runs(few_shot, fraction=0.5).assign(task="mb-landmark_cls"),
                   normaliser=path, reps=1000)


def test_selections_by_budget_and_their_errors(fake_store: ResultStore) -> None:
    runs = mars_runs(fake_store.query(suite="mars"))
    assert runs["shots"].notna().sum() == 35
    shots = mars_leaderboard(fake_store, shots=5, reps=1000)
    assert "5 shots per class" in shots.attrs["title"] and set(shots["n_runs"]) == {6}
    half = mars_leaderboard(fake_store, fraction=0.5, reps=1000)
    # at fraction 0.5 mb-change_cls_ctx is not constant: three datasets are compared
    assert set(half["n_tasks"]) == {3} and half.attrs["excluded_tasks"] == {"f1_weighted_mb": {}}
    with pytest.raises(InvalidInputError, match="not both"):
        select_runs(runs, fraction=0.5, shots=5)
    with pytest.raises(InvalidInputError,
                       match=r"no runs for fraction 0.2; the store holds .*fractions 0.1, 0.5, 1; "
                             r"shots 1, 5"):
        select_runs(runs, fraction=0.2)
    mixed = pd.concat([runs, runs.assign(protocol="finetune")])
    with pytest.raises(InvalidInputError, match=r"mix protocols \['finetune', 'frozen'\]"):
        select_runs(mixed)
    assert len(select_runs(mixed, protocol="finetune")) == 27


def test_models_without_every_dataset_are_dropped_and_named(store_url: str) -> None:
    rng = np.random.default_rng(1)
    store = ResultStore(store_url)
    store.add_many([
        Result(model=m, task=t, protocol="frozen", metric="iou_mb", suite="mars", seed=s,
               fraction=1.0, score=float(rng.random()))
        for m in ("a", "b", "c") for t in ("mb-mmls", "mb-s5mars") for s in range(3)
        if not (m == "c" and t == "mb-s5mars")
    ])
    board = mars_leaderboard(store, reps=1000)
    assert sorted(board["model"]) == ["a", "b"] and board.attrs["dropped_models"] == ["c"]
    with pytest.raises(InvalidInputError, match=r"no runs to rank: .* no runs of suite 'other'"):
        mars_leaderboard(store, suite="other", reps=1000)


def test_budget_curves_and_figures(fake_store: ResultStore) -> None:
    runs = mars_runs(fake_store.query(suite="mars"))
    curves = budget_curves(runs, budget="fraction", reps=1000)
    # Mars-Bench normalises the whole curve table at once: nothing is constant over fractions
    assert curves.excluded == {}
    assert len(curves.marsbench) == 3 * 3 * 3 and set(curves.marsbench["count"]) == {3}
    assert set(curves.ours["task"]) == {"aggregated", *fake.DATASETS}
    fig = plot_budget_curves(curves)
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    legend = [t.get_text() for lg in fig.legends for t in lg.get_texts()]
    assert "Mars-Bench: mean ± std over seeds (line, band)" in legend
    assert "ours: IQM over seeds, 1,000-round bootstrap 95 % CI (bars)" in legend
    few = plot_budget_curves(budget_curves(runs, budget="shots", reps=1000), synthetic=True)
    assert "SYNTHETIC" in few.texts[0].get_text() and len(few.axes) == 3
    board = mars_board(select_runs(runs), reps=1000)
    violins = plot_dataset_violins(board)
    assert len(violins.axes) == 3
    assert "1,000 rounds (Mars-Bench drew 100)" in violins.texts[0].get_text()
    with pytest.raises(InvalidInputError, match="budget 'epochs' is not allowed"):
        budget_curves(runs, budget="epochs", reps=1000)


def test_report_sections_say_where_the_numbers_come_from(fake_store: ResultStore) -> None:
    rows = fake_store.query(suite="mars")
    sections, skipped = mars_sections(rows, reps=1000)
    (section,) = sections
    assert skipped == []
    assert section.title == "Mars-Bench: f1_weighted_mb · frozen (real data: published results)"
    assert section.paragraphs[0].startswith("REAL DATA from Mars-Bench's published per-seed")
    assert len(section.tables) == 1 and len(section.figures) == 3  # violins, fraction, shots
    mine = rows.assign(source="planetbench")
    sections, _ = mars_sections(mine, reps=1000)
    assert "real data" not in sections[0].title
    assert sections[0].paragraphs[0] == "Runs of sources planetbench."
    _, skipped = mars_sections(rows, reps=100)
    assert any("at least 1,000 bootstrap rounds" in s for s in skipped)


def test_html_report_has_the_mars_section(tmp_path: Path, fake_store: ResultStore) -> None:
    out = build_report(fake_store, tmp_path / "r.html", reps=1000)
    page = out.read_text()
    assert "Mars-Bench: f1_weighted_mb · frozen (real data: published results)" in page
    assert "excluded constant dataset(s) mb-change_cls_ctx" in page


def test_cli_leaderboard_preset_mars_formats(fake_store: ResultStore, store_url: str) -> None:
    base = ["leaderboard", "--store", store_url, "--suite", "mars", "--preset", "mars",
            "--reps", "1000"]
    res = runner.invoke(app, [*base, "--format", "json"])
    assert res.exit_code == 0, res.output
    board = json.loads(res.stdout)
    assert [r["model"] for r in board] == ["ViT-L/16", "SwinV2-B", "ResNet101"]
    assert board[0]["normaliser"] == "compared" and board[0]["reps"] == 1000
    assert "excluded constant dataset(s) mb-change_cls_ctx" in res.output
    csv = runner.invoke(app, [*base, "--format", "csv"])
    assert csv.stdout.startswith("metric,model,iqm,iqm_low,iqm_high,mean_rank")
    md = runner.invoke(app, [*base, "--format", "md", "--shots", "1"])
    assert md.exit_code == 0 and md.stdout.startswith("| metric | model | iqm |")
    table = runner.invoke(app, [*base[:-2], "--metric", "f1_weighted_mb"])
    assert table.exit_code == 0 and "Mars-Bench leaderboard: suite mars" in table.stdout
    assert "10,000 stratified-bootstrap rounds" in table.stdout
    # --suite mars alone is the same board
    alone = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "mars",
                                "--reps", "1000", "--format", "json"])
    assert json.loads(alone.stdout) == board


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "mars", "--reps", "500"], "at least 1,000 bootstrap rounds"),
        (["--suite", "mars", "--normaliser", "absent.json"], "no such file"),
        (["--suite", "mars", "--fraction", "0.5", "--shots", "5"], "not both"),
        (["--suite", "cryo", "--preset", "cryo", "--shots", "5"],
         "--shots select(s) the runs of the mars preset's board; add --preset mars"),
        (["--suite", "cryo", "--normaliser", "compared"],
         "--normaliser compared (Mars-Bench's, built from the compared runs) belongs to"),
        (["--metric", "iou_mb"], "metric select(s) the runs of a suite's board"),
    ],
)
def test_cli_leaderboard_mars_errors(
    fake_store: ResultStore, store_url: str, args: list[str], message: str
) -> None:
    res = runner.invoke(app, ["leaderboard", "--store", store_url, *args])
    assert res.exit_code == 2
    assert message in " ".join(res.output.split())


def test_real_baselines_leaderboard(shared_data: Path, store_url: str) -> None:
    """The 5 classification and 4 segmentation baselines of Mars-Bench's published tables."""
    store = ResultStore(store_url)
    df = read_marsbench(shared_data / REAL / "classification_filtered.csv")
    import_results(pd.concat([df, read_marsbench(shared_data / REAL / "segmentation_filtered.csv")]),
                   store)
    board = mars_leaderboard(store, reps=1000)
    cls = board[board["metric"] == "f1_weighted_mb"].set_index("model")
    seg = board[board["metric"] == "iou_mb"].set_index("model")
    assert board.attrs["excluded_tasks"]["f1_weighted_mb"] == {
        "mb-change_cls_ctx": pytest.approx(0.7111111283302307, rel=1e-7)}
    assert set(cls["n_tasks"]) == {8} and set(cls["n_runs"]) == {56}
    assert set(seg["n_tasks"]) == {8} and set(seg["n_runs"]) == {56}
    # the two transformers are clearly ahead of the CNNs, whatever the bootstrap draws
    for top in ("SwinV2-B", "ViT-L/16"):
        for cnn in ("ResNet101", "SqueezeNet1.1", "InceptionV3"):
            assert cls.loc[top, "iqm_low"] > cls.loc[cnn, "iqm_high"]
    assert seg.index[0] == "UNet" and seg.loc["UNet", "iqm_low"] > seg.loc["SegFormer", "iqm_high"]
    assert ((board["iqm_low"] <= board["iqm"]) & (board["iqm"] <= board["iqm_high"])).all()
    assert ((board["mean_rank_low"] <= board["mean_rank"])
            & (board["mean_rank"] <= board["mean_rank_high"])).all()
