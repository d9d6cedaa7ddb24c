"""CLI: ``planetbench probe``, ``leaderboard`` and NeuCo-Bench's ``neuco`` command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import planetbench.cli.embedding  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.store import ResultStore

runner = CliRunner()
N = 40


def _case(root: Path, *, seed: int = 0) -> tuple[Path, Path]:
    rng = np.random.default_rng(seed)
    ids = [f"p{i}" for i in range(N)]
    target = rng.normal(size=N)
    labels = root / "labels"
    labels.mkdir(parents=True)
    pd.DataFrame({"id": ids, "label": target}).to_csv(labels / "height__regr.csv", index=False)
    pd.DataFrame({"id": ids, "label": np.arange(N) % 2}).to_csv(labels / "wet__cls.csv",
                                                                 index=False)
    x = rng.normal(scale=0.3, size=(N, 4))
    x[:, 0] += target
    x[:, 1] += 2 * (np.arange(N) % 2)
    emb = pd.DataFrame(x, columns=["0", "1", "2", "3"])
    emb.insert(0, "id", ids)
    path = root / "emb.csv"
    emb.to_csv(path, index=False)
    return labels, path


def test_probe_then_leaderboard(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    out = tmp_path / "out"
    args = ["probe", str(emb), "--labels", str(labels), "--splits", "3", "--store", store_url,
            "--out", str(out), "--name", "mine"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "height" in res.stdout and "wet" in res.stdout and "mean Q" in res.stdout
    data = json.loads((out / "mine" / "summary.json").read_text())
    assert set(data["tasks"]) == {"height", "wet"}
    again = runner.invoke(app, args)
    assert again.exit_code == 0 and "reused 2 stored result(s)" in again.stdout
    assert len(ResultStore(store_url)) == 2
    board = runner.invoke(app, ["leaderboard", "--store", store_url, "--format", "csv"])
    assert board.exit_code == 0, board.output
    lines = board.stdout.strip().splitlines()
    assert lines[0] == "model,height,wet,mean_q,weighted_score,rank"
    assert len(lines) == 2 and lines[1].startswith("mine,")


def test_probe_invalid_input_exits_2(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    bad = tmp_path / "bad.csv"
    pd.read_csv(emb).rename(columns={"id": "name"}).to_csv(bad, index=False)
    res = runner.invoke(app, ["probe", str(bad), "--labels", str(labels), "--store", store_url])
    assert res.exit_code == 2
    assert "missing 'id' column" in res.stderr and res.stdout == ""
    res = runner.invoke(app, ["probe", str(emb), "--labels", str(labels), "--probe", "svm",
                              "--store", store_url])
    assert res.exit_code == 2 and "probe" in res.stderr
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--format", "xml"])
    assert res.exit_code == 2 and "--format 'xml' is not allowed" in res.stderr


def test_leaderboard_empty_store(store_url: str) -> None:
    res = runner.invoke(app, ["leaderboard", "--store", store_url])
    assert res.exit_code == 0
    assert "no neuco probe results in store" in res.stderr
    assert "planetbench probe embeddings.csv" in " ".join(res.stderr.split())


def test_leaderboard_points_to_the_suites_the_store_holds(tmp_path: Path, store_url: str) -> None:
    from planetbench.embedding.evaluate import evaluate_embeddings

    labels, emb = _case(tmp_path)
    evaluate_embeddings(emb, labels, store=store_url, n_splits=3, suite="demo")
    res = runner.invoke(app, ["leaderboard", "--store", store_url])
    assert res.exit_code == 0
    assert "holds probe results of suite(s) demo: show them with --suite demo --preset neuco" \
        in " ".join(res.stderr.split())
    shown = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "demo",
                                "--preset", "neuco", "--format", "csv"])
    assert shown.exit_code == 0 and shown.stdout.splitlines()[1].startswith("emb,")


def _run_dir(out: Path, phase: str, method: str) -> Path:
    """The one timestamped run folder of ``method`` under ``out/phase`` (NeuCo's layout)."""
    runs = [p for p in (out / phase).iterdir() if re.fullmatch(rf"{method}_\d{{8}}_\d{{6}}", p.name)]
    assert len(runs) == 1, runs
    return runs[0]


@pytest.mark.parametrize("layout", ["flat", "probe_params"])
def test_neuco_command(tmp_path: Path, store_url: str, layout: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = tmp_path / "config.yaml"
    if layout == "flat":
        cfg.write_text("batch_size: 64\nepochs: 2\nlearning_rate: 0.001\nk_folds: 3\n"
                       "embedding_dim: null\nstandardize_embeddings: true\nnormalize_labels: true\n"
                       "enable_plots: false\nupdate_leaderboard: true\ntask_filter: null\n")
    else:
        cfg.write_text("k_folds: 3\nprobe_type: linear\nupdate_leaderboard: true\n"
                       "enable_plots: false\n"
                       "probe_params:\n  batch_size: 64\n  epochs: 2\n  learning_rate: 0.001\n")
    out = tmp_path / "results"
    res = runner.invoke(app, [
        "neuco", "--annotation_path", str(labels), "--submission_file", str(emb),
        "--config", str(cfg), "--method_name", "m", "--phase", "dev", "--output_dir", str(out),
        "--store", store_url,
    ])
    assert res.exit_code == 0, res.output
    run = _run_dir(out, "dev", "m")
    results = json.loads((run / "results_summary.json").read_text())
    assert results["experiment"] == run.name and set(results["task_q_scores"]) == {"height", "wet"}
    qs = list(results["task_q_scores"].values())
    assert results["overall_q_score"] == pytest.approx(np.mean(qs))
    assert (run / "summary.json").is_file()
    boards = list((out / "leaderboards" / "dev").glob("leaderboard_*.csv"))
    assert len(boards) == 1
    board = pd.read_csv(boards[0])
    assert board.columns.tolist() == [
        "experiment", "mean_score", "weighted_score", "aggregated_rank", "q::height", "q::wet",
        "acc::height", "acc::wet", "overall_q_score", "overall_acc_score"]
    row = ResultStore(store_url).query().iloc[0]
    assert row["probe"] == "neuco" and row["n_splits"] == 3
    assert row["config"]["neuco_epochs"] == 2 and row["config"]["standardize"] is True


def test_neuco_flag_defaults_are_neucos(tmp_path: Path, store_url: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    labels, emb = _case(tmp_path)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.yaml").write_text("k_folds: 3\nepochs: 1\nenable_plots: false\n")
    res = runner.invoke(app, ["neuco", "--annotation_path", str(labels), "--submission_file",
                              str(emb), "--exclude_file", "nowhere.txt", "--store", store_url])
    assert res.exit_code == 0, res.output
    _run_dir(tmp_path / "results", "results", "emb")  # --output_dir results, --phase results
    assert "exclude file 'nowhere.txt' does not exist: nothing excluded" in \
        " ".join(res.stderr.split())
    (tmp_path / "config.yaml").unlink()
    res = runner.invoke(app, ["neuco", "--annotation_path", str(labels), "--submission_file",
                              str(emb), "--store", store_url])
    assert res.exit_code == 2 and "config file 'config.yaml' does not exist" in res.stderr
    assert "--config" in res.stderr


@pytest.mark.parametrize(
    ("yaml_text", "match"),
    [
        ("k_folds: 3\nfolds: 2\n", "unknown NeuCo-Bench config key\\(s\\) 'folds' \\(did you mean"),
        ("epochs: 3\n", "required key 'k_folds'"),
        ("k_folds: 3\nenable_plots: 1\n", "'enable_plots' must be true or false"),
        ("k_folds: 1\n", "'k_folds': input should be greater than or equal to 2"),
        ("k_folds: 3\nprobe_params:\n  momentum: 0.9\n", "unknown probe_params key"),
        ("k_folds: 3\ndevice: gpu\n", "device='gpu' is not a torch device"),
        ("k_folds: 3\nprobe_type: svm\nprobe_params:\n  C_start_end: [1, 10]\n"
         "  kernel_degree_list: [1, 2]\n  kernel_gamma_start_end: [0.1, 1]\n",
         "kernel_degree_list holds 1"),
        ("k_folds: 3\nprobe_type: svm\nprobe_params:\n  C_start_end: [1, 10]\n"
         "  kernel_degree_list: 2\n  opt_params:\n    cv: 5\n", "opt_params.cv must not be given"),
        ("k_folds: 3\ntask_filter: [nope]\n", "unknown task"),
    ],
)
def test_neuco_config_errors(tmp_path: Path, store_url: str, yaml_text: str, match: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml_text)
    res = runner.invoke(app, [
        "neuco", "--annotation_path", str(labels), "--submission_file", str(emb),
        "--config", str(cfg), "--method_name", "m", "--output_dir", str(tmp_path / "r"),
        "--store", store_url,
    ])
    assert res.exit_code == 2, res.output
    assert re.search(match, " ".join(res.stderr.split())), res.stderr
    assert len(ResultStore(store_url)) == 0


def _two_models(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    for name, path in (("good", emb), ("noise", tmp_path / "noise.csv")):
        if name == "noise":
            frame = pd.read_csv(emb)
            rng = np.random.default_rng(1)
            frame[["0", "1", "2", "3"]] = rng.normal(size=(N, 4))
            frame.to_csv(path, index=False)
        res = runner.invoke(app, ["probe", str(path), "--labels", str(labels), "--splits", "3",
                                  "--store", store_url, "--out", str(tmp_path / "o"),
                                  "--name", name])
        assert res.exit_code == 0, res.output


def test_leaderboard_neuco_preset_common_layout(tmp_path: Path, store_url: str) -> None:
    _two_models(tmp_path, store_url)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--preset", "neuco",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert [r["model"] for r in rows] == ["good", "noise"]
    for r in rows:
        assert r["mean"] == pytest.approx((r["height"] + r["wet"]) / 2)
    # the informative file wins both tasks: rank 1 on each, the noise file rank 2 on each
    assert rows[0]["mean_rank"] == 1.0 and rows[1]["mean_rank"] == 2.0
    # the informative file wins every task, so resampling tasks cannot change the ranks
    assert rows[0]["mean_rank_low"] == rows[0]["mean_rank_high"] == 1.0
    assert rows[1]["mean_rank_low"] == rows[1]["mean_rank_high"] == 2.0
    assert rows[0]["rank"] == 1 and rows[1]["rank"] == 2


def test_leaderboard_suite_with_intervals_and_errors(store_url: str) -> None:
    from planetbench.store import Result

    rng = np.random.default_rng(0)
    rows = [
        Result(model=m, task=t, protocol="frozen", metric="miou", suite="cryo", seed=s,
               fraction=1.0, score=float(base + 0.01 * rng.normal()))
        for m, base in (("strong", 0.8), ("weak", 0.5), ("mid", 0.65))
        for t in ("glid", "caffe", "sicd")
        for s in range(3)
    ]
    ResultStore(store_url).add_many(rows)
    res = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "cryo",
                              "--preset", "cryo", "--format", "json", "--reps", "500"])
    assert res.exit_code == 0, res.output
    board = json.loads(res.stdout)
    assert [r["model"] for r in board] == ["strong", "mid", "weak"]
    top = board[0]
    assert top["mean_rank"] == 1.0 and top["avg_rank"] == 1.0
    assert top["iqm_low"] <= top["iqm"] <= top["iqm_high"]
    assert {"glid", "caffe", "sicd", "mean", "mean_rank_low", "mean_rank_high"} <= set(top)
    md = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "cryo", "--format",
                             "md", "--reps", "200"])
    assert md.exit_code == 0 and md.stdout.startswith("| model | caffe | glid | sicd |")
    bad = runner.invoke(app, ["leaderboard", "--store", store_url, "--preset", "nasa"])
    assert bad.exit_code == 2 and "--preset 'nasa' is not allowed" in bad.output
    none = runner.invoke(app, ["leaderboard", "--store", store_url, "--suite", "mars"])
    assert none.exit_code == 2 and "no runs to rank" in none.output


