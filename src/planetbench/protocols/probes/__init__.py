"""Linear probes on embeddings over K random splits (NumPy/SciPy; no torch)."""

from planetbench.protocols.probes.base import (
    MAIN_METRIC,
    PROBES,
    ProbeResult,
    ProbeSpec,
    resolve_probe,
    run_probe,
)
from planetbench.protocols.probes.splits import KINDS, make_splits

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
