"""Uploads: a multipart body streamed to disk by content hash, with a size limit, then validated.

The request body is parsed as it arrives (``python-multipart``'s streaming parser): the bytes of
the ``file`` field go straight to a temporary file in the uploads folder while their SHA-256 and
size are computed, and the upload stops with :class:`UploadTooLargeError` as soon as it passes
the limit. Nothing holds the whole file in memory. The file is then renamed to
``<uploads>/<sha[:2]>/<sha><suffix>``: the client's file name never reaches the file system (only
its suffix, checked against ``.csv``/``.parquet``/``.pq``), and the uploads folder is outside
anything the server serves.

Validation is :func:`planetbench.embedding.files.read_embeddings` (the messages of
``planetbench probe``) plus a check that the file covers every public id. Large files are
validated in a short-lived child process, so the server's own memory does not grow with them.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from planetbench.challenge.errors import UploadTooLargeError
from planetbench.embedding.files import SUFFIXES
from planetbench.errors import EmbeddingFileError, InvalidInputError

#: Files up to this size are validated in the server's process; larger ones in a child process.
INLINE_VALIDATION_BYTES = 8 * 1024 * 1024

#: Largest size of a non-file form field (bytes).
_MAX_FIELD_BYTES = 64 * 1024


@dataclass(frozen=True)
class StoredUpload:
    """An upload on disk.

    Attributes:
        path: the file, ``<uploads>/<sha[:2]>/<sha><suffix>``.
        relative: its path inside the uploads folder (what the queue records).
        sha256: SHA-256 of its bytes.
        size_bytes: its size.
        suffix: ``.csv``, ``.parquet`` or ``.pq``.
    """

    path: Path
    relative: str
    sha256: str
    size_bytes: int
    suffix: str


def upload_suffix(filename: str | None) -> str:
    """The lower-case suffix of an uploaded file name, checked against the embedding formats.

    Raises:
        EmbeddingFileError: no file name or an unknown suffix.
    """
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise EmbeddingFileError(
            f"embedding file {name!r}: unknown suffix {suffix!r}; allowed: {', '.join(SUFFIXES)} "
            "(CSV or Parquet with an 'id' column and digit-named columns)"
        )
    return suffix


class UploadSink:
    """Receives the bytes of one uploaded file: writes, hashes, counts and limits them.

    Args:
        folder: the uploads folder (created if missing).
        max_bytes: largest accepted size.
    """

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.size = 0
        self.suffix = ""
        self.filename = "upload"
        self._hash = hashlib.sha256()
        self._tmp: Path | None = None
        self._fh: IO[bytes] | None = None

    def open(self, filename: str | None) -> None:
        """Start the file (its name gives only the format)."""
        self.suffix = upload_suffix(filename)
        self.filename = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1][:200]
        tmp_dir = self.folder / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._tmp = tmp_dir / f"{uuid.uuid4().hex}.part"
        self._fh = self._tmp.open("xb")

    def write(self, data: bytes) -> None:
        """Append bytes, stopping past the size limit."""
        if self._fh is None:
            raise InvalidInputError("upload data arrived before the file part started")
        self.size += len(data)
        if self.size > self.max_bytes:
            raise UploadTooLargeError(
                f"the upload is larger than this challenge's limit of "
                f"{self.max_bytes / 1024 / 1024:.3g} MiB; save it as Parquet (smaller than CSV) "
                "or as float32"
            )
        self._hash.update(data)
        self._fh.write(data)

    def finish(self) -> StoredUpload:
        """Close the file and move it to its content-hash path."""
        if self._fh is None or self._tmp is None:
            raise EmbeddingFileError(
                "the request holds no file: send the embeddings as multipart field 'file'"
            )
        self._fh.close()
        self._fh = None
        sha = self._hash.hexdigest()
        relative = f"{sha[:2]}/{sha}{self.suffix}"
        final = self.folder / relative
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # the same bytes were uploaded before
            self._tmp.unlink()
        else:
            os.replace(self._tmp, final)
        self._tmp = None
        return StoredUpload(path=final, relative=relative, sha256=sha, size_bytes=self.size,
                            suffix=self.suffix)

    def abort(self) -> None:
        """Drop a partial upload."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if self._tmp is not None:
            self._tmp.unlink(missing_ok=True)
            self._tmp = None


