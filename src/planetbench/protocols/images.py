"""Shared machinery of the image-level protocols (classification and detection).

An image protocol follows scikit-learn like the dense ones: hyper-parameters in ``__init__``,
``fit(train, val, train_indices) -> self``, ``score(test) -> dict``. One fit:

1. standardisation: ImageNet's statistics (Mars-Bench's transform) or the task's band statistics
   (published, else computed over the training images), see :mod:`planetbench.protocols.mars`;
2. the model (head, or detector around the encoder) built with the run's seed;
3. epochs of training with the run's optimiser and scheduler (stepped per epoch), each followed
   by a validation pass giving the validation score (the task's metric) and loss;
4. the best checkpoint kept: the highest validation score (``monitor="score"``, planetbench's
   default) or the lowest validation loss (``monitor="loss"``, Mars-Bench's ``val/loss``);
   training stops after ``patience`` epochs without improvement (for the loss, an improvement
   must exceed ``min_delta``; Mars-Bench uses 0.01), and the best checkpoint's weights are
   restored before testing. Mars-Bench itself tests the *final* in-memory weights
   (``test_after_training`` in ``marsbench/training/execution.py``), not its best checkpoint:
   a documented difference, recorded with every run (``tested_checkpoint``).

Images are resized (bilinear) to ``input_size`` (default: the encoder's), augmented when asked
(training images only), standardised, then mapped to the encoder's bands by ``input_transform``.
Everything random (head initialisation, shuffling, augmentation, dropout, detector sampling)
draws from the run's ``seed``: the same seed gives the same scores.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.encoders.base import Encoder, default_device
from planetbench.errors import InvalidInputError
from planetbench.protocols.band_stats import BandStats, Standardiser, band_statistics, images_of
from planetbench.protocols.mars import (
    MONITORS,
    OPTIMIZERS,
    SCHEDULERS,
    EpochScheduler,
    imagenet_band_stats,
)
from planetbench.registry import Registry
from planetbench.tasks.spec import SampleDataset, TaskSpec


@dataclass
class ImageEpochRecord:
    """One training epoch of an image protocol.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: mean training loss over the epoch's batches.
        val_loss: validation loss (None when not computed: detection without loss monitoring).
        val_score: validation value of ``metric`` (None when undefined).
        metric: the validation metric's name.
        lr: learning rate during the epoch.
        seconds: wall-clock seconds of the epoch (training + validation; epoch 1 includes
            preparing the data, e.g. building the frozen feature cache).
        train_seconds: seconds of the training steps alone.
    """

    epoch: int
    train_loss: float
    val_loss: float | None
    val_score: float | None
    metric: str
    lr: float
    seconds: float
    train_seconds: float

    def describe(self) -> str:
        """``epoch 3 val f1 0.812`` (for progress displays)."""
        value = "n/a" if self.val_score is None else f"{self.val_score:.3f}"
        return f"epoch {self.epoch} val {self.metric} {value}"


@dataclass
class BestCheckpoint:
    """The best epoch so far by the monitored quantity, with a CPU copy of the trainable weights.

    Args:
        monitor: ``score`` (higher is better; an undefined score counts as −∞) or ``loss``
            (lower is better).
        min_delta: improvement the early-stopping counter needs (the checkpoint itself follows
            any improvement, as Lightning's ``ModelCheckpoint`` and ``EarlyStopping`` do).
    """

    monitor: str
    min_delta: float = 0.0
    value: float | None = None
    stop_value: float | None = None
    epoch: int = 0
    since: int = 0
    state: dict[str, Tensor] | None = field(default=None, repr=False)

    def _better(self, new: float, old: float | None, delta: float) -> bool:
        if old is None:
            return True
        return new > old + delta if self.monitor == "score" else new < old - delta

    def update(self, epoch: int, score: float | None, loss: float | None,
               module: nn.Module) -> None:
        """Record an epoch; keep ``module``'s weights when it is the best so far."""
        value = score if self.monitor == "score" else loss
        if value is None or not np.isfinite(value):
            self.since += 1
            if self.state is None:  # keep the first epoch's weights whatever happens
                self._keep(epoch, None, module)
            return
        if self._better(value, self.value, 0.0):
            self._keep(epoch, value, module)
        if self._better(value, self.stop_value, self.min_delta):
            self.stop_value, self.since = value, 0
        else:
            self.since += 1

    def _keep(self, epoch: int, value: float | None, module: nn.Module) -> None:
        self.value, self.epoch = value, epoch
        self.state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}


