"""The Typer application object and the error handling shared by every command module."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from planetbench.errors import PlanetbenchError

app = typer.Typer(
    name="planetbench",
    help="Benchmark geospatial and planetary foundation models honestly, quickly, reproducibly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console(emoji=False)  # ":x:" in user data stays text
err_console = Console(stderr=True, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])

#: Exit code for invalid input (bad files, names, options).
EXIT_INVALID = 2


def handle_errors(fn: F) -> F:
    """Turn planetbench errors into a one-line message on stderr and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PlanetbenchError as exc:
            err_console.print(
                f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True
            )
            sys.exit(EXIT_INVALID)

    return wrapper  # type: ignore[return-value]


StoreOption = typer.Option(
    None,
    "--store",
    help="Results store URL (sqlite:///file.sqlite, postgresql+psycopg://…) or SQLite file path. "
    "Default: $PLANETBENCH_STORE or a SQLite file in the user data directory.",
)
