"""Image classification on any encoder: binary (one logit), multi-class and multi-label.

:class:`ClassificationProtocol` trains a classification head
(:mod:`planetbench.heads.classification`: ``linear`` or ``mlp`` on the encoder's ``embed`` vector,
or on the global average of its last map with ``head_options={"pool": "avg"}``) and, unless the
encoder is frozen, the encoder. Losses: binary ``bce`` (one logit, ``BCEWithLogitsLoss``;
Mars-Bench's set-up) or ``ce`` (two logits, cross-entropy; the binary logit scored is then
``z₁ − z₀``); multi-class ``ce``; multi-label ``bce`` (one sigmoid per label).

Frozen encoder (``train_encoder=False``, Mars-Bench's ``feature_extraction``): the encoder stays in
eval mode and its pooled vector of every training and validation image is computed once and kept in
memory (``cache="memory"``, the default); each epoch then trains the head on those vectors.
``cache="none"`` recomputes them every epoch (same numbers, for comparison); augmentation changes
the inputs every epoch, so it turns the cache off (recorded).

Scores (:func:`planetbench.metrics.classification.classification_metrics`): Mars-Bench's
``f1_weighted_mb`` (its per-batch torchmetrics rule, with the run's batch size as its test loader's)
beside ours (``f1`` for binary, ``f1_weighted``, ``f1_macro``, accuracies, ``auroc``, per class).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from planetbench.encoders.base import Encoder
from planetbench.errors import InvalidInputError
from planetbench.heads.classification import (
    CLASSIFICATION_HEADS,
    EncoderClassifier,
    build_classifier,
    classification_loss,
)
from planetbench.metrics.classification import classification_metrics
from planetbench.protocols.images import ImageProtocol, batches, resize_image, sample_image
from planetbench.protocols.mars import augment_classification, image_kind, resolve_loss
from planetbench.tasks.spec import SampleDataset, TaskSpec

#: Cache modes of the frozen classification protocol.
VECTOR_CACHES: tuple[str, ...] = ("memory", "none")


@dataclass
class _Split:
    """One split's images (or cached pooled vectors) and targets."""

    samples: SampleDataset
    indices: list[int]
    targets: Tensor
    training: bool
    vectors: Tensor | None = None
    generator: torch.Generator | None = None

    def __len__(self) -> int:
        return len(self.indices)


def sample_target(sample: dict[str, Any], kind: str, n_classes: int, where: str) -> np.ndarray:
    """The ``label`` of a sample: an int (binary 0/1, class id) or (L,) 0/1 for multi-label.

    Raises:
        InvalidInputError: a label of the wrong shape or out of range.
    """
    label = np.asarray(sample["label"])
    if kind == "multilabel":
        if label.shape != (n_classes,) or not np.isin(label, (0, 1)).all():
            raise InvalidInputError(
                f"sample {sample.get('id', where)!r}: a multi-label target must be {n_classes} "
                f"0/1 values, got {label.tolist()!r}"
            )
        return label.astype(np.float32)
    hi = 2 if kind == "binary" else n_classes
    if label.ndim != 0 or not 0 <= int(label) < hi:
        raise InvalidInputError(
            f"sample {sample.get('id', where)!r}: label {label.tolist()!r} is not a class id "
            f"in 0..{hi - 1}"
        )
    return label.astype(np.int64)


