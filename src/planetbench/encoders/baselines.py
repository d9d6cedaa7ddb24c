"""Baseline encoders that need no pretrained weights: ``random``, ``averaging`` and ``mosaiks``.

They take any number of input bands (the task's own), so every leaderboard can show how far an
encoder is above chance (``random``), above plain spectral averages (``averaging``), and above
untrained random convolutional features (``mosaiks``).

* ``random`` — a content-free embedding: each image gets a standard Gaussian vector drawn from a
  generator seeded by ``seed`` and a SHA-256 hash of the image's float32 bytes. The same image
  always gets the same vector, two different images get independent vectors, and nothing about the
  vector depends on what the image shows. Its feature maps are Gaussian noise drawn the same way.
* ``averaging`` — NeuCo-Bench's "mean" baseline (Vinge et al. 2025; the embed2scale challenge
  notebook ``baseline_compression_mean``): resample each band to a ``grid`` × ``grid`` image, then
  average groups of correlated bands and flatten. NeuCo-Bench groups B01–B09, B10, B11–B12 and the
  SAR bands; here the groups are derived from the bands' wavelengths in the same spirit: visible
  (< 0.70 µm), red edge / NIR (0.70–1.0 µm), water vapour / cirrus (1.0–1.5 µm), SWIR (≥ 1.5 µm),
  SAR, and one group per other modality. NeuCo-Bench resamples bilinearly; the default here is
  area averaging (``resample="area"``), ``resample="bilinear"`` reproduces NeuCo-Bench.
* ``mosaiks`` — MOSAIKS random convolutional features (Rolf et al. 2021, "A generalizable and
  accessible approach to machine learning with global satellite imagery", Nat. Commun. 12:4392):
  ``K`` filters of ``k`` × ``k`` × C, features ``ReLU(w ⋆ x − b)`` and ``ReLU(−w ⋆ x − b)``
  (2K channels), average-pooled over space. Filters are Gaussian (default; seeded, entries
  N(0, 1 / (C k²))) or, after :meth:`MOSAIKS.fit_patches`, random patches of the data as in the
  paper, without the paper's ZCA whitening (each patch is centred and scaled to unit L2 norm).

Inputs are expected normalised per band (zero mean, unit variance), as ``embed_task`` does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from planetbench.encoders.base import ENCODERS, Encoder, EncoderSpec, RegisteredEncoder
from planetbench.errors import InvalidInputError
from planetbench.tasks.bands import Band

InBands = Sequence[Band] | int

#: Strides of the maps returned by ``features`` of ``random`` and ``mosaiks``.
PYRAMID_STRIDES: tuple[int, ...] = (1, 2, 4, 8)

NEUCO_CITATION = (
    "Vinge et al. 2025, NeuCo-Bench: A Novel Benchmark Framework for Neural Embeddings in Earth "
    "Observation (mean baseline of the 2025 EARTHVISION embed2scale challenge)"
)
MOSAIKS_CITATION = (
    "Rolf et al. 2021, A generalizable and accessible approach to machine learning with global "
    "satellite imagery, Nature Communications 12:4392"
)


def _n_bands(in_bands: InBands) -> int:
    """Number of input channels from a band tuple or a count, validated."""
    if isinstance(in_bands, bool):
        raise InvalidInputError(
            f"in_bands must be a sequence of Band or a positive int; got {in_bands!r}"
        )
    if isinstance(in_bands, int):
        n = in_bands
    else:
        bad = [b for b in in_bands if not isinstance(b, Band)]
        if bad:
            raise InvalidInputError(
                f"in_bands must hold planetbench.tasks.bands.Band objects; got {bad[0]!r}. "
                "Use planetbench.tasks.bands.bands('B02', ...) or pass the number of bands"
            )
        n = len(in_bands)
    if n < 1:
        raise InvalidInputError(f"in_bands must name at least one band; got {in_bands!r}")
    return n


def _instance_bands(in_bands: InBands) -> tuple[Band, ...]:
    """The input bands of a built baseline: the given bands, or ``channel1 … channelC`` (other)."""
    n = _n_bands(in_bands)
    if isinstance(in_bands, int):
        return tuple(Band(f"channel{i + 1}", "other") for i in range(n))
    return tuple(in_bands)


def _positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidInputError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return value


def _check_weights(name: str, weights: str | None) -> None:
    if weights not in (None, "none"):
        raise InvalidInputError(
            f"encoder {name!r} is a baseline without pretrained weights; weights must be None or "
            f"'none', got {weights!r}"
        )


def _check_input(encoder: Encoder, x: Tensor, n_bands: int) -> None:
    if x.ndim != 4 or x.shape[1] != n_bands:
        raise InvalidInputError(
            f"encoder {encoder.spec.name!r} expects a batch of shape (B, {n_bands}, H, W); got "
            f"{tuple(x.shape)}. Align the task's bands to the encoder's in_bands first"
        )


def _pyramid(fmap: Tensor) -> list[Tensor]:
    """Average-pool a stride-1 map to every stride of :data:`PYRAMID_STRIDES` (finest first)."""
    return [fmap if s == 1 else F.avg_pool2d(fmap, s, ceil_mode=True) for s in PYRAMID_STRIDES]


def _image_seeds(x: Tensor, seed: int) -> list[int]:
    """One 63-bit seed per image: SHA-256 of ``seed`` and the image's float32 bytes."""
    arr = x.detach().to("cpu", torch.float32).contiguous().numpy()
    out = []
    for image in arr:
        digest = hashlib.sha256(seed.to_bytes(8, "little", signed=False) + image.tobytes()).digest()
        out.append(int.from_bytes(digest[:8], "little") >> 1)
    return out


