"""Concurrent writers on SQLite and PostgreSQL: first use of a new store, identical batches.

Every case starts its processes on a barrier against a store that does not exist yet, so the
schema creation races too. PostgreSQL cases run where ``$PLANETBENCH_TEST_POSTGRES_URL`` names a
server (CI starts one) and skip otherwise.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
from typing import Any

import pytest

from planetbench.store import Result, ResultStore
from planetbench.store.migrations import HEAD

# fork: the children start in milliseconds (no re-import); no engine exists before the fork.
_CTX = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
_JOIN_S = 180


def _result(model: str, i: int) -> Result:
    return Result(
        model=model, task=f"task-{i % 7}", protocol="probe", metric="r2", score=i / 1000,
        suite="test", seed=i, fold_scores=[i / 1000], config={"probe": "ridge", "i": i},
    )


def _one_by_one(url: str, model: str, n: int, barrier: Any, out: Any) -> None:
    """Open the store after the barrier and store ``n`` distinct runs, one call each (a probe
    stores one row per task)."""
    barrier.wait(timeout=_JOIN_S)
    try:
        store = ResultStore(url)
        summaries = [store.add(_result(model, i)) for i in range(n)]
        out.put((model, sum(s.n_new for s in summaries), sum(s.n_present for s in summaries)))
    except Exception as exc:  # report it to the test instead of dying silently
        out.put((model, "error", repr(exc)))


def _one_batch(url: str, name: str, n: int, barrier: Any, out: Any) -> None:
    """Open the store after the barrier and store one batch of ``n`` runs (an import)."""
    barrier.wait(timeout=_JOIN_S)
    try:
        summary = ResultStore(url).add_many([_result("same-model", i) for i in range(n)])
        out.put((name, summary.n_new, summary.n_present))
    except Exception as exc:
        out.put((name, "error", repr(exc)))


def _run(target: Any, args: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    barrier, out = _CTX.Barrier(len(args)), _CTX.Queue()
    procs = [_CTX.Process(target=target, args=(*a, barrier, out)) for a in args]
    for p in procs:
        p.start()
    reports = []
    for _ in procs:
        try:
            reports.append(out.get(timeout=_JOIN_S))
        except queue.Empty:
            break
    for p in procs:
        p.join(timeout=_JOIN_S)
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0] * len(procs), reports
    assert all(r[1] != "error" for r in reports), reports
    assert len(reports) == len(procs)
    return reports


def test_concurrent_first_use_stores_every_row(backend_url: str) -> None:
    """4 processes open one new store at once and each stores 25 distinct runs: all 100 land."""
    n = 25
    reports = _run(_one_by_one, [(backend_url, f"model-{k}", n) for k in range(4)])
    assert sorted(r[1:] for r in reports) == [(n, 0)] * 4
    store = ResultStore(backend_url)
    df = store.query()
    assert len(df) == 4 * n
    assert df.groupby("model").size().to_dict() == {f"model-{k}": n for k in range(4)}
    assert df["run_key"].is_unique
    assert store.schema_revision() == HEAD


@pytest.mark.parametrize("n_writers", [2, 4])
def test_concurrent_identical_batches_store_each_row_once(
    backend_url: str, n_writers: int
) -> None:
    """2 or 4 processes store the same 2,000-row batch at once: 2,000 rows, each once, and the
    writers' reports add up (one writer stored each row, the others found it present)."""
    n = 2000
    reports = _run(_one_batch, [(backend_url, f"writer-{k}", n) for k in range(n_writers)])
    assert sum(r[1] for r in reports) == n
    assert sum(r[2] for r in reports) == (n_writers - 1) * n
    df = ResultStore(backend_url).query()
    assert len(df) == n
    assert set(df["run_key"]) == {_result("same-model", i).run_key for i in range(n)}
    assert sorted(df["seed"]) == list(range(n))


def _open_and_count(url: str, name: str, _n: int, barrier: Any, out: Any) -> None:
    """Open an old store after the barrier (which migrates it) and report what this process saw."""
    import warnings

    barrier.wait(timeout=_JOIN_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            store = ResultStore(url)
            n_rows = len(store)
        upgrade = store.upgrade
        out.put((name, n_rows, upgrade.n_moved_rows if upgrade is not None else -1))
    except Exception as exc:
        out.put((name, "error", repr(exc)))


def test_concurrent_opens_of_a_v01_store_migrate_it_once(backend_url: str) -> None:
    """4 processes open one 0.1 store with duplicates at once: one upgrades it, all see it."""
    from tests.store.test_store_migrations import _v01_row, _write_v01_store

    rows = [_v01_row("a", 0, 0.5), _v01_row("a", 0, 0.5), _v01_row("b", 0, 0.1),
            _v01_row("a", 0, 0.5)]
    _write_v01_store(backend_url, rows)
    reports = _run(_open_and_count, [(backend_url, f"opener-{k}", 0) for k in range(4)])
    assert [r[1] for r in reports] == [2] * 4
    assert sorted(r[2] for r in reports) == [-1, -1, -1, 2]  # one process moved 2 duplicates
    assert ResultStore(backend_url).n_duplicates_kept() == 2
