"""Encoders: the registry, specs, band alignment and built-in encoder families.

Importing this package needs torch (``pip install 'planetbench[dense]'``).
"""

from __future__ import annotations

import importlib

from planetbench.encoders.base import ENCODERS, Encoder, EncoderSpec, RegisteredEncoder

#: Built-in encoder modules, imported on first lookup so that each registers its encoders.
ENCODER_MODULES: tuple[str, ...] = (
    "planetbench.encoders.baselines",
    "planetbench.encoders.scratch",
    "planetbench.encoders.torchgeo",
    "planetbench.encoders.timm",
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


def list_encoders() -> list[str]:
    """Ids of all registered encoders."""
    load_builtin_encoders()
    return ENCODERS.list()


__all__ = [
    "ENCODERS",
    "Encoder",
    "EncoderSpec",
    "RegisteredEncoder",
    "get_encoder",
    "list_encoders",
]
