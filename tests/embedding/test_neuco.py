"""NeuCo-Bench v1.1 drop-in: its configurations, its output files, its leaderboard, its numbers.

Every expectation here is written against NeuCo-Bench v1.1's documented behaviour
(github.com/embed2scale/NeuCo-Bench at a89ba06) and rebuilt from first principles in the test
(scikit-learn's splitter, NumPy's float32 moments, the ranking formula), never against NeuCo's
code: the suite does not need NeuCo-Bench installed.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.evaluate import neuco_task_statistics
from planetbench.embedding.neuco import (
    KNOWN_KEYS,
    NeucoYaml,
    load_neuco_config,
    parse_neuco_config,
    rank_phase,
    run_neuco,
    write_neuco_leaderboard,
)
from planetbench.errors import ConfigError, EmbeddingFileError, InvalidInputError, LabelFileError
from planetbench.store.importers.neuco import read_phase_runs

# The content of NeuCo-Bench v1.1's configs/sample_config_linear.yaml and
# configs/sample_config_svm.yaml (a89ba06), key for key.
SAMPLE_LINEAR = """\
# Required configs
k_folds: 40
probe_type: "linear"
probe_params:
  batch_size: 64
  epochs: 10
  learning_rate: 0.001
  device: "auto"

# Optional configs
embedding_dim: null
standardize_embeddings: true
normalize_labels: true
enable_plots: false
update_leaderboard: false
store_probes: false
task_filter: null #eg. ["biomass_mean", "biomass_std"]"""

SAMPLE_SVM = """\
# Required configs
k_folds: 40
probe_type: "svm"
probe_params:
  C_start_end: [0.001, 1000]
  epsilon_list: [0.01, 0.05, 0.1, 0.5]
  kernel_degree_list: [2, 3]
  kernel_gamma_start_end: [0.0001, 10]
  kernel_coef0_start_end: [-1, 2]
  opt_params:
    n_iter: 50
    n_jobs: 1
    n_points: 1
    optimizer_kwargs:
      base_estimator: "RF"
      n_initial_points: 5
    verbose: 1

# Optional configs
embedding_dim: null
standardize_embeddings: true
normalize_labels: true
enable_plots: false
update_leaderboard: false
store_probes: false
task_filter: null #eg. ["biomass_mean", "biomass_std"]"""


