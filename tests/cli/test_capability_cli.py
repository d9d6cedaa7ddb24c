"""``planetbench capability fit|predict|recommend|map`` on a store filled by ``planetbench import``."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import planetbench.cli.capability
import planetbench.cli.results  # noqa: F401
from planetbench.capability import CapabilityEncoder
from planetbench.cli import app

runner = CliRunner()

FIT = ["--dim", "2", "--min-results", "3", "--n-ensemble", "2"]


def _long_csv(tmp_path: Path, *, n_models: int = 8, n_tasks: int = 6) -> Path:
    """Planted 2-D scores (miou), two seeds per cell, three cells left unmeasured."""
    rng = np.random.default_rng(0)
    u = rng.normal(size=(n_models, 2))
    v = u[rng.choice(n_models, n_tasks, replace=False)]
    dist = np.linalg.norm(u[:, None] - v[None], axis=2)
    score = 1.0 - dist / (1.5 * dist.max())
    rows = [
        (f"m{i}", f"t{j}", "miou", score[i, j] + 0.001 * s, s, "frozen", 1.0, "demo")
        for i in range(n_models)
        for j in range(n_tasks)
        for s in (0, 1)
        if (i, j) not in {(0, 1), (2, 3), (5, 0)}
    ]
    cols = ["model", "task", "metric", "score", "seed", "protocol", "fraction", "suite"]
    path = tmp_path / "planted.csv"
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)
    return path


@pytest.fixture
def fitted(tmp_path: Path, store_url: str) -> Path:
    """Import the planted CSV with the CLI, then fit an encoding from the store."""
    result = runner.invoke(app, ["import", str(_long_csv(tmp_path)), "--store", store_url])
    assert result.exit_code == 0, result.output
    out = tmp_path / "enc.json"
    result = runner.invoke(
        app, ["capability", "fit", "--out", str(out), "--store", store_url, "--suite", "demo",
              *FIT]
    )
    assert result.exit_code == 0, result.output
    assert "fitted 8 models x 6 tasks (45 measured cells, 0 dropped)" in result.output
    return out


def test_fit_predict_recommend_map(fitted: Path, tmp_path: Path) -> None:
    enc = CapabilityEncoder.load(fitted)
    assert enc.dim == 2 and enc.n_ensemble == 2 and len(enc.models_) == 8
    # predict: the three unmeasured cells, with uncertainty, to CSV.
    out = tmp_path / "pred.csv"
    result = runner.invoke(app, ["capability", "predict", str(fitted), "--out", str(out)])
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    assert set(zip(pred["model"], pred["task"], strict=True)) == {
        ("m0", "t1"), ("m2", "t3"), ("m5", "t0")
    }
    assert (pred["score_std"] >= 0).all() and pred["score_mean"].between(0, 1.1).all()
    result = runner.invoke(
        app, ["capability", "predict", str(fitted), "--model", "m0", "--include-measured"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "predicted scores (6 pairs" in result.output
    assert "metric" in result.output
    result = runner.invoke(app, ["capability", "predict", str(fitted), "--model", "m1"])
    assert result.exit_code == 0 and "every requested pair is measured" in result.output
    # recommend: the unmeasured pairs, most uncertain first.
    result = runner.invoke(app, ["capability", "recommend", str(fitted), "-n", "2"],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "next 2 runs" in result.output and "priority" in result.output
    # map: a PNG.
    png = tmp_path / "map.png"
    result = runner.invoke(app, ["capability", "map", str(fitted), "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_predict_places_a_new_model(fitted: Path, tmp_path: Path) -> None:
    place = tmp_path / "new.csv"
    pd.DataFrame(
        {"model": ["new"] * 3, "task": ["t0", "t1", "t2"], "score": [0.9, 0.8, 0.7]}
    ).to_csv(place, index=False)
    out = tmp_path / "pred.csv"
    result = runner.invoke(
        app, ["capability", "predict", str(fitted), "--place", str(place), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    pred = pd.read_csv(out)
    assert set(pred["model"]) == {"new"} and set(pred["task"]) == {"t3", "t4", "t5"}
    # The saved encoding is unchanged (placing does not refit nor rewrite it).
    assert "new" not in CapabilityEncoder.load(fitted).models_


def test_fit_from_csv_and_mixed_conditions(tmp_path: Path, store_url: str) -> None:
    csv = _long_csv(tmp_path)
    out = tmp_path / "enc.json"
    result = runner.invoke(
        app, ["capability", "fit", "--out", str(out), "--from-csv", str(csv), *FIT]
    )
    assert result.exit_code == 0, result.output
    # A second protocol for the same cells must be chosen explicitly.
    other = pd.read_csv(csv).assign(protocol="finetune")
    other.to_csv(tmp_path / "ft.csv", index=False)
    for path in (csv, tmp_path / "ft.csv"):
        assert runner.invoke(app, ["import", str(path), "--store", store_url]).exit_code == 0
    result = runner.invoke(app, ["capability", "fit", "--out", str(out), "--store", store_url,
                                 *FIT])
    assert result.exit_code == 2
    assert "mix several protocol values" in result.output and "--protocol" in result.output
    result = runner.invoke(app, ["capability", "fit", "--out", str(out), "--store", store_url,
                                 "--protocol", "finetune", *FIT])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["fit", "--out", "{tmp}/e.json", "--suite", "none"], "holds no results for suite='none'"),
        (["fit", "--out", "{tmp}/e.json", "--from-csv", "{tmp}/no.csv"], "does not exist"),
        (["fit", "--out", "{tmp}/e.json", "--distance", "manhattan"], "distance='manhattan'"),
        (["predict", "{tmp}/missing.json"], "does not exist"),
        (["recommend", "{enc}", "-n", "0"], "n=0 must be an integer >= 1"),
        (["map", "{enc}", "--out", "{tmp}/m.png", "--projection", "tsne"], "'tsne' is unknown"),
        (["predict", "{enc}", "--model", "zz"], r"model\(s\) \['zz'\] are not in the encoding"),
        (["predict", "{enc}", "--place", "{tmp}/no.csv"], "--place file .* does not exist"),
    ],
)
def test_bad_input_exits_2(fitted: Path, tmp_path: Path, args: list[str], match: str) -> None:
    argv = [a.format(tmp=tmp_path, enc=fitted) for a in args]
    result = runner.invoke(app, ["capability", *argv])
    assert result.exit_code == 2, result.output
    assert re.search(match, result.output.replace("\n", " ")), result.output


def test_spread_values_repeats_the_option() -> None:
    from planetbench.cli.capability import spread_values

    opts = ("--model", "--task")
    assert spread_values(["e.json", "--model", "A", "B", "--task", "t", "--out", "x"], opts) == [
        "e.json", "--model", "A", "--model", "B", "--task", "t", "--out", "x"
    ]
    assert spread_values(["--model=A", "B"], opts) == ["--model=A", "--model", "B"]
    assert spread_values(["--out", "a", "b"], opts) == ["--out", "a", "b"]
    assert spread_values(["--model", "A", "--", "B"], opts) == ["--model", "A", "--", "B"]


def test_predict_accepts_several_values_after_one_flag(fitted: Path, tmp_path: Path) -> None:
    """The README's ``--model A B`` and the repeated ``--model A --model B`` are the same."""
    outputs = []
    for i, argv in enumerate(
        (["--model", "m0", "m2", "--task", "t1", "t3"],
         ["--model", "m0", "--model", "m2", "--task", "t1", "--task", "t3"])
    ):
        out = tmp_path / f"p{i}.csv"
        result = runner.invoke(app, ["capability", "predict", str(fitted), *argv, "--out",
                                     str(out), "--include-measured"])
        assert result.exit_code == 0, result.output
        outputs.append(pd.read_csv(out))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    assert set(zip(outputs[0]["model"], outputs[0]["task"], strict=True)) == {
        ("m0", "t1"), ("m0", "t3"), ("m2", "t1"), ("m2", "t3")
    }


