"""Mars-Bench's classification baselines as encoders: embed = what the replaced layer sees, strict
weights, random weights for scratch only by asking, clear offline errors."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from planetbench.encoders import build_encoder, get_encoder
from planetbench.encoders.marsbench import MARSBENCH_ENCODERS
from planetbench.errors import WeightsMismatchError, WeightsUnavailableError
from planetbench.tasks.bands import RGB

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _tiny_torchvision(name: str) -> nn.Module:
    """The torchvision model of the tiny variant, with its classification layer."""
    from torchvision.models.resnet import BasicBlock, ResNet
    from torchvision.models.swin_transformer import (
        PatchMergingV2,
        SwinTransformer,
        SwinTransformerBlockV2,
    )
    from torchvision.models.vision_transformer import VisionTransformer

    builders: dict[str, Callable[[], nn.Module]] = {
        "mb-resnet101": lambda: ResNet(BasicBlock, [1, 1, 1, 1]),
        "mb-vit-l16": lambda: VisionTransformer(image_size=32, patch_size=8, num_layers=4,
                                                num_heads=2, hidden_dim=16, mlp_dim=32),
        "mb-swinv2-b": lambda: SwinTransformer(
            patch_size=[4, 4], embed_dim=8, depths=[1, 1, 1, 1], num_heads=[1, 1, 1, 1],
            window_size=[2, 2], stochastic_depth_prob=0.5, block=SwinTransformerBlockV2,
            downsample_layer=PatchMergingV2),
    }
    torch.manual_seed(1)
    return builders[name]().eval()


@pytest.mark.parametrize("name", MARSBENCH_ENCODERS)
def test_embed_is_what_the_replaced_last_layer_sees(name: str, tmp_path: Path) -> None:
    reference = _tiny_torchvision(name)
    path = tmp_path / "weights.pth"
    torch.save(reference.state_dict(), path)  # with the ImageNet classification layer
    encoder = build_encoder(name, in_bands=RGB, tiny=True, weights=path, device="cpu")
    assert encoder.load_report is not None and encoder.load_report.ignored
    last = {"mb-resnet101": "fc", "mb-vit-l16": "heads", "mb-swinv2-b": "head"}[name]
    setattr(reference, last, nn.Identity())
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        torch.testing.assert_close(encoder.embed(x), reference(x), rtol=1e-5, atol=1e-5)
        feats = encoder.features(x)
    spec = encoder.spec
    assert [tuple(f.shape[1:]) for f in feats] == [
        (c, 32 // s, 32 // s) for c, s in zip(spec.feature_channels, spec.feature_strides,
                                              strict=True)]


def test_weights_are_strict_and_never_random_by_accident(tmp_path: Path) -> None:
    path = tmp_path / "other.pth"
    torch.save(_tiny_torchvision("mb-swinv2-b").state_dict(), path)
    with pytest.raises(WeightsMismatchError, match="mb-resnet101"):
        build_encoder("mb-resnet101", in_bands=RGB, tiny=True, weights=path)
    with pytest.raises(WeightsUnavailableError,
                       match=r"resnet101-cd907fc2\.pth"):  # offline: the URL and cache path
        build_encoder("mb-resnet101", in_bands=RGB)
    with pytest.raises(WeightsUnavailableError, match="weights='none' was given for the "
                       "pretrained encoder 'mb-vit-l16'"):
        build_encoder("mb-vit-l16", in_bands=RGB, weights="none")
    a = build_encoder("mb-vit-l16", in_bands=RGB, tiny=True, random_init=True, seed=3)
    b = build_encoder("mb-vit-l16", in_bands=RGB, tiny=True, random_init=True, seed=3)
    assert a.load_report is None
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_specs_declare_imagenet_and_mars_bench_sizes() -> None:
    spec = get_encoder("mb-swinv2-b").spec
    assert spec.input_size == 224 and spec.weights is not None
    assert spec.weights.mean == (0.485, 0.456, 0.406)
    assert get_encoder("mb-vit-l16").spec.out_indices == (5, 11, 17, 23)