def _case(root: Path, *, n: int = 60, d: int = 6, seed: int = 0) -> tuple[Path, Path]:
    """Synthetic (seeded) submission and label folder: one regression, one binary task."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i:03d}" for i in range(n)]
    x = rng.normal(size=(n, d)) * 2.0 + 0.5
    labels = root / "labels"
    labels.mkdir(parents=True)
    pd.DataFrame({"id": ids, "label": 3 + x[:, 0] + rng.normal(size=n)}).to_csv(
        labels / "biomass__regr.csv", index=False)
    pd.DataFrame({"id": ids, "label": (x[:, 1] + rng.normal(size=n) > 1.0).astype(int)}).to_csv(
        labels / "crops__cls.csv", index=False)
    emb = pd.DataFrame(x, columns=[str(j) for j in range(d)])
    emb.insert(0, "id", [f"{i}.zarr.zip" for i in ids])
    path = root / "emb.csv"
    emb.to_csv(path, index=False)
    return labels, path


def _config(root: Path, text: str, name: str = "c.yaml") -> Path:
    path = root / name
    path.write_text(text)
    return path


# ----------------------------------------------------------------------------- configurations


@pytest.mark.parametrize("text", [SAMPLE_LINEAR, SAMPLE_SVM], ids=["linear", "svm"])
def test_neucos_sample_configs_are_accepted_unchanged(tmp_path: Path, text: str) -> None:
    cfg = load_neuco_config(_config(tmp_path, text))
    assert cfg.probe.n_splits == 40 and cfg.probe.test_size == 0.1 and cfg.probe.seed == 42
    assert cfg.standardize and cfg.normalize_labels and not cfg.plots and not cfg.store_probes
    if cfg.probe_type == "linear":
        assert cfg.probe.probe == "neuco" and cfg.probe.neuco_epochs == 10
        assert cfg.probe_options["batch_size"] == 64 and cfg.probe_options["lr"] == 0.001
        assert cfg.device == "auto"
        assert cfg.hyperparameters == {"epochs": 10, "learning_rate": 0.001, "batch_size": 64}
        # NeuCo's run drops 'device' from the probe_params it writes back.
        assert "device" not in cfg.written(n_tasks=1)["probe_params"]
        assert cfg.written(n_tasks=0)["probe_params"]["device"] == "auto"
    else:
        assert cfg.probe.probe == "neuco-svm"
        search = cfg.probe_options["search"]
        assert search["C_start_end"] == [0.001, 1000] and search["opt_params"]["n_iter"] == 50
        assert cfg.written(n_tasks=1)["probe_params"]["opt_params"]["random_state"] == 42


@pytest.mark.parametrize("device", ["auto", "cpu", "cuda", "cuda:1"])
def test_every_device_is_accepted(device: str) -> None:
    raw = {"k_folds": 3, "probe_type": "linear",
           "probe_params": {"batch_size": 16, "epochs": 2, "learning_rate": 0.01,
                            "device": device}}
    cfg = parse_neuco_config(raw, source="c")
    assert cfg.device == device and cfg.probe_options == {
        "batch_size": 16, "lr": 0.01, "normalize_labels": True}


def test_flat_2025_layout_and_defaults() -> None:
    flat = parse_neuco_config({"k_folds": 4, "epochs": 3, "batch_size": 64,
                               "learning_rate": 0.001}, source="flat.yaml")
    nested = parse_neuco_config({"k_folds": 4, "probe_type": "linear",
                                 "probe_params": {"batch_size": 64, "epochs": 3,
                                                  "learning_rate": "1e-3"}},
                                source="nested.yaml")
    assert flat.probe == nested.probe and flat.probe_options == nested.probe_options
    # NeuCo's defaults when a key is left out: plots on, no leaderboard, no fold results.
    assert flat.plots and not flat.update_leaderboard and not flat.output_fold_results
    assert set(KNOWN_KEYS) == set(NeucoYaml.model_fields)


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        ({"k_folds": 3, "folds": 2}, r"unknown NeuCo-Bench config key\(s\) 'folds' \(did you"),
        ({"epochs": 3}, r"required key 'k_folds' is missing"),
        ({"k_folds": 3, "probe_params": {"momentum": 0.9}}, r"unknown probe_params key\(s\)"),
        ({"k_folds": 3, "probe_params": [1]}, r"'probe_params': input should be a valid dict"),
        ({"k_folds": 3, "standardize_embeddings": "yes"}, r"must be true or false"),
        ({"k_folds": 3, "epochs": 2, "probe_params": {"epochs": 3}}, r"'epochs' is set twice"),
        ({"k_folds": 3, "probe_type": "svm"}, r"'probe_params.C_start_end' is missing"),
        ({"k_folds": 3, "probe_type": "svm", "probe_params": {
            "C_start_end": [10, 1], "kernel_degree_list": 2}}, r"C_start_end must be \[low, high"),
        ({"k_folds": 3, "probe_type": "svm", "epochs": 3, "probe_params": {
            "C_start_end": [1, 10], "kernel_degree_list": 2}}, r"'epochs' belongs to probe_type"),
        ({"k_folds": 3, "probe_type": "mlp"}, r"'probe_type': input should be 'linear' or 'svm'"),
        ({"k_folds": 3, "task_filter": []}, r"task_filter: \[\] selects no task"),
    ],
)
def test_config_refusals_name_the_key(raw: dict[str, object], match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        parse_neuco_config(raw, source="c.yaml")


# ----------------------------------------------------------------------------- output files


def _neuco_reader(output_dir: Path, phase: str) -> dict[str, dict[str, object]]:
    """A script written against NeuCo-Bench v1.1's documented outputs, as a user would write it."""
    runs: dict[str, dict[str, object]] = {}
    for summary_file in sorted((output_dir / phase).glob("*/results_summary.json")):
        summary = json.loads(summary_file.read_text())
        method, stamp = summary["experiment"].rsplit("_", 2)[0], "_".join(
            summary["experiment"].rsplit("_", 2)[1:])
        datetime.strptime(stamp, "%Y%m%d_%H%M%S")
        tasks = {}
        for task, q in summary["task_q_scores"].items():
            result = json.loads((summary_file.parent / task / f"{task}_result.json").read_text())
            assert result["q_stat"] == q
            assert result["mean_score"] == summary["task_acc_scores"][task]
            curves = summary_file.parent / task / "loss_curves"
            assert (curves / f"{task}_train_loss_curves.png").stat().st_size > 0
            assert (curves / f"{task}_validation_loss_curves.png").stat().st_size > 0
            tasks[task] = result
        assert summary["overall_q_score"] == pytest.approx(np.mean(list(
            summary["task_q_scores"].values())))
        assert summary["overall_acc_score"] == pytest.approx(np.mean(list(
            summary["task_acc_scores"].values())))
        runs[summary["experiment"]] = {"method": method, "tasks": tasks,
                                       "config": summary["config"]}
    boards = sorted((output_dir / "leaderboards" / phase).glob("leaderboard_*.csv"))
    if boards:
        datetime.strptime(boards[-1].stem.removeprefix("leaderboard_"), "%Y%m%d_%H%M%S")
        board = pd.read_csv(boards[-1])
        runs["__board__"] = {"columns": board.columns.tolist(),
                             "experiments": board["experiment"].tolist()}
    return runs


