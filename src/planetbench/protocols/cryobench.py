"""The ``cryobench`` protocol preset: dense runs trained and scored as Cryo-Bench's code does.

Cryo-Bench (``github.com/Sk-2103/Cryo-Bench``, read at commit :data:`CRYOBENCH_COMMIT`) runs
PANGAEA-Bench (``github.com/VMarsocci/pangaea-bench`` at :data:`PANGAEA_COMMIT`; the training
configs, trainer, evaluator and single-temporal decoders are identical in both). This preset
reproduces, point by point (file names are PANGAEA's):

============================ ===========================================================================
point                        what the preset does (PANGAEA file)
============================ ===========================================================================
decoder                      ``upernet-pangaea`` (``SegUPerNet``, 512 wide, biased convs,
                             ``decoders/upernet.py``, ``configs/decoder/seg_upernet.yaml``) behind the
                             ``Feature2Pyramid`` neck for single-stride encoders; ``unet-pangaea``
                             (``decoders/unet.py``) for the UNet baseline ``unet-cryobench``
schedule                     AdamW (lr 1e-4, betas 0.9/0.999, weight decay 0.05), 80 epochs, batch 8
                             with the last incomplete batch dropped, MultiStepLR ×0.1 after 60 % and
                             90 % of all steps, stepped after every batch (``configs/optimizer/
                             adamw.yaml``, ``lr_scheduler/multi_step_lr.yaml``,
                             ``utils/schedulers.py``, ``task/segmentation.yaml``: ``n_epochs: 80``)
validation                   before training, then every 5 epochs and after the last
                             (``engine/trainer.py``: ``eval_interval: 5``); no early stopping
checkpoint                   the first validation with the highest mIoU (Cryo-Bench's convention,
                             strictly greater replaces) is restored and tested (``use_final_ckpt:
                             false``)
crops and windows            training: one random crop of the encoder's input size per image and
                             epoch (``RandomCropToEncoder``, no flips); validation and test: sliding
                             windows of that size at native resolution, the last window moved to the
                             border, overlapping logits averaged (``Evaluator.sliding_inference``);
                             encoders PANGAEA runs at the dataset's image size
                             (:data:`NATIVE_SIZE_ENCODERS`) train and are scored on whole images
precision and modes          fp32; the frozen encoder sits in training mode during training steps (its
                             batch-norm statistics follow the data, as PANGAEA's ``model.train()``
                             does), in evaluation mode for validation and test; batch norm keeps
                             PyTorch's running averages (momentum 0.1)
frozen or trained            pretrained encoders frozen, from-scratch baselines (no published weights:
                             ``unet-cryobench``, ``vit-b16-cryobench``) trained, as Cryo-Bench's run
                             scripts set ``finetune``; ``cryobench-finetune`` trains every encoder
metric                       ``miou_cryobench`` (IoU = TP / (union + 1e-6), every class counted, an
                             absent class scores 0) ranks the run and selects the checkpoint; our
                             ``miou`` is stored beside it
bands, fractions             the band policy ``cryobench`` and the fraction sampler ``cryobench``
data                         SICD's prepared rasters cropped once per scene, CaFFe's full images in
                             1024 px tiles (:func:`cryobench_reader_options`)
============================ ===========================================================================

Every result of this protocol says so (``protocol = "cryobench"``, its notes, its configuration).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from planetbench.encoders.base import Encoder
from planetbench.errors import InvalidInputError
from planetbench.metrics.segmentation import SegmentationMeter
from planetbench.protocols.band_stats import BandStats, Standardiser
from planetbench.protocols.dense import (
    DENSE_PROTOCOLS,
    DenseProtocol,
    EpochRecord,
    standardised_pair,
)
from planetbench.tasks.spec import SampleDataset, TaskSpec

#: The Cryo-Bench commit this preset was checked against.
CRYOBENCH_COMMIT = "41b6115ee70e09faccc78e1f1236352200e354a5"
#: The PANGAEA-Bench commit this preset was checked against.
PANGAEA_COMMIT = "f20f3d3c20b3e4a0e37cba48f7f7373aaf29f703"

#: Validation every this many epochs (``eval_interval``).
EVAL_INTERVAL = 5
#: Shares of all training steps after which the learning rate is multiplied by :data:`LR_GAMMA`.
LR_MILESTONES: tuple[float, ...] = (0.6, 0.9)
LR_GAMMA = 0.1
#: Windows per forward pass in sliding-window evaluation (``sliding_inference_batch``).
SLIDING_BATCH = 8

#: Encoders whose PANGAEA config sets ``input_size: ${dataset.img_size}``: trained on whole
#: images, scored in one window per image.
NATIVE_SIZE_ENCODERS: frozenset[str] = frozenset({"unet-cryobench", "resnet50-cryobench"})
#: Encoders Cryo-Bench trains under PANGAEA's UNet decoder (``decoder=seg_unet``).
UNET_DECODER_ENCODERS: frozenset[str] = frozenset({"unet-cryobench"})


def decoder_of(encoder: str) -> str:
    """The head Cryo-Bench trains on ``encoder``: ``unet-pangaea`` for the UNet baseline,
    ``upernet-pangaea`` for every other encoder."""
    return "unet-pangaea" if encoder in UNET_DECODER_ENCODERS else "upernet-pangaea"


def cryobench_reader_options(task: str, root: str | Path | None) -> dict[str, Any]:
    """The reader options that read ``task`` as Cryo-Bench's datasets do, for the layout in
    ``root``: SICD's prepared rasters with one 512 px crop per scene (``ai4arctic.yaml``:
    ``img_size: 512``), CaFFe's full images in Cryo-Bench's 1024 px tiles
    (:data:`~planetbench.tasks.cryo.CAFFE_CRYOBENCH_TILING`); nothing for other layouts and tasks
    (their readers' defaults; the experiment's ``data_options`` override either way)."""
    if root is None:
        return {}
    if task == "sicd":
        from planetbench.tasks.cryo.sicd import cryobench_layout

        return {"crop_size": 512} if cryobench_layout(Path(root)) else {}
    if task == "caffe":
        from planetbench.tasks.cryo import CAFFE_CRYOBENCH_TILING
        from planetbench.tasks.cryo.caffe import caffe_layout

        full_images = caffe_layout(Path(root)) in ("cryobench", "pangaea-raw")
        return dict(CAFFE_CRYOBENCH_TILING) if full_images else {}
    return {}


def window_starts(length: int, window: int) -> list[int]:
    """Start offsets of PANGAEA's sliding windows along one side.

    ``ceil(length / window)`` windows, starts ``round(linspace(0, length - window, n))``: the
    first at 0, the last ending at the border, the others evenly between (they may overlap).

    Example:
        >>> window_starts(512, 224), window_starts(224, 224), window_starts(1000, 224)
        ([0, 144, 288], [0], [0, 194, 388, 582, 776])

    Raises:
        InvalidInputError: ``length`` is smaller than ``window``.
    """
    if length < window:
        raise InvalidInputError(
            f"an image side of {length} px is smaller than the {window} px window; Cryo-Bench's "
            "sliding-window evaluation needs images at least as large as the encoder's input "
            "size (give a smaller --input-size, or tile the data larger with data_options)"
        )
    n = math.ceil(length / window)
    return [int(v) for v in torch.linspace(0, length - window, n).round().long().tolist()]


def multistep_milestones(total_steps: int) -> list[int]:
    """The steps after which the learning rate drops: ``int(total_steps · m)`` for 0.6 and 0.9.

    Example:
        >>> multistep_milestones(800)
        [480, 720]
    """
    return [int(total_steps * m) for m in LR_MILESTONES]


def validation_epochs(epochs: int) -> list[int]:
    """Epochs (counted as epochs trained) after which the model is validated: 0, every
    :data:`EVAL_INTERVAL`-th, and the last.

    Example:
        >>> validation_epochs(12)
        [0, 5, 10, 12]
    """
    return sorted({0, *range(EVAL_INTERVAL, epochs + 1, EVAL_INTERVAL), epochs})


# ------------------------------------------------------------------------------------ data


class CropDataset(Dataset[tuple[Tensor, Tensor]]):
    """Standardised training images, each cropped to a random ``window`` × ``window`` square.

    The crop of image i in epoch e is drawn from a generator seeded with ``(seed, e, i)``, so it
    does not depend on batching or data-loader workers.

    Args:
        samples: the training split.
        indices: which items.
        stats: the band statistics.
        window: crop side in pixels.
        seed: seed of the crop positions.
    """

    def __init__(
        self, samples: SampleDataset, indices: Sequence[int], stats: BandStats, window: int,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.indices = list(indices)
        self.standardise = Standardiser(stats)
        self.n_bands = stats.n_bands
        self.window = window
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops of ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        image, mask = standardised_pair(self.samples, self.indices[i], self.standardise,
                                        self.n_bands)
        h, w = image.shape[-2:]
        size = self.window
        if h < size or w < size:
            raise InvalidInputError(
                f"training image {self.indices[i]} is {h}×{w} px, smaller than the {size} px "
                "crop (the encoder's input size); Cryo-Bench's RandomCropToEncoder refuses it "
                "too: give a smaller --input-size"
            )
        rng = np.random.default_rng((self.seed, self.epoch, self.indices[i]))
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
        return (image[:, top:top + size, left:left + size],
                mask[top:top + size, left:left + size])


class ImageDataset(Dataset[tuple[Tensor, Tensor]]):
    """Standardised whole images (C, H, W) and masks (H, W) of a split, as read."""

    def __init__(self, samples: SampleDataset, stats: BandStats) -> None:
        self.samples = samples
        self.standardise = Standardiser(stats)
        self.n_bands = stats.n_bands

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return standardised_pair(self.samples, i, self.standardise, self.n_bands)


# ------------------------------------------------------------------------------ protocol


@dataclass
class _Best:
    """The best validation so far (strictly greater replaces, as PANGAEA's ``operator.gt``)."""

    score: float = -math.inf
    epoch: int = 0
    state: dict[str, Tensor] = field(default_factory=dict)


@dataclass(frozen=True)
class Validation:
    """One validation pass.

    Attributes:
        epoch: epochs trained before it (0: the untrained model).
        miou_cryobench: validation mIoU in Cryo-Bench's convention (selects the checkpoint).
        miou: validation mIoU in ours (None when undefined).
    """

    epoch: int
    miou_cryobench: float
    miou: float | None


class CryoBenchProtocol(DenseProtocol):
    """Cryo-Bench's training and evaluation (see the module docstring for every point).

    Takes the :class:`~planetbench.protocols.dense.DenseProtocol` arguments; ``input_size`` is
    the window (None: the encoder's input size, or whole images for
    :data:`NATIVE_SIZE_ENCODERS`), ``patience`` must be None (no early stopping), and ``head``
    must be Cryo-Bench's decoder for the encoder (:func:`decoder_of`), without options.

    Attributes (after ``fit``, beside :class:`DenseProtocol`'s):
        window_: the crop and window side in pixels.
        validations_: the :class:`Validation` passes, in order.
        total_steps_: optimiser steps of the whole schedule.
    """

    name: ClassVar[str] = "cryobench"
    default_settings: ClassVar[dict[str, Any]] = {
        "input_size": None, "epochs": 80, "patience": None, "head": "upernet-pangaea",
        "band_policy": "cryobench",
    }
    fraction_sampler: ClassVar[str] = "cryobench"
    score_metric: ClassVar[str] = "miou_cryobench"
    #: Train pretrained encoders too (PANGAEA's ``finetune=true``).
    finetune_pretrained: ClassVar[bool] = False

    def __init__(self, encoder: Encoder, **params: Any) -> None:
        params.setdefault("epochs", self.default_settings["epochs"])
        params.setdefault("patience", None)
        params.setdefault("input_size", None)
        params.setdefault("head", decoder_of(encoder.spec.name))
        params.setdefault("amp", False)  # PANGAEA's ``precision: fp32``
        super().__init__(encoder, **params)

    # ------------------------------------------------------------------ settings

    @classmethod
    def run_defaults(cls, encoder: str) -> dict[str, Any]:
        """Cryo-Bench's settings for ``encoder`` (its decoder depends on the encoder)."""
        return {**cls.default_settings, "head": decoder_of(encoder)}

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[str]:
        """Settings that would make the run something other than Cryo-Bench's."""
        encoder, problems = str(settings.get("encoder", "")), []
        own = decoder_of(encoder)
        fix = f"leave it unset (protocol {cls.name!r} sets it) or use protocol 'frozen'/'finetune'"
        if settings.get("head") not in (None, own):
            problems.append(
                f"head={settings['head']!r}: protocol {cls.name!r} trains Cryo-Bench's decoder "
                f"{own!r} on encoder {encoder!r}; {fix}"
            )
        if settings.get("head_options"):
            problems.append(
                f"head_options={settings['head_options']!r}: protocol {cls.name!r} builds "
                f"Cryo-Bench's decoder as published; remove head_options"
            )
        if settings.get("band_policy") not in (None, "cryobench"):
            problems.append(
                f"band_policy={settings['band_policy']!r}: protocol {cls.name!r} feeds bands as "
                f"Cryo-Bench does (band policy 'cryobench'); {fix}"
            )
        if settings.get("patience") is not None:
            problems.append(
                f"patience={settings['patience']!r}: protocol {cls.name!r} has no early "
                "stopping (it validates every 5 epochs and tests the best checkpoint); remove "
                "patience"
            )
        if settings.get("augment"):
            problems.append(
                f"augment=true: protocol {cls.name!r} trains on random crops without flips, as "
                "Cryo-Bench; remove augment"
            )
        if settings.get("dice_weight"):
            problems.append(
                f"dice_weight={settings['dice_weight']!r}: protocol {cls.name!r} trains with "
                "cross-entropy only; remove dice_weight"
            )
        return problems

    @classmethod
    def reader_options(
        cls, task: TaskSpec, input_size: int | None, root: str | None = None
    ) -> dict[str, Any]:
        """Cryo-Bench's reading of the data found in ``root`` (:func:`cryobench_reader_options`);
        never tiles at the window size: the windows slide over the images as read."""
        return cryobench_reader_options(task.name, root)

    def _hyper_parameter_checks(self) -> list[tuple[str, Any, bool, str]]:
        own = decoder_of(self.encoder.spec.name)
        return [
            ("n_classes", self.n_classes, self.n_classes >= 2, "an int ≥ 2"),
            ("lr", self.lr, self.lr > 0, "a positive float"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "≥ 0"),
            ("batch_size", self.batch_size, self.batch_size >= 2, "an int ≥ 2 (batch norm)"),
            ("epochs", self.epochs, self.epochs >= 1, "an int ≥ 1"),
            ("patience", self.patience, self.patience is None,
             "None (no early stopping in this protocol)"),
            ("input_size", self.input_size, self.input_size is None or self.input_size >= 8,
             "None (the encoder's input size) or an int ≥ 8"),
            ("head", self.head, self.head == own, f"{own!r} (Cryo-Bench's decoder)"),
            ("head_options", self.head_options, not self.head_options, "empty"),
            ("dice_weight", self.dice_weight, self.dice_weight == 0, "0 (cross-entropy only)"),
            ("augment", self.augment, not self.augment, "False (crops only)"),
        ]

    def _check_input_size(self, coarsest: int) -> None:
        """Any window: PANGAEA's decoders pad or interpolate to odd sizes."""

    # ------------------------------------------------------------------ what differs

    def trains(self) -> bool:
        """Pretrained encoders are frozen, from-scratch ones (no published weights) trained."""
        spec = self.encoder.spec
        return self.finetune_pretrained or (spec.weights is None and not spec.baseline)

    def measure_size(self) -> int:
        """The window: efficiency is measured at the encoder's input size, as Cryo-Bench."""
        return int(self.window_)

    def _set_modes(self, *, training: bool) -> None:
        if hasattr(self, "head_"):
            self.head_.train(training)
        self.encoder.train(training)  # PANGAEA's model.train() reaches the frozen encoder
        for p in self.encoder.parameters():
            p.requires_grad_(self.trains())

    def _training_indices(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None
    ) -> list[int]:
        idx = super()._training_indices(train, val, train_indices)
        if len(idx) < self.batch_size:
            raise InvalidInputError(
                f"the training set has {len(idx)} image(s), fewer than one batch of "
                f"{self.batch_size}; Cryo-Bench drops incomplete batches, so nothing would "
                "train: lower --batch-size"
            )
        return idx

    def _window(self, train: SampleDataset, idx: Sequence[int]) -> int:
        """The crop/window side: the given input size, the encoder's, or (native-size
        encoders) the first training image's shorter side.

        Raises:
            InvalidInputError: the first training image is smaller than the window.
        """
        side = int(min(np.asarray(train[idx[0]]["image"]).shape[-2:]))
        if self.input_size is not None:
            window = int(self.input_size)
        elif self.encoder.spec.name in NATIVE_SIZE_ENCODERS:
            window = side
        else:
            window = int(self.encoder.spec.input_size)
        if side < window:
            raise InvalidInputError(
                f"the training images are {side} px on their shorter side, smaller than the "
                f"{window} px crop (the encoder's input size); Cryo-Bench's RandomCropToEncoder "
                "refuses them too: give a smaller --input-size"
            )
        return window

    # ------------------------------------------------------------------ fit

    def fit(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None = None
    ) -> CryoBenchProtocol:
        """Train as Cryo-Bench (see the module docstring) and keep the best validated weights.

        Args:
            train: training split.
            val: validation split (selects the checkpoint).
            train_indices: subset of ``train`` (a label fraction); all by default.

        Returns:
            self, holding the best checkpoint.
        """
        t_fit = time.perf_counter()
        idx = self._begin_fit(train, val, train_indices)
        self.window_ = self._window(train, idx)
        crops = CropDataset(train, idx, self.band_stats_, self.window_, seed=self.seed)
        images = ImageDataset(val, self.band_stats_)
        with torch.random.fork_rng(devices=[self.device_] if self.device_.type == "cuda" else []):
            torch.manual_seed(self.seed)
            self.head_ = self._build_head()
            self._set_modes(training=True)
            self._train_schedule(crops, images)
        self._set_modes(training=False)
        self.timings_["fit_s"] = time.perf_counter() - t_fit
        return self

    def _train_schedule(self, crops: CropDataset, val: ImageDataset) -> None:
        """AdamW with MultiStepLR per step; validation before training, every 5 epochs and
        after the last; the best validated weights restored."""
        params = [p for p in self._trainable().parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        n_batches = len(crops) // self.batch_size
        self.total_steps_ = n_batches * self.epochs
        scheduler = torch.optim.lr_scheduler.MultiStepLR(
            optimiser, multistep_milestones(self.total_steps_), gamma=LR_GAMMA
        )
        gen = torch.Generator().manual_seed(self.seed)
        checkpoints = set(validation_epochs(self.epochs))
        best = _Best()
        self.history_: list[EpochRecord] = []
        self.validations_: list[Validation] = []
        self._validate(0, val, best)
        for epoch in range(1, self.epochs + 1):
            t_ep = time.perf_counter()
            self._set_modes(training=True)
            crops.set_epoch(epoch)
            order = torch.randperm(len(crops), generator=gen)[: n_batches * self.batch_size]
            chunks = order.view(n_batches, self.batch_size).tolist()
            losses = [self._step(images, masks, optimiser, scheduler, epoch)
                      for images, masks in self._loader_of(crops, chunks)]
            train_seconds = time.perf_counter() - t_ep
            val_miou = self._validate(epoch, val, best) if epoch in checkpoints else None
            self._record(EpochRecord(epoch, float(np.mean(losses)), val_miou,
                                     time.perf_counter() - t_ep, train_seconds))
        self._restore(best)
        self.best_epoch_ = best.epoch
        self.best_val_miou_ = best.score

    def _step(
        self, images: Tensor, masks: Tensor, optimiser: torch.optim.Optimizer,
        scheduler: torch.optim.lr_scheduler.LRScheduler, epoch: int,
    ) -> float:
        """One optimiser step on a batch of crops, then one scheduler step."""
        images = images.to(self.device_, non_blocking=True)
        masks = masks.to(self.device_, non_blocking=True)
        if self.trains():
            feats = self._encode(images)
        else:
            with torch.no_grad():
                feats = self._encode(images)
        logits = self.head_(feats, tuple(masks.shape[-2:]))
        loss = self._criterion(logits, masks)
        if not torch.isfinite(loss):
            raise InvalidInputError(
                f"training loss became {loss.item()} at epoch {epoch} with lr={self.lr}; "
                "lower the learning rate"
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        scheduler.step()
        return float(loss.detach())

    def _checkpoint_state(self) -> dict[str, Tensor]:
        """What a checkpoint keeps: the head, and the encoder's weights when trained or only its
        buffers (batch-norm statistics move in training mode) when frozen."""
        state = {f"head.{k}": v for k, v in self.head_.state_dict().items()}
        encoder = (self.encoder.state_dict() if self.trains()
                   else dict(self.encoder.named_buffers()))
        state.update({f"encoder.{k}": v for k, v in encoder.items()})
        return {k: v.detach().to("cpu", copy=True) for k, v in state.items()}

    def _restore(self, best: _Best) -> None:
        head = {k[5:]: v for k, v in best.state.items() if k.startswith("head.")}
        encoder = {k[8:]: v for k, v in best.state.items() if k.startswith("encoder.")}
        self.head_.load_state_dict(head)
        self.encoder.load_state_dict(encoder, strict=self.trains())

    def _validate(self, epoch: int, val: ImageDataset, best: _Best) -> float:
        """Validate; keep the weights when Cryo-Bench's mIoU beats the best (strictly)."""
        metrics = self._evaluate_images(val)
        score = float(metrics["miou_cryobench"])
        self.validations_.append(Validation(epoch, score, metrics["miou"]))
        if score > best.score:
            best.score, best.epoch, best.state = score, epoch, self._checkpoint_state()
        return score

    # ------------------------------------------------------------------ evaluation

    def _loader_of(
        self, ds: Dataset[tuple[Tensor, Tensor]], batches: list[list[int]]
    ) -> DataLoader[Any]:
        return DataLoader(
            ds, batch_sampler=batches, num_workers=self.num_workers,
            pin_memory=self.device_.type == "cuda",
            generator=torch.Generator().manual_seed(self.seed),
        )

    def predict_image(self, image: Tensor) -> Tensor:
        """Logits (K, H, W) of one standardised image (C, H, W) on :attr:`device_`, by sliding
        windows of :attr:`window_` px (overlaps averaged), as PANGAEA's ``sliding_inference``."""
        size = self.window_
        h, w = image.shape[-2:]
        rows, cols = window_starts(h, size), window_starts(w, size)
        boxes = [(r, c) for r in rows for c in cols]
        total = torch.zeros(self.n_classes, h, w, device=image.device)
        count = torch.zeros(h, w, device=image.device)
        for start in range(0, len(boxes), SLIDING_BATCH):
            part = boxes[start:start + SLIDING_BATCH]
            crops = torch.stack([image[:, r:r + size, c:c + size] for r, c in part])
            logits = self.head_(self._encode(crops), (size, size)).float()
            for (r, c), out in zip(part, logits, strict=True):
                total[:, r:r + size, c:c + size] += out
                count[r:r + size, c:c + size] += 1
        return total / count

    def _evaluate_images(self, ds: ImageDataset) -> dict[str, Any]:
        """Both metric conventions over whole images, each predicted by sliding windows."""
        meter = SegmentationMeter(self.n_classes, self.ignore_index, tuple(self.class_names),
                                  cryobench=True)
        head_was, enc_was = self.head_.training, self.encoder.training
        self.head_.eval()
        self.encoder.eval()
        with torch.no_grad():
            for image, mask in self._loader_of(ds, [[i] for i in range(len(ds))]):
                logits = self.predict_image(image[0].to(self.device_))
                meter.update(logits.argmax(dim=0)[None], mask.to(self.device_))
        self.head_.train(head_was)
        self.encoder.train(enc_was)
        return meter.compute()

    def score(self, test: SampleDataset) -> dict[str, Any]:
        """Metrics of the best checkpoint on ``test`` by sliding windows at native resolution:
        ``miou_cryobench`` (the run's score), ``f1_macro_cryobench``, their per-class values,
        and ours (``miou``, ``f1_macro``, ``pixel_accuracy`` …).

        Raises:
            InvalidInputError: when called before :meth:`fit`.
        """
        self._check_fitted()
        t0 = time.perf_counter()
        self._set_modes(training=False)
        out = self._evaluate_images(ImageDataset(test, self.band_stats_))
        self.timings_["test_s"] = time.perf_counter() - t0
        return out

    # ------------------------------------------------------------------ records

    def fit_record(self) -> dict[str, Any]:
        """What ``fit`` found: ``val_miou`` (best validation mIoU in Cryo-Bench's convention,
        the one that chose the checkpoint; ``val_metric`` names it), ``best_epoch``,
        ``epochs_run``, ``total_steps``, ``window``, ``encoder_trained``, ``validations`` and
        ``history``."""
        record = super().fit_record()
        record.update(
            val_metric="miou_cryobench",
            total_steps=self.total_steps_,
            window=self.window_,
            encoder_trained=self.trains(),
            validations=[vars(v) for v in self.validations_],
        )
        return record

    def notes(self) -> list[str]:
        """What the run did, in Cryo-Bench's terms."""
        self._check_fitted()
        size = (f"{self.window_} px (the whole image: PANGAEA runs this encoder at the dataset's "
                "image size)" if self.encoder.spec.name in NATIVE_SIZE_ENCODERS
                and self.input_size is None else f"{self.window_} px")
        if self.trains():
            mode = "encoder trained"
        else:
            mode = ("encoder frozen, in training mode during training steps as PANGAEA leaves it "
                    "(its batch-norm statistics follow the data)")
        return [
            *super().notes(),
            f"protocol {self.name}: Cryo-Bench/PANGAEA-Bench training (Cryo-Bench "
            f"{CRYOBENCH_COMMIT[:7]}, PANGAEA {PANGAEA_COMMIT[:7]}): decoder {self.head}, "
            f"{self.epochs} epochs, AdamW, MultiStepLR ×{LR_GAMMA} after steps "
            f"{multistep_milestones(self.total_steps_)} of {self.total_steps_}, validation at "
            f"epochs {[v.epoch for v in self.validations_]}, best (epoch {self.best_epoch_}) "
            "tested, no early stopping",
            f"training crops and evaluation windows of {size}; val/test scored at native "
            "resolution by sliding windows",
            mode,
            "score miou_cryobench: IoU = TP / (TP + FP + FN + 1e-6) averaged over every class "
            "(an absent class scores 0); miou (absent classes excluded) stored beside it",
        ]


class CryoBenchFinetuneProtocol(CryoBenchProtocol):
    """:class:`CryoBenchProtocol` with every encoder trained (PANGAEA's ``finetune=true``)."""

    name: ClassVar[str] = "cryobench-finetune"
    finetune_pretrained: ClassVar[bool] = True


DENSE_PROTOCOLS.register(CryoBenchProtocol.name, CryoBenchProtocol)
DENSE_PROTOCOLS.register(CryoBenchFinetuneProtocol.name, CryoBenchFinetuneProtocol)


__all__ = [
    "CRYOBENCH_COMMIT",
    "EVAL_INTERVAL",
    "LR_GAMMA",
    "LR_MILESTONES",
    "NATIVE_SIZE_ENCODERS",
    "PANGAEA_COMMIT",
    "SLIDING_BATCH",
    "UNET_DECODER_ENCODERS",
    "CropDataset",
    "CryoBenchFinetuneProtocol",
    "CryoBenchProtocol",
    "ImageDataset",
    "Validation",
    "cryobench_reader_options",
    "decoder_of",
    "multistep_milestones",
    "validation_epochs",
    "window_starts",
]
