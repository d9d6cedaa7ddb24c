"""The results store: one row per run in SQLite (default) or any SQLAlchemy database."""

from planetbench.store.result import Result, run_key
from planetbench.store.store import (
    AddSummary,
    ResultStore,
    RetractSummary,
    StoreUpgradeWarning,
    default_store_url,
    open_store,
)

__all__ = [
    "AddSummary",
    "Result",
    "ResultStore",
    "RetractSummary",
    "StoreUpgradeWarning",
    "default_store_url",
    "open_store",
    "run_key",
]
