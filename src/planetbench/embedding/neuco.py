"""Run planetbench with NeuCo-Bench's own command-line flags and YAML configuration.

``planetbench neuco --annotation_path DIR --submission_file CSV --config YAML --method_name M
--phase P --output_dir D [--exclude_file F]`` mirrors ``python benchmark/main.py`` of NeuCo-Bench
(embed2scale/NeuCo-Bench). The probe is planetbench's ``neuco`` probe; results go to the
planetbench store and, NeuCo-style, to ``D/P/M/results_summary.json`` (``experiment``,
``overall_score`` = mean Q, ``task_results`` = Q per task, ``config``) next to our
``summary.json``. Unlike NeuCo-Bench the run folder is not time-stamped: a re-run overwrites
it, and the store keeps every run.

YAML keys (NeuCo-Bench's, both the flat and the ``probe_type``/``probe_params`` layouts):

=========================  ==========================================================
key                        where it goes
=========================  ==========================================================
``k_folds`` (required)     ``ProbeConfig.n_splits``
``epochs``                 ``ProbeConfig.neuco_epochs`` (also ``probe_params.epochs``)
``batch_size``             must be 64: the neuco probe trains with NeuCo's batch size
``learning_rate``          must be 0.001: the neuco probe uses NeuCo's learning rate
``embedding_dim``          ``ProbeConfig.dim`` (null = inferred from the file)
``standardize_embeddings`` true (default): ``evaluate_embeddings(standardize=True)``, one
                           scalar z-score over the labelled rows of the file; false is refused
                           (the neuco probe always z-scores)
``normalize_labels``       true (default): min-max regression targets; false is refused (the
                           neuco probe always min-max normalises labels)
``enable_plots``           ``evaluate_embeddings(plots=...)``
``update_leaderboard``     write ``D/leaderboards/P/leaderboard_<UTC time>.csv``
``task_filter``            ``evaluate_embeddings(task_filter=...)`` (null/false = all tasks)
``probe_type``             ``linear`` → probe ``neuco``; ``svm`` is not supported
``probe_params``           ``batch_size``, ``epochs``, ``learning_rate`` as above
``output_fold_results``    accepted; fold scores are always in ``summary.json``
``store_models``,          accepted when false; storing trained probes is not supported
``store_probes``
``device``                 accepted when ``auto``: planetbench uses CUDA when present
``epsilon``, ``seed``,     planetbench extensions: ``ProbeConfig`` fields of the same name
``test_size``
=========================  ==========================================================

Any other key is an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from planetbench.config import ProbeConfig, validate_config
from planetbench.embedding.evaluate import EvaluationSummary, evaluate_embeddings
from planetbench.errors import ConfigError, InvalidInputError
from planetbench.store import ResultStore

#: NeuCo-Bench's fixed training hyper-parameters that our neuco probe implements.
NEUCO_BATCH_SIZE = 64
NEUCO_LEARNING_RATE = 0.001

KNOWN_KEYS: tuple[str, ...] = (
    "k_folds",
    "epochs",
    "batch_size",
    "learning_rate",
    "embedding_dim",
    "standardize_embeddings",
    "normalize_labels",
    "enable_plots",
    "update_leaderboard",
    "task_filter",
    "probe_type",
    "probe_params",
    "output_fold_results",
    "store_models",
    "store_probes",
    "device",
    "epsilon",
    "seed",
    "test_size",
)
PROBE_PARAM_KEYS: tuple[str, ...] = ("batch_size", "epochs", "learning_rate")
_BOOL_KEYS = (
    "standardize_embeddings",
    "normalize_labels",
    "enable_plots",
    "update_leaderboard",
    "output_fold_results",
    "store_models",
    "store_probes",
)


@dataclass(frozen=True)
class NeucoConfig:
    """A NeuCo-Bench YAML configuration mapped onto planetbench.

    Attributes:
        probe: the probe configuration (probe ``neuco``).
        standardize: z-score embeddings globally before probing.
        normalize_labels: min-max scale regression targets.
        plots: write plots.
        update_leaderboard: write NeuCo's leaderboard CSV of the phase.
        task_filter: task names to evaluate, or None for all.
        raw: the YAML content as read.
    """

    probe: ProbeConfig
    standardize: bool
    normalize_labels: bool
    plots: bool
    update_leaderboard: bool
    task_filter: list[str] | None
    raw: dict[str, Any]


def parse_neuco_config(raw: dict[str, Any], *, source: str) -> NeucoConfig:
    """Map NeuCo-Bench configuration keys onto planetbench (see the module docstring).

    Raises:
        ConfigError: unknown keys, wrong types, unsupported values, missing ``k_folds``.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a NeuCo-Bench config must be a YAML mapping of keys")
    unknown = sorted(set(raw) - set(KNOWN_KEYS))
    if unknown:
        raise ConfigError(
            f"{source}: unknown NeuCo-Bench config key(s) {', '.join(map(repr, unknown))}; "
            f"supported keys: {', '.join(KNOWN_KEYS)}"
        )
    if "k_folds" not in raw:
        raise ConfigError(
            f"{source}: the required key 'k_folds' (number of random splits) is missing"
        )
    for key in _BOOL_KEYS:
        if key in raw and not isinstance(raw[key], bool):
            raise ConfigError(f"{source}: {key!r} must be true or false; got {raw[key]!r}")
    probe_type = raw.get("probe_type", "linear")
    if probe_type != "linear":
        raise ConfigError(
            f"{source}: probe_type {probe_type!r} is not supported; planetbench implements "
            "NeuCo-Bench's 'linear' probe (as probe 'neuco')"
        )
    params = raw.get("probe_params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: probe_params must be a mapping; got {params!r}")
    bad_params = sorted(set(params) - set(PROBE_PARAM_KEYS))
    if bad_params:
        raise ConfigError(
            f"{source}: unknown probe_params key(s) {', '.join(map(repr, bad_params))}; "
            f"supported: {', '.join(PROBE_PARAM_KEYS)}"
        )
    merged = {k: raw[k] for k in PROBE_PARAM_KEYS if k in raw}
    for k, v in params.items():
        if k in merged and merged[k] != v:
            raise ConfigError(
                f"{source}: {k!r} is set twice with different values ({merged[k]!r} at the top "
                f"level, {v!r} in probe_params); keep one"
            )
        merged[k] = v
    if "batch_size" in merged and merged["batch_size"] != NEUCO_BATCH_SIZE:
        raise ConfigError(
            f"{source}: batch_size={merged['batch_size']!r} is not supported; the neuco probe "
            f"trains with NeuCo-Bench's batch size {NEUCO_BATCH_SIZE}; set it to "
            f"{NEUCO_BATCH_SIZE} or remove it"
        )
    if "learning_rate" in merged and float(merged["learning_rate"]) != NEUCO_LEARNING_RATE:
        raise ConfigError(
            f"{source}: learning_rate={merged['learning_rate']!r} is not supported; the neuco "
            f"probe uses NeuCo-Bench's learning rate {NEUCO_LEARNING_RATE}; set it to "
            f"{NEUCO_LEARNING_RATE} or remove it"
        )
    for key, what in (("standardize_embeddings", "z-scores the embeddings"),
                      ("normalize_labels", "min-max normalises the labels")):
        if raw.get(key) is False:
            raise ConfigError(
                f"{source}: {key}: false is not supported; the neuco probe always {what} "
                "(as NeuCo-Bench does by default); set it to true or remove it"
            )
    for key in ("store_models", "store_probes"):
        if raw.get(key):
            raise ConfigError(
                f"{source}: {key}: true is not supported (trained probes are not kept)"
            )
    if raw.get("device", "auto") != "auto":
        raise ConfigError(
            f"{source}: device={raw['device']!r} is not supported; remove it or set 'auto' "
            "(planetbench uses CUDA when present and the CPU otherwise)"
        )
    task_filter = raw.get("task_filter")
    if task_filter is False or task_filter is None:
        task_filter = None
    elif not isinstance(task_filter, list) or not all(isinstance(t, str) for t in task_filter):
        raise ConfigError(f"{source}: task_filter must be null or a list of task names; got "
                          f"{task_filter!r}")
    probe_values: dict[str, Any] = {"probe": "neuco", "n_splits": raw["k_folds"]}
    if "epochs" in merged:
        probe_values["neuco_epochs"] = merged["epochs"]
    if raw.get("embedding_dim") is not None:
        probe_values["dim"] = raw["embedding_dim"]
    for key in ("epsilon", "seed", "test_size"):
        if key in raw:
            probe_values[key] = raw[key]
    probe = validate_config(ProbeConfig, probe_values, source=source)
    return NeucoConfig(
        probe=probe,
        standardize=bool(raw.get("standardize_embeddings", True)),
        normalize_labels=bool(raw.get("normalize_labels", True)),
        plots=bool(raw.get("enable_plots", False)),
        update_leaderboard=bool(raw.get("update_leaderboard", False)),
        task_filter=task_filter,
        raw=dict(raw),
    )