class ClassificationProtocol(ImageProtocol):
    """Trains a classification head on an encoder (see the module docstring and
    :class:`~planetbench.protocols.images.ImageProtocol` for the shared arguments).

    Args (beyond :class:`~planetbench.protocols.images.ImageProtocol`):
        kind: ``binary`` (TaskSpec's ``classification``), ``multiclass`` or ``multilabel``.
        loss: ``default`` (the kind's), ``bce`` or ``ce`` (binary: one or two logits).
        cache: ``memory`` or ``none`` (frozen encoder only).
    """

    default_head: ClassVar[str] = "linear"
    kinds: ClassVar[tuple[str, ...]] = ("classification", "multiclass", "multilabel")

    def __init__(self, encoder: Encoder, *, kind: str, loss: str = "default",
                 cache: str = "memory", **params: Any) -> None:
        super().__init__(encoder, **params)
        self.kind = kind
        self.loss = loss
        self.cache = cache

    @classmethod
    def from_task(cls, spec: TaskSpec, encoder: Encoder, **params: Any) -> ClassificationProtocol:
        """Build with the task's kind, classes, metric and published band statistics."""
        return cls(encoder, kind=image_kind(spec.kind), **cls.task_params(spec, params))

    # ------------------------------------------------------------------------------ checks

    def _check_model(self) -> None:
        if self.kind not in ("binary", "multiclass", "multilabel"):
            raise InvalidInputError(
                f"kind {self.kind!r} is not binary, multiclass or multilabel"
            )
        self.loss_ = resolve_loss(self.loss, self.kind)
        CLASSIFICATION_HEADS.get(self.head or self.default_head)
        if self.cache not in VECTOR_CACHES:
            raise InvalidInputError(
                f"cache={self.cache!r}: the classification protocol caches pooled vectors in "
                f"memory or not at all; use one of {', '.join(VECTOR_CACHES)}"
            )
        options = dict(self.head_options or {})
        pool = options.get("pool", "embed")
        if pool not in ("embed", "avg"):
            raise InvalidInputError(f"head_options.pool={pool!r} must be 'embed' or 'avg'")

    @property
    def two_logits(self) -> bool:
        """True for a binary task trained with two logits and cross-entropy."""
        return self.kind == "binary" and resolve_loss(self.loss, self.kind) == "ce"

    @property
    def caching(self) -> bool:
        """True when pooled vectors of the frozen encoder are cached."""
        return not self.train_encoder and self.cache == "memory" and not self.augment

    # ------------------------------------------------------------------------------- model

    def build_model(self) -> nn.Module:
        """The encoder, its pooling and a fresh head (:class:`EncoderClassifier`)."""
        options = dict(self.head_options or {})
        pool = options.pop("pool", "embed")
        kind, n = ("multiclass", 2) if self.two_logits else (self.kind, self.n_classes)
        return build_classifier(self.encoder, n_classes=n, kind=kind,
                                head=self.head or self.default_head, pool=pool,
                                train_encoder=self.train_encoder, **options)

    def model_notes(self) -> list[str]:
        """The feature cache used with a frozen encoder (and why not, when off)."""
        if self.train_encoder:
            return []
        if self.augment and self.cache == "memory":
            return ["feature cache: off (augmentation changes the inputs every epoch)"]
        return ["feature cache: pooled vectors of the frozen encoder computed once, in memory"
                if self.caching else "feature cache: off (cache=none): recomputed every epoch"]

    def trainable(self) -> nn.Module:
        """The head (frozen encoder) or the whole classifier."""
        model: EncoderClassifier = self.model_  # type: ignore[assignment]
        return model if self.train_encoder else model.head

    # -------------------------------------------------------------------------------- data

    def _prepare(self, samples: SampleDataset, indices: Sequence[int], *, training: bool) -> _Split:
        idx = list(indices)
        targets = torch.as_tensor(np.stack([
            sample_target(samples[i], self.kind, self.n_classes, str(i)) for i in idx
        ])) if idx else torch.zeros(0)
        gen = torch.Generator().manual_seed(self.seed + 1) if training and self.augment else None
        split = _Split(samples, idx, targets, training, generator=gen)
        if self.caching:
            split.vectors = self._pooled_all(split)
        return split

    def _images(self, split: _Split, rows: Sequence[int]) -> Tensor:
        """Resized, (augmented,) standardised images of ``rows`` of a split, on the device."""
        n_bands = self.band_stats_.n_bands
        out = []
        for r in rows:
            image = resize_image(sample_image(split.samples[split.indices[r]], n_bands, str(r)),
                                 self.side())
            if split.generator is not None:
                image = augment_classification(image, split.generator)
            out.append(self.standardise_(image))
        return self._encode_input(torch.stack(out).to(self.device_))

    def _pooled_all(self, split: _Split) -> Tensor:
        model: EncoderClassifier = self.model_  # type: ignore[assignment]
        model.encoder.eval()
        with torch.no_grad():
            parts = [model.pooled(self._images(split, rows))
                     for rows in batches(len(split), self.batch_size, None)]
        return torch.cat(parts) if parts else torch.zeros(0)

    def _logits(self, split: _Split, rows: list[int]) -> Tensor:
        model: EncoderClassifier = self.model_  # type: ignore[assignment]
        if split.vectors is not None:
            out: Tensor = model.head(split.vectors[rows])
            return out
        out = model(self._images(split, rows))
        return out

    def _loss(self, logits: Tensor, target: Tensor) -> Tensor:
        if self.two_logits:
            return classification_loss("multiclass", logits, target.long())
        return classification_loss(self.kind, logits, target)

    # ------------------------------------------------------------------------------- loops

    def _train_epoch(self, src: _Split, gen: torch.Generator, optimiser: torch.optim.Optimizer,
                     epoch: int) -> float:
        losses = []
        for rows in batches(len(src), self.batch_size, gen):
            logits = self._logits(src, rows)
            losses.append(self._step(self._loss(logits, src.targets[rows].to(self.device_)),
                                     optimiser, epoch))
        return float(np.mean(losses))

    def _evaluate(self, src: _Split, *, with_loss: bool) -> tuple[dict[str, Any], float | None]:
        logits, total, n = [], 0.0, 0
        with torch.no_grad():
            for rows in batches(len(src), self.batch_size, None):
                z = self._logits(src, rows)
                target = src.targets[rows].to(self.device_)
                total += float(self._loss(z, target)) * len(rows)
                n += len(rows)
                logits.append(z.float().cpu())
        z_all = torch.cat(logits)
        if self.two_logits:
            z_all = z_all[:, 1] - z_all[:, 0]
        metrics = classification_metrics(
            self.kind, src.targets.numpy(), z_all.numpy(), class_names=tuple(self.class_names),
            mb_batch_size=self.batch_size,
        )
        return metrics, (total / n if n else None)

    def forward_batch(self, images: Tensor) -> Any:
        """Logits of standardised images (B, C, H, W)."""
        self._check_fitted()
        return self.model_(self._encode_input(images))


__all__ = ["VECTOR_CACHES", "ClassificationProtocol", "sample_target"]
