"""PANGAEA's decoders and UNet baseline, proven by construction against their published layers.

The expected parameter counts are computed here from the layer lists of PANGAEA-Bench's
``pangaea/decoders/upernet.py`` (``SegUPerNet`` + ``Feature2Pyramid``, ``channels: 512``),
``pangaea/decoders/unet.py`` and ``pangaea/encoders/unet_encoder.py`` (``topology: [64, 128,
256, 512]``), written out layer by layer below; the modules are ours, built as the ``cryobench``
protocol builds them.
"""

from __future__ import annotations

import pytest
import torch

from planetbench.encoders.base import EncoderSpec
from planetbench.errors import InvalidInputError
from planetbench.heads import Feature2Pyramid, PangaeaUNetDecoder, SegUPerNet, build_head
from planetbench.heads.pangaea import pyramid_rescales
from planetbench.protocols.cryobench import CryoBenchProtocol, decoder_of
from planetbench.testing import TinyViTEncoder

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ----------------------------------------------------------- the published layers, counted by hand


def conv(c_in: int, c_out: int, k: int, bias: bool = True) -> int:
    return c_in * c_out * k * k + (c_out if bias else 0)


def bn(c: int) -> int:
    return 2 * c  # weight and bias (running statistics are buffers)


def segupernet_params(in_channels: list[int], k: int, width: int = 512) -> int:
    """SegUPerNet's layers: PPM (4 × 1×1 conv+BN), bottleneck (3×3 conv+BN), lateral 1×1 and FPN
    3×3 conv+BN per non-top level, fpn_bottleneck (3×3 conv+BN), conv_seg (1×1)."""
    top = in_channels[-1]
    ppm = 4 * (conv(top, width, 1) + bn(width))
    bottleneck = conv(top + 4 * width, width, 3) + bn(width)
    lateral = sum(conv(c, width, 1) + bn(width) for c in in_channels[:-1])
    fpn = (len(in_channels) - 1) * (conv(width, width, 3) + bn(width))
    fuse = conv(len(in_channels) * width, width, 3) + bn(width)
    return ppm + bottleneck + lateral + fpn + fuse + conv(width, k, 1)


def feature2pyramid_params(c: int) -> int:
    """×4: ConvT 2×2 → BN → GELU → ConvT 2×2; ×2: ConvT 2×2; ×1, ×0.5: none (channels kept)."""
    return 2 * conv(c, c, 2) + bn(c) + conv(c, c, 2)


def double_conv(c_in: int, c_out: int) -> int:
    return conv(c_in, c_out, 3) + bn(c_out) + conv(c_out, c_out, 3) + bn(c_out)


