"""Mars-Bench's generic baselines, built as Mars-Bench builds them (torchvision models).

Mars-Bench (``kerner-lab/Mars-Bench``, ``marsbench/models/{classification,detection}/*.py``) trains
torchvision models whose last layer (classification) or class predictor (detection) is replaced:

============  ==========================================  ===================================
id            architecture and published weights          ``feature_extraction`` trains
============  ==========================================  ===================================
resnet101     ``resnet101``, ImageNet ``IMAGENET1K_V2``   ``fc`` only
vit-l16       ``vit_l_16``, ImageNet ``IMAGENET1K_V1``    ``heads.head`` only
swinv2-b      ``swin_v2_b``, ImageNet ``IMAGENET1K_V1``   ``head`` only
faster-rcnn   ``fasterrcnn_resnet50_fpn``, COCO ``COCO_V1``  RPN and RoI heads
retinanet     ``retinanet_resnet50_fpn_v2``, COCO ``COCO_V1``  FPN and heads (new class head)
ssd           ResNet-34 ``layer4`` (ImageNet) + SSD head  the SSD head
============  ==========================================  ===================================

Training types are Mars-Bench's: ``feature_extraction`` (pretrained, frozen but for the parts
above), ``transfer_learning`` (pretrained, everything trainable) and ``scratch_training``. The
behaviour is reproduced as it is, including what differs from what the names suggest (keep these
in mind when comparing with planetbench's own protocols):

* Frozen parameters are not frozen *modules*: Mars-Bench keeps the whole model in train mode, so
  BatchNorm statistics of the frozen ResNets (classification, SSD, RetinaNet v2) keep updating
  and Swin-V2-B's stochastic depth (p = 0.5) stays active while training; a frozen backbone's
  features therefore change during training and cannot be cached. planetbench's own frozen
  protocol (:class:`~planetbench.heads.classification.EncoderClassifier`) keeps the encoder in
  eval mode instead.
* ``scratch_training`` of Faster R-CNN and RetinaNet is not from scratch: Mars-Bench calls the
  torchvision builder with ``weights=None``, whose default ``weights_backbone`` is the ImageNet
  ResNet-50 (with frozen BatchNorm), so that backbone is loaded here too. ``weights="none"``
  gives a truly random model (ours).
* Detection inputs are normalised twice (Mars-Bench's transforms, then torchvision's detector
  transform with ImageNet mean/std) and Faster R-CNN/RetinaNet resize them to 800 px (torchvision
  defaults); the SSD runs on one stride-32 map (its backbone is a plain ``nn.Sequential``, so the
  six-level box generator only uses its first level).
* Binary classification uses one logit (Mars-Bench's ``num_classes: 1``) and ``BCEWithLogits``.

Weights: ``weights=None`` reads the published torchvision weights from the torch hub cache
(``$TORCH_HOME/hub/checkpoints``) or downloads them there, and loads them strictly; offline
it raises :class:`~planetbench.errors.WeightsUnavailableError` naming the URL and the path to put
the file at. ``weights=PATH`` loads that file (same format) strictly; ``weights="none"`` builds
random weights and is only allowed with ``scratch_training``: there is never a random fallback.
``tiny=True`` builds a miniature of the same layout for tests (random with ``weights="none"``,
under any training type, or a ``weights`` file).
"""

from __future__ import annotations

import hashlib
import urllib.error
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from planetbench.errors import InvalidInputError, WeightsMismatchError, WeightsUnavailableError
from planetbench.heads.classification import head_kind, n_logits
from planetbench.heads.detection import Detector
from planetbench.registry import Registry

TrainingType = Literal["feature_extraction", "transfer_learning", "scratch_training"]
TRAINING_TYPES: tuple[str, ...] = ("feature_extraction", "transfer_learning", "scratch_training")

StateDict = dict[str, Tensor]