def load_neuco_config(path: str | Path) -> NeucoConfig:
    """Read a NeuCo-Bench YAML configuration file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    return parse_neuco_config(raw or {}, source=str(path))


def _read_exclude(path: Path) -> list[str]:
    if not path.is_file():
        raise InvalidInputError(f"exclude file {str(path)!r} does not exist")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


def write_neuco_leaderboard(output_dir: str | Path, phase: str) -> Path:
    """Rank every ``results_summary.json`` under ``output_dir/phase`` as NeuCo-Bench does.

    Writes ``output_dir/leaderboards/phase/leaderboard_<UTC time>.csv`` with columns
    ``experiment``, ``mean_score``, ``weighted_score``, ``aggregated_rank`` and one Q column per
    task (runs lacking a task are left out, as in NeuCo-Bench).
    """
    from planetbench.stats.ranking import rank_aggregate

    phase_dir = Path(output_dir) / phase
    rows = {}
    for file in sorted(phase_dir.glob("*/results_summary.json")):
        data = json.loads(file.read_text())
        rows[str(data["experiment"])] = data["task_results"]
    if not rows:
        raise InvalidInputError(f"no results_summary.json files under {str(phase_dir)!r}")
    q_table = pd.DataFrame.from_dict(rows, orient="index").dropna(axis=0, how="any")
    agg = rank_aggregate(q_table.astype(float))
    board = pd.DataFrame(
        {
            "experiment": agg.table.index,
            "mean_score": agg.table["mean_q"].to_numpy(),
            "weighted_score": agg.table["weighted_score"].to_numpy(),
            "aggregated_rank": agg.table["rank"].to_numpy(),
        }
    )
    board = pd.concat([board, q_table.loc[agg.table.index].reset_index(drop=True)], axis=1)
    folder = Path(output_dir) / "leaderboards" / phase
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S_%f")
    path = folder / f"leaderboard_{stamp}.csv"
    board.to_csv(path, index=False)
    return path


def run_neuco(
    *,
    submission_file: str | Path,
    annotation_path: str | Path,
    config: str | Path | NeucoConfig,
    method_name: str,
    phase: str = "all",
    output_dir: str | Path = "results",
    exclude_file: str | Path | None = None,
    store: str | ResultStore | None = None,
) -> tuple[EvaluationSummary, Path, Path | None]:
    """NeuCo-Bench's ``evaluate`` on planetbench.

    Returns:
        ``(summary, results_summary.json path, leaderboard CSV path or None)``.
    """
    if not method_name or not method_name.strip():
        raise InvalidInputError("--method_name must be a non-empty name")
    if not phase or "/" in phase or phase in (".", ".."):
        raise InvalidInputError(f"--phase must be a plain folder name; got {phase!r}")
    cfg = config if isinstance(config, NeucoConfig) else load_neuco_config(config)
    exclude = _read_exclude(Path(exclude_file)) if exclude_file is not None else None
    phase_dir = Path(output_dir) / phase
    summary = evaluate_embeddings(
        submission_file,
        annotation_path,
        name=method_name,
        config=cfg.probe,
        store=store,
        out=phase_dir,
        plots=cfg.plots,
        task_filter=cfg.task_filter,
        exclude_ids=exclude,
        standardize=cfg.standardize,
        normalize_labels=cfg.normalize_labels,
    )
    results = {
        "experiment": method_name,
        "overall_score": summary.mean_q,
        "task_results": {name: t.q for name, t in summary.tasks.items()},
        "config": cfg.raw,
    }
    path = phase_dir / method_name / "results_summary.json"
    path.write_text(json.dumps(results, indent=2))
    board = write_neuco_leaderboard(output_dir, phase) if cfg.update_leaderboard else None
    return summary, path, board


__all__ = [
    "KNOWN_KEYS",
    "NeucoConfig",
    "load_neuco_config",
    "parse_neuco_config",
    "run_neuco",
    "write_neuco_leaderboard",
]
