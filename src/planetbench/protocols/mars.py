"""Mars-Bench's protocol facts, mapped onto planetbench's protocols.

Mars-Bench (``kerner-lab/Mars-Bench`` at ``9a7fae3``; ``marsbench/models/*/Base*Model.py``,
``marsbench/utils/transforms.py``, ``marsbench/configs/training/dev.yaml``) trains every model under
one of three *training types*. They map onto planetbench's protocols (recorded with every run as
``training_type``):

=====================  ==========================  =========================================
Mars-Bench             planetbench protocol        what trains
=====================  ==========================  =========================================
``feature_extraction``  ``frozen``                 the head only; the encoder is fixed (and,
                                                   unlike Mars-Bench, kept in eval mode, so its
                                                   features are computed once and cached)
``transfer_learning``   ``finetune``               encoder and head, from pretrained weights
``scratch_training``    ``scratch``                encoder and head, from random weights
=====================  ==========================  =========================================

Inputs (``normalisation``): Mars-Bench resizes every image to the model's input size and
normalises it with ImageNet's mean and std at ``max_pixel_value=255`` (albumentations'
``Normalize``: ``(x / 255 − mean) / std``) — right for its ImageNet-pretrained RGB baselines.
planetbench's own default for other encoders (geospatial foundation models, from-scratch
baselines) is the band statistics of the task (published, else of the training images;
:mod:`planetbench.protocols.band_stats`), as for the dense runs. ``auto`` picks ImageNet's for an
encoder whose weights declare ImageNet's RGB statistics and band statistics otherwise; a run
records which one it used.

Augmentation (``augment=True``), as Mars-Bench's training transforms: classification — horizontal
and vertical flips (p = 0.5 each), a rotation by k·90° (p = 0.5, k uniform in 0..3), colour jitter
(p = 0.3; brightness, contrast, saturation factors in [0.8, 1.2], hue shift in [−0.1, 0.1], in
random order) and a Gaussian blur (p = 0.2; odd kernel 3–7, OpenCV's σ for the kernel);
segmentation — the flips and the rotation (masks follow); detection — the flips (boxes follow).
They are planetbench's implementations (torchvision functional ops) of albumentations' transforms
with the same families and probabilities, not bit-identical draws.

Optimisers, schedulers and losses are those of Mars-Bench's code: ``adam``, ``adamw``, ``sgd``
(momentum 0.9); schedulers ``none``, ``cosine`` (T_max 100, η_min 1e-6: Mars-Bench's config
values, whatever the number of epochs), ``step`` (every 10 epochs × 0.1) and ``plateau`` (× 0.1
after 5 epochs without a lower validation loss), stepped once per epoch; classification losses
``bce`` (binary with one logit, multi-label) and ``ce`` (multi-class; binary with two logits, the
alternative of Mars-Bench's Table 2, which its code does not build).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from planetbench.errors import InvalidInputError
from planetbench.registry import Registry, did_you_mean

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from planetbench.encoders.base import EncoderSpec
    from planetbench.protocols.band_stats import BandStats

# ---------------------------------------------------------------------------- training types

#: planetbench protocol → Mars-Bench ``training_type``.
TRAINING_TYPES: dict[str, str] = {
    "frozen": "feature_extraction",
    "finetune": "transfer_learning",
    "scratch": "scratch_training",
}

#: The seeds Mars-Bench runs every result cell with (paper Table 2; every published cell).
MARSBENCH_SEEDS: tuple[int, ...] = (0, 1, 10, 42, 123, 1000, 1234)


def training_type(protocol: str) -> str | None:
    """Mars-Bench's training type of a planetbench protocol (None when it has none)."""
    return TRAINING_TYPES.get(protocol)


def protocol_of(training_type_name: str) -> str:
    """The planetbench protocol of a Mars-Bench training type.

    Raises:
        InvalidInputError: an unknown training type (with did-you-mean).
    """
    for protocol, name in TRAINING_TYPES.items():
        if name == training_type_name:
            return protocol
    hint = did_you_mean(training_type_name, TRAINING_TYPES.values())
    raise InvalidInputError(
        f"training type {training_type_name!r} is not one of Mars-Bench's "
        f"{', '.join(TRAINING_TYPES.values())}" + (f"; {hint}" if hint else "")
    )


# ------------------------------------------------------------------------------ normalisation

#: ImageNet's RGB mean and std (0–1 scale), Mars-Bench's ``transforms.rgb``.
IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)
#: albumentations' ``max_pixel_value`` in Mars-Bench's ``Normalize``.
MAX_PIXEL_VALUE = 255.0

#: Normalisation settings of image runs.
NORMALISATIONS: tuple[str, ...] = ("auto", "imagenet", "band-stats")


