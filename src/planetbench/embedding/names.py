"""Names that become file or folder names (model, NeuCo-Bench phase, task) and output folders.

A name is never a path: :func:`check_name` refuses separators, ``.``/``..``, control characters
and names longer than :data:`MAX_NAME_LENGTH` before any work starts, and
:func:`output_path` refuses a destination that would leave its output folder (a symlink, say).
The length limit suits both file systems (255 bytes per name) and the results store, whose
``model`` and ``task`` columns hold 256 characters on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

from planetbench.errors import InvalidInputError

#: Longest name accepted, in characters (and at most 255 bytes in UTF-8).
MAX_NAME_LENGTH = 128
_MAX_BYTES = 255


def check_name(value: object, *, what: str) -> str:
    """``value`` when it can name one file or folder; else an error naming ``what``.

    Args:
        value: the name given.
        what: how the user gave it, e.g. ``"--model"`` or ``"task name of 'x__regr.csv'"``.

    Returns:
        The name, unchanged.

    Raises:
        InvalidInputError: not a string, empty, ``.`` or ``..``, holding ``/``, ``\\``, a NUL or
            another control character, or longer than :data:`MAX_NAME_LENGTH` characters.

    Example:
        >>> check_name("dofa-base_v2", what="--model")
        'dofa-base_v2'
    """
    if not isinstance(value, str):
        raise InvalidInputError(f"{what} must be a text name; got {value!r}")
    hint = "; use letters, digits, '-', '_' and '.' (it names a folder of the output)"
    if not value.strip():
        raise InvalidInputError(f"{what} must be a non-empty name; got {value!r}")
    if value in (".", ".."):
        raise InvalidInputError(f"{what} {value!r} is not a name but a folder reference{hint}")
    separators = {"/", "\\", os.sep, *([os.altsep] if os.altsep else [])}
    found = sorted(c for c in separators if c in value)
    if found:
        raise InvalidInputError(
            f"{what} {value!r} holds the path separator(s) {' '.join(found)}: a name is never a "
            f"path{hint}"
        )
    control = sorted({c for c in value if unicodedata.category(c) in ("Cc", "Cf")})
    if control:
        raise InvalidInputError(
            f"{what} {value!r} holds control character(s) {control!r}{hint}"
        )
    if len(value) > MAX_NAME_LENGTH or len(value.encode()) > _MAX_BYTES:
        raise InvalidInputError(
            f"{what} is {len(value)} characters long ({value[:40]!r}…); at most "
            f"{MAX_NAME_LENGTH} are allowed (and {_MAX_BYTES} bytes in UTF-8): shorten it"
        )
    return value


def check_output_folder(folder: str | Path, *, flag: str) -> Path:
    """``folder`` when it is, or can become, a writable folder; checked before any work starts.

    Args:
        folder: the output folder (created later, when the outputs are written).
        flag: the option that set it, named in messages (``"--out"``).

    Raises:
        InvalidInputError: it (or a parent) is a file, or the nearest existing parent is not
            writable.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InvalidInputError(
            f"{flag} {str(folder)!r} is a file, not a folder; pass a folder (it is created when "
            "missing)"
        )
    parent = folder
    while not parent.exists():
        if parent.parent == parent:
            break
        parent = parent.parent
    if parent.exists() and not parent.is_dir():
        raise InvalidInputError(
            f"{flag} {str(folder)!r} cannot be created: {str(parent)!r} is a file; pass a folder"
        )
    if parent.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise InvalidInputError(
            f"{flag} {str(folder)!r} cannot be written: {str(parent)!r} is not writable; pass "
            "another folder"
        )
    return folder


def output_path(folder: str | Path, *names: str) -> Path:
    """``folder / names…``, refused when it resolves outside ``folder`` (through a symlink).

    Each of ``names`` must already have passed :func:`check_name`.

    Raises:
        InvalidInputError: the path leaves ``folder``.
    """
    base = Path(folder)
    path = base.joinpath(*names)
    if not path.resolve().is_relative_to(base.resolve()):
        raise InvalidInputError(
            f"output {str(path)!r} resolves to {str(path.resolve())!r}, outside the output "
            f"folder {str(base)!r} (a symbolic link?); remove the link or choose another folder"
        )
    return path


__all__ = ["MAX_NAME_LENGTH", "check_name", "check_output_folder", "output_path"]
