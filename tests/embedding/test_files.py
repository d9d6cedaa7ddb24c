"""Embedding files (NeuCo-Bench layout): reading, strict validation, alignment to tasks."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planetbench.embedding.files import align, read_embeddings, strip_id_suffix
from planetbench.embedding.labels import read_label_file
from planetbench.errors import EmbeddingFileError


def _frame(n: int = 4, d: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame(rng.normal(size=(n, d)), columns=[str(i) for i in range(d)])
    df.insert(0, "id", [f"s{i}" for i in range(n)])
    return df


def test_csv_numeric_column_order_and_suffixes(tmp_path: Path) -> None:
    df = _frame(n=3, d=11)
    df["id"] = ["s0.zarr.zip", "s1.zarr", "s2"]
    shuffled = df[["id", "10", "2", "9", *[str(i) for i in (0, 1, 3, 4, 5, 6, 7, 8)]]]
    path = tmp_path / "emb.csv"
    shuffled.to_csv(path, index=False)
    table = read_embeddings(path)
    assert table.columns == tuple(str(i) for i in range(11))  # "10" after "9"
    assert table.ids.tolist() == ["s0", "s1", "s2"]
    np.testing.assert_allclose(table.matrix, df[[str(i) for i in range(11)]].to_numpy(),
                               rtol=1e-6)
    assert table.matrix.dtype == np.float32 and table.dim == 11
    assert table.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert strip_id_suffix("a.zarr/") == "a"


def test_parquet_columns_and_list_column(tmp_path: Path) -> None:
    df = _frame(n=4, d=3)
    path = tmp_path / "emb.parquet"
    df.to_parquet(path, index=False)
    table = read_embeddings(path)
    np.testing.assert_allclose(table.matrix, df[["0", "1", "2"]].to_numpy(), rtol=1e-6)
    listed = pd.DataFrame({"id": df["id"], "embedding": list(df[["0", "1", "2"]].to_numpy())})
    lpath = tmp_path / "list.parquet"
    listed.to_parquet(lpath, index=False)
    np.testing.assert_allclose(read_embeddings(lpath).matrix, table.matrix)


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    df = _frame(n=5, d=3).astype({"1": object})
    df.loc[0, "0"] = np.nan
    df.loc[1, "2"] = np.inf
    df.loc[2, "1"] = "abc"
    df.loc[4, "id"] = "s3"
    df["Unnamed: 0"] = 0
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(EmbeddingFileError) as info:
        read_embeddings(path, dim=2)
    msg = str(info.value)
    assert "5 problem(s)" in msg
    assert "1 duplicate id(s): 's3'" in msg
    assert "non-digit column name(s) 'Unnamed: 0' (an index column? save with index=False)" in msg
    assert "3 embedding columns but dim=2" in msg
    assert "non-numeric cells in column(s) '1' for id(s) 's2'" in msg
    assert "NaN/inf values in column(s) '0', '2' for id(s) 's0', 's1'" in msg


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("e.csv", "key,0,1\na,1,2\n", "missing 'id' column"),
        ("e.csv", "id\na\nb\n", "no embedding columns"),
        ("e.csv", "id,0,x\na,1,2\n", "non-digit column name\\(s\\) 'x'"),
        ("e.csv", "id,1,01\na,1,2\n", "columns naming the same dimension: '1 / 01'"),
        ("e.csv", "id,0\n", "no rows"),
        ("e.csv", "", "unreadable or corrupt"),
        ("e.parquet", "not parquet at all", "unreadable or corrupt"),
        ("e.txt", "id,0\na,1\n", "unknown suffix '.txt'; allowed: .csv, .parquet"),
    ],
)
def test_file_errors(tmp_path: Path, name: str, content: str, match: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(EmbeddingFileError, match=match):
        read_embeddings(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingFileError, match="does not exist"):
        read_embeddings(tmp_path / "nope.csv")


def test_many_bad_ids_are_capped(tmp_path: Path) -> None:
    df = _frame(n=14, d=2)
    df["0"] = np.nan
    path = tmp_path / "nan.csv"
    df.to_csv(path, index=False)
    with pytest.raises(EmbeddingFileError, match="'s9' and 4 more"):
        read_embeddings(path)


def test_align_order_missing_and_coverage(tmp_path: Path) -> None:
    df = _frame(n=5, d=2)
    path = tmp_path / "emb.csv"
    df.to_csv(path, index=False)
    table = read_embeddings(path)
    labels = tmp_path / "t__regr.csv"
    labels.write_text("id,label\ns3,3\ns1,1\ns9,9\nzz,0\n")
    task = read_label_file(labels)
    with pytest.raises(EmbeddingFileError, match="lacks 2 of the 4 ids of task 't': 's9', 'zz'"):
        align(table, task)
    X, y, coverage = align(table, task, allow_missing=True)
    assert coverage == 0.5
    np.testing.assert_allclose(X, df.loc[[3, 1], ["0", "1"]].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(y, [3.0, 1.0])
    labels.write_text("id,label\nq1,1\nq2,2\n")
    with pytest.raises(EmbeddingFileError, match="no task id is covered"):
        align(table, read_label_file(labels), allow_missing=True)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_empty_id_cell_is_reported(tmp_path: Path, suffix: str) -> None:
    df = _frame(n=4, d=2)
    df.loc[2, "id"] = None
    path = tmp_path / f"e{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path, index=False)
    where = "line(s) 4" if suffix == ".csv" else "row(s) 3"
    with pytest.raises(EmbeddingFileError, match=re.escape(f"1 row(s) with an empty id ({where})")):
        read_embeddings(path)


@pytest.mark.parametrize(
    ("scale", "match"),
    [
        (1e160, r"values beyond float32's range \(\|x\| > 3.4e\+38\) in column\(s\) '0', '1'"),
        (1e-200, r"the largest absolute value is \d\.\d+e-200, below 1e-30"),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_values_float32_cannot_hold_are_refused(
    tmp_path: Path, suffix: str, scale: float, match: str
) -> None:
    """Scaled by 1e160 or 1e-200, embeddings would become inf or 0 in float32: refused."""
    df = _frame(n=6, d=2)
    df[["0", "1"]] *= scale
    path = tmp_path / f"e{suffix}"
    df.to_csv(path, index=False) if suffix == ".csv" else df.to_parquet(path, index=False)
    with pytest.raises(EmbeddingFileError, match=match):
        read_embeddings(path)


def test_block_readers_equal_one_pandas_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny blocks, column groups and a wrong row estimate: the same float32 matrix."""
    import planetbench.embedding.files as files

    df = _frame(n=300, d=37, seed=3)
    csv, parquet = tmp_path / "e.csv", tmp_path / "e.parquet"
    df.to_csv(csv, index=False)
    df.to_parquet(parquet, index=False, row_group_size=70)
    want = df[[str(i) for i in range(37)]].to_numpy(dtype=np.float64).astype(np.float32)
    monkeypatch.setattr(files, "_BLOCK_VALUES", 100)
    monkeypatch.setattr(files, "_COLUMN_GROUP", 5)
    monkeypatch.setattr(files, "_PARQUET_ROWS", 16)
    for lines in (None, 7):  # 7: fewer lines counted than rows, so the matrix must grow
        if lines is not None:
            monkeypatch.setattr(files, "_sha256_and_lines",
                                lambda path, n=lines, real=files._sha256_and_lines:
                                (real(path)[0], n))
        for path in (csv, parquet):
            table = read_embeddings(path)
            assert table.matrix.dtype == np.float32 and table.matrix.flags["C_CONTIGUOUS"]
            np.testing.assert_array_equal(table.matrix, want)
            assert table.ids.tolist() == df["id"].tolist()