@pytest.mark.parametrize(
    "args",
    [
        ["fit", "--out", "{tmp}", "--from-csv", "{tmp}/planted.csv"],
        ["predict", "{enc}", "--out", "{tmp}"],
        ["map", "{enc}", "--out", "{tmp}"],
        ["map", "{enc}", "--out", "{enc}/map.png"],
    ],
)
def test_out_of_the_wrong_kind_exits_2(fitted: Path, tmp_path: Path, args: list[str]) -> None:
    argv = [a.format(tmp=tmp_path, enc=fitted) for a in args]
    result = runner.invoke(app, ["capability", *argv])
    assert result.exit_code == 2, result.output
    text = result.output.replace("\n", " ")
    assert "--out" in text and ("is a folder" in text or "is a file, not a folder" in text)
    assert "Traceback" not in text


@pytest.mark.parametrize(
    "state",
    [
        {"format_version": 2},
        {"format_version": 2, "params": {"dim": "x"}},
        {"format_version": 2, "params": {}, "fitted": {"models": 1}},
        {"format_version": 2, "params": {"dim": 2}, "fitted": {
            "models": ["a"], "tasks": ["t"], "model_params": [[[0.0, 0.0]]],
            "task_params": [[[0.0]]], "best": {"t": 1.0}, "worst": {"t": 0.0},
            "higher_is_better": {"t": True}, "observed": {"model": [], "task": [], "score": []},
            "losses": [0.0], "point_model_params": [[0.0, 0.0]], "point_task_params": [[0.0]],
            "point_loss": 0.0, "dropped": []}},
    ],
)
def test_malformed_encoding_file_exits_2(tmp_path: Path, state: dict) -> None:
    import json

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(state))
    for argv in (["predict", str(bad)], ["recommend", str(bad)]):
        result = runner.invoke(app, ["capability", *argv])
        assert result.exit_code == 2, result.output
        assert "malformed" in result.output.replace("\n", " ")


