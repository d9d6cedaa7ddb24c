"""Mars-Bench's whole-model baselines in a run: building them, and the segmentation protocol.

A whole-model baseline (:mod:`planetbench.encoders.marsbench_models`: ``mb-unet``,
``mb-faster-rcnn`` …) is registered beside the encoders but brings its own decoder or detector.
The run's protocol gives Mars-Bench's training type (``frozen`` = ``feature_extraction``,
``finetune`` = ``transfer_learning``, ``scratch`` = ``scratch_training``) and
:func:`build_whole_model` builds the model as Mars-Bench does (:mod:`planetbench.heads.marsbench`,
:mod:`planetbench.heads.marsbench_seg`). Detectors train under
:class:`~planetbench.protocols.detection.DetectionProtocol`; segmenters under
:class:`SegmentationModelProtocol`, Mars-Bench's segmentation training as an image protocol (the
loop, optimisers, schedulers, early stopping and best checkpoint of
:class:`~planetbench.protocols.images.ImageProtocol`):

* images and masks resized to the input size (224: bilinear images, nearest masks), standardised
  with ImageNet's statistics (``normalisation: auto``), augmented with flips and k·90° rotations
  when asked; metrics are computed on the resized masks, as Mars-Bench does;
* losses (``loss``): ``ce`` (Mars-Bench's default ``cross_entropy``), ``generalized_dice``
  (its weighting ``square``), ``generalized_dice_simple``, ``generalized_dice_uniform`` (the code's
  name for the paper's "linear"), ``combined`` (cross-entropy + generalized Dice with the square
  weighting, exactly as its code adds them: the config's ``alpha`` is not used there);
  generalized Dice is computed over the whole batch with smoothing 1e-5 (:func:`generalized_dice_loss`).
  Kept as Mars-Bench computes it, quirk included: a class absent from a batch gets the weight
  1/(1e-5)² (square; 1e5 for simple), its softmax mass swamps the sums and the loss is ≈ 1 with
  almost no gradient (checked against Mars-Bench's own ``_generalized_dice_loss``: equal to
  1e-10). ``generalized_dice_uniform`` has no such weights;
* metrics: Mars-Bench's ``iou_mb`` (per-image IoU, background included) beside our dataset-level
  ``miou`` (:class:`~planetbench.metrics.mars.MarsSegmentationMeter`);
* the whole model stays in train mode while training, so a frozen encoder's BatchNorm statistics
  keep updating, as in Mars-Bench; nothing is cached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.encoders.base import Encoder, EncoderSpec, LoadReport
from planetbench.encoders.marsbench_models import WholeModel
from planetbench.encoders.weights import WeightsFile
from planetbench.errors import InvalidInputError
from planetbench.metrics.mars import MarsSegmentationMeter
from planetbench.protocols.images import ImageProtocol, batches, resize_image, sample_image
from planetbench.protocols.mars import flip_rotate, resolve_loss
from planetbench.tasks.spec import SampleDataset, TaskSpec

#: Generalized Dice weightings (Mars-Bench's ``weight_type``) by loss name.
DICE_WEIGHTINGS: dict[str, str] = {
    "generalized_dice": "square",
    "generalized_dice_simple": "simple",
    "generalized_dice_uniform": "uniform",
}

#: Smoothing of Mars-Bench's generalized Dice.
DICE_SMOOTH = 1e-5


def whole_training_type(encoder: WholeModel, train_encoder: bool) -> str:
    """Mars-Bench's training type of a whole model built for a protocol."""
    if encoder.scratch:
        return "scratch_training"
    return "transfer_learning" if train_encoder else "feature_extraction"


def whole_model_of(encoder: Encoder, kind: str) -> WholeModel | None:
    """``encoder`` when it is a whole-model baseline (None for an encoder).

    Raises:
        InvalidInputError: a whole model of another kind than ``kind``.
    """
    if not isinstance(encoder, WholeModel):
        return None
    if encoder.kind != kind:
        raise InvalidInputError(
            f"{encoder.spec.name!r} is a whole {encoder.kind} model; it cannot train on a {kind} "
            "task"
        )
    return encoder


