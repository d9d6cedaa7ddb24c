"""Detection heads (torchvision Faster R-CNN, RetinaNet, FCOS behind an FPN) on the tiny encoders:
input/output formats, images without boxes, frozen encoders, training improves mAP on a toy set,
and errors."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.heads.detection import (
    DETECTORS,
    EncoderFPN,
    build_detector,
    check_target,
    detection_loss,
)
from planetbench.metrics.detection import detection_metrics
from planetbench.testing import TinyConvEncoder, TinyViTEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")

#: Small settings so that a step takes well under a second on one CPU thread.
SMALL: dict[str, dict[str, Any]] = {
    "faster-rcnn": {"out_channels": 16, "representation_size": 32, "anchor_scale": 0.5,
                    "rpn_pre_nms_top_n_train": 300, "rpn_post_nms_top_n_train": 100,
                    "rpn_pre_nms_top_n_test": 300, "rpn_post_nms_top_n_test": 100,
                    "box_batch_size_per_image": 64},
    "retinanet": {"out_channels": 16, "anchor_scale": 0.5},
    "fcos": {"out_channels": 32, "anchor_scale": 0.5},  # GroupNorm(32) in its head
}


def squares(n: int, *, size: int = 64, seed: int = 0) -> tuple[list[torch.Tensor], list[dict]]:
    """Bright squares (10–19 px) on a dark noisy background; every 4th image has none."""
    gen = torch.Generator().manual_seed(seed)
    images, targets = [], []
    for i in range(n):
        x = 0.1 * torch.randn(3, size, size, generator=gen)
        k = int(torch.randint(1, 3, (1,), generator=gen)) if i % 4 else 0
        boxes = []
        for _ in range(k):
            s = int(torch.randint(10, 20, (1,), generator=gen))
            x0, y0 = (int(v) for v in torch.randint(0, size - s, (2,), generator=gen))
            x[:, y0 : y0 + s, x0 : x0 + s] += 2.0
            boxes.append([x0, y0, x0 + s, y0 + s])
        images.append(x)
        targets.append({"boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
                        "labels": torch.ones(len(boxes), dtype=torch.long)})
    return images, targets


@pytest.mark.parametrize("encoder_cls", [TinyConvEncoder, TinyViTEncoder])
@pytest.mark.parametrize("name", ["faster-rcnn", "retinanet", "fcos"])
def test_training_losses_and_eval_predictions(encoder_cls: type, name: str) -> None:
    torch.manual_seed(0)
    det = build_detector(name, encoder_cls(), n_classes=2, train_encoder=True, **SMALL[name])
    images = [torch.randn(3, 32, 32), torch.randn(3, 32, 32)]
    targets = [{"boxes": torch.tensor([[4.0, 5.0, 20.0, 24.0]]), "labels": torch.tensor([2])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    det.train()
    losses = det(images, targets)
    assert isinstance(losses, dict) and losses
    total = detection_loss(losses)
    assert torch.isfinite(total)
    total.backward()
    assert any(p.grad is not None for p in det.model.backbone.encoder.parameters())
    det.eval()
    with torch.no_grad():
        out = det(images)
    assert len(out) == 2
    for pred in out:
        k = len(pred["scores"])
        assert pred["boxes"].shape == (k, 4) and pred["labels"].shape == (k,)
        assert bool(((pred["labels"] >= 1) & (pred["labels"] <= 2)).all())
        assert bool((pred["boxes"] >= 0).all() and (pred["boxes"] <= 32).all())


def test_pyramid_levels_and_strides() -> None:
    fpn = EncoderFPN(TinyConvEncoder(), out_channels=8)
    assert fpn.strides == (4, 8, 16, 32, 64) and fpn.names == ("0", "1", "2", "3", "pool")
    maps = fpn(torch.randn(2, 3, 64, 64))
    assert list(maps) == list(fpn.names)
    assert [tuple(m.shape) for m in maps.values()] == [
        (2, 8, 16, 16), (2, 8, 8, 8), (2, 8, 4, 4), (2, 8, 2, 2), (2, 8, 1, 1)]
    retina = EncoderFPN(TinyConvEncoder(), min_stride=8, max_levels=3, extra="p6p7")
    assert retina.strides == (8, 16, 32, 64, 128) and retina.names[-2:] == ("p6", "p7")
    vit = EncoderFPN(TinyViTEncoder(), out_channels=8)  # one stride-16 map → ViTDet pyramid
    assert vit.neck is not None and vit.strides == (4, 8, 16, 32, 64)
    assert tuple(vit(torch.randn(2, 3, 64, 64))["0"].shape) == (2, 8, 16, 16)


def test_frozen_encoder_is_untouched_while_the_rest_trains() -> None:
    torch.manual_seed(0)
    enc = TinyConvEncoder()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    det = build_detector("fcos", enc, n_classes=1, **SMALL["fcos"])
    det.train()
    assert not enc.training
    images, targets = squares(2, size=32, seed=3)
    opt = torch.optim.SGD([p for p in det.parameters() if p.requires_grad], lr=0.1)
    detection_loss(det(images, targets)).backward()
    opt.step()
    assert all(p.grad is None and not p.requires_grad for p in enc.parameters())
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())
    assert any(p.grad is not None for p in det.model.backbone.fpn.parameters())


def _train(det: Any, images: list, targets: list, steps: int, lr: float) -> list[float]:
    opt = torch.optim.Adam([p for p in det.parameters() if p.requires_grad], lr=lr)
    losses = []
    for step in range(steps):
        det.train()
        i = (4 * step) % len(images)
        loss = detection_loss(det(images[i : i + 4], targets[i : i + 4]))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def _evaluate(det: Any, images: list, targets: list) -> dict[str, Any]:
    det.eval()
    with torch.no_grad():
        return detection_metrics(det(images), targets)


def test_training_finds_bright_squares() -> None:
    torch.manual_seed(0)
    det = build_detector("faster-rcnn", TinyConvEncoder(), n_classes=1, train_encoder=True,
                         min_size=64, **SMALL["faster-rcnn"])
    train, test = squares(16, seed=0), squares(8, seed=1)
    before = _evaluate(det, *test)
    _train(det, *train, steps=40, lr=2e-3)
    after = _evaluate(det, *test)
    assert (before["map_50"] or 0.0) < 0.1
    assert after["map_50"] > 0.4 and after["map"] > (before["map"] or 0.0) + 0.1, (before, after)


@pytest.mark.parametrize("name", ["retinanet", "fcos"])
def test_one_stage_losses_fall(name: str) -> None:
    torch.manual_seed(0)
    det = build_detector(name, TinyConvEncoder(), n_classes=1, train_encoder=True, min_size=64,
                         **SMALL[name])
    images, targets = squares(4, seed=0)
    losses = _train(det, images, targets, steps=12, lr=2e-3)  # the same 4 images every step
    assert losses[-1] < 0.8 * losses[0], losses


def test_check_target_accepts_empty_images_and_refuses_bad_boxes() -> None:
    empty = check_target({"boxes": torch.zeros(0), "labels": torch.zeros(0, dtype=torch.long)}, 1)
    assert empty["boxes"].shape == (0, 4)
    with pytest.raises(InvalidInputError, match=r"labels must be integers in 1..2 \(0 is the"):
        check_target({"boxes": torch.tensor([[0.0, 0, 4, 4]]), "labels": torch.tensor([0])}, 2)
    with pytest.raises(InvalidInputError, match="x2 > x1 and y2 > y1"):
        check_target({"boxes": torch.tensor([[4.0, 0, 4, 4]]), "labels": torch.tensor([1])}, 1)
    with pytest.raises(InvalidInputError, match=r"boxes must be \(N, 4\)"):
        check_target({"boxes": torch.zeros(2, 5), "labels": torch.ones(2, dtype=torch.long)}, 1)
    with pytest.raises(InvalidInputError, match="needs 'boxes'"):
        check_target({"labels": torch.ones(1)}, 1)


def test_errors() -> None:
    assert {"faster-rcnn", "retinanet", "fcos"} <= set(DETECTORS.list())
    with pytest.raises(UnknownNameError, match="did you mean 'retinanet'"):
        build_detector("retina-net", TinyConvEncoder(), n_classes=1)
    with pytest.raises(InvalidInputError, match="n_classes must be ≥ 1"):
        build_detector("fcos", TinyConvEncoder(), n_classes=0)
    with pytest.raises(InvalidInputError, match=r"does not take the options \['box_score'\]"):
        build_detector("faster-rcnn", TinyConvEncoder(), n_classes=1, box_score=0.1)
    with pytest.raises(InvalidInputError, match="multiple of 32"):
        build_detector("fcos", TinyConvEncoder(), n_classes=1, out_channels=16)
    with pytest.raises(InvalidInputError, match="increasing strides"):
        EncoderFPN(TinyConvEncoder(), levels=(2, 1))
    with pytest.raises(InvalidInputError, match="non-empty indices"):
        EncoderFPN(TinyConvEncoder(), levels=(7,))
    with pytest.raises(InvalidInputError, match="plain ViT encoders only"):
        EncoderFPN(TinyConvEncoder(), neck_channels=8)
    det = build_detector("fcos", TinyConvEncoder(), n_classes=1, **SMALL["fcos"])
    with pytest.raises(InvalidInputError, match="not a batch tensor"):
        det(torch.zeros(2, 3, 32, 32))
    det.train()
    with pytest.raises(InvalidInputError, match="training needs one target dict"):
        det([torch.zeros(3, 32, 32)])
    with pytest.raises(InvalidInputError, match=r"image 0 must be a float tensor \(C, H, W\)"):
        det([torch.zeros(32, 32)])
