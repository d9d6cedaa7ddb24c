"""Encoder interface and EncoderSpec.

An encoder is a ``torch.nn.Module`` that maps an image batch (B, C, H, W), already aligned to its
declared input bands and normalised, to multi-scale feature maps (``features``) and to one vector
per image (``embed``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from planetbench.registry import Registry
from planetbench.tasks.bands import Band

WeightsSource = Literal["none", "url", "hub", "torchgeo", "timm", "terratorch", "file"]


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_weights` loaded, to record in a Result.

    Attributes:
        origin: ``"file"`` (``--weights PATH``), ``"cache"`` or ``"download"``.
        path: file the weights were read from.
        url: the spec's URL ('' for a local file).
        sha256: checksum of the file that was read.
        n_tensors: number of tensors loaded into the model.
        missing_allowed: keys absent from the checkpoint that the spec allows to be missing.
        ignored: checkpoint keys dropped because the spec declares them ignored.
    """

    origin: str
    path: Path
    url: str
    sha256: str
    n_tensors: int
    missing_allowed: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()


@dataclass(frozen=True)
class EncoderSpec:
    """Facts about one (architecture, weights) pair, i.e. one leaderboard row.

    Attributes:
        name: registry id, lower-case and hyphenated (``"dofa-base"``).
        bands: input bands in the order the encoder expects; empty means "any bands" (baselines
            built for the task's own bands).
        input_size: expected square input size in pixels.
        mean: per-band normalisation mean (same order as ``bands``), if the weights need one.
        std: per-band normalisation std.
        feature_strides: stride of each map returned by ``features``.
        feature_channels: channels of each map returned by ``features``.
        embed_dim: length of the vector returned by ``embed``.
        weights_source: where pretrained weights come from (``"none"`` for from-scratch baselines).
        weights_url: download URL of the weights, if any.
        weights_sha256: checksum of the weights file, if published.
        allowed_missing_keys: state-dict keys that may be absent when loading (e.g. a dropped head).
        wavelength_conditioned: True when ``forward`` takes the input wavelengths (DOFA).
        licence: licence of the weights.
        citation: paper to cite.
        available: False when no installable implementation exists; ``unavailable_reason`` says why.
    """

    name: str
    bands: tuple[Band, ...] = ()
    input_size: int = 224
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    feature_strides: tuple[int, ...] = ()
    feature_channels: tuple[int, ...] = ()
    embed_dim: int = 0
    weights_source: WeightsSource = "none"
    weights_url: str = ""
    weights_sha256: str = ""
    allowed_missing_keys: tuple[str, ...] = ()
    wavelength_conditioned: bool = False
    licence: str = ""
    citation: str = ""
    available: bool = True
    unavailable_reason: str = ""
    requires: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


class Encoder(nn.Module):
    """Base class: subclasses implement :meth:`features` (and may override :meth:`embed`).

    Attributes:
        spec: the spec of this instance (bands, strides and channels as built).
        load_report: what the strict loader loaded (file, sha256, allowed missing and ignored
            keys) to record with a run; None when the weights are a random initialisation.
    """

    spec: EncoderSpec
    load_report: LoadReport | None = None

    def features(self, x: Tensor) -> list[Tensor]:
        """Multi-scale feature maps, each (B, C_i, H / s_i, W / s_i), finest first."""
        raise NotImplementedError

    def embed(self, x: Tensor) -> Tensor:
        """One vector per image, (B, D): global average of the coarsest feature map by default."""
        return self.features(x)[-1].mean(dim=(-2, -1))

    def forward(self, x: Tensor) -> list[Tensor]:
        """Same as :meth:`features`."""
        return self.features(x)


class ModelEncoder(Encoder):
    """An :class:`Encoder` around an upstream module (timm, torchgeo, terratorch …).

    Args:
        model: the upstream module, kept as ``self.model``.
        spec: the spec of this instance.
    """

    def __init__(self, model: nn.Module, spec: EncoderSpec) -> None:
        super().__init__()
        self.model: Any = model  # upstream module; its attributes are untyped
        self.spec = spec


EncoderFactory = Callable[..., Encoder]
"""``factory(*, in_bands, tiny=False, weights=None, **options) -> Encoder``.

``in_bands`` are the task's bands (used by from-scratch baselines, which take any bands);
``weights`` is ``None`` (the spec's pretrained weights), ``"none"`` (random init, only for
baselines) or a local file path.
"""


@dataclass(frozen=True)
class RegisteredEncoder:
    """An encoder spec and the factory that builds it."""

    spec: EncoderSpec
    factory: EncoderFactory


ENCODERS: Registry[RegisteredEncoder] = Registry(
    "encoder", entry_point_group="planetbench.encoders"
)


def default_device() -> torch.device:
    """CUDA when present, CPU otherwise."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
