"""Fixtures of the encoder tests: warm heavy imports once (honest per-test times), and a
loopback HTTP server for download tests."""

from __future__ import annotations

import functools
import http.server
import importlib
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session", autouse=True)
def _warm_imports() -> None:
    """Import torchgeo's and timm's model modules once per session (several seconds on 2 cores).

    The encoder factories import them lazily on first use; without this fixture the first test
    that builds a torchgeo model would carry the whole import time in its duration.
    """
    for module in ("timm", "torchgeo.models", "torchvision.models.swin_transformer"):
        importlib.import_module(module)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loopback HTTP server serving the files of a temporary folder: (base URL, folder)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", root
    finally:
        httpd.shutdown()
        httpd.server_close()