def check_training_type(training_type: str) -> TrainingType:
    """``training_type`` when it is one of Mars-Bench's, else :class:`InvalidInputError`."""
    if training_type not in TRAINING_TYPES:
        raise InvalidInputError(
            f"training_type {training_type!r} is not one of {', '.join(TRAINING_TYPES)} "
            "(Mars-Bench's names; planetbench's frozen/finetune/scratch map onto them)"
        )
    return training_type  # type: ignore[return-value]


@dataclass(frozen=True)
class LoadedWeights:
    """One weights file a baseline was built with (recorded in a run's result).

    Attributes:
        origin: ``published`` (the weights Mars-Bench loads, from a cache or downloaded) or
            ``file`` (``weights=PATH``).
        path: the file read.
        url: where published weights come from ('' when not known here).
        sha256: checksum of the file read.
        n_tensors: tensors in the state dict read.
    """

    origin: str
    path: Path
    url: str
    sha256: str
    n_tensors: int


_LOADED: ContextVar[list[LoadedWeights] | None] = ContextVar("_LOADED", default=None)


@contextmanager
def recording_loads() -> Iterator[list[LoadedWeights]]:
    """Collect, in the list yielded, every weights file the baselines built inside read."""
    loaded: list[LoadedWeights] = []
    token = _LOADED.set(loaded)
    try:
        yield loaded
    finally:
        _LOADED.reset(token)


def _record(origin: str, path: Path, url: str, state: Mapping[str, Tensor],
            sha256: str = "") -> None:
    sink = _LOADED.get()
    if sink is None or not path.is_file():
        return
    if not sha256:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        sha256 = digest.hexdigest()
    sink.append(LoadedWeights(origin, path, url, sha256, len(state)))


