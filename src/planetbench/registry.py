"""A generic name → object registry with did-you-mean errors, entry-point plugins and aliases.

Every lookup of a user-given name in planetbench goes through :func:`did_you_mean`, so near
misses are suggested the same way everywhere.
"""

from __future__ import annotations

import builtins
import difflib
import importlib
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Generic, NoReturn, TypeVar, overload

from planetbench.errors import InvalidInputError, UnknownNameError

T = TypeVar("T")


def close_matches(name: str, choices: Iterable[str], *, n: int = 3) -> list[str]:
    """The choices closest to ``name`` (case-insensitive), best first; at most ``n``.

    Example:
        >>> close_matches("rigde", ["ridge", "logistic", "neuco"])
        ['ridge']
        >>> close_matches("b04", ["B04", "B08"], n=1)
        ['B04']
    """
    by_lower: dict[str, str] = {}
    for choice in choices:
        by_lower.setdefault(str(choice).lower(), str(choice))
    found = difflib.get_close_matches(str(name).lower(), list(by_lower), n=n, cutoff=0.6)
    return [by_lower[f] for f in found]


def did_you_mean(name: str, choices: Iterable[str], *, n: int = 3) -> str:
    """The hint ``"did you mean 'a' or 'b'?"`` for an unknown ``name``, '' when nothing is close.

    Example:
        >>> did_you_mean("dofa-bse", ["dofa-base", "dofa-large", "vit"])
        "did you mean 'dofa-base' or 'dofa-large'?"
        >>> did_you_mean("xyz", ["dofa-base"])
        ''
    """
    close = close_matches(name, choices, n=n)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


@dataclass(frozen=True)
class Alias:
    """A deprecated id that still resolves to the id it was renamed to.

    Attributes:
        old: the deprecated id.
        new: the id it was renamed to.
        note: why or when it was renamed ('' if nothing to add).
    """

    old: str
    new: str
    note: str = ""


