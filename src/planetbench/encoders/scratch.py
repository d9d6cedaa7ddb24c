"""From-scratch baselines of Cryo-Bench: a UNet encoder and a small ViT, for any input bands.

Both are trained from random initialisation by the ``finetune`` protocol; they tell how much a
foundation model adds over learning the task alone (Cryo-Bench, PANGAEA's ``unet_encoder`` and
``vit_scratch`` baselines). This module also holds :class:`TimmViTEncoder`, the multi-level
wrapper that every plain ViT in the zoo shares.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from planetbench.encoders.base import (
    ENCODERS,
    Encoder,
    EncoderSpec,
    ModelEncoder,
    RegisteredEncoder,
    TinyVariant,
)
from planetbench.encoders.weights import (
    load_weights,
    pos_embed_key_map,
    prepare_weights,
)
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import Band

_M = TypeVar("_M", bound=nn.Module)

CRYO_BENCH_CITATION = (
    "Cryo-Bench: a benchmark of geospatial foundation models for cryosphere applications "
    "(https://github.com/Sk-2103/Cryo-Bench)"
)


def check_input(x: Tensor, n_channels: int, name: str, *, size: int | None = None) -> None:
    """Raise a clear error unless ``x`` is (B, n_channels, H, W) (and H = W = size if given)."""
    if x.ndim != 4 or x.shape[1] != n_channels:
        raise InvalidInputError(
            f"encoder {name!r} expects a batch of shape (B, {n_channels}, H, W); got "
            f"{tuple(x.shape)}. Align the task's bands with planetbench.encoders.bands first"
        )
    if size is not None and (x.shape[-2] != size or x.shape[-1] != size):
        raise InvalidInputError(
            f"encoder {name!r} was built for {size}x{size} inputs; got "
            f"{x.shape[-2]}x{x.shape[-1]}. Resize or tile the images to {size}x{size}, or build "
            f"the encoder with img_size={x.shape[-1]}"
        )


def tokens_to_map(tokens: Tensor, grid: tuple[int, int]) -> Tensor:
    """(B, N, D) patch tokens → (B, D, H', W') map, with N = H' * W'."""
    b, n, d = tokens.shape
    if n != grid[0] * grid[1]:
        raise InvalidInputError(f"{n} tokens do not fill a {grid[0]}x{grid[1]} grid")
    return tokens.transpose(1, 2).reshape(b, d, grid[0], grid[1])


class TimmViTEncoder(ModelEncoder):
    """A timm ``VisionTransformer`` returning several intermediate blocks as stride-p maps.

    Args:
        model: a timm VisionTransformer built with ``dynamic_img_size=True`` and no head.
        spec: the spec of this instance (channels and strides of the chosen blocks).
        indices: block indices returned by :meth:`features`.
        pooled_head: :meth:`embed` returns the model's own pooled head output (CLIP's projected
            class token) instead of the mean patch token.
        fixed_size: the square input size the model needs, if it cannot take other sizes.
    """

    def __init__(
        self,
        model: nn.Module,
        spec: EncoderSpec,
        indices: Sequence[int],
        *,
        pooled_head: bool = False,
        fixed_size: int | None = None,
    ) -> None:
        super().__init__(model, spec)
        self.indices = list(indices)
        self.pooled_head = pooled_head
        self.fixed_size = fixed_size

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of the chosen blocks, each (B, D, H / p, W / p) for patch size p."""
        check_input(x, len(self.spec.bands), self.spec.name, size=self.fixed_size)
        out = self.model.forward_intermediates(
            x, indices=self.indices, intermediates_only=True, output_fmt="NCHW"
        )
        return list(out)

    def embed(self, x: Tensor) -> Tensor:
        """Mean of the final normalised patch tokens, or the model's pooled head, (B, D)."""
        check_input(x, len(self.spec.bands), self.spec.name, size=self.fixed_size)
        tokens = self.model.forward_features(x)
        if self.pooled_head:
            return self.model.forward_head(tokens)
        return tokens[:, self.model.num_prefix_tokens :].mean(dim=1)


