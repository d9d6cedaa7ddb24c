"""Downloads against a loopback HTTP server: resume, checksums, offline errors, archives."""

from __future__ import annotations

import hashlib
import http.server
import io
import socket
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from planetbench.errors import (
    ChecksumError,
    DatasetNotFoundError,
    DownloadError,
    InvalidInputError,
)
from planetbench.tasks.download import (
    RemoteFile,
    check_kind,
    download,
    extract_archive,
    fetch_task,
    integrity_problem,
    join_parts,
    task_files,
    verify,
    verify_task,
)
from planetbench.tasks.spec import TaskSpec

PAYLOAD = np.random.default_rng(0).integers(0, 256, size=200_000, dtype=np.uint8).tobytes()
SHA = hashlib.sha256(PAYLOAD).hexdigest()


@dataclass
class Server:
    """A loopback HTTP server serving ``files`` with optional Range support."""

    url: str
    files: dict[str, bytes]
    range_headers: list[str | None] = field(default_factory=list)
    honour_range: bool = True
    truncate_at: int | None = None  # send only this many bytes of the next answer, then hang up
    wrong_range_start: bool = False  # answer a Range request from byte 0
    no_length: bool = False  # send no Content-Length: the body ends when the connection closes
    size_on_416: bool = True  # a 416 answer says the file's size (Content-Range: bytes */n)


def _handler(server: Server) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            body = server.files.get(self.path.lstrip("/"))
            rng = self.headers.get("Range")
            server.range_headers.append(rng)
            if body is None:
                self.send_error(404, "no such file")
                return
            start = 0
            if rng and server.honour_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    if server.size_on_416:
                        self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                shown = 0 if server.wrong_range_start else start
                self.send_header("Content-Range", f"bytes {shown}-{len(body) - 1}/{len(body)}")
            else:
                self.send_response(200)
            if not server.no_length:
                self.send_header("Content-Length", str(len(body) - start))
            self.end_headers()
            if server.truncate_at is not None:
                self.wfile.write(body[start : start + server.truncate_at])
                server.truncate_at = None
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(body[start:])

    return Handler


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[Server]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    state = Server(url="", files={"data.bin": PAYLOAD})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_download_and_checksum(server: Server, tmp_path: Path) -> None:
    dest = download(f"{server.url}/data.bin", tmp_path / "sub" / "data.bin", sha256=SHA,
                    progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert server.range_headers == [None]


def test_resume_sends_range_and_appends(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:70_000])
    download(f"{server.url}/data.bin", dest, sha256=SHA, progress=False)
    assert server.range_headers == ["bytes=70000-"]
    assert dest.read_bytes() == PAYLOAD


def test_resume_restarts_when_server_ignores_range(server: Server, tmp_path: Path) -> None:
    server.honour_range = False
    (tmp_path / "data.bin.part").write_bytes(b"garbage-prefix")
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_file_is_finished_on_416(server: Server, tmp_path: Path) -> None:
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_no_resume_starts_over(server: Server, tmp_path: Path) -> None:
    (tmp_path / "data.bin.part").write_bytes(b"x" * 10)
    download(f"{server.url}/data.bin", tmp_path / "data.bin", resume=False, progress=False)
    assert server.range_headers == [None]
    assert (tmp_path / "data.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_removes_part_only(server: Server, tmp_path: Path) -> None:
    with pytest.raises(
        ChecksumError, match=rf"sha256 {SHA} but the published value is 0{{64}}.*partial file was"
    ):
        download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256="0" * 64,
                 progress=False)
    assert not (tmp_path / "data.bin").exists() and not (tmp_path / "data.bin.part").exists()


def test_md5_is_checked_when_only_md5_is_published(server: Server, tmp_path: Path) -> None:
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    with pytest.raises(ChecksumError, match=rf"md5 {md5} but the published value is f{{32}}"):
        download(f"{server.url}/data.bin", tmp_path / "a.bin", md5="f" * 32, progress=False)
    assert not (tmp_path / "a.bin.part").exists()
    assert download(f"{server.url}/data.bin", tmp_path / "b.bin", md5=md5,
                    progress=False).read_bytes() == PAYLOAD


