"""ResultStore: round trip, transactions, resume keys, export, concurrent writers."""

from __future__ import annotations

import multiprocessing as mp
from pathlib import Path

import pandas as pd
import pytest

from planetbench.errors import InvalidInputError, StoreError
from planetbench.store import Result, ResultStore


def _result(model: str = "m", task: str = "t", score: float = 0.5, seed: int = 0) -> Result:
    return Result(
        model=model,
        task=task,
        protocol="probe",
        metric="r2",
        score=score,
        suite="neuco",
        seed=seed,
        fold_scores=[score, score],
        config={"probe": "ridge", "n_splits": 2},
    )


def test_round_trip(store_url: str) -> None:
    store = ResultStore(store_url)
    store.add(_result(score=0.25))
    df = store.query()
    assert len(df) == 1
    row = df.iloc[0]
    assert row["model"] == "m" and row["score"] == 0.25
    assert row["fold_scores"] == [0.25, 0.25]
    assert row["config"] == {"probe": "ridge", "n_splits": 2}


def test_has_and_run_key_identity(store_url: str) -> None:
    store = ResultStore(store_url)
    a, b = _result(seed=0), _result(seed=1)
    assert a.run_key != b.run_key
    assert a.run_key == _result(seed=0).run_key
    store.add(a)
    assert store.has(a.run_key) and not store.has(b.run_key)


def test_nan_score_is_stored_as_null(store_url: str) -> None:
    store = ResultStore(store_url)
    store.add(_result(score=float("nan")))
    assert pd.isna(store.query().iloc[0]["score"])


def test_failed_batch_leaves_earlier_rows(store_url: str) -> None:
    store = ResultStore(store_url)
    store.add(_result(model="kept"))
    bad = _result(model="")
    with pytest.raises(InvalidInputError, match="non-empty model"):
        store.add_many([_result(model="new"), bad])
    assert store.query()["model"].tolist() == ["kept"]


def test_filter_on_unknown_column(store_url: str) -> None:
    with pytest.raises(InvalidInputError, match="cannot filter results by 'colour'"):
        ResultStore(store_url).query(colour="red")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_export(store_url: str, tmp_path: Path, suffix: str) -> None:
    store = ResultStore(store_url)
    store.add_many([_result(model="a"), _result(model="b")])
    out = store.export(tmp_path / f"runs{suffix}")
    df = pd.read_csv(out) if suffix == ".csv" else pd.read_parquet(out)
    assert sorted(df["model"]) == ["a", "b"]


def test_export_bad_suffix(store_url: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match=r"\.csv or \.parquet"):
        ResultStore(store_url).export(tmp_path / "runs.xlsx")


def test_unopenable_store(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="cannot open results store"):
        len(ResultStore(f"sqlite:///{blocker}/sub/results.sqlite"))


def _writer(url: str, model: str, n: int) -> None:
    store = ResultStore(url)
    for i in range(n):
        store.add(_result(model=model, seed=i))


def test_two_concurrent_writers_lose_nothing(store_url: str) -> None:
    ResultStore(store_url).query()  # create the schema first
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(store_url, m, 40)) for m in ("p1", "p2")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    df = ResultStore(store_url).query()
    assert len(df) == 80
    assert df.groupby("model").size().to_dict() == {"p1": 40, "p2": 40}