def check_normalisation(name: str) -> str:
    """Return ``name`` when it is a normalisation setting.

    Raises:
        InvalidInputError: otherwise (with did-you-mean).
    """
    if name not in NORMALISATIONS:
        hint = did_you_mean(name, NORMALISATIONS)
        raise InvalidInputError(
            f"normalisation {name!r} is not one of {', '.join(NORMALISATIONS)}"
            + (f"; {hint}" if hint else "")
        )
    return name


def has_imagenet_statistics(spec: EncoderSpec) -> bool:
    """True when the encoder's weights declare ImageNet's RGB mean and std (0–1 or 0–255)."""
    weights = spec.weights
    if weights is None or weights.mean is None or weights.std is None or len(weights.mean) != 3:
        return False
    for scale in (1.0, MAX_PIXEL_VALUE):
        if all(abs(m - e * scale) < 1e-3 * scale for m, e in zip(weights.mean, IMAGENET_MEAN,
                                                                   strict=True)):
            return True
    return False


def resolve_normalisation(name: str, spec: EncoderSpec) -> str:
    """``imagenet`` or ``band-stats`` for a setting (``auto`` decides from the encoder's weights).

    Raises:
        InvalidInputError: an unknown setting.
    """
    check_normalisation(name)
    if name != "auto":
        return name
    return "imagenet" if has_imagenet_statistics(spec) else "band-stats"


def imagenet_band_stats(n_bands: int) -> BandStats:
    """Mars-Bench's normalisation as band statistics on the 0–255 scale: mean·255, std·255.

    Raises:
        InvalidInputError: the images do not have 3 bands (ImageNet's statistics are RGB).
    """
    from planetbench.protocols.band_stats import BandStats

    if n_bands != 3:
        raise InvalidInputError(
            f"normalisation 'imagenet' needs 3-band (RGB) images, got {n_bands} band(s); use "
            "normalisation: band-stats"
        )
    return BandStats.from_moments(
        [m * MAX_PIXEL_VALUE for m in IMAGENET_MEAN], [s * MAX_PIXEL_VALUE for s in IMAGENET_STD],
        source="imagenet",
    )


# ------------------------------------------------------------------------------ augmentation


def _coin(gen: torch.Generator, p: float) -> bool:
    import torch

    return bool(torch.rand((), generator=gen) < p)


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    import torch

    return low + (high - low) * float(torch.rand((), generator=gen))


def flip_rotate(
    image: Tensor, gen: torch.Generator, *, rotate: bool, mask: Tensor | None = None
) -> tuple[Tensor, Tensor | None]:
    """Random horizontal/vertical flips (p = 0.5 each), then (``rotate``) k·90° (p = 0.5).

    Args:
        image: (C, H, W).
        gen: the generator every draw comes from.
        rotate: also rotate (classification, segmentation).
        mask: (H, W) transformed alike, or None.
    """
    import torch

    if _coin(gen, 0.5):
        image = image.flip(-1)
        mask = None if mask is None else mask.flip(-1)
    if _coin(gen, 0.5):
        image = image.flip(-2)
        mask = None if mask is None else mask.flip(-2)
    if rotate and _coin(gen, 0.5):
        k = int(torch.randint(0, 4, (), generator=gen))
        image = torch.rot90(image, k, dims=(-2, -1))
        mask = None if mask is None else torch.rot90(mask, k, dims=(-2, -1))
    return image, mask


def color_jitter(image: Tensor, gen: torch.Generator) -> Tensor:
    """Colour jitter of a 0–255 image (C, H, W): brightness, contrast (and, for 3 bands,
    saturation and hue) in random order; Mars-Bench's ``ColorJitter(0.2, 0.2, 0.2, 0.1)``.
    Images of other band counts are returned unchanged."""
    import torch
    import torchvision.transforms.functional as TF

    if image.shape[0] not in (1, 3):  # torchvision's colour ops take grey or RGB images
        return image
    x = (image / MAX_PIXEL_VALUE).clamp(0.0, 1.0)
    factors = [_uniform(gen, 0.8, 1.2), _uniform(gen, 0.8, 1.2)]
    ops: list[Callable[[Tensor, float], Tensor]] = [TF.adjust_brightness, TF.adjust_contrast]
    if x.shape[0] == 3:
        factors += [_uniform(gen, 0.8, 1.2), _uniform(gen, -0.1, 0.1)]
        ops += [TF.adjust_saturation, TF.adjust_hue]
    for i in torch.randperm(len(ops), generator=gen).tolist():
        x = ops[i](x, factors[i])
    return x * MAX_PIXEL_VALUE


