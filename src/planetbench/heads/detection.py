"""Object detection on any encoder: torchvision's Faster R-CNN, RetinaNet and FCOS behind an FPN.

:class:`EncoderFPN` turns an encoder's multi-scale ``features(x)`` into the ``OrderedDict`` of
feature maps with a common width (``out_channels``) that torchvision's detectors expect from a
backbone (what ``torchvision.models.detection.backbone_utils.BackboneWithFPN`` does for a ResNet):
the maps of the chosen levels go through a ``FeaturePyramidNetwork`` (Lin et al. 2017, "Feature
Pyramid Networks for Object Detection"), plus a max-pooled level (Faster R-CNN) or P6/P7 (RetinaNet,
FCOS). A plain ViT (every map at one stride) first gets the simple feature pyramid of ViTDet
(:class:`~planetbench.heads.upernet.SimpleFeaturePyramid`, strides 4–32).

:func:`build_detector` builds a registered detector (``faster-rcnn``, ``retinanet``, ``fcos``)
around it, wrapped in :class:`Detector`, which checks its inputs:

* images: a list of (C, H, W) float tensors, already aligned to the encoder's bands and normalised
  for it (the detector's own transform does not normalise: mean 0, std 1). They are resized so
  the short side is ``min_size`` (default: the encoder's input size) unless the long side would
  exceed ``max_size``, and padded to a multiple of 32; outputs come back in input pixels.
* targets (training): per image ``boxes`` (N, 4) float ``xyxy`` in pixels with x2 > x1, y2 > y1,
  and ``labels`` (N,) int64 in 1..C (0 is the background); an image without objects has boxes of
  shape (0, 4) and labels of shape (0,).
* training mode returns torchvision's dict of losses (sum them with :func:`detection_loss`);
  eval mode returns per image ``boxes`` (K, 4) xyxy px, ``scores`` (K,), ``labels`` (K,).

Anchors scale with the strides of the pyramid, in the proportions torchvision uses for 800 px
COCO images: Faster R-CNN one size 8·s per level (ratios 0.5, 1, 2), RetinaNet sizes
4·s·{1, 2^⅓, 2^⅔} (ratios 0.5, 1, 2), FCOS one point of size s per location; ``anchor_scale``
multiplies them all.

``train_encoder=False`` freezes the encoder (Mars-Bench's ``feature_extraction`` freezes the
backbone and trains the rest); the pyramid and the detection heads always train.
"""

from __future__ import annotations

import inspect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import torch
from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.heads.upernet import SimpleFeaturePyramid
from planetbench.registry import Registry

ExtraLevels = Literal["pool", "p6p7", "none"]


