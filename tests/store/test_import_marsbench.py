"""Importing Mars-Bench's per-seed result tables (format ``marsbench``): fakes and the real folder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.fakes import marsbench_results as fake
from typer.testing import CliRunner

import planetbench.cli.capability
import planetbench.cli.results  # noqa: F401  (two commands: Typer keeps the command names)
from planetbench.cli import app
from planetbench.errors import InvalidInputError
from planetbench.store import ResultStore
from planetbench.store.importers import detect_and_read, import_results
from planetbench.store.importers.marsbench import (
    MARSBENCH_DATASET_METRICS,
    float32_score,
    read_marsbench,
    read_marsbench_normalizer,
    read_marsbench_table,
)

runner = CliRunner()
REAL = "marsbench-baseline-results"


def _table(tmp_path: Path, rows: list[dict[str, object]], name: str = "t.csv") -> Path:
    path = tmp_path / name
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _row(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {"model": "UNet", "dataset": "mb-boulder_seg", "seed": 0,
                               "test metric": 0.5, "training_type": "feature_extraction",
                               "partition name": "default"}
    base.update(kw)
    return base


def test_table_maps_to_long_schema(tmp_path: Path) -> None:
    files = fake.write(tmp_path)
    df = read_marsbench_table(files["classification_filtered.csv"])
    assert len(df) == 27 and df.attrs["notes"] == []
    first = df.iloc[0]
    assert (first["model"], first["task"], first["metric"]) == (
        "ResNet101", "mb-change_cls_ctx", "f1_weighted_mb")
    assert first["score"] == fake.CONSTANT
    assert (first["protocol"], first["fraction"], first["suite"]) == ("frozen", 1.0, "mars")
    assert first["source"] == "marsbench:classification_filtered.csv"
    assert (first["file"], first["row"]) == ("classification_filtered.csv", 1)
    assert json.loads(first["details"]) == {
        "metric_upstream": "test/F1Score_weighted", "training_type": "feature_extraction"}
    assert sorted(df["seed"].unique().tolist()) == [0, 1, 42]


def test_training_types_segmentation_metric_and_fractions(tmp_path: Path) -> None:
    path = _table(tmp_path, [
        _row(training_type="feature_extraction"),
        _row(training_type="transfer_learning", **{"partition name": "0.05"}),
        _row(training_type="scratch_training", **{"partition name": "1.0"}),
    ])
    df = read_marsbench_table(path)
    assert df["protocol"].tolist() == ["frozen", "finetune", "scratch"]
    assert df["metric"].unique().tolist() == ["iou_mb"]
    assert df["fraction"].tolist() == [1.0, 0.05, 1.0]
    assert json.loads(df["details"].iloc[0])["metric_upstream"] == "test/iou"


def test_few_shot_rows_carry_shots_and_no_fraction(tmp_path: Path) -> None:
    files = fake.write(tmp_path)
    df = read_marsbench_table(files["classification_few_shot_filtered.csv"])
    assert df["fraction"].isna().all()
    assert sorted({json.loads(d)["shots"] for d in df["details"]}) == [1, 5]
    # the run with an empty test metric is skipped and named, not imported
    assert len(df) == 3 * 2 * 3 * 2 - 1
    (note,) = df.attrs["notes"]
    assert "skipped 1 run(s) without a test metric" in note and "row 1 " in note


def test_float32_scores_are_one_number_however_printed() -> None:
    assert float32_score(0.1904276311397552) == float32_score(0.19042763113975525)
    assert float32_score(0.0618085302412509) == float32_score(0.06180853024125099)
    assert float32_score(0.3928) == 0.3928  # not a float32 print: unchanged
    assert float32_score(0.0) == 0.0


def test_folder_reads_run_tables_once_and_skips_the_rest(tmp_path: Path) -> None:
    fake.write(tmp_path)
    df = read_marsbench(tmp_path)
    assert sorted(df["file"].unique()) == [
        "classification_few_shot_filtered.csv", "classification_filtered.csv",
        "classification_partition_filtered.csv"]
    # the partition table's 1.0 rows are the 27 full-data runs: stored once, from the full table
    full = df[df["fraction"] == 1.0]
    assert len(full) == 27 and set(full["file"]) == {"classification_filtered.csv"}
    assert len(df) == 27 + 54 + 35
    notes = "\n".join(df.attrs["notes"])
    assert "earth_data.csv: not a Mars-Bench run table (no 'training_type' column)" in notes
    assert "classification_partition_filtered.csv: 27 run(s) repeat runs of an earlier" in notes


def test_import_is_idempotent_in_any_order(tmp_path: Path, store_url: str) -> None:
    files = fake.write(tmp_path / "tables")
    store = ResultStore(store_url)
    # the partition table first: its 1.0 rows are stored, the full table then adds nothing new
    first = import_results(read_marsbench(files["classification_partition_filtered.csv"]), store)
    assert (first.n_rows, first.n_written) == (81, 81)
    second = import_results(read_marsbench(files["classification_filtered.csv"]), store)
    assert (second.n_written, second.n_skipped) == (0, 27)
    folder = import_results(read_marsbench(tmp_path / "tables"), store)
    assert (folder.n_written, folder.n_skipped) == (35, 81)
    again = import_results(read_marsbench(tmp_path / "tables"), store)
    assert again.n_written == 0
    assert len(store.query(suite="mars")) == 116


def test_detection_picks_marsbench_not_geobench_v1(tmp_path: Path) -> None:
    files = fake.write(tmp_path)
    by_file = detect_and_read(files["classification_partition_filtered.csv"])
    assert by_file["suite"].unique().tolist() == ["mars"]
    by_folder = detect_and_read(tmp_path)
    assert len(by_folder) == 116
    forced = detect_and_read(files["classification_filtered.csv"], format="marsbench")
    assert len(forced) == 27


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ([_row(dataset="mb-bolder_seg")], r"not Mars-Bench datasets: 'mb-bolder_seg' \(did you "
                                          r"mean 'mb-boulder_seg'\?\) in row\(s\) 1"),
        ([_row(), _row(training_type="linear_probe")],
         r"'training_type' holds \['linear_probe'\] in row\(s\) 2; .*feature_extraction"),
        ([_row(**{"partition name": "0.05x train"})],
         r"'partition name' must be 'default' or a training fraction .* \['0.05x train'\]"),
        ([_row(**{"partition name": "1.5"})], r"'partition name' must be .*row\(s\) 1"),
        ([_row(**{"test metric": "n/a"})], r"'score' is not a finite number in row\(s\) 1"),
        ([_row(seed="x")], r"'seed' must hold integers"),
    ],
)
def test_invalid_rows_are_refused_by_name(
    tmp_path: Path, rows: list[dict[str, object]], match: str
) -> None:
    with pytest.raises(InvalidInputError, match=match):
        read_marsbench_table(_table(tmp_path, rows))


def test_bad_shots_and_missing_columns(tmp_path: Path) -> None:
    few = {k: v for k, v in _row().items() if k != "partition name"}
    with pytest.raises(InvalidInputError, match=r"'few_shot' must hold images per class .*'0'"):
        read_marsbench_table(_table(tmp_path, [{**few, "few_shot": 0}]))
    with pytest.raises(InvalidInputError, match=r"not a Mars-Bench run table: it lacks \['seed'\]"):
        read_marsbench_table(_table(tmp_path, [{k: v for k, v in _row().items() if k != "seed"}]))
    with pytest.raises(InvalidInputError, match=r"has budget columns \['partition name', "):
        read_marsbench_table(_table(tmp_path, [{**_row(), "few_shot": 1}]))
    with pytest.raises(InvalidInputError, match="no run with a test metric"):
        read_marsbench_table(_table(tmp_path, [_row(**{"test metric": ""})]))
    with pytest.raises(InvalidInputError, match="does not exist"):
        read_marsbench_table(tmp_path / "absent.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidInputError, match="holds no Mars-Bench run table"):
        read_marsbench(empty)


def test_one_bad_table_writes_nothing(tmp_path: Path, store_url: str) -> None:
    fake.write(tmp_path)
    _table(tmp_path, [_row(), _row(dataset="mb-nope")], name="segmentation_filtered.csv")
    store = ResultStore(store_url)
    with pytest.raises(InvalidInputError, match="mb-nope"):
        import_results(read_marsbench(tmp_path), store)
    assert len(store.query()) == 0


def test_dataset_metrics_follow_the_task_registry() -> None:
    """Every registered Mars-Bench task has the metric Mars-Bench reports for its kind."""
    from planetbench.tasks import get_task, list_tasks

    expected = {"classification": "f1_weighted_mb", "multiclass": "f1_weighted_mb",
                "multilabel": "f1_weighted_mb", "segmentation": "iou_mb", "detection": "map"}
    registered = {t: expected[get_task(t).spec.kind] for t in list_tasks() if t.startswith("mb-")}
    assert registered == MARSBENCH_DATASET_METRICS


def test_normalizer_reader(tmp_path: Path) -> None:
    path = tmp_path / "normalizer.json"
    path.write_text('{"mb-a": [0.1, 0.9], "mb-b": [NaN, NaN]}')
    ranges = read_marsbench_normalizer(path)
    assert ranges["mb-a"] == (0.1, 0.9) and all(np.isnan(ranges["mb-b"]))
    path.write_text('{"mb-a": [0.1]}')
    with pytest.raises(InvalidInputError, match=r"entry 'mb-a' must be \[min, max\]"):
        read_marsbench_normalizer(path)
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInputError, match="not a Mars-Bench normalizer"):
        read_marsbench_normalizer(path)


def test_cli_import_folder_twice_and_bad_table(tmp_path: Path, store_url: str) -> None:
    fake.write(tmp_path / "t")
    result = runner.invoke(app, ["import", str(tmp_path / "t"), "--store", store_url])
    assert result.exit_code == 0, result.output
    assert "imported 116 of 116 rows (3 models, 3 tasks)" in result.output
    assert "note: earth_data.csv: not a Mars-Bench run table" in result.output
    again = runner.invoke(app, ["import", str(tmp_path / "t"), "--store", store_url])
    assert "imported 0 of 116 rows" in again.output and "skipped 116 already stored" in again.output
    bad = _table(tmp_path, [_row(training_type="x")])
    refused = runner.invoke(app, ["import", str(bad), "--store", store_url])
    assert refused.exit_code == 2 and "training_type" in refused.output
    assert len(ResultStore(store_url).query()) == 116


def test_real_folder(shared_data: Path, store_url: str) -> None:
    folder = shared_data / REAL
    df = read_marsbench(folder)
    counts = df.groupby("file").size().to_dict()
    assert counts == {
        "classification_filtered.csv": 315,
        "segmentation_filtered.csv": 224,
        # 2,443 rows minus the 315 full-data runs repeated at fraction 1.0
        "classification_partition_filtered.csv": 2128,
        # 1,729 rows minus 2 without a test metric minus the 224 repeated full-data runs
        "segmentation_partition_filtered.csv": 1503,
        # 1,680 rows minus 1 without a test metric
        "classification_few_shot_filtered.csv": 1679,
    }
    assert sum("without a test metric" in n for n in df.attrs["notes"]) == 2
    assert set(df["protocol"]) == {"frozen"} and set(df["suite"]) == {"mars"}
    assert df.groupby("metric")["model"].nunique().to_dict() == {"f1_weighted_mb": 5,
                                                                  "iou_mb": 4}
    store = ResultStore(store_url)
    assert import_results(df, store).n_written == 5849
    single = read_marsbench(folder / "segmentation_partition_filtered.csv")
    assert import_results(single, store).n_written == 0  # its 1.0 rows are stored already