def build_whole_model(encoder: WholeModel, *, n_classes: int, train_encoder: bool,
                      input_size: int | None = None) -> nn.Module:
    """The Mars-Bench model ``encoder`` names, for ``n_classes`` (segmentation: K classes with
    background; detection: C object classes), with the training type of the protocol; a
    segmenter checks ``input_size`` (detectors resize inputs themselves)."""
    from planetbench.heads.marsbench import build_marsbench_detector, recording_loads
    from planetbench.heads.marsbench_seg import build_marsbench_segmenter

    ttype = whole_training_type(encoder, train_encoder)
    # a tiny miniature (tests) has no published weights: random, as tiny encoders are
    weights = "none" if encoder.tiny and encoder.weights is None else encoder.weights
    model: nn.Module
    with recording_loads() as loaded:
        if encoder.kind == "detection":
            model = build_marsbench_detector(encoder.baseline, n_classes=n_classes,
                                             training_type=ttype, tiny=encoder.tiny,
                                             weights=weights)
        else:
            model = build_marsbench_segmenter(
                encoder.baseline, n_classes=n_classes, training_type=ttype, tiny=encoder.tiny,
                weights=weights, input_size=input_size,
                published=lambda: published_weights_file(encoder.spec))
    # what was loaded, recorded in the result as an encoder's weights are (None: random)
    encoder.load_report = None
    if loaded:
        read = loaded[0]
        encoder.load_report = LoadReport(origin=read.origin, path=read.path, url=read.url,
                                         sha256=read.sha256, n_tensors=read.n_tensors)
    return model


def published_weights_file(spec: EncoderSpec) -> WeightsFile:
    """The published encoder weights file of a whole segmenter's ``spec`` (with its URL and
    sha256): planetbench's weights cache, the Hugging Face cache (where smp and timm put it),
    else downloaded.

    Raises:
        WeightsUnavailableError: not cached and the download failed (offline); names the URL,
            the repository and where to put the file by hand.
    """
    from planetbench.encoders.terratorch import fetch_terratorch_weights

    return fetch_terratorch_weights(spec)


def whole_model_notes(encoder: WholeModel, train_encoder: bool) -> list[str]:
    """What a run of a whole model records about it."""
    ttype = whole_training_type(encoder, train_encoder)
    arch = encoder.spec.architecture
    what = arch.name if arch is not None else encoder.baseline
    notes = [f"whole model: Mars-Bench's {encoder.baseline} ({what}{', tiny' if encoder.tiny else ''}) "
             f"built as Mars-Bench builds it, training type {ttype}"]
    if ttype == "feature_extraction":
        notes.append("frozen parameters stay in train mode, as in Mars-Bench (BatchNorm "
                     "statistics update; no feature cache)")
    return notes