class EncoderFPN(nn.Module):
    """A planetbench encoder behind a feature pyramid network: a torchvision detection backbone.

    Args:
        encoder: a planetbench encoder (``features(x)`` finest first, ``spec`` with
            ``feature_channels`` and ``feature_strides``).
        levels: indices of the encoder maps to use (after the ViT pyramid, if any); None: the
            last ``max_levels`` maps whose stride is ≥ ``min_stride``.
        min_stride: smallest stride used when ``levels`` is None.
        max_levels: most levels used when ``levels`` is None.
        out_channels: width of every pyramid level.
        extra: extra coarser levels: ``pool`` (max-pool of the last, Faster R-CNN), ``p6p7``
            (two stride-2 convolutions, RetinaNet/FCOS) or ``none``.
        neck_channels: projection width of the ViT pyramid (see SimpleFeaturePyramid).
        train_encoder: False freezes the encoder (no gradients, always eval mode).

    Attributes:
        out_channels: width of every output map (torchvision reads it).
        strides: stride of every output map, in output order.
        names: keys of the output ``OrderedDict`` (``"0"``, ``"1"``, …, then ``"pool"`` or
            ``"p6"``, ``"p7"``).
    """

    def __init__(
        self,
        encoder: nn.Module,
        *,
        levels: Sequence[int] | None = None,
        min_stride: int = 4,
        max_levels: int = 4,
        out_channels: int = 256,
        extra: ExtraLevels = "pool",
        neck_channels: int | None = None,
        train_encoder: bool = False,
    ) -> None:
        super().__init__()
        from torchvision.ops.feature_pyramid_network import (
            ExtraFPNBlock,
            FeaturePyramidNetwork,
            LastLevelMaxPool,
            LastLevelP6P7,
        )

        spec = getattr(encoder, "spec", None)
        if spec is None or not spec.feature_strides:
            raise InvalidInputError(
                "the encoder has no spec with feature_strides/feature_channels; build it with "
                "planetbench.encoders.build_encoder"
            )
        if out_channels < 1:
            raise InvalidInputError(f"out_channels must be ≥ 1, got {out_channels}")
        if extra not in ("pool", "p6p7", "none"):
            raise InvalidInputError(f"extra {extra!r} is not one of pool, p6p7, none")
        channels, strides = tuple(spec.feature_channels), tuple(spec.feature_strides)
        self.encoder: Any = encoder
        self.train_encoder = train_encoder
        self.neck: SimpleFeaturePyramid | None = None
        if len(set(strides)) == 1 and len(strides) in (1, 4):
            self.neck = SimpleFeaturePyramid(channels, strides, neck_channels=neck_channels)
            channels, strides = self.neck.out_channels, (4, 8, 16, 32)
        elif neck_channels is not None:
            raise InvalidInputError(
                f"neck_channels={neck_channels} applies to plain ViT encoders only; encoder "
                f"{spec.name!r} has strides {strides}"
            )
        if levels is None:
            usable = [i for i, s in enumerate(strides) if s >= min_stride]
            levels = usable[-max_levels:]
        self.levels = tuple(levels)
        if not self.levels or any(not 0 <= i < len(strides) for i in self.levels):
            raise InvalidInputError(
                f"levels {self.levels} must be non-empty indices into the {len(strides)} maps "
                f"(strides {strides}) of encoder {spec.name!r}"
            )
        picked = [strides[i] for i in self.levels]
        if any(b <= a for a, b in itertools.pairwise(picked)):
            raise InvalidInputError(
                f"levels {self.levels} must have increasing strides; got {picked}"
            )
        blocks: ExtraFPNBlock | None = None
        names = [str(k) for k in range(len(self.levels))]
        if extra == "pool":
            blocks, names, picked = LastLevelMaxPool(), [*names, "pool"], [*picked, picked[-1] * 2]
        elif extra == "p6p7":
            blocks = LastLevelP6P7(out_channels, out_channels)
            names, picked = [*names, "p6", "p7"], [*picked, picked[-1] * 2, picked[-1] * 4]
        self.fpn = FeaturePyramidNetwork([channels[i] for i in self.levels], out_channels,
                                         extra_blocks=blocks)
        self.out_channels = out_channels
        self.strides: tuple[int, ...] = tuple(picked)
        self.names: tuple[str, ...] = tuple(names)
        if not train_encoder:
            encoder.requires_grad_(False)
            encoder.eval()

    def train(self, mode: bool = True) -> EncoderFPN:
        """Set train/eval mode; a frozen encoder stays in eval mode."""
        super().train(mode)
        if not self.train_encoder:
            self.encoder.eval()
        return self

    def forward(self, x: Tensor) -> OrderedDict[str, Tensor]:
        """Pyramid maps ``{name: (B, out_channels, H / s, W / s)}`` from images (B, C, H, W)."""
        with torch.set_grad_enabled(self.train_encoder and torch.is_grad_enabled()):
            maps = list(self.encoder.features(x))
        if self.neck is not None:
            maps = self.neck(maps)
        picked = OrderedDict((str(k), maps[i]) for k, i in enumerate(self.levels))
        out: OrderedDict[str, Tensor] = self.fpn(picked)
        return out


