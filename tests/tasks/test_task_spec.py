"""TaskSpec's typed fields: layouts, files, notes; and one module per cryo dataset."""

from __future__ import annotations

import importlib
from dataclasses import replace
from pathlib import Path

import pytest

from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks import TASKS, get_task
from planetbench.tasks.cryo import CRYO_TASKS
from planetbench.tasks.cryo.folders import folder_names, folder_reader
from planetbench.tasks.spec import Layout, RemoteFile, Task, TaskSpec
from planetbench.testing import registered


@pytest.mark.parametrize("name", CRYO_TASKS)
def test_each_cryo_dataset_has_its_module(name: str) -> None:
    module = importlib.import_module(f"planetbench.tasks.cryo.{name}")
    task = getattr(module, name.upper())
    assert task is get_task(name) and task.spec is getattr(module, f"{name.upper()}_SPEC")
    assert task.spec.layouts and task.spec.files and task.spec.benchmark_citation


def test_layout_description_names_every_accepted_layout() -> None:
    spec = TaskSpec(name="toy", suite="test", kind="segmentation", metric="miou")
    assert spec.layout_description == ""
    two = replace(spec, layouts=(Layout("a", "root/a/*.tif"), Layout("b", "root/b/*.png")))
    assert two.layout_description == "root/a/*.tif or root/b/*.png"


def test_missing_data_lists_all_layouts(tmp_path: Path) -> None:
    glid = get_task("glid")
    extra = Layout("flat", "root/<split>/*.tif + root/<split>/*_mask.tif")
    spec = replace(glid.spec, name="glid-two", layouts=(*glid.spec.layouts, extra))
    with registered(TASKS, {"glid-two": Task(spec, folder_reader(spec))}), pytest.raises(
        DatasetNotFoundError, match=r"masks/<stem>\.tif or root/<split>/\*\.tif"
    ):
        get_task("glid-two").load(tmp_path, "train")


def test_folder_layout_is_required_by_folder_readers() -> None:
    spec = replace(get_task("gld").spec, layouts=(Layout("scenes", "root/*.nc"),))
    with pytest.raises(InvalidInputError, match="declares no image/mask folder layout"):
        folder_names(spec)
    assert folder_names(get_task("glid").spec) == ("images", "masks")


def test_remote_files_are_typed_spec_facts() -> None:
    sicd = get_task("sicd").spec
    assert all(isinstance(f, RemoteFile) for f in sicd.files)
    assert [f.part_of for f in sicd.files].count("train.tar.gz") == 2
    assert sicd.tile_option == "tile_size" and "modulo 10" in sicd.split_note
    assert sicd.published_stats is not None and sicd.published_stats.band_names == ("HH", "HV")
    assert sicd.band_mean is None
