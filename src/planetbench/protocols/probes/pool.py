"""Running the probes of several tasks: inline, or in worker processes when that pays.

``planetbench probe`` (:mod:`planetbench.embedding.evaluate`) and the challenge's scoring workers
(:mod:`planetbench.challenge.scoring`) probe every task of a submission at once. Worker processes
only pay off for large work and are only safe to ``fork`` while torch is not loaded; the scores
are the same either way (every probe draws its splits from its own seed).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from planetbench.errors import ConfigError
from planetbench.protocols.probes.base import ProbeResult

ProbeJob = tuple[np.ndarray, np.ndarray, str, dict[str, Any]]
"""One task's probe: (embeddings X, targets y, task kind, :func:`run_probe` options)."""

#: Below this much work in all (sum over tasks of rows × dims × splits) worker processes cost
#: more than they save.
PARALLEL_MIN_WORK = 20_000_000


def probe_one(job: ProbeJob) -> tuple[ProbeResult, float]:
    """Run one task's probe (in a worker process or inline); returns (result, seconds)."""
    from planetbench.protocols.probes.base import run_probe

    X, y, kind, options = job
    t0 = time.perf_counter()
    result = run_probe(X, y, kind=kind, **options)
    return result, time.perf_counter() - t0


def plan_workers(jobs: list[ProbeJob], n_jobs: int | None) -> tuple[int, str | None]:
    """How to run ``jobs``: (number of worker processes, start method or None for inline).

    Args:
        jobs: the probes to run.
        n_jobs: worker processes wanted; None = one per task and core when the work reaches
            :data:`PARALLEL_MIN_WORK` and ``fork`` is safe (torch not loaded), else inline.

    Raises:
        ConfigError: ``n_jobs`` is not a positive integer or None.
    """
    import multiprocessing
    import os
    import sys

    if n_jobs is not None and (isinstance(n_jobs, bool) or not isinstance(n_jobs, int)
                               or n_jobs < 1):
        raise ConfigError(f"n_jobs must be a positive integer or None; got {n_jobs!r}")
    methods = multiprocessing.get_all_start_methods()
    safe_fork = "fork" in methods and "torch" not in sys.modules
    if n_jobs is None:
        work = sum(X.shape[0] * X.shape[1] * int(o["n_splits"]) for X, _, _, o in jobs)
        if not safe_fork or work < PARALLEL_MIN_WORK:
            return 1, None
        n_jobs = os.cpu_count() or 1
    n = min(n_jobs, len(jobs))
    if n <= 1:
        return 1, None
    return n, "fork" if safe_fork else "spawn"


@contextlib.contextmanager
def probe_pool(
    jobs: list[ProbeJob], n_jobs: int | None
) -> Iterator[Iterator[tuple[ProbeResult, float]]]:
    """Yield the (result, seconds) of every job in job order, computed inline or by a pool of
    worker processes (see :func:`plan_workers`); each is yielded as soon as it and all earlier
    ones are done."""
    n, method = plan_workers(jobs, n_jobs)
    if method is None:
        yield (probe_one(job) for job in jobs)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(n, mp_context=multiprocessing.get_context(method)) as pool:
        yield pool.map(probe_one, jobs)


__all__ = ["PARALLEL_MIN_WORK", "ProbeJob", "plan_workers", "probe_one", "probe_pool"]
