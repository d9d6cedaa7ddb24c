"""End-to-end embedding evaluation: probe, Q, store rows, summary.json, resume, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.evaluate import evaluate_embeddings
from planetbench.errors import (
    ConfigError,
    EmbeddingFileError,
    InvalidInputError,
    LabelFileError,
    UnknownNameError,
)
from planetbench.store import ResultStore

N = 60


def write_case(root: Path, *, seed: int = 0, d: int = 8) -> tuple[Path, Path, Path]:
    """A label folder (regression + 3-class task) and informative / random embedding CSVs."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"tile_{i:03d}" for i in range(N)])
    target = rng.normal(size=N)
    cls = np.arange(N) % 3
    labels = root / "labels"
    labels.mkdir(parents=True)
    pd.DataFrame({"id": ids, "label": 50 + 10 * target}).to_csv(
        labels / "biomass__regr.csv", index=False
    )
    names = np.array(["crop", "forest", "water"])[cls]
    pd.DataFrame({"id": ids, "label": names}).to_csv(labels / "landcover__cls.csv", index=False)
    good = rng.normal(scale=0.3, size=(N, d))
    good[:, 0] += target
    good[np.arange(N), 1 + cls] += 2.0
    bad = rng.normal(size=(N, d))
    paths = []
    for stem, mat in (("informative", good), ("random", bad)):
        df = pd.DataFrame(mat, columns=[str(i) for i in range(d)])
        df.insert(0, "id", [f"{i}.zarr.zip" for i in ids])  # NeuCo-style suffix, stripped
        path = root / f"{stem}.csv"
        df.to_csv(path, index=False)
        paths.append(path)
    return labels, paths[0], paths[1]


def test_informative_beats_random_and_rows_are_stored(tmp_path: Path, store_url: str) -> None:
    labels, good, bad = write_case(tmp_path)
    s_good = evaluate_embeddings(good, labels, store=store_url, n_splits=4)
    s_bad = evaluate_embeddings(bad, labels, store=store_url, n_splits=4)
    assert s_good.name == "informative" and set(s_good.tasks) == {"biomass", "landcover"}
    for task in ("biomass", "landcover"):
        g, b = s_good.tasks[task], s_bad.tasks[task]
        assert g.q > b.q + 5 and g.mean > b.mean + 0.3
        assert len(g.fold_scores) == 4
        assert g.q == pytest.approx(100 * 0.02 * np.mean(g.fold_scores)
                                    / (np.std(g.fold_scores) + 0.02))
    assert s_good.tasks["biomass"].metric == "r2" and s_good.tasks["biomass"].mean > 0.7
    assert s_good.tasks["landcover"].kind == "multiclass"
    rows = ResultStore(store_url).query(suite="neuco", model="informative")
    assert len(rows) == 2
    row = rows.set_index("task").loc["biomass"]
    assert row["protocol"] == "probe" and row["n_splits"] == 4 and row["seed"] == 0
    assert row["input_sha256"] == s_good.input_sha256 and len(row["input_sha256"]) == 64
    assert row["metrics"]["n_samples"] == N and row["metrics"]["coverage"] == 1.0
    assert "numpy" in row["versions"] and row["config"]["n_splits"] == 4
    assert len(row["metrics"]["r2"]) == 4 and row["probe"] == "ridge"
    assert row["score"] == pytest.approx(s_good.tasks["biomass"].mean)


