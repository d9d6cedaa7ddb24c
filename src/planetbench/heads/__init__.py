"""Decoders (heads) for dense tasks and their registry.

Every head is an ``nn.Module`` called as ``head(features, out_size)`` with the encoder's feature
maps (finest first) and the input size ``(H, W)``; it returns logits of shape (B, K, H, W).
:func:`build_head` adds the simple feature pyramid neck in front of UperNet and UNet when the
encoder is a plain ViT (all maps share one stride).

Image classification heads (``CLASSIFICATION_HEADS``, :mod:`planetbench.heads.classification`) and
object detectors (``DETECTORS``, :mod:`planetbench.heads.detection`) take other inputs and have
registries of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.heads.classification import (
    CLASSIFICATION_HEADS,
    ClassificationHead,
    EncoderClassifier,
    build_classification_head,
    build_classifier,
    classification_loss,
)
from planetbench.heads.detection import (
    DETECTORS,
    Detector,
    EncoderFPN,
    build_detector,
    detection_loss,
)
from planetbench.heads.linear import LinearHead
from planetbench.heads.unet import UNetDecoder
from planetbench.heads.upernet import SimpleFeaturePyramid, UPerNet
from planetbench.registry import Registry

HeadFactory = Callable[..., nn.Module]
"""``factory(in_channels, n_classes, **options) -> nn.Module``."""

HEADS: Registry[HeadFactory] = Registry("head", entry_point_group="planetbench.heads")
HEADS.register("upernet", UPerNet)
HEADS.register("unet", UNetDecoder)
HEADS.register("linear", LinearHead)

NeckChoice = Literal["auto", "none", "simple-pyramid"]


class SegmentationHead(nn.Module):
    """An optional neck followed by a decoder; ``forward(features, out_size)`` → logits.

    Args:
        decoder: the head proper.
        neck: module mapping a list of maps to a list of maps, or None.
    """

    def __init__(self, decoder: nn.Module, neck: nn.Module | None = None) -> None:
        super().__init__()
        self.neck = neck
        self.decoder = decoder

    def forward(self, features: list[Tensor], out_size: tuple[int, int]) -> Tensor:
        """Logits (B, K, *out_size)."""
        if self.neck is not None:
            features = self.neck(features)
        out: Tensor = self.decoder(features, out_size)
        return out


def build_head(
    name: str,
    *,
    in_channels: Sequence[int],
    in_strides: Sequence[int],
    n_classes: int,
    neck: NeckChoice = "auto",
    neck_channels: int | None = None,
    **options: Any,
) -> SegmentationHead:
    """Build the registered head ``name`` for an encoder's feature maps.

    Args:
        name: head id (``upernet``, ``unet``, ``linear`` or a plugin).
        in_channels: channels of each encoder map (``EncoderSpec.feature_channels``).
        in_strides: stride of each encoder map (``EncoderSpec.feature_strides``).
        n_classes: number of classes K (≥ 2).
        neck: ``auto`` adds :class:`SimpleFeaturePyramid` to upernet/unet when every map has
            the same stride (plain ViT); ``none`` never; ``simple-pyramid`` always.
        neck_channels: width the simple pyramid projects each map to before rescaling (None:
            no projection; see :class:`SimpleFeaturePyramid`).
        **options: passed to the head factory (e.g. ``channels=64`` for UperNet).

    Raises:
        InvalidInputError: inconsistent channels/strides, or fewer than 2 classes.
        UnknownNameError: ``name`` is not registered.
    """
    factory = HEADS.get(name)
    in_channels, in_strides = tuple(in_channels), tuple(in_strides)
    if not in_channels or len(in_channels) != len(in_strides):
        raise InvalidInputError(
            f"head {name!r}: in_channels {in_channels} and in_strides {in_strides} must be "
            "non-empty and of equal length (use the encoder spec's feature_channels/strides)"
        )
    if n_classes < 2:
        raise InvalidInputError(f"head {name!r}: n_classes must be ≥ 2, got {n_classes}")
    if neck not in ("auto", "none", "simple-pyramid"):
        raise InvalidInputError(f"neck {neck!r} is not one of auto, none, simple-pyramid")
    if neck_channels is not None and (neck == "none" or name == "linear"):
        raise InvalidInputError(
            f"neck_channels={neck_channels} needs the simple-pyramid neck, but head {name!r} "
            f"with neck={neck!r} has none; drop neck_channels"
        )
    plain = len(set(in_strides)) == 1
    use_neck = neck == "simple-pyramid" or (neck == "auto" and plain and name != "linear")
    pyramid: SimpleFeaturePyramid | None = None
    if use_neck:
        pyramid = SimpleFeaturePyramid(in_channels, in_strides, neck_channels=neck_channels)
        in_channels = pyramid.out_channels
    return SegmentationHead(factory(in_channels, n_classes, **options), pyramid)


__all__ = [
    "CLASSIFICATION_HEADS",
    "DETECTORS",
    "HEADS",
    "ClassificationHead",
    "Detector",
    "EncoderClassifier",
    "EncoderFPN",
    "LinearHead",
    "SegmentationHead",
    "SimpleFeaturePyramid",
    "UNetDecoder",
    "UPerNet",
    "build_classification_head",
    "build_classifier",
    "build_detector",
    "build_head",
    "classification_loss",
    "detection_loss",
]