class RandomEncoder(Encoder):
    """Content-free baseline: a seeded Gaussian vector per image, keyed by a hash of its pixels.

    Args:
        in_bands: the task's bands (or their number).
        embed_dim: length D of the embedding and channels of each feature map.
        seed: mixes into every image's hash; another seed gives other vectors.
    """

    def __init__(self, in_bands: InBands, *, embed_dim: int = 64, seed: int = 0) -> None:
        super().__init__()
        self.n_bands = _n_bands(in_bands)
        self.embed_dim = _positive_int("embed_dim", embed_dim)
        self.seed = _positive_int("seed", seed, minimum=0)
        self.spec = replace(
            RANDOM_SPEC,
            bands=_instance_bands(in_bands),
            feature_channels=(self.embed_dim,) * len(PYRAMID_STRIDES),
            embed_dim=self.embed_dim,
        )

    def _draw(self, x: Tensor, salt: int, shape: tuple[int, ...]) -> Tensor:
        out = torch.empty((x.shape[0], *shape), dtype=torch.float32)
        for i, s in enumerate(_image_seeds(x, self.seed)):
            gen = torch.Generator().manual_seed((s + salt) % (2**63))
            out[i] = torch.randn(shape, generator=gen)
        return out.to(x.device)

    def features(self, x: Tensor) -> list[Tensor]:
        """Noise maps (B, D, H/s, W/s) for s in (1, 2, 4, 8), fixed per image."""
        _check_input(self, x, self.n_bands)
        noise = self._draw(x, 1, (self.embed_dim, x.shape[-2], x.shape[-1]))
        return _pyramid(noise)

    def embed(self, x: Tensor) -> Tensor:
        """Gaussian vectors (B, D), fixed per image and independent of its content."""
        _check_input(self, x, self.n_bands)
        return self._draw(x, 0, (self.embed_dim,))


def spectral_groups(in_bands: InBands) -> list[list[int]]:
    """Group band indices like NeuCo-Bench's mean baseline (see the module docstring).

    Args:
        in_bands: bands, or a count (then the bands are split into at most 4 contiguous groups).

    Returns:
        Non-empty lists of band indices, in order of first appearance.
    """
    n = _n_bands(in_bands)
    if isinstance(in_bands, int):
        n_groups = min(4, n)
        return [part.tolist() for part in np.array_split(np.arange(n), n_groups)]
    keys: list[str] = []
    for band in in_bands:
        if band.modality == "optical" and band.wavelength_um is not None:
            wl = band.wavelength_um
            if wl < 0.70:
                key = "visible"
            elif wl < 1.0:
                key = "nir"
            else:
                key = "cirrus" if wl < 1.5 else "swir"
        elif band.modality == "sar":
            key = "sar"
        else:
            key = f"{band.modality}:{band.name}"
        keys.append(key)
    groups: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        groups.setdefault(key, []).append(i)
    return list(groups.values())


