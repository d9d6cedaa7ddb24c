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
of the training images passed to ``fit``. Images are resized to ``input_size`` (bilinear) and
masks likewise (nearest); metrics are computed at that size. CUDA (with automatic mixed precision)
is used when present, the CPU otherwise, through the same code path.
"""

from __future__ import annotations

import copy
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from planetbench.encoders.base import Encoder, default_device
from planetbench.errors import InvalidInputError
from planetbench.heads import build_head
from planetbench.metrics.segmentation import SegmentationMeter
from planetbench.protocols.feature_cache import CacheDecision, FeatureCache, cache_decision
from planetbench.tasks.spec import SampleDataset, TaskSpec

#: Cryo-Bench's learning-rate grid.
CRYO_LR_GRID: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5)


# ------------------------------------------------------------------------------------ data


def band_statistics(
    dataset: SampleDataset, indices: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Per-band mean and standard deviation over every pixel of the given images.

    Args:
        dataset: samples with ``image`` (C, H, W).
        indices: which samples to use.

    Returns:
        ``(mean, std)``, each float64 of shape (C,); a zero std is replaced by 1 (constant band).
    """
    total = sq = None
    count = 0
    for i in indices:
        img = np.asarray(dataset[i]["image"], dtype=np.float64)
        flat = img.reshape(img.shape[0], -1)
        s, q = flat.sum(axis=1), (flat**2).sum(axis=1)
        total = s if total is None else total + s
        sq = q if sq is None else sq + q
        count += flat.shape[1]
    if total is None or sq is None or count == 0:
        raise InvalidInputError("cannot compute band statistics of an empty training split")
    mean = total / count
    std = np.sqrt(np.maximum(sq / count - mean**2, 0.0))
    return mean, np.where(std > 0, std, 1.0)


class DenseDataset(Dataset[tuple[Tensor, Tensor]]):
    """Standardised, resized (image, mask) pairs of a subset of a task split.

    Args:
        samples: the split (items with ``image`` (C, H, W) and ``mask`` (H, W)).
        indices: which items, in order.
        mean: per-band mean, shape (C,).
        std: per-band std, shape (C,).
        size: output side in pixels.
        augment: random horizontal/vertical flips (changes encoder inputs).
        seed: seed of the flips.
    """

    def __init__(
        self,
        samples: SampleDataset,
        indices: Sequence[int],
        mean: np.ndarray,
        std: np.ndarray,
        size: int,
        *,
        augment: bool = False,
        seed: int = 0,
    ) -> None:
        self.samples = samples
        self.indices = list(indices)
        self.mean = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
        self.std = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
        self.size = size
        self.augment = augment
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        s = self.samples[self.indices[i]]
        image = torch.as_tensor(np.asarray(s["image"], dtype=np.float32))
        mask = torch.as_tensor(np.asarray(s["mask"]), dtype=torch.long)
        if image.ndim != 3 or image.shape[0] != self.mean.shape[0] or mask.shape != image.shape[1:]:
            raise InvalidInputError(
                f"sample {s.get('id', i)!r}: image {tuple(image.shape)} / mask "
                f"{tuple(mask.shape)} do not match ({self.mean.shape[0]}, H, W) / (H, W)"
            )
        image = (image - self.mean) / self.std
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


