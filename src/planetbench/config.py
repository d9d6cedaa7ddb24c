"""Validated configuration models (pydantic) for CLI input and experiment files.

Configs are frozen and hashed into run keys: two runs with equal configs are the same work.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planetbench.errors import ConfigError


def config_hash(config: dict[str, Any]) -> str:
    """Stable short hash of a JSON-serialisable configuration (sorted keys)."""
    blob = json.dumps(config, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


ProbeName = Literal["auto", "ridge", "logistic", "neuco"]
#: Probes of an embedding evaluation: also NeuCo-Bench's SVM (``planetbench neuco``, probe_type
#: svm), which hosted challenges do not offer.
EvaluationProbeName = Literal["auto", "ridge", "logistic", "neuco", "neuco-svm"]


class FrozenModel(BaseModel):
    """Base for configs: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """Stable hash of every field."""
        return config_hash(self.model_dump(mode="json"))


class ProbeConfig(FrozenModel):
    """How embeddings are probed: probe family, number of random splits, Q-score ε.

    ``probe="auto"`` picks ``ridge`` for regression and ``logistic`` for classification tasks.
    ``test_size`` and ``seed`` default to NeuCo-Bench's (0.1, 42) for its probes ``neuco`` and
    ``neuco-svm`` when they are not given.
    """

    probe: EvaluationProbeName = "auto"
    n_splits: int = Field(10, ge=2, le=10_000, description="K random train/test splits per task")
    test_size: float | None = Field(None, gt=0.0, lt=1.0, description="test share of each split")
    seed: int | None = Field(None, ge=0, description="seed of the splits and probes")
    epsilon: float = Field(0.02, gt=0.0, description="ε of the Q score")
    dim: int | None = Field(None, ge=1, description="maximum number of embedding columns")
    allow_missing: bool = False
    neuco_epochs: int = Field(20, ge=1, description="epochs of the neuco probe")

    @model_validator(mode="after")
    def _protocol_defaults(self) -> ProbeConfig:
        neuco = self.probe in ("neuco", "neuco-svm")
        if self.test_size is None:
            object.__setattr__(self, "test_size", 0.1 if neuco else 0.2)
        if self.seed is None:
            object.__setattr__(self, "seed", 42 if neuco else 0)
        return self


def validate_config(model: type[FrozenModel], data: dict[str, Any], *, source: str) -> Any:
    """Build ``model`` from ``data`` or raise a :class:`ConfigError` listing every problem.

    Args:
        model: the pydantic model class.
        data: raw values (from a YAML file or CLI flags).
        source: where the values came from, named in the message (a file path or "command line").
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
            f" (got {err.get('input')!r})"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration in {source}: {problems}") from None


# ----------------------------------------------------------------------------- dense experiments


class DenseSettings(FrozenModel):
    """Training settings shared by every run of a dense experiment.

    ``root`` is the data folder of every task; ``roots`` overrides it per task id,
    ``data_options`` passes reader options per task id, ``encoder_options`` factory options per
    encoder id and ``weights`` a local weights file per encoder id.

    Settings left at None take the run's protocol's own default (``input_size``, ``epochs``,
    ``patience``, ``head``, ``band_policy``): 512 px, 50 epochs, patience 10, ``upernet``,
    ``auto`` for ``frozen``/``finetune``; the encoder's input size, 80 epochs, no early stopping,
    Cryo-Bench's decoder and band policy for ``cryobench``. Each run records the values it used
    (:func:`planetbench.runs.identity.resolve_run`).

    ``head``, ``band_policy``, ``cache`` (and the protocols of a run) are names in their
    registries (heads, band policies, feature cache modes, dense protocols), so a plugin's entry
    can be chosen; this module imports no registry, and the names are checked against them when
    an experiment is loaded (:mod:`planetbench.runs.experiment`) and again before any run starts.
    """

    root: str | None = Field(None, description="data folder of the tasks")
    roots: dict[str, str] = Field(default_factory=dict, description="task id → data folder")
    data_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="task id → reader options"
    )
    encoder_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="encoder id → factory options (e.g. {vit: {tiny: true}}); part of the run's "
        "identity and shown in its model name",
    )
    fraction_dir: str | None = Field(
        None, description="folder of the saved label-fraction id lists (default: user cache)"
    )
    weights: dict[str, str] = Field(
        default_factory=dict,
        description="encoder id → local weights file, loaded strictly instead of the cache or a "
        "download (the file's sha256 enters the run's identity)",
    )
    input_size: int | None = Field(
        None, ge=8, description="side (px) images are resized to (default: the protocol's)"
    )
    epochs: int | None = Field(None, ge=1, description="epochs (default: the protocol's)")
    patience: int | None = Field(
        None, ge=1, description="early-stopping patience in epochs (default: the protocol's)"
    )
    batch_size: int = Field(8, ge=2, description="images per step")
    weight_decay: float = Field(0.05, ge=0.0, description="AdamW weight decay")
    head: str | None = Field(
        None, description="head id (upernet, unet, linear or a plugin's; default: the protocol's)"
    )
    head_options: dict[str, Any] = Field(default_factory=dict, description="head factory options")
    dice_weight: float = Field(0.0, ge=0.0, description="weight of the Dice loss added to CE")
    augment: bool = Field(False, description="random flips (disables the frozen feature cache)")
    cache: str = Field("memory", description="frozen feature cache mode (memory, disk, none)")
    band_policy: str | None = Field(
        None, description="band alignment policy (auto, match, sar-rgb, wavelength, zero-fill, "
        "cryobench or a plugin's; default: the protocol's)"
    )
    fraction_seed: int = Field(0, ge=0, description="seed of the label-fraction draw")
    latency_repeats: int = Field(10, ge=1, description="timed passes for latency")
    num_workers: int = Field(0, ge=0, description="DataLoader workers")
    num_threads: int | None = Field(
        None, ge=1, description="torch CPU threads during each run (default: torch's own)"
    )
    memory_check: bool = Field(
        True, description="refuse a grid whose first run would not fit in this machine's memory"
    )
    # -- image-level runs (classification, detection: planetbench.runs.images) --------------
    # Names in their registries (planetbench.protocols.mars); segmentation runs refuse values
    # other than these defaults, and at these defaults they stay out of a run's config hash
    # (runs.identity.IMAGE_SETTINGS), so the identity of earlier runs is unchanged.
    normalisation: str = Field(
        "auto", description="image runs: imagenet (Mars-Bench), band-stats, or auto (imagenet "
        "for encoders with ImageNet weights)"
    )
    optimizer: str = Field("adamw", description="image runs: adam, adamw or sgd")
    scheduler: str = Field("none", description="image runs: none, cosine, step or plateau")
    loss: str = Field("default", description="image runs: default, bce or ce")
    monitor: str = Field(
        "score", description="image runs: best checkpoint by validation score or loss"
    )
    min_delta: float = Field(0.0, ge=0.0, description="image runs: early-stopping min delta")
    search_study: str | None = Field(
        None, description="the search a trial run belongs to (set by planetbench search)"
    )


class DenseRunConfig(DenseSettings):
    """One dense run: an encoder, a task, a protocol, a label fraction, a learning rate, a seed."""

    encoder: str
    task: str
    protocol: str = Field(
        "frozen", description="dense protocol (frozen, finetune, cryobench or a plugin's)"
    )
    fraction: float = Field(1.0, gt=0.0, le=1.0, description="share of the training split")
    lr: float = Field(1e-4, gt=0.0, description="AdamW learning rate")
    seed: int = Field(0, ge=0)

    def data_root(self) -> str:
        """The data folder of this run's task, or raise when none is configured."""
        root = self.roots.get(self.task, self.root)
        if root is None:
            raise ConfigError(
                f"no data folder for task {self.task!r}: set 'root' (or roots: {{{self.task}: "
                "DIR} in the experiment file, or --root on the command line)"
            )
        return root