def test_bad_cells_in_many_blocks_are_all_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.embedding.files as files

    df = _frame(n=200, d=4)
    df.loc[[5, 150], "1"] = np.nan
    df.loc[[100], "3"] = 1e300
    path = tmp_path / "e.parquet"
    df.to_parquet(path, index=False)
    monkeypatch.setattr(files, "_COLUMN_GROUP", 2)
    monkeypatch.setattr(files, "_PARQUET_ROWS", 16)
    with pytest.raises(EmbeddingFileError) as info:
        read_embeddings(path)
    msg = str(info.value)
    assert "NaN/inf values in column(s) '1' for id(s) 's5', 's150'" in msg
    assert "beyond float32's range" in msg and "column(s) '3' for id(s) 's100':" in msg


def test_unreadable_csv_variants(tmp_path: Path) -> None:
    binary = tmp_path / "bin.csv"
    binary.write_bytes(bytes(range(128, 256)) * 4)
    with pytest.raises(EmbeddingFileError, match="unreadable or corrupt"):
        read_embeddings(binary)
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("id,0,1\na,1,2\nb,3\n")  # a short row: its missing cell is reported
    with pytest.raises(EmbeddingFileError, match="NaN/inf values in column\\(s\\) '1' for id\\(s\\) 'b'"):
        read_embeddings(ragged)
    folder = tmp_path / "dir.csv"
    folder.mkdir()
    with pytest.raises(EmbeddingFileError, match="is a directory, not a file"):
        read_embeddings(folder)


def test_a_file_written_while_it_is_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import planetbench.embedding.files as files

    path = tmp_path / "e.csv"
    _frame(n=5, d=2).to_csv(path, index=False)
    real = files._read_csv

    def read_then_append(*args: object, **kwargs: object) -> object:
        parsed = real(*args, **kwargs)  # type: ignore[arg-type]
        with path.open("a") as fh:
            fh.write("s9,1,2\n")
        return parsed

    monkeypatch.setattr(files, "_read_csv", read_then_append)
    with pytest.raises(EmbeddingFileError, match="changed while it was being read; run again"):
        read_embeddings(path)