def _batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Batch-norm layers of ``module`` that track running statistics.

    During ``fit`` their running mean/var are reset at the start of every epoch and accumulated
    as the plain average of that epoch's batch statistics (``momentum=None``), so the statistics
    used in evaluation describe the current weights. With the default exponential average
    (momentum 0.1) and the few steps per epoch of small datasets or label fractions, the running
    statistics stay close to their initial values and eval-mode predictions collapse (cf. Wu &
    Johnson 2021, "Rethinking 'Batch' in BatchNorm", on population vs. EMA statistics).
    """
    return [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


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
    extra: dict[str, Any] = field(default_factory=dict)


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
        mean_, std_: band statistics used, shape (C,).
        history_: list of :class:`EpochRecord`.
        best_epoch_: epoch of the best validation mIoU (1-based).
        best_val_miou_: that mIoU.
        cache_: :class:`CacheDecision` (frozen protocol).
        warnings_: warnings raised during the run (also recorded in results).
        timings_: seconds per phase.
    """

    name: ClassVar[str] = ""
    trains_encoder: ClassVar[bool] = False
    #: Precision features are rounded to before the head sees them (None: kept as computed).
    feature_dtype: ClassVar[torch.dtype | None] = None

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
        patience: int = 10,
        input_size: int = 512,
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

    def _validate(self) -> None:
        checks: list[tuple[str, Any, bool, str]] = [
            ("n_classes", self.n_classes, self.n_classes >= 2, "an int ≥ 2"),
            ("lr", self.lr, self.lr > 0, "a positive float"),
            ("weight_decay", self.weight_decay, self.weight_decay >= 0, "≥ 0"),
            ("batch_size", self.batch_size, self.batch_size >= 2, "an int ≥ 2 (batch norm)"),
            ("epochs", self.epochs, self.epochs >= 1, "an int ≥ 1"),
            ("patience", self.patience, self.patience >= 1, "an int ≥ 1"),
            ("input_size", self.input_size, self.input_size >= 8, "an int ≥ 8"),
            ("dice_weight", self.dice_weight, self.dice_weight >= 0, "≥ 0"),
        ]
        for name, value, ok, allowed in checks:
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
        coarsest = max(strides)
        if self.input_size % coarsest:
            raise InvalidInputError(
                f"input_size={self.input_size} is not a multiple of the encoder's coarsest stride "
                f"{coarsest}; choose e.g. {max(coarsest, self.input_size // coarsest * coarsest)}"
            )

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
            pin_memory=self._device_.type == "cuda",
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
        self._validate()
        t_fit = time.perf_counter()
        self._device_ = device = self._device()
        self.warnings_: list[str] = []
        self.timings_: dict[str, float] = {}
        idx = list(range(len(train))) if train_indices is None else list(train_indices)
        if len(idx) < 2:
            raise InvalidInputError(
                f"the training set has {len(idx)} image(s); dense protocols need at least 2"
            )
        if len(val) == 0:
            raise InvalidInputError("the validation split is empty; early stopping needs it")
        t0 = time.perf_counter()
        n_bands = np.asarray(train[idx[0]]["image"]).shape[0]
        if self.band_mean is not None and self.band_std is not None:
            self.mean_ = np.asarray(self.band_mean, dtype=np.float64)
            self.std_ = np.asarray(self.band_std, dtype=np.float64)
            if self.mean_.shape != (n_bands,) or self.std_.shape != (n_bands,):
                raise InvalidInputError(
                    f"band_mean/band_std have {self.mean_.size}/{self.std_.size} values but the "
                    f"images have {n_bands} bands"
                )
            self.band_stats_source_ = "task"
        else:
            self.mean_, self.std_ = band_statistics(train, idx)
            self.band_stats_source_ = "train"
        self.timings_["band_stats_s"] = time.perf_counter() - t0

        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(self.seed)
            self.encoder.to(device)
            spec = self.encoder.spec
            self.head_ = build_head(
                self.head,
                in_channels=spec.feature_channels,
                in_strides=spec.feature_strides,
                n_classes=self.n_classes,
                **(self.head_options or {}),
            ).to(device)
            self.head_ = self.head_.to(memory_format=torch.channels_last)
            self._set_modes(training=True)
            gen = torch.Generator().manual_seed(self.seed)
            train_ds = DenseDataset(
                train,
                idx,
                self.mean_,
                self.std_,
                self.input_size,
                augment=self.augment,
                seed=self.seed,
            )
            val_ds = DenseDataset(val, range(len(val)), self.mean_, self.std_, self.input_size)
            t0 = time.perf_counter()
            train_src = self._prepare(train_ds, for_training=True)
            val_src = self._prepare(val_ds, for_training=False)
            self.timings_["prepare_s"] = time.perf_counter() - t0
            params = [p for p in self._trainable().parameters() if p.requires_grad]
            optimiser = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
            scaler = torch.amp.GradScaler(device.type, enabled=self.amp and device.type == "cuda")
            self.history_: list[EpochRecord] = []
            best_state: dict[str, Tensor] | None = None
            best = -1.0
            self.best_epoch_ = 0
            since_best = 0
            first_epoch_extra = self.timings_["prepare_s"]
            norms = _batch_norms(self._trainable())
            momenta = [bn.momentum for bn in norms]
            for bn in norms:
                bn.momentum = None  # cumulative average, reset every epoch (see _batch_norms)
            for epoch in range(1, self.epochs + 1):
                t_ep = time.perf_counter()
                self._set_modes(training=True)
                for bn in norms:
                    bn.reset_running_stats()
                losses = []
                for feats, masks in self._batches(train_src, gen):
                    with self._autocast(device):
                        logits = self.head_(feats, masks.shape[-2:])
                        loss = self._criterion(logits, masks)
                    if not torch.isfinite(loss):
                        raise InvalidInputError(
                            f"training loss became {loss.item()} at epoch {epoch} with "
                            f"lr={self.lr}; "
                            "lower the learning rate"
                        )
                    optimiser.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()  # type: ignore[no-untyped-call]
                    scaler.step(optimiser)
                    scaler.update()
                    losses.append(float(loss.detach()))
                train_seconds = time.perf_counter() - t_ep
                val_miou = self._evaluate(val_src)["miou"]
                score = -1.0 if val_miou is None else val_miou
                if score > best:
                    best, self.best_epoch_, since_best = score, epoch, 0
                    best_state = {
                        k: v.detach().to("cpu", copy=True)
                        for k, v in self._trainable().state_dict().items()
                    }
                else:
                    since_best += 1
                seconds = time.perf_counter() - t_ep + (first_epoch_extra if epoch == 1 else 0.0)
                record = EpochRecord(
                    epoch, float(np.mean(losses)), val_miou, seconds, train_seconds
                )
                self.history_.append(record)
                if self.on_epoch is not None:
                    self.on_epoch(record)
                if since_best >= self.patience:
                    break
            for bn, momentum in zip(norms, momenta, strict=True):
                bn.momentum = momentum
            if best_state is not None:
                self._trainable().load_state_dict(best_state)
            self.best_val_miou_ = None if best < 0 else best
            self._close(train_src, val_src)
        self._set_modes(training=False)
        self.timings_["fit_s"] = time.perf_counter() - t_fit
        return self

    def score(self, test: SampleDataset) -> dict[str, Any]:
        """Metrics of the best checkpoint on ``test``: ``miou``, ``f1_macro``, ``pixel_accuracy``,
        ``iou_per_class``, ``f1_per_class``, ``n_pixels``.

        Raises:
            InvalidInputError: when called before :meth:`fit`.
        """
        if not hasattr(self, "head_"):
            raise InvalidInputError(
                f"{type(self).__name__} is not fitted; call fit(train, val) first"
            )
        t0 = time.perf_counter()
        ds = DenseDataset(test, range(len(test)), self.mean_, self.std_, self.input_size)
        self._set_modes(training=False)
        out = self._evaluate(_Source(n=len(ds), dataset=ds))
        self.timings_["test_s"] = time.perf_counter() - t0
        return out

    # --------------------------------------------------------------------- pieces

    def _trainable(self) -> nn.Module:
        if self.trains_encoder:
            return nn.ModuleDict({"encoder": self.encoder, "head": self.head_})
        return nn.ModuleDict({"head": self.head_})

    def _set_modes(self, *, training: bool) -> None:
        if hasattr(self, "head_"):
            self.head_.train(training)
        self.encoder.train(training and self.trains_encoder)
        for p in self.encoder.parameters():
            p.requires_grad_(self.trains_encoder)

    def _prepare(self, ds: DenseDataset, *, for_training: bool) -> _Source:
        return _Source(n=len(ds), dataset=ds)

    def _close(self, *sources: _Source) -> None:
        for s in sources:
            if s.cache is not None:
                s.cache.close()

    def _batches(
        self, src: _Source, gen: torch.Generator | None
    ) -> Iterator[tuple[list[Tensor], Tensor]]:
        device = self._device_
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
            if self.trains_encoder and torch.is_grad_enabled():
                with self._autocast(device):
                    feats = self._encode(images)
            else:
                with torch.no_grad(), self._autocast(device):
                    feats = self._encode(images)
            yield _channels_last(feats), masks

    def _evaluate(self, src: _Source) -> dict[str, Any]:
        meter = SegmentationMeter(self.n_classes, self.ignore_index, tuple(self.class_names))
        was = self.head_.training
        self.head_.eval()
        enc_was = self.encoder.training
        self.encoder.eval()
        with torch.no_grad():
            for feats, masks in self._batches(src, None):
                with self._autocast(self._device_):
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

    def _prepare(self, ds: DenseDataset, *, for_training: bool) -> _Source:
        if not self.cache_.enabled or (for_training and ds.augment):
            return _Source(n=len(ds), dataset=ds)
        device = self._device_
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