def build_timm_vit(
    *,
    in_chans: int,
    img_size: int,
    patch_size: int,
    embed_dim: int,
    depth: int,
    num_heads: int,
    **kwargs: Any,
) -> nn.Module:
    """A timm ViT without head that accepts any input size divisible by ``patch_size``."""
    import timm

    return timm.create_model(
        "vit_small_patch16_224",
        pretrained=False,
        num_classes=0,
        in_chans=in_chans,
        img_size=img_size,
        patch_size=patch_size,
        embed_dim=embed_dim,
        depth=depth,
        num_heads=num_heads,
        dynamic_img_size=True,
        **kwargs,
    )


def _conv_block(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class UNetEncoder(Encoder):
    """Contracting path of a UNet (Ronneberger et al. 2015, https://arxiv.org/abs/1505.04597).

    Args:
        in_chans: number of input channels (the task's bands).
        channels: channels of each level; level i has stride 2**i.
        spec: the spec of this instance.
    """

    def __init__(self, in_chans: int, channels: Sequence[int], spec: EncoderSpec) -> None:
        super().__init__()
        self.spec = spec
        self.in_chans = in_chans
        widths = [in_chans, *channels]
        self.levels = nn.ModuleList(
            _conv_block(widths[i], widths[i + 1]) for i in range(len(channels))
        )
        self.pool = nn.MaxPool2d(2)

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps of every level, (B, C_i, H / 2**i, W / 2**i), finest first."""
        check_input(x, self.in_chans, self.spec.name)
        maps = []
        for i, level in enumerate(self.levels):
            x = level(x if i == 0 else self.pool(x))
            maps.append(x)
        return maps


UNET_CHANNELS = (64, 128, 256, 512)
UNET_TINY_CHANNELS = (8, 16, 32, 64)

UNET_SPEC = EncoderSpec(
    name="unet",
    bands=(),
    input_size=224,
    feature_strides=(1, 2, 4, 8),
    feature_channels=UNET_CHANNELS,
    embed_dim=UNET_CHANNELS[-1],
    licence="MIT (planetbench code; no weights)",
    citation="Ronneberger et al., U-Net, MICCAI 2015; " + CRYO_BENCH_CITATION,
    tiny=TinyVariant(feature_channels=UNET_TINY_CHANNELS, embed_dim=UNET_TINY_CHANNELS[-1]),
)

#: ViT-S/16 (Dosovitskiy et al. 2021) trained from scratch; blocks 3, 5, 7, 11 as in PANGAEA.
VIT_FULL = {"patch_size": 16, "embed_dim": 384, "depth": 12, "num_heads": 6}
VIT_FULL_INDICES = (3, 5, 7, 11)
VIT_TINY = {"patch_size": 8, "embed_dim": 32, "depth": 4, "num_heads": 2}
VIT_TINY_INDICES = (0, 1, 2, 3)

VIT_SPEC = EncoderSpec(
    name="vit",
    bands=(),
    input_size=224,
    feature_strides=(16,) * 4,
    feature_channels=(384,) * 4,
    embed_dim=384,
    licence="MIT (planetbench code; no weights)",
    citation="Dosovitskiy et al., An Image is Worth 16x16 Words, ICLR 2021; " + CRYO_BENCH_CITATION,
    tiny=TinyVariant(feature_strides=(8,) * 4, feature_channels=(32,) * 4, embed_dim=32),
)


#: Input size the tiny variants are built for (tests use 32x32 images).
TINY_INPUT_SIZE = 32


def instance_spec(spec: EncoderSpec, *, tiny: bool, **changes: Any) -> EncoderSpec:
    """The spec of one built encoder: the registered spec, its tiny overrides, then ``changes``."""
    overrides: dict[str, Any] = {"input_size": TINY_INPUT_SIZE} if tiny else {}
    if tiny:
        small = spec.tiny
        overrides.update(
            (name, value)
            for name, value in (
                ("feature_strides", small.feature_strides),
                ("feature_channels", small.feature_channels),
                ("embed_dim", small.embed_dim),
            )
            if value is not None
        )
    overrides.update(changes)
    return dataclasses.replace(spec, **overrides)


def _in_bands(in_bands: Sequence[Band] | None, name: str) -> tuple[Band, ...]:
    if not in_bands:
        raise InvalidInputError(
            f"encoder {name!r} is built for the task's bands: pass in_bands (the task's bands)"
        )
    return tuple(in_bands)


def _seeded(seed: int | None, build: Callable[[], _M]) -> _M:
    """Run ``build`` with torch's global generator seeded by ``seed`` (restored afterwards)."""
    if seed is None:
        return build()
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InvalidInputError(f"seed must be an integer >= 0 or None; got {seed!r}")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()


def build_unet(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    seed: int | None = None,
    **options: Any,
) -> UNetEncoder:
    """UNet encoder from scratch for ``in_bands``; ``weights`` may be a trained checkpoint.

    ``seed`` (optional) seeds the random initialisation; without it torch's global generator
    is used as it stands (the runner seeds it per run).
    """
    bands = _in_bands(in_bands, "unet")
    found = prepare_weights(UNET_SPEC, weights, tiny=tiny, from_scratch=True)
    channels = UNET_TINY_CHANNELS if tiny else tuple(options.pop("channels", UNET_CHANNELS))
    _no_options(options, "unet")
    spec = instance_spec(
        UNET_SPEC, tiny=tiny, bands=bands, feature_channels=channels, embed_dim=channels[-1]
    )
    encoder = _seeded(seed, lambda: UNetEncoder(len(bands), channels, spec))
    if found is not None:
        encoder.load_report = load_weights(encoder, spec, source=found)
    return encoder


def build_vit(
    *,
    in_bands: Sequence[Band] | None = None,
    tiny: bool = False,
    weights: str | Path | None = None,
    seed: int | None = None,
    **options: Any,
) -> TimmViTEncoder:
    """Small ViT from scratch for ``in_bands``; ``weights`` may be a trained checkpoint.

    ``seed`` (optional) seeds the random initialisation, as for :func:`build_unet`.
    """
    bands = _in_bands(in_bands, "vit")
    found = prepare_weights(VIT_SPEC, weights, tiny=tiny, from_scratch=True)
    arch = VIT_TINY if tiny else VIT_FULL
    indices = VIT_TINY_INDICES if tiny else VIT_FULL_INDICES
    img_size = int(options.pop("img_size", TINY_INPUT_SIZE if tiny else VIT_SPEC.input_size))
    _no_options(options, "vit")
    spec = instance_spec(VIT_SPEC, tiny=tiny, bands=bands, input_size=img_size)
    model = _seeded(seed, lambda: build_timm_vit(in_chans=len(bands), img_size=img_size, **arch))
    encoder = TimmViTEncoder(model, spec, indices)
    if found is not None:
        encoder.load_report = load_weights(
            model, spec, source=found, key_map=pos_embed_key_map(model)
        )
    return encoder


def _no_options(options: dict[str, Any], name: str) -> None:
    if options:
        raise InvalidInputError(
            f"encoder {name!r} got unknown options {sorted(options)}; remove them"
        )


ENCODERS.register("unet", RegisteredEncoder(UNET_SPEC, build_unet))
ENCODERS.register("vit", RegisteredEncoder(VIT_SPEC, build_vit))

__all__ = [
    "TimmViTEncoder",
    "UNetEncoder",
    "build_timm_vit",
    "build_unet",
    "build_vit",
    "check_input",
    "instance_spec",
    "tokens_to_map",
]
