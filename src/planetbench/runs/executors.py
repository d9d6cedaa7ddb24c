"""Executors: where the runs of an experiment execute.

An executor maps a function over items and yields one :class:`Outcome` per item as each finishes.
An exception raised by the function is caught and returned in its outcome, never raised, so the
caller decides whether to go on; closing the iterator early cancels the items not yet finished.

:class:`LocalExecutor` runs items one after another in this process (the CPU or the one GPU is
already fully used by one run). :class:`RayExecutor` runs them as Ray tasks on a Ray cluster (or a
local Ray instance), each with its own CPU/GPU request; ``ray`` is an optional extra
(``pip install 'planetbench[ray]'``). The function and the items go to other processes, so with
Ray they must be picklable by cloudpickle: module-level functions, dataclasses, pydantic models.
"""

from __future__ import annotations

import traceback as tb
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from planetbench.errors import InvalidInputError, require

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Outcome(Generic[R]):
    """What became of one item: its value, or the error that stopped it.

    Attributes:
        index: position of the item in the sequence given to ``map``.
        value: what the function returned (None when it failed).
        error: the exception the function raised, or the executor's own (a lost worker, a
            cancelled task); None on success.
        traceback: the formatted traceback of ``error`` (remote frames included), "" on success.
    """

    index: int
    value: R | None = None
    error: BaseException | None = None
    traceback: str = ""

    @property
    def ok(self) -> bool:
        """True when the function returned normally."""
        return self.error is None


class Executor(Protocol):
    """Runs a function over items and yields each item's :class:`Outcome` when it is ready."""

    #: True when ``fn`` runs in the calling process (it may then be any callable, e.g. a closure
    #: that updates a progress bar); False when it is shipped to other processes (picklable only).
    in_process: bool

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Outcome[R], None, None]:
        """Apply ``fn`` to every item; yield one outcome per item, in completion order.

        Exceptions raised by ``fn`` are returned in the outcomes. Closing the iterator before it
        is exhausted cancels the items not yet finished. Errors of the executor itself (a missing
        dependency, an unreachable cluster) are raised.
        """
        ...


class LocalExecutor:
    """Runs items sequentially in this process, in the order given."""

    in_process = True

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Outcome[R], None, None]:
        """Apply ``fn`` to each item in order, yielding its outcome before starting the next.

        ``KeyboardInterrupt`` and other non-``Exception`` errors are not caught: they stop the
        whole grid, as the user asked.
        """
        for index, item in enumerate(items):
            try:
                value = fn(item)
            except Exception as exc:
                yield Outcome(index=index, error=exc, traceback=tb.format_exc())
            else:
                yield Outcome(index=index, value=value)


def _call(fn: Callable[[T], R], item: T) -> R:
    """The Ray task body: ``fn(item)`` in a worker process."""
    return fn(item)


class RayExecutor:
    """Runs every item as a Ray task and yields outcomes in completion order (``ray.wait``).

    Ray is connected on the first :meth:`map` (``ray.init(address=address)``) unless this process
    is already connected, in which case that connection is used as it is (``address`` is then
    ignored); it is not shut down afterwards. Every task requests ``num_cpus_per_run`` CPUs and
    ``num_gpus_per_run`` GPUs, so Ray runs as many items at once as the cluster has room for and
    places GPU runs on GPU nodes. Ray makes only the granted GPUs visible to a task (none when
    ``num_gpus_per_run`` is 0), and runs use CUDA when they see a GPU, the CPU otherwise. Workers need planetbench installed and the data
    folders at the same paths (a shared filesystem); they never open the results store.

    Args:
        address: Ray cluster address (``"auto"``, ``"ray://head:10001"``, ``"head:6379"``); None
            starts a Ray instance on this machine.
        num_cpus_per_run: CPUs reserved by each task (≥ 0; fractions allowed).
        num_gpus_per_run: GPUs reserved by each task (≥ 0; fractions share a GPU).
    """

    in_process = False

    def __init__(
        self, address: str | None = None, num_cpus_per_run: float = 1, num_gpus_per_run: float = 0
    ) -> None:
        self.address = address
        self.num_cpus_per_run = num_cpus_per_run
        self.num_gpus_per_run = num_gpus_per_run

    def _check(self) -> None:
        for name in ("num_cpus_per_run", "num_gpus_per_run"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise InvalidInputError(
                    f"RayExecutor {name} must be a number ≥ 0 (CPUs/GPUs each run reserves), "
                    f"got {value!r}"
                )

    def _ray(self) -> Any:
        """Import Ray (clear error when it is missing) and connect if not yet connected."""
        self._check()
        ray: Any = require("ray", "ray")
        if not ray.is_initialized():
            ray.init(address=self.address)
        return ray

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Generator[Outcome[R], None, None]:
        """Submit one Ray task per item, then yield each outcome as its task finishes.

        Raises:
            MissingDependencyError: ``ray`` is not installed.
            InvalidInputError: a negative or non-numeric resource request.
        """
        ray = self._ray()
        from ray.exceptions import RayError, RayTaskError

        if not items:
            return
        task = ray.remote(_call).options(
            num_cpus=self.num_cpus_per_run, num_gpus=self.num_gpus_per_run
        )  # Ray's own retries on lost workers stay on; exceptions raised by fn are not retried
        fn_ref = ray.put(fn)  # shipped once, not once per item
        index = {task.remote(fn_ref, item): i for i, item in enumerate(items)}
        pending = list(index)
        try:
            while pending:
                ready, pending = ray.wait(pending, num_returns=1)
                (ref,) = ready
                try:
                    value = ray.get(ref)
                except RayTaskError as exc:  # fn raised in the worker: report its own exception
                    cause = getattr(exc, "cause", None)
                    error = cause if isinstance(cause, BaseException) else exc
                    yield Outcome(index=index[ref], error=error, traceback=str(exc))
                except RayError as exc:  # worker died, node lost, object lost …
                    yield Outcome(index=index[ref], error=exc, traceback=tb.format_exc())
                else:
                    yield Outcome(index=index[ref], value=value)
        finally:
            for ref in pending:  # closed early (stop on failure, Ctrl-C): cancel the rest
                ray.cancel(ref)


__all__ = ["Executor", "LocalExecutor", "Outcome", "RayExecutor"]