def generalized_dice_loss(logits: Tensor, target: Tensor, weight_type: str = "square", *,
                          smooth: float = DICE_SMOOTH, ignore_index: int | None = None) -> Tensor:
    """Mars-Bench's generalized Dice loss over a batch.

    1 − (2 Σ_c w_c I_c + s) / (Σ_c w_c U_c + s) with I_c = Σ p_c t_c and U_c = Σ (p_c + t_c) summed
    over the batch's pixels, p the softmax, t the one-hot target, and w_c = 1 / max(n_c, s)² (square),
    1 / max(n_c, s) (simple) or 1 (uniform) for n_c target pixels of class c.

    Args:
        logits: (B, K, H, W).
        target: (B, H, W) class ids.
        weight_type: ``square``, ``simple`` or ``uniform``.
        smooth: s.
        ignore_index: target value whose pixels are left out (Mars-Bench has none).
    """
    n_classes = logits.shape[1]
    probs = logits.softmax(dim=1)
    if ignore_index is not None:
        valid = target != ignore_index
        target = target.where(valid, torch.zeros_like(target))
    onehot = F.one_hot(target, n_classes).permute(0, 3, 1, 2).to(probs.dtype)
    if ignore_index is not None:
        keep = valid[:, None].to(probs.dtype)
        probs, onehot = probs * keep, onehot * keep
    counts = onehot.sum(dim=(0, 2, 3)).clamp(min=smooth)
    if weight_type == "square":
        weights = 1.0 / counts**2
    elif weight_type == "simple":
        weights = 1.0 / counts
    elif weight_type == "uniform":
        weights = torch.ones_like(counts)
    else:
        raise InvalidInputError(
            f"weight_type {weight_type!r} is not one of square, simple, uniform"
        )
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    union = (probs + onehot).sum(dim=(0, 2, 3))
    return 1.0 - (2.0 * (weights * inter).sum() + smooth) / ((weights * union).sum() + smooth)


def segmentation_loss(name: str, logits: Tensor, target: Tensor,
                      ignore_index: int | None = None) -> Tensor:
    """The loss ``name`` (see the module docstring) of logits (B, K, H, W) for target (B, H, W)."""
    ce_ignore = -100 if ignore_index is None else ignore_index
    if name == "ce":
        return F.cross_entropy(logits, target, ignore_index=ce_ignore)
    if name == "combined":
        return (F.cross_entropy(logits, target, ignore_index=ce_ignore)
                + generalized_dice_loss(logits, target, "square", ignore_index=ignore_index))
    return generalized_dice_loss(logits, target, DICE_WEIGHTINGS[name], ignore_index=ignore_index)


@dataclass
class _Split:
    """One split's images and the sample indices used."""

    samples: SampleDataset
    indices: list[int]
    generator: torch.Generator | None = None

    def __len__(self) -> int:
        return len(self.indices)


