"""A generic name → object registry with did-you-mean errors and entry-point plugins."""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from typing import Generic, TypeVar, overload

from planetbench.errors import InvalidInputError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lower-case ids to objects (usually factories), validating names on the way in and out.

    Args:
        kind: what the registry holds, used in messages ("encoder", "task", "probe").
        entry_point_group: Python entry-point group scanned for plugins, e.g. ``planetbench.encoders``.

    Example:
        >>> probes: Registry[int] = Registry("probe")
        >>> probes.register("ridge", 1)
        1
        >>> probes.get("ridge")
        1
        >>> probes.get("rigde")
        Traceback (most recent call last):
        ...
        planetbench.errors.UnknownNameError: unknown probe 'rigde'; did you mean 'ridge'? Available: ridge
    """

    def __init__(self, kind: str, entry_point_group: str | None = None) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self._items: dict[str, T] = {}
        self._plugins_loaded = False

    @overload
    def register(self, name: str, obj: T, *, override: bool = False) -> T: ...

    @overload
    def register(
        self, name: str, obj: None = None, *, override: bool = False
    ) -> Callable[[T], T]: ...

    def register(
        self, name: str, obj: T | None = None, *, override: bool = False
    ) -> T | Callable[[T], T]:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator that does so."""
        if name != name.strip() or not name or name != name.lower():
            raise InvalidInputError(
                f"{self.kind} id {name!r} is not allowed: ids are non-empty, lower-case, "
                "without surrounding spaces"
            )

        def _add(item: T) -> T:
            if name in self._items and not override:
                raise InvalidInputError(
                    f"{self.kind} {name!r} is already registered; pass override=True to replace it"
                )
            self._items[name] = item
            return item

        return _add if obj is None else _add(obj)

    def _load_plugins(self) -> None:
        if self._plugins_loaded or self.entry_point_group is None:
            return
        self._plugins_loaded = True
        for ep in entry_points(group=self.entry_point_group):
            if ep.name not in self._items:
                self._items[ep.name] = ep.load()

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` or raise with near misses and the full list."""
        self._load_plugins()
        try:
            return self._items[name]
        except KeyError:
            pass
        close = difflib.get_close_matches(str(name).lower(), list(self._items), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else "."
        available = ", ".join(sorted(self._items)) or "(none registered)"
        raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} Available: {available}")

    def list(self) -> list[str]:
        """All registered ids, sorted."""
        self._load_plugins()
        return sorted(self._items)

    def items(self) -> builtins.list[tuple[str, T]]:
        """(id, object) pairs, sorted by id."""
        self._load_plugins()
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        self._load_plugins()
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._items)