class Detector(nn.Module):
    """A torchvision detector with checked inputs (formats in the module docstring).

    Args:
        model: a torchvision ``FasterRCNN``, ``RetinaNet``, ``FCOS`` or ``SSD``.
        n_classes: number of object classes C (labels 1..C; background excluded).
    """

    def __init__(self, model: nn.Module, n_classes: int) -> None:
        super().__init__()
        self.model: Any = model
        self.n_classes = n_classes

    def forward(
        self, images: Sequence[Tensor], targets: Sequence[Mapping[str, Tensor]] | None = None
    ) -> Any:
        """Training: dict of losses (needs ``targets``); eval: one prediction dict per image."""
        if isinstance(images, Tensor) or not images:
            raise InvalidInputError(
                "images must be a non-empty list of (C, H, W) tensors (torchvision's detection "
                "input), not a batch tensor"
            )
        for i, img in enumerate(images):
            if not isinstance(img, Tensor) or img.ndim != 3 or not img.is_floating_point():
                raise InvalidInputError(
                    f"image {i} must be a float tensor (C, H, W); got "
                    f"{getattr(img, 'shape', type(img).__name__)}"
                )
        if self.training:
            if targets is None or len(targets) != len(images):
                raise InvalidInputError(
                    "training needs one target dict (boxes, labels) per image; got "
                    f"{'none' if targets is None else len(targets)} for {len(images)} images"
                )
            targets = [check_target(t, self.n_classes, f"target {i}")
                       for i, t in enumerate(targets)]
            return self.model(list(images), targets)
        return self.model(list(images))


def check_target(target: Mapping[str, Tensor], n_classes: int, where: str = "target"
                 ) -> dict[str, Tensor]:
    """Validate one training target and return ``{"boxes": (N, 4) float, "labels": (N,) int64}``.

    An image without objects may give boxes of shape (0, 4) or (0,); both become (0, 4).

    Raises:
        InvalidInputError: missing keys, wrong shapes, boxes with x2 ≤ x1 or y2 ≤ y1, labels
            outside 1..n_classes.
    """
    if "boxes" not in target or "labels" not in target:
        raise InvalidInputError(f"{where} needs 'boxes' (N, 4) xyxy px and 'labels' (N,)")
    boxes, labels = target["boxes"], target["labels"]
    if boxes.numel() == 0:
        boxes = boxes.reshape(0, 4)
    if boxes.ndim != 2 or boxes.shape[1] != 4 or labels.shape != boxes.shape[:1]:
        raise InvalidInputError(
            f"{where}: boxes must be (N, 4) and labels (N,); got {tuple(boxes.shape)} and "
            f"{tuple(labels.shape)} (an image without objects has boxes of shape (0, 4))"
        )
    boxes = boxes.float()
    if not torch.isfinite(boxes).all() or ((boxes[:, 2] <= boxes[:, 0])
                                           | (boxes[:, 3] <= boxes[:, 1])).any():
        raise InvalidInputError(
            f"{where}: boxes must be finite xyxy pixels with x2 > x1 and y2 > y1 (convert "
            "YOLO/COCO boxes and drop zero-size ones)"
        )
    if labels.is_floating_point() or (labels.numel() and (int(labels.min()) < 1
                                                         or int(labels.max()) > n_classes)):
        raise InvalidInputError(
            f"{where}: labels must be integers in 1..{n_classes} (0 is the background); got "
            f"{labels.tolist()[:10]}"
        )
    return {"boxes": boxes, "labels": labels.long()}


def detection_loss(losses: Mapping[str, Tensor]) -> Tensor:
    """The training objective: the sum of torchvision's loss terms (as Mars-Bench trains)."""
    if not losses:
        raise InvalidInputError("no loss terms: call the detector in training mode with targets")
    return torch.stack([v for v in losses.values()]).sum()


# ------------------------------------------------------------------------------------ factories


def _size_bounds(encoder: nn.Module, min_size: int | None, max_size: int | None
                 ) -> tuple[int, int]:
    base = int(getattr(getattr(encoder, "spec", None), "input_size", 224) or 224)
    lo = min_size or base
    return lo, max_size or max(lo, base)


