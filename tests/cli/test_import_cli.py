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


def _import_id(output: str) -> str:
    match = re.search(r"import id (\S+)", output)
    assert match is not None, output
    return match.group(1)


def test_a_bad_import_is_retracted_and_recorded(tmp_path: Path, store_url: str) -> None:
    """`mIoU` beside `miou` is refused; a wrong scale in another suite is imported with a
    warning, then retracted: its rows leave `runs`, the retraction and the rows are recorded."""
    import planetbench.cli.store  # noqa: F401  (registers the store commands)

    good = runner.invoke(app, ["import", str(_csv(tmp_path, LONG)), "--store", store_url])
    first = _import_id(good.output)
    spelled = _csv(tmp_path, "model,task,metric,score,suite\nc,glid,mIoU,0.7,cryo\n", "s.csv")
    res = runner.invoke(app, ["import", str(spelled), "--store", store_url])
    assert res.exit_code == 2 and "differ only in case" in " ".join(res.output.split())
    percent = _csv(tmp_path, "model,task,metric,score,suite\nc,glid,miou,70.0,other\n", "p.csv")
    res = runner.invoke(app, ["import", str(percent), "--store", store_url])
    assert res.exit_code == 0 and "warning: metric 'miou' is stored on different scales" in (
        " ".join(res.output.split()))
    bad = _import_id(res.output)
    assert bad != first and len(ResultStore(store_url)) == 5
    out = runner.invoke(app, ["store", "retract", "--import", bad, "--reason", "percent",
                              "--store", store_url])
    assert out.exit_code == 0, out.output
    assert "retracted 1 row(s)" in out.output and "retraction 1" in out.output
    store = ResultStore(store_url)
    assert len(store) == 4 and "c" not in set(store.query()["model"])
    log = store.retractions()
    assert log[["selector", "value", "reason", "n_rows"]].values.tolist() == [
        ["import", bad, "percent", 1]]
    listed = runner.invoke(app, ["store", "retractions", "--store", store_url])
    assert listed.exit_code == 0 and bad in listed.output
    key = store.query()["run_key"].iloc[0]
    one = runner.invoke(app, ["store", "retract", "--run-key", key, "--store", store_url])
    assert one.exit_code == 0 and len(ResultStore(store_url)) == 3
    for args, message in ((["--import", bad], "no stored row has import"),
                          ([], "exactly one of --import"),
                          (["--import", first, "--run-key", key], "exactly one of --import")):
        res = runner.invoke(app, ["store", "retract", *args, "--store", store_url])
        assert res.exit_code == 2 and message in " ".join(res.output.split())
    assert len(ResultStore(store_url).retractions()) == 2  # refusals record nothing


def test_a_retraction_keeps_the_removed_rows(tmp_path: Path, store_url: str) -> None:
    import sqlalchemy as sa

    runner.invoke(app, ["import", str(_csv(tmp_path, LONG)), "--store", store_url])
    store = ResultStore(store_url)
    before = store.query()
    summary = store.retract(selector="import", value=before["config"].iloc[0]["import_id"])
    assert summary.n_rows == 4 and len(store) == 0
    with store.engine.connect() as conn:
        kept = conn.execute(sa.text("SELECT rows, run_keys FROM retractions")).one()
    import json

    rows = json.loads(kept[0]) if isinstance(kept[0], str) else kept[0]
    assert [r["run_key"] for r in rows] == before["run_key"].tolist()
    assert [r["score"] for r in rows] == before["score"].tolist()
