"""NeuCo-Bench v1.1's YAML configuration, read unchanged (``planetbench neuco --config``).

Both sample configurations of NeuCo-Bench v1.1 (``configs/sample_config_linear.yaml`` and
``configs/sample_config_svm.yaml`` at a89ba06) run as they are, and so do configurations in the
flat 2025 layout (``epochs``, ``batch_size``, ``learning_rate`` at the top level).

=========================  ==========================================================
key                        meaning (NeuCo-Bench's default)
=========================  ==========================================================
``k_folds`` (required)     number of ``ShuffleSplit(test_size=0.1, random_state=42)`` splits
``probe_type``             ``linear`` (probe ``neuco``) or ``svm`` (probe ``neuco-svm``)
``probe_params``           linear: ``batch_size`` (64), ``epochs`` (20), ``learning_rate``
                           (0.001), ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``);
                           svm: ``C_start_end``, ``kernel_degree_list`` (required),
                           ``kernel_coef0_start_end``, ``kernel_gamma_start_end``,
                           ``epsilon_list``, ``opt_params`` (``n_iter``, ``n_points``,
                           ``random_state``, ``optimizer_kwargs``, ``error_score``, ``n_jobs``,
                           ``verbose``, ``pre_dispatch``; never ``cv``)
``embedding_dim``          columns expected; a file with fewer is zero-padded (null: the file's)
``standardize_embeddings`` one scalar z-score over the labelled rows of the file (true)
``normalize_labels``       min-max scale each task's labels (true)
``enable_plots``           per-fold confusion matrices / regression scatter plots (true)
``update_leaderboard``     write ``D/leaderboards/P/leaderboard_<time>.csv`` (false)
``output_fold_results``    add the fold scores ``q_t`` to each ``<task>_result.json`` (false)
``store_probes``           keep each task's probe and a loader under ``<task>/probe/`` (false)
``task_filter``            task names to evaluate (null: all)
``require_complete``       planetbench: make ids without an embedding and empty label cells
                           errors instead of scoring around them (false, NeuCo's behaviour)
``store_models``           accepted and ignored, as NeuCo-Bench v1.1 ignores it (its code reads
                           ``store_probes``)
``epsilon``, ``seed``,     planetbench extensions (Q's ε, split seed, test share); leave them
``test_size``              out to reproduce NeuCo-Bench
=========================  ==========================================================

``device`` does not change planetbench's numbers: its probes run in NumPy/scikit-learn on the
CPU, whatever the device (NeuCo-Bench runs its linear probe on that torch device).

Stricter than NeuCo-Bench, which ignores keys it does not know and learns of a bad value only
when a task runs: an unknown key, a value of the wrong type and an impossible value are errors
before any work starts, each message naming the key (with a did-you-mean for a misspelt key).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
    model_validator,
)

from planetbench.config import ProbeConfig, validate_config
from planetbench.errors import ConfigError
from planetbench.registry import did_you_mean

#: NeuCo-Bench's linear-probe defaults when a key is left out (flat 2025 layout).
DEFAULT_BATCH_SIZE = 64
DEFAULT_LEARNING_RATE = 0.001

#: A number; YAML's ``1e-3`` (a string to PyYAML, which wants ``1.0e-3``) is read as 0.001.
Number = float


def _check_device(v: str | None) -> str | None:
    if v is None:
        return v
    if v in ("auto", "cpu", "cuda") or (v.startswith("cuda:") and v[5:].isdigit()):
        return v
    raise ValueError(f"device={v!r} is not a torch device NeuCo-Bench accepts; use auto, cpu, "
                     "cuda or cuda:N")


class LinearParams(BaseModel):
    """``probe_params`` of ``probe_type: linear``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    batch_size: StrictInt | None = Field(None, ge=1)
    epochs: StrictInt | None = Field(None, ge=1)
    learning_rate: Number | None = Field(None, gt=0)
    device: str | None = None

    _device = field_validator("device")(_check_device)