def _check_options(cls: type, options: Mapping[str, Any], reserved: set[str], name: str) -> None:
    allowed = set(inspect.signature(cls).parameters) - reserved - {"kwargs"}
    bad = sorted(set(options) - allowed)
    if bad:
        raise InvalidInputError(
            f"detector {name!r} does not take the options {bad}; torchvision's {cls.__name__} "
            f"takes {', '.join(sorted(allowed))}"
        )


def _anchor_generator(sizes: Sequence[Sequence[float]], ratios: Sequence[float]) -> nn.Module:
    from torchvision.models.detection.anchor_utils import AnchorGenerator

    return AnchorGenerator(tuple(tuple(round(v) for v in s) for s in sizes),
                           (tuple(ratios),) * len(sizes))


_COMMON = {"backbone", "num_classes", "min_size", "max_size", "image_mean", "image_std"}


def build_faster_rcnn(
    encoder: nn.Module,
    *,
    n_classes: int,
    train_encoder: bool = False,
    out_channels: int = 256,
    levels: Sequence[int] | None = None,
    neck_channels: int | None = None,
    anchor_scale: float = 1.0,
    representation_size: int = 1024,
    min_size: int | None = None,
    max_size: int | None = None,
    **options: Any,
) -> Detector:
    """Faster R-CNN (Ren et al. 2015) with an FPN on ``encoder``: levels of stride ≥ 4 + pool.

    Args:
        encoder: a planetbench encoder.
        n_classes: object classes C (labels 1..C).
        train_encoder: train the encoder too (False: frozen).
        out_channels: FPN width.
        levels: encoder maps to use (see :class:`EncoderFPN`).
        neck_channels: ViT pyramid projection width.
        anchor_scale: multiplies the anchor sizes 8·stride.
        representation_size: width of the two-layer box head.
        min_size: short side images are resized to (default: the encoder's input size).
        max_size: cap of the long side (default: max(min_size, input size)).
        **options: other torchvision ``FasterRCNN`` arguments (``box_score_thresh`` …).
    """
    from torchvision.models.detection import FasterRCNN
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
    from torchvision.ops import MultiScaleRoIAlign

    _check_options(FasterRCNN, options, _COMMON | {"rpn_anchor_generator", "box_roi_pool",
                                                   "box_head", "box_predictor"}, "faster-rcnn")
    backbone = EncoderFPN(encoder, levels=levels, min_stride=4, out_channels=out_channels,
                          extra="pool", neck_channels=neck_channels, train_encoder=train_encoder)
    anchors = _anchor_generator([(8 * s * anchor_scale,) for s in backbone.strides],
                                (0.5, 1.0, 2.0))
    pool = MultiScaleRoIAlign([n for n in backbone.names if n != "pool"], output_size=7,
                              sampling_ratio=2)
    lo, hi = _size_bounds(encoder, min_size, max_size)
    model = FasterRCNN(backbone, num_classes=None, min_size=lo, max_size=hi,
                       image_mean=[0.0], image_std=[1.0], rpn_anchor_generator=anchors,
                       box_roi_pool=pool,
                       box_head=TwoMLPHead(out_channels * 7 * 7, representation_size),
                       box_predictor=FastRCNNPredictor(representation_size, n_classes + 1),
                       **options)
    return Detector(model, n_classes)


