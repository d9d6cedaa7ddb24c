"""``planetbench data list|info|verify`` on the Mars tasks."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

import planetbench.cli.data  # noqa: F401  (registers the commands)
from planetbench.cli import app
from planetbench.testing_mars import write_mars_fake

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def test_list_shows_the_mars_suites() -> None:
    result = runner.invoke(app, ["data", "list", "--suite", "mars"], env=WIDE)
    assert result.exit_code == 0, result.output
    for name in ("mb-domars16k", "mb-surface_multi_label_cls", "mb-mmls", "mb-dust_devil_det"):
        assert name in result.output
    assert "multilabel" in result.output and "detection" in result.output
    assert "mbx-" not in result.output
    real = runner.invoke(app, ["data", "list", "--suite", "mars-real"], env=WIDE)
    assert real.exit_code == 0 and "mbx-ctx_crater_det" in real.output
    assert "CC-BY-4.0" in real.output


def test_info_describes_every_layout_and_the_marsbench_facts() -> None:
    result = runner.invoke(app, ["data", "info", "mb-boulder_det"], env=WIDE)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "Boulder_Detection" in out and "train/val/test = 39/6/4" in out
    assert "pascal_voc" in out and "coco_annotations.json" in out and "labels/<stem>.txt" in out
    assert "huggingface-cli download Mirali33/mb-boulder_det" in out
    assert "dataset_dict.json" in out and "drop_empty=True" in out
    assert "0=boulder" in out


def test_verify_opens_every_split_in_each_layout(tmp_path: Path) -> None:
    for layout in ("zenodo", "hf-parquet", "hf-save-to-disk"):
        write_mars_fake(tmp_path / layout, "mb-surface_multi_label_cls", layout=layout, size=8)
        result = runner.invoke(app, ["data", "verify", "mb-surface_multi_label_cls", "--root",
                                     str(tmp_path / layout)], env=WIDE)
        assert result.exit_code == 0, result.output
        assert "every split opens" in result.output and "test" in result.output


def test_verify_missing_data_exits_2_with_where_to_get_it(tmp_path: Path) -> None:
    result = runner.invoke(app, ["data", "verify", "mb-domars16k", "--root", str(tmp_path)],
                           env=WIDE)
    assert result.exit_code == 2
    out = " ".join(result.output.split())
    assert "zenodo.org/communities/mars-bench" in out and "Mirali33/mb-domars16k" in out
