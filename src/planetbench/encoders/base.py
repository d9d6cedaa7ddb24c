"""Encoder interface and EncoderSpec.

An encoder is a ``torch.nn.Module`` that maps an image batch (B, C, H, W), already aligned to its
declared input bands and normalised, to multi-scale feature maps (``features``) and to one vector
per image (``embed``).
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor, nn

from planetbench.errors import InvalidInputError
from planetbench.registry import Registry
from planetbench.tasks.bands import Band

WeightsSource = Literal["url", "torchgeo", "timm", "terratorch", "file"]
"""Who publishes an encoder's weights: a plain ``url``, the library whose tables list the file
(``torchgeo``, ``timm``, ``terratorch``), or ``file`` (published, but only by hand: see
:attr:`PretrainedWeights.page`)."""

Library = Literal["timm", "torchgeo", "torchvision", "terratorch", "smp", "planetbench"]
"""The library whose code builds an architecture."""


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


#: ``PretrainedWeights.sha256_note`` of files whose name carries a SHA-256 prefix (torch hub's
#: ``name-<hex>.pth`` convention) but whose full digest is not published.
HASH_PREFIX_NOTE = (
    "no full SHA-256 is published; the file name carries its first hex digits (torch hub's "
    "convention), and those are checked"
)
#: ``PretrainedWeights.sha256_note`` of Hugging Face files fetched at a pinned commit.
PINNED_REVISION_NOTE = (
    "no SHA-256 is published; the URL pins a Hugging Face commit, so the file cannot change "
    "under it"
)
#: ``PretrainedWeights.sha256_note`` of Hugging Face files fetched from the main branch.
MAIN_BRANCH_NOTE = (
    "no SHA-256 is published; the URL follows the repository's main branch (the upstream "
    "library downloads the same file unchecked)"
)


_HASH_PREFIX = re.compile(r"-([0-9a-f]{8,64})\.")
"""A SHA-256 prefix in a file name, as torch hub writes them (``resnet50-0676ba61.pth``); at
least 8 hex digits, so that a name such as ``ViT-B-32.pt`` does not count."""


@dataclass(frozen=True)
class PretrainedWeights:
    """The published weights of an encoder: where they are, how to check and how to feed them.

    The counterpart of timm's ``PretrainedCfg`` and torchgeo's ``Weights`` for one
    (architecture, weights) pair; the licence and the paper of the pair are
    :attr:`EncoderSpec.licence` and :attr:`EncoderSpec.citation`.

    Attributes:
        source: who publishes them (see :data:`WeightsSource`).
        url: direct download URL ('' when they can only be downloaded by hand: see ``page``).
        hf_hub_id: Hugging Face repository holding the file (``"owner/name"``), '' if none.
        hf_filename: file name in that repository.
        sha256: published SHA-256 (64 hex digits) of the file, or None; ``sha256_note`` then
            says why and what is checked instead.
        sha256_note: why there is no ``sha256`` (required when it is None).
        page: where to get weights that cannot be downloaded automatically ('' if none).
        mean: per-band normalisation mean the weights were trained with (``EncoderSpec.bands``
            order), if fixed.
        std: per-band normalisation std.
        normalisation: the normalisation in words when it cannot be given as ``mean``/``std``
            (e.g. sensor-dependent), or a note on them.
        pretraining: the pretraining method (``"moco"``, ``"dino"``, ``"mae"`` …), if named.
        allowed_missing_keys: state-dict keys of the model that may be absent from the file
            (e.g. a buffer the model recomputes).
        ignored_prefixes: checkpoint key prefixes dropped on purpose (e.g. an MAE decoder or a
            classification head the encoder does not build).
    """

    source: WeightsSource
    url: str = ""
    hf_hub_id: str = ""
    hf_filename: str = ""
    sha256: str | None = None
    sha256_note: str = ""
    page: str = ""
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    normalisation: str = ""
    pretraining: str = ""
    allowed_missing_keys: tuple[str, ...] = ()
    ignored_prefixes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.sha256 is not None:
            digest = self.sha256.lower()
            if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
                raise InvalidInputError(
                    f"weights sha256 {self.sha256!r} is not 64 hexadecimal digits; give the full "
                    "SHA-256 of the file, or None with sha256_note saying why"
                )
        elif not self.sha256_note:
            raise InvalidInputError(
                f"weights {self.url or self.page or self.hf_hub_id!r} have no sha256: say why "
                "in sha256_note"
            )
        if (self.mean is None) != (self.std is None) or (
            self.mean is not None and self.std is not None and len(self.mean) != len(self.std)
        ):
            raise InvalidInputError(
                "weights mean and std must both be given, with one value per band, or both None"
            )
        if not self.url and not self.page:
            raise InvalidInputError(
                "weights need a download url or a page saying where to get them by hand"
            )

    @property
    def file_name(self) -> str:
        """Name of the file at ``url`` ('' without a URL)."""
        return Path(urllib.parse.urlparse(self.url).path).name if self.url else ""

    @property
    def hash_prefix(self) -> str | None:
        """The SHA-256 prefix carried by the file name (torch hub's ``name-<hex>.ext``), if any.

        Example:
            >>> PretrainedWeights("url", "https://x.org/dofa-a0275954.pth", sha256_note="-").hash_prefix
            'a0275954'
            >>> PretrainedWeights("url", "https://x.org/ViT-B-32.pt", sha256_note="-").hash_prefix is None
            True
        """
        found = _HASH_PREFIX.search(self.file_name)
        return found.group(1) if found else None


@dataclass(frozen=True)
class TinyVariant:
    """What differs in the tiny test variant of an encoder (None: as in the full variant).

    The tiny variant is always built for :data:`~planetbench.encoders.scratch.TINY_INPUT_SIZE`
    px inputs.
    """

    feature_strides: tuple[int, ...] | None = None
    feature_channels: tuple[int, ...] | None = None
    embed_dim: int | None = None


@dataclass(frozen=True)
class Architecture:
    """The upstream architecture an encoder is built from.

    Attributes:
        library: the library whose code builds it.
        name: its name there: a timm model name (``"resnet50"``), a terratorch backbone id
            (``"terratorch_prithvi_eo_v2_300"``) …
        tiny_name: the model of the tiny variant in the same library ('' if built otherwise).
        family: a model family sharing one builder (``"prithvi"``, ``"terramind"``), if any.
        modalities: the upstream input modalities built (TerraMind: ``("S2L2A", "S1GRD")``).
        upstream_bands: the upstream names of ``EncoderSpec.bands``, same order, if they differ.
        window_size: attention window of a Swin Transformer, when not the library's default.
    """

    library: Library
    name: str
    tiny_name: str = ""
    family: str = ""
    modalities: tuple[str, ...] = ()
    upstream_bands: tuple[str, ...] = ()
    window_size: int | None = None


@dataclass(frozen=True)
class EncoderSpec:
    """Facts about one (architecture, weights) pair, i.e. one leaderboard row.

    Attributes:
        name: registry id, lower-case and hyphenated (``"dofa-base"``).
        bands: input bands in the order the encoder expects; empty means "any bands" (baselines
            built for the task's own bands).
        input_size: expected square input size in pixels.
        feature_strides: stride of each map returned by ``features``.
        feature_channels: channels of each map returned by ``features``.
        embed_dim: length of the vector returned by ``embed``.
        out_indices: transformer blocks whose outputs ``features`` returns (full variant).
        weights: the published weights; None for encoders without any (from-scratch and
            content-free baselines).
        architecture: the upstream architecture it is built from, if one is named.
        tiny: what differs in the tiny test variant.
        wavelength_conditioned: True when ``forward`` takes the input wavelengths (DOFA).
        baseline: True for the content-free baselines (``random``, ``averaging``, ``mosaiks``).
        licence: licence of the weights (of the code when there are no weights).
        citation: paper(s) to cite.
        available: False when no installable implementation exists; ``unavailable_reason`` says why.
        unavailable_reason: why it cannot be built ('' when available).
        requires: optional modules it needs beyond the ``dense`` extra.
        whole_model: for a whole-model baseline (encoder, decoder or detector and head in one
            module, as Mars-Bench trains its segmenters and detectors), the task kind it is
            built for (``segmentation`` or ``detection``); '' for an encoder. A whole model
            has no ``features``/``embed``: ``planetbench run`` trains it as it is.
    """

    name: str
    bands: tuple[Band, ...] = ()
    input_size: int = 224
    feature_strides: tuple[int, ...] = ()
    feature_channels: tuple[int, ...] = ()
    embed_dim: int = 0
    out_indices: tuple[int, ...] = ()
    weights: PretrainedWeights | None = None
    architecture: Architecture | None = None
    tiny: TinyVariant = TinyVariant()
    wavelength_conditioned: bool = False
    baseline: bool = False
    licence: str = ""
    citation: str = ""
    available: bool = True
    unavailable_reason: str = ""
    requires: tuple[str, ...] = ()
    whole_model: str = ""

    @property
    def weights_sha256(self) -> str:
        """The declared SHA-256 of the weights, '' when none is declared (enters run keys)."""
        return (self.weights.sha256 or "") if self.weights is not None else ""

    @property
    def weights_url(self) -> str:
        """Download URL of the weights, '' when there is none."""
        return self.weights.url if self.weights is not None else ""


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
