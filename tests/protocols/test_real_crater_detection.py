"""Real Mars data, model side: crater detection on CTX tiles trained on some tiles, tested on others.

``mbx-ctx_crater_det`` (../shared/data/mars-ctx-craters: 9 real CTX tiles, Robbins-catalogue crater
boxes, split by tile: 6 train, 1 val, 2 test) read through the task API. To fit in seconds on two
CPU cores, each tile is averaged down by 2 (1248 → 624 px, ~96 m/px) and cut into 128 px crops
(16 per tile; a crater is kept in a crop when at least half of its box lies inside, clipped to the
crop). A tiny convolutional encoder with an FCOS head (width 32) is trained end to end for six
epochs (seeded) and compared with the same detector left at its seeded random initialisation
(``epochs=0``: untrained random features and head). The trained detector must find held-out
craters clearly above that reference: COCO mAP@.5 ≥ 0.03 and mAP@[.5:.95] ≥ 0.008 above it (the
seeds 0–3 of this set-up gave mAP@.5 0.044–0.105 and mAP 0.012–0.029; the untrained detector
≈ 0).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from planetbench.protocols.detection import DetectionProtocol
from planetbench.tasks import get_task
from planetbench.testing import TinyConvEncoder

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]

FACTOR = 2
CROP = 128


def crater_crops(ds: Any) -> list[dict[str, Any]]:
    """Every tile of a split averaged down by :data:`FACTOR` and cut into :data:`CROP` px crops."""
    out = []
    for i in range(len(ds)):
        sample = ds[i]
        image = F.avg_pool2d(torch.as_tensor(sample["image"])[None], FACTOR)[0].numpy()
        boxes = np.asarray(sample["boxes"], np.float32) / FACTOR
        side = image.shape[-1]
        for y in range(0, side - CROP + 1, CROP):
            for x in range(0, side - CROP + 1, CROP):
                shifted = boxes - np.array([x, y, x, y], np.float32)
                clipped = np.clip(shifted, 0, CROP)
                area = (shifted[:, 2] - shifted[:, 0]) * (shifted[:, 3] - shifted[:, 1])
                inside = ((clipped[:, 2] - clipped[:, 0]).clip(0)
                          * (clipped[:, 3] - clipped[:, 1]).clip(0))
                keep = inside >= 0.5 * area
                out.append({"id": f"{sample['id']}_{x}_{y}",
                            "image": np.ascontiguousarray(image[:, y:y + CROP, x:x + CROP]),
                            "boxes": clipped[keep], "labels": np.zeros(int(keep.sum()), np.int64)})
    return out


def _detector(epochs: int) -> DetectionProtocol:
    torch.manual_seed(0)
    encoder = TinyConvEncoder(in_chans=3, channels=(16, 32, 64, 64))
    return DetectionProtocol(encoder, n_classes=1, class_names=("crater",), metric="map",
                             head="fcos", head_options={"out_channels": 32}, lr=1e-3,
                             batch_size=8, epochs=epochs, patience=epochs or 1, input_size=CROP,
                             seed=0, train_encoder=True)


def test_crater_detection_on_held_out_ctx_tiles_beats_untrained_random_features(
        shared_data: Path) -> None:
    task = get_task("mbx-ctx_crater_det")
    train, val, test = (crater_crops(task.load(shared_data, s)) for s in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (96, 16, 32)
    assert sum(len(c["boxes"]) for c in test) > 50  # held-out craters to find
    trained = _detector(epochs=6).fit(train, val)
    untrained = _detector(epochs=0).fit(train, val)
    got, reference = trained.score(test), untrained.score(test)
    print(f"CTX craters, held-out tiles: trained mAP {got['map']:.4f} mAP@.5 {got['map_50']:.4f}"
          f" vs untrained mAP {reference['map']:.4f} mAP@.5 {reference['map_50']:.4f}")
    assert got["map_50"] >= 0.03 and got["map_50"] >= 10 * reference["map_50"]
    assert got["map"] >= reference["map"] + 0.008
    assert trained.best_epoch_ >= 1 and untrained.fit_record()["epochs_run"] == 0
