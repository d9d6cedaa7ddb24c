"""GLID, GLD and GSDD: image/mask tile folders as Cryo-Bench's loaders read them."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from planetbench.errors import DatasetNotFoundError, InvalidInputError, LabelFileError
from planetbench.tasks import get_task
from planetbench.tasks.cryo import GLD_SPEC
from planetbench.tasks.readers.geotiff import write_geotiff


def _fake(task: str) -> ModuleType:
    return importlib.import_module(f"tests.fakes.{task}")


def test_gld_channels_follow_the_cryobench_loader() -> None:
    """File channel 7 is what Cryo-Bench feeds as SAR; statistics are put back in file order."""
    names = GLD_SPEC.band_names
    assert names.index("coherence") == 6
    assert GLD_SPEC.band_mean is not None and GLD_SPEC.band_std is not None
    mean = dict(zip(names, GLD_SPEC.band_mean, strict=True))
    assert mean["coherence"] == 174.6983  # the yaml's sar mean
    assert mean["slope"] == 25.4476 and mean["elevation"] == 4865.1832
    assert [b.wavelength_um for b in GLD_SPEC.bands[:5]] == [0.49, 0.56, 0.665, 0.842, 1.61]
    assert all(b.modality != "optical" for b in GLD_SPEC.bands[5:])


@pytest.mark.parametrize(
    ("task", "image_dir", "mask_dir"),
    [("glid", "images", "masks"), ("gld", "image", "mask"), ("gsdd", "image", "mask")],
)
def test_folder_names_are_cryobench_ones(
    task: str, image_dir: str, mask_dir: str, tmp_path: Path
) -> None:
    _fake(task).write(tmp_path, n_per_split=1)
    assert (tmp_path / "train" / image_dir).is_dir() and (tmp_path / "train" / mask_dir).is_dir()
    (tmp_path / "train" / mask_dir).rename(tmp_path / "train" / "labels")
    with pytest.raises(DatasetNotFoundError, match=rf"'train/{mask_dir}'.*{image_dir}/<stem>"):
        get_task(task).load(tmp_path, "train")


def test_missing_data_points_at_a_nested_copy(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path / "unpacked" / "GLID", n_per_split=1)
    with pytest.raises(DatasetNotFoundError, match=r"did you mean --root .*unpacked/GLID\?"):
        get_task("glid").load(tmp_path, "val")
    assert len(get_task("glid").load(tmp_path / "unpacked" / "GLID", "val")) == 1


def test_folder_task_unpaired_files(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path, n_per_split=2)
    next((tmp_path / "train" / "masks").glob("*.tif")).unlink()
    with pytest.raises(LabelFileError, match="no partner"):
        get_task("glid").load(tmp_path, "train")


def test_folder_task_wrong_band_count(tmp_path: Path) -> None:
    _fake("gsdd").write(tmp_path, n_per_split=1)
    img = next((tmp_path / "val" / "image").glob("*.tif"))
    write_geotiff(img, np.zeros((4, 32, 32), dtype=np.float32))
    with pytest.raises(InvalidInputError, match=r"has 4 channels, expected 10"):
        get_task("gsdd").load(tmp_path, "val")[0]


def test_folder_task_mask_out_of_range(tmp_path: Path) -> None:
    _fake("gld").write(tmp_path, n_per_split=1)
    msk = next((tmp_path / "test" / "mask").glob("*.tif"))
    write_geotiff(msk, np.full((32, 32), 255, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"value\(s\) \[255\]"):
        get_task("gld").load(tmp_path, "test")[0]
