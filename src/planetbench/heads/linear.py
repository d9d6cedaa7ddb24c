"""Linear segmentation head: one 1×1 convolution over the encoder's feature maps."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.heads._blocks import check_features


class LinearHead(nn.Module):
    """Per-pixel linear classifier of the concatenated feature maps (a dense "linear probe").

    Every map is bilinearly resized to the finest map's size, the maps are concatenated along the
    channel axis, and a 1×1 convolution (a linear layer per pixel) gives class logits, which are
    resized bilinearly to the input size.

    Args:
        in_channels: channels of each feature map, finest first.
        n_classes: number of classes K.
    """

    def __init__(self, in_channels: Sequence[int], n_classes: int) -> None:
        super().__init__()
        self.in_channels = tuple(in_channels)
        self.classifier = nn.Conv2d(sum(self.in_channels), n_classes, kernel_size=1)

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, *out_size) from maps (B, C_i, H_i, W_i)."""
        check_features(features, len(self.in_channels), "LinearHead")
        size = features[0].shape[-2:]
        maps = [f if f.shape[-2:] == size else F.interpolate(
            f, size=size, mode="bilinear", align_corners=False) for f in features]
        logits = self.classifier(torch.cat(maps, dim=1))
        return F.interpolate(logits, size=out_size, mode="bilinear", align_corners=False)
