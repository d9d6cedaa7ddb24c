"""Download, verify and unpack the files of a task.

:func:`download` fetches one URL with HTTP ``Range`` resume into ``<dest>.part`` and accepts it
only after checking it: against its published digest (SHA-256, else MD5) when there is one;
otherwise against the size the server announced (``Content-Length`` / ``Content-Range``) and the
archive's own integrity (:func:`integrity_problem`: every zip member's CRC, a full read of a tar
archive). A resumed part that fails its check, or one longer than the file, is discarded and the
file fetched again from byte 0. :func:`verify` checks a file on disk against its published
digest; :func:`extract_archive` unpacks zip/tar archives (refusing members that would land
outside the target folder). :func:`fetch_task` and :func:`verify_task` apply these to the
:class:`RemoteFile` list of a :class:`~planetbench.tasks.spec.TaskSpec`; :func:`check_kind`
says how a file is checked.

Offline, refused or failed connections raise :class:`~planetbench.errors.DownloadError` naming the
URL and where to put the file by hand.
"""

from __future__ import annotations

import hashlib
import lzma
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Sequence
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


VerifyStatus = Literal["ok", "intact", "missing", "mismatch", "broken", "unchecked"]


@dataclass(frozen=True)
class VerifyReport:
    """Outcome of checking one file.

    ``ok``: matches its published digest; ``mismatch``: does not. ``intact``: no digest is
    published, but the archive passed its own integrity check; ``broken``: it did not.
    ``unchecked``: no digest is published and the file is not an archive. ``missing``: absent.
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


def _content_range_total(value: str | None) -> int | None:
    """Total size of a ``Content-Range: bytes a-b/n`` (or ``bytes */n``) header, if known."""
    if not value or "/" not in value:
        return None
    total = value.rsplit("/", 1)[1].strip()
    return int(total) if total.isdigit() else None


def check_kind(rf: RemoteFile) -> str:
    """How planetbench checks the file ``rf`` after download, in words."""
    if rf.sha256:
        return f"digest-checked (sha256 {rf.sha256})"
    if rf.md5:
        return f"digest-checked (md5 {rf.md5})"
    if rf.part_of:
        return f"size-checked; no digest published (integrity of the joined {rf.part_of} checked)"
    if _is_zip(rf.filename):
        return "integrity-checked only (no digest published): size, and the CRC of every zip member"
    if is_archive(rf.filename):
        return "integrity-checked only (no digest published): size, and a full read of the tar"
    return "size-checked only (no digest published)"


def _is_zip(path: str | Path) -> bool:
    return Path(path).name.lower().endswith(".zip")


def integrity_problem(path: str | Path, kind: str | Path | None = None) -> str | None:
    """Why the archive at ``path`` is broken, or None when it reads back whole.

    A zip archive is opened and the CRC-32 of every member is checked; a tar archive (plain or
    gzip/bzip2/xz-compressed) is read to its end, member contents included, which checks the
    compression stream's own checksum. Other files pass (nothing to check).

    Args:
        path: the file to check.
        kind: the name whose suffix gives the archive type (default: ``path``), e.g. the final
            name of a ``.part`` file.
    """
    path = Path(path)
    name = Path(kind if kind is not None else path).name
    try:
        if _is_zip(name):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
            return None if bad is None else f"zip member {bad!r} fails its CRC check"
        if is_archive(name):
            with tarfile.open(path) as tf:
                for info in tf:
                    if info.isfile():
                        member = tf.extractfile(info)
                        if member is not None:
                            while member.read(_CHUNK):
                                pass
            return None
    except (zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError, EOFError,
            OSError, ValueError) as exc:
        return f"is not a readable {'zip' if _is_zip(name) else 'tar'} archive ({exc})"
    return None


def _problem(path: Path, name: str, algorithm: str, published: str | None,
             expected_size: int | None = None) -> str | None:
    """Why the file at ``path`` cannot be accepted as ``name``, or None."""
    size = path.stat().st_size
    if expected_size is not None and size != expected_size:
        return f"has {size} bytes but the server announced {expected_size}"
    if published:
        got = file_digest(path, algorithm)
        if got.lower() != published.lower():
            return f"has {algorithm} {got} but the published value is {published}"
        return None
    return integrity_problem(path, name)


def download(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    md5: str | None = None,
    resume: bool = True,
    timeout: float = 30,
    progress: bool = True,
    replace_broken: bool = False,
    notify: Callable[[str], None] | None = None,
) -> Path:
    """Download ``url`` to the file ``dest``, resuming a previous partial download.

    Bytes go to ``<dest>.part``; with ``resume`` an existing part is continued with an HTTP
    ``Range`` request (a server that ignores it restarts the file). When complete, the part is
    checked and only then renamed to ``dest``: its size against the size the server announced,
    then its published digest, or, when none is published, the archive's own integrity
    (:func:`integrity_problem`). A resumed part that fails, or one longer than the file (HTTP
    416), is discarded and the file fetched again from byte 0, once.

    An existing ``dest`` that passes the same check (digest, or archive integrity) is returned
    without network access. One that fails is deleted and fetched again with
    ``replace_broken``; otherwise a :class:`ChecksumError` says so and the file is left alone.

    Args:
        url: http(s) URL.
        dest: target file path (parent folders are created).
        sha256: published SHA-256 digest, or None.
        md5: published MD5 digest (checked when no ``sha256`` is given), or None. With neither,
            size and archive integrity are checked.
        resume: continue ``<dest>.part`` if present instead of starting over.
        timeout: seconds to wait for the connection and between bytes.
        progress: show a Rich progress bar.
        replace_broken: delete an existing ``dest`` that fails its check and download it again.
        notify: called with a sentence when a broken file or part is discarded.

    Returns:
        ``dest``.

    Raises:
        DownloadError: offline, connection refused, timeout, interrupted transfer or HTTP error
            (names the URL and where to put the file by hand; received bytes are kept for
            resuming).
        ChecksumError: the download (fetched from byte 0) fails its check (the message says
            why; the bad part file is removed), or an existing ``dest`` fails it and
            ``replace_broken`` is False.
    """
    dest = Path(dest)
    algorithm, published = ("sha256", sha256) if sha256 else ("md5", md5)
    say = notify or (lambda _msg: None)
    if dest.is_file():
        problem = _problem(dest, dest.name, algorithm, published)
        if problem is None:
            return dest
        if not replace_broken:
            raise ChecksumError(
                f"{dest} {problem}; the file is corrupt or a different version. Delete it and "
                "download it again."
            )
        dest.unlink()
        say(f"{dest} {problem}: deleted, downloading it again")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if (resume and part.is_file()) else 0
    while True:
        expected, refused = _fetch(url, dest, part, offset, timeout=timeout, progress=progress)
        size = part.stat().st_size if part.is_file() else 0
        if expected is not None and size < expected:
            raise DownloadError(
                f"could not download {url}: the transfer ended after {size} of {expected} "
                f"bytes. The bytes received so far are kept in {part}; run the same command "
                "again to resume."
            )
        problem = _problem(part, dest.name, algorithm, published, expected) if size else (
            "is empty"
        )
        if problem is None and refused and expected is None and not published:
            # An over-long part can still read as a whole archive (zip tolerates trailing bytes).
            problem = ("cannot be checked: the server refused to resume it (HTTP 416) without "
                       "saying the file's size")
        if problem is None:
            part.replace(dest)
            return dest
        part.unlink(missing_ok=True)
        if offset == 0:
            raise ChecksumError(
                f"download of {url} {problem}; the partial file was removed. Try again, or put "
                f"a good copy at {dest}"
            )
        say(f"resumed download of {url} {problem}: starting again from byte 0")
        offset = 0


def _fetch(url: str, dest: Path, part: Path, offset: int, *, timeout: float,
           progress: bool) -> tuple[int | None, bool]:
    """Fetch ``url`` into ``part`` from byte ``offset``.

    Returns:
        The file's size as the server announced it (None if it did not), and whether the server
        answered the Range request with 416 (the part is as long as the file, or longer), in
        which case the part is left as it is for the caller to check.
    """
    import requests

    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        with requests.get(url, headers=headers, stream=True, timeout=timeout) as resp:
            if resp.status_code == 416 and offset:
                return _content_range_total(resp.headers.get("Content-Range")), True
            if resp.status_code >= 400:
                raise DownloadError(
                    f"could not download {url}: HTTP {resp.status_code} {resp.reason}. "
                    f"Download it by other means and put it at {dest}"
                )
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
            total: int | None = None
            if append:
                total = _content_range_total(resp.headers.get("Content-Range"))
            if total is None and length is not None and length.isdigit():
                total = start + int(length)
            _stream(resp, part, append=append, start=start, total=total, show=progress,
                    label=dest.name)
            return total, False
    except requests.exceptions.RequestException as exc:
        raise _offline_error(url, dest, exc) from exc
    except OSError as exc:
        if isinstance(exc, DownloadError):
            raise
        raise _offline_error(url, dest, exc) from exc


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
                f"{path} is not a valid zip archive ({exc}); delete it and download it again "
                "(`planetbench data download` replaces a broken archive)"
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
                f"{path} is not a valid tar archive ({exc}); delete it and download it again "
                "(`planetbench data download` replaces a broken archive)"
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
    notify: Callable[[str], None] | None = None,
) -> list[Path]:
    """Download every file of ``spec`` into ``root``, join split archives and unpack archives.

    Each file is checked (:func:`download`, :func:`check_kind`): against its published SHA-256,
    or its MD5 when only that is published; without a digest, its size and, for an archive, the
    archive's own integrity. A file already in ``root`` that fails its check (a truncated or
    corrupt archive) is deleted and downloaded again; so is a joined split archive that fails its
    integrity check, with its parts that have no digest. Each archive is unpacked once (a hidden
    ``.<name>.extracted`` marker records it).

    Args:
        spec: the task.
        root: folder the files go to (created).
        resume: continue partial downloads with HTTP Range.
        timeout: seconds to wait for the server.
        progress: show progress bars.
        notify: called with a sentence whenever a broken file is discarded.

    Returns:
        Paths of the downloaded (or joined) files.

    Raises:
        InvalidInputError: ``root`` exists and is not a folder.
    """
    root = _check_root(root)
    files = task_files(spec)
    done: list[Path] = []
    groups: dict[str, list[RemoteFile]] = {}
    for rf in files:
        path = _download_file(rf, root, resume=resume, timeout=timeout, progress=progress,
                              notify=notify)
        if rf.part_of:
            groups.setdefault(rf.part_of, []).append(rf)
            continue
        done.append(path)
        if rf.extract and is_archive(path) and not _marker(root, rf.filename).exists():
            extract_archive(path, root)
            _marker(root, rf.filename).touch()
    for whole, parts in groups.items():
        path = _joined(whole, parts, root, resume=resume, timeout=timeout, progress=progress,
                       notify=notify)
        done.append(path)
        if is_archive(path) and not _marker(root, whole).exists():
            extract_archive(path, root)
            _marker(root, whole).touch()
    return done


def _check_root(root: str | Path) -> Path:
    """``root`` as a Path, refused when it exists and is not a folder."""
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise InvalidInputError(
            f"--root {root} is a file, not a folder; give the folder the task's files go to "
            "(it is created if missing)"
        )
    return root


def _download_file(rf: RemoteFile, root: Path, *, resume: bool, timeout: float, progress: bool,
                   notify: Callable[[str], None] | None) -> Path:
    """Download one file of a task; a broken copy in place is replaced (and its marker reset)."""
    def discarded(message: str) -> None:
        _marker(root, rf.filename).unlink(missing_ok=True)
        if notify is not None:
            notify(message)

    return download(rf.url, root / rf.filename, sha256=rf.sha256 or None, md5=rf.md5 or None,
                    resume=resume, timeout=timeout, progress=progress, replace_broken=True,
                    notify=discarded)


def _joined(whole: str, parts: list[RemoteFile], root: Path, *, resume: bool, timeout: float,
            progress: bool, notify: Callable[[str], None] | None) -> Path:
    """Join the parts of a split archive and check the whole; refetch unverifiable parts once."""
    path = root / whole
    for attempt in (0, 1):
        if attempt == 1:  # the parts without a digest were deleted: fetch them again
            for rf in parts:
                _download_file(rf, root, resume=resume, timeout=timeout, progress=progress,
                               notify=notify)
        if not path.is_file():
            join_parts([root / rf.filename for rf in parts], path)
        problem = integrity_problem(path)
        if problem is None:
            return path
        path.unlink()
        _marker(root, whole).unlink(missing_ok=True)
        unverified = [rf for rf in parts if not (rf.sha256 or rf.md5)]
        if attempt == 1 or not unverified:
            raise ChecksumError(
                f"{path} (joined from {', '.join(rf.filename for rf in parts)}) {problem}; it "
                "was removed. Delete its parts and download them again."
            )
        for rf in unverified:
            (root / rf.filename).unlink(missing_ok=True)
        if notify is not None:
            notify(f"{path} {problem}: deleted it and its parts without a digest "
                   f"({', '.join(rf.filename for rf in unverified)}), downloading them again")
    raise AssertionError("unreachable")  # pragma: no cover


def verify_task(spec: TaskSpec, root: str | Path) -> list[VerifyReport]:
    """Check each downloaded file of ``spec`` under ``root``.

    Against its published digest where there is one; an archive without a published digest is
    checked for integrity instead (``intact`` or ``broken``); other files without a digest are
    ``unchecked``.

    Raises:
        InvalidInputError: ``root`` exists and is not a folder.
    """
    root = _check_root(root)
    reports: list[VerifyReport] = []
    for rf in task_files(spec):
        path = root / rf.filename
        algorithm, digest = ("sha256", rf.sha256) if rf.sha256 else ("md5", rf.md5)
        if not path.is_file():
            reports.append(VerifyReport(rf.filename, path, "missing", algorithm,
                                        f"not found; download it from {rf.url}"))
        elif not digest and not rf.part_of and is_archive(rf.filename):
            problem = integrity_problem(path)
            reports.append(VerifyReport(
                rf.filename, path, "intact" if problem is None else "broken", "integrity",
                "no digest is published; the archive reads back whole (every member checked)"
                if problem is None else f"{problem}; no digest is published",
            ))
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