class OptParams(BaseModel):
    """``probe_params.opt_params`` of ``probe_type: svm`` (NeuCo passes them to BayesSearchCV)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    n_iter: StrictInt = Field(50, ge=1)
    n_points: StrictInt = Field(1, ge=1)
    random_state: StrictInt | None = None
    optimizer_kwargs: dict[str, Any] | None = None
    error_score: Literal["raise"] | Number = "raise"
    n_jobs: StrictInt | None = None
    verbose: StrictInt | StrictBool = 0
    pre_dispatch: str | StrictInt | None = None
    iid: Any = None

    @model_validator(mode="before")
    @classmethod
    def _no_cv(cls, data: Any) -> Any:
        if isinstance(data, dict) and "cv" in data:
            raise ValueError("opt_params.cv must not be given: the splits are NeuCo-Bench's "
                             "k_folds ShuffleSplit; remove it")
        return data


def _pair(v: list[float] | None, key: str) -> list[float] | None:
    if v is not None and (len(v) != 2 or not v[0] < v[1]):
        raise ValueError(f"{key} must be [low, high] with low < high; got {v!r}")
    return v


class SvmParams(BaseModel):
    """``probe_params`` of ``probe_type: svm``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    C_start_end: list[Number]
    kernel_degree_list: StrictInt | list[StrictInt]
    kernel_coef0_start_end: list[Number] | None = None
    kernel_gamma_start_end: list[Number] | None = None
    epsilon_list: Number | list[Number] | None = None
    opt_params: OptParams | None = None

    @field_validator("C_start_end")
    @classmethod
    def _c(cls, v: list[float]) -> list[float]:
        _pair(v, "C_start_end")
        if v[0] <= 0:
            raise ValueError(f"C_start_end must be positive (C is searched log-uniformly); got {v!r}")
        return v

    @field_validator("kernel_gamma_start_end")
    @classmethod
    def _gamma(cls, v: list[float] | None) -> list[float] | None:
        _pair(v, "kernel_gamma_start_end")
        if v is not None and v[0] <= 0:
            raise ValueError(f"kernel_gamma_start_end must be positive (log-uniform); got {v!r}")
        return v

    @field_validator("kernel_coef0_start_end")
    @classmethod
    def _coef0(cls, v: list[float] | None) -> list[float] | None:
        return _pair(v, "kernel_coef0_start_end")

    @field_validator("epsilon_list")
    @classmethod
    def _eps(cls, v: float | list[float] | None) -> float | list[float] | None:
        values = [v] if isinstance(v, int | float) else (v or [])
        if any(e <= 0 for e in values):
            raise ValueError(f"epsilon_list values must be positive; got {v!r}")
        return v

    @model_validator(mode="after")
    def _degree_one(self) -> SvmParams:
        degrees = ([self.kernel_degree_list] if isinstance(self.kernel_degree_list, int)
                   else self.kernel_degree_list)
        if not degrees or any(d < 1 for d in degrees):
            raise ValueError(f"kernel_degree_list must hold degrees ≥ 1; got "
                             f"{self.kernel_degree_list!r}")
        if 1 in degrees and (self.kernel_gamma_start_end is not None
                             or self.kernel_coef0_start_end is not None):
            raise ValueError("kernel_degree_list holds 1, which NeuCo-Bench refuses with "
                             "kernel_gamma_start_end or kernel_coef0_start_end; drop degree 1 or "
                             "those ranges")
        return self


