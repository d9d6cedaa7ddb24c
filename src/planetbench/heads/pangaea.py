"""The decoders Cryo-Bench trains, as PANGAEA-Bench builds them (the ``cryobench`` preset's heads).

Cryo-Bench (``Sk-2103/Cryo-Bench``, read at commit ``41b6115``) trains PANGAEA-Bench's
single-temporal decoders unchanged (``VMarsocci/pangaea-bench`` at ``f20f3d3``):
``pangaea/decoders/upernet.py`` (``SegUPerNet`` with its ``Feature2Pyramid`` neck, config
``configs/decoder/seg_upernet.yaml``: ``channels: 512``) for every encoder, and
``pangaea/decoders/unet.py`` (``UNet``, config ``seg_unet.yaml``) for the UNet baseline. These
classes rebuild them from that description, layer for layer, so that parameter counts and FLOPs
match to the unit; our default heads (:mod:`planetbench.heads.upernet`, ``unet``) stay as they are.

Where they differ from our defaults:

* :class:`Feature2Pyramid` keeps each map's channels (ours halves them per transposed
  convolution) and takes the rescale of map i of n from ``(4, 2, 1, 0.5)[int(4 i / n)]``, so a
  single-map encoder (Prithvi-100M's block 11) gets one map upsampled ×4;
* :class:`SegUPerNet` is 512 wide, its convolutions have biases (followed by batch norm and ReLU),
  and its fusion convolution runs over all levels at the finest map's resolution;
* :class:`PangaeaUNetDecoder` upsamples with 2×2 transposed convolutions (ours interpolates), its
  convolutions have biases, and its output stays at the finest map's resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.heads._blocks import check_features

#: PANGAEA's rescale factors of a single-stride (ViT) encoder's maps, finest first.
PYRAMID_RESCALES: tuple[float, ...] = (4, 2, 1, 0.5)


def pyramid_rescales(n_maps: int) -> tuple[float, ...]:
    """The rescale factor PANGAEA's ``SegUPerNet`` gives each of ``n_maps`` single-stride maps.

    Map i of n gets ``(4, 2, 1, 0.5)[int(i / n * 4)]``.

    Example:
        >>> pyramid_rescales(4), pyramid_rescales(1), pyramid_rescales(2)
        ((4, 2, 1, 0.5), (4,), (4, 1))
    """
    if n_maps < 1:
        raise InvalidInputError(f"n_maps must be ≥ 1, got {n_maps}")
    return tuple(PYRAMID_RESCALES[int(i / n_maps * 4)] for i in range(n_maps))


def _conv_bn_relu(c_in: int, c_out: int, kernel_size: int) -> nn.Sequential:
    """Conv2d **with** bias, BatchNorm2d, ReLU (PANGAEA's blocks; 'same' padding)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class Feature2Pyramid(nn.Module):
    """PANGAEA's neck from single-stride maps to a pyramid, channels kept.

    A map rescaled ×4 goes through ConvTranspose2d(2, stride 2) → BatchNorm → GELU →
    ConvTranspose2d(2, stride 2); ×2 through one ConvTranspose2d; ×1 is the identity; ×0.5 a 2×2
    max-pool and ×0.25 a 4×4 max-pool. Every transposed convolution keeps the map's channels.

    Args:
        in_channels: channels of each input map, finest first.
        rescales: the factor of each map (default: :func:`pyramid_rescales`).

    Attributes:
        out_channels: channels of each output map (equal to ``in_channels``).
    """

    def __init__(
        self, in_channels: Sequence[int], rescales: Sequence[float] | None = None
    ) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.rescales = (
            pyramid_rescales(len(self.in_channels)) if rescales is None else tuple(rescales)
        )
        if len(self.rescales) != len(self.in_channels):
            raise InvalidInputError(
                f"Feature2Pyramid got {len(self.rescales)} rescale factors for "
                f"{len(self.in_channels)} maps"
            )
        ops: list[nn.Module] = []
        for c, k in zip(self.in_channels, self.rescales, strict=True):
            if k == 4:
                ops.append(nn.Sequential(
                    nn.ConvTranspose2d(c, c, kernel_size=2, stride=2),
                    nn.BatchNorm2d(c),
                    nn.GELU(),
                    nn.ConvTranspose2d(c, c, kernel_size=2, stride=2),
                ))
            elif k == 2:
                ops.append(nn.Sequential(nn.ConvTranspose2d(c, c, kernel_size=2, stride=2)))
            elif k == 1:
                ops.append(nn.Identity())
            elif k == 0.5:
                ops.append(nn.MaxPool2d(kernel_size=2, stride=2))
            elif k == 0.25:
                ops.append(nn.MaxPool2d(kernel_size=4, stride=4))
            else:
                raise InvalidInputError(
                    f"Feature2Pyramid rescale factors are 4, 2, 1, 0.5 or 0.25; got {k}"
                )
        self.ops = nn.ModuleList(ops)
        self.out_channels = self.in_channels

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        """Maps (B, C_i, H_i, W_i) → maps (B, C_i, H_i·k_i, W_i·k_i)."""
        check_features(features, len(self.ops), "Feature2Pyramid")
        return [op(f) for op, f in zip(self.ops, features, strict=True)]


class _PyramidPoolingModule(nn.Module):
    """PSPNet's pooling branches as PANGAEA's ``PPM``: pool, 1×1 conv (bias) + BN + ReLU,
    upsample bilinearly to the input's size."""

    def __init__(self, in_channels: int, channels: int, pool_scales: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), _conv_bn_relu(in_channels, channels, 1))
            for s in pool_scales
        )

    def forward(self, x: Tensor) -> list[Tensor]:
        """(B, C, H, W) → one (B, channels, H, W) map per pool scale."""
        size = x.shape[-2:]
        return [F.interpolate(b(x), size=size, mode="bilinear", align_corners=False)
                for b in self.branches]