def test_error_text_is_printed_verbatim(tmp_path: Path, store_url: str) -> None:
    """Rich neither reads markup nor emoji codes in error messages (":x:", "[ray]")."""
    bad = tmp_path / "weird:x:[b]name.csv"
    bad.write_text("id,0\n")
    res = runner.invoke(app, ["probe", str(bad), "--labels", str(tmp_path), "--store", store_url])
    assert res.exit_code == 2
    assert "weird:x:[b]name.csv" in "".join(res.stderr.split())


def _neuco_args(labels: Path, emb: Path, cfg: Path, out: Path, store_url: str,
                method: str = "m", phase: str = "dev") -> list[str]:
    return ["neuco", "--annotation_path", str(labels), "--submission_file", str(emb),
            "--config", str(cfg), "--method_name", method, "--phase", phase,
            "--output_dir", str(out), "--store", store_url]


def test_probe_flags_and_their_hidden_old_spellings(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    out = tmp_path / "out"
    new = runner.invoke(app, ["probe", str(emb), "--labels", str(labels), "--model", "a",
                              "--n-splits", "3", "--n-jobs", "1", "--store", store_url,
                              "--out", str(out)])
    assert new.exit_code == 0, new.output
    old = runner.invoke(app, ["probe", str(emb), "--labels", str(labels), "--name", "a",
                              "--splits", "3", "--jobs", "1", "--store", store_url,
                              "--out", str(out)])
    assert old.exit_code == 0 and "reused 2 stored result(s)" in old.stdout  # the same runs
    rows = ResultStore(store_url).query()
    assert set(rows["model"]) == {"a"} and set(rows["n_splits"]) == {3} and len(rows) == 2
    both = runner.invoke(app, ["probe", str(emb), "--labels", str(labels), "--model", "a",
                               "--name", "b", "--store", store_url])
    assert both.exit_code == 2 and "--name is the old spelling of --model" in both.stderr
    help_text = runner.invoke(app, ["probe", "--help"], env={"COLUMNS": "200"}).stdout
    assert "--model" in help_text and "--n-splits" in help_text and "--n-jobs" in help_text
    for hidden in ("--name", "--splits", "--jobs"):
        assert f"{hidden} " not in help_text
    for command in ("probe", "neuco", "leaderboard"):
        text = runner.invoke(app, [command, "--help"], env={"COLUMNS": "200"}).stdout
        assert "Example: planetbench " + command in " ".join(text.split())


def _files(root: Path) -> set[Path]:
    """Every file under ``root`` but the store's (``results.sqlite`` and its journal files)."""
    return {p for p in root.rglob("*") if p.is_file() and not p.name.startswith("results.sqlite")}


@pytest.mark.parametrize("bad", ["../../x", "../escape", "ABSOLUTE", "m" * 300, ".."])
def test_names_never_write_outside_out(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    labels, emb = _case(tmp_path / "in")
    work = tmp_path / "work" / "deep"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    if bad == "ABSOLUTE":
        bad = str(tmp_path / "abs")
    cfg = tmp_path / "in" / "c.yaml"
    cfg.write_text("k_folds: 3\nepochs: 1\nupdate_leaderboard: true\n")
    before = _files(tmp_path)
    out = work / "out"
    for args in (
        ["probe", str(emb), "--labels", str(labels), "--model", bad, "--n-splits", "3",
         "--store", store_url, "--out", str(out)],
        _neuco_args(labels, emb, cfg, out, store_url, method=bad),
        _neuco_args(labels, emb, cfg, out, store_url, phase=bad),
    ):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, res.output
        assert "a name is never a path" in res.stderr or "at most 128" in res.stderr or \
            "folder reference" in res.stderr
    assert _files(tmp_path) == before
    assert len(ResultStore(store_url)) == 0  # refused before any compute


def test_valid_names_write_only_under_out(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    labels, emb = _case(tmp_path / "in")
    monkeypatch.chdir(tmp_path)
    cfg = tmp_path / "in" / "c.yaml"
    cfg.write_text("k_folds: 3\nepochs: 1\nupdate_leaderboard: true\n")
    before = _files(tmp_path)
    out = tmp_path / "out"
    res = runner.invoke(app, _neuco_args(labels, emb, cfg, out, store_url, method="m.v1"))
    assert res.exit_code == 0, res.output
    new = _files(tmp_path) - before
    assert new and all(p.is_relative_to(out) for p in new)
    assert {p.name for p in new} >= {"results_summary.json", "summary.json"}


def test_input_faults_exit_2_with_a_message(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    probe = ["probe", "--labels", str(labels), "--store", store_url, "--n-splits", "3"]
    frame = pd.read_csv(emb)
    frame.loc[3, "id"] = None
    empty_id = tmp_path / "empty_id.csv"
    frame.to_csv(empty_id, index=False)
    res = runner.invoke(app, [*probe, str(empty_id)])
    assert res.exit_code == 2 and "1 row(s) with an empty id (line(s) 5)" in res.stderr
    res = runner.invoke(app, [*probe, str(emb), "--out", str(emb)])
    assert res.exit_code == 2 and "is a file, not a folder" in res.stderr
    (labels / "x__regr.csv").mkdir()
    res = runner.invoke(app, [*probe, str(emb)])
    assert res.exit_code == 2 and "'x__regr.csv' named like label files" in res.stderr
    (labels / "x__regr.csv").rmdir()
    for name, content, match in (
        ("fast.yaml", b"k_folds: 3\nlearning_rate: fast\n", "'learning_rate': input should be"),
        ("binary.yaml", bytes(range(128, 256)), "is not UTF-8 text"),
        ("empty_filter.yaml", b"k_folds: 3\ntask_filter: []\n", "task_filter: [] selects no"),
    ):
        cfg = tmp_path / name
        cfg.write_bytes(content)
        res = runner.invoke(app, _neuco_args(labels, emb, cfg, tmp_path / "r", store_url))
        assert res.exit_code == 2, res.output
        assert match in " ".join(res.stderr.split()) and "Traceback" not in res.output
    assert len(ResultStore(store_url)) == 0


def test_corrupt_results_summary_is_named_and_skipped(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    out = tmp_path / "results"
    (out / "dev" / "corrupt").mkdir(parents=True)
    (out / "dev" / "corrupt" / "results_summary.json").write_text("{not json")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("k_folds: 3\nepochs: 1\nupdate_leaderboard: true\nenable_plots: false\n")
    res = runner.invoke(app, _neuco_args(labels, emb, cfg, out, store_url))
    assert res.exit_code == 0, res.output
    assert "not ranked, unreadable:" in res.stderr and "corrupt/results_summary.json" in \
        "".join(res.stderr.split())
    board = pd.read_csv(next((out / "leaderboards" / "dev").glob("leaderboard_*.csv")))
    run = _run_dir(out, "dev", "m")
    assert board["experiment"].tolist() == [run.name]
    text = (run / "results_summary.json").read_text()
    assert "NaN" not in text and json.loads(text)["experiment"] == run.name
