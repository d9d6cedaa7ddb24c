"""The cryobench protocol: Cryo-Bench's schedule, validation cadence, checkpoint, crops, windows.

Each test builds the behaviour PANGAEA-Bench's trainer and evaluator have (``engine/trainer.py``,
``engine/evaluator.py``, ``utils/schedulers.py``, ``engine/data_preprocessor.py``) and checks
ours against it on tiny data.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from planetbench.encoders.base import Encoder, EncoderSpec, PretrainedWeights
from planetbench.errors import InvalidInputError
from planetbench.protocols.band_stats import BandStats
from planetbench.protocols.cryobench import (
    CropDataset,
    CryoBenchFinetuneProtocol,
    CryoBenchProtocol,
    decoder_of,
    multistep_milestones,
    validation_epochs,
    window_starts,
)
from planetbench.protocols.dense import DENSE_PROTOCOLS
from planetbench.tasks.spec import Task
from planetbench.testing import tiny_segmentation_task, write_tiny_segmentation

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_segmentation(tmp_path_factory.mktemp("tiny40"), size=40,
                                   n_per_split={"train": 5, "val": 2, "test": 2})


@pytest.fixture(scope="module")
def task() -> Task:
    return tiny_segmentation_task()


def _splits(task: Task, data: Path) -> tuple[Any, Any, Any]:
    return tuple(task.load(data, s) for s in ("train", "val", "test"))  # type: ignore[return-value]


def _unet(tiny: bool = True) -> Encoder:
    from planetbench.encoders import build_encoder
    from planetbench.tasks.bands import RGB

    return build_encoder("unet-cryobench", in_bands=RGB, tiny=tiny, seed=0, device="cpu")


class PretrainedBNEncoder(Encoder):
    """A two-level conv encoder with batch norm whose spec declares published weights (so the
    cryobench protocol keeps it frozen)."""

    def __init__(self) -> None:
        super().__init__()
        self.spec = EncoderSpec(
            name="tiny-pretrained", input_size=16, feature_strides=(2, 4),
            feature_channels=(4, 4), embed_dim=4,
            weights=PretrainedWeights(source="url", url="https://example.org/w.pth",
                                      sha256_note="test weights"),
        )
        self.a = nn.Sequential(nn.Conv2d(3, 4, 2, stride=2), nn.BatchNorm2d(4))
        self.b = nn.Sequential(nn.Conv2d(4, 4, 2, stride=2), nn.BatchNorm2d(4))

    def features(self, x: Tensor) -> list[Tensor]:
        first = self.a(x)
        return [first, self.b(first)]


def _proto(task: Task, encoder: Encoder | None = None, cls: type = CryoBenchProtocol,
           **kw: Any) -> Any:
    params: dict[str, Any] = dict(input_size=16, epochs=6, batch_size=2, lr=1e-2, seed=0)
    params.update(kw)
    return cls.from_task(task.spec, encoder or _unet(), **params)


# ------------------------------------------------------------------------------ pieces by hand


def test_window_starts_are_pangaeas_linspace_grid() -> None:
    # PANGAEA: h = ceil(H / w), starts = round(linspace(0, H - w, h))
    assert window_starts(40, 16) == [0, 12, 24]
    assert window_starts(512, 224) == [0, 144, 288]
    assert window_starts(16, 16) == [0]
    with pytest.raises(InvalidInputError, match="smaller than the 16 px window"):
        window_starts(15, 16)


def test_schedule_milestones_and_validation_epochs() -> None:
    assert multistep_milestones(80 * 10) == [480, 720]  # int(0.6 N), int(0.9 N)
    assert multistep_milestones(12) == [7, 10]
    assert validation_epochs(80) == [0, *range(5, 81, 5)]
    assert validation_epochs(6) == [0, 5, 6]  # before training, every 5th, the last
    assert validation_epochs(2) == [0, 2]


def test_crops_are_windows_of_the_image_drawn_per_epoch_and_index() -> None:
    side = 12
    image = np.arange(3 * side * side, dtype=np.float32).reshape(3, side, side)
    samples = [{"image": image, "mask": (image[0] % 5).astype(np.int64), "id": "a"}] * 3
    stats = BandStats.from_moments([0.0] * 3, [1.0] * 3, source="test")
    ds = CropDataset(samples, [0, 1, 2], stats, window=5, seed=3)  # type: ignore[arg-type]
    crops = [ds[i] for i in range(3)]
    for img, mask in crops:
        assert img.shape == (3, 5, 5) and mask.shape == (5, 5)
        top, left = divmod(int(img[0, 0, 0]), side)  # the pixel's value encodes its position
        assert torch.equal(img, torch.as_tensor(image[:, top:top + 5, left:left + 5]))
        assert torch.equal(mask, torch.as_tensor(image[0, top:top + 5, left:left + 5] % 5).long())
    again = CropDataset(samples, [0, 1, 2], stats, window=5, seed=3)  # type: ignore[arg-type]
    assert all(torch.equal(again[i][0], crops[i][0]) for i in range(3))  # same seed, same crops
    again.set_epoch(1)
    assert any(not torch.equal(again[i][0], crops[i][0]) for i in range(3))
    small = CropDataset(samples, [0], stats, window=13)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="smaller than the 13 px crop"):
        small[0]


def test_sliding_windows_reassemble_the_image_and_average_overlaps(task: Task) -> None:
    proto = _proto(task, n_classes=2)
    proto.window_ = 16
    proto._encode = lambda x: [x]  # an "encoder + head" that returns its input:
    proto.head_ = lambda feats, size: feats[0][:, :2] * 2.0  # each window's logits = 2 · pixels
    image = torch.randn(2, 40, 40)
    # three windows per side at 0, 12, 24: overlaps are averaged, so the image comes back
    assert torch.allclose(proto.predict_image(image), 2.0 * image)


# --------------------------------------------------------------------------- the training loop


def test_lr_steps_per_batch_with_drops_at_60_and_90_percent(
    task: Task, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lrs: list[float] = []
    step = CryoBenchProtocol._step

    def recording(self: Any, images: Tensor, masks: Tensor, optimiser: Any, *args: Any) -> Any:
        lrs.append(optimiser.param_groups[0]["lr"])
        assert images.shape[-2:] == (16, 16) and images.shape[0] == 2  # crops of the window
        return step(self, images, masks, optimiser, *args)

    monkeypatch.setattr(CryoBenchProtocol, "_step", recording)
    train, val, _ = _splits(task, data)
    proto = _proto(task).fit(train, val)
    # 5 images, batch 2, the incomplete batch dropped: 2 steps × 6 epochs; drops after 7, 10
    assert proto.total_steps_ == 12 and len(lrs) == 12
    assert lrs == pytest.approx([1e-2] * 7 + [1e-3] * 3 + [1e-4] * 2)
    assert [v.epoch for v in proto.validations_] == [0, 5, 6]
    assert [r.val_miou is not None for r in proto.history_] == [False] * 4 + [True, True]
    record = proto.fit_record()
    assert record["val_metric"] == "miou_cryobench" and record["epochs_run"] == 6
    assert record["window"] == 16 and record["encoder_trained"] is True


def test_the_first_best_validation_is_restored_and_tested(
    task: Task, data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scores = iter([0.2, 0.5, 0.5, 0.1])  # epochs 0, 5, 10, 12: the tie keeps epoch 5
    snapshots: dict[int, dict[str, Tensor]] = {}
    evaluate = CryoBenchProtocol._evaluate_images

    def scripted(self: Any, ds: Any) -> dict[str, Any]:
        out = dict(evaluate(self, ds))
        out["miou_cryobench"] = next(scores)
        snapshots[len(snapshots)] = copy.deepcopy(self.head_.state_dict())
        return out

    monkeypatch.setattr(CryoBenchProtocol, "_evaluate_images", scripted)
    train, val, _ = _splits(task, data)
    proto = _proto(task, epochs=12, lr=5e-2).fit(train, val)
    assert [v.epoch for v in proto.validations_] == [0, 5, 10, 12]
    assert proto.best_epoch_ == 5 and proto.best_val_miou_ == 0.5
    restored = proto.head_.state_dict()
    assert all(torch.equal(restored[k], snapshots[1][k]) for k in restored)
    assert not all(torch.equal(restored[k], snapshots[3][k]) for k in restored)


def test_frozen_encoder_trains_in_training_mode_and_scores_both_conventions(
    task: Task, data: Path
) -> None:
    encoder = PretrainedBNEncoder()
    before = {k: v.detach().clone() for k, v in encoder.named_parameters()}
    modes: list[tuple[bool, bool]] = []
    encoder.a.register_forward_pre_hook(
        lambda m, args: modes.append((m.training, torch.is_grad_enabled())))
    train, val, test = _splits(task, data)
    proto = _proto(task, encoder, epochs=1, head_options=None).fit(train, val)
    assert not proto.trains() and decoder_of("tiny-pretrained") == "upernet-pangaea"
    # training steps: the frozen encoder in training mode without gradients; validation: eval
    assert (True, False) in modes and (False, False) in modes and (True, True) not in modes
    after = dict(encoder.named_parameters())
    assert all(torch.equal(after[k], v) for k, v in before.items())  # weights frozen
    scores = proto.score(test)
    assert 0.0 <= scores["miou_cryobench"] <= 1.0
    assert {"miou", "f1_macro", "iou_per_class_cryobench"} <= set(scores)
    notes = " ".join(proto.notes())
    assert "encoder frozen, in training mode" in notes and "miou_cryobench" in notes
    assert "decoder upernet-pangaea" in notes and "sliding windows" in notes
    assert CryoBenchFinetuneProtocol.from_task(task.spec, PretrainedBNEncoder()).trains()


def test_native_size_encoders_train_on_whole_images(task: Task, data: Path) -> None:
    train, val, _ = _splits(task, data)
    proto = _proto(task, input_size=None, epochs=1).fit(train, val)
    assert proto.window_ == 40  # unet-cryobench runs at the dataset's image size
    assert proto.measure_size() == 40


def test_registered_and_refusing_what_cryo_bench_does_not_do(task: Task, data: Path) -> None:
    assert DENSE_PROTOCOLS.get("cryobench") is CryoBenchProtocol
    problems = CryoBenchProtocol.check_settings(
        {"encoder": "unet-cryobench", "head": "upernet", "head_options": {"channels": 8},
         "band_policy": "auto", "patience": 5, "augment": True, "dice_weight": 0.5})
    assert [p.split("=")[0] for p in problems] == [
        "head", "head_options", "band_policy", "patience", "augment", "dice_weight"]
    assert "trains Cryo-Bench's decoder 'unet-pangaea'" in problems[0]
    assert CryoBenchProtocol.check_settings(
        {"encoder": "dofa-base-cryobench", "head": "upernet-pangaea",
         "band_policy": "cryobench"}) == []
    defaults = CryoBenchProtocol.run_defaults("unet-cryobench")
    assert defaults == {"input_size": None, "epochs": 80, "patience": None,
                        "head": "unet-pangaea", "band_policy": "cryobench"}
    train, val, _ = _splits(task, data)
    with pytest.raises(InvalidInputError, match="fewer than one batch of 8"):
        _proto(task, batch_size=8).fit(train, val)
    with pytest.raises(InvalidInputError, match="patience=5 must be None"):
        _proto(task, patience=5).fit(train, val)
    with pytest.raises(InvalidInputError, match="smaller than the 48 px crop"):
        _proto(task, input_size=48, epochs=1).fit(train, val)
    with pytest.raises(InvalidInputError, match="head='upernet' must be 'unet-pangaea'"):
        _proto(task, head="upernet").fit(train, val)


def test_same_seed_same_result(task: Task, data: Path) -> None:
    train, val, test = _splits(task, data)
    a = _proto(task, epochs=1).fit(train, val).score(test)
    b = _proto(task, epochs=1).fit(train, val).score(test)
    assert a["miou_cryobench"] == b["miou_cryobench"] and a["miou"] == b["miou"]
