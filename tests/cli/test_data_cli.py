"""``planetbench data list|info|download|verify``."""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from tests.fakes import glid as fake_glid
from typer.testing import CliRunner

import planetbench.cli.data  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.tasks import TASKS, Task, TaskSpec, get_task
from planetbench.tasks.download import RemoteFile

runner = CliRunner()


def test_list_shows_cryo_tasks() -> None:
    result = runner.invoke(app, ["data", "list", "--suite", "cryo"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in ("glid", "gld", "gsdd", "sicd", "caffe"):
        assert name in result.output
    assert "CC-BY-4.0" in result.output and "segmentation" in result.output
    assert "demo-" not in result.output


def test_list_unknown_suite_exits_2() -> None:
    result = runner.invoke(app, ["data", "list", "--suite", "cryosphere"])
    assert result.exit_code == 2
    assert "'cryosphere' has no registered tasks" in result.output and "cryo" in result.output


def test_info_shows_spec_bands_and_files() -> None:
    result = runner.invoke(app, ["data", "info", "sicd"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for text in ("thick_first_year_ice", "ignore_index", "255", "HH", "HV", "not published",
                 "train.tar.gzaa", "md5 847ea12d0a5100f0a00af4bb110404b4"):
        assert text in result.output


def test_info_says_when_no_checksum_is_published() -> None:
    result = runner.invoke(app, ["data", "info", "glid"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "integrity-checked only (no digest published): size, and the CRC of every zip member" in text
    assert "0.665" in result.output  # red band wavelength
    result = runner.invoke(app, ["data", "info", "sicd"], env={"COLUMNS": "250"})
    assert "digest-checked (md5 847ea12d0a5100f0a00af4bb110404b4)" in result.output


def test_unknown_task_exits_2_with_did_you_mean(tmp_path: Path) -> None:
    for args in (["info", "cafe"], ["download", "cafe", "--root", str(tmp_path)]):
        result = runner.invoke(app, ["data", *args])
        assert result.exit_code == 2
        assert "did you mean 'caffe'" in result.output


def test_verify_missing_files_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "verify", "caffe", "--root", str(tmp_path)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "missing" in result.output
    assert f"planetbench data download caffe --root {tmp_path}" in result.output


@contextlib.contextmanager
def _serving(monkeypatch: pytest.MonkeyPatch, files: dict[str, bytes]) -> Iterator[str]:
    """Serve ``files`` (URL path → bytes) on loopback for the block; yields the base URL."""
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = files[self.path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                     daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def toy_task(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A task 'toy-dl' whose one file is served on loopback."""
    body = b"planetbench" * 100
    with _serving(monkeypatch, {"/toy.bin": body}) as base:
        url = f"{base}/toy.bin"
        spec = TaskSpec(
            name="toy-dl", suite="demo", kind="segmentation", metric="miou", url=url,
            files=(RemoteFile(url, "toy.bin", sha256=hashlib.sha256(body).hexdigest()),),
        )
        monkeypatch.setitem(TASKS._items, "toy-dl", Task(spec, lambda root, split: []))
        yield "toy-dl"


def test_download_then_verify(toy_task: str, tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "download", toy_task, "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "toy.bin").read_bytes() == b"planetbench" * 100
    result = runner.invoke(app, ["data", "verify", toy_task, "--root", str(tmp_path)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "ok" in result.output
    (tmp_path / "toy.bin").write_bytes(b"tampered")
    result = runner.invoke(app, ["data", "verify", toy_task, "--root", str(tmp_path)])
    assert result.exit_code == 2
    assert "do(es) not match the published checksum" in result.output


def test_download_offline_exits_2_naming_url(monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    url = "http://10.255.255.1/toy.bin"
    spec = TaskSpec(name="toy-off", suite="demo", kind="segmentation", metric="miou", url=url)
    monkeypatch.setitem(TASKS._items, "toy-off", Task(spec, lambda root, split: []))
    result = runner.invoke(app, ["data", "download", "toy-off", "--root", str(tmp_path),
                                 "--timeout", "2"])
    assert result.exit_code == 2
    assert url in result.output and "put it at" in result.output


def test_info_shows_checksum_note_and_sicd_protocol_notes() -> None:
    result = runner.invoke(app, ["data", "info", "gld"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "coherence" in result.output and "174.698" in result.output
    assert "checksums: not published" in result.output
    result = runner.invoke(app, ["data", "info", "sicd"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "val split: not upstream" in result.output and "tile_size" in result.output


def _zip_of(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return buf.getvalue()


@pytest.fixture
def glid_mirror(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[tuple[str, bytes]]:
    """Task 'glid-loopback': GLID's spec and reader, its archive (a fake GLID) on loopback."""
    archive = _zip_of(fake_glid.write(tmp_path / "upstream", n_per_split=2, seed=3))
    with _serving(monkeypatch, {"/glid.zip": archive}) as base:
        url = f"{base}/glid.zip"
        glid = get_task("glid")
        spec = replace(glid.spec, name="glid-loopback", url=url, files=(
            RemoteFile(url, "glid.zip", sha256=hashlib.sha256(archive).hexdigest()),
        ))
        monkeypatch.setitem(TASKS._items, "glid-loopback", Task(spec, glid.reader))
        yield "glid-loopback", archive


def test_download_unpacks_upstream_layout_that_the_reader_loads(
    glid_mirror: tuple[str, bytes], tmp_path: Path
) -> None:
    name, archive = glid_mirror
    root = tmp_path / "data"
    result = runner.invoke(app, ["data", "download", name, "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert (root / "glid.zip").read_bytes() == archive
    result = runner.invoke(app, ["data", "verify", name, "--root", str(root)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "every split opens" in result.output and "ok" in result.output
    sample = get_task(name).load(root, "test")[1]
    assert sample["image"].shape == (3, 32, 32) and sample["mask"].dtype == np.int64
    # Once unpacked, the archive may go: the layout is what verify needs.
    (root / "glid.zip").unlink()
    result = runner.invoke(app, ["data", "verify", name, "--root", str(root)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "missing" in result.output and "every split opens" in result.output


def test_download_checksum_mismatch_exits_2_with_both_hashes(
    glid_mirror: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    name, archive = glid_mirror
    task = TASKS._items[name]
    (rf,) = task.spec.files
    bad = replace(task.spec, files=(replace(rf, sha256="a" * 64),))
    monkeypatch.setitem(TASKS._items, name, Task(bad, task.reader))
    result = runner.invoke(app, ["data", "download", name, "--root", str(tmp_path)])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert hashlib.sha256(archive).hexdigest() in text and "a" * 64 in text
    assert not (tmp_path / "glid.zip").exists()


def test_verify_archive_without_digest_and_missing_layout(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """An archive without a published digest is integrity-checked: broken → exit 2 saying that
    `data download` replaces it; whole → 'intact'."""
    fake_glid.write(tmp_path, n_per_split=1)
    archive = tmp_path / "glid-zenodo-14838695.zip"
    archive.write_bytes(b"zip")
    result = runner.invoke(app, ["data", "verify", "glid", "--root", str(tmp_path)],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 2, result.output
    text = " ".join(result.output.split())
    assert "broken" in text and "not a readable zip archive" in text
    assert f"planetbench data download glid --root {tmp_path}` replaces it" in text
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "whole")
    archive.write_bytes(buf.getvalue())
    result = runner.invoke(app, ["data", "verify", "glid", "--root", str(tmp_path)],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    assert "intact" in result.output and "every split opens" in result.output
    result = runner.invoke(app, ["data", "verify", "gsdd", "--root", str(tmp_path)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "expected the folder 'train/image'" in text
    assert "root/<split>/image/<stem>.tif" in text and "not downloaded" in text


def test_download_replaces_a_broken_archive_without_digest(
    glid_mirror: tuple[str, bytes], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """GLID as published (no digest): a truncated archive in place is deleted, fetched again and
    unpacked; the output says how each file was checked."""
    name, archive = glid_mirror
    task = TASKS._items[name]
    (rf,) = task.spec.files
    plain = replace(task.spec, files=(replace(rf, sha256=""),))
    monkeypatch.setitem(TASKS._items, name, Task(plain, task.reader))
    root = tmp_path / "data"
    root.mkdir()
    (root / "glid.zip").write_bytes(archive[: len(archive) // 2])
    result = runner.invoke(app, ["data", "download", name, "--root", str(root)],
                           env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "glid.zip is not a readable zip archive" in text and "deleted, downloading it again" in text
    assert "integrity-checked only (no digest published)" in text
    assert (root / "glid.zip").read_bytes() == archive
    assert len(get_task(name).load(root, "train")) == 2


def test_download_root_that_is_a_file_exits_2(toy_task: str, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for command in ("download", "verify"):
        result = runner.invoke(app, ["data", command, toy_task, "--root", str(tmp_path / "file")])
        assert result.exit_code == 2, result.output
        assert "is a file, not a folder" in " ".join(result.output.split())
        assert "Traceback" not in result.output