class NeucoYaml(BaseModel):
    """The keys of a NeuCo-Bench configuration (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    k_folds: StrictInt = Field(ge=2)
    probe_type: Literal["linear", "svm"] = "linear"
    probe_params: dict[str, Any] | None = None
    epochs: StrictInt | None = Field(None, ge=1)
    batch_size: StrictInt | None = Field(None, ge=1)
    learning_rate: Number | None = Field(None, gt=0)
    device: str | None = None
    embedding_dim: StrictInt | None = Field(None, ge=1)
    standardize_embeddings: StrictBool = True
    normalize_labels: StrictBool = True
    enable_plots: StrictBool = True
    update_leaderboard: StrictBool = False
    output_fold_results: StrictBool = False
    store_probes: StrictBool = False
    store_models: StrictBool = False
    task_filter: list[str] | Literal[False] | None = None
    require_complete: StrictBool = False
    epsilon: Number | None = Field(None, gt=0)
    seed: StrictInt | None = Field(None, ge=0)
    test_size: Number | None = Field(None, gt=0, lt=1)

    _device = field_validator("device")(_check_device)

    @field_validator("task_filter")
    @classmethod
    def _task_filter(cls, v: list[str] | Literal[False] | None) -> list[str] | None:
        if v is False or v is None:
            return None
        if not v:
            raise ValueError("task_filter: [] selects no task; list task names, or remove it "
                             "(or set null) to evaluate every task")
        return v


#: Every top-level key planetbench reads.
KNOWN_KEYS: tuple[str, ...] = tuple(NeucoYaml.model_fields)
LINEAR_PARAM_KEYS: tuple[str, ...] = tuple(LinearParams.model_fields)
SVM_PARAM_KEYS: tuple[str, ...] = tuple(SvmParams.model_fields)
PROBE_PARAM_KEYS = LINEAR_PARAM_KEYS


@dataclass(frozen=True)
class NeucoConfig:
    """A NeuCo-Bench configuration mapped onto planetbench.

    Attributes:
        probe: the probe configuration (``neuco`` or ``neuco-svm``).
        probe_type: NeuCo's ``probe_type``.
        probe_options: settings of the probe (``batch_size``, ``lr``, or the SVM search).
        hyperparameters: what NeuCo writes as a linear task's ``hyperparamaters``.
        standardize: NeuCo's ``standardize_embeddings``.
        normalize_labels: NeuCo's ``normalize_labels``.
        plots: NeuCo's ``enable_plots``.
        update_leaderboard: write the phase's leaderboard.
        output_fold_results: write the fold scores ``q_t`` per task.
        store_probes: keep each task's probe.
        task_filter: task names to evaluate, or None for all.
        require_complete: missing ids and empty labels are errors.
        device: the torch device named (it does not change planetbench's numbers).
        raw: the YAML content as read.
    """

    probe: ProbeConfig
    probe_type: str
    probe_options: dict[str, Any]
    hyperparameters: dict[str, Any]
    standardize: bool
    normalize_labels: bool
    plots: bool
    update_leaderboard: bool
    output_fold_results: bool
    store_probes: bool
    task_filter: list[str] | None
    require_complete: bool
    device: str
    raw: dict[str, Any] = field(repr=False)

    def written(self, *, n_tasks: int) -> dict[str, Any]:
        """The configuration as NeuCo-Bench v1.1 writes it into ``results_summary.json``.

        NeuCo-Bench's evaluation changes its configuration while it runs: once a linear task has
        run, ``probe_params`` has lost ``device``; once an SVM task has run, ``opt_params``
        (when given) has gained ``random_state: 42``. This applies the same changes.
        """
        out = copy.deepcopy(self.raw)
        params = out.get("probe_params")
        if n_tasks and isinstance(params, dict):
            if self.probe_type == "linear":
                params.pop("device", None)
            elif isinstance(params.get("opt_params"), dict):
                params["opt_params"].setdefault("random_state", 42)
        return out


def _unknown(keys: list[str], known: tuple[str, ...], where: str) -> str:
    hints = []
    for key in keys:
        close = did_you_mean(key, list(known), n=1)
        hints.append(f"{key!r}" + (f" ({close})" if close else ""))
    return f"unknown {where} key(s) {', '.join(hints)}; known: {', '.join(known)}"


def _message(source: str, exc: ValidationError, prefix: str = "") -> str:
    parts: list[str] = []
    unknown = [".".join(map(str, e["loc"])) for e in exc.errors() if e["type"] == "extra_forbidden"]
    seen: set[str] = set()
    for err in exc.errors():
        key = prefix + (str(err["loc"][0]) if err["loc"] else "")
        if err["type"] == "extra_forbidden" or key in seen:
            continue
        seen.add(key)
        if err["type"] == "missing":
            parts.append(f"the required key {key!r} is missing")
        elif err["type"] == "value_error":
            parts.append(str(err["ctx"]["error"]))
        elif err["type"] == "bool_type":
            parts.append(f"{key!r} must be true or false; got {err['input']!r}")
        else:
            parts.append(f"{key or '(root)'!r}: {err['msg'].lower()}; got {err['input']!r}")
    if unknown:
        parts.insert(0, "unknown key(s) " + ", ".join(repr(prefix + u) for u in unknown))
    return f"{source}: " + "; ".join(dict.fromkeys(parts))


def _validate(model: type[BaseModel], raw: Any, source: str, prefix: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        unknown = [e["loc"][-1] for e in exc.errors() if e["type"] == "extra_forbidden"
                   and len(e["loc"]) == 1]
        if unknown:
            where = f"{prefix.rstrip('.')}" if prefix else "NeuCo-Bench config"
            known = tuple(model.model_fields)
            rest = _message(source, exc, prefix).split(": ", 1)[1]
            rest = "; ".join(p for p in rest.split("; ") if not p.startswith("unknown key"))
            msg = f"{source}: {_unknown([str(u) for u in unknown], known, where)}"
            raise ConfigError(msg + (f"; {rest}" if rest else "")) from None
        raise ConfigError(_message(source, exc, prefix)) from None


def parse_neuco_config(raw: Any, *, source: str) -> NeucoConfig:
    """Map a NeuCo-Bench configuration onto planetbench (see the module docstring).

    Raises:
        ConfigError: unknown keys, wrong types, impossible values, a missing ``k_folds``; the
            message names each key.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: a NeuCo-Bench config must be a YAML mapping of keys")
    odd = [k for k in raw if not isinstance(k, str)]
    if odd:
        raise ConfigError(f"{source}: config keys must be names; got {', '.join(map(repr, odd))}")
    parsed: NeucoYaml = _validate(NeucoYaml, raw, source, "")
    params = raw.get("probe_params") or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{source}: probe_params must be a mapping; got {params!r}")
    probe_values: dict[str, Any] = {"n_splits": parsed.k_folds}
    options: dict[str, Any] = {}
    hyper: dict[str, Any] = {}
    device = parsed.device or "auto"
    if parsed.probe_type == "linear":
        lin: LinearParams = _validate(LinearParams, params, source, "probe_params.")
        merged: dict[str, Any] = {}
        for key in ("epochs", "batch_size", "learning_rate"):
            top, inner = getattr(parsed, key), getattr(lin, key)
            if top is not None and inner is not None and top != inner:
                raise ConfigError(f"{source}: {key!r} is set twice with different values ({top!r} "
                                  f"at the top level, {inner!r} in probe_params); keep one")
            merged[key] = inner if inner is not None else top
        device = lin.device or device
        probe_values["probe"] = "neuco"
        if merged["epochs"] is not None:
            probe_values["neuco_epochs"] = merged["epochs"]
        batch = merged["batch_size"] if merged["batch_size"] is not None else DEFAULT_BATCH_SIZE
        lr = merged["learning_rate"] if merged["learning_rate"] is not None \
            else DEFAULT_LEARNING_RATE
        options = {"batch_size": batch, "lr": float(lr),
                   "normalize_labels": parsed.normalize_labels}
    else:
        for key in ("epochs", "batch_size", "learning_rate"):
            if getattr(parsed, key) is not None:
                raise ConfigError(f"{source}: {key!r} belongs to probe_type linear; remove it or "
                                  "set probe_type: linear")
        svm: SvmParams = _validate(SvmParams, params, source, "probe_params.")
        probe_values["probe"] = "neuco-svm"
        options = {"search": svm.model_dump(exclude_none=True),
                   "normalize_labels": parsed.normalize_labels}
    if parsed.embedding_dim is not None:
        probe_values["dim"] = parsed.embedding_dim
    probe_values.update({k: raw[k] for k in ("epsilon", "seed", "test_size") if k in raw})
    probe = validate_config(ProbeConfig, probe_values, source=source)
    if parsed.probe_type == "linear":
        hyper = {"epochs": probe.neuco_epochs, "learning_rate": options["lr"]
                 if merged["learning_rate"] is None else merged["learning_rate"],
                 "batch_size": options["batch_size"]}
    return NeucoConfig(
        probe=probe,
        probe_type=parsed.probe_type,
        probe_options=options,
        hyperparameters=hyper,
        standardize=parsed.standardize_embeddings,
        normalize_labels=parsed.normalize_labels,
        plots=parsed.enable_plots,
        update_leaderboard=parsed.update_leaderboard,
        output_fold_results=parsed.output_fold_results,
        store_probes=parsed.store_probes,
        task_filter=parsed.task_filter if parsed.task_filter else None,
        require_complete=parsed.require_complete,
        device=device,
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
        raise ConfigError(
            f"config file {str(path)!r} {what}; pass NeuCo-Bench's YAML configuration with "
            "--config (default: config.yaml in the working folder)"
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (a binary file?): byte {exc.start} "
            "cannot be decoded; pass the NeuCo-Bench YAML configuration with --config"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from None
    return parse_neuco_config(raw or {}, source=str(path))


__all__ = [
    "KNOWN_KEYS",
    "LINEAR_PARAM_KEYS",
    "PROBE_PARAM_KEYS",
    "SVM_PARAM_KEYS",
    "LinearParams",
    "NeucoConfig",
    "NeucoYaml",
    "OptParams",
    "SvmParams",
    "load_neuco_config",
    "parse_neuco_config",
]
