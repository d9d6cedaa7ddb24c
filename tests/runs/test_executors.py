"""Executors: the Outcome contract, failures in a grid, the Ray executor (when ray is installed)."""

from __future__ import annotations

import math
import shutil
import sys
import time
import zipfile
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import pytest

from planetbench.config import ExperimentSpec, validate_config
from planetbench.encoders import ENCODERS
from planetbench.errors import InvalidInputError, MissingDependencyError
from planetbench.runs.executors import LocalExecutor, Outcome, RayExecutor
from planetbench.runs.runner import (
    RunJob,
    RunsFailedError,
    execute_job,
    planned_run_key,
    run_experiment,
)
from planetbench.store import ResultStore
from planetbench.tasks import TASKS
from planetbench.testing import (
    write_tiny_segmentation,
)

T = TypeVar("T")
R = TypeVar("R")


pytestmark = pytest.mark.usefixtures("tiny_dense_registry")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny"),
                                   n_per_split={"train": 4, "val": 2, "test": 2})


def _spec(data: Path, tmp_path: Path, **kw: Any) -> ExperimentSpec:
    values: dict[str, Any] = dict(
        encoders=["tiny-conv"], tasks=["tiny-seg"], protocols=["frozen"], root=str(data),
        input_size=32, epochs=1, batch_size=2, head="linear", latency_repeats=1,
        lrs=[1e-2], fraction_dir=str(tmp_path / "fractions"), num_threads=1,
    )
    values.update(kw)
    return validate_config(ExperimentSpec, values, source="test")  # type: ignore[no-any-return]


def _store(tmp_path: Path) -> ResultStore:
    return ResultStore(f"sqlite:///{tmp_path / 'r.sqlite'}")


def _corrupt_copy(data: Path, to: Path) -> Path:
    """A copy of ``data`` whose first training image is a truncated file: the splits open (so
    the preflight passes) and the run fails when it reads the image."""
    shutil.copytree(data, to)
    first = sorted((to / "train").glob("*.npz"))[0]
    first.write_bytes(first.read_bytes()[:40])
    return to


# ------------------------------------------------------------------------------- LocalExecutor


def test_local_executor_yields_outcomes_in_order_and_catches_failures() -> None:
    calls: list[float] = []

    def fn(x: float) -> float:
        calls.append(x)
        return math.sqrt(x)

    outcomes = list(LocalExecutor().map(fn, [4.0, -1.0, 9.0]))
    assert [o.index for o in outcomes] == [0, 1, 2] and calls == [4.0, -1.0, 9.0]
    assert [o.value for o in outcomes] == [2.0, None, 3.0]
    assert [o.ok for o in outcomes] == [True, False, True]
    assert isinstance(outcomes[1].error, ValueError)
    assert "math domain error" in outcomes[1].traceback and "in fn" in outcomes[1].traceback
    assert outcomes[0].traceback == "" and LocalExecutor.in_process


def test_local_executor_closed_early_starts_nothing_more() -> None:
    calls: list[int] = []
    gen = LocalExecutor().map(calls.append, [1, 2, 3])
    first = next(gen)
    gen.close()
    assert first == Outcome(index=0, value=None) and calls == [1]


