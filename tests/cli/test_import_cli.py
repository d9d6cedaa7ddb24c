"""``planetbench import FILE``: long CSV and the real published tables into the store."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

# Register both command modules: with a single command Typer would drop the command name.
import planetbench.cli.capability
import planetbench.cli.results  # noqa: F401
from planetbench.cli import app
from planetbench.store import ResultStore

runner = CliRunner()

LONG = (
    "model,task,metric,score,seed,protocol,fraction,suite,lr\n"
    "a,glid,miou,0.91,0,frozen,1.0,cryo,0.001\n"
    "a,glid,miou,0.89,1,frozen,1.0,cryo,0.001\n"
    "b,glid,miou,0.80,0,frozen,0.5,cryo,\n"
    "b,biomass,rmse,12.5,,finetune,,,\n"
)


def _csv(tmp_path: Path, text: str, name: str = "lit.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_long_csv_then_again(tmp_path: Path, store_url: str) -> None:
    path = _csv(tmp_path, LONG)
    result = runner.invoke(app, ["import", str(path), "--store", store_url])
    assert result.exit_code == 0, result.output
    assert "imported 4 of 4 rows (2 models, 2 tasks)" in result.output
    rows = ResultStore(store_url).query()
    assert rows["source"].unique().tolist() == ["literature"]
    assert rows["model"].tolist() == ["a", "a", "b", "b"]
    assert rows["protocol"].tolist() == ["frozen", "frozen", "frozen", "finetune"]
    assert rows["fraction"].tolist()[:3] == [1.0, 1.0, 0.5]
    assert rows["lr"].tolist()[0] == 0.001 and rows["seed"].tolist()[1] == 1
    assert rows["metric"].tolist()[-1] == "rmse" and rows["score"].tolist()[-1] == 12.5
    # Idempotent: the second import writes nothing and says so.
    again = runner.invoke(app, ["import", str(path), "--store", store_url])
    assert again.exit_code == 0, again.output
    assert "imported 0 of 4 rows" in again.output and "skipped 4 already stored" in again.output
    assert len(ResultStore(store_url)) == 4


def test_import_uses_store_env_and_source_option(tmp_path: Path, store_url: str) -> None:
    result = runner.invoke(app, ["import", str(_csv(tmp_path, LONG)), "--source", "paper-x"])
    assert result.exit_code == 0, result.output
    assert set(ResultStore(store_url).query()["source"]) == {"paper-x"}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("model,task,score\na,t,1\n", r"lacks required column\(s\) \['metric'\]"),
        ("model,task,metric,score\na,t,miou,0.5\nb,t,miou,high\n", r"'score' is not a finite"),
        ("model,task,metric,score\na,t,miou,0.5\nb,t,miou,nan\n", r"row\(s\) 2"),
        ("model,task,metric,score\na,t,dice,0.5\n", r"\['dice'\] whose direction"),
        ("model,task,metric,score,seed\na,t,miou,0.5,x\n", r"'seed' must hold integers"),
    ],
)
def test_bad_file_exits_2_and_stores_nothing(
    tmp_path: Path, store_url: str, text: str, match: str
) -> None:
    result = runner.invoke(app, ["import", str(_csv(tmp_path, text)), "--store", store_url])
    assert result.exit_code == 2
    assert "error:" in result.output
    assert re.search(match, result.output.replace("\n", " ")), result.output
    assert len(ResultStore(store_url)) == 0


def test_missing_file_and_bad_format(tmp_path: Path, store_url: str) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.csv"), "--store", store_url])
    assert result.exit_code == 2 and "does not exist" in result.output
    path = _csv(tmp_path, LONG)
    result = runner.invoke(app, ["import", str(path), "--format", "xls", "--store", store_url])
    assert result.exit_code == 2 and "--format 'xls' is unknown" in result.output


def test_import_real_cryobench_table(shared_data: Path, store_url: str) -> None:
    csv = shared_data / "cryobench-published-results" / "cryobench_frozen_upernet_100pct_miou.csv"
    result = runner.invoke(app, ["import", str(csv), "--store", store_url])
    assert result.exit_code == 0, result.output
    assert "imported 80 of 80 rows (16 models, 5 tasks)" in result.output
    rows = ResultStore(store_url).query(model="TerraMind", task="sicd")
    assert rows["score"].tolist() == [31.48] and rows["source"].tolist() == ["literature"]


def test_seed_too_large_for_the_store_exits_2(tmp_path: Path, store_url: str) -> None:
    path = _csv(tmp_path, "model,task,metric,score,seed\na,t,miou,0.5,100000000000000000000\n")
    result = runner.invoke(app, ["import", str(path), "--store", store_url])
    assert result.exit_code == 2, result.output
    assert "'seed' must lie between" in result.output and "Traceback" not in result.output
    assert len(ResultStore(store_url)) == 0


def test_format_did_you_mean_and_help_example(tmp_path: Path, store_url: str) -> None:
    path = _csv(tmp_path, LONG)
    result = runner.invoke(app, ["import", str(path), "--format", "cryo", "--store", store_url])
    assert result.exit_code == 2
    assert "did you mean 'cryobench'?" in result.output
    helped = runner.invoke(app, ["import", "--help"])
    assert "Example: planetbench import" in helped.output
