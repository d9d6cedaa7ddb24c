"""Image classification heads on any encoder: binary (one logit), multi-class and multi-label.

An encoder (``planetbench.encoders.Encoder``) gives one vector per image, either ``embed(x)`` or
the global average of its last feature map; a head maps that vector to logits:

* ``binary``: ONE logit per image, shape (B,); trained with ``BCEWithLogitsLoss`` on 0/1 targets
  and predicted positive when ``logit > 0`` (Mars-Bench's binary set-up: ``num_classes: 1``).
* ``multiclass``: K logits, shape (B, K); ``CrossEntropyLoss`` on class ids; prediction = argmax.
* ``multilabel``: L logits, shape (B, L), one sigmoid per label; ``BCEWithLogitsLoss`` on 0/1
  indicators; label l predicted when ``logit > 0``.

The task kinds of :class:`~planetbench.tasks.spec.TaskSpec` map onto these: ``classification``
(binary) → ``binary``. :class:`EncoderClassifier` joins an encoder and a head and implements
Mars-Bench's training types: ``train_encoder=False`` is ``feature_extraction`` (frozen encoder,
kept in eval mode, so its pooled vectors can be cached), ``train_encoder=True`` is
``transfer_learning`` (and ``scratch_training`` with a randomly initialised encoder).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.registry import Registry

ClassificationKind = Literal["binary", "multiclass", "multilabel"]
CLASSIFICATION_KINDS: tuple[str, ...] = ("binary", "multiclass", "multilabel")
PoolChoice = Literal["embed", "avg"]
POOL_CHOICES: tuple[str, ...] = ("embed", "avg")


def head_kind(kind: str) -> ClassificationKind:
    """The head kind of a task kind (TaskSpec's ``classification`` = ``binary``).

    Raises:
        InvalidInputError: ``kind`` is not a classification kind.
    """
    if kind == "classification":
        return "binary"
    if kind not in CLASSIFICATION_KINDS:
        raise InvalidInputError(
            f"kind {kind!r} is not a classification kind; use one of "
            f"{', '.join(CLASSIFICATION_KINDS)} (or the task kind 'classification' for binary)"
        )
    return kind  # type: ignore[return-value]


def n_logits(kind: str, n_classes: int) -> int:
    """Number of logits a head outputs: 1 for binary (which must have 2 classes), else n_classes.

    Raises:
        InvalidInputError: binary with n_classes ≠ 2, multi-class with < 2 classes, multi-label
            with < 1 label.
    """
    k = head_kind(kind)
    if k == "binary" and n_classes != 2:
        raise InvalidInputError(
            f"a binary head scores 2 classes with one logit; got n_classes={n_classes} (use "
            "kind='multiclass' for more classes)"
        )
    if k == "multiclass" and n_classes < 2:
        raise InvalidInputError(f"a multiclass head needs n_classes ≥ 2, got {n_classes}")
    if k == "multilabel" and n_classes < 1:
        raise InvalidInputError(f"a multilabel head needs n_classes ≥ 1 labels, got {n_classes}")
    return 1 if k == "binary" else n_classes


class ClassificationHead(nn.Module):
    """Linear classifier (or MLP) of one vector per image.

    Args:
        in_dim: length D of the input vectors.
        n_classes: number of classes (2 for binary) or labels (multi-label).
        kind: ``binary``, ``multiclass`` or ``multilabel`` (or TaskSpec's ``classification``).
        hidden: widths of hidden layers (Linear → GELU → Dropout each); empty for a linear head.
        dropout: dropout probability before every linear layer but the first.

    Attributes:
        n_outputs: logits per image (1 for binary).
    """

    def __init__(
        self,
        in_dim: int,
        n_classes: int,
        kind: str = "multiclass",
        hidden: Sequence[int] = (),
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if in_dim < 1:
            raise InvalidInputError(f"in_dim must be ≥ 1, got {in_dim}")
        if not 0.0 <= dropout < 1.0:
            raise InvalidInputError(f"dropout must lie in [0, 1), got {dropout}")
        if any(h < 1 for h in hidden):
            raise InvalidInputError(f"hidden widths must be ≥ 1, got {tuple(hidden)}")
        self.kind: ClassificationKind = head_kind(kind)
        self.n_outputs = n_logits(self.kind, n_classes)
        layers: list[nn.Module] = []
        width = in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.GELU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, self.n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        """Logits: (B,) for binary, (B, K) otherwise, from vectors (B, D)."""
        out: Tensor = self.layers(x)
        return out[:, 0] if self.kind == "binary" else out


ClassificationHeadFactory = Callable[..., nn.Module]
"""``factory(in_dim, n_classes, kind, **options) -> nn.Module`` mapping (B, D) to logits."""

CLASSIFICATION_HEADS: Registry[ClassificationHeadFactory] = Registry(
    "classification head", entry_point_group="planetbench.classification_heads"
)


def _linear(in_dim: int, n_classes: int, kind: str = "multiclass") -> ClassificationHead:
    """A linear layer (Mars-Bench's replaced last layer)."""
    return ClassificationHead(in_dim, n_classes, kind)


def _mlp(
    in_dim: int,
    n_classes: int,
    kind: str = "multiclass",
    hidden: Sequence[int] = (256,),
    dropout: float = 0.1,
) -> ClassificationHead:
    """A one-hidden-layer MLP (width 256, dropout 0.1 by default)."""
    return ClassificationHead(in_dim, n_classes, kind, hidden=hidden, dropout=dropout)


CLASSIFICATION_HEADS.register("linear", _linear)
CLASSIFICATION_HEADS.register("mlp", _mlp)


def build_classification_head(
    name: str, *, in_dim: int, n_classes: int, kind: str, **options: Any
) -> nn.Module:
    """Build the registered classification head ``name`` (``linear``, ``mlp`` or a plugin).

    Raises:
        UnknownNameError: ``name`` is not registered (with did-you-mean).
        InvalidInputError: bad dimensions, class count or options.
    """
    factory = CLASSIFICATION_HEADS.get(name)
    try:
        inspect.signature(factory).bind(in_dim, n_classes, kind, **options)
    except TypeError as exc:
        raise InvalidInputError(
            f"classification head {name!r} does not take the options {sorted(options)} ({exc}); "
            f"its parameters: {inspect.signature(factory)}"
        ) from exc
    return factory(in_dim, n_classes, kind, **options)


def pooled_dim(encoder: nn.Module, pool: str) -> int:
    """Length of the vector :class:`EncoderClassifier` takes from ``encoder`` with ``pool``.

    ``embed`` → ``spec.embed_dim``; ``avg`` (global average of the last feature map) →
    ``spec.feature_channels[-1]``.

    Raises:
        InvalidInputError: unknown pool, or the encoder has no spec.
    """
    if pool not in POOL_CHOICES:
        raise InvalidInputError(f"pool {pool!r} is not one of {', '.join(POOL_CHOICES)}")
    spec = getattr(encoder, "spec", None)
    if spec is None:
        raise InvalidInputError("the encoder has no spec; build it with planetbench's registry")
    return int(spec.embed_dim if pool == "embed" else spec.feature_channels[-1])


class EncoderClassifier(nn.Module):
    """An encoder, a pooling of its output and a classification head: images → logits.

    Args:
        encoder: a planetbench encoder (``features(x)``, ``embed(x)``, ``spec``).
        head: maps (B, D) vectors to logits (see :class:`ClassificationHead`).
        pool: ``embed`` (the encoder's ``embed``) or ``avg`` (global average of its last map).
        train_encoder: False freezes the encoder (``requires_grad`` off, always in eval mode, run
            without autograd): Mars-Bench's ``feature_extraction``. True trains it end to end.
    """

    def __init__(
        self,
        encoder: nn.Module,
        head: nn.Module,
        *,
        pool: PoolChoice = "embed",
        train_encoder: bool = False,
    ) -> None:
        super().__init__()
        if pool not in POOL_CHOICES:
            raise InvalidInputError(f"pool {pool!r} is not one of {', '.join(POOL_CHOICES)}")
        self.encoder: Any = encoder
        self.head = head
        self.pool = pool
        self.train_encoder = train_encoder
        if not train_encoder:
            encoder.requires_grad_(False)
            encoder.eval()

    def train(self, mode: bool = True) -> EncoderClassifier:
        """Set train/eval mode; a frozen encoder stays in eval mode (fixed BatchNorm statistics)."""
        super().train(mode)
        if not self.train_encoder:
            self.encoder.eval()
        return self

    def pooled(self, x: Tensor) -> Tensor:
        """One vector per image (B, D) from images (B, C, H, W); no autograd when frozen."""
        with torch.set_grad_enabled(self.train_encoder and torch.is_grad_enabled()):
            if self.pool == "embed":
                out: Tensor = self.encoder.embed(x)
            else:
                out = self.encoder.features(x)[-1].mean(dim=(-2, -1))
        return out

    def forward(self, x: Tensor) -> Tensor:
        """Logits from images (B, C, H, W): (B,) for binary heads, (B, K) otherwise."""
        out: Tensor = self.head(self.pooled(x))
        return out


def build_classifier(
    encoder: nn.Module,
    *,
    n_classes: int,
    kind: str,
    head: str = "linear",
    pool: PoolChoice = "embed",
    train_encoder: bool = False,
    **head_options: Any,
) -> EncoderClassifier:
    """An :class:`EncoderClassifier` with the registered head ``head`` sized for ``encoder``.

    Args:
        encoder: a planetbench encoder.
        n_classes: classes (2 for binary) or labels.
        kind: ``binary`` (or ``classification``), ``multiclass`` or ``multilabel``.
        head: registered head id (``linear``, ``mlp``).
        pool: ``embed`` or ``avg``.
        train_encoder: see :class:`EncoderClassifier`.
        **head_options: passed to the head factory (``hidden``, ``dropout`` for ``mlp``).
    """
    in_dim = pooled_dim(encoder, pool)
    module = build_classification_head(head, in_dim=in_dim, n_classes=n_classes, kind=kind,
                                       **head_options)
    return EncoderClassifier(encoder, module, pool=pool, train_encoder=train_encoder)


def classification_loss(kind: str, logits: Tensor, target: Tensor) -> Tensor:
    """Mean training loss of a batch, as Mars-Bench's criterion for each kind.

    Args:
        kind: ``binary`` (or ``classification``), ``multiclass`` or ``multilabel``.
        logits: (B,) binary, (B, K) multi-class, (B, L) multi-label.
        target: (B,) 0/1 (binary), (B,) class ids (multi-class), (B, L) 0/1 (multi-label).

    Returns:
        Scalar: ``BCEWithLogitsLoss`` (binary, multi-label) or ``CrossEntropyLoss`` (multi-class).

    Raises:
        InvalidInputError: shapes do not fit the kind.
    """
    k = head_kind(kind)
    if k == "multiclass":
        if logits.ndim != 2 or target.shape != logits.shape[:1]:
            raise InvalidInputError(
                f"multiclass loss needs logits (B, K) and class ids (B,); got "
                f"{tuple(logits.shape)} and {tuple(target.shape)}"
            )
        return F.cross_entropy(logits, target.long())
    if logits.shape != target.shape:
        raise InvalidInputError(
            f"{k} loss needs logits and 0/1 targets of equal shape ((B,) binary, (B, L) "
            f"multilabel); got {tuple(logits.shape)} and {tuple(target.shape)}"
        )
    return F.binary_cross_entropy_with_logits(logits, target.to(logits.dtype))


__all__ = [
    "CLASSIFICATION_HEADS",
    "CLASSIFICATION_KINDS",
    "POOL_CHOICES",
    "ClassificationHead",
    "ClassificationKind",
    "EncoderClassifier",
    "build_classification_head",
    "build_classifier",
    "classification_loss",
    "head_kind",
    "n_logits",
    "pooled_dim",
]
