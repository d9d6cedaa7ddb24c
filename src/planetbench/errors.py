"""Exceptions raised by planetbench.

Every error is a :class:`PlanetbenchError` and also inherits the builtin it refines, so callers can
catch either. Messages name the parameter or file, what was given, what is allowed and how to fix it.
"""

from __future__ import annotations


class PlanetbenchError(Exception):
    """Base class of every error raised on purpose by planetbench."""


class InvalidInputError(PlanetbenchError, ValueError):
    """A value, file or argument given by the user is not acceptable."""


class EmbeddingFileError(InvalidInputError):
    """An embedding file (CSV/Parquet) is malformed or does not cover the task ids."""


class LabelFileError(InvalidInputError):
    """A label file or label folder is malformed."""


class ConfigError(InvalidInputError):
    """An experiment or probe configuration is invalid."""


class BandAlignmentError(InvalidInputError):
    """A task's bands cannot be mapped onto an encoder's inputs."""


class UnknownNameError(PlanetbenchError, KeyError):
    """A registry lookup used a name that is not registered."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly instead.
        return str(self.args[0]) if self.args else ""


class MissingDependencyError(PlanetbenchError, ImportError):
    """An optional dependency is needed but not installed."""


class DatasetNotFoundError(PlanetbenchError, FileNotFoundError):
    """A dataset is not on disk where it was looked for."""


class BudgetNotPublishedError(DatasetNotFoundError):
    """A label budget (training fraction or k-shot set) has no published file for the task."""


class ChecksumError(PlanetbenchError, OSError):
    """A downloaded or on-disk file does not match its published checksum."""


class DownloadError(PlanetbenchError, OSError):
    """A download failed (offline, refused, or interrupted)."""


class WeightsUnavailableError(PlanetbenchError, RuntimeError):
    """Pretrained weights could not be found locally nor downloaded."""


class WeightsMismatchError(PlanetbenchError, RuntimeError):
    """A state dict does not match the architecture (missing or unexpected keys, shapes)."""


class StoreError(PlanetbenchError, RuntimeError):
    """The results store could not be opened, read or written."""


def require(module: str, extra: str) -> object:
    """Import an optional dependency or raise a :class:`MissingDependencyError` saying how to get it.

    Args:
        module: importable module name, e.g. ``"torch"``.
        extra: the planetbench extra that installs it, e.g. ``"dense"``.

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingDependencyError(
            f"{module} is required for this feature but is not installed; "
            f"install it with: pip install 'planetbench[{extra}]'"
        ) from exc