class SegmentationModelProtocol(ImageProtocol):
    """Trains a whole segmentation model (see the module docstring and
    :class:`~planetbench.protocols.images.ImageProtocol` for the arguments).

    Args:
        encoder: the whole model's registry entry (:class:`~planetbench.encoders.
            marsbench_models.WholeModel`).
        loss: ``default`` (= ``ce``) or a loss of the module docstring.
        ignore_index: target value left out of losses and metrics.
    """

    default_head: ClassVar[str] = ""
    kinds: ClassVar[tuple[str, ...]] = ("segmentation",)

    def __init__(self, encoder: Encoder, *, loss: str = "default",
                 ignore_index: int | None = None, **params: Any) -> None:
        super().__init__(encoder, **params)
        self.loss = loss
        self.ignore_index = ignore_index

    @classmethod
    def from_task(cls, spec: TaskSpec, encoder: Encoder, **params: Any
                  ) -> SegmentationModelProtocol:
        """Build with the task's classes, metric, ignore index and band statistics."""
        params.setdefault("ignore_index", spec.ignore_index)
        return cls(encoder, **cls.task_params(spec, params))

    def _check_model(self) -> None:
        if whole_model_of(self.encoder, "segmentation") is None:
            raise InvalidInputError(
                f"{self.encoder.spec.name!r} is an encoder; segmentation runs of encoders use "
                "the dense protocols (this protocol trains Mars-Bench's whole segmenters)"
            )
        if self.head or self.head_options:
            raise InvalidInputError(
                f"{self.encoder.spec.name!r} is a whole model with its own decoder: remove the "
                "head and head_options"
            )
        if self.n_classes < 2:
            raise InvalidInputError(
                f"n_classes must be ≥ 2 (background included), got {self.n_classes}"
            )
        resolve_loss(self.loss, "segmentation")
        from planetbench.heads.marsbench_seg import input_size_problem

        whole = self._model()
        problem = input_size_problem(whole.baseline, self.side(), tiny=whole.tiny)
        if problem:
            raise InvalidInputError(problem)

    def _model(self) -> WholeModel:
        whole = whole_model_of(self.encoder, "segmentation")
        assert whole is not None  # checked by _check_model
        return whole

    def build_model(self) -> nn.Module:
        """Mars-Bench's segmenter, freshly built."""
        return build_whole_model(self._model(), n_classes=self.n_classes,
                                 train_encoder=self.train_encoder, input_size=self.side())

    def model_notes(self) -> list[str]:
        """The model as built and the loss."""
        loss = resolve_loss(self.loss, "segmentation")
        return [*whole_model_notes(self._model(), self.train_encoder), f"loss {loss}"]

    def encoder_parameters(self) -> int:
        """Parameters of the segmenter's encoder."""
        self._check_fitted()
        return int(self.model_.encoder_parameters())  # type: ignore[operator]

    # -------------------------------------------------------------------------------- data

    def _prepare(self, samples: SampleDataset, indices: Sequence[int], *, training: bool) -> _Split:
        gen = torch.Generator().manual_seed(self.seed + 1) if training and self.augment else None
        return _Split(samples, list(indices), gen)

    def _batch(self, split: _Split, rows: Sequence[int]) -> tuple[Tensor, Tensor]:
        n_bands, side = self.band_stats_.n_bands, self.side()
        images, masks = [], []
        for r in rows:
            sample = split.samples[split.indices[r]]
            image = resize_image(sample_image(sample, n_bands, str(r)), side)
            mask = torch.as_tensor(np.asarray(sample["mask"]), dtype=torch.long)
            if mask.shape != (side, side):
                mask = F.interpolate(mask[None, None].float(), size=(side, side),
                                     mode="nearest")[0, 0].long()
            if split.generator is not None:
                image, moved = flip_rotate(image, split.generator, rotate=True, mask=mask)
                mask = moved if moved is not None else mask
            images.append(self.standardise_(image))
            masks.append(mask)
        x = self._encode_input(torch.stack(images).to(self.device_))
        return x, torch.stack(masks).to(self.device_)

    # ------------------------------------------------------------------------------- loops

    def _loss(self, logits: Tensor, target: Tensor) -> Tensor:
        return segmentation_loss(resolve_loss(self.loss, "segmentation"), logits, target,
                                 self.ignore_index)

    def _train_epoch(self, src: _Split, gen: torch.Generator, optimiser: torch.optim.Optimizer,
                     epoch: int) -> float:
        losses = []
        for rows in batches(len(src), self.batch_size, gen):
            x, target = self._batch(src, rows)
            losses.append(self._step(self._loss(self.model_(x), target), optimiser, epoch))
        return float(np.mean(losses))

    def _evaluate(self, src: _Split, *, with_loss: bool) -> tuple[dict[str, Any], float | None]:
        meter = MarsSegmentationMeter(self.n_classes, self.ignore_index, tuple(self.class_names))
        total, n = 0.0, 0
        with torch.no_grad():
            for rows in batches(len(src), self.batch_size, None):
                x, target = self._batch(src, rows)
                logits = self.model_(x)
                meter.update(logits.argmax(dim=1).cpu(), target.cpu())
                if with_loss:
                    total += float(self._loss(logits, target)) * len(rows)
                    n += len(rows)
        return meter.compute(), (total / n if with_loss and n else None)

    def forward_batch(self, images: Tensor) -> Any:
        """Logits of standardised images (B, C, H, W)."""
        self._check_fitted()
        return self.model_(self._encode_input(images))


__all__ = [
    "DICE_WEIGHTINGS",
    "SegmentationModelProtocol",
    "build_whole_model",
    "generalized_dice_loss",
    "published_weights_file",
    "segmentation_loss",
    "whole_model_notes",
    "whole_model_of",
    "whole_training_type",
]
