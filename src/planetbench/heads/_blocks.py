"""Small building blocks shared by the decoders."""

from __future__ import annotations

from torch import Tensor, nn


class ConvNormAct(nn.Sequential):
    """Conv2d (no bias) → BatchNorm2d → ReLU, 'same' padding for odd kernels.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size (odd).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


def check_features(features: list[Tensor], n_expected: int, who: str) -> None:
    """Raise when the number of feature maps does not match what the head was built for."""
    from planetbench.errors import InvalidInputError

    if len(features) != n_expected:
        raise InvalidInputError(
            f"{who} was built for {n_expected} feature map(s) but got {len(features)}; build the "
            "head with the encoder's spec.feature_channels and spec.feature_strides"
        )
