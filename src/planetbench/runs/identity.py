"""The identity of a dense run: its settings, model name, label, config hash and run key.

A run's settings left at None take its protocol's defaults (:func:`resolve_run`) before anything
else looks at them, so the stored configuration and the config hash hold the values the run used.
The run key is known before the run executes, so a grid resumes by skipping the runs whose key is
already in the store.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from planetbench.config import DenseRunConfig, config_hash
from planetbench.store.result import run_key

#: Settings left out of a run's config hash: paths and speed knobs that do not change its outcome
#: (the frozen feature cache gives the same numbers stored or recomputed), the fields that enter
#: the run key on their own (seed, fraction, lr; a ``weights`` file enters it by its sha256) and
#: the memory preflight switch.
_NOT_IN_HASH = frozenset(
    {"root", "roots", "num_workers", "num_threads", "latency_repeats", "cache", "fraction_dir",
     "seed", "fraction", "lr", "weights", "memory_check"}
)

#: Settings of image-level runs, left out of the config hash at their defaults (so that the
#: identity of the runs made before they existed is unchanged).
IMAGE_SETTINGS: dict[str, object] = {
    "normalisation": "auto", "optimizer": "adamw", "scheduler": "none", "loss": "default",
    "monitor": "score", "min_delta": 0.0, "search_study": None,
}

#: Per-name maps of which a run only uses its own entry (its encoder's or its task's).
_OWN_ENTRY = {"encoder_options": "encoder", "data_options": "task"}


def resolve_run(run: DenseRunConfig) -> DenseRunConfig:
    """``run`` with every setting left at None replaced by its protocol's default
    (:meth:`~planetbench.protocols.dense.DenseProtocol.run_defaults`); unchanged when nothing is
    None. An unregistered protocol takes the ``frozen``/``finetune`` defaults (the preflight
    reports the name)."""
    from planetbench.errors import UnknownNameError
    from planetbench.protocols.dense import DENSE_PROTOCOLS, DenseProtocol

    try:
        protocol = DENSE_PROTOCOLS.get(run.protocol)
    except UnknownNameError:
        protocol = DenseProtocol
    defaults = protocol.run_defaults(run.encoder)
    update = {k: v for k, v in defaults.items() if getattr(run, k) is None and v is not None}
    return run.model_copy(update=update) if update else run


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
    options for another encoder or task to an experiment does not re-run this one. Settings left
    at None count with their protocol's defaults (:func:`resolve_run`).
    """
    data = resolve_run(run).model_dump(mode="json")
    for field_name, owner in _OWN_ENTRY.items():
        data[field_name] = data.get(field_name, {}).get(getattr(run, owner), {})
    return config_hash({k: v for k, v in data.items() if k not in _NOT_IN_HASH
                        and not (k in IMAGE_SETTINGS and v == IMAGE_SETTINGS[k])})


def planned_run_key(run: DenseRunConfig, *, weights_sha256: str | None = None) -> str:
    """The run key the run's Result will carry (known before running, for resume).

    Args:
        run: the run.
        weights_sha256: the encoder spec's declared weights checksum; looked up in the encoder
            registry when None (workers pass the spec they were shipped). A weights file given
            in ``run.weights`` takes its place: the file's own sha256.

    Raises:
        UnknownNameError: ``weights_sha256`` is None and the encoder is not registered.
        InvalidInputError: the run's weights file cannot be read.
    """
    given = run.weights.get(run.encoder)
    if given is not None:
        weights_sha256 = file_sha256(given)
    elif weights_sha256 is None:
        from planetbench.encoders import get_encoder

        weights_sha256 = get_encoder(run.encoder).spec.weights_sha256
    return run_key(
        model=run_model(run), task=run.task, protocol=run.protocol,
        config_hash=run_config_hash(run), seed=run.seed, fraction=run.fraction, lr=run.lr,
        input_sha256=weights_sha256,
    )


def file_sha256(path: str) -> str:
    """Hex SHA-256 of the file at ``path`` (computed once per file version).

    Raises:
        InvalidInputError: the file does not exist or cannot be read.
    """
    from planetbench.errors import InvalidInputError

    p = Path(path).expanduser()
    try:
        stat = p.stat()
    except OSError as exc:
        raise InvalidInputError(
            f"weights file {str(p)!r} cannot be read ({exc.strerror}); check --weights "
            "ENCODER=PATH (or weights: in the experiment file)"
        ) from None
    return _sha256(str(p.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


__all__ = [
    "file_sha256",
    "planned_run_key",
    "resolve_run",
    "run_config_hash",
    "run_label",
    "run_model",
]