def test_fit_refuses_disconnected_blocks_and_names_the_flag(tmp_path: Path, store_url: str) -> None:
    """Two suites whose models and tasks do not overlap (as Cryo-Bench and GEO-Bench-2 with
    protocol frozen): fitting them as one matrix would place the blocks arbitrarily."""
    planted = pd.read_csv(_long_csv(tmp_path))
    other = planted.assign(model="x" + planted["model"], suite="other")
    # The same task names in both suites are different datasets: they do not join the blocks.
    both = pd.concat([planted, other])
    both.to_csv(tmp_path / "both.csv", index=False)
    assert runner.invoke(app, ["import", str(tmp_path / "both.csv"), "--store",
                               store_url]).exit_code == 0
    out = tmp_path / "enc.json"
    res = runner.invoke(app, ["capability", "fit", "--out", str(out), "--store", store_url,
                              "--protocol", "frozen", *FIT])
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert "2 disconnected blocks" in text
    assert "--suite demo" in text and "--suite other" in text
    assert not out.exists()
    ok = runner.invoke(app, ["capability", "fit", "--out", str(out), "--store", store_url,
                             "--suite", "other", *FIT])
    assert ok.exit_code == 0, ok.output


def test_predict_shows_the_metric_and_never_cuts_names_into_look_alikes(
    tmp_path: Path, store_url: str
) -> None:
    planted = pd.read_csv(_long_csv(tmp_path))
    long = "a_very_long_backbone_name_patch16_224"
    planted["model"] = planted["model"].map({"m0": long, "m1": long + "+s1s2"}).fillna(
        planted["model"])
    planted.to_csv(tmp_path / "long.csv", index=False)
    assert runner.invoke(app, ["import", str(tmp_path / "long.csv"), "--store",
                               store_url]).exit_code == 0
    enc = tmp_path / "enc.json"
    assert runner.invoke(app, ["capability", "fit", "--out", str(enc), "--store", store_url,
                               *FIT]).exit_code == 0
    res = runner.invoke(app, ["capability", "predict", str(enc), "--include-measured", "--model",
                              long, long + "+s1s2"], env={"COLUMNS": "60"})
    assert res.exit_code == 0, res.output
    assert "…" not in res.output  # wrapped, never truncated with an ellipsis
    lines = res.output.splitlines()
    assert max(len(line) for line in lines if line[:1] in "┏┃┡│└") <= 60  # the table fits
    flat = "".join(line.split("│")[1].strip() for line in lines if line.count("│") > 2)
    assert flat.count(long + "+s1s2") == 6 and flat.count(long) == 12
    csv = tmp_path / "pred.csv"
    runner.invoke(app, ["capability", "predict", str(enc), "--include-measured", "--out",
                        str(csv)])
    pred = pd.read_csv(csv)
    assert {long, long + "+s1s2"} <= set(pred["model"]) and set(pred["metric"]) == {"miou"}
