"""The formats ``planetbench import`` understands: a registry, detection, and reading by name.

A format is a :class:`TableFormat`: how to recognise a path (a CSV file by its columns, or a
folder by its layout) and how to read it into the long schema
(:mod:`planetbench.store.importers.schema`). Adding a format means writing one module with a
reader and a ``FORMAT`` and adding that module to :data:`FORMAT_MODULES` (or calling
:func:`register_format` from a plugin).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.registry import Registry
from planetbench.store.importers.reading import read_header, require_file
from planetbench.store.importers.schema import REQUIRED_COLUMNS

#: The ``--format`` value that picks the format from the path and the columns.
AUTO = "auto"


@dataclass(frozen=True)
class TableFormat:
    """One published-table format.

    Attributes:
        name: the ``--format`` value, lower-case and hyphenated (``geobench2``).
        summary: what the format is, for help texts ("the Cryo-Bench table").
        read: reads a path of this format into the validated long schema.
        recognises_file: whether a CSV with these column names is of this format (its path is
            given too, for formats known by file name).
        recognises_folder: whether a folder is of this format (None: the format has no folders).
        folder_hint: the folder this format expects, for the message when no format recognises
            a folder ("a GEO-Bench-2 leaderboard folder (…)").
        priority: detection order, lowest first; the long schema is the fallback (last).
    """

    name: str
    summary: str
    read: Callable[[Path], pd.DataFrame]
    recognises_file: Callable[[Path, frozenset[str]], bool]
    recognises_folder: Callable[[Path], bool] | None = None
    folder_hint: str = ""
    priority: int = 50


#: Every registered format, by name; the built-ins are registered by
#: :func:`load_builtin_formats` (every function of this module calls it first).
FORMATS: Registry[TableFormat] = Registry("import format")

#: Modules of the built-in formats; each defines ``FORMAT``, a :class:`TableFormat`.
FORMAT_MODULES: tuple[str, ...] = (
    "planetbench.store.importers.long",
    "planetbench.store.importers.geobench2",
    "planetbench.store.importers.geobench_v1",
    "planetbench.store.importers.cryobench",
    "planetbench.store.importers.marsbench",
    "planetbench.store.importers.neuco",
)


def register_format(fmt: TableFormat) -> TableFormat:
    """Register ``fmt`` under its name (``auto`` is reserved) and return it."""
    if fmt.name == AUTO:
        raise InvalidInputError(f"format name {AUTO!r} is reserved for detection; pick another")
    return FORMATS.register(fmt.name, fmt)


def load_builtin_formats() -> None:
    """Register the ``FORMAT`` of every module in :data:`FORMAT_MODULES` not registered yet."""
    for module in FORMAT_MODULES:
        fmt: TableFormat = importlib.import_module(module).FORMAT
        if fmt.name not in FORMATS:
            register_format(fmt)


def format_names() -> tuple[str, ...]:
    """``auto`` followed by every registered format, in detection order."""
    return (AUTO, *(f.name for f in _in_detection_order()))


def _in_detection_order() -> list[TableFormat]:
    load_builtin_formats()
    return sorted((f for _, f in FORMATS.items()), key=lambda f: (f.priority, f.name))


def get_format(name: str, *, option: str = "format") -> TableFormat:
    """The registered format ``name``.

    Args:
        name: a registered format's name.
        option: how to name the parameter in the message (``--format`` from the CLI).

    Raises:
        InvalidInputError: unknown name; the message has the registry's near misses and list.
    """
    load_builtin_formats()
    try:
        return FORMATS.get(name)
    except UnknownNameError as exc:
        raise InvalidInputError(
            f"{option} {name!r} is unknown: {exc} (or {AUTO}: detect it from the path and columns)"
        ) from exc


def detect_format(path: Path) -> str:
    """The name of the format of ``path``, from the folder layout or the CSV's columns.

    Raises:
        InvalidInputError: the path does not exist, is unreadable, or no format recognises it.
    """
    formats = _in_detection_order()
    if path.is_dir():
        for fmt in formats:
            if fmt.recognises_folder is not None and fmt.recognises_folder(path):
                return fmt.name
        hints = " nor ".join(f.folder_hint for f in formats if f.folder_hint)
        raise InvalidInputError(
            f"{str(path)!r} is a folder but not {hints}; give a CSV file or choose --format"
        )
    require_file(path)
    header = read_header(path)
    for fmt in formats:
        if fmt.recognises_file(path, header):
            return fmt.name
    raise InvalidInputError(
        f"cannot tell the format of {str(path)!r} from its columns {sorted(header)}; use the long "
        f"schema (columns {list(REQUIRED_COLUMNS)}) or choose one of {list(format_names()[1:])}"
    )


def detect_and_read(path: str | Path, *, format: str = AUTO) -> pd.DataFrame:
    """Read published results in any registered format into the long schema.

    Args:
        path: a long-schema CSV, a GEO-Bench-2 leaderboard folder (or one of its submission
            folders / CSVs), a GEO-Bench v1 results CSV, the Cryo-Bench table, or any other
            registered format's file or folder.
        format: a registered format's name, or ``auto`` to decide by path and columns.

    Returns:
        The validated long table.

    Raises:
        InvalidInputError: unknown format (with the near misses), missing file, or a file the
            chosen reader rejects.
    """
    path = Path(path)
    fmt = get_format(detect_format(path) if format == AUTO else format)
    return fmt.read(path)


__all__ = [
    "AUTO",
    "FORMATS",
    "FORMAT_MODULES",
    "TableFormat",
    "detect_and_read",
    "detect_format",
    "format_names",
    "get_format",
    "load_builtin_formats",
    "register_format",
]
