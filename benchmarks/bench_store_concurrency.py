"""Benchmark: rows expected vs found when processes write one new store at once.

Scenarios (each on a new, empty store, all processes released together by a barrier):
4 distinct writers storing 25 runs each one call at a time (first use of the store; 100 rows
expected); 2 and 4 writers storing the same 2,000-row batch (an import run twice or four times;
2,000 expected); 4 writers storing the same 4 runs one at a time (identical probes; 4 expected).
Runs on SQLite, and on PostgreSQL when ``$PLANETBENCH_TEST_POSTGRES_URL`` names a server
(``source .ci/postgres`` starts a throwaway one). Run with
``python benchmarks/bench_store_concurrency.py``.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from planetbench.store import Result, ResultStore

_CTX = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _result(model: str, i: int) -> Result:
    return Result(model=model, task=f"task-{i % 7}", protocol="probe", metric="r2",
                  score=i / 1000, suite="bench", seed=i, config={"i": i})


def _writer(url: str, model: str, n: int, one_by_one: bool, barrier: Any, out: Any) -> None:
    barrier.wait()
    try:
        store = ResultStore(url)
        results = [_result(model, i) for i in range(n)]
        if one_by_one:
            new = sum(store.add(r).n_new for r in results)
        else:
            new = store.add_many(results).n_new
        out.put(("ok", new))
    except Exception as exc:
        out.put(("error", repr(exc)))


def _scenario(url: str, models: list[str], n: int, one_by_one: bool) -> tuple[int, int, int, float]:
    """Run one scenario; return (rows expected, rows found, failed writers, seconds)."""
    barrier, out = _CTX.Barrier(len(models)), _CTX.Queue()
    procs = [_CTX.Process(target=_writer, args=(url, m, n, one_by_one, barrier, out))
             for m in models]
    start = time.perf_counter()
    for p in procs:
        p.start()
    reports = [out.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=300)
    seconds = time.perf_counter() - start
    expected = len(set(models)) * n
    failed = sum(r[0] != "ok" for r in reports) + sum(p.exitcode != 0 for p in procs)
    return expected, len(ResultStore(url)), failed, seconds


def _postgres_database(base: str) -> tuple[str, Any]:
    import sqlalchemy as sa

    server = sa.engine.make_url(base)
    name = f"pb_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()

    return server.set(database=name).render_as_string(hide_password=False), drop


SCENARIOS: list[tuple[str, list[str], int, bool]] = [
    ("first use, 4 distinct writers x 25 runs", [f"m{k}" for k in range(4)], 25, True),
    ("2 identical 2,000-row batches", ["same"] * 2, 2000, False),
    ("4 identical 2,000-row batches", ["same"] * 4, 2000, False),
    ("4 identical probes x 4 runs", ["same"] * 4, 4, True),
]


def main() -> None:
    """Print rows expected vs found for every scenario and back-end."""
    backends = ["sqlite"]
    pg = os.environ.get("PLANETBENCH_TEST_POSTGRES_URL")
    if pg:
        backends.append("postgresql")
    else:
        print("PostgreSQL: skipped ($PLANETBENCH_TEST_POSTGRES_URL is unset)")
    print(f"{'back-end':<11} {'scenario':<42} {'expected':>8} {'found':>6} {'failed':>6} {'s':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            for i, (label, models, n, one_by_one) in enumerate(SCENARIOS):
                drop = None
                if backend == "sqlite":
                    url = f"sqlite:///{Path(tmp) / f'store-{i}.sqlite'}"
                else:
                    url, drop = _postgres_database(str(pg))
                expected, found, failed, seconds = _scenario(url, models, n, one_by_one)
                print(f"{backend:<11} {label:<42} {expected:>8} {found:>6} {failed:>6} "
                      f"{seconds:>6.1f}")
                if drop is not None:
                    drop()


if __name__ == "__main__":
    main()
