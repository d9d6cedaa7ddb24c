"""Real challenge servers and workers as child processes on 127.0.0.1 (test helper)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Child:
    """A ``planetbench challenge …`` child process in its own session, stopped by its pid."""

    def __init__(self, args: list[str], log: Path) -> None:
        self.log = log
        self._fh = log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "planetbench", "challenge", *args],
            stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"})

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL the child's process group (the child and the workers it started)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        self._fh.close()

    def stop(self) -> None:
        """SIGTERM the child, then SIGKILL its group after 15 s."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                pass
        self.kill()


class Server(Child):
    """``planetbench challenge serve`` on a free port of 127.0.0.1, up when constructed."""

    def __init__(self, url: str, uploads: Path, log: Path, *, workers: int = 0,
                 lease_s: float = 60.0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        super().__init__(["serve", "--store", url, "--uploads", str(uploads), "--host",
                          "127.0.0.1", "--port", str(self.port), "--workers", str(workers),
                          "--lease", str(lease_s)], log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"the server did not start:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)


def wait_for(predicate: object, timeout_s: float = 60.0, poll_s: float = 0.05) -> None:
    """Poll ``predicate()`` until it is true, or fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {predicate}")
        time.sleep(poll_s)
