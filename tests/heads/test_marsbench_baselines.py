"""Mars-Bench's torchvision baselines (tiny variants): what each training type trains, strict
weight loading from a file, no random fallback, the offline error, and forward formats."""

from __future__ import annotations

import urllib.error
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import torch
from torch import nn

from planetbench.errors import (
    InvalidInputError,
    UnknownNameError,
    WeightsMismatchError,
    WeightsUnavailableError,
)
from planetbench.heads.classification import classification_loss
from planetbench.heads.detection import detection_loss
from planetbench.heads.marsbench import (
    MARSBENCH_CLASSIFIERS,
    build_marsbench_classifier,
    build_marsbench_detector,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LAST = {"resnet101": "fc", "vit-l16": "heads.head", "swinv2-b": "head"}


def _imagenet_file(name: str, path: Path) -> Path:
    """A tiny torchvision model with its 1000-class head, saved as the 'published' file."""
    torch.manual_seed(1)
    torch.save(MARSBENCH_CLASSIFIERS.get(name).build(True).state_dict(), path)
    return path


@pytest.mark.parametrize("name", ["resnet101", "vit-l16", "swinv2-b"])
def test_feature_extraction_trains_only_the_new_last_layer(name: str, tmp_path: Path) -> None:
    path = _imagenet_file(name, tmp_path / "w.pt")
    model = build_marsbench_classifier(name, n_classes=4, kind="multiclass", tiny=True,
                                       weights=path)
    trainable = {n for n, p in model.model.named_parameters() if p.requires_grad}
    assert trainable == {f"{LAST[name]}.weight", f"{LAST[name]}.bias"}
    saved = torch.load(path, weights_only=True)
    own = model.model.state_dict()
    loaded = [k for k in saved if not k.startswith(LAST[name])]
    assert loaded and all(torch.equal(saved[k], own[k]) for k in loaded)
    logits = model(torch.randn(2, 3, 32, 32))
    assert logits.shape == (2, 4)
    classification_loss("multiclass", logits, torch.tensor([0, 3])).backward()


@pytest.mark.parametrize("name", ["resnet101", "vit-l16", "swinv2-b"])
def test_binary_has_one_logit_and_transfer_learning_trains_everything(name: str,
                                                                      tmp_path: Path) -> None:
    model = build_marsbench_classifier(name, n_classes=2, kind="classification", tiny=True,
                                       training_type="transfer_learning",
                                       weights=_imagenet_file(name, tmp_path / "w.pt"))
    assert all(p.requires_grad for p in model.parameters())
    logits = model(torch.randn(3, 3, 32, 32))
    assert logits.shape == (3,)
    scratch = build_marsbench_classifier(name, n_classes=5, kind="multilabel", tiny=True,
                                         training_type="scratch_training", weights="none")
    assert scratch(torch.randn(2, 3, 32, 32)).shape == (2, 5)


def test_frozen_resnet_still_updates_batchnorm_statistics_as_marsbench_does(tmp_path: Path
                                                                           ) -> None:
    model = build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass", tiny=True,
                                       weights=_imagenet_file("resnet101", tmp_path / "w.pt"))
    bn: Any = model.model.bn1
    before = bn.running_mean.clone()
    model.train()  # Lightning keeps the whole model in train mode
    model(torch.randn(2, 3, 32, 32) + 3.0)
    assert not bn.weight.requires_grad
    assert not torch.equal(bn.running_mean, before)


def test_weights_are_loaded_strictly_and_never_replaced_by_random(tmp_path: Path) -> None:
    wrong = _imagenet_file("resnet101", tmp_path / "resnet.pt")
    with pytest.raises(WeightsMismatchError, match="do not match baseline 'vit-l16'"):
        build_marsbench_classifier("vit-l16", n_classes=3, kind="multiclass", tiny=True,
                                   weights=wrong)
    with pytest.raises(InvalidInputError, match="only allowed with training_type="
                                                "'scratch_training'"):  # refused before building
        build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass", weights="none")
    # a tiny miniature (tests) has no published weights: random under any training type
    tiny_random = build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass",
                                             tiny=True, weights="none")
    assert tiny_random.training_type == "feature_extraction"
    with pytest.raises(InvalidInputError, match="tiny variant has no published weights"):
        build_marsbench_classifier("swinv2-b", n_classes=3, kind="multiclass", tiny=True)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass", tiny=True,
                                   weights=tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsMismatchError, match="not a readable checkpoint"):
        build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass", tiny=True,
                                   weights=tmp_path / "junk.pt")


