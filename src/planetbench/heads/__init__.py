"""Decoders (heads) for dense tasks and their registry.

Every head is an ``nn.Module`` called as ``head(features, out_size)`` with the encoder's feature
maps (finest first) and the input size ``(H, W)``; it returns logits of shape (B, K, H, W).
:func:`build_head` adds a neck in front when the encoder is a plain ViT (all maps share one
stride): the head's own ``default_neck`` (PANGAEA's :class:`Feature2Pyramid` for
``upernet-pangaea``), else the simple feature pyramid (UperNet and UNet).

Heads: ``upernet``, ``unet``, ``linear`` (our defaults) and ``upernet-pangaea``, ``unet-pangaea``
(PANGAEA-Bench's decoders as Cryo-Bench trains them; :mod:`planetbench.heads.pangaea`).

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
from planetbench.heads.pangaea import Feature2Pyramid, PangaeaUNetDecoder, SegUPerNet
from planetbench.heads.unet import UNetDecoder
from planetbench.heads.upernet import SimpleFeaturePyramid, UPerNet
from planetbench.registry import Registry

HeadFactory = Callable[..., nn.Module]
"""``factory(in_channels, n_classes, **options) -> nn.Module``."""

HEADS: Registry[HeadFactory] = Registry("head", entry_point_group="planetbench.heads")
HEADS.register("upernet", UPerNet)
HEADS.register("unet", UNetDecoder)
HEADS.register("linear", LinearHead)
HEADS.register("upernet-pangaea", SegUPerNet)
HEADS.register("unet-pangaea", PangaeaUNetDecoder)

NeckChoice = Literal["auto", "none", "simple-pyramid", "feature2pyramid"]
NECKS: tuple[str, ...] = ("auto", "none", "simple-pyramid", "feature2pyramid")


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
        neck: ``auto`` adds the head's ``default_neck`` (:class:`SimpleFeaturePyramid` when it
            declares none; nothing for ``linear``) when every map has the same stride (plain
            ViT); ``none`` never; ``simple-pyramid`` or ``feature2pyramid``
            (:class:`Feature2Pyramid`, PANGAEA's) always.
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
    if neck not in NECKS:
        raise InvalidInputError(f"neck {neck!r} is not one of {', '.join(NECKS)}")
    plain = len(set(in_strides)) == 1
    chosen: str = neck
    if neck == "auto":
        preferred = getattr(factory, "default_neck", "none" if name == "linear" else
                            "simple-pyramid")
        chosen = preferred if plain else "none"
    if neck_channels is not None and chosen != "simple-pyramid":
        raise InvalidInputError(
            f"neck_channels={neck_channels} needs the simple-pyramid neck, but head {name!r} "
            f"with neck={neck!r} has {'none' if chosen == 'none' else chosen}; drop neck_channels"
        )
    module: nn.Module | None = None
    if chosen == "simple-pyramid":
        pyramid = SimpleFeaturePyramid(in_channels, in_strides, neck_channels=neck_channels)
        module, in_channels = pyramid, pyramid.out_channels
    elif chosen == "feature2pyramid":
        rescales = None if plain else (1.0,) * len(in_channels)  # a pyramid already: identity
        f2p = Feature2Pyramid(in_channels, rescales)
        module, in_channels = f2p, f2p.out_channels
    return SegmentationHead(factory(in_channels, n_classes, **options), module)


__all__ = [
    "CLASSIFICATION_HEADS",
    "DETECTORS",
    "HEADS",
    "NECKS",
    "ClassificationHead",
    "Detector",
    "EncoderClassifier",
    "EncoderFPN",
    "Feature2Pyramid",
    "LinearHead",
    "PangaeaUNetDecoder",
    "SegUPerNet",
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
