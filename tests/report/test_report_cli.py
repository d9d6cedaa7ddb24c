"""`planetbench audit` on the real Cryo-Bench table and `planetbench report` end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from typer.testing import CliRunner

import planetbench.cli.report  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.store import Result, ResultStore
from tests.report.chromium import render

runner = CliRunner()
CRYO = "cryobench-published-results/cryobench_frozen_upernet_100pct_miou.csv"


def test_audit_flags_ramen_average_on_real_cryobench_table(shared_data: Path) -> None:
    args = ["audit", str(shared_data / CRYO), "--tasks", "glid,gld,sicd,caffe,gsdd",
            "--average", "avg_miou", "--rank", "avg_rank", "--label", "model"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert "RAMEN" in result.output and "53.604" in result.output
    assert "1 disagreement" in result.output
    assert "ViT" not in result.output  # 282.24 / 5 = 56.448, published 56.45: rounding only


def test_audit_consistent_table_exits_zero(tmp_path: Path) -> None:
    table = tmp_path / "t.csv"
    table.write_text("model,a,b,avg,rank\nx,1,3,2,1.5\ny,2,2,2,1.5\n")
    result = runner.invoke(app, ["audit", str(table), "--tasks", "a,b", "--average", "avg",
                                 "--rank", "rank"])
    assert result.exit_code == 0, result.output


def test_audit_missing_file_is_exit_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["audit", str(tmp_path / "nope.csv"), "--tasks", "a"])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def _fill(store: ResultStore) -> None:
    rng = np.random.default_rng(0)
    rows = []
    for model, base, gflops in (("unet", 0.7, 5.0), ("vit", 0.6, 20.0), ("mosaiks", 0.5, 1.0)):
        for task in ("demo-lakes", "demo-debris", "demo-seaice"):
            for fraction in (0.1, 1.0):
                for lr in (1e-3, 1e-4):
                    for seed in range(2):
                        rows.append(Result(
                            model=model, task=task, protocol="frozen", metric="miou",
                            score=base * fraction**0.05 + rng.normal(0, 0.02), suite="demo",
                            seed=seed, fraction=fraction, lr=lr,
                            efficiency={"gflops": gflops},
                            metrics={"val_miou": base - (lr == 1e-3) * 0.05}))
    store.add_many(rows)


def test_report_renders_every_section_and_image(store_url: str, tmp_path: Path) -> None:
    _fill(ResultStore(store_url))
    out = tmp_path / "report.html"
    result = runner.invoke(app, ["report", "--out", str(out), "--store", store_url,
                                 "--reps", "200"])
    assert result.exit_code == 0, result.output
    seen = render(out, tmp_path)
    titles = " | ".join(seen["sections"])  # type: ignore[arg-type]
    for expected in ("Overview", "Leaderboard: demo · frozen", "Score vs training fraction",
                     "Learning-rate sweep", "Score vs compute", "Capability map"):
        assert expected in titles, titles
    assert seen["images"] >= 6
    assert seen["images"] == seen["images_ok"]
    assert seen["synthetic_banner"] is True


def test_report_on_empty_store_is_exit_2(store_url: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "--out", str(tmp_path / "r.html"), "--store",
                                 store_url])
    assert result.exit_code == 2
    assert "no results to report" in result.output