def _hub_file(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name


def published_state_dict(weights_enum: Any, model_id: str) -> StateDict:
    """The published torchvision weights ``weights_enum`` from the hub cache, else downloaded.

    Raises:
        WeightsUnavailableError: offline, refused or corrupt download; names the URL and the file
            path to put a manual download at.
    """
    url = str(weights_enum.url)
    try:
        state: StateDict = weights_enum.get_state_dict(progress=False, check_hash=True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise WeightsUnavailableError(
            f"could not get the published weights of baseline {model_id!r} from {url} "
            f"({reason}). Download that file by hand and put it at {_hub_file(url)}, or pass a "
            "local file with weights=PATH"
        ) from exc
    _record("published", _hub_file(url), url, state)
    return state


def read_state_dict(path: str | Path, model_id: str, *, origin: str = "file", url: str = "",
                    sha256: str = "") -> StateDict:
    """A flat state dict saved with ``torch.save`` (tensors only) or as ``.safetensors``
    (``origin``, ``url`` and ``sha256`` are what :func:`recording_loads` records: ``file`` or
    ``published``; the file is hashed only when ``sha256`` is not given).

    Raises:
        WeightsUnavailableError: the file does not exist.
        WeightsMismatchError: the file is not a state dict of tensors.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights file {path} of baseline {model_id!r} does not exist; check weights=PATH"
        )
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        raise WeightsMismatchError(f"weights file {path} is not a readable checkpoint ({exc})"
                                   ) from exc
    if not isinstance(obj, Mapping) or not all(isinstance(v, Tensor) for v in obj.values()):
        raise WeightsMismatchError(
            f"weights file {path} must hold a flat state dict of tensors (torch.save("
            f"model.state_dict())) of the model of {model_id!r}"
        )
    _record(origin, path, url, obj, sha256)
    return dict(obj)


def load_strict(module: nn.Module, state: StateDict, model_id: str) -> None:
    """``module.load_state_dict(state, strict=True)`` with a :class:`WeightsMismatchError`."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise WeightsMismatchError(
            f"weights do not match baseline {model_id!r}: {exc}. Check that the file holds the "
            "weights of this architecture (and of the tiny variant when tiny=True)"
        ) from exc


def resolve_weights(
    weights: str | Path | None, fetch: Callable[[], StateDict] | None, *, model_id: str,
    tiny: bool, training_type: TrainingType,
) -> StateDict | None:
    """The state dict a baseline is built with: from ``weights=PATH``, published (``fetch()``),
    or None for random weights.

    Args:
        weights: None (published), ``"none"`` (random: with ``scratch_training``, or for a tiny
            miniature under any training type) or a file.
        fetch: reads the published weights; None when the training type publishes none (random).
        model_id: baseline id (messages).
        tiny: a miniature (tests): it has no published weights.
        training_type: Mars-Bench's training type.

    Raises:
        InvalidInputError: ``"none"`` for a full-size model with a pretrained training type, or
            published weights asked of a tiny miniature.
    """
    if weights is not None and str(weights) == "none":
        if training_type != "scratch_training" and not tiny:
            raise InvalidInputError(
                f"baseline {model_id!r}: weights='none' (random) is only allowed with "
                f"training_type='scratch_training', not {training_type!r}; there is no random "
                "fallback for pretrained training types"
            )
        return None
    if weights is not None:
        return read_state_dict(weights, model_id)
    if fetch is None:
        return None
    if tiny:
        raise InvalidInputError(
            f"baseline {model_id!r}: the tiny variant has no published weights; pass "
            "weights='none' or weights=PATH"
        )
    return fetch()


def _weights(
    weights: str | Path | None, published: Any, *, model_id: str, tiny: bool,
    training_type: TrainingType,
) -> StateDict | None:
    """:func:`resolve_weights` with the torchvision weights enum ``published`` (or None)."""
    fetch = None if published is None else partial(published_state_dict, published, model_id)
    return resolve_weights(weights, fetch, model_id=model_id, tiny=tiny,
                           training_type=training_type)


def _set_trainable(model: nn.Module, trainable: list[nn.Module] | None) -> None:
    """All parameters trainable (None), or only those of ``trainable``."""
    model.requires_grad_(trainable is None)
    for part in trainable or []:
        part.requires_grad_(True)


# --------------------------------------------------------------------------------- classification


class MarsBenchClassifier(nn.Module):
    """A torchvision classifier with Mars-Bench's replaced last layer: images → logits.

    Args:
        model: the torchvision model (last layer already replaced).
        kind: ``binary``, ``multiclass`` or ``multilabel``.
        training_type: how it was built (recorded).
    """

    def __init__(self, model: nn.Module, kind: str, training_type: TrainingType) -> None:
        super().__init__()
        self.model = model
        self.kind = head_kind(kind)
        self.training_type = training_type

    def forward(self, x: Tensor) -> Tensor:
        """Logits from images (B, 3, H, W): (B,) for binary (one logit), (B, K) otherwise."""
        out: Tensor = self.model(x)
        return out.squeeze(-1) if self.kind == "binary" else out


@dataclass(frozen=True)
class ClassifierRecipe:
    """How to build one classification baseline.

    Attributes:
        build: ``build(tiny)`` → the torchvision model with its 1000-class ImageNet head.
        published: ``published()`` → the torchvision weights enum Mars-Bench loads.
        last: dotted path of the last layer that Mars-Bench replaces (and trains when frozen).
    """

    build: Callable[[bool], nn.Module]
    published: Callable[[], Any]
    last: str


def _resnet101(tiny: bool) -> nn.Module:
    from torchvision.models import resnet101
    from torchvision.models.resnet import BasicBlock, ResNet

    return ResNet(BasicBlock, [1, 1, 1, 1]) if tiny else resnet101(weights=None)


def _vit_l16(tiny: bool) -> nn.Module:
    from torchvision.models import vit_l_16
    from torchvision.models.vision_transformer import VisionTransformer

    if tiny:
        return VisionTransformer(image_size=32, patch_size=16, num_layers=1, num_heads=2,
                                 hidden_dim=16, mlp_dim=32)
    return vit_l_16(weights=None)


def _swinv2_b(tiny: bool) -> nn.Module:
    from torchvision.models import swin_v2_b
    from torchvision.models.swin_transformer import (
        PatchMergingV2,
        SwinTransformer,
        SwinTransformerBlockV2,
    )

    if tiny:
        return SwinTransformer(patch_size=[4, 4], embed_dim=8, depths=[1, 1, 1, 1],
                               num_heads=[1, 1, 1, 1], window_size=[2, 2],
                               stochastic_depth_prob=0.5, block=SwinTransformerBlockV2,
                               downsample_layer=PatchMergingV2)
    return swin_v2_b(weights=None)


def _weights_enum(name: str) -> Callable[[], Any]:
    def get() -> Any:
        import torchvision.models as tvm

        enum_name, member = name.split(".")
        return getattr(getattr(tvm, enum_name), member)

    return get


MARSBENCH_CLASSIFIERS: Registry[ClassifierRecipe] = Registry("Mars-Bench classification baseline")
MARSBENCH_CLASSIFIERS.register("resnet101", ClassifierRecipe(
    _resnet101, _weights_enum("ResNet101_Weights.IMAGENET1K_V2"), "fc"))
MARSBENCH_CLASSIFIERS.register("vit-l16", ClassifierRecipe(
    _vit_l16, _weights_enum("ViT_L_16_Weights.IMAGENET1K_V1"), "heads.head"))
MARSBENCH_CLASSIFIERS.register("swinv2-b", ClassifierRecipe(
    _swinv2_b, _weights_enum("Swin_V2_B_Weights.IMAGENET1K_V1"), "head"))


def build_marsbench_classifier(
    name: str,
    *,
    n_classes: int,
    kind: str,
    training_type: str = "feature_extraction",
    tiny: bool = False,
    weights: str | Path | None = None,
) -> MarsBenchClassifier:
    """Mars-Bench's classification baseline ``name`` (``resnet101``, ``vit-l16``, ``swinv2-b``).

    Args:
        name: baseline id.
        n_classes: classes (2 for binary, built with one logit) or labels.
        kind: ``binary`` (or ``classification``), ``multiclass`` or ``multilabel``.
        training_type: Mars-Bench's training type (see the module docstring).
        tiny: a miniature of the architecture (random, or a ``weights`` file).
        weights: None (published ImageNet weights), ``"none"`` (random; scratch only) or a file
            holding the torchvision model's state dict with its 1000-class ImageNet head.

    Raises:
        UnknownNameError: unknown id.
        WeightsUnavailableError: published weights neither cached nor downloadable, or no file.
        WeightsMismatchError: the weights do not fit the architecture.
        InvalidInputError: bad kind, class count, training type, or random weights for a
            pretrained training type.
    """
    recipe = MARSBENCH_CLASSIFIERS.get(name)
    ttype = check_training_type(training_type)
    n_out = n_logits(kind, n_classes)
    published = None if ttype == "scratch_training" else recipe.published()
    state = _weights(weights, published, model_id=name, tiny=tiny, training_type=ttype)
    model = recipe.build(tiny)
    if state is not None:
        load_strict(model, state, name)
    parent_name, _, attr = recipe.last.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    setattr(parent, attr, nn.Linear(getattr(parent, attr).in_features, n_out))
    _set_trainable(model, [getattr(parent, attr)] if ttype == "feature_extraction" else None)
    return MarsBenchClassifier(model, kind, ttype)


# -------------------------------------------------------------------------------------- detection


def _tiny_resnet(norm_layer: Callable[..., nn.Module] | None = None) -> nn.Module:
    from torchvision.models.resnet import BasicBlock, ResNet

    return ResNet(BasicBlock, [1, 1, 1, 1], norm_layer=norm_layer)


def _faster_rcnn(n_classes: int, ttype: TrainingType, tiny: bool, weights: Any) -> nn.Module:
    from torchvision.models import ResNet50_Weights, resnet50
    from torchvision.models.detection import FasterRCNN, FasterRCNN_ResNet50_FPN_Weights
    from torchvision.models.detection._utils import overwrite_eps
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.faster_rcnn import FastRCNNPredictor
    from torchvision.ops.misc import FrozenBatchNorm2d

    name = "faster-rcnn"
    coco = FasterRCNN_ResNet50_FPN_Weights.COCO_V1
    # Pretrained: the COCO detector. Mars-Bench's scratch: torchvision's default ImageNet backbone.
    published, on_backbone = ((ResNet50_Weights.IMAGENET1K_V1, True)
                              if ttype == "scratch_training" else (coco, False))
    state = _weights(weights, published, model_id=name, tiny=tiny, training_type=ttype)
    trained = state is not None
    norm = FrozenBatchNorm2d if trained else nn.BatchNorm2d
    resnet = _tiny_resnet(norm) if tiny else resnet50(weights=None, norm_layer=norm)
    if trained and on_backbone:
        load_strict(resnet, state or {}, name)
    backbone = _resnet_fpn_extractor(resnet, 3 if trained else 5)
    # tiny: 64 px and few proposals/RoIs (the state-dict layout is the full model's)
    small = dict(min_size=64, max_size=64, rpn_pre_nms_top_n_train=200,
                 rpn_post_nms_top_n_train=50, rpn_pre_nms_top_n_test=200,
                 rpn_post_nms_top_n_test=50, box_batch_size_per_image=32)
    model = FasterRCNN(backbone, num_classes=91, **(small if tiny else {}))
    if trained and not on_backbone:
        load_strict(model, state or {}, name)
        overwrite_eps(model, 0.0)  # as torchvision does for COCO_V1
    in_features = model.roi_heads.box_predictor.cls_score.in_features
    model.roi_heads.box_predictor = FastRCNNPredictor(in_features, n_classes + 1)
    fe = ttype == "feature_extraction"
    _set_trainable(model, [model.roi_heads, model.rpn] if fe else None)
    return model


def _retinanet(n_classes: int, ttype: TrainingType, tiny: bool, weights: Any) -> nn.Module:
    from torchvision.models import ResNet50_Weights, resnet50
    from torchvision.models.detection import RetinaNet, RetinaNet_ResNet50_FPN_V2_Weights
    from torchvision.models.detection.backbone_utils import _resnet_fpn_extractor
    from torchvision.models.detection.retinanet import (
        RetinaNetClassificationHead,
        RetinaNetHead,
        _default_anchorgen,
    )
    from torchvision.ops.feature_pyramid_network import LastLevelP6P7

    name = "retinanet"
    published, on_backbone = ((ResNet50_Weights.IMAGENET1K_V1, True)
                              if ttype == "scratch_training"
                              else (RetinaNet_ResNet50_FPN_V2_Weights.COCO_V1, False))
    state = _weights(weights, published, model_id=name, tiny=tiny, training_type=ttype)
    trained = state is not None
    resnet = _tiny_resnet() if tiny else resnet50(weights=None)
    if trained and on_backbone:
        load_strict(resnet, state or {}, name)
    c5 = 512 if tiny else 2048
    backbone = _resnet_fpn_extractor(resnet, 3 if trained else 5,
                                     returned_layers=[2, 3, 4],
                                     extra_blocks=LastLevelP6P7(c5, 256))
    anchors = _default_anchorgen()
    group_norm = partial(nn.GroupNorm, 32)
    head = RetinaNetHead(256, anchors.num_anchors_per_location()[0], 91, norm_layer=group_norm)
    head.regression_head._loss_type = "giou"
    small = {"min_size": 64, "max_size": 64, "topk_candidates": 100}
    model = RetinaNet(backbone, 91, anchor_generator=anchors, head=head,
                      **(small if tiny else {}))
    if trained and not on_backbone:
        load_strict(model, state or {}, name)
    model.head.classification_head = RetinaNetClassificationHead(
        256, anchors.num_anchors_per_location()[0], n_classes + 1, norm_layer=group_norm)
    fe = ttype == "feature_extraction"
    _set_trainable(model, [model.backbone.fpn, model.head] if fe else None)
    return model


def _ssd(n_classes: int, ttype: TrainingType, tiny: bool, weights: Any) -> nn.Module:
    from torchvision.models import ResNet34_Weights, resnet34
    from torchvision.models.detection.ssd import SSD, DefaultBoxGenerator, SSDHead

    name = "ssd"
    published = None if ttype == "scratch_training" else ResNet34_Weights.IMAGENET1K_V1
    state = _weights(weights, published, model_id=name, tiny=tiny, training_type=ttype)
    resnet: Any = _tiny_resnet() if tiny else resnet34(weights=None)
    if state is not None:
        load_strict(resnet, state, name)
    backbone = nn.Sequential(resnet.conv1, resnet.bn1, resnet.relu, resnet.maxpool,
                             resnet.layer1, resnet.layer2, resnet.layer3, resnet.layer4)
    anchors = DefaultBoxGenerator([[2], [2, 3], [2, 3], [2, 3], [2], [2]])
    head = SSDHead([512] * 6, anchors.num_anchors_per_location(), n_classes + 1)
    size = (64, 64) if tiny else (224, 224)  # Mars-Bench: transforms.image_size
    model = SSD(backbone, anchors, size, n_classes + 1, head=head, nms_thresh=0.45)
    _set_trainable(model, [model.head] if ttype == "feature_extraction" else None)
    return model


MARSBENCH_DETECTORS: Registry[Callable[..., nn.Module]] = Registry(
    "Mars-Bench detection baseline"
)
MARSBENCH_DETECTORS.register("faster-rcnn", _faster_rcnn)
MARSBENCH_DETECTORS.register("retinanet", _retinanet)
MARSBENCH_DETECTORS.register("ssd", _ssd)


def build_marsbench_detector(
    name: str,
    *,
    n_classes: int,
    training_type: str = "feature_extraction",
    tiny: bool = False,
    weights: str | Path | None = None,
) -> Detector:
    """Mars-Bench's detection baseline ``name`` (``faster-rcnn``, ``retinanet``, ``ssd``).

    Inputs and outputs are those of :class:`~planetbench.heads.detection.Detector` (lists of
    images, boxes xyxy px, labels 1..C), except that these models normalise with ImageNet
    statistics themselves (as in Mars-Bench, on top of its own normalisation).

    Args:
        name: baseline id.
        n_classes: object classes C (Mars-Bench's ``num_classes`` is C + 1).
        training_type: Mars-Bench's training type (see the module docstring).
        tiny: a miniature (ResNet with one basic block per stage, 64 px) for tests.
        weights: None (published: COCO detector, or the ImageNet backbone for Mars-Bench's
            scratch of Faster R-CNN/RetinaNet, ImageNet ResNet-34 for the SSD), ``"none"``
            (random; scratch only) or a file with the state dict of what would be published.
    """
    factory = MARSBENCH_DETECTORS.get(name)
    ttype = check_training_type(training_type)
    if n_classes < 1:
        raise InvalidInputError(f"n_classes must be ≥ 1 object class, got {n_classes}")
    return Detector(factory(n_classes, ttype, tiny, weights), n_classes)


__all__ = [
    "MARSBENCH_CLASSIFIERS",
    "MARSBENCH_DETECTORS",
    "TRAINING_TYPES",
    "ClassifierRecipe",
    "LoadedWeights",
    "MarsBenchClassifier",
    "TrainingType",
    "build_marsbench_classifier",
    "build_marsbench_detector",
    "check_training_type",
    "load_strict",
    "published_state_dict",
    "read_state_dict",
    "recording_loads",
    "resolve_weights",
]
