"""Embedding files in NeuCo-Bench's submission layout (CSV or Parquet).

Layout: one row per sample, an ``id`` column and one column per embedding dimension named by its
index (``0``, ``1``, …, ``1023``). Columns are ordered numerically ("10" comes after "9"). Ids lose
a ``.zarr.zip`` or ``.zarr`` suffix, as NeuCo-Bench strips them. A Parquet file may instead hold
the vectors in a single list column (``id`` plus one column of equal-length lists).

Validation is strict and reports every problem of a file at once (missing ``id``, duplicate ids,
NaN/inf, non-numeric cells, non-digit column names, no embedding columns, more columns than
``dim``); unlike NeuCo-Bench we never fill NaN with 0 nor zero-pad.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from planetbench.errors import EmbeddingFileError

if TYPE_CHECKING:
    from planetbench.embedding.labels import LabelTask

SUFFIXES: tuple[str, ...] = (".csv", ".parquet", ".pq")
ID_SUFFIXES: tuple[str, ...] = (".zarr.zip", ".zarr")
_LIMIT = 10


def _items(items: list[str], limit: int = _LIMIT) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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
        matrix: embeddings, float64 of shape (n, d).
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


def _load_frame(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise EmbeddingFileError(
            f"embedding file {str(path)!r}: unknown suffix {path.suffix!r}; allowed: "
            f"{', '.join(SUFFIXES)} (CSV or Parquet with an 'id' column and digit-named columns)"
        )
    if not path.is_file():
        raise EmbeddingFileError(f"embedding file {str(path)!r} does not exist")
    try:
        if suffix == ".csv":
            return pd.read_csv(path, dtype={"id": str}, low_memory=False)
        return pd.read_parquet(path)
    except Exception as exc:  # any parser failure means an unreadable file
        raise EmbeddingFileError(
            f"embedding file {str(path)!r} is unreadable or corrupt: {exc.__class__.__name__}: "
            f"{exc}"
        ) from exc


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
        The validated :class:`EmbeddingTable`.

    Raises:
        EmbeddingFileError: listing every problem found in the file.
    """
    path = Path(path)
    df = _load_frame(path)
    df.columns = [str(c).strip() for c in df.columns]
    problems: list[str] = []
    if "id" not in df.columns:
        raise EmbeddingFileError(
            f"embedding file {str(path)!r}: missing 'id' column; found columns "
            f"{_items(list(df.columns))}. The first column must be named 'id'"
        )
    others = [c for c in df.columns if c != "id"]
    if len(others) == 1 and not others[0].isdigit() and len(df):
        first = df[others[0]].iloc[0]
        if isinstance(first, list | tuple | np.ndarray):
            df = _expand_list_column(df, others[0], path)
            others = [c for c in df.columns if c != "id"]

    ids_raw = df["id"]
    empty_ids = ids_raw.isna().to_numpy()
    if empty_ids.any():
        problems.append(f"{int(empty_ids.sum())} row(s) with an empty id (rows "
                        f"{_items([str(i) for i in np.flatnonzero(empty_ids)])})")
    ids = ids_raw.astype(str).map(strip_id_suffix)
    dup = ids[ids.duplicated(keep=False) & ~empty_ids].unique().tolist()
    if dup:
        problems.append(f"{len(dup)} duplicate id(s): {_items(dup)}")

    non_digit = [c for c in others if not c.isdigit()]
    if non_digit:
        hint = " (an index column? save with index=False)" if any(
            c.startswith("Unnamed") for c in non_digit) else ""
        problems.append(
            f"non-digit column name(s) {_items(non_digit)}{hint}; embedding columns must be "
            "named 0, 1, 2, …"
        )
    digit = sorted((c for c in others if c.isdigit()), key=int)
    by_int: dict[int, list[str]] = {}
    for c in digit:
        by_int.setdefault(int(c), []).append(c)
    clashes = [" / ".join(v) for v in by_int.values() if len(v) > 1]
    if clashes:
        problems.append(f"columns naming the same dimension: {_items(clashes)}")
    if not digit:
        problems.append("no embedding columns (digit-named columns 0, 1, …) found")
    if dim is not None and len(digit) > dim:
        problems.append(f"{len(digit)} embedding columns but dim={dim} allows at most {dim}")

    matrix = np.empty((len(df), 0))
    if digit:
        block = df[digit]
        # Parsers already typed clean columns as numbers; only the others need coercion.
        text_cols = [c for c in digit if not pd.api.types.is_numeric_dtype(block[c])]
        numeric = block.copy() if text_cols else block
        non_numeric = np.zeros(block.shape, dtype=bool)
        if text_cols:
            coerced = block[text_cols].apply(pd.to_numeric, errors="coerce")
            numeric[text_cols] = coerced
            pos = [digit.index(c) for c in text_cols]
            non_numeric[:, pos] = block[text_cols].notna().to_numpy() & coerced.isna().to_numpy()
        if non_numeric.any():
            cols = [digit[j] for j in np.flatnonzero(non_numeric.any(axis=0))]
            bad_ids = ids[non_numeric.any(axis=1)].tolist()
            problems.append(
                f"non-numeric cells in column(s) {_items(cols)} for id(s) {_items(bad_ids)}"
            )
        matrix = numeric.to_numpy(dtype=np.float64)
        nonfinite = ~np.isfinite(matrix) & ~non_numeric
        if nonfinite.any():
            cols = [digit[j] for j in np.flatnonzero(nonfinite.any(axis=0))]
            bad_ids = ids[nonfinite.any(axis=1)].tolist()
            problems.append(
                f"NaN/inf values in column(s) {_items(cols)} for id(s) {_items(bad_ids)}"
            )
    if len(df) == 0:
        problems.append("no rows")
    if problems:
        listing = "\n  - ".join(problems)
        raise EmbeddingFileError(
            f"embedding file {str(path)!r} has {len(problems)} problem(s):\n  - {listing}"
        )
    return EmbeddingTable(
        path=path,
        ids=ids.to_numpy(dtype=str),
        matrix=matrix,
        columns=tuple(digit),
        sha256=file_sha256(path),
    )


def align(
    table: EmbeddingTable, task: LabelTask, *, allow_missing: bool = False
) -> tuple[np.ndarray, np.ndarray, float]:
    """Embeddings and targets of ``task``'s samples, in the task's order.

    Args:
        table: validated embeddings (may hold ids of other tasks too).
        task: the label task.
        allow_missing: score on the covered ids when the file lacks some task ids.

    Returns:
        ``(X, y, coverage)``: X (m, d) float64, y (m,) or (m, C), coverage = m / n in (0, 1].

    Raises:
        EmbeddingFileError: ids are missing (unless ``allow_missing``) or none is covered.
    """
    index = table.row_index()
    rows = np.array([index.get(str(i), -1) for i in task.ids], dtype=np.int64)
    covered = rows >= 0
    n_missing = int((~covered).sum())
    if n_missing and (not allow_missing or not covered.any()):
        missing = [str(i) for i in task.ids[~covered]]
        fix = (
            "add embeddings for them or pass --allow-missing to score on the covered ids"
            if not allow_missing
            else "no task id is covered: check that the ids match the label file"
        )
        raise EmbeddingFileError(
            f"embedding file {str(table.path)!r} lacks {n_missing} of the {task.n_samples} ids "
            f"of task {task.name!r}: {_items(missing)}; {fix}"
        )
    coverage = float(covered.mean())
    return table.matrix[rows[covered]], task.y[covered], coverage


__all__ = ["EmbeddingTable", "align", "file_sha256", "read_embeddings", "strip_id_suffix"]