def test_parquet_gives_the_same_scores(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    pq = good.with_suffix(".parquet")
    pd.read_csv(good, dtype={"id": str}).to_parquet(pq, index=False)
    a = evaluate_embeddings(good, labels, store=store_url, n_splits=3, task_filter=["biomass"])
    b = evaluate_embeddings(pq, labels, store=store_url, n_splits=3, name="informative-pq",
                            task_filter=["biomass"])
    for task in a.tasks:
        np.testing.assert_allclose(a.tasks[task].fold_scores, b.tasks[task].fold_scores)
    assert a.input_sha256 != b.input_sha256


def test_summary_json_schema(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    summary = evaluate_embeddings(good, labels, store=store_url, out=tmp_path / "out",
                                  name="m1", n_splits=3, epsilon=0.05)
    path = tmp_path / "out" / "m1" / "summary.json"
    assert summary.summary_path == path
    data = json.loads(path.read_text())
    assert data["name"] == "m1" and data["config"]["epsilon"] == 0.05
    assert set(data["tasks"]) == {"biomass", "landcover"}
    for entry in data["tasks"].values():
        assert {"metric", "q", "mean", "std", "n_samples", "fold_scores"} <= set(entry)
        assert len(entry["fold_scores"]) == 3 and entry["n_samples"] == N
        folds = np.asarray(entry["fold_scores"])
        assert entry["q"] == pytest.approx(100 * 0.05 * folds.mean() / (folds.std() + 0.05))
    assert data["tasks"]["landcover"]["metric"] == "f1_macro"


def test_resume_skips_stored_tasks(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    first = evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    assert first.resumed == [] and len(first.results) == 2
    again = evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    assert again.resumed == ["biomass", "landcover"] and again.results == []
    assert len(ResultStore(store_url)) == 2
    for task in first.tasks:
        assert again.tasks[task].q == pytest.approx(first.tasks[task].q)
        assert again.tasks[task].n_samples == N and again.tasks[task].resumed
    other = evaluate_embeddings(good, labels, store=store_url, n_splits=4)
    assert other.resumed == [] and len(ResultStore(store_url)) == 4


def test_new_probe_implementation_is_not_resumed_from_old_rows(
    tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.protocols.probes.base as probe

    labels, good, _ = write_case(tmp_path)
    evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    monkeypatch.setattr(probe, "IMPLEMENTATION_VERSION", probe.IMPLEMENTATION_VERSION + 1)
    newer = evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    assert newer.resumed == [] and len(ResultStore(store_url)) == 4
    assert newer.config["probe_implementation"] == probe.IMPLEMENTATION_VERSION


def test_missing_ids_and_coverage(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    df = pd.read_csv(good, dtype={"id": str}).iloc[:50]
    part = tmp_path / "part.csv"
    df.to_csv(part, index=False)
    with pytest.raises(EmbeddingFileError, match="lacks 10 of the 60 ids of task 'biomass'"):
        evaluate_embeddings(part, labels, store=store_url, n_splits=3)
    assert len(ResultStore(store_url)) == 0  # nothing stored on invalid input
    s = evaluate_embeddings(part, labels, store=store_url, n_splits=3, allow_missing=True)
    assert s.tasks["biomass"].coverage == pytest.approx(50 / 60)
    assert s.tasks["biomass"].n_samples == 50
    assert any("coverage 0.833" in n for n in s.tasks["biomass"].notes)
    row = ResultStore(store_url).query(task="biomass").iloc[0]
    assert row["metrics"]["coverage"] == pytest.approx(50 / 60)


def test_negative_q_is_flagged(tmp_path: Path, store_url: str) -> None:
    labels, _, bad = write_case(tmp_path)
    s = evaluate_embeddings(bad, labels, store=store_url, n_splits=3, task_filter=["biomass"])
    t = s.tasks["biomass"]
    assert list(s.tasks) == ["biomass"]
    assert t.mean < 0 and t.q < 0 and t.unreliable
    assert any(n.startswith("unreliable: negative Q") for n in t.notes)


def test_invalid_arguments(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    with pytest.raises(ConfigError, match="plots=True needs an output folder"):
        evaluate_embeddings(good, labels, store=store_url, plots=True)
    with pytest.raises(ConfigError, match="probe"):
        evaluate_embeddings(good, labels, store=store_url, probe="svm")
    with pytest.raises(UnknownNameError, match="did you mean 'biomass'"):
        evaluate_embeddings(good, labels, store=store_url, task_filter=["biomas"])
    with pytest.raises(LabelFileError, match="distinct test sets"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=10_000, test_size=0.01)
    with pytest.raises(EmbeddingFileError, match="does not exist"):
        evaluate_embeddings(tmp_path / "nope.csv", labels, store=store_url)


def test_exclude_ids_and_preprocessing_change_the_run(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    only = ["biomass"]
    excl = evaluate_embeddings(good, labels, store=store_url, n_splits=3, task_filter=only,
                               exclude_ids=["tile_000", "tile_001", "tile_002"])
    assert excl.tasks["biomass"].n_samples == N - 3
    norm = evaluate_embeddings(good, labels, store=store_url, n_splits=3, standardize=True,
                               normalize_labels=True, task_filter=only)
    assert norm.resumed == [] and norm.config["standardize"] is True
    assert norm.tasks["biomass"].mean > 0.7 and excl.tasks["biomass"].mean > 0.7
    keys = set(ResultStore(store_url).query()["run_key"])
    assert len(keys) == 2  # exclusion and preprocessing are part of the run identity


def test_plots_are_written(tmp_path: Path, store_url: str) -> None:
    labels, good, bad = write_case(tmp_path)
    evaluate_embeddings(bad, labels, store=store_url, n_splits=3, probe="ridge",
                        task_filter=["biomass"])
    s = evaluate_embeddings(good, labels, store=store_url, n_splits=3, out=tmp_path / "o",
                            plots=True)
    names = sorted(p.name for p in s.plot_paths)
    assert names == ["confusion_landcover.png", "fold_scores.png", "pred_vs_true_biomass.png",
                     "radar_q.png"]
    for p in s.plot_paths:
        assert p.parent == tmp_path / "o" / "informative" / "plots"
        assert p.stat().st_size > 1000 and p.read_bytes()[:4] == b"\x89PNG"


def test_radar_of_q_uses_the_suite_evaluated(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    s = evaluate_embeddings(good, labels, store=store_url, n_splits=3, out=tmp_path / "o",
                            plots=True, suite="demo")
    assert s.suite == "demo"
    assert "radar_q.png" in {p.name for p in s.plot_paths}


def test_real_presto_probe_tasks(tmp_path: Path, store_url: str, shared_data: Path) -> None:
    """Flattened raw inputs of the real fuel-moisture task: ridge R² must be clearly positive."""
    root = shared_data / "presto-weights-and-probe-tasks" / "fuel_moisture" / "npy"
    if not root.is_dir():
        pytest.skip(f"{root} is absent")
    x = np.load(root / "s1_s2_era5_srtm.npy")[:400]
    y = np.load(root / "target.npy")[:400]
    x = x.reshape(len(x), -1)[:, :54]  # 3 time steps × 18 bands
    ids = [f"fm{i}" for i in range(len(y))]
    labels = tmp_path / "labels"
    labels.mkdir()
    pd.DataFrame({"id": ids, "label": y}).to_csv(labels / "fuel_moisture__regr.csv", index=False)
    emb = pd.DataFrame(x, columns=[str(i) for i in range(x.shape[1])])
    emb.insert(0, "id", ids)
    path = tmp_path / "raw.csv"
    emb.to_csv(path, index=False)
    s = evaluate_embeddings(path, labels, store=store_url, probe="ridge", n_splits=5)
    t = s.tasks["fuel_moisture"]
    assert t.metric == "r2" and t.mean > 0.1 and math.isfinite(t.q) and t.q > 0


def test_worker_processes_give_identical_results(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    inline = evaluate_embeddings(good, labels, store=store_url, n_splits=3, n_jobs=1)
    other_store = f"sqlite:///{tmp_path / 'two.sqlite'}"
    pooled = evaluate_embeddings(good, labels, store=other_store, n_splits=3, n_jobs=2)
    assert set(pooled.tasks) == set(inline.tasks)
    for task in inline.tasks:
        assert pooled.tasks[task].fold_scores == inline.tasks[task].fold_scores
    assert len(ResultStore(other_store)) == 2
    with pytest.raises(ConfigError, match="n_jobs must be a positive integer"):
        evaluate_embeddings(good, labels, store=other_store, n_splits=5, n_jobs=0)


def test_automatic_fork_workers_in_a_torch_free_process(tmp_path: Path, store_url: str) -> None:
    """The default (n_jobs=None) forks workers for large work when torch is not loaded; run it in
    a fresh interpreter with the work threshold lowered and compare with inline results."""
    import subprocess
    import sys

    labels, good, _ = write_case(tmp_path)
    inline = evaluate_embeddings(good, labels, store=store_url, n_splits=3, n_jobs=1)
    other = tmp_path / "auto.sqlite"
    code = (
        "import sys, planetbench.embedding.evaluate as ev\n"
        "import planetbench.protocols.probes.pool as pool\n"
        "pool.PARALLEL_MIN_WORK = 0\n"
        f"s = ev.evaluate_embeddings({str(good)!r}, {str(labels)!r}, "
        f"store={'sqlite:///' + str(other)!r}, n_splits=3)\n"
        "assert 'torch' not in sys.modules\n"
        "import os, numpy as np\n"
        "X = np.zeros((10, 4))\n"
        "plan = pool.plan_workers([(X, X[:, 0], 'regression', {'n_splits': 3})] * 2, None)\n"
        "want = (2, 'fork') if (os.cpu_count() or 1) > 1 else (1, None)\n"
        "assert plan == want, plan\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    auto = ResultStore(f"sqlite:///{other}").query()
    for task, summary in inline.tasks.items():
        row = auto[auto["task"] == task].iloc[0]
        assert list(row["fold_scores"]) == summary.fold_scores


def test_probe_that_cannot_handle_a_task_is_refused_before_anything_runs(
    tmp_path: Path, store_url: str
) -> None:
    labels, good, _ = write_case(tmp_path)  # biomass (regression) + landcover (3 classes)
    with pytest.raises(ConfigError, match=r"label file 'landcover__cls.csv': probe 'neuco' does "
                                          r"not handle kind='multiclass'"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3, probe="neuco")
    assert len(ResultStore(store_url)) == 0  # the regression task was not run either


def _more_tasks(labels: Path, n_good: int = 4) -> None:
    ids = [f"tile_{i:03d}" for i in range(N)]
    rng = np.random.default_rng(5)
    for k in range(n_good):
        pd.DataFrame({"id": ids, "label": rng.normal(size=N)}).to_csv(
            labels / f"extra{k}__regr.csv", index=False)


def test_labels_near_1e300_fail_before_any_task_is_stored(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    _more_tasks(labels)
    ids = [f"tile_{i:03d}" for i in range(N)]
    pd.DataFrame({"id": ids, "label": np.linspace(-1, 1, N) * 1e300}).to_csv(
        labels / "zz_huge__regr.csv", index=False)
    with pytest.raises(LabelFileError, match=r"zz_huge__regr\.csv.*beyond 1e\+100"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    assert len(ResultStore(store_url)) == 0


def test_a_test_fold_without_finite_score_fails_before_any_task_is_stored(
    tmp_path: Path, store_url: str
) -> None:
    labels, good, _ = write_case(tmp_path)
    ids = [f"tile_{i:03d}" for i in range(N)]
    pd.DataFrame({"id": ids, "label": [0.0] * (N - 1) + [1.0]}).to_csv(
        labels / "zz_flat__regr.csv", index=False)
    with pytest.raises(LabelFileError, match="R² is undefined"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3)
    assert len(ResultStore(store_url)) == 0


@pytest.mark.parametrize(("scale", "match"), [(1e160, "beyond float32's range"),
                                               (1e-200, "below 1e-30")])
def test_extreme_embedding_scales_are_refused_not_scored_as_zeros(
    tmp_path: Path, store_url: str, scale: float, match: str
) -> None:
    labels, good, _ = write_case(tmp_path)
    frame = pd.read_csv(good, dtype={"id": str})
    cols = [c for c in frame.columns if c != "id"]
    frame[cols] = frame[cols] * scale
    scaled = tmp_path / "scaled.csv"
    frame.to_csv(scaled, index=False)
    with pytest.raises(EmbeddingFileError, match=match):
        evaluate_embeddings(scaled, labels, store=store_url, n_splits=3)
    assert len(ResultStore(store_url)) == 0


@pytest.mark.parametrize("probe", ["auto", "neuco"])
def test_float32_reading_changes_scores_only_by_rounding(
    tmp_path: Path, store_url: str, probe: str
) -> None:
    """Read as float32 (this reader) or float64 (pandas): the same fold scores to 1e-5."""
    from planetbench.protocols.probes import run_probe

    labels, good, _ = write_case(tmp_path, d=16)
    if probe == "neuco":  # neuco handles regression and binary tasks
        (labels / "landcover__cls.csv").unlink()
    s = evaluate_embeddings(good, labels, store=store_url, n_splits=4, probe=probe,
                            neuco_epochs=3)
    frame = pd.read_csv(good, dtype={"id": str})
    ids = frame["id"].str.replace(".zarr.zip", "", regex=False).to_numpy()
    X64 = frame.drop(columns="id").to_numpy(dtype=np.float64)
    assert not np.array_equal(X64.astype(np.float32).astype(np.float64), X64)  # rounding exists
    for name, task in s.tasks.items():
        y = pd.read_csv(next(labels.glob(f"{name}__*.csv")))["label"]
        codes = pd.factorize(y, sort=True)[0] if task.kind != "regression" else y.to_numpy()
        order = pd.Series(np.arange(len(ids)), index=ids)[
            pd.read_csv(next(labels.glob(f"{name}__*.csv")))["id"]].to_numpy()
        ref = run_probe(X64[order], codes, kind=task.kind, probe=probe, n_splits=4,
                        test_size=0.1 if probe == "neuco" else 0.2,
                        seed=42 if probe == "neuco" else 0, epochs=3)
        if task.kind == "regression":
            np.testing.assert_allclose(task.fold_scores, ref.fold_scores, atol=1e-5)
        pred = s.predictions[name][1]
        np.testing.assert_allclose(pred, np.concatenate(ref.test_predictions), rtol=1e-4,
                                   atol=1e-5)


def test_standardize_is_neuco_benchs_single_file_wide_zscore(
    tmp_path: Path, store_url: str
) -> None:
    """NeuCo-Bench z-scores the labelled rows of the file once; the probe must not z-score each
    task again. Reference: the z-score written out here, then the probe with standardize=False."""
    from planetbench.protocols.probes import run_probe

    labels, good, _ = write_case(tmp_path)
    (labels / "landcover__cls.csv").unlink()
    ids = [f"tile_{i:03d}" for i in range(N)]
    rng = np.random.default_rng(9)
    # a second task on half the ids: its own mean/std differ from the file-wide ones
    pd.DataFrame({"id": ids[::2], "label": rng.normal(size=N // 2)}).to_csv(
        labels / "half__regr.csv", index=False)
    s = evaluate_embeddings(good, labels, store=store_url, n_splits=3, probe="neuco",
                            neuco_epochs=4, standardize=True, normalize_labels=True)
    frame = pd.read_csv(good, dtype={"id": str})
    X32 = frame.drop(columns="id").to_numpy(dtype=np.float32)
    mu = X32.astype(np.float64).mean()
    sigma = X32.astype(np.float64).std()
    Xs = ((X32.astype(np.float64) - mu) / sigma).astype(np.float32)
    for name in ("biomass", "half"):
        table = pd.read_csv(labels / f"{name}__regr.csv")
        rows = [int(i.split("_")[1]) for i in table["id"]]
        y = table["label"].to_numpy()
        y = (y - y.min()) / (y.max() - y.min())
        ref = run_probe(Xs[rows], y, kind="regression", probe="neuco", n_splits=3,
                        test_size=0.1, seed=42, epochs=4, standardize=False)
        np.testing.assert_allclose(s.tasks[name].fold_scores, ref.fold_scores, atol=1e-5)
        again = run_probe(Xs[rows], y, kind="regression", probe="neuco", n_splits=3,
                          test_size=0.1, seed=42, epochs=4)  # z-scored a second time
        if name == "half":
            assert not np.allclose(again.fold_scores, ref.fold_scores, atol=1e-5)


@pytest.mark.parametrize(
    ("name", "match"),
    [("../../x", "holds the path separator"), ("/tmp/abs", "holds the path separator"),
     ("m" * 300, "at most 128"), ("..", "folder reference")],
)
def test_model_names_are_never_paths(
    tmp_path: Path, store_url: str, name: str, match: str
) -> None:
    labels, good, _ = write_case(tmp_path)
    with pytest.raises(InvalidInputError, match=match):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3, name=name,
                            out=tmp_path / "out")
    assert len(ResultStore(store_url)) == 0 and not (tmp_path / "out").exists()


def test_arguments_refused_before_anything_runs(tmp_path: Path, store_url: str) -> None:
    labels, good, _ = write_case(tmp_path)
    with pytest.raises(InvalidInputError, match="is a file, not a folder"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3, out=good)
    with pytest.raises(ConfigError, match="task_filter is empty"):
        evaluate_embeddings(good, labels, store=store_url, n_splits=3, task_filter=[])
    with pytest.raises(ConfigError, match="n_jobs must be a positive integer"):
        evaluate_embeddings(good, labels, store=store_url, n_jobs=0)
    assert len(ResultStore(store_url)) == 0


def test_config_object_and_keyword_call_agree(tmp_path: Path, store_url: str) -> None:
    from planetbench.embedding.evaluate import EvaluationConfig, run_evaluation

    labels, good, _ = write_case(tmp_path)
    cfg = EvaluationConfig.build(good, labels, name="m", n_splits=3, task_filter=["biomass"])
    assert cfg.model == "m" and cfg.probe.n_splits == 3 and cfg.seed == 0 and cfg.test_size == 0.2
    by_config = run_evaluation(cfg, store_url)
    by_keywords = evaluate_embeddings(good, labels, name="m", n_splits=3, task_filter=["biomass"],
                                      store=f"sqlite:///{tmp_path / 'other.sqlite'}")
    assert by_config.tasks["biomass"].fold_scores == by_keywords.tasks["biomass"].fold_scores
    assert EvaluationConfig.build(good, labels).model == "informative"  # the file's stem
