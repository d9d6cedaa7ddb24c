"""Outputs that stay valid whatever the names and numbers: Markdown, JSON, HTML; output paths."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import planetbench.cli.embedding
import planetbench.cli.report  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.errors import InvalidInputError
from planetbench.report.formats import format_leaderboard, markdown_escape, to_json
from planetbench.store import Result, ResultStore

runner = CliRunner()

NASTY = ("a|b", "<img src=x onerror=alert(1)>", "R&D\nnew line")


def _probe_rows(store_url: str) -> None:
    """NeuCo probe results of three models with names that are markup, one lacking a task."""
    rows = []
    for name, qs in zip(NASTY, ((10.0, 20.0), (5.0, 30.0), (7.0, None)), strict=True):
        for task, q in zip(("t1", "t2"), qs, strict=True):
            if q is not None:
                rows.append(Result(model=name, task=task, protocol="probe", metric="r2",
                                   suite="neuco", score=q / 100, q=q,
                                   config={"submission_hash": name}))
    ResultStore(store_url).add_many(rows)


def test_markdown_escapes_pipes_and_html(store_url: str) -> None:
    _probe_rows(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--format", "md"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert len(lines) == 2 + len(NASTY)  # one line per model: the newline did not split a row
    columns = lines[0].count(" | ")
    for line in lines[2:]:
        assert line.replace("\\|", "").count(" | ") == columns  # no extra cell from a raw "|"
    assert "a\\|b" in res.stdout
    assert "<img" not in res.stdout and "&lt;img src=x onerror=alert(1)&gt;" in res.stdout
    assert "R&amp;D new line" in res.stdout


def test_json_has_null_never_nan_or_infinity(store_url: str) -> None:
    _probe_rows(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "NaN" not in res.stdout and "Infinity" not in res.stdout
    rows = json.loads(res.stdout, parse_constant=lambda c: pytest.fail(f"token {c}"))
    incomplete = next(r for r in rows if r["model"] == NASTY[2])
    assert incomplete["t2"] is None and incomplete["rank"] is None
    board = pd.DataFrame({"model": ["x"], "score": [np.inf], "low": [-np.inf], "n": [np.nan]})
    assert json.loads(format_leaderboard(board, "json")) == [
        {"model": "x", "score": None, "low": None, "n": None}
    ]
    assert to_json({"a": np.float32(np.nan), "b": [np.int64(3), pd.NA]}) == (
        '{\n  "a": null,\n  "b": [\n    3,\n    null\n  ]\n}'
    )


def test_html_escapes_names_for_every_board(store_url: str) -> None:
    _probe_rows(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--format", "html"])
    assert res.exit_code == 0, res.output
    assert "<img" not in res.stdout and "&lt;img" in res.stdout and "<table" in res.stdout


def test_markdown_escape() -> None:
    assert markdown_escape("a|b") == "a\\|b"
    assert markdown_escape("<b>&") == "&lt;b&gt;&amp;"
    assert markdown_escape("x\\|y") == "x\\\\\\|y"
    assert markdown_escape("two\r\nlines") == "two lines"
    with pytest.raises(InvalidInputError, match="format 'pdf' is not allowed"):
        format_leaderboard(pd.DataFrame({"model": ["a"]}), "pdf")  # type: ignore[arg-type]


def _one_result(store_url: str) -> None:
    ResultStore(store_url).add_many([Result(model="m", task="t", protocol="frozen",
                                            metric="miou", score=0.5, suite="demo", seed=0)])


def test_report_out_is_a_folder_exits_2(store_url: str, tmp_path: Path) -> None:
    _one_result(store_url)
    folder = tmp_path / "reports"
    folder.mkdir()
    res = runner.invoke(app, ["report", "--out", str(folder), "--store", store_url])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "--out" in text and "is a folder" in text and "report.html" in text
    assert "Traceback" not in text and list(folder.iterdir()) == []


def test_report_out_below_a_file_exits_2(store_url: str, tmp_path: Path) -> None:
    _one_result(store_url)
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    res = runner.invoke(app, ["report", "--out", str(blocker / "r.html"), "--store", store_url])
    assert res.exit_code == 2, res.output
    assert "is a file, not a folder" in " ".join(res.output.split())
    assert blocker.read_text() == "x"


def test_build_report_checks_out_before_reading_the_store(tmp_path: Path) -> None:
    from planetbench.report.build import build_report

    with pytest.raises(InvalidInputError, match=r"out='.*' is a folder"):
        build_report(f"sqlite:///{tmp_path / 'never.sqlite'}", tmp_path)
    assert not (tmp_path / "never.sqlite").exists()


@pytest.mark.parametrize(
    ("flags", "disagreements"),
    [([], 0), (["--higher-is-better"], 0), (["--lower-is-better"], 2),
     (["--no-lower-is-better"], 0)],
)
def test_audit_direction_flags(tmp_path: Path, flags: list[str], disagreements: int) -> None:
    table = tmp_path / "t.csv"
    table.write_text("model,a,b,rank\nx,3,3,1\ny,1,1,2\n")
    res = runner.invoke(app, ["audit", str(table), "--tasks", "a,b", "--rank", "rank", *flags])
    assert res.exit_code == (1 if disagreements else 0), res.output
    if disagreements:
        assert f"{disagreements} disagreement(s)" in res.output


def test_suite_filters_without_a_suite_exit_2(store_url: str) -> None:
    _probe_rows(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--protocol", "frozen"])
    assert res.exit_code == 2
    assert "--suite" in res.output and "protocol" in res.output


def test_neuco_preset_honours_unweighted_and_select(store_url: str) -> None:
    from planetbench.report.leaderboards import suite_leaderboard

    rows = [
        Result(model=m, task=t, protocol="probe", metric="r2", suite="neuco", score=q / 100, q=q,
               config={"submission_hash": m})
        # ranks t1: a 1, c 2, b 3; t2: c 1, b 2, a 3. t1 separates the models far more, so the
        # std weights favour a; equal weights give mean ranks c 1.5, a 2, b 2.5.
        for m, qs in (("a", (50.0, 10.0)), ("b", (10.0, 11.0)), ("c", (11.0, 12.0)))
        for t, q in zip(("t1", "t2"), qs, strict=True)
    ]
    ResultStore(store_url).add_many(rows)
    weighted = suite_leaderboard(store_url, preset="neuco", reps=200)
    unweighted = suite_leaderboard(store_url, preset="neuco", reps=200, unweighted=True)
    assert weighted.set_index("model")["rank"].to_dict() == {"a": 1, "b": 3, "c": 2}
    assert unweighted.set_index("model")["rank"].to_dict() == {"c": 1, "a": 2, "b": 3}


def _wide_store(store_url: str) -> None:
    """Eight tasks, long model names: the full board is about 200 characters wide."""
    rng = np.random.default_rng(0)
    ResultStore(store_url).add_many([
        Result(model=name, task=f"task-number-{t}", protocol="frozen", metric="miou",
               score=float(base + rng.normal(0, 0.01)), suite="s", seed=s, fraction=1.0)
        for name, base in (("ssl4eos12_resnet50_sentinel2_all_decur", 0.6),
                           ("satlas_resnet50_sentinel2_si_ms_satlas", 0.5), ("unet", 0.4))
        for t in range(8) for s in range(3)
    ])


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_text_table_fits_the_terminal(store_url: str, columns: int) -> None:
    _wide_store(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s", "--reps",
                              "200"], env={"COLUMNS": str(columns)})
    assert res.exit_code == 0, res.output
    table = [line for line in res.stdout.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and max(len(line) for line in table) <= columns
    assert "…" not in res.stdout  # names wrap, never cut into look-alikes
    assert "not shown (too wide):" in res.stdout and "--wide" in res.stdout
    assert "mean_rank [95% CI]" in res.stdout  # the ranking statistic is kept longest
    wide = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s", "--reps",
                               "200", "--wide"], env={"COLUMNS": str(columns)})
    assert "not shown" not in wide.stdout and "task-number-7" in wide.stdout
    assert "ssl4eos12_resnet50_sentinel2_all_decur" in wide.stdout
    assert "200 rounds" in res.stdout  # the bootstrap rounds are recorded in the output


def test_json_and_csv_record_the_rounds_and_keep_notes_off_stdout(store_url: str) -> None:
    _wide_store(store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s", "--reps",
                              "300", "--format", "json"])
    assert res.exit_code == 0
    rows = json.loads(res.stdout)
    assert {r["reps"] for r in rows} == {300}
    assert all("tied_with_leader" in r for r in rows)


def test_one_default_number_of_bootstrap_rounds_everywhere() -> None:
    """leaderboard and report (CLI and Python) default to the same rounds, so the same
    question gets the same interval."""
    import inspect

    from planetbench.report.build import build_report
    from planetbench.report.leaderboards import results_leaderboard, suite_leaderboard
    from planetbench.stats.bootstrap import DEFAULT_REPS

    assert DEFAULT_REPS == 10_000
    for fn in (build_report, results_leaderboard, suite_leaderboard):
        assert inspect.signature(fn).parameters["reps"].default == DEFAULT_REPS
    for command in ("leaderboard", "report"):
        res = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"})
        text = " ".join(res.output.split())
        assert "Bootstrap rounds" in text and "[default: 10000" in text


def test_report_and_leaderboard_give_the_same_interval(store_url: str, tmp_path: Path) -> None:
    from planetbench.report.build import build_report

    _wide_store(store_url)
    board = json.loads(runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "s",
                                           "--reps", "500", "--format", "json"]).stdout)
    page = build_report(store_url, tmp_path / "r.html", reps=500).read_text()
    top = board[0]
    text = f"{top['iqm']:.3f} [{top['iqm_low']:.3f}, {top['iqm_high']:.3f}]"
    assert text in page
