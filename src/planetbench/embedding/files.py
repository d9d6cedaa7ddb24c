"""Embedding files in NeuCo-Bench's submission layout (CSV or Parquet).

Layout: one row per sample, an ``id`` column and one column per embedding dimension named by its
index (``0``, ``1``, …, ``1023``). Columns are ordered numerically ("10" comes after "9"). Ids lose
a ``.zarr.zip`` or ``.zarr`` suffix, as NeuCo-Bench strips them. A Parquet file may instead hold
the vectors in a single list column (``id`` plus one column of equal-length lists).

Validation is strict and reports every problem of a file at once (missing ``id``, empty or
duplicate ids, NaN/inf, non-numeric cells, non-digit column names, no embedding columns, more
columns than ``dim``, values outside float32's range); unlike NeuCo-Bench we never fill NaN with 0
nor zero-pad.

Memory: the embeddings are held as float32 (NeuCo-Bench's probe trains in float32 too). A CSV file
is parsed in chunks of rows by pandas' C parser (the parser NeuCo-Bench reads submissions with,
so the values are the same) into one preallocated float32 matrix (its lines counted while the
file is hashed, before parsing; a file written meanwhile is refused), a
Parquet file one group of columns at a time by pyarrow, so reading N × D values peaks at about
one float32 matrix plus a constant. Each block is parsed as float64 and
checked before it is narrowed: values beyond float32's range (|x| > 3.4e38) and files whose largest
value is so small (< 1e-30) that float32 would lose it are refused by name, never silently turned
into inf or zeros. Files the fast readers cannot take (a non-numeric cell, say) are read again with
pandas to list every problem.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from planetbench.errors import EmbeddingFileError
from planetbench.protocols.probes.base import FLOAT32_MAX, SMALLEST_SCALE

if TYPE_CHECKING:
    from planetbench.embedding.labels import LabelTask

SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")
ID_SUFFIXES: tuple[str, ...] = (".zarr.zip", ".zarr")
_LIMIT = 10
_BLOCK_VALUES = 1 << 22  # CSV values parsed at once (4 Mi float64: 32 MiB)
_COLUMN_GROUP = 32  # Parquet columns read at once
_PARQUET_ROWS = 8_192  # Parquet rows per batch
_CHUNK = 1 << 20


def _items(items: list[str], limit: int = _LIMIT) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_and_lines(path: Path) -> tuple[str, int]:
    """SHA-256 hex digest of a file and its number of ``\\n`` bytes (an upper bound of its CSV
    rows, header included), in one pass."""
    digest = hashlib.sha256()
    lines = 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
            lines += chunk.count(b"\n")
    return digest.hexdigest(), lines


def _signature(path: Path) -> tuple[int, int]:
    """(size, modification time in ns): changes when the file is written."""
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def strip_id_suffix(value: str) -> str:
    """Drop a trailing ``.zarr.zip`` / ``.zarr`` (and ``/``) from a sample id."""
    value = value.strip().rstrip("/")
    for suffix in ID_SUFFIXES:
        if value.endswith(suffix):
            return value[: -len(suffix)]
    return value


@dataclass(frozen=True)
class EmbeddingTable:
    """Validated embeddings.

    Attributes:
        path: the file read.
        ids: sample ids, shape (n,), str, unique.
        matrix: embeddings, float32 of shape (n, d).
        columns: embedding column names in matrix order (numeric order).
        sha256: checksum of the file (the run identity of the submission).
    """

    path: Path
    ids: np.ndarray
    matrix: np.ndarray
    columns: tuple[str, ...]
    sha256: str
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def dim(self) -> int:
        """Embedding dimension d."""
        return int(self.matrix.shape[1])

    def row_index(self) -> dict[str, int]:
        """Map id → row."""
        if not self._index:
            self._index.update({str(i): k for k, i in enumerate(self.ids)})
        return self._index


def check_embedding_path(path: str | Path) -> Path:
    """The path as a :class:`~pathlib.Path` when it names an existing CSV/Parquet file.

    Raises:
        EmbeddingFileError: unknown suffix, or not an existing file.
    """
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise EmbeddingFileError(
            f"embedding file {str(path)!r}: unknown suffix {path.suffix!r}; allowed: "
            f"{', '.join(SUFFIXES)} (CSV or Parquet with an 'id' column and digit-named columns)"
        )
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise EmbeddingFileError(f"embedding file {str(path)!r} {what}")
    return path


def _unreadable(path: Path, exc: BaseException) -> EmbeddingFileError:
    return EmbeddingFileError(
        f"embedding file {str(path)!r} is unreadable or corrupt: {exc.__class__.__name__}: {exc}"
    )


class _SlowPath(Exception):
    """The fast reader cannot take this file; read it with pandas to list its problems."""


@dataclass
class _Columns:
    """The embedding columns of a file's header.

    Attributes:
        digit: positions (in the file's column order) of the digit-named columns, in numeric order.
        names: their names (stripped), in the same order.
        problems: header problems found.
    """

    digit: list[int]
    names: list[str]
    problems: list[str]


def _check_header(raw: list[str], path: Path, dim: int | None) -> tuple[int, _Columns]:
    """Position of the ``id`` column and the embedding columns of a header ``raw``."""
    names = [str(c).strip() for c in raw]
    if "id" not in names:
        raise EmbeddingFileError(
            f"embedding file {str(path)!r}: missing 'id' column; found columns "
            f"{_items(names)}. The first column must be named 'id'"
        )
    id_pos = names.index("id")
    problems: list[str] = []
    others = [(i, c) for i, c in enumerate(names) if i != id_pos]
    non_digit = [c for _, c in others if not c.isdigit()]
    if non_digit:
        hint = " (an index column? save with index=False)" if any(
            c.startswith("Unnamed") for c in non_digit) else ""
        problems.append(
            f"non-digit column name(s) {_items(non_digit)}{hint}; embedding columns must be "
            "named 0, 1, 2, …"
        )
    digit = sorted(((i, c) for i, c in others if c.isdigit()), key=lambda ic: int(ic[1]))
    by_int: dict[int, list[str]] = {}
    for _, c in digit:
        by_int.setdefault(int(c), []).append(c)
    clashes = [" / ".join(v) for v in by_int.values() if len(v) > 1]
    if clashes:
        problems.append(f"columns naming the same dimension: {_items(clashes)}")
    if not digit:
        problems.append("no embedding columns (digit-named columns 0, 1, …) found")
    if dim is not None and len(digit) > dim:
        problems.append(f"{len(digit)} embedding columns but dim={dim} allows at most {dim}")
    return id_pos, _Columns([i for i, _ in digit], [c for _, c in digit], problems)


class _CellCheck:
    """Checks blocks of parsed values (float64) and narrows them to float32, recording problems.

    Args:
        columns: embedding column names in matrix order.
    """

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.nonfinite_cols = np.zeros(len(columns), dtype=bool)
        self.huge_cols = np.zeros(len(columns), dtype=bool)
        self.nonfinite_rows: list[np.ndarray] = []
        self.huge_rows: list[np.ndarray] = []
        self.max_abs = 0.0

    def narrow(self, values: np.ndarray, out: np.ndarray, *, row: int, col: int = 0) -> None:
        """Check ``values`` ``(m, k)`` and write them as float32 into ``out``.

        Args:
            values: parsed values of rows ``row:row+m`` and columns ``col:col+k``.
            out: float32 destination of the same shape.
            row: index of the first row of the block.
            col: index of the block's first column.
        """
        with np.errstate(over="ignore", invalid="ignore"):
            out[...] = values
        if values.size == 0:
            return
        high, low = float(values.max()), float(values.min())  # NaN if any value is NaN
        if -FLOAT32_MAX <= low and high <= FLOAT32_MAX:  # the common case: no temporaries
            self.max_abs = max(self.max_abs, high, -low)
            return
        cols = slice(col, col + values.shape[1])
        finite = np.isfinite(values)
        if not finite.all():
            bad = ~finite
            self.nonfinite_cols[cols] |= bad.any(axis=0)
            self.nonfinite_rows.append(row + np.flatnonzero(bad.any(axis=1)))
            magnitude = np.abs(np.where(finite, values, 0.0))
        else:
            magnitude = np.abs(values)
        biggest = float(magnitude.max())
        if biggest > FLOAT32_MAX:
            huge = magnitude > FLOAT32_MAX
            self.huge_cols[cols] |= huge.any(axis=0)
            self.huge_rows.append(row + np.flatnonzero(huge.any(axis=1)))
        self.max_abs = max(self.max_abs, biggest)

    def problems(self, ids: list[str]) -> list[str]:
        """Problems of every block checked so far; ``ids`` names the rows."""
        out = []
        if self.nonfinite_cols.any():
            out.append(
                f"NaN/inf values in column(s) {_items(self._cols(self.nonfinite_cols))} for id(s) "
                f"{self._ids(self.nonfinite_rows, ids)}"
            )
        if self.huge_cols.any():
            out.append(
                f"values beyond float32's range (|x| > {FLOAT32_MAX:.3g}) in column(s) "
                f"{_items(self._cols(self.huge_cols))} for id(s) "
                f"{self._ids(self.huge_rows, ids)}: embeddings are held as float32 (as "
                "NeuCo-Bench's probe holds them), where these would become inf; divide every "
                "value by one constant (probes standardise, so a global scale does not change "
                "their scores)"
            )
        elif 0.0 < self.max_abs < SMALLEST_SCALE:
            out.append(
                f"the largest absolute value is {self.max_abs:.3g}, below {SMALLEST_SCALE:g}: "
                "embeddings are held as float32 (as NeuCo-Bench's probe holds them), where "
                "values this small lose their precision or become 0; multiply every value by "
                "one constant (probes standardise, so a global scale does not change their "
                "scores)"
            )
        return out

    def _cols(self, mask: np.ndarray) -> list[str]:
        return [self.columns[j] for j in np.flatnonzero(mask)]

    @staticmethod
    def _ids(rows: list[np.ndarray], ids: list[str]) -> str:
        return _items([ids[i] for i in np.unique(np.concatenate(rows))])


@dataclass
class _Parsed:
    ids: list[str]
    matrix: np.ndarray
    columns: list[str]
    problems: list[str]
    where: str  # how rows are numbered in messages: "line" (CSV) or "row" (Parquet)
    first_row: int  # number of the first data row in that numbering


def _id_problems(parsed: _Parsed) -> list[str]:
    """Empty and duplicate ids, after suffix stripping."""
    problems = []
    empty = [k for k, i in enumerate(parsed.ids) if not i]
    if empty:
        rows = [str(parsed.first_row + k) for k in empty]
        shown = ", ".join(rows[:_LIMIT]) + (f" and {len(rows) - _LIMIT} more"
                                            if len(rows) > _LIMIT else "")
        problems.append(f"{len(empty)} row(s) with an empty id ({parsed.where}(s) {shown}); "
                        "give every row an id")
    ids = pd.Series(parsed.ids, dtype=object)
    dup = ids[ids.duplicated(keep=False) & (ids != "")].unique().tolist()
    if dup:
        problems.append(f"{len(dup)} duplicate id(s): {_items(dup)}")
    if not parsed.ids:
        problems.append("no rows")
    return problems


def _clean_ids(values: list[Any]) -> list[str]:
    return [strip_id_suffix(str(v)) if v is not None else "" for v in values]


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), None)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _unreadable(path, exc) from exc
    if header is None:
        raise EmbeddingFileError(f"embedding file {str(path)!r} is unreadable or corrupt: it is "
                                 "empty (no header line)")
    return header


def _read_csv(path: Path, dim: int | None, capacity: int) -> _Parsed:
    """Parse a CSV file in chunks of rows into a preallocated float32 matrix."""
    header = _csv_header(path)
    id_pos, cols = _check_header(header, path, dim)
    fields = [f"c{i}" for i in range(len(header))]
    digit_fields = [fields[i] for i in cols.digit]
    rows = max(256, _BLOCK_VALUES // max(len(digit_fields), 1))
    try:
        chunks = pd.read_csv(
            path, header=0, names=fields, usecols=[fields[id_pos], *digit_fields],
            dtype={fields[id_pos]: str},  # numbers typed by the parser: faster than asking
            keep_default_na=False, na_values=[""], chunksize=rows, encoding="utf-8",
        )
        with chunks:
            return _fill(path, _pandas_batches(chunks, fields[id_pos], digit_fields), cols,
                         capacity, where="line", first_row=2)
    except (ValueError, TypeError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise _SlowPath from exc  # e.g. a non-numeric cell: pandas lists every problem


def _pandas_batches(chunks: Any, id_field: str, digit_fields: list[str]
                    ) -> Iterator[tuple[list[Any], np.ndarray]]:
    for chunk in chunks:
        ids = [None if isinstance(v, float) else v for v in chunk.pop(id_field).tolist()]
        values = chunk if list(chunk.columns) == digit_fields else chunk[digit_fields]
        yield ids, values.to_numpy(dtype=np.float64)


def _fill(
    path: Path,
    batches: Iterator[tuple[list[Any], np.ndarray]],
    cols: _Columns,
    capacity: int,
    *,
    where: str,
    first_row: int,
) -> _Parsed:
    """Check and narrow ``(ids, float64 values)`` batches into one float32 matrix."""
    d = len(cols.names)
    matrix = np.empty((max(capacity, 1), d), dtype=np.float32)
    check = _CellCheck(cols.names)
    ids: list[str] = []
    for raw_ids, values in batches:
        block_ids = _clean_ids(raw_ids)
        lo, hi = len(ids), len(ids) + len(block_ids)
        if hi > matrix.shape[0]:  # more rows than lines counted: grow (rare)
            grown = np.empty((max(hi, 2 * matrix.shape[0]), d), dtype=np.float32)
            grown[:lo] = matrix[:lo]
            matrix = grown
        check.narrow(values, matrix[lo:hi], row=lo)
        ids.extend(block_ids)
    n = len(ids)
    matrix = matrix[:n] if n >= 0.99 * matrix.shape[0] else matrix[:n].copy()
    return _Parsed(ids, matrix, cols.names, cols.problems + check.problems(ids), where,
                   first_row)


def _read_parquet(path: Path, dim: int | None) -> _Parsed:
    """Read a Parquet file a group of columns at a time into a preallocated float32 matrix."""
    import pyarrow as pa
    from pyarrow import parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from exc
    schema = pf.schema_arrow
    raw = list(schema.names)
    n = pf.metadata.num_rows
    stripped = [str(c).strip() for c in raw]
    if "id" in stripped:
        others = [i for i, c in enumerate(stripped) if c != "id"]
        if len(others) == 1 and not stripped[others[0]].isdigit():
            field_type = schema.field(others[0]).type
            if pa.types.is_list(field_type) or pa.types.is_large_list(field_type) or \
                    pa.types.is_fixed_size_list(field_type):
                return _read_parquet_lists(pf, raw[stripped.index("id")], raw[others[0]], path)
    id_pos, cols = _check_header(raw, path, dim)
    try:
        ids = pf.read(columns=[raw[id_pos]]).column(0)
        if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
            ids = ids.cast(pa.string())
        id_list = _clean_ids(ids.to_pylist())
        matrix = np.empty((n, len(cols.names)), dtype=np.float32)
        check = _CellCheck(cols.names)
        for j0 in range(0, len(cols.names), _COLUMN_GROUP):
            group = [raw[i] for i in cols.digit[j0 : j0 + _COLUMN_GROUP]]
            r0 = 0
            for batch in pf.iter_batches(batch_size=_PARQUET_ROWS, columns=group):
                values = np.asarray(batch.select(group).to_tensor(null_to_nan=True,
                                                                    row_major=True))
                r1 = r0 + values.shape[0]
                check.narrow(values, matrix[r0:r1, j0 : j0 + len(group)], row=r0, col=j0)
                r0 = r1
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise _SlowPath from exc
    return _Parsed(id_list, matrix, cols.names, cols.problems + check.problems(id_list), "row",
                   1)


def _read_parquet_lists(pf: Any, id_name: str, col: str, path: Path) -> _Parsed:
    """Read a Parquet file holding the vectors in one list column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    def batches() -> Iterator[tuple[list[Any], np.ndarray]]:
        width = -1
        for batch in pf.iter_batches(batch_size=16_384, columns=[id_name, col]):
            lists = batch.column(col)
            lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
            if lists.null_count or (lengths.size and (lengths.min() != lengths.max()
                                                      or (width >= 0 and lengths[0] != width))):
                raise _SlowPath  # pandas reports which ids differ
            if lengths.size:
                width = int(lengths[0])
            flat = lists.flatten().to_numpy(zero_copy_only=False).astype(np.float64)
            yield batch.column(id_name).to_pylist(), flat.reshape(len(lengths), width)

    try:
        first = next(pf.iter_batches(batch_size=1, columns=[col]), None)
        width = len(first.column(0)[0].as_py() or []) if first is not None and len(first) else 0
        if width <= 0:
            raise _SlowPath
        cols = _Columns(list(range(width)), [str(i) for i in range(width)], [])
        return _fill(path, batches(), cols, pf.metadata.num_rows, where="row", first_row=1)
    except (pa.ArrowException, ValueError, TypeError) as exc:
        raise _SlowPath from exc


def _read_with_pandas(path: Path, dim: int | None) -> _Parsed:
    """Read a file whole with pandas, listing every problem (for files the fast readers refuse)."""
    try:
        if path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype={"id": str}, low_memory=False)
        else:
            df = pd.read_parquet(path)
    except Exception as exc:  # any parser failure means an unreadable file
        raise _unreadable(path, exc) from exc
    df.columns = [str(c).strip() for c in df.columns]
    if "id" in df.columns:
        others = [c for c in df.columns if c != "id"]
        if len(others) == 1 and not others[0].isdigit() and len(df):
            first = df[others[0]].iloc[0]
            if isinstance(first, list | tuple | np.ndarray):
                df = _expand_list_column(df, others[0], path)
    id_pos, cols = _check_header(list(df.columns), path, dim)
    ids = _clean_ids([None if pd.isna(v) else v for v in df.iloc[:, id_pos]])
    problems = list(cols.problems)
    matrix = np.empty((len(df), len(cols.names)), dtype=np.float32)
    if cols.names:
        values = np.empty((len(df), len(cols.names)), dtype=np.float64)
        non_numeric = np.zeros(values.shape, dtype=bool)
        for j, pos in enumerate(cols.digit):
            column = df.iloc[:, pos]
            if pd.api.types.is_numeric_dtype(column):
                values[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
                continue
            coerced = pd.to_numeric(column, errors="coerce")
            values[:, j] = coerced.to_numpy(dtype=np.float64, na_value=np.nan)
            non_numeric[:, j] = column.notna().to_numpy() & coerced.isna().to_numpy()
        if non_numeric.any():
            names = [cols.names[j] for j in np.flatnonzero(non_numeric.any(axis=0))]
            bad_ids = [ids[k] for k in np.flatnonzero(non_numeric.any(axis=1))]
            problems.append(
                f"non-numeric cells in column(s) {_items(names)} for id(s) {_items(bad_ids)}"
            )
        values[non_numeric] = 0.0  # reported above; not NaN twice
        check = _CellCheck(cols.names)
        check.narrow(values, matrix, row=0)
        problems += check.problems(ids)
    where, first = ("line", 2) if path.suffix.lower() == ".csv" else ("row", 1)
    return _Parsed(ids, matrix, cols.names, problems, where, first)


def _expand_list_column(df: pd.DataFrame, col: str, path: Path) -> pd.DataFrame:
    """Turn one column of equal-length vectors into digit-named columns."""
    lengths = df[col].map(lambda v: -1 if v is None else len(v))
    if lengths.nunique() != 1 or lengths.iloc[0] <= 0:
        bad = df.loc[lengths != lengths.mode().iloc[0], "id"].astype(str).tolist()
        raise EmbeddingFileError(
            f"embedding file {str(path)!r}: list column {col!r} holds vectors of different "
            f"lengths ({sorted(set(lengths.tolist()))}); offending ids: {_items(bad)}"
        )
    mat = np.asarray(df[col].tolist(), dtype=np.float64)
    out = pd.DataFrame(mat, columns=[str(i) for i in range(mat.shape[1])])
    out.insert(0, "id", df["id"].to_numpy())
    return out


def read_embeddings(path: str | Path, *, dim: int | None = None) -> EmbeddingTable:
    """Read and validate an embedding file (NeuCo-Bench submission layout).

    Args:
        path: ``.csv`` or ``.parquet`` file.
        dim: maximum number of embedding columns allowed (NeuCo-Bench's ``embedding_dim``).

    Returns:
        The validated :class:`EmbeddingTable` (a float32 matrix).

    Raises:
        EmbeddingFileError: listing every problem found in the file.
    """
    path = check_embedding_path(path)
    before = _signature(path)
    sha, lines = _sha256_and_lines(path)
    try:
        if path.suffix.lower() == ".csv":
            parsed = _read_csv(path, dim, capacity=lines)
        else:
            parsed = _read_parquet(path, dim)
    except _SlowPath:
        parsed = _read_with_pandas(path, dim)
    if _signature(path) != before:
        raise EmbeddingFileError(
            f"embedding file {str(path)!r} changed while it was being read; run again"
        )
    problems = parsed.problems + _id_problems(parsed)
    if problems:
        listing = "\n  - ".join(problems)
        raise EmbeddingFileError(
            f"embedding file {str(path)!r} has {len(problems)} problem(s):\n  - {listing}"
        )
    return EmbeddingTable(
        path=path,
        ids=np.array(parsed.ids, dtype=str),
        matrix=parsed.matrix,
        columns=tuple(parsed.columns),
        sha256=sha,
    )


def align(
    table: EmbeddingTable, task: LabelTask, *, allow_missing: bool = False,
    fix: str = "add embeddings for them or pass --allow-missing to score on the covered ids",
) -> tuple[np.ndarray, np.ndarray, float]:
    """Embeddings and targets of ``task``'s samples, in the task's order.

    Args:
        table: validated embeddings (may hold ids of other tasks too).
        task: the label task.
        allow_missing: score on the covered ids when the file lacks some task ids.
        fix: how to fix missing ids, said when ``allow_missing`` is False (it names the
            option of the command at hand).

    Returns:
        ``(X, y, coverage)``: X (m, d) float32, y (m,) or (m, C), coverage = m / n in (0, 1].

    Raises:
        EmbeddingFileError: ids are missing (unless ``allow_missing``) or none is covered.
    """
    index = table.row_index()
    rows = np.array([index.get(str(i), -1) for i in task.ids], dtype=np.int64)
    covered = rows >= 0
    n_missing = int((~covered).sum())
    if n_missing and (not allow_missing or not covered.any()):
        missing = [str(i) for i in task.ids[~covered]]
        fix = fix if not allow_missing else (
            "no task id is covered: check that the ids match the label file"
        )
        raise EmbeddingFileError(
            f"embedding file {str(table.path)!r} lacks {n_missing} of the {task.n_samples} ids "
            f"of task {task.name!r}: {_items(missing)}; {fix}"
        )
    coverage = float(covered.mean())
    return table.matrix[rows[covered]], task.y[covered], coverage


__all__ = [
    "EmbeddingTable",
    "align",
    "check_embedding_path",
    "file_sha256",
    "read_embeddings",
    "strip_id_suffix",
]
