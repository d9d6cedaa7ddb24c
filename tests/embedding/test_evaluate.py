"""End-to-end embedding evaluation: probe, Q, store rows, summary.json, resume, plots."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.evaluate import evaluate_embeddings
from planetbench.errors import ConfigError, EmbeddingFileError, LabelFileError, UnknownNameError
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
        "ev._PARALLEL_MIN_WORK = 0\n"
        f"s = ev.evaluate_embeddings({str(good)!r}, {str(labels)!r}, "
        f"store={'sqlite:///' + str(other)!r}, n_splits=3)\n"
        "assert 'torch' not in sys.modules\n"
        "import os, numpy as np\n"
        "X = np.zeros((10, 4))\n"
        "plan = ev._resolve_jobs([(X, X[:, 0], 'regression', {'n_splits': 3})] * 2, None)\n"
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
