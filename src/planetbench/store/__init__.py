"""The results store: append-only run rows in SQLite (default) or any SQLAlchemy database."""

from planetbench.store.result import Result, run_key
from planetbench.store.store import ResultStore, default_store_url, open_store

__all__ = ["Result", "ResultStore", "default_store_url", "open_store", "run_key"]