class SegUPerNet(nn.Module):
    """PANGAEA's UPerNet decoder (``SegUPerNet`` without its encoder and neck).

    The coarsest map goes through the pooling branches (scales 1, 2, 3, 6), is concatenated with
    them and fused by a 3×3 conv (``bottleneck``); every finer map gets a 1×1 lateral conv; a
    top-down path adds each coarser level (bilinearly upsampled) to the next finer; each level but
    the coarsest gets a 3×3 conv; all levels are upsampled to the finest map's size, concatenated
    and fused by a 3×3 conv (``fpn_bottleneck``); dropout 0.1 and a 1×1 conv give the logits,
    upsampled bilinearly to the output size. Every conv has a bias and is followed by batch norm
    and ReLU, except the classifier.

    Args:
        in_channels: channels of each map, finest first (after the neck).
        n_classes: number of classes K.
        channels: width (PANGAEA's ``seg_upernet.yaml``: 512).
        pool_scales: the pooling grid sizes.
        dropout: dropout before the classifier (``Dropout2d``).
    """

    #: The neck :func:`planetbench.heads.build_head` puts in front for single-stride encoders.
    default_neck: ClassVar[str] = "feature2pyramid"

    def __init__(
        self,
        in_channels: Sequence[int],
        n_classes: int,
        channels: int = 512,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        top = self.in_channels[-1]
        self.psp_modules = _PyramidPoolingModule(top, channels, pool_scales)
        self.bottleneck = _conv_bn_relu(top + len(pool_scales) * channels, channels, 3)
        self.lateral_convs = nn.ModuleList(
            _conv_bn_relu(c, channels, 1) for c in self.in_channels[:-1]
        )
        self.fpn_convs = nn.ModuleList(
            _conv_bn_relu(channels, channels, 3) for _ in self.in_channels[:-1]
        )
        self.fpn_bottleneck = _conv_bn_relu(len(self.in_channels) * channels, channels, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.conv_seg = nn.Conv2d(channels, n_classes, kernel_size=1)

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, *out_size) from maps (B, C_i, H_i, W_i), finest first."""
        check_features(features, len(self.in_channels), "SegUPerNet")
        top = features[-1]
        laterals = [conv(f) for conv, f in zip(self.lateral_convs, features[:-1], strict=False)]
        laterals.append(self.bottleneck(torch.cat([top, *self.psp_modules(top)], dim=1)))
        for i in range(len(laterals) - 1, 0, -1):  # top-down path
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="bilinear",
                align_corners=False,
            )
        outs = [conv(x) for conv, x in zip(self.fpn_convs, laterals[:-1], strict=False)]
        outs.append(laterals[-1])
        size = outs[0].shape[-2:]
        outs = [outs[0]] + [
            F.interpolate(o, size=size, mode="bilinear", align_corners=False) for o in outs[1:]
        ]
        logits = self.conv_seg(self.dropout(self.fpn_bottleneck(torch.cat(outs, dim=1))))
        return F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)


def _double_conv(c_in: int, c_out: int) -> nn.Sequential:
    """(3×3 conv with bias → BN → ReLU) × 2, PANGAEA's ``DoubleConv``."""
    return nn.Sequential(*_conv_bn_relu(c_in, c_out, 3), *_conv_bn_relu(c_out, c_out, 3))


class _Up(nn.Module):
    """Upsample the coarser map ×2 (2×2 transposed conv, channels kept), pad it to the skip map's
    size, concatenate (skip first) and apply a double conv."""

    def __init__(self, c_coarse: int, c_skip: int, c_out: int) -> None:
        super().__init__()
        self.up = nn.ConvTranspose2d(c_coarse, c_coarse, kernel_size=2, stride=2)
        self.conv = _double_conv(c_skip + c_coarse, c_out)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)
        dy, dx = skip.shape[-2] - x.shape[-2], skip.shape[-1] - x.shape[-1]
        if dy or dx:
            x = F.pad(x, (dx // 2, dx - dx // 2, dy // 2, dy - dy // 2))
        out: Tensor = self.conv(torch.cat([skip, x], dim=1))
        return out


class PangaeaUNetDecoder(nn.Module):
    """PANGAEA's UNet decoder (``pangaea/decoders/unet.py``) over a UNet encoder's maps.

    From the coarsest map up, each step upsamples the running map ×2 with a transposed conv,
    concatenates the next finer encoder map and applies a double conv whose width is the channels
    of the map one level finer still (the finest level keeps its own width); a 1×1 conv (bias)
    gives the logits. On PANGAEA's 5-level UNet (maps of 64, 128, 256, 512, 512 channels at
    strides 1 … 16) this is its decoder exactly. The logits come out at the finest map's
    resolution, which is the input's for the UNet encoder (PANGAEA does not resize them); they are
    resized bilinearly only when ``out_size`` differs.

    Args:
        in_channels: channels of each map, finest first (at least 2 maps).
        n_classes: number of classes K.
    """

    #: PANGAEA never puts a neck in front of the UNet decoder.
    default_neck: ClassVar[str] = "none"

    def __init__(self, in_channels: Sequence[int], n_classes: int) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        c = self.in_channels
        if len(c) < 2:
            raise InvalidInputError(
                f"PangaeaUNetDecoder needs at least 2 maps (a UNet encoder's), got {len(c)}"
            )
        ups: list[nn.Module] = []
        running = c[-1]
        for i in range(len(c) - 2, -1, -1):
            out = c[i - 1] if i > 0 else c[0]
            ups.append(_Up(running, c[i], out))
            running = out
        self.up_seq = nn.ModuleList(ups)
        self.conv_seg = nn.Conv2d(running, n_classes, kernel_size=1)

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, H_0, W_0) (the finest map's size; resized when ``out_size`` differs)."""
        check_features(features, len(self.in_channels), "PangaeaUNetDecoder")
        x = features[-1]
        for up, skip in zip(self.up_seq, reversed(features[:-1]), strict=True):
            x = up(x, skip)
        logits: Tensor = self.conv_seg(x)
        if tuple(logits.shape[-2:]) != tuple(out_size):
            logits = F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
        return logits


__all__ = [
    "PYRAMID_RESCALES",
    "Feature2Pyramid",
    "PangaeaUNetDecoder",
    "SegUPerNet",
    "pyramid_rescales",
]
