"""Heads: shapes at input resolution, gradients, the ViT neck, and errors."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from planetbench.encoders.base import EncoderSpec
from planetbench.errors import InvalidInputError, UnknownNameError
from planetbench.heads import SimpleFeaturePyramid, build_head
from planetbench.testing import TinyConvEncoder, TinyViTEncoder, check_encoder

OPTIONS = {"upernet": {"channels": 16}, "unet": {}, "linear": {}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.mark.parametrize("encoder_cls", [TinyConvEncoder, TinyViTEncoder])
@pytest.mark.parametrize("name", ["upernet", "unet", "linear"])
def test_logits_at_input_resolution_and_trainable(encoder_cls: type, name: str) -> None:
    torch.manual_seed(0)
    enc = encoder_cls()
    head = build_head(name, in_channels=enc.spec.feature_channels,
                      in_strides=enc.spec.feature_strides, n_classes=4, **OPTIONS[name])
    x = torch.randn(2, 3, 32, 32)
    logits = head(enc.features(x), (32, 32))
    assert logits.shape == (2, 4, 32, 32)
    logits.logsumexp(1).mean().backward()
    grads = [p.grad for p in head.parameters() if p.requires_grad]
    assert grads and all(g is not None for g in grads)
    assert any(float(g.abs().sum()) > 0 for g in grads if g is not None)


def test_vit_gets_the_simple_pyramid_and_conv_does_not() -> None:
    vit, conv = TinyViTEncoder(), TinyConvEncoder()
    h_vit = build_head("upernet", in_channels=vit.spec.feature_channels,
                       in_strides=vit.spec.feature_strides, n_classes=2, channels=8)
    h_conv = build_head("upernet", in_channels=conv.spec.feature_channels,
                        in_strides=conv.spec.feature_strides, n_classes=2, channels=8)
    assert isinstance(h_vit.neck, SimpleFeaturePyramid)
    assert h_conv.neck is None
    lin = build_head("linear", in_channels=(32,), in_strides=(16,), n_classes=2)
    assert lin.neck is None


def test_simple_feature_pyramid_rescales_stride_16_to_4_8_16_32() -> None:
    neck = SimpleFeaturePyramid([32], [16])
    outs = neck([torch.randn(1, 32, 4, 4)])  # a 64 px image at stride 16
    assert [tuple(o.shape[-2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    assert neck.out_channels == (8, 16, 32, 32)
    assert [o.shape[1] for o in outs] == list(neck.out_channels)
    four = SimpleFeaturePyramid([32] * 4, [16] * 4)
    outs = four([torch.full((1, 32, 4, 4), float(i)) for i in range(4)])
    assert float(outs[3].mean()) == 3.0  # level 3 comes from input 3 (max-pooled)


def test_projected_pyramid_is_narrow_and_cheaper() -> None:
    plain = SimpleFeaturePyramid([64] * 4, [16] * 4)
    narrow = SimpleFeaturePyramid([64] * 4, [16] * 4, neck_channels=8)
    outs = narrow([torch.randn(2, 64, 4, 4) for _ in range(4)])
    assert narrow.out_channels == (8, 8, 8, 8) and [o.shape[1] for o in outs] == [8] * 4
    assert [tuple(o.shape[-2:]) for o in outs] == [(16, 16), (8, 8), (4, 4), (2, 2)]
    n_params = [sum(p.numel() for p in m.parameters()) for m in (plain, narrow)]
    assert n_params[1] < n_params[0] / 4
    head = build_head("upernet", in_channels=(64,) * 4, in_strides=(16,) * 4, n_classes=3,
                      channels=8, neck_channels=8)
    assert head([torch.randn(2, 64, 4, 4)] * 4, (64, 64)).shape == (2, 3, 64, 64)


def test_head_errors() -> None:
    with pytest.raises(InvalidInputError, match="neck_channels=8 needs the simple-pyramid neck"):
        build_head("linear", in_channels=(8,), in_strides=(16,), n_classes=2, neck_channels=8)
    with pytest.raises(InvalidInputError, match="neck_channels must be ≥ 1"):
        SimpleFeaturePyramid([8], [16], neck_channels=0)
    with pytest.raises(UnknownNameError, match="did you mean 'upernet'"):
        build_head("upernett", in_channels=(8,), in_strides=(16,), n_classes=2)
    with pytest.raises(InvalidInputError, match="equal length"):
        build_head("unet", in_channels=(8, 16), in_strides=(4,), n_classes=2)
    with pytest.raises(InvalidInputError, match="n_classes must be ≥ 2"):
        build_head("unet", in_channels=(8,), in_strides=(4,), n_classes=1)
    with pytest.raises(InvalidInputError, match="neck 'fpn'"):
        build_head("unet", in_channels=(8,), in_strides=(4,), n_classes=2, neck="fpn")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="one common stride"):
        SimpleFeaturePyramid([8, 8], [8, 16])
    with pytest.raises(InvalidInputError, match="takes 1 or 4 input maps"):
        SimpleFeaturePyramid([8, 8], [16, 16])
    head = build_head("unet", in_channels=(8, 16), in_strides=(4, 8), n_classes=2)
    with pytest.raises(InvalidInputError, match="built for 2 feature map"):
        head([torch.randn(1, 8, 8, 8)], (32, 32))


class _LyingEncoder(TinyConvEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.spec = EncoderSpec(name="liar", feature_strides=(4, 8, 16, 32),
                                feature_channels=(8, 16, 24, 99), embed_dim=32, input_size=32)


def test_check_encoder_accepts_tiny_encoders_and_rejects_a_liar() -> None:
    check_encoder(TinyConvEncoder())
    check_encoder(TinyViTEncoder(), size=64)
    with pytest.raises(InvalidInputError, match="map 3 has shape"):
        check_encoder(_LyingEncoder())


class _NoConv(TinyConvEncoder):
    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList()


def test_check_encoder_needs_input_channels() -> None:
    with pytest.raises(InvalidInputError, match="cannot tell its input channels"):
        check_encoder(_NoConv())