def test_a_reader_of_neucos_outputs_reads_ours(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, SAMPLE_LINEAR.replace("k_folds: 40", "k_folds: 4")
                  .replace("epochs: 10", "epochs: 3")
                  .replace("update_leaderboard: false", "update_leaderboard: true")
                  + "\noutput_fold_results: true\n")
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", phase="dev", store=store_url)
    assert re.fullmatch(r"emb_\d{8}_\d{6}", run.experiment)  # default method: the file's stem
    runs = _neuco_reader(tmp_path / "out", "dev")
    read = runs[run.experiment]
    assert read["method"] == "emb" and set(read["tasks"]) == {"biomass", "crops"}
    crops = read["tasks"]["crops"]
    assert list(crops) == ["q_stat", "mean_score", "std_dev", "hyperparamaters", "q_t"]
    assert crops["hyperparamaters"] == {"epochs": 3, "learning_rate": 0.001, "batch_size": 64}
    folds = np.asarray(crops["q_t"], dtype=float)
    assert len(folds) == 4 and crops["mean_score"] == pytest.approx(folds.mean())
    assert crops["q_stat"] == pytest.approx(folds.mean() / (0.02 + folds.std()) * 2)
    assert read["config"]["probe_params"] == {"batch_size": 64, "epochs": 3,
                                              "learning_rate": 0.001}
    assert runs["__board__"]["columns"] == [
        "experiment", "mean_score", "weighted_score", "aggregated_rank", "q::biomass",
        "q::crops", "acc::biomass", "acc::crops", "overall_q_score", "overall_acc_score"]
    # A second run of the same method gets its own folder: the first one is never overwritten.
    again = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                      output_dir=tmp_path / "out", phase="dev", store=store_url)
    assert again.run_dir != run.run_dir and (run.run_dir / "results_summary.json").is_file()


def test_output_fold_results_off_writes_no_fold_scores(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, "k_folds: 3\nepochs: 1\nenable_plots: false\n")
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", store=store_url)
    result = json.loads((run.run_dir / "crops" / "crops_result.json").read_text())
    assert "q_t" not in result and run.run_dir.parent == tmp_path / "out" / "results"


def test_plots_and_stored_linear_probes(tmp_path: Path, store_url: str) -> None:
    torch = pytest.importorskip("torch")
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, "k_folds: 2\nepochs: 2\nenable_plots: true\nstore_probes: true\n")
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", store=store_url, method_name="m")
    names = {p.relative_to(run.run_dir).as_posix() for p in run.run_dir.rglob("*") if p.is_file()}
    assert {"crops/confusion_matrices/emb_crops_cm_fold1.png",
            "crops/confusion_matrices/emb_crops_cm_fold2.png",
            "biomass/regression_scatter/emb_biomass_scatter_fold2.png",
            "biomass/probe/probe.pth", "biomass/probe/load_probe.py"} <= names
    import importlib.util

    spec = importlib.util.spec_from_file_location("loader", run.run_dir / "crops/probe/load_probe.py")
    assert spec is not None and spec.loader is not None
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    model, task_type = loader.load_probe(run.run_dir / "crops" / "probe", torch.device("cpu"))
    assert task_type == "cls" and model.linear.in_features == 6
    out = model(torch.zeros(3, 6))
    assert out.shape == (3,) and torch.allclose(out, model.linear.bias.expand(3))


