"""Tasks: specs, readers and the task registry.

Suites register their tasks on import of their module (``planetbench.tasks.cryo`` etc.);
:func:`get_task` imports the built-in suites before looking a name up.
"""

from __future__ import annotations

import importlib

from planetbench.registry import Registry
from planetbench.tasks.bands import Band, get_band
from planetbench.tasks.spec import Task, TaskSpec

TASKS: Registry[Task] = Registry("task", entry_point_group="planetbench.tasks")

#: Built-in suite modules, imported lazily so that ``import planetbench`` stays light.
SUITE_MODULES: tuple[str, ...] = (
    "planetbench.tasks.cryo",
    "planetbench.tasks.demo",
    "planetbench.tasks.mars",
    "planetbench.tasks.presto",
    "planetbench.tasks.demo_mars",
)


def load_builtin_tasks() -> None:
    """Import every built-in suite module that exists, registering its tasks."""
    for module in SUITE_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def get_task(name: str) -> Task:
    """Return the registered task ``name`` (did-you-mean on a miss)."""
    load_builtin_tasks()
    return TASKS.get(name)


def list_tasks(suite: str | None = None) -> list[str]:
    """Ids of registered tasks, optionally only those of ``suite``."""
    load_builtin_tasks()
    return [n for n, t in TASKS.items() if suite is None or t.spec.suite == suite]


__all__ = ["TASKS", "Band", "Task", "TaskSpec", "get_band", "get_task", "list_tasks"]