def test_interrupted_transfer_keeps_bytes_and_resumes(server: Server, tmp_path: Path) -> None:
    """A connection that drops mid-file leaves a .part; the next call resumes it with Range."""
    server.truncate_at = 50_000
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match=r"\d+ bytes received so far are kept .*resume"):
        download(f"{server.url}/data.bin", dest, sha256=SHA, progress=False, timeout=5)
    kept = (tmp_path / "data.bin.part").stat().st_size
    assert 0 < kept <= 50_000 and not dest.exists()
    assert (tmp_path / "data.bin.part").read_bytes() == PAYLOAD[:kept]
    download(f"{server.url}/data.bin", dest, sha256=SHA, progress=False, timeout=5)
    assert server.range_headers == [None, f"bytes={kept}-"]
    assert dest.read_bytes() == PAYLOAD


def test_resume_refuses_a_misplaced_range(server: Server, tmp_path: Path) -> None:
    server.wrong_range_start = True
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD[:1000])
    with pytest.raises(DownloadError, match=r"asked for bytes from 1000.*'bytes 0-199999/200000'"):
        download(f"{server.url}/data.bin", tmp_path / "data.bin", progress=False)
    assert not (tmp_path / "data.bin.part").exists()


def test_existing_valid_file_needs_no_network(tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.write_bytes(PAYLOAD)
    url = f"http://127.0.0.1:{_free_port()}/data.bin"  # nothing listens there
    assert download(url, dest, sha256=SHA, progress=False) == dest


def test_existing_bad_file_is_kept_and_reported(tmp_path: Path) -> None:
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"old version")
    with pytest.raises(ChecksumError, match="Delete it and download it again"):
        download("http://127.0.0.1:9/data.bin", dest, sha256=SHA, progress=False)
    assert dest.read_bytes() == b"old version"


def test_connection_refused_names_url_and_destination(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/data.bin"
    dest = tmp_path / "data.bin"
    with pytest.raises(DownloadError, match=rf"could not download {url}.*put it at {dest}"):
        download(url, dest, progress=False, timeout=5)


def test_offline_host_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match=r"10\.255\.255\.1.*offline"):
        download("http://10.255.255.1/data.bin", tmp_path / "d.bin", progress=False, timeout=2)