def test_svm_run_writes_neucos_files_and_a_loadable_probe(tmp_path: Path, store_url: str) -> None:
    pytest.importorskip("skopt")
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, (
        "k_folds: 2\nprobe_type: svm\nprobe_params:\n  C_start_end: [0.1, 10]\n"
        "  epsilon_list: [0.05, 0.1]\n  kernel_degree_list: [2]\n"
        "  kernel_gamma_start_end: [0.01, 1]\n  kernel_coef0_start_end: [0, 1]\n"
        "  opt_params:\n    n_iter: 2\n    n_jobs: 1\n    n_points: 1\n"
        "    optimizer_kwargs:\n      base_estimator: RF\n      n_initial_points: 2\n"
        "output_fold_results: true\nenable_plots: true\nstore_probes: true\n"))
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", store=store_url, method_name="m")
    names = {p.relative_to(run.run_dir).as_posix() for p in run.run_dir.rglob("*") if p.is_file()}
    assert {"crops/confusion_matrices/emb_crops_cm.png",
            "biomass/regression_scatter/emb_biomass_scatter.png",
            "biomass/loss_curves/biomass_train_loss_curves.png",
            "crops/loss_curves/crops_validation_loss_curves.png",
            "crops/probe/probe.pkl", "crops/probe/metadata.json",
            "crops/probe/load_probe.py"} <= names
    result = json.loads((run.run_dir / "biomass" / "biomass_result.json").read_text())
    assert set(result) == {"q_stat", "mean_score", "std_dev", "hyperparamaters", "q_t"}
    assert len(result["q_t"]) == 2 and result["hyperparamaters"]["kernel"] == "poly"
    assert result["mean_score"] == pytest.approx(float(np.nanmean(result["q_t"])))
    import importlib.util

    spec = importlib.util.spec_from_file_location("svm_loader",
                                                  run.run_dir / "crops/probe/load_probe.py")
    assert spec is not None and spec.loader is not None
    loader = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loader)
    model, task_type = loader.load_probe(run.run_dir / "crops" / "probe")
    assert task_type == "cls" and type(model).__name__ == "SVC"
    assert set(model.predict(np.zeros((3, 6)))) <= {-1, 1}


# ----------------------------------------------------------------------------- phase leaderboard


def _write(folder: Path, data: dict[str, object] | str) -> None:
    folder.mkdir(parents=True)
    (folder / "results_summary.json").write_text(
        data if isinstance(data, str) else json.dumps(data))


def test_mixed_phase_folders_are_ranked_as_neuco_ranks(tmp_path: Path) -> None:
    phase = tmp_path / "out" / "dev"
    # A NeuCo v1.1 run (its JSON may hold NaN tokens), a 2025-layout run, two of ours, a corrupt
    # file, and a run lacking a task (left out of the ranking, as NeuCo does).
    _write(phase / "a_20260101_000000", {
        "experiment": "a_20260101_000000", "overall_q_score": 2.0, "overall_acc_score": 0.5,
        "task_q_scores": {"t1": 1.0, "t2": 3.0}, "task_acc_scores": {"t1": 0.4, "t2": 0.6}})
    _write(phase / "old", {"experiment": "old", "overall_score": 3.0,
                           "task_results": {"t1": 4.0, "t2": 2.0}})
    _write(phase / "b_20260101_000001", {
        "experiment": "b_20260101_000001", "overall_q_score": 1.0, "overall_acc_score": 0.2,
        "task_q_scores": {"t1": 0.0, "t2": 2.0}, "task_acc_scores": {"t1": 0.1, "t2": 0.3}})
    _write(phase / "same_name", {"experiment": "old", "overall_score": 1.0,
                                 "task_results": {"t1": 1.0, "t2": 1.0}})
    _write(phase / "partial", '{"experiment": "p", "task_q_scores": {"t1": NaN, "t2": 1.0}}')
    _write(phase / "broken", "{not json")
    result = write_neuco_leaderboard(tmp_path / "out", "dev")
    assert len(result.skipped) == 1 and "broken/results_summary.json" in result.skipped[0]
    assert result.path is not None and result.path.parent == tmp_path / "out/leaderboards/dev"
    board = pd.read_csv(result.path)
    # One row per run folder (two folders share the experiment name 'old').
    assert sorted(board["experiment"]) == ["a_20260101_000000", "b_20260101_000001", "old",
                                           "old"]
    # By hand: Q per task t1 = (1, 4, 0, 1), t2 = (3, 2, 2, 1) for (a, old, b, old'); ranks
    # (highest first, ties share the lowest): t1 (2, 1, 4, 2), t2 (1, 2, 2, 4); weights = std
    # (ddof 1) / sum: both tasks' std ... computed below exactly as NeuCo's formula.
    t = np.array([[1.0, 3.0], [4.0, 2.0], [0.0, 2.0], [1.0, 1.0]])
    ranks = np.array([[2, 1], [1, 2], [4, 2], [2, 4]])
    weights = t.std(axis=0, ddof=1) / t.std(axis=0, ddof=1).sum()
    expected = dict(zip(["a", "old", "b", "old2"], (ranks * weights).sum(axis=1), strict=True))
    by_score = board.set_index(board["q::t2"].astype(str) + board["experiment"])
    assert by_score.loc["3.0a_20260101_000000", "weighted_score"] == pytest.approx(expected["a"])
    assert by_score.loc["2.0old", "weighted_score"] == pytest.approx(expected["old"])
    assert by_score.loc["1.0old", "weighted_score"] == pytest.approx(expected["old2"])
    assert board["weighted_score"].is_monotonic_increasing
    assert board["aggregated_rank"].tolist() == [1, 2, 3, 4]
    assert board.loc[board["experiment"] == "a_20260101_000000", "mean_score"].item() == 2.0
    old = board[board["experiment"] == "old"]
    assert old["acc::t1"].isna().all() and old["overall_acc_score"].isna().all()


