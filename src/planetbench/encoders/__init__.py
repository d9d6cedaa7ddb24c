"""Encoders: the registry, specs, band alignment and built-in encoder families.

Importing this package needs torch (``pip install 'planetbench[dense]'``).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planetbench.encoders.base import (
    ENCODERS,
    Encoder,
    EncoderSpec,
    RegisteredEncoder,
    default_device,
)
from planetbench.errors import InvalidInputError

if TYPE_CHECKING:
    import torch

    from planetbench.tasks.bands import Band

#: Built-in encoder modules, imported on first lookup so that each registers its encoders.
ENCODER_MODULES: tuple[str, ...] = (
    "planetbench.encoders.baselines",
    "planetbench.encoders.scratch",
    "planetbench.encoders.unet_cryobench",
    "planetbench.encoders.torchgeo",
    "planetbench.encoders.terratorch",
    "planetbench.encoders.timm",
    "planetbench.encoders.presto",
    "planetbench.encoders.cryobench",
    "planetbench.encoders.marsbench",
    "planetbench.encoders.marsbench_models",
)


def load_builtin_encoders() -> None:
    """Import every built-in encoder module that exists."""
    for module in ENCODER_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def get_encoder(name: str) -> RegisteredEncoder:
    """Return the registered encoder ``name`` (did-you-mean on a miss)."""
    load_builtin_encoders()
    return ENCODERS.get(name)


def build_encoder(
    name: str,
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    device: str | torch.device | None = None,
    **options: Any,
) -> Encoder:
    """Build the registered encoder ``name`` and move it to ``device``.

    Args:
        name: registry id (did-you-mean on a miss).
        in_bands: the task's bands (needed by the any-band baselines and by the
            wavelength-conditioned encoders; others ignore them).
        tiny: build the tiny test variant (random weights unless ``weights`` is a file).
        weights: None (the published weights: cache, else download), ``"none"`` (random, only
            for from-scratch baselines) or a local checkpoint, loaded strictly.
        device: where to put the encoder; :func:`~planetbench.encoders.base.default_device`
            (CUDA when present, else CPU) when None.
        **options: encoder-specific options (``img_size``, ``seed``, ``wavelengths_um`` …).

    Returns:
        The encoder, in eval mode, on ``device``.

    Raises:
        UnknownNameError: ``name`` is not registered.
        MissingDependencyError: the encoder is listed as unavailable.
        WeightsUnavailableError: the weights cannot be found nor downloaded (URL + cache path).
        WeightsMismatchError: the checkpoint does not match the architecture.
        InvalidInputError: ``name`` is a whole-model baseline (no features to give).
    """
    import torch

    registered = get_encoder(name)
    if registered.spec.whole_model:
        raise InvalidInputError(
            f"{name!r} is a whole {registered.spec.whole_model} model (Mars-Bench's baseline with "
            "its own decoder/detector), not an encoder: it gives no features or embeddings. Run "
            f"it with `planetbench run --encoder {name}` on a {registered.spec.whole_model} task"
        )
    encoder = registered.factory(in_bands=in_bands, tiny=tiny, weights=weights, **options)
    target = default_device() if device is None else torch.device(device)
    return encoder.to(target).eval()


def list_encoders() -> list[str]:
    """Ids of the registered encoders (feature extractors; whole models are listed apart)."""
    load_builtin_encoders()
    return [name for name in ENCODERS.list() if not ENCODERS.get(name).spec.whole_model]


def list_whole_models() -> list[str]:
    """Ids of the registered whole-model baselines (Mars-Bench's segmenters and detectors,
    :mod:`planetbench.encoders.marsbench_models`), which ``planetbench run`` takes in place of
    an encoder."""
    load_builtin_encoders()
    return [name for name in ENCODERS.list() if ENCODERS.get(name).spec.whole_model]


__all__ = [
    "ENCODERS",
    "Encoder",
    "EncoderSpec",
    "RegisteredEncoder",
    "build_encoder",
    "default_device",
    "get_encoder",
    "list_encoders",
    "list_whole_models",
]