def resize_image(image: Tensor, size: int) -> Tensor:
    """An image (C, H, W) resized bilinearly to (C, size, size) (unchanged when it is)."""
    if image.shape[-2:] == (size, size):
        return image
    return F.interpolate(image[None], size=(size, size), mode="bilinear",
                         align_corners=False)[0]


def sample_image(sample: dict[str, Any], n_bands: int, where: str) -> Tensor:
    """The ``image`` of a sample as float32 (C, H, W), checked against ``n_bands``."""
    image = torch.as_tensor(np.asarray(sample["image"], dtype=np.float32))
    if image.ndim != 3 or image.shape[0] != n_bands:
        raise InvalidInputError(
            f"sample {sample.get('id', where)!r}: image of shape {tuple(image.shape)} does not "
            f"match ({n_bands}, H, W)"
        )
    return image


@dataclass(frozen=True)
class ImageProtocolMode:
    """How a protocol treats the encoder of an image-level run.

    Attributes:
        train_encoder: the encoder trains with the head.
        random_encoder: the encoder starts from random weights (built with ``weights="none"``).
    """

    train_encoder: bool
    random_encoder: bool = False


#: Protocol name → how image-level runs (classification, detection) treat the encoder:
#: ``frozen`` (Mars-Bench's ``feature_extraction``), ``finetune`` (``transfer_learning``),
#: ``scratch`` (``scratch_training``).
IMAGE_PROTOCOL_MODES: Registry[ImageProtocolMode] = Registry("image protocol")
IMAGE_PROTOCOL_MODES.register("frozen", ImageProtocolMode(train_encoder=False))
IMAGE_PROTOCOL_MODES.register("finetune", ImageProtocolMode(train_encoder=True))
IMAGE_PROTOCOL_MODES.register("scratch", ImageProtocolMode(train_encoder=True,
                                                           random_encoder=True))


