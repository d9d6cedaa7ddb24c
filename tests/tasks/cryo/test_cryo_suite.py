"""The cryo suite: every task loads its fake upstream layout; errors say what to do."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from tests.fakes import sicd as fake_sicd

from planetbench.errors import DatasetNotFoundError, InvalidInputError
from planetbench.tasks import get_task, list_tasks
from planetbench.tasks.cryo import CRYO_TASKS


def _fake(task: str) -> ModuleType:
    return importlib.import_module(f"tests.fakes.{task}")


def test_registry_holds_the_five_cryo_tasks() -> None:
    assert sorted(list_tasks("cryo")) == sorted(CRYO_TASKS)
    for name in CRYO_TASKS:
        spec = get_task(name).spec
        assert (spec.suite, spec.kind, spec.metric) == ("cryo", "segmentation", "miou")
        assert spec.n_classes >= 2 and spec.bands and spec.citation and spec.url
        if spec.band_mean is not None:
            assert spec.band_std is not None and len(spec.band_std) == len(spec.bands)
            assert all(s > 0 for s in spec.band_std)
        for band in spec.bands:
            assert band.modality != "optical" or band.wavelength_um is not None
            assert band.modality != "sar" or band.polarisation is not None
        assert spec.ignore_index is not None and spec.ignore_index not in range(spec.n_classes)
        # No invented checksums: every file has a published digest or the spec says why not.
        files = spec.files
        assert all(f.md5 or f.sha256 for f in files) or "not published" in spec.checksum_note


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_fake_data_loads_through_reader(task: str, tmp_path: Path) -> None:
    _fake(task).write(tmp_path, n_per_split=2, size=32, seed=0)
    spec = get_task(task).spec
    allowed = set(range(spec.n_classes)) | {spec.ignore_index}
    for split in spec.splits:
        ds = get_task(task).load(tmp_path, split)
        assert len(ds) == 2
        ids = set()
        for i in range(len(ds)):
            item = ds[i]
            image, mask = item["image"], item["mask"]
            assert image.dtype == np.float32 and image.ndim == 3
            assert image.shape[0] == len(spec.bands)
            assert mask.dtype == np.int64 and mask.shape == image.shape[1:]
            assert set(np.unique(mask).tolist()) <= allowed
            assert np.isfinite(image).all()
            assert isinstance(item["id"], str)
            ids.add(item["id"])
            if task == "sicd":  # default: one padded 512 px tile per toy scene
                assert image.shape == (3, 512, 512)
                _, _, y1, x1 = item["window"].tolist()
                assert (y1, x1) == fake_sicd.scene_shape(32)
                assert (mask[:3, :4] == spec.ignore_index).all()  # the no-data corner
                assert (mask[3:y1, :x1] != spec.ignore_index).all()
                assert (mask[y1:] == spec.ignore_index).all()  # padding
                assert (mask[:, x1:] == spec.ignore_index).all()
            else:  # binary/zone tasks: every pixel is labelled, none ignored
                assert (mask != spec.ignore_index).all() and len(np.unique(mask)) >= 2
        assert len(ids) == 2


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_fakes_are_seeded(task: str, tmp_path: Path) -> None:
    for name, seed in (("a", 0), ("b", 0), ("c", 1)):
        _fake(task).write(tmp_path / name, n_per_split=1, size=32, seed=seed)
    split = get_task(task).spec.splits[0]
    a, b, c = (get_task(task).load(tmp_path / n, split)[0] for n in "abc")
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["mask"], b["mask"])
    assert not np.array_equal(a["image"], c["image"])


@pytest.mark.parametrize("task", CRYO_TASKS)
def test_missing_data_says_where_and_how(task: str, tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=rf"planetbench data download {task} --root"):
        get_task(task).load(tmp_path, "train")


def test_reader_rejects_unknown_options_and_splits(tmp_path: Path) -> None:
    _fake("glid").write(tmp_path, n_per_split=1)
    with pytest.raises(InvalidInputError, match="takes no options; got tile_size"):
        get_task("glid").load(tmp_path, "train", tile_size=8)
    with pytest.raises(InvalidInputError, match="has no split 'valid'"):
        get_task("sicd").load(tmp_path, "valid")
    with pytest.raises(InvalidInputError, match=r"options .*are .*tile_size, stride"):
        get_task("sicd").load(tmp_path, "train", size=8)
