"""Mars-Bench's segmentation baselines, built as Mars-Bench builds them (segmentation_models_pytorch).

Mars-Bench (``kerner-lab/Mars-Bench``, ``marsbench/models/segmentation/*.py``) trains whole smp
models, each with ``in_channels=3``, ``classes=num_classes`` and smp's defaults otherwise:

===============  ===============================================  ==============================
id               smp model and encoder (Mars-Bench's config)      published encoder weights
===============  ===============================================  ==============================
unet             ``Unet(encoder_name="resnet34")``                smp-hub ``resnet34.imagenet``
deeplabv3plus    ``DeepLabV3Plus(encoder_name="resnet34")``       smp-hub ``resnet34.imagenet``
segformer        ``Segformer(encoder_name="resnet34")``           smp-hub ``resnet34.imagenet``
dpt              ``DPT(encoder_name="tu-vit_base_patch16_224      timm ``vit_base_patch16_224
                 .augreg_in21k")``                                .augreg_in21k``
===============  ===============================================  ==============================

Training types are Mars-Bench's: ``feature_extraction`` (published encoder weights; the
parameters of ``model.encoder`` frozen, decoder and segmentation head trainable),
``transfer_learning`` (published encoder weights, everything trainable) and
``scratch_training`` (random encoder). As in Mars-Bench, freezing is of parameters only: the model
stays in train mode while training, so the frozen encoder's BatchNorm statistics keep updating.
Mars-Bench's SegFormer runs the SegFormer decoder on a ResNet-34, not on the MiT encoder of the
SegFormer paper; its DPT takes 224 × 224 inputs only (timm's ViT-B/16 has a fixed input size).

Weights are those of the *encoder* (what smp's ``encoder_weights="imagenet"`` loads): None loads
the published file that ``published()`` gives (a run finds it in planetbench's weights cache or
the Hugging Face cache, or downloads it, with
:func:`planetbench.protocols.whole_models.published_weights_file`; offline it raises
:class:`~planetbench.errors.WeightsUnavailableError` naming the URL and where to put the file)
strictly into ``model.encoder`` (the timm model inside it for DPT), as smp does;
``weights=PATH`` loads that file (a state dict of the same encoder, ``.pt``/``.pth`` or
``.safetensors``) the same way; ``weights="none"`` builds a random encoder and is only allowed
with ``scratch_training``: there is never a random fallback. The decoder and head are
initialised by smp as in Mars-Bench (the encoder is built, randomly, before its weights are
loaded in both, so a seed gives the same decoder). ``tiny=True`` builds a miniature of the same
layout for tests (a ResNet-18 encoder or timm's ``test_vit``, narrow decoders; random with
``weights="none"`` under any training type, or a ``weights`` file).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.heads.marsbench import (
    StateDict,
    TrainingType,
    check_training_type,
    load_strict,
    read_state_dict,
    resolve_weights,
)
from planetbench.registry import Registry

#: Mars-Bench's DPT encoder takes inputs of this side only.
DPT_INPUT_SIZE = 224


@dataclass(frozen=True)
class SegmenterRecipe:
    """How to build one segmentation baseline.

    Attributes:
        build: ``build(n_classes, in_channels, tiny, input_size)`` → the smp model, random.
        registry_id: the whole model's id in the encoder registry (its spec names the weights).
        stride: input sides must be multiples of this (the encoder's output stride).
    """

    build: Callable[[int, int, bool, int | None], nn.Module]
    registry_id: str
    stride: int


def _smp() -> Any:
    try:
        import segmentation_models_pytorch as smp
    except ImportError as exc:
        raise InvalidInputError(
            "Mars-Bench's segmentation baselines need segmentation_models_pytorch: "
            "pip install 'planetbench[mars]'"
        ) from exc
    return smp


def _unet(n_classes: int, in_channels: int, tiny: bool, input_size: int | None) -> nn.Module:
    if tiny:
        return _smp().Unet(encoder_name="resnet18", encoder_weights=None,
                           in_channels=in_channels, classes=n_classes,
                           decoder_channels=(32, 16, 16, 8, 8))
    return _smp().Unet(encoder_name="resnet34", encoder_weights=None, in_channels=in_channels,
                       classes=n_classes)


def _deeplabv3plus(n_classes: int, in_channels: int, tiny: bool, input_size: int | None
                   ) -> nn.Module:
    if tiny:
        return _smp().DeepLabV3Plus(encoder_name="resnet18", encoder_weights=None,
                                    in_channels=in_channels, classes=n_classes,
                                    decoder_channels=16)
    return _smp().DeepLabV3Plus(encoder_name="resnet34", encoder_weights=None,
                                in_channels=in_channels, classes=n_classes)


def _segformer(n_classes: int, in_channels: int, tiny: bool, input_size: int | None
               ) -> nn.Module:
    if tiny:
        return _smp().Segformer(encoder_name="resnet18", encoder_weights=None,
                                in_channels=in_channels, classes=n_classes,
                                decoder_segmentation_channels=16)
    return _smp().Segformer(encoder_name="resnet34", encoder_weights=None,
                            in_channels=in_channels, classes=n_classes)


def _dpt(n_classes: int, in_channels: int, tiny: bool, input_size: int | None) -> nn.Module:
    if tiny:
        return _smp().DPT(encoder_name="tu-test_vit", encoder_weights=None,
                          in_channels=in_channels, classes=n_classes,
                          decoder_intermediate_channels=(16, 16, 16, 16),
                          decoder_fusion_channels=16, img_size=input_size or 64)
    return _smp().DPT(encoder_name="tu-vit_base_patch16_224.augreg_in21k", encoder_weights=None,
                      in_channels=in_channels, classes=n_classes)


MARSBENCH_SEGMENTERS: Registry[SegmenterRecipe] = Registry("Mars-Bench segmentation baseline")
MARSBENCH_SEGMENTERS.register("unet", SegmenterRecipe(_unet, "mb-unet", 32))
MARSBENCH_SEGMENTERS.register("deeplabv3plus", SegmenterRecipe(_deeplabv3plus,
                                                               "mb-deeplabv3plus", 32))
MARSBENCH_SEGMENTERS.register("segformer", SegmenterRecipe(_segformer, "mb-segformer", 32))
MARSBENCH_SEGMENTERS.register("dpt", SegmenterRecipe(_dpt, "mb-dpt", 16))


class MarsBenchSegmenter(nn.Module):
    """An smp segmentation model as Mars-Bench trains it: images → logits (B, K, H, W).

    Args:
        model: the smp model.
        name: baseline id.
        training_type: how it was built (recorded).
    """

    def __init__(self, model: nn.Module, name: str, training_type: TrainingType) -> None:
        super().__init__()
        self.model = model
        self.name = name
        self.training_type = training_type

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, K, H, W) of images (B, C, H, W)."""
        out: Tensor = self.model(x)
        return out

    def encoder_parameters(self) -> int:
        """Parameters of the smp encoder (the part ``feature_extraction`` freezes)."""
        return sum(p.numel() for p in self.model.get_submodule("encoder").parameters())


def input_size_problem(name: str, input_size: int, *, tiny: bool = False) -> str | None:
    """Why ``input_size`` cannot feed baseline ``name`` (None: it can).

    Raises:
        UnknownNameError: unknown id.
    """
    recipe = MARSBENCH_SEGMENTERS.get(name)
    if name == "dpt" and not tiny and input_size != DPT_INPUT_SIZE:
        return (f"Mars-Bench's DPT takes {DPT_INPUT_SIZE} × {DPT_INPUT_SIZE} inputs only (timm's "
                f"vit_base_patch16_224 has a fixed input size), not {input_size}; use input_size "
                f"{DPT_INPUT_SIZE} (the default)")
    if input_size % recipe.stride:
        return (f"Mars-Bench's {name} needs an input size divisible by {recipe.stride} (its "
                f"encoder's output stride), not {input_size}; use 224 (the default) or another "
                f"multiple of {recipe.stride}")
    return None


def _encoder_module(model: nn.Module, name: str) -> nn.Module:
    """The module smp loads the published encoder weights into."""
    encoder = model.get_submodule("encoder")
    return encoder.get_submodule("model") if name == "dpt" else encoder


class PublishedFile(Protocol):
    """The published encoder weights file a caller found (e.g. an encoder registry's
    ``WeightsFile``)."""

    @property
    def path(self) -> Path:
        """The file."""

    @property
    def url(self) -> str:
        """Where it was published."""

    @property
    def sha256(self) -> str:
        """Its checksum."""


def _read_published(name: str, published: Callable[[], PublishedFile] | None) -> StateDict:
    if published is None:
        raise InvalidInputError(
            f"baseline {name!r}: no source of its published encoder weights was given; pass "
            "published= (planetbench.protocols.whole_models.published_weights_file does it) "
            "or weights=PATH"
        )
    found = published()
    return read_state_dict(found.path, name, origin="published", url=found.url,
                           sha256=found.sha256)


def build_marsbench_segmenter(
    name: str,
    *,
    n_classes: int,
    training_type: str = "feature_extraction",
    tiny: bool = False,
    weights: str | Path | None = None,
    in_channels: int = 3,
    input_size: int | None = None,
    published: Callable[[], PublishedFile] | None = None,
) -> MarsBenchSegmenter:
    """Mars-Bench's segmentation baseline ``name`` (``unet``, ``deeplabv3plus``, ``segformer``,
    ``dpt``).

    Args:
        name: baseline id.
        n_classes: classes K, background included (≥ 2).
        training_type: Mars-Bench's training type (see the module docstring).
        tiny: a miniature of the architecture (random, or a ``weights`` file).
        weights: None (published encoder weights), ``"none"`` (random; scratch only) or a file
            holding the encoder's state dict.
        in_channels: input bands (Mars-Bench: 3).
        input_size: the side inputs will have, checked against the architecture when given.
        published: ``published()`` → the published encoder weights file, with its URL and
            sha256 (found by the caller: the registry's whole-model spec names it), used when
            ``weights`` is None.

    Raises:
        UnknownNameError: unknown id.
        WeightsUnavailableError: published weights neither cached nor downloadable, or no file.
        WeightsMismatchError: the weights do not fit the encoder.
        InvalidInputError: bad class count, training type or input size, random weights for a
            pretrained training type, or segmentation_models_pytorch missing.
    """
    recipe = MARSBENCH_SEGMENTERS.get(name)
    ttype = check_training_type(training_type)
    if n_classes < 2:
        raise InvalidInputError(
            f"baseline {name!r}: n_classes must be ≥ 2 (background included), got {n_classes}"
        )
    if input_size is not None:
        problem = input_size_problem(name, input_size, tiny=tiny)
        if problem:
            raise InvalidInputError(problem)
    fetch = None if ttype == "scratch_training" else partial(_read_published, name, published)
    state = resolve_weights(weights, fetch, model_id=name, tiny=tiny,  # before building
                            training_type=ttype)
    model = recipe.build(n_classes, in_channels, tiny, input_size)
    if state is not None:
        load_strict(_encoder_module(model, name), state, name)
    model.requires_grad_(True)
    if ttype == "feature_extraction":
        model.get_submodule("encoder").requires_grad_(False)
    return MarsBenchSegmenter(model, name, ttype)


__all__ = [
    "DPT_INPUT_SIZE",
    "MARSBENCH_SEGMENTERS",
    "MarsBenchSegmenter",
    "PublishedFile",
    "SegmenterRecipe",
    "build_marsbench_segmenter",
    "input_size_problem",
]
