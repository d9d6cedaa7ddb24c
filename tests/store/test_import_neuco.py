"""Importing NeuCo-Bench phase folders (format ``neuco``): v1.1 and 2025 layouts, bad files named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planetbench.cli.results  # noqa: F401  (registers `import`)
from planetbench.cli import app
from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore
from planetbench.store.importers import detect_and_read
from planetbench.store.importers.neuco import read_neuco

runner = CliRunner()


def _write(folder: Path, content: dict[str, object] | str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / "results_summary.json").write_text(text)


def _output_dir(root: Path) -> Path:
    """D/P/<run>/results_summary.json as NeuCo-Bench v1.1 and its 2025 release write them."""
    dev, test = root / "dev", root / "test"
    _write(dev / "a_20260101_000000", {
        "experiment": "a_20260101_000000", "overall_q_score": 2.0, "overall_acc_score": 0.5,
        "task_q_scores": {"t1": 1.0, "t2": 3.0}, "task_acc_scores": {"t1": 0.4, "t2": 0.6},
        "config": {"k_folds": 20}})
    _write(dev / "old", {"experiment": "old", "overall_score": 3.0,
                         "task_results": {"t1": 4.0, "t2": 2.0}})
    # NeuCo writes NaN tokens for a task whose folds all failed: not a result, named.
    _write(dev / "partial", '{"experiment": "p", "task_q_scores": {"t1": NaN, "t2": 1.5}}')
    _write(dev / "broken", "{not json")
    _write(test / "a_20260102_000000", {
        "experiment": "a_20260102_000000", "overall_q_score": 1.0, "overall_acc_score": 0.3,
        "task_q_scores": {"t1": 1.0}, "task_acc_scores": {"t1": 0.3}})
    (root / "leaderboards" / "dev").mkdir(parents=True)
    (root / "leaderboards" / "dev" / "leaderboard_20260101_000000.csv").write_text("x\n")
    return root


def test_phase_folder_maps_both_layouts_and_names_what_it_skips(tmp_path: Path) -> None:
    df = read_neuco(_output_dir(tmp_path / "D") / "dev")
    rows = {(r.model, r.task, r.metric): r.score for r in df.itertuples()}
    assert rows == {
        ("a_20260101_000000", "t1", "q"): 1.0, ("a_20260101_000000", "t2", "q"): 3.0,
        ("a_20260101_000000", "t1", "acc"): 0.4, ("a_20260101_000000", "t2", "acc"): 0.6,
        ("old", "t1", "q"): 4.0, ("old", "t2", "q"): 2.0, ("p", "t2", "q"): 1.5}
    assert set(df["source"]) == {"neuco:dev"} and set(df["suite"]) == {"neuco"}
    layouts = {r.model: json.loads(r.details)["layout"] for r in df.itertuples()}
    assert layouts == {"a_20260101_000000": "v1.1", "old": "2025", "p": "v1.1"}
    notes = " | ".join(df.attrs["notes"])
    assert "broken/results_summary.json" in notes and "partial: q of task 't1'" in notes


def test_output_dir_reads_every_phase_each_its_own_source(tmp_path: Path) -> None:
    root = _output_dir(tmp_path / "D")
    df = detect_and_read(root)
    assert sorted(set(df["source"])) == ["neuco:dev", "neuco:test"]
    assert set(df.loc[df["source"] == "neuco:test", "model"]) == {"a_20260102_000000"}
    one = read_neuco(root / "test" / "a_20260102_000000" / "results_summary.json")
    assert set(one["source"]) == {"neuco:test"} and len(one) == 2


def test_nothing_readable_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "D" / "dev" / "x", "[1, 2]")
    with pytest.raises(InvalidInputError, match=r"no readable NeuCo-Bench result.*skipped"):
        read_neuco(tmp_path / "D" / "dev")
    with pytest.raises(InvalidInputError, match=r"phase folder .* does not exist"):
        read_neuco(tmp_path / "nowhere")


def test_import_command_stores_a_phase_folder_once(tmp_path: Path, store_url: str) -> None:
    phase = _output_dir(tmp_path / "D") / "dev"
    result = runner.invoke(app, ["import", str(phase), "--store", store_url])
    assert result.exit_code == 0, result.output
    assert "imported 7 of 7 rows (3 models, 2 tasks)" in result.output
    assert "note: skipped" in result.output and "broken" in result.output
    again = runner.invoke(app, ["import", str(phase), "--store", store_url])
    assert "imported 0 of 7 rows" in again.output
    assert len(ResultStore(store_url).query()) == 7
    bad = tmp_path / "empty"
    bad.mkdir()
    refused = runner.invoke(app, ["import", str(bad), "--format", "neuco", "--store", store_url])
    assert refused.exit_code == 2 and "no readable NeuCo-Bench result" in refused.output