def unet_params(n_bands: int, k: int, topology: tuple[int, ...] = (64, 128, 256, 512)) -> int:
    """UNet encoder (in_conv, then Down = maxpool + DoubleConv to the next width, the last keeping
    it) and decoder (Up = ConvT(in/2, in/2, 2) + DoubleConv(in, out) per level, OutConv 1×1)."""
    widths = [*topology, topology[-1]]
    encoder = double_conv(n_bands, widths[0]) + sum(
        double_conv(widths[i], widths[i + 1]) for i in range(len(widths) - 1))
    up = [widths[0], *widths[1:]]  # up_topo
    decoder = 0
    for idx in reversed(range(len(topology))):
        in_dim, out_dim = up[idx] * 2, up[idx - 1 if idx else idx]
        decoder += conv(in_dim // 2, in_dim // 2, 2) + double_conv(in_dim, out_dim)
    return encoder + decoder + conv(topology[0], k, 1)


def n_params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _cryobench_head(encoder: torch.nn.Module, n_classes: int) -> torch.nn.Module:
    """The head the cryobench protocol builds for ``encoder`` (on the meta device)."""
    protocol = CryoBenchProtocol(encoder, n_classes=n_classes)  # type: ignore[arg-type]
    protocol.device_ = torch.device("meta")
    return protocol._build_head()


# ------------------------------------------------------------------------------------- the proofs


def test_segupernet_on_vit_b_has_pangaeas_39344898_parameters() -> None:
    expected = feature2pyramid_params(768) + segupernet_params([768] * 4, 2)
    assert expected == 39_344_898  # Cryo-Bench's 125.1 M minus ViT-B's 85.8 M
    spec = EncoderSpec(name="vit-b-like", input_size=224, feature_strides=(16,) * 4,
                       feature_channels=(768,) * 4, embed_dim=768)
    encoder = TinyViTEncoder()
    encoder.spec = spec
    with torch.device("meta"):  # counting needs no memory
        head = _cryobench_head(encoder, 2)
    assert n_params(head) == expected
    assert isinstance(head.neck, Feature2Pyramid) and head.neck.rescales == (4, 2, 1, 0.5)
    assert isinstance(head.decoder, SegUPerNet)


def test_unet_baseline_has_pangaeas_14788994_parameters() -> None:
    from planetbench.encoders import build_encoder
    from planetbench.tasks.bands import RGB

    expected = unet_params(3, 2)
    assert expected == 14_788_994
    with torch.device("meta"):
        encoder = build_encoder("unet-cryobench", in_bands=RGB, device="meta")
        head = _cryobench_head(encoder, 2)
    assert decoder_of("unet-cryobench") == "unet-pangaea"
    assert isinstance(head.decoder, PangaeaUNetDecoder) and head.neck is None
    assert n_params(encoder) + n_params(head) == expected
    assert encoder.spec.feature_channels == (64, 128, 256, 512, 512)


def test_feature2pyramid_rescales_follow_the_map_index() -> None:
    assert pyramid_rescales(4) == (4, 2, 1, 0.5)
    assert pyramid_rescales(1) == (4,)  # Prithvi-100M's single block: one map, upsampled ×4
    assert pyramid_rescales(3) == (4, 2, 1)
    neck = Feature2Pyramid([6, 6, 6, 6])
    outs = neck([torch.randn(1, 6, 4, 4) for _ in range(4)])
    assert [tuple(o.shape) for o in outs] == [(1, 6, 16, 16), (1, 6, 8, 8), (1, 6, 4, 4),
                                              (1, 6, 2, 2)]
    with pytest.raises(InvalidInputError, match=r"rescale factors are 4, 2, 1, 0\.5 or 0\.25"):
        Feature2Pyramid([6], rescales=[3])
    with pytest.raises(InvalidInputError, match="2 rescale factors for 1 maps"):
        Feature2Pyramid([6], rescales=[4, 2])


def test_pangaea_heads_give_logits_at_the_input_size_and_train() -> None:
    torch.manual_seed(0)
    vit = TinyViTEncoder()
    head = build_head("upernet-pangaea", in_channels=vit.spec.feature_channels,
                      in_strides=vit.spec.feature_strides, n_classes=3, channels=16)
    x = torch.randn(2, 3, 32, 32)
    logits = head(vit.features(x), (32, 32))
    assert logits.shape == (2, 3, 32, 32)
    logits.mean().backward()
    assert all(p.grad is not None for p in head.parameters())
    unet = build_head("unet-pangaea", in_channels=(4, 8, 8), in_strides=(1, 2, 4), n_classes=2)
    feats = [torch.randn(1, 4, 30, 30), torch.randn(1, 8, 15, 15), torch.randn(1, 8, 7, 7)]
    assert unet(feats, (30, 30)).shape == (1, 2, 30, 30)  # odd sizes padded as PANGAEA's Up
    assert unet(feats, (60, 60)).shape == (1, 2, 60, 60)
    with pytest.raises(InvalidInputError, match="at least 2 maps"):
        PangaeaUNetDecoder([8], 2)


def test_a_pyramid_encoder_gets_no_rescaling_neck() -> None:
    head = build_head("upernet-pangaea", in_channels=(8, 16, 24, 32), in_strides=(4, 8, 16, 32),
                      n_classes=2, channels=8)
    assert head.neck is None  # PANGAEA's Feature2Pyramid with rescales 1, 1, 1, 1: identities
    forced = build_head("upernet-pangaea", in_channels=(8, 16), in_strides=(4, 8), n_classes=2,
                        channels=8, neck="feature2pyramid")
    assert isinstance(forced.neck, Feature2Pyramid) and forced.neck.rescales == (1.0, 1.0)
    with pytest.raises(InvalidInputError, match="needs the simple-pyramid neck"):
        build_head("upernet-pangaea", in_channels=(8,), in_strides=(16,), n_classes=2,
                   neck_channels=4)
