"""UNet decoder (Ronneberger et al. 2015, "U-Net: Convolutional Networks for Biomedical Image
Segmentation") over an encoder's multi-scale feature maps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.heads._blocks import ConvNormAct, check_features


class UNetDecoder(nn.Module):
    """Top-down decoder: upsample, concatenate the skip map, two 3×3 conv blocks; repeat.

    Starting from the coarsest map, each step upsamples the running map ×2 (bilinear, to the next
    finer map's size), concatenates that finer encoder map and applies two Conv-BN-ReLU blocks. A
    1×1 convolution gives class logits, resized bilinearly to the input size.

    Args:
        in_channels: channels of each feature map, finest first.
        n_classes: number of classes K.
        channels: decoder channels at each level, finest first (default: half the encoder's,
            at least 16).
    """

    def __init__(
        self,
        in_channels: Sequence[int],
        n_classes: int,
        channels: Sequence[int] | None = None,
    ) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        dec = tuple(channels) if channels is not None else tuple(
            max(16, c // 2) for c in self.in_channels)
        self.bottom = ConvNormAct(self.in_channels[-1], dec[-1], 3)
        blocks = []
        for i in range(len(self.in_channels) - 2, -1, -1):
            blocks.append(nn.Sequential(
                ConvNormAct(dec[i + 1] + self.in_channels[i], dec[i], 3),
                ConvNormAct(dec[i], dec[i], 3),
            ))
        self.blocks = nn.ModuleList(blocks)
        self.classifier = nn.Conv2d(dec[0], n_classes, kernel_size=1)

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, *out_size) from maps (B, C_i, H_i, W_i), finest first."""
        check_features(features, len(self.in_channels), "UNetDecoder")
        x = self.bottom(features[-1])
        for block, skip in zip(self.blocks, reversed(features[:-1]), strict=False):
            x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
            x = block(torch.cat([x, skip], dim=1))
        logits = self.classifier(x)
        return F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
