"""Fixtures of the encoder tests: warm the heavy imports once so per-test times are honest."""

from __future__ import annotations

import importlib

import pytest


@pytest.fixture(scope="session", autouse=True)
def _warm_imports() -> None:
    """Import torchgeo's and timm's model modules once per session (several seconds on 2 cores).

    The encoder factories import them lazily on first use; without this fixture the first test
    that builds a torchgeo model would carry the whole import time in its duration.
    """
    for module in ("timm", "torchgeo.models", "torchvision.models.swin_transformer"):
        importlib.import_module(module)