def build_retinanet(
    encoder: nn.Module,
    *,
    n_classes: int,
    train_encoder: bool = False,
    out_channels: int = 256,
    levels: Sequence[int] | None = None,
    neck_channels: int | None = None,
    anchor_scale: float = 1.0,
    min_size: int | None = None,
    max_size: int | None = None,
    **options: Any,
) -> Detector:
    """RetinaNet (Lin et al. 2017, focal loss) with an FPN on ``encoder``: stride ≥ 8 + P6, P7.

    Arguments as :func:`build_faster_rcnn` (anchors 4·stride·{1, 2^⅓, 2^⅔}); ``options`` go to
    torchvision's ``RetinaNet`` (``score_thresh``, ``detections_per_img`` …).
    """
    from torchvision.models.detection import RetinaNet

    _check_options(RetinaNet, options, _COMMON | {"anchor_generator"}, "retinanet")
    backbone = EncoderFPN(encoder, levels=levels, min_stride=8, max_levels=3,
                          out_channels=out_channels, extra="p6p7", neck_channels=neck_channels,
                          train_encoder=train_encoder)
    octaves = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
    anchors = _anchor_generator(
        [tuple(4 * s * anchor_scale * o for o in octaves) for s in backbone.strides],
        (0.5, 1.0, 2.0))
    lo, hi = _size_bounds(encoder, min_size, max_size)
    model = RetinaNet(backbone, num_classes=n_classes + 1, min_size=lo, max_size=hi,
                      image_mean=[0.0], image_std=[1.0], anchor_generator=anchors, **options)
    return Detector(model, n_classes)


def build_fcos(
    encoder: nn.Module,
    *,
    n_classes: int,
    train_encoder: bool = False,
    out_channels: int = 256,
    levels: Sequence[int] | None = None,
    neck_channels: int | None = None,
    anchor_scale: float = 1.0,
    min_size: int | None = None,
    max_size: int | None = None,
    **options: Any,
) -> Detector:
    """FCOS (Tian et al. 2019, anchor-free) with an FPN on ``encoder``: stride ≥ 8 + P6, P7.

    Arguments as :func:`build_faster_rcnn` (one point of size stride per location, which sets
    FCOS's per-level size ranges); ``options`` go to torchvision's ``FCOS``.
    """
    from torchvision.models.detection import FCOS

    _check_options(FCOS, options, _COMMON | {"anchor_generator"}, "fcos")
    if out_channels % 32:
        raise InvalidInputError(
            f"fcos: out_channels must be a multiple of 32 (its head uses GroupNorm with 32 "
            f"groups); got {out_channels}"
        )
    backbone = EncoderFPN(encoder, levels=levels, min_stride=8, max_levels=3,
                          out_channels=out_channels, extra="p6p7", neck_channels=neck_channels,
                          train_encoder=train_encoder)
    anchors = _anchor_generator([(s * anchor_scale,) for s in backbone.strides], (1.0,))
    lo, hi = _size_bounds(encoder, min_size, max_size)
    model = FCOS(backbone, num_classes=n_classes + 1, min_size=lo, max_size=hi,
                 image_mean=[0.0], image_std=[1.0], anchor_generator=anchors, **options)
    return Detector(model, n_classes)


DetectorFactory = Callable[..., Detector]
"""``factory(encoder, *, n_classes, train_encoder=False, **options) -> Detector``."""

DETECTORS: Registry[DetectorFactory] = Registry(
    "detection head", entry_point_group="planetbench.detection_heads"
)
DETECTORS.register("faster-rcnn", build_faster_rcnn)
DETECTORS.register("retinanet", build_retinanet)
DETECTORS.register("fcos", build_fcos)


def build_detector(
    name: str, encoder: nn.Module, *, n_classes: int, train_encoder: bool = False,
    **options: Any,
) -> Detector:
    """Build the registered detector ``name`` (``faster-rcnn``, ``retinanet``, ``fcos``) on
    ``encoder`` for ``n_classes`` object classes (labels 1..C).

    Raises:
        UnknownNameError: ``name`` is not registered (with did-you-mean).
        InvalidInputError: ``n_classes`` < 1, bad levels or unknown options.
    """
    factory = DETECTORS.get(name)
    if n_classes < 1:
        raise InvalidInputError(f"n_classes must be ≥ 1 object class, got {n_classes}")
    return factory(encoder, n_classes=n_classes, train_encoder=train_encoder, **options)


__all__ = [
    "DETECTORS",
    "Detector",
    "EncoderFPN",
    "build_detector",
    "build_faster_rcnn",
    "build_fcos",
    "build_retinanet",
    "check_target",
    "detection_loss",
]
