"""Shared fixtures: no network beyond loopback, hub caches in tmp_path, a fresh store per test."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

_LOOPBACK = ("127.0.0.1", "::1", "localhost", "")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Refuse non-loopback connections and point every hub cache at a temporary folder."""
    real_connect = socket.socket.connect

    def guarded_connect(self: socket.socket, address: Any) -> Any:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in _LOOPBACK and not host.startswith("/"):
            raise OSError(f"tests may not reach the network (tried {address!r})")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    cache = tmp_path_factory.mktemp("hub-cache")
    for var in ("TORCH_HOME", "HF_HOME", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(cache / var.lower()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PLANETBENCH_CACHE", str(cache / "planetbench"))


@pytest.fixture
def store_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh SQLite store for the test, also set as $PLANETBENCH_STORE."""
    url = f"sqlite:///{tmp_path / 'results.sqlite'}"
    monkeypatch.setenv("PLANETBENCH_STORE", url)
    yield url


#: Environment variable naming a PostgreSQL server for the store tests (.ci/postgres sets it).
POSTGRES_ENV = "PLANETBENCH_TEST_POSTGRES_URL"


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database for the test, dropped afterwards.

    Created on the server named by ``$PLANETBENCH_TEST_POSTGRES_URL`` (``.ci/postgres`` starts a
    throwaway cluster on 127.0.0.1 and sets it); the test skips when the variable is unset.
    """
    base = os.environ.get(POSTGRES_ENV)
    if not base:
        pytest.skip(f"${POSTGRES_ENV} is unset: no PostgreSQL server (.ci/postgres starts one)")
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    server = sa.engine.make_url(base)
    name = f"pb_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


@pytest.fixture
def shared_data() -> Path:
    """The real data in ../shared/data; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (CI has it beside the clone)")
    return SHARED_DATA


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """One torch intra-op thread for the test: on a shared CPU, OpenMP spin-waits make tiny
    models 100× slower. Use with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    from planetbench.runs.runner import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture
def tiny_dense_registry(one_torch_thread: None) -> Iterator[None]:
    """The tiny encoders and two tiny segmentation tasks (``tiny-seg``, ``tiny-seg2``) registered
    for the test, on one torch thread."""
    from planetbench.encoders import ENCODERS, load_builtin_encoders
    from planetbench.tasks import TASKS, load_builtin_tasks
    from planetbench.testing import registered, tiny_encoders, tiny_segmentation_task

    load_builtin_encoders()
    load_builtin_tasks()
    tasks = {"tiny-seg": tiny_segmentation_task(suite="test"),
             "tiny-seg2": tiny_segmentation_task("tiny-seg2", suite="test")}
    with registered(ENCODERS, tiny_encoders()), registered(TASKS, tasks):
        yield


@pytest.fixture
def without_terratorch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Behave as a machine without the optional terratorch package (CI installs it, so the
    'not installed' paths are tested by simulation): ``find_spec('terratorch')`` is None and the
    terratorch encoders are registered as they are where it is absent."""
    import importlib.util

    from planetbench.encoders import ENCODERS, load_builtin_encoders
    from planetbench.encoders import terratorch as tt
    from planetbench.testing import registered

    real_find_spec = importlib.util.find_spec

    def find_spec(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "terratorch" or name.startswith("terratorch."):
            return None
        return real_find_spec(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    load_builtin_encoders()
    entries = {
        spec.name: type(ENCODERS.get(spec.name))(tt.registered_spec(spec),
                                                 ENCODERS.get(spec.name).factory)
        for spec in tt.SPECS
    }
    with registered(ENCODERS, entries):
        yield