class MultipartUpload:
    """Streaming parser of a ``multipart/form-data`` body whose field ``file`` is the upload.

    Args:
        content_type: the request's ``Content-Type`` header.
        sink: where the file's bytes go.

    Raises:
        InvalidInputError: not a multipart body, or a malformed one.
    """

    def __init__(self, content_type: str | None, sink: UploadSink) -> None:
        from python_multipart.multipart import MultipartParser, parse_options_header

        ctype, params = parse_options_header(content_type or "")
        boundary = params.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise InvalidInputError(
                "send the embeddings as multipart/form-data with the file in field 'file' "
                "(curl -F file=@embeddings.parquet …)"
            )
        self.sink = sink
        self._parse_header = parse_options_header
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._in_file = False
        self._seen_file = False
        self._field_bytes = 0
        callbacks: dict[str, Callable[..., Any]] = {
            "on_part_begin": self._part_begin,
            "on_header_field": self._on_header_field,
            "on_header_value": self._on_header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._part_data,
            "on_part_end": self._part_end,
        }
        self._parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]

    def _part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def _headers_finished(self) -> None:
        _, params = self._parse_header(self._headers.get(b"content-disposition", b""))
        name = params.get(b"name", b"")
        self._in_file = name == b"file"
        if self._in_file:
            if self._seen_file:
                raise InvalidInputError("send exactly one file (multipart field 'file')")
            self._seen_file = True
            filename = params.get(b"filename", b"").decode("utf-8", "replace")
            self.sink.open(filename)

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.sink.write(data[start:end])
        else:
            self._field_bytes += end - start
            if self._field_bytes > _MAX_FIELD_BYTES:
                raise InvalidInputError("form fields other than 'file' are too large")

    def _part_end(self) -> None:
        self._in_file = False

    def feed(self, chunk: bytes) -> None:
        """Parse the next chunk of the body."""
        self._parser.write(chunk)

    def finish(self) -> StoredUpload:
        """End of the body: the stored upload."""
        self._parser.finalize()
        return self.sink.finish()


def validate_embedding_file(
    path: Path, dim: int, public_ids: list[str], display_name: str = "upload"
) -> int:
    """Validate an uploaded file as ``planetbench probe`` does and check it covers every public id.

    Args:
        path: the stored file.
        dim: the challenge's embedding dimension.
        public_ids: ids the file must hold.
        display_name: the client's file name, shown in messages instead of the server's path.

    Returns:
        The number of rows.

    Raises:
        EmbeddingFileError: every problem of the file, or the public ids it lacks.
    """
    from planetbench.embedding.files import read_embeddings

    try:
        table = read_embeddings(path, dim=dim)
    except EmbeddingFileError as exc:
        message = str(exc).replace(repr(str(path)), repr(display_name))
        raise EmbeddingFileError(message.replace(str(path), display_name)) from None
    have = set(table.row_index())
    missing = [i for i in public_ids if i not in have]
    if missing:
        shown = ", ".join(repr(m) for m in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise EmbeddingFileError(
            f"embedding file {display_name!r} lacks {len(missing)} of the {len(public_ids)} public ids: "
            f"{shown}{more}; embed every id of the challenge's id list "
            "(GET /api/v1/challenges/<challenge>/ids)"
        )
    return int(table.matrix.shape[0])


def validate_upload(
    upload: StoredUpload, dim: int, public_ids: list[str], display_name: str = "upload"
) -> int:
    """:func:`validate_embedding_file`, in a child process for files above
    :data:`INLINE_VALIDATION_BYTES` (its memory is returned when it exits)."""
    if upload.size_bytes <= INLINE_VALIDATION_BYTES:
        return validate_embedding_file(upload.path, dim, public_ids, display_name)
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return int(pool.submit(validate_embedding_file, upload.path, dim, public_ids,
                               display_name).result())


def default_uploads_dir(store_url: str) -> Path:
    """Where uploads go by default: beside a SQLite store file, else in the user data folder."""
    if store_url.startswith("sqlite:///") and store_url != "sqlite:///:memory:":
        return Path(store_url.split(":///", 1)[1]).parent / "challenge-uploads"
    from platformdirs import user_data_dir

    return Path(user_data_dir("planetbench")) / "challenge-uploads"


__all__ = [
    "INLINE_VALIDATION_BYTES",
    "MultipartUpload",
    "StoredUpload",
    "UploadSink",
    "default_uploads_dir",
    "upload_suffix",
    "validate_embedding_file",
    "validate_upload",
]