class ImageProtocol:
    """Base of :class:`~planetbench.protocols.classification.ClassificationProtocol` and
    :class:`~planetbench.protocols.detection.DetectionProtocol` (see the module docstring).

    Args:
        encoder: the encoder (built by the caller: pretrained, random for ``scratch``).
        n_classes: classes (2 for binary), labels (multi-label) or object classes (detection).
        class_names: names of the classes, for per-class metrics.
        metric: the validation metric monitored with ``monitor="score"`` (the task's metric).
        train_encoder: train the encoder too (``finetune``, ``scratch``); False freezes it.
        head: head id (classification: ``linear``, ``mlp``; detection: ``faster-rcnn``,
            ``retinanet``, ``fcos``).
        head_options: options of the head factory.
        lr: learning rate.
        weight_decay: weight decay.
        batch_size: images per step.
        epochs: maximum epochs (0: no training; the initialised model is scored, a reference
            for what training adds).
        patience: epochs without improvement before stopping.
        input_size: side (px) images are resized to (default: the encoder's input size).
        normalisation: ``imagenet`` (Mars-Bench) or ``band-stats`` (planetbench).
        band_mean: the task's published per-band mean (``band-stats``; computed when None).
        band_std: the task's published per-band std.
        augment: Mars-Bench's training augmentation (disables the frozen feature cache).
        optimizer: ``adam``, ``adamw`` or ``sgd``.
        scheduler: ``none``, ``cosine``, ``step`` or ``plateau``.
        monitor: ``score`` or ``loss`` (see the module docstring).
        min_delta: early-stopping improvement threshold.
        input_transform: applied to each standardised batch (B, C, H, W) before the encoder
            (band alignment).
        seed: seed of everything random in the fit.
        device: torch device (default CUDA when present, else CPU).
        on_epoch: called with each :class:`ImageEpochRecord` (progress, pruning).

    Attributes (after ``fit``):
        model_: the trained module (best checkpoint).
        device_: the device used.
        band_stats_: the statistics images were standardised with.
        history_: the :class:`ImageEpochRecord` of every epoch.
        best_epoch_: the epoch of the best checkpoint.
        best_val_score_: its validation score; ``best_val_loss_`` its validation loss.
        timings_: seconds per phase; ``notes_``: lines recorded with the run.
    """

    #: The head used when none is named.
    default_head: ClassVar[str] = ""
    #: Task kinds the protocol takes.
    kinds: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        encoder: Encoder,
        *,
        n_classes: int,
        class_names: Sequence[str] = (),
        metric: str,
        train_encoder: bool = False,
        head: str | None = None,
        head_options: dict[str, Any] | None = None,
        lr: float = 1e-4,
        weight_decay: float = 0.05,
        batch_size: int = 32,
        epochs: int = 50,
        patience: int = 10,
        input_size: int | None = None,
        normalisation: str = "band-stats",
        band_mean: Sequence[float] | None = None,
        band_std: Sequence[float] | None = None,
        augment: bool = False,
        optimizer: str = "adamw",
        scheduler: str = "none",
        monitor: str = "score",
        min_delta: float = 0.0,
        input_transform: Callable[[Tensor], Tensor] | None = None,
        seed: int = 0,
        device: torch.device | str | None = None,
        on_epoch: Callable[[ImageEpochRecord], None] | None = None,
    ) -> None:
        self.encoder = encoder
        self.n_classes = n_classes
        self.class_names = class_names
        self.metric = metric
        self.train_encoder = train_encoder
        self.head = head
        self.head_options = head_options
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.input_size = input_size
        self.normalisation = normalisation
        self.band_mean = band_mean
        self.band_std = band_std
        self.augment = augment
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.monitor = monitor
        self.min_delta = min_delta
        self.input_transform = input_transform
        self.seed = seed
        self.device = device
        self.on_epoch = on_epoch

    @classmethod
    def from_task(cls, spec: TaskSpec, encoder: Encoder, **params: Any) -> ImageProtocol:
        """Build with the task's classes, metric and published band statistics."""
        raise NotImplementedError

    @classmethod
    def task_params(cls, spec: TaskSpec, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` completed with the task's classes, metric and published band statistics
        (for :meth:`from_task`).

        Raises:
            InvalidInputError: the task's kind is not one this protocol takes.
        """
        if spec.kind not in cls.kinds:
            raise InvalidInputError(
                f"task {spec.name!r} is a {spec.kind} task; {cls.__name__} takes "
                f"{', '.join(cls.kinds)} tasks"
            )
        defaults = {"n_classes": spec.n_classes, "class_names": spec.classes,
                    "metric": spec.metric, "band_mean": spec.band_mean,
                    "band_std": spec.band_std}
        return {**defaults, **params}

    # --------------------------------------------------------------------------- validation

    def check(self) -> None:
        """Raise unless the hyper-parameters are valid (``fit`` calls it; the preflight too).

        Raises:
            InvalidInputError: naming the parameter, its value and what is allowed.
            UnknownNameError: an unregistered optimiser or scheduler.
        """
        checks: list[tuple[str, Any, bool, str]] = [
            ("lr", self.lr, self.lr > 0, "a positive float"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "≥ 0"),
            ("batch_size", self.batch_size, self.batch_size >= 2, "an int ≥ 2 (batch norm)"),
            ("epochs", self.epochs, self.epochs >= 0,
             "an int ≥ 0 (0: no training, the initialised model is scored)"),
            ("patience", self.patience, self.patience >= 1, "an int ≥ 1"),
            ("input_size", self.input_size, self.input_size is None or self.input_size >= 8,
             "an int ≥ 8 or None (the encoder's input size)"),
            ("normalisation", self.normalisation, self.normalisation in ("imagenet", "band-stats"),
             "'imagenet' or 'band-stats'"),
            ("monitor", self.monitor, self.monitor in MONITORS, f"one of {', '.join(MONITORS)}"),
            ("min_delta", self.min_delta, self.min_delta >= 0, "≥ 0"),
        ]
        for name, value, ok, allowed in checks:
            if not ok:
                raise InvalidInputError(f"{type(self).__name__}: {name}={value!r} must be {allowed}")
        OPTIMIZERS.get(self.optimizer)
        SCHEDULERS.get(self.scheduler)
        self._check_model()

    def _check_model(self) -> None:
        """Kind-specific checks (head name and options, class counts)."""

    def side(self) -> int:
        """The side (px) images are resized to."""
        return int(self.input_size or self.encoder.spec.input_size)

    # ----------------------------------------------------------------------------- fitting

    def fit(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None = None
    ) -> ImageProtocol:
        """Train with early stopping on ``val`` and keep the best checkpoint.

        Args:
            train: training split.
            val: validation split (selects the best epoch; never the test split).
            train_indices: the images of ``train`` to use (a label budget); all by default.

        Returns:
            self.
        """
        self.check()
        t_fit = time.perf_counter()
        self.device_ = torch.device(self.device) if self.device is not None else default_device()
        self.timings_: dict[str, float] = {}
        self.notes_: list[str] = []
        idx = list(range(len(train))) if train_indices is None else list(train_indices)
        if not idx:
            raise InvalidInputError("the training set is empty; image protocols need images")
        if len(val) == 0:
            raise InvalidInputError("the validation split is empty; early stopping needs it")
        self.band_stats_ = self._band_stats(train, idx)
        self.standardise_ = Standardiser(self.band_stats_)
        devices = [self.device_] if self.device_.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            self.encoder.to(self.device_)
            self.model_ = self.build_model().to(self.device_)
            self.notes_.extend(self.model_notes())
            t0 = time.perf_counter()
            train_src = self._prepare(train, idx, training=True)
            val_src = self._prepare(val, range(len(val)), training=False)
            self.timings_["prepare_s"] = time.perf_counter() - t0
            self._train(train_src, val_src)
        self.model_.eval()
        self.timings_["fit_s"] = time.perf_counter() - t_fit
        return self

    def _band_stats(self, train: SampleDataset, idx: Sequence[int]) -> BandStats:
        t0 = time.perf_counter()
        n_bands = int(np.asarray(train[idx[0]]["image"]).shape[0])
        if self.normalisation == "imagenet":
            stats = imagenet_band_stats(n_bands)
        elif self.band_mean is not None and self.band_std is not None:
            stats = BandStats.from_moments(self.band_mean, self.band_std, source="task")
            stats.check_bands(n_bands)
        else:
            stats = band_statistics(images_of(train, idx), source="train")
        self.timings_["band_stats_s"] = time.perf_counter() - t0
        return stats

    def trainable(self) -> nn.Module:
        """The module whose parameters train (head or detector; the encoder only when it
        trains)."""
        return self.model_

    def _train(self, train_src: Any, val_src: Any) -> None:
        params = [p for p in self.trainable().parameters() if p.requires_grad]
        if not params:
            raise InvalidInputError(f"{type(self).__name__}: the model has nothing to train")
        optimiser = OPTIMIZERS.get(self.optimizer)(params, self.lr, self.weight_decay)
        schedule: EpochScheduler = SCHEDULERS.get(self.scheduler)(optimiser)
        gen = torch.Generator().manual_seed(self.seed)
        best = BestCheckpoint(self.monitor, self.min_delta)
        self.history_: list[ImageEpochRecord] = []
        for epoch in range(1, self.epochs + 1):
            t_ep = time.perf_counter()
            lr = float(optimiser.param_groups[0]["lr"])
            self._set_train(True)
            loss = self._train_epoch(train_src, gen, optimiser, epoch)
            train_seconds = time.perf_counter() - t_ep
            self._set_train(False)
            need_loss = self.monitor == "loss" or schedule.needs_val_loss
            metrics, val_loss = self._evaluate(val_src, with_loss=need_loss)
            val_score = metrics.get(self.metric)
            schedule.step(val_loss)
            best.update(epoch, val_score, val_loss, self.trainable())
            seconds = time.perf_counter() - t_ep + (self.timings_["prepare_s"] if epoch == 1
                                                    else 0.0)
            record = ImageEpochRecord(epoch, loss, val_loss, val_score, self.metric, lr, seconds,
                                      train_seconds)
            self.history_.append(record)
            if self.on_epoch is not None:
                self.on_epoch(record)
            if best.since >= self.patience:
                break
        if best.state is not None:
            self.trainable().load_state_dict(best.state)
        self.best_epoch_ = best.epoch
        if best.epoch == 0:  # epochs=0: the initialised model, scored on validation once
            self._set_train(False)
            metrics, val_loss = self._evaluate(val_src, with_loss=self.monitor == "loss")
            self.best_val_score_, self.best_val_loss_ = metrics.get(self.metric), val_loss
            return
        chosen = self.history_[best.epoch - 1]
        self.best_val_score_ = chosen.val_score
        self.best_val_loss_ = chosen.val_loss

    def _step(self, loss: Tensor, optimiser: torch.optim.Optimizer, epoch: int) -> float:
        if not torch.isfinite(loss):
            raise InvalidInputError(
                f"training loss became {loss.item()} at epoch {epoch} with lr={self.lr}; lower "
                "the learning rate"
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        optimiser.step()
        return float(loss.detach())

    def _set_train(self, training: bool) -> None:
        self.model_.train(training)

    def _encode_input(self, images: Tensor) -> Tensor:
        """Standardised batch → encoder input (band alignment)."""
        return images if self.input_transform is None else self.input_transform(images)

    # -------------------------------------------------------------------------- subclass API

    def build_model(self) -> nn.Module:
        """The model to train (head on the encoder, or detector), freshly initialised; the
        preflight builds it once to check the head and its options."""
        raise NotImplementedError

    def model_notes(self) -> list[str]:
        """Lines about the model recorded with the run (e.g. the feature cache)."""
        return []

    def _prepare(self, samples: SampleDataset, indices: Sequence[int], *, training: bool) -> Any:
        raise NotImplementedError

    def _train_epoch(self, src: Any, gen: torch.Generator, optimiser: torch.optim.Optimizer,
                     epoch: int) -> float:
        raise NotImplementedError

    def _evaluate(self, src: Any, *, with_loss: bool) -> tuple[dict[str, Any], float | None]:
        raise NotImplementedError

    # ----------------------------------------------------------------------------- results

    def score(self, test: SampleDataset) -> dict[str, Any]:
        """Metrics of the best checkpoint on ``test`` (the kind's metrics).

        Raises:
            InvalidInputError: when called before :meth:`fit`.
        """
        self._check_fitted()
        t0 = time.perf_counter()
        self._set_train(False)
        metrics, _ = self._evaluate(self._prepare(test, range(len(test)), training=False),
                                    with_loss=False)
        self.timings_["test_s"] = time.perf_counter() - t0
        return metrics

    def fit_record(self) -> dict[str, Any]:
        """What ``fit`` found: ``val_score`` (of the best checkpoint, on ``val_metric``),
        ``val_loss``, ``best_epoch``, ``epochs_run``, ``monitor``, ``tested_checkpoint`` and
        the ``history`` (one dict per epoch)."""
        self._check_fitted()
        return {
            "val_score": self.best_val_score_,
            "val_metric": self.metric,
            "val_loss": self.best_val_loss_,
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_),
            "monitor": self.monitor,
            "tested_checkpoint": "best (by validation "
                                 f"{'score' if self.monitor == 'score' else 'loss'})",
            "history": [vars(r) for r in self.history_],
        }

    def notes(self) -> list[str]:
        """Lines recorded with a run (standardisation, cache, dropped boxes …)."""
        self._check_fitted()
        source = ("ImageNet mean/std at max 255 (Mars-Bench's transform)"
                  if self.band_stats_.source == "imagenet" else self.band_stats_.note())
        return [f"inputs resized to {self.side()} px; normalisation: {source}", *self.notes_]

    def forward_batch(self, images: Tensor) -> Any:
        """The fitted model's output on standardised images (B, C, H, W) on :attr:`device_`
        (what efficiency is measured on)."""
        raise NotImplementedError

    def encoder_parameters(self) -> int:
        """Parameters of the encoder part of the fitted model (the rest is the head)."""
        return sum(p.numel() for p in self.encoder.parameters())

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_") or not hasattr(self, "history_"):
            raise InvalidInputError(f"{type(self).__name__} is not fitted; call fit(train, val)")


def batches(n: int, batch_size: int, gen: torch.Generator | None) -> Iterator[list[int]]:
    """Indices 0..n−1 (shuffled by ``gen`` when given) in batches; a trailing batch of one image
    joins the previous one (batch norm needs two values per channel)."""
    from planetbench.protocols.dense import batch_indices

    yield from batch_indices(n, batch_size, gen)


__all__ = [
    "IMAGE_PROTOCOL_MODES",
    "BestCheckpoint",
    "ImageEpochRecord",
    "ImageProtocol",
    "ImageProtocolMode",
    "batches",
    "resize_image",
    "sample_image",
]
