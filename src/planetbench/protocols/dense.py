"""Dense (segmentation) training protocols: ``frozen`` and ``finetune``.

Protocol objects follow scikit-learn: hyper-parameters in ``__init__``, ``fit(train, val) -> self``
and ``score(test) -> dict``. Defaults follow Cryo-Bench (Sk-2103/Cryo-Bench, itself built on
PANGAEA-Bench; Marsocci et al. 2024): AdamW, learning rate 1e-4, weight decay 0.05, batch 8, inputs
standardised per band, resized to the input size (512), cross-entropy with the ignore index,
early stopping on validation mIoU and testing of the best checkpoint.

* ``frozen``: the encoder's weights are fixed (eval mode, no gradients); only the head trains. The
  encoder runs once per training/validation image and its maps are cached in fp16
  (:mod:`planetbench.protocols.feature_cache`) unless augmentation forbids it.
* ``finetune``: encoder and head train together (the encoder is modified in place).

Inputs are standardised with the task's published band mean/std when given, else with the mean/std
of the training images passed to ``fit`` (:mod:`planetbench.protocols.band_stats`, the path
``embed`` uses too). Images are resized to ``input_size`` (bilinear) and
masks likewise (nearest); metrics are computed at that size. CUDA (with automatic mixed precision)
is used when present, the CPU otherwise, through the same code path.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from planetbench.encoders.base import Encoder, default_device
from planetbench.errors import InvalidInputError
from planetbench.heads import build_head
from planetbench.metrics.mars import MarsSegmentationMeter
from planetbench.protocols.band_stats import BandStats, Standardiser, band_statistics, images_of
from planetbench.protocols.feature_cache import (
    CACHE_MODES,
    CacheDecision,
    FeatureCache,
    cache_decision,
)
from planetbench.registry import Registry
from planetbench.tasks.spec import SampleDataset, TaskSpec

# ------------------------------------------------------------------------------------ data


class DenseDataset(Dataset[tuple[Tensor, Tensor]]):
    """Standardised, resized (image, mask) pairs of a subset of a task split.

    Args:
        samples: the split (items with ``image`` (C, H, W) and ``mask`` (H, W)).
        indices: which items, in order.
        stats: the band statistics images are standardised with.
        size: output side in pixels.
        augment: random horizontal/vertical flips (changes encoder inputs).
        seed: seed of the flips.
    """

    def __init__(
        self,
        samples: SampleDataset,
        indices: Sequence[int],
        stats: BandStats,
        size: int,
        *,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.indices = list(indices)
        self.standardise = Standardiser(stats)
        self.n_bands = stats.n_bands
        self.size = size
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        image, mask = standardised_pair(self.samples, self.indices[i], self.standardise,
                                        self.n_bands)
        if image.shape[-2:] != (self.size, self.size):
            image = F.interpolate(
                image[None], size=(self.size, self.size), mode="bilinear", align_corners=False
            )[0]
            mask = F.interpolate(
                mask[None, None].float(), size=(self.size, self.size), mode="nearest"
            )[0, 0].long()
        if self.augment:
            flips = torch.rand(2, generator=self.generator)
            if flips[0] < 0.5:
                image, mask = image.flip(-1), mask.flip(-1)
            if flips[1] < 0.5:
                image, mask = image.flip(-2), mask.flip(-2)
        return image, mask


def standardised_pair(
    samples: SampleDataset, index: int, standardise: Standardiser, n_bands: int
) -> tuple[Tensor, Tensor]:
    """Item ``index`` of ``samples`` as a standardised float32 image (C, H, W) and a long mask
    (H, W), at the size it was read.

    Raises:
        InvalidInputError: the image does not have ``n_bands`` bands or the mask's shape differs.
    """
    s = samples[index]
    image = torch.as_tensor(np.asarray(s["image"], dtype=np.float32))
    mask = torch.as_tensor(np.asarray(s["mask"]), dtype=torch.long)
    if image.ndim != 3 or image.shape[0] != n_bands or mask.shape != image.shape[1:]:
        raise InvalidInputError(
            f"sample {s.get('id', index)!r}: image {tuple(image.shape)} / mask "
            f"{tuple(mask.shape)} do not match ({n_bands}, H, W) / (H, W)"
        )
    return standardise(image), mask


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> list[list[int]]:
    """Indices 0..n-1 (shuffled when a generator is given) cut into batches.

    A trailing batch of a single image is merged into the previous batch (batch norm cannot train
    on one value per channel).
    """
    order = (
        torch.randperm(n, generator=generator).tolist() if generator is not None else list(range(n))
    )
    chunks = [order[i : i + batch_size] for i in range(0, n, batch_size)]
    if len(chunks) > 1 and len(chunks[-1]) == 1:
        chunks[-2].extend(chunks.pop())
    return chunks


def dice_loss(logits: Tensor, target: Tensor, ignore_index: int | None) -> Tensor:
    """Soft multi-class Dice loss (Milletari et al. 2016, V-Net), ignored pixels excluded.

    Args:
        logits: (B, K, H, W).
        target: (B, H, W) class ids.
        ignore_index: label excluded from the loss.

    Returns:
        Scalar: 1 − mean over classes of 2|P∩T| / (|P| + |T|) (with ε = 1 smoothing).
    """
    k = logits.shape[1]
    if ignore_index is None:
        valid = torch.ones_like(target, dtype=torch.bool)
    else:
        valid = target != ignore_index
    probs = logits.float().softmax(dim=1) * valid[:, None]
    onehot = F.one_hot(torch.where(valid, target, 0), k).permute(0, 3, 1, 2).float()
    onehot = onehot * valid[:, None]
    inter = (probs * onehot).sum(dim=(0, 2, 3))
    denom = probs.sum(dim=(0, 2, 3)) + onehot.sum(dim=(0, 2, 3))
    return 1.0 - ((2 * inter + 1.0) / (denom + 1.0)).mean()


@contextmanager
def epoch_batch_norms(module: nn.Module) -> Iterator[list[nn.modules.batchnorm._BatchNorm]]:
    """Batch-norm layers of ``module`` whose running statistics are averaged per epoch.

    Inside the block, layers tracking running statistics use ``momentum=None`` (a plain
    cumulative average); ``fit`` resets them at the start of every epoch, so the statistics used
    in evaluation are the average of that epoch's batch statistics and describe the current
    weights. With the default exponential average (momentum 0.1) and the few steps per epoch of
    small datasets or label fractions, the running statistics stay close to their initial values
    and eval-mode predictions collapse (cf. Wu & Johnson 2021, "Rethinking 'Batch' in
    BatchNorm", on population vs. EMA statistics). Each layer's momentum is restored on exit.

    Yields:
        The layers, for resetting at each epoch.
    """
    norms = [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]
    momenta = [bn.momentum for bn in norms]
    for bn in norms:
        bn.momentum = None
    try:
        yield norms
    finally:
        for bn, momentum in zip(norms, momenta, strict=True):
            bn.momentum = momentum


# ------------------------------------------------------------------------------- protocols


@dataclass
class EpochRecord:
    """One training epoch.

    Attributes:
        epoch: 1-based epoch number.
        train_loss: mean training loss over the epoch's batches.
        val_miou: validation mIoU after the epoch (None when undefined).
        seconds: wall-clock seconds of the epoch (training + validation; the first epoch also
            includes preparing the data, e.g. building the frozen feature cache).
        train_seconds: wall-clock seconds of the training steps alone.
    """

    epoch: int
    train_loss: float
    val_miou: float | None
    seconds: float
    train_seconds: float


@dataclass
class _Source:
    """Where batches come from: cached features, or a DataLoader of images."""

    n: int
    masks: Tensor | None = None
    cache: FeatureCache | None = None
    dataset: DenseDataset | None = None


@dataclass
class _BestCheckpoint:
    """The best validation mIoU so far, its epoch and a CPU copy of the trainable weights."""

    score: float = -1.0
    epoch: int = 0
    since: int = 0
    state: dict[str, Tensor] | None = None

    def update(self, epoch: int, val_miou: float | None, module: nn.Module) -> None:
        """Keep ``module``'s weights when ``val_miou`` beats the best (None counts as -1)."""
        score = -1.0 if val_miou is None else val_miou
        if score > self.score:
            self.score, self.epoch, self.since = score, epoch, 0
            self.state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
        else:
            self.since += 1


class DenseProtocol:
    """Shared machinery of :class:`FrozenProtocol` and :class:`FinetuneProtocol`.

    Args:
        encoder: the encoder (its ``spec.feature_channels/strides`` size the head).
        n_classes: number of classes K.
        ignore_index: label excluded from loss and metrics.
        head: head id (``upernet``, ``unet``, ``linear``).
        head_options: options of the head factory (e.g. ``{"channels": 64}``).
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        batch_size: images per step.
        epochs: maximum number of epochs.
        patience: stop after this many epochs without a better validation mIoU.
        input_size: side (px) images are resized to.
        dice_weight: weight of the Dice loss added to cross-entropy (0 = CE only).
        band_mean: per-band mean of the task (computed on ``train`` when None).
        band_std: per-band std of the task (computed on ``train`` when None).
        augment: random flips of training images (disables the frozen feature cache).
        input_transform: applied to each standardised batch (B, C, H, W) before the encoder, e.g.
            band alignment to the encoder's inputs.
        class_names: names for per-class metrics.
        seed: seed of head initialisation, shuffling, dropout and augmentation.
        device: torch device (default CUDA when present, else CPU).
        amp: automatic mixed precision on CUDA (ignored on CPU).
        num_workers: DataLoader workers reading images.
        on_epoch: called with each :class:`EpochRecord` (progress display).

    Attributes (after ``fit``):
        head_: the trained head (best checkpoint).
        device_: the torch device used.
        band_stats_: the :class:`~planetbench.protocols.band_stats.BandStats` inputs were
            standardised with.
        history_: list of :class:`EpochRecord`.
        best_epoch_: epoch of the best validation mIoU (1-based).
        best_val_miou_: that mIoU.
        cache_: :class:`CacheDecision` (frozen protocol).
        warnings_: warnings raised during the run (also recorded in results).
        timings_: seconds per phase.

    A plugin adds a protocol by subclassing this class and registering the subclass in
    :data:`DENSE_PROTOCOLS` (or under the entry-point group ``planetbench.protocols``); an
    experiment file can then name it in ``protocols``.
    """

    name: ClassVar[str] = ""
    trains_encoder: ClassVar[bool] = False
    #: True when the protocol takes ``cache`` / ``cache_dir`` (a frozen-feature cache mode).
    caches_features: ClassVar[bool] = False
    #: Precision features are rounded to before the head sees them (None: kept as computed).
    feature_dtype: ClassVar[torch.dtype | None] = None
    #: Values of the run settings an experiment leaves at None (see
    #: :class:`~planetbench.config.DenseSettings`); :meth:`run_defaults` may refine them per
    #: encoder.
    default_settings: ClassVar[dict[str, Any]] = {
        "input_size": 512, "epochs": 50, "patience": 10, "head": "upernet", "band_policy": "auto",
    }
    #: The label-fraction sampler (``planetbench.protocols.fraction.FRACTION_SAMPLERS``) of the
    #: protocol's runs.
    fraction_sampler: ClassVar[str] = "default"
    #: The metric a run of this protocol is ranked by (the Result's ``metric``).
    score_metric: ClassVar[str] = "miou"

    @classmethod
    def run_defaults(cls, encoder: str) -> dict[str, Any]:
        """The settings a run of ``encoder`` under this protocol takes when left at None."""
        return dict(cls.default_settings)

    @classmethod
    def check_settings(cls, settings: dict[str, Any]) -> list[str]:
        """Problems of a run's resolved settings for this protocol (empty: none); each names the
        key that fixes it. ``settings`` is the run's configuration as a dict."""
        return []

    @classmethod
    def reader_options(
        cls, task: TaskSpec, input_size: int | None, root: str | None = None
    ) -> dict[str, Any]:
        """Reader options a run of this protocol passes for ``task`` (data in ``root``) unless
        the experiment's ``data_options`` set them: sliding-window tasks are tiled at the run's
        input size."""
        if task.tile_option and input_size is not None:
            return {task.tile_option: input_size}
        return {}

    def __init__(
        self,
        encoder: Encoder,
        *,
        n_classes: int,
        ignore_index: int | None = None,
        head: str = "upernet",
        head_options: dict[str, Any] | None = None,
        lr: float = 1e-4,
        weight_decay: float = 0.05,
        batch_size: int = 8,
        epochs: int = 50,
        patience: int | None = 10,
        input_size: int | None = 512,
        dice_weight: float = 0.0,
        band_mean: Sequence[float] | None = None,
        band_std: Sequence[float] | None = None,
        augment: bool = False,
        input_transform: Callable[[Tensor], Tensor] | None = None,
        class_names: Sequence[str] = (),
        seed: int = 0,
        device: torch.device | str | None = None,
        amp: bool = True,
        num_workers: int = 0,
        on_epoch: Callable[[EpochRecord], None] | None = None,
    ) -> None:
        self.encoder = encoder
        self.n_classes = n_classes
        self.ignore_index = ignore_index
        self.head = head
        self.head_options = head_options
        self.lr = lr
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.epochs = epochs
        self.patience = patience
        self.input_size = input_size
        self.dice_weight = dice_weight
        self.band_mean = band_mean
        self.band_std = band_std
        self.augment = augment
        self.input_transform = input_transform
        self.class_names = class_names
        self.seed = seed
        self.device = device
        self.amp = amp
        self.num_workers = num_workers
        self.on_epoch = on_epoch

    @classmethod
    def from_task(cls, spec: TaskSpec, encoder: Encoder, **params: Any) -> DenseProtocol:
        """Build with the task's classes, ignore index and published band statistics."""
        if spec.kind != "segmentation":
            raise InvalidInputError(
                f"task {spec.name!r} is a {spec.kind} task; dense protocols need segmentation"
            )
        params.setdefault("n_classes", spec.n_classes)
        params.setdefault("ignore_index", spec.ignore_index)
        params.setdefault("band_mean", spec.band_mean)
        params.setdefault("band_std", spec.band_std)
        params.setdefault("class_names", spec.classes)
        return cls(encoder, **params)

    # ---------------------------------------------------------------- validation and set-up

    def check(self) -> None:
        """Raise unless the hyper-parameters are valid and suit the encoder (``fit`` calls it;
        a grid's preflight too, before any run starts).

        Raises:
            InvalidInputError: naming the parameter, its value and what is allowed.
            UnknownNameError: an unregistered cache mode (frozen protocol).
        """
        for name, value, ok, allowed in self._hyper_parameter_checks():
            if not ok:
                raise InvalidInputError(
                    f"{type(self).__name__}: {name}={value!r} must be {allowed}"
                )
        strides = self.encoder.spec.feature_strides
        if not strides or len(strides) != len(self.encoder.spec.feature_channels):
            raise InvalidInputError(
                f"encoder {self.encoder.spec.name!r} declares no feature maps "
                f"(feature_strides={strides}); dense protocols need a spatial encoder"
            )
        self._check_input_size(max(strides))

    def _hyper_parameter_checks(self) -> list[tuple[str, Any, bool, str]]:
        """(name, value, valid, what is allowed) of each hyper-parameter."""
        return [
            ("n_classes", self.n_classes, self.n_classes >= 2, "an int ≥ 2"),
            ("lr", self.lr, self.lr > 0, "a positive float"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "≥ 0"),
            ("batch_size", self.batch_size, self.batch_size >= 2, "an int ≥ 2 (batch norm)"),
            ("epochs", self.epochs, self.epochs >= 1, "an int ≥ 1"),
            ("patience", self.patience, self.patience is not None and self.patience >= 1,
             "an int ≥ 1"),
            ("input_size", self.input_size, self.input_size is not None and self.input_size >= 8,
             "an int ≥ 8"),
            ("dice_weight", self.dice_weight, self.dice_weight >= 0, "≥ 0"),
        ]

    def _check_input_size(self, coarsest: int) -> None:
        """The input size is a multiple of the encoder's coarsest stride."""
        size = self._side()
        if size % coarsest:
            raise InvalidInputError(
                f"input_size={size} is not a multiple of the encoder's coarsest stride "
                f"{coarsest}; choose e.g. {max(coarsest, size // coarsest * coarsest)}"
            )

    def _side(self) -> int:
        """``input_size`` as an int (checked by :meth:`check`)."""
        if self.input_size is None:
            raise InvalidInputError(f"{type(self).__name__}: input_size must be an int ≥ 8")
        return int(self.input_size)

    def _device(self) -> torch.device:
        return torch.device(self.device) if self.device is not None else default_device()

    def _autocast(self, device: torch.device) -> Any:
        return torch.autocast(
            device_type=device.type, dtype=torch.float16, enabled=self.amp and device.type == "cuda"
        )

    def _encode(self, x: Tensor) -> list[Tensor]:
        if self.input_transform is not None:
            x = self.input_transform(x)
        feats = list(self.encoder.features(x))
        if self.feature_dtype is not None:
            # Round through the cache's precision so cached and recomputed features are equal.
            feats = [f.to(self.feature_dtype).to(f.dtype) for f in feats]
        return feats

    def _criterion(self, logits: Tensor, target: Tensor) -> Tensor:
        ignore = self.ignore_index if self.ignore_index is not None else -100
        loss = F.cross_entropy(logits.float(), target, ignore_index=ignore)
        if self.dice_weight > 0:
            loss = loss + self.dice_weight * dice_loss(logits, target, self.ignore_index)
        return loss

    def _loader(self, ds: DenseDataset, batches: list[list[int]]) -> DataLoader[Any]:
        # A generator of its own: every DataLoader iterator draws a worker base seed, which would
        # otherwise come from the global RNG and shift the head's dropout masks, so that training
        # on cached and on recomputed features would differ.
        return DataLoader(
            ds,
            batch_sampler=batches,
            num_workers=self.num_workers,
            pin_memory=self.device_.type == "cuda",
            generator=torch.Generator().manual_seed(self.seed),
        )

    # --------------------------------------------------------------------- the fit loop

    def fit(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None = None
    ) -> DenseProtocol:
        """Train the head (and the encoder for ``finetune``) with early stopping on ``val``.

        Args:
            train: training split.
            val: validation split (selects the best epoch).
            train_indices: subset of ``train`` to use (e.g. a label fraction); all by default.

        Returns:
            self, holding the best checkpoint.
        """
        t_fit = time.perf_counter()
        idx = self._begin_fit(train, val, train_indices)
        with torch.random.fork_rng(devices=[self.device_] if self.device_.type == "cuda" else []):
            torch.manual_seed(self.seed)
            self.head_ = self._build_head()
            self._set_modes(training=True)
            train_src, val_src = self._sources(train, idx, val)
            try:
                self._train(train_src, val_src)
            finally:
                self._close(train_src, val_src)
        self._set_modes(training=False)
        self.timings_["fit_s"] = time.perf_counter() - t_fit
        return self

    def _begin_fit(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None
    ) -> list[int]:
        """What every fit starts with: settings checked, device, fresh warnings and timings,
        the training indices and the band statistics of those images; returns the indices."""
        self.check()
        self.device_ = self._device()
        self.warnings_: list[str] = []
        self.timings_: dict[str, float] = {}
        idx = self._training_indices(train, val, train_indices)
        self.band_stats_ = self._band_stats(train, idx)
        return idx

    def _training_indices(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None
    ) -> list[int]:
        idx = list(range(len(train))) if train_indices is None else list(train_indices)
        if len(idx) < 2:
            raise InvalidInputError(
                f"the training set has {len(idx)} image(s); dense protocols need at least 2"
            )
        if len(val) == 0:
            raise InvalidInputError("the validation split is empty; early stopping needs it")
        return idx

    def _band_stats(self, train: SampleDataset, idx: Sequence[int]) -> BandStats:
        """The task's published statistics when given, else those of the training images."""
        t0 = time.perf_counter()
        if self.band_mean is not None and self.band_std is not None:
            stats = BandStats.from_moments(self.band_mean, self.band_std, source="task")
            stats.check_bands(np.asarray(train[idx[0]]["image"]).shape[0])
        else:
            stats = band_statistics(images_of(train, idx), source="train")
        self.timings_["band_stats_s"] = time.perf_counter() - t0
        return stats

    def _build_head(self) -> nn.Module:
        """The head for the encoder's maps, on the device, in channels-last layout."""
        self.encoder.to(self.device_)
        spec = self.encoder.spec
        head = build_head(
            self.head,
            in_channels=spec.feature_channels,
            in_strides=spec.feature_strides,
            n_classes=self.n_classes,
            **(self.head_options or {}),
        ).to(self.device_)
        return head.to(memory_format=torch.channels_last)

    def _sources(
        self, train: SampleDataset, idx: Sequence[int], val: SampleDataset
    ) -> tuple[_Source, _Source]:
        """Batch sources of the training subset and of the validation split."""
        train_ds = DenseDataset(
            train, idx, self.band_stats_, self._side(), augment=self.augment, seed=self.seed
        )
        val_ds = DenseDataset(val, range(len(val)), self.band_stats_, self._side())
        t0 = time.perf_counter()
        sources = self._prepare(train_ds, for_training=True), self._prepare(val_ds, for_training=False)
        self.timings_["prepare_s"] = time.perf_counter() - t0
        return sources

    def _train(self, train_src: _Source, val_src: _Source) -> None:
        """Epochs until ``epochs`` or ``patience`` epochs without a better validation mIoU; the
        trainable weights are then those of the best epoch."""
        params = [p for p in self._trainable().parameters() if p.requires_grad]
        optimiser = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        device = self.device_
        scaler = torch.amp.GradScaler(device.type, enabled=self.amp and device.type == "cuda")
        gen = torch.Generator().manual_seed(self.seed)
        best = _BestCheckpoint()
        self.history_: list[EpochRecord] = []
        with epoch_batch_norms(self._trainable()) as norms:
            for epoch in range(1, self.epochs + 1):
                t_ep = time.perf_counter()
                self._set_modes(training=True)
                for bn in norms:
                    bn.reset_running_stats()
                loss = self._train_epoch(train_src, gen, optimiser, scaler, epoch)
                train_seconds = time.perf_counter() - t_ep
                val_miou = self._evaluate(val_src)["miou"]
                best.update(epoch, val_miou, self._trainable())
                seconds = time.perf_counter() - t_ep
                if epoch == 1:  # preparing the data (e.g. the feature cache) belongs to epoch 1
                    seconds += self.timings_["prepare_s"]
                self._record(EpochRecord(epoch, loss, val_miou, seconds, train_seconds))
                if self.patience is not None and best.since >= self.patience:
                    break
        if best.state is not None:
            self._trainable().load_state_dict(best.state)
        self.best_epoch_ = best.epoch
        self.best_val_miou_ = None if best.score < 0 else best.score

    def _train_epoch(
        self,
        src: _Source,
        gen: torch.Generator,
        optimiser: torch.optim.Optimizer,
        scaler: torch.amp.GradScaler,
        epoch: int,
    ) -> float:
        """One pass over the training batches; returns the mean loss."""
        losses = []
        for feats, masks in self._batches(src, gen):
            with self._autocast(self.device_):
                logits = self.head_(feats, masks.shape[-2:])
                loss = self._criterion(logits, masks)
            if not torch.isfinite(loss):
                raise InvalidInputError(
                    f"training loss became {loss.item()} at epoch {epoch} with lr={self.lr}; "
                    "lower the learning rate"
                )
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
            scaler.step(optimiser)
            scaler.update()
            losses.append(float(loss.detach()))
        return float(np.mean(losses))

    def _record(self, record: EpochRecord) -> None:
        self.history_.append(record)
        if self.on_epoch is not None:
            self.on_epoch(record)

    def score(self, test: SampleDataset) -> dict[str, Any]:
        """Metrics of the best checkpoint on ``test``: ``miou``, ``f1_macro``, ``pixel_accuracy``,
        ``iou_per_class``, ``f1_per_class``, ``n_pixels``, and Mars-Bench's per-image ``iou_mb``
        (:class:`~planetbench.metrics.mars.MarsSegmentationMeter`) with ``iou_mb_per_class`` and
        ``n_images``.

        Raises:
            InvalidInputError: when called before :meth:`fit`.
        """
        self._check_fitted()
        t0 = time.perf_counter()
        ds = DenseDataset(test, range(len(test)), self.band_stats_, self._side())
        self._set_modes(training=False)
        out = self._evaluate(_Source(n=len(ds), dataset=ds))
        self.timings_["test_s"] = time.perf_counter() - t0
        return out

    # --------------------------------------------------------------- what a fitted run reports

    def logits(self, images: Tensor) -> Tensor:
        """Logits (B, K, H, W) of standardised images (B, C, H, W) on :attr:`device_`: input
        transform, encoder and head of the best checkpoint, as measured for efficiency."""
        self._check_fitted()
        return self.head_(self._encode(images), images.shape[-2:])

    def fit_record(self) -> dict[str, Any]:
        """What ``fit`` found: ``val_miou`` (best), ``best_epoch``, ``epochs_run`` and the
        ``history`` (one dict per epoch, see :class:`EpochRecord`)."""
        self._check_fitted()
        return {
            "val_miou": self.best_val_miou_,
            "best_epoch": self.best_epoch_,
            "epochs_run": len(self.history_),
            "history": [vars(r) for r in self.history_],
        }

    def notes(self) -> list[str]:
        """Lines recorded with a run: where the band statistics come from, and the protocol's
        own choices (e.g. the feature cache)."""
        self._check_fitted()
        return [self.band_stats_.note()]

    def _check_fitted(self) -> None:
        if not hasattr(self, "head_"):
            raise InvalidInputError(
                f"{type(self).__name__} is not fitted; call fit(train, val) first"
            )

    # --------------------------------------------------------------------- pieces

    def trains(self) -> bool:
        """True when this run trains the encoder (the class's ``trains_encoder`` by default)."""
        return self.trains_encoder

    def measure_size(self) -> int:
        """Side (px) of the input efficiency is measured at (after :meth:`fit`): the input size."""
        return self._side()

    def _trainable(self) -> nn.Module:
        if self.trains():
            return nn.ModuleDict({"encoder": self.encoder, "head": self.head_})
        return nn.ModuleDict({"head": self.head_})

    def _set_modes(self, *, training: bool) -> None:
        if hasattr(self, "head_"):
            self.head_.train(training)
        self.encoder.train(training and self.trains())
        for p in self.encoder.parameters():
            p.requires_grad_(self.trains())

    def _prepare(self, ds: DenseDataset, *, for_training: bool) -> _Source:
        return _Source(n=len(ds), dataset=ds)

    def _close(self, *sources: _Source) -> None:
        for s in sources:
            if s.cache is not None:
                s.cache.close()

    def _batches(
        self, src: _Source, gen: torch.Generator | None
    ) -> Iterator[tuple[list[Tensor], Tensor]]:
        device = self.device_
        chunks = batch_indices(src.n, self.batch_size, gen)
        if src.cache is not None and src.masks is not None:
            for chunk in chunks:
                yield _channels_last(src.cache.get(chunk, device)), src.masks[chunk].to(
                    device
                ).long()
            return
        if src.dataset is None:
            raise RuntimeError("internal: a batch source needs a cache or a dataset")
        for images, masks in self._loader(src.dataset, chunks):
            images = images.to(device, non_blocking=True)
            masks = masks.to(device, non_blocking=True)
            if self.trains() and torch.is_grad_enabled():
                with self._autocast(device):
                    feats = self._encode(images)
            else:
                with torch.no_grad(), self._autocast(device):
                    feats = self._encode(images)
            yield _channels_last(feats), masks

    def _evaluate(self, src: _Source) -> dict[str, Any]:
        # ours (dataset mIoU …) and Mars-Bench's per-image ``iou_mb`` from the same predictions
        meter = MarsSegmentationMeter(self.n_classes, self.ignore_index, tuple(self.class_names))
        was = self.head_.training
        self.head_.eval()
        enc_was = self.encoder.training
        self.encoder.eval()
        with torch.no_grad():
            for feats, masks in self._batches(src, None):
                with self._autocast(self.device_):
                    logits = self.head_(feats, masks.shape[-2:])
                meter.update(logits, masks)
        self.head_.train(was)
        self.encoder.train(enc_was)
        return meter.compute()


def _channels_last(feats: list[Tensor]) -> list[Tensor]:
    """Feature maps in channels-last memory layout, which the head's convolutions run faster on
    (oneDNN on CPU, tensor cores on CUDA): about 20 % per training step of a UperNet head."""
    return [f.contiguous(memory_format=torch.channels_last) if f.ndim == 4 else f for f in feats]


class FrozenProtocol(DenseProtocol):
    """Frozen encoder, trained head; features cached once per image (see module docstring).

    Args (beyond :class:`DenseProtocol`):
        cache: ``memory`` (default), ``disk`` (np.memmap files) or ``none`` (recompute every
            epoch). Augmentation turns it off explicitly (warning, recorded in ``cache_``).
        cache_dir: parent folder of disk caches (default: a temporary folder).
    """

    name: ClassVar[str] = "frozen"
    trains_encoder: ClassVar[bool] = False
    caches_features: ClassVar[bool] = True
    feature_dtype: ClassVar[torch.dtype | None] = torch.float16

    def __init__(
        self,
        encoder: Encoder,
        *,
        cache: str = "memory",
        cache_dir: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(encoder, **params)
        self.cache = cache
        self.cache_dir = cache_dir

    def check(self) -> None:
        """See :meth:`DenseProtocol.check`; also checks the cache mode is registered."""
        super().check()
        CACHE_MODES.get(self.cache)

    def fit(
        self, train: SampleDataset, val: SampleDataset, train_indices: Sequence[int] | None = None
    ) -> FrozenProtocol:
        """See :meth:`DenseProtocol.fit`; decides on the feature cache first."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self.cache_: CacheDecision = cache_decision(self.cache, augment=self.augment)
        super().fit(train, val, train_indices)
        for w in caught:
            self.warnings_.append(str(w.message))
            warnings.warn(str(w.message), w.category, stacklevel=2)
        return self

    def notes(self) -> list[str]:
        """See :meth:`DenseProtocol.notes`; adds the feature cache used (and why not, if off)."""
        reason = f" ({self.cache_.reason})" if self.cache_.reason else ""
        return [*super().notes(), f"feature cache: {self.cache_.storage}{reason}"]

    def _prepare(self, ds: DenseDataset, *, for_training: bool) -> _Source:
        if not self.cache_.enabled or (for_training and ds.augment):
            return _Source(n=len(ds), dataset=ds)
        device = self.device_
        masks: list[Tensor] = []
        chunks = batch_indices(len(ds), self.batch_size, None)

        def images() -> Iterator[Tensor]:
            for x, m in self._loader(ds, chunks):
                masks.append(m.to(torch.int16 if int(m.max()) < 32768 else torch.int32))
                yield x.to(device)

        def encode(x: Tensor) -> list[Tensor]:
            with self._autocast(device):
                return self._encode(x)

        self.encoder.eval()
        cache = FeatureCache.build(
            encode, images(), len(ds), storage=self.cache_.storage, directory=self.cache_dir
        )
        self.timings_["cache_s"] = self.timings_.get("cache_s", 0.0) + cache.seconds
        self.cache_nbytes_ = getattr(self, "cache_nbytes_", 0) + cache.nbytes
        return _Source(n=len(ds), masks=torch.cat(masks), cache=cache)


class FinetuneProtocol(DenseProtocol):
    """Encoder and head trained end to end (the encoder passed in is updated in place)."""

    name: ClassVar[str] = "finetune"
    trains_encoder: ClassVar[bool] = True



class ScratchProtocol(FinetuneProtocol):
    """Encoder and head trained end to end from random weights: Mars-Bench's
    ``scratch_training`` for segmentation (image-level runs map ``scratch`` the same way,
    :data:`~planetbench.protocols.images.IMAGE_PROTOCOL_MODES`).

    The runner builds the encoder with ``weights="none"`` (``random_encoder``; a pretrained
    encoder through its ``random_init`` option); an encoder whose factory refuses random weights
    cannot run under ``scratch`` and the preflight says so.
    """

    name: ClassVar[str] = "scratch"
    #: The runner builds the encoder with random weights for this protocol.
    random_encoder: ClassVar[bool] = True


#: Dense protocols by name: ``frozen``, ``finetune``, ``scratch``, the Cryo-Bench preset
#: (``cryobench``, ``cryobench-finetune``: :mod:`planetbench.protocols.cryobench` builds on the
#: classes above and registers itself, imported on the first lookup) and any plugin's (a
#: :class:`DenseProtocol` subclass registered here or under the entry-point group
#: ``planetbench.protocols``).
DENSE_PROTOCOLS: Registry[type[DenseProtocol]] = Registry(
    "dense protocol", entry_point_group="planetbench.protocols",
    modules=("planetbench.protocols.cryobench",),
)
DENSE_PROTOCOLS.register("frozen", FrozenProtocol)
DENSE_PROTOCOLS.register("finetune", FinetuneProtocol)
DENSE_PROTOCOLS.register("scratch", ScratchProtocol)


def get_protocol(name: str) -> type[DenseProtocol]:
    """The dense protocol class registered as ``name`` (``frozen``, ``finetune``, ``scratch`` or a plugin's).

    Raises:
        UnknownNameError: ``name`` is not registered (with near misses and the list).
    """
    return DENSE_PROTOCOLS.get(name)


__all__ = [
    "DENSE_PROTOCOLS",
    "DenseDataset",
    "DenseProtocol",
    "EpochRecord",
    "FinetuneProtocol",
    "FrozenProtocol",
    "ScratchProtocol",
    "batch_indices",
    "dice_loss",
    "epoch_batch_norms",
    "get_protocol",
    "standardised_pair",
]
