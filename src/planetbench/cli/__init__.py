"""Command-line interface: a thin Typer layer over the public API.

Each module in this package adds the commands of one area to :data:`app`.
"""

from __future__ import annotations

import importlib

from planetbench.cli._app import app

#: Command modules; each registers its commands on ``app`` when imported.
COMMAND_MODULES: tuple[str, ...] = (
    "planetbench.cli.store",
    "planetbench.cli.embedding",
    "planetbench.cli.demo",
    "planetbench.cli.data",
    "planetbench.cli.encoders",
    "planetbench.cli.dense",
    "planetbench.cli.efficiency",
    "planetbench.cli.search",
    "planetbench.cli.capability",
    "planetbench.cli.results",
    "planetbench.cli.report",
    "planetbench.cli.challenge",
)


def _load_commands() -> None:
    for module in COMMAND_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main() -> None:
    """Entry point of the ``planetbench`` console script."""
    _load_commands()
    app()


__all__ = ["app", "main"]
