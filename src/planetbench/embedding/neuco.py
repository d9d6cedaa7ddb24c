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
``task_filter``            ``evaluate_embeddings(task_filter=...)`` (null/false = all tasks;
                           an empty list is refused: it would select nothing)
``probe_type``             ``linear`` → probe ``neuco``; ``svm`` is not supported
``probe_params``           ``batch_size``, ``epochs``, ``learning_rate`` as above
``output_fold_results``    accepted; fold scores are always in ``summary.json``
``store_models``,          accepted when false; storing trained probes is not supported
``store_probes``
``device``                 accepted when ``auto``: planetbench uses CUDA when present
``epsilon``, ``seed``,     planetbench extensions: ``ProbeConfig`` fields of the same name
``test_size``
=========================  ==========================================================

Any other key is an error, as is a value of the wrong type; every message names the key.
:class:`NeucoYaml` (pydantic, ``extra="forbid"``) states these rules: one field per key, and one
validator per value planetbench does not support yet.

Names are never paths: ``--method_name`` and ``--phase`` must be plain names (no separators,
no ``..``, at most 128 characters) and every output stays under ``--output_dir``. Files written
are strict JSON (a non-finite number is written as null).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError, field_validator

from planetbench.config import ProbeConfig, validate_config
from planetbench.embedding.evaluate import EvaluationSummary, evaluate_embeddings
from planetbench.embedding.names import check_name, check_output_folder, output_path
from planetbench.embedding.summary import write_json
from planetbench.errors import ConfigError, InvalidInputError
from planetbench.store import ResultStore

#: NeuCo-Bench's fixed training hyper-parameters that our neuco probe implements.
NEUCO_BATCH_SIZE = 64
NEUCO_LEARNING_RATE = 0.001


def _must_be(value: Any, wanted: Any, key: str, why: str) -> Any:
    """``value`` when it is None or ``wanted``; else the error saying why only ``wanted`` works."""
    if value is not None and value != wanted:
        raise ValueError(f"{key}={value!r} is not supported; {why}; set it to {wanted} or "
                         "remove it")
    return value


def _batch_size(v: int | None) -> int | None:
    return _must_be(v, NEUCO_BATCH_SIZE, "batch_size",
                    "the neuco probe trains with NeuCo-Bench's batch size")


def _learning_rate(v: float | None) -> float | None:
    return _must_be(v, NEUCO_LEARNING_RATE, "learning_rate",
                    "the neuco probe uses NeuCo-Bench's learning rate")


class NeucoProbeParams(BaseModel):
    """NeuCo-Bench's ``probe_params`` mapping."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: int | None = None
    epochs: int | None = None
    learning_rate: float | None = None

    _check_batch_size = field_validator("batch_size")(_batch_size)
    _check_learning_rate = field_validator("learning_rate")(_learning_rate)


class NeucoYaml(BaseModel):
    """The keys of a NeuCo-Bench YAML configuration and the values planetbench supports.

    One field per key (see the module docstring); a validator per value not supported yet.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_folds: int
    epochs: int | None = None
    batch_size: int | None = None
    learning_rate: float | None = None
    embedding_dim: int | None = None
    standardize_embeddings: StrictBool = True
    normalize_labels: StrictBool = True
    enable_plots: StrictBool = False
    update_leaderboard: StrictBool = False
    task_filter: list[str] | Literal[False] | None = None
    probe_type: str = "linear"
    probe_params: NeucoProbeParams | None = None
    output_fold_results: StrictBool = False
    store_models: StrictBool = False
    store_probes: StrictBool = False
    device: str = "auto"
    epsilon: float | None = None
    seed: int | None = None
    test_size: float | None = None

    _check_batch_size = field_validator("batch_size")(_batch_size)
    _check_learning_rate = field_validator("learning_rate")(_learning_rate)

    @field_validator("standardize_embeddings")
    @classmethod
    def _standardize(cls, v: bool) -> bool:
        if not v:
            raise ValueError("standardize_embeddings: false is not supported; the neuco probe "
                             "always z-scores the embeddings (as NeuCo-Bench does by default); "
                             "set it to true or remove it")
        return v

    @field_validator("normalize_labels")
    @classmethod
    def _normalize(cls, v: bool) -> bool:
        if not v:
            raise ValueError("normalize_labels: false is not supported; the neuco probe always "
                             "min-max normalises the labels (as NeuCo-Bench does by default); "
                             "set it to true or remove it")
        return v

    @field_validator("store_models", "store_probes")
    @classmethod
    def _no_stored_probes(cls, v: bool) -> bool:
        if v:
            raise ValueError("true is not supported (trained probes are not kept)")
        return v

    @field_validator("device")
    @classmethod
    def _device(cls, v: str) -> str:
        if v != "auto":
            raise ValueError(f"device={v!r} is not supported; remove it or set 'auto' "
                             "(planetbench uses CUDA when present and the CPU otherwise)")
        return v

    @field_validator("probe_type")
    @classmethod
    def _probe_type(cls, v: str) -> str:
        if v != "linear":
            raise ValueError(f"probe_type {v!r} is not supported; planetbench implements "
                             "NeuCo-Bench's 'linear' probe (as probe 'neuco')")
        return v

    @field_validator("task_filter")
    @classmethod
    def _task_filter(cls, v: list[str] | Literal[False] | None) -> list[str] | None:
        if v is False or v is None:
            return None
        if not v:
            raise ValueError("task_filter: [] selects no task; list task names, or remove it "
                             "(or set null) to evaluate every task")
        return v

    def training(self) -> dict[str, Any]:
        """``batch_size``, ``epochs`` and ``learning_rate`` from the top level and
        ``probe_params`` (NeuCo-Bench's two layouts), refusing a key set twice differently."""
        merged = {k: v for k, v in (("batch_size", self.batch_size), ("epochs", self.epochs),
                                    ("learning_rate", self.learning_rate)) if v is not None}
        params = self.probe_params.model_dump(exclude_none=True) if self.probe_params else {}
        for key, value in params.items():
            if key in merged and merged[key] != value:
                raise ValueError(
                    f"{key!r} is set twice with different values ({merged[key]!r} at the top "
                    f"level, {value!r} in probe_params); keep one"
                )
            merged[key] = value
        return merged


