"""Protocols: how a run trains. Linear probes on embeddings over K random splits (NumPy/SciPy)."""

from planetbench.protocols.probe import (
    MAIN_METRIC,
    PROBES,
    ProbeResult,
    ProbeSpec,
    resolve_probe,
    run_probe,
)
from planetbench.protocols.splits import KINDS, make_splits

__all__ = [
    "KINDS",
    "MAIN_METRIC",
    "PROBES",
    "ProbeResult",
    "ProbeSpec",
    "make_splits",
    "resolve_probe",
    "run_probe",
]
