"""The Typer application object and the error handling shared by every command module."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from planetbench.errors import ConfigError, PlanetbenchError

#: Settings of every command: ``-h`` as well as ``--help``, help wrapped to the terminal.
CONTEXT_SETTINGS: dict[str, Any] = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

app = typer.Typer(
    name="planetbench",
    help="Benchmark geospatial and planetary foundation models honestly, quickly, reproducibly."
    "\n\nExample: planetbench demo --quick",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain help text: option names never truncated, flags without a "<bool>" placeholder,
    # every line wrapped to the terminal ($COLUMNS).
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
)


def _version(value: bool) -> None:
    if value:
        from planetbench import __version__

        typer.echo(f"planetbench {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(
        False, "--version", "-V", callback=_version, is_eager=True,
        help="Show the planetbench version and exit.",
    ),
) -> None:
    """Benchmark geospatial and planetary foundation models honestly, quickly, reproducibly.

    Example: planetbench demo --quick
    """

console = Console(emoji=False)  # ":x:" in user data stays text
err_console = Console(stderr=True, emoji=False)

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")

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


def alias(flag: str, value: T | None, old_flag: str, old_value: T | None) -> T | None:
    """The value of ``flag``, or of its old spelling ``old_flag`` (a hidden alias).

    Raises:
        ConfigError: both spellings are given with different values.
    """
    if old_value is None or old_value == value:
        return value
    if value is not None:
        raise ConfigError(f"{old_flag} is the old spelling of {flag}; give {flag} only")
    return old_value
