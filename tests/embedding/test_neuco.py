"""NeuCo-Bench compatibility: the YAML configuration model and the phase leaderboard."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from planetbench.embedding.neuco import (
    KNOWN_KEYS,
    NeucoYaml,
    load_neuco_config,
    parse_neuco_config,
    write_neuco_leaderboard,
)
from planetbench.errors import ConfigError, InvalidInputError


def test_both_layouts_map_to_the_same_probe() -> None:
    flat = parse_neuco_config({"k_folds": 4, "epochs": 3, "batch_size": 64,
                               "learning_rate": 0.001}, source="flat.yaml")
    nested = parse_neuco_config({"k_folds": 4, "probe_type": "linear",
                                 "probe_params": {"batch_size": 64, "epochs": 3,
                                                  "learning_rate": "1e-3"}},
                                source="nested.yaml")
    assert flat.probe == nested.probe
    assert flat.probe.probe == "neuco" and flat.probe.n_splits == 4
    assert flat.probe.neuco_epochs == 3 and flat.probe.test_size == 0.1 and flat.probe.seed == 42
    assert flat.standardize and flat.normalize_labels and not flat.plots
    assert parse_neuco_config({"k_folds": 2, "task_filter": False}, source="s").task_filter is None
    assert parse_neuco_config({"k_folds": 2, "task_filter": ["a"]}, source="s").task_filter == ["a"]


def test_every_key_has_a_field() -> None:
    assert set(KNOWN_KEYS) == set(NeucoYaml.model_fields)
    assert {"k_folds", "probe_params", "standardize_embeddings", "task_filter"} <= set(KNOWN_KEYS)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"k_folds": 3, "folds": 2, "lr": 1},
         r"unknown NeuCo-Bench config key\(s\) 'folds', 'lr'; supported keys: k_folds, "),
        ({"epochs": 3}, r"the required key 'k_folds' \(number of random splits\) is missing"),
        ({"k_folds": 3, "learning_rate": "fast"},
         r"'learning_rate': input should be a valid number.*; got 'fast'"),
        ({"k_folds": 3, "learning_rate": 0.01}, r"learning_rate=0\.01 is not supported"),
        ({"k_folds": 3, "probe_params": {"learning_rate": 0.1}},
         r"learning_rate=0\.1 is not supported; the neuco probe uses NeuCo-Bench's"),
        ({"k_folds": 3, "batch_size": 32}, "batch_size=32 is not supported"),
        ({"k_folds": 3, "epochs": 2, "probe_params": {"epochs": 5}},
         r"'epochs' is set twice with different values \(2 at the top level, 5 in probe_params\)"),
        ({"k_folds": 3, "probe_params": {"momentum": 0.9}},
         r"unknown probe_params key\(s\) 'momentum'; supported: batch_size, epochs, learning_rate"),
        ({"k_folds": 3, "probe_params": [1]}, "probe_params must be a mapping; got \\[1\\]"),
        ({"k_folds": 3, "enable_plots": 1}, "'enable_plots' must be true or false; got 1"),
        ({"k_folds": 3, "normalize_labels": False},
         "normalize_labels: false is not supported.*min-max"),
        ({"k_folds": 3, "store_probes": True}, "true is not supported"),
        ({"k_folds": 3, "device": "cuda"}, "device='cuda' is not supported"),
        ({"k_folds": 3, "probe_type": "svm"}, "probe_type 'svm' is not supported"),
        ({"k_folds": 3, "task_filter": []}, r"task_filter: \[\] selects no task"),
        ({"k_folds": 3, "task_filter": "a"}, "task_filter must be null or a list of task names"),
        ({"k_folds": "three"}, "'k_folds': input should be a valid integer"),
        ({"k_folds": 1}, "n_splits"),
        ({1: 2}, "config keys must be names; got 1"),
        ([1, 2], "must be a YAML mapping"),
    ],
)
def test_refusals_name_the_key(raw: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_neuco_config(raw, source="c.yaml")


def test_config_files_that_are_not_yaml_text(tmp_path: Path) -> None:
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xe2\x28\xa1\x00\xff" * 20)
    with pytest.raises(ConfigError, match=r"is not UTF-8 text \(a binary file\?\)"):
        load_neuco_config(binary)
    broken = tmp_path / "broken.yaml"
    broken.write_text("k_folds: [3\n")
    with pytest.raises(ConfigError, match="is not valid YAML"):
        load_neuco_config(broken)
    with pytest.raises(ConfigError, match="does not exist"):
        load_neuco_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory, not a file"):
        load_neuco_config(tmp_path)


def _summary(folder: Path, experiment: str, q: dict[str, float]) -> None:
    folder.mkdir(parents=True)
    (folder / "results_summary.json").write_text(json.dumps(
        {"experiment": experiment, "overall_score": sum(q.values()) / len(q), "task_results": q}
    ))


def test_leaderboard_skips_and_names_unreadable_summaries(tmp_path: Path) -> None:
    phase = tmp_path / "dev"
    _summary(phase / "a", "a", {"t1": 50.0, "t2": 10.0})
    _summary(phase / "b", "b", {"t1": 40.0, "t2": 30.0})
    (phase / "broken").mkdir()
    (phase / "broken" / "results_summary.json").write_text("{bad")
    (phase / "binary").mkdir()
    (phase / "binary" / "results_summary.json").write_bytes(b"\xff\xfe\x00")
    (phase / "odd").mkdir()
    (phase / "odd" / "results_summary.json").write_text('{"experiment": "odd"}')
    board = write_neuco_leaderboard(tmp_path, "dev")
    frame = pd.read_csv(board.path)
    assert sorted(frame["experiment"]) == ["a", "b"]
    assert board.path.parent == tmp_path / "leaderboards" / "dev"
    assert len(board.skipped) == 3
    assert any("broken/results_summary.json: JSONDecodeError" in s for s in board.skipped)
    assert any("binary/results_summary.json: UnicodeDecodeError" in s for s in board.skipped)
    assert any("odd/results_summary.json: ValueError: it lacks 'experiment' or 'task_results'"
               in s for s in board.skipped)


def test_leaderboard_without_readable_summaries(tmp_path: Path) -> None:
    (tmp_path / "dev" / "x").mkdir(parents=True)
    (tmp_path / "dev" / "x" / "results_summary.json").write_text("[]")
    with pytest.raises(InvalidInputError, match=r"no readable results_summary\.json .*skipped: "):
        write_neuco_leaderboard(tmp_path, "dev")
    with pytest.raises(InvalidInputError, match=r"--phase '\.\./x' holds the path separator"):
        write_neuco_leaderboard(tmp_path, "../x")
