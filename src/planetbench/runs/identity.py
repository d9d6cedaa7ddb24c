"""The identity of a dense run: its model name, its label, its config hash and its run key.

The run key is known before the run executes, so a grid resumes by skipping the runs whose key is
already in the store.
"""

from __future__ import annotations

from planetbench.config import DenseRunConfig, config_hash
from planetbench.store.result import run_key

#: Settings left out of a run's config hash: paths and speed knobs that do not change its outcome
#: (the frozen feature cache gives the same numbers stored or recomputed), and the fields that
#: enter the run key on their own (seed, fraction, lr).
_NOT_IN_HASH = frozenset(
    {"root", "roots", "num_workers", "num_threads", "latency_repeats", "cache", "fraction_dir",
     "seed", "fraction", "lr"}
)

#: Per-name maps of which a run only uses its own entry (its encoder's or its task's).
_OWN_ENTRY = {"encoder_options": "encoder", "data_options": "task"}


def run_model(run: DenseRunConfig) -> str:
    """The model name (leaderboard row) of a run: the encoder id, plus its options if any.

    ``vit`` with ``encoder_options={"vit": {"tiny": True}}`` is ``vit (tiny)``; other options
    appear as ``key=value`` (e.g. ``mosaiks (num_filters=16)``), so a variant never shares a row
    with the registered encoder. (Parentheses, not brackets, which Rich reads as markup.)
    """
    options = run.encoder_options.get(run.encoder, {})
    if not options:
        return run.encoder
    parts = [k if v is True else f"{k}={v}" for k, v in sorted(options.items())]
    return f"{run.encoder} ({', '.join(parts)})"


def run_label(run: DenseRunConfig) -> str:
    """One line naming a run: model · task · protocol · fraction · lr · seed."""
    return (f"{run_model(run)} · {run.task} · {run.protocol} · f={run.fraction:g} · "
            f"lr={run.lr:g} · seed={run.seed}")


def run_config_hash(run: DenseRunConfig) -> str:
    """Hash of the settings that define the run's work (paths and speed knobs excluded).

    Of the per-encoder and per-task option maps only the run's own entry counts, so adding
    options for another encoder or task to an experiment does not re-run this one.
    """
    data = run.model_dump(mode="json")
    for field_name, owner in _OWN_ENTRY.items():
        data[field_name] = data.get(field_name, {}).get(getattr(run, owner), {})
    return config_hash({k: v for k, v in data.items() if k not in _NOT_IN_HASH})


def planned_run_key(run: DenseRunConfig, *, weights_sha256: str | None = None) -> str:
    """The run key the run's Result will carry (known before running, for resume).

    Args:
        run: the run.
        weights_sha256: the encoder spec's declared weights checksum; looked up in the encoder
            registry when None (workers pass the spec they were shipped).

    Raises:
        UnknownNameError: ``weights_sha256`` is None and the encoder is not registered.
    """
    if weights_sha256 is None:
        from planetbench.encoders import get_encoder

        weights_sha256 = get_encoder(run.encoder).spec.weights_sha256
    return run_key(
        model=run_model(run), task=run.task, protocol=run.protocol,
        config_hash=run_config_hash(run), seed=run.seed, fraction=run.fraction, lr=run.lr,
        input_sha256=weights_sha256,
    )


__all__ = ["planned_run_key", "run_config_hash", "run_label", "run_model"]
