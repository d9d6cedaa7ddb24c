"""CaFFe: zone values become classes; a bad zone value or a missing image is named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.fakes import caffe as fake_caffe

from planetbench.errors import DatasetNotFoundError, LabelFileError
from planetbench.tasks import get_task
from planetbench.tasks.readers.images import read_label_image, write_png


def test_caffe_maps_zone_values_to_classes(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "val").glob("*.png"))
    raw = read_label_image(zone)
    mask = get_task("caffe").load(tmp_path, "val")[0]["mask"]
    for value, cls in ((0, 0), (64, 1), (127, 2), (254, 3)):
        assert (mask[raw == value] == cls).all()
    assert (raw == 0).any() and (raw == 254).any()


def test_caffe_rejects_unknown_zone_value(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    zone = next((tmp_path / "caffe" / "zones" / "train").glob("*.png"))
    write_png(zone, np.full((32, 32), 200, dtype=np.uint8))
    with pytest.raises(LabelFileError, match=r"pixel value\(s\) \[200\]"):
        get_task("caffe").load(tmp_path, "train")[0]


def test_caffe_missing_image_for_zone(tmp_path: Path) -> None:
    fake_caffe.write(tmp_path, n_per_split=1)
    next((tmp_path / "caffe" / "sar_images" / "test").glob("*.png")).unlink()
    with pytest.raises(DatasetNotFoundError, match="has no SAR image"):
        get_task("caffe").load(tmp_path, "test")[0]
