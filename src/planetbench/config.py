"""Validated configuration models (pydantic) for CLI input and experiment files.

Configs are frozen and hashed into run keys: two runs with equal configs are the same work.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from planetbench.errors import ConfigError
from planetbench.store.result import config_hash

ProbeName = Literal["auto", "ridge", "logistic", "neuco"]


class FrozenModel(BaseModel):
    """Base for configs: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def config_hash(self) -> str:
        """Stable hash of every field."""
        return config_hash(self.model_dump(mode="json"))


class ProbeConfig(FrozenModel):
    """How embeddings are probed: probe family, number of random splits, Q-score ε.

    ``probe="auto"`` picks ``ridge`` for regression and ``logistic`` for classification tasks.
    ``test_size`` and ``seed`` default to NeuCo-Bench's (0.1, 42) when ``probe="neuco"`` and they
    are not given.
    """

    probe: ProbeName = "auto"
    n_splits: int = Field(10, ge=2, le=10_000, description="K random train/test splits per task")
    test_size: float | None = Field(None, gt=0.0, lt=1.0, description="test share of each split")
    seed: int | None = Field(None, ge=0, description="seed of the splits and probes")
    epsilon: float = Field(0.02, gt=0.0, description="ε of the Q score")
    dim: int | None = Field(None, ge=1, description="maximum number of embedding columns")
    allow_missing: bool = False
    neuco_epochs: int = Field(20, ge=1, description="epochs of the neuco probe")

    @model_validator(mode="after")
    def _protocol_defaults(self) -> ProbeConfig:
        neuco = self.probe == "neuco"
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
