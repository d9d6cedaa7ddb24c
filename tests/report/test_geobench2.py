"""Leaderboards of every imported published table, from the real files in ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planetbench.cli.embedding
import planetbench.cli.results  # noqa: F401
from planetbench.cli import app
from planetbench.report.audit import published_averages
from planetbench.report.geobench2 import published_vs_ours
from planetbench.report.leaderboards import BoardQuery, runs_frame, suite_leaderboard
from planetbench.store import ResultStore
from planetbench.store.importers import detect_and_read, import_results
from tests.conftest import SHARED_DATA

runner = CliRunner()


@pytest.fixture(scope="module")
def geobench2_store(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store with the GEO-Bench-2 import, shared by the tests of this module (read only)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (CI has it beside the clone)")
    url = f"sqlite:///{tmp_path_factory.mktemp('geobench2') / 'results.sqlite'}"
    import_results(detect_and_read(SHARED_DATA / "geobench2-leaderboard-results"),
                   ResultStore(url))
    return url


def test_geobench2_preset_reproduces_the_leaderboard(geobench2_store: str) -> None:
    """The values equal what the leaderboard's own compute_tools give on the same files
    (checked by running its code beside ours: every dimension score agrees to 1e-12)."""
    board = suite_leaderboard(geobench2_store, suite="geobench2", preset="geobench2",
                              protocol="finetune").set_index("model")
    assert board.loc["clay_v1_base+s1s2", "Core"] == 78.6
    assert board.loc["clay_v1_base", "Core"] == 77.8
    assert board.loc["resnet50", "Core"] == 26.8
    assert board.loc["terramind_v1_large+s1s2", "Multi-Temporal"] == 98.1
    assert board.loc["clay_v1_base", "display_name"] == "Clay-V1 ViT-B"
    assert board["Core"].isna().sum() == 4  # four backbones lack a Core dataset
    assert board.index[0] == "clay_v1_base+s1s2"  # ordered by Core, best first
    frozen = suite_leaderboard(geobench2_store, suite="geobench2", preset="geobench2",
                               protocol="frozen").set_index("model")
    assert frozen["Core"].isna().all()  # the frozen submission lacks Core datasets
    assert frozen.loc["clay_v1_base", "Multi-Spectral-Dependent"] == 40.2


def test_published_score_beside_ours(geobench2_store: str) -> None:
    table = published_vs_ours(ResultStore(geobench2_store),
                              BoardQuery(suite="geobench2", protocol="finetune", reps=500))
    assert len(table) == 17 and set(table["dimension"]) == {"Core"}
    assert (table["published"] - table["ours"]).abs().max() < 0.5
    assert table["agrees"].all()
    assert (table["ours_low"] <= table["ours"]).all() and (table["ours"] <= table["ours_high"]).all()


def test_geobench2_default_board_uses_the_published_normaliser(geobench2_store: str) -> None:
    res = runner.invoke(app, ["leaderboard", "--store", geobench2_store, "--suite", "geobench2",
                              "--protocol", "frozen", "--reps", "200", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert len(rows) == 10 and rows[0]["reps"] == 200
    assert rows[0]["mean_rank"] <= rows[-1]["mean_rank"]
    mixed = runner.invoke(app, ["leaderboard", "--store", geobench2_store, "--suite",
                                "geobench2", "--reps", "200"])
    assert mixed.exit_code == 2
    assert "--protocol (finetune | frozen)" in " ".join(mixed.output.split())


def test_geobench2_normaliser_file_given_on_the_command_line(geobench2_store: str) -> None:
    normalizer = SHARED_DATA / "geobench2-leaderboard-results" / "normalizer.json"
    res = runner.invoke(app, ["leaderboard", "--store", geobench2_store, "--suite", "geobench2",
                              "--protocol", "frozen", "--reps", "200", "--normaliser",
                              str(normalizer), "--format", "md"])
    assert res.exit_code == 0, res.output
    assert "normalizer.json" in res.stdout


def test_cryobench_published_averages_beside_ours(shared_data: Path, store_url: str) -> None:
    csv = shared_data / "cryobench-published-results" / "cryobench_frozen_upernet_100pct_miou.csv"
    import_results(detect_and_read(csv), ResultStore(store_url))
    table = published_averages(runs_frame(ResultStore(store_url).query()))
    bad = table[~table["agrees"]]
    # The published table's RAMEN average (57.17) is not the mean of its per-task mIoU (53.60);
    # every average rank agrees (ranked over all 16 rows, frozen and from-scratch).
    assert bad[["model", "check"]].values.tolist() == [["RAMEN", "avg_miou"]]
    assert bad["ours"].iloc[0] == pytest.approx(53.604)
    assert len(table) == 32


def test_geobench_v1_boards_from_its_fraction_and_seed_structure(
    shared_data: Path, store_url: str
) -> None:
    """GEO-Bench v1 draws seeds per dataset and repeats some within a cell: our default board
    matches runs by position (no longer '0 seeds present on every task'), and the geobench-v1
    preset pools every run of a cell, per training fraction, as GEO-Bench's plot_tools does."""
    csv = shared_data / "geobench-v1-segmentation-results" / "baseline_segmentation_results.csv"
    import_results(detect_and_read(csv), ResultStore(store_url))
    ours = suite_leaderboard(store_url, suite="geobench-v1", fraction=1.0, reps=200)
    assert len(ours) == 6 and (ours["n_runs"] >= 6).all()
    assert any("per task" in n for n in ours.attrs["notes"])  # what was left out is said
    own = suite_leaderboard(store_url, suite="geobench-v1", preset="geobench-v1", fraction=0.1,
                            reps=1000)
    assert len(own) == 6 and set(own["metric"]) == {"miou"}
    assert (own["n_runs"] == 72).all()  # 12 runs x 6 datasets, repeated seeds kept
    assert own["model"].iloc[0] == "ResNet101-U-Net-timm"
    assert "GEO-Bench (v1) aggregation" in own.attrs["title"]
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "geobench-v1",
                              "--reps", "200"])
    assert res.exit_code == 2  # seven fractions: the message names the flag and the values
    assert "--fraction (0.01 | 0.02 | 0.05 | 0.1 | 0.2 | 0.5 | 1.0)" in " ".join(res.output.split())