class Registry(Generic[T]):
    """Maps lower-case ids to objects (usually factories), validating names on the way in and out.

    Args:
        kind: what the registry holds, used in messages ("encoder", "task", "probe").
        entry_point_group: Python entry-point group scanned for plugins, e.g. ``planetbench.encoders``.
            A plugin registers an object under the entry point's name; a plugin that fails to
            load, or whose name is already taken, is skipped with a ``RuntimeWarning``.
        modules: dotted names of modules that register their objects here when imported,
            imported on the first lookup (before the plugins): built-in entries that build on the
            module defining the registry, without an import cycle.

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
        >>> probes.list()
        ['ridge']
    """

    def __init__(
        self, kind: str, entry_point_group: str | None = None, *, modules: Iterable[str] = ()
    ) -> None:
        self.kind = kind
        self.entry_point_group = entry_point_group
        self.modules = tuple(modules)
        self._items: dict[str, T] = {}
        self._aliases: dict[str, Alias] = {}
        self._warned: set[str] = set()
        self._plugins_loaded = False

    def _check_id(self, name: str) -> None:
        if not isinstance(name, str) or not name or name != name.strip() or name != name.lower():
            raise InvalidInputError(
                f"{self.kind} id {name!r} is not allowed: ids are non-empty, lower-case, "
                "without surrounding spaces"
            )

    @overload
    def register(self, name: str, obj: T, *, override: bool = False) -> T: ...

    @overload
    def register(
        self, name: str, obj: None = None, *, override: bool = False
    ) -> Callable[[T], T]: ...

    def register(
        self, name: str, obj: T | None = None, *, override: bool = False
    ) -> T | Callable[[T], T]:
        """Register ``obj`` under ``name``; without ``obj``, return a decorator that does so.

        Raises:
            InvalidInputError: the id is not lower-case, is already registered (and
                ``override`` is False), or is a deprecated alias.
        """
        self._check_id(name)

        def _add(item: T) -> T:
            if name in self._aliases:
                raise InvalidInputError(
                    f"{self.kind} id {name!r} is a deprecated alias of "
                    f"{self._aliases[name].new!r}; choose another id"
                )
            if name in self._items and not override:
                raise InvalidInputError(
                    f"{self.kind} {name!r} is already registered; pass override=True to replace it"
                )
            self._items[name] = item
            return item

        return _add if obj is None else _add(obj)

    def unregister(self, name: str) -> T:
        """Remove ``name`` and return what was registered under it (did-you-mean on a miss)."""
        self._load_plugins()
        if name not in self._items:
            self._raise_unknown(name)
        return self._items.pop(name)

    def deprecate(self, old: str, new: str, *, note: str = "") -> None:
        """Keep the renamed id ``old`` working: :meth:`get` warns once and returns ``new``'s entry.

        Args:
            old: the id that was renamed (it must not be registered any more).
            new: the id it was renamed to.
            note: why or when, added to the warning.

        Raises:
            InvalidInputError: ``old`` is registered, or an alias already.
        """
        self._check_id(old)
        self._check_id(new)
        if old in self._items:
            raise InvalidInputError(
                f"{self.kind} {old!r} is registered; unregister it before making it an alias "
                f"of {new!r}"
            )
        if old in self._aliases:
            raise InvalidInputError(
                f"{self.kind} {old!r} is already an alias of {self._aliases[old].new!r}"
            )
        self._aliases[old] = Alias(old, new, note)

    def aliases(self) -> dict[str, str]:
        """Deprecated ids and the ids they now resolve to."""
        return {a.old: a.new for a in self._aliases.values()}

    def resolve(self, name: str) -> str:
        """The registered id ``name`` stands for: itself, or the new id of a deprecated alias.

        A deprecated alias warns (``FutureWarning``) the first time it is resolved.

        Raises:
            UnknownNameError: neither registered nor an alias (with did-you-mean).
        """
        self._load_plugins()
        if name in self._items:
            return name
        alias = self._aliases.get(name)
        if alias is None:
            self._raise_unknown(name)
        if alias.new not in self._items:
            raise UnknownNameError(
                f"{self.kind} {name!r} was renamed {alias.new!r}, which is not registered"
            )
        if name not in self._warned:
            self._warned.add(name)
            note = f" ({alias.note})" if alias.note else ""
            warnings.warn(
                f"{self.kind} {name!r} was renamed {alias.new!r}{note}; use {alias.new!r}",
                FutureWarning,
                stacklevel=3,
            )
        return alias.new

    def get(self, name: str) -> T:
        """Return the object registered under ``name`` or raise with near misses and the full list.

        A deprecated alias (:meth:`deprecate`) warns once and returns its new id's object.

        Raises:
            UnknownNameError: ``name`` is not registered (the message suggests near misses and
                lists every id).
        """
        self._load_plugins()
        if name in self._items:
            return self._items[name]
        return self._items[self.resolve(name)]

    def _raise_unknown(self, name: str) -> NoReturn:
        known = [*self._items, *self._aliases]
        hint = did_you_mean(str(name), known)
        available = ", ".join(sorted(self._items)) or "(none registered)"
        raise UnknownNameError(
            f"unknown {self.kind} {name!r}{'; ' + hint if hint else '.'} Available: {available}"
        )

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for module in self.modules:  # built-in entries that register themselves on import
            importlib.import_module(module)
        if self.entry_point_group is None:
            return
        for ep in entry_points(group=self.entry_point_group):
            where = f"plugin {ep.name!r} ({ep.value}) of entry-point group {ep.group!r}"
            if ep.name in self._items or ep.name in self._aliases:
                warnings.warn(
                    f"{where} is skipped: {self.kind} {ep.name!r} is already registered",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            try:
                self._check_id(ep.name)
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not break every other lookup
                warnings.warn(
                    f"{where} is skipped: it failed to load ({type(exc).__name__}: {exc})",
                    RuntimeWarning,
                    stacklevel=3,
                )
                continue
            self._items[ep.name] = obj

    def list(self) -> list[str]:
        """All registered ids, sorted (deprecated aliases are not listed)."""
        self._load_plugins()
        return sorted(self._items)

    def items(self) -> builtins.list[tuple[str, T]]:
        """(id, object) pairs, sorted by id."""
        self._load_plugins()
        return sorted(self._items.items())

    def __contains__(self, name: object) -> bool:
        """True for registered ids and deprecated aliases (both can be looked up)."""
        self._load_plugins()
        return name in self._items or name in self._aliases

    def __iter__(self) -> Iterator[str]:
        return iter(self.list())

    def __len__(self) -> int:
        self._load_plugins()
        return len(self._items)


__all__ = ["Alias", "Registry", "close_matches", "did_you_mean"]