class ExperimentSpec(DenseSettings):
    """A grid of dense runs: encoders × tasks × protocols × fractions × lrs × seeds.

    Example YAML::

        encoders: [unet, dofa-base]
        tasks: [caffe, glid]
        protocols: [frozen]
        fractions: [1.0, 0.1]
        lrs: [1.0e-4]
        seeds: [0, 1, 2]
        root: /data/cryo
        input_size: 512
    """

    encoders: list[str] = Field(min_length=1)
    tasks: list[str] = Field(min_length=1)
    protocols: list[str] = Field(default_factory=lambda: ["frozen"], min_length=1)
    fractions: list[float] = Field(default_factory=lambda: [1.0], min_length=1)
    lrs: list[float] = Field(default_factory=lambda: [1e-4], min_length=1)
    seeds: list[int] = Field(default_factory=lambda: [0], min_length=1)
    store: str | None = Field(None, description="results store URL or SQLite path")
    executor: Literal["local", "ray"] = Field(
        "local", description="where runs execute (not part of a run's identity)"
    )
    ray_address: str | None = Field(
        None, description="Ray cluster for executor: ray (default: start Ray here)"
    )

    @model_validator(mode="after")
    def _check_grid(self) -> ExperimentSpec:
        bad = [f for f in self.fractions if not 0.0 < f <= 1.0]
        if bad:
            raise ValueError(f"fractions must lie in (0, 1], got {bad}")
        if any(lr <= 0 for lr in self.lrs):
            raise ValueError(f"lrs must be positive, got {self.lrs}")
        if any(s < 0 for s in self.seeds):
            raise ValueError(f"seeds must be ≥ 0, got {self.seeds}")
        for name, values in (("encoders", self.encoders), ("tasks", self.tasks),
                             ("protocols", self.protocols)):
            if len(set(values)) != len(values):
                raise ValueError(f"{name} lists a name twice: {values}")
        keyed = (
            ("encoder_options", self.encoder_options, self.encoders, "encoders"),
            ("weights", self.weights, self.encoders, "encoders"),
            ("roots", self.roots, self.tasks, "tasks"),
            ("data_options", self.data_options, self.tasks, "tasks"),
        )
        for field_name, mapping, grid, grid_name in keyed:
            stray = sorted(set(mapping) - set(grid))
            if stray:
                raise ValueError(
                    f"{field_name} names {stray}, which are not in {grid_name} {grid}; fix the "
                    "spelling or add them to the grid"
                )
        return self

    def runs(self) -> list[DenseRunConfig]:
        """Every run of the grid, in order encoder, task, protocol, fraction, lr, seed."""
        shared = self.model_dump(
            exclude={"encoders", "tasks", "protocols", "fractions", "lrs", "seeds", "store",
                     "executor", "ray_address"}
        )
        return [
            DenseRunConfig(encoder=e, task=t, protocol=p, fraction=f, lr=lr, seed=s, **shared)
            for e in self.encoders
            for t in self.tasks
            for p in self.protocols
            for f in self.fractions
            for lr in self.lrs
            for s in self.seeds
        ]
