"""Executors: where the runs of an experiment execute.

An executor maps a function over runs and yields results as they finish. :class:`LocalExecutor`
runs them one after another in this process (the CPU or the one GPU is already fully used by one
run). A cluster executor (Ray) implements the same :class:`Executor` protocol; it is not provided
because ``ray`` is an optional extra (``pip install 'planetbench[ray]'``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Executor(Protocol):
    """Runs ``fn`` over ``items`` and yields each result when it is ready (any order allowed)."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Apply ``fn`` to every item; yield results as they finish."""
        ...


class LocalExecutor:
    """Runs items sequentially in this process, in order; a failing run raises immediately."""

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> Iterator[R]:
        """Apply ``fn`` to each item in order, yielding each result before starting the next."""
        for item in items:
            yield fn(item)


__all__ = ["Executor", "LocalExecutor"]