def test_rank_phase_single_run_and_ties() -> None:
    from planetbench.store.importers.neuco import PhaseRun

    runs = [PhaseRun(Path("x"), "x", "v1.1", {"t": 1.0, "u": 2.0}),
            PhaseRun(Path("y"), "y", "v1.1", {"t": 1.0, "u": 2.0})]
    board = rank_phase(runs[:1])
    assert board["weighted_score"].tolist() == [1.0] and board["aggregated_rank"].tolist() == [1]
    tied = rank_phase(runs)  # zero spread: NeuCo's weights are 0/0, so its scores are NaN
    assert tied["weighted_score"].isna().all()


def test_phase_without_readable_summaries(tmp_path: Path) -> None:
    _write(tmp_path / "out" / "dev" / "x", "[1, 2]")
    with pytest.raises(InvalidInputError, match=r"no readable results_summary\.json.*skipped"):
        write_neuco_leaderboard(tmp_path / "out", "dev")
    runs, skipped = read_phase_runs(tmp_path / "out" / "dev")
    assert runs == [] and "not a NeuCo-Bench summary" in skipped[0]


# ----------------------------------------------------------------------------- NeuCo's numbers


def test_zero_padding_changes_the_standardisation_as_neucos(tmp_path: Path,
                                                             store_url: str) -> None:
    labels, emb = _case(tmp_path, d=4)
    cfg = _config(tmp_path, "k_folds: 2\nepochs: 1\nenable_plots: false\nembedding_dim: 10\n")
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", store=store_url)
    X = run.summary.details["biomass"]
    # NeuCo: pad the float32 matrix with zero columns to embedding_dim, then one float32 mean
    # and standard deviation over every value, padding included.
    raw = pd.read_csv(emb).drop(columns="id").to_numpy(np.float32)
    padded = np.pad(raw, ((0, 0), (0, 6)))
    mu, sigma = padded.mean(), padded.std()
    want = (padded - mu) / sigma
    from planetbench.embedding.evaluate import EvaluationConfig, NeucoRules, _read_table
    from planetbench.embedding.files import file_sha256
    from planetbench.embedding.labels import load_label_tasks

    ecfg = EvaluationConfig.build(emb, labels, config=load_neuco_config(cfg).probe,
                                  standardize=True, neuco=NeucoRules())
    table = _read_table(ecfg, file_sha256(emb), load_label_tasks(labels))
    np.testing.assert_array_equal(table.matrix, want)
    # Unpadded, the moments differ: padding is not a no-op.
    assert not np.isclose(raw.mean(), mu) and X["options"]["standardize"] is False


