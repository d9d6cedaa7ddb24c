"""Every command of the app: ``-h`` and ``--help`` with an example, plain flags, ``--version``."""

from __future__ import annotations

from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from planetbench import __version__
from planetbench.cli import _load_commands, app

runner = CliRunner()
_load_commands()


def _command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    subcommands = getattr(command, "commands", None)  # a group (Typer's own click or click's)
    if isinstance(subcommands, dict) and subcommands:
        return [p for name, sub in sorted(subcommands.items())
                for p in _command_paths(sub, (*path, name))]
    return [path]


COMMANDS = _command_paths(typer.main.get_command(app))


def test_the_app_lists_its_commands() -> None:
    assert len(COMMANDS) > 20 and ("leaderboard",) in COMMANDS
    assert ("store", "retract") in COMMANDS and ("capability", "predict") in COMMANDS


@pytest.mark.parametrize("path", COMMANDS, ids=[" ".join(p) for p in COMMANDS])
def test_every_help_ends_with_an_example(path: tuple[str, ...]) -> None:
    res = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert f"Example: planetbench {' '.join(path)}" in res.output
    assert "<bool>" not in res.output  # flags show their names, not a placeholder
    short = runner.invoke(app, [*path, "-h"], env={"COLUMNS": "200"})
    assert short.exit_code == 0 and short.output == res.output


def test_help_wraps_to_the_terminal_without_cutting_option_names() -> None:
    res = runner.invoke(app, ["leaderboard", "--help"], env={"COLUMNS": "80"})
    assert res.exit_code == 0
    assert max(len(line) for line in res.output.splitlines()) <= 80
    assert "…" not in res.output.replace("postgresql+psycopg://…", "")
    assert "--unweighted / --no-unweighted" in res.output and "--normaliser" in res.output


def test_version_and_short_help() -> None:
    for flag in ("--version", "-V"):
        res = runner.invoke(app, [flag])
        assert res.exit_code == 0 and res.output.strip() == f"planetbench {__version__}"
    res = runner.invoke(app, ["-h"])
    assert res.exit_code == 0 and "Example: planetbench demo" in res.output