def test_http_error_status(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing.bin", tmp_path / "m.bin", progress=False)


def test_verify(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(PAYLOAD)
    assert verify(path, SHA.upper()) == path
    assert verify(path, hashlib.md5(PAYLOAD).hexdigest(), algorithm="md5") == path
    with pytest.raises(ChecksumError, match="published value is ab"):
        verify(path, "ab")
    with pytest.raises(InvalidInputError, match="cannot be verified"):
        verify(path, "")
    with pytest.raises(DatasetNotFoundError, match="does not exist"):
        verify(tmp_path / "nope", SHA)


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_extract_zip_and_tar(tmp_path: Path) -> None:
    zpath = tmp_path / "a.zip"
    zpath.write_bytes(_zip_bytes({"pkg/train/x.txt": b"hello"}))
    assert extract_archive(zpath, tmp_path / "out") == [tmp_path / "out" / "pkg/train/x.txt"]
    assert (tmp_path / "out" / "pkg" / "train" / "x.txt").read_bytes() == b"hello"
    tpath = tmp_path / "b.tar.gz"
    with tarfile.open(tpath, "w:gz") as tf:
        info = tarfile.TarInfo("test/y.nc")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    extract_archive(tpath, tmp_path / "out")
    assert (tmp_path / "out" / "test" / "y.nc").read_bytes() == b"abc"


def test_extract_refuses_path_traversal_and_bad_archives(tmp_path: Path) -> None:
    zpath = tmp_path / "evil.zip"
    zpath.write_bytes(_zip_bytes({"../escape.txt": b"x"}))
    with pytest.raises(InvalidInputError, match="outside the target folder"):
        extract_archive(zpath, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04truncated")
    with pytest.raises(ChecksumError, match="not a valid zip archive"):
        extract_archive(broken, tmp_path / "out")
    with pytest.raises(InvalidInputError, match="not an archive planetbench can unpack"):
        extract_archive(tmp_path / "x.rar", tmp_path / "out")


def test_join_parts(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"12")
    (tmp_path / "b").write_bytes(b"34")
    assert join_parts([tmp_path / "a", tmp_path / "b"], tmp_path / "ab").read_bytes() == b"1234"
    with pytest.raises(DatasetNotFoundError, match="missing part"):
        join_parts([tmp_path / "a", tmp_path / "zz"], tmp_path / "c")


def _toy_spec(url: str, archive: bytes) -> TaskSpec:
    half = len(archive) // 2
    files = (
        RemoteFile(f"{url}/toy.zipaa", "toy.zipaa", md5=hashlib.md5(archive[:half]).hexdigest(),
                   part_of="toy.zip"),
        RemoteFile(f"{url}/toy.zipab", "toy.zipab", part_of="toy.zip"),
        RemoteFile(f"{url}/data.bin", "data.bin", sha256=SHA, extract=False),
    )
    return TaskSpec(name="toy", suite="demo", kind="segmentation", metric="miou",
                    url=f"{url}/toy.zipaa", files=files)


def test_fetch_and_verify_task(server: Server, tmp_path: Path) -> None:
    archive = _zip_bytes({"toy/train/images/a.txt": b"img", "toy/train/masks/a.txt": b"msk"})
    half = len(archive) // 2
    server.files.update({"toy.zipaa": archive[:half], "toy.zipab": archive[half:]})
    spec = _toy_spec(server.url, archive)
    paths = fetch_task(spec, tmp_path, progress=False)
    assert sorted(p.name for p in paths) == ["data.bin", "toy.zip"]
    assert (tmp_path / "toy" / "train" / "masks" / "a.txt").read_bytes() == b"msk"
    statuses = {r.filename: r.status for r in verify_task(spec, tmp_path)}
    assert statuses == {"toy.zipaa": "ok", "toy.zipab": "unchecked", "data.bin": "ok"}
    n_requests = len(server.range_headers)
    fetch_task(spec, tmp_path, progress=False)  # everything present: no new request
    assert len(server.range_headers) == n_requests
    (tmp_path / "data.bin").write_bytes(b"tampered")
    (tmp_path / "toy.zipab").unlink()
    statuses = {r.filename: r.status for r in verify_task(spec, tmp_path)}
    assert statuses == {"toy.zipaa": "ok", "toy.zipab": "missing", "data.bin": "mismatch"}


def test_task_files_from_url_and_without(tmp_path: Path) -> None:
    spec = TaskSpec(name="t", suite="demo", kind="segmentation", metric="miou",
                    url="https://host/path/data.zip?download=1", sha256="ab")
    (rf,) = task_files(spec)
    assert (rf.filename, rf.sha256) == ("data.zip", "ab")
    with pytest.raises(InvalidInputError, match="declares no download URL"):
        task_files(TaskSpec(name="t", suite="demo", kind="segmentation", metric="miou"))


# ------------------------------------------------ downloads without a digest cannot end corrupt

_MEMBERS = {f"toy/train/images/{i}.bin": np.random.default_rng(i).integers(
    0, 256, size=40_000, dtype=np.uint8).tobytes() for i in range(4)}
ZIP = _zip_bytes(_MEMBERS)


def _tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


TGZ = _tar_gz_bytes(_MEMBERS)


@pytest.mark.parametrize(("name", "body", "reason"), [
    ("a.zip", ZIP, "not a readable zip archive"),
    ("a.tar.gz", TGZ, "not a readable tar archive"),
])
def test_truncated_response_without_content_length_is_refused(
    server: Server, tmp_path: Path, name: str, body: bytes, reason: str
) -> None:
    """No Content-Length, connection closed early: the archive check refuses it, nothing kept."""
    server.files[name] = body
    server.no_length = True
    server.truncate_at = len(body) * 2 // 3
    dest = tmp_path / name
    with pytest.raises(ChecksumError, match=rf"download of .*/{name} is {reason}.*partial file "
                       "was removed"):
        download(f"{server.url}/{name}", dest, progress=False)
    assert not dest.exists() and not (tmp_path / f"{name}.part").exists()
    assert download(f"{server.url}/{name}", dest, progress=False).read_bytes() == body


def test_corrupt_part_resumed_by_range_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    server.files["a.zip"] = ZIP
    part = bytearray(ZIP[:100_000])
    part[60_000] ^= 0xFF  # inside a member's data: only the CRC check can see it
    (tmp_path / "a.zip.part").write_bytes(bytes(part))
    said: list[str] = []
    dest = download(f"{server.url}/a.zip", tmp_path / "a.zip", progress=False, notify=said.append)
    assert dest.read_bytes() == ZIP
    assert server.range_headers == ["bytes=100000-", None]
    assert len(said) == 1 and "starting again from byte 0" in said[0]


def test_corrupt_part_with_a_digest_restarts_from_zero(server: Server, tmp_path: Path) -> None:
    (tmp_path / "data.bin.part").write_bytes(b"\0" * 70_000)
    dest = download(f"{server.url}/data.bin", tmp_path / "data.bin", sha256=SHA, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.range_headers == ["bytes=70000-", None]


@pytest.mark.parametrize("size_on_416", [True, False])
@pytest.mark.parametrize(("name", "body"), [("a.zip", ZIP), ("plain.bin", PAYLOAD)])
def test_part_longer_than_the_file_restarts_from_zero(
    server: Server, tmp_path: Path, size_on_416: bool, name: str, body: bytes
) -> None:
    """The server answers 416 (with or without the file's size): the part is not trusted."""
    server.files[name] = body
    server.size_on_416 = size_on_416
    (tmp_path / f"{name}.part").write_bytes(body + b"trailing bytes of another file")
    dest = download(f"{server.url}/{name}", tmp_path / name, progress=False)
    assert dest.read_bytes() == body
    assert server.range_headers == [f"bytes={len(body) + 30}-", None]


def test_broken_archive_in_place(server: Server, tmp_path: Path) -> None:
    """Kept and reported by download(); deleted, fetched again and unpacked by fetch_task."""
    server.files["a.zip"] = ZIP
    (tmp_path / "a.zip").write_bytes(ZIP[:50_000])
    with pytest.raises(ChecksumError, match=r"a\.zip is not a readable zip archive.*Delete it"):
        download(f"{server.url}/a.zip", tmp_path / "a.zip", progress=False)
    assert (tmp_path / "a.zip").read_bytes() == ZIP[:50_000]
    spec = TaskSpec(name="toy", suite="demo", kind="segmentation", metric="miou",
                    url=f"{server.url}/a.zip",
                    files=(RemoteFile(f"{server.url}/a.zip", "a.zip"),))
    (tmp_path / ".a.zip.extracted").touch()  # it was "unpacked" before: must be again
    said: list[str] = []
    fetch_task(spec, tmp_path, progress=False, notify=said.append)
    assert (tmp_path / "a.zip").read_bytes() == ZIP
    assert (tmp_path / "toy/train/images/3.bin").read_bytes() == _MEMBERS["toy/train/images/3.bin"]
    assert len(said) == 1 and "not a readable zip archive" in said[0] and "again" in said[0]
    assert [r.status for r in verify_task(spec, tmp_path)] == ["intact"]


def test_broken_joined_archive_fetches_its_unverified_parts_again(
    server: Server, tmp_path: Path
) -> None:
    half = len(ZIP) // 2
    server.files.update({"toy.zipaa": ZIP[:half], "toy.zipab": ZIP[half:]})
    spec = _toy_spec(server.url, ZIP)
    (tmp_path / "toy.zipab").write_bytes(ZIP[half:-100])  # truncated copy of the part, no digest
    said: list[str] = []
    fetch_task(spec, tmp_path, progress=False, notify=said.append)
    assert (tmp_path / "toy.zip").read_bytes() == ZIP
    assert (tmp_path / "toy.zipab").read_bytes() == ZIP[half:]
    assert any("toy.zipab" in m and "again" in m for m in said)


def test_integrity_problem_and_check_kind(tmp_path: Path) -> None:
    good, bad = tmp_path / "g.tar.gz", tmp_path / "b.tar.gz"
    good.write_bytes(TGZ)
    bad.write_bytes(TGZ[:-200])
    assert integrity_problem(good) is None
    assert "not a readable tar archive" in str(integrity_problem(bad))
    assert integrity_problem(tmp_path / "x.part", kind="x.zip") is not None  # absent
    assert check_kind(RemoteFile("u", "a.zip")).startswith("integrity-checked only")
    assert check_kind(RemoteFile("u", "a.bin")) == "size-checked only (no digest published)"
    assert check_kind(RemoteFile("u", "a.zip", md5="ab")) == "digest-checked (md5 ab)"


def test_root_that_is_a_file_is_refused(tmp_path: Path) -> None:
    spec = TaskSpec(name="toy", suite="demo", kind="segmentation", metric="miou",
                    url="http://127.0.0.1:9/a.zip")
    (tmp_path / "f").write_text("x")
    for fn in (fetch_task, verify_task):
        with pytest.raises(InvalidInputError, match="is a file, not a folder"):
            fn(spec, tmp_path / "f")
