"""Importers of published result tables into the results store.

Every format reads its own layout into one *long schema* (:mod:`.schema`), validated row by row
before anything is written; :func:`import_results` then writes the new rows in one transaction.

Built-in formats, one module each: ``long`` (:mod:`.long`), ``geobench2`` (:mod:`.geobench2`),
``geobench-v1`` (:mod:`.geobench_v1`), ``cryobench`` (:mod:`.cryobench`) and ``marsbench``
(:mod:`.marsbench`, Mars-Bench's per-seed run tables). To add a format,
write a module with a reader and a :class:`TableFormat` named ``FORMAT`` and add the module to
:data:`~planetbench.store.importers.formats.FORMAT_MODULES`.
"""

from planetbench.store.importers.cryobench import CRYOBENCH_TASKS, read_cryobench
from planetbench.store.importers.formats import (
    AUTO,
    FORMAT_MODULES,
    FORMATS,
    TableFormat,
    detect_and_read,
    detect_format,
    format_names,
    get_format,
    load_builtin_formats,
    register_format,
)
from planetbench.store.importers.geobench2 import (
    GEOBENCH2_METRICS,
    GEOBENCH2_PROTOCOLS,
    GEOBENCH2_VARIANTS,
    read_geobench2,
)
from planetbench.store.importers.geobench_v1 import read_geobench_v1
from planetbench.store.importers.long import read_long_csv
from planetbench.store.importers.schema import (
    LONG_COLUMNS,
    OPTIONAL_COLUMNS,
    PROVENANCE_COLUMNS,
    REQUIRED_COLUMNS,
    validate_long,
)
from planetbench.store.importers.writer import ImportSummary, import_results, literature_run_keys

__all__ = [
    "AUTO",
    "CRYOBENCH_TASKS",
    "FORMATS",
    "FORMAT_MODULES",
    "GEOBENCH2_METRICS",
    "GEOBENCH2_PROTOCOLS",
    "GEOBENCH2_VARIANTS",
    "LONG_COLUMNS",
    "OPTIONAL_COLUMNS",
    "PROVENANCE_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportSummary",
    "TableFormat",
    "detect_and_read",
    "detect_format",
    "format_names",
    "get_format",
    "import_results",
    "literature_run_keys",
    "load_builtin_formats",
    "read_cryobench",
    "read_geobench2",
    "read_geobench_v1",
    "read_long_csv",
    "register_format",
    "validate_long",
]
