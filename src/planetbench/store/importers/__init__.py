"""Importers of published result tables into the results store.

Every format reads its own layout into one *long schema* (:mod:`.schema`), validated row by row
before anything is written; :func:`import_results` then writes the new rows in one transaction.

Built-in formats, one module each: ``long`` (:mod:`.long`), ``geobench2`` (:mod:`.geobench2`),
``geobench-v1`` (:mod:`.geobench_v1`) and ``cryobench`` (:mod:`.cryobench`). To add a format,
write a module with a reader and a :class:`TableFormat` named ``FORMAT`` and register it below.
"""

from planetbench.store.importers import cryobench, geobench2, geobench_v1, long
from planetbench.store.importers.cryobench import CRYOBENCH_TASKS, read_cryobench
from planetbench.store.importers.formats import (
    AUTO,
    FORMATS,
    TableFormat,
    detect_and_read,
    detect_format,
    format_names,
    get_format,
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

for _module in (long, geobench2, geobench_v1, cryobench):
    register_format(_module.FORMAT)

__all__ = [
    "AUTO",
    "CRYOBENCH_TASKS",
    "FORMATS",
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
    "read_cryobench",
    "read_geobench2",
    "read_geobench_v1",
    "read_long_csv",
    "register_format",
    "validate_long",
]
