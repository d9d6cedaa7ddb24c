"""planetbench: benchmark geospatial and planetary foundation models honestly and reproducibly.

The top-level API is light to import (no torch): heavy parts load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

from planetbench.errors import PlanetbenchError
from planetbench.store import Result, ResultStore

_LAZY: dict[str, str] = {
    "evaluate_embeddings": "planetbench.embedding.evaluate",
    "leaderboard": "planetbench.report.embedding_leaderboard",
    "embed_task": "planetbench.embedding.embed",
    "run_demo": "planetbench.demo.walkthrough",
    "build_report": "planetbench.report.build",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'planetbench' has no attribute {name!r}")


__all__ = ["PlanetbenchError", "Result", "ResultStore", "__version__", *_LAZY]
