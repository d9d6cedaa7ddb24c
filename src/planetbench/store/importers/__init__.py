"""Importers of published result tables (long CSV, GEO-Bench-2, GEO-Bench v1, Cryo-Bench)."""

from planetbench.store.importers.tables import (
    FORMATS,
    detect_and_read,
    import_results,
    read_cryobench,
    read_geobench2,
    read_geobench_v1,
    read_literature_csv,
    validate_long,
)

__all__ = [
    "FORMATS",
    "detect_and_read",
    "import_results",
    "read_cryobench",
    "read_geobench2",
    "read_geobench_v1",
    "read_literature_csv",
    "validate_long",
]