def gaussian_blur(image: Tensor, gen: torch.Generator) -> Tensor:
    """Gaussian blur with an odd kernel of 3–7 px and OpenCV's σ = 0.3·((k − 1)/2 − 1) + 0.8."""
    import torch
    import torchvision.transforms.functional as TF

    k = (3, 5, 7)[int(torch.randint(0, 3, (), generator=gen))]
    sigma = 0.3 * ((k - 1) * 0.5 - 1) + 0.8
    return TF.gaussian_blur(image[None], [k, k], [sigma, sigma])[0]


def augment_classification(image: Tensor, gen: torch.Generator) -> Tensor:
    """Mars-Bench's classification training augmentation of a 0–255 image (C, H, W)."""
    image, _ = flip_rotate(image, gen, rotate=True)
    if _coin(gen, 0.3):
        image = color_jitter(image, gen)
    if _coin(gen, 0.2):
        image = gaussian_blur(image, gen)
    return image


def augment_detection(image: Tensor, boxes: Tensor, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Mars-Bench's detection training augmentation: flips of the image (C, H, W) and its boxes
    (N, 4) xyxy px."""
    w, h = image.shape[-1], image.shape[-2]
    boxes = boxes.clone()
    if _coin(gen, 0.5):
        image = image.flip(-1)
        boxes[:, [0, 2]] = w - boxes[:, [2, 0]]
    if _coin(gen, 0.5):
        image = image.flip(-2)
        boxes[:, [1, 3]] = h - boxes[:, [3, 1]]
    return image, boxes


# ------------------------------------------------------------------- optimisers and schedulers

OptimizerFactory = Callable[[Iterable[Any], float, float], "torch.optim.Optimizer"]
"""``factory(params, lr, weight_decay) -> Optimizer``."""


def _adam(params: Iterable[Any], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)


def _adamw(params: Iterable[Any], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def _sgd(params: Iterable[Any], lr: float, weight_decay: float) -> torch.optim.Optimizer:
    import torch

    return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay, momentum=0.9)


#: Optimisers of image runs (Mars-Bench's ``training.optimizer.name``).
OPTIMIZERS: Registry[OptimizerFactory] = Registry("optimizer")
OPTIMIZERS.register("adam", _adam)
OPTIMIZERS.register("adamw", _adamw)
OPTIMIZERS.register("sgd", _sgd)


@dataclass
class EpochScheduler:
    """A learning-rate schedule stepped once per epoch (Lightning's default interval).

    Attributes:
        name: the scheduler's id.
        scheduler: the torch scheduler, or None for ``none``.
        needs_val_loss: True when it steps on the validation loss (``plateau``).
    """

    name: str
    scheduler: Any = None
    needs_val_loss: bool = False

    def step(self, val_loss: float | None) -> None:
        """Advance one epoch (``plateau`` needs the epoch's validation loss)."""
        if self.scheduler is None:
            return
        if self.needs_val_loss:
            if val_loss is None:
                raise InvalidInputError("the plateau scheduler needs a validation loss")
            self.scheduler.step(val_loss)
        else:
            self.scheduler.step()


SchedulerFactory = Callable[["torch.optim.Optimizer"], EpochScheduler]


def _none(optimiser: torch.optim.Optimizer) -> EpochScheduler:
    return EpochScheduler("none")


def _cosine(optimiser: torch.optim.Optimizer) -> EpochScheduler:
    import torch

    return EpochScheduler("cosine", torch.optim.lr_scheduler.CosineAnnealingLR(
        optimiser, T_max=100, eta_min=1e-6))


def _step(optimiser: torch.optim.Optimizer) -> EpochScheduler:
    import torch

    return EpochScheduler("step", torch.optim.lr_scheduler.StepLR(optimiser, step_size=10,
                                                                  gamma=0.1))


def _plateau(optimiser: torch.optim.Optimizer) -> EpochScheduler:
    import torch

    return EpochScheduler("plateau", torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimiser, mode="min", patience=5, factor=0.1), needs_val_loss=True)


#: Learning-rate schedulers of image runs (Mars-Bench's ``training.scheduler``).
SCHEDULERS: Registry[SchedulerFactory] = Registry("scheduler")
SCHEDULERS.register("none", _none)
SCHEDULERS.register("cosine", _cosine)
SCHEDULERS.register("step", _step)
SCHEDULERS.register("plateau", _plateau)

# ---------------------------------------------------------------------------------- losses

#: Classification kind → its losses, the default first.
LOSSES: dict[str, tuple[str, ...]] = {
    "binary": ("bce", "ce"),
    "multiclass": ("ce",),
    "multilabel": ("bce",),
    "detection": ("default",),
    # Mars-Bench's segmentation losses: only whole-model segmenters take them
    # (planetbench.protocols.whole_models); dense segmentation runs use dice_weight instead
    "segmentation": ("ce", "generalized_dice", "generalized_dice_simple",
                     "generalized_dice_uniform", "combined"),
}

#: What early stopping and the best checkpoint watch.
MONITORS: tuple[str, ...] = ("score", "loss")


def resolve_loss(name: str, kind: str) -> str:
    """The loss of a run: ``default`` is the kind's first; others must suit the kind.

    Args:
        name: ``default`` or a loss of :data:`LOSSES` for the kind.
        kind: ``binary``, ``multiclass``, ``multilabel``, ``detection`` or ``segmentation``
            (whole-model segmenters).

    Raises:
        InvalidInputError: the loss does not suit the kind.
    """
    choices = LOSSES[kind]
    if name == "default":
        return choices[0]
    if name not in choices:
        raise InvalidInputError(
            f"loss {name!r} does not apply to {kind} tasks; use one of "
            f"{', '.join(('default', *choices))}"
        )
    return name


# ----------------------------------------------------------------------------- search space

#: Mars-Bench's hyper-parameter search space (paper Tables 2 and 3), by run setting; the loss
#: choices per task kind are in :data:`LOSS_CHOICES`.
MARSBENCH_SPACE: dict[str, tuple[Any, ...]] = {
    "scheduler": ("none", "cosine", "plateau", "step"),
    "lr": (1e-3, 1e-4, 1e-5),
    "weight_decay": (0.05,),
    "batch_size": (16, 32, 64),
    "optimizer": ("adam", "adamw", "sgd"),
    "epochs": (50, 100, 200),
    "patience": (5, 10),
}

#: Task kind → (run setting, its values) of the loss choices of Mars-Bench's Tables 2/3.
#: Segmentation: cross-entropy or cross-entropy + Dice (planetbench's soft Dice through
#: ``dice_weight``; Mars-Bench's generalized Dice alone and its weightings are not reproduced).
#: Detection: the detector's own loss (no choice).
LOSS_CHOICES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "binary": ("loss", ("bce", "ce")),
    "multiclass": ("loss", ("ce",)),
    "multilabel": ("loss", ("bce",)),
    "segmentation": ("dice_weight", (0.0, 1.0)),
}

#: Settings of the search space that segmentation runs cannot vary (the dense protocols train
#: with AdamW and no scheduler); a segmentation search leaves them out and says so.
DENSE_FIXED: tuple[str, ...] = ("optimizer", "scheduler")

#: The loss choices of a whole-model segmenter (Mars-Bench's own; its paper's "linear" weighting
#: is the code's ``uniform``).
WHOLE_SEGMENTATION_LOSSES: tuple[str, ...] = (
    "ce", "generalized_dice", "generalized_dice_simple", "generalized_dice_uniform", "combined",
)


def image_kind(task_kind: str) -> str:
    """The kind used above for a TaskSpec kind (``classification`` = ``binary``)."""
    return "binary" if task_kind == "classification" else task_kind


def search_space(task_kind: str, *, whole_model: bool = False) -> dict[str, tuple[Any, ...]]:
    """Mars-Bench's search space for a task kind, as run setting → values.

    Segmentation drops :data:`DENSE_FIXED`; every kind but detection adds its loss choices.
    A whole-model segmenter (``whole_model``; Mars-Bench's own baselines) keeps the whole space
    and searches Mars-Bench's segmentation losses (:data:`WHOLE_SEGMENTATION_LOSSES`).
    """
    kind = image_kind(task_kind)
    space = dict(MARSBENCH_SPACE)
    if kind == "segmentation" and whole_model:
        space["loss"] = WHOLE_SEGMENTATION_LOSSES
        return space
    if kind == "segmentation":
        for name in DENSE_FIXED:
            space.pop(name)
    if kind in LOSS_CHOICES:
        setting, values = LOSS_CHOICES[kind]
        space[setting] = values
    return space


def describe_space(space: Mapping[str, Sequence[Any]]) -> str:
    """One line: ``lr 1e-3|1e-4 · batch_size 16|32``."""
    return " · ".join(f"{k} {'|'.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vs)}"
                      for k, vs in space.items())


__all__ = [
    "DENSE_FIXED",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "LOSSES",
    "LOSS_CHOICES",
    "MARSBENCH_SEEDS",
    "MARSBENCH_SPACE",
    "MAX_PIXEL_VALUE",
    "MONITORS",
    "NORMALISATIONS",
    "OPTIMIZERS",
    "SCHEDULERS",
    "TRAINING_TYPES",
    "WHOLE_SEGMENTATION_LOSSES",
    "EpochScheduler",
    "augment_classification",
    "augment_detection",
    "check_normalisation",
    "color_jitter",
    "describe_space",
    "flip_rotate",
    "gaussian_blur",
    "has_imagenet_statistics",
    "image_kind",
    "imagenet_band_stats",
    "protocol_of",
    "resolve_loss",
    "resolve_normalisation",
    "search_space",
    "training_type",
]
