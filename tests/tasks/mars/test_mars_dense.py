"""The dense engine consumes a Mars-Bench segmentation task unchanged (fake data, 1 epoch)."""

from __future__ import annotations

from pathlib import Path

import pytest

from planetbench.protocols.dense import FrozenProtocol
from planetbench.protocols.fraction import select_fraction
from planetbench.tasks import get_task
from planetbench.testing import TinyConvEncoder
from planetbench.testing_mars import write_mars_fake

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_frozen_protocol_trains_and_scores_a_mars_segmentation_task(tmp_path: Path) -> None:
    write_mars_fake(tmp_path, "mb-crater_multi_seg", n_per_split=4, size=32)
    task = get_task("mb-crater_multi_seg")
    train, val, test = (task.load(tmp_path, s) for s in ("train", "val", "test"))
    indices, subset = select_fraction(train, task=task.spec.name, fraction=0.5, seed=0,
                                      n_classes=task.spec.n_classes, directory=tmp_path / "c")
    assert subset.source.startswith("published") and len(indices) == 2
    proto = FrozenProtocol.from_task(task.spec, TinyConvEncoder(), input_size=32, epochs=1,
                                     batch_size=2, seed=0)
    proto.fit(train, val, indices)
    scores = proto.score(test)
    assert 0.0 <= scores["miou"] <= 1.0 and len(scores["iou_per_class"]) == 5
