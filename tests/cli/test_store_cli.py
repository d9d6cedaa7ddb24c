"""``planetbench export`` and ``store-info``: filters, the old ``--method`` spelling, the schema."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

import planetbench.cli.store  # noqa: F401  (registers the commands)
from planetbench.cli import _load_commands, app
from planetbench.store import Result, ResultStore

runner = CliRunner()


def _fill(url: str) -> None:
    store = ResultStore(url)
    store.add_many([
        Result(model=m, task=t, protocol="frozen", metric="miou", score=0.5, suite=s, seed=0)
        for m, t, s in (("a", "glid", "cryo"), ("b", "glid", "cryo"), ("a", "mb-mmls", "mars"))
    ])


def test_export_filters_by_model_and_suite(tmp_path: Path, store_url: str) -> None:
    _load_commands()
    _fill(store_url)
    out = tmp_path / "runs.csv"
    result = runner.invoke(app, ["export", str(out), "--model", "a", "--suite", "cryo"])
    assert result.exit_code == 0, result.output
    rows = pd.read_csv(out)
    assert rows["model"].tolist() == ["a"] and rows["suite"].tolist() == ["cryo"]
    assert "wrote 1 rows" in result.output


def test_old_method_flag_still_works_hidden(tmp_path: Path, store_url: str) -> None:
    _load_commands()
    _fill(store_url)
    out = tmp_path / "runs.csv"
    result = runner.invoke(app, ["export", str(out), "--method", "b"])
    assert result.exit_code == 0, result.output
    assert pd.read_csv(out)["model"].tolist() == ["b"]
    assert "--method" not in runner.invoke(app, ["export", "--help"]).output
    clash = runner.invoke(app, ["export", str(out), "--method", "b", "--model", "a"])
    assert clash.exit_code == 2
    assert "old spelling of --model" in clash.output


def test_store_info_names_the_store_and_its_schema(store_url: str) -> None:
    _load_commands()
    _fill(store_url)
    result = runner.invoke(app, ["store-info"])
    assert result.exit_code == 0, result.output
    assert "runs: 3" in result.output and "schema:" in result.output