#: Every key of a NeuCo-Bench configuration that planetbench reads.
KNOWN_KEYS: tuple[str, ...] = tuple(NeucoYaml.model_fields)
PROBE_PARAM_KEYS: tuple[str, ...] = tuple(NeucoProbeParams.model_fields)


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


def _error_key(loc: tuple[int | str, ...]) -> str:
    """The configuration key an error location points at (``probe_params.epochs``, say)."""
    names = [str(p) for p in loc if isinstance(p, str)]
    if len(names) > 1 and names[0] == "probe_params" and names[1] in PROBE_PARAM_KEYS:
        return ".".join(names[:2])
    return names[0] if names else "(root)"


def _message(source: str, exc: ValidationError) -> str:
    """One message naming every offending key of a NeuCo-Bench configuration."""
    unknown = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "extra_forbidden"]
    parts = []
    top = [k for k in unknown if "." not in k]
    nested = [k.split(".", 1)[1] for k in unknown if k.startswith("probe_params.")]
    if top:
        parts.append(f"unknown NeuCo-Bench config key(s) {', '.join(map(repr, top))}; "
                     f"supported keys: {', '.join(KNOWN_KEYS)}")
    if nested:
        parts.append(f"unknown probe_params key(s) {', '.join(map(repr, nested))}; "
                     f"supported: {', '.join(PROBE_PARAM_KEYS)}")
    seen: set[str] = set()
    for err in exc.errors():
        key = _error_key(err["loc"])
        if err["type"] == "extra_forbidden" or key in seen:
            continue  # one message per key (a union of types reports each member)
        seen.add(key)
        if err["type"] == "missing" and key == "k_folds":
            parts.append("the required key 'k_folds' (number of random splits) is missing")
        elif err["type"] == "value_error":
            parts.append(str(err["ctx"]["error"]))
        elif err["type"] == "bool_type":
            parts.append(f"{key!r} must be true or false; got {err['input']!r}")
        elif key == "task_filter":
            parts.append(f"task_filter must be null or a list of task names; got "
                         f"{err['input']!r}")
        elif key == "probe_params" and err["type"] == "model_type":
            parts.append(f"probe_params must be a mapping; got {err['input']!r}")
        else:
            parts.append(f"{key!r}: {err['msg'].lower()}; got {err['input']!r}")
    unique = list(dict.fromkeys(parts))
    return f"{source}: " + "; ".join(unique)


