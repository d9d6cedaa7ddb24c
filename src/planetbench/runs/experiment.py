"""Experiment files and the choices around them: reading and validating an experiment YAML,
merging command-line settings into it, and choosing the executor."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.config import ExperimentSpec, validate_config
from planetbench.errors import ConfigError, InvalidInputError

if TYPE_CHECKING:
    from planetbench.runs.executors import Executor

#: Executors a grid can run on.
EXECUTORS = ("local", "ray")


def load_experiment(path: Path) -> ExperimentSpec:
    """Read and validate an experiment YAML file.

    Raises:
        InvalidInputError: the file does not exist.
        ConfigError: it is not YAML mapping or fails validation.
    """
    import yaml

    if not path.is_file():
        raise InvalidInputError(f"experiment file {str(path)!r} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"experiment file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"experiment file {str(path)!r} must hold a mapping (encoders: [...], tasks: [...], "
            "…), "
            f"got {type(data).__name__}"
        )
    spec: ExperimentSpec = validate_config(ExperimentSpec, data, source=str(path))
    return spec


def make_executor(
    name: str,
    *,
    ray_address: str | None = None,
    cpus_per_run: float | None = None,
    gpus_per_run: float | None = None,
) -> Executor:
    """The executor named ``name`` (``local`` or ``ray``) with its options.

    Raises:
        ConfigError: an unknown executor, or Ray options given with ``local``.
    """
    from planetbench.runs.executors import LocalExecutor, RayExecutor

    if name not in EXECUTORS:
        raise ConfigError(
            f"--executor must be one of {', '.join(EXECUTORS)}, got {name!r} (local: this "
            "process; ray: a Ray cluster)"
        )
    if name == "local":
        given = [flag for flag, value in (("--ray-address", ray_address),
                                          ("--cpus-per-run", cpus_per_run),
                                          ("--gpus-per-run", gpus_per_run)) if value is not None]
        if given:
            raise ConfigError(
                f"{', '.join(given)} only apply to --executor ray; add --executor ray or drop them"
            )
        return LocalExecutor()
    return RayExecutor(
        address=ray_address,
        num_cpus_per_run=1 if cpus_per_run is None else cpus_per_run,
        num_gpus_per_run=0 if gpus_per_run is None else gpus_per_run,
    )


def experiment_from_cli(
    path: Path | None, *, single: dict[str, Any], overrides: dict[str, Any]
) -> ExperimentSpec:
    """The experiment of ``planetbench run``: an experiment file or one run given by flags.

    Args:
        path: experiment YAML, or None for a single run described by ``single``.
        single: ``encoder``, ``task``, ``protocol``, ``fraction``, ``lr`` and ``seed`` of a single
            run (``encoder``/``task`` None when not given).
        overrides: settings given on the command line (None = not given); they replace the
            file's values.

    Raises:
        ConfigError: both or neither of a file and ``encoder``/``task``; invalid settings.
        InvalidInputError: the file does not exist.
    """
    given = {k: v for k, v in overrides.items() if v is not None}
    if path is not None:
        if single.get("encoder") is not None or single.get("task") is not None:
            raise ConfigError(
                "give either an experiment file or --encoder/--task for a single run, not both"
            )
        spec = load_experiment(path)
        if not given:
            return spec
        data = spec.model_dump()
        data.update(given)
        merged: ExperimentSpec = validate_config(
            ExperimentSpec, data, source=f"{path} + command line"
        )
        return merged
    if single.get("encoder") is None or single.get("task") is None:
        raise ConfigError(
            "nothing to run: pass an experiment YAML file, or --encoder E --task T "
            "(with --root DIR) for a single run"
        )
    data = {"encoders": [single["encoder"]], "tasks": [single["task"]],
            "protocols": [single["protocol"]], "fractions": [single["fraction"]],
            "lrs": [single["lr"]], "seeds": [single["seed"]], **given}
    spec = validate_config(ExperimentSpec, data, source="command line")
    return spec


__all__ = ["EXECUTORS", "experiment_from_cli", "load_experiment", "make_executor"]
