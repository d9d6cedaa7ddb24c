"""Checks of the files our commands write, made before any work starts."""

from __future__ import annotations

from pathlib import Path

from planetbench.errors import InvalidInputError


def check_output_file(path: str | Path, *, option: str = "out", example: str = "") -> Path:
    """Refuse an output path that cannot be written as a file.

    The path must not be an existing folder, and its nearest existing parent must be a folder
    (missing parents are created when the file is written).

    Args:
        path: the file to be written.
        option: how to name the parameter in messages (``--out`` from the CLI).
        example: a file name to suggest inside a folder that was given (``report.html``).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        InvalidInputError: the path is a folder, or a parent of it is a file.
    """
    path = Path(path)
    sep = "=" if option.isidentifier() else " "
    given = f"{option}{sep}{str(path)!r}"
    if path.is_dir():
        hint = f", e.g. {str(path / example)!r}" if example else ""
        raise InvalidInputError(
            f"{given} is a folder; give the path of the file to write inside it{hint}"
        )
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InvalidInputError(
            f"{given} cannot be written: {str(parent)!r} is a file, not a folder; choose "
            "another path"
        )
    return path


__all__ = ["check_output_file"]
