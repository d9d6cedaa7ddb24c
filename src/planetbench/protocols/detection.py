"""Object detection on any encoder: a torchvision detector behind the encoder's feature pyramid.

:class:`DetectionProtocol` builds a registered detector (:mod:`planetbench.heads.detection`:
``faster-rcnn`` by default, ``retinanet``, ``fcos``) on the encoder and trains it; with a frozen
encoder (Mars-Bench's ``feature_extraction``: the backbone fixed, the rest trained) the encoder
stays in eval mode, and only the pyramid and the detection heads train. Features are recomputed
every epoch: the detector's own transform pads the batch before the encoder sees it, so there is
no per-image feature to cache.

As in Mars-Bench, images (and their boxes) are resized to the input size (default: the
encoder's) and the metrics are computed in those resized pixels
(:class:`~planetbench.metrics.detection.DetectionMeter`: COCO ``map`` = Mars-Bench's mAP, ``map_50``,
``map_75``, per-size mAP, recalls, per class). Images without boxes are kept for training and
evaluation (Mars-Bench drops them). Boxes that are empty after resizing are dropped and counted in
the run's notes. The validation loss (``monitor="loss"`` or the ``plateau`` scheduler) is the
detector's training loss on the validation images, computed without gradients, as Mars-Bench's
``validation_step`` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor, nn

from planetbench.encoders.base import Encoder
from planetbench.encoders.marsbench_models import WholeModel
from planetbench.errors import InvalidInputError
from planetbench.heads.detection import DETECTORS, Detector, build_detector, detection_loss
from planetbench.metrics.detection import DetectionMeter
from planetbench.protocols.images import ImageProtocol, batches, resize_image, sample_image
from planetbench.protocols.mars import augment_detection
from planetbench.protocols.whole_models import build_whole_model, whole_model_notes, whole_model_of
from planetbench.tasks.spec import SampleDataset, TaskSpec


@dataclass
class _Split:
    """One split's images with their boxes (xyxy in resized pixels) and labels (1..C)."""

    samples: SampleDataset
    indices: list[int]
    boxes: list[Tensor]
    labels: list[Tensor]
    generator: torch.Generator | None = None
    dropped: int = field(default=0)

    def __len__(self) -> int:
        return len(self.indices)


