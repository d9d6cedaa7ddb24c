"""Result: one evaluated run, as stored."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

from planetbench.config import config_hash


def run_key(
    *,
    model: str,
    task: str,
    protocol: str,
    config_hash: str,
    seed: int | None = None,
    fraction: float | None = None,
    lr: float | None = None,
    input_sha256: str = "",
) -> str:
    """Identity of a run: equal keys mean the same work, so a re-run can skip it."""
    parts = [model, task, protocol, config_hash, str(seed), str(fraction), str(lr), input_sha256]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]


@dataclass
class Result:
    """One run: what was evaluated, how, and what came out.

    Attributes:
        model: the model/encoder/submission name (one leaderboard row).
        task: task id.
        protocol: ``probe``, ``frozen``, ``finetune``, or a literature protocol name.
        metric: name of the main metric (``r2``, ``f1_macro``, ``miou`` …).
        score: value of the main metric (mean over splits for probes).
        suite: suite id (``neuco``, ``cryo``, ``mars``, ``demo`` …).
        probe: probe name for the probe protocol (``ridge``, ``logistic``, ``neuco``).
        config_hash: hash of the full configuration.
        seed: seed of the run.
        fraction: share of the training split used (1.0 = all).
        lr: learning rate, when one was set.
        n_splits: number of train/test splits (probes).
        fold_scores: main-metric value per split.
        q: NeuCo quality score, for probe runs.
        metrics: every other metric (per-split lists or scalars).
        efficiency: params, gflops, latency_ms, peak_memory_mb (missing values flagged, never 0).
        timings: seconds spent per phase.
        versions: package and library versions.
        config: the full configuration.
        input_sha256: checksum of the embedding file or weights evaluated.
        source: ``planetbench`` for our runs, ``literature`` for imported published numbers.
        notes: warnings recorded with the run (zero-filled bands, partial coverage …).
        run_key: identity for resume; computed from the fields above when empty.
    """

    model: str
    task: str
    protocol: str
    metric: str
    score: float
    suite: str = ""
    probe: str = ""
    config_hash: str = ""
    seed: int | None = None
    fraction: float | None = None
    lr: float | None = None
    n_splits: int | None = None
    fold_scores: list[float] = field(default_factory=list)
    q: float | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    efficiency: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    input_sha256: str = ""
    source: str = "planetbench"
    notes: list[str] = field(default_factory=list)
    run_key: str = ""

    def __post_init__(self) -> None:
        if not self.config_hash:
            self.config_hash = config_hash(self.config)
        if not self.run_key:
            self.run_key = run_key(
                model=self.model,
                task=self.task,
                protocol=self.protocol,
                config_hash=self.config_hash,
                seed=self.seed,
                fraction=self.fraction,
                lr=self.lr,
                input_sha256=self.input_sha256,
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field."""
        return asdict(self)


def library_versions() -> dict[str, str]:
    """Versions of planetbench and the libraries that shape its numbers."""
    from importlib.metadata import PackageNotFoundError, version

    out: dict[str, str] = {}
    for pkg in (
        "planetbench",
        "numpy",
        "scipy",
        "scikit-learn",
        "pandas",
        "torch",
        "torchgeo",
        "timm",
    ):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            continue
    return out