def parse_neuco_config(raw: Any, *, source: str) -> NeucoConfig:
    """Map NeuCo-Bench configuration keys onto planetbench (see the module docstring).

    Raises:
        ConfigError: unknown keys, wrong types, unsupported values, missing ``k_folds``; the
            message names each key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a NeuCo-Bench config must be a YAML mapping of keys")
    odd = [k for k in raw if not isinstance(k, str)]
    if odd:
        raise ConfigError(f"{source}: config keys must be names; got {', '.join(map(repr, odd))}")
    try:
        parsed = NeucoYaml.model_validate(raw)
        training = parsed.training()
    except ValidationError as exc:
        raise ConfigError(_message(source, exc)) from None
    except ValueError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    probe_values: dict[str, Any] = {"probe": "neuco", "n_splits": parsed.k_folds}
    if "epochs" in training:
        probe_values["neuco_epochs"] = training["epochs"]
    if parsed.embedding_dim is not None:
        probe_values["dim"] = parsed.embedding_dim
    probe_values.update({k: raw[k] for k in ("epsilon", "seed", "test_size") if k in raw})
    return NeucoConfig(
        probe=validate_config(ProbeConfig, probe_values, source=source),
        standardize=parsed.standardize_embeddings,
        normalize_labels=parsed.normalize_labels,
        plots=parsed.enable_plots,
        update_leaderboard=parsed.update_leaderboard,
        task_filter=parsed.task_filter if parsed.task_filter else None,
        raw=dict(raw),
    )


def load_neuco_config(path: str | Path) -> NeucoConfig:
    """Read a NeuCo-Bench YAML configuration file.

    Raises:
        ConfigError: the file is missing, not UTF-8 text, not YAML, or an invalid configuration.
    """
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise ConfigError(f"config file {str(path)!r} {what}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (a binary file?): byte {exc.start} "
            "cannot be decoded; pass the NeuCo-Bench YAML configuration"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    return parse_neuco_config(raw or {}, source=str(path))


def _read_exclude(path: Path) -> list[str]:
    if not path.is_file():
        raise InvalidInputError(f"exclude file {str(path)!r} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InvalidInputError(
            f"exclude file {str(path)!r} is not UTF-8 text; give one sample id per line"
        ) from None
    return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class PhaseLeaderboard:
    """NeuCo-Bench's leaderboard of one phase.

    Attributes:
        path: the CSV written.
        skipped: ``results_summary.json`` files left out, each with the reason.
    """

    path: Path
    skipped: list[str] = field(default_factory=list)


def _phase_results(phase_dir: Path) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Q per task of every readable ``results_summary.json`` of a phase; the files skipped."""
    rows: dict[str, dict[str, float]] = {}
    skipped: list[str] = []
    for file in sorted(phase_dir.glob("*/results_summary.json")):
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            scores = data.get("task_results", data.get("task_q_scores"))
            if not isinstance(scores, dict) or not isinstance(data.get("experiment"), str):
                raise ValueError("it lacks 'experiment' or 'task_results'")
            rows[data["experiment"]] = {str(k): float(v) if v is not None else float("nan")
                                        for k, v in scores.items()}
        except (OSError, UnicodeDecodeError, ValueError, TypeError, AttributeError) as exc:
            skipped.append(f"{file}: {exc.__class__.__name__}: {exc}")
    return rows, skipped


def write_neuco_leaderboard(output_dir: str | Path, phase: str) -> PhaseLeaderboard:
    """Rank every ``results_summary.json`` under ``output_dir/phase`` as NeuCo-Bench does.

    Writes ``output_dir/leaderboards/phase/leaderboard_<UTC time>.csv`` with columns
    ``experiment``, ``mean_score``, ``weighted_score``, ``aggregated_rank`` and one Q column per
    task (runs lacking a task are left out, as in NeuCo-Bench). Unreadable or malformed
    ``results_summary.json`` files are skipped and named in the result.

    Raises:
        InvalidInputError: no readable ``results_summary.json`` under the phase folder.
    """
    from planetbench.stats.ranking import rank_aggregate

    check_name(phase, what="--phase")
    phase_dir = output_path(output_dir, phase)
    rows, skipped = _phase_results(phase_dir)
    if not rows:
        also = f" (skipped: {'; '.join(skipped)})" if skipped else ""
        raise InvalidInputError(
            f"no readable results_summary.json files under {str(phase_dir)!r}{also}"
        )
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
    folder = output_path(output_dir, "leaderboards", phase)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d_%H%M%S_%f")
    path = folder / f"leaderboard_{stamp}.csv"
    board.to_csv(path, index=False)
    return PhaseLeaderboard(path, skipped)


@dataclass(frozen=True)
class NeucoRun:
    """What :func:`run_neuco` did.

    Attributes:
        summary: the evaluation.
        results_path: NeuCo-Bench's ``results_summary.json`` written.
        leaderboard: the phase's leaderboard, when ``update_leaderboard`` is set.
    """

    summary: EvaluationSummary
    results_path: Path
    leaderboard: PhaseLeaderboard | None = None


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
) -> NeucoRun:
    """NeuCo-Bench's ``evaluate`` on planetbench.

    Writes ``output_dir/phase/method_name/results_summary.json`` (and our ``summary.json``)
    and, with ``update_leaderboard``, the phase's leaderboard CSV.

    Raises:
        InvalidInputError: a ``method_name`` or ``phase`` that is not a plain name, an
            ``output_dir`` that cannot be a folder, an unreadable exclude file.
        ConfigError, LabelFileError, EmbeddingFileError: invalid configuration or inputs; all
            found before any probe runs.
    """
    check_name(method_name, what="--method_name")
    check_name(phase, what="--phase")
    check_output_folder(output_dir, flag="--output_dir")
    run_dir = output_path(output_dir, phase, method_name)
    cfg = config if isinstance(config, NeucoConfig) else load_neuco_config(config)
    exclude = _read_exclude(Path(exclude_file)) if exclude_file is not None else None
    summary = evaluate_embeddings(
        submission_file,
        annotation_path,
        name=method_name,
        config=cfg.probe,
        store=store,
        out=run_dir.parent,
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
    path = write_json(run_dir / "results_summary.json", results)
    board = write_neuco_leaderboard(output_dir, phase) if cfg.update_leaderboard else None
    return NeucoRun(summary, path, board)


__all__ = [
    "KNOWN_KEYS",
    "PROBE_PARAM_KEYS",
    "NeucoConfig",
    "NeucoProbeParams",
    "NeucoRun",
    "NeucoYaml",
    "PhaseLeaderboard",
    "load_neuco_config",
    "parse_neuco_config",
    "run_neuco",
    "write_neuco_leaderboard",
]
