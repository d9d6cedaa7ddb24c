"""Experiment files and the choices around them: reading and validating an experiment YAML,
merging command-line settings into it, and choosing the executor.

An experiment is validated in two steps when it is loaded: its values by pydantic
(:class:`~planetbench.config.ExperimentSpec`), then its names against the registries (encoders,
tasks, dense protocols, heads, band policies, feature cache modes; with did-you-mean), so a
plugin's head or protocol can be chosen and a misspelt one is refused before any run.
"""

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
    """Read and validate an experiment YAML file (values, then names; see the module docstring).

    Raises:
        InvalidInputError: the file does not exist.
        ConfigError: it is not UTF-8 text, not a YAML mapping, fails validation, or names
            something that is not registered.
    """
    spec = _validated(_read_mapping(path), source=str(path))
    return spec


def _read_mapping(path: Path) -> dict[str, Any]:
    """The YAML mapping held by ``path``."""
    import yaml

    if not path.is_file():
        raise InvalidInputError(f"experiment file {str(path)!r} does not exist")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"experiment file {str(path)!r} is not UTF-8 text (byte {exc.start} is "
            f"{exc.object[exc.start:exc.start + 1]!r}); give a YAML file, e.g. encoders: [unet]"
        ) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"experiment file {str(path)!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"experiment file {str(path)!r} must hold a mapping (encoders: [...], tasks: [...], "
            f"…), got {type(data).__name__}"
        )
    return data


def _validated(data: dict[str, Any], *, source: str) -> ExperimentSpec:
    """The experiment of ``data``: values checked by pydantic, names by the registries."""
    from planetbench.runs.preflight import check_choices

    spec: ExperimentSpec = validate_config(ExperimentSpec, data, source=source)
    check_choices(spec.runs())
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
    given = {k: v for k, v in overrides.items() if v is not None and v != {}}
    weights = given.pop("weights", {})
    if path is not None:
        if single.get("encoder") is not None or single.get("task") is not None:
            raise ConfigError(
                "give either an experiment file or --encoder/--task for a single run, not both"
            )
        data = _read_mapping(path)
        data.update(given)
        if weights:
            data["weights"] = {**(data.get("weights") or {}),
                               **_weights_by_encoder(weights, data.get("encoders"))}
        source = f"{path} + command line" if given or weights else str(path)
        return _validated(data, source=source)
    if single.get("encoder") is None or single.get("task") is None:
        raise ConfigError(
            "nothing to run: pass an experiment YAML file, or --encoder E --task T "
            "(with --root DIR) for a single run"
        )
    data = {"encoders": [single["encoder"]], "tasks": [single["task"]],
            "protocols": [single["protocol"]], "fractions": [single["fraction"]],
            "lrs": [single["lr"]], "seeds": [single["seed"]], **given}
    if weights:
        data["weights"] = _weights_by_encoder(weights, data["encoders"])
    return _validated(data, source="command line")


def parse_weights(values: list[str]) -> dict[str, str]:
    """``--weights`` values as {encoder id: path}; a bare ``PATH`` is keyed by ``""`` (it belongs
    to the grid's only encoder).

    Raises:
        ConfigError: an encoder given twice, or an empty path.
    """
    out: dict[str, str] = {}
    for value in values:
        name, sep, file = value.partition("=")
        if not sep or "/" in name or "\\" in name:
            name, file = "", value
        if not file:
            raise ConfigError(f"--weights {value!r} names no file; give --weights ENCODER=PATH")
        if name in out:
            raise ConfigError(
                f"--weights gives {'the weights' if not name else repr(name)} twice; give one "
                "file per encoder"
            )
        out[name] = file
    return out


def _weights_by_encoder(weights: dict[str, str], encoders: Any) -> dict[str, str]:
    """``weights`` with a bare path (key ``""``) given to the grid's only encoder."""
    if "" not in weights:
        return weights
    names = list(encoders) if isinstance(encoders, list) else []
    if len(names) != 1:
        raise ConfigError(
            f"--weights {weights['']!r} does not say which encoder it is for and the grid has "
            f"{len(names)} encoders ({', '.join(map(str, names))}); give --weights ENCODER=PATH"
        )
    return {**{k: v for k, v in weights.items() if k}, str(names[0]): weights[""]}


__all__ = ["EXECUTORS", "experiment_from_cli", "load_experiment", "make_executor",
           "parse_weights"]
