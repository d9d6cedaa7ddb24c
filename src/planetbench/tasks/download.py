"""Download, verify and unpack the files of a task.

:func:`download` fetches one URL with HTTP ``Range`` resume into ``<dest>.part``, checks its
checksum and only then moves it to ``dest``; :func:`verify` checks a file on disk against its
published checksum; :func:`extract_archive` unpacks zip/tar archives (refusing members that would
land outside the target folder). :func:`fetch_task` and :func:`verify_task` apply these to the
:class:`RemoteFile` list of a :class:`~planetbench.tasks.spec.TaskSpec`.

Offline, refused or failed connections raise :class:`~planetbench.errors.DownloadError` naming the
URL and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

from planetbench.errors import (
    ChecksumError,
    DatasetNotFoundError,
    DownloadError,
    InvalidInputError,
)
from planetbench.tasks.spec import (
    RemoteFile as RemoteFile,  # re-exported: the spec type of a task file
)
from planetbench.tasks.spec import TaskSpec

_CHUNK = 1 << 16
_NET_CHUNK = 1 << 14  # small, so an interrupted transfer loses at most this many received bytes
_ARCHIVE_SUFFIXES: tuple[str, ...] = (
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tar.xz",
)


VerifyStatus = Literal["ok", "missing", "mismatch", "unchecked"]


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of checking one file: ``ok``, ``missing``, ``mismatch`` or ``unchecked``.

    ``unchecked`` means the file exists but no checksum is published for it.
    """

    filename: str
    path: Path
    status: VerifyStatus
    algorithm: str
    detail: str


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file (``sha256`` or ``md5``), read in chunks."""
    if algorithm not in ("sha256", "md5"):
        raise InvalidInputError(f"algorithm must be 'sha256' or 'md5'; got {algorithm!r}")
    h = hashlib.new(algorithm)
    with Path(path).open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def verify(path: str | Path, sha256: str, *, algorithm: str = "sha256") -> Path:
    """Check that ``path`` has the published digest ``sha256`` (or an MD5 with ``algorithm``).

    Returns:
        ``path``.

    Raises:
        DatasetNotFoundError: if the file does not exist.
        InvalidInputError: if ``sha256`` is empty (nothing published to check against).
        ChecksumError: if the digest differs; the file is left in place.
    """
    path = Path(path)
    if not sha256:
        raise InvalidInputError(
            f"no published {algorithm} checksum for {path}; it cannot be verified"
        )
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist, so it cannot be verified")
    got = file_digest(path, algorithm)
    if got.lower() != sha256.lower():
        raise ChecksumError(
            f"{path} has {algorithm} {got} but the published value is {sha256}; the file is "
            "corrupt or a different version. Delete it and download it again."
        )
    return path


def _offline_error(url: str, dest: Path, exc: BaseException) -> DownloadError:
    part = dest.with_name(dest.name + ".part")
    kept = (
        f" The {part.stat().st_size} bytes received so far are kept in {part}; run the same "
        "command again to resume."
        if part.is_file() and part.stat().st_size
        else ""
    )
    return DownloadError(
        f"could not download {url}: {exc}. If this machine is offline or the host refuses, "
        f"download the file by other means and put it at {dest}.{kept}"
    )


def _content_range_start(value: str | None) -> int | None:
    """First byte of a ``Content-Range: bytes a-b/n`` header, or None if absent/unparsable."""
    if not value or not value.startswith("bytes "):
        return None
    first = value[len("bytes ") :].split("-", 1)[0]
    return int(first) if first.isdigit() else None


def _check_part(url: str, dest: Path, part: Path, algorithm: str, published: str) -> None:
    got = file_digest(part, algorithm)
    if got.lower() != published.lower():
        part.unlink()
        raise ChecksumError(
            f"download of {url} has {algorithm} {got} but the published value is {published}; "
            f"the partial file was removed. Try again, or put a good copy at {dest}"
        )


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    resume: bool = True,
    timeout: float = 30,
    progress: bool = True,
) -> Path:
    """Download ``url`` to the file ``dest``, resuming a previous partial download.

    Bytes go to ``<dest>.part``; with ``resume`` an existing part is continued with an HTTP
    ``Range`` request (a server that ignores it restarts the file). When complete, the checksum
    is checked and the part is renamed to ``dest``. An existing ``dest`` whose checksum matches
    (or any existing ``dest`` when no checksum is given) is returned without network access.

    Args:
        url: http(s) URL.
        dest: target file path (parent folders are created).
        sha256: published SHA-256 digest, or None.
        md5: published MD5 digest (checked when no ``sha256`` is given), or None. With neither,
            the file is not checked.
        resume: continue ``<dest>.part`` if present instead of starting over.
        timeout: seconds to wait for the connection and between bytes.
        progress: show a Rich progress bar.

    Returns:
        ``dest``.

    Raises:
        DownloadError: offline, connection refused, timeout, interrupted transfer or HTTP error
            (names the URL and where to put the file by hand; received bytes are kept for
            resuming).
        ChecksumError: the finished download does not match the published digest (the message
            gives both digests; the bad part file is removed, an existing ``dest`` that
            mismatches is left untouched).
    """
    import requests

    dest = Path(dest)
    algorithm, published = ("sha256", sha256) if sha256 else ("md5", md5)
    if dest.is_file():
        if published:
            verify(dest, published, algorithm=algorithm)
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if (resume and part.is_file()) else 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 416 and offset:
                pass  # the part file already holds every byte
            elif resp.status_code >= 400:
                raise DownloadError(
                    f"could not download {url}: HTTP {resp.status_code} {resp.reason}. "
                    f"Download it by other means and put it at {dest}"
                )
            else:
                append = offset > 0 and resp.status_code == 206
                if append and _content_range_start(resp.headers.get("Content-Range")) != offset:
                    part.unlink()
                    raise DownloadError(
                        f"could not resume {url}: asked for bytes from {offset}, the server "
                        f"answered Content-Range {resp.headers.get('Content-Range')!r}. The "
                        "partial file was removed; run the command again to start over"
                    )
                start = offset if append else 0
                length = resp.headers.get("Content-Length")
                total = start + int(length) if length is not None else None
                _stream(resp, part, append=append, start=start, total=total, show=progress,
                        label=dest.name)
    except requests.exceptions.RequestException as exc:
        raise _offline_error(url, dest, exc) from exc
    except OSError as exc:
        if isinstance(exc, DownloadError):
            raise
        raise _offline_error(url, dest, exc) from exc
    if published:
        _check_part(url, dest, part, algorithm, published)
    part.replace(dest)
    return dest


def _stream(
    resp: Any, part: Path, *, append: bool, start: int, total: int | None, show: bool, label: str
) -> None:
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TransferSpeedColumn,
    )

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
        disable=not show,
    ) as bar:
        task = bar.add_task(label, total=total, completed=start)
        with part.open("ab" if append else "wb") as fh:
            for chunk in resp.iter_content(chunk_size=_NET_CHUNK):
                fh.write(chunk)
                bar.advance(task, len(chunk))


def is_archive(path: str | Path) -> bool:
    """True for names ending in .zip, .tar, .tar.gz, .tgz, .tar.bz2 or .tar.xz."""
    name = Path(path).name.lower()
    return any(name.endswith(s) for s in _ARCHIVE_SUFFIXES)


def extract_archive(path: str | Path, root: str | Path) -> list[Path]:
    """Unpack a zip or tar archive into ``root``.

    Returns:
        The extracted file paths.

    Raises:
        InvalidInputError: unknown archive type, or a member that would be written outside
            ``root`` (absolute path or ``..``).
        ChecksumError: the archive is corrupt (truncated download).
    """
    path, root = Path(path), Path(root)
    root.mkdir(parents=True, exist_ok=True)
    name = path.name.lower()
    if name.endswith(".zip"):
        try:
            with zipfile.ZipFile(path) as zf:
                members = zf.namelist()
                for member in members:
                    _check_member(path, member)
                zf.extractall(root)
        except zipfile.BadZipFile as exc:
            raise ChecksumError(
                f"{path} is not a valid zip archive ({exc}); re-download it"
            ) from exc
        return [root / m for m in members if not m.endswith("/")]
    if is_archive(path):
        try:
            with tarfile.open(path) as tf:
                infos = tf.getmembers()
                for info in infos:
                    _check_member(path, info.name)
                    if info.issym() or info.islnk():
                        raise InvalidInputError(
                            f"{path} holds a link {info.name!r}; refusing to extract it"
                        )
                tf.extractall(root, filter="data")
        except tarfile.TarError as exc:
            raise ChecksumError(
                f"{path} is not a valid tar archive ({exc}); re-download it"
            ) from exc
        return [root / i.name for i in infos if i.isfile()]
    raise InvalidInputError(
        f"{path} is not an archive planetbench can unpack (allowed: {', '.join(_ARCHIVE_SUFFIXES)})"
    )


def _check_member(archive: Path, member: str) -> None:
    parts = PurePosixPath(member.replace("\\", "/")).parts
    if member.startswith(("/", "\\")) or ".." in parts or (parts and ":" in parts[0]):
        raise InvalidInputError(
            f"{archive} holds member {member!r} that would be written outside the target folder; "
            "refusing to extract it"
        )


def join_parts(parts: Sequence[str | Path], dest: str | Path) -> Path:
    """Concatenate the parts of a split archive, in order, into ``dest``."""
    dest = Path(dest)
    missing = [str(p) for p in parts if not Path(p).is_file()]
    if missing:
        raise DatasetNotFoundError(f"cannot build {dest}: missing part(s) {', '.join(missing)}")
    tmp = dest.with_name(dest.name + ".part")
    with tmp.open("wb") as out:
        for p in parts:
            with Path(p).open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    out.write(chunk)
    tmp.replace(dest)
    return dest


def task_files(spec: TaskSpec) -> tuple[RemoteFile, ...]:
    """The files a task is downloaded as: ``spec.files`` or one file from ``spec.url``.

    Raises:
        InvalidInputError: if the task has no download URL.
    """
    if spec.files:
        return spec.files
    if not spec.url:
        raise InvalidInputError(f"task {spec.name!r} declares no download URL")
    name = PurePosixPath(urlparse(spec.url).path).name or f"{spec.name}.download"
    return (RemoteFile(spec.url, name, sha256=spec.sha256),)


def _marker(root: Path, archive: str) -> Path:
    return root / f".{archive}.extracted"


def fetch_task(
    spec: TaskSpec,
    root: str | Path,
    *,
    resume: bool = True,
    timeout: float = 30,
    progress: bool = True,
) -> list[Path]:
    """Download every file of ``spec`` into ``root``, join split archives and unpack archives.

    Each archive is unpacked once (a hidden ``.<name>.extracted`` marker records it). Each file
    is checked against its published SHA-256, or its MD5 when only that is published; files
    without a published digest are kept unchecked (``verify_task`` reports them as such).

    Returns:
        Paths of the downloaded (or joined) files.
    """
    root = Path(root)
    done: list[Path] = []
    groups: dict[str, list[Path]] = {}
    for rf in task_files(spec):
        path = download(rf.url, root / rf.filename, sha256=rf.sha256 or None,
                        md5=rf.md5 or None, resume=resume, timeout=timeout, progress=progress)
        if rf.part_of:
            groups.setdefault(rf.part_of, []).append(path)
            continue
        done.append(path)
        if rf.extract and is_archive(path) and not _marker(root, rf.filename).exists():
            extract_archive(path, root)
            _marker(root, rf.filename).touch()
    for whole, parts in groups.items():
        path = root / whole
        if not path.is_file():
            join_parts(parts, path)
        done.append(path)
        if is_archive(path) and not _marker(root, whole).exists():
            extract_archive(path, root)
            _marker(root, whole).touch()
    return done


def verify_task(spec: TaskSpec, root: str | Path) -> list[VerifyReport]:
    """Check each downloaded file of ``spec`` under ``root`` against its published checksum."""
    root = Path(root)
    reports: list[VerifyReport] = []
    for rf in task_files(spec):
        path = root / rf.filename
        algorithm, digest = ("sha256", rf.sha256) if rf.sha256 else ("md5", rf.md5)
        if not path.is_file():
            reports.append(VerifyReport(rf.filename, path, "missing", algorithm,
                                        f"not found; download it from {rf.url}"))
        elif not digest:
            reports.append(VerifyReport(
                rf.filename, path, "unchecked", "-",
                "cannot check: no checksum is published for this file "
                f"({spec.checksum_note or 'none in the spec'})",
            ))
        else:
            got = file_digest(path, algorithm)
            ok = got.lower() == digest.lower()
            reports.append(VerifyReport(
                rf.filename, path, "ok" if ok else "mismatch", algorithm,
                f"{algorithm} {got}" if ok else f"{algorithm} {got} != published {digest}",
            ))
    return reports
