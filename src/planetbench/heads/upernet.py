"""UperNet decoder and the simple feature pyramid neck for plain ViTs.

UperNet: Xiao et al. (2018), "Unified Perceptual Parsing for Scene Understanding" — a pyramid
pooling module (PPM; Zhao et al. 2017, PSPNet) on the coarsest map, an FPN (Lin et al. 2017)
with lateral 1×1 and top-down paths, and a fusion of all FPN levels at the finest resolution.

Simple feature pyramid: Li et al. (2022), "Exploring Plain Vision Transformer Backbones for Object
Detection" (ViTDet) — a single-stride ViT map (stride 16) is rescaled to strides 4, 8, 16, 32 with
transposed convolutions (upsampling), identity, and max-pooling (downsampling), as PANGAEA-Bench
does for its ViT encoders.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.heads._blocks import ConvNormAct, check_features


class SimpleFeaturePyramid(nn.Module):
    """Rescale same-stride maps to a pyramid of strides (ViTDet's simple feature pyramid).

    With one input map, every output level is built from it; with as many input maps as output
    strides (e.g. four intermediate ViT blocks), input i builds output level i.

    A level whose target stride is ``s_out`` from an input at stride ``s_in`` uses
    ``log2(s_in / s_out)`` transposed 2×2 convolutions (each halves the channels, BN + GELU in
    between) when upsampling, the identity when equal, and ``log2(s_out / s_in)`` 2×2 max-pools
    when downsampling.

    With ``neck_channels`` set, each input map is first projected to that many channels by a
    1×1 convolution (BN + GELU) and the transposed convolutions keep that width. Upsampling a
    narrow map instead of the encoder's wide one (384 channels for ViT-S) makes the neck several
    times cheaper, which matters when only the head trains (frozen protocol).

    Args:
        in_channels: channels of each input map.
        in_strides: stride of each input map (all equal).
        out_strides: strides of the output levels, finest first.
        neck_channels: project to this width first (None: ViTDet's layout, no projection).

    Attributes:
        out_channels: channels of each output level.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        in_strides: Sequence[int],
        out_strides: Sequence[int] = (4, 8, 16, 32),
        neck_channels: int | None = None,
    ) -> None:
        super().__init__()
        in_channels, in_strides = tuple(in_channels), tuple(in_strides)
        if not in_strides or len(set(in_strides)) != 1 or len(in_channels) != len(in_strides):
            raise InvalidInputError(
                f"SimpleFeaturePyramid needs maps of one common stride, got strides {in_strides} "
                f"and channels {in_channels}"
            )
        if len(in_channels) not in (1, len(out_strides)):
            raise InvalidInputError(
                f"SimpleFeaturePyramid takes 1 or {len(out_strides)} input maps, got "
                f"{len(in_channels)}"
            )
        if neck_channels is not None and neck_channels < 1:
            raise InvalidInputError(f"neck_channels must be ≥ 1 or None, got {neck_channels}")
        self.n_inputs = len(in_channels)
        stride = in_strides[0]
        levels: list[nn.Module] = []
        out_channels: list[int] = []
        for i, s_out in enumerate(out_strides):
            c = in_channels[i if self.n_inputs > 1 else 0]
            ratio = math.log2(stride / s_out)
            if ratio != int(ratio):
                raise InvalidInputError(
                    f"output stride {s_out} is not a power-of-two rescaling of stride {stride}"
                )
            layers: list[nn.Module] = []
            if neck_channels is not None:
                layers += [nn.Conv2d(c, neck_channels, 1, bias=False),
                           nn.BatchNorm2d(neck_channels), nn.GELU()]
                c = neck_channels
            if ratio > 0:
                for k in range(int(ratio)):
                    if k:
                        layers += [nn.BatchNorm2d(c), nn.GELU()]
                    c_out = c if neck_channels is not None else max(1, c // 2)
                    layers.append(nn.ConvTranspose2d(c, c_out, 2, stride=2))
                    c = c_out
            elif ratio < 0:
                layers += [nn.MaxPool2d(2, 2) for _ in range(int(-ratio))]
            levels.append(nn.Sequential(*layers) if layers else nn.Identity())
            out_channels.append(c)
        self.levels = nn.ModuleList(levels)
        self.out_channels = tuple(out_channels)
        self.out_strides = tuple(out_strides)

    def forward(self, features: list[Tensor]) -> list[Tensor]:
        """Maps (B, C, H/s, W/s) → one map per output stride, finest first."""
        check_features(features, self.n_inputs, "SimpleFeaturePyramid")
        return [lvl(features[i if self.n_inputs > 1 else 0]) for i, lvl in enumerate(self.levels)]


class PyramidPooling(nn.Module):
    """PSPNet's pyramid pooling: average-pool to several grid sizes, 1×1 conv, upsample, concat.

    Args:
        in_channels: channels of the input map.
        channels: channels of each pooled branch and of the output.
        pool_scales: output grid sizes of the adaptive average pools.
    """

    def __init__(self, in_channels: int, channels: int, pool_scales: Sequence[int]) -> None:
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Sequential(nn.AdaptiveAvgPool2d(s), ConvNormAct(in_channels, channels, 1))
            for s in pool_scales
        )
        self.bottleneck = ConvNormAct(in_channels + len(pool_scales) * channels, channels, 3)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C_in, H, W) → (B, channels, H, W)."""
        size = x.shape[-2:]
        pooled = [F.interpolate(b(x), size=size, mode="bilinear", align_corners=False)
                  for b in self.branches]
        out: Tensor = self.bottleneck(torch.cat([x, *pooled], dim=1))
        return out


class UPerNet(nn.Module):
    """UperNet decoder over multi-level features, logits at input resolution.

    Args:
        in_channels: channels of each feature map, finest first.
        n_classes: number of classes K.
        channels: width of the PPM/FPN (512 in the paper; smaller for small encoders).
        pool_scales: PPM grid sizes (paper: 1, 2, 3, 6).
        dropout: dropout before the classifier.
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        n_classes: int,
        channels: int = 256,
        pool_scales: Sequence[int] = (1, 2, 3, 6),
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.ppm = PyramidPooling(self.in_channels[-1], channels, pool_scales)
        self.lateral = nn.ModuleList(ConvNormAct(c, channels, 1) for c in self.in_channels[:-1])
        self.fpn = nn.ModuleList(ConvNormAct(channels, channels, 3) for _ in self.in_channels[:-1])
        self.fuse = ConvNormAct(len(self.in_channels) * channels, channels, 3)
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(channels, n_classes, kernel_size=1)

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, *out_size) from maps (B, C_i, H_i, W_i), finest first."""
        check_features(features, len(self.in_channels), "UPerNet")
        laterals = [lat(f) for lat, f in zip(self.lateral, features[:-1], strict=False)]
        laterals.append(self.ppm(features[-1]))
        for i in range(len(laterals) - 1, 0, -1):  # top-down path
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[-2:], mode="bilinear", align_corners=False
            )
        outs = [conv(x) for conv, x in zip(self.fpn, laterals[:-1], strict=False)]
        outs.append(laterals[-1])
        size = outs[0].shape[-2:]
        outs = [outs[0]] + [
            F.interpolate(o, size=size, mode="bilinear", align_corners=False) for o in outs[1:]
        ]
        logits = self.classifier(self.dropout(self.fuse(torch.cat(outs, dim=1))))
        return F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