def test_offline_published_weights_fail_with_the_url_and_the_cache_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torchvision.models._api as api

    def offline(url: str, *args: Any, **kwargs: Any) -> Any:
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(api, "load_state_dict_from_url", offline)
    hub = Path(torch.hub.get_dir()) / "checkpoints"
    with pytest.raises(WeightsUnavailableError, match=r"resnet101-cd907fc2\.pth") as err:
        build_marsbench_classifier("resnet101", n_classes=3, kind="multiclass")
    assert str(hub / "resnet101-cd907fc2.pth") in str(err.value)
    with pytest.raises(WeightsUnavailableError, match="fasterrcnn_resnet50_fpn_coco"):
        build_marsbench_detector("faster-rcnn", n_classes=1)
    # Mars-Bench's 'scratch' Faster R-CNN starts from torchvision's ImageNet ResNet-50
    with pytest.raises(WeightsUnavailableError, match=r"resnet50-0676ba61\.pth"):
        build_marsbench_detector("faster-rcnn", n_classes=1, training_type="scratch_training")


def _detection_batch() -> tuple[list[torch.Tensor], list[dict[str, torch.Tensor]]]:
    gen = torch.Generator().manual_seed(0)
    images = [torch.rand(3, 64, 64, generator=gen) for _ in range(2)]
    targets = [{"boxes": torch.tensor([[8.0, 8.0, 30.0, 26.0]]), "labels": torch.tensor([1])},
               {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.long)}]
    return images, targets


def _run(det: Any) -> None:
    images, targets = _detection_batch()
    det.train()
    detection_loss(det(images, targets)).backward()
    det.eval()
    with torch.no_grad():
        out = det(images)
    assert len(out) == 2 and all(o["boxes"].shape[1:] == (4,) for o in out)


@pytest.mark.parametrize("name", ["faster-rcnn", "retinanet", "ssd"])
def test_detectors_from_scratch_train_and_predict(name: str) -> None:
    torch.manual_seed(0)
    det = build_marsbench_detector(name, n_classes=1, training_type="scratch_training",
                                   tiny=True, weights="none")
    assert all(p.requires_grad for p in det.parameters())
    _run(det)


def _coco_layout(name: str) -> nn.Module:
    """torchvision's pretrained layout on the tiny ResNet, as an independent reference."""
    from torchvision.models.detection import FasterRCNN, RetinaNet
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.retinanet import RetinaNetHead, _default_anchorgen
    from torchvision.models.resnet import BasicBlock, ResNet
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7
    from torchvision.ops.misc import FrozenBatchNorm2d

    if name == "faster-rcnn":
        resnet = ResNet(BasicBlock, [1, 1, 1, 1], norm_layer=FrozenBatchNorm2d)
        return FasterRCNN(_resnet_fpn_extractor(resnet, 3), num_classes=91)
    if name == "retinanet":
        body = _resnet_fpn_extractor(ResNet(BasicBlock, [1, 1, 1, 1]), 3, returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(512, 256))
        head = RetinaNetHead(256, 9, 91, norm_layer=partial(nn.GroupNorm, 32))
        return RetinaNet(body, 91, anchor_generator=_default_anchorgen(), head=head)
    return ResNet(BasicBlock, [1, 1, 1, 1])  # ssd: the ImageNet ResNet-34's layout


@pytest.mark.parametrize(("name", "trainable"), [
    ("faster-rcnn", ("rpn.", "roi_heads.")),
    ("retinanet", ("backbone.fpn.", "head.")),
    ("ssd", ("head.",)),
])
def test_detectors_feature_extraction_loads_strictly_and_freezes_the_backbone(
    name: str, trainable: tuple[str, ...], tmp_path: Path,
) -> None:
    torch.manual_seed(2)
    reference = _coco_layout(name)
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    det = build_marsbench_detector(name, n_classes=1, tiny=True, weights=tmp_path / "w.pt")
    params = dict(det.model.named_parameters())
    assert {n for n, p in params.items() if p.requires_grad} == {
        n for n in params if n.startswith(trainable)}
    conv = "body.conv1.weight" if name != "ssd" else "0.weight"
    ref_key = "backbone.body.conv1.weight" if name != "ssd" else "conv1.weight"
    assert torch.equal(params[f"backbone.{conv}"], reference.state_dict()[ref_key])
    _run(det)
    with pytest.raises(WeightsMismatchError, match=f"do not match baseline '{name}'"):
        build_marsbench_detector(name, n_classes=1, tiny=True,
                                 weights=_imagenet_file("vit-l16", tmp_path / "vit.pt"))


def test_errors() -> None:
    with pytest.raises(UnknownNameError, match="did you mean 'resnet101'"):
        build_marsbench_classifier("resnet-101", n_classes=2, kind="binary")
    with pytest.raises(UnknownNameError, match="did you mean 'retinanet'"):
        build_marsbench_detector("retina", n_classes=1)
    with pytest.raises(InvalidInputError, match="training_type 'frozen' is not one of"):
        build_marsbench_detector("ssd", n_classes=1, training_type="frozen")
    with pytest.raises(InvalidInputError, match="n_classes must be ≥ 1"):
        build_marsbench_detector("ssd", n_classes=0, tiny=True, weights="none",
                                 training_type="scratch_training")
    with pytest.raises(InvalidInputError, match="one logit; got n_classes=3"):
        build_marsbench_classifier("resnet101", n_classes=3, kind="binary", tiny=True,
                                   weights="none", training_type="scratch_training")