class Averaging(Encoder):
    """NeuCo-Bench's averaging ("mean") baseline: resample to a grid, average band groups, flatten.

    Args:
        in_bands: the task's bands (grouped by wavelength) or their number (contiguous groups).
        grid: side of the resampled grid; the embedding has ``n_groups · grid²`` values.
        resample: ``area`` (average pooling) or ``bilinear`` (as NeuCo-Bench).
        seed: unused by the computation (it is deterministic); kept for a uniform factory.
    """

    def __init__(
        self,
        in_bands: InBands,
        *,
        grid: int = 8,
        resample: Literal["area", "bilinear"] = "area",
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_bands = _n_bands(in_bands)
        self.grid = _positive_int("grid", grid)
        if resample not in ("area", "bilinear"):
            raise InvalidInputError(f"resample must be 'area' or 'bilinear'; got {resample!r}")
        self.resample = resample
        self.seed = seed
        self.groups = spectral_groups(in_bands)
        weight = torch.zeros(len(self.groups), self.n_bands)
        for g, idx in enumerate(self.groups):
            weight[g, idx] = 1.0 / len(idx)
        self.register_buffer("group_weight", weight, persistent=False)
        n_groups = len(self.groups)
        self.spec = replace(
            AVERAGING_SPEC,
            bands=_instance_bands(in_bands),
            feature_strides=(1, 4),
            feature_channels=(n_groups, n_groups),
            embed_dim=n_groups * self.grid**2,
        )

    def _grouped(self, x: Tensor) -> Tensor:
        weight = self.get_buffer("group_weight")
        return torch.einsum("gc,bchw->bghw", weight.to(x.dtype), x)

    def features(self, x: Tensor) -> list[Tensor]:
        """Group means at full resolution (B, G, H, W) and average-pooled by 4 (B, G, H/4, W/4)."""
        _check_input(self, x, self.n_bands)
        grouped = self._grouped(x)
        return [grouped, F.avg_pool2d(grouped, 4, ceil_mode=True)]

    def embed(self, x: Tensor) -> Tensor:
        """Flattened (B, G · grid²) group means on the grid, group-major."""
        _check_input(self, x, self.n_bands)
        if self.resample == "area":
            small = F.adaptive_avg_pool2d(x, self.grid)
        else:
            small = F.interpolate(
                x, size=(self.grid, self.grid), mode="bilinear", align_corners=True
            )
        return self._grouped(small).flatten(1)


class MOSAIKS(Encoder):
    """MOSAIKS random convolutional features (Rolf et al. 2021).

    Features are ``ReLU(w_k ⋆ x − b)`` and ``ReLU(−w_k ⋆ x − b)`` for K filters ``w_k`` of size
    C × k × k ('same' zero padding, stride 1), i.e. 2K channels; ``embed`` averages them over space.
    Gaussian filters have i.i.d. N(0, 1 / (C k²)) entries, so that on a normalised input each
    response has roughly unit variance; the bias ``b`` is the same for all filters (the paper uses
    b = 1 with whitened, unit-norm patches).

    Args:
        in_bands: the task's bands or their number C.
        num_filters: K (the embedding has 2K values).
        kernel_size: k (odd).
        bias: b.
        seed: seed of the Gaussian filters and of the patch sampling in :meth:`fit_patches`.
    """

    def __init__(
        self,
        in_bands: InBands,
        *,
        num_filters: int = 32,
        kernel_size: int = 3,
        bias: float = 1.0,
        seed: int = 0,
    ) -> None:
        super().__init__()
        self.n_bands = _n_bands(in_bands)
        self.num_filters = _positive_int("num_filters", num_filters)
        self.kernel_size = _positive_int("kernel_size", kernel_size)
        if kernel_size % 2 == 0:
            raise InvalidInputError(
                f"kernel_size must be odd (for 'same' padding); got {kernel_size}"
            )
        self.bias = float(bias)
        self.seed = _positive_int("seed", seed, minimum=0)
        gen = torch.Generator().manual_seed(self.seed)
        fan_in = self.n_bands * kernel_size**2
        shape = (self.num_filters, self.n_bands, kernel_size, kernel_size)
        weight = torch.randn(shape, generator=gen)
        self.register_buffer("weight", weight / fan_in**0.5)
        self.spec = replace(
            MOSAIKS_SPEC,
            bands=_instance_bands(in_bands),
            feature_channels=(2 * self.num_filters,) * len(PYRAMID_STRIDES),
            embed_dim=2 * self.num_filters,
        )

    @torch.no_grad()
    def fit_patches(self, images: Tensor) -> MOSAIKS:
        """Replace the filters by K random k × k patches of ``images`` (N, C, H, W), as in MOSAIKS.

        Each patch is centred and scaled to unit L2 norm (instead of the paper's ZCA whitening);
        images and positions are drawn from a generator seeded by ``seed``.

        Returns:
            ``self``.
        """
        if images.ndim != 4 or images.shape[1] != self.n_bands:
            raise InvalidInputError(
                f"fit_patches expects images of shape (N, {self.n_bands}, H, W); "
                f"got {tuple(images.shape)}"
            )
        k = self.kernel_size
        n, _, h, w = images.shape
        if h < k or w < k:
            raise InvalidInputError(f"images of {h}×{w} px are smaller than kernel_size {k}")
        rng = np.random.default_rng(self.seed)
        pick = rng.integers(0, n, self.num_filters)
        ys = rng.integers(0, h - k + 1, self.num_filters)
        xs = rng.integers(0, w - k + 1, self.num_filters)
        patches = torch.stack(
            [images[i, :, y : y + k, x : x + k] for i, y, x in zip(pick, ys, xs, strict=True)]
        ).to(torch.float32)
        patches = patches - patches.mean(dim=(1, 2, 3), keepdim=True)
        norms = patches.flatten(1).norm(dim=1).clamp_min(1e-6)[:, None, None, None]
        weight = self.get_buffer("weight")
        weight.copy_((patches / norms).to(weight.device, weight.dtype))
        return self

    def _responses(self, x: Tensor) -> Tensor:
        _check_input(self, x, self.n_bands)
        weight = self.get_buffer("weight")
        conv = F.conv2d(x, weight.to(x.dtype), padding=self.kernel_size // 2)
        return torch.cat([F.relu(conv - self.bias), F.relu(-conv - self.bias)], dim=1)

    def features(self, x: Tensor) -> list[Tensor]:
        """Maps (B, 2K, H/s, W/s) for s in (1, 2, 4, 8): the responses, average-pooled by s."""
        return _pyramid(self._responses(x))

    def embed(self, x: Tensor) -> Tensor:
        """Spatial mean of the responses, (B, 2K)."""
        return self._responses(x).mean(dim=(-2, -1))


RANDOM_SPEC = EncoderSpec(
    name="random",
    input_size=32,
    feature_strides=PYRAMID_STRIDES,
    feature_channels=(64,) * len(PYRAMID_STRIDES),
    embed_dim=64,
    licence="MIT",
    citation="planetbench chance baseline (content-free seeded Gaussian vectors)",
    baseline=True,
)
AVERAGING_SPEC = EncoderSpec(
    name="averaging",
    input_size=32,
    feature_strides=(1, 4),
    licence="MIT",
    citation=NEUCO_CITATION,
    baseline=True,
)
"""``feature_channels`` and ``embed_dim`` depend on the bands; built encoders carry exact values."""
MOSAIKS_SPEC = EncoderSpec(
    name="mosaiks",
    input_size=32,
    feature_strides=PYRAMID_STRIDES,
    feature_channels=(64,) * len(PYRAMID_STRIDES),
    embed_dim=64,
    licence="MIT",
    citation=MOSAIKS_CITATION,
    baseline=True,
)


def build_random(
    *, in_bands: InBands, tiny: bool = False, weights: str | None = None, **options: Any
) -> RandomEncoder:
    """Factory of ``random`` (``tiny`` gives D = 16 unless ``embed_dim`` is given)."""
    _check_weights("random", weights)
    if tiny:
        options.setdefault("embed_dim", 16)
    return RandomEncoder(in_bands, **options)


def build_averaging(
    *, in_bands: InBands, tiny: bool = False, weights: str | None = None, **options: Any
) -> Averaging:
    """Factory of ``averaging`` (``tiny`` gives a 4 × 4 grid unless ``grid`` is given)."""
    _check_weights("averaging", weights)
    if tiny:
        options.setdefault("grid", 4)
    return Averaging(in_bands, **options)


def build_mosaiks(
    *, in_bands: InBands, tiny: bool = False, weights: str | None = None, **options: Any
) -> MOSAIKS:
    """Factory of ``mosaiks`` (``tiny`` gives K = 8 filters unless ``num_filters`` is given)."""
    _check_weights("mosaiks", weights)
    if tiny:
        options.setdefault("num_filters", 8)
    return MOSAIKS(in_bands, **options)


for _spec, _factory in (
    (RANDOM_SPEC, build_random),
    (AVERAGING_SPEC, build_averaging),
    (MOSAIKS_SPEC, build_mosaiks),
):
    ENCODERS.register(_spec.name, RegisteredEncoder(_spec, _factory), override=True)

__all__ = [
    "AVERAGING_SPEC",
    "MOSAIKS",
    "MOSAIKS_SPEC",
    "RANDOM_SPEC",
    "Averaging",
    "RandomEncoder",
    "build_averaging",
    "build_mosaiks",
    "build_random",
    "spectral_groups",
]
