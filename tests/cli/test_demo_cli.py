"""End to end: ``planetbench demo --quick`` offline, and ``planetbench embed``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from planetbench.cli import _load_commands, app

runner = CliRunner()


def test_demo_quick_end_to_end(tmp_path: Path) -> None:
    _load_commands()
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--quick", "--seed", "0"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DEMO DATA" in result.output
    assert "an informative encoder ranks above random" in result.output
    for name in ("random", "averaging", "mosaiks"):
        assert (out / "embeddings" / f"{name}.csv").is_file()
        summary = json.loads((out / "results" / name / "summary.json").read_text())
        assert set(summary["tasks"]) == {
            "demo-biomass", "demo-lake", "demo-snow-cover", "demo-surface"
        }
    from planetbench.report.embedding_leaderboard import leaderboard

    board = leaderboard(f"sqlite:///{out / 'demo-results.sqlite'}", suite="demo")
    models = list(board["model"])
    assert set(models) == {"random", "averaging", "mosaiks"}
    best_informative = min(models.index("averaging"), models.index("mosaiks"))
    assert best_informative < models.index("random")
    assert board.loc[board["model"] == "random", "rank"].item() == 3
    # the demo ends with the report of everything it ran, labelled synthetic
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" in html and "Embedding leaderboard" in html and "mosaiks" in html
    assert f"report: {out / 'report.html'}" in " ".join(result.output.split())
    # the Mars part: its table (both metrics) in the output, its runs in the report
    text = " ".join(result.output.split())
    assert "Mars-like tasks on SYNTHETIC scenes" in text and "craters f1_weighted_mb (MB)" in text
    assert "unet scratch: unet (tiny) under scratch (Mars-Bench's scratch_training)" in text
    assert "demo-mars-boulders" in html
    # with ../shared/data present, the REAL part runs too, labelled and kept apart
    from planetbench.demo.real import find_real_data

    if find_real_data() is not None:
        text = " ".join(result.output.split())
        assert "REAL DATA — not synthetic" in text and "presto-fuel-moisture" in text
        real = leaderboard(f"sqlite:///{out / 'real' / 'presto-fuel-moisture' / 'results.sqlite'}",
                           suite="presto")
        assert list(real["model"]) == ["presto", "presto-raw"]
        assert "presto" not in html  # the synthetic report holds no real result
    else:
        assert "REAL part skipped" in result.output


def test_embed_command(tmp_path: Path) -> None:
    from planetbench.tasks.demo import write_demo_data

    _load_commands()
    root = write_demo_data(tmp_path / "data", n_images=20, size=16, seed=0, sar=False)
    out = tmp_path / "avg.csv"
    args = ["embed", "--encoder", "averaging", "--tasks", "demo", "--out", str(out), "--tiny"]
    result = runner.invoke(app, [*args, "--root", str(root), "--split", "train"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC DEMO DATA" in result.output
    frame = pd.read_csv(out)
    assert frame.shape == (12, 1 + 3 * 4 * 4)
    bad = runner.invoke(
        app, ["embed", "--encoder", "averagin", "--tasks", "demo", "--out", str(out)]
    )
    assert bad.exit_code == 2
    assert "did you mean 'averaging'" in bad.output