def test_binary_splits_under_neuco_are_plain_shufflesplit() -> None:
    from sklearn.model_selection import ShuffleSplit

    from planetbench.protocols.probes import run_probe

    rng = np.random.default_rng(0)
    y = (rng.random(80) < 0.2).astype(int)
    X = rng.normal(size=(80, 3)) + y[:, None]
    res = run_probe(X, y, kind="classification", probe="neuco", n_splits=5, test_size=0.1,
                    seed=42, epochs=1)
    want = list(ShuffleSplit(n_splits=5, test_size=0.1, random_state=42).split(X))
    for (tr, te), (wtr, wte) in zip(res.splits, want, strict=True):
        np.testing.assert_array_equal(tr, np.sort(wtr))
        np.testing.assert_array_equal(te, np.sort(wte))
    # Our own probes keep stratification: every test fold holds the positives' share.
    ours = run_probe(X, y, kind="classification", probe="logistic", n_splits=5, test_size=0.1,
                     seed=42)
    assert [set(te.tolist()) for _, te in ours.splits] != [set(te.tolist()) for _, te in want]
    assert all(y[te].sum() == 2 for _, te in ours.splits)


def test_failed_folds_are_left_out_as_nanmean_and_nanstd() -> None:
    mean, std, q = neuco_task_statistics([0.5, float("nan"), 0.7])
    assert mean == pytest.approx(0.6) and std == pytest.approx(0.1)
    assert q == pytest.approx(0.6 / (0.02 + 0.1) * 2)
    assert np.isnan(neuco_task_statistics([float("nan")] * 3)[2])
    mean, _, q = neuco_task_statistics([0.5, -np.inf])  # no epoch with a score: NeuCo's -inf
    assert mean == -np.inf and np.isnan(q)


# ----------------------------------------------------------------------------- leniency


def test_missing_ids_and_empty_labels_are_scored_around_with_a_warning(
    tmp_path: Path, store_url: str
) -> None:
    labels, emb = _case(tmp_path)
    frame = pd.read_csv(emb)
    frame.iloc[2:].to_csv(emb, index=False)  # s000 and s001 lose their embedding
    reg = pd.read_csv(labels / "biomass__regr.csv")
    reg.loc[5, "label"] = None  # an empty cell
    reg.to_csv(labels / "biomass__regr.csv", index=False)
    cfg = _config(tmp_path, "k_folds: 2\nepochs: 1\nenable_plots: false\n")
    run = run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                    output_dir=tmp_path / "out", store=store_url)
    text = " ".join(run.warnings)
    assert "1 row(s) with an empty label cell left out" in text and "'s005'" in text
    assert "2 of 59 labelled ids have no embedding" in text and "'s000', 's001'" in text
    assert "--require_complete" in text
    assert run.summary.tasks["biomass"].n_samples == 57
    strict = _config(tmp_path, "k_folds: 2\nepochs: 1\nrequire_complete: true\n", "s.yaml")
    with pytest.raises(LabelFileError, match="remove require_complete / --require_complete"):
        run_neuco(submission_file=emb, annotation_path=labels, config=strict,
                  output_dir=tmp_path / "out", store=store_url)
    reg.loc[5, "label"] = 1.0
    reg.to_csv(labels / "biomass__regr.csv", index=False)
    with pytest.raises(EmbeddingFileError, match=r"lacks 2 of the 60 ids.*--require_complete"):
        run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                  output_dir=tmp_path / "out", store=store_url, require_complete=True)


def test_nan_cells_stay_errors(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, "k_folds: 2\nepochs: 1\n")
    frame = pd.read_csv(emb)
    frame.loc[3, "2"] = np.nan
    frame.to_csv(emb, index=False)
    with pytest.raises(EmbeddingFileError, match="NaN"):
        run_neuco(submission_file=emb, annotation_path=labels, config=cfg,
                  output_dir=tmp_path / "out", store=store_url)
    labels2, emb2 = _case(tmp_path / "b")
    (labels2 / "biomass__regr.csv").write_text("id,label\ns000,NaN\n" + "\n".join(
        f"s{i:03d},{i}" for i in range(1, 60)) + "\n")
    with pytest.raises(LabelFileError, match="NaN label"):
        run_neuco(submission_file=emb2, annotation_path=labels2, config=cfg,
                  output_dir=tmp_path / "out", store=store_url)


def test_names_are_never_paths(tmp_path: Path, store_url: str) -> None:
    labels, emb = _case(tmp_path)
    cfg = _config(tmp_path, "k_folds: 2\nepochs: 1\n")
    with pytest.raises(InvalidInputError, match="--method_name"):
        run_neuco(submission_file=emb, annotation_path=labels, config=cfg, method_name="../x",
                  output_dir=tmp_path / "out", store=store_url)
    with pytest.raises(InvalidInputError, match="--phase"):
        run_neuco(submission_file=emb, annotation_path=labels, config=cfg, phase="a/b",
                  output_dir=tmp_path / "out", store=store_url)