def scaled_boxes(sample: dict[str, Any], size: int, n_classes: int, where: str
                 ) -> tuple[Tensor, Tensor, int]:
    """The boxes of a sample scaled to a ``size`` × ``size`` image and clipped to it, their
    labels shifted to 1..C, and how many boxes became empty (dropped).

    Raises:
        InvalidInputError: boxes not (N, 4) or labels outside 0..C−1.
    """
    h, w = np.asarray(sample["image"]).shape[-2:]
    boxes = np.asarray(sample["boxes"], dtype=np.float32).reshape(-1, 4)
    labels = np.asarray(sample.get("labels", np.zeros(len(boxes))), dtype=np.int64).reshape(-1)
    if len(labels) != len(boxes):
        raise InvalidInputError(
            f"sample {sample.get('id', where)!r}: {len(boxes)} boxes but {len(labels)} labels"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise InvalidInputError(
            f"sample {sample.get('id', where)!r}: box labels {sorted(set(labels.tolist()))} are "
            f"not class indices 0..{n_classes - 1}"
        )
    scale = np.array([size / w, size / h, size / w, size / h], dtype=np.float32)
    boxes = np.clip(boxes * scale, 0.0, float(size))
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    return (torch.as_tensor(boxes[keep]), torch.as_tensor(labels[keep] + 1),
            int((~keep).sum()))


class DetectionProtocol(ImageProtocol):
    """Trains a detector on an encoder (see the module docstring and
    :class:`~planetbench.protocols.images.ImageProtocol` for the arguments; ``n_classes`` is
    the number of object classes C, labels 1..C inside the detector)."""

    default_head: ClassVar[str] = "faster-rcnn"
    kinds: ClassVar[tuple[str, ...]] = ("detection",)

    @classmethod
    def from_task(cls, spec: TaskSpec, encoder: Encoder, **params: Any) -> DetectionProtocol:
        """Build with the task's object classes, metric and published band statistics."""
        return cls(encoder, **cls.task_params(spec, params))

    def _check_model(self) -> None:
        if whole_model_of(self.encoder, "detection") is not None:
            if self.head or self.head_options:
                raise InvalidInputError(
                    f"{self.encoder.spec.name!r} is a whole detector (Mars-Bench's): remove the "
                    "head and head_options"
                )
        else:
            DETECTORS.get(self.head or self.default_head)
        if self.n_classes < 1:
            raise InvalidInputError(f"n_classes must be ≥ 1 object class, got {self.n_classes}")
        reserved = sorted({"min_size", "max_size", "train_encoder", "n_classes"}
                          & set(self.head_options or {}))
        if reserved:
            raise InvalidInputError(
                f"head_options may not set {', '.join(reserved)}: the run sets them (input_size, "
                "protocol, task)"
            )

    def model_notes(self) -> list[str]:
        """Why there is no feature cache with a frozen encoder (or what whole model was built)."""
        whole = whole_model_of(self.encoder, "detection")
        if whole is not None:
            return whole_model_notes(whole, self.train_encoder)
        if self.train_encoder:
            return []
        return ["feature cache: off (detection recomputes the frozen encoder's features every "
                "epoch)"]

    def build_model(self) -> nn.Module:
        """A fresh detector around the encoder, for images of the input size (or Mars-Bench's
        whole detector, which resizes images itself as torchvision's defaults do)."""
        whole = whole_model_of(self.encoder, "detection")
        if whole is not None:
            return build_whole_model(whole, n_classes=self.n_classes,
                                     train_encoder=self.train_encoder)
        side = self.side()
        return build_detector(self.head or self.default_head, self.encoder,
                              n_classes=self.n_classes, train_encoder=self.train_encoder,
                              min_size=side, max_size=side, **(self.head_options or {}))

    def trainable(self) -> nn.Module:
        """The detector, without its encoder when the encoder is frozen (what the best
        checkpoint copies); a whole detector whole (its frozen parameters do not train)."""
        if self.train_encoder or isinstance(self.encoder, WholeModel):
            return self.model_
        inner: Any = self.model_.model
        parts: dict[str, nn.Module] = {n: m for n, m in inner.named_children() if n != "backbone"}
        backbone: Any = inner.backbone
        parts["fpn"] = backbone.fpn
        if backbone.neck is not None:
            parts["neck"] = backbone.neck
        return nn.ModuleDict(parts)

    # -------------------------------------------------------------------------------- data

    def _prepare(self, samples: SampleDataset, indices: Sequence[int], *, training: bool) -> _Split:
        idx = list(indices)
        boxes, labels, dropped = [], [], 0
        for i in idx:
            b, lab, d = scaled_boxes(samples[i], self.side(), self.n_classes, str(i))
            boxes.append(b)
            labels.append(lab)
            dropped += d
        if dropped:
            self.notes_.append(f"{dropped} box(es) empty after resizing to {self.side()} px "
                               "were dropped")
        gen = torch.Generator().manual_seed(self.seed + 1) if training and self.augment else None
        return _Split(samples, idx, boxes, labels, gen, dropped)

    def _batch(self, split: _Split, rows: Sequence[int]
               ) -> tuple[list[Tensor], list[dict[str, Tensor]]]:
        n_bands = self.band_stats_.n_bands
        images, targets = [], []
        for r in rows:
            image = resize_image(sample_image(split.samples[split.indices[r]], n_bands, str(r)),
                                 self.side())
            boxes = split.boxes[r]
            if split.generator is not None:
                image, boxes = augment_detection(image, boxes, split.generator)
            images.append(self.standardise_(image))
            targets.append({"boxes": boxes.to(self.device_),
                            "labels": split.labels[r].to(self.device_)})
        batch = self._encode_input(torch.stack(images).to(self.device_))
        return list(batch), targets

    # ------------------------------------------------------------------------------- loops

    def _train_epoch(self, src: _Split, gen: torch.Generator, optimiser: torch.optim.Optimizer,
                     epoch: int) -> float:
        losses = []
        for rows in batches(len(src), self.batch_size, gen):
            images, targets = self._batch(src, rows)
            losses.append(self._step(detection_loss(self.model_(images, targets)), optimiser,
                                     epoch))
        return float(np.mean(losses))

    def _evaluate(self, src: _Split, *, with_loss: bool) -> tuple[dict[str, Any], float | None]:
        meter = DetectionMeter(tuple(self.class_names))
        total, n = 0.0, 0
        model: Detector = self.model_  # type: ignore[assignment]
        with torch.no_grad():
            for rows in batches(len(src), self.batch_size, None):
                images, targets = self._batch(src, rows)
                model.eval()
                preds = model(images)
                meter.update([{k: v.cpu() for k, v in p.items()} for p in preds],
                             [{k: v.cpu() for k, v in t.items()} for t in targets])
                if with_loss:
                    model.train()
                    with torch.random.fork_rng(devices=[]):  # proposal sampling: RNG untouched
                        total += float(detection_loss(model(images, targets))) * len(rows)
                    n += len(rows)
                    model.eval()
        return meter.compute(), (total / n if with_loss and n else None)

    def encoder_parameters(self) -> int:
        """Parameters of the encoder (of a whole detector: its backbone without the FPN)."""
        if not isinstance(self.encoder, WholeModel):
            return super().encoder_parameters()
        self._check_fitted()
        inner: Any = self.model_.model
        backbone: Any = inner.backbone
        return sum(p.numel() for p in getattr(backbone, "body", backbone).parameters())

    def forward_batch(self, images: Tensor) -> Any:
        """Detections of standardised images (B, C, H, W)."""
        self._check_fitted()
        return self.model_(list(self._encode_input(images)))


__all__ = ["DetectionProtocol", "scaled_boxes"]