def test_local_executor_lets_keyboard_interrupt_through() -> None:
    def fn(x: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        list(LocalExecutor().map(fn, [1]))


# ----------------------------------------------------------------------- failures in the grid


def test_failed_run_is_reported_and_stored_runs_survive_then_resume(
    data: Path, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    corrupt = _corrupt_copy(data, tmp_path / "corrupt")  # tiny-seg2's run fails reading it
    spec = _spec(data, tmp_path, tasks=["tiny-seg", "tiny-seg2"],
                 roots={"tiny-seg2": str(corrupt)})
    lines: list[str] = []
    with pytest.raises(RunsFailedError, match=r"1 of 2 run\(s\) failed \(1 stored") as info:
        run_experiment(spec, store=store, progress=False, print_fn=lines.append)
    message = str(info.value)
    assert "tiny-conv · tiny-seg2 · frozen · f=1 · lr=0.01 · seed=0: BadZipFile" in message
    assert "run the experiment again" in message
    summary = info.value.summary
    assert [r.task for r in summary.results] == ["tiny-seg"] and summary.n_cancelled == 0
    (failure,) = summary.failures
    assert isinstance(failure.error, zipfile.BadZipFile) and "Traceback" in failure.traceback
    assert info.value.__cause__ is failure.error
    assert any(line.startswith("run failed: tiny-conv · tiny-seg2") for line in lines)
    assert list(store.query()["task"]) == ["tiny-seg"]  # stored before the failure, kept
    fixed = _spec(data, tmp_path, tasks=["tiny-seg", "tiny-seg2"])
    again = run_experiment(fixed, store=store, progress=False, print_fn=lines.append)
    assert again.n_skipped == 1 and [r.task for r in again.results] == ["tiny-seg2"]
    assert sorted(store.query()["task"]) == ["tiny-seg", "tiny-seg2"]


def test_fail_fast_stops_the_grid_at_the_first_failure(data: Path, tmp_path: Path) -> None:
    store = _store(tmp_path)
    spec = _spec(data, tmp_path, tasks=["tiny-seg2", "tiny-seg"],
                 roots={"tiny-seg2": str(_corrupt_copy(data, tmp_path / "corrupt"))})
    with pytest.raises(RunsFailedError, match="1 not run: stopped at the first failure") as info:
        run_experiment(spec, store=store, progress=False, print_fn=lambda s: None,
                       fail_fast=True)
    assert info.value.summary.n_cancelled == 1 and info.value.summary.results == []
    assert len(store) == 0


class _PickleExecutor:
    """Ships fn and each item through cloudpickle into a 'worker' whose registries lack them."""

    in_process = False

    def __init__(self, hide: Callable[[], Any]) -> None:
        self.hide = hide

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Outcome[R], None, None]:
        cloudpickle = pytest.importorskip("cloudpickle")
        for index, item in enumerate(items):
            payload = cloudpickle.dumps((fn, item))
            with self.hide():
                worker_fn, worker_item = cloudpickle.loads(payload)
                value = cloudpickle.loads(cloudpickle.dumps(worker_fn(worker_item)))
            yield Outcome(index=index, value=value)


def test_out_of_process_executor_gets_a_picklable_job_that_needs_no_registry(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from contextlib import contextmanager

    @contextmanager
    def hide() -> Iterator[None]:  # a worker process: the tiny names are not registered there
        with monkeypatch.context() as m:
            for name in ("tiny-conv", "tiny-vit"):
                m.delitem(ENCODERS._items, name)
            m.delitem(TASKS._items, "tiny-seg")
            yield

    store = _store(tmp_path)
    spec = _spec(data, tmp_path, encoders=["tiny-conv", "tiny-vit"])
    summary = run_experiment(spec, store=store, executor=_PickleExecutor(hide), progress=True,
                             print_fn=lambda s: None)
    assert sorted(r.model for r in summary.results) == ["tiny-conv", "tiny-vit"]
    assert set(store.query()["run_key"]) == {planned_run_key(r) for r in spec.runs()}
    with hide(), pytest.raises(KeyError, match="unknown task 'tiny-seg'"):
        RunJob.resolve(spec.runs()[0])  # the job carries what the registry no longer has
    assert execute_job.__module__ == "planetbench.runs.runner"  # top level: picklable by reference


# -------------------------------------------------------------------------------- RayExecutor


def test_ray_executor_without_ray_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    with pytest.raises(MissingDependencyError, match=r"pip install 'planetbench\[ray\]'"):
        next(RayExecutor().map(math.sqrt, [4.0]))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"num_cpus_per_run": -1}, "num_cpus_per_run must be a number ≥ 0.*got -1"),
     ({"num_gpus_per_run": "one"}, "num_gpus_per_run must be a number ≥ 0.*got 'one'")],
)
def test_ray_executor_refuses_bad_resources(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        next(RayExecutor(**kwargs).map(math.sqrt, [4.0]))


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow  # starts Ray worker processes (each imports torch)
def test_ray_executor_reports_worker_exceptions_in_completion_order(ray_local: Any) -> None:
    outcomes = list(RayExecutor(num_cpus_per_run=0.5).map(math.sqrt, [4.0, -1.0]))
    by_index = {o.index: o for o in outcomes}
    assert sorted(by_index) == [0, 1] and by_index[0].value == 2.0
    assert isinstance(by_index[1].error, ValueError) and "math domain error" in str(by_index[1].error)
    assert "math domain error" in by_index[1].traceback


@pytest.mark.slow  # starts Ray worker processes (each imports torch)
def test_ray_executor_runs_a_grid_stores_it_and_resume_skips_it(
    ray_local: Any, data: Path, tmp_path: Path
) -> None:
    store = _store(tmp_path)
    spec = _spec(data, tmp_path, encoders=["tiny-conv", "tiny-vit"])
    t0 = time.perf_counter()
    summary = run_experiment(spec, store=store, executor=RayExecutor(), progress=False,
                             print_fn=lambda s: None)
    wall_s = time.perf_counter() - t0
    print(f"ray grid of 2 tiny runs: {wall_s:.2f} s")
    assert summary.n_total == 2 and len(summary.results) == 2 and summary.failures == []
    df = store.query()
    assert sorted(df["model"]) == ["tiny-conv", "tiny-vit"]
    assert set(df["run_key"]) == {planned_run_key(r) for r in spec.runs()}
    assert all(0.0 <= s <= 1.0 for s in df["score"])
    assert ray_local.is_initialized()  # the connection made by the fixture was reused
    again = run_experiment(spec, store=store, executor=RayExecutor(), progress=False,
                           print_fn=lambda s: None)
    assert again.n_skipped == 2 and again.results == [] and len(store) == 2
