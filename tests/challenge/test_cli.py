"""``planetbench challenge``: create, team add, results, demo, submit (errors exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from planetbench.challenge import ChallengeDB, Worker
from planetbench.challenge.local import submit_local
from planetbench.cli import _load_commands, app
from planetbench.store import ResultStore
from tests.challenge.helpers import NOW, phase, write_challenge, write_embeddings

runner = CliRunner()


def _invoke(*args: str) -> object:
    _load_commands()
    return runner.invoke(app, ["challenge", *args])


def test_create_team_add_and_results(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    yaml_path = write_challenge(tmp_path, phases=[phase(reveal="per_task")])
    created = _invoke("create", str(yaml_path), "--store", url, "--format", "json")
    assert created.exit_code == 0, created.output  # type: ignore[attr-defined]
    organiser = json.loads(created.output)  # type: ignore[attr-defined]
    assert organiser["challenge"] == "mini" and organiser["organiser_token"].startswith("pbo_")
    added = _invoke("team", "add", "aurora", "--challenge", "mini", "--store", url,
                    "--format", "json")
    assert added.exit_code == 0, added.output  # type: ignore[attr-defined]
    team = json.loads(added.output)  # type: ignore[attr-defined]
    assert team["team"] == "aurora" and team["token"].startswith("pbt_")
    db = ChallengeDB(url)
    assert db.team_for_token(team["token"]) is not None  # stored hashed, found by the token
    assert team["token"] not in (tmp_path / "store.sqlite").read_bytes().decode("latin-1")
    submit_local(db, tmp_path / "up", db.team("mini", "aurora"), "dev",
                 write_embeddings(tmp_path, "a.csv"), now=NOW)
    Worker(url, tmp_path / "up").run(idle_exit=True)
    out = _invoke("results", "--challenge", "mini", "--store", url, "--format", "csv")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    from io import StringIO

    frame = pd.read_csv(StringIO(out.output))  # type: ignore[attr-defined]
    assert frame.loc[0, "team"] == "aurora" and frame.loc[0, "rank"] == 1
    assert {"q_biomass", "q_crops"} <= set(frame.columns)
    table = _invoke("results", "--challenge", "mini", "--store", url)
    assert "aurora" in table.output and "highest mean Q: aurora" in table.output  # type: ignore[attr-defined]
    # The scores are ordinary store rows of suite 'mini'.
    assert set(ResultStore(url).query(suite="mini")["model"]) == {"aurora"}


def test_cli_errors_exit_2_with_a_message(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.sqlite'}"
    yaml_path = write_challenge(tmp_path)
    assert _invoke("create", str(yaml_path), "--store", url).exit_code == 0  # type: ignore[attr-defined]
    again = _invoke("create", str(yaml_path), "--store", url)
    assert again.exit_code == 2  # type: ignore[attr-defined]
    assert "a challenge named 'mini' already exists" in again.output  # type: ignore[attr-defined]
    bad = _invoke("team", "add", "Bad Name", "--challenge", "mini", "--store", url)
    assert bad.exit_code == 2 and "team name 'Bad Name' is not allowed" in bad.output  # type: ignore[attr-defined]
    _invoke("team", "add", "aurora", "--challenge", "mini", "--store", url)
    dup = _invoke("team", "add", "aurora", "--challenge", "mini", "--store", url)
    assert dup.exit_code == 2 and "already exists in challenge 'mini'" in dup.output  # type: ignore[attr-defined]
    unknown = _invoke("results", "--challenge", "mnii", "--store", url)
    assert unknown.exit_code == 2 and "did you mean 'mini'" in unknown.output  # type: ignore[attr-defined]
    fmt = _invoke("results", "--challenge", "mini", "--store", url, "--format", "xml")
    assert fmt.exit_code == 2 and "--format 'xml' is unknown" in fmt.output  # type: ignore[attr-defined]
    offline = _invoke("submit", str(write_embeddings(tmp_path, "a.csv")), "--url",
                      "http://127.0.0.1:9", "--challenge", "mini", "--phase", "dev",
                      "--token", "x")
    assert offline.exit_code == 2  # type: ignore[attr-defined]
    assert "cannot reach the challenge server" in offline.output  # type: ignore[attr-defined]
    wrong = _invoke("submit", str(tmp_path / "mini.yaml"), "--url", "http://127.0.0.1:9",
                    "--challenge", "mini", "--phase", "dev", "--token", "x")
    assert wrong.exit_code == 2 and "has suffix '.yaml'" in wrong.output  # type: ignore[attr-defined]


def test_demo_makes_a_scored_synthetic_challenge(tmp_path: Path) -> None:
    result = _invoke("demo", "--out", str(tmp_path / "demo"))
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "SYNTHETIC" in result.output and "random-baseline" in result.output  # type: ignore[attr-defined]
    db = ChallengeDB(f"sqlite:///{tmp_path / 'demo' / 'challenge.sqlite'}")
    teams = {t.name: t.baseline for t in db.teams("demo-challenge")}
    assert teams == {"aurora": False, "boreal": False, "cirrus": False, "random-baseline": True}
    from planetbench.challenge.standings import standings

    (board,) = standings(db, "demo-challenge", "dev")
    ranked = {r["team"]: r for r in board["rows"]}
    assert all(r["rank"] is not None for r in ranked.values())
    # The noise baseline has the lowest mean Q: the teams' embeddings carry the latent signal.
    assert min(ranked, key=lambda t: ranked[t]["mean_q"]) == "random-baseline"