PROTOCOLS: dict[str, type[DenseProtocol]] = {"frozen": FrozenProtocol, "finetune": FinetuneProtocol}


def get_protocol(name: str) -> type[DenseProtocol]:
    """The dense protocol class ``name`` (``frozen`` or ``finetune``)."""
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise InvalidInputError(
            f"unknown dense protocol {name!r}; available: {', '.join(PROTOCOLS)}"
        ) from None


# --------------------------------------------------------------------------- LR sweep


@dataclass
class LRSweep:
    """Outcome of :func:`lr_sweep`.

    Attributes:
        best_lr: learning rate with the highest validation mIoU (the smaller lr on ties).
        val_miou: learning rate → best validation mIoU (None when undefined).
        best: the fitted protocol of ``best_lr``.
    """

    best_lr: float
    val_miou: dict[float, float | None]
    best: DenseProtocol


def lr_sweep(
    make_protocol: Callable[[float], DenseProtocol],
    train: SampleDataset,
    val: SampleDataset,
    lrs: Sequence[float] = CRYO_LR_GRID,
    train_indices: Sequence[int] | None = None,
) -> LRSweep:
    """Fit one protocol per learning rate and keep the best on the validation split (Cryo-Bench).

    Args:
        make_protocol: builds a fresh protocol (with a fresh encoder for ``finetune``) for a lr.
        train: training split.
        val: validation split (the only split used to choose).
        lrs: the grid (default Cryo-Bench's 1e-2, 1e-3, 1e-4, 1e-5).
        train_indices: training subset, as for ``fit``.

    Raises:
        InvalidInputError: an empty grid.
    """
    if not lrs:
        raise InvalidInputError("lr_sweep needs at least one learning rate in lrs")
    scores: dict[float, float | None] = {}
    best: DenseProtocol | None = None
    best_lr, best_score = float(lrs[0]), -2.0
    for lr in sorted(float(v) for v in lrs):
        proto = make_protocol(lr).fit(train, val, train_indices)
        scores[lr] = proto.best_val_miou_
        s = -1.0 if proto.best_val_miou_ is None else proto.best_val_miou_
        if s > best_score:
            best, best_lr, best_score = proto, lr, s
    if best is None:  # unreachable: the grid is non-empty
        raise RuntimeError("lr_sweep selected nothing")
    return LRSweep(best_lr=best_lr, val_miou=scores, best=copy.copy(best))
